//! ARP (RFC 826) IP-to-MAC bindings from IPv4-over-Ethernet ARP requests and replies,
//! also behind 802.1Q tags: the evidence the inventory follows as devices change address.
//!
//! What is reported: an `arp` event ([`model::l2::ArpEvent`]) only when a sender binding
//! is new to this worker or its MAC changed for the same IP (`previous_mac`), never one
//! per ARP packet; an unchanged binding is reported again (`refreshed: true`) when it is
//! seen `refresh_secs` of capture time after its last report, so consumers keep a current
//! last-seen time and a restarted sensor reports the same bindings a running one does. ARP probes (sender IP 0.0.0.0) and senders with a broadcast, multicast
//! or zero MAC bind nothing. The pipeline sends every ARP packet of one sender IP to the
//! same worker, so a worker sees all of that IP's bindings.
//!
//! Limits ([`ArpConfig`]): bindings remembered per worker; at the cap the oldest binding is
//! forgotten (anomaly `binding_table_full`, counted) and will be reported again if seen.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

pub use analyzer::ArpTable;

use serde::{Deserialize, Serialize};

/// `[analyzers.arp]`: the ARP binding tracker's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ArpConfig {
    /// Report new and changed IP-to-MAC bindings from ARP (Ethernet captures). Default
    /// `true`.
    pub enabled: bool,
    /// IP-to-MAC bindings remembered per worker; past it the oldest is forgotten
    /// (`binding_table_full`). Default 65536.
    pub max_bindings: usize,
    /// Seconds of capture time after which an unchanged binding seen again is reported
    /// again (`refreshed: true`); 0 reports a binding only when new or changed. Default 600.
    pub refresh_secs: u64,
}

impl Default for ArpConfig {
    fn default() -> Self {
        ArpConfig {
            enabled: true,
            max_bindings: 65_536,
            refresh_secs: 600,
        }
    }
}
