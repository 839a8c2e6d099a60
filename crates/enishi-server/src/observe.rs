//! Structured request logs: every request gets an id (the caller's `X-Request-Id` when it is a
//! plausible one, else a new random one), returned in the `X-Request-Id` header and in
//! problem+json bodies, and carried by every log line written while the request runs (a
//! `tracing` span). One line is logged per request, when it is answered: method, route
//! template (never the raw path or query, which may hold personal data), status, latency and
//! caller (`token:LABEL (ROLE)` or `user:ID`).

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tracing::Instrument;

/// The request header (and response header) that carries the request id.
pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

/// What is known about the request being served.
struct RequestContext {
    id: String,
    caller: Mutex<Option<String>>,
}

tokio::task_local! {
    static CONTEXT: Arc<RequestContext>;
}

/// The id of the request being served on this task, if any.
pub(crate) fn request_id() -> Option<String> {
    CONTEXT.try_with(|c| c.id.clone()).ok()
}

/// Names who is calling, for the request's log line.
pub(crate) fn set_caller(who: String) {
    let _ = CONTEXT.try_with(|c| *c.caller.lock().unwrap_or_else(|p| p.into_inner()) = Some(who));
}

/// A caller's id is kept when it is 1 to 64 letters, digits, `-`, `_` or `.` (so it cannot
/// forge log lines or carry data); otherwise a new one is made.
fn id_of(req: &Request) -> String {
    let given = req.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).filter(|v| {
        (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    match given {
        Some(id) => id.to_string(),
        None => hex::encode(rand::random::<[u8; 16]>()),
    }
}

/// Gives the request its id and span, and logs its line when answered (the layer around the
/// others but the metrics).
pub(crate) async fn observe(req: Request, next: Next) -> Response {
    let id = id_of(&req);
    let method = req.method().clone();
    // Layers run per route (after routing), so the template is known; unknown paths have none.
    let route = req.extensions().get::<MatchedPath>().cloned(); // shared, not copied
    let started = Instant::now();
    let context = Arc::new(RequestContext { id: id.clone(), caller: Mutex::new(None) });
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = CONTEXT.scope(context.clone(), next.run(req).instrument(span.clone())).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    let caller = context.caller.lock().unwrap_or_else(|p| p.into_inner()).take();
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            route = route.as_ref().map_or("unmatched", MatchedPath::as_str),
            status,
            latency_ms = format!("{latency_ms:.2}"),
            caller = caller.as_deref().unwrap_or("-"),
            "request"
        );
    });
    response
}
