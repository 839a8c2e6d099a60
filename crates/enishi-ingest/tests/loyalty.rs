//! The loyalty programme end to end over the store, on SQLite and PostgreSQL: orders earn
//! through the intake, returns take back, redemptions are atomic, replays never earn twice, and
//! every balance re-derives from its ledger.

use enishi_core::BusinessClock;
use enishi_ingest::intake::{record_order, record_return, IntakeError, OrderInput, ReturnInput, Workspace};
use enishi_rewards::{LoyaltyError, MembershipAction, Programs};
use enishi_store::repo::jobs::{self, JobState};
use enishi_store::repo::{customers, loyalty, orders};
use enishi_store::{testing, Conn, Store, StoreError};
use serde_json::{json, Value};

fn ws() -> Workspace {
    Workspace::new(BusinessClock::default(), enishi_core::Currency::USD)
}

fn each(f: impl Fn(&Store)) {
    for db in testing::all() {
        eprintln!("backend: {:?}", db.store.backend());
        f(&db.store);
    }
}

fn apply(s: &Store, doc: Value) {
    s.write(|c| enishi_rewards::apply_program(c, &doc.to_string(), BusinessClock::default(), "test")).unwrap();
}

fn programs(c: &mut dyn Conn) -> Programs {
    Programs::load(c, BusinessClock::default()).unwrap()
}

fn order_input(id: &str, customer: &str, at: &str, total: &str, extra: Value) -> OrderInput {
    let mut v = json!({"order_id": id, "placed_at": at, "total": total, "customer": {"external_id": customer},
                       "lines": [{"sku": "X", "quantity": 1, "unit_price": total}]});
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in e {
            o.insert(k.clone(), val.clone());
        }
    }
    serde_json::from_value(v).unwrap()
}

/// Records an order; returns (points earned, balance after).
fn buy(s: &Store, id: &str, customer: &str, at: &str, total: &str) -> (i64, i64) {
    buy_with(s, order_input(id, customer, at, total, json!({})))
}

fn buy_with(s: &Store, input: OrderInput) -> (i64, i64) {
    s.write(|c| -> Result<_, IntakeError> {
        let p = programs(c);
        let (_, _, l) = record_order(c, &input, ws(), &p)?;
        let l = l.expect("a programme is in force");
        Ok((l.points_earned, l.balance))
    })
    .unwrap()
}

fn give_back(s: &Store, order: &str, ret: Value) -> i64 {
    let input: ReturnInput = serde_json::from_value(ret).unwrap();
    s.write(|c| record_return(c, order, &input, ws())).unwrap().2
}

fn customer_id(s: &Store, external: &str) -> i64 {
    s.read(|c| customers::get_by_external_id(c, external)).unwrap().expect("customer").id
}

fn balance(s: &Store, customer: i64) -> i64 {
    s.read(|c| loyalty::account(c, customer)).unwrap().map_or(0, |a| a.balance)
}

fn assert_ledger_consistent(s: &Store) {
    let (checked, bad) = s.read(enishi_rewards::verify).unwrap();
    assert!(bad.is_empty(), "mismatches among {checked}: {bad:?}");
}

const CLASSIC: &str = r#"{"name": "classic", "effective_from": "2026-01-01",
    "earning": {"points_per_unit": 1, "minimum_order": "10.00"},
    "promotions": [{"id": "double", "name": "Double points", "starts": "2026-11-13 18:00",
                    "ends": "2026-11-15 18:00", "multiplier": 2}]}"#;

#[test]
fn the_classic_programme_earns_and_a_return_takes_back() {
    each(|s| {
        apply(s, serde_json::from_str(CLASSIC).unwrap());
        assert_eq!(buy(s, "A-1", "C-1", "2026-11-01 10:00", "9.99").0, 0);
        assert_eq!(buy(s, "A-2", "C-1", "2026-11-01 11:00", "10.00").0, 10);
        assert_eq!(buy(s, "A-3", "C-1", "2026-11-02 11:00", "57.40").0, 57);
        assert_eq!(buy(s, "A-4", "C-1", "2026-11-14 12:00", "30").0, 60);
        assert_eq!(buy(s, "A-5", "C-1", "2026-11-15 18:01", "30").0, 30);
        let c1 = customer_id(s, "C-1");
        assert_eq!(balance(s, c1), 157);
        assert_eq!(give_back(s, "A-3", json!({"return_id": "R-3", "returned_at": "2026-11-16 10:00"})), 57);
        assert_eq!(balance(s, c1), 100);
        // The order before the programme took effect earns nothing, and says so.
        let before = order_input("A-0", "C-1", "2025-12-31 10:00", "50", json!({}));
        let answer = s
            .write(|c| -> Result<_, IntakeError> {
                let p = programs(c);
                Ok(record_order(c, &before, ws(), &p)?.2)
            })
            .unwrap();
        assert!(answer.is_none());
        assert_ledger_consistent(s);
    });
}

#[test]
fn partial_returns_take_back_in_proportion() {
    each(|s| {
        apply(s, serde_json::from_str(CLASSIC).unwrap());
        let input: OrderInput = serde_json::from_value(json!({
            "order_id": "P-1", "placed_at": "2026-11-01 10:00", "customer": {"external_id": "C-2"},
            "lines": [{"sku": "A", "quantity": 2, "unit_price": "25.00"}, {"sku": "B", "quantity": 1, "unit_price": "50.00"}]}))
        .unwrap();
        assert_eq!(buy_with(s, input).0, 100);
        let first = give_back(
            s,
            "P-1",
            json!({"return_id": "PR-1", "returned_at": "2026-11-02", "lines": [{"sku": "A", "quantity": 1}]}),
        );
        assert_eq!(first, 25);
        let rest = give_back(s, "P-1", json!({"return_id": "PR-2", "returned_at": "2026-11-03"}));
        assert_eq!(rest, 75, "the full return takes back exactly what is left");
        // A replayed return takes nothing more.
        assert_eq!(give_back(s, "P-1", json!({"return_id": "PR-2", "returned_at": "2026-11-03"})), 75);
        assert_eq!(balance(s, customer_id(s, "C-2")), 0);
        assert_ledger_consistent(s);
    });
}

#[test]
fn points_already_spent_become_a_debt_that_blocks_redemption() {
    each(|s| {
        apply(
            s,
            json!({"name": "d", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
                   "rewards": [{"id": "r", "name": "r", "cost": 80, "kind": "discount", "value": "5"}]}),
        );
        buy(s, "D-1", "C-3", "2026-11-01 10:00", "100");
        let id = customer_id(s, "C-3");
        let now = chrono::Utc::now().timestamp();
        s.write(|c| {
            let p = programs(c);
            enishi_rewards::redeem(c, &p, id, "r", "k1", now)
        })
        .unwrap();
        assert_eq!(give_back(s, "D-1", json!({"return_id": "DR-1", "returned_at": "2026-11-05"})), 100);
        assert_eq!(balance(s, id), -80);
        let err = s
            .write(|c| {
                let p = programs(c);
                enishi_rewards::redeem(c, &p, id, "r", "k2", now)
            })
            .unwrap_err();
        assert!(matches!(err, LoyaltyError::Debt(80)), "{err:?}");
        // New earnings pay off the debt first.
        buy(s, "D-2", "C-3", "2026-11-06 10:00", "100");
        assert_eq!(balance(s, id), 20);
        assert_ledger_consistent(s);
    });
}

