//! The customers list: search (name, reading, phone, email, member or referral code),
//! filters and a saved segment; sorted by any column (a header's link, ascending or descending,
//! kept in the address with the search and filters and followed by the export), a page of 50
//! at a time with page numbers, and the columns each user chose (remembered for them). Staff
//! get one short page of what their term finds; the export is for managers.

use crate::console::format;
use crate::console::i18n::Tr;
use crate::console::names::{loyal_class_name, segment_code, segment_name, stage_name};
use crate::console::shell::{carries_csrf, ConsoleManager, ConsoleUser, ForManagers, Posted, Visitor};
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_core::Role;
use enishi_store::repo::customers::{self, CustomerQuery, ListColumns, Sort, SortKey};
use enishi_store::repo::{history, settings};
use enishi_store::{Conn, Customer, StoreError};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(customer_list))
        .route("/customers/export.csv", get(export_list))
        .route("/customers/columns", post(choose_columns))
}

/// Customers on a page of the list.
const PAGE_SIZE: i64 = 50;

/// A column of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Id,
    Name,
    Email,
    Orders,
    Spend,
    LastOrder,
    Tier,
    Points,
    Segment,
    Lifecycle,
    Loyal,
}

impl Column {
    /// Every column, in the order the table shows them.
    const ALL: [Column; 11] = [
        Column::Id,
        Column::Name,
        Column::Email,
        Column::Orders,
        Column::Spend,
        Column::LastOrder,
        Column::Tier,
        Column::Points,
        Column::Segment,
        Column::Lifecycle,
        Column::Loyal,
    ];

    /// The columns a user may hide or show.
    const CHOOSABLE: [Column; 5] = [Column::Tier, Column::Points, Column::Segment, Column::Lifecycle, Column::Loyal];

    /// The choosable columns shown until a user chooses (the tier as well when the programme
    /// has tiers).
    const DEFAULT: [Column; 3] = [Column::Points, Column::Segment, Column::Loyal];

    /// Its name in the address (`sort=last_order`) and in the saved choice.
    fn code(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Name => "name",
            Column::Email => "email",
            Column::Orders => "orders",
            Column::Spend => "spend",
            Column::LastOrder => "last_order",
            Column::Tier => "tier",
            Column::Points => "points",
            Column::Segment => "segment",
            Column::Lifecycle => "lifecycle",
            Column::Loyal => "loyal",
        }
    }

    fn parse(code: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.code() == code)
    }

    fn header(self, tr: Tr) -> &'static str {
        match self {
            Column::Id => tr.t("Id"),
            Column::Name => tr.t("Name"),
            Column::Email => tr.t("Email"),
            Column::Orders => tr.t("Orders"),
            Column::Spend => tr.t("Spend"),
            Column::LastOrder => tr.t("Last order"),
            Column::Tier => tr.t("Tier"),
            Column::Points => tr.t("Points"),
            Column::Segment => tr.t("RFM segment"),
            Column::Lifecycle => tr.t("Lifecycle"),
            Column::Loyal => tr.t("Loyal class"),
        }
    }

    /// Whether a first click sorts the largest, latest or highest first.
    fn largest_first(self) -> bool {
        matches!(self, Column::Orders | Column::Spend | Column::LastOrder | Column::Points | Column::Tier)
    }

    /// How the store sorts by it: vocabularies by rank (best segment, newest stage, loyal
    /// class first; tiers lowest first), not by their codes' spelling.
    fn sort_key(self, tiers: &[(String, String)]) -> SortKey {
        let codes = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        match self {
            Column::Id => SortKey::ExternalId,
            Column::Name => SortKey::Name,
            Column::Email => SortKey::Email,
            Column::Orders => SortKey::Orders,
            Column::Spend => SortKey::Spend,
            Column::LastOrder => SortKey::LastOrder,
            Column::Points => SortKey::Points,
            Column::Tier => SortKey::Tier(tiers.iter().map(|(id, _)| id.clone()).collect()),
            Column::Segment => {
                SortKey::RfmSegment(enishi_analytics::rfm::Segment::ALL.iter().map(|s| segment_code(*s)).collect())
            }
            Column::Lifecycle => SortKey::Lifecycle(
                enishi_analytics::lifecycle::Stage::ALL.iter().map(|s| s.as_str().to_string()).collect(),
            ),
            Column::Loyal => SortKey::LoyalClass(codes(&enishi_segments::catalogue::LOYAL_CLASSES)),
        }
    }
}

