//! Console pages that change things: the till forms of a customer's page (record a purchase
//! or an interaction, redeem a reward, adjust points), the loyalty programme editor and API
//! tokens. Every form carries the visitor's
//! anti-forgery token.

use crate::auth::MANAGERS;
use crate::i18n::Tr;
use crate::shell::{table, visitor, CsrfForm, Quoted, Visitor};
use crate::{ApiError, AppState};
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_core::{InteractionKind, InteractionStatus, Role};
use enishi_ingest::intake::OrderInput;
use enishi_store::repo::{customers, history, loyalty};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/purchases", post(record_purchase))
        .route("/customers/{id}/interactions", post(record_interaction))
        .route("/customers/{id}/interactions/{interaction}/resolve", post(resolve_interaction))
        .route("/customers/{id}/redemptions", post(redeem_reward))
        .route("/customers/{id}/adjustments", post(adjust_points))
        .route("/loyalty", get(loyalty_page).post(apply_programme))
        .route("/tokens", get(tokens_page).post(create_token))
        .route("/tokens/{id}/revoke", post(revoke_token))
}

/// A signed-in visitor whose form carries their anti-forgery token, or the answer refusing it.
async fn form_visitor(state: &AppState, headers: &HeaderMap, csrf: &str) -> Result<Visitor, Response> {
    let v = visitor(state, headers).await?;
    if v.form_ok(csrf) {
        Ok(v)
    } else {
        Err(v.forged())
    }
}

/// A refused till form: 422 with why, and the way back to the customer.
fn not_done(v: &Visitor, customer_id: i64, title: &str, why: &str) -> Response {
    let tr = v.tr();
    let body = html! {
        h1 { (title) }
        p role="alert" { (Quoted(why)) }
        p { a href={ "/customers/" (customer_id) } { (tr.t("Back to the customer")) } }
    };
    (StatusCode::UNPROCESSABLE_ENTITY, v.page(title, body)).into_response()
}

