//! `enishi loyalty …`: apply and show the programme, starter programmes, the jobs, personal
//! offers, the audit.

use crate::BadInput;
use anyhow::{Context, Result};
use clap::Subcommand;
use enishi_rewards::{LoyaltyError, Programs};
use enishi_store::repo::loyalty;
use enishi_store::Store;
use std::path::PathBuf;

/// Loyalty commands.
#[derive(Subcommand)]
pub enum LoyaltyWhat {
    /// Validate a programme document (JSON) and apply it as a new version.
    Apply {
        /// The document (see docs/loyalty.md).
        file: PathBuf,
    },
    /// Print the programme in force.
    Show,
    /// Print a starter programme to adjust and apply: cafe, retail, ecommerce or demo.
    Starter {
        /// Which one.
        #[arg(value_parser = ["cafe", "retail", "ecommerce", "demo"])]
        name: String,
    },
    /// Run the periodic jobs now: expiry, birthdays, tier reviews, promotion announcements.
    Jobs {
        /// Run as of this time instead of now (local time or RFC 3339).
        #[arg(long)]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// What worked: promotions against the weeks before, stamp cards, membership revenue.
    Report {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-derive every balance from the ledger; exits 1 on any mismatch.
    Verify {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give a personal offer of the programme (its `offers`) to every member of its segment:
    /// once per customer and round.
    Offer {
        /// The offer's id.
        id: String,
        /// The round (such as 2026-12): issuing a round again gives only new members.
        #[arg(long)]
        round: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Suggest happy hours from the shop's quiet windows (by weekday and hour over the last
    /// weeks), each with what it would have cost: the period's orders replayed under the
    /// programme with the promotion added, against the programme in force (nothing written).
    Suggest {
        /// Weeks of orders to read.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(i64).range(2..=52))]
        weeks: i64,
        /// Hours in a window.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=12))]
        hours: u32,
        /// Points multiplier of the suggested promotion.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(2..=10))]
        multiplier: u32,
        /// Write the programme with suggestion N (1 = the quietest) added to FILE, to review
        /// and apply with `enishi loyalty apply FILE`.
        #[arg(long, value_names = ["N", "FILE"], num_args = 2)]
        draft: Option<Vec<String>>,
        /// Instead of happy hours, suggest the multiplier for the loyal and semi-loyal
        /// customers of the last ranking (`enishi analyze`), all week; with `--draft 1 FILE`,
        /// the segment it names is saved when the shop has none of that name.
        #[arg(long)]
        loyal: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Mend books an older version left inconsistent: void ledger entries beyond the points
    /// limit and re-derive balances and lots from the ledger, each change recorded in the
    /// ledger as a correction. Books that agree are left alone.
    Repair {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a loyalty command.
pub fn run(store: &Store, what: LoyaltyWhat) -> Result<()> {
    let (clock, _) = super::workspace(store)?;
    match what {
        LoyaltyWhat::Apply { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let (version, program) = apply(store, &text, clock, "cli")?;
            println!("applied '{}' as version {version}", program.doc.name);
            Ok(())
        }
        LoyaltyWhat::Show => {
            let latest = store.read(loyalty::latest_program)?;
            let p = latest.ok_or_else(|| BadInput(LoyaltyError::NoProgram.to_string()))?;
            eprintln!("version {} (applied by {})", p.version, p.applied_by);
            println!("{}", p.document);
            Ok(())
        }
        LoyaltyWhat::Starter { name } => {
            println!("{}", enishi_loyalty::starter(&name).unwrap_or_default());
            Ok(())
        }
        LoyaltyWhat::Jobs { at, json } => {
            let at = match at {
                Some(t) => clock.parse_timestamp(&t).map_err(|e| BadInput(format!("--at: {e}")))?.timestamp(),
                None => store.now().timestamp(),
            };
            let report = store.write(|c| -> Result<_, enishi_store::StoreError> {
                let programs = Programs::load(c, clock)?;
                enishi_rewards::run_jobs(c, &programs, at)
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "expired {} points in {} lots; {} birthday rewards; {} tier changes; {} promotions announced; {} memberships expired",
                    report.points_expired,
                    report.lots_expired,
                    report.birthday_rewards,
                    report.tier_changes,
                    report.promotions_announced,
                    report.memberships_expired
                );
            }
            Ok(())
        }
        LoyaltyWhat::Report { json } => {
            let report = store.read(|c| -> Result<_, enishi_store::StoreError> {
                let programs = Programs::load(c, clock)?;
                enishi_rewards::report(c, &programs)
            })?;
            let report = report.ok_or_else(|| BadInput(LoyaltyError::NoProgram.to_string()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(());
            }
            println!("programme version {}", report.program_version);
            let percent = |c: Option<f64>| c.map_or("n/a".to_string(), |c| format!("{c:+.1}%"));
            for p in &report.promotions {
                if let (Some(during), Some(before)) = (&p.during, &p.before) {
                    println!(
                        "promotion {}: {} participants, {} points; {} orders, spend {} ({} against {} orders, spend {} the weeks before)",
                        p.name, p.participants, p.points_given, during.orders, during.spend,
                        percent(p.spend_change_percent), before.orders, before.spend
                    );
                    continue;
                }
                let schedule = p.repeat.as_ref().map_or(String::new(), |r| {
                    let days: Vec<String> = r
                        .weekdays
                        .iter()
                        .filter_map(|d| serde_json::to_value(d).ok()?.as_str().map(str::to_string))
                        .collect();
                    format!(" ({} {}-{})", days.join(","), r.from, r.until)
                });
                println!(
                    "recurring promotion {}{schedule}: {} participants, {} points; {} occurrence(s) shown, newest first",
                    p.name,
                    p.participants,
                    p.points_given,
                    p.occurrences.len()
                );
                for o in &p.occurrences {
                    let baseline = o.baseline.as_ref().map_or("no week without it to compare".to_string(), |b| {
                        format!(
                            "{:.1} orders, spend {}, {:.1} points on average in {} week(s) without it",
                            b.orders,
                            b.spend,
                            b.points,
                            b.weeks.len()
                        )
                    });
                    println!(
                        "  {} to {}: {} orders ({}), spend {} ({}), {} points, {} from the promotion; {baseline}",
                        clock.format_local(o.during.from, "%Y-%m-%d %a %H:%M"),
                        clock.format_local(o.during.to, "%Y-%m-%d %H:%M"),
                        o.during.orders,
                        percent(o.orders_change_percent),
                        o.during.spend,
                        percent(o.spend_change_percent),
                        o.during.points,
                        o.points_given
                    );
                }
            }
            for s in &report.stamp_cards {
                println!(
                    "stamp card {}: {} holders, {} completed, {} rewards used",
                    s.name, s.holders, s.completed, s.rewards_used
                );
            }
            for m in &report.memberships {
                println!(
                    "membership {}: {} members, {} payments, revenue {}",
                    m.plan, m.members, m.payments, m.revenue
                );
            }
            Ok(())
        }
        LoyaltyWhat::Repair { json } => {
            let now = store.now().timestamp();
            let repaired = store.write(|c| {
                let repaired = enishi_rewards::repair(c, now)?;
                let customers: Vec<i64> = repaired.iter().map(|r| r.customer_id).collect();
                super::audit(c, "points.repair", "ledger", serde_json::json!({"customers": customers}))?;
                Ok::<_, enishi_store::StoreError>(repaired)
            })?;
            if json {
                println!("{}", serde_json::json!({ "repaired": repaired }));
            } else {
                println!("repaired {} customer(s)", repaired.len());
                for r in &repaired {
                    println!(
                        "  customer {}: balance {} -> {}, lots {} -> {}, {} entr(ies) voided",
                        r.customer_id,
                        r.balance_before,
                        r.balance_after,
                        r.lots_before,
                        r.lots_after,
                        r.voided_entries.len()
                    );
                }
            }
            Ok(())
        }
        LoyaltyWhat::Offer { id, round, json } => {
            let now = store.now().timestamp();
            let issued = store
                .write(|c| -> Result<_, LoyaltyError> {
                    let programs = Programs::load(c, clock)?;
                    enishi_rewards::issue_offer(c, &programs, &id, round.as_deref(), now)
                })
                .map_err(refused)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&issued)?);
            } else {
                println!(
                    "offer '{}' round '{}': {} members, {} given now, {} had it already, {} without a product to name",
                    issued.offer, issued.round, issued.members, issued.issued, issued.already, issued.without_product
                );
            }
            Ok(())
        }
        LoyaltyWhat::Suggest { weeks, multiplier, draft, json, loyal: true, .. } => {
            suggest_loyal(store, clock, weeks, multiplier, draft, json)
        }
        LoyaltyWhat::Suggest { weeks, hours, multiplier, draft, json, loyal: false } => {
            suggest(store, clock, weeks, hours, multiplier, draft, json)
        }
        LoyaltyWhat::Verify { json } => {
            let (checked, bad) = store.read(enishi_rewards::verify)?;
            if json {
                println!("{}", serde_json::json!({"customers_checked": checked, "mismatches": bad}));
            } else {
                println!("checked {checked} customers: {} mismatch(es)", bad.len());
                for m in bad.iter().take(20) {
                    println!("  customer {}: stored {} ledger {} lots {}", m.customer_id, m.stored, m.ledger, m.lots);
                }
            }
            if bad.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("{} balance(s) do not match the ledger", bad.len())
            }
        }
    }
}

/// Applies a programme document; a wrong document is bad input (exit 2).
pub fn apply(
    store: &Store,
    text: &str,
    clock: enishi_core::BusinessClock,
    by: &str,
) -> Result<(i64, enishi_loyalty::Program)> {
    store.write(|c| enishi_rewards::apply_program(c, text, clock, by)).map_err(|e| match e {
        LoyaltyError::Program(p) => BadInput(format!("the programme is not valid: {p}")).into(),
        other => refused(other),
    })
}

/// A loyalty error as the command's failure: a mistake in what was asked is bad input (exit 2).
fn refused(e: LoyaltyError) -> anyhow::Error {
    match e {
        LoyaltyError::Invalid { .. } | LoyaltyError::NoProgram | LoyaltyError::Program(_) => {
            BadInput(e.to_string()).into()
        }
        other => anyhow::Error::from(other),
    }
}

/// The suggestion `--draft N FILE` names among `count`, as an index.
fn chosen(args: &[String], count: usize) -> Result<usize> {
    let n: usize = args[0].parse().map_err(|_| BadInput(format!("--draft: '{}' is not a number", args[0])))?;
    n.checked_sub(1)
        .filter(|&i| i < count)
        .ok_or_else(|| BadInput(format!("--draft: there are {count} suggestion(s), not {n}")).into())
}

/// `enishi loyalty suggest --loyal`: the multiplier for loyal and semi-loyal customers with its
/// replayed cost; with `--draft 1 FILE`, the programme with it written to FILE (and its
/// segment saved when missing).
fn suggest_loyal(
    store: &Store,
    clock: enishi_core::BusinessClock,
    weeks: i64,
    multiplier: u32,
    draft: Option<Vec<String>>,
    json: bool,
) -> Result<()> {
    let (_, currency) = super::workspace(store)?;
    let found = enishi_ingest::drafts::suggest_loyal_promotion(store, clock, currency, store.now(), weeks, multiplier)?;
    if let Some(args) = draft {
        let Some(s) = &found else {
            let why = "--draft: there is no suggestion: no customer is ranked loyal yet (`enishi analyze`)";
            return Err(BadInput(why.into()).into());
        };
        chosen(&args, 1)?;
        if let Some(rule) = &s.segment.rule {
            let node = enishi_segments::text::parse(rule).map_err(|e| anyhow::anyhow!("{e}"))?;
            store
                .write(|c| enishi_segments::saved::create(c, &s.segment.name, &s.segment.description, &node, &clock))?;
            eprintln!("saved the segment \"{}\": {rule}", s.segment.name);
        }
        std::fs::write(&args[1], serde_json::to_string_pretty(&s.draft)?)
            .with_context(|| format!("writing {}", args[1]))?;
        eprintln!(
            "wrote the programme with \"{}\" to {}; apply it with `enishi loyalty apply {}`",
            s.promotion.name, args[1], args[1]
        );
    }
    match (&found, json) {
        (_, true) => println!("{}", serde_json::to_string_pretty(&found)?),
        (None, false) => println!("no customer is ranked loyal or semi-loyal yet: `enishi analyze` ranks them"),
        (Some(s), false) => println!(
            "1. {}x points for the {} loyal and semi-loyal customers (segment \"{}\"{}), all week: {} more points over {} orders in {weeks} weeks",
            multiplier,
            s.members,
            s.segment.name,
            if s.segment.saved { "" } else { ", saved with --draft" },
            s.cost.extra_points,
            s.cost.orders
        ),
    }
    Ok(())
}

/// `enishi loyalty suggest`: the quiet windows, each as a drafted happy hour with its replayed
/// cost; with `--draft N FILE`, the programme with suggestion N added, written to FILE.
fn suggest(
    store: &Store,
    clock: enishi_core::BusinessClock,
    weeks: i64,
    hours: u32,
    multiplier: u32,
    draft: Option<Vec<String>>,
    json: bool,
) -> Result<()> {
    let (_, currency) = super::workspace(store)?;
    let suggestions =
        enishi_ingest::drafts::suggest_happy_hours(store, clock, currency, store.now(), weeks, hours, multiplier)?;
    if let Some(args) = draft {
        let chosen = &suggestions[chosen(&args, suggestions.len())?];
        std::fs::write(&args[1], serde_json::to_string_pretty(&chosen.draft)?)
            .with_context(|| format!("writing {}", args[1]))?;
        eprintln!(
            "wrote the programme with \"{}\" to {}; apply it with `enishi loyalty apply {}`",
            chosen.promotion.name, args[1], args[1]
        );
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&suggestions)?);
    } else if suggestions.is_empty() {
        println!("no quiet window found: too few orders in the last {weeks} weeks");
    }
    for (i, s) in suggestions.iter().enumerate().filter(|_| !json) {
        let w = &s.window;
        println!(
            "{}. {} {:02}:00-{:02}:00: {:.1} orders and {} a week ({:.0}% of the day); {}x points would have given {} more points over {} orders in {weeks} weeks",
            i + 1,
            w.weekday,
            w.from_hour,
            w.until_hour,
            w.orders_per_week,
            w.revenue_per_week,
            w.share_of_day * 100.0,
            multiplier,
            s.cost.extra_points,
            s.cost.orders
        );
    }
    Ok(())
}
