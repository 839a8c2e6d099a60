//! The customer, seen whole, through the HTTP server on SQLite and PostgreSQL: the public
//! customer page `/me/TOKEN` (valid, expired, tampered; preferences and unsubscribing saved on
//! the consent trail; hostile input escaped), the customer 360 in one API call, and the
//! printable member card with the page's QR code.

mod common;

use chrono::TimeZone;
use enishi_campaigns::{my_page, surveys};
use enishi_core::{Clock, ConsentChannel, ConsentStatus, Language, ManualClock, Role};
use enishi_store::repo::{customers, scores, surveys as survey_rows, users};
use enishi_store::{params, ConsentChange, RfmScores, Store, ValueScores};
use serde_json::{json, Value};
use std::sync::Arc;

fn start() -> ManualClock {
    ManualClock::at(chrono::Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap())
}

/// A store over the app's database that reads `clock`, as the server does.
fn store_at(app: &common::App, clock: &ManualClock) -> Store {
    Store::open(&app._db.url).unwrap().with_clock(Arc::new(clock.clone()))
}

/// Customer 1, Japanese, with a hostile name, opted in to email by the API.
fn hanako(store: &Store) {
    store
        .write(|c| {
            c.execute(
                "INSERT INTO customers (id, external_id, name, email, locale, first_seen_at, created_at, updated_at) \
                 VALUES (1, 'C1', '<b>花子</b>', 'hana@example.com', 'ja-JP', 0, 0, 0)",
                &[],
            )?;
            let change = ConsentChange {
                channel: ConsentChannel::Email,
                status: ConsentStatus::OptedIn,
                at: None,
                source: "api".into(),
            };
            customers::set_consent(c, 1, &change)
        })
        .unwrap();
}

/// The customer's consent per channel, as stored.
fn consents(store: &Store) -> Vec<(String, String)> {
    let k = store.read(|c| customers::get(c, 1)).unwrap().unwrap();
    k.consents.iter().map(|x| (x.channel.as_str().to_string(), x.status.as_str().to_string())).collect()
}

