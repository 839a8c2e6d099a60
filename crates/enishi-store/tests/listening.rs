//! Listening and following up on both databases: interactions with an assignee, a status and a
//! resolution note; the inbox; the till's "how is it now?" prompt; owners; tasks; the task
//! rules (idempotent) and the assignees' daily digest jobs.

use chrono::{DateTime, Duration, Utc};
use enishi_core::{Amount, Channel, InteractionKind, InteractionStatus, Language, Role, TaskKind, TaskStatus};
use enishi_store::repo::history::{self, InboxQuery, InboxSort, InteractionChange};
use enishi_store::repo::tasks::{self, NewTask, Rules, TaskChange, TaskQuery};
use enishi_store::repo::{accounts, customers, jobs, orders, settings, users};
use enishi_store::*;

fn each(f: impl Fn(&Store)) {
    for db in testing::all() {
        eprintln!("backend: {:?}", db.store.backend());
        f(&db.store);
    }
}

fn customer(c: &mut dyn Conn, ext: &str, name: &str) -> i64 {
    let u = CustomerUpsert { external_id: Some(ext.parse().unwrap()), name: Some(name.into()), ..Default::default() };
    customers::upsert(c, &u).unwrap().id()
}

fn user(c: &mut dyn Conn, email: &str, name: &str) -> i64 {
    users::create(c, email, name, Role::Staff, Language::En, "a long password").unwrap()
}

fn issue(c: &mut dyn Conn, customer_id: i64, kind: InteractionKind, body: &str, at: DateTime<Utc>) -> Interaction {
    let new = NewInteraction {
        customer_id,
        kind,
        channel: Some("phone".into()),
        body: body.into(),
        status: InteractionStatus::Open,
        staff: None,
        occurred_at: at,
        assignee_id: None,
        resolution: None,
    };
    history::add_interaction(c, &new).unwrap()
}

fn order(r: &str, customer_id: i64, at: DateTime<Utc>, total: &str, currency: &str) -> NewOrder {
    let total: Amount = total.parse().unwrap();
    NewOrder {
        order_ref: r.into(),
        customer_id,
        placed_at: at,
        placed_day: at.timestamp().div_euclid(86_400),
        channel: Channel::InStore,
        currency: currency.into(),
        total,
        status: "completed".into(),
        lines: vec![OrderLine {
            sku: "BEANS-1".into(),
            product_name: None,
            category: None,
            quantity: 1,
            unit_price: total,
            amount: total,
        }],
    }
}

