//! Silence and sensor-health alerts through the whole pipeline: captures built with
//! testkit where a critical monitor stops talking while the ward keeps going, a class-wide
//! window on infusion pumps, a replayed capture with a long gap (sensor silent, then
//! resumed), and live capture in a private network namespace on an interface that stays
//! silent longer than the sensor window.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use testkit::clinical::*;

const PUMP: Host = Host::new([0x58, 0x42, 0xe4, 0, 0, 1], [10, 1, 0, 10]);
const PUMP2: Host = Host::new([0x58, 0x42, 0xe4, 0, 0, 2], [10, 1, 0, 11]);
const MONITOR: Host = Host::new([0x00, 0x09, 0xfb, 0x12, 0x34, 0x56], [10, 1, 0, 20]);
const SERVER: Host = Host::new([0x02, 0, 0, 0, 0, 0x50], [10, 1, 0, 50]);
const T0: i64 = 1_700_000_000;

fn hl7_session(s: &mut Scenario, from: Host, app: &str, n: &str) {
    s.tcp(
        from,
        SERVER,
        2575,
        &[
            (true, hl7(app, "SND", "ORU^R01", n, false)),
            (false, hl7_ack(n)),
        ],
    );
}

/// 60 minutes of the ward, one HL7 result per device and minute while it talks;
/// `talks(host, minute)` says who talks when.
fn ward(
    dir: &Path,
    name: &str,
    hosts: &[(Host, &str)],
    talks: impl Fn(Host, i64) -> bool,
) -> PathBuf {
    let mut s = Scenario::new(T0);
    for minute in 0..60 {
        for (h, app) in hosts {
            if talks(*h, minute) {
                hl7_session(&mut s, *h, app, &format!("{app}{minute}"));
            }
        }
        s.wait_secs(60);
    }
    let p = dir.join(name);
    s.write_to(&p).unwrap();
    p
}

fn config(dir: &Path, silence: &str) -> PathBuf {
    let p = dir.join("ww.toml");
    std::fs::write(&p, format!("workers = 2\n[silence]\n{silence}\n")).unwrap();
    p
}

/// (rule, device id, evidence) of every silence or sensor alert, in time order.
fn alerts(run: &Run) -> Vec<(String, String, Value)> {
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut v: Vec<(String, String, String, Value)> = run
        .events()
        .into_iter()
        .filter(|e| e["event_type"] == "alert")
        .filter(|e| {
            let r = e["alert"]["rule"].as_str().unwrap_or_default();
            r.starts_with("silence.") || r.starts_with("sensor.")
        })
        .map(|e| {
            (
                e["timestamp"].as_str().unwrap().to_string(),
                e["alert"]["rule"].as_str().unwrap().to_string(),
                e["alert"]["device"]["id"].as_str().unwrap().to_string(),
                e["alert"].clone(),
            )
        })
        .collect();
    v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    v.into_iter().map(|(_, r, d, a)| (r, d, a)).collect()
}

fn rules_and_devices(a: &[(String, String, Value)]) -> Vec<(&str, &str)> {
    a.iter().map(|(r, d, _)| (r.as_str(), d.as_str())).collect()
}

