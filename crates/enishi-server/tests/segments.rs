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
        // The loyal class, as the daily scoring stores it, is a column and a filter.
        app._db
            .store
            .write(|c| {
                let mut id = |ext: &str| enishi_store::repo::customers::id_by_external_id(c, ext);
                let (one, two) = (id("C-1")?.unwrap(), id("C-2")?.unwrap());
                enishi_store::repo::scores::store_loyal_classes(c, &[(one, "loyal"), (two, "semi_loyal")])
            })
            .unwrap();
        let (_, all) = app.page("/customers", &cookie);
        assert!(all.contains("data-column=\"loyal\"") && all.contains("<td>Semi-loyal customer</td>"), "{all}");
        let (_, loyal) = app.page("/customers?loyal=loyal", &cookie);
        assert!(loyal.contains(">C-1<") && !loyal.contains(">C-2<") && !loyal.contains(">C-3<"), "{loyal}");
        let ja_user = |c: &mut dyn enishi_store::Conn| {
            let (role, ja) = (Role::Marketer, enishi_core::Language::Ja);
            enishi_store::repo::users::create(c, "hana@shop.example", "Hana", role, ja, common::PASSWORD)
        };
        app._db.store.write(ja_user).unwrap();
        let ja_cookie = app.sign_in("hana@shop.example", common::PASSWORD).unwrap();
        let (_, ja) = app.page("/customers?loyal=semi_loyal", &ja_cookie);
        assert!(ja.contains("<td>準ロイヤル顧客</td>") && !ja.contains(">C-1<"), "{ja}");
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

/// The anti-forgery token of the first form on a page.
fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or_default().to_string()
}

/// The builder's fields for `orders >= 1 and (tag = "vip" or NODE)`, where NODE is a condition
/// on `field` compared with `value`.
fn nested_rule<'a>(csrf: &'a str, field: &'a str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("name", "Nested"),
        ("description", "a nested rule"),
        ("g.0", "all"),
        ("f.0.0", "orders"),
        ("o.0.0", ">="),
        ("v.0.0", "1"),
        ("g.0.1", "any"),
        ("f.0.1.0", "tag"),
        ("o.0.1.0", "="),
        ("v.0.1.0", "vip"),
        ("f.0.1.1", field),
        ("o.0.1.1", "="),
        ("v.0.1.1", value),
    ]
}

/// The class attribute of the builder node at `path`.
fn node_class<'a>(html: &'a str, path: &str) -> &'a str {
    let at = html.find(&format!("data-path=\"{path}\"")).unwrap_or_else(|| panic!("no node {path}:\n{html}"));
    let start = html[..at].rfind("class=\"").expect("a class") + 7;
    &html[start..start + html[start..].find('"').unwrap()]
}

