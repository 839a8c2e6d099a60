//! Writing and reading the audit log. Entries are appended in the same transaction as the
//! change they record, so a change is never made without its entry (nor an entry without the
//! change). Personal data stays out of the log: a customer edit names the fields it changed,
//! not their values, so erasing a customer leaves nothing of them here.

use crate::api::{ok, page_limit, QueryParams};
use crate::auth::Admin;
use crate::console::admin_only;
use crate::shell::table;
use crate::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use enishi_store::repo::audit::{self, NewAuditEntry};
use enishi_store::{Conn, StoreError};
use maud::html;
use serde::Deserialize;
use serde_json::{json, Value};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/v1/audit`: the newest entries first (admins only); `before` pages back.
pub(crate) async fn list(
    Admin(_): Admin,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Response, ApiError> {
    let limit = page_limit(q.limit)?;
    let before = q.before.map(|b| crate::api::not_negative("before", Some(b))).transpose()?;
    let items = state.run(move |s| Ok(s.read(|c| audit::recent(c, before, limit))?)).await?;
    let next = if items.len() as i64 == limit { items.last().map(|e| e.id) } else { None };
    Ok(ok(json!({"items": items, "next_before": next})))
}

/// The console's audit page (admins): the newest 200 entries, `?before=ID` for older ones.
pub(crate) async fn page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<AuditQuery>) -> Response {
    let v = match admin_only(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tr = v.tr();
    let before = q.before;
    let items = match state.run(move |s| Ok(s.read(|c| audit::recent(c, before, 200))?)).await {
        Ok(items) => items,
        Err(e) => return e.into_response(),
    };
    let clock = state.workspace().clock;
    let html = html! {
        h1 { (tr.t("Audit log")) }
        p class="muted" { (tr.t("Who changed what, newest first. Entries cannot be changed or deleted.")) }
        (table(None, Some("keep"), &[tr.t("When"), tr.t("Who"), tr.t("What"), tr.t("Subject"), tr.t("Details")], html! {
            @for e in &items {
                @let details = [e.before.as_deref().map(|b| format!("{b} → ")), e.after.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<String>();
                tr {
                    td { (clock.format(enishi_store::instant(e.at))) }
                    td { (e.actor) }
                    td { (e.action) }
                    td { (e.subject) }
                    td { code { (details) } }
                }
            }
        }))
        @if let (Some(last), 200) = (items.last(), items.len()) {
            p { a href={ "/audit?before=" (last.id) } { (tr.t("Older →")) } }
        }
    };
    v.page(tr.t("Audit log"), html).into_response()
}
