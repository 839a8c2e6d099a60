//! Journeys on a controlled clock, on SQLite and PostgreSQL: the welcome series against a real
//! SMTP server (first purchase → welcome at once → follow-up 7 days later → none for a customer
//! who ordered again), entry once per occurrence, skipped steps with their reason, every
//! trigger, exits, and the suggested send time.

mod support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use enishi_campaigns::campaigns as ops;
use enishi_campaigns::email::SmtpConfig;
use enishi_campaigns::journeys::{self, pass};
use enishi_campaigns::sender::{SendOptions, Sender};
use enishi_campaigns::template::Parts;
use enishi_core::{BusinessClock, Clock, Currency, ManualClock};
use enishi_store::repo::campaigns as campaigns_repo;
use enishi_store::repo::journeys as repo;
use enishi_store::{params, testing, Store};
use std::str::FromStr;
use std::sync::Arc;
use support::{header, SmtpServer};

fn yen() -> Currency {
    Currency::from_str("JPY").unwrap()
}

fn tokyo() -> BusinessClock {
    BusinessClock::new("Asia/Tokyo").unwrap()
}

/// Friday 4 December 2026, 10:00 in Tokyo.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 1, 0, 0).unwrap()
}

/// A store on `url` whose clock the test moves.
fn store_on(url: &str) -> (Store, ManualClock) {
    let clock = ManualClock::at(t0());
    (Store::open(url).unwrap().with_clock(Arc::new(clock.clone())), clock)
}

/// Customers C1…Cn: C3 never asked for email; the others opted in a month ago.
fn customers(store: &Store, n: i64) {
    store
        .write(|c| {
            let then = t0().timestamp() - 30 * 86_400;
            for i in 1..=n {
                c.execute(
                    "INSERT INTO customers (id, external_id, name, email, locale, first_seen_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'ja', $5, $5, $5)",
                    params![i, format!("C{i}"), format!("佐藤 花子{i}"), format!("c{i}@example.com"), then],
                )?;
                if i != 3 {
                    c.execute(
                        "INSERT INTO customer_consents (customer_id, channel, status, changed_at, source) \
                         VALUES ($1, 'email', 'opted_in', $2, 'test')",
                        params![i, then],
                    )?;
                }
            }
            Ok::<_, enishi_store::StoreError>(())
        })
        .unwrap();
    store
        .write(|c| {
            for (name, subject) in [("welcome", "{{ customer.honorific }}、ようこそ"), ("follow-up", "Thank you again")]
            {
                let parts = Parts {
                    subject: subject.into(),
                    html: "<p>{{ customer.honorific }}</p>".into(),
                    text: "{{ customer.honorific }}\n{{ unsubscribe_url }}".into(),
                };
                ops::save_template(c, name, "ja", &parts, yen())?;
            }
            Ok::<_, enishi_campaigns::Error>(())
        })
        .unwrap();
}

fn order(store: &Store, id: i64, customer: i64, at: DateTime<Utc>) {
    store
        .write(|c| {
            c.execute(
                "INSERT INTO orders (id, order_ref, customer_id, placed_at, placed_day, channel, currency, total, status, created_at) \
                 VALUES ($1, $2, $3, $4, 0, 'online', 'JPY', 12000000, 'completed', $4)",
                params![id, format!("O{id}"), customer, at.timestamp()],
            )
        })
        .unwrap();
}

fn create(store: &Store, json: &str) -> repo::Journey {
    store.write(|c| journeys::create(c, json, yen(), &tokyo())).unwrap()
}

fn run(store: &Store) -> pass::Pass {
    pass::run(store, &tokyo()).unwrap()
}

/// (external id, occurrence, status, exit reason) of a journey's enrolments, by id and occurrence.
fn enrolments(store: &Store, j: &repo::Journey) -> Vec<(String, String, String, Option<String>)> {
    let mut v: Vec<_> = store
        .read(|c| repo::enrolments(c, j.id, 1000))
        .unwrap()
        .into_iter()
        .map(|e| (e.external_id, e.occurrence, e.status, e.exit_reason))
        .collect();
    v.sort();
    v
}

/// (customer id, step, status, reason) of a step campaign's recipient rows.
fn recipients(store: &Store, campaign: &str) -> Vec<(i64, String, String, Option<String>)> {
    store
        .read(|c| {
            c.query(
                "SELECT r.customer_id, r.step, r.status, r.reason FROM campaign_recipients r JOIN campaigns k \
                 ON k.id = r.campaign_id WHERE k.name = $1 ORDER BY r.customer_id, r.step",
                params![campaign],
            )
        })
        .unwrap()
        .iter()
        .map(|r| (r.int(0).unwrap(), r.text(1).unwrap(), r.text(2).unwrap(), r.opt_text(3).unwrap()))
        .collect()
}

