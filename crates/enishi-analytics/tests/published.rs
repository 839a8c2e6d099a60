//! The models against the published CDNOW results and against simulated data with known
//! parameters.

use enishi_analytics::bgnbd::{self, BgNbd, Cohorts, Dropout};
use enishi_analytics::summary::{summarize, Periods};
use enishi_analytics::{gamma_gamma, pareto_nbd};
use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution, Exp, Gamma};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/cdnow").join(name);
    std::fs::read_to_string(p).unwrap()
}

/// (x, t_x, T, zbar) of the 2,357 sample customers, as published.
fn published_summary() -> Vec<(f64, f64, f64, f64)> {
    fixture("cdnow_customers_summary_with_transactions.csv")
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|v| v.parse().unwrap()).collect();
            (f[1], f[2], f[3], f[4])
        })
        .collect()
}

/// Standard errors at `theta` from the Hessian of `ll` (a log-likelihood) by second
/// differences of its values, inverted by Gauss-Jordan elimination.
fn standard_errors_from_values(ll: impl Fn(&[f64; 4]) -> f64, theta: [f64; 4]) -> [f64; 4] {
    let h: Vec<f64> = theta.iter().map(|t| 1e-3 * t.abs()).collect();
    let at = |steps: [(usize, f64); 2]| {
        let mut t = theta;
        for (i, k) in steps {
            t[i] += k * h[i];
        }
        ll(&t)
    };
    // The Hessian of the negative log-likelihood, with the identity beside it to invert.
    let mut m = [[0.0; 8]; 4];
    for i in 0..4 {
        for j in 0..4 {
            let d2 = (at([(i, 1.0), (j, 1.0)]) - at([(i, 1.0), (j, -1.0)]) - at([(i, -1.0), (j, 1.0)])
                + at([(i, -1.0), (j, -1.0)]))
                / (4.0 * h[i] * h[j]);
            m[i][j] = -d2;
        }
        m[i][4 + i] = 1.0;
    }
    for col in 0..4 {
        let pivot = (col..4).max_by(|&x, &y| m[x][col].abs().total_cmp(&m[y][col].abs())).unwrap();
        m.swap(col, pivot);
        let lead = m[col][col];
        m[col].iter_mut().for_each(|v| *v /= lead);
        for row in 0..4 {
            if row != col {
                let factor = m[row][col];
                let pivot_row = m[col];
                m[row].iter_mut().zip(pivot_row).for_each(|(v, p)| *v -= factor * p);
            }
        }
    }
    [0, 1, 2, 3].map(|i| m[i][4 + i].sqrt())
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    ((got - want) / want).abs() <= rel
}

#[test]
fn bgnbd_matches_fader_hardie_lee_2005() {
    let data = published_summary();
    assert_eq!(data.len(), 2357);
    let fit = bgnbd::fit(&Cohorts::new(data.iter().map(|d| (d.0, d.1, d.2))), Dropout::AfterPurchases);
    let p = fit.params;
    assert!(close(p.r, 0.243, 0.005) && close(p.alpha, 4.414, 0.005), "{p:?}");
    assert!(close(p.a, 0.793, 0.005) && close(p.b, 2.426, 0.005), "{p:?}");
    assert!((fit.report.log_likelihood + 9582.4).abs() < 0.1, "{}", fit.report.log_likelihood);
    assert!(fit.report.converged);
    // The standard errors against ones derived another way: the Hessian from second
    // differences of the log-likelihood's values (the fit differences its gradient).
    let cohorts = Cohorts::new(data.iter().map(|d| (d.0, d.1, d.2)));
    let theta = [p.r, p.alpha, p.a, p.b];
    let ll = |t: &[f64; 4]| BgNbd { r: t[0], alpha: t[1], a: t[2], b: t[3], ..p }.log_likelihood(&cohorts).0;
    let independent = standard_errors_from_values(ll, theta);
    // … and against the standard errors Python's lifetimes reports for this fit (its
    // quickstart's summary table: 0.012557, 0.378221, 0.185719, 0.705345).
    let published = [0.012557, 0.378221, 0.185719, 0.705345];
    for (i, got) in fit.report.standard_errors.iter().enumerate() {
        assert!(close(*got, independent[i], 1e-4), "parameter {i}: {got} against {}", independent[i]);
        assert!(close(*got, published[i], 1e-4), "parameter {i}: {got} against {}", published[i]);
    }
    let e = p.expected_purchases(39.0, 2.0, 30.43, 38.86);
    assert!((e - 1.226).abs() < 0.001, "{e}");
}

