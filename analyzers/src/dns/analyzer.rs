//! The DNS datagram analyzer: each datagram decoded on its own into one event.

use super::event::*;
use super::wire::{self, DnsError, Header};
use super::DnsConfig;
use model::{Cx, DatagramAnalyzer, Direction, EventKind};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Which protocol a flow speaks (from the registry entry that matched it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsMode {
    Dns,
    Mdns,
    Llmnr,
    /// NetBIOS name service (RFC 1002 4.2: DNS layout, first-level encoded names, NB and
    /// NBSTAT record types); chosen for flows on UDP 137 whatever the registry entry.
    Nbns,
}

/// The DNS analyzer of one UDP flow.
pub struct DnsAnalyzer {
    cfg: DnsConfig,
    mode: DnsMode,
}

impl DnsAnalyzer {
    pub fn new(cfg: &DnsConfig, mode: DnsMode) -> Self {
        DnsAnalyzer {
            cfg: cfg.clone(),
            mode,
        }
    }
}

impl DatagramAnalyzer for DnsAnalyzer {
    fn on_datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, payload: &[u8]) {
        let mut anomalies = Vec::new();
        let k = &cx.flow.key;
        let mode = if k.src_port == 137 || k.dst_port == 137 {
            DnsMode::Nbns
        } else {
            self.mode
        };
        match decode(&self.cfg, mode, payload, &mut anomalies) {
            Some(ev) => {
                for a in anomalies {
                    cx.anomaly(NAME, a, Some(dir));
                }
                let ev = Box::new(ev);
                cx.emit(match mode {
                    DnsMode::Mdns => EventKind::Mdns(ev),
                    DnsMode::Dns | DnsMode::Llmnr | DnsMode::Nbns => EventKind::Dns(ev),
                });
            }
            None => cx.anomaly(NAME, MALFORMED_MESSAGE, Some(dir)),
        }
    }
}

/// Header sanity: a known opcode (query, inverse query, status, notify, update), a
/// query with rcode 0, at least one entry, and counts that fit the datagram (a question
/// takes at least 5 bytes, a record 11).
fn header_plausible(h: &Header, len: usize) -> bool {
    let opcode_ok = matches!(h.opcode(), 0 | 1 | 2 | 4 | 5);
    let rcode_ok = h.qr() || h.rcode() == 0;
    let records = usize::from(h.ancount) + usize::from(h.nscount) + usize::from(h.arcount);
    let min = wire::HEADER_LEN + usize::from(h.qdcount) * 5 + records * 11;
    opcode_ok && rcode_ok && (usize::from(h.qdcount) + records) > 0 && min <= len
}

/// Whether a datagram looks like a DNS message: a plausible header and a first question
/// (or first record) that parses.
pub fn probe(b: &[u8]) -> bool {
    let Some(h) = wire::parse_header(b) else {
        return false;
    };
    if !header_plausible(&h, b.len()) {
        return false;
    }
    let Ok(end) = wire::skip_name(b, wire::HEADER_LEN) else {
        return false;
    };
    if h.qdcount > 0 {
        wire::question_tail(b, end).is_ok()
    } else {
        wire::record_tail(b, end).is_ok()
    }
}

fn note(anomalies: &mut Vec<&'static str>, code: &'static str) {
    if !anomalies.contains(&code) {
        anomalies.push(code);
    }
}

fn error_code(e: DnsError) -> &'static str {
    match e {
        DnsError::Truncated => TRUNCATED_RECORDS,
        DnsError::CompressionLoop => COMPRESSION_LOOP,
        DnsError::BadLabel => BAD_LABEL,
    }
}

