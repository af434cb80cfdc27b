//! HTTP/1.x event payloads (`event_type: "http"`), written by the `http` analyzer.
//!
//! One [`HttpEvent`] per request/response pair (or per request or response seen alone).
//! Field names follow Suricata's EVE `http` object (`hostname`, `http_port`, `url`,
//! `http_user_agent`, `http_content_type`, `http_method`, `protocol`, `status`, `length`,
//! `server`). URLs are reported without their query string by default (it can carry
//! PHI); credentials are never stored, only flagged (`credentials_present`). Every string
//! is capped by the analyzer before it is stored.

use serde::Serialize;

/// `event_type: "http"`: one HTTP/1.x transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HttpEvent {
    /// The `Host` header without its port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The port written in the `Host` header, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_port: Option<u16>,
    /// The request target: its path only, unless `log_query_string` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A query string (or fragment) was cut from `url`.
    #[serde(skip_serializing_if = "is_false")]
    pub url_query_removed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_user_agent: Option<String>,
    /// The response's `Content-Type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// `HTTP/1.0` or `HTTP/1.1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The response's `Server` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Response body bytes seen (chunk data only for chunked bodies).
    pub length: u64,
    /// Request body bytes seen.
    pub request_length: u64,
    /// The request carried cleartext credentials (`Authorization: Basic` or
    /// `Proxy-Authorization: Basic`); the value is never stored.
    #[serde(skip_serializing_if = "is_false")]
    pub credentials_present: bool,
    /// The request's `Authorization` (or `Proxy-Authorization`) scheme, lower case:
    /// `basic`, `digest`, `ntlm`, `negotiate`, `bearer` or `other`. Never its value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_auth: Option<&'static str>,
    /// A password crossed the network in cleartext: Basic authorization, or a form body
    /// with a password-like field (`password_field`).
    #[serde(skip_serializing_if = "is_false")]
    pub cleartext_credentials: bool,
    /// The request's form body (urlencoded or multipart) has a password-like field name
    /// (`password`, `passwd`, `pwd`, `pass`...); its value is never read.
    #[serde(skip_serializing_if = "is_false")]
    pub password_field: bool,
    /// The response page holds a password input (`<input type="password">`): a login
    /// form served over plain HTTP.
    #[serde(skip_serializing_if = "is_false")]
    pub login_form: bool,
    /// A message was cut short (gap, end of stream, header cap).
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// Some value was cut at its cap.
    #[serde(skip_serializing_if = "is_false")]
    pub capped: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}
