//! The HTTP server secured as deployed: HTTPS with a certificate made by `openssl` in the
//! test, the API token generated at first start into the state directory (0600) and reused
//! on the next, `/metrics` behind the token, `/healthz` open, refusals and failed
//! handshakes counted in `/metrics`; checked with `curl
//! --cacert` against `wardwatch replay --listen --hold`, in a network namespace on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use testkit::{netns, peers};

/// Starts a held replay (log in `$1`), waits for its address into `$ADDR`.
const START: &str = r#"
start() {
  # Its stdout is not the script's: a held replay left behind must never keep the test
  # waiting on the pipe.
  "$WW" replay --config cfg.toml --state-dir state --listen 127.0.0.1:0 --hold \
      --eve /dev/null "$PCAP" > /dev/null 2> "$1" &
  P=$!
  trap 'kill -9 $P 2> /dev/null || true' EXIT
  ADDR=
  for i in $(seq 1 400); do
    # The log may not exist yet (the background job opens it): not an error (set -e).
    ADDR=$(sed -n 's/^wardwatch: capture done; serving metrics on \([^ ]*\) .*/\1/p' "$1" 2> /dev/null || true)
    [ -n "$ADDR" ] && break
    sleep 0.05
  done
  [ -n "$ADDR" ] || { cat "$1" >&2; exit 1; }
}
# name, then curl arguments: records "name http_code curl_exit".
probe() {
  local name=$1; shift
  local code rc=0
  code=$(curl -sS -o "body.$name" -D "head.$name" -w '%{http_code}' --max-time 10 "$@" \
      2> "err.$name") || rc=$?
  echo "$name $code $rc" >> results
}
"#;

