use super::app::{ack_code, valid_type, AppMetrics, LATENCY_BUCKETS};
use super::*;
use model::dicom::{DicomAbort, DicomAssociation, DicomCommand, DicomEvent, DicomReject};
use model::hl7::Hl7Event;
use model::{Direction, Event, EventKind, Timestamp};

fn ev(kind: EventKind) -> Event {
    Event {
        ts: Timestamp::ZERO,
        flow: None,
        kind,
    }
}

fn hl7(t: Option<&str>, acked: Option<bool>, code: Option<&str>, ms: Option<f64>) -> Event {
    let mut h = Hl7Event::new(Direction::ToServer, "mllp");
    h.set(model::hl7::Hl7Text::MessageType, t);
    h.acknowledged = acked;
    h.set(model::hl7::Hl7Text::AckCode, code);
    h.ack_latency_ms = ms;
    ev(EventKind::Hl7(Box::new(h)))
}

/// Series names (without labels) in a text exposition.
fn series(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect()
}

fn value(text: &str, prefix: &str) -> f64 {
    let l = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no series {prefix} in\n{text}"));
    l.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn exposition_names_are_all_in_model() {
    // Every series the exporter writes belongs to a family listed in model::metrics::ALL,
    // and every listed family is described (HELP/TYPE) even before any data.
    let x = Exporter::new("file", 2, 8);
    let mut a = AppMetrics::new(8);
    a.observe(&hl7(Some("ADT^A01"), Some(true), Some("AA"), Some(12.0)));
    x.publish_app(&a, true);
    // The inventory families appear once the inventory publishes (per-device ones when
    // switched on).
    x.publish_inventory(crate::metrics::InventorySnapshot {
        by_class: vec![(("infusion_pump".into(), "high".into()), 1)],
        evicted: 0,
        devices: vec![(
            "58:46:e1:00:00:01".into(),
            "infusion_pump".into(),
            "Baxter International".into(),
            String::new(),
            1_700_000_000,
            "uncontrolled".into(),
        )],
        by_risk: vec![(("infusion_pump".into(), "uncontrolled".into()), 1)],
        risk_matrix: vec![(("high".into(), "critical".into()), 1)],
    });
    let t = x.encode_text();
    for s in series(&t) {
        assert!(m::family_of(&s).is_some(), "{s} not in model::metrics");
    }
    for n in m::ALL {
        assert!(
            t.contains(&format!("# TYPE {n} ")),
            "{n} not described in\n{t}"
        );
    }
}

#[test]
fn counters_only_end_in_total() {
    // TYPE lines: counters end in _total, gauges and histograms never do.
    let t = Exporter::new("file", 1, 8).encode_text();
    for l in t.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut it = l.split(' ').skip(2);
        let (name, ty) = (it.next().unwrap(), it.next().unwrap());
        assert_eq!(name.ends_with("_total"), ty == "counter", "{l}");
    }
}

#[test]
fn snapshots_publish_latest_values() {
    // The exposition shows the latest snapshot of each thread, labelled by source/worker.
    let x = Exporter::new("file", 2, 8);
    let mut r = CaptureSnapshot {
        captures: true,
        packets: 10,
        bytes: 1000,
        ..Default::default()
    };
    r.anomalies.add("decode", "truncated_ipv4", 3);
    assert!(x.publish_reader(&r, false));
    r.packets = 25;
    assert!(x.publish_reader(&r, true));
    let mut w = CaptureSnapshot {
        flows_active: 4,
        flows_created: 9,
        ..Default::default()
    };
    w.anomalies.add("dicom", "pdu_too_large", 2);
    x.publish_worker(1, &w, true);
    // An index past the worker count is ignored, not a panic.
    assert!(x.publish_worker(7, &w, true));
    let t = x.encode_text();
    assert_eq!(
        value(
            &t,
            "wardwatch_capture_packets_total{source=\"file\",worker=\"reader\"}"
        ),
        25.0
    );
    assert_eq!(value(&t, "wardwatch_flows_active{worker=\"1\"}"), 4.0);
    assert_eq!(
        value(&t, "wardwatch_flows_created_total{worker=\"0\"}"),
        0.0
    );
    assert_eq!(
        value(
            &t,
            "wardwatch_decode_anomalies_total{layer=\"decode\",reason=\"truncated_ipv4\"}"
        ),
        3.0
    );
    assert_eq!(
        value(
            &t,
            "wardwatch_analyzer_anomalies_total{analyzer=\"dicom\",code=\"pdu_too_large\"}"
        ),
        2.0
    );
    // Workers do not read packets in this mode: no per-worker packet series.
    assert!(!t.contains("wardwatch_capture_packets_total{source=\"file\",worker=\"0\"}"));
}

