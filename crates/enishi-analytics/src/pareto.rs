//! The 80/20 view: how concentrated revenue is among customers.

use serde::Serialize;

/// Revenue concentration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Concentration {
    /// Customers counted.
    pub customers: usize,
    /// Total revenue.
    pub revenue: f64,
    /// Share of revenue from the top 20% of customers (by revenue).
    pub top_20_share: f64,
    /// Gini coefficient of revenue per customer (0: equal, 1: one customer has it all).
    pub gini: f64,
    /// Lorenz curve from the top: (share of customers, share of revenue) at every 5%.
    pub curve: Vec<(f64, f64)>,
}

/// Concentration of `revenue` (one value per customer; negative values count as zero).
pub fn concentration(revenue: &[f64]) -> Concentration {
    let mut v: Vec<f64> = revenue.iter().map(|x| x.max(0.0)).collect();
    v.sort_by(|a, b| b.total_cmp(a));
    let n = v.len();
    let total: f64 = v.iter().sum();
    let mut cumulative = Vec::with_capacity(n + 1);
    cumulative.push(0.0);
    for x in &v {
        cumulative.push(cumulative.last().copied().unwrap_or(0.0) + x);
    }
    let share_of_top = |fraction: f64| {
        if n == 0 || total <= 0.0 {
            return 0.0;
        }
        // Linear between customers, so that small shops get a share, not a rounding artefact.
        let at = (fraction * n as f64).clamp(0.0, n as f64);
        let k = at.floor() as usize;
        let partial = if k < n { (at - k as f64) * v[k] } else { 0.0 };
        (cumulative[k] + partial) / total
    };
    // Gini from the ascending order: G = (2 Σ i·xᵢ)/(n Σ x) − (n + 1)/n, i = 1…n.
    let gini = if n == 0 || total <= 0.0 {
        0.0
    } else {
        let weighted: f64 = v.iter().rev().enumerate().map(|(i, x)| (i as f64 + 1.0) * x).sum();
        2.0 * weighted / (n as f64 * total) - (n as f64 + 1.0) / n as f64
    };
    Concentration {
        customers: n,
        revenue: total,
        top_20_share: share_of_top(0.2),
        gini,
        curve: (0..=20).map(|i| f64::from(i) / 20.0).map(|p| (p, share_of_top(p))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_and_skewed() {
        let eq = concentration(&[10.0; 100]);
        assert!((eq.top_20_share - 0.2).abs() < 1e-12 && eq.gini.abs() < 1e-12);
        let mut skew = vec![0.0; 99];
        skew.push(100.0);
        let s = concentration(&skew);
        assert!((s.top_20_share - 1.0).abs() < 1e-12);
        assert!((s.gini - 0.99).abs() < 1e-12);
        assert_eq!(s.curve.first(), Some(&(0.0, 0.0)));
        assert_eq!(s.curve.last().map(|c| c.1), Some(1.0));
        assert_eq!(concentration(&[]).customers, 0);
        // Between customers the curve is linear: one customer's top 20% is a fifth of them.
        assert!((concentration(&[50.0]).top_20_share - 0.2).abs() < 1e-12);
        let three = concentration(&[60.0, 30.0, 10.0]);
        assert!((three.top_20_share - 0.36).abs() < 1e-12, "0.6 of the first customer's 60");
    }
}
