//! Did the campaign work? Per variant: messages sent, conversions within the attribution
//! window matching the goal, conversion rate, revenue, cost, ROI, the median time to convert,
//! and the uplift over the holdout group with its 95% confidence interval and p-value.

use crate::definition::{Definition, Goal};
use crate::Error;
use enishi_analytics::uplift::{two_proportions, Uplift};
use enishi_core::Amount;
use enishi_store::repo::campaigns::{self as repo, Campaign, GoalFilter, StatusCount};
use enishi_store::Conn;
use serde::Serialize;

/// One variant's (or the holdout's) figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmResult {
    /// Variant key, or `holdout`.
    pub arm: String,
    /// Messages sent (held-out customers, for the holdout).
    pub members: i64,
    /// Members who converted within the window.
    pub conversions: i64,
    /// `conversions / members`.
    pub conversion_rate: f64,
    /// Revenue of the converting orders, a decimal string.
    pub revenue: String,
    /// What the messages cost, a decimal string (0 for the holdout).
    pub cost: String,
    /// `(revenue - cost) / cost`, when there was a cost.
    pub roi: Option<f64>,
    /// Median hours from the message to the first converting order.
    pub median_hours_to_convert: Option<f64>,
    /// Against the holdout, when there is one.
    pub uplift: Option<UpliftResult>,
}

/// The uplift of a variant over the holdout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpliftResult {
    /// Difference of the conversion rates (percentage points as a fraction).
    pub difference: f64,
    /// 95% confidence interval, low end.
    pub low: f64,
    /// 95% confidence interval, high end.
    pub high: f64,
    /// Two-sided p-value (two-proportion z-test).
    pub p_value: f64,
}

impl From<Uplift> for UpliftResult {
    fn from(u: Uplift) -> UpliftResult {
        UpliftResult { difference: u.difference, low: u.low, high: u.high, p_value: u.p_value }
    }
}

/// A campaign's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Results {
    /// Campaign.
    pub campaign: String,
    /// The mailing and version.
    pub mailing: String,
    /// Version label.
    pub version: String,
    /// State.
    pub state: String,
    /// Audience members.
    pub audience: i64,
    /// Recipients by status and reason.
    pub statuses: Vec<StatusLine>,
    /// Per variant, then the holdout.
    pub arms: Vec<ArmResult>,
    /// All variants together.
    pub total: ArmResult,
    /// Attribution window in days.
    pub attribution_days: u32,
}

/// A count of recipients in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusLine {
    /// Status (`sent`, `skipped`, …).
    pub status: String,
    /// Reason, for skipped and failed.
    pub reason: Option<String>,
    /// How many.
    pub count: i64,
}

fn median_hours(mut seconds: Vec<i64>) -> Option<f64> {
    if seconds.is_empty() {
        return None;
    }
    seconds.sort_unstable();
    let n = seconds.len();
    let mid = if n % 2 == 1 { seconds[n / 2] as f64 } else { (seconds[n / 2 - 1] + seconds[n / 2]) as f64 / 2.0 };
    Some(mid / 3600.0)
}

