//! The inventory on the writer thread: observes every event, adds `device` events to the
//! stream, checkpoints changed devices to the state store about every
//! `inventory.checkpoint_secs` (wall time) and at the end, and publishes the current
//! records to a shared view the HTTP API reads.

use crate::config::Config;
use model::Event;
use rules::inventory::{Catalogue, Device, Inventory};
use rules::store::Store;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The devices as of the last checkpoint, shared with the API.
pub type DevicesView = Arc<RwLock<BTreeMap<String, Device>>>;

/// The inventory, its store and its published view.
pub struct InventoryRunner {
    inv: Inventory,
    store: Option<Store>,
    view: Option<DevicesView>,
    interval: Duration,
    last: Instant,
    checkpoints: u64,
    /// Checkpoints that failed (logged once per failure streak).
    failures: u64,
    /// Where the class counts (and per-device series, up to a cap) are published.
    metrics: Option<Arc<outputs::metrics::Exporter>>,
    device_series: Option<usize>,
}

impl InventoryRunner {
    /// Builds the inventory from the configuration: loads the catalogue and, with a state
    /// directory, the stored devices. `None` when the inventory is disabled.
    pub fn open(
        cfg: &Config,
        view: Option<DevicesView>,
        metrics: Option<Arc<outputs::metrics::Exporter>>,
    ) -> Result<Option<Self>, String> {
        if !cfg.inventory.enabled {
            return Ok(None);
        }
        let cat = Catalogue::load(cfg.inventory.catalogue_dir.as_deref())
            .map_err(|e| format!("catalogue: {e}"))?;
        let mut inv = Inventory::new(cfg.inventory.clone(), cat);
        let store = match &cfg.state_dir {
            Some(dir) => {
                let s = Store::open(dir)?;
                let loaded = s.load_devices()?;
                if loaded.bad_records > 0 {
                    tracing::warn!(
                        skipped = loaded.bad_records,
                        "Unreadable device records in the state store were skipped."
                    );
                }
                tracing::info!(
                    devices = loaded.devices.len(),
                    path = %s.path().display(),
                    "Inventory loaded from the state store."
                );
                inv.restore(loaded.devices);
                Some(s)
            }
            None => None,
        };
        let mut r = InventoryRunner {
            inv,
            store,
            view,
            interval: Duration::from_secs(cfg.inventory.checkpoint_secs.max(1)),
            last: Instant::now(),
            checkpoints: 0,
            failures: 0,
            metrics,
            device_series: cfg
                .output
                .metrics_device_info
                .then_some(cfg.output.metrics_device_info_max),
        };
        r.publish();
        if let Some(v) = &r.view {
            if let Ok(mut m) = v.write() {
                for d in r.inv.devices() {
                    m.insert(d.id.clone(), d.clone());
                }
            }
        }
        r.last = Instant::now();
        Ok(Some(r))
    }

    /// Observes a batch; device events are appended to `out`.
    pub fn observe(&mut self, evs: &[Event], out: &mut Vec<Event>) {
        for i in 0..evs.len() {
            self.observe_one(evs, i, out);
        }
    }

    /// Observes `evs[i]` alone (events interleaved with the policy rules, or one by one by
    /// [`Self::observe`]), prefetching the event [`PREFETCH_AHEAD`] later.
    pub fn observe_one(&mut self, evs: &[Event], i: usize, out: &mut Vec<Event>) {
        if let Some(next) = evs.get(i + PREFETCH_AHEAD) {
            prefetch_event(next);
        }
        if let Some(e) = evs.get(i) {
            self.inv.observe(e, out);
        }
    }

