//! DICOM against real peers: dcmtk (storescp, dcmqrscp, echoscu, storescu, findscu, movescu)
//! and pynetdicom, on loopback inside a private network namespace, captured by tcpdump,
//! decoded by `wardwatch replay`, and compared with (a) what the test sent and (b) tshark's
//! DICOM dissection of the same capture (`-d tcp.port==N,dicom`).
//!
//! Needs root (network namespaces), tcpdump, tshark, dcmtk and the test venv with pydicom
//! and pynetdicom (`.ci/requirements-peers.txt`). Outside CI a missing peer skips the test;
//! under CI it fails it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{netns, peers};

const GEN_PY: &str = include_str!("dicom_peers/gen.py");
const PYSCP: &str = include_str!("dicom_peers/pyscp.py");
const PYSCU: &str = include_str!("dicom_peers/pyscu.py");

/// The device attributes gen.py writes into every file.
const MANUFACTURER: &str = "WARDWATCH LABS";
const MODEL: &str = "PeerScanner 9";
const STATION: &str = "PEERSTATION1";
const SOFTWARE: &str = "SW 1.2.3";
const SERIAL: &str = "SN-4242";
const INSTITUTION: &str = "Loopback General";
/// PHI values gen.py writes; none may appear in wardwatch's output.
const PHI_VALUES: &[&str] = &[
    "Peer^Test",
    "PID-42",
    "19800101",
    "PEER STUDY",
    "Ref^Doctor",
    "ACC42",
];
const CT_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
const MR_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.4";

/// Tools every test here needs; `None` when one is missing outside CI.
fn prerequisites(extra: &[&str]) -> Option<PathBuf> {
    if !peers::require_root() {
        return None;
    }
    for t in ["tcpdump", "tshark", "unshare", "ip", "ss"]
        .iter()
        .chain(extra)
    {
        peers::require_tool(t)?;
    }
    peers::require_python(&["pydicom", "pynetdicom"])
}

/// A bash snippet starting tcpdump on `lo` with a large buffer (64 KiB loopback segments
/// overflow the default one) and waiting until it listens.
fn start_capture(file: &str) -> String {
    format!(
        "ip link set lo mtu 9000\n\
         tcpdump -i lo --immediate-mode -B 131072 -s 0 -U -w {file} 2> tcpdump.log &\nTCPDUMP_PID=$!\n\
         for i in $(seq 1 100); do grep -q listening tcpdump.log && break; sleep 0.05; done\n"
    )
}

/// Stops the capture once tcpdump has written everything: with a large buffer it lags
/// behind a bulk transfer, and SIGINT discards what it has not read yet.
fn stop_capture(file: &str) -> String {
    format!(
        "prev=-1\nfor i in $(seq 1 100); do cur=$(stat -c %s {file}); [ \"$cur\" = \"$prev\" ] && break; prev=$cur; sleep 0.3; done\n\
         kill -INT $TCPDUMP_PID\nwait $TCPDUMP_PID || true\n"
    )
}

fn wait_port(port: u16) -> String {
    format!("for i in $(seq 1 200); do ss -ltn | grep -q ':{port} ' && break; sleep 0.05; done\n")
}

