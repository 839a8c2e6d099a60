//! The audit log: who (a user or a token, by label), what, when, and the state before and
//! after. Append-only: the database refuses to change or delete an entry.

use crate::db::{Conn, Row};
use crate::{params, StoreError};
use serde::Serialize;

/// An entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry<'a> {
    /// Who: `user:EMAIL`, `token:LABEL (ROLE)` or `cli`.
    pub actor: &'a str,
    /// What: `points.adjust`, `program.apply`, `customers.export`, …
    pub action: &'a str,
    /// What it was done to: `customer:42`, `program`, `token:till`, …
    pub subject: &'a str,
    /// The state before (JSON), if it matters.
    pub before: Option<&'a str>,
    /// The state after (JSON), if it matters.
    pub after: Option<&'a str>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Id, in the order entries were written.
    pub id: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub subject: String,
    /// Before (JSON).
    pub before: Option<String>,
    /// After (JSON).
    pub after: Option<String>,
}

/// Appends an entry at `at`.
pub fn append(c: &mut dyn Conn, e: &NewAuditEntry<'_>, at: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES ($1, $2, $3, $4, $5, $6)",
        params![at, e.actor, e.action, e.subject, e.before, e.after],
    )?;
    Ok(())
}

/// The newest entries first, those with an id below `before` (all when `None`), at most
/// `limit`.
pub fn recent(c: &mut dyn Conn, before: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
    c.query(
        "SELECT id, at, actor, action, subject, before, after FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2",
        params![before.unwrap_or(i64::MAX), limit],
    )?
    .iter()
    .map(entry_of)
    .collect()
}

fn entry_of(r: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: r.int(0)?,
        at: r.int(1)?,
        actor: r.text(2)?,
        action: r.text(3)?,
        subject: r.text(4)?,
        before: r.opt_text(5)?,
        after: r.opt_text(6)?,
    })
}
