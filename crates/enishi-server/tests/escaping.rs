//! Every value a user can type reaches the console's pages escaped: a `<script>"'&` put into
//! each user-editable field through the API, the store and the console's forms never comes
//! back as markup on any page, for any role that can see it, while its escaped form does.

mod common;

use common::{start, App};
use enishi_core::{Language, Role};
use enishi_store::repo::users;
use enishi_store::testing;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

/// What every planted value carries: markup, both quotes and an ampersand.
const PAYLOAD: &str = "<script>\"'&";

/// A value for the field `tag`: `tag` then the payload, so that each field's escaped form can
/// be looked for on its own.
fn planted(tag: &str) -> String {
    format!("{tag}{PAYLOAD}")
}

/// How a planted value reads once escaped (the part both quote styles of escaping agree on).
fn escaped(tag: &str) -> String {
    format!("{tag}&lt;script&gt;")
}

/// The fields whose values the console shows somewhere: each must turn up escaped.
const SHOWN: &[&str] = &[
    "CustomerId",
    "CustomerName",
    "Line1",
    "Line2",
    "City",
    "Region",
    "Postal",
    "Country",
    "Locale",
    "ConsentSource",
    "OrderId",
    "Sku",
    "ProductName",
    "Subject",
    "Interaction",
    "AccountName",
    "Industry",
    "AccountRegion",
    "Programme",
    "Tier",
    "NextTier",
    "Promotion",
    "StampCard",
    "Reward",
    "AppliedBy",
    "UserName",
    "TokenLabel",
    "ImportFile",
    "ImportOrder",
    "ImportHeader",
    "ImportCell",
    "Search",
    "AdjustReason",
    "SegmentName",
    "SegmentDescription",
    "SegmentRule",
    "SnapshotLabel",
];

/// Fields the API or the store accepts but no page shows; planted all the same, so that a
/// page that starts showing one is checked too.
const STORED: &[&str] = &[
    "Tag",
    "AttributeKey",
    "AttributeValue",
    "Acquisition",
    "Category",
    "Campaign",
    "Step",
    "Variant",
    "Staff",
    "SizeBand",
    "ProductCategory",
];

/// A loyalty programme whose every name carries the payload.
fn programme() -> String {
    json!({
        "name": planted("Programme"),
        "effective_from": "2020-01-01",
        "earning": {"points_per_unit": "1"},
        "promotions": [{"id": "promo", "name": planted("Promotion"), "starts": "2020-01-01 00:00",
                        "ends": "2099-01-01 00:00", "multiplier": "2"}],
        "stamp_cards": [{"id": "card", "name": planted("StampCard"), "stamps": 10, "reward": "gift"}],
        "tiers": {"basis": "spend", "window": {"rolling_days": 365}, "levels": [
            {"id": "member", "name": planted("Tier"), "threshold": "0"},
            {"id": "gold", "name": planted("NextTier"), "threshold": "100000"}]},
        "rewards": [{"id": "gift", "name": planted("Reward"), "cost": 10, "kind": "discount", "value": "1.00",
                     "valid_days": 30}],
    })
    .to_string()
}

/// The anti-forgery token of the first form on a page.
fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or_default().to_string()
}

