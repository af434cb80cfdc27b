//! Bounded IPv4/IPv6 fragment reassembly.
//!
//! Limits: datagrams pending at once (oldest dropped first), bytes per datagram (65,535),
//! and a capture-time timeout. Overlapping fragments keep the first bytes (first wins) and
//! are counted (`frag_overlap`); fragments that never complete are counted
//! (`frag_timeout`). A completed datagram is rebuilt as one unfragmented frame (the first
//! fragment's link and IP headers with the lengths fixed) so the normal decoder reads it.

use crate::decode::{Decoded, Frag};
use model::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Reassembly limits.
#[derive(Debug, Clone, Copy)]
pub struct DefragLimits {
    pub max_datagrams: usize,
    pub timeout_secs: u64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits {
            max_datagrams: 4096,
            timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
    vlan: [u16; 2],
}

#[derive(Debug, Default)]
struct Pending {
    first_ts: Timestamp,
    /// Non-overlapping pieces by offset.
    pieces: Vec<(u32, Vec<u8>)>,
    /// Link + IP header of the offset-0 fragment.
    header: Option<Vec<u8>>,
    is_v6: bool,
    total: Option<u32>,
    frames: u32,
    wire_bytes: u64,
}

/// What adding a fragment gave.
#[derive(Debug, PartialEq, Eq)]
pub enum DefragOutcome {
    /// Kept; the datagram is not complete yet.
    Pending,
    /// Complete: one rebuilt frame, how many frames made it and their total wire bytes.
    Complete {
        frame: Vec<u8>,
        frames: u32,
        wire_bytes: u64,
    },
    /// Dropped, with the reason (a counter name).
    Dropped(&'static str),
}

/// Fragment reassembly state (one per reader thread).
pub struct Defrag {
    lim: DefragLimits,
    map: HashMap<Key, Pending, foldhash::fast::RandomState>,
    order: VecDeque<(Key, Timestamp)>,
    /// Anomaly counts by reason.
    pub anomalies: Vec<(&'static str, u64)>,
}

const MAX_DATAGRAM: u32 = 65_535;

impl Defrag {
    pub fn new(lim: DefragLimits) -> Self {
        Defrag {
            lim,
            map: HashMap::with_hasher(Default::default()),
            order: VecDeque::new(),
            anomalies: Vec::new(),
        }
    }

    fn count(&mut self, reason: &'static str) {
        match self.anomalies.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => self.anomalies.push((reason, 1)),
        }
    }

    pub fn pending(&self) -> usize {
        self.map.len()
    }

    /// Drops datagrams older than the timeout at capture time `now`.
    pub fn expire(&mut self, now: Timestamp) {
        while let Some(&(k, t)) = self.order.front() {
            if t.saturating_add_secs(self.lim.timeout_secs) > now {
                break;
            }
            self.order.pop_front();
            // The order queue may hold stale entries for completed datagrams.
            if let Some(p) = self.map.get(&k) {
                if p.first_ts == t {
                    self.map.remove(&k);
                    self.count("frag_timeout");
                }
            }
        }
    }

