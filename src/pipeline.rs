//! The threads of a run: a reader (file or single live handle) that decodes just enough to
//! pick a worker by a symmetric flow hash, N workers that each own a shard of the flow
//! table, and a writer that serialises events. Packets move in batches over bounded
//! queues: replay blocks when a queue is full (it never drops), live capture drops and
//! counts. Capture time advances the workers' clocks through in-band ticks, so timers fire
//! at the same packets whatever the worker count.

use crate::config::Config;
use crate::inventory::{DevicesView, InventoryRunner};
use crate::policy::PolicyRunner;
use crate::risk::RiskRunner;
use crate::summary::{ReaderStats, Summary};
use crate::worker::{Worker, WorkerStats};
use capture::decode::{decode, HashKey, LinkType};
use capture::defrag::{Defrag, DefragLimits, DefragOutcome};
use capture::file::MergedFiles;
use crossbeam_channel::{bounded, Receiver, Sender};
use model::{Event, Timestamp};
use outputs::metrics::{AppMetrics, CaptureSnapshot, Exporter};
use outputs::sink::EventSink;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often threads publish their counters to the metrics exporter (wall time).
pub(crate) const METRICS_TICK: Duration = Duration::from_secs(1);

/// A worker's counters as the exporter wants them; `captures` when it reads packets itself.
pub(crate) fn worker_snapshot(w: &mut Worker, captures: bool) -> CaptureSnapshot {
    let s = w.stats();
    CaptureSnapshot {
        captures,
        packets: s.packets,
        bytes: s.bytes,
        kernel_drops: 0,
        queue_drops: 0,
        flows_active: w.active_flows() as u64,
        flows_created: s.flows_created,
        flows_evicted: s.flows_evicted,
        gaps: s.gaps,
        cap_hits: s.cap_hits,
        buffered_bytes: w.buffered_bytes() as u64,
        anomalies: s.anomalies,
    }
}

/// The reader's counters as the exporter wants them.
pub(crate) fn reader_snapshot(r: &ReaderStats) -> CaptureSnapshot {
    CaptureSnapshot {
        captures: true,
        packets: r.packets,
        bytes: r.bytes,
        kernel_drops: r.kernel_drops,
        queue_drops: r.queue_drops,
        anomalies: r.anomalies.clone(),
        ..CaptureSnapshot::default()
    }
}

/// One packet (or clock tick) in a batch.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub ts: Timestamp,
    pub linktype: LinkType,
    pub off: u32,
    pub len: u32,
    pub origlen: u32,
    /// 0: a clock tick; 1: a frame; n > 1: a datagram rebuilt from n fragments.
    pub frames: u32,
    /// The bytes are at `off` in the batch's file mapping, not in its `data`.
    pub mapped: bool,
}

/// Packets for one worker: headers plus their bytes, either copied into `data` or, for a
/// memory-mapped capture file, left where they are in `map` (no copy at all).
#[derive(Default)]
pub struct Batch {
    pub entries: Vec<Entry>,
    pub data: Vec<u8>,
    pub map: Option<Arc<capture::file::Mmap>>,
}

impl Batch {
    fn push(&mut self, ts: Timestamp, linktype: LinkType, frame: &[u8], origlen: u32, frames: u32) {
        let off = self.data.len() as u32;
        self.data.extend_from_slice(frame);
        self.entries.push(Entry {
            ts,
            linktype,
            off,
            len: frame.len() as u32,
            origlen,
            frames,
            mapped: false,
        });
    }
    /// A frame that lies at `off` in the batch's mapping.
    fn push_mapped(
        &mut self,
        ts: Timestamp,
        linktype: LinkType,
        off: usize,
        len: usize,
        origlen: u32,
    ) {
        self.entries.push(Entry {
            ts,
            linktype,
            off: off as u32,
            len: len as u32,
            origlen,
            frames: 1,
            mapped: true,
        });
    }
    /// The bytes of an entry.
    pub fn frame(&self, e: &Entry) -> Option<&[u8]> {
        let range = e.off as usize..e.off as usize + e.len as usize;
        if e.mapped {
            self.map.as_ref()?.get(range)
        } else {
            self.data.get(range)
        }
    }
    fn tick(&mut self, ts: Timestamp) {
        self.entries.push(Entry {
            ts,
            linktype: LinkType(0),
            off: 0,
            len: 0,
            origlen: 0,
            frames: 0,
            mapped: false,
        });
    }
    fn clear(&mut self) {
        self.entries.clear();
        self.data.clear();
    }
}

/// Flows a worker ends per step at the end of input (their events go on between steps).
pub(crate) const FINISH_STEP: usize = 1024;

/// How many entries ahead of the one it decodes a worker prefetches frame headers.
const PREFETCH_AHEAD: usize = 4;

