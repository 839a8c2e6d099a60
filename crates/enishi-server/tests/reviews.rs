//! Reviews and closing the loop through the HTTP server, on SQLite and PostgreSQL: the review
//! page by its signed link (valid, tampered, expired, written twice, hostile input), the
//! moderation API and console queue, ratings over approved reviews in the API and in a
//! template, changes with linked feedback, the `raised` and `reviewed` segments, merges and
//! erasure.

mod common;

use chrono::TimeZone;
use enishi_core::{Clock, ManualClock, Role};
use enishi_store::{params, Store};
use serde_json::{json, Value};
use std::sync::Arc;

fn store_at(app: &common::App, clock: &ManualClock) -> Store {
    Store::open(&app._db.url).unwrap().with_clock(Arc::new(clock.clone()))
}

fn start() -> ManualClock {
    ManualClock::at(chrono::Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap())
}

/// An order of `customer` (shop id) with `skus`, placed on 2026-11-20.
fn order(id: &str, customer: &str, skus: &[&str]) -> Value {
    let lines: Vec<Value> =
        skus.iter().map(|s| json!({"sku": s, "quantity": 1, "unit_price": "10.00", "category": "coffee"})).collect();
    let total = format!("{}.00", 10 * skus.len());
    json!({"order_id": id, "placed_at": "2026-11-20T18:05:00+09:00", "currency": "USD", "total": total,
           "channel": "in_store", "lines": lines,
           "customer": {"external_id": customer, "name": "<b>花子</b>"}})
}

/// Posts the order and sets its customer's language.
fn ordered(app: &common::App, store: &Store, id: &str, customer: &str, locale: &str, skus: &[&str]) {
    let (s, v) = app.admin("POST", "/api/v1/orders", Some(order(id, customer, skus)));
    assert_eq!(s, 201, "{v}");
    store
        .write(|c| c.execute("UPDATE customers SET locale = $1 WHERE external_id = $2", params![locale, customer]))
        .unwrap();
}

fn count(store: &Store, sql: &str) -> i64 {
    store.read(|c| c.query_one(sql, &[])).unwrap().int(0).unwrap()
}

/// Owned form fields as the form helper takes them.
fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The token of a page link.
fn token(url: &str) -> String {
    url.split("/r/").nth(1).unwrap().to_string()
}

