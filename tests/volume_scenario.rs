//! Volume baselines through the whole pipeline with a state directory: a ward learns three
//! hours of its usual traffic, is locked, then a later day repeats it with a bulk transfer
//! from the pump to its server injected in one hour: exactly one `baseline.volume_exceeded`
//! per device of that transfer fires, with the learned largest hour as evidence; the
//! monitor, doubling its small traffic under the floor, stays quiet; a normal day after
//! that fires nothing. The learned volume is in the YAML export.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use testkit::clinical::*;

const PUMP: Host = Host::new([0x58, 0x42, 0xe4, 0, 0, 1], [10, 1, 0, 10]);
const MONITOR: Host = Host::new([0x00, 0x09, 0xfb, 0, 0, 2], [10, 1, 0, 20]);
const SERVER: Host = Host::new([0x02, 0, 0, 0, 0, 0x50], [10, 1, 0, 50]);

const DAY: i64 = 86_400;
const START: i64 = 1_740_988_800; // 2025-03-03T08:00:00Z, on the hour

/// `n` messages of 60,000 bytes from the pump to its server (and a short reply).
fn pump_upload(s: &mut Scenario, n: usize) {
    let mut m: Vec<(bool, Vec<u8>)> = (0..n).map(|_| (true, vec![0x17; 60_000])).collect();
    m.push((false, vec![0x17; 64]));
    s.tcp(PUMP, SERVER, 443, &m);
}

fn monitor_results(s: &mut Scenario, n: usize) {
    for i in 0..n {
        let c = format!("M{i}");
        s.tcp(
            MONITOR,
            SERVER,
            2575,
            &[
                (true, hl7("MON", "SND", "ORU^R01", &c, true)),
                (false, hl7_ack(&c)),
            ],
        );
    }
}

/// Three hours: the pump uploads 2 x 60 kB an hour, the monitor sends two results.
/// `bulk`: in the second hour the pump also uploads 10 x 60 kB, and the monitor sends
/// twice its results in the third hour (more than double, but far under the floor).
fn day(dir: &Path, name: &str, start: i64, bulk: bool) -> PathBuf {
    let mut s = Scenario::new(start);
    for hour in 0..3 {
        s.now_us = (start + hour * 3600 + 60) * 1_000_000;
        pump_upload(&mut s, 2);
        monitor_results(&mut s, if bulk && hour == 2 { 5 } else { 2 });
        if bulk && hour == 1 {
            s.wait_secs(600);
            pump_upload(&mut s, 10);
        }
    }
    let p = dir.join(name);
    s.write_to(&p).unwrap();
    p
}

/// The baseline alerts of a run (the hour-long gaps between the capture's hours also
/// raise sensor-silence alerts, not under test here).
fn alerts(run: &common::Run) -> Vec<serde_json::Value> {
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.alerts()
        .into_iter()
        .filter(|e| {
            e["alert"]["rule"]
                .as_str()
                .is_some_and(|r| r.starts_with("baseline."))
        })
        .collect()
}

fn cli(cfg: &Path, args: &[&str]) -> String {
    let (code, out, err) = common::baseline_cli(cfg, args);
    assert!(code == 0, "{err}");
    out
}

/// `learned_max_bytes` of a device's YAML export.
fn learned_max(yaml: &str) -> u64 {
    yaml.lines()
        .find_map(|l| l.trim().strip_prefix("learned_max_bytes: "))
        .unwrap_or_else(|| panic!("{yaml}"))
        .parse()
        .unwrap()
}

#[test]
fn volume_scenario_bulk_transfer_fires_once_per_device_and_normal_days_are_quiet() {
    // Learn, lock, inject a bulk upload: one volume alert each for the pump and its
    // server in the bulk hour, none for the monitor; a normal later day is quiet.
    let dir = common::tempdir("volume-scenario");
    let cfg = common::scenario_config(
        &dir,
        "volume_tolerance = 1.0\nvolume_min_bytes = 200000\n[policy]\nenabled = false",
    );
    let learn = day(&dir, "learn.pcap", START, false);
    let a = alerts(&common::replay(Some(&cfg), &[learn]));
    assert!(a.is_empty(), "{a:?}");
    cli(&cfg, &["lock", "--all"]);
    let pump_max = learned_max(&cli(&cfg, &["export", "--device", &PUMP.id()]));
    // Two 60 kB uploads plus headers and the reply.
    assert!((120_000..130_000).contains(&pump_max), "{pump_max}");
    let got = alerts(&common::replay(
        Some(&cfg),
        &[day(&dir, "bulk.pcap", START + DAY, true)],
    ));
    let pairs: BTreeSet<(String, String)> = got
        .iter()
        .map(|e| {
            (
                e["alert"]["rule"].as_str().unwrap().to_string(),
                e["alert"]["device"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [PUMP, SERVER]
        .into_iter()
        .map(|h| ("baseline.volume_exceeded".to_string(), h.id()))
        .collect();
    assert_eq!(pairs, want);
    let pump = got
        .iter()
        .find(|e| e["alert"]["device"]["id"] == PUMP.id())
        .unwrap();
    let a = &pump["alert"];
    assert_eq!(a["signature_id"], 9_200_011);
    let ev = &a["evidence"];
    assert_eq!(ev["learned_max_bytes"], pump_max.to_string());
    assert_eq!(ev["hour_start"], (START + DAY + 3600).to_string());
    assert_eq!(ev["baseline_state"], "locked");
    let hour: u64 = ev["hour_bytes"].as_str().unwrap().parse().unwrap();
    assert!(hour > 2 * pump_max, "{hour} {pump_max}");
    // A normal day later: nothing fires.
    let normal = day(&dir, "normal.pcap", START + 2 * DAY, false);
    assert!(alerts(&common::replay(Some(&cfg), &[normal])).is_empty());
}
