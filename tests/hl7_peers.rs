//! HL7 v2 against real peers: python-hl7's MLLP client sends, hl7apy's MLLP server answers,
//! on loopback inside a private network namespace, captured by tcpdump, decoded by
//! `wardwatch replay`, and compared with (a) what the test sent, (b) the ACKs as python-hl7
//! parsed them, and (c) tshark's HL7 dissection of the same capture
//! (`-d tcp.port==6661,hl7`: message and event type of every message it decodes).
//!
//! Needs root (network namespaces), tcpdump, tshark, and the test venv with `hl7` and
//! `hl7apy` (`.ci/requirements-peers.txt`). Outside CI a missing peer skips the test; under
//! CI it fails it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{netns, peers};

const SERVER_PY: &str = include_str!("hl7_peers/server.py");
const CLIENT_PY: &str = include_str!("hl7_peers/client.py");
/// Not a port hint: HL7 must be found by content.
const PORT: u16 = 6661;

/// PHI the messages carry; none may appear in anything wardwatch writes.
const PHI_VALUES: &[&str] = &[
    "QUIMBY",
    "ZEPHYRINE",
    "19390817",
    "MRN-7731-QZ",
    "WOMBAT LANE",
    "5550199",
    "OXLEY^BARNABY",
    "HEPARIN-DRIP-7",
];

/// One message the client sends, with the facts wardwatch must report for it.
struct Msg {
    text: String,
    control_id: &'static str,
    message_type: &'static str,
    structure: Option<&'static str>,
    sending_application: &'static str,
    sending_facility: &'static str,
    segments: &'static [&'static str],
    ack_code: &'static str,
    /// Device evidence expected besides MSH-3/MSH-4: (source, value).
    evidence: &'static [(&'static str, &'static str)],
}

/// One connection: its messages and how they are written.
struct Scenario {
    name: &'static str,
    msgs: Vec<Msg>,
    /// `None`: python-hl7's `send_message`; else the write boundaries (byte offsets into
    /// the MLLP-framed concatenation of the messages).
    splits: Option<Vec<usize>>,
}

fn seg(s: &[&str]) -> String {
    s.iter().map(|l| format!("{l}\r")).collect()
}

fn frame(text: &str) -> Vec<u8> {
    let mut v = vec![0x0b];
    v.extend_from_slice(text.as_bytes());
    v.extend_from_slice(&[0x1c, 0x0d]);
    v
}

fn adt(cid: &'static str, code: &'static str) -> Msg {
    Msg {
        text: seg(&[
            &format!("MSH|^~\\&|REG_SYS|ST_ELSEWHERE|WARD_MON|ICU|20240301101500||ADT^A01^ADT_A01|{cid}|P|2.5"),
            "EVN|A01|20240301101500",
            "PID|1||MRN-7731-QZ^^^STE^MR||QUIMBY^ZEPHYRINE^A||19390817|F|||42 WOMBAT LANE^^SPRINGFIELD^IL^62701||5550199",
            "NK1|1|OXLEY^BARNABY|SPO",
            "PV1|1|I|ICU^12^A",
        ]),
        control_id: cid,
        message_type: "ADT^A01",
        structure: Some("ADT_A01"),
        sending_application: "REG_SYS",
        sending_facility: "ST_ELSEWHERE",
        segments: &["MSH", "EVN", "PID", "NK1", "PV1"],
        ack_code: code,
        evidence: &[],
    }
}

fn oru(cid: &'static str) -> Msg {
    Msg {
        text: seg(&[
            &format!("MSH|^~\\&|PUMP_GW|LAB\\T\\CORE|EHR|HOSP|20240301101600||ORU^R01^ORU_R01|{cid}|P|2.5"),
            "PID|1||MRN-7731-QZ^^^STE^MR||QUIMBY^ZEPHYRINE",
            "OBR|1||777|PUMP^Pump status",
            "OBX|1|NM|RATE^Rate||12.5|mL/h|||||F|||20240301101600||||PUMP-77^ALARIS^8015",
            "OBX|2|ST|DRUG^Drug||HEPARIN-DRIP-7|||||F|||20240301101600||||PUMP-77^ALARIS^8015",
        ]),
        control_id: cid,
        message_type: "ORU^R01",
        structure: Some("ORU_R01"),
        sending_application: "PUMP_GW",
        sending_facility: "LAB&CORE",
        segments: &["MSH", "PID", "OBR", "OBX", "OBX"],
        ack_code: "AA",
        evidence: &[("OBX-18", "PUMP-77^ALARIS^8015")],
    }
}

