//! `/api/v1/templates`: message templates (admins and marketers) — list, read, save (checked:
//! a template that does not parse or uses a field that is not a merge field is 422
//! `invalid_template` naming the part and line), preview for a customer, and the merge fields.

use super::shared::{invalid_template, ok, Body, PathParam, RenderedMessage, Timestamp};
use crate::auth::Manager;
use crate::error::Problem;
use crate::openapi::{
    BadRequest, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable, UnprocessableEntity,
    UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use enishi_campaigns::campaigns as ops;
use enishi_campaigns::template::{Language, Parts, FIELDS};
use enishi_campaigns::Error;
use enishi_store::repo::campaigns::{self as repo, Template};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The template routes, each registered with its documentation.
pub(crate) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(fields))
        .routes(routes!(show, save))
        .routes(routes!(preview))
}

/// A template to save (its name is in the path).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplateBody {
    /// The language of the wording: `ja` or `en` (the honorific, dates).
    #[schema(example = "ja")]
    locale: String,
    /// The subject line (one line), in the template language.
    subject: String,
    /// The HTML body; merge fields are HTML-escaped.
    #[serde(default)]
    html: String,
    /// The text body.
    #[serde(default)]
    text: String,
}

/// Whom to preview a template for.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplatePreviewBody {
    /// The shop's id of the customer; an invented customer when absent.
    #[serde(default)]
    #[schema(min_length = 1)]
    customer: Option<String>,
}

/// A template as the API answers it.
#[derive(Serialize, ToSchema)]
#[schema(as = Template)]
pub(crate) struct TemplateView {
    name: String,
    /// `ja` or `en`.
    locale: String,
    subject: String,
    html: String,
    text: String,
    /// When it was last saved.
    updated_at: Timestamp,
}

/// Every template, by name.
#[derive(Serialize, ToSchema)]
pub(crate) struct TemplateList {
    items: Vec<TemplateView>,
}

/// A merge field a template may use.
#[derive(Serialize, ToSchema)]
pub(crate) struct MergeField {
    /// How a template writes it (`customer.honorific`).
    field: String,
    /// What it holds.
    meaning: String,
}

/// The merge fields.
#[derive(Serialize, ToSchema)]
pub(crate) struct MergeFieldList {
    items: Vec<MergeField>,
}

fn view(t: Template) -> TemplateView {
    TemplateView {
        name: t.name,
        locale: t.locale,
        subject: t.subject,
        html: t.html,
        text: t.text,
        updated_at: Timestamp(enishi_store::instant(t.updated_at)),
    }
}

/// A campaign error on a template route as the API answers it.
fn answer(e: Error) -> ApiError {
    match e {
        Error::Template(_) => invalid_template(e.to_string()),
        Error::Invalid(m) => match m.split_once(": ") {
            Some(("template locale", why)) => ApiError::invalid("locale", why),
            Some(("template name", why)) => ApiError::invalid("name", why),
            _ => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", m),
        },
        Error::NotFound(m) => ApiError::not_found(m),
        Error::Store(s) => s.into(),
        other => ApiError::internal(other),
    }
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("there is no template named \"{name}\""))
}

