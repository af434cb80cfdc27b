//! HTTP analyzer throughput on a keep-alive connection: 2000 GET requests with typical
//! browser headers (~450 bytes) and responses with 4 KiB Content-Length bodies, half of
//! them chunked, delivered in 64 KiB chunks. Reported in bytes/s (both directions).

use analyzers::http::{HttpAnalyzer, HttpConfig};
use criterion::{criterion_group, Criterion, Throughput};
use model::{AnomalyCounts, Cx, Direction, FlowKey, FlowMeta, IpProto, StreamAnalyzer, Timestamp};
use std::hint::black_box;
use std::sync::Arc;

const CHUNK: usize = 64 * 1024;

fn streams(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut c = Vec::new();
    let mut s = Vec::new();
    let body = vec![b'x'; 4096];
    for i in 0..n {
        c.extend(format!(
            "GET /emr/patient/chart?id={i}&view=summary HTTP/1.1\r\nHost: ehr.hospital.example\r\n\
             User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n\
             Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-US\r\nAccept-Encoding: gzip, deflate\r\n\
             Cookie: session=abcdef0123456789\r\nConnection: keep-alive\r\n\r\n"
        ).bytes());
        if i % 2 == 0 {
            s.extend(b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 4096\r\n\r\n");
            s.extend(&body);
        } else {
            s.extend(b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n");
            s.extend(&body);
            s.extend(b"\r\n0\r\n\r\n");
        }
    }
    (c, s)
}

fn meta() -> FlowMeta {
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::TCP,
        src_ip: std::net::IpAddr::from([10, 0, 0, 1]),
        src_port: 40000,
        dst_ip: std::net::IpAddr::from([10, 0, 0, 2]),
        dst_port: 80,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("bench"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("http"),
    }
}

fn run(cfg: &HttpConfig, c: &[u8], s: &[u8], m: &FlowMeta) -> usize {
    let mut a = HttpAnalyzer::new(cfg);
    let mut events = Vec::with_capacity(4096);
    let mut counts = AnomalyCounts::default();
    let mut budget = 100u32;
    let mut cx = Cx::new(Timestamp(0), m, &mut events, &mut counts, &mut budget);
    for cc in c.chunks(CHUNK) {
        black_box(a.on_data(&mut cx, Direction::ToServer, cc));
    }
    for sc in s.chunks(CHUNK) {
        black_box(a.on_data(&mut cx, Direction::ToClient, sc));
    }
    a.on_close(&mut cx);
    events.len()
}

fn bench(cr: &mut Criterion) {
    let n = 2000;
    let (c, s) = streams(n);
    let m = meta();
    let cfg = HttpConfig {
        max_pending_requests: n,
        ..HttpConfig::default()
    };
    assert_eq!(
        run(&cfg, &c, &s, &m),
        n,
        "one event per transaction, no anomaly"
    );
    let mut g = cr.benchmark_group("http");
    g.throughput(Throughput::Bytes((c.len() + s.len()) as u64));
    g.bench_function("keepalive_bytes", |b| b.iter(|| run(&cfg, &c, &s, &m)));
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("keepalive_transactions", |b| {
        b.iter(|| run(&cfg, &c, &s, &m))
    });
    // The same with the login search off: the cost of holding and searching the first
    // bytes of every HTML response for a password input (all of these are text/html).
    let off = HttpConfig {
        max_form_scan_bytes: 0,
        ..cfg.clone()
    };
    g.throughput(Throughput::Bytes((c.len() + s.len()) as u64));
    g.bench_function("keepalive_bytes_login_search_off", |b| {
        b.iter(|| run(&off, &c, &s, &m))
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
