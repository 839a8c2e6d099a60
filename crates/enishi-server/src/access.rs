//! What each role may read in bulk. Staff serve the customer in front of them: they find a
//! customer by a search term and get a short list, never the whole customer base; listing,
//! filtering and exporting are for managers. Searches are rate-limited per caller.

use crate::ApiError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use enishi_core::{Amount, Currency, Role};
use enishi_store::repo::customers::CustomerQuery;
use enishi_store::repo::settings;
use enishi_store::{Conn, StoreError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most customers one staff search answers (no further pages).
pub(crate) const STAFF_RESULTS: i64 = 20;

/// Shortest free-text term a staff search takes (two characters: a Japanese family name).
const STAFF_TERM_CHARS: usize = 2;

/// Staff searches per caller per minute.
pub(crate) const STAFF_SEARCHES_PER_MINUTE: u32 = 30;

/// Narrows a customer query to what `role` may read: unchanged for managers; for staff, a
/// search needs a term (free text of two characters or more, an external id, an email or a
/// phone), answers at most [`STAFF_RESULTS`] and has no further pages.
pub(crate) fn customer_query_for(role: Role, q: &mut CustomerQuery) -> Result<(), ApiError> {
    if role != Role::Staff {
        return Ok(());
    }
    let term = q.text.as_deref().is_some_and(|t| t.trim().chars().count() >= STAFF_TERM_CHARS)
        || q.external_id.is_some()
        || q.email.is_some()
        || q.phone.is_some();
    if !term {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "staff search needs a term (q of two characters or more, external_id, email or phone); \
             listing customers is for managers",
        ));
    }
    if q.after != 0 {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("staff get one page of at most {STAFF_RESULTS} results; narrow the search instead"),
        ));
    }
    q.limit = q.limit.clamp(1, STAFF_RESULTS);
    Ok(())
}

/// The largest order total staff may record without a manager: the `staff_order_limit`
/// setting, or by default 100,000 in a currency without subunits (¥100,000) and 1,000 in
/// others ($1,000.00). An order above it would let a till mint points.
pub(crate) fn staff_order_limit(c: &mut dyn Conn, currency: Currency) -> Result<Amount, StoreError> {
    if let Some(v) = settings::get(c, settings::STAFF_ORDER_LIMIT)? {
        return v.parse().map_err(|e: enishi_core::ParseError| {
            StoreError::Decode(format!("stored staff_order_limit: {e} (fix it with `enishi settings`)"))
        });
    }
    Ok(Amount::from_scaled(if currency.minor_units() == 0 { 100_000 } else { 1_000 } * 10_000))
}

/// When the console asks to confirm a sale or a points adjustment before recording it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unusual {
    /// How many times the customer's average order (or its points) is unusual.
    pub ratio: i64,
    /// A sale above this is always confirmed.
    pub sale_over: Amount,
    /// An adjustment of more points than this (either way) is always confirmed.
    pub points_over: i64,
}

/// The confirmation settings: `confirm_ratio` (default 10), `confirm_sale_over` (default
/// 1,000,000 in a currency without subunits, 10,000 in others) and `confirm_points_over`
/// (default 1,000).
pub(crate) fn unusual(c: &mut dyn Conn, currency: Currency) -> Result<Unusual, StoreError> {
    let sale_over = match settings::get(c, settings::CONFIRM_SALE_OVER)? {
        Some(v) => v.parse().map_err(|e: enishi_core::ParseError| {
            StoreError::Decode(format!("stored confirm_sale_over: {e} (fix it with `enishi settings`)"))
        })?,
        None => Amount::from_scaled(if currency.minor_units() == 0 { 1_000_000 } else { 10_000 } * 10_000),
    };
    Ok(Unusual {
        ratio: settings::days(c, settings::CONFIRM_RATIO, 10)?,
        sale_over,
        points_over: settings::days(c, settings::CONFIRM_POINTS_OVER, 1_000)?,
    })
}

/// The refusal of a staff order above [`staff_order_limit`].
pub(crate) fn needs_manager(total: Amount, limit: Amount) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "confirmation_required",
        format!(
            "an order of {total} is above the {limit} staff may record: a manager records it (a manager's token, \
             or the console till with a manager's confirmation)"
        ),
    )
}

/// Counts requests per caller in one-minute windows.
#[derive(Default)]
pub(crate) struct RateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// Counts one search of `key`; a 429 `rate_limited` (with the seconds to wait) once
    /// `per_minute` were made in the current minute.
    pub(crate) fn check(&self, key: &str, per_minute: u32) -> Result<(), ApiError> {
        self.check_for(key, per_minute, "searches")
    }

    /// Counts one request of `key`, saying what is counted (`searches`, `requests`) when refused.
    pub(crate) fn check_for(&self, key: &str, per_minute: u32, what: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let (start, count) = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(60) {
            *start = now;
            *count = 0;
        }
        if *count >= per_minute {
            let wait = 60u64.saturating_sub(now.duration_since(*start).as_secs()).max(1);
            return Err(ApiError {
                retry_after: Some(wait),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("at most {per_minute} {what} a minute; try again in {wait} s"),
                )
            });
        }
        *count += 1;
        Ok(())
    }
}

/// Adds `Retry-After` to a response.
pub(crate) fn with_retry_after(mut r: Response, seconds: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}
