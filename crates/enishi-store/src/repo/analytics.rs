//! Reads for the analytics: every customer's purchases, streamed in customer order, and the
//! orders a manager left out of them (`analytics_exclusions`): an excluded order stays on the
//! customer's page, with its points, but no report, chart or model counts it.

use crate::db::Conn;
use crate::StoreError;
use enishi_core::Amount;

/// Receives one customer's purchases: (Enishi id, shop id, [(business day, order total)]).
pub type PurchasesSink<'a> = dyn FnMut(i64, &str, &[(i64, f64)]) -> Result<(), StoreError> + 'a;

/// Calls `f` once per customer with orders: (Enishi id, shop id, [(business day, order total
/// less what was refunded)]) with the purchases in time order, leaving out the orders excluded
/// from the analytics; a voided order counts as a purchase of nothing. Rows are streamed; one
/// customer is held at a time.
pub fn for_each_customer_purchases(c: &mut dyn Conn, f: &mut PurchasesSink<'_>) -> Result<(), StoreError> {
    let mut current: Option<(i64, String)> = None;
    let mut purchases: Vec<(i64, f64)> = Vec::new();
    c.query_each(
        "SELECT o.customer_id, c.external_id, o.placed_day, o.total - COALESCE(r.refunded, 0) \
         FROM orders o JOIN customers c ON c.id = o.customer_id \
         LEFT JOIN (SELECT order_id, SUM(amount) AS refunded FROM returns GROUP BY order_id) r ON r.order_id = o.id \
         WHERE NOT EXISTS (SELECT 1 FROM analytics_exclusions x WHERE x.order_id = o.id) \
         ORDER BY o.customer_id, o.placed_at",
        &[],
        &mut |r| {
            let id = r.int(0)?;
            if current.as_ref().is_some_and(|(cur, _)| *cur != id) {
                let (cid, ext) = current.take().expect("checked");
                f(cid, &ext, &purchases)?;
                purchases.clear();
            }
            if current.is_none() {
                current = Some((id, r.text(1)?));
            }
            let value = Amount::from_scaled(r.int(3)?).decimal();
            purchases.push((r.int(2)?, f64::try_from(value).unwrap_or(0.0)));
            Ok(())
        },
    )?;
    if let Some((cid, ext)) = current {
        f(cid, &ext, &purchases)?;
    }
    Ok(())
}

/// Receives one customer's purchased products: (Enishi id, shop id, [(business day, SKU)]).
pub type ItemsSink<'a> = dyn FnMut(i64, &str, &[(i64, String)]) -> Result<(), StoreError> + 'a;

/// Calls `f` once per customer with orders, with the SKUs of their order lines in time order.
pub fn for_each_customer_items(c: &mut dyn Conn, f: &mut ItemsSink<'_>) -> Result<(), StoreError> {
    let mut current: Option<(i64, String)> = None;
    let mut items: Vec<(i64, String)> = Vec::new();
    c.query_each(
        "SELECT o.customer_id, c.external_id, o.placed_day, l.sku FROM orders o JOIN customers c ON c.id = o.customer_id \
         JOIN order_lines l ON l.order_id = o.id ORDER BY o.customer_id, o.placed_at, o.id, l.line_no",
        &[],
        &mut |r| {
            let id = r.int(0)?;
            if current.as_ref().is_some_and(|(cur, _)| *cur != id) {
                let (cid, ext) = current.take().expect("checked");
                f(cid, &ext, &items)?;
                items.clear();
            }
            if current.is_none() {
                current = Some((id, r.text(1)?));
            }
            items.push((r.int(2)?, r.text(3)?));
            Ok(())
        },
    )?;
    if let Some((cid, ext)) = current {
        f(cid, &ext, &items)?;
    }
    Ok(())
}

/// Calls `f` with the time (Unix seconds) of every order placed on or before business day
/// `until_day`, but those excluded from the analytics.
pub fn for_each_order_time(
    c: &mut dyn Conn,
    until_day: i64,
    f: &mut dyn FnMut(i64) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    c.query_each(
        "SELECT placed_at FROM orders o WHERE placed_day <= $1 \
         AND NOT EXISTS (SELECT 1 FROM analytics_exclusions x WHERE x.order_id = o.id)",
        &[until_day.into()],
        &mut |r| f(r.int(0)?),
    )
}

