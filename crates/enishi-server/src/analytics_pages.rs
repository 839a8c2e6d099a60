//! The analytics page (owners and marketers): RFM, loyal customers, lifecycle, KPIs with
//! their distributions, monthly cohorts, predicted customer value and B2B accounts.

use crate::api::MANAGERS;
use crate::charts::{bar_chart, heat_table};
use crate::i18n::Tr;
use crate::pages::{funnel_chart, loyal_trend_chart, rfm_grid, segment_chart};
use crate::shell::{esc, table_start, visitor};
use crate::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use enishi_analytics::kpis::Distribution;
use std::fmt::Write;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/analytics", get(analytics_page))
}

fn distribution_rows(tr: Tr, rows: &[(&str, &Distribution, usize)]) -> String {
    let mut html = table_start(
        "id=\"distributions\" class=\"keep\"",
        &[tr.t("Measure"), tr.t("10%"), tr.t("25%"), tr.t("Median"), tr.t("75%"), tr.t("90%"), tr.t("Mean")],
    );
    for (label, d, decimals) in rows {
        let n = |x: f64| format!("{x:.*}", *decimals);
        let _ = write!(
            html,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(label),
            n(d.p10),
            n(d.p25),
            n(d.median),
            n(d.p75),
            n(d.p90),
            n(d.mean)
        );
    }
    html.push_str("</tbody></table></div>");
    html
}

