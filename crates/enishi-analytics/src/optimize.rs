//! Unconstrained minimisation by BFGS with a backtracking (Armijo) line search. The models
//! optimise the logarithms of their positive parameters, so that any step stays feasible.

/// The result of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// Where.
    pub x: Vec<f64>,
    /// The function's value there.
    pub value: f64,
    /// Iterations taken.
    pub iterations: usize,
    /// Whether the gradient norm fell below the tolerance.
    pub converged: bool,
}

/// Minimises `f`, which returns the value and gradient at a point, from `start`.
pub fn bfgs(f: impl Fn(&[f64]) -> (f64, Vec<f64>), start: &[f64], tolerance: f64, max_iterations: usize) -> Minimum {
    let n = start.len();
    let mut x = start.to_vec();
    let (mut fx, mut g) = f(&x);
    let mut h = identity(n);
    for it in 0..max_iterations {
        if norm(&g) < tolerance {
            return Minimum { x, value: fx, iterations: it, converged: true };
        }
        let mut d: Vec<f64> = (0..n).map(|i| -(0..n).map(|j| h[i][j] * g[j]).sum::<f64>()).collect();
        let mut slope = dot(&g, &d);
        if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            h = identity(n);
            d = g.iter().map(|v| -v).collect();
            slope = dot(&g, &d);
        }
        // Never move more than 2 in any coordinate at once (a factor e² on a log-parameter).
        let longest = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut step = if longest > 2.0 { 2.0 / longest } else { 1.0 };
        let (x_new, f_new, g_new) = loop {
            let candidate: Vec<f64> = x.iter().zip(&d).map(|(xi, di)| xi + step * di).collect();
            let (fc, gc) = f(&candidate);
            if fc.is_finite() && fc <= fx + 1e-4 * step * slope {
                break (candidate, fc, gc);
            }
            step *= 0.5;
            if step < 1e-20 {
                return Minimum { x, value: fx, iterations: it, converged: norm(&g) < tolerance * 1e3 };
            }
        };
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 {
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..n).map(|i| (0..n).map(|j| h[i][j] * y[j]).sum()).collect();
            let yhy = dot(&y, &hy);
            for i in 0..n {
                for j in 0..n {
                    h[i][j] += -rho * (s[i] * hy[j] + hy[i] * s[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
        }
        let gain = fx - f_new;
        x = x_new;
        fx = f_new;
        g = g_new;
        // The value no longer changes in its last digits: we are at the optimum as closely as
        // floating point can tell.
        if gain <= 1e-15 * fx.abs().max(1.0) {
            return Minimum { x, value: fx, iterations: it + 1, converged: norm(&g) < tolerance * 1e3 };
        }
    }
    let converged = norm(&g) < tolerance;
    Minimum { x, value: fx, iterations: max_iterations, converged }
}

fn identity(n: usize) -> Vec<Vec<f64>> {
    (0..n).map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect()).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// Standard errors from the Hessian of the negative log-likelihood in the natural parameters,
/// estimated by central differences of the analytic gradient `grad` at `theta`.
pub fn standard_errors(grad: impl Fn(&[f64]) -> Vec<f64>, theta: &[f64]) -> Vec<f64> {
    let n = theta.len();
    let mut hess = vec![vec![0.0; n]; n];
    for j in 0..n {
        let h = 1e-5 * theta[j].abs().max(1e-3);
        let mut up = theta.to_vec();
        let mut down = theta.to_vec();
        up[j] += h;
        down[j] -= h;
        let (gu, gd) = (grad(&up), grad(&down));
        for i in 0..n {
            hess[i][j] = (gu[i] - gd[i]) / (2.0 * h);
        }
    }
    // Symmetrise, then invert.
    let sym: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| 0.5 * (hess[i][j] + hess[j][i])).collect()).collect();
    match invert(sym) {
        Some(inv) => (0..n).map(|i| if inv[i][i] > 0.0 { inv[i][i].sqrt() } else { f64::NAN }).collect(),
        None => vec![f64::NAN; n],
    }
}

/// Gauss-Jordan inversion with partial pivoting; `None` when singular.
fn invert(mut m: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut inv = identity(n);
    for col in 0..n {
        let pivot = (col..n).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-300 {
            return None;
        }
        m.swap(col, pivot);
        inv.swap(col, pivot);
        let p = m[col][col];
        for j in 0..n {
            m[col][j] /= p;
            inv[col][j] /= p;
        }
        for row in 0..n {
            if row != col {
                let factor = m[row][col];
                for j in 0..n {
                    m[row][j] -= factor * m[col][j];
                    inv[row][j] -= factor * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let f = |x: &[f64]| {
            let (a, b) = (x[0], x[1]);
            let v = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
            (v, vec![-2.0 * (1.0 - a) - 400.0 * a * (b - a * a), 200.0 * (b - a * a)])
        };
        let m = bfgs(f, &[-1.2, 1.0], 1e-10, 500);
        assert!(m.converged);
        assert!((m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6, "{m:?}");
    }

    #[test]
    fn standard_errors_of_a_quadratic() {
        // −LL = (x²/σx² + y²/σy²)/2 ⇒ errors σx, σy.
        let se = standard_errors(|t| vec![t[0] / 4.0, t[1] / 9.0], &[0.3, 0.2]);
        assert!((se[0] - 2.0).abs() < 1e-6 && (se[1] - 3.0).abs() < 1e-6, "{se:?}");
    }
}
