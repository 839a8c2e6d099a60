//! The public join page (docs/join.md): `GET /join` shows the sign-up form — name, furigana,
//! email and/or phone, birthday month, and consent per channel with its wording — and `POST
//! /join` takes it (also from a plain HTML form on the shop's own web site: no script, no
//! cookie). A sign-up with an email is confirmed by the link in an email, `GET
//! /join/confirm/{token}` (asks: a mail scanner that fetches the link changes nothing) and
//! `POST /join/confirm/{token}` (confirms). The page answers the same whether the customer was
//! known or not; a bot that fills the hidden field gets the same answer and nothing is
//! written. Besides the public pages' limit, one address may post [`SIGN_UPS_PER_MINUTE`]
//! sign-ups a minute. Japanese or English by `?lang=` or the browser's language.

use crate::public::{failed, page, refused, too_many};
use crate::AppState;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use enishi_campaigns::joins::{self, Confirmed, Form, Joined, Wrong};
use enishi_campaigns::template::Language;
use enishi_core::ConsentChannel;
use enishi_store::repo::settings;
use maud::{html, Markup};
use serde::Deserialize;
use std::net::SocketAddr;

/// Sign-ups one address may post in a minute.
pub(crate) const SIGN_UPS_PER_MINUTE: u32 = 5;

/// The largest form body taken (bytes): far more than any honest form.
const MAX_BODY: usize = 16 * 1024;

/// The name of the hidden field that only bots fill.
pub(crate) const HONEYPOT: &str = "website";

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/join", get(show).post(submit)).route("/join/confirm/{token}", get(ask).post(confirm))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Lang {
    lang: Option<String>,
}

/// The page's language: `lang` (from the address or the form) when it is `ja` or `en`, else
/// the browser's first language.
fn language(lang: Option<&str>, headers: &HeaderMap) -> Language {
    match lang.map(str::trim) {
        Some("ja") => Language::Japanese,
        Some("en") => Language::English,
        _ => {
            let wanted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
            Language::of(wanted.split(',').next().unwrap_or("").trim())
        }
    }
}

async fn shop_name(state: &AppState) -> String {
    state
        .run(|s| Ok(s.read(|c| settings::get(c, enishi_campaigns::campaigns::SHOP_NAME))?))
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

async fn show(State(state): State<AppState>, Query(q): Query<Lang>, headers: HeaderMap) -> Response {
    let l = language(q.lang.as_deref(), &headers);
    let shop = shop_name(&state).await;
    let form = Form { language: l, ..Form::default() };
    view(&form, &shop, &[]).into_response()
}

/// The form, posted as `application/x-www-form-urlencoded`: each ticked channel is a
/// `channel` field.
fn read_form(body: &str, headers: &HeaderMap) -> (Form, bool) {
    let mut f = Form::default();
    let (mut lang, mut honeypot) = (None, false);
    for (k, v) in form_urlencoded::parse(body.as_bytes()) {
        match k.as_ref() {
            "name" => f.name = v.into_owned(),
            "furigana" => f.furigana = v.into_owned(),
            "email" => f.email = v.into_owned(),
            "phone" => f.phone = v.into_owned(),
            "birthday_month" => f.birthday_month = v.into_owned(),
            "channel" => f.channels.push(v.into_owned()),
            "lang" => lang = Some(v.into_owned()),
            HONEYPOT => honeypot = !v.trim().is_empty(),
            _ => {}
        }
    }
    f.language = language(lang.as_deref(), headers);
    (f, honeypot)
}

async fn submit(State(state): State<AppState>, req: Request) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let headers = req.headers().clone();
    let ip = crate::console::sign_in::client_ip(peer, &headers);
    if let Err(e) = state.public_pages.check_for(&format!("join:{ip}"), SIGN_UPS_PER_MINUTE, "sign-ups") {
        return too_many(e.retry_after.unwrap_or(60));
    }
    // Not UTF-8, or more than the form can hold: refused before anything is read.
    let Ok(bytes) = axum::body::to_bytes(req.into_body(), MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response();
    };
    let Ok(body) = std::str::from_utf8(&bytes) else {
        return (StatusCode::BAD_REQUEST, "the form is not UTF-8").into_response();
    };
    let (mut form, honeypot) = read_form(body, &headers);
    form.phone_country = state.workspace().phone_country;
    let now = state.now().timestamp();
    let shop = shop_name(&state).await;
    let posted = form.clone();
    let done = state
        .with_programs(true, move |c, programs| {
            joins::submit(c, programs, &posted, honeypot, now).map_err(crate::ApiError::internal)
        })
        .await;
    match done {
        Ok(Ok(joined)) => {
            if honeypot {
                tracing::info!(%ip, "join page: a bot filled the hidden field; nothing recorded");
            }
            thanks(form.language, joined).into_response()
        }
        Ok(Err(wrong)) => (StatusCode::UNPROCESSABLE_ENTITY, view(&form, &shop, &wrong)).into_response(),
        Err(_) => failed(),
    }
}

