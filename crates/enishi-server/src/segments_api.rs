//! `/api/v1/segments`: check and count a rule, save segments, read their members, export them
//! and snapshot them (admins and marketers). A rule is given in its text form (a string) or its
//! JSON form (an object); a bad rule is 422 `invalid_rule` with the node's JSON pointer in
//! `field` (under `/rule`), and for text the line and column in `detail`.

use crate::api::{created, ok, page_limit, Body, PathParam, QueryParams};
use crate::auth::Manager;
use crate::{ApiError, AppState};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use enishi_segments::saved;
use enishi_segments::text::{parse, print};
use enishi_segments::{Error, Node};
use enishi_store::repo::segments::{self as repo, Segment};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/segments", get(list).post(create))
        .route("/api/v1/segments/validate", post(validate))
        .route("/api/v1/segments/count", post(count))
        .route("/api/v1/segments/{name}", get(show).put(update).delete(delete))
        .route("/api/v1/segments/{name}/members", get(members))
        .route("/api/v1/segments/{name}/snapshots", post(snapshot))
}

/// A rule as a client sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleBody {
    /// The text form (a string) or the JSON form (an object).
    rule: Value,
    /// Evaluate as of this day (YYYY-MM-DD) instead of today.
    #[serde(default)]
    as_of: Option<String>,
}

/// A segment to save.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SegmentBody {
    name: String,
    #[serde(default)]
    description: String,
    rule: Value,
}

/// A segment to update (its name is in the path).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SegmentUpdate {
    #[serde(default)]
    description: String,
    rule: Value,
}

/// A snapshot to take.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotBody {
    label: String,
}

/// A page of members.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MembersQuery {
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

/// A saved segment as the API answers it.
#[derive(Serialize)]
pub(crate) struct SegmentView {
    name: String,
    description: String,
    /// The rule in its canonical text form.
    text: String,
    /// The rule in its JSON form.
    rule: Value,
    last_count: Option<i64>,
    last_evaluated_at: Option<String>,
    updated_at: String,
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map(|d| d.to_rfc3339()).unwrap_or_default()
}

fn view(s: &Segment) -> Result<SegmentView, ApiError> {
    let rule = saved::read_rule(s).map_err(ApiError::internal)?;
    Ok(SegmentView {
        name: s.name.clone(),
        description: s.description.clone(),
        text: print(&rule),
        rule: rule.to_json(),
        last_count: s.last_count,
        last_evaluated_at: s.last_evaluated_at.map(rfc3339),
        updated_at: rfc3339(s.updated_at),
    })
}

/// 422 `invalid_rule` at `pointer` (under `/rule`).
fn invalid_rule(pointer: &str, detail: String) -> ApiError {
    let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_rule", detail);
    e.field = Some(format!("/rule{pointer}"));
    e
}

/// Reads the rule of a request: text or JSON.
fn read_rule(rule: &Value) -> Result<Node, ApiError> {
    match rule {
        Value::String(text) => parse(text).map_err(|e| invalid_rule("", e.to_string())),
        Value::Object(_) => Node::from_json(rule).map_err(|e| invalid_rule(&e.pointer, e.message)),
        _ => Err(invalid_rule("", "a rule is its text (a string) or its JSON form (an object)".into())),
    }
}

/// A segment error as the API answers it.
fn answer(e: Error) -> ApiError {
    match e {
        Error::Invalid(i) => invalid_rule(&i.pointer, i.to_string()),
        Error::NameTaken(what, name) => {
            ApiError::new(StatusCode::CONFLICT, "name_taken", format!("there is already a {what} named \"{name}\""))
        }
        Error::NotFound(what, name) => ApiError::not_found(format!("there is no {what} named \"{name}\"")),
        Error::Corrupt(..) => ApiError::internal(e),
        Error::Store(e) => e.into(),
    }
}

/// The as-of day: the date given, or today in the business time zone.
fn as_of_day(state: &AppState, as_of: Option<&str>) -> Result<i64, ApiError> {
    match as_of {
        None => Ok(state.workspace().clock.day_number(state.now())),
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(enishi_core::time::day_of_date)
            .map_err(|_| ApiError::invalid("as_of", "expected a date YYYY-MM-DD")),
    }
}

async fn validate(
    _: Manager,
    axum::extract::State(state): axum::extract::State<AppState>,
    Body(b): Body<RuleBody>,
) -> Result<Response, ApiError> {
    let rule = read_rule(&b.rule)?;
    let calendar = state.workspace().clock;
    let checked = rule.clone();
    state.run(move |s| s.read(|c| enishi_segments::check(c, &checked, &calendar)).map_err(answer)).await?;
    Ok(ok(serde_json::json!({ "valid": true, "text": print(&rule), "rule": rule.to_json() })))
}

