//! Journeys as stored: the journey documents, the campaign each step sends through, the
//! enrolments (a customer in a journey for one occurrence of its trigger, with the step due
//! next), the trigger queries that find occurrences, and the per-customer checks a step makes
//! before it queues its message.

use crate::db::{Conn, Row};
use crate::{params, StoreError};

/// A journey as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journey {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// The trigger's kind (`first_purchase`, …).
    pub trigger_kind: String,
    /// The journey document as JSON (docs/campaigns.md, "Journeys").
    pub definition: String,
    /// Created (Unix seconds): triggers fire for occurrences from then on.
    pub created_at: i64,
    /// When it was paused (it enters nobody and sends nothing), if it is.
    pub paused_at: Option<i64>,
}

fn journey(r: &Row) -> Result<Journey, StoreError> {
    Ok(Journey {
        id: r.int("id")?,
        name: r.text("name")?,
        trigger_kind: r.text("trigger_kind")?,
        definition: r.text("definition")?,
        created_at: r.int("created_at")?,
        paused_at: r.opt_int("paused_at")?,
    })
}

const JOURNEY_COLUMNS: &str = "id, name, trigger_kind, definition, created_at, paused_at";

/// Pauses a journey (`true`) or resumes it; `false` when it already was.
pub fn set_paused(c: &mut dyn Conn, id: i64, paused: bool) -> Result<bool, StoreError> {
    let now = c.now();
    let sql = if paused {
        "UPDATE journeys SET paused_at = $2, updated_at = $2 WHERE id = $1 AND paused_at IS NULL"
    } else {
        "UPDATE journeys SET paused_at = NULL, updated_at = $2 WHERE id = $1 AND paused_at IS NOT NULL"
    };
    Ok(c.execute(sql, params![id, now])? == 1)
}

/// Creates a journey; `None` when the name is taken.
pub fn create(c: &mut dyn Conn, name: &str, trigger_kind: &str, definition: &str) -> Result<Option<i64>, StoreError> {
    let now = c.now();
    c.query_opt(
        "INSERT INTO journeys (name, trigger_kind, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (name) DO NOTHING RETURNING id",
        params![name, trigger_kind, definition, now],
    )?
    .map(|r| r.int("id"))
    .transpose()
}

/// Records the campaign a journey's step (at `position`, from 0) sends through.
pub fn add_step(
    c: &mut dyn Conn,
    journey_id: i64,
    position: i64,
    step_key: &str,
    campaign_id: i64,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO journey_steps (journey_id, position, step_key, campaign_id) VALUES ($1, $2, $3, $4)",
        params![journey_id, position, step_key, campaign_id],
    )?;
    Ok(())
}

/// A journey by name.
pub fn by_name(c: &mut dyn Conn, name: &str) -> Result<Option<Journey>, StoreError> {
    let sql = format!("SELECT {JOURNEY_COLUMNS} FROM journeys WHERE name = $1");
    c.query_opt(&sql, params![name])?.as_ref().map(journey).transpose()
}

/// Every journey, oldest first.
pub fn list(c: &mut dyn Conn) -> Result<Vec<Journey>, StoreError> {
    let sql = format!("SELECT {JOURNEY_COLUMNS} FROM journeys ORDER BY id");
    c.query(&sql, &[])?.iter().map(journey).collect()
}

/// A journey's steps in order: (step key, campaign id).
pub fn steps(c: &mut dyn Conn, journey_id: i64) -> Result<Vec<(String, i64)>, StoreError> {
    c.query(
        "SELECT step_key, campaign_id FROM journey_steps WHERE journey_id = $1 ORDER BY position",
        params![journey_id],
    )?
    .iter()
    .map(|r| Ok((r.text("step_key")?, r.int("campaign_id")?)))
    .collect()
}

/// A customer's entry into a journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnrolment {
    /// Customer.
    pub customer_id: i64,
    /// What entered them, unique per customer and journey (`first`, `order:42`, `birthday:2027`).
    pub occurrence: String,
    /// When the event behind it happened (the order, the cart event; Unix seconds): orders
    /// after it make the customer leave a journey that exits on an order.
    pub occurred_at: i64,
    /// When the customer enters (the trigger's delay after the event).
    pub entered_at: i64,
}

