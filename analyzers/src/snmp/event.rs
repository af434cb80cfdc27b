//! Anomaly codes of the `snmp` analyzer.

pub use model::exposure::SnmpEvent;

/// Analyzer name: module, config key, metric label and `app_proto`.
pub const NAME: &str = "snmp";

/// A datagram on an SNMP flow that is not a BER SEQUENCE with an INTEGER version: no event.
pub const BAD_BER: &str = "snmp_bad_ber";
/// A message whose BER runs past the datagram or stops decoding after the version: the
/// event is written with what decoded and `truncated: true`.
pub const TRUNCATED: &str = "snmp_truncated";
/// A version other than 0 (v1), 1 (v2c) or 3: no event.
pub const UNKNOWN_VERSION: &str = "snmp_unknown_version";
/// More variable bindings than `max_vars`; the OID list was cut.
pub const TOO_MANY_VARS: &str = "snmp_too_many_vars";

/// Default communities that agents ship with; a community equal to one of them is flagged.
pub const DEFAULT_COMMUNITIES: [&[u8]; 2] = [b"public", b"private"];
