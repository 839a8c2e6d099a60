//! Failed sign-in counters, per key (`email:…` or `ip:…`), kept in the database so that a
//! restart does not reset them and several servers share them.

use crate::db::Conn;
use crate::{params, StoreError};

/// A key's failures and when the last one was (Unix seconds); failures older than
/// `forget_after` seconds before `now` no longer count.
pub fn failures(c: &mut dyn Conn, key: &str, now: i64, forget_after: i64) -> Result<(i64, i64), StoreError> {
    let row = c.query_opt("SELECT failures, last_failure_at FROM sign_in_failures WHERE key = $1", params![key])?;
    Ok(match row {
        Some(r) if now - r.int(1)? < forget_after => (r.int(0)?, r.int(1)?),
        _ => (0, 0),
    })
}

/// Counts one more failure for `key` at `now` (starting again from 1 when the last one is
/// older than `forget_after`).
pub fn record_failure(c: &mut dyn Conn, key: &str, now: i64, forget_after: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO sign_in_failures (key, failures, last_failure_at) VALUES ($1, 1, $2) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN $2 - sign_in_failures.last_failure_at < $3 THEN sign_in_failures.failures + 1 ELSE 1 END, \
           last_failure_at = $2",
        params![key, now, forget_after],
    )?;
    Ok(())
}

/// Forgets `key`'s failures (after a successful sign-in).
pub fn clear(c: &mut dyn Conn, key: &str) -> Result<(), StoreError> {
    c.execute("DELETE FROM sign_in_failures WHERE key = $1", params![key])?;
    Ok(())
}
