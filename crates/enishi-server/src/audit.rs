//! Writing and reading the audit log. Entries are appended in the same transaction as the
//! change they record, so a change is never made without its entry (nor an entry without the
//! change). Personal data stays out of the log: a customer edit names the fields it changed,
//! not their values, so erasing a customer leaves nothing of them here.

use crate::api::shared::{ok, page_limit, QueryParams};
use crate::auth::Admin;
use crate::openapi::{BadRequest, Forbidden, Internal, Unauthorized, Unavailable, UnprocessableEntity};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::response::Response;
use enishi_store::repo::audit::{self, NewAuditEntry};
use enishi_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// Appends an entry now, inside the caller's transaction.
pub(crate) fn record(
    c: &mut dyn Conn,
    actor: &str,
    action: &str,
    subject: &str,
    after: Option<Value>,
) -> Result<(), StoreError> {
    let after = after.map(|v| v.to_string());
    let entry = NewAuditEntry { actor, action, subject, before: None, after: after.as_deref() };
    let now = c.now();
    audit::append(c, &entry, now)
}

/// Appends an entry with the state before and after.
pub(crate) fn record_change(
    c: &mut dyn Conn,
    actor: &str,
    action: &str,
    subject: &str,
    before: Value,
    after: Value,
) -> Result<(), StoreError> {
    let (before, after) = (before.to_string(), after.to_string());
    let entry = NewAuditEntry { actor, action, subject, before: Some(&before), after: Some(&after) };
    let now = c.now();
    audit::append(c, &entry, now)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    /// Only entries with an id below this (the `next_before` of the previous page).
    #[param(minimum = 0)]
    pub(crate) before: Option<i64>,
    /// Page size, 1 to 500 (values outside are refused with 422).
    #[param(default = 50, minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

// A page of the audit log, newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct AuditPage {
    #[schema(inline)]
    items: Vec<AuditItem>,
    #[schema(required = true)]
    next_before: Option<i64>,
}

// An entry of the audit log, as answered.
#[derive(Serialize, ToSchema)]
struct AuditItem {
    id: i64,
    /// Unix seconds.
    at: i64,
    actor: String,
    action: String,
    subject: String,
    /// JSON.
    before: Option<String>,
    /// JSON.
    after: Option<String>,
}

impl From<audit::AuditEntry> for AuditItem {
    fn from(e: audit::AuditEntry) -> Self {
        let audit::AuditEntry { id, at, actor, action, subject, before, after } = e;
        AuditItem { id, at, actor, action, subject, before, after }
    }
}

/// `GET /api/v1/audit`: the newest entries first (admins only); `before` pages back.
#[utoipa::path(get, path = "/api/v1/audit", operation_id = "listAudit", tag = "meta",
    summary = "The audit log",
    description = "Who (a user or a token, by label), what, when, and the state before and after, newest first: points adjustments and redemptions, refunds, tier changes, programme changes, settings, users and roles, tokens, customer edits (the fields changed, not their values) and deletions, bulk reads of customers, exports and ledger repairs. Append-only. Roles: admin.",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries.", body = inline(AuditPage)),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
pub(crate) async fn list(
    Admin(_): Admin,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Response, ApiError> {
    let limit = page_limit(q.limit)?;
    let before = q.before.map(|b| crate::api::shared::not_negative("before", Some(b))).transpose()?;
    let items = state.run(move |s| Ok(s.read(|c| audit::recent(c, before, limit))?)).await?;
    let next_before = if items.len() as i64 == limit { items.last().map(|e| e.id) } else { None };
    Ok(ok(AuditPage { items: items.into_iter().map(AuditItem::from).collect(), next_before }))
}
