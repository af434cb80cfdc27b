//! The classification catalogue (`rules/catalogue/*.yaml`): device classes with their
//! clinical criticality, and rules that turn attributes into class votes or an OS.
//!
//! The shipped files are compiled in; an operator's directory (`[inventory] catalogue_dir`)
//! adds files of the same shape, read after the shipped ones (a rule with an existing id
//! replaces it; `weight: 0` disables it). Errors name the file, the line and the problem.

use super::attrs::Attr;
use regex_automata::meta::Regex;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

const SHIPPED: &[(&str, &str)] = &[
    (
        "rules/catalogue/classes.yaml",
        include_str!("../../catalogue/classes.yaml"),
    ),
    (
        "rules/catalogue/rules.yaml",
        include_str!("../../catalogue/rules.yaml"),
    ),
];

/// The classes fixed by the project; catalogue files may not invent others, so that every
/// consumer (dashboards, policies, SIEM rules) can rely on the list.
pub const CLASSES: &[&str] = &[
    "infusion_pump",
    "patient_monitor",
    "monitoring_gateway",
    "imaging_modality",
    "pacs",
    "clinical_server",
    "lab_analyzer",
    "medical_other",
    "clinical_workstation",
    "printer",
    "ip_phone",
    "network_device",
    "it_server",
    "unknown",
];

/// The criticalities a class may have.
pub const CRITICALITIES: &[&str] = &["high", "medium", "low"];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    classes: BTreeMap<String, ClassDef>,
    #[serde(default)]
    os_rules: Vec<RuleDef>,
    #[serde(default)]
    rules: Vec<RuleDef>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct ClassDef {
    criticality: String,
    #[serde(default)]
    #[allow(dead_code)] // Documentation for people reading the file.
    description: String,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    when: BTreeMap<String, String>,
    #[serde(default)]
    unless: BTreeMap<String, String>,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    weight: Option<u32>,
    source: String,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    /// The attributes `when` tests, as [`Attr::bit`]s: a device lacking one cannot match.
    need: u64,
    /// Index of `class` in [`CLASSES`].
    class_ix: Option<usize>,
    when: Vec<(Attr, Regex)>,
    unless: Vec<(Attr, Regex)>,
    /// `when` and `unless` as indices into [`Catalogue::patterns`] (set by the catalogue
    /// when it is built): see [`Catalogue::rule_matches`].
    when_ix: Vec<u16>,
    unless_ix: Vec<u16>,
    /// The class it votes for (class rules) with `weight`.
    pub class: Option<String>,
    /// The OS it names (os rules).
    pub os: Option<String>,
    pub weight: u32,
    pub source: String,
}

/// The attributes a rule may test.
pub const ATTRIBUTES: &[&str] = &[
    "vendor",
    "hostname",
    "os",
    "dhcp_vendor_class",
    "dhcp_fingerprint",
    "user_agent",
    "http_server",
    "ssdp_server",
    "mdns_service",
    "model",
    "software",
    "platform",
    "capability",
    "dicom_ae",
    "dicom_implementation_version",
    "dicom_implementation_class_uid",
    "hl7_application",
    "tls_sni",
    "tcp_signature",
    "service",
    "role",
];

impl Rule {
    /// The attributes the rule's `when` tests.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.when.iter().map(|(n, _)| n.name())
    }

    /// The attributes the rule's `when` tests, interned.
    pub fn field_attrs(&self) -> impl Iterator<Item = Attr> + '_ {
        self.when.iter().map(|(n, _)| *n)
    }

    /// Whether the rule matches a device whose attribute values `values(name)` returns.
    pub fn matches<'a, F, I>(&self, values: F) -> bool
    where
        F: Fn(&str) -> I,
        I: Iterator<Item = &'a str>,
    {
        self.matches_attr(|a| values(a.name()))
    }

    /// The index in [`CLASSES`] of the class the rule votes for.
    pub fn class_index(&self) -> Option<usize> {
        self.class_ix
    }

    /// Whether a device with values for the attributes in `present` ([`Attr::bit`]s) could
    /// match: every attribute `when` tests has some value.
    pub fn possible(&self, present: u64) -> bool {
        self.need & !present == 0
    }

    /// [`Rule::matches`] with the attribute interned (no string compares to find it).
    pub fn matches_attr<'a, F, I>(&self, values: F) -> bool
    where
        F: Fn(Attr) -> I,
        I: Iterator<Item = &'a str>,
    {
        let any = |a: Attr, re: &Regex| values(a).any(|v| re.is_match(v));
        self.when.iter().all(|(n, re)| any(*n, re))
            && !self.unless.iter().any(|(n, re)| any(*n, re))
    }
}

