//! Exposure event payloads: insecure services and cleartext credentials, detected by
//! content (never by port alone) by the `telnet`, `ftp`, `smb` and `snmp` analyzers.
//!
//! These events say that a credential or an insecure service was seen; they never carry
//! the credential itself (no user names, passwords or SNMP communities). Field names follow
//! Suricata's EVE where Suricata logs the protocol (`smb.dialect`, `smb.client_dialects`,
//! `snmp.version`, `snmp.pdu_type`, `snmp.vars`). Every exposure fact is an explicit boolean,
//! always written, so policy rules and the risk posture read `false` rather than an absent
//! key. Strings are capped by the analyzer.

use serde::Serialize;

/// `event_type: "telnet"`: one telnet session's facts, written when the client answered a
/// password prompt, or at the end of the flow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TelnetEvent {
    /// Telnet option negotiation (IAC DO/DONT/WILL/WONT or a subnegotiation) was seen.
    pub negotiation: bool,
    /// The server sent a login (user name) prompt (`login:`, `username:`).
    pub login_prompt: bool,
    /// The server sent a password prompt (`password:`).
    pub password_prompt: bool,
    /// The client answered a password prompt: a cleartext credential crossed the wire.
    pub cleartext_credentials: bool,
}

/// `event_type: "ftp"`: one FTP login attempt (or, when no login was seen, the session).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FtpEvent {
    /// The server's 220 greeting text (software banner), capped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// `USER` was sent in cleartext.
    pub user_sent: bool,
    /// The user name was `anonymous` or `ftp` (compared, never stored).
    pub anonymous: bool,
    /// `PASS` was sent in cleartext: a cleartext credential crossed the wire.
    pub cleartext_credentials: bool,
    /// `AUTH TLS`/`AUTH SSL` was requested (accepted: the rest of the session is encrypted).
    pub auth_tls: bool,
    /// The login's reply: 230 (true) or 530 (false); absent when no reply was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_success: Option<bool>,
    /// The banner was cut at its cap.
    #[serde(skip_serializing_if = "is_false")]
    pub capped: bool,
}

/// `event_type: "smb"`: one SMB negotiation (request and response paired).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SmbEvent {
    /// Dialects the client offered, in order, capped: SMB1 dialect strings
    /// (`NT LM 0.12`, `SMB 2.???`) or SMB2 revisions (`2.02`, `3.1.1` as `3.11`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_dialects: Vec<String>,
    /// The dialect the server chose (SMB1: the offered string it picked, or its index
    /// when the request was not seen; SMB2: the revision, `2.??` for the wildcard).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// SMBv1 was offered by the client or spoken by the server.
    pub smb1: bool,
    /// The server answered in SMBv1 (an SMB1 dialect was chosen): SMBv1 is in use.
    pub smb1_negotiated: bool,
    /// The server requires message signing (absent when no response was seen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_required: Option<bool>,
    /// A negotiate message was cut short (capture or framing); what it held is reported.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

/// `event_type: "snmp"`: one SNMP message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SnmpEvent {
    /// `1`, `2` (v2c) or `3`, as Suricata writes it.
    pub version: u8,
    /// PDU type by Suricata's name (`get_request`, `get_next_request`, `response`,
    /// `set_request`, `trap_v1`, `get_bulk_request`, `inform_request`, `trap_v2`,
    /// `report`); `encrypted` for a v3 message with privacy, `unknown` otherwise.
    pub pdu_type: &'static str,
    /// A community string was present (v1/v2c): a cleartext credential. Never its value.
    pub community_present: bool,
    /// The community was a well-known default (`public`, `private`).
    pub community_default: bool,
    /// v3 security level from msgFlags: `no_auth_no_priv`, `auth_no_priv`, `auth_priv`
    /// (`invalid`: privacy without authentication).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_level: Option<&'static str>,
    /// Variable-binding OIDs in dotted form (names only, never values), capped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<String>,
    /// The message was cut short or a field did not decode; what decoded is reported.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}
