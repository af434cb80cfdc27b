//! DHCPv4 and DHCPv6: the client facts devices are fingerprinted by.
//!
//! Specs: RFC 2131 (DHCPv4 message format, section 2; magic cookie, 3), RFC 2132 (options:
//! 12 host name 3.14, 43 vendor-specific 8.4, 50 requested address 9.1, 51 lease time 9.2,
//! 52 overload 9.3, 53 message type 9.6, 55 parameter request list 9.8, 57 maximum message
//! size 9.10, 60 vendor class 9.13, 61 client identifier 9.14), RFC 3004 (77 user class),
//! RFC 4702 (81 client FQDN), RFC 3396 (split long options: a repeated 55 continues the
//! list); RFC 8415 (DHCPv6: header 8, relay header 9, options 21: 1 client id, 6 option
//! request, 15 user class, 16 vendor class, 17 vendor options), RFC 4704 (39 client FQDN).
//!
//! What is reported: one `dhcp` event per message ([`model::dhcp::DhcpEvent`]): message
//! type, transaction id, `chaddr`, the header addresses, the options above and the list of
//! option codes in wire order (the option layout fingerprint).
//!
//! What is skipped: option values other than the above (option 43 and DHCPv6 option 17 are
//! reported present, their vendor-defined content is not decoded), relayed DHCPv6 messages
//! inside relay-forward/reply (the relay's own options are listed), DHCP over TCP
//! (leasequery).
//!
//! Malformed options, as real devices send them, are tolerated: an option running past
//! the message ends the walk with what came before kept (`truncated_options: true`,
//! anomaly `truncated_options`); a missing end option is the anomaly `missing_end_option`;
//! a fixed-size option of another length is ignored (`bad_option_length`).
//!
//! Limits ([`DhcpConfig`]): string length, parameter list length and option count; past
//! them the event has `capped: true`.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

pub use analyzer::DhcpAnalyzer;

use crate::registry::AnalyzersConfig;
use model::{DatagramAnalyzer, Direction, Probe};
use serde::{Deserialize, Serialize};

/// `[analyzers.dhcp]`: the DHCP analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DhcpConfig {
    /// Run the DHCP analyzer (DHCPv4 by header and magic cookie, DHCPv6 by header and
    /// option layout, on any UDP port; 67, 68, 546 and 547 are hints). Default `true`.
    pub enabled: bool,
    /// Longest string kept (host name, vendor class, FQDN, user class, client id bytes
    /// before hex); longer ones are cut and the event gets `capped: true`. Default 256.
    pub max_string_bytes: usize,
    /// Most entries kept in the parameter request list and in the user class list.
    /// Default 255.
    pub max_params: usize,
    /// Most option codes listed in `options` per message (the rest are still decoded);
    /// past it the anomaly `too_many_options` is raised. Default 128.
    pub max_options: usize,
}

impl Default for DhcpConfig {
    fn default() -> Self {
        DhcpConfig {
            enabled: true,
            max_string_bytes: 256,
            max_params: 255,
            max_options: 128,
        }
    }
}

/// The registry's probe: a DHCPv4 fixed header with `op` 1 or 2 and the magic cookie, or a
/// DHCPv6 header whose options walk exactly to the end and name a client, server or
/// relayed message.
pub fn probe_dhcp(_dir: Direction, data: &[u8]) -> Probe {
    if wire::parse_dhcpv4(data).is_ok() {
        return Probe::Match;
    }
    match wire::parse_dhcpv6(data) {
        Ok(m) if analyzer::probe_v6_options(m.options) => Probe::Match,
        _ => Probe::NoMatch,
    }
}

/// The registry's `enabled`.
pub fn enabled(cfg: &AnalyzersConfig) -> bool {
    cfg.dhcp.enabled
}

/// The registry's `build`.
pub fn build(cfg: &AnalyzersConfig) -> Box<dyn DatagramAnalyzer> {
    Box::new(DhcpAnalyzer::new(&cfg.dhcp))
}
