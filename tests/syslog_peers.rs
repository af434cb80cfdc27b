//! SIEM feeds checked against a real receiver: rsyslog (Debian `rsyslog`, `rsyslog-gnutls`)
//! on loopback in a network namespace of its own, with imudp, imtcp and the gtls driver
//! (certificates made in the test with `openssl`), writing every raw message it receives
//! to files. wardwatch replays golden captures and sends CEF over UDP, LEEF over TCP, EVE
//! JSON over TLS and ECS over TCP; every message is parsed and checked against the EVE
//! event it carries. A TLS receiver whose certificate is not signed by the configured CA
//! is refused and the replay still completes. Then the no-loss scenario on live capture:
//! rsyslog stops mid-run, wardwatch keeps sending, restarts once, rsyslog comes back, and
//! every sequence number arrives in order, duplicates counted, no gaps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

mod common;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use testkit::{netns, peers};

const TYPES: &[&str] = &["alert", "dhcp", "hl7", "dicom", "anomaly", "device"];

/// Peers present and root: true; otherwise a skip (a failure under CI).
fn peers_ready() -> bool {
    if !(peers::require_root()
        && peers::require_tool("rsyslogd").is_some()
        && peers::require_tool("openssl").is_some()
        && peers::require_tool("unshare").is_some())
    {
        return false;
    }
    // rsyslog's TLS driver comes in its own package (rsyslog-gnutls).
    let gtls = [
        "/usr/lib/x86_64-linux-gnu/rsyslog",
        "/usr/lib/aarch64-linux-gnu/rsyslog",
        "/usr/lib/rsyslog",
    ]
    .iter()
    .any(|d| Path::new(d).join("lmnsd_gtls.so").exists());
    if !gtls {
        assert!(!peers::under_ci(), "rsyslog-gnutls is missing under CI");
        eprintln!("SKIP: rsyslog-gnutls not installed");
    }
    gtls
}

/// A CA, a receiver certificate for `siem.test` signed by it, and the same from a second
/// ("rogue") CA the sender does not trust.
const CERTS: &str = r#"
mk() { # $1 prefix
  openssl req -x509 -newkey rsa:2048 -nodes -keyout $1-ca.key -out $1-ca.pem -days 2 -subj "/CN=$1 test CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout $1-srv.key -out $1-srv.csr -subj "/CN=siem.test" 2>/dev/null
  printf "subjectAltName=DNS:siem.test\n" > $1-ext
  openssl x509 -req -in $1-srv.csr -CA $1-ca.pem -CAkey $1-ca.key -CAcreateserial -out $1-srv.pem -days 2 -extfile $1-ext 2>/dev/null
}
mk good
mk rogue
# A client certificate from the trusted CA, for the receiver that requires one.
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=wardwatch-sensor" 2>/dev/null
printf "extendedKeyUsage=clientAuth\n" > client-ext
openssl x509 -req -in client.csr -CA good-ca.pem -CAkey good-ca.key -CAcreateserial -out client.pem -days 2 -extfile client-ext 2>/dev/null
"#;

/// rsyslog listening on UDP 5514, TCP 5601 and 5602, TLS 6514 (trusted certificate),
/// 6515 (rogue certificate) and 6516 (client certificate required); each input writes raw
/// messages, one JSON string per line.
fn rsyslog_conf(dir: &Path) -> String {
    let d = dir.display();
    let tls = |port: u16, who: &str, rs: &str, auth: &str| {
        format!(
            "input(type=\"imtcp\" port=\"{port}\" ruleset=\"{rs}\" streamDriver.name=\"gtls\" \
             streamDriver.mode=\"1\" streamDriver.authMode=\"{auth}\" streamDriver.CAFile=\"{d}/{who}-ca.pem\" \
             streamDriver.CertFile=\"{d}/{who}-srv.pem\" streamDriver.KeyFile=\"{d}/{who}-srv.key\")\n"
        )
    };
    // imudp gets an 8 MiB receive buffer: the feed sends its datagrams in one burst and
    // the default (about 208 KiB) overflowed on a loaded machine (UDP is best effort).
    let mut c = format!(
        "global(workDirectory=\"{d}/work\" parser.escapeControlCharactersOnReceive=\"off\" maxMessageSize=\"64k\")\n\
         module(load=\"imudp\")\nmodule(load=\"imtcp\" maxSessions=\"100\")\n\
         template(name=\"raw\" type=\"string\" string=\"%rawmsg:::json%\\n\")\n\
         input(type=\"imudp\" port=\"5514\" ruleset=\"udp\" rcvbufSize=\"8m\")\n\
         input(type=\"imtcp\" port=\"5601\" ruleset=\"tcp\")\n\
         input(type=\"imtcp\" port=\"5602\" ruleset=\"ecs\")\n"
    );
    c += &tls(6514, "good", "tls", "anon");
    c += &tls(6515, "rogue", "rogue", "anon");
    // Requires a client certificate signed by the CA.
    c += &tls(6516, "good", "mtls", "x509/certvalid");
    for rs in ["udp", "tcp", "ecs", "tls", "rogue", "mtls"] {
        c += &format!(
            "ruleset(name=\"{rs}\") {{ action(type=\"omfile\" file=\"{d}/{rs}.log\" template=\"raw\") }}\n"
        );
    }
    c
}

