//! Customers: profile, consent, running stats; lookup, search and bulk resolution.

use crate::db::{Conn, Row, Rows, Value};
use crate::model::{
    instant, Consent, ConsentChange, Customer, CustomerStats, CustomerUpsert, JsonMap, Page, PostalAddress, Upserted,
};
use crate::repo::query_in;
use crate::{params, StoreError};
use chrono::NaiveDate;
use enishi_core::{Amount, Channel, ConsentChannel};
use std::collections::HashMap;

const SELECT: &str =
    "SELECT c.id, c.external_id, c.name, c.furigana, c.email, c.phone, c.address_line1, c.address_line2, c.city, \
    c.region, c.postal_code, c.country, c.birthday, c.locale, c.account_id, \
    c.acquisition_source, c.referred_by, c.first_seen_at, c.created_at, c.updated_at, \
    s.first_order_at, s.last_order_at, s.order_count, s.purchase_days, s.total_spend, s.returned_amount \
    FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id";

fn decode(r: &Row) -> Result<Customer, StoreError> {
    Ok(Customer {
        id: r.int("id")?,
        external_id: r.text("external_id")?,
        name: r.opt_text("name")?,
        furigana: r.opt_text("furigana")?,
        email: r.opt_text("email")?,
        phone: r.opt_text("phone")?,
        address: PostalAddress {
            line1: r.opt_text("address_line1")?,
            line2: r.opt_text("address_line2")?,
            city: r.opt_text("city")?,
            region: r.opt_text("region")?,
            postal_code: r.opt_text("postal_code")?,
            country: r.opt_text("country")?,
        },
        birthday: r.opt_text("birthday")?.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
        locale: r.opt_text("locale")?,
        channels: Vec::new(),
        tags: Vec::new(),
        attributes: JsonMap::new(),
        account_id: r.opt_int("account_id")?,
        acquisition_source: r.opt_text("acquisition_source")?,
        referred_by: r.opt_int("referred_by")?,
        first_seen_at: instant(r.int("first_seen_at")?),
        created_at: instant(r.int("created_at")?),
        updated_at: instant(r.int("updated_at")?),
        consents: Vec::new(),
        stats: CustomerStats {
            first_order_at: r.opt_int("first_order_at")?.map(instant),
            last_order_at: r.opt_int("last_order_at")?.map(instant),
            order_count: r.opt_int("order_count")?.unwrap_or(0),
            purchase_days: r.opt_int("purchase_days")?.unwrap_or(0),
            total_spend: Amount::from_scaled(r.opt_int("total_spend")?.unwrap_or(0)),
            returned_amount: Amount::from_scaled(r.opt_int("returned_amount")?.unwrap_or(0)),
        },
    })
}

/// Loads the consents, tags, sales channels and attributes of `customers` into them: one
/// query per kind for the lot.
fn attach_details(c: &mut dyn Conn, customers: &mut [Customer]) -> Result<(), StoreError> {
    if customers.is_empty() {
        return Ok(());
    }
    let ids: Vec<Value> = customers.iter().map(|c| Value::Int(c.id)).collect();
    let at: HashMap<i64, usize> = customers.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let of = |r: &Row| -> Result<usize, StoreError> {
        let id = r.int("customer_id")?;
        at.get(&id).copied().ok_or_else(|| StoreError::Decode(format!("customer {id} was not asked for")))
    };
    let sql = "SELECT customer_id, channel, status, changed_at, source FROM customer_consents \
               WHERE customer_id IN ({list}) ORDER BY customer_id, channel";
    for r in query_in(c, sql, &ids)? {
        let (Ok(channel), Ok(status)) = (r.text("channel")?.parse(), r.text("status")?.parse()) else {
            return Err(StoreError::Decode("unknown consent channel or status".into()));
        };
        let consent = Consent { channel, status, changed_at: instant(r.int("changed_at")?), source: r.text("source")? };
        customers[of(&r)?].consents.push(consent);
    }
    let sql = "SELECT customer_id, tag FROM customer_tags WHERE customer_id IN ({list}) ORDER BY customer_id, position";
    for r in query_in(c, sql, &ids)? {
        customers[of(&r)?].tags.push(r.text("tag")?);
    }
    let sql = "SELECT customer_id, channel FROM customer_channels WHERE customer_id IN ({list}) \
               ORDER BY customer_id, position";
    for r in query_in(c, sql, &ids)? {
        let channel = r.text("channel")?.parse().map_err(|_| StoreError::Decode("unknown sales channel".into()))?;
        customers[of(&r)?].channels.push(channel);
    }
    let sql = "SELECT customer_id, key, value FROM customer_attributes WHERE customer_id IN ({list}) \
               ORDER BY customer_id, key";
    for r in query_in(c, sql, &ids)? {
        let value = serde_json::from_str(&r.text("value")?)
            .map_err(|e| StoreError::Decode(format!("attribute {}: {e}", r.text("key").unwrap_or_default())))?;
        customers[of(&r)?].attributes.insert(r.text("key")?, value);
    }
    for cust in customers.iter_mut() {
        cust.consents.sort_by_key(|x| x.channel);
    }
    Ok(())
}

