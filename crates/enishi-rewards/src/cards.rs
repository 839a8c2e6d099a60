//! Stamp cards as a customer's loyalty account stores them: a JSON object of card id →
//! [stamps, last stamp day].

use enishi_loyalty::CardState;
use enishi_store::repo::loyalty::LoyaltyAccount;
use std::collections::BTreeMap;

/// The stamp cards of an account.
pub(crate) fn cards_of(acct: &LoyaltyAccount) -> BTreeMap<String, CardState> {
    parse_cards(&acct.cards)
}

/// Stamp cards stored as JSON: card id → [stamps, last stamp day].
pub(crate) fn parse_cards(json: &str) -> BTreeMap<String, CardState> {
    let raw: BTreeMap<String, (i64, Option<i64>)> = serde_json::from_str(json).unwrap_or_default();
    raw.into_iter().map(|(k, (stamps, last_day))| (k, CardState { stamps, last_day })).collect()
}

/// Keeps `cards` in the account.
pub(crate) fn store_cards(acct: &mut LoyaltyAccount, cards: &BTreeMap<String, CardState>) {
    let raw: BTreeMap<&String, (i64, Option<i64>)> = cards.iter().map(|(k, v)| (k, (v.stamps, v.last_day))).collect();
    acct.cards = serde_json::to_string(&raw).expect("cards serialize");
}
