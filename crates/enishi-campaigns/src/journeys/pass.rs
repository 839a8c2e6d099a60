//! One pass over the journeys: enters the customers whose trigger fired, then moves every
//! enrolment whose step is due — out of the journey when an exit condition holds, otherwise
//! its message queued for the sender (or skipped, with the reason, when the contact policy
//! says no) and the next step scheduled.
//!
//! A pass is safe to run twice and from several processes at once: an occurrence enters once
//! (the enrolment's key), a step's message is one recipient row (its key names the step and
//! the occurrence), and an enrolment moves on only from the step it was read at.

use super::document::{Journey, Step};
use super::timing::{parse_delay, parse_time_of_day, send_time, usual_hour};
use super::triggers::occurrences;
use super::{document_of, After};
use crate::definition::Channel;
use crate::policy::Policy;
use crate::Error;
use chrono::{DateTime, NaiveTime, Utc};
use enishi_core::BusinessClock;
use enishi_store::repo::campaigns as campaigns_repo;
use enishi_store::repo::journeys::{self as repo, Enrolment, Queued};
use enishi_store::{Conn, Store};
use serde::Serialize;
use std::collections::HashSet;

/// Enrolments moved per transaction.
const BATCH: i64 = 200;
/// Orders read to find a customer's usual buying hour.
const USUAL_HOUR_ORDERS: i64 = 50;
/// How long a step waits when the same step's message of another occurrence is still queued.
const BUSY_WAIT_SECONDS: i64 = 600;

/// What a pass did, over all journeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Pass {
    /// Customers entered.
    pub entered: usize,
    /// Step messages queued for the sender.
    pub queued: usize,
    /// Step messages skipped (with their reason on the recipient row).
    pub skipped: usize,
    /// Customers who left a journey on an exit condition.
    pub exited: usize,
    /// Steps put off (quiet hours, a message of the same step still queued).
    pub postponed: usize,
}

/// Runs one pass over every journey at the store's now.
pub fn run(store: &Store, calendar: &BusinessClock) -> Result<Pass, Error> {
    let mut pass = Pass::default();
    for j in store.read(repo::list)?.into_iter().filter(|j| j.paused_at.is_none()) {
        let doc = document_of(&j)?;
        let policy = store.read(Policy::load)?;
        pass.entered += store.write(|c| enter(c, &j, &doc, &policy, calendar))?;
        let mut exits = None;
        // Steps due at once after another (no delay) are sent in the same pass.
        for _ in 0..(doc.steps.len() + 2) * 1000 {
            let moved = store.write(|c| {
                let now = c.now();
                let due = repo::due(c, j.id, now, BATCH)?;
                if due.is_empty() {
                    return Ok::<_, Error>(0);
                }
                if exits.is_none() {
                    exits = Some(Exits::load(c, &doc, now, calendar)?);
                }
                let steps = repo::steps(c, j.id)?;
                let exits = exits.as_ref().ok_or_else(|| Error::State("exit rules not loaded".into()))?;
                let ctx = Ctx { doc: &doc, steps: &steps, exits, policy: &policy, calendar };
                for e in &due {
                    step(c, &ctx, e, &mut pass)?;
                }
                Ok(due.len())
            })?;
            if moved == 0 {
                break;
            }
        }
    }
    Ok(pass)
}

/// Enters the occurrences of the journey's trigger; returns how many were new.
fn enter(
    c: &mut dyn Conn,
    j: &repo::Journey,
    doc: &Journey,
    policy: &Policy,
    calendar: &BusinessClock,
) -> Result<usize, Error> {
    let now = c.now();
    let found = occurrences(c, j.id, &doc.trigger, j.created_at, now, calendar)?;
    let first = &doc.steps[0];
    let mut entries = Vec::with_capacity(found.len());
    for e in found {
        let due = due_at(c, doc, first, e.customer_id, e.entered_at, policy, calendar)?;
        entries.push((e, due));
    }
    Ok(repo::enrol(c, j.id, &entries)?)
}

/// When `step` is due for a customer, its delay counted from `base`.
fn due_at(
    c: &mut dyn Conn,
    doc: &Journey,
    step: &Step,
    customer_id: i64,
    base: i64,
    policy: &Policy,
    calendar: &BusinessClock,
) -> Result<i64, Error> {
    let delay = parse_delay(&step.delay).map_err(Error::Invalid)?;
    let due = DateTime::from_timestamp(base.saturating_add(delay), 0)
        .ok_or_else(|| Error::Invalid(format!("a step due at {base} + {delay} s")))?;
    let at = match step.send_at.as_deref() {
        None => None,
        Some("suggested") => Some(suggested_time(c, doc, customer_id, calendar)?),
        Some(t) => Some(parse_time_of_day(t).map_err(Error::Invalid)?),
    };
    Ok(send_time(due, at, policy, calendar).timestamp())
}

/// The time of day to reach a customer at: the hour they usually buy at, or the journey's
/// `send_time` (10:00 when absent) for a customer without orders.
pub fn suggested_time(
    c: &mut dyn Conn,
    doc: &Journey,
    customer_id: i64,
    calendar: &BusinessClock,
) -> Result<NaiveTime, Error> {
    let placed = repo::order_times(c, customer_id, USUAL_HOUR_ORDERS)?;
    if let Some(h) = usual_hour(&placed, calendar).and_then(|h| NaiveTime::from_hms_opt(h, 0, 0)) {
        return Ok(h);
    }
    match &doc.send_time {
        Some(t) => parse_time_of_day(t).map_err(Error::Invalid),
        None => Ok(NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default()),
    }
}

/// The members of the exit rules, as of the pass's day.
struct Exits {
    when_matching: Option<HashSet<i64>>,
    unless_matching: Option<HashSet<i64>>,
}