#[test]
fn gamma_gamma_matches_the_published_fit() {
    let repeaters: Vec<(f64, f64)> = published_summary().iter().filter(|d| d.0 > 0.0).map(|d| (d.0, d.3)).collect();
    assert_eq!(repeaters.len(), 946);
    let fit = gamma_gamma::fit(&repeaters);
    let g = fit.params;
    assert!(close(g.p, 6.25, 0.01) && close(g.q, 3.74, 0.01) && close(g.gamma, 15.44, 0.01), "{g:?}");
}

#[test]
fn summaries_from_raw_transactions_match_and_the_holdout_has_1882_purchases() {
    // CDNOW_sample.txt: master id, sample id, YYYYMMDD, CDs, dollars.
    let day = |d: &str| {
        let (y, m, dd) =
            (d[..4].parse::<i32>().unwrap(), d[4..6].parse::<u32>().unwrap(), d[6..].parse::<u32>().unwrap());
        days_from_civil(y, m, dd)
    };
    let mut by_customer: BTreeMap<u32, Vec<(i64, f64)>> = BTreeMap::new();
    for l in fixture("CDNOW_sample.txt").lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        by_customer.entry(f[1].parse().unwrap()).or_default().push((day(f[2]), f[4].parse().unwrap()));
    }
    let periods = Periods { calibration_end: day("19970930"), holdout_end: Some(day("19980630")), unit_days: 7.0 };
    let published = published_summary();
    let mut holdout = 0;
    for (i, (_, purchases)) in by_customer.iter().enumerate() {
        let s = summarize(purchases, periods).unwrap();
        let (x, tx, t, zbar) = published[i];
        assert_eq!(s.frequency, x);
        assert!((s.recency - tx).abs() < 0.006 && (s.age - t).abs() < 0.006, "customer {i}: {s:?}");
        assert!((s.monetary - zbar).abs() < 0.006, "customer {i}: {s:?} vs {zbar}");
        holdout += s.holdout_purchases;
    }
    assert_eq!(holdout, 1882);
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[test]
fn parameters_are_recovered_from_100000_simulated_customers() {
    let truth = BgNbd { r: 0.5, alpha: 6.0, a: 0.8, b: 2.5, dropout: Dropout::AfterPurchases };
    let (p, q, gamma) = (4.0, 3.0, 20.0);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2005);
    let rate = Gamma::new(truth.r, 1.0 / truth.alpha).unwrap();
    let drop = Beta::new(truth.a, truth.b).unwrap();
    let spend_rate = Gamma::new(q, 1.0 / gamma).unwrap();
    let mut rows = Vec::new();
    let mut repeaters = Vec::new();
    for _ in 0..100_000 {
        let lambda: f64 = rate.sample(&mut rng);
        let pdrop: f64 = drop.sample(&mut rng);
        let nu: f64 = spend_rate.sample(&mut rng);
        let age = rng.gen_range(26.0..78.0);
        let (mut t, mut x, mut tx, mut spent) = (0.0, 0.0, 0.0, 0.0);
        let gap = Exp::new(lambda.max(1e-9)).unwrap();
        let value = Gamma::new(p, 1.0 / nu).unwrap();
        loop {
            t += gap.sample(&mut rng);
            if t > age {
                break;
            }
            x += 1.0;
            tx = t;
            spent += value.sample(&mut rng);
            if rng.gen::<f64>() < pdrop {
                break;
            }
        }
        rows.push((x, tx, age));
        if x > 0.0 {
            repeaters.push((x, spent / x));
        }
    }
    let fit = bgnbd::fit(&Cohorts::new(rows), Dropout::AfterPurchases);
    let est = fit.params;
    let se = &fit.report.standard_errors;
    for (i, (got, want)) in
        [(est.r, truth.r), (est.alpha, truth.alpha), (est.a, truth.a), (est.b, truth.b)].into_iter().enumerate()
    {
        assert!((got - want).abs() < 4.0 * se[i], "parameter {i}: {got} vs {want} (se {})", se[i]);
    }
    let gg = gamma_gamma::fit(&repeaters);
    let gse = &gg.report.standard_errors;
    for (i, (got, want)) in [(gg.params.p, p), (gg.params.q, q), (gg.params.gamma, gamma)].into_iter().enumerate() {
        assert!((got - want).abs() < 4.0 * gse[i], "gg parameter {i}: {got} vs {want} (se {})", gse[i]);
    }
}

