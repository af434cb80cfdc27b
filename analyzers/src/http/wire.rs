//! Pure HTTP/1.x parsing: probe, end of a header block, request and response heads
//! (through `httparse`, whose types stay in this file), body framing, chunk-size lines,
//! URL path and Host splitting. No state.
//!
//! RFC 9112 2.2 (message parsing, empty lines before a request ignored), 3 (request
//! line), 4 (status line), 6.1-6.3 (Transfer-Encoding, Content-Length, message body
//! length), 7.1 (chunked coding); RFC 9110 11.6.2 / RFC 7617 (Basic authentication).

/// Methods the probe accepts at the start of a direction (RFC 9110 9.3, WebDAV, RFC 5789).
const METHODS: [&[u8]; 16] = [
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"CONNECT ",
    b"PATCH ",
    b"TRACE ",
    b"PROPFIND ",
    b"PROPPATCH ",
    b"MKCOL ",
    b"COPY ",
    b"MOVE ",
    b"LOCK ",
    b"UNLOCK ",
];

/// Probe answer on the first bytes of a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    Match,
    NoMatch,
    NeedMore,
}

/// A request line's method and a space, or `HTTP/1.` (a response), at the start.
pub fn probe(b: &[u8]) -> ProbeResult {
    let mut need = false;
    for m in METHODS
        .iter()
        .copied()
        .chain(std::iter::once(&b"HTTP/1."[..]))
    {
        let n = m.len().min(b.len());
        if b.get(..n) == m.get(..n) {
            if n == m.len() {
                return ProbeResult::Match;
            }
            need = true;
        }
    }
    if need {
        ProbeResult::NeedMore
    } else {
        ProbeResult::NoMatch
    }
}

/// The length of the header block at the start of `b` (through its empty line), scanning
/// from `from` (a resumable scan: pass back what the previous call returned as `Err`).
/// `Err(resume)` when the empty line has not arrived yet.
pub fn header_end(b: &[u8], from: usize) -> Result<usize, usize> {
    let mut line_start = from;
    let mut i = from;
    while let Some(off) = b.get(i..).and_then(|r| memchr::memchr(b'\n', r)) {
        let nl = i + off;
        let line = b.get(line_start..nl).unwrap_or_default();
        if (line.is_empty() || line == b"\r") && line_start > 0 {
            return Ok(nl + 1);
        }
        line_start = nl + 1;
        i = nl + 1;
    }
    Err(line_start)
}

/// How a message body is delimited (RFC 9112 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
    /// Until the connection closes (responses only).
    UntilClose,
}

/// The facts of a parsed head, borrowed from the header block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head<'a> {
    pub method: Option<&'a str>,
    pub target: Option<&'a str>,
    pub status: Option<u16>,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub host: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
    pub server: Option<&'a [u8]>,
    pub content_type: Option<&'a [u8]>,
    pub content_length: Option<u64>,
    /// Content-Length present but not a number, or several that differ.
    pub bad_content_length: bool,
    pub chunked: bool,
    pub basic_auth: bool,
    /// The `Authorization`/`Proxy-Authorization` scheme, by name (see [`auth_scheme`]).
    pub auth_scheme: Option<&'static str>,
    /// `Upgrade` header present (a 101 answer switches protocols).
    pub upgrade: bool,
}

/// Why a head did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadError {
    /// Not HTTP/1.x syntax.
    Malformed,
    /// More header fields than `max_headers`.
    TooManyHeaders,
}