#[test]
fn concurrent_redemptions_never_overspend() {
    each(|s| {
        apply(
            s,
            json!({"name": "c", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
                   "rewards": [{"id": "r", "name": "r", "cost": 100, "kind": "discount", "value": "5"}]}),
        );
        buy(s, "K-1", "C-4", "2026-11-01 10:00", "1050");
        let id = customer_id(s, "C-4");
        let now = chrono::Utc::now().timestamp();
        let outcomes: Vec<Result<(), String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..50)
                .map(|i| {
                    scope.spawn(move || {
                        s.write(|c| {
                            let p = programs(c);
                            enishi_rewards::redeem(c, &p, id, "r", &format!("key-{i}"), now)
                        })
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let won = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(won, 10, "{outcomes:?}");
        assert!(outcomes.iter().filter_map(|o| o.as_ref().err()).all(|e| e.contains("not enough points")));
        assert_eq!(balance(s, id), 50);
        assert_eq!(s.read(|c| loyalty::coupons(c, id)).unwrap().len(), 10);
        assert_ledger_consistent(s);
    });
}

#[test]
fn replaying_orders_leaves_every_balance_unchanged() {
    for db in testing::all() {
        let s = &db.store;
        // 10,000 orders on SQLite; 1,000 on PostgreSQL keeps the suite quick over the network.
        let n = if s.backend() == enishi_store::Backend::Sqlite { 10_000 } else { 1_000 };
        apply(s, serde_json::from_str(CLASSIC).unwrap());
        let inputs: Vec<OrderInput> = (0..n)
            .map(|i| {
                let at = format!("2026-{:02}-{:02} {:02}:00", 1 + i % 10, 1 + i % 28, i % 24);
                order_input(
                    &format!("O-{i}"),
                    &format!("C-{}", i % 500),
                    &at,
                    &format!("{}.{:02}", 5 + i % 90, i % 100),
                    json!({}),
                )
            })
            .collect();
        let run = |s: &Store| {
            s.write(|c| -> Result<(), IntakeError> {
                let p = programs(c);
                for input in &inputs {
                    record_order(c, input, ws(), &p)?;
                }
                Ok(())
            })
            .unwrap();
            s.read(loyalty::balance_audit).unwrap()
        };
        let first = run(s);
        let ledger_rows = s.read(|c| c.query_one("SELECT COUNT(*) FROM loyalty_ledger", &[])?.int(0)).unwrap();
        let second = run(s);
        assert_eq!(first, second);
        assert_eq!(first.len(), 500);
        // Computed apart: 1 point per whole unit of each order of 10.00 or more (no promotion
        // runs in January to October).
        let mut want = std::collections::BTreeMap::<String, i64>::new();
        for i in 0..n {
            let whole = 5 + i % 90;
            *want.entry(format!("C-{}", i % 500)).or_default() += if whole >= 10 { whole } else { 0 };
        }
        for (external, points) in &want {
            let id = customer_id(s, external);
            let stored = first.iter().find(|r| r.customer_id == id).map(|r| r.stored);
            assert_eq!(stored, Some(*points), "{external}");
        }
        let after = s.read(|c| c.query_one("SELECT COUNT(*) FROM loyalty_ledger", &[])?.int(0)).unwrap();
        assert_eq!(ledger_rows, after, "a replay writes no ledger entry");
        assert_ledger_consistent(s);
    }
}

const FULL: &str = r#"{
  "name": "full", "effective_from": "2026-01-01",
  "earning": {"points_per_unit": 1, "max_points_per_day": 500},
  "stamp_cards": [{"id": "card", "name": "3 visits", "stamps": 3, "minimum_spend": "3", "reward": "free"}],
  "tiers": {"basis": "spend", "window": {"rolling_days": 365}, "grace_days": 0,
            "levels": [{"id": "member", "name": "Member", "threshold": "0"},
                       {"id": "gold", "name": "Gold", "threshold": "200", "multiplier": "2"}]},
  "expiry": {"policy": "months_after_earning", "months": 1},
  "pending_days": 7,
  "referrals": {"referrer_points": 200, "referee_points": 100, "minimum_order": "10", "max_per_referrer": 1},
  "birthday": {"points": 50, "period": "month"},
  "rewards": [{"id": "free", "name": "Free coffee", "cost": 0, "kind": "free_item", "sku": "COFFEE"},
              {"id": "vip", "name": "VIP gift", "cost": 10, "kind": "free_item", "sku": "GIFT", "members_only": true}],
  "memberships": [{"id": "vip", "name": "VIP", "fee": "9.00", "period": "monthly", "multiplier": "3"}]
}"#;

#[test]
fn stamps_tiers_referrals_birthdays_memberships_and_expiry() {
    each(|s| {
        apply(s, serde_json::from_str(FULL).unwrap());
        // Stamps: one per day (S-2 gets none), the third completes the card and unlocks a coupon.
        buy(s, "S-1", "C-5", "2026-03-01 09:00", "4");
        buy(s, "S-2", "C-5", "2026-03-01 15:00", "4");
        buy(s, "S-3", "C-5", "2026-03-02 09:00", "4");
        let third = s
            .write(|c| -> Result<_, IntakeError> {
                let p = programs(c);
                let input = order_input("S-4", "C-5", "2026-03-03 09:00", "4", json!({}));
                let answer = record_order(c, &input, ws(), &p)?.2.unwrap();
                let input = order_input("S-5", "C-5", "2026-03-04 09:00", "4", json!({}));
                record_order(c, &input, ws(), &p)?;
                Ok(answer)
            })
            .unwrap();
        assert_eq!(third.rewards_unlocked.len(), 1);
        assert!(third.stamps[0].completed);
        let c5 = customer_id(s, "C-5");
        let now = chrono::Utc::now().timestamp();
        let summary = s
            .read(|c| {
                let p = programs(c);
                enishi_rewards::summary(c, &p, c5, now)
            })
            .unwrap();
        assert_eq!(summary.stamp_cards[0].stamps, 1, "the card restarted");
        assert_eq!(summary.coupons.len(), 1);

        // Tiers: crossing 200 upgrades at once; the next order earns double.
        let (_, _) = buy(s, "T-1", "C-6", "2026-04-01 10:00", "150");
        let up = s
            .write(|c| -> Result<_, IntakeError> {
                let p = programs(c);
                let input = order_input("T-2", "C-6", "2026-04-02 10:00", "60", json!({}));
                Ok(record_order(c, &input, ws(), &p)?.2.unwrap())
            })
            .unwrap();
        assert_eq!(up.tier_change, Some(enishi_rewards::TierMove { from: Some("member".into()), to: "gold".into() }));
        assert_eq!(buy(s, "T-3", "C-6", "2026-04-03 10:00", "10").0, 20);
        // The day cap holds.
        assert_eq!(buy(s, "T-4", "C-6", "2026-04-04 10:00", "400").0, 500);
        assert_eq!(buy(s, "T-5", "C-6", "2026-04-04 11:00", "100").0, 0);

        // Referrals: the new customer's first qualifying order rewards both; the cap holds.
        let c6 = customer_id(s, "C-6");
        let code = enishi_rewards::referral_code(c6);
        let before = balance(s, c6);
        let referred = order_input(
            "F-1",
            "C-7",
            "2026-05-01 10:00",
            "20",
            json!({"customer": {"external_id": "C-7", "referral_code": code}}),
        );
        let answer = buy_with(s, referred);
        assert_eq!(answer.0, 20);
        assert_eq!(balance(s, customer_id(s, "C-7")), 120);
        assert_eq!(balance(s, c6), before + 200);
        let second = order_input(
            "F-2",
            "C-8",
            "2026-05-02 10:00",
            "20",
            json!({"customer": {"external_id": "C-8", "referral_code": code}}),
        );
        buy_with(s, second);
        assert_eq!(balance(s, c6), before + 200, "max_per_referrer is 1");
        let self_ref = order_input(
            "F-3",
            "C-9",
            "2026-05-02 10:00",
            "20",
            json!({"customer": {"external_id": "C-9", "referral_code": "RNOSUCH00"}}),
        );
        let err = s
            .write(|c| -> Result<_, IntakeError> {
                let p = programs(c);
                record_order(c, &self_ref, ws(), &p)
            })
            .unwrap_err();
        assert!(err.to_string().contains("customer.referral_code"), "{err}");
        assert!(s.read(|c| customers::get_by_external_id(c, "C-9")).unwrap().is_none(), "nothing half-written");

        // Pending points cannot be spent; memberships multiply and unlock members' rewards.
        let c7 = customer_id(s, "C-7");
        let may_1 = BusinessClock::default().parse_timestamp("2026-05-02 10:00").unwrap().timestamp();
        let err = s
            .write(|c| {
                let p = programs(c);
                enishi_rewards::redeem(c, &p, c7, "vip", "m1", may_1)
            })
            .unwrap_err();
        assert!(matches!(err, LoyaltyError::Limit(_)), "{err:?}");
        s.write(|c| {
            let p = programs(c);
            enishi_rewards::membership(c, &p, c7, MembershipAction::Start, Some("vip"), may_1)
        })
        .unwrap();
        let err = s
            .write(|c| {
                let p = programs(c);
                enishi_rewards::redeem(c, &p, c7, "vip", "m2", may_1)
            })
            .unwrap_err();
        assert!(matches!(err, LoyaltyError::InsufficientPoints { available: 0, needed: 10 }), "{err:?}");

        // Expiry: a month after earning, the job writes expire entries for what is left.
        let june = BusinessClock::default().parse_timestamp("2026-06-15").unwrap().timestamp();
        let total = || s.read(loyalty::balance_audit).unwrap().iter().map(|a| a.stored).sum::<i64>();
        let (before, c7_before) = (total(), balance(s, c7));
        assert_eq!(c7_before, 120);
        let report = s
            .write(|c| {
                let p = programs(c);
                enishi_rewards::run_jobs(c, &p, june)
            })
            .unwrap();
        assert_eq!(report.points_expired, before - total(), "the report is what the balances lost");
        assert!(report.points_expired >= c7_before);
        assert_eq!(balance(s, c7), 0);
        let again = s
            .write(|c| {
                let p = programs(c);
                enishi_rewards::run_jobs(c, &p, june)
            })
            .unwrap();
        assert_eq!(again.points_expired, 0, "expiry is idempotent");
        assert_ledger_consistent(s);
    });
}

#[test]
fn birthdays_are_rewarded_once_a_year_and_tiers_fall_only_at_review() {
    each(|s| {
        apply(s, serde_json::from_str(FULL).unwrap());
        s.write(|c| -> Result<(), StoreError> {
            let mut u =
                enishi_store::CustomerUpsert { external_id: Some("B-1".parse().unwrap()), ..Default::default() };
            u.birthday = Some("1990-06-20".parse().unwrap());
            u.first_seen_at = Some(chrono::Utc::now());
            customers::upsert(c, &u)?;
            // Known only by the month (the join page's `birthday_month`), and one of another month.
            for (id, month) in [("B-2", 6), ("B-3", 7)] {
                let mut attributes = enishi_store::JsonMap::new();
                attributes.insert("birthday_month".into(), serde_json::json!(month));
                let u = enishi_store::CustomerUpsert {
                    external_id: Some(id.parse().unwrap()),
                    attributes: Some(attributes),
                    ..Default::default()
                };
                customers::upsert(c, &u)?;
            }
            Ok(())
        })
        .unwrap();
        let b1 = customer_id(s, "B-1");
        let b2 = customer_id(s, "B-2");
        let b3 = customer_id(s, "B-3");
        let june = BusinessClock::default().parse_timestamp("2026-06-02").unwrap().timestamp();
        let r = s
            .write(|c| {
                let p = programs(c);
                enishi_rewards::run_jobs(c, &p, june)
            })
            .unwrap();
        assert_eq!(r.birthday_rewards, 2, "the birthday and the month alone");
        s.write(|c| {
            let p = programs(c);
            enishi_rewards::run_jobs(c, &p, june + 86_400)
        })
        .unwrap();
        assert_eq!(balance(s, b1), 50, "once a year");
        assert_eq!(balance(s, b2), 50, "once a year");
        assert_eq!(balance(s, b3), 0, "born in July");

        // Gold in April 2026; a review in 2027 finds the rolling year empty and moves down.
        buy(s, "G-1", "C-10", "2026-04-01 10:00", "250");
        let c10 = customer_id(s, "C-10");
        let tier = |s: &Store| s.read(|c| loyalty::account(c, c10)).unwrap().unwrap().tier;
        assert_eq!(tier(s).as_deref(), Some("gold"));
        let may_2026 = BusinessClock::default().parse_timestamp("2026-05-01").unwrap().timestamp();
        s.write(|c| {
            let p = programs(c);
            enishi_rewards::run_jobs(c, &p, may_2026)
        })
        .unwrap();
        assert_eq!(tier(s).as_deref(), Some("gold"));
        let may_2027 = BusinessClock::default().parse_timestamp("2027-05-01").unwrap().timestamp();
        s.write(|c| {
            let p = programs(c);
            enishi_rewards::run_jobs(c, &p, may_2027)
        })
        .unwrap();
        assert_eq!(tier(s).as_deref(), Some("member"));
        let history = s.read(|c| loyalty::tier_history(c, c10)).unwrap();
        assert_eq!(history.iter().map(|h| h.to_tier.as_str()).collect::<Vec<_>>(), ["gold", "member"]);
        // A tier set by hand holds until its lock ends, then the review moves it down.
        let review = |at: i64| {
            s.write(|c| {
                let p = programs(c);
                enishi_rewards::run_jobs(c, &p, at)
            })
            .unwrap()
        };
        let lock_ends = may_2027 + 30 * 86_400;
        s.write(|c| {
            let p = programs(c);
            enishi_rewards::set_tier(c, &p, c10, "gold", "VIP guest", Some(lock_ends), may_2027)
        })
        .unwrap();
        review(lock_ends - 1);
        assert_eq!(tier(s).as_deref(), Some("gold"), "locked until {lock_ends}");
        review(lock_ends + 400 * 86_400);
        assert_eq!(tier(s).as_deref(), Some("member"), "the lock has ended");
        // A promotion that has started is announced once, on the outbox, for campaigns to send.
        let mut doc: Value = serde_json::from_str(FULL).unwrap();
        doc["promotions"] = json!([{"id": "now", "name": "Now", "starts": "2020-01-01", "ends": "2099-01-01", "bonus": 5, "tiers": ["gold"]}]);
        apply(s, doc);
        let now = chrono::Utc::now().timestamp();
        let report = s
            .write(|c| {
                let p = programs(c);
                enishi_rewards::run_jobs(c, &p, now)
            })
            .unwrap();
        assert_eq!(report.promotions_announced, 1);
        s.write(|c| {
            let p = programs(c);
            enishi_rewards::run_jobs(c, &p, now)
        })
        .unwrap();
        let messages = s.read(|c| jobs::list(c, Some("loyalty.promotion_started"), JobState::Queued, 10)).unwrap();
        assert_eq!(messages.len(), 1, "announced once");
        let payload: Value = serde_json::from_str(&messages[0].payload).unwrap();
        assert_eq!((payload["promotion_id"].as_str(), payload["tiers"][0].as_str()), (Some("now"), Some("gold")));
        assert_ledger_consistent(s);
    });
}

/// Unix seconds of a business-time stamp.
fn ts(at: &str) -> i64 {
    BusinessClock::default().parse_timestamp(at).unwrap().timestamp()
}

fn run_jobs_at(s: &Store, at: &str) -> enishi_rewards::JobReport {
    s.write(|c| {
        let p = programs(c);
        enishi_rewards::run_jobs(c, &p, ts(at))
    })
    .unwrap()
}

fn redeem_at(s: &Store, customer: i64, reward: &str, key: &str, at: &str) -> Result<i64, LoyaltyError> {
    s.write(|c| {
        let p = programs(c);
        enishi_rewards::redeem(c, &p, customer, reward, key, ts(at)).map(|(r, _)| r.points)
    })
}

/// Monthly expiry, a 60-point reward; version 1 (from 2026-01-01) never expires.
fn apply_two_versions(s: &Store) {
    apply(s, json!({"name": "v1", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1}}));
    apply(
        s,
        json!({"name": "v2", "effective_from": "2026-02-01", "earning": {"points_per_unit": 1},
               "expiry": {"policy": "months_after_earning", "months": 1},
               "rewards": [{"id": "r60", "name": "r", "cost": 60, "kind": "discount", "value": "1"}]}),
    );
}

#[test]
fn debits_take_the_soonest_expiring_points_first_and_never_expiring_ones_last() {
    each(|s| {
        apply_two_versions(s);
        buy(s, "N-1", "C-1", "2026-01-10 10:00", "100"); // never expires
        buy(s, "E-1", "C-1", "2026-02-01 10:00", "50"); // expires 2026-03-01 10:00
        buy(s, "E-2", "C-1", "2026-02-15 10:00", "30"); // expires 2026-03-15 10:00
        let c1 = customer_id(s, "C-1");
        assert_eq!(redeem_at(s, c1, "r60", "k1", "2026-02-20 10:00").unwrap(), 60);
        assert_eq!(balance(s, c1), 120);
        // The 60 came from E-1 (50) and E-2 (10): E-1 has nothing left to expire.
        assert_eq!(run_jobs_at(s, "2026-03-01 10:00").points_expired, 0);
        assert_eq!(balance(s, c1), 120);
        // E-2's 20 expire at exactly its expiry instant, not a second before.
        assert_eq!(run_jobs_at(s, "2026-03-15 09:59:59").points_expired, 0);
        assert_eq!(balance(s, c1), 120);
        let report = run_jobs_at(s, "2026-03-15 10:00");
        assert_eq!((report.lots_expired, report.points_expired), (1, 20));
        assert_eq!(balance(s, c1), 100, "the never-expiring points are untouched");
        assert_eq!(run_jobs_at(s, "2099-01-01").points_expired, 0);
        assert_ledger_consistent(s);
    });
}

#[test]
fn a_return_takes_back_its_own_orders_points_first() {
    each(|s| {
        apply_two_versions(s);
        buy(s, "F-1", "C-1", "2026-02-01 10:00", "100"); // expires 2026-03-01 10:00
        buy(s, "F-2", "C-1", "2026-02-10 10:00", "50"); // expires 2026-03-10 10:00
        let c1 = customer_id(s, "C-1");
        assert_eq!(give_back(s, "F-2", json!({"return_id": "FR-2", "returned_at": "2026-02-12 10:00"})), 50);
        // F-1's lot is whole, so all of it expires; had the return taken F-1's points (they
        // expire sooner), 50 would be left.
        assert_eq!(run_jobs_at(s, "2026-03-01 10:00").points_expired, 100);
        assert_eq!(balance(s, c1), 0);
        assert_eq!(run_jobs_at(s, "2026-03-10 10:00").points_expired, 0);
        assert_ledger_consistent(s);
    });
}

#[test]
fn pending_points_become_usable_at_exactly_their_available_instant() {
    each(|s| {
        apply(
            s,
            json!({"name": "p", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1}, "pending_days": 2,
                   "rewards": [{"id": "r40", "name": "r", "cost": 40, "kind": "discount", "value": "1"}]}),
        );
        buy(s, "P-1", "C-1", "2026-03-01 10:00", "40");
        let c1 = customer_id(s, "C-1");
        let at = |when: &str| {
            s.read(|c| {
                let p = programs(c);
                enishi_rewards::summary(c, &p, c1, ts(when))
            })
            .unwrap()
        };
        let before = at("2026-03-03 09:59:59");
        assert_eq!((before.available, before.pending, before.balance), (0, 40, 40));
        let err = redeem_at(s, c1, "r40", "early", "2026-03-03 09:59:59").unwrap_err();
        assert!(matches!(err, LoyaltyError::InsufficientPoints { available: 0, needed: 40 }), "{err:?}");
        let then = at("2026-03-03 10:00");
        assert_eq!((then.available, then.pending), (40, 0));
        assert_eq!(redeem_at(s, c1, "r40", "on-time", "2026-03-03 10:00").unwrap(), 40);
        assert_eq!(balance(s, c1), 0);
        let spent = redeem_at(s, c1, "r40", "again", "2026-03-03 10:00").unwrap_err();
        assert!(matches!(spent, LoyaltyError::InsufficientPoints { available: 0, needed: 40 }), "no debt: {spent:?}");
        assert_ledger_consistent(s);
    });
}

