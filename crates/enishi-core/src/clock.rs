//! The one source of "now". Everything that asks what time it is — the store's timestamps,
//! the server's handlers, the scheduler, the job queue's callers — asks a [`Clock`], so tests
//! (and the journeys and quiet hours to come) can drive time instead of waiting for it.

use chrono::{DateTime, TimeZone, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Tells the time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// The current instant in Unix seconds.
    fn timestamp(&self) -> i64 {
        self.now().timestamp()
    }
}

/// The computer's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set or moved on: for tests. Clones share one time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `at` (to the microsecond).
    pub fn at(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(at.timestamp_micros())))
    }

    /// Shows `at` from now on.
    pub fn set(&self, at: DateTime<Utc>) {
        self.0.store(at.timestamp_micros(), Ordering::SeqCst);
    }

    /// Moves the clock on by `by` (back, when negative).
    pub fn advance(&self, by: chrono::Duration) {
        let micros = by.num_microseconds().unwrap_or(if by < chrono::Duration::zero() { i64::MIN } else { i64::MAX });
        let _ = self.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| Some(t.saturating_add(micros)));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.0.load(Ordering::SeqCst)).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_set_or_moved_and_clones_share_it() {
        let start = Utc.with_ymd_and_hms(2026, 12, 4, 9, 30, 0).unwrap();
        let clock = ManualClock::at(start);
        let shared = clock.clone();
        assert_eq!(clock.now(), start);
        assert_eq!(clock.now(), start, "no time passes by itself");
        shared.advance(chrono::Duration::minutes(90));
        assert_eq!(clock.now(), start + chrono::Duration::minutes(90));
        assert_eq!(clock.timestamp(), start.timestamp() + 5_400);
        clock.set(start);
        assert_eq!(shared.now(), start);
        clock.advance(chrono::Duration::milliseconds(-1500));
        assert_eq!(shared.now(), start - chrono::Duration::milliseconds(1500));
    }

    #[test]
    fn the_system_clock_moves_with_the_computers() {
        let before = Utc::now();
        let seen = SystemClock.now();
        assert!(seen >= before && seen <= Utc::now());
    }
}
