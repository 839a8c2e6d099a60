//! RFM: recency, frequency and monetary scores 1–5 by quintiles, and named segments.
//!
//! Scores: customers are ranked on each measure; a customer's score is 1 + ⌊5·k/n⌋ where k is
//! the number of customers strictly worse on that measure (longer since the last purchase,
//! fewer purchases, less spent). Customers with equal values therefore share a score — the
//! lowest their group reaches — and a measure where most customers tie (one purchase) fills
//! the low scores only. 5 is best on every measure.
//!
//! Segments come from the recency × frequency grid, with monetary value deciding one border
//! (a lapsed customer who bought often *and* spent the most is one we "can't lose"):
//!
//! | R \ F | 1 | 2 | 3 | 4 | 5 |
//! |---|---|---|---|---|---|
//! | 5 | New | Potential Loyalist | Potential Loyalist | Champions | Champions |
//! | 4 | Promising | Potential Loyalist | Potential Loyalist | Loyal | Champions |
//! | 3 | About to Sleep | About to Sleep | Need Attention | Loyal | Loyal |
//! | 2 | Hibernating | Hibernating | At Risk | At Risk (M = 5: Can't Lose Them) | Can't Lose Them |
//! | 1 | Lost | Lost | At Risk | At Risk (M = 5: Can't Lose Them) | Can't Lose Them |
//!
//! Every one of the 125 combinations has exactly one segment and every segment is reachable.

use serde::Serialize;

/// A named RFM segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// Bought recently, buy often, spend the most.
    Champions,
    /// Buy often, not quite as recently.
    Loyal,
    /// Recent customers with a few purchases: could become loyal.
    PotentialLoyalist,
    /// Bought for the first time very recently.
    New,
    /// Recent one-time buyers.
    Promising,
    /// Middling on recency and frequency.
    NeedAttention,
    /// Few purchases, slipping away.
    AboutToSleep,
    /// Bought fairly often, but long ago.
    AtRisk,
    /// Bought the most, but long ago.
    CantLoseThem,
    /// Few purchases, long ago.
    Hibernating,
    /// The lowest recency and frequency.
    Lost,
}

impl Segment {
    /// Every segment, best first.
    pub const ALL: [Segment; 11] = [
        Segment::Champions,
        Segment::Loyal,
        Segment::PotentialLoyalist,
        Segment::New,
        Segment::Promising,
        Segment::NeedAttention,
        Segment::AboutToSleep,
        Segment::AtRisk,
        Segment::CantLoseThem,
        Segment::Hibernating,
        Segment::Lost,
    ];

    /// The segment's name, for people.
    pub fn label(self) -> &'static str {
        match self {
            Segment::Champions => "Champions",
            Segment::Loyal => "Loyal",
            Segment::PotentialLoyalist => "Potential Loyalist",
            Segment::New => "New",
            Segment::Promising => "Promising",
            Segment::NeedAttention => "Need Attention",
            Segment::AboutToSleep => "About to Sleep",
            Segment::AtRisk => "At Risk",
            Segment::CantLoseThem => "Can't Lose Them",
            Segment::Hibernating => "Hibernating",
            Segment::Lost => "Lost",
        }
    }
}

/// The segment of scores (r, f, m), each 1–5.
pub fn segment(r: u8, f: u8, m: u8) -> Segment {
    use Segment::*;
    match (r.clamp(1, 5), f.clamp(1, 5)) {
        (5, 1) => New,
        (4, 1) => Promising,
        (4 | 5, 2 | 3) => PotentialLoyalist,
        (5, 4 | 5) | (4, 5) => Champions,
        (4, 4) | (3, 4 | 5) => Loyal,
        (3, 3) => NeedAttention,
        (3, 1 | 2) => AboutToSleep,
        (1 | 2, 5) => CantLoseThem,
        (1 | 2, 4) if m >= 5 => CantLoseThem,
        (1 | 2, 3 | 4) => AtRisk,
        (2, 1 | 2) => Hibernating,
        _ => Lost,
    }
}

/// Quintile scores 1–5 of `values`, where higher values are better (ties share the lower
/// score; see the module documentation).
pub fn quintile_scores(values: &[f64]) -> Vec<u8> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut scores = vec![1u8; n];
    let mut worse = 0usize;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j < n && values[order[j]] == values[order[i]] {
            j += 1;
        }
        let score = 1 + (5 * worse / n.max(1)).min(4) as u8;
        for &k in &order[i..j] {
            scores[k] = score;
        }
        worse = j;
        i = j;
    }
    scores
}

