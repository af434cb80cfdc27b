//! Events and their EVE JSON form (the contract SIEM pipelines rely on).
//!
//! Every event: `timestamp` (capture time, Suricata's form), `event_type`, `host` (sensor
//! name) and an object named after the event type. Events about a flow also carry
//! `flow_id`, `in_iface`, `vlan` (when tagged), `src_ip`, `src_port`, `dest_ip`,
//! `dest_port`, `proto`, `app_proto` (when known) and `ether` {`src_mac`, `dest_mac`};
//! `src` is the flow's originator. For ICMP the ports are replaced by `icmp_type` and
//! `icmp_code`, as Suricata does.

use crate::flow::{FlowMeta, IpProto};
use crate::time::Timestamp;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// One thing wardwatch reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Capture time of the packet that caused it (never the wall clock).
    pub ts: Timestamp,
    /// The flow it is about, if any.
    pub flow: Option<Box<FlowMeta>>,
    pub kind: EventKind,
}

/// The event payloads; the variant decides `event_type`.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    Flow(FlowRecord),
    Anomaly(AnomalyRecord),
    /// `event_type: "dicom"`: a DICOM association or DIMSE message record.
    Dicom(crate::dicom::DicomEvent),
    /// `event_type: "hl7"`: one HL7 v2 message (boxed: it is much larger than the rest).
    Hl7(Box<crate::hl7::Hl7Event>),
    /// `event_type: "dhcp"`: one DHCPv4 or DHCPv6 message.
    Dhcp(Box<crate::dhcp::DhcpEvent>),
    /// `event_type: "dns"`: one DNS or LLMNR message.
    Dns(Box<crate::dns::DnsEvent>),
    /// `event_type: "mdns"`: one mDNS message, with its DNS-SD facts.
    Mdns(Box<crate::dns::DnsEvent>),
    /// `event_type: "tls"`: one TLS handshake's hellos and fingerprints (boxed: large).
    Tls(Box<crate::tls::TlsEvent>),
    /// `event_type: "http"`: one HTTP/1.x request/response pair (boxed: large).
    Http(Box<crate::http::HttpEvent>),
    /// `event_type: "ssdp"`: one SSDP/UPnP discovery message.
    Ssdp(Box<crate::ssdp::SsdpEvent>),
    /// `event_type: "lldp"`: one LLDPDU (no flow; the payload names the sender's MAC).
    Lldp(Box<crate::l2::LldpEvent>),
    /// `event_type: "cdp"`: one CDP announcement (no flow).
    Cdp(Box<crate::l2::CdpEvent>),
    /// `event_type: "arp"`: a new or changed IP-to-MAC binding (no flow).
    Arp(Box<crate::l2::ArpEvent>),
    /// `event_type: "telnet"`: a telnet session (insecure service, cleartext login).
    Telnet(Box<crate::exposure::TelnetEvent>),
    /// `event_type: "ftp"`: an FTP control session (cleartext credentials).
    Ftp(Box<crate::exposure::FtpEvent>),
    /// `event_type: "smb"`: an SMB negotiation (SMBv1 flagged).
    Smb(Box<crate::exposure::SmbEvent>),
    /// `event_type: "snmp"`: an SNMP message (v1/v2c community presence, never its value).
    Snmp(Box<crate::exposure::SnmpEvent>),
    /// `event_type: "device"`: a device appeared or a key attribute changed.
    Device(Box<crate::device::DeviceEvent>),
    /// `event_type: "alert"`: a policy or baseline rule fired (Suricata's alert shape).
    Alert(Box<crate::alert::AlertEvent>),
    /// `event_type: "wsd"`: one WS-Discovery message.
    Wsd(Box<crate::wsd::WsdEvent>),
}

