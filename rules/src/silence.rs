//! Silence and sensor-health alerts.
//!
//! - **Device silence**: a device with a silence window (its own, under `[silence.devices]`;
//!   else its class's, under `[silence.classes]`; else `high_criticality_secs` when its
//!   criticality is `high`) that was seen at least once in this run and then says nothing
//!   for longer than the window raises one `silence.device_quiet` alert; when it talks
//!   again, one `silence.device_back` (informational). It never re-alerts while still quiet.
//!   Capture time drives it: "now" is the latest activity time in the event stream (a flow
//!   record's last packet, any other event's time), and the tracked devices are swept once
//!   per second of capture time, so a replay gives the same alerts every time.
//! - **Sensor health**: the capture source reports when the monitored interface goes silent
//!   for longer than `sensor_secs` (a span port that stopped mirroring) and when packets
//!   come back ([`SensorSignal`]); they become `sensor.capture_silent` and
//!   `sensor.capture_resumed` alerts about the sensor itself (device id `sensor:<iface>`).
//!
//! Every alert goes through the [`AlertEngine`] (dedup, rate limit, counts).
//!
//! What a device "saying something" means: it is the source of an event's flow, or the
//! responder of a flow record that saw packets back, or either side of an application
//! event on TCP. A flow record reaches this stage when the flow ends, so a device whose
//! only traffic is one long connection with no application events is seen only when the
//! flow is written: keep `flow.active_timeout` below the shortest window (a warning at
//! start says so).
//!
//! Bounds: at most `max_devices` devices are tracked (the rest are counted, not tracked);
//! a sweep walks only the tracked devices.

use crate::alert::{AlertEngine, Hit, RuleMeta};
use crate::inventory::{Device, Inventory, CLASSES};
use model::alert::AlertDevice;
use model::{Event, EventKind, IpProto, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// `[silence]` in the configuration file.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SilenceConfig {
    /// Silence window in seconds per device class (`infusion_pump = 900`): a device of the
    /// class that says nothing for longer raises `silence.device_quiet`. 0 turns a class off
    /// (also when `high_criticality_secs` would cover it).
    pub classes: BTreeMap<String, u64>,
    /// Silence window in seconds per device id (lowercase MAC, or `ip:ADDRESS`): the devices
    /// marked critical. Takes precedence over the class; 0 turns the device off.
    pub devices: BTreeMap<String, u64>,
    /// Silence window in seconds for every device whose criticality is `high` and that has
    /// no window of its own or of its class. 0: off.
    pub high_criticality_secs: u64,
    /// Most devices tracked for silence at once (past it, devices are counted, not tracked).
    pub max_devices: usize,
    /// `sensor.capture_silent` when the monitored interface delivers no packet for this many
    /// seconds (wall clock on live capture, the gap between consecutive packets' capture
    /// times on replay), and `sensor.capture_resumed` when packets come back. 0: off.
    pub sensor_secs: u64,
}

impl Default for SilenceConfig {
    fn default() -> Self {
        SilenceConfig {
            classes: BTreeMap::new(),
            devices: BTreeMap::new(),
            high_criticality_secs: 0,
            max_devices: 10_000,
            sensor_secs: 300,
        }
    }
}

impl SilenceConfig {
    /// Any device has a window (device silence is on).
    pub fn devices_on(&self) -> bool {
        self.high_criticality_secs > 0
            || self.classes.values().any(|w| *w > 0)
            || self.devices.values().any(|w| *w > 0)
    }

    /// The shortest device window configured (0 when none).
    pub fn shortest_window(&self) -> u64 {
        self.classes
            .values()
            .chain(self.devices.values())
            .chain(std::iter::once(&self.high_criticality_secs))
            .copied()
            .filter(|w| *w > 0)
            .min()
            .unwrap_or(0)
    }

    /// Checks the class names (a typo must not silently disable a window).
    pub fn validate(&self) -> Result<(), String> {
        for c in self.classes.keys() {
            if !CLASSES.contains(&c.as_str()) {
                return Err(format!(
                    "silence.classes: unknown class `{c}` (known: {})",
                    CLASSES.join(", ")
                ));
            }
        }
        for d in self.devices.keys() {
            if d.is_empty() || d.len() > 64 {
                return Err(format!("silence.devices: bad device id `{d}`"));
            }
        }
        Ok(())
    }
}

