//! Journeys through the server: the scheduler's pass (customers enter and steps are queued
//! once per tick slot, whichever of several servers ticks first), the JSON API (create, list,
//! the funnel per step, pause and resume) and the console pages, through the real HTTP server.

mod common;

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

fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string()
}

/// Templates `welcome` and `thanks`; customers C1 (opted in to email) and C2 (not), each with
/// a first order at `at`.
fn shop(store: &enishi_store::Store, at: i64) {
    store
        .write(|c| {
            let yen = enishi_core::Currency::from_str("JPY").unwrap();
            for name in ["welcome", "thanks"] {
                let parts = Parts { subject: "Welcome".into(), html: "<p>x</p>".into(), text: "x".into() };
                enishi_campaigns::campaigns::save_template(c, name, "en", &parts, yen)?;
            }
            Ok::<_, enishi_campaigns::Error>(())
        })
        .unwrap();
    customers_with_orders(store, &[1, 2], at);
}

fn customers_with_orders(store: &enishi_store::Store, ids: &[i64], at: i64) {
    store
        .write(|c| {
            for &id in ids {
                c.execute(
                    "INSERT INTO customers (id, external_id, name, email, locale, first_seen_at, created_at, updated_at) \
                     VALUES ($1, $2, 'Hana', $3, 'en', $4, $4, $4)",
                    params![id, format!("C{id}"), format!("c{id}@example.com"), at],
                )?;
                if id % 2 == 1 {
                    c.execute(
                        "INSERT INTO customer_consents (customer_id, channel, status, changed_at, source) \
                         VALUES ($1, 'email', 'opted_in', $2, 'test')",
                        params![id, at],
                    )?;
                }
                c.execute(
                    "INSERT INTO orders (order_ref, customer_id, placed_at, placed_day, channel, currency, total, status, created_at) \
                     VALUES ($1, $2, $3, 0, 'online', 'JPY', 12000000, 'completed', $3)",
                    params![format!("O{id}"), id, at],
                )?;
            }
            Ok::<_, enishi_store::StoreError>(())
        })
        .unwrap();
}

const DOC: &str = r#"{"name": "welcome series", "trigger": {"kind": "first_purchase"},
  "steps": [{"key": "welcome", "template": "welcome"},
            {"key": "call", "channel": "call", "delay": "3d", "call": {"title": "Thank-you call"}}]}"#;

