//! Unit tests of the syslog feed: escaping, RFC 5424 framing, octet counting, the spool,
//! and delivery over a local TCP receiver that drops, stalls and comes back.

use super::config::{Format, SyslogConfig, Transport};
use super::format::*;
use super::spool::{AppendError, Spool, RECORD_HEADER};
use crate::sink::{EventSink, SinkStats};
use model::{AnomalyRecord, Event, EventKind, FlowKey, FlowMeta, IpProto, MacAddr, Timestamp};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn anomaly(code: &'static str) -> Event {
    Event {
        ts: Timestamp::from_secs_micros(1_740_988_800, 123_456), // 2025-03-03T08:00:00.123456Z
        flow: Some(Box::new(FlowMeta {
            flow_id: 42,
            key: FlowKey {
                vlan: [10, 0],
                proto: IpProto::TCP,
                src_ip: IpAddr::V4(Ipv4Addr::new(10, 1, 0, 5)),
                src_port: 40001,
                dst_ip: IpAddr::V4(Ipv4Addr::new(10, 1, 0, 9)),
                dst_port: 104,
            },
            in_iface: Arc::from("eth1"),
            src_mac: Some(MacAddr([0, 9, 0xfb, 0x12, 0x34, 0x56])),
            dest_mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
            app_proto: Some("dicom"),
        })),
        kind: EventKind::Anomaly(AnomalyRecord {
            kind: "applayer",
            event: code,
            app_proto: Some("dicom"),
            direction: None,
        }),
    }
}

fn header() -> Header {
    let mut h = Header::new(16, "ward watch", "wardwatch", "b\"oot]");
    h.procid = "77".into();
    h
}

#[test]
fn cef_header_escapes_pipe_backslash_and_line_breaks() {
    // Every special character of a CEF header field: \ and | escaped, CR/LF to spaces.
    assert_eq!(cef_header(r"a|b\c"), r"a\|b\\c");
    assert_eq!(cef_header("l1\r\nl2"), "l1  l2");
    assert_eq!(cef_header("plain=ok"), "plain=ok");
}

#[test]
fn cef_value_escapes_equals_backslash_and_line_breaks() {
    // Every special character of a CEF extension value: \ = CR LF; a pipe stays as is.
    assert_eq!(cef_value(r"k=v\x"), r"k\=v\\x");
    assert_eq!(cef_value("a\nb\rc"), r"a\nb\rc");
    assert_eq!(cef_value("a|b"), "a|b");
}

#[test]
fn leef_value_never_contains_the_delimiter() {
    // LEEF values: \ CR LF tab escaped, and the delimiter (here ^) as \x5e.
    assert_eq!(leef_value("a\tb", '\t'), r"a\tb");
    assert_eq!(leef_value(r"a^b\c", '^'), r"a\x5eb\\c");
    assert_eq!(leef_value("x\r\ny", '^'), r"x\r\ny");
    for d in ['\t', '^', '|', ';'] {
        assert!(!leef_value("a\t^|;b", d).contains(d), "{d:?}");
    }
}

