//! The BG/NBD model (Fader, Hardie & Lee, "Counting Your Customers the Easy Way", 2005) and
//! its MBG/NBD variant (Batislam, Denizel & Filiztekin 2007).
//!
//! While alive, a customer buys at rate λ ~ Gamma(r, α); after each purchase they drop out
//! with probability p ~ Beta(a, b). MBG/NBD lets them drop out at time zero too, so a customer
//! who never came back is not certainly alive. Fitted by maximum likelihood on (x, tₓ, T);
//! gives the expected number of purchases in a coming period and the probability of being
//! alive.

use crate::optimize::{bfgs, standard_errors};
use crate::special::{digamma, hyp2f1, ln_beta, ln_gamma};
use crate::FitReport;
use serde::Serialize;
use std::collections::HashMap;

/// When a customer may drop out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dropout {
    /// After a purchase only (BG/NBD).
    #[default]
    AfterPurchases,
    /// At the start as well as after each purchase (MBG/NBD).
    AlsoAtStart,
}

impl Dropout {
    /// 0 for BG/NBD, 1 for MBG/NBD: the shift of b and a + b in the model's formulas.
    fn k(self) -> f64 {
        match self {
            Dropout::AfterPurchases => 0.0,
            Dropout::AlsoAtStart => 1.0,
        }
    }

    /// Whether a customer with `x` repeat purchases may already have dropped out.
    fn may_be_gone(self, x: f64) -> bool {
        x > 0.0 || self == Dropout::AlsoAtStart
    }
}

/// BG/NBD (or MBG/NBD) parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BgNbd {
    /// Shape of the purchase-rate distribution.
    pub r: f64,
    /// Scale of the purchase-rate distribution (in the time unit of the data).
    pub alpha: f64,
    /// Drop-out Beta a.
    pub a: f64,
    /// Drop-out Beta b.
    pub b: f64,
    /// BG/NBD or MBG/NBD.
    #[serde(skip)]
    pub dropout: Dropout,
}

/// Customers with identical (x, tₓ, T) and how many of them: the likelihood is evaluated once
/// per distinct triple.
#[derive(Debug, Clone, Default)]
pub struct Cohorts {
    rows: Vec<(u32, f64, f64, f64)>,
    max_x: u32,
    customers: u64,
}

impl Cohorts {
    /// Groups customers given as (frequency, recency, age).
    pub fn new(data: impl IntoIterator<Item = (f64, f64, f64)>) -> Self {
        let mut index: HashMap<(u32, u64, u64), usize> = HashMap::new();
        let mut c = Cohorts::default();
        for (x, tx, t) in data {
            let xi = x.round().max(0.0) as u32;
            c.customers += 1;
            c.max_x = c.max_x.max(xi);
            let key = (xi, tx.to_bits(), t.to_bits());
            match index.get(&key) {
                Some(&i) => c.rows[i].3 += 1.0,
                None => {
                    index.insert(key, c.rows.len());
                    c.rows.push((xi, tx, t, 1.0));
                }
            }
        }
        c
    }

    /// Number of customers.
    pub fn customers(&self) -> u64 {
        self.customers
    }

    /// The distinct (x, tₓ, T) with how many customers have each.
    pub(crate) fn rows(&self) -> &[(u32, f64, f64, f64)] {
        &self.rows
    }
}

/// Per-frequency terms that do not depend on tₓ or T.
struct ByX {
    a1: f64,
    a2: f64,
    a3: f64,
    d_r: f64,
    d2a: f64,
    d2b: f64,
    d3a: f64,
    d3b: f64,
}

impl BgNbd {
    fn terms(&self, max_x: u32) -> Vec<ByX> {
        let BgNbd { r, alpha, a, b, dropout } = *self;
        let k = dropout.k();
        let (lg_r, psi_r, lb_ab) = (ln_gamma(r), digamma(r), ln_beta(a, b));
        let (psi_a, psi_b, psi_ab, psi_a1) = (digamma(a), digamma(b), digamma(a + b), digamma(a + 1.0));
        (0..=max_x)
            .map(|x| {
                let x = f64::from(x);
                let psi_abx = digamma(a + b + x + k);
                let (a3, d3b) = if dropout.may_be_gone(x) {
                    (ln_beta(a + 1.0, b + x - 1.0 + k) - lb_ab, digamma(b + x - 1.0 + k) - psi_abx - psi_b + psi_ab)
                } else {
                    (f64::NEG_INFINITY, 0.0)
                };
                ByX {
                    a1: ln_gamma(r + x) - lg_r + r * alpha.ln(),
                    a2: ln_beta(a, b + x + k) - lb_ab,
                    a3,
                    d_r: digamma(r + x) - psi_r + alpha.ln(),
                    d2a: psi_ab - psi_abx,
                    d2b: digamma(b + x + k) - psi_abx - psi_b + psi_ab,
                    d3a: psi_a1 - psi_abx - psi_a + psi_ab,
                    d3b,
                }
            })
            .collect()
    }

