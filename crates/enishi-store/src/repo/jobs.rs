//! The durable job queue: work to do later, claimed by one worker at a time.
//!
//! A job has a kind (what to do), a payload (JSON), an idempotency key (enqueueing the same key
//! twice makes one job), a time before which it does not run, and a number of attempts. A
//! worker claims ready jobs with a lease; it then completes or fails each one. A failed job is
//! tried again after a delay that doubles with each attempt; after its last attempt it stays in
//! the queue as `dead`, with its error, until someone retries or it is cleaned up. A worker that
//! dies holding a job leaves it to be claimed again once the lease runs out (that counts as an
//! attempt). PostgreSQL workers claim with `FOR UPDATE SKIP LOCKED`, so they never wait for one
//! another and never take the same job; SQLite has one writer at a time, which gives the same.
//!
//! Every function takes the time (`now`, Unix seconds) from its caller, so tests and the
//! scheduler drive the clock.

use crate::db::{Conn, Row};
use crate::{params, StoreError};

/// The first retry waits this long (seconds); each further one twice the one before.
pub const FIRST_RETRY_DELAY: i64 = 30;
/// No retry waits longer than this (seconds).
pub const LONGEST_RETRY_DELAY: i64 = 6 * 3600;
/// Attempts a job gets unless its enqueuer says otherwise.
pub const DEFAULT_ATTEMPTS: i64 = 5;

/// Work to put on the queue.
#[derive(Debug, Clone, Copy)]
pub struct NewJob<'a> {
    /// What to do, for example `campaign.send` (workers claim by kind).
    pub kind: &'a str,
    /// Names this piece of work: a second enqueue with the same key is the same job.
    pub idempotency_key: &'a str,
    /// What the worker needs, as JSON.
    pub payload: &'a str,
    /// Not before this instant (Unix seconds).
    pub run_after: i64,
    /// Attempts before the job is dead (at least 1).
    pub max_attempts: i64,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for its `run_after` and a worker.
    Queued,
    /// Claimed by a worker until its lease ends.
    Running,
    /// Completed.
    Done,
    /// Failed on its last attempt; kept with its error.
    Dead,
}

impl JobState {
    /// Every state, in the order [`counts`] gives them.
    pub const ALL: [JobState; 4] = [JobState::Queued, JobState::Running, JobState::Done, JobState::Dead];

    /// The state as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }
}

impl std::str::FromStr for JobState {
    type Err = String;

    fn from_str(s: &str) -> Result<JobState, String> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("'{s}' is not a job state (queued, running, done or dead)"))
    }
}

fn state_of(r: &Row) -> Result<JobState, StoreError> {
    r.text("state")?.parse().map_err(StoreError::Decode)
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// What to do.
    pub kind: String,
    /// The key it was enqueued with.
    pub idempotency_key: String,
    /// What the worker needs, as JSON.
    pub payload: String,
    /// Where it is.
    pub state: JobState,
    /// Not before this instant (Unix seconds); for a failed job, when it is tried again.
    pub run_after: i64,
    /// Attempts so far (a claim is an attempt).
    pub attempts: i64,
    /// Attempts before it is dead.
    pub max_attempts: i64,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// The worker holding it, while running.
    pub claimed_by: Option<String>,
    /// When the holder's lease ends, while running.
    pub lease_until: Option<i64>,
    /// When it was enqueued.
    pub created_at: i64,
    /// When it was completed or died.
    pub finished_at: Option<i64>,
}

const COLUMNS: [&str; 13] = [
    "id",
    "kind",
    "idempotency_key",
    "payload",
    "state",
    "run_after",
    "attempts",
    "max_attempts",
    "last_error",
    "claimed_by",
    "lease_until",
    "created_at",
    "finished_at",
];

fn job(r: &Row) -> Result<Job, StoreError> {
    Ok(Job {
        id: r.int("id")?,
        kind: r.text("kind")?,
        idempotency_key: r.text("idempotency_key")?,
        payload: r.text("payload")?,
        state: state_of(r)?,
        run_after: r.int("run_after")?,
        attempts: r.int("attempts")?,
        max_attempts: r.int("max_attempts")?,
        last_error: r.opt_text("last_error")?,
        claimed_by: r.opt_text("claimed_by")?,
        lease_until: r.opt_int("lease_until")?,
        created_at: r.int("created_at")?,
        finished_at: r.opt_int("finished_at")?,
    })
}

