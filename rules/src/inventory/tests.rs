//! Inventory unit tests: identity fusion, routers, classification, device events, caps.

use super::*;
use model::dhcp::DhcpEvent;
use model::{FlowEndReason, FlowKey, FlowMeta, FlowRecord, FlowState, IpProto, TcpRecord};
use std::sync::Arc;

fn mac(s: &str) -> MacAddr {
    MacAddr(oui::parse_mac(s).unwrap())
}

fn ts(s: i64) -> Timestamp {
    Timestamp::from_secs_micros(1_700_000_000 + s, 0)
}

fn meta(src: (&str, &str, u16), dst: (&str, &str, u16), proto: IpProto) -> Box<FlowMeta> {
    Box::new(FlowMeta {
        flow_id: 1,
        key: FlowKey {
            vlan: [0, 0],
            proto,
            src_ip: src.1.parse().unwrap(),
            src_port: src.2,
            dst_ip: dst.1.parse().unwrap(),
            dst_port: dst.2,
        },
        in_iface: Arc::from("test"),
        src_mac: Some(mac(src.0)),
        dest_mac: Some(mac(dst.0)),
        app_proto: None,
    })
}

fn flow(t: i64, src: (&str, &str, u16), dst: (&str, &str, u16), answered: bool) -> Event {
    Event {
        ts: ts(t),
        flow: Some(meta(src, dst, IpProto::TCP)),
        kind: EventKind::Flow(FlowRecord {
            pkts_toserver: 3,
            pkts_toclient: if answered { 2 } else { 0 },
            bytes_toserver: 180,
            bytes_toclient: if answered { 120 } else { 0 },
            start: ts(t),
            end: ts(t),
            age: 0,
            state: FlowState::Closed,
            reason: FlowEndReason::Timeout,
            stream: None,
            tcp: Some(TcpRecord {
                flags: 0x1b,
                flags_ts: 0x1b,
                flags_tc: if answered { 0x12 } else { 0 },
                state: "closed",
                syn_signature: None,
                synack_signature: None,
            }),
        }),
    }
}

fn dhcp_request(t: i64, m: &str, host: &str, vc: Option<&str>) -> Event {
    Event {
        ts: ts(t),
        flow: Some(meta(
            (m, "0.0.0.0", 68),
            ("ff:ff:ff:ff:ff:ff", "255.255.255.255", 67),
            IpProto::UDP,
        )),
        kind: EventKind::Dhcp(Box::new(DhcpEvent {
            kind: "request",
            client_mac: Some(mac(m)),
            dhcp_type: Some("request"),
            version: 4,
            hostname: Some(host.into()),
            vendor_class_identifier: vc.map(str::to_string),
            params: vec![1, 3, 6, 15],
            ..DhcpEvent::default()
        })),
    }
}

fn dhcp_ack(t: i64, server: (&str, &str), m: &str, ip: &str) -> Event {
    Event {
        ts: ts(t),
        flow: Some(meta(
            (server.0, server.1, 67),
            ("ff:ff:ff:ff:ff:ff", "255.255.255.255", 68),
            IpProto::UDP,
        )),
        kind: EventKind::Dhcp(Box::new(DhcpEvent {
            kind: "reply",
            client_mac: Some(mac(m)),
            assigned_ip: Some(ip.parse().unwrap()),
            dhcp_type: Some("ack"),
            version: 4,
            ..DhcpEvent::default()
        })),
    }
}

fn inv() -> Inventory {
    Inventory::new(InventoryConfig::default(), Catalogue::load(None).unwrap())
}

fn run(inv: &mut Inventory, evs: &[Event]) -> Vec<Event> {
    let mut out = Vec::new();
    for e in evs {
        inv.observe(e, &mut out);
    }
    out
}

const PUMP: &str = "58:46:e1:00:00:01"; // Baxter International
const WS: &str = "98:e7:43:00:00:02"; // Dell
const DHCPD: &str = "00:50:56:00:00:03"; // VMware

