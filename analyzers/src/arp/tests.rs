//! ARP tests: exact parsing of a commented packet, binding events only when new or
//! changed, probes and bad MACs ignored, the table cap, truncation, arbitrary bytes.

use super::event::*;
use super::wire::{parse_arp, ArpError};
use super::*;
use crate::l2::L2Analyzers;
use crate::registry::AnalyzersConfig;
use model::{AnomalyCounts, EventKind, MacAddr, Timestamp};
use proptest::prelude::*;
use std::net::Ipv4Addr;

const PUMP: [u8; 6] = [0x00, 0x90, 0x20, 0xaa, 0xbb, 0x01];
const OTHER: [u8; 6] = [0x00, 0x09, 0xfb, 0x01, 0x02, 0x03];

/// An ARP request "who has 10.0.0.1, tell 10.0.0.30" from `sha`.
fn request(sha: [u8; 6], spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    let mut b = vec![
        0x00, 0x01, // hardware type Ethernet
        0x08, 0x00, // protocol IPv4
        0x06, 0x04, // lengths 6 and 4
        0x00, 0x01, // opcode request
    ];
    b.extend_from_slice(&sha); // sender MAC
    b.extend_from_slice(&spa); // sender IP
    b.extend_from_slice(&[0; 6]); // target MAC (unknown)
    b.extend_from_slice(&tpa); // target IP
    b
}

fn frame(arp: &[u8]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&arp[8..14]);
    f.extend_from_slice(&[0x08, 0x06]);
    f.extend_from_slice(arp);
    f.extend_from_slice(&[0; 18]); // Ethernet padding
    f
}

fn feed(l2: &mut L2Analyzers, frames: &[Vec<u8>]) -> (Vec<ArpEvent>, AnomalyCounts) {
    let (mut out, mut counts) = (Vec::new(), AnomalyCounts::default());
    for f in frames {
        l2.on_frame(Timestamp(0), f, &mut out, &mut counts);
    }
    let evs = out
        .into_iter()
        .map(|e| match e.kind {
            EventKind::Arp(a) => *a,
            k => panic!("{k:?}"),
        })
        .collect();
    (evs, counts)
}

#[test]
fn arp_parses_exactly() {
    // The commented request parses to its addresses.
    let a = parse_arp(&request(PUMP, [10, 0, 0, 30], [10, 0, 0, 1])).unwrap();
    assert_eq!(a.opcode, wire::OP_REQUEST);
    assert_eq!(a.sender_mac, PUMP);
    assert_eq!(a.sender_ip, Ipv4Addr::new(10, 0, 0, 30));
    assert_eq!(a.target_ip, Ipv4Addr::new(10, 0, 0, 1));
}

#[test]
fn arp_truncated_at_every_len() {
    // Every prefix shorter than 28 bytes is Truncated (or not IPv4/Ethernet when the
    // header itself is incomplete only after 8 bytes), never a panic.
    let b = request(PUMP, [10, 0, 0, 30], [10, 0, 0, 1]);
    for n in 0..b.len() {
        assert_eq!(parse_arp(&b[..n]), Err(ArpError::Truncated), "prefix {n}");
    }
    let mut other = b.clone();
    other[3] = 0xdd; // protocol 0x08dd
    assert_eq!(parse_arp(&other), Err(ArpError::NotIpv4Ethernet));
}

#[test]
fn arp_event_only_for_new_or_changed_binding() {
    // Repeats are silent; a new MAC for the IP reports previous_mac; probes bind nothing.
    let mut l2 = L2Analyzers::new(&AnalyzersConfig::default());
    let a = frame(&request(PUMP, [10, 0, 0, 30], [10, 0, 0, 1]));
    let probe = frame(&request(OTHER, [0, 0, 0, 0], [10, 0, 0, 30]));
    let moved = frame(&request(OTHER, [10, 0, 0, 30], [10, 0, 0, 30]));
    let (evs, counts) = feed(
        &mut l2,
        &[a.clone(), a.clone(), probe, moved.clone(), moved],
    );
    assert!(counts.sorted().is_empty());
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0].sender_mac, MacAddr(PUMP));
    assert_eq!(evs[0].opcode, "request");
    assert_eq!(evs[0].previous_mac, None);
    assert!(!evs[0].gratuitous);
    assert_eq!(evs[1].sender_mac, MacAddr(OTHER));
    assert_eq!(evs[1].previous_mac, Some(MacAddr(PUMP)));
    assert!(evs[1].gratuitous);
    assert_eq!(l2.arp_bindings(), 1);
}

