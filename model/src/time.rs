//! Capture timestamps. Every timer in wardwatch runs on these, never on the wall clock.

use serde::{Serialize, Serializer};
use std::fmt;

/// A packet's capture time, microseconds since the Unix epoch (UTC).
///
/// Microseconds match Suricata's EVE precision; nanosecond captures are truncated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp(0);

    pub fn from_secs_micros(secs: i64, micros: i64) -> Self {
        Timestamp(secs.saturating_mul(1_000_000).saturating_add(micros))
    }
    pub fn from_secs_nanos(secs: i64, nanos: i64) -> Self {
        Timestamp(secs.saturating_mul(1_000_000).saturating_add(nanos / 1000))
    }
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
    pub fn subsec_micros(self) -> i64 {
        self.0.rem_euclid(1_000_000)
    }
    pub fn micros(self) -> i64 {
        self.0
    }
    pub fn saturating_add_secs(self, s: u64) -> Self {
        Timestamp(self.0.saturating_add((s as i64).saturating_mul(1_000_000)))
    }
    /// Microseconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn micros_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0).max(0) as u64
    }
    /// Milliseconds (fractional) from `earlier` to `self`, zero if negative.
    pub fn millis_since(self, earlier: Timestamp) -> f64 {
        self.micros_since(earlier) as f64 / 1000.0
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
/// "00" to "99", two bytes each.
const PAIRS: &[u8; 200] = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Timestamp {
    /// Suricata's EVE form, `2025-03-03T08:00:00.123456+0000`, written without the
    /// formatting machinery (one of these per event adds up on large replays).
    pub fn eve_bytes(&self) -> [u8; 31] {
        let secs = self.secs();
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let mut b = *b"0000-00-00T00:00:00.000000+0000";
        let y = y.clamp(0, 9999) as u32;
        let us = self.subsec_micros() as u32;
        let sod = sod as u32;
        // Two digits per step from a table: half the divisions of one digit at a time.
        for (at, v) in [
            (0, y / 100),
            (2, y % 100),
            (5, m),
            (8, d),
            (11, sod / 3600),
            (14, (sod / 60) % 60),
            (17, sod % 60),
            (20, us / 10_000),
            (22, (us / 100) % 100),
            (24, us % 100),
        ] {
            let i = (v % 100) as usize * 2;
            if let (Some(dst), Some(src)) = (b.get_mut(at..at + 2), PAIRS.get(i..i + 2)) {
                dst.copy_from_slice(src);
            }
        }
        b
    }
}

impl fmt::Display for Timestamp {
    /// Suricata's EVE form: `2025-03-03T08:00:00.123456+0000` (years outside 0..=9999 are
    /// clamped; a capture claiming them is broken anyway).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.eve_bytes();
        f.write_str(std::str::from_utf8(&b).unwrap_or("0000-00-00T00:00:00.000000+0000"))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b = self.eve_bytes();
        s.serialize_str(std::str::from_utf8(&b).unwrap_or("0000-00-00T00:00:00.000000+0000"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_formats_like_suricata() {
        // 2025-03-03T08:00:00.123456 UTC
        let t = Timestamp::from_secs_micros(1_740_988_800, 123_456);
        assert_eq!(t.to_string(), "2025-03-03T08:00:00.123456+0000");
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000+0000");
        // Leap day and a pre-epoch time (hostile pcaps carry negative timestamps).
        assert_eq!(
            Timestamp::from_secs_micros(951_782_400, 1).to_string(),
            "2000-02-29T00:00:00.000001+0000"
        );
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999999+0000");
    }

    /// The digit-at-a-time form the table replaced, as a reference.
    fn reference(t: Timestamp) -> String {
        let secs = t.secs();
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+0000",
            y.clamp(0, 9999),
            m,
            d,
            sod / 3600,
            (sod / 60) % 60,
            sod % 60,
            t.subsec_micros()
        )
    }

    proptest::proptest! {
        #[test]
        fn timestamp_digits_match_the_reference(us in -62_167_219_200_000_000i64..253_402_300_800_000_000) {
            // Every field of every time from year 0 to 9999 lands in its place.
            let t = Timestamp(us);
            proptest::prop_assert_eq!(t.to_string(), reference(t));
        }
    }

    #[test]
    fn timestamp_extremes_do_not_panic() {
        let _ = Timestamp(i64::MIN).to_string();
        let _ = Timestamp(i64::MAX).to_string();
        assert_eq!(Timestamp(5).micros_since(Timestamp(10)), 0);
    }
}
