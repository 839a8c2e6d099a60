//! The dashboard (owners and marketers): a period of business days (the last twelve months
//! unless chosen) against the period of the same length before it, the revenue of new and
//! returning customers, the orders far above the shop's usual with the action to leave one
//! out of the analytics, and the charts.

use crate::console::charts::{column_chart, lorenz_chart};
use crate::console::customers::{funnel_chart, loyal_trend_chart, rfm_grid, segment_chart};
use crate::console::format;
use crate::console::i18n::Tr;
use crate::console::names::stage_name;
use crate::console::shell::{
    carries_csrf, table, urlencode, ConsoleManager, ConsoleUser, ForManagers, Posted, Visitor,
};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{Datelike, NaiveDate};
use enishi_core::time::{date_of_day, day_of_date};
use enishi_core::{Currency, Role};
use enishi_insights::{Period, PeriodFigures, PeriodReport, Step, Unusual};
use enishi_store::repo::analytics;
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/", get(dashboard)).route("/orders/{id}/analytics", post(set_exclusion))
}

/// The dashboard's actions: for owners and marketers.
pub(crate) struct DashboardPages;

impl ForManagers for DashboardPages {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("The dashboard is for owners and marketers.")
    }
}

/// The period asked for, as typed, and what the last action did.
#[derive(Default, Deserialize)]
#[serde(default)]
struct DashboardQuery {
    from: String,
    to: String,
    done: String,
}

/// The longest period the dashboard compares, in days (ten years).
const LONGEST: i64 = 3_653;

/// The last twelve months up to `today`: from the day after the same date a year before.
fn last_twelve_months(today: i64) -> Period {
    let d = date_of_day(today);
    let year_before = d.checked_sub_months(chrono::Months::new(12)).unwrap_or(d);
    Period { from: day_of_date(year_before) + 1, to: today }
}

/// The presets offered above the dashboard, each (label, period).
fn presets(tr: Tr, today: i64) -> [(&'static str, Period); 4] {
    let d = date_of_day(today);
    let january = NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d);
    [
        (tr.t("Last 30 days"), Period { from: today - 29, to: today }),
        (tr.t("Last 90 days"), Period { from: today - 89, to: today }),
        (tr.t("This year"), Period { from: day_of_date(january), to: today }),
        (tr.t("Last 12 months"), last_twelve_months(today)),
    ]
}

/// A date typed as `YYYY-MM-DD` (full-width digits and slashes taken too), or why not.
fn typed_date(tr: Tr, field: &'static str, typed: &str) -> Result<Option<i64>, String> {
    let t: String = typed
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '/' | '／' | '－' => '-',
            c => c,
        })
        .collect();
    if t.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(&t, "%Y-%m-%d")
        .ok()
        .filter(|d| (1900..=9999).contains(&d.year()))
        .map(|d| Some(day_of_date(d)))
        .ok_or_else(|| {
            tr.f("{}: “{}” is not a date. Write it as YYYY-MM-DD, e.g. 2026-04-01.", &[&tr.t(field), &typed.trim()])
        })
}

/// The period of `from` and `to` as typed (either may be empty: `to` is today, `from` a year
/// before `to`), or why it cannot be used.
fn chosen_period(tr: Tr, today: i64, from: &str, to: &str) -> Result<Period, String> {
    let (from, to) = (typed_date(tr, "From", from), typed_date(tr, "To", to));
    let (from, to) = match (from, to) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(a), Err(b)) => return Err(format!("{a} {b}")),
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| last_twelve_months(to).from);
    if from > to {
        return Err(tr.t("The start date is after the end date.").to_string());
    }
    if to - from + 1 > LONGEST {
        return Err(tr.t("Choose a period of at most ten years.").to_string());
    }
    Ok(Period { from, to })
}

