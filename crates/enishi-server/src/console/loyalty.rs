//! The loyalty programme page (owners and marketers): the programme in force, what its
//! promotions and stamp cards did, and the latest redemptions; the programme is changed in
//! the editor ([`crate::console::programme`]).

use crate::console::i18n::Tr;
use crate::console::shell::{table, ConsoleManager, ForManagers, Visitor};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use enishi_core::{BusinessClock, Currency};
use enishi_loyalty::program::{Repeat, Weekday};
use enishi_rewards::OccurrenceReport;
use enishi_store::repo::loyalty;
use maud::{html, Markup};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/loyalty", get(loyalty_page))
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
        Ok(view) => v.page(v.tr().t("Loyalty"), loyalty_body(&v, state.workspace().currency, &view)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn loyalty_body(v: &Visitor, cur: Currency, view: &LoyaltyView) -> Markup {
    let tr = v.tr();
    let lang = tr.lang();
    let clock = view.clock;
    let document =
        view.latest.as_ref().and_then(|p| serde_json::from_str::<enishi_loyalty::Document>(&p.document).ok());
    // Promotions and stamp cards by id, for their names in the visitor's language.
    let promotion_name = |id: &str, name: &str| -> String {
        document
            .as_ref()
            .and_then(|d| d.promotions.iter().find(|p| p.id == id))
            .map_or(name, |p| p.name_in(lang))
            .to_string()
    };
    let card_name = |id: &str, name: &str| -> String {
        document
            .as_ref()
            .and_then(|d| d.stamp_cards.iter().find(|c| c.id == id))
            .map_or(name, |c| c.name_in(lang))
            .to_string()
    };
    html! {
        h1 { (tr.t("Loyalty programme")) }
        @match &view.latest {
            Some(p) => p class="muted" {
                (tr.f(
                    "Version {} applied by {} · in force from {}",
                    &[&p.version, &p.applied_by, &format!("{} ({})", v.time(enishi_store::instant(p.effective_from)), crate::console::format::zone_name(tr, &clock))]
                ))
            },
            None => p { (tr.t("No programme yet. The editor starts you from the café starter.")) },
        }
        p {
            a class="button" href="/loyalty/editor" id="edit-programme" { (tr.t("Edit the programme")) } " "
            a class="button" href="/loyalty/versions" { (tr.t("Programme versions")) }
        }
        @if let Some(doc) = document.as_ref().filter(|d| !d.rewards.is_empty()) {
            h2 { (tr.t("Rewards")) }
            (table(Some("rewards"), None, &[tr.t("Reward"), tr.t("Points"), tr.t("Valid for"), tr.t("Uses")], html! {
                @for r in &doc.rewards {
                    tr {
                        td { (r.name_in(lang)) }
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
                        h3 { (promotion_name(&p.id, &p.name)) }
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
                        h3 { (card_name(&c.id, &c.name)) }
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
pub(crate) fn programme_error(tr: Tr, message: &str) -> String {
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
