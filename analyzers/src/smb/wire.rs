//! Pure SMB parsing: the NetBIOS session header, and NEGOTIATE requests and responses of
//! SMB1 and SMB2/3. No state; every read is bounds-checked.
//!
//! RFC 1002 4.3 (session service packets), [MS-SMB] 2.2.4.52 (SMB_COM_NEGOTIATE: request
//! dialect strings; NT LM 0.12 response with DialectIndex and SecurityMode),
//! [MS-CIFS] 2.2.3.1 (SMB1 header), [MS-SMB2] 2.2.1 (SMB2 header), 2.2.3 (NEGOTIATE
//! request: DialectCount, Dialects), 2.2.4 (NEGOTIATE response: SecurityMode,
//! DialectRevision).

/// NetBIOS session service packet types (RFC 1002 4.3.1).
pub const NB_SESSION_MESSAGE: u8 = 0x00;
pub const NB_SESSION_REQUEST: u8 = 0x81;
pub const NB_POSITIVE_RESPONSE: u8 = 0x82;
pub const NB_NEGATIVE_RESPONSE: u8 = 0x83;
pub const NB_RETARGET_RESPONSE: u8 = 0x84;
pub const NB_KEEP_ALIVE: u8 = 0x85;

pub const SMB1_MAGIC: &[u8; 4] = b"\xffSMB";
pub const SMB2_MAGIC: &[u8; 4] = b"\xfeSMB";
/// SMB3 transform header (encrypted message).
pub const SMB2_TRANSFORM_MAGIC: &[u8; 4] = b"\xfdSMB";
/// SMB3.1.1 compression transform header.
pub const SMB2_COMPRESSION_MAGIC: &[u8; 4] = b"\xfcSMB";

/// SMB1 command code of NEGOTIATE.
pub const SMB1_COM_NEGOTIATE: u8 = 0x72;
/// SMB2 command code of NEGOTIATE.
pub const SMB2_NEGOTIATE: u16 = 0x0000;
/// SMB1 header length.
pub const SMB1_HEADER_LEN: usize = 32;
/// SMB2 header length.
pub const SMB2_HEADER_LEN: usize = 64;

/// The 4-byte NetBIOS session header: packet type and length of what follows. The length
/// is read as 24 bits: direct TCP (port 445, [MS-SMB2] 2.1) uses all three bytes, and
/// RFC 1002's 17-bit length is the same number when the top bits are zero.
pub fn parse_netbios_header(b: &[u8]) -> Option<(u8, u32)> {
    let h = b.get(..4)?;
    let len = u32::from(h[1]) << 16 | u32::from(h[2]) << 8 | u32::from(h[3]);
    Some((h[0], len))
}

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32le(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// What one SMB message (the bytes after the NetBIOS header) is, as far as negotiation
/// goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// Another command, an encrypted or compressed message: nothing to negotiate.
    Other,
    /// SMB1 NEGOTIATE request: the dialect strings offered, in order (at most
    /// `max_dialects`; `capped` when more were listed). `truncated`: the list ran past the
    /// message.
    Smb1Request {
        dialects: Vec<&'a [u8]>,
        capped: bool,
        truncated: bool,
    },
    /// SMB1 NEGOTIATE response: the index of the chosen dialect (0xFFFF: none), and
    /// whether signing is required (NT LM 0.12 responses only).
    Smb1Response {
        dialect_index: u16,
        signing_required: Option<bool>,
    },
    /// SMB2 NEGOTIATE request: the revisions offered (at most `max_dialects`).
    Smb2Request {
        dialects: Vec<u16>,
        capped: bool,
        truncated: bool,
    },
    /// SMB2 NEGOTIATE response: the revision chosen and SecurityMode's signing-required bit.
    Smb2Response {
        dialect: u16,
        signing_required: bool,
    },
}

/// Why a message did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// No SMB protocol identifier at the start.
    NotSmb,
    /// A NEGOTIATE shorter than its fixed part.
    Truncated,
    /// A message shorter than its SMB header, its command unknown.
    ShortHeader,
}

