//! A device's attributes: name -> values, with the names the inventory writes and the
//! catalogue tests interned as a small enum ([`Attr`]).
//!
//! The inventory looks up an attribute for every fact it notes, and classification for
//! every rule it evaluates; with text names each lookup was a series of string compares.
//! [`Attributes`] keeps its entries sorted by name *text* (the enum's order is the text
//! order, checked by a test), so a record iterates and serialises exactly as the
//! `BTreeMap<String, _>` it replaces: the same JSON in the store, the API and
//! `wardwatch inventory`. A name outside the enum (a record written by another version,
//! an operator's note) is kept as text.

use super::device::AttrValue;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::collections::BTreeMap;

macro_rules! attrs {
    ($($v:ident = $s:literal,)*) => {
        /// The attribute names the inventory writes and the catalogue may test, in text
        /// order (a test checks it).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Attr {
            $(#[doc = $s] $v,)*
        }

        impl Attr {
            /// Every name, in text order.
            pub const ALL: &'static [Attr] = &[$(Attr::$v,)*];

            /// The name as records and catalogue files spell it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Attr::$v => $s,)*
                }
            }
        }
    };
}

attrs! {
    Capability = "capability",
    Deviation = "deviation",
    DhcpFingerprint = "dhcp_fingerprint",
    DhcpVendorClass = "dhcp_vendor_class",
    DicomAe = "dicom_ae",
    DicomImplementationClassUid = "dicom_implementation_class_uid",
    DicomImplementationVersion = "dicom_implementation_version",
    DnsName = "dns_name",
    Exposure = "exposure",
    Hl7Application = "hl7_application",
    Hl7DeviceId = "hl7_device_id",
    Hl7Facility = "hl7_facility",
    Hostname = "hostname",
    HttpServer = "http_server",
    Ja3 = "ja3",
    Ja4 = "ja4",
    Manufacturer = "manufacturer",
    MdnsService = "mdns_service",
    Modality = "modality",
    Model = "model",
    Os = "os",
    Platform = "platform",
    Role = "role",
    SerialNumber = "serial_number",
    Service = "service",
    Software = "software",
    SsdpServer = "ssdp_server",
    TcpSignature = "tcp_signature",
    TlsSni = "tls_sni",
    UserAgent = "user_agent",
    Vendor = "vendor",
}

impl Attr {
    /// The interned name of a text name, if it is one.
    pub fn from_name(name: &str) -> Option<Attr> {
        Attr::ALL
            .binary_search_by(|a| a.name().cmp(name))
            .ok()
            .map(|i| Attr::ALL[i])
    }

    /// Index into per-attribute tables (`0..Attr::ALL.len()`).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The attribute's bit in a set of attributes (a `u64`: fewer than 64 names).
    pub const fn bit(self) -> u64 {
        1 << (self as u32)
    }
}

/// An attribute name: interned, or text for a name outside [`Attr`] (never the text of
/// an interned one, so equality is structural).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Name {
    Known(Attr),
    Other(Box<str>),
}

impl Name {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Name::Known(a) => a.name(),
            Name::Other(s) => s,
        }
    }

    fn of(s: &str) -> Name {
        match Attr::from_name(s) {
            Some(a) => Name::Known(a),
            None => Name::Other(s.into()),
        }
    }
}

impl From<Attr> for Name {
    fn from(a: Attr) -> Name {
        Name::Known(a)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::of(s)
    }
}

impl Ord for Name {
    /// Text order; two interned names compare by their enum order, which is the same.
    #[inline]
    fn cmp(&self, o: &Name) -> Ordering {
        match (self, o) {
            (Name::Known(a), Name::Known(b)) => a.cmp(b),
            _ => self.as_str().cmp(o.as_str()),
        }
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, o: &Name) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// One attribute: its values, and (not part of the record) which of them a newcomer to
/// the full list would have to beat, when known.
#[derive(Clone, Debug)]
struct Entry {
    name: Name,
    values: Vec<AttrValue>,
    worst: Option<usize>,
}

impl Entry {
    fn new(name: Name, values: Vec<AttrValue>) -> Entry {
        Entry {
            name,
            values,
            worst: None,
        }
    }
}

impl PartialEq for Entry {
    fn eq(&self, o: &Entry) -> bool {
        self.name == o.name && self.values == o.values
    }
}

impl Eq for Entry {}

/// Attribute name -> values (several when evidence conflicts), in name text order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes {
    entries: Vec<Entry>,
}

