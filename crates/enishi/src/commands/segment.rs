//! `enishi segment` and `enishi list`: segments written in the rule language (docs/segments.md)
//! counted, saved, evaluated and exported, and static lists of customers.

use crate::BadInput;
use anyhow::{Context, Result};
use clap::Subcommand;
use enishi_core::time::{date_of_day, day_of_date};
use enishi_core::BusinessClock;
use enishi_ingest::export::{export_members, MemberLayout};
use enishi_segments::text::{parse, print};
use enishi_segments::{presets, saved};
use enishi_segments::{Error, Node};
use enishi_store::repo::segments::{self as repo, Contact};
use enishi_store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Segment commands.
#[derive(Subcommand)]
pub enum SegmentWhat {
    /// Count the customers a rule selects, without saving it; the count is the last number
    /// printed.
    Count {
        /// The rule, such as 'bought(sku: "A") and not bought(sku: "B")'.
        rule: String,
        /// Evaluate as of this day (YYYY-MM-DD) instead of today.
        #[arg(long)]
        as_of: Option<String>,
        /// Print only {"count": N}.
        #[arg(long)]
        json: bool,
    },
    /// Save a rule as a named segment (checked first; nothing is saved when it is wrong).
    Create {
        /// The segment's name.
        name: String,
        /// The rule.
        rule: String,
        /// What the segment is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Replace a saved segment's rule.
    Update {
        /// The segment's name.
        name: String,
        /// The new rule.
        rule: String,
        /// What the segment is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Saved segments with their rule and the count at their last evaluation.
    List,
    /// Evaluate a saved segment now: its rule, count, and who joined and left since the last
    /// evaluation (which this records).
    Show {
        /// The segment's name.
        name: String,
        /// Evaluate as of this day (YYYY-MM-DD) instead of today.
        #[arg(long)]
        as_of: Option<String>,
    },
    /// A saved segment's members: external id, name, email.
    Members {
        /// The segment's name.
        name: String,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        limit: u64,
    },
    /// Export a saved segment's members as CSV: contacts, or a postal mailing (only customers
    /// who opted in to post, sorted by postal code, in the order a Japanese envelope is
    /// written).
    Export {
        /// The segment's name.
        name: String,
        /// contacts or postal.
        #[arg(long, default_value = "contacts", value_parser = ["contacts", "postal"])]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Keep exactly who is in a segment now, under a label (for a campaign's audience).
    Snapshot {
        /// The segment's name.
        name: String,
        /// What the snapshot is for, such as "coffee DM v2".
        #[arg(long)]
        label: String,
    },
    /// The ready-made segments with their counts, and the product pairs bought together most
    /// often (to choose A and B); --save keeps them as ordinary, editable segments.
    Presets {
        /// Product A of the "bought A only / A and B / B only" mailings.
        #[arg(long, requires = "b")]
        a: Option<String>,
        /// Product B.
        #[arg(long, requires = "a")]
        b: Option<String>,
        /// Count as of this day (YYYY-MM-DD) instead of today.
        #[arg(long)]
        as_of: Option<String>,
        /// Save the presets as segments (a name already used is left as it is).
        #[arg(long)]
        save: bool,
    },
    /// Delete a saved segment (its snapshots are kept).
    Delete {
        /// The segment's name.
        name: String,
    },
}

/// Static list commands.
#[derive(Subcommand)]
pub enum ListWhat {
    /// Create an empty list.
    Create {
        /// The list's name.
        name: String,
        /// What the list is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Add the customers named in a UTF-8 CSV file (first column: external id or email; a
    /// header row `external_id` or `email` is skipped). When any is unknown, they are all
    /// reported by line and nothing is added, unless --skip-unknown.
    Import {
        /// The list's name.
        name: String,
        /// The CSV file.
        file: PathBuf,
        /// Add the known customers and report the unknown ones.
        #[arg(long)]
        skip_unknown: bool,
    },
    /// Remove customers (by external id or email) from a list.
    Remove {
        /// The list's name.
        name: String,
        /// External ids or emails.
        #[arg(required = true)]
        customers: Vec<String>,
    },
    /// Lists with their number of members.
    Show,
    /// Delete a list.
    Delete {
        /// The list's name.
        name: String,
    },
}

/// A segment error as the command line reports it: the user's mistakes exit with status 2.
fn reported(e: Error) -> anyhow::Error {
    match e {
        Error::Store(e) => anyhow::Error::new(e),
        other => BadInput(other.to_string()).into(),
    }
}

fn rule(text: &str) -> Result<Node> {
    parse(text).map_err(|e| BadInput(format!("the rule: {e}")).into())
}

/// The as-of day: `--as-of` (YYYY-MM-DD), or today in the business time zone.
pub(crate) fn as_of_day(store: &Store, clock: &BusinessClock, as_of: Option<&str>) -> Result<i64> {
    match as_of {
        None => Ok(clock.day_number(store.now())),
        Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(day_of_date)
            .map_err(|_| BadInput(format!("--as-of '{s}' is not a YYYY-MM-DD date")).into()),
    }
}

/// Runs a segment command.
pub fn run(store: &Store, what: SegmentWhat) -> Result<()> {
    let (clock, _) = super::workspace(store)?;
    match what {
        SegmentWhat::Count { rule: text, as_of, json } => {
            let node = rule(&text)?;
            let day = as_of_day(store, &clock, as_of.as_deref())?;
            let n = store.read(|c| enishi_segments::count(c, &node, day, &clock)).map_err(reported)?;
            if !store.read(enishi_store::repo::purchase_summary::state)?.fresh {
                eprintln!(
                    "note: the purchase summary is out of date after a large import, so purchase conditions \
                     read every order line (slower); `enishi analyze purchases` rebuilds it"
                );
            }
            if json {
                println!("{}", serde_json::json!({ "count": n }));
            } else {
                println!("{}\nas of {}\n{n}", print(&node), date_of_day(day));
            }
        }
        SegmentWhat::Create { name, rule: text, description } => {
            let node = rule(&text)?;
            let s = store.write(|c| saved::create(c, &name, &description, &node, &clock)).map_err(reported)?;
            eprintln!("saved segment \"{}\": {}", s.name, print(&node));
        }
        SegmentWhat::Update { name, rule: text, description } => {
            let node = rule(&text)?;
            let s = store.write(|c| saved::update(c, &name, &description, &node, &clock)).map_err(reported)?;
            eprintln!("updated segment \"{}\": {}", s.name, print(&node));
        }
        SegmentWhat::List => {
            for s in store.read(repo::list)? {
                let text = saved::read_rule(&s).map(|n| print(&n)).unwrap_or_else(|e| e.to_string());
                let count = s.last_count.map_or("-".to_string(), |n| n.to_string());
                println!("{}\t{count}\t{text}", s.name);
            }
        }
        SegmentWhat::Show { name, as_of } => {
            let day = as_of_day(store, &clock, as_of.as_deref())?;
            let (s, ids, change) = store
                .write(|c| {
                    let s = saved::find(c, &name)?;
                    let (ids, change) = saved::evaluate(c, &s, day, &clock)?;
                    Ok::<_, Error>((s, ids, change))
                })
                .map_err(reported)?;
            let node = saved::read_rule(&s).map_err(reported)?;
            println!("{}\n{}", s.name, print(&node));
            if !s.description.is_empty() {
                println!("{}", s.description);
            }
            println!(
                "as of {}: {} customers, {} joined and {} left since the last evaluation",
                date_of_day(day),
                ids.len(),
                change.joined.len(),
                change.left.len()
            );
        }
        SegmentWhat::Members { name, limit } => {
            let contacts = members(store, &clock, &name)?;
            for x in contacts.iter().take(limit as usize) {
                println!(
                    "{}\t{}\t{}",
                    x.external_id,
                    x.name.as_deref().unwrap_or(""),
                    x.email.as_deref().unwrap_or("")
                );
            }
        }
        SegmentWhat::Export { name, format, out } => {
            let contacts = members(store, &clock, &name)?;
            let layout: MemberLayout = format.parse().map_err(BadInput)?;
            let n = write_export(&contacts, layout, out.as_deref())?;
            let target = out.as_ref().map_or("stdout".to_string(), |p| p.display().to_string());
            store.write(|c| {
                super::audit(c, "segment.export", &name, serde_json::json!({"rows": n, "format": format, "to": target}))
            })?;
            if out.is_some() {
                eprintln!("exported {n} customers of \"{name}\"");
            }
        }
        SegmentWhat::Snapshot { name, label } => {
            let day = clock.day_number(store.now());
            let snap = store
                .write(|c| {
                    let s = saved::find(c, &name)?;
                    let node = saved::read_rule(&s)?;
                    saved::snapshot(c, Some(&s), &node, &label, day, &clock)
                })
                .map_err(reported)?;
            println!("snapshot {} of \"{name}\" ({}): {} customers", snap.id, snap.label, snap.member_count);
        }
        SegmentWhat::Presets { a, b, as_of, save } => {
            let day = as_of_day(store, &clock, as_of.as_deref())?;
            let pairs = store.read(|c| presets::top_pairs(c, 5))?;
            println!("bought together most often:");
            for p in &pairs {
                println!("  {} + {}\t{} customers", p.a, p.b, p.customers);
            }
            let pair = a.as_deref().zip(b.as_deref());
            for p in presets::presets(pair) {
                let n = store.read(|c| enishi_segments::count(c, &p.rule, day, &clock)).map_err(reported)?;
                println!("{}\t{n}\t{}\t({})", p.name, print(&p.rule), p.description);
                if save {
                    match store.write(|c| saved::create(c, &p.name, p.description, &p.rule, &clock)) {
                        Ok(_) => eprintln!("saved \"{}\"", p.name),
                        Err(Error::NameTaken(..)) => eprintln!("\"{}\" exists; left as it is", p.name),
                        Err(e) => return Err(reported(e)),
                    }
                }
            }
        }
        SegmentWhat::Delete { name } => {
            store
                .write(|c| {
                    let s = saved::find(c, &name)?;
                    if let Some(user) = enishi_rewards::programme_field_naming(c, &s.name)? {
                        return Err(Error::InUse(s.name, user));
                    }
                    repo::delete(c, s.id)?;
                    Ok::<_, Error>(())
                })
                .map_err(reported)?;
            eprintln!("deleted segment \"{name}\"");
        }
    }
    Ok(())
}

/// A saved segment's members with their contacts, evaluated today.
fn members(store: &Store, clock: &BusinessClock, name: &str) -> Result<Vec<Contact>> {
    let day = clock.day_number(store.now());
    store
        .read(|c| {
            let s = saved::find(c, name)?;
            let ids = enishi_segments::members(c, &saved::read_rule(&s)?, day, clock)?;
            Ok::<_, Error>(repo::contacts(c, &ids)?)
        })
        .map_err(reported)
}

/// Writes the export; returns the rows written.
fn write_export(contacts: &[Contact], layout: MemberLayout, out: Option<&Path>) -> Result<usize> {
    let writer: Box<dyn Write> = match out {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    Ok(export_members(contacts, layout, writer)?)
}

/// Runs a static list command.
pub fn run_list(store: &Store, what: ListWhat) -> Result<()> {
    let find = |c: &mut dyn enishi_store::Conn, name: &str| {
        repo::list_by_name(c, name)?.ok_or_else(|| Error::NotFound("list", name.to_string()))
    };
    match what {
        ListWhat::Create { name, description } => {
            store.write(|c| saved::create_list(c, &name, &description)).map_err(reported)?;
            eprintln!("created list \"{name}\"");
        }
        ListWhat::Import { name, file, skip_unknown } => {
            let keys = read_keys(&file)?;
            let (added, unknown) = store
                .write(|c| {
                    let list = find(c, &name)?;
                    let ids = repo::resolve_keys(c, &keys.iter().map(|(_, k)| k.clone()).collect::<Vec<_>>())?;
                    let unknown: Vec<String> = keys
                        .iter()
                        .zip(&ids)
                        .filter(|(_, id)| id.is_none())
                        .map(|((line, key), _)| format!("line {line}: {key}"))
                        .collect();
                    if !unknown.is_empty() && !skip_unknown {
                        return Ok((None, unknown));
                    }
                    let known: Vec<i64> = ids.into_iter().flatten().collect();
                    Ok::<_, Error>((Some(repo::add_to_list(c, list.id, &known)?), unknown))
                })
                .map_err(reported)?;
            for u in &unknown {
                eprintln!("unknown customer, {u}");
            }
            match added {
                Some(n) => eprintln!("added {n} customers to \"{name}\" ({} unknown skipped)", unknown.len()),
                None => {
                    return Err(BadInput(format!(
                        "{} unknown customers in {}; nothing was added (--skip-unknown adds the others)",
                        unknown.len(),
                        file.display()
                    ))
                    .into())
                }
            }
        }
        ListWhat::Remove { name, customers } => {
            let removed = store
                .write(|c| {
                    let list = find(c, &name)?;
                    let ids: Vec<i64> = repo::resolve_keys(c, &customers)?.into_iter().flatten().collect();
                    Ok::<_, Error>(repo::remove_from_list(c, list.id, &ids)?)
                })
                .map_err(reported)?;
            eprintln!("removed {removed} customers from \"{name}\"");
        }
        ListWhat::Show => {
            for l in store.read(repo::lists)? {
                println!("{}\t{}\t{}", l.name, l.members, l.description);
            }
        }
        ListWhat::Delete { name } => {
            store
                .write(|c| {
                    let list = find(c, &name)?;
                    repo::delete_list(c, list.id)?;
                    Ok::<_, Error>(())
                })
                .map_err(reported)?;
            eprintln!("deleted list \"{name}\"");
        }
    }
    Ok(())
}

/// The first column of each non-blank line of a UTF-8 CSV file, with its line number; a
/// header row is skipped.
fn read_keys(file: &Path) -> Result<Vec<(u64, String)>> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        BadInput(format!("{}: line {line} is not UTF-8 (save the file as UTF-8)", file.display()))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut keys = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| BadInput(format!("{}: {e}", file.display())))?;
        let line = record.position().map_or(i as u64 + 1, |p| p.line());
        let key = record.get(0).unwrap_or("").trim().to_string();
        if key.is_empty() || (i == 0 && ["external_id", "email", "customer_id"].contains(&key.to_lowercase().as_str()))
        {
            continue;
        }
        keys.push((line, key));
    }
    Ok(keys)
}
