//! What every console page shares: signing in and out, the signed-in visitor (their role,
//! language and anti-forgery token), the extractors that say who may use a page and check a
//! form's anti-forgery token, the page frame with its navigation, and the answers for refused
//! forms.

use crate::auth::{EVERYONE, MANAGERS};
use crate::console::i18n::Tr;
use crate::{ApiError, AppState};
use axum::extract::{ConnectInfo, Form, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_core::{Language, Role};
use enishi_store::repo::users::{self, User};
use maud::{html, Markup, PreEscaped, Render};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::marker::PhantomData;
use std::net::SocketAddr;

/// Name of the console's session cookie.
pub(crate) const SESSION_COOKIE: &str = "enishi_session";

/// Name of the cookie that pairs the sign-in form with its post (anti-forgery).
const LOGIN_COOKIE: &str = "enishi_login";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/language", post(set_language))
        .route("/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route("/style.css", get(stylesheet))
}

/// The icon: 縁 on the header colour.
const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\"><rect width=\"32\" height=\"32\" rx=\"6\" fill=\"#5b2a3c\"/>\
<text x=\"16\" y=\"24\" font-size=\"22\" text-anchor=\"middle\" fill=\"#fff\">縁</text></svg>";

async fn favicon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "max-age=86400")], FAVICON).into_response()
}

/// The console's stylesheet, served (not inline) so that the Content-Security-Policy can
/// allow styles from this server only.
async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], STYLE)
        .into_response()
}

/// Text escaped as maud's `(…)` escapes it, and `'` as `&#39;` besides: the messages of
/// refused forms quote what was typed between single quotes, and have always shown them so.
pub(crate) struct Quoted<'a>(pub &'a str);

impl Render for Quoted<'_> {
    fn render_to(&self, buffer: &mut String) {
        for piece in self.0.split_inclusive('\'') {
            match piece.strip_suffix('\'') {
                Some(text) => {
                    text.render_to(buffer);
                    buffer.push_str("&#39;");
                }
                None => piece.render_to(buffer),
            }
        }
    }
}

/// A scrollable table with `id`, `class` and column `headers` around `rows`.
pub(crate) fn table(id: Option<&str>, class: Option<&str>, headers: &[&str], rows: Markup) -> Markup {
    html! {
        div class="scroll" {
            table id=[id] class=[class] {
                thead { tr { @for h in headers { th { (h) } } } }
                tbody { (rows) }
            }
        }
    }
}

