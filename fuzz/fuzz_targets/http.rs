//! Fuzzes the HTTP analyzer and its wire entry points. Bytes before the first 0xFF marker
//! are the client's stream, the rest the server's. Oracle besides "no panic": delivering
//! the streams whole and one byte at a time gives the same events.
#![no_main]

use analyzers::http::wire;
use analyzers::http::{probe_http, HttpAnalyzer, HttpConfig};
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
        dst_port: 80,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("f"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("http"),
    }
}

fn run(pieces: &[(Direction, &[u8])], chunk: usize) -> Vec<String> {
    let m = meta();
    let cfg = HttpConfig {
        max_header_bytes: 256,
        max_pending_requests: 4,
        ..Default::default()
    };
    let mut a = HttpAnalyzer::new(&cfg);
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
    let (c, s) = match data.iter().position(|&x| x == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    let _ = probe_http(Direction::ToServer, data);
    let _ = wire::parse_request(data, 100);
    let _ = wire::parse_response(data, 100);
    let _ = wire::parse_chunk_size(data);
    for k in [wire::FormKind::UrlEncoded, wire::FormKind::Multipart, wire::FormKind::Json] {
        let _ = wire::form_has_password_field(k, data);
    }
    let _ = wire::html_has_password_input(data);
    let _ = wire::auth_scheme(data);
    let _ = wire::form_kind(data);
    let pieces = [(Direction::ToServer, c), (Direction::ToClient, s)];
    assert_eq!(run(&pieces, usize::MAX), run(&pieces, 1));
});