#[test]
fn dhcp_lease_binds_ip_and_follows_a_move() {
    // The lease binds the IP to the client's MAC; a new lease moves it; hostname and
    // vendor class are kept with their source.
    let mut i = inv();
    run(
        &mut i,
        &[
            dhcp_request(0, PUMP, "PUMP-0001", None),
            dhcp_ack(1, (DHCPD, "10.0.0.2"), PUMP, "10.40.1.5"),
        ],
    );
    let d = i.get(PUMP).unwrap();
    assert_eq!(d.ip_list(), vec!["10.40.1.5"]);
    assert_eq!(d.ips[0].source, "dhcp");
    assert_eq!(d.best("hostname"), Some("PUMP-0001"));
    assert_eq!(d.vendor.as_deref(), Some("Baxter International"));
    assert_eq!(
        i.device_of_ip("10.40.1.5".parse().unwrap())
            .map(|d| d.id.as_str()),
        Some(PUMP)
    );
    // The server answered from 10.0.0.2: it is a DHCP server.
    let s = i.get(DHCPD).unwrap();
    assert!(s.attributes["role"]
        .iter()
        .any(|v| v.value == "dhcp_server"));
    // The IP moves to another MAC with a new lease.
    run(
        &mut i,
        &[dhcp_ack(50, (DHCPD, "10.0.0.2"), WS, "10.40.1.5")],
    );
    assert!(i.get(PUMP).unwrap().ips.is_empty());
    assert_eq!(
        i.device_of_ip("10.40.1.5".parse().unwrap())
            .map(|d| d.id.as_str()),
        Some(WS)
    );
}

#[test]
fn router_mac_gets_ip_records_for_hosts_behind_it() {
    // A MAC sourcing more than `router_ip_threshold` addresses is a router; hosts behind
    // it become `ip:` devices; public addresses are not tracked by default.
    let mut i = inv();
    let gw = "f4:bd:9e:00:00:01";
    let mut evs = Vec::new();
    for n in 0..12 {
        let ip = format!("10.99.0.{}", n + 1);
        evs.push(flow(n, (gw, &ip, 40000), (WS, "10.50.1.1", 443), true));
    }
    evs.push(flow(
        20,
        (gw, "192.0.2.7", 40000),
        (WS, "10.50.1.1", 443),
        true,
    ));
    run(&mut i, &evs);
    let r = i.get(gw).unwrap();
    assert!(r.router);
    assert_eq!(r.classification.class, "network_device");
    assert!(r.ips.is_empty(), "{:?}", r.ips);
    // Addresses seen after the switch are ip: devices; earlier ones re-appear as such
    // when they are seen again.
    assert!(i.get("ip:10.99.0.12").is_some());
    run(
        &mut i,
        &[flow(
            30,
            (gw, "10.99.0.1", 40001),
            (WS, "10.50.1.1", 443),
            true,
        )],
    );
    assert!(i.get("ip:10.99.0.1").is_some());
    assert!(i.get("ip:192.0.2.7").is_none());
    // The workstation answered on 443.
    let w = i.get(WS).unwrap();
    assert!(w.attributes["service"].iter().any(|v| v.value == "tcp/443"));
}

#[test]
fn unanswered_responder_gets_no_record() {
    // Only hosts that sent a frame are devices.
    let mut i = inv();
    run(
        &mut i,
        &[flow(
            0,
            (WS, "10.50.1.1", 40000),
            (PUMP, "10.40.1.5", 80),
            false,
        )],
    );
    assert!(i.get(WS).is_some());
    assert!(i.get(PUMP).is_none());
}

#[test]
fn classification_from_vendor_and_dhcp_os() {
    // OUI priors classify a pump; a Windows DHCP client on Dell hardware is a workstation,
    // with its OS derived by an os rule and kept as an attribute.
    let mut i = inv();
    run(
        &mut i,
        &[
            dhcp_request(0, PUMP, "PUMP-0001", None),
            dhcp_request(1, WS, "WS-0002", Some("MSFT 5.0")),
        ],
    );
    let p = i.get(PUMP).unwrap();
    assert_eq!(p.classification.class, "infusion_pump");
    assert_eq!(p.criticality, "high");
    assert!(p
        .classification
        .evidence
        .contains(&"vendor.baxter".to_string()));
    let w = i.get(WS).unwrap();
    assert_eq!(w.best("os"), Some("windows"));
    assert_eq!(w.classification.class, "clinical_workstation");
    assert!(w.classification.confidence > 0);
}