/// An attribute's values on the update path, with the cached index of the worst value
/// of a full list (`None`: not known; whoever changes the list's values resets it).
pub(crate) struct Slot<'a> {
    pub(crate) values: &'a mut Vec<AttrValue>,
    pub(crate) worst: &'a mut Option<usize>,
}

impl Attributes {
    #[inline]
    fn find(&self, name: &Name) -> Result<usize, usize> {
        if let Name::Known(a) = name {
            // Interned: compare enum values only (text order for every interned pair);
            // a text name sorts among them by its text.
            return self.entries.binary_search_by(|e| match &e.name {
                Name::Known(b) => b.cmp(a),
                Name::Other(t) => (**t).cmp(a.name()),
            });
        }
        self.entries.binary_search_by(|e| e.name.cmp(name))
    }

    /// Position of a text name, without allocating for a name outside [`Attr`].
    fn find_str(&self, name: &str) -> Option<usize> {
        match Attr::from_name(name) {
            Some(a) => self.find(&Name::Known(a)).ok(),
            None => self.entries.iter().position(|e| e.name.as_str() == name),
        }
    }

    fn values_at(&mut self, i: usize) -> &mut Vec<AttrValue> {
        let e = &mut self.entries[i];
        e.worst = None;
        &mut e.values
    }

    /// The values of an attribute.
    pub fn get(&self, name: &str) -> Option<&Vec<AttrValue>> {
        self.find_str(name).map(|i| &self.entries[i].values)
    }

    /// The values of an attribute, to change them.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Vec<AttrValue>> {
        self.find_str(name).map(|i| self.values_at(i))
    }

    /// The values of an interned attribute (no string compares).
    pub fn get_attr(&self, a: Attr) -> Option<&Vec<AttrValue>> {
        self.find(&Name::Known(a))
            .ok()
            .map(|i| &self.entries[i].values)
    }

    /// The values of an interned attribute, to change them.
    pub fn get_attr_mut(&mut self, a: Attr) -> Option<&mut Vec<AttrValue>> {
        self.find(&Name::Known(a)).ok().map(|i| self.values_at(i))
    }

    /// The values of an attribute, created empty if absent.
    pub(crate) fn entry(&mut self, name: Name) -> &mut Vec<AttrValue> {
        let i = match self.find(&name) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, Entry::new(name, Vec::new()));
                i
            }
        };
        self.values_at(i)
    }

    /// Looks an attribute up, or says where it would go (see [`Attributes::insert_at`]):
    /// one search for both.
    pub(crate) fn slot(&mut self, name: &Name) -> Result<Slot<'_>, usize> {
        match self.find(name) {
            Ok(i) => {
                let e = &mut self.entries[i];
                Ok(Slot {
                    values: &mut e.values,
                    worst: &mut e.worst,
                })
            }
            Err(i) => Err(i),
        }
    }

    /// Inserts an attribute at the position [`Attributes::slot`] gave for it.
    pub(crate) fn insert_at(&mut self, at: usize, name: Name) -> Slot<'_> {
        self.entries.insert(at, Entry::new(name, Vec::new()));
        let e = &mut self.entries[at];
        Slot {
            values: &mut e.values,
            worst: &mut e.worst,
        }
    }

    /// Sets an attribute's values; returns the previous ones.
    pub fn insert(&mut self, name: String, values: Vec<AttrValue>) -> Option<Vec<AttrValue>> {
        let name = Name::of(&name);
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(self.values_at(i), values)),
            Err(i) => {
                self.entries.insert(i, Entry::new(name, values));
                None
            }
        }
    }

    /// The entries, for moving them into another record.
    pub(crate) fn into_entries(self) -> impl Iterator<Item = (Name, Vec<AttrValue>)> {
        self.entries.into_iter().map(|e| (e.name, e.values))
    }

    /// The interned attributes that have a value, as [`Attr::bit`]s.
    pub fn present(&self) -> u64 {
        self.entries.iter().fold(0, |m, e| match e.name {
            Name::Known(a) if !e.values.is_empty() => m | a.bit(),
            _ => m,
        })
    }

    /// Whether the attribute has an entry.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find_str(name).is_some()
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// (name, values) in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Vec<AttrValue>)> {
        self.entries.iter().map(|e| (e.name.as_str(), &e.values))
    }

    /// Names in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// Values lists in name order.
    pub fn values(&self) -> impl Iterator<Item = &Vec<AttrValue>> {
        self.entries.iter().map(|e| &e.values)
    }

    /// Values lists in name order, to change them.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Vec<AttrValue>> {
        self.entries.iter_mut().map(|e| {
            e.worst = None;
            &mut e.values
        })
    }

    /// Keeps the attributes `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut Vec<AttrValue>) -> bool) {
        self.entries.retain_mut(|e| {
            e.worst = None;
            keep(e.name.as_str(), &mut e.values)
        });
    }
}