/// The change from `before` to `now` in percent, ▲ or ▼ (nothing to compare with before: a
/// dash).
fn change(tr: Tr, now: f64, before: f64) -> Markup {
    if before.abs() < 1e-9 {
        return html! { span class="change" { (if now.abs() < 1e-9 { "±0" } else { tr.t("new") }) } };
    }
    let p = 100.0 * (now - before) / before.abs();
    arrow(format!("{:.1}%", p.abs()), p)
}

/// The change of a share from `before` to `now` in percentage points.
fn change_points(tr: Tr, now: f64, before: f64) -> Markup {
    let d = 100.0 * (now - before);
    arrow(tr.f("{} pt", &[&format!("{:.1}", d.abs())]), d)
}

fn arrow(text: String, d: f64) -> Markup {
    if d.abs() < 0.05 {
        html! { span class="change" { "±" (text) } }
    } else if d > 0.0 {
        html! { span class="change up" { "▲ " (text) } }
    } else {
        html! { span class="change down" { "▼ " (text) } }
    }
}

/// A KPI card: the figure, what it means, and the previous period's figure with the change.
fn card(tr: Tr, id: &str, heading: &str, figure: String, note: String, previous: String, change: Markup) -> Markup {
    html! {
        section class="card kpi" id=(id) {
            h2 { (heading) }
            p class="big" { (figure) }
            p class="muted" { (note) }
            p class="compare" { (tr.f("Previous period: {}", &[&previous])) " " (change) }
        }
    }
}

/// The KPI cards of `now` against `before`, with the loyal shares at the end of each.
fn kpi_cards(tr: Tr, cur: Currency, now: &PeriodFigures, before: &PeriodFigures, loyal: (f64, f64)) -> Markup {
    let pc = |x: f64| format!("{:.1}%", 100.0 * x);
    let money = |x: f64| cur.format_f64(x);
    let orders = |n: usize| tr.plural("{} order", "{} orders", n as u64);
    html! {
        div class="grid" id="kpis" {
            (card(tr, "kpi-revenue", tr.t("Revenue"), money(now.revenue),
                tr.f("{} · median order {}", &[&orders(now.orders), &money(now.median_order)]),
                money(before.revenue), change(tr, now.revenue, before.revenue)))
            (card(tr, "kpi-customers", tr.t("Customers who bought"), now.customers.to_string(),
                orders(now.orders),
                before.customers.to_string(), change(tr, now.customers as f64, before.customers as f64)))
            (card(tr, "kpi-returning", tr.t("Revenue from returning customers"), money(now.returning_revenue),
                tr.f("{} · {} of revenue", &[&tr.plural("{} customer who had bought before", "{} customers who had bought before", now.returning_customers as u64), &pc(now.returning_share())]),
                money(before.returning_revenue), change(tr, now.returning_revenue, before.returning_revenue)))
            (card(tr, "kpi-new", tr.t("Revenue from new customers"), money(now.new_revenue),
                tr.f("{} · {} of revenue", &[&tr.plural("{} customer with their first order", "{} customers with their first order", now.new_customers as u64), &pc(1.0 - now.returning_share())]),
                money(before.new_revenue), change(tr, now.new_revenue, before.new_revenue)))
            (card(tr, "kpi-repeat", tr.t("Repeat customers"), pc(now.repeat_rate),
                tr.t("bought on more than one day of the period").to_string(),
                pc(before.repeat_rate), change_points(tr, now.repeat_rate, before.repeat_rate)))
            (card(tr, "kpi-top", tr.t("Top 20% of customers"), pc(now.top_20_share),
                tr.f("of revenue · Gini {}", &[&format!("{:.2}", now.gini)]),
                tr.f("{} · Gini {}", &[&pc(before.top_20_share), &format!("{:.2}", before.gini)]),
                change_points(tr, now.top_20_share, before.top_20_share)))
            (card(tr, "kpi-loyal", tr.t("Loyal customers"), pc(loyal.0),
                tr.t("loyal or semi-loyal at the end of the period; the goal is 25–30%").to_string(),
                pc(loyal.1), change_points(tr, loyal.0, loyal.1)))
        }
    }
}

