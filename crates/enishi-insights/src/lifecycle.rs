//! Lifecycle stages over the stored customer stats, and the lapsed-customer list.

use enishi_analytics::lifecycle::{population_gap, stage, Input, Rules, Stage};
use enishi_store::repo::scores::{self, LifecycleRow};
use enishi_store::{Store, StoreError};
use serde::Serialize;

/// Customers in one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageCount {
    /// Stage.
    pub stage: Stage,
    /// Customers.
    pub customers: u64,
    /// Share of buying customers.
    pub share: f64,
}

/// A customer who has lapsed (inactive, at risk or lost), with what is at stake.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lapsed {
    /// Enishi id.
    pub id: i64,
    /// The shop's id.
    pub external_id: String,
    /// The customer's name, when known.
    pub name: Option<String>,
    /// Stage.
    pub stage: Stage,
    /// Days since the last purchase.
    pub days_silent: i64,
    /// The customer's usual gap between purchase days (their own, or the shop's median).
    pub usual_gap_days: f64,
    /// Value at stake: the customer's CLV when a model has scored it, otherwise their net
    /// spend per year of their history (what a year without them costs).
    pub value_at_stake: f64,
    /// P(alive), when scored.
    pub p_alive: Option<f64>,
}

/// The lifecycle report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LifecycleReport {
    /// Day judged (days since 1970-01-01).
    pub as_of_day: i64,
    /// The gap lent to single-purchase customers (median of repeat buyers), in days.
    pub population_gap_days: f64,
    /// Customers with a P(alive) from `enishi analyze clv` (the rest are judged by rhythm alone).
    pub with_p_alive: u64,
    /// The funnel, new to lost.
    pub funnel: Vec<StageCount>,
    /// Stage changes recorded by this run (0 when not stored).
    pub changes_recorded: u64,
    /// Lapsed customers, most value at stake first (at most `lapsed_limit`).
    pub lapsed: Vec<Lapsed>,
}

fn day_of(secs: i64) -> i64 {
    secs.div_euclid(86_400)
}

/// Judges every buying customer's stage on `as_of_day`; with `store_stages`, stores the
/// stages and records each change (the first judgement of a customer is a change from none).
pub fn lifecycle(
    store: &Store,
    as_of_day: i64,
    lapsed_limit: usize,
    store_stages: bool,
) -> Result<LifecycleReport, StoreError> {
    let rows: Vec<LifecycleRow> = store.read(scores::lifecycle_inputs)?;
    let inputs: Vec<Input> = rows
        .iter()
        .map(|r| Input {
            first_day: day_of(r.first_order_at),
            last_day: day_of(r.last_order_at),
            purchase_days: r.purchase_days,
            p_alive: r.p_alive.filter(|p| p.is_finite()),
        })
        .collect();
    let rules = Rules::default();
    let gap = population_gap(&inputs);
    let stages: Vec<Stage> = inputs.iter().map(|i| stage(i, as_of_day, gap, &rules)).collect();
    let total = rows.len().max(1) as f64;
    let funnel = Stage::ALL
        .iter()
        .map(|&s| {
            let n = stages.iter().filter(|&&x| x == s).count() as u64;
            StageCount { stage: s, customers: n, share: n as f64 / total }
        })
        .collect();
    let mut lapsed: Vec<Lapsed> = rows
        .iter()
        .zip(&inputs)
        .zip(&stages)
        .filter(|(_, s)| **s >= Stage::Inactive)
        .map(|((r, i), &s)| {
            let history_days = ((i.last_day - i.first_day) as f64 + i.own_gap().unwrap_or(gap)).max(30.0);
            let yearly = r.net_spend as f64 / 10_000.0 * 365.0 / history_days;
            Lapsed {
                id: r.customer_id,
                external_id: r.external_id.clone(),
                name: r.name.clone(),
                stage: s,
                days_silent: (as_of_day - i.last_day).max(0),
                usual_gap_days: i.own_gap().unwrap_or(gap),
                value_at_stake: r.clv.filter(|v| v.is_finite() && *v > 0.0).unwrap_or(yearly.max(0.0)),
                p_alive: i.p_alive,
            }
        })
        .collect();
    lapsed.sort_by(|a, b| b.value_at_stake.total_cmp(&a.value_at_stake).then(a.id.cmp(&b.id)));
    lapsed.truncate(lapsed_limit);
    let mut changes_recorded = 0;
    if store_stages {
        let stored: Vec<(i64, &str)> = rows.iter().zip(&stages).map(|(r, s)| (r.customer_id, s.as_str())).collect();
        let changes: Vec<(i64, Option<&str>, &str)> = rows
            .iter()
            .zip(&stages)
            .filter(|(r, s)| r.stage.as_deref() != Some(s.as_str()))
            .map(|(r, s)| (r.customer_id, r.stage.as_deref(), s.as_str()))
            .collect();
        changes_recorded = changes.len() as u64;
        store.write(|c| scores::store_lifecycle(c, as_of_day, &stored, &changes))?;
    }
    Ok(LifecycleReport {
        as_of_day,
        population_gap_days: gap,
        with_p_alive: inputs.iter().filter(|i| i.p_alive.is_some()).count() as u64,
        funnel,
        changes_recorded,
        lapsed,
    })
}
