//! The JSON API under `/api/v1`.

use crate::auth::{Caller, Manager};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use enishi_core::{InteractionKind, InteractionStatus, Role};
use enishi_store::repo::customers as customer_rows;
use enishi_store::repo::{accounts, history, products};
use enishi_store::{AccountUpsert, NewInteraction, Product};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod analytics;
mod customers;
mod events;
mod orders;

/// Largest request body accepted (an events batch of a few thousand events).
pub(crate) const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Every API route with its documentation, generated from its handler's `#[utoipa::path]`:
/// registering a route here registers its documentation (see [`crate::openapi`]).
pub(crate) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi))
        .routes(routes!(health))
        .routes(routes!(list_products, upsert_product))
        .routes(routes!(get_product))
        .routes(routes!(list_accounts, upsert_account))
        .routes(routes!(get_account))
        .routes(routes!(crate::audit::list))
        .routes(routes!(list_interactions))
        .routes(routes!(resolve_interaction))
        .routes(routes!(customer_interactions, add_interaction))
        .merge(customers::documented())
        .merge(orders::documented())
        .merge(events::documented())
        .merge(analytics::documented())
        .merge(crate::loyalty::documented())
        .merge(crate::segments_api::documented())
}

/// The API's routes (see [`finish`]): every one registered in [`documented`], so none is
/// served without its documentation.
pub(crate) fn routes() -> Router<AppState> {
    documented().split_for_parts().0
}

/// Every route [`documented`] registers, as (method, path in OpenAPI form).
pub(crate) fn route_list() -> Vec<(String, String)> {
    const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];
    let mut list = Vec::new();
    for (path, item) in documented().into_openapi().paths.paths {
        let item = serde_json::to_value(item).unwrap_or_default();
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            list.push((method.to_string(), path.clone()));
        }
    }
    list
}

/// The API's routes with what every API route shares: problem+json answers for unknown routes
/// and wrong methods, and the body limit.
pub(crate) fn finish(routes: Router<AppState>) -> Router<AppState> {
    routes
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(refuse_announced_oversize))
}

pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body is larger than {BODY_LIMIT} bytes"),
    )
}

/// Answers 413 at once when the Content-Length announces a body over the limit, instead of
/// reading up to the limit first (bodies without a length are cut at the limit as they stream).
async fn refuse_announced_oversize(req: Request, next: axum::middleware::Next) -> Response {
    let announced =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > BODY_LIMIT as u64) {
        return too_large().into_response();
    }
    next.run(req).await
}

// ------------------------------------------------------------------ extractors

/// A JSON body whose problems are answered as problem+json.
pub(crate) struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

fn json_rejection(e: JsonRejection) -> ApiError {
    match e {
        JsonRejection::JsonDataError(d) => {
            // serde's message names the path: "lines[0].quantity: invalid type: …".
            let text = d.body_text();
            let detail = text.split_once(": ").map_or(text.as_str(), |(_, rest)| rest).to_string();
            let field = detail.split_once(": ").map(|(path, _)| path).filter(|p| !p.contains(' ')).map(String::from);
            ApiError { field, ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", detail) }
        }
        JsonRejection::JsonSyntaxError(s) => ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", s.body_text()),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        other => ApiError::bad_request(other.body_text()),
    }
}

/// A JSON body kept as its text (a document validated by its own parser, such as the loyalty
/// programme), refused with 415 unless it is sent as `application/json`.
pub(crate) struct JsonText(pub String);

impl<S: Send + Sync> FromRequest<S> for JsonText {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let kind = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let essence = kind.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send Content-Type: application/json",
            ));
        }
        String::from_request(req, state).await.map(JsonText).map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            _ => ApiError::bad_request(e.body_text()),
        })
    }
}

/// An Enishi id in a path: decimal digits only, so that `+1` or ` 1` is not read as 1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Id(pub i64);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(serde::de::Error::custom(format!("'{}' is not an id (digits only)", text.escape_debug())));
        }
        text.parse().map(Id).map_err(|_| serde::de::Error::custom(format!("{text} is out of range for an id")))
    }
}