/// RFC 1001 14.1 first-level decoding: a first label of 32 letters `A`-`P` holds 16
/// bytes, two letters each; shown as the 15-character name without trailing blanks and
/// the suffix byte as `<xx>` (`WORKSTATION<00>`), scope labels after a dot.
fn nbns_name(dotted: &[u8]) -> Option<String> {
    let (first, scope) = match dotted.iter().position(|b| *b == b'.') {
        Some(i) => (dotted.get(..i)?, dotted.get(i..)?),
        None => (dotted, &[][..]),
    };
    if first.len() != 32 || !first.iter().all(|b| (b'A'..=b'P').contains(b)) {
        return None;
    }
    let bytes: Vec<u8> = first
        .chunks_exact(2)
        .map(|p| ((p[0] - b'A') << 4) | (p[1] - b'A'))
        .collect();
    let (name, suffix) = bytes.split_at(15);
    let end = name.iter().rposition(|b| *b != b' ').map_or(0, |i| i + 1);
    let name = name.get(..end).unwrap_or(name);
    let mut s: String = name
        .iter()
        .map(|b| {
            if b.is_ascii_graphic() || *b == b' ' {
                char::from(*b)
            } else {
                '?'
            }
        })
        .collect();
    s.push_str(&format!("<{:02x}>", suffix.first().copied().unwrap_or(0)));
    s.push_str(&String::from_utf8_lossy(scope));
    Some(s)
}

/// NetBIOS record type names (RFC 1002 4.2.1.3).
fn nbns_type_name(t: u16) -> String {
    match t {
        32 => "NB".to_string(),
        33 => "NBSTAT".to_string(),
        _ => type_name(t),
    }
}

/// Lossy text of a name; the root is `<root>` as Suricata writes it.
fn name_text(b: &[u8]) -> String {
    if b.is_empty() {
        "<root>".to_string()
    } else {
        String::from_utf8_lossy(b).into_owned()
    }
}

fn push_unique(list: &mut Vec<String>, v: &str, cap: usize, capped: &mut bool) {
    if list.iter().any(|x| x.eq_ignore_ascii_case(v)) {
        return;
    }
    if list.len() >= cap {
        *capped = true;
        return;
    }
    list.push(v.to_string());
}

/// `_service._tcp.<domain>` (optionally under `<sub>._sub.`): the service type part.
fn service_type(name: &str) -> Option<&str> {
    let labels: Vec<&str> = name.split('.').collect();
    let i = labels
        .windows(2)
        .position(|w| w[0].starts_with('_') && matches!(w[1], "_tcp" | "_udp"))?;
    // `_services._dns-sd._udp` is the enumeration name, not a service (RFC 6763 9).
    if labels.get(i).is_some_and(|l| *l == "_dns-sd") {
        return None;
    }
    let start: usize = labels.iter().take(i).map(|l| l.len() + 1).sum();
    name.get(start..)
}

struct Decoder<'c> {
    cfg: &'c DnsConfig,
    mode: DnsMode,
    ev: DnsEvent,
    listed: usize,
    name: Vec<u8>,
    /// A name over 255 wire bytes was seen (reported once per message).
    too_long: bool,
}

