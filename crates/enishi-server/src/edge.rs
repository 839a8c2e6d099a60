//! What every request passes through before a handler sees it: control characters are refused
//! in the path, the query and the body (JSON or form), with a 422 that names the field; a
//! request that takes too long is answered 503 `timeout`; and what every response carries:
//! security headers (and gzip, by the compression layer, when the client accepts it).
//!
//! NUL cannot be stored in PostgreSQL, and it and the rest of C0 (ESC, …) would otherwise
//! reach exports. The path and query allow no control character at all; bodies allow tab, line
//! feed and carriage return (free text). See [`enishi_ingest::controls`].

use crate::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use enishi_ingest::controls;

/// Largest body this layer reads to check it: the API's limit (larger ones are refused).
const CHECKED_BODY_LIMIT: usize = crate::error::BODY_LIMIT;

fn refused(field: impl Into<String>, why: impl std::fmt::Display) -> Response {
    ApiError::invalid(field, why.to_string()).into_response()
}

/// Refuses control characters in the path, the query and JSON or form bodies.
pub(crate) async fn refuse_control_characters(req: Request, next: Next) -> Response {
    for segment in req.uri().path().split('/') {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        if decoded.chars().any(|c| c < ' ') {
            return refused("path", "a path segment contains a control character");
        }
    }
    if let Some(query) = req.uri().query() {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if key.chars().chain(value.chars()).any(|c| c < ' ') {
                return refused(key.escape_debug().to_string(), "the query parameter contains a control character");
            }
        }
    }
    let kind = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let json = kind.starts_with("application/json") || kind.contains("+json");
    let form = kind.starts_with("application/x-www-form-urlencoded");
    if !json && !form {
        return next.run(req).await;
    }
    let too_large =
        || ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is too large").into_response();
    let announced =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > CHECKED_BODY_LIMIT as u64) {
        return too_large(); // at once, without reading it
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, CHECKED_BODY_LIMIT).await else { return too_large() };
    if json && controls::json_may_carry_controls(&bytes) {
        // Only a body that parses is walked; one that does not is the handler's to refuse.
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            if let Some((field, why)) = controls::find_in_json(&v) {
                return refused(if field.is_empty() { "body".into() } else { field }, why);
            }
        }
    }
    if form {
        for (key, value) in form_urlencoded::parse(&bytes) {
            if let Err(why) = controls::check_text(&key).and_then(|()| controls::check_text(&value)) {
                return refused(key.escape_debug().to_string(), why);
            }
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Answers 503 `timeout` (with `Retry-After`) when the request takes longer than `limit`.
pub(crate) async fn deadline(State(limit): State<std::time::Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError {
            retry_after: Some(5),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "the request took longer than {} s; what it started may still finish: send it again \
                     with the same ids or idempotency key (a replay is answered, not recorded twice)",
                    limit.as_secs()
                ),
            )
        }
        .into_response(),
    }
}

/// The console's Content-Security-Policy: nothing but its own stylesheet, images and script
/// files (and the SVG charts inline), requests back to it, forms that post back to it, and no
/// framing. No inline script and no eval: the console works without script, and the one
/// script file it serves (the segment builder's live count) only adds to a page.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds security headers to every response: the Content-Security-Policy, `nosniff`, a
/// same-origin referrer policy, and `Cache-Control: no-store` wherever the response does not
/// set its own caching (console pages, tokens and every API answer hold personal data).
pub(crate) async fn security_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}
