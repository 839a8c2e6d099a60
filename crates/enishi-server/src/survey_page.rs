//! The survey page a customer reaches by their invitation's signed link (no login):
//! `GET /s/{token}` shows the question, or the answer once there is one; `POST /s/{token}`
//! records the answer, once — a second submission changes nothing and shows the first. In the
//! customer's language; a changed link is refused with 404, an expired one with 410.

use crate::public::{failed, page, refused};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use enishi_campaigns::surveys::{self, csat_label, reason_label, Page, Submitted, Wrong, STOP_REASONS};
use enishi_campaigns::template::Language;
use enishi_store::repo::settings;
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/s/{token}", get(show).post(answer))
}

async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let now = state.now().timestamp();
    let opened = state
        .run(move |s| {
            Ok(s.read(|c| -> Result<_, enishi_campaigns::Error> {
                let shop = settings::get(c, enishi_campaigns::campaigns::SHOP_NAME)?.unwrap_or_default();
                Ok((surveys::open(c, &token, now)?, shop, token))
            })?)
        })
        .await;
    match opened {
        Ok((Ok(p), _, _)) if p.invitation.answered_at.is_some() => answered(&p, false).into_response(),
        Ok((Ok(p), shop, token)) => question(&p, &shop, &token, None).into_response(),
        Ok((Err(why), _, _)) => refused(why),
        Err(_) => failed(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct AnswerForm {
    score: Option<String>,
    reason: Option<String>,
    comment: Option<String>,
}

async fn answer(State(state): State<AppState>, Path(token): Path<String>, Form(f): Form<AnswerForm>) -> Response {
    let now = state.now().timestamp();
    let form = surveys::Form { score: f.score, reason: f.reason, comment: f.comment };
    let done = state
        .run(move |s| {
            Ok(s.write(|c| -> Result<_, enishi_campaigns::Error> {
                let shop = settings::get(c, enishi_campaigns::campaigns::SHOP_NAME)?.unwrap_or_default();
                Ok((surveys::submit(c, &token, &form, now)?, shop, token))
            })?)
        })
        .await;
    match done {
        Ok((Submitted::Recorded(p), _, _)) => {
            tracing::info!(invitation = p.invitation.id, "survey answered");
            answered(&p, false).into_response()
        }
        Ok((Submitted::AlreadyAnswered(p), _, _)) => answered(&p, true).into_response(),
        Ok((Submitted::Wrong(p, wrong), shop, token)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, question(&p, &shop, &token, Some(wrong))).into_response()
        }
        Ok((Submitted::Refused(why), _, _)) => refused(why),
        Err(_) => failed(),
    }
}

fn title(p: &Page) -> &'static str {
    p.language.say("A short survey", "アンケートのお願い")
}

/// The question's form, with what is wrong with the last answer.
fn question(p: &Page, shop: &str, token: &str, wrong: Option<Wrong>) -> Markup {
    let l = p.language;
    let shop = if shop.trim().is_empty() { l.say("our shop", "当店") } else { shop };
    let action = format!("/s/{token}");
    let problem = wrong.map(|w| match w {
        Wrong::Score => l.say("Please choose one of the answers.", "いずれかをお選びください。"),
        Wrong::Reason => l.say("Please choose a reason.", "理由をお選びください。"),
        Wrong::Comment => l.say(
            "Please keep your comment under 2,000 characters, without special characters.",
            "ご意見は2,000文字以内で、特殊な文字を含めずにご記入ください。",
        ),
    });
    let body = html! {
        @if let Some(problem) = problem { p class="error" role="alert" { (problem) } }
        form method="post" action=(action) class="card" {
            @match p.invitation.kind.as_str() {
                "nps" => {
                    fieldset {
                        legend {
                            @if l == Language::Japanese { (shop) "をご友人や同僚にすすめる可能性はどのくらいありますか？" }
                            @else { "How likely are you to recommend " (shop) " to a friend or colleague?" }
                        }
                        p class="muted" { (l.say("0 = not at all likely, 10 = extremely likely", "0 = まったくすすめない、10 = ぜひすすめたい")) }
                        div class="scale" {
                            @for n in 0..=10 {
                                label { input type="radio" name="score" value=(n) required; (n) }
                            }
                        }
                    }
                }
                "csat" => {
                    fieldset class="choices" {
                        legend {
                            @if l == Language::Japanese { (shop) "にどのくらい満足していますか？" }
                            @else { "How satisfied are you with " (shop) "?" }
                        }
                        @for level in (1..=5).rev() {
                            label { input type="radio" name="score" value=(level) required; (csat_label(level, l)) }
                        }
                    }
                }
                _ => {
                    fieldset class="choices" {
                        legend { (l.say("Why have you stopped shopping with us?", "最近ご利用がない理由を教えてください。")) }
                        @for (key, _, _) in STOP_REASONS {
                            label { input type="radio" name="reason" value=(key) required; (reason_label(key, l)) }
                        }
                    }
                }
            }
            h2 { label for="comment" { (l.say("Anything you would like to tell us? (optional)", "ご意見・ご感想（任意）")) } }
            textarea id="comment" name="comment" maxlength=(surveys::MAX_COMMENT_CHARS) {}
            p { button type="submit" { (l.say("Send", "送信する")) } }
        }
    };
    page(l.tag(), title(p), body)
}

/// The answer given, with thanks (and a note when this was a second submission).
fn answered(p: &Page, again: bool) -> Markup {
    let l = p.language;
    let i = &p.invitation;
    let given = match (i.kind.as_str(), i.score, i.reason.as_deref()) {
        ("csat", Some(level), _) => csat_label(level, l).to_string(),
        (_, Some(score), _) => format!("{score} / 10"),
        (_, _, Some(reason)) => reason_label(reason, l),
        _ => String::new(),
    };
    let body = html! {
        @if again {
            p role="status" { (l.say("You have answered this survey already; your first answer stands.", "このアンケートにはすでにご回答いただいています。最初のご回答を記録しています。")) }
        } @else {
            p role="status" { (l.say("Thank you for your answer.", "ご回答ありがとうございました。")) }
        }
        div class="card" id="answer" {
            p { (l.say("Your answer:", "ご回答：")) " " strong { (given) } }
            @if let Some(comment) = &i.comment { p class="said" { (comment) } }
        }
    };
    page(l.tag(), l.say("Thank you", "ありがとうございました"), body)
}
