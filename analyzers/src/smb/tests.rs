//! SMB analyzer tests: exact decoding of SMB1 and SMB2 NEGOTIATE requests and responses,
//! pairing into one event (multi-protocol negotiate included), every truncation, caps,
//! gaps, probe answers, arbitrary bytes, and the saved fuzz inputs.

use super::event::*;
use super::wire::{self, Message, WireError};
use super::*;
use crate::testutil::{anomaly_codes, assert_incremental, flow_meta, run_stream};
use model::{Direction, FlowMeta, IpProto};
use proptest::prelude::*;
use serde_json::Value;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn meta() -> FlowMeta {
    flow_meta(
        IpProto::TCP,
        ("10.0.0.5", 49152),
        ("10.0.0.9", 445),
        "t",
        "smb",
    )
}

/// A NetBIOS session message around `msg`.
fn nb(msg: &[u8]) -> Vec<u8> {
    let n = msg.len() as u32;
    let mut v = vec![0x00, (n >> 16) as u8, (n >> 8) as u8, n as u8]; // type 0, 24-bit length
    v.extend_from_slice(msg);
    v
}

/// SMB1 header with `command` and `flags`.
fn smb1_header(command: u8, flags: u8) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(b"\xffSMB"); // protocol
    h.push(command); // command
    h.extend_from_slice(&[0; 4]); // status
    h.push(flags); // flags (0x80: reply)
    h.extend_from_slice(&[0x01, 0xc8]); // flags2
    h.extend_from_slice(&[0; 2]); // PID high
    h.extend_from_slice(&[0; 8]); // security features
    h.extend_from_slice(&[0; 2]); // reserved
    h.extend_from_slice(&[0; 2]); // TID
    h.extend_from_slice(&[0xff, 0xfe]); // PID low
    h.extend_from_slice(&[0; 2]); // UID
    h.extend_from_slice(&[0; 2]); // MID
    assert_eq!(h.len(), 32);
    h
}

/// SMB1 NEGOTIATE request offering `dialects`.
fn smb1_request(dialects: &[&str]) -> Vec<u8> {
    let mut m = smb1_header(0x72, 0x18);
    m.push(0); // WordCount 0
    let mut bytes = Vec::new();
    for d in dialects {
        bytes.push(0x02); // BufferFormat: dialect
        bytes.extend_from_slice(d.as_bytes()); // dialect string
        bytes.push(0); // NUL
    }
    m.extend_from_slice(&(bytes.len() as u16).to_le_bytes()); // ByteCount
    m.extend_from_slice(&bytes);
    m
}

/// SMB1 NT LM 0.12 NEGOTIATE response choosing `index` with `security_mode`.
fn smb1_response(index: u16, security_mode: u8) -> Vec<u8> {
    let mut m = smb1_header(0x72, 0x98);
    m.push(17); // WordCount 17 (NT LM 0.12)
    m.extend_from_slice(&index.to_le_bytes()); // DialectIndex
    m.push(security_mode); // SecurityMode (0x08: signatures required)
    m.extend_from_slice(&[0; 31]); // MaxMpxCount .. ChallengeLength
    m.extend_from_slice(&[0, 0]); // ByteCount 0
    m
}

/// SMB2 header for NEGOTIATE; `response` sets SERVER_TO_REDIR.
fn smb2_header(response: bool) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(b"\xfeSMB"); // protocol
    h.extend_from_slice(&[64, 0]); // StructureSize 64
    h.extend_from_slice(&[0; 2]); // CreditCharge
    h.extend_from_slice(&[0; 4]); // Status
    h.extend_from_slice(&[0, 0]); // Command NEGOTIATE
    h.extend_from_slice(&[1, 0]); // Credits
    h.extend_from_slice(&[u8::from(response), 0, 0, 0]); // Flags
    h.extend_from_slice(&[0; 4]); // NextCommand
    h.extend_from_slice(&[0; 8]); // MessageId
    h.extend_from_slice(&[0; 4]); // Reserved
    h.extend_from_slice(&[0; 4]); // TreeId
    h.extend_from_slice(&[0; 8]); // SessionId
    h.extend_from_slice(&[0; 16]); // Signature
    assert_eq!(h.len(), 64);
    h
}

