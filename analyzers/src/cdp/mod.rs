//! CDP (Cisco Discovery Protocol v1 and v2) from non-IP Ethernet frames: an 802.3 length
//! frame to 01:00:0c:cc:cc:cc with LLC/SNAP (DSAP/SSAP 0xaa, OUI 00:00:0c, type 0x2000),
//! also behind 802.1Q tags. Cisco switches, routers, IP phones and some medical gateways
//! announce themselves this way.
//!
//! What is reported: one `cdp` event per announcement ([`model::l2::CdpEvent`]): device id,
//! platform, software version, port id, addresses, capabilities, native VLAN, VTP domain.
//! Skipped: power, duplex, trust and the other TLVs.
//!
//! Bad input: a TLV shorter than its header or running past the frame sets `truncated` and
//! raises `truncated_tlv`; a broken Addresses TLV raises `malformed_addresses`. Limits
//! ([`CdpConfig`]): string length and addresses kept.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

/// `[analyzers.cdp]`: the CDP analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CdpConfig {
    /// Report CDP announcements (LLC/SNAP type 0x2000 on Ethernet captures). Default `true`.
    pub enabled: bool,
    /// Longest string kept (device id, platform, software version, port id, VTP domain);
    /// longer ones are cut and the event gets `capped: true`. Default 256.
    pub max_string_bytes: usize,
    /// Most addresses kept per announcement (`capped: true` past it). Default 8.
    pub max_list_items: usize,
}

impl Default for CdpConfig {
    fn default() -> Self {
        CdpConfig {
            enabled: true,
            max_string_bytes: 256,
            max_list_items: 8,
        }
    }
}
