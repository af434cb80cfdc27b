//! SSDP/UPnP event payloads (`event_type: "ssdp"`), written by the `ssdp` analyzer.
//!
//! One [`SsdpEvent`] per datagram: the request method (`NOTIFY`, `M-SEARCH`) or the
//! response status, and the headers that identify a device and its services (UPnP Device
//! Architecture 2.0, 1.1-1.3). Header names are lowercased with `-` as `_`. Every string
//! is capped by the analyzer before it is stored.

use serde::Serialize;

/// `event_type: "ssdp"`: one SSDP message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SsdpEvent {
    /// `request` or `response`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Request method (`NOTIFY`, `M-SEARCH`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Response status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `SERVER`: OS/version UPnP/version product/version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// `USER-AGENT` (M-SEARCH).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// `USN`: unique service name (`uuid:...::urn:...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usn: Option<String>,
    /// `NT`: notification type (NOTIFY).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nt: Option<String>,
    /// `NTS`: `ssdp:alive`, `ssdp:byebye`, `ssdp:update`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nts: Option<String>,
    /// `ST`: search target (M-SEARCH and its responses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub st: Option<String>,
    /// `LOCATION`: URL of the device description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The headers ended early (no empty line) or a line was not `name: value`; what
    /// came before is kept.
    pub truncated: bool,
    /// A value was cut at its configured cap, or headers past the cap were skipped.
    pub capped: bool,
}