/// Puts a job on the queue unless one with its key is there already (in any state). Returns
/// the job's id and whether this call created it.
pub fn enqueue(c: &mut dyn Conn, job: &NewJob<'_>, now: i64) -> Result<(i64, bool), StoreError> {
    if job.max_attempts < 1 {
        return Err(StoreError::OutOfRange(format!(
            "a job's max_attempts must be at least 1, not {}",
            job.max_attempts
        )));
    }
    let created = c.query_opt(
        "INSERT INTO jobs (kind, idempotency_key, payload, run_after, max_attempts, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        params![job.kind, job.idempotency_key, job.payload, job.run_after, job.max_attempts, now],
    )?;
    match created {
        Some(r) => Ok((r.int("id")?, true)),
        None => {
            let r = c.query_one("SELECT id FROM jobs WHERE idempotency_key = $1", params![job.idempotency_key])?;
            Ok((r.int("id")?, false))
        }
    }
}

/// Claims up to `limit` ready jobs of the given kinds for `worker`, until `lease_until`: queued
/// jobs whose time has come, and running jobs whose holder's lease has run out. Each claim
/// counts as an attempt. Jobs whose lease ran out on their last attempt become dead first.
/// Returns the claimed jobs, oldest due first.
pub fn claim(
    c: &mut dyn Conn,
    kinds: &[&str],
    worker: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<Job>, StoreError> {
    if kinds.is_empty() || limit <= 0 {
        return Ok(Vec::new());
    }
    c.execute(
        "UPDATE jobs SET state = 'dead', finished_at = $1, claimed_by = NULL, lease_until = NULL, \
         last_error = COALESCE(last_error || '; ', '') || 'the worker''s lease ran out on the last attempt' \
         WHERE state = 'running' AND lease_until <= $1 AND attempts >= max_attempts",
        params![now],
    )?;
    use sea_query::{Alias, Cond, Expr, ExprTrait, LockBehavior, LockType, Order, Query};
    let col = |name: &str| Expr::col(Alias::new(name));
    // SQLite has no row locks (its single writer serialises claims); PostgreSQL skips rows
    // another worker's claim holds. sea-query leaves the lock out for SQLite.
    let ready = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new("jobs"))
        .and_where(col("kind").is_in(kinds.iter().copied()))
        .cond_where(
            Cond::any()
                .add(col("state").eq("queued").and(col("run_after").lte(now)))
                .add(col("state").eq("running").and(col("lease_until").lte(now))),
        )
        .order_by(Alias::new("run_after"), Order::Asc)
        .order_by(Alias::new("id"), Order::Asc)
        .limit(u64::try_from(limit).unwrap_or(0))
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let claim = Query::update()
        .table(Alias::new("jobs"))
        .value(Alias::new("state"), "running")
        .value(Alias::new("claimed_by"), worker)
        .value(Alias::new("lease_until"), lease_until)
        .value(Alias::new("attempts"), col("attempts").add(1))
        .and_where(col("id").in_subquery(ready))
        .returning(Query::returning().columns(COLUMNS.map(Alias::new)))
        .to_owned();
    let mut jobs = crate::sql::update_returning(c, &claim)?.iter().map(job).collect::<Result<Vec<_>, _>>()?;
    jobs.sort_by_key(|j| (j.run_after, j.id));
    Ok(jobs)
}

/// Moves the lease of a job `worker` holds to `lease_until`; `false` when it no longer holds it.
pub fn extend(c: &mut dyn Conn, id: i64, worker: &str, now: i64, lease_until: i64) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE jobs SET lease_until = $4 WHERE id = $1 AND state = 'running' AND claimed_by = $2 AND lease_until > $3",
        params![id, worker, now, lease_until],
    )? == 1)
}

