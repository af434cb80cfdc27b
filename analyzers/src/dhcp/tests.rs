//! DHCP analyzer tests: exact decoding of known messages, every truncation, malformed
//! options, caps, DHCPv6, arbitrary bytes, and the saved fuzz inputs.

use super::analyzer::decode;
use super::event::*;
use super::wire::{self, V4WalkEnd, V6WalkEnd};
use super::*;
use model::{AnomalyCounts, Cx, DatagramAnalyzer, Event, FlowMeta, IpProto, Timestamp};
use proptest::prelude::*;
use std::net::Ipv4Addr;

fn meta() -> FlowMeta {
    crate::testutil::flow_meta(
        IpProto::UDP,
        ("0.0.0.0", 68),
        ("255.255.255.255", 67),
        "t",
        "dhcp",
    )
}

/// A BOOTP fixed part: op, htype 1, hlen 6, xid, ciaddr/yiaddr/siaddr/giaddr, chaddr,
/// then the magic cookie; options are appended by the caller.
fn v4_header(op: u8, xid: u32, yiaddr: [u8; 4]) -> Vec<u8> {
    let mut b = vec![
        op, // op: 1 BOOTREQUEST, 2 BOOTREPLY
        1,  // htype: Ethernet
        6,  // hlen
        0,  // hops
    ];
    b.extend_from_slice(&xid.to_be_bytes()); // xid
    b.extend_from_slice(&[0, 0, 0x80, 0]); // secs, flags (broadcast)
    b.extend_from_slice(&[10, 0, 0, 9]); // ciaddr
    b.extend_from_slice(&yiaddr); // yiaddr
    b.extend_from_slice(&[10, 0, 0, 1]); // siaddr
    b.extend_from_slice(&[0, 0, 0, 0]); // giaddr
    b.extend_from_slice(&[0x00, 0x09, 0xfb, 0x12, 0x34, 0x56]); // chaddr (6 bytes used)
    b.extend_from_slice(&[0; 10]); // chaddr padding
    b.extend_from_slice(&[0; 64]); // sname
    b.extend_from_slice(&[0; 128]); // file
    b.extend_from_slice(&wire::MAGIC_COOKIE); // magic cookie
    assert_eq!(b.len(), 240);
    b
}

/// A DISCOVER as a Philips monitor might send it.
fn discover() -> Vec<u8> {
    let mut b = v4_header(1, 0xdead_beef, [0; 4]);
    b.extend_from_slice(&[53, 1, 1]); // message type: discover
    b.extend_from_slice(&[61, 7, 1, 0x00, 0x09, 0xfb, 0x12, 0x34, 0x56]); // client id: htype 1 + MAC
    b.extend_from_slice(&[50, 4, 10, 0, 0, 42]); // requested address
    b.extend_from_slice(&[57, 2, 0x05, 0xdc]); // max message size 1500
    b.extend_from_slice(&[12, 11]); // host name, 11 bytes
    b.extend_from_slice(b"mx700-bed12");
    b.extend_from_slice(&[60, 8]); // vendor class, 8 bytes
    b.extend_from_slice(b"PHILIPS1");
    b.extend_from_slice(&[81, 3 + 13, 0x05, 0, 0]); // FQDN: flags S|E, rcode1, rcode2
    b.extend_from_slice(b"\x05mx700\x05bed12\x00"); // name in wire labels
    b.extend_from_slice(&[77, 6, 5]); // user class: one RFC 3004 instance of 5 bytes
    b.extend_from_slice(b"ICU-1");
    b.extend_from_slice(&[43, 2, 1, 0]); // vendor-specific (opaque)
    b.extend_from_slice(&[55, 4, 1, 3, 6, 15]); // parameter request list
    b.extend_from_slice(&[0, 0]); // pad
    b.push(255); // end
    b
}

fn dec(b: &[u8]) -> (Option<DhcpEvent>, Vec<&'static str>) {
    let mut a = Vec::new();
    let ev = decode(&DhcpConfig::default(), b, &mut a);
    (ev, a)
}

