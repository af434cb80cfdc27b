//! Anomaly codes of the `hl7` analyzer and the helpers that turn parsed fields into the
//! owned, capped [`model::hl7::Hl7Event`].

pub use model::hl7::{
    phi_field_name_at, Hl7DeviceEvidence, Hl7Event, Hl7Text, MllpCommit, SegmentId, MAX_PHI_FIELD,
    PHI_SEGMENTS,
};

/// Analyzer name: module, config key, metric label and `app_proto`.
pub const NAME: &str = "hl7";

// Framing.
/// Non-filler bytes outside any MLLP frame (skipped up to the next start block).
pub const BYTES_BETWEEN_FRAMES: &str = "bytes_between_frames";
/// A frame grew past `max_message_bytes`; its head was parsed, the rest skipped.
pub const MESSAGE_TOO_LARGE: &str = "message_too_large";
/// A start block came before the open frame's end block, or the stream ended inside a frame.
pub const UNTERMINATED_FRAME: &str = "unterminated_frame";
/// The end block was not followed by a carriage return.
pub const END_BLOCK_WITHOUT_CR: &str = "end_block_without_cr";
/// `<VT><FS><CR>` with nothing inside.
pub const EMPTY_FRAME: &str = "empty_frame";
/// Bytes were lost inside a message (capture loss); its head was parsed.
pub const GAP_IN_MESSAGE: &str = "gap_in_message";

// Message structure.
/// Segments that do not follow an MSH (a frame or stream not starting with a header).
pub const MISSING_MSH: &str = "missing_msh";
/// MSH with fewer than 9 fields (no message type).
pub const MSH_TOO_SHORT: &str = "msh_too_short";
/// MSH-1 unusable (letter, digit, control character) or the header is cut short.
pub const BAD_FIELD_SEPARATOR: &str = "bad_field_separator";
/// MSH-2 has fewer than four characters.
pub const ENCODING_CHARACTERS_MISSING: &str = "encoding_characters_missing";
/// MSH-2 repeats a character (or the field separator).
pub const ENCODING_CHARACTERS_REPEATED: &str = "encoding_characters_repeated";
/// MSH-2 has more than five characters, or characters that cannot be delimiters.
pub const ENCODING_CHARACTERS_INVALID: &str = "encoding_characters_invalid";
/// A segment id that is not three upper-case letters or digits.
pub const BAD_SEGMENT_ID: &str = "bad_segment_id";
/// A message without MSH-10, so it cannot be correlated with an acknowledgement.
pub const MISSING_CONTROL_ID: &str = "missing_control_id";

// Batches.
/// BHS/FHS without its BTS/FTS before the frame (or stream) ended, or a new BHS began.
pub const BATCH_WITHOUT_TRAILER: &str = "batch_without_trailer";
/// BTS/FTS without an open batch.
pub const BATCH_TRAILER_WITHOUT_HEADER: &str = "batch_trailer_without_header";
/// BTS-1 (batch message count) differs from the messages seen.
pub const BATCH_COUNT_MISMATCH: &str = "batch_count_mismatch";

// Acknowledgements.
/// An acknowledgement whose MSA-2 matches no message waiting on this connection.
pub const UNMATCHED_ACK: &str = "unmatched_ack";
/// More messages waiting for acknowledgements than `max_pending_acks`; the oldest was
/// reported unacknowledged.
pub const TOO_MANY_PENDING_ACKS: &str = "too_many_pending_acks";

/// Converts rendered bytes to an owned string (invalid UTF-8 replaced, never an error).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
