//! Helpers shared by the integration tests: run the `wardwatch` binary on captures.
#![allow(dead_code)] // reason: each test binary uses a different subset

pub mod golden;

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn pcap(rel: &str) -> PathBuf {
    root().join("tests/pcaps").join(rel)
}

/// Seconds longer than any test capture.
const LONG: u64 = 1_000_000_000;

/// The `[flow]` table with every timeout longer than any test capture.
fn long_flow_timeouts() -> String {
    let t = LONG;
    format!(
        "[flow]\ntcp_new_timeout = {t}\ntcp_established_timeout = {t}\n\
         tcp_closed_timeout = {t}\nudp_timeout = {t}\nother_timeout = {t}\nactive_timeout = {t}\n"
    )
}

/// A config with timeouts longer than any test capture, and `workers` workers.
pub fn long_timeouts_config(dir: &Path, workers: usize) -> PathBuf {
    let p = dir.join(format!("long-{workers}.toml"));
    std::fs::write(&p, format!("workers = {workers}\n{}", long_flow_timeouts())).unwrap();
    p
}

/// `dir/ww.toml` for the baseline scenarios: one worker, the state in `dir/state`, long
/// flow timeouts, baselines learning for longer than any capture, then `extra` (more
/// `[baseline]` keys, then other tables).
pub fn scenario_config(dir: &Path, extra: &str) -> PathBuf {
    let p = dir.join("ww.toml");
    std::fs::write(
        &p,
        format!(
            "workers = 1\nstate_dir = {:?}\n{}[baseline]\nlearning_secs = {LONG}\n{extra}\n",
            dir.join("state").display().to_string(),
            long_flow_timeouts()
        ),
    )
    .unwrap();
    p
}

/// `wardwatch baseline ARGS --config CFG --who tester`: exit code, stdout, stderr.
pub fn baseline_cli(cfg: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .arg("baseline")
        .args(args)
        .arg("--config")
        .arg(cfg)
        .args(["--who", "tester"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (rule, device id) of alert events.
pub fn rule_device_pairs<'a>(
    alerts: impl IntoIterator<Item = &'a serde_json::Value>,
) -> std::collections::BTreeSet<(String, String)> {
    alerts
        .into_iter()
        .map(|e| {
            (
                e["alert"]["rule"].as_str().unwrap().to_string(),
                e["alert"]["device"]["id"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

pub fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ww-it-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Output of one replay.
pub struct Run {
    pub eve: String,
    pub stderr: String,
    pub code: i32,
}

impl Run {
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.eve
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
    /// The EVE output without the events derived on the writer thread from every
    /// worker's events (`device`, `alert`): when a device change or a deviation is first
    /// reported depends on how the workers' batches interleave; everything else is per
    /// packet.
    pub fn packet_eve(&self) -> String {
        let mut s = String::new();
        for l in self.eve.lines() {
            if !is_derived(l) {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }
    /// The `alert` events.
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event_type"] == "alert")
            .collect()
    }
    pub fn flows(&self) -> Vec<serde_json::Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event_type"] == "flow")
            .collect()
    }
}

/// An EVE line derived on the writer thread (`device` or `alert`).
pub fn is_derived(line: &str) -> bool {
    line.contains(r#""event_type":"device""#) || line.contains(r#""event_type":"alert""#)
}

/// Runs `wardwatch replay --eve - [args] files` and collects its output.
pub fn replay(config: Option<&Path>, files: &[PathBuf]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wardwatch"));
    c.arg("replay").arg("--eve").arg("-");
    if let Some(cfg) = config {
        c.arg("--config").arg(cfg);
    }
    c.args(files);
    let out = c.output().unwrap();
    Run {
        eve: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}
