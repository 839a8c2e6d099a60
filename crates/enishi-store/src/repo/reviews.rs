//! Reviews: a customer's stars (1–5) and words about one product of an order, or about the
//! order as a whole (docs/listening.md). The row is made when the customer is invited and
//! filled in once from the public page; it shows only after a moderator approved it.

use crate::db::{Conn, Row};
use crate::model::instant;
use crate::{params, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Not written yet: the customer was invited.
pub const INVITED: &str = "invited";
/// Written, waiting for a moderator.
pub const PENDING: &str = "pending";
/// Approved: it shows and counts in the product's rating.
pub const APPROVED: &str = "approved";
/// Rejected: it never shows.
pub const REJECTED: &str = "rejected";

/// A review (or the invitation to write one, while its status is `invited`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    /// Enishi's id.
    pub id: i64,
    /// The customer who writes it.
    pub customer_id: i64,
    /// The customer's name.
    pub customer: Option<String>,
    /// Enishi's id of the order it follows.
    pub order_id: i64,
    /// The shop's own id of that order.
    pub order: String,
    /// The product reviewed; `None` for a review of the whole order.
    pub sku: Option<String>,
    /// The product's name, when the catalogue has one.
    pub product: Option<String>,
    /// `invited`, `pending`, `approved` or `rejected`.
    pub status: String,
    /// When the customer was invited.
    pub created_at: DateTime<Utc>,
    /// When the invitation's link stops working.
    pub expires_at: DateTime<Utc>,
    /// When the customer wrote it.
    pub submitted_at: Option<DateTime<Utc>>,
    /// 1 to 5.
    pub stars: Option<i64>,
    /// The customer's words.
    pub body: Option<String>,
    /// Who approved or rejected it: a user's sign-in email, or `token:LABEL (ROLE)`.
    pub moderated_by: Option<String>,
    /// When it was approved or rejected.
    pub moderated_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT r.id, r.customer_id, k.name AS customer, r.order_id, o.order_ref AS order_ref, r.sku, \
     p.name AS product, r.status, r.created_at, r.expires_at, r.submitted_at, r.stars, r.body, r.moderated_by, \
     r.moderated_at FROM reviews r JOIN customers k ON k.id = r.customer_id JOIN orders o ON o.id = r.order_id \
     LEFT JOIN products p ON p.sku = r.sku";

fn decode(r: &Row) -> Result<Review, StoreError> {
    let sku = r.text("sku")?;
    Ok(Review {
        id: r.int("id")?,
        customer_id: r.int("customer_id")?,
        customer: r.opt_text("customer")?,
        order_id: r.int("order_id")?,
        order: r.text("order_ref")?,
        sku: (!sku.is_empty()).then_some(sku),
        product: r.opt_text("product")?,
        status: r.text("status")?,
        created_at: instant(r.int("created_at")?),
        expires_at: instant(r.int("expires_at")?),
        submitted_at: r.opt_int("submitted_at")?.map(instant),
        stars: r.opt_int("stars")?,
        body: r.opt_text("body")?,
        moderated_by: r.opt_text("moderated_by")?,
        moderated_at: r.opt_int("moderated_at")?.map(instant),
    })
}

/// Invites the customer of order `order_id` to review product `sku` of it (`""`: the order as a
/// whole), the link valid until `expires` (Unix seconds), with whether it is new. Inviting
/// again renews the link of a review not written yet and changes nothing once it is written.
/// `None` when there is no such order.
pub fn invite(c: &mut dyn Conn, order_id: i64, sku: &str, expires: i64) -> Result<Option<(Review, bool)>, StoreError> {
    let now = c.now();
    let existed =
        c.query_opt("SELECT 1 FROM reviews WHERE order_id = $1 AND sku = $2", params![order_id, sku])?.is_some();
    c.execute(
        "INSERT INTO reviews (customer_id, order_id, sku, status, created_at, expires_at) \
         SELECT o.customer_id, o.id, $2, 'invited', $3, $4 FROM orders o WHERE o.id = $1 \
         ON CONFLICT (order_id, sku) DO UPDATE SET expires_at = excluded.expires_at WHERE reviews.status = 'invited'",
        params![order_id, sku, now, expires],
    )?;
    c.query_opt(&format!("{SELECT} WHERE r.order_id = $1 AND r.sku = $2"), params![order_id, sku])?
        .as_ref()
        .map(|r| Ok((decode(r)?, !existed)))
        .transpose()
}

/// Invites the customer of each order placed at or after `since` (Unix seconds) to review the
/// order as a whole, once per order; returns how many it invited.
pub fn invite_since(c: &mut dyn Conn, since: i64, expires: i64) -> Result<u64, StoreError> {
    let now = c.now();
    c.execute(
        "INSERT INTO reviews (customer_id, order_id, sku, status, created_at, expires_at) \
         SELECT o.customer_id, o.id, '', 'invited', $1, $2 FROM orders o WHERE o.placed_at >= $3 \
         ON CONFLICT (order_id, sku) DO NOTHING",
        params![now, expires, since],
    )
}

/// One review.
pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Review>, StoreError> {
    c.query_opt(&format!("{SELECT} WHERE r.id = $1"), params![id])?.as_ref().map(decode).transpose()
}

/// Which reviews to list.
#[derive(Debug, Clone, Default)]
pub struct ReviewQuery {
    /// Only with this status.
    pub status: Option<String>,
    /// Only of this product.
    pub sku: Option<String>,
    /// Only by this customer.
    pub customer_id: Option<i64>,
}

/// Reviews matching `q`, the oldest written first (invitations not written yet last), a page
/// of `limit` from `offset`.
pub fn list(c: &mut dyn Conn, q: &ReviewQuery, limit: i64, offset: i64) -> Result<Vec<Review>, StoreError> {
    c.query(
        &format!(
            "{SELECT} WHERE ($1 = '' OR r.status = $1) AND ($2 = '' OR r.sku = $2) AND (CAST($3 AS BIGINT) < 0 OR r.customer_id = $3) \
             ORDER BY r.submitted_at IS NULL, r.submitted_at, r.id LIMIT $4 OFFSET $5"
        ),
        params![
            q.status.clone().unwrap_or_default(),
            q.sku.clone().unwrap_or_default(),
            q.customer_id.unwrap_or(-1),
            limit,
            offset
        ],
    )?
    .iter()
    .map(decode)
    .collect()
}

/// The customer's newest review invitation that is neither written nor expired at `now`.
pub fn open_invitation(c: &mut dyn Conn, customer_id: i64, now: i64) -> Result<Option<Review>, StoreError> {
    c.query_opt(
        &format!(
            "{SELECT} WHERE r.customer_id = $1 AND r.status = 'invited' AND r.expires_at > $2 ORDER BY r.id DESC LIMIT 1"
        ),
        params![customer_id, now],
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

/// Records what the customer wrote for review `id`, unless it was written already; `false`
/// then (the first review stands). It waits for a moderator.
pub fn submit(c: &mut dyn Conn, id: i64, stars: i64, body: Option<&str>) -> Result<bool, StoreError> {
    let now = c.now();
    Ok(c.execute(
        "UPDATE reviews SET status = 'pending', submitted_at = $1, stars = $2, body = $3 \
         WHERE id = $4 AND status = 'invited'",
        params![now, stars, body.map(str::to_string), id],
    )? > 0)
}

/// Sets a written review's status to `approved` or `rejected` (or back to `pending`), by `by`;
/// `false` when there is no written review `id`.
pub fn moderate(c: &mut dyn Conn, id: i64, status: &str, by: &str) -> Result<bool, StoreError> {
    let now = c.now();
    Ok(c.execute(
        "UPDATE reviews SET status = $1, moderated_by = $2, moderated_at = $3 WHERE id = $4 AND status <> 'invited'",
        params![status, by, now, id],
    )? > 0)
}

/// A product's rating: the approved reviews of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rating {
    /// The product.
    pub sku: String,
    /// Approved reviews.
    pub count: i64,
    /// Their average stars, to one decimal; `None` without any.
    pub average: Option<f64>,
}

/// The ratings of `skus`, in their order (a product without approved reviews has count 0).
pub fn ratings(c: &mut dyn Conn, skus: &[String]) -> Result<Vec<Rating>, StoreError> {
    let mut out = Vec::with_capacity(skus.len());
    for sku in skus {
        let row = c.query_one(
            "SELECT COUNT(*), COALESCE(SUM(stars), 0) FROM reviews WHERE sku = $1 AND status = 'approved'",
            params![sku.as_str()],
        )?;
        let (count, sum) = (row.int(0)?, row.int(1)?);
        let average = (count > 0).then(|| (sum as f64 * 10.0 / count as f64).round() / 10.0);
        out.push(Rating { sku: sku.clone(), count, average });
    }
    Ok(out)
}

/// Every product with approved reviews, the best rated first (more reviews first on a tie).
pub fn rated_products(c: &mut dyn Conn, limit: i64) -> Result<Vec<Rating>, StoreError> {
    c.query(
        "SELECT sku, COUNT(*) AS n, SUM(stars) AS total FROM reviews WHERE status = 'approved' AND sku <> '' \
         GROUP BY sku ORDER BY CAST(SUM(stars) AS DOUBLE PRECISION) / COUNT(*) DESC, COUNT(*) DESC, sku LIMIT $1",
        params![limit],
    )?
    .iter()
    .map(|r| {
        let (count, sum) = (r.int("n")?, r.int("total")?);
        Ok(Rating { sku: r.text("sku")?, count, average: Some((sum as f64 * 10.0 / count as f64).round() / 10.0) })
    })
    .collect()
}
