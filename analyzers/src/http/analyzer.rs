//! The per-connection HTTP/1.x state machine: head collection (capped), body skipping by
//! Content-Length or chunked framing (never buffered), request/response pairing in order.

use super::event::*;
use super::wire::{self, FormKind, Framing, Head, HeadError};
use super::HttpConfig;
use model::{Cx, Direction, EventKind, Progress, StreamAnalyzer};
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug)]
struct Limits {
    max_header_bytes: usize,
    max_headers: usize,
    max_string_bytes: usize,
    max_pending_requests: usize,
    log_query_string: bool,
    max_form_scan_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Reading a chunk-size line.
    Size,
    /// Chunk data still to skip.
    Data(u64),
    /// The CRLF after chunk data.
    DataEnd,
    /// Trailer lines until the empty one.
    Trailer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Collecting a head.
    Head,
    /// Skipping a body of known length.
    Length(u64),
    Chunked(Chunk),
    /// Response body delimited by the end of the connection.
    UntilClose,
    /// Nothing more to parse (tunnel, lost sync, not HTTP).
    Skip,
}

struct DirState {
    phase: Phase,
    /// The head (or chunk line) being collected.
    buf: Vec<u8>,
    /// Where the header-end scan resumes in `buf`.
    scan: usize,
    /// The body being read belongs to a response (else a request).
    response_body: bool,
    /// The body's first bytes, kept to look for a password field or input.
    scan_body: Option<Scan>,
}

/// A body searched for a password field (request form) or input (HTML response).
struct Scan {
    kind: ScanKind,
    buf: Vec<u8>,
    /// The answer, once the searched bytes were all seen (the common case of a body
    /// arriving whole is searched in place, without a copy).
    found: Option<bool>,
}

impl Scan {
    fn new(kind: ScanKind) -> Self {
        Scan {
            kind,
            buf: Vec::new(),
            found: None,
        }
    }

    fn search(&self, b: &[u8]) -> bool {
        match self.kind {
            ScanKind::Form(k) => wire::form_has_password_field(k, b),
            ScanKind::Html => wire::html_has_password_input(b),
        }
    }

    /// Body bytes in order; `ends`: the body ends with them. The bytes searched are the
    /// body's first `cap`, whatever the deliveries.
    fn feed(&mut self, data: &[u8], ends: bool, cap: usize) {
        if self.found.is_some() {
            return;
        }
        let room = cap.saturating_sub(self.buf.len());
        let take = data.get(..room.min(data.len())).unwrap_or_default();
        if self.buf.is_empty() && (ends || take.len() >= room) {
            self.found = Some(self.search(take));
            return;
        }
        self.buf.extend_from_slice(take);
        if self.buf.len() >= cap {
            self.found = Some(self.search(&self.buf));
            self.buf = Vec::new();
        }
    }

    fn result(&self) -> bool {
        self.found.unwrap_or_else(|| self.search(&self.buf))
    }
}

#[derive(Clone, Copy)]
enum ScanKind {
    Form(FormKind),
    Html,
}

impl DirState {
    fn new() -> Self {
        DirState {
            phase: Phase::Head,
            buf: Vec::new(),
            scan: 0,
            response_body: false,
            scan_body: None,
        }
    }
}

/// The HTTP analyzer of one TCP connection.
pub struct HttpAnalyzer {
    lim: Limits,
    dirs: [DirState; 2],
    /// Requests waiting for their response, oldest first.
    requests: VecDeque<Box<HttpEvent>>,
    /// The response whose body is being read.
    response: Option<Box<HttpEvent>>,
    out: Vec<Out>,
}

/// What parsing produced, reported once the borrows end.
enum Out {
    Event(Box<HttpEvent>),
    Anomaly(&'static str, Direction),
}

impl HttpAnalyzer {
    pub fn new(cfg: &HttpConfig) -> Self {
        HttpAnalyzer {
            lim: Limits {
                max_header_bytes: cfg.max_header_bytes.max(16),
                max_headers: cfg.max_headers,
                max_string_bytes: cfg.max_string_bytes,
                max_pending_requests: cfg.max_pending_requests,
                log_query_string: cfg.log_query_string,
                max_form_scan_bytes: cfg.max_form_scan_bytes,
            },
            dirs: [DirState::new(), DirState::new()],
            requests: VecDeque::new(),
            response: None,
            out: Vec::new(),
        }
    }

