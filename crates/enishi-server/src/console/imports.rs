//! Imports from the console: orders, customers and products. An upload whose headers are not
//! Enishi's names first leads to the mapping screen, which shows the file's headers next to
//! Enishi's fields (guessed, or as the shop mapped them last time) and remembers the mapping;
//! then the import runs in the background on its own page, which shows progress (refreshing
//! itself, no JavaScript), the summary and the rejected rows, downloadable as CSV. The imports
//! page lists the recent imports.

use crate::console::i18n::Tr;
use crate::console::shell::{carries_csrf, table, ConsoleManager, ForManagers, Posted, Quoted, Visitor};
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use enishi_core::Role;
use enishi_ingest::customers::{CustomerFormat, CustomerImport, CustomerImportOptions};
use enishi_ingest::formats::OrderFormat;
use enishi_ingest::mapping::{self, Preview};
use enishi_ingest::orders::{OrderImport, OrderImportOptions};
use enishi_ingest::products::{ProductImport, ProductImportOptions};
use enishi_ingest::{CsvOptions, Encoding, ImportError, ImportKind, Mapping, Progress, Rejection};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Largest upload accepted by the import page.
const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;
/// Finished imports whose pages are kept (in memory) besides those running.
const KEPT_JOBS: usize = 50;
/// Uploads waiting on the mapping screen that are kept (the oldest go first).
const KEPT_STAGED: usize = 10;
/// Rows of the file shown on the mapping screen.
const SAMPLE_ROWS: usize = 3;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/imports", get(imports_page).post(upload_import))
        .route("/imports/map/{id}", get(mapping_page).post(post_mapping))
        .route("/imports/jobs/{id}", get(job_page))
        .route("/imports/jobs/{id}/rejected.csv", get(rejected_csv))
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT))
}

/// What an import that went through did.
enum Finished {
    Orders(OrderImport),
    Customers(CustomerImport),
    Products(ProductImport),
}

impl Finished {
    fn report(&self) -> &[Rejection] {
        match self {
            Finished::Orders(o) => &o.report,
            Finished::Customers(c) => &c.report,
            Finished::Products(p) => &p.report,
        }
    }
}

type Outcome = Arc<Mutex<Option<Result<Finished, ImportError>>>>;

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
    outcome: Outcome,
}

/// An upload waiting on the mapping screen.
struct Staged {
    user_id: i64,
    upload: Upload,
    preview: Preview,
}

/// An uploaded file and how to import it.
struct Upload {
    kind: ImportKind,
    format: OrderFormat,
    json: bool,
    encoding: Encoding,
    skip_bad_rows: bool,
    file_name: String,
    bytes: axum::body::Bytes,
}

#[derive(Default)]
struct Jobs {
    next: u64,
    jobs: BTreeMap<u64, ImportJob>,
    staged: BTreeMap<u64, Staged>,
}

/// The console's imports, and the uploads waiting to be mapped, by id.
#[derive(Default)]
pub(crate) struct ImportJobs(Mutex<Jobs>);

