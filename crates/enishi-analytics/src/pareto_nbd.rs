//! The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), with the likelihood, P(alive)
//! and conditional expectation of Fader, Hardie & Shang's note (2005).
//!
//! While alive, a customer buys at rate λ ~ Gamma(r, α); their lifetime is exponential with
//! rate μ ~ Gamma(s, β), so they may leave at any moment, not only after a purchase. Fitted by
//! maximum likelihood on (x, tₓ, T) with a numerical gradient.

use crate::bgnbd::Cohorts;
use crate::optimize::{bfgs, standard_errors};
use crate::special::{hyp2f1, ln_gamma};
use crate::FitReport;
use serde::Serialize;

/// Pareto/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParetoNbd {
    /// Shape of the purchase-rate distribution.
    pub r: f64,
    /// Scale of the purchase-rate distribution (in the time unit of the data).
    pub alpha: f64,
    /// Shape of the drop-out-rate distribution.
    pub s: f64,
    /// Scale of the drop-out-rate distribution.
    pub beta: f64,
}

/// The logs of the terms the likelihood and P(alive) are made of, for one (x, tₓ, T).
struct Terms {
    /// ln[(α+T)^−(r+x) (β+T)^−s]: the customer is still alive at T.
    alive: f64,
    /// ln of s/(r+s+x) · A₀ (FHS 2005, eq. 22–23): they left between tₓ and T.
    left: f64,
}

impl ParetoNbd {
    fn terms(&self, x: f64, tx: f64, t: f64) -> Terms {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let rsx = r + s + x;
        let alive = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
        // Expand around the larger of α and β, so that the ₂F₁ argument is in [0, 1).
        let (big, b, diff) = if alpha >= beta { (alpha, s + 1.0, alpha - beta) } else { (beta, r + x, beta - alpha) };
        let (l1, l2) = (-rsx * (big + tx).ln(), -rsx * (big + t).ln());
        let (f1, f2) = (hyp2f1(rsx, b, rsx + 1.0, diff / (big + tx)), hyp2f1(rsx, b, rsx + 1.0, diff / (big + t)));
        // A₀ = e^l1 f1 − e^l2 f2 > 0, taken around e^l1 (l1 ≥ l2 as tₓ ≤ T).
        let a0 = (f1 - (l2 - l1).exp() * f2).max(f64::MIN_POSITIVE);
        Terms { alive, left: (s / rsx).ln() + l1 + a0.ln() }
    }

    /// Log-likelihood of one customer with (x, tₓ, T).
    fn ln_likelihood(&self, x: f64, tx: f64, t: f64) -> f64 {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let k = self.terms(x, tx, t);
        let m = k.alive.max(k.left);
        ln_gamma(r + x) - ln_gamma(r)
            + r * alpha.ln()
            + s * beta.ln()
            + m
            + ((k.alive - m).exp() + (k.left - m).exp()).ln()
    }

    /// Total log-likelihood of the cohorts.
    pub fn log_likelihood(&self, c: &Cohorts) -> f64 {
        let rows = c.rows();
        let (left, right) = rows.split_at(rows.len() / 2);
        let part = |rows: &[(u32, f64, f64, f64)]| {
            rows.iter().map(|&(x, tx, t, n)| n * self.ln_likelihood(f64::from(x), tx, t)).sum::<f64>()
        };
        std::thread::scope(|scope| {
            let h = scope.spawn(|| part(left));
            part(right) + h.join().unwrap_or(f64::NAN)
        })
    }

    /// P(alive) of a customer with (x, tₓ, T).
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        let k = self.terms(x, tx, t);
        1.0 / (1.0 + (k.left - k.alive).exp())
    }

    /// Expected purchases in the next `horizon` time units of a customer with (x, tₓ, T).
    pub fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> f64 {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let while_alive = if (s - 1.0).abs() < 1e-9 {
            (r + x) / (alpha + t) * (beta + t) * ((beta + t + horizon) / (beta + t)).ln()
        } else {
            (r + x) * (beta + t) / ((alpha + t) * (s - 1.0)) * (1.0 - ((beta + t) / (beta + t + horizon)).powf(s - 1.0))
        };
        while_alive * self.p_alive(x, tx, t)
    }
}

/// A fitted Pareto/NBD model and how the fit went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParetoNbdFit {
    /// Parameters.
    pub params: ParetoNbd,
    /// Log-likelihood, standard errors (r, α, s, β), convergence.
    pub report: FitReport,
}

/// The likelihood's gradient in `theta` by central differences (relative steps).
fn numeric_gradient(ll: &impl Fn(&[f64]) -> f64, theta: &[f64]) -> Vec<f64> {
    (0..theta.len())
        .map(|i| {
            let h = 1e-6 * theta[i].abs().max(1e-6);
            let (mut up, mut down) = (theta.to_vec(), theta.to_vec());
            up[i] += h;
            down[i] -= h;
            (ll(&up) - ll(&down)) / (2.0 * h)
        })
        .collect()
}

/// Fits Pareto/NBD by maximum likelihood (BFGS on the log-parameters).
pub fn fit(c: &Cohorts) -> ParetoNbdFit {
    let model = |th: &[f64]| ParetoNbd { r: th[0], alpha: th[1], s: th[2], beta: th[3] };
    let n = c.customers().max(1) as f64;
    let ll = |th: &[f64]| model(th).log_likelihood(c);
    // The mean negative log-likelihood per customer, over u = ln θ.
    let objective = |u: &[f64]| {
        let theta: Vec<f64> = u.iter().map(|v| v.exp()).collect();
        let value = -ll(&theta) / n;
        let g = numeric_gradient(&ll, &theta);
        (value, (0..4).map(|i| -g[i] * theta[i] / n).collect())
    };
    let mean_age = c.rows().iter().map(|r| r.2 * r.3).sum::<f64>() / n;
    let start = [0.0, mean_age.max(1e-3).ln(), 0.0, mean_age.max(1e-3).ln()];
    let m = bfgs(objective, &start, 1e-7, 500);
    let theta: Vec<f64> = m.x.iter().map(|v| v.exp()).collect();
    let se = standard_errors(|th| numeric_gradient(&ll, th).iter().map(|g| -g).collect(), &theta);
    ParetoNbdFit { params: model(&theta), report: FitReport::new(&m, c.customers(), se) }
}
