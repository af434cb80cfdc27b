//! SNMP analyzer tests: exact decoding of v1, v2c and v3 messages, community flags without
//! the value ever leaving, every truncation, caps, BER and OID edge cases, probe refusals,
//! arbitrary bytes, and the saved fuzz inputs.

use super::analyzer::decode;
use super::event::*;
use super::wire::{self, BerError};
use super::*;
use model::{AnomalyCounts, Cx, Event, FlowMeta, IpProto, Timestamp};
use proptest::prelude::*;

fn meta() -> FlowMeta {
    crate::testutil::flow_meta(
        IpProto::UDP,
        ("10.0.0.7", 40000),
        ("10.0.0.1", 161),
        "t",
        "snmp",
    )
}

/// v2c GetRequest for sysDescr.0 with community `community` (6 bytes).
fn v2c_get(community: &[u8; 6]) -> Vec<u8> {
    let mut v = vec![
        0x30, 0x29, // SEQUENCE, 41 bytes
        0x02, 0x01, 0x01, // version 1 (v2c)
        0x04, 0x06, // community, 6 bytes
    ];
    v.extend_from_slice(community);
    v.extend_from_slice(&[
        0xa0, 0x1c, // GetRequest PDU, 28 bytes
        0x02, 0x04, 0x00, 0x00, 0x00, 0x01, // request-id 1
        0x02, 0x01, 0x00, // error-status 0
        0x02, 0x01, 0x00, // error-index 0
        0x30, 0x0e, // variable bindings, 14 bytes
        0x30, 0x0c, // binding, 12 bytes
        0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, // OID 1.3.6.1.2.1.1.1.0
        0x05, 0x00, // NULL value
    ]);
    v
}

/// v1 Trap-PDU (coldStart) with community `public`.
const V1_TRAP: &[u8] = &[
    0x30, 0x28, // SEQUENCE, 40 bytes
    0x02, 0x01, 0x00, // version 0 (v1)
    0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', // community "public"
    0xa4, 0x1b, // Trap-PDU, 27 bytes
    0x06, 0x08, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x81, 0x9b,
    0x0d, // enterprise 1.3.6.1.4.1.19853
    0x40, 0x04, 0x0a, 0x00, 0x00, 0x07, // agent-addr 10.0.0.7
    0x02, 0x01, 0x00, // generic-trap coldStart
    0x02, 0x01, 0x00, // specific-trap 0
    0x43, 0x01, 0x05, // time-stamp 5
    0x30, 0x00, // no bindings
];

/// v3 noAuthNoPriv GetRequest (engine discovery), plaintext scoped PDU.
const V3_PLAIN: &[u8] = &[
    0x30, 0x38, // SEQUENCE, 56 bytes
    0x02, 0x01, 0x03, // version 3
    0x30, 0x0e, // msgGlobalData, 14 bytes
    0x02, 0x02, 0x12, 0x34, // msgID
    0x02, 0x02, 0x05, 0xdc, // msgMaxSize 1500
    0x04, 0x01, 0x04, // msgFlags: reportable, no auth, no priv
    0x02, 0x01, 0x03, // msgSecurityModel USM
    0x04, 0x10, // msgSecurityParameters, 16 bytes
    0x30, 0x0e, 0x04, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00, 0x04,
    0x00, // empty USM parameters
    0x30, 0x11, // ScopedPDU, 17 bytes
    0x04, 0x00, // contextEngineID
    0x04, 0x00, // contextName
    0xa0, 0x0b, // GetRequest, 11 bytes
    0x02, 0x01, 0x07, // request-id 7
    0x02, 0x01, 0x00, // error-status
    0x02, 0x01, 0x00, // error-index
    0x30, 0x00, // no bindings
];

/// v3 authPriv message: the scoped PDU is an encrypted OCTET STRING.
const V3_ENCRYPTED: &[u8] = &[
    0x30, 0x21, // SEQUENCE, 33 bytes
    0x02, 0x01, 0x03, // version 3
    0x30, 0x0e, // msgGlobalData
    0x02, 0x02, 0x12, 0x35, // msgID
    0x02, 0x02, 0x05, 0xdc, // msgMaxSize
    0x04, 0x01, 0x07, // msgFlags: reportable, auth, priv
    0x02, 0x01, 0x03, // USM
    0x04, 0x02, 0x30, 0x00, // msgSecurityParameters (elided)
    0x04, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, // encryptedPDU
];

fn dec(b: &[u8]) -> (Option<SnmpEvent>, Vec<&'static str>) {
    let mut a = Vec::new();
    (decode(&SnmpConfig::default(), b, &mut a), a)
}

