//! Rules: what wardwatch concludes from events.
//!
//! Filled by later issues: `inventory/` (identity fusion of every device by MAC or IP,
//! classification into device classes, provenance and confidence of each attribute),
//! baselines per device (learning, enforcing, approved deviations), policy rules in YAML
//! (`rules/policies/*.yaml`), the alerts they raise, and the FDA risk posture per device.
//! Events in, alerts and device records out; depends on `model` only.

pub mod inventory;
