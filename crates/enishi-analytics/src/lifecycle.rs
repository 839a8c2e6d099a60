//! Lifecycle stages: new → active → inactive → at risk → lost, judged from each customer's own
//! purchase rhythm and, where a fitted model gives it, their P(alive) — not one cut-off for
//! everyone. A weekly buyer silent for a month is at risk; a yearly buyer silent for a month
//! is simply active.
//!
//! The rhythm is the customer's mean gap between purchase days, (last − first) ÷ (days − 1);
//! customers with a single purchase day borrow the median gap of the repeat buyers. The
//! silence (days since the last purchase) measured in those gaps gives the stage:
//!
//! | stage | rule (defaults) |
//! |---|---|
//! | new | first purchase within `new_days` (30) and no more than one purchase day |
//! | active | silence ≤ 1.5 gaps |
//! | inactive | silence ≤ 3 gaps |
//! | at risk | silence ≤ 6 gaps |
//! | lost | silence > 6 gaps |
//!
//! P(alive) can only make a stage worse: below 0.5 a customer is at least at risk, below 0.15
//! lost. Gaps shorter than `min_gap_days` (7) count as that, so that a burst of daily buying
//! does not make a week of silence look like loss.

use serde::Serialize;

/// A lifecycle stage, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// First purchase recently.
    New,
    /// Buying in their rhythm.
    Active,
    /// Later than their rhythm.
    Inactive,
    /// Much later than their rhythm, or unlikely to be alive.
    AtRisk,
    /// Gone, by rhythm or by P(alive).
    Lost,
}

impl Stage {
    /// Every stage, best first.
    pub const ALL: [Stage; 5] = [Stage::New, Stage::Active, Stage::Inactive, Stage::AtRisk, Stage::Lost];

    /// The stage's name as stored (`at_risk`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::New => "new",
            Stage::Active => "active",
            Stage::Inactive => "inactive",
            Stage::AtRisk => "at_risk",
            Stage::Lost => "lost",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// The thresholds; [`Rules::default`] gives the documented ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// A first purchase this recent is new.
    pub new_days: i64,
    /// Silence up to this many gaps is active.
    pub active_gaps: f64,
    /// … inactive.
    pub inactive_gaps: f64,
    /// … at risk; beyond it, lost.
    pub at_risk_gaps: f64,
    /// Shortest gap used.
    pub min_gap_days: f64,
    /// P(alive) below this is at least at risk.
    pub at_risk_p_alive: f64,
    /// P(alive) below this is lost.
    pub lost_p_alive: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            new_days: 30,
            active_gaps: 1.5,
            inactive_gaps: 3.0,
            at_risk_gaps: 6.0,
            min_gap_days: 7.0,
            at_risk_p_alive: 0.5,
            lost_p_alive: 0.15,
        }
    }
}

/// What the stage of one customer is judged from (days are day numbers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Input {
    /// First purchase day.
    pub first_day: i64,
    /// Last purchase day.
    pub last_day: i64,
    /// Distinct purchase days.
    pub purchase_days: i64,
    /// P(alive) from a fitted model, when there is one.
    pub p_alive: Option<f64>,
}

impl Input {
    /// The customer's own mean gap between purchase days, if they bought on two days or more.
    pub fn own_gap(&self) -> Option<f64> {
        (self.purchase_days > 1).then(|| (self.last_day - self.first_day) as f64 / (self.purchase_days - 1) as f64)
    }
}

/// The median of the repeat buyers' own gaps (the gap lent to single-purchase customers);
/// 30 days when nobody bought twice.
pub fn population_gap(inputs: &[Input]) -> f64 {
    let mut gaps: Vec<f64> = inputs.iter().filter_map(Input::own_gap).collect();
    if gaps.is_empty() {
        return 30.0;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2]
}

