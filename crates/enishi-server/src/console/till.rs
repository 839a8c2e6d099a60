//! The till forms of a customer's page: record a purchase or an interaction, resolve an
//! interaction, redeem a reward, adjust points. Every form carries the visitor's anti-forgery
//! token.

use crate::auth::MANAGERS;
use crate::console::i18n::Tr;
use crate::console::shell::{form_visitor, CsrfForm, Quoted, Visitor};
use crate::{ApiError, AppState};
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use enishi_core::{InteractionKind, InteractionStatus, Role};
use enishi_ingest::intake::OrderInput;
use enishi_store::repo::{customers, history};
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
    match crate::console::sign_in::check(state, &email.trim().to_lowercase(), password, ip).await {
        Ok(user) => Ok(MANAGERS.contains(&user.role)),
        Err(crate::console::sign_in::Refused::Failed(e)) => Err(e),
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
                let ip = crate::console::sign_in::client_ip(peer.map(|p| p.0 .0), &headers);
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
