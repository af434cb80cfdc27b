//! Fuzzes the SSDP analyzer and its wire entry points on one datagram. Oracle besides "no
//! panic": the probe implies the decoder succeeds, decoding is deterministic, and values
//! stay within their cap. Saved inputs in fuzz/regressions/ssdp/ are replayed by
//! `cargo test -p wardwatch-analyzers`.
#![no_main]

use analyzers::ssdp::analyzer::{decode, probe};
use analyzers::ssdp::wire;
use analyzers::ssdp::{SsdpAnalyzer, SsdpConfig};
use libfuzzer_sys::fuzz_target;
use model::{
    AnomalyCounts, Cx, DatagramAnalyzer, Direction, FlowKey, FlowMeta, IpProto, Timestamp,
};
use std::sync::Arc;

fn meta() -> FlowMeta {
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::UDP,
        src_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        src_port: 1900,
        dst_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        dst_port: 1900,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("f"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("ssdp"),
    }
}

fuzz_target!(|data: &[u8]| {
    let cfg = SsdpConfig {
        max_value_bytes: 16,
        max_headers: 8,
        ..Default::default()
    };
    let mut an1 = Vec::new();
    let a = decode(&cfg, data, &mut an1);
    let mut an2 = Vec::new();
    assert_eq!(a, decode(&cfg, data, &mut an2));
    assert_eq!(an1, an2);
    if probe(data) {
        assert!(a.is_some());
    }
    if let Some(ev) = &a {
        for v in [
            &ev.server,
            &ev.user_agent,
            &ev.usn,
            &ev.nt,
            &ev.st,
            &ev.location,
        ]
        .into_iter()
        .flatten()
        {
            assert!(v.chars().count() <= 16);
        }
    }
    let _ = wire::header(data);
    let _ = wire::parse_start_line(data);
    let m = meta();
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    let mut an = SsdpAnalyzer::new(&cfg);
    an.on_datagram(&mut cx, Direction::ToServer, data);
});
