//! HL7 analyzer throughput on a stream of typical ORU^R01 results (one PID, one OBR, 14
//! OBX, ~1.6 KB each, MLLP-framed) with their ACKs in the other direction, delivered in
//! 64 KiB chunks as the pipeline would. Reported in bytes/s (both directions) and
//! messages/s. Target: >= 1 GB/s per core.
//!
//! Peer in the same run (`hl7/memchr_floor_bytes`): `memchr2_iter(CR, LF)` over the same
//! two streams, counting segment terminators. It reads every byte once and stops at every
//! segment end, the least any HL7 parser must do; report the analyzer as a ratio to it.

use analyzers::hl7::{Hl7Analyzer, Hl7Config};
use criterion::{criterion_group, Criterion, Throughput};
use model::{AnomalyCounts, Cx, Direction, FlowKey, FlowMeta, IpProto, StreamAnalyzer, Timestamp};
use std::hint::black_box;
use std::sync::Arc;

const CHUNK: usize = 64 * 1024;

fn oru(i: usize) -> String {
    let mut m = format!(
        "MSH|^~\\&|LABSYS|MAIN LAB|EHR|GENERAL HOSPITAL|20240101120000||ORU^R01^ORU_R01|MSG{i:08}|P|2.5.1|||AL|NE\r\
         PID|1||{:07}^^^HOSP^MR||DOE^JANE^Q||19700101|F|||1 MAIN ST^^SPRINGFIELD^IL^62701||(217)555-0100\r\
         PV1|1|O|LAB^^^MAIN||||1234^WELBY^MARCUS\r\
         ORC|RE||{i}|||||||100^CLERK^ANN\r\
         OBR|1||{i}|CBC^Complete blood count^L|R||20240101110000|||||||20240101113000||1234^WELBY^MARCUS||||||20240101115900|||F\r",
        i % 9_999_999
    );
    let tests = [
        ("WBC", "6690-2", "7.0", "10*3/uL", "3.8-11.0"),
        ("NEUT", "770-8", "68", "%", "40-82"),
        ("LYMPH", "736-9", "20", "%", "11-47"),
        ("MONO", "5905-5", "8", "%", "4-15"),
        ("EOS", "713-8", "3", "%", "0-8"),
        ("BASO", "706-2", "1", "%", "0-1"),
        ("RBC", "789-8", "4.52", "10*6/uL", "4.07-4.92"),
        ("HGB", "718-7", "13.7", "g/dL", "12.0-14.1"),
        ("HCT", "4544-3", "40", "%", "34-43"),
        ("MCV", "787-2", "88", "fL", "77-98"),
        ("MCH", "785-6", "30", "pg", "27-35"),
        ("MCHC", "786-4", "33", "g/dL", "32-35"),
        ("PLT", "777-3", "221", "10*3/uL", "140-400"),
        ("RDW", "788-0", "13.1", "%", "11.5-14.5"),
    ];
    for (n, (code, loinc, v, u, r)) in tests.iter().enumerate() {
        m.push_str(&format!(
            "OBX|{}|NM|{loinc}^{code}^LN||{v}|{u}|{r}||||F|||20240101113000||LAB|ANALYZER-7^SYSMEX XN^SN4411\r",
            n + 1
        ));
    }
    m
}

fn frame(body: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 3);
    v.push(0x0b);
    v.extend_from_slice(body.as_bytes());
    v.extend_from_slice(&[0x1c, 0x0d]);
    v
}

