//! Golden snapshots: every capture in tests/pcaps/tls/ through `wardwatch replay`, the TLS
//! events and TLS anomalies compared line by line with the reviewed snapshot
//! `<capture>.eve.jsonl` beside it; SNI, JA3 (string and hash) and JA3S checked against
//! tshark's `tls.handshake.*` fields on the same files; JA4 against the values
//! suricata-verify expects. `WARDWATCH_BLESS=1 cargo test --test tls_golden` rewrites the
//! snapshots (review the diff before committing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    common::golden::dir("tls")
}

/// The TLS lines: `tls` events and anomalies raised by the tls analyzer,
/// grouped by flow (flows run on several workers, so only the order within a flow is fixed).
fn tls_lines(pcap: &Path) -> Vec<String> {
    common::golden::app_lines(pcap, &["tls"], "tls")
}

fn tls_events(pcap: &Path) -> Vec<Value> {
    tls_lines(pcap)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event_type"] == "tls")
        .map(|v| v["tls"].clone())
        .collect()
}

fn captures() -> Vec<PathBuf> {
    common::golden::captures(&dir())
}

#[test]
fn golden_tls_captures_match_snapshots() {
    // Each public TLS capture decodes to exactly its reviewed snapshot.
    common::golden::check_snapshots(&dir(), 20, tls_lines);
}

/// Multiset of tshark field rows over the frames matching `filter`.
fn tshark_rows(pcap: &Path, filter: &str, fields: &[&str]) -> BTreeMap<Vec<String>, usize> {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(pcap);
    if pcap.to_string_lossy().contains("port_80") {
        c.args(["-d", "tcp.port==80,tls"]);
    }
    // Out-of-order segments are reassembled, as wardwatch does (hrr.pcap needs it).
    c.args(["-o", "tcp.reassemble_out_of_order:TRUE"]);
    c.args(["-Y", filter, "-T", "fields", "-E", "occurrence=f"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().expect("run tshark");
    assert!(out.status.success(), "tshark failed on {}", pcap.display());
    let mut m = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let row: Vec<String> = l.split('\t').map(str::to_string).collect();
        // SSLv2-format hellos have no JA3 in tshark either.
        if row.iter().skip(1).all(String::is_empty) {
            continue;
        }
        *m.entry(row).or_insert(0) += 1;
    }
    m
}

#[test]
fn golden_ja3_sni_and_ja3s_agree_with_tshark() {
    // On every capture, (SNI, JA3 hash, JA3 string) of each ClientHello and the JA3S of
    // each ServerHello equal tshark's tls.handshake.ja3 / ja3_full / ja3s, as multisets.
    if testkit::peers::require_tool("tshark").is_none() {
        return;
    }
    let mut compared = 0;
    for pcap in captures() {
        let ev = tls_events(&pcap);
        let mut ours: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        let mut ours_s: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        for t in &ev {
            if let Some(ja3) = t.get("ja3") {
                let row = vec![
                    t["sni"].as_str().unwrap_or("").to_string(),
                    ja3["hash"].as_str().unwrap().to_string(),
                    ja3["string"].as_str().unwrap().to_string(),
                ];
                *ours.entry(row).or_insert(0) += 1;
            }
            if let Some(s) = t.get("ja3s") {
                let row = vec![
                    String::new(),
                    s["hash"].as_str().unwrap().to_string(),
                    s["string"].as_str().unwrap().to_string(),
                ];
                *ours_s.entry(row).or_insert(0) += 1;
            }
        }
        let theirs = tshark_rows(
            &pcap,
            "tcp && tls.handshake.type == 1",
            &[
                "tls.handshake.extensions_server_name",
                "tls.handshake.ja3",
                "tls.handshake.ja3_full",
            ],
        );
        let theirs_s: BTreeMap<Vec<String>, usize> = tshark_rows(
            &pcap,
            "tcp && tls.handshake.type == 2",
            &[
                "frame.number",
                "tls.handshake.ja3s",
                "tls.handshake.ja3s_full",
            ],
        )
        .into_iter()
        .fold(BTreeMap::new(), |mut m, (mut k, n)| {
            k[0].clear();
            *m.entry(k).or_insert(0) += n;
            m
        });
        assert_eq!(ours, theirs, "JA3/SNI differ on {}", pcap.display());
        assert_eq!(ours_s, theirs_s, "JA3S differ on {}", pcap.display());
        compared += ours.values().sum::<usize>();
    }
    assert!(compared >= 22, "only {compared} ClientHellos compared");
}

#[test]
fn golden_ja4_matches_suricata_verify() {
    // JA4 of the suricata-verify ja4-tls capture is the value its test.yaml expects, and the
    // ja4-cl-handshake ClientHello lists are the ones that test expects.
    let t = tls_events(&dir().join("suricata-verify_ja4-tls.pcap"));
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["ja4"], "t12i1810s1_27d4652c4487_06a4338d0495");
    let t = tls_events(&dir().join("suricata-verify_ja4-cl-handshake.pcap"));
    assert_eq!(t.len(), 1);
    let c = &t[0]["client_handshake"];
    assert_eq!(c["version"], "TLS 1.2");
    assert_eq!(
        c["ciphers"],
        serde_json::json!([
            49196, 49200, 159, 52393, 52392, 52394, 49195, 49199, 158, 49188, 49192, 107, 49187,
            49191, 103, 49162, 49172, 57, 49161, 49171, 51, 157, 156, 61, 60, 53, 47, 255
        ])
    );
    assert_eq!(c["exts"], serde_json::json!([0, 11, 10, 35, 22, 23, 13]));
    assert_eq!(
        c["sig_algs"],
        serde_json::json!([
            1027, 1283, 1539, 2055, 2056, 2057, 2058, 2059, 2052, 2053, 2054, 1025, 1281, 1537,
            771, 515, 769, 513, 770, 514, 1026, 1282, 1538
        ])
    );
    assert_eq!(t[0]["sni"], "dogfish");
}

#[test]
fn golden_tls_edge_cases() {
    // HRR pairs two ClientHellos; a huge ClientHello over many segments is whole; a
    // one-sided capture still reports its ClientHello; TLS on port 80 is found by content.
    let hrr = tls_events(&dir().join("hrr.pcap"));
    assert_eq!(hrr.len(), 2);
    assert_eq!(hrr[0]["server_handshake"]["hello_retry_request"], true);
    assert_eq!(hrr[1]["version"], "TLS 1.3");
    let huge = tls_events(&dir().join("tls_with_huge_ch.pcapng"));
    assert_eq!(huge.len(), 1);
    assert!(huge[0]["client_handshake"]["length"].as_u64().unwrap() > 1500);
    assert!(huge[0].get("truncated").is_none());
    let one = tls_events(&dir().join("tls_1.3_unidirectional_client.pcapng"));
    assert_eq!(one.len(), 1);
    assert!(one[0].get("ja3s").is_none() && one[0].get("ja4").is_some());
    let p80 = tls_events(&dir().join("tls_port_80.pcapng"));
    assert_eq!(p80.len(), 1);
}