/// Classes, OS rules and class rules, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub criticality: HashMap<String, String>,
    pub os_rules: Vec<Rule>,
    pub rules: Vec<Rule>,
    /// Per attribute ([`Attr::index`]): every pattern some rule (in `when` or `unless`)
    /// tests it with, with its index in the catalogue's pattern numbering; empty when no
    /// rule tests it.
    tested: Vec<Vec<(u16, Regex)>>,
    /// Number of patterns of all rules: the width of a [`MatchSet`].
    patterns: usize,
}

/// Which of the catalogue's patterns some value matches: a bit per pattern index (see
/// [`Catalogue::matching`]). A device's set is the union over its values, and a rule
/// matches the device when every `when` pattern is in it and no `unless` pattern is
/// ([`Catalogue::rule_matches`]): what testing each value against each rule's patterns
/// gives, since each pattern tests one attribute.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchSet(Vec<u64>);

impl MatchSet {
    /// Empties the set for a catalogue of `patterns` patterns (keeps its allocation).
    pub fn reset(&mut self, patterns: usize) {
        self.0.clear();
        self.0.resize(patterns.div_ceil(64), 0);
    }

    /// Adds pattern indices.
    pub fn add(&mut self, ix: &[u16]) {
        for &i in ix {
            let i = usize::from(i);
            if let Some(w) = self.0.get_mut(i / 64) {
                *w |= 1 << (i % 64);
            }
        }
    }

    fn has(&self, i: u16) -> bool {
        let i = usize::from(i);
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// A catalogue file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueError {
    pub file: String,
    pub line: Option<usize>,
    pub problem: String,
}

impl std::fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

impl std::error::Error for CatalogueError {}

fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// Compiles a catalogue pattern as the `regex` crate does (same syntax and matches),
/// without the fully compiled DFA it adds for small patterns: the catalogue's ~200
/// patterns are compiled at every start and only ever asked `is_match` on short values,
/// which the lazy DFA answers as fast; building the full DFAs was half the start-up cost.
fn pattern(p: &str) -> Result<Regex, String> {
    use regex_automata::{meta, util::syntax, MatchKind};
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .nfa_size_limit(Some(10 * (1 << 20)))
                .hybrid_cache_capacity(2 * (1 << 20))
                .match_kind(MatchKind::LeftmostFirst)
                .utf8_empty(true)
                .dfa(false),
        )
        .syntax(syntax::Config::new().utf8(true))
        .build(p)
        .map_err(|e| e.to_string())
}

/// Compiled patterns by text: rules repeating a pattern (the same vendor for two
/// classes) share one compilation.
type Compiled = HashMap<String, Regex>;

