//! The risk stage of the analysis thread: notes the facts the FDA risk posture needs on the
//! device records, and refreshes each device's posture about every
//! `inventory.checkpoint_secs` and at the end (before the inventory's checkpoint, so the
//! store, the API and the metrics carry it).
//!
//! Facts noted here (the exposure detectors' own facts are noted by the inventory):
//! - `internet_peer`: the device exchanged traffic with an address outside the internal
//!   ranges (`[policy] internal_subnets` extends the private ones);
//! - `cleartext_phi`: an HL7 message carrying PHI fields, or a DICOM association that moved
//!   data sets (any DIMSE service but C-ECHO), in cleartext;
//! - `old_tls`: a TLS handshake negotiated SSL or TLS below 1.2;
//! - `http_cleartext_login`, `dicom_cleartext_passcode`: a password crossed the wire;
//! - `deviation`: a `baseline.*` or `policy.*` alert named the device (value: the rule).
//!
//! Each is an attribute value with first/last capture time and a count, so the record is
//! the same whatever the order workers deliver events in.

use model::{Event, EventKind, Timestamp};
use rules::baseline::{Baselines, State};
use rules::inventory::{Attr, Inventory};
use rules::policy::Subnet;
use rules::risk::{self, RiskConfig, DEVIATION};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The risk stage.
pub struct RiskRunner {
    cfg: RiskConfig,
    internal: Vec<Subnet>,
    interval: Duration,
    last: Instant,
    /// Latest capture time seen: "now" for the recent-deviation window.
    now_us: i64,
}

impl RiskRunner {
    /// `None` when risk assessment is disabled.
    pub fn open(cfg: &crate::config::Config) -> Result<Option<Self>, String> {
        if !cfg.risk.enabled || !cfg.inventory.enabled {
            return Ok(None);
        }
        cfg.risk.validate()?;
        let internal = cfg
            .policy
            .internal_subnets
            .iter()
            .map(|s| {
                s.parse::<Subnet>()
                    .map_err(|e| format!("[policy] internal_subnets: `{s}`: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(RiskRunner {
            cfg: cfg.risk.clone(),
            internal,
            interval: Duration::from_secs(cfg.inventory.checkpoint_secs.max(1)),
            last: Instant::now(),
            now_us: i64::MIN,
        }))
    }

    fn internal(&self, ip: IpAddr) -> bool {
        rules::policy::net::is_internal(ip, &self.internal)
    }

    /// Notes the facts of one event (the inventory has already observed it).
    pub fn observe(&mut self, inv: &mut Inventory, e: &Event) {
        let ts = e.ts;
        self.now_us = self.now_us.max(ts.micros());
        let Some(f) = e.flow.as_deref() else {
            if let EventKind::Alert(a) = &e.kind {
                self.deviation(inv, a, ts);
            }
            return;
        };
        // Noted on the devices the inventory finds for the endpoints, by key: no id text.
        let (src, dst) = (
            (f.src_mac, Some(f.key.src_ip)),
            (f.dest_mac, Some(f.key.dst_ip)),
        );
        let both = |inv: &mut Inventory, value: &str, source: &str| {
            for (mac, ip) in [src, dst] {
                inv.note_endpoint(mac, ip, Attr::Exposure, value, source, ts);
            }
        };
        match &e.kind {
            EventKind::Flow(_) => {
                let (si, di) = (self.internal(f.key.src_ip), self.internal(f.key.dst_ip));
                if si == di {
                    return;
                }
                // Only the internal side is a device of ours.
                let (mac, ip) = if si { src } else { dst };
                inv.note_endpoint(mac, ip, Attr::Exposure, "internet_peer", "flow", ts);
            }
            EventKind::Hl7(h) if h.cleartext && h.has_phi() => {
                both(inv, "cleartext_phi", "hl7");
            }
            EventKind::Dicom(model::dicom::DicomEvent::Association(a)) => {
                let moved_data = a.commands.keys().any(|c| !c.starts_with("C-ECHO"));
                let passcode = a
                    .request
                    .as_ref()
                    .and_then(|r| r.user_identity.as_ref())
                    .is_some_and(|u| u.kind == 2 && u.secondary_field_present);
                if moved_data {
                    both(inv, "cleartext_phi", "dicom");
                }
                if passcode {
                    both(inv, "dicom_cleartext_passcode", "dicom");
                }
            }
            EventKind::Tls(t) if t.server_handshake.is_some() && old_tls(&t.version) => {
                both(inv, "old_tls", "tls");
            }
            EventKind::Http(h) if h.cleartext_credentials => {
                both(inv, "http_cleartext_login", "http");
            }
            EventKind::Alert(a) => self.deviation(inv, a, ts),
            _ => {}
        }
    }

    fn deviation(&self, inv: &mut Inventory, a: &model::alert::AlertEvent, ts: Timestamp) {
        if !(a.rule.starts_with("baseline.") || a.rule.starts_with("policy.")) {
            return;
        }
        if let Some(d) = &a.device {
            inv.note(&d.id, DEVIATION, &a.rule, "alert", ts);
        }
    }

    /// Refreshes every device's posture when the interval has passed (or `force`).
    pub fn refresh(&mut self, inv: &mut Inventory, baselines: Option<&Baselines>, force: bool) {
        if !force && self.last.elapsed() < self.interval {
            return;
        }
        self.last = Instant::now();
        if self.now_us == i64::MIN {
            return;
        }
        let mut out = Vec::new();
        for d in inv.devices() {
            let locked = baselines
                .and_then(|b| b.get(&d.id))
                .is_some_and(|b| b.state == State::Locked);
            let p = risk::posture(d, locked, self.now_us, &self.cfg);
            if d.risk.as_ref() != Some(&p) {
                out.push((d.id.clone(), p));
            }
        }
        for (id, p) in out {
            inv.set_risk(&id, p);
        }
    }
}

/// SSL, TLS 1.0 and 1.1 (as the TLS analyzer names them).
fn old_tls(v: &str) -> bool {
    matches!(v, "SSLv2" | "SSLv3" | "TLSv1" | "TLS 1.1")
}

#[cfg(test)]
mod tests {
    #[test]
    fn old_tls_names() {
        // The names the TLS analyzer gives versions below 1.2 are old; 1.2, 1.3 are not.
        for v in ["SSLv2", "SSLv3", "TLSv1", "TLS 1.1"] {
            assert!(super::old_tls(v), "{v}");
        }
        for v in ["TLS 1.2", "TLS 1.3", "TLS 1.3 draft-23", "0x1234"] {
            assert!(!super::old_tls(v), "{v}");
        }
    }
}
