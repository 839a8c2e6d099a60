//! Orders far above the shop's usual (see [`enishi_analytics::outliers`]) and the orders a
//! manager excluded from the analytics, for the dashboard to show.

use crate::Period;
use enishi_analytics::outliers::Usual;
use enishi_core::Amount;
use enishi_store::repo::analytics::{self, NotableOrder};
use enishi_store::{Store, StoreError};

/// An order worth a second look, and whether it is unusual (it may only be excluded).
#[derive(Debug, Clone, PartialEq)]
pub struct Unusual {
    /// The order.
    pub order: NotableOrder,
    /// Above the shop's usual.
    pub unusual: bool,
    /// How many times the median order it is (`None` with too few orders to tell).
    pub times_median: Option<f64>,
}

/// What is usual for the shop (`None` with too few orders), the orders of `period` above it,
/// and every order excluded from the analytics, largest first (at most `limit`).
pub fn unusual_orders(store: &Store, period: Period, limit: i64) -> Result<(Option<Usual>, Vec<Unusual>), StoreError> {
    store.read(|c| {
        let totals: Vec<f64> = analytics::order_totals(c)?
            .into_iter()
            .map(|t| f64::try_from(Amount::from_scaled(t).decimal()).unwrap_or(0.0))
            .collect();
        let usual = Usual::of(&totals);
        // The threshold in the stored scale, rounded down so that no unusual order is missed.
        let above = usual.map(|u| (u.threshold * 10_000.0).floor() as i64);
        let orders = analytics::notable_orders(c, period.from, period.to, above, limit)?;
        Ok((
            usual,
            orders
                .into_iter()
                .map(|order| {
                    let total = f64::try_from(order.total.decimal()).unwrap_or(0.0);
                    Unusual {
                        unusual: usual.is_some_and(|u| u.is_unusual(total)),
                        times_median: usual.map(|u| u.times_median(total)),
                        order,
                    }
                })
                .filter(|u| u.unusual || u.order.excluded_by.is_some())
                .collect(),
        ))
    })
}
