//! Silence: windows by device, class and criticality in capture time, one alert per
//! silence, back when the device talks again, bounds; sensor gaps on replay and live.

use super::*;
use crate::alert::AlertConfig;
use crate::inventory::{Catalogue, InventoryConfig};
use model::{FlowKey, FlowMeta, MacAddr};

const PUMP: [u8; 6] = [0x58, 0x42, 0xe4, 0, 0, 1];
const MONITOR: [u8; 6] = [0x00, 0x09, 0xfb, 0x12, 0x34, 0x56];
const SERVER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x50];

fn cat() -> &'static Catalogue {
    crate::testutil::catalogue()
}

fn dev(mac: [u8; 6], ip: &str, class: &str, crit: &str) -> Device {
    crate::testutil::device(mac, ip, class, crit)
}

fn inventory() -> Inventory {
    let mut inv = Inventory::new(InventoryConfig::default(), cat().clone());
    inv.restore(vec![
        dev(PUMP, "10.1.0.10", "infusion_pump", "high"),
        dev(MONITOR, "10.1.0.20", "patient_monitor", "high"),
        dev(SERVER, "10.1.0.50", "clinical_server", "medium"),
    ]);
    inv
}

fn id(mac: [u8; 6]) -> String {
    crate::inventory::mac_id(MacAddr(mac))
}

/// A flow record from `mac`/`ip` to the server, started at `start`, last packet at `end`,
/// answered or not.
fn flow(mac: [u8; 6], ip: &str, start: i64, end: i64, answered: bool) -> Event {
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::UDP,
        src_ip: ip.parse().unwrap(),
        src_port: 40000,
        dst_ip: "10.1.0.50".parse().unwrap(),
        dst_port: 514,
    };
    Event {
        ts: Timestamp::from_secs_micros(start, 0),
        flow: Some(Box::new(FlowMeta {
            flow_id: key.flow_id(0),
            key,
            in_iface: "t".into(),
            src_mac: Some(MacAddr(mac)),
            dest_mac: Some(MacAddr(SERVER)),
            app_proto: None,
        })),
        kind: EventKind::Flow(model::FlowRecord {
            pkts_toserver: 1,
            pkts_toclient: u64::from(answered),
            bytes_toserver: 1,
            bytes_toclient: 0,
            start: Timestamp::from_secs_micros(start, 0),
            end: Timestamp::from_secs_micros(end, 0),
            age: 0,
            state: model::FlowState::Closed,
            reason: model::FlowEndReason::Timeout,
            stream: None,
            tcp: None,
        }),
    }
}

fn engine() -> AlertEngine {
    AlertEngine::new(AlertConfig {
        dedup_window_secs: 1,
        ..AlertConfig::default()
    })
}