/// Percent-encodes a query value.
fn query(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Posts the console's order import with `file_name` and `csv`: the job page's path.
fn upload(app: &App, cookie: &str, csrf: &str, file_name: &str, csv: &str) -> String {
    let boundary = "----enishi-escaping";
    let escaped_name = file_name.replace('\\', "\\\\").replace('"', "\\\"");
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\ngeneric\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"skip_bad_rows\"\r\n\r\n1\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{escaped_name}\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let resp = agent
        .post(&format!("{}/imports", app.base))
        .set("Cookie", cookie)
        .set("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
        .send_string(&body)
        .expect("the upload is accepted");
    assert_eq!(resp.status(), 303);
    resp.header("location").expect("the job's page").to_string()
}

/// Plants the payload in every field; returns the planted customer's id.
fn plant(app: &App, admin: &str) -> i64 {
    let (s, account) = app.admin(
        "POST",
        "/api/v1/accounts",
        Some(json!({"external_id": "ACC-1", "name": planted("AccountName"), "industry": planted("Industry"),
                    "region": planted("AccountRegion"), "size_band": planted("SizeBand")})),
    );
    assert!(s == 200 || s == 201, "{account}");
    let (s, product) = app.admin(
        "POST",
        "/api/v1/products",
        Some(json!({"sku": planted("Sku"), "name": planted("ProductName"), "category": planted("ProductCategory")})),
    );
    assert!(s == 200 || s == 201, "{product}");
    let customer = json!({
        "external_id": planted("CustomerId"), "name": planted("CustomerName"), "email": "q\"'&x@shop.example",
        "locale": planted("Locale"), "acquisition_source": planted("Acquisition"),
        "address": {"line1": planted("Line1"), "line2": planted("Line2"), "city": planted("City"),
                    "region": planted("Region"), "postal_code": planted("Postal"), "country": planted("Country")},
        "tags": [planted("Tag")], "attributes": {planted("AttributeKey"): planted("AttributeValue")},
        "consents": {"email": {"status": "opted_in", "source": planted("ConsentSource")}},
        "account_id": account["id"],
    });
    let (s, c) = app.admin("POST", "/api/v1/customers", Some(customer));
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_i64().expect("the customer's id");
    // The planted customer buys only PLAIN; two others buy both, so the planted product is
    // what the planted customer is likely to buy next.
    for n in ["1", "2"] {
        let order = json!({"order_id": format!("{}-{n}", planted("OrderId")), "placed_at": "2026-11-10 10:00",
            "customer": {"external_id": planted("CustomerId")},
            "lines": [{"sku": "PLAIN", "quantity": 1, "unit_price": "30.00", "category": planted("Category"),
                       "product_name": planted("ProductName")}]});
        let (s, o) = app.admin("POST", "/api/v1/orders", Some(order));
        assert_eq!(s, 201, "{o}");
    }
    for (n, customer) in [("3", "OTHER-1"), ("4", "OTHER-2")] {
        let lines = json!([{"sku": planted("Sku"), "quantity": 1, "unit_price": "5.00"},
                           {"sku": "PLAIN", "quantity": 1, "unit_price": "5.00"}]);
        let order = json!({"order_id": format!("O-{n}"), "placed_at": "2026-11-11 10:00",
                           "customer": {"external_id": customer}, "lines": lines});
        assert_eq!(app.admin("POST", "/api/v1/orders", Some(order)).0, 201);
    }
    let (s, v) = app.admin(
        "POST",
        &format!("/api/v1/customers/{id}/communications"),
        Some(json!({"channel": "email", "subject": planted("Subject"), "campaign": planted("Campaign"),
                    "step": planted("Step"), "variant": planted("Variant"), "status": "delivered"})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = app.admin(
        "POST",
        &format!("/api/v1/customers/{id}/interactions"),
        Some(json!({"kind": "complaint", "body": planted("Interaction"), "staff": planted("Staff")})),
    );
    assert_eq!(s, 201, "{v}");
    // The console's own forms: an interaction, a points adjustment, an API token.
    let page = app.page(&format!("/customers/{id}"), admin).1;
    let csrf = csrf_in(&page);
    let fields = [("csrf", csrf.as_str()), ("kind", "note"), ("body", &planted("Interaction"))];
    assert_eq!(app.form(&format!("/customers/{id}/interactions"), admin, &fields).0, 303);
    let fields = [("csrf", csrf.as_str()), ("key", "k-1"), ("points", "50"), ("reason", &planted("AdjustReason"))];
    assert_eq!(app.form(&format!("/customers/{id}/adjustments"), admin, &fields).0, 303);
    let fields = [("csrf", csrf.as_str()), ("key", "k-2"), ("reward", "gift")];
    assert_eq!(app.form(&format!("/customers/{id}/redemptions"), admin, &fields).0, 303);
    let fields = [("csrf", csrf.as_str()), ("role", "staff"), ("label", &planted("TokenLabel"))];
    assert_eq!(app.form("/tokens", admin, &fields).0, 201);
    // A segment saved in the builder, its rule's value and its snapshot's label planted too.
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", &planted("SegmentName")),
        ("description", &planted("SegmentDescription")),
        ("g.0", "all"),
        ("f.0.0", "tag"),
        ("o.0.0", "!="),
        ("v.0.0", &planted("SegmentRule")),
        ("do", "save"),
    ];
    let (status, _, html) = app.form("/segments/new", admin, &fields);
    assert_eq!(status, 303, "{html}");
    let path = format!("/segments/{}/snapshots", query(&planted("SegmentName")));
    assert_eq!(app.form(&path, admin, &[("csrf", csrf.as_str()), ("label", &planted("SnapshotLabel"))]).0, 303);
    id
}

/// Every GET page of the console with real ids, and who may see it.
fn pages(id: i64, job: &str, map: &str) -> Vec<(String, &'static [Role])> {
    const ALL: &[Role] = &[Role::Admin, Role::Marketer, Role::Staff];
    const MANAGERS: &[Role] = &[Role::Admin, Role::Marketer];
    const OWNERS: &[Role] = &[Role::Admin];
    let search = query(&planted("Search"));
    vec![
        ("/".into(), MANAGERS),
        ("/till".into(), ALL),
        (format!("/till?q={search}"), ALL),
        ("/customers".into(), MANAGERS),
        (format!("/customers?q={}", query(&planted("CustomerName"))), ALL),
        (format!("/customers?q={search}&stage={search}&segment={search}"), ALL),
        (format!("/customers/{id}"), ALL),
        (format!("/customers/{id}?recorded={}&earned=5", query(&planted("Flash"))), ALL),
        (format!("/customers/{id}?recorded={}", query(&planted("Flash"))), ALL),
        (format!("/customers/{id}?done={search}"), ALL),
        ("/analytics".into(), MANAGERS),
        ("/loyalty".into(), MANAGERS),
        ("/loyalty/editor/earning".into(), MANAGERS),
        ("/loyalty/editor/promotions".into(), MANAGERS),
        ("/loyalty/editor/promotions?edit=0".into(), MANAGERS),
        ("/loyalty/editor/stamp-cards?edit=0".into(), MANAGERS),
        ("/loyalty/editor/tiers?edit=1".into(), MANAGERS),
        ("/loyalty/editor/rewards?edit=0".into(), MANAGERS),
        ("/loyalty/editor/json".into(), MANAGERS),
        ("/loyalty/editor/changes".into(), MANAGERS),
        (format!("/loyalty/editor/preview?amount=100&tier=member&lines={search}%2C+c%2C+1%2C+100"), MANAGERS),
        ("/loyalty/editor/preview?amount=100&tier=member&at=2050-01-01+10%3A00".into(), MANAGERS),
        ("/loyalty/versions".into(), MANAGERS),
        ("/loyalty/versions/1".into(), MANAGERS),
        ("/imports".into(), MANAGERS),
        (job.to_string(), OWNERS),
        (map.to_string(), OWNERS),
        ("/users".into(), OWNERS),
        (format!("/users?done={search}"), OWNERS),
        ("/tokens".into(), OWNERS),
        ("/settings".into(), OWNERS),
        ("/audit".into(), OWNERS),
        ("/account".into(), ALL),
        ("/segments".into(), MANAGERS),
        ("/segments?pairs=1".into(), MANAGERS),
        (format!("/segments?saved={search}&snapshot={search}"), MANAGERS),
        ("/segments/new".into(), MANAGERS),
        (format!("/segments/new?preset=0&a={}&b={search}", query(&planted("Sku"))), MANAGERS),
        (format!("/segments/{}", query(&planted("SegmentName"))), MANAGERS),
        (format!("/customers?saved={}", query(&planted("SegmentName"))), MANAGERS),
        ("/login".into(), ALL),
    ]
}

/// Fails on markup from a planted value in `html`; adds to `seen` the fields shown escaped.
fn check(what: &str, html: &str, seen: &mut BTreeSet<&'static str>) {
    // The segment builder's own script file is the one script element a page may have.
    let html = &html.replace("<script src=\"/segments.js\" defer></script>", "");
    assert!(!html.contains("<script"), "{what} shows a planted value as markup:\n{html}");
    assert!(!html.contains("\"'&"), "{what} shows a planted value's quotes unescaped:\n{html}");
    for tag in SHOWN.iter().chain(STORED) {
        if html.contains(&escaped(tag)) {
            seen.insert(tag);
        }
    }
}

#[test]
fn every_user_value_is_escaped_on_every_console_page() {
    for db in testing::all() {
        let url = db.url.clone();
        let doc = programme();
        db.store
            .write(|c| {
                enishi_rewards::apply_program(c, &doc, enishi_core::BusinessClock::default(), &planted("AppliedBy"))
            })
            .expect("the planted programme applies");
        let app = start(db);
        // Users named with the payload, one per role (the header shows the visitor's name).
        let store = enishi_store::Store::open(&url).expect("the test's store");
        let cookies: Vec<(Role, String)> = [Role::Admin, Role::Marketer, Role::Staff]
            .into_iter()
            .map(|role| {
                let email = format!("{role}-escaping@shop.example");
                store
                    .write(|c| users::create(c, &email, &planted("UserName"), role, Language::En, common::PASSWORD))
                    .expect("a user named with the payload");
                (role, app.sign_in(&email, common::PASSWORD).expect("signed in"))
            })
            .collect();
        let admin = &cookies[0].1;
        let id = plant(&app, admin);
        // Scores, lifecycle stages and recommendations, as the daily job makes them.
        let state = enishi_server::AppState::new(Arc::new(store)).expect("a second server state");
        let ticker = enishi_server::scheduler::Ticker::new(std::time::Duration::from_secs(60));
        let tick = enishi_server::scheduler::tick(&state, chrono::Utc::now().timestamp(), &ticker);
        assert!(tick.errors.is_empty(), "{:?}", tick.errors);
        // An import whose file name and rejected order id carry the payload.
        let csv = format!(
            "order_id,customer_id,placed_at,sku,quantity,unit_price\n\"{}\",C-9,2026-11-10 10:00,S-1,one,1.00\n",
            planted("ImportOrder").replace('"', "\"\"")
        );
        let csrf = csrf_in(&app.page("/imports", admin).1);
        let job = upload(&app, admin, &csrf, &planted("ImportFile"), &csv);
        // A file whose header and cell the mapping screen shows.
        let quote = |t: &str| format!("\"{}\"", planted(t).replace('"', "\"\""));
        let csv = format!("{},sku\n{},S-1\n", quote("ImportHeader"), quote("ImportCell"));
        let map = upload(&app, admin, &csrf, "map.csv", &csv);
        assert!(map.starts_with("/imports/map/"), "{map}");

        // A draft of the programme that differs from it, so that the changes name its entries.
        let mut draft: serde_json::Value = serde_json::from_str(&programme()).unwrap();
        draft["promotions"][0]["multiplier"] = json!("3");
        draft["tiers"]["levels"][1]["threshold"] = json!("200000");
        let json_tab = app.page("/loyalty/editor/json", admin).1;
        let csrf = csrf_in(&json_tab);
        let seen =
            json_tab.split("name=\"seen\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or_default();
        let fields = [("csrf", csrf.as_str()), ("document", &draft.to_string()), ("seen", seen)];
        assert_eq!(app.form("/loyalty/editor/json", admin, &fields).0, 303);

        let mut seen = BTreeSet::new();
        for (path, roles) in pages(id, &job, &map) {
            for (role, cookie) in &cookies {
                let (status, html) = app.page(&path, cookie);
                let allowed = roles.contains(role);
                assert!(status == 200 || !allowed, "GET {path} as {role}: {status}\n{html}");
                check(&format!("GET {path} as {role}"), &html, &mut seen);
            }
        }
        // The answers to refused forms echo what was sent.
        let csrf = csrf_in(&app.page("/account", admin).1);
        let answers = [
            ("/loyalty/editor/json", vec![("document", format!("{{\"name\": 5, \"{}\": 1}}", planted("Programme")))]),
            (
                "/loyalty/editor/promotions",
                vec![
                    ("index", "new".into()),
                    ("action", "save".into()),
                    ("id", planted("Promotion")),
                    ("name", planted("Promotion")),
                    ("names.ja", planted("Promotion")),
                    ("multiplier", planted("Promotion")),
                    ("repeat.weekdays", planted("Promotion")),
                ],
            ),
            (
                "/loyalty/editor/rewards",
                vec![("index", "0".into()), ("action", "save".into()), ("id", planted("Reward"))],
            ),
            ("/settings", vec![("time_zone", planted("Region")), ("currency", planted("Country"))]),
            (
                "/users",
                vec![
                    ("email", planted("UserName")),
                    ("name", planted("UserName")),
                    ("role", "staff".into()),
                    ("language", "en".into()),
                    ("password", "long enough password".into()),
                ],
            ),
            (&format!("/customers/{id}/erase"), vec![("confirm", planted("CustomerId") + "x")]),
            (
                "/segments/new",
                vec![
                    ("name", planted("SegmentName")),
                    ("description", planted("SegmentDescription")),
                    ("text", planted("SegmentRule")),
                    ("do", "save".into()),
                ],
            ),
            (
                "/segments/new",
                vec![
                    ("name", planted("SegmentName")),
                    ("g.0", "all".into()),
                    ("f.0.0", planted("SegmentRule")),
                    ("a.0.0", planted("SegmentRule")),
                    ("o.0.0", "=".into()),
                    ("v.0.0", planted("SegmentRule")),
                    ("do", "save".into()),
                ],
            ),
            (&format!("/segments/{}/snapshots", query(&planted("SegmentName"))), vec![("label", " ".into())]),
        ];
        for (path, fields) in &answers {
            let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
            form.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
            let (status, _, html) = app.form(path, admin, &form);
            assert!(status >= 400, "POST {path} is refused: {status}");
            check(&format!("POST {path}"), &html, &mut seen);
        }
        // A staff sale above the limit asks a manager, repeating the sale as typed.
        let staff = &cookies[2].1;
        let csrf = csrf_in(&app.page(&format!("/customers/{id}"), staff).1);
        let form = [
            ("csrf", csrf.as_str()),
            ("amount", "100000"),
            ("sku", &planted("Sku")),
            ("category", &planted("Category")),
        ];
        let (status, _, html) = app.form(&format!("/customers/{id}/purchases"), staff, &form);
        assert_eq!(status, 200, "{html}");
        check("the till's question about an unusual sale", &html, &mut seen);
        let mut form = form.to_vec();
        form.push(("confirmed", "100000"));
        let (status, _, html) = app.form(&format!("/customers/{id}/purchases"), staff, &form);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("id=\"manager-confirmation\""), "{html}");
        check("the manager's confirmation", &html, &mut seen);

        let missing: Vec<&&str> = SHOWN.iter().filter(|t| !seen.contains(*t)).collect();
        assert!(missing.is_empty(), "fields never shown escaped (so never checked): {missing:?}");
    }
}
