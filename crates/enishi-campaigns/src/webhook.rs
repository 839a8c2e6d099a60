//! The webhook channel: each message is a signed JSON POST to the campaign's address, for a
//! receiver that passes it on by LINE, SMS or anything else (docs/campaigns.md, "Webhooks").
//!
//! The body names the customer (with the contact fields their consents allow), the rendered
//! subject and text, the campaign, the variant and an idempotency key. Two headers sign it:
//! `X-Enishi-Timestamp` (Unix seconds) and `X-Enishi-Signature: sha256=HEX`, the HMAC-SHA256
//! of `TIMESTAMP.BODY` under the campaign's secret, so a receiver can check that the message
//! is Enishi's and fresh (a replayed old request carries an old timestamp).
//!
//! Delivery is at least once, exactly once for a receiver that keeps the idempotency keys it
//! has seen: a message is claimed under a lease and recorded only after a 2xx; a timeout, a
//! lost connection, a 5xx, 408 or 429 puts it back with a doubling delay (the same key); a
//! sender killed mid-POST leaves the claim to run out, and the next sender posts it again
//! with the same key. Any other answer (4xx, 3xx) fails the message for good, with the status.

use crate::campaigns::{common, definition, load_template};
use crate::definition::{CouponOffer, Definition};
use crate::fields::{merge_fields, promotion_field, promotion_of_step, Common, Promotion};
use crate::pace::Pace;
use crate::sender::{Round, SendOptions};
use crate::template::{Compiled, Language};
use crate::{unsubscribe, Error};
use enishi_core::{BusinessClock, ConsentStatus, Currency};
use enishi_rewards::Programs;
use enishi_store::repo::campaigns::{self as repo, Claimed, Delivered};
use enishi_store::repo::{customers, settings};
use enishi_store::{Conn, Store};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Settings key of the signing secret used when a campaign names none.
pub const WEBHOOK_SECRET: &str = "webhook_secret";
/// The header with the signature.
pub const SIGNATURE_HEADER: &str = "X-Enishi-Signature";
/// The header with the time of signing (Unix seconds), part of what is signed.
pub const TIMESTAMP_HEADER: &str = "X-Enishi-Timestamp";
/// The header with the message's idempotency key (also in the body).
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Seconds a POST may take before it counts as a timeout (and is retried).
pub const TIMEOUT_SECONDS: u64 = 10;

/// The signature of `body` sent at `timestamp`: `sha256=` and the hex HMAC-SHA256 of
/// `TIMESTAMP.BODY` under `secret`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The idempotency key of one campaign's message to one customer (the same on every retry);
/// a journey step's message (`step`: the step and the occurrence) has one per occurrence.
pub fn idempotency_key(campaign_id: i64, customer_id: i64, step: &str) -> String {
    let key = format!("enishi-campaign-{campaign_id}-customer-{customer_id}");
    if step.is_empty() {
        return key;
    }
    let digest = <Sha256 as sha2::Digest>::digest(step.as_bytes());
    format!("{key}-step-{}", &hex::encode(digest)[..16])
}

/// Checks a signing secret: 16 characters or more.
pub fn check_secret(secret: &str) -> Result<(), Error> {
    if secret.trim().chars().count() < 16 {
        return Err(Error::Invalid("webhook secret: must be 16 characters or more".into()));
    }
    Ok(())
}

/// The secret a campaign signs with: its own, or the `webhook_secret` setting.
pub fn secret_of(c: &mut dyn Conn, d: &Definition) -> Result<String, Error> {
    match &d.webhook_secret {
        Some(s) => Ok(s.clone()),
        None => settings::get(c, WEBHOOK_SECRET)?.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            Error::Invalid(
                "webhook_secret: the campaign names no secret and none is set (enishi settings --webhook-secret)"
                    .into(),
            )
        }),
    }
}

/// The campaign a message belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignRef {
    /// Enishi's id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The mailing it is a version of.
    pub mailing: String,
    /// Version label.
    pub version: String,
}

/// The customer a message is for, with the contact fields their consents allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// Enishi's id.
    pub id: i64,
    /// The shop's id.
    pub external_id: String,
    /// Name.
    pub name: Option<String>,
    /// Language (`ja`, `en`).
    pub locale: Option<String>,
    /// Phone, when the customer opted in to `sms` or `phone`.
    pub phone: Option<String>,
    /// Email, when the customer opted in to `email`.
    pub email: Option<String>,
}

