//! Anomaly codes of the `http` analyzer and the capping helper for reported strings.

pub use model::http::HttpEvent;

/// Analyzer name: module, config key, metric label and `app_proto`.
pub const NAME: &str = "http";

/// A request carried `Authorization: Basic` (or `Proxy-Authorization: Basic`): a
/// password crossed the network in cleartext. The value is never stored.
pub const CLEARTEXT_CREDENTIALS: &str = "cleartext_credentials";
/// A head grew past `max_header_bytes` without its empty line; the direction is skipped.
pub const HEADER_TOO_LARGE: &str = "header_too_large";
/// More header fields than `max_headers`; the direction is skipped.
pub const TOO_MANY_HEADERS: &str = "too_many_headers";
/// A head that is not HTTP/1.x syntax; the direction is skipped.
pub const MALFORMED_HEAD: &str = "malformed_head";
/// Content-Length not a number, or several that differ: the body cannot be delimited.
pub const BAD_CONTENT_LENGTH: &str = "bad_content_length";
/// A chunk-size line that is not hex, too long, or chunk data not ended by CRLF.
pub const BAD_CHUNK: &str = "bad_chunk";
/// Bytes were lost where framing could not skip them; the direction is skipped.
pub const GAP_LOST_SYNC: &str = "gap_lost_sync";
/// The direction ended inside a head.
pub const TRUNCATED_HEAD: &str = "truncated_head";
/// More requests waiting for responses than `max_pending_requests`; the oldest was
/// reported without its response.
pub const TOO_MANY_PENDING_REQUESTS: &str = "too_many_pending_requests";

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
