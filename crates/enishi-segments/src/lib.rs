//! Segments: who a marketer means by "customers who bought A but not B".
//!
//! A rule is a tree ([`tree::Node`]) of conditions joined by `and`, `or` and `not`, written in
//! a text form ([`text`]) or stored as JSON ([`tree::Node::to_json`]), and compiled to one
//! parameterised SQL query ([`compile`]) that runs inside SQLite or PostgreSQL — members are
//! never found by loading every customer. [`saved`] keeps named segments, their snapshots and
//! static lists. docs/segments.md documents every field.

pub mod catalogue;
pub mod compile;
mod history;
pub mod plan;
pub mod presets;
pub mod saved;
pub mod text;
pub mod tree;

pub use compile::{CampaignGoal, Context, Dialect, Form, Invalid, Refs, Summaries};
pub use history::{PurchaseRule, Purchases};
pub use tree::Node;

use enishi_core::BusinessClock;
use enishi_store::db::{Backend, Conn};
use enishi_store::repo::purchase_summary;
use enishi_store::StoreError;

/// Why a rule could not be evaluated or saved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rule names something that does not exist or compares it wrongly.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A stored rule is not a rule tree (it was written by something else than Enishi).
    #[error("the saved rule of \"{0}\" cannot be read: {1}")]
    Corrupt(String, tree::JsonError),
    /// A segment or list name is already used.
    #[error("there is already a {0} named \"{1}\"")]
    NameTaken(&'static str, String),
    /// No segment, list or snapshot by that name or id.
    #[error("there is no {0} named \"{1}\"")]
    NotFound(&'static str, String),
    /// The segment cannot be deleted: something in force names it (the field that does).
    #[error("segment \"{0}\" is named by {1}; change that first")]
    InUse(String, String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The dialect of `c`'s database.
pub fn dialect(c: &dyn Conn) -> Dialect {
    match c.backend() {
        Backend::Sqlite => Dialect::Sqlite,
        Backend::Postgres => Dialect::Postgres,
    }
}

/// Compiles `rule` with `compile`, in a context that holds the saved segments and lists it
/// names and the dialect of `c`'s database.
fn with_context<T>(
    c: &mut dyn Conn,
    rule: &Node,
    as_of_day: i64,
    calendar: &BusinessClock,
    compile: impl FnOnce(&mut dyn Conn, &Node, &Context<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let refs = saved::refs(c, rule)?;
    let summaries = summaries(c, as_of_day, calendar)?;
    let dialect = dialect(c);
    let ctx = Context { as_of_day, calendar, dialect, refs: &refs, summaries, form: plan::natural_form(dialect) };
    compile(c, rule, &ctx)
}

/// Which summaries answer exactly as of `as_of_day`: none when an order or return stored is
/// later than it, and the purchase summary only when it is fresh.
pub fn summaries(c: &mut dyn Conn, as_of_day: i64, calendar: &BusinessClock) -> Result<Summaries, StoreError> {
    let state = purchase_summary::state(c)?;
    let orders_before = state.horizon_day.is_none_or(|day| day <= as_of_day);
    let day_end = calendar.start_of_day(as_of_day + 1).timestamp();
    let returns_before = state.horizon_returned_at.is_none_or(|at| at < day_end);
    Ok(Summaries { products: state.fresh && orders_before && returns_before, order_count: orders_before })
}

/// How `rule`'s members are selected, planned for this database ([`plan`]).
fn planned(c: &mut dyn Conn, rule: &Node, as_of_day: i64, calendar: &BusinessClock) -> Result<plan::Planned, Error> {
    with_context(c, rule, as_of_day, calendar, plan::condition)
}

/// How many customers `rule` selects as of business day `as_of_day`.
pub fn count(c: &mut dyn Conn, rule: &Node, as_of_day: i64, calendar: &BusinessClock) -> Result<i64, Error> {
    let query = planned(c, rule, as_of_day, calendar)?.count();
    let rows = enishi_store::sql::select(c, &query)?;
    Ok(rows.first().map(|r| r.int("n")).transpose()?.unwrap_or(0))
}

/// The ids of the customers `rule` selects as of business day `as_of_day`, ascending.
pub fn members(c: &mut dyn Conn, rule: &Node, as_of_day: i64, calendar: &BusinessClock) -> Result<Vec<i64>, Error> {
    let query = planned(c, rule, as_of_day, calendar)?.members();
    let rows = enishi_store::sql::select(c, &query)?;
    Ok(rows.iter().map(|r| r.int("id")).collect::<Result<_, _>>()?)
}

/// Which of the customers `ids` are members of `rule` as of business day `as_of_day`,
/// ascending: for checking a few customers (the buyer of an order, say) without evaluating
/// everyone. See [`members_among_by_day`].
pub fn members_among(
    c: &mut dyn Conn,
    rule: &Node,
    as_of_day: i64,
    calendar: &BusinessClock,
    ids: &[i64],
) -> Result<Vec<i64>, Error> {
    let wanted = std::collections::BTreeMap::from([(as_of_day, ids.to_vec())]);
    Ok(members_among_by_day(c, rule, calendar, &wanted)?.remove(&as_of_day).unwrap_or_default())
}

/// For each business day of `wanted`, which of its customers are members of `rule` as of
/// that day, ascending: the buyers of an order batch, each as of the day before their order.
/// The saved segments and lists the rule names are read once, and nothing trusts a
/// per-customer summary, so the answer holds while an import is still storing later orders.
/// A rule of purchase conditions and conditions that read the same every day (see
/// [`purchase_rule`]) is answered in memory from the customers' orders and returns, read once
/// for every day; any other rule is one query per day (a few for thousands of customers) that
/// probes only its customers (`EXISTS`).
pub fn members_among_by_day(
    c: &mut dyn Conn,
    rule: &Node,
    calendar: &BusinessClock,
    wanted: &std::collections::BTreeMap<i64, Vec<i64>>,
) -> Result<std::collections::BTreeMap<i64, Vec<i64>>, Error> {
    let refs = saved::refs(c, rule)?;
    if wanted.is_empty() {
        return Ok(std::collections::BTreeMap::new());
    }
    match checked_purchase_rule(c, rule, calendar, &refs)? {
        Some(in_memory) => history::members_by_day(c, &in_memory, calendar, wanted),
        None => members_among_by_day_in_sql(c, rule, calendar, &refs, wanted),
    }
}

/// `rule` in the form [`Purchases`] evaluates, when each of its conditions is either over
/// purchase history (`orders`, `spend`, `bought`, …, and saved segments made of them) or
/// reads the same whatever the day (scores, tags, consent, …: evaluated once in SQL for all
/// the customers asked about, and reading no order); `None` for any other rule. A rule that
/// cannot be evaluated is refused as evaluating it would refuse it.
pub fn purchase_rule(c: &mut dyn Conn, rule: &Node, calendar: &BusinessClock) -> Result<Option<PurchaseRule>, Error> {
    let refs = saved::refs(c, rule)?;
    checked_purchase_rule(c, rule, calendar, &refs)
}

fn checked_purchase_rule(
    c: &mut dyn Conn,
    rule: &Node,
    calendar: &BusinessClock,
    refs: &Refs,
) -> Result<Option<PurchaseRule>, Error> {
    let dialect = dialect(c);
    // What a rule says does not depend on the day it is evaluated at.
    compile::validate(rule, &Context::for_checking(calendar, dialect, refs))?;
    let is_constant = |node: &Node| reads_the_same_every_day(node, calendar, dialect, refs);
    let mut constants = history::Constants { is_constant: &is_constant, nodes: Vec::new() };
    let in_memory = history::Rule::of(rule, refs, &mut constants)?;
    Ok(in_memory.map(|rule| PurchaseRule { rule, constants: constants.nodes }))
}

/// Whether `node` is written the same as of days centuries before and after any date a rule
/// names, in different months, and reads no order or return (which an import may not have
/// stored yet when it evaluates a batch). A window (`within`, `since`, `until`), the month of
/// `months_to_birthday` or any other use of the day changes what is written.
fn reads_the_same_every_day(node: &Node, calendar: &BusinessClock, dialect: Dialect, refs: &Refs) -> bool {
    const PROBES: [i64; 3] = [-400_000, 400_000, 400_045];
    // The statement and the values bound to it, as the dialect's database receives them.
    let written = |as_of_day: i64| {
        let ctx = Context { as_of_day, form: Form::Probes, ..Context::for_checking(calendar, dialect, refs) };
        let query = compile::members_where(compile::expr(node, &ctx, "").ok()?);
        Some(match dialect {
            Dialect::Sqlite => query.build(sea_query::SqliteQueryBuilder),
            Dialect::Postgres => query.build(sea_query::PostgresQueryBuilder),
        })
    };
    let Some(first) = written(PROBES[0]) else { return false };
    let purchases = ["orders", "order_lines", "returns", "return_lines"];
    PROBES[1..].iter().all(|&day| written(day).as_ref() == Some(&first))
        && !purchases.iter().any(|t| first.0.contains(&format!("\"{t}\"")))
}

/// [`members_among_by_day`] in SQL: one query per day.
pub(crate) fn members_among_by_day_in_sql(
    c: &mut dyn Conn,
    rule: &Node,
    calendar: &BusinessClock,
    refs: &Refs,
    wanted: &std::collections::BTreeMap<i64, Vec<i64>>,
) -> Result<std::collections::BTreeMap<i64, Vec<i64>>, Error> {
    /// Customers per query: well under the bound parameters either database takes.
    const CHUNK: usize = 2_000;
    use sea_query::ExprTrait as _;
    let dialect = dialect(c);
    let mut out = std::collections::BTreeMap::new();
    for (&as_of_day, ids) in wanted {
        let ctx = Context { as_of_day, calendar, dialect, refs, summaries: Summaries::default(), form: Form::Probes };
        let condition = compile::expr(rule, &ctx, "")?;
        let mut ids = ids.clone();
        ids.sort_unstable();
        ids.dedup();
        let mut members = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let among = sea_query::Expr::col((sea_query::Alias::new("c"), sea_query::Alias::new("id")))
                .is_in(chunk.iter().copied());
            let query = compile::members_where(among.and(condition.clone()));
            for row in enishi_store::sql::select(c, &query)? {
                members.push(row.int("id")?);
            }
        }
        out.insert(as_of_day, members);
    }
    Ok(out)
}

/// The first `n` members of `rule` (lowest ids) as of business day `as_of_day`: a sample to
/// show, without reading every member.
pub fn sample(
    c: &mut dyn Conn,
    rule: &Node,
    as_of_day: i64,
    calendar: &BusinessClock,
    n: u64,
) -> Result<Vec<i64>, Error> {
    let mut query = planned(c, rule, as_of_day, calendar)?.members();
    query.limit(n);
    let rows = enishi_store::sql::select(c, &query)?;
    Ok(rows.iter().map(|r| r.int("id")).collect::<Result<_, _>>()?)
}

/// The condition on the customer `c` (`customers AS c`) that selects `rule`'s members as of
/// business day `as_of_day`, to combine with other conditions on customers.
pub fn condition(
    c: &mut dyn Conn,
    rule: &Node,
    as_of_day: i64,
    calendar: &BusinessClock,
) -> Result<sea_query::Expr, Error> {
    with_context(c, rule, as_of_day, calendar, |_, rule, ctx| Ok(compile::expr(rule, ctx, "")?))
}

/// Checks `rule` against the fields and the saved segments and lists, without running it.
pub fn check(c: &mut dyn Conn, rule: &Node, calendar: &BusinessClock) -> Result<(), Error> {
    let refs = saved::refs(c, rule)?;
    Ok(compile::validate(rule, &Context::for_checking(calendar, dialect(c), &refs))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_that_read_the_same_every_day_are_told_from_those_that_do_not() {
        let calendar = BusinessClock::new("Asia/Tokyo").unwrap();
        let refs = Refs::default();
        let same = |text: &str| {
            let node = text::parse(text).unwrap();
            let both =
                [Dialect::Sqlite, Dialect::Postgres].map(|d| reads_the_same_every_day(&node, &calendar, d, &refs));
            assert_eq!(both[0], both[1], "`{text}` is told the same way for both databases");
            both[0]
        };
        for text in
            ["tag = \"vip\"", "loyal_class = \"loyal\"", "rfm.segment != \"Lost\"", "points >= 500", "consent.email"]
        {
            assert!(same(text), "{text}");
        }
        for text in [
            "months_to_birthday <= 1",
            "did(event: \"added_to_cart\", within: 2d)",
            "events(event: \"page_view\", until: 2026-01-31) >= 1",
            "complained(since: 2026-01-01)",
            "nps_group = \"detractor\"",
            "orders >= 3",
            "bought(sku: \"A\")",
        ] {
            assert!(!same(text), "{text}");
        }
    }
}
