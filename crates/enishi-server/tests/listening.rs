//! Listening and following up through the HTTP server, on SQLite and PostgreSQL: interactions
//! with an assignee and a resolution note, the inbox, tasks, owners and the complaint rule
//! (API); the inbox, interaction, tasks and rules pages, the due-task badge, the till's "how
//! is it now?" prompt and the customers list's marker (console).

mod common;

use common::{apps, order, App, PASSWORD};
use enishi_core::{Language, Role};
use enishi_store::repo::users;
use serde_json::{json, Value};

/// A console user made in the app's store; returns their id.
fn user(app: &App, email: &str, name: &str, role: Role) -> i64 {
    let store = enishi_store::Store::open(&app._db.url).unwrap();
    store.write(|c| users::create(c, email, name, role, Language::En, PASSWORD)).unwrap()
}

/// A customer with one order; returns their id.
fn customer(app: &App, order_id: &str, external_id: &str) -> i64 {
    assert_eq!(app.admin("POST", "/api/v1/orders", Some(order(order_id, external_id, "20.00"))).0, 201);
    let (_, found) = app.admin("GET", &format!("/api/v1/customers?external_id={external_id}"), None);
    found["items"][0]["id"].as_i64().unwrap()
}

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().unwrap()
}

fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string()
}

#[test]
fn interactions_are_assigned_resolved_with_a_note_and_leave_the_inbox() {
    for app in apps() {
        let id = customer(&app, "L-1", "C-1");
        user(&app, "aki@shop.example", "Aki", Role::Staff);
        let path = format!("/api/v1/customers/{id}/interactions");
        let (s, bad) =
            app.admin("POST", &path, Some(json!({"kind": "complaint", "body": "x", "assignee": "who@shop.example"})));
        assert_eq!((s, bad["field"].as_str()), (422, Some("assignee")));
        assert!(items(&app.admin("GET", &path, None).1).is_empty(), "nothing written");
        let (s, i) = app.admin(
            "POST",
            &path,
            Some(
                json!({"kind": "complaint", "body": "Grinder broke", "channel": "phone", "assignee": "AKI@shop.example",
                        "occurred_at": "2026-11-20T10:00:00Z"}),
            ),
        );
        assert_eq!(s, 201, "{i}");
        assert_eq!(i["assignee"]["name"], "Aki");
        assert_eq!(i["status"], "open");
        let iid = i["id"].as_i64().unwrap();

        // The complaint rule made one follow-up call for the assignee, due three days later.
        let (_, tasks) = app.admin("GET", &format!("/api/v1/tasks?customer_id={id}"), None);
        assert_eq!(items(&tasks).len(), 1);
        let t = &items(&tasks)[0];
        assert_eq!((t["rule"].as_str(), t["kind"].as_str()), (Some("complaint"), Some("call")));
        assert_eq!((t["interaction_id"].as_i64(), t["due_at"].as_str()), (Some(iid), Some("2026-11-23T10:00:00Z")));
        assert_eq!(t["assignee"]["email"], "aki@shop.example");
        let (_, export) = app.admin("GET", &format!("/api/v1/customers/{id}/privacy-export"), None);
        assert_eq!(export["tasks"][0]["title"], "Follow up on the complaint", "a privacy export holds the tasks");

        // In progress: still in the inbox, filtered and sorted as asked.
        let (s, i) = app.admin("PATCH", &format!("/api/v1/interactions/{iid}"), Some(json!({"status": "in_progress"})));
        assert_eq!((s, i["status"].as_str()), (200, Some("in_progress")));
        let (s, inbox) = app.admin("GET", "/api/v1/inbox?sort=value", None);
        assert_eq!((s, inbox["open_total"].as_i64()), (200, Some(1)));
        assert_eq!(items(&inbox)[0]["customer_name"], "Hana Sato");
        assert_eq!(items(&inbox)[0]["interaction"]["id"].as_i64(), Some(iid));
        assert_eq!(items(&app.admin("GET", "/api/v1/inbox?assignee=aki@shop.example", None).1).len(), 1);
        assert!(items(&app.admin("GET", "/api/v1/inbox?unassigned=true", None).1).is_empty());
        let (s, bad) = app.admin("GET", "/api/v1/inbox?sort=loudest", None);
        assert_eq!((s, bad["field"].as_str()), (422, Some("sort")));
        let (s, bad) = app.admin("PATCH", &format!("/api/v1/interactions/{iid}"), Some(json!({"status": "maybe"})));
        assert_eq!((s, bad["field"].as_str()), (422, Some("status")));
        let (s, _) = app.admin("PATCH", "/api/v1/interactions/999", Some(json!({"status": "open"})));
        assert_eq!(s, 404);

        // Resolved with a note: out of the inbox, the note on the timeline, the time it took.
        let (s, r) = app.admin(
            "PATCH",
            &format!("/api/v1/interactions/{iid}"),
            Some(json!({"status": "resolved", "resolution": "Sent a new burr", "assignee": null})),
        );
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["resolution"], "Sent a new burr");
        assert!(r["assignee"].is_null());
        assert!(r["time_to_resolve_seconds"].as_i64().unwrap() > 0);
        assert!(items(&app.admin("GET", "/api/v1/inbox", None).1).is_empty());
        let (_, t) = app.admin("GET", &format!("/api/v1/customers/{id}/timeline"), None);
        assert!(items(&t).iter().any(|e| e["summary"] == "Grinder broke → Sent a new burr"), "{t}");
        let (_, got) = app.admin("GET", &format!("/api/v1/interactions/{iid}"), None);
        assert_eq!(got["status"], "resolved");
        let (s, again) =
            app.admin("POST", &format!("/api/v1/interactions/{iid}/resolve?resolution=Done%20twice"), None);
        assert_eq!((s, &again["resolved_at"]), (200, &r["resolved_at"]), "resolving again keeps the time");
        assert_eq!(again["resolution"], "Done twice");
    }
}

