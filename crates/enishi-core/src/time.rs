//! Time: instants are UTC; the business time zone decides what "a day" is and how local
//! times without an offset are read.

use crate::ParseError;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Day 0 of day numbers.
fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 exists")
}

/// The date of a day number (days since 1970-01-01), clamped to the dates chrono can hold.
pub fn date_of_day(day: i64) -> NaiveDate {
    match chrono::TimeDelta::try_days(day).and_then(|d| epoch().checked_add_signed(d)) {
        Some(date) => date,
        None if day < 0 => NaiveDate::MIN,
        None => NaiveDate::MAX,
    }
}

/// The day number (days since 1970-01-01) of a date.
pub fn day_of_date(date: NaiveDate) -> i64 {
    date.signed_duration_since(epoch()).num_days()
}

/// The workspace's business time zone, used to read local times and to cut days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessClock {
    tz: Tz,
}

impl Default for BusinessClock {
    fn default() -> Self {
        BusinessClock { tz: Tz::UTC }
    }
}

impl BusinessClock {
    /// A clock for the IANA time zone `name`, such as `Asia/Tokyo`.
    pub fn new(name: &str) -> Result<Self, ParseError> {
        name.parse::<Tz>()
            .map(|tz| BusinessClock { tz })
            .map_err(|_| ParseError::new(format!("'{name}' is not an IANA time zone (such as Asia/Tokyo)")))
    }

    /// The time zone's name.
    pub fn tz_name(&self) -> &'static str {
        self.tz.name()
    }

    /// Reads a timestamp. Accepted: RFC 3339 with an offset (`2026-11-20T18:05:00+09:00`),
    /// local date-times `YYYY-MM-DD HH:MM[:SS]` (also with `T`), US-style `M/D/YYYY H:MM`,
    /// and dates `YYYY-MM-DD` or `YYYYMMDD` (midnight, local). Local values are read in the
    /// business time zone; a local time that does not exist (a daylight-saving gap) is an error.
    pub fn parse_timestamp(&self, s: &str) -> Result<DateTime<Utc>, ParseError> {
        let t = s.trim();
        let naive = match fast_naive(t) {
            Some(n) => Some(n),
            None => {
                if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
                    return Ok(dt.with_timezone(&Utc));
                }
                parse_naive(t)
            }
        };
        let naive = naive.ok_or_else(|| {
            ParseError::new(format!(
                "'{s}' is not a date or time (expected e.g. 2026-11-20T18:05:00+09:00, 2026-11-20 18:05, 2026-11-20 or 20261120)"
            ))
        })?;
        self.tz
            .from_local_datetime(&naive)
            .earliest()
            .map(|d| d.with_timezone(&Utc))
            .ok_or_else(|| ParseError::new(format!("'{s}' does not exist in time zone {}", self.tz.name())))
    }

    /// The business day of an instant, as days since 1970-01-01.
    pub fn day_number(&self, at: DateTime<Utc>) -> i64 {
        day_of_date(at.with_timezone(&self.tz).date_naive())
    }

    /// When business day number `day` begins (its first instant, local midnight or the first
    /// moment after a gap).
    pub fn start_of_day(&self, day: i64) -> DateTime<Utc> {
        self.start_of(date_of_day(day))
    }

    /// The hour of the day (0–23) of an instant in the business time zone.
    pub fn local_hour(&self, at: DateTime<Utc>) -> u32 {
        use chrono::Timelike;
        at.with_timezone(&self.tz).hour()
    }

    /// The wall-clock time of an instant in the business time zone.
    pub fn local_time(&self, at: DateTime<Utc>) -> chrono::NaiveTime {
        at.with_timezone(&self.tz).time()
    }

    /// The business-calendar date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// The instant a business day starts (local midnight, or the first instant after it on a
    /// day whose midnight is skipped by daylight saving).
    pub fn start_of(&self, date: NaiveDate) -> DateTime<Utc> {
        let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
        match self.tz.from_local_datetime(&midnight).earliest() {
            Some(d) => d.with_timezone(&Utc),
            None => self.tz.from_utc_datetime(&midnight).with_timezone(&Utc),
        }
    }

    /// The wall-clock date and time of an instant in the business time zone.
    pub fn local_datetime(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.tz).naive_local()
    }

    /// The first instant at which the business clock reads `local` or later: the instant
    /// itself when that local time happens once; the first of the two when daylight saving
    /// repeats it; and when it is skipped (a daylight-saving gap), the first instant after the
    /// jump. Offsets change by whole minutes, so a gap ends on a whole minute.
    pub fn first_instant_from(&self, local: NaiveDateTime) -> DateTime<Utc> {
        use chrono::{TimeDelta, Timelike};
        if let Some(t) = self.tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        let mut minute = local.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(local);
        // No zone skips more than a day (Pacific/Apia skipped 2011-12-30 whole).
        for _ in 0..=2 * 24 * 60 {
            minute += TimeDelta::minutes(1);
            if let Some(t) = self.tz.from_local_datetime(&minute).earliest() {
                return t.with_timezone(&Utc);
            }
        }
        self.tz.from_utc_datetime(&local).with_timezone(&Utc)
    }

    /// An instant shown in the business time zone, as RFC 3339.
    pub fn format(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.tz).to_rfc3339()
    }

    /// An instant in the business time zone, written with a `chrono` format (`%Y-%m-%d %H:%M`).
    pub fn format_local(&self, at: DateTime<Utc>, format: &str) -> String {
        at.with_timezone(&self.tz).format(format).to_string()
    }
}