/// Marks a job `worker` holds as done; `false` when it no longer holds it (its lease ran out
/// and another worker took it), in which case nothing changes.
pub fn complete(c: &mut dyn Conn, id: i64, worker: &str, now: i64) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE jobs SET state = 'done', finished_at = $3, claimed_by = NULL, lease_until = NULL \
         WHERE id = $1 AND state = 'running' AND claimed_by = $2",
        params![id, worker, now],
    )? == 1)
}

/// What became of a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// It runs again at this instant.
    RetryAt(i64),
    /// That was its last attempt.
    Dead,
    /// The worker no longer held it; nothing changed.
    NotHeld,
}

/// How long a job waits after its `attempts`-th failed attempt: 30 s, 1 min, 2 min, … at most
/// six hours.
pub fn retry_delay(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    FIRST_RETRY_DELAY.saturating_mul(1_i64 << doublings).min(LONGEST_RETRY_DELAY)
}

/// Records that a job `worker` holds failed with `error`: it waits [`retry_delay`] and is
/// queued again, or, after its last attempt, is dead.
pub fn fail(c: &mut dyn Conn, id: i64, worker: &str, error: &str, now: i64) -> Result<Failed, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT attempts, max_attempts FROM jobs WHERE id = $1 AND state = 'running' AND claimed_by = $2",
        params![id, worker],
    )?
    else {
        return Ok(Failed::NotHeld);
    };
    let (attempts, max_attempts) = (r.int("attempts")?, r.int("max_attempts")?);
    if attempts >= max_attempts {
        c.execute(
            "UPDATE jobs SET state = 'dead', last_error = $2, finished_at = $3, claimed_by = NULL, lease_until = NULL \
             WHERE id = $1",
            params![id, error, now],
        )?;
        return Ok(Failed::Dead);
    }
    let at = now.saturating_add(retry_delay(attempts));
    c.execute(
        "UPDATE jobs SET state = 'queued', last_error = $2, run_after = $3, claimed_by = NULL, lease_until = NULL \
         WHERE id = $1",
        params![id, error, at],
    )?;
    Ok(Failed::RetryAt(at))
}

/// Queues a dead job again with a fresh set of attempts, to run at `now`; `false` when the job
/// is not dead.
pub fn retry_dead(c: &mut dyn Conn, id: i64, now: i64) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $2, finished_at = NULL WHERE id = $1 AND state = 'dead'",
        params![id, now],
    )? == 1)
}

/// One job by id.
pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Job>, StoreError> {
    use sea_query::{Alias, Expr, ExprTrait, Query};
    let query = Query::select()
        .columns(COLUMNS.map(Alias::new))
        .from(Alias::new("jobs"))
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    crate::sql::select(c, &query)?.first().map(job).transpose()
}

/// Jobs of a kind (any kind when `None`) in a state, oldest first, at most `limit`.
pub fn list(c: &mut dyn Conn, kind: Option<&str>, state: JobState, limit: i64) -> Result<Vec<Job>, StoreError> {
    use sea_query::{Alias, Expr, ExprTrait, Order, Query};
    let mut query = Query::select();
    query.columns(COLUMNS.map(Alias::new)).from(Alias::new("jobs"));
    if let Some(kind) = kind {
        query.and_where(Expr::col(Alias::new("kind")).eq(kind));
    }
    query
        .and_where(Expr::col(Alias::new("state")).eq(state.as_str()))
        .order_by(Alias::new("run_after"), Order::Asc)
        .order_by(Alias::new("id"), Order::Asc)
        .limit(u64::try_from(limit).unwrap_or(0));
    crate::sql::select(c, &query)?.iter().map(job).collect()
}

/// How many jobs are in each state, in the order of [`JobState::ALL`].
pub fn counts(c: &mut dyn Conn) -> Result<[i64; 4], StoreError> {
    let mut out = [0; 4];
    for r in c.query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state", &[])? {
        let state = state_of(&r)?;
        if let Some(slot) = JobState::ALL.iter().position(|s| *s == state) {
            out[slot] = r.int("n")?;
        }
    }
    Ok(out)
}