#[test]
fn arp_table_cap_forgets_oldest() {
    // At max_bindings the oldest binding is forgotten (counted) and reported again later.
    let mut cfg = AnalyzersConfig::default();
    cfg.arp.max_bindings = 2;
    let mut l2 = L2Analyzers::new(&cfg);
    let f = |ip: u8| frame(&request(PUMP, [10, 0, 0, ip], [10, 0, 0, 1]));
    let (evs, counts) = feed(&mut l2, &[f(1), f(2), f(3), f(2), f(1)]);
    assert_eq!(evs.len(), 4); // 1, 2, 3, then 1 again (2 was kept)
    assert_eq!(l2.arp_bindings(), 2);
    assert_eq!(counts.sorted(), [("arp", BINDING_TABLE_FULL, 2)]);
}

#[test]
fn arp_broadcast_sender_and_other_opcode_ignored() {
    // A multicast sender MAC binds nothing; opcode 3 is counted, not reported.
    let mut l2 = L2Analyzers::new(&AnalyzersConfig::default());
    let mut bad = request([0x01, 0, 0x5e, 0, 0, 1], [10, 0, 0, 9], [10, 0, 0, 1]);
    let b = frame(&bad);
    bad = request(PUMP, [10, 0, 0, 9], [10, 0, 0, 1]);
    bad[7] = 3;
    let (evs, counts) = feed(&mut l2, &[b, frame(&bad)]);
    assert!(evs.is_empty());
    assert_eq!(counts.sorted(), [("arp", OTHER_OPCODE, 1)]);
}

proptest! {
    #[test]
    fn arp_arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        // Arbitrary ARP payloads: no panic, at most one event per frame, table bounded.
        let mut cfg = AnalyzersConfig::default();
        cfg.arp.max_bindings = 1;
        let mut l2 = L2Analyzers::new(&cfg);
        let mut f = vec![0xff; 12];
        f.extend_from_slice(&[0x08, 0x06]);
        f.extend_from_slice(&b);
        let (evs, _) = feed(&mut l2, &[f.clone(), f]);
        prop_assert!(evs.len() <= 1);
        prop_assert!(l2.arp_bindings() <= 1);
    }
}

#[test]
fn arp_unchanged_binding_refreshed_after_interval() {
    // The same binding is silent within refresh_secs of its last report, reported again
    // (`refreshed`) after it, and never when refresh_secs is 0.
    let a = frame(&request(PUMP, [10, 0, 0, 30], [10, 0, 0, 1]));
    let secs = |s: i64| Timestamp(s * 1_000_000);
    for (refresh, want) in [(600u64, 3usize), (0, 1)] {
        let mut cfg = AnalyzersConfig::default();
        cfg.arp.refresh_secs = refresh;
        let mut l2 = L2Analyzers::new(&cfg);
        let (mut out, mut counts) = (Vec::new(), AnomalyCounts::default());
        for t in [0, 10, 599, 600, 700, 1300] {
            l2.on_frame(secs(t), &a, &mut out, &mut counts);
        }
        assert_eq!(out.len(), want, "refresh {refresh}");
        let refreshed: Vec<bool> = out
            .iter()
            .map(|e| match &e.kind {
                EventKind::Arp(x) => x.refreshed,
                k => panic!("{k:?}"),
            })
            .collect();
        assert!(!refreshed[0]);
        assert!(refreshed[1..].iter().all(|r| *r));
        let times: Vec<Timestamp> = out.iter().map(|e| e.ts).collect();
        if refresh > 0 {
            assert_eq!(times, [secs(0), secs(600), secs(1300)]);
        }
    }
}