/// Enrols customers in a journey with the first step due at each one's `due_at`; an
/// occurrence already enrolled is left alone. Returns how many were new.
pub fn enrol(c: &mut dyn Conn, journey_id: i64, entries: &[(NewEnrolment, i64)]) -> Result<usize, StoreError> {
    let now = c.now();
    let mut added = 0;
    for (e, due_at) in entries {
        added += c.execute(
            "INSERT INTO journey_enrolments (journey_id, customer_id, occurrence, occurred_at, entered_at, next_step, \
             due_at, status, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, 'active', $7) \
             ON CONFLICT (journey_id, customer_id, occurrence) DO NOTHING",
            params![journey_id, e.customer_id, e.occurrence.as_str(), e.occurred_at, e.entered_at, *due_at, now],
        )? as usize;
    }
    Ok(added)
}

/// An enrolment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// Id.
    pub id: i64,
    /// Journey.
    pub journey_id: i64,
    /// Customer.
    pub customer_id: i64,
    /// The customer's shop id.
    pub external_id: String,
    /// What entered them.
    pub occurrence: String,
    /// When the event behind it happened.
    pub occurred_at: i64,
    /// When they entered.
    pub entered_at: i64,
    /// The step due next (from 0); the number of steps once done.
    pub next_step: i64,
    /// When it is due.
    pub due_at: Option<i64>,
    /// `active`, `done` or `exited`.
    pub status: String,
    /// Why they left (`ordered`, `unsubscribed`, `matched`, `no_longer_matched`).
    pub exit_reason: Option<String>,
    /// Last changed.
    pub updated_at: i64,
}

const ENROLMENT_COLUMNS: &str = "e.id, e.journey_id, e.customer_id, c.external_id, e.occurrence, e.occurred_at, \
     e.entered_at, e.next_step, e.due_at, e.status, e.exit_reason, e.updated_at";

fn enrolment(r: &Row) -> Result<Enrolment, StoreError> {
    Ok(Enrolment {
        id: r.int("id")?,
        journey_id: r.int("journey_id")?,
        customer_id: r.int("customer_id")?,
        external_id: r.text("external_id")?,
        occurrence: r.text("occurrence")?,
        occurred_at: r.int("occurred_at")?,
        entered_at: r.int("entered_at")?,
        next_step: r.int("next_step")?,
        due_at: r.opt_int("due_at")?,
        status: r.text("status")?,
        exit_reason: r.opt_text("exit_reason")?,
        updated_at: r.int("updated_at")?,
    })
}

/// Active enrolments of a journey whose next step is due at `now`, soonest first.
pub fn due(c: &mut dyn Conn, journey_id: i64, now: i64, limit: i64) -> Result<Vec<Enrolment>, StoreError> {
    let sql = format!(
        "SELECT {ENROLMENT_COLUMNS} FROM journey_enrolments e JOIN customers c ON c.id = e.customer_id \
         WHERE e.status = 'active' AND e.due_at <= $2 AND e.journey_id = $1 ORDER BY e.due_at, e.id LIMIT $3"
    );
    c.query(&sql, params![journey_id, now, limit])?.iter().map(enrolment).collect()
}

/// A journey's enrolments, newest first (at most `limit`).
pub fn enrolments(c: &mut dyn Conn, journey_id: i64, limit: i64) -> Result<Vec<Enrolment>, StoreError> {
    let sql = format!(
        "SELECT {ENROLMENT_COLUMNS} FROM journey_enrolments e JOIN customers c ON c.id = e.customer_id \
         WHERE e.journey_id = $1 ORDER BY e.entered_at DESC, e.id DESC LIMIT $2"
    );
    c.query(&sql, params![journey_id, limit])?.iter().map(enrolment).collect()
}

/// A journey's enrolments counted by status and exit reason.
pub fn counts(c: &mut dyn Conn, journey_id: i64) -> Result<Vec<(String, Option<String>, i64)>, StoreError> {
    c.query(
        "SELECT status, exit_reason, COUNT(*) AS n FROM journey_enrolments WHERE journey_id = $1 \
         GROUP BY status, exit_reason ORDER BY status, exit_reason",
        params![journey_id],
    )?
    .iter()
    .map(|r| Ok((r.text("status")?, r.opt_text("exit_reason")?, r.int("n")?)))
    .collect()
}

