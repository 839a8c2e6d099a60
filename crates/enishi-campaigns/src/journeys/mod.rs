//! Journeys: step mails entered on a trigger (docs/campaigns.md, "Journeys").
//!
//! A journey is a document ([`document::Journey`]): a trigger, ordered steps with delays and
//! exit conditions. Each step sends through a campaign of its own (`journey / step`, channel
//! and template of the step), so its messages go through the same exactly-once sender, are on
//! the customers' communication history, and have results like any campaign. A pass
//! ([`pass::run`]; `enishi serve` runs one every scheduler tick, `enishi journey run` one now)
//! enters customers and moves the steps that are due.

pub mod document;
pub mod pass;
pub mod timing;
pub mod triggers;

pub use document::{After, Journey, Step, Trigger};

use crate::campaigns::load_template;
use crate::Error;
use enishi_core::{BusinessClock, Currency};
use enishi_store::repo::campaigns::{self as campaigns_repo, NewCampaign};
use enishi_store::repo::journeys as repo;
use enishi_store::Conn;

/// A stored journey's document.
pub fn document_of(j: &repo::Journey) -> Result<Journey, Error> {
    Journey::parse(&j.definition)
}

/// A journey by name.
pub fn find(c: &mut dyn Conn, name: &str) -> Result<repo::Journey, Error> {
    repo::by_name(c, name)?.ok_or_else(|| Error::NotFound(format!("there is no journey named \"{name}\"")))
}

/// The campaign document of one step: the step's template and channel, the journey's sender,
/// goal, window and cost, and the journey as its audience.
fn step_campaign(doc: &Journey, step: &Step) -> serde_json::Value {
    let mut v = serde_json::json!({
        "name": doc.step_campaign(&step.key),
        "mailing": doc.name,
        "version": step.key,
        "channel": step.channel,
        "audience": {"journey": doc.name},
        "template": step.template,
        "goal": doc.goal,
        "attribution_days": doc.attribution_days,
        "cost_per_message": doc.cost_per_message,
        "sender": doc.sender,
    });
    let extra = [
        ("webhook_url", serde_json::json!(step.webhook_url)),
        ("webhook_consent", serde_json::json!(step.webhook_consent)),
        ("webhook_secret", serde_json::json!(step.webhook_secret)),
        ("call", serde_json::json!(step.call)),
    ];
    for (field, value) in extra.into_iter().filter(|(_, v)| !v.is_null()) {
        v[field] = value;
    }
    v
}

/// Creates a journey from its document, after checking its templates and exit rules, with a
/// campaign for each step. Customers enter from now on.
pub fn create(
    c: &mut dyn Conn,
    json: &str,
    currency: Currency,
    calendar: &BusinessClock,
) -> Result<repo::Journey, Error> {
    let doc = Journey::parse(json)?;
    let programs = enishi_rewards::Programs::load(c, *calendar)?;
    doc.trigger.check_program(programs.latest().map(|(_, p)| p))?;
    for (i, s) in doc.steps.iter().enumerate() {
        if let Some(t) = &s.template {
            load_template(c, t, currency).map_err(|e| Error::Invalid(format!("steps[{i}].template: {e}")))?;
        }
        if s.channel == crate::definition::Channel::Webhook && s.webhook_secret.is_none() {
            let secret = enishi_store::repo::settings::get(c, crate::webhook::WEBHOOK_SECRET)?;
            if secret.filter(|s| !s.trim().is_empty()).is_none() {
                return Err(Error::Invalid(format!(
                    "steps[{i}].webhook_secret: the step names no secret and none is set (enishi settings --webhook-secret)"
                )));
            }
        }
    }
    for (field, rule) in
        [("exit.when_matching", &doc.exit.when_matching), ("exit.unless_matching", &doc.exit.unless_matching)]
    {
        if let Some(text) = rule {
            let node = enishi_segments::text::parse(text).map_err(|e| Error::Invalid(format!("{field}: {e}")))?;
            enishi_segments::check(c, &node, calendar).map_err(|e| Error::Invalid(format!("{field}: {e}")))?;
        }
    }
    let stored = serde_json::to_string(&doc).map_err(|e| Error::Invalid(e.to_string()))?;
    let id = repo::create(c, &doc.name, doc.trigger.kind(), &stored)?
        .ok_or_else(|| Error::Invalid(format!("name: a journey named \"{}\" exists", doc.name)))?;
    for (i, s) in doc.steps.iter().enumerate() {
        let definition = crate::Definition::parse(&step_campaign(&doc, s).to_string())
            .map_err(|e| Error::Invalid(format!("steps[{i}]: {e}")))?;
        let text = serde_json::to_string(&definition).map_err(|e| Error::Invalid(e.to_string()))?;
        let new = NewCampaign {
            name: &definition.name,
            mailing: &doc.name,
            version: &s.key,
            channel: s.channel.as_str(),
            definition: &text,
        };
        let campaign = campaigns_repo::create(c, &new)?.ok_or_else(|| {
            Error::Invalid(format!("steps[{i}].key: a campaign named \"{}\" exists", definition.name))
        })?;
        repo::add_step(c, id, i as i64, &s.key, campaign)?;
    }
    find(c, &doc.name)
}

