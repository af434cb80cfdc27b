//! Baselines through the whole pipeline with a state directory: learn on a first capture,
//! lock with `wardwatch baseline lock --all`, replay a second capture of the same ward
//! behaving normally plus injected deviations (a pump to a new external IP, a new DICOM AE
//! pair, an HL7 type never sent, a telnet session to a monitor, a C-MOVE to an unknown
//! AE, a monitor's HL7 results with PHI to a host it never fed): exactly the expected
//! policy and baseline alerts fire; replaying the learning
//! capture again fires none. Export/approve/import go through the CLI.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::clinical::*;

const PUMP: Host = Host::new([0x58, 0x42, 0xe4, 0, 0, 1], [10, 1, 0, 10]);
const MONITOR: Host = Host::new([0x00, 0x09, 0xfb, 0, 0, 2], [10, 1, 0, 20]);
const WS: Host = Host::new([0x02, 0, 0, 0, 0, 0x30], [10, 1, 0, 30]);
const PACS: Host = Host::new([0x02, 0, 0, 0, 0, 0x40], [10, 1, 0, 40]);
const SERVER: Host = Host::new([0x02, 0, 0, 0, 0, 0x50], [10, 1, 0, 50]);
const ROUTER: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];

fn inet(ip: [u8; 4]) -> Host {
    Host::new(ROUTER, ip)
}

fn dicom(s: &mut Scenario, calling: &str, cmds: &[(bool, Vec<u8>)]) {
    let mut m = vec![
        (
            true,
            associate_rq("PACS", calling, &[VERIFICATION, MOVE_STUDY], false),
        ),
        (false, associate_ac("PACS", calling, 2)),
    ];
    m.extend_from_slice(cmds);
    m.push((true, release_rq()));
    m.push((false, release_rp()));
    s.tcp(WS, PACS, 104, &m);
}

fn hl7_session(s: &mut Scenario, from: Host, app: &str, ty: &str, n: &str) {
    hl7_to(s, from, SERVER, app, ty, n);
}

fn hl7_to(s: &mut Scenario, from: Host, to: Host, app: &str, ty: &str, n: &str) {
    s.tcp(
        from,
        to,
        2575,
        &[(true, hl7(app, "SND", ty, n, true)), (false, hl7_ack(n))],
    );
}

/// A normal hour of the ward.
fn normal(s: &mut Scenario) {
    s.tcp(
        PUMP,
        SERVER,
        443,
        &[(true, vec![0x17; 64]), (false, vec![0x17; 64])],
    );
    hl7_session(s, PUMP, "PUMP", "ORU^R01", "P1");
    hl7_session(s, MONITOR, "MON", "ORU^R01", "M1");
    dicom(s, "WS01", &[(true, c_echo_rq(1)), (false, c_echo_rsp(1))]);
    s.wait_secs(1);
    dicom(
        s,
        "WS01",
        &[(true, c_move_rq(3, 2, "WS01")), (false, c_move_rsp(3, 2))],
    );
    // The workstation browses the internet (the router fronts several public addresses).
    for ip in [
        [198, 51, 100, 20],
        [198, 51, 100, 21],
        [198, 51, 100, 22],
        [198, 51, 100, 23],
    ] {
        s.tcp(
            WS,
            inet(ip),
            443,
            &[(true, vec![0x16; 32]), (false, vec![0x16; 32])],
        );
    }
}

fn write(dir: &Path, name: &str, start: i64, deviations: bool) -> PathBuf {
    let mut s = Scenario::new(start);
    normal(&mut s);
    if deviations {
        s.tcp(
            PUMP,
            inet([203, 0, 113, 50]),
            443,
            &[(true, vec![0x16; 40]), (false, vec![0x16; 40])],
        );
        dicom(
            &mut s,
            "WS02",
            &[(true, c_echo_rq(5)), (false, c_echo_rsp(5))],
        );
        hl7_session(&mut s, MONITOR, "MON", "ADT^A01", "M2");
        s.tcp(
            WS,
            MONITOR,
            23,
            &[(false, b"login: ".to_vec()), (true, b"admin\r\n".to_vec())],
        );
        s.wait_secs(1);
        dicom(
            &mut s,
            "WS01",
            &[(true, c_move_rq(3, 9, "EVILAE")), (false, c_move_rsp(3, 9))],
        );
        // The monitor's results (with a PID segment) sent to a host it never fed.
        hl7_to(&mut s, MONITOR, PACS, "MON", "ORU^R01", "M3");
    }
    let p = dir.join(name);
    s.write_to(&p).unwrap();
    p
}

fn alerts(run: &common::Run) -> BTreeSet<(String, String)> {
    assert_eq!(run.code, 0, "{}", run.stderr);
    common::rule_device_pairs(&run.alerts())
}

/// Device id -> its `risk` posture, as `wardwatch inventory --format json` shows it.
fn risk_of(dir: &Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["inventory", "--format", "json", "--state-dir"])
        .arg(dir.join("state"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|d| !d["risk"].is_null())
        .map(|d| (d["id"].as_str().unwrap().to_string(), d["risk"].clone()))
        .collect()
}

