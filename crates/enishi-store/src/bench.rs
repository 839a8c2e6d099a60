//! The reference point of the import benchmark: the same order rows inserted into the same
//! tables by a bare prepared-statement loop (no parsing, no validation, no stats), on SQLite.

use crate::StoreError;
use std::path::Path;
use std::time::{Duration, Instant};

/// Rows per chunk read from the source (not timed) before inserting them (timed).
const CHUNK: usize = 100_000;

/// Copies customers, orders and order lines from the SQLite database `src` into the freshly
/// migrated SQLite database `dst` with one prepared INSERT per table in one transaction,
/// without foreign-key checks, as an import writes ([`crate::Store::bulk_write`]).
/// Returns the order lines inserted and the time spent inserting (reads are not counted).
pub fn bare_sqlite_insert(src: &Path, dst: &Path) -> Result<(u64, Duration), StoreError> {
    let from = rusqlite::Connection::open(src)?;
    let mut to = rusqlite::Connection::open(dst)?;
    to.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;")?;
    let mut spent = Duration::ZERO;
    let tx = to.transaction()?;
    let mut lines = 0u64;
    for (table, columns) in [
        ("customers", "id, external_id, first_seen_at, created_at, updated_at"),
        ("orders", "id, order_ref, customer_id, placed_at, placed_day, channel, currency, total, status, created_at"),
        ("order_lines", "order_id, customer_id, line_no, sku, product_name, category, quantity, unit_price, amount"),
    ] {
        let width = columns.split(',').count();
        let marks = vec!["?"; width].join(", ");
        let mut insert = tx.prepare(&format!("INSERT INTO {table} ({columns}) VALUES ({marks})"))?;
        let mut read = from.prepare(&format!("SELECT {columns} FROM {table}"))?;
        let mut rows = read.query([])?;
        loop {
            // Read a chunk (not timed), then insert it (timed).
            let mut chunk: Vec<Vec<rusqlite::types::Value>> = Vec::with_capacity(CHUNK);
            while chunk.len() < CHUNK {
                let Some(r) = rows.next()? else { break };
                chunk.push((0..width).map(|i| r.get::<_, rusqlite::types::Value>(i)).collect::<Result<_, _>>()?);
            }
            if chunk.is_empty() {
                break;
            }
            let started = Instant::now();
            for row in &chunk {
                insert.execute(rusqlite::params_from_iter(row.iter()))?;
            }
            spent += started.elapsed();
            if table == "order_lines" {
                lines += chunk.len() as u64;
            }
        }
    }
    let started = Instant::now();
    tx.commit()?;
    spent += started.elapsed();
    Ok((lines, spent))
}

/// A plain PostgreSQL client, for benchmark set-up (schemas).
pub type PgClient = postgres::Client;

/// Connects to PostgreSQL without the store (to create and drop benchmark schemas).
pub fn admin_client(url: &str) -> Result<PgClient, StoreError> {
    Ok(postgres::Client::connect(url, postgres::NoTls)?)
}
