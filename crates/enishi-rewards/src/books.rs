//! Where evaluating an order reads the customer's loyalty state and writes what it earned:
//! straight to the database, one statement at a time ([`Live`], for an order sent through
//! the API), or, for a batch of orders an import has just stored, from state read in a few
//! queries into memory and written back in multi-row inserts ([`OrderBatch`]). Both leave the
//! same ledger, lots, effects, tier history, coupons and accounts.

use crate::book;
use crate::codes::referral_code;
use enishi_store::repo::loyalty::{
    self, Coupon, EarnedBasis, Lot, LoyaltyAccount, Membership, NewEntry, OrderEffect, TierChangeRecord,
};
use enishi_store::{Conn, StoreError};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

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
    /// Who referred the customer.
    fn referrer_of(&mut self, customer_id: i64) -> Result<Option<i64>, StoreError>;
    /// Whether a ledger entry with this idempotency key exists.
    fn has_key(&mut self, key: &str) -> Result<bool, StoreError>;
    /// The customer's entries from `source` whose key starts with `key_prefix`.
    fn count_entries(&mut self, customer_id: i64, source: &str, key_prefix: &str) -> Result<i64, StoreError>;
    /// Stores what an order did.
    fn record_effect(&mut self, effect: OrderEffect) -> Result<(), StoreError>;
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
    fn referrer_of(&mut self, customer_id: i64) -> Result<Option<i64>, StoreError> {
        loyalty::referrer_of(self.0, customer_id)
    }
    fn has_key(&mut self, key: &str) -> Result<bool, StoreError> {
        loyalty::has_key(self.0, key)
    }
    fn count_entries(&mut self, customer_id: i64, source: &str, key_prefix: &str) -> Result<i64, StoreError> {
        loyalty::count_entries(self.0, customer_id, source, key_prefix)
    }
    fn record_effect(&mut self, effect: OrderEffect) -> Result<(), StoreError> {
        loyalty::insert_effect(self.0, &effect)
    }
}

/// A ledger entry waiting to be written, with the lot it opens (`lot_remaining`), if any.
pub(crate) struct PendingEntry {
    customer_id: i64,
    kind: String,
    points: i64,
    source: String,
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
            kind: e.kind.to_string(),
            points: e.points,
            source: e.source.to_string(),
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
            kind: &self.kind,
            points: self.points,
            source: &self.source,
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
/// of the batch's customers is read in a few queries when it opens, kept in memory while the
/// orders are evaluated in order, and written with multi-row inserts by [`OrderBatch::write`].
/// The batch's accounts are locked when it opens (on PostgreSQL; SQLite has one writer), so a
/// concurrent redemption waits for the import. Nothing else may write loyalty state in the same
/// transaction until the batch is written.
pub struct OrderBatch<'c> {
    c: &'c mut dyn Conn,
    accounts: FxHashMap<i64, LoyaltyAccount>,
    bases: FxHashMap<i64, Vec<EarnedBasis>>,
    memberships: FxHashMap<i64, Membership>,
    referrers: FxHashMap<i64, i64>,
    promotion_spent: Option<BTreeMap<String, i64>>,
    promotion_added: BTreeMap<String, i64>,
    entries: Vec<PendingEntry>,
    keys: FxHashSet<String>,
    coupons: Vec<Coupon>,
    tier_changes: Vec<TierChangeRecord>,
    effects: Vec<OrderEffect>,
}

impl<'c> OrderBatch<'c> {
    /// Opens the books of a batch whose orders under a programme belong to `customer_ids`.
    pub fn open(c: &'c mut dyn Conn, customer_ids: &[i64]) -> Result<OrderBatch<'c>, StoreError> {
        let mut ids = customer_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let with_codes: Vec<(i64, String)> = ids.iter().map(|&id| (id, referral_code(id))).collect();
        let accounts =
            loyalty::accounts_to_write_back(c, &with_codes)?.into_iter().map(|a| (a.customer_id, a)).collect();
        let mut bases: FxHashMap<i64, Vec<EarnedBasis>> = FxHashMap::default();
        for b in loyalty::earned_bases(c, &ids)? {
            bases.entry(b.customer_id).or_default().push(b);
        }
        let memberships = loyalty::current_memberships(c, &ids)?.into_iter().map(|m| (m.customer_id, m)).collect();
        let referrers = loyalty::referrers_of(c, &ids)?.into_iter().collect();
        Ok(OrderBatch {
            c,
            accounts,
            bases,
            memberships,
            referrers,
            promotion_spent: None,
            promotion_added: BTreeMap::new(),
            entries: Vec::new(),
            keys: FxHashSet::default(),
            coupons: Vec::new(),
            tier_changes: Vec::new(),
            effects: Vec::new(),
        })
    }

    /// Writes everything the batch's orders did.
    pub fn write(self) -> Result<(), StoreError> {
        let c = self.c;
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
        loyalty::insert_effects(c, &self.effects)?;
        loyalty::insert_tier_changes(c, &self.tier_changes)?;
        loyalty::insert_coupons(c, &self.coupons)?;
        for (id, points) in &self.promotion_added {
            loyalty::add_promotion_spend(c, id, *points)?;
        }
        let mut accounts: Vec<LoyaltyAccount> = self.accounts.into_values().collect();
        accounts.sort_unstable_by_key(|a| a.customer_id);
        loyalty::save_accounts(c, &accounts)
    }
}

impl OrderBooks for OrderBatch<'_> {
    fn account(&mut self, customer_id: i64) -> Result<LoyaltyAccount, StoreError> {
        if !self.accounts.contains_key(&customer_id) {
            // A customer outside the batch (a referrer).
            let acct = loyalty::account_for_update(self.c, customer_id, &referral_code(customer_id))?;
            self.accounts.insert(customer_id, acct);
        }
        Ok(self.accounts[&customer_id].clone())
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
        if self.promotion_spent.is_none() {
            self.promotion_spent =
                Some(loyalty::promotion_spend(self.c)?.into_iter().map(|(id, s, _)| (id, s)).collect());
        }
        let mut spent = self.promotion_spent.clone().unwrap_or_default();
        for (id, added) in &self.promotion_added {
            *spent.entry(id.clone()).or_default() += added;
        }
        Ok(spent)
    }
    fn add_promotion_spend(&mut self, promotion_id: &str, points: i64) -> Result<(), StoreError> {
        *self.promotion_added.entry(promotion_id.to_string()).or_default() += points;
        Ok(())
    }
    fn credit(&mut self, acct: &mut LoyaltyAccount, entry: &NewEntry<'_>) -> Result<bool, StoreError> {
        // The keys of a new order's entries are new; a referral key is checked by the caller.
        self.keys.insert(entry.idempotency_key.to_string());
        let mut pending = PendingEntry::of(entry);
        pending.lot_remaining = book::apply_credit(acct, entry.points);
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
    fn referrer_of(&mut self, customer_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(self.referrers.get(&customer_id).copied())
    }
    fn has_key(&mut self, key: &str) -> Result<bool, StoreError> {
        Ok(self.keys.contains(key) || loyalty::has_key(self.c, key)?)
    }
    fn count_entries(&mut self, customer_id: i64, source: &str, key_prefix: &str) -> Result<i64, StoreError> {
        let pending = self
            .entries
            .iter()
            .filter(|e| e.customer_id == customer_id && e.source == source && e.idempotency_key.starts_with(key_prefix))
            .count() as i64;
        Ok(pending + loyalty::count_entries(self.c, customer_id, source, key_prefix)?)
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
}
