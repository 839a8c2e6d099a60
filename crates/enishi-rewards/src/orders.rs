//! What an order earns.

use crate::books::{Live, OrderBatch, OrderBooks};
use crate::codes::{coupon_code, referee_key, referrer_key};
use crate::programs::Programs;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use enishi_core::{Amount, Channel};
use enishi_loyalty::program::{TierWindow, Tiers};
use enishi_loyalty::{evaluate, expires_at, CustomerState, LineFacts, OrderFacts, Program, Source};
use enishi_store::repo::loyalty::{self, Coupon, Entry, LoyaltyAccount, NewEntry, OrderEffect, TierChangeRecord};
use enishi_store::{Conn, NewOrder, Order, OrderLine, StoreError};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// One line of an order's points breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakdownLine {
    /// base, rule, tier, membership, promotion, order_cap, day_cap.
    pub source: String,
    /// The rule's, tier's or promotion's name.
    pub name: String,
    /// Points.
    pub points: i64,
}

/// A stamp an order gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StampLine {
    /// Card id.
    pub card: String,
    /// Card name.
    pub name: String,
    /// Stamps on the card now.
    pub stamps: i64,
    /// Stamps that complete it.
    pub of: i64,
    /// Whether this stamp completed it.
    pub completed: bool,
}

/// A tier change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierMove {
    /// Tier before (none: the customer's first).
    pub from: Option<String>,
    /// Tier after.
    pub to: String,
}

/// What an order did in the loyalty programme: the answer of `POST /api/v1/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLoyalty {
    /// Programme version it earned under.
    pub program_version: i64,
    /// Points earned by the purchase.
    pub points_earned: i64,
    /// How they add up.
    pub breakdown: Vec<BreakdownLine>,
    /// When the points become usable (they are pending until then).
    pub available_at: DateTime<Utc>,
    /// Stamps given.
    pub stamps: Vec<StampLine>,
    /// The tier change, when the order moved the customer up (or into the first level).
    pub tier_change: Option<TierMove>,
    /// Coupons unlocked (stamp cards completed).
    pub rewards_unlocked: Vec<String>,
    /// Referral points given because of this order (to the customer and to their referrer).
    pub referral_points: i64,
    /// The customer's balance afterwards.
    pub balance: i64,
}

fn tier_id(p: &Program, i: usize) -> String {
    p.doc.tiers.as_ref().map(|t| t.levels[i].id.clone()).unwrap_or_default()
}

fn part_name(p: &Program, s: Source) -> (&'static str, &str) {
    match s {
        Source::Base => ("base", "Points per amount spent"),
        Source::Rule(i) => ("rule", &p.doc.rules[i].name),
        Source::Tier(i) => ("tier", p.doc.tiers.as_ref().map_or("", |t| &t.levels[i].name)),
        Source::Membership => ("membership", "Membership multiplier"),
        Source::Promotion(i) => ("promotion", &p.doc.promotions[i].name),
        Source::OrderCap => ("order_cap", "Cap per order"),
        Source::DayCap => ("day_cap", "Cap per day"),
    }
}

/// One line of a breakdown as stored: (source kind, index, points); see [`source_code`].
type Part = (u8, usize, i64);

/// A stored breakdown with the names of programme `p`: (source, name, points) per line.
fn named_parts<'a>(p: &'a Program, parts: &'a [Part]) -> impl Iterator<Item = (&'static str, &'a str, i64)> {
    parts.iter().filter_map(|&(kind, i, points)| {
        let (source, name) = part_name(p, source_of((kind, i))?);
        Some((source, name, points))
    })
}

/// A breakdown line as the ledger's `detail` explains an entry.
#[derive(Serialize)]
struct DetailLine<'a> {
    name: &'a str,
    points: i64,
    source: &'static str,
}

/// The ledger `detail` of an order's entries as it is shown: `{"breakdown": [...]}`.
#[derive(Serialize)]
struct EntryDetail<'a> {
    breakdown: Vec<DetailLine<'a>>,
}

/// The ledger `detail` of an order's entries as it is stored: the breakdown as (source kind,
/// index, points), as [`Recorded`] keeps it, about 20 bytes instead of 100; [`explained`]
/// gives the names back from the entry's programme version.
#[derive(Serialize, Deserialize)]
struct EntryParts<'a> {
    parts: Cow<'a, [Part]>,
}

