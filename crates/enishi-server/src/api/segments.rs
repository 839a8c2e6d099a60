//! `/api/v1/segments`: check and count a rule, save segments, read their members, export them
//! and snapshot them (admins and marketers). A rule is given in its text form (a string) or its
//! JSON form (an object); a bad rule is 422 `invalid_rule` with the node's JSON pointer in
//! `field` (under `/rule`), and for text the line and column in `detail`.

use super::shared::{created, ok, page_limit, Body, PathParam, QueryParams};
use crate::auth::Manager;
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use enishi_ingest::export::{export_members, MemberLayout};
use enishi_segments::saved;
use enishi_segments::text::{parse, print};
use enishi_segments::{Error, Node};
use enishi_store::repo::segments::{self as repo, Segment};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The segment routes, each registered with its documentation.
pub(crate) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(validate))
        .routes(routes!(count))
        .routes(routes!(show, update, delete))
        .routes(routes!(members))
        .routes(routes!(export))
        .routes(routes!(snapshot))
}

/// A rule as a client sends it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleBody {
    /// The text form (a string) or the JSON form (an object), docs/segments.md.
    #[schema(value_type = Object)]
    rule: Value,
    /// Evaluate as of this day (YYYY-MM-DD) instead of today (count only).
    #[serde(default)]
    #[schema(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    as_of: Option<String>,
}

/// A segment to save.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SegmentBody {
    /// A unique name, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// What the segment is for.
    #[serde(default)]
    description: String,
    /// The rule: text (a string) or JSON (an object).
    #[schema(value_type = Object)]
    rule: Value,
}

/// A segment to update (its name is in the path).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SegmentUpdate {
    /// What the segment is for.
    #[serde(default)]
    description: String,
    /// The new rule: text (a string) or JSON (an object).
    #[schema(value_type = Object)]
    rule: Value,
}

/// A snapshot to take.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotBody {
    /// What it is for, such as "coffee DM v2".
    #[schema(min_length = 1)]
    label: String,
}

/// A page of members.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct MembersQuery {
    /// Only members with an Enishi id above this (the previous page's `next_cursor`).
    #[serde(default)]
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Page size, 1 to 500.
    #[serde(default)]
    #[param(default = 100, minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// The layout of a member export.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportQuery {
    /// `contacts` (default): every member with contact details; `postal`: members who opted in
    /// to post, by postal code, in the order a Japanese envelope is written.
    #[serde(default)]
    #[param(example = "postal")]
    format: Option<String>,
}

/// A saved segment as the API answers it.
#[derive(Serialize, ToSchema)]
#[schema(as = Segment)]
pub(crate) struct SegmentView {
    name: String,
    description: String,
    /// The rule in its canonical text form.
    text: String,
    /// The rule in its JSON form.
    #[schema(value_type = Object)]
    rule: Value,
    /// Members at the last evaluation.
    last_count: Option<i64>,
    /// When it was last evaluated (RFC 3339).
    last_evaluated_at: Option<String>,
    /// When it was last changed (RFC 3339).
    updated_at: String,
}

/// Every saved segment.
#[derive(Serialize, ToSchema)]
pub(crate) struct SegmentList {
    items: Vec<SegmentView>,
}

/// A rule that was checked.
#[derive(Serialize, ToSchema)]
pub(crate) struct Validated {
    /// Always true (a bad rule is 422).
    valid: bool,
    /// The rule in its canonical text form.
    text: String,
    /// The rule in its JSON form.
    #[schema(value_type = Object)]
    rule: Value,
}

/// How many customers a rule selects.
#[derive(Serialize, ToSchema)]
pub(crate) struct Counted {
    count: i64,
    /// The as-of day (YYYY-MM-DD).
    as_of: String,
}

/// A member of a segment.
#[derive(Serialize, ToSchema)]
pub(crate) struct Member {
    id: i64,
    external_id: String,
    name: Option<String>,
    email: Option<String>,
}

/// A page of a segment's members, evaluated now.
#[derive(Serialize, ToSchema)]
pub(crate) struct MemberPage {
    /// Members in all.
    count: usize,
    /// Members now who were not at the evaluation before.
    joined: usize,
    /// Members then who are not now.
    left: usize,
    items: Vec<Member>,
    /// Pass as `after` for the next page; null on the last.
    next_cursor: Option<i64>,
}

