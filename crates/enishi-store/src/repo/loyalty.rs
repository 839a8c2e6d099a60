//! Loyalty: programme versions, the append-only points ledger and its dated lots, per-customer
//! loyalty state, per-order effects, tier history, coupons, memberships and the outbox.
//! Decisions (what an order earns, what a return takes back) belong to the caller.

use crate::db::{Backend, Conn, Row, Rows, Value};
use crate::repo::query_in;
use crate::{params, StoreError};
use serde::{Serialize, Serializer};
use std::collections::HashSet;

/// Unix seconds shown as RFC 3339, as everywhere else in the API.
fn time<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    crate::instant(*v).serialize(s)
}

fn opt_time<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    v.map(crate::instant).serialize(s)
}

/// A stored programme version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredProgram {
    /// Version number, from 1.
    pub version: i64,
    /// The JSON document.
    pub document: String,
    /// Orders placed from here on earn under it (Unix seconds).
    #[serde(serialize_with = "time")]
    pub effective_from: i64,
    /// When it was applied.
    #[serde(serialize_with = "time")]
    pub applied_at: i64,
    /// Who applied it.
    pub applied_by: String,
}

fn program_of(r: &Row) -> Result<StoredProgram, StoreError> {
    Ok(StoredProgram {
        version: r.int(0)?,
        document: r.text(1)?,
        effective_from: r.int(2)?,
        applied_at: r.int(3)?,
        applied_by: r.text(4)?,
    })
}

const PROGRAM_COLUMNS: &str = "version, document, effective_from, applied_at, applied_by";

/// Stores a new programme version and returns its number.
pub fn insert_program(
    c: &mut dyn Conn,
    document: &str,
    effective_from: i64,
    applied_by: &str,
) -> Result<i64, StoreError> {
    let version = c.query_one("SELECT COALESCE(MAX(version), 0) + 1 FROM loyalty_programs", &[])?.int(0)?;
    c.execute(
        "INSERT INTO loyalty_programs (version, document, effective_from, applied_at, applied_by) VALUES ($1, $2, $3, $4, $5)",
        params![version, document, effective_from, c.now(), applied_by],
    )?;
    Ok(version)
}

/// Every programme version, oldest first.
pub fn programs(c: &mut dyn Conn) -> Result<Vec<StoredProgram>, StoreError> {
    c.query(&format!("SELECT {PROGRAM_COLUMNS} FROM loyalty_programs ORDER BY version"), &[])?
        .iter()
        .map(program_of)
        .collect()
}

/// The newest version.
pub fn latest_program(c: &mut dyn Conn) -> Result<Option<StoredProgram>, StoreError> {
    c.query_opt(&format!("SELECT {PROGRAM_COLUMNS} FROM loyalty_programs ORDER BY version DESC LIMIT 1"), &[])?
        .as_ref()
        .map(program_of)
        .transpose()
}

/// A customer's loyalty state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoyaltyAccount {
    /// Customer.
    pub customer_id: i64,
    /// Posted points (pending included); negative is a debt.
    pub balance: i64,
    /// Current tier id.
    pub tier: Option<String>,
    /// Since when.
    #[serde(serialize_with = "opt_time")]
    pub tier_since: Option<i64>,
    /// A manual tier holds until then (reviews leave it alone).
    #[serde(serialize_with = "opt_time")]
    pub tier_locked_until: Option<i64>,
    /// The customer's referral code.
    pub referral_code: String,
    /// Stamp cards as JSON: card id → {stamps, last_day}.
    pub cards: String,
}

impl LoyaltyAccount {
    /// The state of a customer who has earned nothing yet, before it is stored.
    pub fn empty(customer_id: i64, referral_code: String) -> LoyaltyAccount {
        LoyaltyAccount {
            customer_id,
            balance: 0,
            tier: None,
            tier_since: None,
            tier_locked_until: None,
            referral_code,
            cards: "{}".into(),
        }
    }
}

const ACCOUNT_COLUMNS: &str = "customer_id, balance, tier, tier_since, tier_locked_until, referral_code, cards";

fn account_of(r: &Row) -> Result<LoyaltyAccount, StoreError> {
    Ok(LoyaltyAccount {
        customer_id: r.int(0)?,
        balance: r.int(1)?,
        tier: r.opt_text(2)?,
        tier_since: r.opt_int(3)?,
        tier_locked_until: r.opt_int(4)?,
        referral_code: r.text(5)?,
        cards: r.text(6)?,
    })
}

/// A customer's loyalty state, if they have one.
pub fn account(c: &mut dyn Conn, customer_id: i64) -> Result<Option<LoyaltyAccount>, StoreError> {
    c.query_opt(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM loyalty_accounts WHERE customer_id = $1"),
        params![customer_id],
    )?
    .as_ref()
    .map(account_of)
    .transpose()
}

/// A customer's loyalty state, created with `referral_code` if missing, and locked for the
/// rest of the transaction (on PostgreSQL a row lock; SQLite writers are serialised already),
/// so that concurrent redemptions see each other's spending.
pub fn account_for_update(
    c: &mut dyn Conn,
    customer_id: i64,
    referral_code: &str,
) -> Result<LoyaltyAccount, StoreError> {
    accounts_for_update(c, &[(customer_id, referral_code.to_string())])?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("loyalty account of customer {customer_id}")))
}

/// Writes back a customer's loyalty state.
pub fn save_account(c: &mut dyn Conn, a: &LoyaltyAccount) -> Result<(), StoreError> {
    save_accounts(c, std::slice::from_ref(a))
}

/// A ledger entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry<'a> {
    /// Customer.
    pub customer_id: i64,
    /// earn, bonus, redeem, expire, adjust or reverse.
    pub kind: &'static str,
    /// Signed points.
    pub points: i64,
    /// order, promotion, referral, birthday, manual, reward, expiry, return.
    pub source: &'static str,
    /// The order, reward, … it comes from.
    pub source_ref: Option<&'a str>,
    /// Programme version.
    pub program_version: Option<i64>,
    /// Unique: the same key never posts twice.
    pub idempotency_key: &'a str,
    /// Why (manual adjustments must say).
    pub reason: Option<&'a str>,
    /// JSON detail (the breakdown of an earn).
    pub detail: &'a str,
    /// When it happened.
    pub occurred_at: i64,
    /// When earned points become usable (pending before).
    pub available_at: i64,
    /// When earned points expire.
    pub expires_at: Option<i64>,
}