/// MBG/NBD customers: they may drop out before any purchase as well as after each one.
fn simulate_mbg(truth: &BgNbd, n: usize, seed: u64) -> Vec<(f64, f64, f64)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let rate = Gamma::new(truth.r, 1.0 / truth.alpha).unwrap();
    let drop = Beta::new(truth.a, truth.b).unwrap();
    (0..n)
        .map(|_| {
            let lambda: f64 = rate.sample(&mut rng);
            let pdrop: f64 = drop.sample(&mut rng);
            let age = rng.gen_range(26.0..78.0);
            let (mut t, mut x, mut tx) = (0.0, 0.0, 0.0);
            let gap = Exp::new(lambda.max(1e-9)).unwrap();
            while rng.gen::<f64>() >= pdrop {
                t += gap.sample(&mut rng);
                if t > age {
                    break;
                }
                x += 1.0;
                tx = t;
            }
            (x, tx, age)
        })
        .collect()
}

#[test]
fn mbg_nbd_parameters_are_recovered_and_one_time_buyers_may_be_gone() {
    let truth = BgNbd { r: 0.5, alpha: 6.0, a: 0.8, b: 2.5, dropout: Dropout::AlsoAtStart };
    let rows = simulate_mbg(&truth, 100_000, 2007);
    let fit = bgnbd::fit(&Cohorts::new(rows.iter().copied()), Dropout::AlsoAtStart);
    let (est, se) = (fit.params, &fit.report.standard_errors);
    assert!(fit.report.converged, "{:?}", fit.report);
    for (i, (got, want)) in
        [(est.r, truth.r), (est.alpha, truth.alpha), (est.a, truth.a), (est.b, truth.b)].into_iter().enumerate()
    {
        assert!((got - want).abs() < 4.0 * se[i], "MBG/NBD parameter {i}: {got} vs {want} (se {})", se[i]);
    }
    // The same data fitted as BG/NBD fits worse: it cannot explain the early drop-outs.
    let bg = bgnbd::fit(&Cohorts::new(rows.iter().copied()), Dropout::AfterPurchases);
    assert!(fit.report.log_likelihood > bg.report.log_likelihood + 10.0, "{:?} vs {:?}", fit.report, bg.report);
    // A one-time buyer: certainly alive under BG/NBD, not under MBG/NBD.
    assert_eq!(bg.params.p_alive(0.0, 0.0, 40.0), 1.0);
    let p = est.p_alive(0.0, 0.0, 40.0);
    assert!(p > 0.0 && p < 1.0, "{p}");
    // Expected purchases agree with a simulation of the fitted customers' future.
    let future = est.expected_purchases_new(52.0);
    assert!(future > 0.0 && future.is_finite(), "{future}");
}

