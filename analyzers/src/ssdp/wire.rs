//! Pure SSDP parsing: the HTTP-over-UDP start line and header lines (UPnP Device
//! Architecture 2.0 section 1 (discovery), RFC 7230 3.1 start line, 3.2 header fields).
//! No state, no allocation.

/// The start line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `METHOD * HTTP/1.x`.
    Request { method: &'a [u8] },
    /// `HTTP/1.x NNN reason`.
    Response { status: u16 },
}

/// The SSDP methods (UDA 2.0 1.2, 1.3; `M-NOTIFY`/`M-SEARCH` on unicast).
const METHODS: [&[u8]; 3] = [b"NOTIFY", b"M-SEARCH", b"M-NOTIFY"];

/// One line (CRLF or LF terminated) from `b` at `at`: (line without terminator, next
/// offset, whether a terminator was found).
pub fn line(b: &[u8], at: usize) -> (&[u8], usize, bool) {
    let rest = b.get(at..).unwrap_or(&[]);
    match memchr::memchr(b'\n', rest) {
        Some(i) => {
            let l = rest.get(..i).unwrap_or(&[]);
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            (l, at + i + 1, true)
        }
        None => (rest, b.len(), false),
    }
}

/// Parses the start line; `None` when it is not SSDP's.
pub fn parse_start_line(l: &[u8]) -> Option<StartLine<'_>> {
    if let Some(rest) = l.strip_prefix(b"HTTP/1.") {
        let code = rest.get(2..5)?;
        if rest.get(1) != Some(&b' ') || !code.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        return Some(StartLine::Response { status });
    }
    let sp = memchr::memchr(b' ', l)?;
    let method = l.get(..sp)?;
    let rest = l.get(sp + 1..)?;
    if METHODS.contains(&method) && rest.starts_with(b"* HTTP/1.") {
        Some(StartLine::Request { method })
    } else {
        None
    }
}

/// Splits a header line into name and value (surrounding blanks trimmed); `None` without
/// a colon.
pub fn header(l: &[u8]) -> Option<(&[u8], &[u8])> {
    let c = memchr::memchr(b':', l)?;
    let name = l.get(..c)?.trim_ascii();
    let value = l.get(c + 1..)?.trim_ascii();
    Some((name, value))
}
