//! The console's journeys (owners and marketers): the list (trigger, status, customers in
//! them), a new journey written as its JSON document in a text area — checked when created, a
//! mistake shown on the same page with what was typed kept — and a journey's page: the funnel
//! step by step (who reached each step, waits for it, got its message, was skipped or left
//! before it) as a table and a chart, the latest entries, and pausing or resuming it.

use crate::console::charts::bar_chart;
use crate::console::i18n::Tr;
use crate::console::shell::{carries_csrf, table, urlencode, ConsoleManager, ForManagers, Posted, Quoted, Visitor};
use crate::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_campaigns::journeys::{self, Funnel, Journey};
use enishi_store::repo::journeys::{self as repo, Enrolment};
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/journeys", get(list_page).post(submit))
        .route("/journeys/new", get(new_page))
        .route("/journeys/{name}", get(journey_page))
        .route("/journeys/{name}/pause", post(pause))
        .route("/journeys/{name}/resume", post(resume))
}

/// The journey pages: for owners and marketers.
pub(crate) struct JourneyPages;

impl ForManagers for JourneyPages {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Campaigns are for owners and marketers.")
    }
}

/// A new journey's document as a starting point.
const EXAMPLE: &str = r#"{
  "name": "welcome series",
  "trigger": {"kind": "first_purchase"},
  "sender": {"name": "Aya"},
  "steps": [
    {"key": "welcome", "template": "welcome"},
    {"key": "follow-up", "template": "follow-up", "delay": "7d", "send_at": "suggested"}
  ]
}"#;

/// A trigger's kind in the visitor's language.
fn trigger_name(tr: Tr, kind: &str) -> &'static str {
    match kind {
        "first_purchase" => tr.t("First purchase"),
        "days_after_order" => tr.t("Days after an order"),
        "birthday" => tr.t("Birthday"),
        "points_expiring" => tr.t("Points expiring"),
        "cart_abandoned" => tr.t("Cart left without an order"),
        "lifecycle" => tr.t("Lifecycle stage reached"),
        "loyal_lapsing" => tr.t("Loyal customer lapsing"),
        "tier_upgrade" => tr.t("Tier upgrade"),
        "promotion_started" => tr.t("Promotion started"),
        _ => tr.t("Stamp card one short of full"),
    }
}

/// A journey's status in the visitor's language.
fn status_name(tr: Tr, paused: bool) -> &'static str {
    if paused {
        tr.t("Paused")
    } else {
        tr.t("Running")
    }
}

/// A step's channel in the visitor's language.
fn channel_name(tr: Tr, channel: &str) -> &'static str {
    match channel {
        "email" => tr.t("Email"),
        "webhook" => tr.t("Webhook (LINE, SMS)"),
        _ => tr.t("Call list"),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    created: Option<String>,
}