#[test]
fn publish_without_wait_gives_up_while_scraped() {
    // A publisher on the capture path never blocks: with the lock held, try fails.
    let x = Exporter::new("pcap", 1, 8);
    let g = x.shared.workers[0].lock().unwrap();
    assert!(!x.publish_worker(0, &CaptureSnapshot::default(), false));
    drop(g);
    assert!(x.publish_worker(0, &CaptureSnapshot::default(), false));
}

#[test]
fn hl7_type_label_is_capped_and_validated() {
    // Types are kept while fewer than the cap were seen; new ones past it and malformed
    // ones (free text, lower case, PHI-looking strings) become `other`.
    let mut a = AppMetrics::new(2);
    for t in [
        "ADT^A01",
        "ORU^R01",
        "ADT^A01",
        "ORM^O01",
        "Smith^John",
        "ADT^A01^ADT_A01",
    ] {
        a.observe(&hl7(Some(t), None, None, None));
    }
    a.observe(&hl7(None, None, None, None));
    let got: Vec<(&str, u64)> = a
        .hl7_messages
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(got, vec![("ADT^A01", 2), ("ORU^R01", 1), ("other", 4)]);
    assert!(valid_type("ACK") && valid_type("QRY^A19"));
    assert!(!valid_type("adt^a01") && !valid_type("AD^A01") && !valid_type(""));
}

#[test]
fn hl7_acks_latency_and_unacknowledged_counted() {
    // Acknowledged messages count their MSA-1 code and latency; unacknowledged ones count.
    let mut a = AppMetrics::new(8);
    a.observe(&hl7(Some("ADT^A01"), Some(true), Some("AA"), Some(20.0)));
    a.observe(&hl7(
        Some("ADT^A01"),
        Some(true),
        Some("ZZ<script>"),
        Some(700.0),
    ));
    a.observe(&hl7(Some("ADT^A01"), Some(false), None, None));
    assert_eq!(a.hl7_acks.get("AA"), Some(&1));
    assert_eq!(a.hl7_acks.get("other"), Some(&1));
    assert_eq!(a.hl7_unacknowledged, 1);
    assert_eq!(a.hl7_ack_latency.count, 2);
    assert!((a.hl7_ack_latency.sum - 0.72).abs() < 1e-9);
    assert_eq!(ack_code(Some(" CE ")), "CE");
    let x = Exporter::new("file", 1, 8);
    x.publish_app(&a, true);
    let t = x.encode_text();
    assert_eq!(
        value(&t, "wardwatch_hl7_ack_latency_seconds_bucket{le=\"0.025\"}"),
        1.0
    );
    assert_eq!(
        value(&t, "wardwatch_hl7_ack_latency_seconds_bucket{le=\"+Inf\"}"),
        2.0
    );
    assert_eq!(value(&t, "wardwatch_hl7_ack_latency_seconds_count"), 2.0);
    assert_eq!(value(&t, "wardwatch_hl7_unacknowledged_total"), 1.0);
}

#[test]
fn dicom_events_counted_by_fixed_labels() {
    // Associations by outcome, rejects by source/reason, aborts by source, messages by
    // command and status class, latency per operation.
    let mut a = AppMetrics::new(8);
    let rj = DicomAssociation {
        outcome: "rejected",
        reject: Some(DicomReject {
            source_name: "service_user",
            reason_name: "called_ae_title_not_recognized",
            ..Default::default()
        }),
        ..Default::default()
    };
    let ab = DicomAssociation {
        outcome: "accepted",
        abort: Some(DicomAbort {
            source_name: "service_provider",
            ..Default::default()
        }),
        ..Default::default()
    };
    a.observe(&ev(EventKind::Dicom(DicomEvent::Association(Box::new(rj)))));
    a.observe(&ev(EventKind::Dicom(DicomEvent::Association(Box::new(ab)))));
    let rq = DicomCommand {
        command: "C-ECHO-RQ",
        ..Default::default()
    };
    let rsp = DicomCommand {
        command: "C-ECHO-RSP",
        status_class: Some("success"),
        latency_ms: Some(3.0),
        ..Default::default()
    };
    a.observe(&ev(EventKind::Dicom(DicomEvent::Command(Box::new(rq)))));
    a.observe(&ev(EventKind::Dicom(DicomEvent::Command(Box::new(rsp)))));
    let x = Exporter::new("file", 1, 8);
    x.publish_app(&a, true);
    let t = x.encode_text();
    assert_eq!(
        value(
            &t,
            "wardwatch_dicom_associations_total{outcome=\"rejected\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &t,
            "wardwatch_dicom_rejects_total{source=\"service_user\",reason=\"called_ae_title_not_recognized\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &t,
            "wardwatch_dicom_aborts_total{source=\"service_provider\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &t,
            "wardwatch_dicom_messages_total{command=\"C-ECHO-RQ\",status_class=\"none\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &t,
            "wardwatch_dicom_dimse_latency_seconds_bucket{command=\"C-ECHO\",le=\"0.005\"}"
        ),
        1.0
    );
    assert_eq!(
        value(&t, "wardwatch_output_events_total{event_type=\"dicom\"}"),
        4.0
    );
}

