//! What worked: per promotion, per stamp card and per membership plan.

use crate::cards::parse_cards;
use crate::programs::Programs;
use chrono::{DateTime, Utc};
use enishi_core::Amount;
use enishi_store::repo::loyalty;
use enishi_store::{instant, Conn, StoreError};
use serde::Serialize;

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

/// A promotion against a comparable period before it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromotionReport {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Customers who got its points.
    pub participants: i64,
    /// Points it gave.
    pub points_given: i64,
    /// Its budget, if any.
    pub budget_points: Option<i64>,
    /// Share of the budget used, in percent.
    pub budget_used_percent: Option<f64>,
    /// The promotion's window.
    pub during: Window,
    /// The same weekdays and hours, whole weeks before.
    pub before: Window,
    /// Change in spend against `before`, in percent (none when `before` had none).
    pub spend_change_percent: Option<f64>,
}

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

/// The report on the programme in force, `None` before one is applied.
pub fn report(c: &mut dyn Conn, programs: &Programs) -> Result<Option<ProgramReport>, StoreError> {
    let Some((version, p)) = programs.latest() else { return Ok(None) };
    let spent: Vec<(String, i64, Option<i64>)> = loyalty::promotion_spend(c)?;
    let mut promotions = Vec::new();
    for (pr, w) in p.doc.promotions.iter().zip(&p.windows) {
        // Recurring promotions are not reported yet.
        let (None, Some(starts), Some(ends)) = (w.weekly, w.starts, w.ends) else { continue };
        let (from, to) = (starts.timestamp(), ends.timestamp());
        // Whole weeks back, so the comparison covers the same weekdays and hours.
        let week = 7 * 86_400;
        let shift = (to - from + week - 1) / week * week;
        let during = window(c, from, to)?;
        let before = window(c, from - shift, to - shift)?;
        let (participants, points_given) = loyalty::promotion_participation(c, &pr.id)?;
        let used = spent.iter().find(|s| s.0 == pr.id).map_or(0, |s| s.1);
        let change = |now: Amount, then: Amount| -> Option<f64> {
            let then = then.to_scaled() as f64;
            (then > 0.0).then(|| (now.to_scaled() as f64 / then - 1.0) * 100.0)
        };
        promotions.push(PromotionReport {
            id: pr.id.clone(),
            name: pr.name.clone(),
            participants,
            points_given,
            budget_points: pr.budget_points,
            budget_used_percent: pr.budget_points.map(|b| used as f64 * 100.0 / b as f64),
            spend_change_percent: change(during.spend, before.spend),
            during,
            before,
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
