//! The purchase history of a few thousand customers at once — their orders, returns and,
//! when asked, the lines of both — read in a handful of queries, for evaluating purchase
//! conditions in memory (the buyers of an import batch, each as of the day before their
//! order). Rows are read as stored, without the per-customer summaries.

use crate::db::Value;
use crate::repo::{query_in, query_in_after};
use crate::{Conn, StoreError};

/// One stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryOrder {
    /// Its Enishi id.
    pub id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// The business day it was placed.
    pub placed_day: i64,
    /// Its total, scaled as stored.
    pub total: i64,
}

/// One purchase line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    /// Its order.
    pub order_id: i64,
    /// The product.
    pub sku: String,
    /// The product's category, if known.
    pub category: Option<String>,
    /// Units bought.
    pub quantity: i64,
}

/// One stored return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryReturn {
    /// Its Enishi id.
    pub id: i64,
    /// The order it refunds (none for a return without one).
    pub order_id: Option<i64>,
    /// Its customer.
    pub customer_id: i64,
    /// When it was recorded (Unix seconds).
    pub returned_at: i64,
    /// The amount refunded, scaled as stored.
    pub amount: i64,
}

/// One returned line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryReturnLine {
    /// Its return.
    pub return_id: i64,
    /// The product.
    pub sku: String,
    /// Units returned.
    pub quantity: i64,
}

/// What [`of_customers`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurchaseHistory {
    /// Which of the customers asked for exist, ascending.
    pub customers: Vec<i64>,
    /// Their orders placed on or before the last day asked for.
    pub orders: Vec<HistoryOrder>,
    /// The lines of those orders (empty unless lines were asked for).
    pub lines: Vec<HistoryLine>,
    /// Their returns recorded before the instant asked for.
    pub returns: Vec<HistoryReturn>,
    /// The lines of those returns (empty unless lines were asked for).
    pub return_lines: Vec<HistoryReturnLine>,
}

/// Reads the purchase history of `customer_ids`: orders placed on or before business day
/// `until_day`, returns recorded before `returned_before` (Unix seconds), and the lines of both
/// when `with_lines`.
pub fn of_customers(
    c: &mut dyn Conn,
    customer_ids: &[i64],
    until_day: i64,
    returned_before: i64,
    with_lines: bool,
) -> Result<PurchaseHistory, StoreError> {
    let mut ids = customer_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let keys: Vec<Value> = ids.iter().map(|&id| Value::Int(id)).collect();
    let mut history = PurchaseHistory::default();
    if keys.is_empty() {
        return Ok(history);
    }
    let (placed_by, returned_by) = ([Value::Int(until_day)], [Value::Int(returned_before)]);
    for r in query_in(c, "SELECT id FROM customers WHERE id IN ({list}) ORDER BY id", &keys)? {
        history.customers.push(r.int(0)?);
    }
    let orders = "SELECT id, customer_id, placed_day, total FROM orders \
                  WHERE placed_day <= $1 AND customer_id IN ({list})";
    for r in query_in_after(c, orders, &placed_by, &keys)? {
        history.orders.push(HistoryOrder {
            id: r.int(0)?,
            customer_id: r.int(1)?,
            placed_day: r.int(2)?,
            total: r.int(3)?,
        });
    }
    let returns = "SELECT id, order_id, customer_id, returned_at, amount FROM returns \
                   WHERE returned_at < $1 AND customer_id IN ({list})";
    for r in query_in_after(c, returns, &returned_by, &keys)? {
        history.returns.push(HistoryReturn {
            id: r.int(0)?,
            order_id: r.opt_int(1)?,
            customer_id: r.int(2)?,
            returned_at: r.int(3)?,
            amount: r.int(4)?,
        });
    }
    if with_lines {
        let lines = "SELECT l.order_id, l.sku, l.category, l.quantity FROM order_lines l \
                     JOIN orders o ON o.id = l.order_id \
                     WHERE o.placed_day <= $1 AND o.customer_id IN ({list})";
        for r in query_in_after(c, lines, &placed_by, &keys)? {
            history.lines.push(HistoryLine {
                order_id: r.int(0)?,
                sku: r.text(1)?,
                category: r.opt_text(2)?,
                quantity: r.int(3)?,
            });
        }
        let return_lines = "SELECT l.return_id, l.sku, l.quantity FROM return_lines l \
                            JOIN returns r ON r.id = l.return_id \
                            WHERE r.returned_at < $1 AND r.customer_id IN ({list})";
        for r in query_in_after(c, return_lines, &returned_by, &keys)? {
            history.return_lines.push(HistoryReturnLine { return_id: r.int(0)?, sku: r.text(1)?, quantity: r.int(2)? });
        }
    }
    Ok(history)
}
