//! Pure TLS parsing: record headers, handshake message headers, ClientHello and
//! ServerHello bodies (tolerating truncation: what was read is kept), and the JA3, JA3S
//! and JA4 fingerprints. No state. `tls-parser` types stay inside this file.
//!
//! RFC 8446 5.1 (record layer), 4 (handshake), 4.1.2 (ClientHello), 4.1.3 (ServerHello,
//! HelloRetryRequest), 4.2 (extensions); RFC 5246 7.4.1.2 for TLS 1.2 and earlier;
//! RFC 8701 (GREASE); RFC 6066 3 (server_name); RFC 7301 (ALPN).

use md5::{Digest as _, Md5};
use sha2::Sha256;
use tls_parser::TlsExtension;

/// Record content types (RFC 8446 5.1).
pub const CT_CHANGE_CIPHER_SPEC: u8 = 20;
pub const CT_ALERT: u8 = 21;
pub const CT_HANDSHAKE: u8 = 22;
pub const CT_APPLICATION_DATA: u8 = 23;
pub const CT_HEARTBEAT: u8 = 24;

/// Handshake types.
pub const HS_CLIENT_HELLO: u8 = 1;
pub const HS_SERVER_HELLO: u8 = 2;

/// Record header length.
pub const RECORD_HEADER_LEN: usize = 5;
/// Largest record body a peer may send: 2^14 plus the 2048 bytes of expansion RFC 5246
/// 6.2.3 allows for ciphertext.
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Extension types this module looks into.
pub const EXT_SERVER_NAME: u16 = 0;
pub const EXT_SUPPORTED_GROUPS: u16 = 10;
pub const EXT_EC_POINT_FORMATS: u16 = 11;
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
pub const EXT_ALPN: u16 = 16;
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// A reserved GREASE value (RFC 8701): `0x?a?a` with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// A TLS record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: u8,
    pub version: u16,
    pub length: usize,
}

/// Why a record header is not TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// Fewer than 5 bytes.
    Incomplete,
    /// Unknown content type, version or an impossible length.
    Invalid,
}

/// Parses a record header (RFC 8446 5.1): type, legacy version 0x0300..=0x0304, length.
pub fn parse_record_header(b: &[u8]) -> Result<RecordHeader, RecordError> {
    let Some(h) = b.get(..RECORD_HEADER_LEN) else {
        return Err(RecordError::Incomplete);
    };
    let content_type = h[0];
    let version = u16::from_be_bytes([h[1], h[2]]);
    let length = usize::from(u16::from_be_bytes([h[3], h[4]]));
    let type_ok = (CT_CHANGE_CIPHER_SPEC..=CT_HEARTBEAT).contains(&content_type);
    let version_ok = (0x0300..=0x0304).contains(&version);
    if !type_ok || !version_ok || length > MAX_RECORD_LEN {
        return Err(RecordError::Invalid);
    }
    Ok(RecordHeader {
        content_type,
        version,
        length,
    })
}

/// Probe answer on the first bytes of a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    Match,
    NoMatch,
    NeedMore,
}

/// A handshake record carrying a ClientHello or ServerHello at the start of `b`:
/// `16 03 0{0-4} len(1..=18432) 01|02`, and when present the handshake length fits
/// a ClientHello/ServerHello (at least 38 bytes of body).
pub fn probe(b: &[u8]) -> ProbeResult {
    let expect: [fn(u8) -> bool; 3] = [|x| x == CT_HANDSHAKE, |x| x == 3, |x| x <= 4];
    for (i, ok) in expect.iter().enumerate() {
        match b.get(i) {
            None => return ProbeResult::NeedMore,
            Some(x) if !ok(*x) => return ProbeResult::NoMatch,
            Some(_) => {}
        }
    }
    let (Some(&l0), Some(&l1)) = (b.get(3), b.get(4)) else {
        return ProbeResult::NeedMore;
    };
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    if !(4..=MAX_RECORD_LEN).contains(&len) {
        return ProbeResult::NoMatch;
    }
    match b.get(5) {
        None => ProbeResult::NeedMore,
        Some(&t) if t == HS_CLIENT_HELLO || t == HS_SERVER_HELLO => {
            // A hello body is at least version + random + session id length (35 bytes).
            match (b.get(6), b.get(7), b.get(8)) {
                (Some(&a), Some(&c), Some(&d)) => {
                    let hl = (usize::from(a) << 16) | (usize::from(c) << 8) | usize::from(d);
                    if (35..(1 << 24)).contains(&hl) {
                        ProbeResult::Match
                    } else {
                        ProbeResult::NoMatch
                    }
                }
                _ => ProbeResult::NeedMore,
            }
        }
        Some(_) => ProbeResult::NoMatch,
    }
}

