//! B2B accounts (companies) whose contacts are customers.

use crate::db::{Conn, Row};
use crate::model::{Account, AccountUpsert, Upserted};
use crate::{params, StoreError};

const SELECT: &str = "SELECT id, external_id, name, industry, region, size_band FROM accounts";

fn decode(r: &Row) -> Result<Account, StoreError> {
    Ok(Account {
        id: r.int("id")?,
        external_id: r.text("external_id")?,
        name: r.text("name")?,
        industry: r.opt_text("industry")?,
        region: r.opt_text("region")?,
        size_band: r.opt_text("size_band")?,
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
    use sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, JoinType, Order, Query};
    let recent = q.until - q.window;
    let previous = recent - q.window;
    let col = |table: &str, name: &str| Expr::col((Alias::new(table), Alias::new(name)));
    let zero = || Expr::cust("0");
    let or_zero = |e: Expr| Expr::from(Func::coalesce([e, zero()]));
    let placed = || col("o", "placed_at");
    let contacts = Query::select()
        .expr(Func::count(Expr::col(Asterisk)))
        .from_as(Alias::new("customers"), Alias::new("k"))
        .and_where(col("k", "account_id").equals((Alias::new("a"), Alias::new("id"))))
        .to_owned();
    let returned = Query::select()
        .expr(Func::sum(col("r", "amount")))
        .from_as(Alias::new("returns"), Alias::new("r"))
        .join_as(
            JoinType::InnerJoin,
            Alias::new("customers"),
            Alias::new("k"),
            col("k", "id").equals((Alias::new("r"), Alias::new("customer_id"))),
        )
        .and_where(col("k", "account_id").equals((Alias::new("a"), Alias::new("id"))))
        .and_where(col("r", "returned_at").lte(q.until))
        .to_owned();
    let subquery = |s: sea_query::SelectStatement| Expr::SubQuery(None, Box::new(s.into()));
    let mut select = Query::select();
    select
        .columns(
            ["id", "external_id", "name", "industry", "region", "size_band"].map(|n| (Alias::new("a"), Alias::new(n))),
        )
        .expr_as(subquery(contacts), Alias::new("contacts"))
        .expr_as(
            Func::count_distinct(Expr::case(placed().gte(recent), col("o", "customer_id"))),
            Alias::new("active_contacts"),
        )
        .expr_as(or_zero(Func::sum(col("o", "total")).into()).sub(or_zero(subquery(returned))), Alias::new("revenue"))
        .expr_as(
            or_zero(Func::sum(Expr::case(placed().gte(recent), col("o", "total")).finally(zero())).into()),
            Alias::new("recent_revenue"),
        )
        .expr_as(
            or_zero(
                Func::sum(
                    Expr::case(placed().gte(previous).and(placed().lt(recent)), col("o", "total")).finally(zero()),
                )
                .into(),
            ),
            Alias::new("previous_revenue"),
        )
        .expr_as(Func::count(col("o", "id")), Alias::new("orders"))
        .expr_as(Func::max(placed()), Alias::new("last_order_at"))
        .from_as(Alias::new("accounts"), Alias::new("a"))
        .join_as(
            JoinType::LeftJoin,
            Alias::new("customers"),
            Alias::new("c"),
            col("c", "account_id").equals((Alias::new("a"), Alias::new("id"))),
        )
        .join_as(
            JoinType::LeftJoin,
            Alias::new("orders"),
            Alias::new("o"),
            col("o", "customer_id").equals((Alias::new("c"), Alias::new("id"))).and(placed().lte(q.until)),
        );
    if let Some(industry) = &q.industry {
        select.and_where(col("a", "industry").eq(industry.as_str()));
    }
    if let Some(region) = &q.region {
        select.and_where(col("a", "region").eq(region.as_str()));
    }
    select
        .group_by_columns(
            ["id", "external_id", "name", "industry", "region", "size_band"].map(|n| (Alias::new("a"), Alias::new(n))),
        )
        .order_by(Alias::new("revenue"), Order::Desc)
        .order_by((Alias::new("a"), Alias::new("id")), Order::Asc)
        .limit(u64::try_from(q.limit).unwrap_or(0));
    crate::sql::select(c, &select)?
        .iter()
        .map(|r| {
            Ok(AccountRollup {
                account: decode(r)?,
                contacts: r.int("contacts")?,
                active_contacts: r.int("active_contacts")?,
                revenue: r.int("revenue")?,
                recent_revenue: r.int("recent_revenue")?,
                previous_revenue: r.int("previous_revenue")?,
                orders: r.int("orders")?,
                last_order_at: r.opt_int("last_order_at")?,
            })
        })
        .collect()
}
