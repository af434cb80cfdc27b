//! The analyzer interface: how protocol analyzers receive bytes and report events.
//!
//! Modelled on Suricata's AppLayerResult and Zeek's DeliverStream/Undelivered/EndpointEOF:
//! the capture side owns flows and reassembly, and hands each analyzer in-order bytes per
//! direction ([`StreamAnalyzer::on_data`]), holes it will never see ([`StreamAnalyzer::on_gap`])
//! and the end of each direction ([`StreamAnalyzer::on_eof`]). Analyzers never do I/O and
//! never see packets.

use crate::event::{AnomalyRecord, Event, EventKind};
use crate::flow::{Direction, FlowMeta};
use crate::time::Timestamp;
use std::collections::HashMap;

/// What an analyzer did with the bytes it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Everything was consumed.
    Done,
    /// `consumed` bytes were used; the rest must be handed back, together with at least
    /// `needed` more bytes, on the next call. The caller buffers them up to its cap.
    NeedMore { consumed: usize, needed: usize },
    /// The stream cannot be understood any more; stop delivering to this analyzer.
    Abandon(&'static str),
}

/// The answer of a protocol probe on the first bytes of a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The bytes are this protocol.
    Match,
    /// The bytes are certainly not this protocol.
    NoMatch,
    /// Not enough bytes to tell yet.
    NeedMore,
}

/// A protocol analyzer on a reassembled TCP stream (one instance per flow).
pub trait StreamAnalyzer: Send {
    /// In-order bytes of one direction.
    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) -> Progress;
    /// `len` bytes of this direction were lost (capture loss, buffer cap); resynchronise.
    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64);
    /// This direction ended (FIN, RST or the flow's end).
    fn on_eof(&mut self, _cx: &mut Cx<'_>, _dir: Direction) {}
    /// The flow ended; called once, after `on_eof` of both directions. Emit what is pending.
    fn on_close(&mut self, _cx: &mut Cx<'_>) {}
}

/// A protocol analyzer on datagrams (UDP, or L2 frames such as LLDP).
pub trait DatagramAnalyzer: Send {
    fn on_datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, payload: &[u8]);
}

/// Anomaly counts by (analyzer or layer, code); summed per worker, never shared per packet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnomalyCounts(pub HashMap<(&'static str, &'static str), u64>);

impl AnomalyCounts {
    pub fn add(&mut self, layer: &'static str, code: &'static str, n: u64) {
        *self.0.entry((layer, code)).or_insert(0) += n;
    }
    pub fn merge(&mut self, other: &AnomalyCounts) {
        for (k, v) in &other.0 {
            *self.0.entry(*k).or_insert(0) += v;
        }
    }
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
    /// Sorted (layer, code, count) rows, for summaries and snapshots.
    pub fn sorted(&self) -> Vec<(&'static str, &'static str, u64)> {
        let mut v: Vec<_> = self.0.iter().map(|(k, n)| (k.0, k.1, *n)).collect();
        v.sort();
        v
    }
}

/// The context an analyzer reports through: the current capture time, the flow, and the
/// event and anomaly sinks of the worker.
pub struct Cx<'a> {
    /// Capture time of the packet that delivered these bytes.
    pub ts: Timestamp,
    pub flow: &'a FlowMeta,
    events: &'a mut Vec<Event>,
    anomalies: &'a mut AnomalyCounts,
    /// How many more anomaly events this flow may write (the rest are only counted).
    anomaly_budget: &'a mut u32,
}

impl<'a> Cx<'a> {
    pub fn new(
        ts: Timestamp,
        flow: &'a FlowMeta,
        events: &'a mut Vec<Event>,
        anomalies: &'a mut AnomalyCounts,
        anomaly_budget: &'a mut u32,
    ) -> Self {
        Cx {
            ts,
            flow,
            events,
            anomalies,
            anomaly_budget,
        }
    }

    /// Emits an event about this flow at the current capture time.
    pub fn emit(&mut self, kind: EventKind) {
        self.events.push(Event {
            ts: self.ts,
            flow: Some(Box::new(self.flow.clone())),
            kind,
        });
    }

    /// Counts an application-layer anomaly under `analyzer`/`code`, and writes an
    /// `anomaly` event while the flow's budget lasts.
    pub fn anomaly(&mut self, analyzer: &'static str, code: &'static str, dir: Option<Direction>) {
        self.anomalies.add(analyzer, code, 1);
        if *self.anomaly_budget > 0 {
            *self.anomaly_budget -= 1;
            self.emit(EventKind::Anomaly(AnomalyRecord {
                kind: "applayer",
                event: code,
                app_proto: Some(analyzer),
                direction: dir,
            }));
        }
    }

    /// Events emitted so far through this context's sink (tests use it).
    pub fn events(&self) -> &[Event] {
        self.events
    }
}
