//! The one error type at the HTTP edge, answered as `application/problem+json` with a stable
//! `code`. Internal details are logged, never returned.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use enishi_ingest::intake::{FieldError, IntakeError};
use enishi_store::StoreError;

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

impl ApiError {
    /// The problem+json body (without the request id).
    pub(crate) fn problem(&self) -> serde_json::Value {
        serde_json::to_value(crate::openapi::Problem::of(self, None)).unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = crate::openapi::Problem::of(&self, crate::observe::request_id());
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