/// The list's address: search, filters, order and page, read from the query string and
/// written back into every link (a header, a page number, the export) so that each keeps the
/// rest. What it does not know is left out; a page number that is not one is the first page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ListParams {
    q: String,
    stage: String,
    segment: String,
    loyal: String,
    saved: String,
    sort: Option<Column>,
    descending: bool,
    page: i64,
}

impl ListParams {
    fn read(raw: Option<&str>) -> ListParams {
        let mut p = ListParams { page: 1, ..ListParams::default() };
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "q" => p.q = value,
                "stage" => p.stage = value,
                "segment" => p.segment = value,
                "loyal" => p.loyal = value,
                "saved" => p.saved = value,
                "sort" => p.sort = Column::parse(&value),
                "dir" => p.descending = value == "desc",
                "page" => p.page = value.parse().ok().filter(|n| (1..=1_000_000).contains(n)).unwrap_or(1),
                _ => {}
            }
        }
        p
    }

    /// `path` with these parameters (those with a value).
    fn href(&self, path: &str) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("q", &self.q),
            ("stage", &self.stage),
            ("segment", &self.segment),
            ("loyal", &self.loyal),
            ("saved", &self.saved),
        ] {
            if !value.is_empty() {
                out.append_pair(key, value);
            }
        }
        if let Some(column) = self.sort {
            out.append_pair("sort", column.code());
            out.append_pair("dir", if self.descending { "desc" } else { "asc" });
        }
        if self.page > 1 {
            out.append_pair("page", &self.page.to_string());
        }
        let query = out.finish();
        if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        }
    }

    /// The list ordered by `column`: the other way round when it already is, else in the
    /// column's first direction; from the first page.
    fn sorted_by(&self, column: Column) -> ListParams {
        let descending = if self.sort == Some(column) { !self.descending } else { column.largest_first() };
        ListParams { sort: Some(column), descending, page: 1, ..self.clone() }
    }

    fn at_page(&self, page: i64) -> ListParams {
        ListParams { page, ..self.clone() }
    }

    /// The store's query for the search and filters.
    fn query(&self, limit: i64) -> CustomerQuery {
        let some = |v: &str| Some(v.to_string()).filter(|s| !s.is_empty());
        CustomerQuery {
            text: Some(self.q.clone()),
            limit,
            lifecycle_stage: some(&self.stage),
            rfm_segment: some(&self.segment),
            loyal_class: some(&self.loyal),
            ..CustomerQuery::default()
        }
    }

    fn sort(&self, tiers: &[(String, String)]) -> Option<Sort> {
        self.sort.map(|column| Sort { key: column.sort_key(tiers), descending: self.descending })
    }
}

/// The tiers of the programme in force, lowest first: (id, name).
fn tiers(c: &mut dyn Conn) -> Result<Vec<(String, String)>, StoreError> {
    let Some(program) = enishi_store::repo::loyalty::latest_program(c)? else { return Ok(Vec::new()) };
    let document = serde_json::from_str::<enishi_loyalty::Document>(&program.document).ok();
    Ok(document
        .and_then(|d| d.tiers)
        .map(|t| t.levels.into_iter().map(|l| (l.id, l.name)).collect())
        .unwrap_or_default())
}

/// The settings key of a user's chosen columns.
fn columns_key(user_id: i64) -> String {
    format!("customer_list_columns:user:{user_id}")
}

/// The columns a user shows: their choice, or the default (with the tier when there are tiers).
fn chosen_columns(saved: Option<&str>, has_tiers: bool) -> Vec<Column> {
    match saved {
        Some(list) => list.split(',').filter_map(Column::parse).filter(|c| Column::CHOOSABLE.contains(c)).collect(),
        None if has_tiers => [Column::Tier].into_iter().chain(Column::DEFAULT).collect(),
        None => Column::DEFAULT.to_vec(),
    }
}

