//! Property tests on the whole worker path (decode, defrag, flow table, reassembly,
//! analyzers): arbitrary or mutated frames never panic, and tables stay within caps.

use capture::decode::LinkType;
use model::Timestamp;
use proptest::prelude::*;
use std::net::Ipv4Addr;
use std::sync::Arc;
use testkit::pcap::{udp_frame, TcpConv, ACK, PSH};
use wardwatch::worker::Worker;
use wardwatch::Config;

fn worker(max_flows: usize) -> Worker {
    let mut c = Config::default();
    c.flow.max_flows = max_flows;
    c.stream.bypass_unknown = false;
    Worker::new(Arc::new(c), 1, Arc::from("prop"))
}

/// A realistic conversation to mutate: handshake, DICOM- and HL7-looking payloads, close.
fn conversation() -> Vec<Vec<u8>> {
    let mut c = TcpConv::new(
        (Ipv4Addr::new(10, 0, 0, 1), 40000),
        (Ipv4Addr::new(10, 0, 0, 2), 104),
        7,
        9,
    );
    let mut v = c.handshake();
    let mut assoc = vec![0x01, 0x00, 0, 0, 0, 0x44, 0x00, 0x01, 0x00, 0x00];
    assoc.extend_from_slice(b"CALLED          CALLING         ");
    assoc.extend_from_slice(&[0u8; 32]);
    v.push(c.seg(true, PSH | ACK, &assoc));
    v.push(c.seg(
        true,
        PSH | ACK,
        b"\x0bMSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||123\r\x1c\r",
    ));
    v.push(c.seg(
        false,
        PSH | ACK,
        b"\x0bMSH|^~\\&|C|D|A|B|20240101||ACK|2|P|2.5\rMSA|AA|1\r\x1c\r",
    ));
    v.extend(c.close());
    v.push(udp_frame(
        [2; 6],
        [4; 6],
        Ipv4Addr::new(10, 0, 0, 3),
        68,
        Ipv4Addr::new(10, 0, 0, 4),
        67,
        b"dhcp?",
    ));
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn frames_of_arbitrary_bytes_never_panic(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..40),
        lt in prop_oneof![Just(0u32), Just(1), Just(101), Just(108), Just(113), Just(276), Just(12)],
    ) {
        // Whatever the bytes and link type, the worker counts and moves on.
        let mut w = worker(64);
        for (i, f) in frames.iter().enumerate() {
            w.packet(Timestamp(i as i64 * 1000), LinkType(lt), f, f.len() as u32, 1);
        }
        w.tick(Timestamp(10_000_000_000));
        w.finish();
        let _ = w.take_events();
    }

    #[test]
    fn mutated_conversations_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<usize>(), any::<u8>()), 0..30),
        cuts in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..5),
        order in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        // Byte flips, truncations and reordering of a valid conversation never panic.
        let mut frames = conversation();
        for (fi, bi, x) in flips {
            let n = frames.len();
            let f = &mut frames[fi % n];
            if !f.is_empty() {
                let l = f.len();
                f[bi % l] ^= x;
            }
        }
        for (fi, len) in cuts {
            let n = frames.len();
            let f = &mut frames[fi % n];
            let l = f.len();
            f.truncate(len % (l + 1));
        }
        for (k, s) in order.iter().enumerate() {
            let n = frames.len();
            frames.swap(k % n, s % n);
        }
        let mut w = worker(16);
        for (i, f) in frames.iter().enumerate() {
            w.packet(Timestamp(i as i64 * 1000), LinkType::ETHERNET, f, f.len() as u32, 1);
        }
        w.finish();
        let _ = w.take_events();
    }

    #[test]
    fn worker_flow_table_never_exceeds_cap(ports in proptest::collection::vec(1u16..2000, 1..300), cap in 1usize..20) {
        // However many distinct flows arrive, the worker tracks at most its cap.
        let mut w = worker(cap);
        for (i, p) in ports.iter().enumerate() {
            let f = udp_frame([2; 6], [4; 6], Ipv4Addr::new(10, 0, 0, 1), *p, Ipv4Addr::new(10, 0, 0, 2), 53, b"x");
            w.packet(Timestamp(i as i64), LinkType::ETHERNET, &f, f.len() as u32, 1);
            prop_assert!(w.active_flows() <= cap);
        }
        w.finish();
        let s = w.stats();
        prop_assert_eq!(s.flows_created, s.flows_ended);
    }
}
