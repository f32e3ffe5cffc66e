//! Timestamps as Shopify shows them: whole seconds, UTC, `2026-01-01T00:00:00Z`.
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, shown as ISO 8601 in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From seconds since the epoch.
    pub fn from_secs(secs: i64) -> Self {
        Timestamp(secs)
    }

    /// Seconds since the epoch.
    pub fn secs(self) -> i64 {
        self.0
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Timestamp(secs)
    }

    /// This time plus `secs` seconds.
    pub fn plus_secs(self, secs: i64) -> Self {
        Timestamp(self.0 + secs)
    }

    /// Parse `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS` with an optional fraction and `Z` or
    /// `±HH:MM`, as Shopify's search syntax and DateTime inputs accept.
    ///
    /// ```
    /// use shopify_sync_sim::clock::Timestamp;
    /// let t = Timestamp::parse("2026-01-01T01:00:00+01:00").unwrap();
    /// assert_eq!(t.to_string(), "2026-01-01T00:00:00Z");
    /// assert!(Timestamp::parse("yesterday").is_none());
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let num = |a: usize, b: usize| -> Option<i64> {
            let part = s.get(a..b)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        if s.get(4..5)? != "-"
            || s.get(7..8)? != "-"
            || !(1..=12).contains(&m)
            || !(1..=31).contains(&d)
        {
            return None;
        }
        let mut secs = days_from_civil(y, m, d) * 86_400;
        if s.len() == 10 {
            return Some(Timestamp(secs));
        }
        if !matches!(s.get(10..11)?, "T" | " ") || s.get(13..14)? != ":" || s.get(16..17)? != ":" {
            return None;
        }
        let (hh, mm, ss) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        secs += hh * 3600 + mm * 60 + ss;
        let mut rest = &s[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            rest = &frac[digits..];
        }
        match rest {
            "" | "Z" | "z" => Some(Timestamp(secs)),
            _ => {
                let sign = match rest.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let tz = &rest[1..];
                if tz.len() != 5 || &tz[2..3] != ":" {
                    return None;
                }
                let oh: i64 = tz[..2].parse().ok()?;
                let om: i64 = tz[3..].parse().ok()?;
                Some(Timestamp(secs - sign * (oh * 3600 + om * 60)))
            }
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let rem = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an ISO 8601 timestamp: {s:?}")))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        for secs in [0, 951_782_400, 1_767_225_600, 4_102_444_799] {
            let t = Timestamp(secs);
            assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        }
        assert_eq!(Timestamp(1_767_225_600).to_string(), "2026-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::parse("2024-02-29").unwrap().to_string(),
            "2024-02-29T00:00:00Z"
        );
        assert_eq!(
            Timestamp::parse("2026-06-30T11:18:48.123Z")
                .unwrap()
                .to_string(),
            "2026-06-30T11:18:48Z"
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "2026",
            "2026-13-01",
            "2026-01-01T25:00:00Z",
            "2026-01-01T00:00:00+0100",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}
