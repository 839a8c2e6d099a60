//! The first console pages: sign in with a token, the customer list with search, and a
//! customer's profile and timeline. Server-rendered HTML, no JavaScript.

use crate::auth::{role_of, SESSION_COOKIE};
use crate::{ApiError, AppState};
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use enishi_store::repo::{customers, history};
use enishi_store::{Customer, TimelineEntry};
use serde::Deserialize;
use std::fmt::Write;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/customers", get(customer_list))
        .route("/customers/{id}", get(customer_page))
        .route("/overview", get(|| async { Redirect::permanent("/") }))
        .route("/login", get(login_form).post(login))
        .route("/logout", axum::routing::post(logout))
        .merge(crate::console::routes())
        .route("/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
}

/// The icon: 縁 on the header colour.
const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\"><rect width=\"32\" height=\"32\" rx=\"6\" fill=\"#5b2a3c\"/>\
<text x=\"16\" y=\"24\" font-size=\"22\" text-anchor=\"middle\" fill=\"#fff\">縁</text></svg>";

async fn favicon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "max-age=86400")], FAVICON).into_response()
}

/// Escapes text for HTML.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafaf7}\
header{background:#5b2a3c;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center}\
header a{color:#fff;text-decoration:none;font-weight:600}main{padding:1rem;max-width:70rem;margin:auto}\
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #e5e5e0}\
input,button{font:inherit;padding:.4rem .6rem}.muted{color:#777}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:.8rem}\
.card{background:#fff;border:1px solid #e5e5e0;border-radius:6px;padding:.8rem}.kind{font-size:.8rem;padding:.1rem .4rem;border-radius:4px;background:#eee}\
.big{font-size:2rem;margin:.2rem 0}@media(max-width:40rem){td:nth-child(n+4),th:nth-child(n+4){display:none}}";

pub(crate) fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · Enishi</title><link rel=\"icon\" href=\"/favicon.svg\"><style>{STYLE}</style></head><body><header><a href=\"/\">縁 Enishi</a><a href=\"/\">Dashboard</a><a href=\"/customers\">Customers</a><a href=\"/loyalty\">Loyalty</a><a href=\"/imports\">Import</a><a href=\"/tokens\">Tokens</a>\
         <form method=\"post\" action=\"/logout\" style=\"margin-left:auto\"><button>Sign out</button></form></header><main>{body}</main></body></html>",
        esc(title)
    ))
}

/// A signed-in visitor: their role and the anti-forgery token their forms carry.
pub(crate) struct Visitor {
    /// Role of their token.
    pub role: enishi_core::Role,
    /// Token forms must send back (derived from the session, which scripts cannot read).
    pub csrf: String,
}

impl Visitor {
    /// Whether a form's anti-forgery token is this visitor's.
    pub(crate) fn form_ok(&self, sent: &str) -> bool {
        !sent.is_empty() && sent == self.csrf
    }
}

fn csrf_of(session: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(format!("enishi-csrf:{session}").as_bytes())[..16])
}

/// The signed-in visitor, or a redirect to the sign-in page.
pub(crate) async fn visitor(state: &AppState, headers: &HeaderMap) -> Result<Visitor, Response> {
    let token = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).and_then(|c| {
        c.split(';').find_map(|p| p.trim().strip_prefix(&format!("{SESSION_COOKIE}=")).map(String::from))
    });
    match token {
        Some(t) => match role_of(state, t.clone()).await {
            Ok(Some(role)) => Ok(Visitor { role, csrf: csrf_of(&t) }),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(e.into_response()),
        },
        None => Err(Redirect::to("/login").into_response()),
    }
}