/// A ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Id.
    pub id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Kind.
    pub kind: String,
    /// Signed points.
    pub points: i64,
    /// Source.
    pub source: String,
    /// Source reference.
    pub source_ref: Option<String>,
    /// Programme version.
    pub program_version: Option<i64>,
    /// Idempotency key.
    pub idempotency_key: String,
    /// Reason.
    pub reason: Option<String>,
    /// JSON detail.
    pub detail: String,
    /// When.
    #[serde(serialize_with = "time")]
    pub occurred_at: i64,
    /// Usable from.
    #[serde(serialize_with = "time")]
    pub available_at: i64,
    /// Expires at.
    #[serde(serialize_with = "opt_time")]
    pub expires_at: Option<i64>,
}

const ENTRY_COLUMNS: &str = "id, customer_id, kind, points, source, source_ref, program_version, idempotency_key, reason, detail, occurred_at, available_at, expires_at";

fn entry_of(r: &Row) -> Result<Entry, StoreError> {
    Ok(Entry {
        id: r.int(0)?,
        customer_id: r.int(1)?,
        kind: r.text(2)?,
        points: r.int(3)?,
        source: r.text(4)?,
        source_ref: r.opt_text(5)?,
        program_version: r.opt_int(6)?,
        idempotency_key: r.text(7)?,
        reason: r.opt_text(8)?,
        detail: r.text(9)?,
        occurred_at: r.int(10)?,
        available_at: r.int(11)?,
        expires_at: r.opt_int(12)?,
    })
}

/// Appends an entry; `None` when an entry with the same idempotency key exists (nothing
/// written).
pub fn append(c: &mut dyn Conn, e: &NewEntry<'_>) -> Result<Option<i64>, StoreError> {
    let row = c.query_opt(
        "INSERT INTO loyalty_ledger (customer_id, kind, points, source, source_ref, program_version, idempotency_key, reason, detail, occurred_at, available_at, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        params![
            e.customer_id,
            e.kind,
            e.points,
            e.source,
            e.source_ref,
            e.program_version,
            e.idempotency_key,
            e.reason,
            e.detail,
            e.occurred_at,
            e.available_at,
            e.expires_at,
            c.now()
        ],
    )?;
    row.map(|r| r.int(0)).transpose()
}

/// The ledger entry with this id.
pub fn entry(c: &mut dyn Conn, id: i64) -> Result<Option<Entry>, StoreError> {
    c.query_opt(&format!("SELECT {ENTRY_COLUMNS} FROM loyalty_ledger WHERE id = $1"), params![id])?
        .as_ref()
        .map(entry_of)
        .transpose()
}

/// The entry with this idempotency key.
pub fn entry_by_key(c: &mut dyn Conn, key: &str) -> Result<Option<Entry>, StoreError> {
    c.query_opt(&format!("SELECT {ENTRY_COLUMNS} FROM loyalty_ledger WHERE idempotency_key = $1"), params![key])?
        .as_ref()
        .map(entry_of)
        .transpose()
}

/// Whether an entry with this idempotency key exists.
pub fn has_key(c: &mut dyn Conn, key: &str) -> Result<bool, StoreError> {
    Ok(!existing_keys(c, &[key])?.is_empty())
}

/// Which of these idempotency keys the ledger holds.
pub fn existing_keys(c: &mut dyn Conn, keys: &[&str]) -> Result<Vec<String>, StoreError> {
    let values: Vec<Value> = keys.iter().map(|k| Value::from(*k)).collect();
    query_in(c, "SELECT idempotency_key FROM loyalty_ledger WHERE idempotency_key IN ({list})", &values)?
        .iter()
        .map(|r| r.text(0))
        .collect()
}

/// The entries of an order's own points (its purchase points and promotion bonuses), oldest
/// first: they are the customer's, dated when the order was placed (`placed_at`), and name the
/// order (`order_ref`), so the ledger's index by customer and time finds them.
pub fn own_entry_ids(
    c: &mut dyn Conn,
    customer_id: i64,
    placed_at: i64,
    order_ref: &str,
) -> Result<Vec<i64>, StoreError> {
    c.query(
        "SELECT id FROM loyalty_ledger WHERE customer_id = $1 AND occurred_at = $2 AND source IN ('order', 'promotion') \
         AND source_ref = $3 ORDER BY id",
        params![customer_id, placed_at, order_ref],
    )?
    .iter()
    .map(|r| r.int(0))
    .collect()
}

/// A customer's entries, newest first.
pub fn entries(c: &mut dyn Conn, customer_id: i64, limit: i64, offset: i64) -> Result<Vec<Entry>, StoreError> {
    c.query(
        &format!(
            "SELECT {ENTRY_COLUMNS} FROM loyalty_ledger WHERE customer_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
        ),
        params![customer_id, limit, offset],
    )?
    .iter()
    .map(entry_of)
    .collect()
}

/// The latest ledger entries of one kind across all customers (e.g. `redeem`), newest first.
pub fn recent_entries(c: &mut dyn Conn, kind: &str, limit: i64) -> Result<Vec<Entry>, StoreError> {
    c.query(
        &format!("SELECT {ENTRY_COLUMNS} FROM loyalty_ledger WHERE kind = $1 ORDER BY id DESC LIMIT $2"),
        params![kind, limit],
    )?
    .iter()
    .map(entry_of)
    .collect()
}

/// How many referral rewards each of these referrers has had (their `referrer:` entries):
/// (referrer, count) for those with any.
pub fn referral_rewards(c: &mut dyn Conn, referrers: &[i64]) -> Result<Vec<(i64, i64)>, StoreError> {
    query_in(
        c,
        "SELECT customer_id, COUNT(*) FROM loyalty_ledger WHERE customer_id IN ({list}) AND source = 'referral' \
         AND idempotency_key LIKE 'referrer:%' GROUP BY customer_id",
        &id_values(referrers),
    )?
    .iter()
    .map(|r| Ok((r.int(0)?, r.int(1)?)))
    .collect()
}

/// A lot of earned points and what is left of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Lot {
    /// The earning entry.
    pub ledger_id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Points left.
    pub remaining: i64,
    /// Usable from.
    #[serde(serialize_with = "time")]
    pub available_at: i64,
    /// Expires at.
    #[serde(serialize_with = "opt_time")]
    pub expires_at: Option<i64>,
}

fn lot_of(r: &Row) -> Result<Lot, StoreError> {
    Ok(Lot {
        ledger_id: r.int(0)?,
        customer_id: r.int(1)?,
        remaining: r.int(2)?,
        available_at: r.int(3)?,
        expires_at: r.opt_int(4)?,
    })
}

/// Stores a lot.
pub fn insert_lot(c: &mut dyn Conn, lot: &Lot) -> Result<(), StoreError> {
    insert_lots(c, std::slice::from_ref(lot))
}

/// A customer's lots with points left, in the order they are spent: soonest expiry first
/// (never-expiring last), then oldest.
pub fn open_lots(c: &mut dyn Conn, customer_id: i64) -> Result<Vec<Lot>, StoreError> {
    open_lots_of(c, &[customer_id])
}