#[test]
fn mbg_nbd_gradient_matches_finite_differences() {
    let rows = simulate_mbg(&BgNbd { r: 0.4, alpha: 5.0, a: 1.2, b: 3.0, dropout: Dropout::AlsoAtStart }, 2_000, 1);
    let cohorts = Cohorts::new(rows);
    let at = BgNbd { r: 0.55, alpha: 4.0, a: 0.9, b: 2.2, dropout: Dropout::AlsoAtStart };
    let (_, g) = at.log_likelihood(&cohorts);
    let h = 1e-6;
    let shifted = |i: usize, d: f64| {
        let mut m = at;
        match i {
            0 => m.r += d,
            1 => m.alpha += d,
            2 => m.a += d,
            _ => m.b += d,
        }
        m.log_likelihood(&cohorts).0
    };
    for (i, gi) in g.iter().enumerate() {
        let numeric = (shifted(i, h) - shifted(i, -h)) / (2.0 * h);
        assert!((numeric - gi).abs() < 1e-3 * numeric.abs().max(1.0), "d/dθ{i}: {gi} vs {numeric}");
    }
}

#[test]
fn pareto_nbd_matches_fader_hardie_shang_2005() {
    let data = published_summary();
    let fit = pareto_nbd::fit(&Cohorts::new(data.iter().map(|d| (d.0, d.1, d.2))));
    let p = fit.params;
    assert!(fit.report.converged, "{:?}", fit.report);
    assert!(close(p.r, 0.553, 0.005) && close(p.alpha, 10.578, 0.005), "{p:?}");
    assert!(close(p.s, 0.606, 0.005) && close(p.beta, 11.669, 0.005), "{p:?}");
    assert!((fit.report.log_likelihood + 9595.0).abs() < 0.1, "{:?}", fit.report);
    // A customer with x = 2, tₓ = 30.43, T = 38.86 is more likely alive than one with the
    // same purchases long ago, and expects fewer purchases.
    let (recent, old) = (p.p_alive(2.0, 30.43, 38.86), p.p_alive(2.0, 5.0, 38.86));
    assert!(recent > old && recent < 1.0 && old > 0.0, "{recent} {old}");
    assert!(p.expected_purchases(39.0, 2.0, 30.43, 38.86) > p.expected_purchases(39.0, 2.0, 5.0, 38.86));
}

/// ∫∫ f(λ, q) over a Gamma(r, rate α) prior on λ and a prior on q given by `q_prior`, by the
/// trapezoid rule in log λ and in `q`'s own variable (both integrands are smooth and decay
/// fast there, so the rule converges far below 1e-6 at a step of 0.05). The priors' normalising constants are
/// left out: only ratios of two such integrals are used.
fn integrate(r: f64, alpha: f64, q_grid: &[(f64, f64)], f: impl Fn(f64, f64) -> f64) -> f64 {
    let (lo, hi, h) = (-100.0, 6.0, 0.05);
    let mut total = 0.0;
    let mut z: f64 = lo;
    while z <= hi {
        let lambda = z.exp();
        // λ^(r−1) e^(−αλ) dλ = e^(r z − α e^z) dz
        let weight = (r * z - alpha * lambda).exp();
        if weight > 0.0 {
            total += weight * q_grid.iter().map(|&(q, w)| w * f(lambda, q)).sum::<f64>();
        }
        z += h;
    }
    total * h
}

/// Nodes and weights for ∫ g(p) Beta(a, b)(p) dp (unnormalised), with p = logistic(u).
fn beta_grid(a: f64, b: f64) -> Vec<(f64, f64)> {
    let h = 0.05;
    (0..=1200)
        .map(|i| {
            let u = -30.0 + f64::from(i) * h;
            let p = 1.0 / (1.0 + (-u).exp());
            // p^(a−1) (1−p)^(b−1) dp = p^a (1−p)^b du
            (p, (a * p.ln() + b * (1.0 - p).ln()).exp() * h)
        })
        .collect()
}

/// Nodes and weights for ∫ g(μ) Gamma(s, rate β)(μ) dμ (unnormalised), in log μ.
fn gamma_grid(s: f64, beta: f64) -> Vec<(f64, f64)> {
    let h = 0.05;
    (0..=720)
        .map(|i| {
            let z = -30.0 + f64::from(i) * h;
            let mu = z.exp();
            (mu, (s * z - beta * mu).exp() * h)
        })
        .collect()
}

