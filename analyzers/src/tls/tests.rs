//! Unit tests of the TLS analyzer: wire parsing, fingerprints, record/handshake joining,
//! pairing, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests fail loudly on purpose

use super::wire::{self, ProbeResult};
use super::{TlsAnalyzer, TlsConfig};
use model::{
    AnomalyCounts, Cx, Direction, Event, EventKind, FlowMeta, IpProto, Progress, StreamAnalyzer,
    Timestamp,
};
use proptest::prelude::*;
use serde_json::Value;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

fn meta() -> FlowMeta {
    crate::testutil::flow_meta(
        IpProto::TCP,
        ("10.0.0.1", 40000),
        ("10.0.0.2", 443),
        "t",
        "tls",
    )
}

fn be16(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}

/// One extension: type, u16 length, data.
fn ext(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut v = be16(kind).to_vec();
    v.extend(be16(data.len() as u16));
    v.extend(data);
    v
}

/// A u16-length-prefixed list of u16 values.
fn list16(items: &[u16]) -> Vec<u8> {
    let mut v = be16((items.len() * 2) as u16).to_vec();
    for i in items {
        v.extend(be16(*i));
    }
    v
}

fn sni_ext(host: &str) -> Vec<u8> {
    // server_name_list length, name_type 0 (host_name), name length, name.
    let mut d = be16((host.len() + 3) as u16).to_vec();
    d.push(0);
    d.extend(be16(host.len() as u16));
    d.extend(host.as_bytes());
    ext(0, &d)
}

fn alpn_ext(protos: &[&[u8]]) -> Vec<u8> {
    let mut l = Vec::new();
    for p in protos {
        l.push(p.len() as u8);
        l.extend(*p);
    }
    let mut d = be16(l.len() as u16).to_vec();
    d.extend(l);
    ext(16, &d)
}

/// A ClientHello handshake message (header included).
fn client_hello(version: u16, ciphers: &[u16], exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = be16(version).to_vec(); // legacy_version
    b.extend([0x11; 32]); // random
    b.push(0); // session id length
    b.extend(list16(ciphers)); // cipher suites
    b.extend([1, 0]); // one compression method: null
    let e: Vec<u8> = exts.concat();
    b.extend(be16(e.len() as u16)); // extensions length
    b.extend(e);
    let mut m = vec![1, 0, (b.len() >> 8) as u8, b.len() as u8]; // type 1, length 24
    m.extend(b);
    m
}

/// A ServerHello handshake message (header included).
fn server_hello(version: u16, random: [u8; 32], cipher: u16, exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = be16(version).to_vec();
    b.extend(random);
    b.push(0); // session id length
    b.extend(be16(cipher));
    b.push(0); // compression
    let e: Vec<u8> = exts.concat();
    b.extend(be16(e.len() as u16));
    b.extend(e);
    let mut m = vec![2, 0, (b.len() >> 8) as u8, b.len() as u8];
    m.extend(b);
    m
}

/// Wraps handshake bytes into records of at most `max` body bytes.
fn records(ct: u8, body: &[u8], max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in body.chunks(max) {
        out.extend([ct, 3, 1]);
        out.extend(be16(c.len() as u16));
        out.extend(c);
    }
    out
}

/// A small TLS 1.3 ClientHello: ciphers 0x1301 0x1302, SNI, ALPN h2, supported_versions,
/// groups x25519 secp256r1, point formats uncompressed.
fn simple_ch() -> Vec<u8> {
    client_hello(
        0x0303,
        &[0x1301, 0x1302],
        &[
            sni_ext("pacs.example"),
            alpn_ext(&[b"h2", b"http/1.1"]),
            ext(43, &[4, 0x03, 0x04, 0x03, 0x03]), // supported_versions: 1.3, 1.2
            ext(10, &list16(&[29, 23])),           // supported_groups
            ext(11, &[1, 0]),                      // ec_point_formats: uncompressed
        ],
    )
}

fn simple_sh() -> Vec<u8> {
    server_hello(
        0x0303,
        [0x22; 32],
        0x1301,
        &[ext(43, &[0x03, 0x04])], // supported_versions: selected 1.3
    )
}