/// The open lots of several customers, each customer's in the order [`open_lots`] describes.
pub fn open_lots_of(c: &mut dyn Conn, customer_ids: &[i64]) -> Result<Vec<Lot>, StoreError> {
    Ok(open_lots_with_orders_of(c, customer_ids)?.into_iter().map(|l| l.lot).collect())
}

/// An open lot, and the order whose own points (purchase or promotion) opened it, if one did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLot {
    /// The lot.
    pub lot: Lot,
    /// (when the order was placed, the shop's order id), as [`own_entry_ids`] finds an order's
    /// entries.
    pub order: Option<(i64, String)>,
}

/// The open lots of several customers, each customer's in the order [`open_lots`] describes,
/// with the orders that opened them.
pub fn open_lots_with_orders_of(c: &mut dyn Conn, customer_ids: &[i64]) -> Result<Vec<OpenLot>, StoreError> {
    let mut lots = query_in(
        c,
        "SELECT l.ledger_id, l.customer_id, l.remaining, l.available_at, l.expires_at, g.occurred_at, \
         CASE WHEN g.source IN ('order', 'promotion') THEN g.source_ref END \
         FROM loyalty_lots l JOIN loyalty_ledger g ON g.id = l.ledger_id \
         WHERE l.customer_id IN ({list}) AND l.remaining > 0",
        &id_values(customer_ids),
    )?
    .iter()
    .map(|r| {
        let order = match r.opt_text(6)? {
            Some(order_ref) => Some((r.int(5)?, order_ref)),
            None => None,
        };
        Ok(OpenLot { lot: lot_of(r)?, order })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    // Soonest expiry first, then the oldest: sorted here rather than by the database (a quarter
    // of the query's time in SQLite).
    lots.sort_unstable_by_key(|l| (l.lot.expires_at.is_none(), l.lot.expires_at, l.lot.ledger_id));
    Ok(lots)
}

/// Sets what is left of a lot.
pub fn set_lot_remaining(c: &mut dyn Conn, ledger_id: i64, remaining: i64) -> Result<(), StoreError> {
    c.execute("UPDATE loyalty_lots SET remaining = $2 WHERE ledger_id = $1", params![ledger_id, remaining])?;
    Ok(())
}

/// Lots with points left that expired at or before `at`, at most `limit`, of those opened by
/// ledger entries after `after` (a page: pass the last id of the previous page, or 0).
pub fn expired_lots(c: &mut dyn Conn, at: i64, after: i64, limit: i64) -> Result<Vec<Lot>, StoreError> {
    c.query(
        "SELECT ledger_id, customer_id, remaining, available_at, expires_at FROM loyalty_lots \
         WHERE remaining > 0 AND expires_at <= $1 AND ledger_id > $2 ORDER BY ledger_id LIMIT $3",
        params![at, after, limit],
    )?
    .iter()
    .map(lot_of)
    .collect()
}

/// One customer's books as the audit sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceAudit {
    /// Customer.
    pub customer_id: i64,
    /// Balance stored on the account (0 without an account).
    pub stored: i64,
    /// Sum of the ledger, in a wider type: a ledger that an older version let overflow still
    /// sums without an error.
    pub ledger: i128,
    /// Points left in lots, summed the same way.
    pub lots: i128,
}

/// A sum of 64-bit points that cannot overflow in SQL: the high and low 32 bits are summed
/// apart (each sum fits in 64 bits for fewer than 2^31 rows) and joined in Rust.
fn split_sum(column: &str) -> String {
    format!("SUM({column} >> 32) AS hi, SUM({column} & 4294967295) AS lo")
}

fn joined(r: &Row, hi: usize) -> Result<i128, StoreError> {
    Ok(i128::from(r.opt_int(hi)?.unwrap_or(0)) * (1i128 << 32) + i128::from(r.opt_int(hi + 1)?.unwrap_or(0)))
}

/// Per customer: the account balance, the sum of the ledger and the points left in lots.
/// Customers with ledger entries but no account show balance 0.
pub fn balance_audit(c: &mut dyn Conn) -> Result<Vec<BalanceAudit>, StoreError> {
    audit_where(c, "", &[])
}

/// [`balance_audit`] of one customer.
pub fn balance_audit_of(c: &mut dyn Conn, customer_id: i64) -> Result<BalanceAudit, StoreError> {
    let found = audit_where(c, "WHERE customer_id = $1", params![customer_id])?.pop();
    Ok(found.unwrap_or(BalanceAudit { customer_id, stored: 0, ledger: 0, lots: 0 }))
}

fn audit_where(c: &mut dyn Conn, filter: &str, params: &[Value]) -> Result<Vec<BalanceAudit>, StoreError> {
    let sql = format!(
        "SELECT k.customer_id, COALESCE(a.balance, 0), l.hi, l.lo, t.hi, t.lo FROM \
           (SELECT customer_id FROM loyalty_accounts {filter} UNION SELECT customer_id FROM loyalty_ledger {filter}) k \
           LEFT JOIN loyalty_accounts a ON a.customer_id = k.customer_id \
           LEFT JOIN (SELECT customer_id, {} FROM loyalty_ledger {filter} GROUP BY customer_id) l ON l.customer_id = k.customer_id \
           LEFT JOIN (SELECT customer_id, {} FROM loyalty_lots {filter} GROUP BY customer_id) t ON t.customer_id = k.customer_id \
         ORDER BY k.customer_id",
        split_sum("points"),
        split_sum("remaining")
    );
    c.query(&sql, params)?
        .iter()
        .map(|r| {
            Ok(BalanceAudit { customer_id: r.int(0)?, stored: r.int(1)?, ledger: joined(r, 2)?, lots: joined(r, 4)? })
        })
        .collect()
}

/// Ledger entries whose points are beyond `limit` either way, and not yet voided by an entry
/// whose `source_ref` names them under `void_source`: (entry id, customer, points).
pub fn entries_beyond(c: &mut dyn Conn, limit: i64, void_source: &str) -> Result<Vec<(i64, i64, i64)>, StoreError> {
    c.query(
        "SELECT g.id, g.customer_id, g.points FROM loyalty_ledger g \
         WHERE (g.points > $1 OR g.points < -$1) AND g.source <> $2 \
           AND NOT EXISTS (SELECT 1 FROM loyalty_ledger v WHERE v.source = $2 AND v.source_ref = CAST(g.id AS TEXT)) \
         ORDER BY g.id",
        params![limit, void_source],
    )?
    .iter()
    .map(|r| Ok((r.int(0)?, r.int(1)?, r.int(2)?)))
    .collect()
}

/// Every lot of a customer, whatever is left of it (also none, or a negative amount an older
/// version wrote), with the points of the entry that opened it; in the order lots are spent.
pub fn all_lots_with_points(c: &mut dyn Conn, customer_id: i64) -> Result<Vec<(Lot, i64)>, StoreError> {
    let mut lots = c
        .query(
            "SELECT l.ledger_id, l.customer_id, l.remaining, l.available_at, l.expires_at, g.points \
             FROM loyalty_lots l JOIN loyalty_ledger g ON g.id = l.ledger_id WHERE l.customer_id = $1",
            params![customer_id],
        )?
        .iter()
        .map(|r| Ok((lot_of(r)?, r.int(5)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    lots.sort_unstable_by_key(|(l, _)| (l.expires_at.is_none(), l.expires_at, l.ledger_id));
    Ok(lots)
}

/// What one order did in the loyalty programme (so that a return can undo it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderEffect {
    /// Order (Enishi id).
    pub order_id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Programme version.
    pub program_version: i64,
    /// When placed.
    #[serde(serialize_with = "time")]
    pub placed_at: i64,
    /// Business day.
    pub placed_day: i64,
    /// Points earned.
    pub points: i64,
    /// Added to the tier basis.
    pub qualifying: i64,
    /// Points taken back by returns.
    pub reversed_points: i64,
    /// Tier basis taken back by returns.
    pub reversed_qualifying: i64,
    /// Card ids stamped, as JSON.
    pub stamps: String,
    /// Whether the stamps were undone.
    pub stamps_undone: bool,
    /// JSON: the answer given for the order (breakdown, tier change, coupons).
    pub detail: String,
}

const EFFECT_COLUMNS: &str = "order_id, customer_id, program_version, placed_at, placed_day, points, qualifying, reversed_points, reversed_qualifying, stamps, stamps_undone, detail";

fn effect_of(r: &Row) -> Result<OrderEffect, StoreError> {
    Ok(OrderEffect {
        order_id: r.int(0)?,
        customer_id: r.int(1)?,
        program_version: r.int(2)?,
        placed_at: r.int(3)?,
        placed_day: r.int(4)?,
        points: r.int(5)?,
        qualifying: r.int(6)?,
        reversed_points: r.int(7)?,
        reversed_qualifying: r.int(8)?,
        stamps: r.text(9)?,
        stamps_undone: r.int(10)? != 0,
        detail: r.text(11)?,
    })
}

/// Stores what an order did.
pub fn insert_effect(c: &mut dyn Conn, e: &OrderEffect) -> Result<(), StoreError> {
    insert_effects(c, std::slice::from_ref(e))
}

/// What an order did, if it was evaluated.
pub fn effect(c: &mut dyn Conn, order_id: i64) -> Result<Option<OrderEffect>, StoreError> {
    Ok(effects_of(c, &[order_id])?.pop())
}

/// The effects of several orders.
pub fn effects_of(c: &mut dyn Conn, order_ids: &[i64]) -> Result<Vec<OrderEffect>, StoreError> {
    query_in(
        c,
        &format!("SELECT {EFFECT_COLUMNS} FROM loyalty_order_effects WHERE order_id IN ({{list}})"),
        &id_values(order_ids),
    )?
    .iter()
    .map(effect_of)
    .collect()
}

/// Records what returns took back from an order.
pub fn set_reversed(
    c: &mut dyn Conn,
    order_id: i64,
    reversed_points: i64,
    reversed_qualifying: i64,
    stamps_undone: bool,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE loyalty_order_effects SET reversed_points = $2, reversed_qualifying = $3, stamps_undone = $4 WHERE order_id = $1",
        params![order_id, reversed_points, reversed_qualifying, i64::from(stamps_undone)],
    )?;
    Ok(())
}

/// Purchase points a customer earned on a business day (net of returns).
pub fn points_on_day(c: &mut dyn Conn, customer_id: i64, day: i64) -> Result<i64, StoreError> {
    c.query_one(
        "SELECT COALESCE(SUM(points - reversed_points), 0) FROM loyalty_order_effects WHERE customer_id = $1 AND placed_day = $2",
        params![customer_id, day],
    )?
    .int(0)
}

/// The tier basis a customer has gathered from orders placed at or after `since` and before
/// `until` (net of returns).
pub fn tier_progress(c: &mut dyn Conn, customer_id: i64, since: i64, until: i64) -> Result<i64, StoreError> {
    c.query_one(
        "SELECT COALESCE(SUM(qualifying - reversed_qualifying), 0) FROM loyalty_order_effects \
         WHERE customer_id = $1 AND placed_at >= $2 AND placed_at < $3",
        params![customer_id, since, until],
    )?
    .int(0)
}

/// Points each promotion has given, by promotion id.
pub fn promotion_spend(c: &mut dyn Conn) -> Result<Vec<(String, i64, Option<i64>)>, StoreError> {
    c.query("SELECT promotion_id, spent, announced_at FROM loyalty_promotions ORDER BY promotion_id", &[])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.int(1)?, r.opt_int(2)?)))
        .collect()
}

