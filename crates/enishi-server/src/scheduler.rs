//! The scheduler: periodic work of a running server. Every tick runs the loyalty jobs (expiry,
//! birthdays, tier reviews, promotion announcements, memberships); the first tick of each
//! business day also refreshes the stored scores (RFM, CLV and P(alive), lifecycle stages with
//! their recorded changes) and every customer's recommended next products. Failures are logged and retried on the next tick.

use crate::AppState;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tick {
    /// The loyalty jobs' report.
    pub loyalty: Option<enishi_rewards::JobReport>,
    /// Whether the daily scores were refreshed on this tick.
    pub scores_refreshed: bool,
    /// Lifecycle stage changes recorded.
    pub lifecycle_changes: u64,
    /// Events and messages deleted by the retention policy (once a day).
    pub purged: u64,
    /// What failed, if anything.
    pub errors: Vec<String>,
}

/// Runs one tick at `now` (Unix seconds). `last_scored_day` is the business day the scores were
/// last refreshed; it is updated when they are refreshed again.
pub fn tick(state: &AppState, now: i64, last_scored_day: &mut Option<i64>) -> Tick {
    state.metrics.job_runs.fetch_add(1, Ordering::Relaxed);
    let mut out = Tick::default();
    let store = &state.store;
    let clock = state.workspace().clock;
    let jobs = store.write(|c| -> Result<_, enishi_store::StoreError> {
        let programs = state.programs.get(c, clock)?;
        enishi_rewards::run_jobs(c, &programs, now)
    });
    match jobs {
        Ok(r) => out.loyalty = Some(r),
        Err(e) => out.errors.push(format!("loyalty jobs: {e}")),
    }
    let today = clock.day_number(enishi_store::instant(now));
    if *last_scored_day != Some(today) {
        let mut ok = true;
        if let Err(e) = enishi_insights::refresh_rfm_scores(store, today) {
            out.errors.push(format!("RFM: {e}"));
            ok = false;
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
                    out.errors.push(format!("CLV: {e}"));
                    ok = false;
                }
            }
            Err(enishi_insights::ClvError::NoCustomers) => {}
            Err(e) => {
                out.errors.push(format!("CLV: {e}"));
                ok = false;
            }
        }
        if let Err(e) = enishi_insights::refresh_recommendations(store, today, 5) {
            out.errors.push(format!("recommendations: {e}"));
            ok = false;
        }
        match enishi_insights::lifecycle(store, today, 0, true) {
            Ok(r) => out.lifecycle_changes = r.changes_recorded,
            Err(e) => {
                out.errors.push(format!("lifecycle: {e}"));
                ok = false;
            }
        }
        match purge_expired(state, now) {
            Ok(n) => out.purged = n,
            Err(e) => {
                out.errors.push(format!("retention: {e}"));
                ok = false;
            }
        }
        if ok {
            *last_scored_day = Some(today);
            out.scores_refreshed = true;
        }
    }
    out
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
            let mut last_scored_day = None;
            while !flag.load(Ordering::Relaxed) {
                let t = tick(&state, chrono::Utc::now().timestamp(), &mut last_scored_day);
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
