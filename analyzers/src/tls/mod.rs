//! TLS handshake fingerprints: the cleartext ClientHello and ServerHello of each
//! connection, then nothing (the encrypted rest is consumed unparsed).
//!
//! Specs: RFC 8446 5.1 (record layer), 4.1.2 (ClientHello), 4.1.3 (ServerHello and
//! HelloRetryRequest), 4.2 (extensions), 4.2.1 (supported_versions); RFC 5246 7.4.1 (TLS
//! 1.2 hellos); RFC 6066 3 (server_name); RFC 7301 3.1 (ALPN); RFC 8701 (GREASE).
//! Fingerprints: JA3 and JA3S (Salesforce, BSD-3-Clause: decimal fields, GREASE removed,
//! MD5) and JA4 for TLS clients (FoxIO JA4 specification, BSD-3-Clause). No other JA4+
//! method (JA4S, JA4H, JA4X...) is implemented: they are under the FoxIO licence.
//!
//! What is reported: one `tls` event per ClientHello, paired with the ServerHello that
//! answered it (a HelloRetryRequest answers the first of two ClientHellos), or per
//! ServerHello seen alone (see [`model::tls::TlsEvent`]): SNI, ALPN, versions, cipher
//! suites, extension types, supported groups, signature algorithms, JA3, JA3S, JA4, the
//! chosen version and cipher.
//!
//! How: each direction walks record headers; handshake record bodies are joined into
//! handshake messages (a hello may span several records and segments), up to
//! `max_handshake_bytes`. A direction stops at its first application-data record or once
//! the final ServerHello was read; from then on its bytes are consumed unseen (`Done`).
//! SSLv2-format ClientHellos, DTLS and QUIC are not parsed.
//!
//! Limits ([`TlsConfig`]): handshake message size, string length, list length, stored
//! JA3 string length; each raises a named anomaly or sets `truncated`/`capped`.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

pub use analyzer::TlsAnalyzer;

use crate::registry::AnalyzersConfig;
use model::{Direction, Probe, StreamAnalyzer};
use serde::{Deserialize, Serialize};

/// `[analyzers.tls]`: the TLS analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// Run the TLS analyzer (detected by content on any port). Default `true`.
    pub enabled: bool,
    /// Largest ClientHello/ServerHello kept for parsing, in bytes (handshake header
    /// included). A larger one has its head parsed and reported `truncated`, and raises
    /// `handshake_too_large`. Default 65536.
    pub max_handshake_bytes: usize,
    /// Longest SNI or ALPN value reported, in bytes; longer ones are cut and the event gets
    /// `capped: true`. Default 256.
    pub max_string_bytes: usize,
    /// Most items kept per reported list (cipher suites, extensions, groups, signature
    /// algorithms, ALPN values, versions); fingerprints still use the whole lists.
    /// Default 128.
    pub max_list_items: usize,
    /// Longest JA3/JA3S string stored (the hash is always of the whole string). Default
    /// 2048.
    pub max_ja3_string_bytes: usize,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            enabled: true,
            max_handshake_bytes: 65536,
            max_string_bytes: 256,
            max_list_items: 128,
            max_ja3_string_bytes: 2048,
        }
    }
}

/// The registry's probe: a handshake record holding a ClientHello or ServerHello at the
/// start of the direction.
pub fn probe_tls(_dir: Direction, data: &[u8]) -> Probe {
    match wire::probe(data) {
        wire::ProbeResult::Match => Probe::Match,
        wire::ProbeResult::NeedMore => Probe::NeedMore,
        wire::ProbeResult::NoMatch => Probe::NoMatch,
    }
}

/// The registry's `enabled`.
pub fn enabled(cfg: &AnalyzersConfig) -> bool {
    cfg.tls.enabled
}

/// The registry's `build`.
pub fn build(cfg: &AnalyzersConfig) -> Box<dyn StreamAnalyzer> {
    Box::new(TlsAnalyzer::new(&cfg.tls))
}
