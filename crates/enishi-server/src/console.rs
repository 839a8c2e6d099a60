//! Console pages that change things: recording a purchase at the till, the loyalty programme
//! editor, order imports with their rejected-rows report, and API tokens. Every form carries the visitor's
//! anti-forgery token.

use crate::pages::{esc, page, visitor, Visitor};
use crate::{ApiError, AppState};
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_core::Role;
use enishi_ingest::intake::OrderInput;
use enishi_store::repo::{customers, loyalty};
use serde::Deserialize;
use serde_json::json;
use std::fmt::Write;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/purchases", post(record_purchase))
        .route("/loyalty", get(loyalty_page).post(apply_programme))
        .route("/tokens", get(tokens_page).post(create_token))
        .route("/tokens/{id}/revoke", post(revoke_token))
        .merge(import_routes())
}

fn forbidden(what: &str) -> Response {
    (StatusCode::FORBIDDEN, page("Not allowed", &format!("<h1>Not allowed</h1><p>{}</p>", esc(what)))).into_response()
}

fn forged() -> Response {
    forbidden("This form has expired or did not come from Enishi. Reload the page and try again.")
}

/// The "record a purchase" form of a customer's page.
pub(crate) fn purchase_form(customer_id: i64, csrf: &str) -> String {
    format!(
        "<section class=\"card\" id=\"record-purchase\"><h2>Record a purchase</h2>\
         <form method=\"post\" action=\"/customers/{customer_id}/purchases\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label>Amount <input name=\"amount\" inputmode=\"decimal\" required placeholder=\"57.40\"></label> \
         <label>Item <input name=\"sku\" placeholder=\"SKU (optional)\"></label> \
         <label>Category <input name=\"category\" placeholder=\"optional\"></label> \
         <button>Record</button></form></section>"
    )
}

#[derive(Deserialize)]
struct PurchaseForm {
    csrf: String,
    amount: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    category: String,
}