/// A path parameter whose problems are answered as problem+json.
pub(crate) struct PathParam<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|e: PathRejection| ApiError::new(StatusCode::BAD_REQUEST, "bad_path", e.body_text()))
    }
}

/// Query parameters whose problems are answered as problem+json.
pub(crate) struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| QueryParams(q.0))
            .map_err(|e: QueryRejection| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))
    }
}

pub(crate) fn ok(v: impl serde::Serialize) -> Response {
    axum::Json(v).into_response()
}

pub(crate) fn created(v: impl serde::Serialize) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

pub(crate) const EVERYONE: &[Role] = &[Role::Admin, Role::Marketer, Role::Staff];
pub(crate) const MANAGERS: &[Role] = &[Role::Admin, Role::Marketer];

// ------------------------------------------------------------------ misc

#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "getOpenApi", tag = "meta",
    summary = "This OpenAPI document",
    description = "The OpenAPI 3.1 description of the API, as `application/json`.\n\nNo authentication.",
    security(),
    responses(
        (status = 200, description = "The OpenAPI document.", body = Object, content_type = "application/json"),
        (status = 503, response = Unavailable),
    ))]
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::document()).into_response()
}

// `GET /api/v1/health`'s answer. (Plain comments here: a doc comment would become the schema's
// description.)
#[derive(Serialize, ToSchema)]
struct Health {
    #[schema(inline)]
    status: HealthStatus,
    #[schema(inline)]
    database: Backend,
}

// Always `ok` (a failure is a problem instead).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum HealthStatus {
    Ok,
}

/// The database backend.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Backend {
    Sqlite,
    Postgres,
}

#[utoipa::path(get, path = "/api/v1/health", operation_id = "getHealth", tag = "meta",
    summary = "Health check",
    description = "Answers 200 when the server can read the database.\n\nNo authentication.",
    security(),
    responses(
        (status = 200, description = "The server and its database work.", body = Health),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn health(State(state): State<AppState>) -> Result<Response, ApiError> {
    let database = match state.store.backend() {
        enishi_store::Backend::Sqlite => Backend::Sqlite,
        enishi_store::Backend::Postgres => Backend::Postgres,
    };
    state.run(|s| Ok(s.read(|c| customer_rows::count(c))?)).await?;
    Ok(ok(Health { status: HealthStatus::Ok, database }))
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take this method; see /api/v1/openapi.json",
    )
}

async fn unknown_route() -> ApiError {
    ApiError::not_found("no such route; see /api/v1/openapi.json")
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    /// Page size, 1 to 500 (values outside are refused with 422).
    #[param(default = 50, minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Items to skip, 0 or more (a negative value is refused with 422).
    #[param(default = 0, minimum = 0)]
    offset: Option<i64>,
}

impl PageQuery {
    /// Rows per page: 50 by default, 1–500 (anything else is refused, not clamped).
    pub(crate) fn limit(&self) -> Result<i64, ApiError> {
        page_limit(self.limit)
    }
    /// Rows skipped: 0 by default, never negative.
    pub(crate) fn offset(&self) -> Result<i64, ApiError> {
        not_negative("offset", self.offset)
    }
}

/// Most rows one page answers.
pub(crate) const MAX_PAGE: i64 = 500;

/// A `limit` query parameter: 50 when absent; a 422 naming it outside 1–[`MAX_PAGE`].
pub(crate) fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit.unwrap_or(50) {
        l if (1..=MAX_PAGE).contains(&l) => Ok(l),
        l => Err(ApiError::invalid("limit", format!("must be between 1 and {MAX_PAGE}, not {l}"))),
    }
}

/// A filter given as a query parameter: refused when blank (an empty filter is a mistake, not
/// "no filter").
pub(crate) fn not_blank(name: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    match v {
        Some(t) if t.trim().is_empty() => Err(ApiError::invalid(name, "must not be blank; leave it out to not filter")),
        other => Ok(other),
    }
}