async fn login_form() -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Sign in · Enishi</title><link rel=\"icon\" href=\"/favicon.svg\"><style>{STYLE}</style></head><body><header><a href=\"/\">縁 Enishi</a></header><main>\
         <h1>Sign in</h1><form method=\"post\" action=\"/login\"><label>API token <input name=\"token\" type=\"password\" autocomplete=\"off\" required></label> \
         <button>Sign in</button></form><p class=\"muted\">The demo prints a token; make more with <code>enishi token create --role staff</code>.</p></main></body></html>"
    ))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(state): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let token = f.token.trim().to_string();
    match role_of(&state, token.clone()).await {
        Ok(Some(_)) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, "/".to_string()),
                (header::SET_COOKIE, format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/")),
            ],
        )
            .into_response(),
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            page("Sign in", "<p>That token is unknown or revoked. <a href=\"/login\">Try again</a>.</p>"),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn logout() -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/login".to_string()),
            (header::SET_COOKIE, format!("{SESSION_COOKIE}=; Max-Age=0; Path=/")),
        ],
    )
        .into_response()
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    after: Option<i64>,
}

async fn customer_list(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    if let Err(r) = visitor(&state, &headers).await {
        return r;
    }
    let text = q.q.clone().unwrap_or_default();
    let query = customers::CustomerQuery {
        text: Some(text.clone()),
        after: q.after.unwrap_or(0),
        limit: 50,
        ..Default::default()
    };
    let result = state
        .run(move |s| {
            Ok(s.read(|c| Ok::<_, enishi_store::StoreError>((customers::search(c, &query)?, customers::count(c)?)))?)
        })
        .await;
    let (list, total) = match result {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let mut body = format!(
        "<h1>Customers <span class=\"muted\">({total})</span></h1><form method=\"get\" action=\"/customers\" role=\"search\">\
         <input name=\"q\" value=\"{}\" placeholder=\"Name, email, phone or id\" aria-label=\"Search customers\"> <button>Search</button></form>\
         <table><thead><tr><th>Id</th><th>Name</th><th>Email</th><th>Orders</th><th>Spend</th><th>Last order</th></tr></thead><tbody>",
        esc(&text)
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
    body.push_str("</tbody></table>");
    if list.items.is_empty() {
        body.push_str("<p>No customer matches.</p>");
    }
    if let Some(next) = list.next_cursor {
        let _ =
            write!(body, "<p><a href=\"/customers?q={}&amp;after={next}\">Next page →</a></p>", esc(&urlencode(&text)));
    }
    page("Customers", &body).into_response()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize)]
struct CustomerPageQuery {
    #[serde(default)]
    recorded: Option<String>,
    #[serde(default)]
    earned: Option<i64>,
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
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, page("Not found", "<p>No such customer.</p>")).into_response();
    };
    let found = state
        .with_programs(false, move |c, programs| {
            let Some(cust) = customers::get(c, id)? else { return Ok(None) };
            let loyalty = match programs.latest() {
                Some(_) => Some(enishi_rewards::summary(c, programs, id, chrono::Utc::now().timestamp())?),
                None => None,
            };
            let next = enishi_store::repo::scores::recommendations(c, id)?;
            let stages = enishi_store::repo::scores::lifecycle_changes(c, id)?;
            let scores = scores_card(enishi_store::repo::scores::get(c, id)?.as_ref(), stages.last());
            Ok(Some((cust, history::timeline(c, id, 100, 0)?, loyalty, next, scores)))
        })
        .await;
    match found {
        Ok(Some((c, timeline, loyalty, next, scores))) => {
            let mut cards = loyalty.as_ref().map(loyalty_card).unwrap_or_default();
            cards.push_str(&scores);
            if !next.is_empty() {
                cards.push_str("<section class=\"card\" id=\"next-products\"><h2>Likely to buy next</h2><ol>");
                for (sku, name, _) in &next {
                    let _ = write!(cards, "<li>{}</li>", esc(name.as_deref().unwrap_or(sku)));
                }
                cards.push_str("</ol></section>");
            }
            let form = crate::console::purchase_form(c.id, &v.csrf);
            let body = profile_html(&c, &timeline, &cards, &form);
            let flash = match (&q.recorded, q.earned) {
                (Some(order), Some(points)) => {
                    format!(
                        "<p class=\"card\" role=\"status\">Recorded order {}: earned {points} points.</p>",
                        esc(order)
                    )
                }
                (Some(order), None) => format!("<p class=\"card\" role=\"status\">Recorded order {}.</p>", esc(order)),
                _ => String::new(),
            };
            let body = format!("{flash}{body}");
            page(c.name.as_deref().unwrap_or(&c.external_id), &body).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, page("Not found", "<p>No such customer.</p>")).into_response(),
        Err(e) => ApiError::into_response(e),
    }
}

