//! `enishi template` and `enishi campaign`: message templates, campaigns written as JSON
//! documents (docs/campaigns.md), previews, sending and results.

use crate::BadInput;
use anyhow::{Context, Result};
use clap::Subcommand;
use enishi_campaigns::campaigns as ops;
use enishi_campaigns::email::{SmtpConfig, SMTP_CA_FILE, SMTP_FROM, SMTP_URL};
use enishi_campaigns::results::{results, versions, Results};
use enishi_campaigns::sender::{SendOptions, Sender};
use enishi_campaigns::template::Parts;
use enishi_campaigns::Error;
use enishi_store::repo::campaigns as repo;
use enishi_store::repo::settings;
use enishi_store::Store;
use std::path::PathBuf;
use std::time::Duration;

/// Template commands.
#[derive(Subcommand)]
pub enum TemplateWhat {
    /// Check a template and save it (replacing one of the same name). The files hold the
    /// subject (one line), the HTML body and the text body.
    Save {
        /// The template's name.
        name: String,
        /// Language of the wording: ja or en.
        #[arg(long, value_parser = ["ja", "en"])]
        locale: String,
        /// The subject line (a template).
        #[arg(long)]
        subject: String,
        /// File with the HTML body.
        #[arg(long)]
        html: PathBuf,
        /// File with the text body.
        #[arg(long)]
        text: PathBuf,
    },
    /// Templates by name.
    List,
    /// The merge fields a template can use.
    Fields,
}

