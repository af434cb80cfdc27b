//! FTP analyzer tests: reply and command lines, one event per login attempt with its
//! outcome, banner capping, AUTH TLS, multi-line replies, what is typed never reported,
//! every truncation, splits, gaps, probe answers, arbitrary bytes, and the saved fuzz
//! inputs.

use super::wire::{self, ReplyLine};
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
        ("10.0.0.9", 21),
        "t",
        "ftp",
    )
}

fn build() -> Box<dyn model::StreamAnalyzer> {
    Box::new(FtpAnalyzer::new(&FtpConfig::default()))
}

fn run_with(cfg: &FtpConfig, pieces: &[(Direction, &[u8])]) -> Vec<Value> {
    let cfg = cfg.clone();
    let b = move || -> Box<dyn model::StreamAnalyzer> { Box::new(FtpAnalyzer::new(&cfg)) };
    run_stream(&b, &meta(), pieces, usize::MAX)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn run(pieces: &[(Direction, &[u8])]) -> Vec<Value> {
    run_with(&FtpConfig::default(), pieces)
}

fn ftp(v: &[Value]) -> Vec<Value> {
    v.iter()
        .filter(|e| e["event_type"] == "ftp")
        .map(|e| e["ftp"].clone())
        .collect()
}

fn codes(v: &[Value]) -> Vec<String> {
    v.iter()
        .filter(|e| e["event_type"] == "anomaly")
        .map(|e| e["anomaly"]["event"].as_str().unwrap().to_string())
        .collect()
}

/// A failed then a successful login.
fn two_logins() -> Vec<(Direction, &'static [u8])> {
    vec![
        (S, b"220 (vsFTPd 3.0.3)\r\n"),
        (C, b"USER alice\r\n"),
        (S, b"331 Please specify the password.\r\n"),
        (C, b"PASS wrong\r\n"),
        (S, b"530 Login incorrect.\r\n"),
        (C, b"USER alice\r\n"),
        (S, b"331 Please specify the password.\r\n"),
        (C, b"PASS s3cret\r\n"),
        (S, b"230 Login successful.\r\n"),
        (C, b"SYST\r\n"),
        (S, b"215 UNIX Type: L8\r\n"),
        (C, b"QUIT\r\n"),
        (S, b"221 Goodbye.\r\n"),
    ]
}

#[test]
fn reply_lines_parse_exactly() {
    // Code, last-line marker and text; a dash opens a multi-line reply; other text is not
    // a reply.
    assert_eq!(
        wire::parse_reply_line(b"220 (vsFTPd 3.0.3)"),
        Some(ReplyLine {
            code: 220,
            last: true,
            text: b"(vsFTPd 3.0.3)"
        })
    );
    assert_eq!(
        wire::parse_reply_line(b"230-Welcome"),
        Some(ReplyLine {
            code: 230,
            last: false,
            text: b"Welcome"
        })
    );
    assert_eq!(
        wire::parse_reply_line(b"200"),
        Some(ReplyLine {
            code: 200,
            last: true,
            text: b""
        })
    );
    assert_eq!(wire::parse_reply_line(b"+OK POP3 ready"), None);
    assert_eq!(wire::parse_reply_line(b"2200 x"), None);
    assert_eq!(wire::parse_reply_line(b"620 x"), None);
    assert_eq!(
        wire::parse_command(b"USER alice"),
        (&b"USER"[..], &b"alice"[..])
    );
    assert_eq!(wire::parse_command(b"PWD"), (&b"PWD"[..], &b""[..]));
}

#[test]
fn each_login_attempt_is_one_event_with_its_outcome() {
    // Two attempts: 530 then 230; each event says USER and PASS crossed in cleartext and
    // carries the banner; no user name or password appears.
    let pieces = two_logins();
    let lines = run_stream(&build, &meta(), &pieces, usize::MAX);
    let ev: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let attempt = |ok: bool| {
        serde_json::json!({
            "banner": "(vsFTPd 3.0.3)",
            "user_sent": true,
            "anonymous": false,
            "cleartext_credentials": true,
            "auth_tls": false,
            "login_success": ok,
        })
    };
    assert_eq!(ftp(&ev), vec![attempt(false), attempt(true)]);
    assert!(codes(&ev).is_empty());
    for l in &lines {
        assert!(
            !l.contains("alice") && !l.contains("s3cret") && !l.contains("wrong"),
            "{l}"
        );
    }
}

#[test]
fn anonymous_login_is_flagged_by_comparison() {
    // USER anonymous (any case) or ftp sets anonymous; the name itself is never written.
    for user in [&b"USER anonymous\r\n"[..], b"user FTP\r\n"] {
        let ev = ftp(&run(&[
            (S, b"220 FTP ready\r\n"),
            (C, user),
            (S, b"331 Guest login ok\r\n"),
            (C, b"PASS guest@\r\n"),
            (S, b"230 Guest login ok\r\n"),
        ]));
        assert_eq!(ev[0]["anonymous"], true);
        assert_eq!(ev[0]["login_success"], true);
    }
}

#[test]
fn auth_tls_ends_reading() {
    // AUTH TLS accepted (234): one event with auth_tls and no credentials; the TLS bytes
    // after it are not read.
    let ev = run(&[
        (S, b"220 Microsoft FTP Service\r\n"),
        (C, b"AUTH TLS\r\n"),
        (S, b"234 AUTH command ok. Expecting TLS Negotiation.\r\n"),
        (
            C,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\nPASS x\r\n",
        ),
    ]);
    let f = ftp(&ev);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["auth_tls"], true);
    assert_eq!(f[0]["cleartext_credentials"], false);
    assert_eq!(f[0]["banner"], "Microsoft FTP Service");
    assert!(codes(&ev).is_empty());
}

