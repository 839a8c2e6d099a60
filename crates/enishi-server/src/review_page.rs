//! The review page a customer reaches by their invitation's signed link (no login):
//! `GET /r/{token}` asks for stars and words about the product (or the order), or shows the
//! review once written; `POST /r/{token}` records it, once — a second submission changes
//! nothing and shows the first. In the customer's language; a changed link is refused with
//! 404, an expired one with 410. A review shows in the shop only after a moderator approved it.

use crate::public::{failed, page, refused};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use enishi_campaigns::reviews::{self, Page, Submitted, Wrong};
use enishi_campaigns::template::Language;
use enishi_store::repo::settings;
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/r/{token}", get(show).post(write))
}

async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let now = state.now().timestamp();
    let opened = state
        .run(move |s| {
            Ok(s.read(|c| -> Result<_, enishi_campaigns::Error> {
                let shop = settings::get(c, enishi_campaigns::campaigns::SHOP_NAME)?.unwrap_or_default();
                Ok((reviews::open(c, &token, now)?, shop, token))
            })?)
        })
        .await;
    match opened {
        Ok((Ok(p), _, _)) if p.review.submitted_at.is_some() => written(&p, false).into_response(),
        Ok((Ok(p), shop, token)) => question(&p, &shop, &token, None).into_response(),
        Ok((Err(why), _, _)) => refused(why),
        Err(_) => failed(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ReviewForm {
    stars: Option<String>,
    body: Option<String>,
}

async fn write(State(state): State<AppState>, Path(token): Path<String>, Form(f): Form<ReviewForm>) -> Response {
    let now = state.now().timestamp();
    let form = reviews::Form { stars: f.stars, body: f.body };
    let done = state
        .run(move |s| {
            Ok(s.write(|c| -> Result<_, enishi_campaigns::Error> {
                let shop = settings::get(c, enishi_campaigns::campaigns::SHOP_NAME)?.unwrap_or_default();
                Ok((reviews::submit(c, &token, &form, now)?, shop, token))
            })?)
        })
        .await;
    match done {
        Ok((Submitted::Recorded(p), _, _)) => {
            tracing::info!(review = p.review.id, "review written");
            written(&p, false).into_response()
        }
        Ok((Submitted::AlreadyWritten(p), _, _)) => written(&p, true).into_response(),
        Ok((Submitted::Wrong(p, wrong), shop, token)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, question(&p, &shop, &token, Some(wrong))).into_response()
        }
        Ok((Submitted::Refused(why), _, _)) => refused(why),
        Err(_) => failed(),
    }
}

/// What is reviewed: the product's name (or SKU), or the order.
fn subject(p: &Page) -> String {
    let r = &p.review;
    match (&r.product, &r.sku) {
        (Some(name), _) => name.clone(),
        (None, Some(sku)) => sku.clone(),
        (None, None) => match p.language {
            Language::Japanese => format!("ご注文 {}", r.order),
            Language::English => format!("Your order {}", r.order),
        },
    }
}

/// Stars as ★ and ☆.
fn stars(n: i64) -> String {
    let n = n.clamp(0, 5) as usize;
    format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
}

/// The review's form, with what is wrong with the last one.
fn question(p: &Page, shop: &str, token: &str, wrong: Option<Wrong>) -> Markup {
    let l = p.language;
    let shop = if shop.trim().is_empty() { l.say("our shop", "当店") } else { shop };
    let action = format!("/r/{token}");
    let problem = wrong.map(|w| match w {
        Wrong::Stars => l.say("Please choose from one to five stars.", "星の数（1〜5）をお選びください。"),
        Wrong::Body => l.say(
            "Please keep your review under 2,000 characters, without special characters.",
            "レビューは2,000文字以内で、特殊な文字を含めずにご記入ください。",
        ),
    });
    let body = html! {
        @if let Some(problem) = problem { p class="error" role="alert" { (problem) } }
        p {
            @if l == Language::Japanese { (shop) "でお買い上げいただきありがとうございました。" }
            @else { "Thank you for shopping at " (shop) "." }
        }
        form method="post" action=(action) class="card" {
            fieldset class="choices" {
                legend { strong { (subject(p)) } " — " (l.say("how would you rate it?", "評価をお聞かせください")) }
                @for n in (1..=5).rev() {
                    label { input type="radio" name="stars" value=(n) required; span aria-hidden="true" { (stars(n)) } " " (n) }
                }
            }
            h2 { label for="body" { (l.say("Your review (optional)", "レビュー（任意）")) } }
            textarea id="body" name="body" maxlength=(reviews::MAX_BODY_CHARS) {}
            p class="muted" { (l.say("Reviews are shown in the shop after we have read them.", "いただいたレビューは、当店で確認したのちに掲載します。")) }
            p { button type="submit" { (l.say("Send", "送信する")) } }
        }
    };
    page(l.tag(), l.say("Write a review", "レビューのお願い"), body)
}

/// The review written, with thanks (and a note when this was a second submission).
fn written(p: &Page, again: bool) -> Markup {
    let l = p.language;
    let r = &p.review;
    let body = html! {
        @if again {
            p role="status" { (l.say("You have reviewed this already; your first review stands.", "すでにレビューをいただいています。最初のレビューを記録しています。")) }
        } @else {
            p role="status" { (l.say("Thank you for your review.", "レビューありがとうございました。")) }
        }
        div class="card" id="review" {
            p { strong { (subject(p)) } }
            p { span class="big" aria-label=(format!("{} / 5", r.stars.unwrap_or(0))) { (stars(r.stars.unwrap_or(0))) } }
            @if let Some(text) = &r.body { p style="white-space: pre-wrap" { (text) } }
        }
    };
    page(l.tag(), l.say("Thank you", "ありがとうございました"), body)
}
