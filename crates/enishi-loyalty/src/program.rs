//! The programme document (JSON, see docs/loyalty.md) and its validation into a [`Program`]
//! the engine can run.

use crate::Rate;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use enishi_core::{Amount, BusinessClock, Language};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

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

/// A name in the console's languages, by language code (`ja`, `en`):
/// `{"ja": "ゴールド", "en": "Gold"}`.
pub type Names = BTreeMap<String, String>;

macro_rules! named {
    ($($t:ty),+) => {
        $(impl $t {
            /// The name to show in `lang`: its own in `names`, or `name`.
            pub fn name_in(&self, lang: Language) -> &str {
                self.names.get(lang.as_str()).map_or(self.name.as_str(), String::as_str)
            }
        })+
    };
}
named!(Promotion, StampCard, TierLevel, Reward, MembershipPlan);

/// Refuses a language the console does not speak, or an empty name, in `names`.
fn names_ok(path: &str, names: &Names) -> Result<(), ProgramError> {
    for (lang, name) in names {
        if !Language::ALL.iter().any(|l| l.as_str() == lang) {
            let known: Vec<&str> = Language::ALL.iter().map(|l| l.as_str()).collect();
            return Err(err(format!("{path}.names"), format!("'{lang}' is not one of: {}", known.join(", "))));
        }
        if name.trim().is_empty() {
            return Err(err(format!("{path}.names.{lang}"), "must not be empty"));
        }
    }
    Ok(())
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

/// A day of the week, written `mon` … `sun` (or in full, `monday` … `sunday`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Weekday {
    /// Monday.
    #[serde(rename = "mon", alias = "monday")]
    Mon,
    /// Tuesday.
    #[serde(rename = "tue", alias = "tuesday")]
    Tue,
    /// Wednesday.
    #[serde(rename = "wed", alias = "wednesday")]
    Wed,
    /// Thursday.
    #[serde(rename = "thu", alias = "thursday")]
    Thu,
    /// Friday.
    #[serde(rename = "fri", alias = "friday")]
    Fri,
    /// Saturday.
    #[serde(rename = "sat", alias = "saturday")]
    Sat,
    /// Sunday.
    #[serde(rename = "sun", alias = "sunday")]
    Sun,
}

impl Weekday {
    /// Days from Monday (Monday 0, Sunday 6).
    pub fn index(self) -> u32 {
        self as u32
    }

    /// The chrono weekday.
    pub fn chrono(self) -> chrono::Weekday {
        match self {
            Weekday::Mon => chrono::Weekday::Mon,
            Weekday::Tue => chrono::Weekday::Tue,
            Weekday::Wed => chrono::Weekday::Wed,
            Weekday::Thu => chrono::Weekday::Thu,
            Weekday::Fri => chrono::Weekday::Fri,
            Weekday::Sat => chrono::Weekday::Sat,
            Weekday::Sun => chrono::Weekday::Sun,
        }
    }
}

/// When a recurring promotion repeats: on these weekdays, from one wall-clock time until
/// another, in the business time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// The weekdays its occurrences start on (not empty, each once).
    pub weekdays: Vec<Weekday>,
    /// Local time each occurrence starts, `HH:MM` (inclusive).
    pub from: String,
    /// Local time it ends, `HH:MM` (exclusive); `24:00` is midnight at the end of the day,
    /// and a time at or before `from` ends on the next day (`22:00` until `02:00`).
    pub until: String,
}

/// A promotion, read in the business time zone: one window (`starts` to `ends`), or an
/// occurrence every week (`repeat`), optionally between `starts` and `ends`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    /// Stable id (reports and announcements use it).
    pub id: String,
    /// Name shown in the breakdown.
    pub name: String,
    /// The name in the console's languages (`{"ja": "…", "en": "…"}`); `name` is shown
    /// where a language has none.
    #[serde(default, skip_serializing_if = "Names::is_empty")]
    pub names: Names,
    /// First instant (local time such as `2026-11-27 18:00`, or RFC 3339); required unless
    /// the promotion repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts: Option<String>,
    /// First instant after it; required unless the promotion repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends: Option<String>,
    /// Weekly occurrences (a recurring promotion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
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
    /// Only members of this saved segment, as of the close of the business day before the
    /// order (so every order of a day sees the same members, whatever order they arrive in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
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
    /// The name in the console's languages (`{"ja": "…", "en": "…"}`); `name` is shown
    /// where a language has none.
    #[serde(default, skip_serializing_if = "Names::is_empty")]
    pub names: Names,
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
    /// The name in the console's languages (`{"ja": "…", "en": "…"}`); `name` is shown
    /// where a language has none.
    #[serde(default, skip_serializing_if = "Names::is_empty")]
    pub names: Names,
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

