#!/usr/bin/env python3
"""Writes the Grafana dashboards (dashboards/*.json) from the panel lists below.

Run it after editing a panel: `python3 dashboards/generate.py`. Every query may use only
metric names from model/src/metrics.rs (tests/metrics_prometheus.rs checks, and evaluates
every query against a Prometheus scraping a replay). `$__rate_interval` and `$instance`
are Grafana variables; the test substitutes them.
"""
import json
import os

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'instance=~"$instance"'
R = "$__rate_interval"


def templating():
    return {
        "list": [
            {
                "name": "datasource",
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {},
                "hide": 0,
                "refresh": 1,
            },
            {
                "name": "instance",
                "label": "Sensor",
                "type": "query",
                "datasource": DS,
                "query": {
                    "query": "label_values(wardwatch_capture_packets_total, instance)",
                    "refId": "instance",
                },
                "definition": "label_values(wardwatch_capture_packets_total, instance)",
                "includeAll": True,
                "multi": True,
                "allValue": ".*",
                "current": {"text": "All", "value": "$__all"},
                "refresh": 2,
                "hide": 0,
            },
        ]
    }


def panel(pid, title, kind, targets, x, y, w=12, h=8, unit=None, desc=None):
    p = {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DS, "expr": e, "legendFormat": l}
            for i, (e, l) in enumerate(targets)
        ],
        "fieldConfig": {"defaults": {"unit": unit or "short"}, "overrides": []},
        "options": {},
    }
    if desc:
        p["description"] = desc
    return p