#[test]
fn histogram_clamps_bad_values() {
    // Negative, NaN and infinite latencies land in the first bucket as 0, never poison sum.
    let mut h = Histogram::default();
    for v in [-1.0, f64::NAN, f64::INFINITY, 1e9] {
        h.observe(v);
    }
    assert_eq!(h.count, 4);
    assert_eq!(h.counts[0], 3);
    assert_eq!(h.counts[LATENCY_BUCKETS.len()], 1);
    assert_eq!(h.sum, 1e9);
}

#[test]
fn openmetrics_exposition_ends_with_eof() {
    // OpenMetrics text (served on request) ends with # EOF and names counters' families.
    let t = Exporter::new("file", 1, 8).encode_openmetrics();
    assert!(t.ends_with("# EOF\n"), "{t}");
    assert!(t.contains("# TYPE wardwatch_capture_packets counter"));
}

#[test]
fn siem_sink_health_is_exported_per_sink() {
    // A registered sink's counters appear at scrape time with a `sink` label, drops and
    // failures by reason, and every series belongs to a model family.
    let x = Exporter::new("file", 1, 8);
    let s = std::sync::Arc::new(crate::sink::SinkStats::default());
    x.add_sink("soc", s.clone());
    crate::sink::SinkStats::add(&s.sent, 7);
    crate::sink::SinkStats::add(&s.dropped_spool_full, 2);
    crate::sink::SinkStats::add(&s.fail_tls, 3);
    s.spool_bytes
        .store(4096, std::sync::atomic::Ordering::Relaxed);
    let t = x.encode_text();
    assert_eq!(
        value(
            &t,
            "wardwatch_output_siem_messages_sent_total{sink=\"soc\"}"
        ),
        7.0
    );
    assert_eq!(
        value(
            &t,
            "wardwatch_output_siem_messages_dropped_total{sink=\"soc\",reason=\"spool_full\"}"
        ),
        2.0
    );
    assert_eq!(
        value(
            &t,
            "wardwatch_output_siem_failures_total{sink=\"soc\",reason=\"tls\"}"
        ),
        3.0
    );
    assert_eq!(
        value(&t, "wardwatch_output_siem_spool_bytes{sink=\"soc\"}"),
        4096.0
    );
    for s in series(&t) {
        assert!(m::family_of(&s).is_some(), "{s}");
    }
}

#[test]
fn alerts_counted_by_rule_and_severity_and_drops_exported() {
    // Alert events count under their rule id and severity label; the engine's drop counter
    // is exported as it was set; a severity outside 1..3 is informational (4).
    let alert = |rule: &str, sev: u8| {
        ev(EventKind::Alert(Box::new(model::alert::AlertEvent {
            action: model::alert::ACTION_ALLOWED,
            gid: 1,
            signature_id: 9_100_001,
            rev: 1,
            signature: "s".into(),
            category: "c".into(),
            severity: sev,
            metadata: Default::default(),
            rule: rule.into(),
            device: None,
            evidence: vec![],
            count: 1,
        })))
    };
    let x = Exporter::new("file", 1, 8);
    let mut a = AppMetrics::new(8);
    a.observe(&alert("policy.a", 1));
    a.observe(&alert("policy.a", 1));
    a.observe(&alert("baseline.new_peer", 9));
    a.observe(&alert("baseline.new_peer", 2));
    a.alerts_dropped = 7;
    x.publish_app(&a, true);
    let t = x.encode_text();
    assert_eq!(
        value(
            &t,
            r#"wardwatch_alerts_total{rule="policy.a",severity="1"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &t,
            r#"wardwatch_alerts_total{rule="baseline.new_peer",severity="4"}"#
        ),
        1.0
    );
    assert_eq!(value(&t, "wardwatch_alerts_dropped_total "), 7.0);
    // Baseline deviations: the baseline.* alerts of every severity, by rule; no others.
    assert_eq!(
        value(
            &t,
            r#"wardwatch_baseline_deviations_total{rule="baseline.new_peer"}"#
        ),
        2.0
    );
    assert!(!t.contains(r#"wardwatch_baseline_deviations_total{rule="policy.a"}"#));
}