/// Runs a worker over batches until its queue closes; returns its counters. With an
/// exporter, publishes a snapshot of its counters as worker `index` about once a second
/// (checked per batch, never per packet) and once at the end.
pub(crate) fn worker_loop(
    mut w: Worker,
    rx: Receiver<Batch>,
    ret: Sender<Batch>,
    events: Sender<Vec<Event>>,
    metrics: Option<(Arc<Exporter>, usize)>,
    clock: Option<(Arc<Watermarks>, usize)>,
) -> WorkerStats {
    let mut last_publish = Instant::now();
    for mut b in rx {
        let upto = b.entries.last().map(|e| e.ts);
        for (i, e) in b.entries.iter().enumerate() {
            // The frames a few entries on come from main memory: ask for their headers now.
            if let Some(f) = b.entries.get(i + PREFETCH_AHEAD).and_then(|a| b.frame(a)) {
                capture::prefetch::headers(f.as_ptr(), f.len());
            }
            if e.frames == 0 {
                w.tick(e.ts);
                continue;
            }
            let Some(frame) = b.frame(e) else {
                continue;
            };
            w.packet(e.ts, e.linktype, frame, e.origlen, e.frames);
        }
        b.clear();
        let _ = ret.try_send(b);
        let ev = w.take_events();
        if !ev.is_empty() && events.send(ev).is_err() {
            break;
        }
        if let (Some((c, i)), Some(t)) = (&clock, upto) {
            c.set(*i, t);
        }
        if let Some((x, i)) = &metrics {
            if last_publish.elapsed() >= METRICS_TICK
                && x.publish_worker(*i, &worker_snapshot(&mut w, false), false)
            {
                last_publish = Instant::now();
            }
        }
    }
    while !w.finish_some(FINISH_STEP) {
        let ev = w.take_events();
        if !ev.is_empty() {
            let _ = events.send(ev);
        }
    }
    let ev = w.take_events();
    if !ev.is_empty() {
        let _ = events.send(ev);
    }
    if let Some((x, i)) = &metrics {
        x.publish_worker(*i, &worker_snapshot(&mut w, false), true);
    }
    w.stats()
}

/// How far in capture time each worker has handed on its events: a worker stores its
/// clock after sending the events of everything before it, so once the analysis thread
/// has drained its queue, no event older than the smallest mark is still to come (flow
/// records aside: they are written when the flow ends). Silence sweeps use it, so that a
/// worker whose batches fill slowly never makes another's devices look quiet.
pub(crate) struct Watermarks(Vec<std::sync::atomic::AtomicI64>);

impl Watermarks {
    pub fn new(n: usize) -> Self {
        Watermarks(
            (0..n.max(1))
                .map(|_| std::sync::atomic::AtomicI64::new(i64::MIN))
                .collect(),
        )
    }
    /// Worker `i` has handed on every event before `t`.
    pub fn set(&self, i: usize, t: Timestamp) {
        if let Some(a) = self.0.get(i) {
            a.fetch_max(t.micros(), std::sync::atomic::Ordering::Release);
        }
    }
    /// The smallest mark, once every worker has one.
    pub fn min(&self) -> Option<Timestamp> {
        let m = self
            .0
            .iter()
            .map(|a| a.load(std::sync::atomic::Ordering::Acquire))
            .min()?;
        (m != i64::MIN).then(|| Timestamp::from_secs_micros(0, m))
    }
}

/// What the analysis thread reads besides the events: the capture source's sensor-health
/// signals and the workers' capture-time marks.
#[derive(Default)]
pub(crate) struct SideInputs {
    pub sensor: Option<Receiver<rules::silence::SensorSignal>>,
    pub clock: Option<Arc<Watermarks>>,
}

/// Counts of events by type, and how writing went.
pub type WriterResult = (
    std::collections::BTreeMap<&'static str, u64>,
    std::io::Result<()>,
);

/// How often the writer hands buffered events to the output and flushes it.
const EVE_FLUSH_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// What the end of a run does with the analysis stage's structures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Teardown {
    /// Freed (a live run, or a caller that goes on).
    Free,
    /// Left to the end of the process, which comes next (the CLI's replay): once the last
    /// checkpoint is written and the state stores are closed, the inventory, the
    /// baselines and their index are not freed one allocation at a time (about 55M
    /// instructions for the 1 GiB benchmark's 2000 enforced baselines); the exit hands
    /// the memory back at once, as compilers do with their last structures.
    Exit,
}

/// The analysis stage: the inventory observes every event, the policy rules and
/// baselines evaluate it, the risk posture follows, and the derived events (`device`,
/// `alert`) are appended to their batch (the order of events is kept).
pub(crate) struct Analysis {
    inventory: Option<InventoryRunner>,
    policy: Option<PolicyRunner>,
    risk: Option<RiskRunner>,
    alerts_dropped: Arc<std::sync::atomic::AtomicU64>,
    side: SideInputs,
    teardown: Teardown,
}

impl Analysis {
    /// The workers' capture-time mark, read before taking a batch off the queue (every
    /// event before it is then in the queue).
    fn mark(&self) -> Option<Timestamp> {
        self.side.clock.as_ref().and_then(|c| c.min())
    }