/// Shell functions: start rsyslog and wait for its listeners; stop it.
const RSYSLOG_FNS: &str = r#"
RS=
WW=
start_rsyslog() {
  rsyslogd -n -f "$PWD/rs.conf" -i "$PWD/rs.pid" >> rsyslog.out 2>&1 &
  RS=$!
  # Never leave a receiver behind, whatever fails later in the script.
  trap 'kill $RS 2>/dev/null || true; kill $WW 2>/dev/null || true' EXIT
  for i in $(seq 1 100); do ss -ltn | grep -q ':5601 ' && ss -ltn | grep -q ':6514 ' && break; sleep 0.05; done
}
stop_rsyslog() { kill -TERM $RS; wait $RS || true; }
wait_lines() { # file count seconds
  for i in $(seq 1 $(( $3 * 10 ))); do [ -f $1 ] && [ $(wc -l < $1) -ge $2 ] && return 0; sleep 0.1; done
  return 0
}
"#;

fn sink(name: &str, transport: &str, port: u16, format: &str, extra: &str) -> String {
    let types: Vec<String> = TYPES.iter().map(|t| format!("\"{t}\"")).collect();
    format!(
        "[[output.syslog]]\nname = \"{name}\"\ntransport = \"{transport}\"\naddress = \"127.0.0.1:{port}\"\n\
         format = \"{format}\"\nevent_types = [{}]\n{extra}\n",
        types.join(", ")
    )
}

/// One message as rsyslog wrote it.
#[derive(Debug)]
struct Msg {
    pri: u32,
    ts: String,
    host: String,
    app: String,
    msgid: String,
    seq: u64,
    boot: String,
    body: String,
}

/// Parses an RFC 5424 message with wardwatch's structured data.
fn parse_5424(raw: &str) -> Msg {
    let (pri, rest) = raw.strip_prefix('<').unwrap().split_once('>').unwrap();
    let mut f = rest.splitn(7, ' ');
    assert_eq!(f.next(), Some("1"), "{raw}");
    let ts = f.next().unwrap().to_string();
    let host = f.next().unwrap().to_string();
    let app = f.next().unwrap().to_string();
    let _procid = f.next().unwrap();
    let msgid = f.next().unwrap().to_string();
    let rest = f.next().unwrap();
    let sd_end = rest.find("\"] ").unwrap() + 2;
    let sd = &rest[..sd_end];
    let body = rest[sd_end + 1..].to_string();
    let param = |k: &str| {
        let s = sd.split(&format!("{k}=\"")).nth(1).unwrap();
        s[..s.find('"').unwrap()].to_string()
    };
    assert!(sd.starts_with("[meta sequenceId=\""), "{sd}");
    assert!(sd.contains("][wardwatch@32473 boot=\""), "{sd}");
    Msg {
        pri: pri.parse().unwrap(),
        ts,
        host,
        app,
        msgid,
        seq: param("sequenceId").parse().unwrap(),
        boot: param("boot"),
        body,
    }
}

/// Every message rsyslog wrote to `file` (one JSON string per line).
fn received(file: &Path) -> Vec<Msg> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .map(|l| parse_5424(&serde_json::from_str::<String>(&format!("\"{l}\"")).unwrap()))
        .collect()
}

