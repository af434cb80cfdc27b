//! Fuzzes the telnet analyzer and its wire entry points. Bytes before the first 0xAA are the server's stream, the rest the client's.
//! Oracle besides "no panic": delivering the streams whole and one byte at a time gives
//! the same events. Saved inputs in fuzz/regressions/telnet/ are replayed by
//! `cargo test -p wardwatch-analyzers`.
#![no_main]

use analyzers::telnet::wire;
use analyzers::telnet::{probe_telnet, TelnetAnalyzer, TelnetConfig};
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
        dst_port: 2,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("f"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("telnet"),
    }
}

fn run(pieces: &[(Direction, &[u8])], chunk: usize) -> Vec<String> {
    let m = meta();
    let cfg = TelnetConfig { max_line_bytes: 16, ..Default::default() };
    let mut a = TelnetAnalyzer::new(&cfg);
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
    let (a, b) = match data.iter().position(|&x| x == 0xaa) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    let _ = probe_telnet(Direction::ToServer, data);
    let _ = probe_telnet(Direction::ToClient, data);
    let _ = wire::prompt(data);
    let _ = wire::probe(true, data);
    let _ = wire::probe(false, data);
    let pieces = [(Direction::ToClient, a), (Direction::ToServer, b)];
    assert_eq!(run(&pieces, usize::MAX), run(&pieces, 1));
});
