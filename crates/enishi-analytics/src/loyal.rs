//! Loyal and semi-loyal customers, as relationship-marketing practice defines them.
//!
//! Customers are ranked on a composite of three measures — total spend, tenure (days since the
//! first purchase) and repeat purchase days — each turned into a percentile within a baseline
//! population and averaged. The top `loyal` share of the baseline are *loyal*, the next `semi`
//! share *semi-loyal*. The baseline's distributions and cut-offs are then frozen, so that the
//! share of customers who meet them can be followed month by month: growing that share (from
//! about 20% towards 25–30%) is the goal of a retention programme.

use serde::Serialize;

/// The three measures of one customer at one date.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measures {
    /// Money spent so far.
    pub spend: f64,
    /// Days since the first purchase.
    pub tenure_days: f64,
    /// Purchase days after the first.
    pub repeats: f64,
}

/// A customer's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoyalClass {
    /// The top of the baseline ranking.
    Loyal,
    /// The next band.
    SemiLoyal,
    /// Everyone else.
    Other,
}

/// Frozen thresholds: the baseline's distributions and cut-offs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    #[serde(skip)]
    spend: Vec<f64>,
    #[serde(skip)]
    tenure: Vec<f64>,
    #[serde(skip)]
    repeats: Vec<f64>,
    /// Customers in the baseline.
    pub customers: usize,
    /// Composite score from which a customer is loyal.
    pub loyal_cut: f64,
    /// Composite score from which a customer is semi-loyal.
    pub semi_cut: f64,
}

/// Mid-rank percentile of `x` among the sorted `values` (0–1).
fn percentile(values: &[f64], x: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let below = values.partition_point(|v| *v < x);
    let not_above = values.partition_point(|v| *v <= x);
    (below as f64 + 0.5 * (not_above - below) as f64) / values.len() as f64
}

impl Baseline {
    /// Freezes the thresholds of a baseline population: the top `loyal` share (e.g. 0.07) are
    /// loyal, the next `semi` share (e.g. 0.13) semi-loyal.
    pub fn fit(population: &[Measures], loyal: f64, semi: f64) -> Baseline {
        let sorted = |f: fn(&Measures) -> f64| {
            let mut v: Vec<f64> = population.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let mut b = Baseline {
            spend: sorted(|m| m.spend),
            tenure: sorted(|m| m.tenure_days),
            repeats: sorted(|m| m.repeats),
            customers: population.len(),
            loyal_cut: f64::INFINITY,
            semi_cut: f64::INFINITY,
        };
        let mut composites: Vec<f64> = population.iter().map(|m| b.composite(m)).collect();
        composites.sort_by(|a, b| b.total_cmp(a));
        let cut = |share: f64| -> f64 {
            let k = (share.clamp(0.0, 1.0) * composites.len() as f64).round() as usize;
            if k == 0 {
                f64::INFINITY
            } else {
                composites[k.min(composites.len()) - 1]
            }
        };
        b.loyal_cut = cut(loyal);
        b.semi_cut = cut(loyal + semi);
        b
    }

    /// The composite score of `m` against the baseline: the mean of its three percentiles.
    pub fn composite(&self, m: &Measures) -> f64 {
        (percentile(&self.spend, m.spend)
            + percentile(&self.tenure, m.tenure_days)
            + percentile(&self.repeats, m.repeats))
            / 3.0
    }

    /// The class of `m` under the frozen thresholds.
    pub fn class(&self, m: &Measures) -> LoyalClass {
        let c = self.composite(m);
        if c >= self.loyal_cut {
            LoyalClass::Loyal
        } else if c >= self.semi_cut {
            LoyalClass::SemiLoyal
        } else {
            LoyalClass::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(spend: f64, tenure_days: f64, repeats: f64) -> Measures {
        Measures { spend, tenure_days, repeats }
    }

    #[test]
    fn the_composite_is_the_mean_of_the_three_percentiles() {
        let base: Vec<Measures> = (0..4).map(|i| m(f64::from(i) * 10.0, f64::from(i), f64::from(i))).collect();
        let b = Baseline::fit(&base, 0.25, 0.25);
        // Spend 15 is above 2 of 4 (0.5); tenure 3 ties the top one (3.5 of 4); repeats 0 ties
        // the bottom one (0.5 of 4).
        let got = b.composite(&m(15.0, 3.0, 0.0));
        assert!((got - (0.5 + 0.875 + 0.125) / 3.0).abs() < 1e-12, "{got}");
    }

    #[test]
    fn the_baseline_splits_at_the_shares_and_later_growth_shows() {
        let base: Vec<Measures> = (0..100).map(|i| m(f64::from(i) * 10.0, f64::from(i), f64::from(i / 10))).collect();
        let b = Baseline::fit(&base, 0.07, 0.13);
        let count = |c: LoyalClass| base.iter().filter(|x| b.class(x) == c).count();
        assert_eq!(count(LoyalClass::Loyal), 7);
        assert_eq!(count(LoyalClass::SemiLoyal), 13);
        // A month later everyone bought once more and spent 20% more: more meet the frozen bars.
        let later: Vec<Measures> =
            base.iter().map(|x| m(x.spend * 1.2, x.tenure_days + 30.0, x.repeats + 1.0)).collect();
        // 36 meet a bar and 20 the loyal one, as an exact (rational) computation of the same
        // percentiles finds (no one lands exactly on a bar): from 20 and 7.
        let loyal_later = later.iter().filter(|x| b.class(x) != LoyalClass::Other).count();
        let top_later = later.iter().filter(|x| b.class(x) == LoyalClass::Loyal).count();
        assert_eq!((loyal_later, top_later), (36, 20));
        assert_eq!(percentile(&[1.0, 2.0, 2.0, 3.0], 2.0), 0.5);
    }
}
