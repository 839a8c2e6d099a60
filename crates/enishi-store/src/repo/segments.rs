//! Saved segments, their last members and snapshots, and static lists. The rule is stored in
//! its JSON form; reading, checking and evaluating it is the enishi-segments crate's business.

use crate::db::{Conn, Param, Row, Rows, Value};
use crate::repo::IN_CHUNK;
use crate::{params, StoreError};
use std::collections::BTreeSet;

/// A saved segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Enishi's id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The rule, JSON.
    pub rule: String,
    /// When it was created and last changed (Unix seconds).
    pub created_at: i64,
    /// When it was last changed.
    pub updated_at: i64,
    /// Members at the last evaluation, if it was evaluated.
    pub last_count: Option<i64>,
    /// When it was last evaluated.
    pub last_evaluated_at: Option<i64>,
}

const SEGMENT_COLUMNS: &str = "id, name, description, rule, created_at, updated_at, last_count, last_evaluated_at";

fn segment(r: &Row) -> Result<Segment, StoreError> {
    Ok(Segment {
        id: r.int("id")?,
        name: r.text("name")?,
        description: r.text("description")?,
        rule: r.text("rule")?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
        last_count: r.opt_int("last_count")?,
        last_evaluated_at: r.opt_int("last_evaluated_at")?,
    })
}

/// Saves a new segment; `None` when the name is taken.
pub fn create(c: &mut dyn Conn, name: &str, description: &str, rule: &str) -> Result<Option<i64>, StoreError> {
    let now = c.now();
    c.query_opt(
        "INSERT INTO segments (name, description, rule, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (name) DO NOTHING RETURNING id",
        params![name, description, rule, now],
    )?
    .map(|r| r.int("id"))
    .transpose()
}

/// Replaces a segment's description and rule; false when there is no such segment.
pub fn update(c: &mut dyn Conn, id: i64, description: &str, rule: &str) -> Result<bool, StoreError> {
    let now = c.now();
    Ok(c.execute(
        "UPDATE segments SET description = $2, rule = $3, updated_at = $4 WHERE id = $1",
        params![id, description, rule, now],
    )? == 1)
}

/// The segment named `name`.
pub fn by_name(c: &mut dyn Conn, name: &str) -> Result<Option<Segment>, StoreError> {
    c.query_opt(&format!("SELECT {SEGMENT_COLUMNS} FROM segments WHERE name = $1"), params![name])?
        .map(|r| segment(&r))
        .transpose()
}

/// Every segment, by name.
pub fn list(c: &mut dyn Conn) -> Result<Vec<Segment>, StoreError> {
    c.query(&format!("SELECT {SEGMENT_COLUMNS} FROM segments ORDER BY name"), &[])?.iter().map(segment).collect()
}

/// Deletes a segment (its snapshots stay, without it); false when there was none.
pub fn delete(c: &mut dyn Conn, id: i64) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM segments WHERE id = $1", params![id])? == 1)
}

/// Who joined and who left a segment between two evaluations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Members now who were not before.
    pub joined: Vec<i64>,
    /// Members before who are not now.
    pub left: Vec<i64>,
}

/// Records `members` as the segment's members now, and says who joined and who left since
/// the last evaluation (everyone joins at the first).
pub fn record_evaluation(c: &mut dyn Conn, segment_id: i64, day: i64, members: &[i64]) -> Result<Change, StoreError> {
    let change = change_since_last(c, segment_id, members)?;
    for part in change.left.chunks(IN_CHUNK) {
        let list = crate::db::placeholders(2, part.len());
        let mut values = vec![Value::Int(segment_id)];
        values.extend(part.iter().map(|id| Value::Int(*id)));
        c.execute(&format!("DELETE FROM segment_members WHERE segment_id = $1 AND customer_id IN ({list})"), &values)?;
    }
    let rows = Rows::collect(change.joined.iter().map(|id| [Param::from(segment_id), Param::from(*id)]));
    c.insert_rows("segment_members", &["segment_id", "customer_id"], &rows)?;
    let at = c.now();
    c.execute(
        "UPDATE segments SET last_count = $2, last_evaluated_at = $3 WHERE id = $1",
        params![segment_id, members.len() as i64, at],
    )?;
    c.execute(
        "INSERT INTO segment_counts (segment_id, day, members, joined, left_count, evaluated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (segment_id, day) DO UPDATE SET members = excluded.members, \
         joined = segment_counts.joined + excluded.joined, left_count = segment_counts.left_count + excluded.left_count, \
         evaluated_at = excluded.evaluated_at",
        params![
            segment_id,
            day,
            members.len() as i64,
            change.joined.len() as i64,
            change.left.len() as i64,
            at
        ],
    )?;
    Ok(change)
}

