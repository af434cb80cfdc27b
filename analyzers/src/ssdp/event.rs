//! Anomaly codes of the `ssdp` analyzer.

pub use model::ssdp::SsdpEvent;

/// Analyzer name: module, config key, metric label and `app_proto`.
pub const NAME: &str = "ssdp";

/// A datagram on an SSDP flow without an SSDP start line.
pub const MALFORMED_MESSAGE: &str = "malformed_message";
/// The headers did not end with an empty line, or a line had no colon.
pub const MALFORMED_HEADERS: &str = "malformed_headers";
/// More header lines than `max_headers`.
pub const TOO_MANY_HEADERS: &str = "too_many_headers";