fn tiered(gold: &str, grace_days: i64) -> Value {
    json!({"name": "t", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
           "tiers": {"basis": "spend", "window": {"rolling_days": 365}, "grace_days": grace_days,
                     "levels": [{"id": "member", "name": "Member", "threshold": "0"},
                                {"id": "gold", "name": "Gold", "threshold": gold}]}})
}

#[test]
fn a_review_waits_out_the_grace_period_and_catches_up_on_lowered_thresholds() {
    each(|s| {
        apply(s, tiered("200", 30));
        buy(s, "T-1", "C-1", "2026-02-01 10:00", "50");
        let c1 = customer_id(s, "C-1");
        let tier = || s.read(|c| loyalty::account(c, c1)).unwrap().unwrap().tier;
        assert_eq!(tier().as_deref(), Some("member"));
        // Made gold by hand (no lock) on March 1st, with 50 spent: below gold's 200.
        s.write(|c| {
            let p = programs(c);
            enishi_rewards::set_tier(c, &p, c1, "gold", "goodwill", None, ts("2026-03-01 10:00"))
        })
        .unwrap();
        assert_eq!(run_jobs_at(s, "2026-03-31 09:59:59").tier_changes, 0, "within the 30-day grace");
        assert_eq!(tier().as_deref(), Some("gold"));
        assert_eq!(run_jobs_at(s, "2026-03-31 10:00").tier_changes, 1, "grace over");
        assert_eq!(tier().as_deref(), Some("member"));
        // A new version lowers gold to 40: the next review moves the customer up.
        let mut lowered = tiered("40", 30);
        lowered["effective_from"] = json!("2026-04-01");
        apply(s, lowered);
        assert_eq!(run_jobs_at(s, "2026-04-02 10:00").tier_changes, 1);
        assert_eq!(tier().as_deref(), Some("gold"));
        assert_eq!(run_jobs_at(s, "2026-04-03 10:00").tier_changes, 0, "nothing more to change");
        assert_ledger_consistent(s);
    });
}