/// An entry as it is shown: an order's entry stored with [`EntryParts`] gets its breakdown
/// with names from its programme version. Other entries, and entries stored whole before
/// details were compact, are shown as stored.
fn explained(programs: &Programs, mut e: Entry) -> Entry {
    let Some(p) = e.program_version.and_then(|v| programs.by_version(v)) else { return e };
    let Ok(EntryParts { parts }) = serde_json::from_str(&e.detail) else { return e };
    let breakdown = named_parts(p, &parts).map(|(source, name, points)| DetailLine { name, points, source }).collect();
    e.detail = serde_json::to_string(&EntryDetail { breakdown }).expect("breakdown serializes");
    e
}

/// A customer's ledger entries, newest first, as they are shown (see [`explained`]).
pub fn ledger(
    c: &mut dyn Conn,
    programs: &Programs,
    customer_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<Entry>, StoreError> {
    Ok(loyalty::entries(c, customer_id, limit, offset)?.into_iter().map(|e| explained(programs, e)).collect())
}

/// A breakdown source in two numbers (kind, index), as an order's [`Recorded`] keeps it.
fn source_code(s: Source) -> (u8, usize) {
    match s {
        Source::Base => (0, 0),
        Source::Rule(i) => (1, i),
        Source::Tier(i) => (2, i),
        Source::Membership => (3, 0),
        Source::Promotion(i) => (4, i),
        Source::OrderCap => (5, 0),
        Source::DayCap => (6, 0),
    }
}

fn source_of((kind, i): (u8, usize)) -> Option<Source> {
    Some(match kind {
        0 => Source::Base,
        1 => Source::Rule(i),
        2 => Source::Tier(i),
        3 => Source::Membership,
        4 => Source::Promotion(i),
        5 => Source::OrderCap,
        6 => Source::DayCap,
        _ => return None,
    })
}

/// What an order's answer holds beyond the effect's columns (version, time, points), stored
/// with the effect as a JSON array of about 40 bytes instead of the 400 of the answer itself:
/// names come back from the programme version when the answer is given again.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Recorded(
    /// The breakdown.
    Vec<Part>,
    /// Stamps: (card index, stamps shown, completed).
    Vec<(usize, i64, bool)>,
    /// The tier change.
    Option<TierMove>,
    /// Coupons unlocked.
    Vec<String>,
    /// Referral points.
    i64,
    /// Balance afterwards.
    i64,
);

/// The answer for an order, from what its effect recorded.
fn answer(p: &Program, version: i64, placed_at: i64, points: i64, r: Recorded) -> OrderLoyalty {
    let Recorded(parts, stamps, tier_change, rewards_unlocked, referral_points, balance) = r;
    OrderLoyalty {
        program_version: version,
        points_earned: points,
        breakdown: named_parts(p, &parts)
            .map(|(source, name, points)| BreakdownLine { source: source.into(), name: name.into(), points })
            .collect(),
        available_at: enishi_store::instant(placed_at + p.doc.pending_days * 86_400),
        stamps: stamps
            .into_iter()
            .filter_map(|(i, stamps, completed)| {
                let card = p.doc.stamp_cards.get(i)?;
                Some(StampLine { card: card.id.clone(), name: card.name.clone(), stamps, of: card.stamps, completed })
            })
            .collect(),
        tier_change,
        rewards_unlocked,
        referral_points,
        balance,
    }
}

/// The answer given again for an order evaluated before: from its effect's record (or, for
/// an effect stored before records were compact, the answer it kept whole).
fn answer_again(programs: &Programs, effect: &OrderEffect) -> Option<OrderLoyalty> {
    if let Ok(whole) = serde_json::from_str::<OrderLoyalty>(&effect.detail) {
        return Some(whole);
    }
    let recorded: Recorded = serde_json::from_str(&effect.detail).ok()?;
    let p = programs.by_version(effect.program_version)?;
    Some(answer(p, effect.program_version, effect.placed_at, effect.points, recorded))
}

/// The start (Unix seconds) of the tier window that ends at `at`.
pub(crate) fn window_start(t: &Tiers, at: DateTime<Utc>, programs: &Programs) -> i64 {
    match t.window {
        TierWindow::RollingDays(d) => at.timestamp() - d * 86_400,
        TierWindow::CalendarYear => {
            let year = programs.clock().local_date(at).year();
            NaiveDate::from_ymd_opt(year, 1, 1).map_or(0, |d| programs.clock().start_of(d).timestamp())
        }
    }
}