#[test]
fn derived_os_is_the_same_whatever_order_the_evidence_came_in() {
    // A device sends two DHCP vendor classes: BusyBox udhcp and Windows' MSFT 5.0. The
    // os rules rank MSFT first, so the derived OS is windows from os.dhcp.msft in either
    // order; the embedded_linux derived while only udhcp was known does not stay.
    let os_of = |first: &str, second: &str| {
        let mut i = inv();
        run(
            &mut i,
            &[
                dhcp_request(0, WS, "WS-0002", Some(first)),
                dhcp_request(1, WS, "WS-0002", Some(second)),
            ],
        );
        let d = i.get(WS).unwrap();
        let os: Vec<(String, String)> = d
            .attributes
            .get("os")
            .unwrap()
            .iter()
            .map(|v| (v.value.clone(), v.source.clone()))
            .collect();
        (os, d.classification.clone())
    };
    let (a, ca) = os_of("udhcp 1.36.1", "MSFT 5.0");
    let (b, cb) = os_of("MSFT 5.0", "udhcp 1.36.1");
    assert_eq!(a, vec![("windows".to_string(), "os.dhcp.msft".to_string())]);
    assert_eq!(a, b);
    assert_eq!(ca.class, cb.class);
    assert_eq!(ca.evidence, cb.evidence);
}

#[test]
fn device_events_on_first_sight_and_key_change() {
    // `new` once per device, `changed` naming the changed key attributes, nothing when
    // nothing changed.
    let mut i = inv();
    let out = run(&mut i, &[dhcp_request(0, WS, "WS-0002", None)]);
    let kinds: Vec<_> = out
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Device(d) => Some((d.id.clone(), d.change, d.changed.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec![(WS.to_string(), "new", vec![])]);
    let out = run(&mut i, &[dhcp_request(5, WS, "WS-0002", None)]);
    assert!(out.is_empty());
    let out = run(&mut i, &[dhcp_request(6, WS, "WS-0002", Some("MSFT 5.0"))]);
    let EventKind::Device(d) = &out[0].kind else {
        panic!("{out:?}")
    };
    assert_eq!(d.change, "changed");
    assert!(d.changed.contains(&"os"), "{:?}", d.changed);
    assert_eq!(d.class, "clinical_workstation");
}

#[test]
fn device_cap_evicts_longest_unseen() {
    // At the cap the least recently seen device goes, and the eviction is counted.
    let cfg = InventoryConfig {
        max_devices: 3,
        ..InventoryConfig::default()
    };
    let mut i = Inventory::new(cfg, Catalogue::load(None).unwrap());
    for n in 0..5 {
        let m = format!("00:00:5e:00:01:{n:02x}");
        run(&mut i, &[dhcp_request(n, &m, "h", None)]);
    }
    assert_eq!(i.len(), 3);
    assert_eq!(i.stats.evicted, 2);
    assert!(i.get("00:00:5e:00:01:00").is_none());
    assert!(i.get("00:00:5e:00:01:04").is_some());
    let (_, del) = i.take_changes();
    assert_eq!(del.len(), 2);
}

#[test]
fn strings_and_values_are_capped() {
    // A hostile hostname is cut and stripped of control characters; values per attribute
    // are bounded.
    let mut i = inv();
    let long = format!("A\u{7}{}", "é".repeat(500));
    let mut evs = vec![dhcp_request(0, WS, &long, None)];
    for n in 0..40 {
        evs.push(dhcp_request(n + 1, WS, &format!("name-{n}"), None));
    }
    run(&mut i, &evs);
    let d = i.get(WS).unwrap();
    let h = &d.attributes["hostname"];
    assert!(h.len() <= InventoryConfig::default().max_values_per_attribute);
    assert!(h
        .iter()
        .all(|v| v.value.len() <= 160 && !v.value.contains('\u{7}')));
}

#[test]
fn restore_continues_without_new_events() {
    // Devices restored from the store are not reported again as new.
    let mut a = inv();
    run(&mut a, &[dhcp_request(0, PUMP, "PUMP-0001", None)]);
    let (saved, _) = a.take_changes();
    let mut b = inv();
    b.restore(saved);
    let out = run(&mut b, &[dhcp_request(9, PUMP, "PUMP-0001", None)]);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(b.get(PUMP).unwrap().last_seen_us, ts(9).micros());
}

#[test]
fn mac_id_is_lowercase_colon_text() {
    // Device ids are the MAC's lowercase text, as before the allocation-free rewrite.
    let m = model::MacAddr([0x00, 0x09, 0xFB, 0xAB, 0xcd, 0xEF]);
    assert_eq!(super::mac_id(m), "00:09:fb:ab:cd:ef");
    assert_eq!(super::mac_id(m), m.to_string().to_ascii_lowercase());
}

#[test]
fn skipped_reclassification_equals_classifying_again() {
    // A value no rule pattern matches (added, or pushed out of a full list) skips
    // classification; after every step the class, OS and modality must equal what
    // classifying again gives, and values that match (or push a match out) must have
    // been classified at once.
    let cfg = InventoryConfig {
        max_values_per_attribute: 2,
        ..InventoryConfig::default()
    };
    let mut inv = Inventory::new(cfg, Catalogue::load(None).unwrap());
    let id = Key::mac(mac(WS));
    run(
        &mut inv,
        &[flow(
            0,
            (WS, "10.0.0.2", 50000),
            (PUMP, "10.0.0.1", 443),
            true,
        )],
    );
    // (user agent, expect a classification) in order; values compare by text when the
    // list of 2 is full: the greatest text is pushed out by a smaller newcomer.
    let steps: &[(&str, bool)] = &[
        ("curl/8.0", false),                                 // no pattern
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64)", true), // workstation, Windows
        ("agent-x", false),                                  // pushes out curl/8.0
        ("Acme Console 2", true),                            // the `unless` of workstation
        ("AAA", true),                                       // pushes out the Mozilla UA
    ];
    let facts = |inv: &Inventory| {
        let d = inv.get(WS).unwrap();
        let os: Vec<(String, String)> = d
            .attributes
            .get("os")
            .into_iter()
            .flatten()
            .map(|v| (v.value.clone(), v.source.clone()))
            .collect();
        (d.classification.clone(), d.modality.clone(), os)
    };
    let mut votes = Vec::new();
    for (i, (ua, expect)) in steps.iter().enumerate() {
        inv.touched.clear();
        inv.changed_attrs.clear();
        inv.reclassify.clear();
        inv.add_attr(&id, "user_agent", ua, "http", 70, ts(i as i64 + 1));
        assert_eq!(inv.reclassify.contains(&id), *expect, "step {i}: {ua}");
        inv.settle(ts(i as i64 + 1), &mut Vec::new());
        let before = facts(&inv);
        inv.classify(&id);
        assert_eq!(before, facts(&inv), "step {i}: {ua}");
        votes.push(before.0.evidence.iter().any(|r| r == "ua.browser"));
    }
    // The steps did move the votes: the browser rule votes once the Windows browser is
    // seen, and no longer once its `unless` matches.
    assert_eq!(votes, [false, true, true, false, false]);
}

