//! Unit tests of the DICOM analyzer: exact bytes, every truncation, incremental feeding,
//! arbitrary bytes, bad input, and a 2 GB C-STORE streamed through without buffering.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use super::dataset::{DatasetWalker, Encoding};
use super::wire::{self, *};
use super::*;
use model::dicom::{DicomAssociation, DicomCommand, DicomEvent};
use model::{
    AnomalyCounts, Cx, Direction, Event, EventKind, FlowMeta, IpProto, Probe, Progress,
    StreamAnalyzer, Timestamp,
};
use proptest::prelude::*;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

// ---------------------------------------------------------------- builders

fn ae(s: &str) -> [u8; 16] {
    let mut a = [b' '; 16];
    a[..s.len()].copy_from_slice(s.as_bytes());
    a
}

fn item(ty: u8, v: &[u8]) -> Vec<u8> {
    let mut b = vec![ty, 0];
    b.extend_from_slice(&(v.len() as u16).to_be_bytes());
    b.extend_from_slice(v);
    b
}

fn pdu(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![ty, 0];
    b.extend_from_slice(&(body.len() as u32).to_be_bytes());
    b.extend_from_slice(body);
    b
}

fn pc_rq(id: u8, abs: &str, ts: &[&str]) -> Vec<u8> {
    let mut v = vec![id, 0, 0, 0];
    v.extend(item(0x30, abs.as_bytes()));
    for t in ts {
        v.extend(item(0x40, t.as_bytes()));
    }
    item(0x20, &v)
}

fn pc_ac(id: u8, result: u8, ts: &str) -> Vec<u8> {
    let mut v = vec![id, 0, result, 0];
    v.extend(item(0x40, ts.as_bytes()));
    item(0x21, &v)
}

fn user_info(max: u32, uid: &str, ver: &str, extra: &[Vec<u8>]) -> Vec<u8> {
    let mut v = item(0x51, &max.to_be_bytes());
    v.extend(item(0x52, uid.as_bytes()));
    v.extend(item(0x55, ver.as_bytes()));
    for e in extra {
        v.extend_from_slice(e);
    }
    item(0x50, &v)
}

const APP_CTX: &str = "1.2.840.10008.3.1.1.1";
const VERIFICATION: &str = "1.2.840.10008.1.1";
const CT_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
const FIND_STUDY: &str = "1.2.840.10008.5.1.4.1.2.2.1";
const MOVE_STUDY: &str = "1.2.840.10008.5.1.4.1.2.2.2";
const IMPLICIT: &str = "1.2.840.10008.1.2";
const EXPLICIT: &str = "1.2.840.10008.1.2.1";

fn associate(ty: u8, called: &str, calling: &str, items: &[Vec<u8>]) -> Vec<u8> {
    let mut body = vec![0, 1, 0, 0];
    body.extend_from_slice(&ae(called));
    body.extend_from_slice(&ae(calling));
    body.extend_from_slice(&[0; 32]);
    body.extend(item(0x10, APP_CTX.as_bytes()));
    for i in items {
        body.extend_from_slice(i);
    }
    pdu(ty, &body)
}

fn std_rq() -> Vec<u8> {
    associate(
        1,
        "PACS",
        "CT01",
        &[
            pc_rq(1, VERIFICATION, &[IMPLICIT]),
            pc_rq(3, CT_STORAGE, &[EXPLICIT, IMPLICIT]),
            pc_rq(5, FIND_STUDY, &[IMPLICIT]),
            pc_rq(7, MOVE_STUDY, &[IMPLICIT]),
            user_info(16384, "1.2.276.0.7230010.3.0.3.6.7", "OFFIS_DCMTK_367", &[]),
        ],
    )
}

fn std_ac() -> Vec<u8> {
    std_ac_max(32768)
}

fn std_ac_max(max: u32) -> Vec<u8> {
    associate(
        2,
        "PACS",
        "CT01",
        &[
            pc_ac(1, 0, IMPLICIT),
            pc_ac(3, 0, EXPLICIT),
            pc_ac(5, 0, IMPLICIT),
            pc_ac(7, 0, IMPLICIT),
            user_info(max, "1.2.3.4", "PACS_1", &[]),
        ],
    )
}

/// An implicit VR LE element.
fn el(group: u16, elem: u16, v: &[u8]) -> Vec<u8> {
    let mut b = group.to_le_bytes().to_vec();
    b.extend_from_slice(&elem.to_le_bytes());
    b.extend_from_slice(&(v.len() as u32).to_le_bytes());
    b.extend_from_slice(v);
    b
}

/// An explicit VR LE element.
fn xel(group: u16, elem: u16, vr: &[u8; 2], v: &[u8]) -> Vec<u8> {
    let mut b = group.to_le_bytes().to_vec();
    b.extend_from_slice(&elem.to_le_bytes());
    b.extend_from_slice(vr);
    if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN" | b"UT") {
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&(v.len() as u32).to_le_bytes());
    } else {
        b.extend_from_slice(&(v.len() as u16).to_le_bytes());
    }
    b.extend_from_slice(v);
    b
}

fn us(v: u16) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn ui(s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    if b.len() % 2 == 1 {
        b.push(0);
    }
    b
}

fn st(s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    if b.len() % 2 == 1 {
        b.push(b' ');
    }
    b
}

/// A command set with a correct group length (0000,0000) in front.
fn command(elements: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = elements.concat();
    let mut b = el(0, 0, &(body.len() as u32).to_le_bytes());
    b.extend(body);
    b
}

fn pdv(pc: u8, control: u8, data: &[u8]) -> Vec<u8> {
    let mut b = ((data.len() + 2) as u32).to_be_bytes().to_vec();
    b.push(pc);
    b.push(control);
    b.extend_from_slice(data);
    b
}

fn pdata(pdvs: &[Vec<u8>]) -> Vec<u8> {
    pdu(4, &pdvs.concat())
}

fn echo_rq(id: u16) -> Vec<u8> {
    command(&[
        el(0, 0x0002, &ui(VERIFICATION)),
        el(0, 0x0100, &us(0x0030)),
        el(0, 0x0110, &us(id)),
        el(0, 0x0800, &us(0x0101)),
    ])
}

fn echo_rsp(id: u16, status: u16) -> Vec<u8> {
    command(&[
        el(0, 0x0002, &ui(VERIFICATION)),
        el(0, 0x0100, &us(0x8030)),
        el(0, 0x0120, &us(id)),
        el(0, 0x0800, &us(0x0101)),
        el(0, 0x0900, &us(status)),
    ])
}

fn store_rq(id: u16, iuid: &str) -> Vec<u8> {
    command(&[
        el(0, 0x0002, &ui(CT_STORAGE)),
        el(0, 0x0100, &us(0x0001)),
        el(0, 0x0110, &us(id)),
        el(0, 0x0700, &us(0)),
        el(0, 0x0800, &us(0x0000)),
        el(0, 0x1000, &ui(iuid)),
    ])
}

fn store_rsp(id: u16, iuid: &str, status: u16) -> Vec<u8> {
    command(&[
        el(0, 0x0002, &ui(CT_STORAGE)),
        el(0, 0x0100, &us(0x8001)),
        el(0, 0x0120, &us(id)),
        el(0, 0x0800, &us(0x0101)),
        el(0, 0x0900, &us(status)),
        el(0, 0x1000, &ui(iuid)),
    ])
}