/// A handshake message header: type and body length (24 bits).
pub fn parse_handshake_header(b: &[u8]) -> Option<(u8, usize)> {
    let h = b.get(..4)?;
    let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
    Some((h[0], len))
}

/// A small bounds-checked big-endian reader.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&x, rest) = self.b.split_first()?;
        self.b = rest;
        Some(x)
    }
    fn u16(&mut self) -> Option<u16> {
        let x = self.b.get(..2)?;
        let v = u16::from_be_bytes([x[0], x[1]]);
        self.b = self.b.get(2..)?;
        Some(v)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let x = self.b.get(..n)?;
        self.b = self.b.get(n..)?;
        Some(x)
    }
    /// Takes up to `n` bytes; the bool says whether all `n` were there.
    fn take_upto(&mut self, n: usize) -> (&'a [u8], bool) {
        let k = n.min(self.b.len());
        let (x, rest) = self.b.split_at(k);
        self.b = rest;
        (x, k == n)
    }
}

/// One extension: its type and body as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawExtension<'a> {
    pub kind: u16,
    pub data: &'a [u8],
}

/// A parsed ClientHello, borrowed from the handshake bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello<'a> {
    pub version: u16,
    pub cipher_suites: Vec<u16>,
    /// Extension types in order (GREASE included), the whole list even past `max_items`
    /// callers cap it when storing.
    pub extensions: Vec<u16>,
    pub server_name: Option<&'a [u8]>,
    pub alpns: Vec<&'a [u8]>,
    pub supported_versions: Vec<u16>,
    pub supported_groups: Vec<u16>,
    pub ec_point_formats: Vec<u8>,
    pub signature_algorithms: Vec<u16>,
    /// The body ended before its declared structure did.
    pub truncated: bool,
    /// An extension's content did not parse (its type is still listed).
    pub malformed_extension: bool,
}

/// A parsed ServerHello (or HelloRetryRequest).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello<'a> {
    pub version: u16,
    pub cipher_suite: u16,
    pub extensions: Vec<u16>,
    /// `supported_versions` selected version (TLS 1.3).
    pub selected_version: Option<u16>,
    pub alpn: Option<&'a [u8]>,
    pub hello_retry_request: bool,
    pub truncated: bool,
    pub malformed_extension: bool,
    /// Whether the cipher suite field was read (false when cut before it).
    pub has_cipher: bool,
}

/// Walks an extension block: (type, data) pairs; the bool is false when it was cut.
fn walk_extensions(mut r: Reader<'_>) -> (Vec<RawExtension<'_>>, bool) {
    let mut v = Vec::new();
    let Some(total) = r.u16() else {
        // No extension block at all is valid (TLS 1.0/1.1 hellos may omit it).
        return (v, r.b.is_empty());
    };
    let (mut block, complete) = {
        let (b, c) = r.take_upto(usize::from(total));
        (Reader { b }, c)
    };
    while !block.b.is_empty() {
        let (Some(kind), Some(len)) = (block.u16(), block.u16()) else {
            return (v, false);
        };
        let (data, whole) = block.take_upto(usize::from(len));
        v.push(RawExtension { kind, data });
        if !whole {
            return (v, false);
        }
    }
    (v, complete)
}

/// Decodes a list of u16 preceded by a u16 byte length.
fn u16_list(data: &[u8]) -> Option<Vec<u16>> {
    let mut r = Reader { b: data };
    let n = usize::from(r.u16()?);
    let body = r.take(n)?;
    if n % 2 != 0 {
        return None;
    }
    Some(
        body.chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect(),
    )
}

