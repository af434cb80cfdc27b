//! The end-of-run summary printed by `wardwatch replay` and returned to library callers.

use crate::worker::WorkerStats;
use model::AnomalyCounts;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Counters of the thread that read the capture.
#[derive(Debug, Default, Clone)]
pub struct ReaderStats {
    pub packets: u64,
    pub bytes: u64,
    pub fragments_reassembled: u64,
    pub kernel_drops: u64,
    pub queue_drops: u64,
    pub anomalies: AnomalyCounts,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub packets: u64,
    pub bytes: u64,
    pub flows: u64,
    pub flows_evicted: u64,
    pub kernel_drops: u64,
    pub queue_drops: u64,
    pub events: BTreeMap<&'static str, u64>,
    /// (layer, reason, count), sorted.
    pub anomalies: Vec<(&'static str, &'static str, u64)>,
    pub gaps: u64,
    pub reassembled_bytes: u64,
    pub workers: usize,
    pub elapsed: Duration,
}

impl Summary {
    pub fn new(
        r: ReaderStats,
        w: WorkerStats,
        events: BTreeMap<&'static str, u64>,
        elapsed: Duration,
        workers: usize,
    ) -> Self {
        let mut an = r.anomalies.clone();
        an.merge(&w.anomalies);
        Summary {
            packets: r.packets + w.packets,
            bytes: r.bytes + w.bytes,
            flows: w.flows_created,
            flows_evicted: w.flows_evicted,
            kernel_drops: r.kernel_drops,
            queue_drops: r.queue_drops,
            events,
            anomalies: an.sorted(),
            gaps: w.gaps,
            reassembled_bytes: w.reassembled_bytes,
            workers,
            elapsed,
        }
    }

    pub fn anomaly_total(&self) -> u64 {
        self.anomalies.iter().map(|a| a.2).sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(f, "packets:      {}", self.packets)?;
        writeln!(f, "bytes:        {}", self.bytes)?;
        writeln!(
            f,
            "flows:        {} ({} evicted)",
            self.flows, self.flows_evicted
        )?;
        writeln!(
            f,
            "reassembled:  {} bytes, {} gaps",
            self.reassembled_bytes, self.gaps
        )?;
        if self.kernel_drops + self.queue_drops > 0 {
            writeln!(
                f,
                "drops:        {} kernel, {} queue",
                self.kernel_drops, self.queue_drops
            )?;
        }
        let ev: Vec<String> = self
            .events
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(
            f,
            "events:       {}",
            if ev.is_empty() {
                "none".into()
            } else {
                ev.join(" ")
            }
        )?;
        writeln!(f, "anomalies:    {}", self.anomaly_total())?;
        for (layer, code, n) in &self.anomalies {
            writeln!(f, "  {layer}.{code}: {n}")?;
        }
        writeln!(f, "elapsed:      {:.3} s ({} workers)", secs, self.workers)?;
        write!(
            f,
            "throughput:   {:.0} packets/s, {:.2} Gbit/s",
            self.packets as f64 / secs,
            self.bytes as f64 * 8.0 / secs / 1e9
        )
    }
}
