//! DICOM analyzer throughput on a reassembled C-STORE stream of large objects (the
//! requestor's direction after association setup), delivered in 64 KiB chunks as the
//! pipeline would, honouring `NeedMore`. Target: >= 5 GB/s per core (data-set bodies are
//! skipped, not copied).

use analyzers::dicom::{DicomAnalyzer, DicomConfig};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model::{
    AnomalyCounts, Cx, Direction, FlowKey, FlowMeta, IpProto, Progress, StreamAnalyzer, Timestamp,
};
use std::hint::black_box;
use std::sync::Arc;

fn item(ty: u8, v: &[u8]) -> Vec<u8> {
    let mut b = vec![ty, 0];
    b.extend_from_slice(&(v.len() as u16).to_be_bytes());
    b.extend_from_slice(v);
    b
}

fn pdu(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![ty, 0];
    b.extend_from_slice(&(body.len() as u32).to_be_bytes());
    b.extend_from_slice(body);
    b
}

fn associate(ty: u8, pcs: Vec<u8>) -> Vec<u8> {
    let mut body = vec![0, 1, 0, 0];
    body.extend_from_slice(b"PACS            CT01            ");
    body.extend_from_slice(&[0; 32]);
    body.extend(item(0x10, b"1.2.840.10008.3.1.1.1"));
    body.extend(pcs);
    body.extend(item(0x50, &item(0x51, &0u32.to_be_bytes())));
    pdu(ty, &body)
}

fn el(group: u16, elem: u16, v: &[u8]) -> Vec<u8> {
    let mut b = group.to_le_bytes().to_vec();
    b.extend_from_slice(&elem.to_le_bytes());
    b.extend_from_slice(&(v.len() as u32).to_le_bytes());
    b.extend_from_slice(v);
    b
}

fn xel(group: u16, elem: u16, vr: &[u8; 2], v: &[u8]) -> Vec<u8> {
    let mut b = group.to_le_bytes().to_vec();
    b.extend_from_slice(&elem.to_le_bytes());
    b.extend_from_slice(vr);
    b.extend_from_slice(&(v.len() as u16).to_le_bytes());
    b.extend_from_slice(v);
    b
}

/// Client bytes: A-ASSOCIATE-RQ, then `objects` C-STORE-RQs of `size` bytes each, split in
/// P-DATA-TF PDUs of `max_pdu` bytes; and the server's A-ASSOCIATE-AC.
fn stream(objects: usize, size: usize, max_pdu: usize) -> (Vec<u8>, Vec<u8>) {
    let ct = b"1.2.840.10008.5.1.4.1.1.2\0";
    let ts = b"1.2.840.10008.1.2.1\0";
    let mut rq_pc = vec![1, 0, 0, 0];
    rq_pc.extend(item(0x30, ct));
    rq_pc.extend(item(0x40, ts));
    let mut ac_pc = vec![1, 0, 0, 0];
    ac_pc.extend(item(0x40, ts));
    let mut c = associate(1, item(0x20, &rq_pc));
    let s = associate(2, item(0x21, &ac_pc));
    for i in 0..objects {
        let body = [
            el(0, 2, ct),
            el(0, 0x100, &1u16.to_le_bytes()),
            el(0, 0x110, &(i as u16).to_le_bytes()),
            el(0, 0x700, &0u16.to_le_bytes()),
            el(0, 0x800, &0u16.to_le_bytes()),
            el(0, 0x1000, b"1.2.3.4.5.6.7.8\0"),
        ]
        .concat();
        let mut cmd = el(0, 0, &(body.len() as u32).to_le_bytes());
        cmd.extend(body);
        let mut pdv = ((cmd.len() + 2) as u32).to_be_bytes().to_vec();
        pdv.extend_from_slice(&[1, 3]);
        pdv.extend(cmd);
        c.extend(pdu(4, &pdv));
        let mut ds = [
            xel(8, 0x16, b"UI", ct),
            xel(8, 0x60, b"CS", b"CT"),
            xel(8, 0x70, b"LO", b"VENDOR"),
            xel(0x10, 0x10, b"PN", b"Doe^Jane"),
            xel(0x18, 0x1000, b"LO", b"SN-1"),
        ]
        .concat();
        let px = (size - ds.len() - 12) as u32;
        ds.extend_from_slice(&[0xe0, 0x7f, 0x10, 0x00, b'O', b'W', 0, 0]);
        ds.extend_from_slice(&px.to_le_bytes());
        ds.resize(size, 0x5a);
        let frag = max_pdu - 6;
        let n = ds.len().div_ceil(frag);
        for (k, f) in ds.chunks(frag).enumerate() {
            let mut pdv = ((f.len() + 2) as u32).to_be_bytes().to_vec();
            pdv.extend_from_slice(&[1, if k + 1 == n { 2 } else { 0 }]);
            pdv.extend_from_slice(f);
            c.extend(pdu(4, &pdv));
        }
    }
    (c, s)
}

fn meta() -> FlowMeta {
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::TCP,
        src_ip: "10.0.0.1".parse().unwrap(),
        src_port: 40000,
        dst_ip: "10.0.0.2".parse().unwrap(),
        dst_port: 104,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("b"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("dicom"),
    }
}

/// Feeds `data` in `chunk`-byte deliveries, keeping unconsumed bytes as the pipeline does.
fn feed(a: &mut DicomAnalyzer, m: &FlowMeta, dir: Direction, data: &[u8], chunk: usize) -> usize {
    let (mut ev, mut counts, mut budget) = (Vec::new(), AnomalyCounts::default(), 100);
    let mut carry: Vec<u8> = Vec::new();
    let mut needed = 0usize;
    for c in data.chunks(chunk) {
        let mut cx = Cx::new(Timestamp(0), m, &mut ev, &mut counts, &mut budget);
        if carry.is_empty() {
            match a.on_data(&mut cx, dir, c) {
                Progress::NeedMore {
                    consumed,
                    needed: n,
                } => {
                    carry.extend_from_slice(&c[consumed..]);
                    needed = n;
                }
                Progress::Done => {}
                Progress::Abandon(_) => panic!("abandoned"),
            }
        } else {
            carry.extend_from_slice(c);
            if carry.len() < needed {
                continue;
            }
            match a.on_data(&mut cx, dir, &carry) {
                Progress::NeedMore {
                    consumed,
                    needed: n,
                } => {
                    carry.drain(..consumed);
                    needed = n;
                }
                Progress::Done => carry.clear(),
                Progress::Abandon(_) => panic!("abandoned"),
            }
        }
    }
    ev.len()
}

fn bench(c: &mut Criterion) {
    let m = meta();
    let mut g = c.benchmark_group("dicom_c_store");
    // (name, max PDU, delivery size): 64 KiB deliveries as from a batching reassembler, and
    // 1448-byte deliveries (one per MSS-sized segment, headers often straddling them).
    for (name, max_pdu, chunk) in [
        ("pdu_16k_chunk_64k", 16 << 10, 64 << 10),
        ("pdu_1m_chunk_64k", 1 << 20, 64 << 10),
        ("pdu_16k_chunk_1448", 16 << 10, 1448),
    ] {
        let (cli, srv) = stream(4, 32 << 20, max_pdu);
        g.throughput(Throughput::Bytes(cli.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut a = DicomAnalyzer::new(DicomConfig::default());
                feed(&mut a, &m, Direction::ToClient, &srv, chunk);
                black_box(feed(
                    &mut a,
                    &m,
                    Direction::ToServer,
                    black_box(&cli),
                    chunk,
                ))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
