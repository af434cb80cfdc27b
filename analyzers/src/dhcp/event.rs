//! Anomaly codes of the `dhcp` analyzer and the helpers that copy wire bytes into the
//! owned, capped [`model::dhcp::DhcpEvent`].

pub use model::dhcp::DhcpEvent;

/// Analyzer name: module, config key, metric label and `app_proto`.
pub const NAME: &str = "dhcp";

/// A datagram on a DHCP flow that is neither DHCPv4 nor DHCPv6.
pub const MALFORMED_MESSAGE: &str = "malformed_message";
/// An option's length ran past the message; the options before it are kept.
pub const TRUNCATED_OPTIONS: &str = "truncated_options";
/// DHCPv4 options without the end option (255).
pub const MISSING_END_OPTION: &str = "missing_end_option";
/// A fixed-size option (53, 50, 51, 57) with another length; the option is ignored.
pub const BAD_OPTION_LENGTH: &str = "bad_option_length";
/// More options than `max_options`; the rest are walked but not listed.
pub const TOO_MANY_OPTIONS: &str = "too_many_options";

/// Text of at most `cap` bytes (invalid UTF-8 replaced, trailing NULs of C strings
/// dropped); sets `capped` when cut.
pub fn cap_text(v: &[u8], cap: usize, capped: &mut bool) -> String {
    let n = v.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let v = v.get(..n).unwrap_or(v);
    let v = if v.len() > cap {
        *capped = true;
        v.get(..cap).unwrap_or(v)
    } else {
        v
    };
    String::from_utf8_lossy(v).into_owned()
}

/// Colon-separated lowercase hex of at most `cap` bytes; sets `capped` when cut.
pub fn cap_hex(v: &[u8], cap: usize, capped: &mut bool) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let v = if v.len() > cap {
        *capped = true;
        v.get(..cap).unwrap_or(v)
    } else {
        v
    };
    let mut s = String::with_capacity(v.len() * 3);
    for (i, b) in v.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// DHCPv4 message type names (option 53, RFC 2132 9.6, RFC 3203, RFC 4388, RFC 6926).
pub fn v4_type_name(t: u8) -> &'static str {
    match t {
        1 => "discover",
        2 => "offer",
        3 => "request",
        4 => "decline",
        5 => "ack",
        6 => "nak",
        7 => "release",
        8 => "inform",
        9 => "force_renew",
        10 => "lease_query",
        11 => "lease_unassigned",
        12 => "lease_unknown",
        13 => "lease_active",
        _ => "unknown",
    }
}

/// DHCPv6 message type names (RFC 8415 7.3) and whether a client sends it.
pub fn v6_type_name(t: u8) -> (&'static str, &'static str) {
    match t {
        1 => ("solicit", "request"),
        2 => ("advertise", "reply"),
        3 => ("request", "request"),
        4 => ("confirm", "request"),
        5 => ("renew", "request"),
        6 => ("rebind", "request"),
        7 => ("reply", "reply"),
        8 => ("release", "request"),
        9 => ("decline", "request"),
        10 => ("reconfigure", "reply"),
        11 => ("information_request", "request"),
        12 => ("relay_forw", "relay"),
        13 => ("relay_repl", "relay"),
        _ => ("unknown", "request"),
    }
}
