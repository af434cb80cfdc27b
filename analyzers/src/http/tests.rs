//! Unit tests of the HTTP analyzer: wire parsing, framing, pairing, credentials, PHI in
//! URLs, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests fail loudly on purpose

use super::wire::{self, Framing, ProbeResult};
use super::{HttpAnalyzer, HttpConfig};
use model::{
    AnomalyCounts, Cx, Direction, Event, EventKind, FlowMeta, IpProto, Progress, StreamAnalyzer,
    Timestamp,
};
use proptest::prelude::*;
use serde_json::{json, Value};

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

fn meta() -> FlowMeta {
    crate::testutil::flow_meta(
        IpProto::TCP,
        ("10.0.0.1", 40000),
        ("10.0.0.2", 80),
        "t",
        "http",
    )
}

enum Step {
    Data(Direction, Vec<u8>),
    Gap(Direction, u64),
}

struct Out {
    events: Vec<Event>,
}

impl Out {
    fn http(&self) -> Vec<Value> {
        self.events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Http(_)))
            .map(|e| e.to_eve_value("t")["http"].clone())
            .collect()
    }
    fn anomalies(&self) -> Vec<&'static str> {
        crate::testutil::anomaly_codes(&self.events)
    }
    fn lines(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| e.to_eve_value("t").to_string())
            .collect()
    }
}

fn run_cfg(cfg: &HttpConfig, steps: &[Step], chunk: usize) -> Out {
    let m = meta();
    let mut a = HttpAnalyzer::new(cfg);
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    {
        let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
        for s in steps {
            match s {
                Step::Data(dir, bytes) => {
                    for c in bytes.chunks(chunk.max(1)) {
                        assert_eq!(a.on_data(&mut cx, *dir, c), Progress::Done);
                    }
                }
                Step::Gap(dir, n) => a.on_gap(&mut cx, *dir, *n),
            }
        }
        a.on_eof(&mut cx, C2S);
        a.on_eof(&mut cx, S2C);
        a.on_close(&mut cx);
    }
    Out { events }
}

fn run(steps: &[Step], chunk: usize) -> Out {
    run_cfg(&HttpConfig::default(), steps, chunk)
}

const REQ: &[u8] = b"GET /worklist/query?patient=Doe%20Jane&mrn=12345 HTTP/1.1\r\n\
Host: pacs.example:8080\r\n\
User-Agent: InfusionPump/4.2 (Model X)\r\n\
Authorization: Basic YWRtaW46c2VjcmV0\r\n\
\r\n";

const RESP: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: Apache/2.4.41 (Ubuntu)\r\n\
Content-Type: text/html\r\n\
Transfer-Encoding: chunked\r\n\
\r\n\
5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n";

fn exchange() -> Vec<Step> {
    vec![
        Step::Data(C2S, REQ.to_vec()),
        Step::Data(S2C, RESP.to_vec()),
        Step::Data(
            C2S,
            b"POST /results HTTP/1.1\r\nHost: lis\r\nContent-Length: 11\r\n\r\nhello world"
                .to_vec(),
        ),
        Step::Data(
            S2C,
            b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\nServer: lis/1\r\n\r\nabc".to_vec(),
        ),
    ]
}

#[test]
fn request_head_parses_exact_fields() {
    // Known request bytes give the method, target, host, user agent and the Basic flag.
    let h = wire::parse_request(REQ, 100).unwrap();
    assert_eq!(h.method, Some("GET"));
    assert_eq!(
        h.target,
        Some("/worklist/query?patient=Doe%20Jane&mrn=12345")
    );
    assert_eq!(h.host, Some(&b"pacs.example:8080"[..]));
    assert_eq!(h.user_agent, Some(&b"InfusionPump/4.2 (Model X)"[..]));
    assert!(h.basic_auth);
    assert_eq!(h.minor_version, 1);
    assert_eq!(wire::request_framing(&h), Framing::None);
    let r =
        wire::parse_response(&RESP[..RESP.iter().position(|c| *c == b'5').unwrap()], 100).unwrap();
    assert_eq!(r.status, Some(200));
    assert_eq!(r.server, Some(&b"Apache/2.4.41 (Ubuntu)"[..]));
    assert_eq!(wire::response_framing(&r, Some("GET")), Framing::Chunked);
    assert_eq!(wire::response_framing(&r, Some("HEAD")), Framing::None);
}

