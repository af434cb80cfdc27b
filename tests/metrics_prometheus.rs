//! Metrics, dashboards and Prometheus rules, checked with the real peers: `promtool check
//! metrics` on a scrape of `wardwatch replay --listen --hold`, a real Prometheus (in a
//! network namespace of its own) scraping such a replay and evaluating every dashboard
//! panel query and every recording rule, `promtool check/test rules` on deploy/prometheus,
//! and the dashboards' Grafana essentials with every metric name checked against
//! `model::metrics`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::pcap::{PcapWriter, TcpConv};
use testkit::peers;

const FIN: u8 = 0x01;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

// ---- A DICOM capture with a reject, an abort and a malformed PDU ---------------------

fn ae(s: &str) -> [u8; 16] {
    let mut a = [b' '; 16];
    a[..s.len()].copy_from_slice(s.as_bytes());
    a
}

fn item(ty: u8, v: &[u8]) -> Vec<u8> {
    let mut b = vec![ty, 0];
    b.extend_from_slice(&(v.len() as u16).to_be_bytes());
    b.extend_from_slice(v);
    b
}

fn pdu(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![ty, 0];
    b.extend_from_slice(&(body.len() as u32).to_be_bytes());
    b.extend_from_slice(body);
    b
}

/// A-ASSOCIATE-RQ (1) or -AC (2) between CT01 and PACS offering/accepting Verification.
fn associate(ty: u8, calling: &str) -> Vec<u8> {
    let mut body = vec![0, 1, 0, 0]; // protocol version 1, reserved
    body.extend_from_slice(&ae("PACS")); // called AE
    body.extend_from_slice(&ae(calling)); // calling AE
    body.extend_from_slice(&[0; 32]); // reserved
    body.extend(item(0x10, b"1.2.840.10008.3.1.1.1")); // application context
    let mut pc = vec![1, 0, 0, 0]; // id 1, reserved, result (AC: acceptance), reserved
    if ty == 1 {
        pc.extend(item(0x30, b"1.2.840.10008.1.1")); // abstract syntax: Verification
    }
    pc.extend(item(0x40, b"1.2.840.10008.1.2")); // implicit VR LE
    body.extend(item(if ty == 1 { 0x20 } else { 0x21 }, &pc));
    let mut ui = item(0x51, &16384u32.to_be_bytes()); // max PDU length
    ui.extend(item(0x52, b"1.2.3.4")); // implementation class UID
    body.extend(item(0x50, &ui));
    pdu(ty, &body)
}

/// Writes a capture with two DICOM associations on port 104: one rejected (called AE not
/// recognised), one accepted, then a PDU of unknown type (an analyzer anomaly) and an
/// A-ABORT from the acceptor.
fn dicom_reject_abort_pcap(path: &Path) {
    let mut w = PcapWriter::new(1);
    let mut ts = 1_700_000_000_000_000i64;
    let mut add = |w: &mut PcapWriter, f: Vec<u8>| {
        ts += 1000;
        w.add(ts, &f);
    };
    let server = (Ipv4Addr::new(10, 1, 0, 9), 104);
    let mut c = TcpConv::new((Ipv4Addr::new(10, 1, 0, 5), 40001), server, 1000, 5000);
    for f in c.handshake() {
        add(&mut w, f);
    }
    // An AE never accepted anywhere: the reject fires policy.dicom_reject_unknown_calling_ae
    // whatever order the two workers deliver the associations in.
    let f = c.seg(true, PSH | ACK, &associate(1, "ROGUE01"));
    add(&mut w, f);
    let f = c.seg(false, PSH | ACK, &pdu(3, &[0, 1, 1, 7])); // RJ: permanent, user, AE
    add(&mut w, f);
    for f in c.close() {
        add(&mut w, f);
    }
    let mut c = TcpConv::new((Ipv4Addr::new(10, 1, 0, 5), 40002), server, 9000, 7000);
    for f in c.handshake() {
        add(&mut w, f);
    }
    for (from_client, p) in [
        (true, associate(1, "CT01")),
        (false, associate(2, "CT01")),
        (true, pdu(0x0A, &[0, 0, 0, 0])), // no such PDU type
        (false, pdu(7, &[0, 0, 2, 1])),   // A-ABORT: service provider, unrecognised PDU
    ] {
        let f = c.seg(from_client, PSH | ACK, &p);
        add(&mut w, f);
    }
    let f = c.seg(true, FIN | ACK, b"");
    add(&mut w, f);
    let f = c.seg(false, FIN | ACK, b"");
    add(&mut w, f);
    let f = c.seg(true, ACK, b"");
    add(&mut w, f);
    w.write_to(path).unwrap();
}

