//! The programme document (JSON, see docs/loyalty.md) and its validation into a [`Program`]
//! the engine can run.

use crate::Rate;
use chrono::{DateTime, Utc};
use enishi_core::{Amount, BusinessClock};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// What is wrong with a programme document: the field's path and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ProgramError {
    /// Path of the field (`rules[2].multiplier`), or `document` for a syntax error.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

fn err(path: impl Into<String>, reason: impl Into<String>) -> ProgramError {
    ProgramError { path: path.into(), reason: reason.into() }
}

/// How fractional points are rounded (once per line of the breakdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Toward zero: 57.40 earns 57 (the default, and what customers expect from a receipt).
    #[default]
    Down,
    /// To the nearest point, halves up.
    Nearest,
    /// Away from zero.
    Up,
}

/// The base earning rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Earning {
    /// Points per currency unit of eligible spend (a decimal: `"1"`, `"0.01"` for 1 per 100).
    pub points_per_unit: Rate,
    /// Rounding of fractional points.
    #[serde(default)]
    pub rounding: Rounding,
    /// Orders whose eligible spend is below this earn nothing.
    #[serde(default)]
    pub minimum_order: Option<Amount>,
    /// SKUs that never earn (gift cards, shipping, tax, lines paid with points).
    #[serde(default)]
    pub exclude_skus: Vec<String>,
    /// Categories that never earn.
    #[serde(default)]
    pub exclude_categories: Vec<String>,
    /// Most points one order can earn from purchase rules (base, rules, tier, promotions).
    #[serde(default)]
    pub max_points_per_order: Option<i64>,
    /// Most purchase points one customer can earn on one business day.
    #[serde(default)]
    pub max_points_per_day: Option<i64>,
}

/// Which lines (or orders) a rule or promotion applies to. Empty lists match everything;
/// several lists must all match.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Lines with one of these SKUs.
    #[serde(default)]
    pub skus: Vec<String>,
    /// Lines in one of these categories.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Orders placed through one of these channels.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Orders whose eligible spend is at least this.
    #[serde(default)]
    pub minimum_order: Option<Amount>,
}

/// An extra earning rule, applied in document order after the base rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Name shown in the breakdown.
    pub name: String,
    /// What it applies to.
    #[serde(default)]
    pub when: Condition,
    /// Multiplies the base points of the matching lines (2 = double); the extra is added.
    #[serde(default)]
    pub multiplier: Option<Rate>,
    /// Points per unit bought of the matching lines.
    #[serde(default)]
    pub points_per_item: Option<i64>,
    /// Fixed points once per matching order.
    #[serde(default)]
    pub bonus: Option<i64>,
    /// Later rules are skipped when this one matched.
    #[serde(default)]
    pub stop: bool,
}

/// A time-boxed promotion, read in the business time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    /// Stable id (reports and announcements use it).
    pub id: String,
    /// Name shown in the breakdown.
    pub name: String,
    /// First instant (local time such as `2026-11-27 18:00`, or RFC 3339).
    pub starts: String,
    /// First instant after it.
    pub ends: String,
    /// Multiplies base points (the extra is added).
    #[serde(default)]
    pub multiplier: Option<Rate>,
    /// Fixed points per order.
    #[serde(default)]
    pub bonus: Option<i64>,
    /// Only these lines / channels / order sizes.
    #[serde(default)]
    pub when: Condition,
    /// Only customers in these tiers (ids); empty: everyone.
    #[serde(default)]
    pub tiers: Vec<String>,
    /// Most points the promotion may give in all.
    #[serde(default)]
    pub budget_points: Option<i64>,
}

/// A punch card: N qualifying visits give a reward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StampCard {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Stamps that complete the card.
    pub stamps: i64,
    /// Least eligible spend (of the matching lines) for a stamp.
    #[serde(default)]
    pub minimum_spend: Option<Amount>,
    /// Only orders with lines in these categories (empty: any).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Reward (catalogue id) issued as a coupon when the card completes.
    pub reward: String,
}

