//! Baselines: learning then enforcing in capture time, operator commands, bounds against a
//! scanning device, YAML and store round trips.

use super::*;
use crate::alert::AlertConfig;
use crate::inventory::{Catalogue, Inventory, InventoryConfig};
use model::{FlowKey, FlowMeta, MacAddr, Timestamp};

const PUMP: [u8; 6] = [0x58, 0x42, 0xe4, 0, 0, 1];
const SERVER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x50];
const ROUTER: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];

fn cat() -> &'static Catalogue {
    crate::testutil::catalogue()
}

fn dev(mac: [u8; 6], ip: &str, class: &str) -> Device {
    crate::testutil::device(mac, ip, class, "high")
}

fn inventory() -> Inventory {
    let mut inv = Inventory::new(InventoryConfig::default(), cat().clone());
    inv.restore(vec![
        dev(PUMP, "10.1.0.10", "infusion_pump"),
        dev(SERVER, "10.1.0.50", "clinical_server"),
    ]);
    inv
}

fn pump() -> String {
    crate::inventory::mac_id(MacAddr(PUMP))
}

fn flow(secs: i64, dst_mac: [u8; 6], dst: &str, port: u16) -> Event {
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::TCP,
        src_ip: "10.1.0.10".parse().unwrap(),
        src_port: 40000,
        dst_ip: dst.parse().unwrap(),
        dst_port: port,
    };
    Event {
        ts: Timestamp::from_secs_micros(secs, 0),
        flow: Some(Box::new(FlowMeta {
            flow_id: key.flow_id(0),
            key,
            in_iface: "t".into(),
            src_mac: Some(MacAddr(PUMP)),
            dest_mac: Some(MacAddr(dst_mac)),
            app_proto: None,
        })),
        kind: EventKind::Flow(model::FlowRecord {
            pkts_toserver: 1,
            pkts_toclient: 1,
            bytes_toserver: 1,
            bytes_toclient: 1,
            start: Timestamp::ZERO,
            end: Timestamp::ZERO,
            age: 0,
            state: model::FlowState::Closed,
            reason: model::FlowEndReason::Shutdown,
            stream: None,
            tcp: None,
        }),
    }
}

fn cfg(learning_secs: u64, max_items: usize) -> BaselineConfig {
    BaselineConfig {
        learning_secs,
        max_items,
        ..BaselineConfig::default()
    }
}

struct Rig {
    b: Baselines,
    inv: Inventory,
    alerts: AlertEngine,
    out: Vec<Event>,
}

