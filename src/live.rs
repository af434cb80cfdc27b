//! Live capture until SIGINT or SIGTERM, then a clean shutdown that writes every open flow.
//!
//! Two ways: one libpcap handle read by a reader thread that feeds the workers over
//! bounded queues (a full queue drops the batch and counts it: live capture must never
//! stall the kernel ring), or `af-packet`: one handle per worker in a PACKET_FANOUT hash
//! group, each worker reading its own socket with no queue at all.

use crate::config::Config;
use crate::inventory::DevicesView;
use crate::pipeline::{
    sensor_feed, spawn_writer, worker_snapshot, SideInputs, Teardown, Threads, Watermarks,
    METRICS_TICK,
};
use crate::summary::{ReaderStats, Summary};
use crate::worker::{Worker, WorkerStats};
use capture::live::{LiveOptions, LiveSource, LiveStats};
use crossbeam_channel::bounded;
use model::{Event, Timestamp};
use outputs::metrics::Exporter;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Set by the signal handler; checked between reads (never per packet).
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

#[allow(unsafe_code)] // reason: installing a signal handler is unsafe in libc.
fn install_signal_handlers() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

fn options(cfg: &Config, iface: &str, fanout: Option<u16>) -> LiveOptions {
    LiveOptions {
        interface: iface.to_string(),
        snaplen: cfg.capture.snaplen,
        promiscuous: cfg.capture.promiscuous,
        bpf: cfg.capture.bpf.clone(),
        buffer_bytes: cfg.capture.buffer_mib.saturating_mul(1 << 20),
        fanout_group: fanout,
    }
}

fn wall_now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_secs_micros(d.as_secs() as i64, i64::from(d.subsec_micros()))
}

/// Captures on `iface` until SIGINT/SIGTERM; with `metrics`, threads publish their
/// counters (and the kernel's drop count) to it about once a second.
pub fn run_live(
    cfg: Config,
    iface: &str,
    fanout: bool,
    eve: Box<dyn Write + Send>,
    metrics: Option<Arc<Exporter>>,
    devices: Option<DevicesView>,
) -> Result<Summary, String> {
    STOP.store(false, Ordering::SeqCst);
    install_signal_handlers();
    let start = Instant::now();
    let cfg = Arc::new(cfg);
    if fanout {
        return run_fanout(cfg, iface, eve, start, metrics, devices);
    }
    let mut src = LiveSource::open(&options(&cfg, iface, None))?;
    let mut t = Threads::start(
        &cfg,
        Arc::from(iface),
        eve,
        false,
        metrics.clone(),
        devices,
        Teardown::Free,
    )?;
    if let Some(x) = &metrics {
        x.set_ready(true);
    }
    eprintln!(
        "wardwatch: capturing on {iface} (pcap, {} workers)",
        cfg.worker_count()
    );
    let mut last_packet = Instant::now();
    let mut last_kstats = Instant::now();
    let mut err = None;
    // Sensor health counts silence from the start of capture.
    let started = wall_now();
    while !STOP.load(Ordering::Relaxed) {
        if metrics.is_some() && last_kstats.elapsed() >= METRICS_TICK {
            let k = src.stats();
            t.dispatch.stats.kernel_drops = k.dropped + k.if_dropped;
            t.dispatch.publish(false);
            last_kstats = Instant::now();
        }
        if !src.wait(100) {
            // Quiet interface: hand over partial batches, and let capture time follow the
            // clock so idle flows still time out.
            t.dispatch.flush();
            if last_packet.elapsed() >= Duration::from_secs(1) {
                t.dispatch.clock(wall_now());
            }
            t.dispatch.sensor_idle(wall_now(), started);
            continue;
        }
        let d = &mut t.dispatch;
        match src.read_ready(4096, |ts, lt, data, len| d.packet(ts, lt, data, len)) {
            Ok(n) if n > 0 => {
                last_packet = Instant::now();
                t.dispatch.sensor_packets(wall_now());
            }
            Ok(_) => {}
            Err(e) => {
                err = Some(format!("{iface}: {e}"));
                break;
            }
        }
    }
    let k = src.stats();
    let workers = cfg.worker_count();
    t.dispatch.stats.kernel_drops = k.dropped + k.if_dropped;
    let (mut rs, ws, events) = t.join()?;
    rs.kernel_drops = k.dropped + k.if_dropped;
    if let Some(e) = err {
        return Err(e);
    }
    Ok(Summary::new(rs, ws, events, start.elapsed(), workers))
}

