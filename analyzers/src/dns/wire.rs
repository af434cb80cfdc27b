//! Pure DNS message parsing (RFC 1035 4.1: header, question, resource record; 4.1.4 name
//! compression), shared by DNS, mDNS (RFC 6762 18: same format, top bit of the class is
//! unicast-response / cache-flush) and LLMNR (RFC 4795 2.1.1: same layout, other flag
//! meanings). No state, no allocation beyond the caller's name buffer.

/// The 12-byte header (RFC 1035 4.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x000f) as u8
    }
}

pub const HEADER_LEN: usize = 12;

/// Reads the header; `None` when fewer than 12 bytes.
pub fn parse_header(b: &[u8]) -> Option<Header> {
    let h = b.get(..HEADER_LEN)?;
    let u = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    Some(Header {
        id: u(0),
        flags: u(2),
        qdcount: u(4),
        ancount: u(6),
        nscount: u(8),
        arcount: u(10),
    })
}

/// Why a name or record could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// Ran past the message.
    Truncated,
    /// A compression pointer that does not point strictly backwards (a loop, or a jump
    /// forward), or too many jumps.
    CompressionLoop,
    /// A label type other than a length or a pointer (0x40, 0x80: RFC 6891 9 deprecated).
    BadLabel,
}

/// Most pointers followed in one name; a legal name has at most 127 labels.
const MAX_JUMPS: usize = 128;

/// What [`read_name`] noticed besides the name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NameFlags {
    /// The text was cut at `cap`.
    pub capped: bool,
    /// Longer than 255 bytes on the wire (RFC 1035 2.3.4); walked to its end anyway, so
    /// the records after it stay readable.
    pub too_long: bool,
}

/// Reads the name at `at` in `msg`, appending its dotted text to `out` (at most `cap`
/// bytes). Returns the offset after the name in the original position (after the first
/// pointer, if any).
pub fn read_name(
    msg: &[u8],
    at: usize,
    out: &mut Vec<u8>,
    cap: usize,
    flags: &mut NameFlags,
) -> Result<usize, DnsError> {
    let mut pos = at;
    let mut next: Option<usize> = None;
    let mut jumps = 0usize;
    // Pointers must go strictly backwards from the lowest offset visited so far, so every
    // loop is refused.
    let mut floor = at;
    let mut wire_len = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(DnsError::Truncated)?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    return Ok(next.unwrap_or(pos + 1));
                }
                let n = usize::from(len);
                let label = msg.get(pos + 1..pos + 1 + n).ok_or(DnsError::Truncated)?;
                wire_len += 1 + n;
                if wire_len > 255 {
                    flags.too_long = true;
                }
                let room = cap.saturating_sub(out.len());
                let sep = usize::from(!out.is_empty());
                if room < sep + n {
                    flags.capped = true;
                    if room > sep {
                        if sep == 1 {
                            out.push(b'.');
                        }
                        out.extend_from_slice(label.get(..room - sep).unwrap_or(&[]));
                    }
                } else {
                    if sep == 1 {
                        out.push(b'.');
                    }
                    out.extend_from_slice(label);
                }
                pos += 1 + n;
            }
            0xc0 => {
                let lo = *msg.get(pos + 1).ok_or(DnsError::Truncated)?;
                let target = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
                if next.is_none() {
                    next = Some(pos + 2);
                }
                jumps += 1;
                if target >= floor || jumps > MAX_JUMPS {
                    return Err(DnsError::CompressionLoop);
                }
                floor = target;
                pos = target;
            }
            _ => return Err(DnsError::BadLabel),
        }
    }
}

/// Skips a name without decoding it (same checks as [`read_name`]).
pub fn skip_name(msg: &[u8], at: usize) -> Result<usize, DnsError> {
    let mut sink = Vec::new();
    read_name(msg, at, &mut sink, 0, &mut NameFlags::default())
}

/// A question's fixed part after the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuestionTail {
    pub qtype: u16,
    pub qclass: u16,
    /// Offset after the question.
    pub next: usize,
}

/// Reads the type and class after a question name ending at `at`.
pub fn question_tail(msg: &[u8], at: usize) -> Result<QuestionTail, DnsError> {
    let b = msg.get(at..at + 4).ok_or(DnsError::Truncated)?;
    Ok(QuestionTail {
        qtype: u16::from_be_bytes([b[0], b[1]]),
        qclass: u16::from_be_bytes([b[2], b[3]]),
        next: at + 4,
    })
}

/// A record's fixed part after the name, with its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordTail<'a> {
    pub rtype: u16,
    pub rclass: u16,
    pub ttl: u32,
    /// Offset of the data in the message (names in it may be compressed).
    pub rdata_at: usize,
    pub rdata: &'a [u8],
    /// Offset after the record.
    pub next: usize,
}

/// Reads type, class, TTL and data after a record name ending at `at`.
pub fn record_tail(msg: &[u8], at: usize) -> Result<RecordTail<'_>, DnsError> {
    let b = msg.get(at..at + 10).ok_or(DnsError::Truncated)?;
    let rdlen = usize::from(u16::from_be_bytes([b[8], b[9]]));
    let rdata_at = at + 10;
    let rdata = msg
        .get(rdata_at..rdata_at + rdlen)
        .ok_or(DnsError::Truncated)?;
    Ok(RecordTail {
        rtype: u16::from_be_bytes([b[0], b[1]]),
        rclass: u16::from_be_bytes([b[2], b[3]]),
        ttl: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        rdata_at,
        rdata,
        next: rdata_at + rdlen,
    })
}

/// TXT character-strings (RFC 1035 3.3.14): each length-prefixed; `f` gets each one.
/// Returns false when a length ran past the data.
pub fn txt_strings<'a>(rdata: &'a [u8], mut f: impl FnMut(&'a [u8])) -> bool {
    let mut i = 0usize;
    while let Some(&len) = rdata.get(i) {
        let Some(s) = rdata.get(i + 1..i + 1 + usize::from(len)) else {
            return false;
        };
        f(s);
        i += 1 + usize::from(len);
    }
    true
}
