//! RFC 5424 messages and their payloads: CEF, LEEF 2.0, EVE JSON and ECS JSON.
//!
//! A message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG` (RFC 5424 §6) with
//! TIMESTAMP the event's capture time in UTC, MSGID its `event_type`, and structured data
//! `[meta sequenceId="N" sysUpTime="T"][wardwatch@32473 boot="B"]`: `meta` is the
//! IANA-registered SD-ID (RFC 5424 §7.3; sequenceId runs 1..=2147483647 and wraps),
//! 32473 the private enterprise number reserved for documentation (RFC 5612), and `boot`
//! changes at every start, so a receiver tells a restart from a gap. Stream transports
//! prefix each message with its length (octet counting, RFC 6587 §3.4.1, RFC 5425 §4.3).
//!
//! Payloads are built from the EVE form of the event (which holds no PHI by design).
//! Escaping: CEF header fields `\` and `|` (line breaks become spaces), CEF extension
//! values `\`, `=`, CR and LF (ArcSight CEF rev. 25); LEEF header fields as CEF's, LEEF
//! values `\`, CR, LF, tab and the delimiter (`\\`, `\r`, `\n`, `\t`, `\xHH`): LEEF 2.0
//! defines no escape of its own, so a value never contains the delimiter.

use super::config::Format;
use model::Event;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// Highest RFC 5424 `sequenceId`; the counter wraps to 1 after it.
pub const MAX_SEQUENCE_ID: u64 = 2_147_483_647;
/// The version string in CEF and LEEF headers.
pub const PRODUCT_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Longest CEF/LEEF `details` value (CEF's custom string limit is 4000 characters).
const DETAILS_MAX: usize = 4000;

/// The RFC 5424 `sequenceId` of internal sequence number `seq` (1-based, wrapping).
pub fn sequence_id(seq: u64) -> u64 {
    (seq.saturating_sub(1) % MAX_SEQUENCE_ID) + 1
}

/// What the header needs besides the event.
#[derive(Clone, Debug)]
pub struct Header {
    pub facility: u8,
    /// RFC 5424 HOSTNAME (the sensor name), APP-NAME, PROCID, already sanitised.
    pub hostname: String,
    pub app_name: String,
    pub procid: String,
    /// Sensor boot id (changes at every start).
    pub boot: String,
}

impl Header {
    pub fn new(facility: u8, hostname: &str, app_name: &str, boot: &str) -> Header {
        Header {
            facility: facility.min(23),
            hostname: header_field(hostname, 255),
            app_name: header_field(app_name, 48),
            procid: std::process::id().to_string(),
            boot: sd_value(boot),
        }
    }
}

/// An RFC 5424 header field: printable US-ASCII only (others become `_`), at most `max`
/// characters, `-` when empty.
pub fn header_field(s: &str, max: usize) -> String {
    let v: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if v.is_empty() {
        "-".into()
    } else {
        v
    }
}

/// An SD-PARAM value with `"`, `\` and `]` escaped (RFC 5424 §6.3.3).
pub fn sd_value(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// Syslog severity (RFC 5424 table 2) and CEF/LEEF severity (0..=10) of an event.
pub fn severity(ev: &Value) -> (u8, u8) {
    let alert = ev.pointer("/alert/severity").and_then(Value::as_u64);
    severity_by(ev.get("event_type").and_then(Value::as_str), alert)
}

/// [`severity`] from the event itself, without its JSON tree.
pub fn severity_of(ev: &Event) -> (u8, u8) {
    let alert = match &ev.kind {
        model::EventKind::Alert(a) => Some(u64::from(a.severity)),
        _ => None,
    };
    severity_by(Some(ev.kind.event_type()), alert)
}

fn severity_by(event_type: Option<&str>, alert_severity: Option<u64>) -> (u8, u8) {
    match event_type {
        Some("alert") => match alert_severity {
            // Suricata's scale: 1 is the most severe.
            Some(1) => (2, 9),
            Some(2) => (3, 7),
            Some(3) => (4, 5),
            // 4: informational.
            Some(4) => (6, 1),
            _ => (5, 3),
        },
        Some("anomaly") => (4, 5),
        Some("device") => (5, 3),
        _ => (6, 1),
    }
}

/// Signature id and name of an event, for CEF and LEEF headers.
pub fn signature(ev: &Value) -> (String, String) {
    let t = ev
        .get("event_type")
        .and_then(Value::as_str)
        .unwrap_or("event");
    let s = |p: &str| ev.pointer(p).and_then(Value::as_str).unwrap_or("");
    match t {
        "alert" => {
            let id = match ev.pointer("/alert/signature_id") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => "alert".into(),
            };
            (id, s("/alert/signature").to_string())
        }
        "anomaly" => (
            format!("anomaly:{}", s("/anomaly/event")),
            format!("Anomaly {} {}", s("/anomaly/type"), s("/anomaly/event")),
        ),
        "device" => (
            format!("device:{}", s("/device/change")),
            format!("Device {} ({})", s("/device/change"), s("/device/class")),
        ),
        t => (t.to_string(), format!("{} event", t.to_ascii_uppercase())),
    }
}

/// Writes the full RFC 5424 message for `ev` with sequence number `seq` into `out`
/// (cleared first). `eve` is the event's EVE line (JSON format), `uptime_cs` the
/// sensor's uptime in hundredths of a second.
#[allow(clippy::too_many_arguments)] // reason: one call site; a struct would only rename them
pub fn message(
    h: &Header,
    format: Format,
    leef_delim: char,
    ev: &Event,
    host: &str,
    seq: u64,
    uptime_cs: u64,
    out: &mut Vec<u8>,
) {
    out.clear();
    // The JSON tree only for the formats that map fields from it (EVE JSON is written
    // straight from the event).
    let value = match format {
        Format::Json => Value::Null,
        _ => ev.to_eve_value(host),
    };
    let (sev, _) = severity_of(ev);
    let pri = u32::from(h.facility) * 8 + u32::from(sev);
    let ts = ev.ts.eve_bytes();
    // `2025-03-03T08:00:00.123456+0000` -> `2025-03-03T08:00:00.123456Z`
    let ts = std::str::from_utf8(ts.get(..26).unwrap_or_default()).unwrap_or("-");
    let msgid = header_field(ev.kind.event_type(), 32);
    let mut s = String::with_capacity(512);
    let _ = write!(
        s,
        "<{pri}>1 {ts}Z {} {} {} {msgid} [meta sequenceId=\"{}\" sysUpTime=\"{}\"][wardwatch@32473 boot=\"{}\"] ",
        h.hostname,
        h.app_name,
        h.procid,
        sequence_id(seq),
        uptime_cs % (1 << 32),
        h.boot
    );
    out.extend_from_slice(s.as_bytes());
    match format {
        Format::Json => {
            ev.write_eve(host, out);
            if out.last() == Some(&b'\n') {
                out.pop();
            }
        }
        Format::Cef => out.extend_from_slice(cef(ev, &value).as_bytes()),
        Format::Leef => out.extend_from_slice(leef(ev, &value, leef_delim).as_bytes()),
        Format::Ecs => {
            let _ = serde_json::to_writer(&mut *out, &ecs(&value));
        }
    }
}

/// Prefixes a message with its length and a space (octet counting).
pub fn octet_count(msg: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(msg.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(msg);
}

/// Escapes a CEF header field: `\` and `|`; line breaks become spaces.
pub fn cef_header(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '|' => o.push_str("\\|"),
            '\r' | '\n' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Escapes a CEF extension value: `\`, `=`, CR and LF.
pub fn cef_value(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '=' => o.push_str("\\="),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            c => o.push(c),
        }
    }
    o
}

/// Escapes a LEEF attribute value: `\`, CR, LF, tab and the delimiter never appear raw.
pub fn leef_value(s: &str, delim: char) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if c == delim => {
                let _ = write!(o, "\\x{:02x}", u32::from(c));
            }
            c => o.push(c),
        }
    }
    o
}

/// The LEEF header's delimiter field: tab as `x09`, others as themselves.
fn leef_delim_field(d: char) -> String {
    if d.is_ascii_graphic() && d != '|' && d != '\\' {
        d.to_string()
    } else {
        format!("x{:02x}", u32::from(d))
    }
}

fn str_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut i = max;
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        s.truncate(i);
    }
    s
}

/// The payload object of the event (`dicom`, `device`...), as compact JSON, capped.
fn details(v: &Value) -> Option<String> {
    let t = v.get("event_type")?.as_str()?;
    let o = v.get(t)?;
    Some(cut(o.to_string(), DETAILS_MAX))
}

/// Common facts of an event, in the order both CEF and LEEF write them.
struct Facts {
    src: Option<String>,
    dst: Option<String>,
    spt: Option<String>,
    dpt: Option<String>,
    smac: Option<String>,
    dmac: Option<String>,
    proto: Option<String>,
    app: Option<String>,
    flow_id: Option<String>,
    in_iface: Option<String>,
    vlan: Option<String>,
}

fn facts(v: &Value) -> Facts {
    Facts {
        src: str_of(v.get("src_ip")),
        dst: str_of(v.get("dest_ip")),
        spt: str_of(v.get("src_port")),
        dpt: str_of(v.get("dest_port")),
        smac: str_of(v.pointer("/ether/src_mac"))
            .or_else(|| str_of(v.pointer("/device/mac")))
            .or_else(|| {
                // An alert about a device identified by its MAC.
                str_of(v.pointer("/alert/device/id")).filter(|m| m.len() == 17 && m.contains(':'))
            }),
        dmac: str_of(v.pointer("/ether/dest_mac")),
        proto: str_of(v.get("proto")),
        app: str_of(v.get("app_proto")),
        flow_id: str_of(v.get("flow_id")),
        in_iface: str_of(v.get("in_iface")),
        vlan: v.get("vlan").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|x| x.as_u64().map(|n| n.to_string()))
                .collect::<Vec<_>>()
                .join(",")
        }),
    }
}

/// The CEF line of an event (`CEF:0|wardwatch|wardwatch|VERSION|ID|NAME|SEV|EXT`).
pub fn cef(ev: &Event, v: &Value) -> String {
    let (id, name) = signature(v);
    let (_, sev) = severity(v);
    let mut o = format!(
        "CEF:0|wardwatch|wardwatch|{}|{}|{}|{}|",
        cef_header(PRODUCT_VERSION),
        cef_header(&id),
        cef_header(&name),
        sev
    );
    let mut ext: Vec<(&str, String)> = vec![("rt", (ev.ts.micros().div_euclid(1000)).to_string())];
    let f = facts(v);
    let v6 = |a: &Option<String>| a.as_deref().is_some_and(|a| a.contains(':'));
    if let Some(a) = &f.src {
        if v6(&f.src) {
            ext.push(("c6a2", a.clone()));
            ext.push(("c6a2Label", "Source IPv6 Address".into()));
        } else {
            ext.push(("src", a.clone()));
        }
    }
    if let Some(a) = &f.dst {
        if v6(&f.dst) {
            ext.push(("c6a3", a.clone()));
            ext.push(("c6a3Label", "Destination IPv6 Address".into()));
        } else {
            ext.push(("dst", a.clone()));
        }
    }
    let opt = [
        ("spt", f.spt),
        ("dpt", f.dpt),
        ("smac", f.smac),
        ("dmac", f.dmac),
        ("proto", f.proto),
        ("app", f.app),
    ];
    ext.extend(opt.into_iter().filter_map(|(k, v)| Some((k, v?))));
    if let Some(c) = str_of(v.pointer("/alert/category")) {
        ext.push(("cat", c));
    }
    let custom = [
        ("eventType", str_of(v.get("event_type"))),
        ("flowId", f.flow_id),
        ("sensor", str_of(v.get("host"))),
        ("details", details(v)),
        ("inIface", f.in_iface),
        ("vlan", f.vlan),
    ];
    const CS: [(&str, &str); 6] = [
        ("cs1", "cs1Label"),
        ("cs2", "cs2Label"),
        ("cs3", "cs3Label"),
        ("cs4", "cs4Label"),
        ("cs5", "cs5Label"),
        ("cs6", "cs6Label"),
    ];
    for ((label, val), (k, kl)) in custom.into_iter().zip(CS) {
        if let Some(val) = val {
            ext.push((k, val));
            ext.push((kl, label.into()));
        }
    }
    for (i, (k, val)) in ext.iter().enumerate() {
        if i > 0 {
            o.push(' ');
        }
        let _ = write!(o, "{k}={}", cef_value(val));
    }
    o
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `MMM dd yyyy HH:mm:ss.SSS zzz` (LEEF's devTime format) from a capture timestamp.
pub fn leef_time(ts: model::Timestamp) -> String {
    let b = ts.eve_bytes(); // 2025-03-03T08:00:00.123456+0000
    let s = std::str::from_utf8(&b).unwrap_or("0000-01-01T00:00:00.000000+0000");
    let month = s
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .unwrap_or(&"Jan");
    format!(
        "{month} {} {} {} UTC",
        s.get(8..10).unwrap_or("01"),
        s.get(0..4).unwrap_or("0000"),
        s.get(11..23).unwrap_or("00:00:00.000")
    )
}

/// The LEEF 2.0 line of an event (`LEEF:2.0|wardwatch|wardwatch|VERSION|ID|DELIM|ATTRS`).
pub fn leef(ev: &Event, v: &Value, delim: char) -> String {
    let (id, name) = signature(v);
    let (_, sev) = severity(v);
    let mut o = format!(
        "LEEF:2.0|wardwatch|wardwatch|{}|{}|{}|",
        cef_header(PRODUCT_VERSION),
        cef_header(&id),
        leef_delim_field(delim)
    );
    let f = facts(v);
    let attrs = [
        ("devTime", Some(leef_time(ev.ts))),
        ("devTimeFormat", Some("MMM dd yyyy HH:mm:ss.SSS zzz".into())),
        (
            "cat",
            str_of(v.pointer("/alert/category")).or_else(|| str_of(v.get("event_type"))),
        ),
        ("sev", Some(sev.max(1).to_string())),
        ("src", f.src),
        ("dst", f.dst),
        ("srcPort", f.spt),
        ("dstPort", f.dpt),
        ("srcMAC", f.smac),
        ("dstMAC", f.dmac),
        ("proto", f.proto),
        ("signature", Some(name)),
        ("appProto", f.app),
        ("flowId", f.flow_id),
        ("sensor", str_of(v.get("host"))),
        ("inIface", f.in_iface),
        ("vlan", f.vlan),
        ("details", details(v)),
    ];
    let mut first = true;
    for (k, val) in attrs {
        let Some(val) = val else { continue };
        if !first {
            o.push(delim);
        }
        first = false;
        let _ = write!(o, "{k}={}", leef_value(&val, delim));
    }
    o
}

/// A MAC in ECS form: upper case, hyphens.
fn ecs_mac(m: &str) -> String {
    m.to_ascii_uppercase().replace(':', "-")
}

/// The event mapped to the Elastic Common Schema, with the EVE event under `wardwatch`.
pub fn ecs(v: &Value) -> Value {
    let t = v
        .get("event_type")
        .and_then(Value::as_str)
        .unwrap_or("event");
    let (kind, category, etype): (&str, &[&str], &[&str]) = match t {
        "alert" => ("alert", &["intrusion_detection", "network"], &["info"]),
        "flow" => ("event", &["network"], &["connection", "end"]),
        "anomaly" => ("event", &["network"], &["info"]),
        "device" => match v.pointer("/device/change").and_then(Value::as_str) {
            Some("new") => ("event", &["host"], &["creation", "info"]),
            _ => ("event", &["host"], &["change", "info"]),
        },
        _ => ("event", &["network"], &["protocol", "info"]),
    };
    let (_, sev) = severity(v);
    let ts = v
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(|s| s.get(..26))
        .map(|s| format!("{s}Z"));
    let mut o = Map::new();
    o.insert("@timestamp".into(), json!(ts));
    o.insert(
        "event".into(),
        json!({
            "kind": kind,
            "category": category,
            "type": etype,
            "dataset": format!("wardwatch.{t}"),
            "module": "wardwatch",
            "severity": sev,
        }),
    );
    let f = facts(v);
    let endpoint = |ip: Option<String>, port: Option<&Value>, mac: Option<String>| {
        let mut e = Map::new();
        if let Some(ip) = ip {
            e.insert("ip".into(), json!(ip));
        }
        if let Some(p) = port.and_then(Value::as_u64) {
            e.insert("port".into(), json!(p));
        }
        if let Some(m) = mac {
            e.insert("mac".into(), json!(ecs_mac(&m)));
        }
        e
    };
    let src = endpoint(f.src, v.get("src_port"), f.smac);
    if !src.is_empty() {
        o.insert("source".into(), Value::Object(src));
    }
    let dst = endpoint(f.dst, v.get("dest_port"), f.dmac);
    if !dst.is_empty() {
        o.insert("destination".into(), Value::Object(dst));
    }
    let mut net = Map::new();
    if let Some(p) = f.proto {
        net.insert("transport".into(), json!(p.to_ascii_lowercase()));
    }
    if let Some(a) = f.app {
        net.insert("protocol".into(), json!(a));
    }
    if let Some(vl) = v
        .get("vlan")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        net.insert("vlan".into(), json!({ "id": vl.to_string() }));
    }
    if !net.is_empty() {
        o.insert("network".into(), Value::Object(net));
    }
    let mut obs = json!({"vendor": "wardwatch", "product": "wardwatch", "type": "ids"});
    if let (Some(m), Some(h)) = (obs.as_object_mut(), v.get("host")) {
        m.insert("name".into(), h.clone());
    }
    o.insert("observer".into(), obs);
    if t == "alert" {
        let (id, name) = signature(v);
        let mut r = json!({"id": id, "name": name});
        if let (Some(m), Some(c)) = (r.as_object_mut(), v.pointer("/alert/category")) {
            m.insert("category".into(), c.clone());
        }
        if let (Some(m), Some(c)) = (r.as_object_mut(), v.pointer("/alert/rev")) {
            m.insert("version".into(), json!(c.to_string()));
        }
        o.insert("rule".into(), r);
    }
    o.insert("wardwatch".into(), v.clone());
    Value::Object(o)
}
