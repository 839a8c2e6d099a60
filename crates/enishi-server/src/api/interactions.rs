//! Interactions: requests, complaints, inquiries, compliments, calls and notes recorded for a
//! customer, with an assignee, a status and a resolution note; the inbox of open ones across
//! customers (docs/listening.md).

use super::shared::{
    created, customer_history, ok, present, user_named, Body, Id, PageQuery, PathParam, QueryParams, Timestamp,
    UserView,
};
use crate::auth::Caller;
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::response::Response;
use enishi_core::{InteractionKind, InteractionStatus};
use enishi_store::repo::history::{self, InboxQuery, InboxSort, InteractionChange};
use enishi_store::repo::{customers, tasks};
use enishi_store::NewInteraction;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The interaction routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_interactions))
        .routes(routes!(inbox))
        .routes(routes!(get_interaction, update_interaction))
        .routes(routes!(resolve_interaction))
        .routes(routes!(customer_interactions, add_interaction))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = InteractionInput)]
struct InteractionBody {
    /// One of `request`, `complaint`, `inquiry`, `compliment`, `call`, `note` (case-insensitive).
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    kind: String,
    /// What was said; not empty.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    body: String,
    /// Channel it came through.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    channel: Option<String>,
    #[serde(default)]
    #[schema(schema_with = status_input)]
    status: Option<String>,
    /// Staff member who handled it.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    staff: Option<String>,
    /// When it happened (see `TimestampInput`); defaults to now.
    #[serde(default)]
    #[schema(
        pattern = r"^\s*([+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?|[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[+-]?[0-9]{4,} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)\s*$"
    )]
    occurred_at: Option<String>,
    /// Sign-in email of the user who is to deal with it.
    #[serde(default)]
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    assignee: Option<String>,
    /// How it was resolved (for one recorded `resolved`).
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    resolution: Option<String>,
}

/// An interaction's `status` as sent: parsed by [`InteractionStatus`], so documented from it.
fn status_input() -> utoipa::openapi::Object {
    let values = InteractionStatus::ALL.iter().map(|s| Value::from(s.as_str())).chain([Value::Null]);
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::Type::String,
            utoipa::openapi::Type::Null,
        ]))
        .description(Some("`open` (default), `in_progress`, `resolved` or `closed`."))
        .enum_values(Some(values))
        .build()
}

/// A request, complaint, call or note.
#[derive(Serialize, ToSchema)]
#[schema(as = Interaction)]
pub(crate) struct InteractionView {
    id: i64,
    customer_id: i64,
    kind: Kind,
    #[schema(required = true)]
    channel: Option<String>,
    body: String,
    status: Status,
    /// Staff member who handled it.
    #[schema(required = true)]
    staff: Option<String>,
    occurred_at: Timestamp,
    /// When it was resolved or closed.
    #[schema(required = true)]
    resolved_at: Option<Timestamp>,
    /// Seconds from when it happened to when it was resolved or closed.
    #[schema(required = true, minimum = 0)]
    time_to_resolve_seconds: Option<i64>,
    /// The user who is to deal with it.
    #[schema(required = true)]
    assignee: Option<UserView>,
    /// How it was resolved.
    #[schema(required = true)]
    resolution: Option<String>,
    /// When staff asked the customer how the resolved concern is now.
    #[schema(required = true)]
    asked_at: Option<Timestamp>,
}

impl From<enishi_store::Interaction> for InteractionView {
    fn from(i: enishi_store::Interaction) -> Self {
        InteractionView {
            time_to_resolve_seconds: i.time_to_resolve(),
            id: i.id,
            customer_id: i.customer_id,
            kind: Kind(i.kind),
            channel: i.channel,
            body: i.body,
            status: Status(i.status),
            staff: i.staff,
            occurred_at: Timestamp(i.occurred_at),
            resolved_at: i.resolved_at.map(Timestamp),
            assignee: i.assignee.map(UserView::from),
            resolution: i.resolution,
            asked_at: i.asked_at.map(Timestamp),
        }
    }
}

crate::openapi::vocabulary!(Kind(InteractionKind) as "InteractionKind": "What a recorded interaction was.");
crate::openapi::vocabulary!(Status(InteractionStatus) as "InteractionStatus": "Whether an interaction still needs attention.");

