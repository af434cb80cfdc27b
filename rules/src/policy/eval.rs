//! Evaluating policy rules on events (on the writer thread, right after the inventory has
//! observed the event, so both sides' devices and classes are current).
//!
//! Cost: when rules are installed, a [`Plan`] lists per event type the rules evaluated on
//! it and, for each deny rule, which of its condition sets can hold on a side given the
//! side's role (client or server) and its peer's location. Per event, the event type picks
//! its list by the event's variant (no text), each deny rule's condition sets are checked
//! against what is the event's (service, `app_proto`, facts; an `app_protos` condition that
//! names the event type holds on every event of it, found once), and a side none of whose
//! surviving sets fits its role and peer location is done before any scope check or device
//! lookup. So most events touch no device and allocate nothing; the device of a side is
//! looked up at most once per event, and the full check ([`matches`]) runs only on sides
//! that may fire, unchanged (it writes the evidence).

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
    /// What `set` needs per event type, derived from it whenever it changes.
    plan: Plan,
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
            plan: Plan::new(&set),
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
        self.plan = Plan::new(&set);
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
        self.replace_rules(set);
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
        self.learn_aes(ev);
        let slot = type_slot(&ev.kind);
        debug_assert_eq!(
            slot.and_then(|i| super::EVENT_TYPES.get(i)).copied(),
            super::EVENT_TYPES
                .iter()
                .find(|t| **t == ev.kind.event_type())
                .copied(),
            "type_slot disagrees with EVENT_TYPES"
        );
        let Some((slot, sp, Some(flow))) = slot
            .and_then(|i| Some((i, self.plan.by_slot.get(i)?)))
            .filter(|(_, sp)| !sp.rules.is_empty())
            .map(|(i, sp)| (i, sp, ev.flow.as_deref()))
        else {
            self.alerts.tick(ev.ts, out);
            return;
        };
        // The rules that may fire: those whose services, protocols and facts can hold on
        // the flow and event (remembered per transport, server port, app_proto and the
        // event's variant: a DICOM command has no association facts), and whose peer
        // locations fit where the two ends are. Most events stop here.
        let mut cand = u64::MAX;
        let mut internal: [Option<bool>; 2] = [None, None];
        if let Some(by_location) = &sp.by_location {
            cand = self
                .plan
                .memo
                .candidates(slot, facts::variant(ev), sp, flow);
            if cand == 0 {
                self.alerts.tick(ev.ts, out);
                return;
            }
            let (si, di) = (
                is_internal(flow.key.src_ip, &self.internal),
                is_internal(flow.key.dst_ip, &self.internal),
            );
            internal = [Some(si), Some(di)];
            cand &= by_location[usize::from(si)][usize::from(di)];
            if cand == 0 {
                self.alerts.tick(ev.ts, out);
                return;
            }
        }
        self.evaluate_candidates(slot, cand, internal, ev, flow, inv, out);
    }

    /// [`PolicyEngine::evaluate`] on the rules of type `slot` left as candidates (`cand`:
    /// bits of their positions in the slot's list, or every rule when the list is too long
    /// for bits), with the sides' `internal` flags found so far.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn evaluate_candidates(
        &mut self,
        slot: usize,
        mut cand: u64,
        mut internal: [Option<bool>; 2],
        ev: &Event,
        flow: &FlowMeta,
        inv: Option<&Inventory>,
        out: &mut Vec<Event>,
    ) {
        let Some(sp) = self.plan.by_slot.get(slot) else {
            return;
        };
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
        let mut next = 0usize;
        loop {
            // The next candidate, in rule order (every rule when the slot has too many
            // rules for the bits).
            let i = if sp.by_location.is_some() {
                if cand == 0 {
                    break;
                }
                let i = cand.trailing_zeros() as usize;
                cand &= cand - 1;
                i
            } else {
                next += 1;
                next - 1
            };
            let Some(rp) = sp.rules.get(i) else {
                break;
            };
            let Some(rule) = self.set.rules.get(rp.rule) else {
                continue;
            };
            // The deny rule's condition sets that can hold on this event, whichever side
            // it is about (services, protocols and facts are the event's): none, and no
            // side could fire it, so it is done before any device lookup.
            let may = match &rule.mode {
                Mode::Deny(list) => {
                    let may = rp.event_may_match(list, ev, flow, &self.aes);
                    if may == 0 {
                        continue;
                    }
                    may
                }
                Mode::Allow(_) => 0,
            };
            for me in 0..2 {
                let peer = 1 - me;
                let (ms, ps) = (sides[me], sides[peer]);
                if let (Mode::Deny(_), Some(masks)) = (&rule.mode, &rp.side_masks) {
                    // A condition set that can hold must also fit this side's role and its
                    // peer's location.
                    let peer_internal =
                        *internal[peer].get_or_insert_with(|| is_internal(ps.ip, &self.internal));
                    let mask = masks[usize::from(ms.client)][usize::from(peer_internal)];
                    if may & mask == 0 {
                        continue;
                    }
                }
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

    /// AE titles of accepted associations are known from then on (the command events of
    /// an association come before its association record, so a C-MOVE inside the
    /// association that introduces a destination is judged on what was known before).
    fn learn_aes(&mut self, ev: &Event) {
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
    }

    /// The plain evaluation the planned one replaces (every rule of the event type by name,
    /// every side of every rule whose event-wide conditions may hold): the reference of the
    /// differential tests.
    #[cfg(test)]
    pub(super) fn evaluate_plain(
        &mut self,
        ev: &Event,
        inv: Option<&Inventory>,
        out: &mut Vec<Event>,
    ) {
        self.learn_aes(ev);
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
            if let Mode::Deny(list) = &rule.mode {
                if !list.iter().any(|m| event_may_match(m, ev, flow, &self.aes)) {
                    continue;
                }
            }
            for me in 0..2 {
                let peer = 1 - me;
                let (ms, ps) = (sides[me], sides[peer]);
                if !scope_by_address(&rule.scope, flow, ms.ip) {
                    continue;
                }
                let md = lookup(&mut devs, &sides, inv, me);
                if md.d.is_none() && (inv.is_some() || !is_internal(ms.ip, &self.internal)) {
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
                raise(&mut self.alerts, rule, ev, flow, md.d, evidence, out);
            }
        }
    }

    /// The end of the run: folded repeats are written.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.alerts.finish(out);
    }
}

/// The position of an event's type in [`super::EVENT_TYPES`] (`None`: no rule can name
/// it), from its variant.
fn type_slot(k: &EventKind) -> Option<usize> {
    Some(match k {
        EventKind::Flow(_) => 0,
        EventKind::Dicom(_) => 1,
        EventKind::Hl7(_) => 2,
        EventKind::Tls(_) => 3,
        EventKind::Http(_) => 4,
        EventKind::Dhcp(_) => 5,
        EventKind::Dns(_) => 6,
        EventKind::Mdns(_) => 7,
        EventKind::Ssdp(_) => 8,
        EventKind::Telnet(_) => 9,
        EventKind::Ftp(_) => 10,
        EventKind::Smb(_) => 11,
        EventKind::Snmp(_) => 12,
        EventKind::Anomaly(_) => 13,
        _ => return None,
    })
}

/// Most condition sets of a deny rule the side prefilter tracks (one bit each); a rule
/// with more has every side checked in full.
const MAX_PLANNED_SETS: usize = 64;

/// What evaluating a rule set needs per event type, computed when the rules are installed.
#[derive(Debug, Default)]
struct Plan {
    /// Per position in [`super::EVENT_TYPES`]: the rules evaluated on that type.
    by_slot: Vec<SlotPlan>,
    memo: Memo,
}

/// The rules of one event type.
#[derive(Debug, Default)]
struct SlotPlan {
    /// In rule order.
    rules: Vec<RulePlan>,
    /// With at most 64 rules: the bits of the rules (by position in `rules`) that a side
    /// may fire, indexed by [source address internal][destination address internal] (a
    /// deny rule whose every condition set wants an external peer is out when both ends
    /// are internal). `None`: every rule is tried on every event.
    by_location: Option<[[u64; 2]; 2]>,
}

/// Most slots a [`Memo`] keeps (a power of two).
const MEMO_SLOTS: usize = 512;

/// Which rules of an event type may fire on a flow, judged on its transport, server port,
/// `app_proto` and the event's variant alone (services and protocols of the condition sets,
/// and whether their facts can have values; fact values, sides and scopes are checked per
/// event): remembered in a direct-mapped table, an entry replaced
/// by the next flow that maps to its slot. Only for types with at most 64 rules.
#[derive(Debug)]
struct Memo {
    entries: Vec<MemoEntry>,
}

impl Default for Memo {
    fn default() -> Self {
        Memo {
            entries: vec![MemoEntry::EMPTY; MEMO_SLOTS],
        }
    }
}

/// (event type and variant, transport, server port, `app_proto` by address and length) and its rule
/// bits. A static text's address and length name its bytes, so an equal key is an equal
/// flow property (the same text at two addresses only costs a second entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MemoEntry {
    slot: u8,
    variant: u8,
    proto: u8,
    port: u16,
    app: usize,
    app_len: usize,
    rules: u64,
}

