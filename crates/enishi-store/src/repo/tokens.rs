//! API tokens: random bearer tokens, stored only as SHA-256 hashes.

use crate::db::Conn;
use crate::{params, StoreError};
use enishi_core::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of every token, so that leaked tokens are easy to recognise.
pub const TOKEN_PREFIX: &str = "enishi_";

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token with `role` and returns it in clear: the only time it is visible.
pub fn create(c: &mut dyn Conn, role: Role, label: &str) -> Result<String, StoreError> {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    c.execute(
        "INSERT INTO api_tokens (token_hash, role, label, created_at) VALUES ($1, $2, $3, $4)",
        params![hash(&token), role.as_str(), label, c.now()],
    )?;
    Ok(token)
}

/// The role and label of a valid, unrevoked token.
pub fn role_and_label_of(c: &mut dyn Conn, token: &str) -> Result<Option<(Role, String)>, StoreError> {
    let row = c.query_opt(
        "SELECT role, label FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        params![hash(token)],
    )?;
    let Some(r) = row else { return Ok(None) };
    Ok(r.text(0)?.parse().ok().map(|role| (role, r.text(1).unwrap_or_default())))
}

/// The role of a valid, unrevoked token.
pub fn role_of(c: &mut dyn Conn, token: &str) -> Result<Option<Role>, StoreError> {
    let row =
        c.query_opt("SELECT role FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL", params![hash(token)])?;
    Ok(row.map(|r| r.text(0)).transpose()?.and_then(|s| s.parse().ok()))
}

/// Revokes every token with `label`; returns how many.
pub fn revoke_label(c: &mut dyn Conn, label: &str) -> Result<u64, StoreError> {
    c.execute("UPDATE api_tokens SET revoked_at = $1 WHERE label = $2 AND revoked_at IS NULL", params![c.now(), label])
}

/// A token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Id.
    pub id: i64,
    /// Role.
    pub role: String,
    /// Label.
    pub label: String,
    /// Created (Unix seconds).
    pub created_at: i64,
    /// Revoked (Unix seconds), if it was.
    pub revoked_at: Option<i64>,
}

/// Every token, newest first.
pub fn list(c: &mut dyn Conn) -> Result<Vec<TokenInfo>, StoreError> {
    c.query("SELECT id, role, label, created_at, revoked_at FROM api_tokens ORDER BY id DESC", &[])?
        .iter()
        .map(|r| {
            Ok(TokenInfo {
                id: r.int(0)?,
                role: r.text(1)?,
                label: r.text(2)?,
                created_at: r.int(3)?,
                revoked_at: r.opt_int(4)?,
            })
        })
        .collect()
}

/// Revokes one token; `false` if there is no such unrevoked token.
pub fn revoke(c: &mut dyn Conn, id: i64) -> Result<bool, StoreError> {
    Ok(c.execute("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", params![c.now(), id])?
        == 1)
}