// A page of interactions.
#[derive(Serialize, ToSchema)]
struct InteractionPage {
    items: Vec<InteractionView>,
    limit: i64,
    offset: i64,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/interactions", operation_id = "createCustomerInteraction", tag = "history",
    summary = "Record an interaction",
    description = "Records a request, complaint, inquiry, compliment, call or note, optionally assigned to a user (`assignee`, their sign-in email). Recorded as `resolved` or `closed` it is resolved now. A complaint makes a follow-up task when the complaint rule is on (docs/listening.md). Not idempotent: each call adds one.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    request_body(content((InteractionBody = "application/json", examples(("complaint" = (value = json!(
        {"kind": "complaint", "body": "Beans arrived stale", "channel": "phone", "staff": "Aki", "assignee": "aki@shop.example"}
    ))))))),
    responses(
        (status = 201, description = "The interaction recorded.", body = InteractionView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn add_interaction(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<InteractionBody>,
) -> Result<Response, ApiError> {
    let kind: InteractionKind = b.kind.parse().map_err(|e: enishi_core::ParseError| ApiError::invalid("kind", e.0))?;
    let status: InteractionStatus = match &b.status {
        Some(s) => s.parse().map_err(|e: enishi_core::ParseError| ApiError::invalid("status", e.0))?,
        None => InteractionStatus::Open,
    };
    if b.body.trim().is_empty() {
        return Err(ApiError::invalid("body", "is empty"));
    }
    let occurred_at = match &b.occurred_at {
        Some(t) => state.workspace().clock.parse_timestamp(t).map_err(|e| ApiError::invalid("occurred_at", e.0))?,
        None => state.now(),
    };
    let resolution = b.resolution.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    let stored = state
        .run(move |s| {
            s.write(|c| -> Result<Result<_, ApiError>, enishi_store::StoreError> {
                if !customers::exists(c, id)? {
                    return Ok(Err(ApiError::not_found(format!("no customer {id}"))));
                }
                let assignee_id = match b.assignee.as_deref() {
                    Some(email) => match user_named(c, "assignee", email)? {
                        Ok(u) => Some(u),
                        Err(e) => return Ok(Err(e)),
                    },
                    None => None,
                };
                let new = NewInteraction {
                    customer_id: id,
                    kind,
                    channel: b.channel,
                    body: b.body.trim().to_string(),
                    status,
                    staff: b.staff,
                    occurred_at,
                    assignee_id,
                    resolution,
                };
                let stored = history::add_interaction(c, &new)?;
                if kind == InteractionKind::Complaint {
                    let rules = tasks::Rules::load(c)?;
                    tasks::complaint_rule(c, &rules, 0, Some(stored.id))?;
                }
                Ok(Ok(stored))
            })?
        })
        .await?;
    Ok(created(InteractionView::from(stored)))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/interactions", operation_id = "listCustomerInteractions", tag = "history",
    summary = "A customer's interactions",
    description = "The customer's interactions, newest first, paged with `limit` and `offset`.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0), PageQuery),
    responses(
        (status = 200, description = "A page of interactions.", body = InteractionPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn customer_interactions(
    caller: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    QueryParams(p): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (items, limit, offset) = customer_history(caller, &state, id, p, |c, id, limit, offset| {
        history::interactions(c, Some(id), None, limit, offset)
    })
    .await?;
    Ok(ok(InteractionPage { items: items.into_iter().map(InteractionView::from).collect(), limit, offset }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct InteractionQuery {
    /// Only interactions with this status (an invalid value is 422 `invalid_field`).
    #[param(value_type = Option<Status>, nullable = false)]
    status: Option<String>,
    /// Page size, 1 to 500 (values outside are refused with 422).
    #[param(default = 50, minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Items to skip, 0 or more (a negative value is refused with 422).
    #[param(default = 0, minimum = 0)]
    offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/interactions", operation_id = "listInteractions", tag = "history",
    summary = "Interactions of all customers",
    description = "Interactions, newest first, optionally only those with a `status` (an open-issues queue), paged with `limit` and `offset`. Unknown query parameters are refused (400 `bad_query`).\n\nRoles: admin, marketer, staff.",
    params(InteractionQuery),
    responses(
        (status = 200, description = "A page of interactions.", body = InteractionPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list_interactions(
    _: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<InteractionQuery>,
) -> Result<Response, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(str::parse::<InteractionStatus>)
        .transpose()
        .map_err(|e| ApiError::invalid("status", e.0))?;
    let p = PageQuery { limit: q.limit, offset: q.offset };
    let (limit, offset) = (p.limit()?, p.offset()?);
    let items = state.run(move |s| Ok(s.read(|c| history::interactions(c, None, status, limit, offset))?)).await?;
    Ok(ok(InteractionPage { items: items.into_iter().map(InteractionView::from).collect(), limit, offset }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ResolveQuery {
    /// Staff member who resolved it.
    #[param(pattern = r"^[^\u0000-\u001F]*$", nullable = false)]
    staff: Option<String>,
    /// How it was resolved (kept when not given).
    #[param(pattern = r"^[^\u0000-\u001F]*$", nullable = false)]
    resolution: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/interactions/{id}/resolve", operation_id = "resolveInteraction", tag = "history",
    summary = "Resolve an interaction",
    description = "Marks the interaction resolved now and records `staff` and the `resolution` note when given. Idempotent: resolving a resolved interaction keeps its time and answers 200. No request body.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi interaction id.", minimum = 0), ResolveQuery),
    responses(
        (status = 200, description = "The interaction.", body = InteractionView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn resolve_interaction(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    QueryParams(q): QueryParams<ResolveQuery>,
) -> Result<Response, ApiError> {
    let ch = InteractionChange {
        status: Some(InteractionStatus::Resolved),
        staff: q.staff,
        resolution: q.resolution.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).map(Some),
        ..InteractionChange::default()
    };
    let i = state.run(move |s| Ok(s.write(|c| history::update_interaction(c, id, &ch))?)).await?;
    i.map(|i| ok(InteractionView::from(i))).ok_or_else(|| ApiError::not_found(format!("no interaction {id}")))
}

#[utoipa::path(get, path = "/api/v1/interactions/{id}", operation_id = "getInteraction", tag = "history",
    summary = "One interaction",
    description = "The interaction with its assignee, resolution note and time to resolve.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi interaction id.", minimum = 0)),
    responses(
        (status = 200, description = "The interaction.", body = InteractionView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn get_interaction(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let i = state.run(move |s| Ok(s.read(|c| history::get_interaction(c, id))?)).await?;
    i.map(|i| ok(InteractionView::from(i))).ok_or_else(|| ApiError::not_found(format!("no interaction {id}")))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = InteractionChange)]
struct InteractionChangeBody {
    /// A new status (`open`, `in_progress`, `resolved`, `closed`): resolving or closing records
    /// when, reopening clears it.
    #[serde(default)]
    #[schema(schema_with = status_input)]
    status: Option<String>,
    /// Sign-in email of the user who is to deal with it; `null` unassigns.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = true, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    assignee: Option<Option<String>>,
    /// How it was resolved; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = true, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    resolution: Option<Option<String>>,
    /// Staff member who handled it.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    staff: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/interactions/{id}", operation_id = "updateInteraction", tag = "history",
    summary = "Change an interaction",
    description = "Sets what the body names and leaves the rest: `status`, `assignee` (a user's sign-in email, `null` to unassign), `resolution` (`null` clears it), `staff`. Idempotent.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi interaction id.", minimum = 0)),
    request_body(content((InteractionChangeBody = "application/json", examples(("resolve" = (value = json!(
        {"status": "resolved", "resolution": "Sent a fresh bag; she was happy"}
    ))))))),
    responses(
        (status = 200, description = "The interaction as changed.", body = InteractionView),
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
async fn update_interaction(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<InteractionChangeBody>,
) -> Result<Response, ApiError> {
    let status = b
        .status
        .as_deref()
        .map(str::parse::<InteractionStatus>)
        .transpose()
        .map_err(|e| ApiError::invalid("status", e.0))?;
    let resolution = b.resolution.map(|r| r.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()));
    let assignee = b.assignee;
    let staff = b.staff;
    let changed = state
        .run(move |s| {
            s.write(|c| -> Result<Result<_, ApiError>, enishi_store::StoreError> {
                let assignee_id = match assignee {
                    Some(Some(email)) => match user_named(c, "assignee", &email)? {
                        Ok(u) => Some(Some(u)),
                        Err(e) => return Ok(Err(e)),
                    },
                    Some(None) => Some(None),
                    None => None,
                };
                let ch = InteractionChange { status, assignee_id, resolution, staff };
                Ok(Ok(history::update_interaction(c, id, &ch)?))
            })?
        })
        .await?;
    changed.map(|i| ok(InteractionView::from(i))).ok_or_else(|| ApiError::not_found(format!("no interaction {id}")))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct InboxParams {
    /// `age` (oldest first, the default), `assignee` (unassigned first, then by name) or
    /// `value` (loyal class, then CLV, the most valuable first).
    #[param(nullable = false, value_type = Option<String>, pattern = r"^[^\u0000-\u001F]*$")]
    sort: Option<String>,
    /// Only those assigned to this user (sign-in email).
    #[param(nullable = false, pattern = r"^[^\u0000-\u001F]*$")]
    assignee: Option<String>,
    /// Only those assigned to nobody.
    #[param(nullable = false)]
    unassigned: Option<bool>,
    /// Only of this kind.
    #[param(value_type = Option<Kind>, nullable = false)]
    kind: Option<String>,
    /// Page size, 1 to 500 (values outside are refused with 422).
    #[param(default = 50, minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Items to skip, 0 or more (a negative value is refused with 422).
    #[param(default = 0, minimum = 0)]
    offset: Option<i64>,
}

/// An open issue with who the customer is and what they are worth.
#[derive(Serialize, ToSchema)]
struct InboxItem {
    interaction: InteractionView,
    /// The customer's shop id.
    external_id: String,
    /// The customer's name.
    #[schema(required = true)]
    customer_name: Option<String>,
    /// The customer's predicted lifetime value (in the workspace currency), if scored.
    #[schema(required = true)]
    clv: Option<f64>,
    /// The customer's loyal class (`loyal`, `semi_loyal`, `other`), if ranked.
    #[schema(required = true)]
    loyal_class: Option<String>,
    /// Seconds since it happened.
    age_seconds: i64,
}

// A page of the inbox.
#[derive(Serialize, ToSchema)]
struct InboxPage {
    items: Vec<InboxItem>,
    /// Open issues in all (whatever the filters).
    open_total: i64,
    limit: i64,
    offset: i64,
}

#[utoipa::path(get, path = "/api/v1/inbox", operation_id = "listInbox", tag = "history",
    summary = "The inbox of open issues",
    description = "Open issues (interactions `open` or `in_progress`) of every customer, with the customer's value, sorted by `sort` and filtered by `assignee`, `unassigned` or `kind`. Unknown query parameters are refused (400 `bad_query`).\n\nRoles: admin, marketer, staff.",
    params(InboxParams),
    responses(
        (status = 200, description = "A page of open issues.", body = InboxPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn inbox(
    _: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<InboxParams>,
) -> Result<Response, ApiError> {
    let sort = match q.sort.as_deref() {
        Some(s) => s.parse::<InboxSort>().map_err(|e| ApiError::invalid("sort", e))?,
        None => InboxSort::Age,
    };
    let kind =
        q.kind.as_deref().map(str::parse::<InteractionKind>).transpose().map_err(|e| ApiError::invalid("kind", e.0))?;
    let (limit, offset) = (
        PageQuery { limit: q.limit, offset: q.offset }.limit()?,
        PageQuery { limit: None, offset: q.offset }.offset()?,
    );
    let assignee = q.assignee;
    let unassigned = q.unassigned.unwrap_or(false);
    let now = state.now();
    let (items, open_total) = state
        .run(move |s| {
            s.read(|c| -> Result<Result<_, ApiError>, enishi_store::StoreError> {
                let assignee_id = match assignee.as_deref() {
                    Some(email) => match user_named(c, "assignee", email)? {
                        Ok(u) => Some(u),
                        Err(e) => return Ok(Err(e)),
                    },
                    None => None,
                };
                let query = InboxQuery { sort, assignee_id, unassigned, kind };
                Ok(Ok((history::inbox(c, &query, limit, offset)?, history::open_issue_count(c)?)))
            })?
        })
        .await?;
    let items = items
        .into_iter()
        .map(|i| InboxItem {
            age_seconds: (now - i.interaction.occurred_at).num_seconds().max(0),
            interaction: InteractionView::from(i.interaction),
            external_id: i.external_id,
            customer_name: i.customer_name,
            clv: i.clv.filter(|v| v.is_finite()),
            loyal_class: i.loyal_class,
        })
        .collect();
    Ok(ok(InboxPage { items, open_total, limit, offset }))
}
