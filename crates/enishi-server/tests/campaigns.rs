//! Campaign pages the customer reaches: the signed unsubscribe link.

mod common;

use enishi_campaigns::campaigns as ops;
use enishi_campaigns::template::Parts;
use enishi_campaigns::unsubscribe;
use enishi_store::params;
use serde_json::json;
use std::str::FromStr;

#[test]
fn the_unsubscribe_link_asks_then_withdraws_consent_and_refuses_a_changed_token() {
    for app in common::apps() {
        let store = &app._db.store;
        let (token, other) = store
            .write(|c| {
                for (id, locale) in [(1_i64, "ja"), (2, "en")] {
                    c.execute(
                        "INSERT INTO customers (id, external_id, name, email, locale, first_seen_at, created_at, updated_at) \
                         VALUES ($1, $2, '<b>花子</b>', $3, $4, 0, 0, 0)",
                        params![id, format!("C{id}"), format!("c{id}@example.com"), locale],
                    )?;
                    c.execute(
                        "INSERT INTO customer_consents (customer_id, channel, status, changed_at, source) VALUES ($1, 'email', 'opted_in', 0, 'test')",
                        params![id],
                    )?;
                }
                let rule = enishi_segments::text::parse("tag = \"news\"").unwrap();
                enishi_segments::saved::create(c, "news", "", &rule, &enishi_core::BusinessClock::default())?;
                let parts = Parts { subject: "Hi".into(), html: "<p>x</p>".into(), text: "x".into() };
                ops::save_template(c, "t", "ja", &parts, enishi_core::Currency::from_str("JPY").unwrap())?;
                let k = ops::create(
                    c,
                    r#"{"name": "<script>winter</script>", "channel": "email", "audience": {"segment": "news"}, "template": "t"}"#,
                    enishi_core::Currency::from_str("JPY").unwrap(),
                )?;
                let key = unsubscribe::signing_key(c)?;
                Ok::<_, enishi_campaigns::Error>((unsubscribe::token(&key, 1, k.id), unsubscribe::token(&key, 2, k.id)))
            })
            .unwrap();
        let (status, html) = app.page(&format!("/u/{token}"), "");
        assert_eq!(status, 200);
        assert!(html.contains("配信を停止する") && html.contains("&lt;script&gt;winter"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        // Looking at the page changed nothing.
        let consent = |id: i64| {
            store
                .read(|c| {
                    c.query_one(
                        "SELECT status, source FROM customer_consents WHERE customer_id = $1 AND channel = 'email'",
                        params![id],
                    )
                })
                .map(|r| (r.text(0).unwrap(), r.text(1).unwrap()))
                .unwrap()
        };
        assert_eq!(consent(1).0, "opted_in");
        // A changed digit is refused.
        let tampered = format!("2{}", &token[1..]);
        assert_eq!(app.page(&format!("/u/{tampered}"), "").0, 404);
        assert_eq!(app.page("/u/1.1.zz", "").0, 404);
        // The one-click POST of RFC 8058.
        let (status, _, html) = app.form(&format!("/u/{token}"), "", &[("List-Unsubscribe", "One-Click")]);
        assert_eq!(status, 200);
        assert!(html.contains("配信を停止しました"), "{html}");
        let (status, source) = consent(1);
        assert_eq!(status, "opted_out");
        assert!(source.starts_with("unsubscribe link: <script>winter"), "{source}");
        assert!(app.page(&format!("/u/{token}"), "").1.contains("配信停止済み"));
        assert_eq!(consent(2).0, "opted_in", "only the link's customer");
        // In English for an English customer.
        assert!(app.page(&format!("/u/{other}"), "").1.contains("Unsubscribe"));
    }
}

/// Customers 1..=n with a postal address; odd ones opted in to letters and email, even ones not.
fn customers(store: &enishi_store::Store, n: i64) {
    store
        .write(|c| {
            for id in 1..=n {
                c.execute(
                    "INSERT INTO customers (id, external_id, name, email, locale, postal_code, region, city, address_line1, \
                     first_seen_at, created_at, updated_at) VALUES ($1, $2, '佐藤 花子', $3, 'ja', $4, '東京都', '渋谷区', '1-2-3', 0, 0, 0)",
                    params![id, format!("C-{id}"), format!("c{id}@example.com"), format!("150-{:04}", 100 - id)],
                )?;
                if id % 2 == 1 {
                    for channel in ["postal", "email"] {
                        c.execute(
                            "INSERT INTO customer_consents (customer_id, channel, status, changed_at, source) \
                             VALUES ($1, $2, 'opted_in', 0, 'test')",
                            params![id, channel],
                        )?;
                    }
                }
            }
            let rule = enishi_segments::text::parse("name").unwrap();
            enishi_segments::saved::create(c, "named", "", &rule, &enishi_core::BusinessClock::default())?;
            Ok::<_, enishi_segments::Error>(())
        })
        .unwrap();
}

#[test]
fn templates_are_checked_when_saved_and_previewed_for_a_customer_over_the_api() {
    for app in common::apps() {
        customers(&app._db.store, 2);
        let put =
            |name: &str, body: serde_json::Value| app.admin("PUT", &format!("/api/v1/templates/{name}"), Some(body));
        let (s, e) = put("offer", json!({"locale": "ja", "subject": "{{ customer.nmae }}様", "html": "", "text": ""}));
        assert_eq!(
            (s, e["code"].as_str(), e["field"].as_str()),
            (422, Some("invalid_template"), Some("subject")),
            "{e}"
        );
        assert!(e["detail"].as_str().unwrap().contains("customer.nmae"), "{e}");
        let (s, e) =
            put("offer", json!({"locale": "ja", "subject": "x", "html": "<p>\n{% if tier %}gold</p>", "text": ""}));
        assert_eq!((s, e["field"].as_str()), (422, Some("html")), "{e}");
        assert!(e["detail"].as_str().unwrap().contains("line 2"), "the line is named: {e}");
        let (s, e) = put("offer", json!({"locale": "fr", "subject": "x"}));
        assert_eq!((s, e["field"].as_str()), (422, Some("locale")), "{e}");
        assert_eq!(app.admin("GET", "/api/v1/templates/offer", None).0, 404, "nothing was saved");
        let good = json!({"locale": "ja", "subject": "{{ customer.honorific }}、ご案内",
                          "html": "<p>{{ customer.honorific }}</p>", "text": "{{ points.balance }} pt {{ unsubscribe_url }}"});
        let (s, t) = put("offer", good);
        assert_eq!((s, t["name"].as_str()), (200, Some("offer")), "{t}");
        let (_, list) = app.admin("GET", "/api/v1/templates", None);
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let (_, fields) = app.admin("GET", "/api/v1/template-fields", None);
        assert!(fields["items"].as_array().unwrap().iter().any(|f| f["field"] == "customer.honorific"));
        let (s, r) = app.admin("POST", "/api/v1/templates/offer/preview", Some(json!({"customer": "C-1"})));
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["subject"], "佐藤 花子 様、ご案内");
        assert!(r["text"].as_str().unwrap().starts_with("0 pt http"), "{r}");
        let (s, r) = app.admin("POST", "/api/v1/templates/offer/preview", Some(json!({})));
        assert_eq!((s, r["subject"].as_str()), (200, Some("佐藤 花子 様、ご案内")), "an example customer: {r}");
        assert_eq!(app.admin("POST", "/api/v1/templates/offer/preview", Some(json!({"customer": "C-9"}))).0, 404);
        let (s, _, _) = app.call("GET", "/api/v1/templates", Some(&app.staff), None);
        assert_eq!(s, 403, "staff may not");
    }
}

#[test]
fn a_campaign_is_created_scheduled_started_and_measured_over_the_api() {
    for db in enishi_store::testing::all() {
        let clock = enishi_core::ManualClock::at("2026-11-02T01:00:00Z".parse().unwrap());
        let app = common::start_at(db, clock.clone());
        customers(&app._db.store, 40);
        let (s, _) = app.admin(
            "PUT",
            "/api/v1/templates/t",
            Some(json!({"locale": "en", "subject": "Hi {{ customer.honorific }}", "text": "x"})),
        );
        assert_eq!(s, 200);
        let doc = |name: &str, extra: serde_json::Value| {
            let mut d = json!({"name": name, "mailing": "coffee DM", "channel": "email", "audience": {"segment": "named"},
                               "variants": [{"key": "A", "template": "t", "share": 50}, {"key": "B", "template": "t", "share": 50}]});
            for (k, v) in extra.as_object().unwrap() {
                d[k] = v.clone();
            }
            d
        };
        let create = |d: serde_json::Value| app.admin("POST", "/api/v1/campaigns", Some(d));
        let (s, e) = create(doc(
            "bad",
            json!({"variants": [{"key": "A", "template": "t", "share": 60}, {"key": "B", "template": "t", "share": 30}]}),
        ));
        assert_eq!(
            (s, e["code"].as_str(), e["field"].as_str()),
            (422, Some("invalid_campaign"), Some("variants")),
            "{e}"
        );
        let (s, e) = create(doc("bad", json!({"audience": {"segment": "nobody"}})));
        assert_eq!((s, e["field"].as_str()), (422, Some("audience")), "{e}");
        let (s, e) = create(doc("bad", json!({"colour": "red"})));
        assert_eq!((s, e["code"].as_str()), (422, Some("invalid_campaign")), "{e}");
        let (s, e, _) = app.call("POST", "/api/v1/campaigns", Some(&app.admin), Some("{\"name\": "));
        assert_eq!((s, e["code"].as_str()), (422, Some("invalid_campaign")), "{e}");
        assert_eq!(app.admin("GET", "/api/v1/campaigns", None).1["items"], json!([]), "nothing half-made");

        let (s, k) = create(doc("coffee DM v1", json!({"version": "v1", "holdout_percent": 10})));
        assert_eq!(
            (s, k["state"].as_str(), k["audience"]["name"].as_str()),
            (201, Some("draft"), Some("named")),
            "{k}"
        );
        assert_eq!(create(doc("coffee DM v1", json!({}))).0, 409);
        let (s, r) = app.admin(
            "POST",
            "/api/v1/campaigns/coffee%20DM%20v1/preview",
            Some(json!({"customer": "C-3", "variant": "B"})),
        );
        assert_eq!((s, r["subject"].as_str()), (200, Some("Hi 佐藤 花子")), "{r}");
        let (s, k) =
            app.admin("POST", "/api/v1/campaigns/coffee%20DM%20v1/schedule", Some(json!({"at": "2026-12-05 10:00"})));
        assert_eq!(
            (s, k["state"].as_str(), k["send_at"].as_str()),
            (200, Some("scheduled"), Some("2026-12-05T10:00:00Z")),
            "{k}"
        );
        assert_eq!(
            app.admin("POST", "/api/v1/campaigns/coffee%20DM%20v1/schedule", Some(json!({"at": "soon"}))).0,
            422
        );
        let (s, k) = app.admin("POST", "/api/v1/campaigns/coffee%20DM%20v1/cancel", None);
        assert_eq!((s, k["state"].as_str()), (200, Some("cancelled")));
        let (s, e) = app.admin("POST", "/api/v1/campaigns/coffee%20DM%20v1/start", None);
        assert_eq!((s, e["code"].as_str()), (409, Some("wrong_state")));

        // Version 2 by post: half the audience has no consent; the rest is split, 20% held out.
        let postal = doc(
            "coffee DM v2",
            json!({"version": "v2", "channel": "postal", "holdout_percent": 20,
            "goal": {"kind": "sku", "sku": "B"}, "attribution_days": 14, "cost_per_message": "100",
            "variants": [{"key": "A", "share": 50}, {"key": "B", "share": 50}]}),
        );
        assert_eq!(create(postal).0, 201);
        assert_eq!(app.admin("GET", "/api/v1/campaigns/coffee%20DM%20v2/letters", None).0, 409, "not started");
        let (s, started) = app.admin("POST", "/api/v1/campaigns/coffee%20DM%20v2/start", None);
        assert_eq!((s, started["audience"].as_i64()), (200, Some(40)), "{started}");
        assert_eq!(started["skipped"][0], json!({"key": "no_consent", "count": 20}), "{started}");
        let holdout = started["holdout"].as_i64().unwrap();
        let queued: i64 = started["queued"].as_array().unwrap().iter().map(|q| q["count"].as_i64().unwrap()).sum();
        assert_eq!(holdout + queued, 20);
        let (s, _, ctype) = app.call("GET", "/api/v1/campaigns/coffee%20DM%20v2/letters", Some(&app.admin), None);
        assert_eq!((s, ctype.as_str()), (200, "text/csv"));
        let (s, posted) = app.admin("POST", "/api/v1/campaigns/coffee%20DM%20v2/letters/confirm", Some(json!({})));
        assert_eq!((s, posted["letters"].as_i64()), (200, Some(queued)), "{posted}");

        // Every recipient orders B a day after the letter (inside the window) and again 20 days
        // after (outside it); one held-out customer orders B too.
        let recipients: Vec<(i64, String)> = app
            ._db
            .store
            .read(|c| {
                c.query("SELECT customer_id, arm FROM campaign_recipients WHERE status IN ('sent', 'holdout') ORDER BY customer_id", &[])
                    .map(|rows| rows.iter().map(|r| (r.int(0).unwrap(), r.text(1).unwrap())).collect())
            })
            .unwrap();
        clock.set("2026-11-30T01:00:00Z".parse().unwrap());
        let mut converted_sent = 0;
        let mut one_held_out = false;
        for (id, arm) in &recipients {
            if arm == "holdout" && one_held_out {
                continue;
            }
            one_held_out |= arm == "holdout";
            converted_sent += i64::from(arm != "holdout");
            for (n, day) in [(1, "2026-11-03 10:00"), (2, "2026-11-22 10:00")] {
                let o = json!({"order_id": format!("O-{id}-{n}"), "placed_at": day, "total": "30.00",
                               "customer": {"external_id": format!("C-{id}")},
                               "lines": [{"sku": "B", "quantity": 1, "unit_price": "30.00"}]});
                assert_eq!(app.admin("POST", "/api/v1/orders", Some(o)).0, 201);
            }
        }
        let (s, r) = app.admin("GET", "/api/v1/campaigns/coffee%20DM%20v2/results", None);
        assert_eq!(s, 200, "{r}");
        assert_eq!((r["audience"].as_i64(), r["skipped"][0]["count"].as_i64()), (Some(40), Some(20)), "{r}");
        assert_eq!(r["total"]["conversions"].as_i64(), Some(converted_sent), "only orders inside the window: {r}");
        assert_eq!(r["total"]["sent"].as_i64(), Some(queued));
        assert_eq!(r["total"]["revenue"].as_str(), Some(format!("{}.00", 30 * converted_sent).as_str()));
        let held = r["arms"].as_array().unwrap().iter().find(|a| a["arm"] == "holdout").unwrap();
        assert_eq!((held["conversions"].as_i64(), held["sent"].clone()), (Some(1), json!(null)), "{held}");
        assert!(r["arms"][0]["uplift"]["p_value"].is_number(), "{r}");
        let (_, versions) = app.admin("GET", "/api/v1/campaigns/coffee%20DM%20v2/versions", None);
        let labels: Vec<&str> =
            versions["items"].as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
        assert_eq!(labels, ["v1", "v2"]);
        let (_, page) = app.admin("GET", "/api/v1/campaigns/coffee%20DM%20v2/skipped?limit=5&offset=5", None);
        assert_eq!((page["total"].as_i64(), page["items"].as_array().unwrap().len()), (Some(20), 5), "{page}");
        assert_eq!(page["items"][0]["reason"], "no_consent");
        assert_eq!(app.admin("GET", "/api/v1/campaigns/coffee%20DM%20v2/skipped?limit=0", None).0, 422);
        // The segment condition counts the same responders.
        let (s, n) =
            app.admin("POST", "/api/v1/segments/count", Some(json!({"rule": "responded(campaign: \"coffee DM v2\")"})));
        assert_eq!((s, n["count"].as_i64()), (200, Some(converted_sent)), "{n}");
        // One recipient unsubscribes through the letter's link (a QR code on paper).
        let first = recipients.iter().find(|(_, arm)| arm == "A").unwrap();
        let token = app
            ._db
            .store
            .write(|c| {
                let key = unsubscribe::signing_key(c)?;
                let k = ops::find(c, "coffee DM v2")?;
                Ok::<_, enishi_campaigns::Error>(unsubscribe::token(&key, first.0, k.id))
            })
            .unwrap();
        assert_eq!(app.form(&format!("/u/{token}"), "", &[("List-Unsubscribe", "One-Click")]).0, 200);
        let (_, r) = app.admin("GET", "/api/v1/campaigns/coffee%20DM%20v2/results", None);
        assert_eq!(r["arms"][0]["unsubscribed"].as_i64(), Some(1), "{r}");
        assert_eq!(app.admin("GET", "/api/v1/campaigns/nothing/results", None).0, 404);
        let (s, _, _) = app.call("GET", "/api/v1/campaigns", Some(&app.staff), None);
        assert_eq!(s, 403);
    }
}

/// The anti-forgery token of the first form on a page.
fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string()
}

