//! wardwatch: a passive network monitor for hospital clinical networks.
//!
//! This library assembles the pipeline (capture -> workers -> outputs) used by the binary
//! and by the integration tests: [`pipeline::run_replay`] for capture files,
//! [`live::run_live`] for interfaces.

// Audited exceptions: the two signal handlers (cli.rs, live.rs) that store to atomics.
#![deny(unsafe_code)]

pub mod app;
pub mod baseline_api;
pub mod cli;
pub mod config;
pub mod inventory;
pub mod live;
pub mod pipeline;
pub mod policy;
pub mod risk;
pub mod summary;
pub mod worker;

pub use config::Config;
pub use summary::Summary;
