//! `/api/v1/journeys`: journeys — step mails entered on a trigger (admins and marketers):
//! create one from its document (the same JSON as `enishi journey create FILE`; a mistake is
//! 422 `invalid_journey` naming the field), list them, read one with its funnel per step
//! (enrolled, waiting, queued, sent, skipped, failed, exited) and its latest entries, and pause
//! or resume one.

use super::shared::{created, ok, JsonText, PathParam, Timestamp};
use crate::auth::Manager;
use crate::error::Problem;
use crate::openapi::{
    BadRequest, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use enishi_campaigns::journeys::{self, Funnel};
use enishi_campaigns::Error;
use enishi_store::repo::journeys as repo;
use enishi_store::Conn;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The journey routes, each registered with its documentation.
pub(crate) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show))
        .routes(routes!(pause))
        .routes(routes!(resume))
}

/// The journey document, as docs/campaigns.md ("Journeys") describes it (for the
/// documentation; the server reads the document with its own checks).
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
struct JourneyDocument {
    /// A unique name, 1 to 100 characters.
    name: String,
    /// `{"kind": "first_purchase"}`, `{"kind": "days_after_order", "days": 7}`, `birthday`,
    /// `points_expiring`, `cart_abandoned`, `lifecycle`, `loyal_lapsing`, `tier_upgrade`,
    /// `promotion_started`, `stamp_card_one_short`.
    #[schema(value_type = Object)]
    trigger: Value,
    /// 1 to 20 steps: `{"key": "welcome", "template": NAME, "channel": "email", "delay": "7d"}`;
    /// a `webhook` step has `webhook_url`, a `call` step may have `call: {title, due_days}`.
    #[schema(value_type = Vec<Object>)]
    steps: Vec<Value>,
    /// `{"on_order": true, "on_unsubscribe": true, "when_matching": RULE, "unless_matching": RULE}`.
    #[schema(nullable = false, value_type = Option<Object>)]
    exit: Option<Value>,
    /// `HH:MM`: a `suggested` step's time for a customer without orders.
    #[schema(nullable = false)]
    send_time: Option<String>,
    /// `{"name": …, "email": …}`.
    #[schema(nullable = false, value_type = Option<Object>)]
    sender: Option<Value>,
    /// As in a campaign.
    #[schema(nullable = false, value_type = Option<Object>)]
    goal: Option<Value>,
    /// 1–365 (default 14).
    #[schema(nullable = false, minimum = 1, maximum = 365)]
    attribution_days: Option<u32>,
    /// A decimal string in the workspace currency.
    #[schema(nullable = false)]
    cost_per_message: Option<String>,
}

/// One step of a journey's funnel.
#[derive(Serialize, ToSchema)]
pub(crate) struct StepView {
    /// The step's key.
    key: String,
    /// `email`, `webhook` or `call`.
    channel: String,
    /// The campaign it sends through (`journey / key`; its results are the campaign's).
    campaign: String,
    /// Entries that reached the step (all of the below).
    enrolled: i64,
    /// Active entries waiting for it.
    waiting: i64,
    /// Messages in the send queue.
    queued: i64,
    /// Messages sent (a call step: tasks made).
    sent: i64,
    /// Messages skipped by the contact policy (`no_consent`, `no_address`, `suppressed`, `frequency_cap`).
    skipped: i64,
    /// Messages that failed.
    failed: i64,
    /// Entries that left on an exit condition just before this step.
    exited: i64,
}

/// A journey as the API answers it.
#[derive(Serialize, ToSchema)]
#[schema(as = Journey)]
pub(crate) struct JourneyView {
    name: String,
    /// The trigger's kind (`first_purchase`, …).
    trigger: String,
    /// `active` or `paused`.
    status: String,
    created_at: Timestamp,
    /// When it was paused.
    paused_at: Option<Timestamp>,
    /// Entries in all.
    enrolled: i64,
    /// Entries with a step still to come.
    active: i64,
    /// Entries that went through every step.
    done: i64,
    /// Entries that left on an exit condition.
    exited: i64,
    /// The funnel, step by step.
    steps: Vec<StepView>,
    /// The checked document, with its defaults filled in.
    #[schema(value_type = Object)]
    definition: Value,
}

/// Every journey, oldest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct JourneyList {
    items: Vec<JourneyView>,
}

