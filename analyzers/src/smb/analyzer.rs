//! The per-connection SMB state machine: NetBIOS framing per direction (message bytes kept
//! up to a cap, the rest skipped unread), NEGOTIATE requests and responses paired into one
//! event, then the flow is no longer read.

use super::event::*;
use super::wire::{self, Message, WireError};
use super::SmbConfig;
use model::{Cx, Direction, EventKind, Progress, StreamAnalyzer};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Collecting the 4-byte NetBIOS header.
    Header,
    /// Reading a message body: bytes still to come.
    Body {
        remaining: u32,
        session_message: bool,
    },
    /// Nothing more to read in this direction.
    Skip,
}

struct Dir {
    phase: Phase,
    hdr: Vec<u8>,
    /// The kept head of the message being read.
    msg: Vec<u8>,
    /// Its declared length.
    msg_len: u32,
    /// Session messages read so far.
    messages: u32,
}

impl Dir {
    fn new() -> Self {
        Dir {
            phase: Phase::Header,
            hdr: Vec::new(),
            msg: Vec::new(),
            msg_len: 0,
            messages: 0,
        }
    }
}

enum Out {
    Event(Box<SmbEvent>),
    Anomaly(&'static str, Direction),
}

/// The SMB analyzer of one TCP connection.
pub struct SmbAnalyzer {
    cfg: SmbConfig,
    dirs: [Dir; 2],
    /// The negotiation being assembled.
    ev: SmbEvent,
    /// Something was recorded in `ev`.
    started: bool,
    /// The SMB1 dialect strings offered, for the response's index.
    smb1_names: Vec<String>,
    /// The negotiation was reported; the flow is no longer read.
    done: bool,
    /// Anomalies raised for the message being handled (each at most once).
    noted: Vec<&'static str>,
    out: Vec<Out>,
}

impl SmbAnalyzer {
    pub fn new(cfg: &SmbConfig) -> Self {
        SmbAnalyzer {
            cfg: cfg.clone(),
            dirs: [Dir::new(), Dir::new()],
            ev: SmbEvent::default(),
            started: false,
            smb1_names: Vec::new(),
            done: false,
            noted: Vec::new(),
            out: Vec::new(),
        }
    }

    fn feed(&mut self, dir: Direction, data: &[u8]) {
        let cap = self.cfg.max_negotiate_bytes;
        let mut pos = 0;
        while pos < data.len() {
            let rest = data.get(pos..).unwrap_or_default();
            let d = &mut self.dirs[dir.index()];
            match d.phase {
                Phase::Skip => return,
                Phase::Header => {
                    let take = (4 - d.hdr.len()).min(rest.len());
                    d.hdr
                        .extend_from_slice(rest.get(..take).unwrap_or_default());
                    pos += take;
                    let Some((kind, len)) = wire::parse_netbios_header(&d.hdr) else {
                        continue;
                    };
                    d.hdr.clear();
                    match kind {
                        wire::NB_SESSION_MESSAGE => {
                            d.msg.clear();
                            d.msg_len = len;
                            d.phase = Phase::Body {
                                remaining: len,
                                session_message: true,
                            };
                            if len == 0 {
                                d.phase = Phase::Header;
                            }
                        }
                        wire::NB_SESSION_REQUEST
                        | wire::NB_POSITIVE_RESPONSE
                        | wire::NB_NEGATIVE_RESPONSE
                        | wire::NB_RETARGET_RESPONSE
                        | wire::NB_KEEP_ALIVE => {
                            d.phase = if len == 0 {
                                Phase::Header
                            } else {
                                Phase::Body {
                                    remaining: len,
                                    session_message: false,
                                }
                            };
                        }
                        _ => {
                            self.out.push(Out::Anomaly(BAD_FRAMING, dir));
                            self.skip(dir);
                            return;
                        }
                    }
                }
                Phase::Body {
                    remaining,
                    session_message,
                } => {
                    let take = (remaining as usize).min(rest.len());
                    if session_message {
                        let room = cap.saturating_sub(d.msg.len()).min(take);
                        d.msg
                            .extend_from_slice(rest.get(..room).unwrap_or_default());
                    }
                    pos += take;
                    let left = remaining - take as u32;
                    if left > 0 {
                        d.phase = Phase::Body {
                            remaining: left,
                            session_message,
                        };
                        continue;
                    }
                    d.phase = Phase::Header;
                    if session_message {
                        let msg = std::mem::take(&mut d.msg);
                        let cut = (d.msg_len as usize) > msg.len();
                        self.on_message(dir, &msg, cut);
                    }
                }
            }
        }
    }

