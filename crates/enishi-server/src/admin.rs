//! Running the workspace: users and their roles (owners only), the workspace settings
//! (owners only), and each user's own account (language and password).

use crate::console::{admin_form, admin_only};
use crate::i18n::Tr;
use crate::shell::{esc, table_start, visitor, Visitor};
use crate::AppState;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_core::{BusinessClock, Currency, Language, Role};
use enishi_store::repo::settings;
use enishi_store::repo::users::{self, UserError};
use serde::Deserialize;
use std::fmt::Write;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(users_page).post(create_user))
        .route("/users/{id}/role", post(change_role))
        .route("/users/{id}/access", post(change_access))
        .route("/settings", get(settings_page).post(save_settings))
        .route("/audit", get(crate::audit::page))
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

fn options<T: Copy + PartialEq + std::fmt::Display>(tr: Tr, all: &[T], selected: T) -> String {
    let mut html = String::new();
    for x in all {
        let _ = write!(
            html,
            "<option value=\"{x}\"{}>{}</option>",
            if *x == selected { " selected" } else { "" },
            tr.word(&x.to_string())
        );
    }
    html
}

fn language_options(selected: Language) -> String {
    [(Language::En, "English"), (Language::Ja, "日本語")]
        .iter()
        .map(|(l, name)| {
            format!("<option value=\"{l}\"{}>{name}</option>", if *l == selected { " selected" } else { "" })
        })
        .collect()
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
) -> Result<String, Response> {
    let tr = v.tr();
    let list = state.run(|s| Ok(s.read(users::list)?)).await.map_err(IntoResponse::into_response)?;
    let mut html = format!("<h1>{}</h1>", tr.t("Users"));
    if let Some(a) = alert {
        let _ = write!(html, "<p class=\"card\" role=\"alert\" id=\"user-error\">{}</p>", esc(a));
    }
    if let Some(d) = done {
        let _ = write!(html, "<p class=\"card\" role=\"status\">{}</p>", tr.f("Saved: {}", &[&esc(d)]));
    }
    let _ = write!(
        html,
        "<form method=\"post\" action=\"/users\" class=\"card\" id=\"add-user\"><h2>{}</h2><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label>{} <input name=\"email\" type=\"email\" required></label> <label>{} <input name=\"name\"></label> \
         <label>{} <select name=\"role\">{}</select></label> <label>{} <select name=\"language\">{}</select></label> \
         <label>{} <input name=\"password\" type=\"password\" autocomplete=\"new-password\" required minlength=\"{}\"></label> \
         <button>{}</button></form>",
        tr.t("Add a user"),
        v.csrf,
        tr.t("Email"),
        tr.t("Name"),
        tr.t("Role"),
        options(tr, &[Role::Staff, Role::Marketer, Role::Admin], Role::Staff),
        tr.t("Language"),
        language_options(v.user.language),
        tr.t("First password"),
        users::MIN_PASSWORD_CHARS,
        tr.t("Add"),
    );
    html.push_str(&table_start("class=\"keep\"", &[tr.t("Email"), tr.t("Name"), tr.t("Role"), tr.t("Access")]));
    for u in list {
        let (access_label, disable) = match u.disabled_at {
            Some(_) => (tr.t("Enable"), 0),
            None => (tr.t("Disable"), 1),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/users/{id}/role\" class=\"inline\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><select name=\"role\" aria-label=\"{}\">{}</select> <button>{}</button></form></td>\
             <td>{} <form method=\"post\" action=\"/users/{id}/access\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"disable\" value=\"{disable}\"><button>{access_label}</button></form></td></tr>",
            esc(&u.email),
            esc(&u.name),
            tr.t("Role"),
            options(tr, &[Role::Staff, Role::Marketer, Role::Admin], u.role),
            tr.t("Change"),
            if u.disabled_at.is_some() { tr.t("disabled") } else { tr.t("enabled") },
            id = u.id,
            csrf = v.csrf,
        );
    }
    html.push_str("</tbody></table></div>");
    Ok(html)
}