#[test]
fn interactions_carry_an_assignee_a_status_and_a_resolution_note() {
    each(|s| {
        s.write(|c| -> Result<(), StoreError> {
            let now = Utc::now();
            let id = customer(c, "L-1", "Hana");
            let aki = user(c, "aki@shop.example", "Aki");
            let i = issue(c, id, InteractionKind::Complaint, "Grinder broke", now - Duration::hours(5));
            assert!(i.assignee.is_none() && i.resolved_at.is_none());
            let ch = InteractionChange {
                status: Some(InteractionStatus::InProgress),
                assignee_id: Some(Some(aki)),
                ..Default::default()
            };
            let i = history::update_interaction(c, i.id, &ch)?.unwrap();
            assert_eq!(i.status, InteractionStatus::InProgress);
            assert_eq!(i.assignee.as_ref().map(|u| u.name.as_str()), Some("Aki"));
            assert_eq!(history::open_issues(c, id, 10)?.len(), 1, "in progress is still open");
            let ch = InteractionChange {
                status: Some(InteractionStatus::Resolved),
                resolution: Some(Some("Sent a new burr".into())),
                ..Default::default()
            };
            let r = history::update_interaction(c, i.id, &ch)?.unwrap();
            assert_eq!(r.resolution.as_deref(), Some("Sent a new burr"));
            let took = r.time_to_resolve().unwrap();
            assert!((5 * 3600 - 5..5 * 3600 + 60).contains(&took), "time to resolve {took}");
            assert!(history::open_issues(c, id, 10)?.is_empty());
            // Resolving again keeps the first time; the note shows on the timeline.
            let again = history::resolve_interaction(c, i.id, Some("Ken"))?.unwrap();
            assert_eq!(again.resolved_at, r.resolved_at);
            let t = history::timeline(c, id, 10, 0)?;
            assert_eq!(t[0].summary, "Grinder broke → Sent a new burr");
            // Reopening clears the time.
            let ch = InteractionChange { status: Some(InteractionStatus::Open), ..Default::default() };
            assert_eq!(history::update_interaction(c, i.id, &ch)?.unwrap().resolved_at, None);
            let ch = InteractionChange { status: Some(InteractionStatus::Closed), ..Default::default() };
            assert!(history::update_interaction(c, i.id, &ch)?.unwrap().resolved_at.is_some());
            assert!(history::update_interaction(c, i.id + 100, &ch)?.is_none());
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn the_inbox_lists_open_issues_by_age_assignee_or_value() {
    each(|s| {
        s.write(|c| -> Result<(), StoreError> {
            let now = Utc::now();
            let (a, b, k) = (customer(c, "A", "Ann"), customer(c, "B", "Ben"), customer(c, "K", "Kai"));
            let zed = user(c, "zed@shop.example", "Zed");
            let amy = user(c, "amy@shop.example", "Amy");
            let old = issue(c, a, InteractionKind::Complaint, "old", now - Duration::days(3));
            let mid = issue(c, b, InteractionKind::Request, "mid", now - Duration::days(2));
            issue(c, k, InteractionKind::Inquiry, "new", now - Duration::days(1));
            let done = issue(c, k, InteractionKind::Complaint, "done", now - Duration::days(9));
            history::resolve_interaction(c, done.id, None)?;
            let assign = |c: &mut dyn Conn, i: i64, u: i64| {
                let ch = InteractionChange { assignee_id: Some(Some(u)), ..Default::default() };
                history::update_interaction(c, i, &ch).map(|_| ())
            };
            assign(c, old.id, zed)?;
            assign(c, mid.id, amy)?;
            c.execute(
                "INSERT INTO customer_scores (customer_id, clv, clv_as_of_day, loyal_class, updated_at) VALUES \
                 ($1, 10.0, 1, 'other', 0), ($2, 500.0, 1, 'semi_loyal', 0), ($3, 50.0, 1, 'loyal', 0)",
                params![a, b, k],
            )?;
            let ids = |q: &InboxQuery, c: &mut dyn Conn| -> Result<Vec<String>, StoreError> {
                Ok(history::inbox(c, q, 10, 0)?.into_iter().map(|i| i.interaction.body).collect())
            };
            assert_eq!(ids(&InboxQuery::default(), c)?, ["old", "mid", "new"]);
            let by = |sort| InboxQuery { sort, ..Default::default() };
            assert_eq!(ids(&by(InboxSort::Assignee), c)?, ["new", "mid", "old"]);
            assert_eq!(ids(&by(InboxSort::Value), c)?, ["new", "mid", "old"]);
            let items = history::inbox(c, &by(InboxSort::Value), 10, 0)?;
            assert_eq!(items[0].loyal_class.as_deref(), Some("loyal"));
            assert_eq!(items[1].clv, Some(500.0));
            assert_eq!(items[2].customer_name.as_deref(), Some("Ann"));
            let mine = InboxQuery { assignee_id: Some(zed), ..Default::default() };
            assert_eq!(ids(&mine, c)?, ["old"]);
            let nobody = InboxQuery { unassigned: true, ..Default::default() };
            assert_eq!(ids(&nobody, c)?, ["new"]);
            let complaints = InboxQuery { kind: Some(InteractionKind::Complaint), ..Default::default() };
            assert_eq!(ids(&complaints, c)?, ["old"]);
            assert_eq!(history::open_issue_count(c)?, 3);
            assert_eq!(history::inbox(c, &InboxQuery::default(), 1, 1)?[0].interaction.body, "mid");
            let latest = history::latest_open_issues(c, &[a, b, k, 999])?;
            assert_eq!(latest.len(), 3);
            assert_eq!(latest[&k].body, "new");
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn the_till_asks_about_a_resolved_concern_once() {
    each(|s| {
        s.write(|c| -> Result<(), StoreError> {
            let now = Utc::now();
            let id = customer(c, "T-1", "Tomo");
            let other = customer(c, "T-2", "Other");
            let grinder = issue(c, id, InteractionKind::Complaint, "Grinder", now - Duration::days(4));
            let praise = issue(c, id, InteractionKind::Compliment, "Lovely", now - Duration::days(4));
            let open = issue(c, id, InteractionKind::Request, "Decaf please", now - Duration::days(1));
            history::resolve_interaction(c, grinder.id, None)?;
            history::resolve_interaction(c, praise.id, None)?;
            let since = (now - Duration::days(30)).timestamp();
            let ask: Vec<i64> = history::to_ask_about(c, id, since)?.iter().map(|i| i.id).collect();
            assert_eq!(ask, [grinder.id], "resolved concerns only, not praise nor open ones ({})", open.id);
            assert!(history::to_ask_about(c, id, now.timestamp() + 60)?.is_empty(), "resolved before the window");
            assert!(!history::mark_asked(c, other, grinder.id)?, "not that customer's");
            assert!(history::mark_asked(c, id, grinder.id)?);
            assert!(history::to_ask_about(c, id, since)?.is_empty());
            assert!(history::get_interaction(c, grinder.id)?.unwrap().asked_at.is_some());
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn owners_and_tasks() {
    each(|s| {
        s.write(|c| -> Result<(), StoreError> {
            let now = Utc::now().timestamp();
            let id = customer(c, "O-1", "Oki");
            let aki = user(c, "aki@shop.example", "Aki");
            let ken = user(c, "ken@shop.example", "Ken");
            assert_eq!(tasks::user_by_email(c, " AKI@shop.example")?.map(|u| u.id), Some(aki));
            assert!(tasks::user_by_email(c, "nobody@shop.example")?.is_none());
            assert!(tasks::customer_owner(c, id)?.is_none());
            assert!(tasks::set_customer_owner(c, id, Some(aki))?);
            assert_eq!(tasks::customer_owner(c, id)?.map(|u| u.name), Some("Aki".to_string()));
            assert!(!tasks::set_customer_owner(c, id + 100, Some(aki))?);
            let acct = accounts::upsert(
                c,
                &AccountUpsert {
                    external_id: "ACME".parse().unwrap(),
                    name: Some("Acme".into()),
                    industry: None,
                    region: None,
                    size_band: None,
                },
            )?
            .id();
            assert!(tasks::set_account_owner(c, acct, Some(ken))?);
            assert_eq!(tasks::account_owner(c, acct)?.map(|u| u.id), Some(ken));
            assert!(tasks::set_account_owner(c, acct, None)?);
            assert!(tasks::account_owner(c, acct)?.is_none());

            let make = |c: &mut dyn Conn, title: &str, due: i64, who: Option<i64>| {
                let t = NewTask {
                    customer_id: id,
                    interaction_id: None,
                    kind: TaskKind::Call,
                    title: title.into(),
                    due_at: due,
                    assignee_id: who,
                    created_by: Some("test".into()),
                };
                tasks::create(c, &t)
            };
            let late = make(c, "late", now - 3600, Some(aki))?;
            let soon = make(c, "soon", now + 3600, Some(aki))?;
            let kens = make(c, "kens", now - 60, Some(ken))?;
            assert_eq!(late.status, TaskStatus::Open);
            assert_eq!(late.customer_name.as_deref(), Some("Oki"));
            let titles = |q: TaskQuery, c: &mut dyn Conn| -> Result<Vec<String>, StoreError> {
                Ok(tasks::list(c, &q, 10, 0)?.into_iter().map(|t| t.title).collect())
            };
            assert_eq!(titles(TaskQuery::default(), c)?, ["late", "kens", "soon"]);
            assert_eq!(titles(TaskQuery { assignee_id: Some(aki), ..Default::default() }, c)?, ["late", "soon"]);
            assert_eq!(titles(TaskQuery { due_before: Some(now), ..Default::default() }, c)?, ["late", "kens"]);
            assert_eq!(tasks::due_count(c, aki, now)?, 1);
            assert_eq!(tasks::due_count(c, aki, now + 7200)?, 2);
            let done = TaskChange {
                status: Some(TaskStatus::Done),
                outcome: Some(Some("Happy again".into())),
                ..Default::default()
            };
            let d = tasks::update(c, late.id, &done)?.unwrap();
            assert!(d.done_at.is_some());
            assert_eq!(d.outcome.as_deref(), Some("Happy again"));
            assert_eq!(tasks::due_count(c, aki, now)?, 0);
            assert_eq!(titles(TaskQuery { status: Some(TaskStatus::Done), ..Default::default() }, c)?, ["late"]);
            assert_eq!(tasks::update(c, late.id, &done)?.unwrap().done_at, d.done_at, "done twice keeps the time");
            let t = history::timeline(c, id, 10, 0)?;
            assert!(t.iter().any(|e| e.kind == "task" && e.summary == "late → Happy again"));
            let moved = TaskChange { assignee_id: Some(None), ..Default::default() };
            assert!(tasks::update(c, soon.id, &moved)?.unwrap().assignee.is_none());
            assert!(tasks::delete(c, kens.id)?);
            assert!(!tasks::delete(c, kens.id)?);
            assert!(tasks::get(c, kens.id)?.is_none());
            // Erasure deletes the customer's tasks with the rest of their personal data.
            assert!(!tasks::list(c, &TaskQuery { customer_id: Some(id), ..Default::default() }, 10, 0)?.is_empty());
            assert!(enishi_store::repo::privacy::erase(c, id, now)?);
            assert!(tasks::list(c, &TaskQuery { customer_id: Some(id), ..Default::default() }, 10, 0)?.is_empty());
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn the_rules_make_one_task_each_and_can_be_switched_off() {
    each(|s| {
        s.write(|c| -> Result<(), StoreError> {
            let now = Utc::now();
            let owner = user(c, "own@shop.example", "Owner");
            let id = customer(c, "R-1", "Rin");
            tasks::set_customer_owner(c, id, Some(owner))?;
            let complaint = issue(c, id, InteractionKind::Complaint, "Cold latte", now - Duration::hours(1));
            issue(c, id, InteractionKind::Request, "not a complaint", now);
            let since = (now - Duration::days(7)).timestamp();
            let today = now.timestamp().div_euclid(86_400);

            // A complaint: a follow-up call due in the set days, for the owner; once.
            assert_eq!((Rules::load(c)?.complaint, Rules::load(c)?.complaint_days), (true, 3));
            assert_eq!(tasks::run_rules(c, "USD".parse().unwrap(), since, today - 7)?.complaint, 1);
            assert_eq!(tasks::run_rules(c, "USD".parse().unwrap(), since, today - 7)?.complaint, 0);
            let all = tasks::list(c, &TaskQuery::default(), 10, 0)?;
            assert_eq!(all.len(), 1);
            assert_eq!(all[0].rule.as_deref(), Some("complaint"));
            assert_eq!(all[0].interaction_id, Some(complaint.id));
            assert_eq!(all[0].assignee.as_ref().map(|u| u.id), Some(owner));
            assert_eq!(all[0].due_at, complaint.occurred_at + Duration::days(3));
            settings::set(c, tasks::RULE_COMPLAINT, "off")?;
            issue(c, id, InteractionKind::Complaint, "Again", now);
            assert_eq!({ let r = Rules::load(c)?; tasks::complaint_rule(c, &r, since, None)? }, 0);
            settings::set(c, tasks::RULE_COMPLAINT, "on")?;
            settings::set(c, tasks::RULE_COMPLAINT_DAYS, "5")?;
            assert_eq!(Rules::load(c)?.complaint_days, 5);

            // A loyal customer turning at risk: one personal call; not for the others.
            let other = customer(c, "R-2", "Ren");
            c.execute(
                "INSERT INTO customer_scores (customer_id, loyal_class, updated_at) VALUES ($1, 'loyal', 0), ($2, 'other', 0)",
                params![id, other],
            )?;
            c.execute(
                "INSERT INTO lifecycle_changes (customer_id, from_stage, to_stage, changed_day, created_at) VALUES \
                 ($1, 'active', 'at_risk', $3, 0), ($2, 'active', 'at_risk', $3, 0), ($1, 'new', 'active', $4, 0)",
                params![id, other, today, today - 30],
            )?;
            let rules = Rules::load(c)?;
            assert_eq!(tasks::at_risk_rule(c, &rules, today - 7)?, 1);
            assert_eq!(tasks::at_risk_rule(c, &rules, today - 7)?, 0);
            settings::set(c, tasks::RULE_AT_RISK, "off")?;
            c.execute(
                "INSERT INTO lifecycle_changes (customer_id, from_stage, to_stage, changed_day, created_at) VALUES ($1, 'lost', 'at_risk', $2, 0)",
                params![id, today + 1],
            )?;
            assert_eq!({ let r = Rules::load(c)?; tasks::at_risk_rule(c, &r, today - 7)? }, 0);

            // A large first order: off until switched on; then only a first order over the amount,
            // in the shop's currency.
            let big = customer(c, "R-3", "Big");
            let small = customer(c, "R-4", "Small");
            let repeat = customer(c, "R-5", "Repeat");
            let euro = customer(c, "R-6", "Euro");
            orders::insert_batch(
                c,
                &[
                    order("B-1", big, now - Duration::hours(2), "500.00", "USD"),
                    order("B-2", big, now - Duration::hours(1), "900.00", "USD"),
                    order("S-1", small, now - Duration::hours(1), "20.00", "USD"),
                    order("P-1", repeat, now - Duration::days(60), "10.00", "USD"),
                    order("P-2", repeat, now - Duration::hours(1), "900.00", "USD"),
                    order("E-1", euro, now - Duration::hours(1), "900.00", "EUR"),
                ],
            )?;
            let usd = "USD".parse().unwrap();
            assert_eq!({ let r = Rules::load(c)?; tasks::first_order_rule(c, &r, usd, since)? }, 0, "off by default");
            settings::set(c, tasks::RULE_FIRST_ORDER, "on")?;
            settings::set(c, tasks::RULE_FIRST_ORDER_OVER, "100")?;
            assert_eq!(Rules::load(c)?.first_order_over, "100".parse().unwrap());
            assert_eq!({ let r = Rules::load(c)?; tasks::first_order_rule(c, &r, usd, since)? }, 1);
            assert_eq!({ let r = Rules::load(c)?; tasks::first_order_rule(c, &r, usd, since)? }, 0);
            let notes = tasks::list(c, &TaskQuery { customer_id: Some(big), ..Default::default() }, 10, 0)?;
            assert_eq!(notes.len(), 1);
            assert_eq!((notes[0].kind, notes[0].rule.as_deref()), (TaskKind::Letter, Some("first_order")));
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn each_assignee_gets_one_digest_job_a_day() {
    each(|s| {
        s.write(|c| -> Result<(), StoreError> {
            let now = Utc::now().timestamp();
            let id = customer(c, "D-1", "Dai");
            let aki = user(c, "aki@shop.example", "Aki");
            let ken = user(c, "ken@shop.example", "Ken");
            let make = |c: &mut dyn Conn, title: &str, due: i64, who: Option<i64>| {
                let t = NewTask {
                    customer_id: id,
                    interaction_id: None,
                    kind: TaskKind::Email,
                    title: title.into(),
                    due_at: due,
                    assignee_id: who,
                    created_by: None,
                };
                tasks::create(c, &t).map(|_| ())
            };
            let (start, end) = (now - 3600, now + 3600);
            make(c, "overdue", start - 10, Some(aki))?;
            make(c, "today", now, Some(aki))?;
            make(c, "tomorrow", end + 10, Some(ken))?;
            make(c, "nobody's", now, None)?;
            assert_eq!(tasks::enqueue_digests(c, "2026-12-04", start, end)?, 1);
            assert_eq!(tasks::enqueue_digests(c, "2026-12-04", start, end)?, 0, "once a day");
            let queued = jobs::list(c, Some(tasks::DIGEST_JOB), jobs::JobState::Queued, 10)?;
            assert_eq!(queued.len(), 1);
            assert_eq!(queued[0].idempotency_key, format!("tasks.digest:{aki}:2026-12-04"));
            let payload: serde_json::Value = serde_json::from_str(&queued[0].payload).unwrap();
            assert_eq!(payload["email"], "aki@shop.example");
            assert_eq!(payload["day"], "2026-12-04");
            let titles: Vec<&str> =
                payload["tasks"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
            assert_eq!(titles, ["overdue", "today"]);
            assert_eq!(payload["tasks"][0]["overdue"], true);
            assert_eq!(payload["tasks"][1]["overdue"], false);
            assert_eq!(tasks::enqueue_digests(c, "2026-12-05", end, end + 86_400 * 2)?, 2, "the next day, both");
            Ok(())
        })
        .unwrap();
    });
}