impl ImportJobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, Jobs> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, job: ImportJob) -> u64 {
        let mut guard = self.lock();
        guard.next += 1;
        let id = guard.next;
        guard.jobs.insert(id, job);
        let finished: Vec<u64> = guard
            .jobs
            .iter()
            .filter(|(_, j)| j.outcome.lock().map(|o| o.is_some()).unwrap_or(true))
            .map(|(id, _)| *id)
            .collect();
        for id in finished.iter().take(finished.len().saturating_sub(KEPT_JOBS)) {
            guard.jobs.remove(id);
        }
        id
    }

    fn stage(&self, staged: Staged) -> u64 {
        let mut guard = self.lock();
        guard.next += 1;
        let id = guard.next;
        guard.staged.insert(id, staged);
        while guard.staged.len() > KEPT_STAGED {
            guard.staged.pop_first();
        }
        id
    }

    /// What the job's page shows — for its starter or an owner.
    fn view<T>(&self, id: u64, v: &Visitor, f: impl FnOnce(&ImportJob) -> T) -> Option<T> {
        let guard = self.lock();
        guard.jobs.get(&id).filter(|j| j.user_id == v.user.id || v.role() == Role::Admin).map(f)
    }

    /// A staged upload of this visitor's, read by `f`.
    fn staged<T>(&self, id: u64, v: &Visitor, f: impl FnOnce(&Staged) -> T) -> Option<T> {
        let guard = self.lock();
        guard.staged.get(&id).filter(|s| s.user_id == v.user.id).map(f)
    }

    /// Takes a staged upload of this visitor's off the list.
    fn unstage(&self, id: u64, v: &Visitor) -> Option<Staged> {
        let mut guard = self.lock();
        if guard.staged.get(&id).is_some_and(|s| s.user_id == v.user.id) {
            guard.staged.remove(&id)
        } else {
            None
        }
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
            p {
                label {
                    (tr.t("What")) " "
                    select name="kind" {
                        option value="orders" { (kind_word(tr, "orders")) }
                        option value="customers" { (kind_word(tr, "customers")) }
                        option value="products" { (kind_word(tr, "products")) }
                    }
                }
            }
            p { label { (tr.t("File")) " " input type="file" name="file" accept=".csv,.txt,.jsonl,.json" required; } }
            p {
                label {
                    (tr.t("Format")) " "
                    select name="format" {
                        option value="generic" { (tr.t("CSV (Enishi's columns, or mapped on the next screen)")) }
                        option value="shopify" { (tr.t("Shopify orders export")) }
                        option value="json" { (format_name(tr, "json")) }
                        option value="cdnow" { (format_name(tr, "cdnow")) }
                        option value="online-retail" { (format_name(tr, "online-retail")) }
                    }
                }
            }
            p {
                label {
                    (tr.t("Encoding")) " "
                    select name="encoding" {
                        option value="auto" { (tr.t("Detect (UTF-8 or Shift_JIS)")) }
                        option value="utf-8" { "UTF-8" }
                        option value="shift_jis" { "Shift_JIS (CP932)" }
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

/// An import format by its recorded name (`online-retail`), for people; a name the console
/// does not know as recorded.
fn format_name(tr: Tr, name: &str) -> String {
    match name {
        "generic" | "csv" => tr.t("CSV").to_string(),
        "shopify" => tr.t("Shopify orders export").to_string(),
        "json" => tr.t("JSON Lines (one record per line)").to_string(),
        "cdnow" => tr.t("CDNOW (research data set)").to_string(),
        "online-retail" => tr.t("Online Retail II (research data set)").to_string(),
        other => other.to_string(),
    }
}

/// The kind of an import record, for people.
fn kind_word(tr: Tr, kind: &str) -> &'static str {
    match kind {
        "customers" => tr.t("Customer profiles"),
        "products" => tr.t("Product catalogue"),
        _ => tr.t("Orders and returns"),
    }
}

async fn imports_page(ConsoleManager(v, _): ConsoleManager<ImportPages>, State(state): State<AppState>) -> Response {
    let tr = v.tr();
    let recent = match state.run(|s| Ok(s.read(|c| enishi_store::repo::imports::recent(c, 20))?)).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let headers = [
        tr.t("When"),
        tr.t("What"),
        tr.t("File"),
        tr.t("Format"),
        tr.t("Rows"),
        tr.t("Records created"),
        tr.t("Rows rejected"),
    ];
    let body = html! {
        h1 { (tr.t("Imports")) }
        p class="muted" { (tr.t("Orders, customers and products from CSV files (UTF-8 or Shift_JIS, as Excel and POS systems save them) or JSON Lines.")) }
        (import_form(tr, &v.csrf))
        @if !recent.is_empty() {
            h2 { (tr.t("Recent imports")) }
            (table(Some("recent-imports"), None, &headers, html! {
                @for r in &recent {
                    @let n = |k: &str| r.summary.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
                    @let created = n(match r.kind.as_str() {
                        "customers" => "customers_created",
                        "products" => "products_created",
                        _ => "orders_created",
                    });
                    tr {
                        td { (v.time(r.finished_at)) }
                        td { (kind_word(tr, &r.kind)) }
                        td { (r.file_name) }
                        td { (format_name(tr, &r.format)) }
                        td { (n("rows_read")) }
                        td { (created) }
                        td { (n("rows_rejected") + n("rows_without_customer")) }
                    }
                }
            }))
        }
    };
    v.page(tr.t("Imports"), body).into_response()
}

async fn upload_import(
    // Who may import is decided before the body is read: a refused role learns that first.
    ConsoleManager(v, _): ConsoleManager<ImportPages>,
    State(state): State<AppState>,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let tr = v.tr();
    let title = tr.t("Imports");
    let Ok(mut form) = form else { return v.bad_form(title, tr.t("The upload could not be read.")) };
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut file = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let file_name = field.file_name().map(String::from);
                let Ok(bytes) = field.bytes().await else { return v.bad_form(title, tr.t("The upload was cut off.")) };
                if name == "file" {
                    file = Some((file_name.unwrap_or_else(|| "upload.csv".into()), bytes));
                } else {
                    fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
                }
            }
            Ok(None) => break,
            Err(_) => return v.bad_form(title, tr.t("The upload could not be read.")),
        }
    }
    if !v.form_ok(fields.get("csrf").map_or("", String::as_str)) {
        return v.forged();
    }
    let field = |k: &str, default: &'static str| fields.get(k).map_or(default, String::as_str).to_string();
    let kind = match field("kind", "orders").as_str() {
        "orders" => ImportKind::Orders,
        "customers" => ImportKind::Customers,
        "products" => ImportKind::Products,
        _ => return v.bad_form(title, tr.t("Choose orders, customers or products.")),
    };
    let format = field("format", "generic");
    let (format, json) = match (kind, format.as_str()) {
        (_, "generic") => (OrderFormat::Generic, false),
        (ImportKind::Customers, "json") => (OrderFormat::Json, true),
        (ImportKind::Orders, f) => match f.parse::<OrderFormat>() {
            Ok(f) => (f, f == OrderFormat::Json),
            Err(_) => {
                return v.bad_form(
                    title,
                    tr.t("Unknown format: choose CSV, Shopify, JSON Lines, CDNOW or Online Retail II."),
                )
            }
        },
        _ => return v.bad_form(title, tr.t("Customers are imported from CSV or JSON Lines, products from CSV.")),
    };
    let Ok(encoding) = field("encoding", "auto").parse::<Encoding>() else {
        return v.bad_form(title, tr.t("Choose an encoding: detect, UTF-8 or Shift_JIS."));
    };
    let Some((file_name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return v.bad_form(title, tr.t("Choose a file to import."));
    };
    let skip_bad_rows = fields.contains_key("skip_bad_rows");
    let upload = Upload { kind, format, json, encoding, skip_bad_rows, file_name, bytes };
    if format != OrderFormat::Generic {
        let id = start(&state, &v, upload, Mapping::default());
        return Redirect::to(&format!("/imports/jobs/{id}")).into_response();
    }
    // A CSV: its headers are Enishi's names, or go through the mapping screen.
    let preview = match mapping::preview(&upload.bytes[..], encoding, SAMPLE_ROWS) {
        Ok(p) => p,
        Err(e) => {
            let body = html! {
                h1 { (title) }
                (error_card(tr, &upload.file_name, &e))
                (import_form(tr, &v.csrf))
            };
            return (StatusCode::UNPROCESSABLE_ENTITY, v.page(title, body)).into_response();
        }
    };
    if mapping::headers_are_enishis(kind, &preview.headers) {
        let id = start(&state, &v, upload, Mapping::default());
        return Redirect::to(&format!("/imports/jobs/{id}")).into_response();
    }
    let id = state.imports.stage(Staged { user_id: v.user.id, upload, preview });
    Redirect::to(&format!("/imports/map/{id}")).into_response()
}

/// Starts an import in the background; its job's id.
fn start(state: &AppState, v: &Visitor, upload: Upload, mapping: Mapping) -> u64 {
    let progress = Progress::default();
    let outcome: Outcome = Arc::new(Mutex::new(None));
    let job = ImportJob {
        user_id: v.user.id,
        file_name: upload.file_name.clone(),
        size: upload.bytes.len() as u64,
        progress: progress.clone(),
        outcome: outcome.clone(),
    };
    let id = state.imports.add(job);
    let store = state.store.clone();
    let ws = state.workspace();
    let csv = CsvOptions { encoding: upload.encoding, mapping };
    let Upload { kind, format, json, skip_bad_rows, file_name, bytes, .. } = upload;
    tokio::task::spawn_blocking(move || {
        let input = &bytes[..];
        let result = match kind {
            ImportKind::Orders => {
                let mut opts = OrderImportOptions::new(format);
                (opts.skip_bad_rows, opts.clock, opts.currency, opts.csv) = (skip_bad_rows, ws.clock, ws.currency, csv);
                enishi_ingest::orders::import_orders(&store, input, &file_name, &opts, progress).map(Finished::Orders)
            }
            ImportKind::Customers => {
                let format = if json { CustomerFormat::Json } else { CustomerFormat::Csv };
                let opts = CustomerImportOptions {
                    format,
                    skip_bad_rows,
                    clock: ws.clock,
                    csv,
                    phone_country: ws.phone_country,
                };
                enishi_ingest::customers::import_customers_with(&store, input, &file_name, &opts, progress)
                    .map(Finished::Customers)
            }
            ImportKind::Products => {
                let opts = ProductImportOptions { skip_bad_rows, csv };
                enishi_ingest::products::import_products_with(&store, input, &file_name, &opts, progress)
                    .map(Finished::Products)
            }
        };
        *outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
    });
    id
}

/// The setting that remembers a shop's mapping for `kind`.
fn mapping_key(kind: ImportKind) -> String {
    format!("import_mapping_{}", kind.name())
}

/// The kind's name for people, in a sentence.
fn kind_phrase(tr: Tr, kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Orders => tr.t("Import orders"),
        ImportKind::Customers => tr.t("Import customers"),
        ImportKind::Products => tr.t("Import products"),
    }
}