/// A spread of CDNOW customers (x, tₓ, T): one-time, light, heavy, recent and lapsed.
fn sample_customers() -> Vec<(f64, f64, f64)> {
    let data = published_summary();
    let mut v: Vec<(f64, f64, f64)> =
        [0usize, 1, 2, 5, 10, 157, 509, 1516].iter().map(|&i| (data[i].0, data[i].1, data[i].2)).collect();
    v.push((2.0, 30.43, 38.86));
    v.push((2.0, 5.0, 38.86));
    v.push((0.0, 0.0, 38.86));
    v
}

#[test]
fn bgnbd_per_customer_p_alive_and_expected_purchases_match_direct_integration() {
    let m = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, dropout: Dropout::AfterPurchases };
    let ps = beta_grid(m.a, m.b);
    let horizon = 39.0;
    for (x, tx, t) in sample_customers() {
        // The customer's likelihood given (λ, p): alive at T, or gone after the last purchase.
        let alive = |l: f64, p: f64| (x * (1.0 - p).ln() + x * l.ln() - l * t).exp();
        let gone = |l: f64, p: f64| {
            if x > 0.0 {
                (p.ln() + (x - 1.0) * (1.0 - p).ln() + x * l.ln() - l * tx).exp()
            } else {
                0.0
            }
        };
        let evidence = integrate(m.r, m.alpha, &ps, |l, p| alive(l, p) + gone(l, p));
        let p_alive = integrate(m.r, m.alpha, &ps, alive) / evidence;
        // Alive at T, the next `horizon` brings (1 − e^(−λpt)) / p purchases on average.
        let future = integrate(m.r, m.alpha, &ps, |l, p| alive(l, p) * (1.0 - (-l * p * horizon).exp()) / p) / evidence;
        let (got_alive, got_future) = (m.p_alive(x, tx, t), m.expected_purchases(horizon, x, tx, t));
        assert!((got_alive - p_alive).abs() < 1e-3, "P(alive) of {x},{tx},{t}: {got_alive} vs {p_alive}");
        assert!((got_future - future).abs() < 1e-3, "E[Y(39)] of {x},{tx},{t}: {got_future} vs {future}");
    }
    // The integration itself reproduces the published figure (Fader, Hardie & Lee 2005, §6).
    let (x, tx, t) = (2.0, 30.43, 38.86);
    let alive = |l: f64, p: f64| (x * (1.0 - p).ln() + x * l.ln() - l * t).exp();
    let gone = |l: f64, p: f64| (p.ln() + (x - 1.0) * (1.0 - p).ln() + x * l.ln() - l * tx).exp();
    let evidence = integrate(m.r, m.alpha, &ps, |l, p| alive(l, p) + gone(l, p));
    let future = integrate(m.r, m.alpha, &ps, |l, p| alive(l, p) * (1.0 - (-l * p * 39.0).exp()) / p) / evidence;
    assert!((future - 1.226).abs() < 1e-3, "{future}");
}