/// What indexing gives for an absent attribute.
static NO_VALUES: Vec<AttrValue> = Vec::new();

impl std::ops::Index<&str> for Attributes {
    type Output = Vec<AttrValue>;

    /// The values of an attribute; none (an empty list, never a panic) when absent.
    fn index(&self, name: &str) -> &Vec<AttrValue> {
        self.get(name).unwrap_or(&NO_VALUES)
    }
}

impl FromIterator<(String, Vec<AttrValue>)> for Attributes {
    fn from_iter<I: IntoIterator<Item = (String, Vec<AttrValue>)>>(it: I) -> Self {
        let mut a = Attributes::default();
        for (n, v) in it {
            a.insert(n, v);
        }
        a
    }
}

impl From<BTreeMap<String, Vec<AttrValue>>> for Attributes {
    fn from(m: BTreeMap<String, Vec<AttrValue>>) -> Self {
        // Already in text order: no search per entry.
        Attributes {
            entries: m
                .into_iter()
                .map(|(n, v)| Entry::new(Name::of(&n), v))
                .collect(),
        }
    }
}

impl Serialize for Attributes {
    /// A map in name order, as `BTreeMap<String, _>` writes it.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::<String, Vec<AttrValue>>::deserialize(d).map(Attributes::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn val(v: &str) -> AttrValue {
        AttrValue {
            value: v.into(),
            source: "s".into(),
            first_seen_us: 1,
            last_seen_us: 2,
            count: 1,
            confidence: 50,
        }
    }

    #[test]
    fn interned_names_are_in_text_order() {
        // The enum's order must be the text order, or records would list attributes in
        // another order than the text-keyed map did (and lookups would miss).
        for w in Attr::ALL.windows(2) {
            assert!(w[0].name() < w[1].name(), "{:?} {:?}", w[0], w[1]);
            assert!(w[0] < w[1]);
        }
        for (i, a) in Attr::ALL.iter().enumerate() {
            assert_eq!(a.index(), i);
            assert_eq!(Attr::from_name(a.name()), Some(*a));
        }
        assert_eq!(Attr::from_name("colour"), None);
        assert!(Attr::ALL.len() <= 64, "attribute sets are u64 bit masks");
        // The risk stage notes its facts by these.
        assert_eq!(Attr::Exposure.name(), crate::risk::EXPOSURE);
        assert_eq!(Attr::Deviation.name(), crate::risk::DEVIATION);
        // Every attribute a catalogue rule may test is interned.
        for n in super::super::catalogue::ATTRIBUTES {
            assert!(Attr::from_name(n).is_some(), "{n}");
        }
    }

    proptest! {
        #[test]
        fn behaves_like_a_text_keyed_map(
            ops in proptest::collection::vec(
                (prop_oneof![
                    proptest::sample::select(Attr::ALL).prop_map(|a| a.name().to_string()),
                    "[a-z_]{0,12}",
                ], "[a-z]{0,3}", any::<bool>()),
                0..40,
            )
        ) {
            // Inserts and removals (by retain) on both: same lookups, same iteration
            // order and the same JSON, which is what the store and the API write.
            let mut a = Attributes::default();
            let mut m: BTreeMap<String, Vec<AttrValue>> = BTreeMap::new();
            for (name, v, remove) in &ops {
                if *remove {
                    a.retain(|n, _| n != name);
                    m.remove(name);
                } else {
                    prop_assert_eq!(
                        a.insert(name.clone(), vec![val(v)]),
                        m.insert(name.clone(), vec![val(v)])
                    );
                }
                prop_assert_eq!(a.get(name), m.get(name));
                if let Some(x) = Attr::from_name(name) {
                    prop_assert_eq!(a.get_attr(x), m.get(name));
                }
            }
            prop_assert!(a.keys().eq(m.keys().map(String::as_str)));
            prop_assert_eq!(a.len(), m.len());
            let (ja, jm) = (serde_json::to_string(&a).unwrap(), serde_json::to_string(&m).unwrap());
            prop_assert_eq!(&ja, &jm);
            let back: Attributes = serde_json::from_str(&ja).unwrap();
            prop_assert_eq!(back, a);
        }
    }
}
