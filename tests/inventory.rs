//! The device inventory end to end: accuracy against the ground truth of a generated
//! hospital capture (`../shared/bench/hospital_pcap.py` writes `<out>.hosts.csv`), a
//! `kill -9` after a checkpoint followed by a restart giving the same inventory as one
//! run, and the `wardwatch inventory` formats (CSV safe for spreadsheets).

mod common;

use common::tempdir;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn generator() -> Option<PathBuf> {
    let p = common::root().join("../shared/bench/hospital_pcap.py");
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "../shared/bench/hospital_pcap.py missing under CI"
    );
    eprintln!("Skipping: ../shared/bench/hospital_pcap.py not found next to the workspace.");
    None
}

/// Generates a workload capture of `size` with `epoch` into `dir`.
fn generate(gen: &Path, dir: &Path, name: &str, size: &str, epoch: Option<u64>) -> PathBuf {
    let out = dir.join(name);
    let mut c = Command::new("python3");
    c.arg(gen).args(["--size", size, "--out"]).arg(&out);
    if let Some(e) = epoch {
        c.args(["--epoch", &e.to_string()]);
    }
    let st = c.stdout(Stdio::null()).status().unwrap();
    assert!(st.success(), "hospital_pcap.py failed: {st}");
    out
}

fn ww() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wardwatch"))
}

fn replay(state: &Path, files: &[PathBuf]) {
    let out = ww()
        .args(["replay", "--eve", "/dev/null", "--state-dir"])
        .arg(state)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn inventory(state: &Path, format: &str) -> String {
    let out = ww()
        .args(["inventory", "--format", format, "--state-dir"])
        .arg(state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn devices(state: &Path) -> BTreeMap<String, Value> {
    let v: Value = serde_json::from_str(&inventory(state, "json")).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].as_str().unwrap().to_string(), d.clone()))
        .collect()
}

/// The ground truth's role mapped to wardwatch's device classes.
fn class_of_role(role: &str) -> &'static str {
    match role {
        "pump" => "infusion_pump",
        "monitor" => "patient_monitor",
        "monitorgw" => "monitoring_gateway",
        "modality" => "imaging_modality",
        "pacs" | "vna" => "pacs",
        "ris" | "ehr" | "lis" | "hl7engine" | "pumpserver" | "webapp" => "clinical_server",
        "medother" => "medical_other",
        "workstation" => "clinical_workstation",
        "printer" => "printer",
        "phone" => "ip_phone",
        "dns" | "dhcp" | "ntp" | "backup" => "it_server",
        // Internet servers sit behind the core router's MAC.
        "internet" => "network_device",
        _ => "unknown",
    }
}

/// A word the IEEE organisation name contains for each generator vendor.
fn vendor_words(v: &str) -> &'static [&'static str] {
    match v {
        "Philips" => &["philips"],
        "GE Healthcare" => &["ge "],
        "Siemens Healthcare" => &["siemens"],
        "Baxter" => &["baxter"],
        "B. Braun" => &["braun"],
        "BD/CareFusion/Alaris" => &["carefusion", "becton", "alaris"],
        "Mindray" => &["mindray"],
        "Draeger" => &["draeger"],
        "Nihon Kohden" => &["nihon kohden"],
        "Spacelabs" => &["spacelabs"],
        "ICU Medical" => &["icu medical"],
        "Welch Allyn" => &["welch allyn"],
        "Hill-Rom" => &["hill-rom"],
        "Fresenius" => &["fresenius"],
        "Masimo" => &["masimo"],
        "Smiths Medical" => &["smiths medical"],
        "Carestream" => &["carestream"],
        "Fujifilm" => &["fujifilm"],
        "Agfa" => &["agfa"],
        "Dell" => &["dell"],
        "HP" => &["hewlett packard"],
        "Lenovo" => &["lenovo"],
        "VMware" => &["vmware"],
        "Cisco" => &["cisco"],
        "Zebra" => &["zebra"],
        _ => &[],
    }
}

