//! ARP parsing (RFC 826) for IPv4 over Ethernet: hardware type 1, protocol 0x0800,
//! lengths 6 and 4, then opcode and the sender/target hardware and protocol addresses
//! (28 bytes). Other hardware/protocol combinations are not bindings we can use.

use std::net::Ipv4Addr;

pub const OP_REQUEST: u16 = 1;
pub const OP_REPLY: u16 = 2;

/// One IPv4-over-Ethernet ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    pub opcode: u16,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}

/// Why an ARP packet was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpError {
    /// Fewer than 28 bytes.
    Truncated,
    /// Not Ethernet/IPv4 (hardware or protocol type or lengths differ).
    NotIpv4Ethernet,
}

fn arr<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at + N)?.try_into().ok()
}

/// Parses the ARP packet at the start of `b` (Ethernet padding after it is ignored).
pub fn parse_arp(b: &[u8]) -> Result<Arp, ArpError> {
    let h: [u8; 8] = arr(b, 0).ok_or(ArpError::Truncated)?;
    // htype 1 (Ethernet), ptype 0x0800 (IPv4), hlen 6, plen 4
    if h[..6] != [0, 1, 0x08, 0x00, 6, 4] {
        return Err(ArpError::NotIpv4Ethernet);
    }
    let opcode = u16::from_be_bytes([h[6], h[7]]);
    let sha: [u8; 6] = arr(b, 8).ok_or(ArpError::Truncated)?;
    let spa: [u8; 4] = arr(b, 14).ok_or(ArpError::Truncated)?;
    let tha: [u8; 6] = arr(b, 18).ok_or(ArpError::Truncated)?;
    let tpa: [u8; 4] = arr(b, 24).ok_or(ArpError::Truncated)?;
    Ok(Arp {
        opcode,
        sender_mac: sha,
        sender_ip: Ipv4Addr::from(spa),
        target_mac: tha,
        target_ip: Ipv4Addr::from(tpa),
    })
}
