//! Putting money and points right from a customer's page: void an order, return some of its
//! units or refund part of its price (the points it earned go back in proportion), and reverse
//! a manual points adjustment with another one linked to it. Owners and marketers only; each
//! asks for a reason, shows exactly what it will do before it does it, and records who did it.

use crate::console::customers::page_again;
use crate::console::i18n::Tr;
use crate::console::notices::Notice;
use crate::console::shell::{carries_csrf, ConsoleManager, ForManagers, Posted, Quoted, Visitor};
use crate::console::till::{form_key, typed_amount, Typed};
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use enishi_core::Currency;
use enishi_ingest::intake::{self, ReturnInput, ReturnLineInput};
use enishi_store::repo::orders;
use enishi_store::{Order, Return, StoreError};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/orders/{order}/returns", post(return_order))
        .route("/customers/{id}/adjustments/{entry}/reversal", post(reverse_adjustment))
}

/// Voiding and refunding orders, and reversing adjustments: for owners and marketers.
pub(crate) struct Correcting;

impl ForManagers for Correcting {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Orders are voided and refunded, and adjustments reversed, by owners and marketers.")
    }
}

/// What a return form takes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taken {
    /// Everything not returned yet: the order is voided.
    All,
    /// The units typed per line.
    Lines,
    /// Part of the price, without goods.
    Amount,
}

/// A void or refund that was refused: the order, what was typed, and why.
#[derive(Debug, Default)]
pub(crate) struct RefusedReturn {
    /// The order (Enishi id).
    pub(crate) order_id: i64,
    what: String,
    amount: String,
    reason: String,
    quantities: HashMap<String, String>,
    alert: String,
}

