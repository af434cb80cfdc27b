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
            tcp: Some(TcpRecord {
                flags: 0x1b,
                flags_ts: 0x1b,
                flags_tc: 0x1b,
                state: "closed",
                syn_signature: None,
                synack_signature: None,
            }),
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
        kind: EventKind::Anomaly(AnomalyRecord {
            kind: "decode",
            event: "x",
            app_proto: None,
            direction: None,
        }),
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
    h.field_separator = '|';
    use crate::hl7::Hl7Text;
    h.set(Hl7Text::EncodingCharacters, Some("^~\\&"));
    h.set(Hl7Text::SendingApplication, Some("LAB"));
    h.set(Hl7Text::MessageType, Some("ORU^R01"));
    h.set(Hl7Text::ControlId, Some("42"));
    h.push_segment(crate::hl7::SegmentId(*b"MSH"));
    h.push_segment(crate::hl7::SegmentId(*b"PID"));
    h.acknowledged = Some(true);
    h.set(Hl7Text::AckCode, Some("AA"));
    h.ack_latency_ms = Some(1.5);
    h.add_phi_field(b"PID", 5);
    h.push_device_evidence_of("MSH-3", Hl7Text::SendingApplication);
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

#[test]
fn eve_dicom_event_shape() {
    // Pins the dicom object: the `type` tag, field names and order, nulls for absent parts.
    use crate::dicom::*;
    let mut cmd = DicomCommand {
        command: "C-STORE-RSP",
        command_field: 0x8001,
        direction: "to_client",
        pc_id: 1,
        message_id_responded: Some(7),
        affected_sop_class_uid: Some("1.2.840.10008.5.1.4.1.1.2".into()),
        has_dataset: false,
        status: Some(0),
        status_class: Some("success"),
        latency_ms: Some(2.5),
        ..DicomCommand::default()
    };
    cmd.dataset = None;
    let ev = Event {
        ts: Timestamp::from_secs_micros(1_740_988_800, 0),
        flow: Some(Box::new(meta())),
        kind: EventKind::Dicom(DicomEvent::Command(Box::new(cmd))),
    };
    let v = ev.to_eve_value("s");
    assert_eq!(v["event_type"], "dicom");
    assert_eq!(v["app_proto"], "dicom");
    assert_eq!(v["src_port"], 50000);
    let d = &v["dicom"];
    assert_eq!(d["type"], "command");
    assert_eq!(d["command"], "C-STORE-RSP");
    assert_eq!(d["message_id_responded"], 7);
    assert!(d["message_id"].is_null());
    assert_eq!(d["status_class"], "success");
    assert_eq!(d["latency_ms"], 2.5);
    let mut out = Vec::new();
    ev.write_eve("s", &mut out);
    let line = String::from_utf8(out).unwrap();
    assert!(line.contains(r#""dicom":{"type":"command","command":"C-STORE-RSP","command_field":32769,"direction":"to_client","pc_id":1,"message_id":null,"message_id_responded":7,"#), "{line}");

    let mut a = DicomAssociation {
        calling_ae: Some("CT1".into()),
        called_ae: Some("PACS".into()),
        outcome: "accepted",
        termination: "release",
        ..DicomAssociation::default()
    };
    a.commands.insert("C-ECHO-RQ", 1);
    a.request = Some(DicomAssociateRq {
        presentation_contexts: vec![DicomPcRq {
            id: 1,
            abstract_syntax: Some("1.2.840.10008.1.1".into()),
            transfer_syntaxes: vec!["1.2.840.10008.1.2".into()],
        }],
        user_identity: Some(DicomUserIdentity {
            kind: 2,
            type_name: "username_passcode",
            response_requested: true,
            primary_field_present: true,
            secondary_field_present: true,
        }),
        ..DicomAssociateRq::default()
    });
    let ev = Event {
        ts: Timestamp(0),
        flow: Some(Box::new(meta())),
        kind: EventKind::Dicom(DicomEvent::Association(Box::new(a))),
    };
    let v = ev.to_eve_value("s");
    let d = &v["dicom"];
    assert_eq!(d["type"], "association");
    assert_eq!(d["calling_ae"], "CT1");
    assert!(d["accept"].is_null() && d["reject"].is_null() && d["abort"].is_null());
    assert_eq!(d["commands"]["C-ECHO-RQ"], 1);
    assert_eq!(
        d["request"]["presentation_contexts"][0]["transfer_syntaxes"][0],
        "1.2.840.10008.1.2"
    );
    assert_eq!(d["request"]["user_identity"]["type"], 2);
    assert_eq!(d["request"]["user_identity"]["response_requested"], true);
    let mut out = Vec::new();
    ev.write_eve("s", &mut out);
    let line = String::from_utf8(out).unwrap();
    assert!(
        line.contains(
            r#""dicom":{"type":"association","calling_ae":"CT1","called_ae":"PACS","outcome":"accepted","request":{"#
        ),
        "{line}"
    );
    assert!(line.contains(concat!(
        r#""termination":"release","abort":null,"commands":{"C-ECHO-RQ":1},"status_classes":{},"#,
        r#""bytes_toserver":0,"bytes_toclient":0,"duration_ms":0.0,"midstream":false}"#
    )), "{line}");
}

#[test]
fn eve_tls_event_shape() {
    // Pins the tls object: Suricata's names (sni, version, ja3{hash,string}, ja3s, ja4,
    // client_alpns), then wardwatch's client/server details; empties omitted.
    use crate::tls::*;
    let t = TlsEvent {
        sni: Some("pacs.example".into()),
        version: version_name(0x0304),
        ja3: Some(TlsJaHash {
            hash: "1d73e027bc95ccd0f6597a60b59dc780".into(),
            string: "771,4865-4866,0-16-43,29-23,0".into(),
        }),
        ja3s: Some(TlsJaHash {
            hash: "cce84e7a8b742462e40afb585a3e3ccc".into(),
            string: "771,4865,43".into(),
        }),
        ja4: Some("t13d0203h2_aaaaaaaaaaaa_bbbbbbbbbbbb".into()),
        client_alpns: vec!["h2".into()],
        server_alpns: vec![],
        client_handshake: Some(TlsClientHello {
            version: version_name(0x0303),
            supported_versions: vec![version_name(0x0304)],
            ciphers: vec![4865, 4866],
            exts: vec![0, 16, 43],
            supported_groups: vec![29, 23],
            sig_algs: vec![],
            length: 120,
        }),
        server_handshake: Some(TlsServerHello {
            version: version_name(0x0303),
            cipher: 4865,
            cipher_name: Some("TLS_AES_128_GCM_SHA256"),
            exts: vec![43],
            hello_retry_request: false,
        }),
        truncated: false,
        capped: false,
    };
    let mut m = meta();
    m.app_proto = Some("tls");
    let ev = Event {
        ts: Timestamp(0),
        flow: Some(Box::new(m)),
        kind: EventKind::Tls(Box::new(t)),
    };
    let v = ev.to_eve_value("s");
    assert_eq!(v["event_type"], "tls");
    assert_eq!(v["app_proto"], "tls");
    let mut out = Vec::new();
    ev.write_eve("s", &mut out);
    let line = String::from_utf8(out).unwrap();
    let start = line.find(r#""tls":"#).unwrap();
    let end = line.find(r#","ether":"#).unwrap();
    assert_eq!(
        &line[start..end],
        concat!(
            r#""tls":{"sni":"pacs.example","version":"TLS 1.3","#,
            r#""ja3":{"hash":"1d73e027bc95ccd0f6597a60b59dc780","string":"771,4865-4866,0-16-43,29-23,0"},"#,
            r#""ja3s":{"hash":"cce84e7a8b742462e40afb585a3e3ccc","string":"771,4865,43"},"#,
            r#""ja4":"t13d0203h2_aaaaaaaaaaaa_bbbbbbbbbbbb","client_alpns":["h2"],"#,
            r#""client_handshake":{"version":"TLS 1.2","supported_versions":["TLS 1.3"],"ciphers":[4865,4866],"#,
            r#""exts":[0,16,43],"supported_groups":[29,23],"length":120},"#,
            r#""server_handshake":{"version":"TLS 1.2","cipher":4865,"cipher_name":"TLS_AES_128_GCM_SHA256","#,
            r#""exts":[43]}}"#
        )
    );
    assert_eq!(version_name(0x0301), "TLSv1");
    assert_eq!(version_name(0x7f17), "TLS 1.3 draft-23");
    assert_eq!(version_name(0x1234), "0x1234");
}

#[test]
fn eve_dhcp_event_has_suricata_fields_in_order() {
    // The dhcp object: Suricata's names first (type, id, client_mac, addresses, dhcp_type),
    // absent options omitted, params as option numbers in request order.
    let mut m = meta();
    m.key.proto = IpProto::UDP;
    m.key.src_port = 68;
    m.key.dst_port = 67;
    m.app_proto = Some("dhcp");
    let d = crate::dhcp::DhcpEvent {
        kind: "request",
        id: 0x1234,
        client_mac: Some(MacAddr([0, 9, 0xfb, 0x12, 0x34, 0x56])),
        assigned_ip: Some("0.0.0.0".parse().unwrap()),
        client_ip: Some("0.0.0.0".parse().unwrap()),
        relay_ip: Some("0.0.0.0".parse().unwrap()),
        next_server_ip: Some("0.0.0.0".parse().unwrap()),
        dhcp_type: Some("discover"),
        dhcp_type_code: Some(1),
        version: 4,
        hostname: Some("mx700-bed12".into()),
        params: vec![1, 3, 6],
        vendor_class_identifier: Some("PHILIPS1".into()),
        options: vec![53, 12, 60, 55],
        ..Default::default()
    };
    let ev = Event {
        ts: Timestamp(0),
        flow: Some(Box::new(m)),
        kind: EventKind::Dhcp(Box::new(d)),
    };
    let mut out = Vec::new();
    ev.write_eve("s", &mut out);
    let line = String::from_utf8(out).unwrap();
    assert!(line.contains(r#""event_type":"dhcp","#), "{line}");
    assert!(line.contains(r#""app_proto":"dhcp","#), "{line}");
    assert!(line.contains(concat!(
        r#""dhcp":{"type":"request","id":4660,"client_mac":"00:09:fb:12:34:56","#,
        r#""assigned_ip":"0.0.0.0","client_ip":"0.0.0.0","relay_ip":"0.0.0.0","#,
        r#""next_server_ip":"0.0.0.0","dhcp_type":"discover","dhcp_type_code":1,"version":4,"#,
        r#""hostname":"mx700-bed12","params":[1,3,6],"vendor_class_identifier":"PHILIPS1","#,
        r#""vendor_specific":false,"options":[53,12,60,55],"truncated_options":false,"capped":false}"#
    )), "{line}");
}

#[test]
fn eve_dns_and_mdns_events_have_suricata_fields_in_order() {
    // dns/mdns objects: Suricata's v2 names (type, id, flags, set flag bits only, opcode,
    // rcode, rrname/rrtype of the first question, answers with rrname/rrtype/ttl/rdata),
    // empty lists omitted; mdns carries the DNS-SD facts.
    let mut m = meta();
    m.key.proto = IpProto::UDP;
    m.key.dst_port = 5353;
    m.app_proto = Some("mdns");
    let mut d = crate::dns::DnsEvent {
        kind: "answer",
        id: 0,
        flags: "8400".into(),
        qr: true,
        aa: true,
        opcode: 0,
        rcode: "NOERROR".into(),
        answers: vec![crate::dns::DnsRecord {
            rrname: "_ipp._tcp.local".into(),
            rrtype: "PTR".into(),
            ttl: 4500,
            rdata: Some("Printer._ipp._tcp.local".into()),
            srv: None,
            txt: vec![],
        }],
        services: vec!["_ipp._tcp.local".into()],
        instances: vec!["Printer._ipp._tcp.local".into()],
        ..Default::default()
    };
    d.device.insert("ty", "HP LaserJet".into());
    let ev = Event {
        ts: Timestamp(0),
        flow: Some(Box::new(m)),
        kind: EventKind::Mdns(Box::new(d.clone())),
    };
    let mut out = Vec::new();
    ev.write_eve("s", &mut out);
    let line = String::from_utf8(out).unwrap();
    assert!(line.contains(r#""event_type":"mdns","#), "{line}");
    assert!(line.contains(concat!(
        r#""mdns":{"type":"answer","id":0,"flags":"8400","qr":true,"aa":true,"opcode":0,"#,
        r#""rcode":"NOERROR","answers":[{"rrname":"_ipp._tcp.local","rrtype":"PTR","ttl":4500,"#,
        r#""rdata":"Printer._ipp._tcp.local"}],"services":["_ipp._tcp.local"],"#,
        r#""instances":["Printer._ipp._tcp.local"],"device":{"ty":"HP LaserJet"},"#,
        r#""truncated":false,"capped":false}"#
    )), "{line}");
    let q = crate::dns::DnsEvent {
        kind: "query",
        id: 7,
        flags: "0100".into(),
        rd: true,
        rcode: "NOERROR".into(),
        rrname: Some("pacs.example".into()),
        rrtype: Some("A".into()),
        queries: vec![crate::dns::DnsQuery {
            rrname: "pacs.example".into(),
            rrtype: "A".into(),
        }],
        ..Default::default()
    };
    let ev = Event {
        ts: Timestamp(0),
        flow: None,
        kind: EventKind::Dns(Box::new(q)),
    };
    let v = ev.to_eve_value("s");
    assert_eq!(v["event_type"], "dns");
    assert_eq!(v["dns"]["type"], "query");
    assert_eq!(v["dns"]["rrname"], "pacs.example");
    assert_eq!(v["dns"]["rd"], true);
    assert!(v["dns"]["qr"].is_null() && v["dns"]["answers"].is_null());
}

#[test]
fn eve_ssdp_event_has_fields_in_order() {
    // The ssdp object: type, method or status, identifying headers (absent ones omitted),
    // then the truncated/capped flags.
    let d = crate::ssdp::SsdpEvent {
        kind: "request",
        method: Some("NOTIFY".into()),
        server: Some("Linux UPnP/1.0 X/1".into()),
        usn: Some("uuid:1::upnp:rootdevice".into()),
        nt: Some("upnp:rootdevice".into()),
        nts: Some("ssdp:alive".into()),
        location: Some("http://10.0.0.7/d.xml".into()),
        ..Default::default()
    };
    let ev = Event {
        ts: Timestamp(0),
        flow: None,
        kind: EventKind::Ssdp(Box::new(d)),
    };
    let mut out = Vec::new();
    ev.write_eve("s", &mut out);
    let line = String::from_utf8(out).unwrap();
    assert!(line.contains(concat!(
        r#""event_type":"ssdp","ssdp":{"type":"request","method":"NOTIFY","#,
        r#""server":"Linux UPnP/1.0 X/1","usn":"uuid:1::upnp:rootdevice","nt":"upnp:rootdevice","#,
        r#""nts":"ssdp:alive","location":"http://10.0.0.7/d.xml","truncated":false,"capped":false}"#
    )), "{line}");
}

#[test]
fn eve_http_event_shape() {
    // Pins the http object: Suricata's names (hostname, http_port, url, http_user_agent,
    // http_content_type, http_method, protocol, status, server, length), the credential
    // flag without any value, and omitted empties.
    let h = crate::http::HttpEvent {
        hostname: Some("pacs.example".into()),
        http_port: Some(8080),
        url: Some("/worklist".into()),
        url_query_removed: true,
        http_user_agent: Some("Pump/1".into()),
        http_content_type: Some("text/html".into()),
        http_method: Some("GET".into()),
        protocol: Some("HTTP/1.1".into()),
        status: Some(200),
        server: Some("Apache".into()),
        length: 11,
        request_length: 0,
        credentials_present: true,
        http_auth: Some("basic"),
        cleartext_credentials: true,
        password_field: false,
        login_form: false,
        truncated: false,
        capped: false,
    };
    let mut m = meta();
    m.app_proto = Some("http");
    let ev = Event {
        ts: Timestamp(0),
        flow: Some(Box::new(m)),
        kind: EventKind::Http(Box::new(h)),
    };
    let v = ev.to_eve_value("s");
    assert_eq!(v["event_type"], "http");
    assert_eq!(v["app_proto"], "http");
    let mut out = Vec::new();
    ev.write_eve("s", &mut out);
    let line = String::from_utf8(out).unwrap();
    let start = line.find(r#""http":"#).unwrap();
    let end = line.find(r#","ether":"#).unwrap();
    assert_eq!(
        &line[start..end],
        concat!(
            r#""http":{"hostname":"pacs.example","http_port":8080,"url":"/worklist","#,
            r#""url_query_removed":true,"http_user_agent":"Pump/1","http_content_type":"text/html","#,
            r#""http_method":"GET","protocol":"HTTP/1.1","status":200,"server":"Apache","#,
            r#""length":11,"request_length":0,"credentials_present":true,"http_auth":"basic","#,
            r#""cleartext_credentials":true}"#
        )
    );
}

#[test]
fn eve_exposure_event_shapes() {
    // Pins the telnet, ftp, smb and snmp objects: exposure facts always written as
    // booleans (policy rules read false, not an absent key), Suricata's names for smb
    // (client_dialects, dialect) and snmp (version as a number, pdu_type, vars), no
    // credential field of any kind.
    use crate::exposure::*;
    let line = |kind: EventKind| {
        let mut m = meta();
        m.app_proto = Some(kind.event_type());
        let ev = Event {
            ts: Timestamp(0),
            flow: Some(Box::new(m)),
            kind,
        };
        let mut out = Vec::new();
        ev.write_eve("s", &mut out);
        let l = String::from_utf8(out).unwrap();
        let start = l.find(r#""app_proto":"#).unwrap();
        let end = l.find(r#","ether":"#).unwrap();
        l[start..end].to_string()
    };
    assert_eq!(
        line(EventKind::Telnet(Box::default())),
        concat!(
            r#""app_proto":"telnet","telnet":{"negotiation":false,"login_prompt":false,"#,
            r#""password_prompt":false,"cleartext_credentials":false}"#
        )
    );
    let ftp = FtpEvent {
        banner: Some("(vsFTPd 3.0.3)".into()),
        user_sent: true,
        cleartext_credentials: true,
        login_success: Some(false),
        ..FtpEvent::default()
    };
    assert_eq!(
        line(EventKind::Ftp(Box::new(ftp))),
        concat!(
            r#""app_proto":"ftp","ftp":{"banner":"(vsFTPd 3.0.3)","user_sent":true,"#,
            r#""anonymous":false,"cleartext_credentials":true,"auth_tls":false,"#,
            r#""login_success":false}"#
        )
    );
    let smb = SmbEvent {
        client_dialects: vec!["NT LM 0.12".into(), "2.02".into()],
        dialect: Some("NT LM 0.12".into()),
        smb1: true,
        smb1_negotiated: true,
        signing_required: Some(false),
        truncated: false,
    };
    assert_eq!(
        line(EventKind::Smb(Box::new(smb))),
        concat!(
            r#""app_proto":"smb","smb":{"client_dialects":["NT LM 0.12","2.02"],"#,
            r#""dialect":"NT LM 0.12","smb1":true,"smb1_negotiated":true,"#,
            r#""signing_required":false}"#
        )
    );
    let snmp = SnmpEvent {
        version: 2,
        pdu_type: "get_request",
        community_present: true,
        community_default: true,
        vars: vec!["1.3.6.1.2.1.1.1.0".into()],
        ..SnmpEvent::default()
    };
    assert_eq!(
        line(EventKind::Snmp(Box::new(snmp))),
        concat!(
            r#""app_proto":"snmp","snmp":{"version":2,"pdu_type":"get_request","#,
            r#""community_present":true,"community_default":true,"#,
            r#""vars":["1.3.6.1.2.1.1.1.0"]}"#
        )
    );
}

#[test]
fn eve_alert_event_has_suricata_fields_in_order() {
    // An alert keeps the triggering event's flow fields and has Suricata's alert keys first,
    // then wardwatch's (rule, device, evidence, count), so Suricata SIEM parsers read it.
    let ev = Event {
        ts: Timestamp::from_secs_micros(1_740_988_800, 5),
        flow: Some(Box::new(meta())),
        kind: EventKind::Alert(Box::new(crate::alert::AlertEvent {
            action: crate::alert::ACTION_ALLOWED,
            gid: crate::alert::GID,
            signature_id: 9_100_001,
            rev: 1,
            signature: "Clinical device talks to the internet".into(),
            category: "Policy Violation".into(),
            severity: crate::alert::SEVERITY_HIGH,
            metadata: crate::alert::AlertMetadata {
                mitre_technique_id: vec!["T0883".into()],
            },
            rule: "policy.clinical_no_internet".into(),
            device: Some(crate::alert::AlertDevice {
                id: "00:09:fb:12:34:56".into(),
                class: "infusion_pump".into(),
                vendor: Some("Philips".into()),
            }),
            evidence: vec![("peer", "8.8.8.8".into()), ("service", "tcp/443".into())],
            count: 1,
        })),
    };
    let mut out = Vec::new();
    ev.write_eve("s", &mut out);
    let line = String::from_utf8(out).unwrap();
    let id = meta().flow_id;
    assert_eq!(
        line,
        format!(
            concat!(
                r#"{{"timestamp":"2025-03-03T08:00:00.000005+0000","flow_id":{},"in_iface":"eth1","#,
                r#""event_type":"alert","vlan":[10],"src_ip":"10.1.2.3","src_port":50000,"#,
                r#""dest_ip":"10.1.2.4","dest_port":104,"proto":"TCP","app_proto":"dicom","#,
                r#""alert":{{"action":"allowed","gid":1,"signature_id":9100001,"rev":1,"#,
                r#""signature":"Clinical device talks to the internet","category":"Policy Violation","#,
                r#""severity":1,"metadata":{{"mitre_technique_id":["T0883"]}},"#,
                r#""rule":"policy.clinical_no_internet","#,
                r#""device":{{"id":"00:09:fb:12:34:56","class":"infusion_pump","vendor":"Philips"}},"#,
                r#""evidence":{{"peer":"8.8.8.8","service":"tcp/443"}},"count":1}},"#,
                r#""ether":{{"src_mac":"00:09:fb:12:34:56","dest_mac":"00:1b:21:01:02:03"}},"host":"s"}}"#,
                "\n"
            ),
            id
        )
    );
    // Without a device or a reference, those keys are omitted (not null).
    let EventKind::Alert(mut a) = ev.kind.clone() else {
        unreachable!()
    };
    a.device = None;
    a.metadata.mitre_technique_id.clear();
    let v = Event {
        kind: EventKind::Alert(a),
        ..ev
    }
    .to_eve_value("s");
    assert!(v["alert"].get("device").is_none());
    assert!(v["alert"].get("metadata").is_none());
    assert_eq!(v["alert"]["evidence"]["service"], "tcp/443");
}
