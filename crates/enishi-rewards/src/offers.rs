//! Personal offers: the programme's `offers`, each a coupon or bonus points given to every
//! member of a saved segment when staff issue it, once per customer and round.

use crate::book;
use crate::codes::referral_code;
use crate::orders::coupon_for;
use crate::programs::Programs;
use crate::{invalid, LoyaltyError};
use enishi_loyalty::program::{Offer, ProductChoice};
use enishi_store::repo::loyalty::{self, BoughtUnits, NewEntry};
use enishi_store::{instant, Conn};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

/// How far back a personal offer looks for the product a customer buys most.
pub const PRODUCT_LOOKBACK_DAYS: i64 = 365;

/// What issuing a personal offer did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferIssue {
    /// The offer's id.
    pub offer: String,
    /// The round it was issued in.
    pub round: String,
    /// Members of its segment today.
    pub members: usize,
    /// Members given it now.
    pub issued: usize,
    /// Members who had it in this round already (given nothing more).
    pub already: usize,
    /// Members without a product to name (nothing bought that qualifies), given nothing.
    pub without_product: usize,
}

/// The ledger key that marks `offer` given to `customer_id` in `round`.
fn offer_key(offer: &str, round: &str, customer_id: i64) -> String {
    format!("offer:{offer}:{round}:{customer_id}")
}

/// Gives personal offer `offer_id` of the programme in force to every member of its segment
/// as of today: a `bonus` entry in the ledger (source `offer`; 0 points when the offer is a
/// coupon, so that its key marks it given) and, for a coupon, the reward's coupon valid for
/// the offer's days, naming the product chosen for the customer. Each customer gets it once
/// per `round` (`once` when none is given): issuing again gives only the new members.
pub fn issue_offer(
    c: &mut dyn Conn,
    programs: &Programs,
    offer_id: &str,
    round: Option<&str>,
    now: i64,
) -> Result<OfferIssue, LoyaltyError> {
    let (version, p) = programs.require()?;
    let offer =
        p.offer(offer_id).ok_or_else(|| invalid("offer", format!("'{offer_id}' is not in the programme's offers")))?;
    let round = round.map(str::trim).unwrap_or("once");
    if round.is_empty() || round.len() > 64 || !round.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
    {
        return Err(invalid("round", "must be 1 to 64 letters, digits, '-', '_' or '.' (such as 2026-12)"));
    }
    let clock = programs.clock();
    let members = crate::segment_members::members(c, &offer.segment, clock.day_number(instant(now)), clock)?;
    let keys: Vec<String> = members.iter().map(|&id| offer_key(&offer.id, round, id)).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let given: FxHashSet<String> = loyalty::existing_keys(c, &key_refs)?.into_iter().collect();
    let mut report = OfferIssue {
        offer: offer.id.clone(),
        round: round.to_string(),
        members: members.len(),
        issued: 0,
        already: given.len(),
        without_product: 0,
    };
    let wanting: Vec<(i64, &str)> =
        members.iter().zip(&key_refs).filter(|(_, k)| !given.contains(**k)).map(|(&id, &k)| (id, k)).collect();
    let products = match offer.product {
        Some(ProductChoice::MostBought) => {
            let ids: Vec<i64> = wanting.iter().map(|w| w.0).collect();
            let since = now - PRODUCT_LOOKBACK_DAYS * 86_400;
            Some(most_bought(loyalty::bought_units(c, &ids, since)?, &offer.product_categories))
        }
        None => None,
    };
    let valid_until = now + offer.valid_days * 86_400;
    for (customer_id, key) in wanting {
        let sku = match &products {
            Some(chosen) => match chosen.get(&customer_id) {
                Some(sku) => Some(sku.clone()),
                None => {
                    report.without_product += 1;
                    continue;
                }
            },
            None => None,
        };
        give(c, version, p, offer, customer_id, key, sku, now, valid_until)?;
        report.issued += 1;
    }
    Ok(report)
}

