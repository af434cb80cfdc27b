//! EVE file rotation end to end: by size in a replay (the rotated files, read oldest first,
//! are exactly the unrotated output, every file whole lines within the limit), and by
//! SIGHUP in a live run (logrotate's way: the file is moved, HUP sent; events before stay in
//! the moved file, events after go to a new one, no line lost or split).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use testkit::{netns, peers};

fn replay_to(dir: &Path, cfg: &str, eve: &str) {
    let c = dir.join(format!("{eve}.toml"));
    std::fs::write(&c, cfg).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["replay", "--workers", "1", "--config"])
        .arg(&c)
        .arg("--eve")
        .arg(dir.join(eve))
        .arg(common::pcap("scenarios/synthetic_philips_demo.pcap"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn eve_size_rotation_in_replay_loses_and_splits_nothing() {
    // Rotating every 4 KiB (keeping all files) gives the same lines, in order, as no
    // rotation; each file is at most 4 KiB of whole JSON lines; a second replay with keep = 2
    // leaves only FILE, FILE.1 and FILE.2, holding the newest lines.
    let dir = common::tempdir("eve-size");
    replay_to(&dir, "", "plain.json");
    let plain = std::fs::read_to_string(dir.join("plain.json")).unwrap();
    assert!(plain.len() > 5 * 4096, "the capture gives too few events");
    replay_to(
        &dir,
        "[output]\neve_rotate_bytes = 4096\neve_rotate_keep = 1000\n",
        "rot.json",
    );
    let mut files = vec![];
    for n in (1..=1000).rev() {
        let p = dir.join(format!("rot.json.{n}"));
        if p.exists() {
            files.push(std::fs::read_to_string(p).unwrap());
        }
    }
    files.push(std::fs::read_to_string(dir.join("rot.json")).unwrap());
    assert!(files.len() > 5, "{} files", files.len());
    for f in &files {
        assert!(f.len() <= 4096, "{}", f.len());
        assert!(f.is_empty() || f.ends_with('\n'));
        for l in f.lines() {
            serde_json::from_str::<Value>(l).unwrap();
        }
    }
    assert_eq!(files.concat(), plain);
    replay_to(
        &dir,
        "[output]\neve_rotate_bytes = 4096\neve_rotate_keep = 2\n",
        "two.json",
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("two.json") && !n.ends_with(".toml"))
        .collect();
    names.sort();
    assert_eq!(names, ["two.json", "two.json.1", "two.json.2"]);
    let tail = ["two.json.2", "two.json.1", "two.json"]
        .map(|n| std::fs::read_to_string(dir.join(n)).unwrap())
        .concat();
    assert!(plain.ends_with(&tail));
}

/// Sends `n` DNS queries for `<tag><i>.example` to 127.0.0.1:53 over UDP.
const SEND: &str = r#"
import socket, struct, sys
tag, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    # header: id, flags (RD), 1 question, no answers/authority/additional
    q = struct.pack(">HHHHHH", 0x1000 + i, 0x0100, 1, 0, 0, 0)
    for label in (f"{tag}{i}".encode(), b"example"):
        q += bytes([len(label)]) + label
    q += b"\x00" + struct.pack(">HH", 1, 1)  # root; type A, class IN
    s.sendto(q, ("127.0.0.1", 53))
"#;

/// dns query names in an EVE file's text (every line must be JSON).
fn dns_names(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event_type"] == "dns")
        .map(|e| e["dns"].to_string())
        .collect()
}

#[test]
fn eve_sighup_reopens_after_the_file_was_moved() {
    // wardwatch run -i lo writes dns events for queries "a*"; the file is moved away and
    // SIGHUP sent; a new eve.json appears without any new event (the writer's idle tick);
    // queries "b*" go there. The moved file has all 20 a-queries and no b; the new file all
    // 20 b-queries and no a; the process survives HUP and exits 0 on SIGTERM.
    if !peers::require_root() {
        return;
    }
    for tool in ["unshare", "python3"] {
        if peers::require_tool(tool).is_none() {
            return;
        }
    }
    let dir = common::tempdir("eve-hup");
    std::fs::write(dir.join("send.py"), SEND).unwrap();
    let script = format!(
        r#"
wait_for() {{ for i in $(seq 1 200); do eval "$1" && return 0; sleep 0.05; done; echo "timeout: $1" >&2; return 1; }}
{ww} run -i lo --workers 1 --eve eve.json 2> ww.log &
P=$!
wait_for 'grep -q capturing ww.log'
sleep 0.3
python3 send.py a 20
wait_for '[ "$(grep -c "\"dns\"" eve.json)" -ge 20 ]'
mv eve.json eve.json.old
kill -HUP $P
wait_for '[ -e eve.json ]'
python3 send.py b 20
wait_for '[ "$(grep -c "\"dns\"" eve.json)" -ge 20 ]'
kill -TERM $P
wait $P
"#,
        ww = env!("CARGO_BIN_EXE_wardwatch"),
    );
    let out = netns::run_script(&dir, &script).unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    assert!(
        out.status.success(),
        "script failed: {}\n{}\nold: {}\nnew: {}",
        String::from_utf8_lossy(&out.stderr),
        read("ww.log"),
        read("eve.json.old"),
        read("eve.json")
    );
    let (old, new) = (
        dns_names(&read("eve.json.old")),
        dns_names(&read("eve.json")),
    );
    let count = |v: &[String], tag: &str| {
        (0..20)
            .filter(|i| v.iter().any(|n| n.contains(&format!("\"{tag}{i}.example"))))
            .count()
    };
    assert_eq!(count(&old, "a"), 20, "{old:?}");
    assert_eq!(count(&old, "b"), 0, "{old:?}");
    assert_eq!(count(&new, "b"), 20, "{new:?}");
    assert_eq!(count(&new, "a"), 0, "{new:?}");
}
