//! The DHCP datagram analyzer: each datagram decoded on its own into one `dhcp` event.

use super::event::*;
use super::wire::{self, V4WalkEnd, V6WalkEnd};
use super::DhcpConfig;
use model::{Cx, DatagramAnalyzer, Direction, EventKind, MacAddr};
use std::net::Ipv4Addr;

/// The DHCP analyzer of one UDP flow.
pub struct DhcpAnalyzer {
    cfg: DhcpConfig,
}

impl DhcpAnalyzer {
    pub fn new(cfg: &DhcpConfig) -> Self {
        DhcpAnalyzer { cfg: cfg.clone() }
    }
}

impl DatagramAnalyzer for DhcpAnalyzer {
    fn on_datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, payload: &[u8]) {
        let mut anomalies = Vec::new();
        match decode(&self.cfg, payload, &mut anomalies) {
            Some(ev) => {
                for a in anomalies {
                    cx.anomaly(NAME, a, Some(dir));
                }
                cx.emit(EventKind::Dhcp(Box::new(ev)));
            }
            None => cx.anomaly(NAME, MALFORMED_MESSAGE, Some(dir)),
        }
    }
}

/// Decodes one datagram as DHCPv4, else DHCPv6; anomaly codes are pushed to `anomalies`
/// (each at most once). `None` when it is neither.
pub fn decode(
    cfg: &DhcpConfig,
    payload: &[u8],
    anomalies: &mut Vec<&'static str>,
) -> Option<DhcpEvent> {
    match wire::parse_dhcpv4(payload) {
        Ok(m) => Some(decode_v4(cfg, &m, anomalies)),
        Err(_) => decode_v6(cfg, payload, anomalies),
    }
}

fn note(anomalies: &mut Vec<&'static str>, code: &'static str) {
    if !anomalies.contains(&code) {
        anomalies.push(code);
    }
}

/// A fixed-header address; written even when 0.0.0.0, as Suricata does.
fn addr(a: [u8; 4]) -> Option<Ipv4Addr> {
    Some(Ipv4Addr::from(a))
}

/// Option collection shared by the main options and the overloaded `file`/`sname` fields.
struct V4Collector<'c> {
    cfg: &'c DhcpConfig,
    ev: DhcpEvent,
    overload: u8,
    fqdn: Vec<u8>,
    anomalies: Vec<&'static str>,
}

impl V4Collector<'_> {
    fn option(&mut self, code: u8, v: &[u8]) {
        let cap = self.cfg.max_string_bytes;
        let ev = &mut self.ev;
        if ev.options.len() < self.cfg.max_options {
            ev.options.push(u16::from(code));
        } else if !self.anomalies.contains(&TOO_MANY_OPTIONS) {
            self.anomalies.push(TOO_MANY_OPTIONS);
            ev.capped = true;
        }
        let mut bad_len = false;
        match code {
            53 => match v {
                [t] => {
                    ev.dhcp_type = Some(v4_type_name(*t));
                    ev.dhcp_type_code = Some(*t);
                }
                _ => bad_len = true,
            },
            12 => ev.hostname = Some(cap_text(v, cap, &mut ev.capped)),
            50 => match v {
                [a, b, c, d] => ev.requested_ip = Some(Ipv4Addr::new(*a, *b, *c, *d)),
                _ => bad_len = true,
            },
            51 => match v {
                [a, b, c, d] => ev.lease_time = Some(u32::from_be_bytes([*a, *b, *c, *d])),
                _ => bad_len = true,
            },
            52 => match v {
                [o] => self.overload = *o,
                _ => bad_len = true,
            },
            55 => {
                // RFC 3396: a split option 55 continues the list.
                for p in v {
                    if ev.params.len() >= self.cfg.max_params {
                        ev.capped = true;
                        break;
                    }
                    ev.params.push(u16::from(*p));
                }
            }
            57 => match v {
                [a, b] => ev.max_message_size = Some(u16::from_be_bytes([*a, *b])),
                _ => bad_len = true,
            },
            60 => ev.vendor_class_identifier = Some(cap_text(v, cap, &mut ev.capped)),
            61 => ev.client_id = Some(cap_hex(v, cap, &mut ev.capped)),
            43 => ev.vendor_specific = true,
            77 => user_classes(v, self.cfg, ev),
            81 => {
                // RFC 4702 2: flags, rcode1, rcode2, then the name: wire labels when the E
                // flag (0x04) is set, else ASCII (deprecated but still sent).
                if let Some((&flags, rest)) = v.split_first() {
                    let name = rest.get(2..).unwrap_or(&[]);
                    self.fqdn.clear();
                    if flags & 0x04 != 0 {
                        if !wire::dns_labels(name, &mut self.fqdn, cap) {
                            bad_len = true;
                        }
                    } else {
                        let n = name.len().min(cap);
                        self.fqdn.extend_from_slice(name.get(..n).unwrap_or(name));
                    }
                    if name.len() > cap {
                        ev.capped = true;
                    }
                    let mut c = false;
                    ev.fqdn = Some(cap_text(&self.fqdn, cap, &mut c));
                } else {
                    bad_len = true;
                }
            }
            _ => {}
        }
        if bad_len {
            ev.truncated_options = true;
            if !self.anomalies.contains(&BAD_OPTION_LENGTH) {
                self.anomalies.push(BAD_OPTION_LENGTH);
            }
        }
    }
}

