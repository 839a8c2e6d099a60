//! The console's campaigns (owners and marketers): the list (state, audience, sent,
//! conversions), the wizard — one form in steps: audience, channel, versions with their
//! templates and split, holdout, goal and attribution window, cost, mailing and version, and
//! when to send — and a campaign's results: per variant and the holdout, with the uplift and its
//! 95% interval, a chart, and the versions of the same mailing side by side. A postal
//! campaign's page gives the print shop's list and records the letters as posted.

use crate::console::charts::bar_chart;
use crate::console::format;
use crate::console::i18n::Tr;
use crate::console::shell::{carries_csrf, table, urlencode, ConsoleManager, ForManagers, Posted, Quoted, Visitor};
use crate::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_campaigns::campaigns as ops;
use enishi_campaigns::definition::{Audience, Definition, Goal};
use enishi_campaigns::results::{self, ArmDelivery, ArmResult, Results};
use enishi_core::{Amount, BusinessClock, Currency};
use enishi_store::repo::campaigns::{self as repo, Campaign, CampaignState};
use enishi_store::repo::segments as segments_repo;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list_page))
        .route("/campaigns/new", get(new_page).post(submit_new))
        .route("/campaigns/{name}", get(campaign_page))
        .route("/campaigns/{name}/start", post(start))
        .route("/campaigns/{name}/cancel", post(cancel))
        .route("/campaigns/{name}/letters.csv", get(letters))
        .route("/campaigns/{name}/confirm", post(confirm))
}

/// The campaign pages: for owners and marketers.
pub(crate) struct CampaignPages;

impl ForManagers for CampaignPages {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Campaigns are for owners and marketers.")
    }
}

/// Versions the wizard offers.
const VARIANT_ROWS: usize = 3;

/// A campaign state in the visitor's language.
fn state_name(tr: Tr, s: CampaignState) -> String {
    tr.word(s.as_str())
}

/// A channel in the visitor's language.
fn channel_name(tr: Tr, channel: &str) -> &'static str {
    match channel {
        "email" => tr.t("Email"),
        "postal" => tr.t("Letter (postal)"),
        "webhook" => tr.t("Webhook (LINE, SMS)"),
        _ => tr.t("Call list"),
    }
}

/// A reason a customer was skipped (`no_consent`, …), in the visitor's language.
fn reason_name(tr: Tr, reason: &str) -> String {
    tr.word(reason)
}