#[test]
fn header_fields_and_sd_values_follow_rfc5424() {
    // HOSTNAME etc. are printable ASCII (others become _), capped, "-" when empty;
    // SD-PARAM values escape " \ ].
    assert_eq!(header_field("ward watch\u{e9}", 255), "ward_watch_");
    assert_eq!(header_field("", 48), "-");
    assert_eq!(header_field(&"x".repeat(60), 48).len(), 48);
    assert_eq!(sd_value(r#"a"b\c]d"#), r#"a\"b\\c\]d"#);
}

#[test]
fn sequence_id_wraps_after_max() {
    // RFC 5424 §7.3.1: sequenceId is 1..=2147483647, then wraps to 1.
    assert_eq!(sequence_id(1), 1);
    assert_eq!(sequence_id(MAX_SEQUENCE_ID), MAX_SEQUENCE_ID);
    assert_eq!(sequence_id(MAX_SEQUENCE_ID + 1), 1);
    assert_eq!(sequence_id(0), 1);
}

#[test]
fn rfc5424_message_header_is_exact() {
    // PRI = local0 (16) * 8 + warning (4) = 132; capture time in UTC; MSGID = event_type;
    // meta and wardwatch@32473 structured data; then the payload.
    let mut out = Vec::new();
    message(
        &header(),
        Format::Json,
        '\t',
        &anomaly("bad_pdu"),
        "ward",
        7,
        1234,
        &mut out,
    );
    let s = String::from_utf8(out).unwrap();
    let want = "<132>1 2025-03-03T08:00:00.123456Z ward_watch wardwatch 77 anomaly \
                [meta sequenceId=\"7\" sysUpTime=\"1234\"][wardwatch@32473 boot=\"b\\\"oot\\]\"] {";
    assert!(s.starts_with(want), "{s}");
    // The JSON payload is the EVE line, without its newline.
    let mut eve = Vec::new();
    anomaly("bad_pdu").write_eve("ward", &mut eve);
    assert!(s.ends_with(std::str::from_utf8(&eve).unwrap().trim_end()));
    assert!(!s.contains('\n'));
}

#[test]
fn octet_counting_frames_parse_back() {
    // RFC 6587 §3.4.1: "LEN SP MSG"; several frames back to back split at the counts.
    let mut out = Vec::new();
    octet_count(b"<1>1 - - - - - - a", &mut out);
    octet_count(b"", &mut out);
    octet_count("é\n 9".as_bytes(), &mut out);
    assert!(out.starts_with(b"18 <1>1"));
    let mut rest = &out[..];
    let mut got = vec![];
    while !rest.is_empty() {
        let sp = rest.iter().position(|&b| b == b' ').unwrap();
        let n: usize = std::str::from_utf8(&rest[..sp]).unwrap().parse().unwrap();
        got.push(rest[sp + 1..sp + 1 + n].to_vec());
        rest = &rest[sp + 1 + n..];
    }
    assert_eq!(
        got,
        vec![
            b"<1>1 - - - - - - a".to_vec(),
            vec![],
            "é\n 9".as_bytes().to_vec()
        ]
    );
}

/// Splits a CEF line into header fields and extension pairs, unescaping both.
pub fn parse_cef(line: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut fields = vec![];
    let mut cur = String::new();
    let mut it = line.chars();
    while fields.len() < 7 {
        match it.next() {
            Some('\\') => cur.push(it.next().unwrap()),
            Some('|') => fields.push(std::mem::take(&mut cur)),
            Some(c) => cur.push(c),
            None => panic!("short CEF header: {line}"),
        }
    }
    let ext: String = it.collect();
    // Keys are the words before an unescaped '='; values run to the next key.
    let mut pairs: Vec<(String, String)> = vec![];
    let mut word = String::new();
    let mut raw = String::new();
    let mut chars = ext.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let n = chars.next().unwrap();
                raw.push(match n {
                    'n' => '\n',
                    'r' => '\r',
                    o => o,
                });
                word.clear();
                word.push('\u{0}');
            }
            '=' => {
                // `word` is the key just ended; strip it from the previous value.
                let key = word.trim().to_string();
                if let Some(last) = pairs.last_mut() {
                    let cut = raw.len() - word.len();
                    last.1 = raw[..cut].trim_end_matches(' ').to_string();
                }
                pairs.push((key, String::new()));
                raw.clear();
                word.clear();
            }
            ' ' => {
                raw.push(' ');
                word.clear();
            }
            c => {
                raw.push(c);
                word.push(c);
            }
        }
    }
    if let Some(last) = pairs.last_mut() {
        last.1 = raw;
    }
    (fields, pairs)
}