/// Percent-encodes a query value.
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK JP',sans-serif;margin:0;color:#222;background:#fafaf7}\
header{background:#5b2a3c;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}\
header a{color:#fff;text-decoration:none;font-weight:600}header form{margin:0}header .me{margin-left:auto;display:flex;gap:.5rem;align-items:center}\
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #e0a800;outline-offset:2px}\
main{padding:1rem;max-width:70rem;margin:auto}.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:#fff;color:#222;padding:.3rem}\
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #e5e5e0}\
input,button,select{font:inherit;padding:.4rem .6rem;max-width:100%}.muted{color:#666}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:.8rem}\
.card{background:#fff;border:1px solid #e5e5e0;border-radius:6px;padding:.8rem}.kind{font-size:.8rem;padding:.1rem .4rem;border-radius:4px;background:#eee}\
.big{font-size:2rem;margin:.2rem 0}.scroll{overflow-x:auto}.heat td{text-align:center;min-width:3rem}\
form.inline{display:inline}label{display:inline-block;margin:.2rem .4rem .2rem 0}\
.till-search .row{display:flex;gap:.5rem}.till-search input{flex:1;font-size:1.2rem}ul.hits{list-style:none;padding:0}\
ul.hits a{display:block;padding:.6rem;margin:.3rem 0;background:#fff;border:1px solid #e5e5e0;border-radius:6px;color:#222;text-decoration:none}\
.button{display:inline-block;padding:.4rem .6rem;border:1px solid #888;border-radius:4px;background:#f2f2ee;color:#222;text-decoration:none}\
nav.tabs{display:flex;flex-wrap:wrap;gap:.3rem;margin:.6rem 0}nav.tabs a{padding:.4rem .6rem;border:1px solid #c9a9b4;border-radius:4px;background:#fff;color:#5b2a3c;text-decoration:none}\
nav.tabs a[aria-current=page]{background:#5b2a3c;color:#fff}div.field{margin:.3rem 0}\
@media(max-width:40rem){main button,main .button,nav.tabs a,main input:not([type=checkbox]):not([type=radio]):not([type=hidden]),main select,ul.hits a,\
header a,header button{min-height:44px;min-width:44px;box-sizing:border-box}header a,main .button{display:inline-flex;align-items:center}}\
@media(max-width:40rem){td:nth-child(n+4),th:nth-child(n+4){display:none}.heat td,.heat th,.keep td,.keep th{display:table-cell}main{padding:.6rem}\
form label{display:block}form input:not([type=checkbox]):not([type=hidden]),form select,form textarea{width:100%;box-sizing:border-box}}\
.chart{display:block;width:100%;overflow:visible}.change.up{color:#1b6e3a}.change.down{color:#b00020}.kpi h2{font-size:1.05rem;margin:.2rem 0}.kpi .compare{margin:.2rem 0 0;font-size:.9rem}\
.button[aria-current=true]{background:#5b2a3c;color:#fff;border-color:#5b2a3c}.full{width:100%}.mono{font-family:monospace}\
.h0{background:#eee2e6}.h1{background:#dcc5cd}.h2{background:#c9a9b4}.h3{background:#b78d9b}.h4{background:#a47082}\
.error{color:#b00020}.badge{background:#b00020;color:#fff;border-radius:1rem;padding:0 .45rem;font-size:.8rem}.bad{outline:2px solid #b00020;background:#fff3f4}\
fieldset.group{border:1px solid #c9a9b4;border-radius:6px;margin:.4rem 0;padding:.3rem .6rem;background:#fff}fieldset.group ol{padding-left:1.2rem;margin:.3rem 0}\
div.cond{margin:.3rem 0;padding:.2rem}.add{margin:.3rem 0}.spark{vertical-align:middle}\
.editor{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:.8rem}iframe.preview{height:20rem;border:1px solid #e5e5e0;background:#fff}\
pre{white-space:pre-wrap;overflow-wrap:anywhere}fieldset.step{margin:.6rem 0}fieldset.step legend{font-weight:600}\
@media(max-width:40rem){.editor{grid-template-columns:1fr}}\
.member-card{max-width:22rem;border:1px solid #222;border-radius:8px;padding:1rem;text-align:center;background:#fff}\
.member-card .qr svg{width:12rem;height:12rem}.member-card .shop{font-weight:600}.member-card .link{font-size:.6rem;overflow-wrap:anywhere}\
.small{font-size:.8rem}@media print{header,.no-print,.skip{display:none}main{padding:0}}\
.h5{background:#925469;color:#fff}.h6{background:#7f3750;color:#fff}.h7{background:#6d2f45;color:#fff}.h8{background:#5b2a3c;color:#fff}";

fn frame(tr: Tr, title: &str, head: Markup, nav: Markup, body: Markup) -> Markup {
    html! {
        (PreEscaped("<!doctype html>"))
        html lang=(tr.lang().to_string()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                (head)
                title { (title) " · Enishi" }
                link rel="icon" href="/favicon.svg";
                link rel="stylesheet" href="/style.css";
            }
            body {
                a class="skip" href="#main" { (tr.t("Skip to content")) }
                header { a href="/" { "縁 Enishi" } (nav) }
                main id="main" { (body) }
            }
        }
    }
}

/// A page for a visitor who is not signed in.
pub(crate) fn bare_page(tr: Tr, title: &str, body: Markup) -> Markup {
    frame(tr, title, html! {}, html! {}, body)
}

/// A signed-in visitor: who they are and the anti-forgery token their forms carry.
#[derive(Clone)]
pub(crate) struct Visitor {
    /// The user.
    pub user: User,
    /// Token forms must send back (derived from the session, which scripts cannot read).
    pub csrf: String,
    /// Their open tasks due by the end of the business day: the reminder badge.
    pub due_tasks: i64,
    /// The business calendar, in which their pages write dates and times.
    pub clock: enishi_core::BusinessClock,
}

