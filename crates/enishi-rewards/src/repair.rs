//! Mends books that an older version left inconsistent (an adjustment that wrapped a balance,
//! lots left negative), recording every change in the append-only ledger as a correction.
//!
//! The ledger is the truth, except for entries beyond [`POINTS_LIMIT`]: no valid operation
//! writes one, so each is voided by correction entries that cancel it. Then each customer whose
//! books disagree gets the balance the ledger sums to, and lots that hold exactly that many
//! points (negative or excess remainders cleared; points missing from lots restored to the
//! newest lots, or else to a lot of the correction itself), with one correction entry of 0
//! points whose detail says what was before and after.

use crate::book::take_from_lots;
use crate::codes::referral_code;
use crate::jobs::verify;
use enishi_loyalty::POINTS_LIMIT;
use enishi_store::repo::loyalty::{self, Lot, NewEntry};
use enishi_store::{Conn, StoreError};
use serde::Serialize;
use std::collections::BTreeSet;

/// The ledger source of correction entries.
const REPAIR_SOURCE: &str = "repair";

/// What a repair changed for one customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repaired {
    /// Customer.
    pub customer_id: i64,
    /// Entries voided (beyond the points limit).
    pub voided_entries: Vec<i64>,
    /// Stored balance before.
    pub balance_before: i64,
    /// Balance after: the sum of the ledger.
    pub balance_after: i64,
    /// Points in lots before (wider than a balance: they may have been corrupt).
    pub lots_before: i128,
    /// Points in lots after.
    pub lots_after: i64,
}

/// Repairs every inconsistent customer as of `now` (Unix seconds); customers whose books agree
/// are left alone, so a second run changes nothing.
pub fn repair(c: &mut dyn Conn, now: i64) -> Result<Vec<Repaired>, StoreError> {
    let beyond = loyalty::entries_beyond(c, POINTS_LIMIT, REPAIR_SOURCE)?;
    for &(id, customer_id, points) in &beyond {
        void(c, id, customer_id, points, now)?;
    }
    let (_, mismatches) = verify(c)?;
    let customers: BTreeSet<i64> =
        mismatches.iter().map(|m| m.customer_id).chain(beyond.iter().map(|&(_, customer, _)| customer)).collect();
    let mut out = Vec::with_capacity(customers.len());
    for customer_id in customers {
        let voided = beyond.iter().filter(|b| b.1 == customer_id).map(|b| b.0).collect();
        out.push(mend(c, customer_id, voided, now)?);
    }
    Ok(out)
}

/// Cancels entry `id` of `points` with correction entries (two when `-points` does not fit in
/// 64 bits).
fn void(c: &mut dyn Conn, id: i64, customer_id: i64, points: i64, now: i64) -> Result<(), StoreError> {
    let parts: Vec<i64> = match points.checked_neg() {
        Some(p) => vec![p],
        None => vec![i64::MAX, 1],
    };
    let reason = format!("voids entry {id}: {points} points is beyond the {POINTS_LIMIT} points Enishi counts");
    let source_ref = id.to_string();
    for (n, p) in parts.into_iter().enumerate() {
        let key = format!("repair:void:{id}:{n}");
        loyalty::append(c, &correction(customer_id, p, &source_ref, &key, &reason, "{}", now))?;
    }
    Ok(())
}

fn correction<'a>(
    customer_id: i64,
    points: i64,
    source_ref: &'a str,
    key: &'a str,
    reason: &'a str,
    detail: &'a str,
    now: i64,
) -> NewEntry<'a> {
    NewEntry {
        customer_id,
        kind: "correction",
        points,
        source: REPAIR_SOURCE,
        source_ref: Some(source_ref),
        program_version: None,
        idempotency_key: key,
        reason: Some(reason),
        detail,
        occurred_at: now,
        available_at: now,
        expires_at: None,
    }
}

/// Sets one customer's balance to the ledger's sum and makes the lots hold as much.
fn mend(c: &mut dyn Conn, customer_id: i64, voided: Vec<i64>, now: i64) -> Result<Repaired, StoreError> {
    let audit = loyalty::balance_audit_of(c, customer_id)?;
    let balance =
        i64::try_from(audit.ledger).ok().filter(|b| b.unsigned_abs() <= POINTS_LIMIT as u64).ok_or_else(|| {
            StoreError::OutOfRange(format!(
                "customer {customer_id}: the ledger sums to {}, too far to repair",
                audit.ledger
            ))
        })?;
    let mut acct = loyalty::account_for_update(c, customer_id, &referral_code(customer_id))?;
    let balance_before = acct.balance;

    // Each lot holds between 0 and what its entry credited (none for a voided entry).
    let mut lots: Vec<(Lot, i64)> = loyalty::all_lots_with_points(c, customer_id)?;
    let mut changed: Vec<(i64, i64)> = Vec::new();
    for (lot, points) in &mut lots {
        let void = voided.contains(&lot.ledger_id) || points.unsigned_abs() > POINTS_LIMIT as u64;
        let cap = if void { 0 } else { (*points).max(0) };
        let fixed = lot.remaining.clamp(0, cap);
        if fixed != lot.remaining {
            lot.remaining = fixed;
            changed.push((lot.ledger_id, fixed));
        }
    }
    let target = balance.max(0);
    let held: i64 = lots.iter().map(|(l, _)| l.remaining).sum();
    let mut missing = 0;
    if held > target {
        let plain: Vec<Lot> = lots.iter().map(|(l, _)| *l).collect();
        changed.extend(take_from_lots(&plain, held - target, &[], None));
    } else {
        // Points the lots lack go back to the newest lots, up to what each credited.
        missing = target - held;
        for (lot, points) in lots.iter_mut().rev() {
            if missing == 0 {
                break;
            }
            let room = (*points).max(0) - lot.remaining;
            if room > 0 && points.unsigned_abs() <= POINTS_LIMIT as u64 && !voided.contains(&lot.ledger_id) {
                let add = room.min(missing);
                lot.remaining += add;
                missing -= add;
                changed.push((lot.ledger_id, lot.remaining));
            }
        }
    }
    for (ledger_id, remaining) in &changed {
        loyalty::set_lot_remaining(c, *ledger_id, *remaining)?;
    }

    let detail = serde_json::json!({
        "balance_before": balance_before, "balance_after": balance,
        "lots_before": audit.lots.to_string(), "lots_after": target, "voided_entries": voided,
    })
    .to_string();
    let key = format!("repair:{customer_id}:{now}");
    let reason = "books re-derived from the ledger by `enishi loyalty repair`";
    let source_ref = customer_id.to_string();
    let id = loyalty::append(c, &correction(customer_id, 0, &source_ref, &key, reason, &detail, now))?;
    if let (Some(id), true) = (id, missing > 0) {
        let lot = Lot { ledger_id: id, customer_id, remaining: missing, available_at: now, expires_at: None };
        loyalty::insert_lot(c, &lot)?;
    }
    acct.balance = balance;
    loyalty::save_account(c, &acct)?;
    Ok(Repaired {
        customer_id,
        voided_entries: voided,
        balance_before,
        balance_after: balance,
        lots_before: audit.lots,
        lots_after: target,
    })
}
