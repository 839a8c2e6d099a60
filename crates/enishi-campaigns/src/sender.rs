//! The sender: claims queued email messages, renders each for its customer, delivers it over
//! SMTP and records it — each message exactly once, even when a sender is killed mid-way.
//!
//! Per message: the recipient row is claimed under a lease; the envelope and `DATA` go to the
//! server; the row is marked `handed_over` in its own committed transaction (only if this
//! sender still holds it); then the content and its final dot are sent. A sender killed before
//! the hand-over leaves a claimed row that another sender takes once the lease runs out (the
//! server never got the final dot, so it discarded the message); one killed after it leaves a
//! `handed_over` row that is settled as sent, never sent again. Temporary refusals (4xx, a
//! lost connection) are retried with a doubling delay; a 5xx to the recipient fails the
//! message and suppresses the address; anything else permanent fails the message. When no
//! message can go out as configured (the server's certificate does not verify, STARTTLS is
//! required but not offered, the login is refused) the round gives its messages back untried
//! and fails with [`Error::Delivery`] saying why. Messages go out at the channel's send rate
//! ([`crate::pace`]).

use crate::campaigns::{common, definition, load_template};
use crate::email::{build, Outgoing, Refusal, Session, SmtpConfig};
use crate::fields::{merge_fields, promotion_field, promotion_of_step, Promotion};
use crate::pace::Pace;
use crate::template::{Compiled, Language};
use crate::{unsubscribe, Error};
use enishi_core::{BusinessClock, Currency};
use enishi_rewards::Programs;
use enishi_store::repo::campaigns::{self as repo, Claimed, Delivered};
use enishi_store::repo::customers;
use enishi_store::Store;
use lettre::message::Mailbox;
use lettre::Address;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How a sender works.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// This sender's name in the claims (unique per process).
    pub worker: String,
    /// Messages claimed at a time.
    pub batch: i64,
    /// Seconds a claim holds before another sender may take the message.
    pub lease_seconds: i64,
    /// At most this many messages per second on the channel, with every other sender of the
    /// database (docs/campaigns.md "Send rate"); `None`: the channel's setting
    /// (`campaign_email_rate`, `campaign_webhook_rate`, read each round), no limit when unset.
    pub rate_per_second: Option<f64>,
    /// The first retry waits this many seconds; each further one twice as long.
    pub retry_seconds: i64,
    /// Attempts before a temporarily refused message fails for good.
    pub max_attempts: i64,
    /// The From address when the campaign gives none.
    pub from: String,
    /// Only this campaign's messages.
    pub campaign: Option<i64>,
}

impl SendOptions {
    /// Options with the defaults: batches of 100, a 120-second lease, retries from 60 seconds,
    /// 8 attempts.
    pub fn new(from: &str) -> SendOptions {
        SendOptions {
            worker: format!("sender-{}-{:x}", std::process::id(), rand::random::<u32>()),
            batch: 100,
            lease_seconds: 120,
            rate_per_second: None,
            retry_seconds: 60,
            max_attempts: 8,
            from: from.to_string(),
            campaign: None,
        }
    }
}

/// What one round of sending did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    /// Messages the server accepted.
    pub sent: usize,
    /// Messages put back for a later try.
    pub retried: usize,
    /// Messages that failed for good.
    pub failed: usize,
    /// Handed-over messages of stopped senders settled as sent.
    pub settled: usize,
    /// Messages claimed.
    pub claimed: usize,
}

/// Seconds to wait before retrying a message that has had `attempts` attempts: `base`,
/// doubling with each further attempt, at most 6 hours.
pub(crate) fn backoff(base: i64, attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(1_i64 << doublings).min(6 * 3600)
}

/// A campaign's variants, ready to render.
struct Prepared {
    name: String,
    from: Mailbox,
    key: Vec<u8>,
    base_url: String,
    variants: HashMap<String, (Compiled, Language, crate::fields::Common)>,
    coupon: Option<crate::definition::CouponOffer>,
}

