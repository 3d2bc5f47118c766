//! Signed timestamps: their formats, the tolerance, and its check.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::rejection::Rejection;

/// The default timestamp tolerance, in both directions: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The largest timestamp tolerance a scheme accepts: 1 hour. A larger one is
/// taken as this, and logged at `warn`.
///
/// Senders sign each attempt when they send it (a retry hours later carries
/// a fresh timestamp), so the tolerance only has to cover clock skew and
/// transit; providers advise 5 minutes. Past an hour the timestamp no longer
/// bounds how long a captured delivery can be replayed, and everything is
/// left to the replay guard's memory.
pub const MAX_TOLERANCE: Duration = Duration::from_secs(3600);

/// `tolerance`, at most [`MAX_TOLERANCE`].
pub(crate) fn bounded_tolerance(tolerance: Duration) -> Duration {
    if tolerance > MAX_TOLERANCE {
        tracing::warn!(
            requested = ?tolerance,
            max = ?MAX_TOLERANCE,
            "timestamp tolerance capped at the maximum"
        );
        MAX_TOLERANCE
    } else {
        tolerance
    }
}

/// How a sender writes its timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampFormat {
    /// Unix seconds as ASCII digits, optionally `-` first (Stripe, Slack,
    /// Standard Webhooks, Discord, SendGrid, Zoom).
    UnixSeconds,
    /// Unix milliseconds as ASCII digits (HubSpot v3, Linear).
    UnixMillis,
    /// RFC 3339, such as `2023-11-14T22:13:20.123456789Z` (Twitch). The
    /// text is signed exactly as sent; only the check reads its value.
    Rfc3339,
}

/// Why a timestamp did not parse: the caller names where it was.
pub(crate) type Invalid = &'static str;

impl TimestampFormat {
    /// The timestamp in unix seconds (milliseconds are truncated).
    pub(crate) fn parse(self, text: &str) -> Result<i64, Invalid> {
        match self {
            Self::UnixSeconds => parse_integer(text),
            Self::UnixMillis => parse_integer(text).map(|ms| ms.div_euclid(1000)),
            Self::Rfc3339 => parse_rfc3339(text),
        }
    }

    /// The text a sender would write for unix time `secs`.
    #[cfg(feature = "test-util")]
    pub(crate) fn format(self, secs: i64) -> String {
        match self {
            Self::UnixSeconds => secs.to_string(),
            Self::UnixMillis => (i128::from(secs) * 1000).to_string(),
            Self::Rfc3339 => {
                let days = secs.div_euclid(86_400);
                let rem = secs.rem_euclid(86_400);
                let (y, m, d) = civil_from_days(days);
                format!(
                    "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000000000Z",
                    rem / 3600,
                    rem % 3600 / 60,
                    rem % 60
                )
            }
        }
    }
}

/// ASCII digits with an optional leading `-`, fitting in an `i64`.
pub(crate) fn parse_integer(text: &str) -> Result<i64, Invalid> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("timestamp is not an integer");
    }
    text.parse().map_err(|_| "timestamp out of range")
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, `t`/`z` accepted as RFC 3339
/// allows. Every field is range-checked; leap seconds (`:60`) are refused.
fn parse_rfc3339(text: &str) -> Result<i64, Invalid> {
    const BAD: Invalid = "timestamp is not RFC 3339";
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Result<i64, Invalid> {
        let digits = b.get(range).ok_or(BAD)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(BAD);
        }
        Ok(digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let at = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt") && at(13, b":") && at(16, b":")) {
        return Err(BAD);
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(BAD);
    }
    let mut i = 19;
    if at(i, b".") {
        i += 1;
        let start = i;
        while at(i, b"0123456789") {
            i += 1;
        }
        if i == start || i - start > 9 {
            return Err(BAD);
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && at(i + 3, b":") => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return Err(BAD);
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return Err(BAD),
    };
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
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

#[cfg(feature = "test-util")]
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

/// Checks `timestamp` (unix seconds) against `now`: never older than
/// `tolerance`, and, when `two_sided`, never further ahead either.
pub(crate) fn check_tolerance(
    timestamp: i64,
    now: SystemTime,
    tolerance: Duration,
    two_sided: bool,
) -> Result<(), Rejection> {
    let now = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::from(d.as_secs()),
        Err(before) => -i128::from(before.duration().as_secs()),
    };
    let age = now - i128::from(timestamp);
    let limit = i128::from(tolerance.as_secs());
    let clamp = |v: i128| u64::try_from(v).unwrap_or(u64::MAX);
    if age > limit {
        Err(Rejection::TimestampTooOld { age_secs: clamp(age) })
    } else if two_sided && -age > limit {
        Err(Rejection::TimestampTooNew {
            ahead_secs: clamp(-age),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn tolerance_is_inclusive_and_two_sided_unless_asked() {
        let t = Duration::from_secs(300);
        assert!(check_tolerance(1000, at(1300), t, true).is_ok());
        assert!(check_tolerance(1300, at(1000), t, true).is_ok());
        assert_eq!(
            check_tolerance(1000, at(1301), t, true),
            Err(Rejection::TimestampTooOld { age_secs: 301 })
        );
        assert_eq!(
            check_tolerance(1301, at(1000), t, true),
            Err(Rejection::TimestampTooNew { ahead_secs: 301 })
        );
        assert!(check_tolerance(1301, at(1000), t, false).is_ok());
        assert!(check_tolerance(i64::MIN, at(1000), t, true).is_err());
        assert!(check_tolerance(i64::MAX, at(1000), t, true).is_err());
    }

    #[test]
    fn timestamps_must_be_plain_integers() {
        let f = TimestampFormat::UnixSeconds;
        assert_eq!(f.parse("1614265330"), Ok(1614265330));
        assert_eq!(f.parse("-5"), Ok(-5));
        for bad in ["", "-", "+5", "1.5", " 5", "5 ", "0x10", "99999999999999999999"] {
            assert!(f.parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(TimestampFormat::UnixMillis.parse("1700000000999"), Ok(1700000000));
    }

    #[test]
    fn reads_rfc_3339_with_fractions_and_offsets() {
        let f = TimestampFormat::Rfc3339;
        assert_eq!(f.parse("2023-11-14T22:13:20.123456789Z"), Ok(1_700_000_000));
        assert_eq!(f.parse("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert_eq!(f.parse("2023-11-15T00:13:20+02:00"), Ok(1_700_000_000));
        assert_eq!(f.parse("1970-01-01T00:00:00z"), Ok(0));
        assert_eq!(f.parse("2024-02-29t12:00:00-00:30"), Ok(1_709_209_800));
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-11-14 22:13:20Z",
            "2023-13-14T22:13:20Z",
            "2023-02-29T22:13:20Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:60Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20.1234567890Z",
            "2023-11-14T22:13:20+0200",
            "2023-11-14T22:13:20Zjunk",
            "12023-11-14T22:13:20Z",
            "+023-11-14T22:13:20Z",
            "2023-11-14T22:13:20.12345678９Z",
        ] {
            assert!(f.parse(bad).is_err(), "{bad:?}");
        }
    }

    #[cfg(feature = "test-util")]
    #[test]
    fn formats_what_it_parses() {
        for secs in [0, 1_700_000_000, 951_782_400, -86_401] {
            for f in [
                TimestampFormat::UnixSeconds,
                TimestampFormat::UnixMillis,
                TimestampFormat::Rfc3339,
            ] {
                assert_eq!(f.parse(&f.format(secs)), Ok(secs), "{f:?} {secs}");
            }
        }
    }
}
