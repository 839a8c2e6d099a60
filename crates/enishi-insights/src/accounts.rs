//! B2B account roll-ups and the target-account list for account-based marketing.

use chrono::NaiveDate;
use enishi_core::{Amount, BusinessClock};
use enishi_store::repo::accounts::{self, RollupQuery};
use enishi_store::{Store, StoreError};
use serde::Serialize;

/// Days of the recent window (and of the one before it) in the trend.
pub const TREND_DAYS: i64 = 90;

/// One account, its contacts' purchases summed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountSummary {
    /// Enishi id.
    pub id: i64,
    /// The shop's id.
    pub external_id: String,
    /// Name.
    pub name: String,
    /// Industry.
    pub industry: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Size band.
    pub size_band: Option<String>,
    /// Contacts.
    pub contacts: i64,
    /// Contacts who ordered in the last 90 days.
    pub active_contacts: i64,
    /// Orders.
    pub orders: i64,
    /// Revenue, net of returns.
    pub revenue: Amount,
    /// Revenue in the last 90 days.
    pub last_90_days: Amount,
    /// Revenue in the 90 days before.
    pub previous_90_days: Amount,
    /// Change of the last 90 days against the 90 before, in percent (none when there was none).
    pub trend_percent: Option<f64>,
    /// Last order.
    pub last_order_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Accounts ranked by revenue up to the end of business day `as_of`, optionally only one
/// industry or region: the target-account list.
pub fn account_rollups(
    store: &Store,
    as_of: i64,
    clock: BusinessClock,
    industry: Option<String>,
    region: Option<String>,
    limit: i64,
) -> Result<Vec<AccountSummary>, StoreError> {
    let next_day = NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new(u64::try_from(as_of + 1).unwrap_or(0))))
        .map_or(i64::MAX, |d| clock.start_of(d).timestamp());
    let q = RollupQuery { industry, region, until: next_day - 1, window: TREND_DAYS * 86_400, limit };
    let rows = store.read(|c| accounts::rollups(c, &q))?;
    Ok(rows
        .into_iter()
        .map(|r| AccountSummary {
            trend_percent: (r.previous_revenue > 0)
                .then(|| (r.recent_revenue as f64 / r.previous_revenue as f64 - 1.0) * 100.0),
            id: r.id,
            external_id: r.external_id,
            name: r.name,
            industry: r.industry,
            region: r.region,
            size_band: r.size_band,
            contacts: r.contacts,
            active_contacts: r.active_contacts,
            orders: r.orders,
            revenue: Amount::from_scaled(r.revenue),
            last_90_days: Amount::from_scaled(r.recent_revenue),
            previous_90_days: Amount::from_scaled(r.previous_revenue),
            last_order_at: r.last_order_at.map(enishi_store::instant),
        })
        .collect())
}
