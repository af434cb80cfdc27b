//! Policy loading (errors with file and line) and evaluation on synthetic events against
//! a small inventory.

use super::*;
use crate::alert::AlertConfig;
use crate::inventory::{Catalogue, Device, Inventory, InventoryConfig};
use model::dicom::{
    DicomAssociateRq, DicomAssociation, DicomCommand, DicomEvent, DicomUserIdentity,
};
use model::exposure::SmbEvent;
use model::{Event, EventKind, FlowKey, FlowMeta, IpProto, MacAddr, Timestamp};
use std::net::IpAddr;

fn cat() -> &'static Catalogue {
    crate::testutil::catalogue()
}

const PUMP: [u8; 6] = [0x00, 0x09, 0xfb, 0, 0, 1];
const MONITOR: [u8; 6] = [0x00, 0x09, 0xfb, 0, 0, 2];
const WS: [u8; 6] = [0x02, 0, 0, 0, 0, 3];
const PACS: [u8; 6] = [0x02, 0, 0, 0, 0, 4];
const ROUTER: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];

fn dev(mac: [u8; 6], ip: &str, class: &str) -> Device {
    let mut d = crate::testutil::device(mac, ip, class, "high");
    d.classification.confidence = 90;
    d.vendor = Some("Vendor".into());
    d
}

fn inventory() -> Inventory {
    let mut inv = Inventory::new(InventoryConfig::default(), cat().clone());
    inv.restore(vec![
        dev(PUMP, "10.0.0.5", "infusion_pump"),
        dev(MONITOR, "10.0.0.6", "patient_monitor"),
        dev(WS, "10.0.0.7", "clinical_workstation"),
        dev(PACS, "10.0.0.8", "pacs"),
    ]);
    inv
}

fn flow(src: ([u8; 6], &str, u16), dst: ([u8; 6], &str, u16), proto: IpProto) -> FlowMeta {
    let key = FlowKey {
        vlan: [0, 0],
        proto,
        src_ip: src.1.parse::<IpAddr>().unwrap(),
        src_port: src.2,
        dst_ip: dst.1.parse::<IpAddr>().unwrap(),
        dst_port: dst.2,
    };
    FlowMeta {
        flow_id: key.flow_id(0),
        key,
        in_iface: "t".into(),
        src_mac: Some(MacAddr(src.0)),
        dest_mac: Some(MacAddr(dst.0)),
        app_proto: None,
    }
}

fn ev(secs: i64, f: FlowMeta, kind: EventKind) -> Event {
    Event {
        ts: Timestamp::from_secs_micros(secs, 0),
        flow: Some(Box::new(f)),
        kind,
    }
}

fn flow_ev(secs: i64, f: FlowMeta) -> Event {
    ev(
        secs,
        f,
        EventKind::Flow(model::FlowRecord {
            pkts_toserver: 1,
            pkts_toclient: 1,
            bytes_toserver: 60,
            bytes_toclient: 60,
            start: Timestamp::ZERO,
            end: Timestamp::ZERO,
            age: 0,
            state: model::FlowState::Closed,
            reason: model::FlowEndReason::Shutdown,
            stream: None,
            tcp: None,
        }),
    )
}

fn engine() -> PolicyEngine {
    let set = PolicySet::load(None, cat()).unwrap();
    PolicyEngine::new(set, &PolicyConfig::default(), AlertConfig::default()).unwrap()
}

