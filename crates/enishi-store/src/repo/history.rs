//! What happened with a customer besides orders: messages sent (communication history),
//! requests and complaints (interaction history), behavioural events; and the timeline that
//! merges them with orders and returns.

use crate::db::{Conn, Row, Rows, Value};
use crate::model::{instant, Communication, Event, Interaction, NewEvent, NewInteraction, TimelineEntry, UserRef};
use crate::repo::query_in;
use crate::{params, StoreError};
use enishi_core::{Amount, InteractionStatus};
use std::collections::{HashMap, HashSet};

/// Records a message sent to a customer.
pub fn add_communication(c: &mut dyn Conn, m: &Communication) -> Result<i64, StoreError> {
    c.query_one(
        "INSERT INTO communications (customer_id, channel, campaign, step, variant, subject, sent_at, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        params![
            m.customer_id,
            m.channel.as_str(),
            m.campaign.clone(),
            m.step.clone(),
            m.variant.clone(),
            m.subject.clone(),
            m.sent_at.timestamp(),
            m.status.as_str(),
            c.now()
        ],
    )?
    .int(0)
}

/// A customer's messages, newest first.
pub fn communications(
    c: &mut dyn Conn,
    customer_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<Communication>, StoreError> {
    c.query(
        "SELECT id, customer_id, channel, campaign, step, variant, subject, sent_at, status FROM communications \
         WHERE customer_id = $1 ORDER BY sent_at DESC, id DESC LIMIT $2 OFFSET $3",
        params![customer_id, limit, offset],
    )?
    .iter()
    .map(|r| {
        Ok(Communication {
            id: r.int(0)?,
            customer_id: r.int(1)?,
            channel: r.text(2)?,
            campaign: r.opt_text(3)?,
            step: r.opt_text(4)?,
            variant: r.opt_text(5)?,
            subject: r.opt_text(6)?,
            sent_at: instant(r.int(7)?),
            status: r.text(8)?,
        })
    })
    .collect()
}

/// The columns of an interaction, in the order [`interactions_where`] selects them.
const INTERACTION_COLUMNS: [&str; 12] = [
    "id",
    "customer_id",
    "kind",
    "channel",
    "body",
    "status",
    "staff",
    "occurred_at",
    "resolved_at",
    "assignee_id",
    "resolution",
    "asked_at",
];

/// `SELECT` of every interaction column (table `i`) with its assignee's email and name (table
/// `u`), to which the caller adds conditions.
fn interactions_where() -> sea_query::SelectStatement {
    use sea_query::{Alias, Expr, ExprTrait, JoinType, Query};
    let (i, u) = (Alias::new("i"), Alias::new("u"));
    Query::select()
        .columns(INTERACTION_COLUMNS.map(|col| (i.clone(), Alias::new(col))))
        .expr_as(Expr::col((u.clone(), Alias::new("email"))), Alias::new("assignee_email"))
        .expr_as(Expr::col((u.clone(), Alias::new("name"))), Alias::new("assignee_name"))
        .from_as(Alias::new("interactions"), i.clone())
        .join_as(
            JoinType::LeftJoin,
            Alias::new("users"),
            u.clone(),
            Expr::col((u, Alias::new("id"))).equals((i, Alias::new("assignee_id"))),
        )
        .to_owned()
}

/// Column `col` of the interactions table as [`interactions_where`] names it.
fn icol(col: &str) -> sea_query::Expr {
    sea_query::Expr::col((sea_query::Alias::new("i"), sea_query::Alias::new(col)))
}

/// The user a row names in `{prefix}_id`, `{prefix}_email` and `{prefix}_name`, if any.
pub(crate) fn user_ref(r: &Row, prefix: &str) -> Result<Option<UserRef>, StoreError> {
    let Some(id) = r.opt_int(format!("{prefix}_id").as_str())? else { return Ok(None) };
    Ok(Some(UserRef {
        id,
        email: r.opt_text(format!("{prefix}_email").as_str())?.unwrap_or_default(),
        name: r.opt_text(format!("{prefix}_name").as_str())?.unwrap_or_default(),
    }))
}

fn decode_interaction(r: &Row) -> Result<Interaction, StoreError> {
    let bad = |what: &str| StoreError::Decode(format!("unknown interaction {what}"));
    Ok(Interaction {
        id: r.int("id")?,
        customer_id: r.int("customer_id")?,
        kind: r.text("kind")?.parse().map_err(|_| bad("kind"))?,
        channel: r.opt_text("channel")?,
        body: r.text("body")?,
        status: r.text("status")?.parse().map_err(|_| bad("status"))?,
        staff: r.opt_text("staff")?,
        occurred_at: instant(r.int("occurred_at")?),
        resolved_at: r.opt_int("resolved_at")?.map(instant),
        assignee: user_ref(r, "assignee")?,
        resolution: r.opt_text("resolution")?,
        asked_at: r.opt_int("asked_at")?.map(instant),
    })
}

/// Whether a status ends an interaction (it then has a `resolved_at`).
fn ends(status: InteractionStatus) -> bool {
    matches!(status, InteractionStatus::Resolved | InteractionStatus::Closed)
}

/// Records an interaction.
pub fn add_interaction(c: &mut dyn Conn, i: &NewInteraction) -> Result<Interaction, StoreError> {
    let resolved = ends(i.status).then(|| c.now());
    let id = c
        .query_one(
            "INSERT INTO interactions (customer_id, kind, channel, body, status, staff, occurred_at, resolved_at, \
             created_at, assignee_id, resolution) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            params![
                i.customer_id,
                i.kind.as_str(),
                i.channel.clone(),
                i.body.as_str(),
                i.status.as_str(),
                i.staff.clone(),
                i.occurred_at.timestamp(),
                resolved,
                c.now(),
                i.assignee_id,
                i.resolution.clone()
            ],
        )?
        .int(0)?;
    get_interaction(c, id)?.ok_or_else(|| StoreError::NotFound(format!("interaction {id}")))
}

