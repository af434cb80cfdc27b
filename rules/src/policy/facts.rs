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

/// The index in [`FACTS`] of a fact named at compile time; `FACTS.len()` (no fact) for a
/// name missing from the table, which the assertion below turns into a build error.
const fn pos(name: &str) -> usize {
    let n = name.as_bytes();
    let mut i = 0;
    while i < FACTS.len() {
        let f = FACTS[i].0.as_bytes();
        if f.len() == n.len() {
            let mut j = 0;
            while j < n.len() && f[j] == n[j] {
                j += 1;
            }
            if j == n.len() {
                return i;
            }
        }
        i += 1;
    }
    FACTS.len()
}

const TELNET_LOGIN_PROMPT: usize = pos("telnet.login_prompt");
const TELNET_CLEARTEXT_CREDENTIALS: usize = pos("telnet.cleartext_credentials");
const FTP_CLEARTEXT_CREDENTIALS: usize = pos("ftp.cleartext_credentials");
const FTP_AUTH_TLS: usize = pos("ftp.auth_tls");
const SMB_SMB1: usize = pos("smb.smb1");
const SMB_DIALECT: usize = pos("smb.dialect");
const SNMP_COMMUNITY_PRESENT: usize = pos("snmp.community_present");
const SNMP_COMMUNITY_DEFAULT: usize = pos("snmp.community_default");
const SNMP_VERSION: usize = pos("snmp.version");
const HTTP_CREDENTIALS_PRESENT: usize = pos("http.credentials_present");
const DICOM_TYPE: usize = pos("dicom.type");
const DICOM_COMMAND: usize = pos("dicom.command");
const DICOM_OUTCOME: usize = pos("dicom.outcome");
const DICOM_REJECT_REASON: usize = pos("dicom.reject_reason");
const DICOM_USER_IDENTITY_PASSCODE: usize = pos("dicom.user_identity_passcode");
const DICOM_CALLING_AE_KNOWN: usize = pos("dicom.calling_ae_known");
const DICOM_CALLED_AE_KNOWN: usize = pos("dicom.called_ae_known");
const DICOM_MOVE_DESTINATION_KNOWN: usize = pos("dicom.move_destination_known");
const HL7_MESSAGE_TYPE: usize = pos("hl7.message_type");
const HL7_PHI_PRESENT: usize = pos("hl7.phi_present");
const TLS_SNI_PRESENT: usize = pos("tls.sni_present");

// Every name above is in FACTS (checked when building).
const _: () = {
    let all = [
        TELNET_LOGIN_PROMPT,
        TELNET_CLEARTEXT_CREDENTIALS,
        FTP_CLEARTEXT_CREDENTIALS,
        FTP_AUTH_TLS,
        SMB_SMB1,
        SMB_DIALECT,
        SNMP_COMMUNITY_PRESENT,
        SNMP_COMMUNITY_DEFAULT,
        SNMP_VERSION,
        HTTP_CREDENTIALS_PRESENT,
        DICOM_TYPE,
        DICOM_COMMAND,
        DICOM_OUTCOME,
        DICOM_REJECT_REASON,
        DICOM_USER_IDENTITY_PASSCODE,
        DICOM_CALLING_AE_KNOWN,
        DICOM_CALLED_AE_KNOWN,
        DICOM_MOVE_DESTINATION_KNOWN,
        HL7_MESSAGE_TYPE,
        HL7_PHI_PRESENT,
        TLS_SNI_PRESENT,
    ];
    let mut i = 0;
    while i < all.len() {
        assert!(all[i] < FACTS.len(), "a fact index names no fact");
        i += 1;
    }
};

/// Which payload variant of its type an event is, where facts tell them apart: 1 for a
/// DICOM association, 2 for a DICOM command, 0 for every other event.
pub fn variant(ev: &Event) -> u8 {
    match &ev.kind {
        EventKind::Dicom(DicomEvent::Association(_)) => 1,
        EventKind::Dicom(DicomEvent::Command(_)) => 2,
        _ => 0,
    }
}

/// The variants ([`variant`], as bits `1 << variant`) on which a fact can have a value:
/// a condition set with a fact that cannot is out on such an event.
pub fn variants(f: FactId) -> u8 {
    match f.0 {
        DICOM_OUTCOME
        | DICOM_REJECT_REASON
        | DICOM_USER_IDENTITY_PASSCODE
        | DICOM_CALLING_AE_KNOWN
        | DICOM_CALLED_AE_KNOWN => 1 << 1,
        DICOM_COMMAND | DICOM_MOVE_DESTINATION_KNOWN => 1 << 2,
        DICOM_TYPE => (1 << 1) | (1 << 2),
        _ => u8::MAX,
    }
}

