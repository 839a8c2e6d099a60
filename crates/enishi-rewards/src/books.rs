//! Where evaluating an order reads the customer's loyalty state and writes what it earned:
//! straight to the database, one statement at a time ([`Live`], for an order sent through
//! the API), or, for a batch of orders an import has just stored, from state read in a few
//! queries into memory and written back in multi-row inserts ([`OrderBatch`]). Both leave the
//! same ledger, lots, effects, tier history, coupons and accounts.

use crate::book;
use crate::cards::{cards_of, store_cards};
use crate::codes::referral_code;
use crate::codes::{referee_key, REFEREE_KEY, REFERRER_KEY};
use crate::programs::Programs;
use crate::segment_members;
use chrono::{DateTime, Utc};
use enishi_core::BusinessClock;
use enishi_loyalty::CardState;
use enishi_segments::Purchases;
use enishi_store::repo::loyalty::{
    self, Coupon, EarnedBasis, Lot, LoyaltyAccount, Membership, NewEntry, OrderEffect, TierChangeRecord,
};
use enishi_store::{Conn, StoreError};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, BTreeSet};

/// What evaluating an order reads and writes.
pub(crate) trait OrderBooks {
    /// The customer's loyalty state (created if missing), for update.
    fn account(&mut self, customer_id: i64) -> Result<LoyaltyAccount, StoreError>;
    /// Writes the state back.
    fn save_account(&mut self, acct: LoyaltyAccount) -> Result<(), StoreError>;
    /// Tier basis from orders placed in `since..until`, net of returns.
    fn tier_progress(&mut self, customer_id: i64, since: i64, until: i64) -> Result<i64, StoreError>;
    /// Purchase points earned on a business day, net of returns.
    fn points_on_day(&mut self, customer_id: i64, day: i64) -> Result<i64, StoreError>;
    /// The customer's current membership.
    fn membership(&mut self, customer_id: i64) -> Result<Option<Membership>, StoreError>;
    /// Points each promotion has given so far.
    fn promotion_spent(&mut self) -> Result<BTreeMap<String, i64>, StoreError>;
    /// Adds to what a promotion has given.
    fn add_promotion_spend(&mut self, promotion_id: &str, points: i64) -> Result<(), StoreError>;
    /// Posts a credit and opens its lot (see [`book::credit`]).
    fn credit(&mut self, acct: &mut LoyaltyAccount, entry: &NewEntry<'_>) -> Result<bool, StoreError>;
    /// Issues a coupon.
    fn issue_coupon(&mut self, coupon: Coupon) -> Result<(), StoreError>;
    /// Records a tier change.
    fn tier_change(&mut self, change: TierChangeRecord) -> Result<(), StoreError>;
    /// The stamp cards of the account `acct` (taken: [`OrderBooks::set_cards`] puts them back).
    fn cards(&mut self, acct: &LoyaltyAccount) -> BTreeMap<String, CardState>;
    /// Keeps the account's stamp cards.
    fn set_cards(&mut self, acct: &mut LoyaltyAccount, cards: BTreeMap<String, CardState>);
    /// Who referred the customer.
    fn referrer_of(&mut self, customer_id: i64) -> Result<Option<i64>, StoreError>;
    /// Whether the referred customer has had their referral reward (the `referee:` entry).
    fn referee_rewarded(&mut self, customer_id: i64) -> Result<bool, StoreError>;
    /// How many referred customers have earned the referrer a reward (`referrer:` entries).
    fn referrals_rewarded(&mut self, referrer: i64) -> Result<i64, StoreError>;
    /// Stores what an order did.
    fn record_effect(&mut self, effect: OrderEffect) -> Result<(), StoreError>;
    /// Whether the customer is a member of the saved segment `segment` as of `as_of_day`.
    fn in_segment(
        &mut self,
        segment: &str,
        customer_id: i64,
        as_of_day: i64,
        clock: &BusinessClock,
    ) -> Result<bool, StoreError>;
}

/// The books as the database holds them, read and written one statement at a time.
pub(crate) struct Live<'c>(pub(crate) &'c mut dyn Conn);

