//! Anomaly codes of the `cdp` analyzer.

pub use model::l2::CdpEvent;

/// Analyzer name: module, config key, metric label.
pub const NAME: &str = "cdp";

/// A TLV length ran past the frame, or was shorter than the TLV header.
pub const TRUNCATED_TLV: &str = "truncated_tlv";
/// The Addresses TLV's entries ran past its value.
pub const MALFORMED_ADDRESSES: &str = "malformed_addresses";
/// The CDP header itself was cut (fewer than 4 bytes after LLC/SNAP).
pub const TRUNCATED_HEADER: &str = "truncated_header";