/// What counts toward a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierBasis {
    /// Net spend (after returns).
    Spend,
    /// Points earned (not the balance).
    Points,
}

/// Over which time the basis is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TierWindow {
    /// The last N days.
    RollingDays(i64),
    /// The current calendar year in the business time zone.
    CalendarYear,
}

/// One level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierLevel {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Basis needed (spend as a decimal string, or points).
    pub threshold: Amount,
    /// Earning multiplier for members of this level (1 = none).
    #[serde(default)]
    pub multiplier: Option<Rate>,
    /// Perks, shown to staff and customers.
    #[serde(default)]
    pub perks: Vec<String>,
}

/// The tier ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tiers {
    /// Spend or points.
    pub basis: TierBasis,
    /// Counting window.
    pub window: TierWindow,
    /// Levels, lowest first; the first has threshold 0.
    pub levels: Vec<TierLevel>,
    /// Days a customer keeps a level after falling below it before a review downgrades.
    #[serde(default)]
    pub grace_days: i64,
}

/// When earned points expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "policy", deny_unknown_fields)]
pub enum Expiry {
    /// Never.
    #[default]
    Never,
    /// N months after the points were earned.
    MonthsAfterEarning {
        /// Months.
        months: u32,
    },
    /// At the end of the calendar year after the one they were earned in.
    EndOfFollowingYear,
}

/// Referral rewards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Referrals {
    /// Points for the referrer.
    pub referrer_points: i64,
    /// Points for the new customer.
    pub referee_points: i64,
    /// The first order must be at least this to qualify.
    #[serde(default)]
    pub minimum_order: Option<Amount>,
    /// Most rewarded referrals per referrer.
    #[serde(default)]
    pub max_per_referrer: Option<i64>,
}

/// When the birthday reward is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BirthdayPeriod {
    /// Any day of the birthday month.
    Month,
    /// On the day.
    Day,
}

/// The birthday reward, once a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Birthday {
    /// Bonus points.
    #[serde(default)]
    pub points: i64,
    /// Or a reward (catalogue id) issued as a coupon.
    #[serde(default)]
    pub reward: Option<String>,
    /// Month or day.
    pub period: BirthdayPeriod,
}

/// What a reward gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// An amount off.
    Discount,
    /// A percentage off.
    PercentOff,
    /// A free item (`sku`).
    FreeItem,
}

/// A catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reward {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Points it costs (0: only issued by stamp cards, birthdays, referrals).
    pub cost: i64,
    /// Kind.
    pub kind: RewardKind,
    /// Amount off (discount) or percent (percent_off).
    #[serde(default)]
    pub value: Option<Amount>,
    /// The free item.
    #[serde(default)]
    pub sku: Option<String>,
    /// Days the coupon stays valid.
    #[serde(default = "default_valid_days")]
    pub valid_days: i64,
    /// Times one coupon can be used.
    #[serde(default = "one")]
    pub max_uses: i64,
    /// Most redemptions of this reward per customer.
    #[serde(default)]
    pub per_customer_limit: Option<i64>,
    /// Only for paid members.
    #[serde(default)]
    pub members_only: bool,
}

fn default_valid_days() -> i64 {
    90
}

fn one() -> i64 {
    1
}

/// How often a membership fee is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Every month.
    Monthly,
    /// Every year.
    Annual,
}

/// A paid membership plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipPlan {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Fee per period.
    pub fee: Amount,
    /// Period.
    pub period: Period,
    /// Earning multiplier while active.
    #[serde(default)]
    pub multiplier: Option<Rate>,
    /// Perks.
    #[serde(default)]
    pub perks: Vec<String>,
}