#[test]
fn the_console_builder_counts_highlights_the_bad_node_and_saves_nothing_wrong() {
    for app in apps() {
        for (id, customer, total) in [("S-1", "C-1", "57.40"), ("S-2", "C-1", "10.00"), ("S-3", "C-2", "57.40")] {
            assert_eq!(app.admin("POST", "/api/v1/orders", Some(order(id, customer, total))).0, 201);
        }
        let cookie = app.session(Role::Marketer);
        let (status, page) = app.page("/segments/new", &cookie);
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("optgroup label=\"purchases\"") && page.contains("<script src=\"/segments.js\""));
        let csrf = csrf_in(&page);

        // A misspelt field deep in the tree: 422, that condition highlighted with the hint.
        let mut fields = nested_rule(&csrf, "lifecylce", "lost");
        fields.push(("do", "count"));
        let (status, _, html) = app.form("/segments/new", &cookie, &fields);
        assert_eq!(status, 422, "{html}");
        assert!(node_class(&html, "0.1.1").contains("bad"), "{html}");
        assert!(!node_class(&html, "0.1.0").contains("bad") && !node_class(&html, "0.0").contains("bad"));
        assert!(html.contains("did you mean `lifecycle`"), "{html}");
        // Saving it saves nothing.
        let mut fields = nested_rule(&csrf, "lifecylce", "lost");
        fields.push(("do", "save"));
        let (status, _, html) = app.form("/segments/new", &cookie, &fields);
        assert_eq!(status, 422, "{html}");
        assert!(node_class(&html, "0.1.1").contains("bad"), "{html}");
        assert_eq!(app.admin("GET", "/api/v1/segments/Nested", None).0, 404, "nothing was saved");
        // A value the condition cannot take, and unreadable arguments, are pointed at too.
        let mut fields = nested_rule(&csrf, "orders", "many");
        fields.push(("do", "count"));
        let (status, _, html) = app.form("/segments/new", &cookie, &fields);
        assert_eq!(status, 422);
        assert!(node_class(&html, "0.1.1").contains("bad"), "{html}");
        let mut fields = nested_rule(&csrf, "orders", "1");
        fields.extend([("a.0.0", "within 90d"), ("do", "count")]);
        let (status, _, html) = app.form("/segments/new", &cookie, &fields);
        assert_eq!(status, 422);
        assert!(node_class(&html, "0.0").contains("bad") && html.contains("name: value"), "{html}");
        // Bad text: the position is given and nothing is saved.
        let (status, _, html) = app.form(
            "/segments/new",
            &cookie,
            &[("csrf", &csrf), ("name", "Typed"), ("text", "orders >=\n  and tag"), ("do", "save")],
        );
        assert_eq!(status, 422, "{html}");
        assert!(html.contains("Line 2, column 3") && html.contains("id=\"text-error\""), "{html}");
        assert_eq!(app.admin("GET", "/api/v1/segments/Typed", None).0, 404);

        // The good rule counts with a sample, then saves; the tree buttons edit it.
        let mut fields = nested_rule(&csrf, "spend", "57.4");
        fields.push(("do", "count"));
        let (status, _, html) = app.form("/segments/new", &cookie, &fields);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("id=\"count\">1<"), "no vip tag; C-2 spent exactly 57.4: {html}");
        let mut fields = nested_rule(&csrf, "spend", "57.4");
        fields[12] = ("o.0.1.1", ">=");
        fields.push(("do", "count"));
        let (status, _, html) = app.form("/segments/new", &cookie, &fields);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("id=\"count\">2<") && html.contains("href=\"/customers/"), "{html}");
        assert!(
            html.contains("orders &gt;= 1 and (tag = &quot;vip&quot; or spend &gt;= 57.4)"),
            "the text form: {html}"
        );
        let mut fields = nested_rule(&csrf, "spend", "57.4");
        fields.extend([("pick.0.1", "consent.email"), ("do", "add:0.1")]);
        let (_, _, html) = app.form("/segments/new", &cookie, &fields);
        assert!(html.contains("name=\"f.0.1.2\""), "a condition was added to the inner group: {html}");
        let mut fields = nested_rule(&csrf, "spend", "57.4");
        fields.push(("do", "remove:0.1"));
        let (_, _, html) = app.form("/segments/new", &cookie, &fields);
        assert!(!html.contains("name=\"g.0.1\"") && html.contains("id=\"count\">2<"), "{html}");
        let mut fields = nested_rule(&csrf, "spend", "57.4");
        fields[12] = ("o.0.1.1", ">=");
        fields.push(("do", "save"));
        let (status, location, html) = app.form("/segments/new", &cookie, &fields);
        assert_eq!((status, location.as_deref()), (303, Some("/segments?saved=Nested")), "{html}");
        let (_, v) = app.admin("GET", "/api/v1/segments/Nested", None);
        assert_eq!(v["text"], "orders >= 1 and (tag = \"vip\" or spend >= 57.4)", "{v}");
        let (status, list) = app.page("/segments?saved=Nested", &cookie);
        assert_eq!(status, 200);
        assert!(
            list.contains("href=\"/customers?saved=Nested\"") && list.contains("+2 joined"),
            "saving counted it: {list}"
        );
        // Saving the text form of an existing segment replaces its rule.
        let (_, edit) = app.page("/segments/Nested", &cookie);
        assert!(edit.contains("id=\"count\">2<"), "{edit}");
        let was = "orders >= 1 and (tag = \"vip\" or spend >= 57.4)";
        let (status, location, html) = app.form(
            "/segments/Nested",
            &cookie,
            &[("csrf", &csrf), ("text", "orders >= 2"), ("text_was", was), ("do", "save")],
        );
        assert_eq!((status, location.as_deref()), (303, Some("/segments?saved=Nested")), "{html}");
        assert_eq!(app.admin("GET", "/api/v1/segments/Nested", None).1["text"], "orders >= 2");
        // A cycle is refused at the root.
        let (status, _, html) =
            app.form("/segments/Nested", &cookie, &[("csrf", &csrf), ("text", "segment = \"Nested\""), ("do", "save")]);
        assert_eq!(status, 422, "{html}");
        assert!(html.contains("Nested → Nested"), "{html}");
        assert_eq!(app.admin("GET", "/api/v1/segments/Nested", None).1["text"], "orders >= 2");

        // The live count answers JSON with the bad node's path.
        let mut fields = nested_rule(&csrf, "lifecylce", "lost");
        fields.push(("do", "count"));
        let (status, _, json) = app.form("/segment-preview", &cookie, &fields);
        assert_eq!(status, 200, "{json}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["error"]["path"], "0.1.1", "{v}");
        let fields = nested_rule(&csrf, "spend", "0");
        let (_, _, json) = app.form("/segment-preview", &cookie, &fields);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!((v["count"].as_i64(), v["error"].is_null()), (Some(0), true), "{v}");
    }
}