    /// Total log-likelihood of the cohorts and its gradient in (r, α, a, b).
    pub fn log_likelihood(&self, c: &Cohorts) -> (f64, [f64; 4]) {
        let terms = self.terms(c.max_x);
        let half = c.rows.len() / 2;
        let (left, right) = c.rows.split_at(half);
        let (l, r) = std::thread::scope(|s| {
            let h = s.spawn(|| self.partial(left, &terms));
            let r = self.partial(right, &terms);
            (h.join().unwrap_or((f64::NAN, [f64::NAN; 4])), r)
        });
        (l.0 + r.0, [l.1[0] + r.1[0], l.1[1] + r.1[1], l.1[2] + r.1[2], l.1[3] + r.1[3]])
    }

    fn partial(&self, rows: &[(u32, f64, f64, f64)], terms: &[ByX]) -> (f64, [f64; 4]) {
        let (r, alpha) = (self.r, self.alpha);
        let mut ll = 0.0;
        let mut g = [0.0; 4];
        for &(x, tx, t, n) in rows {
            let k = &terms[x as usize];
            let rx = r + f64::from(x);
            let (ln_t, ln_tx) = ((alpha + t).ln(), (alpha + tx).ln());
            let e2 = k.a2 - rx * ln_t;
            let (lse, w2) = if self.dropout.may_be_gone(f64::from(x)) {
                let e3 = k.a3 - rx * ln_tx;
                let m = e2.max(e3);
                let (p2, p3) = ((e2 - m).exp(), (e3 - m).exp());
                (m + (p2 + p3).ln(), p2 / (p2 + p3))
            } else {
                (e2, 1.0)
            };
            let w3 = 1.0 - w2;
            ll += n * (k.a1 + lse);
            g[0] += n * (k.d_r - w2 * ln_t - w3 * ln_tx);
            g[1] += n * (r / alpha - rx * (w2 / (alpha + t) + w3 / (alpha + tx)));
            g[2] += n * (w2 * k.d2a + w3 * k.d3a);
            g[3] += n * (w2 * k.d2b + w3 * k.d3b);
        }
        (ll, g)
    }

    /// P(alive) of a customer with (x, tₓ, T).
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b, dropout } = *self;
        if !dropout.may_be_gone(x) {
            return 1.0;
        }
        1.0 / (1.0 + a / (b + x - 1.0 + dropout.k()) * ((alpha + t) / (alpha + tx)).powf(r + x))
    }

    /// Expected purchases in the next `horizon` time units of a customer with (x, tₓ, T).
    pub fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b, dropout } = *self;
        let k = dropout.k();
        let z = horizon / (alpha + t + horizon);
        let head = (a + b + x - 1.0 + k) / (a - 1.0);
        let tail =
            1.0 - ((alpha + t) / (alpha + t + horizon)).powf(r + x) * hyp2f1(r + x, b + x + k, a + b + x - 1.0 + k, z);
        let denom = if dropout.may_be_gone(x) {
            1.0 + a / (b + x - 1.0 + k) * ((alpha + t) / (alpha + tx)).powf(r + x)
        } else {
            1.0
        };
        head * tail / denom
    }

    /// Expected purchases of a new customer in their first `t` time units. Under MBG/NBD the
    /// customer may be gone from the start, which scales the BG/NBD form's lead term
    /// (a + b − 1)/(a − 1) down to b/(a − 1) (Batislam, Denizel & Filiztekin 2007).
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b, dropout } = *self;
        let k = dropout.k();
        let lead = match dropout {
            Dropout::AfterPurchases => (a + b - 1.0) / (a - 1.0),
            Dropout::AlsoAtStart => b / (a - 1.0),
        };
        lead * (1.0 - (alpha / (alpha + t)).powf(r) * hyp2f1(r, b + k, a + b - 1.0 + k, t / (alpha + t)))
    }
}

/// A fitted model and how the fit went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BgNbdFit {
    /// Parameters.
    pub params: BgNbd,
    /// Log-likelihood, standard errors (r, α, a, b), convergence.
    pub report: FitReport,
}

/// Fits BG/NBD (or, with `Dropout::AlsoAtStart`, MBG/NBD) by maximum likelihood (BFGS on the
/// log-parameters).
pub fn fit(c: &Cohorts, dropout: Dropout) -> BgNbdFit {
    let model = |u: &[f64]| BgNbd { r: u[0].exp(), alpha: u[1].exp(), a: u[2].exp(), b: u[3].exp(), dropout };
    // The mean negative log-likelihood per customer keeps gradients O(1) whatever the size.
    let n = c.customers.max(1) as f64;
    let objective = |u: &[f64]| {
        let m = model(u);
        let (ll, g) = m.log_likelihood(c);
        let theta = [m.r, m.alpha, m.a, m.b];
        // d(−LL)/du = −θ · dLL/dθ
        (-ll / n, (0..4).map(|i| -g[i] * theta[i] / n).collect())
    };
    // Start with α at the scale of the data's ages.
    let mean_age = c.rows.iter().map(|r| r.2 * r.3).sum::<f64>() / (c.customers.max(1) as f64);
    let start = [0.0, mean_age.max(1e-3).ln(), 0.0, 0.0];
    let m = bfgs(objective, &start, 1e-8, 500);
    let params = model(&m.x);
    let se = standard_errors(
        |th| {
            let (_, g) = BgNbd { r: th[0], alpha: th[1], a: th[2], b: th[3], dropout }.log_likelihood(c);
            g.iter().map(|v| -v).collect()
        },
        &[params.r, params.alpha, params.a, params.b],
    );
    BgNbdFit { params, report: FitReport::new(&m, c.customers, se) }
}
