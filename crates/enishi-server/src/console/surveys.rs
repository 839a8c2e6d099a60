//! The console's surveys (owners and marketers; docs/listening.md): the list with each
//! survey's answers and headline figure and a form to make one; a survey's results — NPS with
//! its groups, the CSAT distribution over the five levels or the stop reasons, as a chart; the
//! trend by month; the newest free-text answers — narrowed to a segment when one is chosen;
//! and a form to invite a saved segment. The figures are the ones `enishi survey results`
//! prints (`enishi_campaigns::surveys::results`).

use crate::console::charts::{bar_chart, line_chart};
use crate::console::i18n::Tr;
use crate::console::shell::{carries_csrf, table, urlencode, ConsoleManager, ForManagers, Posted, Visitor};
use crate::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_campaigns::surveys::{self as ops, csat_label, reason_label, Results, DEFAULT_VALID_DAYS, KINDS};
use enishi_campaigns::template::Language;
use enishi_store::repo::segments as segments_repo;
use enishi_store::repo::surveys::{self as repo, Survey};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/surveys", get(list_page).post(create))
        .route("/surveys/{name}", get(survey_page))
        .route("/surveys/{name}/invite", post(invite))
}

/// The survey pages: for owners and marketers.
pub(crate) struct SurveyPages;

impl ForManagers for SurveyPages {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Surveys are for owners and marketers.")
    }
}

/// The wording of the engine's labels (CSAT levels, stop reasons) in the visitor's language.
fn language(tr: Tr) -> Language {
    Language::of(&tr.lang().to_string())
}

/// A survey kind in the visitor's language.
fn kind_name(tr: Tr, kind: &str) -> &'static str {
    match kind {
        "nps" => tr.t("NPS (0–10)"),
        "csat" => tr.t("Satisfaction (five levels)"),
        _ => tr.t("Why did you stop buying?"),
    }
}

/// The headline figure of a survey's results: the NPS, the share satisfied, or the most given
/// reason.
fn headline(tr: Tr, r: &Results) -> String {
    if let Some(n) = &r.nps {
        return n.score.map_or_else(|| "–".to_string(), |s| tr.f("NPS {}", &[&format!("{s:+.1}")]));
    }
    if let Some(c) = &r.csat {
        return c.satisfied_percent.map_or_else(|| "–".to_string(), |p| tr.f("{}% satisfied", &[&format!("{p:.1}")]));
    }
    r.reasons.first().map_or_else(|| "–".to_string(), |x| reason_label(&x.reason, language(tr)))
}

/// The list's form to make a survey, as typed.
#[derive(Default, Deserialize)]
#[serde(default)]
struct NewSurveyForm {
    csrf: String,
    name: String,
    kind: String,
    valid_days: String,
}

/// The invitation form: a saved segment.
#[derive(Default, Deserialize)]
#[serde(default)]
struct InviteForm {
    csrf: String,
    segment: String,
}

carries_csrf!(NewSurveyForm, InviteForm);

#[derive(Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    created: Option<String>,
}

/// Every survey with its results.
async fn listed(state: &AppState) -> Result<Vec<Results>, ApiError> {
    let calendar = state.workspace().clock;
    state
        .run(move |s| {
            Ok(s.read(|c| -> Result<Vec<Results>, enishi_campaigns::Error> {
                repo::list(c)?.iter().take(200).map(|k| ops::results(c, k, None, &calendar)).collect()
            }))
        })
        .await?
        .map_err(ApiError::internal)
}