impl Visitor {
    /// Their role.
    pub(crate) fn role(&self) -> Role {
        self.user.role
    }

    /// Who they are in the audit log: `user:EMAIL`.
    pub(crate) fn actor(&self) -> String {
        format!("user:{}", self.user.email)
    }

    /// Their language.
    pub(crate) fn tr(&self) -> Tr {
        Tr(self.user.language)
    }

    /// A date and time in the business time zone, as [`crate::console::format::local_time`]
    /// writes it for them.
    pub(crate) fn time(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        crate::console::format::local_time(self.tr(), &self.clock, at)
    }

    /// The business day of an instant, as [`crate::console::format::local_date`] writes it.
    pub(crate) fn day(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        crate::console::format::local_date(self.tr(), &self.clock, at)
    }

    /// Whether a form's anti-forgery token is this visitor's.
    pub(crate) fn form_ok(&self, sent: &str) -> bool {
        !sent.is_empty() && sent == self.csrf
    }

    /// The page frame with the navigation this visitor may use.
    pub(crate) fn page(&self, title: &str, body: Markup) -> Markup {
        self.framed(title, html! {}, body)
    }

    /// A page that reloads itself every `seconds` (progress without JavaScript).
    pub(crate) fn page_refreshing(&self, title: &str, body: Markup, seconds: u32) -> Markup {
        self.framed(title, html! { meta http-equiv="refresh" content=(seconds); }, body)
    }

    fn framed(&self, title: &str, head: Markup, body: Markup) -> Markup {
        let tr = self.tr();
        let links: [(&str, &str, &[Role]); 16] = [
            ("/till", tr.t("Till"), EVERYONE),
            ("/", tr.t("Dashboard"), MANAGERS),
            ("/customers", tr.t("Customers"), EVERYONE),
            ("/inbox", tr.t("Inbox"), EVERYONE),
            ("/reviews", tr.t("Reviews"), MANAGERS),
            ("/changes", tr.t("Changes"), EVERYONE),
            ("/segments", tr.t("Segments"), MANAGERS),
            ("/campaigns", tr.t("Campaigns"), MANAGERS),
            ("/surveys", tr.t("Surveys"), MANAGERS),
            ("/analytics", tr.t("Analytics"), MANAGERS),
            ("/loyalty", tr.t("Loyalty"), MANAGERS),
            ("/imports", tr.t("Import"), MANAGERS),
            ("/users", tr.t("Users"), &[Role::Admin]),
            ("/tokens", tr.t("Tokens"), &[Role::Admin]),
            ("/settings", tr.t("Settings"), &[Role::Admin]),
            ("/audit", tr.t("Audit log"), &[Role::Admin]),
        ];
        let (other, other_label) = match tr.lang() {
            Language::En => (Language::Ja, "日本語"),
            Language::Ja => (Language::En, "English"),
        };
        let nav = html! {
            @for (href, label, roles) in links {
                @if roles.contains(&self.role()) { a href=(href) { (label) } }
                @if href == "/inbox" {
                    a href="/tasks" id="nav-tasks" {
                        (tr.t("Tasks"))
                        @if self.due_tasks > 0 {
                            " " span class="badge" title=(tr.t("Your tasks due today or overdue")) id="due-tasks" { (self.due_tasks) }
                        }
                    }
                }
            }
            span class="me" {
                a href="/account" { (self.user.name) }
                form method="post" action="/language" {
                    input type="hidden" name="csrf" value=(self.csrf);
                    input type="hidden" name="language" value=(other.to_string());
                    button id="switch-language" lang=(other.to_string()) { (other_label) }
                }
                form method="post" action="/logout" {
                    input type="hidden" name="csrf" value=(self.csrf);
                    button { (tr.t("Sign out")) }
                }
            }
        };
        frame(tr, title, head, nav, body)
    }

    /// An error page: `status`, a heading and why.
    pub(crate) fn refuse(&self, status: StatusCode, title: &str, why: &str) -> Response {
        (status, self.page(title, html! { h1 { (title) } p role="alert" { (Quoted(why)) } })).into_response()
    }

