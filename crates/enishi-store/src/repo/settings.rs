//! Workspace settings: a small key-value table (business time zone, currency, …).

use crate::db::Conn;
use crate::{params, StoreError};

/// Key of the business time zone setting (an IANA name).
pub const TIME_ZONE: &str = "business_time_zone";
/// Key of the default currency setting.
pub const CURRENCY: &str = "currency";
/// Key of the largest order total staff may record without a manager's confirmation (a
/// decimal amount in the workspace currency).
pub const STAFF_ORDER_LIMIT: &str = "staff_order_limit";

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