fn orm(cid: &'static str, code: &'static str) -> Msg {
    Msg {
        text: seg(&[
            &format!("MSH|^~\\&|CPOE|HOSP|RIS|RAD|20240301101700||ORM^O01|{cid}|P|2.3"),
            "PID|1||MRN-7731-QZ||QUIMBY^ZEPHYRINE||19390817|F",
            "ORC|NW|9001",
            "OBR|1|9001||CHEST^Chest X-ray",
        ]),
        control_id: cid,
        message_type: "ORM^O01",
        structure: None,
        sending_application: "CPOE",
        sending_facility: "HOSP",
        segments: &["MSH", "PID", "ORC", "OBR"],
        ack_code: code,
        evidence: &[],
    }
}

fn delims(cid: &'static str) -> Msg {
    Msg {
        text: seg(&[
            &format!("MSH*%$\\!*ALT%APP*FAC\\S\\2*WARD_MON*ICU*20240301101800**ADT%A01%ADT_A01*{cid}*P*2.5"),
            "PID*1**MRN-7731-QZ%%%STE%MR**QUIMBY%ZEPHYRINE**19390817*F",
        ]),
        control_id: cid,
        message_type: "ADT^A01",
        structure: Some("ADT_A01"),
        sending_application: "ALT^APP",
        sending_facility: "FAC%2",
        segments: &["MSH", "PID"],
        ack_code: "AA",
        evidence: &[],
    }
}

fn scenarios() -> Vec<Scenario> {
    let split_msg = oru("SPLIT-0005");
    let framed = frame(&split_msg.text);
    let n = framed.len();
    // The start block alone, 40-byte pieces, then the end block split from its CR.
    let mut splits: Vec<usize> = vec![1];
    splits.extend((1..(n - 2) / 40).map(|i| 1 + 40 * i));
    splits.push(n - 1);
    vec![
        Scenario {
            name: "adt_a01",
            msgs: vec![adt("ADT-0001", "AA")],
            splits: None,
        },
        Scenario {
            name: "oru_r01",
            msgs: vec![oru("ORU-0002")],
            splits: None,
        },
        Scenario {
            name: "orm_o01",
            msgs: vec![orm("ORM-0003", "AA")],
            splits: None,
        },
        Scenario {
            name: "three_in_one_write",
            msgs: vec![
                adt("B-0004-1", "AA"),
                orm("B-0004-2", "AA"),
                adt("B-0004-3", "AA"),
            ],
            splits: Some(vec![]),
        },
        Scenario {
            name: "split_many_writes",
            msgs: vec![split_msg],
            splits: Some(splits),
        },
        Scenario {
            name: "non_default_delimiters",
            msgs: vec![delims("DELIM-0006")],
            splits: None,
        },
        Scenario {
            name: "answered_ae",
            msgs: vec![adt("AE-0007", "AE")],
            splits: None,
        },
        Scenario {
            name: "answered_ar",
            msgs: vec![orm("AR-0008", "AR")],
            splits: None,
        },
    ]
}

/// The client's JSON spec (chunks as Latin-1 strings, which round-trip bytes 0-255).
fn spec(sc: &[Scenario]) -> Value {
    let latin1 = |b: &[u8]| b.iter().map(|&c| char::from(c)).collect::<String>();
    Value::Array(
        sc.iter()
            .map(|s| match &s.splits {
                None => serde_json::json!({"name": s.name, "message": s.msgs[0].text}),
                Some(cuts) => {
                    let all: Vec<u8> = s.msgs.iter().flat_map(|m| frame(&m.text)).collect();
                    let mut bounds = vec![0];
                    bounds.extend(cuts.iter().copied());
                    bounds.push(all.len());
                    let chunks: Vec<String> = bounds
                        .windows(2)
                        .map(|w| latin1(&all[w[0]..w[1]]))
                        .collect();
                    serde_json::json!({"name": s.name, "chunks": chunks, "acks": s.msgs.len()})
                }
            })
            .collect(),
    )
}

fn prerequisites() -> Option<PathBuf> {
    if !peers::require_root() {
        return None;
    }
    for t in ["tcpdump", "tshark", "unshare", "ip", "ss"] {
        peers::require_tool(t)?;
    }
    peers::require_python(&["hl7", "hl7apy"])
}

