//! Lax L2-L4 decoding with `etherparse`: Ethernet, 802.1Q/QinQ, Linux cooked (SLL, SLL2),
//! raw IP, BSD loopback/null; ARP; IPv4 and IPv6 (with extension headers); TCP, UDP,
//! ICMP and ICMPv6. Truncated or malformed packets give a named reason and never panic.
//!
//! "Lax" means a frame cut by the snaplen still yields what it has: a TCP segment whose
//! payload was cut reports how many bytes are missing, so reassembly can mark a gap.

use etherparse::{
    err::Layer, EtherType, LaxLinkExtSlice, LaxNetSlice, LaxSlicedPacket, LinkSlice,
    TransportSlice,
};
use model::{IpProto, MacAddr};
use std::net::IpAddr;

/// A pcap link-layer header type (LINKTYPE_*), an open set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// DLT_RAW as some systems number it.
    pub const RAW_12: LinkType = LinkType(12);
    pub const RAW_14: LinkType = LinkType(14);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    pub fn is_supported(self) -> bool {
        matches!(self.0, 0 | 1 | 12 | 14 | 101 | 108 | 113 | 228 | 229 | 276)
    }
}

/// IP fragment facts, when the packet is a fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frag {
    pub id: u32,
    /// Byte offset of this fragment's payload in the datagram.
    pub offset: u32,
    pub more: bool,
    /// The protocol of the fragmented payload.
    pub proto: IpProto,
}

/// TCP header facts the flow table and reassembly need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpInfo {
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// Payload bytes announced by the IP length but not captured (snaplen).
    pub missing: u32,
}

/// The transport layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4 {
    Tcp(TcpInfo),
    Udp,
    Icmp { ty: u8, code: u8 },
    /// Another IP protocol, or a fragment (no transport header visible).
    Other,
}

/// One decoded frame; borrowed from the frame bytes.
#[derive(Clone, Debug)]
pub struct Decoded<'a> {
    pub src_mac: Option<MacAddr>,
    pub dst_mac: Option<MacAddr>,
    /// Outer then inner VLAN id; 0 = absent.
    pub vlan: [u16; 2],
    pub is_arp: bool,
    pub ip: Option<IpInfo>,
    pub l4: L4,
    pub src_port: u16,
    pub dst_port: u16,
    /// The transport payload (or, for fragments, the fragment's payload).
    pub payload: &'a [u8],
    /// A non-fatal oddity worth counting (e.g. `tcp_bad_options` on a SYN).
    pub warning: Option<&'static str>,
}

/// Network-layer facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpInfo {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: IpProto,
    pub ttl: u8,
    pub frag: Option<Frag>,
    /// Offset of the IP header within the frame (to rebuild reassembled fragments).
    pub l3_offset: usize,
}

fn layer_reason(layer: Layer, is_len: bool) -> &'static str {
    match (layer, is_len) {
        (Layer::Ethernet2Header, _) => "truncated_ethernet",
        (Layer::LinuxSllHeader, _) => "truncated_sll",
        (Layer::VlanHeader, _) => "truncated_vlan",
        (Layer::MacsecHeader | Layer::MacsecPacket, _) => "malformed_macsec",
        (Layer::IpHeader, true) => "truncated_ip",
        (Layer::IpHeader, false) => "malformed_ip",
        (Layer::Ipv4Header | Layer::Ipv4Packet, true) => "truncated_ipv4",
        (Layer::Ipv4Header | Layer::Ipv4Packet, false) => "malformed_ipv4",
        (Layer::IpAuthHeader, _) => "malformed_ip_auth",
        (Layer::Ipv6Header | Layer::Ipv6Packet, true) => "truncated_ipv6",
        (Layer::Ipv6Header | Layer::Ipv6Packet, false) => "malformed_ipv6",
        (
            Layer::Ipv6ExtHeader
            | Layer::Ipv6HopByHopHeader
            | Layer::Ipv6DestOptionsHeader
            | Layer::Ipv6RouteHeader
            | Layer::Ipv6FragHeader,
            _,
        ) => "malformed_ipv6_ext",
        (Layer::UdpHeader | Layer::UdpPayload, _) => "truncated_udp",
        (Layer::TcpHeader, true) => "truncated_tcp",
        (Layer::TcpHeader, false) => "malformed_tcp",
        (Layer::Icmpv4 | Layer::Icmpv4Timestamp | Layer::Icmpv4TimestampReply, _) => "truncated_icmp",
        (Layer::Icmpv6, _) => "truncated_icmpv6",
        (Layer::Arp, _) => "malformed_arp",
        _ => "malformed_packet",
    }
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const PPPOE_SESSION: u16 = 0x8864;