/// A customer's profile: contact, consent and purchase cards, then `extra_cards` in the same
/// grid, then `before_timeline`, then the timeline.
fn profile_html(c: &Customer, timeline: &[TimelineEntry], extra_cards: &str, before_timeline: &str) -> String {
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
            "<li>{ch}: <strong>{}</strong>{}</li>",
            status.map_or("unknown", |s| s.status.as_str()),
            status
                .map(|s| format!(
                    " <span class=\"muted\">({}, {})</span>",
                    s.changed_at.format("%Y-%m-%d"),
                    esc(&s.source)
                ))
                .unwrap_or_default()
        );
    }
    let mut html = format!(
        "<h1>{}</h1><p class=\"muted\">Customer {} · first seen {}</p><div class=\"grid\">\
         <section class=\"card\"><h2>Contact</h2><p>Email: {}<br>Phone: {}<br>Address: {}<br>Birthday: {}<br>Locale: {}</p></section>\
         <section class=\"card\"><h2>Consent</h2><ul>{consents}</ul></section>\
         <section class=\"card\"><h2>Purchases</h2><p>Orders: {}<br>Purchase days: {}<br>Spend: {}<br>Returned: {}<br>First: {}<br>Last: {}</p></section>{extra_cards}</div>{before_timeline}\
         <h2>Timeline</h2><table><thead><tr><th>When</th><th>What</th><th>Summary</th><th>Amount</th><th>Status</th></tr></thead><tbody>",
        esc(c.name.as_deref().unwrap_or(&c.external_id)),
        esc(&c.external_id),
        c.first_seen_at.format("%Y-%m-%d"),
        opt(&c.email),
        opt(&c.phone),
        if address.is_empty() { "—".into() } else { address },
        c.birthday.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
        opt(&c.locale),
        c.stats.order_count,
        c.stats.purchase_days,
        c.stats.total_spend,
        c.stats.returned_amount,
        c.stats.first_order_at.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "—".into()),
        c.stats.last_order_at.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "—".into()),
    );
    for e in timeline {
        let _ = write!(
            html,
            "<tr><td>{}</td><td><span class=\"kind\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.at.format("%Y-%m-%d %H:%M"),
            esc(&e.kind),
            esc(&e.summary),
            e.amount.map(|a| a.to_string()).unwrap_or_default(),
            esc(e.status.as_deref().unwrap_or(""))
        );
    }
    html.push_str("</tbody></table>");
    if timeline.is_empty() {
        html.push_str("<p>Nothing yet.</p>");
    }
    html
}

/// The scores card of a customer's page: RFM segment, lifecycle stage and since when, P(alive),
/// CLV; empty before any analysis has scored the customer.
fn scores_card(
    scores: Option<&enishi_store::CustomerScores>,
    last_change: Option<&(i64, Option<String>, String)>,
) -> String {
    let Some(s) = scores else { return String::new() };
    let mut html = String::from("<section class=\"card\" id=\"scores\"><h2>Scores</h2><p>");
    if let Some(r) = &s.rfm {
        let _ = write!(html, "RFM: <strong>{}</strong> ({}{}{})<br>", esc(&r.segment.replace('_', " ")), r.r, r.f, r.m);
    }
    if let Some(stage) = &s.lifecycle_stage {
        let _ = write!(html, "Lifecycle: <strong>{}</strong>", esc(&stage.replace('_', " ")));
        if let Some((day, _, _)) = last_change {
            let since = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|d| d.checked_add_days(chrono::Days::new(u64::try_from(*day).unwrap_or(0))));
            if let Some(d) = since {
                let _ = write!(html, " since {d}");
            }
        }
        html.push_str("<br>");
    }
    if let Some(v) = &s.value {
        if v.p_alive.is_finite() {
            let _ = write!(html, "P(alive): {:.0}%<br>", 100.0 * v.p_alive);
        }
        if v.clv.is_finite() {
            let _ = write!(html, "Predicted value (12 months): {:.2}", v.clv);
        }
    }
    html.push_str("</p></section>");
    html
}

