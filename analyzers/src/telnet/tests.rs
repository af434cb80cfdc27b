//! Telnet analyzer tests: the IAC command layer byte by byte, prompt recognition, one
//! event per session (at the password answer or at the end), what the client types never
//! reported, every truncation, splits, gaps, probe answers, arbitrary bytes, and the saved
//! fuzz inputs.

use super::wire::{self, IacState, Prompt, Token};
use super::*;
use crate::testutil::{assert_incremental, flow_meta, run_stream};
use model::{Direction, FlowMeta, IpProto};
use proptest::prelude::*;
use serde_json::Value;

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn meta() -> FlowMeta {
    flow_meta(
        IpProto::TCP,
        ("10.0.0.5", 40000),
        ("10.0.0.9", 23),
        "t",
        "telnet",
    )
}

fn build() -> Box<dyn model::StreamAnalyzer> {
    Box::new(TelnetAnalyzer::new(&TelnetConfig::default()))
}

fn run(pieces: &[(Direction, &[u8])]) -> Vec<Value> {
    run_stream(&build, &meta(), pieces, usize::MAX)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn telnet(v: &[Value]) -> Vec<Value> {
    v.iter()
        .filter(|e| e["event_type"] == "telnet")
        .map(|e| e["telnet"].clone())
        .collect()
}

fn facts(negotiation: bool, login: bool, password: bool, creds: bool) -> Value {
    serde_json::json!({
        "negotiation": negotiation,
        "login_prompt": login,
        "password_prompt": password,
        "cleartext_credentials": creds,
    })
}

/// Server: DO TERMINAL-TYPE, WILL ECHO.
const SERVER_NEGOTIATION: &[u8] = &[
    0xff, 0xfd, 0x18, // IAC DO TERMINAL-TYPE
    0xff, 0xfb, 0x01, // IAC WILL ECHO
];
/// Client: WILL TERMINAL-TYPE, then SB TERMINAL-TYPE IS "VT100" SE.
const CLIENT_NEGOTIATION: &[u8] = &[
    0xff, 0xfb, 0x18, // IAC WILL TERMINAL-TYPE
    0xff, 0xfa, 0x18, 0x00, b'V', b'T', b'1', b'0', b'0', 0xff,
    0xf0, // IAC SB TT IS VT100 IAC SE
];

/// A whole login: negotiation, banner, login prompt, user name, password prompt, password.
fn login_session() -> Vec<(Direction, &'static [u8])> {
    vec![
        (S, SERVER_NEGOTIATION),
        (C, CLIENT_NEGOTIATION),
        (S, b"\r\nOpenBSD/i386 (oof) (ttyp2)\r\n\r\nlogin: "),
        (C, b"fake\r\n"),
        (S, b"Password:"),
        (C, b"s3cret\r\n"),
        (S, b"\r\nLast login: Sat Nov 27 20:11:43 on ttyp2\r\n$ "),
    ]
}

#[test]
fn iac_layer_decodes_each_byte() {
    // DO/WILL option commands and SB..SE are negotiation; IAC IAC is a data byte 255;
    // two-byte commands are skipped; data passes through.
    let mut s = IacState::Data;
    let mut toks = Vec::new();
    for &b in &[
        b'a', 0xff, 0xfd, 0x18, // data, IAC DO TERMINAL-TYPE
        0xff, 0xff, // IAC IAC: data 255
        0xff, 0xf1, // IAC NOP
        0xff, 0xfa, 0x18, 0xff, 0xff, 0x00, 0xff, 0xf0, // SB with an escaped IAC, SE
        b'b',
    ] {
        let (n, t) = wire::step(s, b);
        s = n;
        toks.push(t);
    }
    use Token::*;
    assert_eq!(
        toks,
        vec![
            Data(b'a'),
            Command,
            Command,
            Negotiation,
            Command,
            Data(0xff),
            Command,
            Command,
            Command,
            Command,
            Command,
            Command,
            Command,
            Command,
            Command,
            Negotiation,
            Data(b'b')
        ]
    );
    assert_eq!(s, IacState::Data);
}

#[test]
fn prompts_are_recognised_at_line_end_only() {
    // Case-insensitive prompts at the end, trailing spaces allowed; text that only
    // mentions a prompt word, or has more after the colon, is not one.
    assert_eq!(wire::prompt(b"login: "), Some(Prompt::Login));
    assert_eq!(wire::prompt(b"oof Login:"), Some(Prompt::Login));
    assert_eq!(wire::prompt(b"Username:  "), Some(Prompt::Login));
    assert_eq!(wire::prompt(b"User Name:"), Some(Prompt::Login));
    assert_eq!(wire::prompt(b"PASSWORD:"), Some(Prompt::Password));
    assert_eq!(wire::prompt(b"Enter passcode: "), Some(Prompt::Password));
    assert_eq!(wire::prompt(b"Last login: Sat Nov 27"), None);
    assert_eq!(wire::prompt(b"password"), None);
    assert_eq!(wire::prompt(b""), None);
}

#[test]
fn login_session_reports_cleartext_credentials_once() {
    // The whole login: one event, at the password answer, with every fact true; what the
    // client typed (user name, password) never appears.
    let pieces = login_session();
    let lines = run_stream(&build, &meta(), &pieces, usize::MAX);
    let ev: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(telnet(&ev), vec![facts(true, true, true, true)]);
    assert_eq!(ev.len(), 1, "no anomalies");
    for l in &lines {
        assert!(!l.contains("fake") && !l.contains("s3cret"), "{l}");
    }
}

#[test]
fn session_without_login_is_reported_at_the_end() {
    // Negotiation only: one event at close with negotiation true and nothing else. A
    // prompt the client never answered is still reported.
    assert_eq!(
        telnet(&run(&[(S, SERVER_NEGOTIATION), (C, CLIENT_NEGOTIATION)])),
        vec![facts(true, false, false, false)]
    );
    assert_eq!(
        telnet(&run(&[(
            S,
            b"\r\nUser Access Verification\r\n\r\nUsername: "
        )])),
        vec![facts(false, true, false, false)]
    );
    assert_eq!(
        telnet(&run(&[
            (S, b"login: "),
            (C, b"admin\r\n"),
            (S, b"Password: ")
        ])),
        vec![facts(false, true, true, false)]
    );
}

#[test]
fn last_login_line_is_not_a_prompt() {
    // `Last login:` mid-line, and client typing after a shell prompt, report no login.
    let ev = run(&[
        (S, SERVER_NEGOTIATION),
        (S, b"Last login: Sat Nov 27 20:11:43\r\n$ "),
        (C, b"ls\r\n"),
    ]);
    assert_eq!(telnet(&ev), vec![facts(true, false, false, false)]);
}

#[test]
fn character_mode_echo_is_handled() {
    // Character mode: the server echoes each user-name byte; the first byte answers the
    // prompt. The password is not echoed.
    let mut pieces: Vec<(Direction, &[u8])> = vec![(S, SERVER_NEGOTIATION), (S, b"login: ")];
    for c in [&b"a"[..], b"d", b"m"] {
        pieces.push((C, c));
        pieces.push((S, c));
    }
    pieces.push((C, b"\r"));
    pieces.push((S, b"\r\nPassword: "));
    pieces.push((C, b"x"));
    assert_eq!(telnet(&run(&pieces)), vec![facts(true, true, true, true)]);
}

#[test]
fn login_delivered_in_any_split_gives_the_same_events() {
    // Whole, byte at a time, and split at every point of every piece: same events.
    assert_incremental(&build, &meta(), &login_session());
}

#[test]
fn login_cut_at_every_length() {
    // The server side cut at every length, the client answering after it: nothing panics,
    // exactly one event, and credentials only once the whole password prompt arrived.
    let server = b"login: ";
    let prompt = b"\r\nPassword: ";
    for len in 0..=prompt.len() {
        let ev = run(&[
            (S, server),
            (C, b"u\r\n"),
            (S, &prompt[..len]),
            (C, b"p\r\n"),
        ]);
        let t = telnet(&ev);
        assert_eq!(t.len(), 1, "len {len}");
        let whole = len >= b"\r\nPassword:".len();
        assert_eq!(t[0]["cleartext_credentials"], whole, "len {len}");
    }
}

#[test]
fn gap_is_named_and_forgets_the_line() {
    // A hole in the server's stream: telnet_gap; the prompt before it no longer counts.
    let m = meta();
    let mut a = TelnetAnalyzer::new(&TelnetConfig::default());
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
    use model::StreamAnalyzer as _;
    a.on_data(&mut cx, S, b"Password: ");
    a.on_gap(&mut cx, S, 10);
    a.on_data(&mut cx, C, b"x\r\n");
    a.on_close(&mut cx);
    let lines: Vec<String> = events
        .iter()
        .map(|e| e.to_eve_value("t").to_string())
        .collect();
    assert_eq!(
        crate::testutil::anomaly_codes(&events),
        vec![super::event::GAP]
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("\"cleartext_credentials\":false")));
}

