//! The one error type at the HTTP edge, answered as `application/problem+json` with a stable
//! `code`. Internal details are logged, never returned.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use enishi_ingest::intake::{FieldError, IntakeError};
use enishi_store::StoreError;
use utoipa::openapi::{ObjectBuilder, Type};
use utoipa::ToSchema;

/// An error answered to an API client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`invalid_field`, `not_found`, …).
    pub code: &'static str,
    /// What happened, for a person.
    pub detail: String,
    /// The field at fault, when there is one.
    pub field: Option<String>,
    /// Seconds to wait before trying again (sent as `Retry-After`), for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status`, `code` and `detail`.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, code, detail: detail.into(), field: None, retry_after: None }
    }

    /// 404 `not_found`.
    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// 422 `invalid_field` naming the field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let field = field.into();
        ApiError {
            field: Some(field.clone()),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", format!("{field}: {}", reason.into()))
        }
    }

    /// What is wrong, without the field name `invalid` puts in front of it.
    pub fn reason(&self) -> &str {
        match &self.field {
            Some(f) => self.detail.strip_prefix(f.as_str()).and_then(|r| r.strip_prefix(": ")).unwrap_or(&self.detail),
            None => &self.detail,
        }
    }

    /// 422 `out_of_range`: a number, or a sum or product of points or money, would leave the
    /// range Enishi stores; nothing was written.
    pub fn out_of_range(field: Option<String>, detail: impl Into<String>) -> Self {
        ApiError { field, ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range", detail) }
    }

    /// 400 `bad_request`.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    /// 500 `internal`: the detail is logged (with the request's id), the client sees a generic
    /// message and the request id to quote.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(detail = %detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on the server; it has been logged",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => {
                tracing::warn!(detail = %m, "conflict");
                ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "this conflicts with data already stored (a duplicate id?)",
                )
            }
            StoreError::NotFound(m) => ApiError::not_found(m),
            StoreError::OutOfRange(m) => ApiError::out_of_range(None, m),
            StoreError::Busy => ApiError {
                retry_after: Some(2),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "the server is busy; try again shortly")
            },
            other => ApiError::internal(enishi_store::with_causes(&other)),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        if e.out_of_range {
            let detail = format!("{}: {}", e.field, e.reason);
            ApiError::out_of_range(Some(e.field), detail)
        } else {
            ApiError::invalid(e.field, e.reason)
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Invalid(f) => f.into(),
            IntakeError::UnknownOrder(id) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_order", format!("no order with id {id}"))
            }
            IntakeError::Store(s) => s.into(),
        }
    }
}

