//! Anomaly codes of the `ftp` analyzer.

pub use model::exposure::FtpEvent;

/// Analyzer name: module, config key, metric label and `app_proto`.
pub const NAME: &str = "ftp";

/// A control line longer than `max_line_bytes`; it is skipped to its end.
pub const LINE_TOO_LONG: &str = "ftp_line_too_long";
/// A server line that is not an FTP reply outside a multi-line reply: the server side is
/// no longer read (and when it was the first line, the flow is not FTP: no event).
pub const BAD_REPLY: &str = "ftp_bad_reply";
/// Bytes were lost; the direction resynchronises at its next line.
pub const GAP: &str = "ftp_gap";