fn compile(
    file: &str,
    text: &str,
    def: RuleDef,
    is_os: bool,
    compiled: &mut Compiled,
) -> Result<Rule, CatalogueError> {
    let err = |problem: String| CatalogueError {
        file: file.to_string(),
        line: line_of(text, &format!("id: {}", def.id)),
        problem,
    };
    let mut when = Vec::new();
    let mut unless = Vec::new();
    for (list, src) in [(&mut when, &def.when), (&mut unless, &def.unless)] {
        for (name, pat) in src {
            let attr = match Attr::from_name(name) {
                Some(a) if ATTRIBUTES.contains(&name.as_str()) => a,
                _ => {
                    return Err(err(format!(
                        "rule {}: unknown attribute `{name}` (known: {})",
                        def.id,
                        ATTRIBUTES.join(", ")
                    )))
                }
            };
            let re = match compiled.get(pat) {
                Some(re) => re.clone(),
                None => {
                    let re = pattern(pat).map_err(|e| {
                        err(format!("rule {}: bad pattern for `{name}`: {e}", def.id))
                    })?;
                    compiled.insert(pat.clone(), re.clone());
                    re
                }
            };
            list.push((attr, re));
        }
    }
    if when.is_empty() {
        return Err(err(format!("rule {}: `when` is empty", def.id)));
    }
    if is_os {
        if def.os.is_none() || def.class.is_some() {
            return Err(err(format!(
                "os rule {}: needs `os` and no `class`",
                def.id
            )));
        }
    } else {
        match &def.class {
            Some(c) if CLASSES.contains(&c.as_str()) => {}
            Some(c) => {
                return Err(err(format!(
                    "rule {}: unknown class `{c}` (known: {})",
                    def.id,
                    CLASSES.join(", ")
                )))
            }
            None => return Err(err(format!("rule {}: needs a `class`", def.id))),
        }
    }
    let need = when.iter().fold(0u64, |m, (a, _)| m | a.bit());
    let class_ix = def
        .class
        .as_deref()
        .and_then(|c| CLASSES.iter().position(|x| *x == c));
    Ok(Rule {
        id: def.id,
        need,
        class_ix,
        when,
        unless,
        when_ix: Vec::new(),
        unless_ix: Vec::new(),
        class: def.class,
        os: def.os,
        weight: def.weight.unwrap_or(0),
        source: def.source,
    })
}

impl Catalogue {
    /// The shipped catalogue, plus every `*.yaml` file of `extra_dir` in name order.
    pub fn load(extra_dir: Option<&Path>) -> Result<Catalogue, CatalogueError> {
        let mut files: Vec<(String, String)> = SHIPPED
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        if let Some(dir) = extra_dir {
            let rd = std::fs::read_dir(dir).map_err(|e| CatalogueError {
                file: dir.display().to_string(),
                line: None,
                problem: e.to_string(),
            })?;
            let mut paths: Vec<_> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            paths.sort();
            for p in paths {
                let text = std::fs::read_to_string(&p).map_err(|e| CatalogueError {
                    file: p.display().to_string(),
                    line: None,
                    problem: e.to_string(),
                })?;
                files.push((p.display().to_string(), text));
            }
        }
        Self::from_texts(&files)
    }