    /// Runs the stage on one batch taken off `queue` after reading `mark`; `closed`: the
    /// input ended.
    fn process(
        &mut self,
        evs: &mut Vec<Event>,
        mark: Option<Timestamp>,
        queue: &Receiver<Vec<Event>>,
        closed: bool,
    ) {
        let Analysis {
            inventory,
            policy,
            risk,
            alerts_dropped,
            side,
            ..
        } = self;
        let mut derived: Vec<Event> = Vec::new();
        if let Some(p) = policy.as_mut() {
            // Each event: the inventory first, then the rules, which need its classes.
            for (i, e) in evs.iter().enumerate() {
                // The baselines' entries of an event 2 ahead (its own bytes were prefetched
                // 2 events ago, by the inventory's prefetch 4 ahead).
                if let Some(next) = evs.get(i + 2) {
                    p.prefetch(next);
                }
                if let Some(inv) = inventory.as_mut() {
                    inv.observe_one(evs, i, &mut derived);
                }
                p.evaluate(e, inventory.as_ref().map(|i| i.inventory()), &mut derived);
            }
            // What the capture source said about the interface, then silent devices.
            for sig in side.sensor.iter().flat_map(|r| r.try_iter()) {
                p.sensor(&sig, &mut derived);
            }
            if closed || side.clock.is_none() {
                // Every event is in: the latest activity time is now.
                p.sweep(None, &mut derived);
            } else if let (true, Some(m)) = (queue.is_empty(), mark) {
                // Checked after this batch's events, as the silence sweep's contract wants.
                // No sweep before every worker has a mark: the latest activity seen is the
                // fastest worker's time, and a device whose events sit in a slower
                // worker's batch would look quiet, then back, when they arrive.
                p.sweep(Some(m), &mut derived);
            }
            p.tick();
            if closed {
                // The alert engine's last follow-ups.
                p.finish(&mut derived);
            }
            alerts_dropped.store(p.dropped(), std::sync::atomic::Ordering::Relaxed);
        } else if let Some(inv) = inventory.as_mut() {
            inv.observe(evs, &mut derived);
        }
        if let (Some(r), Some(inv)) = (risk.as_mut(), inventory.as_mut()) {
            for e in evs.iter().chain(derived.iter()) {
                r.observe(inv.inventory_mut(), e);
            }
            let b = policy.as_ref().and_then(|p| p.baselines());
            r.refresh(inv.inventory_mut(), b, closed);
        }
        if let Some(inv) = inventory.as_mut() {
            inv.tick();
        }
        evs.append(&mut derived);
    }

    fn finish(&mut self) {
        if let Some(inv) = self.inventory.as_mut() {
            inv.finish();
        }
    }

    /// After [`Self::finish`]: frees the stage, or (`Teardown::Exit`) closes its state
    /// stores (SQLite folds its log into the database file on close, as before) and
    /// leaves the rest to the process's exit.
    fn end(mut self) {
        match self.teardown {
            Teardown::Free => drop(self),
            Teardown::Exit => {
                if let Some(inv) = self.inventory.as_mut() {
                    inv.close_store();
                }
                if let Some(p) = self.policy.as_mut() {
                    p.close_store();
                }
                std::mem::forget(self);
            }
        }
    }
}

/// The next batch of events, waiting at most [`EVE_FLUSH_TICK`] (an empty batch then: a
/// tick, so checkpoints, rule reloads and EVE flushes never wait for traffic); true once
/// every sender is gone.
fn next_batch(rx: &Receiver<Vec<Event>>) -> (Vec<Event>, bool) {
    match rx.recv_timeout(EVE_FLUSH_TICK) {
        Ok(evs) => (evs, false),
        Err(crossbeam_channel::RecvTimeoutError::Timeout) => (Vec::new(), false),
        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => (Vec::new(), true),
    }
}

/// The analysis stage on its own thread, ahead of the writer.
fn analysis_loop(rx: Receiver<Vec<Event>>, tx: Sender<Vec<Event>>, mut a: Analysis) {
    let mut closed = false;
    while !closed {
        let mark = a.mark();
        // A tick even when idle: checkpoints and rule reloads do not wait for traffic.
        let (mut evs, end) = next_batch(&rx);
        closed = end;
        a.process(&mut evs, mark, &rx, closed);
        // An empty batch still goes through: it is the writer's idle tick.
        if tx.send(evs).is_err() {
            break;
        }
    }
    a.finish();
    a.end();
}

