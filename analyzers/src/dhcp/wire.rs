//! Pure DHCPv4 and DHCPv6 parsing: fixed headers and option walks. No state, no allocation.
//!
//! DHCPv4: RFC 2131 section 2 (the 236-byte fixed part), RFC 2132 section 3 (options: pad 0,
//! end 255, code/length/value), RFC 2131 4.1 (magic cookie 99.130.83.99), RFC 2132 9.3
//! (option overload into `file`/`sname`). DHCPv6: RFC 8415 section 8 (client/server
//! header: msg-type, 24-bit transaction id), 9 (relay header), 21.1 (options: 16-bit code
//! and length).

/// The DHCPv4 magic cookie (RFC 2131 3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Fixed part before the cookie.
pub const V4_FIXED_LEN: usize = 236;

/// Why a datagram is not a DHCP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than the fixed header (plus cookie).
    TooShort,
    /// `op` is neither 1 nor 2, or `hlen` is over 16.
    BadHeader,
    /// The magic cookie is missing.
    NoCookie,
}

/// The fixed part of a DHCPv4 message (RFC 2131 2, figure 1), borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DhcpV4<'a> {
    pub op: u8,
    pub htype: u8,
    pub hlen: u8,
    pub xid: u32,
    pub ciaddr: [u8; 4],
    pub yiaddr: [u8; 4],
    pub siaddr: [u8; 4],
    pub giaddr: [u8; 4],
    /// `chaddr`, the first `hlen` bytes (at most 16).
    pub chaddr: &'a [u8],
    /// The 64-byte `sname` field (options when overloaded).
    pub sname: &'a [u8],
    /// The 128-byte `file` field (options when overloaded).
    pub file: &'a [u8],
    /// Everything after the magic cookie.
    pub options: &'a [u8],
}

fn ip4(b: &[u8], at: usize) -> [u8; 4] {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    a
}

/// Parses the fixed part and cookie of a DHCPv4 (BOOTP) message.
pub fn parse_dhcpv4(b: &[u8]) -> Result<DhcpV4<'_>, WireError> {
    if b.len() < V4_FIXED_LEN + 4 {
        return Err(WireError::TooShort);
    }
    let (fixed, rest) = b.split_at(V4_FIXED_LEN);
    let op = fixed[0];
    let htype = fixed[1];
    let hlen = fixed[2];
    if !(op == 1 || op == 2) || hlen > 16 {
        return Err(WireError::BadHeader);
    }
    if rest.get(..4) != Some(&MAGIC_COOKIE[..]) {
        return Err(WireError::NoCookie);
    }
    Ok(DhcpV4 {
        op,
        htype,
        hlen,
        xid: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        ciaddr: ip4(fixed, 12),
        yiaddr: ip4(fixed, 16),
        siaddr: ip4(fixed, 20),
        giaddr: ip4(fixed, 24),
        chaddr: &fixed[28..28 + usize::from(hlen)],
        sname: &fixed[44..108],
        file: &fixed[108..236],
        options: &rest[4..],
    })
}

/// How a DHCPv4 option walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V4WalkEnd {
    /// The end option (255) was found.
    End,
    /// The bytes ran out without an end option (only pad after the last option, or nothing).
    NoEnd,
    /// An option's length ran past the bytes (or its length byte was missing): `code`.
    Truncated(u8),
}

/// Walks DHCPv4 options (RFC 2132 3), calling `f(code, value)` for each option other than
/// pad and end, in wire order.
pub fn walk_v4_options<'a>(b: &'a [u8], mut f: impl FnMut(u8, &'a [u8])) -> V4WalkEnd {
    let mut i = 0usize;
    while let Some(&code) = b.get(i) {
        match code {
            0 => i += 1,
            255 => return V4WalkEnd::End,
            _ => {
                let Some(&len) = b.get(i + 1) else {
                    return V4WalkEnd::Truncated(code);
                };
                let start = i + 2;
                let end = start + usize::from(len);
                let Some(v) = b.get(start..end) else {
                    return V4WalkEnd::Truncated(code);
                };
                f(code, v);
                i = end;
            }
        }
    }
    V4WalkEnd::NoEnd
}

/// A DHCPv6 message header (RFC 8415 8 and 9), borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DhcpV6<'a> {
    pub msg_type: u8,
    /// Transaction id (client/server messages) or hop count (relay messages).
    pub xid: u32,
    /// Relay-forward (12) or relay-reply (13).
    pub relay: bool,
    pub options: &'a [u8],
}

/// DHCPv6 message types that exist (RFC 8415 7.3 plus RFC 5007/5460/7341 numbers up to 36).
fn v6_type_known(t: u8) -> bool {
    (1..=36).contains(&t)
}

/// Parses a DHCPv6 header; the options are checked to walk exactly to the end, which is
/// what tells DHCPv6 apart from other datagrams on the same ports.
pub fn parse_dhcpv6(b: &[u8]) -> Result<DhcpV6<'_>, WireError> {
    let msg_type = *b.first().ok_or(WireError::TooShort)?;
    if !v6_type_known(msg_type) {
        return Err(WireError::BadHeader);
    }
    let relay = msg_type == 12 || msg_type == 13;
    let hdr = if relay { 34 } else { 4 };
    let options = b.get(hdr..).ok_or(WireError::TooShort)?;
    let xid = if relay {
        u32::from(b[1])
    } else {
        u32::from_be_bytes([0, b[1], b[2], b[3]])
    };
    Ok(DhcpV6 {
        msg_type,
        xid,
        relay,
        options,
    })
}

/// How a DHCPv6 option walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V6WalkEnd {
    /// The options ended exactly at the end of the bytes.
    Complete,
    /// An option header or value ran past the bytes: the option code, if its header was read.
    Truncated(Option<u16>),
}

/// Walks DHCPv6 options (RFC 8415 21.1), calling `f(code, value)` in wire order.
pub fn walk_v6_options<'a>(b: &'a [u8], mut f: impl FnMut(u16, &'a [u8])) -> V6WalkEnd {
    let mut i = 0usize;
    while i < b.len() {
        let Some(h) = b.get(i..i + 4) else {
            return V6WalkEnd::Truncated(None);
        };
        let code = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let Some(v) = b.get(i + 4..i + 4 + len) else {
            return V6WalkEnd::Truncated(Some(code));
        };
        f(code, v);
        i += 4 + len;
    }
    V6WalkEnd::Complete
}

/// Decodes DNS wire-format labels (RFC 1035 3.1, no compression: RFC 4702 / RFC 4704 forbid
/// it) into dotted text bytes, appending to `out` up to `cap` bytes. Returns false when the
/// labels ran past the value (what was decoded is kept).
pub fn dns_labels(v: &[u8], out: &mut Vec<u8>, cap: usize) -> bool {
    let mut i = 0usize;
    while let Some(&len) = v.get(i) {
        if len == 0 {
            return true;
        }
        if len & 0xc0 != 0 {
            return false;
        }
        let Some(label) = v.get(i + 1..i + 1 + usize::from(len)) else {
            return false;
        };
        if !out.is_empty() {
            out.push(b'.');
        }
        out.extend_from_slice(label);
        if out.len() > cap {
            out.truncate(cap);
            return true;
        }
        i += 1 + usize::from(len);
    }
    // A name without its root label (partial names are allowed in option 81).
    true
}
