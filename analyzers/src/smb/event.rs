//! Anomaly codes of the `smb` analyzer.

pub use model::exposure::SmbEvent;

/// Analyzer name: module, config key, metric label and `app_proto`.
pub const NAME: &str = "smb";

/// A NEGOTIATE shorter than its fixed part, cut by `max_negotiate_bytes`, or whose dialect
/// list runs past the message: what it held is reported with `truncated: true`.
pub const TRUNCATED_NEGOTIATE: &str = "smb_truncated_negotiate";
/// A session message shorter than the SMB header its protocol identifier announces (its
/// command unknown); it is skipped.
pub const SHORT_HEADER: &str = "smb_short_header";
/// A NetBIOS packet type that is not session service, or a session message without an SMB
/// protocol identifier: the direction is no longer read.
pub const BAD_FRAMING: &str = "smb_bad_framing";
/// A request listed more than `max_dialects` dialects; the list was cut.
pub const TOO_MANY_DIALECTS: &str = "smb_too_many_dialects";
/// Bytes were lost before the negotiation finished, where framing could not skip them; the
/// direction is no longer read.
pub const GAP_LOST_SYNC: &str = "smb_gap_lost_sync";
