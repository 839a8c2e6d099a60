//! The JSON API under `/api/v1`: one module per resource (`customers`, `customer_360`, `orders`, `events`,
//! `interactions`, `tasks`, `accounts`, `products`, `analytics`, `loyalty`, `segments`,
//! `templates`, `campaigns`, `journeys`, `surveys`, `reviews`, `changes`, `meta`), what they share in
//! `shared`, and here only the assembly:
//! the registration of every route with its documentation, the document itself, and what every
//! route shares (problem+json fallbacks, the body limit). Nothing under `api/` imports this
//! module, so no module is in an import circle with it.

use crate::error::{too_large, BODY_LIMIT};
use crate::openapi::Unavailable;
use crate::{ApiError, AppState};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::OnceLock;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod accounts;
mod analytics;
mod campaigns;
mod changes;
mod customer_360;
mod customers;
mod events;
mod interactions;
mod journeys;
mod loyalty;
mod meta;
mod orders;
mod products;
mod reviews;
mod segments;
pub(crate) mod shared;
mod surveys;
mod tasks;
mod templates;

/// Every API route with its documentation, generated from its handler's `#[utoipa::path]`:
/// registering a route here registers its documentation (see [`crate::openapi`]).
pub(crate) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(meta::documented())
        .merge(products::documented())
        .merge(accounts::documented())
        .routes(routes!(crate::audit::list))
        .merge(interactions::documented())
        .merge(tasks::documented())
        .merge(customers::documented())
        .merge(customer_360::documented())
        .merge(orders::documented())
        .merge(events::documented())
        .merge(analytics::documented())
        .merge(loyalty::documented())
        .merge(segments::documented())
        .merge(templates::documented())
        .merge(campaigns::documented())
        .merge(journeys::documented())
        .merge(reviews::documented())
        .merge(changes::documented())
        .merge(surveys::documented())
        .routes(routes!(openapi))
}

#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "getOpenApi", tag = "meta",
    summary = "This OpenAPI document",
    description = "The OpenAPI 3.1 description of the API, as `application/json`.\n\nNo authentication.",
    security(),
    responses(
        (status = 200, description = "The OpenAPI document.", body = Object, content_type = "application/json"),
        (status = 503, response = Unavailable),
    ))]
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}

/// The OpenAPI document served at `/api/v1/openapi.json`: what [`documented`] registers, in the
/// frame [`crate::openapi`] gives every document. It is served from here, the one module that
/// sees every route, so that no resource module depends on the assembly of all of them.
pub(crate) fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| crate::openapi::assemble(documented().into_openapi()))
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
