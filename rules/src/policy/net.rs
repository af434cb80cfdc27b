//! Address ranges (`10.1.0.0/16`, `fd00::/8`, a bare address is a /32 or /128) and the
//! internal/external split.

use std::net::IpAddr;

/// An address range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subnet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl std::str::FromStr for Subnet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| "not an IP address".to_string())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("prefix must be 0..={max}"))?,
        };
        Ok(Subnet { addr, prefix })
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Subnet {
    /// Whether `ip` is inside the range (never across address families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }

    /// The /24 (IPv4) or /64 (IPv6) around an address: how baselines summarise hosts that
    /// are not in the inventory.
    pub fn around(ip: IpAddr) -> Subnet {
        let prefix = if ip.is_ipv4() { 24 } else { 64 };
        Subnet::new_masked(ip, prefix)
    }

    /// The range of `prefix` bits that holds `ip` (host bits cleared).
    pub fn new_masked(ip: IpAddr, prefix: u8) -> Subnet {
        let addr = match ip {
            IpAddr::V4(a) => {
                let p = prefix.min(32);
                let mask = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let p = prefix.min(128);
                let mask = u128::MAX.checked_shl(128 - u32::from(p)).unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        };
        Subnet {
            addr,
            prefix: if ip.is_ipv4() {
                prefix.min(32)
            } else {
                prefix.min(128)
            },
        }
    }
}

/// Internal: private (RFC 1918, RFC 4193), link-local, loopback, CGNAT (RFC 6598),
/// multicast and broadcast (never a destination on the internet), or an operator range.
pub fn is_internal(ip: IpAddr, extra: &[Subnet]) -> bool {
    let builtin = match ip {
        IpAddr::V4(v) => {
            let o = v.octets();
            v.is_private()
                || v.is_link_local()
                || v.is_loopback()
                || v.is_multicast()
                || v.is_broadcast()
                || v.is_unspecified()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v) => {
            let s = v.segments()[0];
            (s & 0xfe00) == 0xfc00
                || (s & 0xffc0) == 0xfe80
                || v.is_loopback()
                || v.is_multicast()
                || v.is_unspecified()
        }
    };
    builtin || extra.iter().any(|s| s.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_parses_and_contains() {
        // Prefixes bound the match; a bare address is a host route; families never mix.
        let s: Subnet = "10.1.0.0/16".parse().unwrap();
        assert!(s.contains("10.1.200.3".parse().unwrap()));
        assert!(!s.contains("10.2.0.1".parse().unwrap()));
        assert!(!s.contains("::1".parse().unwrap()));
        let h: Subnet = "192.0.2.7".parse().unwrap();
        assert_eq!(h.prefix, 32);
        assert!(h.contains("192.0.2.7".parse().unwrap()));
        assert!(!h.contains("192.0.2.8".parse().unwrap()));
        let all: Subnet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let v6: Subnet = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Subnet>().is_err());
        assert!("ten/8".parse::<Subnet>().is_err());
        assert_eq!(
            Subnet::around("10.9.8.7".parse().unwrap()).to_string(),
            "10.9.8.0/24"
        );
    }

    #[test]
    fn internal_covers_private_ranges_and_operator_ranges() {
        // Private, link-local, CGNAT and multicast are internal; public is external unless
        // the operator lists it.
        for a in [
            "10.0.0.1",
            "172.16.3.4",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "224.0.0.251",
            "fe80::1",
            "fd00::1",
        ] {
            assert!(is_internal(a.parse().unwrap(), &[]), "{a}");
        }
        for a in ["8.8.8.8", "100.128.0.1", "2001:db8::1"] {
            assert!(!is_internal(a.parse().unwrap(), &[]), "{a}");
        }
        let extra: Vec<Subnet> = vec!["8.8.8.0/24".parse().unwrap()];
        assert!(is_internal("8.8.8.8".parse().unwrap(), &extra));
    }
}
