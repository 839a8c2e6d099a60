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