/// The consent trail: (channel, status, source), newest first.
fn trail(store: &Store) -> Vec<(String, String, String)> {
    let t = store.read(|c| customers::consent_trail(c, 1)).unwrap();
    t.into_iter().map(|e| (e.channel, e.status, e.source)).collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[test]
fn the_customer_page_opens_by_its_link_saves_preferences_and_unsubscribes() {
    for db in enishi_store::testing::all() {
        let clock = start();
        let app = common::start_at(db, clock.clone());
        let store = store_at(&app, &clock);
        hanako(&store);
        let now = clock.now().timestamp();
        let link = store.write(|c| my_page::link(c, 1, now)).unwrap();
        let token = link.split("/me/").nth(1).unwrap().to_string();
        let path = format!("/me/{token}");

        // Valid: the customer's page in Japanese, their name escaped, email ticked.
        let (status, html) = app.page(&path, "");
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("lang=\"ja\"") && html.contains("ポイント") && html.contains("ご連絡方法"), "{html}");
        assert!(html.contains("&lt;b&gt;花子&lt;/b&gt;") && !html.contains("<b>花子"), "{html}");
        assert!(html.contains("value=\"email\" checked"), "{html}");

        // Tampered: another id, a later expiry, a cut signature, a survey's token.
        let parts: Vec<&str> = token.split('.').collect();
        let other = format!("2.{}.{}", parts[1], parts[2]);
        let later = format!("1.{}.{}", parts[1].parse::<i64>().unwrap() + 86_400, parts[2]);
        let key = store.write(|c| enishi_campaigns::unsubscribe::signing_key(c)).unwrap();
        let survey_token =
            enishi_campaigns::links::token(&key, enishi_campaigns::links::Purpose::Survey, 1, now + 3600);
        for bad in [other.as_str(), later.as_str(), &token[..token.len() - 1], survey_token.as_str(), "x"] {
            let (status, html) = app.page(&format!("/me/{bad}"), "");
            assert_eq!(status, 404, "{bad}");
            assert!(html.contains("リンクが無効です"), "{html}");
            assert_eq!(app.form(&format!("/me/{bad}"), "", &[("channel", "sms")]).0, 404);
            assert_eq!(app.form(&format!("/me/{bad}/unsubscribe"), "", &[]).0, 404);
        }
        assert_eq!(consents(&store), [pair("email", "opted_in")], "nothing changed");

        // Hostile input: an unknown channel is ignored; control characters are refused whole.
        let (status, _, html) = app.form(&path, "", &[("channel", "sms"), ("channel", "\u{0}email")]);
        assert_eq!(status, 422, "{html}");
        assert_eq!(consents(&store), [pair("email", "opted_in")], "a refused form stores nothing");

        // Preferences: SMS and post wanted, email no longer; phone stays unknown.
        let (status, _, html) =
            app.form(&path, "", &[("channel", "sms"), ("channel", "postal"), ("channel", "<script>alert(1)</script>")]);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("保存しました") && !html.contains("<script>alert"), "{html}");
        assert!(html.contains("value=\"sms\" checked") && !html.contains("value=\"email\" checked"), "{html}");
        assert_eq!(consents(&store), [pair("email", "opted_out"), pair("sms", "opted_in"), pair("postal", "opted_in")]);
        let t = trail(&store);
        assert_eq!(t.len(), 4, "{t:?}");
        let page_changes: Vec<(String, String)> =
            t.iter().filter(|e| e.2 == my_page::SOURCE).map(|e| (e.0.clone(), e.1.clone())).collect();
        assert_eq!(page_changes.len(), 3, "{t:?}");
        for want in [pair("email", "opted_out"), pair("sms", "opted_in"), pair("postal", "opted_in")] {
            assert!(page_changes.contains(&want), "{want:?} on the trail: {t:?}");
        }
        // Saving the same again changes nothing on the trail.
        assert_eq!(app.form(&path, "", &[("channel", "sms"), ("channel", "postal")]).0, 200);
        assert_eq!(trail(&store).len(), 4);

        // Unsubscribe from everything: every channel out, each change on the trail.
        let (status, _, html) = app.form(&format!("{path}/unsubscribe"), "", &[]);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("今後、お知らせはお送りしません"), "{html}");
        assert_eq!(
            consents(&store),
            [pair("email", "opted_out"), pair("sms", "opted_out"), pair("postal", "opted_out")]
        );
        let t = trail(&store);
        assert_eq!(t.len(), 6, "{t:?}");
        assert!(t[..2].iter().all(|e| e.1 == "opted_out" && e.2 == my_page::SOURCE), "{t:?}");

        // Expired: a year and a day later the link is refused with 410, and saves nothing.
        clock.advance(chrono::Duration::days(366));
        let (status, html) = app.page(&path, "");
        assert_eq!(status, 410, "{html}");
        assert!(html.contains("有効期限"), "{html}");
        assert_eq!(app.form(&path, "", &[("channel", "email")]).0, 410);
        assert_eq!(consents(&store)[0], pair("email", "opted_out"), "nothing saved after expiry");
    }
}

fn items(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap()
}