proptest::proptest! {
    #[test]
    fn device_keys_order_and_parse_like_their_ids(
        a in proptest::array::uniform6(0u8..),
        b in proptest::array::uniform6(0u8..),
        v4 in proptest::array::uniform4(0u8..),
        v6 in proptest::array::uniform16(0u8..),
        pick in 0usize..3,
    ) {
        // Keys order as their text ids do (device events of one event come in id
        // order), and an id parses back to its key, only in its canonical form.
        let ip4 = Key::Ip(IpAddr::from(v4));
        let ip6 = Key::Ip(IpAddr::from(v6));
        let keys = [Key::mac(MacAddr(a)), Key::mac(MacAddr(b)), ip4, ip6];
        let x = keys[pick];
        for y in keys {
            proptest::prop_assert_eq!(cmp_keys(&x, &y), x.text().cmp(&y.text()));
        }
        for k in keys {
            proptest::prop_assert_eq!(Key::parse(&k.text()), Some(k));
        }
        let upper = keys[0].text().to_uppercase();
        if upper != keys[0].text() {
            proptest::prop_assert_eq!(Key::parse(&upper), None);
        }
        proptest::prop_assert_eq!(Key::parse("ip:10.0.0.01"), None);
        proptest::prop_assert_eq!(Key::parse("00:11:22:33:44"), None);
    }
}

fn hl7_msg(t: i64, dir: model::Direction, mt: &str) -> Event {
    let (snd, rcv) = match dir {
        model::Direction::ToServer => ("GW", "ENGINE"),
        model::Direction::ToClient => ("ENGINE", "GW"),
    };
    let mut h = model::hl7::Hl7Event::new(dir, "mllp");
    h.set(model::hl7::Hl7Text::SendingApplication, Some(snd));
    h.set(model::hl7::Hl7Text::SendingFacility, Some("GENHOSP"));
    h.set(model::hl7::Hl7Text::ReceivingApplication, Some(rcv));
    h.set(model::hl7::Hl7Text::MessageType, Some(mt));
    Event {
        ts: ts(t),
        flow: Some(meta(
            ("00:09:fb:00:00:10", "10.0.0.10", 40000),
            ("00:09:fb:00:00:20", "10.0.0.20", 2575),
            IpProto::TCP,
        )),
        kind: EventKind::Hl7(Box::new(h)),
    }
}