#[test]
fn cef_line_round_trips_through_a_parser() {
    // Header and extension of an anomaly parse back with unescaping to the event's facts.
    let ev = anomaly("bad=pdu|x");
    let v = ev.to_eve_value("ward");
    let line = cef(&ev, &v);
    let (h, ext) = parse_cef(&line);
    assert_eq!(h[0], "CEF:0");
    assert_eq!(h[1..3], ["wardwatch".to_string(), "wardwatch".to_string()]);
    assert_eq!(h[4], "anomaly:bad=pdu|x");
    assert_eq!(h[6], "5");
    let get = |k: &str| ext.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    assert_eq!(get("src"), Some("10.1.0.5"));
    assert_eq!(get("dst"), Some("10.1.0.9"));
    assert_eq!(get("spt"), Some("40001"));
    assert_eq!(get("dpt"), Some("104"));
    assert_eq!(get("smac"), Some("00:09:fb:12:34:56"));
    assert_eq!(get("proto"), Some("TCP"));
    assert_eq!(get("rt"), Some("1740988800123"));
    assert_eq!(get("cs1Label"), Some("eventType"));
    assert_eq!(get("cs1"), Some("anomaly"));
    assert_eq!(get("cs6"), Some("10"));
    let details: serde_json::Value = serde_json::from_str(get("cs4").unwrap()).unwrap();
    assert_eq!(details["event"], "bad=pdu|x");
}

#[test]
fn leef_line_has_tab_separated_attributes() {
    // LEEF 2.0 header with x09 as the delimiter field, then key=value attributes.
    let ev = anomaly("bad\tpdu");
    let v = ev.to_eve_value("ward");
    let line = leef(&ev, &v, '\t');
    let parts: Vec<&str> = line.splitn(7, '|').collect();
    assert_eq!(
        parts[..6],
        [
            "LEEF:2.0",
            "wardwatch",
            "wardwatch",
            PRODUCT_VERSION,
            "anomaly:bad\tpdu",
            "x09"
        ]
    );
    let attrs: Vec<(&str, &str)> = parts[6]
        .split('\t')
        .map(|a| a.split_once('=').unwrap())
        .collect();
    let get = |k: &str| attrs.iter().find(|(a, _)| *a == k).map(|(_, v)| *v);
    assert_eq!(get("devTime"), Some("Mar 03 2025 08:00:00.123 UTC"));
    assert_eq!(get("srcPort"), Some("40001"));
    assert_eq!(get("dstPort"), Some("104"));
    assert_eq!(get("srcMAC"), Some("00:09:fb:12:34:56"));
    assert_eq!(get("cat"), Some("anomaly"));
    assert_eq!(get("sev"), Some("5"));
    // The tab inside the code is escaped in values.
    assert_eq!(get("signature"), Some(r"Anomaly applayer bad\tpdu"));
}

#[test]
fn ecs_document_maps_the_eve_event() {
    // ECS: @timestamp, event.*, source/destination with ECS MACs, network, observer, and
    // the EVE event kept under `wardwatch`.
    let ev = anomaly("bad_pdu");
    let v = ev.to_eve_value("ward");
    let d = ecs(&v);
    assert_eq!(d["@timestamp"], "2025-03-03T08:00:00.123456Z");
    assert_eq!(d["event"]["dataset"], "wardwatch.anomaly");
    assert_eq!(d["source"]["mac"], "00-09-FB-12-34-56");
    assert_eq!(d["destination"]["port"], 104);
    assert_eq!(d["network"]["transport"], "tcp");
    assert_eq!(d["network"]["protocol"], "dicom");
    assert_eq!(d["network"]["vlan"]["id"], "10");
    assert_eq!(d["observer"]["name"], "ward");
    assert_eq!(d["wardwatch"], v);
}

// ---- spool --------------------------------------------------------------------------

fn open(dir: &std::path::Path, max: u64, seg: u64) -> Spool {
    Spool::open(dir, max, seg, 1 << 16).unwrap()
}

