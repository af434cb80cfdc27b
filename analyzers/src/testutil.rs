//! Helpers shared by the analyzers' unit tests (compiled for tests only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: test helpers

use model::{Event, EventKind, FlowKey, FlowMeta, IpProto};
use std::sync::Arc;

/// A flow's facts as the pipeline would hand them to an analyzer: `src:sport -> dst:dport`
/// over `proto`, seen on interface `iface`, already claimed by analyzer `app`.
pub fn flow_meta(
    proto: IpProto,
    (src, sport): (&str, u16),
    (dst, dport): (&str, u16),
    iface: &str,
    app: &'static str,
) -> FlowMeta {
    FlowMeta {
        flow_id: 1,
        key: FlowKey {
            vlan: [0, 0],
            proto,
            src_ip: src.parse().unwrap(),
            src_port: sport,
            dst_ip: dst.parse().unwrap(),
            dst_port: dport,
        },
        in_iface: Arc::from(iface),
        src_mac: None,
        dest_mac: None,
        app_proto: Some(app),
    }
}

/// The codes of the anomaly events among `events`, in order.
pub fn anomaly_codes(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Anomaly(a) => Some(a.event),
            _ => None,
        })
        .collect()
}

/// Feeds `pieces` (direction, bytes) to a fresh stream analyzer from `build`, each piece in
/// deliveries of at most `chunk` bytes, then ends both directions and closes the flow; the
/// events as EVE JSON lines.
pub fn run_stream(
    build: &dyn Fn() -> Box<dyn model::StreamAnalyzer>,
    meta: &FlowMeta,
    pieces: &[(model::Direction, &[u8])],
    chunk: usize,
) -> Vec<String> {
    let mut a = build();
    let mut events = Vec::new();
    let mut counts = model::AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = model::Cx::new(
        model::Timestamp(0),
        meta,
        &mut events,
        &mut counts,
        &mut budget,
    );
    for (dir, bytes) in pieces {
        for c in bytes.chunks(chunk.max(1)) {
            assert_eq!(a.on_data(&mut cx, *dir, c), model::Progress::Done);
        }
    }
    a.on_eof(&mut cx, model::Direction::ToServer);
    a.on_eof(&mut cx, model::Direction::ToClient);
    a.on_close(&mut cx);
    events
        .iter()
        .map(|e| e.to_eve_value("t").to_string())
        .collect()
}

/// Replays every input saved under `fuzz/regressions/<target>/` as the stream fuzz targets
/// read them (bytes of `first`, a 0xaa separator, then bytes of the other direction) and
/// asserts whole and byte-at-a-time deliveries give the same events; returns how many ran.
pub fn replay_stream_regressions(
    target: &str,
    build: &dyn Fn() -> Box<dyn model::StreamAnalyzer>,
    meta: &FlowMeta,
    first: model::Direction,
) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        let (a, b) = match data.iter().position(|&x| x == 0xaa) {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (&data[..], &data[..0]),
        };
        let pieces = [(first, a), (first.reverse(), b)];
        assert_eq!(
            run_stream(build, meta, &pieces, usize::MAX),
            run_stream(build, meta, &pieces, 1)
        );
        n += 1;
    }
    n
}

/// Asserts that delivering `pieces` whole, one byte at a time, and split in two at every
/// point of every piece gives the same events.
pub fn assert_incremental(
    build: &dyn Fn() -> Box<dyn model::StreamAnalyzer>,
    meta: &FlowMeta,
    pieces: &[(model::Direction, &[u8])],
) {
    let whole = run_stream(build, meta, pieces, usize::MAX);
    assert_eq!(whole, run_stream(build, meta, pieces, 1), "byte at a time");
    for (k, (dir, bytes)) in pieces.iter().enumerate() {
        for at in 1..bytes.len() {
            let mut split: Vec<(model::Direction, &[u8])> = Vec::new();
            split.extend_from_slice(&pieces[..k]);
            split.push((*dir, &bytes[..at]));
            split.push((*dir, &bytes[at..]));
            split.extend_from_slice(&pieces[k + 1..]);
            assert_eq!(
                whole,
                run_stream(build, meta, &split, usize::MAX),
                "split piece {k} at {at}"
            );
        }
    }
}