#[test]
fn redemptions_check_their_key_limit_and_answer_a_replay_as_the_first_time() {
    each(|s| {
        apply(
            s,
            json!({"name": "r", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
                   "rewards": [{"id": "once", "name": "r", "cost": 20, "kind": "discount", "value": "1",
                                "per_customer_limit": 1}]}),
        );
        buy(s, "K-1", "C-1", "2026-03-01 10:00", "100");
        buy(s, "K-2", "C-2", "2026-03-01 10:00", "100");
        let (c1, c2) = (customer_id(s, "C-1"), customer_id(s, "C-2"));
        let at = "2026-03-02 10:00";
        let field = |r: Result<i64, LoyaltyError>| match r {
            Err(LoyaltyError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(redeem_at(s, c1, "once", " ", at)), "idempotency_key");
        assert_eq!(field(redeem_at(s, c1, "once", &"k".repeat(201), at)), "idempotency_key");
        let key = "k".repeat(200);
        assert_eq!(redeem_at(s, c1, "once", &key, at).unwrap(), 20, "200 characters is the most");
        assert_eq!(redeem_at(s, c1, "once", &key, at).unwrap(), 20, "a replay answers the points spent");
        assert_eq!(balance(s, c1), 80, "once");
        assert_eq!(field(redeem_at(s, c2, "once", &key, at)), "idempotency_key", "another customer's key");
        let again = redeem_at(s, c1, "once", "second", at);
        assert!(matches!(again, Err(LoyaltyError::Limit(_))), "one per customer: {again:?}");
        assert_ledger_consistent(s);
    });
}

#[test]
fn the_audit_finds_lots_that_disagree_with_a_right_balance_and_announcements_end_on_time() {
    each(|s| {
        apply(
            s,
            json!({"name": "a", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
                   "promotions": [{"id": "p", "name": "p", "starts": "2026-05-01", "ends": "2026-05-02", "bonus": 1}]}),
        );
        // Jobs first run when the promotion has just ended: it is not announced.
        run_jobs_at(s, "2026-05-02 00:00");
        assert!(s.read(|c| jobs::list(c, None, JobState::Queued, 10)).unwrap().is_empty());
        buy(s, "V-1", "C-1", "2026-03-01 10:00", "100");
        let c1 = customer_id(s, "C-1");
        let lot = s.read(|c| loyalty::open_lots(c, c1)).unwrap()[0];
        s.write(|c| loyalty::set_lot_remaining(c, lot.ledger_id, 99)).unwrap();
        let (_, bad) = s.read(enishi_rewards::verify).unwrap();
        assert_eq!(bad.len(), 1, "balance 100 agrees with the ledger, the lots (99) do not");
    });
}

#[test]
fn a_recurring_promotion_is_announced_once_with_its_schedule_when_its_window_begins() {
    each(|s| {
        apply(
            s,
            json!({"name": "a", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
                   "promotions": [{"id": "weekly", "name": "Quiet afternoons", "starts": "2026-05-01", "bonus": 1,
                                   "repeat": {"weekdays": ["tue"], "from": "14:00", "until": "17:00"}}]}),
        );
        let queued = || s.read(|c| jobs::list(c, Some("loyalty.promotion_started"), JobState::Queued, 10)).unwrap();
        assert_eq!(run_jobs_at(s, "2026-04-30 23:59").promotions_announced, 0, "before its overall start");
        assert!(queued().is_empty());
        // Friday 1 May, outside any occurrence: the series has begun, and is announced once.
        assert_eq!(run_jobs_at(s, "2026-05-01 09:00").promotions_announced, 1);
        assert_eq!(run_jobs_at(s, "2026-05-05 15:00").promotions_announced, 0, "once, not per occurrence");
        let jobs = queued();
        assert_eq!(jobs.len(), 1);
        let payload: Value = serde_json::from_str(&jobs[0].payload).unwrap();
        assert_eq!(payload["repeat"], json!({"weekdays": ["tue"], "from": "14:00", "until": "17:00"}));
        assert_eq!((payload["starts"].as_str(), payload["ends"].clone()), (Some("2026-05-01T00:00:00Z"), Value::Null));
    });
}

#[test]
fn a_coupon_is_good_until_its_last_second_for_its_number_of_uses() {
    each(|s| {
        apply(
            s,
            json!({"name": "c", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
                   "rewards": [{"id": "twice", "name": "r", "cost": 10, "kind": "discount", "value": "1",
                                "valid_days": 2, "max_uses": 2}]}),
        );
        buy(s, "CP-1", "C-1", "2026-03-01 10:00", "100");
        let c1 = customer_id(s, "C-1");
        let code = s
            .write(|c| {
                let p = programs(c);
                enishi_rewards::redeem(c, &p, c1, "twice", "k", ts("2026-03-01 12:00")).map(|(r, _)| r.coupon.code)
            })
            .unwrap();
        let use_at = |use_ref: &str, at: &str| s.write(|c| enishi_rewards::use_coupon(c, &code, use_ref, ts(at)));
        // Valid for two days from the redemption: to 2026-03-03 12:00 exactly.
        let (first, new) = use_at("order-1", "2026-03-03 12:00").unwrap();
        assert_eq!((first.uses, new), (1, true), "usable at its last second");
        let (replay, new) = use_at("order-1", "2026-03-03 12:00").unwrap();
        assert_eq!((replay.uses, new), (1, false), "the same use again changes nothing");
        let late = use_at("order-2", "2026-03-03 12:00:01").unwrap_err();
        assert!(matches!(&late, LoyaltyError::Coupon(m) if m.contains("expired")), "{late:?}");
        let (second, _) = use_at("order-2", "2026-03-02 09:00").unwrap();
        assert_eq!(second.uses, 2, "the second of two uses");
        let third = use_at("order-3", "2026-03-02 09:00").unwrap_err();
        assert!(matches!(&third, LoyaltyError::Coupon(m) if m.contains("used up")), "{third:?}");
    });
}

#[test]
fn a_membership_lasts_to_the_end_of_its_period_and_not_a_second_more() {
    each(|s| {
        apply(
            s,
            json!({"name": "m", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
                   "memberships": [{"id": "vip", "name": "VIP", "fee": "9.00", "period": "monthly", "multiplier": "2"}]}),
        );
        buy(s, "M-1", "C-1", "2026-03-01 09:00", "10");
        let c1 = customer_id(s, "C-1");
        let act = |action: MembershipAction, at: &str| {
            s.write(|c| {
                let p = programs(c);
                enishi_rewards::membership(c, &p, c1, action, Some("vip"), ts(at))
            })
        };
        let started = act(MembershipAction::Start, "2026-03-01 10:00").unwrap();
        assert_eq!(started.period_end, ts("2026-04-01 10:00"), "a calendar month");
        let again = act(MembershipAction::Start, "2026-04-01 09:59:59");
        assert!(matches!(again, Err(LoyaltyError::Limit(_))), "still a member a second before the end: {again:?}");
        let renew = act(MembershipAction::Renew, "2026-04-01 10:00");
        assert!(matches!(renew, Err(LoyaltyError::NotFound(_))), "over at the end: {renew:?}");
        let new = act(MembershipAction::Start, "2026-04-01 10:00").unwrap();
        assert_eq!((new.started_at, new.period_end), (ts("2026-04-01 10:00"), ts("2026-05-01 10:00")));
        let renewed = act(MembershipAction::Renew, "2026-04-20 10:00").unwrap();
        assert_eq!(renewed.period_end, ts("2026-06-01 10:00"), "a renewal adds a period to the end");
    });
}

#[test]
fn the_summary_shows_what_expires_within_sixty_days_and_how_far_the_next_tier_is() {
    each(|s| {
        apply(
            s,
            json!({"name": "e", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
                   "expiry": {"policy": "months_after_earning", "months": 1},
                   "tiers": {"basis": "points", "window": {"rolling_days": 365},
                             "levels": [{"id": "member", "name": "Member", "threshold": "0"},
                                        {"id": "silver", "name": "Silver", "threshold": "150"}]}}),
        );
        buy(s, "E-1", "C-1", "2026-03-01 10:00", "40"); // expires 2026-04-01 10:00
        buy(s, "E-2", "C-1", "2026-03-01 11:00", "60"); // expires 2026-04-01 11:00
        let c1 = customer_id(s, "C-1");
        let at = |when: &str| {
            s.read(|c| {
                let p = programs(c);
                enishi_rewards::summary(c, &p, c1, ts(when))
            })
            .unwrap()
        };
        let expiring = |when: &str| -> Vec<(String, i64)> {
            at(when).expiring_soon.iter().map(|e| (e.date.to_string(), e.points)).collect()
        };
        // 2026-01-31 10:00 plus 60 days is 2026-04-01 10:00: the first lot, not the second.
        assert_eq!(expiring("2026-01-31 10:00"), [("2026-04-01".to_string(), 40)]);
        assert_eq!(expiring("2026-01-31 11:00"), [("2026-04-01".to_string(), 100)], "one date, summed");
        assert_eq!(expiring("2026-04-01 10:00"), [("2026-04-01".to_string(), 60)], "expired at its instant");
        // Tier progress counts the order placed at this very second.
        let tier = at("2026-03-01 11:00").tier.expect("a tier");
        let next = tier.next.expect("a next tier");
        assert_eq!((tier.id.as_str(), tier.progress.as_str()), ("member", "100"));
        assert_eq!((next.id.as_str(), next.missing.as_str()), ("silver", "50"));
        assert_eq!(at("2026-03-01 10:59:59").tier.unwrap().progress, "40");
    });
}

/// A programme whose one stamp card gives a free coffee at ten stamps.
fn apply_ten_stamp_card(s: &Store) {
    apply(
        s,
        json!({"name": "s", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
               "rewards": [{"id": "free", "name": "Free coffee", "cost": 0, "kind": "free_item", "sku": "COFFEE"}],
               "stamp_cards": [{"id": "c", "name": "card", "stamps": 10, "reward": "free"}]}),
    );
}

/// The stamps on a customer's first card as the summary shows them at `when`.
fn stamps_at(s: &Store, customer: i64, when: &str) -> i64 {
    s.read(|c| {
        let p = programs(c);
        enishi_rewards::summary(c, &p, customer, ts(when))
    })
    .unwrap()
    .stamp_cards[0]
        .stamps
}

#[test]
fn only_a_full_return_takes_its_stamp_back_and_only_once() {
    each(|s| {
        apply_ten_stamp_card(s);
        buy(s, "S-1", "C-1", "2026-03-01 10:00", "40");
        buy(s, "S-2", "C-1", "2026-03-02 10:00", "40");
        let c1 = customer_id(s, "C-1");
        let stamps = || stamps_at(s, c1, "2026-03-03 10:00");
        assert_eq!(stamps(), 2);
        give_back(s, "S-2", json!({"return_id": "SR-1", "returned_at": "2026-03-03 09:00", "amount": "10.00"}));
        assert_eq!(stamps(), 2, "a partial return keeps the stamp");
        give_back(s, "S-2", json!({"return_id": "SR-2", "returned_at": "2026-03-03 09:30"}));
        assert_eq!(stamps(), 1, "the full return takes it back");
        give_back(s, "S-2", json!({"return_id": "SR-2", "returned_at": "2026-03-03 09:30"}));
        assert_eq!(stamps(), 1, "a replayed return takes nothing more");
        let order = s.read(|c| orders::get_by_ref(c, "S-2")).unwrap().expect("order").id;
        let effect = s.read(|c| loyalty::effect(c, order)).unwrap().expect("effect");
        assert!(effect.stamps_undone, "the order is marked as having given its stamp back");
        assert_ledger_consistent(s);
    });
}

#[test]
fn a_full_return_on_the_day_of_the_visit_frees_that_days_stamp() {
    each(|s| {
        apply_ten_stamp_card(s);
        buy(s, "D-1", "C-1", "2026-03-01 10:00", "40");
        let c1 = customer_id(s, "C-1");
        let stamps = || stamps_at(s, c1, "2026-03-01 20:00");
        give_back(s, "D-1", json!({"return_id": "DR-1", "returned_at": "2026-03-01 11:00"}));
        assert_eq!(stamps(), 0);
        buy(s, "D-2", "C-1", "2026-03-01 12:00", "40");
        assert_eq!(stamps(), 1, "the returned visit no longer holds the day's one stamp");
        buy(s, "D-3", "C-1", "2026-03-01 13:00", "40");
        assert_eq!(stamps(), 1, "one stamp per visit day still holds");
        assert_ledger_consistent(s);
    });
}

#[test]
fn each_partial_return_takes_its_share_of_tier_progress() {
    each(|s| {
        apply(s, tiered("200", 0));
        buy(s, "Q-1", "C-1", "2026-02-01 10:00", "200");
        let c1 = customer_id(s, "C-1");
        // Spend, in whole units (the store keeps amounts scaled by 10,000).
        let progress = || s.read(|c| loyalty::tier_progress(c, c1, 0, i64::MAX)).unwrap() / 10_000;
        assert_eq!(progress(), 200);
        give_back(s, "Q-1", json!({"return_id": "QR-1", "returned_at": "2026-02-02 10:00", "amount": "50.00"}));
        assert_eq!(progress(), 150);
        give_back(s, "Q-1", json!({"return_id": "QR-2", "returned_at": "2026-02-03 10:00", "amount": "30.00"}));
        assert_eq!(progress(), 120, "the second return takes its own 30, not 80 again");
        give_back(s, "Q-1", json!({"return_id": "QR-3", "returned_at": "2026-02-04 10:00"}));
        assert_eq!(progress(), 0);
        assert_ledger_consistent(s);
    });
}

#[test]
fn the_expiry_job_finishes_when_an_expire_entry_did_not_clear_its_lot() {
    for db in testing::all() {
        let s = &db.store;
        apply_two_versions(s);
        buy(s, "G-1", "C-1", "2026-02-01 10:00", "70");
        let c1 = customer_id(s, "C-1");
        // Books an older version could leave: the lot's expire entry is written, the lot kept.
        let lot = s.read(|c| loyalty::open_lots(c, c1)).unwrap()[0];
        s.write(|c| -> Result<(), StoreError> {
            loyalty::append(
                c,
                &loyalty::NewEntry {
                    customer_id: c1,
                    kind: "expire",
                    points: -70,
                    source: "expiry",
                    source_ref: None,
                    program_version: None,
                    idempotency_key: &format!("expire:{}", lot.ledger_id),
                    reason: None,
                    detail: "{}",
                    occurred_at: ts("2026-03-01 10:00"),
                    available_at: ts("2026-03-01 10:00"),
                    expires_at: None,
                },
            )?;
            Ok(())
        })
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let url = db.url.clone();
        // On its own thread and connection, so that a job that never ends fails the test.
        std::thread::spawn(move || {
            let _ = tx.send(run_jobs_at(&Store::open(&url).unwrap(), "2026-04-01"));
        });
        let report = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the expiry job finishes");
        assert_eq!(report.lots_expired, 0, "nothing new was expired");
        let (_, bad) = s.read(enishi_rewards::verify).unwrap();
        assert_eq!(bad.len(), 1, "the audit reports the lot");
        s.write(|c| enishi_rewards::repair(c, ts("2026-04-01"))).unwrap();
        assert_ledger_consistent(s);
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Buy { customer: u8, cents: u32 },
        Return { order: u8, part: u8 },
        Redeem { customer: u8 },
        Adjust { customer: u8, points: i16 },
        Expire,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..3, 0u32..20_000).prop_map(|(customer, cents)| Op::Buy { customer, cents }),
            2 => (any::<u8>(), 1u8..=4).prop_map(|(order, part)| Op::Return { order, part }),
            2 => (0u8..3).prop_map(|customer| Op::Redeem { customer }),
            1 => (0u8..3, -80i16..80).prop_map(|(customer, points)| Op::Adjust { customer, points }),
            1 => Just(Op::Expire),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn every_balance_is_the_sum_of_its_ledger_on_both_databases(ops in proptest::collection::vec(op(), 1..40)) {
            for db in testing::all() {
            let s = &db.store;
            apply(s, json!({"name": "p", "effective_from": "2020-01-01",
                "earning": {"points_per_unit": 1}, "expiry": {"policy": "months_after_earning", "months": 1},
                "pending_days": 2,
                "rewards": [{"id": "r", "name": "r", "cost": 30, "kind": "discount", "value": "1"}]}));
            let start = BusinessClock::default().parse_timestamp("2025-01-01").unwrap().timestamp();
            let mut orders: Vec<String> = Vec::new();
            for (i, op) in ops.iter().enumerate() {
                let at = start + i as i64 * 5 * 86_400;
                let when = enishi_store::instant(at).to_rfc3339();
                match op {
                    Op::Buy { customer, cents } => {
                        let id = format!("O-{i}");
                        let total = format!("{}.{:02}", cents / 100, cents % 100);
                        let input = order_input(&id, &format!("C-{customer}"), &when, &total, json!({}));
                        s.write(|c| -> Result<_, IntakeError> { let p = programs(c); record_order(c, &input, ws(), &p) }).unwrap();
                        orders.push(id);
                    }
                    Op::Return { order, part } => {
                        if orders.is_empty() { continue; }
                        let id = &orders[*order as usize % orders.len()];
                        let o = s.read(|c| orders::get_by_ref(c, id)).unwrap().unwrap();
                        let left = o.total - o.returned_amount;
                        if left.is_zero() { continue; }
                        let body = if *part == 4 {
                            json!({"return_id": format!("R-{i}"), "returned_at": when})
                        } else {
                            let amount = enishi_core::Amount::from_scaled((left.to_scaled() * i64::from(*part) / 4).max(1));
                            json!({"return_id": format!("R-{i}"), "returned_at": when, "amount": amount})
                        };
                        let input: ReturnInput = serde_json::from_value(body).unwrap();
                        s.write(|c| record_return(c, id, &input, ws())).unwrap();
                    }
                    Op::Redeem { customer } => {
                        let Some(found) = s.read(|c| customers::get_by_external_id(c, &format!("C-{customer}"))).unwrap() else { continue };
                        let r = s.write(|c| { let p = programs(c); enishi_rewards::redeem(c, &p, found.id, "r", &format!("k{i}"), at) });
                        prop_assert!(matches!(r, Ok(_) | Err(LoyaltyError::InsufficientPoints { .. }) | Err(LoyaltyError::Debt(_))), "{r:?}");
                    }
                    Op::Adjust { customer, points } => {
                        if *points == 0 { continue; }
                        let Some(found) = s.read(|c| customers::get_by_external_id(c, &format!("C-{customer}"))).unwrap() else { continue };
                        let a = enishi_rewards::Adjustment { customer_id: found.id, points: i64::from(*points), reason: "test", idempotency_key: &format!("a{i}"), by: "test" };
                        s.write(|c| { let p = programs(c); enishi_rewards::adjust(c, &p, &a, at) }).unwrap();
                    }
                    Op::Expire => {
                        s.write(|c| { let p = programs(c); enishi_rewards::run_jobs(c, &p, at) }).unwrap();
                    }
                }
                let (_, bad) = s.read(enishi_rewards::verify).unwrap();
                prop_assert!(bad.is_empty(), "after {op:?}: {bad:?}");
                for loyalty::BalanceAudit { customer_id: customer, stored, ledger, lots } in s.read(loyalty::balance_audit).unwrap() {
                    prop_assert_eq!(i128::from(stored), ledger);
                    let summary = s.read(|c| { let p = programs(c); enishi_rewards::summary(c, &p, customer, at) }).unwrap();
                    prop_assert_eq!(i128::from(summary.available + summary.pending), lots);
                    prop_assert_eq!(summary.debt, (-stored).max(0), "a negative balance is a recorded debt");
                }
            }
            }
        }
    }
}