/// Unescapes CEF (`\\`, `\|`, `\=`, `\n`, `\r`).
fn cef_unescape(s: &str) -> String {
    let mut o = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => o.push('\n'),
                Some('r') => o.push('\r'),
                Some(c) => o.push(c),
                None => o.push('\\'),
            }
        } else {
            o.push(c);
        }
    }
    o
}

/// A CEF line: the seven header fields and the extension pairs, unescaped. Keys are the
/// tokens `word=` where `=` is not escaped; a value runs up to the space before the next.
fn parse_cef(line: &str) -> (Vec<String>, Vec<(String, String)>) {
    let b = line.as_bytes();
    let mut fields = vec![];
    let mut start = 0;
    let mut i = 0;
    while fields.len() < 7 {
        match b[i] {
            b'\\' => i += 1,
            b'|' => {
                fields.push(cef_unescape(&line[start..i]));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let ext = &line[start..];
    // Positions of unescaped '='.
    let eb = ext.as_bytes();
    let mut eqs = vec![];
    let mut j = 0;
    while j < eb.len() {
        if eb[j] == b'\\' {
            j += 2;
            continue;
        }
        if eb[j] == b'=' {
            eqs.push(j);
        }
        j += 1;
    }
    let mut pairs = vec![];
    for (n, &e) in eqs.iter().enumerate() {
        let kstart = ext[..e].rfind(' ').map(|p| p + 1).unwrap_or(0);
        let key = &ext[kstart..e];
        let vend = match eqs.get(n + 1) {
            Some(&next) => ext[..next].rfind(' ').unwrap(),
            None => ext.len(),
        };
        pairs.push((key.to_string(), cef_unescape(&ext[e + 1..vend])));
    }
    (fields, pairs)
}

fn leef_unescape(s: &str) -> String {
    let mut o = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => o.push('\n'),
                Some('r') => o.push('\r'),
                Some('t') => o.push('\t'),
                Some('x') => {
                    let h: String = it.by_ref().take(2).collect();
                    o.push(char::from(u8::from_str_radix(&h, 16).unwrap()));
                }
                Some(c) => o.push(c),
                None => {}
            }
        } else {
            o.push(c);
        }
    }
    o
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The EVE events of the selected types, in the order written.
fn expected(eve: &str) -> Vec<(String, Value)> {
    eve.lines()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let t = v["event_type"].as_str().unwrap().to_string();
            TYPES.contains(&t.as_str()).then(|| (l.to_string(), v))
        })
        .collect()
}

/// Header facts every message shares with its EVE event.
fn check_header(m: &Msg, v: &Value, i: usize) {
    assert_eq!(m.seq, i as u64 + 1, "sequence");
    assert_eq!(m.msgid, v["event_type"].as_str().unwrap());
    assert_eq!(m.host, "ward-1");
    assert_eq!(m.app, "wardwatch");
    // local0 (16): PRI between 128 and 135.
    assert!((128..=135).contains(&m.pri), "{}", m.pri);
    let t = v["timestamp"].as_str().unwrap();
    assert_eq!(m.ts, format!("{}Z", &t[..26]));
}

