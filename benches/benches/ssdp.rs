//! SSDP analyzer throughput on a NOTIFY advertisement (8 headers, ~300 bytes), one
//! datagram per call. Reported in bytes/s.

use analyzers::ssdp::{SsdpAnalyzer, SsdpConfig};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model::{
    AnomalyCounts, Cx, DatagramAnalyzer, Direction, FlowKey, FlowMeta, IpProto, Timestamp,
};
use std::hint::black_box;
use std::sync::Arc;

const NOTIFY: &[u8] = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: http://10.0.0.7:49152/desc.xml\r\nNT: urn:schemas-upnp-org:device:MediaServer:1\r\nNTS: ssdp:alive\r\nSERVER: Linux/4.9 UPnP/1.0 Vendor/2.1\r\nUSN: uuid:1234::urn:schemas-upnp-org:device:MediaServer:1\r\n\r\n";

fn meta() -> FlowMeta {
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::UDP,
        src_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        src_port: 1900,
        dst_ip: std::net::Ipv4Addr::new(239, 255, 255, 250).into(),
        dst_port: 1900,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("b"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("ssdp"),
    }
}

fn bench(cr: &mut Criterion) {
    let m = meta();
    let mut a = SsdpAnalyzer::new(&SsdpConfig::default());
    let mut g = cr.benchmark_group("ssdp");
    g.throughput(Throughput::Bytes(NOTIFY.len() as u64));
    g.bench_function("notify", |b| {
        b.iter(|| {
            let mut events = Vec::with_capacity(1);
            let mut counts = AnomalyCounts::default();
            let mut budget = 16;
            let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
            a.on_datagram(&mut cx, Direction::ToServer, black_box(NOTIFY));
            black_box(events.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
