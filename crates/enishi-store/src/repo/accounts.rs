//! B2B accounts (companies) whose contacts are customers.

use crate::db::{Conn, Row};
use crate::model::{Account, AccountUpsert, Upserted};
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
    let t = c.now();
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

/// One account's purchases summed over its contacts.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRollup {
    /// The account.
    pub account: Account,
    /// Contacts (customers linked to the account).
    pub contacts: i64,
    /// Contacts who ordered in the recent window.
    pub active_contacts: i64,
    /// Revenue up to the as-of time, net of returns (1/10,000 units).
    pub revenue: i64,
    /// Revenue in the recent window (1/10,000 units).
    pub recent_revenue: i64,
    /// Revenue in the window before it, of the same length (1/10,000 units).
    pub previous_revenue: i64,
    /// Orders up to the as-of time.
    pub orders: i64,
    /// Last order (Unix seconds).
    pub last_order_at: Option<i64>,
}

/// Filters and windows of an account roll-up.
#[derive(Debug, Clone, Default)]
pub struct RollupQuery {
    /// Only this industry.
    pub industry: Option<String>,
    /// Only this region.
    pub region: Option<String>,
    /// Orders after this (Unix seconds) are ignored.
    pub until: i64,
    /// Length of the recent window in seconds (the previous window has the same length).
    pub window: i64,
    /// Most accounts answered.
    pub limit: i64,
}

/// Accounts with their contacts' purchases summed, highest revenue first.
pub fn rollups(c: &mut dyn Conn, q: &RollupQuery) -> Result<Vec<AccountRollup>, StoreError> {
    let recent = q.until - q.window;
    let previous = recent - q.window;
    let mut params: Vec<crate::Value> = vec![q.until.into(), recent.into(), previous.into()];
    let mut filters = String::new();
    if let Some(i) = &q.industry {
        params.push(i.as_str().into());
        filters.push_str(&format!(" AND a.industry = ${}", params.len()));
    }
    if let Some(r) = &q.region {
        params.push(r.as_str().into());
        filters.push_str(&format!(" AND a.region = ${}", params.len()));
    }
    params.push(q.limit.into());
    let limit = params.len();
    let sql = format!(
        "SELECT a.id, a.external_id, a.name, a.industry, a.region, a.size_band, \
           (SELECT COUNT(*) FROM customers k WHERE k.account_id = a.id), \
           COUNT(DISTINCT CASE WHEN o.placed_at >= $2 THEN o.customer_id END), \
           COALESCE(SUM(o.total), 0) - COALESCE((SELECT SUM(r.amount) FROM returns r JOIN customers k ON k.id = r.customer_id \
                                                  WHERE k.account_id = a.id AND r.returned_at <= $1), 0), \
           COALESCE(SUM(CASE WHEN o.placed_at >= $2 THEN o.total ELSE 0 END), 0), \
           COALESCE(SUM(CASE WHEN o.placed_at >= $3 AND o.placed_at < $2 THEN o.total ELSE 0 END), 0), \
           COUNT(o.id), MAX(o.placed_at) \
         FROM accounts a LEFT JOIN customers c ON c.account_id = a.id \
           LEFT JOIN orders o ON o.customer_id = c.id AND o.placed_at <= $1 \
         WHERE 1 = 1{filters} \
         GROUP BY a.id, a.external_id, a.name, a.industry, a.region, a.size_band \
         ORDER BY 9 DESC, a.id LIMIT ${limit}"
    );
    c.query(&sql, &params)?
        .iter()
        .map(|r| {
            Ok(AccountRollup {
                // The first six columns are those of `SELECT`.
                account: decode(r)?,
                contacts: r.int(6)?,
                active_contacts: r.int(7)?,
                revenue: r.int(8)?,
                recent_revenue: r.int(9)?,
                previous_revenue: r.int(10)?,
                orders: r.int(11)?,
                last_order_at: r.opt_int(12)?,
            })
        })
        .collect()
}
