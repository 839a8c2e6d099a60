//! Posting to the ledger: credits open a dated lot, debits consume lots oldest-expiry first.
//! The account balance always equals the sum of the customer's ledger, and the points left in
//! lots equal the balance when it is positive (a negative balance is a debt, and new credits
//! pay it off before they open a lot).

use enishi_loyalty::POINTS_LIMIT;
use enishi_store::repo::loyalty::{self, Lot, LoyaltyAccount, NewEntry};
use enishi_store::{Conn, StoreError};

/// Appends a credit and opens its lot, paying off any debt first. A credit of 0 points is only
/// recorded (it marks a reward as given, such as a birthday coupon without points). `false` when
/// the idempotency key was already used (nothing written).
pub(crate) fn credit(c: &mut dyn Conn, acct: &mut LoyaltyAccount, e: &NewEntry<'_>) -> Result<bool, StoreError> {
    debug_assert!(e.points >= 0);
    let mut after = acct.clone();
    let lot = apply_credit(&mut after, e.points)?;
    let Some(id) = loyalty::append(c, e)? else { return Ok(false) };
    *acct = after;
    if let Some(remaining) = lot {
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
/// off, or `None` for a credit of 0 (which opens no lot). A balance that would leave
/// ±[`POINTS_LIMIT`] is refused and the account left as it was.
pub(crate) fn apply_credit(acct: &mut LoyaltyAccount, points: i64) -> Result<Option<i64>, StoreError> {
    if points == 0 {
        return Ok(None);
    }
    let debt = (-acct.balance).max(0);
    acct.balance = add_points(acct.balance, points)?;
    Ok(Some((points - debt).max(0)))
}

/// `balance + points`, or [`StoreError::OutOfRange`] when either is, or the sum would be,
/// beyond ±[`POINTS_LIMIT`] (never a wrap).
pub(crate) fn add_points(balance: i64, points: i64) -> Result<i64, StoreError> {
    balance
        .checked_add(points)
        .filter(|b| b.unsigned_abs() <= POINTS_LIMIT as u64 && points.unsigned_abs() <= POINTS_LIMIT as u64)
        .ok_or_else(|| {
            StoreError::OutOfRange(format!(
                "a balance of {balance} and {points} points would leave the range of {POINTS_LIMIT} points either way"
            ))
        })
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
    let balance = add_points(acct.balance, e.points)?;
    if loyalty::append(c, e)?.is_none() {
        return Ok(false);
    }
    acct.balance = balance;
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

/// Points usable at `at`: those in lots no longer pending.
pub(crate) fn usable_points(c: &mut dyn Conn, customer_id: i64, at: i64) -> Result<i64, StoreError> {
    let lots = loyalty::open_lots(c, customer_id)?;
    Ok(lots.iter().filter(|l| l.available_at <= at).map(|l| l.remaining).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balances_never_wrap_or_leave_the_points_limit() {
        assert_eq!(add_points(500, -1_000).unwrap(), -500);
        assert_eq!(add_points(POINTS_LIMIT - 1, 1).unwrap(), POINTS_LIMIT);
        assert!(matches!(add_points(POINTS_LIMIT, 1), Err(StoreError::OutOfRange(_))));
        assert!(matches!(add_points(-POINTS_LIMIT, -1), Err(StoreError::OutOfRange(_))));
        assert!(matches!(add_points(500, i64::MIN), Err(StoreError::OutOfRange(_))));
        assert!(matches!(add_points(0, i64::MAX), Err(StoreError::OutOfRange(_))));
        // A refused credit leaves the account as it was.
        let mut acct = LoyaltyAccount::empty(1, "R".into());
        acct.balance = POINTS_LIMIT;
        assert!(apply_credit(&mut acct, 1).is_err());
        assert_eq!(acct.balance, POINTS_LIMIT);
        acct.balance = -100;
        assert_eq!(apply_credit(&mut acct, 150).unwrap(), Some(50), "the debt is paid first");
    }
}
