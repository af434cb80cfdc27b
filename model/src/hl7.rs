//! HL7 v2 event payloads (`event_type: "hl7"`), written by the `hl7` analyzer.
//!
//! One [`Hl7Event`] per message. Only routing facts leave the process: the values of
//! patient segments (PID, PD1, NK1, GT1, IN1-IN3, MRG) and OBX-5 of patient messages are
//! never copied here; [`Hl7Event::phi_fields`] names which of them were present.
//! Every string is capped by the analyzer before it is stored.
//!
//! Layout: an event is built for every message on a feed, so it is laid out to cost one
//! allocation for all of its text (besides its own box). Every reported text fact is a
//! range of one buffer ([`Hl7Event::get`]); segment ids and device evidence are kept
//! inline up to a typical count; PHI fields are bits, named only when read or written.

use crate::flow::Direction;
use crate::time::Timestamp;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};
use std::fmt;

/// A three-character segment id (`MSH`, `PID`, `ZPD`...), stored inline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SegmentId(pub [u8; 3]);

impl SegmentId {
    /// The id as text; non-printable bytes become `?`.
    pub fn as_text(&self) -> [char; 3] {
        self.0.map(|b| {
            if b.is_ascii_graphic() {
                char::from(b)
            } else {
                '?'
            }
        })
    }
}

impl Serialize for SegmentId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Printable ASCII or `?`: three bytes of valid UTF-8.
        let b = self.as_text().map(|c| c as u8);
        s.serialize_str(std::str::from_utf8(&b).unwrap_or("???"))
    }
}

/// One piece of device identity evidence found in a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Hl7DeviceEvidence<'a> {
    /// Where it came from: `MSH-3`, `MSH-4`, `OBX-18`, `PRT-10` or `PRT-16`.
    pub source: &'static str,
    /// The field text, escapes decoded, components joined by `^` (capped).
    pub value: &'a str,
}

/// How an MLLP release 2 commit acknowledgement block answered a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MllpCommit {
    /// `<VT><ACK><FS><CR>`: the receiver committed the message.
    Ack,
    /// `<VT><NAK><FS><CR>`: the receiver refused it.
    Nak,
}

/// The text facts of an [`Hl7Event`], read with [`Hl7Event::get`] (or the named
/// accessors) and written with [`Hl7Event::set`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hl7Text {
    /// MSH-2 as declared (4 characters, 5 from v2.7 with the truncation character).
    EncodingCharacters,
    /// MSH-3.
    SendingApplication,
    /// MSH-4.
    SendingFacility,
    /// MSH-5.
    ReceivingApplication,
    /// MSH-6.
    ReceivingFacility,
    /// MSH-9.1^MSH-9.2, e.g. `ADT^A01` (`ACK` alone when MSH-9.2 is empty).
    MessageType,
    /// MSH-9.3, e.g. `ADT_A01`.
    MessageStructure,
    /// MSH-10.
    ControlId,
    /// MSH-11.
    ProcessingId,
    /// MSH-12.1.
    Version,
    /// MSH-18 (character set), when declared.
    Charset,
    /// The batch control id (BHS-11, else FHS-11) when the message came inside a batch.
    Batch,
    /// On an acknowledgement: MSA-1. On an acknowledged message: the code it received.
    AckCode,
    /// On an acknowledgement: MSA-2, the control id it answers.
    AckControlId,
}

const N_TEXT: usize = 14;

/// A range of [`Hl7Event`]'s text buffer; `start == ABSENT` when the fact is absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

const ABSENT: u32 = u32::MAX;
const NO_SPAN: Span = Span {
    start: ABSENT,
    end: ABSENT,
};

/// A list kept inline up to `N` items; the rest (rare) go to a vector.
#[derive(Clone, Debug)]
struct InlineList<T: Copy + Default, const N: usize> {
    len: usize,
    inline: [T; N],
    more: Vec<T>,
}

impl<T: Copy + Default, const N: usize> InlineList<T, N> {
    fn new() -> Self {
        InlineList {
            len: 0,
            inline: [T::default(); N],
            more: Vec::new(),
        }
    }
    fn push(&mut self, v: T) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = v,
            None => self.more.push(v),
        }
        self.len += 1;
    }
    fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.inline
            .get(..self.len.min(N))
            .unwrap_or_default()
            .iter()
            .chain(self.more.iter())
    }
    fn clear(&mut self) {
        self.len = 0;
        self.more.clear();
    }
}