fn run(payloads: &[&[u8]]) -> (Vec<Event>, AnomalyCounts) {
    let m = meta();
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    let mut a = SnmpAnalyzer::new(&SnmpConfig::default());
    for p in payloads {
        model::DatagramAnalyzer::on_datagram(&mut a, &mut cx, model::Direction::ToServer, p);
    }
    (events, counts)
}

#[test]
fn v2c_get_request_decodes_exactly() {
    // Version, PDU type, default community flagged, the binding's OID.
    let (ev, an) = dec(&v2c_get(b"public"));
    assert!(an.is_empty());
    assert_eq!(
        ev.unwrap(),
        SnmpEvent {
            version: 2,
            pdu_type: "get_request",
            community_present: true,
            community_default: true,
            security_level: None,
            vars: vec!["1.3.6.1.2.1.1.1.0".into()],
            truncated: false,
        }
    );
}

#[test]
fn community_is_compared_never_written() {
    // A site community is present but not default, and neither community appears in the
    // EVE line.
    let (ev, _) = dec(&v2c_get(b"h0sp1t"));
    let ev = ev.unwrap();
    assert!(ev.community_present && !ev.community_default);
    let (private, _) = dec(&v2c_get(b"privat"));
    assert!(
        !private.unwrap().community_default,
        "a prefix of `private` is not it"
    );
    for c in [b"h0sp1t", b"public"] {
        let (events, _) = run(&[&v2c_get(c)]);
        let line = events[0].to_eve_value("t").to_string();
        assert!(line.contains("\"community_present\":true"), "{line}");
        assert!(!line.contains(std::str::from_utf8(c).unwrap()), "{line}");
    }
}

#[test]
fn v1_trap_decodes_exactly() {
    // Version 1, trap_v1 (five fields before the bindings), community public.
    let (ev, an) = dec(V1_TRAP);
    assert!(an.is_empty(), "{an:?}");
    let ev = ev.unwrap();
    assert_eq!((ev.version, ev.pdu_type), (1, "trap_v1"));
    assert!(ev.community_default && !ev.truncated && ev.vars.is_empty());
}

#[test]
fn v3_messages_are_noted_as_such() {
    // v3: no community; the security level from msgFlags; an encrypted scoped PDU says so.
    let (ev, an) = dec(V3_PLAIN);
    assert!(an.is_empty(), "{an:?}");
    let ev = ev.unwrap();
    assert_eq!(ev.version, 3);
    assert_eq!(ev.pdu_type, "get_request");
    assert_eq!(ev.security_level, Some("no_auth_no_priv"));
    assert!(!ev.community_present && !ev.community_default);
    let (ev, an) = dec(V3_ENCRYPTED);
    assert!(an.is_empty(), "{an:?}");
    let ev = ev.unwrap();
    assert_eq!(ev.pdu_type, "encrypted");
    assert_eq!(ev.security_level, Some("auth_priv"));
}

#[test]
fn datagram_truncated_at_every_length() {
    // Every prefix: before the version decodes, snmp_bad_ber and no event; after it, an
    // event with truncated: true and snmp_truncated; whole, a clean event.
    for full in [v2c_get(b"public"), V1_TRAP.to_vec(), V3_PLAIN.to_vec()] {
        for len in 0..full.len() {
            let (ev, an) = dec(&full[..len]);
            if len < 5 {
                assert!(ev.is_none(), "len {len}");
                assert_eq!(an, vec![BAD_BER], "len {len}");
            } else {
                assert!(ev.unwrap().truncated, "len {len}");
                assert_eq!(an, vec![TRUNCATED], "len {len}");
            }
        }
        let (ev, an) = dec(&full);
        assert!(!ev.unwrap().truncated && an.is_empty());
    }
}

#[test]
fn unknown_version_and_garbage_are_named() {
    // Version 2 does not exist on the wire; a datagram that is not a SEQUENCE is bad BER.
    let mut v = v2c_get(b"public");
    v[4] = 2;
    assert_eq!(dec(&v), (None, vec![UNKNOWN_VERSION]));
    assert_eq!(dec(b"\x01\x02\x03"), (None, vec![BAD_BER]));
    let (events, counts) = run(&[b"hello"]);
    assert_eq!(crate::testutil::anomaly_codes(&events), vec![BAD_BER]);
    assert_eq!(counts.total(), 1);
}