#[test]
fn hl7_header_facts_count_every_message() {
    // A feed's header facts are applied once and then counted per flow direction; the
    // records a checkpoint takes hold what applying every message leaves: each message
    // counted, first and last sight, whether or not a checkpoint came in between.
    let mut evs = Vec::new();
    for i in 0..30 {
        let mt = if i % 3 == 0 { "ORU^R01" } else { "ADT^A01" };
        evs.push(hl7_msg(2 * i, model::Direction::ToServer, mt));
        evs.push(hl7_msg(2 * i + 1, model::Direction::ToClient, "ACK^A01"));
    }
    let facts = |d: &Device, name: &str| -> Vec<(String, u64, i64, i64)> {
        d.attributes
            .get(name)
            .into_iter()
            .flatten()
            .filter(|v| v.source == "hl7")
            .map(|v| (v.value.clone(), v.count, v.first_seen_us, v.last_seen_us))
            .collect()
    };
    let us = |s: i64| ts(s).micros();
    let mut records = Vec::new();
    for mid in [None, Some(17), Some(1)] {
        let mut i = inv();
        for (k, e) in evs.iter().enumerate() {
            run(&mut i, std::slice::from_ref(e));
            if Some(k) == mid {
                let _ = i.take_changes();
            }
        }
        assert!(i.has_changes(), "counted sightings are a change");
        let (up, _) = i.take_changes();
        let gw = up.iter().find(|d| d.id == "00:09:fb:00:00:10").unwrap();
        let eng = up.iter().find(|d| d.id == "00:09:fb:00:00:20").unwrap();
        assert_eq!(
            facts(gw, "hl7_application"),
            vec![("GW".to_string(), 60, us(0), us(59))]
        );
        assert_eq!(
            facts(gw, "role"),
            vec![
                ("hl7_sender".to_string(), 30, us(0), us(58)),
                ("hl7_sender_oru".to_string(), 10, us(0), us(54)),
            ]
        );
        assert_eq!(
            facts(eng, "role"),
            vec![("hl7_receiver".to_string(), 30, us(0), us(58))]
        );
        assert_eq!(
            facts(eng, "hl7_facility"),
            vec![("GENHOSP".to_string(), 30, us(1), us(59))]
        );
        records.push(up);
    }
    assert_eq!(records[0], records[1]);
    assert_eq!(records[0], records[2]);
}