/// One delivery to the analyzer.
enum Step {
    Data(Direction, Vec<u8>),
    Gap(Direction, u64),
}

struct Out {
    events: Vec<Event>,
    counts: AnomalyCounts,
}

impl Out {
    fn tls(&self) -> Vec<Value> {
        self.events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Tls(_)))
            .map(|e| e.to_eve_value("t")["tls"].clone())
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

/// Runs steps through a fresh analyzer the way the pipeline does (holding back what
/// `NeedMore` left, asking again once `needed` bytes are held), cutting every delivery into
/// `chunk`-byte pieces.
fn run_cfg(cfg: &TlsConfig, steps: &[Step], chunk: usize) -> Out {
    let m = meta();
    let mut a = TlsAnalyzer::new(cfg);
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = u32::MAX;
    let mut pending: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut needed = [0usize; 2];
    {
        let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
        for s in steps {
            match s {
                Step::Data(dir, bytes) => {
                    for c in bytes.chunks(chunk.max(1)) {
                        let i = dir.index();
                        pending[i].extend_from_slice(c);
                        if pending[i].len() < needed[i] {
                            continue;
                        }
                        let buf = std::mem::take(&mut pending[i]);
                        match a.on_data(&mut cx, *dir, &buf) {
                            Progress::Done => needed[i] = 0,
                            Progress::NeedMore {
                                consumed,
                                needed: n,
                            } => {
                                assert!(consumed <= buf.len());
                                assert!(n <= 5, "asks the pipeline to hold {n} bytes");
                                pending[i] = buf[consumed..].to_vec();
                                needed[i] = n.max(pending[i].len() + 1);
                            }
                            Progress::Abandon(r) => panic!("abandoned: {r}"),
                        }
                    }
                }
                Step::Gap(dir, n) => {
                    pending[dir.index()].clear();
                    needed[dir.index()] = 0;
                    a.on_gap(&mut cx, *dir, *n);
                }
            }
        }
        a.on_eof(&mut cx, C2S);
        a.on_eof(&mut cx, S2C);
        a.on_close(&mut cx);
    }
    Out { events, counts }
}

fn run(steps: &[Step], chunk: usize) -> Out {
    run_cfg(&TlsConfig::default(), steps, chunk)
}

fn handshake() -> Vec<Step> {
    vec![
        Step::Data(C2S, records(22, &simple_ch(), 16384)),
        Step::Data(S2C, records(22, &simple_sh(), 16384)),
        Step::Data(S2C, vec![20, 3, 3, 0, 1, 1]), // change_cipher_spec
        Step::Data(S2C, vec![23, 3, 3, 0, 3, 0xde, 0xad, 0xbe]), // application data
        Step::Data(C2S, vec![23, 3, 3, 0, 2, 0xca, 0xfe]),
    ]
}

#[test]
fn client_hello_parses_exact_fields() {
    // Known ClientHello bytes give exactly the fields they encode.
    let m = simple_ch();
    let ch = wire::parse_client_hello(&m[4..]).unwrap();
    assert_eq!(ch.version, 0x0303);
    assert_eq!(ch.cipher_suites, vec![0x1301, 0x1302]);
    assert_eq!(ch.extensions, vec![0, 16, 43, 10, 11]);
    assert_eq!(ch.server_name, Some(&b"pacs.example"[..]));
    assert_eq!(ch.alpns, vec![&b"h2"[..], &b"http/1.1"[..]]);
    assert_eq!(ch.supported_versions, vec![0x0304, 0x0303]);
    assert_eq!(ch.supported_groups, vec![29, 23]);
    assert_eq!(ch.ec_point_formats, vec![0]);
    assert!(!ch.truncated && !ch.malformed_extension);
}

#[test]
fn ja3_string_and_hash_of_known_hello() {
    // JA3: legacy version, ciphers, extensions, groups, point formats in decimal; MD5.
    let m = simple_ch();
    let ch = wire::parse_client_hello(&m[4..]).unwrap();
    let s = wire::ja3_string(&ch);
    assert_eq!(s, "771,4865-4866,0-16-43-10-11,29-23,0");
    let (_, h) = wire::ja_hash("771,4865-4866,0-16-43,29-23,0".into());
    assert_eq!(h, "1d73e027bc95ccd0f6597a60b59dc780"); // python hashlib.md5
}

