//! The per-connection FTP state machine: control lines per direction (capped), multi-line
//! replies, login attempts paired with their 230/530 reply.

use super::event::*;
use super::wire;
use super::FtpConfig;
use crate::http::event::capped_text;
use model::{Cx, Direction, EventKind, Progress, StreamAnalyzer};

struct Lines {
    /// The line being collected.
    buf: Vec<u8>,
    /// Skipping to the end of an over-long line, or after a gap.
    discard: bool,
    /// Nothing more is read in this direction.
    off: bool,
}

impl Lines {
    fn new() -> Self {
        Lines {
            buf: Vec::new(),
            discard: false,
            off: false,
        }
    }
}

enum Out {
    Event(Box<FtpEvent>),
    Anomaly(&'static str, Direction),
}

/// The FTP analyzer of one TCP connection.
pub struct FtpAnalyzer {
    cfg: FtpConfig,
    dirs: [Lines; 2],
    /// The code of the multi-line reply in progress.
    multiline: Option<u16>,
    /// A server reply was read (so the flow is FTP).
    replied: bool,
    banner: Option<String>,
    capped: bool,
    /// The login attempt (or session facts) being assembled.
    ev: FtpEvent,
    /// An event was written for this connection.
    reported: bool,
    /// Nothing more is read (TLS started, or not FTP).
    done: bool,
    out: Vec<Out>,
}

impl FtpAnalyzer {
    pub fn new(cfg: &FtpConfig) -> Self {
        FtpAnalyzer {
            cfg: FtpConfig {
                max_line_bytes: cfg.max_line_bytes.max(16),
                ..cfg.clone()
            },
            dirs: [Lines::new(), Lines::new()],
            multiline: None,
            replied: false,
            banner: None,
            capped: false,
            ev: FtpEvent::default(),
            reported: false,
            done: false,
            out: Vec::new(),
        }
    }

    fn feed(&mut self, dir: Direction, data: &[u8]) {
        let max = self.cfg.max_line_bytes;
        let mut pos = 0;
        while pos < data.len() && !self.done && !self.dirs[dir.index()].off {
            let rest = data.get(pos..).unwrap_or_default();
            let nl = memchr::memchr(b'\n', rest);
            let piece = rest
                .get(..nl.map_or(rest.len(), |i| i + 1))
                .unwrap_or_default();
            pos += piece.len();
            let d = &mut self.dirs[dir.index()];
            if d.discard {
                if nl.is_some() {
                    d.discard = false;
                }
                continue;
            }
            if d.buf.len() + piece.len() > max {
                d.buf.clear();
                d.discard = nl.is_none();
                self.out.push(Out::Anomaly(LINE_TOO_LONG, dir));
                continue;
            }
            d.buf.extend_from_slice(piece);
            if nl.is_some() {
                let line = std::mem::take(&mut d.buf);
                self.on_line(dir, wire::strip_eol(&line));
            }
        }
    }

    fn on_line(&mut self, dir: Direction, line: &[u8]) {
        match dir {
            Direction::ToServer => self.on_command(line),
            Direction::ToClient => self.on_reply_line(line),
        }
    }

    fn on_command(&mut self, line: &[u8]) {
        let (verb, arg) = wire::parse_command(line);
        if verb.eq_ignore_ascii_case(b"USER") {
            // A new USER begins a new attempt; an unanswered one is reported first.
            if self.ev.user_sent || self.ev.cleartext_credentials {
                self.emit();
            }
            self.ev.user_sent = true;
            let name = trim(arg);
            // Compared in place, never copied.
            self.ev.anonymous =
                name.eq_ignore_ascii_case(b"anonymous") || name.eq_ignore_ascii_case(b"ftp");
        } else if verb.eq_ignore_ascii_case(b"PASS") {
            self.ev.cleartext_credentials = true;
        } else if verb.eq_ignore_ascii_case(b"AUTH") {
            let mech = trim(arg);
            if [&b"TLS"[..], b"SSL", b"TLS-C", b"TLS-P"]
                .iter()
                .any(|m| mech.eq_ignore_ascii_case(m))
            {
                self.ev.auth_tls = true;
            }
        }
    }

    fn on_reply_line(&mut self, line: &[u8]) {
        let parsed = wire::parse_reply_line(line);
        if let Some(code) = self.multiline {
            // Inside a multi-line reply only `<code> ` ends it; other lines are its text.
            if parsed.is_some_and(|r| r.code == code && r.last) {
                self.multiline = None;
            }
            return;
        }
        let Some(r) = parsed else {
            self.out.push(Out::Anomaly(BAD_REPLY, Direction::ToClient));
            if self.replied {
                self.dirs[Direction::ToClient.index()].off = true;
            } else {
                // The first server line is not FTP: this is another line protocol.
                self.done = true;
            }
            return;
        };
        self.replied = true;
        if !r.last {
            self.multiline = Some(r.code);
        }
        self.on_reply(r.code, r.text);
    }

    /// The first line of a reply.
    fn on_reply(&mut self, code: u16, text: &[u8]) {
        let attempt = self.ev.user_sent || self.ev.cleartext_credentials;
        match code {
            220 if self.banner.is_none() => {
                let t = trim(text);
                let max = self.cfg.max_banner_bytes;
                let (s, cut) = capped_text(t, max);
                self.capped |= cut;
                self.banner = Some(s);
            }
            230 if attempt => {
                self.ev.login_success = Some(true);
                self.emit();
            }
            530 if attempt => {
                self.ev.login_success = Some(false);
                self.emit();
            }
            234 if self.ev.auth_tls => {
                // TLS from here on: nothing more can be read.
                self.emit();
                self.done = true;
            }
            _ => {}
        }
    }

    /// Writes the attempt (or session) assembled so far and starts a new one.
    fn emit(&mut self) {
        let mut ev = std::mem::take(&mut self.ev);
        ev.banner.clone_from(&self.banner);
        ev.capped = self.capped;
        // AUTH TLS stays requested for the rest of the session.
        self.ev.auth_tls = ev.auth_tls;
        self.reported = true;
        self.out.push(Out::Event(Box::new(ev)));
    }

    fn report(&mut self, cx: &mut Cx<'_>) {
        for o in std::mem::take(&mut self.out) {
            match o {
                Out::Event(ev) => cx.emit(EventKind::Ftp(ev)),
                Out::Anomaly(code, dir) => cx.anomaly(NAME, code, Some(dir)),
            }
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

impl StreamAnalyzer for FtpAnalyzer {
    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) -> Progress {
        self.feed(dir, data);
        if !self.out.is_empty() {
            self.report(cx);
        }
        Progress::Done
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, _len: u64) {
        if self.done {
            return;
        }
        let d = &mut self.dirs[dir.index()];
        d.buf.clear();
        d.discard = true;
        if dir == Direction::ToClient {
            self.multiline = None;
        }
        self.out.push(Out::Anomaly(GAP, dir));
        self.report(cx);
    }

    fn on_close(&mut self, cx: &mut Cx<'_>) {
        let seen = self.replied || self.ev.user_sent || self.ev.auth_tls;
        let pending = self.ev.user_sent || self.ev.cleartext_credentials;
        if !self.done && (pending || (!self.reported && seen)) {
            self.emit();
        }
        self.report(cx);
    }
}
