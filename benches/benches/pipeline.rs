//! Criterion benches of the capture path: L2-L4 decode per frame, and the worker (flow
//! table + TCP reassembly, no analyzer) on MSS-sized segments, in bytes per second.

use capture::decode::{decode, LinkType};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;
use testkit::pcap::{TcpConv, ACK, PSH};

/// `flows` connections, each sending `segs` full-size segments, interleaved.
fn traffic(flows: u16, segs: usize) -> Vec<Vec<u8>> {
    let mut convs: Vec<TcpConv> = (0..flows)
        .map(|i| {
            TcpConv::new(
                (Ipv4Addr::new(10, 0, (i >> 8) as u8, i as u8), 40000 + i),
                (Ipv4Addr::new(10, 1, 0, 1), 104),
                1,
                2,
            )
        })
        .collect();
    let mut out = vec![];
    for c in convs.iter_mut() {
        out.extend(c.handshake());
    }
    let payload = vec![0x5au8; 1448];
    for _ in 0..segs {
        for c in convs.iter_mut() {
            out.push(c.seg(true, PSH | ACK, &payload));
        }
    }
    for c in convs.iter_mut() {
        out.extend(c.close());
    }
    out
}

fn bench_decode(c: &mut Criterion) {
    let frames = traffic(4, 64);
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("ethernet_ipv4_tcp", |b| {
        b.iter(|| {
            for f in &frames {
                let _ = black_box(decode(LinkType::ETHERNET, black_box(f)));
            }
        })
    });
    g.finish();
}

fn bench_worker(c: &mut Criterion) {
    let mut g = c.benchmark_group("worker");
    for flows in [16u16, 1024] {
        let frames = traffic(flows, 4096 / flows as usize);
        let bytes: u64 = frames.iter().map(|f| f.len() as u64).sum();
        g.throughput(Throughput::Bytes(bytes));
        g.bench_with_input(
            BenchmarkId::new("flows_reassembly", flows),
            &frames,
            |b, frames| {
                b.iter(|| {
                    let mut cfg = wardwatch::Config::default();
                    cfg.stream.bypass_unknown = false;
                    let mut w =
                        wardwatch::worker::Worker::new(Arc::new(cfg), 1, Arc::from("bench"));
                    for (i, f) in frames.iter().enumerate() {
                        w.packet(
                            model::Timestamp(i as i64),
                            LinkType::ETHERNET,
                            f,
                            f.len() as u32,
                            1,
                        );
                    }
                    w.finish();
                    black_box(w.take_events().len())
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench_decode, bench_worker);
criterion_main!(benches);
