//! Per-device baselines: what normal is for each device, learned from traffic, then
//! enforced.
//!
//! For every inventoried device the baseline keeps its peers (the peer's device id, or the
//! /24 of a host that is not in the inventory), its services (`tcp/443/out`: protocol,
//! server port, and whether the device opened the flow), DICOM AE pairs
//! (`CALLING>CALLED`), DICOM SOP classes with their command (`<sop uid> C-STORE-RQ`), HL7
//! applications and message types (`SENDER>RECEIVER ORU^R01`), DNS names asked and TLS
//! server names asked; with a GeoIP database (`[geoip]`), the countries (`DE`) and
//! autonomous systems (`AS3320`) of its external peers.
//!
//! Lifecycle (capture time): `learning` for `learning_secs` (or the device class's
//! `class_learning_secs`) from the device's first sight,
//! then `enforcing`: anything new raises a `baseline.*` alert (`new_peer`,
//! `new_external_peer`, `new_service`, `new_dicom_pair`, `new_dicom_sop`, `new_hl7_type`,
//! `new_dns_name`, `new_tls_sni`, `new_country`, `new_asn`) and is not added. Operators `lock` (enforce now),
//! `relearn` (learn again from the next event) and `approve` a deviation (add it), each
//! recorded with who and when ([`Change`]).
//!
//! Volume: bytes per hour of capture time (each flow record's bytes, both directions,
//! counted in the hour of its last packet, so a long flow counts in the hour it ends or
//! reaches the flow's `active_timeout`; records later than [`VOLUME_HOURS`] behind the
//! newest are not counted). Learning keeps the largest hour; enforcing
//! raises `baseline.volume_exceeded` once per device and hour above it times
//! `1 + volume_tolerance`, when the hour also reached `volume_min_bytes`.
//!
//! Bounds: every set is capped (`max_items`). At the cap, peer entries are summarised into
//! /16 subnets (a `net:` /24 by its address, a peer device by its inventory address; a peer
//! device then matches its subnet's summary, so a server that every device talks to keeps
//! its clients as subnets); if that does not make room the baseline is marked `overflowed`,
//! stops growing, and one `baseline.overflow` alert says so: a scanning device cannot grow
//! it without bound. The number of baselines is capped too (`max_devices`).

mod index;
mod keys;
mod sets;
pub mod store;
#[cfg(test)]
mod tests;

use crate::alert::{AlertEngine, DeviceRef, Hit, LazyHit, RuleMeta};
use crate::geo::Geo;
use crate::inventory::{Device, Inventory, Key as DevKey};
use crate::policy::net::is_internal;
use crate::policy::Subnet;
use index::{DevK, Index, KeyRef, Kind};
use model::alert::AlertDevice;
use model::dicom::DicomEvent;
use model::{Event, EventKind, IpProto};
use serde::{Deserialize, Serialize};
pub use sets::Sets;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// `[baseline]` in the configuration file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BaselineConfig {
    /// Learn per-device baselines and alert on deviations (needs `[alerts] enabled`).
    pub enabled: bool,
    /// Seconds of capture time a device's baseline learns from its first sight before it
    /// is enforced (default 7 days).
    pub learning_secs: u64,
    /// Most entries per set of a device's baseline (peers, services, ...).
    pub max_items: usize,
    /// Most baselines kept (one per device).
    pub max_devices: usize,
    /// Most lifecycle changes kept per device (oldest dropped first).
    pub max_history: usize,
    /// Learning period by device class, overriding `learning_secs` for devices of that
    /// class when their baseline starts (first sight, or a relearn), e.g.
    /// `{ infusion_pump = 1209600 }` (14 days). Classes must be catalogue classes.
    pub class_learning_secs: BTreeMap<String, u64>,
    /// Volume baseline: an enforced device's hour of capture time (bytes of its flows, both
    /// directions, counted when each flow record is written) alerts
    /// (`baseline.volume_exceeded`, once per device and hour) when it exceeds the largest
    /// hour learned times `1 + volume_tolerance` (1.0: double). Negative means 0.
    pub volume_tolerance: f64,
    /// ... and only when that hour also reached this many bytes (quiet devices whose
    /// learned hours are tiny do not alert on every update download).
    pub volume_min_bytes: u64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            enabled: true,
            learning_secs: 7 * 24 * 3600,
            max_items: 512,
            max_devices: 50_000,
            max_history: 32,
            class_learning_secs: BTreeMap::new(),
            volume_tolerance: 1.0,
            volume_min_bytes: 50_000_000,
        }
    }
}

