//! Listening and following up (docs/listening.md): the inbox of open issues, one
//! interaction's page (status, assignee, resolution note), the tasks pages (mine, overdue,
//! all) with their forms, the task rules' settings, and the cards a customer's page shows —
//! the till's "how is it now?" prompt, the owner and the customer's tasks.

use crate::console::i18n::Tr;
use crate::console::shell::{
    carries_csrf, table, urlencode, ConsoleAdmin, ConsoleManager, ConsoleUser, CsrfForm, ForManagers, Posted, Quoted,
    Visitor,
};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_core::{Currency, InteractionStatus, TaskKind, TaskStatus};
use enishi_store::repo::history::{self, InboxItem, InboxQuery, InboxSort, InteractionChange};
use enishi_store::repo::tasks::{self, NewTask, Task, TaskChange, TaskQuery};
use enishi_store::repo::{changes, customers, settings};
use enishi_store::{Interaction, StoreError, UserRef};
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(inbox_page))
        .route("/interactions/{id}", get(interaction_page).post(update_interaction))
        .route("/tasks", get(tasks_page))
        .route("/tasks/rules", get(rules_page).post(save_rules))
        .route("/tasks/{id}/done", post(task_done))
        .route("/customers/{id}/tasks", post(create_task))
        .route("/customers/{id}/owner", post(set_owner))
        .route("/customers/{id}/interactions/{interaction}/asked", post(mark_asked))
}

/// Setting a customer's owner: for owners and marketers.
pub(crate) struct OwnerForms;

impl ForManagers for OwnerForms {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Owners are set by owners and marketers.")
    }
}

