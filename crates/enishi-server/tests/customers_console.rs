//! Customers kept in the console, over real HTTP on SQLite and (when available) PostgreSQL:
//! enrolling a walk-in at the till, editing contact details and consent, merging two records,
//! and the profile (orders with their lines, the points ledger on the timeline, coupons by
//! name with a "use" button, rewards with why not).

mod common;

use common::*;
use enishi_core::Role;
use serde_json::{json, Value};

fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string()
}

/// Follows a 303 and answers the page it leads to.
fn follow(app: &App, cookie: &str, answer: (u16, Option<String>, String)) -> (String, String) {
    assert_eq!(answer.0, 303, "{}", answer.2);
    let location = answer.1.expect("a location");
    (location.clone(), app.page(&location, cookie).1)
}

fn customer_id(app: &App, external: &str) -> i64 {
    let (_, found) = app.admin("GET", &format!("/api/v1/customers?external_id={external}"), None);
    found["items"][0]["id"].as_i64().unwrap_or_else(|| panic!("{external}: {found}"))
}

fn balance(app: &App, id: i64) -> i64 {
    app.admin("GET", &format!("/api/v1/customers/{id}/loyalty"), None).1["balance"].as_i64().unwrap()
}

fn contact<'a>(csrf: &'a str, name: &'a str, phone: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("name", name),
        ("furigana", "ヤマダ ハナコ"),
        ("phone", phone),
        ("email", email),
        ("consent_email", "opted_in"),
        ("consent_sms", "unknown"),
        ("consent_postal", "opted_out"),
        ("consent_phone", "unknown"),
    ]
}

#[test]
fn staff_enrol_a_walk_in_and_edit_consent_and_duplicates_are_refused_keeping_what_was_typed() {
    for app in apps() {
        app.admin("POST", "/api/v1/orders", Some(order("E-1", "C-E", "57.40")));
        let staff = app.session(Role::Staff);
        let (s, html) = app.page("/customers", &staff);
        assert!(s == 200 && html.contains("href=\"/customers/new\""), "{html}");
        let (s, html) = app.page("/customers/new", &staff);
        assert!(s == 200 && html.contains("id=\"enrol\""), "{html}");
        let csrf = csrf_in(&html);

        // Enrolled with furigana and consent given at the till, by this user.
        let (location, html) =
            follow(&app, &staff, app.form("/customers/new", &staff, &contact(&csrf, "山田 花子", "090-1234-5678", "")));
        assert!(location.ends_with("?done=enrolled"), "{location}");
        assert!(html.contains("Customer enrolled.") && html.contains("ヤマダ ハナコ"), "{html}");
        assert!(html.contains("090-1234-5678"), "the phone, in the national form: {html}");
        assert!(html.contains("Till (staff-"), "the consent's source names the till and the user: {html}");
        let id: i64 = location.trim_start_matches("/customers/").split('?').next().unwrap().parse().unwrap();

        // The same phone typed another way, or an email another customer has: refused, typed values kept.
        let (s, _, html) = app.form("/customers/new", &staff, &contact(&csrf, "花子 山田", "09012345678", ""));
        assert_eq!(s, 422, "{html}");
        assert!(html.contains("already has this phone number.") && html.contains("value=\"花子 山田\""), "{html}");
        assert!(html.contains(&format!("href=\"/customers/{id}\"")), "a link to the other customer: {html}");
        let (s, _, html) = app.form("/customers/new", &staff, &contact(&csrf, "Sato", "", "HANA@example.com"));
        assert!(s == 422 && html.contains("already has this email."), "{html}");
        let (s, _, html) = app.form("/customers/new", &staff, &contact(&csrf, "Nobody", "", ""));
        assert!(s == 422 && html.contains("Type a phone number or an email"), "{html}");
        let (s, _, html) = app.form("/customers/new", &staff, &contact(&csrf, "Bad", "", "not-an-email"));
        assert!(s == 422 && html.contains("Email: ") && html.contains("value=\"not-an-email\""), "{html}");
        let (s, _, html) = app.form("/customers/new", &staff, &contact(&csrf, "Bad", "090 <b>", ""));
        assert!(s == 422 && !html.contains("<b>"), "escaped: {html}");

        // Editing: consent withdrawn is on the trail with who and when; a taken email is refused.
        let edit = format!("/customers/{id}/edit");
        let (s, html) = app.page(&edit, &staff);
        assert!(s == 200 && html.contains("value=\"山田 花子\"") && html.contains("id=\"consent-trail\""), "{html}");
        assert!(html.contains("When (UTC)"), "times are labelled with the business time zone: {html}");
        let mut withdrawn = contact(&csrf, "山田 花子", "090-1234-5678", "hanako@example.jp");
        withdrawn[5] = ("consent_email", "opted_out");
        let (_, html) = follow(&app, &staff, app.form(&edit, &staff, &withdrawn));
        assert!(html.contains("Contact details saved.") && html.contains("hanako@example.jp"), "{html}");
        assert!(html.contains("Consent history (3)"), "opted in, opted out by post, then email opted out: {html}");
        let (_, html) = app.page(&edit, &staff);
        let trail = html.split("id=\"consent-trail\"").nth(1).unwrap();
        assert!(trail.find("opted out").unwrap() < trail.find("opted in").unwrap(), "newest first: {trail}");
        assert!(trail.contains("Console (staff-"), "{trail}");
        let taken = contact(&csrf, "山田 花子", "090-1234-5678", "hana@example.com");
        let (s, _, html) = app.form(&edit, &staff, &taken);
        assert!(
            s == 422 && html.contains("already has this email.") && html.contains("value=\"hana@example.com\""),
            "{html}"
        );
        let (_, v) = app.admin("GET", &format!("/api/v1/customers/{id}"), None);
        assert_eq!(v["email"], "hanako@example.jp", "nothing refused was written: {v}");
        assert_eq!(v["furigana"], "ヤマダ ハナコ", "{v}");
        let (_, audit) = app.admin("GET", "/api/v1/audit?limit=50", None);
        assert!(
            audit.to_string().contains("customers.enrol") && audit.to_string().contains("customers.edit"),
            "{audit}"
        );
    }
}

