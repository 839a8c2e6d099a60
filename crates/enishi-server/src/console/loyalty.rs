//! The loyalty programme page (owners and marketers): the programme in force, its editor, and
//! the latest redemptions.

use crate::console::i18n::Tr;
use crate::console::shell::{carries_csrf, table, ConsoleManager, ForManagers, Posted, Quoted, Visitor};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use enishi_core::{BusinessClock, Currency};
use enishi_loyalty::program::{Repeat, Weekday};
use enishi_rewards::OccurrenceReport;
use enishi_store::repo::loyalty;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/loyalty", get(loyalty_page).post(apply_programme))
}

fn programme_form(tr: Tr, csrf: &str, text: &str) -> Markup {
    html! {
        form method="post" action="/loyalty" {
            input type="hidden" name="csrf" value=(csrf);
            h2 { label for="document" { (tr.t("Programme (JSON, see docs/loyalty.md)")) } }
            textarea id="document" name="document" rows="24" class="full mono" { (text) }
            p { button { (tr.t("Apply as a new version")) } }
        }
    }
}

/// What the loyalty page shows besides the editor.
struct LoyaltyView {
    latest: Option<loyalty::StoredProgram>,
    report: Option<enishi_rewards::ProgramReport>,
    redemptions: Vec<loyalty::Entry>,
    /// The business clock, for the occurrences' local times.
    clock: BusinessClock,
}

async fn loyalty_view(state: &AppState) -> Result<LoyaltyView, ApiError> {
    state
        .with_programs(false, |c, programs| {
            Ok(LoyaltyView {
                latest: loyalty::latest_program(c)?,
                report: enishi_rewards::report(c, programs)?,
                redemptions: loyalty::recent_entries(c, "redeem", 20)?,
                clock: *programs.clock(),
            })
        })
        .await
}

/// The loyalty programme's pages: owners and marketers manage it.
pub(crate) struct LoyaltyPages;

impl ForManagers for LoyaltyPages {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("The loyalty programme is managed by owners and marketers.")
    }
}

