//! The scheduler: periodic work of a running server. Every tick runs the loyalty jobs (expiry,
//! birthdays, tier reviews, promotion announcements, memberships), a pass over the journeys
//! (customers entered on their triggers, steps that are due queued for the campaign sender)
//! and rebuilds the purchase summary when a large import left it stale; the first tick of each
//! business day also refreshes the stored scores (RFM, CLV and P(alive), lifecycle stages with
//! their recorded changes) and every customer's recommended next products, runs the task rules
//! and enqueues each assignee's task digest, records every saved segment's size, and applies
//! the retention policy. Failures are logged and retried on the next tick.
//!
//! Several servers may share one database: each job's period (the tick's slot for the loyalty
//! jobs, the business day for the daily work) is claimed with a lease in the database
//! ([`enishi_store::repo::job_runs`]) and recorded when done, so it runs once whichever server
//! ticks first, and a restart neither repeats nor skips a day.

use crate::AppState;
use enishi_store::repo::job_runs;
use enishi_store::StoreError;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The loyalty jobs, once per tick slot (the job is named with the slot's length, so servers
/// ticking at different rates count their own slots instead of one's slot numbers overtaking
/// the other's).
const LOYALTY_JOBS: &str = "loyalty-jobs";
/// Scores, recommendations, lifecycle and retention, once per business day.
const DAILY_WORK: &str = "daily-work";
/// A pass over the journeys, once per tick slot.
const JOURNEYS: &str = "journeys";
/// The purchase summary's rebuild, in the tick after a large import made it stale.
const PURCHASE_SUMMARY: &str = "purchase-summary";
/// How long a claim holds before another server may take the period over (a server that died
/// while running it).
const LEASE_SECONDS: i64 = 2 * 3600;

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tick {
    /// The loyalty jobs' report (`None`: another server has run them in this slot).
    pub loyalty: Option<enishi_rewards::JobReport>,
    /// Whether the daily scores were refreshed on this tick.
    pub scores_refreshed: bool,
    /// Lifecycle stage changes recorded.
    pub lifecycle_changes: u64,
    /// Events and messages deleted by the retention policy (once a day).
    pub purged: u64,
    /// What the journeys' pass did (`None`: another server has run it in this slot).
    pub journeys: Option<enishi_campaigns::journeys::pass::Pass>,
    /// Whether the purchase summary was stale (after a large import) and was rebuilt.
    pub purchase_summary_rebuilt: bool,
    /// What failed, if anything.
    pub errors: Vec<String>,
}

/// Who ticks, and how often: the periods a server claims.
#[derive(Debug, Clone)]
pub struct Ticker {
    /// This server, as its claims name it.
    holder: String,
    /// Seconds between ticks: the length of the loyalty jobs' slot.
    slot_seconds: i64,
}

impl Ticker {
    /// A ticker for a server ticking every `every` (at least a second).
    pub fn new(every: Duration) -> Ticker {
        let holder = format!("pid{}-{}", std::process::id(), hex::encode(rand::random::<[u8; 6]>()));
        Ticker { holder, slot_seconds: i64::try_from(every.as_secs()).unwrap_or(i64::MAX).max(1) }
    }
}

/// Claims `period` of `job` (of `kind`, as the metrics count it); runs `work` when the claim
/// holds, then records the period as done (when `work` says it succeeded) or gives the claim
/// back. `None` when another server has the period (done, or running now).
fn once_per_period<T>(
    state: &AppState,
    ticker: &Ticker,
    (kind, job): (&'static str, &str),
    period: i64,
    now: i64,
    work: impl FnOnce() -> (T, bool),
) -> Result<Option<T>, StoreError> {
    let holder = ticker.holder.as_str();
    if !state.store.write(|c| job_runs::claim(c, job, period, holder, now, now + LEASE_SECONDS))? {
        return Ok(None);
    }
    state.metrics.scheduled_run(kind);
    let (out, done) = work();
    state.store.write(|c| {
        if done {
            job_runs::finish(c, job, period, holder, now)
        } else {
            job_runs::release(c, job, holder)
        }
    })?;
    Ok(Some(out))
}

/// Runs one tick at `now` (Unix seconds).
pub fn tick(state: &AppState, now: i64, ticker: &Ticker) -> Tick {
    state.metrics.job_runs.fetch_add(1, Ordering::Relaxed);
    let mut out = Tick::default();
    let store = &state.store;
    let clock = state.workspace().clock;
    let slot = now.div_euclid(ticker.slot_seconds);
    let job = format!("{LOYALTY_JOBS}/{}s", ticker.slot_seconds);
    let loyalty = once_per_period(state, ticker, (LOYALTY_JOBS, &job), slot, now, || {
        let jobs = store.write(|c| -> Result<_, StoreError> {
            let programs = state.programs.get(c, clock)?;
            enishi_rewards::run_jobs(c, &programs, now)
        });
        let ok = jobs.is_ok();
        (jobs, ok)
    });
    match loyalty {
        Ok(Some(Ok(r))) => out.loyalty = Some(r),
        Ok(Some(Err(e))) | Err(e) => out.errors.push(format!("loyalty jobs: {e}")),
        Ok(None) => {}
    }
    let job = format!("{JOURNEYS}/{}s", ticker.slot_seconds);
    let journeys = once_per_period(state, ticker, (JOURNEYS, &job), slot, now, || {
        let pass = enishi_campaigns::journeys::pass::run(store, &clock);
        let ok = pass.is_ok();
        (pass, ok)
    });
    match journeys {
        Ok(Some(Ok(p))) => out.journeys = Some(p),
        Ok(Some(Err(e))) => out.errors.push(format!("journeys: {e}")),
        Err(e) => out.errors.push(format!("journeys: {e}")),
        Ok(None) => {}
    }
    match rebuild_stale_summary(state, ticker, slot, now) {
        Ok(rebuilt) => out.purchase_summary_rebuilt = rebuilt,
        Err(e) => out.errors.push(format!("purchase summary: {e}")),
    }
    let today = clock.day_number(enishi_store::instant(now));
    let mut errors = Vec::new();
    let daily = once_per_period(state, ticker, (DAILY_WORK, DAILY_WORK), today, now, || {
        let changes = daily_work(state, today, now, &mut errors);
        let ok = errors.is_empty();
        (changes, ok)
    });
    match daily {
        Ok(Some((lifecycle_changes, purged))) => {
            out.scores_refreshed = errors.is_empty();
            (out.lifecycle_changes, out.purged) = (lifecycle_changes, purged);
        }
        Ok(None) => {}
        Err(e) => errors.push(format!("daily work: {e}")),
    }
    out.errors.extend(errors);
    out
}

/// Rebuilds the purchase summary when it is stale, once per tick slot among the servers.
fn rebuild_stale_summary(state: &AppState, ticker: &Ticker, slot: i64, now: i64) -> Result<bool, StoreError> {
    use enishi_store::repo::purchase_summary;
    if state.store.read(purchase_summary::state)?.fresh {
        return Ok(false);
    }
    let job = format!("{PURCHASE_SUMMARY}/{}s", ticker.slot_seconds);
    match once_per_period(state, ticker, (PURCHASE_SUMMARY, &job), slot, now, || {
        let rebuilt = purchase_summary::rebuild(&state.store, false);
        let ok = rebuilt.is_ok();
        (rebuilt, ok)
    })? {
        Some(rebuilt) => Ok(rebuilt?.rebuilt),
        None => Ok(false),
    }
}

/// Share of buying customers ranked loyal each day (seed practice: the top ≈7%).
const LOYAL_SHARE: f64 = 0.07;
/// Share ranked semi-loyal after them (the next ≈13%).
const SEMI_LOYAL_SHARE: f64 = 0.13;

/// Scores, loyal classes, recommendations, lifecycle stages and the retention policy for business day
/// `today`: (lifecycle changes recorded, events and messages purged); failures in `errors`.
fn daily_work(state: &AppState, today: i64, now: i64, errors: &mut Vec<String>) -> (u64, u64) {
    let store = &state.store;
    let (mut changes, mut purged) = (0, 0);
    if let Err(e) = enishi_insights::refresh_rfm_scores(store, today) {
        errors.push(format!("RFM: {e}"));
    }
    if let Err(e) = enishi_insights::refresh_loyal_classes(store, today, LOYAL_SHARE, SEMI_LOYAL_SHARE) {
        errors.push(format!("loyal classes: {e}"));
    }
    let opts = enishi_insights::ClvOptions {
        calibration_end: today,
        holdout_end: None,
        unit_days: 7.0,
        horizon_days: 90,
        months: 12,
        discount: 0.01,
        model: enishi_insights::CountModel::BgNbd,
    };
    match enishi_insights::clv_report(store, &opts) {
        Ok((_, values)) => {
            if let Err(e) = enishi_insights::store_values(store, &values) {
                errors.push(format!("CLV: {e}"));
            }
        }
        Err(enishi_insights::ClvError::NoCustomers) => {}
        Err(e) => errors.push(format!("CLV: {e}")),
    }
    if let Err(e) = enishi_insights::refresh_recommendations(store, today, 5) {
        errors.push(format!("recommendations: {e}"));
    }
    match enishi_insights::lifecycle(store, today, 0, true) {
        Ok(r) => changes = r.changes_recorded,
        Err(e) => errors.push(format!("lifecycle: {e}")),
    }
    // Task rules after the lifecycle changes and loyal classes they read, then each
    // assignee's digest of what is due today (both idempotent: a rerun makes nothing twice).
    if let Err(e) = follow_ups(state, today) {
        errors.push(format!("tasks: {e}"));
    }
    // Saved segments after the scores they may select on: each day's size, for the trend.
    match enishi_segments::saved::evaluate_every(store, today, &state.workspace().clock) {
        Ok(done) => {
            for (name, result) in done {
                if let Err(e) = result {
                    // The rule itself is wrong (it names a segment deleted since, say): the
                    // segments page shows why; retrying would not help.
                    tracing::warn!(segment = %name, error = %e, "a saved segment could not be evaluated");
                }
            }
        }
        Err(e) => errors.push(format!("segments: {e}")),
    }
    match purge_expired(state, now) {
        Ok(n) => purged = n,
        Err(e) => errors.push(format!("retention: {e}")),
    }
    (changes, purged)
}

/// How far back the daily run of the task rules looks (days): a day the scheduler missed is
/// caught up, and the rules' keys keep a task from being made twice.
const RULES_LOOK_BACK_DAYS: i64 = 7;

/// The task rules over the last [`RULES_LOOK_BACK_DAYS`], the assignees' digests for
/// business day `today` and the survey and review invitations after orders (docs/listening.md).
fn follow_ups(state: &AppState, today: i64) -> Result<(), StoreError> {
    use enishi_store::repo::tasks;
    let ws = state.workspace();
    let since_day = today - RULES_LOOK_BACK_DAYS;
    let since = ws.clock.start_of_day(since_day).timestamp();
    let (start, end) = (ws.clock.start_of_day(today).timestamp(), ws.clock.start_of_day(today + 1).timestamp());
    let day = enishi_core::time::date_of_day(today).to_string();
    state.store.write(|c| {
        let made = tasks::run_rules(c, ws.currency, since, since_day)?;
        let digests = tasks::enqueue_digests(c, &day, start, end)?;
        tracing::info!(?made, digests, "task rules and digests");
        Ok::<_, StoreError>(())
    })?;
    // Survey invitations after orders (the `survey_after_order` setting); a setting naming no
    // survey is logged, and the rest of the daily work goes on.
    match state.store.write(|c| enishi_campaigns::surveys::after_order_rule(c, since)) {
        Ok(invited) => tracing::info!(invited, "survey invitations after orders"),
        Err(e) => tracing::warn!(error = %e, "survey invitations after orders"),
    }
    // Review invitations after orders (the `review_after_order` setting).
    let now = state.now().timestamp();
    match state.store.write(|c| enishi_campaigns::reviews::after_order_rule(c, since, now)) {
        Ok(invited) => tracing::info!(invited, "review invitations after orders"),
        Err(e) => tracing::warn!(error = %e, "review invitations after orders"),
    }
    Ok(())
}

/// A running scheduler; dropping it stops the thread after its current tick.
pub struct Scheduler {
    stop: Arc<AtomicBool>,
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts ticking every `every` on a background thread (the first tick at once).
pub fn start(state: AppState, every: Duration) -> Scheduler {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("scheduler".into())
        .spawn(move || {
            let ticker = Ticker::new(every);
            while !flag.load(Ordering::Relaxed) {
                let t = tick(&state, state.now().timestamp(), &ticker);
                for e in &t.errors {
                    tracing::error!(error = %e, "scheduled job failed (retried next tick)");
                }
                // Sleep in short steps so that a stop is noticed soon.
                let mut slept = Duration::ZERO;
                while slept < every && !flag.load(Ordering::Relaxed) {
                    let step = Duration::from_millis(500).min(every - slept);
                    std::thread::sleep(step);
                    slept += step;
                }
            }
        })
        .expect("start the scheduler thread");
    Scheduler { stop }
}

/// The retention policy: deletes events and messages older than their settings' days
/// (`retention_days_events`, 730 by default; `retention_days_messages`, 1,825). How many.
pub fn purge_expired(state: &AppState, now: i64) -> Result<u64, enishi_store::StoreError> {
    use enishi_store::repo::{history, settings};
    state.store.write(|c| {
        let events = settings::days(c, settings::RETENTION_DAYS_EVENTS, settings::DEFAULT_EVENT_DAYS)?;
        let messages = settings::days(c, settings::RETENTION_DAYS_MESSAGES, settings::DEFAULT_MESSAGE_DAYS)?;
        Ok(history::purge_events_before(c, now - events * 86_400)?
            + history::purge_communications_before(c, now - messages * 86_400)?)
    })
}