const PROGRAMME: &str = r#"{"name": "cafe", "effective_from": "2020-01-01", "earning": {"points_per_unit": 1},
    "rewards": [{"id": "cake", "name": "Slice of cake", "cost": 50, "kind": "discount", "value": "5"},
                {"id": "beans", "name": "Bag of beans", "cost": 5000, "kind": "discount", "value": "20"},
                {"id": "lounge", "name": "Lounge pass", "cost": 10, "kind": "discount", "value": "1", "members_only": true}]}"#;

#[test]
fn the_profile_opens_orders_shows_the_ledger_offers_rewards_with_why_not_and_uses_coupons() {
    for app in apps() {
        let doc: Value = serde_json::from_str(PROGRAMME).unwrap();
        assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(doc)).0, 201);
        app.admin("POST", "/api/v1/orders", Some(order("P-1", "C-P", "57.40")));
        let id = customer_id(&app, "C-P");
        let page = format!("/customers/{id}");
        let marketer = app.session(Role::Marketer);
        let (_, html) = app.page(&page, &marketer);
        let csrf = csrf_in(&html);

        // The order opens to its lines.
        let orders = html.split("id=\"orders\"").nth(1).unwrap();
        assert!(orders.contains("<details class=\"order\"") && orders.contains("P-1"), "{orders}");
        assert!(orders.contains("BEANS-1") && orders.contains("$28.70") && orders.contains("$57.40"), "{orders}");

        // Rewards it cannot take are said with why not; the one it can is offered.
        let redeem = html.split("id=\"redeem\"").nth(1).unwrap().split("</section>").next().unwrap();
        assert!(redeem.contains("<option value=\"cake\">"), "{redeem}");
        assert!(
            !redeem.contains("<option value=\"beans\">") && !redeem.contains("<option value=\"lounge\">"),
            "{redeem}"
        );
        assert!(
            redeem.contains("Bag of beans (5000 points) — <span class=\"why-not\">4943 more points needed"),
            "{redeem}"
        );
        assert!(redeem.contains("for paid members only"), "{redeem}");

        // An adjustment with its reason and who made it, and the redemption, on the timeline.
        let adjust = [("csrf", csrf.as_str()), ("key", "adj-1"), ("points", "3"), ("reason", "spilt latte")];
        assert_eq!(app.form(&format!("{page}/adjustments"), &marketer, &adjust).0, 303);
        let redeem = [("csrf", csrf.as_str()), ("key", "red-1"), ("reward", "cake")];
        assert_eq!(app.form(&format!("{page}/redemptions"), &marketer, &redeem).0, 303);
        let (_, html) = app.page(&page, &marketer);
        let timeline = html.split("id=\"timeline\"").nth(1).unwrap();
        assert!(timeline.contains("When (UTC)"), "{timeline}");
        assert!(
            timeline.contains("Points: adjust") && timeline.contains("spilt latte · by console: marketer-"),
            "{timeline}"
        );
        assert!(
            timeline.contains("Points: redeem") && timeline.contains("Reward cake") && timeline.contains("-50"),
            "{timeline}"
        );
        assert!(timeline.contains("Points: earn") && timeline.contains("+57"), "{timeline}");

        // The coupon is listed by its reward's name, and used from the page once.
        let coupons = html.split("id=\"coupons\"").nth(1).unwrap().split("</ul>").next().unwrap();
        assert!(coupons.contains("<strong>Slice of cake</strong>"), "{coupons}");
        let code = coupons.split("name=\"code\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let key = coupons.split("name=\"key\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let used = [("csrf", csrf.as_str()), ("code", code.as_str()), ("key", key.as_str())];
        let (_, html) = follow(&app, &marketer, app.form(&format!("{page}/coupons"), &marketer, &used));
        assert!(html.contains("Coupon used.") && !html.contains("id=\"coupons\""), "{html}");
        // Another customer's coupon is not used from this page.
        app.admin("POST", "/api/v1/orders", Some(order("P-2", "C-Q", "10.00")));
        let other = customer_id(&app, "C-Q");
        assert_eq!(app.form(&format!("/customers/{other}/coupons"), &marketer, &used).0, 404);
    }
}