/// An explicit VR LE CT data set header with device and PHI attributes, then pixel data of
/// `pixels` bytes (the pixel bytes themselves are not included).
fn ct_dataset_head(pixels: u32) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend(xel(0x0008, 0x0016, b"UI", &ui(CT_STORAGE)));
    d.extend(xel(0x0008, 0x0018, b"UI", &ui("1.2.3.4.5.6")));
    d.extend(xel(0x0008, 0x0020, b"DA", b"20250303"));
    d.extend(xel(0x0008, 0x0060, b"CS", b"CT"));
    d.extend(xel(0x0008, 0x0070, b"LO", &st("GE MEDICAL SYSTEMS")));
    d.extend(xel(0x0008, 0x0080, b"LO", &st("General Hospital")));
    d.extend(xel(0x0008, 0x0090, b"PN", &st("Doe^Referrer")));
    d.extend(xel(0x0008, 0x1010, b"SH", &st("CTSTATION1")));
    d.extend(xel(0x0008, 0x1030, b"LO", &st("CT HEAD")));
    d.extend(xel(0x0008, 0x1090, b"LO", &st("BrightSpeed")));
    d.extend(xel(0x0010, 0x0010, b"PN", &st("Doe^Jane")));
    d.extend(xel(0x0010, 0x0020, b"LO", &st("PID0001")));
    d.extend(xel(0x0010, 0x0030, b"DA", b"19700101"));
    d.extend(xel(0x0018, 0x1000, b"LO", &st("SN-123")));
    d.extend(xel(0x0018, 0x1020, b"LO", &st("07MW18.4")));
    let mut px = 0x7FE0u16.to_le_bytes().to_vec();
    px.extend_from_slice(&0x0010u16.to_le_bytes());
    px.extend_from_slice(b"OW\0\0");
    px.extend_from_slice(&pixels.to_le_bytes());
    d.extend(px);
    d
}

fn ct_dataset(pixels: u32) -> Vec<u8> {
    let mut d = ct_dataset_head(pixels);
    d.extend((0..pixels).map(|i| i as u8));
    d
}

/// A whole association: echo, one C-STORE (data set split over 3 PDUs), release.
fn conversation() -> Vec<(Direction, Vec<u8>)> {
    let ds = ct_dataset(3000);
    let (a, rest) = ds.split_at(1000);
    let (b, c) = rest.split_at(1000);
    vec![
        (C2S, std_rq()),
        (S2C, std_ac()),
        (C2S, pdata(&[pdv(1, 3, &echo_rq(1))])),
        (S2C, pdata(&[pdv(1, 3, &echo_rsp(1, 0))])),
        (
            C2S,
            pdata(&[pdv(3, 3, &store_rq(2, "1.2.3.4.5.6")), pdv(3, 0, a)]),
        ),
        (C2S, pdata(&[pdv(3, 0, b)])),
        (C2S, pdata(&[pdv(3, 2, c)])),
        (S2C, pdata(&[pdv(3, 3, &store_rsp(2, "1.2.3.4.5.6", 0))])),
        (C2S, pdu(5, &[0, 0, 0, 0])),
        (S2C, pdu(6, &[0, 0, 0, 0])),
    ]
}

// ---------------------------------------------------------------- harness

fn meta() -> FlowMeta {
    crate::testutil::flow_meta(
        IpProto::TCP,
        ("127.0.0.1", 40000),
        ("127.0.0.2", 4242),
        "lo",
        "dicom",
    )
}

/// Emulates the pipeline: per-direction buffers honouring `NeedMore`, chunk timestamps
/// 1 ms apart, `on_close` at the end.
struct Harness {
    a: DicomAnalyzer,
    meta: FlowMeta,
    events: Vec<Event>,
    counts: AnomalyCounts,
    budget: u32,
    buf: [Vec<u8>; 2],
    needed: [usize; 2],
    ts: i64,
    /// Largest number of bytes the pipeline had to hold for this analyzer.
    pub max_held: usize,
}

impl Harness {
    fn new(cfg: DicomConfig) -> Self {
        Harness {
            a: DicomAnalyzer::new(cfg),
            meta: meta(),
            events: Vec::new(),
            counts: AnomalyCounts::default(),
            budget: 1000,
            buf: [Vec::new(), Vec::new()],
            needed: [0, 0],
            ts: 1_740_988_800_000_000,
            max_held: 0,
        }
    }

    fn feed(&mut self, dir: Direction, bytes: &[u8]) {
        self.ts += 1000;
        let i = dir.index();
        self.buf[i].extend_from_slice(bytes);
        self.max_held = self.max_held.max(self.buf[i].len());
        loop {
            if self.buf[i].is_empty() || self.buf[i].len() < self.needed[i] {
                return;
            }
            let mut cx = Cx::new(
                Timestamp(self.ts),
                &self.meta,
                &mut self.events,
                &mut self.counts,
                &mut self.budget,
            );
            let len = self.buf[i].len();
            match self.a.on_data(&mut cx, dir, &self.buf[i]) {
                Progress::Done => {
                    self.buf[i].clear();
                    self.needed[i] = 0;
                    return;
                }
                Progress::NeedMore { consumed, needed } => {
                    assert!(consumed <= len, "consumed {consumed} > {len}");
                    assert!(needed > 0 && needed <= 1 << 20, "needed {needed}");
                    self.buf[i].drain(..consumed);
                    assert!(
                        consumed > 0 || needed > self.buf[i].len(),
                        "NeedMore with nothing consumed and enough bytes ({needed} <= {})",
                        self.buf[i].len()
                    );
                    self.needed[i] = needed;
                    if needed > self.buf[i].len() {
                        return;
                    }
                }
                Progress::Abandon(r) => panic!("abandoned: {r}"),
            }
        }
    }

    fn close(&mut self) {
        let mut cx = Cx::new(
            Timestamp(self.ts),
            &self.meta,
            &mut self.events,
            &mut self.counts,
            &mut self.budget,
        );
        self.a.on_eof(&mut cx, C2S);
        self.a.on_eof(&mut cx, S2C);
        self.a.on_close(&mut cx);
    }

    fn gap(&mut self, dir: Direction) {
        self.buf[dir.index()].clear();
        self.needed[dir.index()] = 0;
        let mut cx = Cx::new(
            Timestamp(self.ts),
            &self.meta,
            &mut self.events,
            &mut self.counts,
            &mut self.budget,
        );
        self.a.on_gap(&mut cx, dir, 100);
    }

    fn commands(&self) -> Vec<&DicomCommand> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Dicom(DicomEvent::Command(c)) => Some(&**c),
                _ => None,
            })
            .collect()
    }

    fn associations(&self) -> Vec<&DicomAssociation> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Dicom(DicomEvent::Association(a)) => Some(&**a),
                _ => None,
            })
            .collect()
    }

    fn anomalies(&self) -> Vec<&'static str> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Anomaly(a) => Some(a.event),
                _ => None,
            })
            .collect()
    }

    /// The events as EVE lines without timestamps (for equivalence checks).
    fn eve(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| {
                let mut v = e.to_eve_value("t");
                v.as_object_mut().unwrap().remove("timestamp");
                if let Some(d) = v.get_mut("dicom").and_then(|d| d.as_object_mut()) {
                    d.remove("latency_ms");
                    d.remove("duration_ms");
                }
                v.to_string()
            })
            .collect()
    }
}

fn run(chunks: &[(Direction, Vec<u8>)]) -> Harness {
    let mut h = Harness::new(DicomConfig::default());
    for (d, b) in chunks {
        h.feed(*d, b);
    }
    h.close();
    h
}

// ---------------------------------------------------------------- wire

#[test]
fn pdu_header_parses_exact_bytes() {
    // A PDU header is type, reserved, 4-byte big-endian length.
    let b = [
        0x04, // P-DATA-TF
        0x00, // reserved
        0x00, 0x01, 0x02, 0x03, // length 0x00010203
        0xff, // next byte, not part of the header
    ];
    assert_eq!(
        parse_pdu_header(&b),
        Some(PduHeader {
            pdu_type: 4,
            reserved: 0,
            length: 0x10203
        })
    );
    assert_eq!(parse_pdu_header(&b[..5]), None);
}

#[test]
fn pdv_header_parses_flags() {
    // A PDV header is length (4), context id, control byte (bit 0 command, bit 1 last).
    let b = [
        0x00, 0x00, 0x00, 0x4a, // item length 74
        0x03, // presentation context id 3
        0x03, // command, last fragment
    ];
    let p = parse_pdv_header(&b).unwrap();
    assert_eq!((p.length, p.pc_id), (74, 3));
    assert!(p.is_command() && p.is_last());
    let p = parse_pdv_header(&[0, 0, 0, 2, 1, 0]).unwrap();
    assert!(!p.is_command() && !p.is_last());
}

