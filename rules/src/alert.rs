//! The alert engine: turns rule hits into `alert` events, deduplicated and rate-limited.
//!
//! - **Dedup**: the first hit of a rule on a device is written at once (`count: 1`); later
//!   hits of the same rule on the same device within `dedup_window_secs` of capture time
//!   are folded. When the window closes (a later hit, the sweep as capture time advances,
//!   or the end of the run) one follow-up alert is written with `count` = the folded
//!   repeats, carrying the last repeat's flow and evidence. Nothing is lost silently.
//! - **Rate limit**: a global token bucket in capture time (`max_per_minute`, burst of the
//!   same size). Alerts past it are dropped and counted (`wardwatch_alerts_dropped_total`),
//!   and a warning is logged once per burst of drops.
//! - **Bounds**: at most `max_tracked` (device, rule) windows; when full, expired windows
//!   are swept, and if none expired the hit is written without dedup (counted as
//!   `untracked`; the rate limit still holds).
//!
//! Capture time drives everything, so a replay gives the same alerts every time.

use model::alert::{AlertDevice, AlertEvent, AlertMetadata, ACTION_ALLOWED, GID};
use model::{Event, EventKind, FlowMeta, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `[alerts]` in the configuration file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    /// Evaluate policy rules and write `alert` events.
    pub enabled: bool,
    /// Seconds of capture time during which repeats of a rule on the same device are
    /// folded into one follow-up alert with a `count`.
    pub dedup_window_secs: u64,
    /// Alerts written per minute of capture time over all rules (a burst of this many is
    /// allowed); past it alerts are dropped and counted.
    pub max_per_minute: u32,
    /// Most (device, rule) dedup windows tracked at once.
    pub max_tracked: usize,
    /// Most evidence facts kept per alert, and longest evidence value in bytes.
    pub max_evidence_facts: usize,
    pub max_evidence_len: usize,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            enabled: true,
            dedup_window_secs: 300,
            max_per_minute: 600,
            max_tracked: 100_000,
            max_evidence_facts: 16,
            max_evidence_len: 256,
        }
    }
}

/// What an alert says about its rule; shared by every alert of the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleMeta {
    /// `policy.clinical_no_internet`, `baseline.new_peer`.
    pub id: String,
    pub signature_id: u32,
    pub rev: u32,
    pub signature: String,
    pub category: String,
    /// 1 high .. 4 informational.
    pub severity: u8,
    /// MITRE ATT&CK (for ICS) technique id.
    pub reference: Option<String>,
}

/// One rule hit, before dedup and rate limiting.
pub struct Hit<'a> {
    pub ts: Timestamp,
    pub flow: Option<&'a FlowMeta>,
    pub rule: &'a Arc<RuleMeta>,
    pub device: Option<AlertDevice>,
    pub evidence: Vec<(&'static str, String)>,
}

/// Counters of the engine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AlertStats {
    /// Alerts written, by (rule id, severity).
    pub written: BTreeMap<(String, u8), u64>,
    /// Hits folded into a window (reported later as a follow-up's `count`).
    pub folded: u64,
    /// Alerts dropped by the rate limit.
    pub dropped: u64,
    /// Hits written without dedup because the window table was full.
    pub untracked: u64,
}

/// A dedup window of one (device, rule).
struct Window {
    start_us: i64,
    /// Repeats folded since the window's alert, and the last one (for the follow-up).
    repeats: u64,
    last: Option<Box<Event>>,
}

/// The engine; owned by the writer thread.
pub struct AlertEngine {
    cfg: AlertConfig,
    windows: hashbrown::HashMap<(String, u32), Window, foldhash::fast::RandomState>,
    tokens: f64,
    refilled_us: Option<i64>,
    last_sweep_us: i64,
    /// True while dropping (the warning is logged once per burst of drops).
    dropping: bool,
    pub stats: AlertStats,
}

