//! Alert event payloads (`event_type: "alert"`), raised by policy rules and baselines.
//!
//! Shaped like Suricata's EVE `alert` object so SIEM parsers built for Suricata read them
//! unchanged: `action` (always `allowed`: wardwatch is passive), `gid`, `signature_id`,
//! `rev`, `signature`, `category`, `severity` (1 high .. 4 informational) and `metadata`
//! (`mitre_technique_id`, as Suricata's ET rules carry it). wardwatch adds `rule` (its own
//! string id, e.g. `policy.clinical_no_internet`), `device` (the device the alert is about)
//! and `evidence` (the facts that triggered it), and `count` (how many occurrences of the
//! same rule on the same device this alert stands for; repeats inside the dedup window are
//! folded into one follow-up alert).
//!
//! The alert event keeps the flow fields of the event that triggered it (`flow_id`,
//! `src_ip`, ... `app_proto`), as Suricata's alerts do. Evidence is PHI-free by
//! construction: addresses, ports, AE titles, application names, message types, flags that
//! a credential was present; never a credential, never a patient field's value.

use serde::Serialize;

/// The Suricata generator id wardwatch's alerts use (1: the rule-based generator, which
/// is what SIEM content expects for `signature_id` lookups).
pub const GID: u32 = 1;

/// The `action` of every wardwatch alert: a passive monitor never blocks.
pub const ACTION_ALLOWED: &str = "allowed";

/// Severity values (Suricata's priority: 1 is the highest).
pub const SEVERITY_HIGH: u8 = 1;
pub const SEVERITY_MEDIUM: u8 = 2;
pub const SEVERITY_LOW: u8 = 3;
pub const SEVERITY_INFO: u8 = 4;

/// `event_type: "alert"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlertEvent {
    /// Always `allowed` (passive).
    pub action: &'static str,
    pub gid: u32,
    /// Stable integer per rule (never reused for another rule).
    pub signature_id: u32,
    /// Revision of the rule; bumped when its meaning changes.
    pub rev: u32,
    /// One-line description of the rule.
    pub signature: String,
    pub category: String,
    /// 1 high, 2 medium, 3 low, 4 informational.
    pub severity: u8,
    /// Suricata-style metadata: `mitre_technique_id` when the rule has a reference.
    #[serde(skip_serializing_if = "AlertMetadata::is_empty")]
    pub metadata: AlertMetadata,
    /// wardwatch's rule id (`policy.clinical_no_internet`, `baseline.new_peer`).
    pub rule: String,
    /// The device the alert is about (absent when no inventoried device is involved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<AlertDevice>,
    /// The facts that triggered the rule, by name (PHI-free); a JSON object in the order
    /// the rule wrote them.
    #[serde(serialize_with = "evidence_object")]
    pub evidence: Vec<(&'static str, String)>,
    /// Occurrences this alert stands for: 1 for the first, N for a follow-up that folds the
    /// N repeats seen during the dedup window.
    pub count: u64,
}

/// Suricata's `alert.metadata` (lists of strings per key).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AlertMetadata {
    /// MITRE ATT&CK (for ICS) technique ids, e.g. `T0886`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mitre_technique_id: Vec<String>,
}

impl AlertMetadata {
    pub fn is_empty(&self) -> bool {
        self.mitre_technique_id.is_empty()
    }
}

/// The device an alert is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AlertDevice {
    /// Inventory id: lowercase MAC, or `ip:10.1.2.3`.
    pub id: String,
    /// Device class (`infusion_pump` ... `unknown`).
    pub class: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
}

/// Evidence as a JSON object in insertion order (a `Vec` of pairs keeps the order the rule
/// chose and costs less than a map for the handful of facts an alert carries).
fn evidence_object<S: serde::Serializer>(
    ev: &[(&'static str, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(ev.len()))?;
    for (k, v) in ev {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

impl AlertEvent {
    /// The value of one evidence fact.
    pub fn fact(&self, name: &str) -> Option<&str> {
        self.evidence
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}