#[test]
fn associate_rq_parses_every_item() {
    // A hand-built A-ASSOCIATE-RQ with all user-information sub-items decodes exactly.
    let role = {
        let mut v = (CT_STORAGE.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(CT_STORAGE.as_bytes());
        v.extend_from_slice(&[1, 0]); // SCU role 1, SCP role 0
        item(0x54, &v)
    };
    let ident = {
        let mut v = vec![2, 1]; // type 2 (user + passcode), positive response requested
        v.extend_from_slice(&4u16.to_be_bytes());
        v.extend_from_slice(b"user");
        v.extend_from_slice(&6u16.to_be_bytes());
        v.extend_from_slice(b"secret");
        item(0x58, &v)
    };
    let extras = vec![
        item(0x53, &[0, 5, 0, 1]),
        role,
        item(0x56, &[0, 2, b'1', b'2', 1]),
        item(0x57, &[0; 6]),
        ident,
        item(0x77, b"x"),
    ];
    let p = associate(
        1,
        "PACS",
        "CT01",
        &[
            pc_rq(1, VERIFICATION, &[IMPLICIT, EXPLICIT]),
            user_info(16384, "1.2.3", "V1", &extras),
            item(0x99, b"zz"),
        ],
    );
    let h = parse_pdu_header(&p).unwrap();
    assert_eq!(h.length as usize, p.len() - 6);
    let a = parse_associate(&p[6..], true, 256).unwrap();
    assert_eq!(a.protocol_version, 1);
    assert_eq!(a.called_ae, &ae("PACS"));
    assert_eq!(a.calling_ae, &ae("CT01"));
    assert_eq!(a.application_context, Some(APP_CTX.as_bytes()));
    assert_eq!(a.pcs_rq.len(), 1);
    assert_eq!(a.pcs_rq[0].id, 1);
    assert_eq!(a.pcs_rq[0].abstract_syntax, Some(VERIFICATION.as_bytes()));
    assert_eq!(
        a.pcs_rq[0].transfer_syntaxes,
        vec![IMPLICIT.as_bytes(), EXPLICIT.as_bytes()]
    );
    assert_eq!(a.user.max_length, Some(16384));
    assert_eq!(a.user.implementation_class_uid, Some(&b"1.2.3"[..]));
    assert_eq!(a.user.implementation_version_name, Some(&b"V1"[..]));
    assert_eq!(a.user.async_ops, Some((5, 1)));
    assert_eq!(
        a.user.roles,
        vec![RoleSelection {
            sop_class_uid: CT_STORAGE.as_bytes(),
            scu: 1,
            scp: 0
        }]
    );
    assert!(a.user.extended && a.user.common_extended);
    assert_eq!(
        a.user.user_identity,
        Some(UserIdentity {
            kind: 2,
            response_requested: true,
            primary_len: 4,
            secondary_len: 6
        })
    );
    assert_eq!(
        a.unknown_items, 2,
        "one unknown item and one unknown sub-item"
    );
    assert!(a.findings.0.is_empty(), "{:?}", a.findings);
}

#[test]
fn associate_item_overrun_is_flagged() {
    // An item whose length runs past the PDU is item_overrun; what came before is kept.
    let mut p = associate(1, "PACS", "CT01", &[pc_rq(1, VERIFICATION, &[IMPLICIT])]);
    p.extend_from_slice(&[0x50, 0, 0x10, 0x00, 0x51]); // user info claiming 4096 bytes
    let a = parse_associate(&p[6..], true, 256).unwrap();
    assert_eq!(a.pcs_rq.len(), 1);
    assert_eq!(a.findings.0, vec!["item_overrun"]);
    assert_eq!(
        parse_associate(&p[6..60], true, 256),
        Err(WireError::TooShort)
    );
}

#[test]
fn associate_caps_presentation_contexts() {
    // More contexts than max_items are cut and flagged too_many_items.
    let pcs: Vec<Vec<u8>> = (0..10)
        .map(|i| pc_rq(2 * i + 1, VERIFICATION, &[IMPLICIT]))
        .collect();
    let p = associate(1, "PACS", "CT01", &pcs);
    let a = parse_associate(&p[6..], true, 4).unwrap();
    assert_eq!(a.pcs_rq.len(), 4);
    assert!(a.capped);
    assert!(a.findings.0.contains(&"too_many_items"));
}

#[test]
fn reject_and_abort_parse_exact_bytes() {
    // A-ASSOCIATE-RJ and A-ABORT bodies are 4 bytes with result/source/reason at fixed places.
    let rj = [
        0x00, // reserved
        0x01, // result: rejected-permanent
        0x01, // source: service user
        0x07, // reason: called AE title not recognized
    ];
    let r = parse_reject(&rj).unwrap();
    assert_eq!(
        reject_names(r),
        (
            "rejected_permanent",
            "service_user",
            "called_ae_title_not_recognized"
        )
    );
    let ab = [
        0x00, 0x00, // reserved
        0x02, // source: service provider
        0x02, // reason: unexpected PDU
    ];
    let a = parse_abort(&ab).unwrap();
    assert_eq!(abort_names(a), ("service_provider", "unexpected_pdu"));
    assert_eq!(parse_abort(&ab[..3]), None);
}

#[test]
fn command_set_decodes_c_store_rq() {
    // A C-STORE-RQ command set: every element lands in its field, no findings.
    let b = store_rq(7, "1.2.3.4.5.6");
    let c = parse_command_set(&b);
    assert_eq!(c.command_field, Some(0x0001));
    assert_eq!(command_name(0x0001), "C-STORE-RQ");
    assert_eq!(c.message_id, Some(7));
    assert_eq!(c.affected_sop_class_uid, Some(&ui(CT_STORAGE)[..]));
    assert_eq!(c.affected_sop_instance_uid, Some(&ui("1.2.3.4.5.6")[..]));
    assert_eq!(c.priority, Some(0));
    assert!(c.has_dataset());
    assert_eq!(c.group_length, Some((b.len() - 12) as u32));
    assert!(c.findings.0.is_empty(), "{:?}", c.findings);
}

#[test]
fn command_set_exact_bytes_c_echo_rq() {
    // A C-ECHO-RQ command set written out byte by byte.
    let b = [
        0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00,
        0x00, // (0000,0000) UL 4: 56
        0x00, 0x00, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00, // (0000,0002) UI 18:
        b'1', b'.', b'2', b'.', b'8', b'4', b'0', b'.', b'1', b'0', b'0', b'0', b'8', b'.', b'1',
        b'.', b'1', 0x00, //   "1.2.840.10008.1.1\0"
        0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x30,
        0x00, // (0000,0100) US 2: 0x0030 C-ECHO-RQ
        0x00, 0x00, 0x10, 0x01, 0x02, 0x00, 0x00, 0x00, 0x01,
        0x00, // (0000,0110) US 2: message id 1
        0x00, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x00, 0x01,
        0x01, // (0000,0800) US 2: 0x0101 no data set
    ];
    let c = parse_command_set(&b);
    assert_eq!(c.command_field, Some(0x0030));
    assert_eq!(c.message_id, Some(1));
    assert!(!c.has_dataset());
    assert!(c.findings.0.is_empty(), "{:?}", c.findings);
    assert_eq!(b.to_vec(), echo_rq(1));
}

#[test]
fn command_set_wrong_group_length_and_vr() {
    // A lying group length and a 4-byte US value are both named findings.
    let mut b = echo_rq(1);
    b[8] = 0x30;
    let c = parse_command_set(&b);
    assert!(c.findings.0.contains(&"command_group_length_mismatch"));
    let b = command(&[el(0, 0x0100, &[0x30, 0, 0, 0])]);
    let c = parse_command_set(&b);
    assert!(c.findings.0.contains(&"command_bad_vr"));
    assert!(c.findings.0.contains(&"command_field_missing"));
    let b = command(&[el(8, 0x0016, b"12"), el(0, 0x0100, &us(0x30))]);
    assert!(parse_command_set(&b)
        .findings
        .0
        .contains(&"command_bad_group"));
    let mut b = echo_rq(1);
    b.truncate(b.len() - 1);
    assert!(parse_command_set(&b)
        .findings
        .0
        .contains(&"command_malformed"));
}

#[test]
fn status_classes_follow_ps3_7_annex_c() {
    // Status codes map to their class.
    assert_eq!(status_class(0x0000), "success");
    assert_eq!(status_class(0xFF00), "pending");
    assert_eq!(status_class(0xFF01), "pending");
    assert_eq!(status_class(0xFE00), "cancel");
    assert_eq!(status_class(0xB000), "warning");
    assert_eq!(status_class(0x0107), "warning");
    assert_eq!(status_class(0xA700), "failure");
    assert_eq!(status_class(0xC000), "failure");
    assert_eq!(status_class(0x0110), "failure");
    assert_eq!(status_class(0x1234), "unknown");
    for (f, n) in [
        (0x0FFF, "C-CANCEL-RQ"),
        (0x8021, "C-MOVE-RSP"),
        (0x0150, "N-DELETE-RQ"),
        (0x8100, "N-EVENT-REPORT-RSP"),
        (0x7777, "UNKNOWN"),
    ] {
        assert_eq!(command_name(f), n);
    }
}

// ---------------------------------------------------------------- data-set walker

fn walk_all(enc: Encoding, d: &[u8]) -> DatasetWalker {
    let mut w = DatasetWalker::new(enc, 1 << 20, 64);
    w.feed(d);
    w
}

#[test]
fn dataset_explicit_keeps_device_attrs_and_lists_phi() {
    // Device attributes are kept with values; PHI only as keywords; pixel data ends the walk.
    let w = walk_all(Encoding::ExplicitLe, &ct_dataset(100));
    let s = w.summary();
    use super::dataset::DeviceAttr::*;
    assert_eq!(s.get(Modality), Some("CT"));
    assert_eq!(s.get(Manufacturer), Some("GE MEDICAL SYSTEMS"));
    assert_eq!(s.get(ModelName), Some("BrightSpeed"));
    assert_eq!(s.get(StationName), Some("CTSTATION1"));
    assert_eq!(s.get(SoftwareVersions), Some("07MW18.4"));
    assert_eq!(s.get(DeviceSerialNumber), Some("SN-123"));
    assert_eq!(s.get(InstitutionName), Some("General Hospital"));
    assert_eq!(s.get(SopClassUid), Some(CT_STORAGE));
    assert_eq!(
        s.phi_keywords(),
        vec![
            "StudyDate",
            "ReferringPhysicianName",
            "StudyDescription",
            "PatientName",
            "PatientID",
            "PatientBirthDate"
        ]
    );
    assert!(w.done(), "pixel data ends the walk");
    assert!(!s.malformed);
    let dbg = format!("{s:?}");
    assert!(
        !dbg.contains("Doe") && !dbg.contains("PID0001") && !dbg.contains("CT HEAD"),
        "PHI value kept: {dbg}"
    );
}

#[test]
fn dataset_implicit_and_guess_agree() {
    // The same attributes in implicit VR are found with the transfer syntax known or guessed.
    let d = [
        el(0x0008, 0x0016, &ui(CT_STORAGE)),
        el(0x0008, 0x0060, b"MR"),
        el(0x0010, 0x0010, &st("Doe^John")),
        el(0x0010, 0x9999, b"xx"),
        el(0x0018, 0x1000, &st("SER9")),
    ]
    .concat();
    for enc in [Encoding::ImplicitLe, Encoding::Guess] {
        let w = walk_all(enc, &d);
        assert_eq!(w.encoding(), Encoding::ImplicitLe);
        assert_eq!(
            w.summary().get(super::dataset::DeviceAttr::Modality),
            Some("MR")
        );
        assert_eq!(
            w.summary()
                .get(super::dataset::DeviceAttr::DeviceSerialNumber),
            Some("SER9")
        );
        assert_eq!(
            w.summary().phi_keywords(),
            vec!["PatientName", "OtherPatientAttribute"]
        );
    }
    let w = walk_all(Encoding::Guess, &ct_dataset(10));
    assert_eq!(w.encoding(), Encoding::ExplicitLe);
    assert_eq!(
        w.summary().get(super::dataset::DeviceAttr::Modality),
        Some("CT")
    );
}

#[test]
fn dataset_sequences_are_entered_for_phi() {
    // PHI inside an undefined-length sequence item is listed; device attrs there are not.
    let mut d = xel(0x0008, 0x0060, b"CS", b"US");
    d.extend_from_slice(&[
        0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xff, 0xff, 0xff, 0xff,
    ]); // (0008,1115) SQ undefined
    d.extend_from_slice(&[0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]); // item, undefined
    d.extend(xel(0x0008, 0x0070, b"LO", &st("NESTED")));
    d.extend(xel(0x0040, 0xA123, b"PN", &st("Doe^X")));
    d.extend(xel(0x0070, 0x0084, b"PN", &st("Doe^Y")));
    d.extend_from_slice(&[0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]); // item delimiter
    d.extend_from_slice(&[0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]); // sequence delimiter
    d.extend(xel(0x0008, 0x0070, b"LO", &st("TOP")));
    let w = walk_all(Encoding::ExplicitLe, &d);
    let s = w.summary();
    assert_eq!(s.get(super::dataset::DeviceAttr::Manufacturer), Some("TOP"));
    assert_eq!(s.phi_keywords(), vec!["PersonName", "OtherPersonName"]);
}

#[test]
fn dataset_walker_byte_at_a_time_equals_one_shot() {
    // Element headers and values split anywhere give the same summary.
    let d = ct_dataset(50);
    let one = walk_all(Encoding::Guess, &d).into_summary();
    let mut w = DatasetWalker::new(Encoding::Guess, 1 << 20, 64);
    for b in &d {
        w.feed(std::slice::from_ref(b));
    }
    assert_eq!(w.into_summary(), one);
}

#[test]
fn dataset_malformed_vr_stops_walk() {
    // A bad VR in explicit VR is malformed; the walk stops, nothing panics.
    let mut d = xel(0x0008, 0x0060, b"CS", b"CT");
    d.extend_from_slice(&[0x08, 0x00, 0x70, 0x00, b'z', b'z', 2, 0, b'a', b'b']);
    d.extend(xel(0x0018, 0x1000, b"LO", b"SN"));
    let w = walk_all(Encoding::ExplicitLe, &d);
    assert!(w.summary().malformed && w.done());
    assert_eq!(
        w.summary()
            .get(super::dataset::DeviceAttr::DeviceSerialNumber),
        None
    );
}

// ---------------------------------------------------------------- analyzer

#[test]
fn association_full_conversation_records() {
    // Echo + C-STORE + release: the association record and the command records are exact.
    let h = run(&conversation());
    assert!(h.anomalies().is_empty(), "{:?}", h.anomalies());
    let a = h.associations();
    assert_eq!(a.len(), 1);
    let a = a[0];
    assert_eq!(a.calling_ae.as_deref(), Some("CT01"));
    assert_eq!(a.called_ae.as_deref(), Some("PACS"));
    assert_eq!((a.outcome, a.termination), ("accepted", "release"));
    let rq = a.request.as_ref().unwrap();
    assert_eq!(rq.application_context.as_deref(), Some(APP_CTX));
    assert_eq!(
        rq.implementation_class_uid.as_deref(),
        Some("1.2.276.0.7230010.3.0.3.6.7")
    );
    assert_eq!(
        rq.implementation_version_name.as_deref(),
        Some("OFFIS_DCMTK_367")
    );
    assert_eq!(rq.max_pdu_length, Some(16384));
    assert_eq!(rq.presentation_contexts.len(), 4);
    assert_eq!(
        rq.presentation_contexts[1].abstract_syntax.as_deref(),
        Some(CT_STORAGE)
    );
    assert_eq!(
        rq.presentation_contexts[1].transfer_syntaxes,
        vec![EXPLICIT.to_string(), IMPLICIT.to_string()]
    );
    let ac = a.accept.as_ref().unwrap();
    assert_eq!(ac.max_pdu_length, Some(32768));
    assert_eq!(
        ac.presentation_contexts[1].transfer_syntax.as_deref(),
        Some(EXPLICIT)
    );
    assert_eq!(ac.presentation_contexts[1].result_name, "acceptance");
    assert!(a.reject.is_none() && a.abort.is_none());
    assert_eq!(a.commands.get("C-ECHO-RQ"), Some(&1));
    assert_eq!(a.commands.get("C-STORE-RSP"), Some(&1));
    assert_eq!(a.status_classes.get("success"), Some(&2));
    let total: usize = conversation().iter().map(|(_, b)| b.len()).sum();
    assert_eq!((a.bytes_toserver + a.bytes_toclient) as usize, total);
    assert!(a.duration_ms > 0.0);
    assert!(!a.midstream);

    let c = h.commands();
    assert_eq!(
        c.iter().map(|c| c.command).collect::<Vec<_>>(),
        vec!["C-ECHO-RQ", "C-ECHO-RSP", "C-STORE-RQ", "C-STORE-RSP"]
    );
    assert_eq!(c[1].message_id_responded, Some(1));
    assert_eq!(c[1].latency_ms, Some(1.0));
    let st = c[2];
    assert_eq!(
        st.affected_sop_instance_uid.as_deref(),
        Some("1.2.3.4.5.6"),
        "UID without its NUL pad"
    );
    assert_eq!(st.pc_id, 3);
    let ds = st.dataset.as_ref().unwrap();
    assert_eq!(ds.encoding, "explicit_vr_le");
    assert_eq!(ds.transfer_syntax.as_deref(), Some(EXPLICIT));
    assert_eq!(ds.bytes, ct_dataset(3000).len() as u64);
    assert!(ds.complete);
    assert_eq!(ds.modality.as_deref(), Some("CT"));
    assert_eq!(ds.model_name.as_deref(), Some("BrightSpeed"));
    assert!(ds.phi_present.contains(&"PatientName"));
    assert_eq!(c[3].status_class, Some("success"));
    assert_eq!(
        c[3].latency_ms,
        Some(3.0),
        "from the request's command to the response"
    );
    // The association record comes after its commands.
    assert!(matches!(
        h.events.last().unwrap().kind,
        EventKind::Dicom(DicomEvent::Association(_))
    ));
    let json = h.eve().join("\n");
    for phi in ["Doe", "PID0001", "19700101", "CT HEAD"] {
        assert!(!json.contains(phi), "{phi} leaked");
    }
}

#[test]
fn find_pending_responses_pair_with_latency() {
    // C-FIND: pending responses keep the request open; the final one closes it.
    let rq = command(&[
        el(0, 2, &ui(FIND_STUDY)),
        el(0, 0x100, &us(0x20)),
        el(0, 0x110, &us(9)),
        el(0, 0x700, &us(0)),
        el(0, 0x800, &us(0)),
    ]);
    let ident = [
        el(0x0008, 0x0052, &st("STUDY")),
        el(0x0010, 0x0010, &st("*")),
    ]
    .concat();
    let rsp = |s: u16, ds: bool| {
        command(&[
            el(0, 2, &ui(FIND_STUDY)),
            el(0, 0x100, &us(0x8020)),
            el(0, 0x120, &us(9)),
            el(0, 0x800, &us(if ds { 0 } else { 0x101 })),
            el(0, 0x900, &us(s)),
        ])
    };
    let h = run(&[
        (C2S, std_rq()),
        (S2C, std_ac()),
        (C2S, pdata(&[pdv(5, 3, &rq), pdv(5, 2, &ident)])),
        (
            S2C,
            pdata(&[pdv(5, 3, &rsp(0xFF00, true)), pdv(5, 2, &ident)]),
        ),
        (
            S2C,
            pdata(&[pdv(5, 3, &rsp(0xFF00, true)), pdv(5, 2, &ident)]),
        ),
        (S2C, pdata(&[pdv(5, 3, &rsp(0, false))])),
        (S2C, pdata(&[pdv(5, 3, &rsp(0, false))])),
    ]);
    let c = h.commands();
    assert_eq!(c.len(), 5);
    assert_eq!(
        c[0].dataset.as_ref().unwrap().phi_present,
        vec!["PatientName"]
    );
    assert_eq!(c[1].status_class, Some("pending"));
    assert_eq!(
        c.iter().map(|c| c.latency_ms).collect::<Vec<_>>(),
        vec![None, Some(1.0), Some(2.0), Some(3.0), None]
    );
    assert_eq!(h.anomalies(), vec!["unmatched_response"]);
    let a = h.associations()[0];
    assert_eq!(a.status_classes.get("pending"), Some(&2));
    assert_eq!(a.termination, "none");
}

#[test]
fn move_request_reports_destination_and_suboperations() {
    // C-MOVE: move destination and sub-operation counts are decoded.
    let rq = command(&[
        el(0, 2, &ui(MOVE_STUDY)),
        el(0, 0x100, &us(0x21)),
        el(0, 0x110, &us(3)),
        el(0, 0x600, &st("ROGUE_AE")),
        el(0, 0x700, &us(0)),
        el(0, 0x800, &us(0)),
    ]);
    let rsp = command(&[
        el(0, 2, &ui(MOVE_STUDY)),
        el(0, 0x100, &us(0x8021)),
        el(0, 0x120, &us(3)),
        el(0, 0x800, &us(0x101)),
        el(0, 0x900, &us(0xA702)),
        el(0, 0x902, &st("Out of resources")),
        el(0, 0x1020, &us(0)),
        el(0, 0x1021, &us(4)),
        el(0, 0x1022, &us(2)),
        el(0, 0x1023, &us(1)),
    ]);
    let h = run(&[
        (C2S, std_rq()),
        (S2C, std_ac()),
        (
            C2S,
            pdata(&[pdv(7, 3, &rq), pdv(7, 2, &el(0x0020, 0x000D, &ui("1.2.3")))]),
        ),
        (S2C, pdata(&[pdv(7, 3, &rsp)])),
    ]);
    let c = h.commands();
    assert_eq!(c[0].move_destination.as_deref(), Some("ROGUE_AE"));
    assert_eq!(c[1].status, Some(0xA702));
    assert_eq!(c[1].status_class, Some("failure"));
    assert_eq!(c[1].error_comment.as_deref(), Some("Out of resources"));
    assert_eq!(
        (
            c[1].remaining_suboperations,
            c[1].completed_suboperations,
            c[1].failed_suboperations,
            c[1].warning_suboperations
        ),
        (Some(0), Some(4), Some(2), Some(1))
    );
}

#[test]
fn rejected_association_is_recorded() {
    // A-ASSOCIATE-RJ ends the association with its result, source and reason.
    let h = run(&[(C2S, std_rq()), (S2C, pdu(3, &[0, 1, 1, 7]))]);
    let a = h.associations();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].outcome, "rejected");
    assert_eq!(a[0].termination, "none");
    let r = a[0].reject.as_ref().unwrap();
    assert_eq!((r.result, r.source, r.reason), (1, 1, 7));
    assert_eq!(r.reason_name, "called_ae_title_not_recognized");
    assert!(a[0].accept.is_none());
}

