//! Evaluating policy rules on events (on the writer thread, right after the inventory has
//! observed the event, so both sides' devices and classes are current).
//!
//! Cost: rules are indexed by event type, so an event type no rule names costs one hash
//! lookup; the device of each side is looked up at most once per event and only when a
//! rule needs it (checks on addresses and ports come first).

use super::facts::{self, KnownAes};
use super::net::is_internal;
use super::{Dir, Expect, Location, Match, Mode, Policy, PolicyConfig, PolicySet, Scope, Subnet};
use crate::alert::{AlertConfig, AlertEngine, Hit};
use crate::inventory::{Device, Inventory};
use model::alert::AlertDevice;
use model::dicom::DicomEvent;
use model::{Event, EventKind, FlowKey, FlowMeta, IpProto, MacAddr};
use std::net::IpAddr;

/// A GeoIP lookup ([`crate::geo::GeoResolver`]); `None` for unknown addresses.
pub trait CountryResolver: Send {
    fn country(&self, ip: IpAddr) -> Option<[u8; 2]>;
}

/// One side of an event's flow, as the rule sees it.
#[derive(Clone, Copy, Debug)]
pub struct Side {
    pub mac: Option<MacAddr>,
    pub ip: IpAddr,
    /// The side that opened the flow.
    pub client: bool,
}

/// Policy rules, the facts they need, and the alert engine they feed.
pub struct PolicyEngine {
    set: PolicySet,
    internal: Vec<Subnet>,
    aes: KnownAes,
    countries: Option<Box<dyn CountryResolver>>,
    pub alerts: AlertEngine,
    /// Rule evaluations (rule x side) done, for the cost figures.
    pub evaluations: u64,
}

/// A device as far as a rule is concerned.
#[derive(Clone, Copy)]
struct Dev<'a> {
    d: Option<&'a Device>,
    /// [`super::class_bit`] of its class, found once per side of an event (rules' class
    /// scopes test it, not the name).
    class_bit: u64,
}

impl Dev<'_> {
    fn class(&self) -> &str {
        self.d
            .map(|d| d.classification.class.as_str())
            .unwrap_or("unknown")
    }
    fn id(&self) -> Option<&str> {
        self.d.map(|d| d.id.as_str())
    }
}

impl PolicyEngine {
    /// An engine over a loaded rule set. Bad `internal_subnets` are an error.
    pub fn new(set: PolicySet, cfg: &PolicyConfig, alerts: AlertConfig) -> Result<Self, String> {
        Self::with_countries(set, cfg, alerts, None)
    }

