//! The books of a merge: once the ledger, lots, order effects and coupons of a record merged
//! away carry the kept customer's id (`enishi_store::repo::merges::move_records`), the kept
//! customer's account is re-derived from them. The ledger stays append-only: no entry is
//! changed, and the merge itself is one entry of 0 points whose detail says what it did.

use crate::book::take_from_lots;
use crate::cards::{parse_cards, store_cards};
use crate::codes::referral_code;
use enishi_loyalty::POINTS_LIMIT;
use enishi_store::repo::loyalty::{self, LoyaltyAccount, NewEntry};
use enishi_store::{Conn, StoreError};
use serde::Serialize;

/// What a merge did to the points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MergedBooks {
    /// The kept customer's balance before.
    pub kept_before: i64,
    /// The merged record's balance.
    pub merged: i64,
    /// The kept customer's balance after: the sum of the ledger, now both records' entries.
    pub after: i64,
    /// Points one record's lots paid towards the other's debt (a return that took back points
    /// already spent).
    pub debt_paid: i64,
}

/// Re-derives customer `keep`'s loyalty account after a merge, given the account the merged
/// record had (`None`: it had none): the balance is the ledger's sum, lots hold exactly that
/// many points (a debt of one record is paid from the other's lots, soonest expiry first),
/// stamps on the same card add up (a card at or past its goal completes at the next stamp),
/// and the kept customer's tier stays unless they had none. `merged_external_id` and `by`
/// go in the merge's ledger entry (at `now`). `None` when neither had a loyalty account or
/// ledger.
pub fn merge_books(
    c: &mut dyn Conn,
    keep: i64,
    merged: Option<&LoyaltyAccount>,
    merged_external_id: &str,
    by: &str,
    now: i64,
) -> Result<Option<MergedBooks>, StoreError> {
    let audit = loyalty::balance_audit_of(c, keep)?;
    let kept = loyalty::account(c, keep)?;
    if kept.is_none() && merged.is_none() && audit.ledger == 0 && audit.lots == 0 {
        return Ok(None);
    }
    let balance =
        i64::try_from(audit.ledger).ok().filter(|b| b.unsigned_abs() <= POINTS_LIMIT as u64).ok_or_else(|| {
            StoreError::OutOfRange(format!("the merged ledger sums to {}, beyond what Enishi counts", audit.ledger))
        })?;
    let mut acct = loyalty::account_for_update(c, keep, &referral_code(keep))?;
    let kept_before = acct.balance;

    // Lots hold the balance: what both records' lots hold beyond it pays the debt.
    let lots = loyalty::open_lots(c, keep)?;
    let held: i64 = lots.iter().map(|l| l.remaining).sum();
    let debt_paid = (held - balance.max(0)).max(0);
    if debt_paid > 0 {
        for (ledger_id, remaining) in take_from_lots(&lots, debt_paid, &[], None) {
            loyalty::set_lot_remaining(c, ledger_id, remaining)?;
        }
    }

    if let Some(m) = merged {
        let mut cards = parse_cards(&acct.cards);
        for (id, card) in parse_cards(&m.cards) {
            let mine = cards.entry(id).or_default();
            mine.stamps += card.stamps;
            mine.last_day = mine.last_day.max(card.last_day);
        }
        store_cards(&mut acct, &cards);
        if acct.tier.is_none() {
            acct.tier = m.tier.clone();
            acct.tier_since = m.tier_since;
            acct.tier_locked_until = m.tier_locked_until;
        }
    }
    acct.balance = balance;
    loyalty::save_account(c, &acct)?;

    let books = MergedBooks { kept_before, merged: merged.map_or(0, |m| m.balance), after: balance, debt_paid };
    let detail = serde_json::json!({ "by": by, "books": books }).to_string();
    let key = format!("merge:{merged_external_id}:{keep}:{now}");
    let reason = format!("merged customer {merged_external_id} into this one");
    loyalty::append(
        c,
        &NewEntry {
            customer_id: keep,
            kind: "merge",
            points: 0,
            source: "merge",
            source_ref: Some(merged_external_id),
            program_version: None,
            idempotency_key: &key,
            reason: Some(&reason),
            detail: &detail,
            occurred_at: now,
            available_at: now,
            expires_at: None,
        },
    )?;
    Ok(Some(books))
}
