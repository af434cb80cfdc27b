//! Risk posture per device, after the FDA's postmarket cybersecurity guidance (2016):
//! risk to essential clinical performance is judged from the **exploitability** of the
//! vulnerability and the **severity of patient harm** if exploited, and is either
//! `controlled` (acceptable residual risk) or `uncontrolled`.
//!
//! Transparent by construction: every point of exploitability comes with the observed
//! fact behind it, severity comes from the class's clinical criticality (or an operator
//! override), and compensating controls (a locked baseline, no deviations for a number of
//! days, no internet reachability) are listed when they lower the exploitability.
//!
//! This module is the assessment alone (pure, tested); feeding it from the inventory,
//! exposure events and baselines, and showing it in the inventory, API and metrics, is
//! the next slice.

use serde::Serialize;

/// What was observed about a device (from exposure events, HL7/DICOM, TLS, baselines).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The device talked to internet addresses.
    pub internet_reachable: bool,
    /// A cleartext credential crossed the wire to or from it (telnet, FTP, HTTP basic,
    /// SNMP v1/v2c community, DICOM passcode).
    pub cleartext_credentials: bool,
    /// Insecure services it offers or uses (`telnet`, `ftp`, `smb1`, `snmp_v1v2c`).
    pub insecure_services: Vec<&'static str>,
    /// PHI in cleartext (HL7 over MLLP, DICOM data sets without TLS).
    pub cleartext_phi: bool,
    /// TLS older than 1.2 negotiated.
    pub old_tls: bool,
    /// Baseline deviations in the recent window.
    pub recent_deviations: u64,
    /// The baseline is locked by an operator.
    pub baseline_locked: bool,
    /// Days since the last deviation (None: never deviated since the baseline started).
    pub days_since_deviation: Option<u64>,
}

/// The assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Posture {
    /// 0..=10, with its level (`low`, `medium`, `high`) after compensating controls.
    pub exploitability_score: u8,
    pub exploitability: &'static str,
    /// FDA severity of patient harm: `minor`, `serious` or `critical`.
    pub severity: &'static str,
    /// The matrix cell, `exploitability/severity`.
    pub cell: String,
    /// `controlled` or `uncontrolled`.
    pub status: &'static str,
    /// The facts that raised exploitability, with their points.
    pub evidence: Vec<String>,
    /// Compensating controls observed (they lower exploitability one level when all hold).
    pub controls: Vec<String>,
}

/// Days without a deviation that count as a compensating control.
pub const QUIET_DAYS: u64 = 30;

/// Assesses a device of clinical `criticality` (`high`, `medium`, `low`).
pub fn assess(criticality: &str, o: &Observed) -> Posture {
    let mut score: u32 = 0;
    let mut evidence = Vec::new();
    let mut add = |pts: u32, why: String| {
        score += pts;
        evidence.push(format!("+{pts} {why}"));
    };
    if o.internet_reachable {
        add(3, "talks to internet addresses".into());
    }
    if o.cleartext_credentials {
        add(3, "cleartext credentials seen".into());
    }
    if !o.insecure_services.is_empty() {
        add(
            2,
            format!("insecure services: {}", o.insecure_services.join(", ")),
        );
    }
    if o.cleartext_phi {
        add(1, "PHI in cleartext".into());
    }
    if o.old_tls {
        add(1, "TLS older than 1.2".into());
    }
    if o.recent_deviations > 0 {
        add(
            2,
            format!("{} recent baseline deviations", o.recent_deviations),
        );
    }
    let score = score.min(10) as u8;
    let mut level = match score {
        0..=1 => 0,
        2..=3 => 1,
        _ => 2,
    };
    let mut controls = Vec::new();
    if o.baseline_locked {
        controls.push("baseline locked".to_string());
    }
    let quiet = o.days_since_deviation.is_none_or(|d| d >= QUIET_DAYS) && o.recent_deviations == 0;
    if quiet {
        controls.push(format!("no deviations for {QUIET_DAYS} days or more"));
    }
    if !o.internet_reachable {
        controls.push("no internet reachability observed (segmented)".to_string());
    }
    if controls.len() == 3 && level > 0 {
        level -= 1;
    }
    let exploitability = ["low", "medium", "high"][level];
    let severity = match criticality {
        "high" => "critical",
        "low" => "minor",
        _ => "serious",
    };
    // Uncontrolled: high exploitability with serious or critical harm, or medium
    // exploitability with critical harm.
    let uncontrolled =
        (level == 2 && severity != "minor") || (level == 1 && severity == "critical");
    Posture {
        exploitability_score: score,
        exploitability,
        severity,
        cell: format!("{exploitability}/{severity}"),
        status: if uncontrolled {
            "uncontrolled"
        } else {
            "controlled"
        },
        evidence,
        controls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposed_pump_is_uncontrolled_with_its_evidence() {
        // A pump on the internet with telnet and cleartext logins: high exploitability,
        // critical severity, uncontrolled; each fact is listed with its points.
        let o = Observed {
            internet_reachable: true,
            cleartext_credentials: true,
            insecure_services: vec!["telnet"],
            ..Observed::default()
        };
        let p = assess("high", &o);
        assert_eq!(
            (p.exploitability, p.severity, p.status),
            ("high", "critical", "uncontrolled")
        );
        assert_eq!(p.exploitability_score, 8);
        assert_eq!(p.cell, "high/critical");
        assert_eq!(p.evidence.len(), 3);
        assert!(p.evidence[2].contains("telnet"));
    }

    #[test]
    fn compensating_controls_lower_exploitability_one_level() {
        // Cleartext PHI and old TLS on a monitor (medium exploitability, critical):
        // uncontrolled, until the baseline is locked, quiet and no internet is seen.
        let mut o = Observed {
            cleartext_phi: true,
            old_tls: true,
            ..Observed::default()
        };
        let p = assess("high", &o);
        assert_eq!((p.exploitability, p.status), ("medium", "uncontrolled"));
        o.baseline_locked = true;
        o.days_since_deviation = Some(45);
        let p = assess("high", &o);
        assert_eq!((p.exploitability, p.status), ("low", "controlled"));
        assert_eq!(p.controls.len(), 3);
        // A recent deviation removes the quiet-period control.
        o.recent_deviations = 1;
        let p = assess("high", &o);
        assert_eq!(p.exploitability, "high");
        assert_eq!(p.status, "uncontrolled");
    }

    #[test]
    fn severity_follows_criticality() {
        // The same exposure is uncontrolled on a pump, controlled on a printer.
        let o = Observed {
            internet_reachable: true,
            cleartext_credentials: true,
            ..Observed::default()
        };
        assert_eq!(assess("high", &o).status, "uncontrolled");
        assert_eq!(assess("medium", &o).status, "uncontrolled");
        assert_eq!(assess("low", &o).status, "controlled");
        assert_eq!(assess("low", &o).severity, "minor");
        assert_eq!(assess("low", &Observed::default()).cell, "low/minor");
    }
}
