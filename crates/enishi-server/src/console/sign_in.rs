//! Password checks, throttled. Each failed sign-in grows the wait before the next attempt with
//! the same email and from the same address (no lock-out: the right password works again once
//! the short wait is over), the counters live in the database (they survive restarts and are
//! shared by several servers), and at most [`CONCURRENT_CHECKS`] password hashes are computed
//! at once, so a flood of sign-ins cannot starve the API of CPU.

use crate::{ApiError, AppState};
use axum::http::{HeaderMap, StatusCode};
use enishi_store::repo::sign_ins;
use enishi_store::repo::users::{self, User};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Failures a key may have before it must wait.
const FREE_FAILURES: i64 = 3;
/// The longest wait, in seconds.
const MAX_WAIT_SECONDS: i64 = 300;
/// Failures older than this (seconds) are forgotten.
const FORGET_AFTER_SECONDS: i64 = 3600;
/// Password hashes computed at once (argon2 takes tens of milliseconds of one core).
pub(crate) const CONCURRENT_CHECKS: usize = 2;
/// Longest wait for a turn to check a password before answering 503.
const CHECK_QUEUE_TIMEOUT: Duration = Duration::from_secs(3);

/// Seconds a key must wait after `failures` recent failures: none for the first
/// [`FREE_FAILURES`], then 2, 4, 8, … up to [`MAX_WAIT_SECONDS`]. (Times are whole seconds,
/// so the shortest wait is 2: a wait of 1 could end at once on a second's boundary.)
pub(crate) fn wait_after(failures: i64) -> i64 {
    if failures < FREE_FAILURES {
        0
    } else {
        (2i64 << (failures - FREE_FAILURES).min(16)).min(MAX_WAIT_SECONDS)
    }
}

/// Limits concurrent password hashing.
pub(crate) struct PasswordChecks(Semaphore);

impl Default for PasswordChecks {
    fn default() -> Self {
        PasswordChecks(Semaphore::new(CONCURRENT_CHECKS))
    }
}

/// The address a request came from: the peer, or the first `X-Forwarded-For` entry when the
/// peer is a proxy on this machine.
pub(crate) fn client_ip(peer: Option<SocketAddr>, headers: &HeaderMap) -> String {
    let peer_ip = peer.map(|p| p.ip());
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    match (peer_ip, forwarded) {
        (Some(p), Some(f)) if p.is_loopback() => f.to_string(),
        (Some(p), _) => p.to_string(),
        (None, _) => "unknown".into(),
    }
}

/// Why a sign-in did not succeed.
pub(crate) enum Refused {
    /// Too many recent failures for this email or address: wait this many seconds.
    Wait(i64),
    /// The email and password do not match an active user.
    Wrong,
    /// Something else failed (busy, database).
    Failed(ApiError),
}

/// Checks `email` and `password` from `ip` under the throttle: the user, or why not.
pub(crate) async fn check(state: &AppState, email: &str, password: &str, ip: &str) -> Result<User, Refused> {
    let now = state.now().timestamp();
    let keys = vec![format!("email:{email}"), format!("ip:{ip}")];
    let waits = {
        let keys = keys.clone();
        state
            .run(move |s| {
                Ok(s.read(|c| {
                    keys.iter()
                        .map(|k| {
                            let (n, last) = sign_ins::failures(c, k, now, FORGET_AFTER_SECONDS)?;
                            Ok(last + wait_after(n) - now)
                        })
                        .collect::<Result<Vec<i64>, enishi_store::StoreError>>()
                })?)
            })
            .await
            .map_err(Refused::Failed)?
    };
    let wait = waits.into_iter().max().unwrap_or(0);
    if wait > 0 {
        return Err(Refused::Wait(wait));
    }
    let _turn = match tokio::time::timeout(CHECK_QUEUE_TIMEOUT, state.password_checks.0.acquire()).await {
        Ok(Ok(permit)) => permit,
        _ => {
            return Err(Refused::Failed(ApiError {
                retry_after: Some(2),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "too many sign-ins at once; try again")
            }))
        }
    };
    let (who, pass) = (email.to_string(), password.to_string());
    let user =
        state.run(move |s| Ok(s.read(|c| users::check_password(c, &who, &pass))?)).await.map_err(Refused::Failed)?;
    let email_key = keys[0].clone();
    let outcome = user.clone();
    state
        .run(move |s| {
            Ok(s.write(|c| match outcome {
                Some(_) => sign_ins::clear(c, &email_key),
                None => keys.iter().try_for_each(|k| sign_ins::record_failure(c, k, now, FORGET_AFTER_SECONDS)),
            })?)
        })
        .await
        .map_err(Refused::Failed)?;
    user.ok_or(Refused::Wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_failures_and_stop_growing() {
        let waits: Vec<i64> = (0..8).map(wait_after).collect();
        assert_eq!(waits, [0, 0, 0, 2, 4, 8, 16, 32]);
        assert_eq!(wait_after(30), MAX_WAIT_SECONDS);
        assert_eq!(wait_after(i64::MAX), MAX_WAIT_SECONDS);
    }

    #[test]
    fn the_address_behind_a_local_proxy_is_the_forwarded_one() {
        let mut h = HeaderMap::new();
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        assert_eq!(client_ip(Some(local), &h), "127.0.0.1");
        h.insert("x-forwarded-for", "198.51.100.7, 10.0.0.1".parse().unwrap());
        assert_eq!(client_ip(Some(local), &h), "198.51.100.7");
        assert_eq!(client_ip(Some(remote), &h), "203.0.113.9", "only a local proxy is believed");
    }
}
