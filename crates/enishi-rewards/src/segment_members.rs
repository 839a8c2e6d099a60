//! Membership of the saved segments a programme limits promotions, rewards and offers to.
//!
//! A promotion reads its segment as of the close of the business day before the order, so
//! every order of a day sees the same members whether it arrives through the API, one by one,
//! or in an import batch that also holds the day's later orders.

use enishi_core::BusinessClock;
use enishi_segments::saved;
use enishi_store::repo::segments as repo;
use enishi_store::{Conn, StoreError};

/// The business day whose close a promotion on an order of `order_day` reads its segment at.
pub(crate) fn promotion_as_of(order_day: i64) -> i64 {
    order_day - 1
}

/// Which of `ids` are members of the saved segment `name` as of `as_of_day`, ascending. A
/// segment that no longer exists has no members.
pub(crate) fn members_among(
    c: &mut dyn Conn,
    name: &str,
    ids: &[i64],
    as_of_day: i64,
    clock: &BusinessClock,
) -> Result<Vec<i64>, StoreError> {
    let Some(segment) = repo::by_name(c, name)? else { return Ok(Vec::new()) };
    let evaluated =
        saved::read_rule(&segment).and_then(|rule| enishi_segments::members_among(c, &rule, as_of_day, clock, ids));
    evaluated.map_err(|e| match e {
        enishi_segments::Error::Store(e) => e,
        other => {
            StoreError::Decode(format!("segment \"{name}\" of the loyalty programme cannot be evaluated: {other}"))
        }
    })
}

/// Whether `customer_id` is a member of the saved segment `name` as of `as_of_day`.
pub(crate) fn is_member(
    c: &mut dyn Conn,
    name: &str,
    customer_id: i64,
    as_of_day: i64,
    clock: &BusinessClock,
) -> Result<bool, StoreError> {
    Ok(!members_among(c, name, &[customer_id], as_of_day, clock)?.is_empty())
}

/// The first segment of `names` that is not saved, if any: a programme naming it is refused.
pub(crate) fn first_missing<'a>(c: &mut dyn Conn, names: &[&'a str]) -> Result<Option<&'a str>, StoreError> {
    for &name in names {
        if repo::by_name(c, name)?.is_none() {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

/// The members of the saved segment `name` as of `as_of_day`, ascending; an error when there
/// is no such segment.
pub(crate) fn members(
    c: &mut dyn Conn,
    name: &str,
    as_of_day: i64,
    clock: &BusinessClock,
) -> Result<Vec<i64>, crate::LoyaltyError> {
    let Some(segment) = repo::by_name(c, name)? else {
        return Err(crate::invalid("segment", format!("there is no saved segment named \"{name}\"")));
    };
    let evaluated = saved::read_rule(&segment).and_then(|rule| enishi_segments::members(c, &rule, as_of_day, clock));
    evaluated.map_err(|e| match e {
        enishi_segments::Error::Store(e) => crate::LoyaltyError::Store(e),
        other => crate::invalid("segment", format!("segment \"{name}\" cannot be evaluated: {other}")),
    })
}
