//! Segments: who a marketer means by "customers who bought A but not B".
//!
//! A rule is a tree ([`tree::Node`]) of conditions joined by `and`, `or` and `not`, written in
//! a text form ([`text`]) or stored as JSON ([`tree::Node::to_json`]), and compiled to one
//! parameterised SQL query ([`compile`]) that runs inside SQLite or PostgreSQL — members are
//! never found by loading every customer. docs/segments.md documents every field.

pub mod catalogue;
pub mod compile;
pub mod text;
pub mod tree;

pub use compile::{Context, Dialect, Invalid};
pub use tree::Node;

use enishi_store::db::{Backend, Conn};
use enishi_store::StoreError;

/// Why a rule could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rule names something that does not exist or compares it wrongly.
    #[error(transparent)]
    Invalid(#[from] Invalid),
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

/// How many customers `rule` selects as of business day `as_of_day`.
pub fn count(
    c: &mut dyn Conn,
    rule: &Node,
    as_of_day: i64,
    calendar: &enishi_core::BusinessClock,
) -> Result<i64, Error> {
    let ctx = Context { as_of_day, calendar, dialect: dialect(c) };
    let query = compile::count_query(rule, &ctx)?;
    let rows = enishi_store::sql::select(c, &query)?;
    Ok(rows.first().map(|r| r.int("n")).transpose()?.unwrap_or(0))
}

/// The ids of the customers `rule` selects as of business day `as_of_day`, ascending.
pub fn members(
    c: &mut dyn Conn,
    rule: &Node,
    as_of_day: i64,
    calendar: &enishi_core::BusinessClock,
) -> Result<Vec<i64>, Error> {
    let ctx = Context { as_of_day, calendar, dialect: dialect(c) };
    let query = compile::members_query(rule, &ctx)?;
    let rows = enishi_store::sql::select(c, &query)?;
    Ok(rows.iter().map(|r| r.int("id")).collect::<Result<_, _>>()?)
}
