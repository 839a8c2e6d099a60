//! Survey pages the customer reaches by a signed, expiring link, through the HTTP server:
//! valid, expired, tampered and answered twice; the detractor rule; results on a fixture;
//! hostile input and the per-address limit of the public pages.

mod common;

use chrono::TimeZone;
use enishi_campaigns::surveys;
use enishi_core::{Clock, Language, ManualClock, Role};
use enishi_store::repo::surveys as repo;
use enishi_store::repo::users;
use enishi_store::{params, Store};
use std::sync::Arc;

/// A store over the app's database that reads `clock`, as the server does.
fn store_at(app: &common::App, clock: &ManualClock) -> Store {
    Store::open(&app._db.url).unwrap().with_clock(Arc::new(clock.clone()))
}

/// Customers `ids` with `locale` (and a hostile name).
fn customers(store: &Store, ids: &[(i64, &str)]) {
    store
        .write(|c| {
            for (id, locale) in ids {
                c.execute(
                    "INSERT INTO customers (id, external_id, name, email, locale, first_seen_at, created_at, updated_at) \
                     VALUES ($1, $2, '<b>花子</b>', $3, $4, 0, 0, 0)",
                    params![*id, format!("C{id}"), format!("c{id}@example.com"), *locale],
                )?;
            }
            Ok::<_, enishi_store::StoreError>(())
        })
        .unwrap();
}

/// A survey of `kind` with every customer of `ids` invited; their links, in order.
fn invite(store: &Store, name: &str, kind: &str, ids: &[i64]) -> Vec<(i64, String)> {
    store
        .write(|c| {
            let s = surveys::create(c, name, kind, Some(14))?;
            repo::invite(c, &s, ids)?;
            let mut out = Vec::new();
            for i in repo::invitations(c, s.id)? {
                let link = surveys::link(c, &i)?;
                out.push((i.id, link.split("/s/").nth(1).unwrap().to_string()));
            }
            Ok::<_, enishi_campaigns::Error>(out)
        })
        .unwrap()
}

fn stored(store: &Store, invitation: i64) -> repo::Invitation {
    store.read(|c| repo::invitation(c, invitation)).unwrap().unwrap()
}

fn start() -> ManualClock {
    ManualClock::at(chrono::Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap())
}