fn run_lab(dir: &Path, script: &str) {
    let out = netns::run_script(dir, script).expect("unshare");
    assert!(
        out.status.success(),
        "lab script failed: {}\nstdout: {}\nstderr: {}\ntcpdump: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("tcpdump.log")).unwrap_or_default()
    );
    let log = std::fs::read_to_string(dir.join("tcpdump.log")).unwrap_or_default();
    assert!(
        log.lines()
            .any(|l| l.trim() == "0 packets dropped by kernel"),
        "capture dropped packets: {log}"
    );
    // On lo the filter sees each packet twice (out and in) and tcpdump keeps one copy; more
    // means tcpdump was stopped before writing everything it had received.
    let count = |what: &str| -> u64 {
        log.lines()
            .find(|l| l.ends_with(what))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let (captured, received) = (
        count("packets captured"),
        count("packets received by filter"),
    );
    assert!(received <= 2 * captured, "capture incomplete: {log}");
}

/// `wardwatch replay --eve - cap.pcap`, parsed.
fn wardwatch(pcap: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .arg("replay")
        .arg("--eve")
        .arg("-")
        .arg(pcap)
        .output()
        .expect("run wardwatch");
    assert!(
        out.status.success(),
        "wardwatch failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for phi in PHI_VALUES {
        assert!(!text.contains(phi), "PHI value {phi} in wardwatch output");
    }
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn tshark_json(pcap: &Path, ports: &[u16]) -> Vec<Value> {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(pcap);
    for p in ports {
        c.arg("-d").arg(format!("tcp.port=={p},dicom"));
    }
    let out = c
        .args(["-Y", "dicom", "-T", "json", "--no-duplicate-keys"])
        .output()
        .expect("tshark");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

/// TCP payload bytes per (client port, direction) from tshark.
fn tshark_bytes(pcap: &Path, servers: &[u16]) -> BTreeMap<(u16, &'static str), u64> {
    // Counted from relative sequence numbers (data starts at 1), not by summing segment
    // lengths: loopback bulk transfers carry zero-window probes and retransmissions.
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args([
            "-Y",
            "tcp.len > 0",
            "-T",
            "fields",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.dstport",
            "-e",
            "tcp.seq",
            "-e",
            "tcp.len",
        ])
        .output()
        .expect("tshark");
    let mut m = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<u64> = l.split('\t').map(|x| x.parse().unwrap()).collect();
        let (sp, dp) = (f[0] as u16, f[1] as u16);
        let key = if servers.contains(&dp) && (!servers.contains(&sp) || sp > dp) {
            (sp, "to_server")
        } else {
            (dp, "to_client")
        };
        let end = f[2] + f[3] - 1;
        let e = m.entry(key).or_insert(0);
        *e = end.max(*e);
    }
    m
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// Visits every (key, value) pair under `v`, objects and arrays alike.
fn walk<'a>(v: &'a Value, f: &mut dyn FnMut(&'a str, &'a Value)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                f(k, x);
                walk(x, f);
            }
        }
        Value::Array(a) => {
            for x in a {
                walk(x, f);
            }
        }
        _ => {}
    }
}

/// Every string value under `key` (arrays from merged duplicate keys flattened).
fn all_of(v: &Value, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    walk(v, &mut |k, x| {
        if k == key {
            match x {
                Value::Array(a) => out.extend(a.iter().map(|s| str_of(s).to_string())),
                _ => out.push(str_of(x).to_string()),
            }
        }
    });
    out
}

fn first_of(v: &Value, key: &str) -> Option<String> {
    all_of(v, key).into_iter().next()
}

/// "CT Image Storage (1.2.840.10008.5.1.4.1.1.2)" -> the UID in the last parentheses.
fn uid_in(s: &str) -> String {
    match (s.rfind('('), s.rfind(')')) {
        (Some(a), Some(b)) if b > a => s[a + 1..b].to_string(),
        _ => s.trim().to_string(),
    }
}

fn hex_u8(s: &str) -> u64 {
    let s = s.trim();
    s.strip_prefix("0x")
        .map(|h| u64::from_str_radix(h, 16).unwrap())
        .unwrap_or_else(|| s.parse().unwrap())
}

/// The (pdu object) list of a tshark frame's `dicom` layer, with client port and direction.
struct Frame<'a> {
    client: u16,
    dir: &'static str,
    pdus: Vec<&'a Value>,
}

fn frames<'a>(tshark: &'a [Value], servers: &[u16]) -> Vec<Frame<'a>> {
    tshark
        .iter()
        .map(|f| {
            let l = &f["_source"]["layers"];
            let sp: u16 = str_of(&l["tcp"]["tcp.srcport"]).parse().unwrap();
            let dp: u16 = str_of(&l["tcp"]["tcp.dstport"]).parse().unwrap();
            let (client, dir) = if servers.contains(&dp) && (!servers.contains(&sp) || sp > dp) {
                (sp, "to_server")
            } else {
                (dp, "to_client")
            };
            let pdus = match &l["dicom"] {
                Value::Array(a) => a.iter().collect(),
                v => vec![v],
            };
            Frame { client, dir, pdus }
        })
        .collect()
}

/// One DIMSE command as a comparable line.
fn command_line(client: u16, dir: &str, fields: &BTreeMap<&str, String>) -> String {
    let g = |k: &str| fields.get(k).cloned().unwrap_or_default();
    format!(
        "{client} {dir} {} id={} rsp={} status={} class={} inst={} dest={} sub={}/{}/{}/{} orig={}",
        g("cmd"),
        g("id"),
        g("rsp"),
        g("status"),
        g("class"),
        g("inst"),
        g("dest"),
        g("rem"),
        g("com"),
        g("fail"),
        g("warn"),
        g("orig")
    )
}

/// Whether a key appears anywhere in a JSON tree.
fn has_key_deep(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| k == key || has_key_deep(v, key)),
        Value::Array(a) => a.iter().any(|v| has_key_deep(v, key)),
        _ => false,
    }
}

