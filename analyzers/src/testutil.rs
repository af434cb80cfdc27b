//! Helpers shared by the analyzers' unit tests (compiled for tests only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: test helpers

use model::{Event, EventKind, FlowKey, FlowMeta, IpProto};
use std::sync::Arc;

/// A flow's facts as the pipeline would hand them to an analyzer: `src:sport -> dst:dport`
/// over `proto`, seen on interface `iface`, already claimed by analyzer `app`.
pub fn flow_meta(
    proto: IpProto,
    (src, sport): (&str, u16),
    (dst, dport): (&str, u16),
    iface: &str,
    app: &'static str,
) -> FlowMeta {
    FlowMeta {
        flow_id: 1,
        key: FlowKey {
            vlan: [0, 0],
            proto,
            src_ip: src.parse().unwrap(),
            src_port: sport,
            dst_ip: dst.parse().unwrap(),
            dst_port: dport,
        },
        in_iface: Arc::from(iface),
        src_mac: None,
        dest_mac: None,
        app_proto: Some(app),
    }
}

/// The codes of the anomaly events among `events`, in order.
pub fn anomaly_codes(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Anomaly(a) => Some(a.event),
            _ => None,
        })
        .collect()
}