fn fetch(c: &mut dyn Conn, filter: &str, p: &[Value]) -> Result<Vec<Customer>, StoreError> {
    let mut list: Vec<Customer> =
        c.query(&format!("{SELECT} {filter}"), p)?.iter().map(decode).collect::<Result<_, _>>()?;
    attach_details(c, &mut list)?;
    Ok(list)
}

/// One customer by Enishi id.
pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Customer>, StoreError> {
    Ok(fetch(c, "WHERE c.id = $1", params![id])?.pop())
}

/// Whether a customer with this Enishi id exists (without loading it).
pub fn exists(c: &mut dyn Conn, id: i64) -> Result<bool, StoreError> {
    Ok(c.query_opt("SELECT 1 FROM customers WHERE id = $1", params![id])?.is_some())
}

/// One customer by the shop's id; the id of a record merged into another one finds the
/// customer kept.
pub fn get_by_external_id(c: &mut dyn Conn, external_id: &str) -> Result<Option<Customer>, StoreError> {
    match id_by_external_id(c, external_id)? {
        Some(id) => get(c, id),
        None => Ok(None),
    }
}

/// What to look for in [`search`].
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    /// Matches name (substring), furigana (substring, in hiragana or katakana), email
    /// (prefix), phone (prefix, in the national or the +81 form), external id (exact) or
    /// referral code (exact); case-insensitive, full-width and half-width forms alike
    /// ([`search_term`]).
    pub text: Option<String>,
    /// Exact external id.
    pub external_id: Option<String>,
    /// Exact email (case-insensitive).
    pub email: Option<String>,
    /// Exact phone (normalised; a Japanese number in E.164 also finds it stored in the
    /// national form, as numbers were before).
    pub phone: Option<String>,
    /// Contacts of this account.
    pub account_id: Option<i64>,
    /// Customers in this lifecycle stage (as last scored).
    pub lifecycle_stage: Option<String>,
    /// Customers in this RFM segment (as last scored).
    pub rfm_segment: Option<String>,
    /// Customers of this loyal class (`loyal`, `semi_loyal`, `other`; as last scored).
    pub loyal_class: Option<String>,
    /// Customers with this tag.
    pub tag: Option<String>,
    /// Customers who use this sales channel.
    pub channel: Option<Channel>,
    /// Only customers this condition on the customer `c` selects (a compiled segment rule).
    pub matching: Option<sea_query::Expr>,
    /// Only customers with an Enishi id above this (the page cursor).
    pub after: i64,
    /// Page size.
    pub limit: i64,
}

/// `LIKE` pattern text with its wildcards escaped (by `\`).
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// A search term as typed, made comparable: NFKC (full-width letters and digits, and
/// half-width katakana, become their usual forms; an ideographic space a space), trimmed.
pub fn search_term(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().collect::<String>().trim().to_string()
}

/// `text` without spaces, in hiragana and in katakana, when it holds kana: `ヤマダ` gives
/// (`やまだ`, `ヤマダ`).
fn kana_forms(text: &str) -> Option<(String, String)> {
    let kana = |c: char| matches!(c, '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30F6}');
    if !text.chars().any(kana) {
        return None;
    }
    let bare = text.chars().filter(|c| !c.is_whitespace());
    let shift = |c: char, from: std::ops::RangeInclusive<char>, up: bool| {
        if from.contains(&c) {
            char::from_u32(if up { c as u32 + 0x60 } else { c as u32 - 0x60 }).unwrap_or(c)
        } else {
            c
        }
    };
    let hiragana = bare.clone().map(|c| shift(c, '\u{30A1}'..='\u{30F6}', false)).collect();
    let katakana = bare.map(|c| shift(c, '\u{3041}'..='\u{3096}', true)).collect();
    Some((hiragana, katakana))
}

/// The stored forms a phone number typed as `text` may have, when it reads as one (digits
/// with spaces, dashes, dots and brackets and a leading `+`; four digits or more): the digits
/// as typed, and a Japanese number in both its E.164 (`+8190…`, as [`enishi_core::Phone`]
/// stores it) and its national (`090…`, as numbers were stored before) form.
fn phone_forms(text: &str) -> Vec<String> {
    let phone_like = text
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')') || (c == '+' && i == 0));
    let digits: String = text.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
    if !phone_like || digits.trim_start_matches('+').len() < 4 {
        return Vec::new();
    }
    let rest = match digits.strip_prefix("+81") {
        Some(national) => Some(national.trim_start_matches('0')),
        None => digits.strip_prefix('0').filter(|r| !r.starts_with('0')),
    };
    let mut forms = vec![digits.clone()];
    if let Some(rest) = rest {
        for form in [format!("+81{rest}"), format!("0{rest}")] {
            if !forms.contains(&form) {
                forms.push(form);
            }
        }
    }
    forms
}

