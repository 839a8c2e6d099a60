//! What staff and integrators do: redeem points for a reward, use a coupon, adjust points,
//! override a tier, and manage paid memberships.

use crate::book;
use crate::codes::referral_code;
use crate::orders::issue_coupon;
use crate::programs::Programs;
use crate::{invalid, LoyaltyError};
use chrono::Months;
use enishi_loyalty::expires_at;
use enishi_loyalty::program::{Period, Reward};
use enishi_store::repo::loyalty::{self, Coupon, Membership, NewEntry, TierChangeRecord};
use enishi_store::{Conn, StoreError};
use serde::Serialize;

/// A redemption's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redemption {
    /// The coupon issued.
    pub coupon: Coupon,
    /// Points spent.
    pub points: i64,
    /// Balance afterwards.
    pub balance: i64,
}

/// Spends points on a catalogue reward and issues its coupon, atomically: the account is
/// locked, so concurrent redemptions that together exceed the balance cannot all succeed.
/// The same `idempotency_key` answers the first outcome again (`false`: not created now).
pub fn redeem(
    c: &mut dyn Conn,
    programs: &Programs,
    customer_id: i64,
    reward_id: &str,
    idempotency_key: &str,
    now: i64,
) -> Result<(Redemption, bool), LoyaltyError> {
    let (version, p) = programs.require()?;
    if idempotency_key.trim().is_empty() || idempotency_key.len() > 200 {
        return Err(invalid("idempotency_key", "must be 1 to 200 characters"));
    }
    let key = format!("redeem:{idempotency_key}");
    let mut acct = loyalty::account_for_update(c, customer_id, &referral_code(customer_id))?;
    if let Some(done) = loyalty::entry_by_key(c, &key)? {
        if done.customer_id != customer_id {
            return Err(invalid("idempotency_key", "is already used by another customer's redemption"));
        }
        let coupon = loyalty::coupons_for_source(c, &key)?
            .pop()
            .ok_or_else(|| LoyaltyError::NotFound("the coupon of this redemption".into()))?;
        return Ok((Redemption { coupon, points: -done.points, balance: acct.balance }, false));
    }
    let reward =
        p.reward(reward_id).ok_or_else(|| invalid("reward_id", format!("'{reward_id}' is not in the catalogue")))?;
    if reward.cost == 0 {
        return Err(invalid("reward_id", "this reward is only given, not redeemed"));
    }
    if reward.members_only {
        let member = loyalty::current_membership(c, customer_id)?.is_some_and(|m| m.period_end > now);
        if !member {
            return Err(LoyaltyError::Limit(format!("'{reward_id}' is for paid members only")));
        }
    }
    if !in_reward_segment(c, programs, customer_id, reward, now)? {
        let segment = reward.segment.as_deref().unwrap_or_default();
        return Err(LoyaltyError::Limit(format!("'{reward_id}' is only for the customers in segment \"{segment}\"")));
    }
    if let Some(limit) = reward.per_customer_limit {
        if loyalty::redemptions_of(c, customer_id, reward_id)? >= limit {
            return Err(LoyaltyError::Limit(format!("'{reward_id}' can be redeemed {limit} time(s) per customer")));
        }
    }
    if acct.balance < 0 {
        return Err(LoyaltyError::Debt(-acct.balance));
    }
    let usable = book::usable_points(c, customer_id, now)?;
    if usable < reward.cost {
        return Err(LoyaltyError::InsufficientPoints { available: usable, needed: reward.cost });
    }
    book::debit(
        c,
        &mut acct,
        &NewEntry {
            customer_id,
            kind: "redeem",
            points: -reward.cost,
            source: "reward",
            source_ref: Some(reward_id),
            program_version: Some(version),
            idempotency_key: &key,
            reason: None,
            detail: "{}",
            occurred_at: now,
            available_at: now,
            expires_at: None,
        },
        &[],
        Some(now),
    )?;
    let coupon = issue_coupon(c, p, customer_id, reward_id, "redemption", &key, now)?;
    loyalty::save_account(c, &acct)?;
    Ok((Redemption { coupon, points: reward.cost, balance: acct.balance }, true))
}