/// Days (rounded down) between two instants, for "open for N days".
fn days_between(from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> i64 {
    (to - from).num_days().max(0)
}

/// A refused form: 422 with why and a way back.
fn not_done(v: &Visitor, back: &str, title: &str, why: &str) -> Response {
    let tr = v.tr();
    let body = html! {
        h1 { (title) }
        p role="alert" { (Quoted(why)) }
        p { a href=(back) { (tr.t("Back")) } }
    };
    (StatusCode::UNPROCESSABLE_ENTITY, v.page(title, body)).into_response()
}

// ------------------------------------------------------------------ the inbox

#[derive(Default, Deserialize)]
#[serde(default)]
struct InboxParams {
    sort: Option<String>,
    who: Option<String>,
    done: Option<String>,
}

async fn inbox_page(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<InboxParams>,
) -> Response {
    let tr = v.tr();
    let sort = q.sort.as_deref().and_then(|s| s.parse::<InboxSort>().ok()).unwrap_or_default();
    let who = q.who.as_deref().filter(|w| ["mine", "unassigned"].contains(w)).unwrap_or("all").to_string();
    let query = InboxQuery {
        sort,
        assignee_id: (who == "mine").then_some(v.user.id),
        unassigned: who == "unassigned",
        kind: None,
    };
    let read = state.run(move |s| Ok(s.read(|c| history::inbox(c, &query, 200, 0))?)).await;
    let items = match read {
        Ok(items) => items,
        Err(e) => return e.into_response(),
    };
    let now = state.now();
    let cur = state.workspace().currency;
    let link = |s: InboxSort, w: &str| format!("/inbox?sort={}&who={}", s.as_str(), urlencode(w));
    let sorts = [
        (InboxSort::Age, tr.t("Oldest first")),
        (InboxSort::Assignee, tr.t("By assignee")),
        (InboxSort::Value, tr.t("Most valuable first")),
    ];
    let whos = [("all", tr.t("Everyone's")), ("mine", tr.t("Mine")), ("unassigned", tr.t("Unassigned"))];
    let body = html! {
        h1 { (tr.t("Inbox")) " " span class="muted" { "(" (items.len()) ")" } }
        @if q.done.is_some() { p class="card" role="status" id="flash" { (tr.t("Saved.")) } }
        p {
            (tr.t("Sort")) ": "
            @for (s, label) in sorts {
                @if s == sort { strong { (label) } } @else { a href=(link(s, &who)) { (label) } } " · "
            }
            br;
            (tr.t("Show")) ": "
            @for (w, label) in whos {
                @if w == who { strong { (label) } } @else { a href=(link(sort, w)) { (label) } } " · "
            }
        }
        @if items.is_empty() { p class="muted" { (tr.t("Nothing open.")) } }
        @else {
            (table(Some("inbox"), None, &[tr.t("Open for"), tr.t("Issue"), tr.t("Kind"), tr.t("Customer"), tr.t("Status"), tr.t("Assignee"), tr.t("Customer value")], html! {
                @for item in &items { (inbox_row(tr, cur, now, item)) }
            }))
        }
    };
    v.page(tr.t("Inbox"), body).into_response()
}

fn inbox_row(tr: Tr, cur: Currency, now: chrono::DateTime<chrono::Utc>, item: &InboxItem) -> Markup {
    let i = &item.interaction;
    html! {
        tr {
            td { (tr.f("{} d", &[&days_between(i.occurred_at, now)])) }
            td { a href={ "/interactions/" (i.id) } { (i.body) } }
            td { span class="kind" { (tr.word(i.kind.as_str())) } }
            td { a href={ "/customers/" (i.customer_id) } { (item.customer_name.as_deref().unwrap_or(&item.external_id)) } }
            td { (tr.word(i.status.as_str())) }
            td { (i.assignee.as_ref().map(|u| u.name.as_str()).unwrap_or("—")) }
            td {
                @if let Some(class) = &item.loyal_class { (crate::console::names::loyal_class_name(tr, class)) " " }
                @if let Some(clv) = item.clv.filter(|v| v.is_finite()) { span class="muted" { "CLV " (cur.format_f64(clv)) } }
            }
        }
    }
}

// ------------------------------------------------------------------ one interaction

/// The options of an assignee or owner select: nobody, then every enabled user.
fn user_options(tr: Tr, users: &[UserRef], chosen: Option<i64>) -> Markup {
    html! {
        option value="" selected[chosen.is_none()] { (tr.t("Nobody")) }
        @for u in users { option value=(u.id) selected[chosen == Some(u.id)] { (u.name) " <" (u.email) ">" } }
    }
}

async fn interaction_page(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else { return v.not_found() };
    let read = state
        .run(move |s| {
            Ok(s.read(|c| -> Result<_, StoreError> {
                let Some(i) = history::get_interaction(c, id)? else { return Ok(None) };
                let customer = customers::get(c, i.customer_id)?;
                Ok(Some((i, customer, tasks::assignable_users(c)?, changes::list(c)?)))
            })?)
        })
        .await;
    match read {
        Ok(Some((i, customer, users, changes))) => {
            let name = customer.map(|c| c.name.unwrap_or(c.external_id)).unwrap_or_default();
            let link = crate::console::feedback::link_form(&v, "interaction", i.id, &changes);
            interaction_html(&v, &i, &name, &users, None, link).into_response()
        }
        Ok(None) => v.not_found(),
        Err(e) => e.into_response(),
    }
}

fn interaction_html(
    v: &Visitor,
    i: &Interaction,
    customer: &str,
    users: &[UserRef],
    alert: Option<&str>,
    link: Markup,
) -> Markup {
    let tr = v.tr();
    let title = tr.f("{} from {}", &[&tr.word(i.kind.as_str()), &customer]);
    let body = html! {
        h1 { (title) }
        @if let Some(a) = alert { p class="card" role="alert" { (Quoted(a)) } }
        section class="card" id="interaction" {
            p { (i.body) }
            p class="muted" {
                a href={ "/customers/" (i.customer_id) } { (customer) } " · "
                (v.time(i.occurred_at)) " · "
                (i.channel.as_deref().map(|c| tr.word(c)).unwrap_or_default())
                @if let Some(staff) = &i.staff { " · " (staff) }
            }
            p {
                (tr.t("Status")) ": " strong { (tr.word(i.status.as_str())) }
                @if let Some(secs) = i.time_to_resolve() { " · " (tr.f("resolved in {} h", &[&(secs / 3600)])) }
            }
        }
        form method="post" action={ "/interactions/" (i.id) } class="card" id="update-interaction" {
            input type="hidden" name="csrf" value=(v.csrf);
            p {
                label {
                    (tr.t("Status")) " "
                    select name="status" {
                        @for s in InteractionStatus::ALL { option value=(s.as_str()) selected[*s == i.status] { (tr.word(s.as_str())) } }
                    }
                } " "
                label { (tr.t("Assignee")) " " select name="assignee" { (user_options(tr, users, i.assignee.as_ref().map(|u| u.id))) } }
            }
            p {
                label {
                    (tr.t("Resolution note")) br;
                    textarea name="resolution" rows="3" cols="60" maxlength="4000" { (i.resolution.as_deref().unwrap_or("")) }
                }
            }
            p { button id="save-interaction" { (tr.t("Save")) } }
        }
        (link)
    };
    v.page(&title, body)
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct InteractionForm {
    csrf: String,
    status: String,
    assignee: String,
    resolution: String,
}

carries_csrf!(InteractionForm);

/// An assignee or owner as a form sends it: empty for nobody, else a user's id.
fn chosen_user(sent: &str) -> Result<Option<i64>, ()> {
    match sent.trim() {
        "" => Ok(None),
        id => id.parse::<i64>().map(Some).map_err(|_| ()),
    }
}

async fn update_interaction(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<InteractionForm>,
) -> Response {
    let tr = v.tr();
    let title = tr.t("Not saved");
    let back = format!("/interactions/{id}");
    let Ok(status) = f.status.parse::<InteractionStatus>() else {
        return not_done(&v, &back, title, tr.t("Choose a status."));
    };
    let Ok(assignee) = chosen_user(&f.assignee) else {
        return not_done(&v, &back, title, tr.t("Choose someone from the list."));
    };
    let resolution = Some(f.resolution.trim().to_string()).filter(|r| !r.is_empty());
    let staff = v.user.name.clone();
    let done = state
        .run(move |s| {
            Ok(s.write(|c| -> Result<Option<bool>, StoreError> {
                if let Some(u) = assignee {
                    if !tasks::is_assignable(c, u)? {
                        return Ok(Some(false));
                    }
                }
                let ch = InteractionChange {
                    status: Some(status),
                    assignee_id: Some(assignee),
                    resolution: Some(resolution),
                    staff: (!status.is_open()).then_some(staff),
                };
                Ok(history::update_interaction(c, id, &ch)?.map(|_| true))
            })?)
        })
        .await;
    match done {
        Ok(Some(true)) => Redirect::to("/inbox?done=saved").into_response(),
        Ok(Some(false)) => not_done(&v, &back, title, tr.t("Choose someone from the list.")),
        Ok(None) => v.not_found(),
        Err(e) => e.into_response(),
    }
}

// ------------------------------------------------------------------ tasks

#[derive(Default, Deserialize)]
#[serde(default)]
struct TasksParams {
    view: Option<String>,
    done: Option<String>,
}

async fn tasks_page(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<TasksParams>,
) -> Response {
    let tr = v.tr();
    let view = q.view.as_deref().filter(|w| ["overdue", "open", "done"].contains(w)).unwrap_or("mine").to_string();
    let now = state.now();
    let query = match view.as_str() {
        "overdue" => TaskQuery { due_before: Some(now.timestamp()), ..TaskQuery::default() },
        "open" => TaskQuery { status: Some(TaskStatus::Open), ..TaskQuery::default() },
        "done" => TaskQuery { status: Some(TaskStatus::Done), ..TaskQuery::default() },
        _ => TaskQuery { assignee_id: Some(v.user.id), status: Some(TaskStatus::Open), ..TaskQuery::default() },
    };
    let read = state.run(move |s| Ok(s.read(|c| tasks::list(c, &query, 200, 0))?)).await;
    let items = match read {
        Ok(items) => items,
        Err(e) => return e.into_response(),
    };
    let views =
        [("mine", tr.t("My tasks")), ("overdue", tr.t("Overdue")), ("open", tr.t("All open")), ("done", tr.t("Done"))];
    let body = html! {
        h1 { (tr.t("Tasks")) }
        @if q.done.is_some() { p class="card" role="status" id="flash" { (tr.t("Saved.")) } }
        p {
            @for (w, label) in views {
                @if w == view { strong { (label) } } @else { a href={ "/tasks?view=" (w) } { (label) } } " · "
            }
            @if v.role() == enishi_core::Role::Admin { a href="/tasks/rules" { (tr.t("Task rules")) } }
        }
        @if items.is_empty() { p class="muted" { (tr.t("No tasks.")) } }
        @else { (task_table(&v, now, &items)) }
    };
    v.page(tr.t("Tasks"), body).into_response()
}

/// Tasks as a table, each open one with a form to mark it done with its outcome.
fn task_table(v: &Visitor, now: chrono::DateTime<chrono::Utc>, items: &[Task]) -> Markup {
    let tr = v.tr();
    table(
        Some("tasks"),
        None,
        &[tr.t("Due"), tr.t("Task"), tr.t("Customer"), tr.t("Assignee"), tr.t("Status")],
        html! {
            @for t in items {
                @let late = t.status == TaskStatus::Open && t.due_at < now;
                tr {
                    td class=[late.then_some("error")] {
                        (v.day(t.due_at))
                        @if late { " " (tr.t("Overdue")) }
                    }
                    td { span class="kind" { (tr.word(t.kind.as_str())) } " " (task_title(tr, t)) }
                    td { a href={ "/customers/" (t.customer_id) } { (t.customer_name.as_deref().unwrap_or("—")) } }
                    td { (t.assignee.as_ref().map(|u| u.name.as_str()).unwrap_or("—")) }
                    td {
                        @if t.status == TaskStatus::Open {
                            form method="post" action={ "/tasks/" (t.id) "/done" } class="inline" {
                                input type="hidden" name="csrf" value=(v.csrf);
                                input name="outcome" placeholder=(tr.t("Outcome")) maxlength="2000" size="12";
                                " " button { (tr.t("Done")) }
                            }
                        } @else {
                            (tr.word(t.status.as_str()))
                            @if let Some(o) = &t.outcome { ": " (o) }
                        }
                    }
                }
            }
        },
    )
}

/// A task's title: a rule's task is named in the visitor's language.
fn task_title(tr: Tr, t: &Task) -> String {
    match t.rule.as_deref() {
        Some("complaint") => tr.t("Follow up on the complaint").to_string(),
        Some("at_risk") => tr.t("Personal call: a loyal customer is long overdue").to_string(),
        Some("first_order") => tr.t("Thank-you note for a large first order").to_string(),
        Some("detractor") => tr.t("Call a detractor about their survey answer").to_string(),
        _ => t.title.clone(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct DoneForm {
    csrf: String,
    outcome: String,
    back: String,
}

carries_csrf!(DoneForm);

async fn task_done(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<DoneForm>,
) -> Response {
    let ch = TaskChange {
        status: Some(TaskStatus::Done),
        outcome: Some(Some(f.outcome.trim().to_string()).filter(|o| !o.is_empty())),
        ..TaskChange::default()
    };
    match state.run(move |s| Ok(s.write(|c| tasks::update(c, id, &ch))?)).await {
        Ok(Some(t)) if f.back == "customer" => Redirect::to(&format!("/customers/{}", t.customer_id)).into_response(),
        Ok(Some(_)) => Redirect::to("/tasks?done=1").into_response(),
        Ok(None) => v.not_found(),
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TaskForm {
    csrf: String,
    kind: String,
    title: String,
    due: String,
    assignee: String,
}

carries_csrf!(TaskForm);

async fn create_task(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<TaskForm>,
) -> Response {
    let tr = v.tr();
    let (title, back) = (tr.t("Task not added"), format!("/customers/{id}"));
    let Ok(kind) = f.kind.parse::<TaskKind>() else { return not_done(&v, &back, title, tr.t("Choose a kind.")) };
    if f.title.trim().is_empty() {
        return not_done(&v, &back, title, tr.t("Say what to do."));
    }
    let Ok(due) = state.workspace().clock.parse_timestamp(&f.due) else {
        return not_done(&v, &back, title, tr.t("Give the due date as YYYY-MM-DD."));
    };
    let Ok(assignee) = chosen_user(&f.assignee) else {
        return not_done(&v, &back, title, tr.t("Choose someone from the list."));
    };
    let new = NewTask {
        customer_id: id,
        interaction_id: None,
        kind,
        title: f.title.trim().to_string(),
        due_at: due.timestamp(),
        assignee_id: assignee,
        created_by: Some(v.actor()),
    };
    let made = state
        .run(move |s| {
            Ok(s.write(|c| -> Result<Option<bool>, StoreError> {
                if !customers::exists(c, id)? {
                    return Ok(None);
                }
                if let Some(u) = assignee {
                    if !tasks::is_assignable(c, u)? {
                        return Ok(Some(false));
                    }
                }
                tasks::create(c, &new).map(|_| Some(true))
            })?)
        })
        .await;
    match made {
        Ok(Some(true)) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Ok(Some(false)) => not_done(&v, &back, title, tr.t("Choose someone from the list.")),
        Ok(None) => v.not_found(),
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct OwnerForm {
    csrf: String,
    owner: String,
}

carries_csrf!(OwnerForm);

async fn set_owner(
    ConsoleManager(v, _): ConsoleManager<OwnerForms>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<OwnerForm>,
) -> Response {
    let tr = v.tr();
    let back = format!("/customers/{id}");
    let Ok(owner) = chosen_user(&f.owner) else {
        return not_done(&v, &back, tr.t("Owner not set"), tr.t("Choose someone from the list."));
    };
    let actor = v.actor();
    let done = state
        .run(move |s| {
            Ok(s.write(|c| -> Result<Option<bool>, StoreError> {
                if let Some(u) = owner {
                    if !tasks::is_assignable(c, u)? {
                        return Ok(Some(false));
                    }
                }
                if !tasks::set_customer_owner(c, id, owner)? {
                    return Ok(None);
                }
                let after = serde_json::json!({ "owner": owner });
                crate::audit::record(c, &actor, "customers.owner", &format!("customer:{id}"), Some(after))?;
                Ok(Some(true))
            })?)
        })
        .await;
    match done {
        Ok(Some(true)) => Redirect::to(&back).into_response(),
        Ok(Some(false)) => not_done(&v, &back, tr.t("Owner not set"), tr.t("Choose someone from the list.")),
        Ok(None) => v.not_found(),
        Err(e) => e.into_response(),
    }
}

async fn mark_asked(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Path((id, interaction)): Path<(i64, i64)>,
    Posted(_): Posted<CsrfForm>,
) -> Response {
    match state.run(move |s| Ok(s.write(|c| history::mark_asked(c, id, interaction))?)).await {
        Ok(true) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Ok(false) => v.not_found(),
        Err(e) => e.into_response(),
    }
}

// ------------------------------------------------------------------ the rules' settings

fn rules_body(v: &Visitor, rules: &tasks::Rules, ask_days: i64, alert: Option<&str>, saved: bool) -> Markup {
    let tr = v.tr();
    let switch = |name: &str, is_on: bool| {
        html! {
            select name=(name) {
                option value="on" selected[is_on] { (tr.t("On")) }
                option value="off" selected[!is_on] { (tr.t("Off")) }
            }
        }
    };
    html! {
        h1 { (tr.t("Task rules")) }
        @if let Some(a) = alert { p class="card" role="alert" { (Quoted(a)) } }
        @if saved { p class="card" role="status" { (tr.t("Saved.")) } }
        p { (tr.t("Rules make follow-up tasks for the customer's owner; each makes one task per occasion however often it runs (at intake and in the daily work).")) }
        form method="post" action="/tasks/rules" class="card" id="task-rules" {
            input type="hidden" name="csrf" value=(v.csrf);
            p {
                (tr.t("A complaint → a follow-up call")) " " (switch("complaint", rules.complaint)) " "
                label { (tr.t("due in days")) " " input name="complaint_days" type="number" min="1" max="365" value=(rules.complaint_days); }
            }
            p {
                (tr.t("A loyal customer turning long overdue → a personal call")) " " (switch("at_risk", rules.at_risk)) " "
                label { (tr.t("due in days")) " " input name="at_risk_days" type="number" min="1" max="365" value=(rules.at_risk_days); }
            }
            p {
                (tr.t("A large first order → a thank-you note")) " " (switch("first_order", rules.first_order)) " "
                label { (tr.t("over")) " " input name="first_order_over" value=(rules.first_order_over.to_string()); }
            }
            p {
                (tr.t("A detractor's survey answer (0–6) → a call")) " " (switch("detractor", rules.detractor)) " "
                label { (tr.t("due in days")) " " input name="detractor_days" type="number" min="1" max="365" value=(rules.detractor_days); }
            }
            p {
                label { (tr.t("At the till, ask how a resolved concern is now for this many days")) " " input name="ask_days" type="number" min="1" max="365" value=(ask_days); }
            }
            p { button { (tr.t("Save")) } }
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct FlashQuery {
    done: Option<String>,
}

async fn rules_page(
    ConsoleAdmin(v): ConsoleAdmin,
    State(state): State<AppState>,
    Query(q): Query<FlashQuery>,
) -> Response {
    let read = state
        .run(|s| {
            Ok(s.read(|c| -> Result<_, StoreError> {
                Ok((tasks::Rules::load(c)?, settings::days(c, tasks::ASK_AFTER_DAYS, 30)?))
            })?)
        })
        .await;
    match read {
        Ok((rules, days)) => {
            v.page(v.tr().t("Task rules"), rules_body(&v, &rules, days, None, q.done.is_some())).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RulesForm {
    csrf: String,
    complaint: String,
    complaint_days: String,
    at_risk: String,
    at_risk_days: String,
    first_order: String,
    first_order_over: String,
    detractor: String,
    detractor_days: String,
    ask_days: String,
}

carries_csrf!(RulesForm);

async fn save_rules(
    ConsoleAdmin(v): ConsoleAdmin,
    State(state): State<AppState>,
    Posted(f): Posted<RulesForm>,
) -> Response {
    let tr = v.tr();
    let days = |s: &str| s.trim().parse::<i64>().ok().filter(|d| (1..=365).contains(d));
    let switch = |s: &str| match s {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    };
    let refuse = |why: &str| not_done(&v, "/tasks/rules", tr.t("Not saved"), why);
    let (Some(complaint), Some(at_risk), Some(first_order), Some(detractor)) =
        (switch(&f.complaint), switch(&f.at_risk), switch(&f.first_order), switch(&f.detractor))
    else {
        return refuse(tr.t("Choose on or off for each rule."));
    };
    let (Some(complaint_days), Some(at_risk_days), Some(detractor_days), Some(ask_days)) =
        (days(&f.complaint_days), days(&f.at_risk_days), days(&f.detractor_days), days(&f.ask_days))
    else {
        return refuse(tr.t("Days are whole numbers from 1 to 365."));
    };
    let over = match f.first_order_over.trim().parse::<enishi_core::Amount>() {
        Ok(a) if !a.is_negative() => a,
        _ => return refuse(tr.t("The first-order amount is a decimal number such as 30000.")),
    };
    let actor = v.actor();
    let saved = state
        .run(move |s| {
            Ok(s.write(|c| {
                let on = |x: bool| if x { "on" } else { "off" };
                let values = [
                    (tasks::RULE_COMPLAINT, on(complaint).to_string()),
                    (tasks::RULE_COMPLAINT_DAYS, complaint_days.to_string()),
                    (tasks::RULE_AT_RISK, on(at_risk).to_string()),
                    (tasks::RULE_AT_RISK_DAYS, at_risk_days.to_string()),
                    (tasks::RULE_FIRST_ORDER, on(first_order).to_string()),
                    (tasks::RULE_FIRST_ORDER_OVER, over.to_string()),
                    (tasks::RULE_DETRACTOR, on(detractor).to_string()),
                    (tasks::RULE_DETRACTOR_DAYS, detractor_days.to_string()),
                    (tasks::ASK_AFTER_DAYS, ask_days.to_string()),
                ];
                for (key, value) in &values {
                    settings::set(c, key, value)?;
                }
                let after: serde_json::Map<String, serde_json::Value> =
                    values.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(v.as_str()))).collect();
                crate::audit::record(c, &actor, "settings.task_rules", "settings", Some(after.into()))
            })?)
        })
        .await;
    match saved {
        Ok(()) => Redirect::to("/tasks/rules?done=1").into_response(),
        Err(e) => e.into_response(),
    }
}

// ------------------------------------------------------------------ on the customer's page

/// What a customer's page shows of following up.
pub(crate) struct FollowUp {
    /// Their owner.
    owner: Option<UserRef>,
    /// Their open tasks.
    tasks: Vec<Task>,
    /// Resolved concerns to ask about.
    ask: Vec<Interaction>,
    /// Whom tasks may be given to.
    users: Vec<UserRef>,
}

/// Reads what customer `id`'s page shows of following up, at `now` (Unix seconds).
pub(crate) fn load(c: &mut dyn enishi_store::Conn, id: i64, now: i64) -> Result<FollowUp, StoreError> {
    let days = settings::days(c, tasks::ASK_AFTER_DAYS, 30)?;
    let open = TaskQuery { customer_id: Some(id), status: Some(TaskStatus::Open), ..TaskQuery::default() };
    Ok(FollowUp {
        owner: tasks::customer_owner(c, id)?,
        tasks: tasks::list(c, &open, 50, 0)?,
        ask: history::to_ask_about(c, id, now - days * 86_400)?,
        users: tasks::assignable_users(c)?,
    })
}

/// The till's prompt: resolved concerns to ask the customer about ("how is it now?"), each
/// with a button to mark it asked. Nothing when there is none.
pub(crate) fn ask_card(v: &Visitor, customer_id: i64, f: &FollowUp) -> Markup {
    let tr = v.tr();
    html! {
        @if !f.ask.is_empty() {
            section class="card" id="ask-how" role="note" {
                h2 { (tr.t("Ask how it is now")) }
                @for i in &f.ask {
                    p {
                        span class="kind" { (tr.word(i.kind.as_str())) } " " (i.body)
                        @if let Some(r) = &i.resolution { br; span class="muted" { "→ " (r) } }
                        br;
                        form method="post" action={ "/customers/" (customer_id) "/interactions/" (i.id) "/asked" } class="inline" {
                            input type="hidden" name="csrf" value=(v.csrf);
                            button { (tr.t("Asked")) }
                        }
                    }
                }
            }
        }
    }
}

/// The owner (with a form to change it, for owners and marketers) and the customer's open
/// tasks, each with a form to mark it done, and a form to add one.
pub(crate) fn follow_up_card(
    v: &Visitor,
    customer_id: i64,
    f: &FollowUp,
    now: chrono::DateTime<chrono::Utc>,
) -> Markup {
    let tr = v.tr();
    let manager = crate::auth::MANAGERS.contains(&v.role());
    html! {
        section class="card" id="follow-up" {
            h2 { (tr.t("Owner and tasks")) }
            p {
                (tr.t("Owner")) ": " strong { (f.owner.as_ref().map(|u| u.name.as_str()).unwrap_or("—")) }
            }
            @if manager {
                form method="post" action={ "/customers/" (customer_id) "/owner" } {
                    input type="hidden" name="csrf" value=(v.csrf);
                    select name="owner" aria-label=(tr.t("Owner")) { (user_options(tr, &f.users, f.owner.as_ref().map(|u| u.id))) }
                    " " button { (tr.t("Set owner")) }
                }
            }
            @if f.tasks.is_empty() { p class="muted" { (tr.t("No open tasks.")) } }
            ul {
                @for t in &f.tasks {
                    li {
                        span class="kind" { (tr.word(t.kind.as_str())) } " " (task_title(tr, t)) " "
                        span class=(if t.due_at < now { "error" } else { "muted" }) { (v.day(t.due_at)) }
                        @if let Some(u) = &t.assignee { " · " (u.name) }
                        form method="post" action={ "/tasks/" (t.id) "/done" } class="inline" {
                            input type="hidden" name="csrf" value=(v.csrf);
                            input type="hidden" name="back" value="customer";
                            " " input name="outcome" placeholder=(tr.t("Outcome")) maxlength="2000" size="12";
                            " " button { (tr.t("Done")) }
                        }
                    }
                }
            }
            form method="post" action={ "/customers/" (customer_id) "/tasks" } id="add-task" {
                input type="hidden" name="csrf" value=(v.csrf);
                label { (tr.t("Kind")) " " select name="kind" { @for k in TaskKind::ALL { option value=(k.as_str()) { (tr.word(k.as_str())) } } } } " "
                label { (tr.t("What to do")) " " input name="title" required maxlength="500"; } " "
                label { (tr.t("Due")) " " input name="due" type="date" required; } " "
                label {
                    (tr.t("Assignee")) " "
                    select name="assignee" { (user_options(tr, &f.users, f.owner.as_ref().map(|u| u.id).or(Some(v.user.id)))) }
                } " "
                button { (tr.t("Add task")) }
            }
        }
    }
}

/// The marker of a customer's most recent open issue in a list: the kind, the text as a tooltip.
pub(crate) fn open_issue_marker(tr: Tr, i: &Interaction) -> Markup {
    html! {
        a class="kind open-issue" href={ "/interactions/" (i.id) } title=(i.body) { "⚑ " (tr.word(i.kind.as_str())) }
    }
}