/// SMB2 NEGOTIATE request offering `dialects`.
fn smb2_request(dialects: &[u16]) -> Vec<u8> {
    let mut m = smb2_header(false);
    m.extend_from_slice(&[36, 0]); // StructureSize 36
    m.extend_from_slice(&(dialects.len() as u16).to_le_bytes()); // DialectCount
    m.extend_from_slice(&[1, 0]); // SecurityMode: signing enabled
    m.extend_from_slice(&[0; 2]); // Reserved
    m.extend_from_slice(&[0; 4]); // Capabilities
    m.extend_from_slice(&[0x11; 16]); // ClientGuid
    m.extend_from_slice(&[0; 8]); // ClientStartTime
    for d in dialects {
        m.extend_from_slice(&d.to_le_bytes()); // Dialects
    }
    m
}

/// SMB2 NEGOTIATE response choosing `dialect` with `security_mode`.
fn smb2_response(dialect: u16, security_mode: u16) -> Vec<u8> {
    let mut m = smb2_header(true);
    m.extend_from_slice(&[65, 0]); // StructureSize 65
    m.extend_from_slice(&security_mode.to_le_bytes()); // SecurityMode (0x2: required)
    m.extend_from_slice(&dialect.to_le_bytes()); // DialectRevision
    m.extend_from_slice(&[0; 2]); // NegotiateContextCount
    m.extend_from_slice(&[0x22; 16]); // ServerGuid
    m.extend_from_slice(&[0; 4 + 4 + 4 + 4 + 8 + 8]); // Capabilities .. ServerStartTime
    m.extend_from_slice(&[0x80, 0, 0, 0]); // SecurityBufferOffset/Length
    m.extend_from_slice(&[0; 4]); // NegotiateContextOffset
    m
}

fn build() -> Box<dyn model::StreamAnalyzer> {
    Box::new(SmbAnalyzer::new(&SmbConfig::default()))
}

