//! The application layer of a flow: protocol probing, then delivery of reassembled bytes
//! to the analyzer that claimed the flow, holding back what it asked for (`NeedMore`).

use analyzers::registry::{DATAGRAM_ANALYZERS, STREAM_ANALYZERS};
use analyzers::AnalyzersConfig;
use capture::tcp::Chunk;
use model::{
    AnomalyCounts, Cx, DatagramAnalyzer, Direction, Event, FlowMeta, Probe, Progress,
    StreamAnalyzer, Timestamp,
};

/// What a worker's flows report into.
#[derive(Default)]
pub struct Sinks {
    pub events: Vec<Event>,
    pub anomalies: AnomalyCounts,
}

/// Limits of the application layer.
#[derive(Clone, Copy, Debug)]
pub struct AppLimits {
    pub probe_bytes: usize,
    pub max_pending_bytes: usize,
}

/// Per-flow application-layer state (the `S` of the flow table).
pub struct AppState {
    pub app: App,
    pub anomaly_budget: u32,
}

pub enum App {
    /// Nothing seen yet or probes still undecided.
    Probing(Box<Probing>),
    Stream(Box<Active>),
    Datagram(Box<dyn DatagramAnalyzer>),
    /// No analyzer wants this flow.
    Bypass,
}

pub struct Probing {
    buf: [Vec<u8>; 2],
    /// Probe again once a direction holds this many bytes: after a `NeedMore` the probes
    /// wait for the buffer to double, so probing costs O(bytes) per flow, not O(bytes^2).
    next_probe_at: [usize; 2],
    /// Per spec, per direction: true once that direction can no longer match.
    dead: Vec<[bool; 2]>,
    first_dir: Option<Direction>,
}

pub struct Active {
    an: Box<dyn StreamAnalyzer>,
    pending: [Vec<u8>; 2],
    needed: [usize; 2],
    abandoned: bool,
    eof: [bool; 2],
}

impl AppState {
    pub fn new(budget: u32) -> Self {
        AppState {
            app: App::Probing(Box::new(Probing::new(STREAM_ANALYZERS.len()))),
            anomaly_budget: budget,
        }
    }

    pub fn is_bypassed(&self) -> bool {
        matches!(self.app, App::Bypass)
    }
}

impl Probing {
    fn new(n: usize) -> Self {
        Probing {
            buf: [Vec::new(), Vec::new()],
            next_probe_at: [1, 1],
            dead: vec![[false; 2]; n],
            first_dir: None,
        }
    }
}

/// Indices of enabled stream specs, port hints first.
fn ordered_specs(cfg: &AnalyzersConfig, meta: &FlowMeta) -> Vec<usize> {
    let ports = [meta.key.dst_port, meta.key.src_port];
    let mut v: Vec<usize> = (0..STREAM_ANALYZERS.len())
        .filter(|&i| STREAM_ANALYZERS.get(i).is_some_and(|s| (s.enabled)(cfg)))
        .collect();
    v.sort_by_key(|&i| {
        let hinted = STREAM_ANALYZERS
            .get(i)
            .is_some_and(|s| ports.iter().any(|p| s.port_hints.contains(p)));
        (!hinted, i)
    });
    v
}

/// Everything a chunk delivery needs besides the flow's own state.
pub struct Ctx<'a> {
    pub ts: Timestamp,
    pub cfg: &'a AnalyzersConfig,
    pub lim: AppLimits,
    pub sinks: &'a mut Sinks,
    /// The connection was seen from its SYN (so its first bytes are the protocol's
    /// first bytes, not the middle of a stream joined late).
    pub from_start: bool,
}