/// A saved segment's size on one business day, from that day's evaluations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    /// The business day (days since 1970-01-01).
    pub day: i64,
    /// Members at the day's last evaluation.
    pub members: i64,
    /// Customers who joined, over the day's evaluations.
    pub joined: i64,
    /// Customers who left, over the day's evaluations.
    pub left: i64,
}

/// The daily sizes of segment `segment_id` from business day `since` on, oldest first.
pub fn counts_since(c: &mut dyn Conn, segment_id: i64, since: i64) -> Result<Vec<DayCount>, StoreError> {
    c.query(
        "SELECT day, members, joined, left_count FROM segment_counts WHERE segment_id = $1 AND day >= $2 ORDER BY day",
        params![segment_id, since],
    )?
    .iter()
    .map(|r| {
        Ok(DayCount {
            day: r.int("day")?,
            members: r.int("members")?,
            joined: r.int("joined")?,
            left: r.int("left_count")?,
        })
    })
    .collect()
}

/// Who would join and who would leave segment `segment_id` if `members` were recorded now,
/// without recording anything.
fn change_since_last(c: &mut dyn Conn, segment_id: i64, members: &[i64]) -> Result<Change, StoreError> {
    let before: BTreeSet<i64> = c
        .query("SELECT customer_id FROM segment_members WHERE segment_id = $1", params![segment_id])?
        .iter()
        .map(|r| r.int("customer_id"))
        .collect::<Result<_, _>>()?;
    let now: BTreeSet<i64> = members.iter().copied().collect();
    Ok(Change { joined: now.difference(&before).copied().collect(), left: before.difference(&now).copied().collect() })
}

/// A snapshot of an audience: who was in it when it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Enishi's id.
    pub id: i64,
    /// The segment it was taken of, while that segment exists.
    pub segment_id: Option<i64>,
    /// What it was taken for ("coffee DM v2").
    pub label: String,
    /// The rule evaluated, JSON.
    pub rule: String,
    /// The as-of day of the evaluation.
    pub as_of_day: i64,
    /// Members.
    pub member_count: i64,
    /// When it was taken (Unix seconds).
    pub taken_at: i64,
}

/// Keeps `members` as a snapshot of `rule` (of `segment_id`, if saved).
pub fn snapshot(
    c: &mut dyn Conn,
    segment_id: Option<i64>,
    label: &str,
    rule: &str,
    as_of_day: i64,
    members: &[i64],
) -> Result<Snapshot, StoreError> {
    let taken_at = c.now();
    let count = members.len() as i64;
    let id = c
        .query_one(
            "INSERT INTO segment_snapshots (segment_id, label, rule, as_of_day, member_count, taken_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            params![segment_id, label, rule, as_of_day, count, taken_at],
        )?
        .int("id")?;
    let rows = Rows::collect(members.iter().map(|m| [Param::from(id), Param::from(*m)]));
    c.insert_rows("segment_snapshot_members", &["snapshot_id", "customer_id"], &rows)?;
    Ok(Snapshot {
        id,
        segment_id,
        label: label.to_string(),
        rule: rule.to_string(),
        as_of_day,
        member_count: count,
        taken_at,
    })
}

/// The members of snapshot `id`, ascending; `None` when there is no such snapshot.
pub fn snapshot_members(c: &mut dyn Conn, id: i64) -> Result<Option<Vec<i64>>, StoreError> {
    if c.query_opt("SELECT id FROM segment_snapshots WHERE id = $1", params![id])?.is_none() {
        return Ok(None);
    }
    let rows = c.query(
        "SELECT customer_id FROM segment_snapshot_members WHERE snapshot_id = $1 ORDER BY customer_id",
        params![id],
    )?;
    Ok(Some(rows.iter().map(|r| r.int("customer_id")).collect::<Result<_, _>>()?))
}

/// A static list of customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticList {
    /// Enishi's id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Members now.
    pub members: i64,
}

/// Creates an empty list; `None` when the name is taken.
pub fn create_list(c: &mut dyn Conn, name: &str, description: &str) -> Result<Option<i64>, StoreError> {
    let now = c.now();
    c.query_opt(
        "INSERT INTO static_lists (name, description, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (name) DO NOTHING RETURNING id",
        params![name, description, now],
    )?
    .map(|r| r.int("id"))
    .transpose()
}

const LIST_SELECT: &str = "SELECT l.id, l.name, l.description, \
    (SELECT COUNT(*) FROM static_list_members m WHERE m.list_id = l.id) AS members FROM static_lists l";

fn static_list(r: &Row) -> Result<StaticList, StoreError> {
    Ok(StaticList {
        id: r.int("id")?,
        name: r.text("name")?,
        description: r.text("description")?,
        members: r.int("members")?,
    })
}

