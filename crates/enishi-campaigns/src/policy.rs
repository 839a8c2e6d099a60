//! The contact policy: how often a customer may get marketing messages, and the hours in
//! which none is sent. Kept in the workspace settings; the defaults are at most 2 messages per
//! 7 days per channel and no sending from 21:00 to 09:00 in the business time zone.

use crate::Error;
use chrono::{DateTime, NaiveTime, Utc};
use enishi_core::BusinessClock;
use enishi_store::repo::settings;
use enishi_store::Conn;

/// Settings key of the frequency cap: `N/D` (at most N messages per D days per channel).
pub const FREQUENCY_CAP: &str = "campaign_frequency_cap";
/// Settings key of the quiet hours: `HH:MM-HH:MM` in the business time zone, or `none`.
pub const QUIET_HOURS: &str = "campaign_quiet_hours";

/// The frequency cap and quiet hours in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// At most this many marketing messages…
    pub cap_messages: i64,
    /// …per this many days, per channel.
    pub cap_days: i64,
    /// No sending from the first time to the second (local); `None`: any time.
    pub quiet: Option<(NaiveTime, NaiveTime)>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            cap_messages: 2,
            cap_days: 7,
            quiet: Some((
                NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
                NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            )),
        }
    }
}

impl Policy {
    /// The policy in the workspace settings (defaults where unset).
    pub fn load(c: &mut dyn Conn) -> Result<Policy, Error> {
        let mut p = Policy::default();
        if let Some(v) = settings::get(c, FREQUENCY_CAP)? {
            (p.cap_messages, p.cap_days) = parse_cap(&v)?;
        }
        if let Some(v) = settings::get(c, QUIET_HOURS)? {
            p.quiet = parse_quiet(&v)?;
        }
        Ok(p)
    }

    /// Whether `at` falls in the quiet hours.
    pub fn is_quiet(&self, clock: &BusinessClock, at: DateTime<Utc>) -> bool {
        let Some((from, to)) = self.quiet else { return false };
        let t = clock.local_time(at);
        if from <= to {
            t >= from && t < to
        } else {
            t >= from || t < to
        }
    }

    /// The first instant at or after `at` outside the quiet hours.
    pub fn next_allowed(&self, clock: &BusinessClock, at: DateTime<Utc>) -> DateTime<Utc> {
        let mut t = at;
        // Minute steps find the end across time-zone changes too; at most a day of them.
        for _ in 0..(24 * 60) {
            if !self.is_quiet(clock, t) {
                return t;
            }
            t += chrono::Duration::minutes(1);
        }
        t
    }
}

/// Reads a frequency cap written `N/D`: at most N messages per D days (N 1–100, D 1–365).
pub fn parse_cap(v: &str) -> Result<(i64, i64), Error> {
    let bad = || {
        Error::Invalid(format!("frequency cap '{v}': write it as N/D, for example 2/7 (at most 2 messages per 7 days)"))
    };
    let (n, d) = v.trim().split_once('/').ok_or_else(bad)?;
    let n: i64 = n.trim().parse().map_err(|_| bad())?;
    let d: i64 = d.trim().parse().map_err(|_| bad())?;
    if !(1..=100).contains(&n) || !(1..=365).contains(&d) {
        return Err(bad());
    }
    Ok((n, d))
}

/// Reads quiet hours written `HH:MM-HH:MM` (may cross midnight), or `none`.
pub fn parse_quiet(v: &str) -> Result<Option<(NaiveTime, NaiveTime)>, Error> {
    if v.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let bad =
        || Error::Invalid(format!("quiet hours '{v}': write them as HH:MM-HH:MM, for example 21:00-09:00, or none"));
    let (a, b) = v.trim().split_once('-').ok_or_else(bad)?;
    let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").map_err(|_| bad())?;
    let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").map_err(|_| bad())?;
    if a == b {
        return Err(bad());
    }
    Ok(Some((a, b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn quiet_hours_cross_midnight_in_the_business_time_zone() {
        let clock = BusinessClock::new("Asia/Tokyo").unwrap();
        let p = Policy::default();
        let at =
            |h: u32, m: u32| chrono_tz::Asia::Tokyo.with_ymd_and_hms(2026, 12, 4, h, m, 0).unwrap().with_timezone(&Utc);
        assert!(!p.is_quiet(&clock, at(20, 59)));
        assert!(p.is_quiet(&clock, at(21, 0)));
        assert!(p.is_quiet(&clock, at(3, 0)));
        assert!(p.is_quiet(&clock, at(8, 59)));
        assert!(!p.is_quiet(&clock, at(9, 0)));
        assert_eq!(p.next_allowed(&clock, at(22, 30)), at(9, 0) + chrono::Duration::days(1));
        assert_eq!(p.next_allowed(&clock, at(10, 0)), at(10, 0));
    }

    #[test]
    fn settings_are_read_strictly() {
        assert_eq!(parse_cap("3/14").unwrap(), (3, 14));
        for bad in ["3", "0/7", "3/0", "x/7", "2/400"] {
            assert!(parse_cap(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_quiet("none").unwrap(), None);
        assert!(parse_quiet("25:00-09:00").is_err());
        assert!(parse_quiet("09:00-09:00").is_err());
    }
}