/// One customer's RFM inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfmInput {
    /// Days since the last purchase.
    pub recency_days: f64,
    /// Number of purchases.
    pub frequency: f64,
    /// Money spent (net of returns).
    pub monetary: f64,
}

/// One customer's scores and segment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RfmScore {
    /// Recency score (5: most recent).
    pub r: u8,
    /// Frequency score.
    pub f: u8,
    /// Monetary score.
    pub m: u8,
    /// The segment.
    pub segment: Segment,
}

impl RfmScore {
    /// The combined score as a three-digit number (555 best).
    pub fn combined(&self) -> u16 {
        u16::from(self.r) * 100 + u16::from(self.f) * 10 + u16::from(self.m)
    }
}

/// Scores every customer.
pub fn score(inputs: &[RfmInput]) -> Vec<RfmScore> {
    let r = quintile_scores(&inputs.iter().map(|i| -i.recency_days).collect::<Vec<_>>());
    let f = quintile_scores(&inputs.iter().map(|i| i.frequency).collect::<Vec<_>>());
    let m = quintile_scores(&inputs.iter().map(|i| i.monetary).collect::<Vec<_>>());
    (0..inputs.len()).map(|k| RfmScore { r: r[k], f: f[k], m: m[k], segment: segment(r[k], f[k], m[k]) }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn segments_follow_the_documented_grid_and_keep_their_names() {
        use Segment::*;
        for (r, f, m, want) in [
            (5, 1, 1, New),
            (4, 1, 3, Promising),
            (5, 3, 1, PotentialLoyalist),
            (5, 5, 5, Champions),
            (4, 5, 1, Champions),
            (4, 4, 2, Loyal),
            (3, 5, 5, Loyal),
            (3, 3, 3, NeedAttention),
            (3, 1, 5, AboutToSleep),
            (1, 5, 1, CantLoseThem),
            (2, 4, 5, CantLoseThem),
            (2, 4, 4, AtRisk),
            (1, 3, 5, AtRisk),
            (2, 2, 5, Hibernating),
            (1, 2, 5, Lost),
            (1, 1, 1, Lost),
        ] {
            assert_eq!(segment(r, f, m), want, "{r}{f}{m}");
        }
        let labels: Vec<&str> = Segment::ALL.iter().map(|s| s.label()).collect();
        assert_eq!(
            labels,
            [
                "Champions",
                "Loyal",
                "Potential Loyalist",
                "New",
                "Promising",
                "Need Attention",
                "About to Sleep",
                "At Risk",
                "Can't Lose Them",
                "Hibernating",
                "Lost"
            ]
        );
    }

    #[test]
    fn all_125_combinations_have_one_segment_and_all_segments_are_reachable() {
        let mut seen = HashSet::new();
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    seen.insert(segment(r, f, m));
                }
            }
        }
        assert_eq!(seen.len(), Segment::ALL.len(), "{seen:?}");
        // Spot checks of the table.
        assert_eq!(segment(5, 5, 5), Segment::Champions);
        assert_eq!(segment(1, 1, 1), Segment::Lost);
        assert_eq!(segment(5, 1, 1), Segment::New);
        assert_eq!(segment(1, 4, 5), Segment::CantLoseThem);
        assert_eq!(segment(1, 4, 4), Segment::AtRisk);
        assert_eq!(segment(3, 3, 1), Segment::NeedAttention);
    }

    #[test]
    fn quintiles_share_ties_and_spread_distinct_values() {
        assert_eq!(
            quintile_scores(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]),
            [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        assert_eq!(quintile_scores(&[1.0, 1.0, 1.0, 1.0, 9.0]), [1, 1, 1, 1, 5]);
        assert!(quintile_scores(&[]).is_empty());
        let s = score(&[
            RfmInput { recency_days: 1.0, frequency: 9.0, monetary: 900.0 },
            RfmInput { recency_days: 400.0, frequency: 1.0, monetary: 5.0 },
        ]);
        assert_eq!((s[0].r, s[0].f, s[0].m), (3, 3, 3));
        assert_eq!(s[1].combined(), 111);
    }
}