/// What the capture source says about the monitored interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SensorSignal {
    /// No packet since `last_packet` for longer than the window; `at` is when that became
    /// true (capture time on replay, wall clock on live capture).
    Silent {
        iface: String,
        last_packet: Timestamp,
        at: Timestamp,
    },
    /// Packets again at `at`, after none since `last_packet`.
    Resumed {
        iface: String,
        last_packet: Timestamp,
        at: Timestamp,
    },
}

/// (rule id, signature id, severity, signature, MITRE ATT&CK for ICS technique).
pub const DEVICE_QUIET: (&str, u32, u8, &str, Option<&str>) = (
    "silence.device_quiet",
    9_300_001,
    2,
    "Device silent for longer than its silence window",
    Some("T0826"),
);
pub const DEVICE_BACK: (&str, u32, u8, &str, Option<&str>) = (
    "silence.device_back",
    9_300_002,
    4,
    "Silent device talks again",
    None,
);
pub const SENSOR_SILENT: (&str, u32, u8, &str, Option<&str>) = (
    "sensor.capture_silent",
    9_300_101,
    2,
    "Monitored interface delivered no packets for longer than the sensor window",
    None,
);
pub const SENSOR_RESUMED: (&str, u32, u8, &str, Option<&str>) = (
    "sensor.capture_resumed",
    9_300_102,
    4,
    "Monitored interface delivers packets again",
    None,
);

fn meta(r: (&str, u32, u8, &str, Option<&str>), category: &str) -> Arc<RuleMeta> {
    Arc::new(RuleMeta {
        id: r.0.into(),
        signature_id: r.1,
        rev: 1,
        signature: r.3.into(),
        category: category.into(),
        severity: r.2,
        reference: r.4.map(str::to_string),
    })
}

/// Counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SilenceStats {
    /// Devices that went quiet, came back.
    pub quiet: u64,
    pub back: u64,
    /// Devices not tracked because `max_devices` was reached.
    pub untracked: u64,
    /// Sensor silences and resumptions.
    pub sensor_silent: u64,
    pub sensor_resumed: u64,
}

/// One tracked device.
struct Track {
    class: String,
    vendor: Option<String>,
    window_us: i64,
    /// Activity applied so far (up to the last sweep's time); `i64::MIN`: none yet.
    last_us: i64,
    quiet: bool,
    /// Activity observed but not yet applied (later than the last sweep's time, or
    /// arrived since): applied in time order by the next sweep.
    pending: Vec<i64>,
}

/// Pending activity times kept per device before they are compressed.
const MAX_PENDING: usize = 64;

impl Track {
    /// Keeps only the pending times that bound a gap longer than the window (the others
    /// cannot change an alert); if that is still too many, the oldest go (their gaps are
    /// then judged from the next kept time).
    fn compress(&mut self) {
        self.pending.sort_unstable();
        self.pending.dedup();
        let w = self.window_us;
        let mut keep: Vec<i64> = Vec::with_capacity(self.pending.len());
        for &t in &self.pending {
            // The last kept time is redundant when its predecessor is within the window of
            // this one: no gap longer than the window goes through it.
            while keep.len() >= 2
                && keep
                    .get(keep.len() - 2)
                    .is_some_and(|a| t.saturating_sub(*a) <= w)
            {
                keep.pop();
            }
            keep.push(t);
        }
        if keep.len() > MAX_PENDING {
            let cut = keep.len() - MAX_PENDING / 2;
            keep.drain(..cut);
        }
        self.pending = keep;
    }
}