/// Captures that exercise every family: the demo scenario, the DICOM and HL7 golden
/// captures, a fragmented capture (decode anomalies) and the generated DICOM one.
fn workload(dir: &Path) -> Vec<PathBuf> {
    let gen = dir.join("dicom_reject_abort.pcap");
    dicom_reject_abort_pcap(&gen);
    let mut v = vec![
        common::pcap("scenarios/synthetic_philips_demo.pcap"),
        common::pcap("flow/ipv6-fragmented-dns.pcap"),
        gen,
    ];
    for sub in ["dicom", "hl7"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(common::pcap(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
            .collect();
        files.sort();
        v.extend(files);
    }
    v
}

// ---- A held replay and a tiny HTTP client --------------------------------------------

struct Held {
    child: Child,
    addr: String,
    /// stderr lines up to the "serving metrics" line (the summary).
    stderr: Vec<String>,
}

impl Held {
    // reason: the child is owned by the returned Held (terminated there); panics end the test.
    #[allow(clippy::zombie_processes)]
    fn start(files: &[PathBuf]) -> Held {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
            .args(["replay", "--eve", "/dev/null", "--workers", "2"])
            .args(["--listen", "127.0.0.1:0", "--hold"])
            .args(files)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut r = BufReader::new(child.stderr.take().unwrap());
        let mut stderr = Vec::new();
        loop {
            let mut l = String::new();
            if r.read_line(&mut l).unwrap() == 0 {
                let _ = child.wait();
                panic!("wardwatch ended before serving: {stderr:?}");
            }
            if let Some(a) = l
                .trim()
                .strip_prefix("wardwatch: capture done; serving metrics on ")
            {
                let addr = a.split(' ').next().unwrap().to_string();
                // Keep draining stderr so the child never blocks on a full pipe.
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut r, &mut std::io::sink());
                });
                return Held {
                    child,
                    addr,
                    stderr,
                };
            }
            stderr.push(l.trim_end().to_string());
        }
    }

    /// SIGTERM, then the exit code (within 10 s).
    fn terminate(mut self) -> i32 {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let t = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            if t.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                panic!("wardwatch --hold did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn summary(&self, key: &str) -> u64 {
        self.stderr
            .iter()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .unwrap_or_else(|| panic!("no {key} in {:?}", self.stderr))
            .parse()
            .unwrap()
    }
}

