//! Anomaly codes of the `arp` analyzer.

pub use model::l2::ArpEvent;

/// Analyzer name: module, config key, metric label.
pub const NAME: &str = "arp";

/// Fewer than the 28 bytes of an IPv4-over-Ethernet ARP packet.
pub const TRUNCATED: &str = "truncated";
/// ARP for another hardware or protocol type (counted, not read).
pub const NOT_IPV4_ETHERNET: &str = "not_ipv4_ethernet";
/// An opcode other than request or reply (counted, not reported).
pub const OTHER_OPCODE: &str = "other_opcode";
/// The binding table was full: the oldest binding was forgotten.
pub const BINDING_TABLE_FULL: &str = "binding_table_full";