/// A journey's enrolments counted by the step due next (the number of steps once done) and
/// status: (next step, status, count).
pub fn step_counts(c: &mut dyn Conn, journey_id: i64) -> Result<Vec<(i64, String, i64)>, StoreError> {
    c.query(
        "SELECT next_step, status, COUNT(*) AS n FROM journey_enrolments WHERE journey_id = $1 \
         GROUP BY next_step, status ORDER BY next_step, status",
        params![journey_id],
    )?
    .iter()
    .map(|r| Ok((r.int("next_step")?, r.text("status")?, r.int("n")?)))
    .collect()
}

/// Moves an active enrolment whose next step is `from_step` on: to `next_step` due at
/// `due_at`, or `done` without one. `false` when another pass moved it first.
pub fn advance(
    c: &mut dyn Conn,
    id: i64,
    from_step: i64,
    next_step: i64,
    due_at: Option<i64>,
) -> Result<bool, StoreError> {
    let now = c.now();
    let status = if due_at.is_some() { "active" } else { "done" };
    Ok(c.execute(
        "UPDATE journey_enrolments SET next_step = $3, due_at = $4, status = $5, updated_at = $6 \
         WHERE id = $1 AND next_step = $2 AND status = 'active'",
        params![id, from_step, next_step, due_at, status, now],
    )? == 1)
}

/// Puts an active enrolment's next step off until `due_at` (quiet hours, a message of the
/// same step still in the queue).
pub fn postpone(c: &mut dyn Conn, id: i64, due_at: i64) -> Result<(), StoreError> {
    let now = c.now();
    c.execute(
        "UPDATE journey_enrolments SET due_at = $2, updated_at = $3 WHERE id = $1 AND status = 'active'",
        params![id, due_at, now],
    )?;
    Ok(())
}

/// Takes a customer out of a journey with the reason. `false` when not active.
pub fn exit(c: &mut dyn Conn, id: i64, reason: &str) -> Result<bool, StoreError> {
    let now = c.now();
    Ok(c.execute(
        "UPDATE journey_enrolments SET status = 'exited', exit_reason = $2, due_at = NULL, updated_at = $3 \
         WHERE id = $1 AND status = 'active'",
        params![id, reason, now],
    )? == 1)
}

/// Reopens a step's campaign for a message (the sender claims only from sending campaigns;
/// one with nothing queued is marked done). `false` when it was cancelled.
pub fn open_step_campaign(c: &mut dyn Conn, campaign_id: i64) -> Result<bool, StoreError> {
    let now = c.now();
    Ok(c.execute(
        "UPDATE campaigns SET state = 'sending', started_at = COALESCE(started_at, $2), send_at = COALESCE(send_at, $2), \
         finished_at = NULL, updated_at = $2 WHERE id = $1 AND state <> 'cancelled'",
        params![campaign_id, now],
    )? == 1)
}

/// What queueing a step's message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// The row was written.
    Written,
    /// The row was there already (written by an earlier pass).
    There,
    /// Another occurrence's message of the same step to the customer is still in the queue.
    Busy,
}

/// Writes a step's recipient row: `queued` (sent from `run_after`) or `skipped` with the
/// reason. One row per campaign, customer and `step`.
pub fn queue_step(
    c: &mut dyn Conn,
    campaign_id: i64,
    customer_id: i64,
    step: &str,
    skipped: Option<&str>,
    run_after: i64,
) -> Result<Queued, StoreError> {
    let status = if skipped.is_some() { "skipped" } else { "queued" };
    let written = c.execute(
        "INSERT INTO campaign_recipients (campaign_id, customer_id, step, arm, status, reason, run_after) \
         VALUES ($1, $2, $3, 'A', $4, $5, $6) ON CONFLICT DO NOTHING",
        params![campaign_id, customer_id, step, status, skipped, run_after],
    )?;
    if written == 1 {
        return Ok(Queued::Written);
    }
    let there = c
        .query_opt(
            "SELECT 1 FROM campaign_recipients WHERE campaign_id = $1 AND customer_id = $2 AND step = $3",
            params![campaign_id, customer_id, step],
        )?
        .is_some();
    Ok(if there { Queued::There } else { Queued::Busy })
}

