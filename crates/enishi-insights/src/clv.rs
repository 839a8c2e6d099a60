//! CLV and churn over the stored purchases: fit BG/NBD and Gamma-Gamma, check them on a
//! holdout period, and score every customer (P(alive), expected purchases, expected order
//! value, discounted CLV). The CLI stores the scores; the API answers the report.

use enishi_analytics::bgnbd::{self, BgNbd, Cohorts, Dropout};
use enishi_analytics::pareto_nbd::{self, ParetoNbd};
use enishi_analytics::summary::{summarize, CustomerSummary, Excluded, Periods};
use enishi_analytics::{clv, gamma_gamma};
use enishi_store::repo::analytics::for_each_customer_purchases;
use enishi_store::{Store, StoreError, ValueScores};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What to fit and predict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvOptions {
    /// Last business day of the calibration period.
    pub calibration_end: i64,
    /// Last day of the holdout period, if checking against one.
    pub holdout_end: Option<i64>,
    /// Days per model time unit (7 for weeks, 1 for days).
    pub unit_days: f64,
    /// Prediction horizon in days without a holdout period.
    pub horizon_days: u32,
    /// Months of CLV.
    pub months: u32,
    /// Monthly discount rate.
    pub discount: f64,
    /// The purchase-count model.
    pub model: CountModel,
}

/// The models of how many purchases a customer makes, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CountModel {
    /// BG/NBD: customers drop out only right after a purchase.
    #[default]
    BgNbd,
    /// MBG/NBD: also before their first repeat purchase.
    MbgNbd,
    /// Pareto/NBD: at any moment.
    ParetoNbd,
}

impl CountModel {
    /// The model's name in reports: `bg/nbd`, `mbg/nbd` or `pareto/nbd`.
    pub fn name(self) -> &'static str {
        match self {
            CountModel::BgNbd => "bg/nbd",
            CountModel::MbgNbd => "mbg/nbd",
            CountModel::ParetoNbd => "pareto/nbd",
        }
    }
}

impl std::str::FromStr for CountModel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bg-nbd" => Ok(CountModel::BgNbd),
            "mbg-nbd" => Ok(CountModel::MbgNbd),
            "pareto-nbd" => Ok(CountModel::ParetoNbd),
            other => Err(format!("'{other}' is not one of: bg-nbd, mbg-nbd, pareto-nbd")),
        }
    }
}

/// A fitted purchase-count model.
#[derive(Debug, Clone, Copy)]
enum Counting {
    Beta(BgNbd),
    Pareto(ParetoNbd),
}

impl Counting {
    fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        match self {
            Counting::Beta(m) => m.p_alive(x, tx, t),
            Counting::Pareto(m) => m.p_alive(x, tx, t),
        }
    }

    fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> f64 {
        match self {
            Counting::Beta(m) => m.expected_purchases(horizon, x, tx, t),
            Counting::Pareto(m) => m.expected_purchases(horizon, x, tx, t),
        }
    }
}

/// Fits `model` to the customers' (x, tₓ, T): the model and its report.
fn fit_counts(model: CountModel, cohorts: &Cohorts) -> (Counting, ModelFit) {
    match model {
        CountModel::BgNbd | CountModel::MbgNbd => {
            let dropout = if model == CountModel::MbgNbd { Dropout::AlsoAtStart } else { Dropout::AfterPurchases };
            let fit = bgnbd::fit(cohorts, dropout);
            let m = fit.params;
            (Counting::Beta(m), model_fit(&["r", "alpha", "a", "b"], &[m.r, m.alpha, m.a, m.b], &fit.report))
        }
        CountModel::ParetoNbd => {
            let fit = pareto_nbd::fit(cohorts);
            let m = fit.params;
            (Counting::Pareto(m), model_fit(&["r", "alpha", "s", "beta"], &[m.r, m.alpha, m.s, m.beta], &fit.report))
        }
    }
}

/// Why there is no CLV report.
#[derive(Debug, thiserror::Error)]
pub enum ClvError {
    /// Nobody bought by the calibration end.
    #[error("no customer bought on or before the calibration end; nothing to fit")]
    NoCustomers,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Predicted against actual repeat purchases for customers with one calibration frequency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ByFrequency {
    /// Repeat purchases in calibration (`7+` for seven or more).
    pub frequency: String,
    /// Customers.
    pub customers: u64,
    /// Actual holdout purchases.
    pub actual: f64,
    /// Predicted holdout purchases.
    pub predicted: f64,
}

/// The holdout check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Holdout {
    /// Days of the holdout period.
    pub days: i64,
    /// Actual repeat purchases.
    pub actual_repeat_transactions: u64,
    /// Predicted repeat purchases.
    pub predicted_repeat_transactions: f64,
    /// By calibration frequency.
    pub by_frequency: Vec<ByFrequency>,
}