/// Parses one SMB message (SMB1 or SMB2 header first) for negotiation facts.
pub fn parse_message(b: &[u8], max_dialects: usize) -> Result<Message<'_>, WireError> {
    match b.get(..4) {
        Some(m) if m == SMB1_MAGIC => parse_smb1(b, max_dialects),
        Some(m) if m == SMB2_MAGIC => parse_smb2(b, max_dialects),
        Some(m) if m == SMB2_TRANSFORM_MAGIC || m == SMB2_COMPRESSION_MAGIC => Ok(Message::Other),
        None if [
            SMB1_MAGIC,
            SMB2_MAGIC,
            SMB2_TRANSFORM_MAGIC,
            SMB2_COMPRESSION_MAGIC,
        ]
        .iter()
        .any(|m| m.starts_with(b)) =>
        {
            Err(WireError::ShortHeader)
        }
        _ => Err(WireError::NotSmb),
    }
}

/// [MS-CIFS] 2.2.3.1: Protocol(4) Command(1) Status(4) Flags(1) Flags2(2) PIDHigh(2)
/// SecurityFeatures(8) Reserved(2) TID(2) PIDLow(2) UID(2) MID(2); then WordCount(1),
/// Words(2*WordCount), ByteCount(2), Bytes.
fn parse_smb1(b: &[u8], max_dialects: usize) -> Result<Message<'_>, WireError> {
    let Some(&command) = b.get(4) else {
        return Err(WireError::ShortHeader);
    };
    if command != SMB1_COM_NEGOTIATE {
        return if b.len() < SMB1_HEADER_LEN {
            Err(WireError::ShortHeader)
        } else {
            Ok(Message::Other)
        };
    }
    let flags = *b.get(9).ok_or(WireError::Truncated)?;
    let reply = flags & 0x80 != 0;
    let wc = usize::from(*b.get(SMB1_HEADER_LEN).ok_or(WireError::Truncated)?);
    if reply {
        // Words: DialectIndex(2), then for NT LM 0.12 (WordCount 17) SecurityMode(1).
        let dialect_index = u16le(b, SMB1_HEADER_LEN + 1).ok_or(WireError::Truncated)?;
        let signing_required = if wc == 17 {
            b.get(SMB1_HEADER_LEN + 3).map(|m| m & 0x08 != 0)
        } else {
            None
        };
        return Ok(Message::Smb1Response {
            dialect_index,
            signing_required,
        });
    }
    let bc_at = SMB1_HEADER_LEN + 1 + 2 * wc;
    let byte_count = usize::from(u16le(b, bc_at).ok_or(WireError::Truncated)?);
    let start = bc_at + 2;
    let avail = b.get(start..).unwrap_or_default();
    let mut truncated = avail.len() < byte_count;
    let data = avail.get(..byte_count).unwrap_or(avail);
    // Each dialect: BufferFormat 0x02, then a NUL-terminated OEM string.
    let mut dialects = Vec::new();
    let mut capped = false;
    let mut i = 0;
    while i < data.len() {
        if data.get(i) != Some(&0x02) {
            truncated = true;
            break;
        }
        let rest = data.get(i + 1..).unwrap_or_default();
        let Some(nul) = rest.iter().position(|c| *c == 0) else {
            truncated = true;
            break;
        };
        if dialects.len() >= max_dialects {
            capped = true;
            break;
        }
        dialects.push(rest.get(..nul).unwrap_or_default());
        i += nul + 2;
    }
    Ok(Message::Smb1Request {
        dialects,
        capped,
        truncated,
    })
}

