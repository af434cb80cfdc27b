//! DHCP event payloads (`event_type: "dhcp"`), written by the `dhcp` analyzer.
//!
//! One [`DhcpEvent`] per DHCPv4 or DHCPv6 message. Field names follow Suricata's EVE
//! `dhcp` object where Suricata has the field (`type`, `id`, `client_mac`, `assigned_ip`,
//! `client_ip`, `relay_ip`, `next_server_ip`, `dhcp_type`, `client_id`, `hostname`,
//! `requested_ip`, `params`, `vendor_class_identifier`, `lease_time`); the rest are the
//! fingerprinting facts Suricata does not log. `params` keeps the option codes in the
//! order the client asked for them (the DHCP fingerprint), as numbers rather than
//! Suricata's names, so unknown codes are not lost. Every string and list is capped by the
//! analyzer before it is stored.

use crate::flow::MacAddr;
use serde::Serialize;
use std::net::Ipv4Addr;

/// `event_type: "dhcp"`: one DHCP message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DhcpEvent {
    /// `request` (BOOTREQUEST, or a DHCPv6 client message), `reply` (BOOTREPLY, DHCPv6
    /// server message) or `relay` (DHCPv6 relay-forward/reply).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Transaction id (`xid`; 24 bits in DHCPv6).
    pub id: u32,
    /// `chaddr` when the hardware type is Ethernet with a 6-byte address (DHCPv4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_mac: Option<MacAddr>,
    /// `yiaddr` (DHCPv4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_ip: Option<Ipv4Addr>,
    /// `ciaddr` (DHCPv4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<Ipv4Addr>,
    /// `giaddr` (DHCPv4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_ip: Option<Ipv4Addr>,
    /// `siaddr` (DHCPv4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_server_ip: Option<Ipv4Addr>,
    /// Message type by name (`discover`, `offer`, `request`, `ack`... for DHCPv4 option 53;
    /// `solicit`, `advertise`, `reply`... for DHCPv6), `unknown` for other numbers.
    /// Absent when a DHCPv4 message has no option 53 (plain BOOTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhcp_type: Option<&'static str>,
    /// The message type number (option 53, or the DHCPv6 msg-type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhcp_type_code: Option<u8>,
    /// 4 or 6.
    pub version: u8,
    /// Option 61 (DHCPv4) or the client DUID (DHCPv6 option 1), as colon-separated hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Option 12.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Option 81 (DHCPv4) or 39 (DHCPv6) domain name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// Option 50.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 55 (DHCPv4) or the option request option 6 (DHCPv6), in the order sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<u16>,
    /// Option 60 (DHCPv4) or the vendor-class data of option 16 (DHCPv6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_class_identifier: Option<String>,
    /// Enterprise number of DHCPv6 option 16 or 17.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_enterprise: Option<u32>,
    /// Option 77 (DHCPv4) or 15 (DHCPv6): each user class.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_class: Vec<String>,
    /// Option 43 (DHCPv4) or 17 (DHCPv6) was present (its content is vendor-defined).
    pub vendor_specific: bool,
    /// Option 57.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_message_size: Option<u16>,
    /// Option 51 (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_time: Option<u32>,
    /// Every option code, in wire order (pad and end excluded): the option layout.
    pub options: Vec<u16>,
    /// The options ran past the message, or a known option had an impossible length;
    /// what came before is kept.
    pub truncated_options: bool,
    /// A string or list was cut at its configured cap.
    pub capped: bool,
}
