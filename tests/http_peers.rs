//! HTTP against real peers: Python's `http.server` answers curl (GET with a query string
//! carrying a fake patient id, HEAD, POST with a body, GET with Basic credentials, a
//! 404), on loopback inside a private network namespace, captured by tcpdump, decoded by
//! `wardwatch replay`, and compared with tshark's dissection of the same capture
//! (`http.request.method`, `http.host`, `http.user_agent`, `http.server`,
//! `http.response.code`). Neither the credentials nor the query string may appear in
//! anything wardwatch writes.
//!
//! Needs root (network namespaces), tcpdump, tshark, python3 and curl. Outside CI a
//! missing peer skips the test; under CI it fails it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use testkit::{netns, peers};

/// Not a port hint: HTTP must be found by content.
const PORT: u16 = 8765;

fn prerequisites() -> bool {
    if !peers::require_root() {
        return false;
    }
    [
        "tcpdump", "tshark", "unshare", "ip", "ss", "python3", "curl",
    ]
    .iter()
    .all(|t| peers::require_tool(t).is_some())
}

fn tshark(pcap: &Path, filter: &str, fields: &[&str]) -> BTreeMap<Vec<String>, usize> {
    let decode = format!("tcp.port=={PORT},http");
    let mut m = BTreeMap::new();
    for row in peers::tshark_fields(pcap, &[&decode], filter, fields) {
        *m.entry(row).or_insert(0) += 1;
    }
    m
}

#[test]
fn http_peers_curl_and_python_agree_with_tshark() {
    // Real curl requests to a real server: each transaction reported with tshark's method,
    // host, user agent, status and server; Basic credentials flagged, never written; the
    // query string (a fake MRN) never written.
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<html>worklist</html>\n").unwrap();
    let base = format!("http://127.0.0.1:{PORT}");
    let script = format!(
        "{start}\
         python3 -m http.server {PORT} --bind 127.0.0.1 > server.log 2>&1 &\n\
         SERVER_PID=$!\n\
         for i in $(seq 1 100); do ss -ltn | grep -q ':{PORT} ' && break; sleep 0.05; done\n\
         curl -s -A 'PumpAgent/2.1' '{base}/index.html?mrn=MRN-4471-ZQ&name=QUIMBY' -o /dev/null\n\
         curl -s -I '{base}/index.html' -o /dev/null\n\
         curl -s -u 'nurse:Sup3rSecretPw' '{base}/index.html' -o /dev/null\n\
         curl -s '{base}/missing' -o /dev/null\n\
         curl -s -X POST --data 'result=42' '{base}/index.html' -o /dev/null || true\n\
         kill $SERVER_PID || true\n\
         {stop}",
        start = netns::start_tcpdump("cap.pcap"),
        stop = netns::STOP_TCPDUMP,
    );
    let out = netns::run_script(dir.path(), &script).unwrap();
    assert!(
        out.status.success(),
        "peer script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pcap = dir.path().join("cap.pcap");
    let run = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["replay", "--eve", "-"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(run.status.success());
    let stdout = String::from_utf8(run.stdout).unwrap();
    for secret in [
        "Sup3rSecretPw",
        "bnVyc2U6U3VwM3JTZWNyZXRQdw",
        "MRN-4471-ZQ",
        "QUIMBY",
    ] {
        assert!(!stdout.contains(secret), "{secret} written");
    }
    let ev: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect();
    let anomalies: Vec<&Value> = ev
        .iter()
        .filter(|v| v["anomaly"]["app_proto"] == "http")
        .map(|v| &v["anomaly"]["event"])
        .collect();
    assert_eq!(anomalies, vec!["cleartext_credentials"]);
    let h: Vec<&Value> = ev
        .iter()
        .filter(|v| v["event_type"] == "http")
        .map(|v| &v["http"])
        .collect();
    assert_eq!(h.len(), 5, "{h:#?}");
    let get = h
        .iter()
        .find(|e| e["http_user_agent"] == "PumpAgent/2.1")
        .unwrap();
    assert_eq!(get["url"], "/index.html");
    assert_eq!(get["url_query_removed"], true);
    assert_eq!(get["status"], 200);
    assert!(get["length"].as_u64().unwrap() > 0);
    assert_eq!(
        h.iter()
            .filter(|e| e["credentials_present"] == true)
            .count(),
        1
    );
    let head = h.iter().find(|e| e["http_method"] == "HEAD").unwrap();
    assert_eq!(head["length"], 0);
    assert!(h.iter().any(|e| e["status"] == 404));
    // tshark on the same capture.
    let mut req = BTreeMap::new();
    let mut resp = BTreeMap::new();
    for e in &h {
        let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
        let host = match e["http_port"].as_u64() {
            Some(p) => format!("{}:{p}", s("hostname")),
            None => s("hostname"),
        };
        *req.entry(vec![s("http_method"), host, s("http_user_agent")])
            .or_insert(0) += 1;
        *resp
            .entry(vec![e["status"].to_string(), s("server")])
            .or_insert(0) += 1;
    }
    let t_req = tshark(
        &pcap,
        "http.request",
        &["http.request.method", "http.host", "http.user_agent"],
    );
    let t_resp = tshark(
        &pcap,
        "http.response",
        &["http.response.code", "http.server"],
    );
    assert_eq!(req, t_req);
    assert_eq!(resp, t_resp);
}