async fn list_page(
    ConsoleManager(v, _): ConsoleManager<JourneyPages>,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Response {
    let tr = v.tr();
    let rows = state
        .run(|s| {
            s.read(|c| {
                let mut rows = Vec::new();
                for j in repo::list(c)? {
                    let f = journeys::funnel(c, &j).map_err(ApiError::internal)?;
                    rows.push((j, f));
                }
                Ok(rows)
            })
        })
        .await;
    let rows: Vec<(repo::Journey, Funnel)> = match rows {
        Ok(rows) => rows,
        Err(e) => return e.into_response(),
    };
    let heads = [
        tr.t("Journey"),
        tr.t("Trigger"),
        tr.t("Status"),
        tr.t("Steps"),
        tr.t("Entered"),
        tr.t("Still in it"),
        tr.t("Finished"),
        tr.t("Left early"),
    ];
    let body = html! {
        h1 { (tr.t("Journeys")) }
        @if let Some(name) = &q.created { p class="card" role="status" id="flash" { (tr.f("Created journey \"{}\".", &[name])) } }
        p class="muted" { (tr.t("Step mails a customer enters when something happens: a first purchase, a birthday, a tier upgrade, a promotion's start …")) }
        p { a href="/journeys/new" id="new-journey" { (tr.t("New journey")) } " · " a href="/campaigns" { (tr.t("Campaigns")) } }
        @if rows.is_empty() {
            p { (tr.t("No journeys yet.")) }
        } @else {
            (table(Some("journeys"), None, &heads, html! {
                @for (j, f) in &rows {
                    tr {
                        td { a href={ "/journeys/" (urlencode(&j.name)) } { (j.name) } }
                        td { (trigger_name(tr, &j.trigger_kind)) }
                        td { (status_name(tr, j.paused_at.is_some())) }
                        td { (f.steps.len()) }
                        td { (f.enrolled) }
                        td { (f.active) }
                        td { (f.done) }
                        td { (f.exited) }
                    }
                }
            }))
        }
    };
    v.page(tr.t("Journeys"), body).into_response()
}

/// The new journey's form, as typed.
#[derive(Default, Deserialize)]
#[serde(default)]
struct JourneyForm {
    csrf: String,
    document: String,
}

carries_csrf!(JourneyForm);

async fn new_page(ConsoleManager(v, _): ConsoleManager<JourneyPages>) -> Response {
    v.page(v.tr().t("New journey"), editor(&v, EXAMPLE, None)).into_response()
}

async fn submit(
    ConsoleManager(v, _): ConsoleManager<JourneyPages>,
    State(state): State<AppState>,
    Posted(f): Posted<JourneyForm>,
) -> Response {
    let w = state.workspace();
    let actor = v.actor();
    let document = f.document.clone();
    let made = state
        .run(move |s| {
            Ok(s.write(|c| {
                let j = journeys::create(c, &document, w.currency, &w.clock)?;
                let after = serde_json::json!({"trigger": j.trigger_kind});
                crate::audit::record(c, &actor, "journey.create", &j.name, Some(after))?;
                Ok::<_, enishi_campaigns::Error>(j)
            }))
        })
        .await;
    match made {
        Ok(Ok(j)) => Redirect::to(&format!("/journeys?created={}", urlencode(&j.name))).into_response(),
        Ok(Err(e)) if e.is_users() => {
            let page = v.page(v.tr().t("New journey"), editor(&v, &f.document, Some(&e.to_string())));
            (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
        }
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The document's text area with what was typed and a refusal.
fn editor(v: &Visitor, document: &str, error: Option<&str>) -> Markup {
    let tr = v.tr();
    html! {
        h1 { (tr.t("New journey")) }
        p { a href="/journeys" { (tr.t("Journeys")) } }
        @if let Some(e) = error {
            p class="card" role="alert" id="journey-error" { strong { (tr.t("Not created.")) } " " (Quoted(&tr.message(e))) }
        }
        form method="post" action="/journeys" id="journey-form" class="card" {
            input type="hidden" name="csrf" value=(v.csrf);
            p { label for="document" { (tr.t("The journey's document (JSON, as in docs/campaigns.md \"Journeys\")")) } }
            textarea id="document" name="document" rows="24" class="full mono" spellcheck="false" { (document) }
            p { button id="create-journey" { (tr.t("Create journey")) } }
        }
        section class="card" {
            h2 { (tr.t("What a journey says")) }
            dl {
                dt class="mono" { "trigger" }
                dd { "first_purchase, days_after_order, birthday, points_expiring, cart_abandoned, lifecycle, loyal_lapsing, tier_upgrade, promotion_started, stamp_card_one_short" }
                dt class="mono" { "steps" }
                dd { (tr.t("1 to 20 messages: key, template, channel (email, webhook or call), delay (0, 30m, 48h, 7d), send_at (HH:MM or suggested)")) }
                dt class="mono" { "exit" }
                dd { (tr.t("on_order, on_unsubscribe, when_matching and unless_matching (segment rules)")) }
            }
        }
    }
}

/// A journey's page: what it needs read in one go.
struct Shown {
    journey: repo::Journey,
    doc: Journey,
    funnel: Funnel,
    latest: Vec<Enrolment>,
}

async fn journey_page(
    ConsoleManager(v, _): ConsoleManager<JourneyPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Response {
    let tr = v.tr();
    let clock = state.workspace().clock;
    let shown = state
        .run(move |s| {
            Ok(s.read(|c| {
                let journey = journeys::find(c, &name)?;
                let doc = journeys::document_of(&journey)?;
                let funnel = journeys::funnel(c, &journey)?;
                let latest = repo::enrolments(c, journey.id, 50)?;
                Ok::<_, enishi_campaigns::Error>(Shown { journey, doc, funnel, latest })
            }))
        })
        .await;
    let s = match shown {
        Ok(Ok(s)) => s,
        Ok(Err(enishi_campaigns::Error::NotFound(_))) => return v.not_found(),
        Ok(Err(e)) => return ApiError::internal(e).into_response(),
        Err(e) => return e.into_response(),
    };
    let when = |t: i64| crate::console::format::local_time(tr, &clock, enishi_store::instant(t));
    let path = urlencode(&s.journey.name);
    let paused = s.journey.paused_at.is_some();
    let heads = [
        tr.t("Step"),
        tr.t("Channel"),
        tr.t("Reached"),
        tr.t("Waiting"),
        tr.t("In the send queue"),
        tr.t("Messages sent"),
        tr.t("Skipped"),
        tr.t("Send failures"),
        tr.t("Left before it"),
    ];
    let chart: Vec<(String, f64, String)> =
        s.funnel.steps.iter().map(|f| (f.key.clone(), f.enrolled as f64, f.enrolled.to_string())).collect();
    let body = html! {
        h1 { (s.journey.name) }
        p { a href="/journeys" { (tr.t("Journeys")) } " · " a href="/campaigns" { (tr.t("Campaigns")) } }
        section class="card" {
            p {
                strong { (tr.t("Trigger")) ": " } (trigger_name(tr, &s.journey.trigger_kind)) " · "
                strong { (tr.t("Status")) ": " } span id="journey-status" { (status_name(tr, paused)) }
            }
            p {
                (tr.f("{} entered: {} in progress, {} finished, {} left early.", &[&s.funnel.enrolled, &s.funnel.active, &s.funnel.done, &s.funnel.exited]))
            }
            div class="actions" {
                @if paused {
                    form method="post" action={ "/journeys/" (path) "/resume" } class="inline" {
                        input type="hidden" name="csrf" value=(v.csrf);
                        button id="resume-journey" { (tr.t("Resume")) }
                    }
                } @else {
                    form method="post" action={ "/journeys/" (path) "/pause" } class="inline" {
                        input type="hidden" name="csrf" value=(v.csrf);
                        button id="pause-journey" { (tr.t("Pause")) }
                    }
                }
            }
        }
        h2 { (tr.t("The funnel, step by step")) }
        (table(Some("funnel"), None, &heads, html! {
            @for (i, f) in s.funnel.steps.iter().enumerate() {
                tr {
                    td {
                        (i + 1) ". " a href={ "/campaigns/" (urlencode(&f.campaign)) } { (f.key) }
                        @if let Some(d) = s.doc.steps.get(i).map(|x| x.delay.as_str()).filter(|d| *d != "0") { " " span class="muted" { "+" (d) } }
                    }
                    td { (channel_name(tr, &f.channel)) }
                    td { (f.enrolled) }
                    td { (f.waiting) }
                    td { (f.queued) }
                    td { (f.sent) }
                    td { (f.skipped) }
                    td { (f.failed) }
                    td { (f.exited) }
                }
            }
        }))
        (bar_chart("funnel-chart", tr.t("Customers who reached each step"), tr.t("Customers who reached each step"), &chart))
        h2 { (tr.t("Latest entries")) }
        @if s.latest.is_empty() {
            p { (tr.t("Nobody has entered yet.")) }
        } @else {
            (table(Some("entries"), None, &[tr.t("Customer"), tr.t("Why they entered"), tr.t("Entered"), tr.t("Next")], html! {
                @for e in &s.latest {
                    tr {
                        td { (e.external_id) }
                        td class="mono" { (e.occurrence) }
                        td { (when(e.entered_at)) }
                        td {
                            @match (e.status.as_str(), e.due_at, usize::try_from(e.next_step).ok().and_then(|k| s.doc.steps.get(k))) {
                                ("active", Some(due), Some(step)) => { (tr.f("{} at {}", &[&step.key, &when(due)])) }
                                ("exited", _, _) => { (tr.f("left: {}", &[&tr.word(e.exit_reason.as_deref().unwrap_or(""))])) }
                                _ => { (tr.t("Finished")) }
                            }
                        }
                    }
                }
            }))
        }
        details {
            summary { (tr.t("The journey's document")) }
            pre class="mono" id="journey-document" { (serde_json::to_string_pretty(&s.doc).unwrap_or_default()) }
        }
    };
    v.page(&s.journey.name, body).into_response()
}

async fn set_paused(v: Visitor, state: AppState, name: String, paused: bool) -> Response {
    let actor = v.actor();
    let lookup = name.clone();
    let done = state
        .run(move |s| {
            Ok(s.write(|c| {
                let j = journeys::find(c, &lookup)?;
                if repo::set_paused(c, j.id, paused)? {
                    let action = if paused { "journey.pause" } else { "journey.resume" };
                    crate::audit::record(c, &actor, action, &j.name, None)?;
                }
                Ok::<_, enishi_campaigns::Error>(())
            }))
        })
        .await;
    match done {
        Ok(Ok(())) => Redirect::to(&format!("/journeys/{}", urlencode(&name))).into_response(),
        Ok(Err(enishi_campaigns::Error::NotFound(_))) => v.not_found(),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn pause(
    ConsoleManager(v, _): ConsoleManager<JourneyPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted(_): Posted<crate::console::shell::CsrfForm>,
) -> Response {
    set_paused(v, state, name, true).await
}

async fn resume(
    ConsoleManager(v, _): ConsoleManager<JourneyPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted(_): Posted<crate::console::shell::CsrfForm>,
) -> Response {
    set_paused(v, state, name, false).await
}