#[test]
fn wire_helpers() {
    // Chunk sizes, URL paths, Host splitting and header-end scanning.
    assert_eq!(wire::parse_chunk_size(b"1a3;x=y"), Some(0x1a3));
    assert_eq!(wire::parse_chunk_size(b"zz"), None);
    assert_eq!(wire::parse_chunk_size(b"11111111111111111"), None);
    assert_eq!(wire::url_path("/a?b"), ("/a", true));
    assert_eq!(wire::url_path("/a#f"), ("/a", true));
    assert_eq!(wire::url_path("/a"), ("/a", false));
    assert_eq!(wire::split_host(b"h:81"), (&b"h"[..], Some(81)));
    assert_eq!(wire::split_host(b"[::1]:8080"), (&b"[::1]"[..], Some(8080)));
    assert_eq!(wire::split_host(b"[::1]"), (&b"[::1]"[..], None));
    assert_eq!(wire::header_end(b"GET / HTTP/1.0\n\nbody", 0), Ok(16));
    assert_eq!(wire::header_end(b"GET / HTTP/1.0\r\nA: b\r", 0), Err(16));
}

#[test]
fn probe_accepts_methods_and_responses() {
    // Methods with a space, or HTTP/1., at the start; prefixes need more; others do not.
    assert_eq!(wire::probe(b"GET / HTTP/1.1"), ProbeResult::Match);
    assert_eq!(wire::probe(b"HTTP/1.1 200 OK"), ProbeResult::Match);
    assert_eq!(wire::probe(b"PROPFIND /x"), ProbeResult::Match);
    for n in 0..7 {
        assert_eq!(wire::probe(&b"HTTP/1.1"[..n]), ProbeResult::NeedMore, "{n}");
    }
    assert_eq!(wire::probe(b"GETX"), ProbeResult::NoMatch);
    assert_eq!(wire::probe(&[0x16, 3, 1]), ProbeResult::NoMatch);
    assert_eq!(wire::probe(b"\x0bMSH|"), ProbeResult::NoMatch);
}

#[test]
fn exchange_pairs_requests_and_responses() {
    // Two transactions: request facts with their response's status, server and length.
    let out = run(&exchange(), usize::MAX);
    let h = out.http();
    assert_eq!(h.len(), 2, "{h:#?}");
    assert_eq!(h[0]["http_method"], "GET");
    assert_eq!(h[0]["hostname"], "pacs.example");
    assert_eq!(h[0]["http_port"], 8080);
    assert_eq!(h[0]["url"], "/worklist/query");
    assert_eq!(h[0]["url_query_removed"], true);
    assert_eq!(h[0]["http_user_agent"], "InfusionPump/4.2 (Model X)");
    assert_eq!(h[0]["status"], 200);
    assert_eq!(h[0]["server"], "Apache/2.4.41 (Ubuntu)");
    assert_eq!(h[0]["http_content_type"], "text/html");
    assert_eq!(h[0]["length"], 11);
    assert_eq!(h[0]["protocol"], "HTTP/1.1");
    assert_eq!(h[0]["credentials_present"], true);
    assert_eq!(h[1]["http_method"], "POST");
    assert_eq!(h[1]["request_length"], 11);
    assert_eq!(h[1]["status"], 201);
    assert_eq!(h[1]["length"], 3);
    assert!(h[1].get("credentials_present").is_none());
    assert_eq!(out.anomalies(), vec!["cleartext_credentials"]);
}

#[test]
fn credentials_and_query_never_leave() {
    // Neither the Basic credentials nor the query string appear anywhere in the output.
    let out = run(&exchange(), usize::MAX);
    for l in out.lines() {
        for secret in [
            "YWRtaW46c2VjcmV0",
            "admin",
            "secret",
            "Doe",
            "12345",
            "patient=",
        ] {
            assert!(!l.contains(secret), "{secret} leaked: {l}");
        }
    }
}

#[test]
fn query_string_shown_when_configured() {
    // log_query_string = true keeps the whole target.
    let cfg = HttpConfig {
        log_query_string: true,
        ..HttpConfig::default()
    };
    let h = run_cfg(&cfg, &exchange(), usize::MAX).http();
    assert_eq!(h[0]["url"], "/worklist/query?patient=Doe%20Jane&mrn=12345");
    assert!(h[0].get("url_query_removed").is_none());
}

