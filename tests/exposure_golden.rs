//! Golden snapshots of the exposure detectors: every capture in tests/pcaps/smb/, telnet/,
//! snmp/ and ftp/ through `wardwatch replay`, the protocol's events and anomalies compared
//! line by line with the reviewed `<capture>.eve.jsonl` beside it, and the decoded facts
//! checked against tshark's dissection of the same files (SMB dialects offered and
//! chosen and the signing bit, SNMP version/PDU/community presence, telnet negotiation,
//! FTP USER/PASS and login replies). `WARDWATCH_BLESS=1 cargo test --test exposure_golden`
//! rewrites the snapshots (review the diff before committing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

fn lines(pcap: &Path, proto: &str) -> Vec<String> {
    common::golden::app_lines(pcap, &[proto], proto)
}

fn events(pcap: &Path, proto: &str) -> Vec<Value> {
    lines(pcap, proto)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event_type"] == proto)
        .collect()
}

/// tshark's field rows (tab-separated, every occurrence comma-joined) for `filter`.
fn tshark(pcap: &Path, extra: &[&str], filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(pcap).args(extra);
    c.args(["-o", "tcp.reassemble_out_of_order:TRUE"]);
    c.args([
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().expect("run tshark");
    assert!(out.status.success(), "tshark failed on {}", pcap.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn has_tshark() -> bool {
    testkit::peers::require_tool("tshark").is_some()
}

#[test]
fn golden_smb_captures_match_snapshots() {
    // Each SMB capture gives exactly its reviewed smb events and anomalies.
    let dir = common::golden::dir("smb");
    common::golden::check_snapshots(&dir, 9, |p| lines(p, "smb"));
}

#[test]
fn golden_telnet_captures_match_snapshots() {
    // Each telnet capture gives exactly its reviewed telnet events and anomalies.
    let dir = common::golden::dir("telnet");
    common::golden::check_snapshots(&dir, 2, |p| lines(p, "telnet"));
}

#[test]
fn golden_snmp_captures_match_snapshots() {
    // Each SNMP capture gives exactly its reviewed snmp events and anomalies.
    let dir = common::golden::dir("snmp");
    common::golden::check_snapshots(&dir, 1, |p| lines(p, "snmp"));
}

#[test]
fn golden_ftp_captures_match_snapshots() {
    // Each FTP capture gives exactly its reviewed ftp events and anomalies.
    let dir = common::golden::dir("ftp");
    common::golden::check_snapshots(&dir, 1, |p| lines(p, "ftp"));
}

fn smb2_name(hex: &str) -> String {
    match hex {
        "0x0202" => "2.02".into(),
        "0x0210" => "2.10".into(),
        "0x0222" => "2.22".into(),
        "0x0224" => "2.24".into(),
        "0x02ff" => "2.??".into(),
        "0x0300" => "3.00".into(),
        "0x0302" => "3.02".into(),
        "0x0310" => "3.10".into(),
        "0x0311" => "3.11".into(),
        other => other.to_string(),
    }
}

/// One negotiation as (offered dialects, chosen dialect, signing required).
type Negotiation = (Vec<String>, String, String);

#[test]
fn golden_smb_agrees_with_tshark() {
    // Per connection, the dialects offered (SMB1 smb.dialect.name, then SMB2 smb2.dialect),
    // the dialect chosen (smb.dialect.index into the offered names, or the last
    // smb2.dialect answered) and the signing-required bit equal tshark's, as multisets.
    if !has_tshark() {
        return;
    }
    let mut compared = 0;
    for pcap in common::golden::captures(&common::golden::dir("smb")) {
        // tshark itself calls the split NetBIOS message malformed.
        if pcap.to_string_lossy().contains("netbios-split") {
            continue;
        }
        let ours: BTreeSet<Negotiation> = events(&pcap, "smb")
            .iter()
            .map(|e| {
                let s = &e["smb"];
                let offered = s["client_dialects"]
                    .as_array()
                    .map(|a| a.iter().map(|d| d.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default();
                let sign = s["signing_required"]
                    .as_bool()
                    .map_or(String::new(), |b| b.to_string());
                (
                    offered,
                    s["dialect"].as_str().unwrap_or("").to_string(),
                    sign,
                )
            })
            .collect();
        let rows = tshark(
            &pcap,
            &[],
            "smb.cmd==0x72 || smb2.cmd==0",
            &[
                "tcp.stream",
                "smb.flags.response",
                "smb.dialect.name",
                "smb.dialect.index",
                "smb.sm.sig_required",
                "smb2.flags.response",
                "smb2.dialect",
                "smb2.sec_mode.sign_required",
            ],
        );
        let mut per: BTreeMap<String, Negotiation> = BTreeMap::new();
        for r in rows {
            let f = |i: usize| r.get(i).cloned().unwrap_or_default();
            let n = per.entry(f(0)).or_default();
            let flag = |s: String| (s == "1" || s == "True").to_string();
            if f(1) == "0" || f(1) == "False" {
                n.0.extend(
                    f(2).split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
            } else if !f(1).is_empty() {
                let idx: usize = f(3).parse().unwrap();
                n.1 = n.0.get(idx).cloned().unwrap_or_default();
                n.2 = flag(f(4));
            }
            if f(5) == "0" || f(5) == "False" {
                n.0.extend(f(6).split(',').filter(|s| !s.is_empty()).map(smb2_name));
            } else if !f(5).is_empty() {
                n.1 = smb2_name(&f(6));
                n.2 = flag(f(7));
            }
        }
        let theirs: BTreeSet<Negotiation> = per.into_values().collect();
        assert_eq!(
            ours,
            theirs,
            "smb negotiations differ on {}",
            pcap.display()
        );
        compared += ours.len();
    }
    assert!(compared >= 6, "only {compared} negotiations compared");
}

/// The Net-SNMP capture runs on a port tshark does not take for SNMP.
const SNMP_PORTS: [&str; 2] = ["-d", "udp.port==1161,snmp"];

const SNMP_PDUS: [&str; 9] = [
    "get_request",
    "get_next_request",
    "response",
    "set_request",
    "trap_v1",
    "get_bulk_request",
    "inform_request",
    "trap_v2",
    "report",
];

#[test]
fn golden_snmp_agrees_with_tshark() {
    // Every message's version (tshark snmp.version 0/1/3 is v1/v2c/v3), PDU type
    // (snmp.data's choice) and community presence equal tshark's, as multisets.
    if !has_tshark() {
        return;
    }
    let mut compared = 0;
    for pcap in common::golden::captures(&common::golden::dir("snmp")) {
        let mut ours: BTreeMap<(u64, String, bool), usize> = BTreeMap::new();
        for e in events(&pcap, "snmp") {
            let s = &e["snmp"];
            let key = (
                s["version"].as_u64().unwrap(),
                s["pdu_type"].as_str().unwrap().to_string(),
                s["community_present"].as_bool().unwrap(),
            );
            *ours.entry(key).or_insert(0) += 1;
        }
        let mut theirs: BTreeMap<(u64, String, bool), usize> = BTreeMap::new();
        for r in tshark(
            &pcap,
            &SNMP_PORTS,
            "snmp",
            &["snmp.version", "snmp.data", "snmp.community"],
        ) {
            let version = match r[0].as_str() {
                "0" => 1,
                "1" => 2,
                _ => 3,
            };
            // tshark cannot read an encrypted v3 scoped PDU either: no snmp.data.
            let pdu = r[1]
                .parse::<usize>()
                .ok()
                .and_then(|i| SNMP_PDUS.get(i))
                .map_or("encrypted".to_string(), |s| s.to_string());
            let community = r.get(2).is_some_and(|c| !c.is_empty());
            *theirs.entry((version, pdu, community)).or_insert(0) += 1;
        }
        assert_eq!(ours, theirs, "snmp messages differ on {}", pcap.display());
        compared += ours.values().sum::<usize>();
    }
    assert!(compared >= 50, "only {compared} messages compared");
}

#[test]
fn golden_snmp_never_writes_a_community() {
    // The community strings tshark reads in the capture appear nowhere in our output.
    if !has_tshark() {
        return;
    }
    for pcap in common::golden::captures(&common::golden::dir("snmp")) {
        let out = common::golden::replay_lines(&pcap).join("\n");
        let communities: BTreeSet<String> = tshark(&pcap, &SNMP_PORTS, "snmp", &["snmp.community"])
            .into_iter()
            .filter_map(|r| r.into_iter().next())
            .filter(|c| !c.is_empty())
            .collect();
        assert!(!communities.is_empty());
        for c in communities {
            assert!(!out.contains(&format!("\"{c}\"")), "community {c} written");
        }
    }
}

#[test]
fn golden_telnet_agrees_with_tshark() {
    // A connection where tshark decodes telnet option commands (telnet.cmd) is one whose
    // event says negotiation; one where it sees none says no negotiation.
    if !has_tshark() {
        return;
    }
    let mut compared = 0;
    for pcap in common::golden::captures(&common::golden::dir("telnet")) {
        let ev = events(&pcap, "telnet");
        let ours: BTreeSet<u64> = ev
            .iter()
            .filter(|e| e["telnet"]["negotiation"] == true)
            .map(|e| e["src_port"].as_u64().unwrap())
            .collect();
        // tshark picks telnet by port; the Zeek trace runs it on 21.
        let rows = tshark(
            &pcap,
            &["-d", "tcp.port==21,telnet"],
            "telnet.cmd && tcp.dstport!=tcp.srcport",
            &["tcp.srcport", "tcp.dstport"],
        );
        let theirs: BTreeSet<u64> = rows
            .iter()
            .map(|r| {
                let (s, d): (u64, u64) = (r[0].parse().unwrap(), r[1].parse().unwrap());
                // The client side is the one not on the well-known port.
                if d == 23 || d == 21 {
                    s
                } else {
                    d
                }
            })
            .collect();
        assert_eq!(
            ours,
            theirs,
            "telnet negotiation differs on {}",
            pcap.display()
        );
        compared += ev.len();
    }
    assert!(compared >= 2);
}

#[test]
fn golden_ftp_agrees_with_tshark() {
    // USER and PASS seen, and 230/530 replies, equal tshark's ftp.request.command and
    // ftp.response.code counts.
    if !has_tshark() {
        return;
    }
    for pcap in common::golden::captures(&common::golden::dir("ftp")) {
        let ev = events(&pcap, "ftp");
        let count = |k: &str| ev.iter().filter(|e| e["ftp"][k] == true).count();
        let outcome = |v: bool| ev.iter().filter(|e| e["ftp"]["login_success"] == v).count();
        // The capture is on a port tshark does not take for FTP.
        let d = ["-d", "tcp.port==2121,ftp"];
        let cmds = tshark(&pcap, &d, "ftp.request", &["ftp.request.command"]);
        let codes = tshark(&pcap, &d, "ftp.response", &["ftp.response.code"]);
        let n = |rows: &Vec<Vec<String>>, v: &str| {
            rows.iter().filter(|r| r[0].eq_ignore_ascii_case(v)).count()
        };
        assert_eq!(
            count("user_sent"),
            n(&cmds, "USER"),
            "USER on {}",
            pcap.display()
        );
        assert_eq!(
            count("cleartext_credentials"),
            n(&cmds, "PASS"),
            "PASS on {}",
            pcap.display()
        );
        assert_eq!(outcome(true), n(&codes, "230"), "230 on {}", pcap.display());
        assert_eq!(
            outcome(false),
            n(&codes, "530"),
            "530 on {}",
            pcap.display()
        );
        assert!(!ev.is_empty());
    }
}