/// One interaction.
pub fn get_interaction(c: &mut dyn Conn, id: i64) -> Result<Option<Interaction>, StoreError> {
    use sea_query::ExprTrait;
    let query = interactions_where().and_where(icol("id").eq(id)).to_owned();
    crate::sql::select(c, &query)?.first().map(decode_interaction).transpose()
}

/// Interactions, newest first: of one customer and/or with one status.
pub fn interactions(
    c: &mut dyn Conn,
    customer_id: Option<i64>,
    status: Option<InteractionStatus>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Interaction>, StoreError> {
    use sea_query::{ExprTrait, Order};
    let mut query = interactions_where();
    if let Some(id) = customer_id {
        query.and_where(icol("customer_id").eq(id));
    }
    if let Some(status) = status {
        query.and_where(icol("status").eq(status.as_str()));
    }
    query
        .order_by_expr(icol("occurred_at"), Order::Desc)
        .order_by_expr(icol("id"), Order::Desc)
        .limit(u64::try_from(limit).unwrap_or(0))
        .offset(u64::try_from(offset).unwrap_or(0));
    crate::sql::select(c, &query)?.iter().map(decode_interaction).collect()
}

/// The statuses of an open issue.
const OPEN: [&str; 2] = ["open", "in_progress"];

/// A customer's open issues (open or in progress), newest first.
pub fn open_issues(c: &mut dyn Conn, customer_id: i64, limit: i64) -> Result<Vec<Interaction>, StoreError> {
    use sea_query::{ExprTrait, Order};
    let query = interactions_where()
        .and_where(icol("customer_id").eq(customer_id))
        .and_where(icol("status").is_in(OPEN))
        .order_by_expr(icol("occurred_at"), Order::Desc)
        .order_by_expr(icol("id"), Order::Desc)
        .limit(u64::try_from(limit).unwrap_or(0))
        .to_owned();
    crate::sql::select(c, &query)?.iter().map(decode_interaction).collect()
}

/// Each of `customer_ids`' most recent open issue (open or in progress), by customer.
pub fn latest_open_issues(c: &mut dyn Conn, customer_ids: &[i64]) -> Result<HashMap<i64, Interaction>, StoreError> {
    use sea_query::{ExprTrait, Order};
    let mut out: HashMap<i64, Interaction> = HashMap::new();
    for chunk in customer_ids.chunks(500) {
        let query = interactions_where()
            .and_where(icol("customer_id").is_in(chunk.iter().copied()))
            .and_where(icol("status").is_in(OPEN))
            .order_by_expr(icol("occurred_at"), Order::Asc)
            .order_by_expr(icol("id"), Order::Asc)
            .to_owned();
        for r in crate::sql::select(c, &query)? {
            let i = decode_interaction(&r)?;
            out.insert(i.customer_id, i);
        }
    }
    Ok(out)
}

/// How the inbox of open issues is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InboxSort {
    /// Oldest first: the longest waiting at the top.
    #[default]
    Age,
    /// By the assignee's name (unassigned first), then oldest first.
    Assignee,
    /// The most valuable customers first: loyal class (loyal, semi-loyal, others), then CLV.
    Value,
}

