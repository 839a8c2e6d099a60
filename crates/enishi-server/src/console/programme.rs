//! The programme editor (owners and marketers): a draft of the loyalty programme, edited in
//! forms (one tab per part of the document, see [`programme_forms`]) or as JSON, previewed on
//! a sample order, compared with the version in force, and applied after confirmation; the
//! versions applied, by whom and when, and rollback to one of them.
//!
//! The draft is the workspace's (all managers edit the same one) and is kept in the settings
//! table; it is always a valid programme (a form that would make it invalid is refused with
//! the parser's error next to the field, and what was typed stays). It is not in force until
//! it is applied as a new version.

use crate::console::i18n::Tr;
use crate::console::loyalty::LoyaltyPages;
use crate::console::programme_forms::{
    self as forms, draw, field_at, field_of_error, read_into, sections, Choices, FieldError, Filled, Section,
};
use crate::console::shell::{carries_csrf, table, ConsoleManager, CsrfForm, Posted, Visitor};
use crate::console::till::typed_amount;
use crate::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use enishi_core::{Amount, BusinessClock, Channel, Currency, Language};
use enishi_loyalty::diff::{diff, EntryChangeKind, FieldChange, SectionChange};
use enishi_loyalty::{evaluate, CustomerState, Document, Earned, LineFacts, OrderFacts, Program, ProgramError, Source};
use enishi_store::repo::{loyalty, settings};
use maud::{html, Markup};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Settings key of the draft.
const DRAFT: &str = "loyalty_programme_draft";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/loyalty/editor", get(|| async { Redirect::to("/loyalty/editor/earning") }))
        .route("/loyalty/editor/json", get(json_page).post(save_json))
        .route("/loyalty/editor/preview", get(preview_page))
        .route("/loyalty/editor/suggestions", get(suggestions_page).post(add_suggestion))
        .route("/loyalty/editor/suggestions/loyal", post(add_loyal_suggestion))
        .route("/loyalty/editor/changes", get(changes_page))
        .route("/loyalty/editor/apply", post(apply_draft))
        .route("/loyalty/editor/discard", post(discard_draft))
        .route("/loyalty/editor/{tab}", get(tab_page).post(save_tab))
        .route("/loyalty/versions", get(versions_page))
        .route("/loyalty/versions/{version}", get(version_page))
        .route("/loyalty/versions/{version}/rollback", post(roll_back))
}

/// The draft as stored.
#[derive(Serialize, Deserialize)]
struct StoredDraft {
    /// The document (valid).
    document: Value,
    /// The version in force when it was started (0: none).
    base: i64,
    /// Who saved it last, and when (Unix seconds).
    by: String,
    at: i64,
}

/// What the editor's pages show: the draft and the version in force.
struct Editor {
    /// The draft document.
    draft: Value,
    /// The version it was started from (0: none).
    base: i64,
    /// Who saved it last and when, if it was saved.
    saved: Option<(String, i64)>,
    /// The version in force and its programme.
    in_force: Option<(i64, Program)>,
    /// The saved segments' names (what promotions, rewards and offers may name).
    segments: Vec<String>,
    clock: BusinessClock,
}

impl Editor {
    fn draft_program(&self) -> Option<Program> {
        Program::parse(&self.draft.to_string(), &self.clock).ok()
    }

    /// The changes of the draft against the version in force.
    fn changes(&self) -> Vec<SectionChange> {
        match self.draft_program() {
            Some(d) => changes(self.in_force.as_ref().map(|(_, p)| &p.doc), &d.doc),
            None => vec![],
        }
    }

    fn choices(&self, lang: Language) -> Choices {
        let pick = |list: Option<&Value>| -> Vec<(String, String)> {
            list.and_then(Value::as_array)
                .map(|a| {
                    a.iter().filter_map(|e| Some((e.get("id")?.as_str()?.to_string(), entry_name(e, lang)))).collect()
                })
                .unwrap_or_default()
        };
        Choices {
            tiers: pick(forms::get(&self.draft, "tiers.levels")),
            rewards: pick(self.draft.get("rewards")),
            segments: self.segments.clone(),
        }
    }

    /// A short fingerprint of the draft, so that what is applied is what was confirmed.
    fn fingerprint(&self) -> String {
        mark(&self.draft)
    }
}

/// A short fingerprint of a document or an entry of it: a form that changes an entry carries
/// the mark of the entry it showed, so that it changes nothing that moved or changed since.
fn mark(v: &Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(v.to_string().as_bytes())[..8])
}

/// The document of a version, as a draft starts from it: in force from when it is applied.
fn as_draft(p: &Program) -> Value {
    let mut doc = serde_json::to_value(&p.doc).unwrap_or(Value::Null);
    if let Some(m) = doc.as_object_mut() {
        m.remove("effective_from");
    }
    doc
}

/// What applying `after` changes from `before`. When a version took effect is not compared:
/// a new version always takes effect anew (`effective_from` shows only when `after` sets it).
fn changes(before: Option<&Document>, after: &Document) -> Vec<SectionChange> {
    let before = before.map(|d| Document { effective_from: None, ..d.clone() });
    diff(before.as_ref(), after)
}

fn read_editor(c: &mut dyn enishi_store::Conn, programs: &enishi_rewards::Programs) -> Result<Editor, ApiError> {
    let clock = *programs.clock();
    let in_force = programs.latest().map(|(v, p)| (v, p.clone()));
    let stored = settings::get(c, DRAFT)?.and_then(|t| serde_json::from_str::<StoredDraft>(&t).ok());
    let segments = enishi_store::repo::segments::list(c)?.into_iter().map(|s| s.name).collect();
    Ok(match stored {
        Some(s) => Editor { draft: s.document, base: s.base, saved: Some((s.by, s.at)), in_force, segments, clock },
        None => {
            let draft = match &in_force {
                Some((_, p)) => as_draft(p),
                None => serde_json::from_str(enishi_loyalty::starter("cafe").unwrap_or("{}")).unwrap_or(Value::Null),
            };
            Editor { draft, base: in_force.as_ref().map_or(0, |v| v.0), saved: None, in_force, segments, clock }
        }
    })
}

async fn editor(state: &AppState) -> Result<Editor, ApiError> {
    state.with_programs(false, |c, programs| read_editor(c, programs)).await
}

/// An entry's name in `lang`: its own (`names`), or `name`, or its id.
fn entry_name(e: &Value, lang: Language) -> String {
    let own = e.get("names").and_then(|n| n.get(lang.as_str())).and_then(Value::as_str);
    own.or_else(|| e.get("name").and_then(Value::as_str))
        .or_else(|| e.get("id").and_then(Value::as_str))
        .unwrap_or("")
        .to_string()
}

/// A programme error as a form shows it: the reason without the JSON position (the form
/// has none), next to its field when the error is in the form's part of the document.
fn form_error(prefix: &str, e: &ProgramError) -> FieldError {
    let reason = match e.reason.rfind(" (line ") {
        Some(at) if e.reason.ends_with(')') => &e.reason[..at],
        _ => e.reason.as_str(),
    };
    match field_of_error(prefix, &e.path) {
        Some(path) => FieldError { path, message: reason.to_string(), elsewhere: false },
        None => FieldError { path: e.path.clone(), message: reason.to_string(), elsewhere: true },
    }
}

/// Validates `doc` and stores it as the draft; the programme's error when it is not valid.
fn store_draft(
    c: &mut dyn enishi_store::Conn,
    doc: &Value,
    base: i64,
    by: &str,
    clock: &BusinessClock,
) -> Result<Result<(), ProgramError>, ApiError> {
    let program = match Program::parse(&doc.to_string(), clock) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(e) = enishi_rewards::missing_segment(c, &program)? {
        return Ok(Err(e));
    }
    let stored = StoredDraft {
        document: serde_json::to_value(&program.doc).map_err(ApiError::internal)?,
        base,
        by: by.to_string(),
        at: c.now(),
    };
    settings::set(c, DRAFT, &serde_json::to_string(&stored).map_err(ApiError::internal)?)?;
    Ok(Ok(()))
}