#[test]
fn a_new_version_applies_to_orders_placed_after_it() {
    each(|s| {
        apply(s, json!({"name": "v1", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1}}));
        apply(s, json!({"name": "v2", "effective_from": "2026-06-01", "earning": {"points_per_unit": 2}}));
        assert_eq!(buy(s, "V-1", "C-11", "2026-03-01 10:00", "10").0, 10);
        assert_eq!(buy(s, "V-2", "C-11", "2026-07-01 10:00", "10").0, 20);
        let id = customer_id(s, "C-11");
        let entries = s.read(|c| loyalty::entries(c, id, 10, 0)).unwrap();
        let versions: Vec<_> = entries.iter().map(|e| (e.source_ref.clone().unwrap(), e.program_version)).collect();
        assert_eq!(versions, [("V-2".to_string(), Some(2)), ("V-1".to_string(), Some(1))]);
    });
}

/// The rows of every loyalty table that an order writes, without their surrogate ids, creation
/// times and random coupon codes: what must be the same whichever way the orders earned.
fn loyalty_books(s: &Store) -> Vec<String> {
    // Customers by the shop's id: those the orders create get Enishi ids (and so referral
    // codes) in the order each way creates them.
    let tables = [
        "SELECT k.external_id, g.kind, g.points, g.source, g.source_ref, g.program_version, g.idempotency_key, \
         g.reason, g.detail, g.occurred_at, g.available_at, g.expires_at \
         FROM loyalty_ledger g JOIN customers k ON k.id = g.customer_id ORDER BY g.idempotency_key",
        "SELECT g.idempotency_key, k.external_id, l.remaining, l.available_at, l.expires_at \
         FROM loyalty_lots l JOIN loyalty_ledger g ON g.id = l.ledger_id JOIN customers k ON k.id = l.customer_id \
         ORDER BY g.idempotency_key",
        "SELECT e.order_id, k.external_id, e.program_version, e.placed_at, e.placed_day, e.points, e.qualifying, \
         e.reversed_points, e.reversed_qualifying, e.stamps, e.stamps_undone \
         FROM loyalty_order_effects e JOIN customers k ON k.id = e.customer_id ORDER BY e.order_id",
        "SELECT k.external_id, t.from_tier, t.to_tier, t.changed_at, t.reason \
         FROM loyalty_tier_history t JOIN customers k ON k.id = t.customer_id \
         ORDER BY k.external_id, t.changed_at, t.to_tier",
        "SELECT k.external_id, a.balance, a.tier, a.tier_since, a.tier_locked_until, a.cards \
         FROM loyalty_accounts a JOIN customers k ON k.id = a.customer_id ORDER BY k.external_id",
        "SELECT k.external_id, p.reward_id, p.source, p.source_ref, p.issued_at, p.valid_until, p.max_uses, p.uses \
         FROM loyalty_coupons p JOIN customers k ON k.id = p.customer_id ORDER BY p.source_ref",
        "SELECT promotion_id, spent FROM loyalty_promotions ORDER BY promotion_id",
    ];
    s.read(|c| {
        let mut out = Vec::new();
        for sql in tables {
            out.extend(c.query(sql, &[])?.iter().map(|r| format!("{r:?}")));
        }
        // What is stored for replays (a JSON array; the fourth item holds the coupon codes),
        // with the coupon codes counted instead of shown.
        for r in c.query("SELECT order_id, detail FROM loyalty_order_effects ORDER BY order_id", &[])? {
            let mut answer: Value = serde_json::from_str(&r.text(1)?).expect("stored record");
            let codes = answer[3].as_array().expect("coupon codes").len();
            answer[3] = json!(codes);
            out.push(format!("{} {answer}", r.int(0)?));
        }
        Ok::<_, StoreError>(out)
    })
    .unwrap()
}