/// An `offset` or `after` query parameter: 0 when absent; a 422 naming it when negative.
pub(crate) fn not_negative(name: &str, v: Option<i64>) -> Result<i64, ApiError> {
    match v.unwrap_or(0) {
        v if v >= 0 => Ok(v),
        v => Err(ApiError::invalid(name, format!("must not be negative, not {v}"))),
    }
}

pub(crate) async fn existing(state: &AppState, id: i64) -> Result<(), ApiError> {
    let found = state.run(move |s| Ok(s.read(|c| customer_rows::exists(c, id))?)).await?;
    if found {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no customer {id}")))
    }
}

/// Reads one page (limit, offset) of a customer's history.
type HistoryPage<T> = fn(&mut dyn enishi_store::Conn, i64, i64, i64) -> Result<Vec<T>, enishi_store::StoreError>;

/// One page of a customer's history, after checking that the customer exists.
async fn customer_history<T: Send + 'static>(
    _: Caller,
    state: &AppState,
    id: i64,
    p: PageQuery,
    fetch: HistoryPage<T>,
) -> Result<(Vec<T>, i64, i64), ApiError> {
    let (limit, offset) = (p.limit()?, p.offset()?);
    // One read: the customer must exist (an empty page would hide a wrong id).
    let items = state
        .run(move |s| {
            Ok(s.read(|c| -> Result<_, enishi_store::StoreError> {
                if !customer_rows::exists(c, id)? {
                    return Ok(None);
                }
                fetch(c, id, limit, offset).map(Some)
            })?)
        })
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no customer {id}")))?;
    Ok((items, limit, offset))
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

// An instant as answered.
#[derive(Serialize, ToSchema)]
#[schema(as = Timestamp, value_type = String, format = DateTime, description = "An instant, RFC 3339 in UTC (`2026-11-20T09:05:00Z`).", examples("2026-11-20T09:05:00Z"))]
pub(crate) struct Timestamp(pub(crate) chrono::DateTime<chrono::Utc>);

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

// ------------------------------------------------------------------ accounts and products

/// An account, keyed by `external_id`: created, or updated when it exists (`name` is replaced; other fields only when given).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AccountInput)]
struct AccountBody {
    /// The shop's id (1 to 128 characters).
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    external_id: String,
    /// Company name; not empty.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    name: String,
    /// Industry.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    industry: Option<String>,
    /// Region.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    region: Option<String>,
    /// Size band.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    size_band: Option<String>,
}

/// A B2B account (a company whose contacts are customers).
#[derive(Serialize, ToSchema)]
#[schema(as = Account)]
struct AccountView {
    id: i64,
    external_id: String,
    name: String,
    #[schema(required = true)]
    industry: Option<String>,
    #[schema(required = true)]
    region: Option<String>,
    /// `1-10`, `11-50`, …
    #[schema(required = true)]
    size_band: Option<String>,
}

impl From<enishi_store::Account> for AccountView {
    fn from(a: enishi_store::Account) -> Self {
        let enishi_store::Account { id, external_id, name, industry, region, size_band } = a;
        AccountView { id, external_id, name, industry, region, size_band }
    }
}

// A page of accounts.
#[derive(Serialize, ToSchema)]
struct AccountList {
    /// In id order; pass the last `id` as `after` for the next page.
    items: Vec<AccountView>,
}

#[utoipa::path(post, path = "/api/v1/accounts", operation_id = "upsertAccount", tag = "accounts",
    summary = "Create or update an account",
    description = "Creates the account, or updates the one with the same `external_id` (`name` is replaced; `industry`, `region` and `size_band` only when given).\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    request_body(content((AccountBody = "application/json", examples(("account" = (value = json!(
        {"external_id": "ACME", "name": "Acme Café", "industry": "hospitality", "region": "Kansai", "size_band": "11-50"}
    ))))))),
    responses(
        (status = 200, description = "An account with this `external_id` existed and was updated.", body = AccountView),
        (status = 201, description = "The account was created.", body = AccountView),
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
async fn upsert_account(
    _: Manager,
    State(state): State<AppState>,
    Body(b): Body<AccountBody>,
) -> Result<Response, ApiError> {
    let external_id =
        b.external_id.parse().map_err(|e: enishi_core::ParseError| ApiError::invalid("external_id", e.0))?;
    if b.name.trim().is_empty() {
        return Err(ApiError::invalid("name", "is empty"));
    }
    let a = AccountUpsert {
        external_id,
        name: Some(b.name.trim().into()),
        industry: b.industry,
        region: b.region,
        size_band: b.size_band,
    };
    let (account, new) = state
        .run(move |s| {
            Ok(s.write(|c| {
                let up = accounts::upsert(c, &a)?;
                Ok::<_, enishi_store::StoreError>((
                    accounts::get(c, up.id())?,
                    matches!(up, enishi_store::Upserted::Created(_)),
                ))
            })?)
        })
        .await?;
    let account = account.map(AccountView::from);
    Ok(if new { created(account) } else { ok(account) })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AfterQuery {
    /// Only accounts with an id above this.
    #[param(default = 0, minimum = 0)]
    after: Option<i64>,
    /// Page size, 1 to 500 (values outside are refused with 422).
    #[param(default = 50, minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/accounts", operation_id = "listAccounts", tag = "accounts",
    summary = "List accounts",
    description = "Accounts in id order. For the next page pass the last item's `id` as `after` (there is no `next_cursor`); a page shorter than `limit` is the last. Unknown query parameters are refused (400 `bad_query`).\n\nRoles: admin, marketer, staff.",
    params(AfterQuery),
    responses(
        (status = 200, description = "Accounts.", body = AccountList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list_accounts(
    _: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AfterQuery>,
) -> Result<Response, ApiError> {
    let (after, limit) = (not_negative("after", q.after)?, page_limit(q.limit)?);
    let items = state.run(move |s| Ok(s.read(|c| accounts::list(c, after, limit))?)).await?;
    Ok(ok(AccountList { items: items.into_iter().map(AccountView::from).collect() }))
}

#[utoipa::path(get, path = "/api/v1/accounts/{id}", operation_id = "getAccount", tag = "accounts",
    summary = "Get an account",
    description = "One account by Enishi id.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi account id.", minimum = 0)),
    responses(
        (status = 200, description = "The account.", body = AccountView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn get_account(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let a = state.run(move |s| Ok(s.read(|c| accounts::get(c, id))?)).await?;
    a.map(|a| ok(AccountView::from(a))).ok_or_else(|| ApiError::not_found(format!("no account {id}")))
}

/// A product, keyed by `sku`: created, or updated when it exists (only the fields given).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProductInput)]
struct ProductBody {
    /// Stock-keeping unit (1 to 128 characters).
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    sku: String,
    /// Name.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    name: Option<String>,
    /// Category.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    category: Option<String>,
    /// List price as a decimal string (see `AmountInput`); not negative.
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,4})?$")]
    price: Option<String>,
    /// ISO 4217 code (see `CurrencyCode`).
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z]{3}$")]
    currency: Option<String>,
}

// Money as answered, a decimal string.
#[derive(Serialize, ToSchema)]
#[schema(as = Amount, value_type = String, description = "Money as a decimal string (never a JSON number): at least two and at most four decimal places. The currency travels beside it.", pattern = r"^-?[0-9]+\.[0-9]{2,4}$", examples("57.40"))]
pub(crate) struct Money(pub(crate) enishi_core::Amount);

// A product of the catalogue, as answered (the store's row, typed for the API).
#[derive(Serialize, ToSchema)]
#[schema(as = Product)]
struct ProductView {
    sku: String,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    category: Option<String>,
    /// List price.
    #[schema(required = true)]
    price: Option<Money>,
    /// Currency of the price.
    #[schema(required = true, pattern = r"^[A-Za-z]{3}$")]
    currency: Option<String>,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        ProductView { sku: p.sku, name: p.name, category: p.category, price: p.price.map(Money), currency: p.currency }
    }
}

// A page of products.
#[derive(Serialize, ToSchema)]
struct ProductList {
    /// In SKU order; pass the last `sku` as `after` for the next page.
    items: Vec<ProductView>,
}

#[utoipa::path(post, path = "/api/v1/products", operation_id = "upsertProduct", tag = "products",
    summary = "Create or update a product",
    description = "Creates the product, or updates the one with the same `sku` (only the fields given).\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    request_body(content((ProductBody = "application/json", examples(("product" = (value = json!(
        {"sku": "BEANS-1", "name": "House blend 250 g", "category": "coffee", "price": "28.70", "currency": "USD"}
    ))))))),
    responses(
        (status = 200, description = "A product with this SKU existed and was updated.", body = ProductView),
        (status = 201, description = "The product was created.", body = ProductView),
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
async fn upsert_product(
    _: Manager,
    State(state): State<AppState>,
    Body(b): Body<ProductBody>,
) -> Result<Response, ApiError> {
    let sku: enishi_core::ExternalId =
        b.sku.parse().map_err(|e: enishi_core::ParseError| ApiError::invalid("sku", e.0))?;
    let price = b
        .price
        .as_deref()
        .map(str::parse::<enishi_core::Amount>)
        .transpose()
        .map_err(|e| ApiError::invalid("price", e.0))?;
    if price.is_some_and(|p| p.is_negative()) {
        return Err(ApiError::invalid("price", "must not be negative"));
    }
    let currency = b
        .currency
        .as_deref()
        .map(str::parse::<enishi_core::Currency>)
        .transpose()
        .map_err(|e| ApiError::invalid("currency", e.0))?;
    let p = Product {
        sku: sku.to_string(),
        name: b.name,
        category: b.category,
        price,
        currency: currency.map(|c| c.to_string()),
    };
    let (product, new) = state
        .run(move |s| {
            Ok(s.write(|c| {
                let new = products::upsert(c, &p)?;
                Ok::<_, enishi_store::StoreError>((products::get(c, &p.sku)?, new))
            })?)
        })
        .await?;
    let product = product.map(ProductView::from);
    Ok(if new { created(product) } else { ok(product) })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SkuQuery {
    /// Only products whose SKU sorts after this.
    #[param(default = "", pattern = r"^[^\u0000-\u001F]*$")]
    after: Option<String>,
    /// Page size, 1 to 500 (values outside are refused with 422).
    #[param(default = 50, minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/products", operation_id = "listProducts", tag = "products",
    summary = "List products",
    description = "Products in SKU order. For the next page pass the last item's `sku` as `after` (there is no `next_cursor`); a page shorter than `limit` is the last. Unknown query parameters are refused (400 `bad_query`).\n\nRoles: admin, marketer, staff.",
    params(SkuQuery),
    responses(
        (status = 200, description = "Products.", body = ProductList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list_products(
    _: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<SkuQuery>,
) -> Result<Response, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = q.after.unwrap_or_default();
    let items = state.run(move |s| Ok(s.read(|c| products::list(c, &after, limit))?)).await?;
    Ok(ok(ProductList { items: items.into_iter().map(ProductView::from).collect() }))
}

#[utoipa::path(get, path = "/api/v1/products/{sku}", operation_id = "getProduct", tag = "products",
    summary = "Get a product",
    description = "One product by SKU.\n\nRoles: admin, marketer, staff.",
    params(("sku" = String, Path, description = "Product SKU (URL-encoded).",
        pattern = r"^[^\u0000-\u001F]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "The product.", body = ProductView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn get_product(
    _: Caller,
    State(state): State<AppState>,
    PathParam(sku): PathParam<String>,
) -> Result<Response, ApiError> {
    let p = state.run(move |s| Ok(s.read(|c| products::get(c, &sku))?)).await?;
    p.map(|p| ok(ProductView::from(p))).ok_or_else(|| ApiError::not_found("no such product"))
}
