//! Per-flow DICOM state machine: frames PDUs per direction, buffers only association-control
//! PDUs (capped) and command sets (capped), streams P-DATA data sets through the
//! [`DatasetWalker`], pairs requests with responses, and writes one `command` record per
//! DIMSE message and one `association` record per association.

use super::dataset::{encoding_for, DatasetWalker, DeviceAttr, Encoding};
use super::event::{self, code, text, NAME};
use super::wire::{self, PduHeader};
use model::dicom::{DicomAssociation, DicomCommand, DicomDataset, DicomEvent};
use model::{Cx, Direction, EventKind, Probe, Progress, StreamAnalyzer, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// `[analyzers.dicom]`: limits and switches of the DICOM analyzer.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DicomConfig {
    /// Run the analyzer. Default true.
    pub enabled: bool,
    /// Largest plausible P-DATA-TF PDU length (bytes after the header). P-DATA is streamed,
    /// never buffered, so this is a sanity bound: a longer PDU is `pdu_too_large` and the
    /// analyzer resynchronises. Default 64 MiB.
    pub max_pdu_length: u32,
    /// Largest association-control PDU (A-ASSOCIATE-RQ/AC/RJ, release, abort) buffered
    /// whole; larger is `pdu_too_large`. Default 256 KiB.
    pub max_association_pdu_length: u32,
    /// Largest command set buffered for decoding; the rest is dropped and
    /// `command_too_large` raised. Default 64 KiB.
    pub max_command_length: u32,
    /// Presentation contexts, transfer syntaxes per context and role selections kept per
    /// PDU; more raises `too_many_items`. Default 256.
    pub max_items: u32,
    /// Outstanding requests remembered for pairing per association; more raises
    /// `too_many_pending`. Default 1024.
    pub max_pending_requests: u32,
    /// Longest string kept in an event (UIDs, AE titles, attribute values). Default 128.
    pub max_string_length: u32,
    /// Data-set bytes walked for attributes per message; the rest is skipped.
    /// Default 1 MiB.
    pub dataset_scan_bytes: u64,
    /// Write one `command` event per DIMSE message; when false only the association's
    /// counts are kept. Default true.
    pub command_events: bool,
}

impl Default for DicomConfig {
    fn default() -> Self {
        DicomConfig {
            enabled: true,
            max_pdu_length: 64 << 20,
            max_association_pdu_length: 256 << 10,
            max_command_length: 64 << 10,
            max_items: 256,
            max_pending_requests: 1024,
            max_string_length: 128,
            dataset_scan_bytes: 1 << 20,
            command_events: true,
        }
    }
}

/// Bytes the probe looks at before saying no to a flow that starts mid-stream.
pub const PROBE_WINDOW: usize = 4096;

