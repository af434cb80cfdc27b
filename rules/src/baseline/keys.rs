//! The baselines' slot by the inventory's key of a device: looked up twice per event by
//! the check and twice by the prefetch, so a small open-addressing table (linear probing,
//! at most half full) with a seeded multiply-shift hash of the key's one or two words,
//! instead of a general map that hashes and matches in groups.

use super::index::{self, DevK};
#[cfg(test)]
use crate::inventory::Key as DevKey;
use std::hash::{BuildHasher, Hasher};
#[cfg(test)]
use std::net::IpAddr;

/// A key as a cell holds it ([`index::dev_words`]): `tag` 0 is an empty cell.
#[derive(Clone, Copy, Debug, Default)]
struct Cell {
    hi: u64,
    lo: u64,
    tag: u32,
    slot: u32,
}

fn pack(k: DevK) -> (u32, u64, u64) {
    let (tag, a, b) = index::dev_words(k);
    (u32::from(tag), a, b)
}

/// Slot by device key. Keys are never removed (a device keeps its baseline's slot).
#[derive(Clone, Debug)]
pub(super) struct SlotKeys {
    cells: Vec<Cell>,
    len: usize,
    /// `64 - log2(cells.len())`.
    shift: u32,
    /// Odd, random per process: an attacker choosing MACs cannot aim at one cell.
    mul: u64,
}

impl Default for SlotKeys {
    fn default() -> Self {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x5eed);
        SlotKeys {
            cells: Vec::new(),
            len: 0,
            shift: 64,
            mul: h.finish() | 1,
        }
    }
}

impl SlotKeys {
    fn home(&self, tag: u32, hi: u64, lo: u64) -> usize {
        let x = lo ^ hi.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (u64::from(tag) << 56);
        // The high bits of the product: multiply-shift. A shift of 64 (no table) is
        // never reached here.
        x.wrapping_mul(self.mul)
            .checked_shr(self.shift)
            .unwrap_or(0) as usize
    }

    /// The slot of `k`, if it has one.
    #[inline]
    pub(super) fn get(&self, k: DevK) -> Option<usize> {
        let mask = self.cells.len().checked_sub(1)?;
        let (tag, hi, lo) = pack(k);
        let mut i = self.home(tag, hi, lo);
        // At most half the cells are taken: an empty one ends every probe (bounded anyway).
        for _ in 0..self.cells.len() {
            let c = self.cells.get(i)?;
            if c.tag == tag && c.lo == lo && c.hi == hi {
                return Some(c.slot as usize);
            }
            if c.tag == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// Gives `k` the slot `slot` (a slot beyond `u32`, unreachable, is not kept).
    pub(super) fn insert(&mut self, k: DevK, slot: usize) {
        let Ok(slot) = u32::try_from(slot) else {
            return;
        };
        if self.len.saturating_add(1).saturating_mul(2) > self.cells.len() {
            self.grow();
        }
        let (tag, hi, lo) = pack(k);
        self.put(Cell { hi, lo, tag, slot });
    }

    fn put(&mut self, cell: Cell) {
        let mask = self.cells.len().wrapping_sub(1);
        let mut i = self.home(cell.tag, cell.hi, cell.lo);
        while let Some(c) = self.cells.get_mut(i) {
            if c.tag == 0 {
                *c = cell;
                self.len += 1;
                return;
            }
            if c.tag == cell.tag && c.lo == cell.lo && c.hi == cell.hi {
                c.slot = cell.slot;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let cap = (self.cells.len() * 2).max(16);
        let old = std::mem::replace(&mut self.cells, vec![Cell::default(); cap]);
        self.shift = 64 - cap.trailing_zeros();
        self.len = 0;
        for c in old.into_iter().filter(|c| c.tag != 0) {
            self.put(c);
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The table agrees with a map through any inserts (overwrites included), for MAC,
        /// IPv4 and IPv6 keys, and finds nothing it was not given.
        #[test]
        fn slot_keys_agree_with_a_map(
            ops in proptest::collection::vec((0u8..3, proptest::num::u64::ANY, 0usize..5000), 0..600),
            probes in proptest::collection::vec((0u8..3, proptest::num::u64::ANY), 0..50),
        ) {
            let key = |t: u8, v: u64| {
                DevK(match t {
                    0 => DevKey::Mac(v & 0xffff_ffff_ffff),
                    1 => DevKey::Ip(IpAddr::V4((v as u32).into())),
                    _ => DevKey::Ip(IpAddr::V6((u128::from(v) << 64 | u128::from(v >> 7)).into())),
                })
            };
            let mut t = SlotKeys::default();
            let mut m = std::collections::HashMap::new();
            for (k, v, s) in ops {
                t.insert(key(k, v), s);
                m.insert(key(k, v).0, s);
            }
            proptest::prop_assert_eq!(t.len(), m.len());
            for (k, s) in &m {
                proptest::prop_assert_eq!(t.get(DevK(*k)), Some(*s));
            }
            for (k, v) in probes {
                proptest::prop_assert_eq!(t.get(key(k, v)), m.get(&key(k, v).0).copied());
            }
        }
    }

    #[test]
    fn an_empty_table_finds_nothing() {
        let t = SlotKeys::default();
        assert_eq!(t.get(DevK(DevKey::Mac(1))), None);
        // Equal words of different kinds are different keys.
        let mut t = SlotKeys::default();
        t.insert(DevK(DevKey::Mac(7)), 1);
        assert_eq!(t.get(DevK(DevKey::Ip(IpAddr::V4(7u32.into())))), None);
        assert_eq!(t.get(DevK(DevKey::Mac(7))), Some(1));
    }
}
