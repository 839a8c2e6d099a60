//! What a return takes back: points in proportion to what was refunded, tier progress, and,
//! on a full return, the order's stamps. A return sent through the API is taken back straight
//! in the database ([`on_return`]); the returns an import has just stored are taken back
//! together from state read in a few queries ([`ReturnBatch`]). Both leave the same ledger,
//! lots, effects and accounts.

use crate::book;
use crate::books::PendingEntry;
use crate::cards::{cards_of, store_cards};
use crate::codes::referral_code;
use chrono::{DateTime, Utc};
use enishi_core::Amount;
use enishi_loyalty::reversal_due;
use enishi_store::repo::loyalty::{self, Lot, LoyaltyAccount, NewEntry, OrderEffect};
use enishi_store::repo::orders::{self, Refunds};
use enishi_store::{Conn, StoreError};
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// A stored return, as the loyalty programme sees it.
#[derive(Debug, Clone, Copy)]
pub struct ReturnFacts<'a> {
    /// The original order (Enishi id).
    pub order_id: i64,
    /// The shop's return id.
    pub return_ref: &'a str,
    /// When.
    pub returned_at: DateTime<Utc>,
    /// Why.
    pub reason: Option<&'a str>,
    /// The amount refunded.
    pub amount: Amount,
    /// Who recorded it, when a person or a token did (not an import).
    pub by: Option<&'a str>,
}

/// Takes back, in proportion to what was refunded, the points an order earned, and its tier
/// progress; a full return also undoes its stamps. Points already spent become a debt that
/// blocks redemption until earned back. Call it after the return is stored. Returns the
/// points taken back.
pub fn on_return(c: &mut dyn Conn, ret: &ReturnFacts<'_>) -> Result<i64, StoreError> {
    take_back(&mut Live(c), ret)
}

/// Takes back what an order earned, for a return stored with it in `books`.
fn take_back(books: &mut dyn ReturnBooks, ret: &ReturnFacts<'_>) -> Result<i64, StoreError> {
    let Some(effect) = books.effect(ret.order_id)? else { return Ok(0) };
    let order = books.refunds(ret)?;
    let total = order.total.to_scaled();
    let returned = order.returned.to_scaled();
    let points = reversal_due(effect.points, total, returned, effect.reversed_points);
    let qualifying = reversal_due(effect.qualifying, total, returned, effect.reversed_qualifying);
    let full = returned >= total;
    let mut acct = books.account(order.customer_id)?;
    let at = ret.returned_at.timestamp();
    if points > 0 {
        let own = books.own_entries(&effect, &order.order_ref)?;
        let mut detail = json!({ "order_id": order.order_ref, "returned_amount": order.returned });
        if let Some(by) = ret.by {
            detail["by"] = json!(by);
        }
        let detail = detail.to_string();
        books.debit(
            &mut acct,
            &NewEntry {
                customer_id: order.customer_id,
                kind: "reverse",
                points: -points,
                source: "return",
                source_ref: Some(ret.return_ref),
                program_version: Some(effect.program_version),
                idempotency_key: &format!("return:{}", ret.return_ref),
                reason: ret.reason,
                detail: &detail,
                occurred_at: at,
                available_at: at,
                expires_at: None,
            },
            &own,
        )?;
    }
    let undo_stamps = full && !effect.stamps_undone;
    if undo_stamps {
        let ids: Vec<String> = serde_json::from_str(&effect.stamps).unwrap_or_default();
        let mut cards = cards_of(&acct);
        for id in ids {
            if let Some(card) = cards.get_mut(&id) {
                card.stamps = (card.stamps - 1).max(0);
                if card.last_day == Some(effect.placed_day) {
                    card.last_day = None;
                }
            }
        }
        store_cards(&mut acct, &cards);
    }
    books.set_reversed(OrderEffect {
        reversed_points: effect.reversed_points + points,
        reversed_qualifying: effect.reversed_qualifying + qualifying,
        stamps_undone: effect.stamps_undone || undo_stamps,
        ..effect
    })?;
    books.save_account(&acct)?;
    Ok(points)
}

