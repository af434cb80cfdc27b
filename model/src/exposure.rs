//! Exposure event payloads: insecure services and cleartext credentials, detected by
//! content (never by port alone) by the `telnet`, `ftp`, `smb` and `snmp` analyzers.
//!
//! These events say that a credential or an insecure service was seen; they never carry
//! the credential itself (no user names, passwords or SNMP communities). Field names follow
//! Suricata's EVE where Suricata logs the protocol. Strings are capped by the analyzer.

use serde::Serialize;

/// `event_type: "telnet"`: one telnet session's facts, written when the analyzer has
/// seen enough (a login exchange) or at the end of the flow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TelnetEvent {
    /// Telnet option negotiation (IAC DO/DONT/WILL/WONT) was seen.
    pub negotiation: bool,
    /// The server sent a login (user name) prompt.
    pub login_prompt: bool,
    /// The server sent a password prompt.
    pub password_prompt: bool,
    /// The client answered a password prompt: a cleartext credential crossed the wire.
    pub cleartext_credentials: bool,
}

/// `event_type: "ftp"`: one FTP control session's exposure facts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FtpEvent {
    /// The server's 220 greeting text (software banner), capped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// `USER` was sent in cleartext.
    pub user_sent: bool,
    /// `PASS` was sent in cleartext: a cleartext credential crossed the wire.
    pub cleartext_credentials: bool,
    /// `AUTH TLS`/`AUTH SSL` was requested (the rest of the session is encrypted).
    pub auth_tls: bool,
    /// The login's reply: 230 (true) or 530 (false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_success: Option<bool>,
}

/// `event_type: "smb"`: one SMB negotiation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SmbEvent {
    /// Dialects the client offered (`NT LM 0.12`, `2.002`, `3.1.1`...), in order, capped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dialects_offered: Vec<String>,
    /// The dialect the server chose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// SMBv1 was offered by the client or spoken by the server.
    pub smb1: bool,
    /// The server requires message signing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_required: Option<bool>,
}

/// `event_type: "snmp"`: one SNMP message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SnmpEvent {
    /// `1`, `2c` or `3`.
    pub version: &'static str,
    /// PDU type by name (`get_request`, `get_response`, `trap`...).
    pub pdu_type: &'static str,
    /// A community string was present (v1/v2c): a cleartext credential. Never its value.
    pub community_present: bool,
    /// The community was a well-known default (`public`, `private`).
    pub community_default: bool,
}
