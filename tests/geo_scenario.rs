//! GeoIP and ASN through the whole pipeline, on real databases: the GeoLite2 City database
//! that PyPI's `maxminddb-geolite2` ships, and an ASN database written by PyPI's
//! `mmdb-writer` in GeoLite2-ASN's shape. Captures have public addresses written in (no
//! traffic is sent); every address's country is first asked of Python's `maxminddb`
//! reader over the same file, and our lookups must agree with it.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::clinical::*;

const PUMP: Host = Host::new([0x58, 0x42, 0xe4, 0, 0, 1], [10, 1, 0, 10]);
const SERVER: Host = Host::new([0x02, 0, 0, 0, 0, 0x50], [10, 1, 0, 50]);
const WS: Host = Host::new([0x02, 0, 0, 0, 0, 0x30], [10, 1, 0, 30]);
const ROUTER: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];

/// Public servers: the pump's vendor cloud (DE), another German host in another AS, and
/// hosts in Russia and North Korea (as GeoLite2 2018-07 places them; checked below).
const VENDOR: [u8; 4] = [217, 160, 0, 1];
const OTHER_DE: [u8; 4] = [81, 169, 145, 1];
const RU: [u8; 4] = [5, 255, 255, 5];
const KP: [u8; 4] = [175, 45, 176, 1];

fn ip(a: [u8; 4]) -> String {
    std::net::Ipv4Addr::from(a).to_string()
}

fn inet(a: [u8; 4]) -> Host {
    Host::new(ROUTER, a)
}

/// The venv's Python with the GeoLite2 package and the writer, or None (skip; a failure
/// under CI=true).
fn python() -> Option<PathBuf> {
    testkit::peers::require_python(&["geolite2", "maxminddb", "mmdb_writer"])
}

fn py(python: &Path, code: &str) -> String {
    let out = Command::new(python).arg("-c").arg(code).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The GeoLite2 City file inside the installed package.
fn city_db(python: &Path) -> PathBuf {
    let p = PathBuf::from(py(
        python,
        "import os, _maxminddb_geolite2 as m; \
         print(os.path.join(os.path.dirname(m.__file__), 'GeoLite2-City.mmdb'))",
    ));
    assert!(p.is_file(), "{}", p.display());
    p
}

/// The country Python's maxminddb reader gives (country, else registered country).
fn py_country(python: &Path, db: &Path, addr: &str) -> String {
    py(
        python,
        &format!(
            "import maxminddb\nr = maxminddb.open_database({:?}).get({addr:?}) or {{}}\n\
             print((r.get('country') or r.get('registered_country') or {{}}).get('iso_code') or '-')",
            db.display().to_string()
        ),
    )
}

/// An ASN database in GeoLite2-ASN's shape, written by mmdb-writer.
fn asn_db(python: &Path, dir: &Path) -> PathBuf {
    let p = dir.join("asn.mmdb");
    py(
        python,
        &format!(
            "from netaddr import IPSet\nfrom mmdb_writer import MMDBWriter, MmdbU32\n\
             w = MMDBWriter(ip_version=4, database_type='GeoLite2-ASN')\n\
             for net, n, org in [('217.160.0.0/16', 8560, 'IONOS SE'), \
             ('81.169.128.0/17', 6724, 'Strato AG'), ('5.255.255.0/24', 13238, 'YANDEX LLC')]:\n\
             \x20   w.insert_network(IPSet([net]), {{'autonomous_system_number': MmdbU32(n), \
             'autonomous_system_organization': org}})\n\
             w.to_db_file({:?})\nprint('ok')",
            p.display().to_string()
        ),
    );
    p
}

fn config(dir: &Path, geo: &str, extra: &str) -> PathBuf {
    common::scenario_config(dir, &format!("{extra}\n[geoip]\n{geo}"))
}

fn https(s: &mut Scenario, from: Host, to: Host) {
    s.tcp(
        from,
        to,
        443,
        &[(true, vec![0x17; 64]), (false, vec![0x17; 64])],
    );
}

fn alerts(run: &common::Run) -> Vec<serde_json::Value> {
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.alerts()
}

fn pairs(a: &[serde_json::Value]) -> BTreeSet<(String, String)> {
    common::rule_device_pairs(a)
}

fn first<'a>(a: &'a [serde_json::Value], rule: &str) -> &'a serde_json::Value {
    &a.iter()
        .find(|e| e["alert"]["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule}"))["alert"]
}