/// A customer's consent on a consent channel: (status, when it last changed).
pub fn consent(c: &mut dyn Conn, customer_id: i64, channel: &str) -> Result<Option<(String, i64)>, StoreError> {
    c.query_opt(
        "SELECT status, changed_at FROM customer_consents WHERE customer_id = $1 AND channel = $2",
        params![customer_id, channel],
    )?
    .map(|r| Ok((r.text("status")?, r.int("changed_at")?)))
    .transpose()
}

/// A customer's email address, if any.
pub fn email(c: &mut dyn Conn, customer_id: i64) -> Result<Option<String>, StoreError> {
    Ok(c.query_opt("SELECT email FROM customers WHERE id = $1", params![customer_id])?
        .map(|r| r.opt_text("email"))
        .transpose()?
        .flatten()
        .filter(|e| !e.trim().is_empty()))
}

/// A customer's phone number, if any.
pub fn phone(c: &mut dyn Conn, customer_id: i64) -> Result<Option<String>, StoreError> {
    Ok(c.query_opt("SELECT phone FROM customers WHERE id = $1", params![customer_id])?
        .map(|r| r.opt_text("phone"))
        .transpose()?
        .flatten()
        .filter(|p| !p.trim().is_empty()))
}

/// The customer's marketing messages on `channel` since `since`: sent, plus queued or handed
/// over by other campaigns than `campaign_id` (what the frequency cap counts).
pub fn recent_messages(
    c: &mut dyn Conn,
    customer_id: i64,
    channel: &str,
    since: i64,
    campaign_id: i64,
) -> Result<i64, StoreError> {
    c.query_one(
        "SELECT (SELECT COUNT(*) FROM communications WHERE customer_id = $1 AND channel = $2 AND sent_at >= $3 \
           AND purpose = 'marketing') + \
         (SELECT COUNT(*) FROM campaign_recipients r JOIN campaigns k ON k.id = r.campaign_id WHERE r.customer_id = $1 \
           AND r.status IN ('queued', 'handed_over') AND k.channel = $2 AND k.id <> $4) AS n",
        params![customer_id, channel, since, campaign_id],
    )?
    .int("n")
}

/// Whether the customer placed an order (not cancelled) after `after` (Unix seconds).
pub fn ordered_after(c: &mut dyn Conn, customer_id: i64, after: i64) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT 1 FROM orders WHERE customer_id = $1 AND placed_at > $2 AND status <> 'cancelled' LIMIT 1",
        params![customer_id, after],
    )?
    .is_some())
}

/// When the customer's latest `limit` orders were placed (Unix seconds), newest first.
pub fn order_times(c: &mut dyn Conn, customer_id: i64, limit: i64) -> Result<Vec<i64>, StoreError> {
    c.query(
        "SELECT placed_at FROM orders WHERE customer_id = $1 AND status <> 'cancelled' ORDER BY placed_at DESC LIMIT $2",
        params![customer_id, limit],
    )?
    .iter()
    .map(|r| r.int("placed_at"))
    .collect()
}

/// An occurrence a trigger query found: (customer, key part, when).
pub type Found = (i64, i64, i64);

/// Customers' first orders placed in `[from, to]`: (customer, order id, placed at).
pub fn first_orders(c: &mut dyn Conn, from: i64, to: i64) -> Result<Vec<Found>, StoreError> {
    found(
        c,
        "SELECT o.customer_id, o.id, o.placed_at FROM orders o WHERE o.placed_at >= $1 AND o.placed_at <= $2 \
         AND o.status <> 'cancelled' AND NOT EXISTS (SELECT 1 FROM orders p WHERE p.customer_id = o.customer_id \
           AND p.status <> 'cancelled' AND (p.placed_at < o.placed_at OR (p.placed_at = o.placed_at AND p.id < o.id))) \
         ORDER BY o.placed_at, o.id",
        params![from, to],
    )
}

/// Orders placed in `[from, to]`: (customer, order id, placed at).
pub fn orders_between(c: &mut dyn Conn, from: i64, to: i64) -> Result<Vec<Found>, StoreError> {
    found(
        c,
        "SELECT customer_id, id, placed_at FROM orders WHERE placed_at >= $1 AND placed_at <= $2 \
         AND status <> 'cancelled' ORDER BY placed_at, id",
        params![from, to],
    )
}