#[test]
fn inventory_vendor_and_class_match_workload_ground_truth() {
    // Every host that sent a frame has a record with the right vendor, and at least 93%
    // the right class, from about two seconds of traffic (95.4% on the 100 MiB workload).
    let Some(gen) = generator() else { return };
    let Some(tshark) = testkit::peers::require_tool("tshark") else {
        return;
    };
    let dir = tempdir("inv-accuracy");
    let pcap = generate(&gen, &dir, "w.pcap", "40MiB", None);
    let state = dir.join("state");
    replay(&state, std::slice::from_ref(&pcap));
    let inv = devices(&state);
    // Hosts that sent a frame, by tshark.
    let out = Command::new(tshark)
        .arg("-r")
        .arg(&pcap)
        .args(["-T", "fields", "-e", "eth.src"])
        .output()
        .unwrap();
    let senders: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    let csv = std::fs::read_to_string(dir.join("w.pcap.hosts.csv")).unwrap();
    let mut truth: BTreeMap<String, (String, String)> = BTreeMap::new();
    for l in csv.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        truth.insert(f[1].to_string(), (f[2].to_string(), f[3].to_string()));
    }
    let (mut n, mut recorded, mut vendor_ok, mut class_ok) = (0, 0, 0, 0);
    let mut confusion: BTreeMap<(String, String), u32> = BTreeMap::new();
    for (mac, (vendor, role)) in &truth {
        if !senders.contains(mac) {
            continue;
        }
        n += 1;
        let Some(d) = inv.get(mac) else { continue };
        recorded += 1;
        let got = d["vendor"].as_str().unwrap_or("").to_ascii_lowercase() + " ";
        if vendor_words(vendor).iter().any(|w| got.contains(w)) {
            vendor_ok += 1;
        }
        let want = class_of_role(role);
        let class = d["classification"]["class"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if class == want {
            class_ok += 1;
        }
        *confusion.entry((want.to_string(), class)).or_default() += 1;
    }
    let report = format!(
        "senders {n}, recorded {recorded}, vendor {vendor_ok}, class {class_ok}\n{confusion:#?}"
    );
    assert!(n > 1000, "{report}");
    assert!(recorded * 100 >= n * 99, "{report}");
    assert_eq!(vendor_ok, recorded, "{report}");
    assert!(class_ok * 100 >= recorded * 93, "{report}");
}

/// What must survive a restart: identity, class, addresses and every attribute value
/// with its source and first/last sight.
fn essence(devs: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    devs.iter()
        .map(|(id, d)| {
            let mut attrs: Vec<String> = Vec::new();
            if let Some(m) = d["attributes"].as_object() {
                for (k, vals) in m {
                    // Deviations mirror alerts, whose dedup windows fold repeats in the
                    // order workers deliver events: their counts may vary run to run.
                    if k == "deviation" {
                        continue;
                    }
                    for v in vals.as_array().unwrap() {
                        attrs.push(format!(
                            "{k}={}@{}[{}..{}]x{}",
                            v["value"],
                            v["source"],
                            v["first_seen_us"],
                            v["last_seen_us"],
                            v["count"]
                        ));
                    }
                }
            }
            attrs.sort();
            (
                id.clone(),
                format!(
                    "{} {} {} {} {} {:?}",
                    d["classification"]["class"],
                    d["vendor"],
                    d["ips"],
                    d["first_seen_us"],
                    d["last_seen_us"],
                    attrs
                ),
            )
        })
        .collect()
}

#[test]
fn inventory_kill_9_after_checkpoint_then_rest_equals_one_run() {
    // Replay part one, kill -9 once its checkpoint is logged, replay part two on the same
    // state: the inventory equals that of one run over both parts.
    let Some(gen) = generator() else { return };
    let dir = tempdir("inv-restart");
    let a = generate(&gen, &dir, "a.pcap", "6MiB", Some(1_740_988_800));
    let b = generate(&gen, &dir, "b.pcap", "6MiB", Some(1_740_988_800 + 3600));
    let one = dir.join("one");
    replay(&one, &[a.clone(), b.clone()]);

    let split = dir.join("split");
    let mut child = ww()
        .env("WARDWATCH_LOG", "info")
        .args([
            "replay",
            "--eve",
            "/dev/null",
            "--listen",
            "127.0.0.1:0",
            "--hold",
            "--state-dir",
        ])
        .arg(&split)
        .arg(&a)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut checkpoint = false;
    for l in BufReader::new(err).lines() {
        let l = l.unwrap();
        if l.contains("Inventory checkpoint written") {
            checkpoint = true;
        }
        let done = l.starts_with("wardwatch: capture done");
        seen.push(l);
        if done {
            break;
        }
    }
    assert!(checkpoint, "no checkpoint logged: {seen:#?}");
    child.kill().unwrap(); // SIGKILL: no orderly shutdown.
    let _ = child.wait();
    replay(&split, &[b]);

    let (x, y) = (essence(&devices(&one)), essence(&devices(&split)));
    assert!(x.len() > 500, "{}", x.len());
    let differ: Vec<_> = x
        .iter()
        .filter(|(k, v)| y.get(*k) != Some(v))
        .take(3)
        .map(|(k, v)| (k.clone(), v.clone(), y.get(k).cloned()))
        .collect();
    assert!(differ.is_empty(), "{differ:#?}");
    assert_eq!(x.len(), y.len());
}