    /// The answer to a form without this visitor's anti-forgery token.
    pub(crate) fn forged(&self) -> Response {
        self.refuse(
            StatusCode::FORBIDDEN,
            self.tr().t("Not allowed"),
            self.tr().t("This form has expired or did not come from Enishi. Reload the page and try again."),
        )
    }

    /// A form that cannot be done as sent: 400 with why.
    pub(crate) fn bad_form(&self, title: &str, why: &str) -> Response {
        self.refuse(StatusCode::BAD_REQUEST, title, why)
    }

    /// The answer for a customer (or other record) that does not exist.
    pub(crate) fn not_found(&self) -> Response {
        self.refuse(StatusCode::NOT_FOUND, self.tr().t("Not found"), self.tr().t("There is nothing here."))
    }
}

fn csrf_of(session: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(format!("enishi-csrf:{session}").as_bytes())[..16])
}

pub(crate) fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').find_map(|p| p.trim().strip_prefix(&format!("{SESSION_COOKIE}=")).map(String::from)))
}

/// The signed-in visitor, or a redirect to the sign-in page (handlers take [`ConsoleUser`]
/// and its kin instead; signing out is for anyone).
async fn visitor(state: &AppState, headers: &HeaderMap) -> Result<Visitor, Response> {
    let Some(session) = session_of(headers) else { return Err(Redirect::to("/login").into_response()) };
    let token = session.clone();
    let now = state.now();
    let clock = state.workspace().clock;
    let day_end = clock.start_of_day(clock.day_number(now) + 1).timestamp();
    let now = now.timestamp();
    let read = state.run(move |s| {
        Ok(s.read(|c| -> Result<_, enishi_store::StoreError> {
            let Some(user) = users::session_user(c, &token, now)? else { return Ok(None) };
            let due = enishi_store::repo::tasks::due_count(c, user.id, day_end)?;
            Ok(Some((user, due)))
        })?)
    });
    match read.await {
        Ok(Some((user, due_tasks))) => {
            crate::observe::set_caller(format!("user:{}", user.id));
            Ok(Visitor { csrf: csrf_of(&session), user, due_tasks, clock: state.workspace().clock })
        }
        Ok(None) => Err(Redirect::to("/login").into_response()),
        Err(e) => Err(e.into_response()),
    }
}

/// The language a signed-out visitor's browser asks for.
fn browser_language(headers: &HeaderMap) -> Tr {
    let wanted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let first = wanted.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
    Tr(if first.starts_with("ja") { Language::Ja } else { Language::En })
}

fn login_body(tr: Tr, email: &str, error: Option<&str>, token: &str) -> Markup {
    html! {
        h1 { (tr.t("Sign in")) }
        @if let Some(e) = error { p class="card" role="alert" { (Quoted(e)) } }
        form method="post" action="/login" class="card" {
            input type="hidden" name="login_token" value=(token);
            p { label { (tr.t("Email")) " " input name="email" type="email" autocomplete="username" required value=(email); } }
            p { label { (tr.t("Password")) " " input name="password" type="password" autocomplete="current-password" required; } }
            p { button { (tr.t("Sign in")) } }
        }
        p class="muted" {
            (tr.t("The demo prints the owner's email and password; owners add users on the Users page or with `enishi user create`."))
        }
    }
}

/// The sign-in page with a fresh anti-forgery token, set both in the form and in a cookie
/// that only this site's pages send back (`SameSite=Strict`): a form posted from another
/// site carries no matching pair.
fn login_page(state: &AppState, headers: &HeaderMap, status: StatusCode, email: &str, error: Option<&str>) -> Response {
    let tr = browser_language(headers);
    let token = users::generate_password();
    let cookie = format!(
        "{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login; Max-Age=3600{}",
        if https(state, headers) { "; Secure" } else { "" }
    );
    let page = bare_page(tr, tr.t("Sign in"), login_body(tr, email, error, &token));
    (status, [(header::SET_COOKIE, cookie)], page).into_response()
}

async fn login_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    login_page(&state, &headers, StatusCode::OK, "", None)
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct LoginForm {
    login_token: String,
    email: String,
    password: String,
}

