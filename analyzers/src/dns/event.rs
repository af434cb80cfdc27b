//! Anomaly codes of the `dns` analyzer and the helpers that name wire numbers.

pub use model::dns::{DnsEvent, DnsQuery, DnsRecord, DnsSrv};

/// Analyzer name: module, config key, metric label and `app_proto`.
pub const NAME: &str = "dns";

/// A datagram on a DNS flow without a readable header or first record.
pub const MALFORMED_MESSAGE: &str = "malformed_message";
/// Section counts promise more records than the message holds; the ones before are kept.
pub const TRUNCATED_RECORDS: &str = "truncated_records";
/// A compression pointer that loops or points forward.
pub const COMPRESSION_LOOP: &str = "compression_loop";
/// A name over 255 bytes on the wire (kept, cut at `max_name_bytes`).
pub const NAME_TOO_LONG: &str = "name_too_long";
/// A label of the reserved types 0x40/0x80.
pub const BAD_LABEL: &str = "bad_label";
/// More records than `max_records`; the rest are not listed.
pub const TOO_MANY_RECORDS: &str = "too_many_records";
/// A TXT record whose string lengths run past its data.
pub const MALFORMED_TXT: &str = "malformed_txt";

/// Type mnemonics (RFC 1035 3.2.2, RFC 3596, RFC 2782, RFC 6891, RFC 4034, RFC 9460);
/// `TYPEn` (RFC 3597 5) for the rest.
pub fn type_name(t: u16) -> String {
    let s = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        _ => return format!("TYPE{t}"),
    };
    s.to_string()
}

/// Response code mnemonics (RFC 1035 4.1.1, RFC 2136 2.2).
pub fn rcode_name(r: u8) -> String {
    let s = match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => return r.to_string(),
    };
    s.to_string()
}

/// The TXT keys that describe a device (DNS-SD printers: `ty`, `product`, `usb_MFG`,
/// `usb_MDL`; AirPlay/HomeKit `model`/`md`; others `manufacturer`), canonical spelling.
pub const DEVICE_TXT_KEYS: [&str; 7] = [
    "model",
    "md",
    "ty",
    "product",
    "usb_MFG",
    "usb_MDL",
    "manufacturer",
];
