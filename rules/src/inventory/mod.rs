//! Device inventory: who is on the clinical network.
//!
//! - [`oui`]: MAC vendor lookup from the IEEE registry (MA-L, MA-M, MA-S, IAB).
//! - Identity fusion ([`Inventory`]): one [`Device`] per MAC, or per IP (`ip:10.1.2.3`)
//!   for a host seen only behind a router (a MAC that fronts more than
//!   `router_ip_threshold` addresses). DHCP leases (`chaddr` + `yiaddr`) and ARP bind an
//!   IP to a MAC authoritatively, so a device keeps its record as its address changes.
//!   Every attribute keeps each value seen with its source, first/last capture time, count
//!   and confidence: conflicting evidence is kept, never overwritten.
//! - Classification ([`catalogue`]): catalogue rules vote for a class; the class with the
//!   most weight wins, with the votes kept as evidence.
//! - Limits: devices (evicting the longest-unseen, counted), IPs per device, values per
//!   attribute, string length; all in [`InventoryConfig`].
//!
//! Capture time drives everything here (first/last seen), so a replay gives the same
//! inventory every time, and a replay split in two with a restart in between gives the
//! same inventory as one run.

pub mod attrs;
pub mod catalogue;
pub mod device;
mod matches;
mod observe;
pub mod oui;
#[cfg(test)]
mod tests;

pub use attrs::{Attr, Attributes};
pub use catalogue::{Catalogue, CatalogueError, MatchSet, CLASSES};
pub use device::{AttrValue, Classification, Device, IpBinding};
pub use oui::{lookup, Block, Vendor};

use attrs::Name;
use model::device::DeviceEvent;
use model::{Event, EventKind, MacAddr, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;

/// `[inventory]` in the configuration file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct InventoryConfig {
    /// Build the device inventory from events.
    pub enabled: bool,
    /// Most devices kept; past it the longest-unseen are evicted (counted).
    pub max_devices: usize,
    /// Most IP addresses kept per device (oldest dropped first).
    pub max_ips_per_device: usize,
    /// Most distinct values kept per attribute of a device (conflicting evidence is kept
    /// up to this many; then the least recently seen value is replaced).
    pub max_values_per_attribute: usize,
    /// Longest stored string, in bytes (longer values are cut at a character boundary).
    pub max_string_len: usize,
    /// A MAC seen as the source of more distinct IP addresses than this (without a DHCP
    /// lease or ARP binding for them) is a router; hosts behind it get `ip:` records.
    pub router_ip_threshold: usize,
    /// A MAC seen as the source of more distinct public IPv4 addresses than this is a
    /// router too (public addresses on a hospital LAN arrive through the gateway).
    pub router_public_ip_threshold: usize,
    /// Also keep `ip:` records for public (non-private) addresses seen behind routers.
    pub track_external: bool,
    /// Minimum catalogue score for a class; below it the device stays `unknown`.
    pub min_class_score: u32,
    /// Wall-clock seconds between checkpoints of changed devices to the state store.
    pub checkpoint_secs: u64,
    /// A directory of extra catalogue files (`*.yaml`), read after the shipped ones.
    pub catalogue_dir: Option<PathBuf>,
    /// Write `device` events when a device appears or a key attribute changes.
    pub device_events: bool,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        InventoryConfig {
            enabled: true,
            max_devices: 50_000,
            max_ips_per_device: 16,
            max_values_per_attribute: 8,
            max_string_len: 160,
            router_ip_threshold: 8,
            router_public_ip_threshold: 2,
            track_external: false,
            min_class_score: 20,
            checkpoint_secs: 5,
            catalogue_dir: None,
            device_events: true,
        }
    }
}

/// The attributes whose change makes a `device` event.
const KEY_ATTRIBUTES: &[Attr] = &[Attr::Hostname, Attr::Model, Attr::Os, Attr::Software];

/// Counters of the inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct InventoryStats {
    pub devices: u64,
    pub evicted: u64,
    pub device_events: u64,
    pub routers: u64,
}

/// A map with a seeded fast hasher (keys come from the network: never unseeded).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// A device's key in the inventory's maps: the MAC as a number, or the address of an
/// `ip:` record. Cheap to hash and copy: no `String` per lookup on the hot path; the text
/// id ([`Key::text`]) is made only for records, events and the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Mac(u64),
    Ip(IpAddr),
}

impl Key {
    /// The key of a MAC address (its six bytes as the low bits of a word).
    pub(crate) fn mac(m: MacAddr) -> Key {
        let b = m.0;
        Key::Mac(u64::from_be_bytes([
            0, 0, b[0], b[1], b[2], b[3], b[4], b[5],
        ]))
    }

    /// The device id: lowercase MAC text, or `ip:<address>`.
    pub(crate) fn text(&self) -> String {
        match self {
            Key::Mac(v) => {
                let b = v.to_be_bytes();
                mac_id(MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]]))
            }
            Key::Ip(ip) => format!("ip:{ip}"),
        }
    }

    /// The key of a device id, only when `id` is exactly the id that key writes (so a
    /// lookup by text finds what it found when devices were keyed by their text).
    pub(crate) fn parse(id: &str) -> Option<Key> {
        if let Some(ip) = id.strip_prefix("ip:") {
            let k = Key::Ip(ip.parse().ok()?);
            return (k.text() == id).then_some(k);
        }
        // `xx:xx:xx:xx:xx:xx` in lowercase hex, checked without allocating.
        let b = id.as_bytes();
        if b.len() != 17 {
            return None;
        }
        let mut v: u64 = 0;
        for (i, &c) in b.iter().enumerate() {
            if i % 3 == 2 {
                if c != b':' {
                    return None;
                }
                continue;
            }
            let n = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => return None,
            };
            v = (v << 4) | u64::from(n);
        }
        Some(Key::Mac(v))
    }
}

/// Orders keys as their text ids order (device events of one event come in id order):
/// fixed-width lowercase hex orders as the number, and every MAC id sorts before `ip:`.
fn cmp_keys(a: &Key, b: &Key) -> std::cmp::Ordering {
    match (a, b) {
        (Key::Mac(x), Key::Mac(y)) => x.cmp(y),
        (Key::Mac(_), Key::Ip(_)) => std::cmp::Ordering::Less,
        (Key::Ip(_), Key::Mac(_)) => std::cmp::Ordering::Greater,
        (Key::Ip(_), Key::Ip(_)) => a.text().cmp(&b.text()),
    }
}

/// Sightings of facts already applied to the records, not yet added to their counts and
/// first/last times.
#[derive(Clone, Copy, Debug, Default)]
struct Pending {
    /// The facts were applied once (their values exist on the records).
    applied: bool,
    n: u64,
    first: i64,
    last: i64,
}

impl Pending {
    /// True when the facts must be applied now (first sight); otherwise the sighting is
    /// counted here.
    fn note(&mut self, t: i64) -> bool {
        if !self.applied {
            self.applied = true;
            return true;
        }
        if self.n == 0 {
            (self.first, self.last) = (t, t);
        } else {
            self.first = self.first.min(t);
            self.last = self.last.max(t);
        }
        self.n += 1;
        false
    }

