//! One worker: its shard of the flow table, reassembly and the application layer. A worker
//! owns everything it touches; nothing is shared or locked per packet.

use crate::app::{AppLimits, AppState, Ctx, Sinks};
use crate::config::Config;
use capture::decode::{decode, Decoded, LinkType, L4};
use capture::defrag::{Defrag, DefragLimits, DefragOutcome};
use capture::flow::{Flow, FlowLimits, FlowTable, TcpConnState, TimeoutClass};
use capture::tcp::{Budget, ReassemblyLimits, TcpReassembler};
use model::{
    AnomalyCounts, Direction, Event, EventKind, FlowEndReason, FlowKey, FlowMeta, FlowRecord,
    IpProto, StreamRecord, TcpRecord, Timestamp,
};
use std::sync::Arc;

const SYN: u8 = 0x02;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// Counters of one worker (merged into the run summary; flushed to metrics on a tick).
#[derive(Debug, Default, Clone)]
pub struct WorkerStats {
    pub packets: u64,
    pub bytes: u64,
    pub ip_packets: u64,
    pub non_ip: u64,
    pub arp: u64,
    pub fragments_reassembled: u64,
    pub flows_created: u64,
    pub flows_evicted: u64,
    pub flows_timed_out: u64,
    pub flows_ended: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub cap_hits: u64,
    pub reassembled_bytes: u64,
    /// Decode anomalies by reason (`decode`/reason) plus stream and analyzer anomalies.
    pub anomalies: AnomalyCounts,
}

impl WorkerStats {
    pub fn merge(&mut self, o: &WorkerStats) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.ip_packets += o.ip_packets;
        self.non_ip += o.non_ip;
        self.arp += o.arp;
        self.fragments_reassembled += o.fragments_reassembled;
        self.flows_created += o.flows_created;
        self.flows_evicted += o.flows_evicted;
        self.flows_timed_out += o.flows_timed_out;
        self.flows_ended += o.flows_ended;
        self.gaps += o.gaps;
        self.gap_bytes += o.gap_bytes;
        self.cap_hits += o.cap_hits;
        self.reassembled_bytes += o.reassembled_bytes;
        self.anomalies.merge(&o.anomalies);
    }
}

pub struct Worker {
    cfg: Arc<Config>,
    table: FlowTable<AppState>,
    budget: Budget,
    rlim: ReassemblyLimits,
    alim: AppLimits,
    /// Used on live capture, where this worker sees fragments itself.
    defrag: Defrag,
    pub sinks: Sinks,
    pub stats: WorkerStats,
    in_iface: Arc<str>,
    clock: Timestamp,
    ended: Vec<(Flow<AppState>, FlowEndReason)>,
    /// LLDP, CDP and ARP on non-IP Ethernet frames.
    l2: analyzers::l2::L2Analyzers,
}

impl Worker {
    pub fn new(cfg: Arc<Config>, workers: usize, in_iface: Arc<str>) -> Self {
        let f = &cfg.flow;
        let limits = FlowLimits {
            max_flows: (f.max_flows / workers.max(1)).max(1),
            tcp_new_timeout: f.tcp_new_timeout,
            tcp_established_timeout: f.tcp_established_timeout,
            tcp_closed_timeout: f.tcp_closed_timeout,
            udp_timeout: f.udp_timeout,
            other_timeout: f.other_timeout,
            active_timeout: f.active_timeout,
        };
        Worker {
            table: FlowTable::new(limits),
            budget: Budget::new(cfg.stream.global_bytes / workers.max(1)),
            rlim: ReassemblyLimits {
                per_flow_bytes: cfg.stream.per_flow_bytes,
            },
            alim: AppLimits {
                probe_bytes: cfg.stream.probe_bytes,
                max_pending_bytes: cfg.stream.max_pending_bytes,
            },
            defrag: Defrag::new(DefragLimits {
                max_datagrams: cfg.defrag.max_datagrams,
                timeout_secs: cfg.defrag.timeout,
            }),
            sinks: Sinks::default(),
            stats: WorkerStats::default(),
            in_iface,
            clock: Timestamp(i64::MIN),
            ended: Vec::new(),
            l2: analyzers::l2::L2Analyzers::new(&cfg.analyzers),
            cfg,
        }
    }

