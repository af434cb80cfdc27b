//! TCP reassembly, one [`TcpReassembler`] per flow with a state per direction.
//!
//! In-order bytes are handed on without copying; out-of-order segments are copied into a
//! per-direction buffer bounded per flow and per worker ([`Budget`]). Overlaps keep the
//! first bytes seen (first wins) and raise `overlap_differs` when the new bytes differ.
//! Retransmissions of delivered data are dropped. Holes become [`Chunk::Gap`] when the
//! buffer cap forces progress, when the receiver acknowledges bytes beyond the hole (the
//! capture lost them) or at the end. A flow joined without its SYN starts at the first
//! segment seen (mid-stream pickup). Sequence numbers wrap: offsets are 64-bit.

use crate::decode::TcpInfo;
use model::Direction;
use std::collections::BTreeMap;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// What reassembly hands to the application layer.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// In-order bytes.
    Data(&'a [u8]),
    /// `n` bytes that will never be seen.
    Gap(u64),
    /// This direction is finished (FIN reached, RST, or flow end).
    Eof,
    /// A stream anomaly (counter name).
    Anomaly(&'static str),
}

/// The out-of-order byte budget shared by all flows of one worker (no atomics: a worker
/// owns its budget).
#[derive(Debug, Clone)]
pub struct Budget {
    pub used: usize,
    pub cap: usize,
}

impl Budget {
    pub fn new(cap: usize) -> Self {
        Budget { used: 0, cap }
    }
}

/// Reassembly limits.
#[derive(Debug, Clone, Copy)]
pub struct ReassemblyLimits {
    /// Out-of-order bytes buffered per flow direction.
    pub per_flow_bytes: usize,
}

/// Counters of one flow's reassembly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub delivered: [u64; 2],
    pub gaps: u64,
    pub gap_bytes: u64,
    pub overlaps_differ: u64,
    pub retransmissions: u64,
    pub cap_hits: u64,
    pub midstream: bool,
}

#[derive(Debug, Default)]
struct DirState {
    /// Sequence number at stream offset 0.
    base: Option<u32>,
    isn: Option<u32>,
    /// Next stream offset expected (delivered bytes plus gaps).
    next: u64,
    /// Out-of-order segments by stream offset; never overlapping each other.
    ooo: BTreeMap<u64, Vec<u8>>,
    buffered: usize,
    /// Stream offset at which the FIN sits.
    fin_at: Option<u64>,
    eof: bool,
}

impl DirState {
    /// Stream offset of `seq`, picking the 2^32 window nearest to `next`.
    fn offset_of(&self, seq: u32, base: u32) -> Option<u64> {
        let rel = seq.wrapping_sub(base);
        let delta = rel.wrapping_sub(self.next as u32) as i32 as i64;
        let off = self.next as i64 + delta;
        (off >= 0).then_some(off as u64)
    }
}

/// Both directions of one TCP connection.
#[derive(Debug, Default)]
pub struct TcpReassembler {
    dirs: [DirState; 2],
    pub stats: StreamStats,
}

