//! No operation can wrap a balance, and books an older version let wrap are verified without
//! an error and repaired; on SQLite and PostgreSQL.

use enishi_core::BusinessClock;
use enishi_rewards::{Adjustment, LoyaltyError, Programs};
use enishi_store::repo::{customers, loyalty};
use enishi_store::{testing, Conn, CustomerUpsert, Store, StoreError};

const NOW: i64 = 1_790_000_000;

fn setup(s: &Store) -> i64 {
    s.write(|c| -> Result<i64, LoyaltyError> {
        let doc = enishi_loyalty::starter("cafe").unwrap();
        enishi_rewards::apply_program(c, doc, BusinessClock::default(), "test")?;
        let u = CustomerUpsert { external_id: Some("C-1".parse().unwrap()), ..Default::default() };
        Ok(customers::upsert(c, &u)?.id())
    })
    .unwrap()
}

fn adjust(s: &Store, customer_id: i64, points: i64, key: &str) -> Result<(i64, bool), LoyaltyError> {
    s.write(|c| {
        let programs = Programs::load(c, BusinessClock::default())?;
        let a = Adjustment { customer_id, points, reason: "test", idempotency_key: key, by: "test" };
        enishi_rewards::adjust(c, &programs, &a, NOW)
    })
}

#[test]
fn the_most_negative_adjustment_is_refused_and_the_books_stay_whole() {
    for db in testing::all() {
        let s = &db.store;
        let id = setup(s);
        adjust(s, id, 500, "a").unwrap();
        for points in [i64::MIN, i64::MIN + 1, i64::MAX, -10_000_001, 10_000_001] {
            let e = adjust(s, id, points, &format!("k{points}")).unwrap_err();
            assert!(matches!(&e, LoyaltyError::Invalid { field, .. } if field == "points"), "{points}: {e:?}");
        }
        assert_eq!(adjust(s, id, -10_000_000, "b").unwrap().0, 500 - 10_000_000);
        let (checked, bad) = s.read(enishi_rewards::verify).unwrap();
        assert_eq!((checked, bad), (1, vec![]));
    }
}

/// Writes what an older version wrote for an adjustment of i64::MIN on a balance of 500: the
/// entry, a wrapped balance and a lot left with a wrapped remainder.
fn corrupt(c: &mut dyn Conn, customer_id: i64) -> Result<(), StoreError> {
    let entry = |points, key| loyalty::NewEntry {
        customer_id,
        kind: "adjust",
        points,
        source: "manual",
        source_ref: None,
        program_version: Some(1),
        idempotency_key: key,
        reason: Some("old"),
        detail: "{}",
        occurred_at: NOW,
        available_at: NOW,
        expires_at: None,
    };
    let credit = loyalty::append(c, &entry(500, "old:1"))?.unwrap();
    loyalty::insert_lot(
        c,
        &loyalty::Lot { ledger_id: credit, customer_id, remaining: 500, available_at: NOW, expires_at: None },
    )?;
    loyalty::append(c, &entry(i64::MIN, "old:2"))?;
    loyalty::set_lot_remaining(c, credit, 500i64.wrapping_sub(i64::MIN))?;
    let mut acct = loyalty::account_for_update(c, customer_id, "REF")?;
    acct.balance = 500i64.wrapping_add(i64::MIN).wrapping_sub(1).wrapping_neg(); // any wrapped value
    loyalty::save_account(c, &acct)
}

#[test]
fn verify_reports_a_wrapped_ledger_and_repair_mends_it_in_the_ledger() {
    for db in testing::all() {
        let s = &db.store;
        let id = setup(s);
        s.write(|c| corrupt(c, id)).unwrap();
        // Verify sums in a wider type: it reports, it does not fail.
        let (_, bad) = s.read(enishi_rewards::verify).unwrap();
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].ledger, 500 + i128::from(i64::MIN));

        let repaired = s.write(|c| enishi_rewards::repair(c, NOW + 60)).unwrap();
        assert_eq!(repaired.len(), 1, "{repaired:?}");
        assert_eq!(repaired[0].balance_after, 500, "the bad entry is voided, the good one kept");
        assert_eq!(repaired[0].lots_after, 500);
        assert_eq!(s.read(enishi_rewards::verify).unwrap().1, vec![]);
        // Every change is in the ledger, as corrections; a second run changes nothing.
        let corrections =
            s.read(|c| loyalty::entries(c, id, 100, 0)).unwrap().into_iter().filter(|e| e.kind == "correction").count();
        assert_eq!(corrections, 3, "two entries void i64::MIN, one records the re-derived books");
        assert_eq!(s.write(|c| enishi_rewards::repair(c, NOW + 120)).unwrap(), vec![]);
        // The customer can use the points again.
        assert_eq!(adjust(s, id, -100, "after").unwrap().0, 400);
        assert_eq!(s.read(enishi_rewards::verify).unwrap().1, vec![]);
    }
}
