//! Following up: tasks (a call, an email, a letter, a meeting) about a customer with a due
//! time, an assignee, a status and an outcome; and the owner (a console user) of each customer
//! and B2B account (docs/listening.md).

use super::shared::{
    created, ok, present, user_named, Body, Id, PageQuery, PathParam, QueryParams, Timestamp, UserView,
};
use crate::auth::{Caller, Manager};
use crate::openapi::{
    BadRequest, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable, UnprocessableEntity,
    UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use enishi_core::{TaskKind, TaskStatus};
use enishi_store::repo::tasks::{self, NewTask, TaskChange, TaskQuery};
use enishi_store::repo::{accounts, customers, history};
use enishi_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The task and owner routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(get_task, update_task, delete_task))
        .routes(routes!(customer_owner, set_customer_owner))
        .routes(routes!(account_owner, set_account_owner))
}

crate::openapi::vocabulary!(Kind(TaskKind) as "TaskKind": "What a follow-up task is.");
crate::openapi::vocabulary!(Status(TaskStatus) as "TaskStatus": "Whether a task is still to do.");

/// A follow-up task.
#[derive(Serialize, ToSchema)]
#[schema(as = Task)]
pub(crate) struct TaskView {
    id: i64,
    customer_id: i64,
    /// The customer's name.
    #[schema(required = true)]
    customer_name: Option<String>,
    /// The interaction it follows up.
    #[schema(required = true)]
    interaction_id: Option<i64>,
    /// The campaign it belongs to.
    #[schema(required = true)]
    campaign_id: Option<i64>,
    kind: Kind,
    /// What to do.
    title: String,
    due_at: Timestamp,
    /// Whether it is open and due before now.
    overdue: bool,
    /// Who is to do it.
    #[schema(required = true)]
    assignee: Option<UserView>,
    status: Status,
    /// What came of it.
    #[schema(required = true)]
    outcome: Option<String>,
    /// The rule that made it, if one did: `complaint`, `at_risk`, `first_order` or `detractor`
    /// (the task rules, docs/listening.md), or `campaign` (a call-list campaign's call,
    /// docs/campaigns.md).
    #[schema(required = true)]
    rule: Option<String>,
    /// Who made it.
    #[schema(required = true)]
    created_by: Option<String>,
    created_at: Timestamp,
    /// When it was done or cancelled.
    #[schema(required = true)]
    done_at: Option<Timestamp>,
}

impl TaskView {
    pub(crate) fn of(t: tasks::Task, now: chrono::DateTime<chrono::Utc>) -> Self {
        TaskView {
            overdue: t.status == TaskStatus::Open && t.due_at < now,
            id: t.id,
            customer_id: t.customer_id,
            customer_name: t.customer_name,
            interaction_id: t.interaction_id,
            campaign_id: t.campaign_id,
            kind: Kind(t.kind),
            title: t.title,
            due_at: Timestamp(t.due_at),
            assignee: t.assignee.map(UserView::from),
            status: Status(t.status),
            outcome: t.outcome,
            rule: t.rule,
            created_by: t.created_by,
            created_at: Timestamp(t.created_at),
            done_at: t.done_at.map(Timestamp),
        }
    }
}

// A page of tasks.
#[derive(Serialize, ToSchema)]
struct TaskPage {
    items: Vec<TaskView>,
    limit: i64,
    offset: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct TaskListQuery {
    /// Only this user's tasks (sign-in email).
    #[param(nullable = false, pattern = r"^[^\u0000-\u001F]*$")]
    assignee: Option<String>,
    /// Only this customer's.
    #[param(nullable = false, minimum = 0)]
    customer_id: Option<i64>,
    /// Only with this status.
    #[param(value_type = Option<Status>, nullable = false)]
    status: Option<String>,
    /// Only open tasks due before now.
    #[param(nullable = false)]
    overdue: Option<bool>,
    /// Page size, 1 to 500 (values outside are refused with 422).
    #[param(default = 50, minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Items to skip, 0 or more (a negative value is refused with 422).
    #[param(default = 0, minimum = 0)]
    offset: Option<i64>,
}

/// Runs `f` in a write (or read) transaction, where `f` may refuse with an [`ApiError`].
async fn in_store<T: Send + 'static>(
    state: &AppState,
    write: bool,
    f: impl FnOnce(&mut dyn enishi_store::Conn) -> Result<Result<T, ApiError>, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    state.run(move |s| if write { s.write(f)? } else { s.read(f)? }).await
}

