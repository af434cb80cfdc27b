//! The SSDP datagram analyzer: each datagram decoded on its own into one event.

use super::event::*;
use super::wire::{self, StartLine};
use super::SsdpConfig;
use model::{Cx, DatagramAnalyzer, Direction, EventKind};

/// The SSDP analyzer of one UDP flow.
pub struct SsdpAnalyzer {
    cfg: SsdpConfig,
}

impl SsdpAnalyzer {
    pub fn new(cfg: &SsdpConfig) -> Self {
        SsdpAnalyzer { cfg: cfg.clone() }
    }
}

impl DatagramAnalyzer for SsdpAnalyzer {
    fn on_datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, payload: &[u8]) {
        let mut anomalies = Vec::new();
        match decode(&self.cfg, payload, &mut anomalies) {
            Some(ev) => {
                for a in anomalies {
                    cx.anomaly(NAME, a, Some(dir));
                }
                cx.emit(EventKind::Ssdp(Box::new(ev)));
            }
            None => cx.anomaly(NAME, MALFORMED_MESSAGE, Some(dir)),
        }
    }
}

/// Headers looked at by the probe to accept an HTTP status line as SSDP.
const PROBE_LINES: usize = 32;

/// An SSDP request line, or an HTTP/1.x status line followed by a `USN` or `ST` header
/// within the first lines.
pub fn probe(b: &[u8]) -> bool {
    let (first, mut at, _) = wire::line(b, 0);
    match wire::parse_start_line(first) {
        Some(StartLine::Request { .. }) => true,
        Some(StartLine::Response { .. }) => {
            for _ in 0..PROBE_LINES {
                let (l, next, _) = wire::line(b, at);
                if l.is_empty() {
                    return false;
                }
                if let Some((name, _)) = wire::header(l) {
                    if name.eq_ignore_ascii_case(b"USN") || name.eq_ignore_ascii_case(b"ST") {
                        return true;
                    }
                }
                at = next;
            }
            false
        }
        None => false,
    }
}

fn text(v: &[u8], cap: usize, capped: &mut bool) -> String {
    let cut = v.get(..cap).unwrap_or(v);
    *capped |= cut.len() < v.len();
    String::from_utf8_lossy(cut).into_owned()
}

fn note(anomalies: &mut Vec<&'static str>, code: &'static str) {
    if !anomalies.contains(&code) {
        anomalies.push(code);
    }
}

/// Decodes one datagram; `None` when it has no SSDP start line. Anomaly codes are pushed
/// to `anomalies` (each at most once).
pub fn decode(cfg: &SsdpConfig, b: &[u8], anomalies: &mut Vec<&'static str>) -> Option<SsdpEvent> {
    let (first, mut at, _) = wire::line(b, 0);
    let mut ev = SsdpEvent::default();
    match wire::parse_start_line(first)? {
        StartLine::Request { method } => {
            ev.kind = "request";
            ev.method = Some(String::from_utf8_lossy(method).into_owned());
        }
        StartLine::Response { status } => {
            ev.kind = "response";
            ev.status = Some(status);
        }
    }
    let cap = cfg.max_value_bytes;
    let mut lines = 0usize;
    let mut ended = false;
    while at < b.len() {
        let (l, next, _) = wire::line(b, at);
        at = next;
        if l.is_empty() {
            ended = true;
            break;
        }
        if lines >= cfg.max_headers {
            ev.capped = true;
            note(anomalies, TOO_MANY_HEADERS);
            ended = true;
            break;
        }
        lines += 1;
        let Some((name, value)) = wire::header(l) else {
            ev.truncated = true;
            note(anomalies, MALFORMED_HEADERS);
            continue;
        };
        let slot = if name.eq_ignore_ascii_case(b"SERVER") {
            &mut ev.server
        } else if name.eq_ignore_ascii_case(b"USER-AGENT") {
            &mut ev.user_agent
        } else if name.eq_ignore_ascii_case(b"USN") {
            &mut ev.usn
        } else if name.eq_ignore_ascii_case(b"NT") {
            &mut ev.nt
        } else if name.eq_ignore_ascii_case(b"NTS") {
            &mut ev.nts
        } else if name.eq_ignore_ascii_case(b"ST") {
            &mut ev.st
        } else if name.eq_ignore_ascii_case(b"LOCATION") {
            &mut ev.location
        } else {
            continue;
        };
        if slot.is_none() {
            *slot = Some(text(value, cap, &mut ev.capped));
        }
    }
    if !ended {
        ev.truncated = true;
        note(anomalies, MALFORMED_HEADERS);
    }
    Some(ev)
}
