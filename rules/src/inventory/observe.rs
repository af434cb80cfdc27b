//! From events to evidence: which endpoint of an event an attribute belongs to, and what
//! each analyzer's facts say about a device.
//!
//! Originator and responder are the flow's `src` and `dest`; message-level events carry
//! their own direction (DICOM, HL7) or are attributed by their protocol's server port
//! (DHCP 67/547, DNS 53). Only hosts that sent a frame get a record (a flow's responder
//! must have answered).

use super::{Attr, Inventory, Key};
use model::dicom::DicomEvent;
use model::{Direction, Event, EventKind, FlowMeta, IpProto, Timestamp};

/// Image storage SOP classes (PS3.4 Annex B.5) and the modality they imply.
const SOP_MODALITY: &[(&str, &str)] = &[
    ("1.2.840.10008.5.1.4.1.1.2", "CT"),
    ("1.2.840.10008.5.1.4.1.1.2.1", "CT"),
    ("1.2.840.10008.5.1.4.1.1.4", "MR"),
    ("1.2.840.10008.5.1.4.1.1.4.1", "MR"),
    ("1.2.840.10008.5.1.4.1.1.6.1", "US"),
    ("1.2.840.10008.5.1.4.1.1.3.1", "US"),
    ("1.2.840.10008.5.1.4.1.1.1", "CR"),
    ("1.2.840.10008.5.1.4.1.1.1.1", "DX"),
    ("1.2.840.10008.5.1.4.1.1.1.1.1", "DX"),
    ("1.2.840.10008.5.1.4.1.1.1.2", "MG"),
    ("1.2.840.10008.5.1.4.1.1.1.2.1", "MG"),
    ("1.2.840.10008.5.1.4.1.1.12.1", "XA"),
    ("1.2.840.10008.5.1.4.1.1.12.2", "RF"),
    ("1.2.840.10008.5.1.4.1.1.20", "NM"),
    ("1.2.840.10008.5.1.4.1.1.128", "PT"),
    ("1.2.840.10008.5.1.4.1.1.481.1", "RTIMAGE"),
    ("1.2.840.10008.5.1.4.1.1.77.1.4", "XC"),
    ("1.2.840.10008.5.1.4.1.1.13.1.1", "DX"),
];
/// Modality Worklist Information Model - FIND (PS3.4 K.6.1.2).
const MWL_FIND: &str = "1.2.840.10008.5.1.4.31";
/// Query/Retrieve information models (PS3.4 C.6): patient root, study root, patient/study only.
const QR_PREFIX: &str = "1.2.840.10008.5.1.4.1.2.";
/// Storage SOP classes all start here (PS3.4 B.5).
const STORAGE_PREFIX: &str = "1.2.840.10008.5.1.4.1.1.";

type Side = Option<Key>;

/// Adds a p0f signature. A network shows few distinct signatures: each is rendered once
/// and remembered (bounded: [`SIGNATURE_MEMO`] entries, then forgotten all at once).
fn signature(
    inv: &mut Inventory,
    id: &Key,
    sig: &model::p0f::P0fSignature,
    source: &str,
    confidence: u8,
    ts: Timestamp,
) {
    let mut memo = std::mem::take(&mut inv.signatures);
    if !memo.contains_key(sig) {
        if memo.len() >= SIGNATURE_MEMO {
            memo.clear();
        }
        let mut buf = Vec::new();
        sig.write(&mut buf);
        memo.insert(*sig, String::from_utf8(buf).ok());
    }
    if let Some(Some(text)) = memo.get(sig) {
        inv.add_attr(id, Attr::TcpSignature, text, source, confidence, ts);
    }
    inv.signatures = memo;
}

/// Most rendered p0f signatures remembered.
pub(super) const SIGNATURE_MEMO: usize = 4096;

