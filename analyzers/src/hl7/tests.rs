//! Unit tests of the HL7 analyzer: wire parsing, framing, correlation, PHI, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests fail loudly on purpose

use super::wire::{self, Delimiters, FrameScan, ProbeResult};
use super::{Hl7Analyzer, Hl7Config, SecretKey};
use model::{
    AnomalyCounts, Cx, Direction, Event, EventKind, FlowMeta, IpProto, Progress, StreamAnalyzer,
    Timestamp,
};
use proptest::prelude::*;
use serde_json::Value;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

fn meta() -> FlowMeta {
    crate::testutil::flow_meta(
        IpProto::TCP,
        ("10.0.0.1", 40000),
        ("10.0.0.2", 2575),
        "t",
        "hl7",
    )
}

/// One delivery: (direction, capture time in microseconds, bytes). A `None` byte slice is a
/// gap of that many bytes.
enum Step<'a> {
    Data(Direction, i64, &'a [u8]),
    Gap(Direction, i64, u64),
}

struct Out {
    events: Vec<Event>,
    counts: AnomalyCounts,
}

impl Out {
    fn hl7(&self) -> Vec<Value> {
        self.events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Hl7(_)))
            .map(|e| e.to_eve_value("t")["hl7"].clone())
            .collect()
    }
    fn anomalies(&self) -> Vec<&'static str> {
        crate::testutil::anomaly_codes(&self.events)
    }
    fn all_json(&self) -> String {
        self.events
            .iter()
            .map(|e| e.to_eve_value("t").to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn run_cfg(cfg: &Hl7Config, steps: &[Step<'_>]) -> Out {
    let m = meta();
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = 1000u32;
    let mut a = Hl7Analyzer::new(cfg);
    let mut last = 0;
    for s in steps {
        match s {
            Step::Data(dir, ts, data) => {
                last = *ts;
                let mut cx = Cx::new(Timestamp(*ts), &m, &mut events, &mut counts, &mut budget);
                let p = a.on_data(&mut cx, *dir, data);
                assert_eq!(p, Progress::Done);
            }
            Step::Gap(dir, ts, len) => {
                last = *ts;
                let mut cx = Cx::new(Timestamp(*ts), &m, &mut events, &mut counts, &mut budget);
                a.on_gap(&mut cx, *dir, *len);
            }
        }
    }
    let mut cx = Cx::new(Timestamp(last), &m, &mut events, &mut counts, &mut budget);
    a.on_eof(&mut cx, C2S);
    a.on_eof(&mut cx, S2C);
    a.on_close(&mut cx);
    Out { events, counts }
}

fn run(steps: &[Step<'_>]) -> Out {
    run_cfg(&Hl7Config::default(), steps)
}

fn mllp(body: &str) -> Vec<u8> {
    let mut v = vec![0x0b];
    v.extend_from_slice(body.as_bytes());
    v.extend_from_slice(&[0x1c, 0x0d]);
    v
}

const ADT: &str = "MSH|^~\\&|ADT1|GOOD HEALTH HOSPITAL|GHH LAB, INC.|GOOD HEALTH HOSPITAL|198808181126|SECURITY|ADT^A01^ADT_A01|MSG00001|P|2.5.1\r\
EVN|A01|200708181123||\r\
PID|1||PATID1234^^^GOOD HEALTH HOSPITAL^MR~123456789^^^USSSA^SS||EVERYWOMAN^EVE^E^^^^L|JONES|19620320|F|||153 FERNWOOD DR.^^STATESVILLE^OH^35292||(206)3345232|(206)752-121||||AC555444444||67-A4335^OH^20030520\r\
NK1|1|NUCLEAR^NELDA^W|SPO^SPOUSE\r\
PV1|1|I|2000^2012^01||||004777^ATTEND^AARON^A|||SUR||||ADM|A0|\r";

const ADT_ACK: &str = "MSH|^~\\&|GHH LAB, INC.|GOOD HEALTH HOSPITAL|ADT1|GOOD HEALTH HOSPITAL|198808181127||ACK^A01^ACK|ACK00001|P|2.5.1\rMSA|AA|MSG00001\r";

const ORU: &str = "MSH|^~\\&|PUMP_GW|ICU-3|EHR|HOSP|20240101120000||ORU^R01^ORU_R01|ORU-7|P|2.6|||AL|NE||UNICODE UTF-8\r\
PID|1||MRN-99817^^^HOSP^MR||ZEBULON^QUIXANO||19770707|M\r\
OBR|1||5555|PUMP^Pump status\r\
OBX|1|NM|RATE^Infusion rate||12.5|mL/h|||||F||||||||PUMP-SN-0042^INFUSOMAT^0123ABC^ISO\r\
OBX|2|ST|DRUG^Drug||HEPARIN|||||F||||||||PUMP-SN-0042^INFUSOMAT^0123ABC^ISO\r\
PRT|1|AD||||||||DEVICE-17^BRAUN||||||(01)04046964123456(21)SN42\r";

// ---------------------------------------------------------------- wire

#[test]
fn delimiters_default_declared() {
    // MSH-1 '|' and MSH-2 '^~\&' map to their roles, no truncation character.
    let d = wire::parse_delimiters(b"MSH|^~\\&|APP").unwrap();
    assert_eq!(d.delimiters, Delimiters::DEFAULT);
    assert_eq!(d.encoding_characters, b"^~\\&");
    assert!(!d.issues.any());
}

#[test]
fn delimiters_v27_truncation_character() {
    // v2.7: a fifth MSH-2 character is the truncation character.
    let d = wire::parse_delimiters(b"MSH|^~\\&#|APP").unwrap();
    assert_eq!(d.delimiters.truncation, Some(b'#'));
    assert_eq!(d.encoding_characters, b"^~\\&#");
    assert!(!d.issues.any());
}

#[test]
fn delimiters_non_default_declared() {
    // MSH*%$\! : field '*', component '%', repetition '$', escape '\', subcomponent '!'.
    let d = wire::parse_delimiters(b"MSH*%$\\!*APP").unwrap().delimiters;
    assert_eq!(
        d,
        Delimiters {
            field: b'*',
            component: Some(b'%'),
            repetition: Some(b'$'),
            escape: Some(b'\\'),
            subcomponent: Some(b'!'),
            truncation: None
        }
    );
}

#[test]
fn delimiters_repeated_missing_invalid_flagged() {
    // Repeated: '^' twice; the repeat gets no role.
    let d = wire::parse_delimiters(b"MSH|^^\\&|").unwrap();
    assert!(d.issues.repeated && !d.issues.missing);
    assert_eq!(d.delimiters.repetition, None);
    // Field separator reused inside MSH-2 ends MSH-2 early: only two characters.
    let d = wire::parse_delimiters(b"MSH|^~|").unwrap();
    assert!(d.issues.missing);
    assert_eq!(d.delimiters.escape, None);
    // A letter cannot delimit.
    let d = wire::parse_delimiters(b"MSH|^~A&|").unwrap();
    assert!(d.issues.invalid);
    // Six characters: more than v2.7 defines.
    let d = wire::parse_delimiters(b"MSH|^~\\&#!|").unwrap();
    assert!(d.issues.invalid);
    assert_eq!(
        wire::parse_delimiters(b"MSH"),
        Err(wire::HeaderError::TooShort)
    );
    assert_eq!(
        wire::parse_delimiters(b"MSHA^~\\&"),
        Err(wire::HeaderError::BadFieldSeparator)
    );
    assert_eq!(
        wire::parse_delimiters(b"MSH\r^~\\&"),
        Err(wire::HeaderError::BadFieldSeparator)
    );
}

#[test]
fn segments_split_on_cr_lf_crlf() {
    // Three terminator styles and an unterminated last segment; empty segments skipped.
    let b = b"MSH|a\rPID|b\nPV1|c\r\nOBX|d\r\r\nNTE|e";
    let s: Vec<_> = wire::segments(b).collect();
    let ids: Vec<&[u8]> = s.iter().map(|s| s.bytes).collect();
    assert_eq!(
        ids,
        vec![&b"MSH|a"[..], b"PID|b", b"PV1|c", b"OBX|d", b"NTE|e"]
    );
    assert_eq!(s[0].wire_len(), 6); // "MSH|a" + CR
    assert_eq!(s[2].wire_len(), 7); // "PV1|c" + CRLF
    assert_eq!(s[3].wire_len(), 8); // "OBX|d" + CR + CRLF (a blank line belongs to it)
    assert_eq!(s[4].wire_len(), 5); // unterminated
    assert_eq!(wire::segments(b"\r\n\r").count(), 0);
}

#[test]
fn header_field_numbering_msh1_is_separator() {
    // MSH-3 is the piece after MSH-2; MSH-9 the message type; MSH-10 the control id.
    let seg = b"MSH|^~\\&|SA|SF|RA|RF|TS|SEC|ADT^A01|CID|P|2.3";
    assert_eq!(wire::header_field(seg, b'|', 3), Some(&b"SA"[..]));
    assert_eq!(wire::header_field(seg, b'|', 6), Some(&b"RF"[..]));
    assert_eq!(wire::header_field(seg, b'|', 9), Some(&b"ADT^A01"[..]));
    assert_eq!(wire::header_field(seg, b'|', 10), Some(&b"CID"[..]));
    assert_eq!(wire::header_field(seg, b'|', 12), Some(&b"2.3"[..]));
    assert_eq!(wire::header_field(seg, b'|', 13), None);
    // Other segments: field n is the nth piece.
    let f: Vec<_> = wire::fields(b"MSA|AE|X1", b'|').collect();
    assert_eq!(f, vec![&b"MSA"[..], b"AE", b"X1"]);
}

fn rendered(field: &[u8], d: &Delimiters, cap: usize) -> (String, bool) {
    let mut out = Vec::new();
    let c = wire::render_field(field, d, cap, &mut out);
    (String::from_utf8_lossy(&out).into_owned(), c)
}

#[test]
fn render_field_decodes_escapes() {
    // Every delimiter escape, hex, highlighting, formatting, unknown and unterminated.
    let d = Delimiters {
        truncation: Some(b'#'),
        ..Delimiters::DEFAULT
    };
    let (s, _) = rendered(b"A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\F\\P\\", &d, 256);
    assert_eq!(s, "A|B^C&D~E\\F#");
    assert_eq!(rendered(b"\\X414243\\", &d, 256).0, "ABC");
    assert_eq!(
        rendered(b"\\H\\bold\\N\\ x\\.br\\y", &d, 256).0,
        "bold x\ny"
    );
    assert_eq!(rendered(b"\\Zlocal\\\\C2842\\ok", &d, 256).0, "ok");
    assert_eq!(rendered(b"\\Q\\", &d, 256).0, "\\Q\\"); // unknown kept as sent
    assert_eq!(rendered(b"\\X4\\", &d, 256).0, "\\X4\\"); // odd hex kept
    assert_eq!(rendered(b"open\\F", &d, 256).0, "open\\F"); // unterminated kept
    assert_eq!(rendered(b"a^b~c&d", &d, 256).0, "a^b~c&d");
}

#[test]
fn render_field_maps_declared_separators() {
    // With MSH*%$\! the declared component/repetition/subcomponent show as ^ ~ &.
    let d = wire::parse_delimiters(b"MSH*%$\\!*").unwrap().delimiters;
    assert_eq!(rendered(b"a%b$c!d\\S\\", &d, 256).0, "a^b~c&d%");
}

#[test]
fn render_field_capped() {
    // Output stops at the cap and says so; exactly the cap is not cut.
    assert_eq!(
        rendered(b"abcdef", &Delimiters::DEFAULT, 3),
        ("abc".to_string(), true)
    );
    assert_eq!(
        rendered(b"abc", &Delimiters::DEFAULT, 3),
        ("abc".to_string(), false)
    );
    assert_eq!(
        rendered(b"\\X41424344\\", &Delimiters::DEFAULT, 2),
        ("AB".to_string(), true)
    );
}

#[test]
fn render_field_escape_overshoot_cut_at_cap() {
    // A hex escape that writes past the cap, with text after it, is still cut at the cap.
    let (s, c) = rendered(br"\X4142434445\zz", &Delimiters::DEFAULT, 3);
    assert_eq!((s.as_str(), c), ("ABC", true));
}

#[test]
fn scan_frame_finds_end_or_restart() {
    // End block, a start block before any end, or neither.
    assert_eq!(wire::scan_frame(b"MSH|x\r\x1c\r"), FrameScan::End(6));
    assert_eq!(wire::scan_frame(b"MSH|x\x0bMSH"), FrameScan::Restart(5));
    assert_eq!(wire::scan_frame(b"MSH|x"), FrameScan::Open);
}

#[test]
fn probe_recognises_mllp_unframed_and_rejects_others() {
    // Start block + MSH/BHS/FHS, un-framed MSH, mid-stream frames, and non-HL7.
    assert_eq!(wire::probe(b"\x0bMSH|^~\\&|A"), ProbeResult::Mllp);
    assert_eq!(wire::probe(b"\x0bFHS|^~\\&|A"), ProbeResult::Mllp);
    assert_eq!(wire::probe(b"\x0bMSH*%$\\!*A"), ProbeResult::Mllp);
    assert_eq!(
        wire::probe(b"OBX|1|NM\r\x1c\r\x0bMSH|^~\\&|"),
        ProbeResult::Mllp
    );
    assert_eq!(wire::probe(b"MSH|^~\\&|A|B"), ProbeResult::Unframed);
    assert_eq!(wire::probe(b"\x0bMS"), ProbeResult::NeedMore);
    assert_eq!(wire::probe(b""), ProbeResult::NeedMore);
    assert_eq!(wire::probe(b"M"), ProbeResult::NeedMore);
    assert_eq!(wire::probe(b"OBX|1|NM\r\x1c\r"), ProbeResult::NeedMore);
    assert_eq!(wire::probe(b"GET / HTTP/1.1\r\n"), ProbeResult::NoMatch);
    assert_eq!(wire::probe(b"\x0bMSHA^~\\&"), ProbeResult::NoMatch);
    assert_eq!(wire::probe(b"MSH|abcd|"), ProbeResult::NoMatch);
    assert_eq!(wire::probe(&[0x16, 3, 1, 0, 0x20]), ProbeResult::NoMatch);
}

// ---------------------------------------------------------------- messages

#[test]
fn adt_a01_with_ack_reports_facts_and_latency() {
    // An ADT^A01 and its AA ACK 2.5 ms later: every routing fact, the ACK on the record.
    let m = mllp(ADT);
    let a = mllp(ADT_ACK);
    let out = run(&[
        Step::Data(C2S, 1_000_000, &m),
        Step::Data(S2C, 1_002_500, &a),
    ]);
    let ev = out.hl7();
    assert_eq!(ev.len(), 2, "{ev:?}");
    let msg = &ev[0];
    assert_eq!(msg["direction"], "to_server");
    assert_eq!(msg["framing"], "mllp");
    assert_eq!(msg["bytes"], ADT.len());
    assert_eq!(msg["field_separator"], "|");
    assert_eq!(msg["encoding_characters"], "^~\\&");
    assert_eq!(msg["sending_application"], "ADT1");
    assert_eq!(msg["sending_facility"], "GOOD HEALTH HOSPITAL");
    assert_eq!(msg["receiving_application"], "GHH LAB, INC.");
    assert_eq!(msg["receiving_facility"], "GOOD HEALTH HOSPITAL");
    assert_eq!(msg["message_type"], "ADT^A01");
    assert_eq!(msg["message_structure"], "ADT_A01");
    assert_eq!(msg["control_id"], "MSG00001");
    assert_eq!(msg["processing_id"], "P");
    assert_eq!(msg["version"], "2.5.1");
    assert_eq!(
        msg["segments"],
        serde_json::json!(["MSH", "EVN", "PID", "NK1", "PV1"])
    );
    assert_eq!(msg["acknowledged"], true);
    assert_eq!(msg["ack_code"], "AA");
    assert_eq!(msg["ack_latency_ms"], 2.5);
    assert_eq!(msg["message_time"], "1970-01-01T00:00:01.000000+0000");
    assert_eq!(msg["cleartext"], true);
    assert_eq!(
        msg["phi_fields"],
        serde_json::json!([
            "PID-1", "PID-3", "PID-5", "PID-6", "PID-7", "PID-8", "PID-11", "PID-13", "PID-14",
            "PID-18", "PID-20", "NK1-1", "NK1-2", "NK1-3"
        ])
    );
    assert!(
        msg.get("patient_id_hmac").is_none(),
        "HMAC is off by default"
    );
    let ack = &ev[1];
    assert_eq!(ack["direction"], "to_client");
    assert_eq!(ack["message_type"], "ACK^A01");
    assert_eq!(ack["ack_code"], "AA");
    assert_eq!(ack["ack_control_id"], "MSG00001");
    assert!(ack.get("acknowledged").is_none());
    assert_eq!(ack["phi_fields"], serde_json::json!([]));
    assert!(out.anomalies().is_empty(), "{:?}", out.anomalies());
}

#[test]
fn oru_device_evidence_and_charset() {
    // OBX-18 (deduplicated), PRT-10, PRT-16, MSH-3/4 as evidence; MSH-18 noted; OBX-5 is PHI.
    let m = mllp(ORU);
    let out = run(&[Step::Data(C2S, 0, &m)]);
    let ev = out.hl7();
    assert_eq!(ev.len(), 1);
    let e = &ev[0];
    assert_eq!(e["charset"], "UNICODE UTF-8");
    assert_eq!(
        e["acknowledged"], false,
        "no ACK before the connection ended"
    );
    assert_eq!(
        e["device_evidence"],
        serde_json::json!([
            {"source": "MSH-3", "value": "PUMP_GW"},
            {"source": "MSH-4", "value": "ICU-3"},
            {"source": "OBX-18", "value": "PUMP-SN-0042^INFUSOMAT^0123ABC^ISO"},
            {"source": "PRT-10", "value": "DEVICE-17^BRAUN"},
            {"source": "PRT-16", "value": "(01)04046964123456(21)SN42"},
        ])
    );
    let phi: Vec<String> = serde_json::from_value(e["phi_fields"].clone()).unwrap();
    assert!(
        phi.contains(&"OBX-5".to_string()) && phi.contains(&"PID-5".to_string()),
        "{phi:?}"
    );
}

#[test]
fn obx5_of_device_message_without_pid_is_not_phi() {
    // A device-only ORU (no PID): OBX-5 is a measurement, not patient data.
    let m = mllp("MSH|^~\\&|MON|ICU|||20240101||ORU^R01|1|P|2.6\rOBX|1|NM|HR||72|bpm\r");
    let out = run(&[Step::Data(C2S, 0, &m)]);
    assert_eq!(out.hl7()[0]["phi_fields"], serde_json::json!([]));
}

#[test]
fn phi_values_never_in_output() {
    // Distinctive names, DOB, ids, addresses of PID/NK1/OBX-5 appear nowhere in any event.
    let m = mllp(ADT);
    let o = mllp(ORU);
    let a = mllp(ADT_ACK);
    let cfg = Hl7Config {
        patient_id_hmac_key: Some(SecretKey("k".into())),
        ..Default::default()
    };
    let out = run_cfg(
        &cfg,
        &[
            Step::Data(C2S, 0, &m),
            Step::Data(C2S, 1, &o),
            Step::Data(S2C, 2, &a),
        ],
    );
    let all = out.all_json();
    for phi in [
        "EVERYWOMAN",
        "19620320",
        "PATID1234",
        "123456789",
        "FERNWOOD",
        "NUCLEAR",
        "ZEBULON",
        "QUIXANO",
        "19770707",
        "MRN-99817",
        "HEPARIN",
        "12.5",
        "3345232",
    ] {
        assert!(!all.contains(phi), "{phi} leaked: {all}");
    }
    assert!(all.contains("ADT^A01"), "the test would pass vacuously");
}

#[test]
fn patient_id_hmac_when_keyed_is_stable_across_delimiters() {
    // With a key: a 32-hex HMAC of PID-3, the same for the same id under other delimiters.
    let cfg = Hl7Config {
        patient_id_hmac_key: Some(SecretKey("secret".into())),
        ..Default::default()
    };
    let a = mllp("MSH|^~\\&|A|B|C|D|1||ADT^A04|1|P|2.5\rPID|1||ID77^^^H^MR\r");
    let b = mllp("MSH*%$\\!*A*B*C*D*1**ADT%A04*2*P*2.5\rPID*1**ID77%%%H%MR\r");
    let c = mllp("MSH|^~\\&|A|B|C|D|1||ADT^A04|3|P|2.5\rPID|1||ID78^^^H^MR\r");
    let out = run_cfg(
        &cfg,
        &[
            Step::Data(C2S, 0, &a),
            Step::Data(C2S, 1, &b),
            Step::Data(C2S, 2, &c),
        ],
    );
    let ev = out.hl7();
    let h: Vec<&str> = ev
        .iter()
        .map(|e| e["patient_id_hmac"].as_str().unwrap())
        .collect();
    assert_eq!(h[0].len(), 32);
    assert_eq!(h[0], h[1]);
    assert_ne!(h[0], h[2]);
    let empty = Hl7Config {
        patient_id_hmac_key: Some(SecretKey(String::new())),
        ..Default::default()
    };
    assert!(run_cfg(&empty, &[Step::Data(C2S, 0, &a)]).hl7()[0]
        .get("patient_id_hmac")
        .is_none());
}

#[test]
fn secret_key_never_printed() {
    // Debug and Serialize of the configuration redact the HMAC key.
    let cfg = Hl7Config {
        patient_id_hmac_key: Some(SecretKey("topsecret".into())),
        ..Default::default()
    };
    assert!(!format!("{cfg:?}").contains("topsecret"));
    assert!(!serde_json::to_string(&cfg).unwrap().contains("topsecret"));
}

#[test]
fn non_default_delimiters_parsed_as_declared() {
    // MSH*%$\! with escapes: facts rendered with ^ between components.
    let m = mllp("MSH*%$\\!*LAB%X*FAC\\S\\1*EHR*H*2024**ORM%O01%ORM_O01*C9*P*2.4\rORC*NW*1\r");
    let ack = mllp("MSH*%$\\!*EHR*H*LAB*FAC*2024**ACK*K1*P*2.4\rMSA*AR*C9\r");
    let out = run(&[Step::Data(C2S, 0, &m), Step::Data(S2C, 10_000, &ack)]);
    let ev = out.hl7();
    assert_eq!(ev[0]["field_separator"], "*");
    assert_eq!(ev[0]["encoding_characters"], "%$\\!");
    assert_eq!(ev[0]["sending_application"], "LAB^X");
    assert_eq!(ev[0]["sending_facility"], "FAC%1");
    assert_eq!(ev[0]["message_type"], "ORM^O01");
    assert_eq!(ev[0]["message_structure"], "ORM_O01");
    assert_eq!(ev[0]["ack_code"], "AR");
    assert_eq!(ev[0]["ack_latency_ms"], 10.0);
    assert_eq!(ev[1]["message_type"], "ACK");
}

#[test]
fn ack_codes_ae_ar_correlated_by_control_id() {
    // Two messages answered out of order with AE and AR: each gets its own code.
    let m1 = mllp("MSH|^~\\&|A||B||1||ADT^A08|ONE|P|2.5\r");
    let m2 = mllp("MSH|^~\\&|A||B||1||ADT^A08|TWO|P|2.5\r");
    let a2 = mllp("MSH|^~\\&|B||A||1||ACK|X2|P|2.5\rMSA|AR|TWO\r");
    let a1 = mllp("MSH|^~\\&|B||A||1||ACK|X1|P|2.5\rMSA|AE|ONE\r");
    let out = run(&[
        Step::Data(C2S, 0, &m1),
        Step::Data(C2S, 1000, &m2),
        Step::Data(S2C, 3000, &a2),
        Step::Data(S2C, 7000, &a1),
    ]);
    let ev = out.hl7();
    let by_id = |id: &str| ev.iter().find(|e| e["control_id"] == id).unwrap().clone();
    assert_eq!(by_id("TWO")["ack_code"], "AR");
    assert_eq!(by_id("TWO")["ack_latency_ms"], 2.0);
    assert_eq!(by_id("ONE")["ack_code"], "AE");
    assert_eq!(by_id("ONE")["ack_latency_ms"], 7.0);
}

#[test]
fn ack_from_same_direction_does_not_match() {
    // An ACK travelling the same way as the message does not acknowledge it.
    let m = mllp("MSH|^~\\&|A||B||1||ADT^A08|ONE|P|2.5\r");
    let a = mllp("MSH|^~\\&|B||A||1||ACK|X1|P|2.5\rMSA|AA|ONE\r");
    let out = run(&[Step::Data(C2S, 0, &m), Step::Data(C2S, 1, &a)]);
    let ev = out.hl7();
    assert_eq!(
        ev.iter().find(|e| e["control_id"] == "ONE").unwrap()["acknowledged"],
        false
    );
    assert!(out.anomalies().contains(&"unmatched_ack"));
}

#[test]
fn unacknowledged_messages_reported_at_close() {
    // Without ACKs, both messages come out at on_close with acknowledged=false.
    let m1 = mllp("MSH|^~\\&|A||B||1||ADT^A08|ONE|P|2.5\r");
    let m2 = mllp("MSH|^~\\&|A||B||1||ADT^A08|TWO|P|2.5\r");
    let out = run(&[Step::Data(C2S, 0, &m1), Step::Data(C2S, 5, &m2)]);
    let ev = out.hl7();
    assert_eq!(ev.len(), 2);
    assert!(ev
        .iter()
        .all(|e| e["acknowledged"] == false && e.get("ack_code").is_none()));
    assert_eq!(ev[0]["control_id"], "ONE");
}

#[test]
fn ack_timeout_reports_unacknowledged_in_capture_time() {
    // A message older than ack_timeout_secs is written on the next delivery; its late ACK is unmatched.
    let m1 = mllp("MSH|^~\\&|A||B||1||ADT^A08|ONE|P|2.5\r");
    let a1 = mllp("MSH|^~\\&|B||A||1||ACK|X1|P|2.5\rMSA|AA|ONE\r");
    let cfg = Hl7Config {
        ack_timeout_secs: 2,
        ..Default::default()
    };
    let out = run_cfg(
        &cfg,
        &[Step::Data(C2S, 0, &m1), Step::Data(S2C, 3_000_000, &a1)],
    );
    let ev = out.hl7();
    assert_eq!(ev[0]["control_id"], "ONE");
    assert_eq!(ev[0]["acknowledged"], false);
    assert_eq!(out.events[0].ts, Timestamp(3_000_000));
    assert!(out.anomalies().contains(&"unmatched_ack"));
}

#[test]
fn pending_cap_reports_oldest_unacknowledged() {
    // With max_pending_acks = 2 the third message pushes the first out.
    let cfg = Hl7Config {
        max_pending_acks: 2,
        ..Default::default()
    };
    let ms: Vec<Vec<u8>> = (0..3)
        .map(|i| mllp(&format!("MSH|^~\\&|A||B||1||ADT^A08|M{i}|P|2.5\r")))
        .collect();
    let out = run_cfg(
        &cfg,
        &[
            Step::Data(C2S, 0, &ms[0]),
            Step::Data(C2S, 1, &ms[1]),
            Step::Data(C2S, 2, &ms[2]),
        ],
    );
    assert_eq!(out.counts.0[&("hl7", "too_many_pending_acks")], 1);
    assert_eq!(out.hl7()[0]["control_id"], "M0");
    assert_eq!(out.events[1].ts, Timestamp(2));
}

#[test]
fn mllp_release2_commit_ack_recorded() {
    // <VT><ACK><FS><CR> after a message marks it committed; a NAK on the next.
    let m1 = mllp("MSH|^~\\&|A||B||1||ADT^A08|ONE|P|2.5\r");
    let m2 = mllp("MSH|^~\\&|A||B||1||ADT^A08|TWO|P|2.5\r");
    let out = run(&[
        Step::Data(C2S, 0, &m1),
        Step::Data(S2C, 1, b"\x0b\x06\x1c\x0d"),
        Step::Data(C2S, 2, &m2),
        Step::Data(S2C, 3, b"\x0b\x15\x1c\x0d"),
    ]);
    let ev = out.hl7();
    assert_eq!(ev[0]["mllp_commit"], "ack");
    assert_eq!(ev[1]["mllp_commit"], "nak");
    assert!(out.anomalies().is_empty());
}

#[test]
fn three_messages_in_one_chunk() {
    // Three frames in one delivery give three events in order.
    let mut b = Vec::new();
    for i in 0..3 {
        b.extend(mllp(&format!(
            "MSH|^~\\&|A||B||1||ORM^O01|C{i}|P|2.3\rORC|NW\r"
        )));
    }
    let out = run(&[Step::Data(C2S, 0, &b)]);
    let ids: Vec<Value> = out.hl7().iter().map(|e| e["control_id"].clone()).collect();
    assert_eq!(ids, vec!["C0", "C1", "C2"]);
}

/// A stream with everything the framing must survive: messages, an ACK, a commit block,
/// filler and garbage between frames, LF and CRLF terminators, a batch.
fn mixed_stream() -> (Vec<u8>, Vec<u8>) {
    let mut c2s = Vec::new();
    c2s.extend(mllp(ADT));
    c2s.extend_from_slice(b"\r\n");
    c2s.extend(mllp(&ORU.replace('\r', "\r\n")));
    c2s.extend_from_slice(b"junk");
    c2s.extend(mllp("FHS|^~\\&|A|F|||||||FILE1\rBHS|^~\\&|A|F|||||||B7\rMSH|^~\\&|A||B||1||ADT^A04|B1|P|2.5\rPID|1||X\rMSH|^~\\&|A||B||1||ADT^A04|B2|P|2.5\nBTS|2\rFTS|1\r"));
    let mut s2c = Vec::new();
    s2c.extend(mllp(ADT_ACK));
    s2c.extend_from_slice(b"\x0b\x06\x1c\x0d");
    (c2s, s2c)
}

/// Asserts two event dumps are equal, showing the first differing line.
fn same(got: &str, want: &str) {
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "line {i} differs");
    }
    assert_eq!(got.lines().count(), want.lines().count());
}

fn run_split(c2s: &[u8], s2c: &[u8], chunk: &dyn Fn(usize) -> usize) -> String {
    let mut steps = Vec::new();
    let mut i = 0;
    let mut n = 0;
    while i < c2s.len() {
        let k = chunk(n).min(c2s.len() - i).max(1);
        steps.push(Step::Data(C2S, 0, &c2s[i..i + k]));
        i += k;
        n += 1;
    }
    let mut i = 0;
    while i < s2c.len() {
        let k = chunk(n).min(s2c.len() - i).max(1);
        steps.push(Step::Data(S2C, 0, &s2c[i..i + k]));
        i += k;
        n += 1;
    }
    run(&steps).all_json()
}

#[test]
fn byte_at_a_time_equals_whole() {
    // Feeding one byte per call gives exactly the events of one call per direction.
    let (c, s) = mixed_stream();
    let whole = run_split(&c, &s, &|_| usize::MAX);
    assert!(
        whole.matches("\"event_type\":\"hl7\"").count() == 5,
        "{whole}"
    );
    same(&run_split(&c, &s, &|_| 1), &whole);
    same(&run_split(&c, &s, &|n| 1 + n % 7), &whole);
}

#[test]
fn split_at_every_point_equals_whole() {
    // Two deliveries split at every offset give the same events.
    let (c, s) = mixed_stream();
    let whole = run_split(&c, &s, &|_| usize::MAX);
    for at in 1..c.len() {
        let out = run(&[
            Step::Data(C2S, 0, &c[..at]),
            Step::Data(C2S, 0, &c[at..]),
            Step::Data(S2C, 0, &s),
        ])
        .all_json();
        assert_eq!(out, whole, "split at {at}");
    }
}

#[test]
fn end_block_split_between_fs_and_cr() {
    // 0x1C ends one delivery, 0x0D starts the next: one message, no anomaly.
    let m = mllp(ADT);
    let (a, b) = m.split_at(m.len() - 1);
    let out = run(&[Step::Data(C2S, 0, a), Step::Data(C2S, 1, b)]);
    assert_eq!(out.hl7().len(), 1);
    assert!(out.anomalies().is_empty(), "{:?}", out.anomalies());
    assert_eq!(
        out.hl7()[0]["message_time"],
        "1970-01-01T00:00:00.000001+0000"
    );
}

#[test]
fn frame_prefix_never_emits_until_complete() {
    // Every proper prefix of a frame gives no message until the rest arrives; then the same.
    let m = mllp(ADT);
    let whole = run(&[Step::Data(C2S, 0, &m)]).all_json();
    let m2 = &m;
    for at in 0..m.len() {
        let mm = Hl7Config::default();
        let meta = meta();
        let mut events = Vec::new();
        let mut counts = AnomalyCounts::default();
        let mut budget = 100;
        let mut a = Hl7Analyzer::new(&mm);
        let mut cx = Cx::new(Timestamp(0), &meta, &mut events, &mut counts, &mut budget);
        a.on_data(&mut cx, C2S, &m2[..at]);
        assert!(cx.events().is_empty(), "prefix {at} emitted");
        let _ = a.on_data(&mut cx, C2S, &m2[at..]);
        a.on_close(&mut cx);
        let got: Vec<String> = events
            .iter()
            .map(|e| e.to_eve_value("t").to_string())
            .collect();
        assert_eq!(got.join("\n"), whole, "prefix {at}");
    }
}

#[test]
fn frame_prefix_at_eof_is_unterminated_and_truncated() {
    // A connection ending inside a frame reports the head with truncated=true.
    let m = mllp(ADT);
    let out = run(&[Step::Data(C2S, 0, &m[..120])]);
    assert_eq!(out.anomalies(), vec!["unterminated_frame"]);
    let ev = out.hl7();
    assert_eq!(ev[0]["truncated"], true);
    assert_eq!(ev[0]["message_type"], "ADT^A01");
}

// ---------------------------------------------------------------- bad input

#[test]
fn message_without_msh_is_anomaly() {
    // A frame starting with PID: missing_msh, no hl7 event, next frame still parsed.
    let bad = mllp("PID|1||X\rPV1|1\r");
    let good = mllp("MSH|^~\\&|A||B||1||ADT^A08|ONE|P|2.5\r");
    let out = run(&[Step::Data(C2S, 0, &bad), Step::Data(C2S, 0, &good)]);
    assert_eq!(out.anomalies(), vec!["missing_msh"]);
    assert_eq!(out.hl7().len(), 1);
}

#[test]
fn msh_shorter_than_nine_fields_is_anomaly() {
    // MSH up to MSH-6 only: msh_too_short, routing facts still reported.
    let out = run(&[Step::Data(C2S, 0, &mllp("MSH|^~\\&|A|B|C|D\r"))]);
    assert!(out.anomalies().contains(&"msh_too_short"));
    let ev = out.hl7();
    assert_eq!(ev[0]["sending_application"], "A");
    assert!(ev[0].get("message_type").is_none());
}

#[test]
fn msh2_repeated_or_missing_delimiters_are_anomalies() {
    // Repeated, missing and invalid encoding characters each have their own code.
    let out = run(&[
        Step::Data(C2S, 0, &mllp("MSH|^^\\&|A||B||1||ADT^A08|1|P|2.5\r")),
        Step::Data(C2S, 0, &mllp("MSH|^~|A||B||1||ADT^A08|2|P|2.5\r")),
        Step::Data(C2S, 0, &mllp("MSH|^~Q&|A||B||1||ADT^A08|3|P|2.5\r")),
        Step::Data(C2S, 0, &mllp("MSHX^~\\&XA\r")),
    ]);
    let a = out.anomalies();
    for code in [
        "encoding_characters_repeated",
        "encoding_characters_missing",
        "encoding_characters_invalid",
        "bad_field_separator",
    ] {
        assert!(a.contains(&code), "{code} missing from {a:?}");
    }
    assert_eq!(out.hl7().len(), 3);
}

#[test]
fn oversize_frame_capped_head_reported_then_resync() {
    // A frame past max_message_bytes: message_too_large, head facts reported as truncated,
    // the rest skipped, the next frame parsed; the buffer never exceeds the cap.
    let cfg = Hl7Config {
        max_message_bytes: 200,
        ..Default::default()
    };
    let big = mllp(&format!(
        "MSH|^~\\&|A||B||1||ORU^R01|BIG|P|2.5\rOBX|1|ED|PDF||{}\r",
        "Q".repeat(5000)
    ));
    let next = mllp("MSH|^~\\&|A||B||1||ADT^A08|NEXT|P|2.5\r");
    for chunk in [1usize, 7, 100_000] {
        let mut steps: Vec<Step<'_>> = big.chunks(chunk).map(|c| Step::Data(C2S, 0, c)).collect();
        steps.push(Step::Data(C2S, 0, &next));
        let out = run_cfg(&cfg, &steps);
        assert_eq!(out.anomalies(), vec!["message_too_large"], "chunk {chunk}");
        let ev = out.hl7();
        assert_eq!(ev.len(), 2, "chunk {chunk}");
        assert_eq!(ev[0]["control_id"], "BIG");
        assert_eq!(ev[0]["truncated"], true);
        assert_eq!(ev[0]["bytes"], 200);
        assert_eq!(ev[1]["control_id"], "NEXT");
    }
}

#[test]
fn bytes_between_frames_one_anomaly_per_run() {
    // Garbage between frames: one anomaly per run; CR/LF filler is tolerated.
    let m = mllp("MSH|^~\\&|A||B||1||ADT^A08|1|P|2.5\r");
    let mut s = m.clone();
    s.extend_from_slice(b"\r\n");
    s.extend(m.clone());
    s.extend_from_slice(b"xx\x00yy");
    s.extend(m.clone());
    let out = run(&[Step::Data(C2S, 0, &s)]);
    assert_eq!(out.anomalies(), vec!["bytes_between_frames"]);
    assert_eq!(out.hl7().len(), 3);
}

#[test]
fn start_block_inside_frame_restarts() {
    // A frame cut by a new start block: unterminated_frame, the head truncated, the next parsed.
    let mut s = b"\x0bMSH|^~\\&|A||B||1||ADT^A08|CUT|P|2.5\rPID|1".to_vec();
    s.extend(mllp("MSH|^~\\&|A||B||1||ADT^A08|WHOLE|P|2.5\r"));
    let out = run(&[Step::Data(C2S, 0, &s)]);
    assert_eq!(out.anomalies(), vec!["unterminated_frame"]);
    let ev = out.hl7();
    assert_eq!(ev[0]["control_id"], "CUT");
    assert_eq!(ev[0]["truncated"], true);
    assert_eq!(ev[1]["control_id"], "WHOLE");
}

#[test]
fn end_block_without_cr_is_anomaly() {
    // FS followed by the next start block instead of CR still ends the frame.
    let mut s = b"\x0bMSH|^~\\&|A||B||1||ADT^A08|1|P|2.5\r\x1c".to_vec();
    s.extend(mllp("MSH|^~\\&|A||B||1||ADT^A08|2|P|2.5\r"));
    let out = run(&[Step::Data(C2S, 0, &s)]);
    assert_eq!(out.anomalies(), vec!["end_block_without_cr"]);
    assert_eq!(out.hl7().len(), 2);
}

#[test]
fn empty_frame_is_anomaly() {
    // <VT><FS><CR> carries nothing.
    let out = run(&[Step::Data(C2S, 0, b"\x0b\x1c\x0d")]);
    assert_eq!(out.anomalies(), vec!["empty_frame"]);
}

#[test]
fn gap_inside_message_resyncs_at_next_start_block() {
    // A gap mid-frame reports the head (truncated), skips the tail silently, parses the next.
    let m = mllp(ADT);
    let next = mllp("MSH|^~\\&|A||B||1||ADT^A08|AFTER|P|2.5\r");
    let out = run(&[
        Step::Data(C2S, 0, &m[..150]),
        Step::Gap(C2S, 1, 40),
        Step::Data(C2S, 2, &m[190..]),
        Step::Data(C2S, 3, &next),
    ]);
    assert_eq!(out.anomalies(), vec!["gap_in_message"]);
    let ev = out.hl7();
    assert_eq!(ev[0]["control_id"], "MSG00001");
    assert_eq!(ev[0]["truncated"], true);
    assert_eq!(ev[1]["control_id"], "AFTER");
}

#[test]
fn midstream_join_resyncs_at_next_frame() {
    // Starting inside a message: its tail is skipped, the next message is parsed.
    let m = mllp(ADT);
    let mut s = m[60..].to_vec();
    s.extend(mllp("MSH|^~\\&|A||B||1||ADT^A08|NEXT|P|2.5\r"));
    let out = run(&[Step::Data(C2S, 0, &s)]);
    assert_eq!(out.hl7().len(), 1);
    assert_eq!(out.hl7()[0]["control_id"], "NEXT");
}

#[test]
fn batch_messages_carry_batch_id() {
    // FHS/BHS/MSH/MSH/BTS/FTS in one frame: two messages with batch = BHS-11, no anomaly.
    let f = mllp("FHS|^~\\&|A|F|||||||FILE1\rBHS|^~\\&|A|F|||||||B7\rMSH|^~\\&|A||B||1||ADT^A04|B1|P|2.5\rPID|1||X\rMSH|^~\\&|A||B||1||ADT^A04|B2|P|2.5\rBTS|2\rFTS|1\r");
    let out = run(&[Step::Data(C2S, 0, &f)]);
    let ev = out.hl7();
    assert_eq!(ev.len(), 2);
    assert!(ev.iter().all(|e| e["batch"] == "B7"));
    assert_eq!(ev[0]["segments"], serde_json::json!(["MSH", "PID"]));
    assert!(out.anomalies().is_empty(), "{:?}", out.anomalies());
}

#[test]
fn batch_without_trailer_and_count_mismatch() {
    // A BHS never closed, and a BTS count that disagrees, are named anomalies.
    let open = mllp("BHS|^~\\&|A|F|||||||B8\rMSH|^~\\&|A||B||1||ADT^A04|B1|P|2.5\r");
    let wrong = mllp("BHS|^~\\&|A|F|||||||B9\rMSH|^~\\&|A||B||1||ADT^A04|B2|P|2.5\rBTS|5\r");
    let stray = mllp("BTS|1\r");
    let out = run(&[
        Step::Data(C2S, 0, &open),
        Step::Data(C2S, 0, &wrong),
        Step::Data(C2S, 0, &stray),
    ]);
    assert_eq!(
        out.anomalies(),
        vec![
            "batch_without_trailer",
            "batch_count_mismatch",
            "batch_trailer_without_header"
        ]
    );
    assert_eq!(out.hl7().len(), 2);
}

#[test]
fn bad_segment_id_flagged_once() {
    // Lower-case or short segment ids: one anomaly per message, id shown as sent or '???'.
    let out = run(&[Step::Data(
        C2S,
        0,
        &mllp("MSH|^~\\&|A||B||1||ADT^A08|1|P|2.5\rpid|1\rX\r"),
    )]);
    assert_eq!(out.anomalies(), vec!["bad_segment_id"]);
    assert_eq!(
        out.hl7()[0]["segments"],
        serde_json::json!(["MSH", "pid", "???"])
    );
}

#[test]
fn non_utf8_bytes_never_break_parsing() {
    // Latin-1 bytes in MSH-4 become replacement characters; the message is still reported.
    let mut b = b"\x0bMSH|^~\\&|A|H\xf4pital|B||1||ADT^A08|1|P|2.5||||||8859/1\r".to_vec();
    b.extend_from_slice(b"\x1c\r");
    let out = run(&[Step::Data(C2S, 0, &b)]);
    let ev = out.hl7();
    assert_eq!(ev[0]["sending_facility"], "H\u{fffd}pital");
    assert_eq!(ev[0]["charset"], "8859/1");
}

#[test]
fn long_fields_capped() {
    // A 1000-byte MSH-3 is cut at max_field_bytes and the event says capped.
    let cfg = Hl7Config {
        max_field_bytes: 16,
        ..Default::default()
    };
    let m = mllp(&format!(
        "MSH|^~\\&|{}||B||1||ADT^A08|1|P|2.5\r",
        "A".repeat(1000)
    ));
    let ev = run_cfg(&cfg, &[Step::Data(C2S, 0, &m)]).hl7();
    assert_eq!(ev[0]["sending_application"].as_str().unwrap().len(), 16);
    assert_eq!(ev[0]["capped"], true);
}

#[test]
fn missing_control_id_reported_at_once() {
    // Without MSH-10 the message cannot wait for an ACK: written at once, with an anomaly.
    let out = run(&[Step::Data(
        C2S,
        0,
        &mllp("MSH|^~\\&|A||B||1||ADT^A08||P|2.5\r"),
    )]);
    assert_eq!(out.anomalies(), vec!["missing_control_id"]);
    assert!(out.hl7()[0].get("acknowledged").is_none());
}

#[test]
fn unframed_stream_parsed_by_msh_boundaries() {
    // HL7 without MLLP: messages split at each MSH, the last flushed at end of stream.
    let s = "MSH|^~\\&|A||B||1||ADT^A01|U1|P|2.3\rPID|1||X\rMSH|^~\\&|A||B||1||ADT^A01|U2|P|2.3\rEVN|A01";
    let whole = run(&[Step::Data(C2S, 0, s.as_bytes())]);
    let ev = whole.hl7();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["framing"], "unframed");
    assert_eq!(ev[0]["bytes"], 35 + 9);
    assert_eq!(ev[1]["segments"], serde_json::json!(["MSH", "EVN"]));
    let steps: Vec<Step<'_>> = s
        .as_bytes()
        .chunks(1)
        .map(|c| Step::Data(C2S, 0, c))
        .collect();
    assert_eq!(run(&steps).all_json(), whole.all_json());
    let off = Hl7Config {
        accept_unframed: false,
        ..Default::default()
    };
    let m = meta();
    let (mut e, mut c, mut b) = (Vec::new(), AnomalyCounts::default(), 10);
    let mut cx = Cx::new(Timestamp(0), &m, &mut e, &mut c, &mut b);
    assert!(matches!(
        Hl7Analyzer::new(&off).on_data(&mut cx, C2S, s.as_bytes()),
        Progress::Abandon(_)
    ));
}

#[test]
fn binary_garbage_anomaly_no_event() {
    // Binary noise: at most one anomaly, no hl7 event, nothing panics.
    let noise: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 & 0x7f | 0x80)
        .collect();
    let out = run(&[Step::Data(C2S, 0, &noise)]);
    assert!(out.hl7().is_empty());
    assert_eq!(out.anomalies(), vec!["bytes_between_frames"]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8)) {
        // Arbitrary chunks (biased to contain framing bytes): no panic, bounded events.
        let cfg = Hl7Config { max_message_bytes: 128, max_pending_acks: 4, ..Default::default() };
        let steps: Vec<Step<'_>> = chunks.iter().enumerate().map(|(i, c)| Step::Data(if i % 3 == 2 { S2C } else { C2S }, i as i64, c.as_slice())).collect();
        let total: usize = chunks.iter().map(Vec::len).sum();
        let out = run_cfg(&cfg, &steps);
        prop_assert!(out.events.len() <= total + 2);
    }

    #[test]
    fn hl7_like_bytes_never_panic(parts in proptest::collection::vec(prop_oneof![
        Just(&b"\x0b"[..]), Just(&b"\x1c\r"[..]), Just(&b"MSH|^~\\&|"[..]), Just(&b"MSH*%$\\!*"[..]), Just(&b"|"[..]),
        Just(&b"\r"[..]), Just(&b"\n"[..]), Just(&b"MSA|AA|1"[..]), Just(&b"BHS|^~\\&|"[..]), Just(&b"BTS|"[..]),
        Just(&b"PID|1||X"[..]), Just(&b"\\X4\\"[..]), Just(&b"\\"[..]), Just(&b"^"[..]), Just(&b"1"[..]), Just(&b"\x06"[..]),
    ], 0..60), split in 1usize..20) {
        // Streams built from HL7 fragments, delivered in chunks: no panic, whole == chunked.
        let bytes: Vec<u8> = parts.concat();
        let whole = run(&[Step::Data(C2S, 0, &bytes)]).all_json();
        let steps: Vec<Step<'_>> = bytes.chunks(split).map(|c| Step::Data(C2S, 0, c)).collect();
        prop_assert_eq!(run(&steps).all_json(), whole);
    }
}