/// Customers whose first order was on or before `until` (Unix seconds): how many, and how
/// many of them were referred by another customer.
pub fn acquisition(c: &mut dyn Conn, until: i64) -> Result<(i64, i64), StoreError> {
    let r = c.query_one(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN c.referred_by IS NOT NULL OR c.acquisition_source = 'referral' THEN 1 ELSE 0 END), 0) \
         FROM customer_stats s JOIN customers c ON c.id = s.customer_id WHERE s.order_count > 0 AND s.first_order_at <= $1",
        &[until.into()],
    )?;
    Ok((r.int(0)?, r.int(1)?))
}

/// Every order's total (excluded ones too), as stored (scaled by 10⁴): what is usual for the
/// shop is judged on all of them.
pub fn order_totals(c: &mut dyn Conn) -> Result<Vec<i64>, StoreError> {
    let mut out = Vec::new();
    c.query_each("SELECT total FROM orders", &[], &mut |r| {
        out.push(r.int(0)?);
        Ok(())
    })?;
    Ok(out)
}

/// An order worth a second look on the dashboard: far above the shop's usual, or excluded
/// from the analytics by a manager.
#[derive(Debug, Clone, PartialEq)]
pub struct NotableOrder {
    /// Enishi's order id.
    pub id: i64,
    /// The shop's order id.
    pub order_ref: String,
    /// Enishi's customer id.
    pub customer_id: i64,
    /// The shop's customer id.
    pub external_id: String,
    /// The customer's name, when known.
    pub name: Option<String>,
    /// When it was placed (Unix seconds).
    pub placed_at: i64,
    /// Its total.
    pub total: Amount,
    /// Who excluded it from the analytics, when excluded.
    pub excluded_by: Option<String>,
}

/// Orders placed on business days `from_day` to `to_day` (inclusive) whose total, and what is
/// left of it after refunds, is above `above` (scaled by 10⁴; `None`: none is; a voided order
/// no longer counts, so it is not listed), and every order excluded from the analytics
/// whenever placed (so that it can always be counted again), largest first, at most `limit`.
pub fn notable_orders(
    c: &mut dyn Conn,
    from_day: i64,
    to_day: i64,
    above: Option<i64>,
    limit: i64,
) -> Result<Vec<NotableOrder>, StoreError> {
    let rows = c.query(
        "SELECT o.id, o.order_ref, o.customer_id, c.external_id, c.name, o.placed_at, o.total, x.excluded_by \
         FROM orders o JOIN customers c ON c.id = o.customer_id LEFT JOIN analytics_exclusions x ON x.order_id = o.id \
         WHERE x.order_id IS NOT NULL OR (o.placed_day >= $1 AND o.placed_day <= $2 AND o.total > $3 \
           AND o.total - COALESCE((SELECT SUM(r.amount) FROM returns r WHERE r.order_id = o.id), 0) > $3) \
         ORDER BY o.total DESC, o.id LIMIT $4",
        &[from_day.into(), to_day.into(), above.unwrap_or(i64::MAX).into(), limit.into()],
    )?;
    rows.iter()
        .map(|r| {
            Ok(NotableOrder {
                id: r.int(0)?,
                order_ref: r.text(1)?,
                customer_id: r.int(2)?,
                external_id: r.text(3)?,
                name: r.opt_text(4)?,
                placed_at: r.int(5)?,
                total: Amount::from_scaled(r.int(6)?),
                excluded_by: r.opt_text(7)?,
            })
        })
        .collect()
}

/// How many orders are excluded from the analytics, and their total.
pub fn excluded_totals(c: &mut dyn Conn) -> Result<(i64, Amount), StoreError> {
    let r = c.query_one(
        "SELECT COUNT(*), COALESCE(SUM(o.total), 0) FROM analytics_exclusions x JOIN orders o ON o.id = x.order_id",
        &[],
    )?;
    Ok((r.int(0)?, Amount::from_scaled(r.int(1)?)))
}

/// Leaves order `order_id` out of the analytics from now on, recording who did; `false` when
/// it already was.
pub fn exclude(c: &mut dyn Conn, order_id: i64, by: &str) -> Result<bool, StoreError> {
    let now = c.now();
    let n = c.execute(
        "INSERT INTO analytics_exclusions (order_id, excluded_by, excluded_at) VALUES ($1, $2, $3) \
         ON CONFLICT (order_id) DO NOTHING",
        &[order_id.into(), by.into(), now.into()],
    )?;
    Ok(n > 0)
}

/// Counts order `order_id` in the analytics again; `false` when it was not excluded.
pub fn include(c: &mut dyn Conn, order_id: i64) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM analytics_exclusions WHERE order_id = $1", &[order_id.into()])? > 0)
}
