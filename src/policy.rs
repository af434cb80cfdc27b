//! Policy rules, baselines and alerts on the writer thread: every event is evaluated right
//! after the inventory has observed it (so the classes of both sides are current); alerts
//! join the event stream.
//!
//! Rules load at start (an error stops the start with file, line and problem); SIGHUP
//! (`systemctl reload`) reloads them through [`PolicyRunner::reload`], which swaps in a new
//! set only when it loads whole, so the appliance keeps its last good rules.
//!
//! Baselines (with a state directory) load at start, apply the operator commands queued by
//! `wardwatch baseline ...`, and are checkpointed with those commands every
//! `inventory.checkpoint_secs` and at the end, one transaction each.

use crate::config::Config;
use model::Event;
use rules::baseline::{store as bstore, Baselines, DeviceBaseline};
use rules::inventory::{Catalogue, Inventory};
use rules::policy::{PolicyEngine, PolicySet, Subnet};
use rules::silence::{SensorSignal, Silence};
use rules::store::Store;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The policy engine, the baselines, and what they need to reload and persist.
pub struct PolicyRunner {
    engine: PolicyEngine,
    policy_on: bool,
    baselines: Option<Baselines>,
    /// Device silence (with an inventory) and sensor health.
    silence: Option<Silence>,
    store: Option<Store>,
    dir: Option<PathBuf>,
    catalogue: Catalogue,
    /// The SIGHUP count the rules in force were loaded at.
    hup_seen: u64,
    interval: Duration,
    last: Instant,
    failures: u64,
}

impl PolicyRunner {
    /// The baselines, when they are on (the risk stage reads their lock state).
    pub fn baselines(&self) -> Option<&Baselines> {
        self.baselines.as_ref()
    }

    /// Loads the rules and the baselines. `None` when alerts are disabled, or policies,
    /// baselines, silence and sensor health all are.
    pub fn open(cfg: &Config, inv: Option<&Inventory>) -> Result<Option<Self>, String> {
        let baselines_on = cfg.baseline.enabled && inv.is_some();
        cfg.silence.validate()?;
        let silence_on = (cfg.silence.devices_on() && inv.is_some()) || cfg.silence.sensor_secs > 0;
        if !cfg.alerts.enabled || !(cfg.policy.enabled || baselines_on || silence_on) {
            return Ok(None);
        }
        let shortest = cfg.silence.shortest_window();
        if inv.is_some() && shortest > 0 && cfg.flow.active_timeout >= shortest {
            tracing::warn!(
                active_timeout = cfg.flow.active_timeout,
                shortest_window = shortest,
                "A silence window is not longer than flow.active_timeout: a device whose only \
                 traffic is one long connection is seen only when its flow is written; set \
                 flow.active_timeout below the shortest window."
            );
        }
        // The inventory's catalogue when there is one (compiling its patterns again costs
        // about 1% of a 1 GiB replay): the same files, the same `catalogue_dir`.
        let catalogue = match inv {
            Some(i) => i.catalogue().clone(),
            None => Catalogue::load(cfg.inventory.catalogue_dir.as_deref())
                .map_err(|e| format!("catalogue: {e}"))?,
        };
        let set = if cfg.policy.enabled {
            let s = PolicySet::load(cfg.policy.dir.as_deref(), &catalogue)
                .map_err(|e| format!("policy: {e}"))?;
            tracing::info!(rules = s.rules.len(), "Policy rules loaded.");
            s
        } else {
            PolicySet::default()
        };
        // GeoIP (optional): a bad database path stops the start, naming the path.
        let geo = rules::geo::Geo::open(&cfg.geoip)?;
        if let Some(g) = &geo {
            tracing::info!(
                country = g.has_country(),
                asn = g.has_asn(),
                "GeoIP databases loaded."
            );
        }
        let resolver = geo.as_ref().filter(|g| g.has_country()).map(|g| {
            Box::new(rules::geo::GeoResolver(g.clone())) as Box<dyn rules::policy::CountryResolver>
        });
        let mut engine =
            PolicyEngine::with_countries(set, &cfg.policy, cfg.alerts.clone(), resolver)?;
        if let Some(inv) = inv {
            engine.learn_from_inventory(inv);
        }
        let mut store = None;
        let baselines = if baselines_on {
            let internal: Vec<Subnet> = cfg
                .policy
                .internal_subnets
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect();
            let mut b = Baselines::new(cfg.baseline.clone(), internal);
            if let Some(g) = &geo {
                b.set_geo(g.clone());
            }
            if let Some(dir) = &cfg.state_dir {
                let mut s = Store::open(dir)?;
                let loaded = bstore::load(&mut s)?;
                if loaded.bad_records > 0 {
                    tracing::warn!(
                        skipped = loaded.bad_records,
                        "Unreadable baseline records in the state store were skipped."
                    );
                }
                tracing::info!(
                    baselines = loaded.baselines.len(),
                    "Baselines loaded from the state store."
                );
                b.restore_hinted(loaded.baselines, capture::prefetch::read);
                store = Some(s);
            }
            Some(b)
        } else {
            None
        };
        let mut r = PolicyRunner {
            engine,
            policy_on: cfg.policy.enabled,
            baselines,
            silence: silence_on.then(|| Silence::new(cfg.silence.clone())),
            store,
            dir: cfg.policy.dir.clone(),
            catalogue,
            hup_seen: crate::cli::hup_count(),
            interval: Duration::from_secs(cfg.inventory.checkpoint_secs.max(1)),
            last: Instant::now(),
            failures: 0,
        };
        // Operator commands queued while the appliance was down apply before any event.
        r.apply_commands();
        Ok(Some(r))
    }