/// Decodes a frame of the given link type.
///
/// `Err(reason)` when nothing useful could be read (the reason is a counter name).
/// A frame that decodes partly returns `Ok` with what it has, and `Err` only when the
/// IP layer itself is unusable.
pub fn decode(linktype: LinkType, frame: &[u8]) -> Result<Decoded<'_>, &'static str> {
    let sliced = match linktype.0 {
        1 => match LaxSlicedPacket::from_ethernet(frame) {
            Ok(p) => p,
            Err(_) => return Err("truncated_ethernet"),
        },
        113 => {
            // Linux cooked v1: 16-byte header, protocol (ether type) in the last two bytes.
            let Some(hdr) = frame.get(..16) else { return Err("truncated_sll") };
            let proto = u16::from_be_bytes([hdr[14], hdr[15]]);
            let rest = frame.get(16..).unwrap_or_default();
            LaxSlicedPacket::from_ether_type(EtherType(proto), rest)
        }
        276 => {
            // Linux cooked v2: 20-byte header, protocol type in the first two bytes.
            let Some(hdr) = frame.get(..20) else { return Err("truncated_sll2") };
            let proto = u16::from_be_bytes([hdr[0], hdr[1]]);
            let rest = frame.get(20..).unwrap_or_default();
            LaxSlicedPacket::from_ether_type(EtherType(proto), rest)
        }
        0 | 108 => {
            // BSD loopback: a 4-byte address family, host order (0) or network order (108).
            let Some(hdr) = frame.get(..4) else { return Err("truncated_null") };
            let le = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            let be = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            let fam = if linktype.0 == 108 { be } else if le < 256 { le } else { be };
            let rest = frame.get(4..).unwrap_or_default();
            let et = match fam {
                2 => ETH_IPV4,
                // AF_INET6 differs per OS: Linux 10, BSDs 24, 28, 30.
                10 | 24 | 28 | 30 => ETH_IPV6,
                _ => return Err("unknown_null_family"),
            };
            LaxSlicedPacket::from_ether_type(EtherType(et), rest)
        }
        12 | 14 | 101 | 228 | 229 => match LaxSlicedPacket::from_ip(frame) {
            Ok(p) => p,
            Err(_) => return Err("malformed_ip"),
        },
        _ => return Err("unsupported_linktype"),
    };
    from_sliced(sliced, frame, 0)
}

/// Tunnels (PPPoE, IP-in-IP) unwrapped at most this deep.
const MAX_DEPTH: u8 = 3;

/// Decodes what is inside a PPPoE session frame or an IP-in-IP tunnel, keeping the outer
/// MACs and VLANs.
fn inner<'a>(
    outer: &Decoded<'a>,
    p: LaxSlicedPacket<'a>,
    frame: &'a [u8],
    depth: u8,
) -> Result<Decoded<'a>, &'static str> {
    if depth >= MAX_DEPTH {
        return Err("tunnel_too_deep");
    }
    let mut d = from_sliced(p, frame, depth + 1)?;
    d.src_mac = outer.src_mac;
    d.dst_mac = outer.dst_mac;
    d.vlan = outer.vlan;
    Ok(d)
}

