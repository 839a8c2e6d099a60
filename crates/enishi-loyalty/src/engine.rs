//! What one order earns: a pure function of the programme, the customer's state and the order.
//!
//! The order of evaluation (docs/loyalty.md):
//! 1. Eligible spend: lines not excluded, each scaled by total ÷ sum of lines when the order
//!    total is below its lines (an order discount is shared pro rata; shipping above the lines
//!    never earns). Below `minimum_order`, nothing is earned.
//! 2. Base points: eligible spend × points per unit, rounded by the programme's rounding.
//! 3. Rules in document order: a multiplier adds (m − 1) × the base points of the lines it
//!    matches (two ×2 rules make ×3, not ×4); points per item and fixed bonuses add on top.
//! 4. Tier and membership multipliers add (m − 1) × base points.
//! 5. Promotions active at the order's time (within their window, or within one of their
//!    weekly occurrences), within their budget, add the same way.
//! 6. Caps per order, then per business day, cut the total.
//!
//! Each step is rounded on its own, so the breakdown always adds up to the total.

use crate::program::{Condition, Expiry, Program, Rounding, TierBasis};
use crate::Rate;
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use enishi_core::BusinessClock;
use serde::Serialize;

/// One order line, money in 1/10,000 units.
#[derive(Debug, Clone, Copy)]
pub struct LineFacts<'a> {
    /// Product.
    pub sku: &'a str,
    /// Category.
    pub category: Option<&'a str>,
    /// Units.
    pub quantity: i64,
    /// Line amount.
    pub amount: i64,
}

/// The order being evaluated.
#[derive(Debug, Clone, Copy)]
pub struct OrderFacts<'a> {
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Its business day (days since 1970-01-01, local).
    pub day: i64,
    /// Channel.
    pub channel: &'a str,
    /// Total paid, 1/10,000 units.
    pub total: i64,
    /// Lines.
    pub lines: &'a [LineFacts<'a>],
}

/// One stamp card's progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CardState {
    /// Stamps on the current card.
    pub stamps: i64,
    /// Business day of the last stamp.
    pub last_day: Option<i64>,
}

/// What the engine needs to know about the customer before the order.
#[derive(Debug, Clone, Default)]
pub struct CustomerState {
    /// Current tier (index into the programme's levels).
    pub tier: Option<usize>,
    /// Tier basis counted in the window before this order (spend in 1/10,000 or points).
    pub tier_progress: i64,
    /// Earning multiplier of an active paid membership.
    pub membership_multiplier: Option<Rate>,
    /// Purchase points already earned on the order's business day.
    pub earned_today: i64,
    /// Stamp cards, by index of the programme's cards (missing: empty).
    pub cards: Vec<CardState>,
    /// Points each promotion has given so far, by index (missing: 0).
    pub promotion_spent: Vec<i64>,
    /// Whether the customer is a member of each promotion's segment, by index (missing: not);
    /// read only for promotions limited to a segment.
    pub in_promotion_segment: Vec<bool>,
}

/// Where a line of the breakdown comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "source", content = "index", rename_all = "snake_case")]
pub enum Source {
    /// Points per unit of eligible spend.
    Base,
    /// A rule (index into `rules`).
    Rule(usize),
    /// The customer's tier multiplier.
    Tier(usize),
    /// The paid-membership multiplier.
    Membership,
    /// A promotion (index into `promotions`).
    Promotion(usize),
    /// The per-order cap (negative).
    OrderCap,
    /// The per-day cap (negative).
    DayCap,
}

/// One line of the breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Part {
    /// Where it comes from.
    #[serde(flatten)]
    pub source: Source,
    /// Points (negative for caps).
    pub points: i64,
}

/// A stamp given by the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StampChange {
    /// Card index.
    pub card: usize,
    /// The card after the stamp.
    pub after: CardState,
    /// Whether the stamp completed the card (a reward is due and the card restarts).
    pub completed: bool,
}

/// A tier upgrade caused by the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TierChange {
    /// Tier before (None: no tier yet).
    pub from: Option<usize>,
    /// Tier after.
    pub to: usize,
}

/// What the order earns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Earned {
    /// Total points.
    pub points: i64,
    /// The breakdown; the parts add up to `points`.
    pub parts: Vec<Part>,
    /// Eligible spend, 1/10,000 units.
    pub eligible: i64,
    /// What the order adds to the tier basis (spend or points).
    pub qualifying: i64,
    /// Stamps given.
    pub stamps: Vec<StampChange>,
    /// Tier upgrade, if any.
    pub tier: Option<TierChange>,
}

impl Earned {
    /// Whether the points, and every part of the breakdown, are within
    /// ±[`crate::POINTS_LIMIT`]: an answer outside it (an absurd order or programme) must be
    /// refused, not recorded.
    pub fn in_range(&self) -> bool {
        let ok = |p: i64| p.unsigned_abs() <= crate::POINTS_LIMIT as u64;
        ok(self.points) && self.parts.iter().all(|x| ok(x.points))
    }
}

/// 10,000 (money scale) × 10,000 (rate scale).
const SCALE2: i128 = 100_000_000;