/// What taking back an order's points reads and writes.
trait ReturnBooks {
    /// What the order earned, if it earned under a programme.
    fn effect(&mut self, order_id: i64) -> Result<Option<OrderEffect>, StoreError>;
    /// The return's order, with what was refunded of it up to and including the return.
    fn refunds(&mut self, ret: &ReturnFacts<'_>) -> Result<Refunds, StoreError>;
    /// The customer's loyalty state, for update.
    fn account(&mut self, customer_id: i64) -> Result<LoyaltyAccount, StoreError>;
    /// The entries of the order's own points (purchase and promotions).
    fn own_entries(&mut self, effect: &OrderEffect, order_ref: &str) -> Result<Vec<i64>, StoreError>;
    /// Posts a debit, taking the points from the lots in `prefer` first (see [`book::debit`]).
    fn debit(&mut self, acct: &mut LoyaltyAccount, e: &NewEntry<'_>, prefer: &[i64]) -> Result<bool, StoreError>;
    /// Stores what returns have taken back from the order so far.
    fn set_reversed(&mut self, effect: OrderEffect) -> Result<(), StoreError>;
    /// Writes the state back.
    fn save_account(&mut self, acct: &LoyaltyAccount) -> Result<(), StoreError>;
}

/// The books as the database holds them, one statement at a time.
struct Live<'c>(&'c mut dyn Conn);

impl ReturnBooks for Live<'_> {
    fn effect(&mut self, order_id: i64) -> Result<Option<OrderEffect>, StoreError> {
        loyalty::effect(self.0, order_id)
    }
    fn refunds(&mut self, ret: &ReturnFacts<'_>) -> Result<Refunds, StoreError> {
        orders::refunds_of(self.0, &[ret.order_id])?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("order {}", ret.order_id)))
    }
    fn account(&mut self, customer_id: i64) -> Result<LoyaltyAccount, StoreError> {
        loyalty::account_for_update(self.0, customer_id, &referral_code(customer_id))
    }
    fn own_entries(&mut self, effect: &OrderEffect, order_ref: &str) -> Result<Vec<i64>, StoreError> {
        loyalty::own_entry_ids(self.0, effect.customer_id, effect.placed_at, order_ref)
    }
    fn debit(&mut self, acct: &mut LoyaltyAccount, e: &NewEntry<'_>, prefer: &[i64]) -> Result<bool, StoreError> {
        book::debit(self.0, acct, e, prefer, None)
    }
    fn set_reversed(&mut self, e: OrderEffect) -> Result<(), StoreError> {
        loyalty::set_reversed(self.0, e.order_id, e.reversed_points, e.reversed_qualifying, e.stamps_undone)
    }
    fn save_account(&mut self, acct: &LoyaltyAccount) -> Result<(), StoreError> {
        loyalty::save_account(self.0, acct)
    }
}

/// The books of the returns an import has just stored: what they need is read in a few
/// queries when the batch opens, the returns are taken back in order in memory
/// ([`ReturnBatch::take_back`]), and [`ReturnBatch::write`] writes the result. The accounts
/// involved are locked when it opens (on PostgreSQL). Nothing else may write loyalty state in
/// the same transaction until the batch is written.
pub struct ReturnBatch<'c> {
    c: &'c mut dyn Conn,
    effects: HashMap<i64, OrderEffect>,
    reversed: HashSet<i64>,
    /// Each order, with what was refunded of it before the batch's returns.
    refunds: HashMap<i64, Refunds>,
    accounts: HashMap<i64, LoyaltyAccount>,
    /// The open lots of orders' own entries, by (customer, when the order was placed, the shop's
    /// order id).
    own: HashMap<(i64, i64, String), Vec<i64>>,
    lots: HashMap<i64, Vec<Lot>>,
    lots_changed: HashMap<i64, i64>,
    used_keys: HashSet<String>,
    entries: Vec<PendingEntry>,
}