/// The segments whose values are PHI; only the numbers of their non-empty fields are
/// reported. HL7 v2: PID (3.4.2), PD1 (3.4.10), NK1 (3.4.5), GT1/IN1/IN2/IN3 (6.5), MRG (3.4.9).
pub const PHI_SEGMENTS: [&[u8; 3]; 8] = [
    b"PID", b"PD1", b"NK1", b"GT1", b"IN1", b"IN2", b"IN3", b"MRG",
];

/// Highest PHI field number named individually (bits of a `u128`).
pub const MAX_PHI_FIELD: usize = 127;

/// `PID-1` ... `MRG-127`, made once: naming a present field costs no allocation.
static PHI_FIELD_NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    PHI_SEGMENTS
        .iter()
        .flat_map(|s| {
            (0..=MAX_PHI_FIELD)
                .map(move |k| format!("{}-{k}", String::from_utf8_lossy(s.as_slice())))
        })
        .collect()
});

/// The name of field `k` of the `i`th segment of [`PHI_SEGMENTS`] (`PID-3` for 0, 3).
pub fn phi_field_name_at(i: usize, k: usize) -> &'static str {
    PHI_FIELD_NAMES
        .get(i * (MAX_PHI_FIELD + 1) + k.min(MAX_PHI_FIELD))
        .map(String::as_str)
        .unwrap_or("PHI")
}

/// Index of a PHI segment id in [`PHI_SEGMENTS`].
pub fn phi_segment_index(id: &[u8; 3]) -> Option<usize> {
    PHI_SEGMENTS.iter().position(|s| *s == id)
}

/// `event_type: "hl7"`: one HL7 v2 message.
///
/// The text facts ([`Hl7Text`]) live in one buffer: read them with the named accessors
/// (`message_type()`...) or [`Hl7Event::get`], write them with [`Hl7Event::set`].
#[derive(Clone)]
pub struct Hl7Event {
    /// Which way the message went (`to_server`/`to_client`).
    pub direction: Direction,
    /// `mllp` or `unframed`.
    pub framing: &'static str,
    /// Length of the message's segments with their terminators (MLLP envelope excluded).
    pub bytes: u64,
    /// Capture time at which the message was complete (the event itself may be written
    /// later, when its acknowledgement arrives).
    pub message_time: Timestamp,
    /// MSH-1 as declared by the message.
    pub field_separator: char,
    /// On a message that expects an acknowledgement: whether one was seen.
    pub acknowledged: Option<bool>,
    /// Capture-time milliseconds from the end of the message to the end of its ACK.
    pub ack_latency_ms: Option<f64>,
    /// MLLP release 2 commit acknowledgement received for this message.
    pub mllp_commit: Option<MllpCommit>,
    /// True: the message (and so any PHI in it) crossed the network in cleartext.
    pub cleartext: bool,
    /// HMAC-SHA256 of PID-3 with the configured key (hex, first 16 bytes), only when a key
    /// is configured.
    pub patient_id_hmac: Option<String>,
    /// The message was cut short (size cap, gap, unterminated frame).
    pub truncated: bool,
    /// Some reported value or list was cut at its cap.
    pub capped: bool,
    /// Every text fact, evidence value included, back to back.
    text: String,
    spans: [Span; N_TEXT],
    /// Segment ids in order (capped by the analyzer).
    segments: InlineList<SegmentId, 32>,
    /// Equipment identity found in the message (not patient data): source and value.
    evidence: InlineList<(&'static str, Span), 4>,
    /// Non-empty fields 1..=127 of each PHI segment (bit k: field k).
    phi: [u128; PHI_SEGMENTS.len()],
    /// OBX-5 of a patient message was present.
    phi_obx5: bool,
}

impl Hl7Event {
    /// An empty record for a message going `direction`, framed as `framing`.
    pub fn new(direction: Direction, framing: &'static str) -> Self {
        Hl7Event {
            direction,
            framing,
            bytes: 0,
            message_time: Timestamp::ZERO,
            field_separator: '|',
            acknowledged: None,
            ack_latency_ms: None,
            mllp_commit: None,
            cleartext: true,
            patient_id_hmac: None,
            truncated: false,
            capped: false,
            text: String::new(),
            spans: [NO_SPAN; N_TEXT],
            segments: InlineList::new(),
            evidence: InlineList::new(),
            phi: [0; PHI_SEGMENTS.len()],
            phi_obx5: false,
        }
    }