#[test]
fn survey_links_are_answered_once_refused_when_changed_and_expire() {
    for db in enishi_store::testing::all() {
        let clock = start();
        let app = common::start_at(db, clock.clone());
        let store = store_at(&app, &clock);
        customers(&store, &[(1, "ja-JP"), (2, "en")]);
        let owner = store
            .write(|c| {
                let u = users::create(c, "aki@shop.example", "Aki", Role::Staff, Language::Ja, common::PASSWORD)?;
                c.execute("UPDATE customers SET owner_id = $1 WHERE id = 1", params![u])?;
                Ok::<_, enishi_store::repo::users::UserError>(u)
            })
            .unwrap();
        let links = invite(&store, "after visit", "nps", &[1, 2]);
        let (id, token) = links[0].clone();

        // Valid: the question in the customer's language, escaped.
        let (status, html) = app.page(&format!("/s/{token}"), "");
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("すすめる可能性") && html.contains("lang=\"ja\""), "{html}");
        assert!(app.page(&format!("/s/{}", links[1].1), "").1.contains("How likely are you to recommend"));

        // Tampered: another id, another expiry, a cut signature.
        let parts: Vec<&str> = token.split('.').collect();
        let other = format!("{}.{}.{}", links[1].0, parts[1], parts[2]);
        let later = format!("{}.{}.{}", parts[0], parts[1].parse::<i64>().unwrap() + 86_400, parts[2]);
        for bad in [other.as_str(), later.as_str(), &token[..token.len() - 1], "1.2.3", "x"] {
            let (status, html) = app.page(&format!("/s/{bad}"), "");
            assert_eq!(status, 404, "{bad}");
            assert!(html.contains("リンクが無効です"), "{html}");
            assert_eq!(app.form(&format!("/s/{bad}"), "", &[("score", "3")]).0, 404);
        }

        // Answered: a detractor with a hostile comment; shown escaped, stored as text.
        let comment = "<script>alert(1)</script> 挽き目が粗い";
        let (status, _, html) = app.form(&format!("/s/{token}"), "", &[("score", "3"), ("comment", comment)]);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("ご回答ありがとうございました"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>"), "{html}");
        let first = stored(&store, id);
        assert_eq!((first.score, first.comment.as_deref()), (Some(3), Some(comment)));

        // The detractor rule made one call for the owner, titled in the customer's language.
        let tasks: Vec<(String, Option<i64>, String, String)> = store
            .read(|c| {
                c.query("SELECT kind, assignee_id, rule_key, title FROM tasks", &[])?
                    .iter()
                    .map(|r| Ok((r.text(0)?, r.opt_int(1)?, r.text(2)?, r.text(3)?)))
                    .collect::<Result<Vec<_>, enishi_store::StoreError>>()
            })
            .unwrap();
        let title = "アンケートで批判的な回答のお客様へお電話".to_string();
        assert_eq!(tasks, vec![("call".to_string(), Some(owner), format!("detractor:{id}"), title)]);
        // The console names it in the visitor's language.
        let (_, html) = app.page("/tasks?view=open", &app.session(Role::Admin));
        assert!(html.contains("Call a detractor about their survey answer"), "{html}");

        // Answered twice: the first answer stands and is shown.
        let (status, _, html) = app.form(&format!("/s/{token}"), "", &[("score", "10"), ("comment", "again")]);
        assert_eq!(status, 200);
        assert!(html.contains("すでにご回答") && html.contains("3 / 10"), "{html}");
        assert_eq!(stored(&store, id), first);
        let (status, html) = app.page(&format!("/s/{token}"), "");
        assert_eq!(status, 200);
        assert!(html.contains("3 / 10") && !html.contains("name=\"score\""), "{html}");
        assert_eq!(store.read(|c| c.query_one("SELECT COUNT(*) FROM tasks", &[])).unwrap().int(0).unwrap(), 1);

        // A promoter's answer makes no task; the answer is on the customer's timeline.
        let (status, _, _) = app.form(&format!("/s/{}", links[1].1), "", &[("score", "9")]);
        assert_eq!(status, 200);
        assert_eq!(store.read(|c| c.query_one("SELECT COUNT(*) FROM tasks", &[])).unwrap().int(0).unwrap(), 1);
        let timeline = store.read(|c| enishi_store::repo::history::timeline(c, 1, 10, 0)).unwrap();
        assert!(timeline.iter().any(|e| e.kind == "survey" && e.summary.starts_with("after visit: 3")), "{timeline:?}");
        let export = store.read(|c| enishi_ingest::privacy::export_customer(c, 1)).unwrap().unwrap();
        assert_eq!(export["survey_answers"][0]["score"], 3, "a privacy export holds the answers");

        // Expired: after 14 days the link is refused with 410, answered or not.
        let fresh = invite(&store, "csat", "csat", &[2]);
        clock.advance(chrono::Duration::days(14));
        for t in [&token, &fresh[0].1] {
            let (status, html) = app.page(&format!("/s/{t}"), "");
            assert_eq!(status, 410, "{html}");
            assert!(html.contains("有効期限"), "{html}");
        }
        assert_eq!(app.form(&format!("/s/{}", fresh[0].1), "", &[("score", "5")]).0, 410);
        assert_eq!(stored(&store, fresh[0].0).answered_at, None, "nothing was recorded");

        // Erasing the customer deletes their answers.
        let now = clock.now().timestamp();
        store.write(|c| enishi_store::repo::privacy::erase(c, 1, now)).unwrap();
        let left = store.read(|c| c.query_one("SELECT COUNT(*) FROM survey_invitations WHERE customer_id = 1", &[]));
        assert_eq!(left.unwrap().int(0).unwrap(), 0);
    }
}

