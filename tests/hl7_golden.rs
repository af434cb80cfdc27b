//! Golden snapshots: every capture in tests/pcaps/hl7/ through `wardwatch replay`, the HL7
//! events and HL7 anomalies compared line by line with the reviewed snapshot
//! `<capture>.eve.jsonl` beside it, and the MLLP captures checked against tshark
//! (`-d tcp.port==6661,hl7`). `WARDWATCH_BLESS=1 cargo test --test hl7_golden` rewrites the
//! snapshots (review the diff before committing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pcaps/hl7")
}

/// Every EVE line of `wardwatch replay` on `pcap`.
fn replay(pcap: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["replay", "--eve", "-"])
        .arg(pcap)
        .output()
        .expect("run wardwatch");
    assert!(
        out.status.success(),
        "wardwatch failed on {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The HL7 lines: `hl7` events and anomalies raised by the hl7 analyzer, grouped by flow
/// (flows run on several workers, so only the order within a flow is fixed).
fn hl7_lines(pcap: &Path) -> Vec<String> {
    let mut v: Vec<(u64, String)> = replay(pcap)
        .into_iter()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(&l).unwrap();
            let hl7 = v["event_type"] == "hl7"
                || (v["event_type"] == "anomaly" && v["anomaly"]["app_proto"] == "hl7");
            hl7.then(|| (v["flow_id"].as_u64().unwrap_or(0), l))
        })
        .collect();
    v.sort_by_key(|(flow, _)| *flow);
    v.into_iter().map(|(_, l)| l).collect()
}

fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    v
}

#[test]
fn golden_hl7_captures_match_snapshots() {
    // Each public HL7 capture decodes to exactly its reviewed snapshot.
    let bless = std::env::var("WARDWATCH_BLESS").is_ok_and(|v| v == "1");
    let caps = captures();
    assert!(caps.len() >= 9, "captures missing from {}", dir().display());
    let mut failures = Vec::new();
    for pcap in caps {
        let got = hl7_lines(&pcap);
        let snap = pcap.with_extension("eve.jsonl");
        if bless {
            std::fs::write(
                &snap,
                got.iter().map(|l| format!("{l}\n")).collect::<String>(),
            )
            .unwrap();
            continue;
        }
        let want: Vec<String> = std::fs::read_to_string(&snap)
            .unwrap_or_else(|_| panic!("no snapshot {}", snap.display()))
            .lines()
            .map(str::to_string)
            .collect();
        if got != want {
            failures.push(format!(
                "{}:\n  got:  {}\n  want: {}",
                pcap.display(),
                got.join("\n        "),
                want.join("\n        ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn golden_tapirx_facts() {
    // The facts the tapirx captures are known for: types, ACKs, device ids, PHI names only.
    let lines = hl7_lines(&dir().join("HL7-ADT-UDI-OBX.pcap"));
    let ev: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(ev.len(), 2, "{ev:#?}");
    let adt = &ev[0]["hl7"];
    assert_eq!(adt["message_type"], "ADT^A01");
    assert_eq!(adt["control_id"], "934576120110613083617");
    assert_eq!(adt["version"], "2.3");
    assert_eq!(adt["ack_code"], "AA");
    assert_eq!(adt["acknowledged"], true);
    assert!(adt["ack_latency_ms"].as_f64().unwrap() > 0.0);
    assert!(adt["device_evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["source"] == "OBX-18" && e["value"] == "Hospira Plum A+"));
    assert_eq!(ev[1]["hl7"]["ack_control_id"], "934576120110613083617");
    let prt = hl7_lines(&dir().join("HL7-ADT-UDI-PRT.pcap"));
    assert!(
        prt[0].contains(r#"{"source":"PRT-16","value":"Hospira Plum A+"}"#),
        "{}",
        prt[0]
    );
    for l in lines.iter().chain(&prt) {
        for phi in [
            "MOUSE",
            "MICKEY",
            "19281118",
            "135769",
            "123 Main St",
            "939-5555",
        ] {
            assert!(!l.contains(phi), "PHI {phi} in {l}");
        }
    }
}

/// (TCP source port, message type, event type) of every HL7 message in the capture.
fn tshark_messages(pcap: &Path) -> Vec<(u64, String, String)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-d", "tcp.port==6661,hl7", "-Y", "hl7", "-T", "fields"])
        .args([
            "-E",
            "separator=;",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ])
        .args([
            "-e",
            "tcp.srcport",
            "-e",
            "hl7.message.type",
            "-e",
            "hl7.event.type",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split(';').collect();
        let events: Vec<&str> = f.get(2).map(|e| e.split(',').collect()).unwrap_or_default();
        for (i, t) in f[1].split(',').enumerate() {
            let e = events.get(i).copied().unwrap_or("");
            v.push((f[0].parse().unwrap(), t.to_string(), e.to_string()));
        }
    }
    v.sort();
    v
}

#[test]
fn golden_mllp_captures_agree_with_tshark() {
    // On every MLLP capture, wardwatch and tshark see the same messages on the same ports.
    if testkit::peers::require_tool("tshark").is_none() {
        return;
    }
    for name in [
        "HL7-ADT-UDI-OBX",
        "HL7-ADT-UDI-PRT",
        "HL7-ADT",
        "HL7-ORM",
        "HL7-ORU",
        "hl7",
    ] {
        let pcap = dir().join(format!("{name}.pcap"));
        let mut ours: Vec<(u64, String, String)> = hl7_lines(&pcap)
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["event_type"] == "hl7")
            .map(|v| {
                let t = v["hl7"]["message_type"].as_str().unwrap().to_string();
                let (ty, ev) = t.split_once('^').unwrap_or((&t, ""));
                let port = if v["hl7"]["direction"] == "to_server" {
                    &v["src_port"]
                } else {
                    &v["dest_port"]
                };
                (port.as_u64().unwrap(), ty.to_string(), ev.to_string())
            })
            .collect();
        ours.sort();
        assert_eq!(ours, tshark_messages(&pcap), "{name}");
    }
}