    pub fn set_iface(&mut self, iface: Arc<str>) {
        self.in_iface = iface;
    }

    /// Active flows in this worker.
    pub fn active_flows(&self) -> usize {
        self.table.len()
    }

    /// Bytes buffered out of order in this worker.
    pub fn buffered_bytes(&self) -> usize {
        self.budget.used
    }

    /// Counts a packet that never reached a worker's decoder (the reader decoded it).
    pub fn count_decode_error(&mut self, reason: &'static str) {
        self.stats.anomalies.add("decode", reason, 1);
    }

    /// One captured frame, counted as captured by this worker (live fanout, where each
    /// worker reads its own socket).
    pub fn captured(&mut self, ts: Timestamp, lt: LinkType, frame: &[u8], origlen: u32) {
        self.stats.packets += 1;
        self.stats.bytes += u64::from(origlen);
        self.packet(ts, lt, frame, origlen, 1);
    }

    /// One frame from the reader (which counted it as captured). `frames` > 1 when it is a
    /// datagram rebuilt from that many fragments, `origlen` then their total wire bytes.
    pub fn packet(&mut self, ts: Timestamp, lt: LinkType, frame: &[u8], origlen: u32, frames: u32) {
        if ts > self.clock {
            self.clock = ts;
        }
        let d = match decode(lt, frame) {
            Ok(d) => d,
            Err(reason) => {
                self.stats.anomalies.add("decode", reason, 1);
                return;
            }
        };
        let Some(ip) = d.ip else {
            if d.is_arp {
                self.stats.arp += 1;
            } else {
                self.stats.non_ip += 1;
            }
            if lt == LinkType::ETHERNET && self.l2.any_enabled() {
                let s = &mut self.sinks;
                self.l2.on_frame(ts, frame, &mut s.events, &mut s.anomalies);
            }
            return;
        };
        if let Some(fr) = ip.frag {
            // Fragments reach a worker only on live capture without kernel defragmentation.
            match self.defrag.add(ts, frame, origlen, &d, fr) {
                DefragOutcome::Complete {
                    frame: whole,
                    frames: n,
                    wire_bytes,
                } => {
                    self.stats.fragments_reassembled += 1;
                    let wire = u32::try_from(wire_bytes).unwrap_or(u32::MAX);
                    self.packet(ts, lt, &whole, wire, n);
                }
                DefragOutcome::Pending => {}
                DefragOutcome::Dropped(r) => self.stats.anomalies.add("decode", r, 1),
            }
            return;
        }
        self.stats.ip_packets += 1;
        if let Some(w) = d.warning {
            self.stats.anomalies.add("decode", w, 1);
        }
        self.flow_packet(ts, &d, frame, origlen, frames);
    }