#[test]
fn the_api_creates_journeys_shows_their_funnel_and_pauses_them() {
    for db in enishi_store::testing::all() {
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 12, 4, 11, 0, 0).unwrap());
        let app = common::start_at(db, clock.clone());
        let store = enishi_store::Store::open(&app._db.url).unwrap().with_clock(Arc::new(clock.clone()));
        let calendar = enishi_core::BusinessClock::default();
        shop(&store, clock.now().timestamp() - 86_400);
        let doc: serde_json::Value = serde_json::from_str(DOC).unwrap();

        // Mistakes name their field; nothing is made.
        let mut bad = doc.clone();
        bad["steps"][1]["delay"] = "3 weeks".into();
        let (s, e) = app.admin("POST", "/api/v1/journeys", Some(bad));
        assert_eq!(
            (s, e["code"].as_str(), e["field"].as_str()),
            (422, Some("invalid_journey"), Some("steps[1].delay")),
            "{e}"
        );
        let mut bad = doc.clone();
        bad["steps"][0]["template"] = "nope".into();
        let (s, e) = app.admin("POST", "/api/v1/journeys", Some(bad));
        assert_eq!((s, e["field"].as_str()), (422, Some("steps[0].template")), "{e}");
        let (s, e, _) = app.call("POST", "/api/v1/journeys", Some(&app.admin), Some("{\"name\": "));
        assert!(s == 400 || s == 422, "{s} {e}");
        assert_eq!(app.admin("GET", "/api/v1/journeys", None).1["items"], serde_json::json!([]), "nothing half-made");
        assert_eq!(app.call("POST", "/api/v1/journeys", Some(&app.staff), Some(DOC)).0, 403);
        assert_eq!(app.call("GET", "/api/v1/journeys", Some(&app.staff), None).0, 403);

        let (s, j) = app.admin("POST", "/api/v1/journeys", Some(doc.clone()));
        assert_eq!(s, 201, "{j}");
        assert_eq!(
            (j["trigger"].as_str(), j["status"].as_str(), j["enrolled"].as_i64()),
            (Some("first_purchase"), Some("active"), Some(0))
        );
        assert_eq!(j["steps"][1]["campaign"], "welcome series / call");
        assert_eq!(j["steps"][1]["channel"], "call");
        let (s, e) = app.admin("POST", "/api/v1/journeys", Some(doc.clone()));
        assert_eq!((s, e["code"].as_str()), (409, Some("name_taken")));

        // C1 and C2 ordered before the journey was made and do not enter; C3 and C4 order after
        // it and do: C3's welcome is queued, C4 (no consent) is skipped; both wait for the call.
        clock.advance(chrono::Duration::minutes(5));
        customers_with_orders(&store, &[3, 4], clock.now().timestamp());
        enishi_campaigns::journeys::pass::run(&store, &calendar).unwrap();
        let (s, j) = app.admin("GET", "/api/v1/journeys/welcome%20series", None);
        assert_eq!(s, 200, "{j}");
        assert_eq!((j["enrolled"].as_i64(), j["active"].as_i64()), (Some(2), Some(2)), "{j}");
        let welcome = &j["steps"][0];
        assert_eq!(
            [&welcome["enrolled"], &welcome["queued"], &welcome["skipped"], &welcome["waiting"], &welcome["sent"]],
            [2, 1, 1, 0, 0].map(serde_json::Value::from).each_ref(),
            "{welcome}"
        );
        assert_eq!((j["steps"][1]["waiting"].as_i64(), j["steps"][1]["enrolled"].as_i64()), (Some(2), Some(2)));
        let latest = j["latest"].as_array().unwrap();
        assert_eq!(latest.len(), 2);
        assert!(latest.iter().all(|e| e["next_step"] == "call" && e["occurrence"] == "first"), "{latest:?}");

        // Paused, it enters nobody; resumed, the occurrence enters.
        let (s, j) = app.admin("POST", "/api/v1/journeys/welcome%20series/pause", None);
        assert_eq!((s, j["status"].as_str()), (200, Some("paused")), "{j}");
        let (s, e) = app.admin("POST", "/api/v1/journeys/welcome%20series/pause", None);
        assert_eq!((s, e["code"].as_str()), (409, Some("wrong_state")));
        clock.advance(chrono::Duration::minutes(5));
        customers_with_orders(&store, &[5], clock.now().timestamp());
        assert_eq!(enishi_campaigns::journeys::pass::run(&store, &calendar).unwrap().entered, 0);
        let (s, j) = app.admin("POST", "/api/v1/journeys/welcome%20series/resume", None);
        assert_eq!((s, j["status"].as_str()), (200, Some("active")));
        assert_eq!(enishi_campaigns::journeys::pass::run(&store, &calendar).unwrap().entered, 1);
        let (_, list) = app.admin("GET", "/api/v1/journeys", None);
        assert_eq!(list["items"][0]["enrolled"], 3, "{list}");
        assert_eq!(app.admin("GET", "/api/v1/journeys/nothing", None).0, 404);
        assert_eq!(app.admin("POST", "/api/v1/journeys/nothing/resume", None).0, 404);
        let audit = store
            .read(|c| c.query("SELECT action FROM audit_log WHERE action LIKE 'journey.%' ORDER BY id", &[]))
            .unwrap();
        let actions: Vec<String> = audit.iter().map(|r| r.text(0).unwrap()).collect();
        assert_eq!(actions, ["journey.create", "journey.pause", "journey.resume"]);
    }
}

