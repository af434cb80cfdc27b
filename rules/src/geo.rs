//! GeoIP and ASN lookups for external addresses, from MaxMind DB (`.mmdb`) files the
//! operator supplies: a GeoLite2/GeoIP2 City or Country database (or DB-IP's Lite
//! equivalents) for the country, a GeoLite2-ASN-shaped database for the autonomous system.
//!
//! Only public addresses are looked up: private, loopback, link-local, multicast, CGNAT and
//! unique-local addresses never reach the database (they have no country, and looking them
//! up would only cost time). Answers are memoised per address in a bounded cache
//! (`cache_entries`, two generations: the older one is dropped when the newer fills, so
//! recently used addresses survive and memory stays bounded whatever the traffic).
//!
//! Used by the policy engine (`countries` conditions, through [`CountryResolver`]) and by
//! the baselines (`countries` and `asns` sets, and the evidence of external-peer alerts).
//!
//! The databases are read whole into memory at start (no `unsafe` memory map in this
//! crate); a GeoLite2 City file is about 60 MB. A missing, unreadable or corrupt file, or
//! one of the wrong kind (an ASN database given as `city_db`), is a start error naming the
//! path.

use crate::policy::net::is_internal;
use crate::policy::CountryResolver;
use maxminddb::{path, Reader};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// `[geoip]` in the configuration file.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GeoConfig {
    /// A GeoLite2/GeoIP2 City database (`.mmdb`) giving the country of public addresses
    /// (for `countries` policy conditions and the baselines' `countries`). Unset (the
    /// default): no country lookups. Set this or `country_db`, not both.
    pub city_db: Option<PathBuf>,
    /// A GeoLite2/GeoIP2 Country database (smaller than City; the same answers here).
    pub country_db: Option<PathBuf>,
    /// A GeoLite2-ASN database giving the autonomous system (number and organisation) of
    /// public addresses (for the baselines' `asns`). Unset (the default): no ASN lookups.
    pub asn_db: Option<PathBuf>,
    /// Addresses whose answers are remembered (each is a few dozen bytes).
    pub cache_entries: usize,
}

impl Default for GeoConfig {
    fn default() -> Self {
        GeoConfig {
            city_db: None,
            country_db: None,
            asn_db: None,
            cache_entries: 65_536,
        }
    }
}

/// Longest AS organisation name kept (longer ones are cut at a character boundary).
pub const MAX_ORG_LEN: usize = 96;

/// What the databases say about one address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeoInfo {
    /// ISO 3166-1 alpha-2 code (upper case).
    pub country: Option<[u8; 2]>,
    /// Autonomous system number and organisation.
    pub asn: Option<u32>,
    pub as_org: Option<Arc<str>>,
}

impl GeoInfo {
    /// The country code as text.
    pub fn country_str(&self) -> Option<&str> {
        self.country
            .as_ref()
            .and_then(|c| std::str::from_utf8(c).ok())
    }
}

/// Lookup counters (for metrics and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeoStats {
    /// Lookups answered from the cache.
    pub cache_hits: u64,
    /// Lookups that went to the databases.
    pub db_lookups: u64,
    /// Database records that could not be decoded (treated as unknown).
    pub decode_errors: u64,
    /// Addresses skipped because they are not public.
    pub not_public: u64,
}

struct Cache {
    cap: usize,
    new: HashMap<IpAddr, GeoInfo, foldhash::fast::RandomState>,
    old: HashMap<IpAddr, GeoInfo, foldhash::fast::RandomState>,
    stats: GeoStats,
}

/// The opened databases and their cache. Shared (`Arc`) by the policy engine and the
/// baselines on the analysis thread.
pub struct Geo {
    country: Option<Reader<Vec<u8>>>,
    asn: Option<Reader<Vec<u8>>>,
    cache: Mutex<Cache>,
}

