//! The customer's own page, reached by its signed link (no password): `GET /me/{token}` shows
//! points (available, pending, expiring with the date), the tier and the progress to the next,
//! stamp cards, coupons and the referral code, and the contact preferences; `POST
//! /me/{token}` saves the preferences and `POST /me/{token}/unsubscribe` withdraws every
//! consent (both recorded with the source "customer page"). Japanese or English by the
//! customer's locale, phone width first.

use crate::public::{failed, page, refused};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_campaigns::my_page::{self, opted_in};
use enishi_campaigns::template::{honorific, written_date, Language};
use enishi_core::ConsentChannel;
use enishi_rewards::LoyaltySummary;
use enishi_store::Customer;
use maud::{html, Markup};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/me/{token}", get(show).post(save)).route("/me/{token}/unsubscribe", post(unsubscribe_all))
}

/// What changed, to say on the page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Said {
    Nothing,
    Saved,
    Unsubscribed,
}

/// Opens the page of `token` (after `change`, if any, is made) and renders it.
async fn render(state: AppState, token: String, change: Option<Vec<ConsentChannel>>, said: Said) -> Response {
    let now = state.now().timestamp();
    let done = state
        .with_programs(change.is_some(), move |c, programs| {
            let (k, language) = match my_page::open(c, &token, now)? {
                Ok(found) => found,
                Err(why) => return Ok(Err(why)),
            };
            let k = match change {
                Some(wanted) => {
                    my_page::set_preferences(c, &k, &wanted)?;
                    enishi_store::repo::customers::get(c, k.id)?.unwrap_or(k)
                }
                None => k,
            };
            let loyalty = enishi_rewards::summary(c, programs, k.id, now)?;
            Ok(Ok((k, language, loyalty, token)))
        })
        .await;
    match done {
        Ok(Ok((k, language, loyalty, token))) => view(&k, language, &loyalty, &token, said).into_response(),
        Ok(Err(why)) => refused(why),
        Err(_) => failed(),
    }
}

async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    render(state, token, None, Said::Nothing).await
}

async fn save(State(state): State<AppState>, Path(token): Path<String>, body: String) -> Response {
    // Checkboxes: each ticked channel is sent as `channel=NAME`; unknown names are ignored.
    let wanted: Vec<ConsentChannel> = form_urlencoded::parse(body.as_bytes())
        .filter(|(k, _)| k == "channel")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    render(state, token, Some(wanted), Said::Saved).await
}

async fn unsubscribe_all(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    render(state, token, Some(Vec::new()), Said::Unsubscribed).await
}

fn channel_label(channel: ConsentChannel, l: Language) -> &'static str {
    match channel {
        ConsentChannel::Email => l.say("Email", "メール"),
        ConsentChannel::Sms => l.say("Text messages (SMS)", "SMS（ショートメッセージ）"),
        ConsentChannel::Postal => l.say("Letters by post", "郵便（ダイレクトメール）"),
        ConsentChannel::Phone => l.say("Phone calls", "お電話"),
    }
}

/// `progress / threshold` as a fraction, when both are numbers.
fn fraction(progress: &str, threshold: &str) -> Option<(f64, f64)> {
    let (p, t) = (progress.parse::<f64>().ok()?, threshold.parse::<f64>().ok()?);
    (t > 0.0).then_some((p.min(t), t))
}

fn view(k: &Customer, l: Language, s: &LoyaltySummary, token: &str, said: Said) -> Markup {
    let name = honorific(k.name.as_deref(), l);
    let title = match l {
        Language::Japanese if !name.is_empty() => format!("{name}のページ"),
        Language::Japanese => "お客様のページ".to_string(),
        Language::English if !name.is_empty() => format!("{name}, your page"),
        Language::English => "Your page".to_string(),
    };
    let action = format!("/me/{token}");
    let body = html! {
        @match said {
            Said::Saved => p role="status" class="card" { (l.say("Your preferences are saved.", "ご連絡方法の設定を保存しました。")) },
            Said::Unsubscribed => p role="status" class="card" { (l.say("You will get no more messages from us.", "今後、お知らせはお送りしません。")) },
            Said::Nothing => {},
        }
        section class="card" id="points" {
            h2 { (l.say("Points", "ポイント")) }
            p class="big" { (s.available) " " span class="muted" { (l.say("points available", "ポイント利用可能")) } }
            @if s.pending > 0 { p { (l.say("Pending (not usable yet):", "付与予定（まだ使えません）：")) " " (s.pending) } }
            @for e in &s.expiring_soon {
                p { (l.say("Expiring on", "有効期限")) " " (written_date(e.date, l)) "：" strong { (e.points) } " " (l.say("points", "ポイント")) }
            }
        }
        @if let Some(t) = &s.tier {
            section class="card" id="tier" {
                h2 { (l.say("Tier", "会員ランク")) }
                p class="big" { (t.name) }
                @if let Some(n) = &t.next {
                    @if let Some((p, of)) = fraction(&t.progress, &n.threshold) { progress value=(p) max=(of) {} }
                    p { (l.say("To", "次のランク")) " " strong { (n.name) } (l.say(": ", "まで あと ")) (n.missing) (l.say(" to go", "")) }
                }
            }
        }
        @if !s.stamp_cards.is_empty() {
            section class="card" id="stamps" {
                h2 { (l.say("Stamp cards", "スタンプカード")) }
                @for card in &s.stamp_cards {
                    p { (card.name) "：" (card.stamps) " / " (card.of) }
                    progress value=(card.stamps) max=(card.of) {}
                }
            }
        }
        @if !s.coupons.is_empty() {
            section class="card" id="coupons" {
                h2 { (l.say("Coupons", "クーポン")) }
                @for cp in &s.coupons {
                    p { code { (cp.code) } " " span class="muted" { (l.say("until", "有効期限")) " " (enishi_store::instant(cp.valid_until).format("%Y-%m-%d")) } }
                }
            }
        }
        @if !s.referral_code.is_empty() {
            section class="card" id="referral" {
                h2 { (l.say("Your referral code", "ご紹介コード")) }
                p class="big" { code { (s.referral_code) } }
                p class="muted" { (l.say("Give it to a friend: you both get a reward on their first order.", "お友だちに教えると、初回のご注文でお二人に特典があります。")) }
            }
        }
        section class="card" id="preferences" {
            h2 { (l.say("How may we contact you?", "ご連絡方法")) }
            form method="post" action=(action) {
                div class="choices" {
                    @for channel in ConsentChannel::ALL {
                        label { input type="checkbox" name="channel" value=(channel.as_str()) checked[opted_in(k, *channel)]; (channel_label(*channel, l)) }
                    }
                }
                p { button type="submit" { (l.say("Save", "保存する")) } }
            }
            form method="post" action=(format!("/me/{token}/unsubscribe")) {
                p { button type="submit" class="secondary" { (l.say("Unsubscribe from everything", "すべてのお知らせを停止する")) } }
            }
        }
    };
    page(l.tag(), &title, body)
}
