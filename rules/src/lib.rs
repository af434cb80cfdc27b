//! Rules: what wardwatch concludes from events.
//!
//! - `inventory/`: identity fusion of every device by MAC or IP, classification into device
//!   classes from the catalogue (`rules/catalogue/*.yaml`), provenance and confidence of
//!   each attribute, `device` events.
//! - `store`: the embedded state store (SQLite, WAL) in `--state-dir` where the inventory
//!   (and, with issue 6, baselines) persist across restarts and crashes.
//!
//! - `alert`: the alert engine (dedup per device and rule in capture time, a global rate
//!   limit, drops counted) that turns rule hits into `alert` events.
//! - `policy`: policy rules in YAML (`rules/policies/*.yaml` plus an operator directory),
//!   evaluated on events by device class, device, VLAN or subnet.
//! - `baseline`: per-device baselines (learning, enforcing, locked; operator commands
//!   recorded with who and when), persisted in the state store.
//! - `risk`: the FDA risk posture of a device (exploitability from observed exposure,
//!   severity from clinical criticality, controlled/uncontrolled with its evidence); the
//!   assessment only, not yet fed from events.
//!
//! - `geo`: GeoIP countries and ASNs of public addresses from operator-supplied MaxMind DB
//!   files, cached; used by `countries` policy conditions and the baselines.
//! - `silence`: a device (or class) quiet longer than its window, and sensor health (the
//!   monitored interface delivering nothing), as alerts.
//!
//! Still to come (issue 6): the
//! risk posture fed from events and shown in the inventory, API and metrics. Events in, alerts and device records out; depends on
//! `model`, plus SQLite for the store.
// Test helpers may unwrap: a failing test is meant to stop.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![forbid(unsafe_code)]

pub mod alert;
pub mod baseline;
pub mod geo;
pub mod inventory;
pub mod policy;
pub mod risk;
pub mod silence;
pub mod store;
#[cfg(test)]
mod testutil;
