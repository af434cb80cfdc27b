//! FTP control connections: the server's greeting banner (it names the server software;
//! the inventory uses it), whether `USER` and `PASS` crossed in cleartext, whether the
//! client asked for `AUTH TLS`, and each login's outcome (230 or 530). User names and
//! passwords are never stored: the user name is only compared with `anonymous`/`ftp`.
//!
//! Specs: RFC 959 4.1-4.2 and 5.4 (commands, reply codes, multi-line replies), RFC 2228 3
//! and RFC 4217 4 (AUTH, 234: the connection turns to TLS).
//!
//! Detection is by content on any port (21 is a hint): a 220 greeting naming FTP, or an
//! opening client command (`USER`, `AUTH`, `FEAT`, `SYST`, `OPTS`, `HOST`).
//!
//! What is reported: one `ftp` event per login attempt (when the server answers it with
//! 230 or 530, or at the end of the flow), or one per session when no login was seen
//! ([`model::exposure::FtpEvent`]). After a 234 reply to AUTH the connection is TLS: the
//! event is written and the flow no longer read. What is skipped: other commands and
//! replies, data connections (PASV/PORT), anything after AUTH succeeded.
//!
//! Limits ([`FtpConfig`]): control line length, banner length.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

pub use analyzer::FtpAnalyzer;

use crate::registry::AnalyzersConfig;
use model::{Direction, Probe, StreamAnalyzer};
use serde::{Deserialize, Serialize};

/// `[analyzers.ftp]`: the FTP analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct FtpConfig {
    /// Run the FTP control-connection analyzer (detected by content on any port; 21 is a
    /// hint). Default `true`.
    pub enabled: bool,
    /// Longest control line (command or reply line) read, in bytes; a longer one raises
    /// `ftp_line_too_long` and is skipped to its end. Default 2048.
    pub max_line_bytes: usize,
    /// Longest banner kept, in bytes; a longer one is cut and the event gets
    /// `capped: true`. Default 256.
    pub max_banner_bytes: usize,
}

impl Default for FtpConfig {
    fn default() -> Self {
        FtpConfig {
            enabled: true,
            max_line_bytes: 2048,
            max_banner_bytes: 256,
        }
    }
}

/// The registry's probe: see [`wire::probe`].
pub fn probe_ftp(dir: Direction, data: &[u8]) -> Probe {
    match wire::probe(dir == Direction::ToClient, data) {
        Some(true) => Probe::Match,
        Some(false) => Probe::NoMatch,
        None => Probe::NeedMore,
    }
}

/// The registry's `enabled`.
pub fn enabled(cfg: &AnalyzersConfig) -> bool {
    cfg.ftp.enabled
}

/// The registry's `build`.
pub fn build(cfg: &AnalyzersConfig) -> Box<dyn StreamAnalyzer> {
    Box::new(FtpAnalyzer::new(&cfg.ftp))
}
