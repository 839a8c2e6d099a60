//! Orders, their lines, and returns linked to them.

use crate::db::{Conn, Row, Rows, Value};
use crate::model::{instant, NewOrder, NewReturn, Order, OrderLine, Return, ReturnLine};
use crate::repo::query_in;
use crate::{params, StoreError};
use enishi_core::Amount;
use std::collections::HashMap;

/// What happened to one order of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now, with its Enishi id.
    Created(i64),
    /// An order with this id was already stored (its Enishi id); nothing was written.
    Duplicate(i64),
}

impl Inserted {
    /// The Enishi id either way.
    pub fn id(self) -> i64 {
        match self {
            Inserted::Created(id) | Inserted::Duplicate(id) => id,
        }
    }
}

const ORDER_COLUMNS: &[&str] = &[
    "id",
    "order_ref",
    "customer_id",
    "placed_at",
    "placed_day",
    "channel",
    "currency",
    "total",
    "status",
    "created_at",
];
const LINE_COLUMNS: &[&str] =
    &["order_id", "customer_id", "line_no", "sku", "product_name", "category", "quantity", "unit_price", "amount"];

/// Stores a batch of orders with distinct ids; orders whose id is already stored are
/// skipped. Outcomes come back in input order.
pub fn insert_batch(c: &mut dyn Conn, orders: &[NewOrder]) -> Result<Vec<Inserted>, StoreError> {
    let refs: Vec<&str> = orders.iter().map(|o| o.order_ref.as_str()).collect();
    let existing = stored_ids(c, &refs)?;
    let fresh: Vec<&NewOrder> = orders.iter().filter(|o| !existing.contains_key(&o.order_ref)).collect();
    let ids = insert_new(c, &fresh)?;
    let created: HashMap<&str, i64> = fresh.iter().map(|o| o.order_ref.as_str()).zip(ids).collect();
    Ok(orders
        .iter()
        .map(|o| match created.get(o.order_ref.as_str()) {
            Some(&id) => Inserted::Created(id),
            None => Inserted::Duplicate(existing[&o.order_ref]),
        })
        .collect())
}

/// The Enishi ids of those of these shop's order ids that are stored.
pub fn stored_ids(c: &mut dyn Conn, order_refs: &[&str]) -> Result<HashMap<String, i64>, StoreError> {
    let refs: Vec<Value> = order_refs.iter().map(|r| Value::from(*r)).collect();
    query_in(c, "SELECT order_ref, id FROM orders WHERE order_ref IN ({list})", &refs)?
        .iter()
        .map(|r| Ok((r.text(0)?, r.int(1)?)))
        .collect()
}

/// Inserts orders whose ids are known not to be stored (a bulk import into an empty table
/// that checks its own file for repeats); returns their Enishi ids, in order.
pub fn insert_new(c: &mut dyn Conn, fresh: &[&NewOrder]) -> Result<Vec<i64>, StoreError> {
    let ids = reserve_ids(c, fresh.len())?;
    insert_with_ids(c, fresh, &ids)?;
    Ok(ids)
}

/// Enishi ids for `n` new orders, to store them with [`insert_with_ids`] in the same
/// transaction.
pub fn reserve_ids(c: &mut dyn Conn, n: usize) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    c.reserve_ids("orders", n)
}

