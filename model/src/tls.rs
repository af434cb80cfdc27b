//! TLS event payloads (`event_type: "tls"`), written by the `tls` analyzer.
//!
//! One [`TlsEvent`] per ClientHello (paired with the ServerHello that answered it), or per
//! ServerHello seen without its ClientHello. Field names follow Suricata's EVE `tls` object
//! where Suricata has the field (`sni`, `version`, `ja3`, `ja3s`, `ja4`, `client_alpns`,
//! `server_alpns`); the rest are wardwatch's. Every string and list is capped by the
//! analyzer before it is stored. Nothing here is secret: hellos are sent in cleartext.

use serde::Serialize;

/// A JA3 or JA3S fingerprint: the string and its MD5 (lowercase hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TlsJaHash {
    pub hash: String,
    pub string: String,
}

/// What the ClientHello offered (numbers as sent, GREASE values included, in order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsClientHello {
    /// The legacy `client_version` field, as a name (`TLS 1.2`).
    pub version: String,
    /// The `supported_versions` extension (RFC 8446 4.2.1), as names, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_versions: Vec<String>,
    /// Cipher suites offered (Suricata 8 `client_handshake.ciphers`).
    pub ciphers: Vec<u16>,
    /// Extension types in order (Suricata 8 `client_handshake.exts`).
    pub exts: Vec<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_groups: Vec<u16>,
    /// Signature algorithms (Suricata 8 `client_handshake.sig_algs`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sig_algs: Vec<u16>,
    /// Bytes of the ClientHello handshake message (header included).
    pub length: u32,
}

/// What the ServerHello chose.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsServerHello {
    /// The legacy `server_version` field, as a name.
    pub version: String,
    /// The cipher suite chosen.
    pub cipher: u16,
    /// Its IANA name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_name: Option<&'static str>,
    /// Extension types in order.
    pub exts: Vec<u16>,
    /// The ServerHello was a TLS 1.3 HelloRetryRequest.
    #[serde(skip_serializing_if = "is_false")]
    pub hello_retry_request: bool,
}

/// `event_type: "tls"`: one TLS handshake's cleartext hellos.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsEvent {
    /// Server Name Indication (first host name), capped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// The negotiated version (ServerHello, `supported_versions` aware) as Suricata names
    /// it (`TLS 1.2`, `TLS 1.3`, `TLSv1`, `SSLv3`); without a ServerHello, the
    /// ClientHello's legacy version.
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3: Option<TlsJaHash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s: Option<TlsJaHash>,
    /// JA4 (TLS client fingerprint, BSD-3-Clause specification by FoxIO).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// ALPN protocols offered by the client, in order (capped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_alpns: Vec<String>,
    /// ALPN protocol chosen by the server.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_alpns: Vec<String>,
    /// The ClientHello's offer (Suricata 8 names the object `client_handshake`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_handshake: Option<TlsClientHello>,
    /// The ServerHello's choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_handshake: Option<TlsServerHello>,
    /// A hello was cut short (size cap, gap, end of stream); what was read is reported.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// Some list or string was cut at its cap.
    #[serde(skip_serializing_if = "is_false")]
    pub capped: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Suricata's name of a TLS protocol version number.
pub fn version_name(v: u16) -> String {
    match v {
        0x0002 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0x7f00..=0x7fff => format!("TLS 1.3 draft-{}", v & 0xff),
        _ => format!("0x{v:04x}"),
    }
}