#[test]
fn ja3_removes_grease_everywhere() {
    // GREASE values (RFC 8701) in ciphers, extensions and groups are left out of JA3.
    let m = client_hello(
        0x0303,
        &[0x0a0a, 0x1301],
        &[
            ext(0x1a1a, &[]),
            ext(10, &list16(&[0x2a2a, 29])),
            ext(11, &[1, 0]),
        ],
    );
    let ch = wire::parse_client_hello(&m[4..]).unwrap();
    assert_eq!(wire::ja3_string(&ch), "771,4865,10-11,29,0");
    assert!(wire::is_grease(0xfafa) && !wire::is_grease(0x0a1a));
}

#[test]
fn ja4_matches_the_specification_example() {
    // The JA4 specification's worked example (Chrome): t13d1516h2_8daaf6152771_e5627efa2ab1.
    let ciphers = [
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
        0x009c, 0x009d, 0x002f, 0x0035,
    ];
    let sigs = [
        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
    ];
    let mut exts = vec![ext(0x3a3a, &[])]; // GREASE first, as Chrome sends
    exts.push(sni_ext("example.com"));
    for t in [0x0017u16, 0xff01, 0x000a, 0x000b, 0x0023, 0x0005] {
        let d = match t {
            0x000a => list16(&[0x4a4a, 29, 23, 24]),
            0x000b => vec![1, 0],
            0xff01 => vec![0],
            _ => vec![],
        };
        exts.push(ext(t, &d));
    }
    exts.push(alpn_ext(&[b"h2", b"http/1.1"]));
    exts.push(ext(0x000d, &list16(&sigs)));
    for t in [0x0012u16, 0x0033, 0x002d, 0x002b, 0x001b, 0x4469, 0x0015] {
        let d = if t == 0x002b {
            vec![4, 0x5a, 0x5a, 0x03, 0x04]
        } else {
            vec![]
        };
        exts.push(ext(t, &d));
    }
    let mut grease_ciphers = vec![0x8a8a];
    grease_ciphers.extend(ciphers);
    let m = client_hello(0x0303, &grease_ciphers, &exts);
    let ch = wire::parse_client_hello(&m[4..]).unwrap();
    assert_eq!(wire::ja4(&ch), "t13d1516h2_8daaf6152771_e5627efa2ab1");
}

#[test]
fn ja4_without_sni_alpn_or_extensions() {
    // No SNI -> `i`, no ALPN -> `00`, no extensions -> zero hash; no ciphers -> zero hash.
    let m = client_hello(0x0301, &[], &[]);
    let ch = wire::parse_client_hello(&m[4..]).unwrap();
    assert_eq!(wire::ja4(&ch), "t10i000000_000000000000_000000000000");
}

#[test]
fn ja4_alpn_non_alphanumeric_uses_hex() {
    // A first ALPN value starting or ending outside [0-9A-Za-z] is shown by its hex digits.
    let m = client_hello(0x0303, &[0x1301], &[alpn_ext(&[&[0xab, b'x', 0xcd]])]);
    let ch = wire::parse_client_hello(&m[4..]).unwrap();
    assert!(
        wire::ja4(&ch).starts_with("t12i0101ad_"),
        "{}",
        wire::ja4(&ch)
    );
}

#[test]
fn server_hello_parses_and_detects_hrr() {
    // ServerHello fields, the selected version, and a HelloRetryRequest by its random.
    let m = simple_sh();
    let sh = wire::parse_server_hello(&m[4..]).unwrap();
    assert_eq!(
        (sh.version, sh.cipher_suite, sh.selected_version),
        (0x0303, 0x1301, Some(0x0304))
    );
    assert_eq!(sh.extensions, vec![43]);
    assert!(!sh.hello_retry_request && !sh.truncated);
    assert_eq!(wire::ja3s_string(&sh), "771,4865,43");
    let h = server_hello(0x0303, wire::HRR_RANDOM, 0x1301, &[]);
    assert!(
        wire::parse_server_hello(&h[4..])
            .unwrap()
            .hello_retry_request
    );
    assert_eq!(wire::cipher_name(0x1301), Some("TLS_AES_128_GCM_SHA256"));
}