/// One entry into a journey.
#[derive(Serialize, ToSchema)]
pub(crate) struct EnrolmentView {
    /// The customer's shop id.
    customer: String,
    /// What entered them (`first`, `order:42`, `tier:7`, `promotion:double`, `stamps:card:2`).
    occurrence: String,
    entered_at: Timestamp,
    /// The key of the step due next; null once done or exited.
    next_step: Option<String>,
    /// When it is due.
    due_at: Option<Timestamp>,
    /// `active`, `done` or `exited`.
    status: String,
    /// Why they left (`ordered`, `unsubscribed`, `matched`, `no_longer_matched`).
    exit_reason: Option<String>,
}

/// A journey with its latest entries.
#[derive(Serialize, ToSchema)]
#[schema(as = JourneyDetail)]
pub(crate) struct DetailView {
    #[serde(flatten)]
    journey: JourneyView,
    /// The latest 50 entries, newest first.
    latest: Vec<EnrolmentView>,
}

fn stamp(t: i64) -> Timestamp {
    Timestamp(enishi_store::instant(t))
}

/// 422 `invalid_journey` with the field the message names (`steps[1].delay: …`).
fn invalid_journey(detail: String) -> ApiError {
    let field = detail.split_once(": ").map(|(f, _)| f).filter(|f| !f.contains(' ')).map(String::from);
    ApiError { field, ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_journey", detail) }
}

/// A journey error as the API answers it.
fn answer(e: Error) -> ApiError {
    match e {
        Error::Invalid(m) => invalid_journey(m),
        Error::NotFound(m) => ApiError::not_found(m),
        Error::State(m) => ApiError::new(StatusCode::CONFLICT, "wrong_state", m),
        Error::Segment(enishi_segments::Error::Store(s)) | Error::Store(s) => s.into(),
        Error::Segment(other) => invalid_journey(other.to_string()),
        other => ApiError::internal(other),
    }
}

/// A journey with its funnel, read in the caller's transaction.
fn view(c: &mut dyn Conn, j: &repo::Journey) -> Result<JourneyView, ApiError> {
    let doc = journeys::document_of(j).map_err(ApiError::internal)?;
    let Funnel { enrolled, active, done, exited, steps } = journeys::funnel(c, j).map_err(answer)?;
    Ok(JourneyView {
        name: j.name.clone(),
        trigger: j.trigger_kind.clone(),
        status: if j.paused_at.is_some() { "paused" } else { "active" }.into(),
        created_at: stamp(j.created_at),
        paused_at: j.paused_at.map(stamp),
        enrolled,
        active,
        done,
        exited,
        steps: steps
            .into_iter()
            .map(|s| StepView {
                key: s.key,
                channel: s.channel,
                campaign: s.campaign,
                enrolled: s.enrolled,
                waiting: s.waiting,
                queued: s.queued,
                sent: s.sent,
                skipped: s.skipped,
                failed: s.failed,
                exited: s.exited,
            })
            .collect(),
        definition: serde_json::to_value(&doc).map_err(ApiError::internal)?,
    })
}

fn detail(c: &mut dyn Conn, name: &str) -> Result<DetailView, ApiError> {
    let j = journeys::find(c, name).map_err(answer)?;
    let doc = journeys::document_of(&j).map_err(ApiError::internal)?;
    let latest = repo::enrolments(c, j.id, 50)?
        .into_iter()
        .map(|e| EnrolmentView {
            customer: e.external_id,
            occurrence: e.occurrence,
            entered_at: stamp(e.entered_at),
            next_step: usize::try_from(e.next_step)
                .ok()
                .filter(|_| e.status == "active")
                .and_then(|i| doc.steps.get(i))
                .map(|s| s.key.clone()),
            due_at: e.due_at.map(stamp),
            status: e.status,
            exit_reason: e.exit_reason,
        })
        .collect();
    Ok(DetailView { journey: view(c, &j)?, latest })
}

#[utoipa::path(get, path = "/api/v1/journeys", operation_id = "listJourneys", tag = "journeys",
    summary = "List journeys",
    description = "Every journey, oldest first, with its status, its entries by status and its funnel per step.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    responses(
        (status = 200, description = "The journeys.", body = JourneyList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list(_: Manager, State(state): State<AppState>) -> Result<Response, ApiError> {
    let items = state
        .run(|s| {
            s.read(|c| {
                let all = repo::list(c)?;
                all.iter().map(|j| view(c, j)).collect::<Result<Vec<_>, ApiError>>()
            })
        })
        .await?;
    Ok(ok(JourneyList { items }))
}

#[utoipa::path(post, path = "/api/v1/journeys", operation_id = "createJourney", tag = "journeys",
    summary = "Create a journey from its document",
    description = "Checks the journey document (docs/campaigns.md, \"Journeys\") — every field, the trigger (and what a loyalty trigger names in the loyalty programme), each step's template, channel, delay and time, the exit rules — and saves it with a campaign for each step (`journey / key`). Customers enter from now on, at the server's next tick. A mistake is 422 `invalid_journey` whose `field` names the field (`trigger.days`, `steps[1].delay`, `exit.when_matching`); a name in use is 409 `name_taken`. Nothing is saved then.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    request_body(content((JourneyDocument = "application/json", examples(("welcome series" = (value = json!({"name": "welcome series", "trigger": {"kind": "first_purchase"}, "sender": {"name": "Aya"}, "steps": [{"key": "welcome", "template": "welcome"}, {"key": "follow-up", "template": "follow-up", "delay": "7d", "send_at": "suggested"}, {"key": "call", "channel": "call", "delay": "14d", "call": {"title": "Thank-you call", "due_days": 3}}]}))))))),
    responses(
        (status = 201, description = "Created.", body = JourneyView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "`name_taken`: a journey (or a step's campaign) has this name.", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`invalid_journey`: which field and why.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn create(
    Manager(caller): Manager,
    State(state): State<AppState>,
    JsonText(body): JsonText,
) -> Result<Response, ApiError> {
    let workspace = state.workspace();
    let (currency, clock) = (workspace.currency, workspace.clock);
    let j = state
        .run(move |s| {
            s.write(|c| {
                let doc = journeys::Journey::parse(&body).map_err(answer)?;
                if repo::by_name(c, &doc.name)?.is_some() {
                    let why = format!("a journey named \"{}\" exists", doc.name);
                    return Err(ApiError::new(StatusCode::CONFLICT, "name_taken", why));
                }
                let j = journeys::create(c, &body, currency, &clock).map_err(|e| match e {
                    Error::Invalid(m) if m.contains("a campaign named") => {
                        ApiError::new(StatusCode::CONFLICT, "name_taken", m)
                    }
                    other => answer(other),
                })?;
                let after = serde_json::json!({"trigger": j.trigger_kind});
                crate::audit::record(c, &caller.actor, "journey.create", &j.name, Some(after))?;
                view(c, &j)
            })
        })
        .await?;
    Ok(created(j))
}

#[utoipa::path(get, path = "/api/v1/journeys/{name}", operation_id = "getJourney", tag = "journeys",
    summary = "Get a journey with its funnel",
    description = "The journey's status, document, entries by status, its funnel per step (enrolled, waiting, queued, sent, skipped, failed, exited) and its latest 50 entries.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The journey's name (URL-encoded).")),
    responses(
        (status = 200, description = "The journey.", body = DetailView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn show(
    _: Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    Ok(ok(state.run(move |s| s.read(|c| detail(c, &name))).await?))
}

/// Pauses or resumes the journey `name`; 409 `wrong_state` when it already is.
async fn set_paused(state: AppState, actor: String, name: String, paused: bool) -> Result<Response, ApiError> {
    let j = state
        .run(move |s| {
            s.write(|c| {
                let j = journeys::find(c, &name).map_err(answer)?;
                if !repo::set_paused(c, j.id, paused)? {
                    let why = format!("\"{}\" is {} already", j.name, if paused { "paused" } else { "active" });
                    return Err(ApiError::new(StatusCode::CONFLICT, "wrong_state", why));
                }
                let action = if paused { "journey.pause" } else { "journey.resume" };
                crate::audit::record(c, &actor, action, &j.name, None)?;
                let j = journeys::find(c, &name).map_err(answer)?;
                view(c, &j)
            })
        })
        .await?;
    Ok(ok(j))
}

#[utoipa::path(post, path = "/api/v1/journeys/{name}/pause", operation_id = "pauseJourney", tag = "journeys",
    summary = "Pause a journey",
    description = "A paused journey enters nobody and moves no step (messages already in the send queue still go). A journey that is paused already is 409 `wrong_state`. No request body.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The journey's name (URL-encoded).")),
    responses(
        (status = 200, description = "Paused.", body = JourneyView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`wrong_state`: the journey is paused already.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn pause(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    set_paused(state, caller.actor, name, true).await
}

#[utoipa::path(post, path = "/api/v1/journeys/{name}/resume", operation_id = "resumeJourney", tag = "journeys",
    summary = "Resume a journey",
    description = "The journey runs again from the next tick: steps that fell due while it was paused go out, and the trigger's occurrences of the last two days (not before the journey was made) enter. A journey that is not paused is 409 `wrong_state`. No request body.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The journey's name (URL-encoded).")),
    responses(
        (status = 200, description = "Resumed.", body = JourneyView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`wrong_state`: the journey is not paused.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn resume(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    set_paused(state, caller.actor, name, false).await
}
