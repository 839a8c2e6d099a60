//! The till forms of a customer's page: record a purchase or an interaction, resolve an
//! interaction, redeem a reward, use a coupon, adjust points. Every form carries the visitor's anti-forgery
//! token.

use crate::auth::MANAGERS;
use crate::console::customers::{NotYet, Offer};
use crate::console::i18n::Tr;
use crate::console::notices::{Notice, Unearned};
use crate::console::shell::{
    carries_csrf, ConsoleManager, ConsoleUser, CsrfForm, ForManagers, Posted, Quoted, Visitor,
};
use crate::{ApiError, AppState};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use enishi_core::{Currency, InteractionKind, InteractionStatus, Role, TypedAmountError};
use enishi_ingest::intake::OrderInput;
use enishi_store::repo::{customers, history, tasks};
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
        .route("/customers/{id}/coupons", post(use_coupon))
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

/// The sale form as the page shows it: what was typed, and why it was not recorded yet.
#[derive(Debug, Default)]
pub(crate) struct Till {
    /// The amount as typed.
    amount: String,
    /// The item as typed.
    sku: String,
    /// The category as typed.
    category: String,
    /// Why the sale was refused.
    alert: Option<String>,
    /// A sale far above the customer's usual: the question, and the amount it confirms.
    confirm: Option<(String, enishi_core::Amount)>,
}

/// What the money and points forms of a customer's page show again after a refusal: what was
/// typed, and why it was not done.
#[derive(Debug, Default)]
pub(crate) struct Typed {
    /// The sale form.
    pub(crate) till: Till,
    /// The adjustment form: points and reason as typed, and why it was refused.
    pub(crate) adjust: Option<AdjustTyped>,
    /// A refused void or refund of one order.
    pub(crate) ret: Option<crate::console::corrections::RefusedReturn>,
    /// A refused reversal: the adjustment's ledger entry, and why.
    pub(crate) reversal: Option<(i64, String)>,
}

impl Typed {
    /// The sale form as `till` has it, the others empty.
    pub(crate) fn till(till: Till) -> Typed {
        Typed { till, ..Typed::default() }
    }
}

/// The adjustment form as typed, and why it was refused.
#[derive(Debug, Default)]
pub(crate) struct AdjustTyped {
    points: String,
    reason: String,
    alert: String,
}