impl Decoder<'_> {
    fn read_name(&mut self, msg: &[u8], at: usize) -> Result<(String, usize), DnsError> {
        self.name.clear();
        let mut flags = wire::NameFlags::default();
        let next = wire::read_name(msg, at, &mut self.name, self.cfg.max_name_bytes, &mut flags)?;
        self.ev.capped |= flags.capped;
        self.too_long |= flags.too_long;
        if self.mode == DnsMode::Nbns {
            if let Some(n) = nbns_name(&self.name) {
                return Ok((n, next));
            }
        }
        Ok((name_text(&self.name), next))
    }

    fn room(&mut self, anomalies: &mut Vec<&'static str>) -> bool {
        if self.listed < self.cfg.max_records {
            self.listed += 1;
            true
        } else {
            self.ev.capped = true;
            note(anomalies, TOO_MANY_RECORDS);
            false
        }
    }

    fn dnssd_name(&mut self, owner: &str) {
        let cap = self.cfg.max_dnssd_entries;
        if let Some(st) = service_type(owner) {
            push_unique(&mut self.ev.services, st, cap, &mut self.ev.capped);
        }
    }

    /// One record: listed (within the cap) and, for mDNS, mined for DNS-SD facts.
    fn record(
        &mut self,
        msg: &[u8],
        owner: String,
        t: &wire::RecordTail<'_>,
        anomalies: &mut Vec<&'static str>,
    ) -> Option<DnsRecord> {
        let nbns = self.mode == DnsMode::Nbns;
        let mut rec = DnsRecord {
            rrname: owner,
            rrtype: if nbns {
                nbns_type_name(t.rtype)
            } else {
                type_name(t.rtype)
            },
            ttl: t.ttl,
            rdata: None,
            srv: None,
            txt: Vec::new(),
        };
        // RFC 1002 4.2.15: NB data is (flags, IPv4) pairs; the first address is shown.
        // NBSTAT (33) is not SRV.
        let rtype = match (nbns, t.rtype) {
            (true, 32) => {
                if let Some([_, _, a, b, c, d]) =
                    t.rdata.get(..6).and_then(|s| <&[u8; 6]>::try_from(s).ok())
                {
                    rec.rdata = Some(Ipv4Addr::new(*a, *b, *c, *d).to_string());
                }
                0
            }
            (true, 33) => 0,
            (_, t) => t,
        };
        match rtype {
            1 => {
                if let [a, b, c, d] = t.rdata {
                    rec.rdata = Some(Ipv4Addr::new(*a, *b, *c, *d).to_string());
                }
            }
            28 => {
                if let Ok(a) = <[u8; 16]>::try_from(t.rdata) {
                    rec.rdata = Some(Ipv6Addr::from(a).to_string());
                }
            }
            2 | 5 | 12 | 6 => match self.read_name(msg, t.rdata_at) {
                Ok((n, _)) => rec.rdata = Some(n),
                Err(e) => note(anomalies, error_code(e)),
            },
            15 => match self.read_name(msg, t.rdata_at + 2) {
                Ok((n, _)) if t.rdata.len() >= 3 => rec.rdata = Some(n),
                Ok(_) => note(anomalies, TRUNCATED_RECORDS),
                Err(e) => note(anomalies, error_code(e)),
            },
            33 => {
                if let Some(f) = t.rdata.get(..6) {
                    match self.read_name(msg, t.rdata_at + 6) {
                        Ok((name, _)) => {
                            rec.srv = Some(DnsSrv {
                                priority: u16::from_be_bytes([f[0], f[1]]),
                                weight: u16::from_be_bytes([f[2], f[3]]),
                                port: u16::from_be_bytes([f[4], f[5]]),
                                name,
                            })
                        }
                        Err(e) => note(anomalies, error_code(e)),
                    }
                } else {
                    note(anomalies, TRUNCATED_RECORDS);
                }
            }
            16 => {
                let (max_n, max_b) = (self.cfg.max_txt_strings, self.cfg.max_txt_bytes);
                let mut capped = false;
                let mut txt = Vec::new();
                let ok = wire::txt_strings(t.rdata, |s| {
                    if txt.len() >= max_n {
                        capped = true;
                        return;
                    }
                    let cut = s.get(..max_b).unwrap_or(s);
                    capped |= cut.len() < s.len();
                    txt.push(String::from_utf8_lossy(cut).into_owned());
                });
                if !ok {
                    note(anomalies, MALFORMED_TXT);
                }
                self.ev.capped |= capped;
                rec.txt = txt;
            }
            _ => {}
        }
        if self.mode == DnsMode::Mdns {
            self.mine(&rec);
        }
        Some(rec)
    }

    /// DNS-SD facts of one record (RFC 6763 4.1, 6, 9).
    fn mine(&mut self, rec: &DnsRecord) {
        let cap = self.cfg.max_dnssd_entries;
        let ev = &mut self.ev;
        match rec.rrtype.as_str() {
            "PTR" => {
                if rec.rrname.starts_with("_services._dns-sd._udp.") {
                    if let Some(st) = rec.rdata.as_deref().and_then(service_type) {
                        push_unique(&mut ev.services, st, cap, &mut ev.capped);
                    }
                } else if let Some(st) = service_type(&rec.rrname) {
                    push_unique(&mut ev.services, st, cap, &mut ev.capped);
                    if let Some(inst) = rec.rdata.as_deref() {
                        push_unique(&mut ev.instances, inst, cap, &mut ev.capped);
                    }
                }
            }
            "SRV" | "TXT" => {
                if service_type(&rec.rrname).is_some_and(|st| st.len() < rec.rrname.len()) {
                    push_unique(&mut ev.instances, &rec.rrname, cap, &mut ev.capped);
                }
                if let Some(srv) = &rec.srv {
                    push_unique(&mut ev.hostnames, &srv.name, cap, &mut ev.capped);
                }
                for s in &rec.txt {
                    let Some((k, v)) = s.split_once('=') else {
                        continue;
                    };
                    let key = DEVICE_TXT_KEYS.iter().find(|dk| dk.eq_ignore_ascii_case(k));
                    if let Some(key) = key {
                        if !v.is_empty() {
                            ev.device.entry(key).or_insert_with(|| v.to_string());
                        }
                    }
                }
            }
            "A" | "AAAA" => {
                push_unique(&mut ev.hostnames, &rec.rrname, cap, &mut ev.capped);
            }
            _ => {}
        }
    }
}

