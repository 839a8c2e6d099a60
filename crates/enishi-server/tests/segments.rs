//! Segments in the console: the customers list filtered by a saved segment, on SQLite and
//! PostgreSQL.

mod common;

use common::{apps, order};
use enishi_core::{BusinessClock, Role};
use enishi_segments::saved;
use enishi_segments::text::parse;

#[test]
fn the_customers_list_shows_a_saved_segments_members_only() {
    for app in apps() {
        for (id, customer, total) in
            [("S-1", "C-1", "57.40"), ("S-2", "C-1", "10.00"), ("S-3", "C-2", "57.40"), ("S-4", "C-3", "5.00")]
        {
            assert_eq!(app.admin("POST", "/api/v1/orders", Some(order(id, customer, total))).0, 201);
        }
        let calendar = BusinessClock::default();
        app._db
            .store
            .write(|c| {
                saved::create(c, "Repeat <buyers>", "", &parse("orders >= 2").unwrap(), &calendar)?;
                saved::create(c, "Big spenders", "", &parse("spend >= 50").unwrap(), &calendar)?;
                Ok::<_, enishi_segments::Error>(())
            })
            .unwrap();
        let cookie = app.session(Role::Marketer);
        let (status, all) = app.page("/customers", &cookie);
        assert_eq!(status, 200);
        assert!(all.contains(">C-1<") && all.contains(">C-2<") && all.contains(">C-3<"), "{all}");
        assert!(all.contains("Repeat &lt;buyers&gt;"), "the saved segments are offered, escaped");
        let (_, repeat) = app.page("/customers?saved=Repeat%20%3Cbuyers%3E", &cookie);
        assert!(repeat.contains(">C-1<") && !repeat.contains(">C-2<") && !repeat.contains(">C-3<"), "{repeat}");
        let (_, big) = app.page("/customers?saved=Big%20spenders&q=C-2", &cookie);
        assert!(big.contains(">C-2<") && !big.contains(">C-1<"), "a segment narrows a search: {big}");
        let (status, gone) = app.page("/customers?saved=Nope", &cookie);
        assert_eq!(status, 200);
        assert!(
            gone.contains("no segment named \"Nope\"") || gone.contains("no segment named &quot;Nope&quot;"),
            "{gone}"
        );
        assert!(!gone.contains(">C-1<"));
    }
}

#[test]
fn segments_are_checked_counted_saved_and_snapshotted_over_the_api() {
    use serde_json::json;
    for app in apps() {
        for (id, customer, total) in [("S-1", "C-1", "57.40"), ("S-2", "C-1", "10.00"), ("S-3", "C-2", "57.40")] {
            assert_eq!(app.admin("POST", "/api/v1/orders", Some(order(id, customer, total))).0, 201);
        }
        let (s, v) = app.admin("POST", "/api/v1/segments/validate", Some(json!({"rule": "orders >=\n and tag"})));
        assert_eq!((s, v["code"].as_str(), v["field"].as_str()), (422, Some("invalid_rule"), Some("/rule")), "{v}");
        assert!(v["detail"].as_str().unwrap().contains("line 2, column 2"), "{v}");
        let bad = json!({"rule": {"and": [{"field": "orders", "op": ">=", "value": 1}, {"field": "lifecylce", "op": "=", "value": "lost"}]}});
        let (s, v) = app.admin("POST", "/api/v1/segments/validate", Some(bad));
        assert_eq!((s, v["field"].as_str()), (422, Some("/rule/and/1")), "{v}");
        assert!(v["detail"].as_str().unwrap().contains("did you mean `lifecycle`"), "{v}");
        let (s, v) = app.admin(
            "POST",
            "/api/v1/segments/validate",
            Some(json!({"rule": {"not": {"field": "a", "op": "~", "value": 1}}})),
        );
        assert_eq!((s, v["field"].as_str()), (422, Some("/rule/not/op")), "{v}");
        let (s, v) =
            app.admin("POST", "/api/v1/segments/validate", Some(json!({"rule": "orders >= 2 and tag = \"vip\""})));
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["rule"]["and"][0], json!({"field": "orders", "op": ">=", "value": 2}));
        let (s, v) = app.admin("POST", "/api/v1/segments/count", Some(json!({"rule": "orders >= 2"})));
        assert_eq!((s, v["count"].as_i64()), (200, Some(1)), "{v}");
        let (s, _) =
            app.admin("POST", "/api/v1/segments/count", Some(json!({"rule": "orders >= 2", "as_of": "yesterday"})));
        assert_eq!(s, 422);

        let (s, v) = app.admin("POST", "/api/v1/segments", Some(json!({"name": "Buyers", "rule": "orders >= 1"})));
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["text"], "orders >= 1");
        let (s, v) = app.admin("POST", "/api/v1/segments", Some(json!({"name": "Buyers", "rule": "orders >= 2"})));
        assert_eq!((s, v["code"].as_str()), (409, Some("name_taken")), "{v}");
        let (s, _) = app.admin("POST", "/api/v1/segments", Some(json!({"name": "Loop", "rule": "segment = \"Loop\""})));
        assert_eq!(s, 422, "a segment naming a missing one (itself, unsaved) is refused");
        let (s, v) = app.admin(
            "PUT",
            "/api/v1/segments/Buyers",
            Some(json!({"rule": "orders >= 1 and not segment = \"Buyers\""})),
        );
        assert_eq!((s, v["code"].as_str()), (422, Some("invalid_rule")), "a cycle: {v}");
        assert!(v["detail"].as_str().unwrap().contains("Buyers → Buyers"), "{v}");

        let (s, v) = app.admin("GET", "/api/v1/segments/Buyers/members?limit=1", None);
        assert_eq!((s, v["count"].as_i64(), v["joined"].as_i64()), (200, Some(2), Some(2)), "{v}");
        assert_eq!(v["items"][0]["external_id"], "C-1");
        let next = v["next_cursor"].as_i64().unwrap();
        let (_, v) = app.admin("GET", &format!("/api/v1/segments/Buyers/members?limit=1&after={next}"), None);
        assert_eq!(
            (v["items"][0]["external_id"].as_str(), v["joined"].as_i64(), v["next_cursor"].as_i64()),
            (Some("C-2"), Some(0), None),
            "{v}"
        );
        let (s, v) = app.admin("POST", "/api/v1/segments/Buyers/snapshots", Some(json!({"label": "coffee DM v1"})));
        assert_eq!((s, v["members"].as_i64()), (201, Some(2)), "{v}");
        let (s, v) = app.admin("GET", "/api/v1/segments", None);
        assert_eq!((s, v["items"][0]["last_count"].as_i64()), (200, Some(2)), "{v}");
        let (s, _, _) = app.call("GET", "/api/v1/segments", Some(&app.staff), None);
        assert_eq!(s, 403, "staff do not see segments");
        assert_eq!(app.admin("DELETE", "/api/v1/segments/Buyers", None).0, 204);
        assert_eq!(app.admin("GET", "/api/v1/segments/Buyers", None).0, 404);
    }
}
