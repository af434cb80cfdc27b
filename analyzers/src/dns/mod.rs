//! DNS, mDNS/DNS-SD and LLMNR over UDP: names asked and answered, and the service and
//! device facts devices announce on the local link.
//!
//! Specs: RFC 1035 (4.1 message format, 4.1.4 compression, 3.3 record data), RFC 3596
//! (AAAA), RFC 2782 (SRV), RFC 6762 (mDNS: 18 header bits, 10.2 cache-flush bit), RFC 6763
//! (DNS-SD: 4.1 service instance names, 6 TXT `key=value`, 9 service type enumeration
//! `_services._dns-sd._udp`), RFC 4795 (LLMNR: 2.1.1 header).
//!
//! Detection is by content on any UDP port (53, 5353 and 5355 are hints): a header with a
//! known opcode, plausible counts for the datagram size, and a first record that parses.
//! Which event a flow gets follows the registry entry that matched: `dns` (event
//! `dns`), `mdns` (event `mdns`, with DNS-SD facts), `llmnr` (event `dns`).
//!
//! What is reported: one event per message ([`model::dns::DnsEvent`]): header flags,
//! questions, answer/authority/additional records (A, AAAA, CNAME, NS, PTR, MX, SOA
//! names, SRV, TXT), and for mDNS the service types, instance names, host names and the
//! device TXT keys (`model`, `md`, `ty`, `product`, `usb_MFG`, `usb_MDL`, `manufacturer`).
//!
//! On UDP 137 the same parser reads NetBIOS name service messages (RFC 1002 4.2): names
//! are shown first-level decoded (`PUMPSRV01<20>`, RFC 1001 14.1), NB records with their
//! first address, NBSTAT contents are not decoded; the events are `dns` events.
//!
//! What is skipped: DNS over TCP, EDNS options (OPT records are not listed), DNSSEC record
//! contents.
//!
//! Hostile input: compression pointers must point strictly backwards (loops are
//! impossible), names are limited to 255 wire bytes, counts past the message end the walk
//! with the records read so far kept (`truncated: true`); each raises a named anomaly.
//! Limits ([`DnsConfig`]): name and TXT string length, records and DNS-SD entries listed.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

pub use analyzer::{DnsAnalyzer, DnsMode};

use crate::registry::AnalyzersConfig;
use model::{DatagramAnalyzer, Direction, Probe};
use serde::{Deserialize, Serialize};

/// `[analyzers.dns]`: the DNS, mDNS and LLMNR analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
    /// Run the DNS analyzer on UDP (any port; 53 is a hint). Default `true`.
    pub enabled: bool,
    /// Report mDNS (UDP 5353 as a hint) as `mdns` events with DNS-SD facts. Default `true`.
    pub mdns: bool,
    /// Report LLMNR (UDP 5355 as a hint) as `dns` events with `app_proto` `llmnr`.
    /// Default `true`.
    pub llmnr: bool,
    /// Longest name kept, in bytes of dotted text; longer ones are cut and the event gets
    /// `capped: true`. Default 255.
    pub max_name_bytes: usize,
    /// Most records listed per message over all sections (questions included); past it
    /// the anomaly `too_many_records` is raised. Default 64.
    pub max_records: usize,
    /// Most TXT strings kept per record. Default 16.
    pub max_txt_strings: usize,
    /// Longest TXT string or TXT value kept, in bytes. Default 255.
    pub max_txt_bytes: usize,
    /// Most entries in each DNS-SD list (`services`, `instances`, `hostnames`). Default 32.
    pub max_dnssd_entries: usize,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            enabled: true,
            mdns: true,
            llmnr: true,
            max_name_bytes: 255,
            max_records: 64,
            max_txt_strings: 16,
            max_txt_bytes: 255,
            max_dnssd_entries: 32,
        }
    }
}

/// The registry's probe (shared by `dns`, `mdns` and `llmnr`): see [`analyzer::probe`].
pub fn probe_dns(_dir: Direction, data: &[u8]) -> Probe {
    if analyzer::probe(data) {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// The registry's `enabled` for `dns`.
pub fn enabled(cfg: &AnalyzersConfig) -> bool {
    cfg.dns.enabled
}
/// The registry's `enabled` for `mdns`.
pub fn enabled_mdns(cfg: &AnalyzersConfig) -> bool {
    cfg.dns.enabled && cfg.dns.mdns
}
/// The registry's `enabled` for `llmnr`.
pub fn enabled_llmnr(cfg: &AnalyzersConfig) -> bool {
    cfg.dns.enabled && cfg.dns.llmnr
}

/// The registry's `build` for `dns`.
pub fn build(cfg: &AnalyzersConfig) -> Box<dyn DatagramAnalyzer> {
    Box::new(DnsAnalyzer::new(&cfg.dns, DnsMode::Dns))
}
/// The registry's `build` for `mdns`.
pub fn build_mdns(cfg: &AnalyzersConfig) -> Box<dyn DatagramAnalyzer> {
    Box::new(DnsAnalyzer::new(&cfg.dns, DnsMode::Mdns))
}
/// The registry's `build` for `llmnr`.
pub fn build_llmnr(cfg: &AnalyzersConfig) -> Box<dyn DatagramAnalyzer> {
    Box::new(DnsAnalyzer::new(&cfg.dns, DnsMode::Llmnr))
}