fn round(num: i128, den: i128, how: Rounding) -> i64 {
    let q = num.div_euclid(den);
    let r = num.rem_euclid(den);
    let v = match how {
        Rounding::Down => q,
        Rounding::Up => q + i128::from(r > 0),
        Rounding::Nearest => q + i128::from(r * 2 >= den),
    };
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// Points for `value` (1/10,000 units) at `rate` and `extra` (a multiplier's excess, in rate
/// units; `Rate::ONE` for the plain rate).
fn points_for(value: i64, rate: Rate, extra: i64, how: Rounding) -> i64 {
    let num = i128::from(value).checked_mul(i128::from(rate.0)).and_then(|v| v.checked_mul(i128::from(extra)));
    // Beyond i128 only with rates no valid programme has; saturated, it is refused as out of range.
    round(num.unwrap_or(i128::MAX), SCALE2 * i128::from(Rate::ONE), how)
}

fn line_matches(c: &Condition, l: &LineFacts<'_>) -> bool {
    (c.skus.is_empty() || c.skus.iter().any(|s| s == l.sku))
        && (c.categories.is_empty() || l.category.is_some_and(|cat| c.categories.iter().any(|x| x == cat)))
}

fn order_matches(c: &Condition, channel: &str, eligible: i64) -> bool {
    (c.channels.is_empty() || c.channels.iter().any(|x| x == channel))
        && c.minimum_order.is_none_or(|m| eligible >= m.to_scaled())
}

/// Evaluates one order. Pure: the same inputs always give the same answer.
pub fn evaluate(p: &Program, state: &CustomerState, order: &OrderFacts<'_>) -> Earned {
    let e = &p.doc.earning;
    let how = e.rounding;
    // Sums saturate instead of wrapping: a saturated value is beyond POINTS_LIMIT or any
    // threshold, and the caller refuses an answer that is out of range (`Earned::in_range`).
    let lines_sum: i64 = order.lines.iter().fold(0, |s, l| s.saturating_add(l.amount));
    // Net value of each line: an order discount is shared pro rata.
    let net = |amount: i64| -> i64 {
        if order.total < lines_sum && lines_sum > 0 {
            (i128::from(amount) * i128::from(order.total.max(0)) / i128::from(lines_sum)) as i64
        } else {
            amount
        }
    };
    let excluded = |l: &LineFacts<'_>| {
        e.exclude_skus.iter().any(|s| s == l.sku)
            || l.category.is_some_and(|c| e.exclude_categories.iter().any(|x| x == c))
    };
    let mut out = Earned::default();
    let eligible: i64 = order.lines.iter().filter(|l| !excluded(l)).fold(0, |s, l| s.saturating_add(net(l.amount)));
    out.eligible = eligible;
    let matching_net = |c: &Condition| -> (i64, i64) {
        order
            .lines
            .iter()
            .filter(|l| !excluded(l) && line_matches(c, l))
            .fold((0i64, 0i64), |(v, q), l| (v.saturating_add(net(l.amount)), q.saturating_add(l.quantity)))
    };

    let qualifies = e.minimum_order.is_none_or(|m| eligible >= m.to_scaled());
    if qualifies && eligible > 0 {
        let base = points_for(eligible, e.points_per_unit, Rate::ONE, how);
        let mut parts = Vec::with_capacity(4);
        parts.push(Part { source: Source::Base, points: base });
        for (i, r) in p.doc.rules.iter().enumerate() {
            if !order_matches(&r.when, order.channel, eligible) {
                continue;
            }
            let (value, units) = matching_net(&r.when);
            if units == 0 {
                continue;
            }
            let mut pts: i64 = 0;
            if let Some(m) = r.multiplier {
                pts = points_for(value, e.points_per_unit, m.0 - Rate::ONE, how);
            }
            pts = pts
                .saturating_add(r.points_per_item.unwrap_or(0).saturating_mul(units))
                .saturating_add(r.bonus.unwrap_or(0));
            parts.push(Part { source: Source::Rule(i), points: pts });
            if r.stop {
                break;
            }
        }
        let tier_levels = p.doc.tiers.as_ref().map(|t| t.levels.as_slice()).unwrap_or(&[]);
        if let Some(t) = state.tier {
            if let Some(m) = tier_levels.get(t).and_then(|l| l.multiplier).filter(|m| m.0 > Rate::ONE) {
                parts.push(Part {
                    source: Source::Tier(t),
                    points: points_for(eligible, e.points_per_unit, m.0 - Rate::ONE, how),
                });
            }
        }
        if let Some(m) = state.membership_multiplier.filter(|m| m.0 > Rate::ONE) {
            parts.push(Part {
                source: Source::Membership,
                points: points_for(eligible, e.points_per_unit, m.0 - Rate::ONE, how),
            });
        }
        for (i, (pr, w)) in p.doc.promotions.iter().zip(&p.windows).enumerate() {
            if !w.active_at(order.placed_at, &p.clock) || !order_matches(&pr.when, order.channel, eligible) {
                continue;
            }
            if !pr.tiers.is_empty()
                && !state.tier.is_some_and(|t| tier_levels.get(t).is_some_and(|l| pr.tiers.contains(&l.id)))
            {
                continue;
            }
            if pr.segment.is_some() && !state.in_promotion_segment.get(i).copied().unwrap_or(false) {
                continue;
            }
            let (value, units) = matching_net(&pr.when);
            if units == 0 {
                continue;
            }
            let mut pts = pr.bonus.unwrap_or(0);
            if let Some(m) = pr.multiplier {
                pts = pts.saturating_add(points_for(value, e.points_per_unit, m.0 - Rate::ONE, how));
            }
            if let Some(budget) = pr.budget_points {
                let left = budget.saturating_sub(state.promotion_spent.get(i).copied().unwrap_or(0)).max(0);
                pts = pts.min(left);
            }
            if pts > 0 {
                parts.push(Part { source: Source::Promotion(i), points: pts });
            }
        }
        let mut total: i64 = parts.iter().fold(0, |s, x| s.saturating_add(x.points));
        if let Some(cap) = e.max_points_per_order.filter(|&c| total > c) {
            parts.push(Part { source: Source::OrderCap, points: cap - total });
            total = cap;
        }
        if let Some(cap) = e.max_points_per_day {
            let left = cap.saturating_sub(state.earned_today).max(0);
            if total > left {
                parts.push(Part { source: Source::DayCap, points: left - total });
                total = left;
            }
        }
        parts.retain(|x| x.points != 0 || x.source == Source::Base);
        out.points = total;
        out.parts = parts;
    }

    for (i, card) in p.doc.stamp_cards.iter().enumerate() {
        let cond = Condition { categories: card.categories.clone(), ..Condition::default() };
        let (value, units) = if card.categories.is_empty() { (eligible, 1) } else { matching_net(&cond) };
        if units == 0 || value <= 0 || card.minimum_spend.is_some_and(|m| value < m.to_scaled()) {
            continue;
        }
        let before = state.cards.get(i).copied().unwrap_or_default();
        if before.last_day == Some(order.day) {
            continue; // one stamp per visit day
        }
        let stamps = before.stamps + 1;
        let completed = stamps >= card.stamps;
        out.stamps.push(StampChange {
            card: i,
            after: CardState { stamps: if completed { 0 } else { stamps }, last_day: Some(order.day) },
            completed,
        });
    }

    if let Some(t) = &p.doc.tiers {
        out.qualifying = match t.basis {
            TierBasis::Spend => eligible,
            TierBasis::Points => out.points,
        };
        let after = state.tier_progress.saturating_add(out.qualifying);
        let reached = tier_for(p, after);
        if reached.is_some_and(|r| state.tier.is_none_or(|cur| r > cur)) {
            out.tier = Some(TierChange { from: state.tier, to: reached.unwrap_or(0) });
        }
    }
    out
}