#[test]
fn only_managers_use_the_builder_and_every_post_needs_the_forms_token() {
    for app in apps() {
        let staff = app.session(Role::Staff);
        for path in ["/segments", "/segments/new"] {
            assert_eq!(app.page(path, &staff).0, 403, "{path}");
        }
        let staff_csrf = csrf_in(&app.page("/account", &staff).1);
        let mut fields = nested_rule(&staff_csrf, "orders", "1");
        fields.push(("do", "save"));
        assert_eq!(app.form("/segments/new", &staff, &fields).0, 403);
        assert_eq!(app.form("/segment-preview", &staff, &fields).0, 403);
        let (_, nav) = app.page("/till", &staff);
        assert!(!nav.contains("href=\"/segments\""), "staff are not offered segments");
        let admin = app.session(Role::Admin);
        let (_, nav) = app.page("/", &admin);
        assert!(nav.contains("href=\"/segments\""));
        // A form without the session's token, or with another session's, is refused.
        let csrf = csrf_in(&app.page("/segments/new", &admin).1);
        for token in ["", staff_csrf.as_str()] {
            let mut fields = nested_rule(token, "orders", "1");
            fields.push(("do", "save"));
            let (status, _, html) = app.form("/segments/new", &admin, &fields);
            assert_eq!(status, 403, "{html}");
            assert!(html.contains("expired"), "{html}");
            assert_eq!(app.form("/segment-preview", &admin, &fields).0, 403);
        }
        assert_eq!(app.admin("GET", "/api/v1/segments/Nested", None).0, 404, "nothing was saved");
        let mut fields = nested_rule(&csrf, "orders", "1");
        fields.push(("do", "save"));
        assert_eq!(app.form("/segments/new", &admin, &fields).0, 303);
        for (path, form) in [
            ("/segments/Nested/snapshots", vec![("csrf", ""), ("label", "DM")]),
            ("/segments/Nested/snapshots", vec![("csrf", staff_csrf.as_str()), ("label", "DM")]),
            ("/segments/Nested/evaluate", vec![("csrf", "")]),
            ("/segments/Nested/evaluate", vec![("csrf", staff_csrf.as_str())]),
        ] {
            assert_eq!(app.form(path, &admin, &form).0, 403);
        }
        assert_eq!(app.form("/segments/Nested/evaluate", &staff, &[("csrf", &staff_csrf)]).0, 403);
        let (status, location, _) =
            app.form("/segments/Nested/snapshots", &admin, &[("csrf", &csrf), ("label", "coffee DM")]);
        assert_eq!((status, location.as_deref()), (303, Some("/segments?snapshot=Nested")));
        assert_eq!(app.form("/segments/Nested/snapshots", &staff, &[("csrf", &staff_csrf), ("label", "x")]).0, 403);
        let (_, list) = app.page("/segments", &admin);
        assert!(!list.contains("class=\"spark\""), "one day counted is no trend yet: {list}");
        // Counted on an earlier day too (as the daily scheduler does): a trend of two days.
        let calendar = BusinessClock::default();
        let today = calendar.day_number(chrono::Utc::now());
        app._db
            .store
            .write(|c| {
                let seg = saved::find(c, "Nested")?;
                saved::evaluate(c, &seg, today - 1, &calendar).map(|_| ())
            })
            .unwrap();
        let (status, location, _) = app.form("/segments/Nested/evaluate", &admin, &[("csrf", &csrf)]);
        assert_eq!((status, location.as_deref()), (303, Some("/segments")));
        let (_, list) = app.page("/segments", &admin);
        assert!(list.contains("class=\"spark\""), "two days make a trend: {list}");
        assert!(list.contains("+0 joined, −0 left"), "today's count found nobody new: {list}");
        // Unauthenticated visitors are sent to sign in; the script is served to anyone.
        let (status, _) = app.page("/segments", "");
        assert_eq!(status, 303);
        let (status, js) = app.page("/segments.js", "");
        assert!(status == 200 && js.contains("data-preview"), "{status}");
    }
}