/// Command sets tshark decoded, as comparable lines, sorted.
fn tshark_commands(frames: &[Frame<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    for fr in frames {
        for p in &fr.pdus {
            walk(p, &mut |_, v| {
                let Value::Object(m) = v else { return };
                if !m.keys().any(|k| k.starts_with("(0000,0100)")) {
                    // A last command fragment tshark could not decode: its PDV reassembly
                    // is keyed by context id alone, so a response on the context of a
                    // large store in progress is merged with the other direction's data.
                    let flags = m
                        .get("dicom.pdv.flags")
                        .map(|f| hex_u8(str_of(f)))
                        .unwrap_or(0);
                    // Or a command PDU split after its PDV header (loopback under load
                    // sends the 12 header bytes alone): tshark parses the rest from a
                    // wrong offset and flags it malformed.
                    let malformed = m
                        .get("dicom.data.tag_tree")
                        .is_some_and(|t| has_key_deep(t, "_ws.malformed"));
                    if flags & 3 == 3 && (m.contains_key("dicom.pdv.fragments") || malformed) {
                        out.push(format!("{} {} UNDECODED", fr.client, fr.dir));
                    }
                    return;
                }
                let mut f: BTreeMap<&str, String> = BTreeMap::new();
                for k in m.keys() {
                    let Some(tag) = k.get(..11) else { continue };
                    let rest: Vec<&str> = k[11..]
                        .split("  ")
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .collect();
                    let val = rest.get(1..).map(|r| r.join(" ")).unwrap_or_default();
                    let first = val.split_whitespace().next().unwrap_or("").to_string();
                    match tag {
                        "(0000,0100)" => {
                            f.insert("cmd", first);
                        }
                        "(0000,0110)" => {
                            f.insert("id", first);
                        }
                        "(0000,0120)" => {
                            f.insert("rsp", first);
                        }
                        "(0000,0900)" => {
                            f.insert("status", hex_u8(&uid_in(&val)).to_string());
                        }
                        "(0000,0002)" => {
                            f.insert("class", first);
                        }
                        "(0000,1000)" => {
                            f.insert("inst", first);
                        }
                        "(0000,0600)" => {
                            f.insert("dest", val.trim().to_string());
                        }
                        "(0000,1020)" => {
                            f.insert("rem", first);
                        }
                        "(0000,1021)" => {
                            f.insert("com", first);
                        }
                        "(0000,1022)" => {
                            f.insert("fail", first);
                        }
                        "(0000,1023)" => {
                            f.insert("warn", first);
                        }
                        "(0000,1030)" => {
                            f.insert("orig", val.trim().to_string());
                        }
                        _ => {}
                    }
                }
                out.push(command_line(fr.client, fr.dir, &f));
            });
        }
    }
    out.sort();
    out
}

fn dicom_events<'a>(eve: &'a [Value], ty: &str) -> Vec<&'a Value> {
    eve.iter()
        .filter(|e| e["event_type"] == "dicom" && e["dicom"]["type"] == ty)
        .collect()
}

fn wardwatch_commands(eve: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = dicom_events(eve, "command")
        .iter()
        .map(|e| {
            let d = &e["dicom"];
            let n = |k: &str| {
                if d[k].is_null() {
                    String::new()
                } else {
                    d[k].to_string().trim_matches('"').to_string()
                }
            };
            let mut f: BTreeMap<&str, String> = BTreeMap::new();
            f.insert("cmd", n("command"));
            for (k, w) in [
                ("id", "message_id"),
                ("rsp", "message_id_responded"),
                ("status", "status"),
                ("class", "affected_sop_class_uid"),
                ("inst", "affected_sop_instance_uid"),
                ("dest", "move_destination"),
                ("rem", "remaining_suboperations"),
                ("com", "completed_suboperations"),
                ("fail", "failed_suboperations"),
                ("warn", "warning_suboperations"),
                ("orig", "move_originator_ae"),
            ] {
                let v = n(w);
                if !v.is_empty() {
                    f.insert(k, v);
                }
            }
            command_line(
                e["src_port"].as_u64().unwrap() as u16,
                str_of(&d["direction"]),
                &f,
            )
        })
        .collect();
    out.sort();
    out
}