/// Why an order earned no points, for the till to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoPoints {
    /// Its eligible spend is below the programme's minimum order (that minimum).
    BelowMinimum(enishi_core::Amount),
    /// None of its lines earns (excluded products or categories, or nothing paid).
    NothingEligible,
    /// Its spend earns less than one point at the programme's rate.
    TooSmall,
    /// The programme's cap per order or per day is reached.
    Capped,
}

/// Why `order` earns nothing under `p`, asked of an order that earned 0 points. Earning is
/// evaluated again for a customer with no history: an order that would then earn was stopped
/// by a cap the customer had reached.
pub fn why_no_points(p: &Program, order: &OrderFacts<'_>) -> NoPoints {
    let fresh = evaluate(p, &CustomerState::default(), order);
    match p.doc.earning.minimum_order {
        _ if fresh.eligible <= 0 => NoPoints::NothingEligible,
        Some(m) if fresh.eligible < m.to_scaled() => NoPoints::BelowMinimum(m),
        _ if fresh.points > 0 || fresh.parts.iter().any(|x| matches!(x.source, Source::OrderCap | Source::DayCap)) => {
            NoPoints::Capped
        }
        _ => NoPoints::TooSmall,
    }
}

/// The highest tier whose threshold `progress` (spend in 1/10,000 units, or points) reaches.
pub fn tier_for(p: &Program, progress: i64) -> Option<usize> {
    let t = p.doc.tiers.as_ref()?;
    let scale = match t.basis {
        TierBasis::Spend => 1,
        TierBasis::Points => 10_000,
    };
    t.levels.iter().rposition(|l| progress.saturating_mul(scale) >= l.threshold.to_scaled())
}

/// The points a return must take back so that, with `returned` of `total` returned in all,
/// the order keeps its earned points in proportion; `already` were taken back before.
/// A full return takes back everything.
pub fn reversal_due(earned: i64, total: i64, returned: i64, already: i64) -> i64 {
    let due = if total <= 0 || returned >= total {
        earned
    } else {
        round(i128::from(earned) * i128::from(returned.max(0)), i128::from(total), Rounding::Nearest)
    };
    (due - already).max(0)
}

