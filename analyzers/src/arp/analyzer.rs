//! The per-worker ARP binding table: an event for a new binding or a changed MAC.

use super::event::*;
use super::wire::{self, ArpError};
use super::ArpConfig;
use model::{MacAddr, Timestamp};
use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

/// IP-to-MAC bindings of one worker, bounded; the oldest binding is forgotten first.
#[derive(Debug, Default)]
pub struct ArpTable {
    /// IP -> (MAC, capture time the binding was last reported).
    map: HashMap<Ipv4Addr, (MacAddr, Timestamp)>,
    /// Insertion order, for forgetting the oldest binding at the cap.
    order: VecDeque<Ipv4Addr>,
}

fn binds(mac: &[u8; 6]) -> bool {
    // Zero, broadcast and multicast (group bit) MACs are not a station's address.
    *mac != [0; 6] && mac[0] & 1 == 0
}

impl ArpTable {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// One ARP packet: the event to emit, if any; anomaly codes go to `anomalies`.
    pub fn on_arp(
        &mut self,
        cfg: &ArpConfig,
        ts: Timestamp,
        src_mac: MacAddr,
        vlan: Option<u16>,
        payload: &[u8],
        anomalies: &mut Vec<&'static str>,
    ) -> Option<ArpEvent> {
        let a = match wire::parse_arp(payload) {
            Ok(a) => a,
            Err(ArpError::Truncated) => {
                anomalies.push(TRUNCATED);
                return None;
            }
            Err(ArpError::NotIpv4Ethernet) => {
                anomalies.push(NOT_IPV4_ETHERNET);
                return None;
            }
        };
        let opcode = match a.opcode {
            wire::OP_REQUEST => "request",
            wire::OP_REPLY => "reply",
            _ => {
                anomalies.push(OTHER_OPCODE);
                return None;
            }
        };
        if a.sender_ip.is_unspecified() || !binds(&a.sender_mac) {
            return None;
        }
        let mac = MacAddr(a.sender_mac);
        let refresh_us = cfg.refresh_secs.saturating_mul(1_000_000);
        let mut refreshed = false;
        let previous = match self.map.get_mut(&a.sender_ip) {
            Some((m, at)) if *m == mac => {
                // The same binding: silent, unless it was last reported refresh_secs ago.
                if cfg.refresh_secs == 0 || ts.micros_since(*at) < refresh_us {
                    return None;
                }
                *at = ts;
                refreshed = true;
                None
            }
            Some((m, at)) => {
                *at = ts;
                Some(std::mem::replace(m, mac))
            }
            None => {
                if cfg.max_bindings == 0 {
                    return None;
                }
                while self.map.len() >= cfg.max_bindings {
                    let Some(old) = self.order.pop_front() else {
                        break;
                    };
                    self.map.remove(&old);
                    anomalies.push(BINDING_TABLE_FULL);
                }
                self.map.insert(a.sender_ip, (mac, ts));
                self.order.push_back(a.sender_ip);
                None
            }
        };
        Some(ArpEvent {
            src_mac,
            vlan,
            opcode,
            sender_mac: mac,
            sender_ip: a.sender_ip,
            target_mac: MacAddr(a.target_mac),
            target_ip: a.target_ip,
            gratuitous: a.sender_ip == a.target_ip,
            previous_mac: previous,
            refreshed,
        })
    }
}