/// Customers' last orders, placed in `[from, to]` with none after, of customers in one of the
/// loyal `classes`: (customer, order id, placed at).
pub fn last_orders_of_classes(
    c: &mut dyn Conn,
    classes: &[String],
    from: i64,
    to: i64,
) -> Result<Vec<Found>, StoreError> {
    let mut out = Vec::new();
    for class in classes {
        out.extend(found(
            c,
            "SELECT o.customer_id, o.id, o.placed_at FROM orders o JOIN customer_scores s ON s.customer_id = o.customer_id \
             WHERE o.placed_at >= $1 AND o.placed_at <= $2 AND o.status <> 'cancelled' AND s.loyal_class = $3 \
             AND NOT EXISTS (SELECT 1 FROM orders p WHERE p.customer_id = o.customer_id AND p.status <> 'cancelled' \
               AND (p.placed_at > o.placed_at OR (p.placed_at = o.placed_at AND p.id > o.id))) \
             ORDER BY o.placed_at, o.id",
            params![from, to, class.as_str()],
        )?);
    }
    Ok(out)
}

/// Events named `name` in `[from, to]` with neither a later event of that name nor an order
/// by the customer within `hours` after them: (customer, event id, when).
pub fn events_without_order(
    c: &mut dyn Conn,
    name: &str,
    hours: i64,
    from: i64,
    to: i64,
) -> Result<Vec<Found>, StoreError> {
    found(
        c,
        "SELECT e.customer_id, e.id, e.occurred_at FROM events e WHERE e.name = $1 AND e.occurred_at >= $2 \
         AND e.occurred_at <= $3 \
         AND NOT EXISTS (SELECT 1 FROM events f WHERE f.customer_id = e.customer_id AND f.name = e.name \
           AND f.occurred_at > e.occurred_at AND f.occurred_at <= e.occurred_at + $4) \
         AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = e.customer_id AND o.status <> 'cancelled' \
           AND o.placed_at >= e.occurred_at) \
         ORDER BY e.occurred_at, e.id",
        params![name, from, to, hours * 3600],
    )
}

/// Lifecycle changes to `stage` recorded in `[from, to]`: (customer, change id, recorded at).
pub fn lifecycle_changes(c: &mut dyn Conn, stage: &str, from: i64, to: i64) -> Result<Vec<Found>, StoreError> {
    found(
        c,
        "SELECT customer_id, id, created_at FROM lifecycle_changes WHERE to_stage = $1 AND created_at >= $2 \
         AND created_at <= $3 ORDER BY created_at, id",
        params![stage, from, to],
    )
}

/// Customers with points that expire after `now` and up to `until`: (customer, 0, the first
/// such expiry).
pub fn points_expiring(c: &mut dyn Conn, now: i64, until: i64) -> Result<Vec<Found>, StoreError> {
    found(
        c,
        "SELECT customer_id, 0 AS key, MIN(expires_at) AS at FROM loyalty_lots WHERE remaining > 0 \
         AND expires_at > $1 AND expires_at <= $2 GROUP BY customer_id ORDER BY customer_id",
        params![now, until],
    )
}

/// Customers whose birthday (`YYYY-MM-DD`) falls on one of the `MM-DD` days: (customer, month
/// and day as written).
pub fn birthdays(c: &mut dyn Conn, month_days: &[String]) -> Result<Vec<(i64, String)>, StoreError> {
    let mut out = Vec::new();
    for md in month_days {
        for r in c.query(
            "SELECT id, birthday FROM customers WHERE birthday IS NOT NULL AND substr(birthday, 6, 5) = $1 ORDER BY id",
            params![md.as_str()],
        )? {
            out.push((r.int("id")?, r.text("birthday")?));
        }
    }
    Ok(out)
}

/// A tier change recorded in `[from, to]`: (change id, customer, tier before, tier after, when).
pub type TierChange = (i64, i64, Option<String>, String, i64);