/// A loyalty programme as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Name.
    pub name: String,
    /// Orders placed from this instant earn under this version (default: when applied).
    #[serde(default)]
    pub effective_from: Option<String>,
    /// Base earning.
    pub earning: Earning,
    /// Extra rules, in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Promotions.
    #[serde(default)]
    pub promotions: Vec<Promotion>,
    /// Stamp cards.
    #[serde(default)]
    pub stamp_cards: Vec<StampCard>,
    /// Tiers.
    #[serde(default)]
    pub tiers: Option<Tiers>,
    /// Expiry.
    #[serde(default)]
    pub expiry: Expiry,
    /// Days points stay pending (until the return window closes).
    #[serde(default)]
    pub pending_days: i64,
    /// Referrals.
    #[serde(default)]
    pub referrals: Option<Referrals>,
    /// Birthday reward.
    #[serde(default)]
    pub birthday: Option<Birthday>,
    /// Rewards catalogue.
    #[serde(default)]
    pub rewards: Vec<Reward>,
    /// Paid membership plans.
    #[serde(default)]
    pub memberships: Vec<MembershipPlan>,
}

/// A promotion with its window read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionWindow {
    /// First instant.
    pub starts: DateTime<Utc>,
    /// First instant after it.
    pub ends: DateTime<Utc>,
}

/// A validated programme, ready to evaluate orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The document it came from.
    pub doc: Document,
    /// Promotion windows, by index of `doc.promotions`.
    pub windows: Vec<PromotionWindow>,
    /// When it takes effect, if the document says.
    pub effective_from: Option<DateTime<Utc>>,
}

/// Largest multiplier accepted (a typo guard).
const MAX_MULTIPLIER: i64 = 100 * Rate::ONE;

/// Most points per currency unit accepted (a typo guard that keeps every order's points
/// countable).
const MAX_POINTS_PER_UNIT: i64 = 10_000 * Rate::ONE;

/// Refuses a document in which any whole number (points, costs, caps, budgets, counts, days)
/// is beyond [`crate::POINTS_LIMIT`] either way, naming the first such field by its path.
fn counts_within_limit(doc: &Document) -> Result<(), ProgramError> {
    fn walk(v: &serde_json::Value, path: &mut String) -> Result<(), ProgramError> {
        match v {
            serde_json::Value::Number(n) => {
                // Every number of a document is a whole i64 (rates and amounts are strings).
                let ok = n.as_i64().is_some_and(|x| x.unsigned_abs() <= crate::POINTS_LIMIT as u64);
                if ok {
                    Ok(())
                } else {
                    Err(err(path.as_str(), format!("{n} is out of range (at most {} either way)", crate::POINTS_LIMIT)))
                }
            }
            serde_json::Value::Array(items) => items.iter().enumerate().try_for_each(|(i, x)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(x, path)?;
                path.truncate(len);
                Ok(())
            }),
            serde_json::Value::Object(map) => map.iter().try_for_each(|(k, x)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk(x, path)?;
                path.truncate(len);
                Ok(())
            }),
            _ => Ok(()),
        }
    }
    let v = serde_json::to_value(doc).map_err(|e| err("document", e.to_string()))?;
    walk(&v, &mut String::new())
}