fn from_sliced<'a>(
    p: LaxSlicedPacket<'a>,
    frame: &'a [u8],
    depth: u8,
) -> Result<Decoded<'a>, &'static str> {
    let mut d = Decoded {
        src_mac: None,
        dst_mac: None,
        vlan: [0, 0],
        is_arp: false,
        ip: None,
        l4: L4::Other,
        src_port: 0,
        dst_port: 0,
        payload: &[],
        warning: None,
    };
    if let Some(LinkSlice::Ethernet2(eth)) = &p.link {
        d.src_mac = Some(MacAddr(eth.source()));
        d.dst_mac = Some(MacAddr(eth.destination()));
    }
    let mut n = 0;
    for ext in &p.link_exts {
        if let LaxLinkExtSlice::Vlan(v) = ext {
            if let Some(slot) = d.vlan.get_mut(n) {
                *slot = v.vlan_identifier().value();
                n += 1;
            }
        }
    }
    let stop = p.stop_err.as_ref().map(|(e, layer)| {
        layer_reason(*layer, matches!(e, etherparse::err::packet::SliceError::Len(_)))
    });
    let Some(net) = &p.net else {
        // Not IP (LLDP, CDP, STP, ...) or broken before the IP header.
        if let Some(r) = stop {
            return Err(r);
        }
        let ep = p.ether_payload();
        d.payload = ep.as_ref().map(|e| e.payload).unwrap_or_default();
        if ep.as_ref().is_some_and(|e| e.ether_type.0 == PPPOE_SESSION) {
            // PPPoE session: 6-byte header, then the PPP protocol number.
            let pl = d.payload;
            let proto = pl.get(6..8).map(|b| u16::from_be_bytes([b[0], b[1]]));
            let et = match proto {
                Some(0x0021) => ETH_IPV4,
                Some(0x0057) => ETH_IPV6,
                Some(_) => return Ok(d),
                None => return Err("truncated_pppoe"),
            };
            let rest = pl.get(8..).unwrap_or_default();
            return inner(&d, LaxSlicedPacket::from_ether_type(EtherType(et), rest), frame, depth);
        }
        return Ok(d);
    };
    let (src, dst, ttl, frag, ip_payload) = match net {
        LaxNetSlice::Arp(_) => {
            d.is_arp = true;
            d.payload = p.ether_payload().map(|e| e.payload).unwrap_or_default();
            return Ok(d);
        }
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let pl = v4.payload();
            let frag = (h.more_fragments() || h.fragments_offset().value() != 0).then(|| Frag {
                id: u32::from(h.identification()),
                offset: u32::from(h.fragments_offset().byte_offset()),
                more: h.more_fragments(),
                proto: IpProto(h.protocol().0),
            });
            (IpAddr::V4(h.source_addr()), IpAddr::V4(h.destination_addr()), h.ttl(), frag, pl)
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let pl = v6.payload();
            let mut frag = None;
            for ext in v6.extensions().clone() {
                if let etherparse::Ipv6ExtensionSlice::Fragment(f) = ext {
                    if f.is_fragmenting_payload() {
                        frag = Some(Frag {
                            id: f.identification(),
                            offset: u32::from(f.fragment_offset().byte_offset()),
                            more: f.more_fragments(),
                            proto: IpProto(pl.ip_number.0),
                        });
                    }
                }
            }
            (IpAddr::V6(h.source_addr()), IpAddr::V6(h.destination_addr()), h.hop_limit(), frag, pl)
        }
    };
    let l3_offset = frame_offset(frame, net_start(net));
    d.ip = Some(IpInfo { src, dst, proto: IpProto(ip_payload.ip_number.0), ttl, frag, l3_offset });
    if frag.is_some() {
        d.payload = ip_payload.payload;
        return Ok(d);
    }
    if matches!(ip_payload.ip_number.0, 4 | 41) {
        // IPv4-in-IP and IPv6-in-IP (6in4) tunnels: the flow is the inner packet's.
        return match LaxSlicedPacket::from_ip(ip_payload.payload) {
            Ok(p) => inner(&d, p, frame, depth),
            Err(_) => Err("malformed_tunnel"),
        };
    }
    match &p.transport {
        Some(TransportSlice::Tcp(t)) => {
            d.src_port = t.source_port();
            d.dst_port = t.destination_port();
            let hl = usize::from(t.data_offset()) * 4;
            // Bytes the IP length announced but the capture did not keep.
            let announced = ip_payload.payload.len();
            let missing = if ip_payload.incomplete {
                ip_wire_payload_len(net).saturating_sub(announced.max(hl)) as u32
            } else {
                0
            };
            d.l4 = L4::Tcp(TcpInfo {
                seq: t.sequence_number(),
                ack: t.acknowledgment_number(),
                flags: frame_flags(t),
                window: t.window_size(),
                missing,
            });
            d.payload = t.payload();
            // Options matter for fingerprints, which only SYNs carry: check them there.
            if t.syn() && t.options_iterator().any(|o| o.is_err()) {
                d.warning = Some("tcp_bad_options");
            }
        }
        Some(TransportSlice::Udp(u)) => {
            d.src_port = u.source_port();
            d.dst_port = u.destination_port();
            d.l4 = L4::Udp;
            d.payload = u.payload();
        }
        Some(TransportSlice::Icmpv4(i)) => {
            d.src_port = u16::from(i.type_u8());
            d.dst_port = u16::from(i.code_u8());
            d.l4 = L4::Icmp { ty: i.type_u8(), code: i.code_u8() };
            d.payload = i.payload();
        }
        Some(TransportSlice::Icmpv6(i)) => {
            d.src_port = u16::from(i.type_u8());
            d.dst_port = u16::from(i.code_u8());
            d.l4 = L4::Icmp { ty: i.type_u8(), code: i.code_u8() };
            d.payload = i.payload();
        }
        Some(_) => {
            d.payload = ip_payload.payload;
        }
        None => {
            // A transport we expected but could not read is malformed; others are opaque.
            let p = ip_payload.ip_number.0;
            if matches!(p, 1 | 6 | 17 | 58) {
                return Err(stop.unwrap_or(match p {
                    6 => "truncated_tcp",
                    17 => "truncated_udp",
                    _ => "truncated_icmp",
                }));
            }
            d.payload = ip_payload.payload;
        }
    }
    Ok(d)
}