fn fill<'a>(head: &mut Head<'a>, headers: &[httparse::Header<'a>]) {
    for h in headers {
        let v = h.value;
        let name = h.name;
        if name.eq_ignore_ascii_case("host") {
            head.host.get_or_insert(v);
        } else if name.eq_ignore_ascii_case("user-agent") {
            head.user_agent.get_or_insert(v);
        } else if name.eq_ignore_ascii_case("server") {
            head.server.get_or_insert(v);
        } else if name.eq_ignore_ascii_case("content-type") {
            head.content_type.get_or_insert(v);
        } else if name.eq_ignore_ascii_case("content-length") {
            let t = trim(v);
            let n = std::str::from_utf8(t)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok());
            match (n, head.content_length) {
                (None, _) => head.bad_content_length = true,
                (Some(n), Some(p)) if p != n => head.bad_content_length = true,
                (Some(n), _) => head.content_length = Some(n),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked when it is the last coding listed (RFC 9112 6.3 item 4).
            let last = v.rsplit(|c| *c == b',').next().unwrap_or_default();
            head.chunked = trim(last).eq_ignore_ascii_case(b"chunked");
        } else if name.eq_ignore_ascii_case("authorization")
            || name.eq_ignore_ascii_case("proxy-authorization")
        {
            let t = trim(v);
            if t.len() >= 6
                && t.get(..6)
                    .is_some_and(|s| s.eq_ignore_ascii_case(b"basic "))
            {
                head.basic_auth = true;
            }
            head.auth_scheme.get_or_insert(auth_scheme(t));
        } else if name.eq_ignore_ascii_case("upgrade") {
            head.upgrade = true;
        }
    }
}

fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |i| i + 1);
    v.get(s..e).unwrap_or_default()
}

/// Headers parsed at most (httparse needs a fixed array); `max_headers` caps below it.
pub const HEADER_SLOTS: usize = 128;

/// Parses a complete request head (request line and headers through the empty line).
pub fn parse_request(block: &[u8], max_headers: usize) -> Result<Head<'_>, HeadError> {
    let mut slots = [httparse::EMPTY_HEADER; HEADER_SLOTS];
    let n = max_headers.clamp(1, HEADER_SLOTS);
    let mut req = httparse::Request::new(slots.get_mut(..n).unwrap_or_default());
    // Lenient as RFC 9112 3 and 5 allow recipients to be: runs of spaces in the request
    // line, header lines that are not fields skipped.
    let mut cfg = httparse::ParserConfig::default();
    cfg.allow_multiple_spaces_in_request_line_delimiters(true)
        .ignore_invalid_headers_in_requests(true);
    match cfg.parse_request(&mut req, block) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::Malformed),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooManyHeaders),
        Err(_) => return Err(HeadError::Malformed),
    }
    let mut head = Head {
        method: req.method,
        target: req.path,
        minor_version: req.version.unwrap_or(1),
        ..Head::default()
    };
    fill(&mut head, req.headers);
    Ok(head)
}

/// Parses a complete response head.
pub fn parse_response(block: &[u8], max_headers: usize) -> Result<Head<'_>, HeadError> {
    let mut slots = [httparse::EMPTY_HEADER; HEADER_SLOTS];
    let n = max_headers.clamp(1, HEADER_SLOTS);
    let mut resp = httparse::Response::new(slots.get_mut(..n).unwrap_or_default());
    let mut cfg = httparse::ParserConfig::default();
    cfg.allow_multiple_spaces_in_response_status_delimiters(true)
        .allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .ignore_invalid_headers_in_responses(true);
    match cfg.parse_response(&mut resp, block) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::Malformed),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooManyHeaders),
        Err(_) => return Err(HeadError::Malformed),
    }
    let mut head = Head {
        status: resp.code,
        minor_version: resp.version.unwrap_or(1),
        ..Head::default()
    };
    fill(&mut head, resp.headers);
    Ok(head)
}

/// Request body framing (RFC 9112 6.3: chunked wins over Content-Length; none otherwise).
pub fn request_framing(h: &Head<'_>) -> Framing {
    if h.chunked {
        Framing::Chunked
    } else {
        match h.content_length {
            Some(0) | None => Framing::None,
            Some(n) => Framing::Length(n),
        }
    }
}

/// Response body framing, given the request method it answers (RFC 9112 6.3 items 1-7).
pub fn response_framing(h: &Head<'_>, request_method: Option<&str>) -> Framing {
    let status = h.status.unwrap_or(0);
    let head_req = request_method.is_some_and(|m| m.eq_ignore_ascii_case("HEAD"));
    if head_req || (100..200).contains(&status) || status == 204 || status == 304 {
        return Framing::None;
    }
    if h.chunked {
        Framing::Chunked
    } else {
        match h.content_length {
            Some(0) => Framing::None,
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        }
    }
}

