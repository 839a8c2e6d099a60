//! Orders far outside a shop's usual, which would flatten every chart and the Gini.
//!
//! The rule, on the totals of all the shop's orders: an order is unusual when its total is
//! above **both**
//! - the far-out fence of the *logarithms* of order totals, `Q3 + 3 × IQR` (Tukey's fence on
//!   a log scale: order values are skewed, so a fence on the raw values flags every large
//!   but ordinary basket), and
//! - ten times the median order,
//!
//! so that a shop whose orders are all alike does not see its ¥3,000 orders flagged next to
//! ¥1,000 ones. Fewer than 20 orders are too few to tell what is usual: nothing is flagged.

use crate::kpis::quantile;
use serde::Serialize;

/// Orders below this count are too few to judge.
pub const MIN_ORDERS: usize = 20;

/// How many times the median an unusual order is at least.
pub const TIMES_MEDIAN: f64 = 10.0;

/// What is usual for a shop's order totals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Usual {
    /// The median order total.
    pub median: f64,
    /// Totals above this are unusual.
    pub threshold: f64,
}

impl Usual {
    /// The usual of `totals` (every order's total; zero and negative ones are left out), or
    /// `None` with fewer than [`MIN_ORDERS`] positive totals.
    pub fn of(totals: &[f64]) -> Option<Usual> {
        let mut logs: Vec<f64> = totals.iter().filter(|t| **t > 0.0 && t.is_finite()).map(|t| t.ln()).collect();
        if logs.len() < MIN_ORDERS {
            return None;
        }
        logs.sort_by(f64::total_cmp);
        let (q1, q3) = (quantile(&logs, 0.25), quantile(&logs, 0.75));
        let median = quantile(&logs, 0.5).exp();
        let fence = (q3 + 3.0 * (q3 - q1)).exp();
        Some(Usual { median, threshold: fence.max(TIMES_MEDIAN * median) })
    }

    /// Whether an order of `total` is unusual.
    pub fn is_unusual(&self, total: f64) -> bool {
        total > self.threshold
    }

    /// How many times the median order `total` is.
    pub fn times_median(&self, total: f64) -> f64 {
        if self.median > 0.0 {
            total / self.median
        } else {
            f64::INFINITY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_huge_order_is_unusual_and_ordinary_spread_is_not() {
        // 40 ordinary orders from ¥800 to ¥4,700, and one of ¥500,000.
        let mut totals: Vec<f64> = (0..40).map(|i| 800.0 + 100.0 * f64::from(i)).collect();
        let usual = Usual::of(&totals).expect("enough orders");
        assert!(totals.iter().all(|t| !usual.is_unusual(*t)), "{usual:?}");
        totals.push(500_000.0);
        let usual = Usual::of(&totals).unwrap();
        assert!(usual.is_unusual(500_000.0) && !usual.is_unusual(4_700.0), "{usual:?}");
        // The median of 41 values is the 21st: 800 + 2000.
        assert!((usual.median - 2_800.0).abs() < 1e-6, "{usual:?}");
        assert!(usual.threshold >= 28_000.0, "at least ten times the median: {usual:?}");
        assert!((usual.times_median(500_000.0) - 500_000.0 / 2_800.0).abs() < 1e-9);
    }

    #[test]
    fn alike_orders_flag_nothing_below_ten_times_the_median_and_few_orders_nothing_at_all() {
        // All ¥1,000 but one ¥3,000: the log fence is ¥1,000, ten times the median is not reached.
        let mut totals = vec![1_000.0; 30];
        totals.push(3_000.0);
        let usual = Usual::of(&totals).unwrap();
        assert!(!usual.is_unusual(3_000.0) && usual.is_unusual(10_001.0), "{usual:?}");
        assert_eq!(Usual::of(&[1_000.0; 19]), None);
        assert_eq!(Usual::of(&[0.0; 50]), None, "zero totals do not count");
    }
}
