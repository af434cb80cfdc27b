//! Streaming walk over a data set's elements (PS3.5 7.1): reads element headers as the
//! fragments arrive, keeps the values of a few device attributes (capped), notes which PHI
//! attributes are present (keywords only), and skips every other value by arithmetic, so a
//! 2 GB pixel-data element costs a subtraction, not a copy.
//!
//! Encodings walked: Implicit VR Little Endian and Explicit VR Little Endian (also used for
//! the data set of every encapsulated, i.e. compressed, transfer syntax). Others (deflate,
//! big endian, unknown) are noted as not parsed. Undefined-length sequences and items are
//! entered (so PHI inside them is seen); defined-length items inside them are skipped. The
//! walk stops at Pixel Data at the top level, after `scan_limit` bytes, or on a malformed
//! header.

/// How to read the elements of a data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    ImplicitLe,
    ExplicitLe,
    /// Transfer syntax unknown (flow joined mid-stream): decided from the first header.
    Guess,
    NotParsed,
}

/// Transfer syntax UID to the encoding the walker uses.
pub fn encoding_for(ts: &str) -> Encoding {
    match ts {
        "1.2.840.10008.1.2" => Encoding::ImplicitLe,
        "1.2.840.10008.1.2.1" => Encoding::ExplicitLe,
        // Encapsulated pixel data (JPEG family, RLE, MPEG, HEVC, JPEG-LS/2000, HTJ2K...):
        // the data set itself is explicit VR little endian.
        t if t.starts_with("1.2.840.10008.1.2.4.") || t == "1.2.840.10008.1.2.5" => {
            Encoding::ExplicitLe
        }
        _ => Encoding::NotParsed,
    }
}

/// Device attributes whose values are kept (top level only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceAttr {
    SopClassUid,
    Modality,
    Manufacturer,
    ModelName,
    StationName,
    SoftwareVersions,
    DeviceSerialNumber,
    InstitutionName,
}

const DEVICE_ATTRS: &[(u32, DeviceAttr)] = &[
    (0x0008_0016, DeviceAttr::SopClassUid),
    (0x0008_0060, DeviceAttr::Modality),
    (0x0008_0070, DeviceAttr::Manufacturer),
    (0x0008_0080, DeviceAttr::InstitutionName),
    (0x0008_1010, DeviceAttr::StationName),
    (0x0008_1090, DeviceAttr::ModelName),
    (0x0018_1000, DeviceAttr::DeviceSerialNumber),
    (0x0018_1020, DeviceAttr::SoftwareVersions),
];

/// PHI attributes reported by keyword when present (PS3.15 E.1-1 basic profile subset:
/// patient, person-name, study/series description, dates and identifiers). Values never
/// leave the walker; they are not even read.
pub const PHI_ATTRS: &[(u32, &str)] = &[
    (0x0008_0020, "StudyDate"),
    (0x0008_0021, "SeriesDate"),
    (0x0008_0022, "AcquisitionDate"),
    (0x0008_0023, "ContentDate"),
    (0x0008_0030, "StudyTime"),
    (0x0008_0050, "AccessionNumber"),
    (0x0008_0081, "InstitutionAddress"),
    (0x0008_0090, "ReferringPhysicianName"),
    (0x0008_0092, "ReferringPhysicianAddress"),
    (0x0008_0094, "ReferringPhysicianTelephoneNumbers"),
    (0x0008_1030, "StudyDescription"),
    (0x0008_103E, "SeriesDescription"),
    (0x0008_1040, "InstitutionalDepartmentName"),
    (0x0008_1048, "PhysiciansOfRecord"),
    (0x0008_1050, "PerformingPhysicianName"),
    (0x0008_1060, "NameOfPhysiciansReadingStudy"),
    (0x0008_1070, "OperatorsName"),
    (0x0008_1080, "AdmittingDiagnosesDescription"),
    (0x0010_0010, "PatientName"),
    (0x0010_0020, "PatientID"),
    (0x0010_0021, "IssuerOfPatientID"),
    (0x0010_0030, "PatientBirthDate"),
    (0x0010_0032, "PatientBirthTime"),
    (0x0010_0040, "PatientSex"),
    (0x0010_1000, "OtherPatientIDs"),
    (0x0010_1001, "OtherPatientNames"),
    (0x0010_1010, "PatientAge"),
    (0x0010_1020, "PatientSize"),
    (0x0010_1030, "PatientWeight"),
    (0x0010_1040, "PatientAddress"),
    (0x0010_1060, "PatientMotherBirthName"),
    (0x0010_2154, "PatientTelephoneNumbers"),
    (0x0010_2160, "EthnicGroup"),
    (0x0010_2180, "Occupation"),
    (0x0010_21B0, "AdditionalPatientHistory"),
    (0x0010_4000, "PatientComments"),
    (0x0020_0010, "StudyID"),
    (0x0032_1032, "RequestingPhysician"),
    (0x0032_1060, "RequestedProcedureDescription"),
    (0x0040_0254, "PerformedProcedureStepDescription"),
    (0x0040_A123, "PersonName"),
];