impl EventKind {
    /// The EVE `event_type`, also the name of the payload object.
    pub fn event_type(&self) -> &'static str {
        match self {
            EventKind::Flow(_) => "flow",
            EventKind::Anomaly(_) => "anomaly",
            EventKind::Dicom(_) => "dicom",
            EventKind::Hl7(_) => "hl7",
            EventKind::Tls(_) => "tls",
            EventKind::Http(_) => "http",
            EventKind::Dhcp(_) => "dhcp",
            EventKind::Dns(_) => "dns",
            EventKind::Mdns(_) => "mdns",
            EventKind::Ssdp(_) => "ssdp",
            EventKind::Lldp(_) => "lldp",
            EventKind::Cdp(_) => "cdp",
            EventKind::Arp(_) => "arp",
            EventKind::Telnet(_) => "telnet",
            EventKind::Ftp(_) => "ftp",
            EventKind::Smb(_) => "smb",
            EventKind::Snmp(_) => "snmp",
            EventKind::Device(_) => "device",
            EventKind::Alert(_) => "alert",
            EventKind::Wsd(_) => "wsd",
        }
    }
}

/// Why a flow record was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowEndReason {
    /// Idle or active timeout, in capture time.
    Timeout,
    /// End of the capture or a clean shutdown flushed it.
    Shutdown,
    /// The flow table was full and this was its oldest idle flow.
    Evicted,
}

/// Flow state as EVE names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowState {
    New,
    Established,
    Closed,
}

/// `event_type: "flow"`: written once when a flow ends.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowRecord {
    pub pkts_toserver: u64,
    pub pkts_toclient: u64,
    /// Original frame lengths, as on the wire.
    pub bytes_toserver: u64,
    pub bytes_toclient: u64,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Whole seconds from start to end.
    pub age: u64,
    pub state: FlowState,
    pub reason: FlowEndReason,
    /// Reassembly facts (TCP only); omitted when nothing happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpRecord>,
}

/// What TCP reassembly did on a flow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StreamRecord {
    /// Bytes delivered in order to analyzers, per direction.
    pub bytes_toserver: u64,
    pub bytes_toclient: u64,
    /// Holes skipped (`on_gap`) and their total length.
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Overlapping segments whose bytes differed from what was kept (first wins).
    pub overlaps_differ: u64,
    /// True when the flow was joined without seeing its SYN.
    pub midstream: bool,
}

/// TCP facts of a flow, as Suricata's `tcp` object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpRecord {
    pub flags: u8,
    pub flags_ts: u8,
    pub flags_tc: u8,
    pub state: &'static str,
    /// p0f v3 raw signature of the connection's SYN, when seen.
    pub syn_signature: Option<crate::p0f::P0fSignature>,
    /// p0f v3 raw signature of the connection's SYN+ACK, when seen.
    pub synack_signature: Option<crate::p0f::P0fSignature>,
}

impl Serialize for TcpRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const NAMES: [(u8, &str); 8] = [
            (0x01, "fin"),
            (0x02, "syn"),
            (0x04, "rst"),
            (0x08, "psh"),
            (0x10, "ack"),
            (0x20, "urg"),
            (0x40, "ecn"),
            (0x80, "cwr"),
        ];
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("tcp_flags", &format!("{:02x}", self.flags))?;
        m.serialize_entry("tcp_flags_ts", &format!("{:02x}", self.flags_ts))?;
        m.serialize_entry("tcp_flags_tc", &format!("{:02x}", self.flags_tc))?;
        for (bit, name) in NAMES {
            if self.flags & bit != 0 {
                m.serialize_entry(name, &true)?;
            }
        }
        m.serialize_entry("state", self.state)?;
        if let Some(sig) = &self.syn_signature {
            m.serialize_entry("syn_signature", sig)?;
        }
        if let Some(sig) = &self.synack_signature {
            m.serialize_entry("synack_signature", sig)?;
        }
        m.end()
    }
}

/// `event_type: "anomaly"`: something malformed or unexpected, by a named code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnomalyRecord {
    /// `decode`, `stream` or `applayer` (Suricata's kinds).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The named reason, e.g. `overlap_differs`, `pdu_too_large`.
    pub event: &'static str,
    /// The analyzer that raised it, for `applayer` anomalies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<&'static str>,
    /// Where it happened (`to_server`/`to_client`), when it has a direction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<crate::flow::Direction>,
}

/// An event rendered as one EVE line, with the sensor name.
pub struct Eve<'a> {
    pub event: &'a Event,
    pub host: &'a str,
}