#[test]
fn multi_line_replies_are_one_reply() {
    // A multi-line 220 gives its first line as banner; a 230 inside text lines of another
    // reply is not an outcome.
    let ev = ftp(&run(&[
        (
            S,
            b"220-Pump gateway FTP\r\n230 this is text\r\n220 ready\r\n",
        ),
        (C, b"USER svc\r\nPASS x\r\n"),
        (S, b"230-Welcome\r\n Restricted area\r\n230 Logged in\r\n"),
    ]));
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["banner"], "Pump gateway FTP");
    assert_eq!(ev[0]["login_success"], true);
}

#[test]
fn session_without_login_and_unanswered_login_are_reported() {
    // A greeting only: one session event; a PASS never answered: reported at close.
    let ev = ftp(&run(&[(S, b"220 FTP server ready\r\n")]));
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["user_sent"], false);
    let ev = ftp(&run(&[(S, b"220 ready\r\n"), (C, b"USER a\r\nPASS b\r\n")]));
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["cleartext_credentials"], true);
    assert_eq!(ev[0].get("login_success"), None);
}

#[test]
fn not_ftp_server_gives_no_event() {
    // A POP3 server (the client's USER looked like FTP): ftp_bad_reply, no ftp event.
    let ev = run(&[
        (S, b"+OK POP3 ready\r\n"),
        (C, b"USER bob\r\nPASS x\r\n"),
        (S, b"+OK\r\n"),
    ]);
    assert!(ftp(&ev).is_empty());
    assert_eq!(codes(&ev), vec!["ftp_bad_reply"]);
}

#[test]
fn banner_and_lines_are_capped() {
    // A banner past max_banner_bytes is cut (capped: true); a line past max_line_bytes
    // raises ftp_line_too_long and is skipped to its end, the next line read.
    let cfg = FtpConfig {
        max_banner_bytes: 8,
        max_line_bytes: 64,
        ..FtpConfig::default()
    };
    let mut long = b"USER ".to_vec();
    long.extend_from_slice(&[b'x'; 100]);
    long.extend_from_slice(b"\r\nPASS y\r\n");
    let ev = run_with(
        &cfg,
        &[
            (S, b"220 ProFTPD 1.3.5 Server\r\n"),
            (C, &long),
            (S, b"230 ok\r\n"),
        ],
    );
    let f = ftp(&ev);
    assert_eq!(f[0]["banner"], "ProFTPD ");
    assert_eq!(f[0]["capped"], true);
    assert_eq!(f[0]["user_sent"], false);
    assert_eq!(f[0]["cleartext_credentials"], true);
    assert_eq!(codes(&ev), vec!["ftp_line_too_long"]);
}

