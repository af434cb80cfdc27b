//! DNS analyzer throughput on a typical answer (CNAME + two A records, compressed) and an
//! mDNS printer announcement (PTR, SRV, TXT, A), one datagram per call. Reported in
//! bytes/s.

use analyzers::dns::{DnsAnalyzer, DnsConfig, DnsMode};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model::{
    AnomalyCounts, Cx, DatagramAnalyzer, Direction, FlowKey, FlowMeta, IpProto, Timestamp,
};
use std::hint::black_box;
use std::sync::Arc;

fn name(n: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for l in n.split('.') {
        b.push(l.len() as u8);
        b.extend_from_slice(l.as_bytes());
    }
    b.push(0);
    b
}

fn rr(b: &mut Vec<u8>, owner: &[u8], t: u16, rdata: &[u8]) {
    b.extend_from_slice(owner);
    b.extend_from_slice(&t.to_be_bytes());
    b.extend_from_slice(&[0, 1, 0, 0, 0x0e, 0x10]);
    b.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    b.extend_from_slice(rdata);
}

fn answer() -> Vec<u8> {
    let mut b = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0];
    b.extend_from_slice(&name("pacs.radiology.example.org"));
    b.extend_from_slice(&[0, 1, 0, 1]);
    let mut cname = vec![5];
    cname.extend_from_slice(b"vna01");
    cname.extend_from_slice(&[0xc0, 17]);
    rr(&mut b, &[0xc0, 12], 5, &cname);
    rr(&mut b, &[0xc0, 12], 1, &[10, 1, 2, 3]);
    rr(&mut b, &[0xc0, 12], 1, &[10, 1, 2, 4]);
    b
}

fn mdns() -> Vec<u8> {
    let mut b = vec![0, 0, 0x84, 0, 0, 0, 0, 4, 0, 0, 0, 0];
    // The service type at 12 (17 bytes), the instance in the PTR data at 12 + 17 + 10 = 39.
    let st = name("_ipp._tcp.local");
    let mut inst = vec![9];
    inst.extend_from_slice(b"Printer 3");
    inst.extend_from_slice(&[0xc0, 12]);
    rr(&mut b, &st, 12, &inst);
    let mut srv = vec![0, 0, 0, 0, 2, 0x77];
    srv.extend_from_slice(&name("prn3.local"));
    rr(&mut b, &[0xc0, 39], 33, &srv);
    let mut txt = Vec::new();
    for s in [
        "txtvers=1",
        "ty=HP LaserJet M507",
        "product=(HP LaserJet M507)",
        "pdl=application/pdf",
    ] {
        txt.push(s.len() as u8);
        txt.extend_from_slice(s.as_bytes());
    }
    rr(&mut b, &[0xc0, 39], 16, &txt);
    rr(&mut b, &name("prn3.local"), 1, &[10, 0, 0, 33]);
    b
}

fn meta() -> FlowMeta {
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::UDP,
        src_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        src_port: 53,
        dst_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        dst_port: 40000,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("b"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("dns"),
    }
}

fn bench(cr: &mut Criterion) {
    let m = meta();
    let mut g = cr.benchmark_group("dns");
    for (label, msg, mode) in [
        ("answer", answer(), DnsMode::Dns),
        ("mdns_printer", mdns(), DnsMode::Mdns),
    ] {
        let mut a = DnsAnalyzer::new(&DnsConfig::default(), mode);
        g.throughput(Throughput::Bytes(msg.len() as u64));
        g.bench_function(label, |b| {
            b.iter(|| {
                let mut events = Vec::with_capacity(1);
                let mut counts = AnomalyCounts::default();
                let mut budget = 16;
                let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
                a.on_datagram(&mut cx, Direction::ToClient, black_box(&msg));
                assert_eq!(counts.total(), 0);
                black_box(events.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