/// Campaign commands.
#[derive(Subcommand)]
pub enum CampaignWhat {
    /// Create a draft campaign from its JSON document (checked first).
    Create {
        /// The document (docs/campaigns.md).
        file: PathBuf,
    },
    /// Campaigns, newest first.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Render a variant's message for one customer (by the shop's customer id).
    Preview {
        /// The campaign's name.
        name: String,
        /// The customer's id in the shop.
        #[arg(long)]
        customer: String,
        /// The variant.
        #[arg(long, default_value = "A")]
        variant: String,
    },
    /// Schedule a campaign for a local date-time in the business time zone
    /// (`2026-12-05 10:00`); `enishi serve` sends it then.
    Schedule {
        /// The campaign's name.
        name: String,
        /// When.
        at: String,
    },
    /// Start a campaign now without sending: snapshot its audience, skip who must not be
    /// contacted (with the reason), hold out and split the rest, and queue their messages for
    /// `enishi serve` or `campaign send`.
    Start {
        /// The campaign's name.
        name: String,
    },
    /// Start a campaign now (if not started) and send it until every message is settled: email
    /// over SMTP, webhook messages as signed POSTs, a call list as one task per customer; safe
    /// to run again after an interruption.
    Send {
        /// The campaign's name.
        name: String,
        /// At most this many messages per second, with every other sender of the database
        /// (default: the channel's setting, --email-rate or --webhook-rate of `enishi settings`).
        #[arg(long, value_parser = parse_rate)]
        rate: Option<f64>,
        /// Seconds a claimed message is held before another sender may take it.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(i64).range(1..=3600))]
        lease_seconds: i64,
        /// Seconds before the first retry of a temporarily refused message (doubling after).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(i64).range(1..=86_400))]
        retry_seconds: i64,
        /// Stop waiting for retries after this many seconds (what is left stays queued for
        /// `enishi serve` or the next run).
        #[arg(long, default_value_t = 600)]
        patience: u64,
    },
    /// A started postal campaign's letters still to post, as the print shop's mailing list
    /// (CSV, Japanese address order, sorted by postal code); or a call campaign's call list
    /// (CSV: name, furigana, phone, last order, points, open issue, due, assignee).
    Export {
        /// The campaign's name.
        name: String,
        /// Only this variant's letters.
        #[arg(long)]
        variant: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Record a postal campaign's letters (of one variant, or all) as posted now.
    Confirm {
        /// The campaign's name.
        name: String,
        /// Only this variant's letters.
        #[arg(long)]
        variant: Option<String>,
    },
    /// Results: audience, skipped by reason, sent, failed, conversions, uplift over the
    /// holdout, cost and ROI per variant; with --versions every version of the mailing.
    Results {
        /// The campaign's name.
        name: String,
        /// Compare every version of the campaign's mailing.
        #[arg(long)]
        versions: bool,
        /// JSON.
        #[arg(long)]
        json: bool,
    },
    /// The customers who got nothing, with the reason (CSV: customer_id, reason).
    Skipped {
        /// The campaign's name.
        name: String,
    },
    /// Cancel a campaign that has not finished; queued messages are not sent.
    Cancel {
        /// The campaign's name.
        name: String,
    },
    /// Propose who gets a call, a letter or an email within a budget — the loyal class and
    /// the highest predicted CLV the personal channels, the long tail email — with the cost
    /// and reach per channel; with --create, make the campaigns (one per channel) as drafts.
    Plan {
        /// The budget, in the workspace currency.
        #[arg(long)]
        budget: String,
        /// What one message costs per channel: call=800,letter=150,email=2.
        #[arg(long)]
        cost: String,
        /// The saved segment to plan for.
        #[arg(long)]
        audience: String,
        /// Create the campaigns, named "NAME (call)", "NAME (letter)", "NAME (email)", each to a
        /// static list of its customers.
        #[arg(long, value_name = "NAME")]
        create: Option<String>,
        /// The email campaign's template (needed with --create when the plan has email).
        #[arg(long)]
        email_template: Option<String>,
        /// JSON (the plan with every customer).
        #[arg(long)]
        json: bool,
    },
}

/// The campaign settings of `enishi settings`.
#[derive(clap::Args)]
pub struct CampaignSettings {
    /// At most N marketing messages per D days per customer and channel, written N/D
    /// (default 2/7).
    #[arg(long)]
    frequency_cap: Option<String>,
    /// No campaign sending in these hours of the business time zone, HH:MM-HH:MM (default
    /// 21:00-09:00), or none.
    #[arg(long)]
    quiet_hours: Option<String>,
    /// The SMTP server: smtp://[user:password@]host[:port], with ?tls=starttls to require
    /// STARTTLS, or smtps://[user:password@]host[:port] for TLS from the first byte
    /// (ENISHI_SMTP_URL overrides it).
    #[arg(long)]
    smtp_url: Option<String>,
    /// A PEM file of CA certificates to trust besides the public ones, for a private relay
    /// (ENISHI_SMTP_CA_FILE overrides it; "none" clears it).
    #[arg(long)]
    smtp_ca_file: Option<String>,
    /// At most this many email messages per second, all senders together (or none).
    #[arg(long)]
    email_rate: Option<String>,
    /// At most this many webhook messages per second, all senders together (or none).
    #[arg(long)]
    webhook_rate: Option<String>,
    /// The From address of campaign email (ENISHI_SMTP_FROM overrides it).
    #[arg(long)]
    smtp_from: Option<String>,
    /// The address customers reach this server at, for unsubscribe links
    /// (https://shop.example).
    #[arg(long)]
    public_url: Option<String>,
    /// The shop's name, for templates (shop.name).
    #[arg(long)]
    shop_name: Option<String>,
    /// The secret webhook messages are signed with when a campaign names none (16 characters
    /// or more).
    #[arg(long)]
    webhook_secret: Option<String>,
}

fn parse_rate(v: &str) -> std::result::Result<f64, String> {
    match enishi_campaigns::pace::parse_rate(v) {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err("give a number of messages per second".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Checks and stores the campaign settings given.
pub fn apply_settings(store: &Store, s: &CampaignSettings) -> Result<()> {
    use enishi_campaigns::policy::{parse_cap, parse_quiet, FREQUENCY_CAP, QUIET_HOURS};
    use enishi_campaigns::unsubscribe::PUBLIC_URL;
    if let Some(v) = &s.frequency_cap {
        parse_cap(v).map_err(|e| BadInput(format!("--frequency-cap: {e}")))?;
    }
    if let Some(v) = &s.quiet_hours {
        parse_quiet(v).map_err(|e| BadInput(format!("--quiet-hours: {e}")))?;
    }
    if let Some(v) = &s.smtp_url {
        SmtpConfig::parse(v).map_err(|e| BadInput(format!("--smtp-url: {e}")))?;
    }
    if let Some(v) = s.smtp_ca_file.as_deref().filter(|v| !v.trim().eq_ignore_ascii_case("none")) {
        enishi_campaigns::email::check_ca_file(std::path::Path::new(v.trim()))
            .map_err(|e| BadInput(format!("--smtp-ca-file: {e}")))?;
    }
    for (flag, v) in [("--email-rate", &s.email_rate), ("--webhook-rate", &s.webhook_rate)] {
        if let Some(v) = v {
            enishi_campaigns::pace::parse_rate(v).map_err(|e| BadInput(format!("{flag}: {e}")))?;
        }
    }
    if let Some(v) = &s.smtp_from {
        if !enishi_campaigns::email::is_address(v) {
            return Err(BadInput(format!("--smtp-from: '{v}' is not an email address")).into());
        }
    }
    if let Some(v) = &s.webhook_secret {
        enishi_campaigns::webhook::check_secret(v).map_err(|e| BadInput(format!("--webhook-secret: {e}")))?;
    }
    if let Some(v) = &s.public_url {
        if !(v.starts_with("https://") || v.starts_with("http://")) {
            return Err(BadInput(format!("--public-url: '{v}' must start with https:// or http://")).into());
        }
    }
    let pairs = [
        (FREQUENCY_CAP, &s.frequency_cap),
        (QUIET_HOURS, &s.quiet_hours),
        (SMTP_URL, &s.smtp_url),
        (SMTP_FROM, &s.smtp_from),
        (SMTP_CA_FILE, &s.smtp_ca_file),
        (enishi_campaigns::pace::EMAIL_RATE, &s.email_rate),
        (enishi_campaigns::pace::WEBHOOK_RATE, &s.webhook_rate),
        (PUBLIC_URL, &s.public_url),
        (ops::SHOP_NAME, &s.shop_name),
        (enishi_campaigns::webhook::WEBHOOK_SECRET, &s.webhook_secret),
    ];
    store.write(|c| {
        for (key, value) in &pairs {
            if let Some(v) = value {
                settings::set(c, key, v.trim())?;
            }
        }
        Ok::<_, enishi_store::StoreError>(())
    })?;
    Ok(())
}

/// The campaign settings in force, one per line, for `enishi settings`.
pub fn describe_settings(store: &Store) -> Result<String> {
    let policy = store.read(enishi_campaigns::policy::Policy::load).map_err(reported)?;
    let quiet =
        policy.quiet.map_or("none".to_string(), |(a, b)| format!("{}-{}", a.format("%H:%M"), b.format("%H:%M")));
    let mut text = format!("frequency cap: {}/{} days\nquiet hours: {quiet}", policy.cap_messages, policy.cap_days);
    for channel in ["email", "webhook"] {
        // Shown only when set, so the output without rates stays as it was.
        if let Some(r) = store.read(|c| enishi_campaigns::pace::configured(c, channel)).map_err(reported)? {
            text.push_str(&format!("\n{channel} rate: {r}/s"));
        }
    }
    Ok(text)
}

pub(crate) fn reported(e: Error) -> anyhow::Error {
    if e.is_users() {
        BadInput(e.to_string()).into()
    } else {
        anyhow::Error::new(e)
    }
}

/// Runs a template command.
pub fn run_template(store: &Store, what: TemplateWhat) -> Result<()> {
    let (_, currency) = super::workspace(store)?;
    match what {
        TemplateWhat::Save { name, locale, subject, html, text } => {
            let read = |p: &PathBuf| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
            let parts = Parts { subject, html: read(&html)?, text: read(&text)? };
            store.write(|c| ops::save_template(c, &name, &locale, &parts, currency)).map_err(reported)?;
            eprintln!("saved template \"{name}\"");
        }
        TemplateWhat::List => {
            for t in store.read(repo::templates)? {
                println!("{}\t{}\t{}", t.name, t.locale, t.subject);
            }
        }
        TemplateWhat::Fields => {
            for (field, meaning) in enishi_campaigns::template::FIELDS {
                println!("{field}\t{meaning}");
            }
        }
    }
    Ok(())
}

/// The SMTP server and From address: `ENISHI_SMTP_URL` / `ENISHI_SMTP_FROM`, else the settings.
pub fn smtp(store: &Store) -> Result<(SmtpConfig, String)> {
    store.read(enishi_campaigns::email::configured).map_err(reported)?.ok_or_else(|| {
        BadInput(
            "no SMTP server: set ENISHI_SMTP_URL (smtp://host:port, smtps://host:465) or `enishi settings --smtp-url`"
                .into(),
        )
        .into()
    })
}

/// Runs a campaign command.
pub fn run(store: &Store, what: CampaignWhat) -> Result<()> {
    let (clock, currency) = super::workspace(store)?;
    match what {
        CampaignWhat::Create { file } => {
            let json = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let k = store.write(|c| ops::create(c, &json, currency)).map_err(reported)?;
            store.write(|c| super::audit(c, "campaign.create", &k.name, serde_json::json!({"channel": k.channel})))?;
            println!("created campaign \"{}\" (draft, {})", k.name, k.channel);
        }
        CampaignWhat::List { json } => {
            for k in store.read(repo::list)? {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"name": k.name, "mailing": k.mailing, "version": k.version,
                            "channel": k.channel, "state": k.state.as_str(), "send_at": k.send_at})
                    );
                } else {
                    println!("{}\t{}\t{}\t{}", k.name, k.channel, k.state.as_str(), k.version);
                }
            }
        }
        CampaignWhat::Preview { name, customer, variant } => {
            let r = store
                .write(|c| {
                    let k = ops::find(c, &name)?;
                    ops::preview(c, &k, &variant, &customer, currency, &clock)
                })
                .map_err(reported)?;
            println!("Subject: {}\n\n{}\n\n--- HTML ---\n{}", r.subject, r.text, r.html);
        }
        CampaignWhat::Schedule { name, at } => {
            let when = clock.parse_timestamp(&at).map_err(|e| BadInput(format!("the time: {e}")))?;
            store
                .write(|c| {
                    let k = ops::find(c, &name)?;
                    ops::schedule(c, &k, when.timestamp())
                })
                .map_err(reported)?;
            println!("scheduled \"{name}\" for {}", clock.format_local(when, "%Y-%m-%d %H:%M %Z"));
        }
        CampaignWhat::Start { name } => {
            let k = store.read(|c| ops::find(c, &name)).map_err(reported)?;
            let started = std::time::Instant::now();
            let m = store.write(|c| ops::start(c, &k, &clock)).map_err(reported)?;
            describe_start(&m);
            println!("materialised in {:.2} s", started.elapsed().as_secs_f64());
        }
        CampaignWhat::Send { name, rate, lease_seconds, retry_seconds, patience } => {
            let k = store.read(|c| ops::find(c, &name)).map_err(reported)?;
            if !["email", "webhook", "call"].contains(&k.channel.as_str()) {
                return Err(BadInput(format!(
                    "\"{name}\" is a {} campaign: export its letters and confirm them (enishi campaign export, confirm)",
                    k.channel
                ))
                .into());
            }
            if matches!(k.state, repo::CampaignState::Draft | repo::CampaignState::Scheduled) {
                let m = store.write(|c| ops::start(c, &k, &clock)).map_err(reported)?;
                describe_start(&m);
            }
            if k.channel == "call" {
                let made = store
                    .write(|c| {
                        let k = ops::find(c, &name)?;
                        enishi_campaigns::calls::create_tasks(c, &k)
                    })
                    .map_err(reported)?;
                store.write(|c| super::audit(c, "campaign.send", &name, serde_json::json!({"tasks": made})))?;
                println!(
                    "created {made} call tasks for \"{name}\" (enishi campaign export \"{name}\" for the call list)"
                );
                return Ok(());
            }
            if k.channel == "webhook" {
                let mut options = SendOptions::new("");
                options.campaign = Some(k.id);
                options.rate_per_second = rate;
                options.lease_seconds = lease_seconds;
                options.retry_seconds = retry_seconds;
                let mut sender = enishi_campaigns::webhook::WebhookSender::new(store, options, clock, currency);
                let total = sender.run_until_done(Duration::from_secs(patience), &mut |_| {}).map_err(reported)?;
                println!("posted {}, retried {}, failed {}", total.sent, total.retried, total.failed);
                return Ok(());
            }
            let (smtp, from) = smtp(store)?;
            let mut options = SendOptions::new(&from);
            options.campaign = Some(k.id);
            options.rate_per_second = rate;
            options.lease_seconds = lease_seconds;
            options.retry_seconds = retry_seconds;
            let mut sender = Sender::new(store, smtp, options, clock, currency);
            let started = std::time::Instant::now();
            // A line on standard error every few seconds, so a long send shows it is moving.
            let mut said = std::time::Instant::now();
            let total = sender
                .run_until_done(Duration::from_secs(patience), &mut |r| {
                    if said.elapsed() >= Duration::from_secs(5) {
                        eprintln!("… sent {}, retried {}, failed {}", r.sent, r.retried, r.failed);
                        said = std::time::Instant::now();
                    }
                })
                .map_err(reported)?;
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            println!(
                "sent {}, retried {}, failed {}, settled {} unconfirmed, in {:.1} s ({:.0}/s)",
                total.sent,
                total.retried,
                total.failed,
                total.settled,
                secs,
                total.sent as f64 / secs
            );
        }
        CampaignWhat::Export { name, variant, out } => {
            let k = store.read(|c| ops::find(c, &name)).map_err(reported)?;
            if k.channel == "call" {
                let rows = store.read(|c| enishi_campaigns::calls::call_list(c, &k, &clock)).map_err(reported)?;
                let writer: Box<dyn std::io::Write> = match &out {
                    Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?),
                    None => Box::new(std::io::stdout().lock()),
                };
                let n = write_call_list(&rows, writer)?;
                store.write(|c| super::audit(c, "campaign.export", &name, serde_json::json!({"calls": n})))?;
                if out.is_some() {
                    eprintln!("exported {n} calls of \"{name}\"");
                }
                return Ok(());
            }
            let contacts = store
                .read(|c| {
                    let k = ops::find(c, &name)?;
                    enishi_campaigns::postal::mailing_list(c, &k, variant.as_deref())
                })
                .map_err(reported)?;
            let writer: Box<dyn std::io::Write> = match &out {
                Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?),
                None => Box::new(std::io::stdout().lock()),
            };
            let n =
                enishi_ingest::export::export_members(&contacts, enishi_ingest::export::MemberLayout::Postal, writer)?;
            store.write(|c| super::audit(c, "campaign.export", &name, serde_json::json!({"letters": n})))?;
            if out.is_some() {
                eprintln!("exported {n} letters of \"{name}\"");
            }
        }
        CampaignWhat::Confirm { name, variant } => {
            let n = store
                .write(|c| {
                    let k = ops::find(c, &name)?;
                    enishi_campaigns::postal::confirm(c, &k, variant.as_deref())
                })
                .map_err(reported)?;
            store.write(|c| super::audit(c, "campaign.confirm", &name, serde_json::json!({"letters": n})))?;
            println!("recorded {n} letters of \"{name}\" as posted");
        }
        CampaignWhat::Results { name, versions: all, json } => {
            let list: Vec<Results> = store
                .read(|c| {
                    let k = ops::find(c, &name)?;
                    if all {
                        versions(c, &k.mailing)
                    } else {
                        Ok(vec![results(c, &k)?])
                    }
                })
                .map_err(reported)?;
            for r in &list {
                if json {
                    println!("{}", serde_json::to_string(r)?);
                } else {
                    print_results(r, &currency);
                }
            }
        }
        CampaignWhat::Skipped { name } => {
            let rows = store
                .read(|c| {
                    let k = ops::find(c, &name)?;
                    Ok::<_, Error>(repo::skipped(c, k.id)?)
                })
                .map_err(reported)?;
            let mut out = csv::Writer::from_writer(std::io::stdout().lock());
            out.write_record(["customer_id", "reason"])?;
            for (_, external, reason) in rows {
                out.write_record([enishi_ingest::export::neutralise(&external).as_ref(), reason.as_str()])?;
            }
            out.flush()?;
        }
        CampaignWhat::Cancel { name } => {
            store
                .write(|c| {
                    let k = ops::find(c, &name)?;
                    ops::cancel(c, &k)
                })
                .map_err(reported)?;
            store.write(|c| super::audit(c, "campaign.cancel", &name, serde_json::json!({})))?;
            println!("cancelled \"{name}\"");
        }
        CampaignWhat::Plan { budget, cost, audience, create, email_template, json } => {
            use enishi_campaigns::plan;
            let budget = plan::read_amount("--budget", &budget).map_err(reported)?;
            let costs = plan::Costs::parse(&cost).map_err(|e| BadInput(format!("--cost: {e}")))?;
            let candidates = store.read(|c| plan::candidates(c, &audience, &clock)).map_err(reported)?;
            let made = plan::make(candidates, budget, &costs);
            let created = match &create {
                Some(prefix) => store
                    .write(|c| plan::create_campaigns(c, &made, &costs, prefix, email_template.as_deref(), currency))
                    .map_err(reported)?,
                None => Vec::new(),
            };
            if create.is_some() {
                store.write(|c| {
                    super::audit(
                        c,
                        "campaign.plan",
                        create.as_deref().unwrap_or_default(),
                        serde_json::json!({"created": created}),
                    )
                })?;
            }
            if json {
                println!("{}", serde_json::json!({"plan": made, "created": created}));
            } else {
                print_plan(&made, &currency);
                for k in &created {
                    println!("created draft \"{}\" for {} customers (list \"{}\")", k.campaign, k.customers, k.list);
                }
            }
        }
    }
    Ok(())
}

