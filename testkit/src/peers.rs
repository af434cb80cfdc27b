//! Finding the real peer tools tests run against (tshark, tcpdump, dcmtk, Python peers).
//!
//! Rule: under CI (`CI=true`) a missing peer is a test failure, never a skip. Outside CI a
//! test whose peer is missing prints why and returns early.

use std::path::{Path, PathBuf};
use std::process::Command;

/// True when running under CI (`CI=true`).
pub fn under_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// Looks `tool` up on PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Returns the tool's path, or `None` (after printing why) when it is missing outside CI.
/// Panics under CI: a missing peer must turn the run red.
pub fn require_tool(tool: &str) -> Option<PathBuf> {
    match which(tool) {
        Some(p) => Some(p),
        None if under_ci() => {
            panic!("peer tool `{tool}` is missing under CI; .ci/run must install it")
        }
        None => {
            eprintln!("SKIP: peer tool `{tool}` not installed (CI=true makes this a failure)");
            None
        }
    }
}

/// True when the process is root (network namespaces, live capture).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Requires root: `false` (with a note) outside CI, a failure under CI.
pub fn require_root() -> bool {
    if is_root() {
        return true;
    }
    if under_ci() {
        panic!("this test needs root (network namespaces); CI runs as root");
    }
    eprintln!("SKIP: needs root");
    false
}

/// The workspace root (where `.venv` and `tests/pcaps` live).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| here.to_path_buf())
}

/// The Python interpreter of the test virtual environment that `.ci/run` creates
/// (`$WARDWATCH_PYTHON`, else `<root>/.venv/bin/python`), checked to import `modules`.
pub fn require_python(modules: &[&str]) -> Option<PathBuf> {
    let py = std::env::var_os("WARDWATCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    let ok = py.is_file()
        && Command::new(&py)
            .arg("-c")
            .arg(format!("import {}", modules.join(", ")))
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if ok {
        return Some(py);
    }
    let why = format!(
        "python venv {} lacks {:?}; run .ci/run's venv step",
        py.display(),
        modules
    );
    if under_ci() {
        panic!("{why}");
    }
    eprintln!("SKIP: {why}");
    None
}

/// The first occurrence of each of `fields` in every packet of `pcap` matching the display
/// `filter`, as tshark dissects it (with `-d` decode-as rules such as `tcp.port==4433,tls`);
/// one row per packet. Panics if tshark fails (test helper).
pub fn tshark_fields(
    pcap: &std::path::Path,
    decode_as: &[&str],
    filter: &str,
    fields: &[&str],
) -> Vec<Vec<String>> {
    let mut c = std::process::Command::new("tshark");
    c.arg("-r").arg(pcap);
    for d in decode_as {
        c.args(["-d", d]);
    }
    c.args(["-Y", filter, "-T", "fields", "-E", "occurrence=f"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().expect("tshark runs");
    assert!(out.status.success(), "tshark failed on {}", pcap.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}
