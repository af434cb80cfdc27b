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
        // Flows ending together (end of capture) are written in no fixed order: compare
        // sorted lines (each starts with its timestamp).
        let mut got = dicom_lines(&pcap);
        got.sort();
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
            let first = got
                .iter()
                .zip(&want)
                .position(|(g, w)| g != w)
                .unwrap_or(got.len().min(want.len()));
            let cut = |v: &[String]| {
                v.get(first)
                    .map(|l| l.chars().take(600).collect::<String>())
                    .unwrap_or_default()
            };
            failures.push(format!(
                "{}: {} lines, snapshot {}; first difference at line {first}:\n  got:  {}\n  want: {}",
                pcap.display(),
                got.len(),
                want.len(),
                cut(&got),
                cut(&want)
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

fn pdu(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![ty, 0];
    b.extend_from_slice(&(body.len() as u32).to_be_bytes());
    b.extend_from_slice(body);
    b
}

fn el(group: u16, elem: u16, v: &[u8]) -> Vec<u8> {
    let mut b = group.to_le_bytes().to_vec();
    b.extend_from_slice(&elem.to_le_bytes());
    b.extend_from_slice(&(v.len() as u32).to_le_bytes());
    b.extend_from_slice(v);
    b
}

/// A P-DATA-TF with one command PDV (context 1, last fragment).
fn command_pdata(elements: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = elements.concat();
    let mut cmd = el(0, 0, &(body.len() as u32).to_le_bytes());
    cmd.extend(body);
    let mut pdv = ((cmd.len() + 2) as u32).to_be_bytes().to_vec();
    pdv.extend_from_slice(&[1, 3]);
    pdv.extend(cmd);
    pdu(4, &pdv)
}

#[test]
fn midstream_flow_on_unhinted_port_decodes_commands() {
    // A capture joined after the association (no SYN, no A-ASSOCIATE), on port 4242 (no
    // port hint), starting inside a PDU: the flow is found by content and its C-ECHO pair
    // decoded with latency.
    use testkit::pcap::{PcapWriter, TcpConv, ACK, PSH};
    let uid = b"1.2.840.10008.1.1\0";
    let rq = command_pdata(&[
        el(0, 2, uid),
        el(0, 0x100, &0x30u16.to_le_bytes()),
        el(0, 0x110, &7u16.to_le_bytes()),
        el(0, 0x800, &0x101u16.to_le_bytes()),
    ]);
    let rsp = command_pdata(&[
        el(0, 2, uid),
        el(0, 0x100, &0x8030u16.to_le_bytes()),
        el(0, 0x120, &7u16.to_le_bytes()),
        el(0, 0x800, &0x101u16.to_le_bytes()),
        el(0, 0x900, &0u16.to_le_bytes()),
    ]);
    let mut conv = TcpConv::new(
        ("10.9.0.1".parse().unwrap(), 50123),
        ("10.9.0.2".parse().unwrap(), 4242),
        1000,
        9000,
    );
    let mut w = PcapWriter::new(testkit::pcap::LINKTYPE_ETHERNET);
    let mut c2s = vec![0x3c; 23]; // the tail of a PDU whose start was not captured
    c2s.extend(&rq);
    w.add(1_740_988_800_000_000, &conv.seg(true, PSH | ACK, &c2s));
    w.add(1_740_988_800_002_500, &conv.seg(false, PSH | ACK, &rsp));
    w.add(1_740_988_800_003_000, &conv.seg(true, ACK, b""));
    let dir = std::env::temp_dir().join(format!("wardwatch-dicom-mid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("mid.pcap");
    w.write_to(&pcap).unwrap();
    let ev: Vec<Value> = dicom_lines(&pcap)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    let cmds: Vec<&Value> = ev
        .iter()
        .filter(|e| e["dicom"]["type"] == "command")
        .collect();
    assert_eq!(cmds.len(), 2, "{ev:?}");
    assert_eq!(cmds[0]["dicom"]["command"], "C-ECHO-RQ");
    assert_eq!(cmds[0]["dest_port"], 4242);
    assert_eq!(cmds[1]["dicom"]["message_id_responded"], 7);
    assert_eq!(cmds[1]["dicom"]["latency_ms"], 2.5);
    let a = ev
        .iter()
        .find(|e| e["dicom"]["type"] == "association")
        .unwrap();
    assert_eq!(a["dicom"]["midstream"], true);
    assert_eq!(a["dicom"]["commands"]["C-ECHO-RSP"], 1);
}