#[utoipa::path(get, path = "/api/v1/templates", operation_id = "listTemplates", tag = "campaigns",
    summary = "List message templates",
    description = "Every template by name, with its subject and bodies.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    responses(
        (status = 200, description = "The templates.", body = TemplateList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list(_: Manager, State(state): State<AppState>) -> Result<Response, ApiError> {
    let all = state.run(|s| Ok(s.read(repo::templates)?)).await?;
    Ok(ok(TemplateList { items: all.into_iter().map(view).collect() }))
}

#[utoipa::path(get, path = "/api/v1/template-fields", operation_id = "listMergeFields", tag = "campaigns",
    summary = "The merge fields a template may use",
    description = "Every merge field with what it holds (docs/campaigns.md). A template that uses any other name is refused when saved.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    responses(
        (status = 200, description = "The merge fields.", body = MergeFieldList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn fields(_: Manager) -> Response {
    let items = FIELDS.iter().map(|(f, m)| MergeField { field: f.to_string(), meaning: m.to_string() }).collect();
    ok(MergeFieldList { items })
}

#[utoipa::path(get, path = "/api/v1/templates/{name}", operation_id = "getTemplate", tag = "campaigns",
    summary = "Get a template",
    description = "The template's language, subject and bodies as written.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The template's name (URL-encoded).")),
    responses(
        (status = 200, description = "The template.", body = TemplateView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn show(
    _: Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    let lookup = name.clone();
    let t = state.run(move |s| Ok(s.read(|c| repo::template_by_name(c, &lookup))?)).await?;
    Ok(ok(view(t.ok_or_else(|| not_found(&name))?)))
}

#[utoipa::path(put, path = "/api/v1/templates/{name}", operation_id = "saveTemplate", tag = "campaigns",
    summary = "Save a template",
    description = "Checks the template and saves it under the name, replacing one of that name. Each part must parse and use only the merge fields (`GET /api/v1/template-fields`), also inside branches that would not be taken: otherwise 422 `invalid_template`, whose `detail` names the part and line (`template: the html line 3: syntax error: …`, `template: the subject uses 'customer.nmae', which is not a merge field …`) and whose `field` is the part. Nothing is saved then.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The template's name (URL-encoded), 1 to 120 characters.")),
    request_body(content((TemplateBody = "application/json", examples(("offer" = (value = json!({"locale": "ja", "subject": "{{ customer.honorific }}、Bのご案内", "html": "<p>{{ customer.honorific }}</p><p>{{ points.balance }} pt</p>", "text": "{{ customer.honorific }}\n{{ unsubscribe_url }}"}))))))),
    responses(
        (status = 200, description = "Saved; the template as stored.", body = TemplateView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`invalid_template` (a part does not parse or uses an unknown field: `field` names the part, `detail` the line), `invalid_field` (`locale`, `name`) or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn save(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
    Body(b): Body<TemplateBody>,
) -> Result<Response, ApiError> {
    let currency = state.workspace().currency;
    let parts = Parts { subject: b.subject, html: b.html, text: b.text };
    let t = state
        .run(move |s| {
            s.write(|c| {
                ops::save_template(c, &name, &b.locale, &parts, currency).map_err(answer)?;
                let after = serde_json::json!({"locale": b.locale});
                crate::audit::record(c, &caller.actor, "template.save", name.trim(), Some(after))?;
                repo::template_by_name(c, name.trim())?.ok_or_else(|| not_found(&name))
            })
        })
        .await?;
    Ok(ok(view(t)))
}

#[utoipa::path(post, path = "/api/v1/templates/{name}/preview", operation_id = "previewTemplate", tag = "campaigns",
    summary = "Render a template for a customer",
    description = "Renders the saved template for the customer with the shop's id `customer` as of now (their name with the honorific, points, tier, stamps, recommendations), or for an invented customer without one. The unsubscribe link of a preview names no campaign. A template that fails to render (its fuel runs out) is 422 `invalid_template`; an unknown customer is 404.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The template's name (URL-encoded).")),
    request_body(content((TemplatePreviewBody = "application/json", examples(("customer" = (value = json!({"customer": "C-1"}))))))),
    responses(
        (status = 200, description = "The rendered message.", body = RenderedMessage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn preview(
    _: Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
    Body(b): Body<TemplatePreviewBody>,
) -> Result<Response, ApiError> {
    let w = state.workspace();
    let rendered = state
        .run(move |s| {
            s.write(|c| {
                let t = repo::template_by_name(c, &name)?.ok_or_else(|| not_found(&name))?;
                let parts = Parts { subject: t.subject, html: t.html, text: t.text };
                let language = Language::of(&t.locale);
                ops::render_for(c, &parts, language, b.customer.as_deref(), w.currency, &w.clock).map_err(answer)
            })
        })
        .await?;
    Ok(ok(RenderedMessage::from(rendered)))
}
