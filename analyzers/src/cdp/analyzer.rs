//! CDP announcement to event: the wire TLVs rendered as text, capped.

use super::event::*;
use super::wire::{self, CdpAddress};
use super::CdpConfig;
use crate::l2::text;
use model::MacAddr;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Capability bit names, bit 0 first.
const CAPABILITIES: [&str; 11] = [
    "router",
    "transparent_bridge",
    "source_route_bridge",
    "switch",
    "host",
    "igmp",
    "repeater",
    "voip_phone",
    "remotely_managed",
    "cvta",
    "two_port_mac_relay",
];

/// Builds the event of one CDP PDU (`None` when its header is cut); anomaly codes go to
/// `anomalies`.
pub fn decode(
    cfg: &CdpConfig,
    src_mac: MacAddr,
    vlan: Option<u16>,
    payload: &[u8],
    anomalies: &mut Vec<&'static str>,
) -> Option<CdpEvent> {
    let Some(c) = wire::parse_cdp(payload) else {
        anomalies.push(TRUNCATED_HEADER);
        return None;
    };
    let cap = cfg.max_string_bytes;
    let mut ev = CdpEvent {
        src_mac,
        vlan,
        version: c.version,
        ttl: c.ttl,
        truncated: c.truncated,
        native_vlan: c.native_vlan,
        ..Default::default()
    };
    if c.truncated {
        anomalies.push(TRUNCATED_TLV);
    }
    let k = &mut ev.capped;
    ev.device_id = c.device_id.map(|v| text(v, cap, k));
    ev.platform = c.platform.map(|v| text(v, cap, k));
    ev.software_version = c.software_version.map(|v| text(v, cap, k));
    ev.port_id = c.port_id.map(|v| text(v, cap, k));
    ev.vtp_domain = c.vtp_domain.map(|v| text(v, cap, k));
    if let Some(bits) = c.capabilities {
        ev.capabilities = CAPABILITIES
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect();
    }
    if let Some(v) = c.addresses {
        let list = match wire::parse_addresses(v, cfg.max_list_items.saturating_add(1)) {
            Ok(l) => l,
            Err(l) => {
                ev.truncated = true;
                anomalies.push(MALFORMED_ADDRESSES);
                l
            }
        };
        for a in list {
            if ev.addresses.len() >= cfg.max_list_items {
                ev.capped = true;
                break;
            }
            match a {
                CdpAddress::V4(x) => ev.addresses.push(Ipv4Addr::from(x).to_string()),
                CdpAddress::V6(x) => ev.addresses.push(Ipv6Addr::from(x).to_string()),
                CdpAddress::Other(_) => {}
            }
        }
    }
    Some(ev)
}