/// Fills the client fields of the extensions this module reads. Uses `tls-parser` for
/// SNI and ALPN content; simple lists are read directly.
fn read_client_extension<'a>(ch: &mut ClientHello<'a>, e: &RawExtension<'a>) {
    let ok = match e.kind {
        EXT_SERVER_NAME => {
            match tls_parser::parse_tls_extension_sni_content(e.data) {
                Ok((_, TlsExtension::SNI(names))) => {
                    // The first host_name (type 0) entry.
                    ch.server_name = names
                        .iter()
                        .find(|(t, _)| t.0 == 0)
                        .map(|(_, n)| *n)
                        .or(ch.server_name);
                    true
                }
                // An empty server_name extension is legal in a ServerHello only; count it.
                _ => false,
            }
        }
        EXT_ALPN => match tls_parser::parse_tls_extension_alpn_content(e.data) {
            Ok((_, TlsExtension::ALPN(v))) => {
                ch.alpns = v;
                true
            }
            _ => false,
        },
        EXT_SUPPORTED_GROUPS => u16_list(e.data).map(|v| ch.supported_groups = v).is_some(),
        EXT_SIGNATURE_ALGORITHMS => u16_list(e.data)
            .map(|v| ch.signature_algorithms = v)
            .is_some(),
        EXT_EC_POINT_FORMATS => {
            let mut r = Reader { b: e.data };
            match r.u8().and_then(|n| r.take(usize::from(n))) {
                Some(f) => {
                    ch.ec_point_formats = f.to_vec();
                    true
                }
                None => false,
            }
        }
        EXT_SUPPORTED_VERSIONS => {
            let mut r = Reader { b: e.data };
            match r.u8().and_then(|n| r.take(usize::from(n))) {
                Some(b) if b.len() % 2 == 0 => {
                    ch.supported_versions = b
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                    true
                }
                _ => false,
            }
        }
        _ => true,
    };
    if !ok {
        ch.malformed_extension = true;
    }
}

fn cut_client(mut ch: ClientHello<'_>) -> Option<ClientHello<'_>> {
    ch.truncated = true;
    Some(ch)
}

fn cut_server(mut sh: ServerHello<'_>) -> Option<ServerHello<'_>> {
    sh.truncated = true;
    Some(sh)
}

/// Parses a ClientHello body (after the 4-byte handshake header). A body cut short keeps
/// what was read and sets `truncated`. `None` only when not even the version is there.
pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello<'_>> {
    let mut r = Reader { b: body };
    let mut ch = ClientHello {
        version: r.u16()?,
        ..ClientHello::default()
    };
    if r.take(32).is_none() {
        return cut_client(ch);
    }
    let Some(sid_len) = r.u8() else {
        return cut_client(ch);
    };
    if r.take(usize::from(sid_len)).is_none() {
        return cut_client(ch);
    }
    let Some(cs_len) = r.u16() else {
        return cut_client(ch);
    };
    let (cs, whole) = r.take_upto(usize::from(cs_len));
    ch.cipher_suites = cs
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    if !whole || cs_len % 2 != 0 {
        return cut_client(ch);
    }
    let Some(comp_len) = r.u8() else {
        return cut_client(ch);
    };
    if r.take(usize::from(comp_len)).is_none() {
        return cut_client(ch);
    }
    let (exts, complete) = walk_extensions(r);
    ch.extensions = exts.iter().map(|e| e.kind).collect();
    for e in &exts {
        read_client_extension(&mut ch, e);
    }
    ch.truncated = !complete;
    Some(ch)
}

/// Parses a ServerHello body (after the handshake header); HelloRetryRequest is recognised
/// by its random. Truncation is handled as in [`parse_client_hello`].
pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello<'_>> {
    let mut r = Reader { b: body };
    let mut sh = ServerHello {
        version: r.u16()?,
        ..ServerHello::default()
    };
    let Some(random) = r.take(32) else {
        return cut_server(sh);
    };
    sh.hello_retry_request = random == HRR_RANDOM;
    let Some(sid_len) = r.u8() else {
        return cut_server(sh);
    };
    if r.take(usize::from(sid_len)).is_none() {
        return cut_server(sh);
    }
    let Some(cs) = r.u16() else {
        return cut_server(sh);
    };
    sh.cipher_suite = cs;
    sh.has_cipher = true;
    if r.u8().is_none() {
        return cut_server(sh);
    }
    let (exts, complete) = walk_extensions(r);
    sh.extensions = exts.iter().map(|e| e.kind).collect();
    for e in &exts {
        let ok = match e.kind {
            EXT_SUPPORTED_VERSIONS => match e.data {
                [a, b] => {
                    sh.selected_version = Some(u16::from_be_bytes([*a, *b]));
                    true
                }
                _ => false,
            },
            EXT_ALPN => match tls_parser::parse_tls_extension_alpn_content(e.data) {
                Ok((_, TlsExtension::ALPN(v))) => {
                    sh.alpn = v.first().copied();
                    true
                }
                _ => false,
            },
            _ => true,
        };
        if !ok {
            sh.malformed_extension = true;
        }
    }
    sh.truncated = !complete;
    Some(sh)
}

