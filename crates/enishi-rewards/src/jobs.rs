//! The periodic loyalty jobs and the ledger audit.

use crate::book;
use crate::codes::referral_code;
use crate::orders::{issue_coupon, window_start};
use crate::programs::Programs;
use chrono::Datelike;
use enishi_loyalty::engine::tier_for;
use enishi_loyalty::expires_at;
use enishi_loyalty::program::BirthdayPeriod;
use enishi_store::repo::loyalty::{self, NewEntry, TierChangeRecord};
use enishi_store::{instant, Conn, StoreError};
use serde::Serialize;
use serde_json::json;

/// What one run of the jobs did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobReport {
    /// Lots expired.
    pub lots_expired: usize,
    /// Points expired.
    pub points_expired: i64,
    /// Birthday rewards given.
    pub birthday_rewards: usize,
    /// Tier downgrades (and late upgrades) by review.
    pub tier_changes: usize,
    /// Promotions announced.
    pub promotions_announced: usize,
    /// Memberships expired.
    pub memberships_expired: u64,
}

/// Runs every periodic job as of `now` (Unix seconds); safe to run as often as wanted, since
/// each job is idempotent.
pub fn run_jobs(c: &mut dyn Conn, programs: &Programs, now: i64) -> Result<JobReport, StoreError> {
    let mut report = JobReport::default();
    expire(c, now, &mut report)?;
    report.memberships_expired = loyalty::expire_memberships(c, now)?;
    if programs.latest().is_some() {
        birthdays(c, programs, now, &mut report)?;
        review_tiers(c, programs, now, &mut report)?;
        announce(c, programs, now, &mut report)?;
    }
    Ok(report)
}

/// Writes an expire entry for every lot whose time has come, oldest first. Each lot is visited
/// once a run: a lot its expire entry did not clear (books an older version left inconsistent;
/// `verify` reports them, `repair` mends them) is left for the audit, not retried for ever.
fn expire(c: &mut dyn Conn, now: i64, report: &mut JobReport) -> Result<(), StoreError> {
    let mut after = 0;
    loop {
        let lots = loyalty::expired_lots(c, now, after, 1000)?;
        let Some(last) = lots.last() else { return Ok(()) };
        after = last.ledger_id;
        for lot in lots {
            let mut acct = loyalty::account_for_update(c, lot.customer_id, &referral_code(lot.customer_id))?;
            let key = format!("expire:{}", lot.ledger_id);
            let detail = json!({ "lot": lot.ledger_id }).to_string();
            let at = lot.expires_at.unwrap_or(now);
            let written = book::debit(
                c,
                &mut acct,
                &NewEntry {
                    customer_id: lot.customer_id,
                    kind: "expire",
                    points: -lot.remaining,
                    source: "expiry",
                    source_ref: None,
                    program_version: None,
                    idempotency_key: &key,
                    reason: None,
                    detail: &detail,
                    occurred_at: at,
                    available_at: at,
                    expires_at: None,
                },
                &[lot.ledger_id],
                None,
            )?;
            if written {
                loyalty::save_account(c, &acct)?;
                report.lots_expired += 1;
                report.points_expired += lot.remaining;
            }
        }
    }
}

/// Birthday rewards, once per customer and year.
fn birthdays(c: &mut dyn Conn, programs: &Programs, now: i64, report: &mut JobReport) -> Result<(), StoreError> {
    let Some((version, p)) = programs.latest() else { return Ok(()) };
    let Some(b) = &p.doc.birthday else { return Ok(()) };
    let today = programs.clock().local_date(instant(now));
    let day = match b.period {
        BirthdayPeriod::Month => None,
        BirthdayPeriod::Day => Some(today.day()),
    };
    for customer_id in loyalty::birthdays(c, today.month(), day)? {
        let key = format!("birthday:{customer_id}:{}", today.year());
        if loyalty::has_key(c, &key)? {
            continue;
        }
        let mut acct = loyalty::account_for_update(c, customer_id, &referral_code(customer_id))?;
        let entry = NewEntry {
            customer_id,
            kind: "bonus",
            points: b.points,
            source: "birthday",
            source_ref: None,
            program_version: Some(version),
            idempotency_key: &key,
            reason: Some("birthday"),
            detail: "{}",
            occurred_at: now,
            available_at: now,
            expires_at: expires_at(p.doc.expiry, instant(now), programs.clock()).map(|t| t.timestamp()),
        };
        book::credit(c, &mut acct, &entry)?;
        if let Some(reward) = &b.reward {
            issue_coupon(c, p, customer_id, reward, "birthday", &key, now)?;
        }
        loyalty::save_account(c, &acct)?;
        report.birthday_rewards += 1;
    }
    Ok(())
}