fn drain(s: &mut Spool) -> Vec<(u64, Vec<u8>)> {
    std::iter::from_fn(|| s.next_record()).collect()
}

#[test]
fn spool_appends_replays_in_order_and_survives_reopen() {
    // Records come back in order; after commit and reopen only undelivered ones remain,
    // and the sequence continues.
    let d = tempfile::tempdir().unwrap();
    let mut s = open(d.path(), 1 << 20, 64);
    for i in 0..10u8 {
        let q = s.take_seq();
        s.append(q, &[i; 20]).unwrap();
    }
    let got = drain(&mut s);
    assert_eq!(got.len(), 10);
    assert_eq!(got[3], (4, vec![3; 20]));
    s.rewind();
    assert_eq!(drain(&mut s).len(), 10);
    s.commit(6);
    s.sync().unwrap();
    drop(s);
    let mut s = open(d.path(), 1 << 20, 64);
    assert_eq!(s.committed(), 6);
    let got: Vec<u64> = drain(&mut s).into_iter().map(|r| r.0).collect();
    assert_eq!(got, vec![7, 8, 9, 10]);
    assert_eq!(s.take_seq(), 11);
    // Segments holding only delivered records are gone (64-byte segments: one record each).
    let files = std::fs::read_dir(d.path()).unwrap().count();
    assert!(files <= 6, "{files} files");
}

#[test]
fn spool_truncated_last_record_is_cut_and_counted() {
    // A crash mid-append leaves a torn record: reopening cuts it off, counts it, and the
    // records before it are intact; cut at every length of the last record.
    let d = tempfile::tempdir().unwrap();
    {
        let mut s = open(d.path(), 1 << 20, 1 << 20);
        for i in 1..=3u64 {
            s.append(i, b"hello world").unwrap();
        }
        s.sync().unwrap();
    }
    let seg = d.path().join(format!("seg-{:020}.spool", 1));
    let whole = std::fs::read(&seg).unwrap();
    let rec = RECORD_HEADER as usize + 11;
    for cut in 1..rec {
        std::fs::write(&seg, &whole[..whole.len() - cut]).unwrap();
        let mut s = open(d.path(), 1 << 20, 1 << 20);
        assert_eq!(s.corrupt, 1, "cut {cut}");
        let got: Vec<u64> = drain(&mut s).into_iter().map(|r| r.0).collect();
        assert_eq!(got, vec![1, 2], "cut {cut}");
        assert_eq!(std::fs::metadata(&seg).unwrap().len() as usize, 2 * rec);
        std::fs::write(&seg, &whole).unwrap();
    }
}

#[test]
fn spool_bad_checksum_skips_one_record() {
    // A flipped byte inside a record (not the last) of a spool at rest skips that record
    // only, counted; records appended since the open come from memory, then from disk
    // after a rewind, with the same damage found.
    let d = tempfile::tempdir().unwrap();
    {
        let mut s = open(d.path(), 1 << 20, 1 << 20);
        for i in 1..=3u64 {
            s.append(i, b"payload").unwrap();
        }
    }
    let seg = d.path().join(format!("seg-{:020}.spool", 1));
    let mut b = std::fs::read(&seg).unwrap();
    let rec = RECORD_HEADER as usize + 7;
    b[rec + RECORD_HEADER as usize + 2] ^= 0xff; // inside record 2's payload
    std::fs::write(&seg, &b).unwrap();
    let mut s = open(d.path(), 1 << 20, 1 << 20);
    s.append(4, b"fresh").unwrap();
    let got: Vec<u64> = drain(&mut s).into_iter().map(|r| r.0).collect();
    assert_eq!(got, vec![1, 3, 4]);
    assert_eq!(s.corrupt, 1);
    s.rewind();
    let again: Vec<(u64, Vec<u8>)> = drain(&mut s);
    assert_eq!(again.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 3, 4]);
    assert_eq!(again[2].1, b"fresh".to_vec());
    assert_eq!(s.corrupt, 2);
}