/// An email sender over one SMTP server.
pub struct Sender<'a> {
    store: &'a Store,
    smtp: SmtpConfig,
    options: SendOptions,
    calendar: BusinessClock,
    currency: Currency,
    session: Option<Session>,
    prepared: HashMap<i64, Prepared>,
    programs: Option<Programs>,
    pace: Pace,
}

impl<'a> Sender<'a> {
    /// A sender for `store`'s email campaigns through `smtp`.
    pub fn new(
        store: &'a Store,
        smtp: SmtpConfig,
        options: SendOptions,
        calendar: BusinessClock,
        currency: Currency,
    ) -> Sender<'a> {
        Sender {
            store,
            smtp,
            options,
            calendar,
            currency,
            session: None,
            prepared: HashMap::new(),
            programs: None,
            pace: Pace::new("email", None),
        }
    }

    /// Settles stopped senders' hand-overs, starts scheduled campaigns whose time has come,
    /// then claims and sends one batch. Nothing is claimed in the quiet hours.
    pub fn round(&mut self) -> Result<Round, Error> {
        let mut round = Round::default();
        let calendar = self.calendar;
        round.settled = self.store.write(|c| {
            let now = c.now();
            let stale = repo::unconfirmed(c, now)?;
            for (campaign_id, customer_id, arm) in &stale {
                let name = repo::get(c, *campaign_id)?.map(|k| k.name).unwrap_or_default();
                let d = Delivered {
                    campaign_id: *campaign_id,
                    campaign: &name,
                    customer_id: *customer_id,
                    channel: "email",
                    arm,
                    subject: "",
                    at: now,
                    note: Some("unconfirmed"),
                };
                repo::mark_sent(c, &d)?;
            }
            crate::campaigns::start_due(c, &calendar)?;
            Ok::<_, Error>(stale.len())
        })?;
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
            repo::claim(c, "email", campaign, &worker, now, now + lease, batch)
        })?;
        round.claimed = claimed.len();
        if !claimed.is_empty() {
            self.programs = Some(self.store.read(|c| Programs::load(c, calendar))?);
        }
        let mut delivered: Vec<(Claimed, String)> = Vec::new();
        // Why no message can go out as configured (then the rest are given back untried).
        let mut stopped: Option<Error> = None;
        for (i, m) in claimed.iter().enumerate() {
            if let Err(e) = self.pace.wait(self.store, claimed.len() - i) {
                self.give_back(&claimed[i..])?;
                stopped = Some(e);
                break;
            }
            match self.deliver(m) {
                Ok(Some(subject)) => {
                    round.sent += 1;
                    delivered.push((m.clone(), subject));
                }
                Ok(None) => {}
                Err(Refusal::Setup(why)) => {
                    self.give_back(&claimed[i..])?;
                    self.session = None;
                    self.pace.clear();
                    stopped = Some(Error::Delivery(why));
                    break;
                }
                Err(Refusal::Transient(why)) if self.session.is_none() => {
                    // The server cannot be reached: everything left waits.
                    for rest in &claimed[i..] {
                        self.retry(rest, &why, &mut round)?;
                    }
                    break;
                }
                Err(Refusal::Transient(why)) => self.retry(m, &why, &mut round)?,
                Err(Refusal::BadRecipient(why)) => {
                    round.failed += 1;
                    self.store.write(|c| {
                        repo::mark_failed(c, m.campaign_id, m.customer_id, &why)?;
                        if let Some(email) = customers::get(c, m.customer_id)?.and_then(|x| x.email) {
                            repo::suppress(c, "email", &email.to_lowercase(), "hard_bounce", &why)?;
                        }
                        Ok::<_, Error>(())
                    })?;
                }
                Err(Refusal::Permanent(why)) => {
                    round.failed += 1;
                    self.store.write(|c| repo::mark_failed(c, m.campaign_id, m.customer_id, &why))?;
                }
            }
        }
        if !delivered.is_empty() || round.claimed > 0 {
            let names: HashMap<i64, String> = self.prepared.iter().map(|(id, p)| (*id, p.name.clone())).collect();
            self.store.write(|c| {
                let now = c.now();
                for (m, subject) in &delivered {
                    let name = names.get(&m.campaign_id).cloned().unwrap_or_default();
                    let d = Delivered {
                        campaign_id: m.campaign_id,
                        campaign: &name,
                        customer_id: m.customer_id,
                        channel: "email",
                        arm: &m.arm,
                        subject,
                        at: now,
                        note: None,
                    };
                    repo::mark_sent(c, &d)?;
                }
                repo::finish_settled(c, now)?;
                Ok::<_, Error>(())
            })?;
        }
        match stopped {
            Some(e) => Err(e),
            None => Ok(round),
        }
    }

    /// Gives back claimed messages untried (no attempt counted).
    fn give_back(&self, rest: &[Claimed]) -> Result<(), Error> {
        let worker = &self.options.worker;
        self.store.write(|c| {
            for m in rest {
                repo::release(c, m.campaign_id, m.customer_id, worker)?;
            }
            Ok::<_, Error>(())
        })
    }

    fn retry(&mut self, m: &Claimed, why: &str, round: &mut Round) -> Result<(), Error> {
        let (base, max) = (self.options.retry_seconds, self.options.max_attempts);
        self.store.write(|c| {
            if m.attempts >= max {
                round.failed += 1;
                repo::mark_failed(
                    c,
                    m.campaign_id,
                    m.customer_id,
                    &format!("gave up after {} attempts: {why}", m.attempts),
                )
            } else {
                round.retried += 1;
                let at = c.now().saturating_add(backoff(base, m.attempts));
                repo::retry_later(c, m.campaign_id, m.customer_id, why, at)
            }
        })?;
        Ok(())
    }

    fn prepare(&mut self, campaign_id: i64) -> Result<&Prepared, Error> {
        if !self.prepared.contains_key(&campaign_id) {
            let currency = self.currency;
            let default_from = self.options.from.clone();
            let p = self.store.write(|c| {
                let key = unsubscribe::signing_key(c)?;
                let base_url = unsubscribe::public_url(c)?;
                let k = repo::get(c, campaign_id)?.ok_or_else(|| Error::NotFound(format!("campaign {campaign_id}")))?;
                let d = definition(&k)?;
                let address = if d.sender.email.is_empty() { default_from.clone() } else { d.sender.email.clone() };
                let address: Address = address
                    .parse()
                    .map_err(|_| Error::Invalid(format!("sender email: '{address}' is not an email address")))?;
                let from = Mailbox::new((!d.sender.name.is_empty()).then(|| d.sender.name.clone()), address);
                let mut variants = HashMap::new();
                for v in &d.variants {
                    let (compiled, language) = load_template(c, v.template.as_deref().unwrap_or_default(), currency)?;
                    let shared = common(c, &k, &d, language)?;
                    variants.insert(v.key.clone(), (compiled, language, shared));
                }
                Ok::<_, Error>(Prepared { name: k.name, from, key, base_url, variants, coupon: d.coupon })
            })?;
            self.prepared.insert(campaign_id, p);
        }
        Ok(&self.prepared[&campaign_id])
    }

    /// Renders and delivers one claimed message; `Ok(Some(subject))` when the server took it,
    /// `Ok(None)` when this sender no longer held it.
    fn deliver(&mut self, m: &Claimed) -> Result<Option<String>, Refusal> {
        let internal = |e: Error| Refusal::Permanent(e.to_string());
        self.prepare(m.campaign_id).map_err(internal)?;
        let prepared = &self.prepared[&m.campaign_id];
        let (compiled, language, shared) =
            prepared.variants.get(&m.arm).ok_or_else(|| Refusal::Permanent(format!("no variant {}", m.arm)))?;
        let link = unsubscribe::link(&prepared.base_url, &prepared.key, m.customer_id, m.campaign_id);
        let programs =
            self.programs.as_ref().ok_or_else(|| Refusal::Transient("the programme is not loaded".into()))?;
        // The merge fields carry the customer's email: one read of the customer per message.
        let mut fields = self
            .store
            .read(|c| {
                let now = c.now();
                let mut fields =
                    merge_fields(c, programs, m.customer_id, now, shared, link, &|root| compiled.uses(root))?;
                if let Some(id) = promotion_of_step(&m.step) {
                    fields.promotion = promotion_field(programs, now, Promotion::Named(id), shared.language);
                }
                Ok::<_, Error>(fields)
            })
            .map_err(internal)?;
        if let Some(offer) = &prepared.coupon {
            // Committed before the message goes out, so a retry shows the same coupon.
            let (campaign_id, customer_id, language) = (m.campaign_id, m.customer_id, *language);
            let coupon = self
                .store
                .write(|c| crate::coupons::for_message(c, programs, offer, campaign_id, customer_id, language))
                .map_err(internal)?;
            fields.coupon = Some(coupon);
        }
        let to: Address = fields
            .customer
            .email
            .parse()
            .map_err(|_| Refusal::Permanent("the customer's email address is not valid".into()))?;
        let rendered = compiled.render(&fields).map_err(internal)?;
        let from = prepared.from.clone();
        let name = prepared.name.clone();
        let outgoing = Outgoing {
            from: from.clone(),
            to: Mailbox::new(Some(fields.customer.name.clone()).filter(|n| !n.is_empty()), to.clone()),
            unsubscribe_url: fields.unsubscribe_url.clone(),
            message_id: message_id(m),
            tag: format!("{name}; variant {}", m.arm),
        };
        let bytes = build(&outgoing, &rendered).map_err(internal)?;
        if self.session.as_ref().is_some_and(Session::is_broken) {
            self.session = None;
        }
        if self.session.is_none() {
            self.session = Some(Session::open(&self.smtp)?);
        }
        let session = self.session.as_mut().ok_or_else(|| Refusal::Transient("no session".into()))?;
        if let Err(e) = session.begin(&from.email, &to) {
            if !session.reset() {
                self.session = None;
            }
            return Err(e);
        }
        let worker = self.options.worker.clone();
        let held = self
            .store
            .write(|c| repo::hand_over(c, m.campaign_id, m.customer_id, &worker))
            .map_err(|e| Refusal::Transient(e.to_string()))?;
        if !held {
            // Another sender took it after this one's lease ran out: abandon the transaction.
            if !session.reset() {
                self.session = None;
            }
            return Ok(None);
        }
        match session.finish(&bytes) {
            Ok(()) => Ok(Some(rendered.subject)),
            Err(e) => {
                if matches!(e, Refusal::Transient(_)) && session.is_broken() {
                    self.session = None;
                }
                Err(e)
            }
        }
    }

    /// Sends rounds until the campaign (or every campaign) has nothing queued that is due
    /// within `patience`, calling `progress` after each round.
    pub fn run_until_done(&mut self, patience: Duration, progress: &mut dyn FnMut(&Round)) -> Result<Round, Error> {
        let mut total = Round::default();
        let mut idle_since: Option<Instant> = None;
        loop {
            let r = self.round()?;
            total.sent += r.sent;
            total.retried += r.retried;
            total.failed += r.failed;
            total.settled += r.settled;
            total.claimed += r.claimed;
            progress(&total);
            if r.claimed == 0 {
                let campaign = self.options.campaign;
                let pending = self.store.read(|c| repo::pending(c, campaign))?;
                if pending == 0 {
                    break;
                }
                let since = *idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() > patience {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            } else {
                idle_since = None;
            }
        }
        if let Some(s) = self.session.take() {
            s.close();
        }
        Ok(total)
    }
}

/// The Message-ID of a claimed message: unique per campaign, customer and journey step (a
/// customer may get a journey's step once per occurrence).
fn message_id(m: &Claimed) -> String {
    if m.step.is_empty() {
        return format!("<c{}.{}@enishi>", m.campaign_id, m.customer_id);
    }
    let step: String = m.step.chars().map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' }).collect();
    format!("<c{}.{}.{step}@enishi>", m.campaign_id, m.customer_id)
}