/// Whether `customer_id` is in the segment `reward` is limited to (as of the business day of
/// `now`); true for a reward open to everyone.
pub fn in_reward_segment(
    c: &mut dyn Conn,
    programs: &Programs,
    customer_id: i64,
    reward: &Reward,
    now: i64,
) -> Result<bool, StoreError> {
    let Some(segment) = &reward.segment else { return Ok(true) };
    let today = programs.clock().day_number(enishi_store::instant(now));
    crate::segment_members::is_member(c, segment, customer_id, today, programs.clock())
}

/// Issues a coupon for catalogue reward `reward_id` to `customer_id` once per `source_ref`
/// (a campaign message's key): asked again with the same reference it answers the coupon
/// issued the first time (`false`: not created now). Valid from `at` to `valid_until`, with
/// the reward's number of uses; its source is `campaign`.
pub fn issue_once(
    c: &mut dyn Conn,
    programs: &Programs,
    customer_id: i64,
    reward_id: &str,
    source_ref: &str,
    at: i64,
    valid_until: i64,
) -> Result<(Coupon, bool), LoyaltyError> {
    if let Some(k) = loyalty::coupons_for_source(c, source_ref)?.into_iter().find(|k| k.customer_id == customer_id) {
        return Ok((k, false));
    }
    let (_, p) = programs.require()?;
    let reward = p.reward(reward_id).ok_or_else(|| invalid("reward", format!("no reward with id {reward_id}")))?;
    let coupon = Coupon {
        id: 0,
        code: crate::codes::coupon_code(),
        customer_id,
        reward_id: reward_id.to_string(),
        source: "campaign".into(),
        source_ref: Some(source_ref.to_string()),
        issued_at: at,
        valid_until,
        max_uses: reward.max_uses,
        uses: 0,
        sku: None,
    };
    Ok((loyalty::insert_coupon(c, &coupon)?, true))
}

/// Uses a coupon once under `use_ref` (an order id, say); a reference used before answers
/// `false` and changes nothing.
pub fn use_coupon(c: &mut dyn Conn, code: &str, use_ref: &str, now: i64) -> Result<(Coupon, bool), LoyaltyError> {
    let coupon = loyalty::coupon_for_update(c, code.trim())?
        .ok_or_else(|| LoyaltyError::NotFound(format!("no coupon with code {code}")))?;
    if use_ref.trim().is_empty() {
        return Err(invalid("use_ref", "must not be empty"));
    }
    let use_key = format!("{}:{use_ref}", coupon.code);
    if loyalty::coupon_use_exists(c, &use_key)? {
        return Ok((coupon, false));
    }
    if now > coupon.valid_until {
        return Err(LoyaltyError::Coupon(format!("coupon {} expired", coupon.code)));
    }
    if coupon.uses >= coupon.max_uses {
        return Err(LoyaltyError::Coupon(format!("coupon {} has been used up", coupon.code)));
    }
    loyalty::use_coupon(c, &coupon, &use_key, now)?;
    Ok((Coupon { uses: coupon.uses + 1, ..coupon }, true))
}

/// Largest manual adjustment either way.
const MAX_ADJUSTMENT: u64 = 10_000_000;

/// A manual points adjustment.
#[derive(Debug, Clone, Copy)]
pub struct Adjustment<'a> {
    /// Customer.
    pub customer_id: i64,
    /// Points to add (positive) or remove (negative).
    pub points: i64,
    /// Why (required).
    pub reason: &'a str,
    /// The same key never posts twice.
    pub idempotency_key: &'a str,
    /// Who made it.
    pub by: &'a str,
}

/// Adds (positive) or removes (negative) points by hand, with a reason. Removing more than the
/// customer has leaves a recorded debt. Returns the balance and whether it was posted now
/// (`false`: the key was used before).
pub fn adjust(
    c: &mut dyn Conn,
    programs: &Programs,
    a: &Adjustment<'_>,
    now: i64,
) -> Result<(i64, bool), LoyaltyError> {
    let Adjustment { customer_id, points, reason, idempotency_key, by } = *a;
    // unsigned_abs: `abs` of the most negative i64 is itself, which slipped past this check.
    if points == 0 || points.unsigned_abs() > MAX_ADJUSTMENT {
        return Err(invalid("points", "must be non-zero and at most 10,000,000 either way"));
    }
    let detail = serde_json::json!({ "by": by }).to_string();
    post_adjustment(c, programs, customer_id, points, reason, &format!("adjust:{idempotency_key}"), None, &detail, now)
}