#[test]
fn nps_csat_and_stop_results_match_hand_computed_values() {
    for db in enishi_store::testing::all() {
        let clock = start();
        let app = common::start_at(db, clock.clone());
        let store = store_at(&app, &clock);
        let ids: Vec<(i64, &str)> = (1..=10).map(|i| (i, "ja")).collect();
        customers(&store, &ids);
        store
            .write(|c| {
                c.execute("INSERT INTO customer_tags (customer_id, tag, position) VALUES (1, 'vip', 0), (2, 'vip', 0), (8, 'vip', 0)", &[])?;
                let rule = enishi_segments::text::parse("tag = \"vip\"").unwrap();
                enishi_segments::saved::create(c, "vip", "", &rule, &enishi_core::BusinessClock::default())?;
                Ok::<_, enishi_segments::Error>(())
            })
            .unwrap();
        let all: Vec<i64> = (1..=10).collect();
        let nps = invite(&store, "nps", "nps", &all);
        let csat = invite(&store, "csat", "csat", &all[..8]);
        let stop = invite(&store, "stop", "stop", &all[..5]);
        // NPS: 9, 10, 10, 9 promoters; 7, 8, 7 passives; 0, 6, 5 detractors — the last three
        // in the next month (in Tokyo).
        let scores = [9, 10, 10, 9, 7, 8, 7, 0, 6, 5];
        for (i, ((_, t), score)) in nps.iter().zip(scores).enumerate() {
            if i == 7 {
                clock.advance(chrono::Duration::days(11));
            }
            let (status, _, html) = app.form(&format!("/s/{t}"), "", &[("score", &score.to_string())]);
            assert_eq!(status, 200, "{html}");
        }
        for ((_, t), level) in csat.iter().zip([5, 4, 4, 3, 1, 5, 2, 4]) {
            assert_eq!(app.form(&format!("/s/{t}"), "", &[("score", &level.to_string())]).0, 200);
        }
        for ((_, t), reason) in stop.iter().zip(["price", "moved", "price", "other", "price"]) {
            assert_eq!(app.form(&format!("/s/{t}"), "", &[("reason", reason), ("comment", "遠い")]).0, 200);
        }
        let calendar = enishi_core::BusinessClock::new("Asia/Tokyo").unwrap();
        let results = |name: &str, segment: Option<&str>| {
            store
                .read(|c| {
                    let s = surveys::find(c, name)?;
                    surveys::results(c, &s, segment, &calendar)
                })
                .unwrap()
        };
        let r = results("nps", None);
        let n = r.nps.unwrap();
        // (4 − 3) / 10 = +10.0
        assert_eq!((n.promoters, n.passives, n.detractors, n.score), (4, 3, 3, Some(10.0)));
        assert_eq!((r.invited, r.answered), (10, 10));
        // November: 4 promoters, 3 passives of 7 → 57.1; December: 3 detractors → −100.
        let months: Vec<(String, u64, Option<f64>)> =
            r.months.iter().map(|m| (m.month.clone(), m.answered, m.nps)).collect();
        assert_eq!(months, vec![("2026-11".to_string(), 7, Some(57.1)), ("2026-12".to_string(), 3, Some(-100.0))]);
        // The VIPs (1, 2, 8): 9, 10 and 0 → (2 − 1) / 3 = 33.3.
        let vip = results("nps", Some("vip")).nps.unwrap();
        assert_eq!((vip.promoters, vip.detractors, vip.score), (2, 1, Some(33.3)));
        let c = results("csat", None).csat.unwrap();
        // Levels 1–5: one each of 1, 2, 3; three 4s; two 5s. Satisfied 5 of 8; average 28 / 8.
        assert_eq!(c.levels, [1, 1, 1, 3, 2]);
        assert_eq!((c.satisfied_percent, c.average), (Some(62.5), Some(3.5)));
        let s = results("stop", None);
        let reasons: Vec<(String, u64)> = s.reasons.iter().map(|r| (r.reason.clone(), r.count)).collect();
        assert_eq!(reasons, vec![("price".into(), 3), ("moved".into(), 1), ("other".into(), 1)]);
        assert_eq!(s.comments.len(), 5);
    }
}