/// Association facts tshark shows, per client port, as comparable lines.
fn tshark_associations(frames: &[Frame<'_>]) -> BTreeMap<u16, Vec<String>> {
    let mut m: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for fr in frames {
        for p in &fr.pdus {
            let ty = hex_u8(str_of(&p["dicom.pdu.type"]));
            let lines = m.entry(fr.client).or_default();
            match ty {
                1 | 2 => {
                    let who = if ty == 1 { "rq" } else { "ac" };
                    if ty == 1 {
                        lines.push(format!(
                            "calling={}",
                            first_of(p, "dicom.assoc.ae.calling")
                                .unwrap_or_default()
                                .trim()
                        ));
                        lines.push(format!(
                            "called={}",
                            first_of(p, "dicom.assoc.ae.called")
                                .unwrap_or_default()
                                .trim()
                        ));
                    }
                    lines.push(format!(
                        "{who} max_pdu={}",
                        first_of(p, "dicom.max_pdu_len").unwrap_or_default()
                    ));
                    lines.push(format!(
                        "{who} impl_uid={}",
                        first_of(p, "dicom.userinfo.uid").unwrap_or_default()
                    ));
                    lines.push(format!(
                        "{who} impl_version={}",
                        first_of(p, "dicom.userinfo.version").unwrap_or_default()
                    ));
                    if let Some(t) = first_of(p, "dicom.userinfo.user_identify.type") {
                        let r = first_of(p, "dicom.userinfo.user_identify.response_requested")
                            .unwrap_or_default();
                        lines.push(format!(
                            "user_identity type={t} response_requested={}",
                            r == "1"
                        ));
                    }
                    walk(p, &mut |k, v| {
                        if !k.starts_with("Presentation Context") {
                            return;
                        }
                        // Contexts with the same abstract syntax share a key: tshark merges
                        // them into an array.
                        let items: Vec<&Value> = match v {
                            Value::Array(a) => a.iter().collect(),
                            v => vec![v],
                        };
                        for v in items {
                            let id = hex_u8(&first_of(v, "dicom.pctx.id").unwrap_or_default());
                            let mut ts: Vec<String> = all_of(v, "dicom.pctx.xfer.syntax")
                                .iter()
                                .map(|s| uid_in(s))
                                .collect();
                            ts.sort();
                            if ty == 1 {
                                let abs = uid_in(
                                    &first_of(v, "dicom.pctx.abss.syntax").unwrap_or_default(),
                                );
                                lines.push(format!("rq pc {id} {abs} {ts:?}"));
                            } else {
                                let r =
                                    hex_u8(&first_of(v, "dicom.pctx.result").unwrap_or_default());
                                let ts = if r == 0 { ts } else { Vec::new() };
                                lines.push(format!("ac pc {id} result={r} {ts:?}"));
                            }
                        }
                    });
                }
                3 => lines.push(format!(
                    "reject {} {} {}",
                    first_of(p, "dicom.assoc.reject.result").unwrap_or_default(),
                    first_of(p, "dicom.assoc.reject.source").unwrap_or_default(),
                    first_of(p, "dicom.assoc.reject.reason").unwrap_or_default()
                )),
                7 => lines.push(format!(
                    "abort {} {} by={}",
                    first_of(p, "dicom.assoc.abort.source").unwrap_or_default(),
                    first_of(p, "dicom.assoc.abort.reason").unwrap_or_default(),
                    if fr.dir == "to_server" {
                        "requestor"
                    } else {
                        "acceptor"
                    }
                )),
                _ => {}
            }
        }
    }
    for v in m.values_mut() {
        v.sort();
    }
    m.retain(|_, v| !v.is_empty());
    m
}

fn wardwatch_associations(eve: &[Value]) -> BTreeMap<u16, Vec<String>> {
    let mut m: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for e in dicom_events(eve, "association") {
        let d = &e["dicom"];
        let mut lines = Vec::new();
        let s = |v: &Value| {
            if v.is_null() {
                String::new()
            } else {
                v.to_string().trim_matches('"').to_string()
            }
        };
        if !d["request"].is_null() {
            lines.push(format!("calling={}", s(&d["calling_ae"])));
            lines.push(format!("called={}", s(&d["called_ae"])));
        }
        for (who, part) in [("rq", &d["request"]), ("ac", &d["accept"])] {
            if part.is_null() {
                continue;
            }
            lines.push(format!("{who} max_pdu={}", s(&part["max_pdu_length"])));
            lines.push(format!(
                "{who} impl_uid={}",
                s(&part["implementation_class_uid"])
            ));
            lines.push(format!(
                "{who} impl_version={}",
                s(&part["implementation_version_name"])
            ));
            if let Some(u) = part.get("user_identity").filter(|u| !u.is_null()) {
                lines.push(format!(
                    "user_identity type={} response_requested={}",
                    u["type"], u["response_requested"]
                ));
            }
            for pc in part["presentation_contexts"].as_array().unwrap() {
                if who == "rq" {
                    let mut ts: Vec<String> = pc["transfer_syntaxes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(&s)
                        .collect();
                    ts.sort();
                    lines.push(format!(
                        "rq pc {} {} {ts:?}",
                        pc["id"],
                        s(&pc["abstract_syntax"])
                    ));
                } else {
                    let ts: Vec<String> = pc["transfer_syntax"]
                        .as_str()
                        .map(|t| vec![t.to_string()])
                        .unwrap_or_default();
                    lines.push(format!("ac pc {} result={} {ts:?}", pc["id"], pc["result"]));
                }
            }
        }
        if !d["reject"].is_null() {
            lines.push(format!(
                "reject {} {} {}",
                d["reject"]["result"], d["reject"]["source"], d["reject"]["reason"]
            ));
        }
        if !d["abort"].is_null() {
            lines.push(format!(
                "abort {} {} by={}",
                d["abort"]["source"],
                d["abort"]["reason"],
                s(&d["abort"]["sent_by"])
            ));
        }
        lines.sort();
        m.insert(e["src_port"].as_u64().unwrap() as u16, lines);
    }
    m
}

/// Everything tshark shows about commands and associations equals wardwatch's view, and
/// the association byte counts equal the TCP payload tshark counts.
fn compare_with_tshark(dir: &Path, pcap: &Path, servers: &[u16], eve: &[Value]) {
    let ts = tshark_json(pcap, servers);
    let fr = frames(&ts, servers);
    let mut want = tshark_commands(&fr);
    let got = wardwatch_commands(eve);
    std::fs::write(dir.join("tshark_commands.txt"), want.join("\n")).unwrap();
    std::fs::write(dir.join("wardwatch_commands.txt"), got.join("\n")).unwrap();
    // Each command tshark could not decode stands for one command of that flow and
    // direction that only wardwatch reports.
    let undecoded: Vec<String> = want
        .iter()
        .filter(|l| l.ends_with(" UNDECODED"))
        .cloned()
        .collect();
    want.retain(|l| !l.ends_with(" UNDECODED"));
    for u in &undecoded {
        let prefix = u.trim_end_matches("UNDECODED");
        let extra = got.iter().find(|g| {
            g.starts_with(prefix) && {
                let n_got = got.iter().filter(|x| *x == *g).count();
                let n_want = want.iter().filter(|x| *x == *g).count();
                n_got > n_want
            }
        });
        let extra = extra.unwrap_or_else(|| {
            panic!("tshark left a command undecoded ({u}) that wardwatch lacks")
        });
        eprintln!("NOTE: tshark did not decode a command; wardwatch reports it as: {extra}");
        want.push(extra.clone());
    }
    want.sort();
    assert_eq!(
        got,
        want,
        "commands differ from tshark (files in {})",
        dir.display()
    );
    let want = tshark_associations(&fr);
    let got = wardwatch_associations(eve);
    let mut diff = Vec::new();
    for port in want.keys().chain(got.keys()).collect::<BTreeSet<_>>() {
        let (w, g) = (
            want.get(port).cloned().unwrap_or_default(),
            got.get(port).cloned().unwrap_or_default(),
        );
        let (w, g): (BTreeSet<String>, BTreeSet<String>) =
            (w.into_iter().collect(), g.into_iter().collect());
        for l in w.difference(&g) {
            diff.push(format!("port {port} tshark only: {l}"));
        }
        for l in g.difference(&w) {
            diff.push(format!("port {port} wardwatch only: {l}"));
        }
    }
    assert!(
        diff.is_empty(),
        "associations differ from tshark:\n{}",
        diff.join("\n")
    );
    let bytes = tshark_bytes(pcap, servers);
    for e in dicom_events(eve, "association") {
        let port = e["src_port"].as_u64().unwrap() as u16;
        let d = &e["dicom"];
        assert_eq!(
            d["bytes_toserver"].as_u64(),
            bytes.get(&(port, "to_server")).copied(),
            "bytes to server, port {port}"
        );
        assert_eq!(
            d["bytes_toclient"].as_u64(),
            bytes.get(&(port, "to_client")).copied(),
            "bytes to client, port {port}"
        );
    }
}

/// Removes the lab directory unless `WARDWATCH_KEEP_LAB=1` (to inspect captures and the
/// compared command lists).
fn cleanup(dir: &Path) {
    if std::env::var("WARDWATCH_KEEP_LAB").is_ok_and(|v| v == "1") {
        eprintln!("lab kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn lab_dir(name: &str, py: &Path) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wardwatch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("in")).unwrap();
    std::fs::write(dir.join("gen.py"), GEN_PY).unwrap();
    std::fs::write(dir.join("pyscp.py"), PYSCP).unwrap();
    std::fs::write(dir.join("pyscu.py"), PYSCU).unwrap();
    let st = Command::new(py)
        .arg("gen.py")
        .arg("in")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "gen.py: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    dir
}

fn association<'a>(eve: &'a [Value], calling: &str, called: &str) -> &'a Value {
    &association_event(eve, calling, called)["dicom"]
}

/// The association event between two AE titles; when several exist (the pynetdicom lab
/// opens two PYSCU -> PYSCP associations, one aborted), the one that was not aborted.
/// Events of different flows come in no fixed order.
fn association_event<'a>(eve: &'a [Value], calling: &str, called: &str) -> &'a Value {
    let mut all: Vec<&Value> = dicom_events(eve, "association")
        .into_iter()
        .filter(|e| e["dicom"]["calling_ae"] == calling && e["dicom"]["called_ae"] == called)
        .collect();
    all.sort_by_key(|e| e["dicom"]["termination"] == "abort");
    all.first()
        .copied()
        .unwrap_or_else(|| panic!("no association {calling} -> {called}"))
}