/// A coupon for a catalogue reward, not yet stored.
pub(crate) fn coupon_for(
    p: &Program,
    customer_id: i64,
    reward_id: &str,
    source: &str,
    source_ref: &str,
    at: i64,
) -> Result<Coupon, StoreError> {
    let reward = p.reward(reward_id).ok_or_else(|| StoreError::NotFound(format!("reward {reward_id}")))?;
    Ok(Coupon {
        id: 0,
        code: coupon_code(),
        customer_id,
        reward_id: reward_id.to_string(),
        source: source.to_string(),
        source_ref: Some(source_ref.to_string()),
        issued_at: at,
        valid_until: at + reward.valid_days * 86_400,
        max_uses: reward.max_uses,
        uses: 0,
        sku: None,
    })
}

/// Issues a coupon for a catalogue reward.
pub(crate) fn issue_coupon(
    c: &mut dyn Conn,
    p: &Program,
    customer_id: i64,
    reward_id: &str,
    source: &str,
    source_ref: &str,
    at: i64,
) -> Result<Coupon, StoreError> {
    loyalty::insert_coupon(c, &coupon_for(p, customer_id, reward_id, source, source_ref, at)?)
}

/// A stored order as evaluating it reads it: a view of an [`Order`], or of a [`NewOrder`] an
/// import has just given an id.
#[derive(Debug, Clone, Copy)]
pub struct Purchase<'a> {
    /// Enishi's id of the order.
    pub id: i64,
    /// The shop's order id.
    pub order_ref: &'a str,
    /// Enishi customer id.
    pub customer_id: i64,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Channel.
    pub channel: Channel,
    /// Total.
    pub total: Amount,
    /// Lines.
    pub lines: &'a [OrderLine],
}

impl<'a> From<&'a Order> for Purchase<'a> {
    fn from(o: &'a Order) -> Purchase<'a> {
        Purchase {
            id: o.id,
            order_ref: &o.order_id,
            customer_id: o.customer_id,
            placed_at: o.placed_at,
            channel: o.channel,
            total: o.total,
            lines: &o.lines,
        }
    }
}

