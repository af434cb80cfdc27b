//! The per-connection TLS state machine: record walking per direction, handshake message
//! reassembly (capped), hello parsing, ClientHello/ServerHello pairing.

use super::event::*;
use super::wire::{self, ClientHello, RecordError, ServerHello};
use super::TlsConfig;
use model::{Cx, Direction, EventKind, Progress, StreamAnalyzer};

#[derive(Clone, Copy, Debug)]
struct Limits {
    max_handshake_bytes: usize,
    max_string_bytes: usize,
    max_list_items: usize,
    max_ja3_string_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Walking record headers.
    Records,
    /// Nothing more to read here: bytes are consumed unseen.
    Skip,
}

struct DirState {
    mode: Mode,
    /// Content type of the record being read and its bytes still to come.
    rec_type: u8,
    rec_remaining: usize,
    /// The handshake message being joined (header included), at most the cap.
    hs: Vec<u8>,
    /// Full length (header included) of the hello in `hs`, once its header is read.
    hs_total: Option<usize>,
    /// Handshake bytes of a message that is not a hello, still to drop.
    hs_skip: usize,
    /// Hellos read in this direction.
    hellos: u8,
}

impl DirState {
    fn new() -> Self {
        DirState {
            mode: Mode::Records,
            rec_type: 0,
            rec_remaining: 0,
            hs: Vec::new(),
            hs_total: None,
            hs_skip: 0,
            hellos: 0,
        }
    }
}

/// What a direction's bytes produced, handled once the direction's borrow ends.
enum Found {
    Client(Box<TlsEvent>),
    Server(Box<ServerFound>),
    Anomaly(&'static str),
}

/// A ServerHello's contribution to the event.
struct ServerFound {
    hello: TlsServerHello,
    /// The negotiated version number (supported_versions, else the legacy field).
    version: u16,
    alpn: Option<String>,
    ja3s: Option<TlsJaHash>,
    truncated: bool,
    capped: bool,
}

/// The TLS analyzer of one TCP connection.
pub struct TlsAnalyzer {
    lim: Limits,
    dirs: [DirState; 2],
    /// The last ClientHello not yet reported.
    pending: Option<Box<TlsEvent>>,
    found: Vec<Found>,
}

impl TlsAnalyzer {
    pub fn new(cfg: &TlsConfig) -> Self {
        TlsAnalyzer {
            lim: Limits {
                max_handshake_bytes: cfg.max_handshake_bytes.max(4),
                max_string_bytes: cfg.max_string_bytes,
                max_list_items: cfg.max_list_items,
                max_ja3_string_bytes: cfg.max_ja3_string_bytes,
            },
            dirs: [DirState::new(), DirState::new()],
            pending: None,
            found: Vec::new(),
        }
    }

    /// Walks records of `data`; returns the progress for the pipeline.
    fn feed(&mut self, dir: Direction, data: &[u8]) -> Progress {
        let lim = self.lim;
        let d = &mut self.dirs[dir.index()];
        let found = &mut self.found;
        let mut pos = 0;
        while pos < data.len() {
            if d.mode == Mode::Skip {
                return Progress::Done;
            }
            let rest = data.get(pos..).unwrap_or_default();
            if d.rec_remaining > 0 {
                let n = d.rec_remaining.min(rest.len());
                if d.rec_type == wire::CT_HANDSHAKE {
                    handshake_bytes(d, &lim, rest.get(..n).unwrap_or_default(), found);
                }
                d.rec_remaining -= n;
                pos += n;
                continue;
            }
            match wire::parse_record_header(rest) {
                Err(RecordError::Incomplete) => {
                    return Progress::NeedMore {
                        consumed: pos,
                        needed: wire::RECORD_HEADER_LEN,
                    }
                }
                Err(RecordError::Invalid) => {
                    found.push(Found::Anomaly(BAD_RECORD_HEADER));
                    end_direction(d, &lim, found);
                    return Progress::Done;
                }
                Ok(h) => {
                    pos += wire::RECORD_HEADER_LEN;
                    if h.content_type == wire::CT_APPLICATION_DATA {
                        // Encrypted from here on: nothing more to read in this direction.
                        end_direction(d, &lim, found);
                        return Progress::Done;
                    }
                    d.rec_type = h.content_type;
                    d.rec_remaining = h.length;
                }
            }
        }
        Progress::Done
    }