#[test]
fn abort_records_who_sent_it() {
    // A-ABORT from the acceptor side: termination abort, sent_by acceptor.
    let h = run(&[
        (C2S, std_rq()),
        (S2C, std_ac()),
        (S2C, pdu(7, &[0, 0, 2, 1])),
    ]);
    let a = h.associations()[0];
    assert_eq!(a.termination, "abort");
    let ab = a.abort.as_ref().unwrap();
    assert_eq!((ab.source, ab.reason, ab.sent_by), (2, 1, "acceptor"));
    let h = run(&[
        (C2S, std_rq()),
        (S2C, std_ac()),
        (C2S, pdu(7, &[0, 0, 0, 0])),
    ]);
    assert_eq!(
        h.associations()[0].abort.as_ref().unwrap().sent_by,
        "requestor"
    );
}

#[test]
fn cleartext_credentials_flagged_never_stored() {
    // User identity type 2 is an anomaly; the secret appears nowhere in the output.
    let ident = {
        let mut v = vec![2, 1, 0, 5];
        v.extend_from_slice(b"alice");
        v.extend_from_slice(&[0, 9]);
        v.extend_from_slice(b"hunter2!!");
        item(0x58, &v)
    };
    let rq = associate(
        1,
        "PACS",
        "CT01",
        &[
            pc_rq(1, VERIFICATION, &[IMPLICIT]),
            user_info(0, "1.2", "X", &[ident]),
        ],
    );
    let h = run(&[(C2S, rq)]);
    assert_eq!(h.anomalies(), vec!["cleartext_credentials"]);
    let json = h.eve().join("\n");
    assert!(
        !json.contains("alice") && !json.contains("hunter2"),
        "{json}"
    );
    let u = h.associations()[0]
        .request
        .as_ref()
        .unwrap()
        .user_identity
        .clone()
        .unwrap();
    assert_eq!(
        (
            u.kind,
            u.response_requested,
            u.primary_field_present,
            u.secondary_field_present
        ),
        (2, true, true, true)
    );
    assert_eq!(h.associations()[0].outcome, "unknown");
}

