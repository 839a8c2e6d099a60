//! Surveys and their invitations: NPS, CSAT and "why did you stop buying?" (docs/listening.md).
//! An invitation holds its answer, so a customer answers an invitation once.

use crate::db::{Conn, Row};
use crate::model::instant;
use crate::{params, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Survey {
    /// Enishi's id.
    pub id: i64,
    /// Its unique name.
    pub name: String,
    /// `nps`, `csat` or `stop`.
    pub kind: String,
    /// Days an invitation's link stays valid.
    pub valid_days: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// An invitation to answer a survey, with the answer once there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invitation {
    /// Enishi's id.
    pub id: i64,
    /// The survey.
    pub survey_id: i64,
    /// The survey's name.
    pub survey: String,
    /// The survey's kind.
    pub kind: String,
    /// The customer invited.
    pub customer_id: i64,
    /// The order it follows, when a rule invited after an order.
    pub order_id: Option<i64>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When its link stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// NPS 0–10 or CSAT level 1–5.
    pub score: Option<i64>,
    /// The stop reason.
    pub reason: Option<String>,
    /// The customer's own words.
    pub comment: Option<String>,
}

/// An answer to record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
    /// NPS 0–10 or CSAT level 1–5.
    pub score: Option<i64>,
    /// The stop reason.
    pub reason: Option<String>,
    /// Free text.
    pub comment: Option<String>,
}

fn decode_survey(r: &Row) -> Result<Survey, StoreError> {
    Ok(Survey {
        id: r.int("id")?,
        name: r.text("name")?,
        kind: r.text("kind")?,
        valid_days: r.int("valid_days")?,
        created_at: instant(r.int("created_at")?),
    })
}

const SELECT_INVITATION: &str = "SELECT i.id, i.survey_id, s.name AS survey, i.kind, i.customer_id, i.order_id, \
     i.created_at, i.expires_at, i.answered_at, i.score, i.reason, i.comment \
     FROM survey_invitations i JOIN surveys s ON s.id = i.survey_id";

fn decode_invitation(r: &Row) -> Result<Invitation, StoreError> {
    Ok(Invitation {
        id: r.int("id")?,
        survey_id: r.int("survey_id")?,
        survey: r.text("survey")?,
        kind: r.text("kind")?,
        customer_id: r.int("customer_id")?,
        order_id: r.opt_int("order_id")?,
        created_at: instant(r.int("created_at")?),
        expires_at: instant(r.int("expires_at")?),
        answered_at: r.opt_int("answered_at")?.map(instant),
        score: r.opt_int("score")?,
        reason: r.opt_text("reason")?,
        comment: r.opt_text("comment")?,
    })
}

/// Makes a survey; `None` when the name is taken.
pub fn create(c: &mut dyn Conn, name: &str, kind: &str, valid_days: i64) -> Result<Option<Survey>, StoreError> {
    let now = c.now();
    let made = c.query_opt(
        "INSERT INTO surveys (name, kind, valid_days, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO NOTHING RETURNING id",
        params![name, kind, valid_days, now],
    )?;
    match made {
        Some(r) => get(c, r.int(0)?),
        None => Ok(None),
    }
}

/// One survey.
pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Survey>, StoreError> {
    c.query_opt("SELECT * FROM surveys WHERE id = $1", params![id])?.as_ref().map(decode_survey).transpose()
}

/// A survey by name.
pub fn by_name(c: &mut dyn Conn, name: &str) -> Result<Option<Survey>, StoreError> {
    c.query_opt("SELECT * FROM surveys WHERE name = $1", params![name])?.as_ref().map(decode_survey).transpose()
}

/// Every survey, newest first.
pub fn list(c: &mut dyn Conn) -> Result<Vec<Survey>, StoreError> {
    c.query("SELECT * FROM surveys ORDER BY created_at DESC, id DESC", &[])?.iter().map(decode_survey).collect()
}

