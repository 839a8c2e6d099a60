//! The pages everyone uses: the customer list with search and filters, and a
//! customer's 360° page (profile, consent, loyalty, scores, open issues, timeline, and the
//! forms staff use at the till). Server-rendered HTML, no JavaScript.

use crate::console::charts::{bar_chart, heat_table, line_chart};
use crate::console::corrections::RefusedReturn;
use crate::console::format;
use crate::console::i18n::Tr;
use crate::console::names::{language_name, loyal_class_name, segment_name, source_name, stage_name};
use crate::console::shell::{table, ConsoleUser, Visitor};
use crate::console::till::Typed;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use enishi_core::{BusinessClock, Currency, Role};
use enishi_store::repo::customers::ConsentLogEntry;
use enishi_store::repo::loyalty::Entry;
use enishi_store::repo::{customers, history, loyalty, orders, scores};
use enishi_store::{Customer, Interaction, Order, TimelineEntry};
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}", get(customer_page))
        .route("/overview", get(|| async { Redirect::permanent("/") }))
}

/// Loyal-customer share month by month over the last year (7% loyal, 13% semi-loyal, the
/// thresholds frozen a year ago).
pub(crate) fn loyal_trend_chart(tr: Tr, report: &enishi_insights::LoyalReport) -> Markup {
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
pub(crate) fn rfm_grid(tr: Tr, grid: &[[u64; 5]; 5]) -> Markup {
    let columns: Vec<String> = (1..=5).map(|f| format!("F{f}")).collect();
    let rows: Vec<(String, Vec<Option<f64>>)> = grid
        .iter()
        .enumerate()
        .map(|(i, row)| (format!("R{}", 5 - i), row.iter().map(|&n| Some(n as f64)).collect()))
        .collect();
    html! {
        h2 { (tr.t("RFM grid")) }
        (heat_table(
            "rfm-grid",
            tr.t("Customers by recency (R, 5 = most recent) and frequency (F, 5 = most often)"),
            "R \\ F",
            &columns,
            &rows,
            |v| format!("{v:.0}")
        ))
    }
}

/// Customers per lifecycle stage, new to lost.
pub(crate) fn funnel_chart(tr: Tr, lifecycle: &enishi_insights::LifecycleReport) -> Markup {
    let rows: Vec<(String, f64, String)> = lifecycle
        .funnel
        .iter()
        .map(|s| {
            (stage_name(tr, s.stage.as_str()), s.customers as f64, format!("{} ({:.1}%)", s.customers, 100.0 * s.share))
        })
        .collect();
    bar_chart("life", tr.t("Lifecycle"), tr.t("Customers per lifecycle stage, from newcomers to gone quiet"), &rows)
}

/// Customers per RFM segment.
pub(crate) fn segment_chart(tr: Tr, rfm: &enishi_insights::RfmReport) -> Markup {
    let rows: Vec<(String, f64, String)> = rfm
        .segments
        .iter()
        .map(|s| (segment_name(tr, s.label), s.customers as f64, format!("{} ({:.1}%)", s.customers, 100.0 * s.share)))
        .collect();
    bar_chart("seg", tr.t("RFM segments"), tr.t("Customers per RFM segment"), &rows)
}

/// What the last form on a customer's page did, shown at the top of it: a message the server
/// kept for this visitor (`recorded`, see [`crate::console::notices`]) or one of a few fixed ones
/// (`done`). Nothing in the address is shown as it is written.
#[derive(Deserialize)]
struct CustomerPageQuery {
    #[serde(default)]
    recorded: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// Why a customer cannot take a reward now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotYet {
    /// This many more usable points are needed.
    Points(i64),
    /// For paid members only, and the customer is not one.
    MembersOnly,
    /// Taken as many times as a customer may (the limit).
    Limit(i64),
    /// The customer owes this many points.
    Debt(i64),
}

/// A reward of the catalogue that costs points, and why the customer cannot take it now
/// (`None`: they can).
#[derive(Debug, Clone)]
pub(crate) struct Offer {
    /// The reward's id.
    pub(crate) id: String,
    /// Its name.
    pub(crate) name: String,
    /// Its cost in points.
    pub(crate) cost: i64,
    /// Why not now.
    pub(crate) not_yet: Option<NotYet>,
}

/// Everything a customer's page shows.
pub(crate) struct CustomerView {
    customer: Customer,
    timeline: Vec<TimelineEntry>,
    ledger: Vec<Entry>,
    orders: Vec<Order>,
    trail: Vec<ConsentLogEntry>,
    loyalty: Option<enishi_rewards::LoyaltySummary>,
    offers: Vec<Offer>,
    reward_names: std::collections::HashMap<String, String>,
    next: Vec<(String, Option<String>, f64)>,
    scores: Option<enishi_store::CustomerScores>,
    since: Option<i64>,
    open: Vec<Interaction>,
    clock: BusinessClock,
    follow_up: crate::console::follow_up::FollowUp,
    at: chrono::DateTime<chrono::Utc>,
}

/// Why a customer with `summary` cannot take `reward` now, or `None`.
fn not_yet(
    c: &mut dyn enishi_store::Conn,
    id: i64,
    reward: &enishi_loyalty::program::Reward,
    summary: &enishi_rewards::LoyaltySummary,
    now: i64,
) -> Result<Option<NotYet>, enishi_store::StoreError> {
    if reward.members_only && loyalty::current_membership(c, id)?.is_none_or(|m| m.period_end <= now) {
        return Ok(Some(NotYet::MembersOnly));
    }
    if let Some(limit) = reward.per_customer_limit {
        if loyalty::redemptions_of(c, id, &reward.id)? >= limit {
            return Ok(Some(NotYet::Limit(limit)));
        }
    }
    if summary.debt > 0 {
        return Ok(Some(NotYet::Debt(summary.debt)));
    }
    Ok((summary.available < reward.cost).then(|| NotYet::Points(reward.cost - summary.available)))
}

impl CustomerView {
    /// The customer.
    pub(crate) fn customer(&self) -> &Customer {
        &self.customer
    }
}

/// Reads what customer `id`'s page shows, with the programme's names in `lang`; `None` when
/// there is no such customer.
pub(crate) async fn load_customer(
    state: &AppState,
    id: i64,
    lang: enishi_core::Language,
) -> Result<Option<CustomerView>, crate::ApiError> {
    let now = state.now().timestamp();
    let clock = state.workspace().clock;
    state
        .with_programs(false, move |c, programs| {
            let Some(customer) = customers::get(c, id)? else { return Ok(None) };
            let (mut offers, mut reward_names) = (Vec::new(), std::collections::HashMap::new());
            let loyalty = match programs.latest() {
                Some((_, p)) => {
                    let mut l = enishi_rewards::summary(c, programs, id, now)?;
                    crate::console::programme::names_in(&mut l, p, lang);
                    for r in &p.doc.rewards {
                        reward_names.insert(r.id.clone(), r.name_in(lang).to_string());
                        // A reward for a segment the customer is not in is not offered.
                        if r.cost > 0 && enishi_rewards::in_reward_segment(c, programs, id, r, now)? {
                            let not_yet = not_yet(c, id, r, &l, now)?;
                            offers.push(Offer {
                                id: r.id.clone(),
                                name: r.name_in(lang).to_string(),
                                cost: r.cost,
                                not_yet,
                            });
                        }
                    }
                    Some(l)
                }
                None => None,
            };
            Ok(Some(CustomerView {
                customer,
                timeline: history::timeline(c, id, 100, 0)?,
                ledger: loyalty::entries(c, id, 100, 0)?,
                orders: orders::for_customer(c, id, 50, 0)?,
                trail: customers::consent_trail(c, id)?,
                loyalty,
                offers,
                reward_names,
                clock,
                next: scores::recommendations(c, id)?,
                scores: scores::get(c, id)?,
                since: scores::lifecycle_changes(c, id)?.last().map(|x| x.0),
                open: history::open_issues(c, id, 20)?,
                follow_up: crate::console::follow_up::load(c, id, now)?,
                at: enishi_store::instant(now),
            }))
        })
        .await
}

async fn customer_page(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<CustomerPageQuery>,
) -> Response {
    let tr = v.tr();
    let Ok(id) = id.parse::<i64>() else { return v.not_found() };
    let view = match load_customer(&state, id, tr.lang()).await {
        Ok(Some(view)) => view,
        Ok(None) => return v.not_found(),
        Err(e) => return e.into_response(),
    };
    let cur = state.workspace().currency;
    let flash = match (&q.recorded, q.done.as_deref()) {
        (Some(key), _) => state.notices.take(key, v.user.id, id).map(|n| n.text(tr, cur)).unwrap_or_default(),
        (None, Some("interaction")) => tr.t("Interaction recorded.").to_string(),
        (None, Some("resolved")) => tr.t("Marked resolved.").to_string(),
        (None, Some("adjusted")) => tr.t("Points adjusted.").to_string(),
        (None, Some("reversed")) => tr.t("Adjustment reversed.").to_string(),
        (None, Some("redeemed")) => tr.t("Reward redeemed; the coupon is in the loyalty card.").to_string(),
        (None, Some("enrolled")) => tr.t("Customer enrolled.").to_string(),
        (None, Some("edited")) => tr.t("Contact details saved.").to_string(),
        (None, Some("merged")) => tr.t("Records merged into this customer.").to_string(),
        (None, Some("coupon")) => tr.t("Coupon used.").to_string(),
        _ => String::new(),
    };
    customer_html(&v, cur, &view, &flash, &Typed::default()).into_response()
}

/// Customer `id`'s page again after a refused form, with what was typed in `typed`: 422.
pub(crate) async fn page_again(v: &Visitor, state: &AppState, id: i64, typed: &Typed) -> Response {
    match load_customer(state, id, v.tr().lang()).await {
        Ok(Some(view)) => {
            let page = customer_html(v, state.workspace().currency, &view, "", typed);
            (axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
        }
        Ok(None) => v.not_found(),
        Err(e) => e.into_response(),
    }
}

/// Customer `view`'s page for `v`: `flash` at the top (when not empty) and the money and
/// points forms as `typed` has them (what was typed, and why it was not done).
pub(crate) fn customer_html(v: &Visitor, cur: Currency, view: &CustomerView, flash: &str, typed: &Typed) -> Markup {
    let tr = v.tr();
    // Staff work the till: the sale form first, then what the customer holds and what is open.
    let till_first = v.role() == Role::Staff;
    let till_cards = html! {
        (crate::console::follow_up::ask_card(v, view.customer.id, &view.follow_up))
        @if let Some(l) = &view.loyalty { (loyalty_card(v, view, l)) }
        (open_issues_card(v, &view.clock, view.customer.id, &view.open))
    };
    let sale = crate::console::till::purchase_form(tr, cur, view.customer.id, &v.csrf, &typed.till);
    let top = if till_first {
        html! { (sale) div class="grid" id="till-cards" { (till_cards) } }
    } else {
        html! {}
    };
    let cards = html! {
        @if !till_first { (till_cards) }
        (scores_card(tr, cur, view.scores.as_ref(), view.since, view.customer.stats.purchase_days))
        @if !view.next.is_empty() {
            section class="card" id="next-products" {
                h2 { (tr.t("Likely to buy next")) }
                ol { @for (sku, name, _) in &view.next { li { (name.as_deref().unwrap_or(sku)) } } }
            }
        }
        (crate::console::follow_up::follow_up_card(v, view.customer.id, &view.follow_up, view.at))
    };
    let forms = html! {
        @if !till_first { (sale) }
        (crate::console::till::interaction_form(tr, view.customer.id, &v.csrf))
        @if view.loyalty.is_some() {
            (crate::console::till::redeem_form(tr, view.customer.id, &v.csrf, &view.offers))
            @if v.role() != Role::Staff {
                (crate::console::till::adjust_form(tr, view.customer.id, &v.csrf, typed.adjust.as_ref()))
            }
        }
        @if v.role() == Role::Admin { (crate::console::privacy::privacy_card(tr, view.customer.id, &v.csrf)) }
    };
    let body = html! {
        @if !flash.is_empty() { p class="card" role="status" id="flash" { (flash) } }
        // A refused reversal: its adjustment may no longer offer the form (reversed meanwhile).
        @if let Some((_, why)) = &typed.reversal { p class="card" role="alert" id="reversal-error" { (why) } }
        (profile_html(v, cur, view, typed, top, cards, forms))
    };
    v.page(view.customer.name.as_deref().unwrap_or(&view.customer.external_id), body)
}

/// Open issues (open or in progress), the most recent first, each linking to its page (status,
/// assignee, resolution note) and with a button to mark it resolved.
fn open_issues_card(v: &Visitor, clock: &BusinessClock, customer_id: i64, open: &[Interaction]) -> Markup {
    let tr = v.tr();
    html! {
        section class="card" id="open-issues" {
            h2 { (tr.t("Open issues")) }
            @if open.is_empty() { p class="muted" { (tr.t("Nothing open.")) } }
            @for i in open {
                p {
                    span class="kind" { (tr.word(i.kind.as_str())) } " " a href={ "/interactions/" (i.id) } { (i.body) } " "
                    span class="muted" {
                        (format::local_date(tr, clock, i.occurred_at)) " · " (tr.word(i.status.as_str()))
                        @if let Some(u) = &i.assignee { " · " (u.name) }
                    } br;
                    form method="post" action={ "/customers/" (customer_id) "/interactions/" (i.id) "/resolve" } class="inline" {
                        input type="hidden" name="csrf" value=(v.csrf);
                        button { (tr.t("Mark resolved")) }
                    }
                }
            }
        }
    }
}

/// One line of a customer's timeline as the page shows it.
struct Line {
    at: chrono::DateTime<chrono::Utc>,
    kind: String,
    summary: String,
    amount: Option<enishi_core::Amount>,
    points: Option<i64>,
    status: Option<String>,
    /// A manual adjustment not reversed yet: its ledger entry, for the "reverse" form.
    reversible: Option<i64>,
}

/// Who made a ledger entry, from its detail (`by`), when it says.
fn entry_actor(e: &Entry) -> Option<String> {
    let detail: serde_json::Value = serde_json::from_str(&e.detail).ok()?;
    detail.get("by").and_then(|b| b.as_str()).map(String::from)
}

/// A ledger entry's reason: the engine's own reasons in words of the page's language, the
/// ones people typed as they typed them.
fn reason_text(tr: Tr, reason: &str) -> String {
    match reason {
        "birthday" => tr.t("Birthday reward").to_string(),
        "joined" => tr.t("Welcome perk for joining").to_string(),
        "referred by a customer" => tr.t("Referred by a customer").to_string(),
        "referred a new customer" => tr.t("Referred a new customer").to_string(),
        other => other.to_string(),
    }
}

/// The timeline's lines: orders, returns, messages, interactions and merges, with the points
/// ledger's entries (each with its reason and who made it), newest first.
fn timeline_lines(tr: Tr, clock: &BusinessClock, timeline: &[TimelineEntry], ledger: &[Entry]) -> Vec<Line> {
    let mut lines: Vec<Line> = timeline
        .iter()
        .map(|e| {
            let summary = match e.kind.as_str() {
                "order" => tr.f("Order {}", &[&e.summary.trim_start_matches("Order ")]),
                "return" => tr.f("Return {}", &[&e.summary.trim_start_matches("Return ")]),
                "merge" => tr.f("Customer {} merged into this one", &[&e.summary.trim_start_matches("Merged ")]),
                // Their ids, to link them to a change (docs/listening.md, "Closing the loop").
                "survey" | "review" => format!("{} · #{}", e.summary, e.id),
                _ => e.summary.clone(),
            };
            Line {
                at: e.at,
                kind: tr.word(&e.kind),
                summary,
                amount: e.amount,
                points: None,
                status: e.status.as_deref().map(|s| tr.word(s)),
                reversible: None,
            }
        })
        .collect();
    // Adjustments reversed, by the entry that reversed them.
    let reversals: std::collections::HashMap<i64, &Entry> =
        ledger.iter().filter_map(|e| Some((enishi_rewards::reversed_entry(e)?, e))).collect();
    for e in ledger {
        let reverses = enishi_rewards::reversed_entry(e);
        let mut summary = match (&e.reason, e.source.as_str(), &e.source_ref) {
            (Some(reason), _, _) if reverses.is_some() => tr.f(
                "Reverses an adjustment of {}: {}",
                &[
                    &ledger
                        .iter()
                        .find(|o| Some(o.id) == reverses)
                        .map_or("?".to_string(), |o| format!("{:+}", o.points)),
                    &reason_text(tr, reason),
                ],
            ),
            (Some(reason), _, _) if e.kind != "merge" => reason_text(tr, reason),
            (_, "merge", Some(r)) => tr.f("Customer {} merged into this one", &[r]),
            (_, "order" | "promotion", Some(r)) => tr.f("Order {}", &[r]),
            (_, "return", Some(r)) => tr.f("Return {}", &[r]),
            (_, "reward", Some(r)) => tr.f("Reward {}", &[r]),
            (_, source, Some(r)) => format!("{} {r}", tr.word(source)),
            (_, source, None) => tr.word(source),
        };
        if let Some(by) = entry_actor(e) {
            summary = tr.f("{} · by {}", &[&summary, &by]);
        }
        // Said in the summary, which phones show too (they leave the later columns out).
        let reversed = reversals.get(&e.id);
        if let Some(r) = reversed {
            let on = format::local_date(tr, clock, enishi_store::instant(r.occurred_at));
            summary = tr.f("{} · reversed {}", &[&summary, &on]);
        }
        let reversible = (e.kind == "adjust" && reverses.is_none() && reversed.is_none()).then_some(e.id);
        lines.push(Line {
            at: enishi_store::instant(e.occurred_at),
            kind: tr.f("Points: {}", &[&tr.word(&e.kind)]),
            summary,
            amount: None,
            points: Some(e.points),
            status: None,
            reversible,
        });
    }
    lines.sort_by_key(|l| std::cmp::Reverse(l.at));
    lines
}

/// The customer's orders, newest first, each opening to its lines (and, for owners and
/// marketers, to the forms that void or refund it).
fn orders_html(
    v: &Visitor,
    cur: Currency,
    clock: &BusinessClock,
    customer_id: i64,
    orders: &[Order],
    refused: Option<&RefusedReturn>,
) -> Markup {
    let tr = v.tr();
    html! {
        section id="orders" {
            h2 { (tr.t("Orders")) }
            @if orders.is_empty() { p class="muted" { (tr.t("No orders yet.")) } }
            @for o in orders {
                @let refused = refused.filter(|r| r.order_id == o.id);
                details class="order" id={ "order-" (o.id) } open[refused.is_some()] {
                    summary {
                        (format::local_time(tr, clock, o.placed_at)) " · " (o.order_id) " · " strong { (cur.format(o.total)) }
                        " · " (tr.word(o.channel.as_str())) " · " (tr.word(&o.status))
                        @if !o.returned_amount.is_zero() { " · " (tr.f("returned {}", &[&cur.format(o.returned_amount)])) }
                    }
                    (table(None, None, &[tr.t("Item"), tr.t("Name"), tr.t("Category"), tr.t("Quantity"), tr.t("Unit price"), tr.t("Amount")], html! {
                        @for l in &o.lines {
                            tr {
                                td { code { (l.sku) } }
                                td { (l.product_name.as_deref().unwrap_or("")) }
                                td { (l.category.as_deref().unwrap_or("")) }
                                td { (l.quantity) }
                                td { (cur.format(l.unit_price)) }
                                td { (cur.format(l.amount)) }
                            }
                        }
                    }))
                    @if v.role() != Role::Staff {
                        (crate::console::corrections::return_forms(tr, cur, customer_id, &v.csrf, o, refused))
                    }
                }
            }
        }
    }
}

/// A customer's profile: under the name, `top` (the till's sale form and cards, for staff),
/// then contact, consent and purchase cards, `extra_cards` in the same grid, then `forms`,
/// the orders and the timeline (times in the business time zone).
fn profile_html(
    v: &Visitor,
    cur: Currency,
    view: &CustomerView,
    typed: &Typed,
    top: Markup,
    extra_cards: Markup,
    forms: Markup,
) -> Markup {
    let tr = v.tr();
    let c = &view.customer;
    let clock = &view.clock;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let address = format::address(tr, &c.address);
    let day =
        |d: Option<chrono::DateTime<chrono::Utc>>| d.map_or("—".to_string(), |d| format::local_date(tr, clock, d));
    let lines = timeline_lines(tr, clock, &view.timeline, &view.ledger);
    let manager = v.role() != Role::Staff;
    html! {
        h1 { (c.name.as_deref().unwrap_or(&c.external_id)) }
        @if let Some(f) = &c.furigana { p class="furigana" lang="ja" { (f) } }
        p class="muted" { (tr.f("Customer {} · first seen {}", &[&c.external_id, &format::local_date(tr, clock, c.first_seen_at)])) }
        (top)
        div class="grid" {
            section class="card" id="contact" {
                h2 { (tr.t("Contact")) }
                p {
                    (tr.t("Email")) ": " (opt(&c.email)) br;
                    (tr.t("Phone")) ": " (c.phone.as_deref().map_or("—".to_string(), format::phone)) br;
                    (tr.t("Address")) ": " (address.unwrap_or_else(|| "—".into())) br;
                    (tr.t("Birthday")) ": " (c.birthday.map_or("—".to_string(), |d| format::date(tr, d))) br;
                    (tr.t("Language")) ": " (c.locale.as_deref().map_or("—".to_string(), |l| language_name(tr, l)))
                }
                p {
                    a href={ "/customers/" (c.id) "/edit" } id="edit-contact-link" { (tr.t("Edit contact and consent")) }
                    " · " a href={ "/customers/" (c.id) "/card" } id="print-card-link" { (tr.t("Print member card")) }
                    @if v.role() != Role::Staff {
                        " · " a href={ "/customers/" (c.id) "/merge" } id="merge-link" { (tr.t("Merge a duplicate record")) }
                    }
                }
            }
            section class="card" id="consent" {
                h2 { (tr.t("Consent")) }
                ul {
                    @for ch in enishi_core::ConsentChannel::ALL {
                        @let status = c.consents.iter().find(|x| x.channel == *ch);
                        li {
                            (tr.word(ch.as_str())) ": " strong { (tr.word(status.map_or("unknown", |s| s.status.as_str()))) }
                            @if let Some(s) = status {
                                " " span class="muted" { "(" (format::local_date(tr, clock, s.changed_at)) (tr.t(", ")) (source_name(tr, &s.source)) ")" }
                            }
                        }
                    }
                }
                @if !view.trail.is_empty() {
                    details id="consent-history" {
                        summary { (tr.f("Consent history ({})", &[&view.trail.len()])) }
                        (crate::console::people::consent_trail(tr, clock, &view.trail))
                    }
                }
            }
            section class="card" {
                h2 { (tr.t("Purchases")) }
                p {
                    (tr.t("Orders")) ": " (c.stats.order_count) br;
                    (tr.t("Purchase days")) ": " (c.stats.purchase_days) br;
                    (tr.t("Spend")) ": " (cur.format(c.stats.total_spend)) br;
                    (tr.t("Returned")) ": " (cur.format(c.stats.returned_amount)) br;
                    (tr.t("First order")) ": " (day(c.stats.first_order_at)) br;
                    (tr.t("Last order")) ": " (day(c.stats.last_order_at))
                }
            }
            (extra_cards)
        }
        (forms)
        (orders_html(v, cur, clock, c.id, &view.orders, typed.ret.as_ref()))
        h2 { (tr.t("Timeline")) }
        (table(Some("timeline"), None, &[&tr.f("When ({})", &[&format::zone_name(tr, clock)]), tr.t("What"), tr.t("Summary"), tr.t("Amount"), tr.t("Points"), tr.t("Status")], html! {
            @for e in &lines {
                tr {
                    td { (format::local_time(tr, clock, e.at)) }
                    td { span class="kind" { (e.kind) } }
                    td {
                        (e.summary)
                        @if let (Some(entry), true) = (e.reversible, manager) {
                            @let open = typed.reversal.as_ref().is_some_and(|r| r.0 == entry);
                            (crate::console::corrections::reverse_form(tr, c.id, entry, &v.csrf, open))
                        }
                    }
                    td { (e.amount.map(|a| cur.format(a)).unwrap_or_default()) }
                    td { @if let Some(p) = e.points { (format!("{p:+}")) } }
                    td { (e.status.clone().unwrap_or_default()) }
                }
            }
        }))
        @if lines.is_empty() { p { (tr.t("Nothing yet.")) } }
    }
}

/// The scores card: RFM segment, lifecycle stage and since when, P(alive) (for customers who
/// came back at least once), CLV; empty before any analysis has scored the customer.
fn scores_card(
    tr: Tr,
    cur: Currency,
    scores: Option<&enishi_store::CustomerScores>,
    since: Option<i64>,
    purchase_days: i64,
) -> Markup {
    let Some(s) = scores else { return html! {} };
    html! {
        section class="card" id="scores" {
            h2 { (tr.t("Scores")) }
            p {
                @if let Some(r) = &s.rfm {
                    "RFM: " strong { (segment_name(tr, &r.segment)) } " (" (r.r) (r.f) (r.m) ")" br;
                }
                @if let Some(class) = &s.loyal_class {
                    (tr.t("Loyal class")) ": " strong { (loyal_class_name(tr, class)) } br;
                }
                @if let Some(stage) = &s.lifecycle_stage {
                    (tr.t("Lifecycle")) ": " strong { (stage_name(tr, stage)) }
                    @if let Some(day) = since { " " (tr.f("since {}", &[&format::date(tr, enishi_core::time::date_of_day(day))])) }
                    br;
                }
                @if let Some(v) = &s.value {
                    @if purchase_days < 2 {
                        // BG/NBD assumes a customer who never came back is still alive: say so instead.
                        "P(alive): — " span class="muted" { "(" (tr.t("one purchase day: too early to tell")) ")" } br;
                    } @else if v.p_alive.is_finite() {
                        "P(alive): " (format!("{:.0}%", 100.0 * v.p_alive)) " "
                        span class="muted" id="p-alive-meaning" { "(" (tr.t("the chance they are still a customer who will buy again")) ")" } br;
                    }
                    @if v.clv.is_finite() { (tr.t("Predicted value (12 months)")) ": " (cur.format_f64(v.clv)) }
                }
            }
        }
    }
}

/// The loyalty card: points, tier, stamp cards, and the coupons that can be used, each by its
/// reward's name with a "use" button.
fn loyalty_card(v: &Visitor, view: &CustomerView, l: &enishi_rewards::LoyaltySummary) -> Markup {
    let tr = v.tr();
    let usable: Vec<&enishi_store::repo::loyalty::Coupon> = l.coupons.iter().filter(|c| c.uses < c.max_uses).collect();
    html! {
        section class="card" id="loyalty" {
            h2 { (tr.t("Loyalty")) }
            p {
                (tr.t("Balance")) ": " strong data-balance=(l.balance) { (tr.f("{} points", &[&l.balance])) } br;
                (tr.t("Usable now")) ": " (l.available) br;
                (tr.t("Pending (return window)")) ": " (l.pending)
                @if l.debt > 0 { br; strong { (tr.f("Owes {} points (redemption blocked)", &[&l.debt])) } }
                @for e in &l.expiring_soon { br; (tr.f("Expiring {}: {} points", &[&e.date, &e.points])) }
                @if let Some(t) = &l.tier {
                    br; (tr.t("Tier")) ": " strong { (t.name) }
                    @if let Some(n) = &t.next {
                        " " span class="muted" { "(" (tr.f("{} more to {}", &[&n.missing, &n.name])) ")" }
                    }
                }
                @for c in &l.stamp_cards { br; (c.name) ": " (tr.f("{} of {} stamps", &[&c.stamps, &c.of])) }
                br; (tr.t("Referral code")) ": " code { (l.referral_code) } " · " (tr.f("referred {}", &[&l.referrals]))
            }
            @if !usable.is_empty() {
                p { (tr.t("Coupons")) ":" }
                ul id="coupons" {
                    @for c in usable {
                        li {
                            strong { (view.reward_names.get(&c.reward_id).map_or(c.reward_id.as_str(), String::as_str)) } " "
                            code { (c.code) } " "
                            span class="muted" {
                                (tr.f("until {}", &[&format::local_date(tr, &view.clock, enishi_store::instant(c.valid_until))]))
                                @if c.max_uses > 1 { " · " (tr.f("{} of {} uses left", &[&(c.max_uses - c.uses), &c.max_uses])) }
                            } " "
                            (crate::console::till::use_coupon_form(tr, view.customer.id, &v.csrf, &c.code))
                        }
                    }
                }
            }
        }
    }
}
