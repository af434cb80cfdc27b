//! Pure, zero-copy parsing of DICOM upper-layer PDUs (PS3.8 9.3) and DIMSE command sets
//! (PS3.7 E.1). No state: the analyzer frames the stream and calls these on whole PDUs
//! (association-control PDUs) or on headers (P-DATA-TF, PDV items).

/// PDU types (PS3.8 table 9-11 and following). A wire number, so plain consts.
pub const PDU_ASSOCIATE_RQ: u8 = 0x01;
pub const PDU_ASSOCIATE_AC: u8 = 0x02;
pub const PDU_ASSOCIATE_RJ: u8 = 0x03;
pub const PDU_P_DATA_TF: u8 = 0x04;
pub const PDU_RELEASE_RQ: u8 = 0x05;
pub const PDU_RELEASE_RP: u8 = 0x06;
pub const PDU_ABORT: u8 = 0x07;

/// PDU header: type (1), reserved (1), length (4, big endian).
pub const PDU_HEADER_LEN: usize = 6;
/// PDV item header: length (4), presentation context id (1), message control header (1).
pub const PDV_HEADER_LEN: usize = 6;
/// Fixed part of A-ASSOCIATE-RQ/AC after the PDU header: version (2), reserved (2),
/// called AE (16), calling AE (16), reserved (32).
pub const ASSOCIATE_FIXED_LEN: usize = 68;

/// Item types inside A-ASSOCIATE-RQ/AC (PS3.8 9.3.2.1 and following, PS3.7 annex D).
pub const ITEM_APPLICATION_CONTEXT: u8 = 0x10;
pub const ITEM_PC_RQ: u8 = 0x20;
pub const ITEM_PC_AC: u8 = 0x21;
pub const ITEM_ABSTRACT_SYNTAX: u8 = 0x30;
pub const ITEM_TRANSFER_SYNTAX: u8 = 0x40;
pub const ITEM_USER_INFORMATION: u8 = 0x50;
pub const SUB_MAX_LENGTH: u8 = 0x51;
pub const SUB_IMPLEMENTATION_CLASS_UID: u8 = 0x52;
pub const SUB_ASYNC_OPS_WINDOW: u8 = 0x53;
pub const SUB_ROLE_SELECTION: u8 = 0x54;
pub const SUB_IMPLEMENTATION_VERSION_NAME: u8 = 0x55;
pub const SUB_SOP_CLASS_EXTENDED: u8 = 0x56;
pub const SUB_SOP_CLASS_COMMON_EXTENDED: u8 = 0x57;
pub const SUB_USER_IDENTITY_RQ: u8 = 0x58;
pub const SUB_USER_IDENTITY_AC: u8 = 0x59;

/// A PDU header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PduHeader {
    pub pdu_type: u8,
    pub reserved: u8,
    /// Bytes after the 6-byte header.
    pub length: u32,
}

/// Parses a PDU header from the first 6 bytes; `None` if fewer.
pub fn parse_pdu_header(b: &[u8]) -> Option<PduHeader> {
    let h = b.get(..PDU_HEADER_LEN)?;
    Some(PduHeader {
        pdu_type: h[0],
        reserved: h[1],
        length: u32::from_be_bytes([h[2], h[3], h[4], h[5]]),
    })
}

/// A presentation-data-value item header (PS3.8 9.3.5.1, annex E.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdvHeader {
    /// Item length: the context id, the control header and the fragment (so >= 2).
    pub length: u32,
    pub pc_id: u8,
    /// Bit 0: command (1) or data set (0); bit 1: last fragment.
    pub control: u8,
}

impl PdvHeader {
    pub fn is_command(&self) -> bool {
        self.control & 0x01 != 0
    }
    pub fn is_last(&self) -> bool {
        self.control & 0x02 != 0
    }
}

