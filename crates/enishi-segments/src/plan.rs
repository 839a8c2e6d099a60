//! Choosing how a rule's query is written, so a count over a million customers stays quick.
//!
//! A rule whose top is `and` can be run two ways that select the same customers. As sets,
//! every condition's customers are gathered first (`c.id IN (SELECT …)`) and each customer is
//! looked up in them: the work is the sizes of all the sets. As probes, the most selective
//! condition alone is gathered and drives the query, and the others are checked only for the
//! customers still in the running, most selective first, one index seek each (`EXISTS (…
//! WHERE customer_id = c.id)`): the work is the driver's size plus the survivors of each
//! check. Which is less work depends on the data, so the conditions' pass rates are measured
//! on an evenly spread sample of customers first (a few hundred seeks per condition).
//!
//! When no check reads the customer's own row, the driver's ids are the query's rows
//! themselves, distinct and ascending ([`Planned::Driven`]): no customer row is read at all,
//! and the checks seek their tables in key order.

use crate::compile::{self, Context, Dialect, Form};
use crate::{Error, Node};
use enishi_store::db::Conn;
use sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement, SqliteQueryBuilder};

/// How a rule's members are selected.
#[derive(Debug, Clone)]
pub enum Planned {
    /// The customers (`customers AS c`) for whom the condition holds.
    Filtered(Expr),
    /// The ids one condition gathers (`AS c`, one column `id`, distinct and ascending) for
    /// which the checks on `c.id` hold.
    Driven {
        /// The driver's ids.
        ids: Box<SelectStatement>,
        /// The other conditions, as probes.
        checks: Expr,
    },
}

impl Planned {
    /// `SELECT COUNT(*) AS n …`: how many customers the plan selects.
    pub fn count(self) -> SelectStatement {
        match self {
            Planned::Filtered(e) => compile::count_where(e),
            Planned::Driven { ids, checks } => Query::select()
                .expr_as(Func::count(Expr::col(sea_query::Asterisk)), Alias::new("n"))
                .from_subquery(*ids, Alias::new("c"))
                .and_where(checks)
                .to_owned(),
        }
    }

    /// `SELECT c.id … ORDER BY c.id`: the customers the plan selects.
    pub fn members(self) -> SelectStatement {
        match self {
            Planned::Filtered(e) => compile::members_where(e),
            Planned::Driven { ids, checks } => Query::select()
                .column((Alias::new("c"), Alias::new("id")))
                .from_subquery(*ids, Alias::new("c"))
                .and_where(checks)
                .order_by((Alias::new("c"), Alias::new("id")), sea_query::Order::Asc)
                .to_owned(),
        }
    }
}

/// Customers in the sample that measures pass rates.
const SAMPLE: i64 = 256;

/// Samples smaller than this (a small database) are not worth planning for: sets it is.
const MIN_SAMPLE: i64 = 64;

/// What one probe costs against adding one customer to a set (measured on 1 M customers:
/// an index seek is slower than an insert into an in-memory set).
const PROBE_COST: f64 = 1.5;

