//! LLDP (IEEE 802.1AB-2016) from non-IP Ethernet frames (ethertype 0x88cc, also behind
//! 802.1Q tags): what a switch port, phone, or medical device says it is.
//!
//! Spec: 802.1AB-2016 §8.5 (mandatory TLVs: Chassis ID §8.5.2, Port ID §8.5.3, TTL §8.5.4;
//! optional: Port Description §8.5.5, System Name §8.5.6, System Description §8.5.7, System
//! Capabilities §8.5.8, Management Address §8.5.9); LLDP-MED (ANSI/TIA-1057 §10.2.2
//! capabilities and device class, §10.2.6 inventory TLVs subtypes 5 to 11).
//!
//! What is reported: one `lldp` event per LLDPDU ([`model::l2::LldpEvent`]). Skipped: the
//! 802.1/802.3 organizational TLVs (VLAN names, link aggregation, power), other LLDP-MED
//! TLVs (network policy, location), and management address interface numbers and OIDs.
//!
//! Bad input: a TLV whose length runs past the frame sets `truncated` and raises
//! `truncated_tlv` (what came before is kept); missing or misordered mandatory TLVs raise
//! `missing_mandatory_tlv`. Limits ([`LldpConfig`]): string length and list items.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

/// `[analyzers.lldp]`: the LLDP analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LldpConfig {
    /// Report LLDPDUs (ethertype 0x88cc on Ethernet captures). Default `true`.
    pub enabled: bool,
    /// Longest string kept (chassis and port ids, names, descriptions, inventory); longer
    /// ones are cut and the event gets `capped: true`. Default 256.
    pub max_string_bytes: usize,
    /// Most management addresses kept per LLDPDU (`capped: true` past it). Default 8.
    pub max_list_items: usize,
}

impl Default for LldpConfig {
    fn default() -> Self {
        LldpConfig {
            enabled: true,
            max_string_bytes: 256,
            max_list_items: 8,
        }
    }
}