/// The C-STORE-RQs of one association (by client port), in order.
fn stores_of(eve: &[Value], port: u64) -> Vec<&Value> {
    dicom_events(eve, "command")
        .into_iter()
        .filter(|e| e["src_port"] == port && e["dicom"]["command"] == "C-STORE-RQ")
        .map(|e| &e["dicom"])
        .collect()
}

fn port_of(eve: &[Value], calling: &str, called: &str) -> u64 {
    association_event(eve, calling, called)["src_port"]
        .as_u64()
        .unwrap()
}

/// The data set of a C-STORE-RQ carries what gen.py wrote: device values and PHI keywords.
fn check_store_dataset(d: &Value, modality: &str, sop_class: &str) {
    let ds = &d["dataset"];
    assert_eq!(ds["modality"], modality);
    assert_eq!(ds["manufacturer"], MANUFACTURER);
    assert_eq!(ds["model_name"], MODEL);
    assert_eq!(ds["station_name"], STATION);
    assert_eq!(ds["software_versions"], SOFTWARE);
    assert_eq!(ds["device_serial_number"], SERIAL);
    assert_eq!(ds["institution_name"], INSTITUTION);
    assert_eq!(ds["sop_class_uid"], sop_class);
    assert_eq!(ds["complete"], true);
    let phi: BTreeSet<&str> = ds["phi_present"]
        .as_array()
        .unwrap()
        .iter()
        .map(str_of)
        .collect();
    for k in [
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyDescription",
        "ReferringPhysicianName",
        "AccessionNumber",
        "StudyDate",
        "StudyID",
    ] {
        assert!(phi.contains(k), "{k} not listed in {phi:?}");
    }
}

