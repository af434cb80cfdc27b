//! DNS analyzer tests: exact decoding of known messages, compression, every truncation,
//! hostile names (loops, forward pointers, over-long names), DNS-SD facts, caps,
//! arbitrary bytes, and the saved fuzz inputs.

use super::analyzer::{decode, probe};
use super::event::*;
use super::*;
use model::{AnomalyCounts, Cx, Event, FlowKey, FlowMeta, IpProto, Timestamp};
use proptest::prelude::*;

fn meta(port: u16) -> FlowMeta {
    crate::testutil::flow_meta(
        IpProto::UDP,
        ("10.0.0.5", 40000),
        ("10.0.0.1", port),
        "t",
        "dns",
    )
}

/// Header: id, flags, then the four counts.
fn header(id: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [id, flags, qd, an, ns, ar] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b
}

/// A name in uncompressed labels.
fn name(n: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for l in n.split('.').filter(|l| !l.is_empty()) {
        b.push(l.len() as u8);
        b.extend_from_slice(l.as_bytes());
    }
    b.push(0);
    b
}

/// Type, class, TTL, rdlength, rdata after a record name.
fn rr(b: &mut Vec<u8>, t: u16, class: u16, ttl: u32, rdata: &[u8]) {
    b.extend_from_slice(&t.to_be_bytes());
    b.extend_from_slice(&class.to_be_bytes());
    b.extend_from_slice(&ttl.to_be_bytes());
    b.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    b.extend_from_slice(rdata);
}

/// Standard query for `www.example.com` A.
fn query() -> Vec<u8> {
    let mut b = header(0x1234, 0x0100, 1, 0, 0, 0); // id, RD, one question
    b.extend_from_slice(&name("www.example.com")); // qname at offset 12
    b.extend_from_slice(&[0, 1, 0, 1]); // qtype A, qclass IN
    b
}