/// The value of a fact on an event; `None` when the event does not have it. Dispatches on
/// the fact's index (no name comparisons per event).
pub fn value<'a>(f: FactId, ev: &'a Event, aes: &KnownAes) -> Option<Value<'a>> {
    let b = |x: bool| Some(Value::Bool(x));
    let t = |x: &'a str| Some(Value::Text(Cow::Borrowed(x)));
    match (f.0, &ev.kind) {
        (TELNET_LOGIN_PROMPT, EventKind::Telnet(e)) => b(e.login_prompt),
        (TELNET_CLEARTEXT_CREDENTIALS, EventKind::Telnet(e)) => b(e.cleartext_credentials),
        (FTP_CLEARTEXT_CREDENTIALS, EventKind::Ftp(e)) => b(e.cleartext_credentials),
        (FTP_AUTH_TLS, EventKind::Ftp(e)) => b(e.auth_tls),
        (SMB_SMB1, EventKind::Smb(e)) => b(e.smb1),
        (SMB_DIALECT, EventKind::Smb(e)) => t(e.dialect.as_deref()?),
        (SNMP_COMMUNITY_PRESENT, EventKind::Snmp(e)) => b(e.community_present),
        (SNMP_COMMUNITY_DEFAULT, EventKind::Snmp(e)) => b(e.community_default),
        (SNMP_VERSION, EventKind::Snmp(e)) => t(match e.version {
            1 => "1",
            2 => "2c",
            3 => "3",
            _ => "other",
        }),
        (HTTP_CREDENTIALS_PRESENT, EventKind::Http(e)) => b(e.credentials_present),
        (DICOM_TYPE, EventKind::Dicom(DicomEvent::Association(_))) => t("association"),
        (DICOM_TYPE, EventKind::Dicom(DicomEvent::Command(_))) => t("command"),
        (DICOM_COMMAND, EventKind::Dicom(DicomEvent::Command(c))) => t(c.command),
        (DICOM_OUTCOME, EventKind::Dicom(DicomEvent::Association(a))) => t(a.outcome),
        (DICOM_REJECT_REASON, EventKind::Dicom(DicomEvent::Association(a))) => {
            t(a.reject.as_ref()?.reason_name)
        }
        (DICOM_USER_IDENTITY_PASSCODE, EventKind::Dicom(DicomEvent::Association(a))) => {
            let u = a.request.as_ref()?.user_identity.as_ref();
            b(u.is_some_and(|u| u.kind == 2 && u.secondary_field_present))
        }
        (DICOM_CALLING_AE_KNOWN, EventKind::Dicom(DicomEvent::Association(a))) => {
            b(aes.contains(a.calling_ae.as_deref()?))
        }
        (DICOM_CALLED_AE_KNOWN, EventKind::Dicom(DicomEvent::Association(a))) => {
            b(aes.contains(a.called_ae.as_deref()?))
        }
        (DICOM_MOVE_DESTINATION_KNOWN, EventKind::Dicom(DicomEvent::Command(c))) => {
            b(aes.contains(c.move_destination.as_deref()?))
        }
        (HL7_MESSAGE_TYPE, EventKind::Hl7(h)) => t(h.message_type()?),
        (HL7_PHI_PRESENT, EventKind::Hl7(h)) => b(h.has_phi()),
        (TLS_SNI_PRESENT, EventKind::Tls(e)) => b(e.sni.is_some()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::dicom::{
        DicomAssociateRq, DicomAssociation, DicomCommand, DicomReject, DicomUserIdentity,
    };
    use model::exposure::{FtpEvent, SmbEvent, SnmpEvent, TelnetEvent};

    fn ev(kind: EventKind) -> Event {
        Event {
            ts: model::Timestamp::ZERO,
            flow: None,
            kind,
        }
    }

    #[test]
    fn every_fact_reads_its_own_event_type_and_field() {
        // Dispatch by index: each fact has a value on events of its own type only, and two
        // facts of one type read their own fields (the events set them to different values).
        // HL7 facts are read by the HL7 accessors and covered by the scenario tests.
        let events = [
            ev(EventKind::Telnet(Box::new(TelnetEvent {
                login_prompt: true,
                cleartext_credentials: false,
                ..TelnetEvent::default()
            }))),
            ev(EventKind::Ftp(Box::new(FtpEvent {
                cleartext_credentials: true,
                auth_tls: false,
                ..FtpEvent::default()
            }))),
            ev(EventKind::Smb(Box::new(SmbEvent {
                smb1: true,
                dialect: Some("2.1".into()),
                ..SmbEvent::default()
            }))),
            ev(EventKind::Snmp(Box::new(SnmpEvent {
                version: 2,
                community_present: true,
                community_default: false,
                ..SnmpEvent::default()
            }))),
            ev(EventKind::Http(Box::new(model::http::HttpEvent {
                credentials_present: true,
                ..Default::default()
            }))),
            ev(EventKind::Tls(Box::new(model::tls::TlsEvent {
                sni: Some("a.example".into()),
                ..Default::default()
            }))),
            ev(EventKind::Dicom(DicomEvent::Association(Box::new(
                DicomAssociation {
                    calling_ae: Some("CALLER".into()),
                    called_ae: Some("KNOWN".into()),
                    outcome: "rejected",
                    request: Some(DicomAssociateRq {
                        user_identity: Some(DicomUserIdentity {
                            kind: 2,
                            secondary_field_present: true,
                            ..DicomUserIdentity::default()
                        }),
                        ..DicomAssociateRq::default()
                    }),
                    reject: Some(DicomReject {
                        reason_name: "no_reason",
                        ..DicomReject::default()
                    }),
                    ..DicomAssociation::default()
                },
            )))),
            ev(EventKind::Dicom(DicomEvent::Command(Box::new(
                DicomCommand {
                    command: "C-MOVE-RQ",
                    move_destination: Some("KNOWN".into()),
                    ..DicomCommand::default()
                },
            )))),
        ];
        let mut aes = KnownAes {
            max: 10,
            ..KnownAes::default()
        };
        aes.add("KNOWN");
        let bool_ = |b| Some(Value::Bool(b));
        let text = |t: &'static str| Some(Value::Text(Cow::Borrowed(t)));
        // (fact, event index, value), one row per event the fact has a value on.
        let want = [
            ("telnet.login_prompt", 0, bool_(true)),
            ("telnet.cleartext_credentials", 0, bool_(false)),
            ("ftp.cleartext_credentials", 1, bool_(true)),
            ("ftp.auth_tls", 1, bool_(false)),
            ("smb.smb1", 2, bool_(true)),
            ("smb.dialect", 2, text("2.1")),
            ("snmp.community_present", 3, bool_(true)),
            ("snmp.community_default", 3, bool_(false)),
            ("snmp.version", 3, text("2c")),
            ("http.credentials_present", 4, bool_(true)),
            ("tls.sni_present", 5, bool_(true)),
            ("dicom.type", 6, text("association")),
            ("dicom.type", 7, text("command")),
            ("dicom.outcome", 6, text("rejected")),
            ("dicom.reject_reason", 6, text("no_reason")),
            ("dicom.user_identity_passcode", 6, bool_(true)),
            ("dicom.calling_ae_known", 6, bool_(false)),
            ("dicom.called_ae_known", 6, bool_(true)),
            ("dicom.command", 7, text("C-MOVE-RQ")),
            ("dicom.move_destination_known", 7, bool_(true)),
        ];
        for (i, (name, _, _, _)) in FACTS.iter().enumerate() {
            let f = FactId(i);
            for (j, e) in events.iter().enumerate() {
                let expected = want
                    .iter()
                    .find(|(n, k, _)| n == name && *k == j)
                    .and_then(|(_, _, v)| v.clone());
                assert_eq!(value(f, e, &aes), expected, "{name} on event {j}");
                // A fact has a value only on the variants it claims.
                if expected.is_some() {
                    assert_ne!(variants(f) & (1 << variant(e)), 0, "{name} on event {j}");
                }
                if expected.is_some() {
                    assert_eq!(f.event_type(), e.kind.event_type(), "{name}");
                }
            }
        }
        // The DICOM facts are each about one variant (skipping sets on the other is a cut).
        assert_eq!(variants(FactId(DICOM_COMMAND)), 1 << variant(&events[7]));
        assert_eq!(variants(FactId(DICOM_OUTCOME)), 1 << variant(&events[6]));
        // Every fact but the HL7 ones is covered above.
        for (name, ..) in FACTS {
            assert!(
                name.starts_with("hl7.") || want.iter().any(|(n, ..)| n == name),
                "{name}"
            );
        }
    }
}