/// Whether cookies must be `Secure`: forced by the setting, or the proxy says the visitor
/// came over HTTPS.
fn https(state: &AppState, headers: &HeaderMap) -> bool {
    state.secure_cookies || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

fn session_cookie(state: &AppState, headers: &HeaderMap, value: &str, max_age: i64) -> String {
    format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{}",
        if https(state, headers) { "; Secure" } else { "" }
    )
}

fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn login(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let tr = browser_language(&headers);
    let email = f.email.trim().to_lowercase();
    let now = state.now().timestamp();
    let paired = cookie_value(&headers, LOGIN_COOKIE).is_some_and(|c| !c.is_empty() && c == f.login_token);
    if !paired {
        let why = tr.t("The sign-in form expired or came from another site. Sign in again.");
        return login_page(&state, &headers, StatusCode::FORBIDDEN, &email, Some(why));
    }
    let ip = crate::console::sign_in::client_ip(peer.map(|p| p.0 .0), &headers);
    let user = match crate::console::sign_in::check(&state, &email, &f.password, &ip).await {
        Ok(user) => user,
        Err(crate::console::sign_in::Refused::Wait(seconds)) => {
            let why = tr.f("Too many failed sign-ins. Wait {} seconds and try again.", &[&seconds]);
            let mut r = login_page(&state, &headers, StatusCode::TOO_MANY_REQUESTS, &email, Some(&why));
            r = crate::access::with_retry_after(r, seconds.unsigned_abs());
            return r;
        }
        Err(crate::console::sign_in::Refused::Wrong) => {
            let why = tr.t("That email and password do not match an active user.");
            return login_page(&state, &headers, StatusCode::UNAUTHORIZED, &email, Some(why));
        }
        Err(crate::console::sign_in::Refused::Failed(e)) => return e.into_response(),
    };
    match state.run(move |s| Ok(s.write(|c| users::start_session(c, user.id, now))?)).await {
        Ok(session) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, "/".to_string()),
                (header::SET_COOKIE, session_cookie(&state, &headers, &session, users::SESSION_SECONDS)),
            ],
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct CsrfForm {
    pub(crate) csrf: String,
}

async fn logout(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    if let (Ok(v), Some(session)) = (visitor(&state, &headers).await, session_of(&headers)) {
        if !v.form_ok(&f.csrf) {
            return v.forged();
        }
        if let Err(e) = state.run(move |s| Ok(s.write(|c| users::end_session(c, &session))?)).await {
            return e.into_response();
        }
    }
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/login".to_string()), (header::SET_COOKIE, session_cookie(&state, &headers, "", 0))],
    )
        .into_response()
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct LanguageForm {
    csrf: String,
    language: String,
}

carries_csrf!(LanguageForm);

/// Where to go back to after a form in the header: the page it was sent from, when that
/// is one of ours.
fn back_to(headers: &HeaderMap) -> String {
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok()).unwrap_or("/");
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let path = referer.split_once("://").map_or(referer, |(_, rest)| rest.strip_prefix(host).unwrap_or("/"));
    if path.starts_with('/') && !path.starts_with("//") {
        path.to_string()
    } else {
        "/".to_string()
    }
}

async fn set_language(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted(f): Posted<LanguageForm>,
) -> Response {
    let Ok(language) = f.language.parse::<Language>() else {
        return v.bad_form(v.tr().t("Language"), v.tr().t("Choose English or Japanese."));
    };
    let id = v.user.id;
    match state.run(move |s| Ok(s.write(|c| users::set_language(c, id, language))?)).await {
        Ok(()) => Redirect::to(&back_to(&headers)).into_response(),
        Err(e) => e.into_response(),
    }
}

// ------------------------------------------------------------------ extractors
//
// A handler's signature says who may use it: its first argument is `ConsoleUser`,
// `ConsoleManager<G>` or `ConsoleAdmin`, which answer everyone else before any parameter or
// body is read; a form arrives as `Posted<F>`, which refuses a form without the visitor's
// anti-forgery token.

/// The signed-in visitor of this request, read once and kept in the request's extensions for
/// the extractors that follow.
async fn signed_in(parts: &mut Parts, state: &AppState) -> Result<Visitor, Response> {
    if let Some(v) = parts.extensions.get::<Visitor>() {
        return Ok(v.clone());
    }
    let v = visitor(state, &parts.headers).await?;
    parts.extensions.insert(v.clone());
    Ok(v)
}