/// The welcome perk of a customer who joins on the public join page (docs/join.md): bonus
/// points and/or a catalogue reward issued as a coupon (a first-purchase perk), given once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// Bonus points.
    #[serde(default)]
    pub points: i64,
    /// Or a reward (catalogue id) issued as a coupon.
    #[serde(default)]
    pub reward: Option<String>,
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
    /// The name in the console's languages (`{"ja": "…", "en": "…"}`); `name` is shown
    /// where a language has none.
    #[serde(default, skip_serializing_if = "Names::is_empty")]
    pub names: Names,
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
    /// Only for members of this saved segment on the day they redeem it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
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
    /// The name in the console's languages (`{"ja": "…", "en": "…"}`); `name` is shown
    /// where a language has none.
    #[serde(default, skip_serializing_if = "Names::is_empty")]
    pub names: Names,
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

/// How a personal offer's coupon picks its product for each customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductChoice {
    /// The product the customer bought the most units of in the last 365 days (on a tie,
    /// the one bought last).
    MostBought,
}

/// A personal offer: a coupon or bonus points given to each member of a saved segment when
/// it is issued, once per customer and round (issuing a round again gives nobody a second).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// Stable id (the idempotency keys use it).
    pub id: String,
    /// Name shown to staff and customers.
    pub name: String,
    /// The saved segment whose members get it, as of the day it is issued.
    pub segment: String,
    /// The catalogue reward whose coupon each member gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<String>,
    /// Bonus points each member gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
    /// Days the coupon, or the points, stay valid after issue.
    #[serde(default = "default_offer_days")]
    pub valid_days: i64,
    /// The coupon's product, chosen per customer from their purchases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductChoice>,
    /// With `product`: only products in these categories count (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_categories: Vec<String>,
}

fn default_offer_days() -> i64 {
    30
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
    /// The welcome perk of the join page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<Join>,
    /// Rewards catalogue.
    #[serde(default)]
    pub rewards: Vec<Reward>,
    /// Paid membership plans.
    #[serde(default)]
    pub memberships: Vec<MembershipPlan>,
    /// Personal offers for the members of a segment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offers: Vec<Offer>,
}

/// A recurring promotion's schedule, read: which weekdays, and the wall-clock times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekly {
    /// Bit `i` set: an occurrence starts on weekday `i` (Monday 0).
    days: u8,
    /// Local start time.
    from: NaiveTime,
    /// Local end time; at or before `from` (or 24:00, held as 00:00) it is on the next day.
    until: NaiveTime,
}

impl Weekly {
    /// Whether an occurrence starts on this weekday.
    pub fn on(&self, day: chrono::Weekday) -> bool {
        self.days & (1 << day.num_days_from_monday()) != 0
    }

    /// The occurrence's local start time.
    pub fn from(&self) -> NaiveTime {
        self.from
    }

    /// The occurrence's local end time.
    pub fn until(&self) -> NaiveTime {
        self.until
    }

    /// Whether an occurrence ends on the day after it starts.
    pub fn crosses_midnight(&self) -> bool {
        self.until <= self.from
    }

    /// The occurrence that starts on local date `date`, as instants `[start, end)`, whether or
    /// not an occurrence starts on its weekday. Each boundary is the first instant at which
    /// the business clock reads that local time or later (see
    /// [`BusinessClock::first_instant_from`]).
    pub fn occurrence_on(&self, date: NaiveDate, clock: &BusinessClock) -> (DateTime<Utc>, DateTime<Utc>) {
        let end_date = if self.crosses_midnight() { date.succ_opt().unwrap_or(date) } else { date };
        (clock.first_instant_from(date.and_time(self.from)), clock.first_instant_from(end_date.and_time(self.until)))
    }