/// Keywords for PHI not in the table: any other patient-group (0010) element, and any
/// other element with VR PN (explicit VR only).
pub const PHI_OTHER_PATIENT: &str = "OtherPatientAttribute";
pub const PHI_OTHER_PERSON_NAME: &str = "OtherPersonName";

const PIXEL_DATA: u32 = 0x7FE0_0010;
const UNDEFINED: u32 = 0xFFFF_FFFF;

/// What the walk found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatasetSummary {
    pub values: Vec<(DeviceAttr, String)>,
    /// Bit i: `PHI_ATTRS[i]`; the two high bits: other patient / other person name.
    pub phi: u64,
    pub malformed: bool,
}

impl DatasetSummary {
    pub fn get(&self, a: DeviceAttr) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| *k == a)
            .map(|(_, v)| v.as_str())
    }
    /// PHI keywords present, in table order.
    pub fn phi_keywords(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = PHI_ATTRS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.phi & (1u64 << i) != 0)
            .map(|(_, (_, k))| *k)
            .collect();
        if self.phi & OTHER_PATIENT_BIT != 0 {
            v.push(PHI_OTHER_PATIENT);
        }
        if self.phi & OTHER_PN_BIT != 0 {
            v.push(PHI_OTHER_PERSON_NAME);
        }
        v
    }
}

const OTHER_PATIENT_BIT: u64 = 1 << 62;
const OTHER_PN_BIT: u64 = 1 << 63;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Collecting an element header into `hdr`.
    Header,
    /// Keeping a device attribute's value (up to the cap), then skipping the rest.
    Capture { attr: DeviceAttr, left: u32 },
    /// Skipping a value.
    Skip { left: u32 },
    /// Walk over; the rest of the data set is only counted.
    Done,
}

/// The walker; one per data set.
#[derive(Clone, Debug)]
pub struct DatasetWalker {
    enc: Encoding,
    step: Step,
    hdr: [u8; 12],
    hdr_len: usize,
    depth: u32,
    scanned: u64,
    scan_limit: u64,
    value_cap: usize,
    cap_buf: Vec<u8>,
    summary: DatasetSummary,
}

/// Two-letter VRs with a 4-byte length in explicit VR (PS3.5 7.1.2).
fn long_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"SV"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"UV"
    )
}

fn known_vr(vr: [u8; 2]) -> bool {
    long_vr(vr)
        || matches!(
            &vr,
            b"AE"
                | b"AS"
                | b"AT"
                | b"CS"
                | b"DA"
                | b"DS"
                | b"DT"
                | b"FL"
                | b"FD"
                | b"IS"
                | b"LO"
                | b"LT"
                | b"PN"
                | b"SH"
                | b"SL"
                | b"SS"
                | b"ST"
                | b"TM"
                | b"UI"
                | b"UL"
                | b"US"
        )
}

impl DatasetWalker {
    pub fn new(enc: Encoding, scan_limit: u64, value_cap: usize) -> Self {
        DatasetWalker {
            enc,
            step: if enc == Encoding::NotParsed {
                Step::Done
            } else {
                Step::Header
            },
            hdr: [0; 12],
            hdr_len: 0,
            depth: 0,
            scanned: 0,
            scan_limit,
            value_cap,
            cap_buf: Vec::new(),
            summary: DatasetSummary::default(),
        }
    }

    /// The encoding used (after a guess, the guessed one).
    pub fn encoding(&self) -> Encoding {
        self.enc
    }

    /// True once nothing more will be read from this data set.
    pub fn done(&self) -> bool {
        self.step == Step::Done
    }

    pub fn summary(&self) -> &DatasetSummary {
        &self.summary
    }

    pub fn into_summary(self) -> DatasetSummary {
        self.summary
    }