/// Parses a PDV item header from the first 6 bytes; `None` if fewer.
pub fn parse_pdv_header(b: &[u8]) -> Option<PdvHeader> {
    let h = b.get(..PDV_HEADER_LEN)?;
    Some(PdvHeader {
        length: u32::from_be_bytes([h[0], h[1], h[2], h[3]]),
        pc_id: h[4],
        control: h[5],
    })
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// True when an AE title field is printable ASCII (spaces allowed) and not all spaces.
pub fn ae_title_valid(ae: &[u8]) -> bool {
    ae.iter().all(|&c| (0x20..0x7f).contains(&c)) && ae.iter().any(|&c| c != b' ')
}

/// Why an association-control PDU could not be read in full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than its fixed part.
    TooShort,
}

/// A proposed presentation context (item 0x20).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PcRq<'a> {
    pub id: u8,
    pub abstract_syntax: Option<&'a [u8]>,
    pub transfer_syntaxes: Vec<&'a [u8]>,
}

/// An answered presentation context (item 0x21).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PcAc<'a> {
    pub id: u8,
    pub result: u8,
    pub transfer_syntax: Option<&'a [u8]>,
}

/// A role-selection sub-item (0x54).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleSelection<'a> {
    pub sop_class_uid: &'a [u8],
    pub scu: u8,
    pub scp: u8,
}

/// A user-identity RQ sub-item (0x58): only the kind and which fields were present.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserIdentity {
    pub kind: u8,
    pub response_requested: bool,
    pub primary_len: u16,
    pub secondary_len: u16,
}

/// User-information item (0x50) contents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo<'a> {
    pub max_length: Option<u32>,
    pub implementation_class_uid: Option<&'a [u8]>,
    pub implementation_version_name: Option<&'a [u8]>,
    pub async_ops: Option<(u16, u16)>,
    pub roles: Vec<RoleSelection<'a>>,
    pub extended: bool,
    pub common_extended: bool,
    pub user_identity: Option<UserIdentity>,
    pub user_identity_response: bool,
}

/// Problems found while walking items, by anomaly code (deduplicated, in order found).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings(pub Vec<&'static str>);

impl Findings {
    pub fn add(&mut self, code: &'static str) {
        if !self.0.contains(&code) {
            self.0.push(code);
        }
    }
}

/// An A-ASSOCIATE-RQ or -AC PDU body (everything after the 6-byte PDU header).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Associate<'a> {
    pub protocol_version: u16,
    /// 16 bytes each, as on the wire (space padded).
    pub called_ae: &'a [u8],
    pub calling_ae: &'a [u8],
    pub application_context: Option<&'a [u8]>,
    pub pcs_rq: Vec<PcRq<'a>>,
    pub pcs_ac: Vec<PcAc<'a>>,
    pub user: UserInfo<'a>,
    pub unknown_items: u32,
    /// Lists were cut at `max_items`.
    pub capped: bool,
    /// Anomaly codes: `item_overrun`, `item_bad_length`, `too_many_items`.
    pub findings: Findings,
}

/// Walks `(type, length, value)` items with 2-byte big-endian lengths. Calls `f` for each
/// whole item; an item whose length runs past `b` is reported as `item_overrun` and ends
/// the walk.
fn walk_items<'a>(b: &'a [u8], findings: &mut Findings, mut f: impl FnMut(u8, &'a [u8])) {
    let mut at = 0usize;
    while at < b.len() {
        let (Some(&ty), Some(len)) = (b.get(at), be16(b, at + 2)) else {
            findings.add("item_overrun");
            return;
        };
        let start = at + 4;
        let Some(v) = b.get(start..start + usize::from(len)) else {
            findings.add("item_overrun");
            return;
        };
        f(ty, v);
        at = start + usize::from(len);
    }
}