/// Writes events as EVE lines; returns counts by event type. With an exporter, derives
/// the application metrics from the events (this thread sees each once, off the packet
/// path) and publishes them about once a second and at the end. Every event also goes
/// to each output sink (SIEM feeds), which never blocks; sinks are closed (bounded in
/// time) when the queue ends. With `analysis` (the default placement, see
/// `output.analysis_thread`), each batch goes through the analysis stage first, in this
/// thread, while its events are still in cache.
fn writer_loop(
    rx: Receiver<Vec<Event>>,
    mut out: Box<dyn Write + Send>,
    host: String,
    metrics: Option<(Arc<Exporter>, usize)>,
    alerts_dropped: Arc<std::sync::atomic::AtomicU64>,
    mut sinks: Vec<Box<dyn EventSink>>,
    mut analysis: Option<Analysis>,
) -> WriterResult {
    let mut counts = std::collections::BTreeMap::new();
    let mut buf = Vec::with_capacity(1 << 16);
    let mut res = Ok(());
    let mut app = metrics.as_ref().map(|(_, cap)| AppMetrics::new(*cap));
    let mut last_publish = Instant::now();
    let mut last_tick = Instant::now();
    let mut last_flush = Instant::now();
    let mut closed = false;
    while !closed {
        // A tick even when idle: live events reach the file within about a second, and an
        // EVE file asked to reopen (SIGHUP) does so without waiting for the next event.
        let mark = analysis.as_ref().and_then(Analysis::mark);
        let (mut evs, end) = next_batch(&rx);
        closed = end;
        if let Some(a) = analysis.as_mut() {
            a.process(&mut evs, mark, &rx, closed);
        }
        for e in &evs {
            *counts.entry(e.kind.event_type()).or_insert(0) += 1;
            e.write_eve(&host, &mut buf);
            // Out in slices of about 32 KiB, whatever the batch: the buffer never grows.
            if buf.len() >= 1 << 15 {
                if let Err(e) = out.write_all(&buf) {
                    res = Err(e);
                }
                buf.clear();
            }
        }
        for s in sinks.iter_mut() {
            for e in &evs {
                s.offer(e);
            }
        }
        if !sinks.is_empty() && last_tick.elapsed() >= METRICS_TICK {
            last_tick = Instant::now();
            for s in sinks.iter_mut() {
                s.tick();
            }
        }
        if let (Some(a), Some((x, _))) = (app.as_mut(), &metrics) {
            for e in &evs {
                a.observe(e);
            }
            a.alerts_dropped = alerts_dropped.load(std::sync::atomic::Ordering::Relaxed);
            if last_publish.elapsed() >= METRICS_TICK && x.publish_app(a, false) {
                last_publish = Instant::now();
            }
        }
        // Full slices went out above; what is left goes on the tick.
        let tick = last_flush.elapsed() >= EVE_FLUSH_TICK;
        if tick {
            if let Err(e) = out.write_all(&buf) {
                res = Err(e);
            }
            buf.clear();
            if let Err(e) = out.flush() {
                res = Err(e);
            }
            last_flush = Instant::now();
        }
    }
    if let Some(mut a) = analysis.take() {
        a.finish();
        a.end();
    }
    if res.is_ok() {
        res = out.write_all(&buf).and_then(|_| out.flush());
    }
    for s in sinks.iter_mut() {
        s.close(SINK_CLOSE_LIMIT);
    }
    if let (Some(a), Some((x, _))) = (app.as_mut(), &metrics) {
        a.alerts_dropped = alerts_dropped.load(std::sync::atomic::Ordering::Relaxed);
        x.publish_app(a, true);
    }
    (counts, res)
}

/// Chooses a worker with a hash that is the same for both directions of a flow.
pub struct Dispatcher {
    hasher: foldhash::fast::RandomState,
    n: usize,
}

impl Dispatcher {
    pub fn new(n: usize) -> Self {
        Dispatcher {
            hasher: foldhash::fast::RandomState::default(),
            n: n.max(1),
        }
    }
    /// The worker of a decoded frame.
    pub fn pick(&self, d: &capture::decode::Decoded<'_>) -> usize {
        if self.n == 1 {
            return 0;
        }
        match HashKey::of(d) {
            Some(k) => self.pick_key(&k),
            None if d.is_arp && d.payload.len() >= 18 => {
                // ARP: by sender IP, so one worker sees every binding of an address (and
                // reports a changed MAC as a change, not as a new binding elsewhere).
                let mut h = self.hasher.build_hasher();
                h.write(d.payload.get(14..18).unwrap_or_default());
                (h.finish() % self.n as u64) as usize
            }
            None => {
                // Non-IP frames: by MAC pair, so one station's L2 traffic stays together.
                let mut h = self.hasher.build_hasher();
                let a = d.src_mac.map(|m| m.0).unwrap_or_default();
                let b = d.dst_mac.map(|m| m.0).unwrap_or_default();
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                h.write(&lo);
                h.write(&hi);
                (h.finish() % self.n as u64) as usize
            }
        }
    }

    /// The worker of a flow key; the same for both directions.
    pub fn pick_key(&self, k: &HashKey) -> usize {
        if self.n == 1 {
            return 0;
        }
        let (lo, hi) = if k.src <= k.dst {
            (k.src, k.dst)
        } else {
            (k.dst, k.src)
        };
        let mut h = self.hasher.build_hasher();
        h.write_u16(k.vlan);
        h.write_u8(k.proto);
        h.write(&lo.0);
        h.write_u16(lo.1);
        h.write(&hi.0);
        h.write_u16(hi.1);
        (h.finish() % self.n as u64) as usize
    }
}

/// Progress reporting for a replay (a terminal bar, or nothing).
pub trait Progress: Send {
    fn update(&self, packets: u64, bytes: u64, file_pos: u64);
    fn finish(&self);
}