#[test]
fn spool_refuses_appends_past_its_cap() {
    // The byte cap covers whole records; a refused append keeps nothing, and delivered
    // segments free room again.
    let d = tempfile::tempdir().unwrap();
    let rec = RECORD_HEADER + 10;
    let mut s = open(d.path(), 3 * rec, rec);
    for i in 1..=3 {
        s.append(i, &[0; 10]).unwrap();
    }
    assert!(matches!(s.append(4, &[0; 10]), Err(AppendError::Full)));
    assert_eq!(s.bytes(), 3 * rec);
    drain(&mut s);
    s.commit(2);
    assert_eq!(s.bytes(), rec);
    s.append(5, &[0; 10]).unwrap();
}

#[test]
fn spool_write_error_is_reported_not_kept() {
    // A spool whose directory became unwritable reports an I/O error on a new segment.
    let d = tempfile::tempdir().unwrap();
    let sub = d.path().join("s");
    let mut s = open(&sub, 1 << 20, RECORD_HEADER + 1);
    s.append(1, b"x").unwrap();
    std::fs::remove_dir_all(&sub).unwrap();
    assert!(matches!(s.append(2, b"y"), Err(AppendError::Io(_))));
}

// ---- delivery over a local TCP receiver -------------------------------------------

/// Reads octet-counted frames from a stream; returns the sequenceIds.
fn read_frames(r: &mut impl BufRead, want: usize, seqs: &mut Vec<u64>) -> bool {
    while seqs.len() < want {
        let mut len = Vec::new();
        if r.read_until(b' ', &mut len).unwrap_or(0) == 0 {
            return false;
        }
        let n: usize = match std::str::from_utf8(&len).unwrap().trim().parse() {
            Ok(n) => n,
            Err(_) => return false,
        };
        let mut m = vec![0; n];
        if r.read_exact(&mut m).is_err() {
            return false;
        }
        let s = String::from_utf8(m).unwrap();
        let q = s.split("sequenceId=\"").nth(1).unwrap();
        seqs.push(q[..q.find('"').unwrap()].parse().unwrap());
    }
    true
}

fn tcp_cfg(addr: String, dir: &std::path::Path) -> SyslogConfig {
    SyslogConfig {
        transport: Transport::Tcp,
        address: addr,
        format: Format::Json,
        event_types: vec!["anomaly".into()],
        spool_dir: Some(dir.to_path_buf()),
        resend_window_ms: 200,
        reconnect_max_ms: 200,
        stall_timeout_ms: 500,
        close_timeout_ms: 3000,
        ..Default::default()
    }
}

#[test]
fn tcp_feed_resends_after_the_receiver_drops_and_counts_it() {
    // A receiver that reads 5 messages then resets: after reconnecting, every sequence
    // number arrives (duplicates allowed), none missing, and the failure is counted.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let d = tempfile::tempdir().unwrap();
    let cfg = tcp_cfg(l.local_addr().unwrap().to_string(), d.path());
    let mut sink = super::SyslogSink::start(&cfg, "ward", "boot1").unwrap();
    for _ in 0..20 {
        sink.offer(&anomaly("x"));
    }
    // Events of other types are not this feed's.
    sink.offer(&Event {
        kind: EventKind::Flow(model::FlowRecord {
            pkts_toserver: 0,
            pkts_toclient: 0,
            bytes_toserver: 0,
            bytes_toclient: 0,
            start: Timestamp(0),
            end: Timestamp(0),
            age: 0,
            state: model::FlowState::New,
            reason: model::FlowEndReason::Timeout,
            stream: None,
            tcp: None,
        }),
        ..anomaly("x")
    });
    let (c, _) = l.accept().unwrap();
    let mut seqs = vec![];
    let mut r = BufReader::new(c);
    assert!(read_frames(&mut r, 5, &mut seqs));
    drop(r); // close with unread data: the sender sees a reset or a close
    for _ in 0..5 {
        sink.offer(&anomaly("y"));
    }
    let (c, _) = l.accept().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = BufReader::new(c);
    let mut seqs2 = vec![];
    read_frames(&mut r, 25, &mut seqs2);
    let st = sink.stats();
    sink.close(Duration::from_secs(3));
    seqs.extend(seqs2.iter().copied());
    let mut uniq = seqs.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq, (1..=25).collect::<Vec<u64>>(), "{seqs:?}");
    // In order on the second connection.
    assert!(seqs2.windows(2).all(|w| w[0] < w[1]), "{seqs2:?}");
    assert!(SinkStats::get(&st.fail_peer_closed) + SinkStats::get(&st.fail_send) >= 1);
    assert_eq!(SinkStats::get(&st.spooled), 25);
}