/// Parses an A-ASSOCIATE-RQ (`is_rq`) or -AC body. Keeps at most `max_items` presentation
/// contexts, transfer syntaxes per context and role selections.
pub fn parse_associate(
    body: &[u8],
    is_rq: bool,
    max_items: usize,
) -> Result<Associate<'_>, WireError> {
    if body.len() < ASSOCIATE_FIXED_LEN {
        return Err(WireError::TooShort);
    }
    let mut a = Associate {
        protocol_version: be16(body, 0).unwrap_or(0),
        called_ae: body.get(4..20).unwrap_or(&[]),
        calling_ae: body.get(20..36).unwrap_or(&[]),
        ..Associate::default()
    };
    let items = body.get(ASSOCIATE_FIXED_LEN..).unwrap_or(&[]);
    let mut findings = Findings::default();
    let mut sub_findings = Findings::default();
    walk_items(items, &mut findings, |ty, v| match ty {
        ITEM_APPLICATION_CONTEXT => a.application_context = Some(v),
        ITEM_PC_RQ if is_rq => {
            if a.pcs_rq.len() >= max_items {
                a.capped = true;
                return;
            }
            let mut pc = PcRq {
                id: v.first().copied().unwrap_or(0),
                ..PcRq::default()
            };
            if v.len() < 4 {
                sub_findings.add("item_bad_length");
            }
            let mut capped = false;
            walk_items(
                v.get(4..).unwrap_or(&[]),
                &mut sub_findings,
                |sty, sv| match sty {
                    ITEM_ABSTRACT_SYNTAX => pc.abstract_syntax = Some(sv),
                    ITEM_TRANSFER_SYNTAX => {
                        if pc.transfer_syntaxes.len() < max_items {
                            pc.transfer_syntaxes.push(sv);
                        } else {
                            capped = true;
                        }
                    }
                    _ => a.unknown_items += 1,
                },
            );
            a.capped |= capped;
            a.pcs_rq.push(pc);
        }
        ITEM_PC_AC if !is_rq => {
            if a.pcs_ac.len() >= max_items {
                a.capped = true;
                return;
            }
            let mut pc = PcAc {
                id: v.first().copied().unwrap_or(0),
                result: v.get(2).copied().unwrap_or(0xff),
                transfer_syntax: None,
            };
            if v.len() < 4 {
                sub_findings.add("item_bad_length");
            }
            walk_items(
                v.get(4..).unwrap_or(&[]),
                &mut sub_findings,
                |sty, sv| match sty {
                    ITEM_TRANSFER_SYNTAX => pc.transfer_syntax = Some(sv),
                    _ => a.unknown_items += 1,
                },
            );
            a.pcs_ac.push(pc);
        }
        ITEM_USER_INFORMATION => {
            let mut inner = Findings::default();
            let mut walk = Findings::default();
            walk_items(v, &mut walk, |sty, sv| {
                parse_user_sub_item(
                    &mut a.user,
                    &mut a.unknown_items,
                    &mut a.capped,
                    &mut inner,
                    sty,
                    sv,
                    max_items,
                )
            });
            for c in walk.0.into_iter().chain(inner.0) {
                sub_findings.add(c);
            }
        }
        _ => a.unknown_items += 1,
    });
    for c in sub_findings.0 {
        findings.add(c);
    }
    if a.capped {
        findings.add("too_many_items");
    }
    a.findings = findings;
    Ok(a)
}