/// Applies a saved segment's rule to `query`; `Ok(Some(why))` when it is gone or cannot be
/// evaluated.
fn narrow_to_saved(
    c: &mut dyn Conn,
    name: &str,
    query: &mut CustomerQuery,
    today: i64,
    calendar: &enishi_core::BusinessClock,
) -> Result<Option<String>, StoreError> {
    if name.is_empty() {
        return Ok(None);
    }
    let rule = enishi_segments::saved::find(c, name).and_then(|s| enishi_segments::saved::read_rule(&s));
    match rule.and_then(|rule| enishi_segments::condition(c, &rule, today, calendar)) {
        Ok(condition) => {
            query.matching = Some(condition);
            Ok(None)
        }
        Err(enishi_segments::Error::Store(e)) => Err(e),
        Err(e) => Ok(Some(e.to_string())),
    }
}

/// A `<select>` of `options` (value, label) with `selected` chosen and an "any" first.
fn select(tr: Tr, name: &str, label: &str, options: &[(String, String)], selected: &str) -> Markup {
    html! {
        label {
            (label) " "
            select name=(name) {
                option value="" { (tr.t("any")) }
                @for (value, text) in options { option value=(value) selected[value == selected] { (text) } }
            }
        }
    }
}

/// What one page of the list needs from the store.
struct ListPage {
    customers: Vec<Customer>,
    matching: i64,
    page: i64,
    saved_names: Vec<String>,
    problem: Option<String>,
    columns: HashMap<i64, ListColumns>,
    issues: HashMap<i64, enishi_store::Interaction>,
    tiers: Vec<(String, String)>,
    chosen: Option<String>,
}

