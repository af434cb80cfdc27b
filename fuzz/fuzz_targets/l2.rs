//! Fuzzes the link-layer entry (Ethernet header, VLAN tags, LLDP, CDP, ARP) on one frame,
//! and the three wire parsers on the raw input. Oracle besides "no panic": decoding is
//! deterministic, strings and lists stay within their caps, and the ARP table never grows
//! past its cap. Saved inputs in fuzz/regressions/l2/ are replayed by
//! `cargo test -p wardwatch-analyzers`.
#![no_main]

use analyzers::l2::L2Analyzers;
use analyzers::AnalyzersConfig;
use libfuzzer_sys::fuzz_target;
use model::{AnomalyCounts, EventKind, MacAddr, Timestamp};

fuzz_target!(|data: &[u8]| {
    let mut cfg = AnalyzersConfig::default();
    cfg.lldp.max_string_bytes = 8;
    cfg.lldp.max_list_items = 2;
    cfg.cdp.max_string_bytes = 8;
    cfg.cdp.max_list_items = 2;
    cfg.arp.max_bindings = 2;
    let _ = analyzers::lldp::wire::parse_lldpdu(data, 2);
    let _ = analyzers::cdp::wire::parse_cdp(data);
    let _ = analyzers::cdp::wire::parse_addresses(data, 2);
    let _ = analyzers::arp::wire::parse_arp(data);
    let mut a = Vec::new();
    let src = MacAddr([0; 6]);
    let e1 = analyzers::lldp::analyzer::decode(&cfg.lldp, src, None, data, &mut a);
    let e2 = analyzers::lldp::analyzer::decode(&cfg.lldp, src, None, data, &mut a);
    assert_eq!(e1, e2);
    let mut l2 = L2Analyzers::new(&cfg);
    let (mut out, mut counts) = (Vec::new(), AnomalyCounts::default());
    // The input as a frame, and split into up to 4 frames at 0xff 0xff markers.
    l2.on_frame(Timestamp(0), data, &mut out, &mut counts);
    for f in data.split(|b| *b == 0xfe).take(4) {
        l2.on_frame(Timestamp(0), f, &mut out, &mut counts);
    }
    assert!(l2.arp_bindings() <= 2);
    for e in &out {
        match &e.kind {
            EventKind::Lldp(l) => {
                assert!(l.management_addresses.len() <= 2);
                for s in [&l.system_name, &l.system_description, &l.port_description]
                    .into_iter()
                    .flatten()
                {
                    assert!(s.len() <= 8 * 3);
                }
            }
            EventKind::Cdp(c) => {
                assert!(c.addresses.len() <= 2);
                for s in [&c.device_id, &c.platform, &c.software_version]
                    .into_iter()
                    .flatten()
                {
                    assert!(s.len() <= 8 * 3);
                }
            }
            EventKind::Arp(_) => {}
            k => panic!("unexpected {k:?}"),
        }
    }
});