    /// Reserves room for `n` more bytes of text (one allocation for a whole message).
    pub fn reserve_text(&mut self, n: usize) {
        self.text.reserve(n);
    }

    /// Appends `v` to the text buffer; its range, or `None` past 4 GiB of text.
    fn append(&mut self, v: &str) -> Option<Span> {
        let start = u32::try_from(self.text.len()).ok()?;
        let end = u32::try_from(self.text.len().checked_add(v.len())?).ok()?;
        if end == ABSENT {
            return None;
        }
        self.text.push_str(v);
        Some(Span { start, end })
    }

    /// Appends bytes as text, invalid UTF-8 replaced (as `String::from_utf8_lossy`).
    fn append_lossy(&mut self, v: &[u8]) -> Option<Span> {
        if let Ok(s) = std::str::from_utf8(v) {
            return self.append(s);
        }
        let start = self.text.len();
        for chunk in v.utf8_chunks() {
            self.text.push_str(chunk.valid());
            if !chunk.invalid().is_empty() {
                self.text.push(char::REPLACEMENT_CHARACTER);
            }
        }
        let span = u32::try_from(start)
            .ok()
            .zip(u32::try_from(self.text.len()).ok())
            .filter(|(_, e)| *e != ABSENT)
            .map(|(start, end)| Span { start, end });
        if span.is_none() {
            self.text.truncate(start);
        }
        span
    }

    fn span_text(&self, s: Span) -> Option<&str> {
        if s.start == ABSENT {
            return None;
        }
        self.text.get(s.start as usize..s.end as usize)
    }

    /// A text fact, `None` when absent.
    pub fn get(&self, f: Hl7Text) -> Option<&str> {
        self.span_text(*self.spans.get(f as usize)?)
    }

    /// Sets a text fact (`None` removes it).
    pub fn set(&mut self, f: Hl7Text, v: Option<&str>) {
        let span = v.and_then(|v| self.append(v)).unwrap_or(NO_SPAN);
        if let Some(slot) = self.spans.get_mut(f as usize) {
            *slot = span;
        }
    }

    /// Sets a text fact from bytes, invalid UTF-8 replaced.
    pub fn set_lossy(&mut self, f: Hl7Text, v: &[u8]) {
        let span = self.append_lossy(v).unwrap_or(NO_SPAN);
        if let Some(slot) = self.spans.get_mut(f as usize) {
            *slot = span;
        }
    }

    /// Copies fact `from` to fact `to` (same text, no copy of it).
    pub fn copy_text(&mut self, from: Hl7Text, to: Hl7Text) {
        let span = self.spans.get(from as usize).copied().unwrap_or(NO_SPAN);
        if let Some(slot) = self.spans.get_mut(to as usize) {
            *slot = span;
        }
    }

    /// MSH-2 as declared (empty when not set).
    pub fn encoding_characters(&self) -> &str {
        self.get(Hl7Text::EncodingCharacters).unwrap_or("")
    }
    pub fn sending_application(&self) -> Option<&str> {
        self.get(Hl7Text::SendingApplication)
    }
    pub fn sending_facility(&self) -> Option<&str> {
        self.get(Hl7Text::SendingFacility)
    }
    pub fn receiving_application(&self) -> Option<&str> {
        self.get(Hl7Text::ReceivingApplication)
    }
    pub fn receiving_facility(&self) -> Option<&str> {
        self.get(Hl7Text::ReceivingFacility)
    }
    pub fn message_type(&self) -> Option<&str> {
        self.get(Hl7Text::MessageType)
    }
    pub fn message_structure(&self) -> Option<&str> {
        self.get(Hl7Text::MessageStructure)
    }
    pub fn control_id(&self) -> Option<&str> {
        self.get(Hl7Text::ControlId)
    }
    pub fn processing_id(&self) -> Option<&str> {
        self.get(Hl7Text::ProcessingId)
    }
    pub fn version(&self) -> Option<&str> {
        self.get(Hl7Text::Version)
    }
    pub fn charset(&self) -> Option<&str> {
        self.get(Hl7Text::Charset)
    }
    pub fn batch(&self) -> Option<&str> {
        self.get(Hl7Text::Batch)
    }
    pub fn ack_code(&self) -> Option<&str> {
        self.get(Hl7Text::AckCode)
    }
    pub fn ack_control_id(&self) -> Option<&str> {
        self.get(Hl7Text::AckControlId)
    }