impl BaselineConfig {
    /// Checks the class names of `class_learning_secs`.
    pub fn validate(&self) -> Result<(), String> {
        for c in self.class_learning_secs.keys() {
            if !crate::inventory::CLASSES.contains(&c.as_str()) {
                return Err(format!(
                    "baseline.class_learning_secs: unknown class `{c}` (known: {})",
                    crate::inventory::CLASSES.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The learning period of a device of `class`, microseconds.
    pub fn learning_us(&self, class: &str) -> i64 {
        let secs = self
            .class_learning_secs
            .get(class)
            .copied()
            .unwrap_or(self.learning_secs);
        i64::try_from(secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX)
    }
}

/// Where a device's baseline is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Adding what it sees until `learn_until_us` (capture time).
    Learning,
    /// Learning ended; deviations alert.
    Enforcing,
    /// An operator locked it; deviations alert.
    Locked,
}

/// One lifecycle change, by whom and when (wall clock: operator time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub action: String,
    pub who: String,
    /// Seconds since the epoch, wall clock.
    pub at: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The kinds of baseline entries, with their alert rule.
pub const KINDS: &[(&str, &str, u32, u8, &str)] = &[
    // (kind, rule id, signature id, severity, description)
    (
        "peers",
        "baseline.new_peer",
        9_200_001,
        3,
        "Device talks to a peer outside its baseline",
    ),
    (
        "external_peers",
        "baseline.new_external_peer",
        9_200_002,
        2,
        "Device talks to an internet address outside its baseline",
    ),
    (
        "services",
        "baseline.new_service",
        9_200_003,
        3,
        "Device uses a service outside its baseline",
    ),
    (
        "dicom_pairs",
        "baseline.new_dicom_pair",
        9_200_004,
        2,
        "New DICOM calling/called AE pair for the device",
    ),
    (
        "dicom_sops",
        "baseline.new_dicom_sop",
        9_200_005,
        3,
        "New DICOM SOP class or command for the device",
    ),
    (
        "hl7_types",
        "baseline.new_hl7_type",
        9_200_006,
        3,
        "New HL7 application or message type for the device",
    ),
    (
        "dns_names",
        "baseline.new_dns_name",
        9_200_007,
        4,
        "Device asks DNS for a name outside its baseline",
    ),
    (
        "tls_sni",
        "baseline.new_tls_sni",
        9_200_008,
        4,
        "Device asks TLS for a server name outside its baseline",
    ),
    (
        "countries",
        "baseline.new_country",
        9_200_009,
        2,
        "Device talks to a country outside its baseline",
    ),
    (
        "asns",
        "baseline.new_asn",
        9_200_010,
        3,
        "Device talks to an autonomous system outside its baseline",
    ),
];

/// The volume alert.
pub const VOLUME: (&str, u32, u8, &str) = (
    "baseline.volume_exceeded",
    9_200_011,
    2,
    "Device moved more bytes in an hour than its baseline allows (bulk transfer or exfiltration)",
);

/// An hour of capture time, in microseconds.
const HOUR_US: i64 = 3_600_000_000;

/// Hours of capture time a device's volume keeps open: a flow record whose last packet
/// is older than the newest hour seen minus this is not counted (records arrive out of
/// order by the flow timeouts, far less than this).
pub const VOLUME_HOURS: i64 = 6;

/// A device's bytes per hour of capture time: the largest hour learned, and the recent
/// hours (at most [`VOLUME_HOURS`] + 1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// The largest hour seen while learning (bytes, both directions).
    pub learned_max_bytes: u64,
    /// Hours with traffic seen while learning.
    pub learned_hours: u32,
    /// The recent hours, oldest first.
    #[serde(default)]
    pub recent: Vec<HourBytes>,
}

/// One hour of a device's traffic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HourBytes {
    /// Capture time, hours since the epoch.
    pub hour: i64,
    pub bytes: u64,
    /// This hour has alerted already.
    #[serde(default)]
    pub alerted: bool,
}

/// The overflow alert.
pub const OVERFLOW: (&str, u32, u8, &str) = (
    "baseline.overflow",
    9_200_100,
    2,
    "Device baseline reached its cap (scan or misbehaving device); it stops growing",
);

/// The policy that needs baselines: HL7 carrying PHI to a peer outside the sender's
/// baseline (a misrouted or exfiltrated feed), while the baseline is enforced.
pub const HL7_PHI_RULE: (&str, u32, u8, &str, &str) = (
    "policy.hl7_phi_outside_baseline",
    9_100_009,
    1,
    "HL7 carrying PHI to a peer outside the sender's baseline",
    "T0882",
);

/// The entries of one kind.
pub type ItemSet = HashSet<String, foldhash::fast::RandomState>;

/// One device's baseline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceBaseline {
    pub device: String,
    pub state: State,
    /// Capture time of the first sight, and when learning ends (microseconds).
    pub first_seen_us: i64,
    pub learn_until_us: i64,
    /// Learning restarts at the next event seen (after `relearn`).
    #[serde(default)]
    pub relearn_pending: bool,
    /// The cap was reached; the baseline no longer grows.
    #[serde(default)]
    pub overflowed: bool,
    /// Entries by kind (see [`KINDS`]), written sorted so exports diff cleanly (the
    /// per-event lookups use the index built from them).
    #[serde(default)]
    pub sets: Sets,
    /// Bytes per hour (absent until the device's first flow while learning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<Volume>,
    #[serde(default)]
    pub history: Vec<Change>,
}

impl DeviceBaseline {
    fn new(device: &str, ts_us: i64, learning_us: i64) -> Self {
        DeviceBaseline {
            device: device.to_string(),
            state: State::Learning,
            first_seen_us: ts_us,
            learn_until_us: ts_us.saturating_add(learning_us),
            relearn_pending: false,
            overflowed: false,
            sets: Sets::default(),
            volume: None,
            history: Vec::new(),
        }
    }

