//! SNMP over UDP: version, PDU type and whether a community string (a cleartext
//! credential in v1 and v2c) was present, and whether it was a well-known default
//! (`public`, `private`). The community is compared, never stored or logged. SNMPv3
//! messages are reported as such, with their security level (no auth, auth, auth and
//! privacy) from msgFlags; the USM user name is never read.
//!
//! Specs: RFC 1157 4 (SNMPv1 message and PDUs), RFC 1901 3 (community-based SNMPv2c),
//! RFC 3416 3 (SNMPv2 PDUs), RFC 3412 6.1-6.4 (SNMPv3 message format, msgFlags), X.690
//! 8.1 and 8.19 (BER lengths, OBJECT IDENTIFIER).
//!
//! Detection is by content on any UDP port (161 and 162 are hints): a BER SEQUENCE with an
//! INTEGER version 0, 1 or 3 followed by a community OCTET STRING (v1/v2c) or msgGlobalData
//! (v3).
//!
//! What is reported: one `snmp` event per datagram ([`model::exposure::SnmpEvent`]) with
//! the variable-binding OIDs (names only; values are skipped). What is skipped: binding
//! values, v3 security parameters, encrypted scoped PDUs.
//!
//! Limits ([`SnmpConfig`]): bindings reported per message.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

pub use analyzer::SnmpAnalyzer;

use crate::registry::AnalyzersConfig;
use model::{DatagramAnalyzer, Direction, Probe};
use serde::{Deserialize, Serialize};

/// `[analyzers.snmp]`: the SNMP analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SnmpConfig {
    /// Run the SNMP analyzer (detected by content on any UDP port; 161 and 162 are hints).
    /// Default `true`.
    pub enabled: bool,
    /// Most variable-binding OIDs reported per message; past it the list is cut and
    /// `snmp_too_many_vars` raised. 0 reports none. Default 16.
    pub max_vars: usize,
    /// Longest OID reported, in bytes of its dotted form; longer ones are cut. Default 128.
    pub max_oid_bytes: usize,
}

impl Default for SnmpConfig {
    fn default() -> Self {
        SnmpConfig {
            enabled: true,
            max_vars: 16,
            max_oid_bytes: 128,
        }
    }
}

/// The registry's probe: see [`wire::probe`].
pub fn probe_snmp(_dir: Direction, data: &[u8]) -> Probe {
    if wire::probe(data) {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// The registry's `enabled`.
pub fn enabled(cfg: &AnalyzersConfig) -> bool {
    cfg.snmp.enabled
}

/// The registry's `build`.
pub fn build(cfg: &AnalyzersConfig) -> Box<dyn DatagramAnalyzer> {
    Box::new(SnmpAnalyzer::new(&cfg.snmp))
}
