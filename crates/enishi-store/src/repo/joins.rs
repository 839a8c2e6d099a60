//! Sign-ups on the public join page waiting for their email to be confirmed (double opt-in):
//! the checked form as JSON, the address it was sent to, and when the confirmation link
//! expires. Confirming one records whom it made and clears the form and the address.

use crate::db::{Conn, Row};
use crate::{params, StoreError};

/// A sign-up as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// Id (named by the confirmation link).
    pub id: i64,
    /// The customer it made or matched, once confirmed.
    pub customer_id: Option<i64>,
    /// The address the confirmation was sent to (cleared once confirmed).
    pub email: Option<String>,
    /// The form as checked, JSON (`{}` once confirmed).
    pub form: String,
    /// The page's language (`ja`, `en`).
    pub language: String,
    /// When it was made (Unix seconds).
    pub requested_at: i64,
    /// When its link expires.
    pub expires_at: i64,
    /// When it was confirmed.
    pub confirmed_at: Option<i64>,
}

fn decode(r: &Row) -> Result<JoinRequest, StoreError> {
    Ok(JoinRequest {
        id: r.int("id")?,
        customer_id: r.opt_int("customer_id")?,
        email: r.opt_text("email")?,
        form: r.text("form")?,
        language: r.text("language")?,
        requested_at: r.int("requested_at")?,
        expires_at: r.int("expires_at")?,
        confirmed_at: r.opt_int("confirmed_at")?,
    })
}

/// Stores a sign-up waiting for `email` to be confirmed; its id.
pub fn insert(
    c: &mut dyn Conn,
    email: &str,
    form: &str,
    language: &str,
    requested_at: i64,
    expires_at: i64,
) -> Result<i64, StoreError> {
    c.query_one(
        "INSERT INTO join_requests (email, form, language, requested_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id",
        params![email, form, language, requested_at, expires_at],
    )?
    .int(0)
}

/// One sign-up, locked for the rest of the transaction on PostgreSQL (two clicks on one link
/// confirm it once).
pub fn get_for_update(c: &mut dyn Conn, id: i64) -> Result<Option<JoinRequest>, StoreError> {
    let lock = if c.backend() == crate::db::Backend::Postgres { " FOR UPDATE" } else { "" };
    c.query_opt(
        &format!(
            "SELECT id, customer_id, email, form, language, requested_at, expires_at, confirmed_at \
             FROM join_requests WHERE id = $1{lock}"
        ),
        params![id],
    )?
    .map(|r| decode(&r))
    .transpose()
}

/// Marks a sign-up confirmed at `at` as having made or matched `customer_id`, clearing the
/// form and the address.
pub fn confirm(c: &mut dyn Conn, id: i64, customer_id: i64, at: i64) -> Result<(), StoreError> {
    c.execute(
        "UPDATE join_requests SET customer_id = $2, confirmed_at = $3, email = NULL, form = '{}' \
         WHERE id = $1 AND confirmed_at IS NULL",
        params![id, customer_id, at],
    )?;
    Ok(())
}

/// Whether a sign-up for `email` (compared case-insensitively) still waits, made at or after
/// `since`.
pub fn waiting_since(c: &mut dyn Conn, email: &str, since: i64) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT 1 FROM join_requests WHERE lower(email) = lower($1) AND requested_at >= $2 AND confirmed_at IS NULL",
        params![email, since],
    )?
    .is_some())
}

/// Deletes the sign-ups never confirmed whose link expired before `now`; how many.
pub fn purge_expired(c: &mut dyn Conn, now: i64) -> Result<u64, StoreError> {
    c.execute("DELETE FROM join_requests WHERE confirmed_at IS NULL AND expires_at < $1", params![now])
}