/// The silence tracker; lives on the analysis thread next to the alert engine.
pub struct Silence {
    cfg: SilenceConfig,
    devices: HashMap<String, u64, foldhash::fast::RandomState>,
    tracked: HashMap<String, Track, foldhash::fast::RandomState>,
    now_us: i64,
    devices_on: bool,
    last_sweep_s: i64,
    warned_full: bool,
    quiet_rule: Arc<RuleMeta>,
    back_rule: Arc<RuleMeta>,
    sensor_silent_rule: Arc<RuleMeta>,
    sensor_resumed_rule: Arc<RuleMeta>,
    pub stats: SilenceStats,
}

fn secs_us(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1_000_000)).unwrap_or(i64::MAX)
}

fn eve_time(us: i64) -> String {
    String::from_utf8_lossy(&Timestamp::from_secs_micros(0, us).eve_bytes()).into_owned()
}

impl Silence {
    pub fn new(cfg: SilenceConfig) -> Self {
        Silence {
            devices: cfg
                .devices
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), *v))
                .collect(),
            devices_on: cfg.devices_on(),
            cfg,
            tracked: HashMap::default(),
            now_us: i64::MIN,
            last_sweep_s: i64::MIN,
            warned_full: false,
            quiet_rule: meta(DEVICE_QUIET, "Device Availability"),
            back_rule: meta(DEVICE_BACK, "Device Availability"),
            sensor_silent_rule: meta(SENSOR_SILENT, "Sensor Health"),
            sensor_resumed_rule: meta(SENSOR_RESUMED, "Sensor Health"),
            stats: SilenceStats::default(),
        }
    }

    /// The window of a device in seconds (0: none).
    fn window_of(&self, d: &Device) -> u64 {
        if let Some(w) = self.devices.get(d.id.as_str()) {
            return *w;
        }
        if let Some(w) = self.cfg.classes.get(d.classification.class.as_str()) {
            return *w;
        }
        if d.criticality == "high" {
            return self.cfg.high_criticality_secs;
        }
        0
    }

    /// Devices tracked now.
    pub fn tracked(&self) -> usize {
        self.tracked.len()
    }

    /// Observes one event: the devices that spoke are marked active at its time (applied
    /// by the next [`Self::sweep`] that reaches it).
    pub fn observe(&mut self, e: &Event, inv: &Inventory) {
        // A flow record stands for activity at its first and its last packet.
        let (from, t, both) = match &e.kind {
            // Derived events are not activity.
            EventKind::Alert(_) | EventKind::Device(_) => return,
            EventKind::Flow(r) => (r.start.micros(), r.end.micros(), r.pkts_toclient > 0),
            _ => (
                e.ts.micros(),
                e.ts.micros(),
                e.flow.as_ref().is_some_and(|f| f.key.proto == IpProto::TCP),
            ),
        };
        self.now_us = self.now_us.max(t);
        if !self.devices_on {
            return;
        }
        let Some(f) = e.flow.as_deref() else {
            return;
        };
        let src = inv.device_of(f.src_mac, Some(f.key.src_ip));
        let dst = both
            .then(|| inv.device_of(f.dest_mac, Some(f.key.dst_ip)))
            .flatten();
        for d in [src, dst].into_iter().flatten() {
            if from < t {
                self.active(d, from);
            }
            self.active(d, t);
        }
    }

    fn active(&mut self, d: &Device, t: i64) {
        let window = self.window_of(d);
        if window == 0 {
            if !self.tracked.is_empty() {
                self.tracked.remove(d.id.as_str());
            }
            return;
        }
        if let Some(tr) = self.tracked.get_mut(d.id.as_str()) {
            tr.window_us = secs_us(window);
            if tr.class != d.classification.class {
                tr.class.clone_from(&d.classification.class);
            }
            if t > tr.last_us && tr.pending.last() != Some(&t) {
                tr.pending.push(t);
                if tr.pending.len() > MAX_PENDING {
                    tr.compress();
                }
            }
            return;
        }
        if self.tracked.len() >= self.cfg.max_devices {
            self.stats.untracked += 1;
            if !self.warned_full {
                self.warned_full = true;
                tracing::warn!(
                    max_devices = self.cfg.max_devices,
                    "Silence tracking is full; further devices are not watched (counted)."
                );
            }
            return;
        }
        self.tracked.insert(
            d.id.clone(),
            Track {
                class: d.classification.class.clone(),
                vendor: d.vendor.clone(),
                window_us: secs_us(window),
                last_us: i64::MIN,
                quiet: false,
                pending: vec![t],
            },
        );
    }

    /// Sweeps the tracked devices at capture time `now` (`None`: the latest activity seen),
    /// at most once per second. `now` must be a time before which every event has been
    /// observed (the pipeline's worker watermark): activity up to it is applied in time
    /// order, so a gap longer than a device's window raises `silence.device_quiet` (dated
    /// when the window ran out) and the activity after it `silence.device_back`, whatever
    /// order the workers' events arrived in; a device silent at `now` past its window
    /// raises its quiet alert now, once.
    pub fn sweep(
        &mut self,
        now: Option<Timestamp>,
        alerts: &mut AlertEngine,
        out: &mut Vec<Event>,
    ) {
        let now = now.map_or(self.now_us, |t| t.micros());
        if now == i64::MIN || self.tracked.is_empty() {
            return;
        }
        let sec = now.div_euclid(1_000_000);
        if sec <= self.last_sweep_s {
            return;
        }
        self.last_sweep_s = sec;
        // (time, quiet?, device, last seen before, window) of every alert, raised in order.
        let mut hits: Vec<(i64, bool, &String, &Track, i64)> = Vec::new();
        let mut changes: Vec<(i64, bool, String, i64)> = Vec::new();
        for (id, tr) in self.tracked.iter_mut() {
            if !tr.pending.is_empty() {
                tr.pending.sort_unstable();
                let upto = tr.pending.partition_point(|t| *t <= now);
                for t in tr.pending.drain(..upto) {
                    if tr.last_us == i64::MIN || t <= tr.last_us {
                        tr.last_us = tr.last_us.max(t);
                        continue;
                    }
                    let gap_over = t.saturating_sub(tr.last_us) > tr.window_us;
                    if gap_over && !tr.quiet {
                        changes.push((
                            tr.last_us.saturating_add(tr.window_us),
                            true,
                            id.clone(),
                            tr.last_us,
                        ));
                    }
                    if gap_over || tr.quiet {
                        changes.push((t, false, id.clone(), tr.last_us));
                    }
                    tr.quiet = false;
                    tr.last_us = t;
                }
            }
            if tr.last_us != i64::MIN && !tr.quiet && now.saturating_sub(tr.last_us) > tr.window_us
            {
                tr.quiet = true;
                changes.push((
                    tr.last_us.saturating_add(tr.window_us),
                    true,
                    id.clone(),
                    tr.last_us,
                ));
            }
        }
        // Deterministic order whatever the hasher's seed.
        changes.sort();
        for (t, quiet, id, before) in &changes {
            if let Some(tr) = self.tracked.get(id) {
                hits.push((*t, *quiet, id, tr, *before));
            }
        }
        for (t, quiet, id, tr, before) in hits {
            let window_s = (tr.window_us / 1_000_000).to_string();
            let mut evidence = vec![("last_seen", eve_time(before)), ("window_secs", window_s)];
            if quiet {
                self.stats.quiet += 1;
            } else {
                self.stats.back += 1;
                evidence.push(("quiet_secs", ((t - before) / 1_000_000).to_string()));
            }
            alerts.raise(
                Hit {
                    ts: Timestamp::from_secs_micros(0, t),
                    flow: None,
                    rule: if quiet {
                        &self.quiet_rule
                    } else {
                        &self.back_rule
                    },
                    device: Some(AlertDevice {
                        id: id.clone(),
                        class: tr.class.clone(),
                        vendor: tr.vendor.clone(),
                    }),
                    evidence,
                },
                out,
            );
        }
    }

    /// A signal from the capture source about the monitored interface.
    pub fn sensor(&mut self, s: &SensorSignal, alerts: &mut AlertEngine, out: &mut Vec<Event>) {
        let (rule, iface, last, at) = match s {
            SensorSignal::Silent {
                iface,
                last_packet,
                at,
            } => {
                self.stats.sensor_silent += 1;
                (&self.sensor_silent_rule, iface, last_packet, at)
            }
            SensorSignal::Resumed {
                iface,
                last_packet,
                at,
            } => {
                self.stats.sensor_resumed += 1;
                (&self.sensor_resumed_rule, iface, last_packet, at)
            }
        };
        let mut evidence = vec![
            ("interface", iface.clone()),
            ("last_packet", eve_time(last.micros())),
            ("window_secs", self.cfg.sensor_secs.to_string()),
        ];
        if matches!(s, SensorSignal::Resumed { .. }) {
            evidence.push((
                "silent_secs",
                (at.micros().saturating_sub(last.micros()) / 1_000_000).to_string(),
            ));
        }
        alerts.raise(
            Hit {
                ts: *at,
                flow: None,
                rule,
                device: Some(AlertDevice {
                    id: format!("sensor:{iface}"),
                    class: "sensor".into(),
                    vendor: None,
                }),
                evidence,
            },
            out,
        );
    }
}