#[test]
fn the_console_lists_makes_and_shows_journeys_in_english_and_japanese() {
    for db in enishi_store::testing::all() {
        let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 12, 4, 11, 0, 0).unwrap());
        let app = common::start_at(db, clock.clone());
        let store = enishi_store::Store::open(&app._db.url).unwrap().with_clock(Arc::new(clock.clone()));
        shop(&store, clock.now().timestamp() - 86_400);
        let cookie = app.session(enishi_core::Role::Marketer);
        let (s, html) = app.page("/campaigns", &cookie);
        assert!(s == 200 && html.contains("href=\"/journeys\""), "linked from the campaigns page");
        let (s, html) = app.page("/journeys", &cookie);
        assert!(s == 200 && html.contains("No journeys yet."), "{html}");
        let (s, html) = app.page("/journeys/new", &cookie);
        assert!(s == 200 && html.contains("<textarea") && html.contains("first_purchase"), "{html}");
        let csrf = csrf_in(&html);

        // A mistake is shown on the same page, with what was typed kept.
        let wrong = DOC.replace("\"3d\"", "\"soon\"");
        let (s, _, html) = app.form("/journeys", &cookie, &[("csrf", &csrf), ("document", &wrong)]);
        assert_eq!(s, 422);
        assert!(html.contains("id=\"journey-error\"") && html.contains("steps[1].delay"), "{html}");
        assert!(html.contains("&quot;soon&quot;"), "what was typed is kept: {html}");
        let (s, location, _) = app.form("/journeys", &cookie, &[("csrf", &csrf), ("document", DOC)]);
        assert_eq!((s, location.as_deref()), (303, Some("/journeys?created=welcome%20series")));
        let (_, html) = app.page("/journeys?created=welcome%20series", &cookie);
        assert!(html.contains("Created journey") && html.contains("First purchase"), "{html}");

        clock.advance(chrono::Duration::minutes(5));
        customers_with_orders(&store, &[3, 4], clock.now().timestamp());
        enishi_campaigns::journeys::pass::run(&store, &enishi_core::BusinessClock::default()).unwrap();
        let (s, html) = app.page("/journeys/welcome%20series", &cookie);
        assert_eq!(s, 200);
        let funnel = html.split("id=\"funnel\"").nth(1).unwrap().split("</table>").next().unwrap();
        let cells: Vec<&str> = funnel.split("<td>").skip(1).map(|c| c.split("</td>").next().unwrap()).collect();
        // welcome: email, reached 2, waiting 0, queued 1, sent 0, skipped 1, failed 0, left 0.
        assert_eq!(&cells[1..9], ["Email", "2", "0", "1", "0", "1", "0", "0"], "{funnel}");
        assert_eq!(&cells[10..12], ["Call list", "2"], "{funnel}");
        assert!(html.contains("id=\"funnel-chart") && html.contains("id=\"pause-journey\""), "{html}");

        // Pausing and resuming from the page.
        let csrf = csrf_in(&html);
        let (s, location, _) = app.form("/journeys/welcome%20series/pause", &cookie, &[("csrf", &csrf)]);
        assert_eq!((s, location.as_deref()), (303, Some("/journeys/welcome%20series")));
        let (_, html) = app.page("/journeys/welcome%20series", &cookie);
        assert!(html.contains("Paused") && html.contains("id=\"resume-journey\""), "{html}");
        assert!(store
            .read(|c| enishi_store::repo::journeys::by_name(c, "welcome series"))
            .unwrap()
            .unwrap()
            .paused_at
            .is_some());
        assert_eq!(app.page("/journeys/nothing", &cookie).0, 404);

        // In Japanese for a Japanese user.
        let email = "ja-marketer@shop.example";
        store
            .write(|c| {
                enishi_store::repo::users::create(
                    c,
                    email,
                    "",
                    enishi_core::Role::Marketer,
                    enishi_core::Language::Ja,
                    common::PASSWORD,
                )
            })
            .unwrap();
        let ja = app.sign_in(email, common::PASSWORD).unwrap();
        let (_, html) = app.page("/journeys", &ja);
        assert!(html.contains("ジャーニー一覧") && html.contains("初回購入") && html.contains("一時停止中"), "{html}");
        let (_, html) = app.page("/journeys/welcome%20series", &ja);
        assert!(html.contains("ステップごとのファネル") && html.contains("再開"), "{html}");
    }
}