#[test]
fn tcp_feed_spools_while_down_and_a_restart_continues() {
    // No receiver: messages stay in the spool; a new sink on the same spool (a restart)
    // continues the sequence and delivers the old ones first, in order.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    let d = tempfile::tempdir().unwrap();
    let mut cfg = tcp_cfg(addr.clone(), d.path());
    cfg.close_timeout_ms = 300;
    let mut sink = super::SyslogSink::start(&cfg, "ward", "boot1").unwrap();
    for _ in 0..7 {
        sink.offer(&anomaly("x"));
    }
    let st = sink.stats();
    sink.close(Duration::from_secs(1));
    assert!(SinkStats::get(&st.fail_connect) >= 1);
    assert_eq!(SinkStats::get(&st.sent), 0);
    assert!(SinkStats::get(&st.spool_bytes) > 0);
    let l = TcpListener::bind(&addr).unwrap();
    let mut sink = super::SyslogSink::start(&cfg, "ward", "boot2").unwrap();
    for _ in 0..3 {
        sink.offer(&anomaly("y"));
    }
    let (c, _) = l.accept().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut seqs = vec![];
    assert!(read_frames(&mut BufReader::new(c), 10, &mut seqs));
    sink.close(Duration::from_secs(1));
    assert_eq!(seqs, (1..=10).collect::<Vec<u64>>());
}

#[test]
fn tcp_feed_drops_a_stalled_receiver_and_offer_never_blocks() {
    // A receiver that accepts and never reads: the sender detects the stall, counts it,
    // and the writer's offer stays fast throughout; a tiny queue overflows into a count.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let d = tempfile::tempdir().unwrap();
    let mut cfg = tcp_cfg(l.local_addr().unwrap().to_string(), d.path());
    cfg.close_timeout_ms = 100;
    cfg.queue_events = 256;
    cfg.format = Format::Ecs;
    let mut sink = super::SyslogSink::start(&cfg, "ward", "b").unwrap();
    let big = anomaly("z");
    let t = Instant::now();
    let mut held = vec![];
    let mut worst = Duration::ZERO;
    let st = sink.stats();
    while t.elapsed() < Duration::from_secs(20) && SinkStats::get(&st.fail_stalled) == 0 {
        if let Ok((c, _)) = {
            l.set_nonblocking(true).unwrap();
            l.accept()
        } {
            held.push(c); // accepted, never read
        }
        let s = Instant::now();
        for _ in 0..200 {
            sink.offer(&big);
        }
        worst = worst.max(s.elapsed());
        std::thread::sleep(Duration::from_millis(5));
    }
    sink.close(Duration::from_millis(100));
    assert!(worst < Duration::from_millis(200), "offer took {worst:?}");
    assert!(SinkStats::get(&st.fail_stalled) >= 1, "{st:?}");
    assert!(SinkStats::get(&st.dropped_queue_full) > 0);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    #[test]
    fn spool_open_and_read_never_panic_on_damaged_segments(
        garbage in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        flips in proptest::collection::vec((0usize..400, proptest::prelude::any::<u8>()), 0..6),
        cut in 0usize..400,
    ) {
        // Arbitrary bytes after valid records, flipped bytes and a cut anywhere: opening and
        // reading never panic, records come back in increasing order, and appending works.
        let d = tempfile::tempdir().unwrap();
        {
            let mut s = open(d.path(), 1 << 20, 1 << 20);
            for i in 1..=5u64 {
                s.append(i, &vec![i as u8; 20 + i as usize]).unwrap();
            }
        }
        let seg = d.path().join(format!("seg-{:020}.spool", 1));
        let mut b = std::fs::read(&seg).unwrap();
        b.extend_from_slice(&garbage);
        for (at, x) in flips {
            if let Some(c) = b.get_mut(at) {
                *c ^= x;
            }
        }
        b.truncate(cut.min(b.len()).max(b.len().saturating_sub(300)));
        std::fs::write(&seg, &b).unwrap();
        let mut s = open(d.path(), 1 << 20, 1 << 20);
        let got: Vec<u64> = drain(&mut s).into_iter().map(|r| r.0).collect();
        proptest::prop_assert!(got.windows(2).all(|w| w[0] < w[1]), "{:?}", got);
        let q = s.take_seq();
        s.append(q, b"after").unwrap();
        let more: Vec<u64> = drain(&mut s).into_iter().map(|r| r.0).collect();
        proptest::prop_assert_eq!(more, vec![q]);
    }
}

