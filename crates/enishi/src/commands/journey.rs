//! `enishi journey`: step mails entered on a trigger, written as JSON documents
//! (docs/campaigns.md, "Journeys"); one pass now for cron and tests.

use super::campaign::{reported, smtp};
use anyhow::{Context, Result};
use clap::Subcommand;
use enishi_campaigns::definition::Channel;
use enishi_campaigns::journeys::{self, document_of, pass};
use enishi_campaigns::sender::{SendOptions, Sender};
use enishi_campaigns::webhook::WebhookSender;
use enishi_campaigns::Error;
use enishi_store::repo::campaigns as campaigns_repo;
use enishi_store::repo::journeys as repo;
use enishi_store::Store;
use std::path::PathBuf;
use std::time::Duration;

/// Journey commands.
#[derive(Subcommand)]
pub enum JourneyWhat {
    /// Create a journey from its JSON document (checked first), with a campaign for each step
    /// (`journey / step`). Customers enter from now on.
    Create {
        /// The document (docs/campaigns.md, "Journeys").
        file: PathBuf,
    },
    /// Journeys with their trigger and how many customers are in them, by status (and
    /// `paused` for a paused one).
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// A journey: its steps with their campaigns and messages by status and reason, its
    /// customers by status and exit reason, and the latest entries.
    Show {
        /// The journey's name.
        name: String,
        /// JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pause a journey: nobody enters and no step moves (messages already queued still go).
    Pause {
        /// The journey's name.
        name: String,
    },
    /// Resume a paused journey: due steps go out, and the trigger's occurrences of the last
    /// two days enter.
    Resume {
        /// The journey's name.
        name: String,
    },
    /// One pass now: enter the customers whose trigger fired and queue (or skip, with the
    /// reason) the steps that are due. `enishi serve` does this every tick.
    Run {
        /// Then deliver what the journeys queued until it is settled: email over SMTP (needs
        /// the SMTP settings, only when a journey has email steps), webhook messages as
        /// signed POSTs, and call steps as tasks.
        #[arg(long)]
        send: bool,
    },
}

/// Runs a journey command.
pub fn run(store: &Store, what: JourneyWhat) -> Result<()> {
    let (clock, currency) = super::workspace(store)?;
    match what {
        JourneyWhat::Create { file } => {
            let json = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let j = store.write(|c| journeys::create(c, &json, currency, &clock)).map_err(reported)?;
            store.write(|c| {
                super::audit(c, "journey.create", &j.name, serde_json::json!({"trigger": j.trigger_kind}))
            })?;
            let steps = store.read(|c| repo::steps(c, j.id))?;
            println!("created journey \"{}\" ({}, {} steps)", j.name, j.trigger_kind, steps.len());
        }
        JourneyWhat::List { json } => {
            for j in store.read(repo::list)? {
                let counts = store.read(|c| repo::counts(c, j.id))?;
                let of = |status: &str| counts.iter().filter(|(s, _, _)| s == status).map(|(_, _, n)| n).sum::<i64>();
                let (active, done, exited) = (of("active"), of("done"), of("exited"));
                let paused = j.paused_at.is_some();
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"name": j.name, "trigger": j.trigger_kind, "paused": paused,
                            "active": active, "done": done, "exited": exited})
                    );
                } else {
                    let mark = if paused { "\tpaused" } else { "" };
                    println!("{}\t{}\tactive {active}\tdone {done}\texited {exited}{mark}", j.name, j.trigger_kind);
                }
            }
        }
        JourneyWhat::Show { name, json } => {
            let shown = store.read(|c| show(c, &name)).map_err(reported)?;
            if json {
                println!("{}", serde_json::to_string(&shown)?);
            } else {
                print_shown(&shown, &clock);
            }
        }
        JourneyWhat::Pause { name } => pause(store, &name, true)?,
        JourneyWhat::Resume { name } => pause(store, &name, false)?,
        JourneyWhat::Run { send } => {
            let p = pass::run(store, &clock).map_err(reported)?;
            println!(
                "entered {}, queued {}, skipped {}, exited {}, postponed {}",
                p.entered, p.queued, p.skipped, p.exited, p.postponed
            );
            if send {
                deliver(store, clock, currency)?;
            }
        }
    }
    Ok(())
}