/// The reader's side of the pipeline: decodes enough of each frame to pick its worker,
/// reassembles IP fragments (so a datagram's pieces reach one worker), fills per-worker
/// batches, and emits a clock tick to every worker at each new second of capture time.
pub struct Dispatch {
    disp: Dispatcher,
    /// The mapped capture file whose frames are handed over by offset.
    map: Option<Arc<capture::file::Mmap>>,
    txs: Vec<Sender<Batch>>,
    ret: Receiver<Batch>,
    batches: Vec<Batch>,
    defrag: Defrag,
    batch_packets: usize,
    max_frame: usize,
    last_sec: i64,
    /// Replay waits for a full worker queue; live capture drops the batch and counts it.
    blocking: bool,
    /// Replay: a full queue is waited on until half drained (false once a worker is gone).
    replay_wait: bool,
    pub stats: ReaderStats,
    metrics: Option<Arc<Exporter>>,
    last_publish: Instant,
    /// Sensor health: silences of the interface, told to the analysis thread.
    sensor: Option<SensorFeed>,
}

/// Replay's wait for room in a full worker queue: polled in these steps until the queue is
/// half drained (see `Dispatch::send`), for at most `REPLAY_WAIT_MAX_STEPS` of them (then a
/// plain blocking send).
const REPLAY_WAIT_STEP: std::time::Duration = std::time::Duration::from_micros(200);
const REPLAY_WAIT_MAX_STEPS: u32 = 5_000;

/// Watches the interface for silence and hands the signals to the analysis thread.
pub(crate) struct SensorFeed {
    pub watch: rules::silence::SensorWatch,
    pub tx: Sender<rules::silence::SensorSignal>,
    sigs: Vec<rules::silence::SensorSignal>,
    /// Signals lost because the analysis thread's queue was full (logged once).
    lost: u64,
}

impl SensorFeed {
    pub fn new(
        watch: rules::silence::SensorWatch,
        tx: Sender<rules::silence::SensorSignal>,
    ) -> Self {
        SensorFeed {
            watch,
            tx,
            sigs: Vec::new(),
            lost: 0,
        }
    }

    /// Packets at `ts` (capture time on replay, the wall clock on live capture).
    #[inline]
    pub fn packet(&mut self, ts: Timestamp) {
        self.watch.packet(ts, &mut self.sigs);
        if !self.sigs.is_empty() {
            self.send();
        }
    }

    /// No packets up to `now` (live capture) since `start` or the last packet.
    pub fn idle(&mut self, now: Timestamp, start: Timestamp) {
        self.watch.idle(now, start, &mut self.sigs);
        self.send();
    }

    fn send(&mut self) {
        for s in self.sigs.drain(..) {
            if self.tx.try_send(s).is_err() {
                if self.lost == 0 {
                    tracing::warn!("Sensor-health signal queue full; a signal was lost.");
                }
                self.lost += 1;
            }
        }
    }
}

impl Dispatch {
    fn new(
        cfg: &Config,
        txs: Vec<Sender<Batch>>,
        ret: Receiver<Batch>,
        blocking: bool,
        metrics: Option<Arc<Exporter>>,
        sensor: Option<SensorFeed>,
    ) -> Self {
        let n = txs.len();
        Dispatch {
            map: None,
            disp: Dispatcher::new(n),
            batches: (0..n).map(|_| Batch::default()).collect(),
            txs,
            ret,
            defrag: Defrag::new(DefragLimits {
                max_datagrams: cfg.defrag.max_datagrams,
                timeout_secs: cfg.defrag.timeout,
            }),
            batch_packets: cfg.capture.batch_packets.max(1),
            max_frame: cfg.capture.max_frame_len as usize,
            last_sec: i64::MIN,
            blocking,
            replay_wait: true,
            stats: ReaderStats::default(),
            metrics,
            last_publish: Instant::now(),
            sensor,
        }
    }

    /// Live capture: packets were read now (wall clock).
    pub fn sensor_packets(&mut self, now: Timestamp) {
        if let Some(s) = self.sensor.as_mut() {
            s.packet(now);
        }
    }

    /// Live capture: nothing read up to `now` (wall clock) since `start` or the last packet.
    pub fn sensor_idle(&mut self, now: Timestamp, start: Timestamp) {
        if let Some(s) = self.sensor.as_mut() {
            s.idle(now, start);
        }
    }

    /// Publishes the reader's counters: on a tick (skipped while a scrape holds the lock),
    /// or at once with `wait`.
    pub fn publish(&mut self, wait: bool) {
        if let Some(x) = &self.metrics {
            if (wait || self.last_publish.elapsed() >= METRICS_TICK)
                && x.publish_reader(&reader_snapshot(&self.stats), wait)
            {
                self.last_publish = Instant::now();
            }
        }
    }