async fn analytics_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let v = match visitor(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Some(r) = v.unless_role(MANAGERS, v.tr().t("Analytics are for owners and marketers.")) {
        return r;
    }
    let tr = v.tr();
    let clock = state.workspace().clock;
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
            ))
        })
        .await;
    let (rfm, loyal, lifecycle, kpis, top, accounts) = match result {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let k = &kpis.kpis;
    let mut body = format!(
        "<h1>{}</h1><nav class=\"card\" aria-label=\"{}\"><a href=\"#rfm\">RFM</a> · <a href=\"#loyal-section\">{}</a> · \
         <a href=\"#lifecycle\">{}</a> · <a href=\"#kpis\">{}</a> · <a href=\"#cohorts\">{}</a> · <a href=\"#value\">{}</a> · <a href=\"#accounts\">{}</a></nav>",
        tr.t("Analytics"),
        tr.t("Sections"),
        tr.t("Loyal customers"),
        tr.t("Lifecycle"),
        tr.t("KPIs"),
        tr.t("Cohorts"),
        tr.t("Predicted value"),
        tr.t("Accounts"),
    );
    let _ = write!(body, "<section id=\"rfm\">{}{}", rfm_grid(tr, &rfm.grid), segment_chart(tr, &rfm));
    body.push_str(&table_start(
        "id=\"segments\"",
        &[tr.t("Segment"), tr.t("Customers"), tr.t("Share"), tr.t("Revenue")],
    ));
    for s in &rfm.segments {
        let key = serde_json::to_value(s.segment).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td><a href=\"/customers?segment={key}\">{}</a></td><td>{}</td><td>{:.1}%</td><td>{:.2}</td></tr>",
            tr.word(s.label),
            s.customers,
            100.0 * s.share,
            s.revenue
        );
    }
    body.push_str("</tbody></table></div></section>");
    let latest = loyal.trend.last();
    let _ = write!(
        body,
        "<section id=\"loyal-section\"><p class=\"card\">{}</p>{}</section>",
        tr.f(
            "Thresholds frozen on {}: loyal = the top 7%, semi-loyal = the next 13% by spend, tenure and repeat purchases. Today {} customers meet them ({}%).",
            &[
                &loyal.baseline_date,
                &latest.map_or(0, |m| m.loyal + m.semi_loyal),
                &format!("{:.1}", 100.0 * latest.map_or(0.0, |m| m.share))
            ]
        ),
        loyal_trend_chart(tr, &loyal)
    );
    let _ = write!(body, "<section id=\"lifecycle\">{}<p>", funnel_chart(tr, &lifecycle));
    for s in &lifecycle.funnel {
        let _ = write!(
            body,
            "<a href=\"/customers?stage={}\">{}</a> ",
            s.stage.as_str(),
            tr.f("{} customers {}", &[&s.customers, &tr.word(s.stage.as_str())])
        );
    }
    body.push_str("</p></section>");
    let _ = write!(
        body,
        "<section id=\"kpis\"><h2>{}</h2><div class=\"grid\">\
         <section class=\"card\"><h3>{}</h3><p class=\"big\">{:.1}%</p></section>\
         <section class=\"card\"><h3>{}</h3><p class=\"big\">{:.2}</p><p class=\"muted\">{}</p></section>\
         <section class=\"card\"><h3>{}</h3><p class=\"big\">{:.1}%</p><p class=\"muted\">{}</p></section></div>",
        tr.t("KPIs"),
        tr.t("Repeat purchase rate"),
        100.0 * k.repeat_purchase_rate,
        tr.t("Median order value"),
        k.order_value.median,
        tr.f("mean {}", &[&format!("{:.2}", k.order_value.mean)]),
        tr.t("New customers by referral"),
        100.0 * kpis.referral_share,
        tr.f("{} of {}", &[&kpis.acquired_by_referral, &kpis.customers_acquired]),
    );
    body.push_str(&distribution_rows(
        tr,
        &[
            (tr.t("Order value"), &k.order_value, 2),
            (tr.t("Orders per customer"), &k.orders_per_customer, 1),
            (tr.t("Revenue per customer"), &k.revenue_per_customer, 2),
            (tr.t("Days between purchases"), &k.days_between_purchases, 0),
        ],
    ));
    let weekdays = [tr.t("Mon"), tr.t("Tue"), tr.t("Wed"), tr.t("Thu"), tr.t("Fri"), tr.t("Sat"), tr.t("Sun")];
    let rows: Vec<(String, f64, String)> =
        weekdays.iter().zip(k.orders_by_weekday).map(|(d, n)| (d.to_string(), n as f64, n.to_string())).collect();
    body.push_str(&bar_chart("weekday", tr.t("Orders by weekday"), tr.t("Orders per day of the week"), &rows));
    let rows: Vec<(String, f64, String)> = kpis
        .orders_by_hour
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(h, n)| (format!("{h:02}:00"), *n as f64, n.to_string()))
        .collect();
    body.push_str(&bar_chart("hour", tr.t("Orders by hour"), tr.t("Orders per hour of the day, business time"), &rows));
    body.push_str("</section>");
    let cohorts: Vec<&enishi_analytics::kpis::Cohort> = k.cohorts.iter().rev().take(12).rev().collect();
    let width = cohorts.iter().map(|c| c.retention.len()).max().unwrap_or(0).min(12);
    let columns: Vec<String> = (0..width).map(|m| format!("+{m}")).collect();
    let rows: Vec<(String, Vec<Option<f64>>)> = cohorts
        .iter()
        .map(|c| {
            let (y, m) = (1970 + c.month.div_euclid(12), c.month.rem_euclid(12) + 1);
            (
                format!("{y}-{m:02} ({})", c.customers),
                (0..width).map(|i| c.retention.get(i).map(|r| 100.0 * r)).collect(),
            )
        })
        .collect();
    let _ = write!(
        body,
        "<section id=\"cohorts\"><h2>{}</h2>{}</section>",
        tr.t("Monthly cohorts"),
        heat_table(
            "cohort-table",
            tr.t("Share of each month's new customers buying again N months later"),
            tr.t("First month (customers)"),
            &columns,
            &rows,
            |v| format!("{v:.0}%")
        )
    );
    let _ = write!(body, "<section id=\"value\"><h2>{}</h2>", tr.t("Predicted value"));
    if top.is_empty() {
        let _ = write!(
            body,
            "<p class=\"muted\">{}</p>",
            tr.t("Not scored yet: the server scores customers once a day (or run `enishi analyze clv`).")
        );
    } else {
        let _ = write!(
            body,
            "{}",
            table_start(
                "",
                &[tr.t("Customer"), tr.t("Predicted value (12 months)"), tr.t("P(alive)"), tr.t("Expected purchases")]
            )
        );
        for t in &top {
            let _ = write!(
                body,
                "<tr><td><a href=\"/customers/{}\">{}</a> {}</td><td>{:.2}</td><td>{:.0}%</td><td>{:.1}</td></tr>",
                t.customer_id,
                esc(&t.external_id),
                esc(t.name.as_deref().unwrap_or("")),
                t.clv,
                100.0 * t.p_alive,
                t.expected_purchases
            );
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</section>");
    let _ = write!(body, "<section id=\"accounts\"><h2>{}</h2>", tr.t("Target accounts"));
    if accounts.is_empty() {
        let _ = write!(body, "<p class=\"muted\">{}</p>", tr.t("No B2B accounts yet."));
    } else {
        let _ = write!(
            body,
            "{}",
            table_start(
                "",
                &[
                    tr.t("Account"),
                    tr.t("Industry"),
                    tr.t("Region"),
                    tr.t("Revenue"),
                    tr.t("Active contacts"),
                    tr.t("Trend (90 days)")
                ]
            )
        );
        for a in &accounts {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td></tr>",
                esc(&a.account.name),
                esc(a.account.industry.as_deref().unwrap_or("")),
                esc(a.account.region.as_deref().unwrap_or("")),
                a.revenue,
                a.active_contacts,
                a.contacts,
                a.trend_percent.map(|p| format!("{p:+.0}%")).unwrap_or_else(|| "—".into())
            );
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</section>");
    v.page(tr.t("Analytics"), &body).into_response()
}
