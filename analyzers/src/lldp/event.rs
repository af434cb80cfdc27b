//! Anomaly codes of the `lldp` analyzer.

pub use model::l2::{LldpEvent, LldpMedInventory};

/// Analyzer name: module, config key, metric label.
pub const NAME: &str = "lldp";

/// A TLV's length ran past the end of the frame.
pub const TRUNCATED_TLV: &str = "truncated_tlv";
/// Chassis ID, Port ID and TTL were not the first three TLVs (or one was empty).
pub const MISSING_MANDATORY_TLV: &str = "missing_mandatory_tlv";