#[test]
fn rsyslog_receives_cef_leef_json_and_ecs_over_udp_tcp_and_tls() {
    // Every selected event reaches rsyslog on each feed, in order, numbered 1..N, and its
    // payload parses back to the EVE event's facts; an untrusted TLS receiver is refused.
    if !peers_ready() {
        return;
    }
    let dir = common::tempdir("syslog-formats");
    std::fs::create_dir_all(dir.join("work")).unwrap();
    std::fs::write(dir.join("rs.conf"), rsyslog_conf(&dir)).unwrap();
    let ca = dir.join("good-ca.pem");
    let tls = format!(
        "tls_ca_file = \"{}\"\ntls_server_name = \"siem.test\"\n",
        ca.display()
    );
    let cfg = format!(
        "sensor_name = \"ward-1\"\n{}{}{}{}{}{}",
        sink("cef-udp", "udp", 5514, "cef", ""),
        sink("leef-tcp", "tcp", 5601, "leef", ""),
        sink("json-tls", "tls", 6514, "json", &tls),
        sink("ecs-tcp", "tcp", 5602, "ecs", ""),
        sink(
            "rogue-tls",
            "tls",
            6515,
            "json",
            &format!("{tls}close_timeout_ms = 1500\nreconnect_max_ms = 200\n")
        ),
        sink(
            "cef-mtls",
            "tls",
            6516,
            "cef",
            &format!(
                "{tls}tls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
                dir.join("client.pem").display(),
                dir.join("client.key").display()
            )
        ),
    );
    std::fs::write(dir.join("ww.toml"), cfg).unwrap();
    let pcaps = [
        common::pcap("dhcp/dhcp.pcap"),
        common::pcap("dhcp/dhcpv6-mud.pcap"),
        common::pcap("dhcp/dhcp-fuzz.pcapng"),
        common::pcap("hl7/hl7.pcap"),
        common::pcap("hl7/all_alerts.pcap"),
        common::pcap("dicom/dicom.pcap"),
        common::pcap("dicom/ct_to_pacs_scenario.pcap"),
        common::pcap("dns/malformed_dns.pcap"),
    ];
    let files: Vec<String> = pcaps.iter().map(|p| p.display().to_string()).collect();
    let script = format!(
        "{CERTS}{RSYSLOG_FNS}start_rsyslog\n\
         WARDWATCH_LOG=warn {ww} replay --workers 1 --config ww.toml --state-dir state --eve eve.json {files} > summary.txt 2> ww.log\n\
         echo \"exit=$?\" > ww.exit\n\
         n=$(grep -cE '\"event_type\":\"(alert|dhcp|hl7|dicom|anomaly|device)\"' eve.json || true)\n\
         for f in udp tcp tls ecs mtls; do wait_lines $f.log $n 10; done\n\
         stop_rsyslog\n",
        ww = env!("CARGO_BIN_EXE_wardwatch"),
        files = files.join(" "),
    );
    let out = netns::run_script(&dir, &script).unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\n{}\nww: {}\nrsyslog: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        read("ww.log"),
        read("rsyslog.out")
    );
    assert_eq!(read("ww.exit").trim(), "exit=0", "{}", read("ww.log"));
    let want = expected(&read("eve.json"));
    assert!(want.len() >= 20, "only {} events", want.len());
    for t in TYPES {
        assert!(
            want.iter().any(|(_, v)| v["event_type"] == *t),
            "no {t} event"
        );
    }

    // EVE JSON over TLS: the message is the EVE line.
    let got = received(&dir.join("tls.log"));
    assert_eq!(got.len(), want.len(), "tls");
    let boot = got[0].boot.clone();
    for (i, (m, (line, v))) in got.iter().zip(&want).enumerate() {
        check_header(m, v, i);
        assert_eq!(&m.body, line);
        assert_eq!(m.boot, boot);
    }

    // CEF over UDP.
    let got = received(&dir.join("udp.log"));
    assert_eq!(got.len(), want.len(), "udp");
    for (i, (m, (_, v))) in got.iter().zip(&want).enumerate() {
        check_header(m, v, i);
        assert_eq!(m.boot, boot, "one boot id per start, shared by the feeds");
        let (h, ext) = parse_cef(&m.body);
        assert_eq!(h[0], "CEF:0");
        assert_eq!(h[1], "wardwatch");
        let get = |k: &str| ext.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
        assert_eq!(get("cs1"), s(&v["event_type"]));
        assert_eq!(get("cs1Label").as_deref(), Some("eventType"));
        assert_eq!(get("cs3"), Some("ward-1".to_string()));
        let v4 = v["src_ip"].as_str().is_some_and(|a| !a.contains(':'));
        if v4 {
            assert_eq!(get("src"), s(&v["src_ip"]));
            assert_eq!(get("dst"), s(&v["dest_ip"]));
        } else if v.get("src_ip").is_some() {
            assert_eq!(get("c6a2"), s(&v["src_ip"]));
        }
        assert_eq!(get("spt"), v.get("src_port").and_then(s));
        assert_eq!(get("dpt"), v.get("dest_port").and_then(s));
        let smac = v.pointer("/ether/src_mac").or(v.pointer("/device/mac"));
        assert_eq!(get("smac"), smac.and_then(s));
        if v["event_type"] == "alert" {
            assert_eq!(h[4], v["alert"]["signature_id"].to_string());
            assert_eq!(h[5], v["alert"]["signature"].as_str().unwrap());
            assert_eq!(get("cat"), s(&v["alert"]["category"]));
        }
        if v["event_type"] == "device" {
            assert_eq!(
                h[4],
                format!("device:{}", v["device"]["change"].as_str().unwrap())
            );
            assert!(
                h[5].contains(v["device"]["class"].as_str().unwrap()),
                "{}",
                h[5]
            );
        }
        assert_eq!(get("dmac"), v.pointer("/ether/dest_mac").and_then(s));
        assert_eq!(get("proto"), v.get("proto").and_then(s));
        assert_eq!(get("cs2"), v.get("flow_id").and_then(s));
        let t = v["event_type"].as_str().unwrap();
        let details = serde_json::to_string(&v[t]).unwrap();
        if details.len() <= 4000 {
            assert_eq!(
                serde_json::from_str::<Value>(&get("cs4").unwrap()).unwrap(),
                v[t]
            );
        }
    }

    // LEEF over TCP.
    let got = received(&dir.join("tcp.log"));
    assert_eq!(got.len(), want.len(), "tcp");
    for (i, (m, (_, v))) in got.iter().zip(&want).enumerate() {
        check_header(m, v, i);
        let parts: Vec<&str> = m.body.splitn(7, '|').collect();
        assert_eq!(parts[0], "LEEF:2.0");
        assert_eq!(parts[5], "x09");
        let attrs: Vec<(String, String)> = parts[6]
            .split('\t')
            .map(|a| {
                let (k, v) = a.split_once('=').unwrap();
                (k.to_string(), leef_unescape(v))
            })
            .collect();
        let get = |k: &str| attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
        let cat = v.pointer("/alert/category").unwrap_or(&v["event_type"]);
        assert_eq!(get("cat"), s(cat));
        if let Some(id) = v.pointer("/alert/signature_id") {
            assert_eq!(parts[4], id.to_string());
        }
        assert_eq!(get("src"), v.get("src_ip").and_then(s));
        assert_eq!(get("dst"), v.get("dest_ip").and_then(s));
        assert_eq!(get("srcPort"), v.get("src_port").and_then(s));
        assert_eq!(get("dstPort"), v.get("dest_port").and_then(s));
        let smac = v.pointer("/ether/src_mac").or(v.pointer("/device/mac"));
        assert_eq!(get("srcMAC"), smac.and_then(s));
        assert_eq!(get("proto"), v.get("proto").and_then(s));
        let dev = get("devTime").unwrap();
        let ts = v["timestamp"].as_str().unwrap();
        assert!(
            dev.contains(&ts[11..23]) && dev.contains(&ts[..4]),
            "{dev} vs {ts}"
        );
        let sev: u8 = get("sev").unwrap().parse().unwrap();
        assert!((1..=10).contains(&sev));
    }

    // ECS over TCP.
    let got = received(&dir.join("ecs.log"));
    assert_eq!(got.len(), want.len(), "ecs");
    for (i, (m, (_, v))) in got.iter().zip(&want).enumerate() {
        check_header(m, v, i);
        let d: Value = serde_json::from_str(&m.body).unwrap();
        assert_eq!(&d["wardwatch"], v);
        assert_eq!(
            d["@timestamp"].as_str().unwrap()[..26],
            v["timestamp"].as_str().unwrap()[..26]
        );
        assert_eq!(
            d["event"]["dataset"],
            format!("wardwatch.{}", v["event_type"].as_str().unwrap())
        );
        assert_eq!(d["observer"]["name"], "ward-1");
        if let Some(ip) = v.get("src_ip") {
            assert_eq!(&d["source"]["ip"], ip);
            assert_eq!(&d["destination"]["ip"], &v["dest_ip"]);
            assert_eq!(
                d["network"]["transport"],
                v["proto"].as_str().unwrap().to_lowercase()
            );
        }
        if let Some(p) = v.get("src_port") {
            assert_eq!(&d["source"]["port"], p);
        }
        if v["event_type"] == "alert" {
            assert_eq!(d["event"]["kind"], "alert");
            assert_eq!(d["rule"]["id"], v["alert"]["signature_id"].to_string());
            assert_eq!(d["rule"]["name"], v["alert"]["signature"]);
        }
        if v["event_type"] == "device" {
            assert_eq!(d["event"]["category"][0], "host");
            if let Some(mac) = v["device"]["mac"].as_str() {
                assert_eq!(d["source"]["mac"], mac.to_uppercase().replace(':', "-"));
            }
        }
    }

    // CEF over TLS with a client certificate: the same messages as over UDP.
    let mtls = received(&dir.join("mtls.log"));
    let udp = received(&dir.join("udp.log"));
    assert_eq!(mtls.len(), want.len(), "mtls");
    for (a, b) in mtls.iter().zip(&udp) {
        assert_eq!((a.seq, &a.body), (b.seq, &b.body));
    }

    // The rogue receiver got nothing; the refusal was logged once, not per attempt.
    assert!(received(&dir.join("rogue.log")).is_empty());
    let log = read("ww.log");
    let tls_lines = log.matches("TLS with the syslog receiver failed").count();
    assert_eq!(tls_lines, 1, "{log}");
    assert!(log.contains("rogue-tls"), "{log}");
}

