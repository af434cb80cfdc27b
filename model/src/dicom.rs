//! DICOM event payloads (`event_type: "dicom"`): one record per association and one per
//! DIMSE message. Owned and size-capped by the analyzer that fills them; typed here so rules
//! and outputs read them without parsing JSON.
//!
//! PHI never appears here: data-set attributes about patients, studies and persons are
//! reported as keywords present (`phi_present`), never values; user-identity secrets are
//! reported as present, never stored.

use serde::Serialize;
use std::collections::BTreeMap;

/// `dicom.type` selects the record.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DicomEvent {
    /// Written once when an association ends (release, abort, reject, or flow end).
    Association(Box<DicomAssociation>),
    /// One DIMSE message (command set plus the summary of its data set, if any).
    Command(Box<DicomCommand>),
}

/// `dicom.type: "association"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DicomAssociation {
    /// Calling AE title (spaces trimmed); `None` when the A-ASSOCIATE-RQ was not seen.
    pub calling_ae: Option<String>,
    pub called_ae: Option<String>,
    /// `accepted`, `rejected` or `unknown`.
    pub outcome: &'static str,
    pub request: Option<DicomAssociateRq>,
    pub accept: Option<DicomAssociateAc>,
    pub reject: Option<DicomReject>,
    /// `release`, `abort` or `none`.
    pub termination: &'static str,
    pub abort: Option<DicomAbort>,
    /// DIMSE messages by name (`C-STORE-RQ`: 3).
    pub commands: BTreeMap<&'static str, u64>,
    /// Responses by status class (`success`, `pending`, `cancel`, `warning`, `failure`,
    /// `unknown`).
    pub status_classes: BTreeMap<&'static str, u64>,
    /// Bytes of DICOM PDUs each way during the association.
    pub bytes_toserver: u64,
    pub bytes_toclient: u64,
    /// From the first PDU seen to the last, capture time.
    pub duration_ms: f64,
    /// True when the association was joined after it started (no A-ASSOCIATE-RQ/AC seen).
    pub midstream: bool,
}

/// What the requestor proposed (A-ASSOCIATE-RQ, PS3.8 9.3.2).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DicomAssociateRq {
    pub protocol_version: u16,
    pub application_context: Option<String>,
    pub implementation_class_uid: Option<String>,
    pub implementation_version_name: Option<String>,
    /// Maximum PDU length the requestor receives (0 = unlimited).
    pub max_pdu_length: Option<u32>,
    pub async_ops_window: Option<DicomAsyncOps>,
    pub role_selections: Vec<DicomRoleSelection>,
    /// SOP class extended negotiation sub-items present (content not kept).
    pub extended_negotiation: bool,
    /// SOP class common extended negotiation sub-items present (content not kept).
    pub common_extended_negotiation: bool,
    pub presentation_contexts: Vec<DicomPcRq>,
    pub user_identity: Option<DicomUserIdentity>,
    /// Items and sub-items of unknown type, skipped by length.
    pub unknown_items: u32,
    /// True when lists were cut at the configured cap or the PDU was malformed.
    pub truncated: bool,
}

/// What the acceptor answered (A-ASSOCIATE-AC, PS3.8 9.3.3).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DicomAssociateAc {
    pub protocol_version: u16,
    pub application_context: Option<String>,
    pub implementation_class_uid: Option<String>,
    pub implementation_version_name: Option<String>,
    pub max_pdu_length: Option<u32>,
    pub async_ops_window: Option<DicomAsyncOps>,
    pub role_selections: Vec<DicomRoleSelection>,
    pub extended_negotiation: bool,
    pub common_extended_negotiation: bool,
    pub presentation_contexts: Vec<DicomPcAc>,
    /// A user-identity server response sub-item was present (its content is not kept).
    pub user_identity_response: bool,
    pub unknown_items: u32,
    pub truncated: bool,
}

/// A proposed presentation context.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DicomPcRq {
    pub id: u8,
    pub abstract_syntax: Option<String>,
    pub transfer_syntaxes: Vec<String>,
}