    /// Segment ids in order (capped; see `capped`).
    pub fn segments(&self) -> impl Iterator<Item = SegmentId> + '_ {
        self.segments.iter().copied()
    }
    /// Number of segment ids listed.
    pub fn segment_count(&self) -> usize {
        self.segments.len
    }
    pub fn push_segment(&mut self, id: SegmentId) {
        self.segments.push(id);
    }
    pub fn clear_segments(&mut self) {
        self.segments.clear();
    }

    /// Equipment identity found in the message (not patient data).
    pub fn device_evidence(&self) -> impl Iterator<Item = Hl7DeviceEvidence<'_>> + '_ {
        self.evidence
            .iter()
            .map(|(source, span)| Hl7DeviceEvidence {
                source,
                value: self.span_text(*span).unwrap_or(""),
            })
    }
    /// Number of device evidence entries.
    pub fn device_evidence_count(&self) -> usize {
        self.evidence.len
    }
    /// Whether evidence `value` from `source` is already listed.
    pub fn has_device_evidence(&self, source: &str, value: &[u8]) -> bool {
        self.device_evidence()
            .any(|e| e.source == source && e.value.as_bytes() == value)
    }
    /// Adds device evidence (bytes as text, invalid UTF-8 replaced).
    pub fn push_device_evidence(&mut self, source: &'static str, value: &[u8]) {
        if let Some(span) = self.append_lossy(value) {
            self.evidence.push((source, span));
        }
    }
    /// Adds the text fact `f`, when present, as device evidence (no copy of its text).
    pub fn push_device_evidence_of(&mut self, source: &'static str, f: Hl7Text) {
        if let Some(span) = self.spans.get(f as usize).filter(|s| s.start != ABSENT) {
            let span = *span;
            self.evidence.push((source, span));
        }
    }

    /// PHI fields present (non-empty), e.g. `PID-3`; never their values. In the order of
    /// [`PHI_SEGMENTS`], then field number, then `OBX-5`.
    pub fn phi_fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.phi
            .iter()
            .enumerate()
            .filter(|(_, b)| **b != 0)
            .flat_map(|(i, bits)| {
                let mut b = *bits;
                std::iter::from_fn(move || {
                    if b == 0 {
                        return None;
                    }
                    let k = b.trailing_zeros() as usize;
                    b &= b - 1;
                    Some(phi_field_name_at(i, k))
                })
            })
            .chain(self.phi_obx5.then_some("OBX-5"))
    }
    /// Whether any PHI field was present.
    pub fn has_phi(&self) -> bool {
        self.phi_obx5 || self.phi.iter().any(|b| *b != 0)
    }
    /// Marks fields of the `i`th segment of [`PHI_SEGMENTS`] present (bit k: field k).
    pub fn add_phi_bits(&mut self, i: usize, bits: u128) {
        if let Some(slot) = self.phi.get_mut(i) {
            *slot |= bits;
        }
    }
    /// Marks field `k` (1..=127) of PHI segment `seg` present; false for another segment.
    pub fn add_phi_field(&mut self, seg: &[u8; 3], k: usize) -> bool {
        match phi_segment_index(seg) {
            Some(i) if k <= MAX_PHI_FIELD => {
                self.add_phi_bits(i, 1u128 << k);
                true
            }
            _ => false,
        }
    }
    /// Marks OBX-5 of a patient message present.
    pub fn set_phi_obx5(&mut self, present: bool) {
        self.phi_obx5 = present;
    }
}