#[test]
fn api_over_https_needs_the_generated_token() {
    // Over HTTPS only: healthz open; API 401 (with the Bearer challenge) without or with a
    // wrong token, 503 (no inventory) with the generated one; /metrics 401 then 200; plain
    // HTTP and an unverified certificate fail. The token file is 0600, survives a restart
    // unchanged, and the token never appears in the log.
    if !peers::require_root() {
        return;
    }
    for tool in ["unshare", "openssl", "curl"] {
        if peers::require_tool(tool).is_none() {
            return;
        }
    }
    let dir = common::tempdir("api-https");
    std::fs::write(
        dir.join("cfg.toml"),
        "[api]\nmetrics_require_token = true\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n",
    )
    .unwrap();
    let script = format!(
        r#"
WW={ww}
PCAP={pcap}
{START}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -keyout key.pem -out cert.pem -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2> openssl.log
start ww1.log
TOKEN=$(cat state/api-token)
U=https://$ADDR
probe healthz --cacert cert.pem $U/healthz
probe readyz --cacert cert.pem $U/readyz
probe api_none --cacert cert.pem $U/api/v1/devices
probe api_wrong --cacert cert.pem -H "Authorization: Bearer wrong-token-0123456789" \
  $U/api/v1/devices
probe api_ok --cacert cert.pem -H "Authorization: Bearer $TOKEN" $U/api/v1/devices
probe api_one --cacert cert.pem -H "Authorization: Bearer $TOKEN" \
  $U/api/v1/devices/ip:10.1.2.3
probe metrics_none --cacert cert.pem $U/metrics
probe metrics_ok --cacert cert.pem -H "Authorization: Bearer $TOKEN" $U/metrics
probe plain_http http://$ADDR/healthz
probe unverified $U/healthz
probe metrics_after --cacert cert.pem -H "Authorization: Bearer $TOKEN" $U/metrics
kill -TERM $P
wait $P
cp state/api-token token.first
start ww2.log
U=https://$ADDR
probe restart_ok --cacert cert.pem -H "Authorization: Bearer $TOKEN" $U/api/v1/devices
kill -TERM $P
wait $P
"#,
        ww = env!("CARGO_BIN_EXE_wardwatch"),
        pcap = common::pcap("hl7/hl7.pcap").display(),
    );
    let out = netns::run_script(&dir, &script).unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    assert!(
        out.status.success(),
        "script failed: {}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        read("ww1.log"),
        read("results")
    );
    let results: BTreeMap<String, (String, i32)> = read("results")
        .lines()
        .map(|l| {
            let v: Vec<&str> = l.split(' ').collect();
            (v[0].to_string(), (v[1].to_string(), v[2].parse().unwrap()))
        })
        .collect();
    let code = |n: &str| results[n].0.clone();
    assert_eq!(code("healthz"), "200");
    assert_eq!(code("readyz"), "200");
    for n in ["api_none", "api_wrong", "metrics_none"] {
        assert_eq!(code(n), "401", "{n}");
        let head = read(&format!("head.{n}")).to_ascii_lowercase();
        assert!(
            head.contains("www-authenticate: bearer realm=\"wardwatch\""),
            "{n}: {head}"
        );
    }
    assert!(read("head.api_wrong").contains("invalid_token"));
    // The replay's inventory is served (tests/inventory.rs checks its content).
    assert_eq!(code("api_ok"), "200");
    assert_eq!(code("api_one"), "404", "no such device");
    assert_eq!(code("metrics_ok"), "200");
    let m = read("body.metrics_ok");
    assert!(m.contains("wardwatch_capture_packets_total"));
    // Refusals so far: api_none and metrics_none without a token, api_wrong with a wrong one.
    assert!(
        m.contains("wardwatch_http_requests_refused_total{reason=\"missing_token\"} 2"),
        "{m}"
    );
    assert!(m.contains("wardwatch_http_requests_refused_total{reason=\"invalid_token\"} 1"));
    assert!(m.contains("wardwatch_http_tls_handshake_failures_total 0"));
    // Then plain HTTP and the unverifying client each failed a handshake.
    let after = read("body.metrics_after");
    assert!(
        after.contains("wardwatch_http_tls_handshake_failures_total 2"),
        "{after}"
    );
    // Plain HTTP to the HTTPS port gets no HTTP answer; an unknown CA fails verification
    // (curl exit 60).
    assert_ne!(code("plain_http"), "200");
    assert_ne!(results["plain_http"].1, 0);
    assert_eq!(results["unverified"].1, 60, "{}", read("err.unverified"));
    assert_eq!(code("restart_ok"), "200", "the token survived the restart");
    // The token: generated once, 0600, reused, never logged.
    let token = read("token.first");
    let token = token.trim();
    assert_eq!(token.len(), 64);
    assert_eq!(read("state/api-token").trim(), token);
    let mode = std::fs::metadata(dir.join("state/api-token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let (log1, log2) = (read("ww1.log"), read("ww2.log"));
    assert!(log1.contains("API token generated into"), "{log1}");
    assert!(log2.contains("API token from"), "{log2}");
    assert!(log1.contains("metrics on https://"), "{log1}");
    for l in [&log1, &log2] {
        assert!(!l.contains(token), "the token was logged");
    }
}

#[test]
fn bad_api_settings_fail_at_start() {
    // A certificate without a key, an unreadable certificate, a short token and a
    // metrics token with no token source are refused at start (exit 2), naming the
    // problem and never echoing the token.
    let dir = common::tempdir("api-bad");
    let pcap = common::pcap("hl7/hl7.pcap");
    for (cfg, want) in [
        ("[api]\ntls_cert = \"c.pem\"\n", "go together"),
        (
            "[api]\ntls_cert = \"/nonexistent/c.pem\"\ntls_key = \"k.pem\"\n",
            "/nonexistent/c.pem",
        ),
        ("[api]\ntoken = \"shortsecret\"\n", "16 to 4096"),
        ("[api]\nmetrics_require_token = true\n", "needs a token"),
    ] {
        let p = dir.join("cfg.toml");
        std::fs::write(&p, cfg).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wardwatch"))
            .args(["replay", "--listen", "127.0.0.1:0", "--eve", "/dev/null"])
            .arg("--config")
            .arg(&p)
            .arg(&pcap)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cfg}: {err}");
        assert!(err.contains(want), "{cfg}: {err}");
        assert!(!err.contains("shortsecret"), "{err}");
    }
}

#[test]
fn prometheus_scrapes_https_metrics_with_the_token() {
    // A real Prometheus (Debian `prometheus`) scrapes /metrics over HTTPS with the CA file
    // and the generated token as `authorization.credentials_file`: that target is up; the
    // same target without the token is down with a 401.
    if !peers::require_root() {
        return;
    }
    for tool in ["unshare", "openssl", "curl", "prometheus"] {
        if peers::require_tool(tool).is_none() {
            return;
        }
    }
    let dir = common::tempdir("api-prom");
    std::fs::write(
        dir.join("cfg.toml"),
        "[api]\nmetrics_require_token = true\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n",
    )
    .unwrap();
    let script = format!(
        r#"
WW={ww}
PCAP={pcap}
{START}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -keyout key.pem -out cert.pem -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2> openssl.log
start ww.log
cat > prometheus.yml <<EOC
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: with_token
    scheme: https
    tls_config:
      ca_file: cert.pem
    authorization:
      credentials_file: state/api-token
    static_configs:
      - targets: ["$ADDR"]
  - job_name: without_token
    scheme: https
    tls_config:
      ca_file: cert.pem
    static_configs:
      - targets: ["$ADDR"]
EOC
prometheus --config.file=prometheus.yml --storage.tsdb.path=data \
  --web.listen-address=127.0.0.1:9090 > prom.log 2>&1 &
PROM=$!
for i in $(seq 1 300); do
  curl -s http://127.0.0.1:9090/api/v1/targets > targets.json || true
  [ "$(grep -o '"health":"up"' targets.json | wc -l)" = 1 ] &&
    [ "$(grep -o '"health":"down"' targets.json | wc -l)" = 1 ] && break
  sleep 0.2
done
kill -TERM $PROM
wait $PROM || true
kill -TERM $P
wait $P
"#,
        ww = env!("CARGO_BIN_EXE_wardwatch"),
        pcap = common::pcap("hl7/hl7.pcap").display(),
    );
    let out = netns::run_script(&dir, &script).unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    assert!(
        out.status.success(),
        "script failed: {}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        read("ww.log"),
        read("prom.log")
    );
    let t: serde_json::Value = serde_json::from_str(&read("targets.json")).unwrap();
    let targets = t["data"]["activeTargets"].as_array().unwrap();
    let job = |j: &str| {
        targets
            .iter()
            .find(|x| x["labels"]["job"] == j)
            .unwrap_or_else(|| panic!("no {j} target: {t}"))
    };
    assert_eq!(job("with_token")["health"], "up", "{t}");
    assert_eq!(job("without_token")["health"], "down", "{t}");
    let err = job("without_token")["lastError"].as_str().unwrap();
    assert!(err.contains("401"), "{err}");
}
