//! Runs the analytics over the stored purchases: reads what the pure models need from the
//! store and shapes their results into reports. The CLI (`enishi analyze`) and the API
//! (`/api/v1/analytics/…`) both answer from here.

mod accounts;
mod clv;
mod lifecycle;
mod period;
pub mod quiet;
mod unusual;

pub use accounts::{account_rollups, AccountSummary};
pub use clv::{clv_report, store_values, ClvError, ClvOptions, ClvReport, CountModel, CustomerValue};
pub use lifecycle::{lifecycle, Lapsed, LifecycleReport, StageCount};
pub use period::{period_report, Period, PeriodFigures, PeriodReport, Step, StepTotal};
pub use unusual::{unusual_orders, Unusual};

use chrono::Datelike;
use enishi_analytics::loyal::{Baseline, LoyalClass, Measures};
use enishi_analytics::pareto::{self, Concentration};
use enishi_analytics::rfm::{self, RfmInput, RfmScore, Segment};
use enishi_core::time::{date_of_day, day_of_date};
use enishi_core::BusinessClock;
use enishi_store::repo::analytics::{self, for_each_customer_purchases};
use enishi_store::{Store, StoreError};
use serde::Serialize;

/// A customer: Enishi id, shop id, and purchases as (business day, order total) in time order.
pub type Purchases = (i64, String, Vec<(i64, f64)>);

/// Purchases up to `as_of` (a business day number) of every customer who had bought by then.
pub fn purchases_until(store: &Store, as_of: i64) -> Result<Vec<Purchases>, StoreError> {
    let mut out = Vec::new();
    store.read(|c| {
        for_each_customer_purchases(c, &mut |id, ext, purchases| {
            let kept: Vec<(i64, f64)> = purchases.iter().copied().filter(|(d, _)| *d <= as_of).collect();
            if !kept.is_empty() {
                out.push((id, ext.to_string(), kept));
            }
            Ok(())
        })
    })?;
    Ok(out)
}

/// A revenue figure summed in floating point, shown to the cent.
fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One segment's size and revenue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentSize {
    /// The segment.
    pub segment: Segment,
    /// Its name for people.
    pub label: &'static str,
    /// Customers in it.
    pub customers: usize,
    /// Their share of all scored customers.
    pub share: f64,
    /// Their revenue.
    pub revenue: f64,
}

/// One customer's RFM inputs and scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerRfm {
    /// Enishi's customer id.
    pub id: i64,
    /// The shop's customer id.
    pub customer_id: String,
    /// Days since the last purchase.
    pub recency_days: f64,
    /// Purchase days.
    pub frequency: f64,
    /// Money spent.
    pub monetary: f64,
    /// Scores and segment.
    pub score: RfmScore,
}

/// The RFM view of the customer base.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfmReport {
    /// Customers scored.
    pub customers: usize,
    /// Every segment, best first, with its size.
    pub segments: Vec<SegmentSize>,
    /// Customers per (R, F) cell: rows R = 5 … 1, columns F = 1 … 5.
    pub grid: [[u64; 5]; 5],
    /// Every customer (left out of JSON answers; written by `--per-customer`).
    #[serde(skip)]
    pub rows: Vec<CustomerRfm>,
}