/// RFC 3004 user classes (length-prefixed instances); a value that does not split
/// exactly (many clients send a bare string) is taken as one class.
fn user_classes(v: &[u8], cfg: &DhcpConfig, ev: &mut DhcpEvent) {
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut i = 0usize;
    let mut exact = !v.is_empty();
    while let Some(&len) = v.get(i) {
        match v.get(i + 1..i + 1 + usize::from(len)) {
            Some(p) if len > 0 => parts.push(p),
            _ => {
                exact = false;
                break;
            }
        }
        i += 1 + usize::from(len);
    }
    if !exact {
        parts = vec![v];
    }
    for p in parts {
        if ev.user_class.len() >= cfg.max_params {
            ev.capped = true;
            break;
        }
        let s = cap_text(p, cfg.max_string_bytes, &mut ev.capped);
        ev.user_class.push(s);
    }
}

fn decode_v4(
    cfg: &DhcpConfig,
    m: &wire::DhcpV4<'_>,
    anomalies: &mut Vec<&'static str>,
) -> DhcpEvent {
    let ev = DhcpEvent {
        kind: if m.op == 1 { "request" } else { "reply" },
        id: m.xid,
        // A 6-byte chaddr is a MAC whatever htype says (hardware type 0 is seen in the
        // wild from devices that mean Ethernet).
        client_mac: match m.chaddr {
            [a, b, c, d, e, f] => Some(MacAddr([*a, *b, *c, *d, *e, *f])),
            _ => None,
        },
        assigned_ip: addr(m.yiaddr),
        client_ip: addr(m.ciaddr),
        relay_ip: addr(m.giaddr),
        next_server_ip: addr(m.siaddr),
        version: 4,
        ..DhcpEvent::default()
    };
    let mut c = V4Collector {
        cfg,
        ev,
        overload: 0,
        fqdn: Vec::new(),
        anomalies: Vec::new(),
    };
    match wire::walk_v4_options(m.options, |code, v| c.option(code, v)) {
        V4WalkEnd::End => {}
        V4WalkEnd::NoEnd => note(&mut c.anomalies, MISSING_END_OPTION),
        V4WalkEnd::Truncated(_) => {
            c.ev.truncated_options = true;
            note(&mut c.anomalies, TRUNCATED_OPTIONS);
        }
    }
    // RFC 2132 9.3: option overload continues the options in `file` (1), `sname` (2) or
    // both (3), file first.
    let overload = c.overload;
    for (bit, field) in [(1u8, m.file), (2u8, m.sname)] {
        if overload & bit != 0 {
            match wire::walk_v4_options(field, |code, v| c.option(code, v)) {
                V4WalkEnd::End | V4WalkEnd::NoEnd => {}
                V4WalkEnd::Truncated(_) => {
                    c.ev.truncated_options = true;
                    note(&mut c.anomalies, TRUNCATED_OPTIONS);
                }
            }
        }
    }
    for a in c.anomalies {
        note(anomalies, a);
    }
    c.ev
}

/// DHCPv6 options read (RFC 8415 21): 1 client id, 6 option request, 15 user class,
/// 16 vendor class, 17 vendor-specific, 39 client FQDN (RFC 4704).
fn decode_v6(
    cfg: &DhcpConfig,
    payload: &[u8],
    anomalies: &mut Vec<&'static str>,
) -> Option<DhcpEvent> {
    decode_v6_at(cfg, payload, anomalies, 0)
}

/// Relay messages nest; more levels than this are not followed (RFC 8415 19.1.1 allows 32
/// hops, real networks use one or two).
const MAX_RELAY_DEPTH: u8 = 8;