async fn count(
    _: Manager,
    axum::extract::State(state): axum::extract::State<AppState>,
    Body(b): Body<RuleBody>,
) -> Result<Response, ApiError> {
    let rule = read_rule(&b.rule)?;
    let day = as_of_day(&state, b.as_of.as_deref())?;
    let calendar = state.workspace().clock;
    let n = state.run(move |s| s.read(|c| enishi_segments::count(c, &rule, day, &calendar)).map_err(answer)).await?;
    Ok(ok(serde_json::json!({ "count": n, "as_of": enishi_core::time::date_of_day(day).to_string() })))
}

async fn list(_: Manager, axum::extract::State(state): axum::extract::State<AppState>) -> Result<Response, ApiError> {
    let all = state.run(|s| Ok(s.read(repo::list)?)).await?;
    let items = all.iter().map(view).collect::<Result<Vec<_>, _>>()?;
    Ok(ok(serde_json::json!({ "items": items })))
}

async fn create(
    _: Manager,
    axum::extract::State(state): axum::extract::State<AppState>,
    Body(b): Body<SegmentBody>,
) -> Result<Response, ApiError> {
    let rule = read_rule(&b.rule)?;
    let calendar = state.workspace().clock;
    let s = state
        .run(move |s| s.write(|c| saved::create(c, &b.name, &b.description, &rule, &calendar)).map_err(answer))
        .await?;
    Ok(created(view(&s)?))
}

async fn show(
    _: Manager,
    axum::extract::State(state): axum::extract::State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    let s = state.run(move |s| s.read(|c| saved::find(c, &name)).map_err(answer)).await?;
    Ok(ok(view(&s)?))
}

async fn update(
    _: Manager,
    axum::extract::State(state): axum::extract::State<AppState>,
    PathParam(name): PathParam<String>,
    Body(b): Body<SegmentUpdate>,
) -> Result<Response, ApiError> {
    let rule = read_rule(&b.rule)?;
    let calendar = state.workspace().clock;
    let s = state
        .run(move |s| s.write(|c| saved::update(c, &name, &b.description, &rule, &calendar)).map_err(answer))
        .await?;
    Ok(ok(view(&s)?))
}

async fn delete(
    _: Manager,
    axum::extract::State(state): axum::extract::State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    state
        .run(move |s| {
            s.write(|c| {
                let seg = saved::find(c, &name)?;
                repo::delete(c, seg.id)?;
                Ok::<_, Error>(())
            })
            .map_err(answer)
        })
        .await?;
    Ok(axum::response::IntoResponse::into_response(StatusCode::NO_CONTENT))
}

/// Members evaluated now, in id order, a page at a time; the evaluation is recorded, with who
/// joined and who left since the one before.
async fn members(
    _: Manager,
    axum::extract::State(state): axum::extract::State<AppState>,
    PathParam(name): PathParam<String>,
    QueryParams(q): QueryParams<MembersQuery>,
) -> Result<Response, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = crate::api::not_negative("after", q.after)?;
    let day = as_of_day(&state, None)?;
    let calendar = state.workspace().clock;
    let (ids, change, contacts) = state
        .run(move |s| {
            s.write(|c| {
                let seg = saved::find(c, &name)?;
                let (ids, change) = saved::evaluate(c, &seg, day, &calendar)?;
                let page: Vec<i64> = ids.iter().copied().filter(|id| *id > after).take(limit as usize + 1).collect();
                let contacts = repo::contacts(c, &page)?;
                Ok::<_, Error>((ids, change, contacts))
            })
            .map_err(answer)
        })
        .await?;
    let more = contacts.len() as i64 > limit;
    let items: Vec<Value> = contacts
        .iter()
        .take(limit as usize)
        .map(|x| serde_json::json!({ "id": x.id, "external_id": x.external_id, "name": x.name, "email": x.email }))
        .collect();
    let next_cursor = if more { items.last().and_then(|v| v["id"].as_i64()) } else { None };
    Ok(ok(serde_json::json!({
        "count": ids.len(),
        "joined": change.joined.len(),
        "left": change.left.len(),
        "items": items,
        "next_cursor": next_cursor,
    })))
}

async fn snapshot(
    _: Manager,
    axum::extract::State(state): axum::extract::State<AppState>,
    PathParam(name): PathParam<String>,
    Body(b): Body<SnapshotBody>,
) -> Result<Response, ApiError> {
    if b.label.trim().is_empty() || b.label.chars().any(char::is_control) {
        return Err(ApiError::invalid("label", "must not be blank or hold control characters"));
    }
    let day = as_of_day(&state, None)?;
    let calendar = state.workspace().clock;
    let snap = state
        .run(move |s| {
            s.write(|c| {
                let seg = saved::find(c, &name)?;
                let rule = saved::read_rule(&seg)?;
                saved::snapshot(c, Some(&seg), &rule, b.label.trim(), day, &calendar)
            })
            .map_err(answer)
        })
        .await?;
    Ok(created(serde_json::json!({
        "id": snap.id,
        "label": snap.label,
        "members": snap.member_count,
        "as_of": enishi_core::time::date_of_day(snap.as_of_day).to_string(),
        "taken_at": rfc3339(snap.taken_at),
    })))
}
