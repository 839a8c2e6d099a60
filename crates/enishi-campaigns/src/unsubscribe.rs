//! Signed unsubscribe links: `/u/{customer}.{campaign}.{signature}`, where the signature is an
//! HMAC-SHA256 of both ids under the workspace's signing key. Nobody can unsubscribe someone
//! else by changing a number; the link needs no login and does not expire.

use crate::Error;
use enishi_store::repo::settings;
use enishi_store::Conn;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Settings key of the workspace's signing key (hex, made on first use).
pub const SIGNING_KEY: &str = "campaign_signing_key";
/// Settings key of the public address the links start with (`https://shop.example`).
pub const PUBLIC_URL: &str = "public_url";

/// The signing key, made and stored on first use.
pub fn signing_key(c: &mut dyn Conn) -> Result<Vec<u8>, Error> {
    if let Some(k) = settings::get(c, SIGNING_KEY)? {
        if let Ok(bytes) = hex::decode(k.trim()) {
            if bytes.len() >= 32 {
                return Ok(bytes);
            }
        }
    }
    let key: [u8; 32] = rand::random();
    settings::set(c, SIGNING_KEY, &hex::encode(key))?;
    Ok(key.to_vec())
}

fn signature(key: &[u8], customer_id: i64, campaign_id: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("unsubscribe:{customer_id}:{campaign_id}").as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// The token of a customer's link for a campaign.
pub fn token(key: &[u8], customer_id: i64, campaign_id: i64) -> String {
    format!("{customer_id}.{campaign_id}.{}", signature(key, customer_id, campaign_id))
}

/// The customer and campaign of a token whose signature is right; `None` for anything else.
pub fn verify(key: &[u8], token: &str) -> Option<(i64, i64)> {
    let mut parts = token.split('.');
    let customer: i64 = parts.next()?.parse().ok()?;
    let campaign: i64 = parts.next()?.parse().ok()?;
    let sig = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(format!("unsubscribe:{customer}:{campaign}").as_bytes());
    let given = hex::decode(sig).ok()?;
    // Compared in constant time by the MAC itself.
    mac.verify_truncated_left(&given).ok()?;
    (given.len() == 16).then_some((customer, campaign))
}

/// The public address links start with (no trailing slash).
pub fn public_url(c: &mut dyn Conn) -> Result<String, Error> {
    Ok(settings::get(c, PUBLIC_URL)?
        .unwrap_or_else(|| "http://127.0.0.1:8080".into())
        .trim_end_matches('/')
        .to_string())
}

/// The unsubscribe page of a customer for a campaign.
pub fn link(base: &str, key: &[u8], customer_id: i64, campaign_id: i64) -> String {
    format!("{base}/u/{}", token(key, customer_id, campaign_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_and_a_changed_one_does_not() {
        let key = [7u8; 32];
        let t = token(&key, 42, 3);
        assert_eq!(verify(&key, &t), Some((42, 3)));
        let sig = t.rsplit('.').next().unwrap();
        assert_eq!(verify(&key, &format!("43.3.{sig}")), None);
        assert_eq!(verify(&key, &format!("42.4.{sig}")), None);
        assert_eq!(verify(&[8u8; 32], &t), None);
        assert_eq!(verify(&key, &format!("{t}.x")), None);
        assert_eq!(verify(&key, &t[..t.len() - 2]), None);
        assert_eq!(verify(&key, "x.y.z"), None);
    }
}

/// Whom a valid link is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// Customer.
    pub customer_id: i64,
    /// The campaign's name.
    pub campaign: String,
    /// The consent channel the link withdraws.
    pub consent: &'static str,
    /// The customer's language for the page (`ja`, `en`).
    pub language: &'static str,
    /// Whether the customer has opted out of that channel already.
    pub opted_out: bool,
}

/// Whom the token is for; `None` for a token that is tampered with or names nothing.
pub fn subscriber(c: &mut dyn Conn, token: &str) -> Result<Option<Subscriber>, Error> {
    let key = signing_key(c)?;
    let Some((customer_id, campaign_id)) = verify(&key, token) else { return Ok(None) };
    let (Some(customer), Some(campaign)) =
        (enishi_store::repo::customers::get(c, customer_id)?, enishi_store::repo::campaigns::get(c, campaign_id)?)
    else {
        return Ok(None);
    };
    // The consent the campaign needed (a webhook campaign names its own).
    let consent = crate::Definition::parse(&campaign.definition)?
        .consent()
        .parse::<enishi_core::ConsentChannel>()
        .map_err(|e| Error::Invalid(e.to_string()))?
        .as_str();
    let opted_out = customer
        .consents
        .iter()
        .any(|x| x.channel.as_str() == consent && x.status == enishi_core::ConsentStatus::OptedOut);
    let language = crate::template::Language::of(customer.locale.as_deref().unwrap_or("en")).tag();
    Ok(Some(Subscriber { customer_id, campaign: campaign.name, consent, language, opted_out }))
}

/// The consent source an unsubscribe through `campaign`'s link records.
pub fn source(campaign: &str) -> String {
    format!("unsubscribe link: {campaign}")
}

/// Withdraws the consent the link is for (recorded with the campaign as its source); `None`
/// for a bad token. Doing it twice changes nothing more.
pub fn unsubscribe(c: &mut dyn Conn, token: &str) -> Result<Option<Subscriber>, Error> {
    let Some(s) = subscriber(c, token)? else { return Ok(None) };
    if !s.opted_out {
        let channel = s.consent.parse().map_err(|e: enishi_core::ParseError| Error::Invalid(e.to_string()))?;
        let change = enishi_store::ConsentChange {
            channel,
            status: enishi_core::ConsentStatus::OptedOut,
            at: None,
            source: source(&s.campaign),
        };
        enishi_store::repo::customers::set_consent(c, s.customer_id, &change)?;
    }
    Ok(Some(Subscriber { opted_out: true, ..s }))
}