    /// Hands out frames of this mapping by offset instead of copying them (one mapped
    /// capture file; offsets must fit in 32 bits).
    pub fn set_mapping(&mut self, map: Option<Arc<capture::file::Mmap>>) {
        self.map = map.filter(|m| m.len() <= u32::MAX as usize);
        for b in self.batches.iter_mut() {
            b.map = self.map.clone();
        }
    }

    /// Offset of `data` in the mapping, when it lies there.
    fn mapped_offset(&self, data: &[u8]) -> Option<usize> {
        let m = self.map.as_ref()?;
        let start = m.as_ptr() as usize;
        let at = (data.as_ptr() as usize).checked_sub(start)?;
        (at + data.len() <= m.len()).then_some(at)
    }

    /// Adds a frame to worker `w`'s batch: by offset when it lies in the mapping.
    fn push_frame(&mut self, w: usize, ts: Timestamp, lt: LinkType, data: &[u8], origlen: u32) {
        let off = self.mapped_offset(data);
        if let Some(b) = self.batches.get_mut(w) {
            match off {
                Some(off) => b.push_mapped(ts, lt, off, data.len(), origlen),
                None => b.push(ts, lt, data, origlen, 1),
            }
        }
    }

    fn send(&mut self, i: usize) {
        let mut fresh = self.ret.try_recv().unwrap_or_default();
        fresh.map = self.map.clone();
        let (Some(b), Some(tx)) = (self.batches.get_mut(i), self.txs.get(i)) else {
            return;
        };
        let full = std::mem::replace(b, fresh);
        if self.blocking {
            // Replay never drops, and its reader outruns the workers: a plain blocking send
            // waits for one free slot at a time, so every batch a worker takes wakes the
            // reader (a futex round trip on both sides, 2-4% of a 1-worker replay). Waiting
            // in short sleeps until the queue is half drained makes it one per half queue;
            // the worker never runs dry meanwhile (half a queue is milliseconds of work).
            if self.replay_wait && tx.is_full() {
                let half = tx.capacity().unwrap_or(0) / 2;
                let mut steps = 0;
                while tx.len() > half && steps < REPLAY_WAIT_MAX_STEPS {
                    std::thread::sleep(REPLAY_WAIT_STEP);
                    steps += 1;
                }
            }
            if tx.send(full).is_err() {
                // A worker is gone (the run is ending in error): no more waiting for it.
                self.replay_wait = false;
            }
        } else if let Err(e) = tx.try_send(full) {
            let lost = e.into_inner();
            self.stats.queue_drops += lost.entries.iter().filter(|e| e.frames > 0).count() as u64;
        }
        self.publish(false);
    }

    /// Capture time reached `ts`: a tick for every worker at each new second.
    pub fn clock(&mut self, ts: Timestamp) {
        let sec = ts.secs();
        if sec > self.last_sec {
            if self.last_sec != i64::MIN {
                let t = Timestamp::from_secs_micros(sec, 0);
                for b in self.batches.iter_mut() {
                    b.tick(t);
                }
                self.defrag.expire(t);
                // Live: every partial batch goes once a second, so a worker with little
                // traffic still hands on its events and its clock (silence sweeps wait
                // for the slowest worker) within a second, not after a full batch.
                if !self.blocking {
                    self.last_sec = sec;
                    self.flush();
                }
            }
            self.last_sec = sec;
        }
    }

    /// One captured frame.
    pub fn packet(&mut self, ts: Timestamp, lt: LinkType, data: &[u8], origlen: u32) {
        self.stats.packets += 1;
        self.stats.bytes += u64::from(origlen);
        // Replay: the gap between consecutive packets' capture times.
        if self.blocking {
            if let Some(s) = self.sensor.as_mut() {
                s.packet(ts);
            }
        }
        let data = data
            .get(..data.len().min(self.max_frame))
            .unwrap_or_default();
        self.clock(ts);
        // Common case: read the flow key straight off the frame; the worker decodes it.
        if let Some(k) = HashKey::fast(lt, data) {
            let w = self.disp.pick_key(&k);
            self.push_frame(w, ts, lt, data, origlen);
            if self
                .batches
                .get(w)
                .is_some_and(|b| b.entries.len() >= self.batch_packets || b.data.len() >= 1 << 20)
            {
                self.send(w);
            }
            return;
        }
        let d = match decode(lt, data) {
            Ok(d) => d,
            Err(reason) => {
                self.stats.anomalies.add("decode", reason, 1);
                return;
            }
        };
        let w = if let Some(fr) = d.ip.and_then(|ip| ip.frag) {
            match self.defrag.add(ts, data, origlen, &d, fr) {
                DefragOutcome::Complete {
                    frame,
                    frames,
                    wire_bytes,
                } => {
                    self.stats.fragments_reassembled += 1;
                    let Ok(whole) = decode(lt, &frame) else {
                        self.stats
                            .anomalies
                            .add("decode", "malformed_reassembled", 1);
                        return;
                    };
                    let w = self.disp.pick(&whole);
                    let wire = u32::try_from(wire_bytes).unwrap_or(u32::MAX);
                    if let Some(b) = self.batches.get_mut(w) {
                        b.push(ts, lt, &frame, wire, frames);
                    }
                    w
                }
                DefragOutcome::Pending => return,
                DefragOutcome::Dropped(r) => {
                    self.stats.anomalies.add("decode", r, 1);
                    return;
                }
            }
        } else {
            let w = self.disp.pick(&d);
            self.push_frame(w, ts, lt, data, origlen);
            w
        };
        if self
            .batches
            .get(w)
            .is_some_and(|b| b.entries.len() >= self.batch_packets || b.data.len() >= 1 << 20)
        {
            self.send(w);
        }
    }