/// Like `netns::start_tcpdump`, with `--immediate-mode`: without it libpcap hands packets
/// over per ring block (up to a second late), and the packets of the last block are lost
/// when tcpdump is stopped (seen here: 151 of 352 packets written).
fn start_capture(file: &str) -> String {
    format!(
        "tcpdump -i lo --immediate-mode -B 16384 -s 0 -U -w {file} 2> tcpdump.log &\nTCPDUMP_PID=$!\n\
         for i in $(seq 1 100); do grep -q listening tcpdump.log && break; sleep 0.05; done\n"
    )
}

/// Runs the peers in a namespace; returns (capture path, client results).
fn capture(dir: &Path, py: &Path, sc: &[Scenario]) -> (PathBuf, Value) {
    std::fs::write(dir.join("server.py"), SERVER_PY).unwrap();
    std::fs::write(dir.join("client.py"), CLIENT_PY).unwrap();
    std::fs::write(dir.join("spec.json"), spec(sc).to_string()).unwrap();
    let py = py.display();
    let script = format!(
        "{start}\
         {py} server.py {PORT} > server.log 2>&1 &\nSERVER_PID=$!\n\
         for i in $(seq 1 100); do ss -ltn | grep -q ':{PORT} ' && break; sleep 0.05; done\n\
         {py} client.py {PORT} spec.json result.json > client.log 2>&1\n\
         kill $SERVER_PID || true\n\
         {stop}",
        start = start_capture("cap.pcap"),
        stop = netns::STOP_TCPDUMP,
    );
    let out = netns::run_script(dir, &script).unwrap();
    let log = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    assert!(
        out.status.success(),
        "peer script failed: {}\nclient: {}\nserver: {}",
        String::from_utf8_lossy(&out.stderr),
        log("client.log"),
        log("server.log")
    );
    let result: Value = serde_json::from_str(&log("result.json"))
        .unwrap_or_else(|e| panic!("no client result ({e}): {}", log("client.log")));
    (dir.join("cap.pcap"), result)
}

/// `wardwatch replay` on the capture: (stdout lines as JSON, everything it wrote).
fn replay(pcap: &Path) -> (Vec<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["replay", "--eve", "-"])
        .arg(pcap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let all = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    (
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        all,
    )
}

/// tshark's HL7 messages: (TCP source port, message type, event type), one per message.
fn tshark_messages(pcap: &Path) -> Vec<(u64, String, String)> {
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(pcap)
        .args([
            "-d",
            &format!("tcp.port=={PORT},hl7"),
            "-Y",
            "hl7",
            "-T",
            "fields",
        ])
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
        let port: u64 = f[0].parse().unwrap();
        let types: Vec<&str> = f[1].split(',').collect();
        let events: Vec<&str> = f.get(2).map(|e| e.split(',').collect()).unwrap_or_default();
        for (i, t) in types.iter().enumerate() {
            v.push((
                port,
                t.to_string(),
                events.get(i).copied().unwrap_or("").to_string(),
            ));
        }
    }
    v.sort();
    v
}