/// A user named by email in the transaction, or the refusal.
macro_rules! user_or_refuse {
    ($c:expr, $field:expr, $email:expr) => {
        match user_named($c, $field, $email)? {
            Ok(u) => u,
            Err(e) => return Ok(Err(e)),
        }
    };
}

#[utoipa::path(get, path = "/api/v1/tasks", operation_id = "listTasks", tag = "tasks",
    summary = "Tasks",
    description = "Tasks, the soonest due first, filtered by `assignee`, `customer_id`, `status` or `overdue` (open and due before now), paged with `limit` and `offset`. Unknown query parameters are refused (400 `bad_query`). A task's `rule` says which rule made it: `complaint`, `at_risk`, `first_order`, `detractor` (the task rules, docs/listening.md) or `campaign` (a call-list campaign's call, with its `campaign`); `null` for a task made by hand.\n\nRoles: admin, marketer, staff.",
    params(TaskListQuery),
    responses(
        (status = 200, description = "A page of tasks.", body = TaskPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list_tasks(
    _: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<TaskListQuery>,
) -> Result<Response, ApiError> {
    let status =
        q.status.as_deref().map(str::parse::<TaskStatus>).transpose().map_err(|e| ApiError::invalid("status", e.0))?;
    let p = PageQuery { limit: q.limit, offset: q.offset };
    let (limit, offset) = (p.limit()?, p.offset()?);
    let now = state.now();
    let due_before = q.overdue.unwrap_or(false).then_some(now.timestamp());
    let (assignee, customer_id) = (q.assignee, q.customer_id);
    let items = in_store(&state, false, move |c| {
        let assignee_id = match assignee.as_deref() {
            Some(email) => Some(user_or_refuse!(c, "assignee", email)),
            None => None,
        };
        let query = TaskQuery { assignee_id, customer_id, status, due_before };
        Ok(Ok(tasks::list(c, &query, limit, offset)?))
    })
    .await?;
    Ok(ok(TaskPage { items: items.into_iter().map(|t| TaskView::of(t, now)).collect(), limit, offset }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TaskInput)]
struct TaskBody {
    /// The customer it is about.
    #[schema(minimum = 0)]
    customer_id: i64,
    /// `call`, `email`, `letter` or `meeting` (case-insensitive).
    #[schema(value_type = Kind)]
    kind: String,
    /// What to do; not empty.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    title: String,
    /// When it is due (see `TimestampInput`).
    #[schema(
        pattern = r"^\s*([+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?|[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[+-]?[0-9]{4,} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)\s*$"
    )]
    due_at: String,
    /// Sign-in email of the user who is to do it; defaults to the customer's owner.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    assignee: Option<String>,
    /// The interaction (of the same customer) it follows up.
    #[serde(default)]
    #[schema(minimum = 0)]
    interaction_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/tasks", operation_id = "createTask", tag = "tasks",
    summary = "Make a task",
    description = "Makes an open task about a customer, for `assignee` (a user's sign-in email) or else the customer's owner. Not idempotent: each call makes one.\n\nRoles: admin, marketer, staff.",
    request_body(content((TaskBody = "application/json", examples(("call" = (value = json!(
        {"customer_id": 1, "kind": "call", "title": "Ask how the grinder works now", "due_at": "2026-11-24 10:00", "assignee": "aki@shop.example"}
    ))))))),
    responses(
        (status = 201, description = "The task made.", body = TaskView),
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
async fn create_task(
    caller: Caller,
    State(state): State<AppState>,
    Body(b): Body<TaskBody>,
) -> Result<Response, ApiError> {
    let kind: TaskKind = b.kind.parse().map_err(|e: enishi_core::ParseError| ApiError::invalid("kind", e.0))?;
    let title = b.title.trim().to_string();
    if title.is_empty() {
        return Err(ApiError::invalid("title", "is empty"));
    }
    let due_at = state.workspace().clock.parse_timestamp(&b.due_at).map_err(|e| ApiError::invalid("due_at", e.0))?;
    let (customer_id, interaction_id, assignee) = (b.customer_id, b.interaction_id, b.assignee);
    let now = state.now();
    let made = in_store(&state, true, move |c| {
        if !customers::exists(c, customer_id)? {
            return Ok(Err(ApiError::not_found(format!("no customer {customer_id}"))));
        }
        if let Some(i) = interaction_id {
            if history::get_interaction(c, i)?.is_none_or(|i| i.customer_id != customer_id) {
                return Ok(Err(ApiError::invalid(
                    "interaction_id",
                    format!("customer {customer_id} has no interaction {i}"),
                )));
            }
        }
        let assignee_id = match assignee.as_deref() {
            Some(email) => Some(user_or_refuse!(c, "assignee", email)),
            None => tasks::customer_owner(c, customer_id)?.map(|u| u.id),
        };
        let new = NewTask {
            customer_id,
            interaction_id,
            kind,
            title,
            due_at: due_at.timestamp(),
            assignee_id,
            created_by: Some(caller.actor),
        };
        Ok(Ok(tasks::create(c, &new)?))
    })
    .await?;
    Ok(created(TaskView::of(made, now)))
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", operation_id = "getTask", tag = "tasks",
    summary = "One task",
    description = "The task.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi task id.", minimum = 0)),
    responses(
        (status = 200, description = "The task.", body = TaskView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn get_task(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let t = state.run(move |s| Ok(s.read(|c| tasks::get(c, id))?)).await?;
    t.map(|t| ok(TaskView::of(t, now))).ok_or_else(|| ApiError::not_found(format!("no task {id}")))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TaskChange)]
struct TaskChangeBody {
    /// A new title; not empty.
    #[serde(default)]
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    title: Option<String>,
    /// A new kind.
    #[serde(default)]
    #[schema(value_type = Option<Kind>)]
    kind: Option<String>,
    /// A new due time (see `TimestampInput`).
    #[serde(default)]
    #[schema(
        pattern = r"^\s*([+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?|[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[+-]?[0-9]{4,} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)\s*$"
    )]
    due_at: Option<String>,
    /// Sign-in email of the user who is to do it; `null` unassigns.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = true, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    assignee: Option<Option<String>>,
    /// `open`, `done` (records when) or `cancelled`.
    #[serde(default)]
    #[schema(value_type = Option<Status>)]
    status: Option<String>,
    /// What came of it; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = true, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    outcome: Option<Option<String>>,
}

#[utoipa::path(patch, path = "/api/v1/tasks/{id}", operation_id = "updateTask", tag = "tasks",
    summary = "Change a task",
    description = "Sets what the body names and leaves the rest; `{\"status\": \"done\", \"outcome\": \"…\"}` marks it done. Idempotent.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi task id.", minimum = 0)),
    request_body(content((TaskChangeBody = "application/json", examples(("done" = (value = json!(
        {"status": "done", "outcome": "Called; the grinder works again"}
    ))))))),
    responses(
        (status = 200, description = "The task as changed.", body = TaskView),
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
async fn update_task(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<TaskChangeBody>,
) -> Result<Response, ApiError> {
    let kind = b.kind.as_deref().map(str::parse::<TaskKind>).transpose().map_err(|e| ApiError::invalid("kind", e.0))?;
    let status =
        b.status.as_deref().map(str::parse::<TaskStatus>).transpose().map_err(|e| ApiError::invalid("status", e.0))?;
    let title = match b.title.map(|t| t.trim().to_string()) {
        Some(t) if t.is_empty() => return Err(ApiError::invalid("title", "is empty")),
        other => other,
    };
    let clock = state.workspace().clock;
    let due_at = b
        .due_at
        .as_deref()
        .map(|t| clock.parse_timestamp(t).map(|t| t.timestamp()))
        .transpose()
        .map_err(|e| ApiError::invalid("due_at", e.0))?;
    let outcome = b.outcome.map(|o| o.map(|o| o.trim().to_string()).filter(|o| !o.is_empty()));
    let assignee = b.assignee;
    let now = state.now();
    let changed = in_store(&state, true, move |c| {
        let assignee_id = match assignee {
            Some(Some(email)) => Some(Some(user_or_refuse!(c, "assignee", &email))),
            Some(None) => Some(None),
            None => None,
        };
        let ch = TaskChange { title, kind, due_at, assignee_id, status, outcome };
        Ok(Ok(tasks::update(c, id, &ch)?))
    })
    .await?;
    changed.map(|t| ok(TaskView::of(t, now))).ok_or_else(|| ApiError::not_found(format!("no task {id}")))
}

#[utoipa::path(delete, path = "/api/v1/tasks/{id}", operation_id = "deleteTask", tag = "tasks",
    summary = "Delete a task",
    description = "Deletes the task (to keep it on the record, set its status to `cancelled` instead).\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("id" = i64, Path, description = "Enishi task id.", minimum = 0)),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn delete_task(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let gone = state
        .run(move |s| {
            Ok(s.write(|c| {
                let gone = tasks::delete(c, id)?;
                if gone {
                    crate::audit::record(c, &caller.actor, "tasks.delete", &format!("task:{id}"), None)?;
                }
                Ok::<_, StoreError>(gone)
            })?)
        })
        .await?;
    if gone {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(format!("no task {id}")))
    }
}

