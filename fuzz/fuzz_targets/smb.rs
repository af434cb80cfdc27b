//! Fuzzes the smb analyzer and its wire entry points. Bytes before the first 0xAA are the client's stream, the rest the server's.
//! Oracle besides "no panic": delivering the streams whole and one byte at a time gives
//! the same events. Saved inputs in fuzz/regressions/smb/ are replayed by
//! `cargo test -p wardwatch-analyzers`.
#![no_main]

use analyzers::smb::wire;
use analyzers::smb::{probe_smb, SmbAnalyzer, SmbConfig};
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
        app_proto: Some("smb"),
    }
}

fn run(pieces: &[(Direction, &[u8])], chunk: usize) -> Vec<String> {
    let m = meta();
    let cfg = SmbConfig { max_negotiate_bytes: 256, max_dialects: 8, max_messages: 4, ..Default::default() };
    let mut a = SmbAnalyzer::new(&cfg);
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
    let _ = probe_smb(Direction::ToServer, data);
    let _ = probe_smb(Direction::ToClient, data);
    let _ = wire::parse_message(data, 8);
    let _ = wire::parse_netbios_header(data);
    let _ = wire::probe(data);
    let pieces = [(Direction::ToServer, a), (Direction::ToClient, b)];
    assert_eq!(run(&pieces, usize::MAX), run(&pieces, 1));
});