/// GET with a bearer token: (status, content type, body), checked against the document.
fn get_text(app: &common::App, path: &str, token: &str) -> (u16, String, String) {
    let resp = match ureq::get(&format!("{}{path}", app.base)).set("Authorization", &format!("Bearer {token}")).call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {path}: {e}"),
    };
    let (status, ctype) = (resp.status(), resp.content_type().to_string());
    let text = resp.into_string().unwrap();
    common::contract::check("GET", path, status, &ctype, &text);
    (status, ctype, text)
}

#[test]
fn a_segments_members_export_as_csv_for_people_and_for_the_post() {
    use serde_json::json;
    for app in apps() {
        let people = [
            ("C-1", "=HYPERLINK(\"http://x\")", "150-0001", "opted_in"),
            ("C-2", "佐藤 花子", "060-0001", "opted_in"),
            ("C-3", "Ann Lee", "100-0001", "opted_out"),
        ];
        for (ext, name, code, postal) in people {
            let body = json!({"external_id": ext, "name": name,
                "address": {"postal_code": code, "region": "東京都", "city": "渋谷区", "line1": "神宮前1-2-3", "line2": "縁ビル4F"},
                "consents": {"postal": {"status": postal, "source": "till"}}});
            assert_eq!(app.admin("POST", "/api/v1/customers", Some(body)).0, 201);
            let sale = json!({"order_id": format!("O-{ext}"), "placed_at": "2026-11-10 10:00", "customer": {"external_id": ext},
                "lines": [{"sku": "MUG", "quantity": 1, "unit_price": "10.00"}]});
            assert_eq!(app.admin("POST", "/api/v1/orders", Some(sale)).0, 201);
        }
        assert_eq!(
            app.admin("POST", "/api/v1/segments", Some(json!({"name": "Buyers", "rule": "orders >= 1"}))).0,
            201
        );

        let (s, ctype, csv) = get_text(&app, "/api/v1/segments/Buyers/export", &app.admin);
        assert_eq!((s, ctype.as_str()), (200, "text/csv"), "{csv}");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4, "a header and the three buyers: {csv}");
        assert!(lines[0].starts_with("external_id,name,email"), "{csv}");
        assert!(lines[1].starts_with("C-1,\"'=HYPERLINK(\"\"http://x\"\")\""), "a formula is neutralised: {csv}");

        let (s, _, post) = get_text(&app, "/api/v1/segments/Buyers/export?format=postal", &app.admin);
        assert_eq!(s, 200);
        let lines: Vec<&str> = post.lines().collect();
        assert_eq!(lines[0], "postal_code,prefecture,city,street,building,name,external_id");
        assert_eq!(
            lines[1], "〒060-0001,東京都,渋谷区,神宮前1-2-3,縁ビル4F,佐藤 花子 様,C-2",
            "by postal code: {post}"
        );
        assert!(lines[2].starts_with("〒150-0001,") && lines[2].ends_with(",C-1"), "{post}");
        assert_eq!(lines.len(), 3, "C-3 opted out of post: {post}");

        let (s, v) = app.admin("GET", "/api/v1/segments/Buyers/export?format=pdf", None);
        assert_eq!((s, v["field"].as_str()), (422, Some("format")), "{v}");
        assert_eq!(app.admin("GET", "/api/v1/segments/Nope/export", None).0, 404);
        assert_eq!(get_text(&app, "/api/v1/segments/Buyers/export", &app.staff).0, 403);
        let (_, audit) = app.admin("GET", "/api/v1/audit", None);
        let exports = audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "segment.export").count();
        assert_eq!(exports, 2, "each export is in the audit log: {audit}");
    }
}
