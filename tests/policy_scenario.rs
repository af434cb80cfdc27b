//! Policy rules through the whole pipeline: a synthetic ward capture (testkit's clinical
//! builders) with normal traffic and injected violations gives exactly the expected
//! alerts, in Suricata's alert shape; a broken operator rule file stops the start with its
//! file, line and problem.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use testkit::clinical::*;

const PUMP: Host = Host::new([0x58, 0x42, 0xe4, 0, 0, 1], [10, 1, 0, 10]);
const MONITOR: Host = Host::new([0x00, 0x09, 0xfb, 0, 0, 2], [10, 1, 0, 20]);
const WS: Host = Host::new([0x02, 0, 0, 0, 0, 0x30], [10, 1, 0, 30]);
const PACS: Host = Host::new([0x02, 0, 0, 0, 0, 0x40], [10, 1, 0, 40]);
const PUMP_SERVER: Host = Host::new([0x02, 0, 0, 0, 0, 0x50], [10, 1, 0, 50]);
const LAPTOP: Host = Host::new([0x02, 0, 0, 0, 0, 0x99], [10, 1, 0, 99]);
const ROUTER: Host = Host::new([0x02, 0, 0, 0, 0, 0xfe], [10, 1, 0, 1]);

/// A DICOM association from `ws` (calling `calling`) to the PACS with `cmds` inside.
fn dicom_session(
    s: &mut Scenario,
    ws: Host,
    calling: &str,
    passcode: bool,
    cmds: &[(bool, Vec<u8>)],
) {
    let mut m = vec![
        (
            true,
            associate_rq("PACS", calling, &[VERIFICATION, MOVE_STUDY], passcode),
        ),
        (false, associate_ac("PACS", calling, 2)),
    ];
    m.extend_from_slice(cmds);
    m.push((true, release_rq()));
    m.push((false, release_rp()));
    s.tcp(ws, PACS, 104, &m);
}

/// Normal ward traffic: the pump talks to its server, the workstation verifies the PACS
/// and retrieves a study to itself.
fn normal(s: &mut Scenario) {
    s.tcp(
        PUMP,
        PUMP_SERVER,
        443,
        &[(true, vec![0x17; 64]), (false, vec![0x17; 64])],
    );
    dicom_session(
        s,
        WS,
        "WS01",
        false,
        &[(true, c_echo_rq(1)), (false, c_echo_rsp(1))],
    );
    s.wait_secs(1);
    dicom_session(
        s,
        WS,
        "WS01",
        false,
        &[(true, c_move_rq(3, 2, "WS01")), (false, c_move_rsp(3, 2))],
    );
}

fn capture(dir: &Path, name: &str, violations: bool) -> PathBuf {
    let mut s = Scenario::new(1_740_988_800);
    normal(&mut s);
    if violations {
        // The pump talks to an internet address through the router.
        let inet = Host::new(ROUTER.mac, [203, 0, 113, 50]);
        s.tcp(
            PUMP,
            inet,
            443,
            &[(true, vec![0x16; 40]), (false, vec![0x16; 40])],
        );
        // A telnet session from the workstation to the monitor.
        s.tcp(
            WS,
            MONITOR,
            23,
            &[(false, b"login: ".to_vec()), (true, b"admin\r\n".to_vec())],
        );
        // A C-MOVE to an AE nobody knows, and a cleartext passcode.
        s.wait_secs(1);
        dicom_session(
            &mut s,
            WS,
            "WS01",
            true,
            &[(true, c_move_rq(3, 3, "EVILAE")), (false, c_move_rsp(3, 3))],
        );
        // A laptop probing the PACS with an unknown calling AE gets rejected.
        s.tcp(
            LAPTOP,
            PACS,
            104,
            &[
                (true, associate_rq("PACS", "PROBE", &[VERIFICATION], false)),
                (false, associate_rj_calling_ae()),
            ],
        );
    }
    let p = dir.join(name);
    s.write_to(&p).unwrap();
    p
}

fn alerts(run: &common::Run) -> BTreeSet<(String, String)> {
    common::rule_device_pairs(&run.alerts())
}