/// `n` ORU messages (client) and their ACKs (server).
fn streams(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut c = Vec::new();
    let mut s = Vec::new();
    for i in 0..n {
        c.extend(frame(&oru(i)));
        s.extend(frame(&format!(
            "MSH|^~\\&|EHR|GENERAL HOSPITAL|LABSYS|MAIN LAB|20240101120001||ACK^R01^ACK|ACK{i:08}|P|2.5.1\rMSA|AA|MSG{i:08}\r"
        )));
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
        dst_port: 2575,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("bench"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("hl7"),
    }
}

/// Feeds both streams chunk by chunk (client chunk, then the server's matching chunk).
/// Returns (events, anomalies).
fn run(cfg: &Hl7Config, c: &[u8], s: &[u8], m: &FlowMeta) -> (usize, u64) {
    let mut a = Hl7Analyzer::new(cfg);
    let mut events = Vec::with_capacity(1024);
    let mut counts = AnomalyCounts::default();
    let mut budget = 100u32;
    let mut n = 0;
    // The server's chunks keep pace with the client's, one ACK behind.
    let ack_chunk = (CHUNK * s.len() / c.len().max(1))
        .saturating_sub(200)
        .max(1);
    let mut sc = s.chunks(ack_chunk);
    for (t, cc) in c.chunks(CHUNK).enumerate() {
        let mut cx = Cx::new(
            Timestamp(t as i64),
            m,
            &mut events,
            &mut counts,
            &mut budget,
        );
        black_box(a.on_data(&mut cx, Direction::ToServer, cc));
        if let Some(sc) = sc.next() {
            black_box(a.on_data(&mut cx, Direction::ToClient, sc));
        }
        n += events.len();
        events.clear();
    }
    for sc in sc {
        let mut cx = Cx::new(Timestamp(0), m, &mut events, &mut counts, &mut budget);
        black_box(a.on_data(&mut cx, Direction::ToClient, sc));
        n += events.len();
        events.clear();
    }
    let mut cx = Cx::new(Timestamp(0), m, &mut events, &mut counts, &mut budget);
    a.on_close(&mut cx);
    (n + events.len(), counts.total())
}

/// The floor peer: segment terminators in both streams.
fn floor(c: &[u8], s: &[u8]) -> usize {
    memchr::memchr2_iter(b'\r', b'\n', c).count() + memchr::memchr2_iter(b'\r', b'\n', s).count()
}

fn bench(cr: &mut Criterion) {
    let messages = 4000;
    let (c, s) = streams(messages);
    let m = meta();
    let cfg = Hl7Config::default();
    // Sanity: every message and every ACK becomes one event, and the ORUs are ~1.6 KB.
    assert_eq!(run(&cfg, &c, &s, &m), (2 * messages, 0));
    eprintln!(
        "hl7 bench: {} ORU bytes, {} ACK bytes, {} messages",
        c.len(),
        s.len(),
        messages
    );
    let mut g = cr.benchmark_group("hl7");
    g.throughput(Throughput::Bytes((c.len() + s.len()) as u64));
    g.bench_function("oru_with_acks_bytes", |b| b.iter(|| run(&cfg, &c, &s, &m)));
    g.bench_function("memchr_floor_bytes", |b| {
        b.iter(|| floor(black_box(&c), black_box(&s)))
    });
    g.throughput(Throughput::Elements(messages as u64));
    g.bench_function("oru_with_acks_messages", |b| {
        b.iter(|| run(&cfg, &c, &s, &m))
    });
    g.finish();
}

criterion_group!(benches, bench);

/// `HL7_BENCH_ITERS=N` runs the workload N times without criterion, for `perf stat`
/// (user-mode cycles per byte do not depend on other load on a shared machine);
/// with `HL7_BENCH_FLOOR=1` it runs the memchr floor peer instead.
fn main() {
    if let Some(n) = std::env::var("HL7_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let (c, s) = streams(4000);
        let m = meta();
        let cfg = Hl7Config::default();
        let only_floor = std::env::var_os("HL7_BENCH_FLOOR").is_some();
        let mut events = 0;
        for _ in 0..n {
            events += if only_floor {
                floor(black_box(&c), black_box(&s))
            } else {
                run(&cfg, &c, &s, &m).0
            };
        }
        println!(
            "{} bytes per iteration, {} events",
            c.len() + s.len(),
            events
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
