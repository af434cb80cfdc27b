//! Pure SNMP parsing: the BER subset SNMP uses (definite lengths, single-byte tags) and the
//! message layouts of v1, v2c and v3. No state; every read is bounds-checked.
//!
//! RFC 1157 4 (v1 Message and PDUs, Trap-PDU), RFC 3416 3 (v2 PDUs: GetBulk, Inform,
//! SNMPv2-Trap, Report), RFC 1901 3 (v2c message = v1 layout with version 1), RFC 3412 6
//! (v3 message: msgGlobalData, msgFlags, msgSecurityParameters, ScopedPduData), X.690 8.1
//! (BER identifier and length octets), 8.19 (OBJECT IDENTIFIER encoding).

/// BER tags used by SNMP.
pub const TAG_INTEGER: u8 = 0x02;
pub const TAG_OCTET_STRING: u8 = 0x04;
pub const TAG_OID: u8 = 0x06;
pub const TAG_SEQUENCE: u8 = 0x30;

/// Wire version numbers (RFC 1157, 1901, 3412).
pub const VERSION_1: u32 = 0;
pub const VERSION_2C: u32 = 1;
pub const VERSION_3: u32 = 3;

/// Why BER did not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BerError {
    /// A length runs past the bytes held.
    Truncated,
    /// Not BER as SNMP uses it: indefinite length, a length of more than 4 octets, a
    /// multi-byte tag, or an unexpected tag.
    Bad,
}

/// One BER element: its tag and value bytes, and the bytes after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
}

/// Reads one element. A length past the end gives `Truncated` together with nothing; use
/// [`read_tlv_lax`] to keep what is there.
pub fn read_tlv(b: &[u8]) -> Result<(Tlv<'_>, &[u8]), BerError> {
    let (tlv, rest, cut) = read_tlv_lax(b)?;
    if cut {
        return Err(BerError::Truncated);
    }
    Ok((tlv, rest))
}

/// Reads one element; when its length runs past the end, the value is what is there and
/// the bool is true.
pub fn read_tlv_lax(b: &[u8]) -> Result<(Tlv<'_>, &[u8], bool), BerError> {
    let tag = *b.first().ok_or(BerError::Truncated)?;
    if tag & 0x1f == 0x1f {
        return Err(BerError::Bad);
    }
    let first = *b.get(1).ok_or(BerError::Truncated)?;
    let (len, hdr) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(BerError::Bad);
        }
        let bytes = b.get(2..2 + n).ok_or(BerError::Truncated)?;
        let len = bytes.iter().fold(0usize, |a, x| (a << 8) | usize::from(*x));
        (len, 2 + n)
    };
    let body = b.get(hdr..).unwrap_or_default();
    if body.len() < len {
        return Ok((Tlv { tag, value: body }, &[], true));
    }
    let (value, rest) = body.split_at(len);
    Ok((Tlv { tag, value }, rest, false))
}

/// A non-negative INTEGER of at most 4 octets.
pub fn parse_uint(v: &[u8]) -> Option<u32> {
    if v.is_empty() || v.len() > 5 || (v.len() == 5 && v.first() != Some(&0)) {
        return None;
    }
    if v.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    Some(
        v.iter()
            .fold(0u32, |a, x| a.wrapping_shl(8) | u32::from(*x)),
    )
}

/// An OBJECT IDENTIFIER's dotted form (X.690 8.19); `None` when an arc is unterminated or
/// longer than 64 bits.
pub fn parse_oid(v: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut arc: u64 = 0;
    let mut first = true;
    let mut in_arc = false;
    for &b in v {
        if arc > (u64::MAX >> 7) {
            return None;
        }
        arc = (arc << 7) | u64::from(b & 0x7f);
        in_arc = true;
        if b & 0x80 == 0 {
            if first {
                let (x, y) = if arc < 40 {
                    (0, arc)
                } else if arc < 80 {
                    (1, arc - 40)
                } else {
                    (2, arc - 80)
                };
                out.push_str(&format!("{x}.{y}"));
                first = false;
            } else {
                out.push_str(&format!(".{arc}"));
            }
            arc = 0;
            in_arc = false;
        }
    }
    if in_arc || first {
        return None;
    }
    Some(out)
}

/// The facts of one SNMP message, borrowed from the datagram.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnmpMessage<'a> {
    /// The wire version (0 = v1, 1 = v2c, 3 = v3).
    pub version: u32,
    /// The community (v1/v2c).
    pub community: Option<&'a [u8]>,
    /// The PDU's context tag (0xA0..0xA8), when it was reached.
    pub pdu_tag: Option<u8>,
    /// v3 msgFlags (bit 0 auth, bit 1 priv, bit 2 reportable).
    pub msg_flags: Option<u8>,
    /// v3 ScopedPduData was an encryptedPDU.
    pub encrypted: bool,
    /// Variable-binding OIDs (encoded), at most `max_vars`.
    pub vars: Vec<&'a [u8]>,
    /// More bindings than `max_vars`.
    pub vars_capped: bool,
    /// Something ran past the datagram or did not decode after the version; what came
    /// before is kept.
    pub truncated: bool,
}

/// Why a datagram is not SNMP at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageError {
    /// Not a SEQUENCE with an INTEGER version first.
    NotSnmp,
    /// A version other than 0, 1 or 3.
    UnknownVersion(u32),
}

