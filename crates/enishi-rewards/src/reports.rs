//! What worked: per promotion (per occurrence for a recurring one), per stamp card and per
//! membership plan.

use crate::cards::parse_cards;
use crate::programs::Programs;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use enishi_core::{Amount, BusinessClock};
use enishi_loyalty::program::{Repeat, Weekly};
use enishi_store::repo::loyalty;
use enishi_store::{instant, Conn, StoreError};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Orders in a time window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// First instant.
    pub from: DateTime<Utc>,
    /// First instant after it.
    pub to: DateTime<Utc>,
    /// Customers who ordered.
    pub customers: i64,
    /// Orders.
    pub orders: i64,
    /// Spend.
    pub spend: Amount,
    /// Points earned by those orders (net of returns).
    pub points: i64,
}

/// The mean of the same weekday and hours in weeks without an occurrence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    /// Where each compared window starts (the same local weekday and hours, whole weeks
    /// before the occurrence), newest first.
    pub weeks: Vec<DateTime<Utc>>,
    /// Mean customers who ordered.
    pub customers: f64,
    /// Mean orders.
    pub orders: f64,
    /// Mean spend.
    pub spend: Amount,
    /// Mean points earned by those orders (net of returns).
    pub points: f64,
}

/// One occurrence of a recurring promotion against the same hours in weeks without one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OccurrenceReport {
    /// The occurrence (cut to the promotion's overall window) and the orders in it.
    pub during: Window,
    /// Customers who got the promotion's points in it.
    pub participants: i64,
    /// Points the promotion gave in it.
    pub points_given: i64,
    /// The same weekday and hours in up to [`BASELINE_WEEKS`] earlier weeks without an
    /// occurrence (none: no such week within the shop's history).
    pub baseline: Option<Baseline>,
    /// Change in orders against the baseline's mean, in percent.
    pub orders_change_percent: Option<f64>,
    /// Change in spend against the baseline's mean, in percent.
    pub spend_change_percent: Option<f64>,
}

/// A promotion against a comparable period before it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromotionReport {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The weekly schedule of a recurring promotion.
    pub repeat: Option<Repeat>,
    /// Customers who got its points.
    pub participants: i64,
    /// Points it gave.
    pub points_given: i64,
    /// Its budget, if any.
    pub budget_points: Option<i64>,
    /// Share of the budget used, in percent.
    pub budget_used_percent: Option<f64>,
    /// A one-off promotion's window (none for a recurring one: see `occurrences`).
    pub during: Option<Window>,
    /// The same weekdays and hours, whole weeks before (one-off promotions).
    pub before: Option<Window>,
    /// Change in spend against `before`, in percent (none when `before` had none).
    pub spend_change_percent: Option<f64>,
    /// A recurring promotion's occurrences so far, newest first (at most
    /// [`REPORTED_OCCURRENCES`]).
    pub occurrences: Vec<OccurrenceReport>,
}

/// Occurrences of a recurring promotion in its report, newest first.
pub const REPORTED_OCCURRENCES: usize = 12;

/// Weeks without an occurrence averaged into an occurrence's baseline.
pub const BASELINE_WEEKS: usize = 4;

/// How many weeks back a baseline looks for weeks without an occurrence.
const LOOKBACK_WEEKS: u64 = 26;

/// A stamp card's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StampCardReport {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Stamps that complete it.
    pub stamps: i64,
    /// Customers holding at least one stamp now.
    pub holders: i64,
    /// Cards completed (reward coupons issued).
    pub completed: i64,
    /// Reward coupons used.
    pub rewards_used: i64,
}

/// A membership plan's fee revenue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MembershipReport {
    /// Plan id.
    pub plan: String,
    /// Fee payments.
    pub payments: i64,
    /// Fee revenue.
    pub revenue: Amount,
    /// Members now (active or cancelled but paid up).
    pub members: i64,
}