#[test]
fn a_marketer_writes_a_template_previews_it_safely_and_runs_a_campaign_through_the_wizard() {
    let app = common::start(enishi_store::testing::sqlite());
    customers(&app._db.store, 10);
    let cookie = app.session(enishi_core::Role::Marketer);
    let (s, page) = app.page("/templates/new", &cookie);
    assert_eq!(s, 200);
    assert!(page.contains("customer.honorific"), "the merge fields are beside the editor");
    let csrf = csrf_in(&page);
    let typed = "<p>{{ customer.nmae }}</p>";
    let form = |name: &str, subject: &str, html: &str, action: &str| {
        app.form(
            "/templates",
            &cookie,
            &[
                ("csrf", &csrf),
                ("name", name),
                ("locale", "ja"),
                ("subject", subject),
                ("html", html),
                ("text", "x"),
                ("customer", "C-1"),
                ("action", action),
            ],
        )
    };
    let (s, _, page) = form("offer", "ご案内", typed, "save");
    assert_eq!(s, 422);
    assert!(page.contains("id=\"template-error\"") && page.contains("customer.nmae"), "{page}");
    assert!(page.contains("&lt;p&gt;{{ customer.nmae }}&lt;/p&gt;</textarea>"), "what was typed is kept: {page}");
    assert_eq!(app.page("/templates/offer", &cookie).0, 404, "nothing saved");
    // A preview renders the typed template for the customer; its HTML goes into a sandboxed
    // frame as an escaped attribute, never into the page.
    let html = "<script>alert(1)</script><b>{{ customer.honorific }}</b>";
    let (s, _, page) = form("offer", "{{ customer.honorific }}、ご案内", html, "preview");
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("id=\"preview-subject\">佐藤 花子 様、ご案内"), "{page}");
    assert!(
        page.contains("sandbox=\"\" srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;佐藤 花子 様"),
        "{page}"
    );
    assert!(!page.contains("<script>alert"), "{page}");
    let (s, location, _) = form("offer", "{{ customer.honorific }}、ご案内", "<p>{{ points.balance }}</p>", "save");
    assert_eq!((s, location.as_deref()), (303, Some("/templates?saved=offer")));
    let (_, page) = app.page("/templates?saved=offer", &cookie);
    assert!(page.contains("id=\"flash\">Saved template &quot;offer&quot;."), "{page}");

    let (_, page) = app.page("/campaigns/new", &cookie);
    let csrf = csrf_in(&page);
    let wizard = |name: &str, share_1: &str, when: &str| {
        app.form(
            "/campaigns/new",
            &cookie,
            &[
                ("csrf", &csrf),
                ("name", name),
                ("mailing", "coffee DM"),
                ("version", "v1"),
                ("channel", "postal"),
                ("audience", "segment:named"),
                ("key_1", "A"),
                ("template_1", ""),
                ("share_1", share_1),
                ("key_2", "B"),
                ("template_2", ""),
                ("share_2", "40"),
                ("key_3", "C"),
                ("template_3", ""),
                ("share_3", ""),
                ("holdout", "10"),
                ("goal", "sku"),
                ("goal_value", "B"),
                ("attribution_days", "14"),
                ("cost", "90"),
                ("sender_name", "Aya"),
                ("sender_email", ""),
                ("webhook_url", ""),
                ("when", when),
                ("at", "2026-12-05T10:00"),
            ],
        )
    };
    let (s, _, page) = wizard("coffee DM v1", "50", "now");
    assert_eq!(s, 422);
    assert!(page.contains("add up to 90") && page.contains("value=\"coffee DM v1\""), "{page}");
    let (s, _, page) = wizard("coffee DM v1", "many", "now");
    assert!(s == 422 && page.contains("variants[0].share"), "{page}");
    assert_eq!(app.page("/campaigns/coffee%20DM%20v1", &cookie).0, 404, "nothing half-made");
    let (s, location, _) = wizard("coffee DM v1", "60", "now");
    assert_eq!((s, location.as_deref()), (303, Some("/campaigns/coffee%20DM%20v1")));
    let (s, page) = app.page("/campaigns/coffee%20DM%20v1", &cookie);
    assert_eq!(s, 200);
    assert!(
        page.contains("id=\"results\"") && page.contains("<svg") && page.contains("Audience: 10 customers."),
        "{page}"
    );
    assert!(page.contains("no consent 5"), "the skipped by reason: {page}");
    let (s, location, _) = app.form("/campaigns/coffee%20DM%20v1/confirm", &cookie, &[("csrf", &csrf)]);
    assert_eq!(s, 303, "{location:?}");
    let (_, page) = app.page(&location.unwrap(), &cookie);
    assert!(page.contains("id=\"flash\"") && page.contains("id=\"campaign-state\">done"), "{page}");
    let (s, _, page) = app.form("/campaigns/coffee%20DM%20v1/start", &cookie, &[("csrf", &csrf)]);
    assert_eq!(s, 409, "started already: {page}");
    // A scheduled version 2 is compared with version 1.
    let (s, _, _) = wizard("coffee DM v2", "60", "at");
    assert_eq!(s, 303);
    let (_, page) = app.page("/campaigns", &cookie);
    assert!(page.contains("coffee DM v2") && page.contains("2026-12-05 10:00"), "{page}");
    let (_, page) = app.page("/campaigns/coffee%20DM%20v2", &cookie);
    assert!(page.contains("id=\"versions\"") && page.contains("id=\"start-campaign\""), "{page}");
}