/// Answer: CNAME to `web.example.com` (compressed), A and AAAA for it.
fn answer() -> Vec<u8> {
    let mut b = header(0x1234, 0x8180, 1, 3, 0, 0); // QR RD RA, NOERROR
    b.extend_from_slice(&name("www.example.com")); // 12: qname
    b.extend_from_slice(&[0, 1, 0, 1]); // A IN
    b.extend_from_slice(&[0xc0, 12]); // answer 1 owner: pointer to qname
    let mut cname = vec![3];
    cname.extend_from_slice(b"web");
    cname.extend_from_slice(&[0xc0, 16]); // "web" + pointer to "example.com"
    rr(&mut b, 5, 1, 300, &cname); // CNAME
    let web = b.len() - cname.len(); // offset of the CNAME target
    b.extend_from_slice(&[0xc0, web as u8]); // answer 2 owner: web.example.com
    rr(&mut b, 1, 1, 60, &[93, 184, 216, 34]); // A
    b.extend_from_slice(&[0xc0, web as u8]); // answer 3 owner
    rr(
        &mut b,
        28,
        1,
        60,
        &[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ); // AAAA
    b
}

fn dec(b: &[u8], mode: DnsMode) -> (Option<DnsEvent>, Vec<&'static str>) {
    let mut a = Vec::new();
    let ev = decode(&DnsConfig::default(), mode, b, &mut a);
    (ev, a)
}

fn run(mode: DnsMode, payloads: &[&[u8]]) -> (Vec<Event>, AnomalyCounts) {
    let m = meta(53);
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    let mut a = DnsAnalyzer::new(&DnsConfig::default(), mode);
    for p in payloads {
        model::DatagramAnalyzer::on_datagram(&mut a, &mut cx, model::Direction::ToServer, p);
    }
    (events, counts)
}

#[test]
fn query_decodes_exactly() {
    // A standard A query: header fields and the question.
    let (ev, an) = dec(&query(), DnsMode::Dns);
    let ev = ev.unwrap();
    assert!(an.is_empty());
    assert_eq!(ev.kind, "query");
    assert_eq!(ev.id, 0x1234);
    assert_eq!(ev.flags, "0100");
    assert!(ev.rd && !ev.qr && !ev.ra);
    assert_eq!(ev.rcode, "NOERROR");
    assert_eq!(ev.rrname.as_deref(), Some("www.example.com"));
    assert_eq!(ev.rrtype.as_deref(), Some("A"));
    assert_eq!(ev.queries.len(), 1);
    assert!(ev.answers.is_empty() && !ev.truncated && !ev.capped);
}

#[test]
fn answer_with_compression_decodes_exactly() {
    // CNAME, A and AAAA answers through compression pointers.
    let (ev, an) = dec(&answer(), DnsMode::Dns);
    let ev = ev.unwrap();
    assert!(an.is_empty(), "{an:?}");
    assert_eq!(ev.kind, "answer");
    assert!(ev.qr && ev.rd && ev.ra);
    let a: Vec<(&str, &str, u32, Option<&str>)> = ev
        .answers
        .iter()
        .map(|r| {
            (
                r.rrname.as_str(),
                r.rrtype.as_str(),
                r.ttl,
                r.rdata.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        a,
        vec![
            ("www.example.com", "CNAME", 300, Some("web.example.com")),
            ("web.example.com", "A", 60, Some("93.184.216.34")),
            ("web.example.com", "AAAA", 60, Some("2001:db8::1")),
        ]
    );
}

#[test]
fn answer_truncated_at_every_len() {
    // Every prefix: below a plausible header it is not DNS; past it the records read so far
    // are kept and the message is flagged truncated with a named anomaly; never a panic.
    let full = answer();
    let mut saw_partial = false;
    for n in 0..full.len() {
        let (ev, an) = dec(&full[..n], DnsMode::Dns);
        match ev {
            None => {
                let (events, counts) = run(DnsMode::Dns, &[&full[..n]]);
                assert_eq!(events.len(), 1, "len {n}");
                assert_eq!(counts.sorted(), vec![("dns", MALFORMED_MESSAGE, 1)]);
            }
            Some(ev) => {
                assert!(ev.truncated, "len {n}");
                assert!(an.contains(&TRUNCATED_RECORDS), "len {n}: {an:?}");
                assert!(ev.answers.len() < 3);
                saw_partial |= !ev.answers.is_empty();
            }
        }
    }
    assert!(saw_partial);
    assert!(!dec(&full, DnsMode::Dns).0.unwrap().truncated);
}

#[test]
fn compression_loop_is_refused() {
    // A pointer to itself in the answer section ends the walk with compression_loop.
    let mut b = header(1, 0x8180, 1, 1, 0, 0);
    b.extend_from_slice(&name("a.example")); // 12: question
    b.extend_from_slice(&[0, 1, 0, 1]);
    let at = b.len();
    b.extend_from_slice(&[0xc0, at as u8]); // owner: pointer to itself
    rr(&mut b, 1, 1, 1, &[1, 2, 3, 4]);
    let (ev, an) = dec(&b, DnsMode::Dns);
    let ev = ev.unwrap();
    assert!(ev.truncated && ev.answers.is_empty());
    assert_eq!(an, vec![COMPRESSION_LOOP]);
    // Two pointers pointing at each other: also refused.
    let mut b = header(1, 0x8180, 1, 1, 0, 0);
    b.extend_from_slice(&[0xc0, 14, 0xc0, 12]); // 12 -> 14 (forward) -> 12
    b.extend_from_slice(&[0, 1, 0, 1]);
    assert!(!probe(&b));
}

#[test]
fn name_over_255_bytes_is_flagged_and_walked() {
    // Five 63-byte labels (320 bytes) exceed RFC 1035's name limit: flagged, cut at the
    // cap, and the record after it still read.
    let mut b = header(1, 0x8180, 1, 1, 0, 0);
    b.extend_from_slice(&name("q.example"));
    b.extend_from_slice(&[0, 1, 0, 1]);
    for _ in 0..5 {
        b.push(63);
        b.extend_from_slice(&[b'x'; 63]);
    }
    b.push(0);
    rr(&mut b, 1, 1, 1, &[1, 2, 3, 4]);
    let (ev, an) = dec(&b, DnsMode::Dns);
    let ev = ev.unwrap();
    assert!(!ev.truncated && ev.capped);
    assert_eq!(ev.answers[0].rrname.len(), 255);
    assert_eq!(ev.answers[0].rdata.as_deref(), Some("1.2.3.4"));
    assert_eq!(an, vec![NAME_TOO_LONG]);
}

#[test]
fn reserved_label_type_is_refused() {
    // A 0x40 label type in a record is bad_label.
    let mut b = header(1, 0x8180, 1, 1, 0, 0);
    b.extend_from_slice(&name("q.example"));
    b.extend_from_slice(&[0, 1, 0, 1]);
    b.extend_from_slice(&[0x41, b'x', 0]);
    rr(&mut b, 1, 1, 1, &[1, 2, 3, 4]);
    assert_eq!(dec(&b, DnsMode::Dns).1, vec![BAD_LABEL]);
}

/// An mDNS response from a printer: PTR, SRV, TXT and A.
fn mdns_printer() -> Vec<u8> {
    let mut b = header(0, 0x8400, 0, 4, 0, 0); // QR AA, four answers
    b.extend_from_slice(&name("_ipp._tcp.local")); // 12: PTR owner
    let mut inst = vec![9];
    inst.extend_from_slice(b"Printer 3");
    inst.extend_from_slice(&[0xc0, 12]); // "Printer 3" + pointer to _ipp._tcp.local
    rr(&mut b, 12, 1, 4500, &inst);
    let inst_at = b.len() - inst.len();
    b.extend_from_slice(&[0xc0, inst_at as u8]); // SRV owner: the instance
    let mut srv = vec![0, 0, 0, 0, 0x02, 0x77]; // priority 0, weight 0, port 631
    srv.extend_from_slice(&name("prn3.local"));
    rr(&mut b, 33, 0x8001, 120, &srv); // class IN with cache-flush
    let host_at = b.len() - srv.len() + 6;
    b.extend_from_slice(&[0xc0, inst_at as u8]); // TXT owner: the instance
    let mut txt = Vec::new();
    for s in [
        "txtvers=1",
        "ty=HP LaserJet M507",
        "product=(HP LaserJet M507)",
        "note=",
    ] {
        txt.push(s.len() as u8);
        txt.extend_from_slice(s.as_bytes());
    }
    rr(&mut b, 16, 0x8001, 4500, &txt);
    b.extend_from_slice(&[0xc0, host_at as u8]); // A owner: prn3.local
    rr(&mut b, 1, 0x8001, 120, &[10, 0, 0, 33]);
    b
}

#[test]
fn mdns_printer_gives_dnssd_facts() {
    // Service type, instance, host name and device TXT keys are extracted.
    let (ev, an) = dec(&mdns_printer(), DnsMode::Mdns);
    let ev = ev.unwrap();
    assert!(an.is_empty(), "{an:?}");
    assert_eq!(ev.services, vec!["_ipp._tcp.local".to_string()]);
    assert_eq!(ev.instances, vec!["Printer 3._ipp._tcp.local".to_string()]);
    assert_eq!(ev.hostnames, vec!["prn3.local".to_string()]);
    assert_eq!(
        ev.device.get("ty").map(String::as_str),
        Some("HP LaserJet M507")
    );
    assert_eq!(
        ev.device.get("product").map(String::as_str),
        Some("(HP LaserJet M507)")
    );
    assert_eq!(ev.device.len(), 2);
    let srv = ev.answers[1].srv.as_ref().unwrap();
    assert_eq!((srv.port, srv.name.as_str()), (631, "prn3.local"));
    assert_eq!(ev.answers[2].txt.len(), 4);
    // Plain DNS mode does not mine DNS-SD facts.
    assert!(dec(&mdns_printer(), DnsMode::Dns)
        .0
        .unwrap()
        .services
        .is_empty());
}

#[test]
fn mdns_event_type_follows_mode() {
    // The mdns mode writes event_type mdns; dns and llmnr write dns.
    for (mode, want) in [
        (DnsMode::Mdns, "mdns"),
        (DnsMode::Dns, "dns"),
        (DnsMode::Llmnr, "dns"),
    ] {
        let (events, _) = run(mode, &[&mdns_printer()]);
        let v = events[0].to_eve_value("s");
        assert_eq!(v["event_type"], want);
        assert_eq!(v[want]["type"], "answer");
    }
}

#[test]
fn service_enumeration_and_browse_query() {
    // `_services._dns-sd._udp` PTRs name service types; a browse question names one too.
    let mut b = header(0, 0x0000, 1, 1, 0, 0); // query with a known answer
    b.extend_from_slice(&name("_airplay._tcp.local")); // question
    b.extend_from_slice(&[0, 12, 0x80, 1]); // PTR, QU bit
    b.extend_from_slice(&name("_services._dns-sd._udp.local"));
    rr(&mut b, 12, 1, 10, &name("_hl7._tcp.local"));
    let ev = dec(&b, DnsMode::Mdns).0.unwrap();
    assert_eq!(
        ev.services,
        vec![
            "_airplay._tcp.local".to_string(),
            "_hl7._tcp.local".to_string()
        ]
    );
    assert!(ev.instances.is_empty());
}

#[test]
fn nbns_names_are_first_level_decoded() {
    // On UDP 137 a NetBIOS name query shows the decoded name and suffix, and NB answers
    // their address; NBSTAT (33) is not read as SRV.
    let encode = |n: &str, suffix: u8| -> Vec<u8> {
        let mut raw = format!("{n:<15}").into_bytes();
        raw.push(suffix);
        let mut b = vec![32];
        for c in raw {
            b.push(b'A' + (c >> 4));
            b.push(b'A' + (c & 0x0f));
        }
        b.push(0);
        b
    };
    let mut q = header(0x8a51, 0x0110, 1, 0, 0, 0); // query, RD, broadcast
    q.extend_from_slice(&encode("ISATAP", 0x00));
    q.extend_from_slice(&[0, 32, 0, 1]); // NB IN
    let mut r = header(0x8a51, 0x8500, 0, 2, 0, 0); // response, AA, RD
    r.extend_from_slice(&encode("PUMPSRV01", 0x20));
    rr(&mut r, 32, 1, 300, &[0x00, 0x00, 10, 1, 2, 3]); // NB: flags, 10.1.2.3
    r.extend_from_slice(&[0xc0, 12]);
    rr(&mut r, 33, 1, 0, &[1, 2, 3]); // NBSTAT (opaque here)
    let m = FlowMeta {
        key: FlowKey {
            dst_port: 137,
            ..meta(137).key
        },
        ..meta(137)
    };
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    let mut a = DnsAnalyzer::new(&DnsConfig::default(), DnsMode::Dns);
    model::DatagramAnalyzer::on_datagram(&mut a, &mut cx, model::Direction::ToServer, &q);
    model::DatagramAnalyzer::on_datagram(&mut a, &mut cx, model::Direction::ToClient, &r);
    assert_eq!(counts.total(), 0, "{:?}", counts.sorted());
    let q = events[0].to_eve_value("s");
    assert_eq!(q["event_type"], "dns");
    assert_eq!(q["dns"]["rrname"], "ISATAP<00>");
    assert_eq!(q["dns"]["rrtype"], "NB");
    let r = events[1].to_eve_value("s");
    assert_eq!(r["dns"]["answers"][0]["rrname"], "PUMPSRV01<20>");
    assert_eq!(r["dns"]["answers"][0]["rdata"], "10.1.2.3");
    assert_eq!(r["dns"]["answers"][1]["rrtype"], "NBSTAT");
    assert!(r["dns"]["answers"][1]["srv"].is_null());
}

#[test]
fn oversized_txt_and_records_are_capped() {
    // TXT strings past their count and length caps, and records past max_records, are cut.
    let cfg = DnsConfig {
        max_txt_strings: 2,
        max_txt_bytes: 4,
        max_records: 2,
        ..Default::default()
    };
    let mut b = header(0, 0x8400, 0, 3, 0, 0);
    b.extend_from_slice(&name("x.local"));
    let mut txt = Vec::new();
    for s in ["model=ABCDEFG", "b=1", "c=2"] {
        txt.push(s.len() as u8);
        txt.extend_from_slice(s.as_bytes());
    }
    rr(&mut b, 16, 1, 1, &txt);
    for _ in 0..2 {
        b.extend_from_slice(&[0xc0, 12]);
        rr(&mut b, 1, 1, 1, &[1, 2, 3, 4]);
    }
    let mut an = Vec::new();
    let ev = decode(&cfg, DnsMode::Mdns, &b, &mut an).unwrap();
    assert_eq!(ev.answers.len(), 2);
    assert_eq!(
        ev.answers[0].txt,
        vec!["mode".to_string(), "b=1".to_string()]
    );
    assert!(ev.capped && !ev.truncated);
    assert_eq!(an, vec![TOO_MANY_RECORDS]);
}

#[test]
fn txt_length_past_data_is_malformed_txt() {
    // A TXT string length running past its record keeps the strings before.
    let mut b = header(0, 0x8400, 0, 1, 0, 0);
    b.extend_from_slice(&name("x.local"));
    rr(&mut b, 16, 1, 1, &[3, b'a', b'=', b'1', 9, b'x']);
    let (ev, an) = dec(&b, DnsMode::Mdns);
    assert_eq!(ev.unwrap().answers[0].txt, vec!["a=1".to_string()]);
    assert_eq!(an, vec![MALFORMED_TXT]);
}

#[test]
fn probe_refuses_other_protocols() {
    // SSDP, HTTP, a DHCP header, short and empty datagrams are not DNS; DNS is.
    for b in [
        &b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n"[..],
        b"NOTIFY * HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
        &[1, 1, 6, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0][..],
        b"",
        &[0; 12][..],
    ] {
        assert!(!probe(b), "{b:?}");
        assert_eq!(
            probe_dns(model::Direction::ToServer, b),
            model::Probe::NoMatch
        );
    }
    assert!(probe(&query()) && probe(&answer()) && probe(&mdns_printer()));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        // Arbitrary datagrams: no panic, bounded events, lists within caps.
        let (events, _) = run(DnsMode::Mdns, &[&b]);
        prop_assert!(events.len() <= 8);
        if let (Some(ev), _) = dec(&b, DnsMode::Mdns) {
            let n = ev.queries.len() + ev.answers.len() + ev.authorities.len()
                + ev.additionals.len();
            prop_assert!(n <= 64);
            prop_assert!(ev.services.len() <= 32 && ev.instances.len() <= 32);
        }
    }

    #[test]
    fn arbitrary_records_after_valid_question(r in proptest::collection::vec(any::<u8>(), 0..300), an in 0u16..20) {
        // Arbitrary record bytes behind a valid question: no panic, and a partial walk is
        // always explained by a named anomaly.
        let mut b = header(7, 0x8180, 1, an, 0, 0);
        b.extend_from_slice(&name("a.b"));
        b.extend_from_slice(&[0, 1, 0, 1]);
        b.extend_from_slice(&r);
        if let (Some(ev), anomalies) = dec(&b, DnsMode::Dns) {
            let walk_errors = [TRUNCATED_RECORDS, COMPRESSION_LOOP, BAD_LABEL];
            prop_assert!(!ev.truncated || anomalies.iter().any(|a| walk_errors.contains(a)));
        }
    }
}

#[test]
fn fuzz_regressions_replay_without_panic() {
    // Inputs saved under fuzz/regressions/dns/ decode without panic in every mode.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/dns");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let b = std::fs::read(e.unwrap().path()).unwrap();
        for mode in [DnsMode::Dns, DnsMode::Mdns, DnsMode::Llmnr] {
            let _ = run(mode, &[&b]);
        }
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}
