//! The device record: identity, current addresses, attributes with provenance, class.
//!
//! Serialised as JSON for the store, the API and `wardwatch inventory --format json`;
//! timestamps are capture time in microseconds since the epoch (`*_us`), so a replay gives
//! the same record every time. Every string is capped when it is stored; every list is
//! capped by [`super::InventoryConfig`].

use super::attrs::{Attr, Attributes};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One value of an attribute, with where and when it was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrValue {
    pub value: String,
    /// Which analyzer or rule gave it (`dhcp`, `http`, `dicom`, `oui`, `catalogue`...).
    pub source: String,
    /// Capture time, microseconds since the epoch.
    pub first_seen_us: i64,
    pub last_seen_us: i64,
    /// How many times it was seen (saturating).
    pub count: u64,
    /// 0..=100: how much this source is trusted for this attribute.
    pub confidence: u8,
}

impl AttrValue {
    /// Counts `n` more sightings between `first` and `last` (min/max, not arrival order:
    /// workers' events arrive in an order that varies from run to run, the record must
    /// not); true when the first or last sighting moved (the record needs saving).
    pub fn seen(&mut self, n: u64, first: i64, last: i64) -> bool {
        self.count = self.count.saturating_add(n);
        if last > self.last_seen_us || first < self.first_seen_us {
            self.last_seen_us = self.last_seen_us.max(last);
            self.first_seen_us = self.first_seen_us.min(first);
            return true;
        }
        false
    }
}

/// An IP address of the device and how it is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpBinding {
    pub ip: std::net::IpAddr,
    /// `dhcp` or `arp` (authoritative on the local segment) or `traffic` (seen as source).
    pub source: String,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
}

/// The class decision and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub class: String,
    /// 0..=100.
    pub confidence: u8,
    /// Ids of the catalogue rules that voted for the winning class.
    pub evidence: Vec<String>,
    /// Scores per class (the runner-up shows how close the call was).
    pub scores: BTreeMap<String, u32>,
}

fn best_of(vals: &[AttrValue]) -> Option<&str> {
    // The value itself breaks a full tie, so the answer never depends on list order
    // (values are listed in arrival order, which varies with the workers' interleaving).
    let key = |v: &AttrValue| (v.confidence, v.count.min(1_000_000), v.last_seen_us);
    vals.iter()
        .max_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.value.cmp(&b.value)))
        .map(|v| v.value.as_str())
}

/// One device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Lowercase MAC, or `ip:<address>` for a host seen only behind a router.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The MAC is locally administered (randomised or virtual): no vendor.
    #[serde(default)]
    pub mac_local: bool,
    /// IEEE organisation of the MAC block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// This MAC fronts many IP addresses (a router): hosts behind it get their own `ip:` records.
    #[serde(default)]
    pub router: bool,
    pub ips: Vec<IpBinding>,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
    /// Attribute name -> values (several when evidence conflicts; none is overwritten).
    pub attributes: Attributes,
    pub classification: Classification,
    /// DICOM modality (CT, MR, US...) for imaging modalities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modality: Option<String>,
    /// Clinical criticality of the class (`high`, `medium`, `low`), or an operator override.
    pub criticality: String,
    /// The FDA risk posture (exploitability x severity, controlled or not, with its
    /// evidence), refreshed by the analysis thread; absent until first assessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<crate::risk::Posture>,
}

impl Device {
    /// The best value of an attribute: highest confidence, then most recently seen.
    pub fn best(&self, name: &str) -> Option<&str> {
        best_of(self.attributes.get(name)?)
    }

    /// [`Device::best`] of an interned attribute.
    pub fn best_attr(&self, a: Attr) -> Option<&str> {
        best_of(self.attributes.get_attr(a)?)
    }

    /// Current IPs (most recent first is not kept: wire order of first sight).
    pub fn ip_list(&self) -> Vec<String> {
        self.ips.iter().map(|b| b.ip.to_string()).collect()
    }
}