fn open_db(what: &str, p: &Path, kinds: &[&str]) -> Result<Reader<Vec<u8>>, String> {
    let r = Reader::open_readfile(p).map_err(|e| format!("[geoip] {what} {}: {e}", p.display()))?;
    let ty = r.metadata().database_type.to_ascii_lowercase();
    if !kinds.iter().any(|k| ty.contains(k)) {
        return Err(format!(
            "[geoip] {what} {}: database type `{}` is not a {} database",
            p.display(),
            r.metadata().database_type,
            kinds.join("/")
        ));
    }
    Ok(r)
}

/// Whether an address may have a country: public unicast, not internal by the built-in
/// ranges. IPv4-mapped IPv6 addresses are judged (and looked up) as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    !is_internal(canonical(ip), &[])
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v) => match v.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

impl Geo {
    /// Opens the configured databases; `None` when none is configured.
    pub fn open(cfg: &GeoConfig) -> Result<Option<Arc<Geo>>, String> {
        if cfg.city_db.is_some() && cfg.country_db.is_some() {
            return Err("[geoip] set city_db or country_db, not both".into());
        }
        let country = match cfg.city_db.as_deref() {
            Some(p) => Some(open_db("city_db", p, &["city", "country"])?),
            None => match cfg.country_db.as_deref() {
                Some(p) => Some(open_db("country_db", p, &["country", "city"])?),
                None => None,
            },
        };
        let asn = match cfg.asn_db.as_deref() {
            Some(p) => Some(open_db("asn_db", p, &["asn"])?),
            None => None,
        };
        if country.is_none() && asn.is_none() {
            return Ok(None);
        }
        Ok(Some(Arc::new(Geo::from_readers(
            country,
            asn,
            cfg.cache_entries,
        ))))
    }

    fn from_readers(
        country: Option<Reader<Vec<u8>>>,
        asn: Option<Reader<Vec<u8>>>,
        cap: usize,
    ) -> Geo {
        Geo {
            country,
            asn,
            cache: Mutex::new(Cache {
                cap: cap.max(2),
                new: HashMap::default(),
                old: HashMap::default(),
                stats: GeoStats::default(),
            }),
        }
    }

    /// Whether a country database is loaded.
    pub fn has_country(&self) -> bool {
        self.country.is_some()
    }

    /// Whether an ASN database is loaded.
    pub fn has_asn(&self) -> bool {
        self.asn.is_some()
    }

    /// Counters so far.
    pub fn stats(&self) -> GeoStats {
        self.cache.lock().map(|c| c.stats).unwrap_or_default()
    }

    /// What the databases say about `ip` (nothing for a non-public address).
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo {
        let ip = canonical(ip);
        let Ok(mut c) = self.cache.lock() else {
            return GeoInfo::default();
        };
        if !is_public(ip) {
            c.stats.not_public += 1;
            return GeoInfo::default();
        }
        if let Some(g) = c.new.get(&ip).cloned() {
            c.stats.cache_hits += 1;
            return g;
        }
        if let Some(g) = c.old.remove(&ip) {
            c.stats.cache_hits += 1;
            c.insert(ip, g.clone());
            return g;
        }
        c.stats.db_lookups += 1;
        let (g, errors) = self.query(ip);
        c.stats.decode_errors += errors;
        c.insert(ip, g.clone());
        g
    }

