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

const INTERACTION: &str =
    "SELECT id, customer_id, kind, channel, body, status, staff, occurred_at, resolved_at FROM interactions";

fn decode_interaction(r: &Row) -> Result<Interaction, StoreError> {
    let bad = |what: &str| StoreError::Decode(format!("unknown interaction {what}"));
    Ok(Interaction {
        id: r.int(0)?,
        customer_id: r.int(1)?,
        kind: r.text(2)?.parse().map_err(|_| bad("kind"))?,
        channel: r.opt_text(3)?,
        body: r.text(4)?,
        status: r.text(5)?.parse().map_err(|_| bad("status"))?,
        staff: r.opt_text(6)?,
        occurred_at: instant(r.int(7)?),
        resolved_at: r.opt_int(8)?.map(instant),
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
    c.query_opt(&format!("{INTERACTION} WHERE id = $1"), params![id])?.as_ref().map(decode_interaction).transpose()
}

/// Interactions, newest first: of one customer and/or with one status.
pub fn interactions(
    c: &mut dyn Conn,
    customer_id: Option<i64>,
    status: Option<InteractionStatus>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Interaction>, StoreError> {
    let sql = format!(
        "{INTERACTION} WHERE ($1 IS NULL OR customer_id = $1) AND ($2 IS NULL OR status = $2) \
         ORDER BY occurred_at DESC, id DESC LIMIT $3 OFFSET $4"
    );
    let p = [Value::from(customer_id), Value::from(status.map(|s| s.as_str())), limit.into(), offset.into()];
    c.query(&typed_nulls(c.backend(), &sql), &p)?.iter().map(decode_interaction).collect()
}

/// PostgreSQL cannot infer the type of a parameter used only in `$n IS NULL`; the casts say it.
fn typed_nulls(backend: crate::Backend, sql: &str) -> String {
    match backend {
        crate::Backend::Postgres => {
            sql.replace("($1 IS NULL", "($1::BIGINT IS NULL").replace("($2 IS NULL", "($2::TEXT IS NULL")
        }
        crate::Backend::Sqlite => sql.to_string(),
    }
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

/// A customer's timeline: orders, returns, messages and interactions, newest first.
pub fn timeline(c: &mut dyn Conn, customer_id: i64, limit: i64, offset: i64) -> Result<Vec<TimelineEntry>, StoreError> {
    let rows = c.query(
        "SELECT kind, id, at, summary, amount, status FROM ( \
           SELECT 'order' AS kind, id, placed_at AS at, order_ref AS summary, total AS amount, status FROM orders WHERE customer_id = $1 \
           UNION ALL SELECT 'return', id, returned_at, return_ref, amount, NULL FROM returns WHERE customer_id = $1 \
           UNION ALL SELECT 'communication', id, sent_at, COALESCE(subject, channel), NULL, status FROM communications WHERE customer_id = $1 \
           UNION ALL SELECT 'interaction', id, occurred_at, body, NULL, status FROM interactions WHERE customer_id = $1 \
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
