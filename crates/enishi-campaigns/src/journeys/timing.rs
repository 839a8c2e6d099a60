//! When a journey's step goes out: its delay, the time of day it asks for (a fixed one, or
//! the customer's usual buying hour), and the quiet hours.

use crate::policy::Policy;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use enishi_core::BusinessClock;

/// The longest delay a step may have (a year).
pub const MAX_DELAY_SECONDS: i64 = 365 * 86_400;

/// Reads a delay: `0`, or a whole number with `m` (minutes), `h` (hours) or `d` (days), up to a
/// year. Seconds.
pub fn parse_delay(s: &str) -> Result<i64, String> {
    let bad = || format!("'{s}' is not a delay like 0, 30m, 48h or 7d (at most 365d)");
    let t = s.trim();
    if t == "0" {
        return Ok(0);
    }
    let unit = match t.chars().last() {
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => return Err(bad()),
    };
    let n: i64 = t[..t.len() - 1].parse().map_err(|_| bad())?;
    let seconds = n.checked_mul(unit).filter(|v| (0..=MAX_DELAY_SECONDS).contains(v)).ok_or_else(bad)?;
    Ok(seconds)
}

/// Reads a time of day written `HH:MM`.
pub fn parse_time_of_day(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| format!("'{s}' is not a time of day HH:MM"))
}

/// The hour (0–23, business time zone) a customer usually buys at: the most frequent hour of
/// their orders (`placed`, newest first), a tie going to the most recent. `None` without orders.
pub fn usual_hour(placed: &[i64], clock: &BusinessClock) -> Option<u32> {
    let mut counts = [0_u32; 24];
    let hours: Vec<u32> =
        placed.iter().filter_map(|&t| DateTime::from_timestamp(t, 0)).map(|t| clock.local_hour(t).min(23)).collect();
    for &h in &hours {
        counts[h as usize] += 1;
    }
    let best = counts.iter().copied().max().filter(|n| *n > 0)?;
    hours.into_iter().find(|h| counts[*h as usize] == best)
}

/// The first instant at or after `due` at which the business clock reads `time`.
pub fn next_time_of_day(due: DateTime<Utc>, time: NaiveTime, clock: &BusinessClock) -> DateTime<Utc> {
    let date = clock.local_date(due);
    for day in 0..=2 {
        let candidate = clock.first_instant_from((date + Duration::days(day)).and_time(time));
        if candidate >= due {
            return candidate;
        }
    }
    due
}

/// When a step due at `due` goes out: at its time of day if it asks for one, then outside the
/// quiet hours.
pub fn send_time(due: DateTime<Utc>, at: Option<NaiveTime>, policy: &Policy, clock: &BusinessClock) -> DateTime<Utc> {
    let t = at.map_or(due, |time| next_time_of_day(due, time, clock));
    policy.next_allowed(clock, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn tokyo(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Tokyo.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn delays_are_read_strictly() {
        assert_eq!(parse_delay("0"), Ok(0));
        assert_eq!(parse_delay("30m"), Ok(1800));
        assert_eq!(parse_delay("48h"), Ok(172_800));
        assert_eq!(parse_delay("7d"), Ok(604_800));
        for bad in ["", "7", "7x", "-1d", "366d", "99999999999999999d", "d"] {
            assert!(parse_delay(bad).is_err(), "{bad}");
        }
        assert!(parse_time_of_day("25:00").is_err());
    }

    #[test]
    fn the_usual_hour_is_the_most_frequent_the_latest_breaking_ties() {
        let clock = BusinessClock::new("Asia/Tokyo").unwrap();
        let at = |d, h| tokyo(d, h, 15).timestamp();
        assert_eq!(usual_hour(&[at(5, 19), at(4, 12), at(3, 19), at(2, 12), at(1, 8)], &clock), Some(19));
        assert_eq!(usual_hour(&[at(5, 12), at(4, 19)], &clock), Some(12));
        assert_eq!(usual_hour(&[], &clock), None);
    }

    #[test]
    fn a_time_of_day_is_the_next_one_and_quiet_hours_hold() {
        let clock = BusinessClock::new("Asia/Tokyo").unwrap();
        let policy = Policy::default();
        let nineteen = NaiveTime::from_hms_opt(19, 0, 0).unwrap();
        assert_eq!(send_time(tokyo(4, 10, 0), Some(nineteen), &policy, &clock), tokyo(4, 19, 0));
        assert_eq!(send_time(tokyo(4, 19, 30), Some(nineteen), &policy, &clock), tokyo(5, 19, 0));
        // 22:00 is in the quiet hours (21:00–09:00): the next morning at 09:00.
        let late = NaiveTime::from_hms_opt(22, 0, 0).unwrap();
        assert_eq!(send_time(tokyo(4, 10, 0), Some(late), &policy, &clock), tokyo(5, 9, 0));
        assert_eq!(send_time(tokyo(4, 23, 0), None, &policy, &clock), tokyo(5, 9, 0));
    }
}