#[test]
fn geo_lookups_agree_with_python_maxminddb_and_skip_private_addresses() {
    // Our country for each address equals Python's reading of the same GeoLite2 file;
    // private addresses are never looked up.
    let Some(python) = python() else { return };
    let db = city_db(&python);
    let geo = rules::geo::Geo::open(&rules::geo::GeoConfig {
        city_db: Some(db.clone()),
        ..Default::default()
    })
    .unwrap()
    .unwrap();
    let addrs = [
        ip(VENDOR),
        ip(OTHER_DE),
        ip(RU),
        ip(KP),
        "8.8.8.8".into(),
        "1.1.1.1".into(),
        "81.2.69.142".into(),
        "210.52.109.1".into(),
        "2a01:238::1".into(),
        "2001:4860:4860::8888".into(),
        "203.0.113.50".into(),
    ];
    let mut known = 0;
    for a in &addrs {
        let want = py_country(&python, &db, a);
        let got = geo.lookup(a.parse().unwrap());
        assert_eq!(got.country_str().unwrap_or("-"), want, "{a}");
        known += usize::from(want != "-");
    }
    assert!(known >= 9, "the database answered too few: {known}");
    // The scenario's addresses are where the scenario says.
    for (a, c) in [(VENDOR, "DE"), (OTHER_DE, "DE"), (RU, "RU"), (KP, "KP")] {
        assert_eq!(py_country(&python, &db, &ip(a)), c);
    }
    let before = geo.stats();
    assert_eq!(geo.lookup("10.1.0.10".parse().unwrap()).country, None);
    assert_eq!(geo.lookup("fe80::1".parse().unwrap()).country, None);
    let after = geo.stats();
    assert_eq!(after.db_lookups, before.db_lookups);
    assert_eq!(after.not_public, before.not_public + 2);
    // Asked again: from the cache.
    geo.lookup(ip(RU).parse().unwrap());
    assert_eq!(geo.stats().db_lookups, after.db_lookups);
}

#[test]
fn geo_asn_database_written_by_mmdb_writer_gives_number_and_org() {
    // The ASN path on a database in GeoLite2-ASN's shape from an independent writer; a
    // City file given as asn_db is refused with its path.
    let Some(python) = python() else { return };
    let dir = common::tempdir("geo-asn");
    let asn = asn_db(&python, &dir);
    let geo = rules::geo::Geo::open(&rules::geo::GeoConfig {
        asn_db: Some(asn),
        ..Default::default()
    })
    .unwrap()
    .unwrap();
    let g = geo.lookup(ip(OTHER_DE).parse().unwrap());
    assert_eq!(g.asn, Some(6724));
    assert_eq!(g.as_org.as_deref(), Some("Strato AG"));
    assert_eq!(g.country, None);
    assert_eq!(geo.lookup("8.8.8.8".parse().unwrap()).asn, None);
    let city = city_db(&python);
    let e = rules::geo::Geo::open(&rules::geo::GeoConfig {
        asn_db: Some(city),
        ..Default::default()
    })
    .err()
    .unwrap();
    assert!(
        e.contains("asn_db") && e.contains("GeoLite2-City.mmdb"),
        "{e}"
    );
}

fn learn_capture(dir: &Path) -> PathBuf {
    let mut s = Scenario::new(1_740_988_800);
    https(&mut s, PUMP, SERVER);
    https(&mut s, PUMP, inet(VENDOR));
    let p = dir.join("learn.pcap");
    s.write_to(&p).unwrap();
    p
}

fn deviate_capture(dir: &Path) -> PathBuf {
    let mut s = Scenario::new(1_741_075_200);
    https(&mut s, PUMP, SERVER);
    https(&mut s, PUMP, inet(VENDOR));
    // Same country, another AS; then another country and AS.
    https(&mut s, PUMP, inet(OTHER_DE));
    s.wait_secs(1);
    https(&mut s, PUMP, inet(RU));
    let p = dir.join("deviate.pcap");
    s.write_to(&p).unwrap();
    p
}

fn lock_all(cfg: &Path) {
    let (code, _, err) = common::baseline_cli(cfg, &["lock", "--all"]);
    assert!(code == 0, "{err}");
}