#[test]
fn the_customer_360_answers_everything_about_a_customer_in_one_call() {
    for db in enishi_store::testing::all() {
        let clock = start();
        let app = common::start_at(db, clock.clone());
        let store = store_at(&app, &clock);
        let program = json!({"name": "Classic", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1, "minimum_order": "10"},
            "tiers": {"basis": "spend", "window": {"rolling_days": 365},
                      "levels": [{"id": "member", "name": "Member", "threshold": "0"}, {"id": "gold", "name": "Gold", "threshold": "500"}]}});
        assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(program)).0, 201);
        let mut o = common::order("R-1", "C-1", "57.40");
        o["placed_at"] = json!("2026-11-19T18:05:00+09:00");
        assert_eq!(app.admin("POST", "/api/v1/orders", Some(o)).0, 201);
        let (_, found) = app.admin("GET", "/api/v1/customers?external_id=C-1", None);
        let id = found["items"][0]["id"].as_i64().unwrap();
        let path = format!("/api/v1/customers/{id}/360");
        let staff = app.staff.clone();

        // A bare customer: no owner, nothing open, no scores yet.
        let (s, bare, _) = app.call("GET", &path, Some(&staff), None);
        assert_eq!(s, 200, "{bare}");
        assert!(bare["scores"].is_null() && bare["owner"].is_null(), "{bare}");
        assert!(items(&bare["open_issues"]).is_empty() && items(&bare["survey_answers"]).is_empty());

        // The owner, consent on the till, a complaint (which makes a follow-up task by rule),
        // a detractor's survey answer (a call), and the scores of an analysis.
        store
            .write(|c| users::create(c, "aki@shop.example", "Aki", Role::Staff, Language::En, common::PASSWORD))
            .unwrap();
        assert_eq!(
            app.admin("PUT", &format!("/api/v1/customers/{id}/owner"), Some(json!({"owner": "aki@shop.example"}))).0,
            200
        );
        store
            .write(|c| {
                let change = ConsentChange {
                    channel: ConsentChannel::Postal,
                    status: ConsentStatus::OptedIn,
                    at: None,
                    source: "till:aki@shop.example".into(),
                };
                customers::set_consent(c, id, &change)
            })
            .unwrap();
        let complaint =
            json!({"kind": "complaint", "body": "Grinder <b>broke</b>", "occurred_at": "2026-11-20T01:00:00Z"});
        assert_eq!(app.admin("POST", &format!("/api/v1/customers/{id}/interactions"), Some(complaint)).0, 201);
        let token = store
            .write(|c| {
                let s = surveys::create(c, "After visit", "nps", None)?;
                survey_rows::invite(c, &s, &[id])?;
                let i = survey_rows::invitations(c, s.id)?.remove(0);
                Ok::<_, enishi_campaigns::Error>(surveys::link(c, &i)?.split("/s/").nth(1).unwrap().to_string())
            })
            .unwrap();
        assert_eq!(app.form(&format!("/s/{token}"), "", &[("score", "3"), ("comment", "Too slow")]).0, 200);
        store
            .write(|c| {
                let rfm = RfmScores { as_of_day: 20_777, r: 5, f: 1, m: 3, segment: "new_customers".into() };
                scores::store_rfm(c, &[(id, rfm)])?;
                scores::store_loyal_classes(c, &[(id, "semi_loyal")])?;
                let value = ValueScores {
                    as_of_day: 20_777,
                    p_alive: 0.82,
                    expected_purchases: 1.5,
                    expected_days: 365,
                    expected_value: 50.0,
                    clv: 71.25,
                };
                scores::store_value(c, &[(id, value)])?;
                c.execute("UPDATE customer_scores SET lifecycle_stage = 'new' WHERE customer_id = $1", params![id])?;
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();

        let (s, v, _) = app.call("GET", &path, Some(&staff), None);
        assert_eq!(s, 200, "{v}");
        assert_eq!((v["customer"]["id"].as_i64(), v["customer"]["external_id"].as_str()), (Some(id), Some("C-1")));
        assert_eq!(v["customer"]["stats"]["order_count"], 1);
        let consent: Vec<(&str, &str)> = items(&v["consent"])
            .iter()
            .map(|x| (x["channel"].as_str().unwrap(), x["status"].as_str().unwrap()))
            .collect();
        assert_eq!(consent, [("email", "unknown"), ("sms", "unknown"), ("postal", "opted_in"), ("phone", "unknown")]);
        assert_eq!(v["consent"][2]["source"], "till:aki@shop.example");
        assert!(v["consent"][0]["changed_at"].is_null() && v["consent"][0]["source"].is_null());
        assert_eq!(
            (v["loyalty"]["balance"].as_i64(), v["loyalty"]["tier"]["name"].as_str()),
            (Some(57), Some("Member"))
        );
        assert!(v["loyalty"]["referral_code"].as_str().is_some_and(|c| !c.is_empty()), "{}", v["loyalty"]);
        assert_eq!(v["scores"]["rfm"]["segment"], "new_customers");
        assert_eq!(
            (v["scores"]["lifecycle_stage"].as_str(), v["scores"]["loyal_class"].as_str()),
            (Some("new"), Some("semi_loyal"))
        );
        assert_eq!(
            (v["scores"]["value"]["p_alive"].as_f64(), v["scores"]["value"]["clv"].as_f64()),
            (Some(0.82), Some(71.25))
        );
        assert_eq!(v["owner"]["email"], "aki@shop.example");
        assert_eq!(items(&v["open_issues"]).len(), 1);
        assert_eq!(
            (v["open_issues"][0]["kind"].as_str(), v["open_issues"][0]["body"].as_str()),
            (Some("complaint"), Some("Grinder <b>broke</b>"))
        );
        // The complaint's follow-up (due in 3 days) and the detractor's call (due in 2), for the owner, soonest first.
        let tasks: Vec<(&str, &str)> = items(&v["open_tasks"])
            .iter()
            .map(|t| (t["rule"].as_str().unwrap(), t["assignee"]["email"].as_str().unwrap()))
            .collect();
        assert_eq!(
            tasks,
            [("detractor", "aki@shop.example"), ("complaint", "aki@shop.example")],
            "{}",
            v["open_tasks"]
        );
        assert_eq!(
            v["survey_answers"],
            json!([{"survey": "After visit", "kind": "nps", "answered_at": "2026-11-20T03:00:00Z", "score": 3,
                    "nps_group": "detractor", "reason": null, "comment": "Too slow"}])
        );
        let kinds: Vec<&str> = items(&v["timeline"]).iter().map(|e| e["kind"].as_str().unwrap()).collect();
        for kind in ["order", "interaction", "survey"] {
            assert!(kinds.contains(&kind), "{kind} on the timeline: {kinds:?}");
        }

        // The same for every role; refused without a token; 404 for nobody; 400 for a non-id.
        assert_eq!(app.call("GET", &path, Some(&app.admin), None).1, v);
        let marketer = store.write(|c| enishi_store::repo::tokens::create(c, Role::Marketer, "m")).unwrap();
        assert_eq!(app.call("GET", &path, Some(&marketer), None).0, 200);
        assert_eq!(app.call("GET", &path, None, None).0, 401);
        assert_eq!(app.call("GET", &path, Some("not-a-token"), None).0, 401);
        let (s, e, ctype) = app.call("GET", "/api/v1/customers/999999/360", Some(&staff), None);
        assert_eq!((s, e["code"].as_str(), ctype.as_str()), (404, Some("not_found"), "application/problem+json"));
        assert_eq!(app.call("GET", "/api/v1/customers/x/360", Some(&staff), None).0, 400);
    }
}

