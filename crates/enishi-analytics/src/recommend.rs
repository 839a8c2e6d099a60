//! "Customers who bought this also bought": item-to-item co-purchase recommendations,
//! evaluated on a time holdout against a most-popular baseline.
//!
//! Training counts, over customers, who bought each product and each pair of products. A
//! customer's candidates are scored by Σ over the products they bought of
//! max(0, P(candidate | bought) − P(candidate)): how much more often buyers of what they bought
//! take the candidate than everyone does (the rule's added value, a lift in absolute terms), so
//! products that go with what they already buy rank first; popularity only breaks ties. Products they bought are left out, unless the product is
//! repeat-bought (at least a third of its buyers bought it on more than one day).

use serde::Serialize;
use std::collections::HashMap;

/// A trained co-purchase model over products numbered 0…n−1.
#[derive(Debug, Clone, Default)]
pub struct CoPurchase {
    buyers: Vec<u32>,
    repeaters: Vec<u32>,
    pairs: HashMap<(u32, u32), u32>,
    customers: u32,
}

/// Share of a product's buyers who bought it again from which it may be recommended again.
const REPEAT_SHARE: f64 = 1.0 / 3.0;

impl CoPurchase {
    /// Trains on customers' purchases: for each customer, the products bought and whether each
    /// was bought on more than one day (product, repeated).
    pub fn train(customers: &[Vec<(u32, bool)>], products: usize) -> CoPurchase {
        let mut m = CoPurchase { buyers: vec![0; products], repeaters: vec![0; products], ..Default::default() };
        for basket in customers {
            if basket.is_empty() {
                continue;
            }
            m.customers += 1;
            for &(p, again) in basket {
                m.buyers[p as usize] += 1;
                m.repeaters[p as usize] += u32::from(again);
            }
            for (i, &(a, _)) in basket.iter().enumerate() {
                for &(b, _) in &basket[i + 1..] {
                    let key = if a < b { (a, b) } else { (b, a) };
                    *m.pairs.entry(key).or_default() += 1;
                }
            }
        }
        m
    }

    fn may_recommend_again(&self, p: u32) -> bool {
        let b = self.buyers[p as usize];
        b > 0 && f64::from(self.repeaters[p as usize]) / f64::from(b) >= REPEAT_SHARE
    }

    /// The `n` best products for a customer who bought `bought`, with their scores.
    pub fn recommend(&self, bought: &[u32], n: usize) -> Vec<(u32, f64)> {
        let total = f64::from(self.customers.max(1));
        // Start from popularity (a tie-breaker and the fallback), then add, for every product
        // bought, how much more likely each candidate is among its buyers than among everyone.
        let mut score: Vec<f64> = self.buyers.iter().map(|&b| 1e-3 * f64::from(b) / total).collect();
        for &i in bought {
            let bi = f64::from(self.buyers[i as usize].max(1));
            for (j, s) in score.iter_mut().enumerate() {
                let j = j as u32;
                if j == i {
                    continue;
                }
                let key = if i < j { (i, j) } else { (j, i) };
                if let Some(&c) = self.pairs.get(&key) {
                    let lift_gain = f64::from(c) / bi - f64::from(self.buyers[j as usize]) / total;
                    *s += lift_gain.max(0.0);
                }
            }
        }
        self.top(score, bought, n)
    }

    /// The `n` most popular products the customer may still be offered (the baseline).
    pub fn popular(&self, bought: &[u32], n: usize) -> Vec<(u32, f64)> {
        let total = f64::from(self.customers.max(1));
        self.top(self.buyers.iter().map(|&b| f64::from(b) / total).collect(), bought, n)
    }

    fn top(&self, mut score: Vec<f64>, bought: &[u32], n: usize) -> Vec<(u32, f64)> {
        for &b in bought {
            if !self.may_recommend_again(b) {
                score[b as usize] = f64::NEG_INFINITY;
            }
        }
        let mut ranked: Vec<(u32, f64)> = score
            .into_iter()
            .enumerate()
            .map(|(i, s)| (i as u32, s))
            .filter(|(_, s)| s.is_finite() && *s > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(n);
        ranked
    }
}

/// Hit rates @n on a holdout: the share of customers (who bought something new in the holdout)
/// with at least one of their top-n among the products they then bought.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Top-n size.
    pub n: usize,
    /// Customers evaluated.
    pub customers: usize,
    /// Hit rate of the co-purchase model.
    pub hit_rate: f64,
    /// Hit rate of recommending the most popular products.
    pub popularity_hit_rate: f64,
}

/// Evaluates `model` (trained on the calibration baskets) on customers given as (products bought
/// in calibration, products bought in the holdout).
pub fn evaluate(model: &CoPurchase, customers: &[(Vec<u32>, Vec<u32>)], n: usize) -> Evaluation {
    let (mut evaluated, mut hits, mut popular_hits) = (0usize, 0usize, 0usize);
    for (before, after) in customers {
        if before.is_empty() || after.is_empty() {
            continue;
        }
        evaluated += 1;
        let hit = |recs: Vec<(u32, f64)>| recs.iter().any(|(p, _)| after.contains(p));
        hits += usize::from(hit(model.recommend(before, n)));
        popular_hits += usize::from(hit(model.popular(before, n)));
    }
    let rate = |h: usize| if evaluated == 0 { 0.0 } else { h as f64 / evaluated as f64 };
    Evaluation { n, customers: evaluated, hit_rate: rate(hits), popularity_hit_rate: rate(popular_hits) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recommends_what_goes_together_not_what_is_bought() {
        // 0 and 1 go together; 2 is popular on its own; 3 is bought again and again.
        let mut baskets = Vec::new();
        for _ in 0..30 {
            baskets.push(vec![(0, false), (1, false)]);
        }
        for _ in 0..50 {
            baskets.push(vec![(2, false)]);
        }
        for _ in 0..10 {
            baskets.push(vec![(3, true)]);
        }
        let m = CoPurchase::train(&baskets, 4);
        // P(1 | bought 0) − P(1) = 30/30 − 30/90, plus the popularity tie-breaker 10⁻³ · 30/90.
        let (best, score) = m.recommend(&[0], 1)[0];
        assert_eq!(best, 1);
        assert!((score - (1.0 - 30.0 / 90.0 + 1e-3 * 30.0 / 90.0)).abs() < 1e-12, "{score}");
        let (popular, share) = m.popular(&[0], 1)[0];
        assert_eq!(popular, 2);
        assert!((share - 50.0 / 90.0).abs() < 1e-12, "{share}");
        assert!(m.recommend(&[0], 5).iter().all(|(p, _)| *p != 0), "bought once: not again");
        assert!(m.popular(&[3], 5).iter().any(|(p, _)| *p == 3), "repeat-bought: may come again");
        let e = evaluate(&m, &[(vec![0], vec![1]), (vec![1], vec![0])], 1);
        assert_eq!((e.hit_rate, e.popularity_hit_rate), (1.0, 0.0));
    }
}