impl TcpReassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes currently buffered out of order in both directions.
    pub fn buffered(&self) -> usize {
        self.dirs[0].buffered + self.dirs[1].buffered
    }

    pub fn is_eof(&self, dir: Direction) -> bool {
        self.dirs[dir.index()].eof
    }

    /// Feeds one segment travelling in `dir`.
    pub fn segment<F: FnMut(Direction, Chunk<'_>)>(
        &mut self,
        dir: Direction,
        tcp: &TcpInfo,
        payload: &[u8],
        lim: &ReassemblyLimits,
        budget: &mut Budget,
        out: &mut F,
    ) {
        // The peer's ACK tells whether bytes we are missing were lost by the capture.
        if tcp.flags & ACK != 0 {
            self.ack_seen(dir.reverse(), tcp.ack, budget, out);
        }
        let i = dir.index();
        let d = &mut self.dirs[i];
        if d.eof && tcp.flags & SYN == 0 {
            return;
        }
        let syn = tcp.flags & SYN != 0;
        if syn {
            match d.isn {
                Some(isn) if isn == tcp.seq => {
                    // SYN retransmission: same connection, nothing new.
                }
                Some(_) if d.next > 0 || !d.ooo.is_empty() => {
                    // A SYN with another ISN after data: port reuse; the flow table starts
                    // a new flow for that, so here it is only noted.
                    out(dir, Chunk::Anomaly("syn_with_different_seq"));
                    return;
                }
                _ => {
                    d.isn = Some(tcp.seq);
                    d.base = Some(tcp.seq.wrapping_add(1));
                    d.next = 0;
                }
            }
        }
        let data_seq = if syn {
            tcp.seq.wrapping_add(1)
        } else {
            tcp.seq
        };
        let wire_len = payload.len() as u64 + u64::from(tcp.missing);
        if d.base.is_none() {
            if wire_len == 0 && tcp.flags & FIN == 0 {
                return; // a bare ACK tells nothing about where data starts
            }
            d.base = Some(data_seq);
            self.stats.midstream = true;
        }
        let d = &mut self.dirs[i];
        let base = d.base.unwrap_or(data_seq);
        let Some(off) = d.offset_of(data_seq, base) else {
            if wire_len > 0 {
                self.stats.retransmissions += 1;
            }
            return;
        };
        if tcp.flags & FIN != 0 && d.fin_at.is_none() {
            d.fin_at = Some(off + wire_len);
        }
        if wire_len > 0 {
            self.insert(dir, off, payload, u64::from(tcp.missing), lim, budget, out);
        }
        if tcp.flags & RST != 0 {
            // RST ends both directions: flush what is buffered, with gaps.
            self.flush(Direction::ToServer, budget, out);
            self.flush(Direction::ToClient, budget, out);
            return;
        }
        self.check_fin(dir, budget, out);
    }

    #[allow(clippy::too_many_arguments)] // reason: one call site; a struct would only rename these
    fn insert<F: FnMut(Direction, Chunk<'_>)>(
        &mut self,
        dir: Direction,
        off: u64,
        payload: &[u8],
        missing: u64,
        lim: &ReassemblyLimits,
        budget: &mut Budget,
        out: &mut F,
    ) {
        let i = dir.index();
        let next = self.dirs[i].next;
        let end = off + payload.len() as u64 + missing;
        if end <= next {
            self.stats.retransmissions += 1;
            return;
        }
        if off <= next {
            // In order (possibly overlapping delivered bytes): deliver the new part now.
            let skip = (next - off) as usize;
            if let Some(new) = payload.get(skip..) {
                if !new.is_empty() {
                    self.deliver(dir, new, out);
                }
            }
            let d = &mut self.dirs[i];
            if missing > 0 && d.next < end {
                let g = end - d.next;
                self.gap(dir, g, out);
            }
            self.drain(dir, budget, out);
            return;
        }
        // Out of order: buffer the parts not already covered (first wins). Of a
        // snaplen-cut segment only the captured part is kept; the cut part becomes a gap
        // when delivery reaches it.
        let len = payload.len();
        loop {
            let d = &self.dirs[i];
            let over_flow = d.buffered + len > lim.per_flow_bytes;
            let over_global = budget.used + len > budget.cap;
            if !(over_flow || over_global) {
                break;
            }
            self.stats.cap_hits += 1;
            out(dir, Chunk::Anomaly("reassembly_cap_hit"));
            // Make room by giving up on the oldest hole: skip to the first buffered segment
            // (or to this segment when nothing is buffered) and deliver what follows.
            let first = self.dirs[i].ooo.keys().next().copied();
            match first {
                Some(k) if k < off => {
                    let g = k - self.dirs[i].next;
                    self.gap(dir, g, out);
                    self.drain(dir, budget, out);
                }
                _ => {
                    let g = off - self.dirs[i].next;
                    self.gap(dir, g, out);
                    self.deliver(dir, payload, out);
                    if missing > 0 {
                        self.gap(dir, missing, out);
                    }
                    self.drain(dir, budget, out);
                    return;
                }
            }
            if self.dirs[i].next >= off {
                // The skip caught up with this segment: it is in order now.
                return self.insert(dir, off, payload, missing, lim, budget, out);
            }
        }
        let d = &mut self.dirs[i];
        let seg_end = off + len as u64;
        // Pieces of [off, seg_end) not covered by buffered segments.
        let mut cursor = off;
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        let mut differ = false;
        // Start from the last segment starting at or before `off`.
        let start_key = d
            .ooo
            .range(..=off)
            .next_back()
            .map(|(k, _)| *k)
            .unwrap_or(off);
        for (&k, v) in d.ooo.range(start_key..seg_end) {
            let k_end = k + v.len() as u64;
            if k_end <= cursor {
                continue;
            }
            if k > cursor {
                pieces.push((cursor, k));
            }
            // Compare the overlapping bytes.
            let ov_start = k.max(cursor);
            let ov_end = k_end.min(seg_end);
            if ov_start < ov_end {
                let a = v.get((ov_start - k) as usize..(ov_end - k) as usize);
                let b = payload.get((ov_start - off) as usize..(ov_end - off) as usize);
                if a != b {
                    differ = true;
                }
            }
            cursor = cursor.max(k_end);
            if cursor >= seg_end {
                break;
            }
        }
        if cursor < seg_end {
            pieces.push((cursor, seg_end));
        }
        if differ {
            self.stats.overlaps_differ += 1;
            out(dir, Chunk::Anomaly("overlap_differs"));
        }
        let d = &mut self.dirs[i];
        for (s, e) in pieces {
            if let Some(bytes) = payload.get((s - off) as usize..(e - off) as usize) {
                d.ooo.insert(s, bytes.to_vec());
                d.buffered += bytes.len();
                budget.used += bytes.len();
            }
        }
    }

    fn deliver<F: FnMut(Direction, Chunk<'_>)>(
        &mut self,
        dir: Direction,
        data: &[u8],
        out: &mut F,
    ) {
        let i = dir.index();
        self.dirs[i].next += data.len() as u64;
        self.stats.delivered[i] += data.len() as u64;
        out(dir, Chunk::Data(data));
    }

    fn gap<F: FnMut(Direction, Chunk<'_>)>(&mut self, dir: Direction, n: u64, out: &mut F) {
        if n == 0 {
            return;
        }
        self.dirs[dir.index()].next += n;
        self.stats.gaps += 1;
        self.stats.gap_bytes += n;
        out(dir, Chunk::Gap(n));
    }

    /// Delivers buffered segments that are now in order.
    fn drain<F: FnMut(Direction, Chunk<'_>)>(
        &mut self,
        dir: Direction,
        budget: &mut Budget,
        out: &mut F,
    ) {
        let i = dir.index();
        loop {
            let d = &mut self.dirs[i];
            let Some((&k, _)) = d.ooo.iter().next() else {
                break;
            };
            if k > d.next {
                break;
            }
            let Some(v) = d.ooo.remove(&k) else { break };
            d.buffered -= v.len();
            budget.used = budget.used.saturating_sub(v.len());
            let skip = (d.next - k) as usize;
            if let Some(new) = v.get(skip..) {
                if !new.is_empty() {
                    self.deliver(dir, new, out);
                }
            }
        }
    }

    /// The receiver acknowledged up to `ack`: a hole it acknowledges past was lost by the
    /// capture, not the network, so deliver it as a gap now.
    fn ack_seen<F: FnMut(Direction, Chunk<'_>)>(
        &mut self,
        dir: Direction,
        ack: u32,
        budget: &mut Budget,
        out: &mut F,
    ) {
        let i = dir.index();
        let d = &self.dirs[i];
        let Some(base) = d.base else { return };
        let Some(&first) = d.ooo.keys().next() else {
            return;
        };
        let Some(acked) = d.offset_of(ack, base) else {
            return;
        };
        if acked > first && first > d.next {
            let g = first - d.next;
            self.gap(dir, g, out);
            self.drain(dir, budget, out);
            self.check_fin(dir, budget, out);
        }
    }

    fn check_fin<F: FnMut(Direction, Chunk<'_>)>(
        &mut self,
        dir: Direction,
        _budget: &mut Budget,
        out: &mut F,
    ) {
        let d = &mut self.dirs[dir.index()];
        if let Some(f) = d.fin_at {
            if d.next >= f && !d.eof {
                d.eof = true;
                out(dir, Chunk::Eof);
            }
        }
    }

    /// Ends one direction: buffered segments are delivered with gaps for the holes.
    pub fn flush<F: FnMut(Direction, Chunk<'_>)>(
        &mut self,
        dir: Direction,
        budget: &mut Budget,
        out: &mut F,
    ) {
        let i = dir.index();
        if self.dirs[i].eof {
            return;
        }
        while let Some(&k) = self.dirs[i].ooo.keys().next() {
            let next = self.dirs[i].next;
            if k > next {
                self.gap(dir, k - next, out);
            }
            self.drain(dir, budget, out);
        }
        let d = &mut self.dirs[i];
        if let Some(f) = d.fin_at {
            if f > d.next {
                let g = f - d.next;
                self.gap(dir, g, out);
            }
        }
        let d = &mut self.dirs[i];
        d.eof = true;
        out(dir, Chunk::Eof);
    }

    /// Ends both directions (flow end).
    pub fn finish<F: FnMut(Direction, Chunk<'_>)>(&mut self, budget: &mut Budget, out: &mut F) {
        self.flush(Direction::ToServer, budget, out);
        self.flush(Direction::ToClient, budget, out);
    }
}