#[test]
fn tcp_feed_with_a_full_spool_counts_drops_and_still_closes_promptly() {
    // A spool that holds one message: the rest are dropped and counted (the receiver sees
    // the numbers missing), the held one is delivered, and shutdown does not wait for the
    // dropped numbers.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let d = tempfile::tempdir().unwrap();
    let mut cfg = tcp_cfg(l.local_addr().unwrap().to_string(), d.path());
    cfg.spool_max_bytes = 1000;
    let mut sink = super::SyslogSink::start(&cfg, "ward", "b").unwrap();
    for _ in 0..3 {
        sink.offer(&anomaly("x"));
    }
    let (c, _) = l.accept().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut seqs = vec![];
    assert!(read_frames(
        &mut BufReader::new(c.try_clone().unwrap()),
        1,
        &mut seqs
    ));
    let st = sink.stats();
    let t = Instant::now();
    sink.close(Duration::from_secs(10));
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(seqs, vec![1]);
    assert_eq!(SinkStats::get(&st.dropped_spool_full), 2);
    assert_eq!(SinkStats::get(&st.spooled), 1);
}

#[test]
fn spool_delivered_active_segment_is_emptied_and_numbers_survive() {
    // Delivered records in the only (active) segment stop counting against the cap once
    // past a quarter of it, and the sequence survives reopening the emptied spool.
    let d = tempfile::tempdir().unwrap();
    let rec = RECORD_HEADER + 10;
    let mut s = open(d.path(), 4 * rec, 1 << 20);
    for _ in 0..4 {
        let q = s.take_seq();
        s.append(q, &[1; 10]).unwrap();
    }
    assert!(matches!(s.append(5, &[1; 10]), Err(AppendError::Full)));
    drain(&mut s);
    s.commit(4);
    assert_eq!(s.bytes(), 0);
    drop(s);
    let mut s = open(d.path(), 4 * rec, 1 << 20);
    assert_eq!(s.take_seq(), 5);
    s.append(5, &[2; 10]).unwrap();
    assert_eq!(drain(&mut s), vec![(5, vec![2; 10])]);
}

fn alert_event() -> Event {
    let mut e = anomaly("x");
    e.kind = EventKind::Alert(Box::new(model::alert::AlertEvent {
        action: "allowed",
        gid: 1,
        signature_id: 9100012,
        rev: 2,
        signature: "Clinical device talks to the Internet | new=peer".into(),
        category: "policy".into(),
        severity: 1,
        metadata: Default::default(),
        rule: "policy.clinical_no_internet".into(),
        device: None,
        evidence: vec![("dest_ip", "203.0.113.9".into())],
        count: 1,
    }));
    e
}