fn parse_user_sub_item<'a>(
    u: &mut UserInfo<'a>,
    unknown: &mut u32,
    capped: &mut bool,
    findings: &mut Findings,
    ty: u8,
    v: &'a [u8],
    max_items: usize,
) {
    match ty {
        SUB_MAX_LENGTH => match be32(v, 0) {
            Some(n) if v.len() == 4 => u.max_length = Some(n),
            _ => findings.add("item_bad_length"),
        },
        SUB_IMPLEMENTATION_CLASS_UID => u.implementation_class_uid = Some(v),
        SUB_IMPLEMENTATION_VERSION_NAME => u.implementation_version_name = Some(v),
        SUB_ASYNC_OPS_WINDOW => match (be16(v, 0), be16(v, 2)) {
            (Some(i), Some(p)) if v.len() == 4 => u.async_ops = Some((i, p)),
            _ => findings.add("item_bad_length"),
        },
        SUB_ROLE_SELECTION => {
            // UID length (2), UID, SCU role (1), SCP role (1).
            let Some(n) = be16(v, 0) else {
                findings.add("item_bad_length");
                return;
            };
            let n = usize::from(n);
            match (v.get(2..2 + n), v.get(2 + n), v.get(3 + n)) {
                (Some(uid), Some(&scu), Some(&scp)) => {
                    if u.roles.len() < max_items {
                        u.roles.push(RoleSelection {
                            sop_class_uid: uid,
                            scu,
                            scp,
                        });
                    } else {
                        *capped = true;
                    }
                }
                _ => findings.add("item_overrun"),
            }
        }
        SUB_SOP_CLASS_EXTENDED => u.extended = true,
        SUB_SOP_CLASS_COMMON_EXTENDED => u.common_extended = true,
        SUB_USER_IDENTITY_RQ => {
            // Type (1), positive response requested (1), primary length (2), primary,
            // secondary length (2), secondary. Values are never kept.
            let (Some(&kind), Some(&resp), Some(plen)) = (v.first(), v.get(1), be16(v, 2)) else {
                findings.add("item_bad_length");
                return;
            };
            let at = 4 + usize::from(plen);
            let slen = be16(v, at);
            if v.len() < at
                || slen
                    .map(|s| at + 2 + usize::from(s) > v.len())
                    .unwrap_or(false)
            {
                findings.add("item_overrun");
            }
            u.user_identity = Some(UserIdentity {
                kind,
                response_requested: resp == 1,
                primary_len: plen,
                secondary_len: slen.unwrap_or(0),
            });
        }
        SUB_USER_IDENTITY_AC => u.user_identity_response = true,
        _ => *unknown += 1,
    }
}

/// A-ASSOCIATE-RJ body: reserved (1), result (1), source (1), reason/diag. (1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject {
    pub result: u8,
    pub source: u8,
    pub reason: u8,
}

pub fn parse_reject(body: &[u8]) -> Option<Reject> {
    let b = body.get(..4)?;
    Some(Reject {
        result: b[1],
        source: b[2],
        reason: b[3],
    })
}

/// A-ABORT body: reserved (2), source (1), reason/diag. (1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Abort {
    pub source: u8,
    pub reason: u8,
}

pub fn parse_abort(body: &[u8]) -> Option<Abort> {
    let b = body.get(..4)?;
    Some(Abort {
        source: b[2],
        reason: b[3],
    })
}

/// Command-set element tags (group 0000), PS3.7 E.1.
pub mod tag {
    pub const GROUP_LENGTH: u16 = 0x0000;
    pub const AFFECTED_SOP_CLASS_UID: u16 = 0x0002;
    pub const REQUESTED_SOP_CLASS_UID: u16 = 0x0003;
    pub const COMMAND_FIELD: u16 = 0x0100;
    pub const MESSAGE_ID: u16 = 0x0110;
    pub const MESSAGE_ID_RESPONDED: u16 = 0x0120;
    pub const MOVE_DESTINATION: u16 = 0x0600;
    pub const PRIORITY: u16 = 0x0700;
    pub const DATA_SET_TYPE: u16 = 0x0800;
    pub const STATUS: u16 = 0x0900;
    pub const ERROR_COMMENT: u16 = 0x0902;
    pub const AFFECTED_SOP_INSTANCE_UID: u16 = 0x1000;
    pub const REQUESTED_SOP_INSTANCE_UID: u16 = 0x1001;
    pub const REMAINING: u16 = 0x1020;
    pub const COMPLETED: u16 = 0x1021;
    pub const FAILED: u16 = 0x1022;
    pub const WARNING: u16 = 0x1023;
    pub const MOVE_ORIGINATOR_AE: u16 = 0x1030;
    pub const MOVE_ORIGINATOR_MESSAGE_ID: u16 = 0x1031;
}

