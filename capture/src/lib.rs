//! Capture: packet sources (pcap/pcapng files, libpcap live, AF_PACKET fanout), lax L2-L4
//! decoding, IPv4/IPv6 fragment reassembly, the flow table, and TCP reassembly.
//!
//! This crate owns flows but not analyzer state: [`flow::FlowTable`] is generic over the
//! per-flow state `S` that the pipeline attaches. It is the only crate allowed `unsafe`
//! (socket options on capture handles, the file mapping, prefetch hints) and `-sys`
//! dependencies.

// Test helpers may unwrap: a failing test is meant to stop (packet paths may not).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod decode;
pub mod defrag;
pub mod file;
pub mod flow;
pub mod fuzz;
pub mod live;
pub mod p0f;
pub mod prefetch;
pub mod tcp;
