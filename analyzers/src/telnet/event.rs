//! Anomaly codes of the `telnet` analyzer.

pub use model::exposure::TelnetEvent;

/// Analyzer name: module, config key, metric label and `app_proto`.
pub const NAME: &str = "telnet";

/// Bytes were lost in a direction; its command-layer state restarts at data and the
/// server's current line is forgotten.
pub const GAP: &str = "telnet_gap";