/// Compares what the event reports, not how its buffer is laid out.
impl PartialEq for Hl7Event {
    fn eq(&self, o: &Self) -> bool {
        const ALL: [Hl7Text; N_TEXT] = [
            Hl7Text::EncodingCharacters,
            Hl7Text::SendingApplication,
            Hl7Text::SendingFacility,
            Hl7Text::ReceivingApplication,
            Hl7Text::ReceivingFacility,
            Hl7Text::MessageType,
            Hl7Text::MessageStructure,
            Hl7Text::ControlId,
            Hl7Text::ProcessingId,
            Hl7Text::Version,
            Hl7Text::Charset,
            Hl7Text::Batch,
            Hl7Text::AckCode,
            Hl7Text::AckControlId,
        ];
        self.direction == o.direction
            && self.framing == o.framing
            && self.bytes == o.bytes
            && self.message_time == o.message_time
            && self.field_separator == o.field_separator
            && self.acknowledged == o.acknowledged
            && self.ack_latency_ms == o.ack_latency_ms
            && self.mllp_commit == o.mllp_commit
            && self.cleartext == o.cleartext
            && self.patient_id_hmac == o.patient_id_hmac
            && self.truncated == o.truncated
            && self.capped == o.capped
            && ALL.iter().all(|f| self.get(*f) == o.get(*f))
            && self.segments().eq(o.segments())
            && self.device_evidence().eq(o.device_evidence())
            && self.phi == o.phi
            && self.phi_obx5 == o.phi_obx5
    }
}

/// The reported facts, as in EVE (the buffer layout is not shown).
impl fmt::Debug for Hl7Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(s) => f.write_str(&s),
            Err(_) => f.write_str("Hl7Event(?)"),
        }
    }
}

struct Segments<'a>(&'a Hl7Event);
impl Serialize for Segments<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.segments.len))?;
        for id in self.0.segments.iter() {
            seq.serialize_element(id)?;
        }
        seq.end()
    }
}

struct PhiFields<'a>(&'a Hl7Event);
impl Serialize for PhiFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for name in self.0.phi_fields() {
            seq.serialize_element(name)?;
        }
        seq.end()
    }
}

struct Evidence<'a>(&'a Hl7Event);
impl Serialize for Evidence<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.evidence.len))?;
        for e in self.0.device_evidence() {
            seq.serialize_element(&EvidenceEntry(e))?;
        }
        seq.end()
    }
}

struct EvidenceEntry<'a>(Hl7DeviceEvidence<'a>);
impl Serialize for EvidenceEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("source", self.0.source)?;
        m.serialize_entry("value", self.0.value)?;
        m.end()
    }
}