impl InboxSort {
    /// Every order, as named in addresses and the API.
    pub const ALL: [InboxSort; 3] = [InboxSort::Age, InboxSort::Assignee, InboxSort::Value];

    /// The order's name (`age`, `assignee`, `value`).
    pub fn as_str(self) -> &'static str {
        match self {
            InboxSort::Age => "age",
            InboxSort::Assignee => "assignee",
            InboxSort::Value => "value",
        }
    }
}

impl std::str::FromStr for InboxSort {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        InboxSort::ALL
            .into_iter()
            .find(|o| o.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| format!("'{s}' is not one of: age, assignee, value"))
    }
}

/// Which open issues the inbox lists.
#[derive(Debug, Clone, Default)]
pub struct InboxQuery {
    /// The order.
    pub sort: InboxSort,
    /// Only those assigned to this user.
    pub assignee_id: Option<i64>,
    /// Only unassigned ones.
    pub unassigned: bool,
    /// Only of this kind.
    pub kind: Option<enishi_core::InteractionKind>,
}

/// An open issue in the inbox, with who the customer is and what they are worth.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxItem {
    /// The issue.
    pub interaction: Interaction,
    /// The customer's shop id.
    pub external_id: String,
    /// The customer's name.
    pub customer_name: Option<String>,
    /// The customer's predicted customer lifetime value, if scored.
    pub clv: Option<f64>,
    /// The customer's loyal class (`loyal`, `semi_loyal`, `other`), if ranked.
    pub loyal_class: Option<String>,
}

/// Open issues (open or in progress) of every customer, as `q` asks.
pub fn inbox(c: &mut dyn Conn, q: &InboxQuery, limit: i64, offset: i64) -> Result<Vec<InboxItem>, StoreError> {
    use sea_query::{Alias, Expr, ExprTrait, JoinType, NullOrdering, Order};
    let (k, s) = (Alias::new("k"), Alias::new("s"));
    let mut query = interactions_where();
    query
        .expr_as(Expr::col((k.clone(), Alias::new("external_id"))), Alias::new("external_id"))
        .expr_as(Expr::col((k.clone(), Alias::new("name"))), Alias::new("customer_name"))
        .expr_as(Expr::col((s.clone(), Alias::new("clv"))), Alias::new("clv"))
        .expr_as(Expr::col((s.clone(), Alias::new("loyal_class"))), Alias::new("loyal_class"))
        .join_as(
            JoinType::InnerJoin,
            Alias::new("customers"),
            k.clone(),
            Expr::col((k, Alias::new("id"))).equals((Alias::new("i"), Alias::new("customer_id"))),
        )
        .join_as(
            JoinType::LeftJoin,
            Alias::new("customer_scores"),
            s.clone(),
            Expr::col((s.clone(), Alias::new("customer_id"))).equals((Alias::new("i"), Alias::new("customer_id"))),
        )
        .and_where(icol("status").is_in(OPEN));
    if let Some(id) = q.assignee_id {
        query.and_where(icol("assignee_id").eq(id));
    }
    if q.unassigned {
        query.and_where(icol("assignee_id").is_null());
    }
    if let Some(kind) = q.kind {
        query.and_where(icol("kind").eq(kind.as_str()));
    }
    match q.sort {
        InboxSort::Age => {}
        InboxSort::Assignee => {
            query.order_by_expr_with_nulls(
                Expr::col((Alias::new("u"), Alias::new("name"))),
                Order::Asc,
                NullOrdering::First,
            );
        }
        InboxSort::Value => {
            let class = Expr::case(Expr::col((s.clone(), Alias::new("loyal_class"))).eq("loyal"), 0)
                .case(Expr::col((s.clone(), Alias::new("loyal_class"))).eq("semi_loyal"), 1)
                .finally(2);
            query.order_by_expr(class.into(), Order::Asc).order_by_expr_with_nulls(
                Expr::col((s, Alias::new("clv"))),
                Order::Desc,
                NullOrdering::Last,
            );
        }
    }
    query
        .order_by_expr(icol("occurred_at"), Order::Asc)
        .order_by_expr(icol("id"), Order::Asc)
        .limit(u64::try_from(limit).unwrap_or(0))
        .offset(u64::try_from(offset).unwrap_or(0));
    crate::sql::select(c, &query)?
        .iter()
        .map(|r| {
            Ok(InboxItem {
                interaction: decode_interaction(r)?,
                external_id: r.text("external_id")?,
                customer_name: r.opt_text("customer_name")?,
                clv: match r.opt_int("clv") {
                    Ok(None) => None,
                    Ok(Some(v)) => Some(v as f64),
                    Err(_) => Some(r.real("clv")?),
                },
                loyal_class: r.opt_text("loyal_class")?,
            })
        })
        .collect()
}

