//! DNS, mDNS and LLMNR event payloads (`event_type: "dns"` and `"mdns"`), written by the
//! `dns` analyzer.
//!
//! One [`DnsEvent`] per message, in the style of Suricata's EVE `dns` object (version 2
//! names: `type` `query`/`answer`, `id`, `flags`, `qr`/`aa`/`tc`/`rd`/`ra`, `opcode`,
//! `rrname`/`rrtype` of the first question, `rcode`, `answers` with `rrname`, `rrtype`,
//! `ttl`, `rdata` or `srv`) with `queries`, `authorities` and `additionals` listed as
//! Suricata's version 3 does. mDNS messages carry the DNS-SD facts used for device
//! identification (`services`, `instances`, `hostnames`, and the TXT keys in `device`).
//! Every string and list is capped by the analyzer before it is stored.

use serde::Serialize;
use std::collections::BTreeMap;

/// One question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnsQuery {
    pub rrname: String,
    /// Type name (`A`, `PTR`, `TYPE65280` for unnamed numbers).
    pub rrtype: String,
}

/// SRV record data (RFC 2782), as Suricata's `srv` object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnsSrv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub name: String,
}

/// One resource record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnsRecord {
    pub rrname: String,
    pub rrtype: String,
    pub ttl: u32,
    /// Addresses (A, AAAA), names (CNAME, NS, PTR, MX exchange, SOA primary), else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdata: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srv: Option<DnsSrv>,
    /// TXT strings (each capped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub txt: Vec<String>,
}

/// `event_type: "dns"` (DNS, LLMNR) or `"mdns"`: one message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DnsEvent {
    /// `query` (QR clear) or `answer` (QR set).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: u16,
    /// The 16 flag bits as four hex digits (`8180`).
    pub flags: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub qr: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub aa: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tc: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rd: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ra: bool,
    pub opcode: u8,
    /// `NOERROR`, `NXDOMAIN`... (the number for unnamed codes).
    pub rcode: String,
    /// Name and type of the first question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrtype: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<DnsQuery>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<DnsRecord>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<DnsRecord>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additionals: Vec<DnsRecord>,
    /// DNS-SD service types named by the message (`_ipp._tcp.local`), questions included.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// DNS-SD service instance names (`Printer 3._ipp._tcp.local`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<String>,
    /// Host names given addresses or named as SRV targets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    /// Device-describing TXT keys (`model`, `md`, `ty`, `product`, `usb_MFG`, `usb_MDL`,
    /// `manufacturer`): first value seen per key.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub device: BTreeMap<&'static str, String>,
    /// Records could not all be read (a count past the message, a bad name); the ones
    /// before are kept.
    pub truncated: bool,
    /// A string or list was cut at its configured cap.
    pub capped: bool,
}
