//! Fuzzes the DHCP analyzer and its wire entry points on one datagram. Oracle besides "no
//! panic": the probe and the decoder agree (a datagram the probe accepts always decodes),
//! decoding is deterministic, and every kept string is within its cap. Saved inputs in
//! fuzz/regressions/dhcp/ are replayed by `cargo test -p wardwatch-analyzers`.
#![no_main]

use analyzers::dhcp::analyzer::decode;
use analyzers::dhcp::wire;
use analyzers::dhcp::{probe_dhcp, DhcpAnalyzer, DhcpConfig};
use libfuzzer_sys::fuzz_target;
use model::{
    AnomalyCounts, Cx, DatagramAnalyzer, Direction, FlowKey, FlowMeta, IpProto, Probe, Timestamp,
};
use std::sync::Arc;

fn meta() -> FlowMeta {
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::UDP,
        src_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        src_port: 68,
        dst_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        dst_port: 67,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("f"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("dhcp"),
    }
}

fuzz_target!(|data: &[u8]| {
    let cfg = DhcpConfig {
        max_string_bytes: 16,
        max_params: 8,
        max_options: 8,
        ..Default::default()
    };
    let mut an1 = Vec::new();
    let a = decode(&cfg, data, &mut an1);
    let mut an2 = Vec::new();
    let b = decode(&cfg, data, &mut an2);
    assert_eq!(a, b);
    assert_eq!(an1, an2);
    if probe_dhcp(Direction::ToServer, data) == Probe::Match {
        assert!(a.is_some());
    }
    if let Some(ev) = &a {
        for s in [&ev.hostname, &ev.vendor_class_identifier, &ev.fqdn]
            .into_iter()
            .flatten()
        {
            assert!(s.chars().count() <= 16);
        }
        assert!(ev.params.len() <= 8 && ev.options.len() <= 8 && ev.user_class.len() <= 8);
    }
    let _ = wire::walk_v4_options(data, |_, _| {});
    let _ = wire::walk_v6_options(data, |_, _| {});
    let mut out = Vec::new();
    let _ = wire::dns_labels(data, &mut out, 64);
    assert!(out.len() <= 64);
    let m = meta();
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    let mut an = DhcpAnalyzer::new(&cfg);
    an.on_datagram(&mut cx, Direction::ToServer, data);
});
