//! The threads of a run: a reader (file or single live handle) that decodes just enough to
//! pick a worker by a symmetric flow hash, N workers that each own a shard of the flow
//! table, and a writer that serialises events. Packets move in batches over bounded
//! queues: replay blocks when a queue is full (it never drops), live capture drops and
//! counts. Capture time advances the workers' clocks through in-band ticks, so timers fire
//! at the same packets whatever the worker count.

use crate::config::Config;
use crate::summary::{ReaderStats, Summary};
use crate::worker::{Worker, WorkerStats};
use capture::decode::{decode, LinkType};
use capture::defrag::{Defrag, DefragLimits, DefragOutcome};
use capture::file::MergedFiles;
use crossbeam_channel::{bounded, Receiver, Sender};
use model::{Event, Timestamp};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

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
}

/// Packets for one worker: headers plus their bytes in one buffer.
#[derive(Default)]
pub struct Batch {
    pub entries: Vec<Entry>,
    pub data: Vec<u8>,
}

impl Batch {
    fn push(&mut self, ts: Timestamp, linktype: LinkType, frame: &[u8], origlen: u32, frames: u32) {
        let off = self.data.len() as u32;
        self.data.extend_from_slice(frame);
        self.entries.push(Entry { ts, linktype, off, len: frame.len() as u32, origlen, frames });
    }
    fn tick(&mut self, ts: Timestamp) {
        self.entries.push(Entry { ts, linktype: LinkType(0), off: 0, len: 0, origlen: 0, frames: 0 });
    }
    fn clear(&mut self) {
        self.entries.clear();
        self.data.clear();
    }
}

/// Runs a worker over batches until its queue closes; returns its counters.
fn worker_loop(mut w: Worker, rx: Receiver<Batch>, ret: Sender<Batch>, events: Sender<Vec<Event>>) -> WorkerStats {
    for mut b in rx {
        for e in &b.entries {
            if e.frames == 0 {
                w.tick(e.ts);
                continue;
            }
            let Some(frame) = b.data.get(e.off as usize..(e.off + e.len) as usize) else { continue };
            w.packet(e.ts, e.linktype, frame, e.origlen, e.frames);
        }
        b.clear();
        let _ = ret.try_send(b);
        let ev = w.take_events();
        if !ev.is_empty() && events.send(ev).is_err() {
            break;
        }
    }
    w.finish();
    let ev = w.take_events();
    if !ev.is_empty() {
        let _ = events.send(ev);
    }
    w.stats()
}

/// Writes events as EVE lines; returns counts by event type.
fn writer_loop(rx: Receiver<Vec<Event>>, mut out: Box<dyn Write + Send>, host: String) -> (std::collections::BTreeMap<&'static str, u64>, std::io::Result<()>) {
    let mut counts = std::collections::BTreeMap::new();
    let mut buf = Vec::with_capacity(1 << 16);
    let mut res = Ok(());
    for evs in rx {
        for e in &evs {
            *counts.entry(e.kind.event_type()).or_insert(0) += 1;
            e.write_eve(&host, &mut buf);
        }
        if buf.len() >= 1 << 15 {
            if let Err(e) = out.write_all(&buf) {
                res = Err(e);
            }
            buf.clear();
        }
    }
    if res.is_ok() {
        res = out.write_all(&buf).and_then(|_| out.flush());
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
        Dispatcher { hasher: foldhash::fast::RandomState::default(), n: n.max(1) }
    }
    pub fn pick(&self, d: &capture::decode::Decoded<'_>) -> usize {
        if self.n == 1 {
            return 0;
        }
        let mut h = self.hasher.build_hasher();
        match d.ip {
            Some(ip) => {
                let a = (ip.src, d.src_port);
                let b = (ip.dst, d.dst_port);
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                h.write_u16(d.vlan[0]);
                h.write_u8(ip.proto.0);
                std::hash::Hash::hash(&lo, &mut h);
                std::hash::Hash::hash(&hi, &mut h);
            }
            None => {
                // Non-IP frames: by MAC pair, so one station's L2 traffic stays together.
                let a = d.src_mac.map(|m| m.0).unwrap_or_default();
                let b = d.dst_mac.map(|m| m.0).unwrap_or_default();
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                h.write(&lo);
                h.write(&hi);
            }
        }
        (h.finish() % self.n as u64) as usize
    }
}

/// Progress reporting for a replay (a terminal bar, or nothing).
pub trait Progress: Send {
    fn update(&self, packets: u64, bytes: u64, file_pos: u64);
    fn finish(&self);
}