proptest::proptest! {
    #[test]
    fn full_value_lists_keep_the_best_whatever_the_order(
        picks in proptest::collection::vec((0usize..14, 1i64..100), 0..80),
        max in 1usize..5,
        reverse in proptest::bool::ANY,
    ) {
        // A full list keeps the `max` best values by (confidence, then text), each with
        // every sighting counted and its first/last time, in any arrival order: what a
        // plain model says (the update path's cached worst value and one-pass search
        // must not change it). A value's confidence and source depend on it alone.
        let vals = ["a", "b", "c", "d", "e", "f", "g", "h", " i ", "j\u{7}", "k", "ä", "m", "n"];
        let conf = |i: usize| [50u8, 60, 70][i % 3];
        let src = |i: usize| ["x", "y"][i % 2];
        let cfg = InventoryConfig { max_values_per_attribute: max, ..InventoryConfig::default() };
        let mut inv = Inventory::new(cfg, Catalogue::load(None).unwrap());
        let id = Key::mac(mac(WS));
        run(&mut inv, &[flow(0, (WS, "10.0.0.2", 50000), (PUMP, "10.0.0.1", 443), true)]);
        let mut order = picks.clone();
        if reverse {
            order.reverse();
        }
        for (i, t) in &order {
            inv.add_attr(&id, "hl7_device_id", vals[*i], src(*i), conf(*i), ts(*t));
        }
        // The model: stored text is trimmed and cleaned, then the best `max` are kept.
        // (confidence, text) -> (source, count, first, last)
        type Model = std::collections::BTreeMap<(std::cmp::Reverse<u8>, String), (String, u64, i64, i64)>;
        let mut model = Model::default();
        for (i, t) in &picks {
            let text = cap(vals[*i].trim(), 160);
            let e = model
                .entry((std::cmp::Reverse(conf(*i)), text))
                .or_insert((src(*i).to_string(), 0, i64::MAX, i64::MIN));
            e.1 += 1;
            e.2 = e.2.min(ts(*t).micros());
            e.3 = e.3.max(ts(*t).micros());
        }
        let want: Vec<(u8, String, String, u64, i64, i64)> = model
            .into_iter()
            .take(max)
            .map(|((c, v), (s, n, f, l))| (c.0, v, s, n, f, l))
            .collect();
        let d = inv.get(WS).unwrap();
        let mut got: Vec<(u8, String, String, u64, i64, i64)> = d
            .attributes
            .get("hl7_device_id")
            .into_iter()
            .flatten()
            .map(|v| (v.confidence, v.value.clone(), v.source.clone(), v.count, v.first_seen_us, v.last_seen_us))
            .collect();
        got.sort_by(|a, b| (std::cmp::Reverse(a.0), &a.1).cmp(&(std::cmp::Reverse(b.0), &b.1)));
        proptest::prop_assert_eq!(got, want);
    }

    #[test]
    fn is_clean_is_having_no_control_character(s in "(\\PC|[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]){0,24}") {
        // The byte-level fast path answers as the character-level definition.
        proptest::prop_assert_eq!(is_clean(&s), !s.chars().any(char::is_control));
    }

    #[test]
    fn adding_many_values_at_once_is_adding_each_in_turn(
        before in proptest::collection::vec((0usize..14, 1i64..100), 0..40),
        batch in proptest::collection::vec(0usize..14, 0..30),
        t in 1i64..100,
        max in 1usize..5,
        conf in proptest::sample::select(vec![50u8, 60, 70]),
    ) {
        // `add_attrs` (one lookup for a run of values that leave the list as it is, as an
        // HL7 gateway's relayed device ids do) leaves the records, the set of devices to
        // save and the change notes exactly as one `add_attr` per value in turn, on lists
        // full or not, with kept values of several confidences and sources.
        let vals = ["a", "b", "c", "d", "e", "f", "g", "h", " i ", "j\u{7}", "k", "ä", "m", ""];
        let conf_of = |i: usize| [50u8, 60, 70][i % 3];
        let src = |i: usize| ["hl7", "y"][i % 2];
        let cfg = InventoryConfig { max_values_per_attribute: max, ..InventoryConfig::default() };
        let id = Key::mac(mac(WS));
        let build = || {
            let mut inv = Inventory::new(cfg.clone(), Catalogue::load(None).unwrap());
            run(&mut inv, &[flow(0, (WS, "10.0.0.2", 50000), (PUMP, "10.0.0.1", 443), true)]);
            for (i, t) in &before {
                inv.add_attr(&id, Attr::Hl7DeviceId, vals[*i], src(*i), conf_of(*i), ts(*t));
            }
            inv.take_changed();
            inv.changed_attrs.clear();
            inv.reclassify.clear();
            inv
        };
        let (mut one, mut many) = (build(), build());
        for i in &batch {
            one.add_attr(&id, Attr::Hl7DeviceId, vals[*i], "hl7", conf, ts(t));
        }
        many.add_attrs(&id, Attr::Hl7DeviceId, batch.iter().map(|i| vals[*i]), "hl7", conf, ts(t));
        proptest::prop_assert_eq!(one.get(WS), many.get(WS));
        proptest::prop_assert_eq!(&one.changed_attrs, &many.changed_attrs);
        proptest::prop_assert_eq!(&one.reclassify, &many.reclassify);
        let (a, _) = one.take_changed();
        let a: Vec<String> = a.iter().map(|d| d.id.clone()).collect();
        let (b, _) = many.take_changed();
        let b: Vec<String> = b.iter().map(|d| d.id.clone()).collect();
        proptest::prop_assert_eq!(a, b);
    }
}

#[test]
fn best_value_does_not_depend_on_list_order() {
    // Two hostnames seen as often, as confidently and last at the same time: the same one
    // is the best whichever was listed first.
    let v = |name: &str| AttrValue {
        value: name.into(),
        source: "dhcp".into(),
        first_seen_us: 1,
        last_seen_us: 5,
        count: 2,
        confidence: 80,
    };
    let mut a = Device::default();
    a.attributes
        .insert("hostname".into(), vec![v("WS-A"), v("WS-B")]);
    let mut b = Device::default();
    b.attributes
        .insert("hostname".into(), vec![v("WS-B"), v("WS-A")]);
    assert_eq!(a.best("hostname"), b.best("hostname"));
}
