//! Metric names, `wardwatch_<subsystem>_<name>_<unit>`; counters, and only counters, end
//! in `_total`. Dashboards and alert rules may use only names listed here.

pub const CAPTURE_PACKETS_TOTAL: &str = "wardwatch_capture_packets_total";
pub const CAPTURE_BYTES_TOTAL: &str = "wardwatch_capture_bytes_total";
pub const CAPTURE_KERNEL_DROPS_TOTAL: &str = "wardwatch_capture_kernel_drops_total";
pub const CAPTURE_QUEUE_DROPS_TOTAL: &str = "wardwatch_capture_queue_drops_total";
pub const DECODE_ANOMALIES_TOTAL: &str = "wardwatch_decode_anomalies_total";
pub const FLOWS_ACTIVE: &str = "wardwatch_flows_active";
pub const FLOWS_CREATED_TOTAL: &str = "wardwatch_flows_created_total";
pub const FLOWS_EVICTED_TOTAL: &str = "wardwatch_flows_evicted_total";
pub const REASSEMBLY_GAPS_TOTAL: &str = "wardwatch_reassembly_gaps_total";
pub const REASSEMBLY_BUFFERED_BYTES: &str = "wardwatch_reassembly_buffered_bytes";
pub const REASSEMBLY_CAP_HITS_TOTAL: &str = "wardwatch_reassembly_cap_hits_total";
pub const ANALYZER_ANOMALIES_TOTAL: &str = "wardwatch_analyzer_anomalies_total";
/// Events written, by `event_type`.
pub const OUTPUT_EVENTS_TOTAL: &str = "wardwatch_output_events_total";
/// DICOM associations ended, by `outcome` (accepted, rejected, unknown).
pub const DICOM_ASSOCIATIONS_TOTAL: &str = "wardwatch_dicom_associations_total";
/// A-ASSOCIATE-RJ, by `source` and `reason` (PS3.8 table 9-21 names).
pub const DICOM_REJECTS_TOTAL: &str = "wardwatch_dicom_rejects_total";
/// A-ABORT, by `source` (PS3.8 table 9-26 names).
pub const DICOM_ABORTS_TOTAL: &str = "wardwatch_dicom_aborts_total";
/// DIMSE messages, by `command` (`C-STORE-RQ`...) and `status_class` (`none` on requests).
pub const DICOM_MESSAGES_TOTAL: &str = "wardwatch_dicom_messages_total";
/// Request-to-response time of DIMSE operations (capture time), by `command` (`C-STORE`).
pub const DICOM_DIMSE_LATENCY_SECONDS: &str = "wardwatch_dicom_dimse_latency_seconds";
/// HL7 messages, by `type` (`ADT^A01`; a capped set, `other` past it).
pub const HL7_MESSAGES_TOTAL: &str = "wardwatch_hl7_messages_total";
/// Acknowledgements received for messages, by MSA-1 `code` (AA, AE, AR, CA, CE, CR, other).
pub const HL7_ACKS_TOTAL: &str = "wardwatch_hl7_acks_total";
/// Message-to-acknowledgement time (capture time).
pub const HL7_ACK_LATENCY_SECONDS: &str = "wardwatch_hl7_ack_latency_seconds";
/// Messages that expected an acknowledgement and got none.
pub const HL7_UNACKNOWLEDGED_TOTAL: &str = "wardwatch_hl7_unacknowledged_total";
/// SIEM feed messages handed to the transport, by `sink` (a resend counts again).
pub const SIEM_MESSAGES_SENT_TOTAL: &str = "wardwatch_output_siem_messages_sent_total";
/// SIEM feed messages sent again after a connection loss (duplicates at the receiver).
pub const SIEM_MESSAGES_RESENT_TOTAL: &str = "wardwatch_output_siem_messages_resent_total";
/// SIEM feed messages written to the on-disk spool, by `sink`.
pub const SIEM_MESSAGES_SPOOLED_TOTAL: &str = "wardwatch_output_siem_messages_spooled_total";
/// SIEM feed messages lost, by `sink` and `reason` (queue_full, spool_full, spool_error,
/// too_large, udp_send, spool_corrupt).
pub const SIEM_MESSAGES_DROPPED_TOTAL: &str = "wardwatch_output_siem_messages_dropped_total";
/// SIEM feed failures, by `sink` and `reason` (connect, tls, send, peer_closed, stalled).
pub const SIEM_FAILURES_TOTAL: &str = "wardwatch_output_siem_failures_total";
/// Bytes in a SIEM feed's spool now, by `sink`.
pub const SIEM_SPOOL_BYTES: &str = "wardwatch_output_siem_spool_bytes";
/// 1 while a SIEM feed is connected to its receiver, by `sink`.
pub const SIEM_CONNECTED: &str = "wardwatch_output_siem_connected";
/// Alerts written, by `rule` (rule id: a set fixed by the loaded rules) and `severity`
/// (1..4).
pub const ALERTS_TOTAL: &str = "wardwatch_alerts_total";
/// Alerts dropped by the global rate limit.
pub const ALERTS_DROPPED_TOTAL: &str = "wardwatch_alerts_dropped_total";
/// Baseline deviations (one per `baseline.*` alert event), by `rule`
/// (`baseline.new_peer`, `baseline.new_service`...): the same counts as those series of
/// `wardwatch_alerts_total`, kept as their own family for dashboards and recording rules.
pub const BASELINE_DEVIATIONS_TOTAL: &str = "wardwatch_baseline_deviations_total";
/// HTTP requests refused for want of the API token, by `reason` (`missing_token`,
/// `invalid_token`).
pub const HTTP_REQUESTS_REFUSED_TOTAL: &str = "wardwatch_http_requests_refused_total";
/// HTTPS connections whose TLS handshake failed or timed out.
pub const HTTP_TLS_HANDSHAKE_FAILURES_TOTAL: &str = "wardwatch_http_tls_handshake_failures_total";