/// RFM scores as of `as_of`: recency in days since the last purchase, frequency in purchase
/// days, monetary in order totals, all counted up to that day.
pub fn rfm_report(store: &Store, as_of: i64) -> Result<RfmReport, StoreError> {
    let customers = purchases_until(store, as_of)?;
    let inputs: Vec<RfmInput> = customers
        .iter()
        .map(|(_, _, p)| {
            let mut days: Vec<i64> = p.iter().map(|(d, _)| *d).collect();
            days.dedup();
            RfmInput {
                recency_days: (as_of - days.last().copied().unwrap_or(as_of)) as f64,
                frequency: days.len() as f64,
                monetary: p.iter().map(|(_, v)| v).sum(),
            }
        })
        .collect();
    let scores = rfm::score(&inputs);
    let n = scores.len().max(1) as f64;
    let segments = Segment::ALL
        .iter()
        .map(|seg| {
            let members: Vec<usize> = (0..scores.len()).filter(|&k| scores[k].segment == *seg).collect();
            SegmentSize {
                segment: *seg,
                label: seg.label(),
                customers: members.len(),
                share: members.len() as f64 / n,
                revenue: cents(members.iter().map(|&k| inputs[k].monetary).sum()),
            }
        })
        .collect();
    let mut grid = [[0u64; 5]; 5];
    for s in &scores {
        grid[usize::from(5 - s.r)][usize::from(s.f - 1)] += 1;
    }
    let rows = customers
        .into_iter()
        .zip(inputs.iter().zip(&scores))
        .map(|((id, ext, _), (i, s))| CustomerRfm {
            id,
            customer_id: ext,
            recency_days: i.recency_days,
            frequency: i.frequency,
            monetary: i.monetary,
            score: *s,
        })
        .collect();
    Ok(RfmReport { customers: scores.len(), segments, grid, rows })
}

/// Revenue concentration (order totals up to `as_of`).
pub fn pareto_report(store: &Store, as_of: i64) -> Result<Concentration, StoreError> {
    let customers = purchases_until(store, as_of)?;
    let revenue: Vec<f64> = customers.iter().map(|(_, _, p)| p.iter().map(|(_, v)| v).sum()).collect();
    let mut c = pareto::concentration(&revenue);
    c.revenue = cents(c.revenue);
    Ok(c)
}

/// One month of the loyal-customer trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoyalMonth {
    /// Last day of the month (or the as-of day), `YYYY-MM-DD`.
    pub date: String,
    /// Customers who had bought by then.
    pub customers: usize,
    /// Of them, loyal under the frozen thresholds.
    pub loyal: usize,
    /// Of them, semi-loyal.
    pub semi_loyal: usize,
    /// (loyal + semi-loyal) / customers.
    pub share: f64,
}

/// Loyal and semi-loyal customers: the frozen baseline and the monthly trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoyalReport {
    /// The baseline day, `YYYY-MM-DD`.
    pub baseline_date: String,
    /// Share of the baseline ranked loyal, and semi-loyal.
    pub loyal_share: f64,
    /// Share ranked semi-loyal.
    pub semi_share: f64,
    /// The frozen thresholds.
    pub baseline: Baseline,
    /// Month by month from the baseline to the as-of day.
    pub trend: Vec<LoyalMonth>,
}

/// The measures of a customer's purchases up to `day`, if they had bought by then.
fn measures(purchases: &[(i64, f64)], day: i64) -> Option<Measures> {
    let first = purchases.first()?.0;
    if first > day {
        return None;
    }
    let mut spend = 0.0;
    let mut days = 0u32;
    let mut last = i64::MIN;
    for &(d, v) in purchases.iter().take_while(|(d, _)| *d <= day) {
        spend += v;
        if d != last {
            days += 1;
            last = d;
        }
    }
    Some(Measures { spend, tenure_days: (day - first) as f64, repeats: f64::from(days.saturating_sub(1)) })
}

