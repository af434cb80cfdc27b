//! The flow table: bidirectional flows keyed by VLAN + 5-tuple, with per-direction counts,
//! TCP state, idle timeouts per state class, a hard cap with eviction of the oldest idle
//! flow, and `FlowTable<S>` carrying the pipeline's per-flow state `S`.
//!
//! Timers run on capture time only. Each timeout class keeps its flows in an intrusive
//! least-recently-seen list, so expiry pops list tails in O(expired) and eviction compares
//! a handful of tails; a packet costs one hash lookup and a list splice.

use crate::tcp::TcpReassembler;
use model::{FlowEndReason, FlowKey, FlowMeta, FlowState, Timestamp};
use std::hash::BuildHasher;

/// Flow limits and timeouts (seconds of capture time).
#[derive(Debug, Clone, Copy)]
pub struct FlowLimits {
    pub max_flows: usize,
    pub tcp_new_timeout: u64,
    pub tcp_established_timeout: u64,
    pub tcp_closed_timeout: u64,
    pub udp_timeout: u64,
    pub other_timeout: u64,
    /// A flow older than this is ended (reason `timeout`) and continues as a new flow.
    pub active_timeout: u64,
}

impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits {
            max_flows: 1 << 20,
            tcp_new_timeout: 60,
            tcp_established_timeout: 3600,
            tcp_closed_timeout: 30,
            udp_timeout: 120,
            other_timeout: 60,
            active_timeout: 86_400,
        }
    }
}

/// Timeout classes; each has its own list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutClass {
    TcpNew = 0,
    TcpEstablished = 1,
    TcpClosed = 2,
    Udp = 3,
    Other = 4,
}
const NCLASS: usize = 5;

impl TimeoutClass {
    fn timeout(self, l: &FlowLimits) -> u64 {
        match self {
            TimeoutClass::TcpNew => l.tcp_new_timeout,
            TimeoutClass::TcpEstablished => l.tcp_established_timeout,
            TimeoutClass::TcpClosed => l.tcp_closed_timeout,
            TimeoutClass::Udp => l.udp_timeout,
            TimeoutClass::Other => l.other_timeout,
        }
    }
}

/// TCP connection state as far as a passive observer can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcpConnState {
    #[default]
    None,
    SynSent,
    SynRecv,
    Established,
    /// One side sent FIN.
    Closing,
    /// Both sides sent FIN, or RST.
    Closed,
}

impl TcpConnState {
    pub fn name(self) -> &'static str {
        match self {
            TcpConnState::None => "none",
            TcpConnState::SynSent => "syn_sent",
            TcpConnState::SynRecv => "syn_recv",
            TcpConnState::Established => "established",
            TcpConnState::Closing => "closing",
            TcpConnState::Closed => "closed",
        }
    }
}

/// One flow.
#[derive(Debug)]
pub struct Flow<S> {
    pub meta: FlowMeta,
    pub start: Timestamp,
    pub last: Timestamp,
    pub pkts: [u64; 2],
    pub bytes: [u64; 2],
    pub tcp_flags: [u8; 2],
    pub tcp_state: TcpConnState,
    pub fin_seen: [bool; 2],
    /// p0f signatures of the SYN and the SYN+ACK, boxed: most flows have neither.
    pub p0f: Option<Box<[Option<model::p0f::P0fSignature>; 2]>>,
    pub tcp: Option<Box<TcpReassembler>>,
    pub state: S,
    class: TimeoutClass,
}

/// A flow's place in its class's activity list. Kept apart from the (large) flows, in a
/// compact array: moving a flow to the front touches its neighbours' links, and those
/// are then a few cache lines of one small array instead of two random flows.
#[derive(Debug, Clone, Copy)]
struct Link {
    prev: u32,
    next: u32,
    class: u8,
}

const UNLINKED: Link = Link {
    prev: NIL,
    next: NIL,
    class: 0,
};