/// The loyalty card of a customer's page: points, tier, stamp cards, coupons.
fn loyalty_card(l: &enishi_rewards::LoyaltySummary) -> String {
    let mut html = format!(
        "<section class=\"card\" id=\"loyalty\"><h2>Loyalty</h2><p>Balance: <strong data-balance=\"{}\">{} points</strong><br>\
         Usable now: {}<br>Pending (return window): {}",
        l.balance, l.balance, l.available, l.pending
    );
    if l.debt > 0 {
        let _ = write!(html, "<br><strong>Owes {} points</strong> (redemption blocked)", l.debt);
    }
    for e in &l.expiring_soon {
        let _ = write!(html, "<br>Expiring {}: {} points", e.date, e.points);
    }
    if let Some(t) = &l.tier {
        let _ = write!(html, "<br>Tier: <strong>{}</strong>", esc(&t.name));
        if let Some(n) = &t.next {
            let _ = write!(html, " <span class=\"muted\">({} more to {})</span>", esc(&n.missing), esc(&n.name));
        }
    }
    for c in &l.stamp_cards {
        let _ = write!(html, "<br>{}: {} of {} stamps", esc(&c.name), c.stamps, c.of);
    }
    let _ = write!(
        html,
        "<br>Referral code: <code>{}</code> · referred {}<br>Coupons: {}</p></section>",
        esc(&l.referral_code),
        l.referrals,
        l.coupons.len()
    );
    html
}

