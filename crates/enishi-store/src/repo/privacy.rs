//! Erasure on request (GDPR, Japan's APPI): a customer's personal data is removed for good,
//! while their orders, ledger and running totals stay, anonymised, so the books still balance.

use crate::db::{Backend, Conn};
use crate::{params, StoreError};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// Tables an erasure deletes from or rewrites (what [`crate::Store::scrub`] should vacuum).
pub const ERASED_TABLES: &[&str] = &[
    "customers",
    "customer_consents",
    "consent_log",
    "communications",
    "tasks",
    "survey_invitations",
    "reviews",
    "change_feedback",
    "join_requests",
    "interactions",
    "events",
    "customer_recommendations",
    "customer_tags",
    "customer_channels",
    "customer_attributes",
    "customer_merges",
    "journey_enrolments",
];

/// How an external id is kept on the erasure list.
pub fn external_id_hash(external_id: &str) -> String {
    hex::encode(Sha256::digest(external_id.trim().as_bytes()))
}

/// Erases customer `id` at `now`: their shop id goes on the erasure list; profile, consent
/// history, messages, tasks, survey answers, reviews, links of their feedback to changes,
/// join page sign-ups (also ones waiting for their address), interactions, events,
/// recommendations and journey entries are deleted; the row keeps only its id, `erased:ID` as
/// shop id, and when it was first seen. Orders, the ledger and the running totals stay. On
/// SQLite freed content is zeroed (`secure_delete`). `false` when there is no such customer.
pub fn erase(c: &mut dyn Conn, id: i64, now: i64) -> Result<bool, StoreError> {
    let Some(row) = c.query_opt("SELECT external_id FROM customers WHERE id = $1", params![id])? else {
        return Ok(false);
    };
    let external_id = row.text(0)?;
    let sqlite = c.backend() == Backend::Sqlite;
    if sqlite {
        c.execute_batch("PRAGMA secure_delete = ON")?;
    }
    // The shop ids of records merged into this customer are the same person's: erased too.
    let merged: Vec<String> = c
        .query("SELECT merged_external_id FROM customer_merges WHERE customer_id = $1", params![id])?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    for external_id in std::iter::once(&external_id).chain(&merged) {
        c.execute(
            "INSERT INTO erased_customers (external_id_hash, erased_at) VALUES ($1, $2) ON CONFLICT (external_id_hash) DO NOTHING",
            params![external_id_hash(external_id), now],
        )?;
    }
    // Sign-ups still waiting for their confirmation name the customer only by the address.
    c.execute(
        "DELETE FROM join_requests WHERE email IS NOT NULL AND \
         lower(email) = (SELECT lower(email) FROM customers WHERE id = $1)",
        params![id],
    )?;
    for table in &ERASED_TABLES[1..] {
        c.execute(&format!("DELETE FROM {table} WHERE customer_id = $1"), params![id])?;
    }
    c.execute(
        "UPDATE customers SET external_id = $2, name = NULL, email = NULL, phone = NULL, address_line1 = NULL, \
         furigana = NULL, address_line2 = NULL, city = NULL, region = NULL, postal_code = NULL, country = NULL, birthday = NULL, \
         locale = NULL, account_id = NULL, acquisition_source = NULL, \
         referred_by = NULL, updated_at = $3 WHERE id = $1",
        params![id, format!("erased:{id}"), now],
    )?;
    if sqlite {
        c.execute_batch("PRAGMA secure_delete = OFF")?;
    }
    Ok(true)
}

/// Whether the customer with this shop id was erased.
pub fn is_erased(c: &mut dyn Conn, external_id: &str) -> Result<bool, StoreError> {
    let hash = external_id_hash(external_id);
    Ok(c.query_opt("SELECT 1 FROM erased_customers WHERE external_id_hash = $1", params![hash])?.is_some())
}

/// Every hash on the erasure list (small: one row per request).
pub fn erased_hashes(c: &mut dyn Conn) -> Result<HashSet<String>, StoreError> {
    c.query("SELECT external_id_hash FROM erased_customers", &[])?.iter().map(|r| r.text(0)).collect()
}