impl Program {
    /// Reads and validates a JSON document; times are read in `clock`'s zone.
    pub fn parse(json: &str, clock: &BusinessClock) -> Result<Program, ProgramError> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let doc: Document = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.to_string();
            let reason = message.split(" at line").next().unwrap_or_default();
            let path = if path == "." || path == "?" { "document".to_string() } else { path };
            err(path, format!("{reason} (line {}, column {})", inner.line(), inner.column()))
        })?;
        Program::from_document(doc, clock)
    }

    /// Validates a document.
    pub fn from_document(doc: Document, clock: &BusinessClock) -> Result<Program, ProgramError> {
        if doc.name.trim().is_empty() {
            return Err(err("name", "must not be empty"));
        }
        counts_within_limit(&doc)?;
        let e = &doc.earning;
        if e.points_per_unit.0 < 0 || e.points_per_unit.0 > MAX_POINTS_PER_UNIT {
            return Err(err("earning.points_per_unit", "must be between 0 and 10,000"));
        }
        non_negative_amount("earning.minimum_order", e.minimum_order)?;
        positive("earning.max_points_per_order", e.max_points_per_order)?;
        positive("earning.max_points_per_day", e.max_points_per_day)?;

        let rewards = unique_ids("rewards", doc.rewards.iter().map(|r| r.id.as_str()))?;
        for (i, r) in doc.rewards.iter().enumerate() {
            let p = format!("rewards[{i}]");
            if r.cost < 0 {
                return Err(err(format!("{p}.cost"), "must not be negative"));
            }
            match r.kind {
                RewardKind::Discount | RewardKind::PercentOff => match r.value {
                    None => return Err(err(format!("{p}.value"), "is required for this kind")),
                    Some(v) if v.is_negative() || v.is_zero() => {
                        return Err(err(format!("{p}.value"), "must be more than 0"))
                    }
                    Some(v) if r.kind == RewardKind::PercentOff && v > Amount::from_scaled(100 * 10_000) => {
                        return Err(err(format!("{p}.value"), "a percentage must be at most 100"))
                    }
                    _ => {}
                },
                RewardKind::FreeItem => {
                    if r.sku.as_deref().is_none_or(|s| s.trim().is_empty()) {
                        return Err(err(format!("{p}.sku"), "is required for a free item"));
                    }
                }
            }
            if r.valid_days < 1 {
                return Err(err(format!("{p}.valid_days"), "must be at least 1"));
            }
            if r.max_uses < 1 {
                return Err(err(format!("{p}.max_uses"), "must be at least 1"));
            }
            positive(&format!("{p}.per_customer_limit"), r.per_customer_limit)?;
        }
        let reward_ref = |path: String, id: &str| -> Result<(), ProgramError> {
            if rewards.contains(id) {
                Ok(())
            } else {
                Err(err(path, format!("'{id}' is not in the rewards catalogue")))
            }
        };

        for (i, r) in doc.rules.iter().enumerate() {
            let p = format!("rules[{i}]");
            if r.name.trim().is_empty() {
                return Err(err(format!("{p}.name"), "must not be empty"));
            }
            condition(&format!("{p}.when"), &r.when)?;
            multiplier(&format!("{p}.multiplier"), r.multiplier)?;
            non_negative(&format!("{p}.points_per_item"), r.points_per_item)?;
            non_negative(&format!("{p}.bonus"), r.bonus)?;
            if r.multiplier.is_none() && r.points_per_item.is_none() && r.bonus.is_none() {
                return Err(err(p, "needs a multiplier, points_per_item or bonus"));
            }
        }

        let tier_ids: HashSet<&str> = match &doc.tiers {
            Some(t) => {
                if t.levels.is_empty() {
                    return Err(err("tiers.levels", "needs at least one level"));
                }
                let ids = unique_ids("tiers.levels", t.levels.iter().map(|l| l.id.as_str()))?;
                if !t.levels[0].threshold.is_zero() {
                    return Err(err("tiers.levels[0].threshold", "the first level starts at 0"));
                }
                for (i, pair) in t.levels.windows(2).enumerate() {
                    if pair[1].threshold <= pair[0].threshold {
                        return Err(err(
                            format!("tiers.levels[{}].threshold", i + 1),
                            format!("must be above the previous level's ({})", pair[0].threshold),
                        ));
                    }
                }
                for (i, l) in t.levels.iter().enumerate() {
                    multiplier(&format!("tiers.levels[{i}].multiplier"), l.multiplier)?;
                    if t.basis == TierBasis::Points && l.threshold.decimal().fract() != rust_decimal::Decimal::ZERO {
                        return Err(err(format!("tiers.levels[{i}].threshold"), "points are whole numbers"));
                    }
                }
                if let TierWindow::RollingDays(d) = t.window {
                    if !(1..=3660).contains(&d) {
                        return Err(err("tiers.window.rolling_days", "must be between 1 and 3660"));
                    }
                }
                if t.grace_days < 0 {
                    return Err(err("tiers.grace_days", "must not be negative"));
                }
                ids
            }
            None => HashSet::new(),
        };

        unique_ids("promotions", doc.promotions.iter().map(|p| p.id.as_str()))?;
        let mut windows = Vec::with_capacity(doc.promotions.len());
        for (i, pr) in doc.promotions.iter().enumerate() {
            let p = format!("promotions[{i}]");
            let starts = clock.parse_timestamp(&pr.starts).map_err(|e| err(format!("{p}.starts"), e.0))?;
            let ends = clock.parse_timestamp(&pr.ends).map_err(|e| err(format!("{p}.ends"), e.0))?;
            if ends <= starts {
                return Err(err(format!("{p}.ends"), "must be after starts"));
            }
            condition(&format!("{p}.when"), &pr.when)?;
            multiplier(&format!("{p}.multiplier"), pr.multiplier)?;
            non_negative(&format!("{p}.bonus"), pr.bonus)?;
            positive(&format!("{p}.budget_points"), pr.budget_points)?;
            if pr.multiplier.is_none() && pr.bonus.is_none() {
                return Err(err(p, "needs a multiplier or a bonus"));
            }
            for (j, t) in pr.tiers.iter().enumerate() {
                if !tier_ids.contains(t.as_str()) {
                    return Err(err(format!("{p}.tiers[{j}]"), format!("'{t}' is not a tier")));
                }
            }
            windows.push(PromotionWindow { starts, ends });
        }

        unique_ids("stamp_cards", doc.stamp_cards.iter().map(|c| c.id.as_str()))?;
        for (i, c) in doc.stamp_cards.iter().enumerate() {
            let p = format!("stamp_cards[{i}]");
            if !(2..=100).contains(&c.stamps) {
                return Err(err(format!("{p}.stamps"), "must be between 2 and 100"));
            }
            non_negative_amount(&format!("{p}.minimum_spend"), c.minimum_spend)?;
            reward_ref(format!("{p}.reward"), &c.reward)?;
        }

        if let Expiry::MonthsAfterEarning { months } = doc.expiry {
            if !(1..=120).contains(&months) {
                return Err(err("expiry.months", "must be between 1 and 120"));
            }
        }
        if !(0..=365).contains(&doc.pending_days) {
            return Err(err("pending_days", "must be between 0 and 365"));
        }
        if let Some(r) = &doc.referrals {
            non_negative("referrals.referrer_points", Some(r.referrer_points))?;
            non_negative("referrals.referee_points", Some(r.referee_points))?;
            non_negative_amount("referrals.minimum_order", r.minimum_order)?;
            positive("referrals.max_per_referrer", r.max_per_referrer)?;
        }
        if let Some(b) = &doc.birthday {
            non_negative("birthday.points", Some(b.points))?;
            if let Some(r) = &b.reward {
                reward_ref("birthday.reward".into(), r)?;
            }
            if b.points == 0 && b.reward.is_none() {
                return Err(err("birthday", "needs points or a reward"));
            }
        }
        unique_ids("memberships", doc.memberships.iter().map(|m| m.id.as_str()))?;
        for (i, m) in doc.memberships.iter().enumerate() {
            if m.fee.is_negative() {
                return Err(err(format!("memberships[{i}].fee"), "must not be negative"));
            }
            multiplier(&format!("memberships[{i}].multiplier"), m.multiplier)?;
        }
        let effective_from = doc
            .effective_from
            .as_deref()
            .map(|t| clock.parse_timestamp(t).map_err(|e| err("effective_from", e.0)))
            .transpose()?;
        Ok(Program { doc, windows, effective_from })
    }

    /// The index of the tier with this id.
    pub fn tier_index(&self, id: &str) -> Option<usize> {
        self.doc.tiers.as_ref()?.levels.iter().position(|l| l.id == id)
    }

    /// The catalogue entry with this id.
    pub fn reward(&self, id: &str) -> Option<&Reward> {
        self.doc.rewards.iter().find(|r| r.id == id)
    }

    /// The membership plan with this id.
    pub fn plan(&self, id: &str) -> Option<&MembershipPlan> {
        self.doc.memberships.iter().find(|m| m.id == id)
    }

    /// The document as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.doc).expect("a document serializes")
    }
}