/// The programme's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgramReport {
    /// Version reported on.
    pub program_version: i64,
    /// Promotions.
    pub promotions: Vec<PromotionReport>,
    /// Stamp cards.
    pub stamp_cards: Vec<StampCardReport>,
    /// Membership plans.
    pub memberships: Vec<MembershipReport>,
}

fn window(c: &mut dyn Conn, from: i64, to: i64) -> Result<Window, StoreError> {
    let (customers, orders, spend, points) = loyalty::window_totals(c, from, to)?;
    Ok(Window { from: instant(from), to: instant(to), customers, orders, spend: Amount::from_scaled(spend), points })
}

/// Change from `then` to `now` in percent, none when `then` is 0.
fn change(now: f64, then: f64) -> Option<f64> {
    (then > 0.0).then(|| (now / then - 1.0) * 100.0)
}

/// The occurrences of a recurring promotion so far, newest first, each against the same
/// weekday and hours in weeks without one. Weeks count as having an occurrence from when the
/// promotion was first in a programme version (`since`) and within its overall window;
/// compared weeks lie within the shop's history (from its first order).
fn occurrences(
    c: &mut dyn Conn,
    weekly: &Weekly,
    bounds: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    since: DateTime<Utc>,
    id: &str,
    clock: &BusinessClock,
) -> Result<Vec<OccurrenceReport>, StoreError> {
    let now = instant(c.now());
    let lo = bounds.0.map_or(since, |s| s.max(since));
    let hi = bounds.1;
    // An occurrence starting on `date`, cut to the promotion's window; none when empty.
    let cut = |date: NaiveDate| {
        let (s, e) = weekly.occurrence_on(date, clock);
        let (s, e) = (s.max(lo), hi.map_or(e, |h| e.min(h)));
        (s < e).then_some((s, e))
    };
    let last = hi.map_or(now, |h| h.min(now));
    if last < lo {
        return Ok(Vec::new());
    }
    let first_order = loyalty::first_order_at(c)?;
    let entries = loyalty::promotion_entries(c, id)?;
    let mut windows: HashMap<(i64, i64), Window> = HashMap::new();
    let mut window_of = |c: &mut dyn Conn, s: DateTime<Utc>, e: DateTime<Utc>| -> Result<Window, StoreError> {
        let key = (s.timestamp(), e.timestamp());
        if let Some(w) = windows.get(&key) {
            return Ok(w.clone());
        }
        let w = window(c, key.0, key.1)?;
        windows.insert(key, w.clone());
        Ok(w)
    };
    let mut out = Vec::new();
    let first_date = clock.local_date(lo).pred_opt().unwrap_or(NaiveDate::MIN);
    let mut date = clock.local_date(last).succ_opt().unwrap_or(NaiveDate::MAX);
    while date >= first_date && out.len() < REPORTED_OCCURRENCES {
        let this = date;
        date = date.pred_opt().unwrap_or(NaiveDate::MIN);
        if this == NaiveDate::MIN {
            break;
        }
        let Some((s, e)) = cut(this).filter(|(s, _)| weekly.on(this.weekday()) && *s <= now) else { continue };
        let during = window_of(c, s, e)?;
        let given: Vec<&(i64, i64, i64)> =
            entries.iter().filter(|x| s.timestamp() <= x.0 && x.0 < e.timestamp()).collect();
        let participants = given.iter().map(|x| x.1).collect::<HashSet<_>>().len() as i64;
        let points_given = given.iter().map(|x| x.2).sum();
        let mut weeks = Vec::new();
        for k in 1..=LOOKBACK_WEEKS {
            let Some(before) = this.checked_sub_days(Days::new(7 * k)) else { break };
            let (ws, we) = weekly.occurrence_on(before, clock);
            if first_order.is_none_or(|f| we.timestamp() <= f) {
                break; // before the shop's history
            }
            if cut(before).is_none() {
                weeks.push(window_of(c, ws, we)?);
                if weeks.len() == BASELINE_WEEKS {
                    break;
                }
            }
        }
        let baseline = (!weeks.is_empty()).then(|| {
            let n = weeks.len() as f64;
            let mean = |f: &dyn Fn(&Window) -> i64| weeks.iter().map(|w| f(w) as f64).sum::<f64>() / n;
            let spend = weeks.iter().map(|w| i128::from(w.spend.to_scaled())).sum::<i128>() / weeks.len() as i128;
            Baseline {
                weeks: weeks.iter().map(|w| w.from).collect(),
                customers: mean(&|w| w.customers),
                orders: mean(&|w| w.orders),
                spend: Amount::from_scaled(i64::try_from(spend).unwrap_or(i64::MAX)),
                points: mean(&|w| w.points),
            }
        });
        out.push(OccurrenceReport {
            participants,
            points_given,
            orders_change_percent: baseline.as_ref().and_then(|b| change(during.orders as f64, b.orders)),
            spend_change_percent: baseline
                .as_ref()
                .and_then(|b| change(during.spend.to_scaled() as f64, b.spend.to_scaled() as f64)),
            during,
            baseline,
        });
    }
    Ok(out)
}