/// How to select `rule`'s members: as sets or as probes, whichever reads less.
pub fn condition(c: &mut dyn Conn, rule: &Node, ctx: &Context<'_>) -> Result<Planned, Error> {
    if ctx.dialect != Dialect::Sqlite {
        return Ok(Planned::Filtered(compile::expr(rule, &Context { form: natural_form(ctx.dialect), ..*ctx }, "")?));
    }
    let sets = Planned::Filtered(compile::expr(rule, &Context { form: Form::Sets, ..*ctx }, "")?);
    let Node::And(children) = rule else { return Ok(sets) };
    if children.len() < 2 {
        return Ok(sets);
    }
    let probing = Context { form: Form::Probes, ..*ctx };
    let probes = children
        .iter()
        .enumerate()
        .map(|(i, child)| compile::expr(child, &probing, &format!("/and/{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(rates) = pass_rates(c, &probes)? else { return Ok(sets) };
    let mut order: Vec<usize> = (0..children.len()).collect();
    order.sort_by(|&a, &b| rates[a].total_cmp(&rates[b]));
    let sorted: Vec<f64> = order.iter().map(|&i| rates[i]).collect();
    if !probes_pay(&sorted) {
        return Ok(sets);
    }
    let checks = order[2..].iter().fold(probes[order[1]].clone(), |all, &i| all.and(probes[i].clone()));
    if !reads_customer_row(&checks) {
        if let Some(ids) = compile::gathered_ids(&children[order[0]], ctx)? {
            return Ok(Planned::Driven { ids: Box::new(ids), checks });
        }
    }
    let driver = compile::expr(&children[order[0]], &Context { form: Form::Sets, ..*ctx }, "")?;
    Ok(Planned::Filtered(driver.and(checks)))
}

/// Whether `e` reads a column of the customer's row `c` other than its id (a value that
/// happens to contain the text `"c".` only makes this answer yes: the slower plan, still right).
fn reads_customer_row(e: &Expr) -> bool {
    let sql = Query::select().expr(e.clone()).to_string(SqliteQueryBuilder);
    let column = "\"c\".\"";
    sql.match_indices(column).any(|(at, _)| !sql[at + column.len()..].starts_with("id\""))
}

/// How a database runs a rule best without planning: SQLite gathers sets; PostgreSQL probes,
/// because it turns `EXISTS` under `and` into semi-joins of its own choosing and runs it under
/// `or` and `not` as one index seek per customer, while a set there is a hashed subplan only as
/// long as it fits in `work_mem` and is scanned again for every customer when it does not
/// (`consent.email or not consent.email` over 1 M customers ran for more than ten minutes as
/// sets, 4 s as probes).
pub fn natural_form(dialect: Dialect) -> Form {
    match dialect {
        Dialect::Sqlite => Form::Sets,
        Dialect::Postgres => Form::Probes,
    }
}

/// The share of customers each condition selects, measured on an evenly spread sample of
/// customer ids; `None` when there are too few customers to tell.
fn pass_rates(c: &mut dyn Conn, probes: &[Expr]) -> Result<Option<Vec<f64>>, Error> {
    let bounds = c.query_opt("SELECT MIN(id) AS lo, MAX(id) AS hi FROM customers", &[])?;
    let Some((Some(lo), Some(hi))) = bounds.map(|r| (r.opt_int("lo").ok().flatten(), r.opt_int("hi").ok().flatten()))
    else {
        return Ok(None);
    };
    let span = hi.saturating_sub(lo).saturating_add(1);
    if span < MIN_SAMPLE {
        return Ok(None);
    }
    let step = std::cmp::max(span / SAMPLE, 1);
    let ids: Vec<i64> = (0..std::cmp::min(SAMPLE, span)).map(|k| lo + k * step).collect();
    let mut q = Query::select()
        .expr_as(Func::count(Expr::col(sea_query::Asterisk)), Alias::new("n"))
        .from_as(Alias::new("customers"), Alias::new("c"))
        .and_where(Expr::col((Alias::new("c"), Alias::new("id"))).is_in(ids))
        .to_owned();
    for (i, probe) in probes.iter().enumerate() {
        let hit = Expr::case(probe.clone(), 1).finally(0);
        q.expr_as(Func::coalesce([Func::sum(hit).into(), Expr::val(0)]), Alias::new(format!("p{i}")));
    }
    let rows = enishi_store::sql::select(c, &q)?;
    let Some(row) = rows.first() else { return Ok(None) };
    let n = row.int("n")?;
    if n < MIN_SAMPLE {
        return Ok(None);
    }
    let rates = (0..probes.len())
        .map(|i| Ok(row.int(format!("p{i}").as_str())? as f64 / n as f64))
        .collect::<Result<Vec<f64>, Error>>()?;
    Ok(Some(rates))
}

/// Whether probes are less work than sets, for conditions whose pass rates are `sorted`
/// (ascending). A set is the smaller side of its condition (a `not` gathers what it
/// excludes); probes gather the first condition's set and check each later condition for the
/// customers every earlier one let through.
fn probes_pay(sorted: &[f64]) -> bool {
    let set = |p: f64| p.min(1.0 - p);
    let sets: f64 = sorted.iter().map(|&p| set(p)).sum();
    let mut through = sorted[0];
    let mut probes = set(sorted[0]);
    for &p in &sorted[1..] {
        probes += through * PROBE_COST;
        through *= p;
    }
    probes < sets
}

#[cfg(test)]
mod tests {
    use super::{probes_pay, reads_customer_row};
    use sea_query::{Alias, Expr, ExprTrait};

    #[test]
    fn a_check_on_the_customers_own_row_is_told_from_one_on_its_id() {
        let c = |column: &str| Expr::col((Alias::new("c"), Alias::new(column)));
        assert!(!reads_customer_row(&c("id").eq(1)));
        assert!(reads_customer_row(&c("id").eq(1).and(c("locale").eq("ja"))));
        assert!(reads_customer_row(&c("identity").eq(1)), "a column whose name starts with id");
    }

    #[test]
    fn probes_pay_when_one_condition_is_selective_and_not_when_none_is() {
        // The benchmark's rule: coffee in 90 days, RFM segments, 2+ orders, consent, no mug.
        assert!(probes_pay(&[0.238, 0.352, 0.609, 0.648, 0.918]));
        // Nothing selective: every customer would be probed for every condition.
        assert!(!probes_pay(&[0.6, 0.7, 0.8]));
        // A tiny driver always pays.
        assert!(probes_pay(&[0.001, 0.5]));
    }
}