fn decode_v6_at(
    cfg: &DhcpConfig,
    payload: &[u8],
    anomalies: &mut Vec<&'static str>,
    depth: u8,
) -> Option<DhcpEvent> {
    let m = wire::parse_dhcpv6(payload).ok()?;
    if !probe_v6_options(m.options) {
        return None;
    }
    if m.relay && depth < MAX_RELAY_DEPTH {
        // RFC 8415 9: the client's message travels in the relay-message option (9); its
        // facts are what identify the device, so it is reported, marked `relay`.
        let mut inner = None;
        let _ = wire::walk_v6_options(m.options, |code, v| {
            if code == 9 && inner.is_none() {
                inner = Some(v);
            }
        });
        if let Some(mut ev) = inner.and_then(|v| decode_v6_at(cfg, v, anomalies, depth + 1)) {
            ev.kind = "relay";
            return Some(ev);
        }
    }
    let (name, kind) = v6_type_name(m.msg_type);
    let cap = cfg.max_string_bytes;
    let mut ev = DhcpEvent {
        kind,
        id: m.xid,
        dhcp_type: Some(name),
        dhcp_type_code: Some(m.msg_type),
        version: 6,
        ..DhcpEvent::default()
    };
    let mut bad_len = false;
    let mut too_many = false;
    let end = wire::walk_v6_options(m.options, |code, v| {
        if ev.options.len() < cfg.max_options {
            ev.options.push(code);
        } else {
            too_many = true;
            ev.capped = true;
        }
        match code {
            1 => ev.client_id = Some(cap_hex(v, cap, &mut ev.capped)),
            6 => {
                for p in v.chunks_exact(2) {
                    if ev.params.len() >= cfg.max_params {
                        ev.capped = true;
                        break;
                    }
                    ev.params.push(u16::from_be_bytes([p[0], p[1]]));
                }
                bad_len |= v.len() % 2 != 0;
            }
            15 => {
                // RFC 8415 21.15: 16-bit length-prefixed user classes.
                let mut i = 0usize;
                while let Some(l) = v.get(i..i + 2) {
                    let n = usize::from(u16::from_be_bytes([l[0], l[1]]));
                    let Some(p) = v.get(i + 2..i + 2 + n) else {
                        bad_len = true;
                        break;
                    };
                    if ev.user_class.len() >= cfg.max_params {
                        ev.capped = true;
                        break;
                    }
                    ev.user_class.push(cap_text(p, cap, &mut ev.capped));
                    i += 2 + n;
                }
            }
            16 | 17 => {
                if let Some(e) = v.get(..4) {
                    ev.vendor_enterprise = Some(u32::from_be_bytes([e[0], e[1], e[2], e[3]]));
                } else {
                    bad_len = true;
                }
                if code == 17 {
                    ev.vendor_specific = true;
                } else {
                    // RFC 8415 21.16: vendor-class-data, 16-bit length-prefixed; the
                    // first one is reported.
                    let rest = v.get(4..).unwrap_or(&[]);
                    if let Some(l) = rest.get(..2) {
                        let n = usize::from(u16::from_be_bytes([l[0], l[1]]));
                        match rest.get(2..2 + n) {
                            Some(p) => {
                                ev.vendor_class_identifier = Some(cap_text(p, cap, &mut ev.capped))
                            }
                            None => bad_len = true,
                        }
                    }
                }
            }
            39 => {
                // RFC 4704 4.1: flags, then the domain name in wire labels.
                let mut out = Vec::new();
                if !wire::dns_labels(v.get(1..).unwrap_or(&[]), &mut out, cap) {
                    bad_len = true;
                }
                let mut c = false;
                ev.fqdn = Some(cap_text(&out, cap, &mut c));
            }
            _ => {}
        }
    });
    if let V6WalkEnd::Truncated(_) = end {
        ev.truncated_options = true;
        note(anomalies, TRUNCATED_OPTIONS);
    }
    if bad_len {
        ev.truncated_options = true;
        note(anomalies, BAD_OPTION_LENGTH);
    }
    if too_many {
        note(anomalies, TOO_MANY_OPTIONS);
    }
    Some(ev)
}

/// Whether DHCPv6 options look real: they walk exactly to the end and name a client,
/// a server or a relayed message (every DHCPv6 message but a few rare ones carries one).
pub fn probe_v6_options(options: &[u8]) -> bool {
    let mut ids = false;
    let end = wire::walk_v6_options(options, |code, _| {
        ids |= matches!(code, 1 | 2 | 9);
    });
    end == V6WalkEnd::Complete && ids
}
