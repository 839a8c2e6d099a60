//! Closing the loop: changes the business made ("delivery now within 3 days") and the
//! feedback each answers — interactions, survey answers and reviews (docs/listening.md). Each
//! link keeps the feedback's customer, so the customers who raised it are one lookup.

use crate::db::{Conn, Row};
use crate::model::instant;
use crate::{params, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The kinds of feedback a change is linked to: an interaction, a survey answer (its
/// invitation's id) and a review.
pub const FEEDBACK_KINDS: [&str; 3] = ["interaction", "survey", "review"];

/// A change the business made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Enishi's id.
    pub id: i64,
    /// Its unique short key (`delivery-3-days`), used by the `raised` segment condition.
    pub key: String,
    /// What changed, in a line.
    pub title: String,
    /// More words about it.
    pub description: String,
    /// The day it took effect, `YYYY-MM-DD`.
    pub changed_on: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// Feedback linked to it.
    pub feedback: i64,
    /// Customers who raised that feedback.
    pub customers: i64,
}

const SELECT: &str = "SELECT ch.id, ch.key, ch.title, ch.description, ch.changed_on, ch.created_at, \
     (SELECT COUNT(*) FROM change_feedback f WHERE f.change_id = ch.id) AS feedback, \
     (SELECT COUNT(DISTINCT f.customer_id) FROM change_feedback f WHERE f.change_id = ch.id) AS customers \
     FROM changes ch";

fn decode(r: &Row) -> Result<Change, StoreError> {
    Ok(Change {
        id: r.int("id")?,
        key: r.text("key")?,
        title: r.text("title")?,
        description: r.text("description")?,
        changed_on: r.text("changed_on")?,
        created_at: instant(r.int("created_at")?),
        feedback: r.int("feedback")?,
        customers: r.int("customers")?,
    })
}

/// Records a change; `None` when the key is taken.
pub fn create(
    c: &mut dyn Conn,
    key: &str,
    title: &str,
    description: &str,
    changed_on: &str,
) -> Result<Option<Change>, StoreError> {
    let now = c.now();
    let made = c.query_opt(
        "INSERT INTO changes (key, title, description, changed_on, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (key) DO NOTHING RETURNING id",
        params![key, title, description, changed_on, now],
    )?;
    match made {
        Some(r) => get(c, r.int(0)?),
        None => Ok(None),
    }
}

/// One change.
pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Change>, StoreError> {
    c.query_opt(&format!("{SELECT} WHERE ch.id = $1"), params![id])?.as_ref().map(decode).transpose()
}

/// A change by its key.
pub fn by_key(c: &mut dyn Conn, key: &str) -> Result<Option<Change>, StoreError> {
    c.query_opt(&format!("{SELECT} WHERE ch.key = $1"), params![key])?.as_ref().map(decode).transpose()
}

/// Every change, the latest to take effect first.
pub fn list(c: &mut dyn Conn) -> Result<Vec<Change>, StoreError> {
    c.query(&format!("{SELECT} ORDER BY ch.changed_on DESC, ch.id DESC"), &[])?.iter().map(decode).collect()
}

/// The customer of feedback `kind` `id`: an interaction, an answered survey invitation, or a
/// written review. `None` when there is no such feedback.
pub fn feedback_customer(c: &mut dyn Conn, kind: &str, id: i64) -> Result<Option<i64>, StoreError> {
    let sql = match kind {
        "interaction" => "SELECT customer_id FROM interactions WHERE id = $1",
        "survey" => "SELECT customer_id FROM survey_invitations WHERE id = $1 AND answered_at IS NOT NULL",
        "review" => "SELECT customer_id FROM reviews WHERE id = $1 AND status <> 'invited'",
        _ => return Ok(None),
    };
    c.query_opt(sql, params![id])?.map(|r| r.int(0)).transpose()
}

/// What linking did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// Linked now.
    Linked,
    /// It was linked already.
    Already,
    /// There is no such feedback.
    NoFeedback,
}

/// Links feedback `kind` `feedback_id` (see [`FEEDBACK_KINDS`]) to change `change_id`.
pub fn link(c: &mut dyn Conn, change_id: i64, kind: &str, feedback_id: i64) -> Result<Linked, StoreError> {
    let Some(customer) = feedback_customer(c, kind, feedback_id)? else { return Ok(Linked::NoFeedback) };
    let now = c.now();
    let made = c.execute(
        "INSERT INTO change_feedback (change_id, customer_id, kind, feedback_id, linked_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (change_id, kind, feedback_id) DO NOTHING",
        params![change_id, customer, kind, feedback_id, now],
    )?;
    Ok(if made > 0 { Linked::Linked } else { Linked::Already })
}

/// Removes the link of feedback `kind` `feedback_id` to change `change_id`; `false` when there
/// was none.
pub fn unlink(c: &mut dyn Conn, change_id: i64, kind: &str, feedback_id: i64) -> Result<bool, StoreError> {
    Ok(c.execute(
        "DELETE FROM change_feedback WHERE change_id = $1 AND kind = $2 AND feedback_id = $3",
        params![change_id, kind, feedback_id],
    )? > 0)
}

/// One piece of feedback linked to a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feedback {
    /// `interaction`, `survey` or `review`.
    pub kind: String,
    /// The interaction's, invitation's or review's id.
    pub feedback_id: i64,
    /// The customer who gave it.
    pub customer_id: i64,
    /// The customer's name.
    pub customer: Option<String>,
    /// What they said: the interaction's text, the survey's comment, the review's words.
    pub text: Option<String>,
    /// When they said it.
    pub at: Option<DateTime<Utc>>,
    /// When it was linked.
    pub linked_at: DateTime<Utc>,
}

/// The feedback linked to change `change_id`, the newest link first.
pub fn feedback(c: &mut dyn Conn, change_id: i64) -> Result<Vec<Feedback>, StoreError> {
    c.query(
        "SELECT f.kind, f.feedback_id, f.customer_id, k.name, f.linked_at, \
           COALESCE(i.body, s.comment, r.body) AS text, COALESCE(i.occurred_at, s.answered_at, r.submitted_at) AS at \
         FROM change_feedback f JOIN customers k ON k.id = f.customer_id \
         LEFT JOIN interactions i ON f.kind = 'interaction' AND i.id = f.feedback_id \
         LEFT JOIN survey_invitations s ON f.kind = 'survey' AND s.id = f.feedback_id \
         LEFT JOIN reviews r ON f.kind = 'review' AND r.id = f.feedback_id \
         WHERE f.change_id = $1 ORDER BY f.linked_at DESC, f.id DESC",
        params![change_id],
    )?
    .iter()
    .map(|r| {
        Ok(Feedback {
            kind: r.text("kind")?,
            feedback_id: r.int("feedback_id")?,
            customer_id: r.int("customer_id")?,
            customer: r.opt_text("name")?,
            text: r.opt_text("text")?,
            at: r.opt_int("at")?.map(instant),
            linked_at: instant(r.int("linked_at")?),
        })
    })
    .collect()
}

/// The changes linked to feedback customer `customer_id` gave, the latest to take effect first.
pub fn of_customer(c: &mut dyn Conn, customer_id: i64) -> Result<Vec<Change>, StoreError> {
    c.query(
        &format!(
            "{SELECT} WHERE ch.id IN (SELECT change_id FROM change_feedback WHERE customer_id = $1) \
             ORDER BY ch.changed_on DESC, ch.id DESC"
        ),
        params![customer_id],
    )?
    .iter()
    .map(decode)
    .collect()
}