fn run(pieces: &[(Direction, &[u8])]) -> Vec<Value> {
    run_stream(&build, &meta(), pieces, usize::MAX)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn smb_events(v: &[Value]) -> Vec<Value> {
    v.iter()
        .filter(|e| e["event_type"] == "smb")
        .map(|e| e["smb"].clone())
        .collect()
}

fn codes(v: &[Value]) -> Vec<String> {
    v.iter()
        .filter(|e| e["event_type"] == "anomaly")
        .map(|e| e["anomaly"]["event"].as_str().unwrap().to_string())
        .collect()
}

const WIN_DIALECTS: [&str; 3] = ["NT LM 0.12", "SMB 2.002", "SMB 2.???"];

#[test]
fn smb1_negotiate_request_decodes_exactly() {
    // The dialect strings of an SMB1 NEGOTIATE request, in order, without their NULs.
    let m = smb1_request(&WIN_DIALECTS);
    let want: Vec<&[u8]> = vec![b"NT LM 0.12", b"SMB 2.002", b"SMB 2.???"];
    assert_eq!(
        wire::parse_message(&m, 32),
        Ok(Message::Smb1Request {
            dialects: want,
            capped: false,
            truncated: false
        })
    );
}

#[test]
fn smb1_negotiate_response_decodes_exactly() {
    // DialectIndex and the signatures-required bit of SecurityMode.
    assert_eq!(
        wire::parse_message(&smb1_response(0, 0x0f), 32),
        Ok(Message::Smb1Response {
            dialect_index: 0,
            signing_required: Some(true)
        })
    );
    assert_eq!(
        wire::parse_message(&smb1_response(5, 0x03), 32),
        Ok(Message::Smb1Response {
            dialect_index: 5,
            signing_required: Some(false)
        })
    );
}

#[test]
fn smb2_negotiate_decodes_exactly() {
    // SMB2 request revisions, response revision and SecurityMode's required bit.
    assert_eq!(
        wire::parse_message(&smb2_request(&[0x0202, 0x0311]), 32),
        Ok(Message::Smb2Request {
            dialects: vec![0x0202, 0x0311],
            capped: false,
            truncated: false
        })
    );
    assert_eq!(
        wire::parse_message(&smb2_response(0x0311, 0x0003), 32),
        Ok(Message::Smb2Response {
            dialect: 0x0311,
            signing_required: true
        })
    );
    assert_eq!(
        wire::parse_message(&smb2_response(0x0210, 0x0001), 32),
        Ok(Message::Smb2Response {
            dialect: 0x0210,
            signing_required: false
        })
    );
}

#[test]
fn wire_refuses_what_is_not_smb() {
    // Another protocol identifier is not SMB; other commands are `Other`; encrypted
    // (transform) messages are `Other`.
    assert_eq!(
        wire::parse_message(b"GET / HTTP/1.1", 8),
        Err(WireError::NotSmb)
    );
    let mut echo = smb2_header(false);
    echo[12] = 0x0d; // ECHO
    assert_eq!(wire::parse_message(&echo, 8), Ok(Message::Other));
    assert_eq!(wire::parse_message(b"\xfdSMB", 8), Ok(Message::Other));
    assert_eq!(
        wire::parse_message(b"\xffSMBA", 8),
        Err(WireError::ShortHeader)
    );
}

#[test]
fn smb2_dialect_names_follow_suricata() {
    // Revisions print as Suricata writes them; unknown ones in hex.
    assert_eq!(wire::smb2_dialect_name(0x0202), "2.02");
    assert_eq!(wire::smb2_dialect_name(0x02ff), "2.??");
    assert_eq!(wire::smb2_dialect_name(0x0311), "3.11");
    assert_eq!(wire::smb2_dialect_name(0x0999), "0x0999");
}

#[test]
fn smb1_negotiation_is_flagged() {
    // An SMB1 request answered in NT LM 0.12: one event, SMBv1 offered and negotiated,
    // signing not required; then the flow is no longer read.
    let req = nb(&smb1_request(&WIN_DIALECTS));
    let resp = nb(&smb1_response(0, 0x03));
    let ev = run(&[(C, &req), (S, &resp), (C, &req), (S, &resp)]);
    let smb = smb_events(&ev);
    assert_eq!(smb.len(), 1, "{ev:?}");
    assert_eq!(
        smb[0],
        serde_json::json!({
            "client_dialects": ["NT LM 0.12", "SMB 2.002", "SMB 2.???"],
            "dialect": "NT LM 0.12",
            "smb1": true,
            "smb1_negotiated": true,
            "signing_required": false
        })
    );
    assert!(codes(&ev).is_empty());
}

#[test]
fn smb2_negotiation_is_not_smb1() {
    // An SMB2 request answered with 3.1.1, signing required: SMBv1 neither offered nor used.
    let req = nb(&smb2_request(&[0x0202, 0x0210, 0x0300, 0x0302, 0x0311]));
    let resp = nb(&smb2_response(0x0311, 0x0003));
    let smb = smb_events(&run(&[(C, &req), (S, &resp)]));
    assert_eq!(
        smb,
        vec![serde_json::json!({
            "client_dialects": ["2.02", "2.10", "3.00", "3.02", "3.11"],
            "dialect": "3.11",
            "smb1": false,
            "smb1_negotiated": false,
            "signing_required": true
        })]
    );
}

/// A multi-protocol negotiate: SMB1 request with the SMB2 strings, wildcard answer, then
/// the SMB2 negotiate that decides.
fn multi_protocol() -> Vec<Vec<u8>> {
    vec![
        nb(&smb1_request(&WIN_DIALECTS)),
        nb(&smb2_response(0x02ff, 0x0001)),
        nb(&smb2_request(&[0x0202, 0x0210])),
        nb(&smb2_response(0x0210, 0x0001)),
    ]
}

#[test]
fn multi_protocol_negotiate_is_one_event_with_the_final_dialect() {
    // The wildcard answer does not end the negotiation; the final revision does. SMB1 was
    // offered (NT LM 0.12) but not negotiated.
    let m = multi_protocol();
    let smb = smb_events(&run(&[(C, &m[0]), (S, &m[1]), (C, &m[2]), (S, &m[3])]));
    assert_eq!(smb.len(), 1);
    assert_eq!(smb[0]["dialect"], "2.10");
    assert_eq!(smb[0]["smb1"], true);
    assert_eq!(smb[0]["smb1_negotiated"], false);
    assert_eq!(smb[0]["signing_required"], false);
    assert_eq!(
        smb[0]["client_dialects"],
        serde_json::json!(["NT LM 0.12", "SMB 2.002", "SMB 2.???", "2.02", "2.10"])
    );
}

#[test]
fn only_smb2_strings_in_smb1_request_is_not_smb1() {
    // An SMB1-format request offering only `SMB 2.002`/`SMB 2.???` does not offer SMBv1.
    let req = nb(&smb1_request(&["SMB 2.002", "SMB 2.???"]));
    let resp = nb(&smb2_response(0x0202, 0x0001));
    let smb = smb_events(&run(&[(C, &req), (S, &resp)]));
    assert_eq!(smb[0]["smb1"], false);
    assert_eq!(smb[0]["dialect"], "2.02");
}

#[test]
fn negotiate_delivered_in_any_split_gives_the_same_events() {
    // Whole, byte at a time, and split at every point of every message: same events.
    let m = multi_protocol();
    let pieces: Vec<(Direction, &[u8])> = vec![(C, &m[0]), (S, &m[1]), (C, &m[2]), (S, &m[3])];
    assert_incremental(&build, &meta(), &pieces);
}

#[test]
fn request_truncated_at_every_length() {
    // A request cut at every length (NetBIOS length says more): nothing for a bare or
    // partial NetBIOS header, `smb_short_header` before the command byte, and from there an
    // event with `truncated: true` and `smb_truncated_negotiate`, never a panic.
    let full = nb(&smb1_request(&WIN_DIALECTS));
    for len in 0..full.len() {
        let ev = run(&[(C, &full[..len])]);
        let smb = smb_events(&ev);
        let codes = codes(&ev);
        if len <= 4 {
            assert!(ev.is_empty(), "len {len}: {ev:?}");
        } else if len < 4 + 5 {
            assert!(smb.is_empty(), "len {len}");
            assert_eq!(codes, vec!["smb_short_header"], "len {len}");
        } else {
            assert_eq!(smb.len(), 1, "len {len}");
            assert_eq!(smb[0]["truncated"], true, "len {len}");
            assert_eq!(codes, vec!["smb_truncated_negotiate"], "len {len}");
        }
    }
    let ev = run(&[(C, &full)]);
    assert_eq!(smb_events(&ev)[0].get("truncated"), None);
}

#[test]
fn response_truncated_at_every_length() {
    // An SMB2 response cut at every length after a whole request: the request's dialects
    // are always reported; the chosen dialect only once its bytes arrived.
    let req = nb(&smb2_request(&[0x0202, 0x0311]));
    let full = nb(&smb2_response(0x0311, 0x0003));
    for len in 0..full.len() {
        let ev = run(&[(C, &req), (S, &full[..len])]);
        let smb = smb_events(&ev);
        assert_eq!(smb.len(), 1, "len {len}");
        assert_eq!(
            smb[0]["client_dialects"],
            serde_json::json!(["2.02", "3.11"])
        );
        let has_dialect = len >= 4 + 64 + 6;
        assert_eq!(smb[0].get("dialect").is_some(), has_dialect, "len {len}");
    }
}

#[test]
fn dialect_list_is_capped() {
    // More dialects than max_dialects: the first ones kept, smb_too_many_dialects raised.
    let cfg = SmbConfig {
        max_dialects: 2,
        ..SmbConfig::default()
    };
    let b = move || -> Box<dyn model::StreamAnalyzer> { Box::new(SmbAnalyzer::new(&cfg)) };
    let req = nb(&smb2_request(&[0x0202, 0x0210, 0x0300, 0x0311]));
    let ev: Vec<Value> = run_stream(&b, &meta(), &[(C, &req)], usize::MAX)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        smb_events(&ev)[0]["client_dialects"],
        serde_json::json!(["2.02", "2.10"])
    );
    assert_eq!(codes(&ev), vec!["smb_too_many_dialects"]);
}