/// Adds to what a promotion has given.
pub fn add_promotion_spend(c: &mut dyn Conn, promotion_id: &str, points: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO loyalty_promotions (promotion_id, spent) VALUES ($1, $2) \
         ON CONFLICT (promotion_id) DO UPDATE SET spent = loyalty_promotions.spent + excluded.spent",
        params![promotion_id, points],
    )?;
    Ok(())
}

/// Marks a promotion announced; `false` if it already was.
pub fn mark_announced(c: &mut dyn Conn, promotion_id: &str) -> Result<bool, StoreError> {
    c.execute(
        "INSERT INTO loyalty_promotions (promotion_id, spent) VALUES ($1, 0) ON CONFLICT (promotion_id) DO NOTHING",
        params![promotion_id],
    )?;
    let n = c.execute(
        "UPDATE loyalty_promotions SET announced_at = $2 WHERE promotion_id = $1 AND announced_at IS NULL",
        params![promotion_id, c.now()],
    )?;
    Ok(n == 1)
}

/// A tier change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierChangeRecord {
    /// Customer.
    pub customer_id: i64,
    /// Tier before.
    pub from_tier: Option<String>,
    /// Tier after.
    pub to_tier: String,
    /// When.
    #[serde(serialize_with = "time")]
    pub changed_at: i64,
    /// Why (upgrade, review, manual: …).
    pub reason: String,
}

/// Records a tier change.
pub fn insert_tier_change(c: &mut dyn Conn, t: &TierChangeRecord) -> Result<(), StoreError> {
    insert_tier_changes(c, std::slice::from_ref(t))
}