/// The form choosing the period: two dates (as typed, when refused), the presets, and which
/// period is shown against which.
fn period_form(tr: Tr, today: i64, typed: (&str, &str), shown: Period, error: Option<&str>) -> Markup {
    let day = |d: i64| format::date(tr, date_of_day(d));
    let iso = |d: i64| date_of_day(d).to_string();
    let before = shown.previous();
    html! {
        form method="get" action="/" class="card" id="period" {
            @if let Some(e) = error {
                p role="alert" class="error" id="period-error" { (e) " " (tr.t("The last 12 months are shown meanwhile.")) }
            }
            label { (tr.t("From")) " " input type="date" name="from" value=(typed.0) aria-invalid=[error.map(|_| "true")]; } " "
            label { (tr.t("To")) " " input type="date" name="to" value=(typed.1) aria-invalid=[error.map(|_| "true")]; } " "
            button { (tr.t("Show")) }
            p {
                @for (label, p) in presets(tr, today) {
                    @let current = p == shown;
                    a href={ "/?from=" (iso(p.from)) "&to=" (iso(p.to)) } class="button" aria-current=[current.then_some("true")] { (label) } " "
                }
            }
            p class="muted" id="period-shown" {
                (tr.f("{} to {} ({} days), compared with {} to {}", &[&day(shown.from), &day(shown.to), &shown.days(), &day(before.from), &day(before.to)]))
            }
        }
    }
}

/// The orders far above the usual, or excluded, with their actions.
fn unusual_section(
    v: &Visitor,
    cur: Currency,
    usual: Option<enishi_analytics::outliers::Usual>,
    orders: &[Unusual],
    shown: Period,
) -> Markup {
    let tr = v.tr();
    if orders.is_empty() {
        return html! {};
    }
    let clock = &v.clock;
    html! {
        section id="unusual" {
            h2 { (tr.t("Unusual orders")) }
            p class="muted" {
                @if let Some(u) = usual {
                    (tr.f("Orders above {} (far above the usual order of {}) are flagged.", &[&cur.format_f64(u.threshold), &cur.format_f64(u.median)])) " "
                }
                (tr.t("An order excluded from the analytics stays on the customer's page with its points, but the revenue, charts, Gini and KPIs here and on the analytics page leave it out. To void it, open the customer's page."))
            }
            (table(Some("unusual-orders"), Some("keep"), &[tr.t("Order"), tr.t("Amount"), tr.t("Analytics")], html! {
                @for u in orders {
                    @let o = &u.order;
                    tr id={ "unusual-" (o.id) } {
                        td {
                            a href={ "/customers/" (o.customer_id) "#order-" (o.id) } { (o.name.as_deref().unwrap_or(&o.external_id)) }
                            br; span class="muted" {
                                (format::local_date(tr, clock, enishi_store::instant(o.placed_at))) " · " (o.external_id) " · " (o.order_ref)
                            }
                        }
                        td {
                            strong { (cur.format(o.total)) } br;
                            span class="muted" {
                                @match u.times_median {
                                    Some(x) if u.unusual => { (tr.f("{}× the median order", &[&format!("{x:.0}")])) }
                                    _ => { (tr.t("Excluded by hand")) }
                                }
                            }
                        }
                        td {
                            @if let Some(by) = &o.excluded_by {
                                span class="muted" { (tr.f("Excluded by {}", &[by])) } " "
                            }
                            form method="post" action={ "/orders/" (o.id) "/analytics" } class="inline" {
                                input type="hidden" name="csrf" value=(v.csrf);
                                input type="hidden" name="from" value=(date_of_day(shown.from).to_string());
                                input type="hidden" name="to" value=(date_of_day(shown.to).to_string());
                                @if o.excluded_by.is_some() {
                                    input type="hidden" name="exclude" value="0";
                                    button { (tr.t("Include again")) }
                                } @else {
                                    input type="hidden" name="exclude" value="1";
                                    button { (tr.t("Exclude from analytics")) }
                                }
                            }
                        }
                    }
                }
            }))
        }
    }
}