#[test]
fn client_hello_truncated_at_every_len() {
    // Every prefix of a ClientHello body parses to a prefix of the fields, flagged truncated.
    let m = simple_ch();
    let body = &m[4..];
    let full = wire::parse_client_hello(body).unwrap();
    for n in 0..body.len() {
        match wire::parse_client_hello(&body[..n]) {
            None => assert!(n < 2, "no result at {n}"),
            Some(ch) => {
                // At 43 bytes the hello ends after its compression methods: a valid
                // hello without extensions (TLS 1.0 style), so not truncated.
                assert!(ch.truncated || n == 43, "prefix {n} not flagged");
                assert!(full.cipher_suites.starts_with(&ch.cipher_suites));
                assert!(full.extensions.starts_with(&ch.extensions));
            }
        }
    }
    let sb = simple_sh();
    let s = wire::parse_server_hello(&sb[4..]).unwrap();
    for n in 2..sb.len() - 4 {
        // 38 bytes: a complete ServerHello without extensions.
        assert!(
            wire::parse_server_hello(&sb[4..4 + n]).unwrap().truncated || n == 38,
            "{n}"
        );
    }
    assert!(!s.truncated);
}

#[test]
fn record_header_and_probe() {
    // Record headers: type 20..24, version 0x0300..0x0304, length <= 2^14 + 2048.
    assert_eq!(
        wire::parse_record_header(&[22, 3, 1, 0, 5]),
        Ok(wire::RecordHeader {
            content_type: 22,
            version: 0x0301,
            length: 5
        })
    );
    assert_eq!(
        wire::parse_record_header(&[22, 3, 1, 0]),
        Err(wire::RecordError::Incomplete)
    );
    assert_eq!(
        wire::parse_record_header(&[25, 3, 1, 0, 5]),
        Err(wire::RecordError::Invalid)
    );
    assert_eq!(
        wire::parse_record_header(&[22, 3, 5, 0, 5]),
        Err(wire::RecordError::Invalid)
    );
    assert_eq!(
        wire::parse_record_header(&[23, 3, 3, 0x48, 0x01]),
        Err(wire::RecordError::Invalid)
    );
    let rec = records(22, &simple_ch(), 16384);
    assert_eq!(wire::probe(&rec), ProbeResult::Match);
    for n in 0..9 {
        assert_eq!(wire::probe(&rec[..n]), ProbeResult::NeedMore, "prefix {n}");
    }
    assert_eq!(
        wire::probe(&records(22, &simple_sh(), 100)),
        ProbeResult::Match
    );
    assert_eq!(wire::probe(b"GET / HTTP/1.1\r\n"), ProbeResult::NoMatch);
    assert_eq!(
        wire::probe(&[22, 3, 1, 0, 40, 11, 0, 0, 36]),
        ProbeResult::NoMatch
    ); // certificate
    assert_eq!(wire::probe(&[23, 3, 3, 0, 40, 1]), ProbeResult::NoMatch); // application data
    assert_eq!(wire::probe(&[22, 3, 1, 0, 2, 1]), ProbeResult::NoMatch); // too short a record
}

#[test]
fn handshake_reports_one_paired_event() {
    // A ClientHello and its ServerHello become one tls event with both sides' facts.
    let out = run(&handshake(), usize::MAX);
    let t = out.tls();
    assert_eq!(t.len(), 1, "{t:#?}");
    let e = &t[0];
    assert_eq!(e["sni"], "pacs.example");
    assert_eq!(e["version"], "TLS 1.3");
    assert_eq!(e["ja3"]["string"], "771,4865-4866,0-16-43-10-11,29-23,0");
    assert_eq!(e["ja3s"]["string"], "771,4865,43");
    assert_eq!(e["ja3s"]["hash"], "cce84e7a8b742462e40afb585a3e3ccc");
    assert_eq!(e["client_alpns"], serde_json::json!(["h2", "http/1.1"]));
    assert_eq!(
        e["client_handshake"]["supported_versions"],
        serde_json::json!(["TLS 1.3", "TLS 1.2"])
    );
    assert_eq!(
        e["server_handshake"]["cipher_name"],
        "TLS_AES_128_GCM_SHA256"
    );
    assert!(e["ja4"].as_str().unwrap().starts_with("t13d0205h2_"));
    assert!(e.get("truncated").is_none());
    assert!(out.anomalies().is_empty(), "{:?}", out.anomalies());
}

