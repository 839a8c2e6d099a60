//! Reviews and ratings (docs/listening.md): after a purchase a customer is invited to give
//! stars (1–5) and words about a product of the order, or about the order as a whole. The
//! invitation's signed link that expires ([`crate::links`]) opens a public page in the
//! customer's language, where the review is written once. A review shows only once a
//! moderator approved it; a product's rating is the average and count of its approved reviews.

use crate::links::{self, Purpose, Refused};
use crate::template::Language;
use crate::unsubscribe::{public_url, signing_key};
use crate::Error;
use enishi_store::repo::reviews::{self as repo, Rating, Review};
use enishi_store::repo::{customers, orders, settings};
use enishi_store::Conn;

/// Setting: days a review invitation's link is valid (default [`DEFAULT_VALID_DAYS`]).
pub const VALID_DAYS: &str = "review_valid_days";
/// A month.
pub const DEFAULT_VALID_DAYS: i64 = 30;
/// The longest review, in characters.
pub const MAX_BODY_CHARS: usize = 2_000;
/// Setting: `on` to invite, in the scheduler's daily work, the customer of each new order to
/// review the order (unset or anything else: off).
pub const AFTER_ORDER: &str = "review_after_order";
/// The statuses a moderator sets.
pub const MODERATED: [&str; 3] = [repo::APPROVED, repo::REJECTED, repo::PENDING];

fn expiry(c: &mut dyn Conn, now: i64) -> Result<i64, Error> {
    let days = settings::days(c, VALID_DAYS, DEFAULT_VALID_DAYS)?;
    Ok(now.saturating_add(days.saturating_mul(86_400)))
}

/// Invites the customer of the shop's order `order_ref` to review product `sku` of it (a SKU
/// on the order), or the order as a whole when `sku` is `None`, at `now`, with whether the
/// invitation is new. Inviting again gives the same review (its link renewed while it is not
/// written).
pub fn invite(c: &mut dyn Conn, order_ref: &str, sku: Option<&str>, now: i64) -> Result<(Review, bool), Error> {
    let order = orders::get_by_ref(c, order_ref.trim())?
        .ok_or_else(|| Error::NotFound(format!("there is no order \"{}\"", order_ref.trim())))?;
    let sku = sku.map(str::trim).filter(|s| !s.is_empty());
    if let Some(sku) = sku {
        if !order.lines.iter().any(|l| l.sku == sku) {
            return Err(Error::Invalid(format!("sku: '{sku}' is not on order {}", order.order_id)));
        }
    }
    let expires = expiry(c, now)?;
    repo::invite(c, order.id, sku.unwrap_or(""), expires)?
        .ok_or_else(|| Error::NotFound(format!("there is no order \"{}\"", order.order_id)))
}

/// Invites the customer of each order placed at or after `since` (Unix seconds) to review the
/// order as a whole, once per order; returns how many it invited.
pub fn invite_since(c: &mut dyn Conn, since: i64, now: i64) -> Result<u64, Error> {
    let expires = expiry(c, now)?;
    Ok(repo::invite_since(c, since, expires)?)
}

/// Runs the after-order rule for orders placed at or after `since` (Unix seconds): when the
/// [`AFTER_ORDER`] setting is `on`, the customer of each order is invited to review it as a
/// whole, once per order; returns how many it invited.
pub fn after_order_rule(c: &mut dyn Conn, since: i64, now: i64) -> Result<u64, Error> {
    match settings::get(c, AFTER_ORDER)?.as_deref().map(str::trim) {
        Some("on") => invite_since(c, since, now),
        _ => Ok(0),
    }
}

/// The link to a review's page.
pub fn link(c: &mut dyn Conn, review: &Review) -> Result<String, Error> {
    let (base, key) = (public_url(c)?, signing_key(c)?);
    Ok(links::url(&base, &key, Purpose::Review, review.id, review.expires_at.timestamp()))
}

/// The link to the customer's newest review invitation not written nor expired at `now`;
/// empty when there is none (the `review_url` merge field).
pub fn review_url(c: &mut dyn Conn, customer_id: i64, now: i64) -> Result<String, Error> {
    match repo::open_invitation(c, customer_id, now)? {
        Some(r) => link(c, &r),
        None => Ok(String::new()),
    }
}

/// What a review page shows.
#[derive(Debug, Clone)]
pub struct Page {
    /// The review (written or not).
    pub review: Review,
    /// The customer's language.
    pub language: Language,
}

/// The page a token opens at `now`, or why it is refused.
pub fn open(c: &mut dyn Conn, token: &str, now: i64) -> Result<Result<Page, Refused>, Error> {
    let key = signing_key(c)?;
    let id = match links::verify(&key, Purpose::Review, token, now) {
        Ok(id) => id,
        Err(r) => return Ok(Err(r)),
    };
    let Some(review) = repo::get(c, id)? else { return Ok(Err(Refused::Invalid)) };
    let locale = customers::get(c, review.customer_id)?.and_then(|k| k.locale);
    Ok(Ok(Page { review, language: Language::of(locale.as_deref().unwrap_or("en")) }))
}

