//! A direct writer for `flow` events, the most frequent line wardwatch writes (one per
//! flow). It produces byte for byte what the serde path produces (a property test compares
//! the two on arbitrary flows) without serde's map machinery and string-escape scans; any
//! field that would need escaping (sensor or interface names with quotes, backslashes or
//! control bytes) sends the event back to the serde path.

use crate::event::{FlowRecord, StreamRecord, TcpRecord};
use crate::flow::{FlowMeta, IpProto};
use crate::time::Timestamp;
use std::io::Write;

fn plain(s: &str) -> bool {
    s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
}

fn num(out: &mut Vec<u8>, n: u64) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(n).as_bytes());
}

/// An address as `Display` writes it; IPv4 by hand (the formatting machinery costs more
/// than the rest of a flow line), IPv6 through `Display` (its zero compression is subtle).
fn ip(out: &mut Vec<u8>, a: &std::net::IpAddr) {
    match a {
        std::net::IpAddr::V4(v4) => {
            let mut b = itoa::Buffer::new();
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(b.format(o).as_bytes());
            }
        }
        std::net::IpAddr::V6(_) => {
            let _ = write!(out, "{a}");
        }
    }
}

fn key(out: &mut Vec<u8>, k: &str) {
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    out.extend_from_slice(s);
    out.push(b'"');
}

fn boolean(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

/// Writes the EVE line of a flow event; `false` (and nothing written) when a string needs
/// escaping and the serde path must be used.
pub(crate) fn write_flow(
    ts: Timestamp,
    f: &FlowMeta,
    r: &FlowRecord,
    host: &str,
    out: &mut Vec<u8>,
) -> bool {
    if !plain(host) || !plain(&f.in_iface) || !f.app_proto.is_none_or(plain) {
        return false;
    }
    let k = &f.key;
    out.push(b'{');
    key(out, "timestamp");
    string(out, &ts.eve_bytes());
    out.push(b',');
    key(out, "flow_id");
    num(out, f.flow_id);
    out.push(b',');
    key(out, "in_iface");
    string(out, f.in_iface.as_bytes());
    out.extend_from_slice(b",\"event_type\":\"flow\"");
    let vlans: Vec<u16> = k.vlan.iter().copied().filter(|v| *v != 0).collect();
    if !vlans.is_empty() {
        out.extend_from_slice(b",\"vlan\":[");
        for (i, v) in vlans.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            num(out, u64::from(*v));
        }
        out.push(b']');
    }
    let icmp = k.proto == IpProto::ICMP || k.proto == IpProto::ICMPV6;
    let ports = k.proto == IpProto::TCP || k.proto == IpProto::UDP || k.proto == IpProto::SCTP;
    out.extend_from_slice(b",\"src_ip\":\"");
    ip(out, &k.src_ip);
    out.push(b'"');
    if ports {
        out.extend_from_slice(b",\"src_port\":");
        num(out, u64::from(k.src_port));
    }
    out.extend_from_slice(b",\"dest_ip\":\"");
    ip(out, &k.dst_ip);
    out.push(b'"');
    if ports {
        out.extend_from_slice(b",\"dest_port\":");
        num(out, u64::from(k.dst_port));
    }
    out.extend_from_slice(b",\"proto\":");
    string(out, k.proto.eve_name().as_bytes());
    if icmp {
        out.extend_from_slice(b",\"icmp_type\":");
        num(out, u64::from(k.src_port));
        out.extend_from_slice(b",\"icmp_code\":");
        num(out, u64::from(k.dst_port));
    }
    if let Some(app) = f.app_proto {
        out.extend_from_slice(b",\"app_proto\":");
        string(out, app.as_bytes());
    }
    out.extend_from_slice(b",\"flow\":{");
    key(out, "pkts_toserver");
    num(out, r.pkts_toserver);
    out.extend_from_slice(b",\"pkts_toclient\":");
    num(out, r.pkts_toclient);
    out.extend_from_slice(b",\"bytes_toserver\":");
    num(out, r.bytes_toserver);
    out.extend_from_slice(b",\"bytes_toclient\":");
    num(out, r.bytes_toclient);
    out.extend_from_slice(b",\"start\":");
    string(out, &r.start.eve_bytes());
    out.extend_from_slice(b",\"end\":");
    string(out, &r.end.eve_bytes());
    out.extend_from_slice(b",\"age\":");
    num(out, r.age);
    out.extend_from_slice(b",\"state\":");
    string(out, state_name(r).as_bytes());
    out.extend_from_slice(b",\"reason\":");
    string(out, reason_name(r).as_bytes());
    if let Some(s) = &r.stream {
        stream(out, s);
    }
    if let Some(t) = &r.tcp {
        tcp(out, t);
    }
    out.push(b'}');
    if let (Some(src), Some(dst)) = (f.src_mac, f.dest_mac) {
        out.extend_from_slice(b",\"ether\":{\"src_mac\":");
        string(out, &src.text());
        out.extend_from_slice(b",\"dest_mac\":");
        string(out, &dst.text());
        out.push(b'}');
    }
    out.extend_from_slice(b",\"host\":");
    string(out, host.as_bytes());
    out.extend_from_slice(b"}\n");
    true
}

