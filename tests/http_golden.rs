//! Golden snapshots: every capture in tests/pcaps/http/ through `wardwatch replay`, the
//! HTTP events and HTTP anomalies compared line by line with the reviewed snapshot
//! `<capture>.eve.jsonl` beside it; requests (method, Host, User-Agent) and responses
//! (status, Server) checked against tshark's `http.*` fields on the same files.
//! `WARDWATCH_BLESS=1 cargo test --test http_golden` rewrites the snapshots (review the
//! diff before committing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    common::golden::dir("http")
}

/// The HTTP lines: `http` events and anomalies raised by the http analyzer,
/// grouped by flow (flows run on several workers, so only the order within a flow is fixed).
fn http_lines(pcap: &Path) -> Vec<String> {
    common::golden::app_lines(pcap, &["http"], "http")
}

fn http_events(pcap: &Path) -> Vec<Value> {
    http_lines(pcap)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event_type"] == "http")
        .map(|v| v["http"].clone())
        .collect()
}

fn captures() -> Vec<PathBuf> {
    common::golden::captures(&dir())
}

#[test]
fn golden_http_captures_match_snapshots() {
    // Each public HTTP capture decodes to exactly its reviewed snapshot.
    common::golden::check_snapshots(&dir(), 12, http_lines);
}

/// Multiset of tshark field rows over the frames matching `filter`.
fn tshark_rows(pcap: &Path, filter: &str, fields: &[&str]) -> BTreeMap<Vec<String>, usize> {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(pcap);
    // HTTP on the SIP port is HTTP by content; tshark decides by port.
    if pcap.to_string_lossy().contains("sip_port") {
        c.args(["-d", "tcp.port==5060,http"]);
    }
    // Reassemble out-of-order segments as wardwatch does, and dissect heads of responses
    // whose bodies the capture does not hold whole.
    c.args(["-o", "tcp.reassemble_out_of_order:TRUE"]);
    c.args(["-o", "http.desegment_body:FALSE"]);
    c.args(["-Y", filter, "-T", "fields", "-E", "occurrence=f"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().expect("run tshark");
    assert!(out.status.success(), "tshark failed on {}", pcap.display());
    let mut m = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let row: Vec<String> = l.split('\t').map(str::to_string).collect();
        *m.entry(row).or_insert(0) += 1;
    }
    m
}

#[test]
fn golden_http_agrees_with_tshark() {
    // On every capture, (method, Host, User-Agent) of each request and (status, Server) of
    // each response equal tshark's http.request.method / http.host / http.user_agent and
    // http.response.code / http.server, as multisets.
    if testkit::peers::require_tool("tshark").is_none() {
        return;
    }
    let mut compared = 0;
    for pcap in captures() {
        let mut req: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        let mut resp: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        for h in http_events(&pcap) {
            let s = |k: &str| h[k].as_str().unwrap_or("").to_string();
            if let Some(m) = h["http_method"].as_str() {
                let mut host = s("hostname");
                if let Some(p) = h["http_port"].as_u64() {
                    host = format!("{host}:{p}");
                }
                *req.entry(vec![m.to_string(), host, s("http_user_agent")])
                    .or_insert(0) += 1;
            }
            if let Some(st) = h["status"].as_u64() {
                *resp.entry(vec![st.to_string(), s("server")]).or_insert(0) += 1;
            }
        }
        let t_req = tshark_rows(
            &pcap,
            "http.request",
            &["http.request.method", "http.host", "http.user_agent"],
        );
        let t_resp = tshark_rows(
            &pcap,
            "http.response",
            &["http.response.code", "http.server"],
        );
        // tshark does not take `http/1.1` (lower case) for a response; wardwatch flags it
        // (malformed_head), so both see none there.
        assert_eq!(req, t_req, "requests differ on {}", pcap.display());
        assert_eq!(resp, t_resp, "responses differ on {}", pcap.display());
        compared += req.values().sum::<usize>() + resp.values().sum::<usize>();
    }
    assert!(compared >= 100, "only {compared} messages compared");
}

#[test]
fn golden_http_urls_carry_no_query_string() {
    // By default no reported URL keeps a query string, and the ones cut say so.
    let mut cut = 0;
    for pcap in captures() {
        for h in http_events(&pcap) {
            if let Some(u) = h["url"].as_str() {
                assert!(!u.contains('?'), "query kept in {u} ({})", pcap.display());
            }
            if h["url_query_removed"] == true {
                cut += 1;
            }
        }
    }
    assert!(cut >= 1, "no capture had a query string to remove");
}