#[test]
fn midstream_pickup_decodes_commands() {
    // Joined after the association (starting inside a PDU): commands still decoded.
    let mut c2s = vec![0x55; 37];
    c2s.extend(pdata(&[pdv(1, 3, &echo_rq(4))]));
    let h = run(&[(C2S, c2s), (S2C, pdata(&[pdv(1, 3, &echo_rsp(4, 0))]))]);
    let c = h.commands();
    assert_eq!(c.len(), 2);
    assert_eq!(c[1].latency_ms, Some(1.0));
    let a = h.associations()[0];
    assert!(a.midstream);
    assert_eq!(a.outcome, "unknown");
    assert!(a.calling_ae.is_none());
    assert_eq!(
        h.anomalies(),
        vec!["unknown_pdu_type", "pdata_without_association"]
    );
}

#[test]
fn midstream_store_dataset_encoding_is_guessed() {
    // Without the A-ASSOCIATE-AC the data set's encoding is guessed from its first header.
    let h = run(&[(
        C2S,
        pdata(&[pdv(3, 3, &store_rq(1, "9.9")), pdv(3, 2, &ct_dataset(10))]),
    )]);
    let ds = h.commands()[0].dataset.clone().unwrap();
    assert_eq!(ds.encoding, "explicit_vr_le");
    assert_eq!(ds.modality.as_deref(), Some("CT"));
    assert_eq!(ds.transfer_syntax, None);
}