fn state_name(r: &FlowRecord) -> &'static str {
    match r.state {
        crate::event::FlowState::New => "new",
        crate::event::FlowState::Established => "established",
        crate::event::FlowState::Closed => "closed",
    }
}

fn reason_name(r: &FlowRecord) -> &'static str {
    match r.reason {
        crate::event::FlowEndReason::Timeout => "timeout",
        crate::event::FlowEndReason::Shutdown => "shutdown",
        crate::event::FlowEndReason::Evicted => "evicted",
    }
}

fn stream(out: &mut Vec<u8>, s: &StreamRecord) {
    out.extend_from_slice(b",\"stream\":{\"bytes_toserver\":");
    num(out, s.bytes_toserver);
    out.extend_from_slice(b",\"bytes_toclient\":");
    num(out, s.bytes_toclient);
    out.extend_from_slice(b",\"gaps\":");
    num(out, s.gaps);
    out.extend_from_slice(b",\"gap_bytes\":");
    num(out, s.gap_bytes);
    out.extend_from_slice(b",\"overlaps_differ\":");
    num(out, s.overlaps_differ);
    out.extend_from_slice(b",\"midstream\":");
    boolean(out, s.midstream);
    out.push(b'}');
}

fn hex2(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    out.push(HEX[usize::from(b >> 4)]);
    out.push(HEX[usize::from(b & 0x0f)]);
    out.push(b'"');
}