#[test]
fn bindings_are_capped() {
    // More bindings than max_vars: the first kept, snmp_too_many_vars raised.
    let cfg = SnmpConfig {
        max_vars: 0,
        ..SnmpConfig::default()
    };
    let mut an = Vec::new();
    let ev = decode(&cfg, &v2c_get(b"public"), &mut an).unwrap();
    assert!(ev.vars.is_empty());
    assert_eq!(an, vec![TOO_MANY_VARS]);
    let cfg = SnmpConfig {
        max_oid_bytes: 5,
        ..SnmpConfig::default()
    };
    let ev = decode(&cfg, &v2c_get(b"public"), &mut Vec::new()).unwrap();
    assert_eq!(ev.vars, vec!["1.3.6".to_string()]);
}

#[test]
fn ber_lengths_and_oids_decode_exactly() {
    // Long-form lengths, indefinite and over-long length forms, multi-byte tags; OIDs with
    // multi-byte arcs, the 2.x first arc, and unterminated arcs.
    let long = [0x04, 0x81, 0x03, b'a', b'b', b'c', 0xff];
    let (t, rest) = wire::read_tlv(&long).unwrap();
    assert_eq!((t.tag, t.value, rest), (0x04, &b"abc"[..], &[0xff][..]));
    assert_eq!(wire::read_tlv(&[0x30, 0x80, 0, 0]), Err(BerError::Bad));
    assert_eq!(
        wire::read_tlv(&[0x30, 0x85, 0, 0, 0, 0, 1]),
        Err(BerError::Bad)
    );
    assert_eq!(wire::read_tlv(&[0x1f, 0x01, 0x00]), Err(BerError::Bad));
    assert_eq!(wire::read_tlv(&[0x04, 0x05, 1]), Err(BerError::Truncated));
    assert_eq!(
        wire::read_tlv(&[0x04, 0x82, 0x01]),
        Err(BerError::Truncated)
    );
    assert_eq!(
        wire::parse_oid(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0x81, 0x9b, 0x0d]).as_deref(),
        Some("1.3.6.1.4.1.19853")
    );
    assert_eq!(
        wire::parse_oid(&[0x88, 0x37, 0x01]).as_deref(),
        Some("2.999.1")
    );
    assert_eq!(wire::parse_oid(&[0x2b, 0x86]), None);
    assert_eq!(wire::parse_oid(&[]), None);
    assert_eq!(wire::parse_oid(&[0xff; 12]), None);
    assert_eq!(
        wire::parse_uint(&[0x00, 0xff, 0xff, 0xff, 0xff]),
        Some(u32::MAX)
    );
    assert_eq!(wire::parse_uint(&[0x80]), None);
}

#[test]
fn probe_answers() {
    // SNMP of each version matches; CLDAP (same start, other tag after the integer), DNS
    // and text do not.
    assert_eq!(
        probe_snmp(model::Direction::ToServer, &v2c_get(b"public")),
        model::Probe::Match
    );
    assert_eq!(
        probe_snmp(model::Direction::ToServer, V1_TRAP),
        model::Probe::Match
    );
    assert_eq!(
        probe_snmp(model::Direction::ToServer, V3_PLAIN),
        model::Probe::Match
    );
    let cldap = [0x30, 0x05, 0x02, 0x01, 0x01, 0x63, 0x00];
    assert_eq!(
        probe_snmp(model::Direction::ToServer, &cldap),
        model::Probe::NoMatch
    );
    let dns = [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        probe_snmp(model::Direction::ToServer, &dns),
        model::Probe::NoMatch
    );
    assert_eq!(
        probe_snmp(model::Direction::ToServer, b"M-SEARCH * HTTP/1.1"),
        model::Probe::NoMatch
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        // Arbitrary datagrams: no panic, at most one event, each OID within its cap; the
        // probe implies an event.
        let (events, _) = run(&[&b]);
        let snmp = events.iter().filter(|e| e.kind.event_type() == "snmp").count();
        prop_assert!(snmp <= 1);
        if wire::probe(&b) {
            prop_assert_eq!(snmp, 1);
        }
        let (ev, _) = dec(&b);
        if let Some(ev) = ev {
            prop_assert!(ev.vars.len() <= 16);
            prop_assert!(ev.vars.iter().all(|v| v.len() <= 128));
        }
    }

    #[test]
    fn mutated_messages_never_panic(i in 0usize..60, x in any::<u8>()) {
        // One byte of a valid message changed anywhere: no panic.
        for full in [v2c_get(b"public"), V1_TRAP.to_vec(), V3_PLAIN.to_vec()] {
            let mut m = full.clone();
            if let Some(b) = m.get_mut(i) { *b = x; }
            let _ = dec(&m);
        }
    }
}

#[test]
fn fuzz_regressions_replay_without_panic() {
    // Inputs saved under fuzz/regressions/snmp/ decode without panic, deterministically.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/snmp");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        assert_eq!(dec(&data), dec(&data));
        let _ = run(&[&data]);
        n += 1;
    }
    assert!(n >= 1);
}
