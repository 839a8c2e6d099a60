//! Closing the loop (docs/listening.md): the business records a change it made ("delivery now
//! within 3 days") under a short key, and links to it the feedback it answers — interactions,
//! survey answers and reviews. The customers who raised that feedback are the segment
//! `raised(change: "KEY")`, to be told with a campaign, whose message may name the change as
//! `{{ change.title }}`.

use crate::Error;
use chrono::NaiveDate;
use enishi_store::repo::changes::{self as repo, Change, Linked, FEEDBACK_KINDS};
use enishi_store::Conn;

/// The longest key, in characters.
pub const MAX_KEY_CHARS: usize = 64;

fn invalid(field: &str, why: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{field}: {why}"))
}

/// Checks a change's key: 1–64 lowercase letters, digits and `-`, `_`, `.`.
pub fn check_key(key: &str) -> Result<String, Error> {
    let key = key.trim();
    let ok = !key.is_empty()
        && key.chars().count() <= MAX_KEY_CHARS
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(key.to_string())
    } else {
        Err(invalid("key", format!("'{key}' is not a key: 1 to 64 of a–z, 0–9, '-', '_' and '.'")))
    }
}

fn check_text(field: &str, text: &str, max: usize, required: bool) -> Result<String, Error> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(invalid(field, "is empty"));
    }
    if text.chars().count() > max {
        return Err(invalid(field, format!("is longer than {max} characters")));
    }
    if text.chars().any(|c| c.is_control() && !(field == "description" && matches!(c, '\n' | '\r' | '\t'))) {
        return Err(invalid(field, "holds control characters"));
    }
    Ok(text.to_string())
}

/// Records a change: a key ([`check_key`]), a title of 1–200 characters, a description of up
/// to 2,000, and the day it took effect (`YYYY-MM-DD`).
pub fn create(c: &mut dyn Conn, key: &str, title: &str, description: &str, changed_on: &str) -> Result<Change, Error> {
    let key = check_key(key)?;
    let title = check_text("title", title, 200, true)?;
    let description = check_text("description", description, 2_000, false)?;
    let day = NaiveDate::parse_from_str(changed_on.trim(), "%Y-%m-%d")
        .map_err(|_| invalid("changed_on", format!("'{}' is not a date such as 2026-12-01", changed_on.trim())))?;
    repo::create(c, &key, &title, &description, &day.format("%Y-%m-%d").to_string())?
        .ok_or_else(|| Error::State(format!("a change with the key \"{key}\" exists already")))
}

/// The change with key `key`.
pub fn find(c: &mut dyn Conn, key: &str) -> Result<Change, Error> {
    repo::by_key(c, key.trim())?.ok_or_else(|| Error::NotFound(format!("there is no change \"{}\"", key.trim())))
}

/// Checks a kind of feedback (one of [`FEEDBACK_KINDS`]).
pub fn check_kind(kind: &str) -> Result<&'static str, Error> {
    let kind = kind.trim();
    FEEDBACK_KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .ok_or_else(|| invalid("kind", format!("'{kind}' is not interaction, survey or review")))
}

/// Links feedback `kind` `id` to the change with key `key`; `true` when it was linked now,
/// `false` when it was already. Survey answers are named by their invitation's id, and only
/// answered ones and written reviews are feedback.
pub fn link(c: &mut dyn Conn, key: &str, kind: &str, id: i64) -> Result<bool, Error> {
    let kind = check_kind(kind)?;
    let change = find(c, key)?;
    match repo::link(c, change.id, kind, id)? {
        Linked::Linked => Ok(true),
        Linked::Already => Ok(false),
        Linked::NoFeedback => Err(Error::NotFound(format!("there is no {kind} {id} to link"))),
    }
}

/// Removes the link of feedback `kind` `id` to the change with key `key`.
pub fn unlink(c: &mut dyn Conn, key: &str, kind: &str, id: i64) -> Result<(), Error> {
    let kind = check_kind(kind)?;
    let change = find(c, key)?;
    if repo::unlink(c, change.id, kind, id)? {
        Ok(())
    } else {
        Err(Error::NotFound(format!("{kind} {id} is not linked to \"{}\"", change.key)))
    }
}

/// The `change.title` merge field of a customer: the title of the latest change (by the day
/// it took effect) linked to feedback they gave; empty without one.
pub fn title_for(c: &mut dyn Conn, customer_id: i64) -> Result<String, Error> {
    Ok(repo::of_customer(c, customer_id)?.into_iter().next().map(|ch| ch.title).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_lowercase_words() {
        assert_eq!(check_key(" delivery-3-days ").unwrap(), "delivery-3-days");
        for bad in ["", "Delivery", "a b", "<script>", "x\0", &"a".repeat(65)] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}