#[test]
fn silence_critical_monitor_quiet_then_back_while_the_ward_keeps_going() {
    // The monitor (marked critical: its own 600 s window) stops after minute 4 and talks
    // again at minute 40; the pump talks every minute. Exactly one quiet alert (dated 600 s
    // after the monitor's last packet) and one back alert, both about the monitor.
    let dir = tempdir("silence-monitor");
    let pcap = ward(
        &dir,
        "ward.pcap",
        &[(PUMP, "PUMP"), (MONITOR, "MON")],
        |h, m| h.mac != MONITOR.mac || !(5..40).contains(&m),
    );
    let cfg = config(
        &dir,
        &format!("devices = {{ \"{}\" = 600 }}", MONITOR.id().to_uppercase()),
    );
    let a = alerts(&replay(Some(&cfg), std::slice::from_ref(&pcap)));
    let mon = MONITOR.id();
    assert_eq!(
        rules_and_devices(&a),
        vec![
            ("silence.device_quiet", mon.as_str()),
            ("silence.device_back", mon.as_str())
        ]
    );
    let quiet = &a[0].2;
    assert_eq!(quiet["signature_id"], 9_300_001);
    assert_eq!(quiet["evidence"]["window_secs"], "600");
    assert_eq!(quiet["count"], 1);
    let last: String = quiet["evidence"]["last_seen"].as_str().unwrap().into();
    assert!(
        last.starts_with("2023-11-14T22:17:"),
        "monitor's last packet at minute 4: {last}"
    );
    assert_eq!(a[1].2["severity"], 4);
    let quiet_secs: i64 = a[1].2["evidence"]["quiet_secs"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(quiet_secs, 36 * 60, "minute 4 to minute 40");
    // Without a window nothing fires (and the 60 s gaps are far below the sensor window).
    let cfg = config(&dir, "");
    assert!(alerts(&replay(Some(&cfg), &[pcap])).is_empty());
}

#[test]
fn silence_class_window_covers_every_pump_and_only_pumps() {
    // A class-wide window on infusion pumps: the second pump stops at minute 10 and never
    // comes back; the monitor stops too but has no window. One quiet alert, for pump 2,
    // whose class is infusion_pump.
    let dir = tempdir("silence-class");
    let pcap = ward(
        &dir,
        "ward.pcap",
        &[(PUMP, "PUMP"), (PUMP2, "PUMP2"), (MONITOR, "MON")],
        |h, m| h.mac == PUMP.mac || m < 10,
    );
    let cfg = config(&dir, "classes = { infusion_pump = 900 }");
    let a = alerts(&replay(Some(&cfg), std::slice::from_ref(&pcap)));
    assert_eq!(
        rules_and_devices(&a),
        vec![("silence.device_quiet", PUMP2.id().as_str())],
        "{a:?}"
    );
    assert_eq!(a[0].2["device"]["class"], "infusion_pump");
    // An unknown class is an error naming it, not a silently missing window.
    let cfg = config(&dir, "classes = { infusion_pmup = 900 }");
    let r = replay(Some(&cfg), &[pcap]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("infusion_pmup"), "{}", r.stderr);
}

#[test]
fn sensor_replay_gap_raises_silent_then_resumed() {
    // A capture with a 20-minute gap between two packets (a span port that stopped
    // mirroring) and a 300 s sensor window: capture_silent dated 300 s after the last packet
    // before the gap, capture_resumed at the first after it; the device is the sensor.
    let dir = tempdir("sensor-gap");
    let mut s = Scenario::new(T0);
    hl7_session(&mut s, PUMP, "PUMP", "A1");
    s.wait_secs(1200);
    hl7_session(&mut s, PUMP, "PUMP", "A2");
    s.wait_secs(200);
    hl7_session(&mut s, PUMP, "PUMP", "A3");
    let pcap = dir.join("gap.pcap");
    s.write_to(&pcap).unwrap();
    let run = replay(
        Some(&config(&dir, "sensor_secs = 300")),
        std::slice::from_ref(&pcap),
    );
    let a = alerts(&run);
    assert_eq!(
        rules_and_devices(&a),
        vec![
            ("sensor.capture_silent", "sensor:gap.pcap"),
            ("sensor.capture_resumed", "sensor:gap.pcap")
        ]
    );
    let silent = run
        .events()
        .into_iter()
        .find(|e| e["alert"]["rule"] == "sensor.capture_silent")
        .unwrap();
    let last = a[0].2["evidence"]["last_packet"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(last.starts_with("2023-11-14T22:13:20"), "{last}");
    assert!(
        silent["timestamp"]
            .as_str()
            .unwrap()
            .starts_with("2023-11-14T22:18:20"),
        "{silent}"
    );
    assert_eq!(a[1].2["evidence"]["silent_secs"], "1200");
    // A window longer than the gap says nothing; 0 turns it off.
    for off in ["sensor_secs = 1300", "sensor_secs = 0"] {
        assert!(alerts(&replay(
            Some(&config(&dir, off)),
            std::slice::from_ref(&pcap)
        ))
        .is_empty());
    }
}

/// Live capture on `lo` in a fresh namespace with a 2 s sensor window: nothing for 3.5 s,
/// then one datagram, then a second of traffic; returns the EVE alert lines' rules.
fn live_sensor(dir: &Path, mode: &str) -> (Vec<(String, String, Value)>, String) {
    let ww = env!("CARGO_BIN_EXE_wardwatch");
    std::fs::write(
        dir.join("ww.toml"),
        "workers = 2\n[silence]\nsensor_secs = 2\n",
    )
    .unwrap();
    let script = format!(
        r#"
{ww} run -i lo --capture {mode} --config ww.toml --eve out-{mode}.json 2> ww-{mode}.log &
P=$!
for i in $(seq 1 200); do grep -q capturing ww-{mode}.log && break; sleep 0.05; done
sleep 3.5
for i in 1 2 3 4 5; do echo hello > /dev/udp/127.0.0.1/9999 || true; sleep 0.2; done
sleep 1.5
kill -TERM $P
wait $P
"#
    );
    let out = testkit::netns::run_script(dir, &script).unwrap();
    let log = std::fs::read_to_string(dir.join(format!("ww-{mode}.log"))).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\n{}\n{log}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let eve = std::fs::read_to_string(dir.join(format!("out-{mode}.json"))).unwrap();
    let run = Run {
        eve,
        stderr: log.clone(),
        code: 0,
    };
    (alerts(&run), log)
}

#[test]
fn sensor_live_silent_interface_alerts_then_resumes() {
    // Live capture (one libpcap handle, then an af-packet fanout group) on an interface
    // that carries nothing for longer than the window: capture_silent about sensor:lo is in
    // the EVE, then capture_resumed once packets arrive.
    if !testkit::peers::require_root() {
        return;
    }
    for tool in ["ip", "unshare"] {
        if testkit::peers::require_tool(tool).is_none() {
            return;
        }
    }
    for mode in ["pcap", "af-packet"] {
        let dir = tempdir(&format!("sensor-live-{mode}"));
        let (a, log) = live_sensor(&dir, mode);
        assert_eq!(
            rules_and_devices(&a),
            vec![
                ("sensor.capture_silent", "sensor:lo"),
                ("sensor.capture_resumed", "sensor:lo")
            ],
            "{mode}: {log}"
        );
        assert_eq!(a[0].2["evidence"]["window_secs"], "2");
    }
}

#[test]
fn sensor_alerts_are_counted_in_the_alert_metrics() {
    // The sensor alerts of a replayed gap are counted in wardwatch_alerts_total by rule and
    // severity, as scraped over HTTP (curl, private network namespace) from
    // `replay --listen --hold`.
    if !testkit::peers::require_root() {
        return;
    }
    for tool in ["ip", "unshare", "curl"] {
        if testkit::peers::require_tool(tool).is_none() {
            return;
        }
    }
    let dir = tempdir("sensor-metrics");
    let mut s = Scenario::new(T0);
    hl7_session(&mut s, PUMP, "PUMP", "A1");
    s.wait_secs(900);
    hl7_session(&mut s, PUMP, "PUMP", "A2");
    s.write_to(&dir.join("gap.pcap")).unwrap();
    std::fs::write(dir.join("ww.toml"), "[silence]\nsensor_secs = 300\n").unwrap();
    let ww = env!("CARGO_BIN_EXE_wardwatch");
    let script = format!(
        r#"
{ww} replay --eve /dev/null --config ww.toml --listen 127.0.0.1:8080 --hold gap.pcap 2> ww.log &
P=$!
for i in $(seq 1 400); do grep -q "capture done" ww.log && break; sleep 0.05; done
sleep 1.5
curl -s http://127.0.0.1:8080/metrics > metrics.txt || true
kill -TERM $P; wait $P || true
"#
    );
    let out = testkit::netns::run_script(&dir, &script).unwrap();
    let log = std::fs::read_to_string(dir.join("ww.log")).unwrap_or_default();
    assert!(out.status.success(), "{log}");
    let m = std::fs::read_to_string(dir.join("metrics.txt")).unwrap();
    for (rule, sev) in [("sensor.capture_silent", 2), ("sensor.capture_resumed", 4)] {
        let series = format!("wardwatch_alerts_total{{rule=\"{rule}\",severity=\"{sev}\"}} 1");
        assert!(
            m.lines().any(|l| l == series),
            "{series} missing:\n{m}\n{log}"
        );
    }
}