/// Inserts orders known not to be stored (see [`insert_new`]) with the ids
/// [`reserve_ids`] gave, `ids[i]` for `fresh[i]`.
pub fn insert_with_ids(c: &mut dyn Conn, fresh: &[&NewOrder], ids: &[i64]) -> Result<(), StoreError> {
    assert_eq!(fresh.len(), ids.len(), "an id for each new order");
    if fresh.is_empty() {
        return Ok(());
    }
    let t = c.now();
    let mut order_rows = Rows::with_capacity(fresh.len(), ORDER_COLUMNS.len());
    let lines = fresh.iter().map(|o| o.lines.len()).sum();
    let mut line_rows = Rows::with_capacity(lines, LINE_COLUMNS.len());
    for (o, &id) in fresh.iter().zip(ids) {
        order_rows.push([
            id.into(),
            o.order_ref.as_str().into(),
            o.customer_id.into(),
            o.placed_at.timestamp().into(),
            o.placed_day.into(),
            o.channel.as_str().into(),
            o.currency.as_str().into(),
            o.total.to_scaled().into(),
            o.status.as_str().into(),
            t.into(),
        ]);
        for (n, l) in o.lines.iter().enumerate() {
            line_rows.push([
                id.into(),
                o.customer_id.into(),
                (n as i64 + 1).into(),
                l.sku.as_str().into(),
                l.product_name.as_ref().into(),
                l.category.as_ref().into(),
                l.quantity.into(),
                l.unit_price.to_scaled().into(),
                l.amount.to_scaled().into(),
            ]);
        }
    }
    c.insert_rows("orders", ORDER_COLUMNS, &order_rows)?;
    c.insert_rows("order_lines", LINE_COLUMNS, &line_rows)
}

const SELECT: &str =
    "SELECT o.id, o.order_ref, o.customer_id, c.external_id, o.placed_at, o.channel, o.currency, o.total, o.status, \
    CAST(COALESCE((SELECT SUM(r.amount) FROM returns r WHERE r.order_id = o.id), 0) AS BIGINT) \
    FROM orders o JOIN customers c ON c.id = o.customer_id";

fn decode(r: &Row) -> Result<Order, StoreError> {
    Ok(Order {
        id: r.int(0)?,
        order_id: r.text(1)?,
        customer_id: r.int(2)?,
        customer_external_id: r.text(3)?,
        placed_at: instant(r.int(4)?),
        channel: r.text(5)?.parse().map_err(|_| StoreError::Decode("unknown channel".into()))?,
        currency: r.text(6)?,
        total: Amount::from_scaled(r.int(7)?),
        status: r.text(8)?,
        lines: Vec::new(),
        returned_amount: Amount::from_scaled(r.int(9)?),
    })
}

fn attach_lines(c: &mut dyn Conn, orders: &mut [Order]) -> Result<(), StoreError> {
    let ids: Vec<Value> = orders.iter().map(|o| Value::Int(o.id)).collect();
    let mut by_order: HashMap<i64, Vec<OrderLine>> = HashMap::new();
    for r in query_in(
        c,
        "SELECT order_id, sku, product_name, category, quantity, unit_price, amount FROM order_lines \
         WHERE order_id IN ({list}) ORDER BY order_id, line_no",
        &ids,
    )? {
        by_order.entry(r.int(0)?).or_default().push(OrderLine {
            sku: r.text(1)?,
            product_name: r.opt_text(2)?,
            category: r.opt_text(3)?,
            quantity: r.int(4)?,
            unit_price: Amount::from_scaled(r.int(5)?),
            amount: Amount::from_scaled(r.int(6)?),
        });
    }
    for o in orders {
        o.lines = by_order.remove(&o.id).unwrap_or_default();
    }
    Ok(())
}

fn fetch(c: &mut dyn Conn, filter: &str, p: &[Value]) -> Result<Vec<Order>, StoreError> {
    let mut list: Vec<Order> =
        c.query(&format!("{SELECT} {filter}"), p)?.iter().map(decode).collect::<Result<_, _>>()?;
    attach_lines(c, &mut list)?;
    Ok(list)
}

/// One order by Enishi id.
pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Order>, StoreError> {
    Ok(fetch(c, "WHERE o.id = $1", params![id])?.pop())
}

/// One order by the shop's order id.
pub fn get_by_ref(c: &mut dyn Conn, order_ref: &str) -> Result<Option<Order>, StoreError> {
    Ok(fetch(c, "WHERE o.order_ref = $1", params![order_ref])?.pop())
}

/// A customer's orders, newest first.
pub fn for_customer(c: &mut dyn Conn, customer_id: i64, limit: i64, offset: i64) -> Result<Vec<Order>, StoreError> {
    fetch(
        c,
        "WHERE o.customer_id = $1 ORDER BY o.placed_at DESC, o.id DESC LIMIT $2 OFFSET $3",
        params![customer_id, limit, offset],
    )
}

