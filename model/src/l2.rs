//! Link-layer event payloads, written by the `lldp`, `cdp` and `arp` analyzers from
//! non-IP Ethernet frames (no flow: these events carry the sender's MAC themselves).
//!
//! `lldp`: IEEE 802.1AB-2016 TLVs plus the LLDP-MED inventory TLVs (ANSI/TIA-1057 §10.2.6);
//! `cdp`: Cisco Discovery Protocol v1/v2 TLVs; `arp`: IPv4-over-Ethernet ARP (RFC 826),
//! one event per new or changed IP-to-MAC binding. Every string and list is capped by the
//! analyzer before it is stored; `truncated` says a TLV ran past the frame.

use crate::flow::MacAddr;
use serde::Serialize;
use std::net::Ipv4Addr;

/// LLDP-MED inventory (TIA-1057 inventory management TLVs, subtypes 5 to 11).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LldpMedInventory {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_class: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardware_revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<String>,
}

/// `event_type: "lldp"`: one LLDPDU.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LldpEvent {
    /// The frame's source MAC (the sending port).
    pub src_mac: MacAddr,
    /// 802.1Q VLAN id the frame was tagged with (outermost), when tagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    /// Chassis ID subtype name (`mac_address`, `network_address`, `local`...).
    pub chassis_id_subtype: &'static str,
    /// Chassis ID: a MAC or IP in its usual text form, otherwise the text (capped).
    pub chassis_id: String,
    pub port_id_subtype: &'static str,
    pub port_id: String,
    /// Time to live, seconds.
    pub ttl: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_description: Option<String>,
    /// System capabilities by name (`bridge`, `router`, `telephone`, `station`...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub enabled_capabilities: Vec<&'static str>,
    /// Management addresses in text form.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub management_addresses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub med: Option<LldpMedInventory>,
    /// A TLV ran past the frame, or the mandatory TLVs were missing; what came before is kept.
    pub truncated: bool,
    /// A string or list was cut at its cap.
    pub capped: bool,
}

/// `event_type: "cdp"`: one CDP announcement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CdpEvent {
    pub src_mac: MacAddr,
    /// 802.1Q VLAN id the frame was tagged with (outermost), when tagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    /// CDP version (1 or 2).
    pub version: u8,
    pub ttl: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native_vlan: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vtp_domain: Option<String>,
    pub truncated: bool,
    pub capped: bool,
}

/// `event_type: "arp"`: an IP-to-MAC binding seen for the first time, or changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArpEvent {
    /// The frame's source MAC.
    pub src_mac: MacAddr,
    /// 802.1Q VLAN id the frame was tagged with (outermost), when tagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    /// `request` or `reply` (other opcodes are counted, not reported).
    pub opcode: &'static str,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
    /// Sender IP equals target IP (an announcement).
    pub gratuitous: bool,
    /// The sender MAC previously bound to this IP, when the binding changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_mac: Option<MacAddr>,
    /// An unchanged binding reported again after the analyzer's refresh interval.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub refreshed: bool,
}
