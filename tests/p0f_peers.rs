//! p0f v3 signatures against the real p0f (Debian `p0f` 3.09b, `p0f -r FILE -o LOG`):
//! every SYN and SYN+ACK signature p0f logs as `raw_sig` on public captures, and on a
//! capture made here (curl fetching from Python's http.server on loopback in a private
//! network namespace, recorded by tcpdump), must be on wardwatch's flow events
//! (`tcp.syn_signature`, `tcp.synack_signature`) for the same client and server.
//!
//! p0f stops following a connection whose SYN matched a userland-tool signature (nmap),
//! so it logs no SYN+ACK for it; those SYN+ACKs are the only signatures allowed to be ours
//! alone. Needs p0f (and for the live capture root, tcpdump, python3 and curl); outside CI
//! a missing peer skips the test, under CI it fails it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{netns, peers};

/// (mod, client ip/port, server ip/port, raw signature).
type Sig = (String, String, String, String);

/// `addr/port` with the address in Rust's form (p0f writes IPv6 groups uncompressed).
fn endpoint(s: &str) -> String {
    let (a, p) = s.rsplit_once('/').unwrap();
    format!("{}/{p}", a.parse::<std::net::IpAddr>().unwrap())
}

/// p0f's SYN and SYN+ACK records, and the connections whose SYN it labelled an app.
fn p0f_sigs(pcap: &Path) -> (BTreeSet<Sig>, BTreeSet<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("p0f.log");
    let out = Command::new("p0f")
        .arg("-r")
        .arg(pcap)
        .arg("-o")
        .arg(&log)
        .output()
        .expect("run p0f");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut sigs = BTreeSet::new();
    let mut apps = BTreeSet::new();
    for line in std::fs::read_to_string(&log).unwrap_or_default().lines() {
        let Some((_, rest)) = line.split_once("] ") else {
            continue;
        };
        let kv: std::collections::HashMap<&str, &str> =
            rest.split('|').filter_map(|f| f.split_once('=')).collect();
        let m = kv.get("mod").copied().unwrap_or_default();
        if m != "syn" && m != "syn+ack" {
            continue;
        }
        let (cli, srv) = (endpoint(kv["cli"]), endpoint(kv["srv"]));
        if m == "syn" && kv.contains_key("app") {
            apps.insert((cli.clone(), srv.clone()));
        }
        sigs.insert((m.to_string(), cli, srv, kv["raw_sig"].to_string()));
    }
    (sigs, apps)
}

fn our_sigs(pcap: &Path) -> BTreeSet<Sig> {
    let mut v = BTreeSet::new();
    for l in common::golden::replay_lines(pcap) {
        let e: Value = serde_json::from_str(&l).unwrap();
        if e["event_type"] != "flow" {
            continue;
        }
        let t = &e["flow"]["tcp"];
        let cli = format!("{}/{}", e["src_ip"].as_str().unwrap(), e["src_port"]);
        let srv = format!("{}/{}", e["dest_ip"].as_str().unwrap(), e["dest_port"]);
        for (m, k) in [("syn", "syn_signature"), ("syn+ack", "synack_signature")] {
            if let Some(s) = t[k].as_str() {
                v.insert((m.to_string(), cli.clone(), srv.clone(), s.to_string()));
            }
        }
    }
    v
}

/// Compares on one capture; returns how many p0f signatures were matched.
fn compare(pcap: &Path) -> usize {
    let (theirs, apps) = p0f_sigs(pcap);
    let ours = our_sigs(pcap);
    let missing: Vec<&Sig> = theirs.difference(&ours).collect();
    assert!(
        missing.is_empty(),
        "{}: p0f only {missing:#?}",
        pcap.display()
    );
    let extra: Vec<&Sig> = ours
        .difference(&theirs)
        .filter(|s| !(s.0 == "syn+ack" && apps.contains(&(s.1.clone(), s.2.clone()))))
        .collect();
    assert!(
        extra.is_empty(),
        "{}: wardwatch only {extra:#?}",
        pcap.display()
    );
    theirs.len()
}

#[test]
fn p0f_signatures_equal_p0f_on_public_captures() {
    // nmap SYN scan (2000 SYNs, random TTLs), a Linux-cooked handshake, a LAN port scan,
    // the HL7 session, the hospital scenario and IPv6 HTTP: p0f's raw_sig on every one.
    if peers::require_tool("p0f").is_none() {
        return;
    }
    let files: Vec<PathBuf> = [
        "tcp_fingerprint/synscan.pcap",
        "flow/tcp-handshake-nano.pcap",
        "flow/tcp_scan.pcapng",
        "flow/http_ipv6.pcap",
        "flow/android.pcap",
        "hl7/HL7-ADT.pcap",
        "scenarios/synthetic_philips_demo.pcap",
    ]
    .iter()
    .map(|r| common::pcap(r))
    .collect();
    let n: usize = files.iter().map(|f| compare(f)).sum();
    assert!(n >= 2000, "only {n} p0f signatures compared");
}

#[test]
fn p0f_signatures_equal_p0f_on_curl_capture() {
    // curl to Python's http.server on loopback (Linux SYN and SYN+ACK with timestamps
    // and window scaling), IPv4 and IPv6: wardwatch's signatures are p0f's.
    if !peers::require_root() {
        return;
    }
    if ["p0f", "tcpdump", "unshare", "ip", "ss", "python3", "curl"]
        .iter()
        .any(|t| peers::require_tool(t).is_none())
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "ok\n").unwrap();
    let script = format!(
        "{start}\
         python3 -m http.server 8771 --bind :: > server.log 2>&1 &\n\
         SERVER_PID=$!\n\
         for i in $(seq 1 100); do ss -ltn | grep -q ':8771 ' && break; sleep 0.05; done\n\
         curl -s http://127.0.0.1:8771/index.html -o /dev/null\n\
         curl -s 'http://[::1]:8771/index.html' -o /dev/null\n\
         curl -s http://127.0.0.1:8771/index.html -o /dev/null\n\
         kill $SERVER_PID || true\n\
         {stop}",
        start = netns::start_tcpdump("cap.pcap"),
        stop = netns::STOP_TCPDUMP,
    );
    let out = netns::run_script(dir.path(), &script).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pcap = dir.path().join("cap.pcap");
    let n = compare(&pcap);
    // Three connections, each with a SYN and a SYN+ACK signature.
    assert_eq!(n, 6, "p0f logged {n} signatures");
    let ours = our_sigs(&pcap);
    assert!(
        ours.iter().any(|s| s.3.starts_with("6:64+0:0:")),
        "{ours:#?}"
    );
}
