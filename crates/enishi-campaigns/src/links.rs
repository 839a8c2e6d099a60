//! Signed, expiring links to the customer's public pages: `{id}.{expires}.{signature}`, where
//! the signature is an HMAC-SHA256 of the page's purpose, the id and the expiry (Unix
//! seconds) under the workspace's signing key ([`crate::unsubscribe::signing_key`]). Changing
//! any part breaks the signature; a link past its expiry is refused even when its signature
//! is right.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a link opens (signed into the token, so a survey token never opens a customer page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// One survey invitation (`/s/…`); the id is the invitation's.
    Survey,
    /// The customer's own page (`/me/…`); the id is the customer's.
    MyPage,
    /// One review to write (`/r/…`); the id is the review's.
    Review,
    /// The confirmation of a sign-up on the join page (`/join/confirm/…`); the id is the
    /// sign-up's.
    Join,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Survey => "survey",
            Purpose::MyPage => "my-page",
            Purpose::Review => "review",
            Purpose::Join => "join",
        }
    }

    /// The path the page is served under.
    pub fn path(self) -> &'static str {
        match self {
            Purpose::Survey => "/s/",
            Purpose::MyPage => "/me/",
            Purpose::Review => "/r/",
            Purpose::Join => "/join/confirm/",
        }
    }
}

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a token, or one whose signature does not match (changed, or made with another key).
    Invalid,
    /// A right token past its expiry.
    Expired,
}

fn mac(key: &[u8], purpose: Purpose, id: i64, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{}:{id}:{expires}", purpose.label()).as_bytes());
    mac
}

/// The token for `id`, valid until `expires` (Unix seconds).
pub fn token(key: &[u8], purpose: Purpose, id: i64, expires: i64) -> String {
    let sig = mac(key, purpose, id, expires).finalize().into_bytes();
    format!("{id}.{expires}.{}", hex::encode(&sig[..16]))
}

/// The id a token names, if its signature is right and it has not expired at `now`.
pub fn verify(key: &[u8], purpose: Purpose, token: &str, now: i64) -> Result<i64, Refused> {
    let mut parts = token.split('.');
    let (Some(id), Some(expires), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Refused::Invalid);
    };
    let (Ok(id), Ok(expires)) = (id.parse::<i64>(), expires.parse::<i64>()) else { return Err(Refused::Invalid) };
    let given = hex::decode(sig).map_err(|_| Refused::Invalid)?;
    if given.len() != 16 {
        return Err(Refused::Invalid);
    }
    // Compared in constant time by the MAC itself.
    mac(key, purpose, id, expires).verify_truncated_left(&given).map_err(|_| Refused::Invalid)?;
    if now >= expires {
        return Err(Refused::Expired);
    }
    Ok(id)
}

/// The id a token names if its signature is right, expired or not: a printed member card
/// outlives its link, and the till still knows whose card it is.
pub fn signed_id(key: &[u8], purpose: Purpose, token: &str) -> Option<i64> {
    // No expiry is before the earliest instant.
    verify(key, purpose, token, i64::MIN).ok()
}

/// The full address of a page: `{base}{path}{token}`.
pub fn url(base: &str, key: &[u8], purpose: Purpose, id: i64, expires: i64) -> String {
    format!("{base}{}{}", purpose.path(), token(key, purpose, id, expires))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_until_it_expires_and_a_changed_one_never() {
        let key = [7u8; 32];
        let t = token(&key, Purpose::Survey, 42, 1_000);
        assert_eq!(verify(&key, Purpose::Survey, &t, 999), Ok(42));
        assert_eq!(verify(&key, Purpose::Survey, &t, 1_000), Err(Refused::Expired));
        assert_eq!(verify(&key, Purpose::MyPage, &t, 0), Err(Refused::Invalid), "another page's token");
        assert_eq!(signed_id(&key, Purpose::Survey, &t), Some(42), "expired or not");
        assert_eq!(signed_id(&key, Purpose::MyPage, &t), None);
        assert_eq!(signed_id(&key, Purpose::Survey, &t[..t.len() - 1]), None);
        assert_eq!(verify(&key, Purpose::Review, &t, 0), Err(Refused::Invalid), "a survey token is no review's");
        assert_eq!(verify(&key, Purpose::Join, &t, 0), Err(Refused::Invalid), "nor a sign-up's");
        let sig = t.rsplit('.').next().unwrap();
        assert_eq!(verify(&key, Purpose::Survey, &format!("43.1000.{sig}"), 0), Err(Refused::Invalid));
        assert_eq!(verify(&key, Purpose::Survey, &format!("42.9999.{sig}"), 0), Err(Refused::Invalid), "extended");
        assert_eq!(verify(&[8u8; 32], Purpose::Survey, &t, 0), Err(Refused::Invalid));
        assert_eq!(verify(&key, Purpose::Survey, &format!("{t}.x"), 0), Err(Refused::Invalid));
        assert_eq!(verify(&key, Purpose::Survey, &t[..t.len() - 2], 0), Err(Refused::Invalid));
        assert_eq!(verify(&key, Purpose::Survey, "x.y.z", 0), Err(Refused::Invalid));
        assert_eq!(verify(&key, Purpose::Survey, "", 0), Err(Refused::Invalid));
    }
}