/// Replays capture files through the pipeline, writing EVE to `eve`.
pub fn run_replay(
    cfg: Config,
    paths: &[PathBuf],
    eve: Box<dyn Write + Send>,
    progress: Option<Box<dyn Progress>>,
) -> Result<Summary, String> {
    let start = Instant::now();
    let mut src = MergedFiles::open(paths).map_err(|e| e.to_string())?;
    let n = cfg.worker_count();
    let cfg = Arc::new(cfg);
    let iface: Arc<str> = Arc::from(
        paths
            .first()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pcap".into())
            .as_str(),
    );

    let (ev_tx, ev_rx) = bounded::<Vec<Event>>(cfg.output.queue_batches.max(1));
    let host = cfg.sensor_name.clone();
    let writer = std::thread::Builder::new()
        .name("ww-writer".into())
        .spawn(move || writer_loop(ev_rx, eve, host))
        .map_err(|e| e.to_string())?;

    let (ret_tx, ret_rx) = crossbeam_channel::unbounded::<Batch>();
    let mut txs = Vec::new();
    let mut handles = Vec::new();
    for i in 0..n {
        let (tx, rx) = bounded::<Batch>(cfg.capture.queue_batches.max(1));
        let w = Worker::new(cfg.clone(), n, iface.clone());
        let (ret, evs) = (ret_tx.clone(), ev_tx.clone());
        handles.push(
            std::thread::Builder::new()
                .name(format!("ww-worker-{i}"))
                .spawn(move || worker_loop(w, rx, ret, evs))
                .map_err(|e| e.to_string())?,
        );
        txs.push(tx);
    }
    drop(ev_tx);
    drop(ret_tx);

    let disp = Dispatcher::new(n);
    let mut rs = ReaderStats::default();
    let mut defrag = Defrag::new(DefragLimits { max_datagrams: cfg.defrag.max_datagrams, timeout_secs: cfg.defrag.timeout });
    let mut batches: Vec<Batch> = (0..n).map(|_| Batch::default()).collect();
    let batch_packets = cfg.capture.batch_packets.max(1);
    let max_frame = cfg.capture.max_frame_len as usize;
    let mut last_sec = i64::MIN;
    let send = |i: usize, batches: &mut Vec<Batch>| {
        let fresh = ret_rx.try_recv().unwrap_or_default();
        if let (Some(b), Some(tx)) = (batches.get_mut(i), txs.get(i)) {
            let full = std::mem::replace(b, fresh);
            // Replay never drops: wait for the worker.
            let _ = tx.send(full);
        }
    };
    loop {
        let mut pushed: Option<usize> = None;
        let got = src.next_with(|hdr, data| {
            rs.packets += 1;
            rs.bytes += u64::from(hdr.origlen);
            let data = data.get(..data.len().min(max_frame)).unwrap_or_default();
            // Capture time moves forward only; each new second is a tick for every worker.
            let sec = hdr.ts.secs();
            if sec > last_sec {
                if last_sec != i64::MIN {
                    for b in batches.iter_mut() {
                        b.tick(Timestamp::from_secs_micros(sec, 0));
                    }
                }
                last_sec = sec;
            }
            let d = match decode(hdr.linktype, data) {
                Ok(d) => d,
                Err(reason) => {
                    rs.anomalies.add("decode", reason, 1);
                    return;
                }
            };
            if let Some(fr) = d.ip.and_then(|ip| ip.frag) {
                match defrag.add(hdr.ts, data, hdr.origlen, &d, fr) {
                    DefragOutcome::Complete { frame, frames, wire_bytes } => {
                        rs.fragments_reassembled += 1;
                        if let Ok(whole) = decode(hdr.linktype, &frame) {
                            let w = disp.pick(&whole);
                            let wire = u32::try_from(wire_bytes).unwrap_or(u32::MAX);
                            if let Some(b) = batches.get_mut(w) {
                                b.push(hdr.ts, hdr.linktype, &frame, wire, frames);
                            }
                            pushed = Some(w);
                        }
                    }
                    DefragOutcome::Pending => {}
                    DefragOutcome::Dropped(r) => rs.anomalies.add("decode", r, 1),
                }
                return;
            }
            let w = disp.pick(&d);
            if let Some(b) = batches.get_mut(w) {
                b.push(hdr.ts, hdr.linktype, data, hdr.origlen, 1);
            }
            pushed = Some(w);
        });
        if got.is_none() {
            break;
        }
        if let Some(w) = pushed {
            if batches.get(w).is_some_and(|b| b.entries.len() >= batch_packets || b.data.len() >= 1 << 20) {
                send(w, &mut batches);
            }
        }
        if let Some(p) = &progress {
            if rs.packets % 16_384 == 0 {
                p.update(rs.packets, rs.bytes, src.position());
            }
        }
    }
    for i in 0..n {
        if batches.get(i).is_some_and(|b| !b.entries.is_empty()) {
            send(i, &mut batches);
        }
    }
    drop(txs);
    for f in src.files() {
        for (r, c) in &f.anomalies.0 {
            rs.anomalies.add("file", r, *c);
        }
    }
    for (r, c) in &defrag.anomalies {
        rs.anomalies.add("decode", r, *c);
    }
    let mut ws = WorkerStats::default();
    for h in handles {
        match h.join() {
            Ok(s) => ws.merge(&s),
            Err(_) => return Err("a worker thread failed".into()),
        }
    }
    let (events, res) = writer.join().map_err(|_| "the writer thread failed".to_string())?;
    res.map_err(|e| format!("writing events: {e}"))?;
    if let Some(p) = &progress {
        p.finish();
    }
    Ok(Summary::new(rs, ws, events, start.elapsed(), n))
}
