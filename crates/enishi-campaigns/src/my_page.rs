//! The customer's own page (docs/listening.md): a signed link ([`crate::links`]) — printed on
//! a receipt or a card as a QR code, or put in a message as `my_page_url` — to a page where
//! the customer sees their points and changes their contact preferences, without a password.
//! The link expires after the `my_page_valid_days` setting (default a year).

use crate::links::{self, Purpose, Refused};
use crate::template::Language;
use crate::unsubscribe::{public_url, signing_key};
use crate::Error;
use enishi_core::{ConsentChannel, ConsentStatus};
use enishi_store::repo::{customers, settings};
use enishi_store::{Conn, ConsentChange, Customer};

/// Setting: days a customer page link is valid (default [`DEFAULT_VALID_DAYS`]).
pub const VALID_DAYS: &str = "my_page_valid_days";
/// A year.
pub const DEFAULT_VALID_DAYS: i64 = 365;
/// The source a change made on the page is recorded with.
pub const SOURCE: &str = "customer page";

/// The customer page link of `customer_id`, made at `now`.
pub fn link(c: &mut dyn Conn, customer_id: i64, now: i64) -> Result<String, Error> {
    let days = settings::days(c, VALID_DAYS, DEFAULT_VALID_DAYS)?;
    let (base, key) = (public_url(c)?, signing_key(c)?);
    let expires = now.saturating_add(days.saturating_mul(86_400));
    Ok(links::url(&base, &key, Purpose::MyPage, customer_id, expires))
}

/// Whose page a token opens at `now`, in their language; or why it is refused (also for a
/// customer erased or merged away since).
pub fn open(c: &mut dyn Conn, token: &str, now: i64) -> Result<Result<(Customer, Language), Refused>, Error> {
    let key = signing_key(c)?;
    let id = match links::verify(&key, Purpose::MyPage, token, now) {
        Ok(id) => id,
        Err(r) => return Ok(Err(r)),
    };
    match customers::get(c, id)? {
        Some(k) if !k.external_id.starts_with("erased:") => {
            let language = Language::of(k.locale.as_deref().unwrap_or("en"));
            Ok(Ok((k, language)))
        }
        _ => Ok(Err(Refused::Invalid)),
    }
}

/// Whether the customer has opted in to `channel`.
pub fn opted_in(k: &Customer, channel: ConsentChannel) -> bool {
    k.consents.iter().any(|x| x.channel == channel && x.status == ConsentStatus::OptedIn)
}

/// Sets the customer's consent per channel as the page's form says (`wanted` lists the
/// channels they want; every other is opted out), recording each change with the source
/// [`SOURCE`]; a channel already as wanted is left alone. Returns how many changed.
pub fn set_preferences(c: &mut dyn Conn, k: &Customer, wanted: &[ConsentChannel]) -> Result<u64, Error> {
    let mut changed = 0;
    for channel in ConsentChannel::ALL {
        let want = wanted.contains(channel);
        let current = k.consents.iter().find(|x| x.channel == *channel).map(|x| x.status);
        let status = if want { ConsentStatus::OptedIn } else { ConsentStatus::OptedOut };
        // Unknown stays unknown unless the customer asks for the channel.
        if current == Some(status) || (!want && current.is_none_or(|s| s == ConsentStatus::Unknown)) {
            continue;
        }
        let change = ConsentChange { channel: *channel, status, at: None, source: SOURCE.into() };
        customers::set_consent(c, k.id, &change)?;
        changed += 1;
    }
    Ok(changed)
}
