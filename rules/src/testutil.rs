//! Helpers shared by the unit tests of the rules crate.

use crate::inventory::{Catalogue, Classification, Device, IpBinding};
use model::MacAddr;

/// The shipped catalogue, compiled once for all tests (its regexes are slow to build).
pub fn catalogue() -> &'static Catalogue {
    static C: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
    C.get_or_init(|| Catalogue::load(None).unwrap())
}

/// A device record keyed by its MAC, bound to `ip` by DHCP, of `class` and `criticality`.
pub fn device(mac: [u8; 6], ip: &str, class: &str, criticality: &str) -> Device {
    let id = crate::inventory::mac_id(MacAddr(mac));
    Device {
        id: id.clone(),
        mac: Some(id),
        ips: vec![IpBinding {
            ip: ip.parse().unwrap(),
            source: "dhcp".into(),
            first_seen_us: 0,
            last_seen_us: 0,
        }],
        classification: Classification {
            class: class.into(),
            ..Classification::default()
        },
        criticality: criticality.into(),
        ..Device::default()
    }
}