#[test]
fn handshake_byte_at_a_time_equals_whole() {
    // One byte per delivery and every chunk size up to 64 give the same events as one shot.
    let whole = run(&handshake(), usize::MAX).lines();
    for chunk in 1..64 {
        assert_eq!(run(&handshake(), chunk).lines(), whole, "chunk {chunk}");
    }
}

#[test]
fn handshake_split_at_every_point_equals_whole() {
    // The client stream cut in two at every point gives the same events.
    let ch = records(22, &simple_ch(), 16384);
    let whole = run(&handshake(), usize::MAX).lines();
    for cut in 0..=ch.len() {
        let mut steps = vec![
            Step::Data(C2S, ch[..cut].to_vec()),
            Step::Data(C2S, ch[cut..].to_vec()),
        ];
        steps.extend(handshake().into_iter().skip(1));
        assert_eq!(run(&steps, usize::MAX).lines(), whole, "cut {cut}");
    }
}

#[test]
fn hello_spanning_several_records_is_joined() {
    // A ClientHello fragmented over 7-byte records decodes like an unfragmented one.
    let mut steps = handshake();
    steps[0] = Step::Data(C2S, records(22, &simple_ch(), 7));
    let whole = run(&handshake(), usize::MAX).tls();
    assert_eq!(run(&steps, 3).tls(), whole);
}

#[test]
fn oversized_hello_is_reported_truncated() {
    // A ClientHello past max_handshake_bytes: handshake_too_large, head parsed, truncated.
    let cfg = TlsConfig {
        max_handshake_bytes: 60,
        ..TlsConfig::default()
    };
    let out = run_cfg(&cfg, &handshake(), usize::MAX);
    let t = out.tls();
    assert_eq!(t.len(), 1, "{t:#?}");
    assert_eq!(t[0]["truncated"], true);
    // A fingerprint of part of a hello would be wrong: none is given.
    assert!(t[0].get("ja3").is_none() && t[0].get("ja4").is_none());
    assert_eq!(t[0]["ja3s"]["string"], "771,4865,43");
    assert_eq!(
        t[0]["client_handshake"]["ciphers"],
        serde_json::json!([4865, 4866])
    );
    assert!(out.anomalies().contains(&"handshake_too_large"));
    assert!(out.anomalies().contains(&"truncated_hello"));
}

#[test]
fn hello_retry_request_pairs_each_client_hello() {
    // HRR: the first ClientHello is paired with the HRR, the second with the ServerHello.
    let hrr = server_hello(0x0303, wire::HRR_RANDOM, 0x1301, &[ext(43, &[3, 4])]);
    let steps = vec![
        Step::Data(C2S, records(22, &simple_ch(), 16384)),
        Step::Data(S2C, records(22, &hrr, 16384)),
        Step::Data(C2S, vec![20, 3, 3, 0, 1, 1]),
        Step::Data(C2S, records(22, &simple_ch(), 16384)),
        Step::Data(S2C, records(22, &simple_sh(), 16384)),
    ];
    let t = run(&steps, usize::MAX).tls();
    assert_eq!(t.len(), 2, "{t:#?}");
    assert_eq!(t[0]["server_handshake"]["hello_retry_request"], true);
    assert!(t[1]["server_handshake"]
        .get("hello_retry_request")
        .is_none());
}

#[test]
fn client_only_is_reported_at_close() {
    // A one-sided capture: the ClientHello is reported when the connection ends.
    let out = run(&handshake()[..1], usize::MAX);
    let t = out.tls();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["version"], "TLS 1.2");
    assert!(t[0].get("ja3s").is_none());
}