/// (second, rule, device) of each alert.
fn alerts(out: &[Event]) -> Vec<(i64, String, String)> {
    out.iter()
        .filter_map(|e| match &e.kind {
            EventKind::Alert(a) => Some((
                e.ts.secs(),
                a.rule.clone(),
                a.device.as_ref().map(|d| d.id.clone()).unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

/// Feeds events, sweeping after each as the analysis thread does after each batch.
fn run(s: &mut Silence, evs: &[Event]) -> Vec<Event> {
    let inv = inventory();
    let mut al = engine();
    let mut out = Vec::new();
    for e in evs {
        s.observe(e, &inv);
        s.sweep(None, &mut al, &mut out);
    }
    out
}

fn cfg(classes: &[(&str, u64)], devices: &[(&str, u64)], high: u64) -> SilenceConfig {
    SilenceConfig {
        classes: classes.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        devices: devices.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        high_criticality_secs: high,
        ..SilenceConfig::default()
    }
}

#[test]
fn device_quiet_fires_once_then_back_when_it_talks_again() {
    // The monitor (own window 600 s) stops at 100 s while the pump keeps talking: one quiet
    // alert dated 700 s, none more while it stays quiet, one back when it talks at 2000 s.
    let mut s = Silence::new(cfg(&[], &[("00:09:FB:12:34:56", 600)], 0));
    let mut evs = vec![flow(MONITOR, "10.1.0.20", 0, 100, false)];
    for t in (60..1900).step_by(60) {
        evs.push(flow(PUMP, "10.1.0.10", t, t, false));
    }
    evs.push(flow(MONITOR, "10.1.0.20", 2000, 2000, false));
    let out = run(&mut s, &evs);
    assert_eq!(
        alerts(&out),
        vec![
            (700, "silence.device_quiet".into(), id(MONITOR)),
            (2000, "silence.device_back".into(), id(MONITOR)),
        ]
    );
    let EventKind::Alert(a) = &out[0].kind else {
        panic!()
    };
    assert_eq!((a.signature_id, a.severity), (9_300_001, 2));
    assert_eq!(a.fact("last_seen"), Some("1970-01-01T00:01:40.000000+0000"));
    assert_eq!(a.fact("window_secs"), Some("600"));
    assert_eq!(a.device.as_ref().unwrap().class, "patient_monitor");
    let EventKind::Alert(b) = &out[1].kind else {
        panic!()
    };
    assert_eq!(b.fact("quiet_secs"), Some("1900"));
    assert_eq!((s.stats.quiet, s.stats.back), (1, 1));
}

#[test]
fn quiet_missed_by_sweeps_is_reported_when_the_device_returns() {
    // With no sweep in between (sweeps wait for the slowest worker), a device back after
    // more than its window gets its quiet alert, dated as a sweep would have, then back.
    let inv = inventory();
    let mut s = Silence::new(cfg(&[("infusion_pump", 600)], &[], 0));
    let mut al = engine();
    let mut out = Vec::new();
    for e in [
        flow(PUMP, "10.1.0.10", 0, 10, false),
        flow(PUMP, "10.1.0.10", 1000, 1000, false),
    ] {
        s.observe(&e, &inv);
    }
    s.sweep(
        Some(Timestamp::from_secs_micros(1000, 0)),
        &mut al,
        &mut out,
    );
    assert_eq!(
        alerts(&out),
        vec![
            (610, "silence.device_quiet".into(), id(PUMP)),
            (1000, "silence.device_back".into(), id(PUMP)),
        ]
    );
    // A sweep at an earlier watermark than the latest event does not see the device quiet.
    let mut s = Silence::new(cfg(&[("infusion_pump", 600)], &[], 0));
    let mut out = Vec::new();
    for e in [
        flow(PUMP, "10.1.0.10", 0, 10, false),
        flow(MONITOR, "10.1.0.20", 900, 900, false),
    ] {
        s.observe(&e, &inv);
    }
    s.sweep(Some(Timestamp::from_secs_micros(500, 0)), &mut al, &mut out);
    assert!(alerts(&out).is_empty());
}

#[test]
fn device_within_its_window_never_alerts() {
    // A device that talks every 500 s with a 600 s window stays quiet-free; the window is
    // strict (exactly 600 s of silence does not fire).
    let mut s = Silence::new(cfg(&[("infusion_pump", 600)], &[], 0));
    let mut evs = Vec::new();
    for t in (0..5000).step_by(500) {
        evs.push(flow(PUMP, "10.1.0.10", t, t, false));
    }
    evs.push(flow(PUMP, "10.1.0.10", 5100, 5100, false));
    evs.push(flow(MONITOR, "10.1.0.20", 5100, 5100, false));
    assert!(alerts(&run(&mut s, &evs)).is_empty());
    assert_eq!(s.tracked(), 1, "only the pump class has a window");
}

#[test]
fn flow_record_counts_at_its_last_packet_not_its_start() {
    // A flow written at its end carries the device's activity at its first and last
    // packets: a flow from 300 to 900 s keeps a 600 s window satisfied until 1500 s.
    let mut s = Silence::new(cfg(&[("infusion_pump", 600)], &[], 0));
    let evs = vec![
        flow(PUMP, "10.1.0.10", 0, 0, false),
        flow(PUMP, "10.1.0.10", 300, 900, false),
        flow(MONITOR, "10.1.0.20", 1400, 1400, false),
    ];
    assert!(alerts(&run(&mut s, &evs)).is_empty());
    let mut s = Silence::new(cfg(&[("infusion_pump", 600)], &[], 0));
    let mut evs = evs;
    evs.push(flow(MONITOR, "10.1.0.20", 1501, 1501, false));
    assert_eq!(
        alerts(&run(&mut s, &evs)),
        vec![(1500, "silence.device_quiet".into(), id(PUMP))]
    );
}

#[test]
fn precedence_device_then_class_then_criticality() {
    // The device's own window beats its class's, the class's beats the high-criticality
    // default, and 0 turns a device or class off.
    let s = Silence::new(cfg(
        &[("infusion_pump", 900), ("patient_monitor", 0)],
        &[("58:42:e4:00:00:01", 120)],
        300,
    ));
    let inv = inventory();
    let w = |mac| s.window_of(inv.get(&id(mac)).unwrap());
    assert_eq!(w(PUMP), 120);
    assert_eq!(w(MONITOR), 0);
    assert_eq!(w(SERVER), 0, "medium criticality: no default");
    let s = Silence::new(cfg(&[("infusion_pump", 900)], &[], 300));
    let w = |mac| s.window_of(inv.get(&id(mac)).unwrap());
    assert_eq!((w(PUMP), w(MONITOR), w(SERVER)), (900, 300, 0));
}

#[test]
fn responder_counts_only_when_it_answered() {
    // The server is the responder: an unanswered flow says nothing about it; an answered
    // one marks it active.
    let mut s = Silence::new(cfg(&[("clinical_server", 100)], &[], 0));
    let evs = vec![
        flow(PUMP, "10.1.0.10", 0, 0, true),
        flow(PUMP, "10.1.0.10", 50, 50, false),
        flow(PUMP, "10.1.0.10", 150, 150, false),
    ];
    assert_eq!(
        alerts(&run(&mut s, &evs)),
        vec![(100, "silence.device_quiet".into(), id(SERVER))]
    );
}

#[test]
fn tracked_devices_are_capped() {
    // Past max_devices a device is counted, not tracked.
    let mut c = cfg(&[], &[], 60);
    c.max_devices = 1;
    let mut s = Silence::new(c);
    let evs = vec![
        flow(PUMP, "10.1.0.10", 0, 0, false),
        flow(MONITOR, "10.1.0.20", 1, 1, false),
    ];
    run(&mut s, &evs);
    assert_eq!((s.tracked(), s.stats.untracked), (1, 1));
}

#[test]
fn config_rejects_unknown_class() {
    // A misspelt class would silently disable its window: an error at load names it.
    let e = cfg(&[("infusion_pmup", 60)], &[], 0)
        .validate()
        .unwrap_err();
    assert!(e.contains("infusion_pmup"), "{e}");
    assert!(cfg(&[("infusion_pump", 60)], &[], 0).validate().is_ok());
    assert!(!SilenceConfig::default().devices_on());
    assert_eq!(
        cfg(&[("infusion_pump", 900)], &[("x", 120)], 0).shortest_window(),
        120
    );
}

#[test]
fn sensor_watch_replay_gap_gives_silent_then_resumed() {
    // Packets 10 s apart, then a 1000 s gap with a 300 s window: Silent dated at the last
    // packet + 300 s, then Resumed at the next packet; short gaps say nothing.
    let mut w = SensorWatch::new("eth1", 300).unwrap();
    let mut sig = Vec::new();
    for t in [0, 10, 20, 1020, 1030] {
        w.packet(Timestamp::from_secs_micros(t, 0), &mut sig);
    }
    let ts = |s| Timestamp::from_secs_micros(s, 0);
    assert_eq!(
        sig,
        vec![
            SensorSignal::Silent {
                iface: "eth1".into(),
                last_packet: ts(20),
                at: ts(320)
            },
            SensorSignal::Resumed {
                iface: "eth1".into(),
                last_packet: ts(20),
                at: ts(1020)
            },
        ]
    );
    assert!(SensorWatch::new("eth1", 0).is_none());
}

#[test]
fn sensor_watch_live_idle_reports_once_from_start() {
    // Live: no packet since the start for longer than the window: Silent once (however
    // many idle checks follow), then Resumed with the first packet.
    let ts = |s| Timestamp::from_secs_micros(s, 0);
    let mut w = SensorWatch::new("lo", 5).unwrap();
    let mut sig = Vec::new();
    for t in [1, 3, 5] {
        w.idle(ts(100 + t), ts(100), &mut sig);
    }
    assert!(sig.is_empty());
    for t in [6, 7, 30] {
        w.idle(ts(100 + t), ts(100), &mut sig);
    }
    assert_eq!(sig.len(), 1);
    assert!(w.is_silent());
    w.packet(ts(140), &mut sig);
    assert_eq!(
        sig.get(1),
        Some(&SensorSignal::Resumed {
            iface: "lo".into(),
            last_packet: ts(100),
            at: ts(140)
        })
    );
    assert!(!w.is_silent());
}

#[test]
fn sensor_alerts_go_through_the_engine_with_the_sensor_as_device() {
    // Signals become alerts about `sensor:<iface>`, counted by the engine like any rule.
    let mut s = Silence::new(SilenceConfig::default());
    let mut al = engine();
    let mut out = Vec::new();
    let ts = |s| Timestamp::from_secs_micros(s, 0);
    s.sensor(
        &SensorSignal::Silent {
            iface: "eth1".into(),
            last_packet: ts(20),
            at: ts(320),
        },
        &mut al,
        &mut out,
    );
    s.sensor(
        &SensorSignal::Resumed {
            iface: "eth1".into(),
            last_packet: ts(20),
            at: ts(1020),
        },
        &mut al,
        &mut out,
    );
    assert_eq!(
        alerts(&out),
        vec![
            (320, "sensor.capture_silent".into(), "sensor:eth1".into()),
            (1020, "sensor.capture_resumed".into(), "sensor:eth1".into()),
        ]
    );
    let EventKind::Alert(a) = &out[1].kind else {
        panic!()
    };
    assert_eq!(a.fact("silent_secs"), Some("1000"));
    assert_eq!(
        al.stats.written.get(&("sensor.capture_silent".into(), 2)),
        Some(&1)
    );
}

#[test]
fn out_of_order_arrival_gives_the_same_alerts_as_capture_order() {
    // Workers deliver out of order: activity applied in time order at each watermark gives
    // the alerts of the capture order (no false quiet from a late minute, no missed one).
    let times = [0i64, 60, 120, 900, 960, 1020];
    let ordered: Vec<Event> = times
        .iter()
        .map(|t| flow(PUMP, "10.1.0.10", *t, *t, false))
        .collect();
    let shuffled: Vec<Event> = [3, 0, 4, 1, 5, 2]
        .iter()
        .map(|i| ordered[*i].clone())
        .collect();
    let inv = inventory();
    let mut got = Vec::new();
    for evs in [&ordered, &shuffled] {
        let mut s = Silence::new(cfg(&[("infusion_pump", 600)], &[], 0));
        let mut al = engine();
        let mut out = Vec::new();
        for e in evs.iter() {
            s.observe(e, &inv);
        }
        // The watermark only now passes everything.
        s.sweep(
            Some(Timestamp::from_secs_micros(1030, 0)),
            &mut al,
            &mut out,
        );
        got.push(alerts(&out));
    }
    assert_eq!(got[0], got[1]);
    assert_eq!(
        got[0],
        vec![
            (720, "silence.device_quiet".into(), id(PUMP)),
            (900, "silence.device_back".into(), id(PUMP)),
        ]
    );
}

#[test]
fn pending_compression_keeps_every_long_gap() {
    // Compressing a device's pending times drops only those inside runs shorter than the
    // window: the gaps longer than the window survive, and the list stays bounded.
    let mut t = Track {
        class: String::new(),
        vendor: None,
        window_us: 100,
        last_us: i64::MIN,
        quiet: false,
        pending: (0..50).chain(500..550).chain([1000]).collect(),
    };
    t.compress();
    assert_eq!(t.pending, vec![0, 49, 500, 549, 1000]);
    t.pending = (0..10_000).map(|i| i * 1000).collect();
    t.compress();
    assert!(t.pending.len() <= MAX_PENDING);
    assert_eq!(t.pending.last(), Some(&9_999_000));
}

proptest::proptest! {
    #[test]
    fn sensor_watch_signals_match_a_plain_model(steps in proptest::collection::vec((0i64..40, proptest::bool::ANY), 1..200)) {
        // Packets (in or out of order) and live idle checks, against the rule written
        // plainly: a packet more than the window after the latest one, or after a reported
        // silence, gives Silent (unless already reported) then Resumed; an idle check past
        // the window reports Silent once. The watch's inline common case changes nothing.
        let ts = |s| Timestamp::from_secs_micros(s, 0);
        let window = 10i64;
        let mut w = SensorWatch::new("eth1", 10).unwrap();
        let mut got = Vec::new();
        let (mut last, mut silent, mut want) = (None::<i64>, false, Vec::new());
        let mut clock = 0i64;
        for (dt, idle) in steps {
            // Mostly forward, sometimes back a little (workers' order on replay).
            clock = (clock + dt - 5).max(0);
            if idle {
                w.idle(ts(clock), ts(0), &mut got);
                let l = last.unwrap_or(0);
                if !silent && clock - l > window {
                    want.push(SensorSignal::Silent { iface: "eth1".into(), last_packet: ts(l), at: ts(clock) });
                    silent = true;
                    last = Some(l);
                }
            } else {
                w.packet(ts(clock), &mut got);
                if let Some(l) = last {
                    if clock - l > window && !silent {
                        want.push(SensorSignal::Silent { iface: "eth1".into(), last_packet: ts(l), at: ts(l + window) });
                        silent = true;
                    }
                    if silent {
                        want.push(SensorSignal::Resumed { iface: "eth1".into(), last_packet: ts(l), at: ts(clock) });
                        silent = false;
                    }
                }
                last = Some(last.map_or(clock, |l| l.max(clock)));
            }
            proptest::prop_assert_eq!(&got, &want);
        }
    }
}
