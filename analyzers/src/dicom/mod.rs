//! DICOM upper layer (PS3.8) and DIMSE (PS3.7) analyzer.
//!
//! What is parsed:
//! - All seven PDUs (PS3.8 9.3): A-ASSOCIATE-RQ/AC (every item and user-information
//!   sub-item: application context, presentation contexts, maximum length, implementation
//!   class UID and version name, asynchronous operations window, role selection, extended
//!   negotiation as present/absent, user identity kind and whether a response was requested,
//!   never its values), A-ASSOCIATE-RJ, P-DATA-TF, A-RELEASE-RQ/RP, A-ABORT. Unknown items
//!   are skipped by length and counted.
//! - P-DATA-TF is framed, never buffered: PDV headers are read as they come; command
//!   fragments are collected (up to `max_command_length`) and decoded as a command set
//!   (PS3.7 E.1, Implicit VR Little Endian): command field, message ids, SOP class and
//!   instance UIDs, priority, data set type, status and its class (PS3.7 annex C), error
//!   comment, move destination, sub-operation counts, move originator.
//! - Data sets are walked as a stream ([`dataset`]): device attributes (Modality,
//!   Manufacturer, model, station, software versions, serial number, institution, SOP Class
//!   UID) are kept, PHI attributes listed by keyword only, everything else skipped by length
//!   (a 2 GB C-STORE costs no memory). Implicit and explicit VR little endian only.
//! - Requests are paired with responses by (direction, message id), with capture-time
//!   latency; pending (0xFF00/0xFF01) responses keep the request open.
//!
//! Detection ([`probe_dicom`]) is by content on any port: an A-ASSOCIATE-RQ/AC at the start,
//! or a P-DATA-TF carrying a command set anywhere in the first bytes (mid-stream pickup).
//! Port hints 104 and 11112 only order the probes.
//!
//! Bad input becomes named anomalies ([`event::code`]); the analyzer resynchronises at the
//! next plausible PDU header. Limits: [`DicomConfig`], each with its default.

pub mod analyzer;
pub mod dataset;
pub mod event;
pub mod wire;

pub use analyzer::{probe_dicom, DicomAnalyzer, DicomConfig};

/// Registry hook: whether the analyzer runs in this configuration.
pub fn enabled(c: &crate::AnalyzersConfig) -> bool {
    c.dicom.enabled
}

/// Registry hook: a new per-flow analyzer.
pub fn build(c: &crate::AnalyzersConfig) -> Box<dyn model::StreamAnalyzer> {
    Box::new(DicomAnalyzer::new(c.dicom.clone()))
}

#[cfg(test)]
mod tests;