/// [MS-SMB2] 2.2.1: ProtocolId(4) StructureSize(2) CreditCharge(2) Status(4) Command(2)
/// Credits(2) Flags(4) ...; 64 bytes. Flags bit 0x1 (SERVER_TO_REDIR) marks a response.
fn parse_smb2(b: &[u8], max_dialects: usize) -> Result<Message<'_>, WireError> {
    let command = u16le(b, 12).ok_or(WireError::ShortHeader)?;
    if command != SMB2_NEGOTIATE {
        return if b.len() < SMB2_HEADER_LEN {
            Err(WireError::ShortHeader)
        } else {
            Ok(Message::Other)
        };
    }
    let flags = u32le(b, 16).ok_or(WireError::Truncated)?;
    let body = SMB2_HEADER_LEN;
    if flags & 1 != 0 {
        // 2.2.4: StructureSize(2)=65 SecurityMode(2) DialectRevision(2) ...
        let mode = u16le(b, body + 2).ok_or(WireError::Truncated)?;
        let dialect = u16le(b, body + 4).ok_or(WireError::Truncated)?;
        return Ok(Message::Smb2Response {
            dialect,
            signing_required: mode & 0x0002 != 0,
        });
    }
    // 2.2.3: StructureSize(2)=36 DialectCount(2) SecurityMode(2) Reserved(2)
    // Capabilities(4) ClientGuid(16) NegotiateContextOffset/ClientStartTime(8) Dialects.
    let count = usize::from(u16le(b, body + 2).ok_or(WireError::Truncated)?);
    let mut dialects = Vec::new();
    let mut truncated = false;
    let capped = count > max_dialects;
    for k in 0..count.min(max_dialects) {
        match u16le(b, body + 36 + 2 * k) {
            Some(d) => dialects.push(d),
            None => {
                truncated = true;
                break;
            }
        }
    }
    Ok(Message::Smb2Request {
        dialects,
        capped,
        truncated,
    })
}

/// An SMB2 dialect revision as Suricata and the specs write it (`0x0311` -> `3.11`;
/// `0x02FF`, the multi-protocol wildcard, -> `2.??`).
pub fn smb2_dialect_name(d: u16) -> String {
    match d {
        0x0202 => "2.02".into(),
        0x0210 => "2.10".into(),
        0x0222 => "2.22".into(),
        0x0224 => "2.24".into(),
        0x02ff => "2.??".into(),
        0x0300 => "3.00".into(),
        0x0302 => "3.02".into(),
        0x0310 => "3.10".into(),
        0x0311 => "3.11".into(),
        _ => format!("0x{d:04x}"),
    }
}

/// An SMB1 dialect string that means SMB1 itself (not the `SMB 2.002`/`SMB 2.???` strings a
/// multi-protocol negotiate uses to reach SMB2).
pub fn is_smb1_dialect(name: &[u8]) -> bool {
    !name.starts_with(b"SMB 2.")
}

/// The probe on the first bytes of a direction: a NetBIOS session message carrying an SMB1,
/// SMB2, transform or compression header, or a NetBIOS session request (port 139's first
/// packet: two encoded 32-byte names).
pub fn probe(b: &[u8]) -> Option<bool> {
    let &t = b.first()?;
    match t {
        NB_SESSION_MESSAGE => {
            let magic = b.get(4..8);
            match magic {
                None => {
                    // Need the magic; a prefix of one of them keeps the answer open.
                    let have = b.get(4..).unwrap_or_default();
                    let prefix = [
                        SMB1_MAGIC,
                        SMB2_MAGIC,
                        SMB2_TRANSFORM_MAGIC,
                        SMB2_COMPRESSION_MAGIC,
                    ]
                    .iter()
                    .any(|m| m.starts_with(have));
                    if prefix && b.get(1).is_none_or(|x| *x == 0) {
                        None
                    } else {
                        Some(false)
                    }
                }
                Some(m) => Some(
                    b.get(1) == Some(&0)
                        && (m == SMB1_MAGIC
                            || m == SMB2_MAGIC
                            || m == SMB2_TRANSFORM_MAGIC
                            || m == SMB2_COMPRESSION_MAGIC),
                ),
            }
        }
        NB_SESSION_REQUEST => {
            // Length 68: two names, each a 0x20 length byte, 32 encoded bytes ('A'..'P'),
            // and a terminating zero.
            const HEAD: [u8; 4] = [0, 0, 68, 0x20];
            let have = b.get(1..b.len().min(5)).unwrap_or_default();
            if !HEAD.starts_with(have) {
                return Some(false);
            }
            if b.len() < 5 {
                return None;
            }
            let name = b.get(5..).unwrap_or_default();
            let n = name.len().min(32);
            let encoded = name
                .get(..n)
                .unwrap_or_default()
                .iter()
                .all(|c| (b'A'..=b'P').contains(c));
            if !encoded {
                Some(false)
            } else if n < 32 {
                None
            } else {
                Some(true)
            }
        }
        _ => Some(false),
    }
}