def layout(specs):
    """specs: (title, kind, targets, unit, desc) placed two per row."""
    out = []
    for i, (title, kind, targets, unit, desc) in enumerate(specs):
        out.append(panel(i + 1, title, kind, targets, (i % 2) * 12, (i // 2) * 8, unit=unit, desc=desc))
    return out


def dashboard(uid, title, desc, specs):
    return {
        "uid": uid,
        "title": title,
        "description": desc,
        "tags": ["wardwatch"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": templating(),
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["wardwatch"], "title": "wardwatch", "asDropdown": True}],
        "panels": layout(specs),
    }


OVERVIEW = dashboard(
    "wardwatch-overview",
    "wardwatch / Overview",
    "Traffic, flows, clinical protocols and capture health of every sensor at a glance.",
    [
        ("Packets per second", "timeseries",
         [(f"sum by (instance) (rate(wardwatch_capture_packets_total{{{SEL}}}[{R}]))", "{{instance}}")], "pps", None),
        ("Traffic", "timeseries",
         [(f"8 * sum by (instance) (rate(wardwatch_capture_bytes_total{{{SEL}}}[{R}]))", "{{instance}}")], "bps", None),
        ("Active flows", "timeseries",
         [(f"sum by (instance) (wardwatch_flows_active{{{SEL}}})", "{{instance}}")], None, None),
        ("Events written by type", "timeseries",
         [(f"sum by (event_type) (rate(wardwatch_output_events_total{{{SEL}}}[{R}]))", "{{event_type}}")], "ops", None),
        ("Packets dropped (1 h)", "stat",
         [(f"sum(increase(wardwatch_capture_kernel_drops_total{{{SEL}}}[1h])) + sum(increase(wardwatch_capture_queue_drops_total{{{SEL}}}[1h]))", "dropped")],
         None, "Kernel and worker-queue drops: anything above 0 means missed traffic."),
        ("Anomalies per second", "timeseries",
         [(f"sum(rate(wardwatch_decode_anomalies_total{{{SEL}}}[{R}]))", "decode"),
          (f"sum(rate(wardwatch_analyzer_anomalies_total{{{SEL}}}[{R}]))", "stream and analyzers")], "ops", None),
        ("DICOM associations by outcome", "timeseries",
         [(f"sum by (outcome) (rate(wardwatch_dicom_associations_total{{{SEL}}}[{R}]))", "{{outcome}}")], "ops", None),
        ("HL7 messages by type", "timeseries",
         [(f"sum by (type) (rate(wardwatch_hl7_messages_total{{{SEL}}}[{R}]))", "{{type}}")], "ops", None),
        ("Devices by class", "bargauge",
         [(f"sum by (class) (wardwatch_inventory_devices{{{SEL}}})", "{{class}}")], None, None),
        ("Devices by risk status", "stat",
         [(f"sum by (status) (wardwatch_risk_devices{{{SEL}}})", "{{status}}")], None,
         "FDA risk posture: devices whose risk is uncontrolled need a compensating control."),
        ("Alerts by severity", "timeseries",
         [(f"sum by (severity) (rate(wardwatch_alerts_total{{{SEL}}}[{R}]))", "severity {{severity}}")], "ops", None),
        ("Alerts (total)", "stat",
         [(f"sum(wardwatch_alerts_total{{{SEL}}})", "alerts")], None, None),
    ],
)

CAPTURE = dashboard(
    "wardwatch-capture-health",
    "wardwatch / Capture health",
    "Is the sensor seeing everything? Drops, per-worker load, decode and analyzer anomalies, flow table and reassembly.",
    [
        ("Packets per second by worker", "timeseries",
         [(f"sum by (instance, source, worker) (rate(wardwatch_capture_packets_total{{{SEL}}}[{R}]))", "{{instance}} {{source}}/{{worker}}")], "pps", None),
        ("Drop ratio", "timeseries",
         [(f"(sum by (instance) (rate(wardwatch_capture_kernel_drops_total{{{SEL}}}[{R}])) + sum by (instance) (rate(wardwatch_capture_queue_drops_total{{{SEL}}}[{R}]))) / clamp_min(sum by (instance) (rate(wardwatch_capture_packets_total{{{SEL}}}[{R}])), 1)", "{{instance}}")],
         "percentunit", "Dropped packets over captured packets."),
        ("Kernel drops per second", "timeseries",
         [(f"sum by (instance, worker) (rate(wardwatch_capture_kernel_drops_total{{{SEL}}}[{R}]))", "{{instance}} {{worker}}")], "pps", None),
        ("Worker queue drops per second", "timeseries",
         [(f"sum by (instance, worker) (rate(wardwatch_capture_queue_drops_total{{{SEL}}}[{R}]))", "{{instance}} {{worker}}")], "pps", None),
        ("Decode anomalies by reason", "timeseries",
         [(f"sum by (layer, reason) (rate(wardwatch_decode_anomalies_total{{{SEL}}}[{R}]))", "{{layer}}.{{reason}}")], "ops", None),
        ("Analyzer anomalies by code", "timeseries",
         [(f"sum by (analyzer, code) (rate(wardwatch_analyzer_anomalies_total{{{SEL}}}[{R}]))", "{{analyzer}}.{{code}}")], "ops", None),
        ("Active flows by worker", "timeseries",
         [(f"sum by (instance, worker) (wardwatch_flows_active{{{SEL}}})", "{{instance}} {{worker}}")], None, None),
        ("Flows created and evicted", "timeseries",
         [(f"sum by (instance) (rate(wardwatch_flows_created_total{{{SEL}}}[{R}]))", "created {{instance}}"),
          (f"sum by (instance) (rate(wardwatch_flows_evicted_total{{{SEL}}}[{R}]))", "evicted {{instance}}")], "ops",
         "Evictions mean the flow table is full (flow.max_flows)."),
        ("Reassembly gaps and cap hits", "timeseries",
         [(f"sum by (instance) (rate(wardwatch_reassembly_gaps_total{{{SEL}}}[{R}]))", "gaps {{instance}}"),
          (f"sum by (instance) (rate(wardwatch_reassembly_cap_hits_total{{{SEL}}}[{R}]))", "cap hits {{instance}}")], "ops", None),
        ("Out-of-order bytes buffered", "timeseries",
         [(f"sum by (instance, worker) (wardwatch_reassembly_buffered_bytes{{{SEL}}})", "{{instance}} {{worker}}")], "bytes", None),
    ],
)

DICOM = dashboard(
    "wardwatch-dicom",
    "wardwatch / DICOM interfaces",
    "DICOM associations, rejects, aborts, DIMSE traffic and response times between modalities, archives and viewers.",
    [
        ("Associations by outcome", "timeseries",
         [(f"sum by (outcome) (rate(wardwatch_dicom_associations_total{{{SEL}}}[{R}]))", "{{outcome}}")], "ops", None),
        ("Associations (total)", "stat",
         [(f"sum by (outcome) (wardwatch_dicom_associations_total{{{SEL}}})", "{{outcome}}")], None, None),
        ("Rejects by source and reason (1 h)", "table",
         [(f"sum by (source, reason) (increase(wardwatch_dicom_rejects_total{{{SEL}}}[1h]))", "{{source}} {{reason}}")], None,
         "A-ASSOCIATE-RJ: unknown AE titles, unsupported contexts, busy peers."),
        ("Aborts by source (1 h)", "timeseries",
         [(f"sum by (source) (increase(wardwatch_dicom_aborts_total{{{SEL}}}[1h]))", "{{source}}")], None, None),
        ("DIMSE messages by command", "timeseries",
         [(f"sum by (command) (rate(wardwatch_dicom_messages_total{{{SEL}}}[{R}]))", "{{command}}")], "ops", None),
        ("Responses by status class", "timeseries",
         [(f'sum by (status_class) (rate(wardwatch_dicom_messages_total{{{SEL},status_class!="none"}}[{R}]))', "{{status_class}}")], "ops", None),
        ("DIMSE response time p95", "timeseries",
         [(f"histogram_quantile(0.95, sum by (le, command) (rate(wardwatch_dicom_dimse_latency_seconds_bucket{{{SEL}}}[{R}])))", "{{command}}")], "s", None),
        ("DIMSE mean response time", "timeseries",
         [(f"sum by (command) (rate(wardwatch_dicom_dimse_latency_seconds_sum{{{SEL}}}[{R}])) / clamp_min(sum by (command) (rate(wardwatch_dicom_dimse_latency_seconds_count{{{SEL}}}[{R}])), 1e-9)", "{{command}}")], "s", None),
    ],
)

HL7 = dashboard(
    "wardwatch-hl7",
    "wardwatch / HL7 interfaces",
    "HL7 v2 message flow by type, acknowledgement codes and times, and messages left unacknowledged.",
    [
        ("Messages by type", "timeseries",
         [(f"sum by (type) (rate(wardwatch_hl7_messages_total{{{SEL}}}[{R}]))", "{{type}}")], "ops", None),
        ("Messages by type (total)", "table",
         [(f"sum by (type) (wardwatch_hl7_messages_total{{{SEL}}})", "{{type}}")], None, None),
        ("Acknowledgements by code", "timeseries",
         [(f"sum by (code) (rate(wardwatch_hl7_acks_total{{{SEL}}}[{R}]))", "{{code}}")], "ops",
         "AA/CA accepted; AE/CE error; AR/CR rejected."),
        ("Unacknowledged messages (1 h)", "stat",
         [(f"sum(increase(wardwatch_hl7_unacknowledged_total{{{SEL}}}[1h]))", "unacknowledged")], None, None),
        ("ACK time p50 / p95", "timeseries",
         [(f"histogram_quantile(0.5, sum by (le) (rate(wardwatch_hl7_ack_latency_seconds_bucket{{{SEL}}}[{R}])))", "p50"),
          (f"histogram_quantile(0.95, sum by (le) (rate(wardwatch_hl7_ack_latency_seconds_bucket{{{SEL}}}[{R}])))", "p95")], "s", None),
        ("Messages acknowledged (total)", "stat",
         [(f"sum(wardwatch_hl7_ack_latency_seconds_count{{{SEL}}})", "acknowledged"),
          (f"sum(wardwatch_hl7_unacknowledged_total{{{SEL}}})", "unacknowledged")], None, None),
    ],
)

INVENTORY = dashboard(
    "wardwatch-inventory",
    "wardwatch / Device inventory",
    "What is connected: devices by class and clinical criticality, and one row per device "
    "(needs [output] metrics_device_info = true; capped by metrics_device_info_max).",
    [
        ("Devices by class", "bargauge",
         [(f"sum by (class) (wardwatch_inventory_devices{{{SEL}}})", "{{class}}")], None, None),
        ("Devices by clinical criticality", "piechart",
         [(f"sum by (criticality) (wardwatch_inventory_devices{{{SEL}}})", "{{criticality}}")], None, None),
        ("Devices (total)", "stat",
         [(f"sum(wardwatch_inventory_devices{{{SEL}}})", "devices"),
          (f"sum(wardwatch_inventory_evicted_total{{{SEL}}})", "evicted at the cap")], None,
         "Evicted devices mean the inventory is full (inventory.max_devices)."),
        ("Devices by class over time", "timeseries",
         [(f"sum by (class) (wardwatch_inventory_devices{{{SEL}}})", "{{class}}")], None, None),
        ("Device inventory", "table",
         [(f"max by (device_id, class, vendor, model, risk) (wardwatch_device_info{{{SEL}}})", "{{device_id}}")], None,
         "One row per device: id (MAC or ip:address), class, vendor, model and FDA risk status."),
        ("Last seen (capture time)", "table",
         [(f"max by (device_id) (wardwatch_device_last_seen_timestamp_seconds{{{SEL}}}) * 1000", "{{device_id}}")], "dateTimeAsIso",
         "When each device was last seen, in capture time (a replay shows the capture's dates)."),
    ],
)

ALERTS = dashboard(
    "wardwatch-alerts-risk",
    "wardwatch / Alerts and risk",
    "Policy and baseline alerts by rule and severity, and the FDA risk posture of the devices: "
    "controlled or uncontrolled, and the exploitability x severity matrix.",
    [
        ("Alerts by rule", "timeseries",
         [(f"sum by (rule) (rate(wardwatch_alerts_total{{{SEL}}}[{R}]))", "{{rule}}")], "ops", None),
        ("Alerts by severity (total)", "stat",
         [(f"sum by (severity) (wardwatch_alerts_total{{{SEL}}})", "severity {{severity}}")], None,
         "1 high .. 4 informational (Suricata's scale)."),
        ("Alerts by rule (total)", "table",
         [(f"sum by (rule, severity) (wardwatch_alerts_total{{{SEL}}})", "{{rule}}")], None, None),
        ("Baseline deviations by rule (total)", "table",
         [(f'sum by (rule) (wardwatch_alerts_total{{{SEL},rule=~"baseline[.].*|policy[.].*"}})', "{{rule}}")], None,
         "Deviations from the learned baselines and policy violations."),
        ("Devices by risk status", "piechart",
         [(f"sum by (status) (wardwatch_risk_devices{{{SEL}}})", "{{status}}")], None,
         "FDA postmarket guidance: controlled or uncontrolled risk to essential clinical performance."),
        ("Uncontrolled devices by class", "bargauge",
         [(f'sum by (class) (wardwatch_risk_devices{{{SEL},status="uncontrolled"}})', "{{class}}")], None, None),
        ("Risk matrix: exploitability x severity", "table",
         [(f"sum by (exploitability, severity) (wardwatch_risk_matrix_devices{{{SEL}}})", "{{exploitability}}/{{severity}}")], None,
         "Devices per cell; high exploitability with serious or critical harm, or medium with critical, is uncontrolled."),
        ("Alerts dropped by the rate limit (1 h)", "stat",
         [(f"sum(increase(wardwatch_alerts_dropped_total{{{SEL}}}[1h]))", "dropped")], None,
         "Anything above 0: raise [alerts] max_per_sec or look for an alert storm."),
    ],
)

here = os.path.dirname(os.path.abspath(__file__))
for name, d in [("overview", OVERVIEW), ("capture-health", CAPTURE), ("dicom", DICOM), ("hl7", HL7),
                ("inventory", INVENTORY), ("alerts-risk", ALERTS)]:
    with open(os.path.join(here, f"{name}.json"), "w") as f:
        json.dump(d, f, indent=2)
        f.write("\n")
