//! LLDP tests: exact decoding of a commented LLDPDU (with LLDP-MED inventory), every
//! truncation, TLVs overrunning the frame, caps, the frame entry (VLAN tag), arbitrary bytes.

use super::analyzer::decode;
use super::event::*;
use super::wire::parse_lldpdu;
use super::*;
use crate::l2::L2Analyzers;
use crate::registry::AnalyzersConfig;
use model::{AnomalyCounts, EventKind, MacAddr, Timestamp};
use proptest::prelude::*;

const SRC: MacAddr = MacAddr([0x00, 0x09, 0xfb, 0x01, 0x02, 0x03]);

/// An LLDPDU from a patient monitor's port.
const PDU: &[u8] = &[
    0x02, 0x07, // Chassis ID, length 7
    0x04, 0x00, 0x09, 0xfb, 0x01, 0x02, 0x03, // subtype 4 (MAC) 00:09:fb:01:02:03
    0x04, 0x05, // Port ID, length 5
    0x05, b'e', b't', b'h', b'0', // subtype 5 (interface name) "eth0"
    0x06, 0x02, 0x00, 0x78, // TTL, length 2: 120 s
    0x0a, 0x05, b'M', b'X', b'7', b'0', b'0', // System Name "MX700"
    0x0c, 0x03, b'I', b'n', b'V', // System Description "InV"
    0x0e, 0x04, 0x00, 0xa0, 0x00, 0x80, // Capabilities: telephone|station, enabled station
    0x10, 0x0c, // Management Address, length 12
    0x05, 0x01, 10, 1, 2, 3, // address string length 5, IPv4 10.1.2.3
    0x02, 0x00, 0x00, 0x00, 0x01, 0x00, // ifIndex subtype, number 1, OID length 0
    0xfe, 0x07, 0x00, 0x12, 0xbb, 0x01, 0x00, 0x33, 0x03, // MED capabilities, class 3
    0xfe, 0x0a, 0x00, 0x12, 0xbb, 0x0a, b'I', b'n', b't', b'e', b'l', b'l', // MED model
    0xfe, 0x07, 0x00, 0x12, 0xbb, 0x08, b'S', b'N', b'1', // MED serial "SN1"
    0x00, 0x00, // End of LLDPDU
];

fn dec(b: &[u8]) -> (LldpEvent, Vec<&'static str>) {
    let mut a = Vec::new();
    (decode(&LldpConfig::default(), SRC, None, b, &mut a), a)
}

#[test]
fn lldpdu_decodes_exactly() {
    // Every field of the commented LLDPDU, with its LLDP-MED inventory.
    let (ev, an) = dec(PDU);
    assert!(an.is_empty(), "{an:?}");
    assert_eq!(ev.chassis_id_subtype, "mac_address");
    assert_eq!(ev.chassis_id, "00:09:fb:01:02:03");
    assert_eq!(ev.port_id_subtype, "interface_name");
    assert_eq!(ev.port_id, "eth0");
    assert_eq!(ev.ttl, 120);
    assert_eq!(ev.system_name.as_deref(), Some("MX700"));
    assert_eq!(ev.system_description.as_deref(), Some("InV"));
    assert_eq!(ev.capabilities, ["telephone", "station"]);
    assert_eq!(ev.enabled_capabilities, ["station"]);
    assert_eq!(ev.management_addresses, ["10.1.2.3"]);
    let med = ev.med.unwrap();
    assert_eq!(med.device_class, Some(3));
    assert_eq!(med.model_name.as_deref(), Some("Intell"));
    assert_eq!(med.serial_number.as_deref(), Some("SN1"));
    assert!(!ev.truncated && !ev.capped);
}

#[test]
fn lldpdu_truncated_at_every_len() {
    // Every prefix decodes without panic; a prefix cut inside a TLV is `truncated_tlv`
    // with the earlier TLVs kept, a prefix that ends between TLVs is only incomplete.
    for n in 0..PDU.len() {
        let (ev, an) = dec(&PDU[..n]);
        if n >= 9 {
            assert_eq!(ev.chassis_id, "00:09:fb:01:02:03", "prefix {n}");
        }
        let mut at = 0;
        let mut boundary = false;
        while at < n {
            let len = (usize::from(PDU[at] & 1) << 8) | usize::from(PDU[at + 1]);
            at += 2 + len;
            boundary = at == n;
        }
        assert_eq!(
            an.contains(&TRUNCATED_TLV),
            n > 0 && !boundary,
            "prefix {n}: {an:?}"
        );
        // Before the TTL TLV is complete the mandatory TLVs are missing too.
        assert_eq!(ev.truncated, n < 20 || !boundary, "prefix {n}");
    }
}