/// The revenue of the period step by step, in columns.
fn revenue_chart(tr: Tr, cur: Currency, report: &PeriodReport) -> Markup {
    let rows: Vec<(String, f64, String)> = report
        .series
        .iter()
        .map(|s| {
            let d = date_of_day(s.first_day);
            let label = match report.step {
                Step::Month => d.format("%Y-%m").to_string(),
                Step::Day | Step::Week => d.format("%-m/%-d").to_string(),
            };
            (label, s.revenue, cur.format_f64(s.revenue))
        })
        .collect();
    let (heading, title) = match report.step {
        Step::Day => (tr.t("Revenue by day"), tr.t("Revenue of each day of the period")),
        Step::Week => (tr.t("Revenue by week"), tr.t("Revenue of each week of the period, from its first day")),
        Step::Month => (tr.t("Revenue by month"), tr.t("Revenue of each month of the period")),
    };
    column_chart("rev", heading, title, &rows, |top| {
        tr.f("Scale up to {}; taller columns are cut and marked ▲", &[&cur.format_f64(top)])
    })
}

/// The dashboard for managers; staff land on the till instead (a till has no business with
/// the shop's revenue).
async fn dashboard(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<DashboardQuery>,
) -> Response {
    if v.role() == Role::Staff {
        return Redirect::to("/till").into_response();
    }
    let tr = v.tr();
    let (clock, cur) = (state.workspace().clock, state.workspace().currency);
    let today = clock.day_number(state.now());
    let (period, error) = match chosen_period(tr, today, &q.from, &q.to) {
        Ok(p) => (p, None),
        Err(e) => (last_twelve_months(today), Some(e)),
    };
    let result = state
        .run(move |s| {
            let loyal = enishi_insights::loyal_report(s, period.to - 365, period.to, 0.07, 0.13)?;
            let loyal_before = enishi_insights::loyal_report(s, period.to - 365, period.from - 1, 0.07, 0.13)?;
            Ok((
                enishi_insights::period_report(s, period)?,
                enishi_insights::rfm_report(s, period.to)?,
                enishi_insights::lifecycle(s, today, 5, false)?,
                loyal,
                loyal_before.trend.last().map_or(0.0, |m| m.share),
                enishi_insights::unusual_orders(s, period, 20)?,
            ))
        })
        .await;
    let (report, rfm, lifecycle, loyal, loyal_before, (usual, unusual)) = match result {
        Ok(x) => x,
        Err(e) => {
            eprintln!("DASH {e:?}");
            return e.into_response();
        }
    };
    let flash = match q.done.as_str() {
        "excluded" => tr.t("Order excluded from the analytics."),
        "included" => tr.t("Order counted in the analytics again."),
        _ => "",
    };
    let typed = if error.is_some() {
        (q.from.trim().to_string(), q.to.trim().to_string())
    } else {
        (date_of_day(period.from).to_string(), date_of_day(period.to).to_string())
    };
    let latest_share = loyal.trend.last().map_or(0.0, |m| m.share);
    let body = html! {
        h1 { (tr.t("Dashboard")) }
        @if !flash.is_empty() { p class="card" role="status" id="flash" { (flash) } }
        (period_form(tr, today, (&typed.0, &typed.1), period, error.as_deref()))
        (kpi_cards(tr, cur, &report.current, &report.previous, (latest_share, loyal_before)))
        (unusual_section(&v, cur, usual, &unusual, period))
        (revenue_chart(tr, cur, &report))
        (loyal_trend_chart(tr, &loyal))
        (funnel_chart(tr, &lifecycle))
        @if !lifecycle.lapsed.is_empty() {
            h2 { (tr.t("Lapsed customers most worth winning back")) }
            (table(Some("lapsed"), Some("keep"), &[tr.t("Customer"), tr.t("Stage"), tr.t("Silent"), tr.t("At stake")], html! {
                @for l in &lifecycle.lapsed {
                    tr {
                        td {
                            a href={ "/customers/" (l.id) } { (l.name.as_deref().unwrap_or(&l.external_id)) }
                            @if l.name.is_some() { br; span class="muted" { (l.external_id) } }
                        }
                        td { (stage_name(tr, l.stage.as_str())) }
                        td { (tr.f("{} days (usually {})", &[&l.days_silent, &format!("{:.0}", l.usual_gap_days)])) }
                        td { (cur.format_f64(l.value_at_stake)) }
                    }
                }
            }))
        }
        (rfm_grid(tr, &rfm.grid))
        (segment_chart(tr, &rfm))
        (lorenz_chart(tr, &report.current.curve))
    };
    let page = v.page(tr.t("Dashboard"), body);
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, page).into_response()
}

