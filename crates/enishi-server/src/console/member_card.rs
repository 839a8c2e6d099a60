//! The printable member card of a customer (everyone signed in; docs/listening.md, "The
//! customer's own page"): the shop's name, the customer's name and member code, and the QR
//! code of the link to their own page, to print on a card or a receipt — `/customers/{id}/card`
//! — and the QR code alone as an SVG file, `/customers/{id}/card.svg`. Each makes a new link
//! (valid for the `my_page_valid_days` setting) and is audited as `customer.card`.

use crate::console::shell::ConsoleUser;
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use enishi_campaigns::my_page;
use enishi_store::repo::{customers, settings};
use enishi_store::Customer;
use maud::{html, PreEscaped};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/customers/{id}/card", get(card_page)).route("/customers/{id}/card.svg", get(card_svg))
}

/// A customer's card as made: the customer, the shop's name, the link and its QR code.
struct Card {
    customer: Customer,
    shop: String,
    link: String,
    svg: String,
}

/// Makes the card of customer `id` (a new link), audited; `None` for no such customer.
async fn make(state: &AppState, actor: String, id: i64) -> Result<Option<Card>, ApiError> {
    let now = state.now().timestamp();
    state
        .run(move |s| {
            s.write(|c| {
                let Some(customer) = customers::get(c, id)? else { return Ok(None) };
                if customer.external_id.starts_with("erased:") {
                    return Ok(None);
                }
                let shop = settings::get(c, enishi_campaigns::campaigns::SHOP_NAME)?.unwrap_or_default();
                let link = my_page::link(c, id, now).map_err(ApiError::internal)?;
                let svg = my_page::qr_svg(&link).map_err(ApiError::internal)?;
                crate::audit::record(c, &actor, "customer.card", &customer.external_id, None)?;
                Ok(Some(Card { customer, shop, link, svg }))
            })
        })
        .await
}

async fn card_page(ConsoleUser(v): ConsoleUser, State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let tr = v.tr();
    let Ok(id) = id.parse::<i64>() else { return v.not_found() };
    let card = match make(&state, v.actor(), id).await {
        Ok(Some(card)) => card,
        Ok(None) => return v.not_found(),
        Err(e) => return e.into_response(),
    };
    let k = &card.customer;
    let name = k.name.as_deref().unwrap_or(&k.external_id);
    let body = html! {
        p class="no-print" {
            a href={ "/customers/" (k.id) } { (tr.t("Back to the customer")) } " · "
            a href={ "/customers/" (k.id) "/card.svg" } id="card-svg" download="member-card.svg" { (tr.t("Download the QR code (SVG)")) }
        }
        p class="no-print muted" { (tr.t("Print this page (Ctrl+P or ⌘P): only the card is printed. The code opens the customer's own page — points, tier, coupons and contact preferences — without a password, for a year.")) }
        section class="member-card" id="member-card" {
            @if !card.shop.is_empty() { p class="shop" { (card.shop) } }
            p class="holder" { (name) }
            div class="qr" { (PreEscaped(&card.svg)) }
            p { (tr.t("Member code")) " " strong class="mono" id="member-code" { (k.external_id) } }
            p class="muted small" { (tr.t("Scan to see your points and coupons.")) }
            p class="mono link" id="card-link" { (card.link) }
        }
    };
    v.page(tr.t("Member card"), body).into_response()
}

async fn card_svg(ConsoleUser(v): ConsoleUser, State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else { return v.not_found() };
    match make(&state, v.actor(), id).await {
        Ok(Some(card)) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"member-card.svg\""),
                (header::CACHE_CONTROL, "no-store"),
            ],
            card.svg,
        )
            .into_response(),
        Ok(None) => v.not_found(),
        Err(e) => e.into_response(),
    }
}