/// A customer's tier changes, oldest first.
pub fn tier_history(c: &mut dyn Conn, customer_id: i64) -> Result<Vec<TierChangeRecord>, StoreError> {
    c.query(
        "SELECT customer_id, from_tier, to_tier, changed_at, reason FROM loyalty_tier_history WHERE customer_id = $1 ORDER BY id",
        params![customer_id],
    )?
    .iter()
    .map(|r| {
        Ok(TierChangeRecord {
            customer_id: r.int(0)?,
            from_tier: r.opt_text(1)?,
            to_tier: r.text(2)?,
            changed_at: r.int(3)?,
            reason: r.text(4)?,
        })
    })
    .collect()
}

/// Customers holding a tier, with when they got it and any manual lock.
pub fn tiered_accounts(c: &mut dyn Conn) -> Result<Vec<LoyaltyAccount>, StoreError> {
    c.query(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM loyalty_accounts WHERE tier IS NOT NULL ORDER BY customer_id"),
        &[],
    )?
    .iter()
    .map(account_of)
    .collect()
}

/// A coupon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coupon {
    /// Id.
    pub id: i64,
    /// Unique code.
    pub code: String,
    /// Holder.
    pub customer_id: i64,
    /// Catalogue entry.
    pub reward_id: String,
    /// redemption, stamp_card, birthday, referral, campaign.
    pub source: String,
    /// What issued it.
    pub source_ref: Option<String>,
    /// Issued at.
    #[serde(serialize_with = "time")]
    pub issued_at: i64,
    /// Valid until.
    #[serde(serialize_with = "time")]
    pub valid_until: i64,
    /// Uses allowed.
    pub max_uses: i64,
    /// Uses so far.
    pub uses: i64,
    /// The product it applies to (a personal offer's, chosen for the customer); `None`: as
    /// the reward says.
    pub sku: Option<String>,
}

const COUPON_COLUMNS: &str =
    "id, code, customer_id, reward_id, source, source_ref, issued_at, valid_until, max_uses, uses, sku";

fn coupon_of(r: &Row) -> Result<Coupon, StoreError> {
    Ok(Coupon {
        id: r.int(0)?,
        code: r.text(1)?,
        customer_id: r.int(2)?,
        reward_id: r.text(3)?,
        source: r.text(4)?,
        source_ref: r.opt_text(5)?,
        issued_at: r.int(6)?,
        valid_until: r.int(7)?,
        max_uses: r.int(8)?,
        uses: r.int(9)?,
        sku: r.opt_text(10)?,
    })
}

/// Issues a coupon (its id is ignored) and returns it with its id.
pub fn insert_coupon(c: &mut dyn Conn, k: &Coupon) -> Result<Coupon, StoreError> {
    let id = c
        .query_one(
            "INSERT INTO loyalty_coupons (code, customer_id, reward_id, source, source_ref, issued_at, valid_until, max_uses, uses, sku) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9) RETURNING id",
            params![
                k.code.as_str(),
                k.customer_id,
                k.reward_id.as_str(),
                k.source.as_str(),
                k.source_ref.as_deref(),
                k.issued_at,
                k.valid_until,
                k.max_uses,
                k.sku.as_deref()
            ],
        )?
        .int(0)?;
    Ok(Coupon { id, uses: 0, ..k.clone() })
}

/// What each of `customer_ids` bought at or after `since` (Unix seconds): one row per
/// customer, product and category, with the units and the last time bought.
pub fn bought_units(c: &mut dyn Conn, customer_ids: &[i64], since: i64) -> Result<Vec<BoughtUnits>, StoreError> {
    if customer_ids.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<Value> = customer_ids.iter().map(|&id| Value::from(id)).collect();
    let sql = format!(
        "SELECT o.customer_id, l.sku, l.category, SUM(l.quantity), MAX(o.placed_at) \
         FROM orders o JOIN order_lines l ON l.order_id = o.id \
         WHERE o.customer_id IN ({{list}}) AND o.placed_at >= {since} \
         GROUP BY o.customer_id, l.sku, l.category"
    );
    query_in(c, &sql, &values)?
        .iter()
        .map(|r| {
            Ok(BoughtUnits {
                customer_id: r.int(0)?,
                sku: r.text(1)?,
                category: r.opt_text(2)?,
                units: r.int(3)?,
                last_at: r.int(4)?,
            })
        })
        .collect()
}

/// Units of one product a customer bought (see [`bought_units`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoughtUnits {
    /// The customer.
    pub customer_id: i64,
    /// The product.
    pub sku: String,
    /// Its category on the lines.
    pub category: Option<String>,
    /// Units bought.
    pub units: i64,
    /// When it was last bought (Unix seconds).
    pub last_at: i64,
}

/// A coupon by code, locked for the transaction on PostgreSQL.
pub fn coupon_for_update(c: &mut dyn Conn, code: &str) -> Result<Option<Coupon>, StoreError> {
    let lock = if c.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
    c.query_opt(&format!("SELECT {COUPON_COLUMNS} FROM loyalty_coupons WHERE code = $1{lock}"), params![code])?
        .as_ref()
        .map(coupon_of)
        .transpose()
}

/// Records one use of a coupon under a unique reference; `false` if that reference was used.
pub fn use_coupon(c: &mut dyn Conn, coupon: &Coupon, use_ref: &str, at: i64) -> Result<bool, StoreError> {
    let n = c.execute(
        "INSERT INTO loyalty_coupon_uses (coupon_id, customer_id, use_ref, used_at) VALUES ($1, $2, $3, $4) ON CONFLICT (use_ref) DO NOTHING",
        params![coupon.id, coupon.customer_id, use_ref, at],
    )?;
    if n == 1 {
        c.execute("UPDATE loyalty_coupons SET uses = uses + 1 WHERE id = $1", params![coupon.id])?;
    }
    Ok(n == 1)
}

/// Whether a coupon use with this reference exists.
pub fn coupon_use_exists(c: &mut dyn Conn, use_ref: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt("SELECT 1 FROM loyalty_coupon_uses WHERE use_ref = $1", params![use_ref])?.is_some())
}

/// A customer's coupons, newest first.
pub fn coupons(c: &mut dyn Conn, customer_id: i64) -> Result<Vec<Coupon>, StoreError> {
    c.query(
        &format!("SELECT {COUPON_COLUMNS} FROM loyalty_coupons WHERE customer_id = $1 ORDER BY id DESC"),
        params![customer_id],
    )?
    .iter()
    .map(coupon_of)
    .collect()
}

/// Coupons issued for a source reference (a redemption's key, an order's stamp card).
pub fn coupons_for_source(c: &mut dyn Conn, source_ref: &str) -> Result<Vec<Coupon>, StoreError> {
    c.query(
        &format!("SELECT {COUPON_COLUMNS} FROM loyalty_coupons WHERE source_ref = $1 ORDER BY id"),
        params![source_ref],
    )?
    .iter()
    .map(coupon_of)
    .collect()
}

