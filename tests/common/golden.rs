//! The golden-snapshot harness shared by the per-protocol golden tests: captures in
//! `tests/pcaps/<proto>/`, each replayed through the binary, the protocol's lines compared
//! with the reviewed `<capture>.eve.jsonl` beside it. `WARDWATCH_BLESS=1` rewrites the
//! snapshots instead (review the diff before committing).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `tests/pcaps/<proto>/`.
pub fn dir(proto: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/pcaps")
        .join(proto)
}

/// The pcap and pcapng files of `dir`, sorted.
pub fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    v
}

/// Every EVE line of `wardwatch replay` (default config) on `pcap`.
pub fn replay_lines(pcap: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["replay", "--eve", "-"])
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
        .map(str::to_string)
        .collect()
}

/// The lines whose `event_type` is one of `types`, plus anomalies raised by analyzer
/// `analyzer`, grouped by flow (capture order within a flow, so independent of how flows
/// ending together interleave).
pub fn app_lines(pcap: &Path, types: &[&str], analyzer: &str) -> Vec<String> {
    let mut v: Vec<(u64, String)> = replay_lines(pcap)
        .into_iter()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(&l).unwrap();
            let t = v["event_type"].as_str().unwrap_or_default();
            let keep =
                types.contains(&t) || (t == "anomaly" && v["anomaly"]["app_proto"] == analyzer);
            keep.then(|| (v["flow_id"].as_u64().unwrap_or(0), l))
        })
        .collect();
    v.sort_by_key(|(flow, _)| *flow);
    v.into_iter().map(|(_, l)| l).collect()
}

/// Compares `lines(capture)` with each capture's snapshot (or blesses them); at least
/// `min` captures must be present.
pub fn check_snapshots(dir: &Path, min: usize, lines: impl Fn(&Path) -> Vec<String>) {
    let bless = std::env::var("WARDWATCH_BLESS").is_ok_and(|v| v == "1");
    let caps = captures(dir);
    assert!(caps.len() >= min, "captures missing from {}", dir.display());
    let mut failures = Vec::new();
    for pcap in caps {
        let got = lines(&pcap);
        let snap = pcap.with_extension("eve.jsonl");
        if bless {
            let text: String = got.iter().map(|l| format!("{l}\n")).collect();
            std::fs::write(&snap, text).unwrap();
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
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
