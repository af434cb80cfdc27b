//! Real peers: dnsmasq answering dig (BIND's client) on 127.0.0.1:53 inside a private
//! network namespace, captured with tcpdump, replayed through wardwatch and compared with
//! tshark's dissection of the same capture (id, QR, rcode, question names, record names,
//! types and addresses), plus the facts the zone was built with (SRV port, TXT, PTR).
//! Needs root (unshare), tcpdump, tshark, dnsmasq (dnsmasq-base) and dig (bind9-dnsutils);
//! under CI a missing one is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{netns, peers};

fn prerequisites() -> bool {
    if !peers::require_root() {
        return false;
    }
    ["tcpdump", "tshark", "unshare", "ip", "dnsmasq", "dig"]
        .iter()
        .all(|t| peers::require_tool(t).is_some())
}

/// The queries dig sends: (name, type).
const QUERIES: [(&str, &str); 7] = [
    ("pacs.hospital.test", "A"),
    ("ws1.hospital.test", "AAAA"),
    ("ris.hospital.test", "TXT"),
    ("_dicom._tcp.hospital.test", "SRV"),
    ("44.0.0.127.in-addr.arpa", "PTR"),
    ("alias.hospital.test", "A"),
    ("missing.hospital.test", "A"),
];

fn capture(dir: &Path) -> PathBuf {
    let digs: String = QUERIES
        .iter()
        .map(|(n, t)| format!("dig +tries=1 +time=2 @127.0.0.1 {n} {t} >> dig.log\n"))
        .collect();
    let script = format!(
        "{start}\
         dnsmasq --no-daemon --conf-file=/dev/null --port=53 --listen-address=127.0.0.1 \
           --bind-interfaces --no-resolv --no-hosts --local=/hospital.test/ \
           --address=/pacs.hospital.test/127.0.0.44 \
           --host-record=ws1.hospital.test,127.0.0.45,::1 \
           --txt-record=ris.hospital.test,\"model=RIS-9\",\"vendor=Example\" \
           --srv-host=_dicom._tcp.hospital.test,pacs.hospital.test,104,0,10 \
           --ptr-record=44.0.0.127.in-addr.arpa,pacs.hospital.test \
           --cname=alias.hospital.test,pacs.hospital.test \
           > dnsmasq.log 2>&1 &\nDNSMASQ_PID=$!\n\
         for i in $(seq 1 100); do dig +tries=1 +time=1 @127.0.0.1 ready.hospital.test A > /dev/null 2>&1 && break; sleep 0.05; done\n\
         {digs}\
         kill $DNSMASQ_PID || true\n\
         {stop}",
        start = netns::start_tcpdump("cap.pcap"),
        stop = netns::STOP_TCPDUMP,
    );
    let out = netns::run_script(dir, &script).unwrap();
    let log = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    assert!(
        out.status.success(),
        "peer script failed: {}\ndig: {}\ndnsmasq: {}",
        String::from_utf8_lossy(&out.stderr),
        log("dig.log"),
        log("dnsmasq.log")
    );
    dir.join("cap.pcap")
}

