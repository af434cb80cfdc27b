//! Golden snapshots for the link-layer analyzers: every capture in tests/pcaps/lldp_cdp
//! through `wardwatch replay`, the lldp, cdp and arp lines (and their anomalies) compared
//! with the reviewed `<capture>.eve.jsonl` beside it; LLDP and CDP fields checked against
//! tshark's dissection of the same frames (`lldp.chassis.id.mac`, `lldp.port.id`,
//! `lldp.tlv.system.name`, `lldp.time_to_live`, `cdp.deviceid`, `cdp.platform`,
//! `cdp.software_version`, `cdp.portid`), and ARP bindings against tshark's
//! `arp.src.proto_ipv4` / `arp.src.hw_mac`.
//! `WARDWATCH_BLESS=1 cargo test --test l2_golden` rewrites the snapshots (review the diff).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    common::golden::dir("lldp_cdp")
}

/// The link-layer lines of a replay, in capture-time order (they carry no flow id).
fn l2_lines(pcap: &Path) -> Vec<String> {
    let mut v: Vec<(String, String)> = common::golden::replay_lines(pcap)
        .into_iter()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(&l).unwrap();
            let t = v["event_type"].as_str().unwrap_or_default();
            let keep = matches!(t, "lldp" | "cdp" | "arp");
            keep.then(|| (v["timestamp"].as_str().unwrap_or_default().to_string(), l))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, l)| l).collect()
}

fn events(pcap: &Path, ty: &str) -> Vec<Value> {
    l2_lines(pcap)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event_type"] == ty)
        .map(|v| v[ty].clone())
        .collect()
}

#[test]
fn golden_l2_captures_match_snapshots() {
    // Each public LLDP/CDP capture decodes to exactly its reviewed snapshot.
    common::golden::check_snapshots(&dir(), 7, l2_lines);
}

fn tshark_rows(pcap: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(pcap);
    c.args([
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=f",
    ]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().expect("run tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('|').map(|s| s.replace("\\n", "\n")).collect())
        .collect()
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

#[test]
fn golden_lldp_and_cdp_agree_with_tshark() {
    // On every capture, wardwatch and tshark read the same LLDPDUs (chassis MAC, port id,
    // system name, TTL) and CDP announcements (device id, platform, software, port).
    if testkit::peers::require_tool("tshark").is_none() {
        return;
    }
    let mut failures = Vec::new();
    let mut compared = 0;
    for pcap in common::golden::captures(&dir()) {
        let ours: Vec<Vec<String>> = events(&pcap, "lldp")
            .iter()
            // tshark leaves PDUs without a valid Chassis ID TLV undissected.
            .filter(|e| e["chassis_id_subtype"] != "missing")
            .map(|e| {
                let mac = if e["chassis_id_subtype"] == "mac_address" {
                    s(&e["chassis_id"])
                } else {
                    String::new()
                };
                vec![mac, s(&e["port_id"]), s(&e["system_name"]), s(&e["ttl"])]
            })
            .collect();
        let theirs: Vec<Vec<String>> = tshark_rows(
            &pcap,
            "lldp.chassis.id.mac or lldp.chassis.id or lldp.port.id",
            &[
                "lldp.chassis.id.mac",
                "lldp.port.id",
                "lldp.port.id.mac",
                "lldp.tlv.system.name",
                "lldp.time_to_live",
            ],
        )
        .into_iter()
        .map(|r| {
            // A MAC port id is in its own field.
            let port = if r[1].is_empty() { &r[2] } else { &r[1] };
            vec![r[0].clone(), port.clone(), r[3].clone(), r[4].clone()]
        })
        .collect();
        compared += ours.len();
        if ours != theirs {
            failures.push(format!(
                "{} lldp:\n ours   {ours:?}\n tshark {theirs:?}",
                pcap.display()
            ));
        }
        let ours: Vec<Vec<String>> = events(&pcap, "cdp")
            .iter()
            .map(|e| {
                // tshark splits the software version into lines; compare the first.
                ["device_id", "platform", "software_version", "port_id"]
                    .iter()
                    .map(|k| s(&e[*k]).lines().next().unwrap_or_default().to_string())
                    .collect()
            })
            .collect();
        let theirs = tshark_rows(
            &pcap,
            "cdp",
            &[
                "cdp.deviceid",
                "cdp.platform",
                "cdp.software_version",
                "cdp.portid",
            ],
        );
        compared += ours.len();
        if ours != theirs {
            failures.push(format!(
                "{} cdp:\n ours   {ours:?}\n tshark {theirs:?}",
                pcap.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compared >= 20, "only {compared} PDUs compared");
}

#[test]
fn golden_arp_bindings_agree_with_tshark() {
    // Each distinct (sender IP, sender MAC) of the ARP packets tshark sees is reported
    // once as a binding, and nothing else is.
    if testkit::peers::require_tool("tshark").is_none() {
        return;
    }
    for rel in [
        "scenarios/synthetic_philips_demo.pcap",
        "flow/tcp_scan.pcapng",
    ] {
        let pcap = common::pcap(rel);
        let arp = events(&pcap, "arp");
        let ours: Vec<(String, String)> = arp
            .iter()
            .map(|e| (s(&e["sender_ip"]), s(&e["sender_mac"])))
            .collect();
        let theirs: BTreeSet<(String, String)> = tshark_rows(
            &pcap,
            "arp and arp.src.proto_ipv4 != 0.0.0.0",
            &["arp.src.proto_ipv4", "arp.src.hw_mac"],
        )
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
        assert!(!theirs.is_empty(), "{rel}: no ARP");
        let set: BTreeSet<_> = ours.iter().cloned().collect();
        assert_eq!(set.len(), ours.len(), "{rel}: a binding reported twice");
        assert_eq!(set, theirs, "{rel}");
        assert!(arp.iter().all(|e| e["previous_mac"].is_null()));
    }
}

#[test]
fn golden_lldp_known_facts() {
    // The SMC switch's LLDPDU: its management address and capabilities; the link-aggregation
    // capture (no mandatory TLVs) is reported truncated with the named anomaly counted.
    let e = events(&dir().join("lldp.pcap"), "lldp");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["management_addresses"][0], "192.168.2.10");
    assert_eq!(e[0]["capabilities"][0], "bridge");
    assert_eq!(
        e[0]["system_description"],
        "SMCGS8P-Smart - SMCGS8P-Smart v3.20"
    );
    let e = events(&dir().join("lldp_8021_linkagg.pcap"), "lldp");
    assert!(e.iter().all(|x| x["truncated"] == true));
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["replay", "--eve", "/dev/null"])
        .arg(dir().join("lldp_8021_linkagg.pcap"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("missing_mandatory_tlv"), "{text}");
}