/// A review as the page's form sent it.
#[derive(Debug, Clone, Default)]
pub struct Form {
    /// The stars, as sent.
    pub stars: Option<String>,
    /// The words.
    pub body: Option<String>,
}

/// Which field of a review is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrong {
    /// The stars are missing or not 1–5.
    Stars,
    /// The text is too long or holds control characters.
    Body,
}

/// Checks a review: 1–5 stars, and words of at most [`MAX_BODY_CHARS`] without control
/// characters other than line breaks and tabs (blank words are none).
pub fn check(f: &Form) -> Result<(i64, Option<String>), Wrong> {
    let body = match f.body.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) if t.chars().count() > MAX_BODY_CHARS => return Err(Wrong::Body),
        Some(t) if t.chars().any(|ch| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t')) => return Err(Wrong::Body),
        Some(t) => Some(t.to_string()),
    };
    let stars = f
        .stars
        .as_deref()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|s| (1..=5).contains(s))
        .ok_or(Wrong::Stars)?;
    Ok((stars, body))
}

/// What submitting a review did.
#[derive(Debug, Clone)]
pub enum Submitted {
    /// The link is refused.
    Refused(Refused),
    /// The review is wrong; nothing was stored.
    Wrong(Page, Wrong),
    /// Recorded, waiting for a moderator (the page holds it).
    Recorded(Page),
    /// The review was written already, and stands (the page holds it).
    AlreadyWritten(Page),
}

/// Records the review `f` for the invitation of `token` at `now`, once.
pub fn submit(c: &mut dyn Conn, token: &str, f: &Form, now: i64) -> Result<Submitted, Error> {
    let page = match open(c, token, now)? {
        Ok(p) => p,
        Err(r) => return Ok(Submitted::Refused(r)),
    };
    if page.review.status != repo::INVITED {
        return Ok(Submitted::AlreadyWritten(page));
    }
    let (stars, body) = match check(f) {
        Ok(v) => v,
        Err(w) => return Ok(Submitted::Wrong(page, w)),
    };
    let id = page.review.id;
    let recorded = repo::submit(c, id, stars, body.as_deref())?;
    let review = repo::get(c, id)?.ok_or_else(|| Error::NotFound(format!("review {id}")))?;
    let page = Page { review, ..page };
    Ok(if recorded { Submitted::Recorded(page) } else { Submitted::AlreadyWritten(page) })
}

/// Sets review `id`'s status — `approved`, `rejected`, or back to `pending` — by `by` (a
/// user's sign-in email, or the API token as the audit log names it). A review not written yet
/// cannot be moderated.
pub fn moderate(c: &mut dyn Conn, id: i64, status: &str, by: &str) -> Result<Review, Error> {
    if !MODERATED.contains(&status) {
        return Err(Error::Invalid(format!("status: '{status}' is not approved, rejected or pending")));
    }
    let review = repo::get(c, id)?.ok_or_else(|| Error::NotFound(format!("there is no review {id}")))?;
    if review.status == repo::INVITED {
        return Err(Error::State(format!("review {id} is not written yet")));
    }
    repo::moderate(c, id, status, by)?;
    repo::get(c, id)?.ok_or_else(|| Error::NotFound(format!("there is no review {id}")))
}

/// The ratings of `skus` (approved reviews only), in their order.
pub fn ratings(c: &mut dyn Conn, skus: &[String]) -> Result<Vec<Rating>, Error> {
    Ok(repo::ratings(c, skus)?)
}

/// A rating as a template shows it: `4.5`, or empty without reviews.
pub fn shown(r: &Rating) -> String {
    r.average.map(|a| format!("{a:.1}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviews_are_checked() {
        let f = |stars: &str, body: &str| Form { stars: Some(stars.into()), body: Some(body.into()) };
        assert_eq!(check(&f("5", " good ")), Ok((5, Some("good".into()))));
        assert_eq!(check(&f("1", "  ")), Ok((1, None)));
        for bad in ["0", "6", "-1", "4.5", "", "five"] {
            assert_eq!(check(&f(bad, "")), Err(Wrong::Stars), "{bad}");
        }
        assert_eq!(check(&Form { stars: None, body: None }), Err(Wrong::Stars));
        assert_eq!(check(&f("3", &"x".repeat(MAX_BODY_CHARS + 1))), Err(Wrong::Body));
        assert_eq!(check(&f("3", "a\0b")), Err(Wrong::Body));
        assert!(check(&f("3", "line\nline")).is_ok());
    }

    #[test]
    fn a_rating_is_shown_to_one_decimal_or_not_at_all() {
        assert_eq!(shown(&Rating { sku: "A".into(), count: 3, average: Some(4.0) }), "4.0");
        assert_eq!(shown(&Rating { sku: "A".into(), count: 0, average: None }), "");
    }
}
