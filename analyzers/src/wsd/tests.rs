//! WS-Discovery tests: exact decoding of Hello, ProbeMatches and a header-less Hello, the
//! tokenizer on awkward XML, every truncation, caps, probe refusals, arbitrary bytes.

use super::analyzer::{decode, probe};
use super::event::*;
use super::wire::{scan, unescape, Token};
use super::*;
use model::{AnomalyCounts, Cx, Event, FlowMeta, IpProto, Timestamp};
use proptest::prelude::*;

fn meta() -> FlowMeta {
    crate::testutil::flow_meta(
        IpProto::UDP,
        ("10.0.0.21", 3702),
        ("239.255.255.250", 3702),
        "t",
        "wsd",
    )
}

const HELLO: &[u8] = br#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof">
<soap:Header>
<wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>
<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</wsa:Action>
<wsa:MessageID>urn:uuid:0001</wsa:MessageID>
<wsd:AppSequence InstanceId="1" MessageNumber="1"/>
</soap:Header>
<soap:Body><wsd:Hello>
<wsa:EndpointReference><wsa:Address>urn:uuid:dev-1</wsa:Address></wsa:EndpointReference>
<wsd:Types>wsdp:Device  pub:Computer</wsd:Types>
<wsd:Scopes>ldap:///ou=ICU,o=Hospital http://example.org/a&amp;b</wsd:Scopes>
<wsd:XAddrs>http://10.0.0.21:5357/dev-1/</wsd:XAddrs>
<wsd:MetadataVersion>7</wsd:MetadataVersion>
</wsd:Hello></soap:Body></soap:Envelope>"#;

const MATCHES: &[u8] = br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:d="http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01"><s:Header><a:Action>http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/ProbeMatches</a:Action><a:RelatesTo>urn:uuid:probe-9</a:RelatesTo><a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:printer</a:Address></a:EndpointReference><d:Types>wprt:PrintDeviceType</d:Types></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"#;

fn dec(b: &[u8]) -> (WsdEvent, Vec<&'static str>) {
    let mut a = Vec::new();
    (decode(&WsdConfig::default(), b, &mut a), a)
}

#[test]
fn wsd_hello_decodes_exactly() {
    // A 2005/04 Hello: action, ids, endpoint, types, scopes (entity decoded), xaddrs.
    let (ev, an) = dec(HELLO);
    assert!(an.is_empty(), "{an:?}");
    assert_eq!(ev.action.as_deref(), Some("Hello"));
    assert_eq!(ev.message_id.as_deref(), Some("urn:uuid:0001"));
    assert_eq!(ev.endpoint_address.as_deref(), Some("urn:uuid:dev-1"));
    assert_eq!(ev.types, ["wsdp:Device", "pub:Computer"]);
    assert_eq!(
        ev.scopes,
        ["ldap:///ou=ICU,o=Hospital", "http://example.org/a&b"]
    );
    assert_eq!(ev.xaddrs, ["http://10.0.0.21:5357/dev-1/"]);
    assert_eq!(ev.metadata_version, Some(7));
    assert!(!ev.truncated && !ev.capped);
}

#[test]
fn wsd_probe_matches_endpoint_not_reply_to() {
    // WS-Discovery 1.1 ProbeMatches: the endpoint address is the match's, not ReplyTo's.
    let (ev, an) = dec(MATCHES);
    assert!(an.is_empty());
    assert_eq!(ev.action.as_deref(), Some("ProbeMatches"));
    assert_eq!(ev.relates_to.as_deref(), Some("urn:uuid:probe-9"));
    assert_eq!(ev.endpoint_address.as_deref(), Some("urn:uuid:printer"));
    assert_eq!(ev.types, ["wprt:PrintDeviceType"]);
}

#[test]
fn wsd_action_from_body_when_no_header() {
    // No Action header (as some devices send): the Body's first element names it.
    let b = br#"<e:Envelope xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><e:Header/><e:Body><d:Bye><d:Types>x:Y</d:Types></d:Bye></e:Body></e:Envelope>"#;
    let (ev, _) = dec(b);
    assert_eq!(ev.action.as_deref(), Some("Bye"));
    assert_eq!(ev.types, ["x:Y"]);
}