    /// Whether an entry is in the baseline (peers also match their /24 and /16 summaries).
    pub fn contains(&self, kind: &str, item: &str) -> bool {
        let s = &self.sets;
        if s.contains(kind, item) {
            return true;
        }
        if kind == "peers" || kind == "external_peers" {
            if let Some(ip) = peer_ip(item) {
                for p in [24u8, 16] {
                    let n = Subnet::new_masked(ip, if ip.is_ipv4() { p } else { p * 4 });
                    if s.contains(kind, &format!("net:{n}")) {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Records a lifecycle change (history capped, oldest dropped).
    pub fn log(&mut self, c: Change, max: usize) {
        self.history.push(c);
        let max = max.max(1);
        if self.history.len() > max {
            let cut = self.history.len() - max;
            self.history.drain(..cut);
        }
    }

    /// Entries in all sets.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}

/// The address inside a `net:` or `ip:` peer entry.
fn peer_ip(item: &str) -> Option<IpAddr> {
    let rest = item
        .strip_prefix("net:")
        .or_else(|| item.strip_prefix("ip:"))?;
    rest.split('/').next()?.parse().ok()
}

/// What adding an entry did.
#[derive(Debug, PartialEq, Eq)]
enum Added {
    Known,
    New,
    /// Learning, but the set is full (the baseline overflowed just now).
    Overflow,
    Full,
}

/// Every baseline, the alerts' rule metadata, and what changed since the last checkpoint.
pub struct Baselines {
    cfg: BaselineConfig,
    /// The baselines (never removed: a relearn empties one, an import replaces it).
    slots: Vec<Slot>,
    /// Slot by device id.
    ids: HashMap<String, usize, foldhash::fast::RandomState>,
    /// Slot by the inventory's key of the device (ids that are such a key's text): the
    /// per-event lookup hashes and compares no text.
    keys: keys::SlotKeys,
    /// Every baseline's entries, for the per-event lookups.
    idx: Index,
    /// Seeds the hashes of the index's keys.
    seed: foldhash::fast::RandomState,
    /// Holds the text entries of the event being checked (reused: no allocation).
    scratch: String,
    /// The text entry hinted last ([`Self::prefetch_hints`]): its home cell, hash, baseline
    /// and kind.
    text_hint: Option<(usize, u64, usize, Kind)>,
    /// The baselines of the flow record hinted last: their latest volume hour is hinted
    /// at the next call, once the baseline's own lines have arrived.
    volume_hint: [Option<usize>; 2],
    dirty: BTreeSet<String>,
    rules: HashMap<&'static str, Arc<RuleMeta>>,
    overflow_rule: Arc<RuleMeta>,
    volume_rule: Arc<RuleMeta>,
    phi_rule: Arc<RuleMeta>,
    internal: Vec<Subnet>,
    geo: Option<Arc<Geo>>,
    /// Baselines not created because `max_devices` was reached.
    pub refused: u64,
    /// Deviations seen (before alert dedup and rate limits).
    pub deviations: u64,
}

/// A baseline (its entries are in [`Baselines::idx`] under its position in `slots`).
struct Slot {
    b: DeviceBaseline,
}

/// An entry an event brings, before it is known to be new: a key, or text in the scratch
/// buffer (`start..end`).
#[derive(Clone, Copy)]
enum Pending<'e> {
    Key(KeyRef<'e>),
    Text(usize, usize),
}

impl Pending<'_> {
    fn key<'s>(self, scratch: &'s str) -> KeyRef<'s>
    where
        Self: 's,
    {
        match self {
            Pending::Key(k) => k,
            Pending::Text(a, b) => KeyRef::Text(scratch.get(a..b).unwrap_or("")),
        }
    }
}

/// The most entries one side of one event brings (a flow: peer, country, AS, service;
/// DNS: four names).
const MAX_PENDING: usize = 4;

/// The entries of one side of one event.
#[derive(Default)]
struct Items<'e> {
    v: [Option<(Kind, Pending<'e>)>; MAX_PENDING],
    n: usize,
}

impl<'e> Items<'e> {
    fn push(&mut self, k: Kind, p: Pending<'e>) {
        if let Some(slot) = self.v.get_mut(self.n) {
            *slot = Some((k, p));
            self.n += 1;
        }
    }

    /// Text appended to `scratch` by `f`.
    fn push_text(&mut self, k: Kind, scratch: &mut String, f: impl FnOnce(&mut String)) {
        let a = scratch.len();
        f(scratch);
        self.push(k, Pending::Text(a, scratch.len()));
    }

    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = (Kind, Pending<'e>)> + '_ {
        self.v.iter().take(self.n).flatten().copied()
    }
}

/// An operator action on baselines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Enforce now (`device: "*"` for all).
    Lock { device: String },
    /// Forget and learn again from the next event (`device: "*"` for all).
    Relearn { device: String },
    /// Add one entry (`kind` from [`KINDS`]).
    Approve {
        device: String,
        kind: String,
        item: String,
    },
    /// Replace baselines by those given (a reviewed export).
    Import { baselines: Vec<DeviceBaseline> },
}

impl Baselines {
    pub fn new(cfg: BaselineConfig, internal: Vec<Subnet>) -> Self {
        let meta = |id: &str, sid: u32, sev: u8, sig: &str| {
            Arc::new(RuleMeta {
                id: id.to_string(),
                signature_id: sid,
                rev: 1,
                signature: sig.to_string(),
                category: "Baseline Deviation".into(),
                severity: sev,
                reference: None,
            })
        };
        let rules = KINDS
            .iter()
            .map(|(k, id, sid, sev, sig)| (*k, meta(id, *sid, *sev, sig)))
            .collect();
        Baselines {
            cfg,
            slots: Vec::new(),
            ids: HashMap::default(),
            keys: keys::SlotKeys::default(),
            idx: Index::default(),
            seed: foldhash::fast::RandomState::default(),
            scratch: String::new(),
            text_hint: None,
            volume_hint: [None; 2],
            dirty: BTreeSet::new(),
            rules,
            overflow_rule: meta(OVERFLOW.0, OVERFLOW.1, OVERFLOW.2, OVERFLOW.3),
            volume_rule: meta(VOLUME.0, VOLUME.1, VOLUME.2, VOLUME.3),
            phi_rule: Arc::new(RuleMeta {
                id: HL7_PHI_RULE.0.into(),
                signature_id: HL7_PHI_RULE.1,
                rev: 1,
                signature: HL7_PHI_RULE.3.into(),
                category: "Policy Violation".into(),
                severity: HL7_PHI_RULE.2,
                reference: Some(HL7_PHI_RULE.4.into()),
            }),
            internal,
            geo: None,
            refused: 0,
            deviations: 0,
        }
    }

    /// Looks up the country and ASN of external peers (`countries`, `asns`, and the
    /// evidence of `new_external_peer`).
    pub fn set_geo(&mut self, geo: Arc<Geo>) {
        self.geo = Some(geo);
    }

    /// Continues from stored baselines.
    pub fn restore(&mut self, all: Vec<DeviceBaseline>) {
        self.restore_hinted(all, |_| {});
    }

    /// [`Self::restore`], handing the index cells each batch of entries will write to
    /// `hint` first (a prefetch: the index writes each batch of 16 together).
    pub fn restore_hinted(&mut self, all: Vec<DeviceBaseline>, mut hint: impl FnMut(*const u8)) {
        // The index sized once for every entry, its list of texts for the kinds kept as
        // text (peers and services are mostly keys packed into the cells).
        let (entries, texts) = all
            .iter()
            .map(|b| b.sets.upper_len(index::kept_as_text))
            .fold((0, 0), |(a, t), (x, y)| (a + x, t + y));
        self.idx.reserve(entries);
        self.idx.reserve_texts(texts);
        for b in all {
            self.put(b, &mut hint);
        }
    }

    /// Inserts or replaces a baseline, indexing its sets.
    fn put(&mut self, b: DeviceBaseline, hint: &mut dyn FnMut(*const u8)) -> usize {
        if let Some(&i) = self.ids.get(&b.device) {
            if let Some(s) = self.slots.get_mut(i) {
                self.idx.remove_sets(&self.seed, i, &s.b.sets);
                self.idx.add_sets(&self.seed, i, &b.sets);
                *s = Slot { b };
                return i;
            }
        }
        let i = self.slots.len();
        if let Some(k) = DevKey::parse(&b.device) {
            self.keys.insert(DevK(k), i);
        }
        self.idx.add_sets_hinted(&self.seed, i, &b.sets, hint);
        self.ids.insert(b.device.clone(), i);
        self.slots.push(Slot { b });
        i
    }

    fn slot_mut(&mut self, device: &str) -> Option<&mut Slot> {
        let i = *self.ids.get(device)?;
        self.slots.get_mut(i)
    }

    /// The slot of an event's device: by its inventory key, else by its id (a baseline
    /// stored under an id that is not a key's text; the key then finds it too).
    fn slot_of(&mut self, key: DevK, me: &Device) -> Option<usize> {
        if let Some(i) = self.keys.get(key) {
            return Some(i);
        }
        let i = *self.ids.get(&me.id)?;
        self.keys.insert(key, i);
        Some(i)
    }

    pub fn get(&self, device: &str) -> Option<&DeviceBaseline> {
        let i = *self.ids.get(device)?;
        self.slots.get(i).map(|s| &s.b)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every baseline, sorted by device.
    pub fn all(&self) -> Vec<&DeviceBaseline> {
        let mut v: Vec<&DeviceBaseline> = self.slots.iter().map(|s| &s.b).collect();
        v.sort_by(|a, b| a.device.cmp(&b.device));
        v
    }

    /// Changed baselines since the last call (for the checkpoint).
    pub fn take_changes(&mut self) -> Vec<DeviceBaseline> {
        let ids = std::mem::take(&mut self.dirty);
        ids.iter().filter_map(|id| self.get(id).cloned()).collect()
    }

    /// [`Self::take_changes`] as the store's records (device, JSON), written from the
    /// baselines in place (no copy of their sets). On an error nothing is taken.
    pub fn take_records(&mut self) -> Result<Vec<store::Record>, String> {
        let mut out = Vec::with_capacity(self.dirty.len());
        for id in &self.dirty {
            if let Some(b) = self.get(id) {
                out.push(store::Record::of(b)?);
            }
        }
        self.dirty.clear();
        Ok(out)
    }

    /// Puts records back after a failed checkpoint.
    pub fn requeue_records(&mut self, up: &[store::Record]) {
        for r in up {
            self.dirty.insert(r.device.clone());
        }
    }

    /// Puts changes back after a failed checkpoint.
    pub fn requeue(&mut self, up: &[DeviceBaseline]) {
        for b in up {
            self.dirty.insert(b.device.clone());
        }
    }

    pub fn has_changes(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Applies an operator command, recorded with `who` and `at` (wall clock, seconds).
    /// Returns how many baselines it changed.
    pub fn apply(&mut self, cmd: &Command, who: &str, at: i64) -> Result<usize, String> {
        let max_h = self.cfg.max_history;
        let targets =
            |ids: &HashMap<String, usize, foldhash::fast::RandomState>, dev: &str| -> Vec<String> {
                if dev == "*" {
                    ids.keys().cloned().collect()
                } else if ids.contains_key(dev) {
                    vec![dev.to_string()]
                } else {
                    Vec::new()
                }
            };
        let change = |action: &str, detail: String| Change {
            action: action.into(),
            who: who.into(),
            at,
            detail,
        };
        let mut n = 0;
        match cmd {
            Command::Lock { device } => {
                let ids = targets(&self.ids, device);
                if ids.is_empty() {
                    return Err(format!("no baseline for device `{device}`"));
                }
                for id in ids {
                    if let Some(Slot { b, .. }) = self.slot_mut(&id) {
                        b.state = State::Locked;
                        b.relearn_pending = false;
                        b.log(change("lock", String::new()), max_h);
                        self.dirty.insert(id);
                        n += 1;
                    }
                }
            }
            Command::Relearn { device } => {
                let ids = targets(&self.ids, device);
                if ids.is_empty() {
                    return Err(format!("no baseline for device `{device}`"));
                }
                for id in ids {
                    let Some(&i) = self.ids.get(&id) else {
                        continue;
                    };
                    if let Some(Slot { b }) = self.slots.get_mut(i) {
                        self.idx.remove_sets(&self.seed, i, &b.sets);
                        b.state = State::Learning;
                        b.relearn_pending = true;
                        b.overflowed = false;
                        b.sets = Sets::default();
                        b.volume = None;
                        b.log(change("relearn", String::new()), max_h);
                        self.dirty.insert(id);
                        n += 1;
                    }
                }
            }
            Command::Approve { device, kind, item } => {
                if !KINDS.iter().any(|k| k.0 == kind) {
                    return Err(format!(
                        "unknown kind `{kind}` (known: {})",
                        KINDS.iter().map(|k| k.0).collect::<Vec<_>>().join(", ")
                    ));
                }
                let Some((i, Slot { b })) = self
                    .ids
                    .get(device)
                    .and_then(|&i| Some((i, self.slots.get_mut(i)?)))
                else {
                    return Err(format!("no baseline for device `{device}`"));
                };
                b.sets
                    .map_mut()
                    .entry(kind.clone())
                    .or_default()
                    .insert(item.clone());
                if let Some(k) = index::kind_of(kind) {
                    self.idx.insert_text_at(&self.seed, i, k, item);
                }
                b.log(change("approve", format!("{kind}: {item}")), max_h);
                self.dirty.insert(device.clone());
                n = 1;
            }
            Command::Import { baselines } => {
                for nb in baselines {
                    let mut nb = nb.clone();
                    for k in nb.sets.kinds() {
                        if !KINDS.iter().any(|x| x.0 == k) {
                            return Err(format!("device {}: unknown kind `{k}`", nb.device));
                        }
                    }
                    nb.log(change("import", String::new()), max_h);
                    self.dirty.insert(nb.device.clone());
                    self.put(nb, &mut |_| {});
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Addresses that checking `ev` will read first, for the caller to prefetch a few events
    /// ahead (the entries are spread over megabytes: each lookup is a cache miss): the
    /// baseline of each side and the index cells of a flow's peer and service, and of a DNS
    /// query's name. Not an HL7 message's: a hospital's HL7 feeds are a few interfaces
    /// whose entries stay in cache (the bench's 69,114 messages bring 269 entries), so
    /// building its entry twice only cost instructions. Guessed from the event
    /// alone (a side's device by its MAC, else its address; no inventory lookup), so a wrong
    /// guess costs one useless prefetch; nothing is read here but the baselines' small key
    /// map and the event. An entry's home cell is hinted with the next cell when that one is
    /// on the next line (where linear probing finds a third of the entries). Called on
    /// events in order: a text entry's bytes, kept aside, are hinted at the next call, from
    /// the cell that holds the entry (found from its home cell, which has arrived by then),
    /// and so is the latest volume hour of a flow record's baselines (a heap list read by
    /// [`Self::observe`]'s volume step, reached through the baseline). At most 19 addresses
    /// (some null) go to `out`.
    pub fn prefetch_hints(&mut self, ev: &Event, mut out: impl FnMut(*const u8)) {
        if let Some((c, h, i, k)) = self.text_hint.take() {
            if let Some(p) = self.idx.text_of_entry(c, h, i, k) {
                out(p);
            }
        }
        for i in std::mem::take(&mut self.volume_hint).into_iter().flatten() {
            // The hour `volume` reads first (the latest).
            let last = self
                .slots
                .get(i)
                .and_then(|s| s.b.volume.as_ref()?.recent.last());
            if let Some(h) = last {
                out((h as *const HourBytes).cast());
            }
        }
        let Some(flow) = ev.flow.as_deref() else {
            return;
        };
        let k = &flow.key;
        if !matches!(&ev.kind, EventKind::Flow(_) | EventKind::Dns(_)) {
            return;
        }
        // A side's device: its MAC's key when that has a baseline, else its address's.
        let side = |keys: &keys::SlotKeys, mac: Option<model::MacAddr>, ip: IpAddr| {
            mac.and_then(|m| {
                let d = DevK(DevKey::mac(m));
                Some((d, keys.get(d)?))
            })
            .or_else(|| {
                let d = DevK(DevKey::Ip(ip));
                Some((d, keys.get(d)?))
            })
        };
        let src = side(&self.keys, flow.src_mac, k.src_ip);
        let peer_of = |internal: &[Subnet], peer: Option<(DevK, usize)>, ip: IpAddr| {
            if is_internal(ip, internal) {
                (
                    index::PEERS,
                    peer.map_or(KeyRef::Net(Subnet::around(ip)), |(d, _)| KeyRef::Device(d)),
                )
            } else {
                (index::EXTERNAL_PEERS, KeyRef::Net(Subnet::around(ip)))
            }
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        match &ev.kind {
            EventKind::Dns(d) if !d.qr => {
                if let (Some((_, i)), Some(q)) = (src, d.queries.first()) {
                    if let Some(s) = self.slots.get(i) {
                        hint_state(&s.b, &mut out);
                    }
                    let key = KeyRef::Text(lowercase(&q.rrname, &mut scratch));
                    if let Some((c, h)) = self.idx.start(&self.seed, i, index::DNS_NAMES, key) {
                        self.text_hint = Some((c, h, i, index::DNS_NAMES));
                        self.idx.lines_from(c).into_iter().for_each(&mut out);
                    }
                }
            }
            EventKind::Flow(_) => {
                let dst = side(&self.keys, flow.dest_mac, k.dst_ip);
                let (proto, port) = service_of(k);
                for (me, peer, peer_ip, client) in
                    [(src, dst, k.dst_ip, true), (dst, src, k.src_ip, false)]
                {
                    let Some((_, i)) = me else {
                        continue;
                    };
                    if let Some(s) = self.slots.get(i) {
                        hint_state(&s.b, &mut out);
                        out((&s.b.volume as *const Option<Volume>).cast());
                    }
                    if let Some(v) = self.volume_hint.iter_mut().find(|v| v.is_none()) {
                        *v = Some(i);
                    }
                    let (pk, key) = peer_of(&self.internal, peer, peer_ip);
                    self.idx
                        .hint_lines(&self.seed, i, pk, key)
                        .into_iter()
                        .for_each(&mut out);
                    let service = KeyRef::Service {
                        proto,
                        port,
                        out: client,
                    };
                    self.idx
                        .hint_lines(&self.seed, i, index::SERVICES, service)
                        .into_iter()
                        .for_each(&mut out);
                }
            }
            _ => {}
        }
        self.scratch = scratch;
    }

    /// Observes one event (after the inventory did): learns, or alerts on deviations.
    pub fn observe(
        &mut self,
        ev: &Event,
        inv: &Inventory,
        alerts: &mut AlertEngine,
        out: &mut Vec<Event>,
    ) {
        let Some(flow) = ev.flow.as_deref() else {
            return;
        };
        let k = &flow.key;
        let kind = &ev.kind;
        if let EventKind::Dns(d) = kind {
            if d.qr {
                return;
            }
        }
        // Only the events that carry baseline facts.
        if !matches!(
            kind,
            EventKind::Flow(_)
                | EventKind::Dicom(_)
                | EventKind::Hl7(_)
                | EventKind::Dns(_)
                | EventKind::Tls(_)
        ) {
            return;
        }
        let src = inv.device_key_of(flow.src_mac, Some(k.src_ip));
        // DNS and TLS names are the client's; their servers learn nothing from them.
        let dst = if matches!(kind, EventKind::Dns(_) | EventKind::Tls(_)) {
            None
        } else {
            inv.device_key_of(flow.dest_mac, Some(k.dst_ip))
        };
        let ts = ev.ts.micros();
        let mut scratch = std::mem::take(&mut self.scratch);
        for n in 0..2 {
            // The client's side, then the server's (picked, not copied out of an array of
            // both).
            let (me, peer, peer_ip, client) = if n == 0 {
                (src, dst, k.dst_ip, true)
            } else {
                (dst, src, k.src_ip, false)
            };
            let Some((me_key, me)) = me.map(|(k, d)| (DevK(k), d)) else {
                continue;
            };
            if me.router {
                continue;
            }
            scratch.clear();
            let mut items = Items::default();
            // Country and AS of an external peer: baseline entries and alert evidence.
            let mut geo_ev: Vec<(&'static str, String)> = Vec::new();
            let internal = is_internal(peer_ip, &self.internal);
            let peer_kind = if internal {
                index::PEERS
            } else {
                index::EXTERNAL_PEERS
            };
            let peer_key = match peer.filter(|(_, p)| !p.router && internal) {
                Some((pk, _)) => KeyRef::Device(DevK(pk)),
                None => KeyRef::Net(Subnet::around(peer_ip)),
            };
            let mut phi = false;
            match kind {
                EventKind::Flow(_) => {
                    items.push(peer_kind, Pending::Key(peer_key));
                    if let Some(g) = self.geo.as_ref().filter(|_| !internal) {
                        let info = g.lookup(peer_ip);
                        if let Some(c) = info.country_str() {
                            items.push_text(index::COUNTRIES, &mut scratch, |s| s.push_str(c));
                            geo_ev.push(("country", c.to_string()));
                        }
                        if let Some(n) = info.asn {
                            items.push_text(index::ASNS, &mut scratch, |s| {
                                use std::fmt::Write;
                                let _ = write!(s, "AS{n}");
                            });
                            geo_ev.push(("asn", format!("AS{n}")));
                            if let Some(o) = &info.as_org {
                                geo_ev.push(("as_org", o.to_string()));
                            }
                        }
                        if !geo_ev.is_empty() {
                            // A public server's address, never PHI.
                            geo_ev.push(("peer_ip", peer_ip.to_string()));
                        }
                    }
                    let (proto, port) = service_of(k);
                    items.push(
                        index::SERVICES,
                        Pending::Key(KeyRef::Service {
                            proto,
                            port,
                            out: client,
                        }),
                    );
                }
                EventKind::Dicom(DicomEvent::Association(a)) => {
                    if let (Some(c), Some(d)) = (&a.calling_ae, &a.called_ae) {
                        items.push_text(index::DICOM_PAIRS, &mut scratch, |s| {
                            s.push_str(c);
                            s.push('>');
                            s.push_str(d);
                        });
                    }
                }
                EventKind::Dicom(DicomEvent::Command(c)) => {
                    let sop = c
                        .affected_sop_class_uid
                        .as_deref()
                        .or(c.requested_sop_class_uid.as_deref())
                        .unwrap_or("-");
                    // Requests only: responses mirror them.
                    if c.command.ends_with("-RQ") {
                        items.push_text(index::DICOM_SOPS, &mut scratch, |s| {
                            s.push_str(sop);
                            s.push(' ');
                            s.push_str(c.command);
                        });
                    }
                }
                EventKind::Hl7(h) => {
                    // The sender's view: the side that sent the message (ACKs included).
                    let sent_by_me = (h.direction == model::Direction::ToServer) == client;
                    if sent_by_me {
                        items.push_text(index::HL7_TYPES, &mut scratch, |x| hl7_entry(h, x));
                        phi = h.has_phi();
                    }
                }
                EventKind::Dns(d) if client && !d.qr => {
                    for q in d.queries.iter().take(MAX_PENDING) {
                        push_lowercase(&mut items, index::DNS_NAMES, &mut scratch, &q.rrname);
                    }
                }
                EventKind::Tls(t) if client => {
                    if let Some(sni) = &t.sni {
                        push_lowercase(&mut items, index::TLS_SNI, &mut scratch, sni);
                    }
                }
                _ => {}
            }
            let mut slot = self.slot_of(me_key, me);
            if phi {
                if let Some(i) = slot {
                    self.check_phi(i, me, peer_kind, peer_key, peer_ip, ev, alerts, out);
                }
            }
            if items.n > 0 {
                let side = Side {
                    me_key,
                    me,
                    peer_ip,
                    inv,
                };
                slot = self.check(slot, side, &items, &scratch, &geo_ev, ev, ts, alerts, out);
            }
            if let (EventKind::Flow(f), Some(i)) = (kind, slot) {
                let bytes = f.bytes_toserver.saturating_add(f.bytes_toclient);
                // The hour of the record's last packet (its start may be a day earlier).
                let end = if f.end.micros() > 0 {
                    f.end.micros()
                } else {
                    ts
                };
                self.volume(i, me, bytes, end, ev, alerts, out);
            }
        }
        self.scratch = scratch;
    }

    /// Adds a flow record's bytes to the device's hour (of its last packet); learns the
    /// largest hour, or alerts once per hour above the learned largest times
    /// `1 + volume_tolerance` (and the floor). Runs after [`Self::check`] created the
    /// baseline and moved its state on.
    #[allow(clippy::too_many_arguments)] // reason: one flow record's whole context
    fn volume(
        &mut self,
        slot: usize,
        me: &Device,
        bytes: u64,
        end_us: i64,
        ev: &Event,
        alerts: &mut AlertEngine,
        out: &mut Vec<Event>,
    ) {
        let Some(Slot { b, .. }) = self.slots.get_mut(slot) else {
            return;
        };
        let hour = end_us.div_euclid(HOUR_US);
        let learning = b.state == State::Learning;
        let v = match &mut b.volume {
            Some(v) => v,
            None if learning => b.volume.insert(Volume::default()),
            // Enforced without a learned volume (an import, or learned before volumes
            // existed): nothing to compare with.
            None => return,
        };
        let newest = v.recent.last().map_or(hour, |h| h.hour.max(hour));
        if hour < newest.saturating_sub(VOLUME_HOURS) {
            return;
        }
        let i = match v.recent.binary_search_by_key(&hour, |h| h.hour) {
            Ok(i) => i,
            Err(i) => {
                v.recent.insert(
                    i,
                    HourBytes {
                        hour,
                        ..HourBytes::default()
                    },
                );
                if learning {
                    v.learned_hours = v.learned_hours.saturating_add(1);
                }
                // Hours too old to change any more are dropped (the list stays sorted).
                let keep_from = newest.saturating_sub(VOLUME_HOURS);
                v.recent.retain(|h| h.hour >= keep_from);
                self.dirty.insert(me.id.clone());
                match v.recent.binary_search_by_key(&hour, |h| h.hour) {
                    Ok(i) => i,
                    Err(_) => return,
                }
            }
        };
        let Some(h) = v.recent.get_mut(i) else {
            return;
        };
        h.bytes = h.bytes.saturating_add(bytes);
        if learning {
            if h.bytes > v.learned_max_bytes {
                v.learned_max_bytes = h.bytes;
                self.dirty.insert(me.id.clone());
            }
            return;
        }
        if h.alerted {
            return;
        }
        let tol = if self.cfg.volume_tolerance >= 0.0 {
            self.cfg.volume_tolerance
        } else {
            0.0
        };
        // f64 to u64 saturates; the product is exact enough for a threshold.
        let limit = (v.learned_max_bytes as f64 * (1.0 + tol)) as u64;
        if h.bytes <= limit || h.bytes < self.cfg.volume_min_bytes {
            return;
        }
        h.alerted = true;
        let evidence = vec![
            ("hour_bytes", h.bytes.to_string()),
            ("learned_max_bytes", v.learned_max_bytes.to_string()),
            ("limit_bytes", limit.to_string()),
            ("learned_hours", v.learned_hours.to_string()),
            ("hour_start", h.hour.saturating_mul(3600).to_string()),
            (
                "baseline_state",
                match b.state {
                    State::Locked => "locked",
                    _ => "enforcing",
                }
                .to_string(),
            ),
        ];
        self.dirty.insert(me.id.clone());
        self.deviations += 1;
        alerts.raise(
            Hit {
                ts: ev.ts,
                flow: ev.flow.as_deref(),
                rule: &self.volume_rule,
                device: Some(alert_device(me)),
                evidence,
            },
            out,
        );
    }

    /// HL7 with PHI sent to a peer outside an enforced baseline.
    #[allow(clippy::too_many_arguments)] // reason: one message's whole context
    fn check_phi(
        &mut self,
        slot: usize,
        me: &Device,
        peer_kind: Kind,
        peer: KeyRef<'_>,
        peer_ip: IpAddr,
        ev: &Event,
        alerts: &mut AlertEngine,
        out: &mut Vec<Event>,
    ) {
        let Some(s) = self.slots.get(slot) else {
            return;
        };
        if s.b.state == State::Learning
            || has(&self.idx, &self.seed, slot, peer_kind, peer, peer_ip)
        {
            return;
        }
        alerts.raise(
            Hit {
                ts: ev.ts,
                flow: ev.flow.as_deref(),
                rule: &self.phi_rule,
                device: Some(alert_device(me)),
                evidence: vec![("peer", peer.text()), ("phi_present", "true".into())],
            },
            out,
        );
    }

    /// Checks the entries one side of an event brings against the device's baseline
    /// (`slot`, or created at its first entry): learns the new ones, or alerts on each.
    /// Returns the baseline's slot (none when `max_devices` refused it).
    #[allow(clippy::too_many_arguments)] // reason: one side's whole context
    fn check(
        &mut self,
        slot: Option<usize>,
        side: Side<'_>,
        items: &Items<'_>,
        scratch: &str,
        geo_ev: &[(&'static str, String)],
        ev: &Event,
        ts: i64,
        alerts: &mut AlertEngine,
        out: &mut Vec<Event>,
    ) -> Option<usize> {
        let Side {
            me_key,
            me,
            peer_ip,
            inv,
        } = side;
        let slot = match slot {
            Some(i) => i,
            None => {
                if self.slots.len() >= self.cfg.max_devices.max(1) {
                    // One refusal per entry, as each would have created it.
                    self.refused += items.n as u64;
                    return None;
                }
                let learning_us = self.cfg.learning_us(&me.classification.class);
                let i = self.put(DeviceBaseline::new(&me.id, ts, learning_us), &mut |_| {});
                self.keys.insert(me_key, i);
                self.dirty.insert(me.id.clone());
                i
            }
        };
        let max = self.cfg.max_items.max(1);
        let Baselines {
            cfg,
            slots,
            idx,
            seed,
            dirty,
            rules,
            overflow_rule,
            deviations,
            ..
        } = self;
        let Slot { b } = slots.get_mut(slot)?;
        if b.relearn_pending {
            let learning_us = cfg.learning_us(&me.classification.class);
            b.relearn_pending = false;
            b.first_seen_us = ts;
            b.learn_until_us = ts.saturating_add(learning_us);
            dirty.insert(me.id.clone());
        }
        if b.state == State::Learning && ts >= b.learn_until_us {
            b.state = State::Enforcing;
            dirty.insert(me.id.clone());
        }
        for j in 0..items.n {
            let Some(&Some((k, p))) = items.v.get(j) else {
                continue;
            };
            let key = p.key(scratch);
            if has(idx, seed, slot, k, key, peer_ip) {
                continue;
            }
            let kind = index::kind_name(k);
            if b.state == State::Learning {
                if b.overflowed {
                    // `add` refuses every entry once the cap was reached: nothing changes.
                    continue;
                }
                // At the cap, `add` summarises peers into /16s first.
                // Learning changes the sets: packed entries become hash sets here, once.
                let summarise = (k == index::PEERS || k == index::EXTERNAL_PEERS)
                    && b.sets.map_mut().get(kind).map_or(0, HashSet::len) >= max;
                if summarise {
                    // The set's entries are replaced by their summaries: out of the index.
                    if let Some(set) = b.sets.map_mut().get(kind) {
                        idx.remove_set(seed, slot, k, set);
                    }
                }
                let ip_of = |id: &str| inv.get(id).and_then(|d| d.ips.first()).map(|b| b.ip);
                let added = add(b, kind, key.text(), max, Some(peer_ip), ip_of);
                let new = added == Added::New;
                match added {
                    Added::New => {
                        dirty.insert(me.id.clone());
                    }
                    Added::Overflow => {
                        dirty.insert(me.id.clone());
                        let dev = alert_device(me);
                        alerts.raise(
                            Hit {
                                ts: ev.ts,
                                flow: ev.flow.as_deref(),
                                rule: overflow_rule,
                                device: Some(dev),
                                evidence: vec![
                                    ("kind", kind.to_string()),
                                    ("max_items", max.to_string()),
                                ],
                            },
                            out,
                        );
                    }
                    Added::Known | Added::Full => {}
                }
                if summarise {
                    // The peers were summarised into /16s: index them again.
                    if let Some(set) = b.sets.map_mut().get(kind) {
                        idx.add_set(seed, slot, k, set);
                    }
                } else if new {
                    idx.insert_at(seed, slot, k, key);
                }
                continue;
            }
            // Enforcing or locked: a deviation. Its device and evidence are copied only
            // into the alert written or the repeat folded (no text built per deviation).
            *deviations += 1;
            let Some(rule) = rules.get(kind) else {
                continue;
            };
            let state = match b.state {
                State::Locked => "locked",
                _ => "enforcing",
            };
            let geo = matches!(k, index::EXTERNAL_PEERS | index::COUNTRIES | index::ASNS);
            alerts.raise_with(
                LazyHit {
                    ts: ev.ts,
                    flow: ev.flow.as_deref(),
                    rule,
                    device: Some(device_ref(me)),
                },
                |e| {
                    e.push("kind", kind);
                    e.push_with("item", |s| key.write_text(s));
                    e.push("baseline_state", state);
                    if geo {
                        for (name, v) in geo_ev {
                            e.push(name, v);
                        }
                    }
                },
                out,
            );
        }
        Some(slot)
    }
}

/// An HL7 message's entry (`SENDER>RECEIVER TYPE`, `-` for a field it lacks), appended.
fn hl7_entry(h: &model::hl7::Hl7Event, s: &mut String) {
    s.push_str(h.sending_application().unwrap_or("-"));
    s.push('>');
    s.push_str(h.receiving_application().unwrap_or("-"));
    s.push(' ');
    s.push_str(h.message_type().unwrap_or("-"));
}

/// `name` in lower case: itself when it has no upper-case letter (most names), else a
/// lower-case copy in `scratch`.
fn lowercase<'a>(name: &'a str, scratch: &'a mut String) -> &'a str {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        scratch.clear();
        scratch.push_str(name);
        scratch.make_ascii_lowercase();
        scratch
    } else {
        name
    }
}

/// Adds a name entry in lower case: the event's own text when it has no upper-case
/// letter, else a lower-case copy appended to `scratch`.
fn push_lowercase<'e>(items: &mut Items<'e>, k: Kind, scratch: &mut String, name: &'e str) {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        items.push_text(k, scratch, |s| {
            let a = s.len();
            s.push_str(name);
            if let Some(t) = s.get_mut(a..) {
                t.make_ascii_lowercase();
            }
        });
    } else {
        items.push(k, Pending::Key(KeyRef::Text(name)));
    }
}

/// Hints the lines of a baseline that every check reads (its lifecycle fields; the
/// struct spans several lines and the compiler orders its fields).
fn hint_state(b: &DeviceBaseline, out: &mut impl FnMut(*const u8)) {
    out((&b.state as *const State).cast());
    out((&b.relearn_pending as *const bool).cast());
    out((&b.learn_until_us as *const i64).cast());
}

/// One side of an event as [`Baselines::check`] sees it: the device, its key, the
/// address of its peer, and the inventory (the addresses of summarised peer devices).
#[derive(Clone, Copy)]
struct Side<'a> {
    me_key: DevK,
    me: &'a Device,
    peer_ip: IpAddr,
    inv: &'a Inventory,
}

/// The /16 (/48 for IPv6) a peer is summarised into at the cap ([`add`]).
fn summary_of(ip: IpAddr) -> Subnet {
    Subnet::new_masked(ip, if ip.is_ipv4() { 16 } else { 48 })
}

/// Whether baseline `slot` holds the entry; a peer device (at address `peer_ip`) also
/// matches the summary its subnet got when the set reached the cap.
fn has(
    idx: &Index,
    seed: &foldhash::fast::RandomState,
    slot: usize,
    k: Kind,
    key: KeyRef<'_>,
    peer_ip: IpAddr,
) -> bool {
    idx.contains_at(seed, slot, k, key)
        || (matches!(key, KeyRef::Device(_))
            && idx.contains_at(seed, slot, k, KeyRef::Net(summary_of(peer_ip))))
}

/// A flow's service entry: its transport and server port (the protocol number when it
/// has no ports).
fn service_of(k: &model::FlowKey) -> (index::Proto, u16) {
    let proto = match k.proto {
        IpProto::TCP => index::Proto::Tcp,
        IpProto::UDP => index::Proto::Udp,
        IpProto::SCTP => index::Proto::Sctp,
        _ => index::Proto::Ip,
    };
    let port = if proto == index::Proto::Ip {
        u16::from(k.proto.0)
    } else {
        k.dst_port
    };
    (proto, port)
}

/// The device of an alert, borrowed ([`AlertEngine::raise_with`]).
fn device_ref(d: &Device) -> DeviceRef<'_> {
    DeviceRef {
        id: &d.id,
        class: &d.classification.class,
        vendor: d.vendor.as_deref(),
    }
}

fn alert_device(d: &Device) -> AlertDevice {
    AlertDevice {
        id: d.id.clone(),
        class: d.classification.class.clone(),
        vendor: d.vendor.clone(),
    }
}

/// Adds an entry while learning, summarising peers at the cap.
///
/// At the cap, peers are summarised into /16s (/48s for IPv6): `net:` entries by their
/// address, `dev:` entries by the address `ip_of` gives for the device (a server that
/// every device talks to keeps its clients as their subnets instead of overflowing);
/// `item_ip` is the address of a `dev:` item.
fn add(
    b: &mut DeviceBaseline,
    kind: &str,
    item: String,
    max: usize,
    item_ip: Option<IpAddr>,
    ip_of: impl Fn(&str) -> Option<IpAddr>,
) -> Added {
    if b.overflowed {
        return Added::Full;
    }
    let set = b.sets.map_mut().entry(kind.to_string()).or_default();
    if set.contains(&item) {
        return Added::Known;
    }
    if set.len() >= max && (kind == "peers" || kind == "external_peers") {
        let summary = |ip: IpAddr| format!("net:{}", summary_of(ip));
        let summarised: ItemSet = set
            .iter()
            .map(|p| match peer_ip(p) {
                Some(ip) if p.starts_with("net:") => summary(ip),
                _ => match p.strip_prefix("dev:").and_then(&ip_of) {
                    Some(ip) => summary(ip),
                    None => p.clone(),
                },
            })
            .collect();
        *set = summarised;
        let ip = peer_ip(&item).or(item_ip.filter(|_| item.starts_with("dev:")));
        if let Some(ip) = ip {
            if set.contains(&summary(ip)) {
                return Added::Known;
            }
        }
    }
    if set.len() >= max {
        b.overflowed = true;
        return Added::Overflow;
    }
    set.insert(item);
    Added::New
}

/// The YAML form of baselines (`wardwatch baseline export`), for review in version control.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlFile {
    baselines: Vec<DeviceBaseline>,
}

/// Baselines as YAML.
pub fn to_yaml(all: &[DeviceBaseline]) -> Result<String, String> {
    serde_yaml_ng::to_string(&YamlFile {
        baselines: all.to_vec(),
    })
    .map_err(|e| e.to_string())
}

/// Baselines from YAML; errors name the file, the line and the problem (unknown fields
/// and kinds are errors).
pub fn from_yaml(file: &str, text: &str) -> Result<Vec<DeviceBaseline>, String> {
    let f: YamlFile = serde_yaml_ng::from_str(text).map_err(|e| match e.location() {
        Some(l) => format!("{file}:{}: {e}", l.line()),
        None => format!("{file}: {e}"),
    })?;
    for b in &f.baselines {
        for k in b.sets.kinds() {
            if !KINDS.iter().any(|x| x.0 == k) {
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with(&format!("{k}:")))
                    .map(|i| format!("{}:", i + 1))
                    .unwrap_or_default();
                return Err(format!(
                    "{file}:{line} device {}: unknown kind `{k}` (known: {})",
                    b.device,
                    KINDS.iter().map(|x| x.0).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    Ok(f.baselines)
}
