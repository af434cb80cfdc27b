//! Device event payloads (`event_type: "device"`), written by the inventory when a device
//! first appears or one of its key attributes changes.
//!
//! The record is PHI-free: identity, vendor, class and the attributes that identify the
//! device, each with where it came from. The full attribute history lives in the
//! inventory store (`wardwatch inventory`, `GET /api/v1/devices/{id}`).

use serde::Serialize;

/// `event_type: "device"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DeviceEvent {
    /// `new` (first sight) or `changed` (a key attribute changed).
    pub change: &'static str,
    /// The names of the key attributes that changed (empty for `new`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<&'static str>,
    /// Lowercase MAC (`00:09:fb:12:34:56`), or `ip:10.1.2.3` for a host seen only behind a
    /// router.
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Current IP addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    /// Device class (`infusion_pump`, `patient_monitor`... `unknown`).
    pub class: &'static str,
    /// DICOM modality, for imaging modalities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modality: Option<String>,
    /// Confidence of the class, 0..=100.
    pub class_confidence: u8,
    /// Clinical criticality of the class (`high`, `medium`, `low`).
    pub criticality: &'static str,
    /// The MAC is locally administered (randomised or virtual).
    pub mac_local: bool,
    pub first_seen: crate::Timestamp,
    pub last_seen: crate::Timestamp,
}
