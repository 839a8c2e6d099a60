//! Closing the loop (docs/listening.md): changes the business made after feedback, and the
//! feedback — interactions, survey answers, reviews — linked to each. The customers who raised
//! it are the segment `raised(change: "KEY")`.

use super::shared::{created, ok, Body, Id, PathParam, Timestamp};
use crate::auth::{Caller, Manager};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use enishi_campaigns::changes as ops;
use enishi_store::repo::changes::{self as repo, Change, Feedback};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The change routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_changes, create_change))
        .routes(routes!(get_change))
        .routes(routes!(link_feedback))
        .routes(routes!(unlink_feedback))
}

/// A campaign error on a change route: a wrong value is 422 `invalid_change` naming the field;
/// a key taken is 409 `name_taken`.
fn answer(e: enishi_campaigns::Error) -> ApiError {
    use enishi_campaigns::Error as E;
    match e {
        E::Invalid(m) => {
            let field = m.split_once(": ").map(|(f, _)| f.to_string());
            ApiError { field, ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_change", m) }
        }
        E::State(m) => ApiError::new(StatusCode::CONFLICT, "name_taken", m),
        other => other.into(),
    }
}

/// A change the business made.
#[derive(Serialize, ToSchema)]
#[schema(as = Change)]
struct ChangeView {
    id: i64,
    /// Its short key, as `raised(change: "…")` names it.
    #[schema(example = "delivery-3-days")]
    key: String,
    /// What changed, in a line.
    title: String,
    description: String,
    /// The day it took effect.
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    changed_on: String,
    created_at: Timestamp,
    /// Feedback linked to it.
    #[schema(minimum = 0)]
    feedback_count: i64,
    /// Customers who raised that feedback.
    #[schema(minimum = 0)]
    customer_count: i64,
}

impl From<Change> for ChangeView {
    fn from(c: Change) -> Self {
        ChangeView {
            id: c.id,
            key: c.key,
            title: c.title,
            description: c.description,
            changed_on: c.changed_on,
            created_at: Timestamp(c.created_at),
            feedback_count: c.feedback,
            customer_count: c.customers,
        }
    }
}

// Every change, the latest to take effect first.
#[derive(Serialize, ToSchema)]
struct ChangeList {
    items: Vec<ChangeView>,
}

/// Feedback linked to a change.
#[derive(Serialize, ToSchema)]
#[schema(as = LinkedFeedback)]
struct FeedbackView {
    /// `interaction`, `survey` (an answer, by its invitation's id) or `review`.
    kind: String,
    /// The interaction's, invitation's or review's id.
    id: i64,
    customer_id: i64,
    #[schema(required = true)]
    customer: Option<String>,
    /// What the customer said.
    #[schema(required = true)]
    text: Option<String>,
    /// When they said it.
    #[schema(required = true)]
    at: Option<Timestamp>,
    linked_at: Timestamp,
}

impl From<Feedback> for FeedbackView {
    fn from(f: Feedback) -> Self {
        FeedbackView {
            kind: f.kind,
            id: f.feedback_id,
            customer_id: f.customer_id,
            customer: f.customer,
            text: f.text,
            at: f.at.map(Timestamp),
            linked_at: Timestamp(f.linked_at),
        }
    }
}

// A change with its feedback.
#[derive(Serialize, ToSchema)]
struct ChangeDetail {
    change: ChangeView,
    /// The newest link first.
    feedback: Vec<FeedbackView>,
}

#[utoipa::path(get, path = "/api/v1/changes", operation_id = "listChanges", tag = "listening",
    summary = "List changes",
    description = "Every change the business recorded, the latest to take effect first, with how much feedback and how many customers are linked to each.\n\nRoles: admin, marketer, staff.",
    responses(
        (status = 200, description = "Changes.", body = ChangeList),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list_changes(_: Caller, State(state): State<AppState>) -> Result<Response, ApiError> {
    let items = state.run(move |s| Ok(s.read(repo::list)?)).await?;
    Ok(ok(ChangeList { items: items.into_iter().map(ChangeView::from).collect() }))
}

/// A change to record.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ChangeInput)]
struct ChangeBody {
    /// 1–64 of a–z, 0–9, `-`, `_`, `.`; unique.
    #[schema(example = "delivery-3-days", pattern = r"^[^\u0000-\u001F]*$")]
    key: String,
    /// What changed, 1–200 characters.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    title: String,
    /// More words, up to 2,000 characters.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    description: String,
    /// The day it took effect.
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    changed_on: String,
}

#[utoipa::path(post, path = "/api/v1/changes", operation_id = "createChange", tag = "listening",
    summary = "Record a change",
    description = "Records a change the business made. A wrong key, title or date is 422 `invalid_change` naming the field; a key taken is 409 `name_taken`. Audited.\n\nRoles: admin, marketer.",
    request_body(content((ChangeBody = "application/json", examples(("delivery" = (value = json!(
        {"key": "delivery-3-days", "title": "Delivery now within 3 days", "description": "A second courier from December.", "changed_on": "2026-12-01"}
    ))))))),
    responses(
        (status = 201, description = "The change recorded.", body = ChangeView),
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
async fn create_change(
    Manager(caller): Manager,
    State(state): State<AppState>,
    Body(b): Body<ChangeBody>,
) -> Result<Response, ApiError> {
    let change = state
        .run(move |s| {
            s.write(|c| {
                let ch = ops::create(c, &b.key, &b.title, &b.description, &b.changed_on).map_err(answer)?;
                let after = serde_json::json!({"title": ch.title, "changed_on": ch.changed_on});
                crate::audit::record(c, &caller.actor, "change.create", &ch.key, Some(after))?;
                Ok::<_, ApiError>(ch)
            })
        })
        .await?;
    Ok(created(ChangeView::from(change)))
}

#[utoipa::path(get, path = "/api/v1/changes/{id}", operation_id = "getChange", tag = "listening",
    summary = "One change and its feedback",
    description = "The change, and the feedback linked to it with what each customer said.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi change id.", minimum = 0)),
    responses(
        (status = 200, description = "The change.", body = ChangeDetail),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn get_change(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let found = state
        .run(move |s| {
            Ok(s.read(|c| -> Result<_, enishi_store::StoreError> {
                let Some(change) = repo::get(c, id)? else { return Ok(None) };
                Ok(Some((change, repo::feedback(c, id)?)))
            })?)
        })
        .await?;
    let (change, feedback) = found.ok_or_else(|| ApiError::not_found(format!("no change {id}")))?;
    Ok(ok(ChangeDetail {
        change: ChangeView::from(change),
        feedback: feedback.into_iter().map(FeedbackView::from).collect(),
    }))
}

/// Feedback to link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FeedbackLink)]
struct LinkBody {
    /// `interaction`, `survey` (an answer, by its invitation's id) or `review` (a written one).
    #[schema(example = "interaction", pattern = r"^[^\u0000-\u001F]*$")]
    kind: String,
    /// The interaction's, invitation's or review's id.
    #[schema(minimum = 0)]
    id: i64,
}

#[utoipa::path(post, path = "/api/v1/changes/{id}/feedback", operation_id = "linkFeedback", tag = "listening",
    summary = "Link feedback to a change",
    description = "Links an interaction, a survey answer or a written review to the change; its customer is then in `raised(change: \"KEY\")`. Linking again changes nothing (200). A wrong kind is 422 `invalid_change`; feedback that does not exist (or a survey not answered, a review not written) is 404.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi change id.", minimum = 0)),
    request_body(content((LinkBody = "application/json", examples(("complaint" = (value = json!({"kind": "interaction", "id": 42}))))))),
    responses(
        (status = 200, description = "It was linked already.", body = ChangeView),
        (status = 201, description = "Linked.", body = ChangeView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn link_feedback(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<LinkBody>,
) -> Result<Response, ApiError> {
    let (linked, change) = state
        .run(move |s| {
            s.write(|c| {
                let change = repo::get(c, id)?.ok_or_else(|| ApiError::not_found(format!("no change {id}")))?;
                let linked = ops::link(c, &change.key, &b.kind, b.id).map_err(answer)?;
                let change = repo::get(c, id)?.unwrap_or(change);
                Ok::<_, ApiError>((linked, change))
            })
        })
        .await?;
    let view = ChangeView::from(change);
    Ok(if linked { created(view) } else { ok(view) })
}

#[utoipa::path(delete, path = "/api/v1/changes/{id}/feedback/{kind}/{feedback_id}", operation_id = "unlinkFeedback",
    tag = "listening",
    summary = "Unlink feedback from a change",
    description = "Removes the link of an interaction, a survey answer or a review to the change (one made by mistake); its customer leaves `raised(change: \"KEY\")` unless other feedback of theirs is linked. A wrong kind is 422 `invalid_change`; a change that does not exist, or feedback not linked to it, is 404. Audited as `change.unlink`.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(
        ("id" = i64, Path, description = "Enishi change id.", minimum = 0),
        ("kind" = String, Path, description = "`interaction`, `survey` or `review`."),
        ("feedback_id" = i64, Path, description = "The interaction's, invitation's or review's id.", minimum = 0),
    ),
    responses(
        (status = 204, description = "Unlinked."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn unlink_feedback(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam((Id(id), kind, Id(feedback_id))): PathParam<(Id, String, Id)>,
) -> Result<Response, ApiError> {
    state
        .run(move |s| {
            s.write(|c| {
                let change = repo::get(c, id)?.ok_or_else(|| ApiError::not_found(format!("no change {id}")))?;
                ops::unlink(c, &change.key, &kind, feedback_id).map_err(answer)?;
                let after = serde_json::json!({"kind": kind.trim(), "id": feedback_id});
                crate::audit::record(c, &caller.actor, "change.unlink", &change.key, Some(after))?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
