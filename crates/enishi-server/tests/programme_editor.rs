//! The loyalty programme editor, over real HTTP on SQLite and (when available) PostgreSQL:
//! a draft edited in forms and as JSON, previewed on a sample order, compared with the version
//! in force, applied after confirmation; the versions with who applied them, and rollback.
//! Refused forms keep what was typed and change nothing; staff cannot reach the editor.

mod common;

use common::*;
use enishi_core::{Language, Role};
use enishi_store::repo::users;
use serde_json::{json, Value};

fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string()
}

/// The value of the hidden input `name` on a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker).nth(1).and_then(|r| r.split('"').next()).unwrap_or_default().to_string()
}

/// The first version: a café programme with tiers, a reward and a one-off promotion.
fn first() -> Value {
    json!({
        "name": "Corner Coffee",
        "effective_from": "2026-01-01",
        "earning": {"points_per_unit": "1", "minimum_order": "500"},
        "promotions": [{"id": "bf", "name": "Black Friday", "starts": "2026-11-27 18:00", "ends": "2026-11-29 18:00",
                        "multiplier": "2"}],
        "tiers": {"basis": "spend", "window": {"rolling_days": 365},
                  "levels": [{"id": "member", "name": "Member", "threshold": "0"},
                             {"id": "gold", "name": "Gold", "names": {"ja": "ゴールド"}, "threshold": "10000", "multiplier": "1.5"}]},
        "rewards": [{"id": "coffee", "name": "A free coffee", "cost": 150, "kind": "free_item", "sku": "COFFEE"}]
    })
}

/// Signs in a new user with `role` and `language`.
fn session(app: &App, role: Role, language: Language, email: &str) -> String {
    let store = enishi_store::Store::open(&app._db.url).unwrap();
    store.write(|c| users::create(c, email, "", role, language, PASSWORD)).unwrap();
    app.sign_in(email, PASSWORD).expect("signed in")
}

fn points_per_unit(app: &App) -> (i64, String) {
    let (_, v) = app.admin("GET", "/api/v1/loyalty/program", None);
    (v["version"].as_i64().unwrap(), v["document"]["earning"]["points_per_unit"].as_str().unwrap().to_string())
}