#[test]
fn gap_inside_hello_keeps_its_head() {
    // Bytes lost inside a ClientHello: gap_in_handshake, head reported truncated.
    let ch = records(22, &simple_ch(), 16384);
    let steps = vec![Step::Data(C2S, ch[..40].to_vec()), Step::Gap(C2S, 100)];
    let out = run(&steps, usize::MAX);
    assert_eq!(out.tls().len(), 1);
    assert_eq!(out.tls()[0]["truncated"], true);
    assert!(out.anomalies().contains(&"gap_in_handshake"));
}

#[test]
fn non_tls_bytes_raise_bad_record_header_once() {
    // Garbage after the probe: one anomaly, then the direction is skipped.
    let steps = vec![Step::Data(
        C2S,
        b"GET / HTTP/1.1\r\n\r\nmore and more".to_vec(),
    )];
    let out = run(&steps, 1);
    assert_eq!(out.anomalies(), vec!["bad_record_header"]);
    assert_eq!(out.counts.total(), 1);
}

#[test]
fn malformed_extension_is_flagged_not_fatal() {
    // An ALPN extension whose inner length overruns: anomaly, other fields kept.
    let m = client_hello(
        0x0303,
        &[0x1301],
        &[ext(16, &[0, 9, 2, b'h']), sni_ext("a")],
    );
    let out = run(&[Step::Data(C2S, records(22, &m, 16384))], usize::MAX);
    assert!(out.anomalies().contains(&"malformed_extension"));
    assert_eq!(out.tls()[0]["sni"], "a");
}

#[test]
fn caps_apply_to_strings_and_lists() {
    // SNI and lists are cut at their caps and the event says so.
    let cfg = TlsConfig {
        max_string_bytes: 4,
        max_list_items: 1,
        ..TlsConfig::default()
    };
    let t = run_cfg(&cfg, &handshake(), usize::MAX).tls();
    assert_eq!(t[0]["sni"], "pacs");
    assert_eq!(
        t[0]["client_handshake"]["ciphers"],
        serde_json::json!([4865])
    );
    assert_eq!(t[0]["capped"], true);
    // The fingerprint still covers the whole lists.
    assert_eq!(t[0]["ja3"]["string"], "771,4865-4866,0-16-43-10-11,29-23,0");
}

#[test]
fn fuzz_regressions_replay_whole_equals_chunked() {
    // Inputs saved under fuzz/regressions/tls/ run as the fuzz target runs them: no panic,
    // and whole delivery gives the same events as byte-at-a-time delivery.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/tls");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        let steps = fuzz_steps(&data);
        assert_eq!(run(&steps, usize::MAX).lines(), run(&steps, 1).lines());
        n += 1;
    }
    assert!(n >= 2, "regression inputs missing from {}", dir.display());
}

/// The fuzz target's input split: bytes before the first 0xFF marker go to the server,
/// the rest to the client.
fn fuzz_steps(data: &[u8]) -> Vec<Step> {
    let (a, b) = match data.iter().position(|&x| x == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    vec![Step::Data(C2S, a.to_vec()), Step::Data(S2C, b.to_vec())]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(a in proptest::collection::vec(any::<u8>(), 0..600),
                                   b in proptest::collection::vec(any::<u8>(), 0..600),
                                   chunk in 1usize..40) {
        // Arbitrary streams: no panic, bounded events, chunking changes nothing.
        let steps = vec![Step::Data(C2S, a.clone()), Step::Data(S2C, b.clone())];
        let whole = run(&steps, usize::MAX);
        prop_assert!(whole.events.len() <= 16);
        prop_assert_eq!(run(&steps, chunk).lines(), whole.lines());
        let _ = wire::parse_client_hello(&a);
        let _ = wire::parse_server_hello(&b);
        let _ = wire::probe(&a);
    }

    #[test]
    fn mutated_handshakes_chunk_alike(pos in 0usize..400, val in any::<u8>(), chunk in 1usize..30) {
        // A valid handshake with one byte changed: chunked delivery gives the same events.
        let mut ch = records(22, &simple_ch(), 50);
        let p = pos % ch.len();
        ch[p] = val;
        let steps = vec![
            Step::Data(C2S, ch),
            Step::Data(S2C, records(22, &simple_sh(), 16384)),
        ];
        prop_assert_eq!(run(&steps, chunk).lines(), run(&steps, usize::MAX).lines());
    }
}
