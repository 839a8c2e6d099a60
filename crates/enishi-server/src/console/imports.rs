//! Order imports from the console: an upload starts the import in the background and leads to
//! its own page, which shows progress (refreshing itself, no JavaScript) and then the summary
//! and the rejected-rows report. The imports page lists the recent imports.

use crate::console::i18n::Tr;
use crate::console::shell::{table, ConsoleManager, ForManagers, Quoted, Visitor};
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use enishi_core::Role;
use enishi_ingest::orders::{OrderImport, OrderImportOptions};
use enishi_ingest::{ImportError, Progress};
use maud::{html, Markup};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Largest upload accepted by the import page.
const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;
/// Finished imports whose pages are kept (in memory) besides those running.
const KEPT_JOBS: usize = 50;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/imports", get(imports_page).post(upload_import))
        .route("/imports/jobs/{id}", get(job_page))
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT))
}

/// One import started from the console.
struct ImportJob {
    /// Who started it (only they and owners see it).
    user_id: i64,
    /// The uploaded file's name.
    file_name: String,
    /// Its size in bytes.
    size: u64,
    /// Bytes read so far.
    progress: Progress,
    /// The outcome, once finished.
    outcome: Arc<Mutex<Option<Result<OrderImport, ImportError>>>>,
}

/// The console's imports, by id.
#[derive(Default)]
pub(crate) struct ImportJobs(Mutex<(u64, BTreeMap<u64, ImportJob>)>);

impl ImportJobs {
    fn add(&self, job: ImportJob) -> u64 {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (next, jobs) = &mut *guard;
        *next += 1;
        jobs.insert(*next, job);
        let finished: Vec<u64> = jobs
            .iter()
            .filter(|(_, j)| j.outcome.lock().map(|o| o.is_some()).unwrap_or(true))
            .map(|(id, _)| *id)
            .collect();
        for id in finished.iter().take(finished.len().saturating_sub(KEPT_JOBS)) {
            jobs.remove(id);
        }
        *next
    }

    /// What the job's page shows: (file, size, bytes read, outcome if finished) — for its
    /// starter or an owner.
    fn view<T>(&self, id: u64, v: &Visitor, f: impl FnOnce(&ImportJob) -> T) -> Option<T> {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        guard.1.get(&id).filter(|j| j.user_id == v.user.id || v.role() == Role::Admin).map(f)
    }
}

/// The import pages: owners and marketers run imports.
pub(crate) struct ImportPages;

impl ForManagers for ImportPages {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Imports are run by owners and marketers.")
    }
}

fn import_form(tr: Tr, csrf: &str) -> Markup {
    html! {
        form method="post" action="/imports" enctype="multipart/form-data" class="card" {
            input type="hidden" name="csrf" value=(csrf);
            p { label { (tr.t("Orders file")) " " input type="file" name="file" accept=".csv,.txt,.jsonl,.json" required; } }
            p {
                label {
                    (tr.t("Format")) " "
                    select name="format" {
                        option value="generic" { (tr.t("Enishi CSV (docs/import.md)")) }
                        option value="json" { "JSON Lines" }
                        option value="cdnow" { "CDNOW" }
                        option value="online-retail" { "Online Retail II" }
                    }
                }
            }
            p {
                label {
                    input type="checkbox" name="skip_bad_rows" value="1"; " "
                    (tr.t("Import the good rows and report the bad ones (otherwise a file with a bad row imports nothing)"))
                }
            }
            p { button { (tr.t("Import")) } }
        }
    }
}

async fn imports_page(ConsoleManager(v, _): ConsoleManager<ImportPages>, State(state): State<AppState>) -> Response {
    let tr = v.tr();
    let recent = match state.run(|s| Ok(s.read(|c| enishi_store::repo::imports::recent(c, 20))?)).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let headers =
        [tr.t("When"), tr.t("File"), tr.t("Format"), tr.t("Rows"), tr.t("Orders created"), tr.t("Rows rejected")];
    let body = html! {
        h1 { (tr.t("Import orders")) }
        (import_form(tr, &v.csrf))
        @if !recent.is_empty() {
            h2 { (tr.t("Recent imports")) }
            (table(Some("recent-imports"), None, &headers, html! {
                @for r in &recent {
                    @let n = |k: &str| r.summary.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
                    tr {
                        td { (r.finished_at.format("%Y-%m-%d %H:%M").to_string()) }
                        td { (r.file_name) }
                        td { (r.format) }
                        td { (n("rows_read")) }
                        td { (n("orders_created")) }
                        td { (n("rows_rejected") + n("rows_without_customer")) }
                    }
                }
            }))
        }
    };
    v.page(tr.t("Import orders"), body).into_response()
}

