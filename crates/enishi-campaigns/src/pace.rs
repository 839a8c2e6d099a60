//! The send rate per channel: at most so many messages per second on a channel, kept by every
//! sender of the database together (the server's workers, `enishi campaign send`, several
//! processes on one PostgreSQL).
//!
//! A sender reserves its send times on the channel's row of `campaign_pace`, a few at a time
//! (at most a quarter of a second's worth), and waits for each before it sends. Reserved
//! times never overlap, whoever reserved them, so the starts of the messages are at least
//! `1 / rate` seconds apart while every sender keeps up with its times; a sender that falls
//! behind its times (a slow server) sends its late ones at once, so in any second at most
//! `rate` messages plus one reservation of each sender go out. The times are read from each
//! machine's clock: machines on different hosts need synchronised clocks (NTP).

use crate::Error;
use enishi_store::repo::campaigns as repo;
use enishi_store::Store;
use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Settings key of the most email messages per second (unset or `none`: no limit).
pub const EMAIL_RATE: &str = "campaign_email_rate";
/// Settings key of the most webhook messages per second (unset or `none`: no limit).
pub const WEBHOOK_RATE: &str = "campaign_webhook_rate";

/// The slowest rate accepted: one message every 100 seconds.
const SLOWEST: f64 = 0.01;
/// The fastest rate accepted.
const FASTEST: f64 = 100_000.0;

/// Reads a rate: messages per second (`10`, `0.5`), or `none` for no limit.
pub fn parse_rate(text: &str) -> Result<Option<f64>, Error> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(r) if r.is_finite() && (SLOWEST..=FASTEST).contains(&r) => Ok(Some(r)),
        _ => Err(Error::Invalid(format!(
            "rate '{t}': write messages per second, from {SLOWEST} to {FASTEST} (or none for no limit)"
        ))),
    }
}

/// The settings key of `channel`'s rate, for the channels that have one.
fn key(channel: &str) -> Option<&'static str> {
    match channel {
        "email" => Some(EMAIL_RATE),
        "webhook" => Some(WEBHOOK_RATE),
        _ => None,
    }
}

/// The rate set for `channel` (`email` or `webhook`), if any.
pub fn configured(c: &mut dyn enishi_store::Conn, channel: &str) -> Result<Option<f64>, Error> {
    let Some(key) = key(channel) else { return Ok(None) };
    match enishi_store::repo::settings::get(c, key)? {
        Some(v) => parse_rate(&v).map_err(|e| Error::Invalid(format!("setting {key}: {e}"))),
        None => Ok(None),
    }
}

fn now_us() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

/// One sender's share of a channel's rate.
#[derive(Debug)]
pub struct Pace {
    channel: &'static str,
    rate: Option<f64>,
    reserved: VecDeque<i64>,
}

impl Pace {
    /// The pace of `channel` at `rate` messages per second (`None`: no limit).
    pub fn new(channel: &'static str, rate: Option<f64>) -> Pace {
        Pace { channel, rate: rate.filter(|r| r.is_finite() && *r > 0.0), reserved: VecDeque::new() }
    }

    /// Keeps `rate` from now on when it differs from the one kept (the reserved times of the
    /// old rate are dropped).
    pub fn set_rate(&mut self, rate: Option<f64>) {
        let rate = rate.filter(|r| r.is_finite() && *r > 0.0);
        if rate != self.rate {
            self.rate = rate;
            self.reserved.clear();
        }
    }

    /// The rate for this round: `given` (a sender's own, `--rate`), else the channel's setting.
    pub fn refresh(&mut self, store: &Store, given: Option<f64>) -> Result<(), Error> {
        let channel = self.channel;
        let rate = match given {
            Some(r) => Some(r),
            None => store.read(|c| configured(c, channel))?,
        };
        self.set_rate(rate);
        Ok(())
    }

    /// The most messages to claim at once: `batch`, and with a rate no more than this sender
    /// alone could send in half of `lease_seconds`, so that claims do not run out while they
    /// wait for their time.
    pub fn batch(&self, batch: i64, lease_seconds: i64) -> i64 {
        match self.rate {
            None => batch,
            Some(r) => batch.min(((r * lease_seconds as f64 / 2.0).floor() as i64).max(1)),
        }
    }

    /// Waits for this sender's next send time, reserving times for up to `coming` messages
    /// (this one and those after it in the batch) when none is left.
    pub fn wait(&mut self, store: &Store, coming: usize) -> Result<(), Error> {
        let Some(rate) = self.rate else { return Ok(()) };
        let interval = ((1_000_000.0 / rate).round() as i64).max(1);
        // Times left over from an earlier batch that have gone by are not used: they would
        // add a burst now.
        let stale = now_us() - interval;
        while self.reserved.front().is_some_and(|at| *at < stale) {
            self.reserved.pop_front();
        }
        if self.reserved.is_empty() {
            let quarter = ((rate / 4.0).floor() as usize).max(1);
            let count = coming.clamp(1, quarter) as i64;
            let channel = self.channel;
            let first = store.write(|c| repo::reserve_pace(c, channel, now_us(), count, interval))?;
            self.reserved.extend((0..count).map(|i| first + i * interval));
        }
        if let Some(at) = self.reserved.pop_front() {
            let wait = at - now_us();
            if wait > 0 {
                std::thread::sleep(Duration::from_micros(wait.unsigned_abs()));
            }
        }
        Ok(())
    }

    /// Forgets the times reserved and not used (they stay taken: the rate is never exceeded).
    pub fn clear(&mut self) {
        self.reserved.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_rate_claims_no_more_than_half_a_lease_can_send() {
        let mut p = Pace::new("email", None);
        assert_eq!(p.batch(100, 120), 100);
        p.set_rate(Some(0.5));
        assert_eq!(p.batch(100, 120), 30);
        p.set_rate(Some(0.01));
        assert_eq!(p.batch(100, 120), 1);
        p.set_rate(Some(50.0));
        assert_eq!(p.batch(100, 120), 100);
    }

    #[test]
    fn rates_are_read_with_their_bounds() {
        assert_eq!(parse_rate("10").unwrap(), Some(10.0));
        assert_eq!(parse_rate(" 0.5 ").unwrap(), Some(0.5));
        assert_eq!(parse_rate("none").unwrap(), None);
        assert_eq!(parse_rate("").unwrap(), None);
        for wrong in ["0", "-1", "fast", "NaN", "inf", "1000000", "0.001"] {
            assert!(parse_rate(wrong).is_err(), "{wrong}");
        }
    }
}