fn audience_text(tr: Tr, d: &Definition) -> String {
    match &d.audience {
        Audience::Segment(n) => tr.f("segment \"{}\"", &[n]),
        Audience::List(n) => tr.f("list \"{}\"", &[n]),
        Audience::Journey(n) => tr.f("journey \"{}\"", &[n]),
    }
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A campaign on the list: its sent messages and conversions as of now.
struct Listed {
    campaign: Campaign,
    audience: String,
    sent: i64,
    conversions: i64,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    created: Option<String>,
}

async fn list_page(
    ConsoleManager(v, _): ConsoleManager<CampaignPages>,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Response {
    let tr = v.tr();
    let clock = state.workspace().clock;
    let rows = state
        .run(move |s| {
            s.read(|c| {
                let mut rows = Vec::new();
                for k in repo::list(c)?.into_iter().take(200) {
                    let d = ops::definition(&k).map_err(ApiError::internal)?;
                    let r = results::results(c, &k).map_err(ApiError::internal)?;
                    let sent = r.statuses.iter().filter(|s| s.status == "sent").map(|s| s.count).sum();
                    rows.push(Listed {
                        audience: audience_text(tr, &d),
                        sent,
                        conversions: r.total.conversions,
                        campaign: k,
                    });
                }
                Ok(rows)
            })
        })
        .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return e.into_response(),
    };
    let heads = [
        tr.t("Campaign"),
        tr.t("State"),
        tr.t("Audience"),
        tr.t("Channel"),
        tr.t("Messages sent"),
        tr.t("Conversions"),
        tr.t("Send time"),
    ];
    let body = html! {
        h1 { (tr.t("Campaigns")) }
        @if let Some(name) = &q.created { p class="card" role="status" id="flash" { (tr.f("Created campaign \"{}\".", &[name])) } }
        p { a href="/campaigns/new" id="new-campaign" { (tr.t("New campaign")) } " · " a href="/templates" id="templates-link" { (tr.t("Message templates")) } " · " a href="/journeys" id="journeys-link" { (tr.t("Journeys")) } }
        @if rows.is_empty() {
            p { (tr.t("No campaigns yet.")) }
        } @else {
            (table(Some("campaigns"), None, &heads, html! {
                @for r in &rows {
                    tr {
                        td {
                            a href={ "/campaigns/" (urlencode(&r.campaign.name)) } { (r.campaign.name) }
                            @if !r.campaign.version.is_empty() { br; span class="muted" { (r.campaign.mailing) " · " (r.campaign.version) } }
                        }
                        td { (state_name(tr, r.campaign.state)) }
                        td { (r.audience) }
                        td { (channel_name(tr, &r.campaign.channel)) }
                        td { (r.sent) }
                        td { (r.conversions) }
                        td { @if let Some(at) = r.campaign.send_at { (format::local_time(tr, &clock, enishi_store::instant(at))) } }
                    }
                }
            }))
        }
    };
    v.page(tr.t("Campaigns"), body).into_response()
}

/// The wizard's fields, as typed.
#[derive(Default, Deserialize)]
#[serde(default)]
struct WizardForm {
    csrf: String,
    name: String,
    mailing: String,
    version: String,
    channel: String,
    /// `segment:NAME` or `list:NAME`.
    audience: String,
    key_1: String,
    template_1: String,
    share_1: String,
    key_2: String,
    template_2: String,
    share_2: String,
    key_3: String,
    template_3: String,
    share_3: String,
    holdout: String,
    goal: String,
    goal_value: String,
    attribution_days: String,
    cost: String,
    sender_name: String,
    sender_email: String,
    webhook_url: String,
    /// `draft`, `now` or `at`.
    when: String,
    /// A local date-time in the business time zone (`2026-12-05T10:00`).
    at: String,
}

carries_csrf!(WizardForm);

impl WizardForm {
    fn fresh() -> WizardForm {
        WizardForm {
            channel: "email".into(),
            key_1: "A".into(),
            share_1: "100".into(),
            key_2: "B".into(),
            key_3: "C".into(),
            holdout: "10".into(),
            goal: "purchase".into(),
            attribution_days: "14".into(),
            when: "draft".into(),
            ..WizardForm::default()
        }
    }

    fn variant(&self, i: usize) -> (&str, &str, &str) {
        match i {
            0 => (&self.key_1, &self.template_1, &self.share_1),
            1 => (&self.key_2, &self.template_2, &self.share_2),
            _ => (&self.key_3, &self.template_3, &self.share_3),
        }
    }

    /// The campaign document the form describes, or the field that cannot be read and why.
    fn document(&self, tr: Tr) -> Result<Value, String> {
        let whole = |field: &str, text: &str, what: &str| -> Result<u32, String> {
            text.trim()
                .parse::<u32>()
                .map_err(|_| format!("{field}: {}", tr.f("'{}' is not a whole number of {}", &[&text, &what])))
        };
        let mut d = json!({"name": self.name.trim(), "channel": self.channel});
        if !self.mailing.trim().is_empty() {
            d["mailing"] = self.mailing.trim().into();
        }
        d["version"] = self.version.trim().into();
        d["audience"] = match self.audience.split_once(':') {
            Some(("segment", n)) => json!({"segment": n}),
            Some(("list", n)) => json!({"list": n}),
            _ => return Err(format!("audience: {}", tr.t("choose a segment or a list"))),
        };
        let mut variants = Vec::new();
        for i in 0..VARIANT_ROWS {
            let (key, template, share) = self.variant(i);
            if share.trim().is_empty() && template.trim().is_empty() {
                continue;
            }
            let field = format!("variants[{}].share", variants.len());
            let mut v = json!({"key": key.trim(), "share": whole(&field, share, tr.t("percent"))?});
            if !template.trim().is_empty() {
                v["template"] = template.trim().into();
            }
            variants.push(v);
        }
        d["variants"] = variants.into();
        d["holdout_percent"] = whole("holdout_percent", &self.holdout, tr.t("percent"))?.into();
        d["goal"] = match self.goal.as_str() {
            "sku" => json!({"kind": "sku", "sku": self.goal_value.trim()}),
            "category" => json!({"kind": "category", "category": self.goal_value.trim()}),
            _ => json!({"kind": "purchase"}),
        };
        d["attribution_days"] = whole("attribution_days", &self.attribution_days, tr.t("days"))?.into();
        if !self.cost.trim().is_empty() {
            d["cost_per_message"] = self.cost.trim().into();
        }
        d["sender"] = json!({"name": self.sender_name.trim(), "email": self.sender_email.trim()});
        if !self.webhook_url.trim().is_empty() {
            d["webhook_url"] = self.webhook_url.trim().into();
        }
        Ok(d)
    }
}

/// What the wizard offers to choose from.
struct Choices {
    segments: Vec<String>,
    lists: Vec<String>,
    templates: Vec<(String, String)>,
}

async fn choices(state: &AppState) -> Result<Choices, ApiError> {
    state
        .run(|s| {
            Ok(s.read(|c| -> Result<Choices, enishi_store::StoreError> {
                Ok(Choices {
                    segments: segments_repo::list(c)?.into_iter().map(|x| x.name).collect(),
                    lists: segments_repo::lists(c)?.into_iter().map(|x| x.name).collect(),
                    templates: repo::templates(c)?.into_iter().map(|t| (t.name, t.locale)).collect(),
                })
            })?)
        })
        .await
}

async fn new_page(ConsoleManager(v, _): ConsoleManager<CampaignPages>, State(state): State<AppState>) -> Response {
    match choices(&state).await {
        Ok(ch) => {
            let tz = state.workspace().clock;
            v.page(v.tr().t("New campaign"), wizard(&v, &WizardForm::fresh(), &ch, &tz, None)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn submit_new(
    ConsoleManager(v, _): ConsoleManager<CampaignPages>,
    State(state): State<AppState>,
    Posted(f): Posted<WizardForm>,
) -> Response {
    let tr = v.tr();
    let w = state.workspace();
    let refused = |message: String, ch: &Choices| {
        let page = v.page(tr.t("New campaign"), wizard(&v, &f, ch, &w.clock, Some(&message)));
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    };
    let ch = match choices(&state).await {
        Ok(ch) => ch,
        Err(e) => return e.into_response(),
    };
    let document = match f.document(tr) {
        Ok(d) => d.to_string(),
        Err(m) => return refused(m, &ch),
    };
    let send_at = match f.when.as_str() {
        "at" => match w.clock.parse_timestamp(&f.at) {
            Ok(t) => Some(t.timestamp()),
            Err(e) => return refused(format!("{}: {}", tr.t("Send time"), e.0), &ch),
        },
        _ => None,
    };
    let start_now = f.when == "now";
    let actor = v.actor();
    let made = state
        .run(move |s| {
            Ok(s.write(|c| {
                let k = ops::create(c, &document, w.currency)?;
                let after = json!({"channel": k.channel});
                crate::audit::record(c, &actor, "campaign.create", &k.name, Some(after))?;
                if let Some(at) = send_at {
                    ops::schedule(c, &k, at)?;
                } else if start_now {
                    ops::start(c, &k, &w.clock)?;
                }
                Ok::<_, enishi_campaigns::Error>(k.name)
            }))
        })
        .await;
    match made {
        Ok(Ok(name)) => Redirect::to(&format!("/campaigns/{}", urlencode(&name))).into_response(),
        Ok(Err(e)) if e.is_users() => refused(e.to_string(), &ch),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The wizard: one form in numbered steps, with what was typed and a refusal.
fn wizard(v: &Visitor, f: &WizardForm, ch: &Choices, clock: &BusinessClock, error: Option<&str>) -> Markup {
    let tr = v.tr();
    let channels = [
        ("email", tr.t("Email")),
        ("postal", tr.t("Letter (postal)")),
        ("webhook", tr.t("Webhook (LINE, SMS)")),
        ("call", tr.t("Call list")),
    ];
    let goals =
        [("purchase", tr.t("Any purchase")), ("sku", tr.t("A product (SKU)")), ("category", tr.t("A category"))];
    let whens = [("draft", tr.t("Keep as a draft")), ("now", tr.t("Start now")), ("at", tr.t("At a date and time"))];
    html! {
        h1 { (tr.t("New campaign")) }
        p { a href="/campaigns" { (tr.t("Campaigns")) } }
        @if let Some(e) = error {
            p class="card" role="alert" id="campaign-error" { strong { (tr.t("Not created.")) } " " (Quoted(&tr.message(e))) }
        }
        form method="post" action="/campaigns/new" id="wizard" {
            input type="hidden" name="csrf" value=(v.csrf);
            fieldset class="card step" id="step-audience" {
                legend { (tr.t("1. Who")) }
                p { label { (tr.t("Audience")) " "
                    select name="audience" required {
                        option value="" { (tr.t("Choose…")) }
                        @if !ch.segments.is_empty() {
                            optgroup label=(tr.t("Segments")) {
                                @for n in &ch.segments {
                                    @let value = format!("segment:{n}");
                                    option value=(value) selected[f.audience == value] { (n) }
                                }
                            }
                        }
                        @if !ch.lists.is_empty() {
                            optgroup label=(tr.t("Lists")) {
                                @for n in &ch.lists {
                                    @let value = format!("list:{n}");
                                    option value=(value) selected[f.audience == value] { (n) }
                                }
                            }
                        }
                    }
                } }
                p class="muted" { (tr.t("Only customers who opted in on the channel get a message; the others are recorded as skipped with the reason.")) }
            }
            fieldset class="card step" id="step-message" {
                legend { (tr.t("2. What")) }
                p { label { (tr.t("Channel")) " "
                    select name="channel" {
                        @for (value, label) in channels { option value=(value) selected[f.channel == value] { (label) } }
                    }
                } }
                (table(Some("variant-rows"), Some("keep"), &[tr.t("Version"), tr.t("Template"), tr.t("Share (%)")], html! {
                    @for i in 0..VARIANT_ROWS {
                        @let (key, template, share) = f.variant(i);
                        @let n = i + 1;
                        tr {
                            td { input name={ "key_" (n) } value=(key) size="6" aria-label=(tr.t("Version")); }
                            td {
                                select name={ "template_" (n) } aria-label=(tr.t("Template")) {
                                    option value="" { (tr.t("(none)")) }
                                    @for (t, locale) in &ch.templates {
                                        option value=(t) selected[template == t] { (t) " (" (locale) ")" }
                                    }
                                }
                            }
                            td { input name={ "share_" (n) } value=(share) size="4" inputmode="numeric" aria-label=(tr.t("Share (%)")); }
                        }
                    }
                }))
                p class="muted" { (tr.t("Leave a row's template and share empty to leave it out; the shares add up to 100.")) " " a href="/templates" { (tr.t("Message templates")) } }
                p { label { (tr.t("Webhook address (webhook channel)")) " " input name="webhook_url" value=(f.webhook_url); } }
                p {
                    label { (tr.t("Sender's name")) " " input name="sender_name" value=(f.sender_name); } " "
                    label { (tr.t("From address")) " " input name="sender_email" type="email" value=(f.sender_email); }
                }
            }
            fieldset class="card step" id="step-measure" {
                legend { (tr.t("3. How it is measured")) }
                p { label { (tr.t("Holdout (%)")) " " input name="holdout" value=(f.holdout) inputmode="numeric" size="4"; } }
                p {
                    label { (tr.t("Goal")) " "
                        select name="goal" {
                            @for (value, label) in goals { option value=(value) selected[f.goal == value] { (label) } }
                        }
                    } " "
                    label { (tr.t("SKU or category")) " " input name="goal_value" value=(f.goal_value); }
                }
                p { label { (tr.t("Attribution window (days)")) " " input name="attribution_days" value=(f.attribution_days) inputmode="numeric" size="4"; } }
                p { label { (tr.t("Cost per message")) " " input name="cost" value=(f.cost) inputmode="decimal" size="8"; } }
                p {
                    label { (tr.t("Mailing")) " " input name="mailing" value=(f.mailing); } " "
                    label { (tr.t("Version label")) " " input name="version" value=(f.version) size="8"; }
                }
                p class="muted" { (tr.t("Versions of the same mailing are compared on the results page (coffee DM v1 and v2).")) }
            }
            fieldset class="card step" id="step-send" {
                legend { (tr.t("4. When")) }
                p { label { (tr.t("Campaign name")) " " input name="name" required maxlength="120" value=(f.name); } }
                @for (value, label) in whens {
                    label { input type="radio" name="when" value=(value) checked[f.when == value]; " " (label) }
                }
                p { label { (tr.f("Date and time ({})", &[&format::zone_name(tr, clock)])) " " input type="datetime-local" name="at" value=(f.at); } }
                p { button id="create-campaign" { (tr.t("Create campaign")) } }
            }
        }
    }
}

/// A campaign's page: what it is, what it did, and every version of its mailing.
struct CampaignView {
    campaign: Campaign,
    definition: Definition,
    results: Results,
    deliveries: Vec<ArmDelivery>,
    versions: Vec<Results>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct CampaignQuery {
    posted: Option<usize>,
}

async fn campaign_page(
    ConsoleManager(v, _): ConsoleManager<CampaignPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<CampaignQuery>,
) -> Response {
    let found = state
        .run(move |s| {
            Ok(s.read(|c| {
                let Some(k) = repo::by_name(c, &name)? else { return Ok(None) };
                let definition = ops::definition(&k)?;
                let results = results::results(c, &k)?;
                let deliveries = results::deliveries(c, &k)?;
                let versions = results::versions(c, &k.mailing)?;
                Ok::<_, enishi_campaigns::Error>(Some(CampaignView {
                    campaign: k,
                    definition,
                    results,
                    deliveries,
                    versions,
                }))
            }))
        })
        .await;
    match found {
        Ok(Ok(Some(view))) => {
            let w = state.workspace();
            let body = campaign_body(&v, &view, w.currency, &w.clock, q.posted);
            v.page(&view.campaign.name, body).into_response()
        }
        Ok(Ok(None)) => v.not_found(),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => e.into_response(),
    }
}

fn goal_text(tr: Tr, g: &Goal) -> String {
    match g {
        Goal::Purchase => tr.t("Any purchase").to_string(),
        Goal::Sku { sku } => tr.f("a purchase of {}", &[sku]),
        Goal::Category { category } => tr.f("a purchase in {}", &[category]),
    }
}

fn money(cur: Currency, text: &str) -> String {
    text.parse::<Amount>().map(|a| cur.format(a)).unwrap_or_else(|_| text.to_string())
}

/// One row of the results table.
fn arm_row(tr: Tr, cur: Currency, a: &ArmResult, d: Option<&ArmDelivery>) -> Markup {
    let label = match a.arm.as_str() {
        "holdout" => tr.t("Holdout").to_string(),
        "all" => tr.t("All versions").to_string(),
        key => key.to_string(),
    };
    let dash = || "–".to_string();
    html! {
        tr class={ "arm-" (a.arm) } {
            th scope="row" { (label) }
            td { (a.members) }
            td { (a.conversions) }
            td { (percent(a.conversion_rate)) }
            td { (d.map_or_else(dash, |d| d.sent.to_string())) }
            td { (d.map_or_else(dash, |d| d.failed.to_string())) }
            td { (d.map_or_else(dash, |d| d.unsubscribed.to_string())) }
            td { (money(cur, &a.revenue)) }
            td class="uplift" {
                @match &a.uplift {
                    Some(u) => (format!("{:+.1} pt ({:+.1} – {:+.1})", u.difference * 100.0, u.low * 100.0, u.high * 100.0)),
                    None => "–",
                }
            }
            td { @match &a.uplift { Some(u) => (format!("{:.3}", u.p_value)), None => "–" } }
            td { (money(cur, &a.cost)) }
            td { @match a.roi { Some(r) => (format!("{:.0}%", r * 100.0)), None => "–" } }
            td { @match a.median_hours_to_convert { Some(h) => (tr.f("{} h", &[&format!("{h:.1}")])), None => "–" } }
        }
    }
}

fn results_heads(tr: Tr) -> [&'static str; 13] {
    [
        tr.t("Version"),
        tr.t("Members"),
        tr.t("Conversions"),
        tr.t("Rate"),
        tr.t("Messages sent"),
        tr.t("Failures"),
        tr.t("Unsubscribed"),
        tr.t("Revenue"),
        tr.t("Uplift (95% CI)"),
        tr.t("p-value"),
        tr.t("Cost"),
        tr.t("ROI"),
        tr.t("Time to conversion (median)"),
    ]
}

fn campaign_body(
    v: &Visitor,
    view: &CampaignView,
    cur: Currency,
    clock: &BusinessClock,
    posted: Option<usize>,
) -> Markup {
    let tr = v.tr();
    let (k, d, r) = (&view.campaign, &view.definition, &view.results);
    let path = urlencode(&k.name);
    let of = |arm: &str| view.deliveries.iter().find(|x| x.arm == arm);
    let all = ArmDelivery {
        arm: "all".into(),
        sent: view.deliveries.iter().map(|x| x.sent).sum(),
        failed: view.deliveries.iter().map(|x| x.failed).sum(),
        unsubscribed: view.deliveries.iter().map(|x| x.unsubscribed).sum(),
    };
    let skipped: Vec<(String, i64)> = r
        .statuses
        .iter()
        .filter(|s| s.status == "skipped")
        .map(|s| (reason_name(tr, s.reason.as_deref().unwrap_or_default()), s.count))
        .collect();
    let chart_rows: Vec<(String, f64, String)> = r
        .arms
        .iter()
        .map(|a| {
            let label = if a.arm == "holdout" { tr.t("Holdout").to_string() } else { a.arm.clone() };
            (label, a.conversion_rate, format!("{} ({}/{})", percent(a.conversion_rate), a.conversions, a.members))
        })
        .collect();
    let open = matches!(k.state, CampaignState::Draft | CampaignState::Scheduled);
    let postal_sending = k.channel == "postal" && k.state == CampaignState::Sending;
    html! {
        h1 { (k.name) }
        p { a href="/campaigns" { (tr.t("Campaigns")) } }
        @if let Some(n) = posted { p class="card" role="status" id="flash" { (tr.f("Recorded {} letters as posted.", &[&n])) } }
        dl class="card" id="campaign-facts" {
            dt { (tr.t("State")) } dd id="campaign-state" { (state_name(tr, k.state)) }
            dt { (tr.t("Audience")) } dd { (audience_text(tr, d)) }
            dt { (tr.t("Channel")) } dd { (channel_name(tr, &k.channel)) }
            dt { (tr.t("Mailing")) } dd { (k.mailing) @if !k.version.is_empty() { " · " (k.version) } }
            dt { (tr.t("Goal")) } dd { (goal_text(tr, &d.goal)) " · " (tr.f("within {} days of the message", &[&d.attribution_days])) }
            dt { (tr.t("Holdout")) } dd { (d.holdout_percent) "%" }
            dt { (tr.t("Versions")) } dd { @for (i, x) in d.variants.iter().enumerate() {
                @if i > 0 { ", " } (x.key) " " (x.share) "%" @if let Some(t) = &x.template { " (" a href={ "/templates/" (urlencode(t)) } { (t) } ")" }
            } }
            @if let Some(at) = k.send_at { dt { (tr.t("Send time")) } dd { (format::local_time(tr, clock, enishi_store::instant(at))) " " (format::zone_name(tr, clock)) } }
        }
        @if open || k.state == CampaignState::Sending {
            div class="actions" {
                @if open {
                    form method="post" action={ "/campaigns/" (path) "/start" } class="inline" {
                        input type="hidden" name="csrf" value=(v.csrf);
                        button id="start-campaign" { (tr.t("Start now")) }
                    }
                    " "
                }
                form method="post" action={ "/campaigns/" (path) "/cancel" } class="inline" {
                    input type="hidden" name="csrf" value=(v.csrf);
                    button id="cancel-campaign" { (tr.t("Cancel campaign")) }
                }
            }
        }
        @if postal_sending {
            section class="card" id="letters" {
                h2 { (tr.t("Letters")) }
                p { a href={ "/campaigns/" (path) "/letters.csv" } id="letters-csv" { (tr.t("Download the print shop's list (CSV)")) } }
                form method="post" action={ "/campaigns/" (path) "/confirm" } {
                    input type="hidden" name="csrf" value=(v.csrf);
                    button id="confirm-letters" { (tr.t("Record the letters as posted")) }
                }
            }
        }
        h2 { (tr.t("Results")) }
        p id="audience-line" {
            (tr.f("Audience: {} customers.", &[&r.audience]))
            @if !skipped.is_empty() {
                " " (tr.t("Skipped:")) " "
                @for (i, (reason, n)) in skipped.iter().enumerate() { @if i > 0 { ", " } span class="skipped" { (reason) " " (n) } }
            }
        }
        (table(Some("results"), None, &results_heads(tr), html! {
            @for a in &r.arms { (arm_row(tr, cur, a, of(&a.arm))) }
            (arm_row(tr, cur, &r.total, Some(&all)))
        }))
        p class="muted" { (tr.t("Uplift: the difference of conversion rates against the holdout, in percentage points, with its 95% confidence interval; the p-value of the two-proportion test.")) }
        (bar_chart("rates", tr.t("Conversion rate by version"), tr.t("Conversion rate of each version and the holdout"), &chart_rows))
        @if view.versions.len() > 1 {
            h2 { (tr.f("Versions of \"{}\"", &[&k.mailing])) }
            (table(Some("versions"), None, &[tr.t("Version label"), tr.t("Campaign"), tr.t("Members"), tr.t("Conversions"), tr.t("Rate"), tr.t("Uplift (95% CI)"), tr.t("ROI")], html! {
                @for x in &view.versions {
                    tr {
                        td { (x.version) }
                        td { a href={ "/campaigns/" (urlencode(&x.campaign)) } { (x.campaign) } }
                        td { (x.total.members) }
                        td { (x.total.conversions) }
                        td { (percent(x.total.conversion_rate)) }
                        td { @match &x.total.uplift { Some(u) => (format!("{:+.1} pt ({:+.1} – {:+.1})", u.difference * 100.0, u.low * 100.0, u.high * 100.0)), None => "–" } }
                        td { @match x.total.roi { Some(r) => (format!("{:.0}%", r * 100.0)), None => "–" } }
                    }
                }
            }))
            @let version_rows: Vec<(String, f64, String)> = view.versions.iter().map(|x| {
                let label = if x.version.is_empty() { x.campaign.clone() } else { x.version.clone() };
                (label, x.total.conversion_rate, percent(x.total.conversion_rate))
            }).collect();
            (bar_chart("version-rates", tr.t("Conversion rate by version of the mailing"), tr.t("Conversion rate of each version of the mailing"), &version_rows))
        }
    }
}

/// Runs `act` on the named campaign in a write transaction, records it in the audit log as
/// `action`, and goes back to the campaign's page; a refusal is the page's 409 with why.
async fn act(
    v: Visitor,
    state: AppState,
    name: String,
    action: &'static str,
    act: impl FnOnce(&mut dyn enishi_store::Conn, &Campaign, &BusinessClock) -> Result<Option<usize>, enishi_campaigns::Error>
        + Send
        + 'static,
) -> Response {
    let calendar = state.workspace().clock;
    let actor = v.actor();
    let lookup = name.clone();
    let done = state
        .run(move |s| {
            Ok(s.write(|c| {
                let k = ops::find(c, &lookup)?;
                let n = act(c, &k, &calendar)?;
                crate::audit::record(c, &actor, action, &k.name, n.map(|n| json!({"letters": n})))?;
                Ok::<_, enishi_campaigns::Error>(n)
            }))
        })
        .await;
    let back = format!("/campaigns/{}", urlencode(&name));
    match done {
        Ok(Ok(Some(n))) => Redirect::to(&format!("{back}?posted={n}")).into_response(),
        Ok(Ok(None)) => Redirect::to(&back).into_response(),
        Ok(Err(enishi_campaigns::Error::NotFound(_))) => v.not_found(),
        Ok(Err(e)) if e.is_users() => v.refuse(StatusCode::CONFLICT, v.tr().t("Not done"), &e.to_string()),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn start(
    ConsoleManager(v, _): ConsoleManager<CampaignPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted(_): Posted<crate::console::shell::CsrfForm>,
) -> Response {
    act(v, state, name, "campaign.start", |c, k, calendar| ops::start(c, k, calendar).map(|_| None)).await
}

async fn cancel(
    ConsoleManager(v, _): ConsoleManager<CampaignPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted(_): Posted<crate::console::shell::CsrfForm>,
) -> Response {
    act(v, state, name, "campaign.cancel", |c, k, _| ops::cancel(c, k).map(|_| None)).await
}

async fn confirm(
    ConsoleManager(v, _): ConsoleManager<CampaignPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted(_): Posted<crate::console::shell::CsrfForm>,
) -> Response {
    act(v, state, name, "campaign.confirm", |c, k, _| enishi_campaigns::postal::confirm(c, k, None).map(Some)).await
}

async fn letters(
    ConsoleManager(v, _): ConsoleManager<CampaignPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Response {
    let actor = v.actor();
    let made = state
        .run(move |s| {
            let contacts = match s.read(|c| {
                let k = ops::find(c, &name)?;
                enishi_campaigns::postal::mailing_list(c, &k, None)
            }) {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            let mut csv = Vec::new();
            let layout = enishi_ingest::export::MemberLayout::Postal;
            let rows =
                enishi_ingest::export::export_members(&contacts, layout, &mut csv).map_err(ApiError::internal)?;
            s.write(|c| crate::audit::record(c, &actor, "campaign.export", &name, Some(json!({"letters": rows}))))?;
            Ok(Ok(csv))
        })
        .await;
    match made {
        Ok(Ok(csv)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"campaign-letters.csv\""),
            ],
            csv,
        )
            .into_response(),
        Ok(Err(enishi_campaigns::Error::NotFound(_))) => v.not_found(),
        Ok(Err(e)) if e.is_users() => v.refuse(StatusCode::CONFLICT, v.tr().t("Not done"), &e.to_string()),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => e.into_response(),
    }
}