async fn loyalty_page(ConsoleManager(v, _): ConsoleManager<LoyaltyPages>, State(state): State<AppState>) -> Response {
    match loyalty_view(&state).await {
        Ok(view) => {
            v.page(v.tr().t("Loyalty"), loyalty_body(&v, state.workspace().currency, &view, None)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn loyalty_body(v: &Visitor, cur: Currency, view: &LoyaltyView, error: Option<(&str, &str)>) -> Markup {
    let tr = v.tr();
    let clock = view.clock;
    let document =
        view.latest.as_ref().and_then(|p| serde_json::from_str::<enishi_loyalty::Document>(&p.document).ok());
    let text = match (error, &view.latest) {
        (Some((_, sent)), _) => sent.to_string(),
        (None, Some(p)) => serde_json::from_str::<serde_json::Value>(&p.document)
            .and_then(|d| serde_json::to_string_pretty(&d))
            .unwrap_or_else(|_| p.document.clone()),
        (None, None) => enishi_loyalty::starter("cafe").unwrap_or_default().to_string(),
    };
    html! {
        h1 { (tr.t("Loyalty programme")) }
        @if let Some((message, _)) = error {
            p class="card" role="alert" id="programme-error" {
                strong { (tr.t("Not applied.")) } " " (Quoted(&programme_error(tr, message)))
            }
        }
        @match &view.latest {
            Some(p) => p class="muted" {
                (tr.f(
                    "Version {} applied by {} · in force from {}",
                    &[&p.version, &p.applied_by, &format!("{} ({})", v.time(enishi_store::instant(p.effective_from)), crate::console::format::zone_name(tr, &clock))]
                ))
            },
            None => p { (tr.t("No programme yet. Start from a starter (café, retail, e-commerce) below.")) },
        }
        @if let Some(doc) = document.as_ref().filter(|d| !d.rewards.is_empty()) {
            h2 { (tr.t("Rewards")) }
            (table(Some("rewards"), None, &[tr.t("Reward"), tr.t("Points"), tr.t("Valid for"), tr.t("Uses")], html! {
                @for r in &doc.rewards {
                    tr {
                        td { (r.name) }
                        td { @if r.cost > 0 { (r.cost) } @else { (tr.t("issued, not sold")) } }
                        td { (tr.f("{} days", &[&r.valid_days])) }
                        td { (r.max_uses) }
                    }
                }
            }))
        }
        @if let Some(r) = &view.report {
            h2 { (tr.t("Promotions and stamp cards")) }
            div class="grid" {
                @for p in &r.promotions {
                    section class="card promotion" {
                        h3 { (p.name) }
                        @if let Some(rep) = &p.repeat {
                            p class="muted schedule" { (schedule(tr, rep)) }
                        }
                        p {
                            (tr.f("{} customers · {} points", &[&p.participants, &p.points_given]))
                            @if let (Some(during), Some(before)) = (&p.during, &p.before) {
                                br;
                                (tr.f(
                                    "{} orders, spend {} (weeks before: {} orders, {})",
                                    &[&during.orders, &cur.format(during.spend), &before.orders, &cur.format(before.spend)]
                                ))
                            }
                        }
                        @if p.repeat.is_some() && p.occurrences.is_empty() {
                            p class="muted" { (tr.t("No occurrence yet.")) }
                        }
                        @if !p.occurrences.is_empty() {
                            (occurrences(tr, cur, clock, &p.occurrences))
                        }
                    }
                }
                @for c in &r.stamp_cards {
                    section class="card" {
                        h3 { (c.name) }
                        p { (tr.f("{} holders · {} cards completed · {} rewards used", &[&c.holders, &c.completed, &c.rewards_used])) }
                    }
                }
            }
        }
        @if !view.redemptions.is_empty() {
            h2 { (tr.t("Latest redemptions")) }
            (table(Some("redemptions"), None, &[tr.t("When"), tr.t("Customer"), tr.t("Points"), tr.t("Reason")], html! {
                @for e in &view.redemptions {
                    tr {
                        td { (v.time(enishi_store::instant(e.occurred_at))) }
                        td { a href={ "/customers/" (e.customer_id) } { (e.customer_id) } }
                        td { (e.points) }
                        td { (e.reason.as_deref().unwrap_or("")) }
                    }
                }
            }))
        }
        (programme_form(tr, &v.csrf, &text))
    }
}

/// A weekday's short name.
fn weekday(tr: Tr, d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => tr.t("Mon"),
        Weekday::Tue => tr.t("Tue"),
        Weekday::Wed => tr.t("Wed"),
        Weekday::Thu => tr.t("Thu"),
        Weekday::Fri => tr.t("Fri"),
        Weekday::Sat => tr.t("Sat"),
        Weekday::Sun => tr.t("Sun"),
    }
}

/// A recurring promotion's schedule: "Every Tue, Wed 14:00–17:00".
fn schedule(tr: Tr, r: &Repeat) -> String {
    let days: Vec<&str> = r.weekdays.iter().map(|d| weekday(tr, *d)).collect();
    let days = days.join(tr.t(", "));
    if r.until.as_str() <= r.from.as_str() && r.until != "24:00" {
        tr.f("Every {} {}–{} (the next day)", &[&days, &r.from, &r.until])
    } else {
        tr.f("Every {} {}–{}", &[&days, &r.from, &r.until])
    }
}

/// A change in percent, or a dash.
fn percent(change: Option<f64>) -> String {
    change.map_or_else(|| "–".to_string(), |c| format!("{c:+.0}%"))
}

/// A programme that was not applied, said in the page's language: a JSON mistake as a
/// sentence naming its line and column (and the field, when there is one), the rest as the
/// engine's messages are translated.
fn programme_error(tr: Tr, message: &str) -> String {
    let place = message.rsplit_once(" (line ").and_then(|(head, place)| {
        let (line, column) = place.strip_suffix(')')?.split_once(", column ")?;
        Some((head, line, column))
    });
    let Some((head, line, column)) = place else { return tr.message(message) };
    let (path, reason) = match head.split_once(": ") {
        Some((path, reason)) if !path.contains(' ') => (Some(path).filter(|p| *p != "document"), reason),
        _ => (None, head),
    };
    let reason = tr.message(reason);
    match path {
        Some(path) => tr.f("Line {}, column {} of the JSON ({}): {}", &[&line, &column, &path, &reason]),
        None => tr.f("Line {}, column {} of the JSON: {}", &[&line, &column, &reason]),
    }
}

/// A recurring promotion's occurrences against the weeks without one.
fn occurrences(tr: Tr, cur: Currency, clock: BusinessClock, list: &[OccurrenceReport]) -> Markup {
    let heads =
        [tr.t("Occurrence"), tr.t("Orders"), tr.t("Spend"), tr.t("Usual (weeks without)"), tr.t("Against usual")];
    table(
        None,
        Some("occurrences"),
        &heads,
        html! {
            @for o in list {
                tr {
                    td { (crate::console::format::local_time(tr, &clock, o.during.from)) "–" (clock.format_local(o.during.to, "%H:%M")) }
                    td { (o.during.orders) }
                    td { (cur.format(o.during.spend)) }
                    td {
                        @match &o.baseline {
                            Some(b) => (tr.f("{} orders, {} (mean of {} weeks)", &[&format!("{:.1}", b.orders), &cur.format(b.spend), &b.weeks.len()])),
                            None => (tr.t("no week without it yet")),
                        }
                    }
                    td { (percent(o.spend_change_percent)) }
                }
            }
        },
    )
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ProgrammeForm {
    csrf: String,
    document: String,
}

carries_csrf!(ProgrammeForm);

async fn apply_programme(
    ConsoleManager(v, _): ConsoleManager<LoyaltyPages>,
    State(state): State<AppState>,
    Posted(f): Posted<ProgrammeForm>,
) -> Response {
    let clock = state.workspace().clock;
    let by = format!("console: {}", v.user.email);
    let text = f.document.clone();
    let actor = v.actor();
    let applied = state
        .run(move |s| {
            Ok(s.write(|c| {
                let (version, program) = enishi_rewards::apply_program(c, &text, clock, &by)?;
                let after = json!({"version": version, "name": program.doc.name});
                crate::audit::record(c, &actor, "program.apply", "program", Some(after))?;
                Ok((version, program))
            }))
        })
        .await;
    match applied {
        Ok(Ok(_)) => Redirect::to("/loyalty").into_response(),
        Ok(Err(enishi_rewards::LoyaltyError::Program(e))) => {
            let message = e.to_string();
            match loyalty_view(&state).await {
                Ok(view) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    v.page(
                        v.tr().t("Loyalty"),
                        loyalty_body(&v, state.workspace().currency, &view, Some((&message, &f.document))),
                    ),
                )
                    .into_response(),
                Err(e) => e.into_response(),
            }
        }
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use enishi_core::Language;

    fn error_of(json: &str) -> String {
        enishi_loyalty::Program::parse(json, &BusinessClock::default()).unwrap_err().to_string()
    }

    #[test]
    fn json_mistakes_are_said_in_a_sentence_with_their_line_and_column() {
        let (ja, en) = (Tr(Language::Ja), Tr(Language::En));
        let unclosed = error_of("{\n  \"name\": \"x\",\n  \"earning\": {\"points_per_unit\": 1}\n");
        assert_eq!(
            programme_error(ja, &unclosed),
            "JSON の4行0列目: JSON が途中で終わっています（閉じ括弧などが足りません）",
            "{unclosed}"
        );
        assert!(
            programme_error(en, &unclosed).starts_with("Line 4, column 0 of the JSON: EOF while parsing"),
            "{unclosed}"
        );
        let comma = error_of("{\"name\": \"x\" \"earning\": {}}");
        assert_eq!(programme_error(ja, &comma), "JSON の1行14列目: 「,」か「}」が必要です", "{comma}");
        let missing = error_of("{\"name\": \"x\"}");
        assert_eq!(programme_error(ja, &missing), "JSON の1行13列目: 項目 `earning` がありません", "{missing}");
        // Not a JSON mistake: the engine's message, translated as before.
        let negative = error_of(
            r#"{"name": "x", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1, "minimum_order": "-5"}}"#,
        );
        assert_eq!(programme_error(ja, &negative), "earning.minimum_order: 負の値にはできません");
    }
}