/// The IANA name of a cipher suite, from `tls-parser`'s table.
pub fn cipher_name(id: u16) -> Option<&'static str> {
    tls_parser::TlsCipherSuiteID(id)
        .get_ciphersuite()
        .map(|c| c.name)
}

fn join_dec<T: std::fmt::Display>(out: &mut String, items: impl Iterator<Item = T>) {
    use std::fmt::Write as _;
    for (i, x) in items.enumerate() {
        if i > 0 {
            out.push('-');
        }
        let _ = write!(out, "{x}");
    }
}

fn md5_hex(s: &str) -> String {
    hex(&Md5::digest(s.as_bytes()))
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// JA3 string: `version,ciphers,extensions,groups,point_formats` in decimal, GREASE
/// removed (Salesforce JA3).
pub fn ja3_string(ch: &ClientHello<'_>) -> String {
    let mut s = String::new();
    join_dec(&mut s, std::iter::once(ch.version));
    s.push(',');
    join_dec(&mut s, ch.cipher_suites.iter().filter(|v| !is_grease(**v)));
    s.push(',');
    join_dec(&mut s, ch.extensions.iter().filter(|v| !is_grease(**v)));
    s.push(',');
    join_dec(
        &mut s,
        ch.supported_groups.iter().filter(|v| !is_grease(**v)),
    );
    s.push(',');
    join_dec(&mut s, ch.ec_point_formats.iter());
    s
}

/// JA3S string: `version,cipher,extensions` in decimal.
pub fn ja3s_string(sh: &ServerHello<'_>) -> String {
    let mut s = String::new();
    join_dec(&mut s, std::iter::once(sh.version));
    s.push(',');
    join_dec(&mut s, std::iter::once(sh.cipher_suite));
    s.push(',');
    join_dec(&mut s, sh.extensions.iter().filter(|v| !is_grease(**v)));
    s
}

/// (string, MD5 hex) of a JA3 or JA3S string.
pub fn ja_hash(s: String) -> (String, String) {
    let h = md5_hex(&s);
    (s, h)
}

/// The JA4 version code of a version number.
fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn ja4_hash12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".into();
    }
    let mut h = hex(&Sha256::digest(s.as_bytes()));
    h.truncate(12);
    h
}

fn hex_list(v: &[u16]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{x:04x}");
    }
    s
}

/// JA4 (TLS client over TCP) of a ClientHello: `t{ver}{d|i}{ciphers:02}{exts:02}{alpn}`
/// `_{sha256(sorted ciphers)[..12]}_{sha256(sorted exts without SNI/ALPN _ sigalgs)[..12]}`,
/// GREASE ignored throughout. JA4 TLS-client specification, FoxIO, BSD-3-Clause.
pub fn ja4(ch: &ClientHello<'_>) -> String {
    let version = ch
        .supported_versions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(ch.version);
    let sni = if ch.extensions.contains(&EXT_SERVER_NAME) {
        'd'
    } else {
        'i'
    };
    let mut ciphers: Vec<u16> = ch
        .cipher_suites
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .collect();
    let exts: Vec<u16> = ch
        .extensions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .collect();
    let alpn = match ch.alpns.first() {
        Some(a) if !a.is_empty() => {
            let (f, l) = (a[0], a[a.len() - 1]);
            if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                format!("{}{}", char::from(f), char::from(l))
            } else {
                let h = hex(a);
                let mut cs = h.chars();
                let first = cs.next().unwrap_or('0');
                let last = h.chars().last().unwrap_or('0');
                format!("{first}{last}")
            }
        }
        _ => "00".into(),
    };
    let a = format!(
        "t{}{}{:02}{:02}{}",
        ja4_version(version),
        sni,
        ciphers.len().min(99),
        exts.len().min(99),
        alpn
    );
    ciphers.sort_unstable();
    let b = ja4_hash12(&hex_list(&ciphers));
    let mut sorted: Vec<u16> = exts
        .iter()
        .copied()
        .filter(|v| *v != EXT_SERVER_NAME && *v != EXT_ALPN)
        .collect();
    sorted.sort_unstable();
    let sigs: Vec<u16> = ch
        .signature_algorithms
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .collect();
    let c = if sorted.is_empty() {
        "000000000000".into()
    } else {
        let mut s = hex_list(&sorted);
        if !sigs.is_empty() {
            s.push('_');
            s.push_str(&hex_list(&sigs));
        }
        ja4_hash12(&s)
    };
    format!("{a}_{b}_{c}")
}