const WELCOME: &str = r#"{"name": "welcome series", "trigger": {"kind": "first_purchase"},
  "sender": {"name": "Aya", "email": "aya@corner.example"},
  "steps": [{"key": "welcome", "template": "welcome"},
            {"key": "follow-up", "template": "follow-up", "delay": "7d"}]}"#;

fn send_all(store: &Store, server: &SmtpServer) {
    let smtp = SmtpConfig::parse(&format!("smtp://127.0.0.1:{}", server.port)).unwrap();
    let mut sender = Sender::new(store, smtp, SendOptions::new("shop@corner.example"), tokyo(), yen());
    sender.run_until_done(std::time::Duration::from_secs(5), &mut |_| {}).unwrap();
}

#[test]
fn the_welcome_series_welcomes_at_once_follows_up_after_a_week_and_lets_a_returning_customer_go() {
    for db in testing::all() {
        let (store, clock) = store_on(&db.url);
        let dir = tempfile::tempdir().unwrap();
        let server = SmtpServer::start(dir.path(), &[]);
        customers(&store, 3);
        let j = create(&store, WELCOME);
        clock.advance(Duration::hours(1));
        for (id, customer) in [(1, 1), (2, 2), (3, 3)] {
            order(&store, id, customer, clock.now());
        }
        let first = run(&store);
        assert_eq!((first.entered, first.queued, first.skipped), (3, 2, 1), "{first:?} {}", db.url);
        // A second pass at once changes nothing: entry and each step happen once.
        assert_eq!(run(&store), pass::Pass::default());
        send_all(&store, &server);
        let welcomed = server.received();
        let mut to: Vec<&str> = welcomed.iter().map(|m| m["to"][0].as_str().unwrap()).collect();
        to.sort();
        assert_eq!(to, ["c1@example.com", "c2@example.com"]);
        assert!(welcomed[0]["data"].as_str().unwrap().contains("From: Aya <aya@corner.example>"));
        assert_eq!(
            recipients(&store, "welcome series / welcome"),
            vec![
                (1, "welcome (first)".into(), "sent".into(), None),
                (2, "welcome (first)".into(), "sent".into(), None),
                (3, "welcome (first)".into(), "skipped".into(), Some("no_consent".into())),
            ]
        );

        // C2 comes back three days later; six days in, the follow-up is not due yet.
        clock.advance(Duration::days(3));
        order(&store, 4, 2, clock.now());
        clock.advance(Duration::days(3));
        assert_eq!(run(&store), pass::Pass::default());

        clock.advance(Duration::days(1));
        let week = run(&store);
        assert_eq!((week.queued, week.skipped, week.exited), (1, 1, 1), "{week:?}");
        send_all(&store, &server);
        let all = server.received();
        assert_eq!(all.len(), 3);
        let follow_up: Vec<&serde_json::Value> = all.iter().filter(|m| !welcomed.contains(m)).collect();
        assert_eq!(follow_up[0]["to"][0], "c1@example.com");
        let data = follow_up[0]["data"].as_str().unwrap();
        assert!(data.contains("Subject: Thank you again"), "{data}");
        let ids: std::collections::HashSet<&str> =
            all.iter().map(|m| header(m["data"].as_str().unwrap(), "Message-ID").unwrap()).collect();
        assert_eq!(ids.len(), 3, "each message its own Message-ID");
        assert_eq!(
            enrolments(&store, &j),
            vec![
                ("C1".into(), "first".into(), "done".into(), None),
                ("C2".into(), "first".into(), "exited".into(), Some("ordered".into())),
                ("C3".into(), "first".into(), "done".into(), None),
            ]
        );
        assert_eq!(
            recipients(&store, "welcome series / follow-up"),
            vec![
                (1, "follow-up (first)".into(), "sent".into(), None),
                (3, "follow-up (first)".into(), "skipped".into(), Some("no_consent".into())),
            ]
        );
        // The history has each message with its step; the step's results count it.
        let steps: Vec<String> = store
            .read(|c| c.query("SELECT step FROM communications WHERE customer_id = 1 ORDER BY sent_at", &[]))
            .unwrap()
            .iter()
            .map(|r| r.text(0).unwrap())
            .collect();
        assert_eq!(steps, ["welcome (first)", "follow-up (first)"]);
        let k = store.read(|c| ops::find(c, "welcome series / follow-up")).unwrap();
        let r = store.read(|c| enishi_campaigns::results::results(c, &k)).unwrap();
        assert_eq!(r.arms.iter().find(|a| a.arm == "A").map(|a| a.members), Some(1), "{r:?}");
        // Nothing more, however often the pass and the sender run.
        clock.advance(Duration::days(30));
        assert_eq!(run(&store), pass::Pass::default());
        send_all(&store, &server);
        assert_eq!(server.received().len(), 3);
    }
}