#[test]
fn policy_scenario_fires_exactly_the_injected_violations() {
    // Normal traffic alone fires nothing; with the injected violations exactly one alert
    // per (rule, device) fires, each keeping its flow and Suricata's fields.
    let dir = common::tempdir("policy-scenario");
    // One worker: the order of events across flows (an association learned before a later
    // C-MOVE to it) is then the capture's order.
    let cfg = common::long_timeouts_config(&dir, 1);
    let quiet = common::replay(Some(&cfg), &[capture(&dir, "normal.pcap", false)]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert!(alerts(&quiet).is_empty(), "{:?}", alerts(&quiet));
    let run = common::replay(Some(&cfg), &[capture(&dir, "violations.pcap", true)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let want: BTreeSet<(String, String)> = [
        ("policy.clinical_no_internet", PUMP.id()),
        ("policy.clinical_no_telnet", MONITOR.id()),
        ("policy.dicom_move_unknown_destination", WS.id()),
        ("policy.dicom_cleartext_passcode", WS.id()),
        ("policy.dicom_reject_unknown_calling_ae", LAPTOP.id()),
    ]
    .into_iter()
    .map(|(r, d)| (r.to_string(), d))
    .collect();
    assert_eq!(alerts(&run), want);
    let evs = run.events();
    let internet = evs
        .iter()
        .find(|e| e["event_type"] == "alert" && e["alert"]["rule"] == "policy.clinical_no_internet")
        .unwrap();
    assert_eq!(internet["dest_ip"], "203.0.113.50");
    assert_eq!(internet["src_ip"], "10.1.0.10");
    assert!(internet["flow_id"].as_u64().is_some());
    let a = &internet["alert"];
    assert_eq!(a["action"], "allowed");
    assert_eq!(a["gid"], 1);
    assert_eq!(a["signature_id"], 9_100_001);
    assert_eq!(a["severity"], 1);
    assert_eq!(a["device"]["class"], "infusion_pump");
    assert_eq!(a["evidence"]["peer_location"], "external");
    assert_eq!(a["metadata"]["mitre_technique_id"][0], "T0883");
    // The user identity itself never appears, only that a passcode was present.
    assert!(
        !run.eve.contains(USER_NAME) && !run.eve.contains(PASSCODE),
        "a secret leaked"
    );
}

#[test]
fn analysis_on_its_own_thread_writes_the_same_eve() {
    // The analysis stage (inventory, rules) gives the same EVE, alerts and device events
    // included, whether it runs in the writer thread (the default) or on its own thread.
    let dir = common::tempdir("policy-placement");
    let cfg = common::long_timeouts_config(&dir, 1);
    let threaded = dir.join("threaded.toml");
    let base = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &threaded,
        format!("{base}\n[output]\nanalysis_thread = true\n"),
    )
    .unwrap();
    let pcap = capture(&dir, "violations.pcap", true);
    let inline = common::replay(Some(&cfg), std::slice::from_ref(&pcap));
    let own = common::replay(Some(&threaded), &[pcap]);
    assert_eq!(inline.code, 0, "{}", inline.stderr);
    assert_eq!(own.code, 0, "{}", own.stderr);
    assert_eq!(alerts(&inline).len(), 5);
    assert!(inline.eve.contains(r#""event_type":"device""#));
    assert_eq!(inline.eve, own.eve);
}

#[test]
fn broken_operator_policy_stops_start_with_file_line_and_problem() {
    // An unknown class in an operator rule: exit code 2 and a message naming the file,
    // the line and the class.
    let dir = common::tempdir("policy-broken");
    let pol = dir.join("policies");
    std::fs::create_dir_all(&pol).unwrap();
    std::fs::write(
        pol.join("local.yaml"),
        "policies:\n  - id: local.bad\n    signature_id: 9110001\n    severity: 2\n    description: d\n    scope: {classes: [toaster]}\n    deny: {services: [tcp/23]}\n",
    )
    .unwrap();
    let cfg = dir.join("c.toml");
    std::fs::write(
        &cfg,
        format!("[policy]\ndir = {:?}\n", pol.display().to_string()),
    )
    .unwrap();
    let pcap = capture(&dir, "n.pcap", false);
    let run = common::replay(Some(&cfg), &[pcap]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("local.yaml:2:"), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown class `toaster`"),
        "{}",
        run.stderr
    );
}
