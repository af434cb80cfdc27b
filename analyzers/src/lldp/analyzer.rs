//! LLDPDU to event: the wire TLVs rendered as text, capped.

use super::event::*;
use super::wire::{self, Lldpdu};
use super::LldpConfig;
use crate::l2::{address_text, capped_list, text};
use model::MacAddr;

/// System capability bit names (802.1AB-2016 Table 8-4), bit 0 first.
const CAPABILITIES: [&str; 11] = [
    "other",
    "repeater",
    "bridge",
    "wlan_access_point",
    "router",
    "telephone",
    "docsis_cable_device",
    "station",
    "c_vlan_component",
    "s_vlan_component",
    "two_port_mac_relay",
];

/// Chassis ID subtype names (Table 8-2).
fn chassis_subtype(s: u8) -> &'static str {
    match s {
        1 => "chassis_component",
        2 => "interface_alias",
        3 => "port_component",
        4 => "mac_address",
        5 => "network_address",
        6 => "interface_name",
        7 => "local",
        _ => "reserved",
    }
}

/// Port ID subtype names (Table 8-3).
fn port_subtype(s: u8) -> &'static str {
    match s {
        1 => "interface_alias",
        2 => "port_component",
        3 => "mac_address",
        4 => "network_address",
        5 => "interface_name",
        6 => "agent_circuit_id",
        7 => "local",
        _ => "reserved",
    }
}

fn caps(bits: u16) -> Vec<&'static str> {
    CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// An id: a MAC for the MAC subtype, an address for the network-address subtype (IANA
/// family byte first), otherwise text.
fn id_text(is_mac: bool, is_net: bool, id: &[u8], cap: usize, capped: &mut bool) -> String {
    if is_mac {
        if let Ok(m) = <[u8; 6]>::try_from(id) {
            return MacAddr(m).to_string();
        }
    }
    if is_net {
        if let Some((&fam, addr)) = id.split_first() {
            if let Some(t) = address_text(fam, addr) {
                return t;
            }
        }
    }
    text(id, cap, capped)
}

/// Builds the event of one LLDPDU; anomaly codes go to `anomalies` (each at most once).
pub fn decode(
    cfg: &LldpConfig,
    src_mac: MacAddr,
    vlan: Option<u16>,
    payload: &[u8],
    anomalies: &mut Vec<&'static str>,
) -> LldpEvent {
    let d: Lldpdu<'_> = wire::parse_lldpdu(payload, cfg.max_list_items);
    let cap = cfg.max_string_bytes;
    let mut ev = LldpEvent {
        src_mac,
        vlan,
        truncated: d.truncated || d.missing_mandatory,
        capped: d.capped,
        ..Default::default()
    };
    if d.truncated {
        anomalies.push(TRUNCATED_TLV);
    }
    if d.missing_mandatory {
        anomalies.push(MISSING_MANDATORY_TLV);
    }
    let c = &mut ev.capped;
    if let Some((sub, id)) = d.chassis {
        ev.chassis_id_subtype = chassis_subtype(sub);
        ev.chassis_id = id_text(sub == 4, sub == 5, id, cap, c);
    } else {
        ev.chassis_id_subtype = "missing";
    }
    if let Some((sub, id)) = d.port {
        ev.port_id_subtype = port_subtype(sub);
        ev.port_id = id_text(sub == 3, sub == 4, id, cap, c);
    } else {
        ev.port_id_subtype = "missing";
    }
    ev.ttl = d.ttl.unwrap_or(0);
    ev.port_description = d.port_description.map(|v| text(v, cap, c));
    ev.system_name = d.system_name.map(|v| text(v, cap, c));
    ev.system_description = d.system_description.map(|v| text(v, cap, c));
    if let Some((sys, en)) = d.capabilities {
        ev.capabilities = caps(sys);
        ev.enabled_capabilities = caps(en);
    }
    let mut list_capped = false;
    ev.management_addresses = capped_list(
        d.management.iter().filter_map(|v| {
            let (sub, addr) = wire::parse_management_address(v)?;
            Some(address_text(sub, addr).unwrap_or_else(|| text(addr, cap, c)))
        }),
        cfg.max_list_items,
        &mut list_capped,
    );
    ev.capped |= list_capped;
    let inv = &d.med_inventory;
    if d.med_device_class.is_some() || inv.iter().any(Option::is_some) {
        let c = &mut ev.capped;
        let s = |i: usize, c: &mut bool| inv.get(i).copied().flatten().map(|v| text(v, cap, c));
        ev.med = Some(LldpMedInventory {
            device_class: d.med_device_class,
            hardware_revision: s(0, c),
            firmware_revision: s(1, c),
            software_revision: s(2, c),
            serial_number: s(3, c),
            manufacturer: s(4, c),
            model_name: s(5, c),
            asset_id: s(6, c),
        });
    }
    ev
}