impl OrderBooks for Live<'_> {
    fn account(&mut self, customer_id: i64) -> Result<LoyaltyAccount, StoreError> {
        loyalty::account_for_update(self.0, customer_id, &referral_code(customer_id))
    }
    fn save_account(&mut self, acct: LoyaltyAccount) -> Result<(), StoreError> {
        loyalty::save_account(self.0, &acct)
    }
    fn tier_progress(&mut self, customer_id: i64, since: i64, until: i64) -> Result<i64, StoreError> {
        loyalty::tier_progress(self.0, customer_id, since, until)
    }
    fn points_on_day(&mut self, customer_id: i64, day: i64) -> Result<i64, StoreError> {
        loyalty::points_on_day(self.0, customer_id, day)
    }
    fn membership(&mut self, customer_id: i64) -> Result<Option<Membership>, StoreError> {
        loyalty::current_membership(self.0, customer_id)
    }
    fn promotion_spent(&mut self) -> Result<BTreeMap<String, i64>, StoreError> {
        Ok(loyalty::promotion_spend(self.0)?.into_iter().map(|(id, s, _)| (id, s)).collect())
    }
    fn add_promotion_spend(&mut self, promotion_id: &str, points: i64) -> Result<(), StoreError> {
        loyalty::add_promotion_spend(self.0, promotion_id, points)
    }
    fn credit(&mut self, acct: &mut LoyaltyAccount, entry: &NewEntry<'_>) -> Result<bool, StoreError> {
        book::credit(self.0, acct, entry)
    }
    fn issue_coupon(&mut self, coupon: Coupon) -> Result<(), StoreError> {
        loyalty::insert_coupon(self.0, &coupon).map(drop)
    }
    fn tier_change(&mut self, change: TierChangeRecord) -> Result<(), StoreError> {
        loyalty::insert_tier_change(self.0, &change)
    }
    fn cards(&mut self, acct: &LoyaltyAccount) -> BTreeMap<String, CardState> {
        cards_of(acct)
    }
    fn set_cards(&mut self, acct: &mut LoyaltyAccount, cards: BTreeMap<String, CardState>) {
        store_cards(acct, &cards);
    }
    fn referrer_of(&mut self, customer_id: i64) -> Result<Option<i64>, StoreError> {
        loyalty::referrer_of(self.0, customer_id)
    }
    fn referee_rewarded(&mut self, customer_id: i64) -> Result<bool, StoreError> {
        loyalty::has_key(self.0, &referee_key(customer_id))
    }
    fn referrals_rewarded(&mut self, referrer: i64) -> Result<i64, StoreError> {
        Ok(loyalty::referral_rewards(self.0, &[referrer])?.first().map_or(0, |&(_, n)| n))
    }
    fn record_effect(&mut self, effect: OrderEffect) -> Result<(), StoreError> {
        loyalty::insert_effect(self.0, &effect)
    }
    fn in_segment(
        &mut self,
        segment: &str,
        customer_id: i64,
        as_of_day: i64,
        clock: &BusinessClock,
    ) -> Result<bool, StoreError> {
        segment_members::is_member(self.0, segment, customer_id, as_of_day, clock)
    }
}

/// A ledger entry waiting to be written, with the lot it opens (`lot_remaining`), if any.
pub(crate) struct PendingEntry {
    customer_id: i64,
    kind: &'static str,
    points: i64,
    source: &'static str,
    source_ref: Option<String>,
    program_version: Option<i64>,
    idempotency_key: String,
    reason: Option<String>,
    detail: String,
    occurred_at: i64,
    available_at: i64,
    expires_at: Option<i64>,
    lot_remaining: Option<i64>,
}

impl PendingEntry {
    pub(crate) fn of(e: &NewEntry<'_>) -> PendingEntry {
        PendingEntry {
            customer_id: e.customer_id,
            kind: e.kind,
            points: e.points,
            source: e.source,
            source_ref: e.source_ref.map(str::to_string),
            program_version: e.program_version,
            idempotency_key: e.idempotency_key.to_string(),
            reason: e.reason.map(str::to_string),
            detail: e.detail.to_string(),
            occurred_at: e.occurred_at,
            available_at: e.available_at,
            expires_at: e.expires_at,
            lot_remaining: None,
        }
    }