    fn feed(&mut self, dir: Direction, data: &[u8]) {
        let mut pos = 0;
        while pos < data.len() {
            let rest = data.get(pos..).unwrap_or_default();
            let phase = self.dirs[dir.index()].phase;
            match phase {
                Phase::Skip => return,
                Phase::UntilClose => {
                    self.body_bytes(dir, rest.len() as u64);
                    self.scan_bytes(dir, rest, false);
                    return;
                }
                Phase::Length(n) => {
                    let k = n.min(rest.len() as u64);
                    self.body_bytes(dir, k);
                    self.scan_bytes(dir, rest.get(..k as usize).unwrap_or_default(), k == n);
                    pos += k as usize;
                    if k == n {
                        self.body_done(dir);
                    } else {
                        self.dirs[dir.index()].phase = Phase::Length(n - k);
                    }
                }
                Phase::Chunked(c) => pos += self.chunked(dir, c, rest),
                Phase::Head => pos += self.head_bytes(dir, rest),
            }
        }
    }

    /// Collects head bytes; parses the head once complete. Returns bytes consumed.
    fn head_bytes(&mut self, dir: Direction, rest: &[u8]) -> usize {
        let lim = self.lim;
        let d = &mut self.dirs[dir.index()];
        if d.buf.is_empty() {
            // Empty lines before a message are ignored (RFC 9112 2.2).
            let skip = rest
                .iter()
                .position(|c| *c != b'\r' && *c != b'\n')
                .unwrap_or(rest.len());
            if skip > 0 {
                return skip;
            }
            // Fast path: the whole head is in this delivery.
            if let Ok(e) = wire::header_end(rest, 0) {
                if e <= lim.max_header_bytes {
                    self.on_head(dir, rest.get(..e).unwrap_or_default());
                    return e;
                }
            }
        }
        let d = &mut self.dirs[dir.index()];
        let old = d.buf.len();
        let room = lim.max_header_bytes.saturating_sub(old);
        let take = rest.len().min(room);
        d.buf
            .extend_from_slice(rest.get(..take).unwrap_or_default());
        match wire::header_end(&d.buf, d.scan) {
            Ok(e) => {
                let block = std::mem::take(&mut d.buf);
                d.scan = 0;
                self.on_head(dir, block.get(..e).unwrap_or_default());
                e - old
            }
            Err(resume) => {
                d.scan = resume;
                if d.buf.len() >= lim.max_header_bytes {
                    self.out.push(Out::Anomaly(HEADER_TOO_LARGE, dir));
                    self.lose_sync(dir);
                    return rest.len();
                }
                take
            }
        }
    }

    /// A complete head: a request or a response, by its first bytes.
    fn on_head(&mut self, dir: Direction, block: &[u8]) {
        let lim = self.lim;
        let is_response = block.starts_with(b"HTTP/");
        let parsed = if is_response {
            wire::parse_response(block, lim.max_headers)
        } else {
            wire::parse_request(block, lim.max_headers)
        };
        let head = match parsed {
            Ok(h) => h,
            Err(e) => {
                let code = match e {
                    HeadError::TooManyHeaders => TOO_MANY_HEADERS,
                    HeadError::Malformed => MALFORMED_HEAD,
                };
                self.out.push(Out::Anomaly(code, dir));
                self.lose_sync(dir);
                return;
            }
        };
        if head.bad_content_length && !head.chunked {
            // Report what the head says, then stop: the body cannot be delimited.
            if is_response {
                self.on_response(dir, &head);
                self.finish_response(false);
            } else {
                self.on_request(dir, &head);
            }
            self.out.push(Out::Anomaly(BAD_CONTENT_LENGTH, dir));
            self.lose_sync(dir);
            return;
        }
        if is_response {
            self.on_response(dir, &head);
        } else {
            self.on_request(dir, &head);
        }
    }