/// Any signed-in user. As a handler's argument it sends everyone else to the sign-in page
/// (303 to `/login`).
pub(crate) struct ConsoleUser(pub Visitor);

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        signed_in(parts, state).await.map(ConsoleUser)
    }
}

/// A group of pages for owners and marketers only, and what a staff visitor is told.
pub(crate) trait ForManagers {
    /// Who may use these pages, in the visitor's language (the 403 page's text).
    fn who_may(tr: Tr) -> &'static str;
}

/// A signed-in owner or marketer, on the pages of group `G`. As a handler's argument it sends
/// a signed-out visitor to the sign-in page and answers staff with the 403 page saying
/// [`ForManagers::who_may`].
pub(crate) struct ConsoleManager<G>(pub Visitor, pub PhantomData<G>);

impl<G: ForManagers> FromRequestParts<AppState> for ConsoleManager<G> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let v = signed_in(parts, state).await?;
        if MANAGERS.contains(&v.role()) {
            Ok(ConsoleManager(v, PhantomData))
        } else {
            Err(v.refuse(StatusCode::FORBIDDEN, v.tr().t("Not allowed"), G::who_may(v.tr())))
        }
    }
}

/// A signed-in owner (admin). As a handler's argument it sends a signed-out visitor to the
/// sign-in page and answers everyone else with the 403 page for owners' pages.
pub(crate) struct ConsoleAdmin(pub Visitor);

impl FromRequestParts<AppState> for ConsoleAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let v = signed_in(parts, state).await?;
        if v.role() == Role::Admin {
            Ok(ConsoleAdmin(v))
        } else {
            Err(v.refuse(StatusCode::FORBIDDEN, v.tr().t("Not allowed"), v.tr().t("This page is for owners (admin).")))
        }
    }
}

/// A form that carries an anti-forgery token.
pub(crate) trait CarriesCsrf {
    /// The token as sent (empty when it was not).
    fn csrf(&self) -> &str;
}

impl CarriesCsrf for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Every field as sent, in order (the segment builder's form).
impl CarriesCsrf for Vec<(String, String)> {
    fn csrf(&self) -> &str {
        self.iter().find(|(k, _)| k == "csrf").map_or("", |(_, v)| v.as_str())
    }
}

/// Implements [`CarriesCsrf`] for form structs with a `csrf: String` field.
macro_rules! carries_csrf {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::console::shell::CarriesCsrf for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
pub(crate) use carries_csrf;

/// A posted form (`application/x-www-form-urlencoded`) that carries the signed-in visitor's
/// anti-forgery token. As a handler's last argument, after the role extractor, it answers a
/// form that cannot be read as axum's `Form` does, and one without the visitor's token with
/// the 403 page saying the form expired.
pub(crate) struct Posted<F>(pub F);

impl<F> FromRequest<AppState> for Posted<F>
where
    F: DeserializeOwned + CarriesCsrf + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let v = signed_in(&mut parts, state).await?;
        let Form(form) = Form::<F>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        if v.form_ok(form.csrf()) {
            Ok(Posted(form))
        } else {
            Err(v.forged())
        }
    }
}

/// A form a console script posts (the segment builder's live count), from a signed-in owner
/// or marketer with their anti-forgery token, and the form. The script reads the answers, so
/// refusals are problem+json: 401 when not signed in, 403 for a token that is not the
/// session's or another role.
pub(crate) struct ScriptForm<F>(pub Visitor, pub F);

impl<F> FromRequest<AppState> for ScriptForm<F>
where
    F: DeserializeOwned + CarriesCsrf + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let Form(form) = Form::<F>::from_request(req, state).await.map_err(IntoResponse::into_response)?;
        let Ok(v) = visitor(state, &headers).await else {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in again").into_response());
        };
        if !v.form_ok(form.csrf()) {
            let why = "the form's anti-forgery token is not this session's";
            return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", why).into_response());
        }
        if !MANAGERS.contains(&v.role()) {
            let why = format!("the {} role may not do this", v.role());
            return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", why).into_response());
        }
        Ok(ScriptForm(v, form))
    }
}