/// The results of `campaign` as of now.
pub fn results(c: &mut dyn Conn, campaign: &Campaign) -> Result<Results, Error> {
    let d = Definition::parse(&campaign.definition)?;
    let goal = match &d.goal {
        Goal::Purchase => GoalFilter::AnyOrder,
        Goal::Sku { sku } => GoalFilter::Sku(sku.clone()),
        Goal::Category { category } => GoalFilter::Category(category.clone()),
    };
    let started = campaign.started_at.unwrap_or(campaign.created_at);
    let outcomes = repo::outcomes(c, campaign.id, started, i64::from(d.attribution_days) * 86_400, &goal)?;
    let counts: Vec<StatusCount> = repo::status_counts(c, campaign.id)?;
    let mut statuses: Vec<StatusLine> = Vec::new();
    for s in &counts {
        match statuses.iter_mut().find(|x| x.status == s.status && x.reason == s.reason) {
            Some(x) => x.count += s.count,
            None => statuses.push(StatusLine { status: s.status.clone(), reason: s.reason.clone(), count: s.count }),
        }
    }
    // "unconfirmed" is a note on sent messages, not a reason to list apart.
    let audience = counts.iter().map(|s| s.count).sum();
    let cost_each = d.cost();
    let holdout = outcomes.iter().find(|o| o.arm == "holdout");
    let arm = |key: &str, members: i64, converted: i64, revenue: i64, seconds: Vec<i64>, priced: bool| -> ArmResult {
        let revenue_amount = Amount::from_scaled(revenue);
        let cost = if priced { cost_each.checked_times(members).unwrap_or(Amount::ZERO) } else { Amount::ZERO };
        let roi = (!cost.is_zero()).then(|| {
            let r: f64 = revenue_amount.decimal().try_into().unwrap_or(0.0);
            let k: f64 = cost.decimal().try_into().unwrap_or(1.0);
            (r - k) / k
        });
        let uplift = match (priced, holdout) {
            (true, Some(h)) => {
                two_proportions(converted.max(0) as u64, members.max(0) as u64, h.converted as u64, h.members as u64)
                    .map(UpliftResult::from)
            }
            _ => None,
        };
        ArmResult {
            arm: key.to_string(),
            members,
            conversions: converted,
            conversion_rate: if members > 0 { converted as f64 / members as f64 } else { 0.0 },
            revenue: revenue_amount.to_string(),
            cost: cost.to_string(),
            roi,
            median_hours_to_convert: median_hours(seconds),
            uplift,
        }
    };
    let mut arms = Vec::new();
    let (mut tm, mut tc, mut tr, mut ts) = (0, 0, 0_i64, Vec::new());
    for v in &d.variants {
        let o = outcomes.iter().find(|o| o.arm == v.key);
        let (m, k, r, s) =
            o.map_or((0, 0, 0, Vec::new()), |o| (o.members, o.converted, o.revenue, o.seconds_to_convert.clone()));
        tm += m;
        tc += k;
        tr = tr.saturating_add(r);
        ts.extend(s.iter().copied());
        arms.push(arm(&v.key, m, k, r, s, true));
    }
    if let Some(h) = holdout {
        arms.push(arm("holdout", h.members, h.converted, h.revenue, h.seconds_to_convert.clone(), false));
    }
    let total = arm("all", tm, tc, tr, ts, true);
    Ok(Results {
        campaign: campaign.name.clone(),
        mailing: campaign.mailing.clone(),
        version: campaign.version.clone(),
        state: campaign.state.as_str().to_string(),
        audience,
        statuses,
        arms,
        total,
        attribution_days: d.attribution_days,
    })
}

/// The results of every version of a mailing, oldest first, to compare v1 with v2.
pub fn versions(c: &mut dyn Conn, mailing: &str) -> Result<Vec<Results>, Error> {
    repo::versions(c, mailing)?.iter().map(|k| results(c, k)).collect()
}

/// What happened to one variant's messages: sent, failed for good, and recipients who then
/// unsubscribed through the campaign's link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArmDelivery {
    /// Variant key.
    pub arm: String,
    /// Messages sent (letters confirmed as posted).
    pub sent: i64,
    /// Messages that failed for good.
    pub failed: i64,
    /// Recipients who unsubscribed through this campaign's link.
    pub unsubscribed: i64,
}

/// Sent, failed and unsubscribed per variant of `campaign`, in the document's order.
pub fn deliveries(c: &mut dyn Conn, campaign: &Campaign) -> Result<Vec<ArmDelivery>, Error> {
    let d = Definition::parse(&campaign.definition)?;
    let counts = repo::status_counts(c, campaign.id)?;
    let source = crate::unsubscribe::source(&campaign.name);
    let unsubscribed = repo::unsubscribed_by_arm(c, campaign.id, d.channel.consent(), &source)?;
    let count = |arm: &str, status: &str| -> i64 {
        counts.iter().filter(|s| s.arm == arm && s.status == status).map(|s| s.count).sum()
    };
    Ok(d.variants
        .iter()
        .map(|v| ArmDelivery {
            arm: v.key.clone(),
            sent: count(&v.key, "sent"),
            failed: count(&v.key, "failed"),
            unsubscribed: unsubscribed.iter().find(|(a, _)| *a == v.key).map_or(0, |(_, n)| *n),
        })
        .collect())
}
