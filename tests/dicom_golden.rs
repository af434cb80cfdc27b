//! Golden snapshots: every capture in tests/pcaps/dicom/ through `wardwatch replay`, the
//! DICOM events and DICOM anomalies compared line by line with the reviewed snapshot
//! `<capture>.eve.jsonl` beside it. `WARDWATCH_BLESS=1 cargo test --test dicom_golden`
//! rewrites the snapshots (review the diff before committing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pcaps/dicom")
}

/// The DICOM lines of `wardwatch replay` on `pcap`.
fn dicom_lines(pcap: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .arg("replay")
        .arg("--eve")
        .arg("-")
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
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["event_type"] == "dicom"
                || (v["event_type"] == "anomaly" && v["anomaly"]["app_proto"] == "dicom")
        })
        .map(str::to_string)
        .collect()
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
fn golden_dicom_captures_match_snapshots() {
    // Each public DICOM capture decodes to exactly its reviewed snapshot.
    let bless = std::env::var("WARDWATCH_BLESS").is_ok_and(|v| v == "1");
    let caps = captures();
    assert!(caps.len() >= 6, "captures missing from {}", dir().display());
    let mut failures = Vec::new();
    for pcap in caps {
        let got = dicom_lines(&pcap);
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
    assert!(
        failures.is_empty(),
        "snapshots differ:\n{}",
        failures.join("\n")
    );
}

#[test]
fn golden_ct_to_pacs_has_store_with_device_and_no_phi() {
    // The synthetic CT -> PACS capture: one C-STORE with its CT device attributes, PHI only
    // as keywords, the association ended by the flow (no release).
    let lines = dicom_lines(&dir().join("ct_to_pacs_scenario.pcap"));
    let ev: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let assoc = ev
        .iter()
        .find(|e| e["dicom"]["type"] == "association")
        .expect("association record");
    assert_eq!(assoc["dicom"]["calling_ae"], "BRIGHTSPEED01");
    assert_eq!(assoc["dicom"]["called_ae"], "CENTRICITY001");
    assert_eq!(assoc["dicom"]["outcome"], "accepted");
    assert_eq!(assoc["dicom"]["termination"], "none");
    let store = ev
        .iter()
        .find(|e| e["dicom"]["command"] == "C-STORE-RQ")
        .expect("C-STORE-RQ");
    assert_eq!(store["dicom"]["dataset"]["modality"], "CT");
    let rsp = ev
        .iter()
        .find(|e| e["dicom"]["command"] == "C-STORE-RSP")
        .expect("C-STORE-RSP");
    assert_eq!(rsp["dicom"]["status_class"], "success");
    assert!(rsp["dicom"]["latency_ms"].is_number());
}

#[test]
fn golden_association_requests_alone_are_reported() {
    // Client-only captures of A-ASSOCIATE-RQ: one association each, outcome unknown, with
    // the proposed contexts (the large one spans two segments).
    let lines = dicom_lines(&dir().join("dicom_arq_2_get_testclient.pcap"));
    let ev: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let a: Vec<&Value> = ev
        .iter()
        .filter(|e| e["dicom"]["type"] == "association")
        .collect();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["dicom"]["outcome"], "unknown");
    assert_eq!(a[0]["dicom"]["calling_ae"], "testclient");
    assert!(
        a[0]["dicom"]["request"]["presentation_contexts"]
            .as_array()
            .unwrap()
            .len()
            > 50
    );
    let lines = dicom_lines(&dir().join("dicom.pcap"));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains(r#""type":"association""#))
            .count(),
        4
    );
}