    fn on_request(&mut self, dir: Direction, h: &Head<'_>) {
        let lim = self.lim;
        let mut ev = Box::new(HttpEvent::default());
        let mut capped = false;
        let mut text = |b: &[u8]| {
            let (s, c) = capped_text(b, lim.max_string_bytes);
            capped |= c;
            s
        };
        ev.http_method = h.method.map(|m| text(m.as_bytes()));
        if let Some(t) = h.target {
            let (shown, cut) = if lim.log_query_string {
                (t, false)
            } else {
                wire::url_path(t)
            };
            ev.url = Some(text(shown.as_bytes()));
            ev.url_query_removed = cut;
        }
        if let Some(host) = h.host {
            let (name, port) = wire::split_host(host);
            ev.hostname = Some(text(name));
            ev.http_port = port;
        }
        ev.http_user_agent = h.user_agent.map(&mut text);
        ev.protocol = Some(protocol(h.minor_version));
        ev.capped = capped;
        ev.http_auth = h.auth_scheme;
        if h.basic_auth {
            ev.credentials_present = true;
            ev.cleartext_credentials = true;
            self.out.push(Out::Anomaly(CLEARTEXT_CREDENTIALS, dir));
        }
        if self.requests.len() >= lim.max_pending_requests {
            self.out.push(Out::Anomaly(TOO_MANY_PENDING_REQUESTS, dir));
            if let Some(old) = self.requests.pop_front() {
                self.out.push(Out::Event(old));
            }
        }
        let connect = h.method.is_some_and(|m| m.eq_ignore_ascii_case("CONNECT"));
        if lim.max_pending_requests == 0 {
            self.out.push(Out::Event(ev));
        } else {
            self.requests.push_back(ev);
        }
        let d = &mut self.dirs[dir.index()];
        d.response_body = false;
        d.phase = match wire::request_framing(h) {
            Framing::None | Framing::UntilClose => Phase::Head,
            Framing::Length(n) => Phase::Length(n),
            Framing::Chunked => Phase::Chunked(Chunk::Size),
        };
        d.scan_body = None;
        if d.phase != Phase::Head && lim.max_form_scan_bytes > 0 {
            if let Some(kind) = h.content_type.and_then(wire::form_kind) {
                d.scan_body = Some(Scan::new(ScanKind::Form(kind)));
            }
        }
        // After CONNECT the client's bytes are the tunnel's.
        if connect {
            d.phase = Phase::Skip;
        }
    }

    fn on_response(&mut self, dir: Direction, h: &Head<'_>) {
        let lim = self.lim;
        let status = h.status.unwrap_or(0);
        // An interim (1xx) response answers nothing yet; 101 switches protocols.
        if (100..200).contains(&status) && status != 101 {
            self.dirs[dir.index()].phase = Phase::Head;
            return;
        }
        // A previous response still open (until-close framing cannot be followed by
        // another response; this one is reported as it stands).
        self.finish_response(false);
        let mut ev = self.requests.pop_front().unwrap_or_default();
        let mut capped = false;
        let mut text = |b: &[u8]| {
            let (s, c) = capped_text(b, lim.max_string_bytes);
            capped |= c;
            s
        };
        ev.status = h.status;
        ev.server = h.server.map(&mut text);
        ev.http_content_type = h.content_type.map(&mut text);
        if ev.protocol.is_none() {
            ev.protocol = Some(protocol(h.minor_version));
        }
        ev.capped |= capped;
        let framing = wire::response_framing(h, ev.http_method.as_deref());
        let tunnel = status == 101
            || ((200..300).contains(&status)
                && ev
                    .http_method
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case("CONNECT")));
        self.response = Some(ev);
        let d = &mut self.dirs[dir.index()];
        d.response_body = true;
        if tunnel {
            self.finish_response(true);
            for d in &mut self.dirs {
                d.phase = Phase::Skip;
                d.buf = Vec::new();
            }
            return;
        }
        d.phase = match framing {
            Framing::None => Phase::Head,
            Framing::Length(n) => Phase::Length(n),
            Framing::Chunked => Phase::Chunked(Chunk::Size),
            Framing::UntilClose => Phase::UntilClose,
        };
        d.scan_body = None;
        if framing != Framing::None
            && lim.max_form_scan_bytes > 0
            && h.content_type.is_some_and(wire::is_html)
        {
            d.scan_body = Some(Scan::new(ScanKind::Html));
        }
        if framing == Framing::None {
            self.finish_response(true);
        }
    }

