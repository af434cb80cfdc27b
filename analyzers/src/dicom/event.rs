//! Anomaly codes of the DICOM analyzer, and the builders that copy borrowed wire values
//! into the owned, capped event types of `model::dicom`.

use super::wire;
use model::dicom::{
    DicomAbort, DicomAssociateAc, DicomAssociateRq, DicomAsyncOps, DicomPcAc, DicomPcRq,
    DicomReject, DicomRoleSelection, DicomUserIdentity,
};

/// The analyzer name, as `app_proto`, config key and anomaly layer.
pub const NAME: &str = "dicom";

/// Anomaly codes (`anomaly.event`), counted per code.
pub mod code {
    /// A PDU length over `max_pdu_length` (or `max_association_pdu_length`).
    pub const PDU_TOO_LARGE: &str = "pdu_too_large";
    /// A PDU length below its type's minimum (zero or tiny).
    pub const PDU_TOO_SMALL: &str = "pdu_too_small";
    /// A PDU type outside 0x01..=0x07, or a non-zero reserved byte.
    pub const UNKNOWN_PDU_TYPE: &str = "unknown_pdu_type";
    /// Bytes skipped to find the next plausible PDU header.
    pub const RESYNC: &str = "resync";
    /// An item or sub-item length runs past its PDU or parent item.
    pub const ITEM_OVERRUN: &str = "item_overrun";
    /// A fixed-size sub-item with the wrong length.
    pub const ITEM_BAD_LENGTH: &str = "item_bad_length";
    /// More presentation contexts, transfer syntaxes or roles than `max_items`.
    pub const TOO_MANY_ITEMS: &str = "too_many_items";
    /// A PDV item length under 2.
    pub const PDV_TOO_SHORT: &str = "pdv_too_short";
    /// A PDV item runs past its P-DATA-TF PDU.
    pub const PDV_OVERRUN: &str = "pdv_overrun";
    /// A PDV on an even presentation context id (ids are odd, PS3.8 9.3.2.2).
    pub const PC_ID_EVEN: &str = "pc_id_even";
    /// A PDV on a presentation context that was not accepted.
    pub const PC_ID_NOT_NEGOTIATED: &str = "pc_id_not_negotiated";
    /// P-DATA-TF with no association established (seen from its start, or never seen).
    pub const PDATA_WITHOUT_ASSOCIATION: &str = "pdata_without_association";
    /// A PDU that is not valid in the association's state (e.g. a second A-ASSOCIATE-RQ).
    pub const UNEXPECTED_PDU: &str = "unexpected_pdu";
    /// An AE title with control or non-ASCII bytes, or all spaces.
    pub const AE_TITLE_INVALID: &str = "ae_title_invalid";
    /// Protocol version without bit 0 set.
    pub const BAD_PROTOCOL_VERSION: &str = "bad_protocol_version";
    /// User identity type 1 or 2 (user name, passcode) sent without TLS.
    pub const CLEARTEXT_CREDENTIALS: &str = "cleartext_credentials";
    /// A command set larger than `max_command_length`.
    pub const COMMAND_TOO_LARGE: &str = "command_too_large";
    /// Command-set element running past the end of the command set.
    pub const COMMAND_MALFORMED: &str = "command_malformed";
    /// Command Group Length (0000,0000) does not match the command set.
    pub const COMMAND_GROUP_LENGTH_MISMATCH: &str = "command_group_length_mismatch";
    /// A command element with the wrong value length for its VR.
    pub const COMMAND_BAD_VR: &str = "command_bad_vr";
    /// An element outside group 0000 in a command set.
    pub const COMMAND_BAD_GROUP: &str = "command_bad_group";
    /// No Command Field (0000,0100).
    pub const COMMAND_FIELD_MISSING: &str = "command_field_missing";
    /// Data-set fragments with no command announcing a data set.
    pub const DATASET_WITHOUT_COMMAND: &str = "dataset_without_command";
    /// A new command started before the previous message's data set ended.
    pub const DATASET_INTERRUPTED: &str = "dataset_interrupted";
    /// A data-set element header the walker could not read.
    pub const DATASET_MALFORMED: &str = "dataset_malformed";
    /// A response whose request was never seen on an association seen from its start.
    pub const UNMATCHED_RESPONSE: &str = "unmatched_response";
    /// More outstanding requests than `max_pending_requests`.
    pub const TOO_MANY_PENDING: &str = "too_many_pending";
    /// A PDU longer than the maximum length its receiver announced.
    pub const PDU_EXCEEDS_NEGOTIATED_MAX: &str = "pdu_exceeds_negotiated_max";
}