#[test]
fn rsyslog_outage_and_wardwatch_restart_lose_nothing() {
    // Live capture on a veth pair: DHCP traffic replayed in rounds. rsyslog stops mid-run,
    // wardwatch keeps capturing (messages spool), wardwatch restarts once (the spool and
    // the sequence survive; the boot id changes), rsyslog comes back: every sequence
    // number 1..N arrives, first occurrences in order, duplicates counted, no gaps.
    if !peers_ready() || peers::require_tool("tcpreplay").is_none() {
        return;
    }
    let dir = common::tempdir("syslog-noloss");
    std::fs::create_dir_all(dir.join("work")).unwrap();
    std::fs::write(dir.join("rs.conf"), rsyslog_conf(&dir)).unwrap();
    let cfg = format!(
        "sensor_name = \"ward-1\"\n{}",
        sink(
            "soc",
            "tcp",
            5601,
            "json",
            "reconnect_max_ms = 300\nclose_timeout_ms = 1500\nresend_window_ms = 2000\n"
        )
    );
    std::fs::write(dir.join("ww.toml"), cfg).unwrap();
    let pcap = common::pcap("dhcp/dhcp.pcap");
    let script = format!(
        "{CERTS}{RSYSLOG_FNS}\
         ip link add veth0 type veth peer name veth1\nip link set veth0 up\nip link set veth1 up\n\
         start_ww() {{\n\
           WARDWATCH_LOG=info {ww} run -i veth1 --workers 1 --config ww.toml --state-dir state --eve eve-$1.json 2> ww-$1.log &\n\
           WW=$!\n\
           for i in $(seq 1 100); do grep -q 'Capturing\\|capturing\\|listening' ww-$1.log 2>/dev/null && break; sleep 0.05; done\n\
           sleep 1\n\
         }}\n\
         stop_ww() {{ kill -TERM $WW; wait $WW; echo \"exit=$?\" >> ww.exit; }}\n\
         send() {{ for r in $(seq 1 $1); do tcpreplay -q -i veth0 --pps=200 {pcap} > /dev/null 2>&1; done; }}\n\
         start_rsyslog\n\
         start_ww 1\n\
         send 3\n\
         wait_lines tcp.log 20 10\n\
         stop_rsyslog\n\
         send 3\n\
         sleep 1\n\
         stop_ww\n\
         start_ww 2\n\
         send 3\n\
         sleep 0.5\n\
         start_rsyslog\n\
         n=$(cat eve-1.json eve-2.json | grep -cE '\"event_type\":\"(alert|dhcp|hl7|dicom|anomaly|device)\"' || true)\n\
         for i in $(seq 1 150); do [ -f tcp.log ] && [ $(sort -u tcp.log | wc -l) -ge $n ] && break; sleep 0.1; done\n\
         sleep 2.5\n\
         stop_ww\n\
         stop_rsyslog\n",
        ww = env!("CARGO_BIN_EXE_wardwatch"),
        pcap = pcap.display(),
    );
    let out = netns::run_script(&dir, &script).unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\n{}\nww1: {}\nww2: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        read("ww-1.log"),
        read("ww-2.log")
    );
    assert_eq!(
        read("ww.exit"),
        "exit=0\nexit=0\n",
        "{}{}",
        read("ww-1.log"),
        read("ww-2.log")
    );
    let n1 = expected(&read("eve-1.json")).len() as u64;
    let n2 = expected(&read("eve-2.json")).len() as u64;
    // Three rounds with rsyslog up and three with it down in the first run, three in the
    // second: every round's DHCP messages are events.
    assert!(n1 >= 2 * 9 && n2 >= 9, "events: {n1} then {n2}");
    let got = received(&dir.join("tcp.log"));
    let seqs: Vec<u64> = got.iter().map(|m| m.seq).collect();
    let mut seen = BTreeSet::new();
    let mut first = vec![];
    for &q in &seqs {
        if seen.insert(q) {
            first.push(q);
        }
    }
    let duplicates = seqs.len() - first.len();
    eprintln!(
        "no-loss: {} messages for {} events ({duplicates} duplicates)",
        seqs.len(),
        n1 + n2
    );
    assert_eq!(
        first,
        (1..=n1 + n2).collect::<Vec<u64>>(),
        "gaps or disorder: {seqs:?}"
    );
    // Two starts, two boot ids; every message of the first start comes before the second's
    // numbers, and the second continues the count.
    let boots: BTreeSet<&str> = got.iter().map(|m| m.boot.as_str()).collect();
    assert_eq!(boots.len(), 2, "{boots:?}");
    let boot1 = &got[0].boot;
    for m in &got {
        assert_eq!(
            &m.boot == boot1,
            m.seq <= n1,
            "seq {} boot {}",
            m.seq,
            m.boot
        );
    }
    // The outage was seen and logged, and the payloads are the events written.
    let log1 = read("ww-1.log");
    assert!(
        log1.contains("closed the connection")
            || log1.contains("Sending to the syslog receiver failed"),
        "{log1}"
    );
    let mut lines: Vec<String> = expected(&read("eve-1.json"))
        .into_iter()
        .map(|e| e.0)
        .collect();
    lines.extend(expected(&read("eve-2.json")).into_iter().map(|e| e.0));
    for m in &got {
        assert_eq!(m.body, lines[(m.seq - 1) as usize]);
    }
}