impl Serialize for Eve<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ev = self.event;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("timestamp", &ev.ts)?;
        if let Some(f) = &ev.flow {
            m.serialize_entry("flow_id", &f.flow_id)?;
            m.serialize_entry("in_iface", &*f.in_iface)?;
        }
        m.serialize_entry("event_type", ev.kind.event_type())?;
        if let Some(f) = &ev.flow {
            let k = &f.key;
            let vlans: Vec<u16> = k.vlan.iter().copied().filter(|v| *v != 0).collect();
            if !vlans.is_empty() {
                m.serialize_entry("vlan", &vlans)?;
            }
            m.serialize_entry("src_ip", &k.src_ip)?;
            let icmp = k.proto == IpProto::ICMP || k.proto == IpProto::ICMPV6;
            let ports =
                k.proto == IpProto::TCP || k.proto == IpProto::UDP || k.proto == IpProto::SCTP;
            if ports {
                m.serialize_entry("src_port", &k.src_port)?;
            }
            m.serialize_entry("dest_ip", &k.dst_ip)?;
            if ports {
                m.serialize_entry("dest_port", &k.dst_port)?;
            }
            m.serialize_entry("proto", &k.proto.eve_name())?;
            if icmp {
                m.serialize_entry("icmp_type", &k.src_port)?;
                m.serialize_entry("icmp_code", &k.dst_port)?;
            }
            if let Some(app) = f.app_proto {
                m.serialize_entry("app_proto", app)?;
            }
        }
        match &ev.kind {
            EventKind::Flow(r) => m.serialize_entry("flow", r)?,
            EventKind::Anomaly(r) => m.serialize_entry("anomaly", r)?,
            EventKind::Dicom(r) => m.serialize_entry("dicom", r)?,
            EventKind::Hl7(r) => m.serialize_entry("hl7", r)?,
            EventKind::Tls(r) => m.serialize_entry("tls", r)?,
            EventKind::Http(r) => m.serialize_entry("http", r)?,
            EventKind::Dhcp(r) => m.serialize_entry("dhcp", r)?,
            EventKind::Dns(r) => m.serialize_entry("dns", r)?,
            EventKind::Mdns(r) => m.serialize_entry("mdns", r)?,
            EventKind::Ssdp(r) => m.serialize_entry("ssdp", r)?,
            EventKind::Lldp(r) => m.serialize_entry("lldp", r)?,
            EventKind::Cdp(r) => m.serialize_entry("cdp", r)?,
            EventKind::Arp(r) => m.serialize_entry("arp", r)?,
            EventKind::Telnet(r) => m.serialize_entry("telnet", r)?,
            EventKind::Ftp(r) => m.serialize_entry("ftp", r)?,
            EventKind::Smb(r) => m.serialize_entry("smb", r)?,
            EventKind::Snmp(r) => m.serialize_entry("snmp", r)?,
            EventKind::Device(r) => m.serialize_entry("device", r)?,
            EventKind::Alert(r) => m.serialize_entry("alert", r)?,
            EventKind::Wsd(r) => m.serialize_entry("wsd", r)?,
        }
        if let Some(f) = &ev.flow {
            if let (Some(src), Some(dst)) = (f.src_mac, f.dest_mac) {
                m.serialize_entry(
                    "ether",
                    &Ether {
                        src_mac: src,
                        dest_mac: dst,
                    },
                )?;
            }
        }
        m.serialize_entry("host", self.host)?;
        m.end()
    }
}

#[derive(Serialize)]
struct Ether {
    src_mac: crate::flow::MacAddr,
    dest_mac: crate::flow::MacAddr,
}

impl Event {
    /// Appends this event as one EVE JSON line (with the trailing newline) to `out`.
    pub fn write_eve(&self, host: &str, out: &mut Vec<u8>) {
        if let (EventKind::Flow(r), Some(f)) = (&self.kind, &self.flow) {
            if crate::fast_flow::write_flow(self.ts, f, r, host, out) {
                return;
            }
        }
        // Serialising these types to a Vec cannot fail (no maps with non-string keys).
        if serde_json::to_writer(&mut *out, &Eve { event: self, host }).is_ok() {
            out.push(b'\n');
        }
    }

    /// The EVE form as a JSON value (tests and sinks that reshape events).
    pub fn to_eve_value(&self, host: &str) -> serde_json::Value {
        serde_json::to_value(Eve { event: self, host }).unwrap_or(serde_json::Value::Null)
    }
}
