//! Hostile and broken input through the whole binary: each case is counted under a named
//! reason in the summary, processing goes on, and nothing panics. Missing inputs exit 2.

mod common;
use common::*;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use testkit::pcap::{tcp_frame, udp_frame, PcapWriter, TcpConv, ACK, LINKTYPE_ETHERNET, PSH, SYN};

const A: [u8; 6] = [2, 0, 0, 0, 0, 1];
const B: [u8; 6] = [2, 0, 0, 0, 0, 2];

fn good_pcap() -> Vec<u8> {
    let mut w = PcapWriter::new(LINKTYPE_ETHERNET);
    let mut c = TcpConv::new(
        (Ipv4Addr::new(10, 0, 0, 1), 40000),
        (Ipv4Addr::new(10, 0, 0, 2), 104),
        1,
        2,
    );
    let mut t = 1_000_000;
    for f in c.handshake() {
        w.add(t, &f);
        t += 1;
    }
    w.add(t, &c.seg(true, PSH | ACK, b"hello"));
    w.into_bytes()
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn assert_counted(run: &Run, reason: &str) {
    assert_eq!(run.code, 0, "exit code; stderr: {}", run.stderr);
    assert!(
        run.stderr.contains(reason),
        "summary lacks {reason}:\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn bad_input_truncated_pcap_keeps_earlier_packets() {
    // A file cut mid-record: counted as truncated_file, the complete records still make flows.
    let dir = tempdir("trunc");
    let g = good_pcap();
    let p = write(&dir, "t.pcap", &g[..g.len() - 3]);
    let run = replay(None, &[p]);
    assert_counted(&run, "file.truncated_file");
    assert_eq!(run.flows().len(), 1);
}

#[test]
fn bad_input_wrong_magic_is_counted_and_other_files_go_on() {
    // A non-capture file among good ones: counted as bad_magic, the good file is processed.
    let dir = tempdir("magic");
    let bad = write(
        &dir,
        "bad.pcap",
        b"GIF89a this is an image, not a capture file",
    );
    let good = write(&dir, "good.pcap", &good_pcap());
    let run = replay(None, &[bad, good]);
    assert_counted(&run, "file.bad_magic");
    assert_eq!(run.flows().len(), 1);
}

#[test]
fn bad_input_zero_and_huge_snaplen_and_caplen_over_snaplen() {
    // Header snaplen 0 or 2^31 is odd but harmless; a record longer than the snaplen is
    // counted and still decoded.
    let dir = tempdir("snap");
    for snap in [0u32, 0x8000_0000] {
        let mut g = good_pcap();
        g[16..20].copy_from_slice(&snap.to_le_bytes());
        let run = replay(None, &[write(&dir, &format!("s{snap}.pcap"), &g)]);
        assert_counted(&run, "file.odd_snaplen");
        assert_eq!(run.flows().len(), 1);
    }
    let mut g = good_pcap();
    g[16..20].copy_from_slice(&40u32.to_le_bytes());
    let run = replay(None, &[write(&dir, "small.pcap", &g)]);
    assert_counted(&run, "file.caplen_exceeds_snaplen");
    assert_eq!(run.flows().len(), 1);
}

#[test]
fn bad_input_pcapng_unknown_block_is_skipped() {
    // A pcapng with an unknown block between packets: counted, the packets after it are read.
    let dir = tempdir("ng");
    let frame = udp_frame(
        A,
        B,
        Ipv4Addr::new(10, 0, 0, 1),
        5000,
        Ipv4Addr::new(10, 0, 0, 2),
        53,
        b"q",
    );
    let mut f = vec![];
    let block = |ty: u32, body: &[u8]| {
        let mut b = vec![];
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.extend(std::iter::repeat_n(0u8, pad));
        b.extend_from_slice(&len.to_le_bytes());
        b
    };
    // SHB: byte-order magic, version 1.0, section length -1.
    let mut shb = vec![];
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    f.extend(block(0x0a0d_0d0a, &shb));
    // IDB: Ethernet, snaplen 65535.
    let mut idb = vec![];
    idb.extend_from_slice(&1u16.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&65535u32.to_le_bytes());
    f.extend(block(1, &idb));
    let epb = |ts: u64| {
        let mut e = vec![];
        e.extend_from_slice(&0u32.to_le_bytes());
        e.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        e.extend_from_slice(&(ts as u32).to_le_bytes());
        e.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        e.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        e.extend_from_slice(&frame);
        block(6, &e)
    };
    f.extend(epb(1_000_000));
    f.extend(block(0x0000_0999, b"unknown block body"));
    f.extend(epb(2_000_000));
    let run = replay(None, &[write(&dir, "u.pcapng", &f)]);
    assert_counted(&run, "file.unknown_block");
    assert!(run.stderr.contains("packets:      2"), "{}", run.stderr);
}

#[test]
fn bad_input_fragments_overlapping_and_never_completing() {
    // Overlapping fragments with different bytes and a datagram that never completes.
    let dir = tempdir("frag");
    let mut w = PcapWriter::new(LINKTYPE_ETHERNET);
    let full = udp_frame(
        A,
        B,
        Ipv4Addr::new(10, 0, 0, 1),
        5000,
        Ipv4Addr::new(10, 0, 0, 2),
        53,
        &[7u8; 64],
    );
    let frag = |id: u16, off8: u16, more: bool, body: &[u8]| {
        let mut f = full[..34].to_vec();
        f[16..18].copy_from_slice(&((20 + body.len()) as u16).to_be_bytes());
        f[18..20].copy_from_slice(&id.to_be_bytes());
        f[20..22].copy_from_slice(&(off8 | if more { 0x2000 } else { 0 }).to_be_bytes());
        f.extend_from_slice(body);
        f
    };
    let body = &full[34..];
    w.add(1, &frag(1, 0, true, &body[..32]));
    let mut evil = body[..32].to_vec();
    evil[20] ^= 0xff;
    w.add(2, &frag(1, 0, true, &evil));
    w.add(3, &frag(1, 4, false, &body[32..]));
    w.add(4, &frag(2, 0, true, &body[..32])); // never completed
    let run = replay(None, &[write(&dir, "f.pcap", &w.into_bytes())]);
    assert_counted(&run, "decode.frag_overlap");
    assert_counted(&run, "decode.frag_incomplete");
    assert_eq!(
        run.flows().len(),
        1,
        "the overlapping datagram still completes: {}",
        run.eve
    );
}

#[test]
fn bad_input_tcp_nonsense_options_counted() {
    // A SYN whose option length runs past the header is counted; the flow is still tracked.
    let dir = tempdir("opts");
    let mut f = tcp_frame(
        A,
        B,
        Ipv4Addr::new(10, 0, 0, 1),
        1,
        Ipv4Addr::new(10, 0, 0, 2),
        2,
        9,
        0,
        SYN,
        b"",
    );
    // Grow the TCP header to 24 bytes with an MSS option claiming length 9.
    f.splice(54..54, [2u8, 9, 5, 0xb4]);
    f[46] = 6 << 4;
    let ip_len = (f.len() - 14) as u16;
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    let mut w = PcapWriter::new(LINKTYPE_ETHERNET);
    w.add(1, &f);
    let run = replay(None, &[write(&dir, "o.pcap", &w.into_bytes())]);
    assert_counted(&run, "decode.tcp_bad_options");
    assert_eq!(run.flows().len(), 1);
}

#[test]
fn bad_input_garbage_frames_are_counted_by_reason() {
    // Short and malformed frames are counted under decode reasons, never fatal.
    let dir = tempdir("garbage");
    let mut w = PcapWriter::new(LINKTYPE_ETHERNET);
    w.add(1, &[1, 2, 3]);
    let good = tcp_frame(
        A,
        B,
        Ipv4Addr::new(10, 0, 0, 1),
        1,
        Ipv4Addr::new(10, 0, 0, 2),
        2,
        9,
        0,
        SYN,
        b"",
    );
    w.add(2, &good[..30]);
    let mut bad_ihl = good.clone();
    bad_ihl[14] = 0x41;
    w.add(3, &bad_ihl);
    w.add(4, &good);
    let run = replay(None, &[write(&dir, "g.pcap", &w.into_bytes())]);
    assert_counted(&run, "decode.truncated_ethernet");
    assert_counted(&run, "decode.truncated_ip");
    assert_eq!(run.flows().len(), 1);
}

#[test]
fn cli_missing_file_is_one_line_and_exit_2() {
    // A missing capture file: one line on stderr, exit code 2.
    let run = replay(None, &[PathBuf::from("/nonexistent/capture.pcap")]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("/nonexistent/capture.pcap"));
}

#[test]
fn cli_missing_interface_is_one_line_and_exit_2() {
    // A missing interface: one line on stderr, exit code 2.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["run", "--interface", "ww-no-such-if0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("ww-no-such-if0"));
}

#[test]
fn cli_help_reads_well() {
    // --help names both subcommands with their purpose.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .arg("--help")
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        s.contains("replay") && s.contains("run") && s.contains("capture files"),
        "{s}"
    );
}

#[test]
fn bad_input_garbage_on_a_hinted_port_is_a_named_anomaly() {
    // Binary garbage to the HL7 and DICOM ports: no analyzer claims it, and the flow gets
    // a `not_detected_on_hinted_port` anomaly naming the analyzer the port suggested.
    let dir = tempdir("hinted");
    let mut w = PcapWriter::new(LINKTYPE_ETHERNET);
    let mut t = 1_000_000;
    for port in [2575u16, 104] {
        let mut c = TcpConv::new(
            (Ipv4Addr::new(10, 0, 0, 1), 40000),
            (Ipv4Addr::new(10, 0, 0, 2), port),
            1,
            2,
        );
        for f in c.handshake() {
            w.add(t, &f);
            t += 1;
        }
        let garbage: Vec<u8> = (0..600u32).map(|i| (i * 7919 % 251) as u8 | 0x80).collect();
        w.add(t, &c.seg(true, PSH | ACK, &garbage));
        t += 1;
        for f in c.close() {
            w.add(t, &f);
            t += 1;
        }
    }
    let run = replay(None, &[write(&dir, "g.pcap", &w.into_bytes())]);
    assert_eq!(run.code, 0);
    let an: Vec<_> = run
        .events()
        .into_iter()
        .filter(|e| {
            e["event_type"] == "anomaly" && e["anomaly"]["event"] == "not_detected_on_hinted_port"
        })
        .map(|e| {
            (
                e["dest_port"].as_u64().unwrap(),
                e["anomaly"]["app_proto"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        an.contains(&(2575, "hl7".to_string())),
        "{an:?}\n{}",
        run.eve
    );
    assert!(an.contains(&(104, "dicom".to_string())), "{an:?}");
    assert!(
        run.stderr.contains("hl7.not_detected_on_hinted_port"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_input_link_layer_overruns_are_named_anomalies() {
    // An LLDP TLV running past the frame, a CDP TLV shorter than its header and a cut ARP
    // packet: each counted by name, the LLDP and CDP partial results still reported, and
    // the TCP segment after them still tracked (its SYN signature flags the bad option).
    let dir = tempdir("l2");
    let mut w = PcapWriter::new(LINKTYPE_ETHERNET);
    let mut lldp = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e, 2, 0, 0, 0, 0, 1, 0x88, 0xcc];
    lldp.extend_from_slice(&[0x02, 0x07, 0x04, 2, 0, 0, 0, 0, 1]); // chassis id: MAC
    lldp.extend_from_slice(&[0x04, 0x02, 0x07, b'1', 0x06, 0x02, 0x00, 0x78]); // port, TTL
    lldp.extend_from_slice(&[0x0b, 0xff, b'x']); // system name claiming 511 bytes
    w.add(1, &lldp);
    let mut cdp = vec![
        0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc, 2, 0, 0, 0, 0, 2, 0x00, 0x14,
    ];
    cdp.extend_from_slice(&[0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00]); // LLC/SNAP
    cdp.extend_from_slice(&[0x02, 0xb4, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, b'S', b'W']);
    cdp.extend_from_slice(&[0x00, 0x06, 0x00, 0x02]); // platform TLV of length 2
    w.add(2, &cdp);
    let arp = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 3, 0x08, 0x06, 0, 1, 8, 0, 6, 4,
    ];
    w.add(3, &arp);
    let mut syn = tcp_frame(
        A,
        B,
        Ipv4Addr::new(10, 0, 0, 1),
        1,
        Ipv4Addr::new(10, 0, 0, 2),
        2,
        9,
        0,
        SYN,
        b"",
    );
    syn.splice(54..54, [2u8, 9, 5, 0xb4]); // MSS option claiming length 9
    syn[46] = 6 << 4;
    let ip_len = (syn.len() - 14) as u16;
    syn[16..18].copy_from_slice(&ip_len.to_be_bytes());
    w.add(4, &syn);
    let run = replay(None, &[write(&dir, "l2.pcap", &w.into_bytes())]);
    assert_counted(&run, "lldp.truncated_tlv");
    assert_counted(&run, "cdp.truncated_tlv");
    // The decoder already refuses the cut ARP packet (etherparse reads ARP too).
    assert_counted(&run, "decode.malformed_arp");
    let ev = run.events();
    let lldp = ev.iter().find(|e| e["event_type"] == "lldp").unwrap();
    assert_eq!(lldp["lldp"]["truncated"], true);
    assert_eq!(lldp["lldp"]["ttl"], 120);
    let cdp = ev.iter().find(|e| e["event_type"] == "cdp").unwrap();
    assert_eq!(cdp["cdp"]["device_id"], "SW");
    assert_eq!(cdp["cdp"]["truncated"], true);
    assert!(!ev.iter().any(|e| e["event_type"] == "arp"));
    let flows = run.flows();
    assert_eq!(flows.len(), 1);
    let sig = flows[0]["flow"]["tcp"]["syn_signature"].as_str().unwrap();
    assert!(sig.contains("bad"), "{sig}");
}
