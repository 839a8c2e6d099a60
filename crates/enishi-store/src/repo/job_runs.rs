//! Periods of periodic jobs: claimed with a lease by one server, then recorded as done, so a job
//! runs once per period whichever servers share the database, and a server that dies while
//! holding a claim leaves it to another once the lease ends.

use crate::db::Conn;
use crate::{params, StoreError};

/// Claims `period` of `job` for `holder` until `lease_until` (Unix seconds): `true` when this
/// holder may run it now, `false` when the period is done or another holder's lease runs.
/// Periods only go forward: a period at or before the last one done is never claimed.
pub fn claim(
    c: &mut dyn Conn,
    job: &str,
    period: i64,
    holder: &str,
    now: i64,
    lease_until: i64,
) -> Result<bool, StoreError> {
    c.execute("INSERT INTO job_runs (job, lease_until) VALUES ($1, 0) ON CONFLICT (job) DO NOTHING", params![job])?;
    // One statement, so that of two servers racing on PostgreSQL the second re-reads the row
    // after the first's update and finds the lease taken.
    let claimed = c.execute(
        "UPDATE job_runs SET holder = $2, lease_until = $5 \
         WHERE job = $1 AND (done_period IS NULL OR done_period < $3) AND (lease_until <= $4 OR holder = $2)",
        params![job, holder, period, now, lease_until],
    )?;
    Ok(claimed == 1)
}

/// Records `period` of `job` as done by `holder` and ends its lease.
pub fn finish(c: &mut dyn Conn, job: &str, period: i64, holder: &str, now: i64) -> Result<(), StoreError> {
    c.execute(
        "UPDATE job_runs SET done_period = $2, holder = NULL, lease_until = 0, finished_at = $4 \
         WHERE job = $1 AND holder = $3",
        params![job, period, holder, now],
    )?;
    Ok(())
}

/// Ends `holder`'s lease on `job` without recording the period (it failed: the next tick tries
/// again).
pub fn release(c: &mut dyn Conn, job: &str, holder: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE job_runs SET holder = NULL, lease_until = 0 WHERE job = $1 AND holder = $2",
        params![job, holder],
    )?;
    Ok(())
}