#[test]
fn baseline_scenario_learn_lock_deviate_and_replay_quietly() {
    // The whole lifecycle through the binary and the state store, across restarts.
    let dir = common::tempdir("baseline-scenario");
    let cfg = common::scenario_config(&dir, "");
    let learn = write(&dir, "learn.pcap", 1_740_988_800, false);
    let dev = write(&dir, "deviate.pcap", 1_741_075_200, true);
    assert!(alerts(&common::replay(Some(&cfg), std::slice::from_ref(&learn))).is_empty());
    // The replay wrote its last checkpoint and closed the state store before leaving its
    // structures to the process exit: SQLite folded its log into the database file.
    let wal = dir.join("state").join("wardwatch.db-wal");
    assert!(!wal.exists(), "{} left behind", wal.display());
    // Lock every baseline (queued; applied when the next run starts).
    let (code, _, err) = common::baseline_cli(&cfg, &["lock", "--all"]);
    assert_eq!(code, 0, "{err}");
    let got = alerts(&common::replay(Some(&cfg), &[dev]));
    let want: BTreeSet<(String, String)> = [
        ("policy.clinical_no_internet", PUMP),
        ("baseline.new_external_peer", PUMP),
        ("baseline.new_dicom_pair", WS),
        ("baseline.new_dicom_pair", PACS),
        ("baseline.new_hl7_type", MONITOR),
        ("policy.clinical_no_telnet", MONITOR),
        ("baseline.new_peer", WS),
        ("baseline.new_peer", MONITOR),
        ("baseline.new_service", WS),
        ("baseline.new_service", MONITOR),
        ("policy.dicom_move_unknown_destination", WS),
        ("policy.hl7_phi_outside_baseline", MONITOR),
        // The PACS side of that feed: a new peer, a new service, and an ACK it never sent.
        ("baseline.new_peer", PACS),
        ("baseline.new_service", PACS),
        ("baseline.new_hl7_type", PACS),
    ]
    .into_iter()
    .map(|(r, h)| (r.to_string(), h.id()))
    .collect();
    assert_eq!(got, want);
    // The risk posture of each device follows what it did, from the stored inventory.
    let risk = risk_of(&dir);
    let pump = &risk[&PUMP.id()];
    assert_eq!(pump["status"], "uncontrolled", "{pump}");
    assert_eq!(pump["exploitability"], "high", "{pump}");
    let ev = pump["evidence"].to_string();
    assert!(
        ev.contains("internet") && ev.contains("baseline deviations"),
        "{ev}"
    );
    assert!(
        pump["controls"].to_string().contains("baseline locked"),
        "{pump}"
    );
    let mon = &risk[&MONITOR.id()];
    assert!(mon["evidence"].to_string().contains("telnet"), "{mon}");
    assert!(
        mon["evidence"].to_string().contains("PHI in cleartext"),
        "{mon}"
    );
    // The HL7 server only received PHI in cleartext: low exploitability, controlled.
    let srv = &risk[&SERVER.id()];
    assert_eq!(
        (srv["exploitability"].as_str(), srv["status"].as_str()),
        (Some("low"), Some("controlled")),
        "{srv}"
    );
    assert_eq!(srv["evidence"].as_array().unwrap().len(), 1, "{srv}");
    // The learning capture again: all normal, nothing fires.
    assert!(alerts(&common::replay(Some(&cfg), &[learn])).is_empty());
    // Export shows the locked baselines with who locked them.
    let (code, yaml, err) = common::baseline_cli(&cfg, &["export", "--device", &MONITOR.id()]);
    assert_eq!(code, 0, "{err}");
    assert!(yaml.contains("state: locked"), "{yaml}");
    assert!(yaml.contains("who: tester"), "{yaml}");
    assert!(yaml.contains("MON>SND ORU^R01"), "{yaml}");
    assert!(
        !yaml.contains("ADT^A01"),
        "deviations are not learned once locked"
    );
    // A bad import names the file and line; approve of an unknown kind is refused.
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, yaml.replace("hl7_types:", "hl7_typos:")).unwrap();
    let (code, _, err) = common::baseline_cli(&cfg, &["import", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.yaml:") && err.contains("hl7_typos"),
        "{err}"
    );
    let (code, _, err) = common::baseline_cli(&cfg, &["approve", &MONITOR.id(), "colours", "x"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn baseline_survives_kill_9_then_enforces_after_restart() {
    // An appliance killed with SIGKILL (no clean shutdown, the store still open) leaves
    // its last checkpoint readable: after a restart the learned baselines are there and,
    // once locked, the deviations fire while the learned traffic stays quiet.
    use std::io::BufRead;
    let dir = common::tempdir("baseline-kill9");
    let cfg = common::scenario_config(&dir, "");
    let learn = write(&dir, "learn.pcap", 1_740_988_800, false);
    let dev = write(&dir, "deviate.pcap", 1_741_075_200, true);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args([
            "replay",
            "--eve",
            "/dev/null",
            "--listen",
            "127.0.0.1:0",
            "--hold",
        ])
        .arg("--config")
        .arg(&cfg)
        .arg(&learn)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut r = std::io::BufReader::new(child.stderr.take().unwrap());
    loop {
        let mut l = String::new();
        assert!(r.read_line(&mut l).unwrap() > 0, "ended before holding");
        if l.contains("capture done") {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let (code, yaml, err) = common::baseline_cli(&cfg, &["export", "--device", &PUMP.id()]);
    assert_eq!(code, 0, "{err}");
    assert!(yaml.contains("tcp/443/out"), "{yaml}");
    assert_eq!(common::baseline_cli(&cfg, &["lock", "--all"]).0, 0);
    assert!(alerts(&common::replay(Some(&cfg), std::slice::from_ref(&learn))).is_empty());
    let got = alerts(&common::replay(Some(&cfg), &[dev]));
    assert!(
        got.contains(&("baseline.new_external_peer".to_string(), PUMP.id())),
        "{got:?}"
    );
}