impl TcpReassembler {
    /// Returns this flow's buffered bytes to the worker budget (flow removed).
    pub fn release(&mut self, budget: &mut Budget) {
        for d in &mut self.dirs {
            budget.used = budget.used.saturating_sub(d.buffered);
            d.buffered = 0;
            d.ooo.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{ToClient as C, ToServer as S};

    #[derive(Debug, PartialEq, Eq, Clone)]
    enum Out {
        Data(Vec<u8>),
        Gap(u64),
        Eof,
        Anomaly(&'static str),
    }

    struct Rig {
        r: TcpReassembler,
        lim: ReassemblyLimits,
        budget: Budget,
        out: Vec<(Direction, Out)>,
    }

    impl Rig {
        fn new() -> Self {
            Rig {
                r: TcpReassembler::new(),
                lim: ReassemblyLimits {
                    per_flow_bytes: 1 << 20,
                },
                budget: Budget::new(1 << 24),
                out: vec![],
            }
        }
        fn seg(&mut self, dir: Direction, seq: u32, ack: u32, flags: u8, payload: &[u8]) {
            let t = TcpInfo {
                seq,
                ack,
                flags,
                window: 0,
                missing: 0,
            };
            let out = &mut self.out;
            self.r.segment(
                dir,
                &t,
                payload,
                &self.lim,
                &mut self.budget,
                &mut |d, c| out.push((d, own(c))),
            );
        }
        fn finish(&mut self) {
            let out = &mut self.out;
            self.r
                .finish(&mut self.budget, &mut |d, c| out.push((d, own(c))));
        }
        /// Bytes delivered in `dir`, with gaps shown as '?' per byte.
        fn stream(&self, dir: Direction) -> Vec<u8> {
            let mut v = vec![];
            for (d, o) in &self.out {
                if *d != dir {
                    continue;
                }
                match o {
                    Out::Data(b) => v.extend_from_slice(b),
                    Out::Gap(n) => v.extend(std::iter::repeat_n(b'?', *n as usize)),
                    _ => {}
                }
            }
            v
        }
        fn anomalies(&self) -> Vec<&'static str> {
            self.out
                .iter()
                .filter_map(|(_, o)| {
                    if let Out::Anomaly(a) = o {
                        Some(*a)
                    } else {
                        None
                    }
                })
                .collect()
        }
    }

    fn own(c: Chunk<'_>) -> Out {
        match c {
            Chunk::Data(b) => Out::Data(b.to_vec()),
            Chunk::Gap(n) => Out::Gap(n),
            Chunk::Eof => Out::Eof,
            Chunk::Anomaly(a) => Out::Anomaly(a),
        }
    }

    const ISN: u32 = 1000;

    fn handshake(r: &mut Rig, isn: u32) {
        r.seg(S, isn, 0, SYN, b"");
        r.seg(C, 5000, isn.wrapping_add(1), SYN | ACK, b"");
        r.seg(S, isn.wrapping_add(1), 5001, ACK, b"");
    }

    #[test]
    fn reassembly_in_order_is_delivered_unchanged() {
        // In-order segments come out as they went in, then EOF at FIN.
        let mut r = Rig::new();
        handshake(&mut r, ISN);
        r.seg(S, ISN + 1, 5001, ACK, b"hello ");
        r.seg(S, ISN + 7, 5001, ACK | FIN, b"world");
        assert_eq!(r.stream(S), b"hello world");
        assert_eq!(r.out.last(), Some(&(S, Out::Eof)));
        assert!(!r.r.stats.midstream);
    }

    #[test]
    fn reassembly_out_of_order_is_reordered() {
        // Segments arriving 3,1,2 are delivered as 1,2,3 and the buffer empties.
        let mut r = Rig::new();
        handshake(&mut r, ISN);
        r.seg(S, ISN + 7, 5001, ACK, b"ghi");
        r.seg(S, ISN + 1, 5001, ACK, b"abc");
        assert_eq!(r.stream(S), b"abc");
        r.seg(S, ISN + 4, 5001, ACK, b"def");
        assert_eq!(r.stream(S), b"abcdefghi");
        assert_eq!(r.r.buffered(), 0);
        assert_eq!(r.budget.used, 0);
    }

    #[test]
    fn reassembly_duplicate_is_ignored() {
        // A retransmitted segment is counted, not delivered twice.
        let mut r = Rig::new();
        handshake(&mut r, ISN);
        r.seg(S, ISN + 1, 5001, ACK, b"abc");
        r.seg(S, ISN + 1, 5001, ACK, b"abc");
        assert_eq!(r.stream(S), b"abc");
        assert_eq!(r.r.stats.retransmissions, 1);
        assert!(r.anomalies().is_empty());
    }

    #[test]
    fn reassembly_overlap_same_bytes_is_silent() {
        // Overlapping buffered segments with equal bytes raise nothing.
        let mut r = Rig::new();
        handshake(&mut r, ISN);
        r.seg(S, ISN + 4, 5001, ACK, b"defg");
        r.seg(S, ISN + 6, 5001, ACK, b"fghi");
        r.seg(S, ISN + 1, 5001, ACK, b"abc");
        assert_eq!(r.stream(S), b"abcdefghi");
        assert!(r.anomalies().is_empty());
    }

    #[test]
    fn reassembly_overlap_different_bytes_first_wins() {
        // Overlapping buffered segments with different bytes: the first kept, anomaly raised.
        let mut r = Rig::new();
        handshake(&mut r, ISN);
        r.seg(S, ISN + 4, 5001, ACK, b"defg");
        r.seg(S, ISN + 6, 5001, ACK, b"XXhi");
        r.seg(S, ISN + 1, 5001, ACK, b"abc");
        assert_eq!(r.stream(S), b"abcdefghi");
        assert_eq!(r.anomalies(), vec!["overlap_differs"]);
        assert_eq!(r.r.stats.overlaps_differ, 1);
    }

    #[test]
    fn reassembly_partial_overlap_with_delivered_bytes_delivers_new_tail() {
        // A segment that overlaps delivered bytes only contributes its new tail.
        let mut r = Rig::new();
        handshake(&mut r, ISN);
        r.seg(S, ISN + 1, 5001, ACK, b"abc");
        r.seg(S, ISN + 2, 5001, ACK, b"bcdef");
        assert_eq!(r.stream(S), b"abcdef");
    }

    #[test]
    fn reassembly_hole_becomes_gap_at_end() {
        // A hole never filled is delivered as a gap of its length when the flow ends.
        let mut r = Rig::new();
        handshake(&mut r, ISN);
        r.seg(S, ISN + 1, 5001, ACK, b"abc");
        r.seg(S, ISN + 7, 5001, ACK | FIN, b"ghi");
        assert_eq!(r.stream(S), b"abc");
        r.finish();
        assert_eq!(r.stream(S), b"abc???ghi");
        assert_eq!(r.r.stats.gaps, 1);
        assert_eq!(r.r.stats.gap_bytes, 3);
        assert!(r.out.contains(&(S, Out::Eof)) && r.out.contains(&(C, Out::Eof)));
    }

    #[test]
    fn reassembly_ack_past_hole_delivers_gap_early() {
        // When the receiver acknowledges past a hole, the capture lost it: gap now.
        let mut r = Rig::new();
        handshake(&mut r, ISN);
        r.seg(S, ISN + 1, 5001, ACK, b"abc");
        r.seg(S, ISN + 7, 5001, ACK, b"ghi");
        r.seg(C, 5001, ISN + 10, ACK, b"");
        assert_eq!(r.stream(S), b"abc???ghi");
    }

    #[test]
    fn reassembly_midstream_pickup_starts_at_first_data() {
        // With no SYN seen, the stream starts at the first data segment.
        let mut r = Rig::new();
        r.seg(S, 777, 1, ACK, b"");
        r.seg(S, 777, 1, ACK, b"mid");
        r.seg(S, 780, 1, ACK, b"stream");
        assert_eq!(r.stream(S), b"midstream");
        assert!(r.r.stats.midstream);
    }

    #[test]
    fn reassembly_syn_retransmission_is_harmless() {
        // A repeated SYN with the same ISN changes nothing.
        let mut r = Rig::new();
        r.seg(S, ISN, 0, SYN, b"");
        r.seg(S, ISN, 0, SYN, b"");
        r.seg(S, ISN + 1, 0, ACK, b"x");
        r.seg(S, ISN, 0, SYN, b"");
        r.seg(S, ISN + 2, 0, ACK, b"y");
        assert_eq!(r.stream(S), b"xy");
        assert!(r.anomalies().is_empty());
    }

    #[test]
    fn reassembly_sequence_wraparound() {
        // A stream crossing 2^32 in sequence space is delivered in order.
        let isn = u32::MAX - 3;
        let mut r = Rig::new();
        handshake(&mut r, isn);
        r.seg(S, isn.wrapping_add(5), 5001, ACK, b"efgh"); // after the wrap
        r.seg(S, isn.wrapping_add(1), 5001, ACK, b"abcd");
        r.seg(S, isn.wrapping_add(9), 5001, ACK, b"ij");
        assert_eq!(r.stream(S), b"abcdefghij");
    }

    #[test]
    fn reassembly_cap_forces_gap_and_bounds_memory() {
        // Past the per-flow cap the oldest hole is given up (gap) and memory stays bounded.
        let mut r = Rig::new();
        r.lim.per_flow_bytes = 8;
        handshake(&mut r, ISN);
        r.seg(S, ISN + 11, 5001, ACK, b"kkkk");
        r.seg(S, ISN + 21, 5001, ACK, b"uuuu");
        assert!(r.r.buffered() <= 8);
        r.seg(S, ISN + 31, 5001, ACK, b"EEEE");
        assert!(r.r.buffered() <= 8);
        assert!(r.anomalies().contains(&"reassembly_cap_hit"));
        assert!(r.r.stats.cap_hits >= 1);
        r.finish();
        let s = r.stream(S);
        assert_eq!(s.len(), 34);
        assert_eq!(&s[10..14], b"kkkk");
        assert_eq!(&s[30..34], b"EEEE");
    }

    #[test]
    fn reassembly_global_budget_is_respected() {
        // The worker-wide budget caps buffering across flows.
        let mut r = Rig::new();
        r.budget = Budget::new(4);
        handshake(&mut r, ISN);
        r.seg(S, ISN + 11, 5001, ACK, b"kkkk");
        r.seg(S, ISN + 21, 5001, ACK, b"uuuu");
        assert!(r.budget.used <= 4);
        r.finish();
        assert_eq!(r.budget.used, 0);
    }

    #[test]
    fn reassembly_rst_flushes_both_directions() {
        // An RST ends both directions, with buffered bytes delivered after a gap.
        let mut r = Rig::new();
        handshake(&mut r, ISN);
        r.seg(S, ISN + 4, 5001, ACK, b"def");
        r.seg(C, 5001, ISN + 1, RST, b"");
        assert_eq!(r.stream(S), b"???def");
        assert!(r.r.is_eof(S) && r.r.is_eof(C));
    }

    #[test]
    fn reassembly_same_output_for_every_split_and_order() {
        // The same byte stream cut at any two points, sent in any order, gives the same bytes.
        let data: Vec<u8> = (0..40u8).map(|b| b'a' + (b % 26)).collect();
        for i in 1..data.len() {
            for j in i + 1..data.len() {
                let parts = [(0, &data[..i]), (i, &data[i..j]), (j, &data[j..])];
                for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1]] {
                    let mut r = Rig::new();
                    handshake(&mut r, ISN);
                    for k in order {
                        let (off, p) = parts[k];
                        r.seg(S, ISN + 1 + off as u32, 5001, ACK, p);
                    }
                    assert_eq!(r.stream(S), data, "split {i},{j} order {order:?}");
                }
            }
        }
    }

    #[test]
    fn reassembly_snaplen_cut_segment_gives_gap() {
        // Bytes announced but not captured are delivered as a gap, in position.
        let mut r = Rig::new();
        handshake(&mut r, ISN);
        let t = TcpInfo {
            seq: ISN + 1,
            ack: 5001,
            flags: ACK,
            window: 0,
            missing: 5,
        };
        let out = &mut r.out;
        r.r.segment(S, &t, b"abc", &r.lim, &mut r.budget, &mut |d, c| {
            out.push((d, own(c)))
        });
        r.seg(S, ISN + 9, 5001, ACK, b"z");
        assert_eq!(r.stream(S), b"abc?????z");
    }
}