    /// The counted sightings (emptied): count and first/last time.
    fn take(&mut self) -> Option<(u64, (i64, i64))> {
        let r = (self.n > 0).then_some((self.n, (self.first, self.last)));
        self.n = 0;
        r
    }
}

/// The header facts of one HL7 flow direction: who sends and receives, and the
/// applications and facility they name. A feed repeats them in every message, so they
/// are applied on first sight and afterwards only counted, then added to the records'
/// counts and first/last sightings in one go when the batch is flushed: when the facts
/// change, before a checkpoint takes the records, and before anything that could
/// remove or move the values (eviction, folding an `ip:` record, a router's reset).
/// The records then hold what applying every message would have left.
#[derive(Clone, Debug)]
struct Hl7Batch {
    sender: Option<Key>,
    receiver: Option<Key>,
    sending_application: Option<String>,
    sending_facility: Option<String>,
    receiving_application: Option<String>,
    /// Every message; messages other than ACKs; ORU messages.
    all: Pending,
    sent: Pending,
    oru: Pending,
}

/// What a device looked like when last reported (to detect key changes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Reported {
    class: String,
    modality: Option<String>,
    keys: Vec<Option<String>>,
}

/// The inventory: devices by id, the IP index, and what changed since the last checkpoint.
pub struct Inventory {
    cfg: InventoryConfig,
    catalogue: Catalogue,
    devices: FastMap<Key, Device>,
    by_ip: FastMap<IpAddr, Key>,
    reported: FastMap<Key, Reported>,
    /// Devices changed since the last checkpoint, and devices evicted since.
    dirty: FastSet<Key>,
    removed: FastSet<Key>,
    /// Devices touched by the event being observed (for class and key-change checks).
    touched: Vec<Key>,
    /// Devices whose attributes changed while observing the current event (a few at
    /// most: a list, see [`Inventory::attrs_changed`]): their key facts are compared
    /// with what was reported.
    changed_attrs: Vec<Key>,
    /// Of those, the devices whose class or OS may have changed (to classify again).
    reclassify: Vec<Key>,
    /// Last message fingerprint per flow (see `observe::fingerprint`), bounded.
    memo: FastMap<u64, u64>,
    /// HL7 header facts per flow and direction, applied on first sight and then counted
    /// ([`Hl7Batch`]), bounded like `memo`.
    hl7: FastMap<(u64, u8), Hl7Batch>,
    /// Some HL7 batch holds sightings not yet applied to the records.
    hl7_pending: bool,
    /// Rendered p0f signatures (see `observe::signature`).
    signatures: FastMap<model::p0f::P0fSignature, Option<String>>,
    /// The catalogue patterns each distinct value matches ([`matches::MatchMemo`]).
    matched: matches::MatchMemo,
    /// Reused by [`Inventory::classify`]: the patterns a device's values match.
    match_set: MatchSet,
    pub stats: InventoryStats,
}

/// The text of a MAC as device ids use it.
pub fn mac_id(m: MacAddr) -> String {
    // `text()` is lowercase hex already; no formatting machinery (hot on the writer).
    String::from_utf8_lossy(&m.text()).into_owned()
}

/// Cuts a string at `max` bytes on a character boundary, dropping control characters.
fn cap(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for c in s.chars() {
        if c.is_control() {
            continue;
        }
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// `str::trim`, without decoding characters when both ends are printable ASCII (then
/// there is no whitespace to trim: every whitespace character is either ASCII at most
/// a space, or not ASCII).
fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) if (0x21..0x7f).contains(f) && (0x21..0x7f).contains(l) => s,
        _ => s.trim(),
    }
}

/// True when `s` has no control character (what [`cap`] would drop); ASCII without
/// decoding characters.
fn is_clean(s: &str) -> bool {
    // One pass over the bytes for printable ASCII (most values); characters otherwise.
    s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(char::is_control)
}

/// The order a full value list keeps by: `a` is worse than `b` when its confidence is
/// lower, or equal with a greater text.
fn worse(a: &AttrValue, b: &AttrValue) -> bool {
    (std::cmp::Reverse(a.confidence), a.value.as_str())
        > (std::cmp::Reverse(b.confidence), b.value.as_str())
}

fn ip_is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_private() || v.is_link_local() || v.is_loopback(),
        IpAddr::V6(v) => {
            let s = v.segments()[0];
            (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80 || v.is_loopback()
        }
    }
}

fn ip_usable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => !(v.is_unspecified() || v.is_broadcast() || v.is_multicast()),
        IpAddr::V6(v) => !(v.is_unspecified() || v.is_multicast()),
    }
}

/// The outcomes of noting a value on an existing attribute that leave its list as it is:
/// a value the list holds (its sightings counted), or a newcomer a full list drops
/// (worse than its known worst value; a kept value equal to it is counted). `Some(true)`
/// when a sighting moved (the record needs saving), `None` when the list must change (or
/// its worst value is not known): [`Inventory::add_attr_n`]'s full path decides.
#[allow(clippy::too_many_arguments)]
#[inline]
fn settle_repeat(
    slot: &mut attrs::Slot<'_>,
    trimmed: &str,
    source: &str,
    confidence: u8,
    max_len: usize,
    max_vals: usize,
    n: u64,
    (first, last): (i64, i64),
) -> Option<bool> {
    let vals = &mut *slot.values;
    let full = vals.len() >= max_vals;
    // Most notes repeat a value the list holds: found first, without scanning the
    // text for control characters (stored values are capped and clean, so only such
    // a text can equal one). Full lists go the way below, which finds a kept value
    // while it looks for the worst.
    if !full && trimmed.len() <= max_len {
        return vals
            .iter_mut()
            .find(|v| v.value == trimmed && v.source == source)
            .map(|v| v.seen(n, first, last));
    }
    let clean = trimmed.len() <= max_len && is_clean(trimmed);
    // A full list whose worst value is known (a feed of ever-new values, like device
    // ids relayed by a gateway, meets this again and again): a newcomer worse than it
    // is dropped, unless it is a value already kept. Values with its confidence that
    // are kept are better, so none of them is equal to it: only the others are
    // compared, and a list of one confidence needs no text compare but this one.
    if let (true, true, Some(w)) = (clean, full, *slot.worst) {
        if let Some(wv) = vals.get(w) {
            if (std::cmp::Reverse(confidence), trimmed)
                > (std::cmp::Reverse(wv.confidence), wv.value.as_str())
            {
                let kept = vals.iter_mut().find(|v| {
                    v.confidence != confidence && v.value == trimmed && v.source == source
                });
                return Some(kept.is_some_and(|v| v.seen(n, first, last)));
            }
        }
    }
    None
}

