//! The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee, "RFM and CLV", 2005;
//! Colombo & Jiang, 1999): a customer's transaction values are Gamma(p, ν) around a personal
//! mean, with ν ~ Gamma(q, γ) across customers. Fitted on repeat buyers' average repeat value.

use crate::optimize::{bfgs, standard_errors};
use crate::special::{digamma, ln_gamma};
use crate::FitReport;
use serde::Serialize;

/// Gamma-Gamma parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GammaGamma {
    /// Shape of a customer's transaction values.
    pub p: f64,
    /// Shape of the spread of customers' means.
    pub q: f64,
    /// Scale of the spread of customers' means.
    pub gamma: f64,
}

impl GammaGamma {
    /// Total log-likelihood of (x, m̄) pairs (x repeat transactions averaging m̄) and its
    /// gradient in (p, q, γ).
    pub fn log_likelihood(&self, data: &[(f64, f64)]) -> (f64, [f64; 3]) {
        let GammaGamma { p, q, gamma } = *self;
        let (lg_q, psi_q, ln_g) = (ln_gamma(q), digamma(q), gamma.ln());
        let mut ll = 0.0;
        let mut g = [0.0; 3];
        for &(x, m) in data {
            let px = p * x;
            let s = gamma + x * m;
            let (psi_pxq, psi_px) = (digamma(px + q), digamma(px));
            ll += ln_gamma(px + q) - ln_gamma(px) - lg_q + q * ln_g + (px - 1.0) * m.ln() + px * x.ln()
                - (px + q) * s.ln();
            g[0] += x * (psi_pxq - psi_px + m.ln() + x.ln() - s.ln());
            g[1] += psi_pxq - psi_q + ln_g - s.ln();
            g[2] += q / gamma - (px + q) / s;
        }
        (ll, g)
    }

    /// Expected value of a transaction of a customer with `x` repeat transactions averaging
    /// `m` (the population mean when x = 0).
    pub fn expected_average_value(&self, x: f64, m: f64) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        if x <= 0.0 {
            return p * gamma / (q - 1.0);
        }
        p * (gamma + x * m) / (p * x + q - 1.0)
    }
}

/// A fitted model and how the fit went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GammaGammaFit {
    /// Parameters.
    pub params: GammaGamma,
    /// Log-likelihood, standard errors (p, q, γ), convergence.
    pub report: FitReport,
}

/// Fits Gamma-Gamma on (x, m̄) of customers with x > 0 and m̄ > 0 (others must be left out by
/// the caller, who reports how many).
pub fn fit(data: &[(f64, f64)]) -> GammaGammaFit {
    let model = |u: &[f64]| GammaGamma { p: u[0].exp(), q: u[1].exp(), gamma: u[2].exp() };
    let n = data.len().max(1) as f64;
    let objective = |u: &[f64]| {
        let m = model(u);
        let (ll, g) = m.log_likelihood(data);
        let theta = [m.p, m.q, m.gamma];
        (-ll / n, (0..3).map(|i| -g[i] * theta[i] / n).collect())
    };
    let mean = data.iter().map(|d| d.1).sum::<f64>() / data.len().max(1) as f64;
    let m = bfgs(objective, &[0.0, 0.0, mean.max(1e-6).ln()], 1e-8, 1000);
    let params = model(&m.x);
    let se = standard_errors(
        |th| GammaGamma { p: th[0], q: th[1], gamma: th[2] }.log_likelihood(data).1.iter().map(|v| -v).collect(),
        &[params.p, params.q, params.gamma],
    );
    GammaGammaFit { params, report: FitReport::new(&m, data.len() as u64, se) }
}