async fn customer_list(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Response {
    let tr = v.tr();
    let params = ListParams::read(raw.as_deref());
    let mut query = params.query(PAGE_SIZE);
    // Staff find the customer in front of them: a term, a short list, no paging.
    let staff = v.role() == Role::Staff;
    let listed = crate::access::customer_query_for(v.role(), &mut query).is_ok();
    if staff && listed {
        if let Err(e) = state.searches.check(&format!("user:{}", v.user.id), crate::access::STAFF_SEARCHES_PER_MINUTE) {
            return e.into_response();
        }
    }
    let calendar = state.workspace().clock;
    let today = calendar.day_number(state.now());
    let (wanted, user_id) = (params.clone(), v.user.id);
    let result = state
        .run(move |s| {
            Ok(s.read(|c| {
                let problem = narrow_to_saved(c, &wanted.saved, &mut query, today, &calendar)?;
                let tiers = tiers(c)?;
                let (mut customers, mut matching, mut page) = (Vec::new(), 0, 1);
                if listed && problem.is_none() {
                    matching = customers::count_matching(c, &query)?;
                    let pages = (matching + query.limit - 1) / query.limit;
                    page = if staff { 1 } else { wanted.page.min(pages).max(1) };
                    let sort = wanted.sort(&tiers);
                    customers = customers::search_sorted(c, &query, sort.as_ref(), (page - 1) * query.limit)?;
                }
                let saved_names = enishi_store::repo::segments::list(c)?.into_iter().map(|s| s.name).collect();
                let ids: Vec<i64> = customers.iter().map(|x| x.id).collect();
                let columns = customers::list_columns(c, &ids)?;
                let issues = history::latest_open_issues(c, &ids)?;
                let chosen = settings::get(c, &columns_key(user_id))?;
                Ok::<_, StoreError>(ListPage {
                    customers,
                    matching,
                    page,
                    saved_names,
                    problem,
                    columns,
                    issues,
                    tiers,
                    chosen,
                })
            })?)
        })
        .await;
    match result {
        Ok(page) => {
            let params = params.at_page(page.page);
            v.page(tr.t("Customers"), list_body(&v, &state, &params, &page, staff, listed)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn list_body(v: &Visitor, state: &AppState, params: &ListParams, page: &ListPage, staff: bool, listed: bool) -> Markup {
    let tr = v.tr();
    let cur = state.workspace().currency;
    let clock = state.workspace().clock;
    let stages: Vec<(String, String)> = enishi_analytics::lifecycle::Stage::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), stage_name(tr, s.as_str())))
        .collect();
    let segments: Vec<(String, String)> =
        enishi_analytics::rfm::Segment::ALL.iter().map(|s| (segment_code(*s), segment_name(tr, s.label()))).collect();
    let loyal_classes: Vec<(String, String)> =
        enishi_segments::catalogue::LOYAL_CLASSES.iter().map(|c| (c.to_string(), loyal_class_name(tr, c))).collect();
    let chosen = chosen_columns(page.chosen.as_deref(), !page.tiers.is_empty());
    let shown: Vec<Column> =
        Column::ALL.into_iter().filter(|c| !Column::CHOOSABLE.contains(c) || chosen.contains(c)).collect();
    let tier_names: HashMap<&str, &str> = page.tiers.iter().map(|(id, name)| (id.as_str(), name.as_str())).collect();
    let cell = |column: Column, c: &Customer| -> Markup {
        let extra = page.columns.get(&c.id);
        html! {
            @match column {
                Column::Id => a href={ "/customers/" (c.id) } { (c.external_id) },
                Column::Name => {
                    @if let Some(name) = &c.name { a href={ "/customers/" (c.id) } { (name) } }
                    @if let Some(i) = page.issues.get(&c.id) { " " (crate::console::follow_up::open_issue_marker(tr, i)) }
                },
                Column::Email => (c.email.as_deref().unwrap_or("")),
                Column::Orders => (c.stats.order_count),
                Column::Spend => (cur.format(c.stats.total_spend)),
                Column::LastOrder => (c.stats.last_order_at.map(|d| format::local_date(tr, &clock, d)).unwrap_or_default()),
                Column::Tier => @if let Some(t) = extra.and_then(|x| x.tier.as_deref()) { (tier_names.get(t).copied().unwrap_or(t)) },
                Column::Points => (extra.map_or(0, |x| x.points)),
                Column::Segment => @if let Some(s) = extra.and_then(|x| x.rfm_segment.as_deref()) { (segment_name(tr, s)) },
                Column::Lifecycle => @if let Some(s) = extra.and_then(|x| x.lifecycle_stage.as_deref()) { (stage_name(tr, s)) },
                Column::Loyal => @if let Some(s) = extra.and_then(|x| x.loyal_class.as_deref()) { (loyal_class_name(tr, s)) },
            }
        }
    };
    let pages = (page.matching + PAGE_SIZE - 1) / PAGE_SIZE;
    html! {
        // The customers the search and filters select, not the whole base.
        h1 { (tr.t("Customers")) " " span class="muted" id="matching" { "(" (page.matching) ")" } }
        p {
            a href="/customers/new" id="enrol-link" class="button" { (tr.t("Enrol a customer")) } " "
            a href="/join-card" id="join-card-link" { (tr.t("Join page QR code")) }
        }
        form method="get" action="/customers" role="search" class="card" {
            label { (tr.t("Search")) " " input name="q" value=(params.q) placeholder=(tr.t("Name, reading, phone, email, member or referral code")); } " "
            (select(tr, "stage", tr.t("Lifecycle"), &stages, &params.stage)) " "
            (select(tr, "segment", tr.t("RFM segment"), &segments, &params.segment)) " "
            (select(tr, "loyal", tr.t("Loyal class"), &loyal_classes, &params.loyal)) " "
            @if !page.saved_names.is_empty() {
                (select(tr, "saved", tr.t("Saved segment"), &page.saved_names.iter().map(|n| (n.clone(), n.clone())).collect::<Vec<_>>(), &params.saved)) " "
            }
            @if let Some(column) = params.sort {
                input type="hidden" name="sort" value=(column.code());
                input type="hidden" name="dir" value=(if params.descending { "desc" } else { "asc" });
            }
            button { (tr.t("Search")) }
        }
        details id="columns" class="card" {
            summary { (tr.t("Columns")) }
            form method="post" action="/customers/columns" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="back" value=(params.href(""));
                @for column in Column::CHOOSABLE {
                    label {
                        input type="checkbox" name=(column.code()) value="1" checked[chosen.contains(&column)]; " "
                        (column.header(tr))
                    } " "
                }
                button id="show-columns" { (tr.t("Show these columns")) }
            }
        }
        div class="scroll" {
            table id="customer-list" {
                thead {
                    tr {
                        @for column in &shown {
                            @let current = params.sort == Some(*column);
                            th data-column=(column.code()) aria-sort=[current.then_some(if params.descending { "descending" } else { "ascending" })] {
                                a href=(params.sorted_by(*column).href("/customers")) {
                                    (column.header(tr))
                                    @if current { " " (if params.descending { "▼" } else { "▲" }) }
                                }
                            }
                        }
                    }
                }
                tbody {
                    @for c in &page.customers {
                        tr { @for column in &shown { td { (cell(*column, c)) } } }
                    }
                }
            }
        }
        @if let Some(problem) = &page.problem {
            p class="error" role="alert" { (problem) }
        }
        @if !staff && page.problem.is_none() && pages > 1 {
            (pager(tr, params, page.page, pages))
        }
        @if !staff && page.problem.is_none() && page.matching > 0 {
            p {
                a id="export-list" href=(ListParams { page: 1, ..params.clone() }.href("/customers/export.csv")) {
                    (tr.plural("Export this customer (CSV)", "Export these {} customers (CSV)", page.matching as u64))
                }
            }
        }
        @if !listed {
            p { (tr.t("Type a name (two characters or more), an email, a phone number or an id: staff see at most 20 matches.")) }
        } @else if page.customers.is_empty() {
            p { (tr.t("No customer matches.")) }
        }
    }
}

/// Previous, the page numbers (the first, the last and two either side of this one, gaps
/// shown as …) and next.
fn pager(tr: Tr, params: &ListParams, page: i64, pages: i64) -> Markup {
    let near = |n: i64| n == 1 || n == pages || (n - page).abs() <= 2;
    html! {
        nav id="pager" aria-label=(tr.t("Pages")) {
            @if page > 1 {
                a rel="prev" href=(params.at_page(page - 1).href("/customers")) { (tr.t("← Previous")) } " "
            }
            @for n in 1..=pages {
                @if near(n) {
                    @if n == page { strong aria-current="page" { (n) } } @else { a href=(params.at_page(n).href("/customers")) { (n) } }
                    " "
                } @else if near(n - 1) {
                    span class="muted" { "…" } " "
                }
            }
            @if page < pages {
                a rel="next" href=(params.at_page(page + 1).href("/customers")) { (tr.t("Next →")) }
            }
        }
    }
}

/// The choice of columns: a box per choosable column, and the list's address to go back to.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ColumnsForm {
    csrf: String,
    back: String,
    tier: Option<String>,
    points: Option<String>,
    segment: Option<String>,
    lifecycle: Option<String>,
    loyal: Option<String>,
}

