//! HTTP/1.x fingerprints and exposure: request line, `Host`, `User-Agent`, response
//! status, `Server` and `Content-Type`, requests paired with responses in order, the
//! `Authorization` scheme, and cleartext logins flagged (never logged): Basic credentials,
//! form bodies with a password-like field name, and login pages (an HTML response with a
//! password input) served over plain HTTP.
//!
//! Specs: RFC 9112 (HTTP/1.1 message syntax: 2.2 parsing, 3 request line, 4 status line,
//! 6 message body length, 7.1 chunked transfer coding), RFC 9110 (semantics: 9.3 methods,
//! 15.2 informational responses, 11.6.2 Authorization), RFC 7617 (Basic scheme).
//!
//! What is reported: one `http` event per request/response pair (see
//! [`model::http::HttpEvent`]) when the response body ends, or per request still
//! unanswered when the connection ends, or per response without a request (capture
//! joined mid-stream). URLs lose their query string unless `log_query_string` is set:
//! query strings in clinical web applications carry patient identifiers.
//!
//! What is skipped: bodies (counted by Content-Length or chunk sizes; only the first
//! `max_form_scan_bytes` of a form request or an HTML response are held, to look for a
//! password field name or input, never reported; with `max_pending_requests = 0` a form is
//! not searched, its request being reported before its body),
//! header fields other than the ones above, tunnels (after CONNECT or 101 Switching
//! Protocols both directions are consumed unseen), HTTP/2 and HTTP/0.9.
//!
//! Limits ([`HttpConfig`]): head size, header count, string length, pending requests;
//! each raises a named anomaly or sets `capped`.

pub mod analyzer;
pub mod event;
pub mod wire;

#[cfg(test)]
mod tests;

pub use analyzer::HttpAnalyzer;

use crate::registry::AnalyzersConfig;
use model::{Direction, Probe, StreamAnalyzer};
use serde::{Deserialize, Serialize};

/// `[analyzers.http]`: the HTTP analyzer's settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Run the HTTP/1.x analyzer (detected by content on any port). Default `true`.
    pub enabled: bool,
    /// Largest request or response head (start line and header fields), and longest
    /// chunk-size or trailer line, in bytes. Past it `header_too_large` (or `bad_chunk`) is
    /// raised and the direction is no longer parsed. Default 16384.
    pub max_header_bytes: usize,
    /// Most header fields per head (at most 128). Past it `too_many_headers`. Default 100.
    pub max_headers: usize,
    /// Longest reported value (URL, host, user agent, server, content type), in bytes;
    /// longer ones are cut and the event gets `capped: true`. Default 512.
    pub max_string_bytes: usize,
    /// Requests per connection waiting for their response (pipelining). Past it the
    /// oldest is reported without a response (`too_many_pending_requests`); 0 reports each
    /// request at once, unpaired. Default 64.
    pub max_pending_requests: usize,
    /// Report the URL's query string. Off by default: query strings can carry PHI
    /// (patient ids, names); with it off, `url` is the path and `url_query_removed` says a
    /// query was cut.
    pub log_query_string: bool,
    /// First body bytes searched for a login: of a request whose body is a form
    /// (urlencoded, multipart or JSON) for a password-like field name, and of an HTML
    /// response for an `<input type="password">`. Kept only while that body is read, never
    /// reported. 0 turns the search off. Default 16384.
    pub max_form_scan_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: true,
            max_header_bytes: 16384,
            max_headers: 100,
            max_string_bytes: 512,
            max_pending_requests: 64,
            log_query_string: false,
            max_form_scan_bytes: 16384,
        }
    }
}

/// The registry's probe: a known method and a space, or `HTTP/1.`, at the start.
pub fn probe_http(_dir: Direction, data: &[u8]) -> Probe {
    match wire::probe(data) {
        wire::ProbeResult::Match => Probe::Match,
        wire::ProbeResult::NeedMore => Probe::NeedMore,
        wire::ProbeResult::NoMatch => Probe::NoMatch,
    }
}

/// The registry's `enabled`.
pub fn enabled(cfg: &AnalyzersConfig) -> bool {
    cfg.http.enabled
}

/// The registry's `build`.
pub fn build(cfg: &AnalyzersConfig) -> Box<dyn StreamAnalyzer> {
    Box::new(HttpAnalyzer::new(&cfg.http))
}