// ------------------------------------------------------------------ the frame of the editor

/// The editor's tabs and the draft's state, above every editor page.
fn frame(v: &Visitor, ed: &Editor, current: &str, body: Markup) -> Markup {
    let tr = v.tr();
    let changes = ed.changes();
    let tabs = sections(tr);
    let clock = ed.clock;
    html! {
        p { a class="button" href="/loyalty" { "← " (tr.t("Loyalty programme")) } }
        h1 { (tr.t("Programme editor")) }
        p class="muted" id="draft-state" {
            @match &ed.in_force {
                Some((version, _)) if changes.is_empty() => { (tr.f("Version {} is in force.", &[version])) " " (tr.t("The draft is the same.")) },
                Some((version, _)) => { (tr.f("Version {} is in force.", &[version])) " " (tr.plural("The draft differs from it in {} part.", "The draft differs from it in {} parts.", changes.len() as u64)) },
                None => (tr.t("No programme is in force yet: the draft starts from the café starter.")),
            }
            @if let Some((by, at)) = &ed.saved {
                " " (tr.f("Last saved by {} at {}.", &[by, &clock.format_local(DateTime::from_timestamp(*at, 0).unwrap_or_default(), "%Y-%m-%d %H:%M")]))
            }
            @if ed.in_force.as_ref().is_some_and(|(version, _)| *version != ed.base) {
                br; strong { (tr.t("Another version was applied since this draft was started: check the changes before applying.")) }
            }
        }
        nav class="tabs" aria-label=(tr.t("Parts of the programme")) {
            @for s in &tabs {
                a href={ "/loyalty/editor/" (s.tab) } aria-current=[(s.tab == current).then_some("page")] { (s.title) }
                " "
            }
            a href="/loyalty/editor/json" aria-current=[("json" == current).then_some("page")] { (tr.t("JSON (experts)")) } " "
            a href="/loyalty/editor/preview" aria-current=[("preview" == current).then_some("page")] { (tr.t("Preview")) } " "
            a href="/loyalty/editor/suggestions" aria-current=[("suggestions" == current).then_some("page")] { (tr.t("Suggestions")) } " "
            a href="/loyalty/editor/changes" class="button" id="review-changes" aria-current=[("changes" == current).then_some("page")] {
                (tr.t("Review and apply")) " (" (changes.len()) ")"
            } " "
            a href="/loyalty/versions" { (tr.t("Versions")) }
        }
        (body)
    }
}

fn section_of(tr: Tr, tab: &str) -> Option<Section> {
    sections(tr).into_iter().find(|s| s.tab == tab)
}

// ------------------------------------------------------------------ the forms' tabs

#[derive(Default, Deserialize)]
#[serde(default)]
struct TabQuery {
    /// The entry being edited: its index, or `new`.
    edit: String,
}

async fn tab_page(
    ConsoleManager(v, _): ConsoleManager<LoyaltyPages>,
    State(state): State<AppState>,
    Path(tab): Path<String>,
    Query(q): Query<TabQuery>,
) -> Response {
    let Some(section) = section_of(v.tr(), &tab) else { return v.not_found() };
    match editor(&state).await {
        Ok(ed) => {
            let editing = (!q.edit.is_empty()).then_some(q.edit.as_str());
            page(&v, &ed, &section, editing, None).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// A tab's page: its settings form, its list of entries, and the form of the entry being
/// edited (`editing`: an index or `new`); after a refusal, what was sent with the error.
fn page(
    v: &Visitor,
    ed: &Editor,
    section: &Section,
    editing: Option<&str>,
    refused: Option<(&forms::Sent, &FieldError)>,
) -> Markup {
    let tr = v.tr();
    let lang = tr.lang();
    let choices = ed.choices(lang);
    let list =
        section.list.and_then(|l| forms::get(&ed.draft, l)).and_then(Value::as_array).cloned().unwrap_or_default();
    let sent_index = refused.map(|(sent, _)| sent.iter().find(|(k, _)| k == "index").map_or("", |(_, v)| v.as_str()));
    let action = format!("/loyalty/editor/{}", section.tab);
    let has_tiers = ed.draft.get("tiers").is_some_and(|t| !t.is_null());
    let settings_form = |filled: Filled<'_>, error: Option<&FieldError>| {
        html! {
            form method="post" action=(action) id="settings-form" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="index" value="";
                input type="hidden" name="action" value="save";
                (draw(tr, &section.settings, &filled, &choices, error))
                p { button { (tr.t("Save to the draft")) } }
            }
        }
    };
    // The mark of the entry at `index` as the page shows it (none for a new one).
    let entry_mark = |index: &str| index.parse::<usize>().ok().and_then(|i| list.get(i)).map(mark).unwrap_or_default();
    let entry_form = |index: &str, filled: Filled<'_>, error: Option<&FieldError>| {
        html! {
            form method="post" action=(action) id="entry-form" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="index" value=(index);
                input type="hidden" name="entry" value=(entry_mark(index));
                input type="hidden" name="action" value="save";
                (draw(tr, &section.entry, &filled, &choices, error))
                p {
                    button { (tr.t("Save to the draft")) } " "
                    a href=(action) { (tr.t("Cancel")) }
                }
            }
        }
    };
    let body = html! {
        h2 { (section.title) }
        @if !section.settings.is_empty() && (section.list != Some("tiers.levels") || has_tiers) {
            @match refused {
                Some((sent, error)) if sent_index == Some("") => (settings_form(Filled::Sent(sent), Some(error))),
                _ => (settings_form(Filled::Stored(&ed.draft), None)),
            }
        }
        @if section.list == Some("tiers.levels") && !has_tiers {
            p class="muted" { (tr.t("No tiers yet. Add the first one (it starts at 0).")) }
        }
        @if section.list.is_some() {
            @if list.is_empty() {
                p class="muted" id="entries" { (tr.t("None yet.")) }
            } @else {
                (table(Some("entries"), None, &[tr.t("Name"), tr.t("Details"), ""], html! {
                    @for (i, e) in list.iter().enumerate() {
                        tr data-index=(i) {
                            td { (entry_name(e, lang)) @if let Some(id) = e.get("id").and_then(Value::as_str) { " " span class="muted" { "(" (id) ")" } } }
                            td class="muted" { (summary(section, e)) }
                            td {
                                a class="button" href={ (action) "?edit=" (i) } { (tr.t("Edit")) } " "
                                @if section.list == Some("rules") && i > 0 {
                                    form class="inline" method="post" action=(action) {
                                        input type="hidden" name="csrf" value=(v.csrf);
                                        input type="hidden" name="index" value=(i);
                                        input type="hidden" name="entry" value=(mark(e));
                                        button name="action" value="up" { (tr.t("Move up")) }
                                    } " "
                                }
                                form class="inline" method="post" action=(action) {
                                    input type="hidden" name="csrf" value=(v.csrf);
                                    input type="hidden" name="index" value=(i);
                                    input type="hidden" name="entry" value=(mark(e));
                                    button name="action" value="remove" { (tr.t("Remove")) }
                                }
                            }
                        }
                    }
                }))
            }
            @match (refused, editing) {
                (Some((sent, error)), _) if sent_index != Some("") => {
                    h3 id="editing" { (tr.t("Edit")) }
                    (entry_form(sent_index.unwrap_or("new"), Filled::Sent(sent), Some(error)))
                }
                (_, Some("new")) => {
                    h3 id="editing" { (tr.t("New entry")) }
                    (entry_form("new", Filled::Stored(&Value::Null), None))
                }
                (_, Some(i)) => @match i.parse::<usize>().ok().and_then(|i| list.get(i).map(|e| (i, e))) {
                    Some((i, e)) => {
                        h3 id="editing" { (tr.f("Edit: {}", &[&entry_name(e, lang)])) }
                        (entry_form(&i.to_string(), Filled::Stored(e), None))
                    }
                    None => p class="error" { (tr.t("There is nothing here.")) },
                },
                _ => p { a class="button" id="add-entry" href={ (action) "?edit=new#editing" } { (tr.t("Add")) } },
            }
        }
    };
    v.page(section.title, frame(v, ed, section.tab, body))
}