#[test]
fn an_import_earns_exactly_what_the_same_orders_earn_one_by_one() {
    use enishi_ingest::customers::{import_customers, CustomerFormat};
    use enishi_ingest::formats::OrderFormat;
    use enishi_ingest::orders::{import_orders, OrderImportOptions};
    use enishi_ingest::Progress;

    // Referrals (C-0 may be rewarded for one of the two it referred), a member with a ×3
    // multiplier, a promotion whose budget runs out, daily caps, stamps and tiers.
    let mut program: Value = serde_json::from_str(FULL).unwrap();
    program["promotions"] = json!([{"id": "double", "name": "Double", "starts": "2026-03-01 00:00",
                                    "ends": "2026-03-20 00:00", "multiplier": 2, "budget_points": 1000},
                                   {"id": "happy", "name": "Happy hours", "ends": "2026-04-01 00:00",
                                    "repeat": {"weekdays": ["tue", "wed"], "from": "10:00", "until": "13:00"},
                                    "bonus": 7, "budget_points": 50}]);
    let customers_csv = (0..40).fold(String::from("external_id,referred_by\n"), |mut s, i| {
        let referrer = match i {
            1 | 2 => "C-0",
            3 => "C-1",
            _ => "",
        };
        s.push_str(&format!("C-{i},{referrer}\n"));
        s
    });
    // 400 orders; consecutive pairs belong to one customer and often fall on one day; every
    // fifth has two units; C-40 to C-49 are new customers, created by the orders themselves.
    // Then one from before the programme, whose customer gets no loyalty account either way.
    let mut orders: Vec<(String, String, String, String, i64)> = (0..400)
        .map(|i| {
            let day = chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap() + chrono::Days::new(i / 3);
            (
                format!("O-{i}"),
                format!("C-{}", (i / 2) * 7 % 50),
                format!("{day} {:02}:{:02}", 8 + i % 12, i % 60),
                format!("{}.{:02}", 2 + i * 37 % 400, i % 100),
                if i % 5 == 0 { 2 } else { 1 },
            )
        })
        .collect();
    orders.push(("O-early".into(), "C-99".into(), "2025-06-01 10:00".into(), "25.00".into(), 1));
    // Returns (of an order; units; after which order in the file): one unit then the other of a
    // two-unit order, in one batch and across batches; a full return in the order's own batch;
    // one long after; one of the order from before the programme.
    let returns: [(&str, i64, &str); 7] = [
        ("O-20", 1, "O-30"),
        ("O-20", 1, "O-31"),
        ("O-45", 1, "O-46"),
        ("O-60", 1, "O-62"),
        ("O-60", 1, "O-90"),
        ("O-3", 1, "O-300"),
        ("O-early", 1, "O-early"),
    ];
    // The file's groups in order: Ok(order index) or Err(return index).
    let mut groups: Vec<Result<usize, usize>> = Vec::new();
    for (i, o) in orders.iter().enumerate() {
        groups.push(Ok(i));
        groups.extend(returns.iter().enumerate().filter(|(_, r)| r.2 == o.0).map(|(k, _)| Err(k)));
    }
    let order_of = |id: &str| orders.iter().find(|o| o.0 == id).expect("order");
    let orders_csv = groups.iter().fold(
        String::from("order_id,customer_id,placed_at,sku,quantity,unit_price,return_of\n"),
        |mut s, g| {
            match *g {
                Ok(i) => {
                    let o = &orders[i];
                    s.push_str(&format!("{},{},{},X,{},{},\n", o.0, o.1, o.2, o.4, o.3));
                }
                Err(k) => {
                    let (of, units, after) = returns[k];
                    let (o, after) = (order_of(of), order_of(after));
                    s.push_str(&format!("R-{k},{},{},X,-{units},{},{of}\n", o.1, after.2, o.3));
                }
            }
            s
        },
    );
    let prepare = |s: &Store| {
        let clock = BusinessClock::default();
        import_customers(s, customers_csv.as_bytes(), "c.csv", CustomerFormat::Csv, false, clock, Progress::default())
            .unwrap();
        apply(s, program.clone());
        let member = customer_id(s, "C-7");
        let jan_15 = chrono::DateTime::parse_from_rfc3339("2026-01-15T00:00:00Z").unwrap().timestamp();
        s.write(|c| {
            let p = programs(c);
            enishi_rewards::membership(c, &p, member, MembershipAction::Start, Some("vip"), jan_15)
        })
        .unwrap();
    };
    // Many batches, and customers whose orders span them; then one batch, whose orders are
    // evaluated in several parts (see `enishi_rewards::EVALUATED_PART`).
    assert!(orders.len() > enishi_rewards::EVALUATED_PART);
    for batch_size in [7, 1000] {
        let pairs = [(testing::sqlite(), testing::sqlite())]
            .into_iter()
            .chain(testing::postgres().zip(testing::postgres()))
            .collect::<Vec<_>>();
        for (batched, one_by_one) in &pairs {
            eprintln!("backend: {:?}, batches of {batch_size}", batched.store.backend());
            prepare(&batched.store);
            let mut opts = OrderImportOptions::new(OrderFormat::Generic);
            opts.batch_size = batch_size;
            import_orders(&batched.store, orders_csv.as_bytes(), "o.csv", &opts, Progress::default()).unwrap();

            // One by one, as the import takes each batch: its orders first, then its returns.
            prepare(&one_by_one.store);
            for batch in groups.chunks(opts.batch_size) {
                for i in batch.iter().filter_map(|g| g.ok()) {
                    let (id, customer, at, price, units) = &orders[i];
                    let lines = json!({"lines": [{"sku": "X", "quantity": units, "unit_price": price}]});
                    let mut input = order_input(id, customer, at, price, lines);
                    input.total = None;
                    one_by_one
                        .store
                        .write(|c| {
                            let p = programs(c);
                            record_order(c, &input, ws(), &p)
                        })
                        .unwrap();
                }
                for k in batch.iter().filter_map(|g| g.err()) {
                    let (of, units, after) = returns[k];
                    let ret = json!({"return_id": format!("R-{k}"), "returned_at": order_of(after).2,
                                     "lines": [{"sku": "X", "quantity": units}]});
                    give_back(&one_by_one.store, of, ret);
                }
            }

            let books = loyalty_books(&batched.store);
            assert_eq!(books, loyalty_books(&one_by_one.store));
            // The data reached every feature it is meant to check.
            let has = |needle: &str| books.iter().any(|r| r.contains(needle));
            // An order's entries keep their breakdown as [kind, index, points]: a cap per day is
            // kind 6 (a negative line), the membership multiplier kind 3.
            for needle in [
                "referrer:",
                "referee:",
                "[6,0,-",
                "\"gold\"",
                "stamp_card",
                "promotion:double",
                "promotion:happy",
                "[3,0,",
                "return:R-4",
            ] {
                assert!(has(needle), "no {needle} in the books");
            }
            assert!(books.contains(&r#"Row([Text("double"), Int(1000)])"#.to_string()), "the budget ran out");
            assert!(books.contains(&r#"Row([Text("happy"), Int(50)])"#.to_string()), "the weekly budget ran out");
            let early = customer_id(&batched.store, "C-99");
            assert_eq!(batched.store.read(|c| loyalty::account(c, early)).unwrap(), None, "no programme, no account");
            assert_ledger_consistent(&batched.store);
            testing::assert_references_resolve(&batched.store);
        }
    }
}

/// What each order earned, by the shop's order id.
fn points_by_order(s: &Store) -> Vec<(String, i64)> {
    s.read(|c| {
        c.query(
            "SELECT o.order_ref, e.points FROM loyalty_order_effects e JOIN orders o ON o.id = e.order_id \
             ORDER BY o.order_ref",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?, r.int(1)?)))
        .collect::<Result<Vec<_>, StoreError>>()
    })
    .unwrap()
}

#[test]
fn a_weekly_promotion_earns_exactly_at_its_boundaries_through_an_import_and_one_by_one() {
    // Tuesdays 14:00–17:00 in Tokyo, double points; 2026-12-01 is a Tuesday.
    let doc = json!({"name": "happy", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
        "promotions": [{"id": "tuesday", "name": "Tuesday afternoons", "multiplier": 2,
                        "repeat": {"weekdays": ["tue"], "from": "14:00", "until": "17:00"}}]});
    earns_the_same_both_ways(
        &[
            ("T-1", "T1", "2026-12-01 13:59:00", "X", 30),
            ("T-2", "T2", "2026-12-01 14:00:00", "X", 60),
            ("T-3", "T3", "2026-12-01 16:59:59", "X", 60),
            ("T-4", "T4", "2026-12-01 17:00:00", "X", 30),
            ("T-5", "T5", "2026-11-30 15:00:00", "X", 30),
        ],
        |s, tokyo| {
            s.write(|c| enishi_rewards::apply_program(c, &doc.to_string(), tokyo, "test")).unwrap();
        },
    );
}

/// An order of [`earns_the_same_both_ways`]: (order id, customer, local time in Tokyo, SKU,
/// points it earns); $30 each.
type Expected<'a> = (&'a str, &'a str, &'a str, &'a str, i64);

/// Imports `orders` into one database and records them one by one through the intake into
/// another, each first set up by `setup`: both earn what `orders` expects and keep the same
/// books, on SQLite and PostgreSQL.
fn earns_the_same_both_ways(orders: &[Expected<'_>], setup: impl Fn(&Store, BusinessClock)) {
    use enishi_ingest::formats::OrderFormat;
    use enishi_ingest::orders::{import_orders, OrderImportOptions};
    use enishi_ingest::Progress;

    let tokyo = BusinessClock::new("Asia/Tokyo").unwrap();
    let expected: Vec<(String, i64)> = orders.iter().map(|o| (o.0.to_string(), o.4)).collect();
    let csv =
        orders.iter().fold(String::from("order_id,customer_id,placed_at,sku,quantity,unit_price\n"), |mut s, o| {
            s.push_str(&format!("{},C-{},{},{},1,30.00\n", o.0, o.1, o.2, o.3));
            s
        });
    let pairs = [(testing::sqlite(), testing::sqlite())]
        .into_iter()
        .chain(testing::postgres().zip(testing::postgres()))
        .collect::<Vec<_>>();
    for (batched, one_by_one) in &pairs {
        eprintln!("backend: {:?}", batched.store.backend());
        for db in [batched, one_by_one] {
            setup(&db.store, tokyo);
        }
        let mut opts = OrderImportOptions::new(OrderFormat::Generic);
        opts.clock = tokyo;
        import_orders(&batched.store, csv.as_bytes(), "o.csv", &opts, Progress::default()).unwrap();
        let workspace = Workspace::new(tokyo, enishi_core::Currency::USD);
        for &(id, customer, at, sku, points) in orders {
            let mut input = order_input(id, &format!("C-{customer}"), at, "30.00", json!({}));
            input.lines[0].sku = sku.to_string();
            let earned = one_by_one
                .store
                .write(|c| -> Result<_, IntakeError> {
                    let p = Programs::load(c, tokyo)?;
                    Ok(record_order(c, &input, workspace, &p)?.2.expect("a programme is in force").points_earned)
                })
                .unwrap();
            assert_eq!(earned, points, "{id} at {at} through the intake");
        }
        assert_eq!(points_by_order(&batched.store), expected, "through the import");
        assert_eq!(points_by_order(&one_by_one.store), expected);
        assert_eq!(loyalty_books(&batched.store), loyalty_books(&one_by_one.store));
        assert_ledger_consistent(&batched.store);
    }
}

/// Saves segment `name` with the rule `text` (the segment language).
fn save_segment(s: &Store, name: &str, text: &str, clock: BusinessClock) {
    let rule = enishi_segments::text::parse(text).unwrap();
    s.write(|c| enishi_segments::saved::create(c, name, "", &rule, &clock)).unwrap();
}

#[test]
fn a_segment_promotion_earns_for_its_members_as_of_the_day_before_through_an_import_and_one_by_one() {
    let doc = json!({"name": "cake", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
        "promotions": [{"id": "cake-lovers", "name": "Triple for cake lovers", "multiplier": 3,
                        "starts": "2026-12-01 00:00", "ends": "2026-12-05 00:00", "segment": "Cake buyers"}]});
    earns_the_same_both_ways(
        &[
            ("A-1", "A", "2026-11-20 10:00:00", "CAKE", 30),
            ("A-2", "A", "2026-12-02 12:00:00", "X", 90),
            ("B-1", "B", "2026-12-02 12:00:00", "X", 30),
            // C's first cake makes them a member from the next day: not on the day itself,
            // whatever order the day's purchases arrive in.
            ("C-1", "C", "2026-12-03 10:00:00", "CAKE", 30),
            ("C-2", "C", "2026-12-03 15:00:00", "X", 30),
            ("C-3", "C", "2026-12-04 09:00:00", "X", 90),
            // After the promotion, members earn as everyone.
            ("C-4", "C", "2026-12-05 00:00:00", "X", 30),
        ],
        |s, tokyo| {
            let refused = s.write(|c| enishi_rewards::apply_program(c, &doc.to_string(), tokyo, "test"));
            assert!(
                matches!(&refused, Err(LoyaltyError::Program(e)) if e.path == "promotions[0].segment"),
                "a programme naming a segment not saved is refused: {refused:?}"
            );
            save_segment(s, "Cake buyers", r#"bought(sku: "CAKE")"#, tokyo);
            s.write(|c| enishi_rewards::apply_program(c, &doc.to_string(), tokyo, "test")).unwrap();
        },
    );
}

/// The rows of [`a_purchase_segment_earns_the_same_in_memory_as_in_sql_across_batches_and_imports`]:
/// 400 orders of 37 customers from September to December 2026 (cake, tea or a mug), and a
/// return of one unit of every ninth, 1–20 days later; by time, or orders shuffled with the
/// returns after them.
fn purchase_rows(shuffled: bool) -> Vec<String> {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let start = ts("2026-09-01T00:00:00Z");
    let products = [("CAKE", "cake", "12.00"), ("TEA", "drink", "30.00"), ("MUG", "goods", "55.00")];
    let at = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (mut orders, mut returns) = (Vec::new(), Vec::new());
    for i in 0..400_i64 {
        let placed = start + i * 26_000 + next(20_000) as i64;
        let customer = format!("C-{}", next(37));
        let (sku, category, price) = products[next(3) as usize];
        let quantity = 1 + next(3);
        orders.push((placed, format!("P-{i},{customer},{},{sku},{category},{quantity},{price},", at(placed))));
        if i % 9 == 0 {
            let back = placed + (1 + next(20) as i64) * 86_400;
            returns.push((back, format!("R-{i},{customer},{},{sku},{category},-1,{price},P-{i}", at(back))));
        }
    }
    if shuffled {
        for i in (1..orders.len()).rev() {
            orders.swap(i, next(i as u64 + 1) as usize);
        }
        orders.extend(returns);
    } else {
        orders.extend(returns);
        orders.sort();
    }
    orders.into_iter().map(|(_, row)| row).collect()
}

#[test]
fn a_purchase_segment_earns_the_same_in_memory_as_in_sql_across_batches_and_imports() {
    use enishi_ingest::formats::OrderFormat;
    use enishi_ingest::orders::{import_orders, OrderImportOptions};
    use enishi_ingest::Progress;
    let rule = r#"(orders(within: 21d) >= 3 and spend(within: 21d) >= 150 and not returned(within: 10d))
                  or bought(category: "cake", within: 5d)"#;
    let doc = json!({"name": "fans", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
        "promotions": [{"id": "fans", "name": "Double for fans", "multiplier": 2,
                        "starts": "2026-10-10 00:00", "ends": "2026-11-05 00:00", "segment": "Fans"},
                       // Batches of the three weeks between read no segment: what they store still counts.
                       {"id": "fans-again", "name": "Double for fans, again", "multiplier": 2,
                        "starts": "2026-11-28 00:00", "ends": "2027-01-01 00:00", "segment": "Fans"}]});
    let clock = BusinessClock::new("Asia/Tokyo").unwrap();
    for shuffled in [false, true] {
        let rows = purchase_rows(shuffled);
        // The segment evaluated in SQL (with a condition that changes with the day: an event
        // nobody did); in memory; in memory with a condition read once per batch (a tag
        // nobody has); and in memory letting go of what it holds past 30 orders.
        let variants = [
            (format!("({rule}) and not did(event: \"nothing\", within: 3650d)"), usize::MAX),
            (rule.to_string(), usize::MAX),
            (format!("({rule}) and not tag = \"nobody\""), usize::MAX),
            (rule.to_string(), 30),
        ];
        let dbs: Vec<Vec<testing::TestDb>> = variants.iter().map(|_| testing::all()).collect();
        for ((text, held_orders_most), dbs) in variants.iter().zip(&dbs) {
            for db in dbs {
                save_segment(&db.store, "Fans", text, clock);
                db.store.write(|c| enishi_rewards::apply_program(c, &doc.to_string(), clock, "test")).unwrap();
                // Two imports: the second reads the history the first stored.
                for part in [&rows[..150], &rows[150..]] {
                    let csv = format!(
                        "order_id,customer_id,placed_at,sku,category,quantity,unit_price,return_of\n{}\n",
                        part.join("\n")
                    );
                    let mut opts = OrderImportOptions::new(OrderFormat::Generic);
                    opts.clock = clock;
                    opts.batch_size = 25;
                    opts.held_orders_most = *held_orders_most;
                    import_orders(&db.store, csv.as_bytes(), "o.csv", &opts, Progress::default()).unwrap();
                }
            }
        }
        let in_sql = &dbs[0];
        for memory in dbs[1..].iter().flatten() {
            let sql = in_sql.iter().find(|db| db.store.backend() == memory.store.backend()).unwrap();
            let backend = memory.store.backend();
            let bonuses: i64 = memory
                .store
                .read(|c| c.query_one("SELECT COUNT(*) FROM loyalty_ledger WHERE kind = 'bonus'", &[])?.int(0))
                .unwrap();
            assert!((20..300).contains(&bonuses), "some orders and not others earn the bonus: {bonuses} ({backend:?})");
            assert_eq!(
                points_by_order(&memory.store),
                points_by_order(&sql.store),
                "{backend:?}, shuffled: {shuffled}"
            );
            assert_eq!(loyalty_books(&memory.store), loyalty_books(&sql.store), "{backend:?}, shuffled: {shuffled}");
            assert_ledger_consistent(&memory.store);
        }
    }
}

#[test]
fn a_segment_reward_is_redeemed_only_by_members_and_an_offer_is_given_once_per_round() {
    each(|s| {
        let clock = BusinessClock::default();
        save_segment(s, "Regulars", "orders >= 2", clock);
        apply(
            s,
            json!({"name": "offers", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
                "rewards": [{"id": "dessert", "name": "Free dessert", "cost": 10, "kind": "free_item", "sku": "DESSERT",
                             "segment": "Regulars"},
                            {"id": "ten-off", "name": "10% off", "cost": 0, "kind": "percent_off", "value": "10"}],
                "offers": [{"id": "favourite", "name": "10% off your favourite", "segment": "Regulars",
                            "reward": "ten-off", "valid_days": 14, "product": "most_bought"},
                           {"id": "thanks", "name": "Thank-you points", "segment": "Regulars", "points": 50,
                            "valid_days": 30}]}),
        );
        let mut beans = order_input("R-1", "R", "2026-11-01T10:00:00Z", "30.00", json!({}));
        beans.lines[0].sku = "BEANS".into();
        buy_with(s, beans);
        buy(s, "R-2", "R", "2026-11-02T10:00:00Z", "30.00");
        let mut more_beans = order_input("R-3", "R", "2026-11-03T10:00:00Z", "30.00", json!({}));
        more_beans.lines[0].sku = "BEANS".into();
        buy_with(s, more_beans);
        buy(s, "O-1", "O", "2026-11-02T10:00:00Z", "30.00");
        let (regular, once) = (customer_id(s, "R"), customer_id(s, "O"));

        let refused = redeem_at(s, once, "dessert", "o-1", "2026-11-05T10:00:00Z");
        assert!(matches!(refused, Err(LoyaltyError::Limit(ref m)) if m.contains("Regulars")), "{refused:?}");
        assert_eq!(balance(s, once), 30, "nothing spent");
        redeem_at(s, regular, "dessert", "r-1", "2026-11-05T10:00:00Z").unwrap();

        let issue = |offer: &str, round: Option<&str>, at: &str| {
            s.write(|c| {
                let p = programs(c);
                enishi_rewards::issue_offer(c, &p, offer, round, ts(at))
            })
            .unwrap()
        };
        let first = issue("favourite", None, "2026-11-06T10:00:00Z");
        assert_eq!((first.members, first.issued, first.already, first.without_product), (1, 1, 0, 0));
        let again = issue("favourite", None, "2026-11-07T10:00:00Z");
        assert_eq!((again.members, again.issued, again.already), (1, 0, 1), "given once per round");
        let coupons = s.read(|c| loyalty::coupons(c, regular)).unwrap();
        let offered: Vec<_> = coupons.iter().filter(|k| k.source == "offer").collect();
        assert_eq!(offered.len(), 1);
        assert_eq!(offered[0].sku.as_deref(), Some("BEANS"), "the product bought most");
        assert_eq!(offered[0].valid_until, ts("2026-11-06T10:00:00Z") + 14 * 86_400);

        let before = balance(s, regular);
        let points = issue("thanks", Some("2026-11"), "2026-11-06T10:00:00Z");
        assert_eq!(points.issued, 1);
        assert_eq!(balance(s, regular), before + 50);
        issue("thanks", Some("2026-11"), "2026-11-08T10:00:00Z");
        assert_eq!(balance(s, regular), before + 50, "the same round gives nothing more");
        issue("thanks", Some("2026-12"), "2026-12-01T10:00:00Z");
        assert_eq!(balance(s, regular), before + 100, "a new round gives again");
        assert_eq!(balance(s, once), 30, "not a member: nothing given");
        let wrong = s.write(|c| {
            let p = programs(c);
            enishi_rewards::issue_offer(c, &p, "thanks", Some("a b"), 0)
        });
        assert!(matches!(wrong, Err(LoyaltyError::Invalid { ref field, .. }) if field == "round"), "{wrong:?}");
        assert_ledger_consistent(s);
    });
}

#[test]
fn an_order_sent_again_gets_the_first_answer_back() {
    each(|s| {
        let mut doc: Value = serde_json::from_str(enishi_loyalty::starter("demo").unwrap()).unwrap();
        doc["effective_from"] = json!("2000-01-01");
        apply(s, doc);
        buy(s, "Q-0", "C-9", "2026-10-01 12:00", "20");
        let input = order_input(
            "Q-1",
            "C-9",
            "2026-10-17 12:00",
            "30",
            json!({"lines": [{"sku": "B", "category": "coffee", "quantity": 1, "unit_price": "30"}]}),
        );
        let send = || {
            s.write(|c| -> Result<_, IntakeError> {
                let p = programs(c);
                Ok(record_order(c, &input, ws(), &p)?.2)
            })
            .unwrap()
            .expect("earned")
        };
        let first = send();
        // Base, the coffee rule and the weekend promotion; a second stamp; a first tier.
        let sources: Vec<&str> = first.breakdown.iter().map(|b| b.source.as_str()).collect();
        assert_eq!(sources, ["base", "rule", "promotion"]);
        assert_eq!(first.breakdown[1].name, "Double points on coffee beans");
        assert_eq!((first.stamps[0].name.as_str(), first.stamps[0].stamps), ("10 visits, one free drink", 2));
        assert_eq!(send(), first, "a replay answers from the stored record");
        // An effect stored before records were compact kept the whole answer: it is given back.
        let mut whole = first.clone();
        whole.balance = 12_345;
        let text = serde_json::to_string(&whole).unwrap();
        s.write(|c| c.execute("UPDATE loyalty_order_effects SET detail = $1", &[text.as_str().into()])).unwrap();
        assert_eq!(send(), whole);
    });
}
