//! B2B accounts (companies) whose contacts are customers.

use crate::db::{Conn, Row};
use crate::model::{Account, AccountUpsert, Upserted};
use crate::repo::now;
use crate::{params, StoreError};

const SELECT: &str = "SELECT id, external_id, name, industry, region, size_band FROM accounts";

fn decode(r: &Row) -> Result<Account, StoreError> {
    Ok(Account {
        id: r.int(0)?,
        external_id: r.text(1)?,
        name: r.text(2)?,
        industry: r.opt_text(3)?,
        region: r.opt_text(4)?,
        size_band: r.opt_text(5)?,
    })
}

/// Creates an account or updates the one with the same external id.
pub fn upsert(c: &mut dyn Conn, a: &AccountUpsert) -> Result<Upserted, StoreError> {
    let existing = c.query_opt("SELECT id FROM accounts WHERE external_id = $1", params![a.external_id.as_str()])?;
    let t = now();
    match existing {
        Some(row) => {
            let id = row.int(0)?;
            c.execute(
                "UPDATE accounts SET name = COALESCE($1, name), industry = COALESCE($2, industry), region = COALESCE($3, region), \
                 size_band = COALESCE($4, size_band), updated_at = $5 WHERE id = $6",
                params![a.name.clone(), a.industry.clone(), a.region.clone(), a.size_band.clone(), t, id],
            )?;
            Ok(Upserted::Updated(id))
        }
        None => {
            let row = c.query_one(
                "INSERT INTO accounts (external_id, name, industry, region, size_band, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                params![
                    a.external_id.as_str(),
                    a.name.clone().unwrap_or_else(|| a.external_id.to_string()),
                    a.industry.clone(),
                    a.region.clone(),
                    a.size_band.clone(),
                    t
                ],
            )?;
            Ok(Upserted::Created(row.int(0)?))
        }
    }
}

/// One account by Enishi id.
pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Account>, StoreError> {
    c.query_opt(&format!("{SELECT} WHERE id = $1"), params![id])?.as_ref().map(decode).transpose()
}

/// One account by the shop's id.
pub fn get_by_external_id(c: &mut dyn Conn, external_id: &str) -> Result<Option<Account>, StoreError> {
    c.query_opt(&format!("{SELECT} WHERE external_id = $1"), params![external_id])?.as_ref().map(decode).transpose()
}

/// Accounts in id order, after `after`, at most `limit`.
pub fn list(c: &mut dyn Conn, after: i64, limit: i64) -> Result<Vec<Account>, StoreError> {
    c.query(&format!("{SELECT} WHERE id > $1 ORDER BY id LIMIT $2"), params![after, limit])?
        .iter()
        .map(decode)
        .collect()
}
