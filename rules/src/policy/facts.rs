//! The typed facts rules may test (`facts:` in a rule), read straight from event payloads
//! (no JSON). Each fact belongs to one event type; all are PHI-free (flags, names of
//! commands and message types, AE titles), so they may appear in alert evidence.

use model::dicom::DicomEvent;
use model::{Event, EventKind};
use std::borrow::Cow;
use std::collections::HashSet;

/// The value kind of a fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Text,
}

/// (name, kind, event type, meaning) of every fact.
pub const FACTS: &[(&str, Kind, &str, &str)] = &[
    (
        "telnet.login_prompt",
        Kind::Bool,
        "telnet",
        "the server asked for a login",
    ),
    (
        "telnet.cleartext_credentials",
        Kind::Bool,
        "telnet",
        "a password crossed in cleartext",
    ),
    (
        "ftp.cleartext_credentials",
        Kind::Bool,
        "ftp",
        "PASS was sent in cleartext",
    ),
    (
        "ftp.auth_tls",
        Kind::Bool,
        "ftp",
        "AUTH TLS/SSL was requested",
    ),
    ("smb.smb1", Kind::Bool, "smb", "SMBv1 was offered or spoken"),
    (
        "smb.dialect",
        Kind::Text,
        "smb",
        "the dialect the server chose",
    ),
    (
        "snmp.community_present",
        Kind::Bool,
        "snmp",
        "a v1/v2c community (cleartext credential)",
    ),
    (
        "snmp.community_default",
        Kind::Bool,
        "snmp",
        "the community is a well-known default",
    ),
    ("snmp.version", Kind::Text, "snmp", "1, 2c, 3 or other"),
    (
        "http.credentials_present",
        Kind::Bool,
        "http",
        "a cleartext Authorization header",
    ),
    ("dicom.type", Kind::Text, "dicom", "association or command"),
    (
        "dicom.command",
        Kind::Text,
        "dicom",
        "DIMSE command (C-MOVE-RQ ...)",
    ),
    (
        "dicom.outcome",
        Kind::Text,
        "dicom",
        "association outcome: accepted, rejected, unknown",
    ),
    (
        "dicom.reject_reason",
        Kind::Text,
        "dicom",
        "A-ASSOCIATE-RJ reason name",
    ),
    (
        "dicom.user_identity_passcode",
        Kind::Bool,
        "dicom",
        "user identity with a passcode in cleartext (type 2)",
    ),
    (
        "dicom.calling_ae_known",
        Kind::Bool,
        "dicom",
        "the calling AE is known (seen accepted, or configured)",
    ),
    (
        "dicom.called_ae_known",
        Kind::Bool,
        "dicom",
        "the called AE is known",
    ),
    (
        "dicom.move_destination_known",
        Kind::Bool,
        "dicom",
        "a C-MOVE's destination AE is known",
    ),
    ("hl7.message_type", Kind::Text, "hl7", "MSH-9 (ADT^A01)"),
    (
        "hl7.phi_present",
        Kind::Bool,
        "hl7",
        "the message carries PHI fields",
    ),
    (
        "tls.sni_present",
        Kind::Bool,
        "tls",
        "the client sent a server name",
    ),
];

/// A fact, by its index in [`FACTS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FactId(pub usize);

impl FactId {
    pub fn parse(name: &str) -> Option<FactId> {
        FACTS.iter().position(|f| f.0 == name).map(FactId)
    }
    pub fn name(self) -> &'static str {
        FACTS.get(self.0).map(|f| f.0).unwrap_or("?")
    }
    pub fn kind(self) -> Kind {
        FACTS.get(self.0).map(|f| f.1).unwrap_or(Kind::Bool)
    }
    pub fn event_type(self) -> &'static str {
        FACTS.get(self.0).map(|f| f.2).unwrap_or("?")
    }
}

/// A fact's value on one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Bool(bool),
    Text(Cow<'a, str>),
}

impl Value<'_> {
    pub fn text(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Text(t) => t.to_string(),
        }
    }
}

/// AE titles known to be legitimate.
#[derive(Clone, Debug, Default)]
pub struct KnownAes {
    pub set: HashSet<String>,
    pub max: usize,
}

impl KnownAes {
    pub fn contains(&self, ae: &str) -> bool {
        self.set.contains(ae.trim())
    }
    /// Remembers an AE title (bounded; past the cap new titles are not added).
    pub fn add(&mut self, ae: &str) {
        let ae = ae.trim();
        if ae.is_empty() || self.set.len() >= self.max || self.set.contains(ae) {
            return;
        }
        self.set.insert(ae.to_string());
    }
}

/// The value of a fact on an event; `None` when the event does not have it.
pub fn value<'a>(f: FactId, ev: &'a Event, aes: &KnownAes) -> Option<Value<'a>> {
    let b = |x: bool| Some(Value::Bool(x));
    let t = |x: &'a str| Some(Value::Text(Cow::Borrowed(x)));
    match (f.name(), &ev.kind) {
        ("telnet.login_prompt", EventKind::Telnet(e)) => b(e.login_prompt),
        ("telnet.cleartext_credentials", EventKind::Telnet(e)) => b(e.cleartext_credentials),
        ("ftp.cleartext_credentials", EventKind::Ftp(e)) => b(e.cleartext_credentials),
        ("ftp.auth_tls", EventKind::Ftp(e)) => b(e.auth_tls),
        ("smb.smb1", EventKind::Smb(e)) => b(e.smb1),
        ("smb.dialect", EventKind::Smb(e)) => t(e.dialect.as_deref()?),
        ("snmp.community_present", EventKind::Snmp(e)) => b(e.community_present),
        ("snmp.community_default", EventKind::Snmp(e)) => b(e.community_default),
        ("snmp.version", EventKind::Snmp(e)) => t(match e.version {
            1 => "1",
            2 => "2c",
            3 => "3",
            _ => "other",
        }),
        ("http.credentials_present", EventKind::Http(e)) => b(e.credentials_present),
        ("dicom.type", EventKind::Dicom(DicomEvent::Association(_))) => t("association"),
        ("dicom.type", EventKind::Dicom(DicomEvent::Command(_))) => t("command"),
        ("dicom.command", EventKind::Dicom(DicomEvent::Command(c))) => t(c.command),
        ("dicom.outcome", EventKind::Dicom(DicomEvent::Association(a))) => t(a.outcome),
        ("dicom.reject_reason", EventKind::Dicom(DicomEvent::Association(a))) => {
            t(a.reject.as_ref()?.reason_name)
        }
        ("dicom.user_identity_passcode", EventKind::Dicom(DicomEvent::Association(a))) => {
            let u = a.request.as_ref()?.user_identity.as_ref();
            b(u.is_some_and(|u| u.kind == 2 && u.secondary_field_present))
        }
        ("dicom.calling_ae_known", EventKind::Dicom(DicomEvent::Association(a))) => {
            b(aes.contains(a.calling_ae.as_deref()?))
        }
        ("dicom.called_ae_known", EventKind::Dicom(DicomEvent::Association(a))) => {
            b(aes.contains(a.called_ae.as_deref()?))
        }
        ("dicom.move_destination_known", EventKind::Dicom(DicomEvent::Command(c))) => {
            b(aes.contains(c.move_destination.as_deref()?))
        }
        ("hl7.message_type", EventKind::Hl7(h)) => t(h.message_type()?),
        ("hl7.phi_present", EventKind::Hl7(h)) => b(h.has_phi()),
        ("tls.sni_present", EventKind::Tls(e)) => b(e.sni.is_some()),
        _ => None,
    }
}