#[test]
fn dcmtk_echo_store_find_move_reject_abort_match_tshark() {
    // dcmtk peers on non-standard and standard ports: every association and command that
    // wardwatch reports equals what was sent and what tshark decodes.
    let Some(py) = prerequisites(&[
        "storescp", "storescu", "echoscu", "findscu", "movescu", "dcmqrscp",
    ]) else {
        return;
    };
    let dir = lab_dir("dicom-dcmtk", &py);
    let script = format!(
        r#"mkdir -p out db
cat > qr.cfg <<CFG
NetworkTCPPort  = 11112
MaxPDUSize      = 16384
MaxAssociations = 16
HostTable BEGIN
store_dest = (STORESCP, 127.0.0.1, 4242)
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
QRSCP   $PWD/db   RW  (200, 1024mb)   ANY
AETable END
CFG
{cap}storescp -aet STORESCP --output-directory out 4242 > storescp.log 2>&1 &
SCP=$!
dcmqrscp -c qr.cfg > qr.log 2>&1 &
QR=$!
{w1}{w2}echoscu -aet ECHOSCU -aec STORESCP 127.0.0.1 4242
storescu -aet MODALITY1 -aec STORESCP 127.0.0.1 4242 in/ct1.dcm in/ct2.dcm in/mr1.dcm in/big.dcm
storescu -aet MODALITY1 -aec QRSCP 127.0.0.1 11112 in/ct1.dcm in/ct2.dcm
findscu -S -aet FINDSCU -aec QRSCP -k QueryRetrieveLevel=STUDY -k StudyInstanceUID -k PatientName 127.0.0.1 11112 > find.log 2>&1
movescu -S -aet MOVESCU -aec QRSCP -aem STORESCP -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=1.2.826.0.1.3680043.10.999.1000 127.0.0.1 11112 > move.log 2>&1
if echoscu -aet ECHOSCU -aec WRONGAE 127.0.0.1 11112 > reject.log 2>&1; then echo "expected a rejection"; exit 1; fi
echoscu --abort -aet ABORTER -aec STORESCP 127.0.0.1 4242
sleep 0.3
kill $SCP $QR || true
wait $SCP $QR 2>/dev/null || true
{stop}"#,
        cap = start_capture("cap.pcap"),
        w1 = wait_port(4242),
        w2 = wait_port(11112),
        stop = stop_capture("cap.pcap")
    );
    run_lab(&dir, &script);
    let pcap = dir.join("cap.pcap");
    let eve = wardwatch(&pcap);

    // (a) What was sent.
    let echo = association(&eve, "ECHOSCU", "STORESCP");
    assert_eq!(
        (echo["outcome"].as_str(), echo["termination"].as_str()),
        (Some("accepted"), Some("release"))
    );
    assert_eq!(echo["commands"]["C-ECHO-RQ"], 1);
    assert_eq!(echo["commands"]["C-ECHO-RSP"], 1);
    assert!(echo["request"]["implementation_version_name"]
        .as_str()
        .unwrap()
        .starts_with("OFFIS_DCMTK"));
    let store = association(&eve, "MODALITY1", "STORESCP");
    assert_eq!(store["commands"]["C-STORE-RQ"], 4);
    assert_eq!(store["status_classes"]["success"], 4);
    let st = stores_of(&eve, port_of(&eve, "MODALITY1", "STORESCP"));
    let insts: Vec<&str> = st
        .iter()
        .map(|d| str_of(&d["affected_sop_instance_uid"]))
        .collect();
    assert_eq!(
        insts,
        [
            "1.2.826.0.1.3680043.10.999.1",
            "1.2.826.0.1.3680043.10.999.2",
            "1.2.826.0.1.3680043.10.999.3",
            "1.2.826.0.1.3680043.10.999.4"
        ]
    );
    check_store_dataset(st[0], "CT", CT_STORAGE);
    check_store_dataset(st[2], "MR", MR_STORAGE);
    check_store_dataset(st[3], "CT", CT_STORAGE);
    assert!(
        st[3]["dataset"]["bytes"].as_u64().unwrap() > 12 << 20,
        "the large object's data set size"
    );
    let segs = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .arg("-Y")
        .arg(format!(
            "tcp.len > 0 && tcp.srcport == {}",
            port_of(&eve, "MODALITY1", "STORESCP")
        ))
        .output()
        .unwrap();
    let segs = String::from_utf8_lossy(&segs.stdout).lines().count();
    assert!(
        segs >= 200,
        "the C-STORE association spans only {segs} segments"
    );
    let rsps: Vec<&Value> = dicom_events(&eve, "command")
        .into_iter()
        .map(|e| &e["dicom"])
        .filter(|d| d["command"] == "C-STORE-RSP")
        .collect();
    assert!(rsps
        .iter()
        .all(|d| d["latency_ms"].as_f64().is_some() && d["status_class"] == "success"));
    let find = association(&eve, "FINDSCU", "QRSCP");
    assert_eq!(find["commands"]["C-FIND-RQ"], 1);
    assert_eq!(find["status_classes"]["success"], 1);
    let mv = dicom_events(&eve, "command")
        .into_iter()
        .map(|e| &e["dicom"])
        .find(|d| d["command"] == "C-MOVE-RQ")
        .unwrap();
    assert_eq!(mv["move_destination"], "STORESCP");
    let mv_final = dicom_events(&eve, "command")
        .into_iter()
        .map(|e| &e["dicom"])
        .rfind(|d| d["command"] == "C-MOVE-RSP" && d["status_class"] != "pending")
        .unwrap()
        .clone();
    assert_eq!(
        (
            mv_final["status_class"].as_str(),
            mv_final["completed_suboperations"].as_u64()
        ),
        (Some("success"), Some(2))
    );
    let sub = association(&eve, "QRSCP", "STORESCP");
    assert_eq!(sub["commands"]["C-STORE-RQ"], 2, "C-MOVE sub-operations");
    let rj = association(&eve, "ECHOSCU", "WRONGAE");
    assert_eq!(rj["outcome"], "rejected");
    assert_eq!(
        (
            rj["reject"]["result"].as_u64(),
            rj["reject"]["source"].as_u64(),
            rj["reject"]["reason"].as_u64()
        ),
        (Some(1), Some(1), Some(7))
    );
    let ab = association(&eve, "ABORTER", "STORESCP");
    assert_eq!(ab["termination"], "abort");
    assert_eq!(ab["abort"]["sent_by"], "requestor");
    // DICOM found on 4242 (no port hint) and 11112.
    assert!(eve
        .iter()
        .filter(|e| e["event_type"] == "dicom")
        .all(|e| e["app_proto"] == "dicom"));
    assert!(eve
        .iter()
        .any(|e| e["event_type"] == "dicom" && e["dest_port"] == 4242));

    // (b) tshark on the same capture.
    compare_with_tshark(&dir, &pcap, &[4242, 11112], &eve);
    cleanup(&dir);
}