/// Freezes loyal / semi-loyal thresholds at `baseline` (day numbers) and follows the share of
/// customers who meet them at every month end up to `as_of`.
pub fn loyal_report(
    store: &Store,
    baseline: i64,
    as_of: i64,
    loyal: f64,
    semi: f64,
) -> Result<LoyalReport, StoreError> {
    let customers = purchases_until(store, as_of.max(baseline))?;
    let base_population: Vec<Measures> = customers.iter().filter_map(|(_, _, p)| measures(p, baseline)).collect();
    let frozen = Baseline::fit(&base_population, loyal, semi);
    let mut checkpoints = Vec::new();
    let mut d = date_of_day(baseline);
    loop {
        let day = day_of_date(d).min(as_of);
        checkpoints.push(day);
        if day >= as_of {
            break;
        }
        // The next month end.
        let end_of_month = |x: chrono::NaiveDate| {
            x.with_day(1)
                .and_then(|f| f.checked_add_months(chrono::Months::new(1)))
                .and_then(|f| f.pred_opt())
                .unwrap_or(x)
        };
        d = if end_of_month(d) > d { end_of_month(d) } else { end_of_month(d.succ_opt().unwrap_or(d)) };
        if day_of_date(d) <= day {
            break;
        }
    }
    let trend = checkpoints
        .iter()
        .map(|&day| {
            let (mut n, mut l, mut s) = (0, 0, 0);
            for (_, _, p) in &customers {
                if let Some(m) = measures(p, day) {
                    n += 1;
                    match frozen.class(&m) {
                        LoyalClass::Loyal => l += 1,
                        LoyalClass::SemiLoyal => s += 1,
                        LoyalClass::Other => {}
                    }
                }
            }
            LoyalMonth {
                date: date_of_day(day).to_string(),
                customers: n,
                loyal: l,
                semi_loyal: s,
                share: if n > 0 { (l + s) as f64 / n as f64 } else { 0.0 },
            }
        })
        .collect();
    Ok(LoyalReport {
        baseline_date: date_of_day(baseline).to_string(),
        loyal_share: loyal,
        semi_share: semi,
        baseline: frozen,
        trend,
    })
}

/// What one loyal class of customers is worth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassWorth {
    /// `loyal`, `semi_loyal` or `other`.
    pub class: &'static str,
    /// Customers in the class.
    pub customers: usize,
    /// Their revenue (order totals up to the as-of day).
    pub revenue: f64,
    /// Their share of all revenue (0–1).
    pub revenue_share: f64,
    /// Revenue per customer.
    pub revenue_per_customer: f64,
}

/// Every buying customer's loyal class as of a day, and what each class is worth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoyalClasses {
    /// Loyal, semi-loyal and other, in that order.
    pub classes: Vec<ClassWorth>,
    /// Revenue per loyal customer over revenue per other customer: "one loyal customer is
    /// worth N ordinary ones" (`None` without ordinary customers or revenue).
    pub loyal_worth_in_ordinary: Option<f64>,
}

/// Ranks the customers who have bought by `as_of` (top `loyal` share loyal, the next `semi`
/// share semi-loyal, by the composite of spend, tenure and repeat days), stores each one's
/// class with the scores, and reports what each class is worth.
pub fn refresh_loyal_classes(store: &Store, as_of: i64, loyal: f64, semi: f64) -> Result<LoyalClasses, StoreError> {
    let customers = purchases_until(store, as_of)?;
    let measured: Vec<(i64, Measures)> =
        customers.iter().filter_map(|(id, _, p)| Some((*id, measures(p, as_of)?))).collect();
    let population: Vec<Measures> = measured.iter().map(|(_, m)| *m).collect();
    let baseline = Baseline::fit(&population, loyal, semi);
    let names = [(LoyalClass::Loyal, "loyal"), (LoyalClass::SemiLoyal, "semi_loyal"), (LoyalClass::Other, "other")];
    let mut worth: Vec<ClassWorth> = names
        .iter()
        .map(|(_, class)| ClassWorth {
            class,
            customers: 0,
            revenue: 0.0,
            revenue_share: 0.0,
            revenue_per_customer: 0.0,
        })
        .collect();
    let mut rows = Vec::with_capacity(measured.len());
    for (id, m) in &measured {
        let class = baseline.class(m);
        let i = names.iter().position(|(c, _)| *c == class).unwrap_or(2);
        worth[i].customers += 1;
        worth[i].revenue += m.spend;
        rows.push((*id, names[i].1));
    }
    store.write(|c| enishi_store::repo::scores::store_loyal_classes(c, &rows))?;
    let total: f64 = worth.iter().map(|w| w.revenue).sum();
    for w in &mut worth {
        w.revenue_share = if total > 0.0 { w.revenue / total } else { 0.0 };
        w.revenue_per_customer = if w.customers > 0 { cents(w.revenue / w.customers as f64) } else { 0.0 };
        w.revenue = cents(w.revenue);
    }
    let loyal_worth_in_ordinary = (worth[2].revenue_per_customer > 0.0 && worth[0].customers > 0)
        .then(|| worth[0].revenue_per_customer / worth[2].revenue_per_customer);
    Ok(LoyalClasses { classes: worth, loyal_worth_in_ordinary })
}