/// The consent wording of a channel, with the shop's name.
fn consent_wording(channel: ConsentChannel, shop: &str, l: Language) -> String {
    let shop = if shop.trim().is_empty() { l.say("the shop", "当店").to_string() } else { shop.to_string() };
    match (l, channel) {
        (Language::English, ConsentChannel::Email) => format!(
            "I agree to receive news and offers from {shop} by email. Every email has a link to stop them."
        ),
        (Language::English, ConsentChannel::Sms) => {
            format!("I agree to receive news and offers from {shop} by text message (SMS). I can stop them at any time.")
        }
        (Language::English, ConsentChannel::Postal) => {
            format!("I agree to receive letters and offers from {shop} by post. I can stop them at any time.")
        }
        (Language::English, ConsentChannel::Phone) => {
            format!("I agree that {shop} may call me about news and offers. I can stop this at any time.")
        }
        (Language::Japanese, ConsentChannel::Email) => format!(
            "{shop}からのお知らせや特典をメールで受け取ることに同意します。配信はメール内のリンクからいつでも停止できます。"
        ),
        (Language::Japanese, ConsentChannel::Sms) => {
            format!("{shop}からのお知らせや特典をSMS（ショートメッセージ）で受け取ることに同意します。いつでも停止できます。")
        }
        (Language::Japanese, ConsentChannel::Postal) => {
            format!("{shop}からのお知らせや特典を郵便で受け取ることに同意します。いつでも停止できます。")
        }
        (Language::Japanese, ConsentChannel::Phone) => {
            format!("{shop}からお知らせや特典についてお電話を受けることに同意します。いつでも停止できます。")
        }
    }
}

fn problem(w: Wrong, l: Language) -> &'static str {
    match w {
        Wrong::Name => l.say("Please enter your name (up to 100 characters).", "お名前を100文字以内でご入力ください。"),
        Wrong::Furigana => {
            l.say("Please keep the furigana under 100 characters.", "フリガナは100文字以内でご入力ください。")
        }
        Wrong::Email => l.say("Please check the email address.", "メールアドレスをご確認ください。"),
        Wrong::Phone => l.say(
            "Please check the phone number (digits, with - or spaces if you like).",
            "電話番号をご確認ください（数字のみ、ハイフン可）。",
        ),
        Wrong::Contact => l.say(
            "Please give an email address or a phone number.",
            "メールアドレスか電話番号のどちらかをご入力ください。",
        ),
        Wrong::BirthdayMonth => l.say("Please choose a month from the list.", "誕生月は一覧からお選びください。"),
        Wrong::Consent => l.say(
            "To hear from us by email, SMS or phone, please give that address or number.",
            "メール・SMS・お電話でのご連絡をご希望の場合は、そのメールアドレスまたは電話番号をご入力ください。",
        ),
    }
}

fn title(l: Language) -> &'static str {
    l.say("Join our members", "会員登録")
}

/// The sign-up form (with what was typed, and what is wrong with it).
fn view(f: &Form, shop: &str, wrong: &[Wrong]) -> Markup {
    let l = f.language;
    let months = [
        ("1", "January", "1月"),
        ("2", "February", "2月"),
        ("3", "March", "3月"),
        ("4", "April", "4月"),
        ("5", "May", "5月"),
        ("6", "June", "6月"),
        ("7", "July", "7月"),
        ("8", "August", "8月"),
        ("9", "September", "9月"),
        ("10", "October", "10月"),
        ("11", "November", "11月"),
        ("12", "December", "12月"),
    ];
    let body = html! {
        @if !shop.trim().is_empty() { p class="muted" { (shop) } }
        @if !wrong.is_empty() {
            div class="error" role="alert" id="join-errors" {
                @for w in wrong { p { (problem(*w, l)) } }
            }
        }
        form method="post" action="/join" class="card" id="join" {
            input type="hidden" name="lang" value=(l.tag());
            p { label for="name" { (l.say("Name", "お名前")) " " span class="muted" { (l.say("(required)", "（必須）")) } } br;
                input type="text" id="name" name="name" required maxlength=(joins::MAX_NAME_CHARS) autocomplete="name" value=(f.name); }
            p { label for="furigana" { (l.say("Furigana (how your name reads)", "フリガナ")) } br;
                input type="text" id="furigana" name="furigana" maxlength=(joins::MAX_NAME_CHARS) value=(f.furigana); }
            p class="muted" { (l.say("An email address, a phone number, or both:", "メールアドレスか電話番号（両方でも可）：")) }
            p { label for="email" { (l.say("Email", "メールアドレス")) } br;
                input type="email" id="email" name="email" maxlength=(joins::MAX_CONTACT_CHARS) autocomplete="email" inputmode="email" value=(f.email); }
            p { label for="phone" { (l.say("Phone", "電話番号")) } br;
                input type="tel" id="phone" name="phone" maxlength="30" autocomplete="tel" inputmode="tel" value=(f.phone); }
            p { label for="birthday_month" { (l.say("Birthday month", "誕生月")) } br;
                select id="birthday_month" name="birthday_month" {
                    option value="" { (l.say("(not given)", "（選択しない）")) }
                    @for (v, en, ja) in months {
                        option value=(v) selected[f.birthday_month.trim() == v] { (l.say(en, ja)) }
                    }
                }
            }
            fieldset class="choices" {
                legend { (l.say("How may we contact you? (optional)", "ご連絡方法（任意）")) }
                @for channel in ConsentChannel::ALL {
                    label {
                        input type="checkbox" name="channel" value=(channel.as_str()) checked[f.channels.iter().any(|c| c == channel.as_str())];
                        (consent_wording(*channel, shop, l))
                    }
                }
            }
            p class="hp" aria-hidden="true" {
                label { (l.say("Leave this empty", "この欄は空欄のままにしてください")) " "
                    input type="text" name=(HONEYPOT) tabindex="-1" autocomplete="off" value=""; }
            }
            p class="muted" { (l.say(
                "With an email address, we send you a link to confirm it first: nothing is recorded until you open it.",
                "メールアドレスをご入力の場合は、確認のリンクをお送りします。リンクを開くまで登録は行われません。"
            )) }
            p { button type="submit" { (l.say("Join", "登録する")) } }
        }
    };
    page(l.tag(), title(l), body)
}

