//! What happened with a customer besides orders: messages sent (communication history),
//! requests and complaints (interaction history), behavioural events; and the timeline that
//! merges them with orders and returns.

use crate::db::{Conn, Row, Rows, Value};
use crate::model::{instant, Communication, Event, Interaction, NewEvent, NewInteraction, TimelineEntry};
use crate::repo::query_in;
use crate::{params, StoreError};
use enishi_core::{Amount, InteractionStatus};
use std::collections::HashSet;

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
const INTERACTION_COLUMNS: [&str; 9] =
    ["id", "customer_id", "kind", "channel", "body", "status", "staff", "occurred_at", "resolved_at"];

/// `SELECT` of every interaction column, to which the caller adds conditions.
fn interactions_where() -> sea_query::SelectStatement {
    use sea_query::{Alias, Query};
    Query::select().columns(INTERACTION_COLUMNS.map(Alias::new)).from(Alias::new("interactions")).to_owned()
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
    })
}

/// Records an interaction.
pub fn add_interaction(c: &mut dyn Conn, i: &NewInteraction) -> Result<Interaction, StoreError> {
    let resolved = (i.status == InteractionStatus::Resolved).then(|| c.now());
    let id = c
        .query_one(
            "INSERT INTO interactions (customer_id, kind, channel, body, status, staff, occurred_at, resolved_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            params![
                i.customer_id,
                i.kind.as_str(),
                i.channel.clone(),
                i.body.as_str(),
                i.status.as_str(),
                i.staff.clone(),
                i.occurred_at.timestamp(),
                resolved,
                c.now()
            ],
        )?
        .int(0)?;
    get_interaction(c, id)?.ok_or_else(|| StoreError::NotFound(format!("interaction {id}")))
}

/// One interaction.
pub fn get_interaction(c: &mut dyn Conn, id: i64) -> Result<Option<Interaction>, StoreError> {
    use sea_query::{Alias, Expr, ExprTrait};
    let query = interactions_where().and_where(Expr::col(Alias::new("id")).eq(id)).to_owned();
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
    use sea_query::{Alias, Expr, ExprTrait, Order};
    let mut query = interactions_where();
    if let Some(id) = customer_id {
        query.and_where(Expr::col(Alias::new("customer_id")).eq(id));
    }
    if let Some(status) = status {
        query.and_where(Expr::col(Alias::new("status")).eq(status.as_str()));
    }
    query
        .order_by(Alias::new("occurred_at"), Order::Desc)
        .order_by(Alias::new("id"), Order::Desc)
        .limit(u64::try_from(limit).unwrap_or(0))
        .offset(u64::try_from(offset).unwrap_or(0));
    crate::sql::select(c, &query)?.iter().map(decode_interaction).collect()
}

/// Marks an interaction resolved (idempotent); returns it, or `None` when it does not exist.
pub fn resolve_interaction(c: &mut dyn Conn, id: i64, staff: Option<&str>) -> Result<Option<Interaction>, StoreError> {
    c.execute(
        "UPDATE interactions SET status = 'resolved', resolved_at = $1, staff = COALESCE($2, staff) WHERE id = $3 AND status <> 'resolved'",
        params![c.now(), staff, id],
    )?;
    get_interaction(c, id)
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

/// A customer's timeline: orders, returns, messages, interactions and the records merged into
/// the customer, newest first.
pub fn timeline(c: &mut dyn Conn, customer_id: i64, limit: i64, offset: i64) -> Result<Vec<TimelineEntry>, StoreError> {
    let rows = c.query(
        "SELECT kind, id, at, summary, amount, status FROM ( \
           SELECT 'order' AS kind, id, placed_at AS at, order_ref AS summary, total AS amount, status FROM orders WHERE customer_id = $1 \
           UNION ALL SELECT 'return', id, returned_at, return_ref, amount, NULL FROM returns WHERE customer_id = $1 \
           UNION ALL SELECT 'communication', id, sent_at, COALESCE(subject, channel), NULL, status FROM communications WHERE customer_id = $1 \
           UNION ALL SELECT 'interaction', id, occurred_at, body, NULL, status FROM interactions WHERE customer_id = $1 \
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