    /// Turns what the parsers found into events, pairing hellos.
    fn report(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        for f in std::mem::take(&mut self.found) {
            match f {
                Found::Anomaly(code) => cx.anomaly(NAME, code, Some(dir)),
                Found::Client(ev) => {
                    // A second ClientHello without a ServerHello between them: report the
                    // first alone.
                    if let Some(prev) = self.pending.take() {
                        cx.emit(EventKind::Tls(prev));
                    }
                    self.pending = Some(ev);
                }
                Found::Server(s) => {
                    let mut ev = self.pending.take().unwrap_or_default();
                    ev.version = version_name(s.version);
                    ev.ja3s = s.ja3s;
                    if let Some(a) = s.alpn {
                        ev.server_alpns = vec![a];
                    }
                    ev.truncated |= s.truncated;
                    ev.capped |= s.capped;
                    let hrr = s.hello.hello_retry_request;
                    ev.server_handshake = Some(s.hello);
                    cx.emit(EventKind::Tls(ev));
                    if !hrr {
                        // The handshake is encrypted from here (1.3) or no longer
                        // interesting (1.2): stop reading both directions.
                        for d in &mut self.dirs {
                            d.mode = Mode::Skip;
                            d.hs = Vec::new();
                        }
                    }
                }
            }
        }
    }