#[test]
fn hostile_answers_store_nothing_and_the_public_pages_are_limited_per_address() {
    let clock = start();
    let app = common::start_at(enishi_store::testing::sqlite(), clock.clone());
    let store = store_at(&app, &clock);
    customers(&store, &[(1, "ja")]);
    let (id, token) = invite(&store, "stop", "stop", &[1])[0].clone();
    let path = format!("/s/{token}");
    let long = "あ".repeat(surveys::MAX_COMMENT_CHARS + 1);
    for fields in [
        vec![("reason", "<script>alert(1)</script>")],
        vec![("reason", "price"), ("comment", long.as_str())],
        vec![("reason", "price"), ("comment", "a\u{0}b")],
        vec![("reason", "price"), ("comment", "a\u{1b}[31m")],
        vec![],
    ] {
        let (status, _, html) = app.form(&path, "", &fields);
        assert!(status == 422, "{fields:?}: {status} {html}");
        assert!(!html.contains("<script>alert"), "{html}");
        assert_eq!(stored(&store, id).answered_at, None, "{fields:?} stored nothing");
    }
    let (status, _, html) = app.form(&path, "", &[("reason", "price"), ("comment", "価格が<b>高い</b>")]);
    assert_eq!(status, 200);
    assert!(html.contains("価格が高い") && html.contains("&lt;b&gt;高い&lt;/b&gt;"), "{html}");

    // The public pages count requests per address: one address is stopped after the limit,
    // another is not.
    let get = |ip: &str| {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        match agent.get(&format!("{}{path}", app.base)).set("X-Forwarded-For", ip).call() {
            Ok(r) => (r.status(), r.header("retry-after").map(String::from)),
            Err(ureq::Error::Status(s, r)) => (s, r.header("retry-after").map(String::from)),
            Err(e) => panic!("{e}"),
        }
    };
    for _ in 0..enishi_server_public_limit() {
        assert_eq!(get("198.51.100.7").0, 200);
    }
    let (status, retry) = get("198.51.100.7");
    assert_eq!(status, 429);
    assert!(retry.is_some());
    assert_eq!(app.page("/u/1.1.zz", "").0, 404, "this address still gets through");
    assert_eq!(get("198.51.100.8").0, 200);
}

/// The public pages' limit per address per minute (`public::PER_MINUTE`).
fn enishi_server_public_limit() -> u32 {
    60
}

/// The CSRF token in a console page's form.
fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string()
}