#[test]
fn alert_maps_to_cef_leef_and_ecs_rule_fields() {
    // An alert: CEF signature id and name from the rule, severity high, category as
    // `cat`; LEEF `cat` the category; ECS `rule.*` and event.kind `alert`.
    let ev = alert_event();
    let v = ev.to_eve_value("ward");
    let (h, ext) = parse_cef(&cef(&ev, &v));
    assert_eq!(h[4], "9100012");
    assert_eq!(h[5], "Clinical device talks to the Internet | new=peer");
    assert_eq!(h[6], "9");
    assert!(ext.contains(&("cat".into(), "policy".into())), "{ext:?}");
    let l = leef(&ev, &v, '\t');
    assert!(l.contains("\tcat=policy\t"), "{l}");
    assert!(l.starts_with("LEEF:2.0|wardwatch|wardwatch|"));
    let d = ecs(&v);
    assert_eq!(d["event"]["kind"], "alert");
    assert_eq!(d["rule"]["id"], "9100012");
    assert_eq!(d["rule"]["category"], "policy");
    assert_eq!(d["rule"]["version"], "2");
    let (sys, _) = severity(&v);
    assert_eq!(sys, 2);
}

#[test]
fn severity_from_the_event_equals_severity_from_its_json() {
    // The JSON format takes severities from the event itself: the same as from the EVE
    // tree, for every alert severity and the other event types.
    let mut evs = vec![anomaly("x")];
    for sev in 0..=5u8 {
        let mut e = alert_event();
        if let EventKind::Alert(a) = &mut e.kind {
            a.severity = sev;
        }
        evs.push(e);
    }
    for e in &evs {
        assert_eq!(
            super::format::severity_of(e),
            severity(&e.to_eve_value("ward")),
            "{e:?}"
        );
    }
    assert_eq!(
        super::format::severity_of(&evs[1]),
        (5, 3),
        "severity 0 is unknown"
    );
    assert_eq!(super::format::severity_of(&evs[2]), (2, 9));
}

#[test]
fn tcp_feed_closing_confirms_delivery_by_the_receivers_clean_close() {
    // At shutdown, with everything written and acknowledged, the sender ends its side and
    // a receiver that reads to the end and closes confirms delivery: every message is
    // committed although the resend window (60 s) is far longer than the close limit.
    // Many messages (more than one write's budget of frames) also show the sender writes
    // until the socket is full rather than one buffer per tick.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let d = tempfile::tempdir().unwrap();
    let mut cfg = tcp_cfg(l.local_addr().unwrap().to_string(), d.path());
    cfg.resend_window_ms = 60_000;
    cfg.close_timeout_ms = 20_000;
    let receiver = std::thread::spawn(move || {
        let (c, _) = l.accept().unwrap();
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut r = BufReader::new(c);
        let mut seqs = vec![];
        // Read every frame, then to the end of the stream; the socket closes on return.
        read_frames(&mut r, 3000, &mut seqs);
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut r, &mut rest);
        (seqs, rest.len())
    });
    let mut sink = super::SyslogSink::start(&cfg, "ward", "boot1").unwrap();
    for _ in 0..3000 {
        sink.offer(&anomaly("x"));
    }
    let st = sink.stats();
    sink.close(Duration::from_secs(20));
    let (seqs, trailing) = receiver.join().unwrap();
    assert_eq!(seqs, (1..=3000).collect::<Vec<u64>>());
    assert_eq!(trailing, 0);
    assert_eq!(SinkStats::get(&st.sent), 3000);
    assert_eq!(SinkStats::get(&st.resent), 0);
    let state = std::fs::read_to_string(d.path().join("state")).unwrap();
    // Nothing is left to resend: a restart sends nothing old.
    assert!(state.contains("committed 3000"), "{state}");
}