#[test]
fn a_national_phone_number_is_read_in_the_workspaces_country_and_never_taken_for_a_japanese_one() {
    for app in apps() {
        let owner = app.session(Role::Admin);
        let (_, html) = app.page("/customers/new", &owner);
        let csrf = csrf_in(&html);
        let phone_of = |external_or_id: &str| -> Value {
            let (_, v) = app.admin("GET", &format!("/api/v1/customers/{external_or_id}"), None);
            v["phone"].clone()
        };
        // A dollar workspace in UTC: a British mobile number stays as typed (it was +81 before).
        let (location, _) =
            follow(&app, &owner, app.form("/customers/new", &owner, &contact(&csrf, "Jane", "07700 900123", "")));
        let uk = location.trim_start_matches("/customers/").split('?').next().unwrap().to_string();
        assert_eq!(phone_of(&uk), json!("07700900123"));
        let (s, v) =
            app.admin("POST", "/api/v1/customers", Some(json!({"external_id": "API-1", "phone": "0612345678"})));
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["phone"], json!("0612345678"), "{v}");

        // A yen workspace in Tokyo reads Japanese numbers: stored in E.164, found in any form.
        let settings = [("csrf", csrf.as_str()), ("time_zone", "Asia/Tokyo"), ("currency", "JPY")];
        assert_eq!(app.form("/settings", &owner, &settings).0, 303);
        let (location, html) =
            follow(&app, &owner, app.form("/customers/new", &owner, &contact(&csrf, "花子", "090-2222-3333", "")));
        let jp = location.trim_start_matches("/customers/").split('?').next().unwrap().to_string();
        assert_eq!(phone_of(&jp), json!("+819022223333"));
        assert!(html.contains("090-2222-3333"), "shown in the national form: {html}");
        let (s, v) =
            app.admin("POST", "/api/v1/customers", Some(json!({"external_id": "API-2", "phone": "03-1234-5678"})));
        assert_eq!((s, v["phone"].as_str()), (201, Some("+81312345678")), "{v}");
        let (_, found) = app.admin("GET", "/api/v1/customers?phone=090-2222-3333", None);
        assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{found}");
        let (s, _, html) = app.form("/customers/new", &owner, &contact(&csrf, "Again", "+81 90 2222 3333", ""));
        assert!(
            s == 422 && html.contains("already has this phone number."),
            "the same number typed another way: {html}"
        );

        // The owner sets the country on the Settings page: a British number is then read as one.
        let (_, page) = app.page("/settings", &owner);
        assert!(page.contains("<option value=\"\" selected>"), "automatic at first: {page}");
        let mut gb = settings.to_vec();
        gb.push(("phone_country", "<b>XX</b>"));
        let (s, _, page) = app.form("/settings", &owner, &gb);
        assert!(s == 422 && page.contains("is not a country whose phone numbers") && !page.contains("<b>XX"), "{page}");
        gb.pop();
        gb.push(("phone_country", "gb"));
        assert_eq!(app.form("/settings", &owner, &gb).0, 303);
        assert!(app.page("/settings", &owner).1.contains("<option value=\"GB\" selected>"));
        let (location, _) =
            follow(&app, &owner, app.form("/customers/new", &owner, &contact(&csrf, "Tom", "07700 900124", "")));
        let tom = location.trim_start_matches("/customers/").split('?').next().unwrap().to_string();
        assert_eq!(phone_of(&tom), json!("+447700900124"));
    }
}

/// The Enishi id of order `order_ref` on a customer's page.
fn order_on_page(html: &str, order_ref: &str) -> String {
    let at = html.find(&format!(" · {order_ref} · ")).unwrap_or_else(|| panic!("{order_ref}: {html}"));
    let before = &html[..at];
    let id = before.rsplit("id=\"order-").next().unwrap();
    id.split('"').next().unwrap().to_string()
}

/// The ids of the adjustments the page offers to reverse.
fn reversible(html: &str, customer: i64) -> Vec<String> {
    let prefix = format!("action=\"/customers/{customer}/adjustments/");
    html.split(&prefix).skip(1).map(|r| r.split('/').next().unwrap().to_string()).collect()
}