fn print_plan(p: &enishi_campaigns::plan::Plan, currency: &enishi_core::Currency) {
    let money =
        |s: &str| s.parse::<enishi_core::Amount>().map(|a| currency.format(a)).unwrap_or_else(|_| s.to_string());
    println!(
        "audience {}, reached {}, cost {} of {} ({} left)",
        p.audience,
        p.reached,
        money(&p.cost),
        money(&p.budget),
        money(&p.left)
    );
    for ch in &p.channels {
        println!(
            "  {:<7} {:>7} customers × {} = {}",
            ch.channel.as_str(),
            ch.customers,
            money(&ch.cost_each),
            money(&ch.cost)
        );
    }
    for (why, n) in &p.unreached {
        if *n > 0 {
            println!("  not reached ({why}): {n}");
        }
    }
}

/// Writes a call list as CSV (cells a spreadsheet would run as formulas neutralised); returns
/// how many calls.
fn write_call_list(rows: &[enishi_campaigns::calls::CallRow], writer: Box<dyn std::io::Write>) -> Result<usize> {
    use enishi_ingest::export::neutralise;
    let mut out = csv::Writer::from_writer(writer);
    out.write_record([
        "customer_id",
        "name",
        "furigana",
        "phone",
        "last_order",
        "points",
        "open_issue",
        "due",
        "assignee",
    ])?;
    for r in rows {
        let points = r.points.to_string();
        out.write_record(
            [
                &r.external_id,
                &r.name,
                &r.furigana,
                &r.phone,
                &r.last_order,
                &points,
                &r.open_issue,
                &r.due,
                &r.assignee,
            ]
            .map(|v| neutralise(v).into_owned()),
        )?;
    }
    out.flush()?;
    Ok(rows.len())
}

