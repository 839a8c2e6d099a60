//! Finding the occurrences of a journey's trigger: who enters, for what, and when.
//!
//! Event triggers look at a window of the trigger's time: from the journey's creation (nothing
//! before it enters) or [`LOOK_BACK_SECONDS`] ago, whichever is later, up to now. A pass that
//! runs every minute sees each occurrence many times; the occurrence key makes the entry once.

use super::document::Trigger;
use crate::Error;
use chrono::{DateTime, Datelike, Duration, NaiveDate};
use enishi_core::BusinessClock;
use enishi_store::repo::journeys::{self as repo, Found, NewEnrolment};
use enishi_store::Conn;

/// How far back a pass looks for occurrences it may have missed (a server that was down):
/// two days.
pub const LOOK_BACK_SECONDS: i64 = 2 * 86_400;

/// The occurrences of `trigger` a pass at `now` enters, for a journey created at `created_at`.
pub fn occurrences(
    c: &mut dyn Conn,
    trigger: &Trigger,
    created_at: i64,
    now: i64,
    calendar: &BusinessClock,
) -> Result<Vec<NewEnrolment>, Error> {
    let from = created_at.max(now - LOOK_BACK_SECONDS);
    if from > now {
        return Ok(Vec::new());
    }
    // (customer, key, event time) with the key's prefix and the trigger's delay after the event.
    let keyed = |found: Vec<Found>, prefix: &str, delay: i64| -> Vec<NewEnrolment> {
        found
            .into_iter()
            .map(|(customer_id, key, at)| NewEnrolment {
                customer_id,
                occurrence: format!("{prefix}{key}"),
                occurred_at: at,
                entered_at: at + delay,
            })
            .collect()
    };
    Ok(match trigger {
        Trigger::FirstPurchase => repo::first_orders(c, from, now)?
            .into_iter()
            .map(|(customer_id, _, at)| NewEnrolment {
                customer_id,
                occurrence: "first".into(),
                occurred_at: at,
                entered_at: at,
            })
            .collect(),
        Trigger::DaysAfterOrder { days } => {
            let d = i64::from(*days) * 86_400;
            keyed(repo::orders_between(c, from - d, now - d)?, "order:", d)
        }
        Trigger::LoyalLapsing { classes, days } => {
            let d = i64::from(*days) * 86_400;
            keyed(repo::last_orders_of_classes(c, classes, from - d, now - d)?, "lapse:", d)
        }
        Trigger::CartAbandoned { event, hours } => {
            let h = i64::from(*hours) * 3600;
            keyed(repo::events_without_order(c, event, i64::from(*hours), from - h, now - h)?, "event:", h)
        }
        Trigger::Lifecycle { stage } => keyed(repo::lifecycle_changes(c, stage, from, now)?, "lifecycle:", 0),
        Trigger::PointsExpiring { within_days } => {
            let until = now.saturating_add(i64::from(*within_days) * 86_400);
            repo::points_expiring(c, now, until)?
                .into_iter()
                .map(|(customer_id, _, first_expiry)| {
                    let date = DateTime::from_timestamp(first_expiry, 0).map(|t| calendar.local_date(t));
                    NewEnrolment {
                        customer_id,
                        occurrence: format!("points:{}", date.map(|d| d.to_string()).unwrap_or_default()),
                        occurred_at: now,
                        entered_at: now,
                    }
                })
                .collect()
        }
        Trigger::Birthday { days_before } => birthdays(c, i64::from(*days_before), from, now, calendar)?,
    })
}

/// Customers whose birthday is `days_before` after one of the business days from `from`'s to
/// `now`'s, entered at the start of that day. A 29 February birthday is kept on 28 February
/// in other years.
fn birthdays(
    c: &mut dyn Conn,
    days_before: i64,
    from: i64,
    now: i64,
    calendar: &BusinessClock,
) -> Result<Vec<NewEnrolment>, Error> {
    let (Some(first), Some(last)) = (DateTime::from_timestamp(from, 0), DateTime::from_timestamp(now, 0)) else {
        return Ok(Vec::new());
    };
    let (first, last) = (calendar.local_date(first), calendar.local_date(last));
    let mut out = Vec::new();
    let mut day = first;
    while day <= last {
        let birthday = day + Duration::days(days_before);
        let mut month_days = vec![birthday.format("%m-%d").to_string()];
        let leap = NaiveDate::from_ymd_opt(birthday.year(), 2, 29).is_some();
        if !leap && birthday.month() == 2 && birthday.day() == 28 {
            month_days.push("02-29".into());
        }
        let start = calendar.start_of(day).timestamp();
        for (customer_id, _) in repo::birthdays(c, &month_days)? {
            out.push(NewEnrolment {
                customer_id,
                occurrence: format!("birthday:{}", birthday.year()),
                occurred_at: start,
                entered_at: start,
            });
        }
        day += Duration::days(1);
    }
    Ok(out)
}
