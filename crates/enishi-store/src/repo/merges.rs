//! Merges: two records of one person become one. Everything the record merged away owns moves
//! to the customer kept (orders with their lines and returns, the loyalty ledger, lots, order
//! effects, coupons and memberships, messages, interactions, events, the consent trail, tags,
//! channels, attributes and list memberships); the record itself is then deleted, and its shop
//! id and email stay in `customer_merges`, where lookups by shop id or email find the customer
//! kept. The caller runs all of it in one transaction (`enishi_ingest::customers::merge`) and
//! re-derives what is computed from the moved rows (the loyalty account, the running stats,
//! the purchase summary).

use crate::db::{Conn, Row};
use crate::{params, StoreError};
use serde::Serialize;

/// Tables whose rows belong to a customer by `customer_id` and move whole to the customer kept.
pub const MOVED_TABLES: &[&str] = &[
    "orders",
    "order_lines",
    "returns",
    "return_lines",
    "communications",
    "interactions",
    "tasks",
    "survey_invitations",
    "reviews",
    "change_feedback",
    "join_requests",
    "events",
    "consent_log",
    "loyalty_ledger",
    "loyalty_lots",
    "loyalty_order_effects",
    "loyalty_tier_history",
    "loyalty_coupons",
    "loyalty_coupon_uses",
    "loyalty_memberships",
    "loyalty_membership_payments",
    "customer_merges",
];

/// Tables whose rows are joined with the kept customer's (a row the kept customer has already
/// wins), and how: the statement copying the merged record's rows (`$1` kept, `$2` merged).
const JOINED: &[(&str, &str)] = &[
    (
        "customer_tags",
        "INSERT INTO customer_tags (customer_id, tag, position) \
         SELECT $1, tag, position + $3 FROM customer_tags WHERE customer_id = $2 ON CONFLICT DO NOTHING",
    ),
    (
        "customer_channels",
        "INSERT INTO customer_channels (customer_id, channel, position) \
         SELECT $1, channel, position + $3 FROM customer_channels WHERE customer_id = $2 ON CONFLICT DO NOTHING",
    ),
    (
        "customer_attributes",
        "INSERT INTO customer_attributes (customer_id, key, value, text_value, number_value) \
         SELECT $1, key, value, text_value, number_value FROM customer_attributes WHERE customer_id = $2 ON CONFLICT DO NOTHING",
    ),
    (
        "static_list_members",
        "INSERT INTO static_list_members (list_id, customer_id, added_at) \
         SELECT list_id, $1, added_at FROM static_list_members WHERE customer_id = $2 ON CONFLICT DO NOTHING",
    ),
    (
        "campaign_recipients",
        "INSERT INTO campaign_recipients (campaign_id, customer_id, arm, status, reason, attempts, run_after, claimed_by, \
         lease_until, sent_at, step) SELECT campaign_id, $1, arm, status, reason, attempts, run_after, claimed_by, \
         lease_until, sent_at, step FROM campaign_recipients WHERE customer_id = $2 ON CONFLICT DO NOTHING",
    ),
    (
        "journey_enrolments",
        "INSERT INTO journey_enrolments (journey_id, customer_id, occurrence, occurred_at, entered_at, next_step, due_at, \
         status, exit_reason, updated_at) SELECT journey_id, $1, occurrence, occurred_at, entered_at, next_step, due_at, \
         status, exit_reason, updated_at FROM journey_enrolments WHERE customer_id = $2 ON CONFLICT DO NOTHING",
    ),
    (
        "segment_members",
        "INSERT INTO segment_members (segment_id, customer_id) \
         SELECT segment_id, $1 FROM segment_members WHERE customer_id = $2 ON CONFLICT DO NOTHING",
    ),
    (
        "segment_snapshot_members",
        "INSERT INTO segment_snapshot_members (snapshot_id, customer_id) \
         SELECT snapshot_id, $1 FROM segment_snapshot_members WHERE customer_id = $2 ON CONFLICT DO NOTHING",
    ),
    // Per channel, the later decision stands (the trail of both moved with `consent_log`).
    (
        "customer_consents",
        "INSERT INTO customer_consents (customer_id, channel, status, changed_at, source) \
         SELECT $1, m.channel, m.status, m.changed_at, m.source FROM customer_consents m WHERE m.customer_id = $2 \
         AND NOT EXISTS (SELECT 1 FROM customer_consents k WHERE k.customer_id = $1 AND k.channel = m.channel \
                         AND k.changed_at >= m.changed_at) \
         ON CONFLICT (customer_id, channel) DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at, \
         source = excluded.source",
    ),
];