/// How many open issues (open or in progress) there are.
pub fn open_issue_count(c: &mut dyn Conn) -> Result<i64, StoreError> {
    c.query_one("SELECT COUNT(*) FROM interactions WHERE status IN ('open', 'in_progress')", &[])?.int(0)
}

/// A change to an interaction: each field that is `Some` is set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InteractionChange {
    /// The new status: resolving or closing sets `resolved_at` (kept when it was already
    /// resolved or closed), reopening clears it.
    pub status: Option<InteractionStatus>,
    /// The new assignee (`Some(None)` unassigns).
    pub assignee_id: Option<Option<i64>>,
    /// The resolution note (`Some(None)` clears it).
    pub resolution: Option<Option<String>>,
    /// The staff member who handled it.
    pub staff: Option<String>,
}

/// Changes interaction `id` as `ch` says; returns it, or `None` when it does not exist.
pub fn update_interaction(
    c: &mut dyn Conn,
    id: i64,
    ch: &InteractionChange,
) -> Result<Option<Interaction>, StoreError> {
    let Some(before) = get_interaction(c, id)? else { return Ok(None) };
    let status = ch.status.unwrap_or(before.status);
    let resolved_at = match (ends(before.status), ends(status)) {
        (true, true) => before.resolved_at.map(|t| t.timestamp()),
        (_, true) => Some(c.now()),
        (_, false) => None,
    };
    let assignee = ch.assignee_id.unwrap_or(before.assignee.as_ref().map(|u| u.id));
    let resolution = ch.resolution.clone().unwrap_or(before.resolution.clone());
    let staff = ch.staff.clone().or(before.staff.clone());
    c.execute(
        "UPDATE interactions SET status = $1, resolved_at = $2, assignee_id = $3, resolution = $4, staff = $5 WHERE id = $6",
        params![status.as_str(), resolved_at, assignee, resolution, staff, id],
    )?;
    get_interaction(c, id)
}

/// Marks an interaction resolved (idempotent: a resolved one keeps its time); returns it, or
/// `None` when it does not exist.
pub fn resolve_interaction(c: &mut dyn Conn, id: i64, staff: Option<&str>) -> Result<Option<Interaction>, StoreError> {
    let ch = InteractionChange {
        status: Some(InteractionStatus::Resolved),
        staff: staff.map(str::to_string),
        ..InteractionChange::default()
    };
    update_interaction(c, id, &ch)
}

/// A customer's concerns (complaints and requests) resolved at or after `since` (Unix seconds)
/// that staff have not yet asked about: what the till prompts to ask "how is it now?".
pub fn to_ask_about(c: &mut dyn Conn, customer_id: i64, since: i64) -> Result<Vec<Interaction>, StoreError> {
    use sea_query::{ExprTrait, Order};
    let query = interactions_where()
        .and_where(icol("customer_id").eq(customer_id))
        .and_where(icol("status").eq("resolved"))
        .and_where(icol("kind").is_in(["complaint", "request"]))
        .and_where(icol("resolved_at").gte(since))
        .and_where(icol("asked_at").is_null())
        .order_by_expr(icol("resolved_at"), Order::Desc)
        .to_owned();
    crate::sql::select(c, &query)?.iter().map(decode_interaction).collect()
}

/// Records that staff asked customer `customer_id` how interaction `id` is now (idempotent).
/// `false` when it is not that customer's.
pub fn mark_asked(c: &mut dyn Conn, customer_id: i64, id: i64) -> Result<bool, StoreError> {
    let t = c.now();
    c.execute(
        "UPDATE interactions SET asked_at = COALESCE(asked_at, $1) WHERE id = $2 AND customer_id = $3",
        params![t, id, customer_id],
    )
    .map(|n| n > 0)
}

/// Records events; ones whose `event_ref` is already stored are skipped. Returns how many
/// were stored.
pub fn add_events(c: &mut dyn Conn, events: &[NewEvent]) -> Result<u64, StoreError> {
    let refs: Vec<Value> = events.iter().filter_map(|e| e.event_ref.as_deref()).map(Value::from).collect();
    let mut seen: HashSet<String> = HashSet::new();
    for r in query_in(c, "SELECT event_ref FROM events WHERE event_ref IN ({list})", &refs)? {
        seen.insert(r.text(0)?);
    }
    let t = c.now();
    let mut rows = Rows::default();
    for e in events {
        if let Some(r) = &e.event_ref {
            if !seen.insert(r.clone()) {
                continue;
            }
        }
        rows.push([
            e.customer_id.into(),
            e.name.as_str().into(),
            e.occurred_at.timestamp().into(),
            serde_json::Value::Object(e.properties.clone()).to_string().into(),
            e.event_ref.as_ref().into(),
            t.into(),
        ]);
    }
    c.insert_rows("events", &["customer_id", "name", "occurred_at", "properties", "event_ref", "created_at"], &rows)?;
    Ok(rows.len() as u64)
}