impl Rig {
    fn new(c: BaselineConfig) -> Rig {
        Rig {
            b: Baselines::new(c, Vec::new()),
            inv: inventory(),
            alerts: AlertEngine::new(AlertConfig {
                dedup_window_secs: 0,
                ..AlertConfig::default()
            }),
            out: Vec::new(),
        }
    }
    fn see(&mut self, e: Event) {
        self.b
            .observe(&e, &self.inv, &mut self.alerts, &mut self.out);
    }
    /// (rule, device, item) of alerts so far.
    fn fired(&self) -> Vec<(String, String, String)> {
        self.out
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Alert(a) => Some((
                    a.rule.clone(),
                    a.device.as_ref().map(|d| d.id.clone()).unwrap_or_default(),
                    a.fact("item").unwrap_or_default().to_string(),
                )),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn learns_during_the_period_then_alerts_on_deviations_only() {
    // What the pump did while learning is normal afterwards; a new external peer and a new
    // service after the period alert (for the pump, and the server learns its side too).
    let mut r = Rig::new(cfg(3600, 64));
    r.see(flow(0, SERVER, "10.1.0.50", 443));
    r.see(flow(100, ROUTER, "203.0.113.7", 443));
    assert!(r.fired().is_empty());
    let b = r.b.get(&pump()).unwrap();
    assert_eq!(b.state, State::Learning);
    assert!(b.contains(
        "peers",
        &format!("dev:{}", crate::inventory::mac_id(MacAddr(SERVER)))
    ));
    assert!(b.contains("external_peers", "net:203.0.113.0/24"));
    assert!(b.contains("services", "tcp/443/out"));
    // After the period: the same traffic is quiet, and the /24 covers a neighbour.
    r.see(flow(4000, SERVER, "10.1.0.50", 443));
    r.see(flow(4001, ROUTER, "203.0.113.99", 443));
    assert!(r.fired().is_empty(), "{:?}", r.fired());
    assert_eq!(r.b.get(&pump()).unwrap().state, State::Enforcing);
    r.see(flow(4002, ROUTER, "198.51.100.1", 443));
    r.see(flow(4003, SERVER, "10.1.0.50", 8080));
    assert_eq!(
        r.fired(),
        vec![
            (
                "baseline.new_external_peer".into(),
                pump(),
                "net:198.51.100.0/24".into()
            ),
            ("baseline.new_service".into(), pump(), "tcp/8080/out".into()),
            // The server's side: it never served 8080 before.
            (
                "baseline.new_service".into(),
                crate::inventory::mac_id(MacAddr(SERVER)),
                "tcp/8080/in".into()
            ),
        ]
    );
    // Deviations are not added: the same one alerts again (dedup is the alert engine's).
    let before = r.b.get(&pump()).unwrap().len();
    r.see(flow(4004, ROUTER, "198.51.100.1", 443));
    assert_eq!(r.b.get(&pump()).unwrap().len(), before);
    assert_eq!(r.fired().len(), 4);
}

#[test]
fn lock_approve_relearn_are_recorded_with_who_and_when() {
    // Lock enforces at once; approve adds the entry (no alert afterwards); relearn clears
    // and learns again from the next event; each is in the history with who and when.
    let mut r = Rig::new(cfg(1_000_000, 64));
    r.see(flow(0, SERVER, "10.1.0.50", 443));
    let p = pump();
    assert_eq!(
        r.b.apply(&Command::Lock { device: p.clone() }, "alice", 1_700_000_000),
        Ok(1)
    );
    r.see(flow(10, SERVER, "10.1.0.50", 22));
    // The pump's deviation alerts; the server (still learning) learns its side.
    assert_eq!(r.fired().len(), 1, "{:?}", r.fired());
    r.b.apply(
        &Command::Approve {
            device: p.clone(),
            kind: "services".into(),
            item: "tcp/22/out".into(),
        },
        "bob",
        1_700_000_100,
    )
    .unwrap();
    r.see(flow(11, SERVER, "10.1.0.50", 22));
    assert_eq!(r.fired().len(), 1, "approved: no alert");
    r.b.apply(
        &Command::Relearn { device: p.clone() },
        "carol",
        1_700_000_200,
    )
    .unwrap();
    r.see(flow(5000, SERVER, "10.1.0.50", 9999));
    let b = r.b.get(&p).unwrap();
    assert_eq!(b.state, State::Learning);
    assert_eq!(b.first_seen_us, 5_000_000_000);
    assert!(b.contains("services", "tcp/9999/out"));
    let h: Vec<(&str, &str, i64)> = b
        .history
        .iter()
        .map(|c| (c.action.as_str(), c.who.as_str(), c.at))
        .collect();
    assert_eq!(
        h,
        vec![
            ("lock", "alice", 1_700_000_000),
            ("approve", "bob", 1_700_000_100),
            ("relearn", "carol", 1_700_000_200)
        ]
    );
    // Bad commands are refused with the reason.
    assert!(r
        .b
        .apply(
            &Command::Lock {
                device: "nope".into()
            },
            "x",
            0
        )
        .unwrap_err()
        .contains("no baseline"));
    assert!(r
        .b
        .apply(
            &Command::Approve {
                device: p,
                kind: "colours".into(),
                item: "x".into()
            },
            "x",
            0
        )
        .unwrap_err()
        .contains("unknown kind"));
}

#[test]
fn scanning_device_is_bounded_summarised_and_alerts_once() {
    // A pump sweeping 100,000 addresses of 10/8 while learning: its peers are summarised
    // into /16s and stay within the cap, without overflow. Scanning 100,000 addresses all
    // over the internet overflows: the baseline stops growing and one alert says so.
    let mut r = Rig::new(cfg(1_000_000, 32));
    for i in 0..100_000u32 {
        let ip = std::net::Ipv4Addr::from(0x0a00_0000u32 + i * 7);
        r.see(flow(1, ROUTER, &ip.to_string(), 80));
    }
    let b = r.b.get(&pump()).unwrap();
    assert!(!b.overflowed);
    assert!(b.sets.count("peers") <= 32);
    assert!(
        b.sets.contains("peers", "net:10.1.0.0/16"),
        "{:?}",
        b.sets.entries_of("peers")
    );
    assert!(r.fired().is_empty());
    for i in 0..100_000u32 {
        let ip = std::net::Ipv4Addr::from(i.wrapping_mul(2_654_435_761) | 0x0100_0000);
        r.see(flow(2, ROUTER, &ip.to_string(), 80));
    }
    let b = r.b.get(&pump()).unwrap();
    assert!(b.overflowed);
    for (_, n) in b.sets.counts() {
        assert!(n <= 32, "{n}");
    }
    let f = r.fired();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "baseline.overflow");
}

#[test]
fn class_learning_secs_overrides_the_learning_period_by_class() {
    // Pumps learn for two hours, others for one: at 1.5 h a new peer of the pump is
    // learned quietly while the server's new peer alerts; an unknown class is refused.
    let mut c = cfg(3600, 64);
    c.class_learning_secs.insert("infusion_pump".into(), 7200);
    assert!(c.validate().is_ok());
    assert_eq!(c.learning_us("infusion_pump"), 7_200_000_000);
    assert_eq!(c.learning_us("clinical_server"), 3_600_000_000);
    let mut r = Rig::new(c.clone());
    r.see(flow(0, SERVER, "10.1.0.50", 443));
    r.see(flow(5400, SERVER, "10.1.0.50", 8443));
    let fired = r.fired();
    assert!(
        fired.iter().all(|(_, d, _)| d != &pump()),
        "the pump still learns: {fired:?}"
    );
    assert!(
        fired
            .iter()
            .any(|(rule, d, _)| rule == "baseline.new_service"
                && d == &crate::inventory::mac_id(MacAddr(SERVER))),
        "{fired:?}"
    );
    let b = r.b.get(&pump()).unwrap();
    assert_eq!(b.learn_until_us, 7_200_000_000);
    assert!(b.contains("services", "tcp/8443/out"));
    c.class_learning_secs.insert("toaster".into(), 1);
    let e = c.validate().unwrap_err();
    assert!(e.contains("unknown class `toaster`"), "{e}");
}

/// A flow record of the pump to its server carrying `bytes` (to the server).
fn bulk(secs: i64, bytes: u64) -> Event {
    let mut e = flow(secs, SERVER, "10.1.0.50", 443);
    if let EventKind::Flow(f) = &mut e.kind {
        f.end = Timestamp::from_secs_micros(secs, 0);
        f.bytes_toserver = bytes;
        f.bytes_toclient = 0;
    }
    e
}

/// (hour bytes, learned max) of the pump's volume alerts.
fn volume_alerts(r: &Rig) -> Vec<(String, String)> {
    r.out
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Alert(a)
                if a.rule == VOLUME.0 && a.device.as_ref().is_some_and(|d| d.id == pump()) =>
            {
                Some((
                    a.fact("hour_bytes").unwrap_or_default().to_string(),
                    a.fact("learned_max_bytes").unwrap_or_default().to_string(),
                ))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn volume_learns_the_largest_hour_then_alerts_once_per_hour_above_tolerance() {
    // Learned largest hour 1000 bytes, tolerance 1.0: an enforced hour alerts when it
    // passes 2000 (once, however much more comes), the next hour may alert again, and
    // an hour under the floor never alerts.
    let h = 3600;
    let mut c = cfg(3 * 3600, 64);
    c.volume_tolerance = 1.0;
    c.volume_min_bytes = 1000;
    let mut r = Rig::new(c.clone());
    r.see(bulk(10, 400));
    r.see(bulk(20, 400));
    r.see(bulk(h + 10, 1000));
    r.see(bulk(2 * h + 10, 200));
    let v = r.b.get(&pump()).unwrap().volume.clone().unwrap();
    assert_eq!((v.learned_max_bytes, v.learned_hours), (1000, 3));
    r.see(bulk(3 * h + 10, 1500));
    assert!(volume_alerts(&r).is_empty(), "within tolerance");
    r.see(bulk(3 * h + 20, 600));
    r.see(bulk(3 * h + 30, 5000));
    r.see(bulk(4 * h + 10, 2500));
    // A record more than VOLUME_HOURS behind is not counted; one an hour late is.
    r.see(bulk(-10 * h, 1_000_000));
    r.see(bulk(3 * h + 40, 1));
    assert_eq!(
        volume_alerts(&r),
        vec![
            ("2100".to_string(), "1000".to_string()),
            ("2500".to_string(), "1000".to_string())
        ]
    );
    // The server saw the same bytes: its own baseline alerts alike.
    assert_eq!(r.b.deviations, 4);
    // The floor: the same traffic with a 1 MB floor is quiet.
    c.volume_min_bytes = 1_000_000;
    let mut q = Rig::new(c);
    for (t, n) in [(10, 1000), (3 * h + 10, 50_000)] {
        q.see(bulk(t, n));
    }
    assert!(volume_alerts(&q).is_empty());
    // Relearn forgets the volume with the rest.
    r.b.apply(&Command::Relearn { device: pump() }, "bob", 9)
        .unwrap();
    assert_eq!(r.b.get(&pump()).unwrap().volume, None);
}

#[test]
fn yaml_export_import_round_trips_and_rejects_unknown_kinds() {
    // An export read back gives the same baselines; a typo'd kind or field is an error
    // naming the file and line.
    let mut r = Rig::new(cfg(3600, 64));
    r.see(flow(0, SERVER, "10.1.0.50", 443));
    r.b.apply(&Command::Lock { device: pump() }, "alice", 5)
        .unwrap();
    let all: Vec<DeviceBaseline> = r.b.all().into_iter().cloned().collect();
    let y = to_yaml(&all).unwrap();
    assert_eq!(from_yaml("b.yaml", &y).unwrap(), all);
    assert!(y.contains("learned_max_bytes: 2"), "{y}");
    let bad = y.replace("services:", "servicez:");
    let e = from_yaml("b.yaml", &bad).unwrap_err();
    assert!(
        e.starts_with("b.yaml:") && e.contains("unknown kind `servicez`"),
        "{e}"
    );
    let bad = y.replace("state:", "stat:");
    let e = from_yaml("b.yaml", &bad).unwrap_err();
    assert!(e.starts_with("b.yaml:") && e.contains("stat"), "{e}");
}

#[test]
fn store_keeps_baselines_and_applies_queued_commands_once() {
    // Saved baselines load back equal; a queued command is read back and, once committed
    // as applied, is gone (a crash before the commit would apply it again, never lose it).
    let dir = tempfile::tempdir().unwrap();
    let mut s = crate::store::Store::open(dir.path()).unwrap();
    assert!(store::load(&mut s).unwrap().baselines.is_empty());
    let mut r = Rig::new(cfg(3600, 64));
    r.see(flow(0, SERVER, "10.1.0.50", 443));
    let up = r.b.take_changes();
    assert_eq!(up.len(), 2);
    store::save(&mut s, &up).unwrap();
    let mut ro = crate::store::Store::open_read_only(dir.path()).unwrap();
    assert_eq!(store::load(&mut ro).unwrap().baselines, up);
    store::queue(&mut s, "alice", 7, &Command::Lock { device: "*".into() }).unwrap();
    let (q, bad) = store::pending(&mut s).unwrap();
    assert!(bad.is_empty());
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].who.as_str(), q[0].at), ("alice", 7));
    let mut b = Baselines::new(cfg(3600, 64), Vec::new());
    b.restore(store::load(&mut s).unwrap().baselines);
    assert_eq!(b.apply(&q[0].command, &q[0].who, q[0].at), Ok(2));
    store::commit_applied(&mut s, &b.take_changes(), &[q[0].seq]).unwrap();
    assert!(store::pending(&mut s).unwrap().0.is_empty());
    assert!(store::load(&mut s)
        .unwrap()
        .baselines
        .iter()
        .all(|x| x.state == State::Locked));
}