#[test]
fn pynetdicom_store_find_move_identity_reject_abort_match_tshark() {
    // pynetdicom SCU and SCPs: echo, stores (one large), find, move to a second SCP, a
    // cleartext user identity (flagged, secret never written), a rejection and an abort.
    let Some(py) = prerequisites(&[]) else { return };
    let dir = lab_dir("dicom-pynetdicom", &py);
    let py = py.display();
    let script = format!(
        r#"{cap}{py} pyscp.py 4243 4244 > pyscp.log 2>&1 &
SCP=$!
{w1}{w2}{py} pyscu.py 4243 in/ct1.dcm in/mr1.dcm in/big.dcm > pyscu.log 2>&1 || {{ cat pyscu.log pyscp.log; exit 1; }}
sleep 0.5
kill $SCP || true
wait $SCP 2>/dev/null || true
{stop}"#,
        cap = start_capture("cap.pcap"),
        w1 = wait_port(4243),
        w2 = wait_port(4244),
        stop = stop_capture("cap.pcap")
    );
    run_lab(&dir, &script);
    let pcap = dir.join("cap.pcap");
    let eve = wardwatch(&pcap);
    let text: String = eve.iter().map(|e| e.to_string()).collect();
    assert!(
        !text.contains("alice") && !text.contains("s3cret-pass"),
        "user identity secret written"
    );

    let main = association(&eve, "PYSCU", "PYSCP");
    let ui = &main["request"]["user_identity"];
    assert_eq!(
        (ui["type"].as_u64(), ui["response_requested"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(
        (
            ui["primary_field_present"].as_bool(),
            ui["secondary_field_present"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert!(eve.iter().any(|e| e["event_type"] == "anomaly"
        && e["anomaly"]["event"] == "cleartext_credentials"
        && e["dest_port"] == 4243));
    assert_eq!(main["commands"]["C-STORE-RQ"], 3);
    assert_eq!(main["commands"]["C-FIND-RSP"], 3);
    assert_eq!(
        main["status_classes"]["pending"].as_u64().unwrap(),
        2 + 3,
        "2 pending finds, 3 pending moves"
    );
    assert_eq!(main["termination"], "release");
    let st = stores_of(&eve, port_of(&eve, "PYSCU", "PYSCP"));
    check_store_dataset(st[0], "CT", CT_STORAGE);
    check_store_dataset(st[1], "MR", MR_STORAGE);
    check_store_dataset(st[2], "CT", CT_STORAGE);
    let mv = dicom_events(&eve, "command")
        .into_iter()
        .map(|e| &e["dicom"])
        .find(|d| d["command"] == "C-MOVE-RQ")
        .unwrap();
    assert_eq!(mv["move_destination"], "PYSTORE");
    let sub = association(&eve, "PYSCP", "PYSTORE");
    assert_eq!(sub["commands"]["C-STORE-RQ"], 3);
    let rj = association(&eve, "PYSCU", "WRONGAE");
    assert_eq!(
        rj["reject"]["reason_name"],
        "called_ae_title_not_recognized"
    );
    let ab: Vec<&Value> = dicom_events(&eve, "association")
        .into_iter()
        .map(|e| &e["dicom"])
        .filter(|d| d["termination"] == "abort")
        .collect();
    assert_eq!(ab.len(), 1);
    assert_eq!(ab[0]["abort"]["sent_by"], "requestor");

    compare_with_tshark(&dir, &pcap, &[4243, 4244], &eve);
    cleanup(&dir);
}
