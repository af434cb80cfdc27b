//! Fuzzes the TLS analyzer and its wire entry points. Bytes before the first 0xFF marker
//! are the client's stream, the rest the server's. Oracle besides "no panic": delivering
//! the streams whole and one byte at a time (holding back what `NeedMore` left, as the
//! pipeline does) gives the same events.
#![no_main]

use analyzers::tls::wire;
use analyzers::tls::{probe_tls, TlsAnalyzer, TlsConfig};
use libfuzzer_sys::fuzz_target;
use model::{
    AnomalyCounts, Cx, Direction, FlowKey, FlowMeta, IpProto, Progress, StreamAnalyzer, Timestamp,
};
use std::sync::Arc;

fn meta() -> FlowMeta {
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::TCP,
        src_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        src_port: 1,
        dst_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        dst_port: 443,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("f"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("tls"),
    }
}

fn run(pieces: &[(Direction, &[u8])], chunk: usize) -> Vec<String> {
    let m = meta();
    let cfg = TlsConfig {
        max_handshake_bytes: 512,
        ..Default::default()
    };
    let mut a = TlsAnalyzer::new(&cfg);
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    for (dir, bytes) in pieces {
        let mut held: Vec<u8> = Vec::new();
        let mut needed = 0;
        for c in bytes.chunks(chunk.max(1)) {
            held.extend_from_slice(c);
            if held.len() < needed {
                continue;
            }
            let buf = std::mem::take(&mut held);
            match a.on_data(&mut cx, *dir, &buf) {
                Progress::NeedMore {
                    consumed,
                    needed: n,
                } => {
                    assert!(consumed <= buf.len());
                    held = buf[consumed..].to_vec();
                    needed = n.max(held.len() + 1);
                }
                _ => needed = 0,
            }
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
    let _ = probe_tls(Direction::ToServer, data);
    let _ = wire::parse_client_hello(data);
    let _ = wire::parse_server_hello(data);
    let pieces = [(Direction::ToServer, c), (Direction::ToClient, s)];
    assert_eq!(run(&pieces, usize::MAX), run(&pieces, 1));
});