/// `YYYY-MM-DD HH:MM:SS` (or with `T`), read without a format parser: the common case of
/// large imports.
fn fast_naive(t: &str) -> Option<NaiveDateTime> {
    let b = t.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || (b[10] != b' ' && b[10] != b'T')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)
}

fn parse_naive(t: &str) -> Option<NaiveDateTime> {
    const DATETIME: [&str; 6] = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y %H:%M:%S",
    ];
    for f in DATETIME {
        if let Ok(v) = NaiveDateTime::parse_from_str(t, f) {
            return Some(v);
        }
    }
    let date = if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        NaiveDate::parse_from_str(t, "%Y%m%d").ok()
    } else {
        NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()
    };
    date.and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Reads a calendar date `YYYY-MM-DD` (a birthday, say).
pub fn parse_date(s: &str) -> Result<NaiveDate, ParseError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| ParseError::new(format!("'{s}' is not a date (expected YYYY-MM-DD)")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_formats() {
        let tokyo = BusinessClock::new("Asia/Tokyo").unwrap();
        let a = tokyo.parse_timestamp("2026-11-20T18:05:00+09:00").unwrap();
        assert_eq!(tokyo.parse_timestamp("2026-11-20 18:05").unwrap(), a);
        assert_eq!(tokyo.parse_timestamp("11/20/2026 18:05").unwrap(), a);
        assert_eq!(a.to_rfc3339(), "2026-11-20T09:05:00+00:00");
        let utc = BusinessClock::default();
        assert_eq!(utc.parse_timestamp("19970101").unwrap(), utc.parse_timestamp("1997-01-01").unwrap());
        assert!(utc.parse_timestamp("1997-13-01").is_err());
        assert!(utc.parse_timestamp("yesterday").is_err());
        assert!(BusinessClock::new("Mars/Olympus").is_err());
    }

    #[test]
    fn days_follow_the_business_zone() {
        let tokyo = BusinessClock::new("Asia/Tokyo").unwrap();
        let utc = BusinessClock::default();
        let late = utc.parse_timestamp("2026-11-20T20:00:00Z").unwrap();
        assert_eq!(tokyo.day_number(late), utc.day_number(late) + 1);
    }

    #[test]
    fn dst_gap_is_an_error() {
        let ny = BusinessClock::new("America/New_York").unwrap();
        assert!(ny.parse_timestamp("2026-03-08 02:30").is_err());
    }

    #[test]
    fn the_first_instant_from_a_local_time_handles_gaps_and_repeats() {
        let ny = BusinessClock::new("America/New_York").unwrap();
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // An ordinary time.
        assert_eq!(ny.first_instant_from(at("2026-06-01 14:00:00")), utc("2026-06-01T18:00:00Z"));
        // 2026-03-08 02:00–02:59 is skipped: 01:59:59 EST is followed by 03:00 EDT.
        assert_eq!(ny.first_instant_from(at("2026-03-08 02:30:00")), utc("2026-03-08T07:00:00Z"));
        assert_eq!(ny.first_instant_from(at("2026-03-08 02:00:00")), utc("2026-03-08T07:00:00Z"));
        assert_eq!(ny.first_instant_from(at("2026-03-08 03:00:00")), utc("2026-03-08T07:00:00Z"));
        assert_eq!(ny.first_instant_from(at("2026-03-08 01:59:00")), utc("2026-03-08T06:59:00Z"));
        // 2026-11-01 01:00–01:59 happens twice: the first (EDT) is taken.
        assert_eq!(ny.first_instant_from(at("2026-11-01 01:30:00")), utc("2026-11-01T05:30:00Z"));
        let t = utc("2026-11-01T06:30:00Z");
        assert_eq!(ny.local_datetime(t), at("2026-11-01 01:30:00"), "the second 01:30 (EST)");
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = BusinessClock::default().parse_timestamp(&s);
        }
    }
}