/// Customers left out of a fit, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exclusions {
    /// First bought after the calibration end.
    pub first_purchase_after_calibration: u64,
    /// Without repeat purchases (not in the Gamma-Gamma fit; BG/NBD includes them).
    pub gamma_gamma_without_repeat_purchases: u64,
    /// With repeat purchases of zero value (not in the Gamma-Gamma fit).
    pub gamma_gamma_zero_value: u64,
}

/// A fitted model's parameters with their standard errors and how the fit went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelFit {
    /// Parameters by name.
    #[serde(flatten)]
    pub parameters: BTreeMap<String, f64>,
    /// Standard errors by parameter name.
    pub standard_errors: BTreeMap<String, f64>,
    /// Log-likelihood at the optimum.
    pub log_likelihood: f64,
    /// Optimiser iterations.
    pub iterations: usize,
    /// Whether it converged.
    pub converged: bool,
    /// Customers fitted.
    pub customers: u64,
}

/// A customer's predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerValue {
    /// Enishi id.
    pub id: i64,
    /// The shop's id.
    pub external_id: String,
    /// Calibration summary.
    #[serde(skip)]
    pub summary: CustomerSummary,
    /// Predictions.
    #[serde(flatten)]
    pub scores: ValueScores,
}

/// The CLV report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClvReport {
    /// Customers scored.
    pub customers: usize,
    /// Days per time unit.
    pub unit_days: f64,
    /// The purchase-count model: `bg/nbd` or `mbg/nbd`.
    pub count_model: &'static str,
    /// Its fit: (r, alpha, a, b), or (r, alpha, s, beta) for Pareto/NBD; named `bgnbd`
    /// whichever model it is.
    pub bgnbd: ModelFit,
    /// Gamma-Gamma (p, q, gamma), when there were at least three repeat buyers.
    pub gamma_gamma: Option<ModelFit>,
    /// The holdout check, when asked for.
    pub holdout: Option<Holdout>,
    /// Who was left out of what.
    pub excluded: Exclusions,
}

fn model_fit(names: &[&str], values: &[f64], r: &enishi_analytics::FitReport) -> ModelFit {
    ModelFit {
        parameters: names.iter().zip(values).map(|(n, v)| (n.to_string(), *v)).collect(),
        standard_errors: names.iter().zip(&r.standard_errors).map(|(n, v)| (n.to_string(), *v)).collect(),
        log_likelihood: r.log_likelihood,
        iterations: r.iterations,
        converged: r.converged,
        customers: r.observations,
    }
}