impl Inventory {
    /// A new, empty inventory with the given catalogue.
    pub fn new(cfg: InventoryConfig, catalogue: Catalogue) -> Self {
        Inventory {
            cfg,
            catalogue,
            devices: FastMap::default(),
            by_ip: FastMap::default(),
            reported: FastMap::default(),
            dirty: FastSet::default(),
            removed: FastSet::default(),
            touched: Vec::new(),
            changed_attrs: Vec::new(),
            reclassify: Vec::new(),
            memo: FastMap::default(),
            hl7: FastMap::default(),
            hl7_pending: false,
            signatures: FastMap::default(),
            matched: matches::MatchMemo::default(),
            match_set: MatchSet::default(),
            stats: InventoryStats::default(),
        }
    }

    /// Continues from devices loaded from the state store (a record whose id is not a
    /// lowercase MAC or `ip:<address>`, which no traffic could ever match, is left out).
    pub fn restore(&mut self, devices: Vec<Device>) {
        for d in devices {
            let Some(k) = Key::parse(&d.id) else {
                continue;
            };
            for b in &d.ips {
                self.by_ip.insert(b.ip, k);
            }
            self.reported.insert(k, self.snapshot(&d));
            self.devices.insert(k, d);
        }
        self.stats.devices = self.devices.len() as u64;
    }

    /// The configuration.
    pub fn config(&self) -> &InventoryConfig {
        &self.cfg
    }

    /// The catalogue the inventory classifies with.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The clinical criticality of a class, from the catalogue.
    pub fn criticality_of(&self, class: &str) -> &str {
        self.catalogue.criticality_of(class)
    }

    /// Number of devices.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    /// True when no device is known.
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// A device by id.
    pub fn get(&self, id: &str) -> Option<&Device> {
        self.devices.get(&Key::parse(id)?)
    }