impl AlertEngine {
    pub fn new(cfg: AlertConfig) -> Self {
        AlertEngine {
            tokens: f64::from(cfg.max_per_minute),
            cfg,
            windows: hashbrown::HashMap::default(),
            refilled_us: None,
            last_sweep_us: i64::MIN,
            dropping: false,
            stats: AlertStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AlertConfig {
        &self.cfg
    }

    fn window_us(&self) -> i64 {
        i64::try_from(self.cfg.dedup_window_secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX)
    }

    /// Takes one hit: written now, folded into its window, or dropped by the rate limit.
    pub fn raise(&mut self, h: Hit<'_>, out: &mut Vec<Event>) {
        self.take(h, out);
    }

    /// [`Self::raise`] with the device borrowed and the evidence written by `fill` into
    /// reused strings: a repeat folded into its window (most hits of a busy rule) copies
    /// them into the window's last alert in place, allocating nothing; the alert written
    /// is the one [`Self::raise`] writes for the same facts.
    pub fn raise_with<F: FnOnce(&mut Evidence<'_>)>(
        &mut self,
        hit: LazyHit<'_>,
        fill: F,
        out: &mut Vec<Event>,
    ) {
        self.take(Lazy { hit, fill }, out);
    }

    /// Takes one hit: written now, folded into its window, or dropped by the rate limit.
    fn take<H: Body>(&mut self, h: H, out: &mut Vec<Event>) {
        let now = h.ts().micros();
        self.sweep(now, out);
        let win = self.window_us();
        let sid = h.rule().signature_id;
        let id = h.device_id();
        let wk = WindowKey(id, sid);
        if let Some(w) = self.windows.get_mut(&wk) {
            if now.saturating_sub(w.start_us) < win {
                w.repeats = w.repeats.saturating_add(1);
                self.stats.folded += 1;
                match &mut w.last {
                    Some(ev) => h.refill(&self.cfg, ev),
                    None => w.last = Some(Box::new(h.event(&self.cfg, 0))),
                }
                return;
            }
            // The window closed: its follow-up first, then this hit opens a new one.
            if let Some(w) = self.windows.remove(&wk) {
                self.follow_up(w, out);
            }
        }
        let key = (id.to_string(), sid);
        if self.windows.len() >= self.cfg.max_tracked.max(1) {
            self.sweep_all(now, out);
        }
        let ev = h.event(&self.cfg, 1);
        if self.windows.len() < self.cfg.max_tracked.max(1) {
            self.windows.insert(
                key,
                Window {
                    start_us: now,
                    repeats: 0,
                    last: None,
                },
            );
        } else {
            self.stats.untracked += 1;
        }
        self.emit(ev, out);
    }

    /// Writes the follow-up of a closed window (if it folded anything).
    fn follow_up(&mut self, w: Window, out: &mut Vec<Event>) {
        if w.repeats == 0 {
            return;
        }
        if let Some(mut ev) = w.last {
            if let EventKind::Alert(a) = &mut ev.kind {
                a.count = w.repeats;
            }
            self.emit(*ev, out);
        }
    }

    /// Passes the rate limit (capture time) and writes, or drops and counts.
    fn emit(&mut self, ev: Event, out: &mut Vec<Event>) {
        let now = ev.ts.micros();
        let rate = f64::from(self.cfg.max_per_minute);
        match self.refilled_us {
            Some(t) if now > t => {
                let add = (now - t) as f64 * rate / 60e6;
                self.tokens = (self.tokens + add).min(rate);
                self.refilled_us = Some(now);
            }
            None => self.refilled_us = Some(now),
            _ => {}
        }
        let EventKind::Alert(a) = &ev.kind else {
            return;
        };
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.dropping = false;
            *self
                .stats
                .written
                .entry((a.rule.clone(), a.severity))
                .or_insert(0) += 1;
            out.push(ev);
        } else {
            if !self.dropping {
                tracing::warn!(
                    max_per_minute = self.cfg.max_per_minute,
                    rule = %a.rule,
                    "Alert rate limit reached; dropping alerts (counted)."
                );
                self.dropping = true;
            }
            self.stats.dropped += 1;
        }
    }

    /// Closes expired windows, at most once per second of capture time.
    fn sweep(&mut self, now_us: i64, out: &mut Vec<Event>) {
        if now_us.saturating_sub(self.last_sweep_us) < 1_000_000 {
            return;
        }
        self.sweep_all(now_us, out);
    }

    fn sweep_all(&mut self, now_us: i64, out: &mut Vec<Event>) {
        self.last_sweep_us = now_us;
        let win = self.window_us();
        let mut expired: Vec<(String, u32)> = self
            .windows
            .iter()
            .filter(|(_, w)| now_us.saturating_sub(w.start_us) >= win)
            .map(|(k, _)| k.clone())
            .collect();
        // Deterministic order whatever the hasher's seed.
        expired.sort();
        for k in expired {
            if let Some(w) = self.windows.remove(&k) {
                self.follow_up(w, out);
            }
        }
    }

    /// Advances capture time without a hit (closes expired windows).
    pub fn tick(&mut self, now: Timestamp, out: &mut Vec<Event>) {
        self.sweep(now.micros(), out);
    }

    /// The end of the run: every window's follow-up is written.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        let mut all: Vec<((String, u32), Window)> = self.windows.drain().collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, w) in all {
            self.follow_up(w, out);
        }
    }

    /// Dedup windows open now.
    pub fn tracked(&self) -> usize {
        self.windows.len()
    }
}

