//! The SNMP datagram analyzer: each datagram decoded on its own into one event.

use super::event::*;
use super::wire::{self, MessageError};
use super::SnmpConfig;
use model::{Cx, DatagramAnalyzer, Direction, EventKind};

/// The SNMP analyzer of one UDP flow.
pub struct SnmpAnalyzer {
    cfg: SnmpConfig,
}

impl SnmpAnalyzer {
    pub fn new(cfg: &SnmpConfig) -> Self {
        SnmpAnalyzer { cfg: cfg.clone() }
    }
}

/// Decodes one datagram into its event, pushing anomaly codes to `anomalies`. `None` when
/// it is not an SNMP message of a known version.
pub fn decode(cfg: &SnmpConfig, b: &[u8], anomalies: &mut Vec<&'static str>) -> Option<SnmpEvent> {
    let m = match wire::parse_message(b, cfg.max_vars) {
        Ok(m) => m,
        Err(MessageError::NotSnmp) => {
            anomalies.push(BAD_BER);
            return None;
        }
        Err(MessageError::UnknownVersion(_)) => {
            anomalies.push(UNKNOWN_VERSION);
            return None;
        }
    };
    let mut ev = SnmpEvent {
        version: match m.version {
            wire::VERSION_1 => 1,
            wire::VERSION_2C => 2,
            _ => 3,
        },
        pdu_type: m.pdu_tag.map_or("unknown", wire::pdu_type_name),
        community_present: m.community.is_some(),
        // Compared in place; the value is never copied.
        community_default: m
            .community
            .is_some_and(|c| DEFAULT_COMMUNITIES.contains(&c)),
        truncated: m.truncated,
        ..SnmpEvent::default()
    };
    if m.version == wire::VERSION_3 {
        ev.security_level = m.msg_flags.map(|f| match f & 0x03 {
            0 => "no_auth_no_priv",
            1 => "auth_no_priv",
            3 => "auth_priv",
            // Priv without auth is invalid (RFC 3412 7.2 step 5).
            _ => "invalid",
        });
        if m.encrypted {
            ev.pdu_type = "encrypted";
        }
    }
    for oid in &m.vars {
        match wire::parse_oid(oid) {
            Some(mut s) => {
                if s.len() > cfg.max_oid_bytes {
                    // Dotted form is ASCII: any byte index is a character boundary.
                    s.truncate(cfg.max_oid_bytes);
                }
                ev.vars.push(s);
            }
            None => ev.truncated = true,
        }
    }
    if m.vars_capped {
        anomalies.push(TOO_MANY_VARS);
    }
    if ev.truncated {
        anomalies.push(TRUNCATED);
    }
    Some(ev)
}

impl DatagramAnalyzer for SnmpAnalyzer {
    fn on_datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, payload: &[u8]) {
        let mut anomalies = Vec::new();
        let ev = decode(&self.cfg, payload, &mut anomalies);
        for a in anomalies {
            cx.anomaly(NAME, a, Some(dir));
        }
        if let Some(ev) = ev {
            cx.emit(EventKind::Snmp(Box::new(ev)));
        }
    }
}
