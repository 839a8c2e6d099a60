//! Relationship KPIs as distributions, not only averages: with 80/20-shaped data the mean
//! describes almost nobody.

use serde::Serialize;
use std::collections::BTreeMap;

/// A distribution: count, mean, and the quantiles that describe it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    /// Values counted.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub median: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Largest value.
    pub max: f64,
}

/// Quantile `q` of sorted values (linear interpolation).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

impl Distribution {
    /// The distribution of `values`.
    pub fn of(mut values: Vec<f64>) -> Distribution {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        Distribution {
            count: n,
            mean: if n == 0 { 0.0 } else { values.iter().sum::<f64>() / n as f64 },
            p10: quantile(&values, 0.10),
            p25: quantile(&values, 0.25),
            median: quantile(&values, 0.5),
            p75: quantile(&values, 0.75),
            p90: quantile(&values, 0.90),
            max: values.last().copied().unwrap_or(0.0),
        }
    }
}

/// The KPIs of a customer base.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// Customers with at least one order.
    pub customers: usize,
    /// Orders.
    pub orders: usize,
    /// Share of customers who bought on more than one day.
    pub repeat_purchase_rate: f64,
    /// Order value.
    pub order_value: Distribution,
    /// Orders per customer.
    pub orders_per_customer: Distribution,
    /// Revenue per customer.
    pub revenue_per_customer: Distribution,
    /// Days between a customer's consecutive purchase days.
    pub days_between_purchases: Distribution,
    /// Orders per weekday, Monday first.
    pub orders_by_weekday: [usize; 7],
    /// Monthly cohorts: for customers whose first purchase fell in a month, the share who
    /// bought in each month since (index 0 is the first month, always 1).
    pub cohorts: Vec<Cohort>,
}

/// One monthly acquisition cohort.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cohort {
    /// The month of the first purchase, as months since January 1970.
    pub month: i64,
    /// Customers in the cohort.
    pub customers: usize,
    /// Share of them buying in month k after the first (k = 0, 1, …).
    pub retention: Vec<f64>,
}

/// Computes the KPIs from every customer's orders as (business day, month index, order value),
/// in time order; `last_month` is the month of the as-of day (cohort rows stop there).
pub fn kpis(customers: &[Vec<(i64, i64, f64)>], last_month: i64) -> Kpis {
    let mut values = Vec::new();
    let mut per_customer_orders = Vec::new();
    let mut per_customer_revenue = Vec::new();
    let mut gaps = Vec::new();
    let mut weekday = [0usize; 7];
    let mut repeaters = 0usize;
    let mut cohort_members: BTreeMap<i64, Vec<Vec<bool>>> = BTreeMap::new();
    for orders in customers.iter().filter(|o| !o.is_empty()) {
        per_customer_orders.push(orders.len() as f64);
        per_customer_revenue.push(orders.iter().map(|o| o.2).sum());
        let mut days: Vec<i64> = orders.iter().map(|o| o.0).collect();
        days.dedup();
        repeaters += usize::from(days.len() > 1);
        gaps.extend(days.windows(2).map(|w| (w[1] - w[0]) as f64));
        for &(day, _, value) in orders {
            values.push(value);
            // 1970-01-01 was a Thursday: Monday = 0.
            weekday[(day + 3).rem_euclid(7) as usize] += 1;
        }
        let first_month = orders[0].1;
        let span = (last_month - first_month).max(0) as usize + 1;
        let mut active = vec![false; span];
        for o in orders {
            if let Some(slot) = active.get_mut((o.1 - first_month) as usize) {
                *slot = true;
            }
        }
        cohort_members.entry(first_month).or_default().push(active);
    }
    let cohorts = cohort_members
        .into_iter()
        .map(|(month, members)| {
            let span = members.iter().map(Vec::len).max().unwrap_or(0);
            let n = members.len() as f64;
            Cohort {
                month,
                customers: members.len(),
                retention: (0..span)
                    .map(|k| members.iter().filter(|m| m.get(k).copied().unwrap_or(false)).count() as f64 / n)
                    .collect(),
            }
        })
        .collect();
    let n = per_customer_orders.len();
    Kpis {
        customers: n,
        orders: values.len(),
        repeat_purchase_rate: if n == 0 { 0.0 } else { repeaters as f64 / n as f64 },
        order_value: Distribution::of(values),
        orders_per_customer: Distribution::of(per_customer_orders),
        revenue_per_customer: Distribution::of(per_customer_revenue),
        days_between_purchases: Distribution::of(gaps),
        orders_by_weekday: weekday,
        cohorts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_shop() {
        // Day 4 is a Monday (1970-01-05); months 0 and 1.
        let customers = vec![vec![(4, 0, 10.0), (4, 0, 5.0), (40, 1, 20.0)], vec![(5, 0, 100.0)], vec![(35, 1, 7.0)]];
        let k = kpis(&customers, 1);
        assert_eq!((k.customers, k.orders), (3, 5));
        assert!((k.repeat_purchase_rate - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(k.orders_by_weekday[0], 2);
        assert_eq!(k.order_value.median, 10.0);
        assert_eq!(k.days_between_purchases.count, 1);
        assert_eq!(k.days_between_purchases.median, 36.0, "day 4 to day 40");
        assert_eq!(k.revenue_per_customer.median, 35.0, "of 35, 100 and 7");
        assert!((k.order_value.mean - 28.4).abs() < 1e-12, "142 over 5 orders");
        assert_eq!(k.cohorts.len(), 2);
        assert_eq!(k.cohorts[0].retention, vec![1.0, 0.5]);
        assert_eq!(k.cohorts[1].retention, vec![1.0]);
        assert_eq!(Distribution::of(vec![]).count, 0);
    }
}