#[test]
fn mbg_nbd_per_customer_and_new_customer_expectations_match_direct_integration() {
    for m in [
        BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, dropout: Dropout::AfterPurchases },
        BgNbd { r: 0.5, alpha: 6.0, a: 1.8, b: 2.5, dropout: Dropout::AlsoAtStart },
    ] {
        let ps = beta_grid(m.a, m.b);
        // MBG/NBD customers may also drop out before their first purchase.
        let start = if m.dropout == Dropout::AlsoAtStart { 1.0 } else { 0.0 };
        for (x, tx, t) in sample_customers() {
            let alive = |l: f64, p: f64| ((x + start) * (1.0 - p).ln() + x * l.ln() - l * t).exp();
            let gone = |l: f64, p: f64| {
                if x > 0.0 || start > 0.0 {
                    (p.ln() + (x - 1.0 + start) * (1.0 - p).ln() + x * l.ln() - l * tx).exp()
                } else {
                    0.0
                }
            };
            let evidence = integrate(m.r, m.alpha, &ps, |l, p| alive(l, p) + gone(l, p));
            let p_alive = integrate(m.r, m.alpha, &ps, alive) / evidence;
            let future =
                integrate(m.r, m.alpha, &ps, |l, p| alive(l, p) * (1.0 - (-l * p * 39.0).exp()) / p) / evidence;
            let (got_alive, got_future) = (m.p_alive(x, tx, t), m.expected_purchases(39.0, x, tx, t));
            assert!((got_alive - p_alive).abs() < 1e-3, "{m:?} P(alive) of {x},{tx},{t}: {got_alive} vs {p_alive}");
            assert!((got_future - future).abs() < 1e-3, "{m:?} E[Y(39)] of {x},{tx},{t}: {got_future} vs {future}");
        }
        // A new customer over their first t periods (alive at the start unless MBG drops them).
        let all = integrate(m.r, m.alpha, &ps, |_, _| 1.0);
        for t in [1.0, 39.0, 78.0] {
            let want =
                integrate(m.r, m.alpha, &ps, |l, p| (1.0 - p).powf(start) * (1.0 - (-l * p * t).exp()) / p) / all;
            let got = m.expected_purchases_new(t);
            assert!((got - want).abs() < 1e-3, "{m:?} E[X({t})]: {got} vs {want}");
        }
    }
}

#[test]
fn pareto_nbd_per_customer_p_alive_and_expected_purchases_match_direct_integration() {
    // The published fit, and s = 1, where the expectation takes its logarithmic form.
    for m in [
        pareto_nbd::ParetoNbd { r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 },
        pareto_nbd::ParetoNbd { r: 0.553, alpha: 10.578, s: 1.0, beta: 11.669 },
    ] {
        let mus = gamma_grid(m.s, m.beta);
        let horizon = 39.0;
        for (x, tx, t) in sample_customers() {
            // Alive at T, or gone at some τ in (tₓ, T].
            let alive = |l: f64, mu: f64| (x * l.ln() - (l + mu) * t).exp();
            let gone =
                |l: f64, mu: f64| (x * l.ln()).exp() * mu / (l + mu) * ((-(l + mu) * tx).exp() - (-(l + mu) * t).exp());
            let evidence = integrate(m.r, m.alpha, &mus, |l, mu| alive(l, mu) + gone(l, mu));
            let p_alive = integrate(m.r, m.alpha, &mus, alive) / evidence;
            let future =
                integrate(m.r, m.alpha, &mus, |l, mu| alive(l, mu) * l / mu * (1.0 - (-mu * horizon).exp())) / evidence;
            let (got_alive, got_future) = (m.p_alive(x, tx, t), m.expected_purchases(horizon, x, tx, t));
            assert!((got_alive - p_alive).abs() < 1e-3, "{m:?} P(alive) of {x},{tx},{t}: {got_alive} vs {p_alive}");
            assert!((got_future - future).abs() < 1e-3, "{m:?} E[Y(39)] of {x},{tx},{t}: {got_future} vs {future}");
        }
    }
}

#[test]
fn gamma_gamma_per_customer_value_is_the_credibility_weighted_mean() {
    let g = gamma_gamma::GammaGamma { p: 6.25, q: 3.74, gamma: 15.44 };
    let population = g.p * g.gamma / (g.q - 1.0);
    for (x, m) in [(1.0, 20.0), (2.0, 11.77), (6.0, 47.5), (20.0, 30.0)] {
        // E(Z | x, m̄) = w · population mean + (1 − w) · m̄, w = (q − 1) / (p x + q − 1).
        let w = (g.q - 1.0) / (g.p * x + g.q - 1.0);
        let want = w * population + (1.0 - w) * m;
        assert!((g.expected_average_value(x, m) - want).abs() < 1e-9, "{x} {m}");
    }
    assert!((g.expected_average_value(0.0, 99.0) - population).abs() < 1e-9);
}
