//! Telnet: an insecure remote-login service, and whether a password crossed it in
//! cleartext. Reports that negotiation happened, that the server prompted for a login or
//! a password, and that the client answered the password prompt; never what was typed.
//!
//! Specs: RFC 854 (telnet protocol, NVT, IAC commands), RFC 855 (option negotiation and
//! subnegotiation).
//!
//! Detection is by content on any port (23 and 2323 are hints): an IAC option command
//! (WILL/WONT/DO/DONT/SB) at the start of either direction, or server text ending in a
//! login or password prompt (devices that skip negotiation).
//!
//! What is reported: one `telnet` event per session ([`model::exposure::TelnetEvent`]),
//! as soon as the client answers a password prompt (then the flow is no longer read), or
//! when the flow ends. A prompt is a server line ending in `login:`, `username:`,
//! `user name:`, `password:` or `passcode:` (any case); it counts as answered when the
//! client sends a data byte while it is the server's last line. What is skipped: option
//! meanings, everything the client types (never stored), server text other than the
//! current line's last `max_line_bytes`.
//!
//! Limits ([`TelnetConfig`]): server line bytes kept.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

pub use analyzer::TelnetAnalyzer;

use crate::registry::AnalyzersConfig;
use model::{Direction, Probe, StreamAnalyzer};
use serde::{Deserialize, Serialize};

/// `[analyzers.telnet]`: the telnet analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct TelnetConfig {
    /// Run the telnet analyzer (detected by content on any port; 23 and 2323 are hints).
    /// Default `true`.
    pub enabled: bool,
    /// Bytes kept of the server's current line (its end, where a prompt is); between 16 and
    /// 4096. Default 64.
    pub max_line_bytes: usize,
}

impl Default for TelnetConfig {
    fn default() -> Self {
        TelnetConfig {
            enabled: true,
            max_line_bytes: 64,
        }
    }
}

/// The registry's probe: see [`wire::probe`].
pub fn probe_telnet(dir: Direction, data: &[u8]) -> Probe {
    match wire::probe(dir == Direction::ToClient, data) {
        Some(true) => Probe::Match,
        Some(false) => Probe::NoMatch,
        None => Probe::NeedMore,
    }
}

/// The registry's `enabled`.
pub fn enabled(cfg: &AnalyzersConfig) -> bool {
    cfg.telnet.enabled
}

/// The registry's `build`.
pub fn build(cfg: &AnalyzersConfig) -> Box<dyn StreamAnalyzer> {
    Box::new(TelnetAnalyzer::new(&cfg.telnet))
}
