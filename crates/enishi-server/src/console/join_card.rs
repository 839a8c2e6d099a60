//! The printable card of the public join page (everyone signed in; docs/join.md): the shop's
//! name and the QR code of `{public address}/join`, to put by the till, on a table or on a
//! receipt — `/join-card` — and the QR code alone as an SVG file, `/join-card.svg`. The page
//! also shows the HTML form a web shop pastes in to take sign-ups without a script.

use crate::console::shell::ConsoleUser;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use enishi_campaigns::my_page::qr_svg;
use enishi_campaigns::unsubscribe::public_url;
use enishi_store::repo::settings;
use maud::{html, PreEscaped};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/join-card", get(card_page)).route("/join-card.svg", get(card_svg))
}

/// The join page's address, its QR code and the shop's name.
async fn make(state: &AppState) -> Result<(String, String, String), ApiError> {
    state
        .run(|s| {
            s.read(|c| {
                let base = public_url(c).map_err(ApiError::internal)?;
                let shop = settings::get(c, enishi_campaigns::campaigns::SHOP_NAME)?.unwrap_or_default();
                let link = format!("{base}/join");
                let svg = qr_svg(&link).map_err(ApiError::internal)?;
                Ok((link, svg, shop))
            })
        })
        .await
}

/// The HTML form a web shop pastes in to take sign-ups on its own pages (no script: the
/// browser posts it to the join page, which answers).
pub(crate) fn embed_snippet(link: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{link}\">\n\
         \x20 <input type=\"hidden\" name=\"lang\" value=\"ja\">\n\
         \x20 <label>お名前 <input name=\"name\" required maxlength=\"100\"></label>\n\
         \x20 <label>フリガナ <input name=\"furigana\" maxlength=\"100\"></label>\n\
         \x20 <label>メールアドレス <input type=\"email\" name=\"email\"></label>\n\
         \x20 <label>電話番号 <input type=\"tel\" name=\"phone\"></label>\n\
         \x20 <label>誕生月 <input type=\"number\" name=\"birthday_month\" min=\"1\" max=\"12\"></label>\n\
         \x20 <label><input type=\"checkbox\" name=\"channel\" value=\"email\"> お知らせや特典をメールで受け取ることに同意します。</label>\n\
         \x20 <label><input type=\"checkbox\" name=\"channel\" value=\"sms\"> お知らせや特典をSMSで受け取ることに同意します。</label>\n\
         \x20 <!-- Keep this field hidden and empty: only bots fill it. -->\n\
         \x20 <input type=\"text\" name=\"website\" value=\"\" tabindex=\"-1\" autocomplete=\"off\" aria-hidden=\"true\" hidden>\n\
         \x20 <button type=\"submit\">会員登録</button>\n\
         </form>\n"
    )
}

async fn card_page(ConsoleUser(v): ConsoleUser, State(state): State<AppState>) -> Response {
    let tr = v.tr();
    let (link, svg, shop) = match make(&state).await {
        Ok(made) => made,
        Err(e) => return e.into_response(),
    };
    let body = html! {
        p class="no-print" {
            a href="/customers" { (tr.t("Customers")) } " · "
            a href="/join-card.svg" id="join-card-svg" download="join-page.svg" { (tr.t("Download the QR code (SVG)")) }
        }
        p class="no-print muted" { (tr.t("Print this page (Ctrl+P or ⌘P): only the card is printed. Put it by the till, on a table or on a receipt: the code opens the join page, where customers sign up themselves.")) }
        section class="member-card" id="join-card" {
            @if !shop.is_empty() { p class="shop" { (shop) } }
            p class="holder" { (tr.t("Join our members")) }
            div class="qr" { (PreEscaped(&svg)) }
            p class="muted small" { (tr.t("Scan to sign up: points and offers for members.")) }
            p class="mono link" id="join-link" { (link) }
        }
        section class="no-print card" id="embed" {
            h2 { (tr.t("On your web shop")) }
            p class="muted" { (tr.t("Paste this form into a page of your web shop: it posts to the join page, which answers the customer. No script is needed.")) }
            pre { code { (embed_snippet(&link)) } }
        }
    };
    v.page(tr.t("Join page QR code"), body).into_response()
}

async fn card_svg(ConsoleUser(_): ConsoleUser, State(state): State<AppState>) -> Response {
    match make(&state).await {
        Ok((_, svg, _)) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"join-page.svg\""),
            ],
            svg,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