impl<'a> Purchase<'a> {
    /// A new order stored with the id `id`.
    pub fn stored(id: i64, o: &'a NewOrder) -> Purchase<'a> {
        Purchase {
            id,
            order_ref: &o.order_ref,
            customer_id: o.customer_id,
            placed_at: o.placed_at,
            channel: o.channel,
            total: o.total,
            lines: &o.lines,
        }
    }
}

/// Evaluates a stored order under the programme in force when it was placed, and writes what
/// it earned. An order evaluated before answers what it earned then (nothing is written
/// twice). `None` when no programme was in force.
pub fn on_order(c: &mut dyn Conn, programs: &Programs, order: &Order) -> Result<Option<OrderLoyalty>, StoreError> {
    if let Some(done) = loyalty::effect(c, order.id)? {
        return Ok(answer_again(programs, &done));
    }
    let at = order.placed_at.timestamp();
    Ok(earn(&mut Live(c), programs, &Purchase::from(order))?
        .and_then(|(version, points, recorded)| programs.at(at).map(|(_, p)| answer(p, version, at, points, recorded))))
}

/// Evaluates orders an import has just stored, in the batch's books (see [`OrderBatch`]); the
/// same as [`on_order`] for each in turn, for orders evaluated nowhere before. It touches no
/// database, so it may run on another thread while the orders themselves are written.
pub fn on_new_order(batch: &mut OrderBatch, programs: &Programs, order: &Purchase<'_>) -> Result<(), StoreError> {
    earn(batch, programs, order).map(drop)
}

/// Whether the buyer of `order` is a member of each promotion's segment, by promotion: read
/// only for the segment-limited promotions running when it was placed (false for the rest).
fn in_promotion_segments(
    books: &mut dyn OrderBooks,
    p: &Program,
    order: &Purchase<'_>,
    day: i64,
) -> Result<Vec<bool>, StoreError> {
    let as_of = crate::segment_members::promotion_as_of(day);
    p.running_segments(order.placed_at)
        .map(|segment| match segment {
            Some(s) => books.in_segment(s, order.customer_id, as_of, &p.clock),
            None => Ok(false),
        })
        .collect()
}

/// Evaluates an order that has not been evaluated, reading and writing through `books`.
/// Returns the version it earned under, the points and the rest of its answer (see
/// [`answer`]); `None` when no programme was in force.
fn earn(
    books: &mut dyn OrderBooks,
    programs: &Programs,
    order: &Purchase<'_>,
) -> Result<Option<(i64, i64, Recorded)>, StoreError> {
    let at = order.placed_at.timestamp();
    let Some((version, p)) = programs.at(at) else { return Ok(None) };
    let clock = programs.clock();
    let day = clock.day_number(order.placed_at);
    let mut acct = books.account(order.customer_id)?;

    // The customer's state before the order.
    let tier = acct.tier.as_deref().and_then(|t| p.tier_index(t));
    let tier_progress = match &p.doc.tiers {
        Some(t) => books.tier_progress(order.customer_id, window_start(t, order.placed_at, programs), at)?,
        None => 0,
    };
    let membership_multiplier = match books.membership(order.customer_id)? {
        Some(m) if m.started_at <= at && at < m.period_end => p.plan(&m.plan_id).and_then(|pl| pl.multiplier),
        _ => None,
    };
    let mut cards = books.cards(&acct);
    let spent: BTreeMap<String, i64> = if p.doc.promotions.iter().any(|pr| pr.budget_points.is_some()) {
        books.promotion_spent()?
    } else {
        BTreeMap::new()
    };
    let state = CustomerState {
        tier,
        tier_progress,
        membership_multiplier,
        earned_today: if p.doc.earning.max_points_per_day.is_some() {
            books.points_on_day(order.customer_id, day)?
        } else {
            0
        },
        cards: p.doc.stamp_cards.iter().map(|k| cards.get(&k.id).copied().unwrap_or_default()).collect(),
        promotion_spent: p.doc.promotions.iter().map(|pr| spent.get(&pr.id).copied().unwrap_or(0)).collect(),
        in_promotion_segment: in_promotion_segments(books, p, order, day)?,
    };
    let lines: Vec<LineFacts<'_>> = order
        .lines
        .iter()
        .map(|l| LineFacts {
            sku: &l.sku,
            category: l.category.as_deref(),
            quantity: l.quantity,
            amount: l.amount.to_scaled(),
        })
        .collect();
    let facts = OrderFacts {
        placed_at: order.placed_at,
        day,
        channel: order.channel.as_str(),
        total: order.total.to_scaled(),
        lines: &lines,
    };
    let earned = evaluate(p, &state, &facts);
    if !earned.in_range() {
        return Err(StoreError::OutOfRange(format!(
            "order {}: the points it would earn are beyond {} (check its amounts and the programme)",
            order.order_ref,
            enishi_loyalty::POINTS_LIMIT
        )));
    }

    // Points: one earn entry for the purchase, one bonus entry per promotion.
    let available_at = at + p.doc.pending_days * 86_400;
    let expiry = expires_at(p.doc.expiry, order.placed_at, clock).map(|t| t.timestamp());
    let parts: Vec<Part> = earned
        .parts
        .iter()
        .map(|x| {
            let (kind, i) = source_code(x.source);
            (kind, i, x.points)
        })
        .collect();
    let mut promo: Vec<(usize, i64)> = earned
        .parts
        .iter()
        .filter_map(|x| if let Source::Promotion(i) = x.source { Some((i, x.points)) } else { None })
        .collect();
    // Caps cut promotion points last-first, then purchase points.
    let mut cut = earned.parts.iter().filter(|x| x.points < 0).map(|x| -x.points).sum::<i64>();
    for (_, pts) in promo.iter_mut().rev() {
        let take = cut.min(*pts);
        *pts -= take;
        cut -= take;
    }
    let promo_total: i64 = promo.iter().map(|x| x.1).sum();
    let purchase_points = earned.points - promo_total;
    let order_ref = order.order_ref;
    let detail = serde_json::to_string(&EntryParts { parts: Cow::Borrowed(&parts) }).expect("parts serialize");
    // (kind, points, source, idempotency key)
    let mut postings: Vec<(&str, i64, &str, String)> = Vec::new();
    if purchase_points > 0 {
        postings.push(("earn", purchase_points, "order", format!("order:{order_ref}")));
    }
    for (i, pts) in promo.iter().filter(|x| x.1 > 0) {
        let id = &p.doc.promotions[*i].id;
        postings.push(("bonus", *pts, "promotion", format!("order:{order_ref}:promotion:{id}")));
        books.add_promotion_spend(id, *pts)?;
    }
    for (kind, points, source, key) in &postings {
        books.credit(
            &mut acct,
            &NewEntry {
                customer_id: order.customer_id,
                kind,
                points: *points,
                source,
                source_ref: Some(order_ref),
                program_version: Some(version),
                idempotency_key: key,
                reason: None,
                detail: &detail,
                occurred_at: at,
                available_at,
                expires_at: expiry,
            },
        )?;
    }

    // Stamps.
    let mut stamps = Vec::new();
    let mut unlocked = Vec::new();
    for s in &earned.stamps {
        let card = &p.doc.stamp_cards[s.card];
        cards.insert(card.id.clone(), s.after);
        if s.completed {
            let coupon = coupon_for(
                p,
                order.customer_id,
                &card.reward,
                "stamp_card",
                &format!("order:{order_ref}:card:{}", card.id),
                at,
            )?;
            unlocked.push(coupon.code.clone());
            books.issue_coupon(coupon)?;
        }
        stamps.push((s.card, if s.completed { card.stamps } else { s.after.stamps }, s.completed));
    }
    books.set_cards(&mut acct, cards);

    // Tier: upgrades at once; a first order places the customer in the lowest level.
    let mut tier_change = None;
    let reached = earned.tier.map(|t| t.to).or(if tier.is_none() && p.doc.tiers.is_some() { Some(0) } else { None });
    if let Some(to) = reached {
        let to_id = tier_id(p, to);
        let from_id = acct.tier.clone();
        books.tier_change(TierChangeRecord {
            customer_id: order.customer_id,
            from_tier: from_id.clone(),
            to_tier: to_id.clone(),
            changed_at: at,
            reason: format!("order {order_ref}"),
        })?;
        acct.tier = Some(to_id.clone());
        acct.tier_since = Some(at);
        tier_change = Some(TierMove { from: from_id, to: to_id });
    }

    let referral_points = referral(books, (version, p), clock, &mut acct, order, earned.eligible)?;
    let balance = acct.balance;
    books.save_account(acct)?;
    let recorded = Recorded(parts, stamps, tier_change, unlocked, referral_points, balance);
    books.record_effect(OrderEffect {
        order_id: order.id,
        customer_id: order.customer_id,
        program_version: version,
        placed_at: at,
        placed_day: day,
        points: earned.points,
        qualifying: earned.qualifying,
        reversed_points: 0,
        reversed_qualifying: 0,
        stamps: serde_json::to_string(&earned.stamps.iter().map(|s| &p.doc.stamp_cards[s.card].id).collect::<Vec<_>>())
            .expect("ids serialize"),
        stamps_undone: false,
        detail: serde_json::to_string(&recorded).expect("record serializes"),
    })?;
    Ok(Some((version, earned.points, recorded)))
}

/// Referral rewards on a referred customer's first qualifying order: points to both, the
/// referrer's within their cap. Returns the points given.
fn referral(
    books: &mut dyn OrderBooks,
    (version, p): (i64, &Program),
    clock: &enishi_core::BusinessClock,
    acct: &mut LoyaltyAccount,
    order: &Purchase<'_>,
    eligible: i64,
) -> Result<i64, StoreError> {
    let at = order.placed_at.timestamp();
    let Some(r) = &p.doc.referrals else { return Ok(0) };
    if r.minimum_order.is_some_and(|m| eligible < m.to_scaled()) {
        return Ok(0);
    }
    let Some(referrer) = books.referrer_of(order.customer_id)?.filter(|&id| id != order.customer_id) else {
        return Ok(0);
    };
    if books.referee_rewarded(order.customer_id)? {
        return Ok(0);
    }
    let referee_key = referee_key(order.customer_id);
    let mut given = 0;
    let post = |books: &mut dyn OrderBooks,
                acct: &mut LoyaltyAccount,
                points: i64,
                key: &str,
                reason: &str|
     -> Result<bool, StoreError> {
        books.credit(
            acct,
            &NewEntry {
                customer_id: acct.customer_id,
                kind: "bonus",
                points,
                source: "referral",
                source_ref: Some(order.order_ref),
                program_version: Some(version),
                idempotency_key: key,
                reason: Some(reason),
                detail: "{}",
                occurred_at: at,
                available_at: at + p.doc.pending_days * 86_400,
                expires_at: expires_at(p.doc.expiry, order.placed_at, clock).map(|t| t.timestamp()),
            },
        )
    };
    // The referee's entry is written even for 0 points: it marks the referral as rewarded.
    post(books, acct, r.referee_points, &referee_key, "referred by a customer")?;
    given += r.referee_points;
    let rewarded = books.referrals_rewarded(referrer)?;
    if r.referrer_points > 0 && r.max_per_referrer.is_none_or(|cap| rewarded < cap) {
        let mut ref_acct = books.account(referrer)?;
        if post(books, &mut ref_acct, r.referrer_points, &referrer_key(order.customer_id), "referred a new customer")? {
            given += r.referrer_points;
        }
        books.save_account(ref_acct)?;
    }
    Ok(given)
}
