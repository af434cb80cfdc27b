//! The link-layer analyzers' entry: one [`L2Analyzers`] per worker, given every non-IP
//! Ethernet frame. It reads the Ethernet header itself (at most two 802.1Q/802.1ad tags),
//! recognises LLDP (ethertype 0x88cc), CDP (an 802.3 length frame with LLC/SNAP
//! `aa aa 03 00 00 0c 20 00`) and ARP (0x0806), and hands the payload to the `lldp`, `cdp`
//! and `arp` analyzers. Their events carry no flow (`Event { flow: None, .. }`); the sender
//! MAC is in the payload.

use crate::arp::ArpTable;
use crate::registry::AnalyzersConfig;
use model::{AnomalyCounts, Event, EventKind, MacAddr, Timestamp};
use std::net::{Ipv4Addr, Ipv6Addr};

const ET_LLDP: u16 = 0x88cc;
const ET_ARP: u16 = 0x0806;
const ET_VLAN: u16 = 0x8100;
const ET_QINQ: u16 = 0x88a8;
/// LLC (DSAP, SSAP, UI) and SNAP (Cisco OUI, CDP protocol id).
const CDP_SNAP: [u8; 8] = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00];

/// What a non-IP Ethernet frame carries, as far as these analyzers care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L2Payload<'a> {
    Lldp(&'a [u8]),
    /// The CDP PDU; `cut` when the 802.3 length announced more than the frame holds.
    Cdp {
        pdu: &'a [u8],
        cut: bool,
    },
    Arp(&'a [u8]),
    Other,
}

/// The Ethernet header of a frame: (source MAC, outer VLAN, payload kind).
pub fn classify(frame: &[u8]) -> Option<(MacAddr, Option<u16>, L2Payload<'_>)> {
    let src: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    let mut off = 12usize;
    let mut vlan = None;
    let mut et = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    for _ in 0..2 {
        if et != ET_VLAN && et != ET_QINQ {
            break;
        }
        let tci = u16::from_be_bytes([*frame.get(off + 2)?, *frame.get(off + 3)?]);
        vlan.get_or_insert(tci & 0x0fff);
        off += 4;
        et = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    }
    let body = frame.get(off + 2..).unwrap_or_default();
    let kind = match et {
        ET_LLDP => L2Payload::Lldp(body),
        ET_ARP => L2Payload::Arp(body),
        // An 802.3 length field: LLC follows; the length excludes Ethernet padding.
        len @ 0..=1500 if body.get(..8) == Some(&CDP_SNAP[..]) => {
            let len = usize::from(len);
            let cut = len > body.len();
            let llc = body.get(..len).unwrap_or(body);
            L2Payload::Cdp {
                pdu: llc.get(8..).unwrap_or_default(),
                cut,
            }
        }
        _ => L2Payload::Other,
    };
    Some((MacAddr(src), vlan, kind))
}

/// The link-layer analyzers of one worker (LLDP, CDP, ARP) and the ARP binding table.
pub struct L2Analyzers {
    cfg: AnalyzersConfig,
    arp: ArpTable,
    codes: Vec<&'static str>,
}

impl L2Analyzers {
    pub fn new(cfg: &AnalyzersConfig) -> Self {
        L2Analyzers {
            cfg: cfg.clone(),
            arp: ArpTable::default(),
            codes: Vec::new(),
        }
    }

    /// Whether any of them runs (the worker skips the call otherwise).
    pub fn any_enabled(&self) -> bool {
        self.cfg.lldp.enabled || self.cfg.cdp.enabled || self.cfg.arp.enabled
    }

    /// Bindings in the ARP table.
    pub fn arp_bindings(&self) -> usize {
        self.arp.len()
    }

    /// One non-IP Ethernet frame captured at `ts`: events go to `out`, anomalies are
    /// counted in `anomalies` under the analyzer's name.
    pub fn on_frame(
        &mut self,
        ts: Timestamp,
        frame: &[u8],
        out: &mut Vec<Event>,
        anomalies: &mut AnomalyCounts,
    ) {
        let Some((src, vlan, kind)) = classify(frame) else {
            return;
        };
        self.codes.clear();
        let (name, kind) = match kind {
            L2Payload::Lldp(b) if self.cfg.lldp.enabled => {
                let ev =
                    crate::lldp::analyzer::decode(&self.cfg.lldp, src, vlan, b, &mut self.codes);
                (
                    crate::lldp::event::NAME,
                    Some(EventKind::Lldp(Box::new(ev))),
                )
            }
            L2Payload::Cdp { pdu, cut } if self.cfg.cdp.enabled => {
                let ev =
                    crate::cdp::analyzer::decode(&self.cfg.cdp, src, vlan, pdu, &mut self.codes);
                let ev = ev.map(|mut e| {
                    if cut && !e.truncated {
                        e.truncated = true;
                        self.codes.push(crate::cdp::event::TRUNCATED_TLV);
                    }
                    EventKind::Cdp(Box::new(e))
                });
                (crate::cdp::event::NAME, ev)
            }
            L2Payload::Arp(b) if self.cfg.arp.enabled => {
                let ev = self
                    .arp
                    .on_arp(&self.cfg.arp, ts, src, vlan, b, &mut self.codes);
                (
                    crate::arp::event::NAME,
                    ev.map(|e| EventKind::Arp(Box::new(e))),
                )
            }
            _ => return,
        };
        for c in self.codes.drain(..) {
            anomalies.add(name, c, 1);
        }
        if let Some(kind) = kind {
            out.push(Event {
                ts,
                flow: None,
                kind,
            });
        }
    }
}

/// `v` as text, cut at `cap` bytes (on a character boundary); sets `capped` when cut.
pub(crate) fn text(v: &[u8], cap: usize, capped: &mut bool) -> String {
    let cut = v.get(..cap).unwrap_or(v);
    *capped |= cut.len() < v.len();
    let s = String::from_utf8_lossy(cut);
    // Trailing NULs are C-string padding some devices send.
    s.trim_end_matches('\0').to_string()
}

/// The first `max` items; sets `capped` when more were offered.
pub(crate) fn capped_list<T>(
    items: impl Iterator<Item = T>,
    max: usize,
    capped: &mut bool,
) -> Vec<T> {
    let mut v = Vec::new();
    for x in items {
        if v.len() >= max {
            *capped = true;
            break;
        }
        v.push(x);
    }
    v
}

/// An address of IANA address family `fam` (1 IPv4, 2 IPv6, 6 IEEE 802 MAC) as text.
pub(crate) fn address_text(fam: u8, addr: &[u8]) -> Option<String> {
    match fam {
        1 => <[u8; 4]>::try_from(addr)
            .ok()
            .map(|a| Ipv4Addr::from(a).to_string()),
        2 => <[u8; 16]>::try_from(addr)
            .ok()
            .map(|a| Ipv6Addr::from(a).to_string()),
        6 => <[u8; 6]>::try_from(addr)
            .ok()
            .map(|a| MacAddr(a).to_string()),
        _ => None,
    }
}