#[test]
fn a_rules_task_is_titled_in_the_customers_language_else_the_assignees() {
    for app in apps() {
        let store = enishi_store::Store::open(&app._db.url).unwrap();
        store.write(|c| users::create(c, "mai@shop.example", "Mai", Role::Staff, Language::Ja, PASSWORD)).unwrap();
        user(&app, "ken@shop.example", "Ken", Role::Staff);
        // A Japanese customer with an English owner, an English customer with a Japanese owner,
        // a customer without a language with a Japanese owner, one with neither.
        let cases = [
            ("C-1", Some("ja-JP"), Some("ken@shop.example"), "苦情のフォローアップ"),
            ("C-2", Some("en"), Some("mai@shop.example"), "Follow up on the complaint"),
            ("C-3", None, Some("mai@shop.example"), "苦情のフォローアップ"),
            ("C-4", None, None, "Follow up on the complaint"),
        ];
        for (n, (shop_id, locale, owner, title)) in cases.into_iter().enumerate() {
            let id = customer(&app, &format!("R-{n}"), shop_id);
            if let Some(locale) = locale {
                let (s, v) = app.admin("PATCH", &format!("/api/v1/customers/{id}"), Some(json!({"locale": locale})));
                assert_eq!(s, 200, "{v}");
            }
            if let Some(owner) = owner {
                let (s, _) = app.admin("PUT", &format!("/api/v1/customers/{id}/owner"), Some(json!({"owner": owner})));
                assert_eq!(s, 200);
            }
            let path = format!("/api/v1/customers/{id}/interactions");
            assert_eq!(app.admin("POST", &path, Some(json!({"kind": "complaint", "body": "遅い"}))).0, 201);
            let (_, tasks) = app.admin("GET", &format!("/api/v1/tasks?customer_id={id}"), None);
            assert_eq!(items(&tasks).len(), 1, "{tasks}");
            assert_eq!(
                (items(&tasks)[0]["rule"].as_str(), items(&tasks)[0]["title"].as_str()),
                (Some("complaint"), Some(title))
            );
        }
        // The console names a rule's task in the visitor's language, whatever was stored.
        let (_, html) = app.page("/tasks?view=open", &app.session(Role::Admin));
        assert_eq!(html.matches("Follow up on the complaint").count(), 4, "{html}");
        assert!(!html.contains("苦情のフォローアップ"), "{html}");
    }
}