/// Data Set Type value meaning "no data set" (PS3.7 E.1: 0x0101; any other value means
/// a data set follows).
pub const NO_DATA_SET: u16 = 0x0101;

/// A decoded command set; strings borrowed raw (the analyzer trims and caps them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandSet<'a> {
    pub group_length: Option<u32>,
    pub command_field: Option<u16>,
    pub message_id: Option<u16>,
    pub message_id_responded: Option<u16>,
    pub affected_sop_class_uid: Option<&'a [u8]>,
    pub requested_sop_class_uid: Option<&'a [u8]>,
    pub affected_sop_instance_uid: Option<&'a [u8]>,
    pub requested_sop_instance_uid: Option<&'a [u8]>,
    pub move_destination: Option<&'a [u8]>,
    pub priority: Option<u16>,
    pub data_set_type: Option<u16>,
    pub status: Option<u16>,
    pub error_comment: Option<&'a [u8]>,
    pub remaining: Option<u16>,
    pub completed: Option<u16>,
    pub failed: Option<u16>,
    pub warning: Option<u16>,
    pub move_originator_ae: Option<&'a [u8]>,
    pub move_originator_message_id: Option<u16>,
    /// Anomaly codes: `command_malformed`, `command_group_length_mismatch`,
    /// `command_bad_vr`, `command_bad_group`, `command_field_missing`.
    pub findings: Findings,
}

impl CommandSet<'_> {
    /// Whether a data set follows (absent Data Set Type is read as "none").
    pub fn has_dataset(&self) -> bool {
        self.data_set_type
            .map(|t| t != NO_DATA_SET)
            .unwrap_or(false)
    }
}

/// Decodes a whole command set (always Implicit VR Little Endian: tag group (2), element
/// (2), length (4), value). Elements outside group 0000 are flagged and skipped; an
/// element running past the end stops the walk, keeping what was read.
pub fn parse_command_set(b: &[u8]) -> CommandSet<'_> {
    let mut c = CommandSet::default();
    let mut at = 0usize;
    let mut group_end: Option<usize> = None;
    while at < b.len() {
        let (Some(group), Some(elem), Some(len)) = (le16(b, at), le16(b, at + 2), le32(b, at + 4))
        else {
            c.findings.add("command_malformed");
            break;
        };
        let start = at + 8;
        let Some(v) = usize::try_from(len)
            .ok()
            .and_then(|l| b.get(start..start.checked_add(l)?))
        else {
            c.findings.add("command_malformed");
            break;
        };
        at = start + v.len();
        if group != 0 {
            c.findings.add("command_bad_group");
            continue;
        }
        let us = |c: &mut CommandSet<'_>| -> Option<u16> {
            if v.len() == 2 {
                le16(v, 0)
            } else {
                c.findings.add("command_bad_vr");
                None
            }
        };
        match elem {
            tag::GROUP_LENGTH => {
                if v.len() == 4 {
                    c.group_length = le32(v, 0);
                    group_end = c
                        .group_length
                        .and_then(|g| usize::try_from(g).ok())
                        .and_then(|g| at.checked_add(g));
                } else {
                    c.findings.add("command_bad_vr");
                }
            }
            tag::AFFECTED_SOP_CLASS_UID => c.affected_sop_class_uid = Some(v),
            tag::REQUESTED_SOP_CLASS_UID => c.requested_sop_class_uid = Some(v),
            tag::COMMAND_FIELD => c.command_field = us(&mut c),
            tag::MESSAGE_ID => c.message_id = us(&mut c),
            tag::MESSAGE_ID_RESPONDED => c.message_id_responded = us(&mut c),
            tag::MOVE_DESTINATION => c.move_destination = Some(v),
            tag::PRIORITY => c.priority = us(&mut c),
            tag::DATA_SET_TYPE => c.data_set_type = us(&mut c),
            tag::STATUS => c.status = us(&mut c),
            tag::ERROR_COMMENT => c.error_comment = Some(v),
            tag::AFFECTED_SOP_INSTANCE_UID => c.affected_sop_instance_uid = Some(v),
            tag::REQUESTED_SOP_INSTANCE_UID => c.requested_sop_instance_uid = Some(v),
            tag::REMAINING => c.remaining = us(&mut c),
            tag::COMPLETED => c.completed = us(&mut c),
            tag::FAILED => c.failed = us(&mut c),
            tag::WARNING => c.warning = us(&mut c),
            tag::MOVE_ORIGINATOR_AE => c.move_originator_ae = Some(v),
            tag::MOVE_ORIGINATOR_MESSAGE_ID => c.move_originator_message_id = us(&mut c),
            _ => {}
        }
    }
    if let Some(end) = group_end {
        if end != b.len() {
            c.findings.add("command_group_length_mismatch");
        }
    }
    if c.command_field.is_none() {
        c.findings.add("command_field_missing");
    }
    c
}

