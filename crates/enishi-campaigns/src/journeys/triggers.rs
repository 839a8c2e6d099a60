//! Finding the occurrences of a journey's trigger: who enters, for what, and when.
//!
//! Event triggers look at a window of the trigger's time: from the journey's creation (nothing
//! before it enters) or [`LOOK_BACK_SECONDS`] ago, whichever is later, up to now. A pass that
//! runs every minute sees each occurrence many times; the occurrence key makes the entry once.

use super::document::Trigger;
use crate::Error;
use chrono::{DateTime, Datelike, Duration, NaiveDate};
use enishi_core::BusinessClock;
use enishi_rewards::Programs;
use enishi_store::repo::journeys::{self as repo, Found, NewEnrolment};
use enishi_store::Conn;
use serde::Deserialize;
use std::collections::BTreeMap;

/// How far back a pass looks for occurrences it may have missed (a server that was down):
/// two days.
pub const LOOK_BACK_SECONDS: i64 = 2 * 86_400;

/// The occurrences of `trigger` a pass at `now` enters, for the journey `journey_id` created
/// at `created_at`.
pub fn occurrences(
    c: &mut dyn Conn,
    journey_id: i64,
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
        Trigger::TierUpgrade { tier } => {
            let programs = Programs::load(c, *calendar)?;
            tier_upgrades(c, &programs, tier.as_deref(), from, now)?
        }
        Trigger::PromotionStarted { promotion } => {
            let programs = Programs::load(c, *calendar)?;
            promotions_started(c, &programs, journey_id, promotion.as_deref(), from, now)?
        }
        Trigger::StampCardOneShort { card } => {
            let programs = Programs::load(c, *calendar)?;
            cards_one_short(c, &programs, card.as_deref(), from, now)?
        }
    })
}

/// A tier's rank in the programme in force at `at` (0 the lowest); no tier ranks as the lowest.
fn rank(programs: &Programs, at: i64, tier: Option<&str>) -> Option<usize> {
    let (_, p) = programs.at(at).or_else(|| programs.latest())?;
    match tier {
        None => Some(0),
        Some(t) => p.doc.tiers.as_ref()?.levels.iter().position(|l| l.id == t),
    }
}

/// Tier changes in `[from, now]` that moved the customer up (to `tier` only, when named),
/// entered at the change. Key: the change.
fn tier_upgrades(
    c: &mut dyn Conn,
    programs: &Programs,
    tier: Option<&str>,
    from: i64,
    now: i64,
) -> Result<Vec<NewEnrolment>, Error> {
    let mut out = Vec::new();
    for (id, customer_id, before, after, at) in repo::tier_changes(c, from, now)? {
        if tier.is_some_and(|t| t != after) {
            continue;
        }
        let (Some(up), Some(down)) = (rank(programs, at, Some(&after)), rank(programs, at, before.as_deref())) else {
            continue;
        };
        if up > down {
            out.push(NewEnrolment { customer_id, occurrence: format!("tier:{id}"), occurred_at: at, entered_at: at });
        }
    }
    Ok(out)
}

/// What the announcement of a promotion says (the payload of `loyalty.promotion_started`).
#[derive(Debug, Deserialize)]
struct Announcement {
    promotion_id: String,
    #[serde(default)]
    tiers: Vec<String>,
}

/// The members each promotion announced in `[from, now]` is for (`promotion` only, when
/// named), entered at the announcement. Key: the promotion. A promotion whose members the
/// journey entered already is not read again.
fn promotions_started(
    c: &mut dyn Conn,
    programs: &Programs,
    journey_id: i64,
    promotion: Option<&str>,
    from: i64,
    now: i64,
) -> Result<Vec<NewEnrolment>, Error> {
    let mut out = Vec::new();
    for (payload, at) in repo::promotion_announcements(c, from, now)? {
        let Ok(a) = serde_json::from_str::<Announcement>(&payload) else { continue };
        let occurrence = format!("promotion:{}", a.promotion_id);
        if promotion.is_some_and(|p| p != a.promotion_id) || repo::has_occurrence(c, journey_id, &occurrence)? {
            continue;
        }
        // The tiers the promotion is for as the programme says now, else as announced.
        let tiers = programs
            .latest()
            .and_then(|(_, p)| p.doc.promotions.iter().find(|pr| pr.id == a.promotion_id).map(|pr| pr.tiers.clone()))
            .unwrap_or(a.tiers);
        for customer_id in repo::members_in_tiers(c, &tiers)? {
            out.push(NewEnrolment { customer_id, occurrence: occurrence.clone(), occurred_at: at, entered_at: at });
        }
    }
    Ok(out)
}

/// Customers whose stamp card (`card` only, when named) an order in `[from, now]` brought to
/// one stamp short of full and who have not stamped it since, entered at that order. Key: the
/// card and the how-manieth filling it is, so a card enters once each time it is filled.
fn cards_one_short(
    c: &mut dyn Conn,
    programs: &Programs,
    card: Option<&str>,
    from: i64,
    now: i64,
) -> Result<Vec<NewEnrolment>, Error> {
    let Some((_, p)) = programs.latest() else { return Ok(Vec::new()) };
    // The latest stamping order of each customer and card in the window.
    let mut latest: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for (customer_id, stamped, at) in repo::stamping_orders(c, from, now)? {
        let ids: Vec<String> = serde_json::from_str(&stamped).unwrap_or_default();
        for id in ids.into_iter().filter(|id| card.is_none_or(|k| k == id)) {
            latest.insert((customer_id, id), at);
        }
    }
    let mut out = Vec::new();
    for ((customer_id, id), at) in latest {
        let Some(size) = p.doc.stamp_cards.iter().find(|k| k.id == id).map(|k| k.stamps).filter(|s| *s >= 2) else {
            continue;
        };
        let cards: BTreeMap<String, (i64, Option<i64>)> =
            repo::stamp_cards(c, customer_id)?.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default();
        if cards.get(&id).map(|s| s.0) != Some(size - 1) {
            continue;
        }
        let filling = repo::stamp_card_fills(c, customer_id, &id)? + 1;
        out.push(NewEnrolment {
            customer_id,
            occurrence: format!("stamps:{id}:{filling}"),
            occurred_at: at,
            entered_at: at,
        });
    }
    Ok(out)
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
