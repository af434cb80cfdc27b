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

/// Every name above, for checks that dashboards use only exported metrics.
pub const ALL: &[&str] = &[
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
];

#[cfg(test)]
mod tests {
    #[test]
    fn metric_names_follow_convention() {
        for n in super::ALL {
            assert!(n.starts_with("wardwatch_"), "{n}");
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
        }
        // Gauges must not end in _total.
        assert!(!super::FLOWS_ACTIVE.ends_with("_total"));
        assert!(!super::REASSEMBLY_BUFFERED_BYTES.ends_with("_total"));
    }
}