#[test]
fn inventory_kill_9_mid_replay_leaves_a_readable_store() {
    // A kill -9 while checkpoints are being written leaves a store that opens and reads.
    let Some(gen) = generator() else { return };
    let dir = tempdir("inv-crash");
    let a = generate(&gen, &dir, "a.pcap", "20MiB", None);
    let cfg = dir.join("fast.toml");
    // Checkpoint every second of wall time, and replay slowly enough to be killed mid-way:
    // one worker, a small queue.
    std::fs::write(&cfg, "workers = 1\n[inventory]\ncheckpoint_secs = 1\n").unwrap();
    let state = dir.join("state");
    let mut child = ww()
        .env("WARDWATCH_LOG", "info")
        .args(["replay", "--eve"])
        .arg(dir.join("eve.json"))
        .arg("--config")
        .arg(&cfg)
        .arg("--state-dir")
        .arg(&state)
        .args([&a, &a, &a, &a])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    for l in BufReader::new(err).lines() {
        if l.unwrap().contains("Inventory checkpoint written") {
            break;
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    let devs = devices(&state);
    assert!(!devs.is_empty());
    // And a restart continues from it.
    replay(&state, &[a]);
    assert!(devices(&state).len() >= devs.len());
}

#[test]
fn inventory_formats_table_json_csv() {
    // The three formats list the same devices (CSV escaping is unit-tested in
    // src/inventory.rs); a missing store is a clear error.
    let dir = tempdir("inv-formats");
    let state = dir.join("state");
    let pcap = common::pcap("dhcp/dhcp-mud.pcap");
    replay(&state, &[pcap]);
    let json = devices(&state);
    assert!(!json.is_empty());
    let csv = inventory(&state, "csv");
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("id,ips,vendor,class,"));
    assert_eq!(lines.count(), json.len());
    let table = inventory(&state, "table");
    assert!(table.starts_with("ID "));
    assert!(table
        .trim_end()
        .ends_with(&format!("{} devices", json.len())));
    for id in json.keys() {
        assert!(
            csv.contains(id.as_str()) && table.contains(id.as_str()),
            "{id}"
        );
    }
    // No state directory: a clear error, exit 2.
    let out = ww()
        .args(["inventory", "--state-dir"])
        .arg(dir.join("nope"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no state store"));
}

/// GET `path` with a bearer token over HTTP/1.0: (status, body).
fn get(addr: &str, path: &str, token: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let req =
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    (
        head.split(' ').nth(1).unwrap().parse().unwrap(),
        body.to_string(),
    )
}

#[test]
fn device_api_serves_the_inventory() {
    // GET /api/v1/devices lists what `wardwatch inventory` reads from the store, and
    // /api/v1/devices/{id} returns one record (404 for an unknown id, 401 without token);
    // /metrics counts them by class and, when switched on, has one info series each.
    let dir = tempdir("inv-api");
    let state = dir.join("state");
    let cfg = dir.join("info.toml");
    std::fs::write(&cfg, "[output]\nmetrics_device_info = true\n").unwrap();
    let mut child = ww()
        .args([
            "replay",
            "--eve",
            "/dev/null",
            "--listen",
            "127.0.0.1:0",
            "--hold",
            "--config",
        ])
        .arg(&cfg)
        .arg("--state-dir")
        .arg(&state)
        .arg(common::pcap("dhcp/dhcp-mud.pcap"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let mut addr = None;
    let mut lines = BufReader::new(err).lines();
    for l in lines.by_ref() {
        let l = l.unwrap();
        if let Some(a) = l.strip_prefix("wardwatch: metrics on http://") {
            addr = a.strip_suffix("/metrics").map(str::to_string);
        }
        if l.starts_with("wardwatch: capture done") {
            break;
        }
    }
    // Keep draining its log so it never writes to a closed pipe.
    std::thread::spawn(move || for _ in lines {});
    let addr = addr.expect("listen address logged");
    let token = std::fs::read_to_string(state.join("api-token")).unwrap();
    let token = token.trim();
    let (code, body) = get(&addr, "/api/v1/devices", token);
    let (unauth, _) = get(&addr, "/api/v1/devices", "wrong-token-wrong-token");
    let stored = devices(&state);
    let first = stored.keys().next().cloned().unwrap();
    let (one_code, one) = get(&addr, &format!("/api/v1/devices/{first}"), token);
    let (missing, _) = get(&addr, "/api/v1/devices/00:00:00:00:00:01", token);
    let (mcode, metrics) = get(&addr, "/metrics", token);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(code, 200, "{body}");
    assert_eq!(unauth, 401);
    let listed: Vec<Value> = serde_json::from_str(&body).unwrap();
    let ids: BTreeSet<String> = listed
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, stored.keys().cloned().collect::<BTreeSet<_>>());
    assert_eq!(one_code, 200);
    let one: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one["id"], first.as_str());
    assert_eq!(missing, 404);
    // Class counts always; per-device series because the config switched them on.
    assert_eq!(mcode, 200);
    let total: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("wardwatch_inventory_devices{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(total as usize, stored.len(), "{metrics}");
    assert!(
        metrics.contains(&format!("wardwatch_device_info{{device_id=\"{first}\"")),
        "{metrics}"
    );
    assert!(metrics.contains(&format!(
        "wardwatch_device_last_seen_timestamp_seconds{{device_id=\"{first}\"}}"
    )));
}