/// GET `path` over HTTP/1.0: (status, headers, body).
fn get(addr: &str, path: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n");
    if let Some(a) = accept {
        req.push_str(&format!("Accept: {a}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// (series name, labels text, value) of each sample in a text exposition.
fn samples(text: &str) -> Vec<(String, String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, v) = l.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let v = match v {
                "NaN" => f64::NAN,
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap(),
            };
            (name.to_string(), labels.to_string(), v)
        })
        .collect()
}

fn sum_of(s: &[(String, String, f64)], name: &str) -> f64 {
    s.iter().filter(|x| x.0 == name).map(|x| x.2).sum()
}

#[test]
fn metrics_scrape_of_held_replay_passes_promtool() {
    // A replay with --listen --hold serves health, readiness and an exposition that
    // promtool accepts, whose names are all in model::metrics, whose counters agree with
    // the run summary, and which stops cleanly on SIGTERM.
    let promtool = peers::require_tool("promtool");
    let dir = common::tempdir("metrics-scrape");
    let h = Held::start(&workload(&dir));
    assert_eq!(get(&h.addr, "/healthz", None).0, 200);
    assert_eq!(get(&h.addr, "/readyz", None).0, 200);
    assert_eq!(get(&h.addr, "/nope", None).0, 404);
    let (st, head, text) = get(&h.addr, "/metrics", None);
    assert_eq!(st, 200);
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let s = samples(&text);
    for (name, _, _) in &s {
        assert!(
            model::metrics::family_of(name).is_some(),
            "{name} is not in model::metrics"
        );
    }
    // Cross-check against the summary the same run printed.
    assert_eq!(
        sum_of(&s, "wardwatch_capture_packets_total") as u64,
        h.summary("packets:")
    );
    assert_eq!(
        sum_of(&s, "wardwatch_flows_created_total") as u64,
        h.summary("flows:")
    );
    // Every application family has data on this workload.
    for fam in [
        "wardwatch_decode_anomalies_total",
        "wardwatch_analyzer_anomalies_total",
        "wardwatch_dicom_associations_total",
        "wardwatch_dicom_rejects_total",
        "wardwatch_dicom_aborts_total",
        "wardwatch_dicom_messages_total",
        "wardwatch_dicom_dimse_latency_seconds_count",
        "wardwatch_hl7_messages_total",
        "wardwatch_hl7_acks_total",
        "wardwatch_hl7_ack_latency_seconds_count",
        "wardwatch_hl7_unacknowledged_total",
    ] {
        assert!(sum_of(&s, fam) > 0.0, "{fam} has no data:\n{text}");
    }
    assert!(s.iter().any(|x| x.0 == "wardwatch_dicom_rejects_total"
        && x.1.contains("reason=\"called_ae_title_not_recognized\"")));
    // Never an address or AE title in a label value.
    for (_, labels, _) in &s {
        assert!(
            !labels.contains("10.1.0.") && !labels.contains("CT01"),
            "{labels}"
        );
    }
    let (_, head, om) = get(&h.addr, "/metrics", Some("application/openmetrics-text"));
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(om.ends_with("# EOF\n"));
    if let Some(promtool) = promtool {
        let mut p = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = p.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(h.terminate(), 0);
}

#[test]
fn hold_without_listen_is_a_usage_error() {
    // --hold alone would wait for nothing: it is refused; a bad address fails at once.
    let pcap = common::pcap("hl7/hl7.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["replay", "--hold", "--eve", "/dev/null"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args([
            "replay",
            "--listen",
            "127.0.0.1:99999",
            "--eve",
            "/dev/null",
        ])
        .arg(&pcap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen"));
}

// ---- Dashboards -----------------------------------------------------------------------

fn dashboards() -> Vec<(PathBuf, Value)> {
    let dir = common::root().join("dashboards");
    let mut v: Vec<(PathBuf, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let j = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p, j)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Every (dashboard, panel title, query) of every dashboard, variable queries included.
fn panel_queries() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (p, d) in dashboards() {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        for panel in d["panels"].as_array().unwrap() {
            for t in panel["targets"].as_array().unwrap() {
                out.push((
                    name.clone(),
                    panel["title"].as_str().unwrap().to_string(),
                    t["expr"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

/// `wardwatch_...` identifiers in a query (recording rules, with colons, are not).
fn metric_names(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = q.as_bytes();
    let mut i = 0;
    while let Some(off) = q[i..].find("wardwatch_") {
        let start = i + off;
        let prev_ok = start == 0
            || !(b[start - 1].is_ascii_alphanumeric()
                || b[start - 1] == b'_'
                || b[start - 1] == b':');
        let mut end = start;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_' || b[end] == b':')
        {
            end += 1;
        }
        if prev_ok && !q[start..end].contains(':') {
            out.push(q[start..end].to_string());
        }
        i = end;
    }
    out
}

#[test]
fn dashboards_have_grafana_essentials_and_only_exported_metrics() {
    // Each dashboard has a unique uid, a title, panels with unique ids, a Prometheus
    // datasource variable every panel uses, and queries naming only exported metrics.
    let ds = dashboards();
    let names: Vec<String> = ds
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "overview.json",
        "capture-health.json",
        "dicom.json",
        "hl7.json",
        "inventory.json",
        "alerts-risk.json",
    ] {
        assert!(names.iter().any(|n| n == want), "missing dashboards/{want}");
    }
    let mut uids = std::collections::BTreeSet::new();
    for (p, d) in &ds {
        let f = p.display();
        let uid = d["uid"].as_str().unwrap_or_default();
        assert!(!uid.is_empty() && uid.len() <= 40, "{f}: uid");
        assert!(uids.insert(uid.to_string()), "{f}: duplicate uid {uid}");
        assert!(
            !d["title"].as_str().unwrap_or_default().is_empty(),
            "{f}: title"
        );
        assert!(
            d["schemaVersion"].as_u64().unwrap_or(0) >= 30,
            "{f}: schemaVersion"
        );
        let vars = d["templating"]["list"].as_array().unwrap();
        assert!(
            vars.iter().any(|v| v["type"] == "datasource"
                && v["query"] == "prometheus"
                && v["name"] == "datasource"),
            "{f}: no prometheus datasource variable"
        );
        for v in vars.iter().filter(|v| v["type"] == "query") {
            let q = v["query"]["query"]
                .as_str()
                .or(v["query"].as_str())
                .unwrap();
            for m in metric_names(q) {
                assert!(
                    model::metrics::family_of(&m).is_some(),
                    "{f}: variable uses {m}"
                );
            }
        }
        let panels = d["panels"].as_array().unwrap();
        assert!(!panels.is_empty(), "{f}: no panels");
        let mut ids = std::collections::BTreeSet::new();
        for panel in panels {
            let t = panel["title"].as_str().unwrap_or_default();
            assert!(!t.is_empty(), "{f}: untitled panel");
            assert!(
                ids.insert(panel["id"].as_u64().unwrap()),
                "{f}: duplicate id"
            );
            assert_eq!(panel["datasource"]["uid"], "${datasource}", "{f}: {t}");
            assert!(panel["gridPos"]["w"].as_u64().unwrap() > 0, "{f}: {t}");
            let targets = panel["targets"].as_array().unwrap();
            assert!(!targets.is_empty(), "{f}: {t}: no targets");
            for tg in targets {
                let q = tg["expr"].as_str().unwrap();
                let ms = metric_names(q);
                assert!(!ms.is_empty(), "{f}: {t}: query names no metric: {q}");
                for m in ms {
                    assert!(
                        model::metrics::family_of(&m).is_some(),
                        "{f}: {t}: {m} is not exported (model/src/metrics.rs)"
                    );
                }
            }
        }
    }
}

#[test]
fn metric_names_scanner_finds_names() {
    // The scanner behind the dashboard checks finds names and skips recording rules.
    assert_eq!(
        metric_names("sum(rate(wardwatch_a_total{x=\"y\"}[5m])) / instance:wardwatch_b:rate5m"),
        vec!["wardwatch_a_total".to_string()]
    );
}

// ---- Prometheus rules -----------------------------------------------------------------

fn rules_file() -> PathBuf {
    common::root().join("deploy/prometheus/wardwatch-rules.yml")
}

#[test]
fn prometheus_rules_and_config_pass_promtool() {
    // promtool accepts the rules, their unit tests and the scrape config; the rules name
    // only exported metrics.
    let text = std::fs::read_to_string(rules_file()).unwrap();
    for m in metric_names(&text) {
        assert!(model::metrics::family_of(&m).is_some(), "rules use {m}");
    }
    let Some(promtool) = peers::require_tool("promtool") else {
        return;
    };
    let d = common::root().join("deploy/prometheus");
    for args in [
        vec!["check", "rules", "wardwatch-rules.yml"],
        vec!["test", "rules", "wardwatch-rules.test.yml"],
        vec!["check", "config", "prometheus.yml"],
    ] {
        let out = Command::new(&promtool)
            .args(&args)
            .current_dir(&d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Names of the recording rules in the rules file (`- record: NAME` lines).
fn recording_rules() -> Vec<String> {
    std::fs::read_to_string(rules_file())
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record:"))
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn prometheus_scrapes_held_replay_and_every_panel_query_has_data() {
    // A real Prometheus on loopback in a private network namespace scrapes a held replay
    // (1 s interval) with the deploy rules loaded; then every dashboard panel query and
    // every recording rule, evaluated through its HTTP API, returns a non-empty result,
    // and every rule evaluates without error.
    let (Some(prom), Some(_), Some(curl)) = (
        peers::require_tool("prometheus"),
        peers::require_tool("promtool"),
        peers::require_tool("curl"),
    ) else {
        return;
    };
    if !peers::require_root() {
        return;
    }
    let dir = common::tempdir("metrics-prom");
    let files = workload(&dir);
    let wport = 20000 + (std::process::id() % 20000) as u16;
    let pport = wport + 1;
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: wardwatch\n    static_configs:\n      - targets: [\"127.0.0.1:{wport}\"]\n",
            rules_file().display()
        ),
    )
    .unwrap();
    let mut queries: Vec<(String, String)> = panel_queries()
        .into_iter()
        .map(|(d, t, q)| {
            let q = q
                .replace("$__rate_interval", "1m")
                .replace("$instance", ".*");
            (format!("{d}: {t}"), q)
        })
        .collect();
    queries.push((
        "variable instance".into(),
        "group by (instance) (wardwatch_capture_packets_total)".into(),
    ));
    for r in recording_rules() {
        queries.push((format!("recording rule {r}"), r.clone()));
    }
    std::fs::write(
        dir.join("queries.txt"),
        queries
            .iter()
            .map(|q| format!("{}\n", q.1))
            .collect::<String>(),
    )
    .unwrap();
    // The inventory dashboard's per-device rows need the per-device series.
    std::fs::write(
        dir.join("ww.toml"),
        "[output]\nmetrics_device_info = true\n",
    )
    .unwrap();
    let file_args: Vec<String> = files.iter().map(|p| format!("'{}'", p.display())).collect();
    let api = format!("http://127.0.0.1:{pport}");
    let script = format!(
        r#"
CURL='{curl}'
'{ww}' replay --config ww.toml --eve /dev/null --workers 2 --listen 127.0.0.1:{wport} --hold {files} 2> ww.log &
WW_PID=$!
'{prom}' --config.file=prometheus.yml --storage.tsdb.path=data --web.listen-address=127.0.0.1:{pport} > prom.log 2>&1 &
PROM_PID=$!
for i in $(seq 1 150); do $CURL -sf {api}/-/ready > /dev/null 2>&1 && break; sleep 0.2; done
# Wait until Prometheus holds a few samples of the replay's final counters.
for i in $(seq 1 300); do
  n=$($CURL -s -G --data-urlencode 'query=min(count_over_time(wardwatch_hl7_ack_latency_seconds_count[1m]))' {api}/api/v1/query | sed -n 's/.*,"\([0-9]*\)"\].*/\1/p' || true)
  [ "${{n:-0}}" -ge 4 ] && break
  sleep 0.2
done
echo "samples=${{n:-0}}" > wait.txt
sleep 2
i=0
while IFS= read -r q; do
  $CURL -s -G --data-urlencode "query=$q" {api}/api/v1/query > "q$i.json" || true
  i=$((i+1))
done < queries.txt
$CURL -s {api}/api/v1/rules > rules.json || true
$CURL -s {api}/api/v1/targets > targets.json || true
kill -TERM $WW_PID
if wait $WW_PID; then echo 0 > ww.exit; else echo $? > ww.exit; fi
kill -TERM $PROM_PID
wait $PROM_PID || true
"#,
        curl = curl.display(),
        ww = env!("CARGO_BIN_EXE_wardwatch"),
        prom = prom.display(),
        files = file_args.join(" "),
    );
    let out = testkit::netns::run_script(&dir, &script).unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let ctx = format!(
        "script: {}\n{}\nwait: {}\nprometheus log tail: {}\nwardwatch log: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        read("wait.txt"),
        read("prom.log")
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .join("\n"),
        read("ww.log"),
    );
    assert!(out.status.success(), "{ctx}");
    assert_eq!(read("ww.exit").trim(), "0", "wardwatch exit\n{ctx}");
    let targets: Value = serde_json::from_str(&read("targets.json")).expect(&ctx);
    let active = targets["data"]["activeTargets"].as_array().unwrap();
    assert!(
        active.iter().all(|t| t["health"] == "up"),
        "targets: {active:?}"
    );
    let mut failures = Vec::new();
    for (i, (what, q)) in queries.iter().enumerate() {
        let r: Value = match serde_json::from_str(&read(&format!("q{i}.json"))) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{what}: no answer ({e}): {q}"));
                continue;
            }
        };
        if r["status"] != "success" {
            failures.push(format!("{what}: {r}: {q}"));
        } else if r["data"]["result"].as_array().is_none_or(|a| a.is_empty()) {
            failures.push(format!("{what}: empty result: {q}"));
        }
    }
    assert!(failures.is_empty(), "{}\n{ctx}", failures.join("\n"));
    let rules: Value = serde_json::from_str(&read("rules.json")).unwrap();
    let mut n = 0;
    for g in rules["data"]["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            n += 1;
            assert_eq!(r["health"], "ok", "rule {}: {r}", r["name"]);
        }
    }
    assert!(n >= 9, "rules loaded: {n}");
}

#[test]
fn live_run_with_listen_serves_metrics_in_both_capture_modes() {
    // `run --listen` serves metrics during live capture (libpcap reader and af-packet
    // fanout): captured packets appear under their source and worker labels, readiness is
    // reported, and SIGTERM still stops the capture cleanly (the server does not take it).
    if !peers::require_root() {
        return;
    }
    let (Some(_), Some(_), Some(curl)) = (
        peers::require_tool("ip"),
        peers::require_tool("tcpreplay"),
        peers::require_tool("curl"),
    ) else {
        return;
    };
    let dir = common::tempdir("metrics-live");
    let traffic = dir.join("traffic.pcap");
    dicom_reject_abort_pcap(&traffic);
    let frames = 18.0; // frames in that capture
    for (mode, source) in [("pcap", "pcap"), ("af-packet", "af_packet")] {
        let script = format!(
            r#"
echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 || true
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 || true
ip link add veth0 type veth peer name veth1
ip link set veth0 up
ip link set veth1 up
sleep 0.3
'{ww}' run -i veth1 --capture {mode} --workers 2 --eve /dev/null --listen 127.0.0.1:9464 2> ww-{mode}.log &
P=$!
for i in $(seq 1 200); do grep -q capturing ww-{mode}.log && break; sleep 0.05; done
sleep 0.3
'{curl}' -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:9464/readyz > ready-{mode}.txt || true
tcpreplay -q -i veth0 --pps=500 traffic.pcap > /dev/null 2>&1
sleep 2.5
'{curl}' -s http://127.0.0.1:9464/metrics > metrics-{mode}.txt || true
kill -TERM $P
if wait $P; then echo 0 > exit-{mode}.txt; else echo $? > exit-{mode}.txt; fi
"#,
            ww = env!("CARGO_BIN_EXE_wardwatch"),
            curl = curl.display(),
        );
        let out = testkit::netns::run_script(&dir, &script).unwrap();
        let read = |f: String| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        let ctx = format!(
            "{mode}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            read(format!("ww-{mode}.log"))
        );
        assert!(out.status.success(), "{ctx}");
        assert_eq!(read(format!("exit-{mode}.txt")).trim(), "0", "{ctx}");
        assert_eq!(read(format!("ready-{mode}.txt")).trim(), "200", "{ctx}");
        let text = read(format!("metrics-{mode}.txt"));
        let s = samples(&text);
        let captured: f64 = s
            .iter()
            .filter(|x| {
                x.0 == "wardwatch_capture_packets_total"
                    && x.1.contains(&format!("source=\"{source}\""))
            })
            .map(|x| x.2)
            .sum();
        assert!(
            captured >= frames,
            "{mode}: {captured} packets\n{text}\n{ctx}"
        );
        assert!(
            s.iter()
                .any(|x| x.0 == "wardwatch_capture_kernel_drops_total"),
            "{mode}: no kernel drop series\n{text}"
        );
        assert!(
            sum_of(&s, "wardwatch_flows_created_total") >= 2.0,
            "{mode}\n{text}"
        );
        if mode == "af-packet" {
            // Each fanout worker reads its own socket and reports its own packets.
            for w in ["0", "1"] {
                assert!(
                    s.iter().any(|x| x.0 == "wardwatch_capture_packets_total"
                        && x.1.contains(&format!("worker=\"{w}\""))),
                    "{text}"
                );
            }
        }
    }
}

#[test]
fn scraping_in_a_loop_neither_stalls_nor_changes_the_replay() {
    // A client requesting /metrics back to back during a replay of a few thousand DICOM
    // associations: the replay finishes, its events equal those of a run without metrics,
    // and the last scrape's counters equal the summary.
    let dir = common::tempdir("metrics-hammer");
    let one = dir.join("one.pcap");
    dicom_reject_abort_pcap(&one);
    // The same two associations 3000 times over, each copy on its own client port and
    // later in time, written as one capture.
    let mut w = PcapWriter::new(1);
    let src = std::fs::read(&one).unwrap();
    let recs = pcap_records(&src);
    for k in 0..3000u32 {
        for (ts, frame) in &recs {
            let mut f = frame.clone();
            // Client port (TCP source or destination at fixed offsets: Ethernet 14 +
            // IPv4 20): shift by k so each copy is a new flow.
            for off in [34usize, 36] {
                let p = u16::from_be_bytes([f[off], f[off + 1]]);
                if p != 104 {
                    let q = p.wrapping_add((k % 20000) as u16);
                    f[off..off + 2].copy_from_slice(&q.to_be_bytes());
                }
            }
            // TCP checksum is not verified by the sensor; the IP header is unchanged.
            w.add(ts + i64::from(k) * 100_000, &f);
        }
    }
    let big = dir.join("big.pcap");
    w.write_to(&big).unwrap();
    let plain = dir.join("plain.json");
    let st = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["replay", "--workers", "2", "--eve"])
        .arg(&plain)
        .arg(&big)
        .output()
        .unwrap();
    assert!(st.status.success());
    let with = dir.join("with.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args([
            "replay",
            "--workers",
            "2",
            "--listen",
            "127.0.0.1:0",
            "--hold",
            "--eve",
        ])
        .arg(&with)
        .arg(&big)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut r = BufReader::new(child.stderr.take().unwrap());
    let mut addr = String::new();
    let mut lines = Vec::new();
    let mut scrapes = 0u32;
    let mut hammer: Option<std::thread::JoinHandle<u32>> = None;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap() == 0 {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wardwatch ended early: {lines:?}");
        }
        if let Some(a) = l.trim().strip_prefix("wardwatch: metrics on http://") {
            addr = a.trim_end_matches("/metrics").to_string();
            let (a2, stop2) = (addr.clone(), stop.clone());
            hammer = Some(std::thread::spawn(move || {
                let mut n = 0;
                while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                    if get(&a2, "/metrics", None).0 == 200 {
                        n += 1;
                    }
                }
                n
            }));
        }
        if l.starts_with("wardwatch: capture done") {
            break;
        }
        lines.push(l.trim_end().to_string());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(h) = hammer {
        scrapes = h.join().unwrap();
    }
    let (_, _, text) = get(&addr, "/metrics", None);
    let s = samples(&text);
    let held = Held {
        child,
        addr,
        stderr: lines,
    };
    assert!(scrapes > 0, "no scrape succeeded during the replay");
    assert_eq!(
        sum_of(&s, "wardwatch_capture_packets_total") as u64,
        held.summary("packets:")
    );
    assert_eq!(sum_of(&s, "wardwatch_dicom_rejects_total"), 3000.0);
    assert_eq!(sum_of(&s, "wardwatch_dicom_aborts_total"), 3000.0);
    assert_eq!(held.terminate(), 0);
    let sorted = |p: &Path| {
        let mut v: Vec<String> = std::fs::read_to_string(p)
            .unwrap()
            .lines()
            // Device events depend on how worker batches interleave (see common::packet_eve).
            .filter(|l| !common::is_derived(l))
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    let (a, b) = (sorted(&plain), sorted(&with));
    assert!(a.len() > 6000, "{} events", a.len());
    assert!(a == b, "events differ with metrics on");
}

/// (timestamp in µs, frame) of each record of a classic microsecond pcap.
fn pcap_records(b: &[u8]) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 24;
    while i + 16 <= b.len() {
        let u = |o: usize| u32::from_le_bytes(b[i + o..i + o + 4].try_into().unwrap());
        let (sec, usec, incl) = (u(0), u(4), u(8) as usize);
        out.push((
            i64::from(sec) * 1_000_000 + i64::from(usec),
            b[i + 16..i + 16 + incl].to_vec(),
        ));
        i += 16 + incl;
    }
    out
}