/// The mapping screen: each of the file's headers, its first values, and the field it feeds.
fn mapping_body(tr: Tr, v: &Visitor, id: u64, staged: &Staged, chosen: &Mapping, alert: Option<&str>) -> Markup {
    let fields = staged.upload.kind.fields();
    let encoding = match staged.preview.encoding {
        Encoding::ShiftJis => "Shift_JIS (CP932)",
        _ => "UTF-8",
    };
    let headers = [tr.t("Column in the file"), tr.t("First values"), tr.t("Enishi field")];
    html! {
        h1 { (kind_phrase(tr, staged.upload.kind)) }
        @if let Some(a) = alert { p class="card" role="alert" id="mapping-error" { (Quoted(a)) } }
        p class="card" id="mapping-intro" {
            (tr.f("{}, read as {}. Choose which of Enishi's fields each column feeds; the choices are remembered for the next import.", &[&staged.upload.file_name, &encoding]))
        }
        form method="post" action=(format!("/imports/map/{id}")) class="card" {
            input type="hidden" name="csrf" value=(v.csrf);
            (table(Some("column-mapping"), None, &headers, html! {
                @for (i, h) in staged.preview.headers.iter().enumerate() {
                    @let current = chosen.0.get(h.as_str()).map_or("", String::as_str);
                    tr {
                        td { label for=(format!("c{i}")) { (h) } }
                        td class="muted" {
                            @for (j, row) in staged.preview.rows.iter().enumerate() {
                                @if j > 0 { " · " }
                                (row.get(i).map_or("", String::as_str))
                            }
                        }
                        td {
                            select name=(format!("c{i}")) id=(format!("c{i}")) {
                                option value="" selected[current.is_empty()] { (tr.t("— not imported —")) }
                                @if mapping::takes_own_name(staged.upload.kind, h) {
                                    option value=(h) selected[current == h] { (h) }
                                }
                                @for (f, required) in &fields {
                                    option value=(f) selected[current == *f] {
                                        (f) @if *required { " " (tr.t("(required)")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }))
            p { button { (tr.t("Import")) } " " a href="/imports" { (tr.t("Cancel")) } }
        }
    }
}

async fn mapping_page(
    ConsoleManager(v, _): ConsoleManager<ImportPages>,
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Response {
    let tr = v.tr();
    let Some(kind) = state.imports.staged(id, &v, |s| s.upload.kind) else { return v.not_found() };
    let key = mapping_key(kind);
    let saved = match state.run(move |s| Ok(s.read(|c| enishi_store::repo::settings::get(c, &key))?)).await {
        Ok(saved) => saved.and_then(|t| serde_json::from_str::<Mapping>(&t).ok()).unwrap_or_default(),
        Err(e) => return e.into_response(),
    };
    let page = state.imports.staged(id, &v, |s| {
        // What the shop chose last time for the same header, or else a guess.
        let guessed = mapping::guess(kind, &s.preview.headers);
        let fields = kind.fields();
        let known =
            |h: &str, f: &str| fields.iter().any(|(k, _)| *k == f) || (f == h && mapping::takes_own_name(kind, h));
        let chosen = Mapping(
            s.preview
                .headers
                .iter()
                .map(|h| {
                    let field = match saved.0.get(h) {
                        Some(f) if f.is_empty() || known(h, f) => f.clone(),
                        _ => guessed.field(h).filter(|f| known(h, f)).unwrap_or("").to_string(),
                    };
                    (h.clone(), field)
                })
                .collect(),
        );
        mapping_body(tr, &v, id, s, &chosen, None)
    });
    match page {
        Some(body) => v.page(kind_phrase(tr, kind), body).into_response(),
        None => v.not_found(),
    }
}

/// The mapping screen's answer: `cN` is the field the N-th column feeds (empty: ignored).
#[derive(Deserialize)]
struct MappingForm {
    csrf: String,
    #[serde(flatten)]
    columns: BTreeMap<String, String>,
}
carries_csrf!(MappingForm);

async fn post_mapping(
    ConsoleManager(v, _): ConsoleManager<ImportPages>,
    State(state): State<AppState>,
    Path(id): Path<u64>,
    Posted(f): Posted<MappingForm>,
) -> Response {
    let tr = v.tr();
    let checked = state.imports.staged(id, &v, |s| {
        let fields = s.upload.kind.fields();
        let mut chosen = Mapping::default();
        let mut problem = None;
        for (i, h) in s.preview.headers.iter().enumerate() {
            let field = f.columns.get(&format!("c{i}")).map_or("", |x| x.trim());
            let own = field == h && mapping::takes_own_name(s.upload.kind, h);
            if !field.is_empty() && !own && !fields.iter().any(|(k, _)| *k == field) {
                problem = Some(tr.f("'{}' is not one of Enishi's fields.", &[&field]));
            } else if !field.is_empty() && chosen.0.values().any(|x| x == field) {
                problem = Some(tr.f("Two columns feed {}: choose one.", &[&field]));
            }
            chosen.0.insert(h.clone(), field.to_string());
        }
        let missing: Vec<&str> =
            fields.iter().filter(|(k, req)| *req && !chosen.0.values().any(|x| x == k)).map(|(k, _)| *k).collect();
        if problem.is_none() && !missing.is_empty() {
            problem = Some(tr.f("Choose a column for each required field: {}.", &[&missing.join(", ")]));
        }
        match problem {
            Some(why) => Err(mapping_body(tr, &v, id, s, &chosen, Some(&why))),
            None => Ok((s.upload.kind, chosen)),
        }
    });
    let (kind, chosen) = match checked {
        None => return v.not_found(),
        Some(Err(page)) => {
            return (StatusCode::UNPROCESSABLE_ENTITY, v.page(tr.t("Imports"), page)).into_response();
        }
        Some(Ok(x)) => x,
    };
    // Remembered for the next file: this file's headers over what earlier files mapped.
    let (key, remembered) = (mapping_key(kind), chosen.clone());
    let saved = state
        .run(move |s| {
            Ok(s.write(|c| {
                use enishi_store::repo::settings;
                let mut all =
                    settings::get(c, &key)?.and_then(|t| serde_json::from_str::<Mapping>(&t).ok()).unwrap_or_default();
                all.0.extend(remembered.0);
                settings::set(c, &key, &serde_json::to_string(&all).unwrap_or_default())
            })?)
        })
        .await;
    if let Err(e) = saved {
        return e.into_response();
    }
    let Some(staged) = state.imports.unstage(id, &v) else { return v.not_found() };
    let job = start(&state, &v, staged.upload, chosen);
    Redirect::to(&format!("/imports/jobs/{job}")).into_response()
}

fn rejections_table(tr: Tr, rows: &[Rejection]) -> Markup {
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
fn rejection_text(tr: Tr, r: &Rejection) -> String {
    match &r.column {
        Some(c) => tr.f("line {}, column {}: {}", &[&r.line, c, &tr.message(&r.reason)]),
        None => tr.f("line {}: {}", &[&r.line, &tr.message(&r.reason)]),
    }
}

/// A file that could not be imported at all.
fn error_card(tr: Tr, file: &str, e: &ImportError) -> Markup {
    let why = match e {
        ImportError::File(r) => rejection_text(tr, r),
        other => other.to_string(),
    };
    html! {
        p class="card" role="alert" id="import-summary" {
            (Quoted(&tr.f("{}: {}; nothing was imported.", &[&file, &why])))
        }
    }
}

/// What a job's page needs, copied out of the job list.
enum JobState {
    Running { file: String, size: u64, read: u64 },
    Done(Markup),
    Failed(String),
}

/// The summary of an import that went through, with plurals.
fn summary_text(tr: Tr, file: &str, done: &Finished) -> String {
    let rows = |n: u64| tr.plural("{} row", "{} rows", n);
    match done {
        Finished::Orders(o) => {
            let s = &o.summary;
            tr.f(
                "{}: {} read; {}, {} and {} created; {} already stored; {} rejected.",
                &[
                    &file,
                    &rows(s.rows_read),
                    &tr.plural("{} order", "{} orders", s.orders_created),
                    &tr.plural("{} return", "{} returns", s.returns_created),
                    &tr.plural("{} customer", "{} customers", s.customers_created),
                    &s.duplicates_skipped,
                    &rows(s.rows_rejected + s.rows_without_customer),
                ],
            )
        }
        Finished::Customers(c) => {
            let s = &c.summary;
            tr.f(
                "{}: {} read; {} created, {} updated; {} rejected.",
                &[
                    &file,
                    &rows(s.rows_read),
                    &tr.plural("{} customer", "{} customers", s.customers_created),
                    &s.customers_updated,
                    &rows(s.rows_rejected),
                ],
            )
        }
        Finished::Products(p) => {
            let s = &p.summary;
            tr.f(
                "{}: {} read; {} created, {} updated; {} rejected.",
                &[
                    &file,
                    &rows(s.rows_read),
                    &tr.plural("{} product", "{} products", s.products_created),
                    &s.products_updated,
                    &rows(s.rows_rejected),
                ],
            )
        }
    }
}

fn download_link(tr: Tr, id: u64) -> Markup {
    html! {
        p { a id="download-rejected" href=(format!("/imports/jobs/{id}/rejected.csv")) download { (tr.t("Download the rejected rows (CSV)")) } }
    }
}

fn finished_html(tr: Tr, id: u64, file: &str, outcome: &Result<Finished, ImportError>) -> Result<Markup, String> {
    match outcome {
        Ok(done) => Ok(html! {
            p class="card" role="status" id="import-summary" { (Quoted(&summary_text(tr, file, done))) }
            @if !done.report().is_empty() {
                h2 { (tr.t("Rows not imported")) }
                (download_link(tr, id))
                (rejections_table(tr, done.report()))
            }
        }),
        Err(ImportError::BadRows { rejections, total }) => Ok(html! {
            p class="card" role="alert" id="import-summary" {
                (Quoted(&tr.f(
                    "{}: {}; nothing was imported. Fix them, or tick “Import the good rows”.",
                    &[&file, &tr.plural("{} bad row", "{} bad rows", *total)]
                )))
            }
            (download_link(tr, id))
            (rejections_table(tr, rejections))
        }),
        Err(e @ ImportError::File(_)) => Ok(error_card(tr, file, e)),
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
            Some(o) => match finished_html(tr, id, &job.file_name, o) {
                Ok(html) => JobState::Done(html),
                Err(e) => JobState::Failed(e),
            },
        }
    });
    let title = tr.t("Imports");
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

/// The rejected rows of a finished import as CSV (`line,column,order_id,reason`, the reasons
/// in the visitor's language), with a byte-order mark so that Excel reads it as UTF-8.
async fn rejected_csv(
    ConsoleManager(v, _): ConsoleManager<ImportPages>,
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Response {
    let tr = v.tr();
    let rows = state.imports.view(id, &v, |job| {
        let outcome = job.outcome.lock().unwrap_or_else(|p| p.into_inner());
        match outcome.as_ref()? {
            Ok(done) => Some(done.report().to_vec()),
            Err(ImportError::BadRows { rejections, .. }) => Some(rejections.clone()),
            Err(_) => None,
        }
    });
    let Some(Some(rows)) = rows else { return v.not_found() };
    let rows: Vec<Rejection> = rows.into_iter().map(|r| Rejection { reason: tr.message(&r.reason), ..r }).collect();
    let mut out = b"\xEF\xBB\xBF".to_vec();
    if enishi_ingest::write_report(&mut out, &rows).is_err() {
        return ApiError::internal("the report could not be written").into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"rejected-rows.csv\""),
        ],
        out,
    )
        .into_response()
}