#[test]
fn managers_void_refund_and_reverse_adjustments_with_points_taken_back_and_who_and_why() {
    for app in apps() {
        let doc: Value = serde_json::from_str(PROGRAMME).unwrap();
        assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(doc)).0, 201);
        app.admin("POST", "/api/v1/orders", Some(order("V-1", "C-V", "57.40")));
        app.admin("POST", "/api/v1/orders", Some(order("V-2", "C-V", "57.40")));
        let id = customer_id(&app, "C-V");
        let page = format!("/customers/{id}");
        assert_eq!(balance(&app, id), 114);

        // Staff are neither offered nor allowed to void.
        let staff = app.session(Role::Staff);
        let (_, html) = app.page(&page, &staff);
        assert!(!html.contains("order-corrections") && reversible(&html, id).is_empty(), "{html}");
        let staff_csrf = csrf_in(&html);
        let v1 = order_on_page(&html, "V-1");
        let returns = format!("{page}/orders/{v1}/returns");
        let void = |csrf: &str, key: &str, reason: &str| -> Vec<(String, String)> {
            [("csrf", csrf), ("key", key), ("what", "all"), ("reason", reason)]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let send = |cookie: &str, path: &str, fields: &[(String, String)]| {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.form(path, cookie, &fields)
        };
        assert_eq!(send(&staff, &returns, &void(&staff_csrf, "k-staff", "mistake")).0, 403);

        let marketer = app.session(Role::Marketer);
        let (_, html) = app.page(&page, &marketer);
        let csrf = csrf_in(&html);
        assert!(html.contains(&format!("action=\"{returns}\"")), "{html}");

        // Refused, saying why, and nothing written.
        let refusals: [(&[(&str, &str)], &str); 6] = [
            (&[("what", "all"), ("reason", " ")], "Say why"),
            (&[("what", "lines"), ("reason", "r"), ("q0", "3")], "BEANS-1: write a number of units from 0 to 2."),
            (&[("what", "lines"), ("reason", "r"), ("q0", "0")], "Type how many units of which line come back."),
            (&[("what", "amount"), ("reason", "r"), ("amount", "abc")], "is not an amount"),
            (&[("what", "amount"), ("reason", "r"), ("amount", "100")], "at most 57.40"),
            (&[("what", "everything"), ("reason", "r")], "Choose to void the order"),
        ];
        for (fields, why) in refusals {
            let mut all = vec![("csrf", csrf.as_str()), ("key", "k-bad")];
            all.extend_from_slice(fields);
            let (s, _, html) = app.form(&returns, &marketer, &all);
            assert!(s == 422 && html.contains(why), "{fields:?}: {s} {html}");
            // On the customer's page, the order and its form open, keeping what was typed.
            let alert = html.split("id=\"correction-error\"").nth(1).unwrap_or_else(|| panic!("{html}"));
            assert!(alert.contains(why) && html.contains(&format!("id=\"order-{v1}\" open")), "{html}");
        }
        let (_, _, html) = app.form(
            &returns,
            &marketer,
            &[("csrf", &csrf), ("key", "k-b"), ("what", "lines"), ("reason", "torn"), ("q0", "3")],
        );
        let v1_order = html.split(&format!("id=\"order-{v1}\"")).nth(1).unwrap();
        let lines = v1_order.split("class=\"return-lines\"").nth(1).unwrap();
        assert!(lines.contains("value=\"3\"") && lines.contains("value=\"torn\""), "{lines}");
        let stale = app.form(&returns, &marketer, &[("csrf", &csrf), ("key", " "), ("what", "all"), ("reason", "r")]);
        assert!(stale.0 == 422 && stale.2.contains("out of date"), "{}", stale.2);
        // Another customer's order is not voided from this page.
        app.admin("POST", "/api/v1/orders", Some(order("V-9", "C-OTHER", "10.00")));
        let other = customer_id(&app, "C-OTHER");
        assert_eq!(
            send(&marketer, &format!("/customers/{other}/orders/{v1}/returns"), &void(&csrf, "k-x", "r")).0,
            404
        );

        // First it says what it will do, and does nothing.
        let (s, _, html) = send(&marketer, &returns, &void(&csrf, "k-void", "rang up twice"));
        assert_eq!(s, 200, "{html}");
        assert!(html.contains("Void order V-1?"), "{html}");
        assert!(html.contains("$57.40 is refunded to the customer and 57 points are taken back."), "{html}");
        assert!(html.contains("name=\"confirmed\" value=\"yes\""), "{html}");
        assert_eq!(balance(&app, id), 114, "nothing taken back before it is confirmed");
        let (_, v) = app.admin("GET", "/api/v1/orders/V-1", None);
        assert_eq!(v["returns"], json!([]), "no return stored: {v}");

        // Confirmed: refunded, the points taken back, who and why on the timeline.
        let mut confirmed = void(&csrf, "k-void", "rang up twice");
        confirmed.push(("confirmed".into(), "yes".into()));
        let (_, html) = follow(&app, &marketer, send(&marketer, &returns, &confirmed));
        assert!(html.contains("Order V-1 voided: $57.40 refunded, 57 points taken back."), "{html}");
        assert_eq!(balance(&app, id), 57);
        let timeline = html.split("id=\"timeline\"").nth(1).unwrap();
        assert!(
            timeline.contains("Points: reverse") && timeline.contains("rang up twice · by console: marketer-"),
            "{timeline}"
        );
        assert!(timeline.contains("Return V-1-Rk-void"), "the return names its order: {timeline}");
        let orders = html.split("id=\"orders\"").nth(1).unwrap();
        assert!(orders.contains("returned $57.40"), "{orders}");
        assert!(!html.contains(&format!("action=\"{returns}\"")), "a voided order offers no more refunds");
        // The same form again (a double click, Back and resend) changes nothing.
        let (_, html) = follow(&app, &marketer, send(&marketer, &returns, &confirmed));
        assert!(html.contains("Order V-1 voided"), "{html}");
        assert_eq!(balance(&app, id), 57);
        let again = send(&marketer, &returns, &void(&csrf, "k-void-2", "again"));
        assert!(again.0 == 422 && again.2.contains("has been fully returned already"), "{}", again.2);

        // One unit of V-2 returned, then part of its price refunded.
        let v2 = order_on_page(&html, "V-2");
        let returns2 = format!("{page}/orders/{v2}/returns");
        let one = [("csrf", csrf.as_str()), ("key", "k-line"), ("what", "lines"), ("reason", "bag torn"), ("q0", "1")];
        let (s, _, html) = app.form(&returns2, &marketer, &one);
        assert!(s == 200 && html.contains("Refund on order V-2?") && html.contains("BEANS-1</code> × 1"), "{html}");
        assert!(html.contains("$28.70 is refunded to the customer and 29 points are taken back."), "{html}");
        let mut yes = one.to_vec();
        yes.push(("confirmed", "yes"));
        let (_, html) = follow(&app, &marketer, app.form(&returns2, &marketer, &yes));
        assert!(html.contains("Refund on order V-2: $28.70 refunded, 29 points taken back."), "{html}");
        assert_eq!(balance(&app, id), 28);
        let part = [
            ("csrf", csrf.as_str()),
            ("key", "k-amt"),
            ("what", "amount"),
            ("reason", "late"),
            ("amount", "$10"),
            ("confirmed", "yes"),
        ];
        let (_, html) = follow(&app, &marketer, app.form(&returns2, &marketer, &part));
        assert!(html.contains("Refund on order V-2: $10.00 refunded"), "{html}");
        let (_, v) = app.admin("GET", "/api/v1/orders/V-2", None);
        assert_eq!(v["returns"].as_array().map(Vec::len), Some(2), "{v}");
        assert_eq!(v["returned_amount"], json!("38.70"), "{v}");

        // An adjustment reversed by another, linked to it, once.
        let adjust = [("csrf", csrf.as_str()), ("key", "adj-r"), ("points", "30"), ("reason", "goodwill")];
        assert_eq!(app.form(&format!("{page}/adjustments"), &marketer, &adjust).0, 303);
        let before = balance(&app, id);
        let (_, html) = app.page(&page, &marketer);
        let offered = reversible(&html, id);
        assert_eq!(offered.len(), 1, "the adjustment, and no other entry: {html}");
        let reversal = format!("{page}/adjustments/{}/reversal", offered[0]);
        let staff_try = app.form(&reversal, &staff, &[("csrf", &staff_csrf), ("reason", "no")]);
        assert_eq!(staff_try.0, 403);
        let blank = app.form(&reversal, &marketer, &[("csrf", &csrf), ("reason", "")]);
        assert!(blank.0 == 422 && blank.2.contains("Say why"), "{}", blank.2);
        let (location, html) =
            follow(&app, &marketer, app.form(&reversal, &marketer, &[("csrf", &csrf), ("reason", "wrong customer")]));
        assert!(location.ends_with("?done=reversed") && html.contains("Adjustment reversed."), "{html}");
        assert_eq!(balance(&app, id), before - 30);
        let timeline = html.split("id=\"timeline\"").nth(1).unwrap();
        assert!(
            timeline.contains("Reverses an adjustment of +30: wrong customer · by console: marketer-"),
            "{timeline}"
        );
        assert!(timeline.contains("goodwill · by console: marketer-"), "{timeline}");
        assert!(timeline.contains(" · reversed "), "{timeline}");
        assert!(reversible(&html, id).is_empty(), "neither the reversed nor the reversal is offered: {html}");
        let twice = app.form(&reversal, &marketer, &[("csrf", &csrf), ("reason", "again")]);
        assert!(twice.0 == 422 && twice.2.contains("was reversed already"), "{}", twice.2);
        assert!(twice.2.contains("id=\"reversal-error\""), "said on the customer's page: {}", twice.2);
        assert_eq!(balance(&app, id), before - 30);

        // The API: another adjustment reversed once; a reversal, an earning or another's entry is not.
        let (_, ledger) = app.admin("GET", &format!("/api/v1/customers/{id}/loyalty/ledger?limit=50"), None);
        let entries = ledger["entries"].as_array().unwrap_or_else(|| panic!("{ledger}"));
        let find =
            |f: &dyn Fn(&Value) -> bool| entries.iter().find(|e| f(e)).map(|e| e["id"].as_i64().unwrap()).unwrap();
        let the_reversal = find(&|e| e["kind"] == "adjust" && e["points"] == -30);
        let an_earning = find(&|e| e["kind"] == "earn");
        app.admin(
            "POST",
            &format!("/api/v1/customers/{id}/loyalty/adjustments"),
            Some(json!({"points": 5, "reason": "r", "idempotency_key": "api-adj"})),
        );
        let (_, ledger) = app.admin("GET", &format!("/api/v1/customers/{id}/loyalty/ledger?limit=1"), None);
        let api_adj = ledger["entries"][0]["id"].as_i64().unwrap();
        let path = |entry: i64| format!("/api/v1/customers/{id}/loyalty/adjustments/{entry}/reversal");
        let body = json!({"reason": "typo"}).to_string();
        assert_eq!(app.call("POST", &path(api_adj), Some(&app.staff), Some(&body)).0, 403);
        assert_eq!(app.admin("POST", &path(api_adj), Some(json!({"reason": ""}))).0, 422);
        assert_eq!(app.admin("POST", &path(api_adj), Some(json!({}))).0, 422);
        let (s, v) = app.admin("POST", &path(api_adj), Some(json!({"reason": "typo"})));
        assert_eq!((s, v["balance"].as_i64()), (201, Some(before - 30)), "{v}");
        let (s, v) = app.admin("POST", &path(api_adj), Some(json!({"reason": "typo"})));
        assert_eq!((s, v["code"].as_str()), (409, Some("already_reversed")), "{v}");
        // Both name the token that posted them, as the audit log does.
        let (_, ledger) = app.admin("GET", &format!("/api/v1/customers/{id}/loyalty/ledger?limit=2"), None);
        for e in ledger["entries"].as_array().unwrap() {
            let detail: Value = serde_json::from_str(e["detail"].as_str().unwrap()).unwrap();
            let by = detail["by"].as_str().unwrap_or_default();
            assert!(by.starts_with("token:") && by.ends_with("(admin)"), "{e}");
        }
        let (s, v) = app.admin("POST", &path(the_reversal), Some(json!({"reason": "x"})));
        assert_eq!((s, v["code"].as_str()), (409, Some("already_reversed")), "{v}");
        assert_eq!(app.admin("POST", &path(an_earning), Some(json!({"reason": "x"}))).0, 404);
        let other_path = format!("/api/v1/customers/{other}/loyalty/adjustments/{api_adj}/reversal");
        assert_eq!(app.admin("POST", &other_path, Some(json!({"reason": "x"}))).0, 404);
        assert_eq!(balance(&app, id), before - 30);

        let (_, check) = app.admin("GET", "/api/v1/loyalty/verify", None);
        assert!(check.to_string().contains("\"mismatches\":[]"), "{check}");
        let (_, audit) = app.admin("GET", "/api/v1/audit?limit=50", None);
        let audit = audit.to_string();
        assert!(
            audit.contains("orders.refund") && audit.contains("points.reverse") && audit.contains("user:marketer-"),
            "{audit}"
        );
    }
}