/// Gives `offer` to one customer under `key` (see [`issue_offer`]).
#[allow(clippy::too_many_arguments)]
fn give(
    c: &mut dyn Conn,
    version: i64,
    p: &enishi_loyalty::Program,
    offer: &Offer,
    customer_id: i64,
    key: &str,
    sku: Option<String>,
    now: i64,
    valid_until: i64,
) -> Result<(), LoyaltyError> {
    let mut acct = loyalty::account_for_update(c, customer_id, &referral_code(customer_id))?;
    let entry = NewEntry {
        customer_id,
        kind: "bonus",
        points: offer.points.unwrap_or(0),
        source: "offer",
        source_ref: Some(&offer.id),
        program_version: Some(version),
        idempotency_key: key,
        reason: Some(&offer.name),
        detail: "{}",
        occurred_at: now,
        available_at: now,
        expires_at: offer.points.map(|_| valid_until),
    };
    if !book::credit(c, &mut acct, &entry)? {
        return Ok(()); // given by a concurrent issue of the same round
    }
    if let Some(reward) = &offer.reward {
        let mut coupon = coupon_for(p, customer_id, reward, "offer", key, now)?;
        coupon.valid_until = valid_until;
        coupon.sku = sku;
        loyalty::insert_coupon(c, &coupon)?;
    }
    loyalty::save_account(c, &acct)?;
    Ok(())
}

/// Each customer's most bought product among `bought` (most units; on a tie the one bought
/// last, then the lowest SKU), counting only lines in `categories` when any are given.
fn most_bought(bought: Vec<BoughtUnits>, categories: &[String]) -> FxHashMap<i64, String> {
    let mut units: FxHashMap<(i64, String), (i64, i64)> = FxHashMap::default();
    for b in bought {
        if !categories.is_empty() && !b.category.as_ref().is_some_and(|c| categories.contains(c)) {
            continue;
        }
        let e = units.entry((b.customer_id, b.sku)).or_insert((0, i64::MIN));
        e.0 = e.0.saturating_add(b.units);
        e.1 = e.1.max(b.last_at);
    }
    let mut best: FxHashMap<i64, (i64, i64, String)> = FxHashMap::default();
    for ((customer, sku), (n, last)) in units {
        let better = |(bn, blast, bsku): &(i64, i64, String)| {
            (n, last) > (*bn, *blast) || ((n, last) == (*bn, *blast) && sku < *bsku)
        };
        match best.get(&customer) {
            Some(b) if !better(b) => {}
            _ => {
                best.insert(customer, (n, last, sku));
            }
        }
    }
    best.into_iter().map(|(customer, (_, _, sku))| (customer, sku)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(customer_id: i64, sku: &str, category: Option<&str>, units: i64, last_at: i64) -> BoughtUnits {
        BoughtUnits { customer_id, sku: sku.into(), category: category.map(Into::into), units, last_at }
    }

    #[test]
    fn the_most_bought_product_wins_then_the_latest_then_the_lowest_sku() {
        let chosen = most_bought(
            vec![
                b(1, "beans", Some("coffee"), 3, 10),
                b(1, "cake", Some("food"), 5, 5),
                b(2, "beans", Some("coffee"), 2, 10),
                b(2, "drip", Some("coffee"), 2, 20),
                b(3, "b", None, 1, 7),
                b(3, "a", None, 1, 7),
                // One product under two categories counts as one.
                b(4, "beans", Some("coffee"), 2, 1),
                b(4, "beans", Some("gift"), 2, 1),
                b(4, "drip", Some("coffee"), 3, 9),
            ],
            &[],
        );
        assert_eq!(chosen[&1], "cake");
        assert_eq!(chosen[&2], "drip", "a tie goes to the one bought last");
        assert_eq!(chosen[&3], "a", "then to the lowest SKU");
        assert_eq!(chosen[&4], "beans");
    }

    #[test]
    fn categories_limit_the_products_considered() {
        let only_coffee = most_bought(
            vec![
                b(1, "beans", Some("coffee"), 3, 10),
                b(1, "cake", Some("food"), 5, 5),
                b(2, "cake", Some("food"), 1, 1),
            ],
            &["coffee".to_string()],
        );
        assert_eq!(only_coffee.get(&1).map(String::as_str), Some("beans"));
        assert_eq!(only_coffee.get(&2), None, "nothing qualifying bought");
    }
}