#[test]
fn a_draft_is_edited_previewed_compared_applied_and_rolled_back() {
    for app in apps() {
        assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(first())).0, 201);
        let owner = session(&app, Role::Admin, Language::En, "owner@shop.example");
        let (status, html) = app.page("/loyalty/editor/earning", &owner);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("The draft is the same."), "{html}");
        let csrf = csrf_in(&html);

        // Earning: two points per yen, in the draft only.
        let earning = [
            ("csrf", csrf.as_str()),
            ("index", ""),
            ("action", "save"),
            ("name", "Corner Coffee"),
            ("earning.points_per_unit", "2"),
            ("earning.rounding", "down"),
            ("earning.minimum_order", "500"),
            ("pending_days", "0"),
            ("expiry", "never"),
        ];
        let (status, location, html) = app.form("/loyalty/editor/earning", &owner, &earning);
        assert_eq!((status, location.as_deref()), (303, Some("/loyalty/editor/earning")), "{html}");
        assert_eq!(points_per_unit(&app), (1, "1".into()), "a draft is not in force");

        // A promotion with a bad multiplier is refused next to the field, what was typed kept.
        let promotion = |multiplier: &'static str, from: &'static str| {
            vec![
                ("csrf", csrf.clone()),
                ("index", "new".into()),
                ("action", "save".into()),
                ("id", "quiet".into()),
                ("name", "Quiet afternoons".into()),
                ("names.ja", "静かな午後".into()),
                ("names.en", "".into()),
                ("multiplier", multiplier.into()),
                ("repeat.weekdays", "tue".into()),
                ("repeat.weekdays", "wed".into()),
                ("repeat.from", from.into()),
                ("repeat.until", "17:00".into()),
                ("when.channels", "in_store".into()),
            ]
        };
        let send = |fields: &[(&str, String)]| {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.form("/loyalty/editor/promotions", &owner, &fields)
        };
        let (status, _, html) = send(&promotion("double", "14:00"));
        assert_eq!(status, 422, "{html}");
        assert!(html.contains(r#"id="f-multiplier-error""#) && html.contains("is not a number"), "{html}");
        assert!(html.contains(r#"value="double""#) && html.contains("静かな午後"), "typed values stay: {html}");
        assert!(html.contains(r#"name="repeat.weekdays" value="wed" checked"#), "{html}");
        let (status, _, html) = send(&promotion("2", "2pm"));
        assert_eq!(status, 422, "{html}");
        assert!(html.contains(r#"id="f-repeat-from-error""#) && html.contains("is not a time of day"), "{html}");
        assert!(!app.page("/loyalty/editor/promotions", &owner).1.contains("quiet"), "nothing saved on error");
        let (status, _, html) = send(&promotion("2", "14:00"));
        assert_eq!(status, 303, "{html}");
        let (_, html) = app.page("/loyalty/editor/promotions", &owner);
        assert!(html.contains("Quiet afternoons") && html.contains("(quiet)"), "{html}");

        // The preview: a $3,000 order on a Tuesday at 15:00 under the draft and in force.
        let (status, html) = app.page(
            "/loyalty/editor/preview?amount=%243%2C000&channel=in_store&at=2026-12-08+15%3A00&tier=member",
            &owner,
        );
        assert_eq!(status, 200, "{html}");
        let points = |id: &str| -> i64 {
            let card = html.split(&format!("id=\"{id}\"")).nth(1).unwrap();
            card.split("data-points=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap()
        };
        assert_eq!((points("under-draft"), points("under-in-force")), (12_000, 3_000), "{html}");
        assert!(html.contains("Quiet afternoons"), "the breakdown names the promotion: {html}");
        let (status, html) = app.page("/loyalty/editor/preview?amount=abc", &owner);
        assert_eq!(status, 422);
        assert!(html.contains(r#"id="preview-error""#) && html.contains(r#"value="abc""#), "{html}");
        // Amounts are read as the till reads them: in the shop's currency, commas grouping thousands.
        for (typed, why) in [
            ("%C2%A53%2C000", "is in another currency (¥): this shop records USD"),
            ("30%2C00", "is not an amount: write it like $1,200.00"),
            ("3.005", "has more than 2 decimals"),
        ] {
            let (status, html) = app.page(&format!("/loyalty/editor/preview?amount={typed}"), &owner);
            assert!(status == 422 && html.contains(why), "{typed}: {html}");
        }
        let (status, html) = app.page("/loyalty/editor/preview?lines=BEANS%2C+coffee%2C+1%2C+%C2%A5500", &owner);
        assert!(status == 422 && html.contains("line 1: '¥500' is in another currency"), "{html}");

        // The changes against the version in force, then applying them after confirmation.
        let (_, html) = app.page("/loyalty/editor/changes", &owner);
        let changes = html.split(r#"id="changes""#).nth(1).unwrap();
        assert!(changes.contains("Points per currency unit") && changes.contains("<td>2</td>"), "{changes}");
        assert!(changes.contains("Added") && changes.contains("Quiet afternoons"), "{changes}");
        assert!(changes.contains("Apply these changes as version 2?"), "{changes}");
        let draft = hidden(&html, "draft");
        let stale = [("csrf", csrf.as_str()), ("draft", "0000")];
        assert_eq!(app.form("/loyalty/editor/apply", &owner, &stale).0, 409, "an unconfirmed draft is not applied");
        assert_eq!(points_per_unit(&app), (1, "1".into()));
        let (status, location, _) = app.form("/loyalty/editor/apply", &owner, &[("csrf", &csrf), ("draft", &draft)]);
        assert_eq!((status, location.as_deref()), (303, Some("/loyalty/versions")));
        assert_eq!(points_per_unit(&app), (2, "2".into()));

        // The versions, with who applied them; rollback to the first.
        let (_, html) = app.page("/loyalty/versions", &owner);
        let rows = html.split(r#"id="versions""#).nth(1).unwrap();
        assert!(rows.contains("console: owner@shop.example") && rows.contains("api (admin)"), "{rows}");
        let (_, html) = app.page("/loyalty/versions/1", &owner);
        assert!(html.contains("Removed") && html.contains("Quiet afternoons"), "{html}");
        let current = hidden(&html, "current");
        assert_eq!(current, "2");
        let stale = [("csrf", csrf.as_str()), ("current", "1")];
        assert_eq!(app.form("/loyalty/versions/1/rollback", &owner, &stale).0, 409);
        let (status, _, _) =
            app.form("/loyalty/versions/1/rollback", &owner, &[("csrf", &csrf), ("current", &current)]);
        assert_eq!(status, 303);
        assert_eq!(points_per_unit(&app), (3, "1".into()), "version 1's document applies as version 3");
        let (_, v) = app.admin("GET", "/api/v1/loyalty/program", None);
        assert_eq!(v["document"]["promotions"].as_array().map(Vec::len), Some(1));
        assert!(v["document"]["effective_from"].is_null(), "a rollback is in force from when it is applied");
        let (_, html) = app.page("/loyalty/editor/changes", &owner);
        assert!(html.contains("No changes."), "after applying, the draft is the version in force: {html}");
        assert_eq!(app.page("/loyalty/versions/9", &owner).0, 404);
    }
}

#[test]
fn the_json_tab_edits_the_same_draft_and_keeps_a_refused_document() {
    for app in apps() {
        assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(first())).0, 201);
        let marketer = session(&app, Role::Marketer, Language::En, "marketer@shop.example");
        let (_, html) = app.page("/loyalty/editor/json", &marketer);
        let csrf = csrf_in(&html);
        let seen = hidden(&html, "seen");
        let mut doc = first();
        doc["earning"]["minimum_order"] = json!("-5");
        let text = doc.to_string();
        let sent = |text: &str| [("csrf", csrf.clone()), ("document", text.to_string()), ("seen", seen.clone())];
        let form = |text: &str| {
            let fields = sent(text);
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.form("/loyalty/editor/json", &marketer, &fields)
        };
        let (status, _, html) = form(&text);
        assert_eq!(status, 422);
        assert!(html.contains("earning.minimum_order: must not be negative"), "{html}");
        assert!(html.contains("&quot;-5&quot;") || html.contains("\"-5\""), "the document stays: {html}");
        doc["earning"]["minimum_order"] = json!("800");
        doc["rewards"][0]["names"] = json!({"ja": "コーヒー1杯無料", "en": "Coffee on us"});
        let text = doc.to_string();
        let (status, _, _) = form(&text);
        assert_eq!(status, 303);
        let (_, html) = app.page("/loyalty/editor/earning", &marketer);
        assert!(html.contains(r#"name="earning.minimum_order" value="800.00""#), "the forms show it: {html}");
        let (_, html) = app.page("/loyalty/editor/rewards?edit=0", &marketer);
        assert!(html.contains(r#"name="names.ja" value="コーヒー1杯無料""#), "{html}");
        // Removing a reward a stamp card needs is refused above the form, nothing changed.
        let card = json!({"id": "card", "name": "Card", "stamps": 5, "reward": "coffee"});
        doc["stamp_cards"] = json!([card]);
        let text = doc.to_string();
        // The page this text was written on is older than the draft now (saved just above).
        let (status, _, html) = form(&text);
        assert_eq!(status, 422);
        assert!(html.contains("marketer@shop.example changed the draft after you opened this page"), "{html}");
        assert!(html.contains("&quot;card&quot;") || html.contains("\"card\""), "the text stays: {html}");
        // Another manager changes the earning while this one writes; saving over it is refused,
        // then done once the newer draft has been seen.
        let owner = session(&app, Role::Admin, Language::Ja, "owner@shop.example");
        let seen_now = hidden(&html, "seen");
        let (_, page) = app.page("/loyalty/editor/json", &owner);
        let mut theirs = doc.clone();
        theirs["earning"]["minimum_order"] = json!("900");
        let theirs = theirs.to_string();
        let (owner_csrf, owner_seen) = (csrf_in(&page), hidden(&page, "seen"));
        let fields = [("csrf", owner_csrf.as_str()), ("document", theirs.as_str()), ("seen", owner_seen.as_str())];
        assert_eq!(app.form("/loyalty/editor/json", &owner, &fields).0, 303);
        let stale = [("csrf", csrf.as_str()), ("document", text.as_str()), ("seen", seen_now.as_str())];
        let (status, _, html) = app.form("/loyalty/editor/json", &marketer, &stale);
        assert_eq!(status, 422);
        assert!(html.contains("owner@shop.example changed the draft after you opened this page"), "{html}");
        let (_, now) = app.page("/loyalty/editor/earning", &marketer);
        assert!(now.contains(r#"name="earning.minimum_order" value="900.00""#), "the owner's change stays: {now}");
        let again = [("csrf", csrf.as_str()), ("document", text.as_str()), ("seen", &hidden(&html, "seen"))];
        assert_eq!(app.form("/loyalty/editor/json", &marketer, &again).0, 303, "saved over it knowingly");
        let remove = [("csrf", csrf.as_str()), ("index", "0"), ("action", "remove")];
        let (status, _, html) = app.form("/loyalty/editor/rewards", &marketer, &remove);
        assert_eq!(status, 422);
        assert!(html.contains(r#"id="form-error""#) && html.contains("stamp_cards[0].reward"), "{html}");
        assert!(app.page("/loyalty/editor/rewards", &marketer).1.contains("(coffee)"));
        // Discarding the draft starts again from the version in force.
        assert_eq!(app.form("/loyalty/editor/discard", &marketer, &[("csrf", &csrf)]).0, 303);
        let (_, html) = app.page("/loyalty/editor/earning", &marketer);
        assert!(html.contains("The draft is the same."), "{html}");
    }
}

#[test]
fn names_show_in_the_viewers_language() {
    let app = start(enishi_store::testing::sqlite());
    let mut doc = first();
    doc["promotions"][0]["names"] = json!({"ja": "ブラックフライデー", "en": "Black Friday weekend"});
    doc["rewards"][0]["names"] = json!({"ja": "コーヒー1杯無料"});
    doc["tiers"]["levels"][0]["names"] = json!({"ja": "メンバー"});
    assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(doc)).0, 201);
    let (status, placed) = app.admin("POST", "/api/v1/orders", Some(order("N-1", "C-1", "57.40")));
    assert_eq!(status, 201, "{placed}");
    let profile = format!("/customers/{}", placed["customer_id"]);
    let ja = session(&app, Role::Admin, Language::Ja, "ja@shop.example");
    let en = session(&app, Role::Admin, Language::En, "en@shop.example");
    let (_, html) = app.page("/loyalty", &ja);
    assert!(html.contains("ブラックフライデー") && html.contains("コーヒー1杯無料"), "{html}");
    let (_, html) = app.page("/loyalty", &en);
    assert!(html.contains("Black Friday weekend") && html.contains("A free coffee"), "{html}");
    assert!(!html.contains("ブラックフライデー"), "{html}");
    let (_, html) = app.page(&profile, &ja);
    let card = html.split(r#"id="loyalty""#).nth(1).unwrap();
    assert!(card.contains("メンバー") && card.contains("ゴールド"), "tier and next tier: {card}");
    assert!(html.contains("コーヒー1杯無料"), "the reward offered: {html}");
    let (_, html) = app.page(&profile, &en);
    let card = html.split(r#"id="loyalty""#).nth(1).unwrap();
    assert!(card.contains("Member") && card.contains("Gold") && !card.contains("メンバー"), "{card}");
    let (_, html) = app.page("/loyalty/editor/tiers", &ja);
    assert!(html.contains("ゴールド") && html.contains("メンバー"), "{html}");
    let (_, html) = app.page("/loyalty/editor/promotions", &ja);
    assert!(html.contains("ブラックフライデー"), "{html}");
}

#[test]
fn staff_cannot_reach_the_editor() {
    let app = start(enishi_store::testing::sqlite());
    assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(first())).0, 201);
    let staff = app.session(Role::Staff);
    let csrf = csrf_in(&app.page("/account", &staff).1);
    for path in [
        "/loyalty/editor/earning",
        "/loyalty/editor/promotions?edit=0",
        "/loyalty/editor/json",
        "/loyalty/editor/preview?amount=1000",
        "/loyalty/editor/changes",
        "/loyalty/versions",
        "/loyalty/versions/1",
    ] {
        assert_eq!(app.page(path, &staff).0, 403, "{path}");
    }
    for path in [
        "/loyalty/editor/earning",
        "/loyalty/editor/json",
        "/loyalty/editor/apply",
        "/loyalty/editor/discard",
        "/loyalty/versions/1/rollback",
    ] {
        assert_eq!(app.form(path, &staff, &[("csrf", &csrf), ("index", ""), ("current", "1")]).0, 403, "{path}");
    }
    let (_, v) = app.admin("GET", "/api/v1/loyalty/program", None);
    assert_eq!(v["version"], 1, "nothing applied");
}

#[test]
fn segments_and_personal_offers_are_edited_in_forms_and_must_be_saved_segments() {
    for app in apps() {
        assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(first())).0, 201);
        let (status, _) =
            app.admin("POST", "/api/v1/segments", Some(json!({"name": "Regulars", "rule": "orders >= 3"})));
        assert_eq!(status, 201);
        let owner = session(&app, Role::Admin, Language::En, "owner@shop.example");
        let (_, html) = app.page("/loyalty/editor/rewards?edit=0", &owner);
        assert!(html.contains(r#"<option value="Regulars">Regulars</option>"#), "saved segments are offered: {html}");
        let csrf = csrf_in(&html);
        let reward = |segment: &'static str| {
            vec![
                ("csrf", csrf.as_str()),
                ("index", "0"),
                ("action", "save"),
                ("id", "coffee"),
                ("name", "A free coffee"),
                ("cost", "150"),
                ("kind", "free_item"),
                ("sku", "COFFEE"),
                ("segment", segment),
            ]
        };
        let (status, _, html) = app.form("/loyalty/editor/rewards", &owner, &reward("Gone"));
        assert_eq!(status, 422);
        assert!(html.contains(r#"id="f-segment-error""#) && html.contains("there is no saved segment named"), "{html}");
        assert_eq!(
            app.form("/loyalty/editor/rewards", &owner, &reward("Regulars")).1.as_deref(),
            Some("/loyalty/editor/rewards")
        );
        let offer = [
            ("csrf", csrf.as_str()),
            ("index", "new"),
            ("action", "save"),
            ("id", "thanks"),
            ("name", "Thank you coffee"),
            ("segment", "Regulars"),
            ("reward", "coffee"),
            ("product", ""),
        ];
        let (status, _, html) = app.form("/loyalty/editor/offers", &owner, &offer);
        assert_eq!(status, 303, "{html}");
        let (_, html) = app.page("/loyalty/editor/changes", &owner);
        let changes = html.split(r#"id="changes""#).nth(1).unwrap();
        assert!(changes.contains("Personal offers") && changes.contains("Thank you coffee"), "{changes}");
        let draft = hidden(&html, "draft");
        assert_eq!(app.form("/loyalty/editor/apply", &owner, &[("csrf", &csrf), ("draft", &draft)]).0, 303);
        let (_, v) = app.admin("GET", "/api/v1/loyalty/program", None);
        assert_eq!(v["document"]["rewards"][0]["segment"], "Regulars");
        assert_eq!(v["document"]["offers"][0]["reward"], "coffee");
    }
}

#[test]
fn a_quiet_time_is_suggested_with_its_cost_and_added_to_the_draft_in_one_click() {
    for db in enishi_store::testing::all() {
        // Monday 2026-12-07, noon UTC; four Tuesdays before it with orders at 10:00 and 12:00
        // (busy) and one at 11:00 (quiet).
        let app = start_at(db, enishi_core::ManualClock::at("2026-12-07T12:00:00Z".parse().unwrap()));
        assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(first())).0, 201);
        let owner = session(&app, Role::Admin, Language::Ja, "tencho@shop.example");
        let (status, html) = app.page("/loyalty/editor/suggestions", &owner);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("まだ注文が足りません"), "no orders yet: {html}");
        for (week, day) in ["10", "17", "24"].iter().chain(&["01"]).enumerate() {
            let month = if week < 3 { "11" } else { "12" };
            for (hour, total) in [("10", "5000"), ("11", "800"), ("12", "5000")] {
                let order = json!({"order_id": format!("Q-{week}-{hour}"), "placed_at": format!("2026-{month}-{day}T{hour}:00:00Z"),
                    "total": total, "customer": {"external_id": format!("Q{hour}")},
                    "lines": [{"sku": "COFFEE", "quantity": 1, "unit_price": total}]});
                assert_eq!(app.admin("POST", "/api/v1/orders", Some(order)).0, 201);
            }
        }
        let (status, html) = app.page("/loyalty/editor/suggestions", &owner);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("id=\"suggestions\""), "{html}");
        // Tuesday 10:00–13:00 is the only window (12 orders in 8 weeks): doubling it would have
        // given as many points again as its $43,200 of orders earned.
        assert!(html.contains("火曜 10時〜13時 ポイント2倍"), "named in Japanese: {html}");
        assert!(html.contains("週に1.5件"), "{html}");
        assert!(html.contains("12件の注文で43200ポイント増"), "its replayed cost: {html}");
        let csrf = csrf_in(&html);
        let form = [("csrf", csrf.as_str()), ("weekday", "tue"), ("from", "10"), ("until", "13")];
        let (status, location, _) = app.form("/loyalty/editor/suggestions", &owner, &form);
        assert_eq!((status, location.as_deref()), (303, Some("/loyalty/editor/promotions")));
        let (_, html) = app.page("/loyalty/editor/changes", &owner);
        assert!(html.contains("quiet-tue-10"), "the draft has the happy hour: {html}");
        assert_eq!(points_per_unit(&app).0, 1, "nothing applied");
        let bad = [("csrf", csrf.as_str()), ("weekday", "someday"), ("from", "10"), ("until", "13")];
        assert_eq!(app.form("/loyalty/editor/suggestions", &owner, &bad).0, 422);
        let staff = app.session(Role::Staff);
        assert_eq!(app.page("/loyalty/editor/suggestions", &staff).0, 403);
    }
}

#[test]
fn loyal_customers_are_suggested_a_thank_you_with_its_cost_over_http_and_in_one_click() {
    for db in enishi_store::testing::all() {
        let app = start_at(db, enishi_core::ManualClock::at("2026-12-07T12:00:00Z".parse().unwrap()));
        assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(first())).0, 201);
        for (n, (customer, total)) in [("L1", "1200"), ("L1", "800"), ("O2", "900")].iter().enumerate() {
            let order = json!({"order_id": format!("T-{n}"), "placed_at": format!("2026-11-1{n}T03:00:00Z"),
                "total": total, "customer": {"external_id": customer},
                "lines": [{"sku": "COFFEE", "quantity": 1, "unit_price": total}]});
            assert_eq!(app.admin("POST", "/api/v1/orders", Some(order)).0, 201);
        }
        let owner = session(&app, Role::Admin, Language::Ja, "tencho@shop.example");
        let (_, html) = app.page("/loyalty/editor/suggestions", &owner);
        assert!(html.contains("id=\"no-loyal-suggestion\"") && html.contains("ロイヤル顧客はまだいません"), "{html}");
        let (status, v) = app.admin("GET", "/api/v1/loyalty/suggestions/loyal", None);
        assert_eq!((status, v["code"].as_str()), (404, Some("not_found")), "{v}");

        // The analysis ranked L1 loyal.
        let store = enishi_store::Store::open(&app._db.url).unwrap();
        let l1 = store.read(|c| c.query_one("SELECT id FROM customers WHERE external_id = 'L1'", &[])?.int(0)).unwrap();
        store.write(|c| enishi_store::repo::scores::store_loyal_classes(c, &[(l1, "loyal")])).unwrap();

        let (status, v) = app.admin("GET", "/api/v1/loyalty/suggestions/loyal", None);
        assert_eq!(status, 200, "{v}");
        assert_eq!((v["members"].as_u64(), v["segment"]["saved"].as_bool()), (Some(1), Some(false)), "{v}");
        assert_eq!(v["segment"]["rule"], "loyal_class in (\"loyal\", \"semi_loyal\")");
        assert_eq!(v["cost"]["extra_points"], 2000, "L1's ¥2,000 doubled, O2's order not: {v}");
        assert_eq!(v["cost"]["orders"], 3);
        assert_eq!(app.admin("GET", "/api/v1/loyalty/suggestions/loyal?multiplier=11", None).0, 422);
        assert_eq!(app.call("GET", "/api/v1/loyalty/suggestions/loyal", Some(&app.staff), None).0, 403);
        // Its draft names a segment not saved yet: refused until it is.
        let (status, refused) = app.admin("PUT", "/api/v1/loyalty/program", Some(v["draft"].clone()));
        assert_eq!((status, refused["field"].as_str()), (422, Some("promotions[1].segment")), "{refused}");

        // In the console: shown with its cost, and added in one click, the segment saved.
        let (_, html) = app.page("/loyalty/editor/suggestions", &owner);
        let card = html.split("id=\"loyal-suggestion\"").nth(1).unwrap_or_else(|| panic!("{html}"));
        assert!(
            card.contains("ロイヤル顧客はポイント2倍") && card.contains("セグメント「Loyal and semi-loyal」"),
            "{card}"
        );
        assert!(card.contains("3 件の注文で 2000 ポイント多く"), "{card}");
        let csrf = csrf_in(&html);
        let (status, location, _) = app.form("/loyalty/editor/suggestions/loyal", &owner, &[("csrf", &csrf)]);
        assert_eq!((status, location.as_deref()), (303, Some("/loyalty/editor/promotions")));
        let (_, html) = app.page("/loyalty/editor/changes", &owner);
        assert!(html.contains("loyal-x2"), "the draft has it: {html}");
        assert_eq!(points_per_unit(&app).0, 1, "nothing applied");
        assert_eq!(app.admin("GET", "/api/v1/segments/Loyal%20and%20semi-loyal", None).0, 200, "the segment is saved");
        let (status, v) = app.admin("GET", "/api/v1/loyalty/suggestions/loyal", None);
        assert_eq!((status, v["segment"]["saved"].as_bool()), (200, Some(true)));
        assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(v["draft"].clone())).0, 201, "it applies now");
        let staff = app.session(Role::Staff);
        assert_eq!(app.form("/loyalty/editor/suggestions/loyal", &staff, &[("csrf", &csrf)]).0, 403);
    }
}

#[test]
fn a_form_opened_on_an_entry_changes_nothing_that_moved_since() {
    for app in apps() {
        let mut doc = first();
        doc["promotions"] = json!([
            {"id": "bf", "name": "Black Friday", "starts": "2026-11-27 18:00", "ends": "2026-11-29 18:00", "multiplier": "2"},
            {"id": "xmas", "name": "Christmas", "starts": "2026-12-20 00:00", "ends": "2026-12-26 00:00", "multiplier": "3"}
        ]);
        assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(doc)).0, 201);
        let marketer = session(&app, Role::Marketer, Language::En, "marketer@shop.example");
        let owner = session(&app, Role::Admin, Language::En, "owner@shop.example");
        // Both open the promotions; the owner removes Black Friday first.
        let (_, mine) = app.page("/loyalty/editor/promotions", &marketer);
        let (_, theirs) = app.page("/loyalty/editor/promotions", &owner);
        let first_row = |html: &str| hidden(html.split("data-index=\"0\"").nth(1).unwrap(), "entry");
        let (my_mark, their_mark) = (first_row(&mine), first_row(&theirs));
        assert!(!my_mark.is_empty() && my_mark == their_mark);
        let theirs_csrf = csrf_in(&theirs);
        let remove =
            [("csrf", theirs_csrf.as_str()), ("index", "0"), ("entry", their_mark.as_str()), ("action", "remove")];
        assert_eq!(app.form("/loyalty/editor/promotions", &owner, &remove).0, 303);
        // The marketer's remove of "the first one" would now remove Christmas: refused.
        let mine_csrf = csrf_in(&mine);
        let remove = [("csrf", mine_csrf.as_str()), ("index", "0"), ("entry", my_mark.as_str()), ("action", "remove")];
        let (status, _, html) = app.form("/loyalty/editor/promotions", &marketer, &remove);
        assert_eq!(status, 422);
        assert!(html.contains("This entry was changed, moved or removed since you opened the page"), "{html}");
        let (_, now) = app.page("/loyalty/editor/promotions", &marketer);
        assert!(now.contains("Christmas") && !now.contains("Black Friday"), "{now}");
        // Saved on the entry as it is now, the same form goes through.
        let fresh = first_row(&now);
        let remove = [("csrf", mine_csrf.as_str()), ("index", "0"), ("entry", fresh.as_str()), ("action", "remove")];
        assert_eq!(app.form("/loyalty/editor/promotions", &marketer, &remove).0, 303);
    }
}
