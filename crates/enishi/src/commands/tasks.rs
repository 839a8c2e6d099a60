//! `enishi tasks`: follow-up tasks from the command line — list them (one user's, overdue,
//! by status), make one for a customer, mark one done with its outcome (docs/listening.md).

use crate::BadInput;
use anyhow::Result;
use clap::Subcommand;
use enishi_core::{TaskKind, TaskStatus};
use enishi_store::repo::{customers, tasks};
use enishi_store::Store;

/// Task commands.
#[derive(Subcommand)]
pub enum TasksWhat {
    /// Tasks, the soonest due first: id, due time, status, kind, customer, assignee, title.
    List {
        /// Only this user's (sign-in email).
        #[arg(long)]
        assignee: Option<String>,
        /// Only open tasks due before now.
        #[arg(long)]
        overdue: bool,
        /// open, done or cancelled (default: open).
        #[arg(long, default_value = "open")]
        status: String,
        /// At most this many.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
    },
    /// Make a task for a customer (their shop id), for `--assignee` or else their owner.
    Create {
        /// The customer's shop id.
        #[arg(long)]
        customer: String,
        /// call, email, letter or meeting.
        #[arg(long, default_value = "call")]
        kind: String,
        /// What to do.
        #[arg(long)]
        title: String,
        /// When it is due: a date (local midnight) or a time, in the business time zone.
        #[arg(long)]
        due: String,
        /// The user who is to do it (sign-in email).
        #[arg(long)]
        assignee: Option<String>,
    },
    /// Mark a task done, with what came of it.
    Done {
        /// The task's id (from `enishi tasks list`).
        id: i64,
        /// What came of it.
        #[arg(long)]
        outcome: Option<String>,
    },
}

/// The enabled user with sign-in `email`, or a bad-input error naming `flag`.
fn user_id(store: &Store, flag: &str, email: &str) -> Result<i64> {
    match store.read(|c| tasks::user_by_email(c, email))? {
        Some(u) => Ok(u.id),
        None => Err(BadInput(format!("{flag}: no enabled user has the email '{email}'")).into()),
    }
}

/// Runs a task command.
pub fn run(store: &Store, what: TasksWhat) -> Result<()> {
    match what {
        TasksWhat::List { assignee, overdue, status, limit } => {
            let status: TaskStatus =
                status.parse().map_err(|e: enishi_core::ParseError| BadInput(format!("--status: {e}")))?;
            let assignee_id = assignee.map(|a| user_id(store, "--assignee", &a)).transpose()?;
            let now = store.now();
            let q = tasks::TaskQuery {
                assignee_id,
                status: Some(status),
                due_before: overdue.then_some(now.timestamp()),
                ..tasks::TaskQuery::default()
            };
            for t in store.read(|c| tasks::list(c, &q, limit, 0))? {
                let late = if t.status == TaskStatus::Open && t.due_at < now { " (overdue)" } else { "" };
                println!(
                    "{}\t{}{late}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.due_at.to_rfc3339(),
                    t.status,
                    t.kind,
                    t.customer_name.as_deref().unwrap_or(""),
                    t.assignee.map(|u| u.email).unwrap_or_default(),
                    t.title
                );
            }
        }
        TasksWhat::Create { customer, kind, title, due, assignee } => {
            let kind: TaskKind = kind.parse().map_err(|e: enishi_core::ParseError| BadInput(format!("--kind: {e}")))?;
            if title.trim().is_empty() {
                return Err(BadInput("--title: is empty".into()).into());
            }
            let (clock, _) = super::workspace(store)?;
            let due = clock.parse_timestamp(&due).map_err(|e| BadInput(format!("--due: {e}")))?;
            let assignee_id = assignee.map(|a| user_id(store, "--assignee", &a)).transpose()?;
            let Some(customer_id) = store.read(|c| customers::id_by_external_id(c, customer.trim()))? else {
                return Err(BadInput(format!("--customer: no customer has the shop id '{customer}'")).into());
            };
            let made = store.write(|c| {
                let assignee_id = match assignee_id {
                    Some(id) => Some(id),
                    None => tasks::customer_owner(c, customer_id)?.map(|u| u.id),
                };
                let new = tasks::NewTask {
                    customer_id,
                    interaction_id: None,
                    kind,
                    title: title.trim().to_string(),
                    due_at: due.timestamp(),
                    assignee_id,
                    created_by: Some("cli".into()),
                };
                tasks::create(c, &new)
            })?;
            println!("{}", made.id);
        }
        TasksWhat::Done { id, outcome } => {
            let ch = tasks::TaskChange {
                status: Some(TaskStatus::Done),
                outcome: outcome.map(|o| Some(o.trim().to_string()).filter(|o| !o.is_empty())),
                ..tasks::TaskChange::default()
            };
            if store.write(|c| tasks::update(c, id, &ch))?.is_none() {
                return Err(BadInput(format!("no task {id} (see `enishi tasks list`)")).into());
            }
            eprintln!("task {id} is done");
        }
    }
    Ok(())
}