#[test]
fn message_bytes_past_the_cap_are_not_kept() {
    // With max_negotiate_bytes below the request's size the dialects that fit are
    // reported, truncated; a long later message is skipped without being buffered.
    let cfg = SmbConfig {
        max_negotiate_bytes: 64 + 36 + 4,
        ..SmbConfig::default()
    };
    let b = move || -> Box<dyn model::StreamAnalyzer> { Box::new(SmbAnalyzer::new(&cfg)) };
    let req = nb(&smb2_request(&[0x0202, 0x0210, 0x0300, 0x0311]));
    let ev: Vec<Value> = run_stream(&b, &meta(), &[(C, &req)], usize::MAX)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let smb = smb_events(&ev);
    assert_eq!(
        smb[0]["client_dialects"],
        serde_json::json!(["2.02", "2.10"])
    );
    assert_eq!(smb[0]["truncated"], true);
    assert_eq!(codes(&ev), vec!["smb_truncated_negotiate"]);
}

#[test]
fn flow_joined_after_negotiation_is_given_up() {
    // Past max_messages messages without a negotiation the direction is no longer read:
    // a negotiate after them is not reported.
    let mut echo = smb2_header(false);
    echo[12] = 0x0d; // ECHO
    let echo = nb(&echo);
    let mut stream = Vec::new();
    for _ in 0..SmbConfig::default().max_messages {
        stream.extend_from_slice(&echo);
    }
    stream.extend_from_slice(&nb(&smb2_request(&[0x0311])));
    assert!(run(&[(C, &stream)]).is_empty());
    // One message fewer, and the negotiate is read.
    let short = &stream[echo.len()..];
    assert_eq!(smb_events(&run(&[(C, short)])).len(), 1);
}

