//! A baseline's entries by kind ([`Sets`]): hash sets once the appliance changes them,
//! packed text as they were read (state store, import).

use super::ItemSet;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// A baseline's entries by kind (see [`super::KINDS`]).
///
/// Read from the state store or an import, they stay packed: every entry's text one after
/// another in one buffer, as given, with no allocation or hashing per entry (a restart
/// reads 2,000 baselines' 120,000 entries and only needs them in the index, which is
/// built straight from the buffer). They become hash sets ([`ItemSet`]) at their first
/// change ([`Sets::map_mut`]: learning, an approval, a summary of peers). Both forms
/// answer, compare and serialize the same: kinds by name, each entry once, sorted (an
/// entry given twice counts once; a kind given twice keeps its last list).
#[derive(Clone, Default)]
pub struct Sets {
    /// The entries, unless `packed` holds them.
    map: BTreeMap<String, ItemSet>,
    /// The entries as read (then `map` is empty).
    packed: Option<Packed>,
}

/// Entries as read: texts end to end.
#[derive(Clone, Default)]
struct Packed {
    text: String,
    /// Where each entry ends in `text` (the next begins there).
    ends: Vec<u32>,
    /// Each kind's name and its entries (a range of `ends`), in the order read.
    kinds: Vec<(String, u32, u32)>,
}

impl Packed {
    fn entry(&self, i: u32) -> &str {
        let i = i as usize;
        let from = match i.checked_sub(1) {
            Some(j) => self.ends.get(j).map_or(0, |&e| e as usize),
            None => 0,
        };
        let to = self.ends.get(i).map_or(0, |&e| e as usize);
        self.text.get(from..to).unwrap_or("")
    }

    fn entries(&self, from: u32, to: u32) -> impl Iterator<Item = &str> + '_ {
        (from..to).map(move |i| self.entry(i))
    }

    fn to_map(&self) -> BTreeMap<String, ItemSet> {
        let mut out = BTreeMap::new();
        for (name, from, to) in &self.kinds {
            let mut set = ItemSet::with_capacity_and_hasher(
                (to - from) as usize,
                foldhash::fast::RandomState::default(),
            );
            set.extend(self.entries(*from, *to).map(str::to_string));
            out.insert(name.clone(), set);
        }
        out
    }
}

impl Sets {
    /// Sets holding `map`.
    pub fn from_map(map: BTreeMap<String, ItemSet>) -> Sets {
        Sets { map, packed: None }
    }

    /// The sets, to change them (packed entries become hash sets first).
    pub fn map_mut(&mut self) -> &mut BTreeMap<String, ItemSet> {
        if let Some(p) = self.packed.take() {
            self.map = p.to_map();
        }
        &mut self.map
    }

    /// The sets as hash sets (a copy).
    pub fn to_map(&self) -> BTreeMap<String, ItemSet> {
        match &self.packed {
            Some(p) => p.to_map(),
            None => self.map.clone(),
        }
    }

    /// Calls `f` with each kind, sorted by name, and its entries, each once and sorted.
    pub fn each_sorted(&self, mut f: impl FnMut(&str, &[&str])) {
        // One list reused across kinds, sorted in place.
        let mut list: Vec<&str> = Vec::new();
        match &self.packed {
            None => {
                for (name, set) in &self.map {
                    list.clear();
                    list.extend(set.iter().map(String::as_str));
                    list.sort_unstable();
                    f(name, &list);
                }
            }
            Some(p) => {
                let mut kinds: Vec<&(String, u32, u32)> = p.kinds.iter().collect();
                kinds.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                for (name, from, to) in kinds {
                    list.clear();
                    list.extend(p.entries(*from, *to));
                    list.sort_unstable();
                    list.dedup();
                    f(name, &list);
                }
            }
        }
    }

    /// Calls `f` with each kind's name, whether its entries are distinct (a hash set's;
    /// packed entries may repeat), and its entries. For the index.
    pub(super) fn each(
        &self,
        mut f: impl FnMut(&str, bool, usize, &mut dyn Iterator<Item = &str>),
    ) {
        match &self.packed {
            None => {
                for (name, set) in &self.map {
                    f(name, true, set.len(), &mut set.iter().map(String::as_str));
                }
            }
            Some(p) => {
                for (name, from, to) in &p.kinds {
                    f(
                        name,
                        false,
                        (to - from) as usize,
                        &mut p.entries(*from, *to),
                    );
                }
            }
        }
    }

    /// The kinds' names, sorted.
    pub fn kinds(&self) -> Vec<&str> {
        let mut v: Vec<&str> = match &self.packed {
            None => self.map.keys().map(String::as_str).collect(),
            Some(p) => p.kinds.iter().map(|k| k.0.as_str()).collect(),
        };
        v.sort_unstable();
        v
    }

    /// Each kind's number of entries, by name.
    pub fn counts(&self) -> Vec<(&str, usize)> {
        let mut out = Vec::new();
        match &self.packed {
            None => out.extend(self.map.iter().map(|(k, s)| (k.as_str(), s.len()))),
            Some(p) => {
                for (name, from, to) in &p.kinds {
                    let distinct: HashSet<&str> = p.entries(*from, *to).collect();
                    out.push((name.as_str(), distinct.len()));
                }
                out.sort_unstable();
            }
        }
        out
    }

    /// The number of entries of one kind.
    pub fn count(&self, kind: &str) -> usize {
        match &self.packed {
            None => self.map.get(kind).map_or(0, HashSet::len),
            Some(_) => self.entries_of(kind).len(),
        }
    }

