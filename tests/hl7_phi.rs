//! PHI never leaves wardwatch: HL7 messages full of distinctive patient names, dates of
//! birth, ids, addresses, insurance numbers and results go through the whole pipeline
//! (`wardwatch replay` with a state directory, trace logging and a configured HMAC key),
//! and none of those strings, nor the key, appears in anything wardwatch writes: EVE,
//! standard output and error (logs, summary, metrics), and every file it leaves behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use serde_json::Value;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use testkit::pcap::{PcapWriter, TcpConv, ACK, LINKTYPE_ETHERNET, PSH};

/// Every PHI value the messages carry (also in escaped or other-delimiter forms).
const PHI: &[&str] = &[
    "VANDERSLOOT",
    "PERPETUA",
    "19120229",
    "PHI-MRN-90210",
    "078-05-1120",
    "NIGHTINGALE",
    "5550142",
    "OTTOKAR",
    "POL-44X9",
    "GRP-EMPLOYER-77",
    "OLD-MRN-31337",
    "TROPONIN-SECRET",
    "DR-PRIVATE-PCP",
];
const KEY: &str = "phi-test-key-Zq81";

fn frame(segments: &[&str]) -> Vec<u8> {
    let mut v = vec![0x0b];
    for s in segments {
        v.extend_from_slice(s.as_bytes());
        v.push(b'\r');
    }
    v.extend_from_slice(&[0x1c, 0x0d]);
    v
}

/// A capture with three connections: MLLP ADT/ORU/ACKs with every PHI segment, a
/// non-default-delimiter message and a message cut off by the connection's end, and
/// un-framed HL7.
fn capture(path: &Path) {
    let mut w = PcapWriter::new(LINKTYPE_ETHERNET);
    let mut t = 1_700_000_000_000_000i64;
    let mut put = |w: &mut PcapWriter, frames: Vec<Vec<u8>>| {
        for f in frames {
            t += 1000;
            w.add(t, &f);
        }
    };
    let adt = frame(&[
        "MSH|^~\\&|REG|HOSP|EHR|HOSP|20240101||ADT^A01^ADT_A01|PHI-1|P|2.5",
        "PID|1|PHI-MRN-90210|PHI-MRN-90210^^^HOSP^MR~078-05-1120^^^SSA^SS||VANDERSLOOT^PERPETUA^Q||19120229|F|||13 NIGHTINGALE CRESCENT^^LEEDS||5550142",
        "PD1|||DR-PRIVATE-PCP",
        "NK1|1|VANDERSLOOT^OTTOKAR|SPO|13 NIGHTINGALE CRESCENT|5550142",
        "GT1|1||VANDERSLOOT^OTTOKAR||13 NIGHTINGALE CRESCENT",
        "IN1|1|PLAN|INS||||GRP-EMPLOYER-77||||||||VANDERSLOOT^PERPETUA|||||||||||||||||||POL-44X9",
        "IN2|1|078-05-1120",
        "MRG|OLD-MRN-31337",
    ]);
    let oru = frame(&[
        "MSH*%$\\!*LAB*HOSP*EHR*HOSP*20240101**ORU%R01*PHI-2*P*2.5",
        "PID*1**PHI-MRN-90210%%%HOSP%MR**VANDER\\S\\SLOOT%PERPETUA**19120229",
        "OBX*1*ST*TROP%Troponin**TROPONIN-SECRET-0.91*ng/mL",
    ]);
    let ack = |id: &str| {
        frame(&[
            "MSH|^~\\&|EHR|HOSP|REG|HOSP|20240101||ACK|A-1|P|2.5",
            &format!("MSA|AA|{id}"),
        ])
    };
    let mut c = TcpConv::new(
        (Ipv4Addr::new(10, 9, 0, 1), 40001),
        (Ipv4Addr::new(10, 9, 0, 2), 2575),
        1000,
        5000,
    );
    put(&mut w, c.handshake());
    put(&mut w, vec![c.seg(true, PSH | ACK, &adt)]);
    put(&mut w, vec![c.seg(false, PSH | ACK, &ack("PHI-1"))]);
    // The ORU in three pieces, split inside the patient's name.
    let cut = oru.len() / 2;
    put(
        &mut w,
        vec![
            c.seg(true, PSH | ACK, &oru[..cut]),
            c.seg(true, PSH | ACK, &oru[cut..]),
        ],
    );
    // A message cut off by the connection's end, PHI in the lost tail's head.
    let cut_msg = frame(&[
        "MSH|^~\\&|REG|HOSP|EHR|HOSP|20240101||ADT^A08|PHI-3|P|2.5",
        "PID|1||PHI-MRN-90210||VANDERSLOOT^PERPETUA||19120229",
    ]);
    put(
        &mut w,
        vec![c.seg(true, PSH | ACK, &cut_msg[..cut_msg.len() - 20])],
    );
    put(&mut w, c.close());
    // Un-framed HL7 on another port.
    let mut u = TcpConv::new(
        (Ipv4Addr::new(10, 9, 0, 3), 40002),
        (Ipv4Addr::new(10, 9, 0, 2), 6661),
        7000,
        9000,
    );
    put(&mut w, u.handshake());
    let raw = "MSH|^~\\&|REG|HOSP|EHR|HOSP|20240101||ADT^A04|PHI-4|P|2.5\rPID|1||PHI-MRN-90210||VANDERSLOOT^PERPETUA||19120229|F\r";
    put(&mut w, vec![u.seg(true, PSH | ACK, raw.as_bytes())]);
    put(&mut w, u.close());
    w.write_to(path).unwrap();
}

