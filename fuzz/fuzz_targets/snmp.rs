//! Fuzzes the SNMP analyzer and its wire entry points on one datagram. Oracle besides "no
//! panic": the probe implies an event, decoding is deterministic, and OIDs stay within
//! their cap. Saved inputs in fuzz/regressions/snmp/ are replayed by
//! `cargo test -p wardwatch-analyzers`.
#![no_main]

use analyzers::snmp::analyzer::decode;
use analyzers::snmp::wire;
use analyzers::snmp::{SnmpAnalyzer, SnmpConfig};
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
        src_port: 40000,
        dst_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        dst_port: 161,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("f"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("snmp"),
    }
}

fuzz_target!(|data: &[u8]| {
    let cfg = SnmpConfig {
        max_vars: 4,
        max_oid_bytes: 16,
        ..Default::default()
    };
    let mut an1 = Vec::new();
    let a = decode(&cfg, data, &mut an1);
    let mut an2 = Vec::new();
    assert_eq!(a, decode(&cfg, data, &mut an2));
    assert_eq!(an1, an2);
    if wire::probe(data) {
        assert!(a.is_some());
    }
    if let Some(ev) = &a {
        assert!(ev.vars.len() <= 4);
        assert!(ev.vars.iter().all(|v| v.len() <= 16));
    }
    let _ = wire::read_tlv(data);
    let _ = wire::parse_oid(data);
    let _ = wire::parse_uint(data);
    let m = meta();
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    let mut an = SnmpAnalyzer::new(&cfg);
    an.on_datagram(&mut cx, Direction::ToServer, data);
});