/// Detects silence of the monitored interface from packet times: the gap between two
/// consecutive packets' capture times (replay), or the wall clock since the last packet
/// (live capture). One `Silent` per silence, one `Resumed` when packets come back.
#[derive(Clone, Debug)]
pub struct SensorWatch {
    iface: String,
    window_us: i64,
    last_us: Option<i64>,
    silent: bool,
}

impl SensorWatch {
    /// `None` when `sensor_secs` is 0.
    pub fn new(iface: &str, sensor_secs: u64) -> Option<Self> {
        (sensor_secs > 0).then(|| SensorWatch {
            iface: iface.to_string(),
            window_us: secs_us(sensor_secs),
            last_us: None,
            silent: false,
        })
    }

    /// Packets at `ts` (replay: capture time; live: the wall clock when read). After a gap
    /// longer than the window (or a silence already reported by [`Self::idle`]) the signals
    /// say so.
    #[inline]
    pub fn packet(&mut self, ts: Timestamp, out: &mut Vec<SensorSignal>) {
        let now = ts.micros();
        match self.last_us {
            // Every packet of a replay comes here: the common case (within the window of
            // the last one, no silence reported) stays inline and only moves the clock.
            Some(last) if !self.silent && now.saturating_sub(last) <= self.window_us => {
                if now > last {
                    self.last_us = Some(now);
                }
            }
            _ => self.packet_slow(ts, out),
        }
    }