/// DIMSE command names by Command Field (PS3.7 E.1-1); `UNKNOWN` otherwise.
pub fn command_name(field: u16) -> &'static str {
    match field {
        0x0001 => "C-STORE-RQ",
        0x8001 => "C-STORE-RSP",
        0x0010 => "C-GET-RQ",
        0x8010 => "C-GET-RSP",
        0x0020 => "C-FIND-RQ",
        0x8020 => "C-FIND-RSP",
        0x0021 => "C-MOVE-RQ",
        0x8021 => "C-MOVE-RSP",
        0x0030 => "C-ECHO-RQ",
        0x8030 => "C-ECHO-RSP",
        0x0100 => "N-EVENT-REPORT-RQ",
        0x8100 => "N-EVENT-REPORT-RSP",
        0x0110 => "N-GET-RQ",
        0x8110 => "N-GET-RSP",
        0x0120 => "N-SET-RQ",
        0x8120 => "N-SET-RSP",
        0x0130 => "N-ACTION-RQ",
        0x8130 => "N-ACTION-RSP",
        0x0140 => "N-CREATE-RQ",
        0x8140 => "N-CREATE-RSP",
        0x0150 => "N-DELETE-RQ",
        0x8150 => "N-DELETE-RSP",
        0x0FFF => "C-CANCEL-RQ",
        _ => "UNKNOWN",
    }
}

/// Whether a command field is a response (high bit set).
pub fn is_response(field: u16) -> bool {
    field & 0x8000 != 0
}

/// Status class (PS3.7 C.1 and annex C): `success`, `pending`, `cancel`, `warning`,
/// `failure`, or `unknown`.
pub fn status_class(status: u16) -> &'static str {
    match status {
        0x0000 => "success",
        0xFF00 | 0xFF01 => "pending",
        0xFE00 => "cancel",
        0x0001 | 0x0107 | 0x0116 | 0xB000..=0xBFFF => "warning",
        0xA000..=0xAFFF | 0xC000..=0xCFFF | 0x0100..=0x02FF => "failure",
        _ => "unknown",
    }
}

/// Presentation-context result names (PS3.8 9.3.3.2).
pub fn pc_result_name(r: u8) -> &'static str {
    match r {
        0 => "acceptance",
        1 => "user_rejection",
        2 => "no_reason",
        3 => "abstract_syntax_not_supported",
        4 => "transfer_syntaxes_not_supported",
        _ => "unknown",
    }
}

/// A-ASSOCIATE-RJ result, source and reason names (PS3.8 9.3.4).
pub fn reject_names(r: Reject) -> (&'static str, &'static str, &'static str) {
    let result = match r.result {
        1 => "rejected_permanent",
        2 => "rejected_transient",
        _ => "unknown",
    };
    let (source, reason) = match r.source {
        1 => (
            "service_user",
            match r.reason {
                1 => "no_reason_given",
                2 => "application_context_name_not_supported",
                3 => "calling_ae_title_not_recognized",
                7 => "called_ae_title_not_recognized",
                _ => "unknown",
            },
        ),
        2 => (
            "service_provider_acse",
            match r.reason {
                1 => "no_reason_given",
                2 => "protocol_version_not_supported",
                _ => "unknown",
            },
        ),
        3 => (
            "service_provider_presentation",
            match r.reason {
                1 => "temporary_congestion",
                2 => "local_limit_exceeded",
                _ => "unknown",
            },
        ),
        _ => ("unknown", "unknown"),
    };
    (result, source, reason)
}

