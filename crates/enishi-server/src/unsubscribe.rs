//! The customer's unsubscribe page, reached by the signed link in every campaign message: no
//! login. `GET /u/{token}` asks (a link scanner that fetches it changes nothing); `POST
//! /u/{token}` withdraws the consent — the page's button, and the one-click POST that mail
//! providers send (RFC 8058, `List-Unsubscribe=One-Click`). In the customer's language.

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use enishi_campaigns::unsubscribe::{subscriber, unsubscribe, Subscriber};
use maud::{html, Markup, DOCTYPE};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/u/{token}", get(ask).post(confirm))
}

fn page(language: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(language) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
            }
            body style="font-family: sans-serif; max-width: 32rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.6" {
                h1 style="font-size: 1.3rem" { (title) }
                (body)
            }
        }
    }
}

fn invalid() -> Response {
    let body = html! {
        p { "このリンクは無効です。メールに記載のリンクをそのままお使いください。" }
        p lang="en" { "This link is not valid. Please use the link exactly as it is in the email." }
    };
    (StatusCode::NOT_FOUND, page("ja", "リンクが無効です / Invalid link", body)).into_response()
}

fn failed() -> Response {
    let body = html! {
        p { "ただいま処理できません。時間をおいてもう一度お試しください。" }
        p lang="en" { "This could not be done just now. Please try again in a little while." }
    };
    (StatusCode::SERVICE_UNAVAILABLE, page("ja", "エラー / Error", body)).into_response()
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
                    button type="submit" style="font-size: 1rem; padding: .7rem 1.2rem; min-height: 44px" { "配信を停止する" }
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
                    button type="submit" style="font-size: 1rem; padding: .7rem 1.2rem; min-height: 44px" { "Unsubscribe" }
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
