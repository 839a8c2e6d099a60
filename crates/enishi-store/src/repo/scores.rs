//! Per-customer analytics scores: written in bulk by the analyses, read with the customer.

use crate::db::{Conn, Param, Rows, Value};
use crate::model::{CustomerScores, RfmScores, ValueScores};
use crate::{params, StoreError};
use std::collections::HashMap;

fn upsert(c: &mut dyn Conn, columns: &[&str], rows: &Rows<'_>) -> Result<(), StoreError> {
    c.upsert_rows("customer_scores", "customer_id", columns, rows)
}

/// Stores the RFM scores of customers (Enishi id, scores).
pub fn store_rfm(c: &mut dyn Conn, scores: &[(i64, RfmScores)]) -> Result<(), StoreError> {
    let t = c.now();
    let rows = Rows::collect(scores.iter().map(|(id, s)| {
        [(*id).into(), s.as_of_day.into(), s.r.into(), s.f.into(), s.m.into(), s.segment.as_str().into(), t.into()]
    }));
    upsert(c, &["customer_id", "rfm_as_of_day", "rfm_r", "rfm_f", "rfm_m", "rfm_segment", "updated_at"], &rows)
}

/// Replaces every customer's loyal class (`loyal`, `semi_loyal`, `other`) with `classes`
/// (Enishi id, class); customers not listed have none.
pub fn store_loyal_classes(c: &mut dyn Conn, classes: &[(i64, &str)]) -> Result<(), StoreError> {
    let t = c.now();
    c.execute("UPDATE customer_scores SET loyal_class = NULL WHERE loyal_class IS NOT NULL", &[])?;
    let rows = Rows::collect(classes.iter().map(|(id, class)| [(*id).into(), (*class).into(), t.into()]));
    upsert(c, &["customer_id", "loyal_class", "updated_at"], &rows)
}

/// Stores the predicted value of customers (Enishi id, scores).
pub fn store_value(c: &mut dyn Conn, scores: &[(i64, ValueScores)]) -> Result<(), StoreError> {
    let t = c.now();
    let finite = |v: f64| if v.is_finite() { Param::Real(v) } else { Param::Null };
    let rows = Rows::collect(scores.iter().map(|(id, s)| {
        [
            (*id).into(),
            s.as_of_day.into(),
            finite(s.p_alive),
            finite(s.expected_purchases),
            s.expected_days.into(),
            finite(s.expected_value),
            finite(s.clv),
            t.into(),
        ]
    }));
    upsert(
        c,
        &[
            "customer_id",
            "clv_as_of_day",
            "p_alive",
            "expected_purchases",
            "expected_days",
            "expected_value",
            "clv",
            "updated_at",
        ],
        &rows,
    )
}

/// The scores of one customer, if any analysis has scored them.
pub fn get(c: &mut dyn Conn, customer_id: i64) -> Result<Option<CustomerScores>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT rfm_as_of_day, rfm_r, rfm_f, rfm_m, rfm_segment, clv_as_of_day, p_alive, expected_purchases, expected_days, \
         expected_value, clv, lifecycle_stage, loyal_class FROM customer_scores WHERE customer_id = $1",
        params![customer_id],
    )?
    else {
        return Ok(None);
    };
    let real = |i: usize| -> Result<f64, StoreError> {
        match r.opt_int(i) {
            Ok(None) => Ok(f64::NAN),
            Ok(Some(v)) => Ok(v as f64),
            Err(_) => r.real(i),
        }
    };
    let rfm = match (r.opt_int(0)?, r.opt_int(1)?, r.opt_int(2)?, r.opt_int(3)?, r.opt_text(4)?) {
        (Some(as_of_day), Some(rr), Some(f), Some(m), Some(segment)) => {
            Some(RfmScores { as_of_day, r: rr, f, m, segment })
        }
        _ => None,
    };
    let value = match r.opt_int(5)? {
        Some(as_of_day) => Some(ValueScores {
            as_of_day,
            p_alive: real(6)?,
            expected_purchases: real(7)?,
            expected_days: r.opt_int(8)?.unwrap_or(0),
            expected_value: real(9)?,
            clv: real(10)?,
        }),
        None => None,
    };
    Ok(Some(CustomerScores { rfm, value, lifecycle_stage: r.opt_text(11)?, loyal_class: r.opt_text(12)? }))
}

/// A customer with the highest predicted value.
#[derive(Debug, Clone, PartialEq)]
pub struct TopValue {
    /// Customer.
    pub customer_id: i64,
    /// The shop's id.
    pub external_id: String,
    /// Name.
    pub name: Option<String>,
    /// Predicted value over the model's horizon.
    pub clv: f64,
    /// Probability of being alive.
    pub p_alive: f64,
    /// Expected purchases over the horizon.
    pub expected_purchases: f64,
}

/// The `limit` customers with the highest stored CLV, highest first.
pub fn top_by_value(c: &mut dyn Conn, limit: i64) -> Result<Vec<TopValue>, StoreError> {
    c.query(
        "SELECT s.customer_id, c.external_id, c.name, s.clv, COALESCE(s.p_alive, 0), COALESCE(s.expected_purchases, 0) \
         FROM customer_scores s JOIN customers c ON c.id = s.customer_id \
         WHERE s.clv IS NOT NULL AND s.clv < 1e300 ORDER BY s.clv DESC, s.customer_id LIMIT $1",
        params![limit],
    )?
    .iter()
    .map(|r| {
        Ok(TopValue {
            customer_id: r.int(0)?,
            external_id: r.text(1)?,
            name: r.opt_text(2)?,
            clv: r.real(3)?,
            p_alive: r.real(4)?,
            expected_purchases: r.real(5)?,
        })
    })
    .collect()
}