    #[cold]
    fn packet_slow(&mut self, ts: Timestamp, out: &mut Vec<SensorSignal>) {
        let now = ts.micros();
        if let Some(last) = self.last_us {
            if now.saturating_sub(last) > self.window_us && !self.silent {
                out.push(SensorSignal::Silent {
                    iface: self.iface.clone(),
                    last_packet: Timestamp::from_secs_micros(0, last),
                    at: Timestamp::from_secs_micros(0, last.saturating_add(self.window_us)),
                });
                self.silent = true;
            }
            if self.silent {
                out.push(SensorSignal::Resumed {
                    iface: self.iface.clone(),
                    last_packet: Timestamp::from_secs_micros(0, last),
                    at: ts,
                });
                self.silent = false;
            }
        }
        self.last_us = Some(self.last_us.map_or(now, |l| l.max(now)));
    }

    /// No packet up to `now` (live capture, wall clock): `Silent` once the window passes.
    /// Before the first packet, the silence counts from `start` (when capture began).
    pub fn idle(&mut self, now: Timestamp, start: Timestamp, out: &mut Vec<SensorSignal>) {
        if self.silent {
            return;
        }
        let last = self.last_us.unwrap_or(start.micros());
        if now.micros().saturating_sub(last) > self.window_us {
            out.push(SensorSignal::Silent {
                iface: self.iface.clone(),
                last_packet: Timestamp::from_secs_micros(0, last),
                at: now,
            });
            self.silent = true;
            self.last_us = Some(last);
        }
    }

    /// Silent now (reported and not resumed).
    pub fn is_silent(&self) -> bool {
        self.silent
    }
}

#[cfg(test)]
mod tests;