    fn flow_packet(
        &mut self,
        ts: Timestamp,
        d: &Decoded<'_>,
        frame: &[u8],
        origlen: u32,
        frames: u32,
    ) {
        let Some(ip) = d.ip else { return };
        let (sport, dport) = match d.l4 {
            L4::Icmp { ty, code } => (u16::from(icmp_request_type(ip.proto, ty)), u16::from(code)),
            L4::Tcp(_) | L4::Udp => (d.src_port, d.dst_port),
            L4::Other => (0, 0),
        };
        let key = FlowKey {
            vlan: d.vlan,
            proto: ip.proto,
            src_ip: ip.src,
            src_port: sport,
            dst_ip: ip.dst,
            dst_port: dport,
        };
        let tcp = if let L4::Tcp(t) = d.l4 { Some(t) } else { None };
        let flags = tcp.map(|t| t.flags).unwrap_or(0);

        let mut found = self.table.find(&key);
        if let Some((idx, _)) = found {
            if let Some(f) = self.table.get(idx) {
                let idle = ts.micros_since(f.last) / 1_000_000;
                let age = ts.micros_since(f.start) / 1_000_000;
                let lim = &self.table.limits;
                let timeout = class_timeout(f.class(), lim);
                // A new SYN on a closed connection is a new connection on the same ports.
                let reuse = flags & (SYN | ACK) == SYN && f.tcp_state == TcpConnState::Closed;
                if idle >= timeout || age >= lim.active_timeout || reuse {
                    if let Some(old) = self.table.remove(idx) {
                        let reason = FlowEndReason::Timeout;
                        self.end_flow(old, reason, ts);
                    }
                    found = None;
                }
            }
        }
        let (idx, dir) = match found {
            Some((idx, to_server)) => (
                idx,
                if to_server {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                },
            ),
            None => {
                // The originator is the sender, except when the first packet is a SYN-ACK.
                let reversed = flags & (SYN | ACK) == (SYN | ACK);
                let (okey, smac, dmac) = if reversed {
                    (key.reversed(), d.dst_mac, d.src_mac)
                } else {
                    (key, d.src_mac, d.dst_mac)
                };
                let meta = FlowMeta {
                    flow_id: okey.flow_id(ts.micros()),
                    key: okey,
                    in_iface: self.in_iface.clone(),
                    src_mac: smac,
                    dest_mac: dmac,
                    app_proto: None,
                };
                let class = if ip.proto == IpProto::TCP {
                    TimeoutClass::TcpNew
                } else if ip.proto == IpProto::UDP {
                    TimeoutClass::Udp
                } else {
                    TimeoutClass::Other
                };
                let mut ended = std::mem::take(&mut self.ended);
                let idx = self.table.insert(
                    meta,
                    ts,
                    class,
                    AppState::new(self.cfg.flow.anomaly_events_per_flow),
                    &mut |f, r| ended.push((f, r)),
                );
                for (f, r) in ended.drain(..) {
                    self.end_flow(f, r, ts);
                }
                self.ended = ended;
                self.stats.flows_created += 1;
                (
                    idx,
                    if reversed {
                        Direction::ToClient
                    } else {
                        Direction::ToServer
                    },
                )
            }
        };

        let bypass_unknown = self.cfg.stream.bypass_unknown;
        let Some(f) = self.table.get_mut(idx) else {
            return;
        };
        let i = dir.index();
        f.pkts[i] += u64::from(frames.max(1));
        f.bytes[i] += u64::from(origlen);
        let mut class = f.class();
        if let Some(t) = tcp {
            if t.flags & SYN != 0 {
                record_p0f(f, frame, ip.l3_offset, t.flags);
            }
            f.tcp_flags[i] |= t.flags;
            update_tcp_state(f, dir, t.flags);
            class = match f.tcp_state {
                TcpConnState::None | TcpConnState::SynSent | TcpConnState::SynRecv => {
                    if f.pkts[0] > 0 && f.pkts[1] > 0 && f.tcp_state == TcpConnState::None {
                        TimeoutClass::TcpEstablished
                    } else {
                        TimeoutClass::TcpNew
                    }
                }
                TcpConnState::Established | TcpConnState::Closing => TimeoutClass::TcpEstablished,
                TcpConnState::Closed => TimeoutClass::TcpClosed,
            };
            let skip = bypass_unknown && f.state.is_bypassed();
            if !skip {
                let reasm = f.tcp.get_or_insert_with(|| Box::new(TcpReassembler::new()));
                let mut cx = Ctx {
                    ts,
                    cfg: &self.cfg.analyzers,
                    lim: self.alim,
                    sinks: &mut self.sinks,
                    from_start: f.tcp_flags[0] & SYN != 0,
                };
                let state = &mut f.state;
                let meta = &mut f.meta;
                reasm.segment(
                    dir,
                    &t,
                    d.payload,
                    &self.rlim,
                    &mut self.budget,
                    &mut |dd, chunk| state.on_chunk(&mut cx, meta, dd, chunk),
                );
                if bypass_unknown && f.state.is_bypassed() {
                    // Nobody wants these bytes: stop reassembling and free the buffer.
                    if let Some(r) = f.tcp.as_mut() {
                        r.release(&mut self.budget);
                    }
                }
            }
        } else if matches!(d.l4, L4::Udp) && !d.payload.is_empty() {
            let mut cx = Ctx {
                ts,
                cfg: &self.cfg.analyzers,
                lim: self.alim,
                sinks: &mut self.sinks,
                from_start: true,
            };
            f.state.on_datagram(&mut cx, &mut f.meta, dir, d.payload);
        }
        self.table.touch(idx, ts, class);
    }