/// A customer's events, newest first.
pub fn events(c: &mut dyn Conn, customer_id: i64, limit: i64, offset: i64) -> Result<Vec<Event>, StoreError> {
    c.query(
        "SELECT id, customer_id, name, occurred_at, properties FROM events WHERE customer_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2 OFFSET $3",
        params![customer_id, limit, offset],
    )?
    .iter()
    .map(|r| {
        Ok(Event {
            id: r.int(0)?,
            customer_id: r.int(1)?,
            name: r.text(2)?,
            occurred_at: instant(r.int(3)?),
            properties: serde_json::from_str(&r.text(4)?).unwrap_or_default(),
        })
    })
    .collect()
}

/// Deletes events older than `before` (Unix seconds): the retention policy. Returns how many.
pub fn purge_events_before(c: &mut dyn Conn, before: i64) -> Result<u64, StoreError> {
    c.execute("DELETE FROM events WHERE occurred_at < $1", params![before])
}

/// Deletes messages sent before `before` (Unix seconds): the retention policy. Returns how many.
pub fn purge_communications_before(c: &mut dyn Conn, before: i64) -> Result<u64, StoreError> {
    c.execute("DELETE FROM communications WHERE sent_at < $1", params![before])
}

/// A customer's timeline: orders, returns, messages, interactions (with their resolution
/// note), tasks done or cancelled (with their outcome, when they were) and the records merged
/// into the customer, newest first.
pub fn timeline(c: &mut dyn Conn, customer_id: i64, limit: i64, offset: i64) -> Result<Vec<TimelineEntry>, StoreError> {
    let rows = c.query(
        "SELECT kind, id, at, summary, amount, status FROM ( \
           SELECT 'order' AS kind, id, placed_at AS at, order_ref AS summary, total AS amount, status FROM orders WHERE customer_id = $1 \
           UNION ALL SELECT 'return', id, returned_at, return_ref, amount, NULL FROM returns WHERE customer_id = $1 \
           UNION ALL SELECT 'communication', id, sent_at, COALESCE(subject, channel), NULL, status FROM communications WHERE customer_id = $1 \
           UNION ALL SELECT 'interaction', id, occurred_at, body || COALESCE(' → ' || resolution, ''), NULL, status FROM interactions WHERE customer_id = $1 \
           UNION ALL SELECT 'task', id, done_at, title || COALESCE(' → ' || outcome, ''), NULL, status FROM tasks WHERE customer_id = $1 AND done_at IS NOT NULL \
           UNION ALL SELECT 'survey', i.id, i.answered_at, s.name || ': ' || COALESCE(CAST(i.score AS TEXT), i.reason, '') \
             || COALESCE(' “' || i.comment || '”', ''), NULL, NULL FROM survey_invitations i JOIN surveys s ON s.id = i.survey_id \
             WHERE i.customer_id = $1 AND i.answered_at IS NOT NULL \
           UNION ALL SELECT 'review', id, submitted_at, COALESCE(NULLIF(sku, ''), 'order') || ': ' || CAST(stars AS TEXT) \
             || '★' || COALESCE(' “' || body || '”', ''), NULL, NULL FROM reviews \
             WHERE customer_id = $1 AND submitted_at IS NOT NULL \
           UNION ALL SELECT 'merge', id, merged_at, merged_external_id, NULL, NULL FROM customer_merges WHERE customer_id = $1 \
         ) t ORDER BY at DESC, kind, id DESC LIMIT $2 OFFSET $3",
        params![customer_id, limit, offset],
    )?;
    rows.iter()
        .map(|r| {
            let kind = r.text(0)?;
            let raw = r.text(3)?;
            let summary = match kind.as_str() {
                "order" => format!("Order {raw}"),
                "return" => format!("Return {raw}"),
                "merge" => format!("Merged {raw}"),
                _ => raw,
            };
            Ok(TimelineEntry {
                kind,
                id: r.int(1)?,
                at: instant(r.int(2)?),
                summary,
                amount: r.opt_int(4)?.map(Amount::from_scaled),
                status: r.opt_text(5)?,
            })
        })
        .collect()
}
