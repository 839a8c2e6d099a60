//! Running the workspace: users and their roles (owners only), the workspace settings
//! (owners only), and each user's own account (language and password).

use crate::console::i18n::Tr;
use crate::console::shell::{carries_csrf, table, ConsoleAdmin, ConsoleUser, Posted, Quoted, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_core::{BusinessClock, Currency, Language, Role};
use enishi_store::repo::users::{self, UserError};
use enishi_store::repo::{audit, settings};
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(users_page).post(create_user))
        .route("/users/{id}/role", post(change_role))
        .route("/users/{id}/access", post(change_access))
        .route("/settings", get(settings_page).post(save_settings))
        .route("/audit", get(audit_page))
        .route("/account", get(account_page))
        .route("/account/password", post(change_password))
}

/// Why a user change was refused, in the visitor's language.
fn user_error(tr: Tr, e: &UserError) -> String {
    match e {
        UserError::BadEmail(x) => tr.f("Email: '{}' is not an email address.", &[&x]),
        UserError::WeakPassword => tr.f("Password: use at least {} characters.", &[&users::MIN_PASSWORD_CHARS]),
        UserError::Taken(x) => tr.f("Email: a user with {} already exists.", &[&x]),
        UserError::NotFound(_) => tr.t("There is nothing here.").to_string(),
        UserError::LastAdmin => tr.t("The last enabled owner must stay an enabled owner.").to_string(),
        UserError::Store(s) => s.to_string(),
    }
}

