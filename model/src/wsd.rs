//! WS-Discovery event payloads (`event_type: "wsd"`), written by the `wsd` analyzer.
//!
//! One [`WsdEvent`] per SOAP-over-UDP datagram (WS-Discovery 1.1, OASIS 2009, and the
//! 2005 draft Windows and printers still speak): the action and what the sender says it is
//! (`Types`, `Scopes`, `XAddrs`, its endpoint reference). Every string and list is capped
//! by the analyzer before it is stored.

use serde::Serialize;

/// `event_type: "wsd"`: one WS-Discovery message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WsdEvent {
    /// The last segment of the `wsa:Action` URI: `Hello`, `Bye`, `Probe`, `ProbeMatches`,
    /// `Resolve`, `ResolveMatches` (others as sent, capped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// `wsa:MessageID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// `wsa:RelatesTo` (matches answer a probe or resolve by its message id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relates_to: Option<String>,
    /// `wsa:EndpointReference/wsa:Address` of the (first) described endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_address: Option<String>,
    /// `d:Types`: QNames such as `wsdp:Device`, `wprt:PrintDeviceType`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// `d:Scopes` URIs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// `d:XAddrs`: transport addresses (usually the device's metadata URL).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub xaddrs: Vec<String>,
    /// `d:MetadataVersion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_version: Option<u64>,
    /// The XML ended early (an element left open); what came before is kept.
    pub truncated: bool,
    /// A string or list was cut at its cap.
    pub capped: bool,
}
