//! Packet and pcap builders for scenario captures (valid checksums, so tshark agrees).

use std::net::Ipv4Addr;

pub const LINKTYPE_ETHERNET: u32 = 1;

/// Writes a classic little-endian, microsecond pcap file in memory.
pub struct PcapWriter {
    buf: Vec<u8>,
}

impl PcapWriter {
    pub fn new(linktype: u32) -> Self {
        let mut buf = Vec::new();
        buf.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        buf.extend_from_slice(&2u16.to_le_bytes());
        buf.extend_from_slice(&4u16.to_le_bytes());
        buf.extend_from_slice(&0i32.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&65535u32.to_le_bytes());
        buf.extend_from_slice(&linktype.to_le_bytes());
        PcapWriter { buf }
    }
    /// Adds a frame captured at `ts_micros` (whole frame captured).
    pub fn add(&mut self, ts_micros: i64, frame: &[u8]) {
        self.add_truncated(ts_micros, frame, frame.len());
    }
    /// Adds a frame whose original length was `orig_len` but only `frame` was captured.
    pub fn add_truncated(&mut self, ts_micros: i64, frame: &[u8], orig_len: usize) {
        let secs = ts_micros.div_euclid(1_000_000) as u32;
        let us = ts_micros.rem_euclid(1_000_000) as u32;
        self.buf.extend_from_slice(&secs.to_le_bytes());
        self.buf.extend_from_slice(&us.to_le_bytes());
        self.buf
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&(orig_len as u32).to_le_bytes());
        self.buf.extend_from_slice(frame);
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
    pub fn write_to(self, path: &std::path::Path) -> std::io::Result<()> {
        std::fs::write(path, self.buf)
    }
}

fn csum_add(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    sum
}

fn csum_fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// Ethernet + IPv4 + L4 frame with correct checksums.
fn eth_ipv4(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(34 + l4.len());
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let total = (20 + l4.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6] = 0x40; // DF
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = csum_fold(csum_add(0, &ip));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    // L4 checksum over the pseudo header.
    let mut l4v = l4.to_vec();
    let mut sum = csum_add(0, &src.octets());
    sum = csum_add(sum, &dst.octets());
    sum += u32::from(proto) + l4.len() as u32;
    let off = if proto == 6 { 16 } else { 6 };
    if l4v.len() >= off + 2 {
        l4v[off] = 0;
        l4v[off + 1] = 0;
        let mut c = csum_fold(csum_add(sum, &l4v));
        if proto == 17 && c == 0 {
            c = 0xffff;
        }
        l4v[off..off + 2].copy_from_slice(&c.to_be_bytes());
    }
    f.extend_from_slice(&l4v);
    f
}

/// One TCP segment in an Ethernet/IPv4 frame.
#[allow(clippy::too_many_arguments)] // reason: a segment is exactly these fields
pub fn tcp_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push(5 << 4);
    t.push(flags);
    t.extend_from_slice(&65535u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(payload);
    eth_ipv4(src_mac, dst_mac, src, dst, 6, &t)
}

/// One UDP datagram in an Ethernet/IPv4 frame.
pub fn udp_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    eth_ipv4(src_mac, dst_mac, src, dst, 17, &u)
}

/// A scripted TCP conversation between a client and a server, written as frames.
pub struct TcpConv {
    pub client: (Ipv4Addr, u16, [u8; 6]),
    pub server: (Ipv4Addr, u16, [u8; 6]),
    pub cseq: u32,
    pub sseq: u32,
}

impl TcpConv {
    pub fn new(client: (Ipv4Addr, u16), server: (Ipv4Addr, u16), isn_c: u32, isn_s: u32) -> Self {
        TcpConv {
            client: (client.0, client.1, [0x02, 0, 0, 0, 0, 1]),
            server: (server.0, server.1, [0x02, 0, 0, 0, 0, 2]),
            cseq: isn_c,
            sseq: isn_s,
        }
    }
    /// A segment from the client (`true`) or server with explicit seq; does not advance.
    pub fn seg_at(&self, from_client: bool, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let (a, b, ack) = if from_client {
            (self.client, self.server, self.sseq)
        } else {
            (self.server, self.client, self.cseq)
        };
        tcp_frame(a.2, b.2, a.0, a.1, b.0, b.1, seq, ack, flags, payload)
    }
    /// A segment at the current sequence number, advancing it.
    pub fn seg(&mut self, from_client: bool, flags: u8, payload: &[u8]) -> Vec<u8> {
        let seq = if from_client { self.cseq } else { self.sseq };
        let f = self.seg_at(from_client, seq, flags, payload);
        let adv = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        if from_client {
            self.cseq = self.cseq.wrapping_add(adv);
        } else {
            self.sseq = self.sseq.wrapping_add(adv);
        }
        f
    }
    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self) -> Vec<Vec<u8>> {
        vec![
            self.seg(true, SYN, b""),
            self.seg(false, SYN | ACK, b""),
            self.seg(true, ACK, b""),
        ]
    }
    /// FIN from both sides and the last ACK.
    pub fn close(&mut self) -> Vec<Vec<u8>> {
        vec![
            self.seg(true, FIN | ACK, b""),
            self.seg(false, FIN | ACK, b""),
            self.seg(true, ACK, b""),
        ]
    }
}