impl MemoEntry {
    const EMPTY: MemoEntry = MemoEntry {
        slot: u8::MAX,
        variant: 0,
        proto: 0,
        port: 0,
        app: 0,
        app_len: usize::MAX,
        rules: 0,
    };
}

impl Memo {
    /// The bits of the rules of `sp` (type `slot`) whose deny condition sets can hold on
    /// `flow`'s service and `app_proto` and an event of `variant` ([`facts::variant`])
    /// (every allow rule: it fires when nothing holds).
    fn candidates(&mut self, slot: usize, variant: u8, sp: &SlotPlan, flow: &FlowMeta) -> u64 {
        let k = &flow.key;
        let (app, app_len) = flow
            .app_proto
            .map_or((0, usize::MAX), |a| (a.as_ptr() as usize, a.len()));
        let slot8 = u8::try_from(slot).unwrap_or(u8::MAX);
        let h = (usize::from(k.dst_port)
            ^ (usize::from(k.proto.0) << 7)
            ^ (slot << 11)
            ^ (usize::from(variant) << 16))
            .wrapping_add(app >> 3)
            .wrapping_mul(0x9E37_79B9)
            >> 7;
        let Some(e) = self.entries.get_mut(h & (MEMO_SLOTS - 1)) else {
            return sp.candidates(flow, variant);
        };
        if e.slot == slot8
            && e.variant == variant
            && e.proto == k.proto.0
            && e.port == k.dst_port
            && e.app == app
            && e.app_len == app_len
        {
            return e.rules;
        }
        let rules = sp.candidates(flow, variant);
        *e = MemoEntry {
            slot: slot8,
            variant,
            proto: k.proto.0,
            port: k.dst_port,
            app,
            app_len,
            rules,
        };
        rules
    }
}