/// The list named `name`.
pub fn list_by_name(c: &mut dyn Conn, name: &str) -> Result<Option<StaticList>, StoreError> {
    c.query_opt(&format!("{LIST_SELECT} WHERE l.name = $1"), params![name])?.map(|r| static_list(&r)).transpose()
}

/// Every list, by name.
pub fn lists(c: &mut dyn Conn) -> Result<Vec<StaticList>, StoreError> {
    c.query(&format!("{LIST_SELECT} ORDER BY l.name"), &[])?.iter().map(static_list).collect()
}

/// Adds customers to a list (those already on it stay as they are); returns how many were new.
pub fn add_to_list(c: &mut dyn Conn, list_id: i64, customer_ids: &[i64]) -> Result<u64, StoreError> {
    let now = c.now();
    let mut added = 0;
    for id in customer_ids.iter().collect::<BTreeSet<_>>() {
        added += c.execute(
            "INSERT INTO static_list_members (list_id, customer_id, added_at) VALUES ($1, $2, $3) \
             ON CONFLICT (list_id, customer_id) DO NOTHING",
            params![list_id, *id, now],
        )?;
    }
    c.execute("UPDATE static_lists SET updated_at = $2 WHERE id = $1", params![list_id, now])?;
    Ok(added)
}

/// Removes customers from a list; returns how many were on it.
pub fn remove_from_list(c: &mut dyn Conn, list_id: i64, customer_ids: &[i64]) -> Result<u64, StoreError> {
    let mut removed = 0;
    for id in customer_ids.iter().collect::<BTreeSet<_>>() {
        removed += c.execute(
            "DELETE FROM static_list_members WHERE list_id = $1 AND customer_id = $2",
            params![list_id, *id],
        )?;
    }
    let now = c.now();
    c.execute("UPDATE static_lists SET updated_at = $2 WHERE id = $1", params![list_id, now])?;
    Ok(removed)
}

/// Deletes a list; false when there was none.
pub fn delete_list(c: &mut dyn Conn, id: i64) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM static_lists WHERE id = $1", params![id])? == 1)
}

/// What a mailing needs of one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Enishi's id.
    pub id: i64,
    /// The shop's id.
    pub external_id: String,
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Region or prefecture.
    pub region: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Street address.
    pub address_line1: Option<String>,
    /// Building, floor, room.
    pub address_line2: Option<String>,
    /// Whether the customer opted in to postal mail.
    pub postal_consent: bool,
}

/// The contacts of customers `ids`, in id order.
pub fn contacts(c: &mut dyn Conn, ids: &[i64]) -> Result<Vec<Contact>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<Value> = ids.iter().map(|id| Value::Int(*id)).collect();
    let rows = crate::repo::query_in(
        c,
        "SELECT c.id, c.external_id, c.name, c.email, c.phone, c.postal_code, c.region, c.city, c.address_line1, \
         c.address_line2, (SELECT COUNT(*) FROM customer_consents k WHERE k.customer_id = c.id AND k.channel = 'postal' \
         AND k.status = 'opted_in') AS postal FROM customers c WHERE c.id IN ({list})",
        &keys,
    )?;
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(Contact {
                id: r.int("id")?,
                external_id: r.text("external_id")?,
                name: r.opt_text("name")?,
                email: r.opt_text("email")?,
                phone: r.opt_text("phone")?,
                postal_code: r.opt_text("postal_code")?,
                region: r.opt_text("region")?,
                city: r.opt_text("city")?,
                address_line1: r.opt_text("address_line1")?,
                address_line2: r.opt_text("address_line2")?,
                postal_consent: r.int("postal")? > 0,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    out.sort_by_key(|x| x.id);
    out.dedup_by_key(|x| x.id);
    Ok(out)
}

/// Customer ids by external id or email (case-insensitive), for each key in order; `None`
/// for a key that names no customer.
pub fn resolve_keys(c: &mut dyn Conn, keys: &[String]) -> Result<Vec<Option<i64>>, StoreError> {
    keys.iter()
        .map(|k| {
            let by_id = c.query_opt("SELECT id FROM customers WHERE external_id = $1", params![k.as_str()])?;
            let row = match by_id {
                Some(r) => Some(r),
                None if k.contains('@') => c.query_opt(
                    "SELECT id FROM customers WHERE lower(email) = $1 ORDER BY id LIMIT 1",
                    params![k.to_lowercase()],
                )?,
                None => None,
            };
            row.map(|r| r.int("id")).transpose()
        })
        .collect()
}

/// Calls `f` with every (customer, SKU) bought, once each, customer by customer.
pub fn for_each_customer_sku(c: &mut dyn Conn, f: &mut dyn FnMut(i64, &str)) -> Result<(), StoreError> {
    c.query_each("SELECT DISTINCT customer_id, sku FROM order_lines ORDER BY customer_id", &[], &mut |r| {
        f(r.int("customer_id")?, &r.text("sku")?);
        Ok(())
    })
}