impl Exits {
    fn load(c: &mut dyn Conn, doc: &Journey, now: i64, calendar: &BusinessClock) -> Result<Exits, Error> {
        let day = calendar.day_number(enishi_store::instant(now));
        let mut members = |rule: &Option<String>| -> Result<Option<HashSet<i64>>, Error> {
            let Some(text) = rule else { return Ok(None) };
            let node = enishi_segments::text::parse(text).map_err(|e| Error::Invalid(e.to_string()))?;
            Ok(Some(enishi_segments::members(c, &node, day, calendar)?.into_iter().collect()))
        };
        Ok(Exits {
            when_matching: members(&doc.exit.when_matching)?,
            unless_matching: members(&doc.exit.unless_matching)?,
        })
    }
}

/// Why the customer leaves the journey now, if they do.
fn exit_reason(
    c: &mut dyn Conn,
    doc: &Journey,
    e: &Enrolment,
    step: &Step,
    exits: &Exits,
) -> Result<Option<&'static str>, Error> {
    if doc.exit.on_order && repo::ordered_after(c, e.customer_id, e.occurred_at)? {
        return Ok(Some("ordered"));
    }
    if doc.exit.on_unsubscribe {
        if let Some((status, changed_at)) = repo::consent(c, e.customer_id, step.consent())? {
            if status == "opted_out" && changed_at >= e.occurred_at {
                return Ok(Some("unsubscribed"));
            }
        }
    }
    if exits.when_matching.as_ref().is_some_and(|m| m.contains(&e.customer_id)) {
        return Ok(Some("matched"));
    }
    if exits.unless_matching.as_ref().is_some_and(|m| !m.contains(&e.customer_id)) {
        return Ok(Some("no_longer_matched"));
    }
    Ok(None)
}

/// Why the contact policy keeps the step's message from the customer, checked in the order a
/// campaign checks them: consent, an address, the suppression list, the frequency cap.
fn skip_reason(
    c: &mut dyn Conn,
    customer_id: i64,
    step: &Step,
    campaign_id: i64,
    policy: &Policy,
    now: i64,
) -> Result<Option<&'static str>, Error> {
    let consented = repo::consent(c, customer_id, step.consent())?.is_some_and(|(s, _)| s == "opted_in");
    if !consented {
        return Ok(Some("no_consent"));
    }
    // The address the channel reaches (and suppresses) the customer at: the email, or the
    // phone of a call (a webhook's receiver needs none, but a suppressed phone stops it).
    let address = match step.channel {
        Channel::Email => repo::email(c, customer_id)?.map(|e| e.to_lowercase()),
        _ => repo::phone(c, customer_id)?,
    };
    let address = match address {
        Some(a) => Some(a),
        None if step.channel == Channel::Webhook => None,
        None => return Ok(Some("no_address")),
    };
    if let Some(a) = address {
        if campaigns_repo::is_suppressed(c, step.channel.as_str(), &a)? {
            return Ok(Some("suppressed"));
        }
    }
    let since = now - policy.cap_days * 86_400;
    if repo::recent_messages(c, customer_id, step.channel.as_str(), since, campaign_id)? >= policy.cap_messages {
        return Ok(Some("frequency_cap"));
    }
    Ok(None)
}

/// What moving a journey's enrolments needs: the document, each step's (key, campaign), the
/// exit rules' members, the contact policy and the business calendar.
struct Ctx<'a> {
    doc: &'a Journey,
    steps: &'a [(String, i64)],
    exits: &'a Exits,
    policy: &'a Policy,
    calendar: &'a BusinessClock,
}

/// Moves one due enrolment.
fn step(c: &mut dyn Conn, ctx: &Ctx<'_>, e: &Enrolment, pass: &mut Pass) -> Result<(), Error> {
    let Ctx { doc, steps, exits, policy, calendar } = *ctx;
    let now = c.now();
    let k = usize::try_from(e.next_step).unwrap_or(usize::MAX);
    let (Some(s), Some((_, campaign_id))) = (doc.steps.get(k), steps.get(k)) else {
        repo::advance(c, e.id, e.next_step, e.next_step, None)?;
        return Ok(());
    };
    if let Some(why) = exit_reason(c, doc, e, s, exits)? {
        if repo::exit(c, e.id, why)? {
            pass.exited += 1;
        }
        return Ok(());
    }
    let at = DateTime::<Utc>::from_timestamp(now, 0).unwrap_or_default();
    if policy.is_quiet(calendar, at) {
        repo::postpone(c, e.id, policy.next_allowed(calendar, at).timestamp())?;
        pass.postponed += 1;
        return Ok(());
    }
    let mut skipped = skip_reason(c, e.customer_id, s, *campaign_id, policy, now)?;
    if !repo::open_step_campaign(c, *campaign_id)? {
        skipped = Some("cancelled");
    }
    let key = format!("{} ({})", s.key, e.occurrence);
    match repo::queue_step(c, *campaign_id, e.customer_id, &key, skipped, now)? {
        Queued::Busy => {
            repo::postpone(c, e.id, now + BUSY_WAIT_SECONDS)?;
            pass.postponed += 1;
            return Ok(());
        }
        Queued::Written if skipped.is_some() => pass.skipped += 1,
        Queued::Written => pass.queued += 1,
        Queued::There => {}
    }
    let next = match doc.steps.get(k + 1) {
        Some(n) => {
            let base = if n.after == After::Entry { e.entered_at } else { now };
            Some(due_at(c, doc, n, e.customer_id, base, policy, calendar)?)
        }
        None => None,
    };
    repo::advance(c, e.id, e.next_step, e.next_step + 1, next)?;
    Ok(())
}