    /// Hands every partly filled batch to its worker (end of input, or a quiet moment on
    /// live capture).
    pub fn flush(&mut self) {
        for i in 0..self.batches.len() {
            if self.batches.get(i).is_some_and(|b| !b.entries.is_empty()) {
                self.send(i);
            }
        }
    }

    /// Flushes, closes the worker queues and returns the reader's counters.
    fn close(mut self) -> ReaderStats {
        self.flush();
        for (r, c) in &self.defrag.anomalies {
            self.stats.anomalies.add("decode", r, *c);
        }
        if self.defrag.pending() > 0 {
            self.stats
                .anomalies
                .add("decode", "frag_incomplete", self.defrag.pending() as u64);
        }
        self.txs.clear();
        self.publish(true);
        self.stats
    }
}

/// The worker and writer threads of a run, and the reader's dispatch into them.
pub struct Threads {
    pub dispatch: Dispatch,
    workers: Vec<std::thread::JoinHandle<WorkerStats>>,
    writer: std::thread::JoinHandle<WriterResult>,
}

impl Threads {
    /// Starts `n` workers fed by a dispatcher, and the EVE writer; every thread publishes
    /// its counters to `metrics` when given.
    pub fn start(
        cfg: &Arc<Config>,
        iface: Arc<str>,
        eve: Box<dyn Write + Send>,
        blocking: bool,
        metrics: Option<Arc<Exporter>>,
        devices: Option<DevicesView>,
        teardown: Teardown,
    ) -> Result<Threads, String> {
        let n = cfg.worker_count();
        let (ev_tx, ev_rx) = bounded::<Vec<Event>>(cfg.output.queue_batches.max(1));
        let (sensor, sensor_rx) = sensor_feed(cfg, &iface);
        let clock = Arc::new(Watermarks::new(n));
        let side = SideInputs {
            sensor: sensor_rx,
            clock: Some(clock.clone()),
        };
        let writer = spawn_writer(ev_rx, eve, cfg, metrics.clone(), devices, side, teardown)?;
        let (ret_tx, ret_rx) = crossbeam_channel::unbounded::<Batch>();
        let mut txs = Vec::new();
        let mut workers = Vec::new();
        for i in 0..n {
            let (tx, rx) = bounded::<Batch>(cfg.capture.queue_batches.max(1));
            let w = Worker::new(cfg.clone(), n, iface.clone());
            let (ret, evs) = (ret_tx.clone(), ev_tx.clone());
            let m = metrics.clone().map(|x| (x, i));
            let c = Some((clock.clone(), i));
            workers.push(
                std::thread::Builder::new()
                    .name(format!("ww-worker-{i}"))
                    .spawn(move || worker_loop(w, rx, ret, evs, m, c))
                    .map_err(|e| e.to_string())?,
            );
            txs.push(tx);
        }
        Ok(Threads {
            dispatch: Dispatch::new(cfg, txs, ret_rx, blocking, metrics, sensor),
            workers,
            writer,
        })
    }

    /// Ends the run: queues close, workers flush every flow, the writer drains.
    pub fn join(
        self,
    ) -> Result<
        (
            ReaderStats,
            WorkerStats,
            std::collections::BTreeMap<&'static str, u64>,
        ),
        String,
    > {
        let rs = self.dispatch.close();
        let mut ws = WorkerStats::default();
        for h in self.workers {
            ws.merge(&h.join().map_err(|_| "a worker thread failed".to_string())?);
        }
        let (events, res) = self
            .writer
            .join()
            .map_err(|_| "the writer thread failed".to_string())?;
        res.map_err(|e| format!("writing events: {e}"))?;
        Ok((rs, ws, events))
    }
}

/// Longest time the writer waits for each output sink at the end of a run (each sink
/// also has its own, shorter or equal, configured limit).
const SINK_CLOSE_LIMIT: Duration = Duration::from_secs(60);

/// Starts the SIEM feeds of `[[output.syslog]]`, registered with the exporter when given.
fn start_sinks(
    cfg: &Config,
    metrics: Option<&Arc<Exporter>>,
) -> Result<Vec<Box<dyn EventSink>>, String> {
    let boot = outputs::syslog::new_boot_id();
    let mut sinks: Vec<Box<dyn EventSink>> = Vec::new();
    for (i, c) in cfg.output.syslog.iter().enumerate() {
        if cfg.output.syslog[..i].iter().any(|o| o.name == c.name) {
            return Err(format!("output.syslog: two feeds named {:?}", c.name));
        }
        // A feed without its own spool directory keeps it under the state directory.
        let mut c = c.clone();
        if c.spool_dir.is_none() {
            c.spool_dir = cfg
                .state_dir
                .as_ref()
                .map(|d| d.join("syslog").join(&c.name));
        }
        let s = outputs::syslog::SyslogSink::start(&c, &cfg.sensor_name, &boot)?;
        if let Some(x) = metrics {
            x.add_sink(s.name(), s.stats());
        }
        sinks.push(Box::new(s));
    }
    Ok(sinks)
}