#[test]
fn long_server_lines_keep_their_end() {
    // A line longer than max_line_bytes keeps its last bytes, where the prompt is.
    let mut line = vec![b'x'; 1000];
    line.extend_from_slice(b" Password: ");
    assert_eq!(
        telnet(&run(&[(S, &line), (C, b"p")])),
        vec![facts(false, false, true, true)]
    );
}

#[test]
fn probe_answers() {
    // IAC option commands in either direction match; server text ending in a prompt
    // matches; other server text waits, then refuses; client text and binary refuse.
    use model::Probe::*;
    assert_eq!(probe_telnet(S, SERVER_NEGOTIATION), Match);
    assert_eq!(probe_telnet(C, CLIENT_NEGOTIATION), Match);
    assert_eq!(probe_telnet(S, &[0xff]), NeedMore);
    assert_eq!(probe_telnet(S, &[0xff, 0x01]), NoMatch);
    assert_eq!(
        probe_telnet(S, b"\r\nUser Access Verification\r\n\r\nUsername: "),
        Match
    );
    assert_eq!(
        probe_telnet(S, b"Welcome to the pump gateway\r\n"),
        NeedMore
    );
    assert_eq!(probe_telnet(S, &[b'a'; wire::PROBE_TEXT_BYTES]), NoMatch);
    assert_eq!(probe_telnet(S, b"banner\r\n\xff\xfb\x01"), Match);
    assert_eq!(probe_telnet(C, b"GET / HTTP/1.1\r\n"), NoMatch);
    assert_eq!(probe_telnet(S, b"\x16\x03\x01\x02\x00"), NoMatch);
    assert_eq!(probe_telnet(S, b"\x00\x00\x00\x2f\xfeSMB"), NoMatch);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        c in proptest::collection::vec(any::<u8>(), 0..300),
        s in proptest::collection::vec(any::<u8>(), 0..300),
        chunk in 1usize..40,
    ) {
        // Arbitrary bytes in both directions, any delivery size: no panic, exactly one
        // telnet event, same events as whole deliveries.
        let pieces = [(S, &s[..]), (C, &c[..])];
        let whole = run_stream(&build, &meta(), &pieces, usize::MAX);
        prop_assert_eq!(&whole, &run_stream(&build, &meta(), &pieces, chunk));
        prop_assert_eq!(whole.iter().filter(|l| l.contains("\"event_type\":\"telnet\"")).count(), 1);
        let _ = wire::probe(true, &s);
        let _ = wire::probe(false, &c);
    }
}

#[test]
fn fuzz_regressions_replay_whole_equals_chunked() {
    // Inputs saved under fuzz/regressions/telnet/ (server bytes, 0xaa-less split as the
    // fuzz target does) run whole and byte at a time with the same events.
    let n = crate::testutil::replay_stream_regressions("telnet", &build, &meta(), S);
    assert!(n >= 1);
}