/// The size of a chunk-size line (`1a3;ext=1\r\n`, line ending excluded). `None` when
/// it is not hex or overflows.
pub fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let end = line
        .iter()
        .position(|c| *c == b';' || *c == b'\r' || *c == b' ' || *c == b'\t')
        .unwrap_or(line.len());
    let hex = line.get(..end)?;
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    let mut n: u64 = 0;
    for c in hex {
        let d = char::from(*c).to_digit(16)?;
        n = n.checked_mul(16)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// The request target without its query string or fragment; the bool says whether
/// something was cut.
pub fn url_path(target: &str) -> (&str, bool) {
    match target.find(['?', '#']) {
        Some(i) => (target.get(..i).unwrap_or_default(), true),
        None => (target, false),
    }
}

/// Splits a Host value into name and port (`[v6]:port` understood).
pub fn split_host(host: &[u8]) -> (&[u8], Option<u16>) {
    let host = trim(host);
    let colon = if host.first() == Some(&b'[') {
        host.iter()
            .position(|c| *c == b']')
            .and_then(|e| (host.get(e + 1) == Some(&b':')).then_some(e + 1))
    } else {
        host.iter().rposition(|c| *c == b':')
    };
    match colon {
        Some(i) => {
            let port = host
                .get(i + 1..)
                .and_then(|p| std::str::from_utf8(p).ok())
                .and_then(|p| p.parse::<u16>().ok());
            match port {
                Some(p) => (host.get(..i).unwrap_or_default(), Some(p)),
                None => (host, None),
            }
        }
        None => (host, None),
    }
}

/// The scheme of an `Authorization` value (RFC 9110 11.4: the token before the first
/// space), among the ones worth naming: `basic` (RFC 7617, a cleartext password),
/// `digest`, `ntlm`, `negotiate`, `bearer`; `other` otherwise. Never the credentials.
pub fn auth_scheme(value: &[u8]) -> &'static str {
    let v = trim(value);
    let end = v
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .unwrap_or(v.len());
    let scheme = v.get(..end).unwrap_or_default();
    for name in ["basic", "digest", "ntlm", "negotiate", "bearer"] {
        if scheme.eq_ignore_ascii_case(name.as_bytes()) {
            return name;
        }
    }
    "other"
}

/// How a request body is searched for a password field, by its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormKind {
    /// `application/x-www-form-urlencoded`: `name=value&...`.
    UrlEncoded,
    /// `multipart/form-data`: parts named by `Content-Disposition: form-data; name="..."`.
    Multipart,
    /// `application/json` (login APIs): object member names.
    Json,
}

/// The kind of form a request `Content-Type` announces (media type compared without its
/// parameters, any case).
pub fn form_kind(content_type: &[u8]) -> Option<FormKind> {
    let t = trim(content_type);
    let end = t.iter().position(|c| *c == b';').unwrap_or(t.len());
    let media = trim(t.get(..end).unwrap_or_default());
    if media.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
        Some(FormKind::UrlEncoded)
    } else if media.eq_ignore_ascii_case(b"multipart/form-data") {
        Some(FormKind::Multipart)
    } else if media.eq_ignore_ascii_case(b"application/json") {
        Some(FormKind::Json)
    } else {
        None
    }
}

/// Whether a response `Content-Type` is an HTML page (searched for a password input).
pub fn is_html(content_type: &[u8]) -> bool {
    let t = trim(content_type);
    let end = t.iter().position(|c| *c == b';').unwrap_or(t.len());
    let media = trim(t.get(..end).unwrap_or_default());
    media.eq_ignore_ascii_case(b"text/html") || media.eq_ignore_ascii_case(b"application/xhtml+xml")
}

/// A form field name that carries a password: it contains `password`, `passwd`,
/// `passcode`, `passphrase` or `pwd`, ends in `pass`, or is `pw` or `pin` (any case).
/// Only the name is looked at, never the value.
pub fn is_password_name(name: &[u8]) -> bool {
    let has = |n: &[u8]| {
        name.len() >= n.len() && name.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    };
    has(b"password")
        || has(b"passwd")
        || has(b"passcode")
        || has(b"passphrase")
        || has(b"pwd")
        || (name.len() >= 4
            && name
                .get(name.len() - 4..)
                .is_some_and(|t| t.eq_ignore_ascii_case(b"pass")))
        || name.eq_ignore_ascii_case(b"pw")
        || name.eq_ignore_ascii_case(b"pin")
}

