//! Protocol analyzers: bytes in, [`model::Event`]s out.
//!
//! One folder per protocol (`wire.rs` pure parsing, `analyzer.rs` per-flow state machine,
//! `event.rs` anomaly codes and event builders) and one line in [`registry`]. Analyzers
//! never depend on the capture crate: they are fed reassembled bytes through
//! [`model::StreamAnalyzer`] or datagrams through [`model::DatagramAnalyzer`], so they are
//! tested and fuzzed with no libpcap present.
#![forbid(unsafe_code)]
// Test helpers may unwrap: a failing test is meant to stop (packet paths may not).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod arp;
pub mod cdp;
pub mod dhcp;
pub mod dicom;
pub mod dns;
pub mod ftp;
pub mod hl7;
pub mod http;
pub mod l2;
pub mod lldp;
pub mod registry;
pub mod smb;
pub mod snmp;
pub mod ssdp;
pub mod telnet;
#[cfg(test)]
mod testutil;
pub mod tls;
pub mod wsd;

pub use registry::{AnalyzersConfig, DatagramSpec, StreamSpec};
