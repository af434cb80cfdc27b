//! SSDP (UPnP discovery) over UDP: what devices announce and search for.
//!
//! Specs: UPnP Device Architecture 2.0, section 1 (discovery: 1.2 advertisement with
//! `NOTIFY` and `NT`/`NTS`/`USN`/`LOCATION`/`SERVER`, 1.3 search with `M-SEARCH`,
//! `ST`, `USER-AGENT`, and its unicast responses); RFC 7230 3.1-3.2 for the line format.
//!
//! Detection is by content on any UDP port (1900 is a hint): an SSDP request line
//! (`NOTIFY * HTTP/1.1`, `M-SEARCH * HTTP/1.1`), or an HTTP/1.x status line with a `USN`
//! or `ST` header.
//!
//! What is reported: one `ssdp` event per datagram ([`model::ssdp::SsdpEvent`]). What is
//! skipped: the device description XML behind `LOCATION` (it needs a TCP fetch; passive
//! capture sees it only if the control point fetched it, over HTTP), other headers, and
//! WS-Discovery (UDP 3702, SOAP).
//!
//! Limits ([`SsdpConfig`]): value length and header lines walked per datagram.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

pub use analyzer::SsdpAnalyzer;

use crate::registry::AnalyzersConfig;
use model::{DatagramAnalyzer, Direction, Probe};
use serde::{Deserialize, Serialize};

/// `[analyzers.ssdp]`: the SSDP analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SsdpConfig {
    /// Run the SSDP analyzer (any UDP port; 1900 is a hint). Default `true`.
    pub enabled: bool,
    /// Longest header value kept, in bytes; longer ones are cut and the event gets
    /// `capped: true`. Default 256.
    pub max_value_bytes: usize,
    /// Most header lines walked per datagram; past it the rest are skipped, the event gets
    /// `capped: true` and the anomaly `too_many_headers` is raised. Default 64.
    pub max_headers: usize,
}

impl Default for SsdpConfig {
    fn default() -> Self {
        SsdpConfig {
            enabled: true,
            max_value_bytes: 256,
            max_headers: 64,
        }
    }
}

/// The registry's probe: see [`analyzer::probe`].
pub fn probe_ssdp(_dir: Direction, data: &[u8]) -> Probe {
    if analyzer::probe(data) {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// The registry's `enabled`.
pub fn enabled(cfg: &AnalyzersConfig) -> bool {
    cfg.ssdp.enabled
}

/// The registry's `build`.
pub fn build(cfg: &AnalyzersConfig) -> Box<dyn DatagramAnalyzer> {
    Box::new(SsdpAnalyzer::new(&cfg.ssdp))
}
