//! Exposure detectors against real peers, each on loopback inside a private network
//! namespace, on ports that are not hints (so detection is by content), captured by
//! tcpdump, decoded by `wardwatch replay` and compared with tshark's dissection of the same
//! capture:
//! - SNMP: Net-SNMP's `snmpget` (v1 with `public`, v2c with a site community, v3 authPriv)
//!   against `snmpd`;
//! - FTP: Python's `ftplib` against `pyftpdlib` (a failed and a successful login on one
//!   connection, an anonymous login on another);
//! - HTTP: curl posting a login form and fetching a login page from Python's
//!   `http.server`.
//!
//! No community, user name or password may appear in anything wardwatch writes.
//!
//! Needs root (network namespaces), tcpdump, tshark, snmpd/snmpget (Debian `snmpd`,
//! `snmp`), curl and the test venv with pyftpdlib. Outside CI a missing peer skips the
//! test; under CI it fails it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: tests

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{netns, peers};

fn prerequisites(tools: &[&str]) -> bool {
    if !peers::require_root() {
        return false;
    }
    ["tcpdump", "tshark", "unshare", "ip", "ss"]
        .iter()
        .chain(tools)
        .all(|t| peers::require_tool(t).is_some())
}

fn run_peers(dir: &Path, body: &str) -> PathBuf {
    let script = format!(
        "{start}{body}{stop}",
        start = netns::start_tcpdump("cap.pcap"),
        stop = netns::STOP_TCPDUMP,
    );
    let out = netns::run_script(dir, &script).unwrap();
    let log = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    assert!(
        out.status.success(),
        "peer script failed: {}\n{}\nserver: {}\nclient: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
        log("server.log"),
        log("client.log")
    );
    dir.join("cap.pcap")
}

/// `wardwatch replay` of `pcap`: its output text and its lines parsed.
fn replay(pcap: &Path) -> (String, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["replay", "--eve", "-"])
        .arg(pcap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let v = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (text, v)
}

fn tshark(pcap: &Path, decode_as: &[&str], filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    peers::tshark_fields(pcap, decode_as, filter, fields)
}

fn of_type<'a>(ev: &'a [Value], t: &str) -> Vec<&'a Value> {
    ev.iter()
        .filter(|v| v["event_type"] == t)
        .map(|v| &v[t])
        .collect()
}

const SNMP_PORT: u16 = 1161;