    /// Counts body bytes on the message being read in `dir`.
    fn body_bytes(&mut self, dir: Direction, n: u64) {
        if self.dirs[dir.index()].response_body {
            if let Some(r) = self.response.as_mut() {
                r.length = r.length.saturating_add(n);
            }
        } else if let Some(r) = self.requests.back_mut() {
            r.request_length = r.request_length.saturating_add(n);
        }
    }

    /// The body of the message in `dir` ended.
    fn body_done(&mut self, dir: Direction) {
        self.conclude_scan(dir);
        let d = &mut self.dirs[dir.index()];
        d.phase = Phase::Head;
        if d.response_body {
            d.response_body = false;
            self.finish_response(true);
        }
    }

    /// Keeps the first body bytes of a message being searched, up to the cap.
    fn scan_bytes(&mut self, dir: Direction, data: &[u8], ends: bool) {
        let cap = self.lim.max_form_scan_bytes;
        if let Some(s) = self.dirs[dir.index()].scan_body.as_mut() {
            s.feed(data, ends, cap);
        }
    }

    /// The searched body of `dir` ended (or was cut): its facts go on its event.
    fn conclude_scan(&mut self, dir: Direction) {
        let Some(scan) = self.dirs[dir.index()].scan_body.take() else {
            return;
        };
        let found = scan.result();
        match scan.kind {
            ScanKind::Form(_) => {
                if found {
                    if let Some(r) = self.requests.back_mut() {
                        r.password_field = true;
                        r.cleartext_credentials = true;
                        self.out.push(Out::Anomaly(CLEARTEXT_CREDENTIALS, dir));
                    }
                }
            }
            ScanKind::Html => {
                if found {
                    if let Some(r) = self.response.as_mut() {
                        r.login_form = true;
                    }
                }
            }
        }
    }

    /// Reports the open response (`complete`: its body was read to its end).
    fn finish_response(&mut self, complete: bool) {
        if let Some(mut r) = self.response.take() {
            if !complete {
                r.truncated = true;
            }
            self.out.push(Out::Event(r));
        }
    }

    /// Chunked body bytes; returns bytes consumed.
    fn chunked(&mut self, dir: Direction, c: Chunk, rest: &[u8]) -> usize {
        let lim = self.lim;
        match c {
            Chunk::Data(n) => {
                let k = n.min(rest.len() as u64);
                self.body_bytes(dir, k);
                self.scan_bytes(dir, rest.get(..k as usize).unwrap_or_default(), false);
                self.dirs[dir.index()].phase = Phase::Chunked(if k == n {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(n - k)
                });
                k as usize
            }
            Chunk::DataEnd => {
                let Some(&b) = rest.first() else {
                    return 0;
                };
                match b {
                    b'\r' => {}
                    b'\n' => self.dirs[dir.index()].phase = Phase::Chunked(Chunk::Size),
                    _ => {
                        self.out.push(Out::Anomaly(BAD_CHUNK, dir));
                        self.lose_sync(dir);
                        return rest.len();
                    }
                }
                1
            }
            Chunk::Size | Chunk::Trailer => {
                let d = &mut self.dirs[dir.index()];
                let Some(nl) = memchr::memchr(b'\n', rest) else {
                    if d.buf.len() + rest.len() > lim.max_header_bytes {
                        self.out.push(Out::Anomaly(BAD_CHUNK, dir));
                        self.lose_sync(dir);
                    } else {
                        d.buf.extend_from_slice(rest);
                    }
                    return rest.len();
                };
                if d.buf.len() + nl > lim.max_header_bytes {
                    self.out.push(Out::Anomaly(BAD_CHUNK, dir));
                    self.lose_sync(dir);
                    return rest.len();
                }
                d.buf.extend_from_slice(rest.get(..nl).unwrap_or_default());
                let line = std::mem::take(&mut d.buf);
                let line = line.strip_suffix(b"\r").unwrap_or(&line);
                if c == Chunk::Trailer {
                    if line.is_empty() {
                        self.body_done(dir);
                    }
                    return nl + 1;
                }
                match wire::parse_chunk_size(line) {
                    Some(0) => d.phase = Phase::Chunked(Chunk::Trailer),
                    Some(n) => d.phase = Phase::Chunked(Chunk::Data(n)),
                    None => {
                        self.out.push(Out::Anomaly(BAD_CHUNK, dir));
                        self.lose_sync(dir);
                        return rest.len();
                    }
                }
                nl + 1
            }
        }
    }

