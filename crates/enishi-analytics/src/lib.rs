//! Customer analytics, as pure numerics: no SQL, no HTTP, no IO.
//!
//! - [`summary`]: per-customer frequency / recency / age from dated purchases, with a
//!   calibration and a holdout period;
//! - [`bgnbd`]: the BG/NBD model of Fader, Hardie & Lee (2005) — purchase counts and P(alive);
//! - [`gamma_gamma`]: the Gamma-Gamma model of spend per transaction;
//! - [`clv`]: discounted customer lifetime value from both;
//! - [`rfm`]: recency / frequency / monetary scores and named segments;
//! - [`recommend`]: co-purchase recommendations and their hit rate against popularity;
//! - [`pareto`]: revenue concentration (the 80/20 view), Lorenz curve and Gini;
//! - [`kpis`]: repeat rate, order value, frequency, revenue per customer, gaps, weekdays, cohorts;
//! - [`lifecycle`]: new → active → inactive → at risk → lost, by each customer's own rhythm;
//! - [`loyal`]: loyal and semi-loyal customers under thresholds frozen at a baseline;
//! - [`outliers`]: orders far outside the shop's usual (a fence on log order totals);
//! - [`optimize`] and [`special`]: the maximum-likelihood machinery they share.

pub mod bgnbd;
pub mod clv;
pub mod gamma_gamma;
pub mod kpis;
pub mod lifecycle;
pub mod loyal;
pub mod optimize;
pub mod outliers;
pub mod pareto;
pub mod pareto_nbd;
pub mod recommend;
pub mod rfm;
pub mod special;
pub mod summary;
pub mod uplift;

/// How a maximum-likelihood fit went, for the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FitReport {
    /// Log-likelihood at the optimum.
    pub log_likelihood: f64,
    /// Standard errors of the parameters (same order as the parameters), from the inverse of
    /// the observed information; `NaN` where it is singular.
    pub standard_errors: Vec<f64>,
    /// Iterations the optimiser took.
    pub iterations: usize,
    /// Whether the gradient fell below the tolerance.
    pub converged: bool,
    /// Customers (or rows) the fit used.
    pub observations: u64,
}

impl FitReport {
    /// The report of a minimisation of the mean negative log-likelihood over `observations`.
    pub fn new(m: &optimize::Minimum, observations: u64, standard_errors: Vec<f64>) -> FitReport {
        FitReport {
            log_likelihood: -m.value * observations.max(1) as f64,
            standard_errors,
            iterations: m.iterations,
            converged: m.converged,
            observations,
        }
    }
}
