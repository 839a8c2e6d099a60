//! The record of finished imports, and what an import in progress needs of the database.

use crate::db::{Backend, Conn};
use crate::model::{instant, ImportRecord};
use crate::{params, StoreError};

/// Records an import.
pub fn record(c: &mut dyn Conn, r: &ImportRecord) -> Result<i64, StoreError> {
    let row = c.query_one(
        "INSERT INTO imports (kind, format, file_name, sha256, started_at, finished_at, summary) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![
            r.kind.as_str(),
            r.format.as_str(),
            r.file_name.as_str(),
            r.sha256.as_str(),
            r.started_at.timestamp(),
            r.finished_at.timestamp(),
            r.summary.to_string()
        ],
    )?;
    row.int(0)
}

/// Earlier imports of a file with this hash, newest first.
pub fn find_by_hash(c: &mut dyn Conn, sha256: &str) -> Result<Vec<ImportRecord>, StoreError> {
    let sql = format!("{SELECT} WHERE sha256 = $1 ORDER BY id DESC");
    c.query(&sql, params![sha256])?.iter().map(decode).collect()
}

/// The latest imports, newest first.
pub fn recent(c: &mut dyn Conn, limit: i64) -> Result<Vec<ImportRecord>, StoreError> {
    let sql = format!("{SELECT} ORDER BY id DESC LIMIT $1");
    c.query(&sql, params![limit])?.iter().map(decode).collect()
}

const SELECT: &str = "SELECT id, kind, format, file_name, sha256, started_at, finished_at, summary FROM imports";

fn decode(r: &crate::Row) -> Result<ImportRecord, StoreError> {
    Ok(ImportRecord {
        id: r.int(0)?,
        kind: r.text(1)?,
        format: r.text(2)?,
        file_name: r.text(3)?,
        sha256: r.text(4)?,
        started_at: instant(r.int(5)?),
        finished_at: instant(r.int(6)?),
        summary: serde_json::from_str(&r.text(7)?).unwrap_or(serde_json::Value::Null),
    })
}

/// The tables an order import grows.
const GROWN_BY_IMPORTS: &[&str] = &[
    "customers",
    "customer_stats",
    "orders",
    "order_lines",
    "returns",
    "return_lines",
    "products",
    "loyalty_accounts",
    "loyalty_ledger",
    "loyalty_lots",
    "loyalty_order_effects",
];

/// The indexes an import into an empty SQLite database builds once, sorted, at the end
/// ([`defer_import_indexes`]): (name, definition as the migrations create it). Nothing the
/// import reads uses them before [`restore_import_indexes`].
const DEFERRED_INDEXES: &[(&str, &str)] = &[
    // Each order's entry would go to a random place for a file ordered by time, as shops'
    // exports are (a tenth of a million-customer import).
    ("orders_customer", "CREATE INDEX IF NOT EXISTS orders_customer ON orders (customer_id, placed_at)"),
    // Each lot's entry would go to a random place for a file grouped by customer, whose orders'
    // expiry dates jump back and forth (6% of a 100,000-order import with loyalty).
    (
        "loyalty_lots_expiry",
        "CREATE INDEX IF NOT EXISTS loyalty_lots_expiry ON loyalty_lots (expires_at) WHERE remaining > 0",
    ),
];

/// Drops the indexes of [`DEFERRED_INDEXES`] for an import into an empty SQLite database,
/// which then builds them once, sorted, at the end ([`restore_import_indexes`]) instead of
/// inserting each entry at a random place. The drop is part of the import's transaction: a
/// failed import rolls it back, and readers keep seeing the indexes until the import commits.
/// Nothing is dropped on PostgreSQL, where it would lock the tables against readers until the
/// commit. Returns whether the indexes were dropped.
pub fn defer_import_indexes(c: &mut dyn Conn) -> Result<bool, StoreError> {
    if c.backend() != Backend::Sqlite {
        return Ok(false);
    }
    for (name, _) in DEFERRED_INDEXES {
        c.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    Ok(true)
}

/// Builds the indexes [`defer_import_indexes`] dropped; anything that looks up orders by
/// customer in the same transaction must call it first.
pub fn restore_import_indexes(c: &mut dyn Conn) -> Result<(), StoreError> {
    for (_, create) in DEFERRED_INDEXES {
        c.execute_batch(create)?;
    }
    Ok(())
}

/// Refreshes the planner's statistics of the tables an import grows, within its transaction.
/// PostgreSQL plans from statistics that autovacuum cannot gather from rows not yet committed:
/// tables an import grew from nothing still look empty, and lookups become scans whose cost
/// grows with the import (`ANALYZE` sees the transaction's own rows). SQLite needs nothing.
pub fn refresh_statistics(c: &mut dyn Conn) -> Result<(), StoreError> {
    if c.backend() == Backend::Postgres {
        c.execute_batch(&format!("ANALYZE {}", GROWN_BY_IMPORTS.join(", ")))?;
    }
    Ok(())
}