#[test]
fn netbios_session_request_is_skipped_then_negotiate_read() {
    // Port 139: a session request (type 0x81) and positive response come first.
    let mut sreq = vec![0x81, 0, 0, 68]; // session request, length 68
    sreq.push(0x20); // called name length
    sreq.extend_from_slice(&[b'C'; 32]); // encoded called name
    sreq.push(0);
    sreq.push(0x20); // calling name length
    sreq.extend_from_slice(&[b'E'; 32]); // encoded calling name
    sreq.push(0);
    assert_eq!(probe_smb(C, &sreq), model::Probe::Match);
    let sresp = [0x82, 0, 0, 0]; // positive session response
    let mut c = sreq.clone();
    c.extend_from_slice(&nb(&smb1_request(&["NT LM 0.12"])));
    let mut s = sresp.to_vec();
    s.extend_from_slice(&nb(&smb1_response(0, 0x0f)));
    let smb = smb_events(&run(&[(C, &c), (S, &s)]));
    assert_eq!(smb[0]["dialect"], "NT LM 0.12");
    assert_eq!(smb[0]["signing_required"], true);
}

#[test]
fn bad_netbios_type_and_missing_magic_are_named() {
    // An unknown NetBIOS type, or a session message that is not SMB: smb_bad_framing, and
    // the direction stops being read.
    assert_eq!(
        codes(&run(&[(C, &[0x42, 0, 0, 1, 0])])),
        vec!["smb_bad_framing"]
    );
    assert_eq!(
        codes(&run(&[(C, &nb(b"HELLO WORLD, NOT SMB"))])),
        vec!["smb_bad_framing"]
    );
}