/// Copies a wire string: trailing NUL/space padding and leading spaces removed, control
/// bytes replaced by `?`, at most `cap` bytes kept (cut on a character boundary).
pub fn text(b: &[u8], cap: usize) -> String {
    let end = b
        .iter()
        .rposition(|&c| c != 0 && c != b' ')
        .map(|i| i + 1)
        .unwrap_or(0);
    let start = b.iter().position(|&c| c != b' ').unwrap_or(0).min(end);
    let t = b.get(start..end).unwrap_or(&[]);
    let t = t.get(..t.len().min(cap)).unwrap_or(&[]);
    String::from_utf8_lossy(t)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn opt_text(b: Option<&[u8]>, cap: usize) -> Option<String> {
    b.map(|v| text(v, cap))
}

fn user_identity(u: &wire::UserIdentity) -> DicomUserIdentity {
    DicomUserIdentity {
        kind: u.kind,
        type_name: wire::user_identity_name(u.kind),
        response_requested: u.response_requested,
        primary_field_present: u.primary_len > 0,
        secondary_field_present: u.secondary_len > 0,
    }
}

fn roles(a: &wire::Associate<'_>, cap: usize) -> Vec<DicomRoleSelection> {
    a.user
        .roles
        .iter()
        .map(|r| DicomRoleSelection {
            sop_class_uid: Some(text(r.sop_class_uid, cap)),
            scu: r.scu,
            scp: r.scp,
        })
        .collect()
}

/// The request record from a parsed A-ASSOCIATE-RQ.
pub fn build_rq(a: &wire::Associate<'_>, cap: usize) -> DicomAssociateRq {
    DicomAssociateRq {
        protocol_version: a.protocol_version,
        application_context: opt_text(a.application_context, cap),
        implementation_class_uid: opt_text(a.user.implementation_class_uid, cap),
        implementation_version_name: opt_text(a.user.implementation_version_name, cap),
        max_pdu_length: a.user.max_length,
        async_ops_window: a.user.async_ops.map(|(i, p)| DicomAsyncOps {
            invoked: i,
            performed: p,
        }),
        role_selections: roles(a, cap),
        extended_negotiation: a.user.extended,
        common_extended_negotiation: a.user.common_extended,
        presentation_contexts: a
            .pcs_rq
            .iter()
            .map(|pc| DicomPcRq {
                id: pc.id,
                abstract_syntax: opt_text(pc.abstract_syntax, cap),
                transfer_syntaxes: pc.transfer_syntaxes.iter().map(|t| text(t, cap)).collect(),
            })
            .collect(),
        user_identity: a.user.user_identity.as_ref().map(user_identity),
        unknown_items: a.unknown_items,
        truncated: a.capped || !a.findings.0.is_empty(),
    }
}

/// The accept record from a parsed A-ASSOCIATE-AC.
pub fn build_ac(a: &wire::Associate<'_>, cap: usize) -> DicomAssociateAc {
    DicomAssociateAc {
        protocol_version: a.protocol_version,
        application_context: opt_text(a.application_context, cap),
        implementation_class_uid: opt_text(a.user.implementation_class_uid, cap),
        implementation_version_name: opt_text(a.user.implementation_version_name, cap),
        max_pdu_length: a.user.max_length,
        async_ops_window: a.user.async_ops.map(|(i, p)| DicomAsyncOps {
            invoked: i,
            performed: p,
        }),
        role_selections: roles(a, cap),
        extended_negotiation: a.user.extended,
        common_extended_negotiation: a.user.common_extended,
        presentation_contexts: a
            .pcs_ac
            .iter()
            .map(|pc| DicomPcAc {
                id: pc.id,
                result: pc.result,
                result_name: wire::pc_result_name(pc.result),
                // PS3.8 9.3.3.2: the transfer syntax is not significant unless accepted.
                transfer_syntax: if pc.result == 0 {
                    opt_text(pc.transfer_syntax, cap)
                } else {
                    None
                },
            })
            .collect(),
        user_identity_response: a.user.user_identity_response,
        unknown_items: a.unknown_items,
        truncated: a.capped || !a.findings.0.is_empty(),
    }
}

pub fn build_reject(r: wire::Reject) -> DicomReject {
    let (result_name, source_name, reason_name) = wire::reject_names(r);
    DicomReject {
        result: r.result,
        result_name,
        source: r.source,
        source_name,
        reason: r.reason,
        reason_name,
    }
}

pub fn build_abort(a: wire::Abort, by_requestor: bool) -> DicomAbort {
    let (source_name, reason_name) = wire::abort_names(a);
    DicomAbort {
        source: a.source,
        source_name,
        reason: a.reason,
        reason_name,
        sent_by: if by_requestor {
            "requestor"
        } else {
            "acceptor"
        },
    }
}
