//! Fuzzes the HL7 analyzer and its wire entry points. The first byte picks a chunk size;
//! the rest is one direction's byte stream (bytes after a 0xFF marker go the other way).
//! Oracle besides "no panic": feeding the streams whole and in chunks gives the same
//! events. The wire functions (probe, delimiters, segments, fields, escape rendering) run
//! on the raw input too.
#![no_main]

use analyzers::hl7::wire;
use analyzers::hl7::{probe_hl7, Hl7Analyzer, Hl7Config};
use libfuzzer_sys::fuzz_target;
use model::{AnomalyCounts, Cx, Direction, FlowKey, FlowMeta, IpProto, StreamAnalyzer, Timestamp};
use std::sync::Arc;

fn meta() -> FlowMeta {
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::TCP,
        src_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        src_port: 1,
        dst_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        dst_port: 2575,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("f"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("hl7"),
    }
}

/// Feeds (direction, bytes) pieces, each cut in `chunk`-byte deliveries; EVE lines out.
fn run(pieces: &[(Direction, &[u8])], chunk: usize) -> Vec<String> {
    let m = meta();
    let cfg = Hl7Config {
        max_message_bytes: 512,
        max_pending_acks: 8,
        ..Default::default()
    };
    let mut a = Hl7Analyzer::new(&cfg);
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    for (dir, bytes) in pieces {
        for c in bytes.chunks(chunk.max(1)) {
            let _ = a.on_data(&mut cx, *dir, c);
        }
    }
    a.on_eof(&mut cx, Direction::ToServer);
    a.on_eof(&mut cx, Direction::ToClient);
    a.on_close(&mut cx);
    events
        .iter()
        .map(|e| e.to_eve_value("f").to_string())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let _ = probe_hl7(Direction::ToServer, rest);
    if let Ok(d) = wire::parse_delimiters(rest) {
        let mut out = Vec::new();
        for s in wire::segments(rest) {
            for f in wire::fields(s.bytes, d.delimiters.field) {
                out.clear();
                let _ = wire::render_field(f, &d.delimiters, 64, &mut out);
                assert!(out.len() <= 64);
            }
        }
    }
    let (a, b) = match rest.iter().position(|&x| x == 0xff) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &rest[..0]),
    };
    let pieces = [(Direction::ToServer, a), (Direction::ToClient, b)];
    let whole = run(&pieces, usize::MAX);
    let chunked = run(&pieces, usize::from(ctl % 17) + 1);
    assert_eq!(whole, chunked);
});
