//! A customer's loyalty at a glance: `GET /api/v1/customers/{id}/loyalty`.

use crate::cards::cards_of;
use crate::codes::referral_code;
use crate::orders::window_start;
use crate::programs::Programs;
use chrono::{DateTime, NaiveDate, Utc};
use enishi_loyalty::program::TierBasis;
use enishi_store::repo::loyalty::{self, Coupon, Membership};
use enishi_store::{instant, Conn, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Points that expire on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expiring {
    /// Business date.
    pub date: NaiveDate,
    /// Points.
    pub points: i64,
}

/// The customer's tier and what the next one needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierStatus {
    /// Tier id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Since.
    pub since: Option<DateTime<Utc>>,
    /// Perks.
    pub perks: Vec<String>,
    /// Basis counted in the current window (spend as a decimal string, or points).
    pub progress: String,
    /// The next tier's id and threshold, and what is missing.
    pub next: Option<NextTier>,
}

/// The next tier up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextTier {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Threshold.
    pub threshold: String,
    /// What is missing to reach it.
    pub missing: String,
}

/// One stamp card's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardProgress {
    /// Card id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Stamps so far.
    pub stamps: i64,
    /// Stamps that complete it.
    pub of: i64,
}

/// Everything about a customer's loyalty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoyaltySummary {
    /// Customer.
    pub customer_id: i64,
    /// Posted points (pending included); negative is a debt.
    pub balance: i64,
    /// Points usable now.
    pub available: i64,
    /// Points pending until their return window closes.
    pub pending: i64,
    /// Points owed (blocks redemption).
    pub debt: i64,
    /// Points expiring within the next 60 days, by date.
    pub expiring_soon: Vec<Expiring>,
    /// Tier.
    pub tier: Option<TierStatus>,
    /// Stamp cards.
    pub stamp_cards: Vec<CardProgress>,
    /// Paid membership.
    pub membership: Option<Membership>,
    /// Referral code.
    pub referral_code: String,
    /// Customers this one referred.
    pub referrals: i64,
    /// Coupons, newest first.
    pub coupons: Vec<Coupon>,
}

/// Days ahead that "expiring soon" looks.
const EXPIRING_DAYS: i64 = 60;

/// The loyalty summary of a customer as of `now` (Unix seconds).
pub fn summary(
    c: &mut dyn Conn,
    programs: &Programs,
    customer_id: i64,
    now: i64,
) -> Result<LoyaltySummary, StoreError> {
    let acct = loyalty::account(c, customer_id)?;
    let lots = loyalty::open_lots(c, customer_id)?;
    let available = lots.iter().filter(|l| l.available_at <= now).map(|l| l.remaining).sum();
    let pending = lots.iter().filter(|l| l.available_at > now).map(|l| l.remaining).sum();
    let mut expiring: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for l in &lots {
        if let Some(e) = l.expires_at.filter(|&e| e > now && e <= now + EXPIRING_DAYS * 86_400) {
            *expiring.entry(programs.clock().local_date(instant(e))).or_default() += l.remaining;
        }
    }
    let balance = acct.as_ref().map_or(0, |a| a.balance);
    let program = programs.latest().map(|(_, p)| p);
    let mut tier = None;
    let mut stamp_cards = Vec::new();
    if let (Some(p), Some(a)) = (program, &acct) {
        if let (Some(t), Some(i)) = (&p.doc.tiers, a.tier.as_deref().and_then(|id| p.tier_index(id))) {
            let progress = loyalty::tier_progress(c, customer_id, window_start(t, instant(now), programs), now + 1)?;
            let show = |v: i64| match t.basis {
                TierBasis::Spend => enishi_core::Amount::from_scaled(v).to_string(),
                TierBasis::Points => v.to_string(),
            };
            let to_basis = |a: enishi_core::Amount| match t.basis {
                TierBasis::Spend => a.to_scaled(),
                TierBasis::Points => a.to_scaled() / 10_000,
            };
            let level = &t.levels[i];
            tier = Some(TierStatus {
                id: level.id.clone(),
                name: level.name.clone(),
                since: a.tier_since.map(instant),
                perks: level.perks.clone(),
                progress: show(progress),
                next: t.levels.get(i + 1).map(|n| NextTier {
                    id: n.id.clone(),
                    name: n.name.clone(),
                    threshold: n.threshold.to_string(),
                    missing: show((to_basis(n.threshold) - progress).max(0)),
                }),
            });
        }
        let cards = cards_of(a);
        stamp_cards = p
            .doc
            .stamp_cards
            .iter()
            .map(|k| CardProgress {
                id: k.id.clone(),
                name: k.name.clone(),
                stamps: cards.get(&k.id).map_or(0, |s| s.stamps),
                of: k.stamps,
            })
            .collect();
    }
    let referrals = loyalty::referral_count(c, customer_id)?;
    Ok(LoyaltySummary {
        customer_id,
        balance,
        available,
        pending,
        debt: (-balance).max(0),
        expiring_soon: expiring.into_iter().map(|(date, points)| Expiring { date, points }).collect(),
        tier,
        stamp_cards,
        membership: loyalty::current_membership(c, customer_id)?,
        referral_code: acct.map_or_else(|| referral_code(customer_id), |a| a.referral_code),
        referrals,
        coupons: loyalty::coupons(c, customer_id)?,
    })
}