    /// Feeds the next bytes of the data set.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.scanned >= self.scan_limit && matches!(self.step, Step::Header) {
                self.step = Step::Done;
            }
            match self.step {
                Step::Done => return,
                Step::Skip { left } => {
                    let n = (left as usize).min(data.len());
                    self.step = if n as u32 == left {
                        Step::Header
                    } else {
                        Step::Skip {
                            left: left - n as u32,
                        }
                    };
                    self.scanned += n as u64;
                    data = data.get(n..).unwrap_or(&[]);
                }
                Step::Capture { attr, left } => {
                    let n = (left as usize).min(data.len());
                    let room = self.value_cap.saturating_sub(self.cap_buf.len());
                    self.cap_buf
                        .extend_from_slice(data.get(..n.min(room)).unwrap_or(&[]));
                    self.scanned += n as u64;
                    data = data.get(n..).unwrap_or(&[]);
                    if n as u32 == left {
                        let v = clean_value(&self.cap_buf);
                        self.cap_buf.clear();
                        if !v.is_empty() && self.summary.get(attr).is_none() {
                            self.summary.values.push((attr, v));
                        }
                        self.step = Step::Header;
                    } else {
                        self.step = Step::Capture {
                            attr,
                            left: left - n as u32,
                        };
                    }
                }
                Step::Header => {
                    let want = self.header_len();
                    let take = want.saturating_sub(self.hdr_len).min(data.len());
                    if let (Some(dst), Some(src)) = (
                        self.hdr.get_mut(self.hdr_len..self.hdr_len + take),
                        data.get(..take),
                    ) {
                        dst.copy_from_slice(src);
                    }
                    self.hdr_len += take;
                    self.scanned += take as u64;
                    data = data.get(take..).unwrap_or(&[]);
                    if self.hdr_len < want {
                        continue;
                    }
                    // A 12-byte header may only be known to be needed after 8 bytes.
                    if self.header_len() > self.hdr_len {
                        continue;
                    }
                    self.on_header();
                }
            }
        }
    }

    /// Bytes of the current header: 8, or 12 for explicit long VRs (known after 6 bytes).
    fn header_len(&self) -> usize {
        if self.hdr_len < 6 || self.enc != Encoding::ExplicitLe {
            return 8;
        }
        let group = u16::from_le_bytes([self.hdr[0], self.hdr[1]]);
        if group == 0xFFFE {
            return 8;
        }
        if long_vr([self.hdr[4], self.hdr[5]]) {
            12
        } else {
            8
        }
    }

    fn on_header(&mut self) {
        let h = self.hdr;
        self.hdr_len = 0;
        let group = u16::from_le_bytes([h[0], h[1]]);
        let elem = u16::from_le_bytes([h[2], h[3]]);
        let tag = (u32::from(group) << 16) | u32::from(elem);
        if self.enc == Encoding::Guess {
            self.enc = if group != 0xFFFE && known_vr([h[4], h[5]]) {
                Encoding::ExplicitLe
            } else {
                Encoding::ImplicitLe
            };
            if self.enc == Encoding::ExplicitLe && long_vr([h[4], h[5]]) {
                // Need the 4 more bytes of a long header: re-collect them.
                self.hdr_len = 8;
                self.hdr = h;
                return;
            }
        }
        let mut vr: Option<[u8; 2]> = None;
        let len = if group == 0xFFFE || self.enc == Encoding::ImplicitLe {
            u32::from_le_bytes([h[4], h[5], h[6], h[7]])
        } else {
            let v = [h[4], h[5]];
            if !known_vr(v) {
                self.summary.malformed = true;
                self.step = Step::Done;
                return;
            }
            vr = Some(v);
            if long_vr(v) {
                u32::from_le_bytes([h[8], h[9], h[10], h[11]])
            } else {
                u32::from(u16::from_le_bytes([h[6], h[7]]))
            }
        };
        if group == 0xFFFE {
            match elem {
                0xE000 if len == UNDEFINED => self.depth += 1,
                0xE000 => self.step = Step::Skip { left: len },
                0xE00D | 0xE0DD => self.depth = self.depth.saturating_sub(1),
                _ => {
                    self.summary.malformed = true;
                    self.step = Step::Done;
                }
            }
            return;
        }
        self.note_phi(tag, vr);
        if tag == PIXEL_DATA && self.depth == 0 {
            self.step = Step::Done;
            return;
        }
        if len == UNDEFINED {
            // Sequence (or UN) of undefined length: walk into it.
            self.depth += 1;
            return;
        }
        if self.depth == 0 {
            if let Some((_, attr)) = DEVICE_ATTRS.iter().find(|(t, _)| *t == tag) {
                if len == 0 {
                    return;
                }
                self.cap_buf.clear();
                self.step = Step::Capture {
                    attr: *attr,
                    left: len,
                };
                return;
            }
        }
        if len > 0 {
            self.step = Step::Skip { left: len };
        }
    }

    fn note_phi(&mut self, tag: u32, vr: Option<[u8; 2]>) {
        if let Some(i) = PHI_ATTRS.iter().position(|(t, _)| *t == tag) {
            self.summary.phi |= 1u64 << i;
        } else if tag >> 16 == 0x0010 {
            self.summary.phi |= OTHER_PATIENT_BIT;
        } else if vr == Some(*b"PN") {
            self.summary.phi |= OTHER_PN_BIT;
        }
    }
}

/// A kept value as text: trailing NUL/space padding removed, control bytes replaced.
pub fn clean_value(b: &[u8]) -> String {
    let end = b
        .iter()
        .rposition(|&c| c != 0 && c != b' ')
        .map(|i| i + 1)
        .unwrap_or(0);
    let start = b.iter().position(|&c| c != b' ').unwrap_or(0).min(end);
    let t = b.get(start..end).unwrap_or(&[]);
    String::from_utf8_lossy(t)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