#[test]
fn tasks_and_owners_through_the_api() {
    for app in apps() {
        let id = customer(&app, "T-1", "C-1");
        user(&app, "ken@shop.example", "Ken", Role::Staff);
        let owner = format!("/api/v1/customers/{id}/owner");
        assert!(app.admin("GET", &owner, None).1["owner"].is_null());
        let staff = app.staff.clone();
        let (s, _, _) = app.call("PUT", &owner, Some(&staff), Some(r#"{"owner": "ken@shop.example"}"#));
        assert_eq!(s, 403, "staff may not set owners");
        let (s, bad) = app.admin("PUT", &owner, Some(json!({"owner": "nobody@shop.example"})));
        assert_eq!((s, bad["field"].as_str()), (422, Some("owner")));
        let (s, o) = app.admin("PUT", &owner, Some(json!({"owner": "ken@shop.example"})));
        assert_eq!((s, o["owner"]["name"].as_str()), (200, Some("Ken")));
        assert_eq!(app.admin("PUT", "/api/v1/customers/999/owner", Some(json!({"owner": null}))).0, 404);

        // Made by staff, for the owner by default; refused with the field named when wrong.
        let task =
            json!({"customer_id": id, "kind": "call", "title": "Ask about the grinder", "due_at": "2020-01-02 10:00"});
        let (s, t, _) = app.call("POST", "/api/v1/tasks", Some(&staff), Some(&task.to_string()));
        assert_eq!(s, 201, "{t}");
        assert_eq!((t["assignee"]["name"].as_str(), t["status"].as_str()), (Some("Ken"), Some("open")));
        assert_eq!(t["overdue"], true);
        let tid = t["id"].as_i64().unwrap();
        for (field, value) in
            [("kind", json!("fax")), ("due_at", json!("soon")), ("title", json!("  ")), ("assignee", json!("x@y.z"))]
        {
            let mut wrong = task.clone();
            wrong[field] = value;
            let (s, e) = app.admin("POST", "/api/v1/tasks", Some(wrong));
            assert_eq!((s, e["field"].as_str()), (422, Some(field)), "{field}");
        }
        let mut elsewhere = task.clone();
        elsewhere["customer_id"] = json!(999);
        assert_eq!(app.admin("POST", "/api/v1/tasks", Some(elsewhere)).0, 404);
        let mut foreign = task.clone();
        foreign["interaction_id"] = json!(999);
        assert_eq!(app.admin("POST", "/api/v1/tasks", Some(foreign)).1["field"], "interaction_id");
        assert_eq!(
            items(&app.admin("GET", &format!("/api/v1/tasks?customer_id={id}"), None).1).len(),
            1,
            "nothing half-written"
        );

        let (_, mine) = app.admin("GET", "/api/v1/tasks?assignee=ken@shop.example&overdue=true", None);
        assert_eq!(items(&mine).len(), 1);
        let (s, done) = app.admin(
            "PATCH",
            &format!("/api/v1/tasks/{tid}"),
            Some(json!({"status": "done", "outcome": "Works again"})),
        );
        assert_eq!((s, done["status"].as_str(), done["overdue"].as_bool()), (200, Some("done"), Some(false)));
        assert!(done["done_at"].is_string());
        assert!(items(&app.admin("GET", "/api/v1/tasks?overdue=true", None).1).is_empty());
        assert_eq!(app.admin("GET", &format!("/api/v1/tasks/{tid}"), None).1["outcome"], "Works again");
        let (s, _) = app.admin("GET", "/api/v1/tasks?status=later", None);
        assert_eq!(s, 422);
        let (s, _, _) = app.call("DELETE", &format!("/api/v1/tasks/{tid}"), Some(&staff), None);
        assert_eq!(s, 403);
        assert_eq!(app.admin("DELETE", &format!("/api/v1/tasks/{tid}"), None).0, 204);
        assert_eq!(app.admin("DELETE", &format!("/api/v1/tasks/{tid}"), None).0, 404);
        assert_eq!(app.admin("GET", &format!("/api/v1/tasks/{tid}"), None).0, 404);

        // A B2B account's owner.
        let (s, a) = app.admin("POST", "/api/v1/accounts", Some(json!({"external_id": "ACME", "name": "Acme"})));
        assert!(s == 200 || s == 201, "{a}");
        let acct = format!("/api/v1/accounts/{}/owner", a["id"]);
        assert_eq!(
            app.admin("PUT", &acct, Some(json!({"owner": "ken@shop.example"}))).1["owner"]["email"],
            "ken@shop.example"
        );
        assert_eq!(app.admin("GET", &acct, None).1["owner"]["name"], "Ken");
        assert_eq!(app.admin("GET", "/api/v1/accounts/999/owner", None).0, 404);
    }
}

#[test]
fn the_console_inbox_tasks_badge_and_till_prompt() {
    for app in apps() {
        let id = customer(&app, "P-1", "C-1");
        let other = customer(&app, "P-2", "C-2");
        let mia = user(&app, "mia@shop.example", "Mia", Role::Staff);
        let cookie = app.sign_in("mia@shop.example", PASSWORD).unwrap();
        let admin = app.session(Role::Admin);
        let marketer = app.session(Role::Marketer);
        let path = format!("/api/v1/customers/{id}/interactions");
        let (_, i) =
            app.admin("POST", &path, Some(json!({"kind": "complaint", "body": "<script>alert(1)</script> cold"})));
        let iid = i["id"].as_i64().unwrap();

        // Every page renders for each role; the rules are for owners.
        for (page, want) in
            [("/inbox", [200, 200, 200]), ("/tasks", [200, 200, 200]), ("/tasks/rules", [200, 403, 403])]
        {
            for (c, w) in [&admin, &marketer, &cookie].into_iter().zip(want) {
                assert_eq!(app.page(page, c).0, w, "{page}");
            }
        }
        for page in [
            "/tasks?view=overdue",
            "/tasks?view=open",
            "/tasks?view=done",
            "/inbox?sort=value&who=mine",
            &format!("/interactions/{iid}"),
        ] {
            assert_eq!(app.page(page, &cookie).0, 200, "{page}");
        }
        assert_eq!(app.page("/interactions/999", &cookie).0, 404);
        assert_eq!(app.page("/interactions/x", &cookie).0, 404);

        // The inbox and the customers list show the issue, escaped.
        let (_, inbox) = app.page("/inbox", &cookie);
        assert!(inbox.contains("&lt;script&gt;alert(1)&lt;/script&gt; cold") && !inbox.contains("<script>alert"));
        let (_, list) = app.page("/customers?q=C-1", &admin);
        assert!(list.contains("open-issue"), "the list marks the open issue");
        assert!(!app.page("/customers?q=C-2", &admin).1.contains("open-issue"));

        // The badge counts the visitor's due tasks.
        assert!(!app.page("/till", &cookie).1.contains("id=\"due-tasks\""));
        let csrf = csrf_in(&app.page(&format!("/customers/{other}"), &cookie).1);
        let (s, _, _) = app.form(
            &format!("/customers/{other}/tasks"),
            &cookie,
            &[
                ("csrf", &csrf),
                ("kind", "letter"),
                ("title", "Thank them"),
                ("due", "2020-01-01"),
                ("assignee", &mia.to_string()),
            ],
        );
        assert_eq!(s, 303);
        let (_, home) = app.page("/till", &cookie);
        assert!(home.contains("id=\"due-tasks\">1<"), "badge");
        let (_, mine) = app.page("/tasks", &cookie);
        assert!(mine.contains("Thank them"));
        let (s, _, page) = app.form(
            &format!("/customers/{other}/tasks"),
            &cookie,
            &[("csrf", &csrf), ("kind", "fax"), ("title", "x"), ("due", "2020-01-01")],
        );
        assert_eq!(s, 422, "{page}");
        let (s, _, _) = app.form(
            &format!("/customers/{other}/tasks"),
            &cookie,
            &[("csrf", &csrf), ("kind", "call"), ("title", "x"), ("due", "someday")],
        );
        assert_eq!(s, 422);
        let task_id = mine.split("action=\"/tasks/").nth(1).unwrap().split('/').next().unwrap().to_string();
        let (s, _, _) = app.form(&format!("/tasks/{task_id}/done"), &cookie, &[("csrf", &csrf), ("outcome", "Sent")]);
        assert_eq!(s, 303);
        assert!(!app.page("/till", &cookie).1.contains("id=\"due-tasks\""), "done: no badge");

        // Staff may not set owners; a marketer may.
        let (s, _, _) =
            app.form(&format!("/customers/{id}/owner"), &cookie, &[("csrf", &csrf), ("owner", &mia.to_string())]);
        assert_eq!(s, 403);
        let mcsrf = csrf_in(&app.page("/account", &marketer).1);
        let (s, _, _) = app.form(&format!("/customers/{id}/owner"), &marketer, &[("csrf", &mcsrf), ("owner", "999")]);
        assert_eq!(s, 422);
        let (s, _, _) =
            app.form(&format!("/customers/{id}/owner"), &marketer, &[("csrf", &mcsrf), ("owner", &mia.to_string())]);
        assert_eq!(s, 303);
        assert_eq!(app.admin("GET", &format!("/api/v1/customers/{id}/owner"), None).1["owner"]["name"], "Mia");

        // Resolving on the interaction's page; the till then asks how it is now, once.
        let (s, _, _) = app.form(
            &format!("/interactions/{iid}"),
            &cookie,
            &[("csrf", &csrf), ("status", "resolved"), ("assignee", ""), ("resolution", "Replaced the machine")],
        );
        assert_eq!(s, 303);
        let (_, page) = app.page(&format!("/customers/{id}"), &cookie);
        assert!(page.contains("id=\"ask-how\"") && page.contains("Replaced the machine"));
        let (s, _, _) = app.form(&format!("/customers/{other}/interactions/{iid}/asked"), &cookie, &[("csrf", &csrf)]);
        assert_eq!(s, 404, "not that customer's");
        let (s, _, _) = app.form(&format!("/customers/{id}/interactions/{iid}/asked"), &cookie, &[("csrf", &csrf)]);
        assert_eq!(s, 303);
        assert!(!app.page(&format!("/customers/{id}"), &cookie).1.contains("id=\"ask-how\""));
        let (s, _, _) = app.form(&format!("/interactions/{iid}"), &cookie, &[("csrf", &csrf), ("status", "later")]);
        assert_eq!(s, 422);

        // The rules' settings: checked, then saved.
        let acsrf = csrf_in(&app.page("/account", &admin).1);
        let rules = |days: &str| {
            [
                ("csrf", acsrf.clone()),
                ("complaint", "off".into()),
                ("complaint_days", days.into()),
                ("at_risk", "on".into()),
                ("at_risk_days", "2".into()),
                ("first_order", "on".into()),
                ("first_order_over", "100".into()),
                ("detractor", "on".into()),
                ("detractor_days", "2".into()),
                ("ask_days", "14".into()),
            ]
        };
        fn form<'a>(f: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
            f.iter().map(|(k, v)| (*k, v.as_str())).collect()
        }
        let bad = rules("0");
        assert_eq!(app.form("/tasks/rules", &admin, &form(&bad)).0, 422);
        let good = rules("5");
        assert_eq!(app.form("/tasks/rules", &admin, &form(&good)).0, 303);
        let (_, page) = app.page("/tasks/rules", &admin);
        assert!(page.contains("name=\"complaint_days\" type=\"number\" min=\"1\" max=\"365\" value=\"5\""), "{page}");
        // The complaint rule is off now: a new complaint makes no task.
        app.admin("POST", &path, Some(json!({"kind": "complaint", "body": "again"})));
        let (_, tasks) = app.admin("GET", &format!("/api/v1/tasks?customer_id={id}"), None);
        assert_eq!(items(&tasks).len(), 1, "only the first complaint's follow-up");
    }
}

#[test]
fn the_daily_work_runs_the_task_rules_and_queues_one_digest_per_assignee() {
    use enishi_store::repo::{history, jobs, tasks};
    for db in enishi_store::testing::all() {
        let store = std::sync::Arc::new(enishi_store::Store::open(&db.url).unwrap());
        let state = enishi_server::AppState::new(store.clone()).unwrap();
        let now = chrono::Utc::now();
        let aki = store
            .write(|c| -> Result<i64, enishi_store::StoreError> {
                let aki = users::create(c, "aki@shop.example", "Aki", Role::Staff, Language::En, PASSWORD)
                    .map_err(|e| enishi_store::StoreError::Decode(e.to_string()))?;
                let u =
                    enishi_store::CustomerUpsert { external_id: Some("C-1".parse().unwrap()), ..Default::default() };
                let id = enishi_store::repo::customers::upsert(c, &u)?.id();
                tasks::set_customer_owner(c, id, Some(aki))?;
                // Recorded straight into the store, as an import would: no rule ran at intake.
                let new = enishi_store::NewInteraction {
                    customer_id: id,
                    kind: enishi_core::InteractionKind::Complaint,
                    channel: None,
                    body: "Cold".into(),
                    status: enishi_core::InteractionStatus::Open,
                    staff: None,
                    occurred_at: now - chrono::Duration::days(4),
                    assignee_id: None,
                    resolution: None,
                };
                history::add_interaction(c, &new)?;
                Ok(aki)
            })
            .unwrap();
        let ticker = enishi_server::scheduler::Ticker::new(std::time::Duration::from_secs(60));
        let first = enishi_server::scheduler::tick(&state, now.timestamp(), &ticker);
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        let made = store.read(|c| tasks::list(c, &tasks::TaskQuery::default(), 10, 0)).unwrap();
        assert_eq!(made.len(), 1, "the complaint's follow-up");
        assert_eq!(made[0].assignee.as_ref().map(|u| u.id), Some(aki), "for the owner");
        let digests = || store.read(|c| jobs::list(c, Some(tasks::DIGEST_JOB), jobs::JobState::Queued, 10)).unwrap();
        let queued = digests();
        assert_eq!(queued.len(), 1, "the follow-up was due yesterday: Aki's digest");
        let payload: Value = serde_json::from_str(&queued[0].payload).unwrap();
        assert_eq!(
            (payload["email"].as_str(), payload["tasks"][0]["overdue"].as_bool()),
            (Some("aki@shop.example"), Some(true))
        );
        enishi_server::scheduler::tick(&state, now.timestamp() + 60, &ticker);
        assert_eq!(digests().len(), 1, "once a day");
        assert_eq!(store.read(|c| tasks::list(c, &tasks::TaskQuery::default(), 10, 0)).unwrap().len(), 1);
    }
}