/// `tcp/104` written into `buf` without allocating.
fn service_text<'a>(buf: &'a mut [u8; 10], proto: &str, port: u16) -> &'a str {
    let p = proto.as_bytes();
    let mut n = p.len().min(4);
    buf[..n].copy_from_slice(&p[..n]);
    let mut digits = [0u8; 5];
    let (mut v, mut k) = (port, 0);
    loop {
        digits[k] = b'0' + (v % 10) as u8;
        k += 1;
        v /= 10;
        if v == 0 || k == digits.len() {
            break;
        }
    }
    while k > 0 && n < buf.len() {
        k -= 1;
        buf[n] = digits[k];
        n += 1;
    }
    std::str::from_utf8(&buf[..n]).unwrap_or("")
}

fn sides(inv: &mut Inventory, ev: &Event, f: &FlowMeta, responder_spoke: bool) -> (Side, Side) {
    let src = inv.endpoint(f.src_mac, Some(f.key.src_ip), ev.ts);
    let dst = if responder_spoke {
        inv.endpoint(f.dest_mac, Some(f.key.dst_ip), ev.ts)
    } else {
        None
    };
    (src, dst)
}

/// Applies one event to the inventory.
pub(super) fn observe(inv: &mut Inventory, ev: &Event) {
    let ts = ev.ts;
    match (&ev.kind, ev.flow.as_deref()) {
        (EventKind::Flow(r), Some(f)) => {
            // First sight is the flow's start, not its end.
            let start = r.start;
            let src = inv.endpoint_since(f.src_mac, Some(f.key.src_ip), ts, start);
            let dst = if r.pkts_toclient > 0 {
                inv.endpoint_since(f.dest_mac, Some(f.key.dst_ip), ts, start)
            } else {
                None
            };
            if let (Some(t), Some(s)) = (r.tcp.as_ref(), src.as_ref()) {
                if let Some(sig) = &t.syn_signature {
                    signature(inv, s, sig, "p0f_syn", 60, ts);
                }
            }
            let Some(dst) = dst else { return };
            if let Some(sig) = r.tcp.as_ref().and_then(|t| t.synack_signature.as_ref()) {
                signature(inv, &dst, sig, "p0f_synack", 50, ts);
            }
            let port = f.key.dst_port;
            let service = if f.key.proto == IpProto::TCP {
                r.tcp.filter(|t| t.flags_tc & 0x12 == 0x12).map(|_| "tcp/")
            } else if f.key.proto == IpProto::UDP && port < 49152 && port != 0 {
                Some("udp/")
            } else {
                None
            };
            if let Some(p) = service {
                let mut buf = [0u8; 10];
                inv.add_attr(
                    &dst,
                    Attr::Service,
                    service_text(&mut buf, p, port),
                    "flow",
                    70,
                    ts,
                );
            }
            if f.key.proto == IpProto::UDP && port == 123 {
                inv.add_attr(&dst, Attr::Role, "ntp_server", "flow", 70, ts);
            }
        }
        (EventKind::Dhcp(d), f) => {
            let server_is_src = f.map(|f| matches!(f.key.src_port, 67 | 547));
            if d.kind == "request" {
                // chaddr names the client even through a relay.
                let id = match d.client_mac {
                    Some(m) => inv.mac_device(m, ts),
                    None => f.and_then(|f| inv.endpoint(f.src_mac, None, ts)),
                };
                let Some(id) = id else { return };
                inv.add_attr(&id, Attr::Role, "dhcp_client", "dhcp", 80, ts);
                if let Some(h) = &d.hostname {
                    inv.add_attr(&id, Attr::Hostname, h, "dhcp", 70, ts);
                }
                if let Some(fq) = &d.fqdn {
                    inv.add_attr(&id, Attr::Hostname, fq, "dhcp_fqdn", 65, ts);
                }
                if let Some(v) = &d.vendor_class_identifier {
                    inv.add_attr(&id, Attr::DhcpVendorClass, v, "dhcp", 80, ts);
                }
                if !d.params.is_empty() {
                    // `1,3,6,15`: one text, no text per option.
                    let mut fp = String::with_capacity(d.params.len() * 4);
                    for (i, p) in d.params.iter().enumerate() {
                        if i > 0 {
                            fp.push(',');
                        }
                        let _ = std::fmt::Write::write_fmt(&mut fp, format_args!("{p}"));
                    }
                    inv.add_attr(&id, Attr::DhcpFingerprint, &fp, "dhcp", 80, ts);
                }
                if let (Some(ip), Some(f)) = (d.client_ip, f) {
                    // A renewing client uses its own address as source.
                    if f.key.src_ip == std::net::IpAddr::V4(ip) {
                        inv.bind(&id, ip.into(), "dhcp", ts);
                    }
                }
            } else if d.kind == "reply" {
                if let (Some(m), Some(ip), Some("ack")) = (d.client_mac, d.assigned_ip, d.dhcp_type)
                {
                    if let Some(id) = inv.mac_device(m, ts) {
                        inv.bind(&id, ip.into(), "dhcp", ts);
                    }
                }
                if let Some(f) = f {
                    let server = if server_is_src == Some(true) {
                        inv.endpoint(f.src_mac, Some(f.key.src_ip), ts)
                    } else {
                        inv.endpoint(f.dest_mac, Some(f.key.dst_ip), ts)
                    };
                    if let Some(s) = server {
                        inv.add_attr(&s, Attr::Role, "dhcp_server", "dhcp", 80, ts);
                    }
                }
            }
        }
        // The asker is known from its first query (its flow record comes at the flow's
        // end): baselines learn the names a new device asks before that record. Only a
        // device not known yet: the flow record updates a known one.
        (EventKind::Dns(d), Some(f))
            if d.kind == "query" && inv.device_key_of(f.src_mac, Some(f.key.src_ip)).is_none() =>
        {
            inv.endpoint(f.src_mac, Some(f.key.src_ip), ts);
        }
        (EventKind::Dns(d), Some(f)) if d.kind == "answer" => {
            let server = if f.key.src_port == 53 {
                inv.endpoint(f.src_mac, Some(f.key.src_ip), ts)
            } else if f.key.dst_port == 53 {
                inv.endpoint(f.dest_mac, Some(f.key.dst_ip), ts)
            } else {
                None
            };
            if let Some(s) = server {
                inv.add_attr(&s, Attr::Role, "dns_server", "dns", 80, ts);
            }
        }
        (EventKind::Mdns(d), Some(f)) => {
            // mDNS goes to a multicast group: the sender is the flow's source.
            let Some(id) = inv.endpoint(f.src_mac, Some(f.key.src_ip), ts) else {
                return;
            };
            if d.kind == "answer" {
                for h in &d.hostnames {
                    inv.add_attr(
                        &id,
                        Attr::Hostname,
                        h.trim_end_matches(".local"),
                        "mdns",
                        50,
                        ts,
                    );
                }
                for s in &d.services {
                    inv.add_attr(&id, Attr::MdnsService, s, "mdns", 70, ts);
                }
            }
            for (k, v) in &d.device {
                let name = match *k {
                    "model" | "md" | "ty" | "product" | "usb_MDL" => Attr::Model,
                    "manufacturer" | "usb_MFG" => Attr::Manufacturer,
                    _ => continue,
                };
                inv.add_attr(&id, name, v, "mdns", 60, ts);
            }
        }
        (EventKind::Ssdp(s), Some(f)) => {
            let Some(id) = inv.endpoint(f.src_mac, Some(f.key.src_ip), ts) else {
                return;
            };
            if let Some(v) = &s.server {
                inv.add_attr(&id, Attr::SsdpServer, v, "ssdp", 60, ts);
                inv.add_attr(&id, Attr::Software, v, "ssdp", 40, ts);
            }
            if let Some(v) = &s.user_agent {
                inv.add_attr(&id, Attr::UserAgent, v, "ssdp", 50, ts);
            }
        }
        (EventKind::Tls(t), Some(f)) => {
            let answered = t.server_handshake.is_some();
            let (src, dst) = sides(inv, ev, f, answered);
            if let Some(c) = src {
                if let Some(j) = &t.ja3 {
                    inv.add_attr(&c, Attr::Ja3, &j.hash, "tls", 60, ts);
                }
                if let Some(j) = &t.ja4 {
                    inv.add_attr(&c, Attr::Ja4, j, "tls", 60, ts);
                }
                if let Some(s) = &t.sni {
                    inv.add_attr(&c, Attr::TlsSni, s, "tls", 60, ts);
                }
            }
            if let Some(s) = dst {
                inv.add_attr(&s, Attr::Role, "tls_server", "tls", 70, ts);
                if let Some(n) = &t.sni {
                    inv.add_attr(&s, Attr::DnsName, n, "tls_sni", 40, ts);
                }
            }
        }
        (EventKind::Http(h), Some(f)) => {
            let answered = h.status.is_some();
            let (src, dst) = sides(inv, ev, f, answered);
            if let (Some(c), Some(ua)) = (src, &h.http_user_agent) {
                inv.add_attr(&c, Attr::UserAgent, ua, "http", 70, ts);
            }
            if let Some(s) = dst {
                inv.add_attr(&s, Attr::Role, "http_server", "http", 70, ts);
                if let Some(v) = &h.server {
                    inv.add_attr(&s, Attr::HttpServer, v, "http", 60, ts);
                    inv.add_attr(&s, Attr::Software, v, "http_server", 30, ts);
                }
                if let Some(n) = h
                    .hostname
                    .as_deref()
                    .filter(|n| n.parse::<std::net::IpAddr>().is_err())
                {
                    inv.add_attr(&s, Attr::DnsName, n, "http_host", 40, ts);
                }
            }
        }
        (EventKind::Dicom(d), Some(f)) => observe_dicom(inv, ev.ts, f, d),
        (EventKind::Hl7(h), Some(f)) => {
            let (src, dst) = sides(inv, ev, f, true);
            let (sender, receiver) = match h.direction {
                Direction::ToServer => (src, dst),
                Direction::ToClient => (dst, src),
            };
            let mt = h.message_type().unwrap_or("");
            let is_ack = mt.starts_with("ACK");
            let is_oru = !is_ack && mt.starts_with("ORU");
            // Header facts: applied when new to this flow direction, else counted (see
            // `Hl7Batch`); the same records as applying each message.
            let t = ts.micros();
            let dir = h.direction as u8;
            let (every, sent, oru) =
                inv.hl7_note(f.flow_id, dir, sender, receiver, h, t, !is_ack, is_oru);
            let b = Hl7Facts {
                sender,
                receiver,
                sending_application: h.sending_application(),
                sending_facility: h.sending_facility(),
                receiving_application: h.receiving_application(),
            };
            if every {
                hl7_every(inv, &b, (t, t), 1);
            }
            if sent {
                hl7_sent(inv, &b, (t, t), 1);
            }
            if oru {
                hl7_oru(inv, &b, (t, t), 1);
            }
            if let Some(s) = &sender {
                let ids = h
                    .device_evidence()
                    .filter(|e| e.source.starts_with("OBX") || e.source.starts_with("PRT"))
                    .map(|e| e.value);
                inv.add_attrs(s, Attr::Hl7DeviceId, ids, "hl7", 50, ts);
            }
        }
        (EventKind::Lldp(l), _) => {
            let Some(id) = inv.mac_device(l.src_mac, ts) else {
                return;
            };
            if let Some(v) = &l.system_name {
                inv.add_attr(&id, Attr::Hostname, v, "lldp", 80, ts);
            }
            if let Some(v) = &l.system_description {
                inv.add_attr(&id, Attr::Platform, v, "lldp", 70, ts);
                inv.add_attr(&id, Attr::Software, v, "lldp", 50, ts);
            }
            for c in &l.enabled_capabilities {
                inv.add_attr(&id, Attr::Capability, c, "lldp", 80, ts);
            }
            if let Some(m) = &l.med {
                if let Some(v) = &m.model_name {
                    inv.add_attr(&id, Attr::Model, v, "lldp_med", 90, ts);
                }
                if let Some(v) = &m.manufacturer {
                    inv.add_attr(&id, Attr::Manufacturer, v, "lldp_med", 90, ts);
                }
                if let Some(v) = m
                    .software_revision
                    .as_ref()
                    .or(m.firmware_revision.as_ref())
                {
                    inv.add_attr(&id, Attr::Software, v, "lldp_med", 90, ts);
                }
                if let Some(v) = &m.serial_number {
                    inv.add_attr(&id, Attr::SerialNumber, v, "lldp_med", 90, ts);
                }
            }
        }
        (EventKind::Cdp(c), _) => {
            let Some(id) = inv.mac_device(c.src_mac, ts) else {
                return;
            };
            if let Some(v) = &c.device_id {
                inv.add_attr(&id, Attr::Hostname, v, "cdp", 80, ts);
            }
            if let Some(v) = &c.platform {
                inv.add_attr(&id, Attr::Platform, v, "cdp", 80, ts);
                inv.add_attr(&id, Attr::Model, v, "cdp", 70, ts);
            }
            if let Some(v) = &c.software_version {
                inv.add_attr(&id, Attr::Software, v, "cdp", 70, ts);
            }
            for cap in &c.capabilities {
                let cap = if cap.contains("phone") {
                    "telephone"
                } else {
                    cap
                };
                inv.add_attr(&id, Attr::Capability, cap, "cdp", 80, ts);
            }
        }
        (EventKind::Arp(a), _) => {
            if let Some(id) = inv.mac_device(a.sender_mac, ts) {
                if !a.sender_ip.is_unspecified() {
                    inv.bind(&id, a.sender_ip.into(), "arp", ts);
                }
            }
        }
        (EventKind::Telnet(t), Some(f)) => {
            let (src, dst) = sides(inv, ev, f, true);
            if let Some(s) = dst {
                inv.add_attr(&s, Attr::Exposure, "telnet_server", "telnet", 80, ts);
            }
            if t.cleartext_credentials {
                for id in [src].into_iter().flatten() {
                    inv.add_attr(
                        &id,
                        Attr::Exposure,
                        "telnet_cleartext_login",
                        "telnet",
                        80,
                        ts,
                    );
                }
            }
        }
        (EventKind::Ftp(t), Some(f)) => {
            let (src, dst) = sides(inv, ev, f, true);
            if let Some(s) = &dst {
                inv.add_attr(s, Attr::Exposure, "ftp_server", "ftp", 80, ts);
                if let Some(b) = &t.banner {
                    inv.add_attr(s, Attr::Software, b, "ftp_banner", 40, ts);
                }
            }
            if t.cleartext_credentials {
                if let Some(c) = src {
                    inv.add_attr(&c, Attr::Exposure, "ftp_cleartext_login", "ftp", 80, ts);
                }
            }
        }
        (EventKind::Smb(s), Some(f)) => {
            let (src, dst) = sides(inv, ev, f, s.dialect.is_some());
            // The client offering SMBv1 is exposed; the server only if it spoke it.
            if s.smb1 {
                if let Some(id) = src {
                    inv.add_attr(&id, Attr::Exposure, "smb1_offered", "smb", 80, ts);
                }
            }
            if s.smb1_negotiated {
                if let Some(id) = dst {
                    inv.add_attr(&id, Attr::Exposure, "smb1_server", "smb", 80, ts);
                }
            }
        }
        (EventKind::Snmp(s), Some(f)) if s.community_present => {
            let (src, _) = sides(inv, ev, f, false);
            if let Some(id) = src {
                inv.add_attr(&id, Attr::Exposure, "snmp_community", "snmp", 80, ts);
            }
        }
        // Anomalies and the rest: the flow record names the endpoints.
        _ => {}
    }
}

