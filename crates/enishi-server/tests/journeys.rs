//! The scheduler's pass over the journeys: customers enter and steps are queued once per tick
//! slot, whichever of several servers ticks first.

use chrono::{TimeZone, Utc};
use enishi_campaigns::journeys::pass::Pass;
use enishi_campaigns::template::Parts;
use enishi_core::{Clock, ManualClock};
use enishi_server::scheduler::{tick, Ticker};
use enishi_store::params;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn the_scheduler_runs_the_journeys_once_per_slot_across_servers() {
    for db in enishi_store::testing::all() {
        // 11:00 in the business time zone (UTC by default): outside the quiet hours.
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 12, 4, 11, 0, 0).unwrap());
        let store = Arc::new(enishi_store::Store::open(&db.url).unwrap().with_clock(Arc::new(clock.clone())));
        let state = enishi_server::AppState::new(store.clone()).unwrap();
        store
            .write(|c| {
                let parts = Parts { subject: "Welcome".into(), html: "<p>x</p>".into(), text: "x".into() };
                let yen = enishi_core::Currency::from_str("JPY").unwrap();
                enishi_campaigns::campaigns::save_template(c, "welcome", "en", &parts, yen)?;
                let doc = r#"{"name": "welcome", "trigger": {"kind": "first_purchase"},
                              "steps": [{"key": "hello", "template": "welcome"}]}"#;
                enishi_campaigns::journeys::create(c, doc, yen, &enishi_core::BusinessClock::default())?;
                Ok::<_, enishi_campaigns::Error>(())
            })
            .unwrap();
        clock.advance(chrono::Duration::minutes(5));
        let now = clock.now().timestamp();
        store
            .write(|c| {
                c.execute(
                    "INSERT INTO customers (id, external_id, name, email, locale, first_seen_at, created_at, updated_at) \
                     VALUES (1, 'C1', 'Hana', 'c1@example.com', 'en', $1, $1, $1)",
                    params![now],
                )?;
                c.execute(
                    "INSERT INTO customer_consents (customer_id, channel, status, changed_at, source) \
                     VALUES (1, 'email', 'opted_in', $1, 'test')",
                    params![now],
                )?;
                c.execute(
                    "INSERT INTO orders (order_ref, customer_id, placed_at, placed_day, channel, currency, total, status, created_at) \
                     VALUES ('O1', 1, $1, 0, 'online', 'JPY', 12000000, 'completed', $1)",
                    params![now],
                )
            })
            .unwrap();
        let (one, two) = (Ticker::new(Duration::from_secs(60)), Ticker::new(Duration::from_secs(60)));
        let first = tick(&state, now, &one);
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        assert_eq!(first.journeys, Some(Pass { entered: 1, queued: 1, ..Pass::default() }), "{}", db.url);
        assert_eq!(tick(&state, now, &two).journeys, None, "the other server's tick in the same slot");
        assert_eq!(tick(&state, now + 60, &two).journeys, Some(Pass::default()), "nothing twice");
        let queued = store.read(|c| enishi_store::repo::campaigns::pending(c, None)).unwrap();
        assert_eq!(queued, 1);
    }
}