/// The alert event of a hit (evidence capped).
fn event(cfg: &AlertConfig, h: Hit<'_>, count: u64) -> Event {
    let r = h.rule;
    let evidence = capped(cfg, h.evidence);
    Event {
        ts: h.ts,
        flow: h.flow.map(|f| Box::new(f.clone())),
        kind: EventKind::Alert(Box::new(AlertEvent {
            action: ACTION_ALLOWED,
            gid: GID,
            signature_id: r.signature_id,
            rev: r.rev,
            signature: r.signature.clone(),
            category: r.category.clone(),
            severity: r.severity,
            metadata: AlertMetadata {
                mitre_technique_id: r.reference.iter().cloned().collect(),
            },
            rule: r.id.clone(),
            device: h.device,
            evidence,
            count,
        })),
    }
}

/// Evidence cut to `max_evidence_facts`, each value to `max_evidence_len` bytes.
fn capped(
    cfg: &AlertConfig,
    mut evidence: Vec<(&'static str, String)>,
) -> Vec<(&'static str, String)> {
    cap_all(cfg, &mut evidence);
    evidence
}

/// [`capped`] in place.
fn cap_all(cfg: &AlertConfig, evidence: &mut Vec<(&'static str, String)>) {
    evidence.truncate(cfg.max_evidence_facts);
    for (_, v) in evidence.iter_mut() {
        cap_in_place(v, cfg.max_evidence_len);
    }
}

/// Makes `ev` what [`event`] builds for `h` with a count of 0, reusing its allocations
/// (a folded repeat replaces the window's last one; most of it is the same rule's).
fn refill(cfg: &AlertConfig, ev: &mut Event, h: Hit<'_>) {
    let EventKind::Alert(a) = &mut ev.kind else {
        *ev = event(cfg, h, 0);
        return;
    };
    ev.ts = h.ts;
    refill_flow(&mut ev.flow, h.flow);
    refill_rule(a, h.rule);
    a.device = h.device;
    a.evidence = capped(cfg, h.evidence);
    a.count = 0;
}

/// The flow of a refilled alert (its box reused).
fn refill_flow(slot: &mut Option<Box<FlowMeta>>, f: Option<&FlowMeta>) {
    match (slot, f) {
        (Some(b), Some(f)) => b.as_mut().clone_from(f),
        (slot, f) => *slot = f.map(|f| Box::new(f.clone())),
    }
}

/// The rule's fields of a refilled alert (its strings reused).
fn refill_rule(a: &mut AlertEvent, r: &RuleMeta) {
    a.action = ACTION_ALLOWED;
    a.gid = GID;
    a.signature_id = r.signature_id;
    a.rev = r.rev;
    a.signature.clone_from(&r.signature);
    a.category.clone_from(&r.category);
    a.severity = r.severity;
    if !a.metadata.mitre_technique_id.iter().eq(r.reference.iter()) {
        a.metadata = AlertMetadata {
            mitre_technique_id: r.reference.iter().cloned().collect(),
        };
    }
    a.rule.clone_from(&r.id);
}

/// The device an alert names, borrowed: copied into the alert only when it is written or a
/// repeat is folded (then into the folded alert's own strings).
#[derive(Clone, Copy, Debug)]
pub struct DeviceRef<'a> {
    pub id: &'a str,
    pub class: &'a str,
    pub vendor: Option<&'a str>,
}

/// One rule hit whose device is borrowed and whose evidence is written on demand
/// ([`AlertEngine::raise_with`]).
pub struct LazyHit<'a> {
    pub ts: Timestamp,
    pub flow: Option<&'a FlowMeta>,
    pub rule: &'a Arc<RuleMeta>,
    pub device: Option<DeviceRef<'a>>,
}