proptest! {
    #[test]
    fn fields_split_like_std(seg in proptest::collection::vec(prop_oneof![Just(b'|'), Just(b'^'), any::<u8>()], 0..70)) {
        // The eight-bytes-at-a-time field splitter agrees with slice::split at every length.
        let want: Vec<&[u8]> = seg.split(|b| *b == b'|').collect();
        let got: Vec<&[u8]> = wire::fields(&seg, b'|').collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn fuzz_regressions_replay_whole_equals_chunked() {
    // Inputs saved under fuzz/regressions/hl7/ run as the fuzz target runs them: no panic,
    // and whole delivery gives the same events as chunked delivery.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/hl7");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        let Some((&ctl, rest)) = data.split_first() else {
            continue;
        };
        let (a, b) = match rest.iter().position(|&x| x == 0xff) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[..0]),
        };
        let _ = super::probe_hl7(C2S, rest);
        if let Ok(d) = wire::parse_delimiters(rest) {
            let mut out = Vec::new();
            for s in wire::segments(rest) {
                for f in wire::fields(s.bytes, d.delimiters.field) {
                    out.clear();
                    let _ = wire::render_field(f, &d.delimiters, 64, &mut out);
                    assert!(out.len() <= 64);
                }
            }
        }
        let cfg = Hl7Config {
            max_message_bytes: 512,
            max_pending_acks: 8,
            ..Default::default()
        };
        let chunk = usize::from(ctl % 17) + 1;
        let mut whole = vec![Step::Data(C2S, 0, a)];
        whole.push(Step::Data(S2C, 0, b));
        let mut chunked: Vec<Step<'_>> = a.chunks(chunk).map(|c| Step::Data(C2S, 0, c)).collect();
        chunked.extend(b.chunks(chunk).map(|c| Step::Data(S2C, 0, c)));
        same(
            &run_cfg(&cfg, &chunked).all_json(),
            &run_cfg(&cfg, &whole).all_json(),
        );
        n += 1;
    }
    assert!(n >= 3, "regression inputs missing from {}", dir.display());
}