impl From<enishi_campaigns::Error> for ApiError {
    fn from(e: enishi_campaigns::Error) -> Self {
        use enishi_campaigns::Error as E;
        match e {
            // "field: why" names the field.
            E::Invalid(m) => {
                let field = m.split_once(": ").map(|(f, _)| f).filter(|f| !f.contains(' ')).unwrap_or("body");
                ApiError::invalid(field.to_string(), m.clone())
            }
            E::Template(m) => ApiError::invalid("template", m),
            E::NotFound(m) => ApiError::not_found(m),
            E::State(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            E::Segment(enishi_segments::Error::Store(s)) | E::Store(s) => s.into(),
            E::Segment(enishi_segments::Error::NotFound(what, name)) => {
                ApiError::not_found(format!("there is no {what} named \"{name}\""))
            }
            E::Segment(other) => ApiError::invalid("segment", other.to_string()),
            E::Delivery(m) => ApiError::internal(m),
        }
    }
}

impl ApiError {
    /// The problem+json body (without the request id).
    pub(crate) fn problem(&self) -> serde_json::Value {
        serde_json::to_value(Problem::of(self, None)).unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem::of(&self, crate::observe::request_id());
        let body = serde_json::to_string(&body).unwrap_or_default();
        let response = (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response();
        match self.retry_after {
            Some(seconds) => crate::access::with_retry_after(response, seconds),
            None => response,
        }
    }
}

impl From<enishi_store::repo::users::UserError> for ApiError {
    fn from(e: enishi_store::repo::users::UserError) -> Self {
        use enishi_store::repo::users::UserError;
        match e {
            UserError::BadEmail(_) => ApiError::invalid("email", e.to_string()),
            UserError::WeakPassword => ApiError::invalid("password", e.to_string()),
            UserError::Taken(_) => ApiError::new(StatusCode::CONFLICT, "user_exists", e.to_string()),
            UserError::NotFound(_) => ApiError::not_found(e.to_string()),
            UserError::LastAdmin => ApiError::new(StatusCode::CONFLICT, "last_admin", e.to_string()),
            UserError::Store(s) => s.into(),
        }
    }
}

/// Every `code` a problem can carry (a test checks that the server uses no other).
const PROBLEM_CODES: &[&str] = &[
    "unauthorized",
    "forbidden",
    "not_found",
    "invalid_field",
    "invalid_body",
    "malformed_json",
    "unsupported_media_type",
    "payload_too_large",
    "bad_path",
    "bad_query",
    "bad_request",
    "conflict",
    "customer_exists",
    "unknown_order",
    "internal",
    "method_not_allowed",
    "invalid_program",
    "out_of_range",
    "no_program",
    "insufficient_points",
    "points_debt",
    "limit_reached",
    "coupon_unusable",
    "rate_limited",
    "confirmation_required",
    "last_admin",
    "no_purchases",
    "user_exists",
    "busy",
    "timeout",
    "invalid_rule",
    "name_taken",
    "segment_in_use",
    "invalid_campaign",
    "invalid_journey",
    "invalid_survey",
    "invalid_template",
    "wrong_state",
    "invalid_review",
    "invalid_change",
    "already_reversed",
];

/// An error, as `application/problem+json` (RFC 9457) with Enishi's stable `code`: what
/// [`ApiError`] renders, so the schema is the rendering's own.
#[derive(serde::Serialize, ToSchema)]
#[schema(description = "An error, as `application/problem+json` (RFC 9457) with Enishi's stable `code`.")]
pub(crate) struct Problem {
    #[schema(schema_with = problem_type)]
    r#type: String,
    /// The HTTP reason phrase of `status`.
    #[schema(examples("Unprocessable Entity"))]
    title: &'static str,
    /// The HTTP status code.
    #[schema(examples(422))]
    status: u16,
    #[schema(schema_with = problem_code)]
    code: &'static str,
    /// What happened, for a person.
    #[schema(examples("lines[0].unit_price: 'abc' is not an amount (expected a decimal like 57.40)"))]
    detail: String,
    /// JSON path of the field at fault (`lines[1].unit_price`, `consents.email.status`, `rules[2].multiplier`); with `invalid_field`, `invalid_program`, `invalid_body` and `out_of_range` when one field is at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples("lines[0].unit_price"))]
    field: Option<String>,
    /// The request's id (the caller's `X-Request-Id`, or one the server made); the same id is in the response's `X-Request-Id` header and on the server's log lines for this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples("3f9c2a0d5be14e8f9a6c1d2e7b4f0a91"))]
    request_id: Option<String>,
}

impl Problem {
    /// The problem `e` is answered as, carrying `request_id` when there is one.
    pub(crate) fn of(e: &ApiError, request_id: Option<String>) -> Self {
        Problem {
            r#type: format!("https://enishi.dev/problems/{}", e.code),
            title: e.status.canonical_reason().unwrap_or("Error"),
            status: e.status.as_u16(),
            code: e.code,
            detail: e.detail.clone(),
            field: e.field.clone(),
            request_id,
        }
    }
}

/// A problem's `type`: a URI naming its code.
fn problem_type() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::Custom("uri".into())))
        .description(Some("`https://enishi.dev/problems/{code}`."))
        .examples(["https://enishi.dev/problems/invalid_field"])
        .build()
}

/// A problem's `code`: one of [`PROBLEM_CODES`].
fn problem_code() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("Stable machine-readable code."))
        .enum_values(Some(PROBLEM_CODES.iter().copied()))
        .build()
}

/// Largest request body accepted (an events batch of a few thousand events).
pub(crate) const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The answer to a body over [`BODY_LIMIT`].
pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body is larger than {BODY_LIMIT} bytes"),
    )
}