/// Customers matching `q`, in id order, one page at a time.
pub fn search(c: &mut dyn Conn, q: &CustomerQuery) -> Result<Page<Customer>, StoreError> {
    use sea_query::{Alias, Order};
    let limit = q.limit.clamp(1, 500);
    let mut select = matching(q);
    select.order_by((Alias::new("c"), Alias::new("id")), Order::Asc).limit(u64::try_from(limit + 1).unwrap_or(1));
    let ids: Vec<Value> =
        crate::sql::select(c, &select)?.iter().map(|r| r.int("id").map(Value::Int)).collect::<Result<_, _>>()?;
    let mut items = by_ids(c, &ids)?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|x| x.id)
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// A column the customers list can be sorted by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    /// The shop's id.
    ExternalId,
    /// Name.
    Name,
    /// Email.
    Email,
    /// Number of orders.
    Orders,
    /// Total spend.
    Spend,
    /// Last order.
    LastOrder,
    /// Points balance.
    Points,
    /// Loyalty tier, by rank: the tier ids in this order (the programme's, lowest first).
    Tier(Vec<String>),
    /// RFM segment (as last scored), in the order of these stored names.
    RfmSegment(Vec<String>),
    /// Lifecycle stage (as last scored), in the order of these stored names.
    Lifecycle(Vec<String>),
    /// Loyal class (as last scored), in the order of these stored names.
    LoyalClass(Vec<String>),
}

/// An order for [`search_sorted`]: by `key`, ascending or descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The column.
    pub key: SortKey,
    /// Largest (or last) first.
    pub descending: bool,
}

/// The value `key` sorts a customer `c` by: a column, a value of the customer's stats, loyalty
/// account or scores, or a rank among the listed values (`NULL` when there is none).
fn sort_value(key: &SortKey) -> sea_query::Expr {
    use sea_query::{Alias, Expr, ExprTrait};
    let col = |name: &str| Expr::col((Alias::new("c"), Alias::new(name)));
    let of = |table: &str, column: &str| {
        Expr::cust(format!("(SELECT x.{column} FROM {table} x WHERE x.customer_id = c.id)"))
    };
    let rank = |value: Expr, order: &[String]| -> Expr {
        let mut ranks = order.iter().enumerate();
        match ranks.next() {
            None => Expr::cust("NULL"),
            Some((_, first)) => {
                let mut case = Expr::case(value.clone().eq(first.as_str()), 0i64);
                for (i, v) in ranks {
                    case = case.case(value.clone().eq(v.as_str()), i as i64);
                }
                case.into()
            }
        }
    };
    match key {
        SortKey::ExternalId => col("external_id"),
        SortKey::Name => col("name"),
        SortKey::Email => col("email"),
        SortKey::Orders => of("customer_stats", "order_count"),
        SortKey::Spend => of("customer_stats", "total_spend"),
        SortKey::LastOrder => of("customer_stats", "last_order_at"),
        SortKey::Points => of("loyalty_accounts", "balance"),
        SortKey::Tier(order) => rank(of("loyalty_accounts", "tier"), order),
        SortKey::RfmSegment(order) => rank(of("customer_scores", "rfm_segment"), order),
        SortKey::Lifecycle(order) => rank(of("customer_scores", "lifecycle_stage"), order),
        SortKey::LoyalClass(order) => rank(of("customer_scores", "loyal_class"), order),
    }
}

/// One page of the customers matching `q` (its cursor included, its page size `q.limit`), in
/// `sort`'s order (in id order without one) with customers without a value last either way
/// and ties in id order, so that a page always holds the same customers; `offset` customers
/// in.
pub fn search_sorted(
    c: &mut dyn Conn,
    q: &CustomerQuery,
    sort: Option<&Sort>,
    offset: i64,
) -> Result<Vec<Customer>, StoreError> {
    use sea_query::{Alias, NullOrdering, Order};
    let limit = q.limit.clamp(1, 500);
    let mut select = matching(q);
    if let Some(sort) = sort {
        let direction = if sort.descending { Order::Desc } else { Order::Asc };
        select.order_by_expr_with_nulls(sort_value(&sort.key), direction, NullOrdering::Last);
    }
    select
        .order_by((Alias::new("c"), Alias::new("id")), Order::Asc)
        .limit(u64::try_from(limit).unwrap_or(1))
        .offset(u64::try_from(offset).unwrap_or(0));
    let ids: Vec<i64> = crate::sql::select(c, &select)?.iter().map(|r| r.int("id")).collect::<Result<_, _>>()?;
    let keys: Vec<Value> = ids.iter().map(|id| Value::Int(*id)).collect();
    let mut found: HashMap<i64, Customer> = by_ids(c, &keys)?.into_iter().map(|x| (x.id, x)).collect();
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// What the customers list shows of each customer besides the profile: the points balance and
/// tier of their loyalty account, and their RFM segment, lifecycle stage and loyal class as
/// last scored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListColumns {
    /// Points balance (0 without an account).
    pub points: i64,
    /// Tier id.
    pub tier: Option<String>,
    /// RFM segment, as stored (`at_risk`).
    pub rfm_segment: Option<String>,
    /// Lifecycle stage, as stored.
    pub lifecycle_stage: Option<String>,
    /// Loyal class, as stored.
    pub loyal_class: Option<String>,
}

