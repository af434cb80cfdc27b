//! Golden snapshots: every capture in tests/pcaps/ssdp/ through `wardwatch replay`, the
//! ssdp events and ssdp anomalies compared line by line with the reviewed snapshot
//! `<capture>.eve.jsonl` beside it, and each message's method or status, `SERVER`,
//! `USER-AGENT` and `LOCATION` checked against tshark's dissection of the same captures
//! (tshark's SSDP is HTTP over UDP: `http.server`, `http.user_agent`, `http.location`).
//! `WARDWATCH_BLESS=1 cargo test --test ssdp_golden` rewrites the snapshots (review the
//! diff before committing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    common::golden::dir("ssdp")
}

fn captures() -> Vec<PathBuf> {
    common::golden::captures(&dir())
}

/// The ssdp lines (events and ssdp anomalies), grouped by flow.
fn ssdp_lines(pcap: &Path) -> Vec<String> {
    common::golden::app_lines(pcap, &["ssdp"], "ssdp")
}

#[test]
fn golden_ssdp_captures_match_snapshots() {
    // Each public ssdp capture decodes to exactly its reviewed snapshot.
    common::golden::check_snapshots(&dir(), 4, ssdp_lines);
}

/// One message: method or status, server, user agent, location.
type Row = (String, String, String, String);

fn our_rows(pcap: &Path) -> Vec<Row> {
    let mut v: Vec<Row> = ssdp_lines(pcap)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event_type"] == "ssdp")
        .map(|v| {
            let d = &v["ssdp"];
            let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
            let start = d["status"]
                .as_u64()
                .map(|c| c.to_string())
                .unwrap_or_else(|| s("method"));
            (start, s("server"), s("user_agent"), s("location"))
        })
        .collect();
    v.sort();
    v
}

fn tshark_rows(pcap: &Path) -> Vec<Row> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        // Plex GDM reuses M-SEARCH on UDP 32412; tshark needs to be told it is SSDP.
        .args(["-d", "udp.port==32412,ssdp", "-Y", "ssdp", "-T", "fields"])
        .args(["-E", "separator=|"])
        .args(["-e", "http.request.method", "-e", "http.response.code"])
        .args([
            "-e",
            "http.server",
            "-e",
            "http.user_agent",
            "-e",
            "http.location",
        ])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<Row> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            let start = if f[0].is_empty() { f[1] } else { f[0] };
            (
                start.to_string(),
                f[2].to_string(),
                f[3].to_string(),
                f[4].to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn golden_ssdp_messages_agree_with_tshark() {
    // On every capture, wardwatch and tshark see the same SSDP messages with the same
    // method or status, SERVER, USER-AGENT and LOCATION.
    if testkit::peers::require_tool("tshark").is_none() {
        return;
    }
    let mut failures = Vec::new();
    for pcap in captures() {
        let ours = our_rows(&pcap);
        let theirs = tshark_rows(&pcap);
        if ours != theirs {
            failures.push(format!(
                "{}:\n ours   {ours:?}\n tshark {theirs:?}",
                pcap.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn golden_ssdp_known_facts() {
    // The suricata-verify NOTIFY: the router's SERVER string, NT and USN.
    let v: Vec<Value> = ssdp_lines(&dir().join("ssdp.pcap"))
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(v.len(), 1);
    let d = &v[0]["ssdp"];
    assert_eq!(d["method"], "NOTIFY");
    assert_eq!(
        d["server"],
        "UPnP/Tomato 1.28.7500 MIPSR2Toastman-RT K26 USB Ext UPnP/1.0 MiniUPnPd/1.6"
    );
    assert_eq!(d["nt"], "upnp:rootdevice");
    assert_eq!(
        d["usn"],
        "uuid:04645c3d-e6b4-4eea-bd35-5c320c12969f::upnp:rootdevice"
    );
    // WS-Discovery (SOAP on 3702) is not SSDP.
    assert!(ssdp_lines(&dir().join("upnp.pcap")).is_empty());
}