/// The header facts of an HL7 message (or of a batch of them): see `Hl7Batch`.
pub(super) struct Hl7Facts<'a> {
    pub(super) sender: Option<Key>,
    pub(super) receiver: Option<Key>,
    pub(super) sending_application: Option<&'a str>,
    pub(super) sending_facility: Option<&'a str>,
    pub(super) receiving_application: Option<&'a str>,
}

/// Facts of every message: the applications each side names, the sender's facility.
pub(super) fn hl7_every(inv: &mut Inventory, f: &Hl7Facts, span: (i64, i64), n: u64) {
    if let Some(s) = &f.sender {
        if let Some(a) = f.sending_application {
            inv.add_attr_n(s, Attr::Hl7Application.into(), a, "hl7", 70, span, n);
        }
        if let Some(a) = f.sending_facility {
            inv.add_attr_n(s, Attr::Hl7Facility.into(), a, "hl7", 60, span, n);
        }
    }
    if let (Some(r), Some(a)) = (&f.receiver, f.receiving_application) {
        inv.add_attr_n(r, Attr::Hl7Application.into(), a, "hl7", 60, span, n);
    }
}

/// Facts of a message that is not an ACK: who sends, who receives.
pub(super) fn hl7_sent(inv: &mut Inventory, f: &Hl7Facts, span: (i64, i64), n: u64) {
    if let Some(s) = &f.sender {
        inv.add_attr_n(s, Attr::Role.into(), "hl7_sender", "hl7", 70, span, n);
    }
    if let Some(r) = &f.receiver {
        inv.add_attr_n(r, Attr::Role.into(), "hl7_receiver", "hl7", 70, span, n);
    }
}