impl Serialize for Hl7Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Hl7Event", 29)?;
        st.serialize_field("direction", &self.direction)?;
        st.serialize_field("framing", self.framing)?;
        st.serialize_field("bytes", &self.bytes)?;
        st.serialize_field("message_time", &self.message_time)?;
        st.serialize_field("field_separator", &self.field_separator)?;
        st.serialize_field("encoding_characters", self.encoding_characters())?;
        let opt = [
            ("sending_application", Hl7Text::SendingApplication),
            ("sending_facility", Hl7Text::SendingFacility),
            ("receiving_application", Hl7Text::ReceivingApplication),
            ("receiving_facility", Hl7Text::ReceivingFacility),
            ("message_type", Hl7Text::MessageType),
            ("message_structure", Hl7Text::MessageStructure),
            ("control_id", Hl7Text::ControlId),
            ("processing_id", Hl7Text::ProcessingId),
            ("version", Hl7Text::Version),
            ("charset", Hl7Text::Charset),
        ];
        for (name, f) in opt {
            match self.get(f) {
                Some(v) => st.serialize_field(name, v)?,
                None => st.skip_field(name)?,
            }
        }
        st.serialize_field("segments", &Segments(self))?;
        for (name, f) in [
            ("batch", Hl7Text::Batch),
            ("ack_code", Hl7Text::AckCode),
            ("ack_control_id", Hl7Text::AckControlId),
        ] {
            match self.get(f) {
                Some(v) => st.serialize_field(name, v)?,
                None => st.skip_field(name)?,
            }
        }
        match self.acknowledged {
            Some(v) => st.serialize_field("acknowledged", &v)?,
            None => st.skip_field("acknowledged")?,
        }
        match self.ack_latency_ms {
            Some(v) => st.serialize_field("ack_latency_ms", &v)?,
            None => st.skip_field("ack_latency_ms")?,
        }
        match self.mllp_commit {
            Some(v) => st.serialize_field("mllp_commit", &v)?,
            None => st.skip_field("mllp_commit")?,
        }
        st.serialize_field("phi_fields", &PhiFields(self))?;
        st.serialize_field("cleartext", &self.cleartext)?;
        match &self.patient_id_hmac {
            Some(v) => st.serialize_field("patient_id_hmac", v)?,
            None => st.skip_field("patient_id_hmac")?,
        }
        st.serialize_field("device_evidence", &Evidence(self))?;
        if self.truncated {
            st.serialize_field("truncated", &true)?;
        } else {
            st.skip_field("truncated")?;
        }
        if self.capped {
            st.serialize_field("capped", &true)?;
        } else {
            st.skip_field("capped")?;
        }
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_facts_share_one_buffer_and_read_back() {
        // Each fact reads back what was set, a reset fact shows its new value, and a
        // removed one is absent.
        let mut h = Hl7Event::new(Direction::ToServer, "mllp");
        h.set(Hl7Text::MessageType, Some("ORU^R01"));
        h.set(Hl7Text::ControlId, Some("42"));
        h.set_lossy(Hl7Text::SendingApplication, b"LAB\xff");
        assert_eq!(h.message_type(), Some("ORU^R01"));
        assert_eq!(h.control_id(), Some("42"));
        assert_eq!(h.sending_application(), Some("LAB\u{fffd}"));
        assert_eq!(h.version(), None);
        h.set(Hl7Text::ControlId, Some("43"));
        assert_eq!(h.control_id(), Some("43"));
        h.set(Hl7Text::ControlId, None);
        assert_eq!(h.control_id(), None);
        h.push_device_evidence_of("MSH-3", Hl7Text::SendingApplication);
        h.push_device_evidence("OBX-18", b"PUMP-1");
        let ev: Vec<_> = h.device_evidence().map(|e| (e.source, e.value)).collect();
        assert_eq!(ev, [("MSH-3", "LAB\u{fffd}"), ("OBX-18", "PUMP-1")]);
        assert!(h.has_device_evidence("OBX-18", b"PUMP-1"));
        assert!(!h.has_device_evidence("PRT-10", b"PUMP-1"));
    }

    #[test]
    fn lists_spill_past_their_inline_room_in_order() {
        // More segments and evidence than fit inline are kept, in order.
        let mut h = Hl7Event::new(Direction::ToServer, "mllp");
        for i in 0..40u8 {
            h.push_segment(SegmentId([b'Z', b'0' + i / 10, b'0' + i % 10]));
        }
        for i in 0..6u8 {
            h.push_device_evidence("OBX-18", &[b'A' + i]);
        }
        assert_eq!(h.segment_count(), 40);
        let segs: Vec<SegmentId> = h.segments().collect();
        assert_eq!(segs[0], SegmentId(*b"Z00"));
        assert_eq!(segs[39], SegmentId(*b"Z39"));
        let ev: String = h.device_evidence().map(|e| e.value).collect();
        assert_eq!(ev, "ABCDEF");
        h.clear_segments();
        assert_eq!(h.segments().count(), 0);
    }

    #[test]
    fn phi_fields_named_in_table_order() {
        // PHI bits come out as names in PHI_SEGMENTS order, then by field, then OBX-5.
        let mut h = Hl7Event::new(Direction::ToServer, "mllp");
        assert!(!h.has_phi());
        assert!(h.add_phi_field(b"NK1", 2));
        assert!(h.add_phi_field(b"PID", 7));
        assert!(h.add_phi_field(b"PID", 3));
        assert!(!h.add_phi_field(b"OBX", 5));
        h.set_phi_obx5(true);
        let names: Vec<&str> = h.phi_fields().collect();
        assert_eq!(names, ["PID-3", "PID-7", "NK1-2", "OBX-5"]);
        assert!(h.has_phi());
    }

    #[test]
    fn equality_ignores_buffer_layout() {
        // Two events with the same facts set in a different order compare equal; a
        // different value does not.
        let mut a = Hl7Event::new(Direction::ToServer, "mllp");
        a.set(Hl7Text::MessageType, Some("ADT^A01"));
        a.set(Hl7Text::ControlId, Some("1"));
        let mut b = Hl7Event::new(Direction::ToServer, "mllp");
        b.set(Hl7Text::ControlId, Some("1"));
        b.set(Hl7Text::MessageType, Some("ADT^A01"));
        assert_eq!(a, b);
        b.set(Hl7Text::ControlId, Some("2"));
        assert_ne!(a, b);
    }
}