    /// Builds a catalogue from (file name, YAML text) pairs, later files overriding.
    pub fn from_texts(files: &[(String, String)]) -> Result<Catalogue, CatalogueError> {
        let mut criticality = HashMap::new();
        let mut compiled = Compiled::new();
        let mut os_rules: Vec<Rule> = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        for (name, text) in files {
            let f: File = serde_yaml_ng::from_str(text).map_err(|e| CatalogueError {
                file: name.clone(),
                line: e.location().map(|l| l.line()),
                problem: e.to_string(),
            })?;
            for (class, def) in f.classes {
                if !CLASSES.contains(&class.as_str()) {
                    return Err(CatalogueError {
                        file: name.clone(),
                        line: line_of(text, &format!("{class}:")),
                        problem: format!("unknown class `{class}` (known: {})", CLASSES.join(", ")),
                    });
                }
                if !CRITICALITIES.contains(&def.criticality.as_str()) {
                    return Err(CatalogueError {
                        file: name.clone(),
                        line: line_of(text, &format!("{class}:")),
                        problem: format!(
                            "class `{class}`: criticality must be one of {}",
                            CRITICALITIES.join(", ")
                        ),
                    });
                }
                criticality.insert(class, def.criticality);
            }
            for d in f.os_rules {
                let r = compile(name, text, d, true, &mut compiled)?;
                os_rules.retain(|o| o.id != r.id);
                os_rules.push(r);
            }
            for d in f.rules {
                let r = compile(name, text, d, false, &mut compiled)?;
                rules.retain(|o| o.id != r.id);
                rules.push(r);
            }
        }
        rules.retain(|r| r.weight > 0);
        for c in CLASSES {
            criticality
                .entry(c.to_string())
                .or_insert_with(|| "medium".to_string());
        }
        // One index per pattern of a rule's `when` or `unless`.
        let mut tested: Vec<Vec<(u16, Regex)>> = vec![Vec::new(); Attr::ALL.len()];
        let mut patterns = 0usize;
        for r in os_rules.iter_mut().chain(rules.iter_mut()) {
            let mut ix = |n: Attr, re: &Regex| -> Result<u16, CatalogueError> {
                let i = u16::try_from(patterns).map_err(|_| CatalogueError {
                    file: "catalogue".into(),
                    line: None,
                    problem: format!("more than {} patterns", u16::MAX),
                })?;
                patterns += 1;
                tested[n.index()].push((i, re.clone()));
                Ok(i)
            };
            let mut w = Vec::with_capacity(r.when.len());
            for (n, re) in &r.when {
                w.push(ix(*n, re)?);
            }
            let mut u = Vec::with_capacity(r.unless.len());
            for (n, re) in &r.unless {
                u.push(ix(*n, re)?);
            }
            (r.when_ix, r.unless_ix) = (w, u);
        }
        Ok(Catalogue {
            criticality,
            os_rules,
            rules,
            tested,
            patterns,
        })
    }

    /// Whether some rule tests this attribute (a new value may change the class).
    pub fn tests(&self, attribute: &str) -> bool {
        Attr::from_name(attribute).is_some_and(|a| self.tests_attr(a))
    }

    /// [`Catalogue::tests`] of an interned attribute.
    /// `source` is the id of an os rule (an OS value derived from other evidence).
    pub fn is_os_rule(&self, source: &str) -> bool {
        self.os_rules.iter().any(|r| r.id == source)
    }

    pub fn tests_attr(&self, a: Attr) -> bool {
        self.tested.get(a.index()).is_some_and(|v| !v.is_empty())
    }

    /// Whether some rule tests this attribute with a pattern this value matches. A rule
    /// only asks whether any value of an attribute matches its pattern, so adding or
    /// dropping a value no pattern matches changes no rule's outcome (OS or class).
    pub fn pattern_matches(&self, attribute: &str, value: &str) -> bool {
        Attr::from_name(attribute).is_some_and(|a| self.pattern_matches_attr(a, value))
    }

    /// [`Catalogue::pattern_matches`] of an interned attribute.
    pub fn pattern_matches_attr(&self, a: Attr, value: &str) -> bool {
        self.tested
            .get(a.index())
            .is_some_and(|res| res.iter().any(|(_, re)| re.is_match(value)))
    }

    /// Number of patterns (the width of a [`MatchSet`]).
    pub fn patterns(&self) -> usize {
        self.patterns
    }

    /// The indices of the patterns on attribute `a` that `value` matches (empty when
    /// none does or no rule tests `a`). The inventory remembers the answer per distinct
    /// value ([`MatchSet`]), so each pattern runs once per value, not once per rule and
    /// classification.
    pub fn matching(&self, a: Attr, value: &str) -> Vec<u16> {
        self.tested
            .get(a.index())
            .into_iter()
            .flatten()
            .filter(|(_, re)| re.is_match(value))
            .map(|(i, _)| *i)
            .collect()
    }

    /// Whether `r` matches a device whose values match the patterns in `set` (the union
    /// of [`Catalogue::matching`] over its values): what [`Rule::matches_attr`] answers.
    pub fn rule_matches(&self, r: &Rule, set: &MatchSet) -> bool {
        r.when_ix.iter().all(|i| set.has(*i)) && !r.unless_ix.iter().any(|i| set.has(*i))
    }