impl Plan {
    fn new(set: &PolicySet) -> Plan {
        let by_slot = super::EVENT_TYPES
            .iter()
            .map(|t| {
                let rules: Vec<RulePlan> = set
                    .for_type(t)
                    .iter()
                    .filter_map(|&ri| Some(RulePlan::new(ri, set.rules.get(ri)?, t)))
                    .collect();
                let by_location = (rules.len() <= 64).then(|| {
                    let mut loc = [[0u64; 2]; 2];
                    for (src_internal, row) in loc.iter_mut().enumerate() {
                        for (dst_internal, bits) in row.iter_mut().enumerate() {
                            for (i, rp) in rules.iter().enumerate() {
                                // The source is the client, its peer the destination.
                                let fits = rp
                                    .side_masks
                                    .is_none_or(|m| m[1][dst_internal] | m[0][src_internal] != 0);
                                if fits {
                                    *bits |= 1u64 << i;
                                }
                            }
                        }
                    }
                    loc
                });
                SlotPlan { rules, by_location }
            })
            .collect();
        Plan {
            by_slot,
            memo: Memo::default(),
        }
    }
}

impl SlotPlan {
    /// [`Memo::candidates`] worked out.
    fn candidates(&self, flow: &FlowMeta, variant: u8) -> u64 {
        let a = flow.app_proto.unwrap_or("");
        let vbit = 1u8.checked_shl(u32::from(variant)).unwrap_or(0);
        let mut bits = 0u64;
        for (i, rp) in self.rules.iter().enumerate().take(64) {
            let may = rp.sets.is_empty()
                || rp.sets.iter().any(|sp| {
                    sp.service_holds(&flow.key) && sp.proto_holds(a) && sp.variants & vbit != 0
                });
            if may {
                bits |= 1u64 << i;
            }
        }
        bits
    }
}