#[test]
fn byte_at_a_time_equals_whole() {
    // Every chunk size from 1 to 64 gives the same events as one delivery.
    let whole = run(&exchange(), usize::MAX).lines();
    for chunk in 1..64 {
        assert_eq!(run(&exchange(), chunk).lines(), whole, "chunk {chunk}");
    }
}

#[test]
fn split_at_every_point_equals_whole() {
    // The response stream cut in two at every point gives the same events.
    let whole = run(&exchange(), usize::MAX).lines();
    for cut in 0..=RESP.len() {
        let mut steps = exchange();
        steps[1] = Step::Data(S2C, RESP[..cut].to_vec());
        steps.insert(2, Step::Data(S2C, RESP[cut..].to_vec()));
        assert_eq!(run(&steps, usize::MAX).lines(), whole, "cut {cut}");
    }
}

#[test]
fn truncated_at_every_len_keeps_what_was_read() {
    // Each prefix of the response: no panic, the request is still reported once.
    for n in 0..RESP.len() {
        let steps = vec![
            Step::Data(C2S, REQ.to_vec()),
            Step::Data(S2C, RESP[..n].to_vec()),
        ];
        let h = run(&steps, usize::MAX).http();
        assert_eq!(h.len(), 1, "prefix {n}");
        assert_eq!(h[0]["http_method"], "GET");
    }
}

#[test]
fn head_and_interim_responses_have_no_body() {
    // HEAD's response has no body despite Content-Length; 100 Continue answers nothing.
    let steps = vec![
        Step::Data(C2S, b"HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        Step::Data(
            S2C,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n".to_vec(),
        ),
        Step::Data(C2S, b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        Step::Data(S2C, b"HTTP/1.1 304 Not Modified\r\n\r\n".to_vec()),
    ];
    let h = run(&steps, usize::MAX).http();
    assert_eq!(h.len(), 2, "{h:#?}");
    assert_eq!(
        (h[0]["status"].clone(), h[0]["length"].clone()),
        (json!(200), json!(0))
    );
    assert_eq!(h[1]["status"], 304);
}

#[test]
fn until_close_body_counted_to_the_end() {
    // A response without length is read until the connection closes.
    let steps = vec![
        Step::Data(C2S, b"GET / HTTP/1.0\r\n\r\n".to_vec()),
        Step::Data(S2C, b"HTTP/1.0 200 OK\r\n\r\n0123456789".to_vec()),
        Step::Gap(S2C, 100),
        Step::Data(S2C, b"abc".to_vec()),
    ];
    let h = run(&steps, 4).http();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["length"], 113);
    assert!(h[0].get("truncated").is_none());
}

#[test]
fn gap_inside_length_body_keeps_sync() {
    // A hole inside a Content-Length body: the next response is still parsed.
    let steps = vec![
        Step::Data(
            C2S,
            b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n".to_vec(),
        ),
        Step::Data(
            S2C,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nab".to_vec(),
        ),
        Step::Gap(S2C, 990),
        Step::Data(S2C, b"cdefghijHTTP/1.1 404 Not Found\r\n\r\n".to_vec()),
    ];
    let out = run(&steps, usize::MAX);
    let h = out.http();
    assert_eq!(h.len(), 2, "{h:#?}");
    assert_eq!(h[0]["length"], 1000);
    assert_eq!(h[1]["status"], 404);
    assert_eq!(h[1]["url"], "/2");
    assert!(out.anomalies().is_empty());
}

#[test]
fn gap_in_head_loses_sync_once() {
    // A hole inside a head: gap_lost_sync, the partial message is not invented.
    let steps = vec![
        Step::Data(C2S, b"GET /1 HTTP/1.1\r\nHo".to_vec()),
        Step::Gap(C2S, 10),
        Step::Data(C2S, b"GET /2 HTTP/1.1\r\n\r\n".to_vec()),
    ];
    let out = run(&steps, usize::MAX);
    assert_eq!(out.anomalies(), vec!["gap_lost_sync"]);
    assert!(out.http().is_empty());
}

