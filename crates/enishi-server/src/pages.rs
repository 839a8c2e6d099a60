//! The pages everyone uses: the dashboard, the customer list with search and filters, and a
//! customer's 360° page (profile, consent, loyalty, scores, open issues, timeline, and the
//! forms staff use at the till). Server-rendered HTML, no JavaScript.

use crate::charts::{bar_chart, heat_table, line_chart, lorenz_chart};
use crate::i18n::Tr;
use crate::shell::{esc, table_start, urlencode, visitor, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use enishi_core::{InteractionStatus, Role};
use enishi_store::repo::{customers, history, scores};
use enishi_store::{Customer, Interaction, Page, TimelineEntry};
use serde::Deserialize;
use std::fmt::Write;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/customers", get(customer_list))
        .route("/customers/{id}", get(customer_page))
        .route("/overview", get(|| async { Redirect::permanent("/") }))
}

/// Loyal-customer share month by month over the last year (7% loyal, 13% semi-loyal, the
/// thresholds frozen a year ago).
pub(crate) fn loyal_trend_chart(tr: Tr, report: &enishi_insights::LoyalReport) -> String {
    let points: Vec<(String, f64)> =
        report.trend.iter().map(|m| (m.date.get(..7).unwrap_or(&m.date).to_string(), 100.0 * m.share)).collect();
    line_chart(
        "loyal",
        tr.t("Loyal and semi-loyal customers"),
        &tr.f("Share of customers meeting the loyal or semi-loyal thresholds frozen on {}", &[&report.baseline_date]),
        &points,
        |v| format!("{v:.1}%"),
    )
}

/// The RFM grid: customers per recency (rows, 5 best) and frequency (columns) score.
pub(crate) fn rfm_grid(tr: Tr, grid: &[[u64; 5]; 5]) -> String {
    let columns: Vec<String> = (1..=5).map(|f| format!("F{f}")).collect();
    let rows: Vec<(String, Vec<Option<f64>>)> = grid
        .iter()
        .enumerate()
        .map(|(i, row)| (format!("R{}", 5 - i), row.iter().map(|&n| Some(n as f64)).collect()))
        .collect();
    format!(
        "<h2>{}</h2>{}",
        tr.t("RFM grid"),
        heat_table(
            "rfm-grid",
            tr.t("Customers by recency (R, 5 = most recent) and frequency (F, 5 = most often)"),
            "R \\ F",
            &columns,
            &rows,
            |v| format!("{v:.0}")
        )
    )
}