/// Who owns a customer or an account.
#[derive(Serialize, ToSchema)]
struct OwnerView {
    /// The owner; `null` when nobody does.
    #[schema(required = true)]
    owner: Option<UserView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OwnerInput)]
struct OwnerBody {
    /// Sign-in email of the new owner; `null` for nobody.
    #[schema(required = true, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    owner: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/owner", operation_id = "getCustomerOwner", tag = "tasks",
    summary = "A customer's owner",
    description = "The user who owns the customer (their dedicated person; rule-made tasks go to them).\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    responses(
        (status = 200, description = "The owner.", body = OwnerView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn customer_owner(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let owner = in_store(&state, false, move |c| {
        if !customers::exists(c, id)? {
            return Ok(Err(ApiError::not_found(format!("no customer {id}"))));
        }
        Ok(Ok(tasks::customer_owner(c, id)?))
    })
    .await?;
    Ok(ok(OwnerView { owner: owner.map(UserView::from) }))
}

#[utoipa::path(put, path = "/api/v1/customers/{id}/owner", operation_id = "setCustomerOwner", tag = "tasks",
    summary = "Set a customer's owner",
    description = "Makes `owner` (a user's sign-in email) the customer's owner, or nobody with `null`. Idempotent. Recorded in the audit log.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    request_body(content((OwnerBody = "application/json", examples(("owner" = (value = json!({"owner": "aki@shop.example"}))))))),
    responses(
        (status = 200, description = "The owner now.", body = OwnerView),
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
async fn set_customer_owner(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<OwnerBody>,
) -> Result<Response, ApiError> {
    let owner = in_store(&state, true, move |c| {
        let user = match b.owner.as_deref() {
            Some(email) => Some(user_or_refuse!(c, "owner", email)),
            None => None,
        };
        if !tasks::set_customer_owner(c, id, user)? {
            return Ok(Err(ApiError::not_found(format!("no customer {id}"))));
        }
        let detail = serde_json::json!({ "owner": user });
        crate::audit::record(c, &caller.actor, "customers.owner", &format!("customer:{id}"), Some(detail))?;
        Ok(Ok(tasks::customer_owner(c, id)?))
    })
    .await?;
    Ok(ok(OwnerView { owner: owner.map(UserView::from) }))
}

#[utoipa::path(get, path = "/api/v1/accounts/{id}/owner", operation_id = "getAccountOwner", tag = "tasks",
    summary = "A B2B account's owner",
    description = "The user who owns the account.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi account id.", minimum = 0)),
    responses(
        (status = 200, description = "The owner.", body = OwnerView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn account_owner(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let owner = in_store(&state, false, move |c| {
        if accounts::get(c, id)?.is_none() {
            return Ok(Err(ApiError::not_found(format!("no account {id}"))));
        }
        Ok(Ok(tasks::account_owner(c, id)?))
    })
    .await?;
    Ok(ok(OwnerView { owner: owner.map(UserView::from) }))
}

#[utoipa::path(put, path = "/api/v1/accounts/{id}/owner", operation_id = "setAccountOwner", tag = "tasks",
    summary = "Set a B2B account's owner",
    description = "Makes `owner` (a user's sign-in email) the account's owner, or nobody with `null`. Idempotent. Recorded in the audit log.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("id" = i64, Path, description = "Enishi account id.", minimum = 0)),
    request_body(content((OwnerBody = "application/json", examples(("owner" = (value = json!({"owner": "aki@shop.example"}))))))),
    responses(
        (status = 200, description = "The owner now.", body = OwnerView),
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
async fn set_account_owner(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<OwnerBody>,
) -> Result<Response, ApiError> {
    let owner = in_store(&state, true, move |c| {
        let user = match b.owner.as_deref() {
            Some(email) => Some(user_or_refuse!(c, "owner", email)),
            None => None,
        };
        if !tasks::set_account_owner(c, id, user)? {
            return Ok(Err(ApiError::not_found(format!("no account {id}"))));
        }
        let detail = serde_json::json!({ "owner": user });
        crate::audit::record(c, &caller.actor, "accounts.owner", &format!("account:{id}"), Some(detail))?;
        Ok(Ok(tasks::account_owner(c, id)?))
    })
    .await?;
    Ok(ok(OwnerView { owner: owner.map(UserView::from) }))
}