    /// This direction can no longer be followed: the message being read is cut.
    fn lose_sync(&mut self, dir: Direction) {
        self.conclude_scan(dir);
        let d = &mut self.dirs[dir.index()];
        let was = d.phase;
        d.phase = Phase::Skip;
        d.buf = Vec::new();
        d.scan = 0;
        if d.response_body && was != Phase::Head {
            d.response_body = false;
            self.finish_response(false);
        } else if was != Phase::Head && was != Phase::Skip {
            if let Some(r) = self.requests.back_mut() {
                r.truncated = true;
            }
        }
    }

    fn report(&mut self, cx: &mut Cx<'_>) {
        for o in std::mem::take(&mut self.out) {
            match o {
                Out::Event(ev) => cx.emit(EventKind::Http(ev)),
                Out::Anomaly(code, dir) => cx.anomaly(NAME, code, Some(dir)),
            }
        }
    }
}

fn protocol(minor: u8) -> String {
    format!("HTTP/1.{minor}")
}

impl StreamAnalyzer for HttpAnalyzer {
    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) -> Progress {
        self.feed(dir, data);
        if !self.out.is_empty() {
            self.report(cx);
        }
        Progress::Done
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        let d = &mut self.dirs[dir.index()];
        match d.phase {
            // A hole inside a body of known length loses nothing but body bytes.
            Phase::Length(n) if len < n => {
                d.phase = Phase::Length(n - len);
                self.body_bytes(dir, len);
                // Bytes after the hole do not continue the searched ones.
                self.conclude_scan(dir);
            }
            Phase::UntilClose | Phase::Skip => {
                self.body_bytes(dir, len);
                self.conclude_scan(dir);
            }
            _ => {
                self.out.push(Out::Anomaly(GAP_LOST_SYNC, dir));
                self.lose_sync(dir);
            }
        }
        self.report(cx);
    }

    fn on_eof(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        let d = &mut self.dirs[dir.index()];
        match d.phase {
            Phase::UntilClose => {
                d.phase = Phase::Skip;
                d.response_body = false;
                self.conclude_scan(dir);
                self.finish_response(true);
            }
            Phase::Head if !d.buf.is_empty() => {
                self.out.push(Out::Anomaly(TRUNCATED_HEAD, dir));
                d.buf = Vec::new();
            }
            Phase::Length(_) | Phase::Chunked(_) => self.lose_sync(dir),
            _ => {}
        }
        self.dirs[dir.index()].phase = Phase::Skip;
        self.report(cx);
    }

    fn on_close(&mut self, cx: &mut Cx<'_>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            if self.dirs[dir.index()].phase != Phase::Skip {
                self.on_eof(cx, dir);
            }
        }
        self.finish_response(false);
        while let Some(r) = self.requests.pop_front() {
            self.out.push(Out::Event(r));
        }
        self.report(cx);
    }
}