/// The [`ListColumns`] of the customers among `ids` (those without account or scores have the
/// defaults).
pub fn list_columns(c: &mut dyn Conn, ids: &[i64]) -> Result<HashMap<i64, ListColumns>, StoreError> {
    let keys: Vec<Value> = ids.iter().map(|id| Value::Int(*id)).collect();
    let sql = "SELECT c.id, a.balance, a.tier, s.rfm_segment, s.lifecycle_stage, s.loyal_class FROM customers c \
               LEFT JOIN loyalty_accounts a ON a.customer_id = c.id LEFT JOIN customer_scores s ON s.customer_id = c.id \
               WHERE c.id IN ({list})";
    query_in(c, sql, &keys)?
        .iter()
        .map(|r| {
            let columns = ListColumns {
                points: r.opt_int("balance")?.unwrap_or(0),
                tier: r.opt_text("tier")?,
                rfm_segment: r.opt_text("rfm_segment")?,
                lifecycle_stage: r.opt_text("lifecycle_stage")?,
                loyal_class: r.opt_text("loyal_class")?,
            };
            Ok((r.int("id")?, columns))
        })
        .collect()
}

/// How many customers match `q` on every page (its cursor and page size aside): what a
/// filtered list's heading counts.
pub fn count_matching(c: &mut dyn Conn, q: &CustomerQuery) -> Result<i64, StoreError> {
    use sea_query::{Alias, Expr, Query};
    let all = matching(&CustomerQuery { after: 0, ..q.clone() });
    let count =
        Query::select().expr_as(Expr::cust("COUNT(*)"), Alias::new("n")).from_subquery(all, Alias::new("m")).to_owned();
    crate::sql::select(c, &count)?.first().map_or(Ok(0), |r| r.int("n"))
}

/// `SELECT c.id FROM customers c WHERE …` the conditions of `q`, ids above its cursor.
fn matching(q: &CustomerQuery) -> sea_query::SelectStatement {
    use sea_query::{Alias, Cond, Expr, ExprTrait, Func, LikeExpr, Query};
    let col = |name: &str| Expr::col((Alias::new("c"), Alias::new(name)));
    let customers_in = |table: &str, column: &str, value: &str| {
        col("id").in_subquery(
            Query::select()
                .column(Alias::new("customer_id"))
                .from(Alias::new(table))
                .and_where(Expr::col(Alias::new(column)).eq(value))
                .to_owned(),
        )
    };
    let mut select = Query::select();
    select
        .column((Alias::new("c"), Alias::new("id")))
        .from_as(Alias::new("customers"), Alias::new("c"))
        .and_where(col("id").gt(q.after));
    if let Some(t) = q.text.as_deref().map(search_term).filter(|t| !t.is_empty()) {
        let t = t.as_str();
        let lower = like_escaped(&t.to_lowercase());
        let mut any = Cond::any()
            .add(Func::lower(col("name")).like(LikeExpr::new(format!("%{lower}%")).escape('\\')))
            .add(Func::lower(col("email")).like(LikeExpr::new(format!("{lower}%")).escape('\\')))
            .add(col("external_id").eq(t))
            .add(
                col("id").in_subquery(
                    Query::select()
                        .column(Alias::new("customer_id"))
                        .from(Alias::new("loyalty_accounts"))
                        .and_where(Expr::col(Alias::new("referral_code")).eq(t.to_ascii_uppercase()))
                        .to_owned(),
                ),
            );
        if let Some((hiragana, katakana)) = kana_forms(t) {
            // Furigana as typed, with or without a space between family and given name.
            let reading = || Expr::cust("REPLACE(REPLACE(c.furigana, ' ', ''), '\u{3000}', '')");
            for form in [hiragana, katakana] {
                let pattern = format!("%{}%", like_escaped(&form));
                any = any
                    .add(reading().like(LikeExpr::new(pattern.clone()).escape('\\')))
                    .add(col("name").like(LikeExpr::new(pattern).escape('\\')));
            }
        }
        for form in phone_forms(t) {
            any = any.add(col("phone").like(LikeExpr::new(format!("{}%", like_escaped(&form))).escape('\\')));
        }
        select.cond_where(any);
    }
    // A record merged into another one is found as the customer kept.
    let merged_into = |column: Expr, value: String| {
        col("id").in_subquery(
            Query::select()
                .column(Alias::new("customer_id"))
                .from(Alias::new("customer_merges"))
                .and_where(column.eq(value))
                .to_owned(),
        )
    };
    if let Some(v) = &q.external_id {
        select.cond_where(
            Cond::any()
                .add(col("external_id").eq(v.as_str()))
                .add(merged_into(Expr::col(Alias::new("merged_external_id")), v.clone())),
        );
    }
    if let Some(v) = &q.email {
        select.cond_where(
            Cond::any()
                .add(Func::lower(col("email")).eq(v.to_lowercase()))
                .add(merged_into(Func::lower(Expr::col(Alias::new("merged_email"))).into(), v.to_lowercase())),
        );
    }
    if let Some(v) = &q.phone {
        // A Japanese number in E.164 or in the national form numbers were stored in before.
        let forms = phone_forms(v);
        select.and_where(if forms.is_empty() { col("phone").eq(v.as_str()) } else { col("phone").is_in(forms) });
    }
    if let Some(v) = q.account_id {
        select.and_where(col("account_id").eq(v));
    }
    if let Some(v) = &q.lifecycle_stage {
        select.and_where(customers_in("customer_scores", "lifecycle_stage", v));
    }
    if let Some(v) = &q.rfm_segment {
        select.and_where(customers_in("customer_scores", "rfm_segment", v));
    }
    if let Some(v) = &q.loyal_class {
        select.and_where(customers_in("customer_scores", "loyal_class", v));
    }
    if let Some(v) = &q.tag {
        select.and_where(customers_in("customer_tags", "tag", v));
    }
    if let Some(v) = q.channel {
        select.and_where(customers_in("customer_channels", "channel", v.as_str()));
    }
    if let Some(condition) = &q.matching {
        select.and_where(condition.clone());
    }
    select
}

