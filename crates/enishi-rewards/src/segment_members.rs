//! Membership of the saved segments a programme limits promotions, rewards and offers to.
//!
//! A promotion reads its segment as of the close of the business day before the order, so
//! every order of a day sees the same members whether it arrives through the API, one by one,
//! or in an import batch that also holds the day's later orders.

use enishi_core::BusinessClock;
use enishi_loyalty::ProgramError;
use enishi_segments::{saved, PurchaseRule, Purchases};
use enishi_store::repo::segments as repo;
use enishi_store::{Conn, StoreError};
use std::collections::BTreeMap;

/// The business day whose close a promotion on an order of `order_day` reads its segment at.
pub(crate) fn promotion_as_of(order_day: i64) -> i64 {
    order_day - 1
}

/// For each business day of `wanted`, which of its customers are members of the saved
/// segment `name` as of that day, ascending. A segment that no longer exists has no members.
pub(crate) fn members_by_day(
    c: &mut dyn Conn,
    name: &str,
    wanted: &BTreeMap<i64, Vec<i64>>,
    clock: &BusinessClock,
) -> Result<BTreeMap<i64, Vec<i64>>, StoreError> {
    let Some(segment) = repo::by_name(c, name)? else { return Ok(BTreeMap::new()) };
    let evaluated =
        saved::read_rule(&segment).and_then(|rule| enishi_segments::members_among_by_day(c, &rule, clock, wanted));
    evaluated.map_err(|e| cannot_evaluate(name, e))
}

/// A segment the programme names whose rule fails, as the store error an order meets.
fn cannot_evaluate(name: &str, e: enishi_segments::Error) -> StoreError {
    match e {
        enishi_segments::Error::Store(e) => e,
        other => StoreError::Decode(format!(
            "segment \"{name}\", which the loyalty programme names, cannot be evaluated: {other}; \
                 correct its rule (enishi segment update, or the console's segment page)"
        )),
    }
}

/// How the members of a saved segment are found for an order batch.
pub(crate) enum SegmentRule {
    /// The segment no longer exists: it has no members.
    Missing,
    /// Its rule names purchase history and conditions that read the same every day:
    /// answered from a [`Purchases`].
    InMemory(PurchaseRule),
    /// Any other rule: answered from the store.
    Stored,
}

/// How the members of the saved segment `name` are found for an order batch.
pub(crate) fn segment_rule(c: &mut dyn Conn, name: &str, clock: &BusinessClock) -> Result<SegmentRule, StoreError> {
    let Some(segment) = repo::by_name(c, name)? else { return Ok(SegmentRule::Missing) };
    let rule = saved::read_rule(&segment).and_then(|rule| enishi_segments::purchase_rule(c, &rule, clock));
    Ok(rule.map_err(|e| cannot_evaluate(name, e))?.map_or(SegmentRule::Stored, SegmentRule::InMemory))
}

/// [`members_by_day`] for the segment `name`, whose rule is `rule`, from the history that
/// `purchases` holds of every customer of `wanted`.
pub(crate) fn members_in_memory(
    c: &mut dyn Conn,
    name: &str,
    purchases: &Purchases,
    rule: &PurchaseRule,
    wanted: &BTreeMap<i64, Vec<i64>>,
    clock: &BusinessClock,
) -> Result<BTreeMap<i64, Vec<i64>>, StoreError> {
    purchases.members_by_day(c, rule, clock, wanted).map_err(|e| cannot_evaluate(name, e))
}

/// Whether `customer_id` is a member of the saved segment `name` as of `as_of_day`.
pub(crate) fn is_member(
    c: &mut dyn Conn,
    name: &str,
    customer_id: i64,
    as_of_day: i64,
    clock: &BusinessClock,
) -> Result<bool, StoreError> {
    let wanted = BTreeMap::from([(as_of_day, vec![customer_id])]);
    Ok(members_by_day(c, name, &wanted, clock)?.get(&as_of_day).is_some_and(|m| !m.is_empty()))
}

/// The first segment the programme `p` names that is not saved, as the programme's error at
/// the field that names it: applying such a programme is refused.
pub fn missing_segment(c: &mut dyn Conn, p: &enishi_loyalty::Program) -> Result<Option<ProgramError>, StoreError> {
    for (path, name) in p.segments() {
        if repo::by_name(c, name)?.is_none() {
            return Ok(Some(ProgramError { path, reason: format!("there is no saved segment named \"{name}\"") }));
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

/// The field of the newest programme version that names the saved segment `name`
/// (`promotions[0].segment`), if any: such a segment is not deleted.
pub fn programme_field_naming(c: &mut dyn Conn, name: &str) -> Result<Option<String>, StoreError> {
    let Some(stored) = enishi_store::repo::loyalty::latest_program(c)? else { return Ok(None) };
    let program = enishi_loyalty::Program::parse(&stored.document, &BusinessClock::default())
        .map_err(|e| StoreError::Decode(format!("stored loyalty programme version {}: {e}", stored.version)))?;
    let named = program.segments().into_iter().find(|(_, n)| *n == name).map(|(path, _)| path);
    Ok(named.map(|path| format!("the loyalty programme (version {}, {path})", stored.version)))
}