/// Re-evaluates tiers: a customer below their tier's threshold for longer than the grace
/// period moves down to the tier their basis reaches; manual tiers hold until their lock ends.
fn review_tiers(c: &mut dyn Conn, programs: &Programs, now: i64, report: &mut JobReport) -> Result<(), StoreError> {
    let Some((_, p)) = programs.latest() else { return Ok(()) };
    let Some(t) = &p.doc.tiers else { return Ok(()) };
    let at = instant(now);
    for mut acct in loyalty::tiered_accounts(c)? {
        if acct.tier_locked_until.is_some_and(|u| u > now) {
            continue;
        }
        let current = acct.tier.as_deref().and_then(|id| p.tier_index(id));
        let progress = loyalty::tier_progress(c, acct.customer_id, window_start(t, at, programs), now + 1)?;
        let Some(reached) = tier_for(p, progress) else { continue };
        let held_for = now - acct.tier_since.unwrap_or(now);
        let change = match current {
            None => true,
            Some(cur) if reached > cur => true,
            Some(cur) => reached < cur && held_for >= t.grace_days * 86_400,
        };
        if !change {
            continue;
        }
        let to = t.levels[reached].id.clone();
        loyalty::insert_tier_change(
            c,
            &TierChangeRecord {
                customer_id: acct.customer_id,
                from_tier: acct.tier.clone(),
                to_tier: to.clone(),
                changed_at: now,
                reason: "review".into(),
            },
        )?;
        acct.tier = Some(to);
        acct.tier_since = Some(now);
        acct.tier_locked_until = None;
        loyalty::save_account(c, &acct)?;
        report.tier_changes += 1;
    }
    Ok(())
}

/// Queues an announcement job when a promotion starts, once. A recurring promotion is
/// announced once too, when its overall window (unbounded without `starts` and `ends`) has
/// begun, with its weekly schedule.
fn announce(c: &mut dyn Conn, programs: &Programs, now: i64, report: &mut JobReport) -> Result<(), StoreError> {
    let Some((version, p)) = programs.latest() else { return Ok(()) };
    for (pr, w) in p.doc.promotions.iter().zip(&p.windows) {
        let begun = w.starts.is_none_or(|s| s.timestamp() <= now) && w.ends.is_none_or(|e| now < e.timestamp());
        if begun && loyalty::mark_announced(c, &pr.id)? {
            let payload = json!({
                "promotion_id": pr.id, "name": pr.name, "program_version": version,
                "starts": w.starts, "ends": w.ends, "repeat": pr.repeat, "tiers": pr.tiers,
                "channels": pr.when.channels,
            });
            let key = format!("loyalty.promotion_started:{}", pr.id);
            loyalty::enqueue(c, "loyalty.promotion_started", &key, &payload.to_string())?;
            report.promotions_announced += 1;
        }
    }
    Ok(())
}

/// A customer whose stored balance does not match the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// Customer.
    pub customer_id: i64,
    /// Balance stored on the account.
    pub stored: i64,
    /// Sum of the ledger (wider than a balance: an inconsistent ledger may sum beyond one).
    pub ledger: i128,
    /// Points left in lots.
    pub lots: i128,
}

/// Re-derives every balance from the ledger: the account balance must equal the sum of the
/// ledger, and the points left in lots must equal it when positive (0 when in debt).
pub fn verify(c: &mut dyn Conn) -> Result<(usize, Vec<Mismatch>), StoreError> {
    let rows = loyalty::balance_audit(c)?;
    let checked = rows.len();
    let bad = rows
        .into_iter()
        .filter(|a| i128::from(a.stored) != a.ledger || a.lots != a.ledger.max(0))
        .map(|a| Mismatch { customer_id: a.customer_id, stored: a.stored, ledger: a.ledger, lots: a.lots })
        .collect();
    Ok((checked, bad))
}