/// Every name above, for checks that dashboards use only exported metrics.
/// Devices in the inventory, by `class` and `criticality`.
pub const INVENTORY_DEVICES: &str = "wardwatch_inventory_devices";
/// Devices evicted from the inventory at its cap.
pub const INVENTORY_EVICTED_TOTAL: &str = "wardwatch_inventory_evicted_total";
/// One series per device (`device_id`, `class`, `vendor`, `model`), value 1; only with
/// `[output] metrics_device_info` and capped by `metrics_device_info_max`.
pub const DEVICE_INFO: &str = "wardwatch_device_info";
/// Capture time a device was last seen, by `device_id` (same switch and cap).
pub const DEVICE_LAST_SEEN_SECONDS: &str = "wardwatch_device_last_seen_timestamp_seconds";
/// Devices by `class` and FDA risk `status` (`controlled`, `uncontrolled`); every class
/// and status appears, with 0 when empty.
pub const RISK_DEVICES: &str = "wardwatch_risk_devices";
/// Devices by the cell of the FDA matrix: `exploitability` (`low`, `medium`, `high`) and
/// `severity` (`minor`, `serious`, `critical`); all nine cells appear.
pub const RISK_MATRIX_DEVICES: &str = "wardwatch_risk_matrix_devices";

pub const ALL: &[&str] = &[
    INVENTORY_DEVICES,
    INVENTORY_EVICTED_TOTAL,
    DEVICE_INFO,
    DEVICE_LAST_SEEN_SECONDS,
    RISK_DEVICES,
    RISK_MATRIX_DEVICES,
    CAPTURE_PACKETS_TOTAL,
    CAPTURE_BYTES_TOTAL,
    CAPTURE_KERNEL_DROPS_TOTAL,
    CAPTURE_QUEUE_DROPS_TOTAL,
    DECODE_ANOMALIES_TOTAL,
    FLOWS_ACTIVE,
    FLOWS_CREATED_TOTAL,
    FLOWS_EVICTED_TOTAL,
    REASSEMBLY_GAPS_TOTAL,
    REASSEMBLY_BUFFERED_BYTES,
    REASSEMBLY_CAP_HITS_TOTAL,
    ANALYZER_ANOMALIES_TOTAL,
    OUTPUT_EVENTS_TOTAL,
    DICOM_ASSOCIATIONS_TOTAL,
    DICOM_REJECTS_TOTAL,
    DICOM_ABORTS_TOTAL,
    DICOM_MESSAGES_TOTAL,
    DICOM_DIMSE_LATENCY_SECONDS,
    HL7_MESSAGES_TOTAL,
    HL7_ACKS_TOTAL,
    HL7_ACK_LATENCY_SECONDS,
    HL7_UNACKNOWLEDGED_TOTAL,
    SIEM_MESSAGES_SENT_TOTAL,
    SIEM_MESSAGES_RESENT_TOTAL,
    SIEM_MESSAGES_SPOOLED_TOTAL,
    SIEM_MESSAGES_DROPPED_TOTAL,
    SIEM_FAILURES_TOTAL,
    SIEM_SPOOL_BYTES,
    SIEM_CONNECTED,
    ALERTS_TOTAL,
    ALERTS_DROPPED_TOTAL,
    BASELINE_DEVIATIONS_TOTAL,
    HTTP_REQUESTS_REFUSED_TOTAL,
    HTTP_TLS_HANDSHAKE_FAILURES_TOTAL,
];

/// Names exported as histograms (`_bucket`, `_sum` and `_count` series).
pub const HISTOGRAMS: &[&str] = &[DICOM_DIMSE_LATENCY_SECONDS, HL7_ACK_LATENCY_SECONDS];

/// The family a series name belongs to: itself, or the histogram whose `_bucket`, `_sum` or
/// `_count` series it is. `None` when it is not exported.
pub fn family_of(series: &str) -> Option<&'static str> {
    if let Some(n) = ALL.iter().find(|n| **n == series) {
        return Some(n);
    }
    HISTOGRAMS.iter().copied().find(|h| {
        series
            .strip_prefix(*h)
            .is_some_and(|rest| matches!(rest, "_bucket" | "_sum" | "_count"))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn metric_names_follow_convention() {
        for n in super::ALL {
            assert!(n.starts_with("wardwatch_"), "{n}");
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{n}"
            );
        }
        // Gauges must not end in _total.
        assert!(!super::FLOWS_ACTIVE.ends_with("_total"));
        assert!(!super::REASSEMBLY_BUFFERED_BYTES.ends_with("_total"));
        for h in super::HISTOGRAMS {
            assert!(super::ALL.contains(h) && h.ends_with("_seconds"), "{h}");
        }
    }

    #[test]
    fn family_of_maps_histogram_series() {
        // Histogram series map to their family; unknown names and bare suffixes do not.
        assert_eq!(
            super::family_of("wardwatch_hl7_ack_latency_seconds_bucket"),
            Some(super::HL7_ACK_LATENCY_SECONDS)
        );
        assert_eq!(
            super::family_of(super::FLOWS_ACTIVE),
            Some(super::FLOWS_ACTIVE)
        );
        assert_eq!(super::family_of("wardwatch_flows_active_count"), None);
        assert_eq!(super::family_of("wardwatch_nope_total"), None);
    }
}
