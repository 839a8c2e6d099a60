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

use crate::compile::{self, Context, Dialect, Form};
use crate::{Error, Node};
use enishi_store::db::Conn;
use sea_query::{Alias, Expr, ExprTrait, Func, Query};

/// Customers in the sample that measures pass rates.
const SAMPLE: i64 = 256;

/// Samples smaller than this (a small database) are not worth planning for: sets it is.
const MIN_SAMPLE: i64 = 64;

/// What one probe costs against adding one customer to a set (measured on 1 M customers:
/// an index seek is slower than an insert into an in-memory set).
const PROBE_COST: f64 = 1.5;

/// The condition on the customer `c` that selects `rule`'s members, written as sets or as
/// probes, whichever reads less.
pub fn condition(c: &mut dyn Conn, rule: &Node, ctx: &Context<'_>) -> Result<Expr, Error> {
    let sets = compile::expr(rule, &Context { form: Form::Sets, ..*ctx }, "")?;
    let Node::And(children) = rule else { return Ok(sets) };
    // PostgreSQL plans its own semi-joins from its statistics.
    if ctx.dialect != Dialect::Sqlite || children.len() < 2 {
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
    let driver = compile::expr(&children[order[0]], &Context { form: Form::Sets, ..*ctx }, "")?;
    Ok(order[1..].iter().fold(driver, |all, &i| all.and(probes[i].clone())))
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
    use super::probes_pay;

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
