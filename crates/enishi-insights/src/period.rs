//! A span of business days and the same figures for the span just before it: what the
//! dashboard compares ("this quarter against the last").

use crate::{cents, month_of, purchases_until};
use enishi_analytics::pareto;
use enishi_core::time::date_of_day;
use enishi_store::{Store, StoreError};
use serde::Serialize;

/// Business days `from` to `to`, both included (days since 1970-01-01).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// First day.
    pub from: i64,
    /// Last day.
    pub to: i64,
}

impl Period {
    /// Days in the period.
    pub fn days(&self) -> i64 {
        self.to - self.from + 1
    }

    /// The period of the same length that ends the day before this one starts.
    pub fn previous(&self) -> Period {
        Period { from: self.from - self.days(), to: self.from - 1 }
    }

    fn holds(&self, day: i64) -> bool {
        (self.from..=self.to).contains(&day)
    }
}

/// What the orders of one period show (orders excluded from the analytics left out).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodFigures {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    pub to: String,
    /// Customers who bought in the period.
    pub customers: usize,
    /// Their orders in the period.
    pub orders: usize,
    /// Revenue (order totals).
    pub revenue: f64,
    /// Median order total (0 without orders).
    pub median_order: f64,
    /// Share of the period's customers who bought on more than one day of it.
    pub repeat_rate: f64,
    /// Share of the period's revenue from its top 20% of customers.
    pub top_20_share: f64,
    /// Gini coefficient of revenue per customer in the period.
    pub gini: f64,
    /// Lorenz curve of the period's revenue: (share of customers, share of revenue), largest
    /// first, at every 5%.
    pub curve: Vec<(f64, f64)>,
    /// Customers whose first order ever was in the period.
    pub new_customers: usize,
    /// Their revenue in the period.
    pub new_revenue: f64,
    /// Customers who had ordered before the period and bought again in it.
    pub returning_customers: usize,
    /// Their revenue in the period.
    pub returning_revenue: f64,
}

impl PeriodFigures {
    /// Returning customers' share of the period's revenue (0 without revenue).
    pub fn returning_share(&self) -> f64 {
        if self.revenue > 0.0 {
            self.returning_revenue / self.revenue
        } else {
            0.0
        }
    }
}

/// How the revenue series of a period is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// One point per day (periods up to 31 days).
    Day,
    /// Seven days from the period's first day (up to 182 days).
    Week,
    /// Calendar months (longer periods; the first and last may be partial).
    Month,
}

/// Revenue of one step of the series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepTotal {
    /// Its first day in the period (days since 1970-01-01).
    pub first_day: i64,
    /// Revenue.
    pub revenue: f64,
    /// Orders.
    pub orders: usize,
}

/// A period, the one before it, and the period's revenue step by step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodReport {
    /// The period asked for.
    pub current: PeriodFigures,
    /// The period of the same length just before it.
    pub previous: PeriodFigures,
    /// How `series` is cut.
    pub step: Step,
    /// Revenue per step of the period, oldest first (steps without orders included).
    pub series: Vec<StepTotal>,
}

/// The figures of `period` from every customer's (first ever purchase day, purchases).
fn figures(period: Period, customers: &[(i64, Vec<(i64, f64)>)]) -> PeriodFigures {
    let mut totals = Vec::new();
    let mut revenue_per_customer = Vec::new();
    let (mut repeat, mut new, mut returning) = (0usize, (0usize, 0.0), (0usize, 0.0));
    for (first, purchases) in customers {
        let inside: Vec<&(i64, f64)> = purchases.iter().filter(|(d, _)| period.holds(*d)).collect();
        if inside.is_empty() {
            continue;
        }
        let spent: f64 = inside.iter().map(|(_, v)| v).sum();
        totals.extend(inside.iter().map(|(_, v)| *v));
        revenue_per_customer.push(spent);
        if inside.iter().any(|(d, _)| *d != inside[0].0) {
            repeat += 1;
        }
        let side = if *first >= period.from { &mut new } else { &mut returning };
        side.0 += 1;
        side.1 += spent;
    }
    let concentration = pareto::concentration(&revenue_per_customer);
    let n = revenue_per_customer.len();
    PeriodFigures {
        from: date_of_day(period.from).to_string(),
        to: date_of_day(period.to).to_string(),
        customers: n,
        orders: totals.len(),
        revenue: cents(concentration.revenue),
        median_order: enishi_analytics::kpis::Distribution::of(totals).median,
        repeat_rate: if n > 0 { repeat as f64 / n as f64 } else { 0.0 },
        top_20_share: concentration.top_20_share,
        gini: concentration.gini,
        curve: concentration.curve,
        new_customers: new.0,
        new_revenue: cents(new.1),
        returning_customers: returning.0,
        returning_revenue: cents(returning.1),
    }
}