/// The customers with these ids (ascending), in id order.
fn by_ids(c: &mut dyn Conn, ids: &[Value]) -> Result<Vec<Customer>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = query_in(c, &format!("{SELECT} WHERE c.id IN ({{list}}) ORDER BY c.id"), ids)?;
    let mut list: Vec<Customer> = rows.iter().map(decode).collect::<Result<_, _>>()?;
    attach_details(c, &mut list)?;
    Ok(list)
}

/// Whether any customer is stored (without counting them all). With none, no order is stored
/// either: every order has a customer.
pub fn any(c: &mut dyn Conn) -> Result<bool, StoreError> {
    Ok(c.query_opt("SELECT 1 FROM customers LIMIT 1", &[])?.is_some())
}

/// Number of customers.
pub fn count(c: &mut dyn Conn) -> Result<i64, StoreError> {
    c.query_one("SELECT COUNT(*) FROM customers", &[])?.int(0)
}

/// Creates a customer or updates the one with the same external id; `None` fields are left
/// as stored; attributes are merged key by key (a JSON null deletes a key).
pub fn upsert(c: &mut dyn Conn, u: &CustomerUpsert) -> Result<Upserted, StoreError> {
    let external_id =
        u.external_id.as_ref().ok_or_else(|| StoreError::Decode("customer without external id".into()))?;
    if let Some(id) = id_by_external_id(c, external_id.as_str())? {
        update(c, id, u)?;
        return Ok(Upserted::Updated(id));
    }
    match insert_if_absent(c, u)? {
        Some(id) => Ok(Upserted::Created(id)),
        // Created meanwhile by a concurrent transaction (which has committed: the insert
        // waited for it), so this one updates it.
        None => {
            let id = id_by_external_id(c, external_id.as_str())?
                .ok_or_else(|| StoreError::NotFound(format!("customer {external_id}")))?;
            update(c, id, u)?;
            Ok(Upserted::Updated(id))
        }
    }
}

/// Creates a customer unless one with the same external id is stored, in one statement that
/// is atomic on both databases (a concurrent creation of the same id makes it wait, then do
/// nothing). The new id, or `None` when the customer existed.
pub fn insert_if_absent(c: &mut dyn Conn, u: &CustomerUpsert) -> Result<Option<i64>, StoreError> {
    let external_id =
        u.external_id.as_ref().ok_or_else(|| StoreError::Decode("customer without external id".into()))?;
    let t = c.now();
    let row = c.query_opt(
        "INSERT INTO customers (external_id, first_seen_at, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (external_id) DO NOTHING RETURNING id",
        params![external_id.as_str(), u.first_seen_at.map_or(t, |d| d.timestamp()), t],
    )?;
    let Some(row) = row else { return Ok(None) };
    let id = row.int("id")?;
    update_fields(c, id, &CustomerUpsert { first_seen_at: None, ..u.clone() }, Stored::New)?;
    Ok(Some(id))
}

/// The Enishi id of the customer with this shop id, without reading the customer; the id of
/// a record merged into another one gives the customer kept.
pub fn id_by_external_id(c: &mut dyn Conn, external_id: &str) -> Result<Option<i64>, StoreError> {
    let own = c.query_opt("SELECT id FROM customers WHERE external_id = $1", params![external_id])?;
    if let Some(r) = own {
        return Ok(Some(r.int(0)?));
    }
    crate::repo::merges::kept_for_external_id(c, external_id)
}

/// Sets (or, with `None`, clears) how a customer's name reads (furigana).
pub fn set_furigana(c: &mut dyn Conn, id: i64, furigana: Option<&str>) -> Result<(), StoreError> {
    c.execute("UPDATE customers SET furigana = $1, updated_at = $2 WHERE id = $3", params![furigana, c.now(), id])?;
    Ok(())
}

/// Another customer who already has this email (compared case-insensitively) or phone,
/// found by [`contact_taken`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactTaken {
    /// `email` or `phone`.
    pub field: &'static str,
    /// The other customer's Enishi id.
    pub id: i64,
    /// The other customer's shop id.
    pub external_id: String,
}