impl<'c> ReturnBatch<'c> {
    /// Opens the books of `returns`, stored already, in the order they will be taken back.
    pub fn open(c: &'c mut dyn Conn, returns: &[ReturnFacts<'_>]) -> Result<ReturnBatch<'c>, StoreError> {
        let mut order_ids: Vec<i64> = returns.iter().map(|r| r.order_id).collect();
        order_ids.sort_unstable();
        order_ids.dedup();
        let effects: HashMap<i64, OrderEffect> =
            loyalty::effects_of(c, &order_ids)?.into_iter().map(|e| (e.order_id, e)).collect();
        let earned: Vec<i64> = order_ids.iter().copied().filter(|id| effects.contains_key(id)).collect();
        let mut refunds: HashMap<i64, Refunds> =
            orders::refunds_of(c, &earned)?.into_iter().map(|r| (r.order_id, r)).collect();
        // The stored sums hold the batch's returns already: take them out, to add each back as
        // its turn comes.
        for r in returns {
            if let Some(o) = refunds.get_mut(&r.order_id) {
                o.returned = o.returned - r.amount;
            }
        }
        let mut customers: Vec<(i64, String)> =
            refunds.values().map(|o| (o.customer_id, referral_code(o.customer_id))).collect();
        customers.sort_unstable();
        customers.dedup();
        let customer_ids: Vec<i64> = customers.iter().map(|(id, _)| *id).collect();
        let accounts =
            loyalty::accounts_to_write_back(c, &customers)?.into_iter().map(|a| (a.customer_id, a)).collect();
        // An order's own entries matter only for the lots they still have open: the points
        // taken back come from those first.
        let mut own: HashMap<(i64, i64, String), Vec<i64>> = HashMap::new();
        let mut lots: HashMap<i64, Vec<Lot>> = HashMap::new();
        for loyalty::OpenLot { lot, order } in loyalty::open_lots_with_orders_of(c, &customer_ids)? {
            if let Some((placed_at, order_ref)) = order {
                own.entry((lot.customer_id, placed_at, order_ref)).or_default().push(lot.ledger_id);
            }
            lots.entry(lot.customer_id).or_default().push(lot);
        }
        let keys: Vec<String> = returns.iter().map(|r| format!("return:{}", r.return_ref)).collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let used_keys = loyalty::existing_keys(c, &key_refs)?.into_iter().collect();
        Ok(ReturnBatch {
            c,
            effects,
            reversed: HashSet::new(),
            refunds,
            accounts,
            own,
            lots,
            lots_changed: HashMap::new(),
            used_keys,
            entries: Vec::new(),
        })
    }

    /// Takes back what the return's order earned, as [`on_return`] does; returns the points.
    pub fn take_back(&mut self, ret: &ReturnFacts<'_>) -> Result<i64, StoreError> {
        take_back(self, ret)
    }

    /// Writes everything the batch's returns did.
    pub fn write(self) -> Result<(), StoreError> {
        let c = self.c;
        let news: Vec<NewEntry<'_>> = self.entries.iter().map(PendingEntry::as_new).collect();
        loyalty::append_new(c, &news)?;
        let mut lots: Vec<(i64, i64)> = self.lots_changed.into_iter().collect();
        lots.sort_unstable();
        for (ledger_id, remaining) in lots {
            loyalty::set_lot_remaining(c, ledger_id, remaining)?;
        }
        let mut reversed: Vec<i64> = self.reversed.into_iter().collect();
        reversed.sort_unstable();
        for id in reversed {
            let e = &self.effects[&id];
            loyalty::set_reversed(c, id, e.reversed_points, e.reversed_qualifying, e.stamps_undone)?;
        }
        let mut accounts: Vec<LoyaltyAccount> = self.accounts.into_values().collect();
        accounts.sort_unstable_by_key(|a| a.customer_id);
        loyalty::save_accounts(c, &accounts)
    }
}

impl ReturnBooks for ReturnBatch<'_> {
    fn effect(&mut self, order_id: i64) -> Result<Option<OrderEffect>, StoreError> {
        Ok(self.effects.get(&order_id).cloned())
    }
    fn refunds(&mut self, ret: &ReturnFacts<'_>) -> Result<Refunds, StoreError> {
        let o = self
            .refunds
            .get_mut(&ret.order_id)
            .ok_or_else(|| StoreError::NotFound(format!("order {}", ret.order_id)))?;
        o.returned = o.returned + ret.amount;
        Ok(o.clone())
    }
    fn account(&mut self, customer_id: i64) -> Result<LoyaltyAccount, StoreError> {
        self.accounts.get(&customer_id).cloned().ok_or_else(|| StoreError::NotFound(format!("account {customer_id}")))
    }
    fn own_entries(&mut self, effect: &OrderEffect, order_ref: &str) -> Result<Vec<i64>, StoreError> {
        let key = (effect.customer_id, effect.placed_at, order_ref.to_string());
        Ok(self.own.get(&key).cloned().unwrap_or_default())
    }
    fn debit(&mut self, acct: &mut LoyaltyAccount, e: &NewEntry<'_>, prefer: &[i64]) -> Result<bool, StoreError> {
        if !self.used_keys.insert(e.idempotency_key.to_string()) {
            return Ok(false);
        }
        let balance = book::add_points(acct.balance, e.points)?;
        self.entries.push(PendingEntry::of(e));
        acct.balance = balance;
        let lots = self.lots.entry(e.customer_id).or_default();
        for (ledger_id, remaining) in book::take_from_lots(lots, -e.points, prefer, None) {
            if let Some(lot) = lots.iter_mut().find(|l| l.ledger_id == ledger_id) {
                lot.remaining = remaining;
            }
            self.lots_changed.insert(ledger_id, remaining);
        }
        Ok(true)
    }
    fn set_reversed(&mut self, effect: OrderEffect) -> Result<(), StoreError> {
        self.reversed.insert(effect.order_id);
        self.effects.insert(effect.order_id, effect);
        Ok(())
    }
    fn save_account(&mut self, acct: &LoyaltyAccount) -> Result<(), StoreError> {
        self.accounts.insert(acct.customer_id, acct.clone());
        Ok(())
    }
}