/// The stage of a customer on `as_of_day`.
pub fn stage(input: &Input, as_of_day: i64, population_gap: f64, rules: &Rules) -> Stage {
    let silence = (as_of_day - input.last_day).max(0) as f64;
    if as_of_day - input.first_day < rules.new_days && input.purchase_days <= 1 {
        return Stage::New;
    }
    let gap = input.own_gap().unwrap_or(population_gap).max(rules.min_gap_days);
    let by_rhythm = if silence <= rules.active_gaps * gap {
        Stage::Active
    } else if silence <= rules.inactive_gaps * gap {
        Stage::Inactive
    } else if silence <= rules.at_risk_gaps * gap {
        Stage::AtRisk
    } else {
        Stage::Lost
    };
    let by_model = match input.p_alive {
        Some(p) if p < rules.lost_p_alive => Stage::Lost,
        Some(p) if p < rules.at_risk_p_alive => Stage::AtRisk,
        _ => Stage::Active,
    };
    by_rhythm.max(by_model)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(first: i64, last: i64, days: i64) -> Input {
        Input { first_day: first, last_day: last, purchase_days: days, p_alive: None }
    }

    #[test]
    fn stages_keep_their_stored_names_and_gaps_are_means() {
        let names: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["new", "active", "inactive", "at_risk", "lost"]);
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
        }
        assert_eq!(Stage::parse("dormant"), None);
        // Purchases on days 10, …, 70 over 4 purchase days: a mean gap of 20.
        assert_eq!(input(10, 70, 4).own_gap(), Some(20.0));
        assert_eq!(input(10, 10, 1).own_gap(), None);
        // The population's gap is the median of the repeat buyers' gaps (upper middle when even).
        let people = [input(0, 10, 2), input(0, 40, 2), input(0, 90, 2), input(5, 5, 1)];
        assert_eq!(population_gap(&people), 40.0);
        assert_eq!(population_gap(&people[..2]), 40.0);
        assert_eq!(population_gap(&[input(5, 5, 1)]), 30.0);
    }

    #[test]
    fn each_threshold_is_exact() {
        let r = Rules::default();
        // New: a single purchase less than 30 days ago; at 30 days it is judged by rhythm.
        assert_eq!(stage(&input(100, 100, 1), 129, 10.0, &r), Stage::New);
        assert_eq!(stage(&input(100, 100, 1), 130, 10.0, &r), Stage::Inactive);
        // P(alive) exactly at a bound is not below it.
        let with = |p| Input { p_alive: Some(p), ..input(0, 100, 11) };
        assert_eq!(stage(&with(0.5), 100, 10.0, &r), Stage::Active);
        assert_eq!(stage(&with(0.4999), 100, 10.0, &r), Stage::AtRisk);
        assert_eq!(stage(&with(0.15), 100, 10.0, &r), Stage::AtRisk);
        assert_eq!(stage(&with(0.1499), 100, 10.0, &r), Stage::Lost);
    }

    #[test]
    fn each_customer_is_judged_by_their_own_rhythm() {
        let r = Rules::default();
        // Weekly buyer (10 days over 63 days), silent 30 days: beyond 3 gaps of 7 → at risk.
        assert_eq!(stage(&input(0, 63, 10), 93, 30.0, &r), Stage::AtRisk);
        // Yearly buyer (3 days over two years), silent 30 days: active.
        assert_eq!(stage(&input(0, 730, 3), 760, 30.0, &r), Stage::Active);
        // Same yearly buyer silent 500 days: 1.37 gaps → still active; 800 days → inactive.
        assert_eq!(stage(&input(0, 730, 3), 1230, 30.0, &r), Stage::Active);
        assert_eq!(stage(&input(0, 730, 3), 1530, 30.0, &r), Stage::Inactive);
        assert_eq!(stage(&input(0, 730, 3), 3730, 30.0, &r), Stage::Lost);
    }

    #[test]
    fn new_customers_and_single_buyers() {
        let r = Rules::default();
        assert_eq!(stage(&input(100, 100, 1), 110, 30.0, &r), Stage::New);
        // A single buyer past the new window borrows the population gap (30): 100 days → at risk.
        assert_eq!(stage(&input(0, 0, 1), 100, 30.0, &r), Stage::AtRisk);
        assert_eq!(stage(&input(0, 0, 1), 200, 30.0, &r), Stage::Lost);
    }

    #[test]
    fn p_alive_only_makes_it_worse() {
        let r = Rules::default();
        let mut i = input(0, 63, 10);
        i.p_alive = Some(0.3);
        assert_eq!(stage(&i, 64, 30.0, &r), Stage::AtRisk);
        i.p_alive = Some(0.05);
        assert_eq!(stage(&i, 64, 30.0, &r), Stage::Lost);
        i.p_alive = Some(0.99);
        assert_eq!(stage(&i, 2000, 30.0, &r), Stage::Lost);
    }

    #[test]
    fn the_population_gap_is_the_median_of_repeat_buyers() {
        let inputs = [input(0, 10, 2), input(0, 40, 2), input(0, 90, 2), input(0, 0, 1)];
        assert_eq!(population_gap(&inputs), 40.0);
        assert_eq!(population_gap(&[input(0, 0, 1)]), 30.0);
    }
}