carries_csrf!(ColumnsForm);

/// Remembers the columns the visitor chose and shows the list again as it was.
async fn choose_columns(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Posted(f): Posted<ColumnsForm>,
) -> Response {
    let ticked = [
        (Column::Tier, &f.tier),
        (Column::Points, &f.points),
        (Column::Segment, &f.segment),
        (Column::Lifecycle, &f.lifecycle),
        (Column::Loyal, &f.loyal),
    ];
    let chosen: Vec<&str> = ticked.iter().filter(|(_, on)| on.is_some()).map(|(c, _)| c.code()).collect();
    let (key, value) = (columns_key(v.user.id), chosen.join(","));
    if let Err(e) = state.run(move |s| Ok(s.write(|c| settings::set(c, &key, &value))?)).await {
        return e.into_response();
    }
    // Back to the list only, whatever the form says.
    let back = ListParams::read(Some(f.back.trim_start_matches('?')));
    Redirect::to(&back.href("/customers")).into_response()
}

/// The customers list's export, for managers.
pub(crate) struct ListExport;

impl ForManagers for ListExport {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Exporting customers is for owners and marketers.")
    }
}

/// The customers the list's search and filters select, every page of them in the list's
/// order, as CSV with their contact details (managers only; audited as `customers.export`
/// with the filters, the order and the count). A saved segment that cannot be evaluated is
/// refused.
async fn export_list(
    ConsoleManager(v, _): ConsoleManager<ListExport>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Response {
    let calendar = state.workspace().clock;
    let today = calendar.day_number(state.now());
    let actor = v.actor();
    let params = ListParams::read(raw.as_deref());
    let filters = serde_json::json!({
        "q": params.q, "stage": params.stage, "segment": params.segment, "loyal": params.loyal, "saved": params.saved,
        "sort": params.sort.map(Column::code), "descending": params.descending,
    });
    let mut query = params.query(500);
    let made = state
        .run(move |s| {
            let contacts = s.read(|c| -> Result<Result<_, String>, StoreError> {
                if let Some(why) = narrow_to_saved(c, &params.saved, &mut query, today, &calendar)? {
                    return Ok(Err(why));
                }
                let sort = params.sort(&tiers(c)?);
                let mut ids = Vec::new();
                loop {
                    let page = customers::search_sorted(c, &query, sort.as_ref(), ids.len() as i64)?;
                    ids.extend(page.iter().map(|x| x.id));
                    if (page.len() as i64) < query.limit {
                        break;
                    }
                }
                // Contacts come in id order: put them back in the list's.
                let at: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
                let mut contacts = enishi_store::repo::segments::contacts(c, &ids)?;
                contacts.sort_by_key(|x| at.get(&x.id).copied());
                Ok(Ok(contacts))
            })?;
            let contacts = match contacts {
                Ok(x) => x,
                Err(why) => return Ok(Err(why)),
            };
            let mut csv = Vec::new();
            let layout = enishi_ingest::export::MemberLayout::Contacts;
            let rows = enishi_ingest::export::export_members(&contacts, layout, &mut csv)
                .map_err(crate::ApiError::internal)?;
            let after = serde_json::json!({"filters": filters, "rows": rows});
            s.write(|c| crate::audit::record(c, &actor, "customers.export", "customers", Some(after)))?;
            Ok(Ok(csv))
        })
        .await;
    match made {
        Ok(Ok(csv)) => (
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (axum::http::header::CONTENT_DISPOSITION, "attachment; filename=\"customers.csv\""),
            ],
            csv,
        )
            .into_response(),
        Ok(Err(why)) => v.refuse(axum::http::StatusCode::UNPROCESSABLE_ENTITY, v.tr().t("Not done"), &why),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_keeps_search_filters_order_and_page() {
        let p = ListParams::read(Some("q=%E5%B1%B1%E7%94%B0&stage=at_risk&sort=spend&dir=desc&page=3&after=9"));
        assert_eq!(
            (p.q.as_str(), p.stage.as_str(), p.sort, p.descending, p.page),
            ("山田", "at_risk", Some(Column::Spend), true, 3)
        );
        assert_eq!(ListParams::read(Some(&p.href("/customers")[11..])), p);
        // Another column sorts from the first page in its own first direction; the same one flips.
        let by_name = p.sorted_by(Column::Name);
        assert_eq!((by_name.sort, by_name.descending, by_name.page), (Some(Column::Name), false, 1));
        assert!(!p.sorted_by(Column::Spend).descending);
        assert!(ListParams::default().sorted_by(Column::Points).descending);
        // What is not understood is left out.
        let odd = ListParams::read(Some("sort=password&page=-2&dir=sideways"));
        assert_eq!((odd.sort, odd.page, odd.descending), (None, 1, false));
        assert_eq!(ListParams::read(None).href("/customers"), "/customers");
    }

    #[test]
    fn users_choose_their_columns_with_a_default_until_they_do() {
        assert_eq!(chosen_columns(None, false), Column::DEFAULT.to_vec());
        assert_eq!(chosen_columns(None, true)[0], Column::Tier);
        assert_eq!(chosen_columns(Some("lifecycle,tier,id,bogus"), true), vec![Column::Lifecycle, Column::Tier]);
        assert_eq!(chosen_columns(Some(""), true), Vec::<Column>::new());
    }
}