/// The first day of the step of `day` in `period` cut by `step`.
fn step_start(period: Period, step: Step, day: i64) -> i64 {
    match step {
        Step::Day => day,
        Step::Week => period.from + (day - period.from).div_euclid(7) * 7,
        Step::Month => {
            let d = date_of_day(day);
            let first = enishi_core::time::day_of_date(d - chrono::Days::new(u64::from(chrono::Datelike::day0(&d))));
            first.max(period.from)
        }
    }
}

/// The figures of `period` and of the period before it, and the period's revenue series,
/// from the orders not excluded from the analytics.
pub fn period_report(store: &Store, period: Period) -> Result<PeriodReport, StoreError> {
    let customers: Vec<(i64, Vec<(i64, f64)>)> = purchases_until(store, period.to)?
        .into_iter()
        .map(|(_, _, p)| (p.first().map_or(i64::MAX, |x| x.0), p))
        .collect();
    let step = match period.days() {
        ..=31 => Step::Day,
        32..=182 => Step::Week,
        _ => Step::Month,
    };
    let mut starts = Vec::new();
    let mut day = period.from;
    while day <= period.to {
        starts.push(day);
        day = match step {
            Step::Day => day + 1,
            Step::Week => day + 7,
            Step::Month => {
                let m = month_of(day) + 1;
                enishi_core::time::day_of_date(
                    chrono::NaiveDate::from_ymd_opt((1970 + m.div_euclid(12)) as i32, (m.rem_euclid(12) + 1) as u32, 1)
                        .unwrap_or(chrono::NaiveDate::MAX),
                )
            }
        };
    }
    let mut series: Vec<StepTotal> =
        starts.iter().map(|&first_day| StepTotal { first_day, revenue: 0.0, orders: 0 }).collect();
    for (_, purchases) in &customers {
        for &(d, v) in purchases.iter().filter(|(d, _)| period.holds(*d)) {
            let start = step_start(period, step, d);
            if let Ok(i) = starts.binary_search(&start) {
                series[i].revenue += v;
                series[i].orders += 1;
            }
        }
    }
    for s in &mut series {
        s.revenue = cents(s.revenue);
    }
    Ok(PeriodReport {
        current: figures(period, &customers),
        previous: figures(period.previous(), &customers),
        step,
        series,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_returning_customers_and_the_previous_period() {
        // Days 100–109 and the period before, 90–99.
        let period = Period { from: 100, to: 109 };
        assert_eq!(period.previous(), Period { from: 90, to: 99 });
        let customers = vec![
            (95, vec![(95, 10.0), (101, 30.0), (105, 20.0)]), // returning, two days in the period
            (102, vec![(102, 40.0), (102, 5.0)]),             // new, one day
            (80, vec![(80, 7.0)]),                            // bought before both periods only
            (92, vec![(92, 3.0)]),                            // new in the previous period
        ];
        let f = figures(period, &customers);
        assert_eq!((f.customers, f.orders), (2, 4));
        assert_eq!((f.new_customers, f.new_revenue, f.returning_customers, f.returning_revenue), (1, 45.0, 1, 50.0));
        assert!((f.revenue - 95.0).abs() < 1e-9 && (f.repeat_rate - 0.5).abs() < 1e-12);
        assert!((f.returning_share() - 50.0 / 95.0).abs() < 1e-12);
        assert_eq!(f.median_order, 25.0);
        let p = figures(period.previous(), &customers);
        assert_eq!((p.customers, p.new_customers, p.new_revenue, p.returning_customers), (2, 2, 13.0, 0));
    }

    #[test]
    fn steps_start_on_the_period_or_the_month() {
        let period = Period { from: 100, to: 300 };
        assert_eq!(step_start(period, Step::Week, 113), 107);
        // 1970-04-11 is day 100; its month starts before the period, so the step starts with it.
        assert_eq!(step_start(period, Step::Month, 105), 100);
        assert_eq!(step_start(period, Step::Month, 125), 120, "1970-05-01 is day 120");
    }
}
