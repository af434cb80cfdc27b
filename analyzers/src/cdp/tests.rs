//! CDP tests: exact decoding of a commented CDPv2 PDU, the LLC/SNAP frame entry, every
//! truncation, TLV lengths shorter than their header, caps, arbitrary bytes.

use super::analyzer::decode;
use super::event::*;
use super::wire::{parse_addresses, parse_cdp};
use super::*;
use crate::l2::{classify, L2Analyzers, L2Payload};
use crate::registry::AnalyzersConfig;
use model::{AnomalyCounts, EventKind, MacAddr, Timestamp};
use proptest::prelude::*;

const SRC: MacAddr = MacAddr([0x00, 0x19, 0x06, 0xea, 0xb8, 0x85]);

/// A CDPv2 announcement from a switch.
const PDU: &[u8] = &[
    0x02, 0xb4, 0x12, 0x34, // version 2, TTL 180, checksum
    0x00, 0x01, 0x00, 0x0a, b'S', b'w', b'i', b't', b'c', b'h', // Device ID "Switch"
    0x00, 0x02, 0x00, 0x11, // Addresses, length 17
    0x00, 0x00, 0x00, 0x01, // one address
    0x01, 0x01, 0xcc, 0x00, 0x04, 192, 168, 0, 1, // NLPID, IP, length 4: 192.168.0.1
    0x00, 0x03, 0x00, 0x08, b'G', b'i', b'0', b'/', // Port ID "Gi0/"
    0x00, 0x04, 0x00, 0x08, 0x00, 0x00, 0x00, 0x28, // Capabilities: switch|igmp
    0x00, 0x05, 0x00, 0x08, b'I', b'O', b'S', b'1', // Software version "IOS1"
    0x00, 0x06, 0x00, 0x09, b'c', b'3', b'5', b'6', b'0', // Platform "c3560"
    0x00, 0x0a, 0x00, 0x06, 0x00, 0x0a, // Native VLAN 10
];

fn dec(b: &[u8]) -> (Option<CdpEvent>, Vec<&'static str>) {
    let mut a = Vec::new();
    (decode(&CdpConfig::default(), SRC, None, b, &mut a), a)
}

/// `PDU` in an 802.3 frame with LLC/SNAP, as a switch sends it.
fn frame(pdu: &[u8]) -> Vec<u8> {
    let mut f = vec![0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc];
    f.extend_from_slice(&SRC.0);
    let len = u16::try_from(8 + pdu.len()).unwrap();
    f.extend_from_slice(&len.to_be_bytes());
    f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00]);
    f.extend_from_slice(pdu);
    f
}

#[test]
fn cdp_decodes_exactly() {
    // Every field of the commented announcement.
    let (ev, an) = dec(PDU);
    let ev = ev.unwrap();
    assert!(an.is_empty());
    assert_eq!((ev.version, ev.ttl), (2, 180));
    assert_eq!(ev.device_id.as_deref(), Some("Switch"));
    assert_eq!(ev.platform.as_deref(), Some("c3560"));
    assert_eq!(ev.software_version.as_deref(), Some("IOS1"));
    assert_eq!(ev.port_id.as_deref(), Some("Gi0/"));
    assert_eq!(ev.addresses, ["192.168.0.1"]);
    assert_eq!(ev.capabilities, ["switch", "igmp"]);
    assert_eq!(ev.native_vlan, Some(10));
    assert!(!ev.truncated && !ev.capped);
}

#[test]
fn cdp_frame_entry_and_padding() {
    // Through the L2 entry: the 802.3 length excludes Ethernet padding, which is ignored.
    let mut f = frame(PDU);
    f.extend_from_slice(&[0; 6]);
    match classify(&f) {
        Some((m, None, L2Payload::Cdp { pdu, cut: false })) => {
            assert_eq!(m, SRC);
            assert_eq!(pdu, PDU);
        }
        other => panic!("{other:?}"),
    }
    let mut l2 = L2Analyzers::new(&AnalyzersConfig::default());
    let (mut out, mut counts) = (Vec::new(), AnomalyCounts::default());
    l2.on_frame(Timestamp(1), &f, &mut out, &mut counts);
    assert!(counts.sorted().is_empty());
    match &out[0].kind {
        EventKind::Cdp(e) => assert_eq!(e.device_id.as_deref(), Some("Switch")),
        k => panic!("{k:?}"),
    }
}