#[test]
fn snmp_peers_snmpget_and_snmpd_agree_with_tshark() {
    // snmpget v1 (public), v2c (a site community) and v3 authPriv against snmpd: each
    // message's version, PDU type and community presence equal tshark's; `public` is
    // flagged as a default and the site community is not; v3 is reported with its security
    // level; no community or v3 secret is written.
    if !prerequisites(&["snmpd", "snmpget"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("persist")).unwrap();
    std::fs::write(
        dir.path().join("snmpd.conf"),
        format!(
            "agentAddress udp:127.0.0.1:{SNMP_PORT}\n\
             rocommunity public 127.0.0.1\n\
             rocommunity Wa4dRo 127.0.0.1\n\
             createUser monitor SHA \"authPhrase77\" AES \"privPhrase77\"\n\
             rouser monitor priv\n"
        ),
    )
    .unwrap();
    let get = format!("snmpget -m '' -On -r 3 -t 3 127.0.0.1:{SNMP_PORT}");
    let body = format!(
        "SNMP_PERSISTENT_DIR=$PWD/persist snmpd -f -C -c $PWD/snmpd.conf -Lf server.log -p snmpd.pid &\n\
         SERVER_PID=$!\n\
         for i in $(seq 1 100); do ss -lun | grep -q ':{SNMP_PORT} ' && break; sleep 0.05; done\n\
         {get} -v1 -c public 1.3.6.1.2.1.1.1.0 >> client.log\n\
         {get} -v2c -c Wa4dRo 1.3.6.1.2.1.1.5.0 >> client.log\n\
         {get} -v3 -l authPriv -u monitor -a SHA -A authPhrase77 -x AES -X privPhrase77 1.3.6.1.2.1.1.3.0 >> client.log\n\
         kill $SERVER_PID || true\n"
    );
    let pcap = run_peers(dir.path(), &body);
    let (text, ev) = replay(&pcap);
    for secret in [
        "Wa4dRo",
        "authPhrase77",
        "privPhrase77",
        "\"public\"",
        "monitor",
    ] {
        assert!(!text.contains(secret), "{secret} written");
    }
    let snmp = of_type(&ev, "snmp");
    // v1 request + response, v2c request + response, v3 discovery + report, then the
    // authPriv request and response.
    assert!(snmp.len() >= 6, "{snmp:#?}");
    let ours: BTreeMap<(u64, String, bool), usize> =
        snmp.iter().fold(BTreeMap::new(), |mut m, s| {
            let pdu = s["pdu_type"].as_str().unwrap();
            // tshark cannot read an encrypted scoped PDU either.
            let pdu = if pdu == "encrypted" { "" } else { pdu };
            *m.entry((
                s["version"].as_u64().unwrap(),
                pdu.to_string(),
                s["community_present"].as_bool().unwrap(),
            ))
            .or_insert(0) += 1;
            m
        });
    let names = [
        "get_request",
        "get_next_request",
        "response",
        "set_request",
        "trap_v1",
        "get_bulk_request",
        "inform_request",
        "trap_v2",
        "report",
    ];
    let decode = format!("udp.port=={SNMP_PORT},snmp");
    let mut theirs: BTreeMap<(u64, String, bool), usize> = BTreeMap::new();
    for r in tshark(
        &pcap,
        &[&decode],
        "snmp",
        &["snmp.version", "snmp.data", "snmp.community"],
    ) {
        let version = match r[0].as_str() {
            "0" => 1,
            "1" => 2,
            _ => 3,
        };
        let pdu = r[1]
            .parse::<usize>()
            .ok()
            .and_then(|i| names.get(i))
            .map_or(String::new(), |s| s.to_string());
        let community = r.get(2).is_some_and(|c| !c.is_empty());
        *theirs.entry((version, pdu, community)).or_insert(0) += 1;
    }
    assert_eq!(ours, theirs);
    let defaults: Vec<(u64, bool)> = snmp
        .iter()
        .filter(|s| s["community_present"] == true)
        .map(|s| {
            (
                s["version"].as_u64().unwrap(),
                s["community_default"] == true,
            )
        })
        .collect();
    // One flow per snmpget: flows interleave in any order across workers, and retries
    // under load may repeat a message; each version's answer is the same.
    let mut defaults = defaults;
    defaults.sort();
    defaults.dedup();
    assert_eq!(defaults, vec![(1, true), (2, false)]);
    assert!(snmp.iter().any(|s| s["version"] == 3
        && s["security_level"] == "auth_priv"
        && s["pdu_type"] == "encrypted"));
    assert!(snmp
        .iter()
        .any(|s| s["version"] == 3 && s["security_level"] == "no_auth_no_priv"));
    // Kept for the golden capture: `WARDWATCH_KEEP_SNMP=path` copies the capture there.
    if let Ok(p) = std::env::var("WARDWATCH_KEEP_SNMP") {
        std::fs::copy(&pcap, p).unwrap();
    }
}

const FTP_PORT: u16 = 2121;

const FTP_SERVER: &str = r#"
import os, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
root = os.getcwd()
a = DummyAuthorizer()
a.add_user("alice", "Str0ngPw", root, perm="elr")
a.add_anonymous(root)
FTPHandler.authorizer = a
FTPHandler.banner = "pyftpdlib FTP server ready."
FTPHandler.auth_failed_timeout = 0.01
FTPServer(("127.0.0.1", int(sys.argv[1])), FTPHandler).serve_forever()
"#;

const FTP_CLIENT: &str = r#"
import ftplib, sys
port = int(sys.argv[1])
f = ftplib.FTP()
f.connect("127.0.0.1", port)
try:
    f.login("alice", "Wr0ngPw")
except ftplib.error_perm as e:
    print("refused", e)
f.login("alice", "Str0ngPw")
print(f.pwd())
f.quit()
g = ftplib.FTP()
g.connect("127.0.0.1", port)
g.login()
g.quit()
"#;

/// A pyftpdlib session captured with tcpdump in `dir`.
fn ftp_capture(dir: &Path, py: &Path) -> PathBuf {
    std::fs::write(dir.join("server.py"), FTP_SERVER).unwrap();
    std::fs::write(dir.join("client.py"), FTP_CLIENT).unwrap();
    let py = py.display();
    let body = format!(
        "{py} server.py {FTP_PORT} > server.log 2>&1 &\n\
         SERVER_PID=$!\n\
         for i in $(seq 1 200); do ss -ltn | grep -q ':{FTP_PORT} ' && break; sleep 0.05; done\n\
         {py} client.py {FTP_PORT} > client.log 2>&1\n\
         kill $SERVER_PID || true\n"
    );
    run_peers(dir, &body)
}

#[test]
fn ftp_peers_ftplib_and_pyftpdlib_agree_with_tshark() {
    // Three login attempts (wrong password, right password, anonymous): three events whose
    // USER/PASS and 530/230 outcomes equal tshark's commands and reply codes; the banner
    // names the server; no user name or password is written.
    if !prerequisites(&[]) {
        return;
    }
    let Some(py) = peers::require_python(&["pyftpdlib"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pcap = ftp_capture(dir.path(), &py);
    let (text, ev) = replay(&pcap);
    for secret in ["Str0ngPw", "Wr0ngPw", "alice"] {
        assert!(!text.contains(secret), "{secret} written");
    }
    let ftp = of_type(&ev, "ftp");
    // Two connections: their events interleave in any order across workers.
    let mut facts: Vec<(bool, bool, bool, Option<bool>)> = ftp
        .iter()
        .map(|f| {
            (
                f["user_sent"] == true,
                f["cleartext_credentials"] == true,
                f["anonymous"] == true,
                f["login_success"].as_bool(),
            )
        })
        .collect();
    facts.sort();
    assert_eq!(
        facts,
        vec![
            (true, true, false, Some(false)),
            (true, true, false, Some(true)),
            (true, true, true, Some(true)),
        ]
    );
    assert!(ftp
        .iter()
        .all(|f| f["banner"] == "pyftpdlib FTP server ready."));
    let decode = format!("tcp.port=={FTP_PORT},ftp");
    let cmds = tshark(&pcap, &[&decode], "ftp.request", &["ftp.request.command"]);
    let codes = tshark(&pcap, &[&decode], "ftp.response", &["ftp.response.code"]);
    let n = |rows: &Vec<Vec<String>>, v: &str| rows.iter().filter(|r| r[0] == v).count();
    assert_eq!(n(&cmds, "USER"), 3);
    assert_eq!(n(&cmds, "PASS"), 3);
    assert_eq!(n(&codes, "230"), 2);
    assert_eq!(n(&codes, "530"), 1);
    // Kept for the golden capture: `WARDWATCH_KEEP_FTP=path` copies the capture there.
    if let Ok(p) = std::env::var("WARDWATCH_KEEP_FTP") {
        std::fs::copy(&pcap, p).unwrap();
    }
}

const HTTP_PORT: u16 = 8766;

#[test]
fn http_login_peers_curl_and_python_agree_with_tshark() {
    // curl fetches a login page (an HTML form with a password input) from Python's
    // http.server, posts the form back with a password field, and sends Basic credentials:
    // the page is a login form, the POST and the Basic request carry cleartext credentials
    // (tshark sees the same form keys and Authorization header), and no value is written.
    if !prerequisites(&["python3", "curl"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("login.html"),
        "<html><body><form method=\"post\" action=\"/login.html\">\n\
         <input type=\"text\" name=\"username\">\n\
         <input type=\"password\" name=\"password\">\n\
         </form></body></html>\n",
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{HTTP_PORT}");
    let body = format!(
        "python3 -m http.server {HTTP_PORT} --bind 127.0.0.1 > server.log 2>&1 &\n\
         SERVER_PID=$!\n\
         for i in $(seq 1 100); do ss -ltn | grep -q ':{HTTP_PORT} ' && break; sleep 0.05; done\n\
         curl -s '{base}/login.html' -o /dev/null\n\
         curl -s --data-urlencode 'username=nurse7' --data-urlencode 'password=Gl4ss-Tiger' '{base}/login.html' -o /dev/null || true\n\
         curl -s -u 'tech:Pl4inBasic' '{base}/login.html' -o /dev/null\n\
         kill $SERVER_PID || true\n"
    );
    let pcap = run_peers(dir.path(), &body);
    let (text, ev) = replay(&pcap);
    for secret in [
        "Gl4ss-Tiger",
        "nurse7",
        "Pl4inBasic",
        "dGVjaDpQbDRpbkJhc2lj",
    ] {
        assert!(!text.contains(secret), "{secret} written");
    }
    let http = of_type(&ev, "http");
    assert_eq!(http.len(), 3, "{http:#?}");
    let page = http
        .iter()
        .find(|h| h["http_method"] == "GET" && h.get("http_auth").is_none());
    assert_eq!(page.unwrap()["login_form"], true);
    let post = http.iter().find(|h| h["http_method"] == "POST").unwrap();
    assert_eq!(post["password_field"], true);
    assert_eq!(post["cleartext_credentials"], true);
    let basic = http.iter().find(|h| h["http_auth"] == "basic").unwrap();
    assert_eq!(basic["cleartext_credentials"], true);
    // tshark's view of the same capture.
    let decode = format!("tcp.port=={HTTP_PORT},http");
    let keys = tshark(
        &pcap,
        &[&decode],
        "urlencoded-form.key == \"password\"",
        &["http.request.method"],
    );
    assert_eq!(keys, vec![vec!["POST".to_string()]]);
    let auth = tshark(
        &pcap,
        &[&decode],
        "http.authorization",
        &["http.request.method"],
    );
    assert_eq!(auth.len(), 1);
}
