//! What every API resource module shares: the extractors that answer problem+json, the body
//! limit, paging helpers, the check that a customer exists, and the answer types `Timestamp`
//! and `Money`. It imports nothing from the resource modules, so each of them (and the
//! assembly in `api/mod.rs`) depends on it and it on none of them.

use crate::auth::Caller;
use crate::error::too_large;
use crate::{ApiError, AppState};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use enishi_core::Channel;
use enishi_store::repo::customers as customer_rows;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    /// Page size, 1 to 500 (values outside are refused with 422).
    #[param(default = 50, minimum = 1, maximum = 500)]
    pub(crate) limit: Option<i64>,
    /// Items to skip, 0 or more (a negative value is refused with 422).
    #[param(default = 0, minimum = 0)]
    pub(crate) offset: Option<i64>,
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
    bounded("limit", limit, 50, 1..=MAX_PAGE)
}

/// A numeric query parameter `field`: `default` when absent; a 422 naming it, its bounds and
/// what was sent when outside `range`.
pub(crate) fn bounded<T>(
    field: &str,
    value: Option<T>,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ApiError>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    match value.unwrap_or(default) {
        v if range.contains(&v) => Ok(v),
        v => Err(ApiError::invalid(field, format!("must be between {} and {}, not {v}", range.start(), range.end()))),
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
pub(crate) type HistoryPage<T> =
    fn(&mut dyn enishi_store::Conn, i64, i64, i64) -> Result<Vec<T>, enishi_store::StoreError>;

/// One page of a customer's history, after checking that the customer exists.
pub(crate) async fn customer_history<T: Send + 'static>(
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

// ------------------------------------------------------------------ shared answer types

// An instant as answered.
#[derive(Serialize, ToSchema)]
#[schema(as = Timestamp, value_type = String, format = DateTime, description = "An instant, RFC 3339 in UTC (`2026-11-20T09:05:00Z`).", examples("2026-11-20T09:05:00Z"))]
pub(crate) struct Timestamp(pub(crate) chrono::DateTime<chrono::Utc>);

// Money as answered, a decimal string.
#[derive(Serialize, ToSchema)]
#[schema(as = Amount, value_type = String, description = "Money as a decimal string (never a JSON number): at least two and at most four decimal places. The currency travels beside it.", pattern = r"^-?[0-9]+\.[0-9]{2,4}$", examples("57.40"))]
pub(crate) struct Money(pub(crate) enishi_core::Amount);

// A sales channel as answered: a customer's channels and an order's channel.
crate::openapi::vocabulary!(ChannelName(Channel) as "Channel": "Where a customer buys or is served. Input is case-insensitive and `-` or a space may stand for `_`.");

// A console user as a record names them: an assignee or an owner.
#[derive(Serialize, ToSchema)]
#[schema(as = User)]
pub(crate) struct UserView {
    /// The user's id.
    id: i64,
    /// Their sign-in email.
    email: String,
    /// Their name.
    name: String,
}

impl From<enishi_store::UserRef> for UserView {
    fn from(u: enishi_store::UserRef) -> Self {
        UserView { id: u.id, email: u.email, name: u.name }
    }
}

/// The enabled user a field names by sign-in email (`field` in the 422 when there is none).
/// Run inside the transaction that uses the id.
pub(crate) fn user_named(
    c: &mut dyn enishi_store::Conn,
    field: &str,
    email: &str,
) -> Result<Result<i64, ApiError>, enishi_store::StoreError> {
    Ok(match enishi_store::repo::tasks::user_by_email(c, email)? {
        Some(u) => Ok(u.id),
        None => Err(ApiError::invalid(field, format!("no enabled user has the email '{email}'"))),
    })
}

/// A field of a change (PATCH) body that may be absent (leave it), `null` (clear it) or a
/// value: `Option<Option<T>>` with `#[serde(default, deserialize_with = "present")]`.
pub(crate) fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A message rendered for one customer (a template's or a campaign's preview).
#[derive(Serialize, ToSchema)]
pub(crate) struct RenderedMessage {
    /// The subject line.
    pub(crate) subject: String,
    /// The HTML body, merge fields escaped.
    pub(crate) html: String,
    /// The text body.
    pub(crate) text: String,
}

impl From<enishi_campaigns::template::Rendered> for RenderedMessage {
    fn from(r: enishi_campaigns::template::Rendered) -> Self {
        RenderedMessage { subject: r.subject, html: r.html, text: r.text }
    }
}

/// 422 `invalid_template` (a template does not parse, uses a field that is not a merge field,
/// or fails to render), with the part (`subject`, `html`, `text`) in `field` when the message
/// names one.
pub(crate) fn invalid_template(detail: String) -> ApiError {
    let part = ["subject", "html", "text"].into_iter().find(|p| detail.starts_with(&format!("template: the {p}")));
    let e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_template", detail);
    ApiError { field: part.map(String::from), ..e }
}