proptest! {
    #[test]
    fn fields_at_agrees_with_fields(seg in proptest::collection::vec(prop_oneof![Just(b'|'), Just(b'|'), any::<u8>()], 0..200),
                                    a in 0usize..30, gap in 0usize..20, gap2 in 0usize..5) {
        // The block-matching field picker returns what iterating every field returns.
        let idx = [a, a + gap, a + gap + gap2];
        let got = wire::fields_at(&seg, b'|', idx);
        for (i, n) in idx.iter().enumerate() {
            prop_assert_eq!(got[i], wire::fields(&seg, b'|').nth(*n), "field {}", n);
        }
    }

    #[test]
    fn field_ranges_near_agree_with_field_ranges_at(seg in proptest::collection::vec(prop_oneof![Just(b'|'), Just(b'|'), any::<u8>()], 0..120),
                                                    a in 0usize..12, gap in 0usize..8, gap2 in 0usize..8) {
        // The one-pass header field picker returns the ranges the block-counting picker
        // returns, at every length and field count (wanted fields past 23 included).
        let idx = [a, a + gap, a + gap + gap2, 2, 17];
        let asc = [a, a + gap, a + gap + gap2];
        prop_assert_eq!(wire::field_ranges_near(&seg, b'|', asc), wire::field_ranges_at(&seg, b'|', asc));
        let far = [a, a + gap + 20];
        prop_assert_eq!(wire::field_ranges_near(&seg, b'|', far), wire::field_ranges_at(&seg, b'|', far));
        // Not ascending: handed to the general picker, whatever it answers.
        prop_assert_eq!(wire::field_ranges_near(&seg, b'|', idx), wire::field_ranges_at(&seg, b'|', idx));
    }

    #[test]
    fn fields_agree_with_plain_split(seg in proptest::collection::vec(prop_oneof![Just(b'|'), any::<u8>()], 0..90)) {
        // The word-at-a-time separator search (overlapping tail load included) splits a
        // segment exactly as a byte-by-byte split does, at every length.
        let got: Vec<&[u8]> = wire::fields(&seg, b'|').collect();
        let want: Vec<&[u8]> = seg.split(|b| *b == b'|').collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn nonempty_fields_agree_with_fields(seg in proptest::collection::vec(prop_oneof![Just(b'|'), Just(b'|'), Just(b'|'), any::<u8>()], 0..400)) {
        // The one-pass PHI field scan marks exactly the non-empty fields 1..=127 that
        // iterating every field finds, and flags a non-empty field numbered past 127.
        let mut bits = 0u128;
        let mut beyond = false;
        for (k, f) in wire::fields(&seg, b'|').enumerate().skip(1) {
            if !f.is_empty() {
                if k < 128 { bits |= 1 << k } else { beyond = true }
            }
        }
        prop_assert_eq!(wire::nonempty_fields(&seg, b'|'), (bits, beyond));
    }
}