/// Fits the models on purchases up to the calibration end and scores every customer who had
/// bought by then.
pub fn clv_report(store: &Store, o: &ClvOptions) -> Result<(ClvReport, Vec<CustomerValue>), ClvError> {
    let periods = Periods { calibration_end: o.calibration_end, holdout_end: o.holdout_end, unit_days: o.unit_days };
    let mut customers: Vec<(i64, String, CustomerSummary)> = Vec::new();
    let mut excluded = Exclusions::default();
    store.read(|c| {
        for_each_customer_purchases(c, &mut |id, ext, purchases| {
            match summarize(purchases, periods) {
                Ok(s) => customers.push((id, ext.to_string(), s)),
                Err(Excluded::FirstPurchaseAfterCalibration) => excluded.first_purchase_after_calibration += 1,
                Err(Excluded::NoPurchases) => {}
            }
            Ok(())
        })
    })?;
    if customers.is_empty() {
        return Err(ClvError::NoCustomers);
    }
    let (counting, count_fit) =
        fit_counts(o.model, &Cohorts::new(customers.iter().map(|(_, _, s)| (s.frequency, s.recency, s.age))));
    let repeaters: Vec<(f64, f64)> = customers
        .iter()
        .filter(|(_, _, s)| s.frequency > 0.0 && s.monetary > 0.0)
        .map(|(_, _, s)| (s.frequency, s.monetary))
        .collect();
    excluded.gamma_gamma_without_repeat_purchases =
        customers.iter().filter(|(_, _, s)| s.frequency == 0.0).count() as u64;
    excluded.gamma_gamma_zero_value =
        customers.iter().filter(|(_, _, s)| s.frequency > 0.0 && s.monetary <= 0.0).count() as u64;
    let gg = (repeaters.len() >= 3).then(|| gamma_gamma::fit(&repeaters));
    let horizon_days = o.holdout_end.map_or(f64::from(o.horizon_days), |h| (h - o.calibration_end) as f64);
    let horizon = horizon_days / o.unit_days;
    let predictions = predict_histories(&counting, &customers, horizon, o);
    let predicted = |s: &CustomerSummary| predictions.get(&history_key(s)).copied().unwrap_or_default();
    let holdout = o.holdout_end.map(|h| {
        let mut buckets: Vec<ByFrequency> = (0..=7)
            .map(|x| ByFrequency {
                frequency: if x == 7 { "7+".into() } else { x.to_string() },
                customers: 0,
                actual: 0.0,
                predicted: 0.0,
            })
            .collect();
        for (_, _, s) in &customers {
            let b = &mut buckets[(s.frequency as usize).min(7)];
            b.customers += 1;
            b.actual += f64::from(s.holdout_purchases);
            b.predicted += predicted(s).expected_purchases;
        }
        Holdout {
            days: h - o.calibration_end,
            actual_repeat_transactions: buckets.iter().map(|b| b.actual as u64).sum(),
            predicted_repeat_transactions: buckets.iter().map(|b| b.predicted).sum(),
            by_frequency: buckets,
        }
    });
    let values: Vec<CustomerValue> = customers
        .iter()
        .map(|(id, ext, s)| {
            let p = predicted(s);
            let expected_value =
                gg.as_ref().map_or(f64::NAN, |g| g.params.expected_average_value(s.frequency, s.monetary));
            CustomerValue {
                id: *id,
                external_id: ext.clone(),
                summary: *s,
                scores: ValueScores {
                    as_of_day: o.calibration_end,
                    p_alive: p.p_alive,
                    expected_purchases: p.expected_purchases,
                    expected_days: horizon_days.round() as i64,
                    expected_value,
                    clv: expected_value * p.discounted_purchases,
                },
            }
        })
        .collect();
    let report = ClvReport {
        customers: customers.len(),
        unit_days: o.unit_days,
        count_model: o.model.name(),
        bgnbd: count_fit,
        gamma_gamma: gg
            .as_ref()
            .map(|g| model_fit(&["p", "q", "gamma"], &[g.params.p, g.params.q, g.params.gamma], &g.report)),
        holdout,
        excluded,
    };
    Ok((report, values))
}

/// The model's predictions for one purchase history (x, tₓ, T), shared by every customer with it.
#[derive(Debug, Clone, Copy, Default)]
struct HistoryPrediction {
    p_alive: f64,
    expected_purchases: f64,
    discounted_purchases: f64,
}

/// A purchase history as a hashable key (its exact bits).
fn history_key(s: &CustomerSummary) -> (u64, u64, u64) {
    (s.frequency.to_bits(), s.recency.to_bits(), s.age.to_bits())
}

/// Predicts each distinct purchase history once (many customers share one: every one-time
/// buyer of the same day has the same), on both cores.
fn predict_histories(
    model: &Counting,
    customers: &[(i64, String, CustomerSummary)],
    horizon: f64,
    o: &ClvOptions,
) -> HashMap<(u64, u64, u64), HistoryPrediction> {
    let mut keys: Vec<(u64, u64, u64)> = customers.iter().map(|(_, _, s)| history_key(s)).collect();
    keys.sort_unstable();
    keys.dedup();
    let predict = |&(x, tx, t): &(u64, u64, u64)| {
        let (x, tx, t) = (f64::from_bits(x), f64::from_bits(tx), f64::from_bits(t));
        HistoryPrediction {
            p_alive: model.p_alive(x, tx, t),
            expected_purchases: model.expected_purchases(horizon, x, tx, t),
            discounted_purchases: clv::discounted_purchases(
                |h| model.expected_purchases(h, x, tx, t),
                o.months,
                o.discount,
                o.unit_days,
            ),
        }
    };
    let (left, right) = keys.split_at(keys.len() / 2);
    let (a, b) = std::thread::scope(|scope| {
        let h = scope.spawn(|| left.iter().map(predict).collect::<Vec<_>>());
        let b = right.iter().map(predict).collect::<Vec<_>>();
        (h.join().unwrap_or_default(), b)
    });
    keys.into_iter().zip(a.into_iter().chain(b)).collect()
}

/// Stores every customer's predictions with their scores.
pub fn store_values(store: &Store, values: &[CustomerValue]) -> Result<(), StoreError> {
    let rows: Vec<(i64, ValueScores)> = values.iter().map(|v| (v.id, v.scores.clone())).collect();
    store.write(|c| enishi_store::repo::scores::store_value(c, &rows))
}