    pub(crate) fn as_new(&self) -> NewEntry<'_> {
        NewEntry {
            customer_id: self.customer_id,
            kind: self.kind,
            points: self.points,
            source: self.source,
            source_ref: self.source_ref.as_deref(),
            program_version: self.program_version,
            idempotency_key: &self.idempotency_key,
            reason: self.reason.as_deref(),
            detail: &self.detail,
            occurred_at: self.occurred_at,
            available_at: self.available_at,
            expires_at: self.expires_at,
        }
    }
}

/// The books of a batch of orders an import has just stored and not yet evaluated: the state
/// of the batch's customers (and of the referrers their orders may reward) is read in a few
/// queries when it opens, kept in memory while the orders are evaluated in order — touching
/// no database, so on any thread — and written with multi-row inserts by
/// [`OrderBatch::write`]. The batch's accounts are locked when it opens (on PostgreSQL; SQLite
/// has one writer), so a concurrent redemption waits for the import. Nothing else may write
/// loyalty state in the same transaction until the batch is written.
pub struct OrderBatch {
    accounts: FxHashMap<i64, LoyaltyAccount>,
    /// Stamp cards changed by the batch, kept parsed until it writes the accounts.
    cards: FxHashMap<i64, BTreeMap<String, CardState>>,
    bases: FxHashMap<i64, Vec<EarnedBasis>>,
    memberships: FxHashMap<i64, Membership>,
    referrers: FxHashMap<i64, i64>,
    /// Referred customers of the batch who have had their referral reward.
    referees_rewarded: FxHashSet<i64>,
    /// Referral rewards each referrer the batch may reward has had.
    referrals_rewarded: FxHashMap<i64, i64>,
    promotion_spent: BTreeMap<String, i64>,
    promotion_added: BTreeMap<String, i64>,
    entries: Vec<PendingEntry>,
    coupons: Vec<Coupon>,
    tier_changes: Vec<TierChangeRecord>,
    effects: Vec<OrderEffect>,
    /// Members among the batch's buyers, by (segment, as-of day): see
    /// [`OrderBatch::read_segments`].
    segment_members: FxHashMap<(String, i64), FxHashSet<i64>>,
}

/// Orders an import evaluates before handing their entries over to be written.
pub const EVALUATED_PART: usize = 256;

impl OrderBatch {
    /// Opens the books of a batch whose orders under a programme belong to `customer_ids` (one
    /// id per order). Of those, `created` were created in the same transaction since the last
    /// batch was written: they have no loyalty state yet, and nothing is read for them.
    pub fn open(c: &mut dyn Conn, customer_ids: &[i64], created: &[i64]) -> Result<OrderBatch, StoreError> {
        let created: FxHashSet<i64> = created.iter().copied().collect();
        let mut all = customer_ids.to_vec();
        all.sort_unstable();
        all.dedup();
        let (fresh, ids): (Vec<i64>, Vec<i64>) = all.into_iter().partition(|id| created.contains(id));
        let referrers: FxHashMap<i64, i64> = loyalty::referrers_of(c, &ids)?.into_iter().collect();
        let keys: Vec<String> = referrers.keys().map(|&id| referee_key(id)).collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let used: FxHashSet<String> = loyalty::existing_keys(c, &key_refs)?.into_iter().collect();
        let referees_rewarded: FxHashSet<i64> =
            referrers.keys().copied().filter(|&id| used.contains(&referee_key(id))).collect();
        // The referrers whose accounts a referral reward of this batch may credit.
        let mut rewarding: Vec<i64> = referrers
            .iter()
            .filter(|(referee, referrer)| !referees_rewarded.contains(referee) && referee != referrer)
            .map(|(_, &referrer)| referrer)
            .collect();
        rewarding.sort_unstable();
        rewarding.dedup();
        let referrals_rewarded = loyalty::referral_rewards(c, &rewarding)?.into_iter().collect();
        let mut holders = ids.clone();
        holders.extend(&rewarding);
        holders.sort_unstable();
        holders.dedup();
        let with_codes: Vec<(i64, String)> = holders.iter().map(|&id| (id, referral_code(id))).collect();
        let mut accounts: FxHashMap<i64, LoyaltyAccount> =
            loyalty::accounts_to_write_back(c, &with_codes)?.into_iter().map(|a| (a.customer_id, a)).collect();
        // A new customer's account is created by the write (no other transaction can see the
        // customer, so there is nothing to lock).
        for id in fresh {
            accounts.entry(id).or_insert_with(|| LoyaltyAccount::empty(id, referral_code(id)));
        }
        let mut bases: FxHashMap<i64, Vec<EarnedBasis>> = FxHashMap::default();
        for b in loyalty::earned_bases(c, &ids)? {
            bases.entry(b.customer_id).or_default().push(b);
        }
        let memberships = loyalty::current_memberships(c, &ids)?.into_iter().map(|m| (m.customer_id, m)).collect();
        let promotion_spent = loyalty::promotion_spend(c)?.into_iter().map(|(id, s, _)| (id, s)).collect();
        let orders = customer_ids.len();
        Ok(OrderBatch {
            accounts,
            cards: FxHashMap::default(),
            bases,
            memberships,
            referrers,
            referees_rewarded,
            referrals_rewarded,
            promotion_spent,
            promotion_added: BTreeMap::new(),
            entries: Vec::with_capacity(orders.min(EVALUATED_PART)),
            coupons: Vec::new(),
            tier_changes: Vec::new(),
            effects: Vec::with_capacity(orders.min(EVALUATED_PART)),
            segment_members: FxHashMap::default(),
        })
    }