#[test]
fn oversized_head_and_bad_framing_are_named() {
    // A head past the cap, a bad Content-Length and a bad chunk size raise their anomalies.
    let cfg = HttpConfig {
        max_header_bytes: 64,
        ..HttpConfig::default()
    };
    let mut big = b"GET / HTTP/1.1\r\n".to_vec();
    big.extend(b"X-Pad: ".iter().chain([b'a'; 100].iter()));
    big.extend(b"\r\n\r\n");
    let out = run_cfg(&cfg, &[Step::Data(C2S, big)], 7);
    assert_eq!(out.anomalies(), vec!["header_too_large"]);
    let bad_cl = b"POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\nbody".to_vec();
    assert_eq!(
        run(&[Step::Data(C2S, bad_cl)], usize::MAX).anomalies(),
        vec!["bad_content_length"]
    );
    let bad_chunk = vec![
        Step::Data(C2S, b"GET / HTTP/1.1\r\n\r\n".to_vec()),
        Step::Data(
            S2C,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
        ),
    ];
    let out = run(&bad_chunk, 1);
    assert_eq!(out.anomalies(), vec!["bad_chunk"]);
    assert_eq!(out.http()[0]["truncated"], true);
    let garbage = run(&[Step::Data(C2S, b"GET \x00\x01 junk\r\n\r\n".to_vec())], 3);
    assert_eq!(garbage.anomalies(), vec!["malformed_head"]);
}

#[test]
fn caps_apply_to_strings_and_pending_requests() {
    // Long values are cut and flagged; pipelining past the cap reports the oldest alone.
    let cfg = HttpConfig {
        max_string_bytes: 8,
        max_pending_requests: 2,
        ..HttpConfig::default()
    };
    let mut reqs = Vec::new();
    for i in 0..3 {
        reqs.extend(format!("GET /p{i} HTTP/1.1\r\nUser-Agent: a-very-long-agent\r\n\r\n").bytes());
    }
    let out = run_cfg(&cfg, &[Step::Data(C2S, reqs)], usize::MAX);
    let h = out.http();
    assert_eq!(h.len(), 3);
    assert_eq!(h[0]["http_user_agent"], "a-very-l");
    assert_eq!(h[0]["capped"], true);
    assert_eq!(out.anomalies(), vec!["too_many_pending_requests"]);
}

#[test]
fn response_first_midstream_is_reported() {
    // A capture starting with a response reports it alone, then pairs what follows.
    let steps = vec![
        Step::Data(
            S2C,
            b"HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        ),
        Step::Data(C2S, b"GET /n HTTP/1.1\r\n\r\n".to_vec()),
        Step::Data(S2C, b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()),
    ];
    let h = run(&steps, usize::MAX).http();
    assert_eq!(h.len(), 2);
    assert!(h[0].get("http_method").is_none());
    assert_eq!(h[0]["server"], "s");
    assert_eq!(h[1]["url"], "/n");
}

#[test]
fn connect_and_upgrade_stop_parsing() {
    // After 101 Switching Protocols the bytes are a tunnel: no more anomalies or events.
    let steps = vec![
        Step::Data(
            C2S,
            b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n".to_vec(),
        ),
        Step::Data(
            S2C,
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x05hello".to_vec(),
        ),
        Step::Data(C2S, b"\x81\x85garbage".to_vec()),
    ];
    let out = run(&steps, usize::MAX);
    assert_eq!(out.http().len(), 1);
    assert!(out.anomalies().is_empty());
}

#[test]
fn fuzz_regressions_replay_whole_equals_chunked() {
    // Inputs saved under fuzz/regressions/http/ run as the fuzz target runs them: no
    // panic, and whole delivery gives the same events as byte-at-a-time delivery.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/http");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        let (a, b) = match data.iter().position(|&x| x == 0xff) {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (&data[..], &data[..0]),
        };
        let steps = vec![Step::Data(C2S, a.to_vec()), Step::Data(S2C, b.to_vec())];
        assert_eq!(run(&steps, usize::MAX).lines(), run(&steps, 1).lines());
        n += 1;
    }
    assert!(n >= 2, "regression inputs missing from {}", dir.display());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(a in proptest::collection::vec(any::<u8>(), 0..400),
                                   b in proptest::collection::vec(any::<u8>(), 0..400),
                                   chunk in 1usize..40) {
        // Arbitrary streams: no panic, bounded events, chunking changes nothing.
        let steps = vec![Step::Data(C2S, a.clone()), Step::Data(S2C, b.clone())];
        let whole = run(&steps, usize::MAX);
        prop_assert!(whole.events.len() <= 400);
        prop_assert_eq!(run(&steps, chunk).lines(), whole.lines());
        let _ = wire::parse_request(&a, 100);
        let _ = wire::parse_response(&b, 100);
    }

    #[test]
    fn mutated_exchanges_chunk_alike(pos in 0usize..300, val in any::<u8>(), chunk in 1usize..30) {
        // The exchange with one response byte changed: chunked delivery changes nothing.
        let mut r = RESP.to_vec();
        let p = pos % r.len();
        r[p] = val;
        let steps = vec![Step::Data(C2S, REQ.to_vec()), Step::Data(S2C, r)];
        prop_assert_eq!(run(&steps, chunk).lines(), run(&steps, usize::MAX).lines());
    }
}