#[test]
fn reviews_are_written_once_by_a_signed_link_moderated_and_rated() {
    for db in enishi_store::testing::all() {
        let clock = start();
        let app = common::start_at(db, clock.clone());
        let store = store_at(&app, &clock);
        ordered(&app, &store, "O-1", "C-1", "ja", &["BEANS-1", "MUG"]);
        ordered(&app, &store, "O-2", "C-2", "en", &["BEANS-1"]);

        // Invitations: per product of an order, or the whole order; one review per order and
        // product; a SKU not on the order is refused; staff may not invite.
        let (s, r1) = app.admin("POST", "/api/v1/reviews", Some(json!({"order_id": "O-1", "sku": "BEANS-1"})));
        assert_eq!((s, r1["status"].as_str()), (201, Some("invited")), "{r1}");
        let (s, again) = app.admin("POST", "/api/v1/reviews", Some(json!({"order_id": "O-1", "sku": "BEANS-1"})));
        assert_eq!((s, &again["id"]), (200, &r1["id"]), "the same review");
        let (s, r2) = app.admin("POST", "/api/v1/reviews", Some(json!({"order_id": "O-2", "sku": "BEANS-1"})));
        assert_eq!(s, 201);
        let (s, whole) = app.admin("POST", "/api/v1/reviews", Some(json!({"order_id": "O-1"})));
        assert_eq!((s, &whole["sku"]), (201, &Value::Null));
        let (s, bad) = app.admin("POST", "/api/v1/reviews", Some(json!({"order_id": "O-2", "sku": "MUG"})));
        assert_eq!((s, bad["code"].as_str(), bad["field"].as_str()), (422, Some("invalid_review"), Some("sku")));
        assert_eq!(app.admin("POST", "/api/v1/reviews", Some(json!({"order_id": "nope"}))).0, 404);
        let body = json!({"order_id": "O-1"}).to_string();
        assert_eq!(app.call("POST", "/api/v1/reviews", Some(&app.staff), Some(&body)).0, 403);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM reviews"), 3);
        let (t1, t2) = (token(r1["url"].as_str().unwrap()), token(r2["url"].as_str().unwrap()));

        // The page, in the customer's language; the shop's name and the customer's name escaped.
        let (status, html) = app.page(&format!("/r/{t1}"), "");
        assert_eq!(status, 200, "{html}");
        assert!(
            html.contains("レビューのお願い") && html.contains("lang=\"ja\"") && html.contains("BEANS-1"),
            "{html}"
        );
        assert!(app.page(&format!("/r/{t2}"), "").1.contains("Write a review"));

        // Tampered links are refused, and a survey's link is no review's.
        let parts: Vec<&str> = t1.split('.').collect();
        let other = format!("{}.{}.{}", r2["id"], parts[1], parts[2]);
        let later = format!("{}.{}.{}", parts[0], parts[1].parse::<i64>().unwrap() + 86_400, parts[2]);
        for bad in [other.as_str(), later.as_str(), &t1[..t1.len() - 1], "1.2.3"] {
            assert_eq!(app.page(&format!("/r/{bad}"), "").0, 404, "{bad}");
            assert_eq!(app.form(&format!("/r/{bad}"), "", &[("stars", "5")]).0, 404);
        }
        let path = format!("/r/{t1}");
        assert_eq!(app.page(&path.replace("/r/", "/s/"), "").0, 404);

        // Wrong reviews store nothing: no stars, 0 or 6 stars, too long, control characters.
        let long = "あ".repeat(2_001);
        for fields in [
            vec![],
            vec![("stars", "0")],
            vec![("stars", "6")],
            vec![("stars", "<script>alert(1)</script>")],
            vec![("stars", "4"), ("body", long.as_str())],
            vec![("stars", "4"), ("body", "a\u{0}b")],
            vec![("stars", "4"), ("body", "a\u{1b}[31m")],
        ] {
            let (status, _, html) = app.form(&path, "", &fields);
            assert_eq!(status, 422, "{fields:?}: {html}");
            assert!(!html.contains("<script>alert"), "{html}");
        }
        assert_eq!(count(&store, "SELECT COUNT(*) FROM reviews WHERE submitted_at IS NOT NULL"), 0);

        // Written: hostile words are stored as written and shown escaped; it waits for a
        // moderator.
        let words = "<script>alert(1)</script> 香りが良い";
        let (status, _, html) = app.form(&path, "", &[("stars", "4"), ("body", words)]);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("レビューありがとうございました") && html.contains("★★★★☆"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>alert"), "{html}");
        let (_, stored) = app.admin("GET", &format!("/api/v1/reviews/{}", r1["id"]), None);
        assert_eq!((stored["stars"].as_i64(), stored["body"].as_str()), (Some(4), Some(words)));
        assert_eq!(stored["status"], "pending");

        // Written twice: the first stands and shows.
        let (status, _, html) = app.form(&path, "", &[("stars", "1"), ("body", "again")]);
        assert_eq!(status, 200);
        assert!(html.contains("すでにレビュー") && html.contains("★★★★☆") && !html.contains("again"), "{html}");
        assert_eq!(app.admin("GET", &format!("/api/v1/reviews/{}", r1["id"]), None).1, stored);
        let (status, html) = app.page(&path, "");
        assert!(status == 200 && html.contains("★★★★☆") && !html.contains("name=\"stars\""), "{html}");
        // Inviting again changes nothing once it is written.
        let (_, again) = app.admin("POST", "/api/v1/reviews", Some(json!({"order_id": "O-1", "sku": "BEANS-1"})));
        assert_eq!(again["status"], "pending");

        // The rating counts approved reviews only.
        let rating = |sku: &str| app.admin("GET", &format!("/api/v1/products/{sku}/rating"), None).1;
        assert_eq!(rating("BEANS-1"), json!({"sku": "BEANS-1", "count": 0, "average": null}));
        let (_, pending) = app.admin("GET", "/api/v1/reviews?status=pending", None);
        assert_eq!(pending["items"].as_array().unwrap().len(), 1);
        let moderate = |id: &Value, status: &str| {
            let path = format!("/api/v1/reviews/{id}/moderation");
            app.admin("POST", &path, Some(json!({"status": status})))
        };
        let (s, approved) = moderate(&r1["id"], "approved");
        assert_eq!((s, approved["status"].as_str()), (200, Some("approved")), "{approved}");
        assert_eq!(approved["moderated_by"], "token:t (admin)");
        assert!(approved["moderated_at"].is_string());
        assert_eq!(rating("BEANS-1"), json!({"sku": "BEANS-1", "count": 1, "average": 4.0}));
        // Another review of it, one star, rejected: the rating stays; approved: 2.5.
        assert_eq!(app.form(&format!("/r/{t2}"), "", &[("stars", "1")]).0, 200);
        assert_eq!(moderate(&r2["id"], "rejected").1["status"], "rejected");
        assert_eq!(rating("BEANS-1")["count"], 1);
        moderate(&r2["id"], "approved");
        assert_eq!(rating("BEANS-1"), json!({"sku": "BEANS-1", "count": 2, "average": 2.5}));
        // Not written yet: 409; another status: 422; staff may not moderate.
        let (s, v) = moderate(&whole["id"], "approved");
        assert_eq!((s, v["code"].as_str()), (409, Some("wrong_state")));
        let (s, v) = moderate(&r1["id"], "published");
        assert_eq!((s, v["code"].as_str()), (422, Some("invalid_review")));
        let body = json!({"status": "rejected"}).to_string();
        let path = format!("/api/v1/reviews/{}/moderation", r1["id"]);
        assert_eq!(app.call("POST", &path, Some(&app.staff), Some(&body)).0, 403);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM audit_log WHERE action = 'review.moderate'"), 3);

        // A template shows the ratings of the recommended products and the review link; an
        // unknown field still fails when it is saved.
        store
            .write(|c| {
                let id = c.query_one("SELECT id FROM customers WHERE external_id = 'C-1'", &[])?.int(0)?;
                c.execute(
                    "INSERT INTO customer_recommendations (customer_id, rank, sku, score, as_of_day) VALUES ($1, 1, 'BEANS-1', 1.0, 0), ($1, 2, 'MUG', 0.5, 0)",
                    params![id],
                )
            })
            .unwrap();
        let template = json!({"locale": "ja", "subject": "ご感想をお聞かせください",
            "html": "<p>{% for p in recommended %}{{ p.sku }} {{ p.rating }}/{{ p.reviews }};{% endfor %}</p><a href=\"{{ review_url }}\">書く</a>",
            "text": "{{ review_url }}"});
        assert_eq!(app.admin("PUT", "/api/v1/templates/ask", Some(template)).0, 200);
        let (s, v) = app.admin("POST", "/api/v1/templates/ask/preview", Some(json!({"customer": "C-1"})));
        assert_eq!(s, 200, "{v}");
        assert!(v["html"].as_str().unwrap().contains("BEANS-1 2.5/2;MUG /0;"), "{v}");
        let link = v["text"].as_str().unwrap();
        assert!(link.contains("/r/"), "the whole order's review is still to write: {link}");
        assert_eq!(app.page(&format!("/r/{}", token(link)), "").0, 200);
        let typo = json!({"locale": "ja", "subject": "x", "html": "{{ review_link }}", "text": ""});
        let (s, v) = app.admin("PUT", "/api/v1/templates/typo", Some(typo));
        assert_eq!((s, v["code"].as_str()), (422, Some("invalid_template")));

        // Reviewed: the segment condition reads written reviews.
        let count_rule = |rule: &str| {
            let (s, v) =
                app.admin("POST", "/api/v1/segments/count", Some(json!({"rule": rule, "as_of": "2026-11-22"})));
            assert_eq!(s, 200, "{rule}: {v}");
            v["count"].as_i64().unwrap()
        };
        assert_eq!(count_rule("reviewed(sku: \"BEANS-1\")"), 2);
        assert_eq!(count_rule("reviewed(sku: \"BEANS-1\") >= 4"), 1);
        assert_eq!(count_rule("reviewed(sku: \"MUG\")"), 0);

        // Expired: after the link's 30 days the page is refused with 410.
        clock.advance(chrono::Duration::days(30));
        let (status, html) = app.page(&format!("/r/{}", token(link)), "");
        assert_eq!(status, 410, "{html}");
        assert_eq!(app.form(&format!("/r/{}", token(link)), "", &[("stars", "5")]).0, 410);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM reviews WHERE sku = '' AND submitted_at IS NOT NULL"), 0);

        // The review is on the customer's timeline and in the privacy export; erasure deletes it.
        let c1 = count(&store, "SELECT id FROM customers WHERE external_id = 'C-1'");
        let timeline = store.read(|c| enishi_store::repo::history::timeline(c, c1, 20, 0)).unwrap();
        assert!(timeline.iter().any(|e| e.kind == "review" && e.summary.starts_with("BEANS-1: 4★")), "{timeline:?}");
        let export = store.read(|c| enishi_ingest::privacy::export_customer(c, c1)).unwrap().unwrap();
        assert_eq!(export["reviews"].as_array().unwrap().len(), 2);
        enishi_ingest::privacy::erase(&store, c1, "test").unwrap();
        assert_eq!(count(&store, &format!("SELECT COUNT(*) FROM reviews WHERE customer_id = {c1}")), 0);
        assert_eq!(app.admin("GET", "/api/v1/products/BEANS-1/rating", None).1["count"], 1);
    }
}

#[test]
fn the_console_moderates_reviews_in_english_and_japanese() {
    let clock = start();
    let app = common::start_at(enishi_store::testing::sqlite(), clock.clone());
    let store = store_at(&app, &clock);
    ordered(&app, &store, "O-1", "C-1", "ja", &["BEANS-1"]);
    let (_, r) = app.admin("POST", "/api/v1/reviews", Some(json!({"order_id": "O-1", "sku": "BEANS-1"})));
    let t = token(r["url"].as_str().unwrap());
    app.form(&format!("/r/{t}"), "", &[("stars", "5"), ("body", "<img src=x onerror=alert(1)>")]);
    let manager = app.session(Role::Marketer);
    let (status, html) = app.page("/reviews", &manager);
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;") && !html.contains("<img src=x"), "{html}");
    assert!(html.contains(&format!("id=\"approved-{}\"", r["id"])), "{html}");
    let staff = app.session(Role::Staff);
    assert_eq!(app.page("/reviews", &staff).0, 403);
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let path = format!("/reviews/{}/moderate", r["id"]);
    assert_eq!(app.form(&path, &staff, &[("csrf", "x"), ("status", "approved")]).0, 403);
    let (status, location, _) = app.form(&path, &manager, &[("csrf", &csrf), ("status", "approved")]);
    assert_eq!((status, location.as_deref()), (303, Some("/reviews?done=1")));
    let moderated: (String, String) = store
        .read(|c| {
            let row = c.query_one("SELECT status, moderated_by FROM reviews", &[])?;
            Ok::<_, enishi_store::StoreError>((row.text(0)?, row.text(1)?))
        })
        .unwrap();
    assert_eq!(moderated.0, "approved");
    assert!(moderated.1.starts_with("marketer-"), "{moderated:?}");
    let (_, html) = app.page("/reviews?status=approved", &manager);
    assert!(html.contains("id=\"ratings\"") && html.contains("5.0"), "{html}");
    // In Japanese.
    let (_, _, _) = app.form("/language", &manager, &[("csrf", &csrf), ("language", "ja")]);
    let (_, html) = app.page("/reviews", &manager);
    assert!(html.contains("確認待ち") && html.contains("商品の評価"), "{html}");
    // Inviting from the console prints the page's link.
    let (status, _, html) = app.form("/reviews", &manager, &[("csrf", &csrf), ("order", "O-1"), ("sku", "")]);
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("/r/"), "{html}");
    let (status, _, _) = app.form("/reviews", &manager, &[("csrf", &csrf), ("order", "O-404"), ("sku", "")]);
    assert_eq!(status, 422);
}

