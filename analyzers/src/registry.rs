//! The list of analyzers, their probes and port hints.
//!
//! Detection: for each new TCP flow the pipeline runs the probes of analyzers whose port
//! hints match first, then all others, on the first bytes of each direction. A port hint
//! only orders the probes; it never decides alone (DICOM on 4242 and HL7 on 6661 are
//! normal in hospitals). A flow on which every probe says `NoMatch` is bypassed.

use model::{DatagramAnalyzer, Direction, Probe, StreamAnalyzer};
use serde::{Deserialize, Serialize};

/// A stream (TCP) analyzer's registration.
pub struct StreamSpec {
    /// Lowercase protocol noun: module, config key, metric label and `app_proto` alike.
    pub name: &'static str,
    /// Ports tried first; never trusted alone.
    pub port_hints: &'static [u16],
    /// Looks at the first bytes of one direction.
    pub probe: fn(Direction, &[u8]) -> Probe,
    /// Whether the analyzer is enabled in this configuration.
    pub enabled: fn(&AnalyzersConfig) -> bool,
    /// Makes the per-flow analyzer.
    pub build: fn(&AnalyzersConfig) -> Box<dyn StreamAnalyzer>,
}

/// A datagram (UDP) analyzer's registration.
pub struct DatagramSpec {
    pub name: &'static str,
    pub port_hints: &'static [u16],
    pub probe: fn(Direction, &[u8]) -> Probe,
    pub enabled: fn(&AnalyzersConfig) -> bool,
    pub build: fn(&AnalyzersConfig) -> Box<dyn DatagramAnalyzer>,
}

/// Per-analyzer configuration (`[analyzers.<name>]` in the TOML config).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyzersConfig {
    /// `[analyzers.dicom]`: DICOM upper layer and DIMSE.
    pub dicom: crate::dicom::DicomConfig,
    /// `[analyzers.hl7]`: HL7 v2 / MLLP.
    pub hl7: crate::hl7::Hl7Config,
    /// `[analyzers.tls]`: TLS ClientHello/ServerHello, JA3/JA3S/JA4.
    pub tls: crate::tls::TlsConfig,
    /// `[analyzers.http]`: HTTP/1.x requests and responses.
    pub http: crate::http::HttpConfig,
    /// `[analyzers.dhcp]`: DHCPv4 and DHCPv6.
    pub dhcp: crate::dhcp::DhcpConfig,
    /// `[analyzers.dns]`: DNS, mDNS/DNS-SD and LLMNR over UDP.
    pub dns: crate::dns::DnsConfig,
    /// `[analyzers.ssdp]`: SSDP/UPnP discovery.
    pub ssdp: crate::ssdp::SsdpConfig,
    /// `[analyzers.telnet]`: telnet negotiation, login prompts, cleartext logins.
    pub telnet: crate::telnet::TelnetConfig,
    /// `[analyzers.ftp]`: FTP control sessions (banner, cleartext USER/PASS, AUTH TLS).
    pub ftp: crate::ftp::FtpConfig,
    /// `[analyzers.smb]`: SMB1/SMB2 negotiation (dialects, SMBv1, signing).
    pub smb: crate::smb::SmbConfig,
    /// `[analyzers.snmp]`: SNMP versions, PDU types, community presence.
    pub snmp: crate::snmp::SnmpConfig,
    /// `[analyzers.wsd]`: WS-Discovery (SOAP over UDP).
    pub wsd: crate::wsd::WsdConfig,
    /// `[analyzers.lldp]`: LLDP from non-IP Ethernet frames.
    pub lldp: crate::lldp::LldpConfig,
    /// `[analyzers.cdp]`: CDP from non-IP Ethernet frames.
    pub cdp: crate::cdp::CdpConfig,
    /// `[analyzers.arp]`: ARP IP-to-MAC bindings.
    pub arp: crate::arp::ArpConfig,
}

/// Every stream analyzer, in probe order for flows without a port hint.
pub static STREAM_ANALYZERS: &[StreamSpec] = &[
    StreamSpec {
        name: "dicom",
        port_hints: &[104, 11112],
        probe: crate::dicom::probe_dicom,
        enabled: crate::dicom::enabled,
        build: crate::dicom::build,
    },
    StreamSpec {
        name: "hl7",
        port_hints: &[2575],
        probe: crate::hl7::probe_hl7,
        enabled: crate::hl7::enabled,
        build: crate::hl7::build,
    },
    StreamSpec {
        name: "tls",
        port_hints: &[443, 8443, 2762, 6514, 853, 636, 993, 995, 465],
        probe: crate::tls::probe_tls,
        enabled: crate::tls::enabled,
        build: crate::tls::build,
    },
    StreamSpec {
        name: "http",
        port_hints: &[80, 8080, 8000, 8008, 8081, 3128],
        probe: crate::http::probe_http,
        enabled: crate::http::enabled,
        build: crate::http::build,
    },
    StreamSpec {
        name: "smb",
        port_hints: &[445, 139],
        probe: crate::smb::probe_smb,
        enabled: crate::smb::enabled,
        build: crate::smb::build,
    },
    StreamSpec {
        name: "ftp",
        port_hints: &[21],
        probe: crate::ftp::probe_ftp,
        enabled: crate::ftp::enabled,
        build: crate::ftp::build,
    },
    StreamSpec {
        name: "telnet",
        port_hints: &[23, 2323],
        probe: crate::telnet::probe_telnet,
        enabled: crate::telnet::enabled,
        build: crate::telnet::build,
    },
];

/// Every datagram analyzer.
pub static DATAGRAM_ANALYZERS: &[DatagramSpec] = &[
    DatagramSpec {
        name: "dhcp",
        port_hints: &[67, 68, 546, 547],
        probe: crate::dhcp::probe_dhcp,
        enabled: crate::dhcp::enabled,
        build: crate::dhcp::build,
    },
    DatagramSpec {
        name: "wsd",
        port_hints: &[3702],
        probe: crate::wsd::probe_wsd,
        enabled: crate::wsd::enabled,
        build: crate::wsd::build,
    },
    DatagramSpec {
        name: "ssdp",
        port_hints: &[1900],
        probe: crate::ssdp::probe_ssdp,
        enabled: crate::ssdp::enabled,
        build: crate::ssdp::build,
    },
    DatagramSpec {
        name: "snmp",
        port_hints: &[161, 162],
        probe: crate::snmp::probe_snmp,
        enabled: crate::snmp::enabled,
        build: crate::snmp::build,
    },
    // The three share one probe; a port hint picks which one a flow gets, `dns` otherwise.
    DatagramSpec {
        name: "dns",
        port_hints: &[53],
        probe: crate::dns::probe_dns,
        enabled: crate::dns::enabled,
        build: crate::dns::build,
    },
    DatagramSpec {
        name: "mdns",
        port_hints: &[5353],
        probe: crate::dns::probe_dns,
        enabled: crate::dns::enabled_mdns,
        build: crate::dns::build_mdns,
    },
    DatagramSpec {
        name: "llmnr",
        port_hints: &[5355],
        probe: crate::dns::probe_dns,
        enabled: crate::dns::enabled_llmnr,
        build: crate::dns::build_llmnr,
    },
];
