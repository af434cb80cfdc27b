//! TLS analyzer cost: handshakes per second (a new analyzer per connection, a Chrome-like
//! ClientHello of ~520 bytes with GREASE, SNI, ALPN and 16 extensions, a TLS 1.3
//! ServerHello, then 64 KiB of application data per direction that must cost nothing).

use analyzers::tls::{TlsAnalyzer, TlsConfig};
use criterion::{criterion_group, Criterion, Throughput};
use model::{AnomalyCounts, Cx, Direction, FlowKey, FlowMeta, IpProto, StreamAnalyzer, Timestamp};
use std::hint::black_box;
use std::sync::Arc;

fn ext(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut v = kind.to_be_bytes().to_vec();
    v.extend((data.len() as u16).to_be_bytes());
    v.extend(data);
    v
}

fn list16(items: &[u16]) -> Vec<u8> {
    let mut v = ((items.len() * 2) as u16).to_be_bytes().to_vec();
    for i in items {
        v.extend(i.to_be_bytes());
    }
    v
}

fn handshake(kind: u8, body: Vec<u8>) -> Vec<u8> {
    let mut m = vec![kind, 0, (body.len() >> 8) as u8, body.len() as u8];
    m.extend(body);
    let mut r = vec![22, 3, 1];
    r.extend((m.len() as u16).to_be_bytes());
    r.extend(m);
    r
}

fn client_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([7; 32]);
    b.push(32);
    b.extend([9; 32]);
    b.extend(list16(&[
        0x8a8a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
        0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
    ]));
    b.extend([1, 0]);
    let host = b"ehr.hospital.example";
    let mut sni = ((host.len() + 3) as u16).to_be_bytes().to_vec();
    sni.push(0);
    sni.extend((host.len() as u16).to_be_bytes());
    sni.extend(host);
    let exts = [
        ext(0x3a3a, &[]),
        ext(0, &sni),
        ext(23, &[]),
        ext(0xff01, &[0]),
        ext(10, &list16(&[0x4a4a, 29, 23, 24])),
        ext(11, &[1, 0]),
        ext(35, &[]),
        ext(
            16,
            &[
                0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
            ],
        ),
        ext(5, &[1, 0, 0, 0, 0]),
        ext(
            13,
            &list16(&[
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ]),
        ),
        ext(18, &[]),
        ext(51, &{
            let mut k = vec![0, 38, 0, 29, 0, 32];
            k.extend([5; 32]);
            k
        }),
        ext(45, &[1, 1]),
        ext(43, &[4, 0x03, 0x04, 0x03, 0x03]),
        ext(27, &[2, 0, 2]),
        ext(0x4469, &[0, 3, 2, b'h', b'2']),
        ext(21, &[0; 180]),
    ]
    .concat();
    b.extend((exts.len() as u16).to_be_bytes());
    b.extend(exts);
    handshake(1, b)
}

fn server_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([8; 32]);
    b.push(32);
    b.extend([9; 32]);
    b.extend([0x13, 0x01, 0]);
    let exts = [
        ext(43, &[3, 4]),
        ext(
            51,
            &[0, 29, 0, 32]
                .iter()
                .chain([6; 32].iter())
                .copied()
                .collect::<Vec<u8>>(),
        ),
    ]
    .concat();
    b.extend((exts.len() as u16).to_be_bytes());
    b.extend(exts);
    let mut r = handshake(2, b);
    r.extend([20, 3, 3, 0, 1, 1]);
    r
}

fn app_data(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    while v.len() < n {
        v.extend([23, 3, 3, 0x40, 0x00]);
        v.extend(std::iter::repeat_n(0x5a, 0x4000));
    }
    v
}

fn meta() -> FlowMeta {
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::TCP,
        src_ip: std::net::IpAddr::from([10, 0, 0, 1]),
        src_port: 40000,
        dst_ip: std::net::IpAddr::from([10, 0, 0, 2]),
        dst_port: 443,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("bench"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("tls"),
    }
}

/// One connection: hellos, then `data` in each direction; returns the events written.
fn connection(cfg: &TlsConfig, ch: &[u8], sh: &[u8], data: &[u8], m: &FlowMeta) -> usize {
    let mut a = TlsAnalyzer::new(cfg);
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = 100u32;
    let mut cx = Cx::new(Timestamp(0), m, &mut events, &mut counts, &mut budget);
    black_box(a.on_data(&mut cx, Direction::ToServer, ch));
    black_box(a.on_data(&mut cx, Direction::ToClient, sh));
    black_box(a.on_data(&mut cx, Direction::ToServer, data));
    black_box(a.on_data(&mut cx, Direction::ToClient, data));
    a.on_close(&mut cx);
    events.len()
}

fn bench(cr: &mut Criterion) {
    let (ch, sh, data) = (client_hello(), server_hello(), app_data(64 * 1024));
    let m = meta();
    let cfg = TlsConfig::default();
    assert_eq!(
        connection(&cfg, &ch, &sh, &data, &m),
        1,
        "one tls event, no anomaly"
    );
    eprintln!(
        "tls bench: ClientHello {} bytes, ServerHello {} bytes",
        ch.len(),
        sh.len()
    );
    let mut g = cr.benchmark_group("tls");
    g.throughput(Throughput::Elements(1));
    g.bench_function("handshakes", |b| {
        b.iter(|| connection(&cfg, &ch, &sh, &[], &m))
    });
    g.throughput(Throughput::Bytes(
        (ch.len() + sh.len() + 2 * data.len()) as u64,
    ));
    g.bench_function("connection_with_64k_each_way", |b| {
        b.iter(|| connection(&cfg, &ch, &sh, &data, &m))
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
