//! Policy rules and alerts on the writer thread: every event is evaluated right after the
//! inventory has observed it (so the classes of both sides are current); alerts join the
//! event stream. Rules load at start (an error stops the start with file, line and
//! problem); SIGHUP (`systemctl reload`) reloads them through [`PolicyRunner::reload`],
//! which swaps in a new set only when it loads whole, so the appliance keeps its last good
//! rules.

use crate::config::Config;
use model::Event;
use rules::inventory::{Catalogue, Inventory};
use rules::policy::{PolicyEngine, PolicySet};
use std::path::PathBuf;

/// The policy engine and what it needs to reload.
pub struct PolicyRunner {
    engine: PolicyEngine,
    dir: Option<PathBuf>,
    catalogue: Catalogue,
    /// The SIGHUP count the rules in force were loaded at.
    hup_seen: u64,
}

impl PolicyRunner {
    /// Loads the rules. `None` when policies or alerts are disabled.
    pub fn open(cfg: &Config, inv: Option<&Inventory>) -> Result<Option<Self>, String> {
        if !(cfg.policy.enabled && cfg.alerts.enabled) {
            return Ok(None);
        }
        let catalogue = Catalogue::load(cfg.inventory.catalogue_dir.as_deref())
            .map_err(|e| format!("catalogue: {e}"))?;
        let set = PolicySet::load(cfg.policy.dir.as_deref(), &catalogue)
            .map_err(|e| format!("policy: {e}"))?;
        tracing::info!(rules = set.rules.len(), "Policy rules loaded.");
        let mut engine = PolicyEngine::new(set, &cfg.policy, cfg.alerts.clone())?;
        if let Some(inv) = inv {
            engine.learn_from_inventory(inv);
        }
        Ok(Some(PolicyRunner {
            engine,
            dir: cfg.policy.dir.clone(),
            catalogue,
            hup_seen: crate::cli::hup_count(),
        }))
    }

    /// Evaluates one event (after the inventory observed it); alerts go to `out`.
    pub fn evaluate(&mut self, e: &Event, inv: Option<&Inventory>, out: &mut Vec<Event>) {
        self.engine.evaluate(e, inv, out);
    }

    /// Reloads the rules when a SIGHUP arrived since the last look (cheap: one atomic load).
    pub fn tick(&mut self) {
        let n = crate::cli::hup_count();
        if n != self.hup_seen {
            self.hup_seen = n;
            let _ = self.reload();
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

    /// The end of the run: follow-ups of open dedup windows.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.engine.finish(out);
    }

    /// The engine (tests, API).
    pub fn engine(&self) -> &PolicyEngine {
        &self.engine
    }
}