fn tcp(out: &mut Vec<u8>, t: &TcpRecord) {
    const NAMES: [(u8, &str); 8] = [
        (0x01, "fin"),
        (0x02, "syn"),
        (0x04, "rst"),
        (0x08, "psh"),
        (0x10, "ack"),
        (0x20, "urg"),
        (0x40, "ecn"),
        (0x80, "cwr"),
    ];
    out.extend_from_slice(b",\"tcp\":{\"tcp_flags\":");
    hex2(out, t.flags);
    out.extend_from_slice(b",\"tcp_flags_ts\":");
    hex2(out, t.flags_ts);
    out.extend_from_slice(b",\"tcp_flags_tc\":");
    hex2(out, t.flags_tc);
    for (bit, name) in NAMES {
        if t.flags & bit != 0 {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":true");
        }
    }
    out.extend_from_slice(b",\"state\":");
    string(out, t.state.as_bytes());
    if let Some(sig) = &t.syn_signature {
        out.extend_from_slice(b",\"syn_signature\":\"");
        sig.write(out);
        out.push(b'"');
    }
    if let Some(sig) = &t.synack_signature {
        out.extend_from_slice(b",\"synack_signature\":\"");
        sig.write(out);
        out.push(b'"');
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use crate::*;
    use proptest::prelude::*;
    use std::net::IpAddr;
    use std::sync::Arc;

    fn serde_line(ev: &Event, host: &str) -> Vec<u8> {
        let mut v = serde_json::to_vec(&Eve { event: ev, host }).unwrap();
        v.push(b'\n');
        v
    }

    proptest! {
        #[test]
        fn fast_flow_writer_equals_serde(
            a in any::<[u8; 16]>(), b in any::<[u8; 16]>(), v4 in any::<bool>(),
            proto in prop_oneof![Just(1u8), Just(6), Just(17), Just(58), Just(132), any::<u8>()],
            ports in any::<(u16, u16)>(), vlan in any::<[u16; 2]>(), macs in any::<Option<([u8; 6], [u8; 6])>>(),
            counts in any::<[u64; 4]>(), ts in any::<(i64, i64)>(), age in any::<u64>(),
            state in 0u8..3, reason in 0u8..3, stream in any::<Option<([u64; 5], bool)>>(),
            tcp in any::<Option<(u8, u8, u8)>>(), app in prop_oneof![Just(None), Just(Some("dicom")), Just(Some("hl7"))],
            flow_id in any::<u64>(),
            sig in any::<Option<(u8, u16, u16, u8, u32, bool, [u8; 4])>>(),
        ) {
            // Any flow event written directly is byte for byte the serde line.
            let ip = |x: [u8; 16]| if v4 { IpAddr::from([x[0], x[1], x[2], x[3]]) } else { IpAddr::from(x) };
            let key = FlowKey { vlan, proto: IpProto(proto), src_ip: ip(a), src_port: ports.0, dst_ip: ip(b), dst_port: ports.1 };
            let meta = FlowMeta {
                flow_id: flow_id >> 1,
                key,
                in_iface: Arc::from("eth1"),
                src_mac: macs.map(|m| MacAddr(m.0)),
                dest_mac: macs.map(|m| MacAddr(m.1)),
                app_proto: app,
            };
            let rec = FlowRecord {
                pkts_toserver: counts[0], pkts_toclient: counts[1], bytes_toserver: counts[2], bytes_toclient: counts[3],
                start: Timestamp(ts.0 / 4), end: Timestamp(ts.1 / 4), age,
                state: [FlowState::New, FlowState::Established, FlowState::Closed][state as usize],
                reason: [FlowEndReason::Timeout, FlowEndReason::Shutdown, FlowEndReason::Evicted][reason as usize],
                stream: stream.map(|(n, m)| StreamRecord { bytes_toserver: n[0], bytes_toclient: n[1], gaps: n[2], gap_bytes: n[3], overlaps_differ: n[4], midstream: m }),
                tcp: tcp.map(|(f, t, c)| TcpRecord { flags: f, flags_ts: t, flags_tc: c, state: "established", syn_signature: None, synack_signature: None }),
            };
            let mut rec = rec;
            if let (Some(t), Some((ttl, mss, win, ws, quirks, pay, o))) = (rec.tcp.as_mut(), sig) {
                let mut opts = [0u8; crate::p0f::MAX_TCP_OPTS];
                opts[..4].copy_from_slice(&o);
                let s = crate::p0f::P0fSignature { ver: 4, ttl, mss, win, wscale: ws, opts, opt_count: 4, eol_pad: ws, quirks, payload: pay, ..Default::default() };
                t.syn_signature = Some(s);
                t.synack_signature = pay.then_some(s);
            }
            let ev = Event { ts: Timestamp(ts.0 / 2), flow: Some(Box::new(meta)), kind: EventKind::Flow(rec) };
            let mut fast = Vec::new();
            ev.write_eve("sensor-1", &mut fast);
            prop_assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(serde_line(&ev, "sensor-1")).unwrap());
        }
    }

    #[test]
    fn fast_flow_writer_defers_names_that_need_escaping() {
        // A sensor name with a quote goes through serde's escaping, not the direct writer.
        let m = FlowMeta {
            flow_id: 1,
            key: FlowKey {
                vlan: [0, 0],
                proto: IpProto::UDP,
                src_ip: [10, 0, 0, 1].into(),
                src_port: 1,
                dst_ip: [10, 0, 0, 2].into(),
                dst_port: 2,
            },
            in_iface: Arc::from("a\"b"),
            src_mac: None,
            dest_mac: None,
            app_proto: None,
        };
        let mut out = Vec::new();
        assert!(!super::write_flow(
            Timestamp(0),
            &m,
            &FlowRecord {
                pkts_toserver: 0,
                pkts_toclient: 0,
                bytes_toserver: 0,
                bytes_toclient: 0,
                start: Timestamp(0),
                end: Timestamp(0),
                age: 0,
                state: FlowState::New,
                reason: FlowEndReason::Timeout,
                stream: None,
                tcp: None,
            },
            "s",
            &mut out
        ));
        assert!(out.is_empty());
    }
}