    /// How each segment that evaluating `orders` (customer id, placed at) reads is evaluated: a
    /// promotion limited to it is running when the order is placed. Empty, and read without a
    /// query, when no such promotion runs; otherwise the batch needs
    /// [`OrderBatch::read_segments`].
    pub fn segment_rules(
        c: &mut dyn Conn,
        programs: &Programs,
        orders: impl IntoIterator<Item = (i64, DateTime<Utc>)>,
    ) -> Result<SegmentRules, StoreError> {
        let mut names = BTreeSet::new();
        for (_, at) in orders {
            names.extend(segment_promotions_at(programs, at));
        }
        let rules = names
            .into_iter()
            .map(|name| Ok((name.to_string(), segment_members::segment_rule(c, name, programs.clock())?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(SegmentRules(rules))
    }

    /// Reads, for the segment-limited promotions running when each of `orders` (customer id,
    /// placed at) is placed, which of their buyers are members as of the close of the day
    /// before; `rules` are the segments' ([`OrderBatch::segment_rules`]). With `purchases` —
    /// which must hold every buyer, with their orders stored before and this batch's — the
    /// segments [`SegmentRules::in_memory`] takes are answered from it in memory. Any other
    /// segment is one query per business day, and the orders of the days before must then be
    /// stored already (an import stores its batch first).
    pub fn read_segments(
        &mut self,
        c: &mut dyn Conn,
        programs: &Programs,
        orders: impl IntoIterator<Item = (i64, DateTime<Utc>)>,
        rules: &SegmentRules,
        purchases: Option<&Purchases>,
    ) -> Result<(), StoreError> {
        use segment_members::SegmentRule;
        let clock = programs.clock();
        let mut wanted: BTreeMap<&str, BTreeMap<i64, Vec<i64>>> = BTreeMap::new();
        for (customer_id, at) in orders {
            let as_of = segment_members::promotion_as_of(clock.day_number(at));
            for segment in segment_promotions_at(programs, at) {
                wanted.entry(segment).or_default().entry(as_of).or_default().push(customer_id);
            }
        }
        for (segment, days) in wanted {
            let by_day = match (rules.0.get(segment), purchases) {
                (Some(SegmentRule::Missing), _) => BTreeMap::new(),
                (Some(SegmentRule::InMemory(rule)), Some(purchases)) => {
                    segment_members::members_in_memory(c, segment, purchases, rule, &days, clock)?
                }
                _ => segment_members::members_by_day(c, segment, &days, clock)?,
            };
            for (as_of, members) in by_day {
                self.segment_members.entry((segment.to_string(), as_of)).or_default().extend(members);
            }
            // Days of a segment that no longer exists: no members.
            for as_of in days.keys() {
                self.segment_members.entry((segment.to_string(), *as_of)).or_default();
            }
        }
        Ok(())
    }

    /// Takes the ledger entries, lots and effects of the orders evaluated so far, to be written
    /// while the batch evaluates the rest (the batch keeps the accounts, tier changes and
    /// coupons until [`OrderBatch::write`]).
    pub fn take_entries(&mut self) -> EvaluatedOrders {
        EvaluatedOrders { entries: taken_part(&mut self.entries), effects: taken_part(&mut self.effects) }
    }

    /// Writes everything the batch's orders did that [`OrderBatch::take_entries`] has not
    /// taken.
    pub fn write(mut self, c: &mut dyn Conn) -> Result<(), StoreError> {
        self.take_entries().write(c)?;
        loyalty::insert_tier_changes(c, &self.tier_changes)?;
        loyalty::insert_coupons(c, &self.coupons)?;
        for (id, points) in &self.promotion_added {
            loyalty::add_promotion_spend(c, id, *points)?;
        }
        let mut accounts: Vec<LoyaltyAccount> = self.accounts.into_values().collect();
        accounts.sort_unstable_by_key(|a| a.customer_id);
        let mut cards = self.cards;
        for a in &mut accounts {
            if let Some(changed) = cards.remove(&a.customer_id) {
                store_cards(a, &changed);
            }
        }
        loyalty::save_accounts(c, &accounts)
    }
}

/// How each segment an order batch reads is evaluated, by name (see
/// [`OrderBatch::segment_rules`]).
pub struct SegmentRules(BTreeMap<String, segment_members::SegmentRule>);

impl SegmentRules {
    /// Whether no segment is read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every segment is made of purchase history and conditions that read the same
    /// every day (or no longer exists), so that [`OrderBatch::read_segments`] can answer them
    /// all from a [`Purchases`] without the batch stored first.
    pub fn in_memory(&self) -> bool {
        !self.0.values().any(|r| matches!(r, segment_members::SegmentRule::Stored))
    }
}

/// Takes what `v` holds, leaving room for the next part.
fn taken_part<T>(v: &mut Vec<T>) -> Vec<T> {
    std::mem::replace(v, Vec::with_capacity(EVALUATED_PART))
}

/// The ledger entries (with their lots) and effects of some of a batch's orders, taken from it
/// by [`OrderBatch::take_entries`].
pub struct EvaluatedOrders {
    entries: Vec<PendingEntry>,
    effects: Vec<OrderEffect>,
}

impl EvaluatedOrders {
    /// Writes the entries, their lots and the effects.
    pub fn write(self, c: &mut dyn Conn) -> Result<(), StoreError> {
        let news: Vec<NewEntry<'_>> = self.entries.iter().map(PendingEntry::as_new).collect();
        let ids = loyalty::append_new(c, &news)?;
        let lots: Vec<Lot> = self
            .entries
            .iter()
            .zip(&ids)
            .filter_map(|(e, &ledger_id)| {
                e.lot_remaining.map(|remaining| Lot {
                    ledger_id,
                    customer_id: e.customer_id,
                    remaining,
                    available_at: e.available_at,
                    expires_at: e.expires_at,
                })
            })
            .collect();
        loyalty::insert_lots(c, &lots)?;
        loyalty::insert_effects(c, &self.effects)
    }
}

impl OrderBooks for OrderBatch {
    fn account(&mut self, customer_id: i64) -> Result<LoyaltyAccount, StoreError> {
        // Taken out until `save_account` puts it back (every evaluation does, or fails the import).
        self.accounts
            .remove(&customer_id)
            .ok_or_else(|| StoreError::NotFound(format!("loyalty account of customer {customer_id} in the batch")))
    }
    fn save_account(&mut self, acct: LoyaltyAccount) -> Result<(), StoreError> {
        self.accounts.insert(acct.customer_id, acct);
        Ok(())
    }
    fn tier_progress(&mut self, customer_id: i64, since: i64, until: i64) -> Result<i64, StoreError> {
        Ok(self.bases.get(&customer_id).map_or(0, |all| {
            all.iter().filter(|b| since <= b.placed_at && b.placed_at < until).map(|b| b.qualifying).sum()
        }))
    }
    fn points_on_day(&mut self, customer_id: i64, day: i64) -> Result<i64, StoreError> {
        Ok(self
            .bases
            .get(&customer_id)
            .map_or(0, |all| all.iter().filter(|b| b.placed_day == day).map(|b| b.points).sum()))
    }
    fn membership(&mut self, customer_id: i64) -> Result<Option<Membership>, StoreError> {
        Ok(self.memberships.get(&customer_id).cloned())
    }
    fn promotion_spent(&mut self) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut spent = self.promotion_spent.clone();
        for (id, added) in &self.promotion_added {
            let total = spent.entry(id.clone()).or_default();
            *total = total.saturating_add(*added); // past the budget is past it
        }
        Ok(spent)
    }
    fn add_promotion_spend(&mut self, promotion_id: &str, points: i64) -> Result<(), StoreError> {
        let added = self.promotion_added.entry(promotion_id.to_string()).or_default();
        *added = added.saturating_add(points); // compared with a budget: past it is past it
        Ok(())
    }
    fn credit(&mut self, acct: &mut LoyaltyAccount, entry: &NewEntry<'_>) -> Result<bool, StoreError> {
        // The keys of a new order's entries are new; a referral's are checked by the caller,
        // and kept here as the ledger would answer for them.
        if entry.source == "referral" {
            if entry.idempotency_key.starts_with(REFEREE_KEY) {
                self.referees_rewarded.insert(entry.customer_id);
            } else if entry.idempotency_key.starts_with(REFERRER_KEY) {
                *self.referrals_rewarded.entry(entry.customer_id).or_default() += 1;
            }
        }
        let mut pending = PendingEntry::of(entry);
        pending.lot_remaining = book::apply_credit(acct, entry.points)?;
        self.entries.push(pending);
        Ok(true)
    }
    fn issue_coupon(&mut self, coupon: Coupon) -> Result<(), StoreError> {
        self.coupons.push(coupon);
        Ok(())
    }
    fn tier_change(&mut self, change: TierChangeRecord) -> Result<(), StoreError> {
        self.tier_changes.push(change);
        Ok(())
    }
    fn cards(&mut self, acct: &LoyaltyAccount) -> BTreeMap<String, CardState> {
        self.cards.remove(&acct.customer_id).unwrap_or_else(|| cards_of(acct))
    }
    fn set_cards(&mut self, acct: &mut LoyaltyAccount, cards: BTreeMap<String, CardState>) {
        self.cards.insert(acct.customer_id, cards);
    }
    fn referrer_of(&mut self, customer_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(self.referrers.get(&customer_id).copied())
    }
    fn referee_rewarded(&mut self, customer_id: i64) -> Result<bool, StoreError> {
        Ok(self.referees_rewarded.contains(&customer_id))
    }
    fn referrals_rewarded(&mut self, referrer: i64) -> Result<i64, StoreError> {
        Ok(self.referrals_rewarded.get(&referrer).copied().unwrap_or(0))
    }
    fn record_effect(&mut self, effect: OrderEffect) -> Result<(), StoreError> {
        self.bases.entry(effect.customer_id).or_default().push(EarnedBasis {
            customer_id: effect.customer_id,
            placed_at: effect.placed_at,
            placed_day: effect.placed_day,
            points: effect.points,
            qualifying: effect.qualifying,
        });
        self.effects.push(effect);
        Ok(())
    }
    fn in_segment(
        &mut self,
        segment: &str,
        customer_id: i64,
        as_of_day: i64,
        _clock: &BusinessClock,
    ) -> Result<bool, StoreError> {
        match self.segment_members.get(&(segment.to_string(), as_of_day)) {
            Some(members) => Ok(members.contains(&customer_id)),
            None => Err(StoreError::Database(format!(
                "segment \"{segment}\" as of day {as_of_day} was not read for this batch (OrderBatch::read_segments)"
            ))),
        }
    }
}

/// The segments of the segment-limited promotions running at `at` under the programme then in
/// force.
pub(crate) fn segment_promotions_at(programs: &Programs, at: DateTime<Utc>) -> impl Iterator<Item = &str> {
    let program = programs.at(at.timestamp()).map(|(_, p)| p);
    program.into_iter().flat_map(move |p| p.running_segments(at).flatten())
}
