//! Reviews and closing the loop (docs/listening.md): the moderation queue of reviews with
//! approve and reject, the products' ratings over approved reviews, inviting a customer to
//! review an order; the changes the business made, each with the feedback linked to it, and
//! the forms that link feedback (from an interaction's page, or by kind and id) and unlink it.

use crate::console::i18n::Tr;
use crate::console::shell::{carries_csrf, table, ConsoleManager, ConsoleUser, ForManagers, Posted, Quoted, Visitor};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_campaigns::{changes as change_ops, reviews as review_ops};
use enishi_store::repo::changes::{self, Change, FEEDBACK_KINDS};
use enishi_store::repo::reviews::{self, Rating, Review, ReviewQuery};
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/reviews", get(reviews_page).post(invite))
        .route("/reviews/{id}/moderate", post(moderate))
        .route("/changes", get(changes_page).post(create_change))
        .route("/changes/link", post(link))
        .route("/changes/unlink", post(unlink))
        .route("/changes/{id}", get(change_page))
}

/// The review pages: for owners and marketers.
pub(crate) struct ReviewPages;

impl ForManagers for ReviewPages {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Reviews are moderated by owners and marketers.")
    }
}

/// Recording a change: for owners and marketers.
pub(crate) struct ChangeForms;

impl ForManagers for ChangeForms {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Changes are recorded by owners and marketers.")
    }
}

/// A refused form: 422 with why and a way back.
fn not_done(v: &Visitor, back: &str, title: &str, why: &str) -> Response {
    let tr = v.tr();
    let body = html! {
        h1 { (title) }
        p role="alert" { (Quoted(why)) }
        p { a href=(back) { (tr.t("Back")) } }
    };
    (StatusCode::UNPROCESSABLE_ENTITY, v.page(title, body)).into_response()
}

/// Stars as ★ and ☆.
fn stars(n: i64) -> String {
    let n = n.clamp(0, 5) as usize;
    format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
}

// ------------------------------------------------------------------ reviews

#[derive(Default, Deserialize)]
#[serde(default)]
struct ReviewParams {
    status: Option<String>,
    done: Option<String>,
}

async fn reviews_page(
    ConsoleManager(v, _): ConsoleManager<ReviewPages>,
    State(state): State<AppState>,
    Query(q): Query<ReviewParams>,
) -> Response {
    let status = q
        .status
        .as_deref()
        .filter(|s| [reviews::PENDING, reviews::APPROVED, reviews::REJECTED].contains(s))
        .unwrap_or(reviews::PENDING)
        .to_string();
    let query = ReviewQuery { status: Some(status.clone()), ..ReviewQuery::default() };
    let read = state
        .run(move |s| {
            Ok(s.read(|c| -> Result<_, enishi_store::StoreError> {
                Ok((reviews::list(c, &query, 200, 0)?, reviews::rated_products(c, 50)?))
            })?)
        })
        .await;
    match read {
        Ok((items, rated)) => reviews_html(&v, &status, &items, &rated, q.done.as_deref(), None).into_response(),
        Err(e) => e.into_response(),
    }
}

