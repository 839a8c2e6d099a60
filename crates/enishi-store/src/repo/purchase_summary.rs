//! The purchase summary (`customer_products`): per customer, each SKU and category bought and
//! kept (a purchase line not returned in full), with the first and last business day of such a
//! line. Segment conditions on purchases read it instead of every order line when it is fresh
//! and they are evaluated as of a day on or after the horizon (the latest order day and return
//! instant stored): then it says exactly what the lines say.
//!
//! Keeping it: a sale or return for one customer refreshes that customer's rows in the same
//! transaction ([`after_sale`]: [`refresh`] and [`advance_horizon`]); an import refreshes
//! the customers it touched when they are few and otherwise marks the summary stale
//! ([`after_import`]); [`rebuild`] makes a stale summary fresh again, a part of the customers at
//! a time, so that sales go on between the parts. Anything else that writes orders or returns,
//! or moves them between customers, must do one of these.

use crate::db::{placeholders, Conn, Value};
use crate::{params, Store, StoreError};

/// The summary's state, read once per segment evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// Every customer's rows match their orders and returns.
    pub fresh: bool,
    /// The latest business day of any order stored (`None`: no order).
    pub horizon_day: Option<i64>,
    /// The latest instant (Unix seconds) of any return stored (`None`: no return).
    pub horizon_returned_at: Option<i64>,
}

/// Reads the summary's state.
pub fn state(c: &mut dyn Conn) -> Result<State, StoreError> {
    let r = c.query_one(
        "SELECT generation, built_generation, horizon_day, horizon_returned_at FROM purchase_summary WHERE id = 1",
        &[],
    )?;
    Ok(State {
        fresh: r.opt_int("built_generation")? == Some(r.int("generation")?),
        horizon_day: r.opt_int("horizon_day")?,
        horizon_returned_at: r.opt_int("horizon_returned_at")?,
    })
}

/// Records an order placed on business day `day` and/or a return at instant `returned_at`
/// (Unix seconds): the horizon moves forward when they are later than it. The row is written
/// only when it moves, so concurrent sales of one day do not queue behind each other.
pub fn advance_horizon(c: &mut dyn Conn, day: Option<i64>, returned_at: Option<i64>) -> Result<(), StoreError> {
    if let Some(day) = day {
        c.execute(
            "UPDATE purchase_summary SET horizon_day = $1 WHERE id = 1 AND (horizon_day IS NULL OR horizon_day < $1)",
            params![day],
        )?;
    }
    if let Some(at) = returned_at {
        c.execute(
            "UPDATE purchase_summary SET horizon_returned_at = $1 \
             WHERE id = 1 AND (horizon_returned_at IS NULL OR horizon_returned_at < $1)",
            params![at],
        )?;
    }
    Ok(())
}

/// After one order (placed on business day `day`) or one return (at `returned_at`) of
/// customer `customer_id` is written, in the same transaction: the customer's rows and the
/// horizon follow it, so the summary stays fresh.
pub fn after_sale(
    c: &mut dyn Conn,
    customer_id: i64,
    day: Option<i64>,
    returned_at: Option<i64>,
) -> Result<(), StoreError> {
    refresh(c, &[customer_id])?;
    advance_horizon(c, day, returned_at)
}

/// Marks the summary stale: segments read the order lines until [`rebuild`] has run.
pub fn mark_stale(c: &mut dyn Conn) -> Result<(), StoreError> {
    c.execute("UPDATE purchase_summary SET generation = generation + 1 WHERE id = 1", &[])?;
    Ok(())
}

/// Up to this many customers an import refreshes itself ([`after_import`]); beyond, it marks the
/// summary stale, since a rebuild reads the lines in one pass, faster than per customer.
pub const IMPORT_REFRESH_LIMIT: usize = 1_000;

/// After an import that wrote orders or returns of `customer_ids`: refreshes them, or marks the
/// summary stale when they are more than [`IMPORT_REFRESH_LIMIT`].
pub fn after_import(c: &mut dyn Conn, customer_ids: &[i64]) -> Result<(), StoreError> {
    if customer_ids.len() > IMPORT_REFRESH_LIMIT {
        mark_stale(c)
    } else {
        refresh(c, customer_ids)
    }
}

/// The kept purchase lines, grouped by order and SKU (and category, for the category rows): a
/// group is kept when its quantity is more than the quantity of that SKU returned from that
/// order. `{kind}` is `sku` or `category`, `{filter}` a condition on `o.customer_id`.
const INSERT_KEPT: &str = "INSERT INTO customer_products (customer_id, kind, product, first_day, last_day) \
     SELECT k.customer_id, '{kind}', k.product, MIN(k.day), MAX(k.day) FROM ( \
       SELECT o.customer_id, l.{kind} AS product, o.placed_day AS day \
       FROM orders o JOIN order_lines l ON l.order_id = o.id \
       WHERE {filter} AND l.{kind} IS NOT NULL \
       GROUP BY o.customer_id, o.placed_day, l.order_id, l.sku, l.{kind} \
       HAVING SUM(l.quantity) > COALESCE((SELECT SUM(rl.quantity) FROM returns r \
         JOIN return_lines rl ON rl.return_id = r.id WHERE r.order_id = l.order_id AND rl.sku = l.sku), 0) \
     ) k GROUP BY k.customer_id, k.product";