impl AppState {
    /// Hands one reassembly output to the application layer.
    pub fn on_chunk(
        &mut self,
        cx: &mut Ctx<'_>,
        meta: &mut FlowMeta,
        dir: Direction,
        chunk: Chunk<'_>,
    ) {
        match chunk {
            Chunk::Anomaly(code) => {
                cx.sinks.anomalies.add("stream", code, 1);
                if self.anomaly_budget > 0 {
                    self.anomaly_budget -= 1;
                    cx.sinks.events.push(Event {
                        ts: cx.ts,
                        flow: Some(Box::new(meta.clone())),
                        kind: model::EventKind::Anomaly(model::AnomalyRecord {
                            kind: "stream",
                            event: code,
                            app_proto: meta.app_proto,
                            direction: Some(dir),
                        }),
                    });
                }
            }
            Chunk::Data(d) => self.on_data(cx, meta, dir, d),
            Chunk::Gap(n) => self.on_gap(cx, meta, dir, n),
            Chunk::Eof => {
                self.probe_at_end(cx, meta, dir);
                if let App::Stream(a) = &mut self.app {
                    let i = dir.index();
                    if !a.eof[i] && !a.abandoned {
                        a.eof[i] = true;
                        let mut c = Cx::new(
                            cx.ts,
                            meta,
                            &mut cx.sinks.events,
                            &mut cx.sinks.anomalies,
                            &mut self.anomaly_budget,
                        );
                        a.an.on_eof(&mut c, dir);
                    }
                }
            }
        }
    }

    fn on_data(&mut self, cx: &mut Ctx<'_>, meta: &mut FlowMeta, dir: Direction, data: &[u8]) {
        match &mut self.app {
            App::Bypass | App::Datagram(_) => {}
            App::Probing(p) => {
                let i = dir.index();
                p.first_dir.get_or_insert(dir);
                let room = cx.lim.probe_bytes.saturating_sub(p.buf[i].len());
                let take = data.len().min(room);
                p.buf[i].extend_from_slice(data.get(..take).unwrap_or_default());
                let full = p.buf[i].len() >= cx.lim.probe_bytes;
                if p.buf[i].len() < p.next_probe_at[i] && !full {
                    return;
                }
                self.probe(cx, meta, dir, full, data.get(take..).unwrap_or_default());
            }
            App::Stream(_) => self.deliver(cx, meta, dir, data),
        }
    }