/// Detection by content (PS3.8 9.3.2): an A-ASSOCIATE-RQ/AC at the start (type 0x01/0x02,
/// reserved 0, plausible length, version bit 0, printable non-blank AE titles), or, for a
/// flow joined mid-stream, a P-DATA-TF header followed by a command PDV that starts with
/// Command Group Length (0000,0000), anywhere in the first bytes.
pub fn probe_dicom(_dir: Direction, data: &[u8]) -> Probe {
    let Some(&first) = data.first() else {
        return Probe::NeedMore;
    };
    if first == wire::PDU_ASSOCIATE_RQ || first == wire::PDU_ASSOCIATE_AC {
        let max = DicomConfig::default().max_association_pdu_length;
        match wire::plausible_pdu_at(data, max) {
            Some(false) => {}
            None => return Probe::NeedMore,
            Some(true) => {
                // The calling AE title too (bytes 26..42).
                match data.get(26..42) {
                    None => return Probe::NeedMore,
                    Some(ae) if wire::ae_title_valid(ae) => return Probe::Match,
                    Some(_) => {}
                }
            }
        }
    }
    let window = data.get(..data.len().min(PROBE_WINDOW)).unwrap_or(&[]);
    if find_pdata_command(window).is_some() {
        return Probe::Match;
    }
    if data.len() < PROBE_WINDOW {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

/// Offset of a P-DATA-TF header whose first PDV is a command fragment starting with the
/// Command Group Length element: `04 00 LLLLLLLL llllllll pc ctl 00 00 00 00 04 00 00 00`.
fn find_pdata_command(b: &[u8]) -> Option<usize> {
    let mut i = 0usize;
    while let Some(off) = b.get(i..)?.iter().position(|&c| c == wire::PDU_P_DATA_TF) {
        let at = i + off;
        let s = b.get(at..)?;
        if s.len() < 20 {
            return None;
        }
        if s.get(6..)
            .and_then(wire::parse_pdv_header)
            .map(|p| p.is_command())
            .unwrap_or(false)
            && wire::plausible_pdu_at(s, DicomConfig::default().max_pdu_length) == Some(true)
            && s.get(12..20) == Some(&[0, 0, 0, 0, 4, 0, 0, 0][..])
        {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// Framing position of one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Expecting a PDU header.
    Header,
    /// Inside a P-DATA-TF PDU, expecting a PDV header; `pdu_left` bytes of the PDU remain.
    PData { pdu_left: u32 },
    /// Inside a PDV's fragment.
    Pdv {
        pdu_left: u32,
        left: u32,
        control: u8,
    },
    /// Skipping the rest of a PDU.
    Skip { left: u32 },
    /// Looking for the next plausible PDU header.
    Resync,
}

/// The data set being walked in one direction.
struct DsState {
    walker: DatasetWalker,
    ts_uid: Option<String>,
    bytes: u64,
}

/// Per-direction message assembly.
struct DirState {
    step: Step,
    cmd_buf: Vec<u8>,
    cmd_pc: u8,
    cmd_started: Option<Timestamp>,
    cmd_overflow: bool,
    /// A command whose data set is still arriving.
    held: Option<DicomCommand>,
    ds: Option<DsState>,
    resync_flagged: bool,
}

impl DirState {
    fn new() -> Self {
        DirState {
            step: Step::Header,
            cmd_buf: Vec::new(),
            cmd_pc: 0,
            cmd_started: None,
            cmd_overflow: false,
            held: None,
            ds: None,
            resync_flagged: false,
        }
    }
}

/// The association in progress.
#[derive(Default)]
struct Assoc {
    rec: DicomAssociation,
    active: bool,
    start: Option<Timestamp>,
    last: Timestamp,
    requestor: Option<Direction>,
    rq_seen: bool,
    established: bool,
    rejected: bool,
    aborted: bool,
    release_requested: bool,
    released: bool,
    /// Accepted presentation contexts and their transfer syntax.
    pcs: HashMap<u8, String>,
    /// Largest PDU the receiver announced, by direction of travel.
    max_len: [Option<u32>; 2],
    max_len_flagged: [bool; 2],
    pdata_flagged: bool,
    /// Outstanding requests: (direction of the request, message id) -> (time, command).
    pending: HashMap<(u8, u16), Timestamp>,
}

/// The DICOM analyzer of one flow.
pub struct DicomAnalyzer {
    cfg: DicomConfig,
    dirs: [DirState; 2],
    assoc: Assoc,
}

impl DicomAnalyzer {
    pub fn new(cfg: DicomConfig) -> Self {
        DicomAnalyzer {
            cfg,
            dirs: [DirState::new(), DirState::new()],
            assoc: Assoc::default(),
        }
    }

    /// Bytes this analyzer holds for the flow (command-set buffers), for memory checks.
    pub fn buffered_bytes(&self) -> usize {
        self.dirs.iter().map(|d| d.cmd_buf.capacity()).sum()
    }

    fn cap(&self) -> usize {
        self.cfg.max_string_length as usize
    }

    fn touch(&mut self, cx: &Cx<'_>) {
        self.assoc.active = true;
        if self.assoc.start.is_none() {
            self.assoc.start = Some(cx.ts);
        }
        self.assoc.last = cx.ts;
    }

    fn add_bytes(&mut self, dir: Direction, n: u64) {
        match dir {
            Direction::ToServer => self.assoc.rec.bytes_toserver += n,
            Direction::ToClient => self.assoc.rec.bytes_toclient += n,
        }
    }

    fn step(&mut self, dir: Direction) -> Step {
        self.dirs[dir.index()].step
    }

    fn set_step(&mut self, dir: Direction, s: Step) {
        self.dirs[dir.index()].step = s;
    }

    /// Handles one PDU header at the start of `rest`; returns bytes consumed, or the
    /// `Progress` to return.
    fn on_header(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        rest: &[u8],
    ) -> Result<usize, Progress> {
        let Some(h) = wire::parse_pdu_header(rest) else {
            return Err(Progress::NeedMore {
                consumed: 0,
                needed: wire::PDU_HEADER_LEN,
            });
        };
        if h.reserved != 0 || !(wire::PDU_ASSOCIATE_RQ..=wire::PDU_ABORT).contains(&h.pdu_type) {
            cx.anomaly(NAME, code::UNKNOWN_PDU_TYPE, Some(dir));
            self.dirs[dir.index()].resync_flagged = true;
            self.set_step(dir, Step::Resync);
            return Ok(1);
        }
        self.dirs[dir.index()].resync_flagged = false;
        if h.pdu_type == wire::PDU_P_DATA_TF {
            return Ok(self.on_pdata_header(cx, dir, h));
        }
        let min = if matches!(h.pdu_type, wire::PDU_ASSOCIATE_RQ | wire::PDU_ASSOCIATE_AC) {
            wire::ASSOCIATE_FIXED_LEN as u32
        } else {
            4
        };
        if h.length < min {
            cx.anomaly(NAME, code::PDU_TOO_SMALL, Some(dir));
            self.set_step(dir, Step::Skip { left: h.length });
            return Ok(wire::PDU_HEADER_LEN);
        }
        if h.length > self.cfg.max_association_pdu_length {
            cx.anomaly(NAME, code::PDU_TOO_LARGE, Some(dir));
            self.set_step(dir, Step::Resync);
            return Ok(wire::PDU_HEADER_LEN);
        }
        let total = wire::PDU_HEADER_LEN + h.length as usize;
        let Some(body) = rest.get(wire::PDU_HEADER_LEN..total) else {
            return Err(Progress::NeedMore {
                consumed: 0,
                needed: total,
            });
        };
        self.touch(cx);
        self.add_bytes(dir, total as u64);
        self.on_control(cx, dir, h.pdu_type, body);
        Ok(total)
    }

    fn on_pdata_header(&mut self, cx: &mut Cx<'_>, dir: Direction, h: PduHeader) -> usize {
        if h.length < wire::PDV_HEADER_LEN as u32 {
            cx.anomaly(NAME, code::PDU_TOO_SMALL, Some(dir));
            self.set_step(dir, Step::Skip { left: h.length });
            return wire::PDU_HEADER_LEN;
        }
        if h.length > self.cfg.max_pdu_length {
            cx.anomaly(NAME, code::PDU_TOO_LARGE, Some(dir));
            self.set_step(dir, Step::Resync);
            return wire::PDU_HEADER_LEN;
        }
        self.touch(cx);
        self.add_bytes(dir, wire::PDU_HEADER_LEN as u64 + u64::from(h.length));
        let i = dir.index();
        if let Some(m) = self.assoc.max_len[i] {
            if m != 0 && h.length > m && !self.assoc.max_len_flagged[i] {
                self.assoc.max_len_flagged[i] = true;
                cx.anomaly(NAME, code::PDU_EXCEEDS_NEGOTIATED_MAX, Some(dir));
            }
        }
        if !self.assoc.established && !self.assoc.pdata_flagged {
            self.assoc.pdata_flagged = true;
            cx.anomaly(NAME, code::PDATA_WITHOUT_ASSOCIATION, Some(dir));
        }
        self.set_step(dir, Step::PData { pdu_left: h.length });
        wire::PDU_HEADER_LEN
    }

    fn on_control(&mut self, cx: &mut Cx<'_>, dir: Direction, ty: u8, body: &[u8]) {
        match ty {
            wire::PDU_ASSOCIATE_RQ | wire::PDU_ASSOCIATE_AC => {
                self.on_associate(cx, dir, ty == wire::PDU_ASSOCIATE_RQ, body)
            }
            wire::PDU_ASSOCIATE_RJ => {
                if let Some(r) = wire::parse_reject(body) {
                    if !self.assoc.rq_seen || self.assoc.established {
                        cx.anomaly(NAME, code::UNEXPECTED_PDU, Some(dir));
                    }
                    self.assoc.rec.reject = Some(event::build_reject(r));
                    self.assoc.rejected = true;
                    self.end_association(cx);
                }
            }
            wire::PDU_RELEASE_RQ => {
                self.assoc.release_requested = true;
            }
            wire::PDU_RELEASE_RP => {
                if !self.assoc.release_requested {
                    cx.anomaly(NAME, code::UNEXPECTED_PDU, Some(dir));
                }
                self.assoc.released = true;
                self.end_association(cx);
            }
            _ => {
                if let Some(a) = wire::parse_abort(body) {
                    let requestor = self.assoc.requestor.unwrap_or(Direction::ToServer);
                    self.assoc.rec.abort = Some(event::build_abort(a, dir == requestor));
                    self.assoc.aborted = true;
                    self.end_association(cx);
                }
            }
        }
    }

    fn on_associate(&mut self, cx: &mut Cx<'_>, dir: Direction, is_rq: bool, body: &[u8]) {
        let Ok(a) = wire::parse_associate(body, is_rq, self.cfg.max_items as usize) else {
            cx.anomaly(NAME, code::PDU_TOO_SMALL, Some(dir));
            return;
        };
        for c in &a.findings.0 {
            cx.anomaly(NAME, c, Some(dir));
        }
        if a.protocol_version & 1 == 0 {
            cx.anomaly(NAME, code::BAD_PROTOCOL_VERSION, Some(dir));
        }
        if !wire::ae_title_valid(a.called_ae) || !wire::ae_title_valid(a.calling_ae) {
            cx.anomaly(NAME, code::AE_TITLE_INVALID, Some(dir));
        }
        let cap = self.cap();
        if is_rq {
            let prior = self.assoc.rq_seen || self.assoc.established;
            if prior || !self.assoc.rec.commands.is_empty() {
                // A new association on the same connection: close the previous record.
                if prior {
                    cx.anomaly(NAME, code::UNEXPECTED_PDU, Some(dir));
                }
                let pdu = wire::PDU_HEADER_LEN as u64 + body.len() as u64;
                // This PDU's bytes belong to the new association.
                let b = match dir {
                    Direction::ToServer => &mut self.assoc.rec.bytes_toserver,
                    Direction::ToClient => &mut self.assoc.rec.bytes_toclient,
                };
                *b = b.saturating_sub(pdu);
                self.end_association(cx);
                self.touch(cx);
                self.add_bytes(dir, pdu);
            }
            if let Some(u) = &a.user.user_identity {
                if u.kind == 1 || u.kind == 2 {
                    cx.anomaly(NAME, code::CLEARTEXT_CREDENTIALS, Some(dir));
                }
            }
            self.assoc.rq_seen = true;
            self.assoc.requestor = Some(dir);
            self.assoc.rec.calling_ae = Some(text(a.calling_ae, cap));
            self.assoc.rec.called_ae = Some(text(a.called_ae, cap));
            // PDUs travelling to the requestor must fit what it announced.
            self.assoc.max_len[dir.reverse().index()] = a.user.max_length;
            self.assoc.rec.request = Some(event::build_rq(&a, cap));
        } else {
            if self.assoc.established || self.assoc.rejected {
                cx.anomaly(NAME, code::UNEXPECTED_PDU, Some(dir));
            }
            if !self.assoc.rq_seen {
                self.assoc.rec.calling_ae = Some(text(a.calling_ae, cap));
                self.assoc.rec.called_ae = Some(text(a.called_ae, cap));
                self.assoc.requestor = Some(dir.reverse());
            }
            self.assoc.established = true;
            self.assoc.max_len[dir.reverse().index()] = a.user.max_length;
            let ac = event::build_ac(&a, cap);
            self.assoc.pcs.clear();
            for pc in &ac.presentation_contexts {
                if pc.result == 0 {
                    self.assoc
                        .pcs
                        .insert(pc.id, pc.transfer_syntax.clone().unwrap_or_default());
                }
            }
            self.assoc.rec.accept = Some(ac);
        }
    }

    /// Writes the association record (after any held commands) and starts afresh.
    fn end_association(&mut self, cx: &mut Cx<'_>) {
        for d in [Direction::ToServer, Direction::ToClient] {
            self.flush_dir(cx, d);
        }
        if !self.assoc.active {
            return;
        }
        let a = std::mem::take(&mut self.assoc);
        let mut rec = a.rec;
        rec.outcome = if a.rejected {
            "rejected"
        } else if a.established {
            "accepted"
        } else {
            "unknown"
        };
        rec.termination = if a.aborted {
            "abort"
        } else if a.released || a.release_requested {
            "release"
        } else {
            "none"
        };
        rec.midstream = !a.rq_seen;
        rec.duration_ms = a.last.millis_since(a.start.unwrap_or(a.last));
        cx.emit(EventKind::Dicom(DicomEvent::Association(Box::new(rec))));
    }

    /// Emits what one direction holds (a command waiting for its data set).
    fn flush_dir(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        let d = &mut self.dirs[dir.index()];
        d.cmd_buf.clear();
        d.cmd_overflow = false;
        d.cmd_started = None;
        if d.ds.is_some() || d.held.is_some() {
            self.finish_dataset(cx, dir, false);
        }
    }

    fn on_pdv_start(&mut self, cx: &mut Cx<'_>, dir: Direction, p: wire::PdvHeader) {
        let i = dir.index();
        let new_message = if p.is_command() {
            self.dirs[i].cmd_buf.is_empty() && !self.dirs[i].cmd_overflow
        } else {
            self.dirs[i].ds.is_none()
        };
        if new_message {
            if p.pc_id & 1 == 0 {
                cx.anomaly(NAME, code::PC_ID_EVEN, Some(dir));
            } else if self.assoc.established && !self.assoc.pcs.contains_key(&p.pc_id) {
                cx.anomaly(NAME, code::PC_ID_NOT_NEGOTIATED, Some(dir));
            }
        }
        if p.is_command() {
            if self.dirs[i].ds.is_some() || self.dirs[i].held.is_some() {
                cx.anomaly(NAME, code::DATASET_INTERRUPTED, Some(dir));
                self.finish_dataset(cx, dir, false);
            }
            if new_message {
                self.dirs[i].cmd_pc = p.pc_id;
                self.dirs[i].cmd_started = Some(cx.ts);
            }
        } else if self.dirs[i].ds.is_none() {
            let ts_uid = self.assoc.pcs.get(&p.pc_id).cloned();
            let enc = match (&self.dirs[i].held, &ts_uid) {
                (None, _) => {
                    if self.assoc.rq_seen {
                        cx.anomaly(NAME, code::DATASET_WITHOUT_COMMAND, Some(dir));
                    }
                    Encoding::NotParsed
                }
                (Some(_), Some(t)) => encoding_for(t),
                (Some(_), None) => Encoding::Guess,
            };
            let walker = DatasetWalker::new(enc, self.cfg.dataset_scan_bytes, self.cap());
            self.dirs[i].ds = Some(DsState {
                walker,
                ts_uid,
                bytes: 0,
            });
        }
    }

    fn on_pdv_bytes(&mut self, cx: &mut Cx<'_>, dir: Direction, control: u8, b: &[u8]) {
        let d = &mut self.dirs[dir.index()];
        if control & 1 != 0 {
            let room = (self.cfg.max_command_length as usize).saturating_sub(d.cmd_buf.len());
            if b.len() > room {
                if !d.cmd_overflow {
                    d.cmd_overflow = true;
                    cx.anomaly(NAME, code::COMMAND_TOO_LARGE, Some(dir));
                }
                d.cmd_buf.extend_from_slice(b.get(..room).unwrap_or(&[]));
            } else {
                d.cmd_buf.extend_from_slice(b);
            }
        } else if let Some(ds) = &mut d.ds {
            ds.bytes += b.len() as u64;
            if !ds.walker.done() {
                ds.walker.feed(b);
            }
        }
    }

    fn on_pdv_end(&mut self, cx: &mut Cx<'_>, dir: Direction, control: u8) {
        if control & 2 == 0 {
            return;
        }
        if control & 1 != 0 {
            self.finish_command(cx, dir);
        } else {
            self.finish_dataset(cx, dir, true);
        }
    }

    fn finish_command(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        let i = dir.index();
        let buf = std::mem::take(&mut self.dirs[i].cmd_buf);
        self.dirs[i].cmd_overflow = false;
        let started = self.dirs[i].cmd_started.take().unwrap_or(cx.ts);
        let pc_id = self.dirs[i].cmd_pc;
        let cs = wire::parse_command_set(&buf);
        for c in &cs.findings.0 {
            cx.anomaly(NAME, c, Some(dir));
        }
        let cap = self.cap();
        let t = |b: Option<&[u8]>| b.map(|v| text(v, cap));
        let field = cs.command_field.unwrap_or(0xFFFF);
        let name = if cs.command_field.is_some() {
            wire::command_name(field)
        } else {
            "UNKNOWN"
        };
        let mut cmd = DicomCommand {
            command: name,
            command_field: field,
            direction: dir.as_str(),
            pc_id,
            message_id: cs.message_id,
            message_id_responded: cs.message_id_responded,
            affected_sop_class_uid: t(cs.affected_sop_class_uid),
            requested_sop_class_uid: t(cs.requested_sop_class_uid),
            affected_sop_instance_uid: t(cs.affected_sop_instance_uid),
            requested_sop_instance_uid: t(cs.requested_sop_instance_uid),
            priority: cs.priority,
            has_dataset: cs.has_dataset(),
            status: cs.status,
            status_class: cs.status.map(wire::status_class),
            error_comment: t(cs.error_comment),
            move_destination: t(cs.move_destination),
            move_originator_ae: t(cs.move_originator_ae),
            move_originator_message_id: cs.move_originator_message_id,
            remaining_suboperations: cs.remaining,
            completed_suboperations: cs.completed,
            failed_suboperations: cs.failed,
            warning_suboperations: cs.warning,
            latency_ms: None,
            dataset: None,
        };
        *self.assoc.rec.commands.entry(name).or_insert(0) += 1;
        if cs.command_field.is_some() && wire::is_response(field) {
            let class = cmd.status_class.unwrap_or("unknown");
            *self.assoc.rec.status_classes.entry(class).or_insert(0) += 1;
            if let Some(id) = cs.message_id_responded {
                let key = (dir.reverse().index() as u8, id);
                match self.assoc.pending.get(&key) {
                    Some(&at) => {
                        cmd.latency_ms = Some(started.millis_since(at));
                        if class != "pending" {
                            self.assoc.pending.remove(&key);
                        }
                    }
                    None if self.assoc.rq_seen => {
                        cx.anomaly(NAME, code::UNMATCHED_RESPONSE, Some(dir))
                    }
                    None => {}
                }
            }
        } else if field != 0x0FFF {
            if let Some(id) = cs.message_id {
                let key = (i as u8, id);
                if self.assoc.pending.len() >= self.cfg.max_pending_requests as usize
                    && !self.assoc.pending.contains_key(&key)
                {
                    cx.anomaly(NAME, code::TOO_MANY_PENDING, Some(dir));
                } else {
                    self.assoc.pending.insert(key, started);
                }
            }
        }
        if cmd.has_dataset {
            self.dirs[i].held = Some(cmd);
        } else {
            self.emit_command(cx, cmd);
        }
    }

    fn finish_dataset(&mut self, cx: &mut Cx<'_>, dir: Direction, complete: bool) {
        let i = dir.index();
        let ds = self.dirs[i].ds.take();
        let held = self.dirs[i].held.take();
        let Some(mut cmd) = held else {
            return;
        };
        if let Some(ds) = ds {
            let enc = ds.walker.encoding();
            let s = ds.walker.into_summary();
            if s.malformed {
                cx.anomaly(NAME, code::DATASET_MALFORMED, Some(dir));
            }
            let get = |a: DeviceAttr| s.get(a).map(str::to_string);
            cmd.dataset = Some(DicomDataset {
                encoding: match enc {
                    Encoding::ImplicitLe => "implicit_vr_le",
                    Encoding::ExplicitLe => "explicit_vr_le",
                    _ => "not_parsed",
                },
                transfer_syntax: ds.ts_uid.filter(|t| !t.is_empty()),
                bytes: ds.bytes,
                complete,
                malformed: s.malformed,
                sop_class_uid: get(DeviceAttr::SopClassUid),
                modality: get(DeviceAttr::Modality),
                manufacturer: get(DeviceAttr::Manufacturer),
                model_name: get(DeviceAttr::ModelName),
                station_name: get(DeviceAttr::StationName),
                software_versions: get(DeviceAttr::SoftwareVersions),
                device_serial_number: get(DeviceAttr::DeviceSerialNumber),
                institution_name: get(DeviceAttr::InstitutionName),
                phi_present: s.phi_keywords(),
            });
        }
        self.emit_command(cx, cmd);
    }

    fn emit_command(&mut self, cx: &mut Cx<'_>, cmd: DicomCommand) {
        if self.cfg.command_events {
            cx.emit(EventKind::Dicom(DicomEvent::Command(Box::new(cmd))));
        }
    }

    /// Finds the next plausible PDU header in `rest`. `Ok(n)`: skip `n` bytes, then a header;
    /// `Err(p)`: return `p` (the tail is too short to judge, or nothing was found).
    fn resync(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        rest: &[u8],
    ) -> Result<usize, (usize, bool)> {
        let max = self
            .cfg
            .max_pdu_length
            .max(self.cfg.max_association_pdu_length);
        let mut at = 0usize;
        while at < rest.len() {
            let s = rest.get(at..).unwrap_or(&[]);
            match wire::plausible_pdu_at(s, max) {
                Some(true) => {
                    if at > 0 {
                        self.flag_resync(cx, dir);
                    }
                    return Ok(at);
                }
                Some(false) => at += 1,
                None => {
                    if at > 0 {
                        self.flag_resync(cx, dir);
                    }
                    return Err((at, true));
                }
            }
        }
        if at > 0 {
            self.flag_resync(cx, dir);
        }
        Err((at, false))
    }

    fn flag_resync(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        let d = &mut self.dirs[dir.index()];
        if !d.resync_flagged {
            d.resync_flagged = true;
            cx.anomaly(NAME, code::RESYNC, Some(dir));
        }
    }
}

impl StreamAnalyzer for DicomAnalyzer {
    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) -> Progress {
        let mut pos = 0usize;
        loop {
            let rest = data.get(pos..).unwrap_or(&[]);
            match self.step(dir) {
                Step::Resync => match self.resync(cx, dir, rest) {
                    Ok(n) => {
                        pos += n;
                        self.set_step(dir, Step::Header);
                    }
                    Err((n, true)) => {
                        return Progress::NeedMore {
                            consumed: pos + n,
                            needed: wire::PLAUSIBLE_LOOKAHEAD,
                        };
                    }
                    Err(_) => return Progress::Done,
                },
                Step::Header => {
                    if rest.is_empty() {
                        return Progress::Done;
                    }
                    match self.on_header(cx, dir, rest) {
                        Ok(n) => pos += n,
                        Err(Progress::NeedMore { needed, .. }) => {
                            return Progress::NeedMore {
                                consumed: pos,
                                needed,
                            }
                        }
                        Err(p) => return p,
                    }
                }
                Step::PData { pdu_left } => {
                    if pdu_left == 0 {
                        self.set_step(dir, Step::Header);
                        continue;
                    }
                    if pdu_left < wire::PDV_HEADER_LEN as u32 {
                        cx.anomaly(NAME, code::PDV_OVERRUN, Some(dir));
                        self.set_step(dir, Step::Skip { left: pdu_left });
                        continue;
                    }
                    let Some(p) = wire::parse_pdv_header(rest) else {
                        if rest.is_empty() {
                            return Progress::Done;
                        }
                        return Progress::NeedMore {
                            consumed: pos,
                            needed: wire::PDV_HEADER_LEN,
                        };
                    };
                    pos += wire::PDV_HEADER_LEN;
                    let after = pdu_left - wire::PDV_HEADER_LEN as u32;
                    if p.length < 2 {
                        cx.anomaly(NAME, code::PDV_TOO_SHORT, Some(dir));
                        self.set_step(dir, Step::Skip { left: after });
                        continue;
                    }
                    let mut len = p.length - 2;
                    if len > after {
                        cx.anomaly(NAME, code::PDV_OVERRUN, Some(dir));
                        len = after;
                    }
                    self.on_pdv_start(cx, dir, p);
                    self.set_step(
                        dir,
                        Step::Pdv {
                            pdu_left: after - len,
                            left: len,
                            control: p.control,
                        },
                    );
                }
                Step::Pdv {
                    pdu_left,
                    left,
                    control,
                } => {
                    if left == 0 {
                        self.set_step(dir, Step::PData { pdu_left });
                        self.on_pdv_end(cx, dir, control);
                        continue;
                    }
                    if rest.is_empty() {
                        return Progress::Done;
                    }
                    let n = (left as usize).min(rest.len());
                    self.on_pdv_bytes(cx, dir, control, rest.get(..n).unwrap_or(&[]));
                    pos += n;
                    self.set_step(
                        dir,
                        Step::Pdv {
                            pdu_left,
                            left: left - n as u32,
                            control,
                        },
                    );
                }
                Step::Skip { left } => {
                    if left == 0 {
                        self.set_step(dir, Step::Header);
                        continue;
                    }
                    if rest.is_empty() {
                        return Progress::Done;
                    }
                    let n = (left as usize).min(rest.len());
                    pos += n;
                    self.set_step(
                        dir,
                        Step::Skip {
                            left: left - n as u32,
                        },
                    );
                }
            }
        }
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, _len: u64) {
        self.flush_dir(cx, dir);
        let d = &mut self.dirs[dir.index()];
        d.step = Step::Resync;
        d.resync_flagged = false;
    }

    fn on_eof(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        // A message cut by the end of its direction is written as it stands.
        let d = &self.dirs[dir.index()];
        if d.held.is_some() || d.ds.is_some() {
            self.finish_dataset(cx, dir, false);
        }
    }

    fn on_close(&mut self, cx: &mut Cx<'_>) {
        self.end_association(cx);
    }
}