/// Evidence facts written in order into an alert's list, reusing the strings it holds.
pub struct Evidence<'a> {
    v: &'a mut Vec<(&'static str, String)>,
    n: usize,
}

impl Evidence<'_> {
    /// The next fact, `name: value`.
    pub fn push(&mut self, name: &'static str, value: &str) {
        self.push_with(name, |s| s.push_str(value));
    }

    /// The next fact, its value written by `f` into an empty string.
    pub fn push_with(&mut self, name: &'static str, f: impl FnOnce(&mut String)) {
        match self.v.get_mut(self.n) {
            Some(slot) => {
                slot.0 = name;
                slot.1.clear();
                f(&mut slot.1);
            }
            None => {
                let mut s = String::new();
                f(&mut s);
                self.v.push((name, s));
            }
        }
        self.n += 1;
    }
}

/// What [`AlertEngine::take`] needs of a hit.
trait Body {
    fn ts(&self) -> Timestamp;
    fn rule(&self) -> &Arc<RuleMeta>;
    fn device_id(&self) -> &str;
    /// The alert event (evidence capped).
    fn event(self, cfg: &AlertConfig, count: u64) -> Event;
    /// Makes `ev` what [`Body::event`] builds with a count of 0, reusing its allocations.
    fn refill(self, cfg: &AlertConfig, ev: &mut Event);
}

impl Body for Hit<'_> {
    fn ts(&self) -> Timestamp {
        self.ts
    }
    fn rule(&self) -> &Arc<RuleMeta> {
        self.rule
    }
    fn device_id(&self) -> &str {
        self.device.as_ref().map_or("", |d| d.id.as_str())
    }
    fn event(self, cfg: &AlertConfig, count: u64) -> Event {
        event(cfg, self, count)
    }
    fn refill(self, cfg: &AlertConfig, ev: &mut Event) {
        refill(cfg, ev, self)
    }
}

/// A [`LazyHit`] and the writer of its evidence.
struct Lazy<'a, F> {
    hit: LazyHit<'a>,
    fill: F,
}

impl<F: FnOnce(&mut Evidence<'_>)> Body for Lazy<'_, F> {
    fn ts(&self) -> Timestamp {
        self.hit.ts
    }
    fn rule(&self) -> &Arc<RuleMeta> {
        self.hit.rule
    }
    fn device_id(&self) -> &str {
        self.hit.device.map_or("", |d| d.id)
    }
    fn event(self, cfg: &AlertConfig, count: u64) -> Event {
        let h = self.hit;
        let mut evidence = Vec::new();
        let mut w = Evidence {
            v: &mut evidence,
            n: 0,
        };
        (self.fill)(&mut w);
        event(
            cfg,
            Hit {
                ts: h.ts,
                flow: h.flow,
                rule: h.rule,
                device: h.device.map(|d| AlertDevice {
                    id: d.id.to_string(),
                    class: d.class.to_string(),
                    vendor: d.vendor.map(str::to_string),
                }),
                evidence,
            },
            count,
        )
    }
    fn refill(self, cfg: &AlertConfig, ev: &mut Event) {
        let EventKind::Alert(a) = &mut ev.kind else {
            *ev = self.event(cfg, 0);
            return;
        };
        let h = self.hit;
        ev.ts = h.ts;
        refill_flow(&mut ev.flow, h.flow);
        refill_rule(a, h.rule);
        match (&mut a.device, h.device) {
            (Some(d), Some(n)) => {
                copy_into(&mut d.id, n.id);
                copy_into(&mut d.class, n.class);
                match (&mut d.vendor, n.vendor) {
                    (Some(v), Some(n)) => copy_into(v, n),
                    (v, n) => *v = n.map(str::to_string),
                }
            }
            (d, n) => {
                *d = n.map(|d| AlertDevice {
                    id: d.id.to_string(),
                    class: d.class.to_string(),
                    vendor: d.vendor.map(str::to_string),
                })
            }
        }
        let mut w = Evidence {
            v: &mut a.evidence,
            n: 0,
        };
        (self.fill)(&mut w);
        let n = w.n;
        a.evidence.truncate(n);
        cap_all(cfg, &mut a.evidence);
        a.count = 0;
    }
}

/// `dst` becomes `src`, in its own allocation when it fits.
fn copy_into(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}

/// A window's key, borrowed (looks a window up without copying the device id).
#[derive(Hash)]
struct WindowKey<'a>(&'a str, u32);

