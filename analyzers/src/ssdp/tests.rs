//! SSDP analyzer tests: exact decoding of NOTIFY, M-SEARCH and responses, every
//! truncation, caps, probe refusals, arbitrary bytes, and the saved fuzz inputs.

use super::analyzer::{decode, probe};
use super::event::*;
use super::*;
use model::{AnomalyCounts, Cx, Event, FlowMeta, IpProto, Timestamp};
use proptest::prelude::*;

fn meta() -> FlowMeta {
    crate::testutil::flow_meta(
        IpProto::UDP,
        ("10.0.0.7", 1900),
        ("239.255.255.250", 1900),
        "t",
        "ssdp",
    )
}

const NOTIFY: &[u8] = b"NOTIFY * HTTP/1.1\r\n\
HOST: 239.255.255.250:1900\r\n\
CACHE-CONTROL: max-age=1800\r\n\
LOCATION: http://10.0.0.7:49152/desc.xml\r\n\
NT: urn:schemas-upnp-org:device:MediaServer:1\r\n\
NTS: ssdp:alive\r\n\
Server: Linux/4.9 UPnP/1.0 GE-Carescape/2.1\r\n\
USN: uuid:1234::urn:schemas-upnp-org:device:MediaServer:1\r\n\
\r\n";

const MSEARCH: &[u8] = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\nUSER-AGENT: Chromium/99 Mac OS X UPnP/1.1\r\n\r\n";

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: upnp:rootdevice\r\nUSN: uuid:abcd::upnp:rootdevice\r\nLOCATION: http://10.0.0.9/r.xml\r\nSERVER: Printer/1.0 UPnP/1.0\r\n\r\n";

fn dec(b: &[u8]) -> (Option<SsdpEvent>, Vec<&'static str>) {
    let mut a = Vec::new();
    (decode(&SsdpConfig::default(), b, &mut a), a)
}

fn run(payloads: &[&[u8]]) -> (Vec<Event>, AnomalyCounts) {
    let m = meta();
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    let mut a = SsdpAnalyzer::new(&SsdpConfig::default());
    for p in payloads {
        model::DatagramAnalyzer::on_datagram(&mut a, &mut cx, model::Direction::ToServer, p);
    }
    (events, counts)
}

#[test]
fn notify_decodes_exactly() {
    // A NOTIFY: method and the identifying headers, names matched case-insensitively.
    let (ev, an) = dec(NOTIFY);
    let ev = ev.unwrap();
    assert!(an.is_empty());
    assert_eq!(ev.kind, "request");
    assert_eq!(ev.method.as_deref(), Some("NOTIFY"));
    assert_eq!(
        ev.server.as_deref(),
        Some("Linux/4.9 UPnP/1.0 GE-Carescape/2.1")
    );
    assert_eq!(
        ev.nt.as_deref(),
        Some("urn:schemas-upnp-org:device:MediaServer:1")
    );
    assert_eq!(ev.nts.as_deref(), Some("ssdp:alive"));
    assert_eq!(
        ev.location.as_deref(),
        Some("http://10.0.0.7:49152/desc.xml")
    );
    assert_eq!(
        ev.usn.as_deref(),
        Some("uuid:1234::urn:schemas-upnp-org:device:MediaServer:1")
    );
    assert!(!ev.truncated && !ev.capped && ev.st.is_none() && ev.status.is_none());
}

#[test]
fn msearch_and_response_decode() {
    // M-SEARCH gives ST and USER-AGENT; a search response gives status, ST, USN, SERVER.
    let ev = dec(MSEARCH).0.unwrap();
    assert_eq!(ev.method.as_deref(), Some("M-SEARCH"));
    assert_eq!(ev.st.as_deref(), Some("ssdp:all"));
    assert_eq!(
        ev.user_agent.as_deref(),
        Some("Chromium/99 Mac OS X UPnP/1.1")
    );
    let ev = dec(RESPONSE).0.unwrap();
    assert_eq!(ev.kind, "response");
    assert_eq!(ev.status, Some(200));
    assert_eq!(ev.usn.as_deref(), Some("uuid:abcd::upnp:rootdevice"));
    assert_eq!(ev.server.as_deref(), Some("Printer/1.0 UPnP/1.0"));
    let v = run(&[RESPONSE]).0[0].to_eve_value("s");
    assert_eq!(v["event_type"], "ssdp");
    assert_eq!(v["ssdp"]["st"], "upnp:rootdevice");
}

#[test]
fn notify_truncated_at_every_len() {
    // Every prefix: before a whole start line it is not SSDP; after it the headers read so
    // far are kept and the cut is flagged (malformed_headers); never a panic.
    for n in 0..NOTIFY.len() {
        let (ev, an) = dec(&NOTIFY[..n]);
        match ev {
            None => assert!(n < 20, "len {n}"),
            Some(ev) => {
                assert!(ev.truncated, "len {n}");
                assert_eq!(an, vec![MALFORMED_HEADERS], "len {n}");
            }
        }
    }
    assert!(!dec(NOTIFY).0.unwrap().truncated);
}

#[test]
fn values_and_header_count_are_capped() {
    // A value past max_value_bytes is cut; header lines past max_headers are skipped.
    let cfg = SsdpConfig {
        max_value_bytes: 5,
        max_headers: 3,
        ..Default::default()
    };
    let mut a = Vec::new();
    let ev = decode(&cfg, NOTIFY, &mut a).unwrap();
    assert_eq!(ev.location.as_deref(), Some("http:"));
    assert!(ev.capped && ev.usn.is_none());
    assert_eq!(a, vec![TOO_MANY_HEADERS]);
}

#[test]
fn probe_refuses_other_protocols() {
    // DNS, plain HTTP responses without USN/ST, other methods and empty datagrams are not
    // SSDP.
    for b in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"NOTIFY /x HTTP/1.1\r\n\r\n",
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",
        b"",
    ] {
        assert!(!probe(b), "{b:?}");
    }
    assert!(probe(NOTIFY) && probe(MSEARCH) && probe(RESPONSE));
    assert_eq!(
        run(&[b"garbage"]).1.sorted(),
        vec![("ssdp", MALFORMED_MESSAGE, 1)]
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..400)) {
        // Arbitrary datagrams: no panic, at most one event plus two anomalies.
        let (events, _) = run(&[&b]);
        prop_assert!(events.len() <= 3);
    }

    #[test]
    fn arbitrary_headers_after_notify(h in proptest::collection::vec(any::<u8>(), 0..400)) {
        // Arbitrary header bytes after a valid start line always decode, values capped.
        let mut b = b"NOTIFY * HTTP/1.1\r\n".to_vec();
        b.extend_from_slice(&h);
        let ev = dec(&b).0.unwrap();
        for v in [&ev.server, &ev.usn, &ev.nt, &ev.location].into_iter().flatten() {
            prop_assert!(v.len() <= 256 * 3);
        }
    }
}

#[test]
fn fuzz_regressions_replay_without_panic() {
    // Inputs saved under fuzz/regressions/ssdp/ decode without panic.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/ssdp");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let b = std::fs::read(e.unwrap().path()).unwrap();
        let _ = run(&[&b]);
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}
