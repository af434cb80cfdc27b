//! Golden snapshots: every capture in tests/pcaps/dns/ (DNS, mDNS, a NetBIOS-style query)
//! through `wardwatch replay`, the dns/mdns events and dns anomalies compared line by line
//! with the reviewed snapshot `<capture>.eve.jsonl` beside it, and each message's id, QR
//! bit, question names and record names/types checked against tshark's dissection of the
//! same captures. `WARDWATCH_BLESS=1 cargo test --test dns_golden` rewrites the snapshots
//! (review the diff before committing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    common::golden::dir("dns")
}

fn captures() -> Vec<PathBuf> {
    common::golden::captures(&dir())
}

/// The dns lines (events and dns anomalies), grouped by flow.
fn dns_lines(pcap: &Path) -> Vec<String> {
    common::golden::app_lines(pcap, &["dns", "mdns"], "dns")
}

#[test]
fn golden_dns_captures_match_snapshots() {
    // Each public dns capture decodes to exactly its reviewed snapshot.
    common::golden::check_snapshots(&dir(), 10, dns_lines);
}

/// One message: id, QR bit, question names, record names and types (all sections, OPT
/// excluded).
type Row = (u64, bool, String, String);

fn our_rows(pcap: &Path) -> Vec<Row> {
    let mut v: Vec<Row> = dns_lines(pcap)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event_type"] != "anomaly")
        .map(|v| {
            let d = &v[v["event_type"].as_str().unwrap()];
            let list = |k: &str, f: &dyn Fn(&Value) -> String| -> Vec<String> {
                d[k].as_array()
                    .map(|a| a.iter().map(f).collect())
                    .unwrap_or_default()
            };
            // tshark writes names over 255 wire bytes as `<Name too long>`; ours are cut
            // at the 255-byte cap.
            let qs = list("queries", &|q| {
                let n = q["rrname"].as_str().unwrap();
                if n.len() >= 255 {
                    "<Name too long>".to_string()
                } else {
                    n.to_string()
                }
            });
            let mut rs = Vec::new();
            for sec in ["answers", "authorities", "additionals"] {
                rs.extend(list(sec, &|r| {
                    format!(
                        "{}/{}",
                        r["rrname"].as_str().unwrap(),
                        r["rrtype"].as_str().unwrap()
                    )
                }));
            }
            (
                d["id"].as_u64().unwrap(),
                d["qr"].as_bool().unwrap_or(false),
                qs.join(","),
                rs.join(","),
            )
        })
        .collect();
    v.sort();
    v
}

/// tshark's type mnemonics where they differ from the RFC names wardwatch writes.
fn tshark_type(t: &str) -> String {
    match t.parse::<u16>() {
        Ok(1) => "A",
        Ok(2) => "NS",
        Ok(5) => "CNAME",
        Ok(6) => "SOA",
        Ok(12) => "PTR",
        Ok(13) => "HINFO",
        Ok(15) => "MX",
        Ok(16) => "TXT",
        Ok(28) => "AAAA",
        Ok(33) => "SRV",
        Ok(47) => "NSEC",
        Ok(46) => "RRSIG",
        Ok(48) => "DNSKEY",
        Ok(43) => "DS",
        Ok(64) => "SVCB",
        Ok(65) => "HTTPS",
        Ok(255) => "ANY",
        Ok(n) => return format!("TYPE{n}"),
        Err(_) => return t.to_string(),
    }
    .to_string()
}

fn tshark_rows(pcap: &Path) -> Vec<Row> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args([
            "-Y",
            "(dns or mdns or llmnr) && !_ws.malformed",
            "-T",
            "fields",
        ])
        .args([
            "-E",
            "separator=|",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=;",
        ])
        .args([
            "-e",
            "dns.id",
            "-e",
            "dns.flags.response",
            "-e",
            "dns.qry.name",
        ])
        .args(["-e", "dns.resp.name", "-e", "dns.resp.type"])
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
            let split = |s: &str| -> Vec<String> {
                if s.is_empty() {
                    vec![]
                } else {
                    s.split(';').map(str::to_string).collect()
                }
            };
            let names = split(f[3]);
            let types = split(f[4]);
            let rs: Vec<String> = names
                .iter()
                .zip(types.iter())
                .filter(|(_, t)| t.as_str() != "41")
                .map(|(n, t)| format!("{n}/{}", tshark_type(t)))
                .collect();
            (
                u64::from_str_radix(f[0].trim_start_matches("0x"), 16).unwrap(),
                f[1] == "1" || f[1] == "True",
                split(f[2]).join(","),
                rs.join(","),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn golden_dns_messages_agree_with_tshark() {
    // On every capture, wardwatch and tshark see the same well-formed messages with the
    // same ids, QR bits, question names and record names and types.
    if testkit::peers::require_tool("tshark").is_none() {
        return;
    }
    let mut failures = Vec::new();
    for pcap in captures() {
        // malformed_dns.pcap names its answers through chains of forward compression
        // pointers: tshark follows them, wardwatch refuses them (RFC 1035 4.1.4 allows only
        // pointers to a prior occurrence, and backward-only pointers make loops
        // impossible); golden_dns_forward_pointers_are_refused checks it instead.
        if pcap.ends_with("malformed_dns.pcap") {
            continue;
        }
        let ours: Vec<Row> = our_rows(&pcap);
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
fn golden_dns_forward_pointers_are_refused() {
    // The answers of malformed_dns.pcap (forward pointer chains) end the walk with
    // compression_loop; the questions before them are kept.
    let lines = dns_lines(&dir().join("malformed_dns.pcap"));
    let v: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let answers: Vec<&Value> = v.iter().filter(|e| e["dns"]["type"] == "answer").collect();
    assert_eq!(answers.len(), 4);
    for a in answers {
        assert_eq!(a["dns"]["truncated"], true);
        assert_eq!(a["dns"]["queries"][0]["rrname"], "www.xt.com");
    }
    assert!(v
        .iter()
        .any(|e| e["anomaly"]["event"] == "compression_loop"));
}
