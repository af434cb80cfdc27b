//! Outputs: where events, alerts and metrics go.
//!
//! Today the EVE writer lives in the pipeline (`src/pipeline.rs`); this crate takes the
//! outputs that need their own machinery as issue 7 lands them: the Prometheus exporter
//! (metric names in `model::metrics`), syslog feeds (RFC 5424 over UDP, TCP and TLS with
//! CEF, LEEF and JSON payloads), the bounded on-disk spool that makes SIEM delivery
//! at-least-once, EVE files with rotation, and the HTTP API. Depends on `model`, plus
//! `prometheus-client` and axum/tokio for the exporter and its HTTP server.
// Test helpers may unwrap: a failing test is meant to stop.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// One audited exception: the SIOCOUTQ ioctl (syslog/transport.rs), which no safe crate
// wraps; everything else is safe code.
#![deny(unsafe_code)]

pub mod api;
pub mod eve_file;
pub mod http;
pub mod metrics;
pub mod sink;
pub mod syslog;