/// Parses one message. Errors after the version are not fatal: the message comes back with
/// `truncated` set and what decoded before.
pub fn parse_message(b: &[u8], max_vars: usize) -> Result<SnmpMessage<'_>, MessageError> {
    let (outer, _, cut) = read_tlv_lax(b).map_err(|_| MessageError::NotSnmp)?;
    if outer.tag != TAG_SEQUENCE {
        return Err(MessageError::NotSnmp);
    }
    let (ver, rest) = read_tlv(outer.value).map_err(|_| MessageError::NotSnmp)?;
    if ver.tag != TAG_INTEGER {
        return Err(MessageError::NotSnmp);
    }
    let version = parse_uint(ver.value).ok_or(MessageError::NotSnmp)?;
    if !matches!(version, VERSION_1 | VERSION_2C | VERSION_3) {
        return Err(MessageError::UnknownVersion(version));
    }
    let mut m = SnmpMessage {
        version,
        ..SnmpMessage::default()
    };
    let ok = if version == VERSION_3 {
        parse_v3(rest, &mut m, max_vars)
    } else {
        parse_community_message(rest, &mut m, max_vars)
    };
    m.truncated |= cut || ok.is_none();
    Ok(m)
}

fn parse_community_message<'a>(
    b: &'a [u8],
    m: &mut SnmpMessage<'a>,
    max_vars: usize,
) -> Option<()> {
    let (c, rest) = read_tlv(b).ok()?;
    if c.tag != TAG_OCTET_STRING {
        return None;
    }
    m.community = Some(c.value);
    parse_pdu(rest, m, max_vars)
}

fn parse_pdu<'a>(b: &'a [u8], m: &mut SnmpMessage<'a>, max_vars: usize) -> Option<()> {
    let (pdu, _, cut) = read_tlv_lax(b).ok()?;
    if !(0xa0..=0xa8).contains(&pdu.tag) {
        return None;
    }
    m.pdu_tag = Some(pdu.tag);
    // Fields before the bindings: Trap-PDU (v1) has enterprise, agent-addr, generic-trap,
    // specific-trap, time-stamp; every other PDU request-id, error-status, error-index.
    let skip = if pdu.tag == 0xa4 { 5 } else { 3 };
    let mut rest = pdu.value;
    for _ in 0..skip {
        rest = read_tlv(rest).ok()?.1;
    }
    let (list, _, list_cut) = read_tlv_lax(rest).ok()?;
    if list.tag != TAG_SEQUENCE {
        return None;
    }
    let mut items = list.value;
    while !items.is_empty() {
        let Ok((vb, next, vb_cut)) = read_tlv_lax(items) else {
            return None;
        };
        if vb.tag != TAG_SEQUENCE {
            return None;
        }
        let (oid, _, _) = read_tlv_lax(vb.value).ok()?;
        if oid.tag != TAG_OID {
            return None;
        }
        if m.vars.len() >= max_vars {
            m.vars_capped = true;
            break;
        }
        m.vars.push(oid.value);
        if vb_cut {
            return None;
        }
        items = next;
    }
    if cut || list_cut {
        return None;
    }
    Some(())
}

fn parse_v3<'a>(b: &'a [u8], m: &mut SnmpMessage<'a>, max_vars: usize) -> Option<()> {
    // msgGlobalData: msgID, msgMaxSize, msgFlags (OCTET STRING of 1), msgSecurityModel.
    let (global, rest) = read_tlv(b).ok()?;
    if global.tag != TAG_SEQUENCE {
        return None;
    }
    let mut g = global.value;
    for _ in 0..2 {
        g = read_tlv(g).ok()?.1;
    }
    let (flags, _) = read_tlv(g).ok()?;
    if flags.tag != TAG_OCTET_STRING {
        return None;
    }
    m.msg_flags = flags.value.first().copied();
    // msgSecurityParameters (USM: engine id, user name, auth/priv parameters) is never read.
    let (sec, rest) = read_tlv(rest).ok()?;
    if sec.tag != TAG_OCTET_STRING {
        return None;
    }
    let (data, _, cut) = read_tlv_lax(rest).ok()?;
    match data.tag {
        TAG_OCTET_STRING => {
            m.encrypted = true;
            (!cut).then_some(())
        }
        TAG_SEQUENCE => {
            // ScopedPDU: contextEngineID, contextName, PDU.
            let mut s = data.value;
            for _ in 0..2 {
                s = read_tlv(s).ok()?.1;
            }
            parse_pdu(s, m, max_vars)?;
            (!cut).then_some(())
        }
        _ => None,
    }
}

/// The probe: a SEQUENCE, an INTEGER version 0, 1 or 3, then an OCTET STRING community
/// (v1/v2c) or the msgGlobalData SEQUENCE (v3).
pub fn probe(b: &[u8]) -> bool {
    let Ok((outer, _, _)) = read_tlv_lax(b) else {
        return false;
    };
    if outer.tag != TAG_SEQUENCE {
        return false;
    }
    let Ok((ver, rest)) = read_tlv(outer.value) else {
        return false;
    };
    if ver.tag != TAG_INTEGER {
        return false;
    }
    let next = rest.first().copied();
    match parse_uint(ver.value) {
        Some(VERSION_1 | VERSION_2C) => next == Some(TAG_OCTET_STRING),
        Some(VERSION_3) => next == Some(TAG_SEQUENCE),
        _ => false,
    }
}

/// Suricata's name of a PDU tag.
pub fn pdu_type_name(tag: u8) -> &'static str {
    match tag {
        0xa0 => "get_request",
        0xa1 => "get_next_request",
        0xa2 => "response",
        0xa3 => "set_request",
        0xa4 => "trap_v1",
        0xa5 => "get_bulk_request",
        0xa6 => "inform_request",
        0xa7 => "trap_v2",
        0xa8 => "report",
        _ => "unknown",
    }
}
