//! Golden snapshots: every capture in tests/pcaps/dhcp/ through `wardwatch replay`, the
//! DHCP events and DHCP anomalies compared line by line with the reviewed snapshot
//! `<capture>.eve.jsonl` beside it, and the fingerprint fields (transaction id, message
//! type, client MAC, option 12, option 55 in order, option 60; DHCPv6 message type and
//! transaction id) checked against tshark's dissection of the same captures.
//! `WARDWATCH_BLESS=1 cargo test --test dhcp_golden` rewrites the snapshots (review the diff
//! before committing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    common::golden::dir("dhcp")
}

fn captures() -> Vec<PathBuf> {
    common::golden::captures(&dir())
}

/// The dhcp lines (events and dhcp anomalies), grouped by flow.
fn dhcp_lines(pcap: &Path) -> Vec<String> {
    common::golden::app_lines(pcap, &["dhcp"], "dhcp")
}

#[test]
fn golden_dhcp_captures_match_snapshots() {
    // Each public dhcp capture decodes to exactly its reviewed snapshot.
    common::golden::check_snapshots(&dir(), 16, dhcp_lines);
}

/// One message's fingerprint: version, id (hex), type number, MAC, host name, option 55,
/// option 60.
type Row = (u8, String, String, String, String, String, String);

fn our_rows(pcap: &Path) -> Vec<Row> {
    let mut v: Vec<Row> = dhcp_lines(pcap)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event_type"] == "dhcp")
        .map(|v| {
            let d = &v["dhcp"];
            let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
            let version = d["version"].as_u64().unwrap() as u8;
            let id = if version == 4 {
                format!("0x{:08x}", d["id"].as_u64().unwrap())
            } else {
                format!("0x{:06x}", d["id"].as_u64().unwrap())
            };
            let params = d["params"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let (params, mac, host, vci) = if version == 4 {
                (
                    params,
                    s("client_mac"),
                    s("hostname"),
                    s("vendor_class_identifier"),
                )
            } else {
                Default::default()
            };
            let t = d["dhcp_type_code"].as_u64().map(|t| t.to_string());
            (version, id, t.unwrap_or_default(), mac, host, params, vci)
        })
        .collect();
    v.sort();
    v
}

fn tshark_rows(pcap: &Path) -> Vec<Row> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", "dhcp or dhcpv6", "-T", "fields", "-E", "separator=|"])
        .args(["-E", "occurrence=a", "-E", "aggregator=,"])
        .args([
            "-e",
            "dhcp.id",
            "-e",
            "dhcp.option.dhcp",
            "-e",
            "dhcp.hw.mac_addr",
        ])
        .args([
            "-e",
            "dhcp.option.hostname",
            "-e",
            "dhcp.option.request_list_item",
        ])
        .args(["-e", "dhcp.option.vendor_class_id"])
        .args(["-e", "dhcpv6.msgtype", "-e", "dhcpv6.xid"])
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
            let f: Vec<String> = l.split('|').map(str::to_string).collect();
            // Only the outer message: the first value of a field (tshark also lists
            // option 61's MAC and a relayed DHCPv6 message's fields).
            let first = |i: usize| f[i].split(',').next().unwrap_or("").to_string();
            if f[0].is_empty() {
                // DHCPv6 relays: the innermost (client's) message is the one reported.
                let last = |i: usize| f[i].split(',').next_back().unwrap_or("").to_string();
                (
                    6,
                    last(7),
                    last(6),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                )
            } else {
                (
                    4,
                    f[0].clone(),
                    first(1),
                    first(2),
                    f[3].clone(),
                    f[4].clone(),
                    f[5].clone(),
                )
            }
        })
        .collect();
    v.sort();
    v
}

#[test]
fn golden_dhcp_fingerprints_agree_with_tshark() {
    // On every capture, wardwatch and tshark see the same messages with the same
    // transaction ids, types, MACs, host names, parameter lists (in order) and vendor
    // classes.
    if testkit::peers::require_tool("tshark").is_none() {
        return;
    }
    let mut failures = Vec::new();
    for pcap in captures() {
        let ours = our_rows(&pcap);
        let theirs = tshark_rows(&pcap);
        if ours != theirs {
            failures.push(format!(
                "{}:\n ours {ours:?}\n tshark {theirs:?}",
                pcap.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn golden_dhcp_known_facts() {
    // Facts the captures are known for: the Suricata option-60 case, RFC 3004 user classes,
    // the fuzzed packet kept with its host name and flagged.
    let ev = |name: &str| -> Vec<Value> {
        dhcp_lines(&dir().join(name))
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let v = ev("suricata-verify_dhcp-eve-extended-option-60.pcap");
    assert_eq!(v[0]["dhcp"]["vendor_class_identifier"], "MSFT 5.0");
    assert_eq!(v[0]["dhcp"]["hostname"], "NicksMacBook");
    assert_eq!(v[0]["dhcp"]["dhcp_type"], "request");
    assert_eq!(v[0]["app_proto"], "dhcp");
    let v = ev("dhcp-fuzz.pcapng");
    let d = v.iter().find(|e| e["event_type"] == "dhcp").unwrap();
    assert_eq!(d["dhcp"]["hostname"], "MK03862");
    let v = ev("dhcpv6-ia-na.pcap");
    assert_eq!(v[0]["dhcp"]["dhcp_type"], "solicit");
    assert_eq!(v[0]["dhcp"]["version"], 6);
}
