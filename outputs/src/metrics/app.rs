//! Application metrics derived from events as they pass the writer thread, which sees
//! every event once and is off the packet path. The writer owns an [`AppMetrics`] and
//! publishes a copy to the exporter on a tick.
//!
//! Every label value is a `&'static str` chosen by an analyzer from a fixed table, or a
//! wire value normalised into a bounded set (HL7 message types are validated and capped;
//! MSA-1 codes map onto the six defined codes or `other`).

use model::dicom::DicomEvent;
use model::{Event, EventKind};
use std::collections::{BTreeMap, BTreeSet};

/// Upper bounds (seconds) of the latency histograms: 5 ms to 5 min.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// A fixed-bucket histogram (bounds in [`LATENCY_BUCKETS`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    /// Observations per bucket (not cumulative); the last one is `+Inf`.
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; LATENCY_BUCKETS.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }
}

impl Histogram {
    pub fn observe(&mut self, secs: f64) {
        // Capture time can go backwards across merged files: clamp, never NaN.
        let v = if secs.is_finite() { secs.max(0.0) } else { 0.0 };
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        self.sum += v;
        self.count += 1;
    }

    /// (upper bound, observations in that bucket) pairs, `+Inf` last.
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        LATENCY_BUCKETS
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.counts.iter().copied())
            .collect()
    }
}

/// Label value for HL7 message types outside the capped set, and for malformed ones.
pub const OTHER: &str = "other";

/// Counters derived from events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppMetrics {
    /// Distinct HL7 message types given their own label value (the rest are `other`).
    pub hl7_type_cap: usize,
    pub events: BTreeMap<&'static str, u64>,
    pub dicom_associations: BTreeMap<&'static str, u64>,
    pub dicom_rejects: BTreeMap<(&'static str, &'static str), u64>,
    pub dicom_aborts: BTreeMap<&'static str, u64>,
    pub dicom_messages: BTreeMap<(&'static str, &'static str), u64>,
    pub dicom_latency: BTreeMap<&'static str, Histogram>,
    pub hl7_messages: BTreeMap<String, u64>,
    hl7_types_seen: BTreeSet<String>,
    pub hl7_acks: BTreeMap<&'static str, u64>,
    pub hl7_ack_latency: Histogram,
    pub hl7_unacknowledged: u64,
    /// Alerts written, by (rule id, severity label).
    pub alerts: BTreeMap<(String, &'static str), u64>,
    /// Alerts dropped by the rate limit (set by the alert engine's owner).
    pub alerts_dropped: u64,
}

impl AppMetrics {
    pub fn new(hl7_type_cap: usize) -> Self {
        AppMetrics {
            hl7_type_cap,
            ..AppMetrics::default()
        }
    }

    /// Counts one event.
    pub fn observe(&mut self, e: &Event) {
        *self.events.entry(e.kind.event_type()).or_insert(0) += 1;
        match &e.kind {
            EventKind::Dicom(DicomEvent::Association(a)) => {
                *self.dicom_associations.entry(a.outcome).or_insert(0) += 1;
                if let Some(r) = &a.reject {
                    *self
                        .dicom_rejects
                        .entry((r.source_name, r.reason_name))
                        .or_insert(0) += 1;
                }
                if let Some(ab) = &a.abort {
                    *self.dicom_aborts.entry(ab.source_name).or_insert(0) += 1;
                }
            }
            EventKind::Dicom(DicomEvent::Command(c)) => {
                let class = c.status_class.unwrap_or("none");
                *self.dicom_messages.entry((c.command, class)).or_insert(0) += 1;
                if let Some(ms) = c.latency_ms {
                    let op = c.command.strip_suffix("-RSP").unwrap_or(c.command);
                    self.dicom_latency
                        .entry(op)
                        .or_default()
                        .observe(ms / 1000.0);
                }
            }
            EventKind::Hl7(h) => {
                let t = self.type_label(h.message_type());
                *self.hl7_messages.entry(t).or_insert(0) += 1;
                match h.acknowledged {
                    Some(true) => {
                        *self.hl7_acks.entry(ack_code(h.ack_code())).or_insert(0) += 1;
                        if let Some(ms) = h.ack_latency_ms {
                            self.hl7_ack_latency.observe(ms / 1000.0);
                        }
                    }
                    Some(false) => self.hl7_unacknowledged += 1,
                    None => {}
                }
            }
            EventKind::Alert(a) => {
                let sev = severity_label(a.severity);
                match self.alerts.get_mut(&(a.rule.clone(), sev)) {
                    Some(n) => *n += 1,
                    None => {
                        self.alerts.insert((a.rule.clone(), sev), 1);
                    }
                }
            }
            _ => {}
        }
    }

    /// The label value of an HL7 message type: itself when well-formed and among the first
    /// `hl7_type_cap` distinct types seen, else `other`.
    fn type_label(&mut self, t: Option<&str>) -> String {
        let Some(t) = t.filter(|t| valid_type(t)) else {
            return OTHER.into();
        };
        if self.hl7_types_seen.contains(t) {
            return t.into();
        }
        if self.hl7_types_seen.len() < self.hl7_type_cap {
            self.hl7_types_seen.insert(t.into());
            return t.into();
        }
        OTHER.into()
    }
}

/// `ADT`, `ADT^A01`: a 3-character message code and an optional 3-character trigger
/// event, upper-case letters and digits only (anything else is not a label value).
pub fn valid_type(t: &str) -> bool {
    let part = |p: &str| {
        p.len() == 3
            && p.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    match t.split_once('^') {
        Some((a, b)) => part(a) && part(b),
        None => part(t),
    }
}

/// An alert severity as a label value (`1`..`4`; anything else is `4`, informational).
pub fn severity_label(s: u8) -> &'static str {
    match s {
        1 => "1",
        2 => "2",
        3 => "3",
        _ => "4",
    }
}

/// MSA-1 as one of the codes HL7 v2 defines (original and enhanced mode), else `other`.
pub fn ack_code(c: Option<&str>) -> &'static str {
    match c.map(str::trim) {
        Some("AA") => "AA",
        Some("AE") => "AE",
        Some("AR") => "AR",
        Some("CA") => "CA",
        Some("CE") => "CE",
        Some("CR") => "CR",
        _ => OTHER,
    }
}