impl<S> Flow<S> {
    /// EVE flow state.
    pub fn eve_state(&self) -> FlowState {
        match self.tcp_state {
            TcpConnState::Closed => FlowState::Closed,
            TcpConnState::Established | TcpConnState::Closing => FlowState::Established,
            TcpConnState::None if self.pkts[0] > 0 && self.pkts[1] > 0 => FlowState::Established,
            _ => FlowState::New,
        }
    }
    pub fn class(&self) -> TimeoutClass {
        self.class
    }
}

const NIL: u32 = u32::MAX;

/// Flows remembered by [`FlowTable::find`] ahead of the index.
const RECENT: usize = 8;

#[derive(Debug, Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

/// Counters kept by the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub created: u64,
    pub evicted: u64,
    pub timed_out: u64,
}

/// The flow table of one worker.
pub struct FlowTable<S> {
    /// Index: (hash of the canonical key, slot). Sixteen bytes a flow instead of the key
    /// itself (about 48 with its bucket), so the index of a busy span port's hundreds of
    /// thousands of flows stays small.
    map: hashbrown::HashTable<(u64, u32)>,
    hasher: foldhash::fast::RandomState,
    slots: Vec<Option<Flow<S>>>,
    /// `links[i]` places `slots[i]` in its class's list.
    links: Vec<Link>,
    /// Flows in the table (the index may also hold stale entries while it drains).
    live: usize,
    /// The last [`RECENT`] flows found through the index, as (hash, slot), replaced in
    /// turn. Most packets belong to a flow seen a few packets before (a burst, a request
    /// and its answer): about 70% on the hospital workload. Their lookup skips the index,
    /// two cache misses (control bytes, then bucket), and finds the flow still in cache.
    /// An entry may be stale (its flow ended, the slot reused): the slot's key is checked.
    recent: [(u64, u32); RECENT],
    recent_next: usize,
    free: Vec<u32>,
    lists: [List; NCLASS],
    pub limits: FlowLimits,
    pub stats: FlowStats,
}