/// The first customer other than `except` who has `email` or `phone` (emails case-insensitive,
/// also one kept from a record merged into that customer); `None` when both are free.
pub fn contact_taken(
    c: &mut dyn Conn,
    email: Option<&str>,
    phone: Option<&str>,
    except: Option<i64>,
) -> Result<Option<ContactTaken>, StoreError> {
    let except = except.unwrap_or(0);
    if let Some(email) = email {
        let row = c.query_opt(
            "SELECT id, external_id FROM customers WHERE lower(email) = lower($1) AND id <> $2 \
             UNION ALL SELECT c.id, c.external_id FROM customer_merges m JOIN customers c ON c.id = m.customer_id \
             WHERE lower(m.merged_email) = lower($1) AND c.id <> $2 ORDER BY 1 LIMIT 1",
            params![email, except],
        )?;
        if let Some(r) = row {
            return Ok(Some(ContactTaken { field: "email", id: r.int(0)?, external_id: r.text(1)? }));
        }
    }
    if let Some(phone) = phone {
        // A Japanese number also in the national form numbers were stored in before E.164.
        let other = phone_forms(phone).into_iter().find(|f| f != phone).unwrap_or_else(|| phone.to_string());
        let row = c.query_opt(
            "SELECT id, external_id FROM customers WHERE (phone = $1 OR phone = $3) AND id <> $2 ORDER BY id LIMIT 1",
            params![phone, except, other.as_str()],
        )?;
        if let Some(r) = row {
            return Ok(Some(ContactTaken { field: "phone", id: r.int(0)?, external_id: r.text(1)? }));
        }
    }
    Ok(None)
}

/// Whether a customer's tags, channels and attributes may already be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    /// Inserted in this transaction: nothing to replace.
    New,
    /// Stored before: lists given are replaced.
    Before,
}

/// Applies an upsert to the stored customer `id` (its external id is not changed): set
/// fields replace, tags and channels as a whole list, attributes merge key by key.
pub fn update(c: &mut dyn Conn, id: i64, u: &CustomerUpsert) -> Result<(), StoreError> {
    update_fields(c, id, u, Stored::Before)
}

/// Sets a customer's fields: set fields replace (tags and channels as a whole list),
/// attributes merge key by key (a JSON null deletes a key).
fn update_fields(c: &mut dyn Conn, id: i64, u: &CustomerUpsert, stored: Stored) -> Result<(), StoreError> {
    let a = &u.address;
    let now = c.now();
    c.execute(
        "UPDATE customers SET name = COALESCE($1, name), email = COALESCE($2, email), phone = COALESCE($3, phone), \
         address_line1 = COALESCE($4, address_line1), address_line2 = COALESCE($5, address_line2), city = COALESCE($6, city), \
         region = COALESCE($7, region), postal_code = COALESCE($8, postal_code), country = COALESCE($9, country), \
         birthday = COALESCE($10, birthday), locale = COALESCE($11, locale), account_id = COALESCE($12, account_id), \
         acquisition_source = COALESCE($13, acquisition_source), referred_by = COALESCE($14, referred_by), \
         first_seen_at = COALESCE($15, first_seen_at), updated_at = $16 WHERE id = $17",
        &[
            u.name.clone().into(),
            u.email.as_ref().map(|e| e.as_str().to_string()).into(),
            u.phone.as_ref().map(|e| e.as_str().to_string()).into(),
            a.line1.clone().into(),
            a.line2.clone().into(),
            a.city.clone().into(),
            a.region.clone().into(),
            a.postal_code.clone().into(),
            a.country.clone().into(),
            u.birthday.map(|d| d.format("%Y-%m-%d").to_string()).into(),
            u.locale.clone().into(),
            u.account_id.into(),
            u.acquisition_source.clone().into(),
            u.referred_by.into(),
            u.first_seen_at.map(|d| d.timestamp()).into(),
            now.into(),
            id.into(),
        ],
    )?;
    if let Some(tags) = &u.tags {
        replace_list(c, ("customer_tags", "tag"), id, tags.iter().map(String::as_str), stored)?;
    }
    if let Some(channels) = &u.channels {
        replace_list(c, ("customer_channels", "channel"), id, channels.iter().map(|ch| ch.as_str()), stored)?;
    }
    for (key, value) in u.attributes.iter().flatten() {
        set_attribute(c, id, key, value)?;
    }
    for change in &u.consents {
        set_consent(c, id, change)?;
    }
    Ok(())
}

/// Replaces a customer's list in `table` (its value in `column`) with `values`, in their order
/// (a value given twice is kept once, at its first place).
fn replace_list<'a>(
    c: &mut dyn Conn,
    (table, column): (&str, &str),
    id: i64,
    values: impl Iterator<Item = &'a str>,
    stored: Stored,
) -> Result<(), StoreError> {
    if stored == Stored::Before {
        c.execute(&format!("DELETE FROM {table} WHERE customer_id = $1"), params![id])?;
    }
    let insert =
        format!("INSERT INTO {table} (customer_id, {column}, position) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING");
    for (position, value) in (0_i64..).zip(values) {
        c.execute(&insert, params![id, value, position])?;
    }
    Ok(())
}