/// Every order in id order, a page at a time (for export).
pub fn for_each_page<E: From<StoreError>>(
    c: &mut dyn Conn,
    page_size: i64,
    mut f: impl FnMut(&[Order], &[Return]) -> Result<(), E>,
) -> Result<(), E> {
    let mut after = 0;
    loop {
        let page = fetch(c, "WHERE o.id > $1 ORDER BY o.id LIMIT $2", params![after, page_size])?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let ids: Vec<Value> = page.iter().map(|o| Value::Int(o.id)).collect();
        let returns = fetch_returns(c, &ids)?;
        f(&page, &returns)?;
    }
    // Returns whose original order is unknown have no page of their own.
    let orphans = fetch_returns_where(c, "WHERE r.order_id IS NULL ORDER BY r.id", &[])?;
    if !orphans.is_empty() {
        f(&[], &orphans)?;
    }
    Ok(())
}

/// Totals over all orders: (order count, line count, sum of totals).
pub fn totals(c: &mut dyn Conn) -> Result<(i64, i64, Amount), StoreError> {
    let r = c.query_one(
        "SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM order_lines), \
         CAST(COALESCE((SELECT SUM(total) FROM orders), 0) AS BIGINT)",
        &[],
    )?;
    Ok((r.int(0)?, r.int(1)?, Amount::from_scaled(r.int(2)?)))
}

/// The latest order of `customer_id` placed at or before `before` that has a line of `sku`.
pub fn latest_with_sku(c: &mut dyn Conn, customer_id: i64, sku: &str, before: i64) -> Result<Option<i64>, StoreError> {
    c.query_opt(
        "SELECT o.id FROM orders o JOIN order_lines l ON l.order_id = o.id \
         WHERE o.customer_id = $1 AND l.sku = $2 AND o.placed_at <= $3 ORDER BY o.placed_at DESC, o.id DESC LIMIT 1",
        params![customer_id, sku, before],
    )?
    .map(|r| r.int(0))
    .transpose()
}