/// Leaves `order` out of the analytics (`exclude`) or counts it again, as `by` (a name shown
/// on the dashboard) and `actor` (the audit log's), inside the caller's transaction; `false`
/// when it already was so (then nothing is written).
pub(crate) fn set_excluded(
    c: &mut dyn enishi_store::Conn,
    order: &enishi_store::Order,
    exclude: bool,
    by: &str,
    actor: &str,
) -> Result<bool, enishi_store::StoreError> {
    let changed = if exclude { analytics::exclude(c, order.id, by)? } else { analytics::include(c, order.id)? };
    if changed {
        crate::audit::record_change(
            c,
            actor,
            "orders.analytics_exclusion",
            &format!("order:{}", order.order_id),
            serde_json::json!({ "excluded_from_analytics": !exclude }),
            serde_json::json!({ "excluded_from_analytics": exclude }),
        )?;
    }
    Ok(changed)
}

/// The form of the actions on an unusual order: exclude (`1`) or include again (`0`), and the
/// period to come back to.
#[derive(Default, Deserialize)]
#[serde(default)]
struct ExclusionForm {
    csrf: String,
    exclude: String,
    from: String,
    to: String,
}

carries_csrf!(ExclusionForm);

/// Leaves an order out of the analytics, or counts it again (owners and marketers), with an
/// audit entry; back to the dashboard's same period.
async fn set_exclusion(
    ConsoleManager(v, _): ConsoleManager<DashboardPages>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(f): Posted<ExclusionForm>,
) -> Response {
    let tr = v.tr();
    let Ok(id) = id.parse::<i64>() else { return v.not_found() };
    let exclude = match f.exclude.as_str() {
        "1" => true,
        "0" => false,
        _ => return v.bad_form(tr.t("Not saved"), tr.t("Choose whether to exclude the order or include it again.")),
    };
    let (by, actor) = (v.user.name.clone(), v.actor());
    let done = state
        .run(move |s| {
            Ok(s.write(|c| {
                let Some(order) = enishi_store::repo::orders::get(c, id)? else { return Ok(None) };
                set_excluded(c, &order, exclude, &by, &actor).map(Some)
            })?)
        })
        .await;
    match done {
        Ok(Some(_)) => {
            // Back to the period shown, when it reads as one.
            let today = state.workspace().clock.day_number(state.now());
            let back = match chosen_period(tr, today, &f.from, &f.to) {
                Ok(p) => format!(
                    "/?from={}&to={}&",
                    urlencode(&date_of_day(p.from).to_string()),
                    urlencode(&date_of_day(p.to).to_string())
                ),
                Err(_) => "/?".to_string(),
            };
            let done = if exclude { "excluded" } else { "included" };
            Redirect::to(&format!("{back}done={done}#unusual")).into_response()
        }
        Ok(None) => v.not_found(),
        Err(e) => e.into_response(),
    }
}