/// The "record a purchase" form of a customer's page.
pub(crate) fn purchase_form(tr: Tr, customer_id: i64, csrf: &str) -> Markup {
    html! {
        section class="card" id="record-purchase" {
            h2 { (tr.t("Record a purchase")) }
            form method="post" action={ "/customers/" (customer_id) "/purchases" } {
                input type="hidden" name="csrf" value=(csrf);
                label { (tr.t("Amount")) " " input name="amount" inputmode="decimal" required placeholder="57.40"; } " "
                label { (tr.t("Item")) " " input name="sku" placeholder=(tr.t("SKU (optional)")); } " "
                label { (tr.t("Category")) " " input name="category" placeholder=(tr.t("optional")); } " "
                button { (tr.t("Record")) }
            }
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct PurchaseForm {
    csrf: String,
    amount: String,
    sku: String,
    category: String,
    /// A manager's sign-in, confirming a staff sale above the staff order limit.
    manager_email: String,
    manager_password: String,
}

/// The page that asks a manager to confirm a staff sale above the staff order limit: the sale
/// as typed, and the manager's email and password.
fn manager_confirmation(
    v: &Visitor,
    id: i64,
    f: &PurchaseForm,
    limit: enishi_core::Amount,
    alert: Option<&str>,
) -> Response {
    let tr = v.tr();
    let html = html! {
        h1 { (tr.t("A manager confirms this sale")) }
        p { (tr.f("This sale of {} is above the {} staff may record alone.", &[&f.amount.trim(), &limit])) }
        @if let Some(a) = alert { p role="alert" id="confirmation-error" { (a) } }
        form method="post" action={ "/customers/" (id) "/purchases" } class="card" id="manager-confirmation" {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name="amount" value=(f.amount);
            input type="hidden" name="sku" value=(f.sku);
            input type="hidden" name="category" value=(f.category);
            label { (tr.t("Manager's email")) " " input name="manager_email" type="email" autocomplete="off" required; } " "
            label { (tr.t("Manager's password")) " " input name="manager_password" type="password" autocomplete="off" required; } " "
            button { (tr.t("Confirm and record")) }
        }
        p { a href={ "/customers/" (id) } { (tr.t("Back to the customer")) } }
    };
    let status = if alert.is_some() { StatusCode::FORBIDDEN } else { StatusCode::OK };
    (status, v.page(tr.t("A manager confirms this sale"), html)).into_response()
}

/// Whether `email` and `password` sign in an active admin or marketer, under the sign-in
/// throttle (a wrong password here counts as a failed sign-in).
async fn manager_confirms(state: &AppState, email: &str, password: &str, ip: &str) -> Result<bool, ApiError> {
    match crate::sign_in::check(state, &email.trim().to_lowercase(), password, ip).await {
        Ok(user) => Ok(MANAGERS.contains(&user.role)),
        Err(crate::sign_in::Refused::Failed(e)) => Err(e),
        Err(_) => Ok(false),
    }
}

async fn record_purchase(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<PurchaseForm>,
) -> Response {
    let v = match form_visitor(&state, &headers, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let found = state.run(move |s| Ok(s.read(|c| customers::get(c, id))?)).await;
    let customer = match found {
        Ok(Some(c)) => c,
        Ok(None) => return v.not_found(),
        Err(e) => return e.into_response(),
    };
    // Staff record a sale above the staff order limit only with a manager's confirmation.
    if v.role() == Role::Staff {
        if let Ok(amount) = f.amount.trim().parse::<enishi_core::Amount>() {
            let currency = state.workspace().currency;
            let limit = match state.run(move |s| Ok(s.read(|c| crate::access::staff_order_limit(c, currency))?)).await {
                Ok(l) => l,
                Err(e) => return e.into_response(),
            };
            if amount > limit {
                if f.manager_email.trim().is_empty() {
                    return manager_confirmation(&v, id, &f, limit, None);
                }
                let ip = crate::sign_in::client_ip(peer.map(|p| p.0 .0), &headers);
                match manager_confirms(&state, &f.manager_email, &f.manager_password, &ip).await {
                    Ok(true) => {}
                    Ok(false) => {
                        let why = v.tr().t("That is not the email and password of an active manager.");
                        return manager_confirmation(&v, id, &f, limit, Some(why));
                    }
                    Err(e) => return e.into_response(),
                }
            }
        }
    }
    let now = state.now();
    let order_id = format!("POS-{}-{}", customer.id, now.timestamp_millis());
    let sku = if f.sku.trim().is_empty() { "ITEM".to_string() } else { f.sku.trim().to_string() };
    let input: Result<OrderInput, _> = serde_json::from_value(json!({
        "order_id": order_id, "placed_at": now.to_rfc3339(), "channel": "in_store",
        "customer": {"external_id": customer.external_id},
        "lines": [{"sku": sku, "quantity": 1, "unit_price": f.amount.trim(),
                   "category": if f.category.trim().is_empty() { None } else { Some(f.category.trim()) }}],
    }));
    let outcome = match input {
        // A staff sale above the limit was confirmed by a manager above.
        Ok(i) => state.orders.record(i, crate::batcher::OrderFrom::Manager).await,
        Err(e) => Err(ApiError::bad_request(e.to_string())),
    };
    match outcome {
        Ok((order, _, loyalty)) => {
            let earned = loyalty.map(|l| format!("&earned={}", l.points_earned)).unwrap_or_default();
            Redirect::to(&format!("/customers/{id}?recorded={}{earned}", order.order_id)).into_response()
        }
        Err(e) if e.status.is_client_error() => {
            // The form's one line: name its fields as the form does.
            let why = match e.field.as_deref() {
                Some("lines[0].unit_price") => v.tr().f("amount: {}", &[&v.tr().message(e.reason())]),
                _ => v.tr().message(&e.detail),
            };
            not_done(&v, id, v.tr().t("Purchase not recorded"), &why)
        }
        Err(e) => e.into_response(),
    }
}

/// The "record an interaction" form: a request, complaint, call or note.
pub(crate) fn interaction_form(tr: Tr, customer_id: i64, csrf: &str) -> Markup {
    html! {
        section class="card" id="record-interaction" {
            h2 { (tr.t("Record an interaction")) }
            form method="post" action={ "/customers/" (customer_id) "/interactions" } {
                input type="hidden" name="csrf" value=(csrf);
                label {
                    (tr.t("Kind")) " "
                    select name="kind" {
                        @for k in InteractionKind::ALL { option value=(k.as_str()) { (tr.word(k.as_str())) } }
                    }
                } " "
                label { (tr.t("What happened")) " " input name="body" required maxlength="4000"; } " "
                label { input type="checkbox" name="resolved" value="1"; " " (tr.t("Already resolved")) } " "
                button { (tr.t("Record")) }
            }
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct InteractionForm {
    csrf: String,
    kind: String,
    body: String,
    resolved: Option<String>,
}

async fn record_interaction(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<InteractionForm>,
) -> Response {
    let v = match form_visitor(&state, &headers, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let title = v.tr().t("Interaction not recorded");
    let Ok(kind) = f.kind.parse::<InteractionKind>() else {
        return not_done(&v, id, title, v.tr().t("Choose a kind."));
    };
    if f.body.trim().is_empty() {
        return not_done(&v, id, title, v.tr().t("Say what happened."));
    }
    let new = enishi_store::NewInteraction {
        customer_id: id,
        kind,
        channel: Some("in_store".into()),
        body: f.body.trim().to_string(),
        status: if f.resolved.is_some() { InteractionStatus::Resolved } else { InteractionStatus::Open },
        staff: Some(v.user.name.clone()),
        occurred_at: state.now(),
    };
    let stored = state
        .run(move |s| {
            Ok(s.write(|c| match customers::get(c, id)? {
                Some(_) => history::add_interaction(c, &new).map(Some),
                None => Ok(None),
            })?)
        })
        .await;
    match stored {
        Ok(Some(_)) => Redirect::to(&format!("/customers/{id}?done=interaction")).into_response(),
        Ok(None) => v.not_found(),
        Err(e) => e.into_response(),
    }
}

async fn resolve_interaction(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, interaction)): Path<(i64, i64)>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let v = match form_visitor(&state, &headers, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let staff = v.user.name.clone();
    let done = state
        .run(move |s| {
            Ok(s.write(|c| match history::get_interaction(c, interaction)? {
                Some(i) if i.customer_id == id => history::resolve_interaction(c, interaction, Some(&staff)),
                _ => Ok(None),
            })?)
        })
        .await;
    match done {
        Ok(Some(_)) => Redirect::to(&format!("/customers/{id}?done=resolved")).into_response(),
        Ok(None) => v.not_found(),
        Err(e) => e.into_response(),
    }
}

/// The "redeem a reward" form: the catalogue's rewards that cost points.
pub(crate) fn redeem_form(tr: Tr, customer_id: i64, csrf: &str, rewards: &[(String, String, i64)]) -> Markup {
    if rewards.is_empty() {
        return html! {};
    }
    html! {
        section class="card" id="redeem" {
            h2 { (tr.t("Redeem a reward")) }
            form method="post" action={ "/customers/" (customer_id) "/redemptions" } {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="key" value=(form_key());
                label {
                    (tr.t("Reward")) " "
                    select name="reward" {
                        @for (id, name, cost) in rewards { option value=(id) { (tr.f("{} ({} points)", &[name, cost])) } }
                    }
                } " "
                button { (tr.t("Redeem")) }
            }
        }
    }
}

/// A fresh idempotency key for a form: sending the same form twice does it once.
fn form_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("console-{}", hex::encode(bytes))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RedeemForm {
    csrf: String,
    key: String,
    reward: String,
}

async fn redeem_reward(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<RedeemForm>,
) -> Response {
    let v = match form_visitor(&state, &headers, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (reward, key, actor) = (f.reward.trim().to_string(), f.key, v.actor());
    let now = state.now().timestamp();
    let done = state
        .with_programs(true, move |c, programs| {
            if customers::get(c, id)?.is_none() {
                return Ok(None);
            }
            let (r, new) = enishi_rewards::redeem(c, programs, id, &reward, &key, now)?;
            if new {
                let after = json!({"reward_id": reward, "points": r.points, "balance": r.balance});
                crate::audit::record(c, &actor, "points.redeem", &format!("customer:{id}"), Some(after))?;
            }
            Ok(Some(()))
        })
        .await;
    match done {
        Ok(Some(_)) => Redirect::to(&format!("/customers/{id}?done=redeemed")).into_response(),
        Ok(None) => v.not_found(),
        Err(e) if e.status.is_client_error() => {
            not_done(&v, id, v.tr().t("Reward not redeemed"), &v.tr().message(&e.detail))
        }
        Err(e) => e.into_response(),
    }
}

/// The "adjust points" form (owners and marketers): points and a required reason.
pub(crate) fn adjust_form(tr: Tr, customer_id: i64, csrf: &str) -> Markup {
    html! {
        section class="card" id="adjust" {
            h2 { (tr.t("Adjust points")) }
            form method="post" action={ "/customers/" (customer_id) "/adjustments" } {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="key" value=(form_key());
                label { (tr.t("Points (+ or −)")) " " input name="points" inputmode="numeric" required placeholder="-50" size="8"; } " "
                label { (tr.t("Reason")) " " input name="reason" required maxlength="500"; } " "
                button { (tr.t("Adjust")) }
            }
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct AdjustForm {
    csrf: String,
    key: String,
    points: String,
    reason: String,
}

async fn adjust_points(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<AdjustForm>,
) -> Response {
    let v = match form_visitor(&state, &headers, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Some(r) = v.unless_role(MANAGERS, v.tr().t("Points are adjusted by owners and marketers.")) {
        return r;
    }
    let title = v.tr().t("Points not adjusted");
    let Ok(points) = f.points.trim().replace('−', "-").parse::<i64>() else {
        return not_done(&v, id, title, v.tr().t("points: write a whole number, e.g. 50 or -50."));
    };
    let by = format!("console: {}", v.user.email);
    let (reason, key, actor) = (f.reason, f.key, v.actor());
    let now = state.now().timestamp();
    let done = state
        .with_programs(true, move |c, programs| {
            if customers::get(c, id)?.is_none() {
                return Ok(None);
            }
            let a =
                enishi_rewards::Adjustment { customer_id: id, points, reason: &reason, idempotency_key: &key, by: &by };
            let (balance, new) = enishi_rewards::adjust(c, programs, &a, now)?;
            if new {
                let after = json!({"points": points, "reason": reason, "balance": balance});
                crate::audit::record(c, &actor, "points.adjust", &format!("customer:{id}"), Some(after))?;
            }
            Ok(Some(()))
        })
        .await;
    match done {
        Ok(Some(_)) => Redirect::to(&format!("/customers/{id}?done=adjusted")).into_response(),
        Ok(None) => v.not_found(),
        Err(e) if e.status.is_client_error() => not_done(&v, id, title, &v.tr().message(&e.detail)),
        Err(e) => e.into_response(),
    }
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
}

async fn loyalty_view(state: &AppState) -> Result<LoyaltyView, ApiError> {
    state
        .with_programs(false, |c, programs| {
            Ok(LoyaltyView {
                latest: loyalty::latest_program(c)?,
                report: enishi_rewards::report(c, programs)?,
                redemptions: loyalty::recent_entries(c, "redeem", 20)?,
            })
        })
        .await
}

async fn loyalty_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let v = match visitor(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Some(r) = v.unless_role(MANAGERS, v.tr().t("The loyalty programme is managed by owners and marketers.")) {
        return r;
    }
    match loyalty_view(&state).await {
        Ok(view) => v.page(v.tr().t("Loyalty"), loyalty_body(&v, &view, None)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn loyalty_body(v: &Visitor, view: &LoyaltyView, error: Option<(&str, &str)>) -> Markup {
    let tr = v.tr();
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
                strong { (tr.t("Not applied.")) } " " (Quoted(&tr.message(message)))
            }
        }
        @match &view.latest {
            Some(p) => p class="muted" {
                (tr.f(
                    "Version {} applied by {} · in force from {}",
                    &[&p.version, &p.applied_by, &enishi_store::instant(p.effective_from).format("%Y-%m-%d %H:%M UTC")]
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
                    section class="card" {
                        h3 { (p.name) }
                        p {
                            (tr.f("{} customers · {} points", &[&p.participants, &p.points_given])) br;
                            (tr.f(
                                "{} orders, spend {} (weeks before: {} orders, {})",
                                &[&p.during.orders, &p.during.spend, &p.before.orders, &p.before.spend]
                            ))
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
                        td { (enishi_store::instant(e.occurred_at).format("%Y-%m-%d %H:%M").to_string()) }
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

#[derive(Default, Deserialize)]
#[serde(default)]
struct ProgrammeForm {
    csrf: String,
    document: String,
}

async fn apply_programme(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<ProgrammeForm>) -> Response {
    let v = match form_visitor(&state, &headers, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Some(r) = v.unless_role(MANAGERS, v.tr().t("The loyalty programme is managed by owners and marketers.")) {
        return r;
    }
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
                    v.page(v.tr().t("Loyalty"), loyalty_body(&v, &view, Some((&message, &f.document)))),
                )
                    .into_response(),
                Err(e) => e.into_response(),
            }
        }
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn tokens_body(state: &AppState, v: &Visitor, created: Option<(&str, Role)>) -> Result<Markup, ApiError> {
    let tr = v.tr();
    let list = state.run(|s| Ok(s.read(enishi_store::repo::tokens::list)?)).await?;
    Ok(html! {
        h1 { (tr.t("API tokens")) }
        @if let Some((token, role)) = created {
            p class="card" role="status" {
                (tr.f("New {} token — copy it now, it is not shown again:", &[&tr.word(role.as_str())])) " "
                code id="new-token" { (token) }
            }
        }
        form method="post" action="/tokens" class="card" {
            input type="hidden" name="csrf" value=(v.csrf);
            label {
                (tr.t("Role")) " "
                select name="role" {
                    @for r in [Role::Staff, Role::Marketer, Role::Admin] { option value=(r.as_str()) { (tr.word(r.as_str())) } }
                }
            } " "
            label { (tr.t("Label")) " " input name="label" required placeholder="till 2"; } " "
            button { (tr.t("Create a token")) }
        }
        (table(None, None, &[tr.t("Label"), tr.t("Role"), tr.t("Created"), tr.t("Status")], html! {
            @for t in &list {
                tr {
                    td { (t.label) }
                    td { (tr.word(&t.role)) }
                    td { (enishi_store::instant(t.created_at).format("%Y-%m-%d").to_string()) }
                    td {
                        @match t.revoked_at {
                            Some(at) => (tr.f("revoked {}", &[&enishi_store::instant(at).format("%Y-%m-%d")])),
                            None => form method="post" action={ "/tokens/" (t.id) "/revoke" } {
                                input type="hidden" name="csrf" value=(v.csrf);
                                button { (tr.t("Revoke")) }
                            },
                        }
                    }
                }
            }
        }))
    })
}

/// A signed-in owner whose form carries their anti-forgery token, or the answer refusing it.
pub(crate) async fn admin_form(state: &AppState, headers: &HeaderMap, csrf: &str) -> Result<Visitor, Response> {
    let v = admin_only(state, headers).await?;
    if v.form_ok(csrf) {
        Ok(v)
    } else {
        Err(v.forged())
    }
}

/// A signed-in owner (admin), or the answer refusing anyone else.
pub(crate) async fn admin_only(state: &AppState, headers: &HeaderMap) -> Result<Visitor, Response> {
    let v = visitor(state, headers).await?;
    match v.unless_role(&[Role::Admin], v.tr().t("This page is for owners (admin).")) {
        Some(refused) => Err(refused),
        None => Ok(v),
    }
}

async fn tokens_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let v = match admin_only(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match tokens_body(&state, &v, None).await {
        Ok(html) => v.page(v.tr().t("API tokens"), html).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TokenForm {
    csrf: String,
    role: String,
    label: String,
}

async fn create_token(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<TokenForm>) -> Response {
    let v = match admin_form(&state, &headers, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let title = v.tr().t("API tokens");
    let Ok(role) = f.role.parse::<Role>() else { return v.bad_form(title, v.tr().t("Unknown role.")) };
    let label = f.label.trim().to_string();
    if label.is_empty() {
        return v.bad_form(title, v.tr().t("A token needs a label."));
    }
    let actor = v.actor();
    let created = state
        .run(move |s| {
            Ok(s.write(|c| {
                let token = enishi_store::repo::tokens::create(c, role, &label)?;
                let after = json!({"role": role.as_str()});
                crate::audit::record(c, &actor, "tokens.create", &format!("token:{label}"), Some(after))?;
                Ok::<_, enishi_store::StoreError>(token)
            })?)
        })
        .await;
    let token = match created {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    match tokens_body(&state, &v, Some((&token, role))).await {
        Ok(html) => (StatusCode::CREATED, v.page(title, html)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let actor = match admin_form(&state, &headers, &f.csrf).await {
        Ok(v) => v.actor(),
        Err(refused) => return refused,
    };
    let revoked = state.run(move |s| {
        Ok(s.write(|c| {
            let n = enishi_store::repo::tokens::revoke(c, id)?;
            crate::audit::record(c, &actor, "tokens.revoke", &format!("token-id:{id}"), None)?;
            Ok::<_, enishi_store::StoreError>(n)
        })?)
    });
    match revoked.await {
        Ok(_) => Redirect::to("/tokens").into_response(),
        Err(e) => e.into_response(),
    }
}