    /// Prefetches what evaluating `e`, a few events ahead, will read first (the baselines'
    /// index cells: see [`Baselines::prefetch_hints`]).
    pub fn prefetch(&mut self, e: &Event) {
        if let Some(b) = self.baselines.as_mut() {
            b.prefetch_hints(e, capture::prefetch::read);
        }
    }

    /// Evaluates one event (after the inventory observed it); alerts go to `out`.
    pub fn evaluate(&mut self, e: &Event, inv: Option<&Inventory>, out: &mut Vec<Event>) {
        if self.policy_on {
            self.engine.evaluate(e, inv, out);
        }
        if let (Some(b), Some(inv)) = (self.baselines.as_mut(), inv) {
            b.observe(e, inv, &mut self.engine.alerts, out);
        }
        if let (Some(s), Some(inv)) = (self.silence.as_mut(), inv) {
            s.observe(e, inv);
        }
    }

    /// Capture time reached `now` (every event before it observed; `None`: the latest
    /// activity seen): devices silent past their window alert (once per second at most).
    pub fn sweep(&mut self, now: Option<model::Timestamp>, out: &mut Vec<Event>) {
        if let Some(s) = self.silence.as_mut() {
            s.sweep(now, &mut self.engine.alerts, out);
        }
    }

    /// A signal from the capture source (the monitored interface went silent or resumed).
    pub fn sensor(&mut self, sig: &SensorSignal, out: &mut Vec<Event>) {
        if let Some(s) = self.silence.as_mut() {
            s.sensor(sig, &mut self.engine.alerts, out);
        }
    }

    /// Reloads the rules on SIGHUP; checkpoints baselines and applies queued operator
    /// commands on the checkpoint interval.
    pub fn tick(&mut self) {
        let n = crate::cli::hup_count();
        if n != self.hup_seen {
            self.hup_seen = n;
            let _ = self.reload();
        }
        if self.last.elapsed() >= self.interval {
            self.checkpoint();
        }
    }

    /// Applies queued commands, then writes changed baselines (one transaction each).
    pub fn checkpoint(&mut self) {
        self.last = Instant::now();
        self.apply_commands();
        let (Some(b), Some(s)) = (self.baselines.as_mut(), self.store.as_mut()) else {
            return;
        };
        if !b.has_changes() {
            return;
        }
        // Written from the baselines in place (a copy of 2000 baselines' sets costs more
        // than writing them).
        let saved = match b.take_records() {
            Ok(up) => bstore::save_records(s, &up).inspect_err(|_| b.requeue_records(&up)),
            Err(e) => Err(e),
        };
        match saved {
            Ok(()) => self.failures = 0,
            Err(e) => {
                if self.failures == 0 {
                    tracing::error!(error = %e, "Baseline checkpoint failed; will retry.");
                }
                self.failures += 1;
            }
        }
    }