/// Delivers what the journeys queued, on each channel their steps use.
fn deliver(store: &Store, clock: enishi_core::BusinessClock, currency: enishi_core::Currency) -> Result<()> {
    let mut channels = Vec::new();
    for j in store.read(repo::list)? {
        let doc = document_of(&j).map_err(reported)?;
        for step in &doc.steps {
            if !channels.contains(&step.channel) {
                channels.push(step.channel);
            }
        }
    }
    if channels.contains(&Channel::Email) {
        let (smtp, from) = smtp(store)?;
        let mut sender = Sender::new(store, smtp, SendOptions::new(&from), clock, currency);
        let total = sender.run_until_done(Duration::from_secs(60), &mut |_| {}).map_err(reported)?;
        println!("sent {}, retried {}, failed {}", total.sent, total.retried, total.failed);
    }
    if channels.contains(&Channel::Webhook) {
        let mut sender = WebhookSender::new(store, SendOptions::new(""), clock, currency);
        let total = sender.run_until_done(Duration::from_secs(60), &mut |_| {}).map_err(reported)?;
        println!("posted {}, retried {}, failed {}", total.sent, total.retried, total.failed);
    }
    if channels.contains(&Channel::Call) {
        let made = store.write(enishi_campaigns::calls::create_due_tasks).map_err(reported)?;
        println!("created {made} call tasks");
    }
    Ok(())
}

/// Pauses (`true`) or resumes a journey, audited.
fn pause(store: &Store, name: &str, paused: bool) -> Result<()> {
    let changed = store
        .write(|c| {
            let j = journeys::find(c, name)?;
            let changed = repo::set_paused(c, j.id, paused)?;
            if changed {
                let action = if paused { "journey.pause" } else { "journey.resume" };
                super::audit(c, action, &j.name, serde_json::json!({}))?;
            }
            Ok::<_, Error>(changed)
        })
        .map_err(reported)?;
    let state = if paused { "paused" } else { "running" };
    if changed {
        println!("journey \"{name}\" is {state}");
    } else {
        println!("journey \"{name}\" was {state} already");
    }
    Ok(())
}

/// A journey as `show` tells it.
#[derive(serde::Serialize)]
struct Shown {
    name: String,
    trigger: String,
    document: serde_json::Value,
    steps: Vec<ShownStep>,
    customers: Vec<(String, Option<String>, i64)>,
    latest: Vec<ShownEnrolment>,
}

/// A step: its campaign and its messages by status and reason.
#[derive(serde::Serialize)]
struct ShownStep {
    key: String,
    campaign: String,
    messages: Vec<(String, Option<String>, i64)>,
}

/// One entry into the journey.
#[derive(serde::Serialize)]
struct ShownEnrolment {
    customer: String,
    occurrence: String,
    entered_at: i64,
    next_step: i64,
    due_at: Option<i64>,
    status: String,
    exit_reason: Option<String>,
}

fn show(c: &mut dyn enishi_store::Conn, name: &str) -> Result<Shown, Error> {
    let j = journeys::find(c, name)?;
    let doc = document_of(&j)?;
    let mut steps = Vec::new();
    for (key, campaign_id) in repo::steps(c, j.id)? {
        let campaign = campaigns_repo::get(c, campaign_id)?.map(|k| k.name).unwrap_or_default();
        let messages =
            campaigns_repo::status_counts(c, campaign_id)?.into_iter().map(|s| (s.status, s.reason, s.count)).collect();
        steps.push(ShownStep { key, campaign, messages });
    }
    let latest = repo::enrolments(c, j.id, 20)?
        .into_iter()
        .map(|e| ShownEnrolment {
            customer: e.external_id,
            occurrence: e.occurrence,
            entered_at: e.entered_at,
            next_step: e.next_step,
            due_at: e.due_at,
            status: e.status,
            exit_reason: e.exit_reason,
        })
        .collect();
    Ok(Shown {
        name: j.name.clone(),
        trigger: j.trigger_kind.clone(),
        document: serde_json::to_value(&doc).unwrap_or_default(),
        steps,
        customers: repo::counts(c, j.id)?,
        latest,
    })
}

fn print_shown(s: &Shown, clock: &enishi_core::BusinessClock) {
    let when = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0).map(|t| clock.format_local(t, "%Y-%m-%d %H:%M")).unwrap_or_default()
    };
    println!("{} — trigger {}", s.name, s.trigger);
    for (i, step) in s.steps.iter().enumerate() {
        let messages: Vec<String> = step
            .messages
            .iter()
            .map(|(status, reason, n)| match reason {
                Some(r) if status == "skipped" || status == "failed" => format!("{n} {status} ({r})"),
                _ => format!("{n} {status}"),
            })
            .collect();
        let messages = if messages.is_empty() { "none yet".to_string() } else { messages.join(", ") };
        println!("  step {} {} (campaign \"{}\"): {messages}", i + 1, step.key, step.campaign);
    }
    for (status, reason, n) in &s.customers {
        match reason {
            Some(r) => println!("  {status} ({r}): {n}"),
            None => println!("  {status}: {n}"),
        }
    }
    for e in &s.latest {
        let next = match (e.status.as_str(), e.due_at) {
            ("active", Some(due)) => format!("step {} due {}", e.next_step + 1, when(due)),
            (_, _) => e.exit_reason.clone().unwrap_or_else(|| e.status.clone()),
        };
        println!("  {}\t{}\tentered {}\t{next}", e.customer, e.occurrence, when(e.entered_at));
    }
}
