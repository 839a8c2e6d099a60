//! `/api/v1/events`: record a batch of behavioural events, idempotent per event.

use super::shared::{ok, Body};
use crate::auth::Caller;
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Internal, PayloadTooLarge, Unauthorized, Unavailable, UnprocessableEntity,
    UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::response::Response;
use enishi_store::repo::{customers, history};
use enishi_store::{JsonMap, NewEvent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most events in one batch.
const MAX_EVENTS: usize = 5000;

/// The event routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add_events))
}

/// A batch of events.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EventBatch)]
struct EventsBody {
    #[schema(min_items = 1, max_items = 5000)]
    events: Vec<EventBody>,
}

/// A behavioural event as sent.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EventInput)]
struct EventBody {
    /// The shop's id of the customer (external_id).
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    customer_external_id: String,
    /// Event name, 1 to 100 bytes after trimming (`viewed_product`, `added_to_cart`, …).
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$",
        max_length = 100
    )]
    name: String,
    /// When (see `TimestampInput`); defaults to now.
    #[serde(default)]
    #[schema(
        pattern = r"^\s*([+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?|[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[+-]?[0-9]{4,} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)\s*$"
    )]
    occurred_at: Option<String>,
    /// Free properties; defaults to `{}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    properties: JsonMap,
    /// The sender's id of the event (idempotency key): an event whose `event_id` is already stored, or repeated in the batch, is skipped.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    event_id: Option<String>,
}

// What a batch did.
#[derive(Serialize, ToSchema)]
struct EventBatchResult {
    /// Events in the batch.
    received: usize,
    /// Events stored now.
    stored: u64,
    /// Events skipped because their `event_id` was already stored or repeated.
    duplicates: u64,
}

#[utoipa::path(post, path = "/api/v1/events", operation_id = "createEvents", tag = "events",
    summary = "Record behavioural events",
    description = "Records a batch of 1 to 5000 events; they are written before the answer. Idempotent per event on `event_id`: events whose `event_id` is already stored, or repeated in the batch, are skipped and counted as `duplicates`. If any event is wrong (an unknown customer, a bad time) nothing is stored and the answer is 422 naming `events[i].…`.\n\nRoles: admin, marketer, staff.",
    request_body(content((EventsBody = "application/json", examples(("events" = (value = json!({"events": [
        {"customer_external_id": "C-1", "name": "viewed_product", "occurred_at": "2026-11-21T10:00:00Z", "properties": {"sku": "BEANS-1"}, "event_id": "ev-0001"},
        {"customer_external_id": "C-1", "name": "added_to_cart", "properties": {"sku": "BEANS-1", "quantity": 1}, "event_id": "ev-0002"}
    ]}))))))),
    responses(
        (status = 200, description = "The batch was accepted.", body = EventBatchResult),
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
async fn add_events(_: Caller, State(state): State<AppState>, Body(b): Body<EventsBody>) -> Result<Response, ApiError> {
    if b.events.is_empty() || b.events.len() > MAX_EVENTS {
        return Err(ApiError::invalid("events", format!("send between 1 and {MAX_EVENTS} events")));
    }
    let clock = state.workspace().clock;
    let mut parsed = Vec::with_capacity(b.events.len());
    for (i, e) in b.events.into_iter().enumerate() {
        let name = e.name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(ApiError::invalid(format!("events[{i}].name"), "must be 1 to 100 characters"));
        }
        let at = match &e.occurred_at {
            Some(t) => {
                clock.parse_timestamp(t).map_err(|err| ApiError::invalid(format!("events[{i}].occurred_at"), err.0))?
            }
            None => state.now(),
        };
        parsed.push((i, e.customer_external_id.trim().to_string(), name.to_string(), at, e.properties, e.event_id));
    }
    let stored = state
        .run(move |s| {
            s.write(|c| {
                let mut ids = std::collections::HashMap::new();
                let mut events = Vec::with_capacity(parsed.len());
                for (i, ext, name, at, properties, event_ref) in parsed {
                    let id = match ids.get(&ext) {
                        Some(&id) => id,
                        None => {
                            let id = customers::id_by_external_id(c, &ext)?.ok_or_else(|| {
                                ApiError::invalid(
                                    format!("events[{i}].customer_external_id"),
                                    format!("no customer with external_id {ext}"),
                                )
                            })?;
                            ids.insert(ext, id);
                            id
                        }
                    };
                    events.push(NewEvent { customer_id: id, name, occurred_at: at, properties, event_ref });
                }
                let n = events.len();
                let stored = history::add_events(c, &events)?;
                Ok((n, stored))
            })
        })
        .await?;
    let (received, stored) = stored;
    Ok(ok(EventBatchResult { received, stored, duplicates: received as u64 - stored }))
}