/// Invites each of `customer_ids` who has no unanswered, unexpired invitation to `survey`
/// yet; returns how many were invited.
pub fn invite(c: &mut dyn Conn, survey: &Survey, customer_ids: &[i64]) -> Result<u64, StoreError> {
    let now = c.now();
    let expires = now.saturating_add(survey.valid_days.saturating_mul(86_400));
    let mut made = 0;
    for id in customer_ids {
        made += c.execute(
            "INSERT INTO survey_invitations (survey_id, customer_id, kind, created_at, expires_at) \
             SELECT $1, k.id, $2, $3, $4 FROM customers k WHERE k.id = $5 AND NOT EXISTS ( \
               SELECT 1 FROM survey_invitations i WHERE i.survey_id = $1 AND i.customer_id = k.id \
               AND i.answered_at IS NULL AND i.expires_at > $3)",
            params![survey.id, survey.kind.as_str(), now, expires, *id],
        )?;
    }
    Ok(made)
}

/// Invites the customer of each order placed at or after `since` (Unix seconds) to `survey`,
/// once per order (the key `order:ORDER_ID` is unique); returns how many it invited.
pub fn invite_after_orders(c: &mut dyn Conn, survey: &Survey, since: i64) -> Result<u64, StoreError> {
    let now = c.now();
    let expires = now.saturating_add(survey.valid_days.saturating_mul(86_400));
    c.execute(
        "INSERT INTO survey_invitations (survey_id, customer_id, kind, order_id, rule_key, created_at, expires_at) \
         SELECT $1, o.customer_id, $2, o.id, 'order:' || o.id, $3, $4 FROM orders o \
         WHERE o.placed_at >= $5 ON CONFLICT (rule_key) DO NOTHING",
        params![survey.id, survey.kind.as_str(), now, expires, since],
    )
}

/// One invitation.
pub fn invitation(c: &mut dyn Conn, id: i64) -> Result<Option<Invitation>, StoreError> {
    c.query_opt(&format!("{SELECT_INVITATION} WHERE i.id = $1"), params![id])?
        .as_ref()
        .map(decode_invitation)
        .transpose()
}

/// A survey's invitations, oldest first.
pub fn invitations(c: &mut dyn Conn, survey_id: i64) -> Result<Vec<Invitation>, StoreError> {
    c.query(&format!("{SELECT_INVITATION} WHERE i.survey_id = $1 ORDER BY i.id"), params![survey_id])?
        .iter()
        .map(decode_invitation)
        .collect()
}

/// A customer's answers, newest first (at most `limit`).
pub fn customer_answers(c: &mut dyn Conn, customer_id: i64, limit: i64) -> Result<Vec<Invitation>, StoreError> {
    c.query(
        &format!(
            "{SELECT_INVITATION} WHERE i.customer_id = $1 AND i.answered_at IS NOT NULL \
             ORDER BY i.answered_at DESC, i.id DESC LIMIT $2"
        ),
        params![customer_id, limit],
    )?
    .iter()
    .map(decode_invitation)
    .collect()
}

/// The customer's newest invitation that is neither answered nor expired at `now`.
pub fn open_invitation(c: &mut dyn Conn, customer_id: i64, now: i64) -> Result<Option<Invitation>, StoreError> {
    c.query_opt(
        &format!(
            "{SELECT_INVITATION} WHERE i.customer_id = $1 AND i.answered_at IS NULL AND i.expires_at > $2 \
             ORDER BY i.id DESC LIMIT 1"
        ),
        params![customer_id, now],
    )?
    .as_ref()
    .map(decode_invitation)
    .transpose()
}

/// Records the answer to invitation `id` unless it has one; `false` when it already had one
/// (the first answer stands).
pub fn answer(c: &mut dyn Conn, id: i64, a: &Answer) -> Result<bool, StoreError> {
    let now = c.now();
    Ok(c.execute(
        "UPDATE survey_invitations SET answered_at = $1, score = $2, reason = $3, comment = $4 \
         WHERE id = $5 AND answered_at IS NULL",
        params![now, a.score, a.reason.clone(), a.comment.clone(), id],
    )? > 0)
}
