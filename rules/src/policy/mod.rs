//! Policy rules in YAML: what a device may or may not do, evaluated on every event.
//!
//! Shipped files (`rules/policies/*.yaml`, compiled in) and an operator directory
//! (`[policy] dir`, read after them: a rule with an existing id replaces it; `enabled:
//! false` disables it) hold a list of rules:
//!
//! ```yaml
//! policies:
//!   - id: policy.clinical_no_telnet          # unique string id, used in alerts and metrics
//!     signature_id: 9100002                  # stable integer (Suricata's sid)
//!     rev: 1
//!     severity: 1                            # 1 high .. 4 informational
//!     category: Policy Violation             # optional
//!     description: Telnet to or from a clinical device
//!     reference: T0885                       # MITRE ATT&CK for ICS technique id (optional)
//!     enabled: true                          # optional, default true
//!     on: [flow, telnet]                     # event types (optional: inferred)
//!     scope: {clinical: true}                # classes, devices, vlans, subnets, clinical
//!     deny:                                  # fires when the event matches all of these
//!       services: [tcp/23]
//!     # or `allow: [ {...}, {...} ]`: fires when the event matches none of them
//! ```
//!
//! Conditions (all optional; those given must all hold): `peer` {`classes`, `devices`,
//! `subnets`, `location`: internal|external}, `services` (`tcp/23`, `udp/161`,
//! `tcp/8000-8100`: the server side's protocol and port), `direction` (`outbound`: the
//! device opened the flow; `inbound`), `app_protos` (the flow's `app_proto` or the event
//! type), `countries` (ISO codes; resolved with `[geoip]` databases: without one they
//! never match, and loading says so) and `facts` (typed facts of the event, see
//! [`facts::FACTS`]: `telnet.cleartext_credentials: true`, `dicom.command: C-MOVE-RQ`).
//!
//! A rule is about a device: each side of the event's flow whose device is in `scope` is
//! checked, with the other side as the peer. Errors name the file, the line and the
//! problem; unknown fields, classes and facts are errors. [`PolicySet::load`] either gives
//! a whole new set or an error, so a failed reload keeps the last good rules.

pub mod eval;
pub mod facts;
pub mod net;
#[cfg(test)]
mod tests;

pub use eval::{CountryResolver, PolicyEngine, Side};
pub use net::Subnet;

use crate::alert::RuleMeta;
use crate::inventory::{Catalogue, CLASSES};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `[policy]` in the configuration file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Evaluate policy rules (alerts need `[alerts] enabled` too).
    pub enabled: bool,
    /// A directory of operator rule files (`*.yaml`), read after the shipped ones. SIGHUP
    /// reloads them; a reload that fails keeps the rules in force.
    pub dir: Option<PathBuf>,
    /// Address ranges that are internal although public (`192.0.2.0/24`); private,
    /// link-local and loopback ranges are always internal.
    pub internal_subnets: Vec<String>,
    /// DICOM AE titles known in advance (besides those seen in accepted associations),
    /// for the `dicom.*_known` facts.
    pub known_ae_titles: Vec<String>,
    /// Most AE titles remembered from accepted associations.
    pub max_known_ae_titles: usize,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            enabled: true,
            dir: None,
            internal_subnets: Vec::new(),
            known_ae_titles: Vec::new(),
            max_known_ae_titles: 10_000,
        }
    }
}

const SHIPPED: &[(&str, &str)] = &[(
    "rules/policies/defaults.yaml",
    include_str!("../../policies/defaults.yaml"),
)];

/// Classes of medical devices (the `clinical: true` scope takes those whose catalogue
/// criticality is high or medium).
pub const MEDICAL_CLASSES: &[&str] = &[
    "infusion_pump",
    "patient_monitor",
    "monitoring_gateway",
    "imaging_modality",
    "lab_analyzer",
    "medical_other",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    policies: Vec<RuleDef>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    signature_id: u32,
    #[serde(default = "one")]
    rev: u32,
    severity: u8,
    #[serde(default)]
    category: Option<String>,
    description: String,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    on: Vec<String>,
    #[serde(default)]
    scope: ScopeDef,
    #[serde(default)]
    deny: Option<OneOrMany>,
    #[serde(default)]
    allow: Option<Vec<MatchDef>>,
}

