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
//! The facts come from the device record: the inventory's `exposure` attribute values
//! (insecure services and cleartext logins found by the exposure detectors, plus
//! `internet_peer`, `cleartext_phi`, `old_tls`, `http_cleartext_login` and
//! `dicom_cleartext_passcode` noted by the risk stage of the analysis thread) and its
//! `deviation` values (one per baseline/policy rule that fired for it, with first and last
//! capture time and a count), plus the baseline's lock state. [`observed`] turns them into
//! [`Observed`]; [`assess`] into the [`Posture`] kept on the device record, so the
//! inventory, the API and the metrics all show the same assessment.

use crate::inventory::Device;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[risk]` in the configuration file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Assess each device's risk posture (needs the inventory).
    pub enabled: bool,
    /// Deviations (baseline and policy alerts on the device) within this many days of
    /// capture time count as recent.
    pub deviation_days: u64,
    /// Days without a deviation that count as a compensating control.
    pub quiet_days: u64,
    /// Operator overrides of a device's clinical criticality (`high`, `medium`, `low`),
    /// by device id: `{ "00:09:fb:12:34:56" = "high" }`.
    pub criticality: BTreeMap<String, String>,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            enabled: true,
            deviation_days: 7,
            quiet_days: QUIET_DAYS,
            criticality: BTreeMap::new(),
        }
    }
}

impl RiskConfig {
    /// Checks the overrides: each a known level, each id a MAC or `ip:` id.
    pub fn validate(&self) -> Result<(), String> {
        for (id, level) in &self.criticality {
            if !matches!(level.as_str(), "high" | "medium" | "low") {
                return Err(format!(
                    "[risk] criticality for {id:?}: {level:?} is not high, medium or low"
                ));
            }
            if id.trim().is_empty() || id.to_ascii_lowercase() != *id {
                return Err(format!(
                    "[risk] criticality: device id {id:?} must be a lowercase MAC or ip:<address>"
                ));
            }
        }
        if self.quiet_days == 0 {
            return Err("[risk] quiet_days must be at least 1".into());
        }
        Ok(())
    }
}

/// The `exposure` values that are insecure services, with the name reported.
const INSECURE: &[(&str, &str)] = &[
    ("telnet_server", "telnet"),
    ("ftp_server", "ftp"),
    ("smb1_server", "smb1"),
    ("smb1_offered", "smb1"),
    ("snmp_community", "snmp_v1v2c"),
];

/// The `exposure` values that mean a credential crossed the wire in cleartext.
const CLEARTEXT_LOGINS: &[&str] = &[
    "telnet_cleartext_login",
    "ftp_cleartext_login",
    "http_cleartext_login",
    "dicom_cleartext_passcode",
    "snmp_community",
];

/// Attribute names the risk stage writes on device records.
pub const EXPOSURE: &str = "exposure";
pub const DEVIATION: &str = "deviation";

const DAY_US: i64 = 86_400_000_000;

/// The facts of one device at capture time `now_us`.
pub fn observed(d: &Device, locked: bool, now_us: i64, cfg: &RiskConfig) -> Observed {
    let mut o = Observed {
        baseline_locked: locked,
        ..Observed::default()
    };
    for v in d.attributes.get(EXPOSURE).into_iter().flatten() {
        let x = v.value.as_str();
        if let Some((_, name)) = INSECURE.iter().find(|(k, _)| *k == x) {
            if !o.insecure_services.contains(name) {
                o.insecure_services.push(name);
            }
        }
        if CLEARTEXT_LOGINS.contains(&x) {
            o.cleartext_credentials = true;
        }
        match x {
            "internet_peer" => o.internet_reachable = true,
            "cleartext_phi" => o.cleartext_phi = true,
            "old_tls" => o.old_tls = true,
            _ => {}
        }
    }
    o.insecure_services.sort_unstable();
    let recent_from = now_us.saturating_sub((cfg.deviation_days as i64).saturating_mul(DAY_US));
    let mut last: Option<i64> = None;
    for v in d.attributes.get(DEVIATION).into_iter().flatten() {
        last = Some(last.map_or(v.last_seen_us, |l: i64| l.max(v.last_seen_us)));
        if v.last_seen_us >= recent_from {
            o.recent_deviations = o.recent_deviations.saturating_add(v.count.max(1));
        }
    }
    o.days_since_deviation = last.map(|l| (now_us.saturating_sub(l).max(0) / DAY_US) as u64);
    o.quiet_days = cfg.quiet_days;
    o
}

/// The criticality in force for a device: the operator's override, else its class's.
pub fn criticality<'a>(d: &'a Device, cfg: &'a RiskConfig) -> (&'a str, &'static str) {
    match cfg.criticality.get(&d.id) {
        Some(c) => (c.as_str(), "operator"),
        None => (d.criticality.as_str(), "class"),
    }
}

/// The posture of a device.
pub fn posture(d: &Device, locked: bool, now_us: i64, cfg: &RiskConfig) -> Posture {
    let (crit, source) = criticality(d, cfg);
    let mut p = assess(crit, &observed(d, locked, now_us, cfg));
    p.severity_source = source.to_string();
    p
}

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
    /// Days without a deviation that count as a compensating control (0: [`QUIET_DAYS`]).
    pub quiet_days: u64,
}

/// The assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posture {
    /// 0..=10, with its level (`low`, `medium`, `high`) after compensating controls.
    pub exploitability_score: u8,
    pub exploitability: String,
    /// FDA severity of patient harm: `minor`, `serious` or `critical`.
    pub severity: String,
    /// Where the severity came from: the class's criticality (`class`) or an `operator`
    /// override.
    #[serde(default)]
    pub severity_source: String,
    /// The matrix cell, `exploitability/severity`.
    pub cell: String,
    /// `controlled` or `uncontrolled`.
    pub status: String,
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
    let quiet_days = if o.quiet_days == 0 {
        QUIET_DAYS
    } else {
        o.quiet_days
    };
    let quiet = o.days_since_deviation.is_none_or(|d| d >= quiet_days) && o.recent_deviations == 0;
    if quiet {
        controls.push(match o.days_since_deviation {
            Some(_) => format!("no deviations for {quiet_days} days or more"),
            None => "no deviations recorded".to_string(),
        });
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
        exploitability: exploitability.to_string(),
        severity: severity.to_string(),
        severity_source: "class".to_string(),
        cell: format!("{exploitability}/{severity}"),
        status: if uncontrolled {
            "uncontrolled"
        } else {
            "controlled"
        }
        .to_string(),
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
            (
                p.exploitability.as_str(),
                p.severity.as_str(),
                p.status.as_str()
            ),
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
        assert_eq!(
            (p.exploitability.as_str(), p.status.as_str()),
            ("medium", "uncontrolled")
        );
        o.baseline_locked = true;
        o.days_since_deviation = Some(45);
        let p = assess("high", &o);
        assert_eq!(
            (p.exploitability.as_str(), p.status.as_str()),
            ("low", "controlled")
        );
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

    fn attr(value: &str, first: i64, last: i64, count: u64) -> crate::inventory::AttrValue {
        crate::inventory::AttrValue {
            value: value.into(),
            source: "test".into(),
            first_seen_us: first,
            last_seen_us: last,
            count,
            confidence: 80,
        }
    }

    #[test]
    fn facts_come_from_the_device_record() {
        // Exposure values map to the facts (each service once, sorted); deviations count
        // only within the recent window; days since the last one are whole days.
        let mut d = Device {
            id: "00:09:fb:00:00:01".into(),
            criticality: "high".into(),
            ..Device::default()
        };
        d.attributes.insert(
            EXPOSURE.into(),
            vec![
                attr("telnet_server", 0, 0, 1),
                attr("snmp_community", 0, 0, 1),
                attr("smb1_offered", 0, 0, 1),
                attr("smb1_server", 0, 0, 1),
                attr("cleartext_phi", 0, 0, 1),
            ],
        );
        let now = 40 * DAY_US;
        d.attributes.insert(
            DEVIATION.into(),
            vec![
                attr("baseline.new_peer", DAY_US, 2 * DAY_US, 5),
                attr("baseline.new_service", 36 * DAY_US, 38 * DAY_US, 2),
            ],
        );
        let cfg = RiskConfig::default();
        let o = observed(&d, true, now, &cfg);
        assert_eq!(o.insecure_services, vec!["smb1", "snmp_v1v2c", "telnet"]);
        assert!(o.cleartext_credentials, "an SNMP community is a credential");
        assert!(o.cleartext_phi && !o.internet_reachable && !o.old_tls);
        assert_eq!(
            o.recent_deviations, 2,
            "only the deviation of the last 7 days"
        );
        assert_eq!(o.days_since_deviation, Some(2));
        assert!(o.baseline_locked);
        let p = posture(&d, true, now, &cfg);
        assert_eq!(p.severity, "critical");
        assert_eq!(p.severity_source, "class");
        assert_eq!(p.status, "uncontrolled");
        // Long after, the deviations are old: not recent, but the quiet period is not
        // reached either until 30 days have passed.
        let o = observed(&d, true, 60 * DAY_US, &cfg);
        assert_eq!((o.recent_deviations, o.days_since_deviation), (0, Some(22)));
    }

    #[test]
    fn operator_override_sets_severity() {
        // A printer class device the operator marks high: critical severity, by operator.
        let d = Device {
            id: "00:00:5e:00:53:01".into(),
            criticality: "low".into(),
            ..Device::default()
        };
        let mut cfg = RiskConfig::default();
        assert_eq!(posture(&d, false, 0, &cfg).severity, "minor");
        cfg.criticality.insert(d.id.clone(), "high".into());
        assert!(cfg.validate().is_ok());
        let p = posture(&d, false, 0, &cfg);
        assert_eq!(
            (p.severity.as_str(), p.severity_source.as_str()),
            ("critical", "operator")
        );
        cfg.criticality.insert(d.id.clone(), "extreme".into());
        assert!(cfg.validate().unwrap_err().contains("extreme"));
    }
}