/// A login page (chunked HTML with a password input) answering a GET, then the form
/// posted back with a password field.
fn login_exchange() -> Vec<Step> {
    vec![
        Step::Data(C2S, b"GET /login HTTP/1.1\r\nHost: pump-gw\r\n\r\n".to_vec()),
        Step::Data(
            S2C,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n\
1c\r\n<html><form method=post><inp\r\n\
2f\r\nut name=user><INPUT Type = 'Password' name=pw>\r\n0\r\n\r\n"
                .to_vec(),
        ),
        Step::Data(
            C2S,
            b"POST /login HTTP/1.1\r\nHost: pump-gw\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 31\r\n\r\nuser=nurse&j_password=Hunter22x"
                .to_vec(),
        ),
        Step::Data(S2C, b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n".to_vec()),
    ]
}

#[test]
fn authorization_scheme_is_named_never_its_value() {
    // Basic is named and flagged as cleartext credentials; other schemes are named only.
    let h = run(&exchange(), usize::MAX).http();
    assert_eq!(h[0]["http_auth"], "basic");
    assert_eq!(h[0]["cleartext_credentials"], true);
    assert_eq!(h[1].get("http_auth"), None);
    assert_eq!(h[1].get("cleartext_credentials"), None);
    for (value, scheme) in [
        ("Bearer eyJhbGciOi", "bearer"),
        ("NTLM TlRMTVNTUAAB", "ntlm"),
        ("Negotiate YIIG", "negotiate"),
        ("Digest username=\"x\"", "digest"),
        ("AWS4-HMAC-SHA256 Credential=x", "other"),
    ] {
        let req = format!("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: {value}\r\n\r\n");
        let out = run(&[Step::Data(C2S, req.into_bytes())], usize::MAX);
        let h = out.http();
        assert_eq!(h[0]["http_auth"], scheme);
        assert_eq!(h[0].get("cleartext_credentials"), None, "{scheme}");
        assert!(out.anomalies().is_empty());
        let token = value.split(' ').nth(1).unwrap();
        assert!(out.lines().iter().all(|l| !l.contains(token)));
    }
}

#[test]
fn login_page_and_posted_password_are_flagged() {
    // The HTML response with a password input (split over chunks, attribute spaced and
    // quoted) is a login form; the urlencoded POST with a password field is a cleartext
    // credential (anomaly raised once); neither value appears.
    let out = run(&login_exchange(), usize::MAX);
    let h = out.http();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["login_form"], true);
    assert_eq!(h[0].get("password_field"), None);
    assert_eq!(h[1]["password_field"], true);
    assert_eq!(h[1]["cleartext_credentials"], true);
    assert_eq!(h[1].get("login_form"), None);
    assert_eq!(out.anomalies(), vec!["cleartext_credentials"]);
    for l in out.lines() {
        assert!(!l.contains("Hunter22x") && !l.contains("nurse"), "{l}");
    }
}

#[test]
fn login_exchange_in_any_delivery_gives_the_same_events() {
    // Every chunk size, and each message cut at every point, give the same events.
    let whole = run(&login_exchange(), usize::MAX).lines();
    for chunk in 1..48 {
        assert_eq!(
            run(&login_exchange(), chunk).lines(),
            whole,
            "chunk {chunk}"
        );
    }
    for k in 0..4 {
        let Step::Data(dir, bytes) = &login_exchange()[k] else {
            unreachable!()
        };
        for cut in 0..=bytes.len() {
            let mut steps = login_exchange();
            steps[k] = Step::Data(*dir, bytes[..cut].to_vec());
            steps.insert(k + 1, Step::Data(*dir, bytes[cut..].to_vec()));
            assert_eq!(run(&steps, usize::MAX).lines(), whole, "step {k} cut {cut}");
        }
    }
}

