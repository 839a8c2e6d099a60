//! The call-list channel on SQLite and PostgreSQL: one task per recipient for their owner,
//! once, and the call list a caller works from.

#[path = "support/shop.rs"]
mod shop;

use enishi_campaigns::calls;
use enishi_campaigns::campaigns as ops;
use enishi_core::{BusinessClock, ManualClock};
use enishi_store::repo::campaigns as repo;
use enishi_store::{params, testing, Store};
use shop::{customer, news_segment, t0, yen};
use std::sync::Arc;

#[test]
fn a_call_list_campaign_makes_one_task_per_customer_for_their_owner() {
    for db in testing::all() {
        let clock = ManualClock::at(t0());
        let store = Store::open(&db.url).unwrap().with_clock(Arc::new(clock.clone()));
        store
            .write(|c| {
                for id in 1..=5 {
                    let consents: &[(&str, &str)] = if id == 4 { &[] } else { &[("phone", "opted_in")] };
                    customer(c, id, id != 2, consents);
                }
                let now = t0().timestamp();
                c.execute(
                    "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES (9, 'aya@shop', 'Aya', 'staff', 'x', $1)",
                    params![now],
                )?;
                c.execute("UPDATE customers SET owner_id = 9 WHERE id = 3", &[])?;
                c.execute(
                    "INSERT INTO loyalty_accounts (customer_id, balance, referral_code, updated_at) VALUES (1, 420, 'R1', $1)",
                    params![now],
                )?;
                c.execute(
                    "INSERT INTO interactions (customer_id, kind, body, status, occurred_at, created_at) \
                     VALUES (1, 'complaint', 'The beans were stale', 'open', $1, $1)",
                    params![now - 3_600],
                )?;
                c.execute(
                    "INSERT INTO orders (order_ref, customer_id, placed_at, placed_day, channel, currency, total, status, created_at) \
                     VALUES ('O-1', 1, $1, 0, 'store', 'JPY', 12000000, 'completed', $1)",
                    params![now - 10 * 86_400],
                )?;
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();
        news_segment(&store);
        let calendar = BusinessClock::new("Asia/Tokyo").unwrap();
        let doc = r#"{"name": "thank-you calls", "channel": "call", "audience": {"segment": "news"},
            "call": {"title": "Thank-you call", "due_days": 2}, "cost_per_message": "800"}"#;
        let k = store.write(|c| ops::create(c, doc, yen())).unwrap();
        // Before it starts there is nothing to call.
        assert!(store.write(|c| calls::create_tasks(c, &k)).is_err());
        let m = store.write(|c| ops::start(c, &k, &calendar)).unwrap();
        assert_eq!(m.skipped, vec![("no_consent", 1), ("no_address", 1), ("suppressed", 0), ("frequency_cap", 0)]);
        let k = store.read(|c| ops::find(c, "thank-you calls")).unwrap();
        assert_eq!(store.write(|c| calls::create_tasks(c, &k)).unwrap(), 3);
        let k = store.read(|c| ops::find(c, "thank-you calls")).unwrap();
        assert_eq!(k.state, repo::CampaignState::Done);
        // Again: no second task (the server's thread and the CLI may both run it).
        assert_eq!(store.write(calls::create_due_tasks).unwrap(), 0);
        let tasks = store
            .read(|c| {
                c.query(
                    "SELECT customer_id, kind, title, due_at, assignee_id, campaign_id FROM tasks ORDER BY customer_id",
                    &[],
                )
            })
            .unwrap();
        let rows: Vec<(i64, String, String, i64, Option<i64>, i64)> = tasks
            .iter()
            .map(|r| {
                (
                    r.int(0).unwrap(),
                    r.text(1).unwrap(),
                    r.text(2).unwrap(),
                    r.int(3).unwrap(),
                    r.opt_int(4).unwrap(),
                    r.int(5).unwrap(),
                )
            })
            .collect();
        let due = t0().timestamp() + 2 * 86_400;
        assert_eq!(
            rows,
            vec![
                (1, "call".into(), "Thank-you call".into(), due, None, k.id),
                (3, "call".into(), "Thank-you call".into(), due, Some(9), k.id),
                (5, "call".into(), "Thank-you call".into(), due, None, k.id),
            ]
        );
        let notes = store
            .read(|c| c.query("SELECT status, reason FROM campaign_recipients WHERE status = 'sent'", &[]))
            .unwrap();
        assert!(notes.iter().all(|r| r.opt_text(1).unwrap().as_deref() == Some(calls::TASK_CREATED)));
        let list = store.read(|c| calls::call_list(c, &k, &calendar)).unwrap();
        assert_eq!(list.len(), 3);
        let first = &list[0];
        assert_eq!(
            (first.name.as_str(), first.furigana.as_str(), first.phone.as_str()),
            ("佐藤 花子1", "サトウ ハナコ1", "090-0000-0001")
        );
        assert_eq!((first.last_order.as_str(), first.points), ("2026-11-24", 420));
        assert_eq!((first.open_issue.as_str(), first.due.as_str()), ("The beans were stale", "2026-12-06"));
        assert_eq!((list[1].assignee.as_str(), list[1].points, list[1].open_issue.as_str()), ("Aya", 0, ""));
        // A postal or email campaign has no call list.
        let e = store
            .write(|c| {
                let other = ops::create(
                    c,
                    r#"{"name": "letters", "channel": "postal", "audience": {"segment": "news"}}"#,
                    yen(),
                )?;
                calls::call_list(c, &other, &calendar)
            })
            .unwrap_err()
            .to_string();
        assert!(e.contains("not call"), "{e}");
    }
}