async fn dashboard(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let v = match visitor(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tr = v.tr();
    let clock = state.workspace().clock;
    let today = clock.day_number(state.now());
    let result = state
        .run(move |s| {
            Ok((
                enishi_insights::pareto_report(s, today)?,
                enishi_insights::rfm_report(s, today)?,
                enishi_insights::kpis_report(s, today, clock)?,
                enishi_insights::lifecycle(s, today, 5, false)?,
                enishi_insights::revenue_by_month(s, today, 12)?,
                enishi_insights::loyal_report(s, today - 365, today, 0.07, 0.13)?,
            ))
        })
        .await;
    let (pareto, rfm, kpis, lifecycle, months, loyal) = match result {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let k = &kpis.kpis;
    let latest_share = loyal.trend.last().map_or(0.0, |m| m.share);
    let mut body = format!(
        "<h1>{}</h1><div class=\"grid\">\
         <section class=\"card\"><h2>{}</h2><p class=\"big\">{}</p><p class=\"muted\">{}</p></section>\
         <section class=\"card\"><h2>{}</h2><p class=\"big\">{:.2}</p><p class=\"muted\">{}</p></section>\
         <section class=\"card\"><h2>{}</h2><p class=\"big\">{:.1}%</p><p class=\"muted\">{}</p></section>\
         <section class=\"card\"><h2>{}</h2><p class=\"big\">{:.1}%</p><p class=\"muted\">{}</p></section>\
         <section class=\"card\"><h2>{}</h2><p class=\"big\">{:.1}%</p><p class=\"muted\">{}</p></section></div>",
        tr.t("Dashboard"),
        tr.t("Customers who bought"),
        pareto.customers,
        tr.f("{} orders", &[&k.orders]),
        tr.t("Revenue"),
        pareto.revenue,
        tr.f("median order {}", &[&format!("{:.2}", k.order_value.median)]),
        tr.t("Repeat customers"),
        100.0 * k.repeat_purchase_rate,
        tr.t("bought on more than one day"),
        tr.t("Top 20% of customers"),
        100.0 * pareto.top_20_share,
        tr.f("of revenue · Gini {}", &[&format!("{:.2}", pareto.gini)]),
        tr.t("Loyal customers"),
        100.0 * latest_share,
        tr.t("loyal or semi-loyal; the goal is 25–30%"),
    );
    let month_rows: Vec<(String, f64, String)> = months
        .iter()
        .map(|m| (m.month.clone(), m.revenue, tr.f("{} · {} orders", &[&format!("{:.0}", m.revenue), &m.orders])))
        .collect();
    body.push_str(&bar_chart(
        "rev",
        tr.t("Revenue by month"),
        tr.t("Revenue of each of the last twelve months"),
        &month_rows,
    ));
    body.push_str(&loyal_trend_chart(tr, &loyal));
    body.push_str(&funnel_chart(tr, &lifecycle));
    if !lifecycle.lapsed.is_empty() {
        let _ = write!(
            body,
            "<h2>{}</h2>{}",
            tr.t("Lapsed customers most worth winning back"),
            table_start("class=\"keep\"", &[tr.t("Customer"), tr.t("Stage"), tr.t("Silent"), tr.t("At stake")])
        );
        for l in &lifecycle.lapsed {
            let _ = write!(
                body,
                "<tr><td><a href=\"/customers/{}\">{}</a></td><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
                l.id,
                esc(&l.external_id),
                tr.word(l.stage.as_str()),
                tr.f("{} days (usually {})", &[&l.days_silent, &format!("{:.0}", l.usual_gap_days)]),
                l.value_at_stake
            );
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str(&rfm_grid(tr, &rfm.grid));
    body.push_str(&segment_chart(tr, &rfm));
    body.push_str(&lorenz_chart(tr, &pareto.curve));
    v.page(tr.t("Dashboard"), &body).into_response()
}

/// Customers per lifecycle stage, new to lost.
pub(crate) fn funnel_chart(tr: Tr, lifecycle: &enishi_insights::LifecycleReport) -> String {
    let rows: Vec<(String, f64, String)> = lifecycle
        .funnel
        .iter()
        .map(|s| (tr.word(s.stage.as_str()), s.customers as f64, format!("{} ({:.1}%)", s.customers, 100.0 * s.share)))
        .collect();
    bar_chart("life", tr.t("Lifecycle"), tr.t("Customers per lifecycle stage, new to lost"), &rows)
}

/// Customers per RFM segment.
pub(crate) fn segment_chart(tr: Tr, rfm: &enishi_insights::RfmReport) -> String {
    let rows: Vec<(String, f64, String)> = rfm
        .segments
        .iter()
        .map(|s| (tr.word(s.label), s.customers as f64, format!("{} ({:.1}%)", s.customers, 100.0 * s.share)))
        .collect();
    bar_chart("seg", tr.t("RFM segments"), tr.t("Customers per RFM segment"), &rows)
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    after: Option<i64>,
    stage: Option<String>,
    segment: Option<String>,
}

/// A `<select>` of `options` (value, label) with `selected` chosen and an "any" first.
fn select(tr: Tr, name: &str, label: &str, options: &[(String, String)], selected: &str) -> String {
    let mut html = format!("<label>{} <select name=\"{name}\"><option value=\"\">{}</option>", esc(label), tr.t("any"));
    for (value, text) in options {
        let _ = write!(
            html,
            "<option value=\"{}\"{}>{}</option>",
            esc(value),
            if value == selected { " selected" } else { "" },
            esc(text)
        );
    }
    html.push_str("</select></label>");
    html
}

async fn customer_list(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    let v = match visitor(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tr = v.tr();
    let text = q.q.clone().unwrap_or_default();
    let stage = q.stage.clone().filter(|s| !s.is_empty());
    let segment = q.segment.clone().filter(|s| !s.is_empty());
    let mut query = customers::CustomerQuery {
        text: Some(text.clone()),
        after: q.after.unwrap_or(0),
        limit: 50,
        lifecycle_stage: stage.clone(),
        rfm_segment: segment.clone(),
        ..Default::default()
    };
    // Staff find the customer in front of them: a term, a short list, no paging.
    let staff = v.role() == Role::Staff;
    let listed = crate::access::customer_query_for(v.role(), &mut query).is_ok();
    if staff && listed {
        if let Err(e) = state.searches.check(&format!("user:{}", v.user.id), crate::access::STAFF_SEARCHES_PER_MINUTE) {
            return e.into_response();
        }
    }
    let result = state
        .run(move |s| {
            Ok(s.read(|c| {
                let list =
                    if listed { customers::search(c, &query)? } else { Page { items: Vec::new(), next_cursor: None } };
                Ok::<_, enishi_store::StoreError>((list, customers::count(c)?))
            })?)
        })
        .await;
    let (mut list, total) = match result {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    if staff {
        list.next_cursor = None;
    }
    let stages: Vec<(String, String)> =
        enishi_analytics::lifecycle::Stage::ALL.iter().map(|s| (s.as_str().to_string(), tr.word(s.as_str()))).collect();
    let segments: Vec<(String, String)> = enishi_analytics::rfm::Segment::ALL
        .iter()
        .map(|s| {
            (
                serde_json::to_value(s).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
                tr.word(s.label()),
            )
        })
        .collect();
    let mut body = format!(
        "<h1>{} <span class=\"muted\">({total})</span></h1><form method=\"get\" action=\"/customers\" role=\"search\" class=\"card\">\
         <label>{} <input name=\"q\" value=\"{}\" placeholder=\"{}\"></label> {} {} <button>{}</button></form>\
         {}",
        tr.t("Customers"),
        tr.t("Search"),
        esc(&text),
        tr.t("Name, email, phone or id"),
        select(tr, "stage", tr.t("Lifecycle"), &stages, stage.as_deref().unwrap_or("")),
        select(tr, "segment", tr.t("RFM segment"), &segments, segment.as_deref().unwrap_or("")),
        tr.t("Search"),
        table_start("", &[tr.t("Id"), tr.t("Name"), tr.t("Email"), tr.t("Orders"), tr.t("Spend"), tr.t("Last order")]),
    );
    for c in &list.items {
        let _ = write!(
            body,
            "<tr><td><a href=\"/customers/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.id,
            esc(&c.external_id),
            esc(c.name.as_deref().unwrap_or("")),
            esc(c.email.as_deref().unwrap_or("")),
            c.stats.order_count,
            c.stats.total_spend,
            c.stats.last_order_at.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
        );
    }
    body.push_str("</tbody></table></div>");
    if !listed {
        let hint = tr.t(
            "Type a name (two characters or more), an email, a phone number or an id: staff see at most 20 matches.",
        );
        let _ = write!(body, "<p>{}</p>", hint);
    } else if list.items.is_empty() {
        let _ = write!(body, "<p>{}</p>", tr.t("No customer matches."));
    }
    if let Some(next) = list.next_cursor {
        let _ = write!(
            body,
            "<p><a href=\"/customers?q={}&amp;stage={}&amp;segment={}&amp;after={next}\">{}</a></p>",
            esc(&urlencode(&text)),
            esc(&urlencode(stage.as_deref().unwrap_or(""))),
            esc(&urlencode(segment.as_deref().unwrap_or(""))),
            tr.t("Next page →")
        );
    }
    v.page(tr.t("Customers"), &body).into_response()
}

/// What the last form on a customer's page did, shown at the top of it.
#[derive(Deserialize)]
struct CustomerPageQuery {
    #[serde(default)]
    recorded: Option<String>,
    #[serde(default)]
    earned: Option<i64>,
    #[serde(default)]
    done: Option<String>,
}

/// Everything a customer's page shows.
struct CustomerView {
    customer: Customer,
    timeline: Vec<TimelineEntry>,
    loyalty: Option<enishi_rewards::LoyaltySummary>,
    rewards: Vec<(String, String, i64)>,
    next: Vec<(String, Option<String>, f64)>,
    scores: Option<enishi_store::CustomerScores>,
    since: Option<i64>,
    open: Vec<Interaction>,
}

async fn customer_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<CustomerPageQuery>,
) -> Response {
    let v = match visitor(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tr = v.tr();
    let Ok(id) = id.parse::<i64>() else { return v.not_found() };
    let now = state.now().timestamp();
    let found = state
        .with_programs(false, move |c, programs| {
            let Some(customer) = customers::get(c, id)? else { return Ok(None) };
            let (loyalty, rewards) = match programs.latest() {
                Some((_, p)) => (
                    Some(enishi_rewards::summary(c, programs, id, now)?),
                    p.doc
                        .rewards
                        .iter()
                        .filter(|r| r.cost > 0)
                        .map(|r| (r.id.clone(), r.name.clone(), r.cost))
                        .collect(),
                ),
                None => (None, Vec::new()),
            };
            Ok(Some(CustomerView {
                customer,
                timeline: history::timeline(c, id, 100, 0)?,
                loyalty,
                rewards,
                next: scores::recommendations(c, id)?,
                scores: scores::get(c, id)?,
                since: scores::lifecycle_changes(c, id)?.last().map(|x| x.0),
                open: history::interactions(c, Some(id), Some(InteractionStatus::Open), 20, 0)?,
            }))
        })
        .await;
    let view = match found {
        Ok(Some(view)) => view,
        Ok(None) => return v.not_found(),
        Err(e) => return e.into_response(),
    };
    let mut cards = view.loyalty.as_ref().map(|l| loyalty_card(tr, l)).unwrap_or_default();
    cards.push_str(&scores_card(tr, view.scores.as_ref(), view.since, view.customer.stats.purchase_days));
    if !view.next.is_empty() {
        let _ =
            write!(cards, "<section class=\"card\" id=\"next-products\"><h2>{}</h2><ol>", tr.t("Likely to buy next"));
        for (sku, name, _) in &view.next {
            let _ = write!(cards, "<li>{}</li>", esc(name.as_deref().unwrap_or(sku)));
        }
        cards.push_str("</ol></section>");
    }
    cards.push_str(&open_issues_card(&v, view.customer.id, &view.open));
    let mut forms = crate::console::purchase_form(tr, view.customer.id, &v.csrf);
    forms.push_str(&crate::console::interaction_form(tr, view.customer.id, &v.csrf));
    if view.loyalty.is_some() {
        forms.push_str(&crate::console::redeem_form(tr, view.customer.id, &v.csrf, &view.rewards));
        if v.role() != Role::Staff {
            forms.push_str(&crate::console::adjust_form(tr, view.customer.id, &v.csrf));
        }
    }
    if v.role() == Role::Admin {
        forms.push_str(&crate::privacy_pages::privacy_card(tr, view.customer.id, &v.csrf));
    }
    let flash = match (&q.recorded, q.earned, q.done.as_deref()) {
        (Some(order), Some(points), _) => tr.f("Recorded order {}: earned {} points.", &[&esc(order), &points]),
        (Some(order), None, _) => tr.f("Recorded order {}.", &[&esc(order)]),
        (None, _, Some("interaction")) => tr.t("Interaction recorded.").to_string(),
        (None, _, Some("resolved")) => tr.t("Marked resolved.").to_string(),
        (None, _, Some("adjusted")) => tr.t("Points adjusted.").to_string(),
        (None, _, Some("redeemed")) => tr.t("Reward redeemed; the coupon is in the loyalty card.").to_string(),
        _ => String::new(),
    };
    let flash =
        if flash.is_empty() { flash } else { format!("<p class=\"card\" role=\"status\" id=\"flash\">{flash}</p>") };
    let body = format!("{flash}{}", profile_html(tr, &view.customer, &view.timeline, &cards, &forms));
    v.page(view.customer.name.as_deref().unwrap_or(&view.customer.external_id), &body).into_response()
}

/// Open requests and complaints, each with a button to mark it resolved.
fn open_issues_card(v: &Visitor, customer_id: i64, open: &[Interaction]) -> String {
    let tr = v.tr();
    let mut html = format!("<section class=\"card\" id=\"open-issues\"><h2>{}</h2>", tr.t("Open issues"));
    if open.is_empty() {
        let _ = write!(html, "<p class=\"muted\">{}</p>", tr.t("Nothing open."));
    }
    for i in open {
        let _ = write!(
            html,
            "<p><span class=\"kind\">{}</span> {} <span class=\"muted\">{}</span><br>\
             <form method=\"post\" action=\"/customers/{customer_id}/interactions/{}/resolve\" class=\"inline\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>{}</button></form></p>",
            tr.word(i.kind.as_str()),
            esc(&i.body),
            i.occurred_at.format("%Y-%m-%d"),
            i.id,
            v.csrf,
            tr.t("Mark resolved")
        );
    }
    html.push_str("</section>");
    html
}

/// A customer's profile: contact, consent and purchase cards, then `extra_cards` in the same
/// grid, then `forms`, then the timeline.
fn profile_html(tr: Tr, c: &Customer, timeline: &[TimelineEntry], extra_cards: &str, forms: &str) -> String {
    let opt = |v: &Option<String>| esc(v.as_deref().unwrap_or("—"));
    let address = [
        &c.address.line1,
        &c.address.line2,
        &c.address.city,
        &c.address.region,
        &c.address.postal_code,
        &c.address.country,
    ]
    .iter()
    .filter_map(|v| v.as_deref())
    .map(esc)
    .collect::<Vec<_>>()
    .join(", ");
    let mut consents = String::new();
    for ch in enishi_core::ConsentChannel::ALL {
        let status = c.consents.iter().find(|x| x.channel == *ch);
        let _ = write!(
            consents,
            "<li>{}: <strong>{}</strong>{}</li>",
            tr.word(ch.as_str()),
            tr.word(status.map_or("unknown", |s| s.status.as_str())),
            status
                .map(|s| format!(
                    " <span class=\"muted\">({}, {})</span>",
                    s.changed_at.format("%Y-%m-%d"),
                    esc(&s.source)
                ))
                .unwrap_or_default()
        );
    }
    let day =
        |d: Option<chrono::DateTime<chrono::Utc>>| d.map_or("—".to_string(), |d| d.format("%Y-%m-%d").to_string());
    let mut html = format!(
        "<h1>{}</h1><p class=\"muted\">{}</p><div class=\"grid\">\
         <section class=\"card\"><h2>{}</h2><p>{}: {}<br>{}: {}<br>{}: {}<br>{}: {}<br>{}: {}</p></section>\
         <section class=\"card\"><h2>{}</h2><ul>{consents}</ul></section>\
         <section class=\"card\"><h2>{}</h2><p>{}: {}<br>{}: {}<br>{}: {}<br>{}: {}<br>{}: {}<br>{}: {}</p></section>{extra_cards}</div>{forms}\
         <h2>{}</h2>{}",
        esc(c.name.as_deref().unwrap_or(&c.external_id)),
        tr.f("Customer {} · first seen {}", &[&esc(&c.external_id), &c.first_seen_at.format("%Y-%m-%d")]),
        tr.t("Contact"),
        tr.t("Email"),
        opt(&c.email),
        tr.t("Phone"),
        opt(&c.phone),
        tr.t("Address"),
        if address.is_empty() { "—".into() } else { address },
        tr.t("Birthday"),
        c.birthday.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
        tr.t("Language"),
        opt(&c.locale),
        tr.t("Consent"),
        tr.t("Purchases"),
        tr.t("Orders"),
        c.stats.order_count,
        tr.t("Purchase days"),
        c.stats.purchase_days,
        tr.t("Spend"),
        c.stats.total_spend,
        tr.t("Returned"),
        c.stats.returned_amount,
        tr.t("First order"),
        day(c.stats.first_order_at),
        tr.t("Last order"),
        day(c.stats.last_order_at),
        tr.t("Timeline"),
        table_start("", &[tr.t("When"), tr.t("What"), tr.t("Summary"), tr.t("Amount"), tr.t("Status")]),
    );
    for e in timeline {
        let _ = write!(
            html,
            "<tr><td>{}</td><td><span class=\"kind\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.at.format("%Y-%m-%d %H:%M"),
            tr.word(&e.kind),
            esc(&e.summary),
            e.amount.map(|a| a.to_string()).unwrap_or_default(),
            esc(&e.status.as_deref().map(|s| tr.word(s)).unwrap_or_default())
        );
    }
    html.push_str("</tbody></table></div>");
    if timeline.is_empty() {
        let _ = write!(html, "<p>{}</p>", tr.t("Nothing yet."));
    }
    html
}

/// The scores card: RFM segment, lifecycle stage and since when, P(alive) (for customers who
/// came back at least once), CLV; empty before any analysis has scored the customer.
fn scores_card(
    tr: Tr,
    scores: Option<&enishi_store::CustomerScores>,
    since: Option<i64>,
    purchase_days: i64,
) -> String {
    let Some(s) = scores else { return String::new() };
    let mut html = format!("<section class=\"card\" id=\"scores\"><h2>{}</h2><p>", tr.t("Scores"));
    if let Some(r) = &s.rfm {
        let _ = write!(html, "RFM: <strong>{}</strong> ({}{}{})<br>", esc(&tr.word(&r.segment)), r.r, r.f, r.m);
    }
    if let Some(stage) = &s.lifecycle_stage {
        let _ = write!(html, "{}: <strong>{}</strong>", tr.t("Lifecycle"), esc(&tr.word(stage)));
        if let Some(day) = since {
            let _ = write!(html, " {}", tr.f("since {}", &[&enishi_core::time::date_of_day(day)]));
        }
        html.push_str("<br>");
    }
    if let Some(v) = &s.value {
        if purchase_days < 2 {
            // BG/NBD assumes a customer who never came back is still alive: say so instead.
            let _ = write!(
                html,
                "P(alive): — <span class=\"muted\">({})</span><br>",
                tr.t("one purchase day: too early to tell")
            );
        } else if v.p_alive.is_finite() {
            let _ = write!(html, "P(alive): {:.0}%<br>", 100.0 * v.p_alive);
        }
        if v.clv.is_finite() {
            let _ = write!(html, "{}: {:.2}", tr.t("Predicted value (12 months)"), v.clv);
        }
    }
    html.push_str("</p></section>");
    html
}

/// The loyalty card: points, tier, stamp cards, coupons.
fn loyalty_card(tr: Tr, l: &enishi_rewards::LoyaltySummary) -> String {
    let mut html = format!(
        "<section class=\"card\" id=\"loyalty\"><h2>{}</h2><p>{}: <strong data-balance=\"{}\">{}</strong><br>{}: {}<br>{}: {}",
        tr.t("Loyalty"),
        tr.t("Balance"),
        l.balance,
        tr.f("{} points", &[&l.balance]),
        tr.t("Usable now"),
        l.available,
        tr.t("Pending (return window)"),
        l.pending
    );
    if l.debt > 0 {
        let _ = write!(html, "<br><strong>{}</strong>", tr.f("Owes {} points (redemption blocked)", &[&l.debt]));
    }
    for e in &l.expiring_soon {
        let _ = write!(html, "<br>{}", tr.f("Expiring {}: {} points", &[&e.date, &e.points]));
    }
    if let Some(t) = &l.tier {
        let _ = write!(html, "<br>{}: <strong>{}</strong>", tr.t("Tier"), esc(&t.name));
        if let Some(n) = &t.next {
            let _ = write!(
                html,
                " <span class=\"muted\">({})</span>",
                tr.f("{} more to {}", &[&esc(&n.missing), &esc(&n.name)])
            );
        }
    }
    for c in &l.stamp_cards {
        let _ = write!(html, "<br>{}: {}", esc(&c.name), tr.f("{} of {} stamps", &[&c.stamps, &c.of]));
    }
    let _ = write!(
        html,
        "<br>{}: <code>{}</code> · {}</p>",
        tr.t("Referral code"),
        esc(&l.referral_code),
        tr.f("referred {}", &[&l.referrals])
    );
    let usable: Vec<&enishi_store::repo::loyalty::Coupon> = l.coupons.iter().filter(|c| c.uses < c.max_uses).collect();
    if !usable.is_empty() {
        let _ = write!(html, "<p>{}:</p><ul id=\"coupons\">", tr.t("Coupons"));
        for c in usable {
            let _ = write!(html, "<li><code>{}</code> {}</li>", esc(&c.code), esc(&c.reward_id));
        }
        html.push_str("</ul>");
    }
    html.push_str("</section>");
    html
}
