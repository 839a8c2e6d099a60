//! Workspace settings: a small key-value table (business time zone, currency, …).

use crate::db::Conn;
use crate::{params, StoreError};

/// Key of the business time zone setting (an IANA name).
pub const TIME_ZONE: &str = "business_time_zone";
/// Key of the default currency setting.
pub const CURRENCY: &str = "currency";
/// Key of the phone country setting: the country whose national phone numbers are read (ISO
/// 3166-1 alpha-2, or `none`); unset, Japan in a yen or Tokyo-time workspace.
pub const PHONE_COUNTRY: &str = "phone_country";
/// Key of the largest order total staff may record without a manager's confirmation (a
/// decimal amount in the workspace currency).
pub const STAFF_ORDER_LIMIT: &str = "staff_order_limit";
/// Key of how many times a customer's average order a sale (or the points of one, for an
/// adjustment) may be before the console asks to confirm it (default 10).
pub const CONFIRM_RATIO: &str = "confirm_ratio";
/// Key of the sale amount (in the workspace currency) above which the console always asks to
/// confirm a sale.
pub const CONFIRM_SALE_OVER: &str = "confirm_sale_over";
/// Key of the points above which the console always asks to confirm an adjustment.
pub const CONFIRM_POINTS_OVER: &str = "confirm_points_over";
/// Key of the days events are kept (default [`DEFAULT_EVENT_DAYS`]).
pub const RETENTION_DAYS_EVENTS: &str = "retention_days_events";
/// Key of the days messages (the communication history) are kept (default
/// [`DEFAULT_MESSAGE_DAYS`]).
pub const RETENTION_DAYS_MESSAGES: &str = "retention_days_messages";
/// Events are kept two years unless set otherwise.
pub const DEFAULT_EVENT_DAYS: i64 = 730;
/// Messages are kept five years unless set otherwise.
pub const DEFAULT_MESSAGE_DAYS: i64 = 1825;

/// A whole-number setting, or `default` when it is not set or not a number of 1 or more.
pub fn days(c: &mut dyn Conn, key: &str, default: i64) -> Result<i64, StoreError> {
    Ok(get(c, key)?.and_then(|v| v.trim().parse::<i64>().ok()).filter(|d| *d >= 1).unwrap_or(default))
}

/// A setting's value.
pub fn get(c: &mut dyn Conn, key: &str) -> Result<Option<String>, StoreError> {
    c.query_opt("SELECT value FROM settings WHERE key = $1", params![key])?.map(|r| r.text(0)).transpose()
}

/// Sets a setting.
pub fn set(c: &mut dyn Conn, key: &str, value: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}