    /// Capture time advanced to `now` (in-band tick from the reader): expire flows.
    pub fn tick(&mut self, now: Timestamp) {
        if now > self.clock {
            self.clock = now;
        }
        let mut ended = std::mem::take(&mut self.ended);
        self.table.expire(now, &mut |f, r| ended.push((f, r)));
        for (f, r) in ended.drain(..) {
            self.end_flow(f, r, now);
        }
        self.ended = ended;
        self.defrag.expire(now);
    }

    /// End of capture or shutdown: every open flow is written out.
    pub fn finish(&mut self) {
        while !self.finish_some(usize::MAX) {}
    }

    /// [`Worker::finish`] in steps: ends up to `max` open flows, oldest first, and returns
    /// false while flows remain; once none is left, folds in the final counters and
    /// returns true. A table of a million flows is then handed on in slices of events
    /// (taken between steps) instead of one huge batch.
    pub fn finish_some(&mut self, max: usize) -> bool {
        let mut ended = std::mem::take(&mut self.ended);
        let more = self.table.drain_some(max, &mut |f, r| ended.push((f, r)));
        let now = self.clock;
        for (f, r) in ended.drain(..) {
            self.end_flow(f, r, now);
        }
        self.ended = ended;
        if more {
            return false;
        }
        for (r, n) in &self.defrag.anomalies {
            self.stats.anomalies.add("decode", r, *n);
        }
        self.defrag.anomalies.clear();
        if self.defrag.pending() > 0 {
            self.stats
                .anomalies
                .add("decode", "frag_incomplete", self.defrag.pending() as u64);
        }
        self.stats.flows_evicted = self.table.stats.evicted;
        self.stats.flows_timed_out = self.table.stats.timed_out;
        true
    }

    fn end_flow(&mut self, mut f: Flow<AppState>, reason: FlowEndReason, now: Timestamp) {
        let ts = if now > f.last { f.last } else { now };
        let mut cx = Ctx {
            ts,
            cfg: &self.cfg.analyzers,
            lim: self.alim,
            sinks: &mut self.sinks,
            from_start: f.tcp_flags[0] & SYN != 0,
        };
        let mut stream = None;
        if let Some(mut r) = f.tcp.take() {
            {
                let state = &mut f.state;
                let meta = &mut f.meta;
                r.finish(&mut self.budget, &mut |dd, chunk| {
                    state.on_chunk(&mut cx, meta, dd, chunk)
                });
            }
            r.release(&mut self.budget);
            let s = r.stats;
            self.stats.gaps += s.gaps;
            self.stats.gap_bytes += s.gap_bytes;
            self.stats.cap_hits += s.cap_hits;
            self.stats.reassembled_bytes += s.delivered[0] + s.delivered[1];
            stream = Some(StreamRecord {
                bytes_toserver: s.delivered[0],
                bytes_toclient: s.delivered[1],
                gaps: s.gaps,
                gap_bytes: s.gap_bytes,
                overlaps_differ: s.overlaps_differ,
                midstream: s.midstream,
            });
        }
        f.state.on_close(&mut cx, &mut f.meta);
        let tcp = (f.meta.key.proto == IpProto::TCP).then(|| TcpRecord {
            flags: f.tcp_flags[0] | f.tcp_flags[1],
            flags_ts: f.tcp_flags[0],
            flags_tc: f.tcp_flags[1],
            state: f.tcp_state.name(),
            syn_signature: f.p0f.as_ref().and_then(|p| p[0]),
            synack_signature: f.p0f.as_ref().and_then(|p| p[1]),
        });
        let rec = FlowRecord {
            pkts_toserver: f.pkts[0],
            pkts_toclient: f.pkts[1],
            bytes_toserver: f.bytes[0],
            bytes_toclient: f.bytes[1],
            start: f.start,
            end: f.last,
            age: f.last.micros_since(f.start) / 1_000_000,
            state: f.eve_state(),
            reason,
            stream,
            tcp,
        };
        self.stats.flows_ended += 1;
        self.sinks.events.push(Event {
            ts: f.start,
            flow: Some(Box::new(f.meta)),
            kind: EventKind::Flow(rec),
        });
    }