fn one() -> u32 {
    1
}

/// `deny:` takes one condition set or a list of them (any one fires the rule).
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(MatchDef),
    Many(Vec<MatchDef>),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ScopeDef {
    #[serde(default)]
    classes: Vec<String>,
    #[serde(default)]
    devices: Vec<String>,
    #[serde(default)]
    vlans: Vec<u16>,
    #[serde(default)]
    subnets: Vec<String>,
    #[serde(default)]
    clinical: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MatchDef {
    #[serde(default)]
    peer: Option<PeerDef>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    app_protos: Vec<String>,
    #[serde(default)]
    countries: Vec<String>,
    #[serde(default)]
    facts: BTreeMap<String, FactValueDef>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PeerDef {
    #[serde(default)]
    classes: Vec<String>,
    #[serde(default)]
    devices: Vec<String>,
    #[serde(default)]
    subnets: Vec<String>,
    #[serde(default)]
    location: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum FactValueDef {
    Bool(bool),
    Text(String),
    List(Vec<String>),
}

/// Where a peer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    Internal,
    External,
}

/// Which side opened the flow, seen from the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// The device opened the flow (it is the client).
    Outbound,
    /// The peer opened the flow (the device is the server).
    Inbound,
}

/// A service: protocol number and a port range (the server side's port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    pub proto: u8,
    pub lo: u16,
    pub hi: u16,
}

/// The bit of a class's position in [`CLASSES`] (0: not a catalogue class).
pub fn class_bit(class: &str) -> u64 {
    CLASSES
        .iter()
        .position(|c| *c == class)
        .and_then(|i| 1u64.checked_shl(u32::try_from(i).ok()?))
        .unwrap_or(0)
}

/// An expected fact value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Bool(bool),
    AnyOf(Vec<String>),
}

/// Who the rule is about.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Empty: any class.
    pub classes: Vec<String>,
    /// `classes` as bits of their positions in [`CLASSES`] ([`class_bit`]); 0 with
    /// classes: not computed, the names are compared.
    pub class_bits: u64,
    pub devices: Vec<String>,
    pub vlans: Vec<u16>,
    pub subnets: Vec<Subnet>,
}

/// Conditions on the peer.
#[derive(Clone, Debug, Default)]
pub struct PeerMatch {
    pub classes: Vec<String>,
    pub devices: Vec<String>,
    pub subnets: Vec<Subnet>,
    pub location: Option<Location>,
}

/// One compiled condition set (all given parts must hold).
#[derive(Clone, Debug, Default)]
pub struct Match {
    pub peer: Option<PeerMatch>,
    pub services: Vec<Service>,
    pub direction: Option<Dir>,
    pub app_protos: Vec<String>,
    pub countries: Vec<String>,
    pub facts: Vec<(facts::FactId, Expect)>,
}

/// Deny (fires when any condition set matches) or allow-list (fires when none does).
#[derive(Clone, Debug)]
pub enum Mode {
    Deny(Vec<Match>),
    Allow(Vec<Match>),
}