/// Sets one custom attribute (a JSON null deletes it). The value is kept as JSON, and as text
/// or as a number beside it when it is one, for conditions that use the indexes.
fn set_attribute(c: &mut dyn Conn, id: i64, key: &str, value: &serde_json::Value) -> Result<(), StoreError> {
    if value.is_null() {
        c.execute("DELETE FROM customer_attributes WHERE customer_id = $1 AND key = $2", params![id, key])?;
        return Ok(());
    }
    let number = value.as_f64().filter(|n| n.is_finite());
    c.execute(
        "INSERT INTO customer_attributes (customer_id, key, value, text_value, number_value) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (customer_id, key) DO UPDATE SET value = excluded.value, text_value = excluded.text_value, \
         number_value = excluded.number_value",
        params![id, key, value.to_string(), value.as_str(), number],
    )?;
    Ok(())
}

/// Clears one profile field (the API's explicit `null`). `field` must be one of
/// [`CLEARABLE_FIELDS`].
pub fn clear_field(c: &mut dyn Conn, id: i64, field: &str) -> Result<(), StoreError> {
    if !CLEARABLE_FIELDS.contains(&field) {
        return Err(StoreError::Decode(format!("field {field} cannot be cleared")));
    }
    c.execute(&format!("UPDATE customers SET {field} = NULL, updated_at = $1 WHERE id = $2"), params![c.now(), id])?;
    Ok(())
}

/// Profile columns that may be set to NULL.
pub const CLEARABLE_FIELDS: &[&str] = &[
    "name",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "birthday",
    "locale",
    "account_id",
    "acquisition_source",
    "referred_by",
];

/// Records a consent change: the current state and, when it changes, a line in the log.
pub fn set_consent(c: &mut dyn Conn, customer_id: i64, ch: &ConsentChange) -> Result<(), StoreError> {
    let at = ch.at.map_or_else(|| c.now(), |d| d.timestamp());
    let current = c.query_opt(
        "SELECT status FROM customer_consents WHERE customer_id = $1 AND channel = $2",
        params![customer_id, ch.channel.as_str()],
    )?;
    if current.map(|r| r.text(0)).transpose()?.as_deref() == Some(ch.status.as_str()) {
        return Ok(());
    }
    c.execute(
        "INSERT INTO customer_consents (customer_id, channel, status, changed_at, source) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (customer_id, channel) DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at, source = excluded.source",
        params![customer_id, ch.channel.as_str(), ch.status.as_str(), at, ch.source.as_str()],
    )?;
    c.execute(
        "INSERT INTO consent_log (customer_id, channel, status, changed_at, source) VALUES ($1, $2, $3, $4, $5)",
        params![customer_id, ch.channel.as_str(), ch.status.as_str(), at, ch.source.as_str()],
    )?;
    Ok(())
}

/// The consent history of a customer on a channel, oldest first: (status, when, how).
pub fn consent_history(
    c: &mut dyn Conn,
    customer_id: i64,
    channel: ConsentChannel,
) -> Result<Vec<(String, i64, String)>, StoreError> {
    c.query(
        "SELECT status, changed_at, source FROM consent_log WHERE customer_id = $1 AND channel = $2 ORDER BY id",
        params![customer_id, channel.as_str()],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?, r.text(2)?)))
    .collect()
}

/// One change in a customer's consent trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentLogEntry {
    /// The channel.
    pub channel: String,
    /// The state it changed to.
    pub status: String,
    /// When (Unix seconds).
    pub changed_at: i64,
    /// How, and who: `import`, `api`, `till:ten@cafe.example`, …
    pub source: String,
}

/// A customer's whole consent trail, newest first (every channel).
pub fn consent_trail(c: &mut dyn Conn, customer_id: i64) -> Result<Vec<ConsentLogEntry>, StoreError> {
    c.query(
        "SELECT channel, status, changed_at, source FROM consent_log WHERE customer_id = $1 ORDER BY changed_at DESC, id DESC",
        params![customer_id],
    )?
    .iter()
    .map(|r| {
        Ok(ConsentLogEntry {
            channel: r.text("channel")?,
            status: r.text("status")?,
            changed_at: r.int("changed_at")?,
            source: r.text("source")?,
        })
    })
    .collect()
}

/// Deletes a customer and everything recorded about them (orders, messages, events, …).
pub fn delete(c: &mut dyn Conn, id: i64) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM customers WHERE id = $1", params![id])? > 0)
}

/// Maps external ids to Enishi ids, creating bare customers for the ones not yet known (first
/// seen at the given time). Returns the map and the ids created.
pub fn resolve_or_create(
    c: &mut dyn Conn,
    wanted: &[(String, i64)],
) -> Result<(HashMap<String, i64>, Vec<i64>), StoreError> {
    let keys: Vec<Value> = wanted.iter().map(|(k, _)| Value::from(k.as_str())).collect();
    let mut found: HashMap<String, i64> = HashMap::with_capacity(wanted.len());
    for r in query_in(c, "SELECT external_id, id FROM customers WHERE external_id IN ({list})", &keys)? {
        found.insert(r.text(0)?, r.int(1)?);
    }
    // The shop ids of records merged into others resolve to the customers kept.
    if found.len() < keys.len() {
        let rest: Vec<Value> =
            keys.iter().filter(|k| !matches!(k, Value::Text(t) if found.contains_key(t))).cloned().collect();
        let sql = "SELECT merged_external_id, customer_id FROM customer_merges WHERE merged_external_id IN ({list})";
        for r in query_in(c, sql, &rest)? {
            found.insert(r.text(0)?, r.int(1)?);
        }
    }
    let missing: Vec<&(String, i64)> = wanted.iter().filter(|(k, _)| !found.contains_key(k)).collect();
    let (created, ids) = create_new(c, missing)?;
    found.extend(created);
    Ok((found, ids))
}