#[test]
fn managers_merge_two_records_and_the_kept_one_has_everything() {
    for app in apps() {
        let doc: Value = serde_json::from_str(PROGRAMME).unwrap();
        assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(doc)).0, 201);
        app.admin("POST", "/api/v1/orders", Some(order("M-1", "C-KEEP", "57.40")));
        let mut second = order("M-2", "C-DUP", "20.00");
        second["customer"] = json!({"external_id": "C-DUP", "phone": "+81 90 5555 6666", "name": "Hana S."});
        app.admin("POST", "/api/v1/orders", Some(second));
        let (keep, dup) = (customer_id(&app, "C-KEEP"), customer_id(&app, "C-DUP"));
        assert_eq!((balance(&app, keep), balance(&app, dup)), (57, 20));

        let staff = app.session(Role::Staff);
        assert_eq!(app.page(&format!("/customers/{keep}/merge"), &staff).0, 403);
        let (_, html) = app.page(&format!("/customers/{keep}"), &staff);
        assert!(!html.contains("id=\"merge-link\""), "staff are not offered a merge");

        let owner = app.session(Role::Marketer);
        let (_, html) = app.page(&format!("/customers/{keep}"), &owner);
        assert!(html.contains(&format!("href=\"/customers/{keep}/merge\"")), "{html}");
        let (_, html) = app.page(&format!("/customers/{keep}/merge?other=nobody"), &owner);
        assert!(html.contains("No customer has this shop id, email or phone."), "{html}");
        let (_, html) = app.page(&format!("/customers/{keep}/merge?other=C-KEEP"), &owner);
        assert!(html.contains("That is this customer.") && !html.contains("id=\"merge-confirm\""), "{html}");
        // Found by phone typed another way; both records side by side before anything happens.
        let (_, html) = app.page(&format!("/customers/{keep}/merge?other=%2B8190-5555-6666"), &owner);
        let confirm = html.split("id=\"merge-confirm\"").nth(1).unwrap_or_else(|| panic!("{html}"));
        assert!(confirm.contains("Merge C-DUP into C-KEEP") && html.contains("20 points"), "{html}");
        assert_eq!(customer_id(&app, "C-DUP"), dup, "nothing merged yet");

        let csrf = csrf_in(&html);
        let dup_text = dup.to_string();
        let (location, html) = follow(
            &app,
            &owner,
            app.form(&format!("/customers/{keep}/merge"), &owner, &[("csrf", &csrf), ("other", &dup_text)]),
        );
        assert!(location.ends_with("?done=merged"), "{location}");
        assert!(html.contains("Records merged into this customer."), "{html}");
        assert!(html.contains("Customer C-DUP merged into this one"), "on the timeline: {html}");
        assert!(html.contains("M-2"), "the order moved: {html}");
        assert_eq!(balance(&app, keep), 77);
        assert_eq!(app.page(&format!("/customers/{dup}"), &owner).0, 404);
        assert_eq!(customer_id(&app, "C-DUP"), keep, "the old shop id finds the kept customer");
        let (_, v) = app.admin("GET", &format!("/api/v1/customers/{keep}"), None);
        assert_eq!((v["stats"]["order_count"].as_i64(), v["phone"].as_str()), (Some(2), Some("+819055556666")), "{v}");
        let (_, timeline) = app.admin("GET", &format!("/api/v1/customers/{keep}/timeline"), None);
        assert!(timeline.to_string().contains("\"kind\":\"merge\""), "{timeline}");
        let (_, check) = app.admin("GET", "/api/v1/loyalty/verify", None);
        assert!(check.to_string().contains("\"mismatches\":[]"), "{check}");
        let (_, audit) = app.admin("GET", "/api/v1/audit?limit=50", None);
        assert!(audit.to_string().contains("customers.merge"), "{audit}");

        // Merging what is gone is not found; merging a record with itself is refused.
        let again = app.form(&format!("/customers/{keep}/merge"), &owner, &[("csrf", &csrf), ("other", &dup_text)]);
        assert_eq!(again.0, 404);
        let keep_text = keep.to_string();
        let itself = app.form(&format!("/customers/{keep}/merge"), &owner, &[("csrf", &csrf), ("other", &keep_text)]);
        assert!(itself.0 == 400 && itself.2.contains("That is this customer."), "{}", itself.2);

        // The same through the API (checked against the OpenAPI document).
        app.admin("POST", "/api/v1/orders", Some(order("M-3", "C-API", "5.00")));
        let api_dup = customer_id(&app, "C-API");
        let path = format!("/api/v1/customers/{keep}/merge");
        let body = json!({"merged_id": api_dup}).to_string();
        let (s, v, _) = app.call("POST", &path, Some(&app.staff), Some(&body));
        assert_eq!((s, v["code"].as_str()), (403, Some("forbidden")));
        let (s, v) = app.admin("POST", &path, Some(json!({"merged_id": keep})));
        assert_eq!((s, v["field"].as_str()), (422, Some("merged_id")), "{v}");
        assert_eq!(app.admin("POST", &path, Some(json!({"merged_id": 999_999}))).0, 404);
        assert_eq!(app.admin("POST", &path, Some(json!({"merged": api_dup}))).0, 422);
        let (s, v) = app.admin("POST", &path, Some(json!({"merged_id": api_dup})));
        assert_eq!(s, 200, "{v}");
        assert_eq!((v["kept"].as_i64(), v["merged_external_id"].as_str()), (Some(keep), Some("C-API")));
        assert_eq!((v["moved"]["orders"].as_i64(), v["balance"].as_i64()), (Some(1), Some(82)), "{v}");
        assert_eq!(customer_id(&app, "C-API"), keep);
    }
}

