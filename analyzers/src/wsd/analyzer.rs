//! The WS-Discovery datagram analyzer: each datagram decoded on its own into one event.

use super::event::*;
use super::wire::{self, Token};
use super::WsdConfig;
use memchr::memmem;
use model::{Cx, DatagramAnalyzer, Direction, EventKind};

/// The WS-Discovery analyzer of one UDP flow.
pub struct WsdAnalyzer {
    cfg: WsdConfig,
}

impl WsdAnalyzer {
    pub fn new(cfg: &WsdConfig) -> Self {
        WsdAnalyzer { cfg: cfg.clone() }
    }
}

impl DatagramAnalyzer for WsdAnalyzer {
    fn on_datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, payload: &[u8]) {
        if !probe(payload) {
            cx.anomaly(NAME, MALFORMED_MESSAGE, Some(dir));
            return;
        }
        let mut anomalies = Vec::new();
        let ev = decode(&self.cfg, payload, &mut anomalies);
        for a in anomalies {
            cx.anomaly(NAME, a, Some(dir));
        }
        cx.emit(EventKind::Wsd(Box::new(ev)));
    }
}

/// Bytes the probe looks at.
const PROBE_BYTES: usize = 2048;

/// WS-Discovery namespaces: the 2005/04 draft and WS-Discovery 1.1.
const NAMESPACES: [&[u8]; 2] = [
    b"schemas.xmlsoap.org/ws/2005/04/discovery",
    b"docs.oasis-open.org/ws-dd/ns/discovery/2009/01",
];

/// An XML document (optional BOM and whitespace, then `<`) whose first bytes hold an
/// `Envelope` tag and a WS-Discovery namespace.
pub fn probe(b: &[u8]) -> bool {
    let head = b.get(..PROBE_BYTES).unwrap_or(b);
    let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let body = body.trim_ascii_start();
    body.first() == Some(&b'<')
        && memmem::find(body, b"Envelope").is_some()
        && NAMESPACES.iter().any(|ns| memmem::find(body, ns).is_some())
}

fn capped_text(t: &[u8], cap: usize, capped: &mut bool) -> String {
    let s = wire::unescape(t.trim_ascii());
    if s.len() <= cap {
        return s;
    }
    *capped = true;
    let mut end = cap;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_string()
}

/// Whitespace-separated items of a list element, appended up to the cap.
fn push_items(list: &mut Vec<String>, t: &[u8], cfg: &WsdConfig, capped: &mut bool) {
    for item in t
        .split(|c| c.is_ascii_whitespace())
        .filter(|i| !i.is_empty())
    {
        if list.len() >= cfg.max_list_items {
            *capped = true;
            return;
        }
        list.push(capped_text(item, cfg.max_string_bytes, capped));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    None,
    Action,
    MessageId,
    RelatesTo,
    Address,
    Types,
    Scopes,
    XAddrs,
    MetadataVersion,
}

/// Decodes one WS-Discovery datagram (already probed). Anomaly codes are pushed to
/// `anomalies` (each at most once).
pub fn decode(cfg: &WsdConfig, b: &[u8], anomalies: &mut Vec<&'static str>) -> WsdEvent {
    let mut ev = WsdEvent::default();
    let mut field = Field::None;
    let mut in_epr = 0usize;
    // The first element inside Body names the message when there is no Action header.
    let mut prev_start_body = false;
    let mut body_first: Option<String> = None;
    let cap = cfg.max_string_bytes;
    let end = wire::scan(b, cfg.max_xml_tokens, |t| match t {
        Token::Start(name) => {
            if prev_start_body && body_first.is_none() {
                body_first = Some(capped_text(name, cap, &mut ev.capped));
            }
            prev_start_body = name == b"Body";
            if name == b"EndpointReference" {
                in_epr += 1;
            }
            field = match name {
                b"Action" => Field::Action,
                b"MessageID" => Field::MessageId,
                b"RelatesTo" => Field::RelatesTo,
                b"Address" if in_epr > 0 => Field::Address,
                b"Types" => Field::Types,
                b"Scopes" => Field::Scopes,
                b"XAddrs" => Field::XAddrs,
                b"MetadataVersion" => Field::MetadataVersion,
                _ => Field::None,
            };
        }
        Token::End(name) => {
            prev_start_body = false;
            if name == b"EndpointReference" {
                in_epr = in_epr.saturating_sub(1);
            }
            field = Field::None;
        }
        Token::Text(t) => {
            let c = &mut ev.capped;
            match field {
                Field::None => {}
                Field::Action if ev.action.is_none() => {
                    let uri = t.trim_ascii();
                    let last = uri.rsplit(|c| *c == b'/').next().unwrap_or(uri);
                    ev.action = Some(capped_text(last, cap, c));
                }
                Field::MessageId if ev.message_id.is_none() => {
                    ev.message_id = Some(capped_text(t, cap, c));
                }
                Field::RelatesTo if ev.relates_to.is_none() => {
                    ev.relates_to = Some(capped_text(t, cap, c));
                }
                Field::Address if ev.endpoint_address.is_none() => {
                    ev.endpoint_address = Some(capped_text(t, cap, c));
                }
                Field::Types => push_items(&mut ev.types, t, cfg, c),
                Field::Scopes => push_items(&mut ev.scopes, t, cfg, c),
                Field::XAddrs => push_items(&mut ev.xaddrs, t, cfg, c),
                Field::MetadataVersion if ev.metadata_version.is_none() => {
                    ev.metadata_version = std::str::from_utf8(t.trim_ascii())
                        .ok()
                        .and_then(|s| s.parse().ok());
                }
                _ => {}
            }
        }
    });
    if ev.action.is_none() {
        ev.action = body_first;
    }
    if end.truncated {
        ev.truncated = true;
        anomalies.push(TRUNCATED_XML);
    }
    if end.capped {
        ev.capped = true;
        anomalies.push(TOO_MANY_ELEMENTS);
    }
    ev
}
