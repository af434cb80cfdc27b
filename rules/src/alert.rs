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

    /// Builds the alert event of a hit (evidence capped).
    fn event(&self, h: Hit<'_>, count: u64) -> Event {
        event(&self.cfg, h, count)
    }

    /// Takes one hit: written now, folded into its window, or dropped by the rate limit.
    pub fn raise(&mut self, h: Hit<'_>, out: &mut Vec<Event>) {
        let now = h.ts.micros();
        self.sweep(now, out);
        let win = self.window_us();
        let id = h.device.as_ref().map_or("", |d| d.id.as_str());
        let wk = WindowKey(id, h.rule.signature_id);
        if let Some(w) = self.windows.get_mut(&wk) {
            if now.saturating_sub(w.start_us) < win {
                w.repeats = w.repeats.saturating_add(1);
                self.stats.folded += 1;
                match &mut w.last {
                    Some(ev) => refill(&self.cfg, ev, h),
                    None => w.last = Some(Box::new(event(&self.cfg, h, 0))),
                }
                return;
            }
            // The window closed: its follow-up first, then this hit opens a new one.
            if let Some(w) = self.windows.remove(&wk) {
                self.follow_up(w, out);
            }
        }
        let key = (id.to_string(), h.rule.signature_id);
        if self.windows.len() >= self.cfg.max_tracked.max(1) {
            self.sweep_all(now, out);
        }
        let ev = self.event(h, 1);
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
    evidence.truncate(cfg.max_evidence_facts);
    for (_, v) in evidence.iter_mut() {
        cap_in_place(v, cfg.max_evidence_len);
    }
    evidence
}

/// Makes `ev` what [`event`] builds for `h` with a count of 0, reusing its allocations
/// (a folded repeat replaces the window's last one; most of it is the same rule's).
fn refill(cfg: &AlertConfig, ev: &mut Event, h: Hit<'_>) {
    let EventKind::Alert(a) = &mut ev.kind else {
        *ev = event(cfg, h, 0);
        return;
    };
    let r = h.rule;
    ev.ts = h.ts;
    match (&mut ev.flow, h.flow) {
        (Some(b), Some(f)) => b.as_mut().clone_from(f),
        (slot, f) => *slot = f.map(|f| Box::new(f.clone())),
    }
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
    a.device = h.device;
    a.evidence = capped(cfg, h.evidence);
    a.count = 0;
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
}