    /// The criticality of a class.
    pub fn criticality_of(&self, class: &str) -> &str {
        self.criticality
            .get(class)
            .map(String::as_str)
            .unwrap_or("medium")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalogue_loads_and_covers_every_class() {
        // The shipped files parse, every rule compiles, and every class has a criticality.
        let c = Catalogue::load(None).unwrap();
        assert!(c.rules.len() > 40, "{}", c.rules.len());
        assert!(!c.os_rules.is_empty());
        for class in CLASSES {
            assert!(CRITICALITIES.contains(&c.criticality_of(class)));
        }
        assert_eq!(c.criticality_of("infusion_pump"), "high");
    }

    #[test]
    fn catalogue_error_names_file_line_and_problem() {
        // A rule voting for a class that does not exist is refused with its file and line.
        let text = "rules:\n  - id: x.y\n    when: {vendor: 'a'}\n    class: toaster\n    weight: 3\n    source: s\n";
        let e = Catalogue::from_texts(&[("mine.yaml".into(), text.into())]).unwrap_err();
        assert_eq!(e.file, "mine.yaml");
        assert_eq!(e.line, Some(2));
        assert!(e.problem.contains("unknown class `toaster`"), "{e}");
        // Bad YAML: the parser's line.
        let e = Catalogue::from_texts(&[("bad.yaml".into(), "rules:\n  - id: [\n".into())])
            .unwrap_err();
        assert_eq!(e.file, "bad.yaml");
        assert!(e.line.is_some(), "{e}");
        // Unknown attribute and bad regex.
        let text = "rules:\n  - id: a\n    when: {colour: 'a'}\n    class: printer\n    weight: 3\n    source: s\n";
        let e = Catalogue::from_texts(&[("m.yaml".into(), text.into())]).unwrap_err();
        assert!(e.problem.contains("unknown attribute `colour`"), "{e}");
        let text = "rules:\n  - id: a\n    when: {vendor: '('}\n    class: printer\n    weight: 3\n    source: s\n";
        let e = Catalogue::from_texts(&[("m.yaml".into(), text.into())]).unwrap_err();
        assert!(e.problem.contains("bad pattern"), "{e}");
        // Unknown field.
        let text = "rules:\n  - id: a\n    when: {vendor: 'x'}\n    clas: printer\n    source: s\n";
        assert!(Catalogue::from_texts(&[("m.yaml".into(), text.into())]).is_err());
    }

    #[test]
    fn later_file_overrides_and_disables_rules() {
        // An operator file replaces a shipped rule by id, and weight 0 disables it.
        let shipped: Vec<(String, String)> = SHIPPED
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let mut files = shipped.clone();
        files.push((
            "local.yaml".into(),
            "rules:\n  - id: vendor.baxter\n    when: {vendor: 'x'}\n    class: infusion_pump\n    weight: 0\n    source: local\n".into(),
        ));
        let c = Catalogue::from_texts(&files).unwrap();
        assert!(c.rules.iter().all(|r| r.id != "vendor.baxter"));
        let c = Catalogue::from_texts(&shipped).unwrap();
        assert!(c.rules.iter().any(|r| r.id == "vendor.baxter"));
    }

    /// Values of the tested attributes as the benchmark workload and real devices give
    /// them: most match some rule, some match none.
    const POOL: &[(Attr, &str)] = &[
        (Attr::Vendor, "Baxter International"),
        (Attr::Vendor, "B.Braun Melsungen"),
        (Attr::Vendor, "Philips Healthcare PCCI"),
        (
            Attr::Vendor,
            "Philips Medical Systems - Cardiac and Monitoring Systems (CM",
        ),
        (Attr::Vendor, "GE Healthcare"),
        (Attr::Vendor, "Draeger Medical Systems"),
        (Attr::Vendor, "Siemens Healthcare Diagnostics"),
        (Attr::Vendor, "Cisco Systems"),
        (Attr::Vendor, "Dell"),
        (Attr::Vendor, "Zebra Technologies"),
        (Attr::Hostname, "PUMP-0077"),
        (Attr::Hostname, "PRN-0031"),
        (Attr::Hostname, "SEP001122334455"),
        (Attr::Os, "windows"),
        (Attr::Os, "embedded_linux"),
        (Attr::Os, "rtos"),
        (Attr::DhcpVendorClass, "udhcp 1.24.2"),
        (Attr::DhcpVendorClass, "MSFT 5.0"),
        (
            Attr::DhcpVendorClass,
            "Cisco Systems, Inc. IP Phone CP-8845",
        ),
        (Attr::UserAgent, "PumpAgent/4.2 (RTOS; DrugLibrarySync)"),
        (
            Attr::UserAgent,
            "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; ModalityConsole)",
        ),
        (Attr::UserAgent, "Cisco-CP8845/14.1"),
        (Attr::UserAgent, "PrinterFW/3.0"),
        (Attr::HttpServer, "nginx"),
        (Attr::SsdpServer, "Linux/3.10 UPnP/1.0 Printer/1.0"),
        (Attr::MdnsService, "_ipp._tcp.local"),
        (Attr::Model, "LaserJet M607"),
        (Attr::Platform, "Cisco IP Phone 8845"),
        (Attr::Capability, "telephone"),
        (Attr::Capability, "bridge"),
        (Attr::Capability, "router"),
        (Attr::DicomAe, "PACS_0001"),
        (Attr::DicomAe, "CT_PHILIP99"),
        (Attr::Hl7Application, "PACS"),
        (Attr::Hl7Application, "LIS"),
        (Attr::Hl7Application, "CNTRL"),
        (Attr::TlsSni, "firmware.pumpvendor.example"),
        (
            Attr::TcpSignature,
            "4:128+0:0:1460:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0",
        ),
        (
            Attr::TcpSignature,
            "4:64+0:0:1460:mss*4,6:mss,sok,ts,nop,ws:df,id+:0",
        ),
        (Attr::TcpSignature, "4:64+0:0:1460:8192,0:mss:df,id+:0"),
        (Attr::Service, "tcp/104"),
        (Attr::Service, "tcp/2575"),
        (Attr::Service, "tcp/9100"),
        (Attr::Service, "udp/53"),
        (Attr::Role, "dicom_store_scu"),
        (Attr::Role, "dicom_store_scp"),
        (Attr::Role, "dicom_mwl_scu"),
        (Attr::Role, "hl7_sender_oru"),
        (Attr::Role, "hl7_receiver"),
        (Attr::Role, "dns_server"),
        (Attr::Role, "router"),
    ];

    proptest::proptest! {
        #[test]
        fn match_sets_answer_as_rules_test_values(
            pick in proptest::sample::subsequence(POOL.to_vec(), 0..POOL.len()),
            extra in proptest::collection::vec((0..POOL.len(), "\\PC{0,12}"), 0..3),
        ) {
            // A rule's answer from the union of its values' pattern sets is the answer of
            // testing every value against the rule's own patterns, for every rule.
            let c = Catalogue::load(None).unwrap();
            let mut vals: Vec<(Attr, String)> =
                pick.iter().map(|(a, v)| (*a, v.to_string())).collect();
            vals.extend(extra.iter().map(|(i, v)| (POOL[*i].0, v.clone())));
            let mut set = MatchSet::default();
            set.reset(c.patterns());
            for (a, v) in &vals {
                set.add(&c.matching(*a, v));
            }
            let values = |a: Attr| vals.iter().filter(move |(x, _)| *x == a).map(|(_, v)| v.as_str());
            let mut matched = 0;
            for r in c.os_rules.iter().chain(c.rules.iter()) {
                let want = r.matches_attr(values);
                proptest::prop_assert_eq!(c.rule_matches(r, &set), want, "rule {}", r.id);
                matched += usize::from(want);
            }
            // The full pool matches rules (the comparison above is not vacuous).
            if pick.len() == POOL.len() {
                proptest::prop_assert!(matched > 10, "{}", matched);
            }
        }
    }
}
