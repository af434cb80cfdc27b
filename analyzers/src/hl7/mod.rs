//! HL7 v2 over MLLP (and un-framed HL7): routing facts per message, ACK correlation,
//! device evidence, PHI presence without PHI values.
//!
//! Specs: HL7 v2.x chapter 2 (Control): 2.5 message construction rules (segment
//! terminator CR; this analyzer also accepts LF and CRLF as senders do), 2.5.4 / 2.7
//! delimiters declared by MSH-1 and MSH-2 (v2.7 adds the truncation character as the
//! fifth MSH-2 character), 2.7 escape sequences (`\F\ \S\ \T\ \R\ \E\ \P\ \Xhh\`,
//! `\H\ \N\`, `\Z..\ \C..\ \M..\`, `\.br\` ...), 2.10.3 batch protocol (FHS/BHS/BTS/FTS),
//! 2.14.9 MSH and 2.14.8 MSA field numbering (MSH-1 is the field separator itself).
//! MLLP: HL7 v2 Transport Specification, MLLP release 1 (block `<VT> data <FS><CR>`) and
//! release 2 (commit acknowledgement blocks `<VT><ACK><FS><CR>` / `<VT><NAK><FS><CR>`).
//!
//! What is reported: one `hl7` event per message (see [`model::hl7::Hl7Event`]), with
//! MSH-3..6, MSH-9..12 and MSH-18, segment ids, MSA-1/MSA-2, batch id, the names of the
//! PHI fields present (PID, PD1, NK1, GT1, IN1-IN3, MRG fields; OBX-5 when the message
//! carries a PID), device evidence (MSH-3, MSH-4, OBX-18, PRT-10, PRT-16), and, when a
//! key is configured, an HMAC-SHA256 of PID-3 for correlation. A message that expects an
//! acknowledgement is reported when its ACK arrives (with `ack_code` and
//! `ack_latency_ms`), when `ack_timeout_secs` of capture time passed, or when the
//! connection ends (`acknowledged: false`).
//!
//! What is skipped: segment contents other than the fields above, the meaning of
//! enhanced-mode acknowledgements (the first MSA answering a control id is kept), and
//! character set conversion (text is shown as UTF-8 with invalid bytes replaced).
//!
//! Limits ([`Hl7Config`]): message size, pending acknowledgements, field length, segment
//! ids and device evidence per message; each raises a named anomaly or sets `capped`.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

pub use analyzer::Hl7Analyzer;

use crate::registry::AnalyzersConfig;
use model::{Direction, Probe, StreamAnalyzer};
use serde::{Deserialize, Serialize};

/// A secret from the configuration: deserialised as a string, never printed or
/// serialised back.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretKey(pub String);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl Serialize for SecretKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// `[analyzers.hl7]`: the HL7 analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Hl7Config {
    /// Run the HL7 analyzer. Default `true`.
    pub enabled: bool,
    /// Largest message kept for parsing (MLLP frame content, or one segment of un-framed
    /// HL7), in bytes. A larger one has its head parsed and reported `truncated`, the rest
    /// skipped, and raises `message_too_large`. Default 1 MiB (1048576).
    pub max_message_bytes: usize,
    /// Messages per connection waiting for their acknowledgement. Past it the oldest is
    /// reported unacknowledged and `too_many_pending_acks` is raised. 0 turns ACK
    /// correlation off (messages are reported at once). Default 1024.
    pub max_pending_acks: usize,
    /// Capture-time seconds after which a message still without acknowledgement is
    /// reported with `acknowledged: false`; 0 waits until the connection ends. Default 60.
    pub ack_timeout_secs: u64,
    /// Longest reported value (application, facility, control id, device evidence...), in
    /// bytes; longer ones are cut and the event gets `capped: true`. Default 256.
    pub max_field_bytes: usize,
    /// Most segment ids listed per message (the rest are counted in `bytes` only, and the
    /// event gets `capped: true`). Default 256.
    pub max_segments: usize,
    /// Most device evidence entries per message. Default 16.
    pub max_device_evidence: usize,
    /// Accept HL7 without MLLP framing (a direction starting with `MSH`); when `false`
    /// such flows are abandoned. Default `true`.
    pub accept_unframed: bool,
    /// Key for `patient_id_hmac` (HMAC-SHA256 of PID-3, hex of the first 16 bytes), to
    /// correlate a patient's messages without exposing the id. Unset (default): no hash
    /// is written. Treat it as a secret: anyone holding it can test guessed ids.
    pub patient_id_hmac_key: Option<SecretKey>,
}

impl Default for Hl7Config {
    fn default() -> Self {
        Hl7Config {
            enabled: true,
            max_message_bytes: 1 << 20,
            max_pending_acks: 1024,
            ack_timeout_secs: 60,
            max_field_bytes: 256,
            max_segments: 256,
            max_device_evidence: 16,
            accept_unframed: true,
            patient_id_hmac_key: None,
        }
    }
}

/// The registry's probe: MLLP start block + MSH/BHS/FHS anywhere in the first bytes, or
/// a header segment at the start (un-framed).
pub fn probe_hl7(_dir: Direction, data: &[u8]) -> Probe {
    match wire::probe(data) {
        wire::ProbeResult::Mllp | wire::ProbeResult::Unframed => Probe::Match,
        wire::ProbeResult::NeedMore => Probe::NeedMore,
        wire::ProbeResult::NoMatch => Probe::NoMatch,
    }
}

/// The registry's `enabled`.
pub fn enabled(cfg: &AnalyzersConfig) -> bool {
    cfg.hl7.enabled
}

/// The registry's `build`.
pub fn build(cfg: &AnalyzersConfig) -> Box<dyn StreamAnalyzer> {
    Box::new(Hl7Analyzer::new(&cfg.hl7))
}
