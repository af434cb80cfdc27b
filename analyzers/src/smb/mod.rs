//! SMB negotiation: which dialects a client offers and which one the server picks, so
//! SMBv1 (no longer safe: EternalBlue, no pre-auth integrity) is flagged on clinical
//! networks, with the server's signing requirement.
//!
//! Specs: RFC 1002 4.3 (NetBIOS session service framing, also used on direct TCP 445 as
//! [MS-SMB2] 2.1 describes), [MS-CIFS] 2.2.3.1 and [MS-SMB] 2.2.4.52 (SMB1 header and
//! SMB_COM_NEGOTIATE), [MS-SMB2] 2.2.1, 2.2.3 and 2.2.4 (SMB2 header, NEGOTIATE request
//! and response).
//!
//! Detection is by content on any port (445 and 139 are hints): a NetBIOS session message
//! whose payload starts with `\xffSMB`, `\xfeSMB`, `\xfdSMB` or `\xfcSMB`, or a NetBIOS
//! session request.
//!
//! What is reported: one `smb` event per negotiation ([`model::exposure::SmbEvent`]) when
//! the server's final NEGOTIATE response arrives (a multi-protocol negotiate answered with
//! the `2.??` wildcard continues with the SMB2 NEGOTIATE that follows it), or at the end of
//! the flow for a request left unanswered. What is skipped: everything after negotiation
//! (session setup, tree connects, file I/O: the analyzer stops reading the flow), message
//! bytes past `max_negotiate_bytes` (never buffered), negotiate contexts.
//!
//! Limits ([`SmbConfig`]): bytes kept per message, dialects per request, messages looked at
//! before giving up on finding a negotiation, dialect string length.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

pub use analyzer::SmbAnalyzer;

use crate::registry::AnalyzersConfig;
use model::{Direction, Probe, StreamAnalyzer};
use serde::{Deserialize, Serialize};

/// `[analyzers.smb]`: the SMB negotiation analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SmbConfig {
    /// Run the SMB negotiation analyzer (detected by content on any port; 445 and 139 are
    /// hints). Default `true`.
    pub enabled: bool,
    /// Bytes of each SMB message kept for parsing; the rest of a longer message is skipped
    /// unread. A negotiate cut by it is reported with `truncated: true` and
    /// `smb_truncated_negotiate`. Default 4096.
    pub max_negotiate_bytes: usize,
    /// Most dialects reported per request; past it the list is cut and
    /// `smb_too_many_dialects` raised. Default 32.
    pub max_dialects: usize,
    /// Longest SMB1 dialect string kept, in bytes. Default 64.
    pub max_dialect_bytes: usize,
    /// SMB messages looked at per direction for a negotiation; a flow joined after its
    /// negotiation stops being read past it. Default 16.
    pub max_messages: u32,
}

impl Default for SmbConfig {
    fn default() -> Self {
        SmbConfig {
            enabled: true,
            max_negotiate_bytes: 4096,
            max_dialects: 32,
            max_dialect_bytes: 64,
            max_messages: 16,
        }
    }
}

/// The registry's probe: see [`wire::probe`].
pub fn probe_smb(_dir: Direction, data: &[u8]) -> Probe {
    match wire::probe(data) {
        Some(true) => Probe::Match,
        Some(false) => Probe::NoMatch,
        None => Probe::NeedMore,
    }
}

/// The registry's `enabled`.
pub fn enabled(cfg: &AnalyzersConfig) -> bool {
    cfg.smb.enabled
}

/// The registry's `build`.
pub fn build(cfg: &AnalyzersConfig) -> Box<dyn StreamAnalyzer> {
    Box::new(SmbAnalyzer::new(&cfg.smb))
}
