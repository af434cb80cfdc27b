//! TLS against real peers: OpenSSL's `s_server` answers `s_client` (TLS 1.3 and 1.2, SNI,
//! ALPN) and curl, on loopback inside a private network namespace, captured by tcpdump,
//! decoded by `wardwatch replay`, and compared with tshark's dissection of the same capture
//! (`tls.handshake.extensions_server_name`, `tls.handshake.ja3`, `tls.handshake.ja3_full`,
//! `tls.handshake.ja3s`) and with what the clients asked for.
//!
//! Needs root (network namespaces), tcpdump, tshark, openssl and curl. Outside CI a
//! missing peer skips the test; under CI it fails it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use testkit::{netns, peers};

/// Not a port hint: TLS must be found by content.
const PORT: u16 = 4433;

fn prerequisites() -> bool {
    if !peers::require_root() {
        return false;
    }
    [
        "tcpdump", "tshark", "unshare", "ip", "ss", "openssl", "curl",
    ]
    .iter()
    .all(|t| peers::require_tool(t).is_some())
}

fn tshark(pcap: &Path, filter: &str, fields: &[&str]) -> BTreeMap<Vec<String>, usize> {
    let decode = format!("tcp.port=={PORT},tls");
    let mut m = BTreeMap::new();
    for row in peers::tshark_fields(pcap, &[&decode], filter, fields) {
        *m.entry(row).or_insert(0) += 1;
    }
    m
}

#[test]
fn tls_peers_openssl_and_curl_agree_with_tshark() {
    // Real OpenSSL and curl handshakes: one tls event per ClientHello, SNI/ALPN/version as
    // the clients asked, JA3 and JA3S equal to tshark's, JA4 well formed.
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{start}\
         openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
           -subj /CN=pacs.test -keyout k.pem -out c.pem 2> req.log\n\
         openssl s_server -accept 127.0.0.1:{PORT} -cert c.pem -key k.pem -alpn h2,http/1.1 -www -quiet > server.log 2>&1 &\n\
         SERVER_PID=$!\n\
         for i in $(seq 1 100); do ss -ltn | grep -q ':{PORT} ' && break; sleep 0.05; done\n\
         echo | timeout 10 openssl s_client -connect 127.0.0.1:{PORT} -servername pacs.test -alpn h2,http/1.1 -tls1_3 > c1.log 2>&1 || true\n\
         echo | timeout 10 openssl s_client -connect 127.0.0.1:{PORT} -servername modality.test -tls1_2 > c2.log 2>&1 || true\n\
         timeout 10 curl -sk --http1.1 --resolve ris.test:{PORT}:127.0.0.1 https://ris.test:{PORT}/ -o /dev/null > c3.log 2>&1 || true\n\
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
    let ev: Vec<Value> = String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event_type"] == "tls" || v["anomaly"]["app_proto"] == "tls")
        .collect();
    assert!(
        ev.iter().all(|v| v["event_type"] == "tls"),
        "tls anomalies: {ev:#?}"
    );
    let t: Vec<&Value> = ev.iter().map(|v| &v["tls"]).collect();
    assert_eq!(t.len(), 3, "{t:#?}");
    let by_sni = |s: &str| *t.iter().find(|e| e["sni"] == s).unwrap();
    let a = by_sni("pacs.test");
    assert_eq!(a["version"], "TLS 1.3");
    assert_eq!(a["client_alpns"], serde_json::json!(["h2", "http/1.1"]));
    // TLS 1.3 sends the chosen ALPN in EncryptedExtensions: not visible on the wire.
    assert!(a.get("server_alpns").is_none(), "{a}");
    assert!(a["ja4"].as_str().unwrap().starts_with("t13d"), "{a}");
    let b = by_sni("modality.test");
    assert_eq!(b["version"], "TLS 1.2");
    assert!(b["ja4"].as_str().unwrap().starts_with("t12d"), "{b}");
    let c = by_sni("ris.test");
    assert_eq!(c["client_alpns"], serde_json::json!(["http/1.1"]));
    // tshark on the same capture.
    let mut ours = BTreeMap::new();
    let mut ours_s = BTreeMap::new();
    for e in &t {
        let row = vec![
            e["sni"].as_str().unwrap().to_string(),
            e["ja3"]["hash"].as_str().unwrap().to_string(),
            e["ja3"]["string"].as_str().unwrap().to_string(),
        ];
        *ours.entry(row).or_insert(0) += 1;
        *ours_s
            .entry(vec![e["ja3s"]["hash"].as_str().unwrap().to_string()])
            .or_insert(0) += 1;
    }
    let theirs = tshark(
        &pcap,
        "tls.handshake.type == 1",
        &[
            "tls.handshake.extensions_server_name",
            "tls.handshake.ja3",
            "tls.handshake.ja3_full",
        ],
    );
    let theirs_s = tshark(&pcap, "tls.handshake.type == 2", &["tls.handshake.ja3s"]);
    assert_eq!(ours, theirs);
    assert_eq!(ours_s, theirs_s);
}