    /// The number of entries, all kinds.
    pub fn len(&self) -> usize {
        self.counts().iter().map(|(_, n)| n).sum()
    }

    /// At least the number of entries, all kinds, and of those of the kinds `is_text` names
    /// (for sizing the index: exact unless packed entries repeat).
    pub(super) fn upper_len(&self, is_text: impl Fn(&str) -> bool) -> (usize, usize) {
        let (mut all, mut texts) = (0, 0);
        self.each(|name, _, n, _| {
            all += n;
            if is_text(name) {
                texts += n;
            }
        });
        (all, texts)
    }

    pub fn is_empty(&self) -> bool {
        match &self.packed {
            None => self.map.values().all(HashSet::is_empty),
            Some(p) => p.kinds.iter().all(|(_, a, b)| a == b),
        }
    }

    /// Whether `item` is an entry of `kind` (exactly).
    pub fn contains(&self, kind: &str, item: &str) -> bool {
        match &self.packed {
            None => self.map.get(kind).is_some_and(|s| s.contains(item)),
            Some(p) => p
                .kinds
                .iter()
                .filter(|k| k.0 == kind)
                .any(|(_, from, to)| p.entries(*from, *to).any(|e| e == item)),
        }
    }

    /// The entries of `kind`, each once, in no order.
    pub fn entries_of(&self, kind: &str) -> Vec<&str> {
        match &self.packed {
            None => self
                .map
                .get(kind)
                .map(|s| s.iter().map(String::as_str).collect())
                .unwrap_or_default(),
            Some(p) => {
                let mut seen = HashSet::new();
                p.kinds
                    .iter()
                    .filter(|k| k.0 == kind)
                    .flat_map(|(_, from, to)| p.entries(*from, *to))
                    .filter(|e| seen.insert(*e))
                    .collect()
            }
        }
    }

    /// The normal form both representations share (kinds by name, entries sorted, once).
    fn normal(&self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        self.each_sorted(|k, v| {
            out.push((k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        });
        out
    }
}

impl PartialEq for Sets {
    fn eq(&self, other: &Sets) -> bool {
        match (&self.packed, &other.packed) {
            (None, None) => self.map == other.map,
            _ => self.normal() == other.normal(),
        }
    }
}

impl Eq for Sets {}

impl fmt::Debug for Sets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        self.each_sorted(|k, v| {
            m.entry(&k, &v);
        });
        m.finish()
    }
}

impl serde::Serialize for Sets {
    /// Kinds by name, each kind's entries sorted (exports diff cleanly).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let kinds = match &self.packed {
            None => self.map.len(),
            Some(p) => p.kinds.len(),
        };
        let mut m = s.serialize_map(Some(kinds))?;
        let mut res = Ok(());
        self.each_sorted(|k, v| {
            if res.is_ok() {
                res = m.serialize_entry(k, v);
            }
        });
        res?;
        m.end()
    }
}

/// The most kinds one baseline's sets may name (there are ten; a record naming thousands is
/// refused before the reading, which looks for a repeated kind, turns quadratic).
const MAX_KINDS: usize = 64;

/// The most bytes of entry text one baseline may hold (the packed form's offsets are 32
/// bits; the state store's records are far smaller).
const MAX_TEXT: usize = u32::MAX as usize;

/// One entry, appended to the buffer (borrowed from the input when the reader can).
struct Entry<'a>(&'a mut Packed);

impl<'de> DeserializeSeed<'de> for Entry<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_string(self)
    }
}

impl Entry<'_> {
    fn push<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        let p = self.0;
        let end = p.text.len().saturating_add(v.len());
        if end > MAX_TEXT {
            return Err(E::custom("baseline entries too large"));
        }
        p.text.push_str(v);
        p.ends.push(end as u32);
        Ok(())
    }
}

impl<'de> Visitor<'de> for Entry<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.push(v)
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<(), E> {
        match std::str::from_utf8(v) {
            Ok(s) => self.push(s),
            Err(_) => Err(E::invalid_value(serde::de::Unexpected::Bytes(v), &self)),
        }
    }
}

/// One kind's list of entries.
struct List<'a>(&'a mut Packed);

impl<'de> DeserializeSeed<'de> for List<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for List<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of entries")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Entry(self.0))?.is_some() {}
        Ok(())
    }
}

struct SetsVisitor;

impl<'de> Visitor<'de> for SetsVisitor {
    type Value = Sets;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of entry lists by kind")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sets, A::Error> {
        let mut p = Packed::default();
        while let Some(kind) = map.next_key::<String>()? {
            let from = p.ends.len();
            map.next_value_seed(List(&mut p))?;
            let to = p.ends.len();
            let (Ok(from), Ok(to)) = (u32::try_from(from), u32::try_from(to)) else {
                return Err(serde::de::Error::custom("too many baseline entries"));
            };
            // A kind given twice keeps its last list.
            p.kinds.retain(|k| k.0 != kind);
            if p.kinds.len() >= MAX_KINDS {
                return Err(serde::de::Error::custom(format!(
                    "more than {MAX_KINDS} kinds of baseline entries"
                )));
            }
            p.kinds.push((kind, from, to));
        }
        Ok(Sets {
            map: BTreeMap::new(),
            packed: Some(p),
        })
    }
}

impl<'de> serde::Deserialize<'de> for Sets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sets, D::Error> {
        d.deserialize_map(SetsVisitor)
    }
}