impl<S> FlowTable<S> {
    pub fn new(limits: FlowLimits) -> Self {
        FlowTable {
            map: hashbrown::HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            slots: Vec::new(),
            links: Vec::new(),
            live: 0,
            recent: [(0, NIL); RECENT],
            recent_next: 0,
            free: Vec::new(),
            lists: [List {
                head: NIL,
                tail: NIL,
            }; NCLASS],
            limits,
            stats: FlowStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.live
    }
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Finds the flow of a packet seen as `key` (source = this packet's sender).
    /// Returns the slot and whether the packet goes to the server.
    pub fn find(&mut self, key: &FlowKey) -> Option<(u32, bool)> {
        let (canon, _) = key.canonical();
        let h = self.hasher.hash_one(canon);
        for &(eh, i) in &self.recent {
            if eh == h {
                if let Some(hit) = self.holds(i, key) {
                    return Some(hit);
                }
            }
        }
        let slots = &self.slots;
        let &(_, idx) = self.map.find(h, |&(eh, i)| {
            eh == h
                && slots
                    .get(i as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|f| f.meta.key.canonical().0 == canon)
        })?;
        // The slot must hold this flow (a draining table leaves stale index entries).
        let hit = self.holds(idx, key)?;
        self.remember(h, idx);
        Some(hit)
    }

    fn remember(&mut self, h: u64, idx: u32) {
        if let Some(r) = self.recent.get_mut(self.recent_next) {
            *r = (h, idx);
        }
        self.recent_next = (self.recent_next + 1) % RECENT;
    }

    /// `Some((idx, to_server))` when slot `idx` holds the flow of a packet seen as `key`.
    #[inline]
    fn holds(&self, idx: u32, key: &FlowKey) -> Option<(u32, bool)> {
        let f = self.slots.get(idx as usize)?.as_ref()?;
        if f.meta.key == *key {
            Some((idx, true))
        } else if f.meta.key == key.reversed() {
            Some((idx, false))
        } else {
            None
        }
    }

    pub fn get_mut(&mut self, idx: u32) -> Option<&mut Flow<S>> {
        self.slots.get_mut(idx as usize)?.as_mut()
    }
    pub fn get(&self, idx: u32) -> Option<&Flow<S>> {
        self.slots.get(idx as usize)?.as_ref()
    }

    /// Inserts a new flow (the caller looked it up first). When the table is full the
    /// oldest idle flow is evicted and handed to `ended`.
    pub fn insert<F: FnMut(Flow<S>, FlowEndReason)>(
        &mut self,
        meta: FlowMeta,
        ts: Timestamp,
        class: TimeoutClass,
        state: S,
        ended: &mut F,
    ) -> u32 {
        while self.live >= self.limits.max_flows.max(1) {
            match self.oldest() {
                Some(victim) => {
                    if let Some(f) = self.remove(victim) {
                        self.stats.evicted += 1;
                        ended(f, FlowEndReason::Evicted);
                    }
                }
                None => break,
            }
        }
        let (canon, _) = meta.key.canonical();
        let flow = Flow {
            meta,
            start: ts,
            last: ts,
            pkts: [0; 2],
            bytes: [0; 2],
            tcp_flags: [0; 2],
            tcp_state: TcpConnState::None,
            fin_seen: [false; 2],
            p0f: None,
            tcp: None,
            state,
            class,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.slots.get_mut(i as usize) {
                    *slot = Some(flow);
                }
                i
            }
            None => {
                self.slots.push(Some(flow));
                self.links.push(UNLINKED);
                (self.slots.len() - 1) as u32
            }
        };
        let h = self.hasher.hash_one(canon);
        self.map.insert_unique(h, (h, idx), |&(eh, _)| eh);
        // Its next packet (the answer to a SYN, a request) is likely close by.
        self.remember(h, idx);
        self.live += 1;
        self.push_front(idx, class);
        self.stats.created += 1;
        idx
    }

    /// Marks activity at `ts` and moves the flow to the front of `class`'s list.
    pub fn touch(&mut self, idx: u32, ts: Timestamp, class: TimeoutClass) {
        if let Some(f) = self.get_mut(idx) {
            if ts > f.last {
                f.last = ts;
            }
            f.class = class;
        }
        // Already the most recent of its class (a burst of one flow): nothing moves.
        if self.lists[class as usize].head == idx
            && self
                .links
                .get(idx as usize)
                .is_some_and(|l| l.class == class as u8)
        {
            return;
        }
        self.unlink(idx);
        self.push_front(idx, class);
    }

    /// Removes a flow and returns it.
    pub fn remove(&mut self, idx: u32) -> Option<Flow<S>> {
        let f = self.take(idx)?;
        let (canon, _) = f.meta.key.canonical();
        let h = self.hasher.hash_one(canon);
        if let Ok(e) = self.map.find_entry(h, |&(eh, i)| eh == h && i == idx) {
            e.remove();
        }
        Some(f)
    }

    /// Takes a flow out of its slot and list, leaving its index entry (stale, see `find`).
    fn take(&mut self, idx: u32) -> Option<Flow<S>> {
        self.unlink(idx);
        let f = self.slots.get_mut(idx as usize)?.take()?;
        self.free.push(idx);
        self.live = self.live.saturating_sub(1);
        Some(f)
    }

    /// Ends every flow idle past its class timeout at capture time `now`.
    pub fn expire<F: FnMut(Flow<S>, FlowEndReason)>(&mut self, now: Timestamp, ended: &mut F) {
        for c in 0..NCLASS {
            loop {
                let tail = self.lists[c].tail;
                if tail == NIL {
                    break;
                }
                let Some(f) = self.get(tail) else { break };
                let deadline = f.last.saturating_add_secs(f.class.timeout(&self.limits));
                if deadline > now {
                    break;
                }
                if let Some(f) = self.remove(tail) {
                    self.stats.timed_out += 1;
                    ended(f, FlowEndReason::Timeout);
                }
            }
        }
    }

    /// Ends every flow (capture end or shutdown), oldest activity first.
    pub fn drain<F: FnMut(Flow<S>, FlowEndReason)>(&mut self, ended: &mut F) {
        while self.drain_some(usize::MAX, ended) {}
    }

    /// Ends up to `max` flows, oldest activity first, as [`FlowTable::drain`] does; true
    /// while flows remain.
    pub fn drain_some<F: FnMut(Flow<S>, FlowEndReason)>(
        &mut self,
        max: usize,
        ended: &mut F,
    ) -> bool {
        // The index entries are dropped all at once at the end, not one by one: a
        // drain ends every flow, and lookups meanwhile check the slot they find.
        for _ in 0..max {
            let Some(idx) = self.oldest() else {
                break;
            };
            if let Some(f) = self.take(idx) {
                ended(f, FlowEndReason::Shutdown);
            }
        }
        if self.live == 0 {
            self.map.clear();
            return false;
        }
        true
    }

    /// The least recently active flow of all classes.
    fn oldest(&self) -> Option<u32> {
        let mut best: Option<(Timestamp, u32)> = None;
        for l in &self.lists {
            if l.tail == NIL {
                continue;
            }
            if let Some(f) = self.get(l.tail) {
                if best.is_none_or(|(t, _)| f.last < t) {
                    best = Some((f.last, l.tail));
                }
            }
        }
        best.map(|(_, i)| i)
    }

    fn push_front(&mut self, idx: u32, class: TimeoutClass) {
        let c = class as usize;
        let old_head = self.lists[c].head;
        if let Some(l) = self.links.get_mut(idx as usize) {
            *l = Link {
                prev: NIL,
                next: old_head,
                class: class as u8,
            };
        }
        if let Some(h) = self.links.get_mut(old_head as usize) {
            h.prev = idx;
        }
        self.lists[c].head = idx;
        if self.lists[c].tail == NIL {
            self.lists[c].tail = idx;
        }
    }

    fn unlink(&mut self, idx: u32) {
        let Some(&Link { prev, next, class }) = self.links.get(idx as usize) else {
            return;
        };
        let c = (class as usize).min(NCLASS - 1);
        match self.links.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => {
                if self.lists[c].head == idx {
                    self.lists[c].head = next;
                }
            }
        }
        match self.links.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => {
                if self.lists[c].tail == idx {
                    self.lists[c].tail = prev;
                }
            }
        }
        if let Some(l) = self.links.get_mut(idx as usize) {
            *l = UNLINKED;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::IpProto;
    use std::net::IpAddr;
    use std::sync::Arc;

    fn meta(port: u16) -> FlowMeta {
        let key = FlowKey {
            vlan: [0, 0],
            proto: IpProto::UDP,
            src_ip: "10.0.0.1".parse::<IpAddr>().unwrap(),
            src_port: port,
            dst_ip: "10.0.0.2".parse::<IpAddr>().unwrap(),
            dst_port: 53,
        };
        FlowMeta {
            flow_id: 0,
            key,
            in_iface: Arc::from("t"),
            src_mac: None,
            dest_mac: None,
            app_proto: None,
        }
    }

    #[test]
    fn flow_table_finds_both_directions() {
        // A flow is found from either side, with the right direction.
        let mut t: FlowTable<()> = FlowTable::new(FlowLimits::default());
        let m = meta(1000);
        let k = m.key;
        let idx = t.insert(m, Timestamp(0), TimeoutClass::Udp, (), &mut |_, _| {});
        assert_eq!(t.find(&k), Some((idx, true)));
        assert_eq!(t.find(&k.reversed()), Some((idx, false)));
    }

    #[test]
    fn flow_table_drains_in_steps_oldest_first() {
        // Draining a few flows at a time ends them in the same order as one drain (oldest
        // activity first, whatever the class), and says when none is left.
        let fill = || {
            let mut t: FlowTable<()> = FlowTable::new(FlowLimits::default());
            for p in 0..10u16 {
                let class = if p % 3 == 0 {
                    TimeoutClass::TcpNew
                } else {
                    TimeoutClass::Udp
                };
                t.insert(meta(p), Timestamp(i64::from(p)), class, (), &mut |_, _| {});
            }
            // Activity moves flows 2 then 5 after every other; 5's next packet finds it
            // the newest of its class already.
            let (i2, _) = t.find(&meta(2).key).unwrap();
            t.touch(i2, Timestamp(100), TimeoutClass::Udp);
            let (i5, _) = t.find(&meta(5).key).unwrap();
            t.touch(i5, Timestamp(150), TimeoutClass::Udp);
            t.touch(i5, Timestamp(160), TimeoutClass::Udp);
            t
        };
        let mut whole = vec![];
        fill().drain(&mut |f, _| whole.push(f.meta.key.src_port));
        assert_eq!(whole, vec![0, 1, 3, 4, 6, 7, 8, 9, 2, 5]);
        let mut t = fill();
        let mut steps = vec![];
        let mut calls = 0;
        while t.drain_some(3, &mut |f, _| steps.push(f.meta.key.src_port)) {
            calls += 1;
        }
        assert_eq!(steps, whole);
        assert_eq!(calls, 3);
        assert!(t.is_empty());
        assert!(!t.drain_some(3, &mut |_, _| unreachable!()));
    }

    #[test]
    fn flow_table_expires_by_class_timeout() {
        // Idle flows end at their class timeout, in capture time, and not before.
        let mut t: FlowTable<()> = FlowTable::new(FlowLimits {
            udp_timeout: 10,
            ..Default::default()
        });
        let a = t.insert(meta(1), Timestamp(0), TimeoutClass::Udp, (), &mut |_, _| {});
        let _b = t.insert(
            meta(2),
            Timestamp(5_000_000),
            TimeoutClass::Udp,
            (),
            &mut |_, _| {},
        );
        t.touch(a, Timestamp(6_000_000), TimeoutClass::Udp);
        let mut ended = vec![];
        t.expire(Timestamp(15_000_000), &mut |f, r| {
            ended.push((f.meta.key.src_port, r))
        });
        assert_eq!(ended, vec![(2, FlowEndReason::Timeout)]);
        t.expire(Timestamp(16_000_000), &mut |f, r| {
            ended.push((f.meta.key.src_port, r))
        });
        assert_eq!(ended.len(), 2);
        assert!(t.is_empty());
        assert_eq!(t.stats.timed_out, 2);
    }

    #[test]
    fn flow_table_evicts_oldest_idle_at_cap() {
        // At the cap the least recently active flow is evicted and counted.
        let mut t: FlowTable<()> = FlowTable::new(FlowLimits {
            max_flows: 3,
            ..Default::default()
        });
        let mut ended = vec![];
        let mut e = |f: Flow<()>, r| ended.push((f.meta.key.src_port, r));
        let a = t.insert(meta(1), Timestamp(1), TimeoutClass::Udp, (), &mut e);
        t.insert(meta(2), Timestamp(2), TimeoutClass::TcpNew, (), &mut e);
        t.insert(meta(3), Timestamp(3), TimeoutClass::Udp, (), &mut e);
        t.touch(a, Timestamp(4), TimeoutClass::Udp);
        t.insert(meta(4), Timestamp(5), TimeoutClass::Udp, (), &mut e);
        assert_eq!(ended, vec![(2, FlowEndReason::Evicted)]);
        assert_eq!(t.len(), 3);
        assert_eq!(t.stats.evicted, 1);
    }

    #[test]
    fn flow_table_reuses_slots_and_drains() {
        // Removed slots are reused; drain ends everything as shutdown.
        let mut t: FlowTable<u32> = FlowTable::new(FlowLimits::default());
        for i in 0..100 {
            let idx = t.insert(
                meta(i),
                Timestamp(i64::from(i)),
                TimeoutClass::Udp,
                u32::from(i),
                &mut |_, _| {},
            );
            if i % 2 == 0 {
                t.remove(idx);
            }
        }
        assert_eq!(t.len(), 50);
        assert!(t.slots.len() <= 51);
        let mut n = 0;
        t.drain(&mut |f, r| {
            assert_eq!(r, FlowEndReason::Shutdown);
            assert_eq!(f.state % 2, 1);
            n += 1
        });
        assert_eq!(n, 50);
    }

    proptest::proptest! {
        #[test]
        fn flow_table_never_exceeds_cap(ops in proptest::collection::vec((0u16..64, 0i64..1000, 0u8..3), 1..400), cap in 1usize..16) {
            // Whatever the packet mix, the table never holds more than its cap.
            let mut t: FlowTable<()> = FlowTable::new(FlowLimits { max_flows: cap, udp_timeout: 50, ..Default::default() });
            let mut now = 0i64;
            for (port, dt, op) in ops {
                now += dt;
                let m = meta(port);
                match (op, t.find(&m.key)) {
                    (0 | 1, Some((idx, _))) => t.touch(idx, Timestamp(now), TimeoutClass::Udp),
                    (0 | 1, None) => { t.insert(m, Timestamp(now), TimeoutClass::Udp, (), &mut |_, _| {}); }
                    _ => t.expire(Timestamp(now), &mut |_, _| {}),
                }
                proptest::prop_assert!(t.len() <= cap);
            }
        }

        #[test]
        fn flow_table_finds_exactly_the_live_flows(ops in proptest::collection::vec((0u16..24, 0u8..5, proptest::bool::ANY), 1..600), cap in 1usize..20) {
            // Against a model set, through inserts, removals, evictions, partial drains and
            // slot reuse (which leave the recent-flow cache and the index with stale
            // entries): a flow is found, from either side, exactly while it is live, and
            // the slot found holds that flow.
            let mut t: FlowTable<u16> = FlowTable::new(FlowLimits { max_flows: cap, ..Default::default() });
            let mut live = std::collections::BTreeSet::new();
            let mut gone: Vec<u16> = Vec::new();
            for (i, (port, op, rev)) in ops.into_iter().enumerate() {
                let m = meta(port);
                let key = if rev { m.key.reversed() } else { m.key };
                let found = t.find(&key);
                proptest::prop_assert_eq!(found.is_some(), live.contains(&port), "port {}", port);
                if let Some((idx, to_server)) = found {
                    proptest::prop_assert_eq!(t.get(idx).map(|f| f.state), Some(port));
                    proptest::prop_assert_eq!(to_server, !rev);
                }
                let mut ended = |f: Flow<u16>, _| gone.push(f.state);
                match (op, found) {
                    (0 | 1, None) => {
                        t.insert(m, Timestamp(i as i64), TimeoutClass::Udp, port, &mut ended);
                        live.insert(port);
                    }
                    (0 | 1, Some((idx, _))) => t.touch(idx, Timestamp(i as i64), TimeoutClass::Udp),
                    (2, Some((idx, _))) => {
                        proptest::prop_assert_eq!(t.remove(idx).map(|f| f.state), Some(port));
                        live.remove(&port);
                    }
                    (3, _) => {
                        t.drain_some(2, &mut ended);
                    }
                    _ => {}
                }
                for p in gone.drain(..) {
                    live.remove(&p);
                }
                proptest::prop_assert_eq!(t.len(), live.len());
            }
        }
    }
}