/// A reversal of an earlier manual adjustment.
#[derive(Debug, Clone, Copy)]
pub struct Reversal<'a> {
    /// Customer.
    pub customer_id: i64,
    /// The ledger entry of the adjustment reversed.
    pub entry_id: i64,
    /// Why (required).
    pub reason: &'a str,
    /// Who reverses it.
    pub by: &'a str,
}

/// Reverses a manual adjustment with another one of the opposite points, linked to it (its
/// `source_ref` is the reversed entry's id, its detail says `reverses`). An adjustment is
/// reversed once: a second reversal is refused, as is reversing a reversal or an entry that is
/// no manual adjustment of this customer. Taking back points already spent leaves a debt, as
/// any adjustment does. Returns the balance.
pub fn reverse_adjustment(
    c: &mut dyn Conn,
    programs: &Programs,
    r: &Reversal<'_>,
    now: i64,
) -> Result<i64, LoyaltyError> {
    let Reversal { customer_id, entry_id, reason, by } = *r;
    let entry = loyalty::entry(c, entry_id)?
        .filter(|e| e.customer_id == customer_id && e.kind == "adjust")
        .ok_or_else(|| LoyaltyError::NotFound(format!("customer {customer_id} has no adjustment {entry_id}")))?;
    if let Some(original) = reversed_entry(&entry) {
        return Err(LoyaltyError::AlreadyReversed(format!(
            "adjustment {entry_id} reverses adjustment {original}; adjust again instead"
        )));
    }
    let key = reversal_key(entry_id);
    if let Some(done) = loyalty::entry_by_key(c, &key)? {
        return Err(LoyaltyError::AlreadyReversed(format!(
            "adjustment {entry_id} was reversed already, by adjustment {}",
            done.id
        )));
    }
    let detail = serde_json::json!({ "by": by, "reverses": entry_id }).to_string();
    let source_ref = entry_id.to_string();
    let (balance, _) =
        post_adjustment(c, programs, customer_id, -entry.points, reason, &key, Some(&source_ref), &detail, now)?;
    Ok(balance)
}

/// The ledger key of the reversal of adjustment `entry_id`: one per adjustment.
pub fn reversal_key(entry_id: i64) -> String {
    format!("adjust:reverse:{entry_id}")
}

/// The adjustment `entry` reverses, when it is a reversal.
pub fn reversed_entry(entry: &loyalty::Entry) -> Option<i64> {
    let detail: serde_json::Value = serde_json::from_str(&entry.detail).ok()?;
    detail.get("reverses")?.as_i64()
}

/// Posts a manual adjustment of `points` (not 0) under ledger key `key`; `false` when the key
/// was used before.
#[allow(clippy::too_many_arguments)]
fn post_adjustment(
    c: &mut dyn Conn,
    programs: &Programs,
    customer_id: i64,
    points: i64,
    reason: &str,
    key: &str,
    source_ref: Option<&str>,
    detail: &str,
    now: i64,
) -> Result<(i64, bool), LoyaltyError> {
    let (version, p) = programs.require()?;
    if reason.trim().is_empty() {
        return Err(invalid("reason", "an adjustment needs a reason"));
    }
    let mut acct = loyalty::account_for_update(c, customer_id, &referral_code(customer_id))?;
    let entry = NewEntry {
        customer_id,
        kind: "adjust",
        points,
        source: "manual",
        source_ref,
        program_version: Some(version),
        idempotency_key: key,
        reason: Some(reason),
        detail,
        occurred_at: now,
        available_at: now,
        expires_at: expires_at(p.doc.expiry, enishi_store::instant(now), programs.clock()).map(|t| t.timestamp()),
    };
    let created =
        if points > 0 { book::credit(c, &mut acct, &entry)? } else { book::debit(c, &mut acct, &entry, &[], None)? };
    loyalty::save_account(c, &acct)?;
    Ok((acct.balance, created))
}