/// One rule on one event type.
#[derive(Debug)]
struct RulePlan {
    /// Index in [`PolicySet::rules`].
    rule: usize,
    /// Deny rules: per condition set (in order), what must be checked on the event.
    sets: Vec<SetPlan>,
    /// The bits of the sets with nothing to check on the event (with at most
    /// [`MAX_PLANNED_SETS`] sets).
    free: u64,
    /// Every set is free: [`RulePlan::event_may_match`] is `free`.
    all_free: bool,
    /// Deny rules with at most [`MAX_PLANNED_SETS`] sets: indexed by [side is the client]
    /// [peer is internal], the bits of the sets whose `direction` and peer `location` allow
    /// such a side (`None`: every side is checked in full).
    side_masks: Option<[[u64; 2]; 2]>,
}

/// The event-wide conditions of one condition set on one event type.
#[derive(Debug)]
struct SetPlan {
    /// The set's services (empty: any).
    services: Vec<super::Service>,
    /// Protocols one of which must be the flow's `app_proto` (empty: nothing to check, as
    /// the set has none or one of them is the event type, which holds on every event of it).
    protos: Vec<String>,
    /// The set has facts to check.
    facts: bool,
    /// The event variants ([`facts::variant`], as bits) on which every fact of the set can
    /// have a value (all bits: no facts).
    variants: u8,
}

impl SetPlan {
    fn service_holds(&self, k: &FlowKey) -> bool {
        self.services.is_empty()
            || self
                .services
                .iter()
                .any(|s| s.proto == k.proto.0 && (s.lo..=s.hi).contains(&k.dst_port))
    }
    fn proto_holds(&self, app: &str) -> bool {
        self.protos.is_empty() || self.protos.iter().any(|p| p == app)
    }
}

impl RulePlan {
    fn new(rule: usize, p: &Policy, event_type: &str) -> RulePlan {
        let Mode::Deny(list) = &p.mode else {
            return RulePlan {
                rule,
                sets: Vec::new(),
                free: 0,
                all_free: false,
                side_masks: None,
            };
        };
        let sets: Vec<SetPlan> = list
            .iter()
            .map(|m| SetPlan {
                services: m.services.clone(),
                protos: if m.app_protos.iter().any(|x| x == event_type) {
                    Vec::new()
                } else {
                    m.app_protos.clone()
                },
                facts: !m.facts.is_empty(),
                variants: m
                    .facts
                    .iter()
                    .fold(u8::MAX, |v, (f, _)| v & facts::variants(*f)),
            })
            .collect();
        let planned = list.len() <= MAX_PLANNED_SETS;
        let mut free = 0u64;
        for (i, sp) in sets.iter().enumerate().take(MAX_PLANNED_SETS) {
            if sp.services.is_empty() && sp.protos.is_empty() && !sp.facts {
                free |= 1u64 << i;
            }
        }
        let all_free = planned && !sets.is_empty() && free.count_ones() as usize == sets.len();
        let side_masks = planned.then(|| {
            let mut masks = [[0u64; 2]; 2];
            for (client, row) in masks.iter_mut().enumerate() {
                for (peer_internal, mask) in row.iter_mut().enumerate() {
                    for (i, m) in list.iter().enumerate() {
                        let dir_ok = m
                            .direction
                            .is_none_or(|d| (d == Dir::Outbound) == (client == 1));
                        let loc_ok = m
                            .peer
                            .as_ref()
                            .and_then(|p| p.location)
                            .is_none_or(|l| (l == Location::Internal) == (peer_internal == 1));
                        if dir_ok && loc_ok {
                            *mask |= 1u64 << i;
                        }
                    }
                }
            }
            masks
        });
        RulePlan {
            rule,
            sets,
            free,
            all_free,
            side_masks,
        }
    }