#[test]
fn lldp_tlv_length_past_frame_is_named_anomaly() {
    // A System Name TLV announcing 300 bytes in a short frame: truncated, mandatory kept.
    let mut b = PDU[..20].to_vec();
    b.extend_from_slice(&[0x0b, 0x2c, b'x', b'y']); // type 5, length 0x12c = 300
    let (ev, an) = dec(&b);
    assert!(ev.truncated);
    assert_eq!(an, [TRUNCATED_TLV]);
    assert_eq!(ev.port_id, "eth0");
    assert_eq!(ev.ttl, 120);
    assert_eq!(ev.system_name, None);
}

#[test]
fn lldp_missing_mandatory_tlv() {
    // A PDU starting with the TTL: missing_mandatory_tlv, what is there still reported.
    let (ev, an) = dec(&[0x06, 0x02, 0x00, 0x10, 0x0a, 0x01, b'A', 0, 0]);
    assert!(ev.truncated);
    assert_eq!(an, [MISSING_MANDATORY_TLV]);
    assert_eq!(ev.chassis_id_subtype, "missing");
    assert_eq!(ev.system_name.as_deref(), Some("A"));
}

#[test]
fn lldp_strings_and_lists_capped() {
    // Strings over max_string_bytes and addresses over max_list_items are cut and flagged.
    let cfg = LldpConfig {
        max_string_bytes: 3,
        max_list_items: 0,
        ..Default::default()
    };
    let mut a = Vec::new();
    let ev = decode(&cfg, SRC, None, PDU, &mut a);
    assert_eq!(ev.system_name.as_deref(), Some("MX7"));
    assert!(ev.management_addresses.is_empty());
    assert!(ev.capped);
}

#[test]
fn lldp_frame_behind_vlan_tag_is_an_event() {
    // An 802.1Q-tagged LLDP frame through the L2 entry: an lldp event with its VLAN.
    let mut f = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e];
    f.extend_from_slice(&SRC.0);
    f.extend_from_slice(&[0x81, 0x00, 0x00, 0x64, 0x88, 0xcc]); // VLAN 100, LLDP
    f.extend_from_slice(PDU);
    let mut l2 = L2Analyzers::new(&AnalyzersConfig::default());
    let (mut out, mut counts) = (Vec::new(), AnomalyCounts::default());
    l2.on_frame(Timestamp(7), &f, &mut out, &mut counts);
    assert_eq!(out.len(), 1);
    assert!(out[0].flow.is_none());
    match &out[0].kind {
        EventKind::Lldp(e) => {
            assert_eq!(e.vlan, Some(100));
            assert_eq!(e.src_mac, SRC);
            assert_eq!(e.system_name.as_deref(), Some("MX700"));
        }
        k => panic!("{k:?}"),
    }
    // Switched off: nothing.
    let mut cfg = AnalyzersConfig::default();
    cfg.lldp.enabled = false;
    let mut l2 = L2Analyzers::new(&cfg);
    out.clear();
    l2.on_frame(Timestamp(7), &f, &mut out, &mut counts);
    assert!(out.is_empty());
}

#[test]
fn lldp_overrun_in_frame_is_counted() {
    // The frame entry counts a TLV overrun under lldp/truncated_tlv.
    let mut f = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e];
    f.extend_from_slice(&SRC.0);
    f.extend_from_slice(&[0x88, 0xcc]);
    f.extend_from_slice(&PDU[..30]);
    let mut l2 = L2Analyzers::new(&AnalyzersConfig::default());
    let (mut out, mut counts) = (Vec::new(), AnomalyCounts::default());
    l2.on_frame(Timestamp(0), &f, &mut out, &mut counts);
    assert_eq!(counts.sorted(), [("lldp", TRUNCATED_TLV, 1)]);
    assert_eq!(out.len(), 1);
}

proptest! {
    #[test]
    fn lldp_arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        // Arbitrary payloads: no panic, bounded lists.
        let (ev, _) = dec(&b);
        prop_assert!(ev.management_addresses.len() <= LldpConfig::default().max_list_items);
        let p = parse_lldpdu(&b, 4);
        prop_assert!(p.management.len() <= 4);
    }
}

#[test]
fn fuzz_regressions_replay_without_panic() {
    // Inputs saved under fuzz/regressions/l2/ (fuzz finds and hand-made edge cases) run
    // through the L2 entry as the fuzz target runs them: no panic, caps held.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/l2");
    let mut cfg = AnalyzersConfig::default();
    cfg.arp.max_bindings = 2;
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        let mut l2 = L2Analyzers::new(&cfg);
        let (mut out, mut counts) = (Vec::new(), AnomalyCounts::default());
        l2.on_frame(Timestamp(0), &data, &mut out, &mut counts);
        for f in data.split(|b| *b == 0xfe).take(4) {
            l2.on_frame(Timestamp(0), f, &mut out, &mut counts);
        }
        let _ = parse_lldpdu(&data, 2);
        let _ = crate::cdp::wire::parse_cdp(&data);
        let _ = crate::arp::wire::parse_arp(&data);
        assert!(l2.arp_bindings() <= 2);
        n += 1;
    }
    assert!(n >= 3);
}