fn reviews_html(
    v: &Visitor,
    status: &str,
    items: &[Review],
    rated: &[Rating],
    done: Option<&str>,
    invited: Option<&str>,
) -> Markup {
    let tr = v.tr();
    let tabs = [
        (reviews::PENDING, tr.t("Waiting for moderation")),
        (reviews::APPROVED, tr.t("Approved")),
        (reviews::REJECTED, tr.t("Rejected")),
    ];
    let body = html! {
        h1 { (tr.t("Reviews")) " " span class="muted" { "(" (items.len()) ")" } }
        @if done.is_some() { p class="card" role="status" id="flash" { (tr.t("Saved.")) } }
        p {
            @for (s, label) in tabs {
                @if s == status { strong { (label) } } @else { a href={ "/reviews?status=" (s) } { (label) } } " · "
            }
        }
        p class="muted" { (tr.t("A review shows, and counts in its product's rating, only once approved.")) }
        @if items.is_empty() { p class="muted" { (tr.t("No reviews here.")) } }
        @else {
            (table(Some("reviews"), None, &[tr.t("Written"), tr.t("Customer"), tr.t("Product"), tr.t("Stars"), tr.t("Review"), tr.t("Moderated"), ""], html! {
                @for r in items {
                    tr id={ "review-" (r.id) } {
                        td { (r.submitted_at.map(|t| v.day(t)).unwrap_or_default()) }
                        td { a href={ "/customers/" (r.customer_id) } { (r.customer.as_deref().unwrap_or("—")) } }
                        td {
                            @match (&r.sku, &r.product) {
                                (Some(sku), Some(name)) => { (name) " " code { (sku) } }
                                (Some(sku), None) => { code { (sku) } }
                                _ => { (tr.f("Order {}", &[&r.order])) }
                            }
                        }
                        td { span title=(r.stars.unwrap_or(0)) { (stars(r.stars.unwrap_or(0))) } }
                        td { (r.body.as_deref().unwrap_or("")) }
                        td class="muted" {
                            @if let (Some(by), Some(at)) = (&r.moderated_by, r.moderated_at) { (by) " · " (v.time(at)) }
                        }
                        td {
                            @for (to, label) in [(reviews::APPROVED, tr.t("Approve")), (reviews::REJECTED, tr.t("Reject"))] {
                                @if r.status != to {
                                    form method="post" action={ "/reviews/" (r.id) "/moderate" } class="inline" {
                                        input type="hidden" name="csrf" value=(v.csrf);
                                        input type="hidden" name="status" value=(to);
                                        button id={ (to) "-" (r.id) } { (label) }
                                    }
                                }
                            }
                        }
                    }
                }
            }))
        }
        h2 { (tr.t("Ratings")) }
        @if rated.is_empty() { p class="muted" { (tr.t("No product has an approved review yet.")) } }
        @else {
            (table(Some("ratings"), None, &[tr.t("Product"), tr.t("Average"), tr.t("Number of reviews")], html! {
                @for r in rated {
                    tr {
                        td { code { (r.sku) } }
                        td { (review_ops::shown(r)) " " span class="muted" { (stars(r.average.map_or(0, |a| a.round() as i64))) } }
                        td { (r.count) }
                    }
                }
            }))
        }
        h2 { (tr.t("Invite a review")) }
        @if let Some(url) = invited {
            p class="card" role="status" id="invited" { (tr.t("The customer's review page:")) " " code { (url) } }
        }
        form method="post" action="/reviews" class="card" id="invite-review" {
            input type="hidden" name="csrf" value=(v.csrf);
            label { (tr.t("Order id")) " " input name="order" required maxlength="128"; } " "
            label { (tr.t("Product SKU (empty: the whole order)")) " " input name="sku" maxlength="128"; } " "
            button { (tr.t("Invite")) }
            p class="muted" { (tr.t("A message sends the customer's newest invitation as {{ review_url }}.")) }
        }
    };
    v.page(tr.t("Reviews"), body)
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ModerateForm {
    csrf: String,
    status: String,
}

carries_csrf!(ModerateForm);

async fn moderate(
    ConsoleManager(v, _): ConsoleManager<ReviewPages>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<ModerateForm>,
) -> Response {
    let tr = v.tr();
    let by = v.user.email.clone();
    let actor = v.actor();
    let done = state
        .run(move |s| {
            Ok(s.write(|c| -> Result<_, enishi_campaigns::Error> {
                match review_ops::moderate(c, id, f.status.trim(), &by) {
                    Ok(r) => {
                        let after = serde_json::json!({"status": r.status});
                        crate::audit::record(c, &actor, "review.moderate", &format!("review {id}"), Some(after))?;
                        Ok(Ok(r))
                    }
                    Err(e) if e.is_users() => Ok(Err(e)),
                    Err(e) => Err(e),
                }
            })?)
        })
        .await;
    match done {
        Ok(Ok(_)) => Redirect::to("/reviews?done=1").into_response(),
        Ok(Err(enishi_campaigns::Error::NotFound(_))) => v.not_found(),
        Ok(Err(_)) => {
            not_done(&v, "/reviews", tr.t("Not saved"), tr.t("Only a written review can be approved or rejected."))
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct InviteForm {
    csrf: String,
    order: String,
    sku: String,
}

carries_csrf!(InviteForm);

async fn invite(
    ConsoleManager(v, _): ConsoleManager<ReviewPages>,
    State(state): State<AppState>,
    Posted(f): Posted<InviteForm>,
) -> Response {
    let tr = v.tr();
    let now = state.now().timestamp();
    let done = state
        .run(move |s| {
            Ok(s.write(|c| -> Result<_, enishi_campaigns::Error> {
                let sku = Some(f.sku.trim()).filter(|s| !s.is_empty());
                let made = match review_ops::invite(c, &f.order, sku, now) {
                    Ok((r, _)) => Ok(review_ops::link(c, &r)?),
                    Err(e) if e.is_users() => Err(e),
                    Err(e) => return Err(e),
                };
                let query = ReviewQuery { status: Some(reviews::PENDING.into()), ..ReviewQuery::default() };
                Ok((made, reviews::list(c, &query, 200, 0)?, reviews::rated_products(c, 50)?))
            })?)
        })
        .await;
    match done {
        Ok((Ok(url), items, rated)) => {
            reviews_html(&v, reviews::PENDING, &items, &rated, None, Some(&url)).into_response()
        }
        Ok((Err(e), _, _)) => not_done(&v, "/reviews", tr.t("No invitation made"), &tr.message(&e.to_string())),
        Err(e) => e.into_response(),
    }
}

// ------------------------------------------------------------------ changes

#[derive(Default, Deserialize)]
#[serde(default)]
struct ChangeParams {
    done: Option<String>,
}

async fn changes_page(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<ChangeParams>,
) -> Response {
    let tr = v.tr();
    let list = match state.run(move |s| Ok(s.read(changes::list)?)).await {
        Ok(list) => list,
        Err(e) => return e.into_response(),
    };
    let manager = crate::auth::MANAGERS.contains(&v.role());
    let body = html! {
        h1 { (tr.t("Changes")) }
        @if q.done.is_some() { p class="card" role="status" id="flash" { (tr.t("Saved.")) } }
        p class="muted" { (tr.t("What the shop changed because of feedback. Link complaints, requests, survey answers and reviews to a change; the customers who raised them are the segment raised(change: \"KEY\"), to be told with a campaign.")) }
        @if list.is_empty() { p class="muted" { (tr.t("No change recorded yet.")) } }
        @else {
            (table(Some("changes"), None, &[tr.t("Since"), tr.t("Change"), tr.t("Key"), tr.t("Feedback"), tr.t("Customers")], html! {
                @for ch in &list {
                    tr {
                        td { (ch.changed_on) }
                        td { a href={ "/changes/" (ch.id) } { (ch.title) } }
                        td { code { (ch.key) } }
                        td { (ch.feedback) }
                        td { (ch.customers) }
                    }
                }
            }))
        }
        @if manager {
            h2 { (tr.t("Record a change")) }
            form method="post" action="/changes" class="card" id="new-change" {
                input type="hidden" name="csrf" value=(v.csrf);
                p {
                    label { (tr.t("Key")) " " input name="key" required maxlength="64" placeholder="delivery-3-days"; } " "
                    label { (tr.t("Since")) " " input name="changed_on" type="date" required; }
                }
                p { label { (tr.t("Change")) " " input name="title" required maxlength="200" size="50"; } }
                p { label { (tr.t("Description")) br; textarea name="description" rows="3" cols="60" maxlength="2000" {} } }
                p { button { (tr.t("Record")) } }
            }
        }
    };
    v.page(tr.t("Changes"), body).into_response()
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ChangeForm {
    csrf: String,
    key: String,
    title: String,
    description: String,
    changed_on: String,
}

carries_csrf!(ChangeForm);

async fn create_change(
    ConsoleManager(v, _): ConsoleManager<ChangeForms>,
    State(state): State<AppState>,
    Posted(f): Posted<ChangeForm>,
) -> Response {
    let tr = v.tr();
    let actor = v.actor();
    let done = state
        .run(move |s| {
            Ok(s.write(|c| -> Result<_, enishi_campaigns::Error> {
                match change_ops::create(c, &f.key, &f.title, &f.description, &f.changed_on) {
                    Ok(ch) => {
                        let after = serde_json::json!({"title": ch.title, "changed_on": ch.changed_on});
                        crate::audit::record(c, &actor, "change.create", &ch.key, Some(after))?;
                        Ok(Ok(ch))
                    }
                    Err(e) if e.is_users() => Ok(Err(e)),
                    Err(e) => Err(e),
                }
            })?)
        })
        .await;
    match done {
        Ok(Ok(ch)) => Redirect::to(&format!("/changes/{}", ch.id)).into_response(),
        Ok(Err(e)) => not_done(&v, "/changes", tr.t("Not saved"), &tr.message(&e.to_string())),
        Err(e) => e.into_response(),
    }
}

async fn change_page(ConsoleUser(v): ConsoleUser, State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else { return v.not_found() };
    let read = state
        .run(move |s| {
            Ok(s.read(|c| -> Result<_, enishi_store::StoreError> {
                let Some(change) = changes::get(c, id)? else { return Ok(None) };
                Ok(Some((change, changes::feedback(c, id)?)))
            })?)
        })
        .await;
    let (change, feedback) = match read {
        Ok(Some(found)) => found,
        Ok(None) => return v.not_found(),
        Err(e) => return e.into_response(),
    };
    let tr = v.tr();
    let manager = crate::auth::MANAGERS.contains(&v.role());
    let body = html! {
        h1 { (change.title) }
        section class="card" id="change" {
            p { (tr.t("Since")) " " strong { (change.changed_on) } " · " code { (change.key) } }
            @if !change.description.is_empty() { p { (change.description) } }
            p class="muted" { (tr.f("Tell these customers with a campaign to the segment {}.", &[&format!("raised(change: \"{}\")", change.key)])) }
        }
        h2 { (tr.t("Feedback")) " " span class="muted" { "(" (feedback.len()) ")" } }
        @if feedback.is_empty() { p class="muted" { (tr.t("No feedback linked yet.")) } }
        @else {
            (table(Some("feedback"), None, &[tr.t("Kind"), tr.t("Customer"), tr.t("What they said"), tr.t("When"), ""], html! {
                @for f in &feedback {
                    tr {
                        td {
                            @if f.kind == "interaction" { a href={ "/interactions/" (f.feedback_id) } { (tr.word(&f.kind)) } }
                            @else { (tr.word(&f.kind)) " " span class="muted" { "#" (f.feedback_id) } }
                        }
                        td { a href={ "/customers/" (f.customer_id) } { (f.customer.as_deref().unwrap_or("—")) } }
                        td { (f.text.as_deref().unwrap_or("")) }
                        td { (f.at.map(|t| v.day(t)).unwrap_or_default()) }
                        td {
                            @if manager {
                                form method="post" action="/changes/unlink" class="inline" {
                                    input type="hidden" name="csrf" value=(v.csrf);
                                    input type="hidden" name="change" value=(change.key);
                                    input type="hidden" name="kind" value=(f.kind);
                                    input type="hidden" name="id" value=(f.feedback_id);
                                    button id={ "unlink-" (f.kind) "-" (f.feedback_id) } { (tr.t("Unlink")) }
                                }
                            }
                        }
                    }
                }
            }))
        }
        h2 { (tr.t("Link feedback")) }
        form method="post" action="/changes/link" class="card" id="link-feedback" {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name="change" value=(change.key);
            label {
                (tr.t("Kind")) " "
                select name="kind" { @for k in FEEDBACK_KINDS { option value=(k) { (tr.word(k)) } } }
            } " "
            label { (tr.t("Id")) " " input name="id" required inputmode="numeric" size="8"; } " "
            button { (tr.t("Link")) }
            p class="muted" { (tr.t("An interaction's id is in its address; a survey answer is named by its invitation's id; a review by its id.")) }
        }
    };
    v.page(&change.title, body).into_response()
}

/// The form on an interaction's page that links it to a change.
pub(crate) fn link_form(v: &Visitor, kind: &str, id: i64, list: &[Change]) -> Markup {
    let tr = v.tr();
    html! {
        @if !list.is_empty() {
            form method="post" action="/changes/link" class="card" id="link-change" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="kind" value=(kind);
                input type="hidden" name="id" value=(id);
                input type="hidden" name="back" value="item";
                label {
                    (tr.t("Answered by a change")) " "
                    select name="change" { @for ch in list { option value=(ch.key) { (ch.title) } } }
                } " "
                button { (tr.t("Link")) }
            }
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct LinkForm {
    csrf: String,
    change: String,
    kind: String,
    id: String,
    back: String,
}

carries_csrf!(LinkForm);

async fn link(ConsoleUser(v): ConsoleUser, State(state): State<AppState>, Posted(f): Posted<LinkForm>) -> Response {
    let tr = v.tr();
    let title = tr.t("Not linked");
    let Ok(id) = f.id.trim().parse::<i64>() else {
        return not_done(&v, "/changes", title, tr.t("Give the feedback's id as a number."));
    };
    let (key, kind) = (f.change.clone(), f.kind.clone());
    let done = state
        .run(move |s| {
            Ok(s.write(|c| -> Result<_, enishi_campaigns::Error> {
                match change_ops::link(c, &key, &kind, id) {
                    Ok(_) => Ok(Ok(change_ops::find(c, &key)?)),
                    Err(e) if e.is_users() => Ok(Err(e)),
                    Err(e) => Err(e),
                }
            })?)
        })
        .await;
    match done {
        Ok(Ok(_)) if f.back == "item" && f.kind == "interaction" => {
            Redirect::to(&format!("/interactions/{id}?linked=1")).into_response()
        }
        Ok(Ok(ch)) => Redirect::to(&format!("/changes/{}?done=1", ch.id)).into_response(),
        Ok(Err(e)) => not_done(&v, "/changes", title, &tr.message(&e.to_string())),
        Err(e) => e.into_response(),
    }
}

async fn unlink(
    ConsoleManager(v, _): ConsoleManager<ChangeForms>,
    State(state): State<AppState>,
    Posted(f): Posted<LinkForm>,
) -> Response {
    let tr = v.tr();
    let Ok(id) = f.id.trim().parse::<i64>() else {
        return not_done(&v, "/changes", tr.t("Not saved"), tr.t("Give the feedback's id as a number."));
    };
    let done = state
        .run(move |s| {
            Ok(s.write(|c| -> Result<_, enishi_campaigns::Error> {
                match change_ops::unlink(c, &f.change, &f.kind, id) {
                    Ok(()) => Ok(Ok(change_ops::find(c, &f.change)?)),
                    Err(e) if e.is_users() => Ok(Err(e)),
                    Err(e) => Err(e),
                }
            })?)
        })
        .await;
    match done {
        Ok(Ok(ch)) => Redirect::to(&format!("/changes/{}?done=1", ch.id)).into_response(),
        Ok(Err(e)) => not_done(&v, "/changes", tr.t("Not saved"), &tr.message(&e.to_string())),
        Err(e) => e.into_response(),
    }
}
