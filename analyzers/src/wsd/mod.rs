//! WS-Discovery over SOAP-over-UDP (UDP 3702, multicast 239.255.255.250 / ff02::c): how
//! Windows hosts, network printers, scanners and many medical devices (patient monitors
//! among them) announce themselves and find each other.
//!
//! Specs: OASIS WS-Discovery 1.1 (2009) §4 (Hello, Bye), §5 (Probe, ProbeMatches), §6
//! (Resolve, ResolveMatches); the 2005/04 draft namespace that Windows and printers use;
//! SOAP-over-UDP 1.1; WS-Addressing headers (`Action`, `MessageID`, `RelatesTo`,
//! `EndpointReference/Address`).
//!
//! Detection is by content on any UDP port (3702 is a hint): an XML document whose first
//! bytes name a SOAP `Envelope` and a WS-Discovery namespace.
//!
//! What is reported: one `wsd` event per datagram ([`model::wsd::WsdEvent`]): the action,
//! message id, relates-to, the first endpoint address, `Types`, `Scopes`, `XAddrs` and the
//! metadata version. Skipped: the device metadata exchange (WS-Transfer Get over HTTP) and
//! signatures.
//!
//! Limits ([`WsdConfig`]): string length, list items, XML tokens walked per datagram. The
//! XML is read by a small tolerant tokenizer ([`wire`]) that never trusts lengths.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

pub use analyzer::WsdAnalyzer;

use crate::registry::AnalyzersConfig;
use model::{DatagramAnalyzer, Direction, Probe};
use serde::{Deserialize, Serialize};

/// `[analyzers.wsd]`: the WS-Discovery analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct WsdConfig {
    /// Run the WS-Discovery analyzer (any UDP port; 3702 is a hint). Default `true`.
    pub enabled: bool,
    /// Longest string kept (action, ids, addresses, each type, scope or XAddr); longer ones
    /// are cut and the event gets `capped: true`. Default 256.
    pub max_string_bytes: usize,
    /// Most entries kept in each of `types`, `scopes` and `xaddrs`. Default 16.
    pub max_list_items: usize,
    /// Most XML tokens (tags and texts) walked per datagram; past it the rest is skipped,
    /// the event gets `capped: true` and the anomaly `too_many_elements` is raised.
    /// Default 512.
    pub max_xml_tokens: usize,
}

impl Default for WsdConfig {
    fn default() -> Self {
        WsdConfig {
            enabled: true,
            max_string_bytes: 256,
            max_list_items: 16,
            max_xml_tokens: 512,
        }
    }
}

/// The registry's probe: see [`analyzer::probe`].
pub fn probe_wsd(_dir: Direction, data: &[u8]) -> Probe {
    if analyzer::probe(data) {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// The registry's `enabled`.
pub fn enabled(cfg: &AnalyzersConfig) -> bool {
    cfg.wsd.enabled
}

/// The registry's `build`.
pub fn build(cfg: &AnalyzersConfig) -> Box<dyn DatagramAnalyzer> {
    Box::new(WsdAnalyzer::new(&cfg.wsd))
}