/// The report on the programme in force, `None` before one is applied.
pub fn report(c: &mut dyn Conn, programs: &Programs) -> Result<Option<ProgramReport>, StoreError> {
    let Some((version, p)) = programs.latest() else { return Ok(None) };
    let spent: Vec<(String, i64, Option<i64>)> = loyalty::promotion_spend(c)?;
    let mut promotions = Vec::new();
    for (pr, w) in p.doc.promotions.iter().zip(&p.windows) {
        let (mut during, mut before, mut spend_change_percent, mut occurred) = (None, None, None, Vec::new());
        match (w.weekly, w.starts, w.ends) {
            (None, Some(starts), Some(ends)) => {
                let (from, to) = (starts.timestamp(), ends.timestamp());
                // Whole weeks back, so the comparison covers the same weekdays and hours.
                let week = 7 * 86_400;
                let shift = (to - from + week - 1) / week * week;
                let now = window(c, from, to)?;
                let then = window(c, from - shift, to - shift)?;
                spend_change_percent = change(now.spend.to_scaled() as f64, then.spend.to_scaled() as f64);
                (during, before) = (Some(now), Some(then));
            }
            (Some(weekly), starts, ends) => {
                // The newest version has the promotion, so it has been in one since some time.
                if let Some(since) = programs.promotion_since(&pr.id).map(instant) {
                    occurred = occurrences(c, &weekly, (starts, ends), since, &pr.id, programs.clock())?;
                }
            }
            // A validated one-off promotion has both ends.
            (None, _, _) => {}
        }
        let (participants, points_given) = loyalty::promotion_participation(c, &pr.id)?;
        let used = spent.iter().find(|s| s.0 == pr.id).map_or(0, |s| s.1);
        promotions.push(PromotionReport {
            id: pr.id.clone(),
            name: pr.name.clone(),
            repeat: pr.repeat.clone(),
            participants,
            points_given,
            budget_points: pr.budget_points,
            budget_used_percent: pr.budget_points.map(|b| used as f64 * 100.0 / b as f64),
            during,
            before,
            spend_change_percent,
            occurrences: occurred,
        });
    }
    let held: Vec<_> = loyalty::all_cards(c)?.iter().map(|json| parse_cards(json)).collect();
    let mut stamp_cards = Vec::new();
    for card in &p.doc.stamp_cards {
        let (completed, rewards_used) = loyalty::stamp_card_rewards(c, &card.id)?;
        stamp_cards.push(StampCardReport {
            id: card.id.clone(),
            name: card.name.clone(),
            stamps: card.stamps,
            holders: held.iter().filter(|h| h.get(&card.id).is_some_and(|s| s.stamps > 0)).count() as i64,
            completed,
            rewards_used,
        });
    }
    let memberships = loyalty::membership_revenue(c)?
        .into_iter()
        .map(|(plan, payments, revenue, members)| MembershipReport {
            plan,
            payments,
            revenue: Amount::from_scaled(revenue),
            members,
        })
        .collect();
    Ok(Some(ProgramReport { program_version: version, promotions, stamp_cards, memberships }))
}