/// What was rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageText {
    /// Subject (a headline for channels without one).
    pub subject: String,
    /// Text body.
    pub text: String,
}

/// The JSON body of one webhook message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payload {
    /// The same on every retry of this message: a receiver that has seen it drops the repeat.
    pub idempotency_key: String,
    /// The campaign.
    pub campaign: CampaignRef,
    /// Variant key.
    pub variant: String,
    /// The journey step (none for a one-off campaign).
    pub step: Option<String>,
    /// The consent the message is sent under.
    pub consent: String,
    /// The customer.
    pub customer: Recipient,
    /// The message.
    pub message: MessageText,
}

/// The contact fields a customer's consents allow.
fn recipient(c: &mut dyn Conn, customer_id: i64) -> Result<Recipient, Error> {
    let k = customers::get(c, customer_id)?
        .ok_or_else(|| Error::NotFound(format!("customer {customer_id} does not exist")))?;
    let opted_in = |names: &[&str]| {
        k.consents.iter().any(|x| names.contains(&x.channel.as_str()) && x.status == ConsentStatus::OptedIn)
    };
    Ok(Recipient {
        id: k.id,
        external_id: k.external_id.clone(),
        name: k.name.clone(),
        locale: k.locale.clone(),
        phone: k.phone.clone().filter(|_| opted_in(&["sms", "phone"])),
        email: k.email.clone().filter(|_| opted_in(&["email"])),
    })
}

/// A campaign's variants, ready to render and post.
struct Prepared {
    campaign: CampaignRef,
    url: String,
    secret: String,
    consent: String,
    key: Vec<u8>,
    base_url: String,
    coupon: Option<CouponOffer>,
    variants: HashMap<String, (Compiled, Language, Common)>,
}

/// What became of one POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered,
    /// Try again later: a timeout, a lost connection, 5xx, 408, 429.
    Transient(String),
    /// Never again: any other status.
    Permanent(String),
}

/// Posts one signed body.
pub fn post(agent: &ureq::Agent, url: &str, secret: &str, key: &str, timestamp: i64, body: &[u8]) -> Outcome {
    let signature = sign(secret.as_bytes(), timestamp, body);
    let answer = agent
        .post(url)
        .set("Content-Type", "application/json")
        .set(TIMESTAMP_HEADER, &timestamp.to_string())
        .set(SIGNATURE_HEADER, &signature)
        .set(IDEMPOTENCY_HEADER, key)
        .send_bytes(body);
    match answer {
        Ok(r) if (200..300).contains(&r.status()) => Outcome::Delivered,
        Ok(r) => Outcome::Permanent(format!("HTTP {} {}", r.status(), r.status_text())),
        Err(ureq::Error::Status(code, r)) => {
            let said = format!("HTTP {code} {}", r.status_text());
            if code >= 500 || code == 408 || code == 429 {
                Outcome::Transient(said)
            } else {
                Outcome::Permanent(said)
            }
        }
        Err(ureq::Error::Transport(t)) => Outcome::Transient(format!("connection: {t}")),
    }
}

/// A sender of webhook campaigns' messages.
pub struct WebhookSender<'a> {
    store: &'a Store,
    options: SendOptions,
    calendar: BusinessClock,
    currency: Currency,
    agent: ureq::Agent,
    prepared: HashMap<i64, Prepared>,
    pace: Pace,
}