    /// Runs the probes on what `dir` holds. `last`: no more bytes will come for probing
    /// (buffer full or direction ended), so `NeedMore` counts as no. `rest`: bytes of the
    /// current chunk past the probe buffer, delivered after a match.
    fn probe(
        &mut self,
        cx: &mut Ctx<'_>,
        meta: &mut FlowMeta,
        dir: Direction,
        last: bool,
        rest: &[u8],
    ) {
        let App::Probing(p) = &mut self.app else {
            return;
        };
        let i = dir.index();
        p.next_probe_at[i] = (p.buf[i].len() * 2).min(cx.lim.probe_bytes);
        let order = ordered_specs(cx.cfg, meta);
        let mut matched = None;
        for &s in &order {
            let Some(spec) = STREAM_ANALYZERS.get(s) else {
                continue;
            };
            if p.dead.get(s).is_some_and(|d| d[i]) {
                continue;
            }
            if p.buf[i].is_empty() {
                // A direction that ended without a byte can match nothing.
                if last {
                    if let Some(d) = p.dead.get_mut(s) {
                        d[i] = true;
                    }
                }
                continue;
            }
            match (spec.probe)(dir, &p.buf[i]) {
                Probe::Match => {
                    matched = Some(s);
                    break;
                }
                Probe::NoMatch => {
                    if let Some(d) = p.dead.get_mut(s) {
                        d[i] = true;
                    }
                }
                Probe::NeedMore => {
                    if last {
                        if let Some(d) = p.dead.get_mut(s) {
                            d[i] = true;
                        }
                    }
                }
            }
        }
        if let Some(s) = matched {
            let Some(spec) = STREAM_ANALYZERS.get(s) else {
                return;
            };
            meta.app_proto = Some(spec.name);
            let mut probing = std::mem::replace(
                &mut self.app,
                App::Stream(Box::new(Active {
                    an: (spec.build)(cx.cfg),
                    pending: [Vec::new(), Vec::new()],
                    needed: [0, 0],
                    abandoned: false,
                    eof: [false, false],
                })),
            );
            // Hand over what probing held, first direction first; bytes of this chunk past
            // the probe buffer follow.
            if let App::Probing(p) = &mut probing {
                let first = p.first_dir.unwrap_or(dir);
                for d in [first, first.reverse()] {
                    let b = std::mem::take(&mut p.buf[d.index()]);
                    if !b.is_empty() {
                        self.deliver(cx, meta, d, &b);
                    }
                }
            }
            if !rest.is_empty() {
                self.deliver(cx, meta, dir, rest);
            }
            return;
        }
        let all_dead = order
            .iter()
            .all(|&s| p.dead.get(s).is_none_or(|d| d[0] && d[1]));
        if all_dead {
            let had_data = !p.buf[0].is_empty() || !p.buf[1].is_empty();
            self.app = App::Bypass;
            // Traffic on a port a clinical analyzer is hinted for that is not that
            // protocol (binary garbage on 2575, a scanner on 104) is worth a named anomaly:
            // the analyzer itself never sees the flow. Only for connections seen from their
            // SYN and that carried bytes: a stream joined in the middle is expected not to
            // look like its start, and a bare handshake says nothing.
            let ports = [meta.key.dst_port, meta.key.src_port];
            let hinted = order
                .iter()
                .filter_map(|&s| STREAM_ANALYZERS.get(s))
                .find(|spec| ports.iter().any(|p| spec.port_hints.contains(p)));
            if let Some(spec) = hinted.filter(|_| cx.from_start && had_data) {
                let mut c = Cx::new(
                    cx.ts,
                    meta,
                    &mut cx.sinks.events,
                    &mut cx.sinks.anomalies,
                    &mut self.anomaly_budget,
                );
                c.anomaly(spec.name, "not_detected_on_hinted_port", Some(dir));
            }
        }
    }

    /// A direction ended while still probing: give the probes a last look at what it holds.
    fn probe_at_end(&mut self, cx: &mut Ctx<'_>, meta: &mut FlowMeta, dir: Direction) {
        if let App::Probing(_) = &self.app {
            self.probe(cx, meta, dir, true, &[]);
        }
    }

    fn deliver(&mut self, cx: &mut Ctx<'_>, meta: &mut FlowMeta, dir: Direction, data: &[u8]) {
        let App::Stream(a) = &mut self.app else {
            return;
        };
        if a.abandoned {
            return;
        }
        let i = dir.index();
        let mut c = Cx::new(
            cx.ts,
            meta,
            &mut cx.sinks.events,
            &mut cx.sinks.anomalies,
            &mut self.anomaly_budget,
        );
        if a.pending[i].is_empty() {
            let r = a.an.on_data(&mut c, dir, data);
            handle_progress(a, &mut c, dir, data, r, cx.lim);
        } else {
            if a.pending[i].len() + data.len() > cx.lim.max_pending_bytes {
                // The analyzer asked for more than we hold: drop what is held and tell it.
                let lost = a.pending[i].len() as u64;
                a.pending[i].clear();
                a.needed[i] = 0;
                c.anomaly("stream", "pending_cap_exceeded", Some(dir));
                a.an.on_gap(&mut c, dir, lost);
                let r = a.an.on_data(&mut c, dir, data);
                handle_progress(a, &mut c, dir, data, r, cx.lim);
                return;
            }
            a.pending[i].extend_from_slice(data);
            if a.pending[i].len() < a.needed[i] {
                return;
            }
            let held = std::mem::take(&mut a.pending[i]);
            let r = a.an.on_data(&mut c, dir, &held);
            handle_progress(a, &mut c, dir, &held, r, cx.lim);
        }
    }