/// Units of each SKU of an order already returned.
pub fn returned_quantities(c: &mut dyn Conn, order_id: i64) -> Result<HashMap<String, i64>, StoreError> {
    c.query(
        "SELECT l.sku, CAST(SUM(l.quantity) AS BIGINT) FROM return_lines l JOIN returns r ON r.id = l.return_id \
         WHERE r.order_id = $1 GROUP BY l.sku",
        params![order_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

/// Stores returns with distinct ids; ones already stored are skipped. Outcomes in input order.
pub fn insert_returns(c: &mut dyn Conn, returns: &[NewReturn]) -> Result<Vec<Inserted>, StoreError> {
    let refs: Vec<Value> = returns.iter().map(|r| Value::from(r.return_ref.as_str())).collect();
    let mut existing: HashMap<String, i64> = HashMap::new();
    for r in query_in(c, "SELECT return_ref, id FROM returns WHERE return_ref IN ({list})", &refs)? {
        existing.insert(r.text(0)?, r.int(1)?);
    }
    // The new ones are written together: keys reserved, then one bulk insert per table.
    let fresh: Vec<&NewReturn> = returns.iter().filter(|r| !existing.contains_key(&r.return_ref)).collect();
    let ids = c.reserve_ids("returns", fresh.len())?;
    let t = c.now();
    let mut return_rows = Rows::default();
    let mut line_rows = Rows::default();
    let mut created: HashMap<&str, i64> = HashMap::with_capacity(fresh.len());
    for (r, &id) in fresh.iter().zip(&ids) {
        if created.contains_key(r.return_ref.as_str()) {
            continue;
        }
        created.insert(&r.return_ref, id);
        return_rows.push([
            id.into(),
            r.return_ref.as_str().into(),
            r.order_id.into(),
            r.customer_id.into(),
            r.returned_at.timestamp().into(),
            r.amount.to_scaled().into(),
            r.reason.as_ref().into(),
            t.into(),
        ]);
        for l in &r.lines {
            line_rows.push([
                id.into(),
                r.customer_id.into(),
                l.sku.as_str().into(),
                l.quantity.into(),
                l.unit_price.to_scaled().into(),
                l.amount.to_scaled().into(),
            ]);
        }
    }
    c.insert_rows(
        "returns",
        &["id", "return_ref", "order_id", "customer_id", "returned_at", "amount", "reason", "created_at"],
        &return_rows,
    )?;
    c.insert_rows(
        "return_lines",
        &["return_id", "customer_id", "sku", "quantity", "unit_price", "amount"],
        &line_rows,
    )?;
    // A return named twice in `returns` is created once; the second is its duplicate.
    let mut first_seen: HashMap<&str, i64> = HashMap::with_capacity(created.len());
    Ok(returns
        .iter()
        .map(|r| match existing.get(&r.return_ref) {
            Some(&id) => Inserted::Duplicate(id),
            None => {
                let id = created[r.return_ref.as_str()];
                if first_seen.insert(&r.return_ref, id).is_some() {
                    Inserted::Duplicate(id)
                } else {
                    Inserted::Created(id)
                }
            }
        })
        .collect())
}

fn fetch_returns(c: &mut dyn Conn, order_ids: &[Value]) -> Result<Vec<Return>, StoreError> {
    let mut out = Vec::new();
    for part in order_ids.chunks(crate::repo::IN_CHUNK) {
        let filter = format!("WHERE r.order_id IN ({}) ORDER BY r.id", crate::db::placeholders(1, part.len()));
        out.extend(fetch_returns_where(c, &filter, part)?);
    }
    Ok(out)
}

fn fetch_returns_where(c: &mut dyn Conn, filter: &str, p: &[Value]) -> Result<Vec<Return>, StoreError> {
    let mut list: Vec<Return> = c
        .query(&format!("SELECT r.id, r.return_ref, o.order_ref, r.customer_id, r.returned_at, r.amount, r.reason, c.external_id \
             FROM returns r JOIN customers c ON c.id = r.customer_id LEFT JOIN orders o ON o.id = r.order_id {filter}"), p)?
        .iter()
        .map(|r| {
            Ok(Return {
                id: r.int(0)?,
                return_id: r.text(1)?,
                order_id: r.opt_text(2)?,
                customer_id: r.int(3)?,
                returned_at: instant(r.int(4)?),
                amount: Amount::from_scaled(r.int(5)?),
                reason: r.opt_text(6)?,
                customer_external_id: r.text(7)?,
                lines: Vec::new(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let ids: Vec<Value> = list.iter().map(|r| Value::Int(r.id)).collect();
    let mut by_return: HashMap<i64, Vec<ReturnLine>> = HashMap::new();
    for r in query_in(
        c,
        "SELECT return_id, sku, quantity, unit_price, amount FROM return_lines WHERE return_id IN ({list}) ORDER BY id",
        &ids,
    )? {
        by_return.entry(r.int(0)?).or_default().push(ReturnLine {
            sku: r.text(1)?,
            quantity: r.int(2)?,
            unit_price: Amount::from_scaled(r.int(3)?),
            amount: Amount::from_scaled(r.int(4)?),
        });
    }
    for r in &mut list {
        r.lines = by_return.remove(&r.id).unwrap_or_default();
    }
    Ok(list)
}

/// One return by Enishi id.
pub fn get_return(c: &mut dyn Conn, id: i64) -> Result<Option<Return>, StoreError> {
    Ok(fetch_returns_where(c, "WHERE r.id = $1", params![id])?.pop())
}

/// The returns of an order.
pub fn returns_of(c: &mut dyn Conn, order_id: i64) -> Result<Vec<Return>, StoreError> {
    fetch_returns(c, &[Value::Int(order_id)])
}

/// Where an order stands: its Enishi id, customer and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderKey {
    /// Enishi id.
    pub id: i64,
    /// Enishi customer id.
    pub customer_id: i64,
    /// When it was placed (Unix seconds).
    pub placed_at: i64,
}

/// The orders with these shop ids, by shop id.
pub fn ids_by_ref(c: &mut dyn Conn, refs: &[&str]) -> Result<HashMap<String, OrderKey>, StoreError> {
    let keys: Vec<Value> = refs.iter().map(|r| Value::from(*r)).collect();
    query_in(c, "SELECT order_ref, id, customer_id, placed_at FROM orders WHERE order_ref IN ({list})", &keys)?
        .iter()
        .map(|r| Ok((r.text(0)?, OrderKey { id: r.int(1)?, customer_id: r.int(2)?, placed_at: r.int(3)? })))
        .collect()
}

/// What has been refunded of an order, as returns take back what it earned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refunds {
    /// The order (Enishi id).
    pub order_id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// The shop's order id.
    pub order_ref: String,
    /// The order's total.
    pub total: Amount,
    /// The sum of its stored returns.
    pub returned: Amount,
}

/// What has been refunded of each of these orders.
pub fn refunds_of(c: &mut dyn Conn, order_ids: &[i64]) -> Result<Vec<Refunds>, StoreError> {
    let ids: Vec<Value> = order_ids.iter().map(|id| Value::Int(*id)).collect();
    query_in(
        c,
        "SELECT o.id, o.customer_id, o.order_ref, o.total, \
         CAST(COALESCE((SELECT SUM(r.amount) FROM returns r WHERE r.order_id = o.id), 0) AS BIGINT) \
         FROM orders o WHERE o.id IN ({list})",
        &ids,
    )?
    .iter()
    .map(|r| {
        Ok(Refunds {
            order_id: r.int(0)?,
            customer_id: r.int(1)?,
            order_ref: r.text(2)?,
            total: Amount::from_scaled(r.int(3)?),
            returned: Amount::from_scaled(r.int(4)?),
        })
    })
    .collect()
}

/// The Enishi id of the return with this shop id.
pub fn return_id_by_ref(c: &mut dyn Conn, return_ref: &str) -> Result<Option<i64>, StoreError> {
    c.query_opt("SELECT id FROM returns WHERE return_ref = $1", params![return_ref])?.map(|r| r.int(0)).transpose()
}

/// Units of each SKU of an order not yet returned (ordered minus returned).
pub fn returnable_quantities(c: &mut dyn Conn, order_id: i64) -> Result<HashMap<String, i64>, StoreError> {
    Ok(returnable_quantities_of(c, &[order_id])?.remove(&order_id).unwrap_or_default())
}

/// Units of each SKU of several orders not yet returned, in two queries: order id → SKU →
/// units left.
pub fn returnable_quantities_of(
    c: &mut dyn Conn,
    order_ids: &[i64],
) -> Result<HashMap<i64, HashMap<String, i64>>, StoreError> {
    let keys: Vec<Value> = order_ids.iter().map(|&id| Value::Int(id)).collect();
    let mut left: HashMap<i64, HashMap<String, i64>> = HashMap::new();
    for r in query_in(
        c,
        "SELECT order_id, sku, CAST(SUM(quantity) AS BIGINT) FROM order_lines WHERE order_id IN ({list}) \
         GROUP BY order_id, sku",
        &keys,
    )? {
        left.entry(r.int(0)?).or_default().insert(r.text(1)?, r.int(2)?);
    }
    for r in query_in(
        c,
        "SELECT r.order_id, l.sku, CAST(SUM(l.quantity) AS BIGINT) FROM return_lines l JOIN returns r ON r.id = l.return_id \
         WHERE r.order_id IN ({list}) GROUP BY r.order_id, l.sku",
        &keys,
    )? {
        let (order_id, sku) = (r.int(0)?, r.text(1)?);
        if let Some(units) = left.get_mut(&order_id).and_then(|skus| skus.get_mut(&sku)) {
            *units -= r.int(2)?;
        }
    }
    Ok(left)
}

/// Which of these return ids are already stored.
pub fn existing_return_refs(c: &mut dyn Conn, refs: &[&str]) -> Result<std::collections::HashSet<String>, StoreError> {
    let keys: Vec<Value> = refs.iter().map(|r| Value::from(*r)).collect();
    query_in(c, "SELECT return_ref FROM returns WHERE return_ref IN ({list})", &keys)?
        .iter()
        .map(|r| r.text(0))
        .collect()
}
