//! The console's message templates (owners and marketers): the list, and the editor — subject,
//! HTML and text bodies and the language, with the merge fields beside it. Saving checks the
//! template; a mistake is shown on the same page with what was typed kept. A preview renders
//! the typed template for a chosen customer (or an invented one): the HTML in a sandboxed frame
//! that runs no script and loads nothing.

use crate::console::i18n::Tr;
use crate::console::shell::{carries_csrf, table, urlencode, ConsoleManager, ForManagers, Posted, Quoted, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use enishi_campaigns::campaigns as ops;
use enishi_campaigns::template::{Language, Parts, Rendered, FIELDS};
use enishi_store::repo::campaigns as repo;
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/templates", get(list_page).post(submit))
        .route("/templates/new", get(new_page))
        .route("/templates/{name}", get(edit_page))
}

/// The template pages: for owners and marketers.
pub(crate) struct TemplatePages;

impl ForManagers for TemplatePages {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Campaigns are for owners and marketers.")
    }
}

/// The editor's fields, as typed.
#[derive(Default, Deserialize)]
#[serde(default)]
struct TemplateForm {
    csrf: String,
    name: String,
    locale: String,
    subject: String,
    html: String,
    text: String,
    /// The shop's id of the customer to preview for (blank: an invented customer).
    customer: String,
    /// `save` or `preview`.
    action: String,
}

carries_csrf!(TemplateForm);