/// The "record a purchase" form of a customer's page, amounts in `cur`; a refused sale keeps
/// what was typed and says why, and an unusual one asks to be confirmed first.
pub(crate) fn purchase_form(tr: Tr, cur: Currency, customer_id: i64, csrf: &str, till: &Till) -> Markup {
    let action = format!("/customers/{customer_id}/purchases");
    let example = if cur.minor_units() == 0 { "1,200" } else { "12.50" };
    html! {
        section class="card" id="record-purchase" {
            h2 { (tr.t("Record a purchase")) }
            @if let Some(why) = &till.alert { p role="alert" id="till-error" { (Quoted(why)) } }
            @if let Some((question, amount)) = &till.confirm {
                form method="post" action=(action) id="till-confirm" {
                    p role="alert" { (question) }
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="amount" value=(till.amount);
                    input type="hidden" name="sku" value=(till.sku);
                    input type="hidden" name="category" value=(till.category);
                    input type="hidden" name="confirmed" value=(amount.to_string());
                    // Focused, so that the page opens at the question.
                    button autofocus { (tr.f("Yes, record {}", &[&cur.format(*amount)])) }
                    " " span class="muted" { (tr.t("or change the sale below.")) }
                }
            }
            form method="post" action=(action) id="till-sale" {
                input type="hidden" name="csrf" value=(csrf);
                label {
                    (tr.f("Amount ({})", &[&cur.symbol().unwrap_or(cur.as_str())])) " "
                    input name="amount" inputmode="decimal" required placeholder=(example) value=(till.amount)
                        autocomplete="off" autofocus[till.alert.is_some()];
                } " "
                label { (tr.t("Item")) " " input name="sku" placeholder=(tr.t("SKU (optional)")) value=(till.sku); } " "
                label { (tr.t("Category")) " " input name="category" placeholder=(tr.t("optional")) value=(till.category); } " "
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
    /// The amount the visitor confirmed when the till asked (an unusual sale).
    confirmed: String,
    /// A manager's sign-in, confirming a staff sale above the staff order limit.
    manager_email: String,
    manager_password: String,
}

carries_csrf!(PurchaseForm);

/// `typed` read as an amount in `cur` as a till takes it (`1,200円`, `¥1,200`, `$12.50`); a
/// refusal in the visitor's language, saying how to write it.
pub(crate) fn typed_amount(tr: Tr, cur: Currency, typed: &str) -> Result<enishi_core::Amount, String> {
    cur.parse_typed(typed).map_err(|e| typed_refusal(tr, cur, typed, &e))
}

/// Why `typed` is no amount in `cur`, in the visitor's language.
fn typed_refusal(tr: Tr, cur: Currency, typed: &str, e: &TypedAmountError) -> String {
    let typed = typed.trim();
    let example = cur.format(enishi_core::Amount::from_scaled(12_000_000));
    match e {
        TypedAmountError::Empty => tr.t("Type the amount of the sale.").to_string(),
        TypedAmountError::NotAnAmount => tr.f("'{}' is not an amount: write it like {}.", &[&typed, &example]),
        TypedAmountError::NoDecimals => {
            tr.f("'{}' has decimals, but amounts in {} have none: write it like {}.", &[&typed, &cur, &example])
        }
        TypedAmountError::TooManyDecimals(n) => {
            tr.f("'{}' has more than {} decimals: write it like {}.", &[&typed, n, &example])
        }
        TypedAmountError::OtherCurrency(other) => {
            tr.f("'{}' is in another currency ({}): this shop records {}.", &[&typed, other, &cur])
        }
        TypedAmountError::TooLarge => tr.f("'{}' is too large an amount.", &[&typed]),
    }
}

/// The page that asks a manager to confirm a staff sale above the staff order limit: the sale
/// as typed, and the manager's email and password.
fn manager_confirmation(
    v: &Visitor,
    id: i64,
    f: &PurchaseForm,
    (amount, limit): (String, String),
    alert: Option<&str>,
) -> Response {
    let tr = v.tr();
    let html = html! {
        h1 { (tr.t("A manager confirms this sale")) }
        p { (tr.f("This sale of {} is above the {} staff may record alone.", &[&amount, &limit])) }
        @if let Some(a) = alert { p role="alert" id="confirmation-error" { (a) } }
        form method="post" action={ "/customers/" (id) "/purchases" } class="card" id="manager-confirmation" {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name="amount" value=(f.amount);
            input type="hidden" name="sku" value=(f.sku);
            input type="hidden" name="category" value=(f.category);
            input type="hidden" name="confirmed" value=(f.confirmed);
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

/// The question to ask before recording `amount` for `customer`, when it is far above the
/// customer's average order or above the fixed amount; `None` for a usual sale.
fn unusual_sale(
    tr: Tr,
    cur: Currency,
    amount: enishi_core::Amount,
    customer: &enishi_store::Customer,
    rules: crate::access::Unusual,
) -> Option<String> {
    let orders = customer.stats.order_count;
    let spend = customer.stats.total_spend;
    if orders > 0 && spend.to_scaled() > 0 {
        let average = enishi_core::Amount::from_scaled(spend.to_scaled() / orders);
        if amount.to_scaled() as i128 > average.to_scaled() as i128 * rules.ratio as i128 {
            return Some(tr.f(
                "{} is more than {} times this customer's average sale ({}). Is the amount right?",
                &[&cur.format(amount), &rules.ratio, &cur.format(average)],
            ));
        }
    }
    (amount > rules.sale_over).then(|| {
        tr.f(
            "{} is above {}, the sale the till asks about. Is the amount right?",
            &[&cur.format(amount), &cur.format(rules.sale_over)],
        )
    })
}

/// Why a sale just recorded earned no points, from the programme in force when it was placed.
async fn why_unearned(
    state: &AppState,
    order: &enishi_store::Order,
    earned: Option<i64>,
) -> Result<Option<Unearned>, ApiError> {
    if earned.is_some_and(|p| p > 0) {
        return Ok(None);
    }
    let (at, total) = (order.placed_at, order.total.to_scaled());
    let day = state.workspace().clock.day_number(at);
    let lines: Vec<(String, Option<String>, i64, i64)> =
        order.lines.iter().map(|l| (l.sku.clone(), l.category.clone(), l.quantity, l.amount.to_scaled())).collect();
    state
        .with_programs(false, move |_, programs| {
            let Some((_, p)) = programs.at(at.timestamp()) else { return Ok(Some(Unearned::NoProgramme)) };
            let facts: Vec<enishi_loyalty::LineFacts<'_>> = lines
                .iter()
                .map(|(sku, category, quantity, amount)| enishi_loyalty::LineFacts {
                    sku,
                    category: category.as_deref(),
                    quantity: *quantity,
                    amount: *amount,
                })
                .collect();
            let order = enishi_loyalty::OrderFacts { placed_at: at, day, channel: "in_store", total, lines: &facts };
            Ok(Some(Unearned::Engine(enishi_loyalty::why_no_points(p, &order))))
        })
        .await
}

async fn record_purchase(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Posted(f): Posted<PurchaseForm>,
) -> Response {
    let tr = v.tr();
    let view = match crate::console::customers::load_customer(&state, id, tr.lang()).await {
        Ok(Some(view)) => view,
        Ok(None) => return v.not_found(),
        Err(e) => return e.into_response(),
    };
    let cur = state.workspace().currency;
    // The customer's page again, the sale form keeping what was typed.
    let again = |status: StatusCode, alert: Option<String>, confirm: Option<(String, enishi_core::Amount)>| {
        let till = Till { amount: f.amount.clone(), sku: f.sku.clone(), category: f.category.clone(), alert, confirm };
        (status, crate::console::customers::customer_html(&v, cur, &view, "", &Typed::till(till))).into_response()
    };
    let amount = match typed_amount(tr, cur, &f.amount) {
        Ok(a) => a,
        Err(why) => return again(StatusCode::UNPROCESSABLE_ENTITY, Some(why), None),
    };
    if amount.is_negative() || amount.is_zero() {
        let why = tr.f("A sale must be more than {}.", &[&cur.format(enishi_core::Amount::ZERO)]);
        return again(StatusCode::UNPROCESSABLE_ENTITY, Some(why), None);
    }
    // A sale far above the customer's usual is recorded once the visitor confirms this amount.
    if f.confirmed.trim().parse::<enishi_core::Amount>().ok() != Some(amount) {
        let rules = match state.run(move |s| Ok(s.read(|c| crate::access::unusual(c, cur))?)).await {
            Ok(r) => r,
            Err(e) => return e.into_response(),
        };
        if let Some(question) = unusual_sale(tr, cur, amount, view.customer(), rules) {
            return again(StatusCode::OK, None, Some((question, amount)));
        }
    }
    // Staff record a sale above the staff order limit only with a manager's confirmation.
    if v.role() == Role::Staff {
        let limit = match state.run(move |s| Ok(s.read(|c| crate::access::staff_order_limit(c, cur))?)).await {
            Ok(l) => l,
            Err(e) => return e.into_response(),
        };
        if amount > limit {
            let said = (cur.format(amount), cur.format(limit));
            if f.manager_email.trim().is_empty() {
                return manager_confirmation(&v, id, &f, said, None);
            }
            let ip = crate::console::sign_in::client_ip(peer.map(|p| p.0 .0), &headers);
            match manager_confirms(&state, &f.manager_email, &f.manager_password, &ip).await {
                Ok(true) => {}
                Ok(false) => {
                    let why = tr.t("That is not the email and password of an active manager.");
                    return manager_confirmation(&v, id, &f, said, Some(why));
                }
                Err(e) => return e.into_response(),
            }
        }
    }
    let customer = view.customer();
    let now = state.now();
    let order_id = format!("POS-{}-{}", customer.id, now.timestamp_millis());
    let sku = if f.sku.trim().is_empty() { "ITEM".to_string() } else { f.sku.trim().to_string() };
    let input: Result<OrderInput, _> = serde_json::from_value(json!({
        "order_id": order_id, "placed_at": now.to_rfc3339(), "channel": "in_store", "currency": cur.as_str(),
        "customer": {"external_id": customer.external_id},
        "lines": [{"sku": sku, "quantity": 1, "unit_price": amount.to_string(),
                   "category": if f.category.trim().is_empty() { None } else { Some(f.category.trim()) }}],
    }));
    let outcome = match input {
        // A staff sale above the limit was confirmed by a manager above.
        Ok(i) => state.orders.record(i, crate::batcher::OrderFrom::Manager).await,
        Err(e) => Err(ApiError::bad_request(e.to_string())),
    };
    match outcome {
        Ok((order, _, loyalty)) => {
            let earned = loyalty.map(|l| l.points_earned);
            let unearned = match why_unearned(&state, &order, earned).await {
                Ok(u) => u,
                Err(e) => return e.into_response(),
            };
            let notice =
                Notice::Recorded { order: order.order_id.clone(), amount, points: earned.unwrap_or(0), unearned };
            let key = state.notices.put(v.user.id, id, notice);
            Redirect::to(&format!("/customers/{id}?recorded={key}")).into_response()
        }
        Err(e) if e.status.is_client_error() => {
            // The form's one line: name its fields as the form does.
            let why = match e.field.as_deref() {
                Some("lines[0].unit_price") => tr.f("amount: {}", &[&tr.message(e.reason())]),
                _ => tr.message(&e.detail),
            };
            again(StatusCode::UNPROCESSABLE_ENTITY, Some(why), None)
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

carries_csrf!(InteractionForm);

async fn record_interaction(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<InteractionForm>,
) -> Response {
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
        assignee_id: None,
        resolution: None,
    };
    let stored = state
        .run(move |s| {
            Ok(s.write(|c| -> Result<_, enishi_store::StoreError> {
                if !customers::exists(c, id)? {
                    return Ok(None);
                }
                let stored = history::add_interaction(c, &new)?;
                if kind == InteractionKind::Complaint {
                    let rules = tasks::Rules::load(c)?;
                    tasks::complaint_rule(c, &rules, 0, Some(stored.id))?;
                }
                Ok(Some(stored))
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
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Path((id, interaction)): Path<(i64, i64)>,
    Posted(_): Posted<CsrfForm>,
) -> Response {
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

/// Why a customer cannot take a reward now, in the visitor's language.
fn why_not(tr: Tr, n: NotYet) -> String {
    match n {
        NotYet::Points(more) => tr.f("{} more points needed", &[&more]),
        NotYet::MembersOnly => tr.t("for paid members only").to_string(),
        NotYet::Limit(limit) => tr.f("already taken {} times, the most a customer may", &[&limit]),
        NotYet::Debt(points) => tr.f("the customer owes {} points", &[&points]),
    }
}

/// The "redeem a reward" form: the catalogue's rewards that cost points the customer can take
/// now, then those they cannot, each with why not.
pub(crate) fn redeem_form(tr: Tr, customer_id: i64, csrf: &str, offers: &[Offer]) -> Markup {
    if offers.is_empty() {
        return html! {};
    }
    let (open, closed): (Vec<&Offer>, Vec<&Offer>) = offers.iter().partition(|o| o.not_yet.is_none());
    html! {
        section class="card" id="redeem" {
            h2 { (tr.t("Redeem a reward")) }
            @if !open.is_empty() {
                form method="post" action={ "/customers/" (customer_id) "/redemptions" } {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="key" value=(form_key());
                    label {
                        (tr.t("Reward")) " "
                        select name="reward" {
                            @for o in &open { option value=(o.id) { (tr.f("{} ({} points)", &[&o.name, &o.cost])) } }
                        }
                    } " "
                    button { (tr.t("Redeem")) }
                }
            }
            @if !closed.is_empty() {
                p class="muted" { (tr.t("Not yet:")) }
                ul id="rewards-not-yet" {
                    @for o in &closed {
                        @if let Some(n) = o.not_yet {
                            li { (tr.f("{} ({} points)", &[&o.name, &o.cost])) " — " span class="why-not" { (why_not(tr, n)) } }
                        }
                    }
                }
            }
        }
    }
}

/// A coupon's "use" button, at the till.
pub(crate) fn use_coupon_form(tr: Tr, customer_id: i64, csrf: &str, code: &str) -> Markup {
    html! {
        form method="post" action={ "/customers/" (customer_id) "/coupons" } class="inline use-coupon" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="code" value=(code);
            input type="hidden" name="key" value=(form_key());
            button { (tr.t("Use")) }
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct CouponForm {
    csrf: String,
    code: String,
    key: String,
}

carries_csrf!(CouponForm);

async fn use_coupon(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<CouponForm>,
) -> Response {
    let (code, key, actor) = (f.code.trim().to_string(), f.key.trim().to_string(), v.actor());
    if key.is_empty() {
        return not_done(&v, id, v.tr().t("Coupon not used"), v.tr().t("This form has no key: reload the page."));
    }
    let now = state.now().timestamp();
    let done = state
        .run(move |s| {
            s.write(|c| {
                // Only this customer's coupon is used from their page.
                let mine = enishi_store::repo::loyalty::coupons(c, id)?.into_iter().any(|k| k.code == code);
                if !mine {
                    return Ok(None);
                }
                let outcome = enishi_rewards::use_coupon(c, &code, &key, now);
                if let Ok((_, true)) = &outcome {
                    let after = json!({"code": code});
                    crate::audit::record(c, &actor, "coupons.use", &format!("customer:{id}"), Some(after))?;
                }
                Ok::<_, ApiError>(Some(outcome.map_err(ApiError::from)))
            })
        })
        .await;
    match done {
        Ok(Some(Ok(_))) => Redirect::to(&format!("/customers/{id}?done=coupon")).into_response(),
        Ok(Some(Err(e))) if e.status.is_client_error() => {
            not_done(&v, id, v.tr().t("Coupon not used"), &v.tr().message(&e.detail))
        }
        Ok(Some(Err(e))) | Err(e) => e.into_response(),
        Ok(None) => v.not_found(),
    }
}

/// A fresh idempotency key for a form: sending the same form twice does it once.
pub(crate) fn form_key() -> String {
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

carries_csrf!(RedeemForm);

async fn redeem_reward(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<RedeemForm>,
) -> Response {
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
pub(crate) fn adjust_form(tr: Tr, customer_id: i64, csrf: &str, typed: Option<&AdjustTyped>) -> Markup {
    let (points, reason) = typed.map_or(("", ""), |t| (t.points.as_str(), t.reason.as_str()));
    html! {
        section class="card" id="adjust" {
            h2 { (tr.t("Adjust points")) }
            @if let Some(t) = typed { p role="alert" id="adjust-error" { (Quoted(&t.alert)) } }
            form method="post" action={ "/customers/" (customer_id) "/adjustments" } {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="key" value=(form_key());
                label {
                    (tr.t("Points (+ or −)")) " "
                    input name="points" inputmode="numeric" required placeholder="-50" size="8" value=(points) autofocus[typed.is_some()];
                } " "
                label { (tr.t("Reason")) " " input name="reason" required maxlength="500" value=(reason); } " "
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
    /// The points the visitor confirmed when the console asked (an unusual adjustment).
    confirmed: String,
}

carries_csrf!(AdjustForm);

/// The points an average order of the customer earns at the programme's base rate (`rate`,
/// in 1/10,000); `None` before their first order.
fn average_points(spend: enishi_core::Amount, orders: i64, rate: i64) -> Option<i64> {
    (orders > 0).then(|| {
        let average = i128::from(spend.to_scaled()) / i128::from(orders);
        i64::try_from(average * i128::from(rate) / 100_000_000).unwrap_or(i64::MAX)
    })
}

/// The question to ask before adjusting by `points`, when that is more than the fixed number
/// or far more than an average order of the customer earns; `None` for a usual adjustment.
fn unusual_adjustment(tr: Tr, points: i64, average: Option<i64>, rules: crate::access::Unusual) -> Option<String> {
    let size = points.unsigned_abs();
    if let Some(avg) = average.filter(|a| *a > 0) {
        if u128::from(size) > u128::from(avg.unsigned_abs()) * rules.ratio.unsigned_abs() as u128 {
            return Some(tr.f(
                "{} points is more than {} times what this customer's average order earns ({} points). Is it right?",
                &[&points, &rules.ratio, &avg],
            ));
        }
    }
    (size > rules.points_over.unsigned_abs()).then(|| {
        tr.f(
            "{} points is more than {}, the adjustment the console asks about. Is it right?",
            &[&points, &rules.points_over],
        )
    })
}

/// The page asking to confirm an unusual adjustment, carrying what was typed.
fn adjustment_confirmation(v: &Visitor, id: i64, f: &AdjustForm, points: i64, question: &str) -> Response {
    let tr = v.tr();
    let html = html! {
        h1 { (tr.t("Confirm the adjustment")) }
        p role="alert" { (question) }
        form method="post" action={ "/customers/" (id) "/adjustments" } class="card" id="adjust-confirm" {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name="key" value=(f.key);
            input type="hidden" name="points" value=(f.points);
            input type="hidden" name="reason" value=(f.reason);
            input type="hidden" name="confirmed" value=(points);
            p { (tr.t("Reason")) ": " (f.reason) }
            button { (tr.f("Yes, adjust by {} points", &[&points])) }
        }
        p { a href={ "/customers/" (id) } { (tr.t("Back to the customer")) } }
    };
    (StatusCode::OK, v.page(tr.t("Confirm the adjustment"), html)).into_response()
}

/// Adjusting a customer's points by hand: for owners and marketers.
pub(crate) struct PointAdjusting;

impl ForManagers for PointAdjusting {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Points are adjusted by owners and marketers.")
    }
}

async fn adjust_points(
    ConsoleManager(v, _): ConsoleManager<PointAdjusting>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<AdjustForm>,
) -> Response {
    let Ok(points) = f.points.trim().replace('−', "-").parse::<i64>() else {
        return adjust_again(&v, &state, id, &f, v.tr().t("points: write a whole number, e.g. 50 or -50.")).await;
    };
    // Far more points than the customer's orders earn are given once the visitor confirms them.
    if f.confirmed.trim().parse::<i64>().ok() != Some(points) {
        let cur = state.workspace().currency;
        let usual = state
            .with_programs(false, move |c, programs| {
                let rules = crate::access::unusual(c, cur)?;
                let rate = programs.latest().map_or(0, |(_, p)| p.doc.earning.points_per_unit.0);
                let stats = customers::get(c, id)?.map(|c| c.stats);
                Ok((rules, stats.map(|s| average_points(s.total_spend, s.order_count, rate))))
            })
            .await;
        match usual {
            Ok((rules, Some(average))) => {
                if let Some(question) = unusual_adjustment(v.tr(), points, average, rules) {
                    return adjustment_confirmation(&v, id, &f, points, &question);
                }
            }
            Ok((_, None)) => return v.not_found(),
            Err(e) => return e.into_response(),
        }
    }
    let by = format!("console: {}", v.user.email);
    let f_again = AdjustForm { points: f.points.clone(), reason: f.reason.clone(), ..AdjustForm::default() };
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
        Err(e) if e.status.is_client_error() => {
            adjust_again(&v, &state, id, &f_again, &v.tr().message(&e.detail)).await
        }
        Err(e) => e.into_response(),
    }
}

/// The customer's page again after a refused adjustment: 422, the form keeping what was typed,
/// and why.
async fn adjust_again(v: &Visitor, state: &AppState, id: i64, f: &AdjustForm, why: &str) -> Response {
    let typed = Typed {
        adjust: Some(AdjustTyped { points: f.points.clone(), reason: f.reason.clone(), alert: why.to_string() }),
        ..Typed::default()
    };
    crate::console::customers::page_again(v, state, id, &typed).await
}