/// Tables computed from others, or the record's own state: the merged record's rows go with
/// it, and the caller re-derives the kept customer's (`customer_stats`, `customer_products`,
/// `loyalty_accounts`) or the next analysis does (scores, lifecycle, recommendations).
pub const DERIVED_TABLES: &[&str] = &[
    "customer_stats",
    "customer_products",
    "customer_scores",
    "customer_recommendations",
    "lifecycle_changes",
    "loyalty_accounts",
];

/// Every table with a `customer_id` a merge knows about: moved, joined or derived.
pub fn known_tables() -> Vec<&'static str> {
    MOVED_TABLES.iter().chain(JOINED.iter().map(|(t, _)| t)).chain(DERIVED_TABLES).copied().collect()
}

/// How many rows of each table moved (tables with none are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Moved(pub Vec<(String, u64)>);

impl Moved {
    /// Rows moved from `table`.
    pub fn of(&self, table: &str) -> u64 {
        self.0.iter().find(|(t, _)| t == table).map_or(0, |(_, n)| *n)
    }
}

/// Locks customers `a` and `b` for the rest of the transaction (on PostgreSQL row locks, in id
/// order; SQLite writers are serialised already): an order or import that names one of them
/// waits for the merge, then finds the customer kept. The ids of those that exist.
pub fn lock_pair(c: &mut dyn Conn, a: i64, b: i64) -> Result<Vec<i64>, StoreError> {
    let sql = match c.backend() {
        crate::Backend::Postgres => "SELECT id FROM customers WHERE id IN ($1, $2) ORDER BY id FOR UPDATE",
        crate::Backend::Sqlite => "SELECT id FROM customers WHERE id IN ($1, $2) ORDER BY id",
    };
    c.query(sql, params![a, b])?.iter().map(|r| r.int(0)).collect()
}

/// Moves everything customer `from` owns to customer `to` (see the module's description);
/// customers who named `from` as their referrer name `to`. The record `from` stays, to be
/// deleted by the caller once the rest is re-derived.
pub fn move_records(c: &mut dyn Conn, from: i64, to: i64) -> Result<Moved, StoreError> {
    let mut moved = Vec::new();
    // Both records may have had the same campaign message: the merged record's copy stays in
    // the history, no longer tied to the campaign (one row per campaign and customer).
    c.execute(
        "UPDATE communications SET campaign_id = NULL WHERE customer_id = $2 AND campaign_id IS NOT NULL AND EXISTS \
         (SELECT 1 FROM communications k WHERE k.customer_id = $1 AND k.campaign_id = communications.campaign_id \
          AND COALESCE(k.step, '') = COALESCE(communications.step, ''))",
        params![to, from],
    )?;
    for table in MOVED_TABLES {
        let n = c.execute(&format!("UPDATE {table} SET customer_id = $1 WHERE customer_id = $2"), params![to, from])?;
        if n > 0 {
            moved.push(((*table).to_string(), n));
        }
    }
    for (table, sql) in JOINED {
        // Lists keep the kept customer's order, the merged record's values after them.
        let after = match *table {
            "customer_tags" | "customer_channels" => c
                .query_one(
                    &format!(
                        "SELECT CAST(COALESCE(MAX(position) + 1, 0) AS BIGINT) FROM {table} WHERE customer_id = $1"
                    ),
                    params![to],
                )?
                .int(0)?,
            _ => 0,
        };
        let n = if sql.contains("$3") {
            c.execute(sql, params![to, from, after])?
        } else {
            c.execute(sql, params![to, from])?
        };
        if n > 0 {
            moved.push(((*table).to_string(), n));
        }
    }
    c.execute("UPDATE customers SET referred_by = $1 WHERE referred_by = $2 AND id <> $1", params![to, from])?;
    c.execute("UPDATE customers SET referred_by = NULL WHERE id = $1 AND referred_by = $2", params![to, from])?;
    Ok(Moved(moved))
}

