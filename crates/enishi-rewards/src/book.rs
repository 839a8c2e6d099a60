//! Posting to the ledger: credits open a dated lot, debits consume lots oldest-expiry first.
//! The account balance always equals the sum of the customer's ledger, and the points left in
//! lots equal the balance when it is positive (a negative balance is a debt, and new credits
//! pay it off before they open a lot).

use enishi_store::repo::loyalty::{self, Lot, LoyaltyAccount, NewEntry};
use enishi_store::{Conn, StoreError};

/// Appends a credit and opens its lot, paying off any debt first. A credit of 0 points is only
/// recorded (it marks a reward as given, such as a birthday coupon without points). `false` when
/// the idempotency key was already used (nothing written).
pub(crate) fn credit(c: &mut dyn Conn, acct: &mut LoyaltyAccount, e: &NewEntry<'_>) -> Result<bool, StoreError> {
    debug_assert!(e.points >= 0);
    let Some(id) = loyalty::append(c, e)? else { return Ok(false) };
    if let Some(remaining) = apply_credit(acct, e.points) {
        loyalty::insert_lot(
            c,
            &Lot {
                ledger_id: id,
                customer_id: e.customer_id,
                remaining,
                available_at: e.available_at,
                expires_at: e.expires_at,
            },
        )?;
    }
    Ok(true)
}

/// Adds a credit of `points` to the balance; the points its lot keeps once any debt is paid
/// off, or `None` for a credit of 0 (which opens no lot).
pub(crate) fn apply_credit(acct: &mut LoyaltyAccount, points: i64) -> Option<i64> {
    if points == 0 {
        return None;
    }
    let debt = (-acct.balance).max(0);
    acct.balance += points;
    Some((points - debt).max(0))
}

/// Appends a debit (points < 0) and takes the points from lots: first those in `prefer`
/// (an order's own lots, for a return), then the rest soonest-expiry first. Only lots usable at
/// `usable_at` are touched when given (a redemption spends no pending points). Whatever no lot
/// covers becomes debt. `false` when the key was already used.
pub(crate) fn debit(
    c: &mut dyn Conn,
    acct: &mut LoyaltyAccount,
    e: &NewEntry<'_>,
    prefer: &[i64],
    usable_at: Option<i64>,
) -> Result<bool, StoreError> {
    debug_assert!(e.points < 0);
    if loyalty::append(c, e)?.is_none() {
        return Ok(false);
    }
    acct.balance += e.points;
    let lots = loyalty::open_lots(c, e.customer_id)?;
    for (ledger_id, remaining) in take_from_lots(&lots, -e.points, prefer, usable_at) {
        loyalty::set_lot_remaining(c, ledger_id, remaining)?;
    }
    Ok(true)
}

/// Takes `owed` points from a customer's open `lots` (in the order [`loyalty::open_lots`] gives):
/// first from those in `prefer`, then from the rest; only from lots usable at `usable_at` when
/// it is given. Returns the lots it took from, with what is left of each.
pub(crate) fn take_from_lots(lots: &[Lot], mut owed: i64, prefer: &[i64], usable_at: Option<i64>) -> Vec<(i64, i64)> {
    let mut order: Vec<&Lot> = lots.iter().filter(|l| l.remaining > 0).collect();
    order.sort_by_key(|l| !prefer.contains(&l.ledger_id)); // stable: keeps expiry order within
    let mut taken = Vec::new();
    for lot in order {
        if owed == 0 {
            break;
        }
        if usable_at.is_some_and(|t| lot.available_at > t) {
            continue;
        }
        let take = owed.min(lot.remaining);
        taken.push((lot.ledger_id, lot.remaining - take));
        owed -= take;
    }
    taken
}

/// Points usable at `at` (lots no longer pending), and points still pending.
pub(crate) fn usable_and_pending(c: &mut dyn Conn, customer_id: i64, at: i64) -> Result<(i64, i64), StoreError> {
    let lots = loyalty::open_lots(c, customer_id)?;
    let usable = lots.iter().filter(|l| l.available_at <= at).map(|l| l.remaining).sum();
    let pending = lots.iter().filter(|l| l.available_at > at).map(|l| l.remaining).sum();
    Ok((usable, pending))
}