fn replay(pcap: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["replay", "--eve", "-"])
        .arg(pcap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// One message: id, QR, rcode number, question names, records as name/type/address.
type Row = (u64, bool, u64, String, String);

fn rcode_number(name: &str) -> u64 {
    [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
    ]
    .iter()
    .position(|n| *n == name)
    .map_or_else(|| name.parse().unwrap(), |p| p as u64)
}

fn our_rows(events: &[Value]) -> Vec<Row> {
    let mut v: Vec<Row> = events
        .iter()
        .filter(|e| e["event_type"] == "dns")
        .map(|e| {
            let d = &e["dns"];
            let qs: Vec<String> = d["queries"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|q| q["rrname"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            let mut rs = Vec::new();
            for sec in ["answers", "authorities", "additionals"] {
                for r in d[sec].as_array().into_iter().flatten() {
                    let t = r["rrtype"].as_str().unwrap();
                    let addr = if t == "A" || t == "AAAA" {
                        r["rdata"].as_str().unwrap_or("")
                    } else {
                        ""
                    };
                    // tshark 4.0 puts `<Root>` in dns.resp.name for SRV records (the owner
                    // is split into dns.srv.service/proto/name); SRV owners are compared
                    // through the question name and the srv facts below instead.
                    let owner = if t == "SRV" {
                        ""
                    } else {
                        r["rrname"].as_str().unwrap()
                    };
                    rs.push(format!("{owner}/{t}/{addr}"));
                }
            }
            (
                d["id"].as_u64().unwrap(),
                d["qr"].as_bool().unwrap_or(false),
                rcode_number(d["rcode"].as_str().unwrap()),
                qs.join(","),
                rs.join(","),
            )
        })
        .collect();
    v.sort();
    v
}

fn tshark_rows(pcap: &Path) -> Vec<Row> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", "dns", "-T", "fields", "-E", "separator=|"])
        .args(["-E", "occurrence=a", "-E", "aggregator=;"])
        .args([
            "-e",
            "dns.id",
            "-e",
            "dns.flags.response",
            "-e",
            "dns.flags.rcode",
        ])
        .args([
            "-e",
            "dns.qry.name",
            "-e",
            "dns.resp.name",
            "-e",
            "dns.resp.type",
        ])
        .args(["-e", "dns.a", "-e", "dns.aaaa"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = |t: &str| {
        match t {
            "1" => "A",
            "28" => "AAAA",
            "5" => "CNAME",
            "12" => "PTR",
            "16" => "TXT",
            "33" => "SRV",
            "6" => "SOA",
            "2" => "NS",
            other => other,
        }
        .to_string()
    };
    let mut v: Vec<Row> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            let split = |s: &str| -> Vec<String> {
                if s.is_empty() {
                    vec![]
                } else {
                    s.split(';').map(str::to_string).collect()
                }
            };
            let (mut a4, mut a6) = (split(f[6]).into_iter(), split(f[7]).into_iter());
            let rs: Vec<String> = split(f[4])
                .iter()
                .zip(split(f[5]))
                .filter(|(_, t)| t != "41")
                .map(|(n, t)| {
                    let addr = match t.as_str() {
                        "1" => a4.next().unwrap_or_default(),
                        "28" => a6.next().unwrap_or_default(),
                        _ => String::new(),
                    };
                    let n = if t == "33" { "" } else { n.as_str() };
                    format!("{n}/{}/{addr}", names(&t))
                })
                .collect();
            (
                u64::from_str_radix(f[0].trim_start_matches("0x"), 16).unwrap(),
                f[1] == "1" || f[1] == "True",
                // tshark writes the rcode of responses only.
                f[2].parse().unwrap_or(0),
                split(f[3]).join(","),
                rs.join(","),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn dns_real_peers_dnsmasq_and_dig_agree_with_tshark() {
    // dig's queries and dnsmasq's answers decode as tshark dissects them, and carry the
    // records the zone was built with.
    if !prerequisites() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pcap = capture(tmp.path());
    let events = replay(&pcap);
    let ours = our_rows(&events);
    let theirs = tshark_rows(&pcap);
    assert!(ours.len() >= 2 * QUERIES.len(), "{ours:?}");
    assert_eq!(ours, theirs);
    let answers: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "dns" && e["dns"]["type"] == "answer")
        .map(|e| &e["dns"])
        .collect();
    let find = |q: &str| {
        answers
            .iter()
            .find(|d| d["rrname"] == q)
            .unwrap_or_else(|| panic!("no answer for {q}"))
    };
    let srv = &find("_dicom._tcp.hospital.test")["answers"][0]["srv"];
    assert_eq!(srv["port"], 104);
    assert_eq!(srv["name"], "pacs.hospital.test");
    assert_eq!(
        find("ris.hospital.test")["answers"][0]["txt"],
        serde_json::json!(["model=RIS-9", "vendor=Example"])
    );
    assert_eq!(
        find("44.0.0.127.in-addr.arpa")["answers"][0]["rdata"],
        "pacs.hospital.test"
    );
    assert_eq!(
        find("pacs.hospital.test")["answers"][0]["rdata"],
        "127.0.0.44"
    );
    assert_eq!(find("ws1.hospital.test")["answers"][0]["rdata"], "::1");
    assert_eq!(find("missing.hospital.test")["rcode"], "NXDOMAIN");
    assert!(events
        .iter()
        .all(|e| e["event_type"] != "anomaly" || e["anomaly"]["app_proto"] != "dns"));
}
