//! The per-event side of baselines: every entry of every baseline's sets in one hash
//! table ([`Index`]), keyed by the baseline's slot, the kind and a small key built from
//! the event without allocating (a peer as a device id
//! or a subnet, a service as protocol, port and direction, anything else as its text), so
//! checking an event builds no `String`; the text of an entry is built only when it is new
//! (learning) or raises an alert.
//!
//! The sets ([`super::DeviceBaseline::sets`]) stay the record (store, export, API); the
//! index mirrors them: a set replaced (a summary, a relearn, an import) has its entries
//! taken out and the new ones put in. A key matches exactly
//! when its text equals an entry's text: an entry becomes a structured key only when that
//! key's text is the entry again (`net:10.1.2.0/24`, `tcp/443/out`), otherwise it stays
//! text (an operator's `net:10.1.2.7/24`), and within a kind the event side builds only
//! structured keys for peers and services and only text for the rest.

use super::{ItemSet, Sets, KINDS};
use crate::inventory::Key as DevKey;
use crate::policy::Subnet;
use foldhash::fast::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;

/// A kind, as its position in [`KINDS`].
pub(super) type Kind = u8;
pub(super) const PEERS: Kind = 0;
pub(super) const EXTERNAL_PEERS: Kind = 1;
pub(super) const SERVICES: Kind = 2;
pub(super) const DICOM_PAIRS: Kind = 3;
pub(super) const DICOM_SOPS: Kind = 4;
pub(super) const HL7_TYPES: Kind = 5;
pub(super) const DNS_NAMES: Kind = 6;
pub(super) const TLS_SNI: Kind = 7;
pub(super) const COUNTRIES: Kind = 8;
pub(super) const ASNS: Kind = 9;

/// The name of a kind (`peers`, ...).
pub(super) fn kind_name(k: Kind) -> &'static str {
    KINDS.get(usize::from(k)).map_or("", |x| x.0)
}

pub(super) fn kind_of(name: &str) -> Option<Kind> {
    KINDS
        .iter()
        .position(|x| x.0 == name)
        .and_then(|i| Kind::try_from(i).ok())
}

fn is_peer(k: Kind) -> bool {
    k == PEERS || k == EXTERNAL_PEERS
}

/// Whether the entries of the kind named `name` are kept as text beside the cells (all
/// but peers and services, whose entries are mostly keys packed into the cells).
pub(super) fn kept_as_text(name: &str) -> bool {
    kind_of(name).is_some_and(|k| !is_peer(k) && k != SERVICES)
}

/// A service's transport, as its entry names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Proto {
    Tcp,
    Udp,
    Sctp,
    Ip,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
            Proto::Ip => "ip",
        }
    }

    fn parse(s: &str) -> Option<Proto> {
        Some(match s {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            "sctp" => Proto::Sctp,
            "ip" => Proto::Ip,
            _ => return None,
        })
    }
}

/// An inventory key hashed as one or two words, inline (the derived hash walks the enum
/// and the address's parts, and is not inlined where the inventory also uses it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DevK(pub(super) DevKey);

impl Hash for DevK {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        // Equal keys write the same words; different kinds may collide (only a hash).
        match self.0 {
            DevKey::Mac(v) => h.write_u64(v),
            DevKey::Ip(IpAddr::V4(a)) => h.write_u64((1 << 56) | u64::from(u32::from(a))),
            DevKey::Ip(IpAddr::V6(a)) => h.write_u128(u128::from(a)),
        }
    }
}

impl DevK {
    /// The device id the key stands for (the inventory's text of it).
    fn id(self) -> String {
        let mut s = String::with_capacity(17);
        self.write_id(&mut s);
        s
    }

    /// [`Self::id`] appended to `s`.
    fn write_id(self, s: &mut String) {
        match self.0 {
            DevKey::Mac(v) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                for i in (0..6).rev() {
                    let b = (v >> (i * 8)) as u8;
                    s.push(char::from(HEX[usize::from(b >> 4)]));
                    s.push(char::from(HEX[usize::from(b & 15)]));
                    if i > 0 {
                        s.push(':');
                    }
                }
            }
            k => s.push_str(&k.text()),
        }
    }
}

/// The inventory key whose id is exactly `id` ([`DevKey::parse`], without writing an
/// IPv4 address back to compare: Rust reads only the one dotted-decimal form of it; a
/// MAC id read by table, six hex pairs at once: a restore reads one per peer entry).
fn dev_key(id: &str) -> Option<DevKey> {
    if let Some(ip) = id.strip_prefix("ip:") {
        if let Ok(a) = ip.parse::<std::net::Ipv4Addr>() {
            return Some(DevKey::Ip(IpAddr::V4(a)));
        }
    } else if let Ok(b) = <&[u8; 17]>::try_from(id.as_bytes()) {
        return mac_key(b).map(DevKey::Mac);
    }
    DevKey::parse(id)
}

/// The value of a lowercase hex digit; 0xff for any other byte.
const HEX_VAL: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// `xx:xx:xx:xx:xx:xx` in lowercase hex (the inventory's MAC id) as its key's value.
fn mac_key(b: &[u8; 17]) -> Option<u64> {
    // Digits that are not lowercase hex set the high bits of `bad`.
    let (mut v, mut bad) = (0u64, 0u8);
    for (i, pair) in b.chunks(3).enumerate() {
        let [h, l, sep @ ..] = pair else {
            return None;
        };
        if sep != if i < 5 { b":".as_slice() } else { b"" } {
            return None;
        }
        let (hi, lo) = (HEX_VAL[usize::from(*h)], HEX_VAL[usize::from(*l)]);
        bad |= hi | lo;
        v = (v << 8) | u64::from((hi << 4) | (lo & 15));
    }
    (bad < 16).then_some(v)
}