/// Tier changes recorded in `[from, to]`, oldest first.
pub fn tier_changes(c: &mut dyn Conn, from: i64, to: i64) -> Result<Vec<TierChange>, StoreError> {
    c.query(
        "SELECT id, customer_id, from_tier, to_tier, changed_at FROM loyalty_tier_history \
         WHERE changed_at >= $1 AND changed_at <= $2 ORDER BY changed_at, id",
        params![from, to],
    )?
    .iter()
    .map(|r| Ok((r.int(0)?, r.int(1)?, r.opt_text(2)?, r.text(3)?, r.int(4)?)))
    .collect()
}

/// The outbox topic of a promotion's announcement.
pub const PROMOTION_STARTED: &str = "loyalty.promotion_started";

/// Promotion announcements (outbox messages [`PROMOTION_STARTED`]) written in `[from, to]`,
/// whatever became of them: (payload, when).
pub fn promotion_announcements(c: &mut dyn Conn, from: i64, to: i64) -> Result<Vec<(String, i64)>, StoreError> {
    c.query(
        "SELECT payload, created_at FROM jobs WHERE kind = $1 AND created_at >= $2 AND created_at <= $3 \
         ORDER BY created_at, id",
        params![PROMOTION_STARTED, from, to],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

/// Loyalty members (customers with a loyalty account) in one of `tiers`, or every member when
/// `tiers` is empty, by id.
pub fn members_in_tiers(c: &mut dyn Conn, tiers: &[String]) -> Result<Vec<i64>, StoreError> {
    if tiers.is_empty() {
        return c
            .query("SELECT customer_id FROM loyalty_accounts ORDER BY customer_id", &[])?
            .iter()
            .map(|r| r.int(0))
            .collect();
    }
    let mut out = Vec::new();
    for tier in tiers {
        for r in c.query("SELECT customer_id FROM loyalty_accounts WHERE tier = $1", params![tier.as_str()])? {
            out.push(r.int(0)?);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Whether a journey has an enrolment for `occurrence` (anyone's).
pub fn has_occurrence(c: &mut dyn Conn, journey_id: i64, occurrence: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT 1 FROM journey_enrolments WHERE journey_id = $1 AND occurrence = $2 LIMIT 1",
        params![journey_id, occurrence],
    )?
    .is_some())
}

/// Orders placed in `[from, to]` that stamped a card (not undone): (customer, the stamped
/// cards' ids as JSON, placed at), oldest first.
pub fn stamping_orders(c: &mut dyn Conn, from: i64, to: i64) -> Result<Vec<(i64, String, i64)>, StoreError> {
    c.query(
        "SELECT customer_id, stamps, placed_at FROM loyalty_order_effects WHERE placed_at >= $1 AND placed_at <= $2 \
         AND stamps <> '[]' AND stamps_undone = 0 ORDER BY placed_at, order_id",
        params![from, to],
    )?
    .iter()
    .map(|r| Ok((r.int(0)?, r.text(1)?, r.int(2)?)))
    .collect()
}

/// A customer's stamp cards as their loyalty account stores them (JSON: card id → [stamps,
/// last stamp day]); `None` without an account.
pub fn stamp_cards(c: &mut dyn Conn, customer_id: i64) -> Result<Option<String>, StoreError> {
    c.query_opt("SELECT cards FROM loyalty_accounts WHERE customer_id = $1", params![customer_id])?
        .map(|r| r.text(0))
        .transpose()
}

/// How many times a customer filled stamp card `card_id` (the rewards it issued them).
pub fn stamp_card_fills(c: &mut dyn Conn, customer_id: i64, card_id: &str) -> Result<i64, StoreError> {
    let suffix = format!(":card:{card_id}");
    c.query_one(
        "SELECT COUNT(*) FROM loyalty_coupons WHERE customer_id = $1 AND source = 'stamp_card' \
         AND substr(source_ref, length(source_ref) - $3 + 1) = $2",
        params![customer_id, suffix.as_str(), suffix.chars().count() as i64],
    )?
    .int(0)
}

fn found(c: &mut dyn Conn, sql: &str, p: &[crate::Value]) -> Result<Vec<Found>, StoreError> {
    let mut out = Vec::new();
    c.query_each(sql, p, &mut |r| {
        out.push((r.int(0)?, r.int(1)?, r.int(2)?));
        Ok(())
    })?;
    Ok(out)
}
