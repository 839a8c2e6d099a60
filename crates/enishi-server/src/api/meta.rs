//! `/api/v1/health`: the health check (no token). The document, `/api/v1/openapi.json`, is
//! served by `api/mod.rs`, which assembles it.

use super::shared::ok;
use crate::openapi::{Internal, Unavailable};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::response::Response;
use enishi_store::repo::customers as customer_rows;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The health route, registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
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