/// Computes every customer's top `n` products as of `as_of` and stores them (replacing the
/// previous ones); returns the report.
pub fn refresh_recommendations(store: &Store, as_of: i64, n: usize) -> Result<RecommendReport, StoreError> {
    let report = recommend_report(store, None, as_of, n)?;
    save_recommendations(store, as_of, &report)?;
    Ok(report)
}

/// Stores the recommendations of a report (replacing the previous ones).
pub fn save_recommendations(store: &Store, as_of: i64, report: &RecommendReport) -> Result<(), StoreError> {
    let rows: Vec<(i64, Vec<(String, f64)>)> = report.rows.iter().map(|r| (r.id, r.products.clone())).collect();
    store.write(|c| enishi_store::repo::scores::store_recommendations(c, as_of, &rows))
}

/// Computes RFM as of `as_of` and stores every customer's scores; returns the report.
pub fn refresh_rfm_scores(store: &Store, as_of: i64) -> Result<RfmReport, StoreError> {
    let report = rfm_report(store, as_of)?;
    let rows: Vec<(i64, enishi_store::RfmScores)> = report
        .rows
        .iter()
        .map(|c| {
            let s = &c.score;
            let segment =
                serde_json::to_value(s.segment).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            (c.id, enishi_store::RfmScores { as_of_day: as_of, r: s.r.into(), f: s.f.into(), m: s.m.into(), segment })
        })
        .collect();
    store.write(|c| enishi_store::repo::scores::store_rfm(c, &rows))?;
    Ok(report)
}

/// A customer's recommended products.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerRecommendations {
    /// Enishi's customer id.
    pub id: i64,
    /// The shop's customer id.
    pub customer_id: String,
    /// SKUs, best first, with their scores.
    pub products: Vec<(String, f64)>,
}

/// Co-purchase recommendations and, with a holdout, how well they would have done.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecommendReport {
    /// Products seen.
    pub products: usize,
    /// Hit rates @n on the holdout, against recommending the most popular products.
    pub evaluation: Option<enishi_analytics::recommend::Evaluation>,
    /// Every customer's top n (left out of JSON answers).
    #[serde(skip)]
    pub rows: Vec<CustomerRecommendations>,
}

/// Distinct products of a customer's purchases in `days` (inclusive range), with whether each
/// was bought on more than one day.
fn basket(items: &[(i64, u32)], from: i64, to: i64) -> Vec<(u32, bool)> {
    let mut days: std::collections::BTreeMap<u32, (i64, bool)> = std::collections::BTreeMap::new();
    for &(d, p) in items.iter().filter(|(d, _)| *d >= from && *d <= to) {
        days.entry(p).and_modify(|e| e.1 |= e.0 != d).or_insert((d, false));
    }
    days.into_iter().map(|(p, (_, again))| (p, again)).collect()
}

