//! The systemd unit in deploy/systemd: `systemd-analyze verify` (Debian `systemd`) gives no
//! warning about it (its ExecStart pointed at the binary under test), it keeps the hardening
//! the deployment promises, and every option its ExecStart passes is one `wardwatch run`
//! accepts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use testkit::peers;

const PACKAGED_BIN: &str = "/usr/bin/wardwatch";

fn unit_text() -> String {
    std::fs::read_to_string(common::root().join("deploy/systemd/wardwatch.service")).unwrap()
}

/// `systemd-analyze verify` output lines about `unit` (empty: clean), and the exit status.
fn verify(systemd_analyze: &Path, unit: &Path) -> (Vec<String>, bool) {
    let out = Command::new(systemd_analyze)
        .arg("verify")
        .arg(unit)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .unwrap();
    let name = unit.file_name().unwrap().to_string_lossy().into_owned();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .filter(|l| l.contains(&name) || l.contains("wardwatch"))
        .map(str::to_string)
        .collect();
    (lines, out.status.success())
}

#[test]
fn systemd_unit_passes_verify() {
    // The unit as packaged, with only the binary path swapped for the one under test, has
    // no warning from systemd-analyze verify; a copy with a misspelt directive does (so the
    // check can fail).
    let Some(sa) = peers::require_tool("systemd-analyze") else {
        return;
    };
    let text = unit_text();
    assert!(text.contains(&format!("ExecStart={PACKAGED_BIN} ")));
    let dir = common::tempdir("deploy-unit");
    let unit = dir.join("wardwatch.service");
    std::fs::write(
        &unit,
        text.replace(PACKAGED_BIN, env!("CARGO_BIN_EXE_wardwatch")),
    )
    .unwrap();
    let (lines, ok) = verify(&sa, &unit);
    assert!(ok && lines.is_empty(), "systemd-analyze verify: {lines:#?}");
    let bad = dir.join("bad").join("wardwatch.service");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(
        &bad,
        std::fs::read_to_string(&unit)
            .unwrap()
            .replace("ProtectSystem=strict", "ProtectSystems=strict"),
    )
    .unwrap();
    let (lines, _) = verify(&sa, &bad);
    assert!(
        lines.iter().any(|l| l.contains("ProtectSystems")),
        "{lines:?}"
    );
}

/// `Key=value` settings of the unit (keys given several times keep every value).
fn settings(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in text.lines() {
        let l = l.trim();
        if l.starts_with('#') || l.starts_with('[') {
            continue;
        }
        if let Some((k, v)) = l.split_once('=') {
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
    }
    m
}

#[test]
fn systemd_unit_is_hardened_and_passes_known_options() {
    // Unprivileged user, exactly CAP_NET_RAW and CAP_NET_ADMIN (ambient and bounding),
    // read-only system with state under /var/lib/wardwatch, the promised sandboxing, reload
    // by SIGHUP; every --option of ExecStart appears in `wardwatch run --help`.
    let s = settings(&unit_text());
    let one = |k: &str| -> String {
        let v = s.get(k).unwrap_or_else(|| panic!("{k} missing"));
        v[0].clone()
    };
    assert_eq!(one("User"), "wardwatch");
    for k in ["AmbientCapabilities", "CapabilityBoundingSet"] {
        let mut caps: Vec<&str> = s[k][0].split_whitespace().collect();
        caps.sort();
        assert_eq!(caps, ["CAP_NET_ADMIN", "CAP_NET_RAW"], "{k}");
        assert_eq!(s[k].len(), 1, "{k} given once");
    }
    for (k, v) in [
        ("ProtectSystem", "strict"),
        ("StateDirectory", "wardwatch"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("PrivateDevices", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallArchitectures", "native"),
    ] {
        assert_eq!(one(k), v, "{k}");
    }
    let mut families: Vec<&str> = s["RestrictAddressFamilies"][0].split_whitespace().collect();
    families.sort();
    assert_eq!(
        families,
        ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET", "AF_UNIX"]
    );
    assert!(s["SystemCallFilter"].iter().any(|v| v == "@system-service"));
    assert!(one("ExecReload").contains("-HUP $MAINPID"));
    let exec = one("ExecStart");
    assert!(exec.contains("--state-dir /var/lib/wardwatch"), "{exec}");
    let help = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let words: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(words.get(1), Some(&"run"));
    for w in words.iter().filter(|w| w.starts_with("--")) {
        assert!(help.contains(*w), "{w} is not an option of `wardwatch run`");
    }
}

#[test]
fn unit_capabilities_suffice_for_live_capture() {
    // As the unit runs it: user nobody, no-new-privs, only CAP_NET_RAW and CAP_NET_ADMIN
    // (ambient, inheritable, bounding), `run -i lo` in a network namespace captures a UDP
    // datagram and writes its flow; the same user without the capabilities is refused
    // (exit 2), so the capabilities are what make it work.
    if !peers::require_root() {
        return;
    }
    for tool in ["unshare", "setpriv", "python3"] {
        if peers::require_tool(tool).is_none() {
            return;
        }
    }
    let dir = common::tempdir("deploy-caps");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let caps = "-all,+net_raw,+net_admin";
    let script = format!(
        r#"
setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs \
  --inh-caps={caps} --ambient-caps={caps} --bounding-set={caps} \
  {ww} run -i lo --workers 1 --eve eve.json 2> ww.log &
P=$!
for i in $(seq 1 200); do grep -q capturing ww.log && break; sleep 0.05; done
sleep 0.3
python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"hello", ("127.0.0.1", 9999))'
sleep 0.5
kill -TERM $P
wait $P
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs --inh-caps=-all \
  --bounding-set=-all {ww} run -i lo --eve none.json 2> nocaps.log || rc=$?
echo "nocaps $rc"
"#,
        ww = env!("CARGO_BIN_EXE_wardwatch"),
    );
    let out = testkit::netns::run_script(&dir, &script).unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        read("ww.log")
    );
    let eve = read("eve.json");
    assert!(
        eve.lines()
            .any(|l| l.contains("\"event_type\":\"flow\"") && l.contains("9999")),
        "{eve}\n{}",
        read("ww.log")
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nocaps 2"),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        read("nocaps.log")
    );
}