/// What a customer's lifecycle stage is judged from.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleRow {
    /// Customer.
    pub customer_id: i64,
    /// The shop's id.
    pub external_id: String,
    /// The customer's name, when known.
    pub name: Option<String>,
    /// First order (Unix seconds).
    pub first_order_at: i64,
    /// Last order (Unix seconds).
    pub last_order_at: i64,
    /// Distinct purchase days.
    pub purchase_days: i64,
    /// Spend net of returns, 1/10,000 units.
    pub net_spend: i64,
    /// P(alive), if a model scored it.
    pub p_alive: Option<f64>,
    /// CLV, if a model scored it.
    pub clv: Option<f64>,
    /// The stage stored by the last run.
    pub stage: Option<String>,
}

/// Every buying customer's lifecycle inputs, in id order; a stats row that counts orders but
/// has lost their dates (only a hand edit makes one) is passed over, not a failure of the whole
/// report.
pub fn lifecycle_inputs(c: &mut dyn Conn) -> Result<Vec<LifecycleRow>, StoreError> {
    let mut out = Vec::new();
    c.query_each(
        "SELECT s.customer_id, cu.external_id, s.first_order_at, s.last_order_at, s.purchase_days, \
                s.total_spend - s.returned_amount, sc.p_alive, sc.clv, sc.lifecycle_stage, cu.name \
         FROM customer_stats s JOIN customers cu ON cu.id = s.customer_id \
         LEFT JOIN customer_scores sc ON sc.customer_id = s.customer_id \
         WHERE s.order_count > 0 AND s.first_order_at IS NOT NULL AND s.last_order_at IS NOT NULL \
         ORDER BY s.customer_id",
        &[],
        &mut |r| {
            let real = |i: usize| r.opt_int(i).map(|v| v.map(|x| x as f64)).or_else(|_| r.real(i).map(Some));
            out.push(LifecycleRow {
                customer_id: r.int(0)?,
                external_id: r.text(1)?,
                first_order_at: r.int(2)?,
                last_order_at: r.int(3)?,
                purchase_days: r.int(4)?,
                net_spend: r.int(5)?,
                p_alive: real(6)?,
                clv: real(7)?,
                stage: r.opt_text(8)?,
                name: r.opt_text(9)?,
            });
            Ok(())
        },
    )?;
    Ok(out)
}

/// Stores every customer's stage as of `as_of_day` and records the changes: (customer, stage
/// before, stage now) for those whose stage moved.
pub fn store_lifecycle(
    c: &mut dyn Conn,
    as_of_day: i64,
    stages: &[(i64, &str)],
    changes: &[(i64, Option<&str>, &str)],
) -> Result<(), StoreError> {
    let t = c.now();
    let rows =
        Rows::collect(stages.iter().map(|(id, stage)| [(*id).into(), (*stage).into(), as_of_day.into(), t.into()]));
    upsert(c, &["customer_id", "lifecycle_stage", "lifecycle_as_of_day", "updated_at"], &rows)?;
    let change_rows = Rows::collect(
        changes.iter().map(|(id, from, to)| [(*id).into(), (*from).into(), (*to).into(), as_of_day.into(), t.into()]),
    );
    c.insert_rows(
        "lifecycle_changes",
        &["customer_id", "from_stage", "to_stage", "changed_day", "created_at"],
        &change_rows,
    )
}

/// A customer's stage changes, oldest first: (day, from, to).
pub fn lifecycle_changes(c: &mut dyn Conn, customer_id: i64) -> Result<Vec<(i64, Option<String>, String)>, StoreError> {
    c.query(
        "SELECT changed_day, from_stage, to_stage FROM lifecycle_changes WHERE customer_id = $1 ORDER BY changed_day, id",
        params![customer_id],
    )?
    .iter()
    .map(|r| Ok((r.int(0)?, r.opt_text(1)?, r.text(2)?)))
    .collect()
}

/// Replaces every customer's recommendations with `rows`: (customer, [(sku, score)] best first).
pub fn store_recommendations(
    c: &mut dyn Conn,
    as_of_day: i64,
    rows: &[(i64, Vec<(String, f64)>)],
) -> Result<(), StoreError> {
    c.execute("DELETE FROM customer_recommendations", &[])?;
    let flat = Rows::collect(rows.iter().flat_map(|(id, products)| {
        products.iter().enumerate().map(move |(rank, (sku, score))| {
            [(*id).into(), (rank as i64 + 1).into(), sku.as_str().into(), (*score).into(), as_of_day.into()]
        })
    }));
    c.insert_rows("customer_recommendations", &["customer_id", "rank", "sku", "score", "as_of_day"], &flat)
}

/// A customer's recommended products, best first: (sku, product name if known, score).
pub fn recommendations(c: &mut dyn Conn, customer_id: i64) -> Result<Vec<(String, Option<String>, f64)>, StoreError> {
    c.query(
        "SELECT r.sku, p.name, r.score FROM customer_recommendations r LEFT JOIN products p ON p.sku = r.sku \
         WHERE r.customer_id = $1 ORDER BY r.rank",
        params![customer_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.opt_text(1)?, r.real(2)?)))
    .collect()
}

/// The loyal classes (as last scored) of the customers among `ids` that have one.
pub fn loyal_classes(c: &mut dyn Conn, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
    let keys: Vec<Value> = ids.iter().map(|id| Value::Int(*id)).collect();
    crate::repo::query_in(
        c,
        "SELECT customer_id, loyal_class FROM customer_scores WHERE loyal_class IS NOT NULL AND customer_id IN ({list})",
        &keys,
    )?
    .iter()
    .map(|r| Ok((r.int("customer_id")?, r.text("loyal_class")?)))
    .collect()
}