fn unique_ids<'a>(path: &str, ids: impl Iterator<Item = &'a str>) -> Result<HashSet<&'a str>, ProgramError> {
    let mut seen = HashSet::new();
    for (i, id) in ids.enumerate() {
        if id.trim().is_empty() {
            return Err(err(format!("{path}[{i}].id"), "must not be empty"));
        }
        if !seen.insert(id) {
            return Err(err(format!("{path}[{i}].id"), format!("'{id}' is used twice")));
        }
    }
    Ok(seen)
}

fn condition(path: &str, c: &Condition) -> Result<(), ProgramError> {
    for (i, ch) in c.channels.iter().enumerate() {
        if ch.parse::<enishi_core::Channel>().is_err() {
            let known: Vec<&str> = enishi_core::Channel::ALL.iter().map(|c| c.as_str()).collect();
            return Err(err(
                format!("{path}.channels[{i}]"),
                format!("'{ch}' is not a channel ({})", known.join(", ")),
            ));
        }
    }
    non_negative_amount(&format!("{path}.minimum_order"), c.minimum_order)
}

fn multiplier(path: &str, m: Option<Rate>) -> Result<(), ProgramError> {
    match m {
        Some(r) if r.0 < Rate::ONE || r.0 > MAX_MULTIPLIER => {
            Err(err(path, format!("must be between 1 and 100, not {r}")))
        }
        _ => Ok(()),
    }
}