#[test]
fn probe_finds_dicom_on_any_port_by_content() {
    // Association requests and mid-stream P-DATA commands match; other protocols do not.
    let rq = std_rq();
    assert_eq!(probe_dicom(C2S, &rq), Probe::Match);
    assert_eq!(probe_dicom(S2C, &std_ac()), Probe::Match);
    assert_eq!(probe_dicom(C2S, &rq[..20]), Probe::NeedMore);
    let mut mid = vec![0x11; 100];
    mid.extend(pdata(&[pdv(1, 3, &echo_rq(1))]));
    assert_eq!(probe_dicom(C2S, &mid), Probe::Match);
    let http = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(200);
    assert_eq!(probe_dicom(C2S, &http), Probe::NoMatch);
    let mut bad_ae = rq.clone();
    bad_ae[30] = 0x07; // control byte in the calling AE title
    assert_eq!(
        probe_dicom(C2S, &bad_ae[..]),
        Probe::NeedMore,
        "not an association; mid-stream search continues"
    );
    assert_eq!(
        probe_dicom(C2S, &[bad_ae.clone(), vec![0u8; 5000]].concat()),
        Probe::NoMatch
    );
    let mut v0 = rq.clone();
    v0[7] = 0; // protocol version without bit 0
    assert_eq!(
        probe_dicom(C2S, &[v0, vec![0u8; 5000]].concat()),
        Probe::NoMatch
    );
}

#[test]
fn registry_lists_dicom_with_port_hints() {
    // The registry entry builds an analyzer and carries the port hints.
    let s = crate::registry::STREAM_ANALYZERS
        .iter()
        .find(|s| s.name == "dicom")
        .unwrap();
    assert_eq!(s.port_hints, &[104, 11112]);
    let cfg = crate::AnalyzersConfig::default();
    assert!((s.enabled)(&cfg));
    let _ = (s.build)(&cfg);
    assert_eq!((s.probe)(C2S, &std_rq()), Probe::Match);
}

// ---------------------------------------------------------------- bad input

fn codes_for(chunks: &[(Direction, Vec<u8>)]) -> Vec<&'static str> {
    run(chunks).anomalies()
}

#[test]
fn bad_pdu_lengths_are_named() {
    // Zero, tiny and gigantic PDU lengths become anomalies; later PDUs still decode.
    let echo = pdata(&[pdv(1, 3, &echo_rq(1))]);
    let h = run(&[
        (C2S, std_rq()),
        (S2C, std_ac()),
        (C2S, [vec![4, 0, 0, 0, 0, 0], echo.clone()].concat()),
    ]);
    assert!(
        h.anomalies().contains(&"pdu_too_small"),
        "{:?}",
        h.anomalies()
    );
    assert_eq!(h.commands().len(), 1);
    let h = run(&[
        (C2S, std_rq()),
        (S2C, std_ac()),
        (
            C2S,
            [
                vec![4, 0, 0xff, 0xff, 0xff, 0xff],
                vec![0; 30],
                echo.clone(),
            ]
            .concat(),
        ),
    ]);
    assert_eq!(h.anomalies(), vec!["pdu_too_large", "resync"]);
    assert_eq!(h.commands().len(), 1);
    let codes = codes_for(&[(C2S, [vec![1, 0, 0, 0, 0, 2, 0, 0], echo.clone()].concat())]);
    assert!(codes.contains(&"pdu_too_small"), "{codes:?}");
    let codes = codes_for(&[(C2S, [vec![1, 0, 0x7f, 0xff, 0xff, 0xff], echo].concat())]);
    assert!(codes.contains(&"pdu_too_large"), "{codes:?}");
    // A PDU longer than the receiver's announced maximum (32768 in std_ac).
    let big = pdata(&[pdv(1, 3, &echo_rq(1)), pdv(1, 2, &vec![0; 40_000])]);
    let codes = codes_for(&[(C2S, std_rq()), (S2C, std_ac()), (C2S, big)]);
    assert!(codes.contains(&"pdu_exceeds_negotiated_max"), "{codes:?}");
}

#[test]
fn pdv_problems_are_named() {
    // PDV length under 2, PDV overrunning its PDU, even and unnegotiated context ids.
    let base = || vec![(C2S, std_rq()), (S2C, std_ac())];
    let mut c = base();
    c.push((C2S, pdu(4, &[0, 0, 0, 1, 1, 3, 0, 0])));
    assert!(codes_for(&c).contains(&"pdv_too_short"));
    let mut c = base();
    c.push((C2S, pdu(4, &[0, 0, 0, 50, 1, 3, 0, 0])));
    assert!(codes_for(&c).contains(&"pdv_overrun"));
    let mut c = base();
    c.push((C2S, pdata(&[pdv(2, 3, &echo_rq(1))])));
    assert!(codes_for(&c).contains(&"pc_id_even"));
    let mut c = base();
    c.push((C2S, pdata(&[pdv(9, 3, &echo_rq(1))])));
    assert!(codes_for(&c).contains(&"pc_id_not_negotiated"));
}