    /// One whole SMB message (its kept head; `cut`: bytes past it were not kept or never
    /// arrived).
    fn on_message(&mut self, dir: Direction, msg: &[u8], cut: bool) {
        if self.done {
            return;
        }
        self.dirs[dir.index()].messages += 1;
        self.noted.clear();
        let parsed = wire::parse_message(msg, self.cfg.max_dialects);
        let negotiate = !matches!(
            parsed,
            Ok(Message::Other) | Err(WireError::NotSmb | WireError::ShortHeader)
        );
        if cut && negotiate {
            // Cut by the cap or the end of the stream: reported as far as it goes.
            self.note_once(TRUNCATED_NEGOTIATE, dir);
            self.ev.truncated = true;
        }
        match parsed {
            Err(WireError::NotSmb) => {
                self.out.push(Out::Anomaly(BAD_FRAMING, dir));
                self.skip(dir);
            }
            Err(WireError::ShortHeader) => {
                self.out.push(Out::Anomaly(SHORT_HEADER, dir));
            }
            Err(WireError::Truncated) => {
                self.note_once(TRUNCATED_NEGOTIATE, dir);
                self.started = true;
                self.ev.truncated = true;
            }
            Ok(Message::Other) => {
                let d = &self.dirs[dir.index()];
                if d.messages >= self.cfg.max_messages && !self.started {
                    self.skip(dir);
                }
            }
            Ok(Message::Smb1Request {
                dialects,
                capped,
                truncated,
            }) => {
                self.started = true;
                for name in dialects {
                    let text = capped_text(name, self.cfg.max_dialect_bytes);
                    if wire::is_smb1_dialect(name) {
                        self.ev.smb1 = true;
                    }
                    self.smb1_names.push(text.clone());
                    self.push_dialect(dir, text);
                }
                self.request_flags(dir, capped, truncated);
            }
            Ok(Message::Smb2Request {
                dialects,
                capped,
                truncated,
            }) => {
                self.started = true;
                for d in dialects {
                    self.push_dialect(dir, wire::smb2_dialect_name(d));
                }
                self.request_flags(dir, capped, truncated);
            }
            Ok(Message::Smb1Response {
                dialect_index,
                signing_required,
            }) => {
                self.started = true;
                if dialect_index != 0xffff {
                    self.ev.dialect = Some(
                        self.smb1_names
                            .get(usize::from(dialect_index))
                            .cloned()
                            .unwrap_or_else(|| format!("index:{dialect_index}")),
                    );
                    self.ev.smb1 = true;
                    self.ev.smb1_negotiated = true;
                }
                self.ev.signing_required = signing_required;
                self.finish();
            }
            Ok(Message::Smb2Response {
                dialect,
                signing_required,
            }) => {
                self.started = true;
                self.ev.dialect = Some(wire::smb2_dialect_name(dialect));
                self.ev.signing_required = Some(signing_required);
                // The wildcard answers a multi-protocol SMB1 negotiate: an SMB2 NEGOTIATE
                // follows and decides.
                if dialect != 0x02ff {
                    self.finish();
                }
            }
        }
    }

    fn push_dialect(&mut self, dir: Direction, name: String) {
        if self.ev.client_dialects.len() < self.cfg.max_dialects {
            self.ev.client_dialects.push(name);
        } else {
            self.note_once(TOO_MANY_DIALECTS, dir);
        }
    }

    fn request_flags(&mut self, dir: Direction, capped: bool, truncated: bool) {
        if capped {
            self.note_once(TOO_MANY_DIALECTS, dir);
        }
        if truncated {
            self.note_once(TRUNCATED_NEGOTIATE, dir);
            self.ev.truncated = true;
        }
    }

    /// Raises `code` at most once per message.
    fn note_once(&mut self, code: &'static str, dir: Direction) {
        if !self.noted.contains(&code) {
            self.noted.push(code);
            self.out.push(Out::Anomaly(code, dir));
        }
    }

    /// Reports the negotiation and stops reading the flow.
    fn finish(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        let ev = std::mem::take(&mut self.ev);
        self.out.push(Out::Event(Box::new(ev)));
        self.skip(Direction::ToServer);
        self.skip(Direction::ToClient);
    }

    fn skip(&mut self, dir: Direction) {
        let d = &mut self.dirs[dir.index()];
        d.phase = Phase::Skip;
        d.hdr = Vec::new();
        d.msg = Vec::new();
    }

    fn report(&mut self, cx: &mut Cx<'_>) {
        for o in std::mem::take(&mut self.out) {
            match o {
                Out::Event(ev) => cx.emit(EventKind::Smb(ev)),
                Out::Anomaly(code, dir) => cx.anomaly(NAME, code, Some(dir)),
            }
        }
    }
}

/// Owned text of a dialect string, cut to `max` bytes, invalid UTF-8 replaced.
fn capped_text(b: &[u8], max: usize) -> String {
    String::from_utf8_lossy(b.get(..max).unwrap_or(b)).into_owned()
}

impl StreamAnalyzer for SmbAnalyzer {
    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) -> Progress {
        self.feed(dir, data);
        if !self.out.is_empty() {
            self.report(cx);
        }
        Progress::Done
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        let cap = self.cfg.max_negotiate_bytes;
        let d = &mut self.dirs[dir.index()];
        match d.phase {
            Phase::Skip => {}
            // A hole in a message's unkept tail loses nothing that is parsed.
            Phase::Body {
                remaining,
                session_message,
            } if len < u64::from(remaining)
                && (!session_message || d.msg.len() >= cap.min(d.msg_len as usize)) =>
            {
                d.phase = Phase::Body {
                    remaining: remaining - len as u32,
                    session_message,
                };
            }
            _ => {
                if !self.done {
                    self.out.push(Out::Anomaly(GAP_LOST_SYNC, dir));
                }
                self.skip(dir);
            }
        }
        self.report(cx);
    }

    fn on_eof(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        let d = &mut self.dirs[dir.index()];
        // A message cut by the end of the stream: what arrived is parsed as cut.
        if let Phase::Body {
            session_message: true,
            ..
        } = d.phase
        {
            let msg = std::mem::take(&mut d.msg);
            if !msg.is_empty() {
                self.on_message(dir, &msg, true);
            }
        }
        self.skip(dir);
        self.report(cx);
    }

    fn on_close(&mut self, cx: &mut Cx<'_>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            if self.dirs[dir.index()].phase != Phase::Skip {
                self.on_eof(cx, dir);
            }
        }
        if self.started && !self.done {
            self.finish();
        }
        self.report(cx);
    }
}