#[test]
fn an_order_enters_days_after_it_once_per_order_and_one_message_of_a_step_waits_for_the_other() {
    for db in testing::all() {
        let (store, clock) = store_on(&db.url);
        customers(&store, 2);
        let j = create(
            &store,
            r#"{"name": "review", "trigger": {"kind": "days_after_order", "days": 3}, "exit": {"on_order": false},
                "steps": [{"key": "ask", "template": "welcome"}]}"#,
        );
        clock.advance(Duration::hours(1));
        order(&store, 1, 1, clock.now());
        order(&store, 2, 1, clock.now() + Duration::minutes(1));
        clock.advance(Duration::days(2));
        assert_eq!(run(&store).entered, 0);
        clock.advance(Duration::days(1) + Duration::minutes(5));
        let p = run(&store);
        assert_eq!((p.entered, p.queued, p.postponed), (2, 1, 1), "{p:?} {}", db.url);
        assert_eq!(run(&store).entered, 0, "each order enters once");
        // The first message leaves the queue; ten minutes on, the second goes in.
        store
            .write(|c| {
                c.execute(
                    "UPDATE campaign_recipients SET status = 'sent', sent_at = $1 WHERE status = 'queued'",
                    params![c.now()],
                )
            })
            .unwrap();
        clock.advance(Duration::minutes(11));
        assert_eq!(run(&store).queued, 1);
        let occurrences: Vec<String> = enrolments(&store, &j).into_iter().map(|e| e.1).collect();
        assert_eq!(occurrences, ["order:1", "order:2"]);
        assert_eq!(recipients(&store, "review / ask").len(), 2);
    }
}

