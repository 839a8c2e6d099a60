//! Privacy requests from the console (admins): a customer's data as a JSON download, and
//! erasure, confirmed by typing the customer's shop id.

use crate::console::i18n::Tr;
use crate::console::shell::{carries_csrf, ConsoleAdmin, Posted, Quoted};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_store::repo::customers;
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/customers/{id}/privacy-export", get(download)).route("/customers/{id}/erase", post(erase))
}

/// The customer page's privacy card, for admins.
pub(crate) fn privacy_card(tr: Tr, customer_id: i64, csrf: &str) -> Markup {
    html! {
        section class="card" id="privacy" {
            h2 { (tr.t("Privacy request")) }
            p { a href={ "/customers/" (customer_id) "/privacy-export" } { (tr.t("Download everything held about this customer (JSON)")) } }
            form method="post" action={ "/customers/" (customer_id) "/erase" } {
                input type="hidden" name="csrf" value=(csrf);
                p {
                    (tr.t("Erasing deletes the profile, consent history, messages, interactions and events for good; orders and points stay, anonymised."))
                }
                label { (tr.t("Type the customer's id to confirm")) " " input name="confirm" required autocomplete="off"; } " "
                button { (tr.t("Erase this customer")) }
            }
        }
    }
}

async fn download(ConsoleAdmin(v): ConsoleAdmin, State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    let actor = v.actor();
    let data = state.run(move |s| Ok(enishi_ingest::privacy::export(s, id, &actor)?)).await;
    match data {
        Ok(Some(d)) => (
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"customer-{id}.json\"")),
            ],
            serde_json::to_string_pretty(&d).unwrap_or_default(),
        )
            .into_response(),
        Ok(None) => v.not_found(),
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct EraseForm {
    csrf: String,
    confirm: String,
}

carries_csrf!(EraseForm);

async fn erase(
    ConsoleAdmin(v): ConsoleAdmin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<EraseForm>,
) -> Response {
    let found = state.run(move |s| Ok(s.read(|c| customers::get(c, id))?)).await;
    let customer = match found {
        Ok(Some(c)) => c,
        Ok(None) => return v.not_found(),
        Err(e) => return e.into_response(),
    };
    if f.confirm.trim() != customer.external_id {
        let tr = v.tr();
        let html = html! {
            h1 { (tr.t("Customer not erased")) }
            p role="alert" { (Quoted(&tr.f("Type the customer's id, {}, to confirm.", &[&customer.external_id]))) }
            p { a href={ "/customers/" (id) } { (tr.t("Back to the customer")) } }
        };
        return (StatusCode::UNPROCESSABLE_ENTITY, v.page(tr.t("Customer not erased"), html)).into_response();
    }
    let actor = v.actor();
    let done = state.run(move |s| Ok(enishi_ingest::privacy::erase(s, id, &actor)?)).await;
    match done {
        Ok(_) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(e) => e.into_response(),
    }
}