fn non_negative(path: &str, v: Option<i64>) -> Result<(), ProgramError> {
    match v {
        Some(v) if v < 0 => Err(err(path, "must not be negative")),
        _ => Ok(()),
    }
}

fn positive(path: &str, v: Option<i64>) -> Result<(), ProgramError> {
    match v {
        Some(v) if v < 1 => Err(err(path, "must be at least 1")),
        _ => Ok(()),
    }
}

fn non_negative_amount(path: &str, v: Option<Amount>) -> Result<(), ProgramError> {
    match v {
        Some(a) if a.is_negative() => Err(err(path, "must not be negative")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(doc: &Value) -> Result<Program, ProgramError> {
        Program::parse(&doc.to_string(), &BusinessClock::default())
    }

    /// The minimal document with `part` merged in at the top level.
    fn with(part: Value) -> Value {
        let mut doc = json!({"name": "t", "earning": {"points_per_unit": 1}});
        for (k, v) in part.as_object().unwrap() {
            doc[k] = v.clone();
        }
        doc
    }

    fn reward(fields: Value) -> Value {
        let mut r = json!({"id": "r", "name": "r", "cost": 10, "kind": "discount", "value": "5"});
        for (k, v) in fields.as_object().unwrap() {
            r[k] = v.clone();
        }
        with(json!({"rewards": [r]}))
    }

    #[test]
    fn each_rule_of_the_document_refuses_just_past_its_bound_and_names_the_field() {
        let limit = crate::POINTS_LIMIT;
        let mut cases: Vec<(Value, &str)> = vec![
            (reward(json!({"cost": limit + 1})), "rewards[0].cost"),
            (with(json!({"rules": [{"name": "x", "bonus": -limit - 1}]})), "rules[0].bonus"),
            (reward(json!({"cost": -1})), "rewards[0].cost"),
            (reward(json!({"value": null})), "rewards[0].value"),
            (reward(json!({"value": "0"})), "rewards[0].value"),
            (reward(json!({"value": "-1"})), "rewards[0].value"),
            (reward(json!({"kind": "percent_off", "value": "100.01"})), "rewards[0].value"),
            (reward(json!({"kind": "free_item", "value": null, "sku": " "})), "rewards[0].sku"),
            (reward(json!({"valid_days": 0})), "rewards[0].valid_days"),
            (reward(json!({"max_uses": 0})), "rewards[0].max_uses"),
            (reward(json!({"per_customer_limit": 0})), "rewards[0].per_customer_limit"),
            (with(json!({"rules": [{"name": "x", "multiplier": "0.9999"}]})), "rules[0].multiplier"),
            (with(json!({"rules": [{"name": "x", "multiplier": "100.0001"}]})), "rules[0].multiplier"),
            (with(json!({"rules": [{"name": "x", "points_per_item": -1}]})), "rules[0].points_per_item"),
            (with(json!({"rules": [{"name": "x", "bonus": -1}]})), "rules[0].bonus"),
            (
                with(json!({"rules": [{"name": "x", "when": {"channels": ["fax"]}, "bonus": 1}]})),
                "rules[0].when.channels[0]",
            ),
            (
                with(json!({"rules": [{"name": "x", "when": {"minimum_order": "-0.01"}, "bonus": 1}]})),
                "rules[0].when.minimum_order",
            ),
            (with(json!({"earning": {"points_per_unit": 1, "max_points_per_day": 0}})), "earning.max_points_per_day"),
        ];
        let tiers = |basis: &str| {
            with(json!({"tiers": {"basis": basis, "window": {"rolling_days": 365},
                "levels": [{"id": "m", "name": "M", "threshold": "0"}, {"id": "g", "name": "G", "threshold": "10.5"}]}}))
        };
        cases.push((tiers("points"), "tiers.levels[1].threshold"));
        for (doc, path) in cases {
            match parse(&doc) {
                Err(e) => assert_eq!(e.path, path, "{doc}"),
                Ok(_) => panic!("accepted: {doc}"),
            }
        }
        // Exactly at each bound is accepted.
        for doc in [
            reward(json!({"cost": limit})),
            reward(json!({"cost": 0})),
            reward(json!({"kind": "percent_off", "value": "100"})),
            reward(json!({"valid_days": 1, "max_uses": 1, "per_customer_limit": 1})),
            with(json!({"rules": [{"name": "x", "multiplier": "1"}, {"name": "y", "multiplier": "100"}]})),
            with(json!({"rules": [{"name": "x", "points_per_item": 0, "bonus": 0}]})),
            with(json!({"earning": {"points_per_unit": 1, "max_points_per_day": 1}})),
            with(json!({"earning": {"points_per_unit": 1.5}})),
            tiers("spend"),
        ] {
            assert!(parse(&doc).is_ok(), "refused: {doc}: {:?}", parse(&doc).err());
        }
    }

    #[test]
    fn a_reward_without_days_is_valid_for_90_and_lookups_find_by_id() {
        let p = parse(&with(json!({
            "rewards": [{"id": "a", "name": "A", "cost": 10, "kind": "discount", "value": "5"},
                        {"id": "b", "name": "B", "cost": 20, "kind": "discount", "value": "5"}],
            "tiers": {"basis": "spend", "window": {"rolling_days": 365},
                      "levels": [{"id": "member", "name": "M", "threshold": "0"},
                                 {"id": "gold", "name": "G", "threshold": "100"}]},
            "memberships": [{"id": "vip", "name": "VIP", "fee": "10", "period": "monthly"},
                            {"id": "vvip", "name": "VVIP", "fee": "20", "period": "monthly"}]
        })))
        .unwrap();
        let a = p.reward("a").unwrap();
        assert_eq!((a.valid_days, a.max_uses), (90, 1));
        assert_eq!(p.reward("b").map(|r| r.cost), Some(20));
        assert!(p.reward("c").is_none());
        assert_eq!((p.tier_index("member"), p.tier_index("gold"), p.tier_index("x")), (Some(0), Some(1), None));
        assert_eq!(p.plan("vvip").map(|m| m.name.as_str()), Some("VVIP"));
        assert!(p.plan("x").is_none());
        // The document written back reads as the same programme.
        let again = Program::parse(&p.to_json(), &BusinessClock::default()).unwrap();
        assert_eq!(again.doc, p.doc);
    }
}