/// How many coupons of a reward a customer was issued by redemption.
pub fn redemptions_of(c: &mut dyn Conn, customer_id: i64, reward_id: &str) -> Result<i64, StoreError> {
    c.query_one(
        "SELECT COUNT(*) FROM loyalty_coupons WHERE customer_id = $1 AND reward_id = $2 AND source = 'redemption'",
        params![customer_id, reward_id],
    )?
    .int(0)
}

/// A paid membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    /// Id.
    pub id: i64,
    /// Member.
    pub customer_id: i64,
    /// Plan.
    pub plan_id: String,
    /// active, cancelled (runs to the end of the paid period) or expired.
    pub status: String,
    /// Started.
    #[serde(serialize_with = "time")]
    pub started_at: i64,
    /// End of the paid period.
    #[serde(serialize_with = "time")]
    pub period_end: i64,
    /// When cancelled.
    #[serde(serialize_with = "opt_time")]
    pub cancelled_at: Option<i64>,
}

const MEMBERSHIP_COLUMNS: &str = "id, customer_id, plan_id, status, started_at, period_end, cancelled_at";

fn membership_of(r: &Row) -> Result<Membership, StoreError> {
    Ok(Membership {
        id: r.int(0)?,
        customer_id: r.int(1)?,
        plan_id: r.text(2)?,
        status: r.text(3)?,
        started_at: r.int(4)?,
        period_end: r.int(5)?,
        cancelled_at: r.opt_int(6)?,
    })
}

/// The customer's current membership (active or cancelled, not expired).
pub fn current_membership(c: &mut dyn Conn, customer_id: i64) -> Result<Option<Membership>, StoreError> {
    c.query_opt(
        &format!("SELECT {MEMBERSHIP_COLUMNS} FROM loyalty_memberships WHERE customer_id = $1 AND status <> 'expired' ORDER BY id DESC LIMIT 1"),
        params![customer_id],
    )?
    .as_ref()
    .map(membership_of)
    .transpose()
}

/// Starts a membership; returns its id.
pub fn insert_membership(c: &mut dyn Conn, m: &Membership) -> Result<i64, StoreError> {
    c.query_one(
        "INSERT INTO loyalty_memberships (customer_id, plan_id, status, started_at, period_end, cancelled_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![m.customer_id, m.plan_id.as_str(), m.status.as_str(), m.started_at, m.period_end, m.cancelled_at, c.now()],
    )?
    .int(0)
}

/// Writes back a membership's status and period.
pub fn save_membership(c: &mut dyn Conn, m: &Membership) -> Result<(), StoreError> {
    c.execute(
        "UPDATE loyalty_memberships SET status = $2, period_end = $3, cancelled_at = $4, updated_at = $5 WHERE id = $1",
        params![m.id, m.status.as_str(), m.period_end, m.cancelled_at, c.now()],
    )?;
    Ok(())
}

/// Records a fee payment for a period.
pub fn insert_payment(
    c: &mut dyn Conn,
    m: &Membership,
    amount: i64,
    period_start: i64,
    period_end: i64,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO loyalty_membership_payments (membership_id, customer_id, plan_id, amount, paid_at, period_start, period_end) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![m.id, m.customer_id, m.plan_id.as_str(), amount, c.now(), period_start, period_end],
    )?;
    Ok(())
}

/// Marks memberships whose paid period ended at or before `at` expired; returns how many.
pub fn expire_memberships(c: &mut dyn Conn, at: i64) -> Result<u64, StoreError> {
    c.execute(
        "UPDATE loyalty_memberships SET status = 'expired', updated_at = $2 WHERE status <> 'expired' AND period_end <= $1",
        params![at, c.now()],
    )
}

/// Fee revenue per plan: (plan, payments, amount in 1/10,000, members now active).
pub fn membership_revenue(c: &mut dyn Conn) -> Result<Vec<(String, i64, i64, i64)>, StoreError> {
    c.query(
        "SELECT p.plan_id, COUNT(*), SUM(p.amount), \
           (SELECT COUNT(*) FROM loyalty_memberships m WHERE m.plan_id = p.plan_id AND m.status <> 'expired') \
         FROM loyalty_membership_payments p GROUP BY p.plan_id ORDER BY p.plan_id",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?, r.int(2)?, r.int(3)?)))
    .collect()
}

/// Customers born in `month` (and on `day`, if given): (id, birthday).
pub fn birthdays(c: &mut dyn Conn, month: u32, day: Option<u32>) -> Result<Vec<i64>, StoreError> {
    let mm = format!("{month:02}");
    let rows = match day {
        Some(d) => c.query(
            "SELECT id FROM customers WHERE birthday IS NOT NULL AND substr(birthday, 6, 2) = $1 AND substr(birthday, 9, 2) = $2 ORDER BY id",
            params![mm, format!("{d:02}")],
        )?,
        // A month alone (the join page asks only for it) is the `birthday_month` attribute.
        None => c.query(
            "SELECT id FROM customers WHERE birthday IS NOT NULL AND substr(birthday, 6, 2) = $1 \
             UNION SELECT a.customer_id FROM customer_attributes a JOIN customers k ON k.id = a.customer_id \
             WHERE a.key = 'birthday_month' AND a.number_value = $2 AND k.birthday IS NULL ORDER BY 1",
            params![mm, f64::from(month)],
        )?,
    };
    rows.iter().map(|r| r.int(0)).collect()
}

/// The customer who referred this one.
pub fn referrer_of(c: &mut dyn Conn, customer_id: i64) -> Result<Option<i64>, StoreError> {
    Ok(c.query_opt("SELECT referred_by FROM customers WHERE id = $1", params![customer_id])?
        .map(|r| r.opt_int(0))
        .transpose()?
        .flatten())
}

/// How many customers this one referred.
pub fn referral_count(c: &mut dyn Conn, customer_id: i64) -> Result<i64, StoreError> {
    c.query_one("SELECT COUNT(*) FROM customers WHERE referred_by = $1", params![customer_id])?.int(0)
}

/// Attributes a customer to a referrer unless they already have one; `true` if set now.
pub fn set_referrer(c: &mut dyn Conn, customer_id: i64, referrer_id: i64) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE customers SET referred_by = $2, acquisition_source = COALESCE(acquisition_source, 'referral') WHERE id = $1 AND referred_by IS NULL",
        params![customer_id, referrer_id],
    )? == 1)
}

/// Queues a message for other parts (campaigns) to pick up, once per `key`: a job of kind
/// `topic` on the [`jobs`](super::jobs) queue.
pub fn enqueue(c: &mut dyn Conn, topic: &str, key: &str, payload: &str) -> Result<(), StoreError> {
    let now = c.now();
    let job = super::jobs::NewJob {
        kind: topic,
        idempotency_key: key,
        payload,
        run_after: now,
        max_attempts: super::jobs::DEFAULT_ATTEMPTS,
    };
    super::jobs::enqueue(c, &job, now)?;
    Ok(())
}

