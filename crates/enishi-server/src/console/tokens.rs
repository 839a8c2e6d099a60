//! API tokens (owners): the list, creating one (shown once) and revoking one.

use crate::console::shell::{carries_csrf, table, ConsoleAdmin, CsrfForm, Posted, Visitor};
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_core::Role;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/tokens", get(tokens_page).post(create_token)).route("/tokens/{id}/revoke", post(revoke_token))
}

async fn tokens_body(state: &AppState, v: &Visitor, created: Option<(&str, Role)>) -> Result<Markup, ApiError> {
    let tr = v.tr();
    let list = state.run(|s| Ok(s.read(enishi_store::repo::tokens::list)?)).await?;
    Ok(html! {
        h1 { (tr.t("API tokens")) }
        @if let Some((token, role)) = created {
            p class="card" role="status" {
                (tr.f("New {} token — copy it now, it is not shown again:", &[&tr.word(role.as_str())])) " "
                code id="new-token" { (token) }
            }
        }
        form method="post" action="/tokens" class="card" {
            input type="hidden" name="csrf" value=(v.csrf);
            label {
                (tr.t("Role")) " "
                select name="role" {
                    @for r in [Role::Staff, Role::Marketer, Role::Admin] { option value=(r.as_str()) { (tr.word(r.as_str())) } }
                }
            } " "
            label { (tr.t("Label")) " " input name="label" required placeholder="till 2"; } " "
            button { (tr.t("Create a token")) }
        }
        (table(None, None, &[tr.t("Label"), tr.t("Role"), tr.t("Created"), tr.t("Status")], html! {
            @for t in &list {
                tr {
                    td { (t.label) }
                    td { (tr.word(&t.role)) }
                    td { (v.day(enishi_store::instant(t.created_at))) }
                    td {
                        @match t.revoked_at {
                            Some(at) => (tr.f("revoked {}", &[&v.day(enishi_store::instant(at))])),
                            None => form method="post" action={ "/tokens/" (t.id) "/revoke" } {
                                input type="hidden" name="csrf" value=(v.csrf);
                                button { (tr.t("Revoke")) }
                            },
                        }
                    }
                }
            }
        }))
    })
}

async fn tokens_page(ConsoleAdmin(v): ConsoleAdmin, State(state): State<AppState>) -> Response {
    match tokens_body(&state, &v, None).await {
        Ok(html) => v.page(v.tr().t("API tokens"), html).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TokenForm {
    csrf: String,
    role: String,
    label: String,
}

carries_csrf!(TokenForm);

async fn create_token(
    ConsoleAdmin(v): ConsoleAdmin,
    State(state): State<AppState>,
    Posted(f): Posted<TokenForm>,
) -> Response {
    let title = v.tr().t("API tokens");
    let Ok(role) = f.role.parse::<Role>() else { return v.bad_form(title, v.tr().t("Unknown role.")) };
    let label = f.label.trim().to_string();
    if label.is_empty() {
        return v.bad_form(title, v.tr().t("A token needs a label."));
    }
    let actor = v.actor();
    let created = state
        .run(move |s| {
            Ok(s.write(|c| {
                let token = enishi_store::repo::tokens::create(c, role, &label)?;
                let after = json!({"role": role.as_str()});
                crate::audit::record(c, &actor, "tokens.create", &format!("token:{label}"), Some(after))?;
                Ok::<_, enishi_store::StoreError>(token)
            })?)
        })
        .await;
    let token = match created {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    match tokens_body(&state, &v, Some((&token, role))).await {
        Ok(html) => (StatusCode::CREATED, v.page(title, html)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn revoke_token(
    ConsoleAdmin(v): ConsoleAdmin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(_): Posted<CsrfForm>,
) -> Response {
    let actor = v.actor();
    let revoked = state.run(move |s| {
        Ok(s.write(|c| {
            let n = enishi_store::repo::tokens::revoke(c, id)?;
            crate::audit::record(c, &actor, "tokens.revoke", &format!("token-id:{id}"), None)?;
            Ok::<_, enishi_store::StoreError>(n)
        })?)
    });
    match revoked.await {
        Ok(_) => Redirect::to("/tokens").into_response(),
        Err(e) => e.into_response(),
    }
}