/// Every file under `dir` except the inputs, as (path, contents).
fn written_files(dir: &Path, skip: &[&Path], out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if skip.contains(&p.as_path()) {
            continue;
        }
        if p.is_dir() {
            written_files(&p, skip, out);
        } else {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
}

#[test]
fn phi_never_in_anything_wardwatch_writes() {
    // PHI values and the HMAC key appear in no output; the messages were parsed all the same.
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("phi.pcap");
    let config = dir.path().join("wardwatch.toml");
    capture(&pcap);
    std::fs::write(
        &config,
        format!("[analyzers.hl7]\npatient_id_hmac_key = \"{KEY}\"\n"),
    )
    .unwrap();
    let eve = dir.path().join("eve.json");
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["replay", "--eve"])
        .arg(&eve)
        .arg("--config")
        .arg(&config)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .arg(&pcap)
        .env("WARDWATCH_LOG", "trace")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut written = vec![
        ("stdout".to_string(), out.stdout.clone()),
        ("stderr".to_string(), out.stderr.clone()),
    ];
    written_files(
        dir.path(),
        &[pcap.as_path(), config.as_path()],
        &mut written,
    );
    for (name, bytes) in &written {
        let text = String::from_utf8_lossy(bytes);
        for phi in PHI.iter().chain([&KEY]) {
            assert!(!text.contains(phi), "{phi} found in {name}");
        }
    }
    // Not vacuous: the four messages were decoded, with PHI field names and the keyed hash.
    let eve_text = std::fs::read_to_string(&eve).unwrap();
    let msgs: Vec<Value> = eve_text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event_type"] == "hl7" && v["hl7"]["direction"] == "to_server")
        .collect();
    let ids: Vec<&str> = msgs
        .iter()
        .map(|v| v["hl7"]["control_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    for id in ["PHI-1", "PHI-2", "PHI-3", "PHI-4"] {
        assert!(ids.contains(&id), "{id} missing: {ids:?}");
    }
    let adt = msgs
        .iter()
        .find(|v| v["hl7"]["control_id"] == "PHI-1")
        .unwrap();
    let phi: Vec<&str> = adt["hl7"]["phi_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for f in [
        "PID-2", "PID-3", "PID-5", "PID-7", "PID-11", "PID-13", "PD1-3", "NK1-2", "GT1-3", "IN1-7",
        "IN1-15", "IN1-34", "IN2-2", "MRG-1",
    ] {
        assert!(phi.contains(&f), "{f} missing from {phi:?}");
    }
    let oru = msgs
        .iter()
        .find(|v| v["hl7"]["control_id"] == "PHI-2")
        .unwrap();
    assert!(oru["hl7"]["phi_fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "OBX-5"));
    let hashes: Vec<&str> = msgs
        .iter()
        .filter_map(|v| v["hl7"]["patient_id_hmac"].as_str())
        .collect();
    assert_eq!(
        hashes.len(),
        4,
        "every message with a PID-3 gets the keyed hash"
    );
    assert_eq!(hashes[0].len(), 32);
}