async fn list_page(
    ConsoleManager(v, _): ConsoleManager<SurveyPages>,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Response {
    match listed(&state).await {
        Ok(rows) => {
            let flash = q.created.map(|name| v.tr().f("Made the survey \"{}\".", &[&name]));
            v.page(v.tr().t("Surveys"), list_body(&v, &rows, &NewSurveyForm::default(), flash.as_deref(), None))
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn list_body(v: &Visitor, rows: &[Results], f: &NewSurveyForm, flash: Option<&str>, error: Option<&str>) -> Markup {
    let tr = v.tr();
    let heads = [tr.t("Name"), tr.t("Kind"), tr.t("Invited"), tr.t("Answered"), tr.t("Result")];
    let days = if f.valid_days.is_empty() { DEFAULT_VALID_DAYS.to_string() } else { f.valid_days.clone() };
    html! {
        h1 { (tr.t("Surveys")) }
        @if let Some(m) = flash { p class="card" role="status" id="flash" { (m) } }
        @if rows.is_empty() {
            p { (tr.t("No surveys yet.")) }
        } @else {
            (table(Some("surveys"), None, &heads, html! {
                @for r in rows {
                    tr {
                        td { a href={ "/surveys/" (urlencode(&r.survey.name)) } { (r.survey.name) } }
                        td { (kind_name(tr, &r.survey.kind)) }
                        td { (r.invited) }
                        td { (r.answered) }
                        td { (headline(tr, r)) }
                    }
                }
            }))
        }
        section class="card" id="new-survey" {
            h2 { (tr.t("New survey")) }
            @if let Some(e) = error { p role="alert" class="error" { (e) } }
            form method="post" action="/surveys" {
                input type="hidden" name="csrf" value=(v.csrf);
                label { (tr.t("Name")) " " input name="name" required maxlength="200" value=(f.name); }
                label { (tr.t("Kind")) " "
                    select name="kind" {
                        @for k in KINDS { option value=(k) selected[f.kind == k] { (kind_name(tr, k)) } }
                    }
                }
                label { (tr.t("Links valid for (days)")) " " input name="valid_days" type="number" min="1" max="365" value=(days); }
                button id="create-survey" { (tr.t("Make the survey")) }
            }
            p class="muted" { (tr.t("Invite a segment on the survey's page; then send a campaign to the same segment with the merge field {{ survey_url }}.")) }
        }
    }
}

async fn create(
    ConsoleManager(v, _): ConsoleManager<SurveyPages>,
    State(state): State<AppState>,
    Posted(f): Posted<NewSurveyForm>,
) -> Response {
    let tr = v.tr();
    // Days that are not a number are refused as out of range.
    let days = match f.valid_days.trim() {
        "" => None,
        d => Some(d.parse::<i64>().unwrap_or(0)),
    };
    let (name, kind, actor) = (f.name.clone(), f.kind.clone(), v.actor());
    let made = state
        .run(move |s| {
            Ok(s.write(|c| {
                let made = ops::create(c, &name, &kind, days)?;
                let after = json!({"kind": made.kind, "valid_days": made.valid_days});
                crate::audit::record(c, &actor, "survey.create", &made.name, Some(after))?;
                Ok::<_, enishi_campaigns::Error>(made.name)
            }))
        })
        .await;
    match made {
        Ok(Ok(name)) => Redirect::to(&format!("/surveys/{}", urlencode(&name))).into_response(),
        Ok(Err(e)) if e.is_users() => match listed(&state).await {
            Ok(rows) => {
                let why = tr.message(&e.to_string());
                let page = v.page(tr.t("Surveys"), list_body(&v, &rows, &f, None, Some(&why)));
                (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
            }
            Err(e) => e.into_response(),
        },
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct SurveyQuery {
    /// Narrow the results to this saved segment.
    segment: Option<String>,
    /// How many were just invited.
    invited: Option<u64>,
}

/// A survey's page as loaded.
struct SurveyView {
    results: Results,
    segments: Vec<String>,
}

async fn survey_page(
    ConsoleManager(v, _): ConsoleManager<SurveyPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<SurveyQuery>,
) -> Response {
    let calendar = state.workspace().clock;
    let segment = q.segment.filter(|s| !s.trim().is_empty());
    let found = state
        .run(move |s| {
            Ok(s.read(|c| {
                let Some(survey) = repo::by_name(c, &name)? else { return Ok(None) };
                let segments: Vec<String> = segments_repo::list(c)?.into_iter().map(|x| x.name).collect();
                // A segment that is not (or no longer) saved shows everyone's results.
                let segment = segment.filter(|s| segments.contains(s));
                let results = ops::results(c, &survey, segment.as_deref(), &calendar)?;
                Ok::<_, enishi_campaigns::Error>(Some(SurveyView { results, segments }))
            }))
        })
        .await;
    match found {
        Ok(Ok(Some(view))) => {
            let title = view.results.survey.name.clone();
            v.page(&title, survey_body(&v, &view, q.invited)).into_response()
        }
        Ok(Ok(None)) => v.not_found(),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The chart of a survey's answers: the NPS groups, the five CSAT levels or the reasons.
fn answers_chart(tr: Tr, r: &Results) -> Markup {
    let share = |n: u64| if r.answered == 0 { 0.0 } else { n as f64 * 100.0 / r.answered as f64 };
    let row = |label: String, n: u64| (label, n as f64, format!("{n} ({:.1}%)", share(n)));
    if let Some(n) = &r.nps {
        let rows = [
            row(tr.t("Promoters (9–10)").to_string(), n.promoters),
            row(tr.t("Passives (7–8)").to_string(), n.passives),
            row(tr.t("Detractors (0–6)").to_string(), n.detractors),
        ];
        return bar_chart("answers", tr.t("Answers by group"), tr.t("Promoters, passives and detractors"), &rows);
    }
    if let Some(c) = &r.csat {
        let rows: Vec<_> =
            (1..).zip(c.levels).map(|(l, n)| row(format!("{l} {}", csat_label(l, language(tr))), n)).collect();
        return bar_chart("answers", tr.t("Answers by level"), tr.t("Answers at each satisfaction level"), &rows);
    }
    let rows: Vec<_> = r.reasons.iter().map(|x| row(reason_label(&x.reason, language(tr)), x.count)).collect();
    bar_chart("answers", tr.t("Reasons given"), tr.t("How often each reason was given"), &rows)
}

fn survey_body(v: &Visitor, view: &SurveyView, invited: Option<u64>) -> Markup {
    let tr = v.tr();
    let r = &view.results;
    let path = urlencode(&r.survey.name);
    let months: Vec<(String, f64)> = r.months.iter().map(|m| (m.month.clone(), m.answered as f64)).collect();
    html! {
        h1 { (r.survey.name) }
        p { a href="/surveys" { (tr.t("Surveys")) } }
        @if let Some(n) = invited { p class="card" role="status" id="flash" { (tr.plural("Invited {} customer.", "Invited {} customers.", n)) } }
        dl class="card" id="survey-facts" {
            dt { (tr.t("Kind")) } dd { (kind_name(tr, &r.survey.kind)) }
            dt { (tr.t("Links valid for (days)")) } dd { (r.survey.valid_days) }
            dt { (tr.t("Invited")) } dd id="invited" { (r.invited) }
            dt { (tr.t("Answered")) } dd id="answered" { (r.answered) }
        }
        div class="grid" {
            section class="card" id="invite" {
                h2 { (tr.t("Invite a segment")) }
                @if view.segments.is_empty() {
                    p class="muted" { (tr.t("Save a segment first.")) }
                } @else {
                    form method="post" action={ "/surveys/" (path) "/invite" } {
                        input type="hidden" name="csrf" value=(v.csrf);
                        label { (tr.t("Segment")) " " select name="segment" { @for s in &view.segments { option value=(s) { (s) } } } }
                        button id="invite-segment" { (tr.t("Invite")) }
                    }
                    p class="muted" { (tr.t("Those with an open invitation are skipped. Send each their link with a campaign to the same segment: {{ survey_url }}.")) }
                }
            }
            section class="card" id="narrow" {
                h2 { (tr.t("Results for")) }
                form method="get" action={ "/surveys/" (path) } {
                    select name="segment" {
                        option value="" { (tr.t("Everyone")) }
                        @for s in &view.segments { option value=(s) selected[r.segment.as_deref() == Some(s.as_str())] { (s) } }
                    }
                    " " button id="narrow-results" { (tr.t("Show")) }
                }
            }
        }
        h2 { (tr.t("Results")) @if let Some(s) = &r.segment { " · " (tr.f("segment \"{}\"", &[s])) } }
        @if let Some(n) = &r.nps {
            p class="big" id="nps-score" { (n.score.map_or_else(|| "–".to_string(), |s| format!("{s:+.1}"))) }
            p id="nps-groups" { (tr.f("{} promoters, {} passives, {} detractors", &[&n.promoters, &n.passives, &n.detractors])) }
        }
        @if let Some(c) = &r.csat {
            p class="big" id="csat-satisfied" { (c.satisfied_percent.map_or_else(|| "–".to_string(), |p| format!("{p:.1}%"))) }
            p id="csat-average" { (tr.t("Satisfied (levels 4–5)")) " · " (tr.f("average {}", &[&c.average.map_or_else(|| "–".to_string(), |a| format!("{a:.2}"))])) }
        }
        (answers_chart(tr, r))
        @if !r.months.is_empty() {
            (line_chart("trend", tr.t("Answers by month"), tr.t("Answers each month"), &months, |x| format!("{x:.0}")))
            (table(Some("months"), Some("keep"), &[tr.t("Month"), tr.t("Answered"), tr.t("Result")], html! {
                @for m in &r.months {
                    tr {
                        td { (m.month) }
                        td { (m.answered) }
                        td {
                            @match (m.nps, m.csat_average) {
                                (Some(n), _) => (tr.f("NPS {}", &[&format!("{n:+.1}")])),
                                (_, Some(a)) => (tr.f("average {}", &[&format!("{a:.2}")])),
                                _ => "–",
                            }
                        }
                    }
                }
            }))
        }
        h2 { (tr.t("What customers wrote")) }
        @if r.comments.is_empty() {
            p class="muted" { (tr.t("No comments yet.")) }
        } @else {
            ul id="comments" {
                @for c in &r.comments {
                    li {
                        span class="muted" {
                            a href={ "/customers/" (c.customer_id) } { (v.day(c.answered_at)) }
                            @if let Some(s) = c.score { " · " (s) }
                            @if let Some(x) = &c.reason { " · " (reason_label(x, language(tr))) }
                        }
                        " " (c.comment)
                    }
                }
            }
        }
    }
}

async fn invite(
    ConsoleManager(v, _): ConsoleManager<SurveyPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted(f): Posted<InviteForm>,
) -> Response {
    let calendar = state.workspace().clock;
    let actor = v.actor();
    let lookup = name.clone();
    let done = state
        .run(move |s| {
            Ok(s.write(|c| {
                let survey: Survey = ops::find(c, &lookup)?;
                let n = ops::invite_segment(c, &survey, &f.segment, &calendar)?;
                let after = json!({"whom": {"segment": f.segment}, "invited": n});
                crate::audit::record(c, &actor, "survey.invite", &survey.name, Some(after))?;
                Ok::<_, enishi_campaigns::Error>(n)
            }))
        })
        .await;
    match done {
        Ok(Ok(n)) => Redirect::to(&format!("/surveys/{}?invited={n}", urlencode(&name))).into_response(),
        Ok(Err(enishi_campaigns::Error::NotFound(_))) => v.not_found(),
        Ok(Err(e)) if e.is_users() => v.refuse(StatusCode::UNPROCESSABLE_ENTITY, v.tr().t("Not done"), &e.to_string()),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => e.into_response(),
    }
}