/// A merge to record.
#[derive(Debug, Clone)]
pub struct NewMerge<'a> {
    /// The customer kept.
    pub customer_id: i64,
    /// The Enishi id the merged record had.
    pub merged_id: i64,
    /// Its shop id (resolves to the customer kept from now on).
    pub merged_external_id: &'a str,
    /// Its name.
    pub merged_name: Option<&'a str>,
    /// Its email (resolves to the customer kept from now on).
    pub merged_email: Option<&'a str>,
    /// Who merged.
    pub merged_by: &'a str,
    /// What moved, as JSON.
    pub detail: &'a str,
}

/// A merge as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Merge {
    /// Id.
    pub id: i64,
    /// The customer kept.
    pub customer_id: i64,
    /// The Enishi id the merged record had.
    pub merged_id: i64,
    /// Its shop id.
    pub merged_external_id: String,
    /// Its name.
    pub merged_name: Option<String>,
    /// Its email.
    pub merged_email: Option<String>,
    /// Who merged.
    pub merged_by: String,
    /// When (Unix seconds).
    pub merged_at: i64,
    /// What moved, as JSON.
    pub detail: String,
}

fn merge_of(r: &Row) -> Result<Merge, StoreError> {
    Ok(Merge {
        id: r.int("id")?,
        customer_id: r.int("customer_id")?,
        merged_id: r.int("merged_id")?,
        merged_external_id: r.text("merged_external_id")?,
        merged_name: r.opt_text("merged_name")?,
        merged_email: r.opt_text("merged_email")?,
        merged_by: r.text("merged_by")?,
        merged_at: r.int("merged_at")?,
        detail: r.text("detail")?,
    })
}

/// Records a merge, at the store clock's now; its id.
pub fn record(c: &mut dyn Conn, m: &NewMerge<'_>) -> Result<i64, StoreError> {
    let now = c.now();
    c.query_one(
        "INSERT INTO customer_merges (customer_id, merged_id, merged_external_id, merged_name, merged_email, merged_by, \
         merged_at, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        params![
            m.customer_id,
            m.merged_id,
            m.merged_external_id,
            m.merged_name,
            m.merged_email,
            m.merged_by,
            now,
            m.detail
        ],
    )?
    .int(0)
}

/// The records merged into customer `id`, oldest first.
pub fn of_customer(c: &mut dyn Conn, id: i64) -> Result<Vec<Merge>, StoreError> {
    c.query("SELECT * FROM customer_merges WHERE customer_id = $1 ORDER BY id", params![id])?
        .iter()
        .map(merge_of)
        .collect()
}

/// The customer a record merged away (by its former Enishi id) was merged into, if it was.
pub fn kept_for_id(c: &mut dyn Conn, merged_id: i64) -> Result<Option<i64>, StoreError> {
    c.query_opt("SELECT customer_id FROM customer_merges WHERE merged_id = $1", params![merged_id])?
        .map(|r| r.int(0))
        .transpose()
}

/// The customer a record with this shop id was merged into.
pub fn kept_for_external_id(c: &mut dyn Conn, external_id: &str) -> Result<Option<i64>, StoreError> {
    c.query_opt("SELECT customer_id FROM customer_merges WHERE merged_external_id = $1", params![external_id])?
        .map(|r| r.int(0))
        .transpose()
}

/// The tables of the database that have a `customer_id` column (for the test that a merge
/// knows every one of them).
pub fn tables_with_customer_id(c: &mut dyn Conn) -> Result<Vec<String>, StoreError> {
    let sql = match c.backend() {
        crate::Backend::Sqlite => {
            "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.name = 'customer_id' ORDER BY m.name"
        }
        crate::Backend::Postgres => {
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() \
             AND column_name = 'customer_id' ORDER BY table_name"
        }
    };
    c.query(sql, &[])?.iter().map(|r| r.text(0)).collect()
}