#[test]
fn logins_delivered_in_any_split_give_the_same_events() {
    // Whole, byte at a time, and split at every point of every piece: same events.
    assert_incremental(&build, &meta(), &two_logins());
}

#[test]
fn session_cut_at_every_length() {
    // The client's side cut at every length: no panic, one event, PASS counted only once
    // its line ended.
    let client = b"USER a\r\nPASS b\r\n";
    for len in 0..=client.len() {
        let ev = ftp(&run(&[(S, b"220 FTP\r\n"), (C, &client[..len])]));
        assert_eq!(ev.len(), 1, "len {len}");
        assert_eq!(ev[0]["user_sent"], len >= 8, "len {len}");
        assert_eq!(
            ev[0]["cleartext_credentials"],
            len == client.len(),
            "len {len}"
        );
    }
}

#[test]
fn gap_resynchronises_at_the_next_line() {
    // A hole: ftp_gap, the cut line is dropped, the next whole line is read.
    let m = meta();
    let mut a = FtpAnalyzer::new(&FtpConfig::default());
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
    a.on_data(&mut cx, S, b"220 FTP\r\n");
    a.on_data(&mut cx, C, b"USER a");
    a.on_gap(&mut cx, C, 4);
    a.on_data(&mut cx, C, b"x\r\nPASS b\r\n");
    a.on_close(&mut cx);
    assert_eq!(
        crate::testutil::anomaly_codes(&events),
        vec![super::event::GAP]
    );
    let l: Vec<String> = events
        .iter()
        .map(|e| e.to_eve_value("t").to_string())
        .collect();
    assert!(
        l.iter()
            .any(|l| l.contains("\"user_sent\":false")
                && l.contains("\"cleartext_credentials\":true")),
        "{l:?}"
    );
}

#[test]
fn probe_answers() {
    // Greetings naming FTP match; an SMTP greeting refuses (left to the client side); a
    // client opening command matches; prefixes wait.
    use model::Probe::*;
    assert_eq!(probe_ftp(S, b"220 (vsFTPd 3.0.3)\r\n"), Match);
    assert_eq!(probe_ftp(S, b"220-Microsoft FTP Service\r\n"), Match);
    assert_eq!(
        probe_ftp(S, b"220 mail.example.org ESMTP Postfix\r\n"),
        NoMatch
    );
    assert_eq!(probe_ftp(S, b"220 printer ready"), NeedMore);
    assert_eq!(probe_ftp(S, b"22"), NeedMore);
    assert_eq!(probe_ftp(S, b"HTTP/1.1 200 OK\r\n"), NoMatch);
    assert_eq!(probe_ftp(C, b"USER alice\r\n"), Match);
    assert_eq!(probe_ftp(C, b"auth tls\r\n"), Match);
    assert_eq!(probe_ftp(C, b"FEAT\r\n"), Match);
    assert_eq!(probe_ftp(C, b"US"), NeedMore);
    assert_eq!(probe_ftp(C, b"USER"), NeedMore);
    assert_eq!(probe_ftp(C, b"USERS"), NoMatch);
    assert_eq!(probe_ftp(C, b"EHLO client\r\n"), NoMatch);
    assert_eq!(probe_ftp(C, b"GET / HTTP/1.1\r\n"), NoMatch);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        c in proptest::collection::vec(any::<u8>(), 0..300),
        s in proptest::collection::vec(any::<u8>(), 0..300),
        chunk in 1usize..40,
    ) {
        // Arbitrary bytes in both directions, any delivery size: no panic, bounded events,
        // same events as whole deliveries.
        let pieces = [(S, &s[..]), (C, &c[..])];
        let whole = run_stream(&build, &meta(), &pieces, usize::MAX);
        prop_assert_eq!(&whole, &run_stream(&build, &meta(), &pieces, chunk));
        prop_assert!(whole.len() <= 2 + c.len() + s.len());
        let _ = wire::probe(true, &s);
        let _ = wire::probe(false, &c);
        let _ = wire::parse_reply_line(&s);
    }
}

#[test]
fn fuzz_regressions_replay_whole_equals_chunked() {
    // Inputs saved under fuzz/regressions/ftp/ (server bytes, 0xaa, client bytes) run
    // whole and byte at a time with the same events.
    let n = crate::testutil::replay_stream_regressions("ftp", &build, &meta(), S);
    assert!(n >= 1);
}