#[test]
fn geo_baseline_learns_countries_and_asns_then_alerts_on_new_ones() {
    // Learn the pump's vendor cloud (DE, AS8560), lock, then a new German AS gives
    // new_external_peer + new_asn (not new_country), and a Russian host new_country; the
    // learning capture again is quiet. Evidence names country and AS, as Python reads them.
    let Some(python) = python() else { return };
    let dir = common::tempdir("geo-baseline");
    let city = city_db(&python);
    let asn = asn_db(&python, &dir);
    let cfg = config(
        &dir,
        &format!(
            "city_db = {:?}\nasn_db = {:?}",
            city.display().to_string(),
            asn.display().to_string()
        ),
        "[policy]\nenabled = false",
    );
    let learn = learn_capture(&dir);
    assert!(alerts(&common::replay(Some(&cfg), std::slice::from_ref(&learn))).is_empty());
    lock_all(&cfg);
    let got = alerts(&common::replay(Some(&cfg), &[deviate_capture(&dir)]));
    let want: BTreeSet<(String, String)> = [
        "baseline.new_external_peer",
        "baseline.new_asn",
        "baseline.new_country",
    ]
    .into_iter()
    .map(|r| (r.to_string(), PUMP.id()))
    .collect();
    assert_eq!(pairs(&got), want);
    let peer = first(&got, "baseline.new_external_peer");
    assert_eq!(peer["signature_id"], 9_200_002);
    assert_eq!(
        peer["evidence"]["country"],
        py_country(&python, &city, &ip(OTHER_DE))
    );
    assert_eq!(peer["evidence"]["asn"], "AS6724");
    assert_eq!(peer["evidence"]["as_org"], "Strato AG");
    let a = first(&got, "baseline.new_asn");
    assert_eq!(a["signature_id"], 9_200_010);
    assert_eq!(a["evidence"]["item"], "AS6724");
    assert_eq!(a["evidence"]["peer_ip"], ip(OTHER_DE));
    let c = first(&got, "baseline.new_country");
    assert_eq!(c["signature_id"], 9_200_009);
    assert_eq!(c["evidence"]["item"], py_country(&python, &city, &ip(RU)));
    assert_eq!(c["evidence"]["item"], "RU");
    assert_eq!(c["evidence"]["peer_ip"], ip(RU));
    assert_eq!(c["evidence"]["baseline_state"], "locked");
    // Normal again: nothing fires.
    assert!(alerts(&common::replay(Some(&cfg), &[learn])).is_empty());
    // The export lists the learned country and AS.
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .args(["baseline", "export", "--device", &PUMP.id(), "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(
        yaml.contains("countries:") && yaml.contains("- DE"),
        "{yaml}"
    );
    assert!(
        yaml.contains("- AS8560") && !yaml.contains("AS6724"),
        "{yaml}"
    );
}

#[test]
fn geo_policy_countries_deny_rule_fires_only_for_listed_countries() {
    // An operator rule denying RU and KP: the workstation's Russian and the pump's North
    // Korean peers fire it with the country as evidence, the German one does not; with no
    // GeoIP database the rule never matches and the start warns.
    let Some(python) = python() else { return };
    let dir = common::tempdir("geo-policy");
    let pol = dir.join("policies");
    std::fs::create_dir_all(&pol).unwrap();
    std::fs::write(
        pol.join("local.yaml"),
        "policies:\n  - id: local.embargoed_countries\n    signature_id: 9110100\n    severity: 1\n    \
         description: Traffic to an embargoed country\n    on: [flow]\n    deny: {countries: [RU, KP]}\n",
    )
    .unwrap();
    let mut s = Scenario::new(1_740_988_800);
    https(&mut s, WS, inet(VENDOR));
    https(&mut s, WS, inet(RU));
    https(&mut s, PUMP, inet(KP));
    let pcap = dir.join("p.pcap");
    s.write_to(&pcap).unwrap();
    let policy = format!("[policy]\ndir = {:?}\n", pol.display().to_string());
    let city = city_db(&python);
    let with = config(
        &dir,
        &format!("city_db = {:?}", city.display().to_string()),
        &policy,
    );
    let got = alerts(&common::replay(Some(&with), std::slice::from_ref(&pcap)));
    let local: Vec<&serde_json::Value> = got
        .iter()
        .filter(|e| e["alert"]["rule"] == "local.embargoed_countries")
        .collect();
    let mut seen: Vec<(String, String)> = local
        .iter()
        .map(|e| {
            (
                e["dest_ip"].as_str().unwrap().to_string(),
                e["alert"]["evidence"]["peer_country"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    seen.sort();
    seen.dedup();
    let mut want = vec![
        (ip(RU), py_country(&python, &city, &ip(RU))),
        (ip(KP), py_country(&python, &city, &ip(KP))),
    ];
    want.sort();
    assert_eq!(seen, want);
    let devs: BTreeSet<String> = local
        .iter()
        .map(|e| {
            e["alert"]["device"]["id"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(devs, [WS.id(), PUMP.id()].into_iter().collect());
    // Without a database: never matches, and the start says why.
    let dir2 = common::tempdir("geo-policy-nodb");
    let without = config(&dir2, "", &policy);
    let run = common::replay(Some(&without), &[pcap]);
    let got = alerts(&run);
    assert!(
        !got.iter()
            .any(|e| e["alert"]["rule"] == "local.embargoed_countries"),
        "{got:?}"
    );
    assert!(run.stderr.contains("no GeoIP database"), "{}", run.stderr);
}

#[test]
fn geo_missing_database_stops_the_start_naming_the_path() {
    // A configured database that is not there is a start error with its path.
    let dir = common::tempdir("geo-missing");
    let cfg = config(&dir, "city_db = \"/nonexistent/GeoLite2-City.mmdb\"", "");
    let mut s = Scenario::new(1_740_988_800);
    https(&mut s, PUMP, SERVER);
    let pcap = dir.join("m.pcap");
    s.write_to(&pcap).unwrap();
    let run = common::replay(Some(&cfg), &[pcap]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("/nonexistent/GeoLite2-City.mmdb"),
        "{}",
        run.stderr
    );
}