async fn users_page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<Flash>) -> Response {
    let v = match admin_only(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match users_body(&state, &v, None, q.done.as_deref()).await {
        Ok(html) => v.page(v.tr().t("Users"), &html).into_response(),
        Err(r) => r,
    }
}

/// Answers a users-page form: back to the list, or the list with why it was refused.
async fn users_outcome(state: &AppState, v: &Visitor, outcome: Result<String, UserError>) -> Response {
    match outcome {
        Ok(done) => Redirect::to(&format!("/users?done={}", crate::shell::urlencode(&done))).into_response(),
        Err(UserError::Store(e)) => crate::ApiError::from(e).into_response(),
        Err(e) => match users_body(state, v, Some(&user_error(v.tr(), &e)), None).await {
            Ok(html) => (status_of(&e), v.page(v.tr().t("Users"), &html)).into_response(),
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

async fn create_user(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<NewUserForm>) -> Response {
    let v = match admin_form(&state, &headers, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return r,
    };
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

async fn change_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<RoleForm>,
) -> Response {
    let v = match admin_form(&state, &headers, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return r,
    };
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

async fn change_access(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<AccessForm>,
) -> Response {
    let v = match admin_form(&state, &headers, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return r,
    };
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

fn settings_body(v: &Visitor, time_zone: &str, currency: &str, alert: Option<&str>, saved: bool) -> String {
    let tr = v.tr();
    let mut html = format!("<h1>{}</h1>", tr.t("Settings"));
    if let Some(a) = alert {
        let _ = write!(html, "<p class=\"card\" role=\"alert\" id=\"settings-error\">{}</p>", esc(a));
    }
    if saved {
        let _ =
            write!(html, "<p class=\"card\" role=\"status\">{}</p>", tr.t("Settings saved; they are in force now."));
    }
    let _ = write!(
        html,
        "<form method=\"post\" action=\"/settings\" class=\"card\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <p><label>{} <input name=\"time_zone\" value=\"{}\" required placeholder=\"Asia/Tokyo\"></label><br>\
         <span class=\"muted\">{}</span></p>\
         <p><label>{} <input name=\"currency\" value=\"{}\" required size=\"4\" maxlength=\"3\" placeholder=\"JPY\"></label><br>\
         <span class=\"muted\">{}</span></p><p><button>{}</button></p></form>",
        v.csrf,
        tr.t("Business time zone"),
        esc(time_zone),
        tr.t("An IANA name such as Asia/Tokyo or Europe/Paris: business days, promotions and stamp days follow it."),
        tr.t("Currency"),
        esc(currency),
        tr.t("ISO 4217 code of orders that do not name their currency."),
        tr.t("Save"),
    );
    html
}

async fn settings_page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<Flash>) -> Response {
    let v = match admin_only(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ws = state.workspace();
    let body = settings_body(&v, ws.clock.tz_name(), ws.currency.as_str(), None, q.done.is_some());
    v.page(v.tr().t("Settings"), &body).into_response()
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct SettingsForm {
    csrf: String,
    time_zone: String,
    currency: String,
}

async fn save_settings(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<SettingsForm>) -> Response {
    let v = match admin_form(&state, &headers, &f.csrf).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tr = v.tr();
    let refuse = |why: String| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            v.page(tr.t("Settings"), &settings_body(&v, &f.time_zone, &f.currency, Some(&why), false)),
        )
            .into_response()
    };
    let clock = match BusinessClock::new(f.time_zone.trim()) {
        Ok(c) => c,
        Err(e) => return refuse(tr.f("Business time zone: {}", &[&tr.message(&e.0)])),
    };
    let currency = match f.currency.trim().parse::<Currency>() {
        Ok(c) => c,
        Err(e) => return refuse(tr.f("Currency: {}", &[&tr.message(&e.0)])),
    };
    let (actor, old) = (v.actor(), state.workspace());
    let saved = state
        .run(move |s| {
            Ok(s.write(|c| {
                settings::set(c, settings::TIME_ZONE, clock.tz_name())?;
                settings::set(c, settings::CURRENCY, currency.as_str())?;
                let before = serde_json::json!({"time_zone": old.clock.tz_name(), "currency": old.currency.as_str()});
                let after = serde_json::json!({"time_zone": clock.tz_name(), "currency": currency.as_str()});
                crate::audit::record_change(c, &actor, "settings.update", "settings", before, after)
            })?)
        })
        .await;
    match saved {
        Ok(()) => {
            state.settings.set(enishi_ingest::intake::Workspace { clock, currency });
            Redirect::to("/settings?done=1").into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn account_body(v: &Visitor, alert: Option<&str>, done: bool) -> String {
    let tr = v.tr();
    let mut html = format!("<h1>{}</h1>", tr.t("Your account"));
    if let Some(a) = alert {
        let _ = write!(html, "<p class=\"card\" role=\"alert\" id=\"account-error\">{}</p>", esc(a));
    }
    if done {
        let _ = write!(
            html,
            "<p class=\"card\" role=\"status\">{}</p>",
            tr.t("Password changed; your other sessions were signed out.")
        );
    }
    let _ = write!(
        html,
        "<section class=\"card\"><p>{}: {}<br>{}: {}<br>{}: {}</p>\
         <form method=\"post\" action=\"/language\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label>{} <select name=\"language\">{}</select></label> <button>{}</button></form></section>\
         <form method=\"post\" action=\"/account/password\" class=\"card\"><h2>{}</h2><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <p><label>{} <input name=\"current\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
         <p><label>{} <input name=\"new\" type=\"password\" autocomplete=\"new-password\" required minlength=\"{}\"></label></p>\
         <p><button>{}</button></p></form>",
        tr.t("Name"),
        esc(&v.user.name),
        tr.t("Email"),
        esc(&v.user.email),
        tr.t("Role"),
        tr.word(v.role().as_str()),
        v.csrf,
        tr.t("Language"),
        language_options(v.user.language),
        tr.t("Save"),
        tr.t("Change your password"),
        v.csrf,
        tr.t("Current password"),
        tr.t("New password"),
        users::MIN_PASSWORD_CHARS,
        tr.t("Change"),
    );
    html
}

async fn account_page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<Flash>) -> Response {
    let v = match visitor(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    v.page(v.tr().t("Your account"), &account_body(&v, None, q.done.is_some())).into_response()
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
}

async fn change_password(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<PasswordForm>) -> Response {
    let v = match visitor(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !v.form_ok(&f.csrf) {
        return v.forged();
    }
    let (id, email, session) = (v.user.id, v.user.email.clone(), crate::shell::session_of(&headers));
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
        (status, v.page(v.tr().t("Your account"), &account_body(&v, Some(why), false))).into_response()
    };
    match outcome {
        Ok(Ok(true)) => Redirect::to("/account?done=1").into_response(),
        Ok(Ok(false)) => refuse(StatusCode::UNPROCESSABLE_ENTITY, v.tr().t("The current password is not right.")),
        Ok(Err(UserError::Store(e))) => crate::ApiError::from(e).into_response(),
        Ok(Err(e)) => refuse(status_of(&e), &user_error(v.tr(), &e)),
        Err(e) => e.into_response(),
    }
}