/// An entry as an event builds it (borrowed, no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum KeyRef<'a> {
    /// `dev:ID` where ID is the text of an inventory key (every inventoried device's id):
    /// hashed and compared as the key, the id's text never read.
    Device(DevK),
    /// `dev:ID`, any other ID.
    Dev(&'a str),
    /// `net:SUBNET`
    Net(Subnet),
    /// `PROTO/PORT/out` or `.../in`
    Service { proto: Proto, port: u16, out: bool },
    /// Anything else, as its text.
    Text(&'a str),
}

impl<'a> KeyRef<'a> {
    /// The entry's text, as the sets hold it.
    pub(super) fn text(&self) -> String {
        let mut s = String::with_capacity(21);
        self.write_text(&mut s);
        s
    }

    /// [`Self::text`] appended to `s`.
    pub(super) fn write_text(&self, s: &mut String) {
        use std::fmt::Write;
        match self {
            KeyRef::Device(k) => {
                s.push_str("dev:");
                k.write_id(s);
            }
            KeyRef::Dev(id) => {
                s.push_str("dev:");
                s.push_str(id);
            }
            // Writing to a String does not fail.
            KeyRef::Net(n) => {
                let _ = write!(s, "net:{n}");
            }
            KeyRef::Service { proto, port, out } => {
                let _ = write!(
                    s,
                    "{}/{port}/{}",
                    proto.name(),
                    if *out { "out" } else { "in" }
                );
            }
            KeyRef::Text(t) => s.push_str(t),
        }
    }

    /// Whether the entry's text is `s` (written into a stack buffer: no allocation).
    fn text_is(&self, s: &str) -> bool {
        use std::fmt::Write;
        let mut w = StackText::default();
        let ok = match self {
            KeyRef::Device(k) => write!(w, "dev:{}", k.id()),
            KeyRef::Dev(id) => write!(w, "dev:{id}"),
            KeyRef::Net(n) => write!(w, "net:{n}"),
            KeyRef::Service { proto, port, out } => {
                write!(
                    w,
                    "{}/{port}/{}",
                    proto.name(),
                    if *out { "out" } else { "in" }
                )
            }
            KeyRef::Text(t) => w.write_str(t),
        };
        ok.is_ok() && w.as_bytes() == s.as_bytes()
    }

    /// The key of an entry of kind `k`: structured only when its text is `s` again.
    pub(super) fn parse(k: Kind, s: &'a str) -> KeyRef<'a> {
        if is_peer(k) {
            if let Some(id) = s.strip_prefix("dev:") {
                // A key only when its text is `id` again (`dev_key` checks that).
                return match dev_key(id) {
                    Some(k) => KeyRef::Device(DevK(k)),
                    None => KeyRef::Dev(id),
                };
            }
            if let Some(n) = s.strip_prefix("net:") {
                if let Some(sub) = net_v4(n) {
                    return KeyRef::Net(sub);
                }
                // IPv6 (several texts for one address), or no subnet: written back to
                // compare.
                if let Ok(sub) = n.parse::<Subnet>() {
                    let key = KeyRef::Net(sub);
                    if sub.addr.is_ipv6() && key.text_is(s) {
                        return key;
                    }
                }
            }
        } else if k == SERVICES {
            if let Some(key) = service_key(s) {
                return key;
            }
        }
        KeyRef::Text(s)
    }
}

/// The service whose text is exactly `s` (`tcp/443/out`): the protocol and direction are
/// matched exactly, the port checked to be written as `Display` writes it.
fn service_key(s: &str) -> Option<KeyRef<'static>> {
    let (p, rest) = s.split_once('/')?;
    let proto = Proto::parse(p)?;
    let (port, dir) = rest.split_once('/')?;
    let out = match dir {
        "out" => true,
        "in" => false,
        _ => return None,
    };
    let port = u16::try_from(decimal(port)?).ok()?;
    Some(KeyRef::Service { proto, port, out })
}

/// An IPv4 subnet whose text is exactly `n` (`10.1.2.0/24`; host bits may be set): Rust
/// reads only the one dotted-decimal form of an address, and the prefix is checked to be
/// written as `Display` writes it. Anything else (IPv6 too): `None`.
fn net_v4(n: &str) -> Option<Subnet> {
    let (a, p) = n.split_once('/')?;
    let addr = a.parse::<std::net::Ipv4Addr>().ok()?;
    let prefix = decimal(p).filter(|p| *p <= 32)?;
    Some(Subnet {
        addr: IpAddr::V4(addr),
        prefix: u8::try_from(prefix).ok()?,
    })
}

/// A number written as `Display` writes it (digits, no sign, no leading zero), up to
/// five digits.
fn decimal(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 5 || (b.len() > 1 && b.first() == Some(&b'0')) {
        return None;
    }
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Text up to 64 bytes written on the stack (longer: an error).
struct StackText {
    buf: [u8; 64],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl StackText {
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(std::fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Bytes of a text key kept inline in [`Index`]'s list of texts (device ids, most
/// names): no second pointer to follow on a lookup; longer text is boxed.
const INLINE: usize = 30;

#[derive(Clone, Debug)]
enum Bytes {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Bytes {
    fn from_bytes(b: &[u8]) -> Bytes {
        let mut buf = [0u8; INLINE];
        match (buf.get_mut(..b.len()), u8::try_from(b.len())) {
            (Some(dst), Ok(len)) => {
                dst.copy_from_slice(b);
                Bytes::Inline { len, buf }
            }
            _ => Bytes::Heap(b.into()),
        }
    }

    fn get(&self) -> &[u8] {
        match self {
            Bytes::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or(&[]),
            Bytes::Heap(b) => b,
        }
    }
}

/// How a cell holds its key (the tag, 4 bits of [`Cell::key`]).
const T_MAC: u8 = 1;
const T_IP4: u8 = 2;
const T_IP6: u8 = 3;
const T_NET4: u8 = 4;
const T_NET6: u8 = 5;
const T_SERVICE: u8 = 6;
/// `Dev` and `Text` keys: their bytes are kept aside (`Index::texts`), the cell holds the
/// place (so do IPv6 keys, too wide for the cell).
const T_DEV: u8 = 7;
const T_TEXT: u8 = 8;

/// [`Cell::key`] of a removed entry (probes pass over it); an empty cell's is 0. No live
/// key is either: a live cell's slot is not 0.
const DEAD: u64 = u64::MAX;
/// The payload bits of [`Cell::key`] (below the kind and the tag).
const PAYLOAD: u64 = (1 << 56) - 1;
/// Kinds fit in four bits of a cell (there are ten).
const MAX_KIND: Kind = 15;

/// A key as a cell holds it: exactly, as a tag and payload in one word (`tag << 56 |
/// payload`), or as a tag and bytes kept aside (text, IPv6).
enum Packed<'a> {
    Word(u64),
    Aside { tag: u8, bytes: Aside<'a> },
}

/// Bytes of a key kept aside: text, or an IPv6 address (and a prefix).
#[derive(Clone, Copy)]
enum Aside<'a> {
    Text(&'a [u8]),
    V6 { buf: [u8; 17], len: u8 },
}

impl Aside<'_> {
    fn get(&self) -> &[u8] {
        match self {
            Aside::Text(b) => b,
            Aside::V6 { buf, len } => buf.get(..usize::from(*len)).unwrap_or(&[]),
        }
    }
}

/// A device key as its tag ([`T_MAC`], [`T_IP4`] or [`T_IP6`], never 0) and two words,
/// exactly (the slot table [`super::keys`] holds it so).
pub(super) fn dev_words(k: DevK) -> (u8, u64, u64) {
    match k.0 {
        DevKey::Mac(v) => (T_MAC, v, 0),
        DevKey::Ip(IpAddr::V4(x)) => (T_IP4, u64::from(u32::from(x)), 0),
        DevKey::Ip(IpAddr::V6(x)) => {
            let v = u128::from(x);
            (T_IP6, (v >> 64) as u64, v as u64)
        }
    }
}

fn word(tag: u8, payload: u64) -> Packed<'static> {
    Packed::Word((u64::from(tag) << 56) | (payload & PAYLOAD))
}

fn v6(tag: u8, x: std::net::Ipv6Addr, prefix: Option<u8>) -> Packed<'static> {
    let mut buf = [0u8; 17];
    let (addr, rest) = buf.split_at_mut(16);
    addr.copy_from_slice(&x.octets());
    let len = match (prefix, rest.first_mut()) {
        (Some(p), Some(b)) => {
            *b = p;
            17
        }
        _ => 16,
    };
    Packed::Aside {
        tag,
        bytes: Aside::V6 { buf, len },
    }
}

fn pack(key: KeyRef<'_>) -> Packed<'_> {
    match key {
        // A MAC is 48 bits, an IPv4 address 32: both fit the payload.
        KeyRef::Device(DevK(DevKey::Mac(v))) => word(T_MAC, v),
        KeyRef::Device(DevK(DevKey::Ip(IpAddr::V4(x)))) => word(T_IP4, u64::from(u32::from(x))),
        KeyRef::Device(DevK(DevKey::Ip(IpAddr::V6(x)))) => v6(T_IP6, x, None),
        KeyRef::Net(Subnet {
            addr: IpAddr::V4(x),
            prefix,
        }) => word(T_NET4, u64::from(u32::from(x)) | (u64::from(prefix) << 32)),
        KeyRef::Net(Subnet {
            addr: IpAddr::V6(x),
            prefix,
        }) => v6(T_NET6, x, Some(prefix)),
        KeyRef::Service { proto, port, out } => word(
            T_SERVICE,
            u64::from(port) | ((proto as u64) << 16) | (u64::from(out) << 24),
        ),
        KeyRef::Dev(s) => Packed::Aside {
            tag: T_DEV,
            bytes: Aside::Text(s.as_bytes()),
        },
        KeyRef::Text(s) => Packed::Aside {
            tag: T_TEXT,
            bytes: Aside::Text(s.as_bytes()),
        },
    }
}

/// One entry in 16 bytes, four to a cache line: a filter from its hash, whose (the
/// baseline's slot, plus one: 0 marks an empty or removed cell), and which kind and key
/// (`kind << 60 | tag << 56 | payload`, exactly; for bytes kept aside, their place).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(16))]
struct Cell {
    /// The hash's high half; its low bits are the entry's home cell.
    check: u32,
    slot1: u32,
    key: u64,
}

impl Cell {
    fn is_live(&self) -> bool {
        self.slot1 != 0
    }

    fn is_empty(&self) -> bool {
        self.slot1 == 0 && self.key == 0
    }

    /// The place of the bytes kept aside, for a live cell whose key is so kept.
    fn tag(&self) -> u8 {
        ((self.key >> 56) & 15) as u8
    }

    fn aside(&self) -> Option<usize> {
        match self.tag() {
            T_DEV | T_TEXT | T_IP6 | T_NET6 if self.is_live() => {
                usize::try_from(self.key & 0xffff_ffff).ok()
            }
            _ => None,
        }
    }

    /// Whether it holds text (a `Dev` or `Text` key).
    fn holds_text(&self) -> bool {
        matches!(self.tag(), T_DEV | T_TEXT)
    }
}

/// The hash's part a cell keeps; its low bits pick the home cell, so a table can grow
/// without hashing a key again.
fn check_of(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// Every baseline's entries, all kinds, in one open-addressing table (linear probing,
/// at most half full) keyed by (baseline slot, kind, key): a lookup hashes the key and
/// reads one or two adjacent cells, with no per-device table to reach first. Keys pack
/// into the cell exactly, except text (`dev:` ids that are no inventory key, names, DICOM
/// and HL7 entries) and IPv6 addresses, whose bytes are kept aside and compared when the
/// rest matches. Cells are 16 bytes, half what they were: the table (8 MiB for the bench's
/// 126,655 entries, now 4) is what the lookups miss the caches on, and 64-byte cells had
/// cost 3% more CPU on the 1 GiB enforcing replay (12 paired rounds).
///
/// A baseline's slot from `u32::MAX` on (unreachable: 4 billion baselines) is never
/// indexed.
#[derive(Clone, Debug, Default)]
pub(super) struct Index {
    cells: Vec<Cell>,
    live: usize,
    dead: usize,
    /// The bytes of keys kept aside; places of removed ones are reused.
    texts: Vec<Bytes>,
    free: Vec<u32>,
}

impl Index {
    fn hash(rs: &RandomState, slot: u32, k: Kind, key: KeyRef<'_>) -> u64 {
        rs.hash_one((slot, k, key))
    }

    /// A cell's `slot1` for baseline `slot`, and the top byte of its key for kind `k` and
    /// `tag` (none past what a cell holds).
    fn ids(slot: u32, k: Kind) -> Option<(u32, u64)> {
        if k > MAX_KIND {
            return None;
        }
        Some((slot.checked_add(1)?, u64::from(k) << 60))
    }

    /// The position of the entry, if present.
    fn find(&self, hash: u64, slot: u32, k: Kind, key: KeyRef<'_>) -> Option<usize> {
        let n = self.cells.len();
        if n == 0 {
            return None;
        }
        let (slot1, kbits) = Self::ids(slot, k)?;
        let mask = n - 1;
        let check = check_of(hash);
        let packed = pack(key);
        let mut i = (check as usize) & mask;
        // At most half the cells are taken: an empty one ends every probe (bounded anyway).
        for _ in 0..n {
            let c = self.cells.get(i)?;
            if c.is_empty() {
                return None;
            }
            if c.check == check && c.slot1 == slot1 {
                let same = match &packed {
                    Packed::Word(w) => c.key == kbits | w,
                    Packed::Aside { tag, bytes } => {
                        c.key >> 56 == (kbits | (u64::from(*tag) << 56)) >> 56
                            && c.aside()
                                .and_then(|t| self.texts.get(t))
                                .is_some_and(|t| t.get() == bytes.get())
                    }
                };
                if same {
                    return Some(i);
                }
            }
            i = (i + 1) & mask;
        }
        None
    }

    fn get(&self, rs: &RandomState, slot: usize, k: Kind, key: KeyRef<'_>) -> bool {
        let Ok(slot) = u32::try_from(slot) else {
            return false;
        };
        self.find(Self::hash(rs, slot, k, key), slot, k, key)
            .is_some()
    }

    /// Whether an entry is in baseline `slot`; peers also match their /24 and /16
    /// summaries (/96 and /64 for IPv6), as [`super::DeviceBaseline::contains`] does.
    pub(super) fn contains_at(
        &self,
        rs: &RandomState,
        slot: usize,
        k: Kind,
        key: KeyRef<'_>,
    ) -> bool {
        if self.get(rs, slot, k, key) {
            return true;
        }
        if let (true, KeyRef::Net(n)) = (is_peer(k), key) {
            let ip = n.addr;
            for p in [24u8, 16] {
                let s = Subnet::new_masked(ip, if ip.is_ipv4() { p } else { p * 4 });
                if self.get(rs, slot, k, KeyRef::Net(s)) {
                    return true;
                }
            }
        }
        false
    }

    /// The cell a lookup of the entry reads first.
    pub(super) fn home(
        &self,
        rs: &RandomState,
        slot: usize,
        k: Kind,
        key: KeyRef<'_>,
    ) -> Option<usize> {
        self.start(rs, slot, k, key).map(|(i, _)| i)
    }

    /// Where a lookup of the entry starts: its home cell, and its hash.
    pub(super) fn start(
        &self,
        rs: &RandomState,
        slot: usize,
        k: Kind,
        key: KeyRef<'_>,
    ) -> Option<(usize, u64)> {
        let slot = u32::try_from(slot).ok()?;
        let mask = self.cells.len().checked_sub(1)?;
        let h = Self::hash(rs, slot, k, key);
        Some(((check_of(h) as usize) & mask, h))
    }

    /// The lines a lookup from cell `home` reads first: its own, and the next one when
    /// `home` is the last cell of its line (a cell is a quarter of a line; at half load a
    /// third of the entries sit past their home cell, most in the next one). Nothing is
    /// read.
    pub(super) fn lines_from(&self, home: usize) -> [*const u8; 2] {
        let at = self.cell_addr(home);
        let next = if (at as usize) % 64 == 48 {
            self.cell_addr((home + 1) & self.cells.len().wrapping_sub(1))
        } else {
            std::ptr::null()
        };
        [at, next]
    }

    /// [`Self::lines_from`] the entry's home cell (for a prefetch: nothing is read; null
    /// without a table).
    pub(super) fn hint_lines(
        &self,
        rs: &RandomState,
        slot: usize,
        k: Kind,
        key: KeyRef<'_>,
    ) -> [*const u8; 2] {
        self.home(rs, slot, k, key)
            .map_or([std::ptr::null(); 2], |c| self.lines_from(c))
    }

    /// The text kept aside for the entry whose hash is `hash` in baseline `slot`, found by
    /// probing from its home cell (whose line was hinted a call earlier; at most four cells
    /// read). None when it is not there or holds no text.
    pub(super) fn text_of_entry(
        &self,
        home: usize,
        hash: u64,
        slot: usize,
        k: Kind,
    ) -> Option<*const u8> {
        let (slot1, kbits) = Self::ids(u32::try_from(slot).ok()?, k)?;
        let mask = self.cells.len().checked_sub(1)?;
        let check = check_of(hash);
        let mut i = home;
        for _ in 0..4 {
            let c = self.cells.get(i)?;
            if c.is_empty() {
                return None;
            }
            if c.check == check && c.slot1 == slot1 && c.key >> 60 == kbits >> 60 {
                if !c.holds_text() {
                    return None;
                }
                let t = self.texts.get(c.aside()?)?;
                return Some((t as *const Bytes).cast());
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// The address of [`Self::home`]'s cell (for a prefetch: no cell is read here).
    #[cfg(test)]
    pub(super) fn hint(
        &self,
        rs: &RandomState,
        slot: usize,
        k: Kind,
        key: KeyRef<'_>,
    ) -> *const u8 {
        self.hint_lines(rs, slot, k, key)[0]
    }

    /// The address of cell `i` (null past the table).
    pub(super) fn cell_addr(&self, i: usize) -> *const u8 {
        self.cells
            .get(i)
            .map_or(std::ptr::null(), |c| (c as *const Cell).cast())
    }

    /// The address of the text kept aside for the entry in cell `i`, if it holds text.
    #[cfg(test)]
    pub(super) fn text_of_cell(&self, i: usize) -> Option<*const u8> {
        let c = self.cells.get(i)?;
        if !c.is_live() || !c.holds_text() {
            return None;
        }
        let t = self.texts.get(c.aside()?)?;
        Some((t as *const Bytes).cast())
    }

    /// Adds an entry built from an event to baseline `slot`.
    pub(super) fn insert_at(&mut self, rs: &RandomState, slot: usize, k: Kind, key: KeyRef<'_>) {
        if !self.get(rs, slot, k, key) {
            self.insert_new(rs, slot, k, key);
        }
    }

    /// Adds an entry's text of kind `k` to baseline `slot`.
    pub(super) fn insert_text_at(&mut self, rs: &RandomState, slot: usize, k: Kind, item: &str) {
        self.insert_at(rs, slot, k, KeyRef::parse(k, item));
    }

    /// Room for `more` text keys kept aside without growing.
    pub(super) fn reserve_texts(&mut self, more: usize) {
        self.texts.reserve(more.saturating_sub(self.free.len()));
    }

    /// Room for `more` entries without growing.
    pub(super) fn reserve(&mut self, more: usize) {
        let need = self.live.saturating_add(self.dead).saturating_add(more);
        if need.saturating_mul(2) > self.cells.len() {
            self.resize(self.live.saturating_add(more));
        }
    }

    /// Rehashes into a table at most half full with `entries` live ones (at most 2^32
    /// cells: a cell's home comes from the 32 bits it keeps).
    fn resize(&mut self, entries: usize) {
        let cap = entries
            .saturating_mul(2)
            .max(16)
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX / 2 + 1)
            .min(1 << 32);
        let old = std::mem::replace(&mut self.cells, vec![Cell::default(); cap]);
        self.dead = 0;
        let mask = cap - 1;
        for c in old.into_iter().filter(Cell::is_live) {
            // The cell keeps what its home depends on: no key is hashed again.
            let mut i = (c.check as usize) & mask;
            while let Some(x) = self.cells.get_mut(i) {
                if x.is_empty() {
                    *x = c;
                    break;
                }
                i = (i + 1) & mask;
            }
        }
    }

    /// Adds an entry known not to be in baseline `slot` yet.
    fn insert_new(&mut self, rs: &RandomState, slot: usize, k: Kind, key: KeyRef<'_>) {
        let Ok(slot) = u32::try_from(slot) else {
            return;
        };
        self.insert_hashed(Self::hash(rs, slot, k, key), slot, k, key);
    }

    /// [`Self::insert_new`] with the entry's hash.
    fn insert_hashed(&mut self, hash: u64, slot: u32, k: Kind, key: KeyRef<'_>) {
        let Some((slot1, kbits)) = Self::ids(slot, k) else {
            return;
        };
        if (self.live + self.dead + 1).saturating_mul(2) > self.cells.len() {
            // Double when live entries fill a quarter, else only sweep removed ones.
            let grow = (self.live + 1).saturating_mul(4) > self.cells.len();
            let entries = if grow {
                self.cells.len().max(8)
            } else {
                self.cells.len() / 2
            };
            self.resize(entries);
            if (self.live + self.dead + 1).saturating_mul(2) > self.cells.len() {
                // At the largest table: nothing more goes in.
                return;
            }
        }
        let key = match pack(key) {
            Packed::Word(w) => kbits | w,
            Packed::Aside { tag, bytes } => {
                let t = Bytes::from_bytes(bytes.get());
                let at = match self.free.pop() {
                    Some(i) => {
                        if let Some(x) = self.texts.get_mut(i as usize) {
                            *x = t;
                        }
                        i
                    }
                    None => {
                        let Ok(i) = u32::try_from(self.texts.len()) else {
                            return;
                        };
                        self.texts.push(t);
                        i
                    }
                };
                kbits | (u64::from(tag) << 56) | u64::from(at)
            }
        };
        let mask = self.cells.len() - 1;
        let check = check_of(hash);
        let mut i = (check as usize) & mask;
        while let Some(c) = self.cells.get_mut(i) {
            if !c.is_live() {
                if c.key == DEAD {
                    self.dead -= 1;
                }
                *c = Cell { check, slot1, key };
                self.live += 1;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Removes an entry of baseline `slot` (if present).
    fn remove(&mut self, rs: &RandomState, slot: usize, k: Kind, key: KeyRef<'_>) {
        let Ok(slot) = u32::try_from(slot) else {
            return;
        };
        let Some(i) = self.find(Self::hash(rs, slot, k, key), slot, k, key) else {
            return;
        };
        let Some(c) = self.cells.get_mut(i) else {
            return;
        };
        if let Some(t) = c.aside() {
            if let Some(x) = self.texts.get_mut(t) {
                *x = Bytes::from_bytes(&[]);
            }
            if let Ok(t) = u32::try_from(t) {
                self.free.push(t);
            }
        }
        *c = Cell {
            check: 0,
            slot1: 0,
            key: DEAD,
        };
        self.live -= 1;
        self.dead += 1;
    }

    /// Indexes the entries of one kind's set for baseline `slot`. Distinct texts give
    /// distinct keys (a key is structured only when its text is the entry), so a set's
    /// entries go in without a lookup first.
    pub(super) fn add_set(&mut self, rs: &RandomState, slot: usize, k: Kind, set: &ItemSet) {
        let mut items = set.iter().map(String::as_str);
        self.add_entries(rs, slot, k, &mut items, set.len(), true, &mut |_| {});
    }

    /// Indexes entries of kind `k` for baseline `slot` (at most `upper` of them), in
    /// batches: each batch's entries are hashed and their home cells handed to `hint` (a
    /// prefetch) before any goes in, so a restore's scattered writes into a table far
    /// larger than the caches wait for memory together, not one by one. Entries that may
    /// repeat (`distinct` false: as read, not yet a set) are looked up first.
    #[allow(clippy::too_many_arguments)] // reason: one list's whole context
    pub(super) fn add_entries(
        &mut self,
        rs: &RandomState,
        slot: usize,
        k: Kind,
        items: &mut dyn Iterator<Item = &str>,
        upper: usize,
        distinct: bool,
        hint: &mut dyn FnMut(*const u8),
    ) {
        const BATCH: usize = 16;
        self.reserve(upper);
        let Ok(slot32) = u32::try_from(slot) else {
            return;
        };
        let mask = self.cells.len().wrapping_sub(1);
        let mut batch: [Option<(u64, KeyRef<'_>)>; BATCH] = [None; BATCH];
        let mut items = items.peekable();
        while items.peek().is_some() {
            for (b, item) in batch.iter_mut().zip(items.by_ref()) {
                let key = KeyRef::parse(k, item);
                let h = Self::hash(rs, slot32, k, key);
                hint(self.cell_addr((check_of(h) as usize) & mask));
                *b = Some((h, key));
            }
            for b in &mut batch {
                if let Some((h, key)) = b.take() {
                    if distinct || self.find(h, slot32, k, key).is_none() {
                        self.insert_hashed(h, slot32, k, key);
                    }
                }
            }
        }
    }

    /// Removes the entries of one kind's set of baseline `slot`.
    pub(super) fn remove_set(&mut self, rs: &RandomState, slot: usize, k: Kind, set: &ItemSet) {
        self.remove_entries(rs, slot, k, &mut set.iter().map(String::as_str));
    }

    /// Removes entries of kind `k` from baseline `slot` (those present).
    fn remove_entries(
        &mut self,
        rs: &RandomState,
        slot: usize,
        k: Kind,
        items: &mut dyn Iterator<Item = &str>,
    ) {
        for item in items {
            self.remove(rs, slot, k, KeyRef::parse(k, item));
        }
    }

    /// Indexes a baseline's sets (kinds that are not in [`KINDS`] are never looked up).
    pub(super) fn add_sets(&mut self, rs: &RandomState, slot: usize, sets: &Sets) {
        self.add_sets_hinted(rs, slot, sets, &mut |_| {});
    }

    /// [`Self::add_sets`] handing each batch's home cells to `hint` (see
    /// [`Self::add_entries`]).
    pub(super) fn add_sets_hinted(
        &mut self,
        rs: &RandomState,
        slot: usize,
        sets: &Sets,
        hint: &mut dyn FnMut(*const u8),
    ) {
        sets.each(|name, distinct, upper, items| {
            if let Some(k) = kind_of(name) {
                self.add_entries(rs, slot, k, items, upper, distinct, hint);
            }
        });
    }

    /// Removes what [`Self::add_sets`] added for the same sets.
    pub(super) fn remove_sets(&mut self, rs: &RandomState, slot: usize, sets: &Sets) {
        sets.each(|name, _, _, items| {
            if let Some(k) = kind_of(name) {
                self.remove_entries(rs, slot, k, items);
            }
        });
    }

    /// The index of one device's sets, as baseline 0 (tests).
    #[cfg(test)]
    pub(super) fn build(rs: &RandomState, sets: &Sets) -> Index {
        let mut ix = Index::default();
        ix.add_sets(rs, 0, sets);
        ix
    }

    /// [`Self::insert_text_at`] for baseline 0 (tests).
    #[cfg(test)]
    pub(super) fn insert_text(&mut self, rs: &RandomState, k: Kind, item: &str) {
        self.insert_text_at(rs, 0, k, item);
    }

    /// [`Self::contains_at`] for baseline 0 (tests).
    #[cfg(test)]
    pub(super) fn contains(&self, rs: &RandomState, k: Kind, key: KeyRef<'_>) -> bool {
        self.contains_at(rs, 0, k, key)
    }

    /// The cell holding the entry (tests).
    #[cfg(test)]
    pub(super) fn position(
        &self,
        rs: &RandomState,
        slot: usize,
        k: Kind,
        key: KeyRef<'_>,
    ) -> Option<usize> {
        let slot = u32::try_from(slot).ok()?;
        self.find(Self::hash(rs, slot, k, key), slot, k, key)
    }

    /// Cells in the table (tests).
    #[cfg(test)]
    pub(super) fn cells_len(&self) -> usize {
        self.cells.len()
    }

    /// Live entries.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn sets(kind: &str, items: &[&str]) -> Sets {
        let mut s = ItemSet::default();
        for i in items {
            s.insert((*i).to_string());
        }
        Sets::from_map(std::collections::BTreeMap::from([(kind.to_string(), s)]))
    }

    #[test]
    fn structured_keys_only_for_canonical_text() {
        // An entry becomes a structured key only when that key's text is the entry again, so
        // a key built from an event matches exactly the entries whose text equals its own.
        let net = |s: &str| KeyRef::Net(s.parse().unwrap_or(Subnet::around([0u8; 4].into())));
        for (k, s, want) in [
            (PEERS, "dev:pump-1", KeyRef::Dev("pump-1")),
            (
                PEERS,
                "dev:00:1a:2b:3c:4d:5e",
                KeyRef::Device(DevK(DevKey::Mac(0x001a_2b3c_4d5e))),
            ),
            // Not the text an inventory key writes: its own text.
            (
                PEERS,
                "dev:00:1A:2B:3C:4D:5E",
                KeyRef::Dev("00:1A:2B:3C:4D:5E"),
            ),
            (PEERS, "dev:00:1a:2b:3c:4d", KeyRef::Dev("00:1a:2b:3c:4d")),
            (
                EXTERNAL_PEERS,
                "dev:ip:10.1.2.3",
                KeyRef::Device(DevK(DevKey::Ip([10, 1, 2, 3].into()))),
            ),
            (PEERS, "dev:ip:010.1.2.3", KeyRef::Dev("ip:010.1.2.3")),
            (PEERS, "net:10.1.2.0/24", net("10.1.2.0/24")),
            (EXTERNAL_PEERS, "net:2001:db8::/64", net("2001:db8::/64")),
            // Host bits set: its own text, so a key (never equal to an event's masked one).
            (PEERS, "net:10.1.2.7/24", net("10.1.2.7/24")),
            (PEERS, "net:10.1.2.0/33", KeyRef::Text("net:10.1.2.0/33")),
            (PEERS, "net: 10.1.2.0/24", KeyRef::Text("net: 10.1.2.0/24")),
            (PEERS, "ip:10.1.2.7", KeyRef::Text("ip:10.1.2.7")),
            (
                SERVICES,
                "tcp/443/out",
                KeyRef::Service {
                    proto: Proto::Tcp,
                    port: 443,
                    out: true,
                },
            ),
            (SERVICES, "tcp/0443/out", KeyRef::Text("tcp/0443/out")),
            (SERVICES, "tcp/443/out/x", KeyRef::Text("tcp/443/out/x")),
            (SERVICES, "icmp/1/in", KeyRef::Text("icmp/1/in")),
            (DNS_NAMES, "dev:x", KeyRef::Text("dev:x")),
            (DNS_NAMES, "tcp/443/out", KeyRef::Text("tcp/443/out")),
        ] {
            let got = KeyRef::parse(k, s);
            assert_eq!(got, want, "{s}");
            if !matches!(got, KeyRef::Text(_)) {
                assert_eq!(got.text(), s);
            }
        }
    }

    /// [`KeyRef::parse`] as it was before its fast paths: each candidate key built with the
    /// inventory's and the standard library's parsers, its text written back and compared.
    fn parse_slow(k: Kind, s: &str) -> KeyRef<'_> {
        if is_peer(k) {
            if let Some(id) = s.strip_prefix("dev:") {
                return match DevKey::parse(id) {
                    Some(k) => KeyRef::Device(DevK(k)),
                    None => KeyRef::Dev(id),
                };
            }
            if let Some(n) = s.strip_prefix("net:") {
                if let Ok(sub) = n.parse::<Subnet>() {
                    let key = KeyRef::Net(sub);
                    if key.text() == s {
                        return key;
                    }
                }
            }
        } else if k == SERVICES {
            let mut parts = s.split('/');
            if let (Some(p), Some(port), Some(dir), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            {
                let out = match dir {
                    "out" => Some(true),
                    "in" => Some(false),
                    _ => None,
                };
                if let (Some(proto), Ok(port), Some(out)) = (Proto::parse(p), port.parse(), out) {
                    let key = KeyRef::Service { proto, port, out };
                    if key.text() == s {
                        return key;
                    }
                }
            }
        }
        KeyRef::Text(s)
    }

    /// Entry texts near the canonical forms: MAC ids, IPv4 and IPv6 subnets and services,
    /// written canonically or with one of the variations a hand-edited import may carry.
    fn entry_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let num = prop_oneof![
            (0u32..70_000).prop_map(|v| v.to_string()),
            (0u32..40).prop_map(|v| format!("0{v}")),
            (0u32..40).prop_map(|v| format!("+{v}")),
            "[0-9 ]{0,3}",
        ];
        prop_oneof![
            any::<u64>()
                .prop_map(|v| format!("dev:{}", DevK(DevKey::Mac(v & 0xffff_ffff_ffff)).id())),
            any::<u64>().prop_map(|v| format!(
                "dev:{}",
                DevK(DevKey::Mac(v & 0xffff_ffff_ffff)).id().to_uppercase()
            )),
            "dev:[0-9a-gA-F:]{17}",
            "dev:[0-9a-f]{2}(:[0-9a-f]{2}){4}[:-][0-9a-f]{2}",
            "dev:ip:[0-9.]{7,16}",
            (any::<u32>(), num.clone())
                .prop_map(|(a, p)| format!("net:{}/{p}", std::net::Ipv4Addr::from(a))),
            (any::<u128>(), num.clone())
                .prop_map(|(a, p)| format!("net:{}/{p}", std::net::Ipv6Addr::from(a >> 64))),
            "net:[0-9a-fA-F:.]{2,20}(/[0-9]{1,3})?",
            "net: ?[0-9]{1,4}(\\.[0-9]{1,4}){0,4}",
            ("(tcp|udp|sctp|ip|icmp|TCP)", num, "(out|in|x|)")
                .prop_map(|(p, n, d)| format!("{p}/{n}/{d}")),
            ".{0,24}",
        ]
    }

    proptest::proptest! {
        #[test]
        fn parse_agrees_with_writing_the_text_back(s in entry_text()) {
            // The fast checks of an entry's canonical form (MAC ids by table, IPv4 subnets
            // and service ports without formatting) give the key the slow way gives, for
            // every kind: a structured key exactly when its text is the entry.
            for k in 0..10 {
                let got = KeyRef::parse(k, &s);
                proptest::prop_assert_eq!(got, parse_slow(k, &s), "{} {}", k, s);
                if !matches!(got, KeyRef::Text(_) | KeyRef::Dev(_)) {
                    proptest::prop_assert_eq!(got.text(), s.as_str());
                }
            }
        }
    }

    #[test]
    fn dev_key_reads_what_the_inventory_reads() {
        // The shortcut for IPv4 ids takes exactly the ids the inventory's own parse takes.
        for id in [
            "ip:10.1.2.3",
            "ip:0.0.0.0",
            "ip:255.255.255.255",
            "ip:010.1.2.3",
            "ip:10.1.2",
            "ip:10.1.2.3.4",
            "ip:10.1.2.256",
            "ip: 10.1.2.3",
            "ip:+10.1.2.3",
            "ip:10.1.2.3 ",
            "ip:2001:db8::1",
            "ip:2001:DB8::1",
            "ip:2001:db8:0::1",
            "ip:::ffff:10.1.2.3",
            "00:1a:2b:3c:4d:5e",
            "00:1A:2B:3C:4D:5E",
            "ff:ff:ff:ff:ff:ff",
            "00:1a:2b:3c:4d:5g",
            "00:1a:2b:3c:4d;5e",
            "00-1a-2b-3c-4d-5e",
            "0:1a:2b:3c:4d:5e0",
            "00:1a:2b:3c:4d:\u{e9}",
            "00:1a:2b:3c:4d:5e:",
            "pump-1",
        ] {
            assert_eq!(dev_key(id), DevKey::parse(id), "{id}");
        }
    }

    #[test]
    fn device_keys_write_the_inventory_id() {
        // A peer entry built from an event's device key reads as `dev:` + that device's id,
        // exactly as the inventory writes it (alert evidence, new entries).
        for k in [
            DevKey::Mac(0),
            DevKey::Mac(0x001a_2b3c_4d5e),
            DevKey::Mac(0xffff_ffff_ffff),
            DevKey::Ip([10, 1, 2, 3].into()),
            DevKey::Ip("2001:db8::7".parse().unwrap_or([0u8; 4].into())),
        ] {
            assert_eq!(DevK(k).id(), k.text());
            let key = KeyRef::Device(DevK(k));
            assert_eq!(key.text(), format!("dev:{}", k.text()));
            assert_eq!(KeyRef::parse(PEERS, &key.text()), key);
        }
    }

    #[test]
    fn index_agrees_with_the_sets() {
        // Every key an event can build is found in the index exactly when the string lookup
        // of `DeviceBaseline::contains` finds its text (summaries of peers included).
        let rs = RandomState::default();
        let stored = [
            "dev:pump-1",
            "dev:00:1a:2b:3c:4d:5e",
            "dev:ip:10.7.7.7",
            "dev:00:1A:2B:3C:4D:5F",
            "net:10.1.2.0/24",
            "net:10.9.0.0/16",
            "net:10.3.3.3/24",
            "ip:10.4.4.4",
            "net:2001:db8:1::/96",
        ];
        let b = super::super::DeviceBaseline {
            device: "d".into(),
            state: super::super::State::Locked,
            first_seen_us: 0,
            learn_until_us: 0,
            relearn_pending: false,
            overflowed: false,
            sets: sets("peers", &stored),
            volume: None,
            history: Vec::new(),
        };
        let ix = Index::build(&rs, &b.sets);
        assert_eq!(ix.len(), stored.len());
        let mut probes: Vec<KeyRef<'_>> = vec![
            KeyRef::Dev("pump-1"),
            KeyRef::Dev("pump-2"),
            KeyRef::Dev("10.1.2.0/24"),
            KeyRef::Device(DevK(DevKey::Mac(0x001a_2b3c_4d5e))),
            KeyRef::Device(DevK(DevKey::Mac(0x001a_2b3c_4d5f))),
            KeyRef::Device(DevK(DevKey::Ip([10, 7, 7, 7].into()))),
            KeyRef::Device(DevK(DevKey::Ip([10, 7, 7, 8].into()))),
        ];
        for ip in [
            "10.1.2.9", "10.1.3.1", "10.9.7.7", "10.3.3.3", "10.4.4.4", "10.8.0.1",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap_or([0u8; 4].into());
            probes.push(KeyRef::Net(Subnet::around(ip)));
        }
        for ip in ["2001:db8:1::5", "2001:db8:2::5"] {
            let ip: std::net::IpAddr = ip.parse().unwrap_or([0u8; 4].into());
            probes.push(KeyRef::Net(Subnet::around(ip)));
        }
        let mut seen = HashSet::new();
        for p in probes {
            let want = b.contains("peers", &p.text());
            assert_eq!(ix.contains(&rs, PEERS, p), want, "{}", p.text());
            assert!(
                !ix.contains(&rs, EXTERNAL_PEERS, p),
                "other kind: {}",
                p.text()
            );
            seen.insert(want);
        }
        assert_eq!(seen.len(), 2, "probes both found and not found");
    }

    #[test]
    fn short_and_long_text_match_exactly() {
        // Text kept inside the entry (up to 30 bytes) and boxed (longer) both match only the
        // same bytes: not a prefix, not an extension, not the same text of another kind.
        let rs = RandomState::default();
        let short = "pacs.hosp.example";
        let long = "a-rather-long-name.imaging.hosp.example";
        let edge = "x".repeat(INLINE);
        let mut ix = Index::default();
        for t in [short, long, edge.as_str()] {
            ix.insert_text(&rs, DNS_NAMES, t);
        }
        for t in [short, long, edge.as_str()] {
            assert!(ix.contains(&rs, DNS_NAMES, KeyRef::Text(t)), "{t}");
            assert!(!ix.contains(&rs, TLS_SNI, KeyRef::Text(t)), "{t}");
        }
        let longer = format!("{edge}x");
        for t in [
            "pacs.hosp.exampl",
            "pacs.hosp.example.",
            &long[1..],
            &edge[1..],
            &longer,
        ] {
            assert!(!ix.contains(&rs, DNS_NAMES, KeyRef::Text(t)), "{t}");
        }
        assert_eq!(ix.len(), 3);
    }

    #[test]
    fn four_cells_to_a_line() {
        // The table's footprint is what its lookups pay for in cache misses.
        assert_eq!(std::mem::size_of::<Cell>(), 16);
        assert_eq!(std::mem::align_of::<Cell>(), 16);
    }

    #[test]
    fn a_hinted_set_goes_in_whole_across_batches() {
        // More entries than a batch (and a partial last batch), into a table that already
        // holds another baseline's: every entry is found, none of the other baseline's is
        // lost, and each entry's home cell was hinted before it went in.
        let rs = RandomState::default();
        let mut ix = Index::default();
        let other: ItemSet = (0..40).map(|i| format!("tcp/{}/out", 1000 + i)).collect();
        ix.add_set(&rs, 1, SERVICES, &other);
        let set: ItemSet = (0..101)
            .map(|i| match i % 3 {
                0 => format!("net:10.{}.{}.0/24", i / 7, i % 7),
                1 => format!("dev:ip:10.9.{}.{}", i / 5, i % 5),
                _ => format!("name-{i}.hosp.example"),
            })
            .collect();
        let mut hinted = Vec::new();
        let mut items = set.iter().map(String::as_str);
        ix.add_entries(&rs, 0, PEERS, &mut items, set.len(), true, &mut |p| {
            hinted.push(p as usize)
        });
        assert_eq!(hinted.len(), set.len());
        assert_eq!(ix.len(), set.len() + other.len());
        for t in &set {
            assert!(ix.get(&rs, 0, PEERS, KeyRef::parse(PEERS, t)), "{t}");
            let home = ix.home(&rs, 0, PEERS, KeyRef::parse(PEERS, t));
            let at = home.map_or(0, |c| ix.cell_addr(c) as usize);
            assert!(hinted.contains(&at), "home of {t} hinted");
        }
        for t in &other {
            assert!(ix.get(&rs, 1, SERVICES, KeyRef::parse(SERVICES, t)), "{t}");
        }
    }

    /// A small pool of entries, packed and text, some equal as text across kinds.
    const ITEMS: [&str; 12] = [
        "dev:00:1a:2b:3c:4d:5e",
        "dev:ip:10.7.7.7",
        "dev:ip:2001:db8::7",
        "dev:pump-1",
        "net:10.1.2.0/24",
        "net:2001:db8:1::/64",
        "tcp/443/out",
        "udp/53/in",
        "pacs.hosp.example",
        "a-rather-long-name.imaging.hosp.example",
        "ORU^R01",
        "",
    ];

    proptest::proptest! {
        #[test]
        fn shared_table_agrees_with_a_set_per_baseline(
            ops in proptest::collection::vec((0u8..4, 0u8..5, 0u8..10, 0u8..12), 1..400),
        ) {
            // Inserting, removing and re-adding entries of several baselines (tombstones,
            // reused text places, growth, sweeps) leaves the table answering exactly what a
            // plain set of (baseline, kind, text) answers, for every baseline and kind.
            let rs = RandomState::default();
            let mut ix = Index::default();
            let mut model: HashSet<(usize, Kind, &str)> = HashSet::new();
            for (op, slot, k, item) in ops {
                let (slot, item) = (usize::from(slot), ITEMS[usize::from(item)]);
                match op {
                    0 | 1 => {
                        ix.insert_text_at(&rs, slot, k, item);
                        model.insert((slot, k, item));
                    }
                    2 => {
                        ix.remove(&rs, slot, k, KeyRef::parse(k, item));
                        model.remove(&(slot, k, item));
                    }
                    _ => {
                        // A baseline's set of one kind out, then back in.
                        let set: ItemSet = model
                            .iter()
                            .filter(|(s, x, _)| *s == slot && *x == k)
                            .map(|(_, _, t)| (*t).to_string())
                            .collect();
                        ix.remove_set(&rs, slot, k, &set);
                        for t in &set {
                            proptest::prop_assert!(!ix.get(&rs, slot, k, KeyRef::parse(k, t)));
                        }
                        ix.add_set(&rs, slot, k, &set);
                    }
                }
                proptest::prop_assert_eq!(ix.live, model.len());
                proptest::prop_assert!((ix.live + ix.dead) * 2 <= ix.cells.len());
            }
            for slot in 0..5 {
                for k in 0..10 {
                    for item in ITEMS {
                        proptest::prop_assert_eq!(
                            ix.get(&rs, slot, k, KeyRef::parse(k, item)),
                            model.contains(&(slot, k, item)),
                            "{} {} {}", slot, k, item
                        );
                    }
                }
            }
        }
    }
}