fn status_of(e: &UserError) -> StatusCode {
    match e {
        UserError::BadEmail(_) | UserError::WeakPassword => StatusCode::UNPROCESSABLE_ENTITY,
        UserError::Taken(_) | UserError::LastAdmin => StatusCode::CONFLICT,
        UserError::NotFound(_) => StatusCode::NOT_FOUND,
        UserError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn options<T: Copy + PartialEq + std::fmt::Display>(tr: Tr, all: &[T], selected: T) -> Markup {
    html! {
        @for x in all {
            option value=(x.to_string()) selected[*x == selected] { (tr.word(&x.to_string())) }
        }
    }
}

fn language_options(selected: Language) -> Markup {
    html! {
        @for (l, name) in [(Language::En, "English"), (Language::Ja, "日本語")] {
            option value=(l.to_string()) selected[l == selected] { (name) }
        }
    }
}

#[derive(Deserialize)]
struct Flash {
    #[serde(default)]
    done: Option<String>,
}

async fn users_body(
    state: &AppState,
    v: &Visitor,
    alert: Option<&str>,
    done: Option<&str>,
) -> Result<Markup, Response> {
    let tr = v.tr();
    let list = state.run(|s| Ok(s.read(users::list)?)).await.map_err(IntoResponse::into_response)?;
    let roles = [Role::Staff, Role::Marketer, Role::Admin];
    Ok(html! {
        h1 { (tr.t("Users")) }
        @if let Some(a) = alert { p class="card" role="alert" id="user-error" { (Quoted(a)) } }
        @if let Some(d) = done { p class="card" role="status" { (tr.f("Saved: {}", &[&d])) } }
        form method="post" action="/users" class="card" id="add-user" {
            h2 { (tr.t("Add a user")) }
            input type="hidden" name="csrf" value=(v.csrf);
            label { (tr.t("Email")) " " input name="email" type="email" required; } " "
            label { (tr.t("Name")) " " input name="name"; } " "
            label { (tr.t("Role")) " " select name="role" { (options(tr, &roles, Role::Staff)) } } " "
            label { (tr.t("Language")) " " select name="language" { (language_options(v.user.language)) } } " "
            label {
                (tr.t("First password")) " "
                input name="password" type="password" autocomplete="new-password" required minlength=(users::MIN_PASSWORD_CHARS);
            } " "
            button { (tr.t("Add")) }
        }
        (table(None, Some("keep"), &[tr.t("Email"), tr.t("Name"), tr.t("Role"), tr.t("Access")], html! {
            @for u in &list {
                @let (access_label, disable) = match u.disabled_at {
                    Some(_) => (tr.t("Enable"), 0),
                    None => (tr.t("Disable"), 1),
                };
                tr {
                    td { (u.email) }
                    td { (u.name) }
                    td {
                        form method="post" action={ "/users/" (u.id) "/role" } class="inline" {
                            input type="hidden" name="csrf" value=(v.csrf);
                            select name="role" aria-label=(tr.t("Role")) { (options(tr, &roles, u.role)) } " "
                            button { (tr.t("Change")) }
                        }
                    }
                    td {
                        @if u.disabled_at.is_some() { (tr.t("disabled")) } @else { (tr.t("enabled")) } " "
                        form method="post" action={ "/users/" (u.id) "/access" } class="inline" {
                            input type="hidden" name="csrf" value=(v.csrf);
                            input type="hidden" name="disable" value=(disable);
                            button { (access_label) }
                        }
                    }
                }
            }
        }))
    })
}

async fn users_page(ConsoleAdmin(v): ConsoleAdmin, State(state): State<AppState>, Query(q): Query<Flash>) -> Response {
    match users_body(&state, &v, None, q.done.as_deref()).await {
        Ok(html) => v.page(v.tr().t("Users"), html).into_response(),
        Err(r) => r,
    }
}

/// Answers a users-page form: back to the list, or the list with why it was refused.
async fn users_outcome(state: &AppState, v: &Visitor, outcome: Result<String, UserError>) -> Response {
    match outcome {
        Ok(done) => Redirect::to(&format!("/users?done={}", crate::console::shell::urlencode(&done))).into_response(),
        Err(UserError::Store(e)) => crate::ApiError::from(e).into_response(),
        Err(e) => match users_body(state, v, Some(&user_error(v.tr(), &e)), None).await {
            Ok(html) => (status_of(&e), v.page(v.tr().t("Users"), html)).into_response(),
            Err(r) => r,
        },
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct NewUserForm {
    csrf: String,
    email: String,
    name: String,
    role: String,
    language: String,
    password: String,
}

carries_csrf!(NewUserForm);

async fn create_user(
    ConsoleAdmin(v): ConsoleAdmin,
    State(state): State<AppState>,
    Posted(f): Posted<NewUserForm>,
) -> Response {
    let (Ok(role), Ok(language)) = (f.role.parse::<Role>(), f.language.parse::<Language>()) else {
        return v.bad_form(v.tr().t("Users"), v.tr().t("Choose a role and a language."));
    };
    let email = f.email.clone();
    let actor = v.actor();
    let outcome = state
        .run(move |s| {
            Ok(s.write(|c| {
                let user = users::create(c, &f.email, &f.name, role, language, &f.password)?;
                let after = serde_json::json!({"role": role.as_str()});
                let subject = format!("user:{}", f.email.trim().to_lowercase());
                crate::audit::record(c, &actor, "users.create", &subject, Some(after))?;
                Ok(user)
            }))
        })
        .await;
    match outcome {
        Ok(result) => users_outcome(&state, &v, result.map(|_| email.trim().to_lowercase())).await,
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RoleForm {
    csrf: String,
    role: String,
}

carries_csrf!(RoleForm);

async fn change_role(
    ConsoleAdmin(v): ConsoleAdmin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<RoleForm>,
) -> Response {
    let Ok(role) = f.role.parse::<Role>() else { return v.bad_form(v.tr().t("Users"), v.tr().t("Unknown role.")) };
    let actor = v.actor();
    let outcome = state
        .run(move |s| {
            Ok(s.write(|c| {
                let before = users::get(c, id)?.map(|u| u.role.as_str()).unwrap_or_default();
                users::set_role(c, id, role)?;
                let email = users::get(c, id)?.map(|u| u.email).unwrap_or_default();
                let (before, after) = (serde_json::json!({"role": before}), serde_json::json!({"role": role.as_str()}));
                crate::audit::record_change(c, &actor, "users.role", &format!("user:{email}"), before, after)?;
                Ok(email)
            }))
        })
        .await;
    match outcome {
        Ok(result) => users_outcome(&state, &v, result).await,
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct AccessForm {
    csrf: String,
    disable: String,
}

carries_csrf!(AccessForm);

async fn change_access(
    ConsoleAdmin(v): ConsoleAdmin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<AccessForm>,
) -> Response {
    let actor = v.actor();
    let outcome = state
        .run(move |s| {
            Ok(s.write(|c| {
                users::set_disabled(c, id, f.disable == "1")?;
                let email = users::get(c, id)?.map(|u| u.email).unwrap_or_default();
                let after = serde_json::json!({"disabled": f.disable == "1"});
                crate::audit::record(c, &actor, "users.access", &format!("user:{email}"), Some(after))?;
                Ok(email)
            }))
        })
        .await;
    match outcome {
        Ok(result) => users_outcome(&state, &v, result).await,
        Err(e) => e.into_response(),
    }
}

/// The workspace settings as the page shows them (or as typed).
struct Shown<'a> {
    time_zone: &'a str,
    currency: &'a str,
    /// The phone country setting: empty for automatic, `none`, or an ISO code.
    phone_country: &'a str,
}

fn settings_body(v: &Visitor, shown: &Shown<'_>, alert: Option<&str>, saved: bool) -> Markup {
    let tr = v.tr();
    let Shown { time_zone, currency, phone_country } = *shown;
    html! {
        h1 { (tr.t("Settings")) }
        @if let Some(a) = alert { p class="card" role="alert" id="settings-error" { (Quoted(a)) } }
        @if saved { p class="card" role="status" { (tr.t("Settings saved; they are in force now.")) } }
        form method="post" action="/settings" class="card" {
            input type="hidden" name="csrf" value=(v.csrf);
            p {
                label { (tr.t("Business time zone")) " " input name="time_zone" value=(time_zone) required placeholder="Asia/Tokyo"; } br;
                span class="muted" {
                    (tr.t("An IANA name such as Asia/Tokyo or Europe/Paris: business days, promotions and stamp days follow it."))
                }
            }
            p {
                label {
                    (tr.t("Currency")) " "
                    input name="currency" value=(currency) required size="4" maxlength="3" placeholder="JPY";
                } br;
                span class="muted" { (tr.t("ISO 4217 code of orders that do not name their currency.")) }
            }
            p {
                label {
                    (tr.t("Phone numbers")) " "
                    select name="phone_country" id="phone-country" {
                        option value="" selected[phone_country.is_empty()] { (tr.t("Automatic: Japanese in yen or on Tokyo time")) }
                        option value="none" selected[phone_country == "none"] { (tr.t("Kept as typed")) }
                        @for country in enishi_core::PhoneCountry::all() {
                            option value=(country.code()) selected[phone_country.eq_ignore_ascii_case(country.code())] { (country.code()) }
                        }
                    }
                } br;
                span class="muted" { (tr.t("The country whose national numbers (090-1234-5678) are stored in the international form (+819012345678) when typed, imported or sent.")) }
            }
            p { button { (tr.t("Save")) } }
        }
    }
}

async fn settings_page(
    ConsoleAdmin(v): ConsoleAdmin,
    State(state): State<AppState>,
    Query(q): Query<Flash>,
) -> Response {
    let ws = state.workspace();
    let stored = state.run(|s| Ok(s.read(|c| settings::get(c, settings::PHONE_COUNTRY))?)).await;
    let phone_country = match stored {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => return e.into_response(),
    };
    let shown = Shown { time_zone: ws.clock.tz_name(), currency: ws.currency.as_str(), phone_country: &phone_country };
    let body = settings_body(&v, &shown, None, q.done.is_some());
    v.page(v.tr().t("Settings"), body).into_response()
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct SettingsForm {
    csrf: String,
    time_zone: String,
    currency: String,
    phone_country: String,
}

carries_csrf!(SettingsForm);

async fn save_settings(
    ConsoleAdmin(v): ConsoleAdmin,
    State(state): State<AppState>,
    Posted(f): Posted<SettingsForm>,
) -> Response {
    let tr = v.tr();
    let refuse = |why: String| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            v.page(
                tr.t("Settings"),
                settings_body(
                    &v,
                    &Shown { time_zone: &f.time_zone, currency: &f.currency, phone_country: &f.phone_country },
                    Some(&why),
                    false,
                ),
            ),
        )
            .into_response()
    };
    let clock = match BusinessClock::new(f.time_zone.trim()) {
        Ok(c) => c,
        Err(e) => return refuse(tr.f("Business time zone: {}", &[&tr.message(&e.0)])),
    };
    let currency = match Currency::iso4217(&f.currency) {
        Ok(c) => c,
        Err(e) => return refuse(tr.f("Currency: {}", &[&tr.message(&e.0)])),
    };
    let phone_country = match enishi_ingest::intake::Workspace::phone_country_setting(&f.phone_country) {
        Ok(p) => p,
        Err(e) => return refuse(tr.f("Phone numbers: {}", &[&tr.message(&e.0)])),
    };
    let (actor, old) = (v.actor(), state.workspace());
    let saved = state
        .run(move |s| {
            s.write(|c| {
                settings::set(c, settings::TIME_ZONE, clock.tz_name())?;
                settings::set(c, settings::CURRENCY, currency.as_str())?;
                settings::set(c, settings::PHONE_COUNTRY, &phone_country)?;
                let phones = |p: Option<enishi_core::PhoneCountry>| p.map_or("none", |p| p.code());
                let before = serde_json::json!({"time_zone": old.clock.tz_name(), "currency": old.currency.as_str(),
                    "phone_country": phones(old.phone_country)});
                let after = serde_json::json!({"time_zone": clock.tz_name(), "currency": currency.as_str(),
                    "phone_country": if phone_country.is_empty() { "automatic" } else { phone_country.as_str() }});
                crate::audit::record_change(c, &actor, "settings.update", "settings", before, after)
            })?;
            // The phone country follows a yen or Tokyo-time workspace unless it is set.
            enishi_ingest::intake::Workspace::load(s).map_err(crate::ApiError::internal)
        })
        .await;
    match saved {
        Ok(ws) => {
            state.settings.set(ws);
            Redirect::to("/settings?done=1").into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn account_body(v: &Visitor, alert: Option<&str>, done: bool) -> Markup {
    let tr = v.tr();
    html! {
        h1 { (tr.t("Your account")) }
        @if let Some(a) = alert { p class="card" role="alert" id="account-error" { (Quoted(a)) } }
        @if done { p class="card" role="status" { (tr.t("Password changed; your other sessions were signed out.")) } }
        section class="card" {
            p {
                (tr.t("Name")) ": " (v.user.name) br;
                (tr.t("Email")) ": " (v.user.email) br;
                (tr.t("Role")) ": " (tr.word(v.role().as_str()))
            }
            form method="post" action="/language" {
                input type="hidden" name="csrf" value=(v.csrf);
                label { (tr.t("Language")) " " select name="language" { (language_options(v.user.language)) } } " "
                button { (tr.t("Save")) }
            }
        }
        form method="post" action="/account/password" class="card" {
            h2 { (tr.t("Change your password")) }
            input type="hidden" name="csrf" value=(v.csrf);
            p { label { (tr.t("Current password")) " " input name="current" type="password" autocomplete="current-password" required; } }
            p {
                label {
                    (tr.t("New password")) " "
                    input name="new" type="password" autocomplete="new-password" required minlength=(users::MIN_PASSWORD_CHARS);
                }
            }
            p { button { (tr.t("Change")) } }
        }
    }
}

async fn account_page(ConsoleUser(v): ConsoleUser, Query(q): Query<Flash>) -> Response {
    v.page(v.tr().t("Your account"), account_body(&v, None, q.done.is_some())).into_response()
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
}

carries_csrf!(PasswordForm);

async fn change_password(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted(f): Posted<PasswordForm>,
) -> Response {
    let (id, email, session) = (v.user.id, v.user.email.clone(), crate::console::shell::session_of(&headers));
    let outcome = state
        .run(move |s| {
            Ok(s.write(|c| {
                if users::check_password(c, &email, &f.current)?.is_none() {
                    return Ok(false);
                }
                users::set_password(c, id, &f.new, session.as_deref())?;
                Ok::<_, UserError>(true)
            }))
        })
        .await;
    let refuse = |status: StatusCode, why: &str| {
        (status, v.page(v.tr().t("Your account"), account_body(&v, Some(why), false))).into_response()
    };
    match outcome {
        Ok(Ok(true)) => Redirect::to("/account?done=1").into_response(),
        Ok(Ok(false)) => refuse(StatusCode::UNPROCESSABLE_ENTITY, v.tr().t("The current password is not right.")),
        Ok(Err(UserError::Store(e))) => crate::ApiError::from(e).into_response(),
        Ok(Err(e)) => refuse(status_of(&e), &user_error(v.tr(), &e)),
        Err(e) => e.into_response(),
    }
}

/// The audit page (admins): the newest 200 entries, `?before=ID` for older ones.
async fn audit_page(
    ConsoleAdmin(v): ConsoleAdmin,
    State(state): State<AppState>,
    Query(q): Query<crate::audit::AuditQuery>,
) -> Response {
    let tr = v.tr();
    let before = q.before;
    let items = match state.run(move |s| Ok(s.read(|c| audit::recent(c, before, 200))?)).await {
        Ok(items) => items,
        Err(e) => return e.into_response(),
    };
    let clock = state.workspace().clock;
    let html = html! {
        h1 { (tr.t("Audit log")) }
        p class="muted" { (tr.t("Who changed what, newest first. Entries cannot be changed or deleted.")) }
        (table(None, Some("keep"), &[tr.t("When"), tr.t("Who"), tr.t("What"), tr.t("Subject"), tr.t("Details")], html! {
            @for e in &items {
                @let details = [e.before.as_deref().map(|b| format!("{b} → ")), e.after.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<String>();
                tr {
                    td { (clock.format(enishi_store::instant(e.at))) }
                    td { (e.actor) }
                    td { (e.action) }
                    td { (e.subject) }
                    td { code { (details) } }
                }
            }
        }))
        @if let (Some(last), 200) = (items.last(), items.len()) {
            p { a href={ "/audit?before=" (last.id) } { (tr.t("Older →")) } }
        }
    };
    v.page(tr.t("Audit log"), html).into_response()
}