/// Replaces the rows of the customers `filter` (a condition on `o.customer_id`, with the same
/// condition on `customer_id` as `delete_filter`) selects.
fn replace(c: &mut dyn Conn, delete_filter: &str, filter: &str, p: &[Value]) -> Result<(), StoreError> {
    c.execute(&format!("DELETE FROM customer_products WHERE {delete_filter}"), p)?;
    for kind in ["sku", "category"] {
        // `sku` groups by itself twice; both databases accept the repeated column.
        let sql = INSERT_KEPT.replace("{kind}", kind).replace("{filter}", filter);
        c.execute(&sql, p)?;
    }
    Ok(())
}

/// Recomputes the rows of `customer_ids` from their orders and returns.
pub fn refresh(c: &mut dyn Conn, customer_ids: &[i64]) -> Result<(), StoreError> {
    for part in customer_ids.chunks(crate::repo::IN_CHUNK) {
        let list = placeholders(1, part.len());
        let p: Vec<Value> = part.iter().map(|&id| Value::Int(id)).collect();
        replace(c, &format!("customer_id IN ({list})"), &format!("o.customer_id IN ({list})"), &p)?;
    }
    Ok(())
}

/// Customers per transaction of [`rebuild`].
const REBUILD_PART: i64 = 50_000;

/// What [`rebuild`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// The summary was stale and was rebuilt (false: it was fresh, nothing was done).
    pub rebuilt: bool,
    /// Rows the summary holds afterwards.
    pub rows: i64,
}

/// Makes a stale summary fresh: recomputes every customer's rows, [`REBUILD_PART`] customers
/// (by id) per transaction, then marks it built as of the generation it started from — an
/// import during the rebuild leaves it stale for the next one. Sales recorded meanwhile
/// refresh their customer's rows themselves. With `force`, rebuilds a fresh summary too.
pub fn rebuild(store: &Store, force: bool) -> Result<Rebuilt, StoreError> {
    rebuild_reporting(store, force, |_, _| {})
}

/// [`rebuild`], calling `on_part(done, last)` after each part: the customers up to id `done`
/// are rebuilt, of ids up to `last` (for a progress line: a million customers take minutes).
pub fn rebuild_reporting(store: &Store, force: bool, mut on_part: impl FnMut(i64, i64)) -> Result<Rebuilt, StoreError> {
    let (generation, last_id) = store.write(|c| {
        let r = c.query_one(
            "SELECT generation, built_generation, (SELECT MAX(id) FROM customers) AS last_id FROM purchase_summary WHERE id = 1",
            &[],
        )?;
        let fresh = r.opt_int("built_generation")? == Some(r.int("generation")?);
        Ok::<_, StoreError>((if fresh && !force { None } else { Some(r.int("generation")?) }, r.opt_int("last_id")?))
    })?;
    let Some(generation) = generation else {
        let rows = store.read(|c| c.query_one("SELECT COUNT(*) FROM customer_products", &[])?.int(0))?;
        return Ok(Rebuilt { rebuilt: false, rows });
    };
    let mut from = 0;
    while from <= last_id.unwrap_or(0) {
        let to = from + REBUILD_PART;
        store.write(|c| {
            replace(
                c,
                "customer_id >= $1 AND customer_id < $2",
                "o.customer_id >= $1 AND o.customer_id < $2",
                params![from, to],
            )
        })?;
        from = to;
        on_part(to.min(last_id.unwrap_or(0)), last_id.unwrap_or(0));
    }
    let rows = store.write(|c| {
        // The horizon is taken from the data again, which also repairs one that a writer
        // outside the rules above left behind.
        c.execute(
            "UPDATE purchase_summary SET built_generation = $1, built_at = $2, \
               horizon_day = (SELECT MAX(placed_day) FROM orders), \
               horizon_returned_at = (SELECT MAX(returned_at) FROM returns) WHERE id = 1",
            params![generation, c.now()],
        )?;
        c.query_one("SELECT COUNT(*) FROM customer_products", &[])?.int(0)
    })?;
    // PostgreSQL plans from table statistics, and a table rewritten in one go has none that
    // autovacuum has gathered yet: the five-condition count at 1 M customers took 3.1 s before
    // ANALYZE and 1.7 s after.
    if store.backend() == crate::Backend::Postgres {
        store.write(|c| c.execute_batch("ANALYZE customer_products"))?;
    }
    Ok(Rebuilt { rebuilt: true, rows })
}