#[test]
fn wsd_truncated_at_every_len() {
    // Every prefix of the Hello: no panic, truncated (named anomaly) until the end tag.
    for n in 0..HELLO.len() {
        let (ev, an) = dec(&HELLO[..n]);
        assert!(ev.truncated, "prefix {n}");
        assert_eq!(an, [TRUNCATED_XML], "prefix {n}");
    }
}

#[test]
fn wsd_caps_strings_lists_and_tokens() {
    // max_string_bytes, max_list_items and max_xml_tokens each cut and flag.
    let cfg = WsdConfig {
        max_string_bytes: 5,
        max_list_items: 1,
        ..Default::default()
    };
    let ev = decode(&cfg, HELLO, &mut Vec::new());
    assert_eq!(ev.types, ["wsdp:"]);
    assert_eq!(ev.scopes.len(), 1);
    assert!(ev.capped);
    let cfg = WsdConfig {
        max_xml_tokens: 10,
        ..Default::default()
    };
    let mut an = Vec::new();
    let ev = decode(&cfg, HELLO, &mut an);
    assert!(ev.capped);
    assert_eq!(an, [TOO_MANY_ELEMENTS]);
}

#[test]
fn wsd_tokenizer_quotes_comments_cdata() {
    // '>' inside an attribute value, comments, CDATA and self-closing tags.
    let mut toks = Vec::new();
    let end = scan(
        b"<a x='1>2'><!-- <b> --><c/><![CDATA[<t>]]></a>",
        100,
        |t| toks.push(t),
    );
    assert!(!end.truncated && !end.capped);
    assert_eq!(
        toks,
        [
            Token::Start(b"a"),
            Token::Start(b"c"),
            Token::End(b"c"),
            Token::Text(b"<t>"),
            Token::End(b"a"),
        ]
    );
    assert_eq!(unescape(b"a&lt;b&#65;&#x42;&bogus;&"), "a<bAB&bogus;&");
}

#[test]
fn wsd_probe_refuses_ssdp_and_plain_xml() {
    // SSDP, XML without a discovery namespace, and binary are not WS-Discovery.
    assert!(probe(HELLO));
    assert!(probe(MATCHES));
    assert!(!probe(b"NOTIFY * HTTP/1.1\r\n\r\n"));
    assert!(!probe(b"<Envelope xmlns='urn:other'/>"));
    assert!(!probe(&[0u8; 40]));
}

#[test]
fn wsd_analyzer_emits_and_flags_non_wsd() {
    // Through the datagram interface: one wsd event; a non-WS-Discovery datagram on the
    // flow is malformed_message.
    let m = meta();
    let mut events: Vec<Event> = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    let mut a = WsdAnalyzer::new(&WsdConfig::default());
    model::DatagramAnalyzer::on_datagram(&mut a, &mut cx, model::Direction::ToServer, HELLO);
    model::DatagramAnalyzer::on_datagram(&mut a, &mut cx, model::Direction::ToServer, b"junk");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].kind.event_type(), "wsd");
    assert_eq!(crate::testutil::anomaly_codes(&events), [MALFORMED_MESSAGE]);
}

proptest! {
    #[test]
    fn wsd_arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..800)) {
        // Arbitrary bytes (and bytes after a valid prefix): no panic, lists bounded.
        let cfg = WsdConfig::default();
        let (ev, _) = dec(&b);
        prop_assert!(ev.types.len() <= cfg.max_list_items);
        let mut v = HELLO[..300].to_vec();
        v.extend_from_slice(&b);
        let (ev, _) = dec(&v);
        prop_assert!(ev.scopes.len() <= cfg.max_list_items);
    }
}

#[test]
fn fuzz_regressions_replay_without_panic() {
    // Inputs saved under fuzz/regressions/wsd/ decode deterministically within caps.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/wsd");
    let cfg = WsdConfig {
        max_string_bytes: 16,
        max_list_items: 2,
        max_xml_tokens: 64,
        ..Default::default()
    };
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        let ev = decode(&cfg, &data, &mut Vec::new());
        assert_eq!(ev, decode(&cfg, &data, &mut Vec::new()));
        assert!(ev.types.len() <= 2);
        let _ = unescape(&data);
        n += 1;
    }
    assert!(n >= 3);
}
