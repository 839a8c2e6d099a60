//! `enishi review` and `enishi change`: reviews from the command line — invite after an
//! order, list, approve or reject — and closing the loop: record a change the shop made, link
//! feedback to it (or unlink it), list them (docs/listening.md).

use crate::BadInput;
use anyhow::Result;
use clap::Subcommand;
use enishi_campaigns::{changes, reviews, Error};
use enishi_store::repo::changes as change_rows;
use enishi_store::repo::reviews::{self as review_rows, ReviewQuery};
use enishi_store::Store;

/// Review commands.
#[derive(Subcommand)]
pub enum ReviewWhat {
    /// Invite the customer of an order to review a product of it (or the whole order), and
    /// print the link; or, with --since, invite the customer of every order placed since a day
    /// to review it. A message sends the newest invitation as `{{ review_url }}`.
    Invite {
        /// The shop's order id.
        #[arg(long, conflicts_with = "since", required_unless_present = "since")]
        order: Option<String>,
        /// A product on the order (default: the whole order).
        #[arg(long, requires = "order")]
        sku: Option<String>,
        /// Every order placed on or after this day (YYYY-MM-DD, business time zone).
        #[arg(long)]
        since: Option<String>,
    },
    /// List reviews (the moderation queue: --status pending).
    List {
        /// invited, pending, approved or rejected.
        #[arg(long)]
        status: Option<String>,
        /// Only reviews of this product.
        #[arg(long)]
        sku: Option<String>,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve, reject, or put back to pending a written review.
    Moderate {
        /// The review's id.
        id: i64,
        /// approved, rejected or pending.
        #[arg(long)]
        status: String,
    },
    /// The rating of products: the count and average stars of their approved reviews.
    Rating {
        /// The products' SKUs.
        #[arg(required = true)]
        skus: Vec<String>,
    },
}

/// Change commands.
#[derive(Subcommand)]
pub enum ChangeWhat {
    /// Record a change the shop made ("delivery now within 3 days").
    Create {
        /// Its short key: 1–64 of a–z, 0–9, '-', '_', '.' (`raised(change: "KEY")`).
        key: String,
        /// What changed, in a line.
        #[arg(long)]
        title: String,
        /// The day it took effect (YYYY-MM-DD).
        #[arg(long)]
        on: String,
        /// More words about it.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Link feedback to a change: an interaction, a survey answer (by its invitation's id) or
    /// a written review.
    Link {
        /// The change's key.
        key: String,
        /// interaction, survey or review.
        #[arg(long)]
        kind: String,
        /// The feedback's id.
        #[arg(long)]
        id: i64,
    },
    /// Remove the link of feedback to a change.
    Unlink {
        /// The change's key.
        key: String,
        /// interaction, survey or review.
        #[arg(long)]
        kind: String,
        /// The feedback's id.
        #[arg(long)]
        id: i64,
    },
    /// Every change, the latest first, with its feedback and customers.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

fn reported(e: Error) -> anyhow::Error {
    if e.is_users() {
        BadInput(e.to_string()).into()
    } else {
        anyhow::Error::new(e)
    }
}

/// Runs a review command.
pub fn run(store: &Store, what: ReviewWhat) -> Result<()> {
    let now = store.now().timestamp();
    match what {
        ReviewWhat::Invite { order: Some(order), sku, .. } => {
            let (r, link) = store
                .write(|c| {
                    let (r, _) = reviews::invite(c, &order, sku.as_deref(), now)?;
                    let link = reviews::link(c, &r)?;
                    Ok::<_, Error>((r, link))
                })
                .map_err(reported)?;
            let what = r.sku.as_deref().map_or(format!("order {}", r.order), |s| format!("{s} of order {}", r.order));
            println!("review {} of {what} ({}): {link}", r.id, r.status);
        }
        ReviewWhat::Invite { since, .. } => {
            let (clock, _) = super::workspace(store)?;
            let since = since.unwrap_or_default();
            let day = chrono::NaiveDate::parse_from_str(since.trim(), "%Y-%m-%d")
                .map_err(|_| BadInput(format!("--since: '{since}' is not a date such as 2026-12-01")))?;
            let from = clock.start_of_day(enishi_core::time::day_of_date(day)).timestamp();
            let invited = store.write(|c| reviews::invite_since(c, from, now)).map_err(reported)?;
            println!("invited the customers of {invited} orders to review them");
        }
        ReviewWhat::List { status, sku, json } => {
            let q = ReviewQuery { status, sku, customer_id: None };
            let list = store.read(|c| review_rows::list(c, &q, i64::MAX, 0))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for r in list {
                    let stars = r.stars.map_or("-".to_string(), |s| format!("{s}/5"));
                    println!(
                        "{}\t{}\t{}\t{}\t{stars}\t{}",
                        r.id,
                        r.status,
                        r.order,
                        r.sku.as_deref().unwrap_or("(order)"),
                        r.body.as_deref().unwrap_or("").replace(['\n', '\r', '\t'], " ")
                    );
                }
            }
        }
        ReviewWhat::Moderate { id, status } => {
            let r = store.write(|c| reviews::moderate(c, id, status.trim(), "cli")).map_err(reported)?;
            println!("review {} is {}", r.id, r.status);
        }
        ReviewWhat::Rating { skus } => {
            for r in store.read(|c| reviews::ratings(c, &skus)).map_err(reported)? {
                let average = r.average.map_or("-".to_string(), |a| format!("{a:.1}"));
                println!("{}\t{average}\t{} reviews", r.sku, r.count);
            }
        }
    }
    Ok(())
}

/// Runs a change command.
pub fn run_change(store: &Store, what: ChangeWhat) -> Result<()> {
    match what {
        ChangeWhat::Create { key, title, on, description } => {
            let ch = store.write(|c| changes::create(c, &key, &title, &description, &on)).map_err(reported)?;
            println!("change {} \"{}\" since {}", ch.key, ch.title, ch.changed_on);
        }
        ChangeWhat::Link { key, kind, id } => {
            let (linked, ch) = store
                .write(|c| {
                    let linked = changes::link(c, &key, &kind, id)?;
                    Ok::<_, Error>((linked, changes::find(c, &key)?))
                })
                .map_err(reported)?;
            let done = if linked { "linked" } else { "already linked" };
            println!("{kind} {id} {done} to {}: {} customers raised it", ch.key, ch.customers);
        }
        ChangeWhat::Unlink { key, kind, id } => {
            store.write(|c| changes::unlink(c, &key, &kind, id)).map_err(reported)?;
            println!("{kind} {id} unlinked from {}", key.trim());
        }
        ChangeWhat::List { json } => {
            let list = store.read(change_rows::list)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for ch in list {
                    println!(
                        "{}\t{}\t{}\t{} feedback\t{} customers",
                        ch.changed_on, ch.key, ch.title, ch.feedback, ch.customers
                    );
                }
            }
        }
    }
    Ok(())
}