#[test]
fn birthdays_points_expiring_carts_lifecycle_and_lapsing_loyal_customers_enter() {
    for db in testing::all() {
        let (store, clock) = store_on(&db.url);
        customers(&store, 6);
        let now = t0().timestamp();
        store
            .write(|c| {
                c.execute("UPDATE customers SET birthday = '1990-12-06' WHERE id = 1", &[])?;
                c.execute("UPDATE customers SET birthday = '1985-12-07' WHERE id = 2", &[])?;
                for (id, customer, points, expires) in [(1, 3, 100, now + 20 * 86_400), (2, 4, 50, now + 90 * 86_400)] {
                    c.execute(
                        "INSERT INTO loyalty_ledger (id, customer_id, kind, points, source, idempotency_key, occurred_at, \
                         available_at, expires_at, created_at) VALUES ($1, $2, 'earn', $3, 'test', $4, $5, $5, $6, $5)",
                        params![id, customer, points, format!("k{id}"), now - 86_400, expires],
                    )?;
                    c.execute(
                        "INSERT INTO loyalty_lots (ledger_id, customer_id, remaining, available_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                        params![id, customer, points, now - 86_400, expires],
                    )?;
                }
                c.execute(
                    "INSERT INTO customer_scores (customer_id, loyal_class, updated_at) VALUES (5, 'loyal', $1), (6, 'other', $1)",
                    params![now],
                )?;
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();
        let steps = r#""steps": [{"key": "a", "template": "welcome"}]"#;
        let doc = |name: &str, trigger: &str| format!(r#"{{"name": "{name}", "trigger": {trigger}, {steps}}}"#);
        let birthday = create(&store, &doc("birthday", r#"{"kind": "birthday", "days_before": 1}"#));
        let points = create(&store, &doc("points", r#"{"kind": "points_expiring", "within_days": 30}"#));
        let cart = create(&store, &doc("cart", r#"{"kind": "cart_abandoned", "hours": 4}"#));
        let lifecycle = create(&store, &doc("win-back", r#"{"kind": "lifecycle", "stage": "at_risk"}"#));
        let lapsing = create(&store, &doc("lapsing", r#"{"kind": "loyal_lapsing", "days": 30}"#));

        clock.advance(Duration::hours(1));
        let at = clock.now().timestamp();
        store
            .write(|c| {
                // C1 leaves a cart; C2 leaves one and buys; C4 adds twice, two hours apart.
                for (id, customer, offset) in [(1, 1, 0), (2, 2, 0), (3, 4, 0), (4, 4, 2 * 3600)] {
                    c.execute(
                        "INSERT INTO events (id, customer_id, name, occurred_at, created_at) VALUES ($1, $2, 'cart_add', $3, $3)",
                        params![id, customer, at + offset],
                    )?;
                }
                c.execute(
                    "INSERT INTO lifecycle_changes (customer_id, from_stage, to_stage, changed_day, created_at) \
                     VALUES (6, 'active', 'at_risk', 0, $1), (1, 'new', 'active', 0, $1)",
                    params![at],
                )?;
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();
        order(&store, 1, 2, clock.now() + Duration::hours(1));
        order(&store, 2, 5, clock.now());
        order(&store, 3, 6, clock.now());

        let p = run(&store);
        // Points of C3 expire within 30 days (C4's in 90); C6 turned at risk.
        assert_eq!(enrolments(&store, &points), vec![("C3".into(), "points:2026-12-24".into(), "done".into(), None)]);
        assert_eq!(enrolments(&store, &lifecycle).len(), 1);
        assert!(enrolments(&store, &cart).is_empty());
        assert!(enrolments(&store, &birthday).is_empty());
        assert_eq!(p.entered, 2, "{p:?} {}", db.url);

        // Five hours after the carts: C1's is abandoned, C4's second is not yet four hours old.
        clock.advance(Duration::hours(5));
        run(&store);
        let carts: Vec<String> = enrolments(&store, &cart).into_iter().map(|e| format!("{} {}", e.0, e.1)).collect();
        assert_eq!(carts, ["C1 event:1"]);
        clock.advance(Duration::hours(2));
        run(&store);
        let carts: Vec<String> = enrolments(&store, &cart).into_iter().map(|e| format!("{} {}", e.0, e.1)).collect();
        assert_eq!(carts, ["C1 event:1", "C4 event:4"]);

        // 5 December is the day before C1's birthday (entered at the day's start, Tokyo).
        clock.set(Utc.with_ymd_and_hms(2026, 12, 4, 15, 30, 0).unwrap());
        run(&store);
        assert_eq!(enrolments(&store, &birthday), vec![("C1".into(), "birthday:2026".into(), "active".into(), None)]);
        assert_eq!(run(&store).entered, 0);

        // Thirty days after their last order, loyal C5 enters; C6 (not loyal) does not.
        clock.set(t0() + Duration::hours(1) + Duration::days(30) + Duration::minutes(1));
        run(&store);
        let lapsed: Vec<String> =
            enrolments(&store, &lapsing).into_iter().map(|e| format!("{} {}", e.0, e.1)).collect();
        assert_eq!(lapsed, ["C5 lapse:2"]);
    }
}

#[test]
fn exits_skips_and_the_suggested_time() {
    for db in testing::all() {
        let (store, clock) = store_on(&db.url);
        customers(&store, 4);
        store
            .write(|c| c.execute("INSERT INTO customer_tags (customer_id, tag, position) VALUES (4, 'vip', 0)", &[]))
            .unwrap();
        // C2 usually buys in the evening (19:xx Tokyo): earlier orders, before the journey.
        for (id, days) in [(10, 20), (11, 13), (12, 6)] {
            order(&store, id, 2, Utc.with_ymd_and_hms(2026, 11, 1, 10, 20, 0).unwrap() + Duration::days(days));
        }
        let j = create(
            &store,
            r#"{"name": "nudge", "trigger": {"kind": "days_after_order", "days": 1}, "send_time": "11:00",
                "exit": {"when_matching": "tag = \"vip\""},
                "steps": [{"key": "nudge", "template": "welcome", "send_at": "suggested"},
                          {"key": "again", "template": "follow-up", "delay": "2d", "after": "entry"}]}"#,
        );
        clock.advance(Duration::hours(1));
        for customer in 1..=4 {
            order(&store, customer, customer, clock.now());
        }
        // A day later all four enter; C1 and C3 are due at once (11:00, the hour they bought
        // at): C3 has no consent (skipped with the reason); C4 is a VIP now and leaves.
        clock.advance(Duration::days(1));
        let p = run(&store);
        assert_eq!((p.entered, p.queued, p.skipped, p.exited), (4, 1, 1, 1), "{p:?} {}", db.url);
        let due: std::collections::BTreeMap<String, i64> = store
            .read(|c| repo::enrolments(c, j.id, 10))
            .unwrap()
            .into_iter()
            .filter(|e| e.status == "active")
            .map(|e| (e.external_id, e.due_at.unwrap()))
            .collect();
        let tokyo_at = |d, h| chrono_tz::Asia::Tokyo.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap().timestamp();
        // C2's first step at their usual 19:00; C1's and C3's second two days after entry.
        assert_eq!(due["C2"], tokyo_at(5, 19));
        assert_eq!(due["C1"], tokyo_at(7, 11));
        assert_eq!(due["C3"], tokyo_at(7, 11));
        assert_eq!(enrolments(&store, &j).into_iter().find(|e| e.0 == "C4").unwrap().3.as_deref(), Some("matched"));

        // C1 unsubscribes; their next step lets them go. At 19:00 C2's first step goes.
        store
            .write(|c| {
                c.execute(
                    "UPDATE customer_consents SET status = 'opted_out', changed_at = $1 WHERE customer_id = 1",
                    params![c.now()],
                )
            })
            .unwrap();
        clock.set(DateTime::from_timestamp(tokyo_at(5, 19), 0).unwrap());
        assert_eq!(run(&store).queued, 1);
        // Two days after entry the second step is due: C1 leaves, C3 is skipped again and C2
        // gets it (one message queued elsewhere is below the cap of 2 per 7 days).
        clock.set(DateTime::from_timestamp(tokyo_at(7, 12), 0).unwrap());
        let p = run(&store);
        assert_eq!((p.queued, p.skipped, p.exited), (1, 1, 1), "{p:?}");
        let reasons: Vec<(String, Option<String>)> = enrolments(&store, &j).into_iter().map(|e| (e.0, e.3)).collect();
        assert_eq!(
            reasons,
            vec![
                ("C1".into(), Some("unsubscribed".into())),
                ("C2".into(), None),
                ("C3".into(), None),
                ("C4".into(), Some("matched".into()))
            ]
        );
        assert!(store.read(|c| campaigns_repo::pending(c, None)).unwrap() >= 2);
    }
}

#[test]
fn a_journey_is_refused_with_the_field_named() {
    for db in testing::all() {
        let (store, _) = store_on(&db.url);
        customers(&store, 1);
        let cases = [
            (
                r#"{"name": "x", "trigger": {"kind": "first_purchase"}, "steps": [{"key": "a", "template": "nope"}]}"#,
                "steps[0].template",
            ),
            (
                r#"{"name": "x", "trigger": {"kind": "first_purchase"}, "steps": [{"key": "a", "template": "welcome"}],
                 "exit": {"when_matching": "list = \"missing\""}}"#,
                "exit.when_matching",
            ),
            (
                r#"{"name": "x", "trigger": {"kind": "cart_abandoned", "hours": 0}, "steps": [{"key": "a", "template": "welcome"}]}"#,
                "trigger.hours",
            ),
        ];
        for (json, field) in cases {
            let e = store.write(|c| journeys::create(c, json, yen(), &tokyo())).unwrap_err();
            assert!(e.is_users() && e.to_string().contains(field), "{field}: {e}");
        }
        create(&store, WELCOME);
        let e = store.write(|c| journeys::create(c, WELCOME, yen(), &tokyo())).unwrap_err();
        assert!(e.to_string().starts_with("name:"), "{e}");
        // Nothing half-written: the refused journeys made no campaigns.
        let names: Vec<String> = store.read(campaigns_repo::list).unwrap().into_iter().map(|k| k.name).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // A step's campaign is not started or created by hand.
        let k = store.read(|c| ops::find(c, "welcome series / welcome")).unwrap();
        assert!(store.write(|c| ops::start(c, &k, &tokyo())).is_err());
        let e = store
            .write(|c| ops::create(c, r#"{"name": "k", "channel": "email", "audience": {"journey": "welcome series"}, "template": "welcome"}"#, yen()))
            .unwrap_err();
        assert!(e.to_string().starts_with("audience:"), "{e}");
    }
}

const LOYALTY: &str = r#"{"name": "cafe", "effective_from": "2026-01-01",
  "earning": {"points_per_unit": 1},
  "stamp_cards": [{"id": "card", "name": "3 visits", "stamps": 3, "reward": "free"}],
  "tiers": {"basis": "spend", "window": {"rolling_days": 365}, "grace_days": 0,
            "levels": [{"id": "member", "name": "Member", "threshold": "0"},
                       {"id": "silver", "name": "Silver", "threshold": "100"},
                       {"id": "gold", "name": "Gold", "threshold": "300"}]},
  "promotions": [{"id": "double", "name": "Double points", "starts": "2026-12-05 10:00",
                  "ends": "2026-12-07 10:00", "multiplier": "2", "tiers": ["gold"]}],
  "rewards": [{"id": "free", "name": "Free coffee", "cost": 0, "kind": "free_item", "sku": "COFFEE"}]}"#;

/// Stores an order of `yen` (one line) and lets the loyalty programme evaluate it, as an
/// import does: points, stamps, tier changes.
fn loyalty_order(store: &Store, reference: &str, customer: i64, yen: i64, at: DateTime<Utc>) {
    store
        .write(|c| {
            let amount = enishi_core::Amount::from_str(&yen.to_string()).unwrap();
            let new = enishi_store::NewOrder {
                order_ref: reference.into(),
                customer_id: customer,
                placed_at: at,
                placed_day: tokyo().day_number(at),
                channel: enishi_core::Channel::InStore,
                currency: "JPY".into(),
                total: amount,
                status: "completed".into(),
                lines: vec![enishi_store::OrderLine {
                    sku: "BEANS".into(),
                    product_name: None,
                    category: None,
                    quantity: 1,
                    unit_price: amount,
                    amount,
                }],
            };
            let id = match enishi_store::repo::orders::insert_batch(c, &[new])?[0] {
                enishi_store::repo::orders::Inserted::Created(id) => id,
                enishi_store::repo::orders::Inserted::Duplicate(id) => id,
            };
            let order = enishi_store::repo::orders::get(c, id)?.unwrap();
            let programs = enishi_rewards::Programs::load(c, tokyo())?;
            enishi_rewards::on_order(c, &programs, &order)?;
            Ok::<_, enishi_store::StoreError>(())
        })
        .unwrap();
}

/// Runs the loyalty programme's jobs now (they announce promotions that have started).
fn loyalty_jobs(store: &Store) {
    store
        .write(|c| {
            let programs = enishi_rewards::Programs::load(c, tokyo())?;
            let now = c.now();
            enishi_rewards::run_jobs(c, &programs, now)
        })
        .unwrap();
}

fn occurrences(store: &Store, j: &repo::Journey) -> Vec<String> {
    enrolments(store, j).into_iter().map(|e| format!("{} {}", e.0, e.1)).collect()
}

#[test]
fn tier_upgrades_promotion_starts_and_stamp_cards_one_short_enter_once_each() {
    for db in testing::all() {
        let (store, clock) = store_on(&db.url);
        customers(&store, 5);
        let steps = r#""steps": [{"key": "a", "template": "welcome"}]"#;
        let doc = |name: &str, trigger: &str| format!(r#"{{"name": "{name}", "trigger": {trigger}, {steps}}}"#);
        // Loyalty triggers need the programme, and what they name must be in it.
        let refused = |json: String, field: &str| {
            let e = store.write(|c| journeys::create(c, &json, yen(), &tokyo())).unwrap_err();
            assert!(e.is_users() && e.to_string().contains(field), "{field}: {e}");
        };
        refused(doc("up", r#"{"kind": "tier_upgrade"}"#), "trigger.kind: 'tier_upgrade' needs a loyalty programme");
        store.write(|c| enishi_rewards::apply_program(c, LOYALTY, tokyo(), "test").map(drop)).unwrap();
        refused(doc("up", r#"{"kind": "tier_upgrade", "tier": "platinum"}"#), "trigger.tier: 'platinum'");
        refused(doc("up", r#"{"kind": "promotion_started", "promotion": "triple"}"#), "trigger.promotion");
        refused(doc("up", r#"{"kind": "stamp_card_one_short", "card": "mug"}"#), "trigger.card");
        let upgrade = create(&store, &doc("upgrade", r#"{"kind": "tier_upgrade"}"#));
        let gold = create(&store, &doc("gold", r#"{"kind": "tier_upgrade", "tier": "gold"}"#));
        let promo = create(&store, &doc("promo", r#"{"kind": "promotion_started", "promotion": "double"}"#));
        let stamps = create(
            &store,
            &format!(
                r#"{{"name": "stamps", "trigger": {{"kind": "stamp_card_one_short"}}, "exit": {{"on_order": false}}, {steps}}}"#
            ),
        );

        // C1's first order places them in the lowest tier (no upgrade); C2 starts in silver,
        // C4 in gold; C5 climbs from member to silver with a second order.
        clock.advance(Duration::hours(1));
        loyalty_order(&store, "O1", 1, 50, clock.now());
        loyalty_order(&store, "O2", 2, 150, clock.now());
        loyalty_order(&store, "O4", 4, 400, clock.now());
        loyalty_order(&store, "O5", 5, 50, clock.now());
        loyalty_order(&store, "O6", 5, 60, clock.now() + Duration::minutes(5));
        clock.advance(Duration::minutes(10));
        let p = run(&store);
        assert_eq!(occurrences(&store, &upgrade).len(), 3, "{:?} {}", occurrences(&store, &upgrade), db.url);
        let upgraded: Vec<String> = occurrences(&store, &upgrade).into_iter().map(|o| o[..2].to_string()).collect();
        assert_eq!(upgraded, ["C2", "C4", "C5"]);
        assert!(occurrences(&store, &upgrade).iter().all(|o| o.contains(" tier:")));
        assert_eq!(occurrences(&store, &gold).len(), 1);
        assert!(occurrences(&store, &gold)[0].starts_with("C4 tier:"));
        assert!(p.entered >= 4, "{p:?}");
        assert_eq!(run(&store).entered, 0, "each tier change enters once");

        // The next day C1 comes back: two stamps of three, one short.
        clock.advance(Duration::days(1));
        loyalty_order(&store, "O7", 1, 50, clock.now());
        // 5 December 10:00 in Tokyo: the promotion starts and is announced; gold C4 enters.
        clock.set(Utc.with_ymd_and_hms(2026, 12, 5, 1, 0, 0).unwrap() + Duration::minutes(1));
        loyalty_jobs(&store);
        run(&store);
        assert_eq!(occurrences(&store, &stamps), ["C1 stamps:card:1"]);
        assert_eq!(occurrences(&store, &promo), ["C4 promotion:double"]);
        // C2 reaches gold during the promotion: another upgrade, but the promotion entered
        // its members once.
        loyalty_order(&store, "O8", 2, 200, clock.now());
        clock.advance(Duration::minutes(1));
        run(&store);
        assert_eq!(occurrences(&store, &promo), ["C4 promotion:double"]);
        assert_eq!(occurrences(&store, &gold).len(), 2);
        assert_eq!(occurrences(&store, &upgrade).len(), 4);
        assert_eq!(run(&store), pass::Pass::default());

        // C1 fills the card (no entry: it is full, then empty), then stamps it twice again:
        // one short for the second time.
        for (day, reference) in [(2, "O9"), (3, "O10"), (4, "O11")] {
            clock.set(t0() + Duration::days(day));
            loyalty_order(&store, reference, 1, 50, clock.now());
            clock.advance(Duration::minutes(1));
            run(&store);
        }
        // C2 had stamped twice too (their first order and the gold one, a day apart).
        assert_eq!(occurrences(&store, &stamps), ["C1 stamps:card:1", "C1 stamps:card:2", "C2 stamps:card:1"]);
    }
}

#[test]
fn a_call_step_makes_a_task_for_staff_after_the_welcome_mail() {
    for db in testing::all() {
        let (store, clock) = store_on(&db.url);
        let dir = tempfile::tempdir().unwrap();
        let server = SmtpServer::start(dir.path(), &[]);
        customers(&store, 3);
        // C1 and C2 may be phoned; C2 has no number.
        store
            .write(|c| {
                c.execute("UPDATE customers SET phone = '+819012345678' WHERE id IN (1, 3)", &[])?;
                for id in [1, 2] {
                    c.execute(
                        "INSERT INTO customer_consents (customer_id, channel, status, changed_at, source) \
                         VALUES ($1, 'phone', 'opted_in', $2, 'test')",
                        params![id, c.now()],
                    )?;
                }
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();
        let e = store
            .write(|c| {
                journeys::create(
                    c,
                    r#"{"name": "x", "trigger": {"kind": "first_purchase"},
                        "steps": [{"key": "a", "channel": "call", "call": {"due_days": 120}}]}"#,
                    yen(),
                    &tokyo(),
                )
            })
            .unwrap_err();
        assert!(e.to_string().starts_with("steps[0]: call.due_days"), "{e}");
        let j = create(
            &store,
            r#"{"name": "thanks", "trigger": {"kind": "first_purchase"},
                "steps": [{"key": "welcome", "template": "welcome"},
                          {"key": "call", "channel": "call", "delay": "3d",
                           "call": {"title": "Thank-you call", "due_days": 2}}]}"#,
        );
        clock.advance(Duration::hours(1));
        for id in 1..=3 {
            order(&store, id, id, clock.now());
        }
        assert_eq!(run(&store).queued, 2);
        send_all(&store, &server);
        assert_eq!(server.received().len(), 2);

        // Three days on the call step is due: C1 gets a task, C2 has no number, C3 no consent.
        clock.advance(Duration::days(3));
        let p = run(&store);
        assert_eq!((p.queued, p.skipped), (1, 2), "{p:?} {}", db.url);
        assert_eq!(store.write(enishi_campaigns::calls::create_due_tasks).unwrap(), 1);
        assert_eq!(store.write(enishi_campaigns::calls::create_due_tasks).unwrap(), 0, "one task per message");
        let tasks = store
            .read(|c| c.query("SELECT customer_id, kind, title, due_at, status FROM tasks ORDER BY id", &[]))
            .unwrap();
        assert_eq!(tasks.len(), 1);
        let t = &tasks[0];
        assert_eq!(
            (t.int(0).unwrap(), t.text(1).unwrap(), t.text(2).unwrap()),
            (1, "call".into(), "Thank-you call".into())
        );
        assert_eq!(t.int(3).unwrap(), (clock.now() + Duration::days(2)).timestamp(), "due two days after the step");
        assert_eq!(
            recipients(&store, "thanks / call"),
            vec![
                (1, "call (first)".into(), "sent".into(), Some("task_created".into())),
                (2, "call (first)".into(), "skipped".into(), Some("no_address".into())),
                (3, "call (first)".into(), "skipped".into(), Some("no_consent".into())),
            ]
        );
        let done: Vec<String> = enrolments(&store, &j).into_iter().map(|e| e.2).collect();
        assert_eq!(done, ["done", "done", "done"]);
        // No email went out for the call step.
        send_all(&store, &server);
        assert_eq!(server.received().len(), 2);
    }
}

#[test]
fn a_promotion_journeys_message_names_the_promotion_its_multiplier_and_its_end() {
    for db in testing::all() {
        let (store, clock) = store_on(&db.url);
        let dir = tempfile::tempdir().unwrap();
        let server = SmtpServer::start(dir.path(), &[]);
        customers(&store, 4);
        store.write(|c| enishi_rewards::apply_program(c, LOYALTY, tokyo(), "test").map(drop)).unwrap();
        store
            .write(|c| {
                let parts = Parts {
                    subject: "{{ promotion.name }}".into(),
                    html: "<p>{{ promotion.name }}</p>".into(),
                    text: "{{ promotion.name }} x{{ promotion.multiplier }} +{{ promotion.bonus }} until {{ promotion.ends }}\n{{ unsubscribe_url }}".into(),
                };
                ops::save_template(c, "promo", "en", &parts, yen())
            })
            .unwrap();
        create(
            &store,
            r#"{"name": "promo", "trigger": {"kind": "promotion_started", "promotion": "double"},
                "sender": {"email": "aya@corner.example"},
                "steps": [{"key": "announce", "template": "promo"}, {"key": "after", "template": "promo", "delay": "2d"}]}"#,
        );
        // C4 reaches gold; C1 stays a member.
        clock.advance(Duration::hours(1));
        loyalty_order(&store, "O4", 4, 400, clock.now());
        loyalty_order(&store, "O1", 1, 50, clock.now());
        // 5 December 10:01 in Tokyo: the promotion has started and is announced.
        clock.set(Utc.with_ymd_and_hms(2026, 12, 5, 1, 1, 0).unwrap());
        loyalty_jobs(&store);
        run(&store);
        send_all(&store, &server);
        let got = server.received();
        assert_eq!(got.len(), 1, "{}", db.url);
        let data = got[0]["data"].as_str().unwrap();
        assert_eq!(header(data, "Subject"), Some("Double points"));
        assert!(data.contains("Double points x2 +0 until December 7, 2026, 10:00"), "{data}");
        // Two days later the promotion has ended, but the journey's message still speaks of it.
        clock.set(Utc.with_ymd_and_hms(2026, 12, 7, 1, 1, 0).unwrap());
        run(&store);
        send_all(&store, &server);
        let got = server.received();
        assert_eq!(got.len(), 2, "{}", db.url);
        assert!(got[1]["data"].as_str().unwrap().contains("Double points x2 +0 until December 7, 2026, 10:00"));

        // A campaign's preview speaks of the promotion running for the customer's tier: the
        // gold customer's, not the member's.
        let said = |who: &str| {
            store
                .read(|c| {
                    let parts = Parts { subject: "s".into(), html: "h".into(), text: "[{{ promotion.name }}]".into() };
                    ops::render_for(
                        c,
                        &parts,
                        enishi_campaigns::template::Language::English,
                        Some(who),
                        yen(),
                        &tokyo(),
                    )
                })
                .unwrap()
                .text
        };
        clock.set(Utc.with_ymd_and_hms(2026, 12, 6, 1, 0, 0).unwrap());
        assert_eq!(said("C4"), "[Double points]");
        assert_eq!(said("C1"), "[]");
        // After its end, nothing is running.
        clock.set(Utc.with_ymd_and_hms(2026, 12, 7, 1, 0, 0).unwrap());
        assert_eq!(said("C4"), "[]");
    }
}
