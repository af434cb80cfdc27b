//! The baseline HTTP API end to end, with curl in a private network namespace against
//! `replay --listen --hold`: list and one baseline (same shape as the YAML export), 401
//! without the token, 404 for an unknown device or action, lock and approve queued with
//! who (202), 400 with a clear reason for a missing `who`, an unknown kind, a malformed
//! body or an unknown field, 413 for a huge body; a restart applies the queued commands
//! (the baseline is locked, the approved entry is in, both recorded with who).

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use testkit::clinical::*;

const PUMP: Host = Host::new([0x58, 0x42, 0xe4, 0, 0, 1], [10, 1, 0, 10]);
const SERVER: Host = Host::new([0x02, 0, 0, 0, 0, 0x50], [10, 1, 0, 50]);
const PUMP_ID: &str = "58:42:e4:00:00:01";

fn capture(dir: &Path) {
    let mut s = Scenario::new(1_700_000_000);
    for i in 0..3 {
        let n = format!("P{i}");
        s.tcp(
            PUMP,
            SERVER,
            2575,
            &[
                (true, hl7("PUMP", "SND", "ORU^R01", &n, false)),
                (false, hl7_ack(&n)),
            ],
        );
        s.wait_secs(30);
    }
    s.write_to(&dir.join("ward.pcap")).unwrap();
}

/// (status, body) of request `name` as the script saved them.
fn answer(dir: &Path, name: &str) -> (u16, String) {
    let code = std::fs::read_to_string(dir.join(format!("{name}.code"))).unwrap_or_default();
    let body = std::fs::read_to_string(dir.join(format!("{name}.body"))).unwrap_or_default();
    (code.trim().parse().unwrap_or(0), body)
}

#[test]
fn baseline_api_lists_serves_and_queues_commands() {
    // Every answer of the baseline routes over real HTTP, then the queued commands applied
    // by the appliance at its next start.
    if !testkit::peers::require_root() {
        return;
    }
    for tool in ["ip", "unshare", "curl"] {
        if testkit::peers::require_tool(tool).is_none() {
            return;
        }
    }
    let dir = tempdir("baseline-api");
    capture(&dir);
    std::fs::write(dir.join("big.json"), vec![b' '; 1 << 20]).unwrap();
    let ww = env!("CARGO_BIN_EXE_wardwatch");
    let u = "http://127.0.0.1:8080/api/v1/baselines";
    let script = format!(
        r#"
start() {{
  {ww} replay --eve /dev/null --listen 127.0.0.1:8080 --hold --state-dir state ward.pcap 2> $1 &
  P=$!
  for i in $(seq 1 400); do grep -q "capture done" $1 && break; sleep 0.05; done
  T=$(cat state/api-token)
}}
c() {{ n=$1; shift; curl -s -o $n.body -w '%{{http_code}}' "$@" > $n.code || true; }}
post() {{ n=$1; url=$2; shift 2; c $n -X POST -H "Authorization: Bearer $T" -H 'Content-Type: application/json' "$url" "$@"; }}
start ww1.log
c list -H "Authorization: Bearer $T" {u}
c one -H "Authorization: Bearer $T" {u}/{PUMP_ID}
c missing -H "Authorization: Bearer $T" {u}/00:00:00:00:00:01
c noauth {u}
c noauth_post -X POST -d '{{"who":"eve"}}' {u}/{PUMP_ID}/lock
post lock {u}/{PUMP_ID}/lock -d '{{"who":"alice"}}'
post approve {u}/{PUMP_ID}/approve -d '{{"who":"bob","kind":"services","value":"tcp/8443/out"}}'
post badkind {u}/{PUMP_ID}/approve -d '{{"who":"bob","kind":"nope","value":"x"}}'
post nokind {u}/{PUMP_ID}/approve -d '{{"who":"bob"}}'
post nowho {u}/{PUMP_ID}/lock -d '{{}}'
post malformed {u}/{PUMP_ID}/lock -d '{{"who":'
post extra {u}/{PUMP_ID}/lock -d '{{"who":"a","force":true}}'
post kindonlock {u}/{PUMP_ID}/lock -d '{{"who":"a","kind":"services"}}'
post huge {u}/{PUMP_ID}/lock -H 'Expect: 100-continue' --data-binary @big.json
post nodevice {u}/00:00:00:00:00:01/lock -d '{{"who":"a"}}'
post badaction {u}/{PUMP_ID}/explode -d '{{"who":"a"}}'
kill -TERM $P; wait $P || true
start ww2.log
c after -H "Authorization: Bearer $T" {u}/{PUMP_ID}
c afterlist -H "Authorization: Bearer $T" {u}
kill -TERM $P; wait $P || true
"#
    );
    let out = testkit::netns::run_script(&dir, &script).unwrap();
    let log = std::fs::read_to_string(dir.join("ww1.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Reads.
    let (code, body) = answer(&dir, "list");
    assert_eq!(code, 200, "{body}\n{log}");
    let list: Vec<Value> = serde_json::from_str(&body).unwrap();
    let pump = list
        .iter()
        .find(|b| b["device"] == PUMP_ID)
        .expect("pump listed");
    assert_eq!(pump["state"], "learning");
    assert!(pump["learn_until"]
        .as_str()
        .unwrap()
        .starts_with("2023-11-2"));
    assert!(pump["counts"]["services"].as_u64().unwrap() >= 1, "{pump}");
    let (code, body) = answer(&dir, "one");
    assert_eq!(code, 200, "{body}");
    let one: Value = serde_json::from_str(&body).unwrap();
    // The shape of the YAML export: the same DeviceBaseline fields.
    let yaml_shape = rules::baseline::to_yaml(&[serde_json::from_value(one.clone()).unwrap()]);
    assert!(yaml_shape.is_ok());
    assert!(!one["sets"]["services"].as_array().unwrap().is_empty());
    assert_eq!(answer(&dir, "missing").0, 404);
    assert_eq!(answer(&dir, "noauth").0, 401);
    assert_eq!(answer(&dir, "noauth_post").0, 401);
    // Commands.
    let (code, body) = answer(&dir, "lock");
    assert_eq!(code, 202, "{body}");
    assert!(body.contains("alice"), "{body}");
    assert_eq!(answer(&dir, "approve").0, 202);
    for (name, want, says) in [
        ("badkind", 400, "unknown kind `nope`"),
        ("nokind", 400, "approve needs `kind` and `value`"),
        ("nowho", 400, "`who` is required"),
        ("malformed", 400, "body:"),
        ("extra", 400, "unknown field `force`"),
        ("kindonlock", 400, "apply to approve only"),
        ("huge", 413, "larger than"),
        ("nodevice", 404, "no baseline"),
        ("badaction", 404, "no such route"),
    ] {
        let (code, body) = answer(&dir, name);
        assert_eq!(code, want, "{name}: {body}");
        assert!(body.contains(says), "{name}: {body}");
    }
    // The restart applied both commands, recorded with who.
    let (code, body) = answer(&dir, "after");
    assert_eq!(code, 200, "{body}");
    let after: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(after["state"], "locked", "{after}");
    assert!(after["sets"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "tcp/8443/out"));
    let who: Vec<(&str, &str)> = after["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap(), c["who"].as_str().unwrap()))
        .collect();
    assert!(who.contains(&("lock", "alice")), "{who:?}");
    assert!(
        who.iter()
            .any(|(a, w)| a.starts_with("approve") && *w == "bob"),
        "{who:?}"
    );
    let (code, body) = answer(&dir, "afterlist");
    assert_eq!(code, 200);
    assert!(body.contains("\"last_change\""), "{body}");
}