/// Recommends `n` products to every customer from purchases up to `as_of`; with
/// `holdout_from`, also trains on the purchases before that day and measures hit rate @n on
/// the products bought from it to `as_of`.
pub fn recommend_report(
    store: &Store,
    holdout_from: Option<i64>,
    as_of: i64,
    n: usize,
) -> Result<RecommendReport, StoreError> {
    let mut skus: Vec<String> = Vec::new();
    let mut index: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    // (Enishi id, shop id, [(day, product index)])
    type Items = (i64, String, Vec<(i64, u32)>);
    let mut customers: Vec<Items> = Vec::new();
    store.read(|c| {
        enishi_store::repo::analytics::for_each_customer_items(c, &mut |id, ext, items| {
            let coded: Vec<(i64, u32)> = items
                .iter()
                .filter(|(d, _)| *d <= as_of)
                .map(|(d, sku)| {
                    let next = skus.len() as u32;
                    let p = *index.entry(sku.clone()).or_insert_with(|| {
                        skus.push(sku.clone());
                        next
                    });
                    (*d, p)
                })
                .collect();
            if !coded.is_empty() {
                customers.push((id, ext.to_string(), coded));
            }
            Ok(())
        })
    })?;
    use enishi_analytics::recommend::{evaluate, CoPurchase};
    let evaluation = holdout_from.map(|split| {
        let train: Vec<Vec<(u32, bool)>> = customers.iter().map(|(_, _, it)| basket(it, i64::MIN, split - 1)).collect();
        let model = CoPurchase::train(&train, skus.len());
        let cases: Vec<(Vec<u32>, Vec<u32>)> = customers
            .iter()
            .zip(&train)
            .map(|((_, _, it), before)| {
                (before.iter().map(|(p, _)| *p).collect(), basket(it, split, as_of).iter().map(|(p, _)| *p).collect())
            })
            .collect();
        evaluate(&model, &cases, n)
    });
    let all: Vec<Vec<(u32, bool)>> = customers.iter().map(|(_, _, it)| basket(it, i64::MIN, as_of)).collect();
    let model = CoPurchase::train(&all, skus.len());
    let rows = customers
        .iter()
        .zip(&all)
        .map(|((id, ext, _), b)| {
            let bought: Vec<u32> = b.iter().map(|(p, _)| *p).collect();
            CustomerRecommendations {
                id: *id,
                customer_id: ext.clone(),
                products: model.recommend(&bought, n).into_iter().map(|(p, s)| (skus[p as usize].clone(), s)).collect(),
            }
        })
        .collect();
    Ok(RecommendReport { products: skus.len(), evaluation, rows })
}

/// Months since January 1970 of a business day.
fn month_of(day: i64) -> i64 {
    let d = date_of_day(day);
    (i64::from(d.year()) - 1970) * 12 + i64::from(d.month0())
}

/// The KPIs of every customer's orders up to `as_of`.
pub fn kpis_report(store: &Store, as_of: i64, clock: BusinessClock) -> Result<KpiReport, StoreError> {
    let customers = purchases_until(store, as_of)?;
    let orders: Vec<Vec<(i64, i64, f64)>> =
        customers.iter().map(|(_, _, p)| p.iter().map(|&(d, v)| (d, month_of(d), v)).collect()).collect();
    let kpis = enishi_analytics::kpis::kpis(&orders, month_of(as_of));
    let mut orders_by_hour = [0usize; 24];
    let end_of_day = clock.start_of_day(as_of + 1).timestamp();
    let (new_customers, referred) = store.read(|c| {
        analytics::for_each_order_time(c, as_of, &mut |t| {
            orders_by_hour[clock.local_hour(enishi_store::instant(t)) as usize] += 1;
            Ok(())
        })?;
        analytics::acquisition(c, end_of_day)
    })?;
    Ok(KpiReport {
        kpis,
        orders_by_hour,
        customers_acquired: new_customers,
        acquired_by_referral: referred,
        referral_share: if new_customers > 0 { referred as f64 / new_customers as f64 } else { 0.0 },
    })
}

/// The KPIs, with what needs more than purchase days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiReport {
    /// Purchase-based KPIs.
    #[serde(flatten)]
    pub kpis: enishi_analytics::kpis::Kpis,
    /// Orders per hour of the day in the business time zone, 0–23.
    pub orders_by_hour: [usize; 24],
    /// Customers whose first order was on or before the as-of day.
    pub customers_acquired: i64,
    /// Of them, customers referred by another customer.
    pub acquired_by_referral: i64,
    /// Share of customers acquired by referral.
    pub referral_share: f64,
}
