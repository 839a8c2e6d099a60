//! The analytics page (owners and marketers): RFM, loyal customers, lifecycle, KPIs with
//! their distributions, monthly cohorts, predicted customer value and B2B accounts.

use crate::console::charts::{bar_chart, heat_table};
use crate::console::customers::{funnel_chart, loyal_trend_chart, rfm_grid, segment_chart};
use crate::console::i18n::Tr;
use crate::console::shell::{table, ConsoleManager, ForManagers};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use enishi_analytics::kpis::Distribution;
use maud::{html, Markup};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/analytics", get(analytics_page))
}

/// How a measure's values are written (money in the workspace currency, counts as numbers).
type Written<'a> = &'a dyn Fn(f64) -> String;

/// Percentiles of each measure, each written its own way.
fn distribution_rows(tr: Tr, rows: &[(&str, &Distribution, Written<'_>)]) -> Markup {
    let headers = [tr.t("Measure"), tr.t("10%"), tr.t("25%"), tr.t("Median"), tr.t("75%"), tr.t("90%"), tr.t("Mean")];
    table(
        Some("distributions"),
        Some("keep"),
        &headers,
        html! {
            @for (label, d, n) in rows {
                tr {
                    th scope="row" { (label) }
                    td { (n(d.p10)) } td { (n(d.p25)) } td { (n(d.median)) } td { (n(d.p75)) } td { (n(d.p90)) } td { (n(d.mean)) }
                }
            }
        },
    )
}

/// The analytics page: for owners and marketers.
pub(crate) struct AnalyticsPages;

impl ForManagers for AnalyticsPages {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Analytics are for owners and marketers.")
    }
}

async fn analytics_page(
    ConsoleManager(v, _): ConsoleManager<AnalyticsPages>,
    State(state): State<AppState>,
) -> Response {
    let tr = v.tr();
    let (clock, cur) = (state.workspace().clock, state.workspace().currency);
    let today = clock.day_number(state.now());
    let result = state
        .run(move |s| {
            Ok((
                enishi_insights::rfm_report(s, today)?,
                enishi_insights::loyal_report(s, today - 365, today, 0.07, 0.13)?,
                enishi_insights::lifecycle(s, today, 0, false)?,
                enishi_insights::kpis_report(s, today, clock)?,
                s.read(|c| enishi_store::repo::scores::top_by_value(c, 20))?,
                enishi_insights::account_rollups(s, today, clock, None, None, 20)?,
                s.read(enishi_store::repo::analytics::excluded_totals)?,
            ))
        })
        .await;
    let (rfm, loyal, lifecycle, kpis, top, accounts, excluded) = match result {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let k = &kpis.kpis;
    let latest = loyal.trend.last();
    let weekdays = [tr.t("Mon"), tr.t("Tue"), tr.t("Wed"), tr.t("Thu"), tr.t("Fri"), tr.t("Sat"), tr.t("Sun")];
    let weekday_rows: Vec<(String, f64, String)> =
        weekdays.iter().zip(k.orders_by_weekday).map(|(d, n)| (d.to_string(), n as f64, n.to_string())).collect();
    let hour_rows: Vec<(String, f64, String)> = kpis
        .orders_by_hour
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(h, n)| (format!("{h:02}:00"), *n as f64, n.to_string()))
        .collect();
    let cohorts: Vec<&enishi_analytics::kpis::Cohort> = k.cohorts.iter().rev().take(12).rev().collect();
    let width = cohorts.iter().map(|c| c.retention.len()).max().unwrap_or(0).min(12);
    let columns: Vec<String> = (0..width).map(|m| format!("+{m}")).collect();
    let cohort_rows: Vec<(String, Vec<Option<f64>>)> = cohorts
        .iter()
        .map(|c| {
            let (y, m) = (1970 + c.month.div_euclid(12), c.month.rem_euclid(12) + 1);
            (
                format!("{y}-{m:02} ({})", c.customers),
                (0..width).map(|i| c.retention.get(i).map(|r| 100.0 * r)).collect(),
            )
        })
        .collect();
    let money = |x: f64| cur.format_f64(x);
    let body = html! {
        h1 { (tr.t("Analytics")) }
        @if excluded.0 > 0 {
            p class="card" id="excluded-orders" {
                (tr.f("Left out of these figures: {} ({}), listed on the dashboard.", &[
                    &tr.plural("{} order excluded from the analytics", "{} orders excluded from the analytics", excluded.0 as u64),
                    &cur.format(excluded.1)
                ]))
            }
        }
        nav class="card" aria-label=(tr.t("Sections")) {
            a href="#rfm" { "RFM" } " · " a href="#loyal-section" { (tr.t("Loyal customers")) } " · "
            a href="#lifecycle" { (tr.t("Lifecycle")) } " · " a href="#kpis" { (tr.t("KPIs")) } " · "
            a href="#cohorts" { (tr.t("Cohorts")) } " · " a href="#value" { (tr.t("Predicted value")) } " · "
            a href="#accounts" { (tr.t("Accounts")) }
        }
        section id="rfm" {
            (rfm_grid(tr, &rfm.grid))
            (segment_chart(tr, &rfm))
            (table(Some("segments"), None, &[tr.t("Segment"), tr.t("Customers"), tr.t("Share"), tr.t("Revenue")], html! {
                @for s in &rfm.segments {
                    @let key = serde_json::to_value(s.segment).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
                    tr {
                        td { a href={ "/customers?segment=" (key) } { (tr.word(s.label)) } }
                        td { (s.customers) }
                        td { (format!("{:.1}%", 100.0 * s.share)) }
                        td { (cur.format_f64(s.revenue)) }
                    }
                }
            }))
        }
        section id="loyal-section" {
            p class="card" {
                (tr.f(
                    "Thresholds frozen on {}: loyal = the top 7%, semi-loyal = the next 13% by spend, tenure and repeat purchases. Today {} customers meet them ({}%).",
                    &[
                        &loyal.baseline_date,
                        &latest.map_or(0, |m| m.loyal + m.semi_loyal),
                        &format!("{:.1}", 100.0 * latest.map_or(0.0, |m| m.share))
                    ]
                ))
            }
            (loyal_trend_chart(tr, &loyal))
        }
        section id="lifecycle" {
            (funnel_chart(tr, &lifecycle))
            p {
                @for s in &lifecycle.funnel {
                    a href={ "/customers?stage=" (s.stage.as_str()) } { (tr.f("{} customers {}", &[&s.customers, &tr.word(s.stage.as_str())])) } " "
                }
            }
        }
        section id="kpis" {
            h2 { (tr.t("KPIs")) }
            div class="grid" {
                section class="card" {
                    h3 { (tr.t("Repeat purchase rate")) } p class="big" { (format!("{:.1}%", 100.0 * k.repeat_purchase_rate)) }
                }
                section class="card" {
                    h3 { (tr.t("Median order value")) } p class="big" { (cur.format_f64(k.order_value.median)) }
                    p class="muted" { (tr.f("mean {}", &[&cur.format_f64(k.order_value.mean)])) }
                }
                section class="card" {
                    h3 { (tr.t("New customers by referral")) } p class="big" { (format!("{:.1}%", 100.0 * kpis.referral_share)) }
                    p class="muted" { (tr.f("{} of {}", &[&kpis.acquired_by_referral, &kpis.customers_acquired])) }
                }
            }
            (distribution_rows(
                tr,
                &[
                    (tr.t("Order value"), &k.order_value, &money),
                    (tr.t("Orders per customer"), &k.orders_per_customer, &|x| format!("{x:.1}")),
                    (tr.t("Revenue per customer"), &k.revenue_per_customer, &money),
                    (tr.t("Days between purchases"), &k.days_between_purchases, &|x| format!("{x:.0}")),
                ],
            ))
            (bar_chart("weekday", tr.t("Orders by weekday"), tr.t("Orders per day of the week"), &weekday_rows))
            (bar_chart("hour", tr.t("Orders by hour"), tr.t("Orders per hour of the day, business time"), &hour_rows))
        }
        section id="cohorts" {
            h2 { (tr.t("Monthly cohorts")) }
            (heat_table(
                "cohort-table",
                tr.t("Share of each month's new customers buying again N months later"),
                tr.t("First month (customers)"),
                &columns,
                &cohort_rows,
                |v| format!("{v:.0}%")
            ))
        }
        section id="value" {
            h2 { (tr.t("Predicted value")) }
            @if top.is_empty() {
                p class="muted" { (tr.t("Not scored yet: the server scores customers once a day (or run `enishi analyze clv`).")) }
            } @else {
                (table(
                    None,
                    None,
                    &[tr.t("Customer"), tr.t("Predicted value (12 months)"), tr.t("P(alive)"), tr.t("Expected purchases")],
                    html! {
                        @for t in &top {
                            tr {
                                td { a href={ "/customers/" (t.customer_id) } { (t.external_id) } " " (t.name.as_deref().unwrap_or("")) }
                                td { (cur.format_f64(t.clv)) }
                                td { (format!("{:.0}%", 100.0 * t.p_alive)) }
                                td { (format!("{:.1}", t.expected_purchases)) }
                            }
                        }
                    }
                ))
            }
        }
        section id="accounts" {
            h2 { (tr.t("Target accounts")) }
            @if accounts.is_empty() {
                p class="muted" { (tr.t("No B2B accounts yet.")) }
            } @else {
                (table(
                    None,
                    None,
                    &[
                        tr.t("Account"),
                        tr.t("Industry"),
                        tr.t("Region"),
                        tr.t("Revenue"),
                        tr.t("Active contacts"),
                        tr.t("Trend (90 days)")
                    ],
                    html! {
                        @for a in &accounts {
                            tr {
                                td { (a.account.name) }
                                td { (a.account.industry.as_deref().unwrap_or("")) }
                                td { (a.account.region.as_deref().unwrap_or("")) }
                                td { (cur.format(a.revenue)) }
                                td { (a.active_contacts) " / " (a.contacts) }
                                td { (a.trend_percent.map(|p| format!("{p:+.0}%")).unwrap_or_else(|| "—".into())) }
                            }
                        }
                    }
                ))
            }
        }
    };
    v.page(tr.t("Analytics"), body).into_response()
}