/// Puts a customer in a tier by hand, with a reason; reviews leave it alone until `until`
/// (Unix seconds).
pub fn set_tier(
    c: &mut dyn Conn,
    programs: &Programs,
    customer_id: i64,
    tier: &str,
    reason: &str,
    until: Option<i64>,
    now: i64,
) -> Result<(), LoyaltyError> {
    let (_, p) = programs.require()?;
    if p.tier_index(tier).is_none() {
        return Err(invalid("tier", format!("'{tier}' is not a tier of the programme")));
    }
    if reason.trim().is_empty() {
        return Err(invalid("reason", "a manual tier change needs a reason"));
    }
    let mut acct = loyalty::account_for_update(c, customer_id, &referral_code(customer_id))?;
    loyalty::insert_tier_change(
        c,
        &TierChangeRecord {
            customer_id,
            from_tier: acct.tier.clone(),
            to_tier: tier.to_string(),
            changed_at: now,
            reason: format!("manual: {reason}"),
        },
    )?;
    acct.tier = Some(tier.to_string());
    acct.tier_since = Some(now);
    acct.tier_locked_until = until;
    loyalty::save_account(c, &acct)?;
    Ok(())
}

/// What to do with a membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipAction {
    /// Start a plan (fee paid for the first period).
    Start,
    /// Pay for one more period.
    Renew,
    /// Stop renewing; perks last to the end of the paid period.
    Cancel,
}

fn period_end(start: i64, period: Period) -> i64 {
    let months = match period {
        Period::Monthly => 1,
        Period::Annual => 12,
    };
    enishi_store::instant(start).checked_add_months(Months::new(months)).map_or(start, |t| t.timestamp())
}

/// Starts, renews or cancels a customer's paid membership; fees are recorded per period.
pub fn membership(
    c: &mut dyn Conn,
    programs: &Programs,
    customer_id: i64,
    action: MembershipAction,
    plan_id: Option<&str>,
    now: i64,
) -> Result<Membership, LoyaltyError> {
    let (_, p) = programs.require()?;
    let current = loyalty::current_membership(c, customer_id)?.filter(|m| m.period_end > now);
    match action {
        MembershipAction::Start => {
            let plan_id = plan_id.ok_or_else(|| invalid("plan", "is required to start a membership"))?;
            let plan = p.plan(plan_id).ok_or_else(|| invalid("plan", format!("'{plan_id}' is not a plan")))?;
            if current.is_some() {
                return Err(LoyaltyError::Limit("the customer already has a membership (renew or cancel it)".into()));
            }
            let mut m = Membership {
                id: 0,
                customer_id,
                plan_id: plan.id.clone(),
                status: "active".into(),
                started_at: now,
                period_end: period_end(now, plan.period),
                cancelled_at: None,
            };
            m.id = loyalty::insert_membership(c, &m)?;
            loyalty::insert_payment(c, &m, plan.fee.to_scaled(), now, m.period_end)?;
            Ok(m)
        }
        MembershipAction::Renew => {
            let mut m =
                current.ok_or_else(|| LoyaltyError::NotFound("the customer has no membership to renew".into()))?;
            let plan =
                p.plan(&m.plan_id).ok_or_else(|| invalid("plan", format!("'{}' is no longer offered", m.plan_id)))?;
            let start = m.period_end;
            m.period_end = period_end(start, plan.period);
            m.status = "active".into();
            m.cancelled_at = None;
            loyalty::save_membership(c, &m)?;
            loyalty::insert_payment(c, &m, plan.fee.to_scaled(), start, m.period_end)?;
            Ok(m)
        }
        MembershipAction::Cancel => {
            let mut m =
                current.ok_or_else(|| LoyaltyError::NotFound("the customer has no membership to cancel".into()))?;
            m.status = "cancelled".into();
            m.cancelled_at = Some(now);
            loyalty::save_membership(c, &m)?;
            Ok(m)
        }
    }
}
