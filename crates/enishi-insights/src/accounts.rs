//! B2B account roll-ups and the target-account list for account-based marketing.

use enishi_core::{Amount, BusinessClock};
use enishi_store::repo::accounts::{self, RollupQuery};
use enishi_store::{Account, Store, StoreError};
use serde::Serialize;

/// Days of the recent window (and of the one before it) in the trend.
pub const TREND_DAYS: i64 = 90;

/// One account, its contacts' purchases summed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountSummary {
    /// The account (id, external id, name, industry, region, size band).
    #[serde(flatten)]
    pub account: Account,
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
    let next_day = clock.start_of_day(as_of + 1).timestamp();
    let q = RollupQuery { industry, region, until: next_day - 1, window: TREND_DAYS * 86_400, limit };
    let rows = store.read(|c| accounts::rollups(c, &q))?;
    Ok(rows
        .into_iter()
        .map(|r| AccountSummary {
            trend_percent: (r.previous_revenue > 0)
                .then(|| (r.recent_revenue as f64 / r.previous_revenue as f64 - 1.0) * 100.0),
            account: r.account,
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