/// A snapshot taken.
#[derive(Serialize, ToSchema)]
pub(crate) struct SnapshotView {
    id: i64,
    label: String,
    /// Members kept.
    members: i64,
    /// The as-of day (YYYY-MM-DD).
    as_of: String,
    /// When it was taken (RFC 3339).
    taken_at: String,
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
        Error::InUse(..) => ApiError::new(StatusCode::CONFLICT, "segment_in_use", e.to_string()),
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

#[utoipa::path(post, path = "/api/v1/segments/validate", operation_id = "validateSegmentRule", tag = "segments",
    summary = "Check a rule",
    description = "Reads a rule (text or JSON) and checks every field, argument and value and the segments and lists it names; answers its canonical text and JSON forms. A bad rule is 422 `invalid_rule` with the node's JSON pointer under `/rule` in `field`.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    request_body(content((RuleBody = "application/json", examples(("text" = (value = json!({"rule": "bought(sku: \"A\") and not bought(sku: \"B\")"}))))))),
    responses(
        (status = 200, description = "The rule is valid.", body = Validated),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn validate(_: Manager, State(state): State<AppState>, Body(b): Body<RuleBody>) -> Result<Response, ApiError> {
    let rule = read_rule(&b.rule)?;
    let calendar = state.workspace().clock;
    let checked = rule.clone();
    state.run(move |s| s.read(|c| enishi_segments::check(c, &checked, &calendar)).map_err(answer)).await?;
    Ok(ok(Validated { valid: true, text: print(&rule), rule: rule.to_json() }))
}

#[utoipa::path(post, path = "/api/v1/segments/count", operation_id = "countSegmentRule", tag = "segments",
    summary = "Count a rule's customers",
    description = "How many customers a rule (text or JSON) selects as of `as_of` (default today in the business time zone), without saving it.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    request_body(content((RuleBody = "application/json", examples(("count" = (value = json!({"rule": "orders >= 2", "as_of": "2026-06-30"}))))))),
    responses(
        (status = 200, description = "The count.", body = Counted),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn count(_: Manager, State(state): State<AppState>, Body(b): Body<RuleBody>) -> Result<Response, ApiError> {
    let rule = read_rule(&b.rule)?;
    let day = as_of_day(&state, b.as_of.as_deref())?;
    let calendar = state.workspace().clock;
    let n = state.run(move |s| s.read(|c| enishi_segments::count(c, &rule, day, &calendar)).map_err(answer)).await?;
    Ok(ok(Counted { count: n, as_of: enishi_core::time::date_of_day(day).to_string() }))
}

#[utoipa::path(get, path = "/api/v1/segments", operation_id = "listSegments", tag = "segments",
    summary = "List saved segments",
    description = "Every saved segment by name, with its rule and the count at its last evaluation.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    responses(
        (status = 200, description = "The segments.", body = SegmentList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list(_: Manager, State(state): State<AppState>) -> Result<Response, ApiError> {
    let all = state.run(|s| Ok(s.read(repo::list)?)).await?;
    let items = all.iter().map(view).collect::<Result<Vec<_>, _>>()?;
    Ok(ok(SegmentList { items }))
}

#[utoipa::path(post, path = "/api/v1/segments", operation_id = "createSegment", tag = "segments",
    summary = "Save a segment",
    description = "Checks the rule (as `validate` does) and saves it under a new name; nothing is saved when anything is wrong. A name in use is 409 `name_taken`.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    request_body(content((SegmentBody = "application/json", examples(("segment" = (value = json!({"name": "Mug offer", "description": "coffee buyers without a mug", "rule": "bought(category: \"coffee\") and not bought(sku: \"MUG-02S\")"}))))))),
    responses(
        (status = 201, description = "The segment was saved.", body = SegmentView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn create(_: Manager, State(state): State<AppState>, Body(b): Body<SegmentBody>) -> Result<Response, ApiError> {
    let rule = read_rule(&b.rule)?;
    let calendar = state.workspace().clock;
    let s = state
        .run(move |s| s.write(|c| saved::create(c, &b.name, &b.description, &rule, &calendar)).map_err(answer))
        .await?;
    Ok(created(view(&s)?))
}

#[utoipa::path(get, path = "/api/v1/segments/{name}", operation_id = "getSegment", tag = "segments",
    summary = "Get a saved segment",
    description = "The segment's rule, description and last evaluation.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The segment's name (URL-encoded).")),
    responses(
        (status = 200, description = "The segment.", body = SegmentView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn show(
    _: Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    let s = state.run(move |s| s.read(|c| saved::find(c, &name)).map_err(answer)).await?;
    Ok(ok(view(&s)?))
}

#[utoipa::path(put, path = "/api/v1/segments/{name}", operation_id = "updateSegment", tag = "segments",
    summary = "Replace a segment's rule",
    description = "Checks the new rule as if it were saved (a rule that makes segments refer to each other in a cycle is refused with the cycle) and replaces the rule and description.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The segment's name (URL-encoded).")),
    request_body(content((SegmentUpdate = "application/json", examples(("update" = (value = json!({"rule": "orders >= 3"}))))))),
    responses(
        (status = 200, description = "The segment as saved.", body = SegmentView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn update(
    _: Manager,
    State(state): State<AppState>,
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

#[utoipa::path(delete, path = "/api/v1/segments/{name}", operation_id = "deleteSegment", tag = "segments",
    summary = "Delete a segment",
    description = "Deletes the segment; its snapshots are kept. A segment the loyalty programme names (a promotion, reward or offer) is not deleted: 409 `segment_in_use`.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The segment's name (URL-encoded).")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`segment_in_use`: the loyalty programme names it.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn delete(
    _: Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    state
        .run(move |s| {
            s.write(|c| {
                let seg = saved::find(c, &name)?;
                if let Some(user) = enishi_rewards::programme_field_naming(c, &seg.name)? {
                    return Err(Error::InUse(seg.name, user));
                }
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
#[utoipa::path(get, path = "/api/v1/segments/{name}/members", operation_id = "listSegmentMembers", tag = "segments",
    summary = "A segment's members",
    description = "Evaluates the segment now, records the evaluation, and answers a page of its members in id order with how many joined and left since the evaluation before.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The segment's name (URL-encoded).")),
    params(MembersQuery),
    responses(
        (status = 200, description = "A page of members.", body = MemberPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn members(
    _: Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
    QueryParams(q): QueryParams<MembersQuery>,
) -> Result<Response, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = super::shared::not_negative("after", q.after)?;
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
    let items: Vec<Member> = contacts
        .into_iter()
        .take(limit as usize)
        .map(|x| Member { id: x.id, external_id: x.external_id, name: x.name, email: x.email })
        .collect();
    let next_cursor = if more { items.last().map(|m| m.id) } else { None };
    Ok(ok(MemberPage { count: ids.len(), joined: change.joined.len(), left: change.left.len(), items, next_cursor }))
}

/// The members evaluated now, as CSV for people.
#[utoipa::path(get, path = "/api/v1/segments/{name}/export", operation_id = "exportSegmentMembers", tag = "segments",
    summary = "Export a segment's members as CSV",
    description = "Evaluates the segment now and answers its members as CSV (UTF-8, with a header), in id order, or for `format=postal` the members who opted in to post and have a postal code, by postal code: 〒 code, prefecture, city, street, building, name with 様. Cells a spreadsheet would run as formulas are neutralised with a leading `'`. The export is recorded in the audit log (`segment.export`).\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The segment's name (URL-encoded).")),
    params(ExportQuery),
    responses(
        (status = 200, description = "The members, as CSV.", body = String, content_type = "text/csv"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn export(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
    QueryParams(q): QueryParams<ExportQuery>,
) -> Result<Response, ApiError> {
    let layout: MemberLayout = match q.format.as_deref() {
        None => MemberLayout::Contacts,
        Some(f) => f.parse().map_err(|e: String| ApiError::invalid("format", e))?,
    };
    let day = as_of_day(&state, None)?;
    let calendar = state.workspace().clock;
    let actor = caller.actor.clone();
    let csv = state
        .run(move |s| {
            let contacts = s
                .read(|c| {
                    let seg = saved::find(c, &name)?;
                    let ids = enishi_segments::members(c, &saved::read_rule(&seg)?, day, &calendar)?;
                    Ok::<_, Error>(repo::contacts(c, &ids)?)
                })
                .map_err(answer)?;
            let mut csv = Vec::new();
            let rows = export_members(&contacts, layout, &mut csv).map_err(ApiError::internal)?;
            let format = if layout == MemberLayout::Postal { "postal" } else { "contacts" };
            let after = serde_json::json!({"rows": rows, "format": format});
            s.write(|c| crate::audit::record(c, &actor, "segment.export", &name, Some(after)))?;
            Ok(csv)
        })
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"segment-members.csv\""),
        ],
        csv,
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/segments/{name}/snapshots", operation_id = "snapshotSegment", tag = "segments",
    summary = "Snapshot a segment's members",
    description = "Keeps exactly who is in the segment now under a label, for a campaign's audience; the snapshot outlives the segment.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The segment's name (URL-encoded).")),
    request_body(content((SnapshotBody = "application/json", examples(("snapshot" = (value = json!({"label": "coffee DM v2"}))))))),
    responses(
        (status = 201, description = "The snapshot.", body = SnapshotView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn snapshot(
    _: Manager,
    State(state): State<AppState>,
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
    Ok(created(SnapshotView {
        id: snap.id,
        label: snap.label,
        members: snap.member_count,
        as_of: enishi_core::time::date_of_day(snap.as_of_day).to_string(),
        taken_at: rfc3339(snap.taken_at),
    }))
}
