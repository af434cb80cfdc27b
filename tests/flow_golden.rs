//! Flow tracking against Wireshark's tshark on public captures, and reviewed snapshots of
//! the whole EVE output. Regenerate snapshots after a reviewed change with
//! `WARDWATCH_BLESS=1 cargo test --test flow_golden`.

mod common;
use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// Captures without IP fragments: conversations must equal `tshark -z conv` exactly.
const CONV_FILES: &[&str] = &[
    "flow/android.pcap",
    "flow/http_ipv6.pcap",
    "flow/dns.pcap",
    "flow/tcp_scan.pcapng",
    "flow/tcp-handshake-nano.pcap",
    "flow/telnet-auth-missing-name.pcap",
    "flow/tcp-syslog.pcap",
    "scenarios/synthetic_philips_demo.pcap",
];
/// Captures with IPv4/IPv6 fragments.
const FRAG_FILES: &[&str] = &["flow/dns_fragmented.pcap", "flow/ipv6-fragmented-dns.pcap"];

#[derive(Debug, Clone, PartialEq)]
struct Conv {
    proto: String,
    a: (String, u16),
    b: (String, u16),
    /// frames, bytes from A to B and from B to A; bytes are `None` when tshark printed
    /// them rounded (kB, MB), with the rounded value kept for a tolerance check.
    ab: (u64, u64, &'static str),
    ba: (u64, u64, &'static str),
}

fn unit(u: &str) -> &'static str {
    match u {
        "bytes" => "bytes",
        "kB" => "kB",
        "MB" => "MB",
        _ => "?",
    }
}

fn split_ep(s: &str) -> (String, u16) {
    let (a, p) = s.rsplit_once(':').unwrap();
    (a.to_string(), p.parse().unwrap())
}

/// Parses `tshark -q -z conv,tcp -z conv,udp`.
fn tshark_conv(file: &Path) -> Vec<Conv> {
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(file)
        .args(["-q", "-z", "conv,tcp", "-z", "conv,udp"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut proto = "";
    let mut v = vec![];
    for line in text.lines() {
        if line.starts_with("TCP Conversations") {
            proto = "TCP";
        } else if line.starts_with("UDP Conversations") {
            proto = "UDP";
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() >= 9 && t[1] == "<->" {
            v.push(Conv {
                proto: proto.into(),
                a: split_ep(t[0]),
                b: split_ep(t[2]),
                ba: (t[3].parse().unwrap(), t[4].parse().unwrap(), unit(t[5])),
                ab: (t[6].parse().unwrap(), t[7].parse().unwrap(), unit(t[8])),
            });
        }
    }
    v
}

fn bytes_match(ours: u64, theirs: u64, unit: &str) -> bool {
    match unit {
        "bytes" => ours == theirs,
        // tshark rounds to a unit; accept anything that rounds to the printed figure.
        "kB" => (ours as f64 / 1e3 - theirs as f64).abs() <= 1.0,
        "MB" => (ours as f64 / 1e6 - theirs as f64).abs() <= 1.0,
        _ => false,
    }
}

/// An endpoint and per-direction (packets, bytes).
type Ep = (String, u16);
type Counts = (u64, u64);
/// (proto, src, dst, to server, to client).
type FlowRow = (String, Ep, Ep, Counts, Counts);
/// tshark stream: (A, B, A->B, B->A).
type StreamRow = (Ep, Ep, Counts, Counts);

/// Our TCP/UDP flows as (proto, src, dst, pkts/bytes to server, to client).
fn our_flows(v: &[Value]) -> Vec<FlowRow> {
    v.iter()
        .filter(|e| e["event_type"] == "flow" && (e["proto"] == "TCP" || e["proto"] == "UDP"))
        .map(|e| {
            let f = &e["flow"];
            (
                e["proto"].as_str().unwrap().to_string(),
                (
                    e["src_ip"].as_str().unwrap().to_string(),
                    e["src_port"].as_u64().unwrap() as u16,
                ),
                (
                    e["dest_ip"].as_str().unwrap().to_string(),
                    e["dest_port"].as_u64().unwrap() as u16,
                ),
                (
                    f["pkts_toserver"].as_u64().unwrap(),
                    f["bytes_toserver"].as_u64().unwrap(),
                ),
                (
                    f["pkts_toclient"].as_u64().unwrap(),
                    f["bytes_toclient"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

fn have_tshark() -> bool {
    testkit::peers::require_tool("tshark").is_some()
}

#[test]
fn flow_conversations_match_tshark_conv() {
    // Every TCP and UDP conversation tshark reports has a flow with the same packets and
    // bytes per direction, and there are no other TCP/UDP flows.
    if !have_tshark() {
        return;
    }
    let dir = tempdir("conv");
    let cfg = long_timeouts_config(&dir, 1);
    for rel in CONV_FILES {
        let file = pcap(rel);
        let run = replay(Some(&cfg), std::slice::from_ref(&file));
        assert_eq!(run.code, 0, "{rel}: {}", run.stderr);
        let mut ours = our_flows(&run.events());
        let theirs = tshark_conv(&file);
        assert!(!theirs.is_empty(), "{rel}: tshark found no conversations");
        for c in &theirs {
            let pos = ours.iter().position(|(p, s, d, ts, tc)| {
                let (ab, ba) = if *s == c.a && *d == c.b {
                    (ts, tc)
                } else if *s == c.b && *d == c.a {
                    (tc, ts)
                } else {
                    return false;
                };
                *p == c.proto
                    && ab.0 == c.ab.0
                    && ba.0 == c.ba.0
                    && bytes_match(ab.1, c.ab.1, c.ab.2)
                    && bytes_match(ba.1, c.ba.1, c.ba.2)
            });
            match pos {
                Some(i) => {
                    ours.remove(i);
                }
                None => panic!(
                    "{rel}: no flow matches tshark's {c:?}\nours: {:?}",
                    our_flows(&run.events())
                ),
            }
        }
        assert!(
            ours.is_empty(),
            "{rel}: flows tshark does not report: {ours:?}"
        );
    }
}

/// Per-stream frames and bytes from tshark's per-packet fields, with every IP fragment
/// frame counted in the stream its datagram was reassembled into.
fn tshark_streams_with_fragments(file: &Path) -> Vec<StreamRow> {
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(file)
        .args(["-2", "-T", "fields", "-E", "occurrence=l"])
        .args([
            "-e",
            "frame.number",
            "-e",
            "frame.len",
            "-e",
            "ip.reassembled_in",
            "-e",
            "ipv6.reassembled.in",
        ])
        .args([
            "-e",
            "udp.stream",
            "-e",
            "tcp.stream",
            "-e",
            "ip.src",
            "-e",
            "ipv6.src",
            "-e",
            "ip.dst",
            "-e",
            "ipv6.dst",
        ])
        .args([
            "-e",
            "udp.srcport",
            "-e",
            "tcp.srcport",
            "-e",
            "udp.dstport",
            "-e",
            "tcp.dstport",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // frame -> (stream key, src endpoint); stream key = "u<id>" or "t<id>".
    let mut frame_stream: HashMap<u64, (String, Ep, Ep)> = HashMap::new();
    let mut later: Vec<(u64, u64)> = vec![]; // (reassembled_in, len)
    let mut lens: Vec<(u64, u64)> = vec![];
    for line in text.lines() {
        let c: Vec<&str> = line.split('\t').collect();
        let num: u64 = c[0].parse().unwrap();
        let len: u64 = c[1].parse().unwrap();
        let reasm = if !c[2].is_empty() { c[2] } else { c[3] };
        let stream = if !c[4].is_empty() {
            format!("u{}", c[4])
        } else if !c[5].is_empty() {
            format!("t{}", c[5])
        } else {
            String::new()
        };
        if !stream.is_empty() {
            let src = if !c[7].is_empty() { c[7] } else { c[6] };
            let dst = if !c[9].is_empty() { c[9] } else { c[8] };
            let sp = if !c[10].is_empty() { c[10] } else { c[11] };
            let dp = if !c[12].is_empty() { c[12] } else { c[13] };
            frame_stream.insert(
                num,
                (
                    stream,
                    (src.into(), sp.parse().unwrap()),
                    (dst.into(), dp.parse().unwrap()),
                ),
            );
            lens.push((num, len));
        } else if !reasm.is_empty() {
            later.push((reasm.parse().unwrap(), len));
        }
    }
    let mut streams: Vec<(String, Ep, Ep, Counts, Counts)> = vec![];
    let mut add = |f: u64, len: u64| {
        let Some((key, s, d)) = frame_stream.get(&f).cloned() else {
            return;
        };
        let st = match streams.iter_mut().find(|x| x.0 == key) {
            Some(x) => x,
            None => {
                streams.push((key.clone(), s.clone(), d.clone(), (0, 0), (0, 0)));
                streams.last_mut().unwrap()
            }
        };
        let dir = if st.1 == s { &mut st.3 } else { &mut st.4 };
        dir.0 += 1;
        dir.1 += len;
    };
    for (f, len) in lens {
        add(f, len);
    }
    for (f, len) in later {
        add(f, len);
    }
    streams
        .into_iter()
        .map(|(_, a, b, ab, ba)| (a, b, ab, ba))
        .collect()
}

#[test]
fn flow_fragmented_datagrams_count_every_fragment_frame() {
    // With IP fragments, a flow counts every fragment frame and its wire bytes: tshark's
    // per-packet view (fragments attributed to their reassembled datagram) must agree.
    if !have_tshark() {
        return;
    }
    let dir = tempdir("frag");
    let cfg = long_timeouts_config(&dir, 1);
    for rel in FRAG_FILES {
        let file = pcap(rel);
        let run = replay(Some(&cfg), std::slice::from_ref(&file));
        assert_eq!(run.code, 0);
        let mut ours = our_flows(&run.events());
        let theirs = tshark_streams_with_fragments(&file);
        assert!(!theirs.is_empty());
        for (a, b, ab, ba) in &theirs {
            let pos = ours.iter().position(|(_, s, d, ts, tc)| {
                (s == a && d == b && ts == ab && tc == ba)
                    || (s == b && d == a && ts == ba && tc == ab)
            });
            match pos {
                Some(i) => {
                    ours.remove(i);
                }
                None => panic!(
                    "{rel}: no flow matches tshark stream {a:?} {b:?} {ab:?} {ba:?}\nours: {:?}",
                    our_flows(&run.events())
                ),
            }
        }
        assert!(ours.is_empty(), "{rel}: extra flows {ours:?}");
        assert!(run.stderr.contains("packets:"), "{}", run.stderr);
    }
}

#[test]
fn flow_eve_output_matches_reviewed_snapshots() {
    // The whole EVE output of each golden capture equals its reviewed snapshot.
    let dir = tempdir("snap");
    let cfg = long_timeouts_config(&dir, 1);
    let bless = std::env::var_os("WARDWATCH_BLESS").is_some();
    for rel in CONV_FILES.iter().chain(FRAG_FILES) {
        let run = replay(Some(&cfg), &[pcap(rel)]);
        assert_eq!(run.code, 0);
        let name = rel.replace('/', "__");
        let snap = root()
            .join("tests/snapshots/flow")
            .join(format!("{name}.eve.jsonl"));
        if bless {
            std::fs::write(&snap, run.packet_eve()).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&snap).unwrap_or_else(|_| {
            panic!(
                "missing snapshot {}; run with WARDWATCH_BLESS=1 and review",
                snap.display()
            )
        });
        let eve = run.packet_eve();
        if want != eve {
            let diff: Vec<_> = want
                .lines()
                .zip(eve.lines())
                .filter(|(a, b)| a != b)
                .take(2)
                .collect();
            panic!(
                "{rel}: EVE differs from {} ({} vs {} lines); first differences: {diff:#?}",
                snap.display(),
                want.lines().count(),
                eve.lines().count()
            );
        }
    }
}

#[test]
fn flow_output_is_the_same_for_one_and_two_workers() {
    // Sharding over workers changes the order of lines, never their content.
    let dir = tempdir("workers");
    let one = long_timeouts_config(&dir, 1);
    let two = long_timeouts_config(&dir, 2);
    for rel in CONV_FILES.iter().chain(FRAG_FILES) {
        let mut a: Vec<String> = replay(Some(&one), &[pcap(rel)])
            .packet_eve()
            .lines()
            .map(String::from)
            .collect();
        let mut b: Vec<String> = replay(Some(&two), &[pcap(rel)])
            .packet_eve()
            .lines()
            .map(String::from)
            .collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{rel}");
    }
}

#[test]
fn flow_replay_is_deterministic_with_default_timeouts() {
    // Capture time drives every timer: two replays give byte-identical output, and flow
    // ids are the same across runs.
    let files: Vec<_> = CONV_FILES.iter().map(|r| pcap(r)).collect();
    let a = replay(None, &files);
    let b = replay(None, &files);
    assert_eq!(a.code, 0);
    let (ea, eb) = (a.packet_eve(), b.packet_eve());
    let mut la: Vec<_> = ea.lines().collect();
    let mut lb: Vec<_> = eb.lines().collect();
    la.sort();
    lb.sort();
    assert_eq!(la, lb);
    assert!(a.flows().len() > 50);
}

#[test]
fn flow_several_files_are_read_in_timestamp_order() {
    // Two files given together give the same flows as each file alone (different hosts).
    let dir = tempdir("multi");
    let cfg = long_timeouts_config(&dir, 1);
    let f1 = pcap("flow/dns.pcap");
    let f2 = pcap("flow/tcp_scan.pcapng");
    let both = replay(Some(&cfg), &[f1.clone(), f2.clone()]);
    let (e1, e2) = (
        replay(Some(&cfg), &[f1]).packet_eve(),
        replay(Some(&cfg), &[f2]).packet_eve(),
    );
    let mut sep: Vec<String> = e1
        .lines()
        .chain(e2.lines())
        .map(|l| {
            // in_iface names the first file of a run; drop it for the comparison.
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("in_iface");
            v.to_string()
        })
        .collect();
    let mut joined: Vec<String> = both
        .packet_eve()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("in_iface");
            v.to_string()
        })
        .collect();
    sep.sort();
    joined.sort();
    assert_eq!(sep, joined);
}