#[test]
fn protocol_order_problems_are_named() {
    // P-DATA before the association is accepted, unexpected PDUs, orphan data sets.
    let echo = pdata(&[pdv(1, 3, &echo_rq(1))]);
    assert_eq!(
        codes_for(&[(C2S, std_rq()), (C2S, echo.clone())]),
        vec!["pdata_without_association"]
    );
    let codes = codes_for(&[(C2S, std_rq()), (S2C, std_ac()), (S2C, std_ac())]);
    assert_eq!(codes, vec!["unexpected_pdu"]);
    let codes = codes_for(&[
        (C2S, std_rq()),
        (S2C, std_ac()),
        (C2S, pdata(&[pdv(1, 2, b"\x08\x00\x60\x00")])),
    ]);
    assert_eq!(codes, vec!["dataset_without_command"]);
    let codes = codes_for(&[
        (C2S, std_rq()),
        (S2C, std_ac()),
        (
            C2S,
            pdata(&[
                pdv(3, 3, &store_rq(1, "1")),
                pdv(3, 0, &ct_dataset(4)),
                pdv(1, 3, &echo_rq(2)),
            ]),
        ),
    ]);
    assert_eq!(codes, vec!["dataset_interrupted"]);
    let codes = codes_for(&[(C2S, std_rq()), (S2C, std_ac()), (S2C, pdu(6, &[0; 4]))]);
    assert_eq!(codes, vec!["unexpected_pdu"]);
}

#[test]
fn ae_titles_with_control_bytes_are_named() {
    // Control bytes in an AE title are flagged, and the title is reported without them.
    let mut rq = std_rq();
    rq[10 + 16 + 1] = 0x01; // second byte of the calling AE title
    let h = run(&[(C2S, rq)]);
    assert_eq!(h.anomalies(), vec!["ae_title_invalid"]);
    assert_eq!(h.associations()[0].calling_ae.as_deref(), Some("C?01"));
}

#[test]
fn command_set_problems_are_named_in_the_stream() {
    // A wrong group length reaches the anomaly stream; the command is still reported.
    let mut bad = echo_rq(1);
    bad[8] = 0x10;
    let h = run(&[
        (C2S, std_rq()),
        (S2C, std_ac()),
        (C2S, pdata(&[pdv(1, 3, &bad)])),
    ]);
    assert_eq!(h.anomalies(), vec!["command_group_length_mismatch"]);
    assert_eq!(h.commands()[0].command, "C-ECHO-RQ");
    let cfg = DicomConfig {
        max_command_length: 16,
        ..DicomConfig::default()
    };
    let mut h = Harness::new(cfg);
    for (d, b) in [
        (C2S, std_rq()),
        (S2C, std_ac()),
        (C2S, pdata(&[pdv(1, 3, &echo_rq(1))])),
    ] {
        h.feed(d, &b);
    }
    h.close();
    assert!(
        h.anomalies().contains(&"command_too_large"),
        "{:?}",
        h.anomalies()
    );
}

#[test]
fn unknown_pdu_type_resyncs() {
    // Garbage between PDUs: unknown type, then the next PDU decodes.
    let h = run(&[
        (C2S, std_rq()),
        (S2C, std_ac()),
        (
            C2S,
            [
                vec![0x09, 0x00, 1, 2, 3, 4, 5, 6, 7, 8],
                pdata(&[pdv(1, 3, &echo_rq(1))]),
            ]
            .concat(),
        ),
    ]);
    assert_eq!(
        h.anomalies(),
        vec!["unknown_pdu_type"],
        "one anomaly per resync episode"
    );
    assert_eq!(h.commands().len(), 1);
}

#[test]
fn gap_resyncs_and_flushes_message() {
    // A gap inside a data set writes the command as incomplete and resyncs at the next PDU.
    let mut h = Harness::new(DicomConfig::default());
    h.feed(C2S, &std_rq());
    h.feed(S2C, &std_ac());
    let ds = ct_dataset(2000);
    let p = pdata(&[pdv(3, 3, &store_rq(1, "1.2")), pdv(3, 2, &ds)]);
    h.feed(C2S, &p[..300]);
    h.gap(C2S);
    h.feed(C2S, &p[900..]);
    h.feed(C2S, &pdata(&[pdv(1, 3, &echo_rq(2))]));
    h.close();
    let c = h.commands();
    assert_eq!(c.len(), 2);
    assert!(!c[0].dataset.as_ref().unwrap().complete);
    assert_eq!(c[1].command, "C-ECHO-RQ");
}

#[test]
fn pending_requests_are_capped() {
    // More outstanding requests than the cap: too_many_pending, no unbounded growth.
    let cfg = DicomConfig {
        max_pending_requests: 2,
        ..DicomConfig::default()
    };
    let mut h = Harness::new(cfg);
    h.feed(C2S, &std_rq());
    h.feed(S2C, &std_ac());
    for id in 0..5 {
        h.feed(C2S, &pdata(&[pdv(1, 3, &echo_rq(id))]));
    }
    h.close();
    assert_eq!(h.anomalies(), vec!["too_many_pending"; 3]);
}

// ---------------------------------------------------------------- truncation, incremental

#[test]
fn control_pdus_truncated_at_every_len_need_more() {
    // Every prefix of an association-control PDU asks for more (framing), emits nothing.
    for p in [
        std_rq(),
        std_ac(),
        pdu(3, &[0, 1, 1, 7]),
        pdu(5, &[0; 4]),
        pdu(7, &[0; 4]),
    ] {
        for n in 1..p.len() {
            let mut a = DicomAnalyzer::new(DicomConfig::default());
            let m = meta();
            let (mut ev, mut counts, mut budget) = (Vec::new(), AnomalyCounts::default(), 10);
            let mut cx = Cx::new(Timestamp(0), &m, &mut ev, &mut counts, &mut budget);
            let want = if n < 6 { 6 } else { p.len() };
            assert_eq!(
                a.on_data(&mut cx, C2S, &p[..n]),
                Progress::NeedMore {
                    consumed: 0,
                    needed: want
                },
                "prefix {n}"
            );
            assert!(ev.is_empty());
        }
    }
}

#[test]
fn conversation_truncated_at_every_len_never_panics() {
    // Every prefix of each direction's stream, then close: no panic, at most one
    // association record, commands only for complete command sets.
    let conv = conversation();
    let c2s: Vec<u8> = conv
        .iter()
        .filter(|(d, _)| *d == C2S)
        .flat_map(|(_, b)| b.clone())
        .collect();
    let s2c: Vec<u8> = conv
        .iter()
        .filter(|(d, _)| *d == S2C)
        .flat_map(|(_, b)| b.clone())
        .collect();
    for n in 0..=c2s.len() {
        let h = run(&[(C2S, c2s[..n].to_vec()), (S2C, s2c.clone())]);
        assert!(h.associations().len() <= 1, "prefix {n}");
        assert!(h.commands().len() <= 4);
    }
    for n in 0..=s2c.len() {
        let h = run(&[(C2S, c2s.clone()), (S2C, s2c[..n].to_vec())]);
        assert!(h.associations().len() <= 1, "prefix {n}");
    }
}

#[test]
fn byte_at_a_time_equals_one_shot() {
    // Feeding every chunk one byte at a time gives the same events as whole chunks.
    let conv = conversation();
    let one = run(&conv).eve();
    let mut h = Harness::new(DicomConfig::default());
    for (d, b) in &conv {
        for x in b {
            h.feed(*d, std::slice::from_ref(x));
        }
    }
    h.close();
    assert_eq!(h.eve(), one);
}