/// Whether a form body (its first bytes) has a password-like field name.
pub fn form_has_password_field(kind: FormKind, body: &[u8]) -> bool {
    match kind {
        FormKind::UrlEncoded => body.split(|c| *c == b'&').any(|pair| {
            let name = pair.split(|c| *c == b'=').next().unwrap_or_default();
            is_password_name(trim(name))
        }),
        FormKind::Multipart => {
            // `name="..."` in part headers (not `filename="..."`).
            let mut at = 0;
            while let Some(off) = find_ci(body.get(at..).unwrap_or_default(), b"name=\"") {
                let start = at + off;
                let value_at = start + 6;
                let is_file = start >= 4
                    && body
                        .get(start - 4..start)
                        .is_some_and(|p| p.eq_ignore_ascii_case(b"file"));
                let rest = body.get(value_at..).unwrap_or_default();
                let end = rest.iter().position(|c| *c == b'"').unwrap_or(rest.len());
                if !is_file && is_password_name(rest.get(..end).unwrap_or_default()) {
                    return true;
                }
                at = value_at;
            }
            false
        }
        FormKind::Json => {
            // A quoted string followed by `:` is a member name.
            let mut i = 0;
            while let Some(q) = body.get(i..).and_then(|r| memchr::memchr(b'"', r)) {
                let s = i + q + 1;
                let rest = body.get(s..).unwrap_or_default();
                let Some(e) = string_end(rest) else {
                    return false;
                };
                let after = body.get(s + e + 1..).unwrap_or_default();
                let colon = after
                    .iter()
                    .find(|c| !c.is_ascii_whitespace())
                    .is_some_and(|c| *c == b':');
                if colon && is_password_name(rest.get(..e).unwrap_or_default()) {
                    return true;
                }
                i = s + e + 1;
            }
            false
        }
    }
}

/// The index of the closing quote of a JSON string whose body starts `b`.
fn string_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Case-insensitive search of ASCII `needle` in `hay`.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether an HTML page (its first bytes) has a password input: an `<input` tag whose
/// `type` attribute is `password` (quoted or not, any case).
pub fn html_has_password_input(body: &[u8]) -> bool {
    // Every `<` is a candidate (memchr: pages are mostly text between tags).
    for lt in memchr::memchr_iter(b'<', body) {
        let is_input = body
            .get(lt + 1..lt + 6)
            .is_some_and(|t| t.eq_ignore_ascii_case(b"input"));
        if !is_input {
            continue;
        }
        let rest = body.get(lt + 6..).unwrap_or_default();
        let end = memchr::memchr(b'>', rest).unwrap_or(rest.len());
        if input_is_password(rest.get(..end).unwrap_or_default()) {
            return true;
        }
    }
    false
}

/// The attributes of one `<input ...>` tag: is `type` `password`?
fn input_is_password(attrs: &[u8]) -> bool {
    let mut i = 0;
    while let Some(off) = find_ci(attrs.get(i..).unwrap_or_default(), b"type") {
        let s = i + off;
        i = s + 4;
        let before_ok = s == 0 || attrs.get(s - 1).is_some_and(|c| c.is_ascii_whitespace());
        if !before_ok {
            continue;
        }
        let mut j = s + 4;
        while attrs.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
            j += 1;
        }
        if attrs.get(j) != Some(&b'=') {
            continue;
        }
        j += 1;
        while attrs.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
            j += 1;
        }
        if matches!(attrs.get(j), Some(b'"' | b'\'')) {
            j += 1;
        }
        let value = attrs.get(j..j + 8).unwrap_or_default();
        let next = attrs.get(j + 8);
        if value.eq_ignore_ascii_case(b"password")
            && next.is_none_or(|c| matches!(c, b'"' | b'\'' | b'/') || c.is_ascii_whitespace())
        {
            return true;
        }
    }
    false
}