    /// Reports a pending ClientHello (end of the connection).
    fn flush(&mut self, cx: &mut Cx<'_>) {
        if let Some(ev) = self.pending.take() {
            cx.emit(EventKind::Tls(ev));
        }
    }
}

/// Handshake-layer bytes of one direction: joins messages, parses hellos, drops the rest.
fn handshake_bytes(d: &mut DirState, lim: &Limits, mut b: &[u8], found: &mut Vec<Found>) {
    while !b.is_empty() && d.mode == Mode::Records {
        if d.hs_skip > 0 {
            let n = d.hs_skip.min(b.len());
            d.hs_skip -= n;
            b = b.get(n..).unwrap_or_default();
            continue;
        }
        let target = match d.hs_total {
            Some(total) => total.min(lim.max_handshake_bytes),
            None => 4,
        };
        let n = target.saturating_sub(d.hs.len()).min(b.len());
        d.hs.extend_from_slice(b.get(..n).unwrap_or_default());
        b = b.get(n..).unwrap_or_default();
        if d.hs.len() < target {
            continue;
        }
        match d.hs_total {
            None => {
                let Some((t, len)) = wire::parse_handshake_header(&d.hs) else {
                    continue;
                };
                if t == wire::HS_CLIENT_HELLO || t == wire::HS_SERVER_HELLO {
                    d.hs_total = Some(len + 4);
                    if len + 4 > lim.max_handshake_bytes {
                        found.push(Found::Anomaly(HANDSHAKE_TOO_LARGE));
                    }
                } else {
                    d.hs_skip = len;
                    d.hs.clear();
                }
            }
            Some(total) => {
                let cut = total > d.hs.len();
                hello(d, lim, cut, found);
                if cut {
                    // The rest of the oversized message cannot be followed: stop here.
                    d.mode = Mode::Skip;
                }
            }
        }
    }
}

/// Parses the hello held in `d.hs` (cut short when `cut`) and clears it.
fn hello(d: &mut DirState, lim: &Limits, cut: bool, found: &mut Vec<Found>) {
    let hs = std::mem::take(&mut d.hs);
    d.hs_total = None;
    let Some((t, _)) = wire::parse_handshake_header(&hs) else {
        return;
    };
    let body = hs.get(4..).unwrap_or_default();
    d.hellos = d.hellos.saturating_add(1);
    if t == wire::HS_CLIENT_HELLO {
        match wire::parse_client_hello(body) {
            Some(ch) => {
                if ch.truncated || cut {
                    found.push(Found::Anomaly(TRUNCATED_HELLO));
                }
                if ch.malformed_extension {
                    found.push(Found::Anomaly(MALFORMED_EXTENSION));
                }
                found.push(Found::Client(client_event(&ch, lim, hs.len(), cut)));
            }
            None => found.push(Found::Anomaly(TRUNCATED_HELLO)),
        }
        // A client sends a second ClientHello only after a HelloRetryRequest.
        if d.hellos >= 2 {
            d.mode = Mode::Skip;
        }
    } else {
        match wire::parse_server_hello(body) {
            Some(sh) => {
                if sh.truncated || cut {
                    found.push(Found::Anomaly(TRUNCATED_HELLO));
                }
                if sh.malformed_extension {
                    found.push(Found::Anomaly(MALFORMED_EXTENSION));
                }
                // After the final ServerHello nothing more is read here, at once: bytes
                // after it in the same delivery must not be parsed (whole and chunked
                // deliveries then agree).
                if !sh.hello_retry_request {
                    d.mode = Mode::Skip;
                }
                found.push(Found::Server(Box::new(server_found(&sh, lim, cut))));
            }
            None => found.push(Found::Anomaly(TRUNCATED_HELLO)),
        }
    }
}

/// The direction ends (bad record, application data, gap, FIN): a hello still being
/// joined is parsed as far as it came.
fn end_direction(d: &mut DirState, lim: &Limits, found: &mut Vec<Found>) {
    if d.mode == Mode::Records && d.hs_total.is_some() && d.hs.len() > 4 {
        hello(d, lim, true, found);
    }
    d.mode = Mode::Skip;
    d.hs = Vec::new();
    d.hs_total = None;
}

/// The owned, capped event of a ClientHello.
fn client_event(ch: &ClientHello<'_>, lim: &Limits, len: usize, cut: bool) -> Box<TlsEvent> {
    let mut capped = false;
    let mut list = |v: &[u16]| {
        let (l, c) = capped_list(v, lim.max_list_items);
        capped |= c;
        l
    };
    let cipher_suites = list(&ch.cipher_suites);
    let extensions = list(&ch.extensions);
    let supported_groups = list(&ch.supported_groups);
    let signature_algorithms = list(&ch.signature_algorithms);
    let (versions, c) = capped_list(&ch.supported_versions, lim.max_list_items);
    capped |= c;
    let mut text = |b: &[u8]| {
        let (s, c) = capped_text(b, lim.max_string_bytes);
        capped |= c;
        s
    };
    let sni = ch.server_name.map(&mut text);
    let alpns: Vec<String> = ch
        .alpns
        .iter()
        .take(lim.max_list_items)
        .map(|a| text(a))
        .collect();
    capped |= ch.alpns.len() > lim.max_list_items;
    let truncated = ch.truncated || cut;
    // A fingerprint of part of a hello would match nothing real: none is given.
    let ja3 = (!truncated).then(|| {
        let (string, hash) = wire::ja_hash(wire::ja3_string(ch));
        let (string, c) = capped_text(string.as_bytes(), lim.max_ja3_string_bytes);
        capped |= c;
        TlsJaHash { hash, string }
    });
    Box::new(TlsEvent {
        sni,
        version: version_name(ch.version),
        ja3,
        ja3s: None,
        ja4: (!truncated).then(|| wire::ja4(ch)),
        client_alpns: alpns,
        server_alpns: Vec::new(),
        client_handshake: Some(TlsClientHello {
            version: version_name(ch.version),
            supported_versions: versions.into_iter().map(version_name).collect(),
            ciphers: cipher_suites,
            exts: extensions,
            supported_groups,
            sig_algs: signature_algorithms,
            length: u32::try_from(len).unwrap_or(u32::MAX),
        }),
        server_handshake: None,
        truncated,
        capped,
    })
}

/// The owned, capped part of a ServerHello.
fn server_found(sh: &ServerHello<'_>, lim: &Limits, cut: bool) -> ServerFound {
    let (extensions, mut capped) = capped_list(&sh.extensions, lim.max_list_items);
    let alpn = sh.alpn.map(|a| {
        let (s, c) = capped_text(a, lim.max_string_bytes);
        capped |= c;
        s
    });
    let truncated = sh.truncated || cut;
    let ja3s = (!truncated).then(|| {
        let (string, hash) = wire::ja_hash(wire::ja3s_string(sh));
        let (string, c) = capped_text(string.as_bytes(), lim.max_ja3_string_bytes);
        capped |= c;
        TlsJaHash { hash, string }
    });
    ServerFound {
        hello: TlsServerHello {
            version: version_name(sh.version),
            cipher: sh.cipher_suite,
            cipher_name: if sh.has_cipher {
                wire::cipher_name(sh.cipher_suite)
            } else {
                None
            },
            exts: extensions,
            hello_retry_request: sh.hello_retry_request,
        },
        version: sh.selected_version.unwrap_or(sh.version),
        alpn,
        ja3s,
        truncated,
        capped,
    }
}

impl StreamAnalyzer for TlsAnalyzer {
    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) -> Progress {
        let p = self.feed(dir, data);
        if !self.found.is_empty() {
            self.report(cx, dir);
        }
        p
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, _len: u64) {
        let lim = self.lim;
        let d = &mut self.dirs[dir.index()];
        if d.mode == Mode::Records {
            self.found.push(Found::Anomaly(GAP_IN_HANDSHAKE));
            end_direction(d, &lim, &mut self.found);
        }
        self.report(cx, dir);
    }

    fn on_eof(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        let lim = self.lim;
        let d = &mut self.dirs[dir.index()];
        end_direction(d, &lim, &mut self.found);
        self.report(cx, dir);
    }

    fn on_close(&mut self, cx: &mut Cx<'_>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            self.on_eof(cx, dir);
        }
        self.flush(cx);
    }
}