#[test]
fn split_at_every_point_equals_one_shot() {
    // Each direction's whole stream split in two at every point gives the same events.
    let conv = conversation();
    let one = run(&conv).eve();
    for (idx, (d, b)) in conv.iter().enumerate() {
        for k in 0..=b.len() {
            let mut h = Harness::new(DicomConfig::default());
            for (j, (d2, b2)) in conv.iter().enumerate() {
                if j == idx {
                    h.feed(*d, &b[..k]);
                    h.feed(*d, &b[k..]);
                } else {
                    h.feed(*d2, b2);
                }
            }
            h.close();
            assert_eq!(h.eve(), one, "chunk {idx} split at {k}");
        }
    }
}

#[test]
fn whole_stream_in_one_call_equals_per_pdu() {
    // Many PDUs per segment: one direction's PDUs concatenated give the same events.
    let conv = conversation();
    let one = run(&conv).eve();
    // Order-preserving merge: all of C2S up to each S2C reply.
    let mut merged: Vec<(Direction, Vec<u8>)> = Vec::new();
    for (d, b) in conv {
        match merged.last_mut() {
            Some((ld, lb)) if *ld == d => lb.extend(b),
            _ => merged.push((d, b)),
        }
    }
    assert!(merged.len() < 10);
    let mut h = run(&merged).eve();
    assert_eq!(h.len(), one.len());
    // Latency differs (fewer chunks, fewer clock ticks); the rest must agree.
    let strip = |v: &mut Vec<String>| {
        for s in v.iter_mut() {
            *s = s.replace("\"latency_ms\"", "");
        }
    };
    strip(&mut h);
    let mut one = one;
    strip(&mut one);
    assert_eq!(h, one);
}

// ---------------------------------------------------------------- streaming

#[test]
fn two_gigabyte_store_is_streamed_without_buffering() {
    // A 2 GiB C-STORE in 1 MiB PDUs: the pipeline never holds more than a header, the
    // analyzer keeps no copy, the data-set size and attributes are right.
    let mut h = Harness::new(DicomConfig::default());
    h.feed(C2S, &std_rq());
    h.feed(S2C, &std_ac_max(0));
    let total: u64 = 2 << 30;
    let head = ct_dataset_head((total - ct_dataset_head(0).len() as u64) as u32);
    assert_eq!(head.len(), ct_dataset_head(0).len());
    h.feed(C2S, &pdata(&[pdv(3, 3, &store_rq(1, "1.2.3"))]));
    let frag: usize = 1 << 20;
    let zeros = vec![0u8; frag];
    let mut sent: u64 = 0;
    let mut first = true;
    h.max_held = 0;
    while sent < total {
        let n = (total - sent).min(frag as u64) as usize;
        let last = sent + n as u64 == total;
        let mut hdr = pdu(4, &[]);
        hdr[2..6].copy_from_slice(&((n + 6) as u32).to_be_bytes());
        hdr.extend_from_slice(&((n + 2) as u32).to_be_bytes());
        hdr.extend_from_slice(&[3, if last { 2 } else { 0 }]);
        h.feed(C2S, &hdr);
        if first {
            h.feed(C2S, &head);
            h.feed(C2S, &zeros[..n - head.len()]);
            first = false;
        } else {
            h.feed(C2S, &zeros[..n]);
        }
        sent += n as u64;
    }
    assert!(h.max_held <= frag, "pipeline held {} bytes", h.max_held);
    h.feed(S2C, &pdata(&[pdv(3, 3, &store_rsp(1, "1.2.3", 0))]));
    h.close();
    let c = h.commands();
    let ds = c[0].dataset.as_ref().unwrap();
    assert_eq!(ds.bytes, total);
    assert!(ds.complete);
    assert_eq!(ds.manufacturer.as_deref(), Some("GE MEDICAL SYSTEMS"));
    assert_eq!(c[1].status_class, Some("success"));
    assert!(h.anomalies().is_empty(), "{:?}", h.anomalies());
    assert!(
        h.a.buffered_bytes() < 4096,
        "analyzer holds {}",
        h.a.buffered_bytes()
    );
}

// ---------------------------------------------------------------- property

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(
        a in proptest::collection::vec(any::<u8>(), 0..2048),
        b in proptest::collection::vec(any::<u8>(), 0..2048),
        split in 0usize..2048,
    ) {
        // Arbitrary bytes in both directions: no panic, consumed <= len, bounded events.
        let mut h = Harness::new(DicomConfig::default());
        let k = split.min(a.len());
        h.feed(C2S, &a[..k]);
        h.feed(S2C, &b);
        h.feed(C2S, &a[k..]);
        h.close();
        prop_assert!(h.events.len() <= 64 + (a.len() + b.len()) / 8);
        let _ = probe_dicom(C2S, &a);
    }

    #[test]
    fn mutated_conversation_never_panics(flips in proptest::collection::vec((0usize..4000, any::<u8>()), 1..8)) {
        // A valid conversation with random byte changes: no panic, bounded events.
        let mut conv = conversation();
        let total: usize = conv.iter().map(|(_, b)| b.len()).sum();
        for (pos, v) in flips {
            let mut p = pos % total;
            for (_, b) in conv.iter_mut() {
                if p < b.len() {
                    b[p] = v;
                    break;
                }
                p -= b.len();
            }
        }
        let h = run(&conv);
        prop_assert!(h.events.len() < 200);
    }

    #[test]
    fn arbitrary_pdata_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600), pc in any::<u8>(), ctl in any::<u8>()) {
        // P-DATA with random PDV contents after a valid association: no panic.
        let h = run(&[(C2S, std_rq()), (S2C, std_ac()), (C2S, pdata(&[pdv(pc, ctl, &body)])), (C2S, pdu(4, &body))]);
        prop_assert!(h.associations().len() == 1);
    }
}

#[test]
fn walker_wire_helpers_reject_short_input() {
    // The plausibility check needs enough bytes and says so.
    assert_eq!(wire::plausible_pdu_at(&[4, 0, 0], 1 << 20), None);
    assert_eq!(wire::plausible_pdu_at(&[9, 0, 0], 1 << 20), Some(false));
    assert_eq!(
        wire::plausible_pdu_at(&pdu(5, &[0; 4]), 1 << 20),
        Some(true)
    );
}

#[test]
fn fuzz_regressions_replay_without_panic() {
    // Inputs saved under fuzz/regressions/dicom/ (fuzz crashes and hand-made edge cases) run
    // through the analyzer as the fuzz target feeds them: first byte picks the split.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/dicom");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        let Some((&ctl, rest)) = data.split_first() else {
            continue;
        };
        let split = usize::from(ctl) * rest.len() / 256;
        let (a, b) = rest.split_at(split);
        let _ = probe_dicom(C2S, a);
        let h = run(&[(C2S, a.to_vec()), (S2C, b.to_vec())]);
        assert!(h.associations().len() <= 2);
        n += 1;
    }
    assert!(n >= 2, "regression inputs missing from {}", dir.display());
}

#[test]
fn command_events_off_keeps_counts_only() {
    // With command_events = false no command records are written; the association still
    // counts every command and status class.
    let cfg = DicomConfig {
        command_events: false,
        ..DicomConfig::default()
    };
    let mut h = Harness::new(cfg);
    for (d, b) in conversation() {
        h.feed(d, &b);
    }
    h.close();
    assert!(h.commands().is_empty());
    let a = h.associations()[0];
    assert_eq!(a.commands.values().sum::<u64>(), 4);
    assert_eq!(a.status_classes.get("success"), Some(&2));
}

#[test]
fn config_defaults_deserialize_and_reject_unknown_keys() {
    // `[analyzers.dicom]` accepts a partial table (defaults fill the rest) and rejects typos.
    let c: DicomConfig = serde_json::from_str(r#"{"max_items": 8}"#).unwrap();
    assert_eq!(c.max_items, 8);
    assert_eq!(c.max_pdu_length, DicomConfig::default().max_pdu_length);
    assert!(serde_json::from_str::<DicomConfig>(r#"{"max_itemz": 8}"#).is_err());
}