/// GETs a page without following a redirect: (status, Location, HTML, Cache-Control).
fn get(app: &App, path: &str, cookie: &str) -> (u16, Option<String>, String, Option<String>) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let resp = match agent.get(&format!("{}{path}", app.base)).set("Cookie", cookie).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{path}: {e}"),
    };
    let location = resp.header("location").map(String::from);
    let cache = resp.header("cache-control").map(String::from);
    (resp.status(), location, resp.into_string().unwrap_or_default(), cache)
}

/// Percent-encodes a query value.
fn q(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[test]
fn staff_land_on_the_till_find_by_phone_reading_code_or_card_and_never_browse() {
    for app in apps() {
        let staff = app.session(Role::Staff);
        // Two namesakes and one with a reading and a phone.
        let csrf = csrf_in(&app.page("/customers/new", &staff).1);
        let enrolled =
            follow(&app, &staff, app.form("/customers/new", &staff, &contact(&csrf, "山田 花子", "090-1234-5678", "")));
        let hanako = enrolled.0.trim_start_matches("/customers/").split('?').next().unwrap().to_string();
        for (n, name) in ["Ken Sato", "Kenta Sato"].iter().enumerate() {
            app.admin(
                "POST",
                "/api/v1/customers",
                Some(json!({"external_id": format!("S-{n}"), "name": name, "phone": format!("0311112{n}22")})),
            );
        }

        // Staff land on the till; the dashboard is not theirs; console pages are never cached.
        let (s, location, _, _) = get(&app, "/", &staff);
        assert_eq!((s, location.as_deref()), (303, Some("/till")));
        let (s, _, html, cache) = get(&app, "/till", &staff);
        assert!(s == 200 && html.contains("id=\"till-q\"") && html.contains("autofocus"), "{html}");
        assert!(!html.contains("href=\"/\">Dashboard"), "no dashboard link for staff: {html}");
        assert_eq!(cache.as_deref(), Some("no-store"));
        let admin = app.session(Role::Admin);
        assert_eq!(get(&app, "/", &admin).0, 200, "managers keep the dashboard");
        // The list's heading counts the customers the search selects, not the whole base.
        let (_, _, html, _) = get(&app, "/customers?q=Sato", &admin);
        assert!(html.contains("id=\"matching\">(2)<"), "{html}");
        let (_, _, html, _) = get(&app, "/customers?q=%E3%82%84%E3%81%BE%E3%81%A0", &admin);
        assert!(html.contains("id=\"matching\">(1)<") && html.contains("山田 花子"), "by reading: {html}");
        let (_, _, html, _) = get(&app, "/customers", &admin);
        assert!(html.contains("id=\"matching\">(3)<"), "{html}");
        // Managers export what the list selects; staff may not.
        assert!(get(&app, "/customers?q=Sato", &admin).2.contains("id=\"export-list\""));
        let (s, _, csv, _) = get(&app, "/customers/export.csv?q=Sato&stage=&segment=&loyal=&saved=", &admin);
        assert_eq!(s, 200, "{csv}");
        assert_eq!(csv.lines().count(), 3, "a header and the two who match: {csv}");
        assert!(
            csv.lines().next().unwrap().starts_with("external_id,name,email,phone") && csv.contains("Kenta Sato"),
            "{csv}"
        );
        assert_eq!(get(&app, "/customers/export.csv?q=Sato", &staff).0, 403);
        assert!(!get(&app, "/customers?q=Sato", &staff).2.contains("id=\"export-list\""));
        let (s, _, html, _) = get(&app, "/customers/export.csv?saved=nothing", &admin);
        assert_eq!(s, 422, "{html}");

        // One match opens the customer: a phone in any form, a reading, the member code.
        let opens = format!("/customers/{hanako}");
        for typed in ["090-1234-5678", "+81 90 1234 5678", "０９０１２３４５６７８", "ヤマダ", "やまだ はなこ"]
        {
            let (s, location, html, _) = get(&app, &format!("/till?q={}", q(typed)), &staff);
            assert_eq!((s, location.as_deref()), (303, Some(opens.as_str())), "{typed}: {html}");
        }
        let (s, location, _, _) = get(&app, "/till?q=S-1", &staff);
        assert_eq!((s, location.is_some()), (303, true), "the member code");

        // Several: listed by name, reading and code, the phone's last four digits only.
        let (s, _, html, _) = get(&app, "/till?q=Sato", &staff);
        assert!(s == 200 && html.matches("<li>").count() == 2 && html.contains("…2022"), "{html}");
        assert!(!html.contains("0311112022"), "no full phone number in a list: {html}");
        let (_, _, html, _) = get(&app, "/till?q=Nobody", &staff);
        assert!(html.contains("id=\"till-hint\"") && html.contains("id=\"till-enrol\""), "{html}");
        let (_, _, html, _) = get(&app, "/till?q=S", &staff);
        assert!(html.contains("id=\"till-hint\"") && !html.contains("<li>"), "one character is no search: {html}");

        // The member card's QR code, scanned into the box, opens its customer; a changed one
        // does not.
        let (_, card) = app.page(&format!("/customers/{hanako}/card"), &staff);
        let link = card.split("id=\"card-link\">").nth(1).unwrap().split('<').next().unwrap().to_string();
        assert!(link.contains("/me/"), "{link}");
        let (s, location, _, _) = get(&app, &format!("/till?q={}", q(&link)), &staff);
        assert_eq!((s, location.as_deref()), (303, Some(opens.as_str())), "{link}");
        let (base, token) = link.split_once("/me/").unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let other_id = parts[0].parse::<i64>().unwrap() + 1;
        let forged = format!("{base}/me/{other_id}.{}.{}", parts[1], parts[2]);
        let (s, _, html, _) = get(&app, &format!("/till?q={}", q(&forged)), &staff);
        assert!(s == 200 && html.contains("id=\"till-hint\""), "{forged}: {html}");

        // The customer's page puts the sale form first for staff, then points and open issues.
        let (_, html) = app.page(&opens, &staff);
        let at = |id: &str| html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("{id}: {html}"));
        assert!(at("record-purchase") < at("open-issues") && at("open-issues") < at("contact"), "{html}");

        // Staff never list customers without a term.
        let (_, _, html, cache) = get(&app, "/customers", &staff);
        assert!(html.contains("<tbody></tbody>"), "{html}");
        assert_eq!(cache.as_deref(), Some("no-store"));
    }
}