    fn apply_commands(&mut self) {
        let (Some(b), Some(s)) = (self.baselines.as_mut(), self.store.as_mut()) else {
            return;
        };
        let (cmds, bad) = match bstore::pending(s) {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(error = %e, "Reading queued baseline commands failed.");
                return;
            }
        };
        if cmds.is_empty() && bad.is_empty() {
            return;
        }
        let mut done = bad.clone();
        for q in &cmds {
            match b.apply(&q.command, &q.who, q.at) {
                Ok(n) => tracing::info!(
                    who = %q.who,
                    changed = n,
                    "Baseline command applied."
                ),
                Err(e) => tracing::warn!(who = %q.who, error = %e, "Baseline command refused."),
            }
            done.push(q.seq);
        }
        for seq in &bad {
            tracing::warn!(seq, "Unreadable baseline command skipped.");
        }
        let saved = match b.take_records() {
            Ok(up) => bstore::commit_records(s, &up, &done).inspect_err(|_| {
                b.requeue_records(&up);
            }),
            Err(e) => Err(e),
        };
        if let Err(e) = saved {
            tracing::error!(error = %e, "Saving applied baseline commands failed; will retry.");
        }
    }

    /// Reloads the rules; on an error the last good rules stay and the error is logged.
    pub fn reload(&mut self) -> Result<usize, String> {
        match self.engine.reload(self.dir.as_deref(), &self.catalogue) {
            Ok(n) => {
                tracing::info!(rules = n, "Policy rules reloaded.");
                Ok(n)
            }
            Err(e) => {
                tracing::error!(error = %e, "Policy reload failed; keeping the last good rules.");
                Err(e.to_string())
            }
        }
    }

    /// Alerts dropped by the rate limit so far.
    pub fn dropped(&self) -> u64 {
        self.engine.alerts.stats.dropped
    }

    /// The end of the run: follow-ups of open dedup windows, the last checkpoint.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.engine.finish(out);
        self.checkpoint();
    }

    /// Closes the state store (after [`Self::finish`]; later checkpoints write nothing).
    pub(crate) fn close_store(&mut self) {
        self.store = None;
    }

    /// The engine (tests, API).
    pub fn engine(&self) -> &PolicyEngine {
        &self.engine
    }
}

/// The baselines of a state directory as of the last checkpoint (for `wardwatch baseline`).
pub fn read_baselines(dir: &std::path::Path) -> Result<Vec<DeviceBaseline>, String> {
    let mut s = Store::open_read_only(dir)?;
    Ok(bstore::load(&mut s)?.baselines)
}

/// `wardwatch baseline ACTION`: export reads the last checkpoint; the other actions queue a
/// command (recorded with `who` and the wall-clock time) for the appliance.
pub fn baseline_cli(
    dir: &std::path::Path,
    action: crate::cli::BaselineAction,
    who: &str,
) -> Result<String, String> {
    use crate::cli::BaselineAction as A;
    use rules::baseline::Command;
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let all = |device: Option<String>, all: bool| -> String {
        if all {
            "*".into()
        } else {
            device.unwrap_or_default()
        }
    };
    let cmd = match action {
        A::Export { device } => {
            let mut v = read_baselines(dir)?;
            if let Some(d) = device {
                v.retain(|b| b.device == d);
                if v.is_empty() {
                    return Err(format!("no baseline for device `{d}`"));
                }
            }
            return rules::baseline::to_yaml(&v);
        }
        A::Import { file } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let baselines = rules::baseline::from_yaml(&file.display().to_string(), &text)?;
            Command::Import { baselines }
        }
        A::Lock { device, all: a } => Command::Lock {
            device: all(device, a),
        },
        A::Relearn { device, all: a } => Command::Relearn {
            device: all(device, a),
        },
        A::Approve { device, kind, item } => {
            if !rules::baseline::KINDS.iter().any(|k| k.0 == kind) {
                return Err(format!(
                    "unknown kind `{kind}` (known: {})",
                    rules::baseline::KINDS
                        .iter()
                        .map(|k| k.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            Command::Approve { device, kind, item }
        }
    };
    let mut s = Store::open(dir)?;
    bstore::queue(&mut s, who, at, &cmd)?;
    Ok("Queued; the appliance applies it at its next checkpoint (or its next start).\n".into())
}