/// Sensor health of interface `iface` (`[silence] sensor_secs`): the watch for the capture
/// side and the queue the analysis thread reads; none when it is off.
pub(crate) fn sensor_feed(
    cfg: &Config,
    iface: &str,
) -> (
    Option<SensorFeed>,
    Option<Receiver<rules::silence::SensorSignal>>,
) {
    match rules::silence::SensorWatch::new(iface, cfg.silence.sensor_secs) {
        Some(w) if cfg.alerts.enabled => {
            // Signals are rare (at most two per silence of `sensor_secs`).
            let (tx, rx) = bounded(1024);
            (Some(SensorFeed::new(w, tx)), Some(rx))
        }
        _ => (None, None),
    }
}

pub(crate) fn spawn_writer(
    rx: Receiver<Vec<Event>>,
    eve: Box<dyn Write + Send>,
    cfg: &Config,
    metrics: Option<Arc<Exporter>>,
    devices: Option<DevicesView>,
    side: SideInputs,
    teardown: Teardown,
) -> Result<std::thread::JoinHandle<WriterResult>, String> {
    let host = cfg.sensor_name.clone();
    let sinks = start_sinks(cfg, metrics.as_ref())?;
    let inv = InventoryRunner::open(cfg, devices, metrics.clone())?;
    let m = metrics.map(|x| (x, cfg.output.metrics_hl7_types));
    let pol = PolicyRunner::open(cfg, inv.as_ref().map(|i| i.inventory()))?;
    let risk = match inv {
        Some(_) => RiskRunner::open(cfg)?,
        None => None,
    };
    let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // With an inventory or rules, the analysis stage runs in the writer thread, or on a
    // thread of its own ahead of it.
    let stage = (inv.is_some() || pol.is_some()).then(|| Analysis {
        inventory: inv,
        policy: pol,
        risk,
        alerts_dropped: dropped.clone(),
        side,
        teardown,
    });
    let (rx, analysis, inline) = match stage {
        Some(a) if cfg.output.analysis_thread => {
            let (tx2, rx2) = bounded::<Vec<Event>>(cfg.output.queue_batches.max(1));
            let h = std::thread::Builder::new()
                .name("ww-analysis".into())
                .spawn(move || analysis_loop(rx, tx2, a))
                .map_err(|e| e.to_string())?;
            (rx2, Some(h), None)
        }
        inline => (rx, None, inline),
    };
    std::thread::Builder::new()
        .name("ww-writer".into())
        .spawn(move || {
            let r = writer_loop(rx, eve, host, m, dropped, sinks, inline);
            // The analysis thread ended before the writer's queue closed.
            if let Some(h) = analysis {
                let _ = h.join();
            }
            r
        })
        .map_err(|e| e.to_string())
}

/// Replays capture files through the pipeline, writing EVE to `eve`. Never drops. With
/// `metrics`, every thread publishes its counters to it on a tick. `teardown`: whether
/// the caller's process ends after the run (see [`Teardown::Exit`]).
pub fn run_replay(
    cfg: Config,
    paths: &[PathBuf],
    eve: Box<dyn Write + Send>,
    progress: Option<Box<dyn Progress>>,
    metrics: Option<Arc<Exporter>>,
    devices: Option<DevicesView>,
    teardown: Teardown,
) -> Result<Summary, String> {
    let start = Instant::now();
    let mut src = MergedFiles::open(paths).map_err(|e| e.to_string())?;
    let cfg = Arc::new(cfg);
    let iface: Arc<str> = Arc::from(
        paths
            .first()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pcap".into())
            .as_str(),
    );
    if let Some(x) = &metrics {
        x.set_ready(true);
    }
    let mut t = Threads::start(&cfg, iface, eve, true, metrics, devices, teardown)?;
    let d = &mut t.dispatch;
    d.set_mapping(src.single_mapping());
    while src
        .next_with(|hdr, data| d.packet(hdr.ts, hdr.linktype, data, hdr.origlen))
        .is_some()
    {
        if let Some(p) = &progress {
            if d.stats.packets % 16_384 == 0 {
                p.update(d.stats.packets, d.stats.bytes, src.position());
            }
        }
    }
    for f in src.files() {
        for (r, c) in &f.anomalies.0 {
            d.stats.anomalies.add("file", r, *c);
        }
    }
    let workers = cfg.worker_count();
    let (rs, ws, events) = t.join()?;
    if let Some(p) = &progress {
        p.finish();
    }
    Ok(Summary::new(rs, ws, events, start.elapsed(), workers))
}
