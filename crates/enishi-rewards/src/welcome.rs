//! The welcome perk of a customer who joins on the public join page (the programme's `join`:
//! bonus points and/or a reward issued as a coupon), given once per customer.

use crate::book;
use crate::codes::referral_code;
use crate::orders::issue_coupon;
use crate::programs::Programs;
use enishi_loyalty::expires_at;
use enishi_store::repo::loyalty::{self, NewEntry};
use enishi_store::{instant, Conn, StoreError};
use serde::Serialize;

/// The welcome perk given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Welcome {
    /// Bonus points credited.
    pub points: i64,
    /// The code of the coupon issued, if the perk is a reward.
    pub coupon: Option<String>,
}

/// Gives customer `customer_id` the programme's join perk at `now`: a `bonus` entry in the
/// ledger (source `join`, key `join:{customer}`; an entry of 0 points when the perk is only a
/// reward, so that the key marks it given) and the reward's coupon. `None` when the programme
/// has no join perk or the customer has had it already (nothing written).
pub fn welcome(
    c: &mut dyn Conn,
    programs: &Programs,
    customer_id: i64,
    now: i64,
) -> Result<Option<Welcome>, StoreError> {
    let Some((version, p)) = programs.latest() else { return Ok(None) };
    let Some(perk) = &p.doc.join else { return Ok(None) };
    let key = format!("join:{customer_id}");
    if loyalty::has_key(c, &key)? {
        return Ok(None);
    }
    let mut acct = loyalty::account_for_update(c, customer_id, &referral_code(customer_id))?;
    let entry = NewEntry {
        customer_id,
        kind: "bonus",
        points: perk.points,
        source: "join",
        source_ref: None,
        program_version: Some(version),
        idempotency_key: &key,
        reason: Some("joined"),
        detail: "{}",
        occurred_at: now,
        available_at: now,
        expires_at: expires_at(p.doc.expiry, instant(now), programs.clock()).map(|t| t.timestamp()),
    };
    if !book::credit(c, &mut acct, &entry)? {
        return Ok(None);
    }
    let coupon = match &perk.reward {
        Some(reward) => Some(issue_coupon(c, p, customer_id, reward, "join", &key, now)?.code),
        None => None,
    };
    loyalty::save_account(c, &acct)?;
    Ok(Some(Welcome { points: perk.points, coupon }))
}