/// One step of a journey's funnel: how many customers reached it and what became of them.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct StepFunnel {
    /// The step's key.
    pub key: String,
    /// Its channel.
    pub channel: String,
    /// The campaign it sends through (`journey / key`).
    pub campaign: String,
    /// Entries that reached the step: its message was queued, sent or skipped, they wait for
    /// it, or they left the journey just before it.
    pub enrolled: i64,
    /// Active entries waiting for it (not yet due, or put off).
    pub waiting: i64,
    /// Messages in the send queue.
    pub queued: i64,
    /// Messages sent (for a call step: tasks made).
    pub sent: i64,
    /// Messages skipped by the contact policy (no consent, no address, suppressed, capped).
    pub skipped: i64,
    /// Messages that failed.
    pub failed: i64,
    /// Entries that left the journey on an exit condition just before this step.
    pub exited: i64,
}

/// A journey's funnel, step by step, and its entries by status (`active`, `done`, `exited`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Funnel {
    /// Entries in all.
    pub enrolled: i64,
    /// Entries by status.
    pub active: i64,
    /// Entries that went through every step.
    pub done: i64,
    /// Entries that left on an exit condition.
    pub exited: i64,
    /// The steps, in order.
    pub steps: Vec<StepFunnel>,
}

/// The funnel of a journey: per step, who reached it, waits for it, got its message, was
/// skipped, or left just before it.
pub fn funnel(c: &mut dyn Conn, j: &repo::Journey) -> Result<Funnel, Error> {
    let doc = document_of(j)?;
    let counts = repo::step_counts(c, j.id)?;
    let of = |status: &str| counts.iter().filter(|(_, s, _)| s == status).map(|(_, _, n)| n).sum::<i64>();
    let mut out = Funnel { active: of("active"), done: of("done"), exited: of("exited"), ..Funnel::default() };
    out.enrolled = out.active + out.done + out.exited;
    for (i, (key, campaign_id)) in repo::steps(c, j.id)?.into_iter().enumerate() {
        let i = i as i64;
        let at =
            |status: &str| counts.iter().filter(|(n, s, _)| *n == i && s == status).map(|(_, _, k)| k).sum::<i64>();
        let mut step = StepFunnel {
            channel: doc.steps.iter().find(|s| s.key == key).map_or("email", |s| s.channel.as_str()).to_string(),
            campaign: campaigns_repo::get(c, campaign_id)?.map(|k| k.name).unwrap_or_default(),
            key,
            waiting: at("active"),
            exited: at("exited"),
            ..StepFunnel::default()
        };
        for s in campaigns_repo::status_counts(c, campaign_id)? {
            match s.status.as_str() {
                "queued" | "handed_over" => step.queued += s.count,
                "sent" => step.sent += s.count,
                "skipped" => step.skipped += s.count,
                "failed" => step.failed += s.count,
                _ => {}
            }
        }
        step.enrolled = step.waiting + step.exited + step.queued + step.sent + step.skipped + step.failed;
        out.steps.push(step);
    }
    Ok(out)
}

/// Why a customer leaves a journey before its last step.
pub const EXIT_REASONS: [&str; 4] = ["ordered", "unsubscribed", "matched", "no_longer_matched"];