fn run(payloads: &[&[u8]]) -> (Vec<Event>, AnomalyCounts) {
    let m = meta();
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    let mut a = DhcpAnalyzer::new(&DhcpConfig::default());
    for p in payloads {
        a.on_datagram(&mut cx, model::Direction::ToServer, p);
    }
    (events, counts)
}

#[test]
fn discover_decodes_every_fingerprint_field() {
    // A DISCOVER with every fingerprinting option yields exactly those values.
    let (ev, an) = dec(&discover());
    let ev = ev.unwrap();
    assert!(an.is_empty(), "{an:?}");
    assert_eq!(ev.kind, "request");
    assert_eq!(ev.id, 0xdead_beef);
    assert_eq!(ev.version, 4);
    assert_eq!(ev.client_mac.unwrap().to_string(), "00:09:fb:12:34:56");
    assert_eq!(ev.client_ip, Some(Ipv4Addr::new(10, 0, 0, 9)));
    assert_eq!(ev.assigned_ip, Some(Ipv4Addr::UNSPECIFIED));
    assert_eq!(ev.next_server_ip, Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(ev.dhcp_type, Some("discover"));
    assert_eq!(ev.dhcp_type_code, Some(1));
    assert_eq!(ev.client_id.as_deref(), Some("01:00:09:fb:12:34:56"));
    assert_eq!(ev.requested_ip, Some(Ipv4Addr::new(10, 0, 0, 42)));
    assert_eq!(ev.max_message_size, Some(1500));
    assert_eq!(ev.hostname.as_deref(), Some("mx700-bed12"));
    assert_eq!(ev.vendor_class_identifier.as_deref(), Some("PHILIPS1"));
    assert_eq!(ev.fqdn.as_deref(), Some("mx700.bed12"));
    assert_eq!(ev.user_class, vec!["ICU-1".to_string()]);
    assert!(ev.vendor_specific);
    assert_eq!(ev.params, vec![1, 3, 6, 15]);
    assert_eq!(ev.options, vec![53, 61, 50, 57, 12, 60, 81, 77, 43, 55]);
    assert!(!ev.truncated_options && !ev.capped);
}

#[test]
fn discover_eve_json_has_suricata_names() {
    // Through the analyzer, the EVE dhcp object uses Suricata's field names.
    let (events, counts) = run(&[&discover()]);
    assert_eq!(counts.total(), 0);
    assert_eq!(events.len(), 1);
    let v = events[0].to_eve_value("s");
    let d = &v["dhcp"];
    assert_eq!(v["event_type"], "dhcp");
    assert_eq!(d["type"], "request");
    assert_eq!(d["id"], 0xdead_beefu32);
    assert_eq!(d["client_mac"], "00:09:fb:12:34:56");
    assert_eq!(d["assigned_ip"], "0.0.0.0");
    assert_eq!(d["dhcp_type"], "discover");
    assert_eq!(d["params"], serde_json::json!([1, 3, 6, 15]));
    assert_eq!(d["vendor_class_identifier"], "PHILIPS1");
}

#[test]
fn discover_truncated_at_every_len() {
    // Every prefix: shorter than header+cookie is not DHCP (one malformed_message anomaly,
    // no event); longer keeps the options before the cut, flagged, never panics.
    let full = discover();
    let opts_start = 240;
    for n in 0..full.len() {
        let (ev, an) = dec(&full[..n]);
        if n < opts_start {
            assert!(ev.is_none(), "len {n}");
            let (events, counts) = run(&[&full[..n]]);
            assert_eq!(events.len(), 1, "len {n}");
            assert_eq!(
                counts.sorted(),
                vec![("dhcp", MALFORMED_MESSAGE, 1)],
                "len {n}"
            );
            continue;
        }
        let ev = ev.unwrap();
        assert_eq!(ev.id, 0xdead_beef);
        // Every option completely inside the prefix is listed.
        let mut want = Vec::new();
        let end = wire::walk_v4_options(&full[opts_start..n], |c, _| want.push(u16::from(c)));
        assert_eq!(ev.options, want, "len {n}");
        match end {
            V4WalkEnd::Truncated(_) => {
                assert!(ev.truncated_options, "len {n}");
                assert!(an.contains(&TRUNCATED_OPTIONS), "len {n}");
            }
            V4WalkEnd::NoEnd => {
                assert!(!ev.truncated_options, "len {n}");
                assert_eq!(an, vec![MISSING_END_OPTION], "len {n}");
            }
            V4WalkEnd::End => unreachable!("end option is the last byte"),
        }
    }
}

#[test]
fn option_past_message_keeps_earlier_options() {
    // A length running past the datagram: the options before are kept and flagged.
    let mut b = v4_header(1, 7, [0; 4]);
    b.extend_from_slice(&[53, 1, 3]); // request
    b.extend_from_slice(&[12, 3]); // host name
    b.extend_from_slice(b"abc");
    b.extend_from_slice(&[60, 200, b'x']); // vendor class claims 200 bytes, has 1
    let (ev, an) = dec(&b);
    let ev = ev.unwrap();
    assert_eq!(ev.dhcp_type, Some("request"));
    assert_eq!(ev.hostname.as_deref(), Some("abc"));
    assert_eq!(ev.vendor_class_identifier, None);
    assert!(ev.truncated_options);
    assert_eq!(an, vec![TRUNCATED_OPTIONS]);
}

#[test]
fn fixed_size_option_with_wrong_length_is_ignored() {
    // Option 53 of length 2 and option 50 of length 3 are ignored and flagged.
    let mut b = v4_header(1, 7, [0; 4]);
    b.extend_from_slice(&[53, 2, 1, 1]); // message type with 2 bytes
    b.extend_from_slice(&[50, 3, 10, 0, 0]); // requested address with 3 bytes
    b.push(255);
    let (ev, an) = dec(&b);
    let ev = ev.unwrap();
    assert_eq!(ev.dhcp_type, None);
    assert_eq!(ev.requested_ip, None);
    assert!(ev.truncated_options);
    assert_eq!(an, vec![BAD_OPTION_LENGTH]);
    assert_eq!(ev.options, vec![53, 50]);
}

#[test]
fn split_parameter_list_is_concatenated() {
    // RFC 3396: two option 55 instances form one list, order kept.
    let mut b = v4_header(1, 7, [0; 4]);
    b.extend_from_slice(&[55, 2, 121, 3]); // first part
    b.extend_from_slice(&[55, 2, 6, 252]); // second part
    b.push(255);
    assert_eq!(dec(&b).0.unwrap().params, vec![121, 3, 6, 252]);
}

#[test]
fn overloaded_file_field_options_are_read() {
    // Option 52 = 1: the options continue in the `file` field.
    let mut b = v4_header(2, 9, [10, 0, 0, 42]);
    b[108] = 12; // file: host name option
    b[109] = 2; // length
    b[110] = b'p'; // "pc"
    b[111] = b'c';
    b[112] = 255; // end
    b.extend_from_slice(&[53, 1, 5]); // ack
    b.extend_from_slice(&[52, 1, 1]); // overload: file
    b.push(255);
    let ev = dec(&b).0.unwrap();
    assert_eq!(ev.kind, "reply");
    assert_eq!(ev.dhcp_type, Some("ack"));
    assert_eq!(ev.assigned_ip, Some(Ipv4Addr::new(10, 0, 0, 42)));
    assert_eq!(ev.hostname.as_deref(), Some("pc"));
    assert_eq!(ev.options, vec![53, 52, 12]);
}

#[test]
fn bare_user_class_is_one_class() {
    // A user class without RFC 3004 length prefixes (as Windows sends) is one class.
    let mut b = v4_header(1, 7, [0; 4]);
    b.extend_from_slice(&[77, 4]);
    b.extend_from_slice(b"RRAS");
    b.push(255);
    assert_eq!(dec(&b).0.unwrap().user_class, vec!["RRAS".to_string()]);
}

#[test]
fn ascii_fqdn_without_e_flag() {
    // Option 81 without the E flag carries the name as ASCII.
    let mut b = v4_header(1, 7, [0; 4]);
    b.extend_from_slice(&[81, 3 + 6, 0x01, 0, 0]);
    b.extend_from_slice(b"pc.lan");
    b.push(255);
    assert_eq!(dec(&b).0.unwrap().fqdn.as_deref(), Some("pc.lan"));
}

#[test]
fn strings_and_lists_are_capped() {
    // A host name, parameter list and option count past their caps are cut and flagged.
    let cfg = DhcpConfig {
        max_string_bytes: 4,
        max_params: 2,
        max_options: 3,
        ..Default::default()
    };
    let mut b = v4_header(1, 7, [0; 4]);
    b.extend_from_slice(&[12, 8]);
    b.extend_from_slice(b"abcdefgh");
    b.extend_from_slice(&[55, 3, 1, 2, 3]);
    b.extend_from_slice(&[61, 6, 1, 2, 3, 4, 5, 6]);
    b.extend_from_slice(&[60, 1, b'v']);
    b.push(255);
    let mut an = Vec::new();
    let ev = decode(&cfg, &b, &mut an).unwrap();
    assert_eq!(ev.hostname.as_deref(), Some("abcd"));
    assert_eq!(ev.params, vec![1, 2]);
    assert_eq!(ev.client_id.as_deref(), Some("01:02:03:04"));
    assert_eq!(ev.options, vec![12, 55, 61]);
    assert_eq!(ev.vendor_class_identifier.as_deref(), Some("v"));
    assert!(ev.capped);
    assert_eq!(an, vec![TOO_MANY_OPTIONS]);
}

#[test]
fn wrong_cookie_or_op_is_not_dhcp() {
    // The probe refuses a BOOTP header without cookie, and an op other than 1 or 2.
    let mut b = discover();
    assert_eq!(probe_dhcp(model::Direction::ToServer, &b), Probe::Match);
    b[236] = 0;
    assert_eq!(probe_dhcp(model::Direction::ToServer, &b), Probe::NoMatch);
    let mut b = discover();
    b[0] = 3;
    assert_eq!(probe_dhcp(model::Direction::ToServer, &b), Probe::NoMatch);
    assert_eq!(
        probe_dhcp(model::Direction::ToServer, b"\x01\x00"),
        Probe::NoMatch
    );
    assert_eq!(
        probe_dhcp(model::Direction::ToServer, b"M-SEARCH * HTTP/1.1\r\n\r\n"),
        Probe::NoMatch
    );
}

/// A DHCPv6 Solicit.
fn solicit() -> Vec<u8> {
    let mut b = vec![1, 0x12, 0x34, 0x56]; // msg-type solicit, transaction id
    b.extend_from_slice(&[0, 1, 0, 10]); // client id, 10 bytes
    b.extend_from_slice(&[0, 3, 0, 1, 0x00, 0x09, 0xfb, 0x12, 0x34, 0x56]); // DUID-LL
    b.extend_from_slice(&[0, 6, 0, 4, 0, 23, 0, 24]); // option request: 23, 24
    b.extend_from_slice(&[0, 16, 0, 10, 0, 0, 0x01, 0x37, 0, 4]); // vendor class: ent 311, len 4
    b.extend_from_slice(b"MSFT");
    b.extend_from_slice(&[0, 39, 0, 5, 0x01, 3]); // FQDN: flags, labels
    b.extend_from_slice(b"ws1");
    b.extend_from_slice(&[0, 17, 0, 4, 0, 0, 0, 9]); // vendor opts: enterprise 9
    b
}

#[test]
fn dhcpv6_solicit_decodes() {
    // A DHCPv6 Solicit gives client DUID, ORO, vendor class, FQDN and vendor options.
    assert_eq!(
        probe_dhcp(model::Direction::ToServer, &solicit()),
        Probe::Match
    );
    let (ev, an) = dec(&solicit());
    let ev = ev.unwrap();
    assert!(an.is_empty(), "{an:?}");
    assert_eq!(ev.version, 6);
    assert_eq!(ev.kind, "request");
    assert_eq!(ev.dhcp_type, Some("solicit"));
    assert_eq!(ev.id, 0x123456);
    assert_eq!(
        ev.client_id.as_deref(),
        Some("00:03:00:01:00:09:fb:12:34:56")
    );
    assert_eq!(ev.params, vec![23, 24]);
    assert_eq!(ev.vendor_class_identifier.as_deref(), Some("MSFT"));
    assert_eq!(ev.vendor_enterprise, Some(9));
    assert!(ev.vendor_specific);
    assert_eq!(ev.fqdn.as_deref(), Some("ws1"));
    assert_eq!(ev.options, vec![1, 6, 16, 39, 17]);
    assert_eq!(ev.client_mac, None);
}

#[test]
fn dhcpv6_truncated_at_every_len() {
    // Every prefix of a Solicit: no panic; a prefix whose options walk exactly with a
    // client id decodes; others are not DHCPv6.
    let full = solicit();
    for n in 0..full.len() {
        let (ev, _) = dec(&full[..n]);
        let ok = n >= 4
            && wire::walk_v6_options(&full[4..n], |_, _| {}) == V6WalkEnd::Complete
            && n >= 18;
        assert_eq!(ev.is_some(), ok, "len {n}");
    }
}

#[test]
fn dns_labels_stop_at_overrun_and_pointer() {
    // Labels past the value or compression pointers end the name, kept so far.
    let mut out = Vec::new();
    assert!(!wire::dns_labels(b"\x02ab\x05cd", &mut out, 64));
    assert_eq!(out, b"ab");
    out.clear();
    assert!(!wire::dns_labels(b"\x02ab\xc0\x0c", &mut out, 64));
    assert_eq!(out, b"ab");
    out.clear();
    assert!(wire::dns_labels(b"\x03abc\x03def\x00", &mut out, 5));
    assert_eq!(out, b"abc.d");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..700)) {
        // Arbitrary datagrams: no panic, one event or one anomaly at most per datagram
        // plus at most four option anomalies, strings within caps.
        let (events, _) = run(&[&b]);
        prop_assert!(events.len() <= 5);
        let (ev, _) = dec(&b);
        if let Some(ev) = ev {
            prop_assert!(ev.hostname.map_or(0, |h| h.len()) <= 256 * 3);
            prop_assert!(ev.options.len() <= 128);
        }
    }

    #[test]
    fn arbitrary_options_after_header_never_panic(o in proptest::collection::vec(any::<u8>(), 0..400)) {
        // Arbitrary option bytes behind a valid header: always decoded, walk result
        // agrees with the truncation flag.
        let mut b = v4_header(1, 1, [0; 4]);
        b.extend_from_slice(&o);
        let (ev, an) = dec(&b);
        let ev = ev.unwrap();
        let end = wire::walk_v4_options(&o, |_, _| {});
        if matches!(end, V4WalkEnd::Truncated(_)) {
            prop_assert!(ev.truncated_options && an.contains(&TRUNCATED_OPTIONS));
        }
    }
}

#[test]
fn fuzz_regressions_replay_without_panic() {
    // Inputs saved under fuzz/regressions/dhcp/ (fuzz finds and hand-made edge cases)
    // decode without panic, as the fuzz target runs them.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/dhcp");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let b = std::fs::read(e.unwrap().path()).unwrap();
        let _ = run(&[&b]);
        let _ = probe_dhcp(model::Direction::ToServer, &b);
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}