#[test]
fn cdp_truncated_at_every_len() {
    // Every prefix: no panic; cut inside a TLV is truncated_tlv, header cut is
    // truncated_header; TLVs before the cut are kept.
    for n in 0..PDU.len() {
        let (ev, an) = dec(&PDU[..n]);
        if n < 4 {
            assert!(ev.is_none());
            assert_eq!(an, [TRUNCATED_HEADER]);
            continue;
        }
        let ev = ev.unwrap();
        let boundary = [4, 14, 31, 39, 47, 55, 64].contains(&n);
        assert_eq!(ev.truncated, !boundary, "prefix {n}");
        assert_eq!(an.contains(&TRUNCATED_TLV), !boundary, "prefix {n}");
        if n >= 14 {
            assert_eq!(ev.device_id.as_deref(), Some("Switch"));
        }
    }
}

#[test]
fn cdp_frame_cut_below_its_length_is_truncated() {
    // An 802.3 length larger than the captured frame: the event says truncated.
    let f = frame(PDU);
    let mut l2 = L2Analyzers::new(&AnalyzersConfig::default());
    let (mut out, mut counts) = (Vec::new(), AnomalyCounts::default());
    l2.on_frame(Timestamp(1), &f[..f.len() - 6], &mut out, &mut counts);
    match &out[0].kind {
        EventKind::Cdp(e) => assert!(e.truncated),
        k => panic!("{k:?}"),
    }
    assert_eq!(counts.sorted(), [("cdp", TRUNCATED_TLV, 1)]);
}

#[test]
fn cdp_tlv_length_below_header_stops() {
    // A TLV length of 2 (< 4, its own header) would loop forever if trusted: truncated.
    let mut b = PDU[..14].to_vec();
    b.extend_from_slice(&[0x00, 0x06, 0x00, 0x02, 0xff, 0xff]);
    let (ev, an) = dec(&b);
    assert!(ev.unwrap().truncated);
    assert_eq!(an, [TRUNCATED_TLV]);
}

#[test]
fn cdp_addresses_overrun_and_cap() {
    // An Addresses TLV claiming 3 entries with one present: malformed_addresses, one kept;
    // and max_list_items = 0 keeps none and flags capped.
    let v = [0, 0, 0, 3, 0x01, 0x01, 0xcc, 0x00, 0x04, 10, 0, 0, 1];
    assert_eq!(parse_addresses(&v, 8).unwrap_err().len(), 1);
    let mut pdu = PDU[..14].to_vec();
    pdu.extend_from_slice(&[0x00, 0x02, 0x00, 4 + v.len() as u8]);
    pdu.extend_from_slice(&v);
    let (ev, an) = dec(&pdu);
    let ev = ev.unwrap();
    assert_eq!(an, [MALFORMED_ADDRESSES]);
    assert_eq!(ev.addresses, ["10.0.0.1"]);
    let cfg = CdpConfig {
        max_list_items: 0,
        ..Default::default()
    };
    let ev = decode(&cfg, SRC, None, PDU, &mut Vec::new()).unwrap();
    assert!(ev.addresses.is_empty() && ev.capped);
}

proptest! {
    #[test]
    fn cdp_arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..400)) {
        // Arbitrary payloads and frames: no panic, bounded address lists.
        let (ev, _) = dec(&b);
        if let Some(e) = ev {
            prop_assert!(e.addresses.len() <= CdpConfig::default().max_list_items);
        }
        let _ = parse_cdp(&b);
        let mut l2 = L2Analyzers::new(&AnalyzersConfig::default());
        let (mut out, mut counts) = (Vec::new(), AnomalyCounts::default());
        l2.on_frame(Timestamp(0), &frame(&b), &mut out, &mut counts);
        l2.on_frame(Timestamp(0), &b, &mut out, &mut counts);
        prop_assert!(out.len() <= 2);
    }
}