#[test]
fn hl7_with_phi_to_a_peer_outside_an_enforced_baseline_fires() {
    // PHI to the learned server is fine; PHI to a new peer fires the policy; a message
    // without PHI to the new peer does not (the new peer itself is baseline.new_peer's job
    // on the flow event).
    let mut r = Rig::new(cfg(1_000_000, 64));
    r.see(flow(0, SERVER, "10.1.0.50", 2575));
    r.b.apply(&Command::Lock { device: "*".into() }, "t", 0)
        .unwrap();
    let msg = |secs: i64, dst_mac: [u8; 6], dst: &str, phi: bool| {
        let mut e = flow(secs, dst_mac, dst, 2575);
        let mut h = model::hl7::Hl7Event::new(model::Direction::ToServer, "mllp");
        h.set(model::hl7::Hl7Text::SendingApplication, Some("PUMP"));
        h.set(model::hl7::Hl7Text::ReceivingApplication, Some("SRV"));
        h.set(model::hl7::Hl7Text::MessageType, Some("ORU^R01"));
        if phi {
            h.add_phi_field(b"PID", 5);
        }
        e.kind = EventKind::Hl7(Box::new(h));
        e
    };
    r.b.apply(
        &Command::Approve {
            device: pump(),
            kind: "hl7_types".into(),
            item: "PUMP>SRV ORU^R01".into(),
        },
        "t",
        0,
    )
    .unwrap();
    r.see(msg(1, SERVER, "10.1.0.50", true));
    assert!(r.fired().is_empty(), "{:?}", r.fired());
    r.see(msg(2, ROUTER, "10.9.9.9", false));
    assert!(r.fired().is_empty(), "{:?}", r.fired());
    r.see(msg(3, ROUTER, "10.9.9.9", true));
    let f = r.fired();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "policy.hl7_phi_outside_baseline");
    let EventKind::Alert(a) = &r.out[0].kind else {
        panic!()
    };
    assert_eq!(a.fact("peer"), Some("net:10.9.9.0/24"));
    assert_eq!(a.severity, 1);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Arbitrary text given to `wardwatch baseline import` never panics the YAML reader.
    #[test]
    fn baseline_yaml_reader_never_panics(text in ".{0,400}") {
        if let Err(e) = from_yaml("i.yaml", &text) {
            proptest::prop_assert!(e.starts_with("i.yaml"));
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
    /// Flow records at any capture time (out of order, far apart, negative) with any byte
    /// counts never panic the volume baseline, keep at most VOLUME_HOURS + 1 hours, and
    /// alert at most once per device and hour.
    #[test]
    fn volume_is_bounded_for_any_record_order(
        recs in proptest::collection::vec((-(1i64 << 40)..(1i64 << 40), proptest::num::u64::ANY), 1..64),
        lock_at in 0usize..64,
    ) {
        let mut c = cfg(1_000_000_000, 64);
        c.volume_min_bytes = 0;
        let mut r = Rig::new(c);
        for (i, (secs, bytes)) in recs.iter().enumerate() {
            if i == lock_at {
                let _ = r.b.apply(&Command::Lock { device: "*".into() }, "p", 0);
            }
            r.see(bulk(*secs, *bytes));
        }
        if let Some(v) = r.b.get(&pump()).and_then(|b| b.volume.as_ref()) {
            proptest::prop_assert!(v.recent.len() as i64 <= VOLUME_HOURS + 1);
            proptest::prop_assert!(v.recent.windows(2).all(|w| w[0].hour < w[1].hour));
        }
        let mut seen = std::collections::BTreeSet::new();
        for e in &r.out {
            if let EventKind::Alert(a) = &e.kind {
                if a.rule == VOLUME.0 {
                    let key = (
                        a.device.as_ref().map(|d| d.id.clone()),
                        a.fact("hour_start").map(str::to_string),
                    );
                    proptest::prop_assert!(seen.insert(key));
                }
            }
        }
    }
}

#[test]
fn checkpoint_records_are_the_baselines_and_requeue_keeps_them() {
    // Records written from the baselines in place load back as the baselines themselves;
    // taken records are gone until a failed write puts them back.
    let dir = tempfile::tempdir().unwrap();
    let mut s = crate::store::Store::open(dir.path()).unwrap();
    let mut r = Rig::new(cfg(3600, 64));
    r.see(flow(0, SERVER, "10.1.0.50", 443));
    let want: Vec<DeviceBaseline> = r.b.all().into_iter().cloned().collect();
    let recs = r.b.take_records().unwrap();
    assert_eq!(recs.len(), 2);
    assert!(r.b.take_records().unwrap().is_empty());
    r.b.requeue_records(&recs);
    let again = r.b.take_records().unwrap();
    assert_eq!(
        again.iter().map(|x| &x.json).collect::<Vec<_>>(),
        recs.iter().map(|x| &x.json).collect::<Vec<_>>()
    );
    store::save_records(&mut s, &again).unwrap();
    assert_eq!(store::load(&mut s).unwrap().baselines, want);
}

#[test]
fn restored_baselines_are_found_by_the_devices_inventory_key() {
    // A baseline restored (or imported) under a device's id is the one its events use: a
    // locked one alerts on a new service, learns nothing and no second baseline appears;
    // the peer entry `dev:<server id>` matches the server's key.
    let mut r = Rig::new(cfg(3600, 64));
    r.see(flow(0, SERVER, "10.1.0.50", 443));
    let mut all: Vec<DeviceBaseline> = r.b.all().into_iter().cloned().collect();
    for b in &mut all {
        b.state = State::Locked;
    }
    let server_id = crate::inventory::mac_id(MacAddr(SERVER));
    assert!(all
        .iter()
        .any(|b| b.device == pump() && b.contains("peers", &format!("dev:{server_id}"))));
    let mut r2 = Rig::new(cfg(3600, 64));
    r2.b.restore(all);
    r2.see(flow(10, SERVER, "10.1.0.50", 443));
    assert!(r2.fired().is_empty(), "{:?}", r2.fired());
    r2.see(flow(20, SERVER, "10.1.0.50", 8443));
    assert_eq!(
        r2.fired(),
        vec![
            ("baseline.new_service".into(), pump(), "tcp/8443/out".into()),
            (
                "baseline.new_service".into(),
                server_id.clone(),
                "tcp/8443/in".into()
            ),
        ]
    );
    assert_eq!(r2.b.len(), 2);
    assert!(!r2
        .b
        .get(&pump())
        .unwrap()
        .contains("services", "tcp/8443/out"));
}

#[test]
fn restore_indexes_what_the_final_baselines_hold() {
    // Restoring many baselines into the shared index (a later baseline of the same device
    // replacing an earlier one, restores on top of existing baselines) leaves every
    // lookup answering what the final baselines' sets answer.
    let mut r = Rig::new(cfg(3600, 64));
    for (i, port) in [443u16, 104, 2575, 8080].into_iter().enumerate() {
        r.see(flow(i as i64, SERVER, "10.1.0.50", port));
    }
    r.see(flow(5, ROUTER, "8.8.8.8", 53));
    let all: Vec<DeviceBaseline> = r.b.all().into_iter().cloned().collect();
    assert!(all.len() >= 2);
    // The pump twice: first as learned, then with one service only (the later wins).
    let mut later = all
        .iter()
        .find(|b| b.device == pump())
        .cloned()
        .unwrap_or_else(|| DeviceBaseline::new("x", 0, 0));
    later.sets.map_mut().insert(
        "services".into(),
        ["tcp/104/out".to_string()].into_iter().collect(),
    );
    // As the store gives it back: packed, not sets.
    let later: DeviceBaseline =
        serde_json::from_str(&serde_json::to_string(&later).unwrap()).unwrap();
    let mut list = all.clone();
    list.push(later.clone());
    let probes = [
        (index::SERVICES, "tcp/443/out"),
        (index::SERVICES, "tcp/104/out"),
        (index::SERVICES, "tcp/2575/out"),
        (index::SERVICES, "tcp/443/in"),
        (index::PEERS, "net:10.1.0.0/24"),
        (index::EXTERNAL_PEERS, "net:8.8.8.0/24"),
    ];
    let check = |b: &Baselines| {
        assert_eq!(b.len(), all.len());
        for (i, s) in b.slots.iter().enumerate() {
            let want = if s.b.device == pump() { &later } else { &s.b };
            assert_eq!(&s.b.sets, &want.sets);
            for set in want.sets.to_map().iter() {
                for t in set.1 {
                    let k = index::kind_of(set.0).unwrap_or(index::TLS_SNI);
                    assert!(b.idx.contains_at(&b.seed, i, k, KeyRef::parse(k, t)), "{t}");
                }
            }
            for (k, t) in probes {
                assert_eq!(
                    b.idx.contains_at(&b.seed, i, k, KeyRef::parse(k, t)),
                    want.contains(index::kind_name(k), t),
                    "{} {t}",
                    s.b.device
                );
            }
        }
    };
    let mut b = Baselines::new(cfg(3600, 64), Vec::new());
    b.restore(list);
    check(&b);
    // Restored again on top: the existing baselines are replaced in place.
    b.restore(vec![later.clone()]);
    check(&b);
}

#[test]
fn prefetch_hints_cover_the_cells_a_flow_check_reads() {
    // For a flow between two inventoried devices with baselines, the guessed addresses
    // include the home cell of every entry the check looks up (each side's peer and
    // service): the guess builds the same keys as the check.
    let mut r = Rig::new(cfg(3600, 64));
    let e = flow(0, SERVER, "10.1.0.50", 443);
    r.see(flow(0, SERVER, "10.1.0.50", 443));
    let mut hints = Vec::new();
    r.b.prefetch_hints(&e, |p| hints.push(p));
    let mut want = Vec::new();
    for (i, s) in r.b.slots.iter().enumerate() {
        for (name, set) in &s.b.sets.to_map() {
            let k = index::kind_of(name).unwrap_or(index::TLS_SNI);
            for t in set {
                want.push(r.b.idx.hint(&r.b.seed, i, k, KeyRef::parse(k, t)));
            }
        }
    }
    // Pump: peer + service; server: peer + service.
    assert_eq!(want.len(), 4);
    for w in want {
        assert!(!w.is_null() && hints.contains(&w));
    }
    // The lifecycle fields every check reads, and the volume (a flow record adds to it);
    // the next call hints the latest hour each side's volume holds.
    let mut hours = Vec::new();
    for s in &r.b.slots {
        let b = &s.b;
        for p in [
            (&b.state as *const State).cast::<u8>(),
            (&b.relearn_pending as *const bool).cast(),
            (&b.learn_until_us as *const i64).cast(),
            (&b.volume as *const Option<Volume>).cast(),
        ] {
            assert!(hints.contains(&p));
        }
        let last = b.volume.as_ref().and_then(|v| v.recent.last());
        hours.push(last.map(|h| (h as *const HourBytes).cast::<u8>()));
    }
    assert_eq!(hours.len(), 2);
    hints.clear();
    r.b.prefetch_hints(&flow(1, SERVER, "10.1.0.50", 443), |p| hints.push(p));
    for h in hours {
        assert!(h.is_some_and(|h| hints.contains(&h)), "{h:?} {hints:?}");
    }
}

#[test]
fn an_hl7_message_is_not_prefetched() {
    // HL7 feeds are a few interfaces whose entries stay in cache: the prefetch builds no
    // entry for a message (its check still finds the learned type).
    let mut r = Rig::new(cfg(3600, 64));
    r.see(flow(0, SERVER, "10.1.0.50", 2575));
    let mut e = flow(1, SERVER, "10.1.0.50", 2575);
    let mut h = model::hl7::Hl7Event::new(model::Direction::ToServer, "mllp");
    h.set(model::hl7::Hl7Text::SendingApplication, Some("PUMP"));
    h.set(model::hl7::Hl7Text::ReceivingApplication, Some("SRV"));
    h.set(model::hl7::Hl7Text::MessageType, Some("ORU^R01"));
    e.kind = EventKind::Hl7(Box::new(h));
    let again = Event {
        ts: e.ts,
        flow: e.flow.clone(),
        kind: e.kind.clone(),
    };
    r.see(e);
    assert!(r
        .b
        .get(&pump())
        .is_some_and(|b| b.contains("hl7_types", "PUMP>SRV ORU^R01")));
    // A call after a flow's hints its volume hours first; a second call starts clean.
    let mut hints = Vec::new();
    r.b.prefetch_hints(&again, |p| hints.push(p));
    hints.clear();
    r.b.prefetch_hints(&again, |p| hints.push(p));
    assert!(hints.is_empty(), "{hints:?}");
}

#[test]
fn prefetch_hints_cover_a_dns_name_and_then_its_text() {
    // A DNS query's name is hinted at its home cell, lowercased as the check looks it up,
    // and the next call hints the name's bytes kept aside (the cell has arrived by then).
    let mut r = Rig::new(cfg(3600, 64));
    let mut e = flow(0, SERVER, "10.1.0.50", 53);
    e.kind = EventKind::Dns(Box::new(model::dns::DnsEvent {
        kind: "query",
        queries: vec![model::dns::DnsQuery {
            rrname: "PACS.Hosp.Example".into(),
            rrtype: "A".into(),
        }],
        ..Default::default()
    }));
    r.see(flow(0, SERVER, "10.1.0.50", 53));
    let dns = Event {
        ts: e.ts,
        flow: e.flow.clone(),
        kind: e.kind.clone(),
    };
    r.see(dns);
    let i = r.b.ids.get(&pump()).copied().unwrap_or(usize::MAX);
    assert!(r
        .b
        .get(&pump())
        .is_some_and(|b| b.contains("dns_names", "pacs.hosp.example")));
    let key = KeyRef::Text("pacs.hosp.example");
    let cell = r.b.idx.hint(&r.b.seed, i, index::DNS_NAMES, key);
    let mut hints = Vec::new();
    r.b.prefetch_hints(&e, |p| hints.push(p));
    assert!(!cell.is_null() && hints.contains(&cell), "{hints:?}");
    // The entry's text is kept aside; the next call hints it, found from the home cell
    // (wherever the probe put the entry).
    let at = r.b.idx.position(&r.b.seed, i, index::DNS_NAMES, key);
    let text = at.and_then(|c| r.b.idx.text_of_cell(c));
    assert!(text.is_some());
    hints.clear();
    r.b.prefetch_hints(&flow(1, SERVER, "10.1.0.50", 443), |p| hints.push(p));
    assert_eq!(hints.first().copied(), text);
}

#[test]
fn text_hints_find_entries_past_their_home_cell() {
    // Many names in one small table: linear probing puts some past their home cell. The
    // text hinted for each is its own, never another entry's.
    let rs = foldhash::fast::RandomState::default();
    let mut ix = index::Index::default();
    let names: Vec<String> = (0..200).map(|n| format!("host-{n}.hosp.example")).collect();
    for n in &names {
        ix.insert_text_at(&rs, 3, index::DNS_NAMES, n);
    }
    let mut displaced = 0;
    for n in &names {
        let key = KeyRef::Text(n);
        let (home, hash) = ix.start(&rs, 3, index::DNS_NAMES, key).unwrap();
        let at = ix.position(&rs, 3, index::DNS_NAMES, key).unwrap();
        displaced += usize::from(at != home);
        let want = ix.text_of_cell(at);
        assert!(want.is_some());
        let got = ix.text_of_entry(home, hash, 3, index::DNS_NAMES);
        // Found within four cells of home, or not hinted at all (never a wrong text).
        assert!(got == want || (got.is_none() && at.wrapping_sub(home) % ix.cells_len() >= 4));
        // The home line is hinted, and the next cell's when it begins another line.
        let lines = ix.lines_from(home);
        assert_eq!(lines[0], ix.cell_addr(home));
        if (lines[0] as usize) % 64 == 48 {
            assert_eq!(lines[1], ix.cell_addr((home + 1) % ix.cells_len()));
        } else {
            assert!(lines[1].is_null());
        }
        // Another baseline or kind never gets this entry's text.
        assert!(ix.text_of_entry(home, hash, 4, index::DNS_NAMES).is_none());
        assert!(ix.text_of_entry(home, hash, 3, index::TLS_SNI).is_none());
    }
    assert!(
        displaced > 0,
        "no entry past its home cell: the test checks nothing"
    );
}

#[test]
fn stored_records_of_earlier_versions_load_as_written() {
    // Records as earlier versions wrote them (and as an operator's tool may: spaces, an
    // entry twice, a kind twice, optional fields absent) load as before the sized reading
    // of sets and the borrowed rows; unreadable ones are skipped and counted.
    let dir = tempfile::tempdir().unwrap();
    let mut s = crate::store::Store::open(dir.path()).unwrap();
    let rec = |device: &str, json: &str| store::Record {
        device: device.into(),
        json: json.into(),
    };
    store::save_records(
        &mut s,
        &[
            rec(
                "00:03:b1:00:31:cd",
                r#"{"device":"00:03:b1:00:31:cd","state":"locked","first_seen_us":1740988800376298,"learn_until_us":1741593600376298,"relearn_pending":false,"overflowed":false,"sets":{"dns_names":["app-0002.hosp.example","pacs.hosp.example"],"peers":["dev:00:03:b1:03:61:e7","dev:ip:10.1.2.3","net:10.9.0.0/16"],"services":["tcp/443/out","udp/53/out"]},"volume":{"learned_max_bytes":12,"learned_hours":3,"recent":[{"hour":483607,"bytes":9,"alerted":false}]},"history":[{"action":"lock","who":"alice","at":1764300000}]}"#,
            ),
            rec(
                "pump-1",
                r#" { "device" : "pump-1", "state": "learning", "first_seen_us": 5, "learn_until_us": 9,
                  "sets": { "services": ["tcp/0443/out", "tcp/443/out", "tcp/443/out"],
                            "services": ["udp/53/in", "udp/53/in"], "tls_sni": [] } } "#,
            ),
            rec("broken", r#"{"device":"broken","state":"sleeping"}"#),
            rec("cut", r#"{"device":"cut","state":"locked","sets":{"peers":["dev:a""#),
        ],
    )
    .unwrap();
    let got = store::load(&mut s).unwrap();
    assert_eq!(got.bad_records, 2);
    let set = |v: &[&str]| v.iter().map(|x| (*x).to_string()).collect::<ItemSet>();
    let want = vec![
        DeviceBaseline {
            device: "00:03:b1:00:31:cd".into(),
            state: State::Locked,
            first_seen_us: 1_740_988_800_376_298,
            learn_until_us: 1_741_593_600_376_298,
            relearn_pending: false,
            overflowed: false,
            sets: Sets::from_map(BTreeMap::from([
                (
                    "dns_names".to_string(),
                    set(&["app-0002.hosp.example", "pacs.hosp.example"]),
                ),
                (
                    "peers".to_string(),
                    set(&[
                        "dev:00:03:b1:03:61:e7",
                        "dev:ip:10.1.2.3",
                        "net:10.9.0.0/16",
                    ]),
                ),
                ("services".to_string(), set(&["tcp/443/out", "udp/53/out"])),
            ])),
            volume: Some(Volume {
                learned_max_bytes: 12,
                learned_hours: 3,
                recent: vec![HourBytes {
                    hour: 483_607,
                    bytes: 9,
                    alerted: false,
                }],
            }),
            history: vec![Change {
                action: "lock".into(),
                who: "alice".into(),
                at: 1_764_300_000,
                detail: String::new(),
            }],
        },
        DeviceBaseline {
            device: "pump-1".into(),
            state: State::Learning,
            first_seen_us: 5,
            learn_until_us: 9,
            relearn_pending: false,
            overflowed: false,
            // The later `services` wins; duplicates are one entry.
            sets: Sets::from_map(BTreeMap::from([
                ("services".to_string(), set(&["udp/53/in"])),
                ("tls_sni".to_string(), set(&[])),
            ])),
            volume: None,
            history: Vec::new(),
        },
    ];
    assert_eq!(got.baselines, want);
    // Restored, the first one's entries are found by the keys events build.
    let mut b = Baselines::new(cfg(3600, 64), Vec::new());
    b.restore(got.baselines);
    assert_eq!(b.idx.len(), 7 + 1);
    for (k, key) in [
        (
            index::PEERS,
            KeyRef::Device(DevK(DevKey::Mac(0x0003_b103_61e7))),
        ),
        (
            index::PEERS,
            KeyRef::Device(DevK(DevKey::Ip([10, 1, 2, 3].into()))),
        ),
        (
            index::PEERS,
            KeyRef::Net(Subnet::new_masked([10, 9, 7, 7].into(), 16)),
        ),
        (
            index::SERVICES,
            KeyRef::Service {
                proto: index::Proto::Tcp,
                port: 443,
                out: true,
            },
        ),
        (index::DNS_NAMES, KeyRef::Text("pacs.hosp.example")),
    ] {
        assert!(b.idx.contains_at(&b.seed, 0, k, key), "{}", key.text());
    }
}

#[test]
fn a_record_naming_thousands_of_kinds_is_refused() {
    // Ten kinds exist; a hostile record naming 50,000 is an error, read in linear time.
    let kinds: Vec<String> = (0..50_000).map(|i| format!("\"k{i}\":[\"x\"]")).collect();
    let rec = format!(
        r#"{{"device":"d","state":"locked","first_seen_us":0,"learn_until_us":0,"sets":{{{}}}}}"#,
        kinds.join(",")
    );
    let err = serde_json::from_str::<DeviceBaseline>(&rec)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("more than 64 kinds"), "{err}");
    // Sixty-four, a kind given twice among them, still read.
    let kinds: Vec<String> = (0..64)
        .chain([0])
        .map(|i| format!("\"k{i}\":[\"x\"]"))
        .collect();
    let rec = format!(
        r#"{{"device":"d","state":"locked","first_seen_us":0,"learn_until_us":0,"sets":{{{}}}}}"#,
        kinds.join(",")
    );
    let b: DeviceBaseline = serde_json::from_str(&rec).unwrap();
    assert_eq!(b.sets.kinds().len(), 64);
}

/// A `sets` value written by hand: kinds in the order given (a kind may come twice).
fn sets_json(sets: &[(u8, Vec<u8>)]) -> String {
    const ENTRIES: [&str; 6] = [
        "tcp/443/out",
        "dev:00:1a:2b:3c:4d:5e",
        "pacs.hosp.example",
        "a \\\"quoted\\\" name",
        "",
        "net:10.1.2.0/24",
    ];
    let kinds = ["peers", "services", "dns_names", "x"];
    let body: Vec<String> = sets
        .iter()
        .map(|(k, items)| {
            let items: Vec<String> = items
                .iter()
                .map(|i| format!("\"{}\"", ENTRIES[usize::from(*i) % ENTRIES.len()]))
                .collect();
            format!(
                "\"{}\":[{}]",
                kinds[usize::from(*k) % kinds.len()],
                items.join(",")
            )
        })
        .collect();
    format!("{{{}}}", body.join(","))
}

proptest::proptest! {
    #[test]
    fn packed_sets_answer_as_the_derived_reading(
        sets in proptest::collection::vec(
            (0u8..4, proptest::collection::vec(0u8..6, 0..40)),
            0..6,
        ),
    ) {
        // Sets read packed (from JSON records and YAML imports alike) answer what serde's
        // own reading of a map of sets answers (duplicates, a kind twice, escapes, empty
        // sets): equality, counts, membership, the written form, the index built from
        // them (each entry once: removing them empties it), and the sets they become.
        let sets = sets_json(&sets);
        let want: BTreeMap<String, ItemSet> = serde_json::from_str(&sets).unwrap();
        let as_map = Sets::from_map(want.clone());
        let rec = format!(
            r#"{{"device":"d","state":"locked","first_seen_us":0,"learn_until_us":0,"sets":{sets}}}"#
        );
        let json: DeviceBaseline = serde_json::from_str(&rec).unwrap();
        let yaml: DeviceBaseline = serde_yaml_ng::from_str(&rec).unwrap();
        let rs = foldhash::fast::RandomState::default();
        let want_ix = Index::build(&rs, &as_map);
        for packed in [&json.sets, &yaml.sets] {
            proptest::prop_assert_eq!(&packed.to_map(), &want);
            proptest::prop_assert_eq!(packed, &as_map);
            proptest::prop_assert_eq!(packed.len(), as_map.len());
            proptest::prop_assert_eq!(packed.is_empty(), as_map.is_empty());
            proptest::prop_assert_eq!(packed.counts(), as_map.counts());
            proptest::prop_assert_eq!(packed.kinds(), as_map.kinds());
            proptest::prop_assert_eq!(
                serde_json::to_string(packed).unwrap(),
                serde_json::to_string(&as_map).unwrap()
            );
            let mut ix = Index::build(&rs, packed);
            proptest::prop_assert_eq!(ix.len(), want_ix.len());
            for (name, set) in &want {
                let k = index::kind_of(name).unwrap_or(index::TLS_SNI);
                for t in set {
                    proptest::prop_assert!(packed.contains(name, t));
                    if index::kind_of(name).is_some() {
                        proptest::prop_assert!(ix.contains(&rs, k, KeyRef::parse(k, t)));
                    }
                }
                proptest::prop_assert_eq!(packed.count(name), set.len());
                let mut a = packed.entries_of(name);
                let mut b = as_map.entries_of(name);
                a.sort_unstable();
                b.sort_unstable();
                proptest::prop_assert_eq!(a, b);
            }
            ix.remove_sets(&rs, 0, packed);
            proptest::prop_assert_eq!(ix.len(), 0);
            let mut changed = packed.clone();
            proptest::prop_assert_eq!(&*changed.map_mut(), &want);
            proptest::prop_assert_eq!(&changed, &as_map);
        }
    }
}

#[test]
fn a_device_first_seen_asking_dns_learns_the_name() {
    // A device's first frame is often a DNS query, whose flow record comes only when the
    // flow ends: the inventory knows the asker from the query itself, so learning keeps
    // the name and, once locked, asking it again is no deviation (it was a false
    // `new_dns_name` for every name a device asked before its first flow record).
    const NEW: [u8; 6] = [0x58, 0x42, 0xe4, 0, 0, 9];
    let mut r = Rig::new(cfg(3600, 64));
    let query = |secs: i64| {
        let mut e = flow(secs, SERVER, "10.1.0.50", 53);
        if let Some(f) = e.flow.as_mut() {
            f.src_mac = Some(MacAddr(NEW));
            f.key.src_ip = "10.1.0.99".parse().unwrap();
        }
        e.kind = EventKind::Dns(Box::new(model::dns::DnsEvent {
            kind: "query",
            queries: vec![model::dns::DnsQuery {
                rrname: "pacs.hosp.example".into(),
                rrtype: "A".into(),
            }],
            ..Default::default()
        }));
        e
    };
    let mut derived = Vec::new();
    let first = query(0);
    r.inv.observe(&first, &mut derived);
    r.see(first);
    let id = crate::inventory::mac_id(MacAddr(NEW));
    assert!(r
        .b
        .get(&id)
        .is_some_and(|b| b.contains("dns_names", "pacs.hosp.example")));
    r.b.apply(&Command::Lock { device: id.clone() }, "test", 1)
        .unwrap();
    let again = query(7200);
    r.inv.observe(&again, &mut derived);
    r.see(again);
    assert_eq!(r.fired(), Vec::new());
    // A name it never asked is still a deviation.
    let mut other = query(7300);
    if let EventKind::Dns(d) = &mut other.kind {
        d.queries[0].rrname = "exfil.example.com".into();
    }
    r.inv.observe(&other, &mut derived);
    r.see(other);
    assert_eq!(r.fired().len(), 1);
}

#[test]
fn a_server_of_many_devices_keeps_them_as_subnets_at_the_cap() {
    // A syslog (or DNS) server every device talks to reaches the cap with device peers:
    // they are summarised into their /16 by the inventory's address of each, so the
    // baseline neither overflows nor alerts on the clients it learned, summarised or not;
    // after the period a device from another /16 still alerts.
    let mut r = Rig::new(cfg(3600, 32));
    let client = |i: u32| {
        (
            [0x58, 0x42, 0xe4, 1, (i >> 8) as u8, i as u8],
            format!("10.1.{}.{}", 1 + i / 200, 1 + i % 200),
        )
    };
    const FAR: [u8; 6] = [0x58, 0x42, 0xe4, 2, 0, 1];
    let mut devices = vec![
        dev(PUMP, "10.1.0.10", "infusion_pump"),
        dev(SERVER, "10.1.0.50", "clinical_server"),
        dev(FAR, "10.2.0.1", "infusion_pump"),
    ];
    for i in 0..100 {
        let (m, ip) = client(i);
        devices.push(dev(m, &ip, "infusion_pump"));
    }
    r.inv.restore(devices);
    let to_server = |secs: i64, mac: [u8; 6], ip: &str| {
        let mut e = flow(secs, SERVER, "10.1.0.50", 514);
        if let Some(f) = e.flow.as_mut() {
            f.src_mac = Some(MacAddr(mac));
            f.key.src_ip = ip.parse().unwrap();
        }
        e
    };
    for i in 0..100 {
        let (m, ip) = client(i);
        r.see(to_server(1, m, &ip));
    }
    let server = crate::inventory::mac_id(MacAddr(SERVER));
    let b = r.b.get(&server).unwrap();
    assert!(!b.overflowed);
    assert!(
        b.sets.count("peers") <= 32,
        "{:?}",
        b.sets.entries_of("peers")
    );
    assert!(
        b.sets.contains("peers", "net:10.1.0.0/16"),
        "{:?}",
        b.sets.entries_of("peers")
    );
    assert!(r.fired().is_empty(), "{:?}", r.fired());
    for i in [0, 31, 32, 99] {
        let (m, ip) = client(i);
        r.see(to_server(7200, m, &ip));
    }
    assert!(r.fired().is_empty(), "{:?}", r.fired());
    r.see(to_server(7200, FAR, "10.2.0.1"));
    let f = r.fired();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0],
        (
            "baseline.new_peer".to_string(),
            server,
            format!("dev:{}", crate::inventory::mac_id(MacAddr(FAR)))
        )
    );
}

proptest::proptest! {
    #[test]
    fn a_name_is_looked_up_as_its_lower_case(name in "[a-zA-Z0-9.\\-é]{0,40}", junk in "[a-zA-Z]{0,8}") {
        // The DNS and TLS names' entries are their ASCII lower case, whether the name is
        // used in place (no upper-case letter) or copied (whatever `scratch` held).
        let mut scratch = junk;
        proptest::prop_assert_eq!(lowercase(&name, &mut scratch), name.to_ascii_lowercase());
        let mut items = Items::default();
        let mut s = String::from("x");
        push_lowercase(&mut items, index::DNS_NAMES, &mut s, &name);
        let got: Vec<String> = items.iter().map(|(_, p)| p.key(&s).text()).collect();
        proptest::prop_assert_eq!(got, vec![name.to_ascii_lowercase()]);
    }
}