/// An answered presentation context.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DicomPcAc {
    pub id: u8,
    /// 0 acceptance, 1 user rejection, 2 no reason, 3 abstract syntax not supported,
    /// 4 transfer syntaxes not supported.
    pub result: u8,
    pub result_name: &'static str,
    pub transfer_syntax: Option<String>,
}

/// Asynchronous operations window (PS3.7 D.3.3.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DicomAsyncOps {
    pub invoked: u16,
    pub performed: u16,
}

/// SCP/SCU role selection (PS3.7 D.3.3.4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DicomRoleSelection {
    pub sop_class_uid: Option<String>,
    pub scu: u8,
    pub scp: u8,
}

/// User identity negotiation (PS3.7 D.3.3.7): the kind and which fields were present,
/// never their values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DicomUserIdentity {
    /// 1 username, 2 username and passcode, 3 Kerberos, 4 SAML, 5 JWT.
    #[serde(rename = "type")]
    pub kind: u8,
    pub type_name: &'static str,
    pub response_requested: bool,
    pub primary_field_present: bool,
    pub secondary_field_present: bool,
}

/// A-ASSOCIATE-RJ (PS3.8 9.3.4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DicomReject {
    pub result: u8,
    pub result_name: &'static str,
    pub source: u8,
    pub source_name: &'static str,
    pub reason: u8,
    pub reason_name: &'static str,
}

/// A-ABORT (PS3.8 9.3.8).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DicomAbort {
    pub source: u8,
    pub source_name: &'static str,
    pub reason: u8,
    pub reason_name: &'static str,
    /// `requestor` or `acceptor`.
    pub sent_by: &'static str,
}

/// `dicom.type: "command"`: one DIMSE message (PS3.7 9 and 10, command set E.1).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DicomCommand {
    /// `C-STORE-RQ`, `C-FIND-RSP`, ..., `C-CANCEL-RQ`, or `UNKNOWN`.
    pub command: &'static str,
    pub command_field: u16,
    /// Direction of the message (`to_server`/`to_client`).
    pub direction: &'static str,
    pub pc_id: u8,
    pub message_id: Option<u16>,
    pub message_id_responded: Option<u16>,
    pub affected_sop_class_uid: Option<String>,
    pub requested_sop_class_uid: Option<String>,
    pub affected_sop_instance_uid: Option<String>,
    pub requested_sop_instance_uid: Option<String>,
    pub priority: Option<u16>,
    /// Command Data Set Type said a data set follows.
    pub has_dataset: bool,
    pub status: Option<u16>,
    /// `success`, `pending`, `cancel`, `warning`, `failure` or `unknown`.
    pub status_class: Option<&'static str>,
    pub error_comment: Option<String>,
    pub move_destination: Option<String>,
    pub move_originator_ae: Option<String>,
    pub move_originator_message_id: Option<u16>,
    pub remaining_suboperations: Option<u16>,
    pub completed_suboperations: Option<u16>,
    pub failed_suboperations: Option<u16>,
    pub warning_suboperations: Option<u16>,
    /// Responses: capture time from the paired request, in milliseconds.
    pub latency_ms: Option<f64>,
    pub dataset: Option<DicomDataset>,
}

/// What was read from the start of a data set: device attributes (values, capped) and the
/// keywords of PHI attributes present (never their values).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DicomDataset {
    /// `implicit_vr_le`, `explicit_vr_le`, or `not_parsed` (other transfer syntaxes).
    pub encoding: &'static str,
    pub transfer_syntax: Option<String>,
    /// Data-set bytes carried (all fragments).
    pub bytes: u64,
    /// False when the data set ended early (gap, abort, or a new message interrupted it).
    pub complete: bool,
    /// The element walk stopped on a malformed element.
    pub malformed: bool,
    pub sop_class_uid: Option<String>,
    pub modality: Option<String>,
    pub manufacturer: Option<String>,
    pub model_name: Option<String>,
    pub station_name: Option<String>,
    pub software_versions: Option<String>,
    pub device_serial_number: Option<String>,
    pub institution_name: Option<String>,
    /// Keywords of PHI attributes present (`PatientName`, ...), in tag order, deduplicated.
    pub phi_present: Vec<&'static str>,
}
