//! CDP parsing (Cisco Discovery Protocol v1/v2, as documented in Cisco's public CDP
//! description and the IETF draft-era write-ups): a 4-byte header (version, TTL, checksum)
//! then TLVs of a 16-bit type and a 16-bit length that counts the 4-byte TLV header.
//! Zero-copy: the result borrows the frame.

/// TLV types.
pub const TLV_DEVICE_ID: u16 = 0x0001;
pub const TLV_ADDRESSES: u16 = 0x0002;
pub const TLV_PORT_ID: u16 = 0x0003;
pub const TLV_CAPABILITIES: u16 = 0x0004;
pub const TLV_SOFTWARE_VERSION: u16 = 0x0005;
pub const TLV_PLATFORM: u16 = 0x0006;
pub const TLV_VTP_DOMAIN: u16 = 0x0009;
pub const TLV_NATIVE_VLAN: u16 = 0x000a;

/// One CDP announcement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cdp<'a> {
    pub version: u8,
    pub ttl: u8,
    pub device_id: Option<&'a [u8]>,
    /// The Addresses TLV value (count then entries); see [`parse_addresses`].
    pub addresses: Option<&'a [u8]>,
    pub port_id: Option<&'a [u8]>,
    pub capabilities: Option<u32>,
    pub software_version: Option<&'a [u8]>,
    pub platform: Option<&'a [u8]>,
    pub vtp_domain: Option<&'a [u8]>,
    pub native_vlan: Option<u16>,
    /// A TLV length ran past the frame, or was shorter than its own header.
    pub truncated: bool,
}

/// Parses a CDP PDU (the bytes after the LLC/SNAP header). `None` when even the 4-byte
/// header is missing.
pub fn parse_cdp(b: &[u8]) -> Option<Cdp<'_>> {
    let h = b.get(..4)?;
    let mut c = Cdp {
        version: h[0],
        ttl: h[1],
        ..Default::default()
    };
    let mut at = 4usize;
    while at < b.len() {
        let (Some(t), Some(l)) = (b.get(at..at + 2), b.get(at + 2..at + 4)) else {
            c.truncated = true;
            break;
        };
        let ty = u16::from_be_bytes([t[0], t[1]]);
        let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
        if len < 4 {
            c.truncated = true;
            break;
        }
        let Some(v) = b.get(at + 4..at + len) else {
            c.truncated = true;
            break;
        };
        at += len;
        match ty {
            TLV_DEVICE_ID => {
                c.device_id.get_or_insert(v);
            }
            TLV_ADDRESSES => {
                c.addresses.get_or_insert(v);
            }
            TLV_PORT_ID => {
                c.port_id.get_or_insert(v);
            }
            TLV_CAPABILITIES => {
                if let Some(x) = v.get(..4) {
                    c.capabilities
                        .get_or_insert(u32::from_be_bytes([x[0], x[1], x[2], x[3]]));
                }
            }
            TLV_SOFTWARE_VERSION => {
                c.software_version.get_or_insert(v);
            }
            TLV_PLATFORM => {
                c.platform.get_or_insert(v);
            }
            TLV_VTP_DOMAIN => {
                c.vtp_domain.get_or_insert(v);
            }
            TLV_NATIVE_VLAN => {
                if let Some(x) = v.get(..2) {
                    c.native_vlan
                        .get_or_insert(u16::from_be_bytes([x[0], x[1]]));
                }
            }
            _ => {}
        }
    }
    Some(c)
}

/// One address of the Addresses TLV: IPv4 (NLPID 0xcc) or IPv6 (802.2 SNAP 0x86dd).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CdpAddress<'a> {
    V4([u8; 4]),
    V6([u8; 16]),
    Other(&'a [u8]),
}

/// The entries of an Addresses TLV value, at most `max` of them; `Err` with what was read
/// when an entry overruns the value.
pub fn parse_addresses(v: &[u8], max: usize) -> Result<Vec<CdpAddress<'_>>, Vec<CdpAddress<'_>>> {
    let mut out = Vec::new();
    let Some(n) = v.get(..4) else {
        return Err(out);
    };
    let count = u32::from_be_bytes([n[0], n[1], n[2], n[3]]);
    let mut at = 4usize;
    for _ in 0..count {
        if out.len() >= max {
            break;
        }
        // protocol type (1), protocol length (1), protocol, address length (2), address
        let Some(&plen) = v.get(at + 1) else {
            return Err(out);
        };
        let plen = usize::from(plen);
        let Some(proto) = v.get(at + 2..at + 2 + plen) else {
            return Err(out);
        };
        let Some(al) = v.get(at + 2 + plen..at + 4 + plen) else {
            return Err(out);
        };
        let alen = usize::from(u16::from_be_bytes([al[0], al[1]]));
        let Some(addr) = v.get(at + 4 + plen..at + 4 + plen + alen) else {
            return Err(out);
        };
        at += 4 + plen + alen;
        let a = match (proto, addr.len()) {
            ([0xcc], 4) => {
                <[u8; 4]>::try_from(addr).map_or(CdpAddress::Other(addr), CdpAddress::V4)
            }
            ([0xaa, 0xaa, 0x03, 0, 0, 0, 0x86, 0xdd], 16) => {
                <[u8; 16]>::try_from(addr).map_or(CdpAddress::Other(addr), CdpAddress::V6)
            }
            _ => CdpAddress::Other(addr),
        };
        out.push(a);
    }
    Ok(out)
}
