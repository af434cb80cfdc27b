//! HL7 v2 event payloads (`event_type: "hl7"`), written by the `hl7` analyzer.
//!
//! One [`Hl7Event`] per message. Only routing facts leave the process: the values of
//! patient segments (PID, PD1, NK1, GT1, IN1-IN3, MRG) and OBX-5 of patient messages are
//! never copied here; [`Hl7Event::phi_fields`] names which of them were present.
//! Every string is capped by the analyzer before it is stored.

use crate::flow::Direction;
use crate::time::Timestamp;
use serde::{Serialize, Serializer};

/// A three-character segment id (`MSH`, `PID`, `ZPD`...), stored inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
        let [a, b, c] = self.as_text();
        let mut buf = [0u8; 12];
        let mut n = 0;
        for ch in [a, b, c] {
            n += ch.encode_utf8(&mut buf[n..]).len();
        }
        s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or("???"))
    }
}

/// One piece of device identity evidence found in a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hl7DeviceEvidence {
    /// Where it came from: `MSH-3`, `MSH-4`, `OBX-18`, `PRT-10` or `PRT-16`.
    pub source: &'static str,
    /// The field text, escapes decoded, components joined by `^` (capped).
    pub value: String,
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

/// `event_type: "hl7"`: one HL7 v2 message.
#[derive(Clone, Debug, PartialEq, Serialize)]
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
    /// MSH-2 as declared (4 characters, 5 from v2.7 with the truncation character).
    pub encoding_characters: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sending_application: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sending_facility: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiving_application: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiving_facility: Option<String>,
    /// MSH-9.1^MSH-9.2, e.g. `ADT^A01` (`ACK` alone when MSH-9.2 is empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// MSH-9.3, e.g. `ADT_A01`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_structure: Option<String>,
    /// MSH-10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_id: Option<String>,
    /// MSH-11.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_id: Option<String>,
    /// MSH-12.1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// MSH-18 (character set), when declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// Segment ids in order (capped; see `capped`).
    pub segments: Vec<SegmentId>,
    /// The batch control id (BHS-11, else FHS-11) when the message came inside a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// On an acknowledgement: MSA-1. On an acknowledged message: the code it received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_code: Option<String>,
    /// On an acknowledgement: MSA-2, the control id it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_control_id: Option<String>,
    /// On a message that expects an acknowledgement: whether one was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<bool>,
    /// Capture-time milliseconds from the end of the message to the end of its ACK.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_latency_ms: Option<f64>,
    /// MLLP release 2 commit acknowledgement received for this message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mllp_commit: Option<MllpCommit>,
    /// PHI fields present (non-empty), e.g. `PID-3`; never their values.
    pub phi_fields: Vec<&'static str>,
    /// True: the message (and so any PHI in it) crossed the network in cleartext.
    pub cleartext: bool,
    /// HMAC-SHA256 of PID-3 with the configured key (hex, first 16 bytes), only when a key
    /// is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_id_hmac: Option<String>,
    /// Equipment identity found in the message (not patient data).
    pub device_evidence: Vec<Hl7DeviceEvidence>,
    /// The message was cut short (size cap, gap, unterminated frame).
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// Some reported value or list was cut at its cap.
    #[serde(skip_serializing_if = "is_false")]
    pub capped: bool,
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
            encoding_characters: String::new(),
            sending_application: None,
            sending_facility: None,
            receiving_application: None,
            receiving_facility: None,
            message_type: None,
            message_structure: None,
            control_id: None,
            processing_id: None,
            version: None,
            charset: None,
            segments: Vec::new(),
            batch: None,
            ack_code: None,
            ack_control_id: None,
            acknowledged: None,
            ack_latency_ms: None,
            mllp_commit: None,
            phi_fields: Vec::new(),
            cleartext: true,
            patient_id_hmac: None,
            device_evidence: Vec::new(),
            truncated: false,
            capped: false,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}