impl hashbrown::Equivalent<(String, u32)> for WindowKey<'_> {
    fn equivalent(&self, k: &(String, u32)) -> bool {
        self.0 == k.0 && self.1 == k.1
    }
}

/// Cuts a string at `max` bytes on a character boundary.
fn cap_in_place(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut cut = max;
    while cut > 0 && !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, sid: u32) -> Arc<RuleMeta> {
        Arc::new(RuleMeta {
            id: id.into(),
            signature_id: sid,
            rev: 1,
            signature: format!("{id} fired"),
            category: "Policy Violation".into(),
            severity: 1,
            reference: Some("T0883".into()),
        })
    }

    fn hit<'a>(secs: i64, r: &'a Arc<RuleMeta>, dev: &str, peer: &str) -> Hit<'a> {
        Hit {
            ts: Timestamp::from_secs_micros(secs, 0),
            flow: None,
            rule: r,
            device: Some(AlertDevice {
                id: dev.into(),
                class: "infusion_pump".into(),
                vendor: None,
            }),
            evidence: vec![("peer", peer.into())],
        }
    }

    fn alerts(out: &[Event]) -> Vec<(i64, String, String, u64, String)> {
        out.iter()
            .filter_map(|e| match &e.kind {
                EventKind::Alert(a) => Some((
                    e.ts.micros() / 1_000_000,
                    a.rule.clone(),
                    a.device.as_ref().map(|d| d.id.clone()).unwrap_or_default(),
                    a.count,
                    a.fact("peer").unwrap_or_default().to_string(),
                )),
                _ => None,
            })
            .collect()
    }

    fn engine(window: u64, per_minute: u32) -> AlertEngine {
        AlertEngine::new(AlertConfig {
            dedup_window_secs: window,
            max_per_minute: per_minute,
            ..AlertConfig::default()
        })
    }

    #[test]
    fn dedup_folds_repeats_into_one_follow_up_with_count() {
        // Repeats within the window are folded; the follow-up carries their count and the
        // last repeat's evidence, written when the window closes (here by a later hit).
        let r = rule("policy.a", 1);
        let mut e = engine(60, 1000);
        let mut out = Vec::new();
        e.raise(hit(0, &r, "pump", "1.1.1.1"), &mut out);
        for (s, p) in [(10, "2.2.2.2"), (20, "3.3.3.3"), (59, "4.4.4.4")] {
            e.raise(hit(s, &r, "pump", p), &mut out);
        }
        assert_eq!(alerts(&out).len(), 1);
        e.raise(hit(60, &r, "pump", "5.5.5.5"), &mut out);
        assert_eq!(
            alerts(&out),
            vec![
                (0, "policy.a".into(), "pump".into(), 1, "1.1.1.1".into()),
                (59, "policy.a".into(), "pump".into(), 3, "4.4.4.4".into()),
                (60, "policy.a".into(), "pump".into(), 1, "5.5.5.5".into()),
            ]
        );
        assert_eq!(e.stats.folded, 3);
    }

    #[test]
    fn dedup_is_per_device_and_rule() {
        // Another device, or another rule on the same device, opens its own window.
        let (a, b) = (rule("policy.a", 1), rule("policy.b", 2));
        let mut e = engine(60, 1000);
        let mut out = Vec::new();
        e.raise(hit(0, &a, "pump", "x"), &mut out);
        e.raise(hit(1, &a, "monitor", "x"), &mut out);
        e.raise(hit(2, &b, "pump", "x"), &mut out);
        e.raise(hit(3, &a, "pump", "x"), &mut out);
        assert_eq!(alerts(&out).len(), 3);
        assert_eq!(e.tracked(), 3);
    }

    #[test]
    fn dedup_window_closes_on_tick_and_at_finish() {
        // Capture time passing closes a window (sweep) and the end of the run closes the
        // rest: folded repeats are never lost; a window with no repeats writes nothing.
        let (a, b) = (rule("policy.a", 1), rule("policy.b", 2));
        let mut e = engine(60, 1000);
        let mut out = Vec::new();
        e.raise(hit(0, &a, "pump", "x"), &mut out);
        e.raise(hit(5, &a, "pump", "y"), &mut out);
        e.raise(hit(100, &b, "pump", "z"), &mut out);
        e.raise(hit(101, &b, "pump", "w"), &mut out);
        e.raise(hit(102, &b, "pump", "v"), &mut out);
        // The hit at 100 s swept policy.a's window (opened at 0).
        assert_eq!(
            alerts(&out).iter().map(|a| (a.0, a.3)).collect::<Vec<_>>(),
            vec![(0, 1), (5, 1), (100, 1)]
        );
        e.tick(Timestamp::from_secs_micros(130, 0), &mut out);
        assert_eq!(alerts(&out).len(), 3, "window of b still open at 130 s");
        e.finish(&mut out);
        let all = alerts(&out);
        assert_eq!(all.len(), 4);
        assert_eq!((all[3].0, all[3].3, all[3].4.as_str()), (102, 2, "v"));
        assert_eq!(e.tracked(), 0);
        // A lone alert's window writes no follow-up.
        let mut e = engine(60, 1000);
        let mut out = Vec::new();
        e.raise(hit(0, &a, "pump", "x"), &mut out);
        e.finish(&mut out);
        assert_eq!(alerts(&out).len(), 1);
    }

    #[test]
    fn rate_limit_drops_and_counts_then_refills_in_capture_time() {
        // A burst past max_per_minute is dropped and counted; a minute of capture time
        // later the bucket has refilled.
        let r = rule("policy.a", 1);
        let mut e = engine(60, 10);
        let mut out = Vec::new();
        for i in 0..25 {
            e.raise(hit(0, &r, &format!("dev{i}"), "x"), &mut out);
        }
        assert_eq!(alerts(&out).len(), 10);
        assert_eq!(e.stats.dropped, 15);
        // 30 s later: 5 tokens.
        for i in 0..8 {
            e.raise(hit(30, &r, &format!("late{i}"), "x"), &mut out);
        }
        assert_eq!(alerts(&out).len(), 15);
        assert_eq!(e.stats.dropped, 18);
        assert_eq!(e.stats.written.get(&("policy.a".into(), 1)), Some(&15));
    }

    #[test]
    fn window_table_is_bounded() {
        // Past max_tracked the hit is still written (not deduplicated) and counted.
        let r = rule("policy.a", 1);
        let mut e = AlertEngine::new(AlertConfig {
            max_tracked: 4,
            ..AlertConfig::default()
        });
        let mut out = Vec::new();
        for i in 0..10 {
            e.raise(hit(0, &r, &format!("dev{i}"), "x"), &mut out);
        }
        assert_eq!(e.tracked(), 4);
        assert_eq!(e.stats.untracked, 6);
        assert_eq!(alerts(&out).len(), 10);
    }

    #[test]
    fn evidence_is_capped() {
        // Long evidence values are cut on a character boundary; extra facts are dropped.
        let r = rule("policy.a", 1);
        let mut e = AlertEngine::new(AlertConfig {
            max_evidence_facts: 2,
            max_evidence_len: 5,
            ..AlertConfig::default()
        });
        let mut out = Vec::new();
        let mut h = hit(0, &r, "d", "ééééé");
        h.evidence.push(("b", "x".into()));
        h.evidence.push(("c", "y".into()));
        e.raise(h, &mut out);
        let EventKind::Alert(a) = &out[0].kind else {
            panic!()
        };
        assert_eq!(a.evidence, vec![("peer", "éé".into()), ("b", "x".into())]);
    }

    /// One hit of the equivalence proptest: second, rule, device, vendor, evidence.
    type Step = (u8, u8, u8, Option<u8>, Vec<(u8, String)>);

    const NAMES: [&str; 4] = ["kind", "item", "peer", "baseline_state"];

    proptest::proptest! {
        #[test]
        fn raise_with_writes_what_raise_writes(
            steps in proptest::collection::vec(
                (
                    0u8..40,
                    0u8..2,
                    0u8..3,
                    proptest::option::of(0u8..2),
                    proptest::collection::vec((0u8..4, "[a-zé]{0,9}"), 0..5),
                ),
                1..40,
            ),
            facts in 1usize..4,
            len in 1usize..8,
            per_minute in 1u32..30,
        ) {
            // The borrowed hit with evidence written into reused strings gives the same
            // alerts as the owned hit, through writes, folds (with more, fewer, longer and
            // capped facts, vendors present or not), window closes, drops and the end.
            let rules = [rule("policy.a", 1), rule("policy.b", 2)];
            let cfg = AlertConfig {
                dedup_window_secs: 10,
                max_per_minute: per_minute,
                max_tracked: 4,
                max_evidence_facts: facts,
                max_evidence_len: len,
                ..AlertConfig::default()
            };
            let (mut owned, mut lazy) = (AlertEngine::new(cfg.clone()), AlertEngine::new(cfg));
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let flow = FlowMeta {
                flow_id: 7,
                key: model::FlowKey {
                    vlan: [0, 0],
                    proto: model::IpProto::TCP,
                    src_ip: [10, 0, 0, 1].into(),
                    src_port: 1000,
                    dst_ip: [10, 0, 0, 2].into(),
                    dst_port: 104,
                },
                in_iface: "t".into(),
                src_mac: None,
                dest_mac: None,
                app_proto: Some("dicom"),
            };
            let mut ts = 0i64;
            let mut steps: Vec<Step> = steps;
            for (i, (dt, r, dev, vendor, ev)) in steps.drain(..).enumerate() {
                ts += i64::from(dt);
                let id = format!("dev{dev}");
                let vendor = vendor.map(|v| format!("vendor {v}"));
                let r = &rules[usize::from(r)];
                let f = (i % 3 != 0).then_some(&flow);
                owned.raise(
                    Hit {
                        ts: Timestamp::from_secs_micros(ts, 0),
                        flow: f,
                        rule: r,
                        device: Some(AlertDevice {
                            id: id.clone(),
                            class: "pump".into(),
                            vendor: vendor.clone(),
                        }),
                        evidence: ev
                            .iter()
                            .map(|(n, v)| (NAMES[usize::from(*n)], v.clone()))
                            .collect(),
                    },
                    &mut a,
                );
                lazy.raise_with(
                    LazyHit {
                        ts: Timestamp::from_secs_micros(ts, 0),
                        flow: f,
                        rule: r,
                        device: Some(DeviceRef {
                            id: &id,
                            class: "pump",
                            vendor: vendor.as_deref(),
                        }),
                    },
                    |e| {
                        for (n, v) in &ev {
                            e.push(NAMES[usize::from(*n)], v);
                        }
                    },
                    &mut b,
                );
                proptest::prop_assert_eq!(&a, &b);
            }
            owned.finish(&mut a);
            lazy.finish(&mut b);
            proptest::prop_assert_eq!(&a, &b);
            proptest::prop_assert_eq!(&owned.stats, &lazy.stats);
            proptest::prop_assert!(a.iter().all(|e| matches!(&e.kind, EventKind::Alert(_))));
        }
    }
}