#[test]
fn gap_before_negotiation_loses_the_direction() {
    // A hole in a message being kept: smb_gap_lost_sync; after negotiation gaps are silent.
    let m = meta();
    let mut a = SmbAnalyzer::new(&SmbConfig::default());
    let mut events = Vec::new();
    let mut counts = model::AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut cx = model::Cx::new(
        model::Timestamp(0),
        &m,
        &mut events,
        &mut counts,
        &mut budget,
    );
    let req = nb(&smb2_request(&[0x0311]));
    use model::StreamAnalyzer as _;
    a.on_data(&mut cx, C, &req[..10]);
    a.on_gap(&mut cx, C, 5);
    a.on_data(&mut cx, C, &req[15..]);
    a.on_close(&mut cx);
    assert_eq!(anomaly_codes(&events), vec![GAP_LOST_SYNC]);
}

#[test]
fn probe_answers() {
    // SMB1/SMB2/transform after a session header match; prefixes wait; others refuse.
    assert_eq!(
        probe_smb(C, &nb(&smb2_request(&[0x0202]))),
        model::Probe::Match
    );
    assert_eq!(
        probe_smb(C, &nb(&smb1_request(&["NT LM 0.12"]))),
        model::Probe::Match
    );
    assert_eq!(
        probe_smb(S, b"\x00\x00\x00\x10\xfdSMB"),
        model::Probe::Match
    );
    for len in 1..8 {
        let b = nb(&smb2_request(&[0x0202]));
        assert_eq!(probe_smb(C, &b[..len]), model::Probe::NeedMore, "len {len}");
    }
    assert_eq!(probe_smb(C, b"GET / HTTP/1.1\r\n"), model::Probe::NoMatch);
    assert_eq!(
        probe_smb(C, b"\x00\x00\x00\x10\x16\x03\x01\x00"),
        model::Probe::NoMatch
    );
    assert_eq!(
        probe_smb(C, b"\x00\x00\x00\x10\xffSM"),
        model::Probe::NeedMore
    );
    assert_eq!(
        probe_smb(C, b"\x00\x00\x00\x10\xffSX"),
        model::Probe::NoMatch
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        c in proptest::collection::vec(any::<u8>(), 0..300),
        s in proptest::collection::vec(any::<u8>(), 0..300),
        chunk in 1usize..40,
    ) {
        // Arbitrary bytes in both directions, in any delivery size: no panic, at most one
        // smb event, and the same events as whole deliveries.
        let pieces = [(C, &c[..]), (S, &s[..])];
        let whole = run_stream(&build, &meta(), &pieces, usize::MAX);
        let parts = run_stream(&build, &meta(), &pieces, chunk);
        prop_assert_eq!(&whole, &parts);
        prop_assert!(whole.iter().filter(|l| l.contains("\"event_type\":\"smb\"")).count() <= 1);
        let _ = wire::probe(&c);
        let _ = wire::parse_message(&c, 4);
    }

    #[test]
    fn framed_garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        // Arbitrary bodies behind an SMB1 or SMB2 identifier and NEGOTIATE command byte.
        let mut m1 = b"\xffSMB\x72".to_vec();
        m1.extend_from_slice(&body);
        let mut m2 = b"\xfeSMB".to_vec();
        m2.extend_from_slice(&body);
        for m in [m1, m2] {
            let _ = wire::parse_message(&m, 8);
            let framed = nb(&m);
            let _ = run_stream(&build, &meta(), &[(C, &framed), (S, &framed)], 7);
        }
    }
}

#[test]
fn fuzz_regressions_replay_whole_equals_chunked() {
    // Inputs saved under fuzz/regressions/smb/ run as the fuzz target runs them: no panic,
    // whole and byte-at-a-time deliveries give the same events.
    let n = crate::testutil::replay_stream_regressions("smb", &build, &meta(), C);
    assert!(n >= 1);
}