#[test]
fn full_disk_for_the_spool_is_counted_and_logged_once() {
    // The spool on a 64 KiB tmpfs, the receiver down: the disk fills, further messages are
    // dropped with the reason logged once (not per message), the replay completes with
    // every event in its EVE output and exit code 0.
    if !peers::require_root() || peers::require_tool("unshare").is_none() {
        return;
    }
    let dir = common::tempdir("syslog-fulldisk");
    let cfg = sink(
        "soc",
        "tcp",
        5999,
        "ecs",
        "close_timeout_ms = 300\nspool_dir = \"spool\"\n",
    );
    std::fs::write(dir.join("ww.toml"), cfg).unwrap();
    let files: Vec<String> = [
        "hl7/all_alerts.pcap",
        "dhcp/dhcp.pcap",
        "dicom/ct_to_pacs_scenario.pcap",
    ]
    .iter()
    .map(|p| common::pcap(p).display().to_string())
    .collect();
    let script = format!(
        "set -eu\nip link set lo up\nmkdir -p spool\nmount -t tmpfs -o size=64k tmpfs spool\n\
         WARDWATCH_LOG=warn {ww} replay --workers 1 --config ww.toml --eve eve.json {files} 2> ww.log\n\
         echo \"exit=$?\"\ndf -k spool | tail -1\n",
        ww = env!("CARGO_BIN_EXE_wardwatch"),
        files = files.join(" "),
    );
    let out = std::process::Command::new("unshare")
        .args(["-m", "-n", "bash", "-c", &script])
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log = std::fs::read_to_string(dir.join("ww.log")).unwrap_or_default();
    assert!(
        stdout.contains("exit=0"),
        "{stdout}\n{}\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = expected(&std::fs::read_to_string(dir.join("eve.json")).unwrap()).len();
    assert!(n >= 60, "{n} events");
    assert_eq!(
        log.matches("Writing the syslog spool failed").count(),
        1,
        "{log}"
    );
    assert_eq!(
        log.matches("Connecting to the syslog receiver failed")
            .count(),
        1,
        "{log}"
    );
    // The closing line accounts for every event: spooled or dropped, none sent.
    let line = log
        .lines()
        .find(|l| l.contains("SIEM feed closed"))
        .unwrap();
    let field = |k: &str| -> usize {
        let plain: String = line.chars().filter(|c| !c.is_control()).collect();
        let plain = plain
            .replace("[3m", "")
            .replace("[0m", "")
            .replace("[2m", "");
        let v = plain.split(&format!("{k}=")).nth(1).unwrap();
        v.split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(field("sent"), 0, "{line}");
    assert!(field("dropped") > 0 && field("spooled") > 0, "{line}");
    assert_eq!(field("dropped") + field("spooled"), n, "{line}");
}
