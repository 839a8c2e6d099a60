//! The till's first screen (`/till`, where staff land after signing in): one search box for a
//! phone number, a name or its reading, a member or referral code, or a member card's QR code
//! scanned into it. One match opens the customer — their points, stamps, coupons and open
//! issue under the sale form — and several are listed by name, reading and member code only,
//! at most [`STAFF_RESULTS`], with no further pages: a till finds the customer in front of it
//! and never browses the customer base.

use crate::access::{customer_query_for, STAFF_RESULTS, STAFF_SEARCHES_PER_MINUTE};
use crate::console::i18n::Tr;
use crate::console::shell::ConsoleUser;
use crate::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use enishi_core::Role;
use enishi_store::repo::customers::{self, CustomerQuery};
use enishi_store::Customer;
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/till", get(till_home))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TillQuery {
    q: String,
}

/// What a search found.
enum Found {
    /// A member card's QR code, or exactly one customer: open them.
    One(i64),
    /// Several customers (at most [`STAFF_RESULTS`]).
    Some(Vec<Customer>),
    /// A member card link that is not one of this shop's (or its customer is gone).
    NotACard,
}

/// The search box, focused, so that a scanner's keystrokes land in it.
fn search_box(tr: Tr, term: &str) -> Markup {
    html! {
        form method="get" action="/till" role="search" class="card till-search" id="till-search" {
            label for="till-q" { (tr.t("Phone, name, reading, member code or card")) }
            div class="row" {
                input id="till-q" name="q" type="search" value=(term) autofocus autocomplete="off"
                    enterkeyhint="search" placeholder=(tr.t("090-1234-5678, ヤマダ, C-1024 or scan"));
                button { (tr.t("Find")) }
            }
        }
    }
}

/// The last four digits of a phone number, for telling two namesakes apart without showing
/// the number.
fn phone_tail(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

async fn till_home(ConsoleUser(v): ConsoleUser, State(state): State<AppState>, Query(q): Query<TillQuery>) -> Response {
    let tr = v.tr();
    let term = q.q.trim().to_string();
    let page = |body: Markup| v.page(tr.t("Till"), html! { h1 { (tr.t("Till")) } (search_box(tr, &term)) (body) });
    if term.is_empty() {
        return page(html! { p class="muted" { (tr.t("Type or scan, then Find. One match opens the customer.")) } })
            .into_response();
    }
    let mut query = CustomerQuery { text: Some(term.clone()), limit: STAFF_RESULTS, ..CustomerQuery::default() };
    let searchable = customer_query_for(v.role(), &mut query).is_ok();
    query.limit = query.limit.min(STAFF_RESULTS);
    let card = term.contains(enishi_campaigns::links::Purpose::MyPage.path());
    if v.role() == Role::Staff && (searchable || card) {
        if let Err(e) = state.searches.check(&format!("user:{}", v.user.id), STAFF_SEARCHES_PER_MINUTE) {
            return e.into_response();
        }
    }
    if !searchable && !card {
        return page(html! {
            p role="alert" id="till-hint" {
                (tr.t("Type two characters or more of a name, or a phone number, member code or card."))
            }
        })
        .into_response();
    }
    let scanned = term.clone();
    let found = state
        .run(move |s| {
            Ok(s.read(|c| -> Result<Found, enishi_campaigns::Error> {
                if card {
                    return Ok(enishi_campaigns::my_page::card_holder(c, &scanned)?
                        .map_or(Found::NotACard, |k| Found::One(k.id)));
                }
                let mut list = customers::search(c, &query)?.items;
                list.truncate(STAFF_RESULTS as usize);
                Ok(if list.len() == 1 { Found::One(list[0].id) } else { Found::Some(list) })
            })?)
        })
        .await;
    match found {
        Ok(Found::One(id)) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Ok(Found::NotACard) => page(html! {
            p role="alert" id="till-hint" { (tr.t("This card is not one of this shop's. Search by name or phone instead.")) }
        })
        .into_response(),
        Ok(Found::Some(list)) => page(html! {
            @if list.is_empty() {
                p role="alert" id="till-hint" { (tr.f("No customer matches “{}”.", &[&term])) }
                p { a href="/customers/new" class="button" id="till-enrol" { (tr.t("Enrol a customer")) } }
            } @else {
                p class="muted" { (tr.f("{} customers match; choose one.", &[&list.len()])) }
                ul class="hits" id="till-results" {
                    @for k in &list {
                        li {
                            a href={ "/customers/" (k.id) } {
                                strong { (k.name.as_deref().unwrap_or(&k.external_id)) }
                                @if let Some(f) = &k.furigana { " " span class="muted" lang="ja" { (f) } }
                                br;
                                span class="muted" {
                                    (tr.f("Member code {}", &[&k.external_id]))
                                    @if let Some(p) = &k.phone { " · " (tr.f("phone {}", &[&phone_tail(p)])) }
                                }
                            }
                        }
                    }
                }
            }
        })
        .into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::phone_tail;

    #[test]
    fn only_the_last_four_digits_of_a_phone_are_shown() {
        assert_eq!(phone_tail("+819012345678"), "…5678");
        assert_eq!(phone_tail("123"), "…123");
    }
}