#[test]
fn review_pages_are_limited_per_address() {
    let app = common::start(enishi_store::testing::sqlite());
    let get = |ip: &str| {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        match agent.get(&format!("{}/r/1.2.3", app.base)).set("X-Forwarded-For", ip).call() {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(s, _)) => s,
            Err(e) => panic!("{e}"),
        }
    };
    for _ in 0..60 {
        assert_eq!(get("203.0.113.9"), 404);
    }
    assert_eq!(get("203.0.113.9"), 429);
    assert_eq!(get("203.0.113.10"), 404);
}

#[test]
fn feedback_linked_to_a_change_makes_a_segment_and_a_merge_field() {
    for db in enishi_store::testing::all() {
        let clock = start();
        let app = common::start_at(db, clock.clone());
        let store = store_at(&app, &clock);
        for (o, k) in [("O-1", "C-1"), ("O-2", "C-2"), ("O-3", "C-3")] {
            ordered(&app, &store, o, k, "ja", &["BEANS-1"]);
        }
        let id_of = |k: &str| count(&store, &format!("SELECT id FROM customers WHERE external_id = '{k}'"));
        let (c1, c2, c3) = (id_of("C-1"), id_of("C-2"), id_of("C-3"));

        // A change: checked, unique, audited; staff may not record one.
        let change = json!({"key": "delivery-3-days", "title": "配送が3日以内になりました", "description": "<b>二便</b>", "changed_on": "2026-12-01"});
        let (s, ch) = app.admin("POST", "/api/v1/changes", Some(change.clone()));
        assert_eq!(s, 201, "{ch}");
        assert_eq!(app.admin("POST", "/api/v1/changes", Some(change)).1["code"], "name_taken");
        for (field, bad) in [("key", json!("Delivery 3")), ("changed_on", json!("2026-13-01")), ("title", json!(" "))] {
            let mut body = json!({"key": "k", "title": "t", "changed_on": "2026-12-01"});
            body[field] = bad;
            let (s, v) = app.admin("POST", "/api/v1/changes", Some(body));
            assert_eq!((s, v["code"].as_str(), v["field"].as_str()), (422, Some("invalid_change"), Some(field)));
        }
        let body = json!({"key": "x", "title": "t", "changed_on": "2026-12-01"}).to_string();
        assert_eq!(app.call("POST", "/api/v1/changes", Some(&app.staff), Some(&body)).0, 403);

        // Feedback: C-1's complaint, C-2's survey answer, C-3's review; an unanswered survey
        // is no feedback.
        let (_, complaint) = app.admin(
            "POST",
            &format!("/api/v1/customers/{c1}/interactions"),
            Some(json!({"kind": "complaint", "body": "配送が遅い"})),
        );
        let (answered, unanswered) = store
            .write(|c| {
                let s = enishi_campaigns::surveys::create(c, "after", "csat", None)?;
                enishi_store::repo::surveys::invite(c, &s, &[c2, c3])?;
                let list = enishi_store::repo::surveys::invitations(c, s.id)?;
                let a =
                    enishi_store::repo::surveys::Answer {
                        score: Some(2), reason: None, comment: Some("遅い".into())
                    };
                enishi_store::repo::surveys::answer(c, list[0].id, &a)?;
                Ok::<_, enishi_campaigns::Error>((list[0].id, list[1].id))
            })
            .unwrap();
        let (_, review) = app.admin("POST", "/api/v1/reviews", Some(json!({"order_id": "O-3"})));
        app.form(&format!("/r/{}", token(review["url"].as_str().unwrap())), "", &[("stars", "2")]);
        let link = |kind: &str, id: &Value, token: &str| {
            let body = json!({"kind": kind, "id": id}).to_string();
            let (s, v, _) =
                app.call("POST", &format!("/api/v1/changes/{}/feedback", ch["id"]), Some(token), Some(&body));
            (s, v)
        };
        assert_eq!(link("interaction", &complaint["id"], &app.staff).0, 201, "staff link feedback");
        assert_eq!(link("interaction", &complaint["id"], &app.admin).0, 200, "linked already");
        assert_eq!(link("survey", &json!(unanswered), &app.admin).0, 404);
        assert_eq!(link("survey", &json!(answered), &app.admin).0, 201);
        let (s, v) = link("review", &review["id"], &app.admin);
        assert_eq!((s, v["customer_count"].as_i64(), v["feedback_count"].as_i64()), (201, Some(3), Some(3)));
        let (s, v) = link("order", &json!(1), &app.admin);
        assert_eq!((s, v["code"].as_str()), (422, Some("invalid_change")));
        let (_, detail) = app.admin("GET", &format!("/api/v1/changes/{}", ch["id"]), None);
        let said: Vec<&str> =
            detail["feedback"].as_array().unwrap().iter().filter_map(|f| f["text"].as_str()).collect();
        assert_eq!(said, vec!["遅い", "配送が遅い"], "{detail}");

        // The customers who raised it are the segment; a campaign's template names the change.
        let (s, v) =
            app.admin("POST", "/api/v1/segments/count", Some(json!({"rule": "raised(change: \"delivery-3-days\")"})));
        assert_eq!((s, v["count"].as_i64()), (200, Some(3)), "{v}");

        // Unlinking a survey answer linked by mistake: managers only, audited; its customer
        // leaves the segment; unlinking again, or something never linked, is 404.
        let unlink_path =
            |change: &Value, kind: &str, id: &Value| format!("/api/v1/changes/{change}/feedback/{kind}/{id}");
        let answer = unlink_path(&ch["id"], "survey", &json!(answered));
        assert_eq!(app.call("DELETE", &answer, Some(&app.staff), None).0, 403, "staff may not unlink");
        let (s, v) = app.admin("DELETE", &unlink_path(&ch["id"], "order", &json!(answered)), None);
        assert_eq!((s, v["code"].as_str(), v["field"].as_str()), (422, Some("invalid_change"), Some("kind")), "{v}");
        assert_eq!(app.admin("DELETE", &unlink_path(&json!(999), "survey", &json!(answered)), None).0, 404);
        assert_eq!(app.admin("DELETE", &unlink_path(&ch["id"], "survey", &json!(unanswered)), None).0, 404);
        assert_eq!(app.admin("DELETE", &format!("/api/v1/changes/{}/feedback/survey/x1", ch["id"]), None).0, 400);
        let (s, v, _) = app.call("DELETE", &answer, Some(&app.admin), None);
        assert_eq!((s, v), (204, Value::Null), "unlinked");
        assert_eq!(app.admin("DELETE", &answer, None).0, 404, "not linked any more");
        let (_, v) =
            app.admin("POST", "/api/v1/segments/count", Some(json!({"rule": "raised(change: \"delivery-3-days\")"})));
        assert_eq!(v["count"].as_i64(), Some(2), "{v}");
        let (_, detail) = app.admin("GET", &format!("/api/v1/changes/{}", ch["id"]), None);
        assert_eq!(
            (detail["change"]["feedback_count"].as_i64(), detail["feedback"].as_array().map(Vec::len)),
            (Some(2), Some(2))
        );
        let audited = count(&store, "SELECT COUNT(*) FROM audit_log WHERE action = 'change.unlink'");
        assert_eq!(audited, 1);
        assert_eq!(link("survey", &json!(answered), &app.admin).0, 201, "linked again");
        // A change that does not exist is refused like an unknown campaign or list.
        let (s, v) = app.admin("POST", "/api/v1/segments/count", Some(json!({"rule": "raised(change: \"other\")"})));
        assert_eq!((s, v["code"].as_str()), (422, Some("invalid_rule")), "{v}");
        assert!(v["detail"].as_str().unwrap_or_default().contains("there is no change \"other\""), "{v}");
        let (s, _) = app.admin(
            "POST",
            "/api/v1/segments",
            Some(json!({"name": "told-other", "rule": "raised(change: \"other\")"})),
        );
        assert_eq!(s, 422, "a segment naming no change is not saved");
        let template =
            json!({"locale": "ja", "subject": "{{ change.title }}", "html": "<p>{{ change.title }}</p>", "text": ""});
        assert_eq!(app.admin("PUT", "/api/v1/templates/told", Some(template)).0, 200);
        let (_, v) = app.admin("POST", "/api/v1/templates/told/preview", Some(json!({"customer": "C-2"})));
        assert_eq!(v["subject"], "配送が3日以内になりました");

        // The console: the list, the change with its feedback (escaped), linking from an
        // interaction's page.
        let staff = app.session(Role::Staff);
        let (status, html) = app.page("/changes", &staff);
        assert!(status == 200 && html.contains("delivery-3-days") && !html.contains("id=\"new-change\""), "{html}");
        let (status, html) = app.page(&format!("/changes/{}", ch["id"]), &staff);
        assert!(status == 200 && html.contains("&lt;b&gt;二便&lt;/b&gt;") && html.contains("配送が遅い"), "{html}");
        let (_, html) = app.page(&format!("/interactions/{}", complaint["id"]), &staff);
        assert!(html.contains("id=\"link-change\""), "{html}");
        let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let (_, other) = app.admin(
            "POST",
            &format!("/api/v1/customers/{c3}/interactions"),
            Some(json!({"kind": "request", "body": "早く届けて"})),
        );
        let other_id = other["id"].to_string();
        let (status, location, _) = app.form(
            "/changes/link",
            &staff,
            &[
                ("csrf", &csrf),
                ("change", "delivery-3-days"),
                ("kind", "interaction"),
                ("id", &other_id),
                ("back", "item"),
            ],
        );
        assert_eq!((status, location), (303, Some(format!("/interactions/{other_id}?linked=1"))));
        assert_eq!(count(&store, "SELECT COUNT(*) FROM change_feedback"), 4);
        // Staff may not unlink; a manager may, and records a change.
        let unlink = |csrf: &str| -> Vec<(String, String)> {
            [("csrf", csrf), ("kind", "interaction"), ("id", other_id.as_str()), ("change", "delivery-3-days")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };

        assert_eq!(app.form("/changes/unlink", &staff, &pairs(&unlink(&csrf))).0, 403);
        let (_, staff_view) = app.page(&format!("/changes/{}", ch["id"]), &staff);
        assert!(staff_view.contains("早く届けて") && !staff_view.contains("id=\"unlink-"), "{staff_view}");
        let manager = app.session(Role::Marketer);
        let (_, html) = app.page(&format!("/changes/{}", ch["id"]), &manager);
        assert!(html.contains(&format!("id=\"unlink-interaction-{other_id}\"")), "{html}");
        let m_csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let (status, location, _) = app.form("/changes/unlink", &manager, &pairs(&unlink(&m_csrf)));
        assert_eq!((status, location), (303, Some(format!("/changes/{}?done=1", ch["id"]))));
        assert_eq!(count(&store, "SELECT COUNT(*) FROM change_feedback"), 3);
        let made = [
            ("csrf", m_csrf.as_str()),
            ("key", "new-grinder"),
            ("title", "新しいグラインダー"),
            ("changed_on", "2026-12-02"),
            ("description", ""),
        ];
        let (status, location, _) = app.form("/changes", &manager, &made);
        assert_eq!(status, 303, "{location:?}");
        assert_eq!(app.form("/changes", &staff, &made).0, 403);
        assert_eq!(app.admin("GET", "/api/v1/changes", None).1["items"][0]["key"], "new-grinder");

        // A merge moves the links and reviews; erasure deletes them.
        enishi_ingest::people::merge(&store, c1, c3, "test").unwrap();
        assert_eq!(count(&store, &format!("SELECT COUNT(*) FROM change_feedback WHERE customer_id = {c1}")), 2);
        assert_eq!(count(&store, &format!("SELECT COUNT(*) FROM reviews WHERE customer_id = {c1}")), 1);
        enishi_ingest::privacy::erase(&store, c1, "test").unwrap();
        assert_eq!(count(&store, "SELECT COUNT(*) FROM change_feedback"), 1);
        assert_eq!(app.admin("GET", "/api/v1/changes", None).1["items"][1]["customer_count"], 1);
    }
}

#[test]
fn the_daily_work_invites_reviews_after_orders_when_the_setting_is_on() {
    let clock = start();
    let app = common::start_at(enishi_store::testing::sqlite(), clock.clone());
    let store = store_at(&app, &clock);
    ordered(&app, &store, "O-1", "C-1", "ja", &["BEANS-1"]);
    let state = enishi_server::AppState::new(Arc::new(store_at(&app, &clock))).unwrap();
    let tick = |state: &enishi_server::AppState| {
        let ticker = enishi_server::scheduler::Ticker::new(std::time::Duration::from_secs(60));
        enishi_server::scheduler::tick(state, clock.now().timestamp(), &ticker);
    };
    tick(&state);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM reviews"), 0, "off unless the setting is on");
    store.write(|c| enishi_store::repo::settings::set(c, enishi_campaigns::reviews::AFTER_ORDER, "on")).unwrap();
    clock.advance(chrono::Duration::days(1));
    tick(&state);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM reviews WHERE sku = '' AND status = 'invited'"), 1);
    clock.advance(chrono::Duration::days(1));
    tick(&state);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM reviews"), 1, "once per order");
}
