//! wardwatch's shared model: the events it reports (and their EVE JSON contract), flow
//! identity, capture time, metric names, and the analyzer interface.
//!
//! No I/O here; only std and serde. Every other crate depends on this one, and analyzers
//! are written and tested against it alone.
// Test helpers may unwrap: a failing test is meant to stop (packet paths may not).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![forbid(unsafe_code)]

pub mod alert;
pub mod analyzer;
pub mod device;
pub mod dhcp;
pub mod dicom;
pub mod dns;
pub mod event;
pub mod exposure;
mod fast_flow;
pub mod flow;
pub mod hl7;
pub mod http;
pub mod l2;
pub mod metrics;
pub mod p0f;
pub mod ssdp;
pub mod time;
pub mod tls;
pub mod wsd;

pub use analyzer::{AnomalyCounts, Cx, DatagramAnalyzer, Probe, Progress, StreamAnalyzer};
pub use event::{
    AnomalyRecord, Eve, Event, EventKind, FlowEndReason, FlowRecord, FlowState, StreamRecord,
    TcpRecord,
};
pub use flow::{Direction, FlowKey, FlowMeta, IpProto, MacAddr};
pub use time::Timestamp;

#[cfg(test)]
mod eve_contract_tests;