/// Orders in a time window, with their spend and points: (customers, orders, spend in
/// 1/10,000, points earned) — the raw numbers of a promotion report.
pub fn window_totals(c: &mut dyn Conn, from: i64, to: i64) -> Result<(i64, i64, i64, i64), StoreError> {
    let r = c.query_one(
        "SELECT COUNT(DISTINCT o.customer_id), COUNT(*), COALESCE(SUM(o.total), 0), COALESCE(SUM(e.points - e.reversed_points), 0) \
         FROM orders o LEFT JOIN loyalty_order_effects e ON e.order_id = o.id WHERE o.placed_at >= $1 AND o.placed_at < $2",
        params![from, to],
    )?;
    Ok((r.int(0)?, r.int(1)?, r.int(2)?, r.int(3)?))
}

/// Customers who got a promotion's points, and the points: (customers, points).
pub fn promotion_participation(c: &mut dyn Conn, promotion_id: &str) -> Result<(i64, i64), StoreError> {
    let r = c.query_one(
        "SELECT COUNT(DISTINCT customer_id), COALESCE(SUM(points), 0) FROM loyalty_ledger \
         WHERE source = 'promotion' AND idempotency_key LIKE $1",
        params![format!("%:promotion:{promotion_id}")],
    )?;
    Ok((r.int(0)?, r.int(1)?))
}

/// The points a promotion gave, one row per ledger entry: (when, customer, points), oldest
/// first. A recurring promotion's report cuts them into its occurrences.
pub fn promotion_entries(c: &mut dyn Conn, promotion_id: &str) -> Result<Vec<(i64, i64, i64)>, StoreError> {
    c.query(
        "SELECT occurred_at, customer_id, points FROM loyalty_ledger \
         WHERE source = 'promotion' AND idempotency_key LIKE $1 ORDER BY occurred_at, id",
        params![format!("%:promotion:{promotion_id}")],
    )?
    .iter()
    .map(|r| Ok((r.int("occurred_at")?, r.int("customer_id")?, r.int("points")?)))
    .collect()
}

/// When the first stored order was placed (Unix seconds), if there is one.
pub fn first_order_at(c: &mut dyn Conn) -> Result<Option<i64>, StoreError> {
    c.query_one("SELECT MIN(placed_at) AS first FROM orders", &[])?.opt_int("first")
}

/// Rewards a stamp card issued and how many of them were used: (issued, used).
pub fn stamp_card_rewards(c: &mut dyn Conn, card_id: &str) -> Result<(i64, i64), StoreError> {
    let r = c.query_one(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN uses > 0 THEN 1 ELSE 0 END), 0) FROM loyalty_coupons \
         WHERE source = 'stamp_card' AND source_ref LIKE $1",
        params![format!("%:card:{card_id}")],
    )?;
    Ok((r.int(0)?, r.int(1)?))
}

/// Every customer's stamp cards (JSON), for counting card holders.
pub fn all_cards(c: &mut dyn Conn) -> Result<Vec<String>, StoreError> {
    c.query("SELECT cards FROM loyalty_accounts WHERE cards <> '{}'", &[])?.iter().map(|r| r.text(0)).collect()
}

// Bulk forms, for imports: a batch of orders reads the state of its customers in a few
// queries and writes what it earned in multi-row inserts.

fn id_values(ids: &[i64]) -> Vec<Value> {
    ids.iter().map(|&id| Value::Int(id)).collect()
}

/// Stored accounts, and the (customer, referral code) pairs that have none.
type StoredAndMissing<'a> = (Vec<LoyaltyAccount>, Vec<&'a (i64, String)>);

/// The stored loyalty states of these customers (`customers` pairs id and referral code),
/// read with `lock` appended to the query, and the customers who have none.
fn stored_accounts<'a>(
    c: &mut dyn Conn,
    customers: &'a [(i64, String)],
    lock: &str,
) -> Result<StoredAndMissing<'a>, StoreError> {
    let ids: Vec<i64> = customers.iter().map(|(id, _)| *id).collect();
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM loyalty_accounts WHERE customer_id IN ({{list}}){lock}");
    let found: Vec<LoyaltyAccount> =
        query_in(c, &sql, &id_values(&ids))?.iter().map(account_of).collect::<Result<_, _>>()?;
    let have: HashSet<i64> = found.iter().map(|a| a.customer_id).collect();
    let missing = customers.iter().filter(|(id, _)| !have.contains(id)).collect();
    Ok((found, missing))
}

/// The loyalty states of these customers, each created with its referral code where missing
/// (`customers` pairs id and code), and locked for the rest of the transaction: the bulk form
/// of [`account_for_update`], so that an import's batch and a concurrent redemption see each
/// other's spending. The order of the result is not that of `customers`.
pub fn accounts_for_update(c: &mut dyn Conn, customers: &[(i64, String)]) -> Result<Vec<LoyaltyAccount>, StoreError> {
    let lock = if c.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
    let (mut found, missing) = stored_accounts(c, customers, lock)?;
    if missing.is_empty() {
        return Ok(found);
    }
    // Created here, unless another transaction has just created one: then that one is read.
    let t = c.now();
    let rows = Rows::collect(missing.iter().map(|(id, code)| [(*id).into(), code.into(), t.into()]));
    c.insert_rows_then(
        "loyalty_accounts",
        &["customer_id", "referral_code", "updated_at"],
        &rows,
        " ON CONFLICT (customer_id) DO NOTHING",
    )?;
    let created: Vec<(i64, String)> = missing.into_iter().cloned().collect();
    found.extend(stored_accounts(c, &created, lock)?.0);
    Ok(found)
}

/// The loyalty states of these customers for a caller that writes every one of them back
/// with [`save_accounts`] before its transaction ends (an import's batch): as
/// [`accounts_for_update`], except that on SQLite a missing account is only made in memory,
/// empty, and created by that write. SQLite's one writer holds the database until the
/// transaction ends, so no other can create it meanwhile; on PostgreSQL it is created and
/// locked at once.
pub fn accounts_to_write_back(
    c: &mut dyn Conn,
    customers: &[(i64, String)],
) -> Result<Vec<LoyaltyAccount>, StoreError> {
    if c.backend() == Backend::Postgres {
        return accounts_for_update(c, customers);
    }
    let (mut found, missing) = stored_accounts(c, customers, "")?;
    found.extend(missing.into_iter().map(|(id, code)| LoyaltyAccount::empty(*id, code.clone())));
    Ok(found)
}

