//! Fuzzes the DNS analyzer and its wire entry points on one datagram. Oracle besides "no
//! panic": the probe and the decoder agree (a datagram the probe accepts always decodes),
//! decoding is deterministic, and lists and names stay within their caps. Saved inputs in
//! fuzz/regressions/dns/ are replayed by `cargo test -p wardwatch-analyzers`.
#![no_main]

use analyzers::dns::analyzer::{decode, probe};
use analyzers::dns::wire;
use analyzers::dns::{DnsAnalyzer, DnsConfig, DnsMode};
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
        src_port: 5353,
        dst_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        dst_port: 5353,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("f"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("mdns"),
    }
}

fuzz_target!(|data: &[u8]| {
    let cfg = DnsConfig {
        max_name_bytes: 32,
        max_records: 8,
        max_txt_strings: 4,
        max_txt_bytes: 16,
        max_dnssd_entries: 4,
        ..Default::default()
    };
    for mode in [DnsMode::Dns, DnsMode::Mdns] {
        let mut an1 = Vec::new();
        let a = decode(&cfg, mode, data, &mut an1);
        let mut an2 = Vec::new();
        let b = decode(&cfg, mode, data, &mut an2);
        assert_eq!(a, b);
        assert_eq!(an1, an2);
        assert_eq!(a.is_some(), probe(data));
        if let Some(ev) = &a {
            let n =
                ev.queries.len() + ev.answers.len() + ev.authorities.len() + ev.additionals.len();
            assert!(n <= 8);
            assert!(ev.services.len() <= 4 && ev.instances.len() <= 4 && ev.hostnames.len() <= 4);
        }
    }
    if data.len() > 2 {
        let mut out = Vec::new();
        let mut flags = wire::NameFlags::default();
        let _ = wire::read_name(
            data,
            usize::from(data[0]) % data.len(),
            &mut out,
            64,
            &mut flags,
        );
        assert!(out.len() <= 64);
    }
    let _ = wire::txt_strings(data, |_| {});
    let m = meta();
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    let mut an = DnsAnalyzer::new(&cfg, DnsMode::Mdns);
    an.on_datagram(&mut cx, Direction::ToServer, data);
});