impl TemplateForm {
    fn parts(&self) -> Parts {
        Parts { subject: self.subject.clone(), html: self.html.clone(), text: self.text.clone() }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    saved: Option<String>,
}

async fn list_page(
    ConsoleManager(v, _): ConsoleManager<TemplatePages>,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Response {
    let tr = v.tr();
    let all = match state.run(|s| Ok(s.read(repo::templates)?)).await {
        Ok(all) => all,
        Err(e) => return e.into_response(),
    };
    let clock = state.workspace().clock;
    let body = html! {
        h1 { (tr.t("Message templates")) }
        @if let Some(name) = &q.saved { p class="card" role="status" id="flash" { (tr.f("Saved template \"{}\".", &[name])) } }
        p { a href="/templates/new" id="new-template" { (tr.t("New template")) } " · " a href="/campaigns" { (tr.t("Campaigns")) } }
        @if all.is_empty() {
            p { (tr.t("No templates yet.")) }
        } @else {
            (table(Some("templates"), None, &[tr.t("Template"), tr.t("Language"), tr.t("Subject line"), tr.t("Saved")], html! {
                @for t in &all {
                    tr {
                        td { a href={ "/templates/" (urlencode(&t.name)) } { (t.name) } }
                        td { (language_name(tr, &t.locale)) }
                        td { (t.subject) }
                        td { (crate::console::format::local_time(tr, &clock, enishi_store::instant(t.updated_at))) }
                    }
                }
            }))
        }
    };
    v.page(tr.t("Message templates"), body).into_response()
}

fn language_name(tr: Tr, locale: &str) -> &'static str {
    match Language::of(locale) {
        Language::Japanese => tr.t("Japanese"),
        Language::English => tr.t("English"),
    }
}

async fn new_page(ConsoleManager(v, _): ConsoleManager<TemplatePages>) -> Response {
    let locale = if v.tr().lang() == enishi_core::Language::Ja { "ja" } else { "en" };
    let form = TemplateForm { locale: locale.into(), ..TemplateForm::default() };
    v.page(v.tr().t("New template"), editor(&v, &form, None, None)).into_response()
}

async fn edit_page(
    ConsoleManager(v, _): ConsoleManager<TemplatePages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Response {
    let t = match state.run(move |s| Ok(s.read(|c| repo::template_by_name(c, &name))?)).await {
        Ok(Some(t)) => t,
        Ok(None) => return v.not_found(),
        Err(e) => return e.into_response(),
    };
    let form = TemplateForm {
        name: t.name.clone(),
        locale: t.locale,
        subject: t.subject,
        html: t.html,
        text: t.text,
        ..TemplateForm::default()
    };
    v.page(&t.name, editor(&v, &form, None, None)).into_response()
}

async fn submit(
    ConsoleManager(v, _): ConsoleManager<TemplatePages>,
    State(state): State<AppState>,
    Posted(f): Posted<TemplateForm>,
) -> Response {
    let tr = v.tr();
    let w = state.workspace();
    let (parts, name, locale, customer) = (f.parts(), f.name.clone(), f.locale.clone(), f.customer.clone());
    let actor = v.actor();
    let title = if f.name.trim().is_empty() { tr.t("New template").to_string() } else { f.name.clone() };
    if f.action == "preview" {
        let rendered = state
            .run(move |s| {
                Ok(s.write(|c| {
                    let customer = Some(customer.trim()).filter(|x| !x.is_empty());
                    ops::render_for(c, &parts, Language::of(&locale), customer, w.currency, &w.clock)
                }))
            })
            .await;
        return match rendered {
            Ok(Ok(r)) => v.page(&title, editor(&v, &f, None, Some(&r))).into_response(),
            Ok(Err(e)) if e.is_users() => {
                let page = v.page(&title, editor(&v, &f, Some(&e.to_string()), None));
                (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
            }
            Ok(Err(e)) => crate::ApiError::internal(e).into_response(),
            Err(e) => e.into_response(),
        };
    }
    let saved = state
        .run(move |s| {
            Ok(s.write(|c| {
                ops::save_template(c, &name, &locale, &parts, w.currency)?;
                let after = serde_json::json!({"locale": locale});
                crate::audit::record(c, &actor, "template.save", name.trim(), Some(after))?;
                Ok::<_, enishi_campaigns::Error>(())
            }))
        })
        .await;
    match saved {
        Ok(Ok(())) => Redirect::to(&format!("/templates?saved={}", urlencode(f.name.trim()))).into_response(),
        Ok(Err(e)) if e.is_users() => {
            let page = v.page(&title, editor(&v, &f, Some(&e.to_string()), None));
            (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
        }
        Ok(Err(e)) => crate::ApiError::internal(e).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The editor with what was typed, a refusal, and a preview.
fn editor(v: &Visitor, f: &TemplateForm, error: Option<&str>, preview: Option<&Rendered>) -> Markup {
    let tr = v.tr();
    html! {
        h1 { @if f.name.is_empty() { (tr.t("New template")) } @else { (f.name) } }
        p { a href="/templates" { (tr.t("Message templates")) } }
        @if let Some(e) = error {
            p class="card" role="alert" id="template-error" { strong { (tr.t("Not saved.")) } " " (Quoted(&tr.message(e))) }
        }
        div class="editor" {
            form method="post" action="/templates" id="template-form" class="card" {
                input type="hidden" name="csrf" value=(v.csrf);
                p { label { (tr.t("Name")) " " input name="name" required maxlength="120" value=(f.name); } }
                p {
                    label { (tr.t("Language")) " "
                        select name="locale" {
                            option value="ja" selected[f.locale == "ja"] { (tr.t("Japanese")) }
                            option value="en" selected[f.locale != "ja"] { (tr.t("English")) }
                        }
                    }
                }
                p { label { (tr.t("Subject line")) " " input name="subject" class="full" value=(f.subject); } }
                p { label for="html" { (tr.t("HTML body")) } br; textarea id="html" name="html" rows="12" class="full mono" { (f.html) } }
                p { label for="text" { (tr.t("Text body")) } br; textarea id="text" name="text" rows="8" class="full mono" { (f.text) } }
                p {
                    label { (tr.t("Preview for customer (the shop's id; blank for an example customer)")) " "
                        input name="customer" value=(f.customer); }
                }
                p {
                    button name="action" value="save" id="save-template" { (tr.t("Save")) } " "
                    button name="action" value="preview" id="preview-template" { (tr.t("Preview")) }
                }
            }
            aside class="card" id="merge-fields" {
                h2 { (tr.t("Merge fields")) }
                p class="muted" { (tr.t("Write them as {{ customer.honorific }}; amounts as {{ 1200 | money }}.")) }
                dl {
                    @for (field, meaning) in FIELDS {
                        dt class="mono" { (field) }
                        dd { (tr.word(meaning)) }
                    }
                }
            }
        }
        @if let Some(r) = preview {
            section class="card" id="preview" {
                h2 { (tr.t("Preview")) }
                p { strong { (tr.t("Subject line")) ": " } span id="preview-subject" { (r.subject) } }
                h3 { (tr.t("HTML body")) }
                // The message's HTML as a document of its own, in a frame that may run no
                // script, submit nothing and reach nothing of this page.
                iframe id="preview-html" sandbox="" srcdoc=(r.html) title=(tr.t("HTML body")) class="full preview" {}
                h3 { (tr.t("Text body")) }
                pre id="preview-text" { (r.text) }
            }
        }
    }
}
