//! Anomaly codes of the `tls` analyzer and the helpers that turn parsed hellos into the
//! owned, capped [`model::tls::TlsEvent`].

pub use model::tls::{version_name, TlsClientHello, TlsEvent, TlsJaHash, TlsServerHello};

/// Analyzer name: module, config key, metric label and `app_proto`.
pub const NAME: &str = "tls";

/// A record header with an unknown content type or version, or an impossible length: the
/// direction is not (or no longer) TLS records; it is skipped from there on.
pub const BAD_RECORD_HEADER: &str = "bad_record_header";
/// A ClientHello or ServerHello longer than `max_handshake_bytes`: its head was parsed and
/// reported `truncated`.
pub const HANDSHAKE_TOO_LARGE: &str = "handshake_too_large";
/// A hello ended early: its declared structure overran the message, or the direction
/// ended (gap, FIN) inside it. What was read is reported with `truncated`.
pub const TRUNCATED_HELLO: &str = "truncated_hello";
/// An extension whose content does not follow its specification (its type still counts
/// in JA3/JA4).
pub const MALFORMED_EXTENSION: &str = "malformed_extension";
/// Bytes were lost before the hellos were read; the direction is skipped from there on.
pub const GAP_IN_HANDSHAKE: &str = "gap_in_handshake";

/// Owned text of `b`, invalid UTF-8 replaced, cut to at most `max` bytes on a character
/// boundary. The bool says whether it was cut.
pub fn capped_text(b: &[u8], max: usize) -> (String, bool) {
    // Four bytes of slack keep a character cut by the byte cap whole in the lossy decode.
    let head = b.get(..b.len().min(max.saturating_add(4))).unwrap_or(b);
    let mut s = String::from_utf8_lossy(head).into_owned();
    let mut cut = head.len() < b.len();
    if s.len() > max {
        let mut end = max;
        while end > 0 && !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        cut = true;
    }
    (s, cut)
}

/// The first `max` items of `v`; the bool says whether any were dropped.
pub fn capped_list<T: Copy>(v: &[T], max: usize) -> (Vec<T>, bool) {
    let n = v.len().min(max);
    (v.get(..n).unwrap_or_default().to_vec(), n < v.len())
}