#[test]
fn hl7_real_peers_python_hl7_client_hl7apy_server() {
    // Every message python-hl7 sent is reported with its facts and hl7apy's ACK; tshark agrees.
    let Some(py) = prerequisites() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sc = scenarios();
    let (pcap, result) = capture(dir.path(), &py, &sc);
    if let Some(keep) = std::env::var_os("HL7_PEERS_KEEP") {
        // Debugging aid: keep the capture and the client's results.
        std::fs::copy(&pcap, Path::new(&keep).join("hl7_peers.pcap")).unwrap();
        std::fs::write(
            Path::new(&keep).join("hl7_peers.result.json"),
            result.to_string(),
        )
        .unwrap();
    }
    let (events, everything) = replay(&pcap);
    let hl7: Vec<&Value> = events.iter().filter(|e| e["event_type"] == "hl7").collect();

    let results = result.as_array().unwrap();
    assert_eq!(results.len(), sc.len());
    let mut ours_for_tshark = Vec::new();
    for (s, r) in sc.iter().zip(results) {
        assert_eq!(r["name"], s.name);
        let port = r["local_port"].as_u64().unwrap();
        let flow: Vec<&&Value> = hl7.iter().filter(|e| e["src_port"] == port).collect();
        assert_eq!(flow.len(), 2 * s.msgs.len(), "{}: {flow:#?}", s.name);
        for (i, m) in s.msgs.iter().enumerate() {
            let ev = flow
                .iter()
                .find(|e| {
                    e["hl7"]["direction"] == "to_server" && e["hl7"]["control_id"] == m.control_id
                })
                .unwrap_or_else(|| panic!("{}: no event for {}", s.name, m.control_id));
            let h = &ev["hl7"];
            let ctx = format!("{} {}", s.name, m.control_id);
            assert_eq!(ev["app_proto"], "hl7", "{ctx}");
            assert_eq!(ev["dest_port"], PORT, "{ctx}");
            assert_eq!(h["framing"], "mllp", "{ctx}");
            assert_eq!(h["bytes"], m.text.len(), "{ctx}");
            assert_eq!(h["message_type"], m.message_type, "{ctx}");
            assert_eq!(h["message_structure"].as_str(), m.structure, "{ctx}");
            assert_eq!(h["sending_application"], m.sending_application, "{ctx}");
            assert_eq!(h["sending_facility"], m.sending_facility, "{ctx}");
            let segs: Vec<&str> = h["segments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            assert_eq!(segs, m.segments, "{ctx}");
            // The ACK: what hl7apy was told to answer, as python-hl7 parsed it, on the record.
            let peer_ack = &r["acks"][i];
            assert_eq!(peer_ack["control_id"], m.control_id, "{ctx}");
            assert_eq!(peer_ack["code"], m.ack_code, "{ctx}");
            assert_eq!(h["acknowledged"], true, "{ctx}");
            assert_eq!(h["ack_code"], m.ack_code, "{ctx}");
            let lat = h["ack_latency_ms"].as_f64().unwrap();
            assert!((0.0..5000.0).contains(&lat), "{ctx}: latency {lat}");
            // PHI: which fields, never values.
            let phi: Vec<&str> = h["phi_fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            assert!(
                phi.contains(&"PID-3") && phi.contains(&"PID-5"),
                "{ctx}: {phi:?}"
            );
            let ev_src: Vec<(String, String)> = h["device_evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["source"].as_str().unwrap().into(),
                        e["value"].as_str().unwrap().into(),
                    )
                })
                .collect();
            assert!(
                ev_src.contains(&("MSH-3".into(), m.sending_application.into())),
                "{ctx}: {ev_src:?}"
            );
            for (src, val) in m.evidence {
                assert!(
                    ev_src.contains(&(src.to_string(), val.to_string())),
                    "{ctx}: {ev_src:?}"
                );
            }
            // Its ACK event.
            let ack = flow
                .iter()
                .find(|e| e["hl7"]["ack_control_id"] == m.control_id)
                .unwrap_or_else(|| panic!("{ctx}: no ACK event"));
            assert_eq!(ack["hl7"]["direction"], "to_client", "{ctx}");
            assert_eq!(ack["hl7"]["ack_code"], m.ack_code, "{ctx}");
            assert_eq!(ack["hl7"]["sending_application"], "PEER_SRV", "{ctx}");
            assert_eq!(ack["hl7"]["field_separator"], h["field_separator"], "{ctx}");
            for e in [*ev, *ack] {
                let t = e["hl7"]["message_type"].as_str().unwrap();
                let (ty, evt) = t.split_once('^').unwrap_or((t, ""));
                let p = if e["hl7"]["direction"] == "to_server" {
                    port
                } else {
                    u64::from(PORT)
                };
                ours_for_tshark.push((p, ty.to_string(), evt.to_string()));
            }
        }
    }
    // The split scenario really was many segments, one of them the lone CR after the FS.
    let split_port = results
        .iter()
        .find(|r| r["name"] == "split_many_writes")
        .unwrap()["local_port"]
        .as_u64()
        .unwrap();
    let segs = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args([
            "-Y",
            &format!("tcp.srcport=={split_port} && tcp.len>0"),
            "-T",
            "fields",
            "-e",
            "tcp.len",
        ])
        .output()
        .unwrap();
    let lens: Vec<String> = String::from_utf8_lossy(&segs.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        lens.len() >= 8,
        "split scenario went out in {} segments: {lens:?}",
        lens.len()
    );
    assert_eq!(
        lens.last().map(String::as_str),
        Some("1"),
        "last write is the lone CR: {lens:?}"
    );

    // tshark decodes the same messages (type and event) on the same ports.
    ours_for_tshark.sort();
    let theirs = tshark_messages(&pcap);
    assert_eq!(
        theirs, ours_for_tshark,
        "tshark and wardwatch disagree on the messages"
    );

    // No anomaly on clean peer traffic, and no PHI anywhere in what wardwatch wrote.
    let anomalies: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "anomaly")
        .collect();
    assert!(anomalies.is_empty(), "{anomalies:#?}");
    for phi in PHI_VALUES {
        assert!(!everything.contains(phi), "PHI {phi} in wardwatch output");
    }
}