/// Revenue concentration and RFM segments today, as numbers and SVG charts (readable without
/// JavaScript; each chart has a title and a description for screen readers).
/// The dashboard: what the shop's customers are worth and doing, as numbers and SVG charts
/// (readable without JavaScript; each chart has a title and a description for screen readers).
async fn dashboard(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = visitor(&state, &headers).await {
        return r;
    }
    let clock = state.workspace.clock;
    let today = clock.day_number(chrono::Utc::now());
    let result = state
        .run(move |s| {
            Ok((
                enishi_insights::pareto_report(s, today)?,
                enishi_insights::rfm_report(s, today)?,
                enishi_insights::kpis_report(s, today, clock)?,
                enishi_insights::lifecycle(s, today, 5, false)?,
                enishi_insights::revenue_by_month(s, today, 12)?,
            ))
        })
        .await;
    let (pareto, rfm, kpis, lifecycle, months) = match result {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let k = &kpis.kpis;
    let mut body = format!(
        "<h1>Dashboard</h1><div class=\"grid\">\
         <section class=\"card\"><h2>Customers who bought</h2><p class=\"big\">{}</p><p class=\"muted\">{} orders</p></section>\
         <section class=\"card\"><h2>Revenue</h2><p class=\"big\">{:.2}</p><p class=\"muted\">median order {:.2}</p></section>\
         <section class=\"card\"><h2>Repeat customers</h2><p class=\"big\">{:.1}%</p><p class=\"muted\">bought on more than one day</p></section>\
         <section class=\"card\"><h2>Top 20% of customers</h2><p class=\"big\">{:.1}%</p><p class=\"muted\">of revenue · Gini {:.2}</p></section></div>",
        pareto.customers,
        k.orders,
        pareto.revenue,
        k.order_value.median,
        100.0 * k.repeat_purchase_rate,
        100.0 * pareto.top_20_share,
        pareto.gini
    );
    let month_rows: Vec<(String, f64, String)> = months
        .iter()
        .map(|m| (m.month.clone(), m.revenue, format!("{:.0} · {} orders", m.revenue, m.orders)))
        .collect();
    body.push_str(&bar_chart("rev", "Revenue by month", "Revenue of each of the last twelve months", &month_rows));
    let stage_rows: Vec<(String, f64, String)> = lifecycle
        .funnel
        .iter()
        .map(|s| {
            (
                s.stage.as_str().replace('_', " "),
                s.customers as f64,
                format!("{} ({:.1}%)", s.customers, 100.0 * s.share),
            )
        })
        .collect();
    body.push_str(&bar_chart("life", "Lifecycle", "Customers per lifecycle stage, new to lost", &stage_rows));
    if !lifecycle.lapsed.is_empty() {
        body.push_str("<h2>Lapsed customers most worth winning back</h2><table><thead><tr><th>Customer</th><th>Stage</th><th>Silent</th><th>At stake</th></tr></thead><tbody>");
        for l in &lifecycle.lapsed {
            let _ = write!(
                body,
                "<tr><td><a href=\"/customers/{}\">{}</a></td><td>{}</td><td>{} days (usually {:.0})</td><td>{:.2}</td></tr>",
                l.id,
                esc(&l.external_id),
                l.stage.as_str().replace('_', " "),
                l.days_silent,
                l.usual_gap_days,
                l.value_at_stake
            );
        }
        body.push_str("</tbody></table>");
    }
    let segment_rows: Vec<(String, f64, String)> = rfm
        .segments
        .iter()
        .map(|s| (s.label.to_string(), s.customers as f64, format!("{} ({:.1}%)", s.customers, 100.0 * s.share)))
        .collect();
    body.push_str(&bar_chart("seg", "RFM segments", "Customers per RFM segment", &segment_rows));
    body.push_str(&lorenz_chart(&pareto.curve));
    page("Dashboard", &body).into_response()
}

/// A horizontal bar chart: one row per (label, value, text shown after the bar).
fn bar_chart(id: &str, heading: &str, title: &str, rows: &[(String, f64, String)]) -> String {
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max).max(1e-9);
    let row = 26.0;
    let height = row * rows.len() as f64 + 10.0;
    let mut svg = format!(
        "<h2>{}</h2><svg role=\"img\" aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 640 {height}\" width=\"100%\" style=\"max-width:40rem\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        esc(heading),
        esc(title),
        esc(&rows.iter().map(|r| format!("{}: {}", r.0, r.2)).collect::<Vec<_>>().join(", "))
    );
    for (i, (label, value, text)) in rows.iter().enumerate() {
        let y = i as f64 * row + 5.0;
        let w = 300.0 * value.max(0.0) / max;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{:.0}\" font-size=\"13\">{}</text><rect x=\"160\" y=\"{y:.0}\" width=\"{w:.1}\" height=\"18\" fill=\"#5b2a3c\"></rect>\
             <text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\">{}</text>",
            y + 14.0,
            esc(label),
            165.0 + w,
            y + 14.0,
            esc(text)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn lorenz_chart(curve: &[(f64, f64)]) -> String {
    let points: Vec<String> =
        curve.iter().map(|(x, y)| format!("{:.1},{:.1}", 40.0 + 300.0 * x, 310.0 - 300.0 * y)).collect();
    format!(
        "<h2>Revenue concentration</h2><svg role=\"img\" aria-labelledby=\"lor-t lor-d\" viewBox=\"0 0 360 340\" width=\"100%\" style=\"max-width:24rem\">\
         <title id=\"lor-t\">Share of revenue by share of customers, largest first</title><desc id=\"lor-d\">{}</desc>\
         <line x1=\"40\" y1=\"310\" x2=\"340\" y2=\"10\" stroke=\"#bbb\" stroke-dasharray=\"4\"></line>\
         <polyline points=\"{}\" fill=\"none\" stroke=\"#5b2a3c\" stroke-width=\"2\"></polyline>\
         <line x1=\"40\" y1=\"310\" x2=\"340\" y2=\"310\" stroke=\"#222\"></line><line x1=\"40\" y1=\"10\" x2=\"40\" y2=\"310\" stroke=\"#222\"></line>\
         <text x=\"190\" y=\"332\" font-size=\"12\" text-anchor=\"middle\">customers, largest first</text>\
         <text x=\"12\" y=\"160\" font-size=\"12\" transform=\"rotate(-90 12 160)\" text-anchor=\"middle\">revenue</text></svg>",
        esc(&curve.iter().filter(|(x, _)| (x * 20.0).round() as i64 % 4 == 0).map(|(x, y)| format!("top {:.0}%: {:.0}%", 100.0 * x, 100.0 * y)).collect::<Vec<_>>().join(", ")),
        points.join(" ")
    )
}