#[test]
fn login_body_cut_at_every_length() {
    // The POST's body cut at every length by the end of the stream: no panic, one
    // request; the password field not found before its name, always found once the whole
    // name arrived (a cut `j_pass` already looks like one).
    let Step::Data(_, post) = &login_exchange()[2] else {
        unreachable!()
    };
    let body_at = post.len() - 31;
    for n in body_at..post.len() {
        let out = run(&[Step::Data(C2S, post[..n].to_vec())], usize::MAX);
        let h = out.http();
        assert_eq!(h.len(), 1, "len {n}");
        let found = h[0].get("password_field").is_some();
        if n >= body_at + "user=nurse&j_password".len() {
            assert!(found, "len {n}");
        } else if n < body_at + "user=nurse&j_pass".len() {
            assert!(!found, "len {n}");
        }
    }
}

#[test]
fn forms_without_password_and_pages_without_input_are_not_logins() {
    // A form whose fields are not password-like, a text/plain body that mentions one, and
    // an HTML page with only a text input: no login facts, no anomaly.
    let steps = vec![
        Step::Data(
            C2S,
            b"POST /a HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 22\r\n\r\nbed=12&passport_no=x1y"
                .to_vec(),
        ),
        Step::Data(
            C2S,
            b"POST /b HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\npassword=1".to_vec(),
        ),
        Step::Data(
            S2C,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 40\r\n\r\n<input type=text name=password_hint>   "
                .to_vec(),
        ),
    ];
    let out = run(&steps, usize::MAX);
    for h in out.http() {
        assert_eq!(h.get("password_field"), None);
        assert_eq!(h.get("login_form"), None);
        assert_eq!(h.get("cleartext_credentials"), None);
    }
    assert!(out.anomalies().is_empty());
}

#[test]
fn form_search_is_capped_and_can_be_turned_off() {
    // A password field past max_form_scan_bytes is not seen; 0 turns the search off.
    let steps = login_exchange();
    for (cap, found) in [(8, false), (0, false), (64, true)] {
        let cfg = HttpConfig {
            max_form_scan_bytes: cap,
            ..HttpConfig::default()
        };
        let h = run_cfg(&cfg, &steps, usize::MAX).http();
        assert_eq!(h[1].get("password_field").is_some(), found, "cap {cap}");
    }
}

#[test]
fn wire_finds_password_fields_by_name_only() {
    // Field-name rules per form kind; values that look like names do not count.
    use super::wire::{form_has_password_field as f, html_has_password_input as html, FormKind};
    assert!(f(FormKind::UrlEncoded, b"u=a&pwd=b"));
    assert!(f(FormKind::UrlEncoded, b"login[passwd]=x"));
    assert!(f(FormKind::UrlEncoded, b"userpass=x"));
    assert!(!f(FormKind::UrlEncoded, b"u=password&x=pwd"));
    assert!(!f(FormKind::UrlEncoded, b"compass_heading=3"));
    assert!(f(
        FormKind::Multipart,
        b"--b\r\nContent-Disposition: form-data; name=\"Password\"\r\n\r\nx\r\n--b--"
    ));
    assert!(!f(
        FormKind::Multipart,
        b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"password.txt\"\r\n\r\nx"
    ));
    assert!(f(FormKind::Json, br#"{"user": "a", "password" : "b"}"#));
    assert!(!f(
        FormKind::Json,
        br#"{"note": "password", "a": "b\",\"pwd\": 1"}"#
    ));
    assert!(html(b"<input type=\"password\" name=p>"));
    assert!(html(b"<INPUT\ttype=password/>"));
    assert!(!html(b"<input type=passwords>"));
    assert!(!html(b"<input data-type=password>"));
    assert!(!html(b"<p>type=password</p>"));
}

proptest! {
    #[test]
    fn form_and_html_search_never_panic(b in proptest::collection::vec(any::<u8>(), 0..400)) {
        // Arbitrary bodies through every search: no panic.
        for k in [wire::FormKind::UrlEncoded, wire::FormKind::Multipart, wire::FormKind::Json] {
            let _ = wire::form_has_password_field(k, &b);
        }
        let _ = wire::html_has_password_input(&b);
        let _ = wire::auth_scheme(&b);
    }
}