    /// The occurrence, `[start, end)`, that holds the instant `at`, if any.
    pub fn occurrence_at(&self, at: DateTime<Utc>, clock: &BusinessClock) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let today = clock.local_datetime(at).date();
        // The occurrence that starts the day before may still run (it crosses midnight); one
        // that starts the next day may already run where daylight saving turns the clock back
        // across midnight.
        [today.pred_opt(), Some(today), today.succ_opt()]
            .into_iter()
            .flatten()
            .filter(|d| self.on(d.weekday()))
            .map(|d| self.occurrence_on(d, clock))
            .find(|(start, end)| *start <= at && at < *end)
    }
}

/// A promotion with its window read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionWindow {
    /// First instant (none: a recurring promotion without an overall start).
    pub starts: Option<DateTime<Utc>>,
    /// First instant after it (none: a recurring promotion without an overall end).
    pub ends: Option<DateTime<Utc>>,
    /// The weekly schedule of a recurring promotion.
    pub weekly: Option<Weekly>,
}

impl PromotionWindow {
    /// Whether the promotion is on at `at`: within its overall window and, when it
    /// repeats, within one of its occurrences. Start inclusive, end exclusive.
    pub fn active_at(&self, at: DateTime<Utc>, clock: &BusinessClock) -> bool {
        self.starts.is_none_or(|s| s <= at)
            && self.ends.is_none_or(|e| at < e)
            && self.weekly.is_none_or(|w| w.occurrence_at(at, clock).is_some())
    }
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
    /// The business clock its times were read with (recurring promotions follow it).
    pub clock: BusinessClock,
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
            names_ok(&p, &r.names)?;
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
            segment_name(&format!("{p}.segment"), r.segment.as_deref())?;
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
                    names_ok(&format!("tiers.levels[{i}]"), &l.names)?;
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
            names_ok(&p, &pr.names)?;
            let instant = |field: &str, value: &Option<String>| -> Result<Option<DateTime<Utc>>, ProgramError> {
                match value {
                    Some(v) => clock.parse_timestamp(v).map(Some).map_err(|e| err(format!("{p}.{field}"), e.0)),
                    None if pr.repeat.is_none() => {
                        Err(err(format!("{p}.{field}"), "is required (or give repeat for a recurring promotion)"))
                    }
                    None => Ok(None),
                }
            };
            let starts = instant("starts", &pr.starts)?;
            let ends = instant("ends", &pr.ends)?;
            if let (Some(s), Some(e)) = (starts, ends) {
                if e <= s {
                    return Err(err(format!("{p}.ends"), "must be after starts"));
                }
            }
            let weekly = pr.repeat.as_ref().map(|r| weekly(&format!("{p}.repeat"), r)).transpose()?;
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
            segment_name(&format!("{p}.segment"), pr.segment.as_deref())?;
            windows.push(PromotionWindow { starts, ends, weekly });
        }

        unique_ids("stamp_cards", doc.stamp_cards.iter().map(|c| c.id.as_str()))?;
        for (i, c) in doc.stamp_cards.iter().enumerate() {
            let p = format!("stamp_cards[{i}]");
            names_ok(&p, &c.names)?;
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
        if let Some(j) = &doc.join {
            non_negative("join.points", Some(j.points))?;
            if let Some(r) = &j.reward {
                reward_ref("join.reward".into(), r)?;
            }
            if j.points == 0 && j.reward.is_none() {
                return Err(err("join", "needs points or a reward"));
            }
        }
        unique_ids("memberships", doc.memberships.iter().map(|m| m.id.as_str()))?;
        for (i, m) in doc.memberships.iter().enumerate() {
            names_ok(&format!("memberships[{i}]"), &m.names)?;
            if m.fee.is_negative() {
                return Err(err(format!("memberships[{i}].fee"), "must not be negative"));
            }
            multiplier(&format!("memberships[{i}].multiplier"), m.multiplier)?;
        }
        unique_ids("offers", doc.offers.iter().map(|o| o.id.as_str()))?;
        for (i, o) in doc.offers.iter().enumerate() {
            let p = format!("offers[{i}]");
            if o.name.trim().is_empty() {
                return Err(err(format!("{p}.name"), "must not be empty"));
            }
            segment_name(&format!("{p}.segment"), Some(&o.segment))?;
            match (&o.reward, o.points) {
                (Some(r), None) => reward_ref(format!("{p}.reward"), r)?,
                (None, Some(points)) => {
                    positive(&format!("{p}.points"), Some(points))?;
                    if o.product.is_some() {
                        return Err(err(format!("{p}.product"), "only a coupon (reward) names a product"));
                    }
                }
                _ => return Err(err(p, "needs a reward or points (one of them)")),
            }
            if !(1..=3650).contains(&o.valid_days) {
                return Err(err(format!("{p}.valid_days"), "must be between 1 and 3650"));
            }
            if o.product.is_none() && !o.product_categories.is_empty() {
                return Err(err(format!("{p}.product_categories"), "needs product"));
            }
        }
        let effective_from = doc
            .effective_from
            .as_deref()
            .map(|t| clock.parse_timestamp(t).map_err(|e| err("effective_from", e.0)))
            .transpose()?;
        Ok(Program { doc, windows, effective_from, clock: *clock })
    }

    /// The index of the tier with this id.
    pub fn tier_index(&self, id: &str) -> Option<usize> {
        self.doc.tiers.as_ref()?.levels.iter().position(|l| l.id == id)
    }

    /// The catalogue entry with this id.
    pub fn reward(&self, id: &str) -> Option<&Reward> {
        self.doc.rewards.iter().find(|r| r.id == id)
    }

    /// For each promotion, in document order, the segment it is limited to when it is running
    /// at `at` (`None` for one open to everyone or not running then): what evaluating an order
    /// placed at `at` needs to know of segments.
    pub fn running_segments(&self, at: DateTime<Utc>) -> impl Iterator<Item = Option<&str>> {
        self.doc
            .promotions
            .iter()
            .zip(&self.windows)
            .map(move |(pr, w)| pr.segment.as_deref().filter(|_| w.active_at(at, &self.clock)))
    }

    /// The personal offer with this id.
    pub fn offer(&self, id: &str) -> Option<&Offer> {
        self.doc.offers.iter().find(|o| o.id == id)
    }

    /// The saved segments the document names, each with the path of the field that names it
    /// (`promotions[0].segment`), in document order.
    pub fn segments(&self) -> Vec<(String, &str)> {
        let promotions = self.doc.promotions.iter().enumerate();
        let promotions =
            promotions.filter_map(|(i, p)| Some((format!("promotions[{i}].segment"), p.segment.as_deref()?)));
        let rewards = self.doc.rewards.iter().enumerate();
        let rewards = rewards.filter_map(|(i, r)| Some((format!("rewards[{i}].segment"), r.segment.as_deref()?)));
        let offers =
            self.doc.offers.iter().enumerate().map(|(i, o)| (format!("offers[{i}].segment"), o.segment.as_str()));
        promotions.chain(rewards).chain(offers).collect()
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

/// Reads a wall-clock time `HH:MM` (two digits each); `24:00` only where `midnight_ok`.
fn wall_time(path: &str, s: &str, midnight_ok: bool) -> Result<NaiveTime, ProgramError> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 5 || b[2] != b':' || !digits(0..2) || !digits(3..5) {
        return Err(err(path, format!("'{s}' is not a time of day HH:MM (such as 14:00)")));
    }
    let (h, m) =
        (u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0'), u32::from(b[3] - b'0') * 10 + u32::from(b[4] - b'0'));
    if midnight_ok && h == 24 && m == 0 {
        return Ok(NaiveTime::MIN);
    }
    NaiveTime::from_hms_opt(h, m, 0).filter(|_| h < 24).ok_or_else(|| {
        let most = if midnight_ok { "24:00" } else { "23:59" };
        err(path, format!("'{s}' is not a time of day (00:00 to {most})"))
    })
}

fn weekly(path: &str, r: &Repeat) -> Result<Weekly, ProgramError> {
    if r.weekdays.is_empty() {
        return Err(err(format!("{path}.weekdays"), "needs at least one weekday (mon, tue, wed, thu, fri, sat, sun)"));
    }
    let mut days = 0u8;
    for (i, d) in r.weekdays.iter().enumerate() {
        let bit = 1 << d.index();
        if days & bit != 0 {
            return Err(err(format!("{path}.weekdays[{i}]"), format!("'{}' is listed twice", weekday_name(*d))));
        }
        days |= bit;
    }
    let from = wall_time(&format!("{path}.from"), &r.from, false)?;
    let until = wall_time(&format!("{path}.until"), &r.until, true)?;
    if until == from && r.until != "24:00" {
        return Err(err(
            format!("{path}.until"),
            "must differ from from (an earlier time ends the next day; a whole day is 00:00 until 24:00)",
        ));
    }
    Ok(Weekly { days, from, until })
}

fn weekday_name(d: Weekday) -> String {
    serde_json::to_value(d).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
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

/// A saved segment's name as a document may give it: 1 to 200 characters, no control
/// characters, no space around it (whether the segment exists is checked when applying).
fn segment_name(path: &str, name: Option<&str>) -> Result<(), ProgramError> {
    match name {
        Some(n)
            if n.trim().is_empty() || n.trim() != n || n.chars().count() > 200 || n.chars().any(char::is_control) =>
        {
            Err(err(path, "must be a saved segment's name (1 to 200 characters, no space around it)"))
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
    fn names_in_the_console_languages_are_optional_and_fall_back_to_name() {
        let doc = with(json!({
            "rewards": [{"id": "r", "name": "Free coffee", "names": {"ja": "コーヒー1杯無料"}, "cost": 10,
                         "kind": "free_item", "sku": "COFFEE"}],
            "tiers": {"basis": "spend", "window": "calendar_year",
                      "levels": [{"id": "m", "name": "Member", "names": {"ja": "メンバー", "en": "Member+"}, "threshold": "0"}]},
            "stamp_cards": [{"id": "c", "name": "Card", "stamps": 5, "reward": "r"}]
        }));
        let p = parse(&doc).unwrap();
        let r = &p.doc.rewards[0];
        assert_eq!((r.name_in(Language::Ja), r.name_in(Language::En)), ("コーヒー1杯無料", "Free coffee"));
        let level = &p.doc.tiers.as_ref().unwrap().levels[0];
        assert_eq!((level.name_in(Language::Ja), level.name_in(Language::En)), ("メンバー", "Member+"));
        assert_eq!(p.doc.stamp_cards[0].name_in(Language::Ja), "Card");
        assert!(!p.to_json().contains("\"names\": {}"), "no names are written as none: {}", p.to_json());
        assert_eq!(Program::parse(&p.to_json(), &BusinessClock::default()).unwrap(), p);
        for (part, path) in [
            (
                json!({"memberships": [{"id": "v", "name": "V", "names": {"ja": " "}, "fee": "1", "period": "monthly"}]}),
                "memberships[0].names.ja",
            ),
            (
                json!({"promotions": [{"id": "p", "name": "P", "names": {"fr": "Promo"}, "bonus": 1,
                                    "starts": "2026-01-01", "ends": "2026-02-01"}]}),
                "promotions[0].names",
            ),
        ] {
            assert_eq!(parse(&with(part)).err().map(|e| e.path), Some(path.to_string()));
        }
    }

    #[test]
    fn a_join_perk_needs_points_or_a_reward_of_the_catalogue() {
        for (part, path) in [
            (json!({"join": {}}), "join"),
            (json!({"join": {"points": -1}}), "join.points"),
            (json!({"join": {"reward": "none"}}), "join.reward"),
        ] {
            assert_eq!(parse(&with(part)).err().map(|e| e.path), Some(path.to_string()));
        }
        assert!(parse(&with(json!({"join": {"points": 1, "extra": 1}}))).is_err(), "unknown fields");
        let mut doc = reward(json!({"cost": 0}));
        doc["join"] = json!({"points": 100, "reward": "r"});
        let p = parse(&doc).unwrap();
        assert_eq!(p.doc.join, Some(Join { points: 100, reward: Some("r".into()) }));
        assert!(parse(&with(json!({}))).unwrap().doc.join.is_none());
    }

    fn recurring(fields: Value) -> Value {
        let mut pr = json!({"id": "happy", "name": "Happy hour", "multiplier": 2,
                            "repeat": {"weekdays": ["tue", "wed"], "from": "14:00", "until": "17:00"}});
        for (k, v) in fields.as_object().unwrap() {
            if k == "repeat" {
                for (rk, rv) in v.as_object().unwrap() {
                    pr["repeat"][rk] = rv.clone();
                }
            } else {
                pr[k] = v.clone();
            }
        }
        with(json!({"promotions": [pr]}))
    }

    #[test]
    fn a_recurring_promotion_refuses_bad_weekdays_and_times_by_path() {
        let repeat = |r: Value| recurring(json!({ "repeat": r }));
        for (doc, path, reason) in [
            (repeat(json!({"weekdays": []})), "promotions[0].repeat.weekdays", "needs at least one weekday"),
            (
                repeat(json!({"weekdays": ["tue", "wed", "tuesday"]})),
                "promotions[0].repeat.weekdays[2]",
                "'tue' is listed twice",
            ),
            (repeat(json!({"weekdays": ["tues"]})), "promotions[0].repeat.weekdays[0]", "unknown variant"),
            (repeat(json!({"from": "2pm"})), "promotions[0].repeat.from", "is not a time of day HH:MM"),
            (repeat(json!({"from": "9:00"})), "promotions[0].repeat.from", "is not a time of day HH:MM"),
            (repeat(json!({"from": "14:00:00"})), "promotions[0].repeat.from", "is not a time of day HH:MM"),
            (repeat(json!({"from": "24:00"})), "promotions[0].repeat.from", "00:00 to 23:59"),
            (repeat(json!({"until": "17:60"})), "promotions[0].repeat.until", "00:00 to 24:00"),
            (repeat(json!({"until": "24:01"})), "promotions[0].repeat.until", "00:00 to 24:00"),
            (repeat(json!({"until": "14:00"})), "promotions[0].repeat.until", "must differ from from"),
            (repeat(json!({"from": "00:00", "until": "00:00"})), "promotions[0].repeat.until", "00:00 until 24:00"),
            (repeat(json!({"from": null})), "promotions[0].repeat.from", "invalid type"),
            (
                recurring(json!({"starts": "2026-12-08", "ends": "2026-12-08"})),
                "promotions[0].ends",
                "must be after starts",
            ),
            (recurring(json!({"starts": "2026-12-32"})), "promotions[0].starts", "is not a date or time"),
            (
                with(json!({"promotions": [{"id": "p", "name": "p", "ends": "2026-12-08", "bonus": 1}]})),
                "promotions[0].starts",
                "is required",
            ),
            (
                with(json!({"promotions": [{"id": "p", "name": "p", "starts": "2026-12-08", "bonus": 1}]})),
                "promotions[0].ends",
                "is required",
            ),
            (recurring(json!({"multiplier": null})), "promotions[0]", "needs a multiplier or a bonus"),
        ] {
            match parse(&doc) {
                Err(e) => {
                    assert_eq!(e.path, path, "{doc}");
                    assert!(e.reason.contains(reason), "{e} should say {reason}");
                }
                Ok(_) => panic!("accepted: {doc}"),
            }
        }
        for doc in [
            recurring(json!({})),
            repeat(json!({"weekdays": ["monday", "sun"]})),
            repeat(json!({"from": "22:00", "until": "02:00"})),
            repeat(json!({"from": "18:00", "until": "00:00"})),
            repeat(json!({"from": "00:00", "until": "24:00"})),
            repeat(json!({"from": "23:59", "until": "24:00"})),
            recurring(json!({"starts": "2026-12-01"})),
            recurring(json!({"ends": "2026-12-01"})),
            recurring(json!({"starts": "2026-12-01", "ends": "2027-01-01", "budget_points": 100, "tiers": []})),
        ] {
            let p = parse(&doc).unwrap_or_else(|e| panic!("refused: {doc}: {e}"));
            let again = Program::parse(&p.to_json(), &BusinessClock::default()).unwrap();
            assert_eq!(again, p, "the document written back reads the same");
        }
        let p = parse(&repeat(json!({"weekdays": ["tuesday", "wed"], "from": "22:00", "until": "02:00"}))).unwrap();
        let w = p.windows[0].weekly.unwrap();
        assert!(w.on(chrono::Weekday::Tue) && w.on(chrono::Weekday::Wed) && !w.on(chrono::Weekday::Thu));
        assert!(w.crosses_midnight());
        assert_eq!((p.windows[0].starts, p.windows[0].ends), (None, None));
        assert!(p.to_json().contains(r#""tue""#), "weekdays are written back short: {}", p.to_json());
        assert!(!p.to_json().contains("starts"), "no overall start is written as none");
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