    fn query(&self, ip: IpAddr) -> (GeoInfo, u64) {
        let mut g = GeoInfo::default();
        let mut errors = 0;
        if let Some(r) = &self.country {
            match r.lookup(ip) {
                Ok(res) => {
                    // The country the address is in, else the one it is registered to
                    // (anycast and satellite ranges often have only the latter).
                    let a = res.decode_path::<&str>(&path!["country", "iso_code"]);
                    let b = || res.decode_path::<&str>(&path!["registered_country", "iso_code"]);
                    let code = match a {
                        Ok(Some(c)) => Some(c),
                        Ok(None) => b().unwrap_or_else(|_| {
                            errors += 1;
                            None
                        }),
                        Err(_) => {
                            errors += 1;
                            None
                        }
                    };
                    g.country = code.and_then(|c| match c.as_bytes() {
                        [x, y] if x.is_ascii_alphabetic() && y.is_ascii_alphabetic() => {
                            Some([x.to_ascii_uppercase(), y.to_ascii_uppercase()])
                        }
                        _ => None,
                    });
                }
                Err(_) => errors += 1,
            }
        }
        if let Some(r) = &self.asn {
            match r.lookup(ip) {
                Ok(res) => {
                    match res.decode_path::<u32>(&path!["autonomous_system_number"]) {
                        Ok(n) => g.asn = n,
                        Err(_) => errors += 1,
                    }
                    match res.decode_path::<&str>(&path!["autonomous_system_organization"]) {
                        Ok(o) => g.as_org = o.map(|o| Arc::from(cut(o, MAX_ORG_LEN))),
                        Err(_) => errors += 1,
                    }
                }
                Err(_) => errors += 1,
            }
        }
        (g, errors)
    }
}

impl Cache {
    fn insert(&mut self, ip: IpAddr, g: GeoInfo) {
        if self.new.len() >= self.cap / 2 {
            self.old = std::mem::take(&mut self.new);
        }
        self.new.insert(ip, g);
    }
}

/// The policy engine's view: countries only.
pub struct GeoResolver(pub Arc<Geo>);

impl CountryResolver for GeoResolver {
    fn country(&self, ip: IpAddr) -> Option<[u8; 2]> {
        self.0.lookup(ip).country
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_never_public() {
        // The addresses that must never reach the database.
        for a in [
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "224.0.0.251",
            "255.255.255.255",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(a.parse().unwrap()), "{a}");
        }
        for a in ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"] {
            assert!(is_public(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn missing_corrupt_or_conflicting_databases_are_start_errors_naming_the_path() {
        // A bad database path fails the start with the path in the message.
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.mmdb");
        let e = Geo::open(&GeoConfig {
            city_db: Some(missing.clone()),
            ..GeoConfig::default()
        })
        .err()
        .unwrap();
        assert!(e.contains("city_db") && e.contains("nope.mmdb"), "{e}");
        let corrupt = dir.path().join("corrupt.mmdb");
        std::fs::write(&corrupt, b"not a maxmind database at all").unwrap();
        let e = Geo::open(&GeoConfig {
            asn_db: Some(corrupt),
            ..GeoConfig::default()
        })
        .err()
        .unwrap();
        assert!(e.contains("asn_db") && e.contains("corrupt.mmdb"), "{e}");
        let e = Geo::open(&GeoConfig {
            city_db: Some(missing.clone()),
            country_db: Some(missing),
            ..GeoConfig::default()
        })
        .err()
        .unwrap();
        assert!(e.contains("not both"), "{e}");
        assert!(Geo::open(&GeoConfig::default()).unwrap().is_none());
    }

    #[test]
    fn cache_stays_bounded_and_keeps_recent_addresses() {
        // Two generations of at most cap/2 each; a recently used address is a hit.
        let g = Geo::from_readers(None, None, 8);
        for i in 0..100u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0808_0000 + i));
            g.lookup(ip);
            g.lookup(ip);
        }
        let c = g.cache.lock().unwrap();
        assert!(c.new.len() + c.old.len() <= 8);
        assert_eq!(c.stats.db_lookups, 100);
        assert_eq!(c.stats.cache_hits, 100);
    }

    #[test]
    fn org_names_are_cut_at_a_character_boundary() {
        // A long organisation name is cut without splitting a character.
        let s = "é".repeat(100);
        let c = cut(&s, MAX_ORG_LEN);
        assert!(c.len() <= MAX_ORG_LEN && c.chars().all(|x| x == 'é'));
    }
}