    /// Every device.
    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.devices.values()
    }

    /// The device an IP currently belongs to.
    pub fn device_of_ip(&self, ip: IpAddr) -> Option<&Device> {
        self.devices.get(self.by_ip.get(&ip)?)
    }

    /// The device of a MAC (if it is not a router) or else of the IP.
    pub fn device_of(&self, mac: Option<MacAddr>, ip: Option<IpAddr>) -> Option<&Device> {
        if let Some(m) = mac {
            // Looked up by the MAC as a number: no text, no allocation per event.
            if let Some(d) = self.devices.get(&Key::mac(m)) {
                if !d.router {
                    return Some(d);
                }
            }
        }
        self.device_of_ip(ip?)
    }

    /// [`Inventory::device_of`] with the device's key (baselines look theirs up by it).
    pub(crate) fn device_key_of(
        &self,
        mac: Option<MacAddr>,
        ip: Option<IpAddr>,
    ) -> Option<(Key, &Device)> {
        if let Some(m) = mac {
            let k = Key::mac(m);
            if let Some(d) = self.devices.get(&k) {
                if !d.router {
                    return Some((k, d));
                }
            }
        }
        let k = *self.by_ip.get(&ip?)?;
        Some((k, self.devices.get(&k)?))
    }

    /// Takes what changed since the last call: devices to write, ids to delete.
    pub fn take_changes(&mut self) -> (Vec<Device>, Vec<String>) {
        let (up, del) = self.take_changed();
        (up.into_iter().cloned().collect(), del)
    }

    /// [`Inventory::take_changes`] without copying the records: the changed devices as
    /// they are (in id order), for a checkpoint that only serialises them.
    pub fn take_changed(&mut self) -> (Vec<&Device>, Vec<String>) {
        self.flush_hl7();
        // Derived attributes take the sightings of their evidence as of now (the evidence's
        // first/last sight may have moved since the last classification).
        for id in self.dirty.iter() {
            let Some(d) = self.devices.get_mut(id) else {
                continue;
            };
            sync_sightings(d);
            let mut spans = Vec::new();
            for v in d.attributes.get_attr(Attr::Os).into_iter().flatten() {
                if let Some(r) = self.catalogue.os_rules.iter().find(|r| r.id == v.source) {
                    spans.push((v.source.clone(), evidence_span(d, r)));
                }
            }
            for (source, (f, l)) in spans {
                if let Some(v) = d
                    .attributes
                    .get_attr_mut(Attr::Os)
                    .and_then(|vals| vals.iter_mut().find(|v| v.source == source))
                {
                    v.first_seen_us = f;
                    v.last_seen_us = l;
                }
            }
        }
        let dirty: Vec<Key> = self.dirty.drain().collect();
        let mut up: Vec<&Device> = dirty.iter().filter_map(|id| self.devices.get(id)).collect();
        up.sort_by(|a, b| a.id.cmp(&b.id));
        let mut del: Vec<String> = self.removed.drain().map(|k| k.text()).collect();
        del.sort();
        (up, del)
    }

    /// Puts changes back after a failed checkpoint, so the next one writes them.
    pub fn requeue(&mut self, up: &[Device], del: &[String]) {
        self.requeue_ids(up.iter().map(|d| d.id.as_str()), del);
    }

    /// [`Inventory::requeue`] by the ids of the devices to write.
    pub fn requeue_ids<'a>(&mut self, up: impl IntoIterator<Item = &'a str>, del: &[String]) {
        for id in up {
            if let Some(k) = Key::parse(id).filter(|k| self.devices.contains_key(k)) {
                self.dirty.insert(k);
            }
        }
        for id in del {
            if let Some(k) = Key::parse(id).filter(|k| !self.devices.contains_key(k)) {
                self.removed.insert(k);
            }
        }
    }

    /// True when something changed since the last [`Inventory::take_changes`].
    pub fn has_changes(&self) -> bool {
        !self.dirty.is_empty() || !self.removed.is_empty() || self.hl7_pending
    }

    /// Notes the header facts of one HL7 message of a flow direction: which of them
    /// (every message's, a non-ACK's, an ORU's) must be applied now because they are new
    /// to this batch; the others are counted in it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn hl7_note(
        &mut self,
        flow_id: u64,
        dir: u8,
        sender: Option<Key>,
        receiver: Option<Key>,
        h: &model::hl7::Hl7Event,
        t: i64,
        sent: bool,
        oru: bool,
    ) -> (bool, bool, bool) {
        let k = (flow_id, dir);
        let same = self.hl7.get(&k).is_some_and(|b| {
            b.sender == sender
                && b.receiver == receiver
                && b.sending_application.as_deref() == h.sending_application()
                && b.sending_facility.as_deref() == h.sending_facility()
                && b.receiving_application.as_deref() == h.receiving_application()
        });
        if !same {
            if let Some(mut b) = self.hl7.remove(&k) {
                self.flush_batch(&mut b);
            }
            if self.hl7.len() >= 65_536 {
                self.flush_hl7();
                self.hl7.clear();
            }
            self.hl7.insert(
                k,
                Hl7Batch {
                    sender,
                    receiver,
                    sending_application: h.sending_application().map(str::to_string),
                    sending_facility: h.sending_facility().map(str::to_string),
                    receiving_application: h.receiving_application().map(str::to_string),
                    all: Pending::default(),
                    sent: Pending::default(),
                    oru: Pending::default(),
                },
            );
        }
        let Some(b) = self.hl7.get_mut(&k) else {
            return (true, sent, oru);
        };
        let now = (b.all.note(t), sent && b.sent.note(t), oru && b.oru.note(t));
        if now != (true, sent, oru) {
            self.hl7_pending = true;
        }
        now
    }

    /// Adds one batch's counted sightings to the records.
    fn flush_batch(&mut self, b: &mut Hl7Batch) {
        let (every, sent, oru) = (b.all.take(), b.sent.take(), b.oru.take());
        let f = observe::Hl7Facts {
            sender: b.sender,
            receiver: b.receiver,
            sending_application: b.sending_application.as_deref(),
            sending_facility: b.sending_facility.as_deref(),
            receiving_application: b.receiving_application.as_deref(),
        };
        if let Some((n, span)) = every {
            observe::hl7_every(self, &f, span, n);
        }
        if let Some((n, span)) = sent {
            observe::hl7_sent(self, &f, span, n);
        }
        if let Some((n, span)) = oru {
            observe::hl7_oru(self, &f, span, n);
        }
    }

    /// Adds every batch's counted sightings to the records (the batches stay, applied).
    fn flush_hl7(&mut self) {
        if !self.hl7_pending {
            return;
        }
        let mut batches = std::mem::take(&mut self.hl7);
        for b in batches.values_mut() {
            self.flush_batch(b);
        }
        self.hl7 = batches;
        self.hl7_pending = false;
    }

    /// Observes one event; `device` events it causes are appended to `out`.
    pub fn observe(&mut self, ev: &Event, out: &mut Vec<Event>) {
        if matches!(ev.kind, EventKind::Device(_) | EventKind::Alert(_)) {
            return;
        }
        self.touched.clear();
        self.changed_attrs.clear();
        self.reclassify.clear();
        observe::observe(self, ev);
        self.settle(ev.ts, out);
    }

    /// After one event: classifies the devices whose class may have moved and reports
    /// those that are new or whose key facts changed.
    fn settle(&mut self, ts: Timestamp, out: &mut Vec<Event>) {
        let mut touched = std::mem::take(&mut self.touched);
        for id in &self.changed_attrs {
            if !touched.contains(id) {
                touched.push(*id);
            }
        }
        touched.sort_by(cmp_keys);
        // Reported records are a subset of the devices (both lose a device together):
        // with as many as there are devices, every device has been reported, and the
        // lookup per touched device below is skipped (the usual case: a device is
        // reported by the event that creates it).
        let unreported = self.reported.len() < self.devices.len();
        for id in &touched {
            // Class and key attributes only move when an attribute value is new.
            if self.changed_attrs.contains(id) {
                if self.reclassify.contains(id) {
                    self.classify(id);
                }
                self.report(id, ts, out);
            } else if unreported && !self.reported.contains_key(id) {
                self.report(id, ts, out);
            }
        }
        self.touched = touched;
    }

    /// Notes that a device's attributes changed while observing the current event, and
    /// whether its class may have changed with them.
    fn attrs_changed(&mut self, id: Key, reclassify: bool) {
        if !self.changed_attrs.contains(&id) {
            self.changed_attrs.push(id);
        }
        if reclassify && !self.reclassify.contains(&id) {
            self.reclassify.push(id);
        }
    }

    /// True when this flow's previous message gave the same facts (then it is skipped:
    /// the flow record refreshes the endpoints' sightings).
    fn repeat(&mut self, flow_id: u64, fp: u64) -> bool {
        if self.memo.get(&flow_id) == Some(&fp) {
            return true;
        }
        if self.memo.len() >= 65_536 {
            self.memo.clear();
        }
        self.memo.insert(flow_id, fp);
        false
    }

    /// The device of an endpoint, created if needed: by MAC unless the MAC is a router's
    /// or absent, else by IP (through the IP index, or a new `ip:` record).
    fn endpoint(&mut self, mac: Option<MacAddr>, ip: Option<IpAddr>, ts: Timestamp) -> Option<Key> {
        self.endpoint_since(mac, ip, ts, ts)
    }

    /// [`Inventory::endpoint`] for a sighting that began at `first` (a flow's start): the
    /// device also counts as seen then, in the same lookup on the usual path (what
    /// `endpoint` then [`Inventory::seen`] at `first` would do).
    fn endpoint_since(
        &mut self,
        mac: Option<MacAddr>,
        ip: Option<IpAddr>,
        ts: Timestamp,
        first: Timestamp,
    ) -> Option<Key> {
        let (id, fast) = self.endpoint_at(mac, ip, ts, first.micros())?;
        if !fast && first != ts {
            self.seen(&id, first);
        }
        Some(id)
    }

    /// The body of [`Inventory::endpoint_since`]: the key, and whether the usual path (a
    /// known host, its address bound) took `first` into account.
    fn endpoint_at(
        &mut self,
        mac: Option<MacAddr>,
        ip: Option<IpAddr>,
        ts: Timestamp,
        first: i64,
    ) -> Option<(Key, bool)> {
        let ip = ip.filter(|i| ip_usable(*i));
        if let Some(m) = mac.filter(|m| m.0[0] & 1 == 0 && m.0 != [0; 6]) {
            let id = Key::mac(m);
            // Fast path, one device lookup: a known host (not a router) with this address
            // already bound to it by its traffic. What `bind` and `seen` below would do.
            if let Some(d) = self.devices.get_mut(&id).filter(|d| !d.router) {
                let binding = match ip {
                    None => Some(None),
                    Some(ip) if self.by_ip.get(&ip) == Some(&id) => {
                        d.ips.iter_mut().find(|b| b.ip == ip).map(Some)
                    }
                    Some(_) => None,
                };
                if let Some(b) = binding {
                    let t = ts.micros();
                    let mut changed = false;
                    if let Some(b) = b {
                        if t > b.last_seen_us || t < b.first_seen_us {
                            b.last_seen_us = b.last_seen_us.max(t);
                            b.first_seen_us = b.first_seen_us.min(t);
                            changed = true;
                        }
                    }
                    // (A capture's clock may step back: `first` may be the later.)
                    let (lo, hi) = (first.min(t), first.max(t));
                    if hi > d.last_seen_us || lo < d.first_seen_us {
                        d.last_seen_us = d.last_seen_us.max(hi);
                        d.first_seen_us = d.first_seen_us.min(lo);
                        changed = true;
                    }
                    if changed {
                        self.dirty.insert(id);
                    }
                    if !self.touched.contains(&id) {
                        self.touched.push(id);
                    }
                    return Some((id, true));
                }
            }
            let router = match self.devices.get(&id) {
                Some(d) => d.router,
                None => {
                    self.create_mac_device(m, ts);
                    false
                }
            };
            if !router {
                if let Some(ip) = ip {
                    self.bind(&id, ip, "traffic", ts);
                }
                // The bind may have found the MAC to be a router.
                if !self.devices.get(&id).is_some_and(|d| d.router) {
                    self.seen(&id, ts);
                    return Some((id, false));
                }
            } else {
                self.seen(&id, ts);
            }
        }
        let ip = ip?;
        if let Some(id) = self.by_ip.get(&ip).copied() {
            if self.devices.contains_key(&id) {
                self.seen(&id, ts);
                return Some((id, false));
            }
        }
        if !(ip_is_private(ip) || self.cfg.track_external) {
            return None;
        }
        let id = Key::Ip(ip);
        if !self.devices.contains_key(&id) {
            self.make_room();
            let d = Device {
                id: id.text(),
                ips: vec![IpBinding {
                    ip,
                    source: "traffic".into(),
                    first_seen_us: ts.micros(),
                    last_seen_us: ts.micros(),
                }],
                first_seen_us: ts.micros(),
                last_seen_us: ts.micros(),
                classification: Classification {
                    class: "unknown".into(),
                    ..Classification::default()
                },
                criticality: self.catalogue.criticality_of("unknown").to_string(),
                ..Device::default()
            };
            self.devices.insert(id, d);
            self.by_ip.insert(ip, id);
            self.stats.devices = self.devices.len() as u64;
            self.attrs_changed(id, true);
        }
        self.seen(&id, ts);
        Some((id, false))
    }

    /// The device of a MAC, created if needed (DHCP `chaddr`, ARP sender, L2 frames).
    fn mac_device(&mut self, m: MacAddr, ts: Timestamp) -> Option<Key> {
        if m.0[0] & 1 != 0 || m.0 == [0; 6] {
            return None;
        }
        let id = Key::mac(m);
        if !self.devices.contains_key(&id) {
            self.create_mac_device(m, ts);
        }
        self.seen(&id, ts);
        Some(id)
    }

    fn create_mac_device(&mut self, m: MacAddr, ts: Timestamp) {
        self.make_room();
        let id = mac_id(m);
        let v = oui::lookup(m.0);
        let mut d = Device {
            id: id.clone(),
            mac: Some(id),
            mac_local: matches!(v, Vendor::LocallyAdministered),
            vendor: v.org().map(str::to_string),
            first_seen_us: ts.micros(),
            last_seen_us: ts.micros(),
            classification: Classification {
                class: "unknown".into(),
                ..Classification::default()
            },
            criticality: self.catalogue.criticality_of("unknown").to_string(),
            ..Device::default()
        };
        if let Some(org) = v.org() {
            d.attributes.entry(Attr::Vendor.into()).push(AttrValue {
                value: org.to_string(),
                source: "oui".into(),
                first_seen_us: ts.micros(),
                last_seen_us: ts.micros(),
                count: 1,
                confidence: 90,
            });
        }
        let k = Key::mac(m);
        self.devices.insert(k, d);
        self.stats.devices = self.devices.len() as u64;
        self.attrs_changed(k, true);
    }

    /// Marks a device seen at `ts` and touched by the current event. (The sightings of
    /// the attributes that follow the device's own, like the MAC's vendor, are brought up
    /// to date when the device is written: [`sync_sightings`].)
    fn seen(&mut self, id: &Key, ts: Timestamp) {
        if let Some(d) = self.devices.get_mut(id) {
            let t = ts.micros();
            if t > d.last_seen_us || t < d.first_seen_us {
                d.last_seen_us = d.last_seen_us.max(t);
                d.first_seen_us = d.first_seen_us.min(t);
                self.dirty.insert(*id);
            }
        }
        if !self.touched.contains(id) {
            self.touched.push(*id);
        }
    }

    /// Binds an IP to a device. `dhcp` and `arp` bindings move the IP from whoever had it;
    /// `traffic` bindings count towards the router threshold.
    fn bind(&mut self, id: &Key, ip: IpAddr, source: &str, ts: Timestamp) {
        if !ip_usable(ip) {
            return;
        }
        let t = ts.micros();
        let strong = source != "traffic";
        // Fast path: a known traffic binding of this device.
        if !strong && self.by_ip.get(&ip).is_some_and(|x| x == id) {
            if let Some(b) = self
                .devices
                .get_mut(id)
                .and_then(|d| d.ips.iter_mut().find(|b| b.ip == ip))
            {
                if t > b.last_seen_us || t < b.first_seen_us {
                    b.last_seen_us = b.last_seen_us.max(t);
                    b.first_seen_us = b.first_seen_us.min(t);
                    self.dirty.insert(*id);
                }
                return;
            }
        }
        if let Some(prev) = self.by_ip.get(&ip).copied() {
            let prev_ip_record = matches!(prev, Key::Ip(_));
            if prev != *id && (strong || prev_ip_record) {
                if let Some(p) = self.devices.get_mut(&prev) {
                    p.ips.retain(|b| b.ip != ip);
                    self.dirty.insert(prev);
                }
                if prev_ip_record {
                    // A host first seen behind a router now has a MAC: fold it in.
                    self.fold(&prev, id);
                }
            }
        }
        let max_ips = self.cfg.max_ips_per_device.max(1);
        let threshold = self.cfg.router_ip_threshold.max(1);
        let Some(d) = self.devices.get_mut(id) else {
            return;
        };
        if let Some(b) = d.ips.iter_mut().find(|b| b.ip == ip) {
            b.last_seen_us = b.last_seen_us.max(t);
            b.first_seen_us = b.first_seen_us.min(t);
            // The most authoritative source wins, whatever the arrival order:
            // a DHCP lease, then ARP, then traffic.
            if source_rank(source) > source_rank(&b.source) {
                b.source = source.to_string();
            }
        } else {
            if d.ips.len() >= max_ips {
                // Drop the least recently seen address.
                if let Some(i) = d
                    .ips
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, b)| b.last_seen_us)
                    .map(|(i, _)| i)
                {
                    let old = d.ips.remove(i);
                    if self.by_ip.get(&old.ip) == Some(id) {
                        self.by_ip.remove(&old.ip);
                    }
                }
            }
            d.ips.push(IpBinding {
                ip,
                source: source.to_string(),
                first_seen_us: t,
                last_seen_us: t,
            });
        }
        self.dirty.insert(*id);
        if strong || !self.by_ip.contains_key(&ip) {
            self.by_ip.insert(ip, *id);
        }
        // IPv4 only: an IPv6 host has several addresses (link-local, SLAAC, temporary).
        let (mut traffic_v4, mut public_v4) = (0usize, 0usize);
        for b in d.ips.iter().filter(|b| b.source == "traffic") {
            if let IpAddr::V4(v) = b.ip {
                traffic_v4 += 1;
                if !ip_is_private(IpAddr::V4(v)) {
                    public_v4 += 1;
                }
            }
        }
        let public_threshold = self.cfg.router_public_ip_threshold.max(1);
        if !strong && !d.router && (traffic_v4 > threshold || public_v4 > public_threshold) {
            // Too many addresses behind one MAC: a router. Its traffic-only addresses are
            // hosts behind it, which get their own records from now on. (Counted HL7
            // sightings first: the reset below drops what they would have refreshed.)
            self.flush_hl7();
            let Some(d) = self.devices.get_mut(id) else {
                return;
            };
            d.router = true;
            let gone: Vec<IpAddr> = d
                .ips
                .iter()
                .filter(|b| b.source == "traffic")
                .map(|b| b.ip)
                .collect();
            d.ips.retain(|b| b.source != "traffic");
            for g in gone {
                if self.by_ip.get(&g) == Some(id) {
                    self.by_ip.remove(&g);
                }
            }
            // What was learnt from its traffic belonged to the hosts behind it; keep only
            // what the MAC itself said (vendor, link-layer protocols, its own leases).
            let own = ["oui", "lldp", "lldp_med", "cdp", "dhcp", "dhcp_fqdn", "arp"];
            for vals in d.attributes.values_mut() {
                vals.retain(|v| own.contains(&v.source.as_str()));
            }
            d.attributes.retain(|_, v| !v.is_empty());
            let (f, l) = (d.first_seen_us, d.last_seen_us);
            *d.attributes.entry(Attr::Role.into()) = vec![AttrValue {
                value: "router".into(),
                source: "inventory".into(),
                first_seen_us: f,
                last_seen_us: l,
                count: 1,
                confidence: 80,
            }];
            self.stats.routers += 1;
            self.attrs_changed(*id, true);
        }
    }

    /// Moves what an `ip:` record learned into the MAC device that turned out to own it.
    fn fold(&mut self, from: &Key, into: &Key) {
        self.flush_hl7();
        let Some(f) = self.devices.remove(from) else {
            return;
        };
        self.reported.remove(from);
        self.removed.insert(*from);
        self.dirty.remove(from);
        self.stats.devices = self.devices.len() as u64;
        for (name, vals) in f.attributes.into_entries() {
            for v in vals {
                let ts_last = Timestamp::from_secs_micros(0, v.last_seen_us);
                self.add_attr(
                    into,
                    name.clone(),
                    &v.value,
                    &v.source,
                    v.confidence,
                    ts_last,
                );
            }
        }
        if let Some(d) = self.devices.get_mut(into) {
            d.first_seen_us = d.first_seen_us.min(f.first_seen_us);
        }
    }

    /// Notes a fact about a known device (risk facts, deviations) as an attribute value
    /// with its provenance; nothing when the device is unknown.
    pub fn note(&mut self, id: &str, name: &str, value: &str, source: &str, ts: Timestamp) {
        if let Some(k) = Key::parse(id) {
            self.add_attr(&k, name, value, source, 80, ts);
        }
    }

    /// [`Inventory::note`] on the device [`Inventory::device_of`] finds for an endpoint,
    /// by interned name: no id text made or parsed on the way. False when none is known.
    pub fn note_endpoint(
        &mut self,
        mac: Option<MacAddr>,
        ip: Option<IpAddr>,
        name: Attr,
        value: &str,
        source: &str,
        ts: Timestamp,
    ) -> bool {
        match self.key_of(mac, ip) {
            Some(k) => {
                self.add_attr(&k, name, value, source, 80, ts);
                true
            }
            None => false,
        }
    }

    /// The key of the device [`Inventory::device_of`] finds.
    fn key_of(&self, mac: Option<MacAddr>, ip: Option<IpAddr>) -> Option<Key> {
        if let Some(m) = mac {
            let k = Key::mac(m);
            if self.devices.get(&k).is_some_and(|d| !d.router) {
                return Some(k);
            }
        }
        let k = *self.by_ip.get(&ip?)?;
        self.devices.contains_key(&k).then_some(k)
    }

    /// Sets a device's risk posture; marks it changed only when it differs.
    pub fn set_risk(&mut self, id: &str, p: crate::risk::Posture) {
        let Some(k) = Key::parse(id) else {
            return;
        };
        if let Some(d) = self.devices.get_mut(&k) {
            if d.risk.as_ref() != Some(&p) {
                d.risk = Some(p);
                self.dirty.insert(k);
            }
        }
    }

    /// Adds (or refreshes) one attribute value with its provenance. `name` is an [`Attr`]
    /// on every hot path (no string compares to find the attribute); text is interned.
    fn add_attr(
        &mut self,
        id: &Key,
        name: impl Into<Name>,
        value: &str,
        source: &str,
        confidence: u8,
        ts: Timestamp,
    ) {
        let t = ts.micros();
        self.add_attr_n(id, name.into(), value, source, confidence, (t, t), 1);
    }

    /// [`Inventory::add_attr`] for each of `values` in turn (one attribute, source and
    /// confidence): the device and the attribute are looked up once for every run of
    /// values that leaves the list as it is (see [`settle_repeat`]); a value that changes
    /// it goes through [`Inventory::add_attr_n`]. What one `add_attr` per value leaves.
    /// (An HL7 gateway relays many device ids per message, most of them dropped by a
    /// full list.)
    fn add_attrs<'v>(
        &mut self,
        id: &Key,
        name: Attr,
        values: impl IntoIterator<Item = &'v str>,
        source: &str,
        confidence: u8,
        ts: Timestamp,
    ) {
        let t = ts.micros();
        let max_len = self.cfg.max_string_len;
        let max_vals = self.cfg.max_values_per_attribute.max(1);
        let mut values = values.into_iter();
        loop {
            let mut changed = false;
            let mut slow = None;
            match self
                .devices
                .get_mut(id)
                .map(|d| d.attributes.slot(&Name::Known(name)))
            {
                None => return,
                Some(Err(_)) => slow = values.next(),
                Some(Ok(mut slot)) => {
                    for v in values.by_ref() {
                        let trimmed = trim(v);
                        let r = settle_repeat(
                            &mut slot,
                            trimmed,
                            source,
                            confidence,
                            max_len,
                            max_vals,
                            1,
                            (t, t),
                        );
                        match r {
                            Some(c) => changed |= c,
                            None => {
                                slow = Some(v);
                                break;
                            }
                        }
                    }
                }
            }
            if changed {
                self.dirty.insert(*id);
            }
            let Some(v) = slow else { return };
            self.add_attr_n(id, name.into(), v, source, confidence, (t, t), 1);
        }
    }

    /// [`Inventory::add_attr`] for `n` sightings between `span.0` and `span.1` (capture
    /// microseconds): what `n` calls at those times would leave.
    #[allow(clippy::too_many_arguments)]
    fn add_attr_n(
        &mut self,
        id: &Key,
        name: Name,
        value: &str,
        source: &str,
        confidence: u8,
        span: (i64, i64),
        n: u64,
    ) {
        let trimmed = trim(value);
        let max_len = self.cfg.max_string_len;
        let max_vals = self.cfg.max_values_per_attribute.max(1);
        let (first, last) = span;
        let Some(d) = self.devices.get_mut(id) else {
            return;
        };
        // The interned name, if any: only those can be tested by rules or reported.
        let known = match &name {
            Name::Known(a) => Some(*a),
            Name::Other(_) => None,
        };
        // One search for the attribute, also when the value is new to it.
        let (mut slot, fresh) = match d.attributes.slot(&name) {
            Ok(slot) => (slot, false),
            Err(at) => {
                // (Rare: once per device and attribute.) Nothing is stored for a value
                // that caps to nothing.
                if cap(trimmed, max_len).is_empty() {
                    return;
                }
                (d.attributes.insert_at(at, name), true)
            }
        };
        if !fresh {
            let seen = settle_repeat(
                &mut slot, trimmed, source, confidence, max_len, max_vals, n, span,
            );
            if let Some(changed) = seen {
                if changed {
                    self.dirty.insert(*id);
                }
                return;
            }
        }
        let vals = slot.values;
        let full = vals.len() >= max_vals;
        let clean = trimmed.len() <= max_len && is_clean(trimmed);
        // Stored values are capped and clean, so one equal to `trimmed` is what `cap`
        // would make of it. One pass finds it (no allocation) and, for a full list, the
        // value a newcomer would have to beat.
        let mut found = None;
        let mut worst: Option<usize> = None;
        if clean && !fresh {
            for (i, v) in vals.iter().enumerate() {
                if v.value == trimmed && v.source == source {
                    found = Some(i);
                    break;
                }
                if full {
                    // The last of equals, as `max_by` picks.
                    worst = match worst {
                        Some(w) if worse(&vals[w], v) => Some(w),
                        _ => Some(i),
                    };
                }
            }
        }
        // Not clean (rare): the capped text, looked for again.
        let value: std::borrow::Cow<str> = if clean {
            std::borrow::Cow::Borrowed(trimmed)
        } else {
            let c = cap(trimmed, max_len);
            if c.is_empty() {
                return;
            }
            found = vals.iter().position(|v| v.value == c && v.source == source);
            if found.is_none() && full {
                worst =
                    (0..vals.len()).reduce(|w, i| if worse(&vals[w], &vals[i]) { w } else { i });
            }
            std::borrow::Cow::Owned(c)
        };
        if let Some(i) = found {
            if vals.get_mut(i).is_some_and(|v| v.seen(n, first, last)) {
                self.dirty.insert(*id);
            }
            return;
        }
        // The list changes below (or the newcomer is dropped and `worst` stays right).
        *slot.worst = worst;
        let mut dropped: Option<String> = None;
        if full {
            // Full: keep the best values by a fixed order (confidence, then text), so the
            // kept set does not depend on the order events arrive in. The newcomer is
            // dropped when it is the worst.
            match worst {
                Some(i)
                    if (std::cmp::Reverse(confidence), &*value)
                        < (
                            std::cmp::Reverse(vals[i].confidence),
                            vals[i].value.as_str(),
                        ) =>
                {
                    dropped = Some(vals.remove(i).value);
                    *slot.worst = None;
                }
                _ => return,
            }
        }
        *slot.worst = None;
        // Rules ask whether any value matches a pattern: the class or OS can only move
        // when the value added (or the one it pushed out) matches a pattern on this
        // attribute; otherwise classifying again would give the same result.
        let (cat, memo) = (&self.catalogue, &mut self.matched);
        let reclassify = known.is_some_and(|a| {
            a == Attr::Modality
                || (cat.tests_attr(a)
                    && (memo.any(cat, a, &value)
                        || dropped.as_deref().is_some_and(|v| memo.any(cat, a, v))))
        });
        vals.push(AttrValue {
            value: value.into_owned(),
            source: source.to_string(),
            first_seen_us: first,
            last_seen_us: last,
            count: n,
            confidence,
        });
        self.dirty.insert(*id);
        // Only values some rule tests (or a reported key) can change class or key facts.
        if reclassify || known.is_some_and(|a| KEY_ATTRIBUTES.contains(&a)) {
            self.attrs_changed(*id, reclassify);
        }
    }

    /// Evicts the longest-unseen devices (1% at a time) when the table is full.
    fn make_room(&mut self) {
        let max = self.cfg.max_devices.max(1);
        if self.devices.len() < max {
            return;
        }
        self.flush_hl7();
        let n = (max / 100).max(1);
        // Oldest first, ties by id text (a fixed order, whatever the map's).
        let mut by_age: Vec<(i64, String, Key)> = self
            .devices
            .iter()
            .map(|(k, d)| (d.last_seen_us, d.id.clone(), *k))
            .collect();
        by_age.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        for (_, _, id) in by_age.into_iter().take(n) {
            if let Some(d) = self.devices.remove(&id) {
                for b in &d.ips {
                    if self.by_ip.get(&b.ip) == Some(&id) {
                        self.by_ip.remove(&b.ip);
                    }
                }
                self.reported.remove(&id);
                self.dirty.remove(&id);
                self.touched.retain(|t| *t != id);
                self.removed.insert(id);
                self.stats.evicted += 1;
            }
        }
        self.stats.devices = self.devices.len() as u64;
    }

    /// Recomputes a device's OS, class and modality from its attributes.
    fn classify(&mut self, id: &Key) {
        let (cat, memo, set) = (&self.catalogue, &mut self.matched, &mut self.match_set);
        let Some(d) = self.devices.get(id) else {
            return;
        };
        // The patterns the device's values match, each value's looked up once (no
        // pattern runs for a value seen before, on this device or another).
        set.reset(cat.patterns());
        let present = d.attributes.present();
        for a in Attr::ALL {
            if present & a.bit() != 0 && cat.tests_attr(*a) {
                for v in d.attributes.get_attr(*a).into_iter().flatten() {
                    // An OS this pass derives again is not evidence of itself (a stale one
                    // would make the outcome depend on what was classified before).
                    if *a == Attr::Os && cat.is_os_rule(&v.source) {
                        continue;
                    }
                    set.add(memo.get(cat, *a, &v.value));
                }
            }
        }
        // OS first: class rules may test it.
        // (os rule, first and last sight of the evidence it rests on)
        let mut os: Option<(&catalogue::Rule, &str, i64, i64)> = None;
        // Rules testing an attribute the device has no value for are skipped unseen.
        for r in &cat.os_rules {
            if r.possible(present) && cat.rule_matches(r, set) {
                if let Some(o) = &r.os {
                    let (f, l) = evidence_span(d, r);
                    os = Some((r, o.as_str(), f, l));
                    break;
                }
            }
        }
        let os_val = os.map(|(_, o, ..)| o);
        // Class rules see the OS just derived as one more `os` value.
        if let Some(o) = os_val {
            set.add(memo.get(cat, Attr::Os, o));
        }
        // Votes per class (index in CLASSES), and the rules that voted; no text is
        // allocated unless the outcome differs from the record's.
        let mut scores = [0u32; CLASSES.len()];
        let mut voters: Vec<(usize, &catalogue::Rule)> = Vec::new();
        let present = present | os_val.map_or(0, |_| Attr::Os.bit());
        for r in &cat.rules {
            if let Some(c) = r.class_index() {
                if r.possible(present) && cat.rule_matches(r, set) {
                    scores[c] += r.weight;
                    voters.push((c, r));
                }
            }
        }
        // Highest score first, ties by class name.
        let mut ranked: Vec<(u32, &str)> = CLASSES
            .iter()
            .enumerate()
            .filter(|(i, _)| voters.iter().any(|(c, _)| c == i))
            .map(|(i, c)| (scores[i], *c))
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let (class, conf) = match ranked.first() {
            Some(&(s, c)) if s >= self.cfg.min_class_score => {
                let second = ranked.get(1).map(|x| x.0).unwrap_or(0);
                let margin = (s - second) as f64 / s as f64;
                let strength = (s as f64 / 100.0).min(1.0);
                (c, (100.0 * (0.5 * strength + 0.5 * margin)).round() as u8)
            }
            _ => ("unknown", 0),
        };
        let won = CLASSES.iter().position(|c| *c == class);
        let evidence = || {
            voters
                .iter()
                .filter(move |(c, _)| Some(*c) == won)
                .map(|(_, r)| r.id.as_str())
        };
        let modality = if class == "imaging_modality" {
            d.best_attr(Attr::Modality)
        } else {
            None
        };
        let crit = cat.criticality_of(class);
        let old = &d.classification;
        let same = old.class == class
            && old.confidence == conf
            && old.evidence.iter().map(String::as_str).eq(evidence())
            && old.scores.len() == ranked.len()
            && ranked.iter().all(|(s, c)| old.scores.get(*c) == Some(s))
            && d.modality.as_deref() == modality
            && d.criticality == crit;
        let new = (!same).then(|| {
            (
                Classification {
                    class: class.to_string(),
                    confidence: conf,
                    evidence: evidence().map(str::to_string).collect(),
                    scores: ranked.iter().map(|(s, c)| (c.to_string(), *s)).collect(),
                },
                modality.map(str::to_string),
                crit.to_string(),
            )
        });
        let os_attr = os.map(|(r, o, f, l)| (r.id.as_str(), o, f, l));
        let Some(d) = self.devices.get_mut(id) else {
            return;
        };
        if let Some((c, m, k)) = new {
            d.classification = c;
            d.modality = m;
            d.criticality = k;
            self.dirty.insert(*id);
        }
        // The derived OS is the first os rule the evidence matches now: one derived value at
        // most, the same whatever order the evidence came in (an OS derived from evidence
        // that a stronger rule's evidence later outranked does not stay on the record).
        let mut emptied = false;
        if let Some(vals) = d.attributes.get_attr_mut(Attr::Os) {
            let before = vals.len();
            vals.retain(|x| {
                !cat.is_os_rule(&x.source)
                    || os_attr.is_some_and(|(rule, o, ..)| x.source == rule && x.value == o)
            });
            if vals.len() != before {
                emptied = vals.is_empty();
                self.dirty.insert(*id);
            }
        }
        if emptied && os_attr.is_none() {
            d.attributes
                .retain(|name, v| name != Attr::Os.name() || !v.is_empty());
        }
        if let Some((rule, o, f, l)) = os_attr {
            // Derived: its sightings are those of its evidence, whatever the event order.
            let vals = d.attributes.entry(Attr::Os.into());
            match vals.iter_mut().find(|x| x.value == o && x.source == rule) {
                Some(x) => {
                    if (x.first_seen_us, x.last_seen_us) != (f, l) {
                        x.first_seen_us = f;
                        x.last_seen_us = l;
                        self.dirty.insert(*id);
                    }
                }
                None => {
                    vals.push(AttrValue {
                        value: o.to_string(),
                        source: rule.to_string(),
                        first_seen_us: f,
                        last_seen_us: l,
                        count: 1,
                        confidence: 60,
                    });
                    self.dirty.insert(*id);
                }
            }
        }
    }

    fn snapshot(&self, d: &Device) -> Reported {
        Reported {
            class: d.classification.class.clone(),
            modality: d.modality.clone(),
            keys: KEY_ATTRIBUTES
                .iter()
                .map(|k| d.best_attr(*k).map(str::to_string))
                .collect(),
        }
    }

    /// Emits a `device` event if the device is new or a key attribute changed.
    fn report(&mut self, id: &Key, ts: Timestamp, out: &mut Vec<Event>) {
        let Some(d) = self.devices.get(id) else {
            return;
        };
        let now = self.snapshot(d);
        let prev = self.reported.get(id);
        if prev == Some(&now) {
            return;
        }
        let (change, changed) = match prev {
            None => ("new", Vec::new()),
            Some(p) => {
                let mut c = Vec::new();
                if p.class != now.class {
                    c.push("class");
                }
                if p.modality != now.modality {
                    c.push("modality");
                }
                for (i, k) in KEY_ATTRIBUTES.iter().enumerate() {
                    if p.keys.get(i) != now.keys.get(i) {
                        c.push(k.name());
                    }
                }
                ("changed", c)
            }
        };
        if self.cfg.device_events {
            out.push(Event {
                ts,
                flow: None,
                kind: EventKind::Device(Box::new(device_event(d, change, changed))),
            });
            self.stats.device_events += 1;
        }
        self.reported.insert(*id, now);
    }
}