/// The "void or refund" forms of one order, for the order's details on the customer's page:
/// void it all, return units line by line, or refund an amount; opened, with what was typed
/// and why, after `refused`. Nothing when the order is fully refunded.
pub(crate) fn return_forms(
    tr: Tr,
    cur: Currency,
    customer_id: i64,
    csrf: &str,
    order: &Order,
    refused: Option<&RefusedReturn>,
) -> Markup {
    if order.returned_amount >= order.total {
        // Nothing left to refund; a refusal still says why (it was refunded meanwhile).
        return html! { @if let Some(r) = refused { p role="alert" id="correction-error" { (Quoted(&r.alert)) } } };
    }
    let action = format!("/customers/{customer_id}/orders/{}/returns", order.id);
    // What was typed, in the form it was typed in.
    let typed = |what: &str| refused.filter(|r| r.what == what);
    let reason = |what: &str| {
        let value = typed(what).map_or("", |r| r.reason.as_str());
        html! {
            label { (tr.t("Reason")) " " input name="reason" required maxlength="500" value=(value); }
        }
    };
    let quantity =
        |i: usize| typed("lines").and_then(|r| r.quantities.get(&format!("q{i}"))).map_or("0", |q| q.as_str());
    let hidden = |what: &str| {
        html! {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="key" value=(form_key());
            input type="hidden" name="what" value=(what);
        }
    };
    html! {
        details class="order-corrections" open[refused.is_some()] {
            summary { (tr.t("Void or refund…")) }
            @if let Some(r) = refused { p role="alert" id="correction-error" { (Quoted(&r.alert)) } }
            form method="post" action=(action) class="void-order" {
                (hidden("all"))
                p class="muted" { (tr.t("Void the order: everything not returned yet is refunded, and the points it earned are taken back.")) }
                (reason("all")) " " button { (tr.t("Void the order")) }
            }
            form method="post" action=(action) class="return-lines" {
                (hidden("lines"))
                p class="muted" { (tr.t("Return some units: the refund is their share of what was paid.")) }
                @for (i, l) in order.lines.iter().enumerate() {
                    label {
                        code { (l.sku) } " " (l.product_name.as_deref().unwrap_or("")) " "
                        (tr.f("(bought {})", &[&l.quantity])) " "
                        input name={ "q" (i) } type="number" min="0" max=(l.quantity) value=(quantity(i)) size="4" inputmode="numeric";
                    } br;
                }
                (reason("lines")) " " button { (tr.t("Return these units")) }
            }
            form method="post" action=(action) class="refund-amount" {
                (hidden("amount"))
                p class="muted" { (tr.t("Refund part of the price without goods (a price correction).")) }
                label {
                    (tr.f("Amount ({})", &[&cur.symbol().unwrap_or(cur.as_str())])) " "
                    input name="amount" inputmode="decimal" required autocomplete="off" value=(typed("amount").map_or("", |r| r.amount.as_str()));
                } " "
                (reason("amount")) " " button { (tr.t("Refund this amount")) }
            }
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ReturnForm {
    csrf: String,
    key: String,
    what: String,
    amount: String,
    reason: String,
    /// `yes` once the visitor has seen what the return does and confirmed it.
    confirmed: String,
    /// Units per order line, as `q0`, `q1`, … (and nothing else the form does not send).
    #[serde(flatten)]
    quantities: HashMap<String, String>,
}

carries_csrf!(ReturnForm);

/// The return `f` asks of `order`, or why it is no return, in the visitor's words.
fn return_input(
    tr: Tr,
    cur: Currency,
    order: &Order,
    f: &ReturnForm,
    by: String,
) -> Result<(Taken, ReturnInput), String> {
    let reason = f.reason.trim();
    if reason.is_empty() {
        return Err(tr.t("Say why: the reason stays with the refund and the points taken back.").to_string());
    }
    // The form's own key makes sending it twice one return; named after the order, so that
    // the timeline says which order it was.
    let key: String = f.key.trim().trim_start_matches("console-").chars().take(12).collect();
    if key.is_empty() {
        return Err(tr.t("This form is out of date: open the customer's page again.").to_string());
    }
    let order_part: String = order.order_id.chars().take(100).collect();
    let mut input = ReturnInput {
        return_id: format!("{order_part}-R{key}"),
        returned_at: None,
        reason: Some(reason.to_string()),
        lines: Vec::new(),
        amount: None,
        by: Some(by),
    };
    let taken = match f.what.as_str() {
        "all" => Taken::All,
        "lines" => {
            for (i, l) in order.lines.iter().enumerate() {
                let typed = f.quantities.get(&format!("q{i}")).map_or("", |q| q.trim());
                let quantity = match typed {
                    "" | "0" => continue,
                    q => q
                        .parse::<i64>()
                        .ok()
                        .filter(|&q| q > 0 && q <= l.quantity)
                        .ok_or_else(|| tr.f("{}: write a number of units from 0 to {}.", &[&l.sku, &l.quantity]))?,
                };
                input.lines.push(ReturnLineInput { sku: l.sku.clone(), quantity });
            }
            if input.lines.is_empty() {
                return Err(tr.t("Type how many units of which line come back.").to_string());
            }
            Taken::Lines
        }
        "amount" => {
            let amount = typed_amount(tr, cur, &f.amount)?;
            input.amount = Some(amount.to_string());
            Taken::Amount
        }
        _ => return Err(tr.t("Choose to void the order, return units or refund an amount.").to_string()),
    };
    Ok((taken, input))
}

/// How a return went, or would go.
enum Trial {
    /// It would refund this and take back these points (the trial is rolled back).
    Would(Box<Return>, i64),
    /// Refused.
    Refused(ApiError),
}

impl From<StoreError> for Trial {
    fn from(e: StoreError) -> Self {
        Trial::Refused(e.into())
    }
}

async fn return_order(
    ConsoleManager(v, _): ConsoleManager<Correcting>,
    State(state): State<AppState>,
    Path((id, order_id)): Path<(i64, i64)>,
    Posted(f): Posted<ReturnForm>,
) -> Response {
    let tr = v.tr();
    let ws = state.workspace();
    let found = state.run(move |s| Ok(s.read(|c| orders::get(c, order_id))?)).await;
    let order = match found {
        Ok(Some(o)) if o.customer_id == id => o,
        Ok(_) => return v.not_found(),
        Err(e) => return e.into_response(),
    };
    let by = format!("console: {}", v.user.email);
    // The customer's page again, the form keeping what was typed.
    let again = |f: ReturnForm, why: String| {
        let ret = RefusedReturn {
            order_id,
            what: f.what,
            amount: f.amount,
            reason: f.reason,
            quantities: f.quantities,
            alert: why,
        };
        let (v, state) = (v.clone(), state.clone());
        async move { page_again(&v, &state, id, &Typed { ret: Some(ret), ..Typed::default() }).await }
    };
    let (taken, input) = match return_input(tr, ws.currency, &order, &f, by) {
        Ok(x) => x,
        Err(why) => return again(f, why).await,
    };
    let confirmed = f.confirmed == "yes";
    let (order_ref, actor) = (order.order_id.clone(), v.actor());
    // Unconfirmed, the return is made and rolled back, to say exactly what it would do.
    let outcome = state
        .run(move |s| {
            let trial = s.write(|c| -> Result<(Return, i64), Trial> {
                let (r, new, points) = intake::record_return(c, &order_ref, &input, ws).map_err(|e| Trial::Refused(e.into()))?;
                if !confirmed {
                    return Err(Trial::Would(Box::new(r), points));
                }
                if new {
                    let subject = format!("customer:{}", r.customer_id);
                    let after = json!({"order_id": order_ref, "return_id": r.return_id, "amount": r.amount, "points_reversed": points});
                    crate::audit::record(c, &actor, "orders.refund", &subject, Some(after))?;
                }
                Ok((r, points))
            });
            Ok(match trial {
                Ok((r, points)) => Ok((r, points, true)),
                Err(Trial::Would(r, points)) => Ok((*r, points, false)),
                Err(Trial::Refused(e)) => Err(e),
            })
        })
        .await;
    match outcome {
        Ok(Ok((r, points, true))) => {
            let notice =
                Notice::Returned { order: order.order_id, amount: r.amount, points, voided: taken == Taken::All };
            let key = state.notices.put(v.user.id, id, notice);
            Redirect::to(&format!("/customers/{id}?recorded={key}")).into_response()
        }
        Ok(Ok((r, points, false))) => confirmation(&v, ws.currency, id, &order, &f, taken, &r, points),
        Ok(Err(e)) | Err(e) if e.status.is_client_error() => again(f, tr.message(&e.detail)).await,
        Ok(Err(e)) | Err(e) => e.into_response(),
    }
}

/// What a return will do, and the button that does it (the form sent again, confirmed).
#[allow(clippy::too_many_arguments)]
fn confirmation(
    v: &Visitor,
    cur: Currency,
    customer_id: i64,
    order: &Order,
    f: &ReturnForm,
    taken: Taken,
    would: &Return,
    points: i64,
) -> Response {
    let tr = v.tr();
    let title = match taken {
        Taken::All => tr.f("Void order {}?", &[&order.order_id]),
        Taken::Lines | Taken::Amount => tr.f("Refund on order {}?", &[&order.order_id]),
    };
    let body = html! {
        h1 { (title) }
        section class="card" id="correction-confirm" {
            p {
                (tr.f("{} is refunded to the customer and {} points are taken back.", &[&cur.format(would.amount), &points]))
                @if points == 0 { " " (tr.t("(The order earned no points that are still to take back.)")) }
            }
            @if !would.lines.is_empty() {
                ul { @for l in &would.lines { li { code { (l.sku) } " × " (l.quantity) } } }
            }
            p { (tr.t("Reason")) ": " (f.reason.trim()) }
            form method="post" action={ "/customers/" (customer_id) "/orders/" (order.id) "/returns" } {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="key" value=(f.key);
                input type="hidden" name="what" value=(f.what);
                input type="hidden" name="amount" value=(f.amount);
                input type="hidden" name="reason" value=(f.reason);
                input type="hidden" name="confirmed" value="yes";
                @for (i, _) in order.lines.iter().enumerate() {
                    @if let Some(q) = f.quantities.get(&format!("q{i}")) {
                        input type="hidden" name={ "q" (i) } value=(q);
                    }
                }
                button autofocus { (match taken { Taken::All => tr.t("Yes, void the order"), _ => tr.t("Yes, refund") }) }
                " " a href={ "/customers/" (customer_id) "#order-" (order.id) } { (tr.t("Cancel")) }
            }
        }
    };
    v.page(&title, body).into_response()
}

/// The "reverse" form of a manual adjustment on the customer's timeline; `open` after a
/// refusal (said at the top of the page).
pub(crate) fn reverse_form(tr: Tr, customer_id: i64, entry_id: i64, csrf: &str, open: bool) -> Markup {
    html! {
        details class="reverse" open[open] {
            summary { (tr.t("Reverse…")) }
            form method="post" action={ "/customers/" (customer_id) "/adjustments/" (entry_id) "/reversal" } {
                input type="hidden" name="csrf" value=(csrf);
                label { (tr.t("Reason")) " " input name="reason" required maxlength="500"; } " "
                button { (tr.t("Reverse the adjustment")) }
            }
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ReversalForm {
    csrf: String,
    reason: String,
}

carries_csrf!(ReversalForm);

async fn reverse_adjustment(
    ConsoleManager(v, _): ConsoleManager<Correcting>,
    State(state): State<AppState>,
    Path((id, entry_id)): Path<(i64, i64)>,
    Posted(f): Posted<ReversalForm>,
) -> Response {
    let tr = v.tr();
    let again = |why: String| {
        let (v, state) = (v.clone(), state.clone());
        async move { page_again(&v, &state, id, &Typed { reversal: Some((entry_id, why)), ..Typed::default() }).await }
    };
    if f.reason.trim().is_empty() {
        return again(tr.t("Say why: the reason stays with the reversal.").to_string()).await;
    }
    let (actor, now) = (v.actor(), state.now().timestamp());
    let by = format!("console: {}", v.user.email);
    let done = state
        .with_programs(true, move |c, programs| {
            let r = enishi_rewards::Reversal { customer_id: id, entry_id, reason: f.reason.trim(), by: &by };
            let balance = enishi_rewards::reverse_adjustment(c, programs, &r, now)?;
            let after = json!({"reverses": entry_id, "reason": f.reason.trim(), "balance": balance});
            crate::audit::record(c, &actor, "points.reverse", &format!("customer:{id}"), Some(after))?;
            Ok(balance)
        })
        .await;
    match done {
        Ok(_) => Redirect::to(&format!("/customers/{id}?done=reversed")).into_response(),
        Err(e) if e.status == StatusCode::NOT_FOUND => v.not_found(),
        Err(e) if e.status.is_client_error() => again(tr.message(&e.detail)).await,
        Err(e) => e.into_response(),
    }
}
