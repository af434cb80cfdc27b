//! Flow identity: keys, directions, and the flow facts every flow-bound event carries.

use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;

/// IP protocol number (a wire number, so an open newtype, not a closed enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpProto(pub u8);

impl IpProto {
    pub const ICMP: IpProto = IpProto(1);
    pub const TCP: IpProto = IpProto(6);
    pub const UDP: IpProto = IpProto(17);
    pub const ICMPV6: IpProto = IpProto(58);
    pub const SCTP: IpProto = IpProto(132);

    /// The name EVE uses for `proto` (`TCP`, `UDP`, `ICMP`, `IPv6-ICMP`, else the number).
    pub fn eve_name(self) -> std::borrow::Cow<'static, str> {
        match self.0 {
            1 => "ICMP".into(),
            6 => "TCP".into(),
            17 => "UDP".into(),
            58 => "IPv6-ICMP".into(),
            132 => "SCTP".into(),
            n => n.to_string().into(),
        }
    }
}

/// Which way a packet or a byte stream goes, relative to the flow's originator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the originator (client) to the responder (server).
    ToServer,
    /// From the responder back to the originator.
    ToClient,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToServer => "to_server",
            Direction::ToClient => "to_client",
        }
    }
}

/// A flow key as seen on the wire: VLAN ids (outer first, 0 = absent), protocol and the
/// two endpoints. For ICMP the ports hold type and code of the first packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub vlan: [u16; 2],
    pub proto: IpProto,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
}

impl FlowKey {
    /// The same flow seen from the other side.
    pub fn reversed(&self) -> FlowKey {
        FlowKey {
            vlan: self.vlan,
            proto: self.proto,
            src_ip: self.dst_ip,
            src_port: self.dst_port,
            dst_ip: self.src_ip,
            dst_port: self.src_port,
        }
    }

    /// A direction-independent form (lower endpoint first) and whether `self` was swapped.
    pub fn canonical(&self) -> (FlowKey, bool) {
        if (self.src_ip, self.src_port) <= (self.dst_ip, self.dst_port) {
            (*self, false)
        } else {
            (self.reversed(), true)
        }
    }

    /// The deterministic EVE `flow_id`: a stable 64-bit mix of the originator-oriented key
    /// and the first packet's capture time, kept positive (as Suricata's). The same capture
    /// always gives the same ids, whatever the worker count or the process.
    pub fn flow_id(&self, first_ts_micros: i64) -> u64 {
        let mut h = StableHasher::new();
        h.write(&self.vlan[0].to_be_bytes());
        h.write(&self.vlan[1].to_be_bytes());
        h.write(&[self.proto.0]);
        write_ip(&mut h, self.src_ip);
        h.write(&self.src_port.to_be_bytes());
        write_ip(&mut h, self.dst_ip);
        h.write(&self.dst_port.to_be_bytes());
        h.write(&first_ts_micros.to_be_bytes());
        h.finish() & 0x7fff_ffff_ffff_ffff
    }
}

fn write_ip(h: &mut StableHasher, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => h.write(&a.octets()),
        IpAddr::V6(a) => h.write(&a.octets()),
    }
}

/// FNV-1a 64 with a splitmix finaliser: stable across runs, platforms and Rust versions
/// (std's hashers promise none of that). Not used for hash tables (those are seeded).
struct StableHasher(u64);

impl StableHasher {
    fn new() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A MAC address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl std::fmt::Display for MacAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl MacAddr {
    /// `00:09:fb:12:34:56`, written without the formatting machinery.
    pub fn text(&self) -> [u8; 17] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut b = *b"00:00:00:00:00:00";
        for (i, byte) in self.0.iter().enumerate() {
            b[i * 3] = HEX[usize::from(byte >> 4)];
            b[i * 3 + 1] = HEX[usize::from(byte & 0x0f)];
        }
        b
    }
}

impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b = self.text();
        s.serialize_str(std::str::from_utf8(&b).unwrap_or("00:00:00:00:00:00"))
    }
}

/// The facts of a flow that every event about it carries (the EVE flow fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowMeta {
    pub flow_id: u64,
    /// Oriented from the originator (`src`) to the responder (`dest`).
    pub key: FlowKey,
    /// Capture interface name, or the capture file's name on replay.
    pub in_iface: Arc<str>,
    /// MACs of the originator's first frame (`None` on link types without Ethernet).
    pub src_mac: Option<MacAddr>,
    pub dest_mac: Option<MacAddr>,
    /// The application protocol once detected (`dicom`, `hl7`, ...).
    pub app_proto: Option<&'static str>,
}