/// One capture socket per worker in a PACKET_FANOUT group.
fn run_fanout(
    cfg: Arc<Config>,
    iface: &str,
    eve: Box<dyn Write + Send>,
    start: Instant,
    metrics: Option<Arc<Exporter>>,
    devices: Option<DevicesView>,
) -> Result<Summary, String> {
    let n = cfg.worker_count();
    let group = if cfg.capture.fanout_group != 0 {
        cfg.capture.fanout_group
    } else {
        (std::process::id() & 0xffff) as u16
    };
    // Open every socket before any thread starts, so a bad interface fails at once.
    let mut sources = Vec::new();
    for _ in 0..n {
        sources.push(LiveSource::open(&options(&cfg, iface, Some(group)))?);
    }
    let (ev_tx, ev_rx) = bounded::<Vec<Event>>(cfg.output.queue_batches.max(1));
    let (sensor, sensor_rx) = sensor_feed(&cfg, iface);
    let clock = Arc::new(Watermarks::new(n));
    let side = SideInputs {
        sensor: sensor_rx,
        clock: Some(clock.clone()),
    };
    let writer = spawn_writer(
        ev_rx,
        eve,
        &cfg,
        metrics.clone(),
        devices,
        side,
        Teardown::Free,
    )?;
    // Sensor health over every socket: the workers note the wall-clock second of their
    // last read with packets; a watcher turns that into silence signals.
    let last_read = Arc::new(std::sync::atomic::AtomicI64::new(i64::MIN));
    let watcher = match sensor {
        Some(mut feed) => {
            let last_read = last_read.clone();
            Some(
                std::thread::Builder::new()
                    .name("ww-sensor".into())
                    .spawn(move || {
                        let started = wall_now();
                        let mut seen = i64::MIN;
                        while !STOP.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_millis(100));
                            let t = last_read.load(Ordering::Relaxed);
                            if t > seen {
                                seen = t;
                                feed.packet(Timestamp::from_secs_micros(0, t));
                            } else {
                                feed.idle(wall_now(), started);
                            }
                        }
                    })
                    .map_err(|e| e.to_string())?,
            )
        }
        None => None,
    };
    if let Some(x) = &metrics {
        x.set_ready(true);
    }
    eprintln!("wardwatch: capturing on {iface} (af-packet fanout group {group}, {n} workers)");
    let mut handles = Vec::new();
    for (i, mut src) in sources.into_iter().enumerate() {
        let mut w = Worker::new(cfg.clone(), n, Arc::from(iface));
        let evs = ev_tx.clone();
        let metrics = metrics.clone();
        let last_read = last_read.clone();
        let clock = clock.clone();
        let h = std::thread::Builder::new()
            .name(format!("ww-worker-{i}"))
            .spawn(move || -> (WorkerStats, LiveStats, Option<String>) {
                let mut last_sec = i64::MIN;
                // The latest capture time this worker has processed (for silence sweeps).
                let mut upto = Timestamp::from_secs_micros(0, i64::MIN);
                let mut last_packet = Instant::now();
                let mut last_publish = Instant::now();
                let mut err = None;
                let publish = |w: &mut Worker, src: &mut LiveSource, wait: bool| match &metrics {
                    Some(x) => {
                        let mut snap = worker_snapshot(w, true);
                        let k = src.stats();
                        snap.kernel_drops = k.dropped + k.if_dropped;
                        x.publish_worker(i, &snap, wait)
                    }
                    None => true,
                };
                while !STOP.load(Ordering::Relaxed) {
                    if last_publish.elapsed() >= METRICS_TICK && publish(&mut w, &mut src, false) {
                        last_publish = Instant::now();
                    }
                    if !src.wait(100) {
                        if last_packet.elapsed() >= Duration::from_secs(1) {
                            let now = wall_now();
                            upto = now;
                            w.tick(now);
                        }
                    } else {
                        let r = src.read_ready(4096, |ts, lt, data, len| {
                            let sec = ts.secs();
                            if sec > last_sec {
                                if last_sec != i64::MIN {
                                    w.tick(Timestamp::from_secs_micros(sec, 0));
                                }
                                last_sec = sec;
                            }
                            upto = ts;
                            w.captured(ts, lt, data, len);
                        });
                        match r {
                            Ok(n) if n > 0 => {
                                last_packet = Instant::now();
                                last_read.fetch_max(wall_now().micros(), Ordering::Relaxed);
                            }
                            Ok(_) => {}
                            Err(e) => {
                                err = Some(e);
                                break;
                            }
                        }
                    }
                    let ev = w.take_events();
                    if !ev.is_empty() && evs.send(ev).is_err() {
                        break;
                    }
                    clock.set(i, upto);
                }
                while !w.finish_some(crate::pipeline::FINISH_STEP) {
                    let ev = w.take_events();
                    if !ev.is_empty() {
                        let _ = evs.send(ev);
                    }
                }
                let ev = w.take_events();
                if !ev.is_empty() {
                    let _ = evs.send(ev);
                }
                publish(&mut w, &mut src, true);
                (w.stats(), src.stats(), err)
            })
            .map_err(|e| e.to_string())?;
        handles.push(h);
    }
    drop(ev_tx);
    let mut ws = WorkerStats::default();
    if let Some(w) = watcher {
        // It ends with STOP, like the workers; it holds no event queue.
        let _ = w.join();
    }
    let mut rs = ReaderStats::default();
    let mut first_err = None;
    for h in handles {
        let (s, k, e) = h.join().map_err(|_| "a worker thread failed".to_string())?;
        ws.merge(&s);
        rs.kernel_drops += k.dropped + k.if_dropped;
        if first_err.is_none() {
            first_err = e;
        }
    }
    let (events, res) = writer
        .join()
        .map_err(|_| "the writer thread failed".to_string())?;
    res.map_err(|e| format!("writing events: {e}"))?;
    if let Some(e) = first_err {
        return Err(format!("{iface}: {e}"));
    }
    Ok(Summary::new(rs, ws, events, start.elapsed(), n))
}