/// A-ABORT source and reason names (PS3.8 9.3.8).
pub fn abort_names(a: Abort) -> (&'static str, &'static str) {
    match a.source {
        0 => ("service_user", "not_significant"),
        1 => ("reserved", "not_significant"),
        2 => (
            "service_provider",
            match a.reason {
                0 => "not_specified",
                1 => "unrecognized_pdu",
                2 => "unexpected_pdu",
                4 => "unrecognized_pdu_parameter",
                5 => "unexpected_pdu_parameter",
                6 => "invalid_pdu_parameter_value",
                _ => "unknown",
            },
        ),
        _ => ("unknown", "unknown"),
    }
}

/// User-identity type names (PS3.7 D.3.3.7.1).
pub fn user_identity_name(kind: u8) -> &'static str {
    match kind {
        1 => "username",
        2 => "username_passcode",
        3 => "kerberos",
        4 => "saml",
        5 => "jwt",
        _ => "unknown",
    }
}

/// Whether `b[at..]` starts a plausible PDU header, judged on up to `PLAUSIBLE_LOOKAHEAD`
/// bytes. `None`: not enough bytes to tell. Used to resynchronise and by the probe.
pub const PLAUSIBLE_LOOKAHEAD: usize = 26;

pub fn plausible_pdu_at(b: &[u8], max_pdu: u32) -> Option<bool> {
    let Some(h) = parse_pdu_header(b) else {
        return if b.first().map(|&t| (1..=7).contains(&t)).unwrap_or(true)
            && b.get(1).map(|&r| r == 0).unwrap_or(true)
        {
            None
        } else {
            Some(false)
        };
    };
    if h.reserved != 0 || !(1..=7).contains(&h.pdu_type) {
        return Some(false);
    }
    match h.pdu_type {
        PDU_ASSOCIATE_RQ | PDU_ASSOCIATE_AC => {
            if (h.length as usize) < ASSOCIATE_FIXED_LEN || h.length > max_pdu {
                return Some(false);
            }
            let v = be16(b, 6)?;
            let called = b.get(10..26)?;
            Some(v & 1 == 1 && ae_title_valid(called))
        }
        PDU_ASSOCIATE_RJ | PDU_RELEASE_RQ | PDU_RELEASE_RP | PDU_ABORT => {
            if h.length != 4 {
                return Some(false);
            }
            let body = b.get(6..10)?;
            Some(match h.pdu_type {
                PDU_RELEASE_RQ | PDU_RELEASE_RP => body == [0, 0, 0, 0],
                PDU_ABORT => body[0] == 0 && body[1] == 0 && body[2] <= 2,
                _ => body[0] == 0 && (1..=2).contains(&body[1]) && (1..=3).contains(&body[2]),
            })
        }
        _ => {
            // P-DATA-TF: the first PDV must fit, have an odd context id and a valid
            // control byte, and either fill the PDU or start a command set at (0000,0000).
            if h.length < 6 || h.length > max_pdu {
                return Some(false);
            }
            let p = parse_pdv_header(b.get(6..)?)?;
            if p.length < 2 || p.length > h.length - 4 || p.pc_id & 1 == 0 || p.control > 3 {
                return Some(false);
            }
            if p.length == h.length - 4 {
                return Some(true);
            }
            if p.is_command() {
                let c = b.get(12..20)?;
                return Some(c == [0, 0, 0, 0, 4, 0, 0, 0]);
            }
            Some(false)
        }
    }
}