/// A line about an entry: its set fields other than its names, label and value.
fn summary(section: &Section, e: &Value) -> String {
    section
        .entry
        .iter()
        .flat_map(|g| &g.fields)
        .filter(|f| !matches!(f.path, "id" | "name") && !f.path.starts_with("names."))
        .filter_map(|f| forms::get(e, f.path).map(|v| (f.label, v)))
        .filter(|(_, v)| !matches!(v, Value::Array(a) if a.is_empty()))
        .take(5)
        .map(|(label, v)| match v {
            Value::String(s) => format!("{label}: {s}"),
            Value::Array(a) => format!(
                "{label}: {}",
                a.iter().map(|x| x.as_str().map_or(x.to_string(), String::from)).collect::<Vec<_>>().join(", ")
            ),
            Value::Bool(_) => label.to_string(),
            Value::Object(o) => format!(
                "{label}: {}",
                o.values().map(|x| x.as_str().map_or(x.to_string(), String::from)).collect::<Vec<_>>().join(" ")
            ),
            other => format!("{label}: {other}"),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Applies a posted form of `section` to `doc`: the settings, or an entry saved, removed or
/// moved up. Answers the path prefix of the part the form edits (for placing the parser's
/// error), or why the form cannot be read.
fn edit(doc: &mut Value, section: &Section, sent: &forms::Sent) -> Result<String, FieldError> {
    let one = |name: &str| sent.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str());
    let (index, action) = (one("index"), one("action"));
    let Some(list_path) = section.list.filter(|_| !index.is_empty()) else {
        read_into(doc, &section.settings, sent)?;
        return Ok(String::new());
    };
    let levels = list_path == "tiers.levels";
    if levels && forms::get(doc, "tiers").is_none() {
        forms::set(doc, "tiers", Some(json!({"basis": "spend", "window": {"rolling_days": 365}, "levels": []})));
    }
    let mut list = forms::get(doc, list_path).and_then(Value::as_array).cloned().unwrap_or_default();
    let at = if index == "new" { list.len() } else { index.parse::<usize>().unwrap_or(usize::MAX) };
    let missing = || FieldError { path: String::new(), message: "There is nothing here.".into(), elsewhere: true };
    // The entry the form was opened on, if it says: not another one that took its place.
    let shown = one("entry");
    if !shown.is_empty() && list.get(at).map(mark).as_deref() != Some(shown) {
        return Err(FieldError {
            path: String::new(),
            message: "This entry was changed, moved or removed since you opened the page (the draft is shared): look at it again before changing it.".into(),
            elsewhere: true,
        });
    }
    let mut prefix = format!("{list_path}[{at}]");
    match action {
        "remove" if at < list.len() => {
            list.remove(at);
        }
        "up" if at > 0 && at < list.len() => list.swap(at - 1, at),
        "save" if at <= list.len() => {
            let mut entry = list.get(at).cloned().unwrap_or_else(|| json!({}));
            read_into(&mut entry, &section.entry, sent)?;
            if at == list.len() {
                list.push(entry.clone());
            } else {
                list[at] = entry.clone();
            }
            if levels {
                // Tiers go lowest first: a new level finds its place.
                let threshold =
                    |e: &Value| e.get("threshold").and_then(Value::as_str).and_then(|t| t.parse::<Amount>().ok());
                list.sort_by_key(threshold);
                let now_at = list.iter().position(|e| *e == entry).unwrap_or(at);
                prefix = format!("{list_path}[{now_at}]");
            }
        }
        _ => return Err(missing()),
    }
    if levels && list.is_empty() {
        forms::set(doc, "tiers", None);
    } else {
        forms::set(doc, list_path, Some(Value::Array(list)));
    }
    Ok(prefix)
}

async fn save_tab(
    ConsoleManager(v, _): ConsoleManager<LoyaltyPages>,
    State(state): State<AppState>,
    Path(tab): Path<String>,
    Posted(sent): Posted<Vec<(String, String)>>,
) -> Response {
    let tr = v.tr();
    let Some(section) = section_of(tr, &tab) else { return v.not_found() };
    let by = v.user.email.clone();
    let sent_for_save = sent.clone();
    let outcome = state
        .with_programs(true, move |c, programs| {
            let ed = read_editor(c, programs)?;
            let mut doc = ed.draft.clone();
            let section = section_of(tr, &tab).ok_or_else(|| ApiError::internal("a tab"))?;
            let prefix = match edit(&mut doc, &section, &sent_for_save) {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            Ok(store_draft(c, &doc, ed.base, &by, &ed.clock)?.map_err(|e| form_error(&prefix, &e)))
        })
        .await;
    match outcome {
        Ok(Ok(())) => Redirect::to(&format!("/loyalty/editor/{}", section.tab)).into_response(),
        Ok(Err(error)) => match editor(&state).await {
            Ok(ed) => {
                (StatusCode::UNPROCESSABLE_ENTITY, page(&v, &ed, &section, None, Some((&sent, &error)))).into_response()
            }
            Err(e) => e.into_response(),
        },
        Err(e) => e.into_response(),
    }
}

// ------------------------------------------------------------------ JSON for experts

/// The JSON tab: `text` in the box (the draft, or what was typed), the refusal `error`, and the
/// fingerprint of the draft the text was written against (`seen`).
fn json_body(v: &Visitor, ed: &Editor, text: &str, seen: &str, error: Option<&str>) -> Markup {
    let tr = v.tr();
    frame(
        v,
        ed,
        "json",
        html! {
            h2 { (tr.t("The draft as JSON")) }
            p class="muted" { (tr.t("The same draft as the forms, as one document (see docs/loyalty.md). Saving it replaces the draft; nothing is applied.")) }
            @if let Some(message) = error {
                p class="card error" role="alert" id="programme-error" { strong { (tr.t("Not saved.")) } " " (crate::console::loyalty::programme_error(tr, message)) }
            }
            form method="post" action="/loyalty/editor/json" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="seen" value=(seen);
                textarea id="document" name="document" rows="28" class="full mono" aria-label=(tr.t("The draft as JSON")) { (text) }
                p { button { (tr.t("Save to the draft")) } }
            }
            form method="post" action="/loyalty/editor/discard" {
                input type="hidden" name="csrf" value=(v.csrf);
                p { button id="discard" { (tr.t("Discard the draft (start again from the version in force)")) } }
            }
        },
    )
}

async fn json_page(ConsoleManager(v, _): ConsoleManager<LoyaltyPages>, State(state): State<AppState>) -> Response {
    match editor(&state).await {
        Ok(ed) => {
            let text = serde_json::to_string_pretty(&ed.draft).unwrap_or_default();
            let seen = ed.fingerprint();
            v.page(v.tr().t("Programme editor"), json_body(&v, &ed, &text, &seen, None)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct JsonForm {
    csrf: String,
    document: String,
    /// The fingerprint of the draft when the page was opened.
    seen: String,
}

carries_csrf!(JsonForm);

async fn save_json(
    ConsoleManager(v, _): ConsoleManager<LoyaltyPages>,
    State(state): State<AppState>,
    Posted(f): Posted<JsonForm>,
) -> Response {
    let by = v.user.email.clone();
    let (text, seen) = (f.document.clone(), f.seen.clone());
    let outcome = state
        .with_programs(true, move |c, programs| {
            let ed = read_editor(c, programs)?;
            // The whole draft is replaced: not over a change someone made since the page opened.
            if ed.fingerprint() != seen {
                let (who, _) = ed.saved.clone().unwrap_or_default();
                return Ok(Err(JsonRefusal::Changed(who)));
            }
            let doc = match Program::parse(&text, &ed.clock) {
                Ok(p) => serde_json::to_value(&p.doc).map_err(ApiError::internal)?,
                Err(e) => return Ok(Err(JsonRefusal::Invalid(e.to_string()))),
            };
            Ok(store_draft(c, &doc, ed.base, &by, &ed.clock)?.map_err(|e| JsonRefusal::Invalid(e.to_string())))
        })
        .await;
    let tr = v.tr();
    let why = match outcome {
        Ok(Ok(())) => return Redirect::to("/loyalty/editor/json").into_response(),
        Ok(Err(JsonRefusal::Invalid(message))) => message,
        Ok(Err(JsonRefusal::Changed(who))) if who.is_empty() => tr.t("The draft changed after you opened this page, so your text was not saved over it. The draft as it is now is in the other tabs; your text is below. Save again to replace the draft with it.").to_string(),
        Ok(Err(JsonRefusal::Changed(who))) => tr.f(
            "{} changed the draft after you opened this page, so your text was not saved over it. The draft as it is now is in the other tabs; your text is below. Save again to replace the draft with it.",
            &[&who],
        ),
        Err(e) => return e.into_response(),
    };
    match editor(&state).await {
        // Saving again is saving over the draft as it is now.
        Ok(ed) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            v.page(tr.t("Programme editor"), json_body(&v, &ed, &f.document, &ed.fingerprint(), Some(&why))),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Why the JSON tab's text was not saved.
enum JsonRefusal {
    /// The document is wrong: why.
    Invalid(String),
    /// Someone (named) saved the draft after the page was opened.
    Changed(String),
}

async fn discard_draft(
    ConsoleManager(_, _): ConsoleManager<LoyaltyPages>,
    State(state): State<AppState>,
    Posted(_): Posted<crate::console::shell::CsrfForm>,
) -> Response {
    match state
        .run(|s| Ok(s.write(|c| c.execute("DELETE FROM settings WHERE key = $1", enishi_store::params![DRAFT]))?))
        .await
    {
        Ok(_) => Redirect::to("/loyalty/editor/earning").into_response(),
        Err(e) => e.into_response(),
    }
}

// ------------------------------------------------------------------ suggestions

/// Weeks of orders the suggestions read.
const SUGGESTION_WEEKS: i64 = 8;

/// The happy hours suggested from the shop's quiet windows (the API's and `enishi loyalty
/// suggest`'s), each with what it would have cost and a button that adds it to the draft.
async fn suggestions_page(
    ConsoleManager(v, _): ConsoleManager<LoyaltyPages>,
    State(state): State<AppState>,
) -> Response {
    let (now, w) = (state.now(), state.workspace());
    let found = state
        .run(move |s| {
            let happy = enishi_ingest::drafts::suggest_happy_hours(s, w.clock, w.currency, now, SUGGESTION_WEEKS, 3, 2);
            let loyal =
                enishi_ingest::drafts::suggest_loyal_promotion(s, w.clock, w.currency, now, SUGGESTION_WEEKS, 2);
            Ok((happy.map_err(ApiError::internal)?, loyal.map_err(ApiError::internal)?))
        })
        .await;
    let ((found, loyal), ed) = match (found, editor(&state).await) {
        (Ok(found), Ok(ed)) => (found, ed),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    let tr = v.tr();
    let lang = v.user.language;
    let rows = html! {
        @for (i, f) in found.iter().enumerate() {
            tr {
                td { (entry_name(&serde_json::to_value(&f.promotion).unwrap_or(Value::Null), lang)) }
                td { (tr.f("{} orders, {} a week", &[&format!("{:.1}", f.window.orders_per_week), &w.currency.format(f.window.revenue_per_week)])) }
                td { (format!("{:.0}%", f.window.share_of_day * 100.0)) }
                td { (tr.f("{} more points over {} orders", &[&f.cost.extra_points, &f.cost.orders])) }
                td {
                    form method="post" action="/loyalty/editor/suggestions" {
                        input type="hidden" name="csrf" value=(v.csrf);
                        input type="hidden" name="weekday" value=(f.window.weekday);
                        input type="hidden" name="from" value=(f.window.from_hour);
                        input type="hidden" name="until" value=(f.window.until_hour);
                        button id={ "add-suggestion-" (i + 1) } { (tr.t("Add to the draft")) }
                    }
                }
            }
        }
    };
    let body = html! {
        h2 { (tr.t("Happy hours for quiet times")) }
        p class="muted" { (tr.f("The quietest three hours of each weekday in the last {} weeks (in the business time zone, within the hours the shop trades), as a double-points promotion every week. Its cost is what the same weeks' orders would have earned with it, replayed apart: nothing is written.", &[&SUGGESTION_WEEKS])) }
        @if found.is_empty() {
            p id="no-suggestions" { (tr.t("Not enough orders yet to find quiet times.")) }
        } @else {
            (table(Some("suggestions"), None, &[tr.t("Happy hour"), tr.t("Usually"), tr.t("Share of the day"), tr.t("Cost over those weeks"), ""], rows))
        }
        h2 { (tr.t("A thank-you for loyal customers")) }
        @match &loyal {
            None => p id="no-loyal-suggestion" { (tr.t("Nobody is ranked loyal yet: the analysis ranks customers by spend, tenure and repeat purchases.")) }
            Some(l) => section class="card" id="loyal-suggestion" {
                p {
                    strong { (entry_name(&serde_json::to_value(&l.promotion).unwrap_or(Value::Null), lang)) } br;
                    (tr.f("For the {} loyal and semi-loyal customers (segment “{}”), on every order, all week.", &[&l.members, &l.segment.name]))
                    @if !l.segment.saved { " " (tr.t("The segment is saved when you add it to the draft.")) }
                }
                p { (tr.f("Over the last {} weeks it would have given {} more points over {} orders.", &[&SUGGESTION_WEEKS, &l.cost.extra_points, &l.cost.orders])) }
                form method="post" action="/loyalty/editor/suggestions/loyal" {
                    input type="hidden" name="csrf" value=(v.csrf);
                    button id="add-loyal-suggestion" { (tr.t("Add to the draft")) }
                }
            }
        }
    };
    v.page(tr.t("Programme editor"), frame(&v, &ed, "suggestions", body)).into_response()
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct SuggestionForm {
    csrf: String,
    weekday: String,
    from: u32,
    until: u32,
}

carries_csrf!(SuggestionForm);

/// Adds a suggested happy hour to the draft (nothing is applied).
async fn add_suggestion(
    ConsoleManager(v, _): ConsoleManager<LoyaltyPages>,
    State(state): State<AppState>,
    Posted(f): Posted<SuggestionForm>,
) -> Response {
    let Some(promotion) = enishi_ingest::drafts::happy_hour(&f.weekday, f.from, f.until, 2) else {
        return ApiError::invalid("weekday", "a weekday (mon … sun) and hours in order").into_response();
    };
    let by = v.user.email.clone();
    let outcome = state
        .with_programs(true, move |c, programs| {
            let ed = read_editor(c, programs)?;
            let mut doc = ed.draft.clone();
            let promotion = serde_json::to_value(&promotion).map_err(ApiError::internal)?;
            add_promotion(&mut doc, promotion);
            store_draft(c, &doc, ed.base, &by, &ed.clock)
        })
        .await;
    match outcome {
        Ok(Ok(())) => Redirect::to("/loyalty/editor/promotions").into_response(),
        Ok(Err(e)) => ApiError::invalid(e.path, e.reason).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Adds the suggested multiplier for loyal customers to the draft, saving its segment first
/// when the shop has none of that name (nothing is applied).
async fn add_loyal_suggestion(
    ConsoleManager(v, _): ConsoleManager<LoyaltyPages>,
    State(state): State<AppState>,
    Posted(_): Posted<CsrfForm>,
) -> Response {
    let by = v.user.email.clone();
    let clock = state.workspace().clock;
    let outcome = state
        .with_programs(true, move |c, programs| {
            use enishi_ingest::drafts::{loyal_promotion, LOYAL_DESCRIPTION, LOYAL_RULE, LOYAL_SEGMENT};
            if enishi_store::repo::segments::by_name(c, LOYAL_SEGMENT)?.is_none() {
                let rule = enishi_segments::text::parse(LOYAL_RULE).map_err(ApiError::internal)?;
                enishi_segments::saved::create(c, LOYAL_SEGMENT, LOYAL_DESCRIPTION, &rule, &clock)
                    .map_err(ApiError::internal)?;
            }
            let promotion = serde_json::to_value(loyal_promotion(LOYAL_SEGMENT, 2)).map_err(ApiError::internal)?;
            let ed = read_editor(c, programs)?;
            let mut doc = ed.draft.clone();
            add_promotion(&mut doc, promotion);
            store_draft(c, &doc, ed.base, &by, &ed.clock)
        })
        .await;
    match outcome {
        Ok(Ok(())) => Redirect::to("/loyalty/editor/promotions").into_response(),
        Ok(Err(e)) => ApiError::invalid(e.path, e.reason).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Puts `promotion` into the programme document `doc`, replacing one with the same id.
fn add_promotion(doc: &mut Value, promotion: Value) {
    match doc.get_mut("promotions").and_then(Value::as_array_mut) {
        Some(list) => {
            list.retain(|p| p.get("id") != promotion.get("id"));
            list.push(promotion);
        }
        None => doc["promotions"] = Value::Array(vec![promotion]),
    }
}

// ------------------------------------------------------------------ preview

#[derive(Default, Deserialize)]
#[serde(default)]
struct PreviewForm {
    amount: String,
    lines: String,
    channel: String,
    at: String,
    tier: String,
}

/// A sample order's lines: (sku, category, quantity, amount).
type SampleLine = (String, Option<String>, i64, Amount);

/// Reads the sample order's lines, one per line of text: `SKU, category, quantity, amount`,
/// the amount typed as the till takes it in `cur`. An error names the line, in the visitor's
/// language.
fn sample_lines(tr: Tr, cur: Currency, text: &str) -> Result<Vec<SampleLine>, String> {
    let on_line = |n: usize, message: String| tr.f("line {}: {}", &[&(n + 1), &message]);
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        // A comma right before three digits (`1,200`) separates thousands, not fields.
        let mut parts: Vec<String> = Vec::new();
        for piece in line.split([',', '、']) {
            let thousands = piece.len() >= 3
                && piece.as_bytes()[..3].iter().all(u8::is_ascii_digit)
                && !piece.as_bytes().get(3).is_some_and(u8::is_ascii_digit);
            match parts.last_mut() {
                Some(last) if thousands && last.ends_with(|c: char| c.is_ascii_digit()) => {
                    last.push(',');
                    last.push_str(piece);
                }
                _ => parts.push(piece.to_string()),
            }
        }
        let parts: Vec<&str> = parts.iter().map(|p| p.trim()).collect();
        let (sku, category, quantity, amount) = match parts.as_slice() {
            [sku, amount] => (*sku, "", "1", *amount),
            [sku, category, amount] => (*sku, *category, "1", *amount),
            [sku, category, quantity, amount] => (*sku, *category, *quantity, *amount),
            _ => return Err(on_line(n, tr.message("write SKU, category, quantity, amount"))),
        };
        let quantity = quantity
            .parse::<i64>()
            .map_err(|_| on_line(n, tr.message(&format!("'{quantity}' is not a whole number"))))?;
        let amount = typed_amount(tr, cur, amount).map_err(|why| on_line(n, why))?;
        out.push((sku.to_string(), (!category.is_empty()).then(|| category.to_string()), quantity, amount));
    }
    Ok(out)
}

/// What a sample order earns under one programme.
fn earn(p: &Program, tier: &str, at: DateTime<Utc>, channel: &str, total: i64, lines: &[SampleLine]) -> Earned {
    let facts: Vec<LineFacts<'_>> = lines
        .iter()
        .map(|(sku, category, quantity, amount)| LineFacts {
            sku,
            category: category.as_deref(),
            quantity: *quantity,
            amount: amount.to_scaled(),
        })
        .collect();
    let order = OrderFacts { placed_at: at, day: p.clock.day_number(at), channel, total, lines: &facts };
    let state = CustomerState { tier: p.tier_index(tier), ..CustomerState::default() };
    evaluate(p, &state, &order)
}

/// A breakdown line's name in the visitor's language.
fn part_name(tr: Tr, p: &Program, s: Source) -> String {
    let lang = tr.lang();
    match s {
        Source::Base => tr.t("Points per amount spent").to_string(),
        Source::Rule(i) => p.doc.rules.get(i).map_or_else(String::new, |r| r.name.clone()),
        Source::Tier(i) => p
            .doc
            .tiers
            .as_ref()
            .and_then(|t| t.levels.get(i))
            .map_or_else(String::new, |l| tr.f("Tier: {}", &[&l.name_in(lang)])),
        Source::Membership => tr.t("Membership multiplier").to_string(),
        Source::Promotion(i) => p.doc.promotions.get(i).map_or_else(String::new, |x| x.name_in(lang).to_string()),
        Source::OrderCap => tr.t("Cap per order").to_string(),
        Source::DayCap => tr.t("Cap per day").to_string(),
    }
}

fn earned_card(tr: Tr, title: &str, id: &str, p: &Program, e: &Earned) -> Markup {
    let lang = tr.lang();
    html! {
        section class="card" id=(id) {
            h3 { (title) }
            p class="big" data-points=(e.points) { (tr.f("{} points", &[&e.points])) }
            @if !e.parts.is_empty() {
                ul {
                    @for part in &e.parts {
                        li { (part_name(tr, p, part.source)) ": " (part.points) }
                    }
                }
            }
            @for s in &e.stamps {
                @if let Some(card) = p.doc.stamp_cards.get(s.card) {
                    p { (card.name_in(lang)) ": "
                        @if s.completed { (tr.t("card completed")) } @else { (tr.f("{} of {} stamps", &[&s.after.stamps, &card.stamps])) }
                    }
                }
            }
            @if let Some(t) = e.tier.and_then(|t| p.doc.tiers.as_ref().and_then(|x| x.levels.get(t.to))) {
                p { (tr.f("Reaches the tier {}", &[&t.name_in(lang)])) }
            }
        }
    }
}

async fn preview_page(
    ConsoleManager(v, _): ConsoleManager<LoyaltyPages>,
    State(state): State<AppState>,
    Query(f): Query<PreviewForm>,
) -> Response {
    let ed = match editor(&state).await {
        Ok(ed) => ed,
        Err(e) => return e.into_response(),
    };
    let tr = v.tr();
    let lang = tr.lang();
    let cur = state.workspace().currency;
    let clock = ed.clock;
    let asked = !f.amount.trim().is_empty() || !f.lines.trim().is_empty();
    let mut status = StatusCode::OK;
    let result: Option<Result<Markup, String>> = asked.then(|| {
        let lines = sample_lines(tr, cur, &f.lines)?;
        let at = if f.at.trim().is_empty() {
            state.now()
        } else {
            clock.parse_timestamp(&f.at.trim().replace('T', " ")).map_err(|e| tr.message(&e.0))?
        };
        let total = match f.amount.trim() {
            "" => lines.iter().fold(0i64, |s, l| s.saturating_add(l.3.to_scaled())),
            t => typed_amount(tr, cur, t)?.to_scaled(),
        };
        let lines = if lines.is_empty() {
            vec![("ITEM".to_string(), None, 1, Amount::from_scaled(total))]
        } else {
            lines
        };
        let channel = if f.channel.is_empty() { "in_store" } else { f.channel.as_str() };
        let draft = ed.draft_program().ok_or_else(|| tr.t("The draft is not a valid programme.").to_string())?;
        let under_draft = earn(&draft, &f.tier, at, channel, total, &lines);
        let in_force = ed.in_force.as_ref().map(|(version, p)| (version, p, earn(p, &f.tier, at, channel, total, &lines)));
        Ok(html! {
            p id="preview-order" { (tr.f("An order of {} at {}", &[&cur.format(Amount::from_scaled(total)), &clock.format_local(at, "%Y-%m-%d %H:%M")])) }
            div class="grid" id="preview" {
                (earned_card(tr, tr.t("Under the draft"), "under-draft", &draft, &under_draft))
                @match &in_force {
                    Some((version, p, e)) => (earned_card(tr, &tr.f("Under version {} (in force)", &[version]), "under-in-force", p, e)),
                    None => section class="card" id="under-in-force" { p { (tr.t("No programme is in force: it earns nothing.")) } },
                }
            }
            @if let Some((_, _, e)) = &in_force {
                p id="preview-difference" {
                    @let d = under_draft.points - e.points;
                    @if d == 0 { (tr.t("The same points under both.")) }
                    @else { (tr.f("The draft gives {} points more.", &[&format!("{d:+}")])) }
                }
            }
        })
    });
    if matches!(result, Some(Err(_))) {
        status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    let tiers: Vec<(String, String)> = ed.choices(lang).tiers;
    let body = html! {
        h2 { (tr.t("Preview a sample order")) }
        p class="muted" { (tr.t("What an order would earn under the draft and under the version in force. Nothing is recorded.")) }
        form method="get" action="/loyalty/editor/preview" id="preview-form" {
            p {
                label for="p-amount" { (tr.t("Order total")) } " "
                input type="text" id="p-amount" name="amount" value=(f.amount) inputmode="decimal";
                " " small class="muted" { (tr.t("Empty: the sum of the lines.")) }
            }
            p {
                label for="p-lines" { (tr.t("Lines (one per line: SKU, category, quantity, amount)")) } br;
                textarea id="p-lines" name="lines" rows="4" class="full mono" placeholder="BEANS-1, coffee, 2, 1200" { (f.lines) }
            }
            p {
                label for="p-channel" { (tr.t("Sales channel")) } " "
                select id="p-channel" name="channel" {
                    @for c in Channel::ALL {
                        option value=(c.as_str()) selected[f.channel == c.as_str() || (f.channel.is_empty() && *c == Channel::InStore)] { (tr.word(c.as_str())) }
                    }
                }
                " "
                label for="p-at" { (tr.f("Time ({})", &[&clock.tz_name()])) } " "
                input type="text" id="p-at" name="at" value=(f.at) placeholder=(clock.format_local(state.now(), "%Y-%m-%d %H:%M"));
                " "
                label for="p-tier" { (tr.t("Customer's tier")) } " "
                select id="p-tier" name="tier" {
                    option value="" { "–" }
                    @for (id, name) in &tiers { option value=(id) selected[f.tier == *id] { (name) } }
                }
            }
            p { button { (tr.t("Preview")) } }
        }
        @match &result {
            Some(Ok(m)) => (m),
            Some(Err(message)) => p class="card error" role="alert" id="preview-error" { (message) },
            None => {}
        }
    };
    (status, v.page(tr.t("Preview"), frame(&v, &ed, "preview", body))).into_response()
}

// ------------------------------------------------------------------ changes and applying

/// A section's title.
fn section_title(tr: Tr, key: &str) -> String {
    match key {
        "name" => tr.t("Programme name").into(),
        "effective_from" => tr.t("In force from").into(),
        "earning" => tr.t("Earning").into(),
        "pending_days" => tr.t("Days points stay pending").into(),
        "expiry" => tr.t("Points expire").into(),
        "rules" => tr.t("Rules").into(),
        "promotions" => tr.t("Promotions").into(),
        "stamp_cards" => tr.t("Stamp cards").into(),
        "tiers" => tr.t("Tiers").into(),
        "tiers.levels" => tr.t("Tier levels").into(),
        "rewards" => tr.t("Rewards").into(),
        "memberships" => tr.t("Memberships").into(),
        "referrals" => tr.t("Referrals").into(),
        "birthday" => tr.t("Birthday").into(),
        "join" => tr.t("Joining").into(),
        "offers" => tr.t("Personal offers").into(),
        other => other.to_string(),
    }
}

/// A changed field's label: the form's label where a form has the field (or the part of it
/// the path is in), else its path.
fn field_label(all: &[Section], section: &str, path: &str) -> String {
    let entry_groups = all.iter().find(|s| s.list == Some(section)).map(|s| &s.entry);
    let full = if path.is_empty() { section.to_string() } else { format!("{section}.{path}") };
    let mut candidates = vec![];
    if let Some(g) = entry_groups {
        candidates.push((g.as_slice(), path.to_string()));
    }
    for s in all {
        candidates.push((s.settings.as_slice(), full.clone()));
    }
    for (groups, p) in candidates {
        let mut p = p.as_str();
        loop {
            if let Some(f) = field_at(groups, p) {
                return f.label.to_string();
            }
            match p.rsplit_once('.') {
                Some((up, _)) => p = up,
                None => break,
            }
        }
    }
    if path.is_empty() {
        section.to_string()
    } else {
        path.to_string()
    }
}

fn value_text(tr: Tr, v: &Option<String>) -> String {
    match v.as_deref() {
        None => "–".into(),
        Some("true") => tr.t("yes").into(),
        Some("false") => tr.t("no").into(),
        Some(t) => t.to_string(),
    }
}

fn fields_table(tr: Tr, all: &[Section], section: &str, fields: &[FieldChange]) -> Markup {
    table(
        None,
        Some("changed-fields"),
        &[tr.t("Field"), tr.t("Before"), tr.t("After")],
        html! {
            @for c in fields {
                tr {
                    td { (field_label(all, section, &c.path)) @if !c.path.is_empty() { " " code class="muted" { (c.path) } } }
                    td { (value_text(tr, &c.before)) }
                    td { (value_text(tr, &c.after)) }
                }
            }
        },
    )
}

/// The changes, section by section, in words.
fn changes_list(tr: Tr, changes: &[SectionChange]) -> Markup {
    let all = sections(tr);
    let lang = tr.lang().as_str();
    html! {
        @if changes.is_empty() {
            p id="no-changes" { (tr.t("No changes.")) }
        }
        div id="changes" {
            @for s in changes {
                section class="card change" data-section=(s.section) {
                    h3 { (section_title(tr, &s.section)) }
                    @if !s.fields.is_empty() { (fields_table(tr, &all, &s.section, &s.fields)) }
                    @if s.reordered { p { (tr.t("The order changed (rules apply in order).")) } }
                    @for e in &s.entries {
                        div class="entry" data-kind=(format!("{:?}", e.kind).to_lowercase()) {
                            p {
                                strong { @match e.kind {
                                    EntryChangeKind::Added => (tr.t("Added")),
                                    EntryChangeKind::Removed => (tr.t("Removed")),
                                    EntryChangeKind::Changed => (tr.t("Changed")),
                                } } ": " (e.name_in(lang))
                            }
                            @if !e.fields.is_empty() && e.kind == EntryChangeKind::Changed { (fields_table(tr, &all, &s.section, &e.fields)) }
                            @if !e.fields.is_empty() && e.kind != EntryChangeKind::Changed {
                                details { summary { (tr.t("Its fields")) } (fields_table(tr, &all, &s.section, &e.fields)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn changes_body(v: &Visitor, ed: &Editor, note: Option<&str>) -> Markup {
    let tr = v.tr();
    let changes = ed.changes();
    let next = ed.in_force.as_ref().map_or(1, |(version, _)| version + 1);
    let from = ed.draft.get("effective_from").and_then(Value::as_str).map(str::to_string);
    frame(
        v,
        ed,
        "changes",
        html! {
            h2 { @match &ed.in_force {
                Some((version, _)) => (tr.f("The draft against version {} in force", &[version])),
                None => (tr.t("The draft (no version in force yet)")),
            } }
            @if let Some(n) = note { p class="card error" role="alert" id="apply-note" { (n) } }
            (changes_list(tr, &changes))
            @if !changes.is_empty() {
                form method="post" action="/loyalty/editor/apply" class="card" id="apply-form" {
                    input type="hidden" name="csrf" value=(v.csrf);
                    input type="hidden" name="draft" value=(ed.fingerprint());
                    p { strong { (tr.f("Apply these changes as version {}?", &[&next])) } br;
                        @match &from {
                            Some(t) => (tr.f("Orders placed from {} earn under it; what earlier orders earned does not change.", &[t])),
                            None => (tr.t("Orders placed from now on earn under it; what earlier orders earned does not change.")),
                        }
                    }
                    p { button id="apply" { (tr.f("Yes, apply as version {}", &[&next])) } " " a href="/loyalty/editor/preview" { (tr.t("Preview first")) } }
                }
            }
        },
    )
}

async fn changes_page(ConsoleManager(v, _): ConsoleManager<LoyaltyPages>, State(state): State<AppState>) -> Response {
    match editor(&state).await {
        Ok(ed) => v.page(v.tr().t("Review and apply"), changes_body(&v, &ed, None)).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ApplyForm {
    csrf: String,
    /// The fingerprint of the draft that was confirmed.
    draft: String,
    /// The version in force that was confirmed (rollback).
    current: String,
}

carries_csrf!(ApplyForm);

/// Applies `doc` as a new version, recorded as applied by the visitor (`email`); why not when
/// the programme is refused (a segment it names was deleted since).
fn apply(
    c: &mut dyn enishi_store::Conn,
    email: &str,
    actor: &str,
    doc: &Value,
    clock: BusinessClock,
    what: &str,
) -> Result<Result<i64, String>, ApiError> {
    let by = format!("console: {email}");
    let (version, program) = match enishi_rewards::apply_program(c, &doc.to_string(), clock, &by) {
        Ok(applied) => applied,
        Err(e @ (enishi_rewards::LoyaltyError::Program(_) | enishi_rewards::LoyaltyError::Invalid { .. })) => {
            return Ok(Err(e.to_string()))
        }
        Err(e) => return Err(e.into()),
    };
    let after = json!({"version": version, "name": program.doc.name, "how": what});
    crate::audit::record(c, actor, "program.apply", "program", Some(after))?;
    Ok(Ok(version))
}

async fn apply_draft(
    ConsoleManager(v, _): ConsoleManager<LoyaltyPages>,
    State(state): State<AppState>,
    Posted(f): Posted<ApplyForm>,
) -> Response {
    let (email, actor, tr) = (v.user.email.clone(), v.actor(), v.tr());
    let outcome = state
        .with_programs(true, move |c, programs| {
            let ed = read_editor(c, programs)?;
            if ed.fingerprint() != f.draft {
                let note = tr.t("The draft changed since you reviewed it. Check the changes again.");
                return Ok(Err((StatusCode::CONFLICT, note.to_string())));
            }
            match apply(c, &email, &actor, &ed.draft, ed.clock, "editor")? {
                Ok(version) => {
                    c.execute("DELETE FROM settings WHERE key = $1", enishi_store::params![DRAFT])?;
                    Ok(Ok(version))
                }
                Err(why) => Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, tr.message(&why)))),
            }
        })
        .await;
    match outcome {
        Ok(Ok(_)) => Redirect::to("/loyalty/versions").into_response(),
        Ok(Err((status, note))) => match editor(&state).await {
            Ok(ed) => (status, v.page(tr.t("Review and apply"), changes_body(&v, &ed, Some(&note)))).into_response(),
            Err(e) => e.into_response(),
        },
        Err(e) => e.into_response(),
    }
}

// ------------------------------------------------------------------ versions and rollback

async fn versions_page(ConsoleManager(v, _): ConsoleManager<LoyaltyPages>, State(state): State<AppState>) -> Response {
    let clock = state.workspace().clock;
    let list = match state.run(|s| Ok(s.read(|c| loyalty::programs(c))?)).await {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let tr = v.tr();
    let newest = list.last().map(|p| p.version);
    let when = |t: i64| clock.format_local(DateTime::from_timestamp(t, 0).unwrap_or_default(), "%Y-%m-%d %H:%M");
    let body = html! {
        p { a class="button" href="/loyalty" { "← " (tr.t("Loyalty programme")) } " " a class="button" href="/loyalty/editor" { (tr.t("Programme editor")) } }
        h1 { (tr.t("Programme versions")) }
        p class="muted" { (tr.f("Times in {}.", &[&clock.tz_name()])) }
        @if list.is_empty() { p { (tr.t("No version has been applied yet.")) } }
        @else {
            (table(Some("versions"), None, &[tr.t("Version"), tr.t("Name"), tr.t("Applied"), tr.t("Applied by"), tr.t("In force from"), ""], html! {
                @for p in list.iter().rev() {
                    @let name = serde_json::from_str::<Value>(&p.document).ok().and_then(|d| d.get("name").and_then(Value::as_str).map(str::to_string)).unwrap_or_default();
                    tr data-version=(p.version) {
                        td { (p.version) @if Some(p.version) == newest { " " span class="kind" { (tr.t("in force")) } } }
                        td { (name) }
                        td { (when(p.applied_at)) }
                        td { (p.applied_by) }
                        td { (when(p.effective_from)) }
                        td {
                            @if Some(p.version) != newest {
                                a class="button" href={ "/loyalty/versions/" (p.version) } { (tr.t("Roll back to this…")) }
                            } @else {
                                a href={ "/loyalty/versions/" (p.version) } { (tr.t("View")) }
                            }
                        }
                    }
                }
            }))
        }
    };
    v.page(tr.t("Programme versions"), body).into_response()
}

/// A stored version, the version in force, and the changes rolling back to it makes.
struct Rollback {
    version: loyalty::StoredProgram,
    doc: Value,
    in_force: Option<i64>,
    changes: Vec<SectionChange>,
}

async fn rollback_view(state: &AppState, version: i64) -> Result<Option<Rollback>, ApiError> {
    state
        .with_programs(false, move |c, programs| {
            let Some(stored) = loyalty::programs(c)?.into_iter().find(|p| p.version == version) else {
                return Ok(None);
            };
            let Some(program) = programs.by_version(version) else { return Ok(None) };
            let latest = programs.latest();
            Ok(Some(Rollback {
                doc: as_draft(program),
                in_force: latest.map(|l| l.0),
                changes: changes(
                    latest.map(|(_, p)| &p.doc),
                    &Document { effective_from: None, ..program.doc.clone() },
                ),
                version: stored,
            }))
        })
        .await
}

fn rollback_body(v: &Visitor, r: &Rollback, note: Option<&str>) -> Markup {
    let tr = v.tr();
    let version = r.version.version;
    let is_current = r.in_force == Some(version);
    html! {
        p { a class="button" href="/loyalty/versions" { "← " (tr.t("Programme versions")) } }
        h1 { (tr.f("Version {}", &[&version])) }
        p class="muted" { (tr.f("Applied by {}.", &[&r.version.applied_by])) }
        @if let Some(n) = note { p class="card error" role="alert" id="apply-note" { (n) } }
        @if !is_current {
            h2 { (tr.f("What rolling back to version {} changes", &[&version])) }
            (changes_list(tr, &r.changes))
            form method="post" action={ "/loyalty/versions/" (version) "/rollback" } class="card" id="rollback-form" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="current" value=(r.in_force.unwrap_or(0));
                p { strong { (tr.f("Apply version {}'s programme again as a new version?", &[&version])) } br;
                    (tr.t("Orders placed from now on earn under it; what earlier orders earned does not change. The draft is left as it is.")) }
                p { button id="roll-back" { (tr.f("Yes, roll back to version {}", &[&version])) } }
            }
        }
        details {
            summary { (tr.t("Its document (JSON)")) }
            pre class="mono" { (serde_json::to_string_pretty(&r.doc).unwrap_or_default()) }
        }
    }
}

async fn version_page(
    ConsoleManager(v, _): ConsoleManager<LoyaltyPages>,
    State(state): State<AppState>,
    Path(version): Path<String>,
) -> Response {
    let Ok(version) = version.parse::<i64>() else { return v.not_found() };
    match rollback_view(&state, version).await {
        Ok(Some(r)) => v.page(&v.tr().f("Version {}", &[&version]), rollback_body(&v, &r, None)).into_response(),
        Ok(None) => v.not_found(),
        Err(e) => e.into_response(),
    }
}

async fn roll_back(
    ConsoleManager(v, _): ConsoleManager<LoyaltyPages>,
    State(state): State<AppState>,
    Path(version): Path<String>,
    Posted(f): Posted<ApplyForm>,
) -> Response {
    let Ok(version) = version.parse::<i64>() else { return v.not_found() };
    let (email, actor, tr) = (v.user.email.clone(), v.actor(), v.tr());
    let outcome = state
        .with_programs(true, move |c, programs| {
            let Some(program) = programs.by_version(version) else { return Ok(Err(None)) };
            let current = programs.version();
            if f.current != current.to_string() || current == version {
                let note = tr.t("Another version was applied since you looked. Check the changes again.");
                return Ok(Err(Some((StatusCode::CONFLICT, note.to_string()))));
            }
            let doc = as_draft(program);
            Ok(apply(c, &email, &actor, &doc, *programs.clock(), &format!("rollback to {version}"))?
                .map_err(|why| Some((StatusCode::UNPROCESSABLE_ENTITY, tr.message(&why)))))
        })
        .await;
    match outcome {
        Ok(Ok(_)) => Redirect::to("/loyalty/versions").into_response(),
        Ok(Err(None)) => v.not_found(),
        Ok(Err(Some((status, note)))) => match rollback_view(&state, version).await {
            Ok(Some(r)) => {
                (status, v.page(&tr.f("Version {}", &[&version]), rollback_body(&v, &r, Some(&note)))).into_response()
            }
            Ok(None) => v.not_found(),
            Err(e) => e.into_response(),
        },
        Err(e) => e.into_response(),
    }
}

/// A customer's loyalty with the names of its tier, next tier and stamp cards in `lang`
/// (the programme's `names`).
pub(crate) fn names_in(l: &mut enishi_rewards::LoyaltySummary, p: &Program, lang: Language) {
    let levels = p.doc.tiers.as_ref().map(|t| t.levels.as_slice()).unwrap_or_default();
    let level_name = |id: &str| levels.iter().find(|x| x.id == id).map(|x| x.name_in(lang).to_string());
    if let Some(t) = &mut l.tier {
        if let Some(name) = level_name(&t.id) {
            t.name = name;
        }
        if let Some(next) = &mut t.next {
            if let Some(name) = level_name(&next.id) {
                next.name = name;
            }
        }
    }
    for card in &mut l.stamp_cards {
        if let Some(c) = p.doc.stamp_cards.iter().find(|c| c.id == card.id) {
            card.name = c.name_in(lang).to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sent(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn section(tab: &str) -> Section {
        section_of(Tr(Language::En), tab).unwrap()
    }

    #[test]
    fn entries_are_added_edited_moved_and_removed() {
        let mut doc = json!({"name": "x", "earning": {"points_per_unit": "1"}});
        let rules = section("rules");
        let add = |name: &str| sent(&[("index", "new"), ("action", "save"), ("name", name), ("bonus", "5")]);
        assert_eq!(edit(&mut doc, &rules, &add("a")).unwrap(), "rules[0]");
        assert_eq!(edit(&mut doc, &rules, &add("b")).unwrap(), "rules[1]");
        edit(&mut doc, &rules, &sent(&[("index", "1"), ("action", "up")])).unwrap();
        let names: Vec<&str> = doc["rules"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["b", "a"]);
        edit(&mut doc, &rules, &sent(&[("index", "0"), ("action", "remove")])).unwrap();
        assert_eq!(doc["rules"], json!([{"name": "a", "bonus": 5}]));
        assert!(edit(&mut doc, &rules, &sent(&[("index", "7"), ("action", "remove")])).is_err());
    }

    #[test]
    fn tier_levels_keep_their_order_and_the_last_one_removes_the_tiers() {
        let mut doc = json!({"name": "x", "earning": {"points_per_unit": "1"}});
        let tiers = section("tiers");
        let level = |id: &str, threshold: &str| {
            sent(&[("index", "new"), ("action", "save"), ("id", id), ("name", id), ("threshold", threshold)])
        };
        edit(&mut doc, &tiers, &level("gold", "1000")).unwrap();
        assert_eq!(edit(&mut doc, &tiers, &level("member", "0")).unwrap(), "tiers.levels[0]");
        assert_eq!(doc["tiers"]["window"], json!({"rolling_days": 365}));
        let ids: Vec<&str> =
            doc["tiers"]["levels"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["member", "gold"]);
        assert!(Program::parse(&doc.to_string(), &BusinessClock::default()).is_ok());
        edit(&mut doc, &tiers, &sent(&[("index", "0"), ("action", "remove")])).unwrap();
        edit(&mut doc, &tiers, &sent(&[("index", "0"), ("action", "remove")])).unwrap();
        assert!(doc.get("tiers").is_none(), "{doc}");
    }

    #[test]
    fn a_parser_error_lands_on_its_field_or_above_the_form() {
        let e = ProgramError {
            path: "promotions[1].multiplier".into(),
            reason: "'x' is not a number (line 1, column 80)".into(),
        };
        assert_eq!(
            form_error("promotions[1]", &e),
            FieldError { path: "multiplier".into(), message: "'x' is not a number".into(), elsewhere: false }
        );
        let e = ProgramError { path: "name".into(), reason: "must not be empty".into() };
        assert!(form_error("promotions[1]", &e).elsewhere);
    }

    #[test]
    fn sample_lines_read_as_people_type_them_at_the_till() {
        let (en, ja, yen) = (Tr(Language::En), Tr(Language::Ja), "JPY".parse::<Currency>().unwrap());
        let lines = sample_lines(en, yen, "BEANS-1, coffee, 2, ¥1,200\n\nMUG, 800円\nCUP, １，０００").unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!((lines[0].2, lines[0].3), (2, Amount::from_scaled(12_000_000)));
        assert_eq!((lines[1].1.clone(), lines[1].3), (None, Amount::from_scaled(8_000_000)));
        assert_eq!(lines[2].3, Amount::from_scaled(10_000_000));
        assert_eq!(sample_lines(en, yen, "A, b, two, 3").unwrap_err(), "line 1: 'two' is not a whole number");
        assert_eq!(sample_lines(en, yen, "A\nB, 1").unwrap_err(), "line 1: write SKU, category, quantity, amount");
        // As the till refuses them: decimals of yen, another currency.
        let refused = sample_lines(en, yen, "A, 5\nB, 12.50").unwrap_err();
        assert!(refused.starts_with("line 2: '12.50' has decimals, but amounts in JPY have none"), "{refused}");
        let refused = sample_lines(ja, yen, "A, $12").unwrap_err();
        assert!(refused.starts_with("1行目: ") && refused.contains("$12"), "{refused}");
        assert_eq!(sample_lines(en, Currency::USD, "A, $12.50").unwrap()[0].3, Amount::from_scaled(125_000));
    }
}
