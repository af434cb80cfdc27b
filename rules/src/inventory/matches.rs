//! Which catalogue patterns each distinct attribute value matches, remembered.
//!
//! Classification asks, for every rule, whether some value of an attribute matches the
//! rule's pattern; a new value asks whether any pattern on its attribute matches it. The
//! same values (vendors, roles, signatures, user agents) recur on thousands of devices,
//! so the answer is kept per (attribute, value): each pattern runs once per distinct
//! value instead of once per rule, device and classification.
//!
//! Bounded: at [`MatchMemo::MAX`] entries the memo starts afresh (values come from the
//! network; a flood of distinct ones costs regex runs again, never memory).

use super::attrs::Attr;
use super::catalogue::Catalogue;
use std::hash::BuildHasher;

struct Entry {
    hash: u64,
    attr: Attr,
    value: Box<str>,
    /// Indices of the patterns the value matches (usually none or one).
    ix: Box<[u16]>,
}

/// (attribute, value) -> matching pattern indices.
pub(crate) struct MatchMemo {
    table: hashbrown::HashTable<Entry>,
    /// Seeded per process: keys come from the network.
    state: foldhash::fast::RandomState,
}

impl Default for MatchMemo {
    fn default() -> Self {
        MatchMemo {
            table: hashbrown::HashTable::new(),
            state: foldhash::fast::RandomState::default(),
        }
    }
}

impl MatchMemo {
    /// Most values remembered before the memo is emptied.
    pub(crate) const MAX: usize = 65_536;

    /// The indices of the patterns on `a` that `value` matches
    /// ([`Catalogue::matching`]), computed on first sight of the value.
    pub(crate) fn get(&mut self, cat: &Catalogue, a: Attr, value: &str) -> &[u16] {
        let hash = self.state.hash_one((a, value));
        let eq = |e: &Entry| e.attr == a && &*e.value == value;
        // Two lookups on a miss (the borrow checker cannot see the found entry's borrow
        // end on the other branch); a miss runs regexes anyway.
        if self.table.find(hash, eq).is_none() {
            if self.table.len() >= Self::MAX {
                self.table.clear();
            }
            let ix = cat.matching(a, value).into_boxed_slice();
            self.table.insert_unique(
                hash,
                Entry {
                    hash,
                    attr: a,
                    value: value.into(),
                    ix,
                },
                |e| e.hash,
            );
        }
        self.table.find(hash, eq).map_or(&[], |e| &e.ix)
    }

    /// Whether some pattern on `a` matches `value` ([`Catalogue::pattern_matches_attr`]).
    pub(crate) fn any(&mut self, cat: &Catalogue, a: Attr, value: &str) -> bool {
        !self.get(cat, a, value).is_empty()
    }

    /// Values remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_answers_as_the_catalogue_and_stays_bounded() {
        // Remembered answers equal fresh ones, for the same value on another attribute
        // too, and a flood of distinct values never grows the memo past its bound.
        let cat = Catalogue::load(None).unwrap();
        let mut m = MatchMemo::default();
        for (a, v) in [
            (Attr::Vendor, "Baxter International"),
            (Attr::Role, "dicom_store_scu"),
            (Attr::Vendor, "dicom_store_scu"),
            (Attr::Vendor, "Dell"),
        ] {
            let want = cat.matching(a, v);
            assert_eq!(m.get(&cat, a, v), &want[..], "{a:?} {v}");
            assert_eq!(m.get(&cat, a, v), &want[..], "{a:?} {v} (remembered)");
            assert_eq!(m.any(&cat, a, v), cat.pattern_matches_attr(a, v));
        }
        assert!(m.any(&cat, Attr::Vendor, "Baxter International"));
        assert!(!m.any(&cat, Attr::Vendor, "dicom_store_scu"));
        for i in 0..MatchMemo::MAX + 10 {
            m.get(&cat, Attr::Hostname, &format!("host-{i}"));
        }
        assert!(m.len() <= MatchMemo::MAX, "{}", m.len());
        assert_eq!(
            m.get(&cat, Attr::Vendor, "Baxter International"),
            &cat.matching(Attr::Vendor, "Baxter International")[..]
        );
    }
}
