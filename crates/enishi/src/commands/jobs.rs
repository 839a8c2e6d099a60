//! `enishi jobs`: the job queue seen from the command line — how many jobs are in each state,
//! the jobs in one state with their errors, and a dead job queued again.

use crate::BadInput;
use anyhow::Result;
use clap::Subcommand;
use enishi_store::repo::jobs::{self, JobState};
use enishi_store::Store;

/// Job queue commands.
#[derive(Subcommand)]
pub enum JobsWhat {
    /// Jobs by state, then the jobs in one state (dead by default), oldest first, with their
    /// last error.
    List {
        /// queued, running, done or dead.
        #[arg(long, default_value = "dead")]
        state: JobState,
        /// Only jobs of this kind.
        #[arg(long)]
        kind: Option<String>,
        /// At most this many jobs.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
    },
    /// Queue a dead job again, with a fresh set of attempts.
    Retry {
        /// The job's id (from `enishi jobs list`).
        id: i64,
    },
}

/// Runs a job queue command.
pub fn run(store: &Store, what: JobsWhat) -> Result<()> {
    match what {
        JobsWhat::List { state, kind, limit } => {
            let counts = store.read(jobs::counts)?;
            let shown: Vec<String> =
                JobState::ALL.iter().zip(counts).map(|(s, n)| format!("{} {n}", s.as_str())).collect();
            println!("{}", shown.join(", "));
            for j in store.read(|c| jobs::list(c, kind.as_deref(), state, limit))? {
                println!(
                    "{}\t{}\t{}\tattempt {} of {}\t{}",
                    j.id,
                    j.kind,
                    j.idempotency_key,
                    j.attempts,
                    j.max_attempts,
                    j.last_error.as_deref().unwrap_or("")
                );
            }
        }
        JobsWhat::Retry { id } => {
            if !store.write(|c| jobs::retry_dead(c, id, store.now().timestamp()))? {
                return Err(BadInput(format!("job {id} is not a dead job (see `enishi jobs list`)")).into());
            }
            eprintln!("job {id} is queued again");
        }
    }
    Ok(())
}
