//! Per-customer summaries for the buy-till-you-die models: frequency (repeat purchases),
//! recency (time of the last purchase since the first), age T (time since the first purchase)
//! at the end of a calibration period, the average value of repeat purchases, and what happened
//! in a holdout period after it. Purchases on one day are merged into one, as the literature
//! does; time is counted in days and reported in a chosen unit (7 days = weeks).

use serde::Serialize;

/// How to cut the history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Periods {
    /// Last day of the calibration period (days since 1970-01-01), included.
    pub calibration_end: i64,
    /// Last day of the holdout period, included; `None` when there is no holdout.
    pub holdout_end: Option<i64>,
    /// Days per time unit (7 for weeks, 1 for days).
    pub unit_days: f64,
}

/// One customer at the end of the calibration period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CustomerSummary {
    /// Repeat purchases (distinct purchase days after the first) in the calibration period.
    pub frequency: f64,
    /// Time from the first to the last calibration purchase.
    pub recency: f64,
    /// Time from the first purchase to the end of the calibration period.
    pub age: f64,
    /// Average value of the repeat purchases (0 without any).
    pub monetary: f64,
    /// Purchases (distinct days) in the holdout period.
    pub holdout_purchases: u32,
    /// Value bought in the holdout period.
    pub holdout_value: f64,
}

/// Why a customer is left out of the calibration summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Excluded {
    /// Their first purchase is after the calibration period: the models know nothing of them yet.
    FirstPurchaseAfterCalibration,
    /// They have no purchase at all.
    NoPurchases,
}

/// Summarises one customer's purchases, given as (day, value) pairs sorted by day.
pub fn summarize(purchases: &[(i64, f64)], p: Periods) -> Result<CustomerSummary, Excluded> {
    let Some(&(first, _)) = purchases.first() else { return Err(Excluded::NoPurchases) };
    if first > p.calibration_end {
        return Err(Excluded::FirstPurchaseAfterCalibration);
    }
    let mut repeat_days = 0u32;
    let mut repeat_value = 0.0;
    let mut last = first;
    let mut holdout_days = 0u32;
    let mut holdout_value = 0.0;
    let mut i = 0;
    while i < purchases.len() {
        // Merge the purchases of one day.
        let day = purchases[i].0;
        let mut value = 0.0;
        while i < purchases.len() && purchases[i].0 == day {
            value += purchases[i].1;
            i += 1;
        }
        if day <= p.calibration_end {
            if day != first {
                repeat_days += 1;
                repeat_value += value;
                last = day;
            }
        } else if p.holdout_end.is_none_or(|end| day <= end) {
            holdout_days += 1;
            holdout_value += value;
        }
    }
    Ok(CustomerSummary {
        frequency: f64::from(repeat_days),
        recency: (last - first) as f64 / p.unit_days,
        age: (p.calibration_end - first) as f64 / p.unit_days,
        monetary: if repeat_days > 0 { repeat_value / f64::from(repeat_days) } else { 0.0 },
        holdout_purchases: holdout_days,
        holdout_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_days_and_splits_periods() {
        let p = Periods { calibration_end: 100, holdout_end: Some(200), unit_days: 7.0 };
        let s = summarize(
            &[(2, 10.0), (2, 5.0), (30, 20.0), (30, 4.0), (65, 12.0), (150, 8.0), (150, 1.0), (250, 99.0)],
            p,
        )
        .unwrap();
        assert_eq!(s.frequency, 2.0);
        assert!((s.recency - 63.0 / 7.0).abs() < 1e-12);
        assert!((s.age - 98.0 / 7.0).abs() < 1e-12);
        assert_eq!(s.monetary, 18.0);
        assert_eq!((s.holdout_purchases, s.holdout_value), (1, 9.0));
        assert_eq!(summarize(&[(101, 1.0)], p), Err(Excluded::FirstPurchaseAfterCalibration));
        assert_eq!(summarize(&[], p), Err(Excluded::NoPurchases));
        let single = summarize(&[(50, 3.0)], p).unwrap();
        assert_eq!((single.frequency, single.recency, single.monetary), (0.0, 0.0, 0.0));
    }
}