/// Says what starting a campaign did (on standard error).
fn describe_start(m: &enishi_campaigns::audience::Materialised) {
    let queued: usize = m.queued.iter().map(|(_, n)| n).sum();
    let skipped: Vec<String> = m.skipped.iter().filter(|(_, n)| *n > 0).map(|(r, n)| format!("{n} {r}")).collect();
    eprintln!(
        "audience {}: {queued} queued, {} held out, skipped: {}",
        m.audience,
        m.holdout,
        if skipped.is_empty() { "none".to_string() } else { skipped.join(", ") }
    );
}

fn print_results(r: &Results, currency: &enishi_core::Currency) {
    let money =
        |s: &str| s.parse::<enishi_core::Amount>().map(|a| currency.format(a)).unwrap_or_else(|_| s.to_string());
    println!("{} ({} {}) — {}, audience {}", r.campaign, r.mailing, r.version, r.state, r.audience);
    for s in &r.statuses {
        match &s.reason {
            Some(why) => println!("  {} ({why}): {}", s.status, s.count),
            None => println!("  {}: {}", s.status, s.count),
        }
    }
    println!("  within {} days of the message:", r.attribution_days);
    for a in r.arms.iter().chain(std::iter::once(&r.total)) {
        let uplift = a.uplift.as_ref().map_or(String::new(), |u| {
            format!(
                ", uplift {:+.2} pts (95% CI {:+.2} to {:+.2}, p = {:.3})",
                u.difference * 100.0,
                u.low * 100.0,
                u.high * 100.0,
                u.p_value
            )
        });
        let roi = a.roi.map_or(String::new(), |x| format!(", ROI {:.0}%", x * 100.0));
        println!(
            "  {:<8} {} members, {} converted ({:.2}%), revenue {}, cost {}{roi}{uplift}",
            a.arm,
            a.members,
            a.conversions,
            a.conversion_rate * 100.0,
            money(&a.revenue),
            money(&a.cost)
        );
    }
}
