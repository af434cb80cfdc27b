//! Golden snapshots for WS-Discovery: every capture in tests/pcaps/wsd through
//! `wardwatch replay`, the wsd lines (and wsd anomalies) compared with the reviewed
//! `<capture>.eve.jsonl` beside it; and each datagram's action, endpoint address and
//! `Types` checked against an independent reading: tshark extracts the UDP payloads
//! (tshark 4.0 has no WS-Discovery dissector) and Python's `xml.etree` parses them.
//! `WARDWATCH_BLESS=1 cargo test --test wsd_golden` rewrites the snapshots (review the diff).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn dir() -> PathBuf {
    common::golden::dir("wsd")
}

fn wsd_lines(pcap: &Path) -> Vec<String> {
    common::golden::app_lines(pcap, &["wsd"], "wsd")
}

#[test]
fn golden_wsd_captures_match_snapshots() {
    // Each public WS-Discovery capture decodes to exactly its reviewed snapshot.
    common::golden::check_snapshots(&dir(), 1, wsd_lines);
}

/// Reads hex payloads (one per line) and prints `action|address|types` per payload.
const PY: &str = r#"
import sys, xml.etree.ElementTree as ET
def local(t): return t.rsplit('}', 1)[-1]
for line in sys.stdin:
    root = ET.fromstring(bytes.fromhex(line.strip()))
    action = addr = ''
    types = []
    body_first = ''
    for el in root.iter():
        n = local(el.tag)
        if n == 'Action' and not action: action = (el.text or '').strip().rsplit('/', 1)[-1]
        if n == 'Body' and len(el) and not body_first: body_first = local(el[0].tag)
        if n == 'EndpointReference' and not addr:
            for c in el:
                if local(c.tag) == 'Address': addr = (c.text or '').strip()
        if n == 'Types': types += (el.text or '').split()
    print('|'.join([action or body_first, addr, ' '.join(types)]))
"#;

fn reference_rows(pcap: &Path) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", "udp.port==3702", "-T", "fields", "-e", "udp.payload"])
        .output()
        .expect("run tshark");
    assert!(out.status.success());
    let mut py = Command::new("python3")
        .args(["-c", PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    py.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let res = py.wait_with_output().unwrap();
    assert!(res.status.success());
    let mut v: Vec<String> = String::from_utf8(res.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn our_rows(pcap: &Path) -> Vec<String> {
    let mut v: Vec<String> = wsd_lines(pcap)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event_type"] == "wsd")
        .map(|v| {
            let w = &v["wsd"];
            let types: Vec<&str> = w["types"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!(
                "{}|{}|{}",
                w["action"].as_str().unwrap_or(""),
                w["endpoint_address"].as_str().unwrap_or(""),
                types.join(" ")
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn golden_wsd_agrees_with_python_xml() {
    // Every WS-Discovery datagram: the same action, endpoint address and types as Python's
    // XML parser reads from the payload tshark extracts.
    if testkit::peers::require_tool("tshark").is_none()
        || testkit::peers::require_tool("python3").is_none()
    {
        return;
    }
    let mut caps = common::golden::captures(&dir());
    caps.push(common::pcap("scenarios/synthetic_philips_demo.pcap"));
    let mut n = 0;
    for pcap in caps {
        let ours = our_rows(&pcap);
        assert_eq!(ours, reference_rows(&pcap), "{}", pcap.display());
        n += ours.len();
    }
    assert!(n >= 8, "only {n} datagrams");
}

#[test]
fn golden_wsd_patient_monitor_hello() {
    // The scenario's Philips monitor announces itself with the IHE PCD patient monitor type.
    let v: Vec<Value> = common::golden::app_lines(
        &common::pcap("scenarios/synthetic_philips_demo.pcap"),
        &["wsd"],
        "wsd",
    )
    .iter()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["wsd"]["action"], "Hello");
    assert_eq!(v[0]["wsd"]["types"][0], "urn:ihe-pcd:device:patientmonitor");
    assert_eq!(v[0]["ether"]["src_mac"], "00:09:fb:bd:75:6d");
}