#[test]
fn staff_print_a_member_card_with_the_pages_qr_code() {
    let clock = start();
    let app = common::start_at(enishi_store::testing::sqlite(), clock.clone());
    let store = store_at(&app, &clock);
    hanako(&store);
    store.write(|c| enishi_store::repo::settings::set(c, "shop_name", "珈琲 <縁>")).unwrap();
    let cookie = app.session(Role::Staff);
    let (s, html) = app.page("/customers/1", &cookie);
    assert_eq!(s, 200);
    assert!(html.contains("href=\"/customers/1/card\""), "the profile links the card: {html}");

    let (s, html) = app.page("/customers/1/card", &cookie);
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\"") && html.contains("<path fill=\"#000\" d=\"M"),
        "{html}"
    );
    assert!(html.contains("id=\"member-code\">C1<"), "{html}");
    assert!(html.contains("珈琲 &lt;縁&gt;") && html.contains("&lt;b&gt;花子&lt;/b&gt;"), "escaped: {html}");
    let link = html.split("id=\"card-link\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    assert!(link.contains("/me/1."), "{link}");
    assert!(html.contains(&format!("aria-label=\"{link}\"")), "the code is labelled with the link");
    assert_eq!(app.page(&link[link.find("/me/").unwrap()..], "").0, 200, "the printed link opens the page");

    let resp = ureq::get(&format!("{}/customers/1/card.svg", app.base)).set("Cookie", &cookie).call().unwrap();
    assert_eq!(resp.content_type(), "image/svg+xml");
    assert!(resp.header("content-disposition").unwrap().contains("member-card.svg"));
    let svg = resp.into_string().unwrap();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>") && svg.contains("/me/1."), "{svg}");

    assert_eq!(app.page("/customers/999/card", &cookie).0, 404);
    assert_eq!(app.page("/customers/x/card.svg", &cookie).0, 404);
    assert_eq!(app.page("/customers/1/card", "").0, 303, "signed-out visitors sign in first");
    let audit = store.read(|c| c.query_one("SELECT COUNT(*) FROM audit_log WHERE action = 'customer.card'", &[]));
    assert_eq!(audit.unwrap().int(0).unwrap(), 2);
}