    /// Adds a fragment (`d` decoded from `frame`, `frag` its fragment facts).
    pub fn add(
        &mut self,
        ts: Timestamp,
        frame: &[u8],
        origlen: u32,
        d: &Decoded<'_>,
        frag: Frag,
    ) -> DefragOutcome {
        let Some(ip) = d.ip else {
            return DefragOutcome::Dropped("frag_not_ip");
        };
        self.expire(ts);
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            id: frag.id,
            proto: frag.proto.0,
            vlan: d.vlan,
        };
        let len = d.payload.len() as u32;
        let end = frag.offset.saturating_add(len);
        if end > MAX_DATAGRAM {
            self.map.remove(&key);
            self.count("frag_too_large");
            return DefragOutcome::Dropped("frag_too_large");
        }
        if !self.map.contains_key(&key) {
            while self.map.len() >= self.lim.max_datagrams.max(1) {
                let Some((old, t)) = self.order.pop_front() else {
                    break;
                };
                if self.map.get(&old).is_some_and(|p| p.first_ts == t) {
                    self.map.remove(&old);
                    self.count("frag_table_full");
                }
            }
            self.map.insert(
                key,
                Pending {
                    first_ts: ts,
                    is_v6: matches!(ip.src, IpAddr::V6(_)),
                    ..Default::default()
                },
            );
            self.order.push_back((key, ts));
        }
        let mut overlap = false;
        let Some(p) = self.map.get_mut(&key) else {
            return DefragOutcome::Dropped("frag_internal");
        };
        p.frames += 1;
        p.wire_bytes += u64::from(origlen);
        if !frag.more {
            if p.total.is_some_and(|t| t != end) {
                overlap = true;
            }
            p.total.get_or_insert(end);
        }
        if frag.offset == 0 && p.header.is_none() {
            // Header = everything before the fragment payload, minus IPv6 extension headers
            // (rebuilt without them); for IPv4 the options are kept.
            let pl_off = (d.payload.as_ptr() as usize).saturating_sub(frame.as_ptr() as usize);
            let hdr_end = if p.is_v6 { ip.l3_offset + 40 } else { pl_off };
            p.header = frame.get(..hdr_end.min(frame.len())).map(<[u8]>::to_vec);
        }
        // Insert the uncovered parts of [offset, end) (first wins).
        let mut cursor = frag.offset;
        let mut new_pieces = Vec::new();
        p.pieces.sort_by_key(|(o, _)| *o);
        for (o, v) in &p.pieces {
            let o_end = o + v.len() as u32;
            if o_end <= cursor || *o >= end {
                continue;
            }
            overlap = true;
            if *o > cursor {
                new_pieces.push((cursor, *o));
            }
            cursor = cursor.max(o_end);
        }
        if cursor < end {
            new_pieces.push((cursor, end));
        }
        for (s, e) in new_pieces {
            if let Some(b) = d
                .payload
                .get((s - frag.offset) as usize..(e - frag.offset) as usize)
            {
                p.pieces.push((s, b.to_vec()));
            }
        }
        if overlap {
            self.count("frag_overlap");
        }
        let Some(p) = self.map.get_mut(&key) else {
            return DefragOutcome::Pending;
        };
        let Some(total) = p.total else {
            return DefragOutcome::Pending;
        };
        if p.header.is_none() {
            return DefragOutcome::Pending;
        }
        p.pieces.sort_by_key(|(o, _)| *o);
        let mut covered = 0u32;
        for (o, v) in &p.pieces {
            if *o > covered {
                return DefragOutcome::Pending;
            }
            covered = covered.max(o + v.len() as u32);
        }
        if covered < total {
            return DefragOutcome::Pending;
        }
        let Some(p) = self.map.remove(&key) else {
            return DefragOutcome::Pending;
        };
        let Some(mut out) = p.header else {
            return DefragOutcome::Pending;
        };
        let l3 = ip.l3_offset.min(out.len());
        let payload_start = out.len();
        for (o, v) in &p.pieces {
            let pos = payload_start + *o as usize;
            if pos + v.len() > out.len() {
                out.resize(pos + v.len(), 0);
            }
            if let Some(dst) = out.get_mut(pos..pos + v.len()) {
                dst.copy_from_slice(v);
            }
        }
        out.truncate(payload_start + total as usize);
        let ip_len = out.len() - l3;
        if p.is_v6 {
            if let Some(h) = out.get_mut(l3..l3 + 40) {
                h[6] = frag.proto.0;
                let pl = (ip_len - 40) as u16;
                h[4..6].copy_from_slice(&pl.to_be_bytes());
            }
        } else if let Some(h) = out.get_mut(l3..l3 + 20) {
            h[2..4].copy_from_slice(&(ip_len.min(65_535) as u16).to_be_bytes());
            h[6] = 0;
            h[7] = 0;
        }
        DefragOutcome::Complete {
            frame: out,
            frames: p.frames,
            wire_bytes: p.wire_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode, LinkType, L4};
    use testkit::pcap::udp_frame;

    const A: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const B: [u8; 6] = [2, 0, 0, 0, 0, 2];