fn frame_flags(t: &etherparse::TcpSlice<'_>) -> u8 {
    // The 8 classic flag bits are byte 13 of the header.
    t.header_slice().get(13).copied().unwrap_or(0)
}

fn net_start(net: &LaxNetSlice<'_>) -> usize {
    match net {
        LaxNetSlice::Ipv4(v4) => v4.header().slice().as_ptr() as usize,
        LaxNetSlice::Ipv6(v6) => v6.header().slice().as_ptr() as usize,
        LaxNetSlice::Arp(a) => a.slice().as_ptr() as usize,
    }
}

fn ip_wire_payload_len(net: &LaxNetSlice<'_>) -> usize {
    // The transport length the IP header announces (header and extensions excluded).
    match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            usize::from(h.total_len()).saturating_sub(usize::from(h.ihl()) * 4)
        }
        LaxNetSlice::Ipv6(v6) => usize::from(v6.header().payload_length())
            .saturating_sub(v6.extensions().slice().len()),
        LaxNetSlice::Arp(_) => 0,
    }
}

/// Offset of `inner` within `outer`, when `inner` is a sub-slice of it (it always is here).
fn frame_offset(outer: &[u8], inner_ptr: usize) -> usize {
    let o = outer.as_ptr() as usize;
    inner_ptr.checked_sub(o).filter(|d| *d <= outer.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::pcap::{tcp_frame, udp_frame, ACK, PSH};

    const A: [u8; 6] = [0x00, 0x09, 0xfb, 1, 2, 3];
    const B: [u8; 6] = [0x00, 0x1b, 0x21, 4, 5, 6];

    #[test]
    fn decode_ethernet_tcp_exact_fields() {
        // A plain Ethernet/IPv4/TCP segment decodes to its addresses, ports and payload.
        let f = tcp_frame(A, B, [10, 0, 0, 1].into(), 40000, [10, 0, 0, 2].into(), 104, 7, 9, PSH | ACK, b"hello");
        let d = decode(LinkType::ETHERNET, &f).unwrap();
        assert_eq!(d.src_mac, Some(MacAddr(A)));
        assert_eq!(d.dst_mac, Some(MacAddr(B)));
        let ip = d.ip.unwrap();
        assert_eq!(ip.src, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(ip.l3_offset, 14);
        assert_eq!((d.src_port, d.dst_port), (40000, 104));
        assert_eq!(d.payload, b"hello");
        match d.l4 {
            L4::Tcp(t) => {
                assert_eq!((t.seq, t.ack, t.flags, t.missing), (7, 9, PSH | ACK, 0));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decode_vlan_and_qinq_ids() {
        // 802.1Q and QinQ tags give the outer and inner VLAN ids.
        let f = udp_frame(A, B, [10, 0, 0, 1].into(), 1, [10, 0, 0, 2].into(), 2, b"x");
        let mut q = f[..12].to_vec();
        q.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a]);
        q.extend_from_slice(&f[12..]);
        let d = decode(LinkType::ETHERNET, &q).unwrap();
        assert_eq!(d.vlan, [100, 10]);
        assert_eq!(d.payload, b"x");
        assert_eq!(d.ip.unwrap().l3_offset, 22);
    }

    #[test]
    fn decode_snaplen_cut_tcp_reports_missing_bytes() {
        // A segment cut by the snaplen reports the bytes the capture did not keep.
        let f = tcp_frame(A, B, [10, 0, 0, 1].into(), 1, [10, 0, 0, 2].into(), 2, 0, 0, ACK, &[7u8; 100]);
        let d = decode(LinkType::ETHERNET, &f[..f.len() - 30]).unwrap();
        assert_eq!(d.payload.len(), 70);
        match d.l4 {
            L4::Tcp(t) => assert_eq!(t.missing, 30),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decode_every_prefix_never_panics() {
        // Every prefix of a valid frame decodes or returns a named reason.
        let f = tcp_frame(A, B, [10, 0, 0, 1].into(), 1, [10, 0, 0, 2].into(), 2, 0, 0, ACK, b"abc");
        for lt in [0u32, 1, 101, 108, 113, 276] {
            for n in 0..=f.len() {
                let _ = decode(LinkType(lt), &f[..n]);
            }
        }
        assert_eq!(decode(LinkType::ETHERNET, &f[..10]).unwrap_err(), "truncated_ethernet");
        assert_eq!(decode(LinkType::ETHERNET, &f[..30]).unwrap_err(), "truncated_ip");
        assert_eq!(decode(LinkType(999), &f).unwrap_err(), "unsupported_linktype");
    }

    #[test]
    fn decode_linux_sll_and_sll2_and_null() {
        // Cooked and loopback link types reach the same IP payload.
        let f = udp_frame(A, B, [10, 0, 0, 1].into(), 5, [10, 0, 0, 2].into(), 6, b"pay");
        let ip = &f[14..];
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(ip);
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(ip);
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(ip);
        for (lt, fr) in [(113, &sll), (276, &sll2), (0, &null), (101, &ip.to_vec())] {
            let d = decode(LinkType(lt), fr).unwrap_or_else(|e| panic!("{lt}: {e}"));
            assert_eq!(d.payload, b"pay", "{lt}");
            assert_eq!((d.src_port, d.dst_port), (5, 6));
            assert_eq!(d.src_mac, None);
        }
    }

    #[test]
    fn decode_ipv4_fragment_flags() {
        // A first fragment (MF set) is reported as a fragment with its id and offset.
        let mut f = udp_frame(A, B, [10, 0, 0, 1].into(), 5, [10, 0, 0, 2].into(), 6, &[1u8; 40]);
        f[14 + 4] = 0x12;
        f[14 + 5] = 0x34;
        f[14 + 6] = 0x20; // MF, offset 0
        let d = decode(LinkType::ETHERNET, &f).unwrap();
        let fr = d.ip.unwrap().frag.unwrap();
        assert_eq!((fr.id, fr.offset, fr.more, fr.proto), (0x1234, 0, true, IpProto::UDP));
        assert_eq!(d.payload.len(), 48);
    }
}