/// Decodes one datagram; anomaly codes are pushed to `anomalies` (each at most once).
/// `None` when it is not a DNS message (header implausible or first entry unreadable).
pub fn decode(
    cfg: &DnsConfig,
    mode: DnsMode,
    b: &[u8],
    anomalies: &mut Vec<&'static str>,
) -> Option<DnsEvent> {
    if !probe(b) {
        return None;
    }
    let h = wire::parse_header(b)?;
    let mut d = Decoder {
        cfg,
        mode,
        ev: DnsEvent {
            kind: if h.qr() { "answer" } else { "query" },
            id: h.id,
            flags: format!("{:04x}", h.flags),
            qr: h.qr(),
            aa: h.flags & 0x0400 != 0,
            tc: h.flags & 0x0200 != 0,
            rd: h.flags & 0x0100 != 0,
            ra: h.flags & 0x0080 != 0,
            opcode: h.opcode(),
            rcode: rcode_name(h.rcode()),
            ..DnsEvent::default()
        },
        listed: 0,
        name: Vec::new(),
        too_long: false,
    };
    let mut pos = wire::HEADER_LEN;
    let mut failed = false;
    for _ in 0..h.qdcount {
        let r = d
            .read_name(b, pos)
            .and_then(|(n, end)| wire::question_tail(b, end).map(|t| (n, t)));
        match r {
            Ok((name, t)) => {
                pos = t.next;
                let qtype = if mode == DnsMode::Nbns {
                    nbns_type_name(t.qtype)
                } else {
                    type_name(t.qtype)
                };
                if d.ev.rrname.is_none() {
                    d.ev.rrname = Some(name.clone());
                    d.ev.rrtype = Some(qtype.clone());
                }
                if mode == DnsMode::Mdns {
                    d.dnssd_name(&name);
                }
                if d.room(anomalies) {
                    d.ev.queries.push(DnsQuery {
                        rrname: name,
                        rrtype: qtype,
                    });
                }
            }
            Err(e) => {
                note(anomalies, error_code(e));
                failed = true;
                break;
            }
        }
    }
    let sections = [(0u8, h.ancount), (1, h.nscount), (2, h.arcount)];
    'outer: for (section, count) in sections {
        if failed {
            break;
        }
        for _ in 0..count {
            let r = d
                .read_name(b, pos)
                .and_then(|(n, end)| wire::record_tail(b, end).map(|t| (n, t)));
            let (owner, t) = match r {
                Ok(x) => x,
                Err(e) => {
                    note(anomalies, error_code(e));
                    failed = true;
                    break 'outer;
                }
            };
            pos = t.next;
            // EDNS OPT pseudo-records are not records (RFC 6891 6.1.1).
            if t.rtype == 41 {
                continue;
            }
            if !d.room(anomalies) {
                continue;
            }
            if let Some(rec) = d.record(b, owner, &t, anomalies) {
                match section {
                    0 => d.ev.answers.push(rec),
                    1 => d.ev.authorities.push(rec),
                    _ => d.ev.additionals.push(rec),
                }
            }
        }
    }
    if d.too_long {
        note(anomalies, NAME_TOO_LONG);
    }
    d.ev.truncated = failed;
    Some(d.ev)
}