impl Mode {
    pub fn matches(&self) -> &[Match] {
        match self {
            Mode::Deny(m) | Mode::Allow(m) => m,
        }
    }
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct Policy {
    pub meta: Arc<RuleMeta>,
    pub description: String,
    pub on: Vec<&'static str>,
    pub scope: Scope,
    pub mode: Mode,
    /// File it came from (for listings and errors).
    pub file: String,
}

/// A policy file that could not be used: file, line, problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub file: String,
    pub line: Option<usize>,
    pub problem: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

impl std::error::Error for PolicyError {}

/// Every enabled rule, indexed by event type.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    pub rules: Vec<Policy>,
    /// (event type, rules) for the types some rule names: a handful, scanned (cheaper
    /// per event than hashing the type's name).
    by_type: Vec<(&'static str, Vec<usize>)>,
    /// Rules whose `countries` condition cannot match until a GeoIP resolver exists.
    pub country_rules: Vec<String>,
}

/// The event types rules may be evaluated on (those with a flow).
pub const EVENT_TYPES: &[&str] = &[
    "flow", "dicom", "hl7", "tls", "http", "dhcp", "dns", "mdns", "ssdp", "telnet", "ftp", "smb",
    "snmp", "anomaly",
];

fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

impl PolicySet {
    /// The shipped rules, plus every `*.yaml` of `dir` in name order.
    pub fn load(dir: Option<&Path>, catalogue: &Catalogue) -> Result<PolicySet, PolicyError> {
        let mut files: Vec<(String, String)> = SHIPPED
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        if let Some(dir) = dir {
            let io = |p: &Path, e: std::io::Error| PolicyError {
                file: p.display().to_string(),
                line: None,
                problem: e.to_string(),
            };
            let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| io(dir, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            paths.sort();
            for p in paths {
                let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
                files.push((p.display().to_string(), text));
            }
        }
        Self::from_texts(&files, catalogue)
    }

    /// Builds a set from (file name, YAML text) pairs, later files overriding by id.
    pub fn from_texts(
        files: &[(String, String)],
        catalogue: &Catalogue,
    ) -> Result<PolicySet, PolicyError> {
        let mut rules: Vec<(Policy, bool)> = Vec::new();
        for (name, text) in files {
            let f: File = serde_yaml_ng::from_str(text).map_err(|e| PolicyError {
                file: name.clone(),
                line: e.location().map(|l| l.line()),
                problem: e.to_string(),
            })?;
            for d in f.policies {
                let enabled = d.enabled;
                let p = compile(name, text, d, catalogue)?;
                rules.retain(|(o, _)| o.meta.id != p.meta.id);
                rules.push((p, enabled));
            }
        }
        // Signature ids are stable keys for SIEM content: two rules may not share one.
        let mut sids: HashMap<u32, &str> = HashMap::new();
        for (p, _) in &rules {
            if let Some(other) = sids.insert(p.meta.signature_id, &p.meta.id) {
                return Err(PolicyError {
                    file: p.file.clone(),
                    line: None,
                    problem: format!(
                        "rule {}: signature_id {} is already used by rule {other}",
                        p.meta.id, p.meta.signature_id
                    ),
                });
            }
        }
        let mut set = PolicySet::default();
        for (p, enabled) in rules {
            if !enabled {
                continue;
            }
            let i = set.rules.len();
            for t in &p.on {
                match set.by_type.iter_mut().find(|(x, _)| x == t) {
                    Some((_, v)) => v.push(i),
                    None => set.by_type.push((t, vec![i])),
                }
            }
            let has_countries = p.mode.matches().iter().any(|m| !m.countries.is_empty());
            if has_countries {
                set.country_rules.push(p.meta.id.clone());
            }
            set.rules.push(p);
        }
        Ok(set)
    }

    /// Indexes of the rules evaluated on an event type.
    pub fn for_type(&self, event_type: &str) -> &[usize] {
        self.by_type
            .iter()
            .find(|(t, _)| *t == event_type)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// A rule by id.
    pub fn get(&self, id: &str) -> Option<&Policy> {
        self.rules.iter().find(|p| p.meta.id == id)
    }
}

fn compile(
    file: &str,
    text: &str,
    d: RuleDef,
    catalogue: &Catalogue,
) -> Result<Policy, PolicyError> {
    let id = d.id.clone();
    let err = |problem: String| PolicyError {
        file: file.to_string(),
        line: line_of(text, &format!("id: {id}")),
        problem: format!("rule {id}: {problem}"),
    };
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
    {
        return Err(err(
            "id must be lowercase letters, digits, `_` and `.`".into()
        ));
    }
    if !(1..=4).contains(&d.severity) {
        return Err(err("severity must be 1 (high) .. 4 (informational)".into()));
    }
    if d.signature_id == 0 {
        return Err(err("signature_id must be a positive integer".into()));
    }
    let class_ok = |c: &str| -> Result<String, PolicyError> {
        if CLASSES.contains(&c) {
            Ok(c.to_string())
        } else {
            Err(err(format!(
                "unknown class `{c}` (known: {})",
                CLASSES.join(", ")
            )))
        }
    };
    let subnets = |v: &[String]| -> Result<Vec<Subnet>, PolicyError> {
        v.iter()
            .map(|s| {
                s.parse::<Subnet>()
                    .map_err(|e| err(format!("bad subnet `{s}`: {e}")))
            })
            .collect()
    };
    // Scope.
    let mut classes: Vec<String> = d
        .scope
        .classes
        .iter()
        .map(|c| class_ok(c))
        .collect::<Result<_, _>>()?;
    if d.scope.clinical {
        for c in MEDICAL_CLASSES {
            if matches!(catalogue.criticality_of(c), "high" | "medium")
                && !classes.iter().any(|x| x == c)
            {
                classes.push(c.to_string());
            }
        }
        if classes.is_empty() {
            return Err(err(
                "scope `clinical: true` matches no class (check the catalogue's criticalities)"
                    .into(),
            ));
        }
    }
    let class_bits = classes.iter().fold(0, |b, c| b | class_bit(c));
    let scope = Scope {
        classes,
        class_bits,
        devices: d
            .scope
            .devices
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect(),
        vlans: d.scope.vlans.clone(),
        subnets: subnets(&d.scope.subnets)?,
    };
    // Conditions.
    let compile_match = |m: &MatchDef| -> Result<Match, PolicyError> {
        let peer = match &m.peer {
            None => None,
            Some(p) => Some(PeerMatch {
                classes: p
                    .classes
                    .iter()
                    .map(|c| class_ok(c))
                    .collect::<Result<_, _>>()?,
                devices: p.devices.iter().map(|s| s.to_ascii_lowercase()).collect(),
                subnets: subnets(&p.subnets)?,
                location: match p.location.as_deref() {
                    None => None,
                    Some("internal") => Some(Location::Internal),
                    Some("external") => Some(Location::External),
                    Some(o) => {
                        return Err(err(format!(
                            "peer location `{o}`: must be internal or external"
                        )))
                    }
                },
            }),
        };
        let services = m
            .services
            .iter()
            .map(|s| parse_service(s).map_err(|e| err(format!("bad service `{s}`: {e}"))))
            .collect::<Result<_, _>>()?;
        let direction = match m.direction.as_deref() {
            None | Some("any") => None,
            Some("outbound") => Some(Dir::Outbound),
            Some("inbound") => Some(Dir::Inbound),
            Some(o) => {
                return Err(err(format!(
                    "direction `{o}`: must be outbound, inbound or any"
                )))
            }
        };
        let mut fs = Vec::new();
        for (name, v) in &m.facts {
            let Some(f) = facts::FactId::parse(name) else {
                return Err(err(format!(
                    "unknown fact `{name}` (known: {})",
                    facts::FACTS
                        .iter()
                        .map(|f| f.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            let e = match (f.kind(), v) {
                (facts::Kind::Bool, FactValueDef::Bool(b)) => Expect::Bool(*b),
                (facts::Kind::Text, FactValueDef::Text(s)) => Expect::AnyOf(vec![s.clone()]),
                (facts::Kind::Text, FactValueDef::List(l)) => Expect::AnyOf(l.clone()),
                (facts::Kind::Bool, _) => {
                    return Err(err(format!("fact `{name}` takes true or false")))
                }
                (facts::Kind::Text, _) => {
                    return Err(err(format!("fact `{name}` takes a string or a list")))
                }
            };
            fs.push((f, e));
        }
        for c in &m.countries {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(err(format!(
                    "country `{c}`: use ISO 3166-1 alpha-2 codes (`DE`)"
                )));
            }
        }
        Ok(Match {
            peer,
            services,
            direction,
            app_protos: m.app_protos.clone(),
            countries: m.countries.clone(),
            facts: fs,
        })
    };
    let mode = match (&d.deny, &d.allow) {
        (Some(OneOrMany::One(m)), None) => Mode::Deny(vec![compile_match(m)?]),
        (Some(OneOrMany::Many(ms)), None) if !ms.is_empty() => {
            Mode::Deny(ms.iter().map(&compile_match).collect::<Result<_, _>>()?)
        }
        (None, Some(ms)) if !ms.is_empty() => {
            Mode::Allow(ms.iter().map(&compile_match).collect::<Result<_, _>>()?)
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(err("`deny` or `allow` is an empty list".into()))
        }
        (None, None) => return Err(err("needs `deny` or `allow`".into())),
        (Some(_), Some(_)) => return Err(err("has both `deny` and `allow`".into())),
    };
    // Each condition set's facts must be about one event type (they hold together on one
    // event); the rule runs on the given event types, or on those its condition sets need.
    let mut needed: Vec<&'static str> = Vec::new();
    for m in mode.matches() {
        let mut types: Vec<&'static str> = Vec::new();
        for (f, _) in &m.facts {
            if !types.contains(&f.event_type()) {
                types.push(f.event_type());
            }
        }
        if types.len() > 1 {
            return Err(err(format!(
                "facts of different event types ({}) can never hold on one event",
                types.join(", ")
            )));
        }
        let t = types.first().copied().unwrap_or("flow");
        if !needed.contains(&t) {
            needed.push(t);
        }
    }
    let on: Vec<&'static str> = if d.on.is_empty() {
        needed
    } else {
        let mut v = Vec::new();
        for t in &d.on {
            match EVENT_TYPES.iter().find(|x| **x == t) {
                Some(x) => v.push(*x),
                None => {
                    return Err(err(format!(
                        "unknown event type `{t}` in `on` (known: {})",
                        EVENT_TYPES.join(", ")
                    )))
                }
            }
        }
        for m in mode.matches() {
            if let Some((f, _)) = m.facts.first() {
                if !v.contains(&f.event_type()) {
                    return Err(err(format!(
                        "fact `{}` is about `{}` events, which `on` does not list",
                        f.name(),
                        f.event_type()
                    )));
                }
            }
        }
        v
    };
    Ok(Policy {
        meta: Arc::new(RuleMeta {
            id: d.id,
            signature_id: d.signature_id,
            rev: d.rev,
            signature: d.description.clone(),
            category: d.category.unwrap_or_else(|| "Policy Violation".into()),
            severity: d.severity,
            reference: d.reference,
        }),
        description: d.description,
        on,
        scope,
        mode,
        file: file.to_string(),
    })
}

/// `tcp/23`, `udp/161`, `tcp/8000-8100`, `tcp/*`, `icmp`.
pub fn parse_service(s: &str) -> Result<Service, String> {
    let (p, ports) = match s.split_once('/') {
        Some((p, r)) => (p, Some(r)),
        None => (s, None),
    };
    let proto = match p {
        "tcp" => 6,
        "udp" => 17,
        "sctp" => 132,
        "icmp" => 1,
        "icmpv6" => 58,
        _ => return Err("protocol must be tcp, udp, sctp, icmp or icmpv6".into()),
    };
    let (lo, hi) = match ports {
        None | Some("*") => (0, u16::MAX),
        Some(r) => {
            let num = |x: &str| x.parse::<u16>().map_err(|_| format!("bad port `{x}`"));
            match r.split_once('-') {
                Some((a, b)) => (num(a)?, num(b)?),
                None => {
                    let n = num(r)?;
                    (n, n)
                }
            }
        }
    };
    if lo > hi {
        return Err("port range is reversed".into());
    }
    Ok(Service { proto, lo, hi })
}