    /// Publishes device counts by class (every class, zeros included) to the exporter.
    fn publish(&self) {
        let Some(x) = &self.metrics else { return };
        let mut by_class: BTreeMap<(String, String), u64> = BTreeMap::new();
        for d in self.inv.devices() {
            *by_class
                .entry((d.classification.class.clone(), d.criticality.clone()))
                .or_insert(0) += 1;
        }
        for c in rules::inventory::CLASSES {
            if !by_class.keys().any(|(k, _)| k == c) {
                by_class.insert((c.to_string(), self.inv.criticality_of(c).to_string()), 0);
            }
        }
        // Risk: every class x status and every cell of the matrix, zeros included, once
        // any device has been assessed.
        let mut by_risk: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut matrix: BTreeMap<(String, String), u64> = BTreeMap::new();
        if self.inv.devices().any(|d| d.risk.is_some()) {
            for c in rules::inventory::CLASSES {
                for st in ["controlled", "uncontrolled"] {
                    by_risk.insert((c.to_string(), st.to_string()), 0);
                }
            }
            for e in ["low", "medium", "high"] {
                for s in ["minor", "serious", "critical"] {
                    matrix.insert((e.to_string(), s.to_string()), 0);
                }
            }
            for d in self.inv.devices() {
                if let Some(p) = &d.risk {
                    *by_risk
                        .entry((d.classification.class.clone(), p.status.clone()))
                        .or_insert(0) += 1;
                    *matrix
                        .entry((p.exploitability.clone(), p.severity.clone()))
                        .or_insert(0) += 1;
                }
            }
        }
        let mut devices = Vec::new();
        if let Some(max) = self.device_series {
            let mut all: Vec<&Device> = self.inv.devices().collect();
            // The most recently seen first, so the cap keeps the live ones.
            all.sort_by(|a, b| b.last_seen_us.cmp(&a.last_seen_us).then(a.id.cmp(&b.id)));
            for d in all.into_iter().take(max) {
                devices.push((
                    d.id.clone(),
                    d.classification.class.clone(),
                    d.vendor.clone().unwrap_or_default(),
                    d.best("model").unwrap_or_default().to_string(),
                    d.last_seen_us / 1_000_000,
                    d.risk
                        .as_ref()
                        .map(|p| p.status.clone())
                        .unwrap_or_else(|| "unassessed".into()),
                ));
            }
        }
        x.publish_inventory(outputs::metrics::InventorySnapshot {
            by_class: by_class.into_iter().collect(),
            evicted: self.inv.stats.evicted,
            devices,
            by_risk: by_risk.into_iter().collect(),
            risk_matrix: matrix.into_iter().collect(),
        });
    }

    /// Checkpoints when the interval has passed.
    pub fn tick(&mut self) {
        if self.last.elapsed() >= self.interval {
            self.checkpoint();
        }
    }

    /// Writes changed devices to the store and the shared view.
    pub fn checkpoint(&mut self) {
        self.last = Instant::now();
        if !self.inv.has_changes() {
            return;
        }
        self.publish();
        let devices = self.inv.len();
        // The records are serialised where they are; copied only for the shared view.
        let (up, del) = self.inv.take_changed();
        let mut failed = false;
        if let Some(s) = self.store.as_mut() {
            match s.save_devices(up.iter().copied(), &del) {
                Ok(()) => {
                    self.checkpoints += 1;
                    self.failures = 0;
                    tracing::info!(
                        changed = up.len(),
                        removed = del.len(),
                        devices,
                        "Inventory checkpoint written."
                    );
                }
                Err(e) => {
                    if self.failures == 0 {
                        tracing::error!(error = %e, "Inventory checkpoint failed; will retry.");
                    }
                    self.failures += 1;
                    failed = true;
                }
            }
        }
        if let Some(v) = &self.view {
            if let Ok(mut m) = v.write() {
                for id in &del {
                    m.remove(id);
                }
                for d in &up {
                    m.insert(d.id.clone(), (*d).clone());
                }
            }
        }
        if failed {
            // Keep the changes for the next attempt.
            let ids: Vec<String> = up.iter().map(|d| d.id.clone()).collect();
            self.inv.requeue_ids(ids.iter().map(String::as_str), &del);
        }
    }

    /// The final checkpoint.
    pub fn finish(&mut self) {
        self.checkpoint();
    }

    /// Closes the state store (after [`Self::finish`]; later checkpoints write nothing).
    pub(crate) fn close_store(&mut self) {
        self.store = None;
    }

    /// The inventory itself.
    pub fn inventory(&self) -> &Inventory {
        &self.inv
    }

    /// The inventory, for the stages that note facts on its records (risk).
    pub fn inventory_mut(&mut self) -> &mut Inventory {
        &mut self.inv
    }
}

/// How many events ahead of the one it observes the inventory prefetches.
const PREFETCH_AHEAD: usize = 4;

/// Asks for the parts of an event the inventory reads (its flow and its boxed payload):
/// worker threads wrote them, so the first read of each would stall for another core's
/// cache or memory; asked a few events early, those waits overlap the work on the events
/// before. (The EVE writer then finds them in cache too.)
fn prefetch_event(e: &Event) {
    use model::EventKind as K;
    if let Some(f) = e.flow.as_deref() {
        prefetch_obj(f);
    }
    match &e.kind {
        K::Dns(d) | K::Mdns(d) => prefetch_obj(&**d),
        K::Hl7(h) => prefetch_obj(&**h),
        K::Dhcp(d) => prefetch_obj(&**d),
        K::Tls(t) => prefetch_obj(&**t),
        K::Http(h) => prefetch_obj(&**h),
        _ => {}
    }
}

