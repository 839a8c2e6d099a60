//! Reads for the analytics: every customer's purchases, streamed in customer order.

use crate::db::Conn;
use crate::StoreError;
use enishi_core::Amount;

/// Receives one customer's purchases: (Enishi id, shop id, [(business day, order total)]).
pub type PurchasesSink<'a> = dyn FnMut(i64, &str, &[(i64, f64)]) -> Result<(), StoreError> + 'a;

/// Calls `f` once per customer with orders: (Enishi id, shop id, [(business day, order total)])
/// with the purchases in time order. Rows are streamed; one customer is held at a time.
pub fn for_each_customer_purchases(c: &mut dyn Conn, f: &mut PurchasesSink<'_>) -> Result<(), StoreError> {
    let mut current: Option<(i64, String)> = None;
    let mut purchases: Vec<(i64, f64)> = Vec::new();
    c.query_each(
        "SELECT o.customer_id, c.external_id, o.placed_day, o.total FROM orders o JOIN customers c ON c.id = o.customer_id \
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
/// `until_day`.
pub fn for_each_order_time(
    c: &mut dyn Conn,
    until_day: i64,
    f: &mut dyn FnMut(i64) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    c.query_each("SELECT placed_at FROM orders WHERE placed_day <= $1", &[until_day.into()], &mut |r| f(r.int(0)?))
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