    fn on_gap(&mut self, cx: &mut Ctx<'_>, meta: &mut FlowMeta, dir: Direction, n: u64) {
        match &mut self.app {
            App::Probing(p) => {
                // Probe again on what follows the hole.
                p.buf[dir.index()].clear();
                p.next_probe_at[dir.index()] = 1;
            }
            App::Stream(a) => {
                if a.abandoned {
                    return;
                }
                let i = dir.index();
                a.pending[i].clear();
                a.needed[i] = 0;
                let mut c = Cx::new(
                    cx.ts,
                    meta,
                    &mut cx.sinks.events,
                    &mut cx.sinks.anomalies,
                    &mut self.anomaly_budget,
                );
                a.an.on_gap(&mut c, dir, n);
            }
            _ => {}
        }
    }

    /// The flow ended: EOF for directions still open, then `on_close`.
    pub fn on_close(&mut self, cx: &mut Ctx<'_>, meta: &mut FlowMeta) {
        self.probe_at_end(cx, meta, Direction::ToServer);
        self.probe_at_end(cx, meta, Direction::ToClient);
        if let App::Stream(a) = &mut self.app {
            if a.abandoned {
                return;
            }
            let mut c = Cx::new(
                cx.ts,
                meta,
                &mut cx.sinks.events,
                &mut cx.sinks.anomalies,
                &mut self.anomaly_budget,
            );
            for d in [Direction::ToServer, Direction::ToClient] {
                if !a.eof[d.index()] {
                    a.eof[d.index()] = true;
                    a.an.on_eof(&mut c, d);
                }
            }
            a.an.on_close(&mut c);
        }
    }

    /// A UDP (or other datagram) payload.
    pub fn on_datagram(
        &mut self,
        cx: &mut Ctx<'_>,
        meta: &mut FlowMeta,
        dir: Direction,
        payload: &[u8],
    ) {
        if let App::Probing(_) = self.app {
            let ports = [meta.key.dst_port, meta.key.src_port];
            let mut specs: Vec<_> = DATAGRAM_ANALYZERS
                .iter()
                .filter(|s| (s.enabled)(cx.cfg))
                .collect();
            specs.sort_by_key(|s| !ports.iter().any(|p| s.port_hints.contains(p)));
            self.app = App::Bypass;
            for s in specs {
                if (s.probe)(dir, payload) == Probe::Match {
                    meta.app_proto = Some(s.name);
                    self.app = App::Datagram((s.build)(cx.cfg));
                    break;
                }
            }
        }
        if let App::Datagram(an) = &mut self.app {
            let mut c = Cx::new(
                cx.ts,
                meta,
                &mut cx.sinks.events,
                &mut cx.sinks.anomalies,
                &mut self.anomaly_budget,
            );
            an.on_datagram(&mut c, dir, payload);
        }
    }
}

fn handle_progress(
    a: &mut Active,
    c: &mut Cx<'_>,
    dir: Direction,
    data: &[u8],
    r: Progress,
    lim: AppLimits,
) {
    let i = dir.index();
    match r {
        Progress::Done => {
            a.needed[i] = 0;
        }
        Progress::NeedMore { consumed, needed } => {
            let rest = data.get(consumed.min(data.len())..).unwrap_or_default();
            if needed > lim.max_pending_bytes || rest.len() > lim.max_pending_bytes {
                c.anomaly("stream", "pending_cap_exceeded", Some(dir));
                a.an.on_gap(c, dir, rest.len() as u64);
                a.needed[i] = 0;
                return;
            }
            a.pending[i].clear();
            a.pending[i].extend_from_slice(rest);
            // Ask again only once more bytes arrived than are held now.
            a.needed[i] = needed.max(rest.len() + 1);
        }
        Progress::Abandon(reason) => {
            c.anomaly("stream", reason, Some(dir));
            a.abandoned = true;
            a.pending = [Vec::new(), Vec::new()];
        }
    }
}
