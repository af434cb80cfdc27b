//! Live capture on a veth pair inside a network namespace the test creates: known traffic
//! is replayed into one end, wardwatch captures on the other with one libpcap handle and
//! with PACKET_FANOUT over two workers; both must see the same flows as the traffic that
//! was sent, and the capture interface must transmit nothing.

mod common;
use common::*;
use serde_json::Value;
use std::net::Ipv4Addr;
use std::path::Path;
use testkit::netns;
use testkit::pcap::{udp_frame, PcapWriter, TcpConv, ACK, LINKTYPE_ETHERNET, PSH};

/// Writes the traffic to send: TCP connections with data both ways and UDP exchanges,
/// all between loopback addresses (they never leave the namespace).
fn traffic(path: &Path) -> Vec<FlowRow> {
    let mut w = PcapWriter::new(LINKTYPE_ETHERNET);
    let mut t = 1_700_000_000_000_000i64;
    let mut expected = vec![];
    for i in 0..6u16 {
        let c = Ipv4Addr::new(127, 0, 1, 1 + i as u8);
        let s = Ipv4Addr::new(127, 0, 2, 1);
        let mut conv = TcpConv::new((c, 40000 + i), (s, 104), 1000 * u32::from(i), 5000);
        let mut frames = conv.handshake();
        for k in 0..(3 + i as usize) {
            frames.push(conv.seg(true, PSH | ACK, &vec![b'a' + k as u8; 100 + k * 10]));
            frames.push(conv.seg(false, PSH | ACK, b"ok"));
        }
        frames.extend(conv.close());
        let (mut ps, mut pc) = (0u64, 0u64);
        for (k, f) in frames.iter().enumerate() {
            // Handshake, data pairs and close alternate client/server as built above.
            let from_client = match k {
                0 | 2 => true,
                1 => false,
                _ if k >= frames.len() - 3 => (frames.len() - k) != 2,
                _ => (k - 3) % 2 == 0,
            };
            if from_client {
                ps += 1;
            } else {
                pc += 1;
            }
            w.add(t, f);
            t += 1000;
        }
        expected.push((c.to_string(), 40000 + i, s.to_string(), 104, ps, pc));
    }
    for i in 0..4u16 {
        let c = Ipv4Addr::new(127, 0, 3, 1 + i as u8);
        let s = Ipv4Addr::new(127, 0, 2, 53);
        let q = udp_frame(
            [2, 0, 0, 0, 3, 1],
            [2, 0, 0, 0, 2, 53],
            c,
            50000 + i,
            s,
            53,
            b"query",
        );
        let r = udp_frame(
            [2, 0, 0, 0, 2, 53],
            [2, 0, 0, 0, 3, 1],
            s,
            53,
            c,
            50000 + i,
            b"answer!",
        );
        w.add(t, &q);
        w.add(t + 500, &r);
        t += 1000;
        expected.push((c.to_string(), 50000 + i, s.to_string(), 53, 1, 1));
    }
    w.write_to(path).unwrap();
    expected
}

/// Flows seen as (src, sport, dst, dport, packets to server, packets to client).
type FlowRow = (String, u16, String, u16, u64, u64);

fn capture_flows(dir: &Path, mode: &str, workers: usize) -> (Vec<FlowRow>, u64, String) {
    let ww = env!("CARGO_BIN_EXE_wardwatch");
    let script = format!(
        r#"
echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 || true
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 || true
ip link add veth0 type veth peer name veth1
ip link set veth0 up
ip link set veth1 up
sleep 0.3
tx0=$(awk -F'[: ]+' '$2=="veth1" {{print $12}}' /proc/net/dev)
{ww} run -i veth1 --capture {mode} --workers {workers} --eve out-{mode}.json 2> ww-{mode}.log &
P=$!
for i in $(seq 1 200); do grep -q capturing ww-{mode}.log && break; sleep 0.05; done
sleep 0.3
tcpreplay -q -i veth0 --pps=2000 traffic.pcap > /dev/null 2>&1
sleep 0.5
kill -TERM $P
wait $P
tx1=$(awk -F'[: ]+' '$2=="veth1" {{print $12}}' /proc/net/dev)
echo "TX $tx0 $tx1"
"#
    );
    let out = netns::run_script(dir, &script).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let log = std::fs::read_to_string(dir.join(format!("ww-{mode}.log"))).unwrap_or_default();
    assert!(
        out.status.success(),
        "script failed: {stdout}\n{}\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tx: Vec<u64> = stdout
        .lines()
        .find(|l| l.starts_with("TX "))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(|n| n.parse().unwrap())
                .collect()
        })
        .unwrap();
    let eve = std::fs::read_to_string(dir.join(format!("out-{mode}.json"))).unwrap();
    let mut flows: Vec<_> = eve
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event_type"] == "flow")
        .map(|e| {
            (
                e["src_ip"].as_str().unwrap().to_string(),
                e["src_port"].as_u64().unwrap() as u16,
                e["dest_ip"].as_str().unwrap().to_string(),
                e["dest_port"].as_u64().unwrap() as u16,
                e["flow"]["pkts_toserver"].as_u64().unwrap(),
                e["flow"]["pkts_toclient"].as_u64().unwrap(),
            )
        })
        .collect();
    flows.sort();
    (flows, tx[1] - tx[0], log)
}

#[test]
fn live_capture_pcap_and_fanout_see_the_sent_flows() {
    // One libpcap handle and a two-socket fanout group both capture exactly the flows sent.
    if !testkit::peers::require_root() {
        return;
    }
    for tool in ["ip", "unshare", "tcpreplay"] {
        if testkit::peers::require_tool(tool).is_none() {
            return;
        }
    }
    let dir = tempdir("live");
    let mut expected = traffic(&dir.join("traffic.pcap"));
    expected.sort();
    let (single, tx_single, log1) = capture_flows(&dir, "pcap", 1);
    assert_eq!(single, expected, "pcap mode\n{log1}");
    assert_eq!(tx_single, 0, "the capture interface transmitted");
    let (fan, tx_fan, log2) = capture_flows(&dir, "af-packet", 2);
    assert_eq!(fan, expected, "fanout mode\n{log2}");
    assert_eq!(tx_fan, 0, "the capture interface transmitted");
    assert!(
        log2.contains("packets:"),
        "summary printed at shutdown: {log2}"
    );
}