    /// Splits a UDP datagram's IP payload into IPv4 fragments of `size` bytes (multiple of 8).
    fn fragments(payload: &[u8], size: usize) -> Vec<Vec<u8>> {
        let full = udp_frame(
            A,
            B,
            [10, 0, 0, 1].into(),
            5000,
            [10, 0, 0, 2].into(),
            53,
            payload,
        );
        let hdr = &full[..34];
        let body = &full[34..];
        let mut out = vec![];
        for (i, chunk) in body.chunks(size).enumerate() {
            let mut f = hdr.to_vec();
            let off = (i * size / 8) as u16;
            let more = (i + 1) * size < body.len();
            let flags_off = off | if more { 0x2000 } else { 0 };
            f[14 + 2..14 + 4].copy_from_slice(&((20 + chunk.len()) as u16).to_be_bytes());
            f[14 + 4..14 + 6].copy_from_slice(&0x4242u16.to_be_bytes());
            f[14 + 6..14 + 8].copy_from_slice(&flags_off.to_be_bytes());
            f.extend_from_slice(chunk);
            out.push(f);
        }
        out
    }

    fn feed(df: &mut Defrag, f: &[u8], ts: i64) -> DefragOutcome {
        let d = decode(LinkType::ETHERNET, f).unwrap();
        let fr = d.ip.unwrap().frag.unwrap();
        df.add(Timestamp(ts), f, f.len() as u32, &d, fr)
    }

    #[test]
    fn defrag_reassembles_out_of_order_fragments() {
        // Three fragments in reverse order give back the original UDP datagram.
        let payload: Vec<u8> = (0..100u8).collect();
        let frags = fragments(&payload, 48);
        assert_eq!(frags.len(), 3);
        let mut df = Defrag::new(DefragLimits::default());
        assert_eq!(feed(&mut df, &frags[2], 0), DefragOutcome::Pending);
        assert_eq!(feed(&mut df, &frags[1], 1), DefragOutcome::Pending);
        let DefragOutcome::Complete { frame, frames, .. } = feed(&mut df, &frags[0], 2) else {
            panic!()
        };
        assert_eq!(frames, 3);
        let d = decode(LinkType::ETHERNET, &frame).unwrap();
        assert!(d.ip.unwrap().frag.is_none());
        assert_eq!(d.l4, L4::Udp);
        assert_eq!((d.src_port, d.dst_port), (5000, 53));
        assert_eq!(d.payload, &payload[..]);
        assert_eq!(df.pending(), 0);
    }

    #[test]
    fn defrag_overlap_counted_first_wins() {
        // A repeated fragment with other bytes is counted and does not replace the first.
        let payload: Vec<u8> = (0..100u8).collect();
        let frags = fragments(&payload, 48);
        let mut df = Defrag::new(DefragLimits::default());
        feed(&mut df, &frags[1], 0);
        let mut evil = frags[1].clone();
        let n = evil.len();
        evil[n - 1] ^= 0xff;
        feed(&mut df, &evil, 0);
        feed(&mut df, &frags[2], 0);
        let DefragOutcome::Complete { frame, .. } = feed(&mut df, &frags[0], 0) else {
            panic!()
        };
        let d = decode(LinkType::ETHERNET, &frame).unwrap();
        assert_eq!(d.payload, &payload[..]);
        assert!(df.anomalies.iter().any(|(r, _)| *r == "frag_overlap"));
    }

    #[test]
    fn defrag_incomplete_times_out_and_table_is_bounded() {
        // Fragments that never complete expire; the table never grows past its cap.
        let payload: Vec<u8> = (0..100u8).collect();
        let frags = fragments(&payload, 48);
        let mut df = Defrag::new(DefragLimits {
            max_datagrams: 2,
            timeout_secs: 5,
        });
        feed(&mut df, &frags[0], 0);
        df.expire(Timestamp(6_000_000));
        assert_eq!(df.pending(), 0);
        assert!(df.anomalies.iter().any(|(r, _)| *r == "frag_timeout"));
        for id in 0..10u16 {
            let mut f = frags[0].clone();
            f[18..20].copy_from_slice(&id.to_be_bytes());
            feed(&mut df, &f, 7_000_000);
            assert!(df.pending() <= 2);
        }
        assert!(df.anomalies.iter().any(|(r, _)| *r == "frag_table_full"));
    }

    #[test]
    fn defrag_oversized_datagram_dropped() {
        // A fragment reaching past 65,535 bytes is dropped under a named reason.
        let payload: Vec<u8> = (0..100u8).collect();
        let mut f = fragments(&payload, 48)[1].clone();
        f[20..22].copy_from_slice(&0x1fffu16.to_be_bytes()); // offset 65,528, no MF
        let mut df = Defrag::new(DefragLimits::default());
        assert_eq!(
            feed(&mut df, &f, 0),
            DefragOutcome::Dropped("frag_too_large")
        );
    }
}