/// (rule, device id) of every alert.
fn fired(out: &[Event]) -> Vec<(String, String)> {
    out.iter()
        .filter_map(|e| match &e.kind {
            EventKind::Alert(a) => Some((
                a.rule.clone(),
                a.device.as_ref().map(|d| d.id.clone()).unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

fn run(events: &[Event]) -> Vec<Event> {
    let inv = inventory();
    let mut e = engine();
    let mut out = Vec::new();
    for x in events {
        e.evaluate(x, Some(&inv), &mut out);
    }
    e.finish(&mut out);
    out
}

fn pump_id() -> String {
    crate::inventory::mac_id(MacAddr(PUMP))
}

#[test]
fn shipped_policies_load_with_unique_signature_ids() {
    // The built-in rules compile, are all enabled, and are indexed by their event types.
    let set = PolicySet::load(None, cat()).unwrap();
    assert_eq!(set.rules.len(), 8);
    let mut sids: Vec<u32> = set.rules.iter().map(|r| r.meta.signature_id).collect();
    sids.sort();
    sids.dedup();
    assert_eq!(sids.len(), 8);
    assert!(set.for_type("flow").len() >= 3);
    assert_eq!(set.for_type("dicom").len(), 3);
    assert!(set.for_type("lldp").is_empty());
    let r = set.get("policy.clinical_no_internet").unwrap();
    assert!(r.scope.classes.contains(&"infusion_pump".to_string()));
    assert!(!r.scope.classes.contains(&"pacs".to_string()));
}

/// Loads the shipped files plus `text` as `mine.yaml`; the error it must give.
fn load_err(text: &str) -> PolicyError {
    let mut files: Vec<(String, String)> = SHIPPED
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    files.push(("mine.yaml".into(), text.into()));
    PolicySet::from_texts(&files, cat()).unwrap_err()
}

const GOOD: &str = "policies:\n  - id: local.x\n    signature_id: 9110001\n    severity: 2\n    description: d\n    deny: {services: [tcp/23]}\n";

#[test]
fn policy_errors_name_file_line_and_problem() {
    // Every kind of mistake is refused with the file, the line of the rule and the problem.
    assert!(PolicySet::from_texts(&[("mine.yaml".into(), GOOD.into())], cat()).is_ok());
    // Malformed YAML: the parser's line.
    let e = load_err("policies:\n  - id: [\n");
    assert_eq!(e.file, "mine.yaml");
    assert!(e.line.is_some(), "{e}");
    // Unknown field (a typo must not silently widen a rule).
    let e = load_err(&GOOD.replace("deny:", "deny_:"));
    assert!(e.to_string().contains("deny_"), "{e}");
    let e = load_err(&GOOD.replace("services:", "service:"));
    assert!(e.to_string().starts_with("mine.yaml"), "{e}");
    // Unknown class, in the scope and in a peer condition: file, line 2, problem.
    let e = load_err(&GOOD.replace("    deny:", "    scope: {classes: [toaster]}\n    deny:"));
    assert_eq!((e.file.as_str(), e.line), ("mine.yaml", Some(2)));
    assert!(e.problem.contains("unknown class `toaster`"), "{e}");
    let e = load_err(&GOOD.replace("{services: [tcp/23]}", "{peer: {classes: [pumps]}}"));
    assert!(e.problem.contains("unknown class `pumps`"), "{e}");
    // Unknown fact, wrong fact type, facts of two event types, bad service, bad subnet.
    let e = load_err(&GOOD.replace("{services: [tcp/23]}", "{facts: {dicom.colour: x}}"));
    assert!(e.problem.contains("unknown fact `dicom.colour`"), "{e}");
    let e = load_err(&GOOD.replace("{services: [tcp/23]}", "{facts: {smb.smb1: yes-please}}"));
    assert!(e.problem.contains("takes true or false"), "{e}");
    let e = load_err(&GOOD.replace(
        "{services: [tcp/23]}",
        "{facts: {smb.smb1: true, http.credentials_present: true}}",
    ));
    assert!(e.problem.contains("never hold on one event"), "{e}");
    let e = load_err(&GOOD.replace("tcp/23", "tcp/99999"));
    assert!(e.problem.contains("bad service"), "{e}");
    let e = load_err(&GOOD.replace("{services: [tcp/23]}", "{peer: {subnets: [10.0.0.0/40]}}"));
    assert!(e.problem.contains("bad subnet"), "{e}");
    // Severity out of range, no deny/allow, unknown event type.
    let e = load_err(&GOOD.replace("severity: 2", "severity: 7"));
    assert!(e.problem.contains("severity"), "{e}");
    let e = load_err(&GOOD.replace("    deny: {services: [tcp/23]}\n", ""));
    assert!(e.problem.contains("needs `deny` or `allow`"), "{e}");
    let e = load_err(&GOOD.replace("    deny:", "    on: [smoke]\n    deny:"));
    assert!(e.problem.contains("unknown event type `smoke`"), "{e}");
    // A signature id used by a shipped rule.
    let e = load_err(&GOOD.replace("9110001", "9100001"));
    assert!(e.problem.contains("already used"), "{e}");
}

#[test]
fn operator_file_overrides_and_disables_shipped_rules() {
    // Same id replaces; enabled: false removes the rule from evaluation.
    let cat = cat();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("local.yaml"),
        "policies:\n  - id: policy.clinical_no_internet\n    signature_id: 9100001\n    severity: 1\n    description: off\n    enabled: false\n    deny: {peer: {location: external}}\n",
    )
    .unwrap();
    let set = PolicySet::load(Some(dir.path()), cat).unwrap();
    assert!(set.get("policy.clinical_no_internet").is_none());
    assert_eq!(set.rules.len(), 7);
}

#[test]
fn reload_failure_keeps_last_good_rules() {
    // A broken operator file makes the reload fail with its name; the rules in force stay.
    let cat = cat();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), GOOD).unwrap();
    let mut e = engine();
    assert_eq!(e.reload(Some(dir.path()), cat).unwrap(), 9);
    std::fs::write(
        dir.path().join("b.yaml"),
        "policies:\n  - id: local.y\n    oops: 1\n",
    )
    .unwrap();
    let err = e.reload(Some(dir.path()), cat).unwrap_err();
    assert!(err.file.ends_with("b.yaml"), "{err}");
    assert_eq!(e.rules().rules.len(), 9);
    assert!(e.rules().get("local.x").is_some());
}

#[test]
fn clinical_device_to_internet_fires_once_per_device_and_not_for_internal_peers() {
    // A pump's flow to a public address (through the router) fires; a flow to the PACS, a
    // workstation's internet flow, and a pump flow to a private address do not.
    let out = run(&[
        flow_ev(
            1,
            flow(
                (PUMP, "10.0.0.5", 40000),
                (ROUTER, "203.0.113.9", 443),
                IpProto::TCP,
            ),
        ),
        flow_ev(
            2,
            flow(
                (PUMP, "10.0.0.5", 40001),
                (PACS, "10.0.0.8", 104),
                IpProto::TCP,
            ),
        ),
        flow_ev(
            3,
            flow(
                (WS, "10.0.0.7", 40002),
                (ROUTER, "203.0.113.9", 443),
                IpProto::TCP,
            ),
        ),
        flow_ev(
            4,
            flow(
                (PUMP, "10.0.0.5", 40003),
                (ROUTER, "192.168.9.9", 443),
                IpProto::TCP,
            ),
        ),
    ]);
    assert_eq!(
        fired(&out),
        vec![("policy.clinical_no_internet".to_string(), pump_id())]
    );
    let EventKind::Alert(a) = &out[0].kind else {
        panic!()
    };
    assert_eq!(a.fact("peer_ip"), Some("203.0.113.9"));
    assert_eq!(a.fact("peer_location"), Some("external"));
    assert_eq!(a.fact("service"), Some("tcp/443"));
    assert_eq!(a.fact("device_role"), Some("client"));
    assert_eq!(a.severity, 1);
    assert_eq!(a.metadata.mitre_technique_id, vec!["T0883".to_string()]);
    // The alert keeps the triggering flow.
    assert_eq!(out[0].flow.as_ref().unwrap().key.dst_port, 443);
}

#[test]
fn internal_subnets_from_config_are_not_internet() {
    // An operator-declared public range used inside the hospital is internal.
    let set = PolicySet::load(None, cat()).unwrap();
    let cfg = PolicyConfig {
        internal_subnets: vec!["203.0.113.0/24".into()],
        ..PolicyConfig::default()
    };
    let mut e = PolicyEngine::new(set, &cfg, AlertConfig::default()).unwrap();
    let inv = inventory();
    let mut out = Vec::new();
    let x = flow_ev(
        1,
        flow(
            (PUMP, "10.0.0.5", 1),
            (ROUTER, "203.0.113.9", 443),
            IpProto::TCP,
        ),
    );
    e.evaluate(&x, Some(&inv), &mut out);
    assert!(fired(&out).is_empty());
    let bad = PolicyConfig {
        internal_subnets: vec!["nope".into()],
        ..PolicyConfig::default()
    };
    let set = PolicySet::load(None, cat()).unwrap();
    assert!(PolicyEngine::new(set, &bad, AlertConfig::default()).is_err());
}

#[test]
fn telnet_to_monitor_fires_on_port_and_on_content_folded() {
    // A workstation's telnet to a monitor fires for the monitor (server side); the flow
    // and the telnet event of the same session are one alert plus a folded follow-up.
    let mon = crate::inventory::mac_id(MacAddr(MONITOR));
    let f = flow(
        (WS, "10.0.0.7", 50000),
        (MONITOR, "10.0.0.6", 23),
        IpProto::TCP,
    );
    let out = run(&[
        ev(1, f.clone(), EventKind::Telnet(Box::default())),
        flow_ev(2, f),
    ]);
    let mut got = fired(&out);
    got.dedup();
    assert_eq!(
        got,
        vec![("policy.clinical_no_telnet".to_string(), mon.clone())]
    );
    // Telnet on another port is still found by content (the telnet event).
    let f = flow(
        (WS, "10.0.0.7", 50000),
        (MONITOR, "10.0.0.6", 2323),
        IpProto::TCP,
    );
    let out = run(&[
        ev(1, f.clone(), EventKind::Telnet(Box::default())),
        flow_ev(2, f.clone()),
    ]);
    assert_eq!(
        fired(&out),
        vec![("policy.clinical_no_telnet".to_string(), mon)]
    );
    // Not for a workstation-to-workstation session.
    let f = flow(
        (WS, "10.0.0.7", 50000),
        (PACS, "10.0.0.8", 23),
        IpProto::TCP,
    );
    assert!(fired(&run(&[flow_ev(1, f)])).is_empty());
}

#[test]
fn smb1_fact_fires_only_when_true() {
    // Facts are typed: smb1=false does not fire; smb1=true on a pump's session does.
    let f = flow(
        (PUMP, "10.0.0.5", 50000),
        (WS, "10.0.0.7", 445),
        IpProto::TCP,
    );
    let mk = |smb1| {
        EventKind::Smb(Box::new(SmbEvent {
            smb1,
            ..SmbEvent::default()
        }))
    };
    assert!(fired(&run(&[ev(1, f.clone(), mk(false))])).is_empty());
    let out = run(&[ev(1, f, mk(true))]);
    assert_eq!(
        fired(&out),
        vec![("policy.clinical_no_smb1".to_string(), pump_id())]
    );
    let EventKind::Alert(a) = &out[0].kind else {
        panic!()
    };
    assert_eq!(a.fact("smb.smb1"), Some("true"));
}

fn assoc(calling: &str, called: &str, outcome: &'static str, passcode: bool) -> EventKind {
    EventKind::Dicom(DicomEvent::Association(Box::new(DicomAssociation {
        calling_ae: Some(calling.into()),
        called_ae: Some(called.into()),
        outcome,
        request: Some(DicomAssociateRq {
            user_identity: passcode.then(|| DicomUserIdentity {
                kind: 2,
                type_name: "username_and_passcode",
                primary_field_present: true,
                secondary_field_present: true,
                ..DicomUserIdentity::default()
            }),
            ..DicomAssociateRq::default()
        }),
        reject: (outcome == "rejected").then(|| model::dicom::DicomReject {
            reason_name: "calling_ae_title_not_recognized",
            ..Default::default()
        }),
        ..DicomAssociation::default()
    })))
}

fn cmove(dest: &str) -> EventKind {
    EventKind::Dicom(DicomEvent::Command(Box::new(DicomCommand {
        command: "C-MOVE-RQ",
        move_destination: Some(dest.into()),
        ..DicomCommand::default()
    })))
}

#[test]
fn dicom_rules_fire_on_passcode_unknown_move_destination_and_rejected_caller() {
    // Known AEs come from accepted associations; a C-MOVE to a known AE is fine, to an
    // unknown one fires for the requestor; a rejected unknown caller fires; a cleartext
    // passcode fires for the client only.
    let ws = crate::inventory::mac_id(MacAddr(WS));
    let f = flow(
        (WS, "10.0.0.7", 50000),
        (PACS, "10.0.0.8", 104),
        IpProto::TCP,
    );
    let out = run(&[
        ev(1, f.clone(), assoc("WS01", "PACS", "accepted", false)),
        ev(2, f.clone(), cmove("WS01")),
        ev(3, f.clone(), cmove("EVIL")),
        ev(4, f.clone(), assoc("SCANNER", "PACS", "rejected", false)),
        ev(5, f.clone(), assoc("WS01", "PACS", "accepted", true)),
        // The same caller rejected once it is known does not fire.
        ev(6, f, assoc("WS01", "PACS", "rejected", false)),
    ]);
    assert_eq!(
        fired(&out),
        vec![
            (
                "policy.dicom_move_unknown_destination".to_string(),
                ws.clone()
            ),
            (
                "policy.dicom_reject_unknown_calling_ae".to_string(),
                ws.clone()
            ),
            ("policy.dicom_cleartext_passcode".to_string(), ws),
        ]
    );
    let EventKind::Alert(a) = &out[0].kind else {
        panic!()
    };
    assert_eq!(a.fact("dicom.command"), Some("C-MOVE-RQ"));
    assert_eq!(a.fact("dicom.move_destination_known"), Some("false"));
}

#[test]
fn allow_list_fires_on_anything_not_allowed_and_scopes_by_device_vlan_subnet() {
    // An operator allow-list for one pump: its server on tcp/443 is allowed, anything else
    // fires; scope by device id, VLAN and subnet narrows who it applies to.
    let cat = cat();
    let text = format!(
        "policies:\n  - id: local.pump_allow\n    signature_id: 9110002\n    severity: 2\n    description: pump talks to its server only\n    scope: {{devices: ['{}'], subnets: [10.0.0.0/24]}}\n    allow:\n      - {{peer: {{devices: ['{}']}}, services: [tcp/443]}}\n      - {{services: [udp/53]}}\n",
        pump_id().to_uppercase(),
        crate::inventory::mac_id(MacAddr(PACS))
    );
    let set = PolicySet::from_texts(&[("l.yaml".into(), text)], cat).unwrap();
    let mut e = PolicyEngine::new(set, &PolicyConfig::default(), AlertConfig::default()).unwrap();
    let inv = inventory();
    let mut out = Vec::new();
    for x in [
        flow_ev(
            1,
            flow((PUMP, "10.0.0.5", 1), (PACS, "10.0.0.8", 443), IpProto::TCP),
        ),
        flow_ev(
            2,
            flow((PUMP, "10.0.0.5", 2), (WS, "10.0.0.7", 53), IpProto::UDP),
        ),
        flow_ev(
            3,
            flow((MONITOR, "10.0.0.6", 3), (WS, "10.0.0.7", 80), IpProto::TCP),
        ),
        flow_ev(
            4,
            flow((PUMP, "10.0.0.5", 4), (WS, "10.0.0.7", 80), IpProto::TCP),
        ),
    ] {
        e.evaluate(&x, Some(&inv), &mut out);
    }
    assert_eq!(
        fired(&out),
        vec![("local.pump_allow".to_string(), pump_id())]
    );
    assert_eq!(out[0].ts, Timestamp::from_secs_micros(4, 0));
    // A VLAN scope that does not match: nothing.
    let text = GOOD.replace("    deny:", "    scope: {vlans: [30]}\n    deny:");
    let set = PolicySet::from_texts(&[("l.yaml".into(), text)], cat).unwrap();
    let mut e = PolicyEngine::new(set, &PolicyConfig::default(), AlertConfig::default()).unwrap();
    let mut out = Vec::new();
    let x = flow_ev(
        1,
        flow((WS, "10.0.0.7", 1), (MONITOR, "10.0.0.6", 23), IpProto::TCP),
    );
    e.evaluate(&x, Some(&inv), &mut out);
    assert!(fired(&out).is_empty());
    let mut y = x.clone();
    if let Some(f) = y.flow.as_mut() {
        f.key.vlan = [30, 0];
    }
    e.evaluate(&y, Some(&inv), &mut out);
    assert_eq!(
        fired(&out).len(),
        2,
        "both sides are in scope of an all-class rule"
    );
}

#[test]
fn countries_never_match_without_a_resolver_and_match_with_one() {
    // The GeoIP hook: without a resolver a country condition is false; with one it holds
    // and the country is evidence.
    struct Fixed;
    impl CountryResolver for Fixed {
        fn country(&self, _ip: IpAddr) -> Option<[u8; 2]> {
            Some(*b"KP")
        }
    }
    let cat = cat();
    let text = GOOD.replace("{services: [tcp/23]}", "{countries: [KP]}");
    let set = PolicySet::from_texts(&[("l.yaml".into(), text.clone())], cat).unwrap();
    assert_eq!(set.country_rules, vec!["local.x".to_string()]);
    let mut e = PolicyEngine::new(set, &PolicyConfig::default(), AlertConfig::default()).unwrap();
    let inv = inventory();
    let x = flow_ev(
        1,
        flow(
            (WS, "10.0.0.7", 1),
            (ROUTER, "198.51.100.1", 443),
            IpProto::TCP,
        ),
    );
    let mut out = Vec::new();
    e.evaluate(&x, Some(&inv), &mut out);
    assert!(out.is_empty());
    e.set_country_resolver(Box::new(Fixed));
    e.evaluate(&x, Some(&inv), &mut out);
    let EventKind::Alert(a) = &out[0].kind else {
        panic!()
    };
    assert_eq!(a.fact("peer_country"), Some("KP"));
    assert!(
        load_err(&GOOD.replace("{services: [tcp/23]}", "{countries: [germany]}"))
            .problem
            .contains("ISO 3166")
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Arbitrary text, and a valid rule file cut or mutated anywhere, never panics the
    /// loader: it gives rules or an error naming the file.
    #[test]
    fn policy_loader_never_panics(text in ".{0,300}", cut in 0usize..400, byte in 0u8..128) {
        for t in [text.clone(), {
            let mut g: Vec<u8> = GOOD.as_bytes().to_vec();
            let i = cut % g.len();
            g[i] = byte;
            String::from_utf8_lossy(&g[..]).into_owned()
        }, GOOD.chars().take(cut).collect::<String>()] {
            if let Err(e) = PolicySet::from_texts(&[("p.yaml".into(), t)], cat()) {
                proptest::prop_assert_eq!(e.file, "p.yaml");
            }
        }
    }
}

/// Differential test of the planned evaluation: rule sets built from random pieces (scopes,
/// deny and allow sets with services, directions, protocols, peers, facts, countries) and
/// random events between devices, routers and unknown hosts.
mod planned {
    use super::*;
    use proptest::prelude::*;

    const SCOPES: &[&str] = &[
        "{}",
        "{clinical: true}",
        "{classes: [pacs]}",
        "{classes: [infusion_pump, clinical_workstation]}",
        "{vlans: [30]}",
        "{subnets: [10.0.0.0/29]}",
        "{devices: ['PUMP']}",
    ];
    const SERVICES: &[&str] = &["tcp/23", "tcp/21", "udp/53", "tcp/400-500", "tcp/*"];
    const DIRECTIONS: &[&str] = &["", "outbound", "inbound", "any"];
    const PROTOS: &[&str] = &["telnet", "ftp", "http", "flow", "dicom", "smb"];
    const PEERS: &[&str] = &[
        "",
        "{location: external}",
        "{location: internal}",
        "{classes: [pacs]}",
        "{subnets: [10.0.0.0/30]}",
        "{devices: ['WS']}",
        "{location: internal, classes: [patient_monitor]}",
    ];
    const FACTS: &[&str] = &[
        "",
        "{smb.smb1: true}",
        "{dicom.command: C-MOVE-RQ, dicom.move_destination_known: false}",
        "{dicom.outcome: [rejected, accepted], dicom.calling_ae_known: false}",
        "{telnet.cleartext_credentials: true}",
        "{http.credentials_present: false}",
        "{tls.sni_present: true}",
    ];
    const ONS: &[&str] = &[
        "",
        "[flow]",
        "[flow, telnet, ftp]",
        "[flow, tls, http, smb, dicom]",
    ];

    /// One condition set: indexes into the tables above plus bit sets of services/protocols.
    type SetDef = (u8, usize, u8, usize, usize, bool);

    fn set_yaml((svc, dir, protos, peer, fact, country): SetDef) -> String {
        let mut parts = Vec::new();
        let pick = |bits: u8, t: &[&str]| -> Vec<String> {
            t.iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, s)| s.to_string())
                .collect()
        };
        let s = pick(svc, SERVICES);
        if !s.is_empty() {
            parts.push(format!("services: [{}]", s.join(", ")));
        }
        let d = DIRECTIONS[dir % DIRECTIONS.len()];
        if !d.is_empty() {
            parts.push(format!("direction: {d}"));
        }
        let p = pick(protos, PROTOS);
        if !p.is_empty() {
            parts.push(format!("app_protos: [{}]", p.join(", ")));
        }
        let pe = PEERS[peer % PEERS.len()];
        if !pe.is_empty() {
            parts.push(format!("peer: {pe}"));
        }
        let f = FACTS[fact % FACTS.len()];
        if !f.is_empty() {
            parts.push(format!("facts: {f}"));
        }
        if country {
            parts.push("countries: [KP]".into());
        }
        format!("{{{}}}", parts.join(", "))
    }

    /// A rule's YAML (`n` makes id and signature id unique).
    fn rule_yaml(n: usize, scope: usize, on: usize, deny: bool, sets: &[SetDef]) -> String {
        let scope = SCOPES[scope % SCOPES.len()]
            .replace("PUMP", &pump_id())
            .replace("WS", &crate::inventory::mac_id(MacAddr(WS)));
        let on = ONS[on % ONS.len()];
        let on = if on.is_empty() {
            String::new()
        } else {
            format!("    on: {on}\n")
        };
        let sets: Vec<String> = sets
            .iter()
            .map(|s| {
                set_yaml(*s).replace(
                    "'WS'",
                    &format!("'{}'", crate::inventory::mac_id(MacAddr(WS))),
                )
            })
            .collect();
        format!(
            "  - id: local.r{n}\n    signature_id: {}\n    severity: 2\n    description: r{n}\n    scope: {scope}\n{on}    {}: [{}]\n",
            9_110_000 + n,
            if deny { "deny" } else { "allow" },
            sets.join(", ")
        )
    }

    struct Fixed;
    impl CountryResolver for Fixed {
        fn country(&self, ip: IpAddr) -> Option<[u8; 2]> {
            (ip.to_string() == "203.0.113.9").then_some(*b"KP")
        }
    }

    /// Endpoints: devices of the inventory, a router towards public and private addresses,
    /// and an unknown host without a MAC.
    fn endpoint(i: usize) -> (Option<[u8; 6]>, &'static str) {
        match i % 8 {
            0 => (Some(PUMP), "10.0.0.5"),
            1 => (Some(MONITOR), "10.0.0.6"),
            2 => (Some(WS), "10.0.0.7"),
            3 => (Some(PACS), "10.0.0.8"),
            4 => (Some(ROUTER), "203.0.113.9"),
            5 => (Some(ROUTER), "10.0.0.99"),
            6 => (None, "198.51.100.3"),
            _ => (None, "10.0.0.6"),
        }
    }

    /// (src, dst, udp, port, app_proto, kind, flag, vlan 30)
    type EvDef = (usize, usize, bool, usize, usize, usize, bool, bool);

    fn event(secs: i64, (s, d, udp, port, app, kind, flag, vlan): EvDef) -> Event {
        let (smac, sip) = endpoint(s);
        let (dmac, dip) = endpoint(d);
        let mut f = flow(
            (smac.unwrap_or([0; 6]), sip, 40000),
            (
                dmac.unwrap_or([0; 6]),
                dip,
                [21, 23, 53, 104, 443, 445, 450][port % 7],
            ),
            if udp { IpProto::UDP } else { IpProto::TCP },
        );
        f.src_mac = smac.map(MacAddr);
        f.dest_mac = dmac.map(MacAddr);
        f.app_proto = [
            None,
            Some("telnet"),
            Some("ftp"),
            Some("http"),
            Some("dicom"),
        ][app % 5];
        if vlan {
            f.key.vlan = [30, 0];
        }
        let kind = match kind % 10 {
            0 => EventKind::Telnet(Box::new(model::exposure::TelnetEvent {
                cleartext_credentials: flag,
                ..Default::default()
            })),
            1 => EventKind::Ftp(Box::default()),
            2 => EventKind::Smb(Box::new(SmbEvent {
                smb1: flag,
                ..SmbEvent::default()
            })),
            3 => EventKind::Http(Box::new(model::http::HttpEvent {
                credentials_present: flag,
                ..Default::default()
            })),
            4 => EventKind::Tls(Box::new(model::tls::TlsEvent {
                sni: flag.then(|| "x.example".to_string()),
                ..Default::default()
            })),
            5 => assoc(
                if flag { "WS01" } else { "SCANNER" },
                "PACS",
                if flag { "accepted" } else { "rejected" },
                flag,
            ),
            6 => cmove(if flag { "WS01" } else { "EVIL" }),
            _ => return flow_ev(secs, f),
        };
        ev(secs, f, kind)
    }

    fn set_def() -> impl Strategy<Value = SetDef> {
        (
            prop_oneof![Just(0u8), 0u8..32],
            0usize..4,
            prop_oneof![Just(0u8), 0u8..64],
            0usize..7,
            prop_oneof![Just(0usize), 0usize..7],
            proptest::bool::weighted(0.15),
        )
    }

    fn ev_def() -> impl Strategy<Value = EvDef> {
        (
            0usize..8,
            0usize..8,
            any::<bool>(),
            0usize..7,
            0usize..5,
            0usize..10,
            any::<bool>(),
            proptest::bool::weighted(0.2),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// The planned evaluation (type slots, event-wide bits, side masks before any device
        /// lookup) writes exactly the alerts of the plain one, whatever the rules and
        /// events, with and without an inventory and a GeoIP resolver; the shipped rules are
        /// always in the set, the generated ones load one by one (those that do not load are
        /// left out).
        #[test]
        fn planned_evaluation_writes_what_plain_evaluation_writes(
            rules in proptest::collection::vec(
                (0usize..7, 0usize..4, proptest::bool::weighted(0.7),
                 proptest::collection::vec(set_def(), 1..4)),
                0..6),
            events in proptest::collection::vec(ev_def(), 1..40),
            with_inv in proptest::bool::weighted(0.8),
            geo in any::<bool>(),
        ) {
            let cat = cat();
            let mut texts: Vec<String> = Vec::new();
            for (n, (scope, on, deny, sets)) in rules.iter().enumerate() {
                let t = format!("policies:\n{}", rule_yaml(n, *scope, *on, *deny, sets));
                if PolicySet::from_texts(&[("g.yaml".into(), t.clone())], cat).is_ok() {
                    texts.push(t);
                }
            }
            let mut files: Vec<(String, String)> = super::super::SHIPPED
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect();
            for (i, t) in texts.into_iter().enumerate() {
                files.push((format!("g{i}.yaml"), t));
            }
            let set = PolicySet::from_texts(&files, cat).unwrap();
            let mk = || {
                let mut e = PolicyEngine::new(set.clone(), &PolicyConfig::default(), AlertConfig::default()).unwrap();
                if geo {
                    e.set_country_resolver(Box::new(Fixed));
                }
                e
            };
            let (mut fast, mut plain) = (mk(), mk());
            let inv = inventory();
            let inv = with_inv.then_some(&inv);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for (i, d) in events.iter().enumerate() {
                let x = event(i64::try_from(i).unwrap_or(0) * 7, *d);
                fast.evaluate(&x, inv, &mut a);
                plain.evaluate_plain(&x, inv, &mut b);
            }
            fast.finish(&mut a);
            plain.finish(&mut b);
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn generated_rules_and_events_do_fire() {
        // The generator is not vacuous: the shipped rules plus a generated deny rule on
        // every class fire on a pump's internet flow, a telnet session and an SMBv1 one.
        let text = format!(
            "policies:\n{}",
            rule_yaml(0, 0, 0, true, &[(1, 0, 0, 0, 0, false)])
        );
        let set = PolicySet::from_texts(&[("g.yaml".into(), text)], cat()).unwrap();
        assert_eq!(set.rules.len(), 1);
        let mut e =
            PolicyEngine::new(set, &PolicyConfig::default(), AlertConfig::default()).unwrap();
        let inv = inventory();
        let mut out = Vec::new();
        e.evaluate(
            &event(1, (2, 1, false, 1, 0, 7, false, false)),
            Some(&inv),
            &mut out,
        );
        assert_eq!(fired(&out).len(), 2, "{:?}", fired(&out));
        let mut e = engine();
        let mut out = Vec::new();
        e.evaluate(
            &event(1, (0, 4, false, 4, 0, 7, false, false)),
            Some(&inv),
            &mut out,
        );
        e.evaluate(
            &event(2, (0, 2, false, 5, 0, 2, true, false)),
            Some(&inv),
            &mut out,
        );
        assert_eq!(
            fired(&out),
            vec![
                ("policy.clinical_no_internet".to_string(), pump_id()),
                ("policy.clinical_no_smb1".to_string(), pump_id()),
            ]
        );
    }
}
