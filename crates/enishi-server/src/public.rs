//! What the customer's public pages share — the unsubscribe page, the survey page, the review
//! page, the customer's own page and the join page, all reached by a signed link without a login: the page frame (phone
//! width first, escaped by maud), the refusals of a link that is changed or expired, and a
//! limit of [`PER_MINUTE`] requests a minute from one address.

use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use enishi_campaigns::links::Refused;
use maud::{html, Markup, DOCTYPE};
use std::net::SocketAddr;

/// Requests one address may make to the public pages in a minute.
pub(crate) const PER_MINUTE: u32 = 60;

/// The public pages, each request counted against its address, and their stylesheet (not
/// counted: a page's own stylesheet must not use up the visitor's requests).
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(crate::unsubscribe::routes())
        .merge(crate::survey_page::routes())
        .merge(crate::review_page::routes())
        .merge(crate::my_page::routes())
        .merge(crate::join_page::routes())
        .route_layer(axum::middleware::from_fn_with_state(state, limit))
        .route(STYLESHEET, get(stylesheet))
}

/// Where the public pages' stylesheet is served.
const STYLESHEET: &str = "/public.css";

/// The public pages' stylesheet, served (not inline) because the Content-Security-Policy
/// allows styles from this server only: an inline `<style>` would be refused by the browser.
async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], STYLE)
        .into_response()
}

async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let ip = crate::console::sign_in::client_ip(peer, req.headers());
    match state.public_pages.check_for(&format!("public:{ip}"), PER_MINUTE, "requests") {
        Ok(()) => next.run(req).await,
        Err(e) => too_many(e.retry_after.unwrap_or(60)),
    }
}

/// The refusal of one request too many from an address: 429, to try again in `seconds`.
pub(crate) fn too_many(seconds: u64) -> Response {
    let body = html! {
        p { "アクセスが集中しています。しばらくしてからもう一度お試しください。" }
        p lang="en" { "Too many requests. Please try again in a minute." }
    };
    let r = (StatusCode::TOO_MANY_REQUESTS, page("ja", "しばらくお待ちください / Please wait", body)).into_response();
    crate::access::with_retry_after(r, seconds)
}

/// The frame of a public page in `language`: readable on a phone first.
pub(crate) fn page(language: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(language) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                link rel="stylesheet" href=(STYLESHEET);
            }
            body {
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;line-height:1.6;color:#222;background:#fafafa}\
main{max-width:32rem;margin:0 auto;padding:1rem}h1{font-size:1.3rem}h2{font-size:1.1rem;margin:1.2rem 0 .4rem}\
.card{background:#fff;border:1px solid #ddd;border-radius:.5rem;padding:.8rem 1rem;margin:.8rem 0}\
.big{font-size:2rem;font-weight:bold}fieldset{min-width:0;margin:0;padding:0;border:0}\
.scale{display:grid;grid-template-columns:repeat(6,minmax(0,1fr));gap:.4rem}\
.scale label,.choices label{display:flex;align-items:center;gap:.4rem;min-height:44px;border:1px solid #ccc;\
border-radius:.4rem;padding:0 .5rem;background:#fff}.choices label{margin:.3rem 0}\
.scale label{flex-direction:column;justify-content:center;gap:0;padding:.2rem 0}\
textarea{width:100%;box-sizing:border-box;font:inherit;min-height:6rem}\
button{font-size:1rem;padding:.7rem 1.2rem;min-height:44px;border-radius:.4rem;border:1px solid #555;background:#222;color:#fff}\
.error{color:#a00;font-weight:bold}progress{width:100%}.muted{color:#666;font-size:.9rem}\
button.secondary{background:#fff;color:#222}.said{white-space:pre-wrap}\
input[type=text],input[type=email],input[type=tel],select{width:100%;box-sizing:border-box;font:inherit;\
min-height:44px;padding:.3rem .5rem;border:1px solid #ccc;border-radius:.4rem;background:#fff}\
.choices input[type=checkbox]{flex:none;width:1.3rem;height:1.3rem}#join .choices label{padding:.5rem}\
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}";

/// The refusal of a link: 404 for one that is not valid, 410 for one that has expired.
pub(crate) fn refused(why: Refused) -> Response {
    match why {
        Refused::Invalid => {
            let body = html! {
                p { "このリンクは無効です。お手元のリンクをそのままお使いください。" }
                p lang="en" { "This link is not valid. Please use the link exactly as you received it." }
            };
            (StatusCode::NOT_FOUND, page("ja", "リンクが無効です / Invalid link", body)).into_response()
        }
        Refused::Expired => {
            let body = html! {
                p { "このリンクは有効期限が切れています。お手数ですがお店までお問い合わせください。" }
                p lang="en" { "This link has expired. Please ask the shop for a new one." }
            };
            (StatusCode::GONE, page("ja", "リンクの有効期限切れ / Link expired", body)).into_response()
        }
    }
}

/// The page when something failed on our side.
pub(crate) fn failed() -> Response {
    let body = html! {
        p { "ただいま処理できません。時間をおいてもう一度お試しください。" }
        p lang="en" { "This could not be done just now. Please try again in a little while." }
    };
    (StatusCode::SERVICE_UNAVAILABLE, page("ja", "エラー / Error", body)).into_response()
}
