//! Pure FTP control-connection parsing: reply lines, command lines, and the probe. No
//! state.
//!
//! RFC 959 4.1 (commands: USER, PASS), 4.2 (replies: three digits, `-` for a multi-line
//! reply, the last line repeating the code with a space), 5.4 (220 greeting, 230 logged
//! in, 331 password needed, 530 not logged in); RFC 4217 4 (AUTH TLS, 234 reply);
//! RFC 2228 3 (AUTH).

/// One reply line's code and text. `last`: the code is followed by a space (or nothing),
/// so this line ends the reply; `-` starts a multi-line reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyLine<'a> {
    pub code: u16,
    pub last: bool,
    pub text: &'a [u8],
}

/// Parses a reply line (without its line ending): three digits, then a space, a dash or
/// the end of the line.
pub fn parse_reply_line(line: &[u8]) -> Option<ReplyLine<'_>> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !(b'1'..=b'5').contains(&digits[0]) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
    let (last, text) = match line.get(3) {
        None => (true, &b""[..]),
        Some(b' ') => (true, line.get(4..).unwrap_or_default()),
        Some(b'-') => (false, line.get(4..).unwrap_or_default()),
        Some(_) => return None,
    };
    Some(ReplyLine { code, last, text })
}

/// A command line's verb and argument (without the line ending); the verb is what comes
/// before the first space.
pub fn parse_command(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|c| *c == b' ') {
        Some(i) => (
            line.get(..i).unwrap_or_default(),
            line.get(i + 1..).unwrap_or_default(),
        ),
        None => (line, &[]),
    }
}

/// A line without its ending (`\r\n` or a bare `\n`).
pub fn strip_eol(line: &[u8]) -> &[u8] {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// Commands a client may open an FTP session with.
const OPENING_COMMANDS: [&[u8]; 6] = [b"USER", b"AUTH", b"FEAT", b"SYST", b"OPTS", b"HOST"];

/// Greeting bytes scanned for the word `FTP` before giving up.
pub const PROBE_GREETING_BYTES: usize = 512;

/// The probe. Server side: a 220 greeting naming FTP (`220 (vsFTPd 3.0.3)`, `220
/// Microsoft FTP Service`); a 220 greeting that does not (SMTP greets with 220 too) is
/// left to the client side: an opening command (`USER`, `AUTH`, `FEAT`, `SYST`, `OPTS`,
/// `HOST`) followed by a space or the line end. `None`: not decided yet.
pub fn probe(to_client: bool, b: &[u8]) -> Option<bool> {
    if to_client {
        let head = b.get(..4.min(b.len())).unwrap_or_default();
        let ok_prefix = b"220 ".starts_with(head) || b"220-".starts_with(head);
        if !ok_prefix {
            return Some(false);
        }
        if b.len() < 4 {
            return None;
        }
        let scan = b.get(..b.len().min(PROBE_GREETING_BYTES)).unwrap_or(b);
        if scan.windows(3).any(|w| w.eq_ignore_ascii_case(b"ftp")) {
            return Some(true);
        }
        // A complete final greeting line without the word: not decided here.
        let mut at = 0;
        while let Some(nl) = scan.get(at..).and_then(|r| memchr::memchr(b'\n', r)) {
            let line = scan.get(at..at + nl).unwrap_or_default();
            if parse_reply_line(strip_eol(line)).is_some_and(|r| r.code == 220 && r.last) {
                return Some(false);
            }
            at += nl + 1;
        }
        if b.len() >= PROBE_GREETING_BYTES {
            Some(false)
        } else {
            None
        }
    } else {
        for c in OPENING_COMMANDS {
            let n = c.len().min(b.len());
            let have = b.get(..n).unwrap_or_default();
            if !have.eq_ignore_ascii_case(c.get(..n).unwrap_or_default()) {
                continue;
            }
            match b.get(c.len()) {
                None => return None,
                Some(b' ' | b'\r' | b'\n') => return Some(true),
                Some(_) => {}
            }
        }
        Some(false)
    }
}