    /// The bits of the deny rule's condition sets (`list`, the rule's own) whose event-wide
    /// conditions (services, `app_protos`, facts) hold on `ev`; past [`MAX_PLANNED_SETS`]
    /// sets, all bits when any set holds. 0: no side can fire the rule.
    fn event_may_match(&self, list: &[Match], ev: &Event, flow: &FlowMeta, aes: &KnownAes) -> u64 {
        if self.all_free {
            return self.free;
        }
        let app = flow.app_proto.unwrap_or("");
        let mut bits = 0u64;
        for (i, (m, sp)) in list.iter().zip(&self.sets).enumerate() {
            let holds = sp.service_holds(&flow.key)
                && sp.proto_holds(app)
                && (!sp.facts || facts_hold(m, ev, aes));
            if holds {
                if i >= MAX_PLANNED_SETS {
                    return u64::MAX;
                }
                bits |= 1u64 << i;
            }
        }
        bits
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
#[cfg(test)]
fn event_may_match(m: &Match, ev: &Event, flow: &FlowMeta, aes: &KnownAes) -> bool {
    service_holds(m, &flow.key) && app_proto_holds(m, ev, flow) && facts_hold(m, ev, aes)
}

/// Every fact of the set has the expected value on the event.
fn facts_hold(m: &Match, ev: &Event, aes: &KnownAes) -> bool {
    m.facts
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
    if !facts_hold(m, c.ev, c.aes) {
        return None;
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
    // The facts held above (the same values: nothing changed since), now as evidence.
    e.extend(
        m.facts
            .iter()
            .filter_map(|(f, _)| Some((f.name(), facts::value(*f, c.ev, c.aes)?.text()))),
    );
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// The remembered candidates of a flow are those worked out for it, through entries
        /// replaced by colliding flows and `app_proto` texts of equal bytes at different
        /// addresses; and a rule whose services and protocols hold is always a candidate.
        #[test]
        fn memo_gives_the_candidates_worked_out(
            flows in proptest::collection::vec(
                (proptest::bool::ANY, 0u16..2048, 0usize..6), 1..600),
        ) {
            let text = "policies:
  - {id: a.t, signature_id: 9110001, severity: 2, description: t, deny: [{services: [tcp/23]}, {app_protos: [telnet]}]}
  - {id: a.f, signature_id: 9110002, severity: 2, description: f, deny: {services: [tcp/20-21, udp/69]}}
  - {id: a.h, signature_id: 9110003, severity: 2, description: h, deny: {app_protos: [http, ftp]}}
  - {id: a.x, signature_id: 9110004, severity: 2, description: x, deny: {peer: {location: external}}}
  - {id: a.a, signature_id: 9110005, severity: 2, description: a, allow: [{services: [tcp/443]}]}
";
            let set = PolicySet::from_texts(&[("m.yaml".into(), text.into())], crate::testutil::catalogue()).unwrap();
            let plan = Plan::new(&set);
            let Some(sp) = plan.by_slot.first() else { return Err(proptest::test_runner::TestCaseError::fail("no flow slot")) };
            proptest::prop_assert_eq!(sp.rules.len(), 5);
            // Equal bytes at other addresses than the literals'.
            let leaked: &'static str = Box::leak(String::from("telnet").into_boxed_str());
            let apps = [None, Some("telnet"), Some(leaked), Some("http"), Some("ftp"), Some("")];
            let mut memo = Memo::default();
            for (udp, port, app) in flows {
                let mut ev = flow_event(if udp { IpProto::UDP } else { IpProto::TCP }, port, None);
                if let Some(f) = ev.flow.as_deref_mut() {
                    f.app_proto = apps[app % apps.len()];
                }
                let Some(f) = ev.flow.as_deref() else { continue };
                let sp = &plan.by_slot[0];
                let want = sp.candidates(f, 0);
                proptest::prop_assert_eq!(memo.candidates(0, 0, sp, f), want);
                for (i, rp) in sp.rules.iter().enumerate() {
                    let Some(rule) = set.rules.get(rp.rule) else { continue };
                    let holds = rule.mode.matches().iter().any(|m| {
                        service_holds(m, &f.key) && app_proto_holds(m, &ev, f)
                    });
                    proptest::prop_assert!(!holds || want & (1 << i) != 0, "{}", rule.meta.id);
                }
            }
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
