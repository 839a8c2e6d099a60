//! The customer's unsubscribe page, reached by the signed link in every campaign message: no
//! login. `GET /u/{token}` asks (a link scanner that fetches it changes nothing); `POST
//! /u/{token}` withdraws the consent — the page's button, and the one-click POST that mail
//! providers send (RFC 8058, `List-Unsubscribe=One-Click`). In the customer's language.

use crate::public::{failed, page, refused};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use enishi_campaigns::links::Refused;
use enishi_campaigns::unsubscribe::{subscriber, unsubscribe, Subscriber};
use maud::{html, Markup};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/u/{token}", get(ask).post(confirm))
}

fn invalid() -> Response {
    refused(Refused::Invalid)
}

async fn ask(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let store = state.store.clone();
    let found = tokio::task::spawn_blocking(move || store.write(|c| subscriber(c, &token).map(|s| (s, token)))).await;
    match found {
        Ok(Ok((Some(s), token))) => asking(&s, &token).into_response(),
        Ok(Ok((None, _))) => invalid(),
        _ => failed(),
    }
}

fn asking(s: &Subscriber, token: &str) -> Markup {
    let action = format!("/u/{token}");
    if s.language == "ja" {
        if s.opted_out {
            return page("ja", "配信停止済みです", html! { p { "このお知らせの配信はすでに停止しています。" } });
        }
        page(
            "ja",
            "配信停止",
            html! {
                p { "「" (s.campaign) "」などのお知らせの配信を停止しますか？" }
                form method="post" action=(action) {
                    button type="submit" { "配信を停止する" }
                }
            },
        )
    } else {
        if s.opted_out {
            return page("en", "You are unsubscribed", html! { p { "You will not get these messages any more." } });
        }
        page(
            "en",
            "Unsubscribe",
            html! {
                p { "Stop messages such as \u{201c}" (s.campaign) "\u{201d}?" }
                form method="post" action=(action) {
                    button type="submit" { "Unsubscribe" }
                }
            },
        )
    }
}

async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let store = state.store.clone();
    let done = tokio::task::spawn_blocking(move || store.write(|c| unsubscribe(c, &token))).await;
    match done {
        Ok(Ok(Some(s))) => {
            tracing::info!(customer = s.customer_id, campaign = %s.campaign, "unsubscribed by link");
            if s.language == "ja" {
                page(
                    "ja",
                    "配信を停止しました",
                    html! { p { "今後このお知らせはお送りしません。ご利用ありがとうございました。" } },
                )
                .into_response()
            } else {
                page(
                    "en",
                    "You are unsubscribed",
                    html! { p { "You will not get these messages any more. Thank you." } },
                )
                .into_response()
            }
        }
        Ok(Ok(None)) => invalid(),
        _ => failed(),
    }
}