/// The answer to a sign-up: the same for a customer known or not (and for a bot).
fn thanks(l: Language, joined: Joined) -> Markup {
    match joined {
        Joined::CheckEmail => page(
            l.tag(),
            l.say("Please check your email", "メールをご確認ください"),
            html! {
                p role="status" id="join-done" { (l.say(
                    "We have sent a link to the address you gave. Open it to complete your registration.",
                    "ご入力のアドレスに確認のリンクをお送りしました。リンクを開いて、登録を完了してください。"
                )) }
                p class="muted" { (l.say(
                    "No email? Check your spam folder, or try again in a few minutes.",
                    "メールが届かない場合は、迷惑メールフォルダをご確認いただくか、数分後にもう一度お試しください。"
                )) }
            },
        ),
        Joined::Registered => page(
            l.tag(),
            l.say("Thank you for joining", "ご登録ありがとうございます"),
            html! {
                p role="status" id="join-done" { (l.say(
                    "Your registration is received. Give your phone number at the till to collect points.",
                    "ご登録を受け付けました。お会計の際に電話番号をお伝えいただくと、ポイントが貯まります。"
                )) }
            },
        ),
    }
}

async fn ask(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let now = state.now().timestamp();
    let opened = state.run(move |s| Ok(s.write(|c| joins::pending(c, &token, now).map(|p| (p, token)))?)).await;
    match opened {
        Ok((Ok((l, true)), _)) => confirmed_page(l, true, None).into_response(),
        Ok((Ok((l, false)), token)) => {
            let action = format!("/join/confirm/{token}");
            page(
                l.tag(),
                l.say("Confirm your email", "メールアドレスの確認"),
                html! {
                    p { (l.say("Press the button to complete your registration.", "ボタンを押して登録を完了してください。")) }
                    form method="post" action=(action) {
                        button type="submit" { (l.say("Confirm and join", "確認して登録する")) }
                    }
                },
            )
            .into_response()
        }
        Ok((Err(why), _)) => refused(why),
        Err(_) => failed(),
    }
}

async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let now = state.now().timestamp();
    let done = state
        .with_programs(true, move |c, programs| {
            joins::confirm(c, programs, &token, now).map_err(crate::ApiError::internal)
        })
        .await;
    match done {
        Ok(Ok(Confirmed { language, already, welcome })) => {
            if !already {
                tracing::info!("join page: a sign-up was confirmed");
            }
            confirmed_page(language, already, welcome.as_ref()).into_response()
        }
        Ok(Err(why)) => refused(why),
        Err(_) => failed(),
    }
}

fn confirmed_page(l: Language, already: bool, welcome: Option<&enishi_rewards::Welcome>) -> Markup {
    page(
        l.tag(),
        l.say("Welcome", "ご登録ありがとうございます"),
        html! {
            @if already {
                p role="status" id="join-confirmed" { (l.say("Your email is confirmed already. Thank you.", "メールアドレスはすでに確認済みです。ありがとうございます。")) }
            } @else {
                p role="status" id="join-confirmed" { (l.say("Your email is confirmed and your registration is complete.", "メールアドレスを確認し、登録が完了しました。")) }
            }
            @if let Some(w) = welcome {
                section class="card" id="welcome" {
                    h2 { (l.say("Your welcome gift", "ご入会特典")) }
                    @if w.points > 0 { p class="big" { (w.points) " " span class="muted" { (l.say("points", "ポイント")) } } }
                    @if let Some(code) = &w.coupon {
                        p { (l.say("Coupon for your first purchase:", "初回のお買い物で使えるクーポン：")) " " code { (code) } }
                    }
                }
            }
        },
    )
}