    /// An engine with a GeoIP resolver for `countries` conditions (`None`: those conditions
    /// never match, and a warning says so when rules use them).
    pub fn with_countries(
        set: PolicySet,
        cfg: &PolicyConfig,
        alerts: AlertConfig,
        countries: Option<Box<dyn CountryResolver>>,
    ) -> Result<Self, String> {
        let internal = cfg
            .internal_subnets
            .iter()
            .map(|s| {
                s.parse::<Subnet>()
                    .map_err(|e| format!("[policy] internal_subnets: `{s}`: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut aes = KnownAes {
            max: cfg.max_known_ae_titles,
            ..KnownAes::default()
        };
        for a in &cfg.known_ae_titles {
            aes.add(a);
        }
        if countries.is_none() && !set.country_rules.is_empty() {
            tracing::warn!(
                rules = %set.country_rules.join(","),
                "Rules test countries but no GeoIP database is configured; those conditions never match."
            );
        }
        Ok(PolicyEngine {
            set,
            internal,
            aes,
            countries,
            alerts: AlertEngine::new(alerts),
            evaluations: 0,
        })
    }

    /// Installs a GeoIP resolver for `countries` conditions.
    pub fn set_country_resolver(&mut self, r: Box<dyn CountryResolver>) {
        self.countries = Some(r);
    }

    /// Replaces the rules (a reload); the alert engine's windows and counters are kept.
    pub fn replace_rules(&mut self, set: PolicySet) {
        self.set = set;
    }

    /// Reloads the rules from the shipped files and `dir`: on success they replace the
    /// rules in force (number of rules returned); on an error the last good rules stay.
    pub fn reload(
        &mut self,
        dir: Option<&std::path::Path>,
        catalogue: &crate::inventory::Catalogue,
    ) -> Result<usize, super::PolicyError> {
        let set = PolicySet::load(dir, catalogue)?;
        let n = set.rules.len();
        self.set = set;
        Ok(n)
    }

    /// The rules in force.
    pub fn rules(&self) -> &PolicySet {
        &self.set
    }

    /// Learns AE titles from devices restored from the state store.
    pub fn learn_from_inventory(&mut self, inv: &Inventory) {
        for d in inv.devices() {
            if let Some(v) = d.attributes.get("dicom_ae") {
                for a in v {
                    self.aes.add(&a.value);
                }
            }
        }
    }

    /// AE titles known now.
    pub fn known_aes(&self) -> &KnownAes {
        &self.aes
    }

    /// Evaluates every rule indexed under the event's type; alerts go to `out`.
    pub fn evaluate(&mut self, ev: &Event, inv: Option<&Inventory>, out: &mut Vec<Event>) {
        // AE titles of accepted associations are known from then on (the command events
        // of an association come before its association record, so a C-MOVE inside the
        // association that introduces a destination is judged on what was known before).
        if let EventKind::Dicom(DicomEvent::Association(a)) = &ev.kind {
            if a.outcome == "accepted" {
                if let Some(x) = &a.calling_ae {
                    self.aes.add(x);
                }
                if let Some(x) = &a.called_ae {
                    self.aes.add(x);
                }
            }
        }
        let idx = self.set.for_type(ev.kind.event_type());
        let Some(flow) = ev.flow.as_deref() else {
            self.alerts.tick(ev.ts, out);
            return;
        };
        if idx.is_empty() {
            self.alerts.tick(ev.ts, out);
            return;
        }
        let sides = [
            Side {
                mac: flow.src_mac,
                ip: flow.key.src_ip,
                client: true,
            },
            Side {
                mac: flow.dest_mac,
                ip: flow.key.dst_ip,
                client: false,
            },
        ];
        let mut devs: [Option<Dev<'_>>; 2] = [None, None];
        for &ri in idx {
            let Some(rule) = self.set.rules.get(ri) else {
                continue;
            };
            // A deny rule none of whose condition sets can hold on this event, whichever
            // side it is about (services, protocols and facts are the event's), is done
            // before any device lookup: no side could fire it.
            if let Mode::Deny(list) = &rule.mode {
                if !list.iter().any(|m| event_may_match(m, ev, flow, &self.aes)) {
                    continue;
                }
            }
            for me in 0..2 {
                let peer = 1 - me;
                let (ms, ps) = (sides[me], sides[peer]);
                self.evaluations += 1;
                // Cheap scope checks first (no device lookup).
                if !scope_by_address(&rule.scope, flow, ms.ip) {
                    continue;
                }
                let md = lookup(&mut devs, &sides, inv, me);
                if md.d.is_none() && (inv.is_some() || !is_internal(ms.ip, &self.internal)) {
                    // Not a device on this network: rules are about devices.
                    continue;
                }
                if !scope_by_device(&rule.scope, md) {
                    continue;
                }
                let ctx = Ctx {
                    ev,
                    flow,
                    me: ms,
                    peer: ps,
                    internal: &self.internal,
                    aes: &self.aes,
                    countries: self.countries.as_deref(),
                };
                let evidence = match &rule.mode {
                    Mode::Deny(list) => {
                        let mut hit = None;
                        for m in list {
                            hit = matches(m, &ctx, &mut || lookup(&mut devs, &sides, inv, peer));
                            if hit.is_some() {
                                break;
                            }
                        }
                        match hit {
                            Some(e) => e,
                            None => continue,
                        }
                    }
                    Mode::Allow(list) => {
                        if list.iter().any(|m| {
                            matches(m, &ctx, &mut || lookup(&mut devs, &sides, inv, peer)).is_some()
                        }) {
                            continue;
                        }
                        base_evidence(&ctx, lookup(&mut devs, &sides, inv, peer))
                    }
                };
                let d = md.d;
                raise(&mut self.alerts, rule, ev, flow, d, evidence, out);
            }
        }
    }

    /// The end of the run: folded repeats are written.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.alerts.finish(out);
    }
}

/// The device of a side, looked up once per event.
fn lookup<'i>(
    devs: &mut [Option<Dev<'i>>; 2],
    sides: &[Side; 2],
    inv: Option<&'i Inventory>,
    i: usize,
) -> Dev<'i> {
    if let Some(Some(d)) = devs.get(i) {
        return *d;
    }
    let d = sides
        .get(i)
        .and_then(|s| inv.and_then(|inv| inv.device_of(s.mac, Some(s.ip))));
    let d = Dev { d, class_bit: 0 };
    let d = Dev {
        class_bit: super::class_bit(d.class()),
        ..d
    };
    if let Some(slot) = devs.get_mut(i) {
        *slot = Some(d);
    }
    d
}

fn raise(
    alerts: &mut AlertEngine,
    rule: &Policy,
    ev: &Event,
    flow: &FlowMeta,
    d: Option<&Device>,
    evidence: Vec<(&'static str, String)>,
    out: &mut Vec<Event>,
) {
    alerts.raise(
        Hit {
            ts: ev.ts,
            flow: Some(flow),
            rule: &rule.meta,
            device: d.map(|d| AlertDevice {
                id: d.id.clone(),
                class: d.classification.class.clone(),
                vendor: d.vendor.clone(),
            }),
            evidence,
        },
        out,
    );
}

struct Ctx<'a> {
    ev: &'a Event,
    flow: &'a FlowMeta,
    me: Side,
    peer: Side,
    internal: &'a [Subnet],
    aes: &'a KnownAes,
    countries: Option<&'a dyn CountryResolver>,
}

fn scope_by_address(s: &Scope, flow: &FlowMeta, ip: IpAddr) -> bool {
    (s.vlans.is_empty() || s.vlans.contains(&flow.key.vlan[0]))
        && (s.subnets.is_empty() || s.subnets.iter().any(|n| n.contains(ip)))
}

fn scope_by_device(s: &Scope, d: Dev<'_>) -> bool {
    (s.classes.is_empty()
        || if s.class_bits != 0 {
            s.class_bits & d.class_bit != 0
        } else {
            s.classes.iter().any(|c| c == d.class())
        })
        && (s.devices.is_empty() || d.id().is_some_and(|id| s.devices.iter().any(|x| x == id)))
}

fn service_text(flow: &FlowMeta) -> String {
    let k = &flow.key;
    let p = match k.proto {
        IpProto::TCP => "tcp",
        IpProto::UDP => "udp",
        IpProto::SCTP => "sctp",
        IpProto::ICMP => return "icmp".into(),
        IpProto::ICMPV6 => return "icmpv6".into(),
        _ => return format!("ip/{}", k.proto.0),
    };
    format!("{p}/{}", k.dst_port)
}

/// The facts every alert of a flow carries: the device's role, the peer, the service.
fn base_evidence(c: &Ctx<'_>, peer: Dev<'_>) -> Vec<(&'static str, String)> {
    let mut e = vec![
        (
            "device_role",
            if c.me.client { "client" } else { "server" }.to_string(),
        ),
        ("peer_ip", c.peer.ip.to_string()),
    ];
    if let Some(id) = peer.id() {
        e.push(("peer_device", id.to_string()));
        e.push(("peer_class", peer.class().to_string()));
    }
    e.push((
        "peer_location",
        if is_internal(c.peer.ip, c.internal) {
            "internal"
        } else {
            "external"
        }
        .to_string(),
    ));
    e.push(("service", service_text(c.flow)));
    if let Some(a) = c.flow.app_proto {
        e.push(("app_proto", a.to_string()));
    }
    e
}

/// The set's services (empty: any) include the flow's protocol and server port.
fn service_holds(m: &Match, k: &FlowKey) -> bool {
    m.services.is_empty()
        || m.services
            .iter()
            .any(|s| s.proto == k.proto.0 && (s.lo..=s.hi).contains(&k.dst_port))
}

/// The set's protocols (empty: any) include the flow's application protocol or the event's type.
fn app_proto_holds(m: &Match, ev: &Event, flow: &FlowMeta) -> bool {
    if m.app_protos.is_empty() {
        return true;
    }
    let t = ev.kind.event_type();
    let a = flow.app_proto.unwrap_or("");
    m.app_protos.iter().any(|p| p == a || p == t)
}

/// A fact's value is what the set expects.
fn fact_holds(want: &Expect, v: &facts::Value<'_>) -> bool {
    match (want, v) {
        (Expect::Bool(w), facts::Value::Bool(b)) => w == b,
        (Expect::AnyOf(list), facts::Value::Text(t)) => {
            list.iter().any(|x| x.as_str() == t.as_ref())
        }
        _ => false,
    }
}

/// Whether the conditions of a set that do not depend on the side (the flow's service
/// and protocol, the event's facts) hold: [`matches`] fails on every side when they do not.
fn event_may_match(m: &Match, ev: &Event, flow: &FlowMeta, aes: &KnownAes) -> bool {
    service_holds(m, &flow.key)
        && app_proto_holds(m, ev, flow)
        && m.facts
            .iter()
            .all(|(f, want)| facts::value(*f, ev, aes).is_some_and(|v| fact_holds(want, &v)))
}

/// Whether a condition set holds; its evidence when it does.
fn matches<'a>(
    m: &Match,
    c: &Ctx<'_>,
    peer_dev: &mut dyn FnMut() -> Dev<'a>,
) -> Option<Vec<(&'static str, String)>> {
    if !service_holds(m, &c.flow.key) {
        return None;
    }
    if let Some(d) = m.direction {
        let outbound = c.me.client;
        if (d == Dir::Outbound) != outbound {
            return None;
        }
    }
    if !app_proto_holds(m, c.ev, c.flow) {
        return None;
    }
    if !m.countries.is_empty() {
        let cc = c.countries.and_then(|r| r.country(c.peer.ip))?;
        let cc = std::str::from_utf8(&cc).ok()?;
        if !m.countries.iter().any(|x| x == cc) {
            return None;
        }
    }
    let mut fact_ev = Vec::new();
    for (f, want) in &m.facts {
        let v = facts::value(*f, c.ev, c.aes)?;
        if !fact_holds(want, &v) {
            return None;
        }
        fact_ev.push((f.name(), v.text()));
    }
    let mut pd = None;
    if let Some(p) = &m.peer {
        if let Some(loc) = p.location {
            let internal = is_internal(c.peer.ip, c.internal);
            if (loc == Location::Internal) != internal {
                return None;
            }
        }
        if !p.subnets.is_empty() && !p.subnets.iter().any(|s| s.contains(c.peer.ip)) {
            return None;
        }
        if !p.classes.is_empty() || !p.devices.is_empty() {
            let d = peer_dev();
            if !p.classes.is_empty() && !p.classes.iter().any(|x| x == d.class()) {
                return None;
            }
            if !p.devices.is_empty() && !d.id().is_some_and(|id| p.devices.iter().any(|x| x == id))
            {
                return None;
            }
            pd = Some(d);
        }
    }
    let pd = pd.unwrap_or_else(peer_dev);
    let mut e = base_evidence(c, pd);
    e.extend(fact_ev);
    if let Some(cc) = (!m.countries.is_empty())
        .then(|| c.countries.and_then(|r| r.country(c.peer.ip)))
        .flatten()
    {
        e.push(("peer_country", String::from_utf8_lossy(&cc).into_owned()));
    }
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{FlowKey, Timestamp};

    fn flow_event(proto: IpProto, port: u16, app: Option<&'static str>) -> Event {
        let key = FlowKey {
            vlan: [0, 0],
            proto,
            src_ip: [10, 1, 0, 10].into(),
            src_port: 40000,
            dst_ip: [8, 8, 8, 8].into(),
            dst_port: port,
        };
        Event {
            ts: Timestamp::from_secs_micros(1, 0),
            flow: Some(Box::new(FlowMeta {
                flow_id: key.flow_id(0),
                key,
                in_iface: "t".into(),
                src_mac: None,
                dest_mac: None,
                app_proto: app,
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

    #[test]
    fn event_prefilter_never_hides_a_match() {
        // Whenever the side-free check says a condition set of a shipped rule cannot hold on
        // an event, the full check fails on both sides (skipping the rule changes no alert);
        // the events include ones it lets through and ones it skips.
        let set = PolicySet::load(None, crate::testutil::catalogue()).unwrap_or_default();
        let aes = KnownAes::default();
        let (mut hits, mut skipped) = (0, 0);
        for proto in [IpProto::TCP, IpProto::UDP] {
            for port in [21, 22, 23, 80, 104, 445] {
                for app in [None, Some("telnet"), Some("ftp"), Some("http")] {
                    let ev = flow_event(proto, port, app);
                    let Some(flow) = ev.flow.as_deref() else {
                        continue;
                    };
                    let a = Side {
                        mac: None,
                        ip: flow.key.src_ip,
                        client: true,
                    };
                    let b = Side {
                        mac: None,
                        ip: flow.key.dst_ip,
                        client: false,
                    };
                    for rule in &set.rules {
                        let Mode::Deny(list) = &rule.mode else {
                            continue;
                        };
                        for m in list {
                            let may = event_may_match(m, &ev, flow, &aes);
                            skipped += usize::from(!may);
                            for (me, peer) in [(a, b), (b, a)] {
                                let ctx = Ctx {
                                    ev: &ev,
                                    flow,
                                    me,
                                    peer,
                                    internal: &[],
                                    aes: &aes,
                                    countries: None,
                                };
                                let dev = || Dev {
                                    d: None,
                                    class_bit: 0,
                                };
                                let hit = matches(m, &ctx, &mut { dev }).is_some();
                                assert!(
                                    !hit || may,
                                    "{} on {proto:?}/{port} {app:?}",
                                    rule.meta.id
                                );
                                hits += usize::from(hit);
                            }
                        }
                    }
                }
            }
        }
        assert!(hits > 0 && skipped > 0, "hits {hits}, skipped {skipped}");
    }
}