#[test]
fn the_survey_api_makes_invites_and_reports_nps_csat_and_reasons() {
    use serde_json::json;
    for db in enishi_store::testing::all() {
        let clock = start();
        let app = common::start_at(db, clock.clone());
        let store = store_at(&app, &clock);
        let ids: Vec<(i64, &str)> = (1..=10).map(|i| (i, "ja")).collect();
        customers(&store, &ids);
        store
            .write(|c| {
                c.execute("INSERT INTO customer_tags (customer_id, tag, position) VALUES (1, 'vip', 0), (2, 'vip', 0), (8, 'vip', 0)", &[])?;
                let rule = enishi_segments::text::parse("tag = \"vip\"").unwrap();
                enishi_segments::saved::create(c, "vip", "", &rule, &enishi_core::BusinessClock::default())?;
                Ok::<_, enishi_segments::Error>(())
            })
            .unwrap();
        let staff = app.staff.clone();

        // Making one: checked field by field, a name once, managers only.
        let (s, made) = app.admin("POST", "/api/v1/surveys", Some(json!({"name": "After visit", "kind": "nps"})));
        assert_eq!(s, 201, "{made}");
        assert_eq!((made["kind"].as_str(), made["valid_days"].as_i64()), (Some("nps"), Some(14)));
        let (s, e) = app.admin("POST", "/api/v1/surveys", Some(json!({"name": "After visit", "kind": "csat"})));
        assert_eq!((s, e["code"].as_str()), (409, Some("name_taken")), "{e}");
        for (body, field) in [
            (json!({"name": "x", "kind": "stars"}), "kind"),
            (json!({"name": "x", "kind": "nps", "valid_days": 400}), "valid_days"),
            (json!({"name": "あ".repeat(201), "kind": "nps"}), "name"),
        ] {
            let (s, e) = app.admin("POST", "/api/v1/surveys", Some(body));
            assert_eq!((s, e["code"].as_str(), e["field"].as_str()), (422, Some("invalid_survey"), Some(field)), "{e}");
        }
        let (s, _, _) = app.call("POST", "/api/v1/surveys", Some(&staff), Some(r#"{"name": "y", "kind": "nps"}"#));
        assert_eq!(s, 403, "staff may not make surveys");
        assert_eq!(app.call("GET", "/api/v1/surveys", Some(&staff), None).0, 403);
        assert_eq!(app.call("GET", "/api/v1/surveys", None, None).0, 401);
        assert_eq!(app.admin("POST", "/api/v1/surveys", Some(json!({"name": "Satisfaction", "kind": "csat"}))).0, 201);
        assert_eq!(
            app.admin("POST", "/api/v1/surveys", Some(json!({"name": "Why", "kind": "stop", "valid_days": 30}))).0,
            201
        );
        let (s, list) = app.admin("GET", "/api/v1/surveys", None);
        assert_eq!(s, 200);
        let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|x| x["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Why", "Satisfaction", "After visit"], "newest first");
        assert_eq!(app.admin("GET", "/api/v1/surveys/Why", None).1["valid_days"], 30);
        assert_eq!(app.admin("GET", "/api/v1/surveys/Nope", None).0, 404);

        // Inviting: customers by shop id or a segment; mistakes invite nobody.
        let invite = "/api/v1/surveys/After%20visit/invitations";
        let (s, e) = app.admin("POST", invite, Some(json!({"customers": ["C1", "C-404"]})));
        assert_eq!(
            (s, e["code"].as_str(), e["field"].as_str()),
            (422, Some("invalid_survey"), Some("customers[1]")),
            "{e}"
        );
        let (s, e) = app.admin("POST", invite, Some(json!({"segment": "nobody"})));
        assert_eq!((s, e["field"].as_str()), (422, Some("segment")), "{e}");
        let (s, e) = app.admin("POST", invite, Some(json!({"segment": "vip", "customers": ["C1"]})));
        assert_eq!((s, e["code"].as_str()), (422, Some("invalid_survey")), "{e}");
        assert_eq!(app.admin("POST", invite, Some(json!({}))).0, 422);
        assert_eq!(app.admin("POST", "/api/v1/surveys/Nope/invitations", Some(json!({"segment": "vip"}))).0, 404);
        assert_eq!(app.call("POST", invite, Some(&staff), Some(r#"{"segment": "vip"}"#)).0, 403);
        assert_eq!(
            store.read(|c| c.query_one("SELECT COUNT(*) FROM survey_invitations", &[])).unwrap().int(0).unwrap(),
            0
        );
        let (s, n) = app.admin("POST", invite, Some(json!({"segment": "vip"})));
        assert_eq!((s, n["invited"].as_u64()), (200, Some(3)), "{n}");
        let all: Vec<String> = (1..=10).map(|i| format!("C{i}")).collect();
        let (_, n) = app.admin("POST", invite, Some(json!({"customers": all})));
        assert_eq!(n["invited"], 7, "the three with an open invitation are skipped");
        for (name, first) in [("Satisfaction", 8), ("Why", 5)] {
            let (_, n) = app.admin(
                "POST",
                &format!("/api/v1/surveys/{name}/invitations"),
                Some(json!({"customers": all[..first]})),
            );
            assert_eq!(n["invited"], first);
        }

        // Answered on the public pages: NPS 9, 10, 10, 9 | 7, 8, 7 | 0, 6, 5 for customers 1–10
        // (the last three a month later), CSAT 5, 4, 4, 3, 1, 5, 2, 4, stop reasons.
        let links = |name: &str| -> Vec<(i64, String)> {
            store
                .write(|c| {
                    let s = surveys::find(c, name)?;
                    let mut out = Vec::new();
                    for i in repo::invitations(c, s.id)? {
                        out.push((i.customer_id, surveys::link(c, &i)?.split("/s/").nth(1).unwrap().to_string()));
                    }
                    out.sort();
                    Ok::<_, enishi_campaigns::Error>(out)
                })
                .unwrap()
        };
        let nps_scores = [9, 10, 10, 9, 7, 8, 7, 0, 6, 5];
        for (i, (_, t)) in links("After visit").iter().enumerate() {
            if i == 7 {
                clock.advance(chrono::Duration::days(11));
            }
            let comment = if i == 9 { "<script>alert(1)</script>遅い" } else { "" };
            let fields = [("score", nps_scores[i].to_string()), ("comment", comment.to_string())];
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(app.form(&format!("/s/{t}"), "", &fields).0, 200);
        }
        for ((_, t), level) in links("Satisfaction").iter().zip([5, 4, 4, 3, 1, 5, 2, 4]) {
            assert_eq!(app.form(&format!("/s/{t}"), "", &[("score", &level.to_string())]).0, 200);
        }
        for ((_, t), reason) in links("Why").iter().zip(["price", "moved", "price", "other", "price"]) {
            assert_eq!(app.form(&format!("/s/{t}"), "", &[("reason", reason), ("comment", "遠い")]).0, 200);
        }

        let (s, r) = app.admin("GET", "/api/v1/surveys/After%20visit/results", None);
        assert_eq!(s, 200, "{r}");
        assert_eq!((r["invited"].as_u64(), r["answered"].as_u64()), (Some(10), Some(10)));
        // (4 promoters − 3 detractors) / 10 = +10.0
        assert_eq!(r["nps"], json!({"promoters": 4, "passives": 3, "detractors": 3, "score": 10.0}));
        assert!(r["csat"].is_null() && r["reasons"] == json!([]));
        // November: 4 promoters, 3 passives of 7 → 57.1; December: 3 detractors → −100.
        assert_eq!(
            r["months"],
            json!([{"month": "2026-11", "answered": 7, "nps": 57.1, "csat_average": null},
                   {"month": "2026-12", "answered": 3, "nps": -100.0, "csat_average": null}])
        );
        assert_eq!(r["comments"].as_array().unwrap().len(), 1);
        assert_eq!(r["comments"][0]["comment"], "<script>alert(1)</script>遅い", "stored as written");
        assert_eq!(r["comments"][0]["customer_id"], 10);
        // The VIPs (1, 2, 8): 9, 10 and 0 → (2 − 1) / 3 = 33.3.
        let (s, vip) = app.admin("GET", "/api/v1/surveys/After%20visit/results?segment=vip", None);
        assert_eq!(s, 200);
        assert_eq!(vip["segment"], "vip");
        assert_eq!(vip["nps"], json!({"promoters": 2, "passives": 0, "detractors": 1, "score": 33.3}));
        let (s, e) = app.admin("GET", "/api/v1/surveys/After%20visit/results?segment=nobody", None);
        assert_eq!((s, e["code"].as_str(), e["field"].as_str()), (422, Some("invalid_survey"), Some("segment")));
        assert_eq!(app.admin("GET", "/api/v1/surveys/After%20visit/results?page=2", None).0, 400);
        assert_eq!(app.call("GET", "/api/v1/surveys/After%20visit/results", Some(&staff), None).0, 403);

        // CSAT: one each of 1, 2, 3; three 4s; two 5s → 62.5% satisfied, average 3.5.
        let (_, c) = app.admin("GET", "/api/v1/surveys/Satisfaction/results", None);
        let levels: Vec<(i64, u64)> = c["csat"]["levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["level"].as_i64().unwrap(), l["count"].as_u64().unwrap()))
            .collect();
        assert_eq!(levels, [(1, 1), (2, 1), (3, 1), (4, 3), (5, 2)]);
        assert_eq!(c["csat"]["levels"][0]["label"], "Not satisfied");
        assert_eq!((c["csat"]["satisfied_percent"].as_f64(), c["csat"]["average"].as_f64()), (Some(62.5), Some(3.5)));
        assert!(c["nps"].is_null());

        // Stop reasons, the most given first, with the free text.
        let (_, w) = app.admin("GET", "/api/v1/surveys/Why/results", None);
        assert_eq!(
            w["reasons"],
            json!([{"reason": "price", "label": "The prices are too high", "count": 3},
                   {"reason": "moved", "label": "I moved, or the shop is out of my way", "count": 1},
                   {"reason": "other", "label": "Another reason", "count": 1}])
        );
        assert_eq!(w["comments"].as_array().unwrap().len(), 5);
        assert_eq!(w["comments"][0]["comment"], "遠い");
        let audit = store.read(|c| c.query_one("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'survey.%'", &[]));
        assert_eq!(audit.unwrap().int(0).unwrap(), 3 + 4, "three made, four invitations");
    }
}

#[test]
fn the_console_makes_a_survey_invites_a_segment_and_charts_its_results_in_japanese() {
    let clock = start();
    let app = common::start_at(enishi_store::testing::sqlite(), clock.clone());
    let store = store_at(&app, &clock);
    customers(&store, &[(1, "ja"), (2, "ja"), (3, "en")]);
    store
        .write(|c| {
            c.execute(
                "INSERT INTO customer_tags (customer_id, tag, position) VALUES (1, 'vip', 0), (2, 'vip', 0)",
                &[],
            )?;
            let rule = enishi_segments::text::parse("tag = \"vip\"").unwrap();
            enishi_segments::saved::create(c, "vip", "", &rule, &enishi_core::BusinessClock::default())?;
            Ok::<_, enishi_segments::Error>(())
        })
        .unwrap();
    let staff = app.session(Role::Staff);
    assert_eq!(app.page("/surveys", &staff).0, 403, "surveys are for owners and marketers");
    let cookie = app.session(Role::Marketer);
    let (s, html) = app.page("/surveys", &cookie);
    assert_eq!(s, 200);
    assert!(html.contains("No surveys yet.") && html.contains("href=\"/surveys\""), "{html}");
    let csrf = csrf_in(&html);
    let (s, _, _) = app.form("/surveys", &cookie, &[("name", "x"), ("kind", "nps")]);
    assert_eq!(s, 403, "a form without the anti-forgery token");
    let (s, _, html) = app.form(
        "/surveys",
        &cookie,
        &[("csrf", &csrf), ("name", "<i>x</i>"), ("kind", "stars"), ("valid_days", "14")],
    );
    assert_eq!(s, 422);
    assert!(
        html.contains("role=\"alert\"") && html.contains("&lt;i&gt;x&lt;/i&gt;"),
        "the form keeps what was typed, escaped: {html}"
    );
    let (s, location, _) = app.form(
        "/surveys",
        &cookie,
        &[("csrf", &csrf), ("name", "After visit"), ("kind", "nps"), ("valid_days", "14")],
    );
    assert_eq!((s, location.as_deref()), (303, Some("/surveys/After%20visit")));

    // Invite the segment, then two answers: a promoter and a hostile detractor.
    let (s, location, _) = app.form("/surveys/After%20visit/invite", &cookie, &[("csrf", &csrf), ("segment", "vip")]);
    assert_eq!((s, location.as_deref()), (303, Some("/surveys/After%20visit?invited=2")));
    let (_, html) = app.page("/surveys/After%20visit?invited=2", &cookie);
    assert!(html.contains("Invited 2 customers."), "{html}");
    let (s, _, html) = app.form("/surveys/After%20visit/invite", &cookie, &[("csrf", &csrf), ("segment", "nobody")]);
    assert_eq!(s, 422, "{html}");
    let tokens: Vec<String> = store
        .write(|c| {
            let s = surveys::find(c, "After visit")?;
            repo::invitations(c, s.id)?
                .iter()
                .map(|i| Ok(surveys::link(c, i)?.split("/s/").nth(1).unwrap().to_string()))
                .collect::<Result<Vec<_>, enishi_campaigns::Error>>()
        })
        .unwrap();
    assert_eq!(app.form(&format!("/s/{}", tokens[0]), "", &[("score", "10")]).0, 200);
    assert_eq!(
        app.form(&format!("/s/{}", tokens[1]), "", &[("score", "2"), ("comment", "<script>alert(1)</script>")]).0,
        200
    );

    // The results in Japanese: the NPS, the groups as a chart, the month, the comment escaped.
    let (_, html) = app.page("/surveys", &cookie);
    let csrf = csrf_in(&html);
    assert_eq!(app.form("/language", &cookie, &[("csrf", &csrf), ("language", "ja")]).0, 303);
    let (s, html) = app.page("/surveys/After%20visit", &cookie);
    assert_eq!(s, 200);
    assert!(html.contains("lang=\"ja\""), "{html}");
    assert!(html.contains("id=\"nps-score\">+0.0<"), "(1 − 1) / 2 = 0: {html}");
    assert!(html.contains("推奨者 1 人、中立者 0 人、批判者 1 人"), "{html}");
    assert!(html.contains("<svg role=\"img\" aria-labelledby=\"answers-t answers-d\""), "a chart: {html}");
    assert!(html.contains("推奨者（9〜10）: 1 (50.0%)"), "the chart is described: {html}");
    assert!(html.contains("2026-11"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>alert"), "{html}");
    let (_, html) = app.page("/surveys", &cookie);
    assert!(html.contains("href=\"/surveys/After%20visit\"") && html.contains("NPS +0.0"), "{html}");
    let (_, html) = app.page("/surveys/After%20visit?segment=vip", &cookie);
    assert!(html.contains("セグメント「vip」"), "{html}");
    assert_eq!(app.page("/surveys/Nope", &cookie).0, 404);
}
