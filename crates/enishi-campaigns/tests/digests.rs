//! The assignees' daily task digests, sent to a real SMTP server process on loopback (Python's
//! aiosmtpd), on SQLite and PostgreSQL: the daily work's digest goes out once, to the
//! assignee, with their tasks; a refused address leaves it queued with the reason; no From
//! address leaves it untouched.

#[path = "support/shop.rs"]
mod shop;
mod support;

use enishi_campaigns::digests::{deliver, Delivered};
use enishi_campaigns::email::SmtpConfig;
use enishi_core::{BusinessClock, Clock, Language, ManualClock, Role, TaskKind};
use enishi_store::repo::{jobs, tasks, users};
use enishi_store::{testing, Store};
use shop::{customer, t0};
use std::sync::Arc;
use support::SmtpServer;

/// Aki (Japanese console) and Ben (English) with one task each, due today; the day's digests
/// queued. Returns the store.
fn two_assignees(url: &str, clock: &ManualClock) -> Store {
    let store = Store::open(url).unwrap().with_clock(Arc::new(clock.clone()));
    store
        .write(|c| {
            customer(c, 1, true, &[]);
            let aki =
                users::create(c, "aki@shop.example", "Aki", Role::Staff, Language::Ja, "a long password 1").unwrap();
            let ben =
                users::create(c, "ben@shop.example", "Ben", Role::Staff, Language::En, "a long password 2").unwrap();
            for (who, title) in [(aki, "Ask how the grinder is"), (ben, "Thank-you call")] {
                let task = tasks::NewTask {
                    customer_id: 1,
                    interaction_id: None,
                    kind: TaskKind::Call,
                    title: title.into(),
                    due_at: clock.timestamp() + 3_600,
                    assignee_id: Some(who),
                    created_by: None,
                };
                tasks::create(c, &task)?;
            }
            let now = clock.timestamp();
            tasks::enqueue_digests(c, "2026-12-04", now - 36_000, now + 50_400)?;
            Ok::<_, enishi_store::StoreError>(())
        })
        .unwrap();
    store
}

fn queued(store: &Store) -> Vec<jobs::Job> {
    store.read(|c| jobs::list(c, Some(tasks::DIGEST_JOB), jobs::JobState::Queued, 10)).unwrap()
}

#[test]
fn each_assignee_gets_their_digest_once() {
    for db in testing::all() {
        let clock = ManualClock::at(t0());
        let store = two_assignees(&db.url, &clock);
        assert_eq!(queued(&store).len(), 2);
        let dir = tempfile::tempdir().unwrap();
        let smtp = SmtpServer::start(dir.path(), &[]);
        let config = SmtpConfig::parse(&format!("smtp://127.0.0.1:{}", smtp.port)).unwrap();
        let calendar = BusinessClock::new("Asia/Tokyo").unwrap();

        // No From address: the digests wait, untouched.
        assert_eq!(deliver(&store, &config, " ", "w1", &calendar).unwrap(), Delivered::default());
        assert_eq!(queued(&store).len(), 2);

        let d = deliver(&store, &config, "Corner Coffee <shop@corner.example>", "w1", &calendar).unwrap();
        assert_eq!(d, Delivered { claimed: 2, sent: 2, failed: 0 });
        let got = smtp.received();
        assert_eq!(got.len(), 2);
        let to_aki = got.iter().find(|m| m["to"][0] == "aki@shop.example").expect("Aki's digest");
        let data = to_aki["data"].as_str().unwrap();
        assert_eq!(support::header(data, "From"), Some("\"Corner Coffee\" <shop@corner.example>"));
        assert!(support::header(data, "Subject").unwrap().starts_with("=?utf-8?"), "a Japanese subject");
        let to_ben = got.iter().find(|m| m["to"][0] == "ben@shop.example").expect("Ben's digest");
        let data = to_ben["data"].as_str().unwrap();
        assert_eq!(support::header(data, "Subject"), Some("Your tasks for 2026-12-04: 1"), "his one task");

        // Done: a second round sends nothing.
        clock.advance(chrono::Duration::seconds(600));
        assert_eq!(deliver(&store, &config, "shop@corner.example", "w1", &calendar).unwrap().claimed, 0);
        assert_eq!(smtp.received().len(), 2);
    }
}

#[test]
fn a_refused_address_leaves_the_digest_queued_with_the_reason() {
    for db in testing::all() {
        let clock = ManualClock::at(t0());
        let store = two_assignees(&db.url, &clock);
        let dir = tempfile::tempdir().unwrap();
        let smtp = SmtpServer::start(dir.path(), &["--reject", "ben@shop.example"]);
        let config = SmtpConfig::parse(&format!("smtp://127.0.0.1:{}", smtp.port)).unwrap();
        let d = deliver(&store, &config, "shop@corner.example", "w1", &BusinessClock::default()).unwrap();
        assert_eq!(d, Delivered { claimed: 2, sent: 1, failed: 1 });
        assert_eq!(smtp.received().len(), 1);
        let waiting = queued(&store);
        assert_eq!(waiting.len(), 1, "Ben's digest is tried again later");
        assert!(waiting[0].last_error.as_deref().unwrap_or("").contains("550"), "{:?}", waiting[0].last_error);
        assert!(waiting[0].run_after > clock.timestamp(), "after a backoff");
    }
}
