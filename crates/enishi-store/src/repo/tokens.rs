//! API tokens: random bearer tokens, stored only as SHA-256 hashes.

use crate::db::Conn;
use crate::repo::now;
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
        params![hash(&token), role.as_str(), label, now()],
    )?;
    Ok(token)
}

/// The role of a valid, unrevoked token.
pub fn role_of(c: &mut dyn Conn, token: &str) -> Result<Option<Role>, StoreError> {
    let row =
        c.query_opt("SELECT role FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL", params![hash(token)])?;
    Ok(row.map(|r| r.text(0)).transpose()?.and_then(|s| s.parse().ok()))
}

/// Revokes every token with `label`; returns how many.
pub fn revoke_label(c: &mut dyn Conn, label: &str) -> Result<u64, StoreError> {
    c.execute("UPDATE api_tokens SET revoked_at = $1 WHERE label = $2 AND revoked_at IS NULL", params![now(), label])
}
