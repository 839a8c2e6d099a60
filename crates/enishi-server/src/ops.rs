//! What operators and orchestrators probe: `/healthz` (the process answers) and `/readyz` (the
//! database answers and its schema is current). Neither needs a token nor touches personal data.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::render))
}

/// Alive: the process serves requests.
async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// Ready: the database answers within the checkout timeout and every migration is applied;
/// 503 otherwise (with why), so a load balancer sends no traffic here yet.
async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    let checked = tokio::task::spawn_blocking(move || store.pending_migrations()).await;
    let (status, body) = match checked {
        Ok(Ok(pending)) if pending.is_empty() => (StatusCode::OK, json!({"status": "ready"})),
        Ok(Ok(pending)) => {
            (StatusCode::SERVICE_UNAVAILABLE, json!({"status": "migrations pending", "pending": pending}))
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, json!({"status": "database unavailable"}))
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, json!({"status": "check failed"})),
    };
    (status, axum::Json(body)).into_response()
}