    /// Takes the events produced so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.sinks.events)
    }

    /// Takes the counters (anomalies from the application layer are folded in).
    pub fn stats(&mut self) -> WorkerStats {
        let mut s = self.stats.clone();
        s.anomalies.merge(&self.sinks.anomalies);
        s.flows_evicted = self.table.stats.evicted;
        s.flows_timed_out = self.table.stats.timed_out;
        s
    }
}

/// Keeps the p0f signature of the flow's first SYN and first SYN+ACK (called for SYN
/// segments only).
fn record_p0f(f: &mut Flow<AppState>, frame: &[u8], l3: usize, flags: u8) {
    let Some(synack) = capture::p0f::kind(flags) else {
        return;
    };
    let slot = usize::from(synack);
    if f.p0f.as_ref().is_some_and(|p| p[slot].is_some()) {
        return;
    }
    let syn_mss = f.p0f.as_ref().and_then(|p| p[0]).map_or(0, |s| s.mss);
    let Some(sig) = frame
        .get(l3..)
        .and_then(|b| capture::p0f::signature(b, syn_mss))
    else {
        return;
    };
    let p = f.p0f.get_or_insert_with(|| Box::new([None, None]));
    p[slot] = Some(sig);
}

fn class_timeout(c: TimeoutClass, l: &FlowLimits) -> u64 {
    match c {
        TimeoutClass::TcpNew => l.tcp_new_timeout,
        TimeoutClass::TcpEstablished => l.tcp_established_timeout,
        TimeoutClass::TcpClosed => l.tcp_closed_timeout,
        TimeoutClass::Udp => l.udp_timeout,
        TimeoutClass::Other => l.other_timeout,
    }
}

fn update_tcp_state(f: &mut Flow<AppState>, dir: Direction, flags: u8) {
    use TcpConnState::*;
    if flags & RST != 0 {
        f.tcp_state = Closed;
        return;
    }
    if flags & FIN != 0 {
        f.fin_seen[dir.index()] = true;
        f.tcp_state = if f.fin_seen[0] && f.fin_seen[1] {
            Closed
        } else {
            Closing
        };
        return;
    }
    f.tcp_state = match (f.tcp_state, flags & (SYN | ACK), dir) {
        (None, SYN, Direction::ToServer) => SynSent,
        (None | SynSent, x, Direction::ToClient) if x == SYN | ACK => SynRecv,
        (SynRecv, ACK, Direction::ToServer) => Established,
        (None, _, _) if f.pkts[0] > 0 && f.pkts[1] > 0 => Established,
        (s, _, _) => s,
    };
}

/// ICMP replies share the flow of their request (echo, timestamp, info, address mask).
fn icmp_request_type(proto: IpProto, ty: u8) -> u8 {
    match (proto.0, ty) {
        (1, 0) => 8,
        (1, 14) => 13,
        (1, 16) => 15,
        (1, 18) => 17,
        (58, 129) => 128,
        _ => ty,
    }
}