/// When points earned at `earned_at` expire under the programme's policy.
pub fn expires_at(policy: Expiry, earned_at: DateTime<Utc>, clock: &BusinessClock) -> Option<DateTime<Utc>> {
    match policy {
        Expiry::Never => None,
        Expiry::MonthsAfterEarning { months } => earned_at.checked_add_months(Months::new(months)),
        Expiry::EndOfFollowingYear => {
            let year = clock.local_date(earned_at).year();
            NaiveDate::from_ymd_opt(year + 2, 1, 1).map(|d| clock.start_of(d))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(json: &str) -> Program {
        Program::parse(json, &BusinessClock::default()).unwrap()
    }

    fn order<'a>(at: &str, total: &str, lines: &'a [LineFacts<'a>]) -> OrderFacts<'a> {
        let placed_at = BusinessClock::default().parse_timestamp(at).unwrap();
        OrderFacts {
            placed_at,
            day: BusinessClock::default().day_number(placed_at),
            channel: "in_store",
            total: total.parse::<enishi_core::Amount>().unwrap().to_scaled(),
            lines,
        }
    }

    fn line(sku: &'static str, category: Option<&'static str>, qty: i64, amount: &str) -> LineFacts<'static> {
        LineFacts { sku, category, quantity: qty, amount: amount.parse::<enishi_core::Amount>().unwrap().to_scaled() }
    }

    const CLASSIC: &str = r#"{"name": "classic", "earning": {"points_per_unit": 1, "minimum_order": "10.00"},
        "promotions": [{"id": "double", "name": "Double points", "starts": "2026-11-27 18:00",
                        "ends": "2026-11-29 18:00", "multiplier": 2}]}"#;

    fn earn(p: &Program, at: &str, total: &str) -> i64 {
        let lines = [line("X", None, 1, total)];
        evaluate(p, &CustomerState::default(), &order(at, total, &lines)).points
    }

    #[test]
    fn the_classic_programme_earns_as_documented() {
        let p = program(CLASSIC);
        assert_eq!(earn(&p, "2026-11-01 12:00", "9.99"), 0);
        assert_eq!(earn(&p, "2026-11-01 12:00", "10.00"), 10);
        assert_eq!(earn(&p, "2026-11-01 12:00", "57.40"), 57);
        assert_eq!(earn(&p, "2026-11-28 12:00", "30"), 60);
        assert_eq!(earn(&p, "2026-11-29 17:59:59", "30"), 60);
        assert_eq!(earn(&p, "2026-11-29 18:01", "30"), 30);
        assert_eq!(earn(&p, "2026-11-27 17:59:59", "30"), 30);
    }

    #[test]
    fn a_promotion_starts_at_its_first_instant_and_ends_before_its_last() {
        let p = program(CLASSIC);
        assert_eq!(earn(&p, "2026-11-27 18:00", "30"), 60, "the start is inclusive");
        assert_eq!(earn(&p, "2026-11-29 18:00", "30"), 30, "the end is exclusive");
        assert_eq!(earn(&p, "2026-11-29 17:59:59", "30"), 60);
        assert_eq!(earn(&p, "2026-11-27 17:59:59", "30"), 30);
    }

    /// Points for a $30 order at the local time `at` in `tz` under `doc`.
    fn earn_in(doc: &str, tz: &str, at: &str) -> i64 {
        let clock = BusinessClock::new(tz).unwrap();
        let p = Program::parse(doc, &clock).unwrap();
        let placed_at = clock.parse_timestamp(at).unwrap();
        let lines = [line("X", None, 1, "30")];
        let o = OrderFacts {
            placed_at,
            day: clock.day_number(placed_at),
            channel: "in_store",
            total: 300_000,
            lines: &lines,
        };
        evaluate(&p, &CustomerState::default(), &o).points
    }

    fn weekly(repeat: &str, extra: &str) -> String {
        format!(
            r#"{{"name": "h", "earning": {{"points_per_unit": 1}},
              "promotions": [{{"id": "happy", "name": "Happy hour", "repeat": {repeat}, "multiplier": 2 {extra}}}]}}"#
        )
    }

    #[test]
    fn a_recurring_promotion_earns_from_its_first_instant_to_just_before_its_end_each_week() {
        // Tuesdays 14:00–17:00 in Tokyo; 2026-12-01 is a Tuesday.
        let doc = weekly(r#"{"weekdays": ["tue"], "from": "14:00", "until": "17:00"}"#, "");
        let tokyo = |at: &str| earn_in(&doc, "Asia/Tokyo", at);
        assert_eq!(tokyo("2026-12-01 13:59"), 30);
        assert_eq!(tokyo("2026-12-01 13:59:59"), 30);
        assert_eq!(tokyo("2026-12-01 14:00"), 60, "the start is inclusive");
        assert_eq!(tokyo("2026-12-01 16:59:59"), 60);
        assert_eq!(tokyo("2026-12-01 17:00"), 30, "the end is exclusive");
        assert_eq!(tokyo("2026-11-30 15:00"), 30, "a Monday");
        assert_eq!(tokyo("2026-12-02 15:00"), 30, "a Wednesday");
        assert_eq!(tokyo("2026-12-08 15:00"), 60, "the next Tuesday");
        assert_eq!(tokyo("2025-01-07 14:30"), 60, "any Tuesday without an overall window");
        // The times are Tokyo's: 14:00 JST is 05:00 UTC.
        assert_eq!(tokyo("2026-12-01T05:00:00Z"), 60);
        assert_eq!(tokyo("2026-12-01T04:59:59Z"), 30);
        assert_eq!(earn_in(&doc, "UTC", "2026-12-01T05:00:00Z"), 30, "in UTC the same instant is 05:00");
    }

    #[test]
    fn a_recurring_promotion_may_cross_midnight_and_belongs_to_the_day_it_starts() {
        let doc = weekly(r#"{"weekdays": ["fri"], "from": "22:00", "until": "02:00"}"#, "");
        let at = |t: &str| earn_in(&doc, "Asia/Tokyo", t);
        // 2026-12-04 is a Friday.
        assert_eq!(at("2026-12-04 21:59:59"), 30);
        assert_eq!(at("2026-12-04 22:00"), 60);
        assert_eq!(at("2026-12-05 00:00"), 60, "Saturday's small hours belong to Friday");
        assert_eq!(at("2026-12-05 01:59:59"), 60);
        assert_eq!(at("2026-12-05 02:00"), 30);
        assert_eq!(at("2026-12-04 01:00"), 30, "Friday's small hours belong to Thursday, not listed");
        assert_eq!(at("2026-12-05 23:00"), 30, "Saturday is not listed");
        let until_midnight = weekly(r#"{"weekdays": ["fri"], "from": "18:00", "until": "24:00"}"#, "");
        assert_eq!(earn_in(&until_midnight, "Asia/Tokyo", "2026-12-04 23:59:59"), 60);
        assert_eq!(earn_in(&until_midnight, "Asia/Tokyo", "2026-12-05 00:00"), 30);
        let all_day = weekly(r#"{"weekdays": ["sat"], "from": "00:00", "until": "24:00"}"#, "");
        assert_eq!(earn_in(&all_day, "Asia/Tokyo", "2026-12-05 00:00"), 60);
        assert_eq!(earn_in(&all_day, "Asia/Tokyo", "2026-12-05 23:59:59"), 60);
        assert_eq!(earn_in(&all_day, "Asia/Tokyo", "2026-12-04 23:59:59"), 30);
        assert_eq!(earn_in(&all_day, "Asia/Tokyo", "2026-12-06 00:00"), 30);
    }

    #[test]
    fn a_recurring_promotion_keeps_to_its_overall_window() {
        let doc = weekly(
            r#"{"weekdays": ["tue"], "from": "14:00", "until": "17:00"}"#,
            r#", "starts": "2026-12-08 00:00", "ends": "2026-12-15 15:00""#,
        );
        let at = |t: &str| earn_in(&doc, "Asia/Tokyo", t);
        assert_eq!(at("2026-12-01 15:00"), 30, "before its start");
        assert_eq!(at("2026-12-08 14:00"), 60);
        assert_eq!(at("2026-12-15 14:59:59"), 60);
        assert_eq!(at("2026-12-15 15:00"), 30, "its end cuts the last occurrence");
        assert_eq!(at("2026-12-22 15:00"), 30, "after its end");
    }

    #[test]
    fn daylight_saving_moves_a_skipped_start_to_the_jump_and_keeps_a_repeated_hour_in_once_begun() {
        let ny = |repeat: &str, at: &str| earn_in(&weekly(repeat, ""), "America/New_York", at);
        // 2026-03-08 (a Sunday): 02:00–02:59 does not exist; 01:59:59 EST is followed by 03:00 EDT.
        let gap = r#"{"weekdays": ["sun"], "from": "02:30", "until": "03:30"}"#;
        assert_eq!(ny(gap, "2026-03-08T06:59:59Z"), 30, "01:59:59 EST");
        assert_eq!(ny(gap, "2026-03-08T07:00:00Z"), 60, "03:00 EDT: the first instant after 02:30");
        assert_eq!(ny(gap, "2026-03-08 03:29:59"), 60);
        assert_eq!(ny(gap, "2026-03-08 03:30"), 30);
        assert_eq!(ny(gap, "2026-03-15 02:30"), 60, "an ordinary Sunday");
        assert_eq!(ny(gap, "2026-03-15 02:29"), 30);
        // 2026-11-01 (a Sunday): 01:00–01:59 happens twice (EDT, then EST).
        let repeated = r#"{"weekdays": ["sun"], "from": "01:00", "until": "02:00"}"#;
        assert_eq!(ny(repeated, "2026-11-01T04:59:59Z"), 30, "00:59:59 EDT");
        assert_eq!(ny(repeated, "2026-11-01T05:00:00Z"), 60, "01:00 EDT, the first time");
        assert_eq!(ny(repeated, "2026-11-01T06:30:00Z"), 60, "01:30 EST, the second time");
        assert_eq!(ny(repeated, "2026-11-01T06:59:59Z"), 60);
        assert_eq!(ny(repeated, "2026-11-01T07:00:00Z"), 30, "02:00 EST");
        // An occurrence ends the first time the clock reads its end.
        let ends_inside = r#"{"weekdays": ["sun"], "from": "00:00", "until": "01:30"}"#;
        assert_eq!(ny(ends_inside, "2026-11-01T05:29:59Z"), 60, "01:29:59 EDT");
        assert_eq!(ny(ends_inside, "2026-11-01T05:30:00Z"), 30, "01:30 EDT");
        assert_eq!(ny(ends_inside, "2026-11-01T06:10:00Z"), 30, "01:10 EST, after the end");
    }

    #[test]
    fn a_recurring_promotion_keeps_its_tiers_conditions_and_budget() {
        let doc = weekly(
            r#"{"weekdays": ["tue"], "from": "14:00", "until": "17:00"}"#,
            r#", "when": {"channels": ["app"]}, "budget_points": 50"#,
        );
        let clock = BusinessClock::new("Asia/Tokyo").unwrap();
        let p = Program::parse(&doc, &clock).unwrap();
        let placed_at = clock.parse_timestamp("2026-12-01 15:00").unwrap();
        let lines = [line("X", None, 1, "30")];
        let mut o =
            OrderFacts { placed_at, day: clock.day_number(placed_at), channel: "app", total: 300_000, lines: &lines };
        assert_eq!(evaluate(&p, &CustomerState::default(), &o).points, 60);
        let spent = CustomerState { promotion_spent: vec![40], ..Default::default() };
        assert_eq!(evaluate(&p, &spent, &o).points, 40, "10 left of the budget");
        o.channel = "in_store";
        assert_eq!(evaluate(&p, &CustomerState::default(), &o).points, 30, "not through the app");
    }

    #[test]
    fn a_segment_promotion_earns_only_for_the_segments_members() {
        let doc = weekly(r#"{"weekdays": ["tue"], "from": "14:00", "until": "17:00"}"#, r#", "segment": "loyal""#);
        let clock = BusinessClock::new("Asia/Tokyo").unwrap();
        let p = Program::parse(&doc, &clock).unwrap();
        assert_eq!(p.segments(), [("promotions[0].segment".to_string(), "loyal")]);
        let placed_at = clock.parse_timestamp("2026-12-01 15:00").unwrap();
        let lines = [line("X", None, 1, "30")];
        let o =
            OrderFacts { placed_at, day: clock.day_number(placed_at), channel: "app", total: 300_000, lines: &lines };
        let member = CustomerState { in_promotion_segment: vec![true], ..Default::default() };
        let outsider = CustomerState { in_promotion_segment: vec![false], ..Default::default() };
        assert_eq!(evaluate(&p, &member, &o).points, 60);
        assert_eq!(evaluate(&p, &outsider, &o).points, 30);
        assert_eq!(evaluate(&p, &CustomerState::default(), &o).points, 30, "not known as a member");
    }

    #[test]
    fn each_rounding_rounds_its_own_way_on_every_line() {
        let with = |how: &str| {
            program(&format!(
                r#"{{"name": "r", "earning": {{"points_per_unit": "0.01", "rounding": "{how}"}},
                  "rules": [{{"name": "x2", "when": {{"skus": ["X"]}}, "multiplier": 2}}]}}"#
            ))
        };
        // (amount, down, nearest, up): base and the rule's extra are each rounded.
        for (amount, down, nearest, up) in [
            ("149", 2, 2, 4),
            ("150", 2, 4, 4),
            ("151", 2, 4, 4),
            ("100", 2, 2, 2),
            ("0.01", 0, 0, 2),
            ("249.99", 4, 4, 6),
        ] {
            assert_eq!(earn(&with("down"), "2026-01-01 10:00", amount), down, "down {amount}");
            assert_eq!(earn(&with("nearest"), "2026-01-01 10:00", amount), nearest, "nearest {amount}");
            assert_eq!(earn(&with("up"), "2026-01-01 10:00", amount), up, "up {amount}");
        }
        let lines = [line("X", None, 1, "150")];
        let got = evaluate(&with("nearest"), &CustomerState::default(), &order("2026-01-01 10:00", "150", &lines));
        assert_eq!(got.parts.iter().map(|x| x.points).collect::<Vec<_>>(), [2, 2]);
    }

    #[test]
    fn rounding_is_exact_at_the_half_and_never_drifts_below_zero() {
        assert_eq!(round(5, 10, Rounding::Nearest), 1);
        assert_eq!(round(4, 10, Rounding::Nearest), 0);
        assert_eq!(round(14, 10, Rounding::Nearest), 1);
        assert_eq!(round(15, 10, Rounding::Nearest), 2);
        assert_eq!(round(10, 10, Rounding::Up), 1);
        assert_eq!(round(11, 10, Rounding::Up), 2);
        assert_eq!(round(19, 10, Rounding::Down), 1);
        assert_eq!(round(0, 10, Rounding::Up), 0);
        assert_eq!(round(i128::MAX, 1, Rounding::Down), i64::MAX, "beyond i64 saturates");
        assert_eq!(round(i128::MIN, 1, Rounding::Down), i64::MIN);
    }

    #[test]
    fn rules_compose_and_the_breakdown_adds_up() {
        let p = program(
            r#"{"name": "r", "earning": {"points_per_unit": "1", "exclude_categories": ["gift-card"],
                "max_points_per_order": 500},
              "rules": [{"name": "coffee x2", "when": {"categories": ["coffee"]}, "multiplier": 2},
                        {"name": "coffee x2 again", "when": {"categories": ["coffee"]}, "multiplier": "2"},
                        {"name": "mugs", "when": {"skus": ["MUG"]}, "points_per_item": 5},
                        {"name": "app", "when": {"channels": ["app"]}, "bonus": 50}]}"#,
        );
        let lines = [
            line("BEANS", Some("coffee"), 2, "40"),
            line("MUG", Some("ware"), 3, "30"),
            line("GC", Some("gift-card"), 1, "50"),
        ];
        let got = evaluate(&p, &CustomerState::default(), &order("2026-01-01 10:00", "120", &lines));
        // base 70, coffee +40 +40 (additive), mugs 3×5, no app bonus in store.
        assert_eq!(got.points, 70 + 40 + 40 + 15);
        assert_eq!(got.parts.iter().map(|x| x.points).sum::<i64>(), got.points);
        // A 10% order discount is shared pro rata: eligible 70 × 108/120 = 63.
        let got = evaluate(&p, &CustomerState::default(), &order("2026-01-01 10:00", "108", &lines));
        assert_eq!(got.eligible, 630_000);
        assert_eq!(got.parts[0].points, 63);
    }

    #[test]
    fn earnings_beyond_the_points_limit_saturate_and_are_flagged_out_of_range() {
        let p = program(
            r#"{"name": "big", "earning": {"points_per_unit": "10000"},
              "rules": [{"name": "each", "when": {"skus": ["X"]}, "points_per_item": 1000000000000}]}"#,
        );
        // 10⁹ units × 10¹² points would wrap an i64; it saturates instead.
        let lines = [line("X", None, 1_000_000_000, "1"), line("X", None, 1_000_000_000, "1")];
        let got = evaluate(&p, &CustomerState::default(), &order("2026-01-01 10:00", "2", &lines));
        assert_eq!(
            got.parts,
            [Part { source: Source::Base, points: 20_000 }, Part { source: Source::Rule(0), points: i64::MAX }]
        );
        assert_eq!(got.points, i64::MAX, "saturated, not wrapped");
        assert!(!got.in_range());
        // The largest amount at the largest rate still computes exactly, beyond the limit.
        let lines = [line("Y", None, 1, "922337203685")];
        let got = evaluate(&p, &CustomerState::default(), &order("2026-01-01 10:00", "922337203685", &lines));
        assert_eq!(got.points, 9_223_372_036_850_000);
        assert!(!got.in_range());
        let lines = [line("Y", None, 1, "100000000")];
        let got = evaluate(&p, &CustomerState::default(), &order("2026-01-01 10:00", "100000000", &lines));
        assert_eq!((got.points, got.in_range()), (crate::POINTS_LIMIT, true));
    }

    #[test]
    fn a_part_beyond_the_limit_is_out_of_range_even_when_a_cap_brings_the_total_back() {
        let p = program(
            r#"{"name": "big", "earning": {"points_per_unit": 1, "max_points_per_order": 100},
              "rules": [{"name": "each", "when": {"skus": ["X"]}, "points_per_item": 1000000000000}]}"#,
        );
        let lines = [line("X", None, 10, "10")];
        let got = evaluate(&p, &CustomerState::default(), &order("2026-01-01 10:00", "10", &lines));
        assert_eq!(got.points, 100);
        assert!(!got.in_range(), "the rule's part is 10¹³: {:?}", got.parts);
    }

    #[test]
    fn shipping_above_the_lines_never_earns_and_excluded_skus_earn_nothing() {
        let p = program(r#"{"name": "x", "earning": {"points_per_unit": 1, "exclude_skus": ["GIFT"]}}"#);
        let lines = [line("A", None, 1, "100")];
        assert_eq!(evaluate(&p, &CustomerState::default(), &order("2026-01-01 10:00", "110", &lines)).points, 100);
        let lines = [line("A", None, 1, "100"), line("GIFT", None, 1, "50")];
        let got = evaluate(&p, &CustomerState::default(), &order("2026-01-01 10:00", "150", &lines));
        assert_eq!((got.points, got.eligible), (100, 1_000_000));
        let only_gift = [line("GIFT", None, 1, "50")];
        let got = evaluate(&p, &CustomerState::default(), &order("2026-01-01 10:00", "50", &only_gift));
        assert_eq!((got.points, got.parts.len()), (0, 0), "no eligible spend: no breakdown");
    }

    #[test]
    fn the_breakdown_always_starts_with_the_base_line_even_at_zero() {
        let p = program(
            r#"{"name": "z", "earning": {"points_per_unit": 0},
              "rules": [{"name": "visit", "when": {}, "bonus": 5}]}"#,
        );
        let lines = [line("A", None, 1, "10")];
        let got = evaluate(&p, &CustomerState::default(), &order("2026-01-01 10:00", "10", &lines));
        assert_eq!(got.parts, [Part { source: Source::Base, points: 0 }, Part { source: Source::Rule(0), points: 5 }]);
    }

    #[test]
    fn a_rules_minimum_order_counts_from_exactly_the_minimum() {
        let p = program(
            r#"{"name": "m", "earning": {"points_per_unit": 1},
              "rules": [{"name": "big basket", "when": {"minimum_order": "50"}, "bonus": 20}]}"#,
        );
        assert_eq!(earn(&p, "2026-01-01 10:00", "50"), 70);
        assert_eq!(earn(&p, "2026-01-01 10:00", "49.99"), 49);
    }

    #[test]
    fn a_paid_membership_multiplies_the_base_points() {
        let p = program(r#"{"name": "m", "earning": {"points_per_unit": 1}}"#);
        let lines = [line("A", None, 1, "100")];
        let o = order("2026-01-01 10:00", "100", &lines);
        let member = CustomerState { membership_multiplier: Some(Rate(15_000)), ..Default::default() };
        let got = evaluate(&p, &member, &o);
        assert_eq!(got.points, 150);
        assert_eq!(got.parts[1], Part { source: Source::Membership, points: 50 });
        let flat = CustomerState { membership_multiplier: Some(Rate(Rate::ONE)), ..Default::default() };
        assert_eq!(evaluate(&p, &flat, &o).parts.len(), 1, "×1 adds no line");
    }

    #[test]
    fn a_stamp_card_counts_only_its_categories_from_exactly_its_minimum() {
        let p = program(
            r#"{"name": "s", "earning": {"points_per_unit": 1},
              "rewards": [{"id": "free", "name": "Free coffee", "cost": 0, "kind": "free_item", "sku": "COFFEE"}],
              "stamp_cards": [{"id": "c", "name": "coffee card", "stamps": 5, "minimum_spend": "3",
                               "categories": ["coffee"], "reward": "free"}]}"#,
        );
        let stamps = |lines: &[LineFacts<'_>], total: &str| {
            evaluate(&p, &CustomerState::default(), &order("2026-01-01 10:00", total, lines)).stamps.len()
        };
        assert_eq!(stamps(&[line("LATTE", Some("coffee"), 1, "3")], "3"), 1, "exactly the minimum");
        assert_eq!(stamps(&[line("LATTE", Some("coffee"), 1, "2.99")], "2.99"), 0);
        assert_eq!(stamps(&[line("CAKE", Some("food"), 1, "9")], "9"), 0, "other categories do not count");
        assert_eq!(stamps(&[line("CAKE", Some("food"), 1, "9"), line("LATTE", Some("coffee"), 1, "3")], "12"), 1);
        let any_spend = program(
            r#"{"name": "s", "earning": {"points_per_unit": 1},
              "rewards": [{"id": "free", "name": "Free coffee", "cost": 0, "kind": "free_item", "sku": "COFFEE"}],
              "stamp_cards": [{"id": "c", "name": "coffee card", "stamps": 5, "categories": ["coffee"], "reward": "free"}]}"#,
        );
        let free = [line("LATTE", Some("coffee"), 1, "0"), line("CAKE", Some("food"), 1, "9")];
        let got = evaluate(&any_spend, &CustomerState::default(), &order("2026-01-01 10:00", "9", &free));
        assert!(got.stamps.is_empty(), "a free coffee earns no stamp");
    }

    #[test]
    fn staying_in_a_tier_is_no_tier_change_and_thresholds_are_inclusive() {
        let p = program(
            r#"{"name": "t", "earning": {"points_per_unit": 1},
              "tiers": {"basis": "spend", "window": {"rolling_days": 365},
                "levels": [{"id": "member", "name": "Member", "threshold": "0"},
                           {"id": "silver", "name": "Silver", "threshold": "100"},
                           {"id": "gold", "name": "Gold", "threshold": "500"}]}}"#,
        );
        assert_eq!(tier_for(&p, 0), Some(0));
        assert_eq!(tier_for(&p, 999_999), Some(0));
        assert_eq!(tier_for(&p, 1_000_000), Some(1));
        assert_eq!(tier_for(&p, 5_000_000), Some(2));
        assert_eq!(tier_for(&program(CLASSIC), 5_000_000), None, "no tiers");
        let lines = [line("A", None, 1, "10")];
        let silver = CustomerState { tier: Some(1), tier_progress: 2_000_000, ..Default::default() };
        assert_eq!(evaluate(&p, &silver, &order("2026-01-01 10:00", "10", &lines)).tier, None);
    }

    #[test]
    fn caps_cut_and_show_in_the_breakdown() {
        let p = program(
            r#"{"name": "c", "earning": {"points_per_unit": 1, "max_points_per_order": 100, "max_points_per_day": 150}}"#,
        );
        let lines = [line("X", None, 1, "300")];
        let o = order("2026-01-01 10:00", "300", &lines);
        assert_eq!(evaluate(&p, &CustomerState::default(), &o).points, 100);
        let state = CustomerState { earned_today: 120, ..CustomerState::default() };
        let got = evaluate(&p, &state, &o);
        assert_eq!(got.points, 30);
        assert_eq!(got.parts.iter().map(|x| x.points).sum::<i64>(), 30);
    }

    #[test]
    fn stamps_once_a_day_and_cards_restart() {
        let p = program(
            r#"{"name": "s", "earning": {"points_per_unit": 0},
              "rewards": [{"id": "free", "name": "Free coffee", "cost": 0, "kind": "free_item", "sku": "COFFEE"}],
              "stamp_cards": [{"id": "c", "name": "card", "stamps": 3, "minimum_spend": "3", "reward": "free"}]}"#,
        );
        let lines = [line("X", None, 1, "4")];
        let o = order("2026-01-01 10:00", "4", &lines);
        let first = evaluate(&p, &CustomerState::default(), &o);
        assert_eq!(first.stamps[0].after.stamps, 1);
        let same_day = CustomerState { cards: vec![first.stamps[0].after], ..Default::default() };
        assert!(evaluate(&p, &same_day, &o).stamps.is_empty());
        let third =
            CustomerState { cards: vec![CardState { stamps: 2, last_day: Some(o.day - 1) }], ..Default::default() };
        let got = evaluate(&p, &third, &o);
        assert!(got.stamps[0].completed);
        assert_eq!(got.stamps[0].after.stamps, 0);
        let small = [line("X", None, 1, "2.99")];
        assert!(evaluate(&p, &CustomerState::default(), &order("2026-01-01 10:00", "2.99", &small)).stamps.is_empty());
    }

    #[test]
    fn tiers_upgrade_and_multiply() {
        let p = program(
            r#"{"name": "t", "earning": {"points_per_unit": 1},
              "tiers": {"basis": "spend", "window": {"rolling_days": 365},
                "levels": [{"id": "member", "name": "Member", "threshold": "0"},
                           {"id": "gold", "name": "Gold", "threshold": "500", "multiplier": "1.5"}]},
              "promotions": [{"id": "g", "name": "Gold bonus", "starts": "2026-01-01", "ends": "2027-01-01",
                              "bonus": 7, "tiers": ["gold"]}]}"#,
        );
        let lines = [line("X", None, 1, "100")];
        let o = order("2026-03-01 10:00", "100", &lines);
        let st = CustomerState { tier: Some(0), tier_progress: 4_500_000, ..Default::default() };
        let got = evaluate(&p, &st, &o);
        assert_eq!(got.tier, Some(TierChange { from: Some(0), to: 1 }));
        assert_eq!(got.points, 100, "the new tier applies from the next order");
        let gold = CustomerState { tier: Some(1), ..Default::default() };
        assert_eq!(evaluate(&p, &gold, &o).points, 100 + 50 + 7);
    }

    #[test]
    fn promotion_budget_is_respected() {
        let p = program(
            r#"{"name": "b", "earning": {"points_per_unit": 1},
              "promotions": [{"id": "p", "name": "p", "starts": "2026-01-01", "ends": "2026-02-01",
                              "multiplier": 3, "budget_points": 100}]}"#,
        );
        let lines = [line("X", None, 1, "40")];
        let o = order("2026-01-10 10:00", "40", &lines);
        assert_eq!(evaluate(&p, &CustomerState::default(), &o).points, 40 + 80);
        let st = CustomerState { promotion_spent: vec![70], ..Default::default() };
        assert_eq!(evaluate(&p, &st, &o).points, 40 + 30);
    }

    #[test]
    fn reversals_are_proportional_and_complete() {
        assert_eq!(reversal_due(57, 574_000, 574_000, 0), 57);
        assert_eq!(reversal_due(57, 574_000, 287_000, 0), 29);
        assert_eq!(reversal_due(57, 574_000, 574_000, 29), 28);
        assert_eq!(reversal_due(0, 0, 0, 0), 0);
        assert_eq!(reversal_due(57, 574_000, 600_000, 0), 57, "refunding more than the total takes back all");
    }

    #[test]
    fn expiry_policies() {
        let clock = BusinessClock::new("Asia/Tokyo").unwrap();
        let at = clock.parse_timestamp("2026-03-15 10:00").unwrap();
        assert_eq!(expires_at(Expiry::Never, at, &clock), None);
        assert_eq!(
            expires_at(Expiry::MonthsAfterEarning { months: 12 }, at, &clock),
            Some(clock.parse_timestamp("2027-03-15 10:00").unwrap())
        );
        assert_eq!(
            expires_at(Expiry::EndOfFollowingYear, at, &clock),
            Some(clock.parse_timestamp("2028-01-01").unwrap())
        );
    }

    #[test]
    fn bad_documents_name_the_field() {
        let clock = BusinessClock::default();
        let bad = |json: &str| Program::parse(json, &clock).unwrap_err();
        assert_eq!(bad(r#"{"name": "x", "earning": {"points_per_unit": -1}}"#).path, "earning.points_per_unit");
        assert_eq!(
            bad(r#"{"name": "x", "earning": {"points_per_unit": "1", "minimum_order": "abc"}}"#).path,
            "earning.minimum_order"
        );
        assert_eq!(bad(r#"{"name": "x", "earning": {"points_per_unit": 1, "bogus": 1}}"#).path, "earning.bogus");
        assert_eq!(
            bad(r#"{"name": "x", "earning": {"points_per_unit": 1}, "rules": [{"name": "r", "multiplier": 0.5}]}"#)
                .path,
            "rules[0].multiplier"
        );
        let e = bad(
            r#"{"name": "x", "earning": {"points_per_unit": 1}, "stamp_cards": [{"id": "c", "name": "c", "stamps": 5, "reward": "nope"}]}"#,
        );
        assert_eq!(e.path, "stamp_cards[0].reward");
        let e = bad(
            r#"{"name": "x", "earning": {"points_per_unit": 1}, "promotions": [{"id": "p", "name": "p", "starts": "2026-01-02", "ends": "2026-01-01", "bonus": 1}]}"#,
        );
        assert_eq!(e.path, "promotions[0].ends");
        assert_eq!(bad("{").path, "document");
    }

    #[test]
    fn an_order_that_earns_nothing_says_why() {
        let p = program(
            r#"{"name": "x", "earning": {"points_per_unit": 0.01, "minimum_order": "10", "exclude_skus": ["GIFT"],
                "max_points_per_day": 5}}"#,
        );
        let why = |amount: &str, sku: &'static str| {
            let lines = [line(sku, None, 1, amount)];
            why_no_points(&p, &order("2026-03-01 12:00", amount, &lines))
        };
        assert_eq!(why("9.99", "A"), NoPoints::BelowMinimum("10".parse().unwrap()));
        assert_eq!(why("50", "GIFT"), NoPoints::NothingEligible);
        assert_eq!(why("50", "A"), NoPoints::TooSmall, "half a point rounds down");
        assert_eq!(why("400", "A"), NoPoints::Capped, "4 points a fresh customer would earn: the day's cap took them");
    }
}
