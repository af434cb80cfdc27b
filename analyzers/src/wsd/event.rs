//! Anomaly codes of the `wsd` analyzer.

pub use model::wsd::WsdEvent;

/// Analyzer name: module, config key, metric label and `app_proto`.
pub const NAME: &str = "wsd";

/// A datagram on a WS-Discovery flow that is not a WS-Discovery SOAP envelope.
pub const MALFORMED_MESSAGE: &str = "malformed_message";
/// The XML ended inside a tag or with elements open.
pub const TRUNCATED_XML: &str = "truncated_xml";
/// More XML tokens than `max_xml_tokens`.
pub const TOO_MANY_ELEMENTS: &str = "too_many_elements";