/// Writes back loyalty states (creating any that are missing).
pub fn save_accounts(c: &mut dyn Conn, accounts: &[LoyaltyAccount]) -> Result<(), StoreError> {
    let t = c.now();
    let rows = Rows::collect(accounts.iter().map(|a| {
        [
            a.customer_id.into(),
            a.balance.into(),
            a.tier.as_deref().into(),
            a.tier_since.into(),
            a.tier_locked_until.into(),
            a.referral_code.as_str().into(),
            a.cards.as_str().into(),
            t.into(),
        ]
    }));
    c.upsert_rows(
        "loyalty_accounts",
        "customer_id",
        &["customer_id", "balance", "tier", "tier_since", "tier_locked_until", "referral_code", "cards", "updated_at"],
        &rows,
    )
}

/// What a stored order still counts for, net of returns: the basis of tier progress and of
/// the cap per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarnedBasis {
    /// Customer.
    pub customer_id: i64,
    /// When the order was placed.
    pub placed_at: i64,
    /// Its business day.
    pub placed_day: i64,
    /// Points it earned, less those taken back.
    pub points: i64,
    /// What it added to the tier basis, less what was taken back.
    pub qualifying: i64,
}

/// The earned basis of every evaluated order of these customers.
pub fn earned_bases(c: &mut dyn Conn, customer_ids: &[i64]) -> Result<Vec<EarnedBasis>, StoreError> {
    query_in(
        c,
        "SELECT customer_id, placed_at, placed_day, points - reversed_points, qualifying - reversed_qualifying \
         FROM loyalty_order_effects WHERE customer_id IN ({list})",
        &id_values(customer_ids),
    )?
    .iter()
    .map(|r| {
        Ok(EarnedBasis {
            customer_id: r.int(0)?,
            placed_at: r.int(1)?,
            placed_day: r.int(2)?,
            points: r.int(3)?,
            qualifying: r.int(4)?,
        })
    })
    .collect()
}

/// The current membership (see [`current_membership`]) of those of `customer_ids` that have one.
pub fn current_memberships(c: &mut dyn Conn, customer_ids: &[i64]) -> Result<Vec<Membership>, StoreError> {
    let all: Vec<Membership> = query_in(
        c,
        &format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM loyalty_memberships WHERE customer_id IN ({{list}}) AND status <> 'expired'"
        ),
        &id_values(customer_ids),
    )?
    .iter()
    .map(membership_of)
    .collect::<Result<_, _>>()?;
    // The latest per customer, as `current_membership` picks it.
    let mut latest: std::collections::HashMap<i64, Membership> = std::collections::HashMap::new();
    for m in all {
        if latest.get(&m.customer_id).is_none_or(|l| l.id < m.id) {
            latest.insert(m.customer_id, m);
        }
    }
    Ok(latest.into_values().collect())
}

/// (customer, referrer) for those of `customer_ids` who were referred.
pub fn referrers_of(c: &mut dyn Conn, customer_ids: &[i64]) -> Result<Vec<(i64, i64)>, StoreError> {
    query_in(
        c,
        "SELECT id, referred_by FROM customers WHERE id IN ({list}) AND referred_by IS NOT NULL",
        &id_values(customer_ids),
    )?
    .iter()
    .map(|r| Ok((r.int(0)?, r.int(1)?)))
    .collect()
}

/// Appends entries whose idempotency keys are known to be unused (the entries of orders this
/// transaction created); returns their ids, in order. A key in use fails the statement.
pub fn append_new(c: &mut dyn Conn, entries: &[NewEntry<'_>]) -> Result<Vec<i64>, StoreError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let ids = c.reserve_ids("loyalty_ledger", entries.len())?;
    let t = c.now();
    let rows = Rows::collect(entries.iter().zip(&ids).map(|(e, &id)| {
        [
            id.into(),
            e.customer_id.into(),
            e.kind.into(),
            e.points.into(),
            e.source.into(),
            e.source_ref.into(),
            e.program_version.into(),
            e.idempotency_key.into(),
            e.reason.into(),
            e.detail.into(),
            e.occurred_at.into(),
            e.available_at.into(),
            e.expires_at.into(),
            t.into(),
        ]
    }));
    let columns: Vec<&str> = ENTRY_COLUMNS.split(", ").chain(["created_at"]).collect();
    c.insert_rows("loyalty_ledger", &columns, &rows)?;
    Ok(ids)
}

/// Stores lots.
pub fn insert_lots(c: &mut dyn Conn, lots: &[Lot]) -> Result<(), StoreError> {
    let rows = Rows::collect(lots.iter().map(|l| {
        [l.ledger_id.into(), l.customer_id.into(), l.remaining.into(), l.available_at.into(), l.expires_at.into()]
    }));
    c.insert_rows("loyalty_lots", &["ledger_id", "customer_id", "remaining", "available_at", "expires_at"], &rows)
}

/// Stores what orders did.
pub fn insert_effects(c: &mut dyn Conn, effects: &[OrderEffect]) -> Result<(), StoreError> {
    let rows = Rows::collect(effects.iter().map(|e| {
        [
            e.order_id.into(),
            e.customer_id.into(),
            e.program_version.into(),
            e.placed_at.into(),
            e.placed_day.into(),
            e.points.into(),
            e.qualifying.into(),
            e.reversed_points.into(),
            e.reversed_qualifying.into(),
            e.stamps.as_str().into(),
            i64::from(e.stamps_undone).into(),
            e.detail.as_str().into(),
        ]
    }));
    let columns: Vec<&str> = EFFECT_COLUMNS.split(", ").collect();
    c.insert_rows("loyalty_order_effects", &columns, &rows)
}

/// Records tier changes.
pub fn insert_tier_changes(c: &mut dyn Conn, changes: &[TierChangeRecord]) -> Result<(), StoreError> {
    let rows = Rows::collect(changes.iter().map(|t| {
        [
            t.customer_id.into(),
            t.from_tier.as_deref().into(),
            t.to_tier.as_str().into(),
            t.changed_at.into(),
            t.reason.as_str().into(),
        ]
    }));
    c.insert_rows("loyalty_tier_history", &["customer_id", "from_tier", "to_tier", "changed_at", "reason"], &rows)
}

/// Issues coupons (their ids are ignored).
pub fn insert_coupons(c: &mut dyn Conn, coupons: &[Coupon]) -> Result<(), StoreError> {
    let rows = Rows::collect(coupons.iter().map(|k| {
        [
            k.code.as_str().into(),
            k.customer_id.into(),
            k.reward_id.as_str().into(),
            k.source.as_str().into(),
            k.source_ref.as_deref().into(),
            k.issued_at.into(),
            k.valid_until.into(),
            k.max_uses.into(),
            0i64.into(),
        ]
    }));
    c.insert_rows(
        "loyalty_coupons",
        &["code", "customer_id", "reward_id", "source", "source_ref", "issued_at", "valid_until", "max_uses", "uses"],
        &rows,
    )
}