async fn upload_import(
    // Who may import is decided before the body is read: a refused role learns that first.
    ConsoleManager(v, _): ConsoleManager<ImportPages>,
    State(state): State<AppState>,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let tr = v.tr();
    let title = tr.t("Import orders");
    let Ok(mut form) = form else { return v.bad_form(title, tr.t("The upload could not be read.")) };
    let (mut csrf, mut format, mut skip, mut file) = (String::new(), String::from("generic"), false, None);
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let file_name = field.file_name().map(String::from);
                let Ok(bytes) = field.bytes().await else { return v.bad_form(title, tr.t("The upload was cut off.")) };
                match name.as_str() {
                    "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
                    "format" => format = String::from_utf8_lossy(&bytes).into_owned(),
                    "skip_bad_rows" => skip = true,
                    "file" => file = Some((file_name.unwrap_or_else(|| "upload.csv".into()), bytes)),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => return v.bad_form(title, tr.t("The upload could not be read.")),
        }
    }
    if !v.form_ok(&csrf) {
        return v.forged();
    }
    let format = match format.as_str() {
        "generic" => enishi_ingest::formats::OrderFormat::Generic,
        "json" => enishi_ingest::formats::OrderFormat::Json,
        "cdnow" => enishi_ingest::formats::OrderFormat::Cdnow,
        "online-retail" => enishi_ingest::formats::OrderFormat::OnlineRetail,
        _ => {
            return v.bad_form(title, tr.t("Unknown format: choose Enishi CSV, JSON Lines, CDNOW or Online Retail II."))
        }
    };
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return v.bad_form(title, tr.t("Choose a file to import."));
    };
    let mut opts = OrderImportOptions::new(format);
    opts.skip_bad_rows = skip;
    let ws = state.workspace();
    (opts.clock, opts.currency) = (ws.clock, ws.currency);
    let progress = Progress::default();
    let outcome = Arc::new(Mutex::new(None));
    let job = ImportJob {
        user_id: v.user.id,
        file_name: name.clone(),
        size: bytes.len() as u64,
        progress: progress.clone(),
        outcome: outcome.clone(),
    };
    let id = state.imports.add(job);
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let result = enishi_ingest::orders::import_orders(&store, &bytes[..], &name, &opts, progress);
        *outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
    });
    Redirect::to(&format!("/imports/jobs/{id}")).into_response()
}

fn rejections_table(tr: Tr, rows: &[enishi_ingest::Rejection]) -> Markup {
    let headers = [tr.t("Line"), tr.t("Column"), tr.t("Order"), tr.t("Why")];
    table(
        Some("rejected-rows"),
        Some("keep"),
        &headers,
        html! {
            @for r in rows {
                tr {
                    td { (r.line) }
                    td { (r.column.as_deref().unwrap_or("")) }
                    td { (r.order_id.as_deref().unwrap_or("")) }
                    td { (Quoted(&tr.message(&r.reason))) }
                }
            }
        },
    )
}

/// A rejection as one sentence: where, then why.
fn rejection_text(tr: Tr, r: &enishi_ingest::Rejection) -> String {
    match &r.column {
        Some(c) => tr.f("line {}, column {}: {}", &[&r.line, c, &tr.message(&r.reason)]),
        None => tr.f("line {}: {}", &[&r.line, &tr.message(&r.reason)]),
    }
}

/// What a job's page needs, copied out of the job list.
enum JobState {
    Running { file: String, size: u64, read: u64 },
    Done(Markup),
    Failed(String),
}

fn finished_html(tr: Tr, file: &str, outcome: &Result<OrderImport, ImportError>) -> Result<Markup, String> {
    match outcome {
        Ok(done) => {
            let s = &done.summary;
            let summary = tr.f(
                "{}: {} rows read; {} orders, {} returns and {} customers created; {} already stored; {} rows rejected.",
                &[
                    &file,
                    &s.rows_read,
                    &s.orders_created,
                    &s.returns_created,
                    &s.customers_created,
                    &s.duplicates_skipped,
                    &(s.rows_rejected + s.rows_without_customer),
                ],
            );
            Ok(html! {
                p class="card" role="status" id="import-summary" { (Quoted(&summary)) }
                @if !done.report.is_empty() {
                    h2 { (tr.t("Rows not imported")) }
                    (rejections_table(tr, &done.report))
                }
            })
        }
        Err(ImportError::BadRows { rejections, total }) => Ok(html! {
            p class="card" role="alert" id="import-summary" {
                (Quoted(&tr.f(
                    "{}: {} bad row(s); nothing was imported. Fix them, or tick “Import the good rows”.",
                    &[&file, total]
                )))
            }
            (rejections_table(tr, rejections))
        }),
        Err(ImportError::File(r)) => Ok(html! {
            p class="card" role="alert" id="import-summary" {
                (Quoted(&tr.f("{}: {}; nothing was imported.", &[&file, &rejection_text(tr, r)])))
            }
        }),
        Err(e) => Err(e.to_string()),
    }
}

async fn job_page(
    ConsoleManager(v, _): ConsoleManager<ImportPages>,
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Response {
    let tr = v.tr();
    let seen = state.imports.view(id, &v, |job| {
        let outcome = job.outcome.lock().unwrap_or_else(|p| p.into_inner());
        match outcome.as_ref() {
            None => JobState::Running { file: job.file_name.clone(), size: job.size, read: job.progress.bytes() },
            Some(o) => match finished_html(tr, &job.file_name, o) {
                Ok(html) => JobState::Done(html),
                Err(e) => JobState::Failed(e),
            },
        }
    });
    let title = tr.t("Import orders");
    match seen {
        None => v.not_found(),
        Some(JobState::Failed(e)) => ApiError::internal(e).into_response(),
        Some(JobState::Running { file, size, read }) => {
            let percent = (100 * read.min(size)).checked_div(size).map_or(100, |p| p.min(99));
            let body = html! {
                h1 { (title) }
                section class="card" id="import-progress" aria-live="polite" {
                    p { (tr.f("Importing {}: {}% read.", &[&file, &percent])) }
                    progress max="100" value=(percent) class="full" { (percent) "%" }
                    p class="muted" { (tr.t("This page refreshes itself until the import is done; you may leave it and come back.")) }
                }
            };
            v.page_refreshing(title, body, 1).into_response()
        }
        Some(JobState::Done(html)) => {
            let body = html! { h1 { (title) } (html) (import_form(tr, &v.csrf)) };
            v.page(title, body).into_response()
        }
    }
}