impl<'a> WebhookSender<'a> {
    /// A sender for `store`'s webhook campaigns (the options' `from` is not used).
    pub fn new(
        store: &'a Store,
        options: SendOptions,
        calendar: BusinessClock,
        currency: Currency,
    ) -> WebhookSender<'a> {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(TIMEOUT_SECONDS)).redirects(0).build();
        WebhookSender {
            store,
            options,
            calendar,
            currency,
            agent,
            prepared: HashMap::new(),
            pace: Pace::new("webhook", None),
        }
    }

    /// Starts scheduled campaigns whose time has come, then claims and posts one batch.
    /// Nothing is claimed in the quiet hours.
    pub fn round(&mut self) -> Result<Round, Error> {
        let mut round = Round::default();
        let calendar = self.calendar;
        self.store.write(|c| crate::campaigns::start_due(c, &calendar))?;
        let policy = self.store.read(crate::policy::Policy::load)?;
        if policy.is_quiet(&self.calendar, self.store.now()) {
            return Ok(round);
        }
        self.pace.refresh(self.store, self.options.rate_per_second)?;
        let (worker, lease, campaign) =
            (self.options.worker.clone(), self.options.lease_seconds, self.options.campaign);
        let batch = self.pace.batch(self.options.batch, lease);
        let claimed = self.store.write(|c| {
            let now = c.now();
            repo::claim(c, "webhook", campaign, &worker, now, now + lease, batch)
        })?;
        round.claimed = claimed.len();
        if claimed.is_empty() {
            return Ok(round);
        }
        let programs = self.store.read(|c| Programs::load(c, calendar))?;
        for (i, m) in claimed.iter().enumerate() {
            if let Err(e) = self.pace.wait(self.store, claimed.len() - i) {
                let worker = &self.options.worker;
                self.store.write(|c| {
                    for rest in &claimed[i..] {
                        repo::release(c, rest.campaign_id, rest.customer_id, worker)?;
                    }
                    Ok::<_, Error>(())
                })?;
                return Err(e);
            }
            let outcome = match self.deliver(m, &programs) {
                Ok((outcome, subject)) => (outcome, subject),
                Err(e) if e.is_users() => (Outcome::Permanent(e.to_string()), String::new()),
                Err(e) => (Outcome::Transient(e.to_string()), String::new()),
            };
            self.settle(m, outcome, &mut round)?;
        }
        self.store.write(|c| {
            let now = c.now();
            repo::finish_settled(c, now)
        })?;
        Ok(round)
    }

    fn settle(&mut self, m: &Claimed, (outcome, subject): (Outcome, String), round: &mut Round) -> Result<(), Error> {
        let name = self.prepared.get(&m.campaign_id).map(|p| p.campaign.name.clone()).unwrap_or_default();
        let (base, max) = (self.options.retry_seconds, self.options.max_attempts);
        self.store.write(|c| {
            let now = c.now();
            match &outcome {
                Outcome::Delivered => {
                    round.sent += 1;
                    let d = Delivered {
                        campaign_id: m.campaign_id,
                        campaign: &name,
                        customer_id: m.customer_id,
                        channel: "webhook",
                        arm: &m.arm,
                        subject: &subject,
                        at: now,
                        note: None,
                    };
                    repo::mark_sent(c, &d)
                }
                Outcome::Permanent(why) => {
                    round.failed += 1;
                    repo::mark_failed(c, m.campaign_id, m.customer_id, why)
                }
                Outcome::Transient(why) if m.attempts >= max => {
                    round.failed += 1;
                    let why = format!("gave up after {} attempts: {why}", m.attempts);
                    repo::mark_failed(c, m.campaign_id, m.customer_id, &why)
                }
                Outcome::Transient(why) => {
                    round.retried += 1;
                    let at = now.saturating_add(crate::sender::backoff(base, m.attempts));
                    repo::retry_later(c, m.campaign_id, m.customer_id, why, at)
                }
            }
        })?;
        Ok(())
    }

    fn prepare(&mut self, campaign_id: i64) -> Result<(), Error> {
        if self.prepared.contains_key(&campaign_id) {
            return Ok(());
        }
        let currency = self.currency;
        let p = self.store.write(|c| {
            let k = repo::get(c, campaign_id)?.ok_or_else(|| Error::NotFound(format!("campaign {campaign_id}")))?;
            let d = definition(&k)?;
            let url = d.webhook_url.clone().ok_or_else(|| Error::Invalid("webhook_url: missing".into()))?;
            let secret = secret_of(c, &d)?;
            let mut variants = HashMap::new();
            for v in &d.variants {
                let (compiled, language) = load_template(c, v.template.as_deref().unwrap_or_default(), currency)?;
                let shared = common(c, &k, &d, language)?;
                variants.insert(v.key.clone(), (compiled, language, shared));
            }
            Ok::<_, Error>(Prepared {
                campaign: CampaignRef {
                    id: k.id,
                    name: k.name.clone(),
                    mailing: k.mailing.clone(),
                    version: k.version,
                },
                url,
                secret,
                consent: d.consent().to_string(),
                key: unsubscribe::signing_key(c)?,
                base_url: unsubscribe::public_url(c)?,
                coupon: d.coupon.clone(),
                variants,
            })
        })?;
        self.prepared.insert(campaign_id, p);
        Ok(())
    }

    /// Renders and posts one claimed message: what the receiver answered, and the subject.
    fn deliver(&mut self, m: &Claimed, programs: &Programs) -> Result<(Outcome, String), Error> {
        self.prepare(m.campaign_id)?;
        let p = &self.prepared[&m.campaign_id];
        let (compiled, language, shared) =
            p.variants.get(&m.arm).ok_or_else(|| Error::Invalid(format!("no variant {}", m.arm)))?;
        let link = unsubscribe::link(&p.base_url, &p.key, m.customer_id, m.campaign_id);
        let (mut fields, customer) = self.store.read(|c| {
            let now = c.now();
            let mut fields = merge_fields(c, programs, m.customer_id, now, shared, link, &|root| compiled.uses(root))?;
            if let Some(id) = promotion_of_step(&m.step) {
                fields.promotion = promotion_field(programs, now, Promotion::Named(id), shared.language);
            }
            Ok::<_, Error>((fields, recipient(c, m.customer_id)?))
        })?;
        if let Some(offer) = &p.coupon {
            let (campaign_id, customer_id, language) = (m.campaign_id, m.customer_id, *language);
            fields.coupon = Some(
                self.store
                    .write(|c| crate::coupons::for_message(c, programs, offer, campaign_id, customer_id, language))?,
            );
        }
        let rendered = compiled.render(&fields)?;
        let key = idempotency_key(m.campaign_id, m.customer_id, &m.step);
        let payload = Payload {
            idempotency_key: key.clone(),
            campaign: p.campaign.clone(),
            variant: m.arm.clone(),
            step: Some(m.step.clone()).filter(|s| !s.is_empty()),
            consent: p.consent.clone(),
            customer,
            message: MessageText { subject: rendered.subject.clone(), text: rendered.text },
        };
        let body = serde_json::to_vec(&payload).map_err(|e| Error::Invalid(e.to_string()))?;
        let timestamp = self.store.now().timestamp();
        Ok((post(&self.agent, &p.url, &p.secret, &key, timestamp, &body), rendered.subject))
    }

    /// Posts rounds until the campaign (or every campaign) has nothing queued that is due
    /// within `patience`, calling `progress` after each round.
    pub fn run_until_done(&mut self, patience: Duration, progress: &mut dyn FnMut(&Round)) -> Result<Round, Error> {
        let mut total = Round::default();
        let mut idle_since: Option<Instant> = None;
        loop {
            let r = self.round()?;
            total.sent += r.sent;
            total.retried += r.retried;
            total.failed += r.failed;
            total.claimed += r.claimed;
            progress(&total);
            if r.claimed > 0 {
                idle_since = None;
                continue;
            }
            let campaign = self.options.campaign;
            if self.store.read(|c| repo::pending(c, campaign))? == 0 {
                break;
            }
            if idle_since.get_or_insert_with(Instant::now).elapsed() > patience {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        // Python: hmac.new(b"0123456789abcdef", b"1796378400.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            sign(b"0123456789abcdef", 1_796_378_400, b"{}"),
            "sha256=1b6c7bf99ce0dfa16b9c26df96341aa062e0e083bd9c7f03e1e7149dcbb3174d"
        );
        assert_ne!(sign(b"0123456789abcdef", 1_796_378_401, b"{}"), sign(b"0123456789abcdef", 1_796_378_400, b"{}"));
        assert!(check_secret("short").is_err());
        assert!(check_secret("0123456789abcdef").is_ok());
    }

    #[test]
    fn a_journey_step_has_a_key_per_occurrence() {
        assert_eq!(idempotency_key(3, 7, ""), "enishi-campaign-3-customer-7");
        let first = idempotency_key(3, 7, "ask (order:1)");
        assert!(first.starts_with("enishi-campaign-3-customer-7-step-"), "{first}");
        assert_ne!(first, idempotency_key(3, 7, "ask (order:2)"));
        assert_eq!(first, idempotency_key(3, 7, "ask (order:1)"));
    }
}