/// The MAC's vendor (and a router's role) are seen whenever the device is: their sightings
/// are the device's (brought up to date before the record is written).
fn sync_sightings(d: &mut Device) {
    let (f, l) = (d.first_seen_us, d.last_seen_us);
    for (name, source) in [(Attr::Vendor, "oui"), (Attr::Role, "inventory")] {
        if let Some(v) = d.attributes.get_attr_mut(name) {
            for x in v.iter_mut().filter(|x| x.source == source) {
                x.first_seen_us = f;
                x.last_seen_us = l;
            }
        }
    }
}

/// How authoritative an IP binding's source is.
fn source_rank(s: &str) -> u8 {
    match s {
        "dhcp" => 3,
        "arp" => 2,
        "traffic" => 1,
        _ => 0,
    }
}

/// First and last sight of the attributes a rule tests, on a device.
fn evidence_span(d: &Device, r: &catalogue::Rule) -> (i64, i64) {
    let (mut f, mut l) = (i64::MAX, i64::MIN);
    for name in r.field_attrs() {
        for v in d.attributes.get_attr(name).into_iter().flatten() {
            f = f.min(v.first_seen_us);
            l = l.max(v.last_seen_us);
        }
    }
    (f, l)
}

/// The EVE `device` payload of a record.
pub fn device_event(d: &Device, change: &'static str, changed: Vec<&'static str>) -> DeviceEvent {
    let class = CLASSES
        .iter()
        .find(|c| **c == d.classification.class)
        .copied()
        .unwrap_or("unknown");
    let criticality = match d.criticality.as_str() {
        "high" => "high",
        "low" => "low",
        _ => "medium",
    };
    DeviceEvent {
        change,
        changed,
        id: d.id.clone(),
        mac: d.mac.clone(),
        ips: d.ip_list(),
        vendor: d.vendor.clone(),
        model: d.best_attr(Attr::Model).map(str::to_string),
        hostname: d.best_attr(Attr::Hostname).map(str::to_string),
        os: d.best_attr(Attr::Os).map(str::to_string),
        software: d.best_attr(Attr::Software).map(str::to_string),
        class,
        modality: d.modality.clone(),
        class_confidence: d.classification.confidence,
        criticality,
        mac_local: d.mac_local,
        first_seen: Timestamp::from_secs_micros(0, d.first_seen_us),
        last_seen: Timestamp::from_secs_micros(0, d.last_seen_us),
    }
}