/// Prefetches the cache lines of `*r` (the first 640 bytes at most).
fn prefetch_obj<T>(r: &T) {
    let p = (r as *const T).cast::<u8>();
    for off in (0..std::mem::size_of::<T>().min(640)).step_by(64) {
        capture::prefetch::read(p.wrapping_add(off));
    }
}

/// `GET /api/v1/devices[/{id}]`: the records as of the last checkpoint.
pub struct DevicesApi(pub DevicesView);

impl outputs::api::DeviceSource for DevicesApi {
    fn list(&self) -> serde_json::Value {
        match self.0.read() {
            Ok(m) => serde_json::to_value(m.values().collect::<Vec<_>>())
                .unwrap_or(serde_json::Value::Null),
            Err(_) => serde_json::Value::Array(Vec::new()),
        }
    }
    fn get(&self, id: &str) -> Option<serde_json::Value> {
        let m = self.0.read().ok()?;
        serde_json::to_value(m.get(&id.to_ascii_lowercase())?).ok()
    }
}

/// Reads the stored devices of a state directory (for `wardwatch inventory`).
pub fn read_devices(dir: &Path) -> Result<Vec<Device>, String> {
    let s = Store::open_read_only(dir)?;
    Ok(s.load_devices()?.devices)
}

/// The columns of the table and CSV forms.
const COLUMNS: &[&str] = &[
    "id",
    "ips",
    "vendor",
    "class",
    "modality",
    "criticality",
    "confidence",
    "hostname",
    "model",
    "os",
    "software",
    "first_seen",
    "last_seen",
    "risk",
    "risk_cell",
];

fn row(d: &Device) -> Vec<String> {
    let ts = |us: i64| model::Timestamp::from_secs_micros(0, us).to_string();
    vec![
        d.id.clone(),
        d.ip_list().join(" "),
        d.vendor.clone().unwrap_or_default(),
        d.classification.class.clone(),
        d.modality.clone().unwrap_or_default(),
        d.criticality.clone(),
        d.classification.confidence.to_string(),
        d.best("hostname").unwrap_or_default().to_string(),
        d.best("model").unwrap_or_default().to_string(),
        d.best("os").unwrap_or_default().to_string(),
        d.best("software").unwrap_or_default().to_string(),
        ts(d.first_seen_us),
        ts(d.last_seen_us),
        d.risk
            .as_ref()
            .map(|p| p.status.clone())
            .unwrap_or_default(),
        d.risk.as_ref().map(|p| p.cell.clone()).unwrap_or_default(),
    ]
}

/// A CSV field: quoted when needed, and with a leading `'` when a spreadsheet would take
/// it for a formula (values come from the network: CSV injection).
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// Renders devices for `wardwatch inventory`.
pub fn render(devs: &[Device], format: crate::cli::InventoryFormat) -> String {
    use crate::cli::InventoryFormat as F;
    match format {
        F::Json => {
            let mut s = serde_json::to_string_pretty(devs).unwrap_or_else(|_| "[]".into());
            s.push('\n');
            s
        }
        F::Csv => {
            let mut s = COLUMNS.join(",");
            s.push('\n');
            for d in devs {
                let r: Vec<String> = row(d).iter().map(|v| csv_field(v)).collect();
                s.push_str(&r.join(","));
                s.push('\n');
            }
            s
        }
        F::Table => {
            let cols = [0usize, 1, 2, 3, 4, 7, 8, 12, 13];
            let cut = |v: &str, n: usize| -> String {
                let v: String = v.chars().filter(|c| !c.is_control()).collect();
                if v.chars().count() > n {
                    let mut t: String = v.chars().take(n - 1).collect();
                    t.push('~');
                    t
                } else {
                    v
                }
            };
            let widths = [24usize, 16, 26, 20, 8, 20, 20, 31, 12];
            let mut s = String::new();
            for (i, c) in cols.iter().enumerate() {
                s.push_str(&format!(
                    "{:w$} ",
                    COLUMNS[*c].to_uppercase(),
                    w = widths[i]
                ));
            }
            s = s.trim_end().to_string();
            s.push('\n');
            for d in devs {
                let r = row(d);
                let mut line = String::new();
                for (i, c) in cols.iter().enumerate() {
                    line.push_str(&format!("{:w$} ", cut(&r[*c], widths[i]), w = widths[i]));
                }
                s.push_str(line.trim_end());
                s.push('\n');
            }
            s.push_str(&format!("{} devices\n", devs.len()));
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_field_quotes_and_defuses_formulas() {
        // Separators and quotes are quoted; a value a spreadsheet would run is prefixed.
        assert_eq!(csv_field("PUMP-0001"), "PUMP-0001");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }
}