/// Facts of an ORU message: its sender sends results.
pub(super) fn hl7_oru(inv: &mut Inventory, f: &Hl7Facts, span: (i64, i64), n: u64) {
    if let Some(s) = &f.sender {
        inv.add_attr_n(s, Attr::Role.into(), "hl7_sender_oru", "hl7", 70, span, n);
    }
}

/// A fingerprint of the facts a message gives the inventory, to skip the many identical
/// messages of one flow (an HL7 feed, a DICOM study's C-STOREs).
fn fingerprint(parts: &[&str], flags: u8) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // Fixed seed: only compared within this process, never exposed.
    let mut h = foldhash::fast::FixedState::with_seed(0x5757_4143_5448).build_hasher();
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0xff);
    }
    h.write_u8(flags);
    h.finish()
}

#[cfg(test)]
#[test]
fn service_text_writes_proto_and_port() {
    // Every port width, without allocating.
    let mut b = [0u8; 10];
    assert_eq!(service_text(&mut b, "tcp/", 104), "tcp/104");
    assert_eq!(service_text(&mut b, "udp/", 0), "udp/0");
    assert_eq!(service_text(&mut b, "tcp/", 65535), "tcp/65535");
}

fn observe_dicom(inv: &mut Inventory, ts: Timestamp, f: &FlowMeta, d: &DicomEvent) {
    match d {
        DicomEvent::Association(a) => {
            let accepted = a.accept.is_some();
            let scu = inv.endpoint(f.src_mac, Some(f.key.src_ip), ts);
            let scp = if accepted || a.reject.is_some() {
                inv.endpoint(f.dest_mac, Some(f.key.dst_ip), ts)
            } else {
                None
            };
            if let Some(u) = &scu {
                if let Some(ae) = &a.calling_ae {
                    inv.add_attr(u, Attr::DicomAe, ae, "dicom", 80, ts);
                }
                if let Some(rq) = &a.request {
                    if let Some(v) = &rq.implementation_class_uid {
                        inv.add_attr(u, Attr::DicomImplementationClassUid, v, "dicom", 80, ts);
                    }
                    if let Some(v) = &rq.implementation_version_name {
                        inv.add_attr(u, Attr::DicomImplementationVersion, v, "dicom", 80, ts);
                        inv.add_attr(u, Attr::Software, v, "dicom", 50, ts);
                    }
                }
            }
            if let (Some(p), true) = (&scp, accepted) {
                if let Some(ae) = &a.called_ae {
                    inv.add_attr(p, Attr::DicomAe, ae, "dicom", 70, ts);
                }
                if let Some(ac) = &a.accept {
                    if let Some(v) = &ac.implementation_class_uid {
                        inv.add_attr(p, Attr::DicomImplementationClassUid, v, "dicom", 80, ts);
                    }
                    if let Some(v) = &ac.implementation_version_name {
                        inv.add_attr(p, Attr::DicomImplementationVersion, v, "dicom", 80, ts);
                        inv.add_attr(p, Attr::Software, v, "dicom", 50, ts);
                    }
                }
            }
        }
        DicomEvent::Command(c) => {
            let ds = c.dataset.as_ref();
            let fp = fingerprint(
                &[
                    c.command,
                    c.direction,
                    c.affected_sop_class_uid.as_deref().unwrap_or(""),
                    c.requested_sop_class_uid.as_deref().unwrap_or(""),
                    ds.and_then(|d| d.modality.as_deref()).unwrap_or(""),
                    ds.and_then(|d| d.model_name.as_deref()).unwrap_or(""),
                    ds.and_then(|d| d.manufacturer.as_deref()).unwrap_or(""),
                    ds.and_then(|d| d.software_versions.as_deref())
                        .unwrap_or(""),
                    ds.and_then(|d| d.station_name.as_deref()).unwrap_or(""),
                ],
                0,
            );
            if inv.repeat(f.flow_id, fp) {
                return;
            }
            let src = inv.endpoint(f.src_mac, Some(f.key.src_ip), ts);
            let dst = inv.endpoint(f.dest_mac, Some(f.key.dst_ip), ts);
            let (sender, receiver) = if c.direction == "to_client" {
                (dst, src)
            } else {
                (src, dst)
            };
            let sop = c
                .affected_sop_class_uid
                .as_deref()
                .or(c.requested_sop_class_uid.as_deref())
                .unwrap_or("");
            let (u_role, p_role) = match c.command {
                "C-STORE-RQ" if sop.starts_with(STORAGE_PREFIX) => {
                    ("dicom_store_scu", "dicom_store_scp")
                }
                "C-FIND-RQ" if sop == MWL_FIND => ("dicom_mwl_scu", "dicom_mwl_scp"),
                "C-FIND-RQ" | "C-MOVE-RQ" | "C-GET-RQ" if sop.starts_with(QR_PREFIX) => {
                    ("dicom_qr_scu", "dicom_qr_scp")
                }
                _ => return,
            };
            if let Some(s) = &sender {
                inv.add_attr(s, Attr::Role, u_role, "dicom", 80, ts);
                if u_role == "dicom_store_scu" {
                    let modality =
                        c.dataset
                            .as_ref()
                            .and_then(|d| d.modality.clone())
                            .or_else(|| {
                                SOP_MODALITY
                                    .iter()
                                    .find(|(u, _)| *u == sop)
                                    .map(|(_, m)| m.to_string())
                            });
                    if let Some(m) = modality {
                        inv.add_attr(s, Attr::Modality, &m, "dicom", 70, ts);
                    }
                    if let Some(ds) = &c.dataset {
                        if let Some(v) = &ds.model_name {
                            inv.add_attr(s, Attr::Model, v, "dicom_dataset", 60, ts);
                        }
                        if let Some(v) = &ds.manufacturer {
                            inv.add_attr(s, Attr::Manufacturer, v, "dicom_dataset", 60, ts);
                        }
                        if let Some(v) = &ds.software_versions {
                            inv.add_attr(s, Attr::Software, v, "dicom_dataset", 60, ts);
                        }
                        if let Some(v) = &ds.station_name {
                            inv.add_attr(s, Attr::Hostname, v, "dicom_station_name", 40, ts);
                        }
                    }
                }
            }
            if let Some(r) = &receiver {
                inv.add_attr(r, Attr::Role, p_role, "dicom", 80, ts);
            }
        }
    }
}