/// Creates customers known not to exist (a bulk import into an empty table keeps track of
/// whom it created), given as (external id, first seen); returns them by external id, and
/// their new ids.
pub fn create_new(
    c: &mut dyn Conn,
    mut missing: Vec<&(String, i64)>,
) -> Result<(HashMap<String, i64>, Vec<i64>), StoreError> {
    missing.sort();
    missing.dedup_by(|a, b| a.0 == b.0);
    let mut found = HashMap::with_capacity(missing.len());
    if missing.is_empty() {
        return Ok((found, Vec::new()));
    }
    let ids = c.reserve_ids("customers", missing.len())?;
    let t = c.now();
    let rows = Rows::collect(
        missing
            .iter()
            .zip(&ids)
            .map(|((ext, seen), id)| [(*id).into(), ext.into(), (*seen).into(), t.into(), t.into()]),
    );
    c.insert_rows("customers", &["id", "external_id", "first_seen_at", "created_at", "updated_at"], &rows)?;
    for ((ext, _), id) in missing.iter().zip(&ids) {
        found.insert(ext.clone(), *id);
    }
    Ok((found, ids))
}

/// Stores the running stats of customers who have none yet (customers created by a bulk
/// import, whose stats the import computed as it went). A million customers' stats go in
/// parts of [`STATS_PART`] rows, so the bound values of only one part are held at a time.
pub fn insert_stats(c: &mut dyn Conn, stats: &[(i64, CustomerStats)]) -> Result<(), StoreError> {
    let t = c.now();
    for part in stats.chunks(STATS_PART) {
        let rows = Rows::collect(part.iter().map(|(id, s)| {
            [
                (*id).into(),
                s.first_order_at.map(|d| d.timestamp()).into(),
                s.last_order_at.map(|d| d.timestamp()).into(),
                s.order_count.into(),
                s.purchase_days.into(),
                s.total_spend.to_scaled().into(),
                s.returned_amount.to_scaled().into(),
                t.into(),
            ]
        }));
        c.insert_rows(
            "customer_stats",
            &[
                "customer_id",
                "first_order_at",
                "last_order_at",
                "order_count",
                "purchase_days",
                "total_spend",
                "returned_amount",
                "updated_at",
            ],
            &rows,
        )?;
    }
    Ok(())
}

/// How many customers' stats [`insert_stats`] binds at once.
const STATS_PART: usize = 8192;

/// Recomputes the running stats of `customer_ids` from their orders and returns.
pub fn refresh_stats(c: &mut dyn Conn, customer_ids: &[i64]) -> Result<(), StoreError> {
    let t = c.now();
    for part in customer_ids.chunks(crate::repo::IN_CHUNK) {
        let list = crate::db::placeholders(2, part.len());
        let sql = format!(
            "INSERT INTO customer_stats (customer_id, first_order_at, last_order_at, order_count, purchase_days, total_spend, returned_amount, updated_at) \
             SELECT c.id, MIN(o.placed_at), MAX(o.placed_at), COUNT(o.id), COUNT(DISTINCT o.placed_day), \
                    CAST(COALESCE(SUM(o.total), 0) AS BIGINT), \
                    CAST(COALESCE((SELECT SUM(r.amount) FROM returns r WHERE r.customer_id = c.id), 0) AS BIGINT), $1 \
             FROM customers c LEFT JOIN orders o ON o.customer_id = c.id \
             WHERE c.id IN ({list}) GROUP BY c.id \
             ON CONFLICT (customer_id) DO UPDATE SET first_order_at = excluded.first_order_at, last_order_at = excluded.last_order_at, \
               order_count = excluded.order_count, purchase_days = excluded.purchase_days, total_spend = excluded.total_spend, \
               returned_amount = excluded.returned_amount, updated_at = excluded.updated_at"
        );
        let mut p: Vec<Value> = vec![t.into()];
        p.extend(part.iter().map(|&id| Value::Int(id)));
        c.execute(&sql, &p)?;
    }
    Ok(())
}

/// Every customer in id order, in pages, for export: calls `f` with each page.
pub fn for_each_page<E: From<StoreError>>(
    c: &mut dyn Conn,
    page_size: i64,
    mut f: impl FnMut(&[Customer]) -> Result<(), E>,
) -> Result<(), E> {
    let mut after = 0;
    loop {
        let page = fetch(c, "WHERE c.id > $1 ORDER BY c.id LIMIT $2", params![after, page_size])?;
        let Some(last) = page.last() else { return Ok(()) };
        after = last.id;
        f(&page)?;
    }
}
