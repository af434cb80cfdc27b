//! DHCP analyzer throughput on a typical DISCOVER (host name, vendor class, client id,
//! a 13-entry parameter request list; 300 bytes), one datagram per call as the pipeline
//! delivers them. Reported in bytes/s and messages/s.

use analyzers::dhcp::{DhcpAnalyzer, DhcpConfig};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model::{
    AnomalyCounts, Cx, DatagramAnalyzer, Direction, FlowKey, FlowMeta, IpProto, Timestamp,
};
use std::hint::black_box;
use std::sync::Arc;

fn discover() -> Vec<u8> {
    let mut b = vec![1, 1, 6, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0x80, 0];
    b.extend_from_slice(&[0; 16]); // ciaddr, yiaddr, siaddr, giaddr
    b.extend_from_slice(&[0x00, 0x09, 0xfb, 0x12, 0x34, 0x56]);
    b.extend_from_slice(&[0; 10 + 64 + 128]);
    b.extend_from_slice(&[99, 130, 83, 99]);
    b.extend_from_slice(&[53, 1, 1, 61, 7, 1, 0x00, 0x09, 0xfb, 0x12, 0x34, 0x56]);
    b.extend_from_slice(&[57, 2, 5, 0xdc, 12, 11]);
    b.extend_from_slice(b"mx700-bed12");
    b.extend_from_slice(&[60, 8]);
    b.extend_from_slice(b"PHILIPS1");
    b.extend_from_slice(&[
        55, 13, 1, 3, 6, 15, 26, 28, 42, 51, 54, 58, 59, 119, 121, 255,
    ]);
    b
}

fn meta() -> FlowMeta {
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::UDP,
        src_ip: std::net::Ipv4Addr::UNSPECIFIED.into(),
        src_port: 68,
        dst_ip: std::net::Ipv4Addr::BROADCAST.into(),
        dst_port: 67,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("b"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("dhcp"),
    }
}

fn bench(cr: &mut Criterion) {
    let msg = discover();
    let m = meta();
    let mut a = DhcpAnalyzer::new(&DhcpConfig::default());
    let mut g = cr.benchmark_group("dhcp");
    g.throughput(Throughput::Bytes(msg.len() as u64));
    g.bench_function("discover", |b| {
        b.iter(|| {
            let mut events = Vec::with_capacity(1);
            let mut counts = AnomalyCounts::default();
            let mut budget = 16;
            let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
            a.on_datagram(&mut cx, Direction::ToServer, black_box(&msg));
            black_box(events.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
