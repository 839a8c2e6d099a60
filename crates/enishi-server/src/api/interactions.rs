//! Interactions: requests, complaints, calls and notes recorded for a customer, and the
//! queue of open ones across customers.

use super::shared::{created, customer_history, existing, ok, Body, Id, PageQuery, PathParam, QueryParams, Timestamp};
use crate::auth::Caller;
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::response::Response;
use enishi_core::{InteractionKind, InteractionStatus};
use enishi_store::repo::history;
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
}

/// An interaction's `status` as sent: parsed by [`InteractionStatus`], so documented from it.
fn status_input() -> utoipa::openapi::Object {
    let values = InteractionStatus::ALL.iter().map(|s| Value::from(s.as_str())).chain([Value::Null]);
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::Type::String,
            utoipa::openapi::Type::Null,
        ]))
        .description(Some("`open` (default) or `resolved`."))
        .enum_values(Some(values))
        .build()
}

/// A request, complaint, call or note.
#[derive(Serialize, ToSchema)]
#[schema(as = Interaction)]
struct InteractionView {
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
    #[schema(required = true)]
    resolved_at: Option<Timestamp>,
}

impl From<enishi_store::Interaction> for InteractionView {
    fn from(i: enishi_store::Interaction) -> Self {
        InteractionView {
            id: i.id,
            customer_id: i.customer_id,
            kind: Kind(i.kind),
            channel: i.channel,
            body: i.body,
            status: Status(i.status),
            staff: i.staff,
            occurred_at: Timestamp(i.occurred_at),
            resolved_at: i.resolved_at.map(Timestamp),
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
    description = "Records a request, complaint, inquiry, compliment, call or note. Recorded as `resolved` it is resolved now. Not idempotent: each call adds one.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    request_body(content((InteractionBody = "application/json", examples(("complaint" = (value = json!(
        {"kind": "complaint", "body": "Beans arrived stale", "channel": "phone", "staff": "Aki"}
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
    existing(&state, id).await?;
    let new = NewInteraction {
        customer_id: id,
        kind,
        channel: b.channel,
        body: b.body.trim().to_string(),
        status,
        staff: b.staff,
        occurred_at,
    };
    let stored = state.run(move |s| Ok(s.write(|c| history::add_interaction(c, &new))?)).await?;
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
}

#[utoipa::path(post, path = "/api/v1/interactions/{id}/resolve", operation_id = "resolveInteraction", tag = "history",
    summary = "Resolve an interaction",
    description = "Marks the interaction resolved now and records `staff` when given. Idempotent: resolving a resolved interaction changes nothing and answers 200. No request body.\n\nRoles: admin, marketer, staff.",
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
    let staff = q.staff;
    let i = state.run(move |s| Ok(s.write(|c| history::resolve_interaction(c, id, staff.as_deref()))?)).await?;
    i.map(|i| ok(InteractionView::from(i))).ok_or_else(|| ApiError::not_found(format!("no interaction {id}")))
}