async fn record_purchase(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<PurchaseForm>,
) -> Response {
    let v = match visitor(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !v.form_ok(&f.csrf) {
        return forged();
    }
    let found = state.run(move |s| Ok(s.read(|c| customers::get(c, id))?)).await;
    let customer = match found {
        Ok(Some(c)) => c,
        Ok(None) => return (StatusCode::NOT_FOUND, page("Not found", "<p>No such customer.</p>")).into_response(),
        Err(e) => return e.into_response(),
    };
    let now = chrono::Utc::now();
    let order_id = format!("POS-{}-{}", customer.id, now.timestamp_millis());
    let sku = if f.sku.trim().is_empty() { "ITEM".to_string() } else { f.sku.trim().to_string() };
    let input: Result<OrderInput, _> = serde_json::from_value(json!({
        "order_id": order_id, "placed_at": now.to_rfc3339(), "channel": "in_store",
        "customer": {"external_id": customer.external_id},
        "lines": [{"sku": sku, "quantity": 1, "unit_price": f.amount.trim(),
                   "category": if f.category.trim().is_empty() { None } else { Some(f.category.trim()) }}],
    }));
    let outcome = match input {
        Ok(i) => state.orders.record(i).await,
        Err(e) => Err(ApiError::bad_request(e.to_string())),
    };
    match outcome {
        Ok((order, _, loyalty)) => {
            let earned = loyalty.map(|l| format!("&earned={}", l.points_earned)).unwrap_or_default();
            Redirect::to(&format!("/customers/{id}?recorded={}{earned}", order.order_id)).into_response()
        }
        Err(e) if e.status.is_client_error() => (
            StatusCode::UNPROCESSABLE_ENTITY,
            page(
                "Purchase not recorded",
                &format!(
                    "<h1>Purchase not recorded</h1><p role=\"alert\">{}</p><p><a href=\"/customers/{id}\">Back to the customer</a></p>",
                    esc(&e.detail.replace("lines[0].unit_price", "amount"))
                ),
            ),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

fn programme_form(csrf: &str, text: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/loyalty\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"document\">Programme (JSON, see docs/loyalty.md)</label>\
         <textarea id=\"document\" name=\"document\" rows=\"24\" style=\"width:100%;font-family:monospace\">{}</textarea>\
         <p><button>Apply as a new version</button></p></form>",
        esc(text)
    )
}

async fn loyalty_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let v = match visitor(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if v.role == Role::Staff {
        return forbidden("The loyalty programme is managed by owners and marketers.");
    }
    let result = state
        .with_programs(false, |c, programs| Ok((loyalty::latest_program(c)?, enishi_rewards::report(c, programs)?)))
        .await;
    let (latest, report) = match result {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    page("Loyalty", &loyalty_body(&v, latest.as_ref(), report.as_ref(), None)).into_response()
}

fn loyalty_body(
    v: &Visitor,
    latest: Option<&loyalty::StoredProgram>,
    report: Option<&enishi_rewards::ProgramReport>,
    error: Option<(&str, &str)>,
) -> String {
    let mut html = String::from("<h1>Loyalty programme</h1>");
    if let Some((message, _)) = error {
        let _ = write!(
            html,
            "<p class=\"card\" role=\"alert\" id=\"programme-error\"><strong>Not applied.</strong> {}</p>",
            esc(message)
        );
    }
    match latest {
        Some(p) => {
            let _ = write!(
                html,
                "<p class=\"muted\">Version {} applied by {} · in force from {}</p>",
                p.version,
                esc(&p.applied_by),
                enishi_store::instant(p.effective_from).format("%Y-%m-%d %H:%M UTC")
            );
        }
        None => html.push_str("<p>No programme yet. Start from a starter (café, retail, e-commerce) below.</p>"),
    }
    if let Some(r) = report {
        html.push_str("<div class=\"grid\">");
        for p in &r.promotions {
            let _ = write!(
                html,
                "<section class=\"card\"><h2>{}</h2><p>{} customers · {} points<br>{} orders, spend {} (weeks before: {} orders, {})</p></section>",
                esc(&p.name),
                p.participants,
                p.points_given,
                p.during.orders,
                p.during.spend,
                p.before.orders,
                p.before.spend
            );
        }
        for c in &r.stamp_cards {
            let _ = write!(
                html,
                "<section class=\"card\"><h2>{}</h2><p>{} holders · {} cards completed · {} rewards used</p></section>",
                esc(&c.name),
                c.holders,
                c.completed,
                c.rewards_used
            );
        }
        html.push_str("</div>");
    }
    let text = match (error, latest) {
        (Some((_, sent)), _) => sent.to_string(),
        (None, Some(p)) => serde_json::from_str::<serde_json::Value>(&p.document)
            .and_then(|d| serde_json::to_string_pretty(&d))
            .unwrap_or_else(|_| p.document.clone()),
        (None, None) => enishi_loyalty::starter("cafe").unwrap_or_default().to_string(),
    };
    html.push_str(&programme_form(&v.csrf, &text));
    html
}

#[derive(Deserialize)]
struct ProgrammeForm {
    csrf: String,
    document: String,
}

async fn apply_programme(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<ProgrammeForm>) -> Response {
    let v = match visitor(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if v.role == Role::Staff {
        return forbidden("The loyalty programme is managed by owners and marketers.");
    }
    if !v.form_ok(&f.csrf) {
        return forged();
    }
    let clock = state.workspace.clock;
    let by = format!("console ({})", v.role);
    let text = f.document.clone();
    let applied = state.run(move |s| Ok(s.write(|c| enishi_rewards::apply_program(c, &text, clock, &by)))).await;
    match applied {
        Ok(Ok(_)) => Redirect::to("/loyalty").into_response(),
        Ok(Err(enishi_rewards::LoyaltyError::Program(e))) => {
            let latest = state.run(|s| Ok(s.read(loyalty::latest_program)?)).await.ok().flatten();
            let message = e.to_string();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                page("Loyalty", &loyalty_body(&v, latest.as_ref(), None, Some((&message, &f.document)))),
            )
                .into_response()
        }
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Largest upload accepted by the import page.
const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

fn import_routes() -> Router<AppState> {
    Router::new()
        .route("/imports", get(imports_page).post(upload_import))
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT))
}

fn import_form(csrf: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/imports\" enctype=\"multipart/form-data\" class=\"card\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <p><label>Orders file <input type=\"file\" name=\"file\" accept=\".csv,.txt,.jsonl,.json\" required></label></p>\
         <p><label>Format <select name=\"format\"><option value=\"generic\">Enishi CSV (docs/import.md)</option>\
         <option value=\"json\">JSON Lines</option><option value=\"cdnow\">CDNOW</option>\
         <option value=\"online-retail\">Online Retail II</option></select></label></p>\
         <p><label><input type=\"checkbox\" name=\"skip_bad_rows\" value=\"1\"> Import the good rows and report the bad ones \
         (otherwise a file with a bad row imports nothing)</label></p>\
         <p><button>Import</button></p></form>"
    )
}

async fn imports_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let v = match visitor(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if v.role == Role::Staff {
        return forbidden("Imports are run by owners and marketers.");
    }
    page("Import orders", &format!("<h1>Import orders</h1>{}", import_form(&v.csrf))).into_response()
}

fn rejections_table(rows: &[enishi_ingest::Rejection]) -> String {
    let mut html = String::from(
        "<table id=\"rejected-rows\"><thead><tr><th>Line</th><th>Column</th><th>Order</th><th>Why</th></tr></thead><tbody>",
    );
    for r in rows {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.line,
            esc(r.column.as_deref().unwrap_or("")),
            esc(r.order_id.as_deref().unwrap_or("")),
            esc(&r.reason)
        );
    }
    html.push_str("</tbody></table>");
    html
}

async fn upload_import(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut form: axum::extract::Multipart,
) -> Response {
    let v = match visitor(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if v.role == Role::Staff {
        return forbidden("Imports are run by owners and marketers.");
    }
    let (mut csrf, mut format, mut skip, mut file) = (String::new(), String::from("generic"), false, None);
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let file_name = field.file_name().map(String::from);
                let Ok(bytes) = field.bytes().await else { return bad_form("Import orders", "the upload was cut off") };
                match name.as_str() {
                    "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
                    "format" => format = String::from_utf8_lossy(&bytes).into_owned(),
                    "skip_bad_rows" => skip = true,
                    "file" => file = Some((file_name.unwrap_or_else(|| "upload.csv".into()), bytes)),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => return bad_form("Import orders", "the upload could not be read"),
        }
    }
    if !v.form_ok(&csrf) {
        return forged();
    }
    let format = match format.as_str() {
        "generic" => enishi_ingest::formats::OrderFormat::Generic,
        "json" => enishi_ingest::formats::OrderFormat::Json,
        "cdnow" => enishi_ingest::formats::OrderFormat::Cdnow,
        "online-retail" => enishi_ingest::formats::OrderFormat::OnlineRetail,
        _ => {
            return bad_form(
                "Import orders",
                "unknown format: choose Enishi CSV, JSON Lines, CDNOW or Online Retail II",
            )
        }
    };
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return bad_form("Import orders", "choose a file to import");
    };
    let mut opts = enishi_ingest::orders::OrderImportOptions::new(format);
    opts.skip_bad_rows = skip;
    opts.clock = state.workspace.clock;
    opts.currency = state.workspace.currency;
    let shown = name.clone();
    let outcome = state
        .run(move |s| {
            Ok(enishi_ingest::orders::import_orders(s, &bytes[..], &name, &opts, enishi_ingest::Progress::default()))
        })
        .await;
    let body = |status: StatusCode, html: String| (status, page("Import orders", &html)).into_response();
    match outcome {
        Ok(Ok(done)) => {
            let s = &done.summary;
            let mut html = format!(
                "<h1>Import orders</h1><p class=\"card\" role=\"status\" id=\"import-summary\">{}: {} rows read; \
                 {} orders, {} returns and {} customers created; {} already stored; {} rows rejected.</p>",
                esc(&shown),
                s.rows_read,
                s.orders_created,
                s.returns_created,
                s.customers_created,
                s.duplicates_skipped,
                s.rows_rejected + s.rows_without_customer
            );
            if !done.report.is_empty() {
                html.push_str("<h2>Rows not imported</h2>");
                html.push_str(&rejections_table(&done.report));
            }
            html.push_str(&import_form(&v.csrf));
            body(StatusCode::OK, html)
        }
        Ok(Err(enishi_ingest::ImportError::BadRows { rejections, total })) => body(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "<h1>Import orders</h1><p class=\"card\" role=\"alert\" id=\"import-summary\">{}: {total} bad row(s); nothing was imported. \
                 Fix them, or tick “Import the good rows”.</p>{}{}",
                esc(&shown),
                rejections_table(&rejections),
                import_form(&v.csrf)
            ),
        ),
        Ok(Err(enishi_ingest::ImportError::File(r))) => body(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "<h1>Import orders</h1><p class=\"card\" role=\"alert\" id=\"import-summary\">{}: {}; nothing was imported.</p>{}",
                esc(&shown),
                esc(&r.to_string()),
                import_form(&v.csrf)
            ),
        ),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A form that cannot be done as sent: 400 with why, under the page's title.
fn bad_form(title: &str, why: &str) -> Response {
    (StatusCode::BAD_REQUEST, page(title, &format!("<h1>{}</h1><p role=\"alert\">{}</p>", esc(title), esc(why))))
        .into_response()
}

async fn tokens_body(state: &AppState, v: &Visitor, created: Option<(&str, &str)>) -> Result<String, ApiError> {
    let list = state.run(|s| Ok(s.read(enishi_store::repo::tokens::list)?)).await?;
    let mut html = String::from("<h1>API tokens</h1>");
    if let Some((token, role)) = created {
        let _ = write!(
            html,
            "<p class=\"card\" role=\"status\">New {} token — copy it now, it is not shown again: <code id=\"new-token\">{}</code></p>",
            esc(role),
            esc(token)
        );
    }
    let _ = write!(
        html,
        "<form method=\"post\" action=\"/tokens\" class=\"card\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label>Role <select name=\"role\"><option value=\"staff\">staff</option><option value=\"marketer\">marketer</option>\
         <option value=\"admin\">admin</option></select></label> <label>Label <input name=\"label\" required placeholder=\"till 2\"></label> \
         <button>Create a token</button></form><table><thead><tr><th>Label</th><th>Role</th><th>Created</th><th>Status</th></tr></thead><tbody>",
        v.csrf
    );
    for t in list {
        let status = match t.revoked_at {
            Some(at) => format!("revoked {}", enishi_store::instant(at).format("%Y-%m-%d")),
            None => format!(
                "<form method=\"post\" action=\"/tokens/{}/revoke\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>Revoke</button></form>",
                t.id, v.csrf
            ),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{status}</td></tr>",
            esc(&t.label),
            esc(&t.role),
            enishi_store::instant(t.created_at).format("%Y-%m-%d")
        );
    }
    html.push_str("</tbody></table>");
    Ok(html)
}

async fn admin_only(state: &AppState, headers: &HeaderMap) -> Result<Visitor, Response> {
    let v = visitor(state, headers).await?;
    if v.role != Role::Admin {
        return Err(forbidden("API tokens are managed by owners (admin)."));
    }
    Ok(v)
}

async fn tokens_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let v = match admin_only(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match tokens_body(&state, &v, None).await {
        Ok(html) => page("API tokens", &html).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: String,
    role: String,
    label: String,
}

async fn create_token(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<TokenForm>) -> Response {
    let v = match admin_only(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !v.form_ok(&f.csrf) {
        return forged();
    }
    let Ok(role) = f.role.parse::<Role>() else { return bad_form("API tokens", "unknown role") };
    let label = f.label.trim().to_string();
    if label.is_empty() {
        return bad_form("API tokens", "a token needs a label");
    }
    let created = state.run(move |s| Ok(s.write(|c| enishi_store::repo::tokens::create(c, role, &label))?)).await;
    let token = match created {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    match tokens_body(&state, &v, Some((&token, role.as_str()))).await {
        Ok(html) => (StatusCode::CREATED, page("API tokens", &html)).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let v = match admin_only(&state, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !v.form_ok(&f.csrf) {
        return forged();
    }
    match state.run(move |s| Ok(s.write(|c| enishi_store::repo::tokens::revoke(c, id))?)).await {
        Ok(_) => Redirect::to("/tokens").into_response(),
        Err(e) => e.into_response(),
    }
}
