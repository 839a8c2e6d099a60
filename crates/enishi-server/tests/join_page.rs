//! The public join page through the HTTP server, on SQLite and PostgreSQL: a new customer
//! confirmed by the link in an email read back from a real SMTP server, an existing customer
//! matched by email and by phone (and never told), a bot filling the hidden field, a flood
//! from one address, hostile input in every field, expired and tampered confirmation links,
//! and the console's printable QR code — each as stated, with nothing half-created.

mod common;
#[allow(dead_code)] // the SMTP server only; not the header helper
#[path = "../../enishi-campaigns/tests/support/mod.rs"]
mod smtp;

use chrono::TimeZone;
use enishi_campaigns::email::SmtpConfig;
use enishi_campaigns::joins::{self, deliver, Delivered};
use enishi_campaigns::links::{self, Purpose};
use enishi_core::{Clock, ConsentChannel, ConsentStatus, ManualClock, Role};
use enishi_store::repo::{customers, settings};
use enishi_store::testing::TestDb;
use enishi_store::{params, Store};
use serde_json::json;
use std::sync::Arc;

/// 2026-12-03 14:05 in Tokyo.
fn t0() -> ManualClock {
    ManualClock::at(chrono::Utc.with_ymd_and_hms(2026, 12, 3, 5, 5, 0).unwrap())
}

/// A server over `db` at `clock`, in Tokyo, with a shop name, a public address and a
/// programme whose join perk is 100 points and a coupon.
fn shop(db: TestDb, clock: &ManualClock) -> (common::App, Store) {
    db.store
        .write(|c| {
            settings::set(c, settings::TIME_ZONE, "Asia/Tokyo")?;
            settings::set(c, enishi_campaigns::campaigns::SHOP_NAME, "Corner Coffee")?;
            settings::set(c, "public_url", "https://shop.example")
        })
        .unwrap();
    let app = common::start_at(db, clock.clone());
    let store = Store::open(&app._db.url).unwrap().with_clock(Arc::new(clock.clone()));
    let mut program = json!({"name": "Classic", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
        "rewards": [{"id": "welcome-coffee", "name": "A free coffee", "cost": 0, "kind": "free_item", "sku": "COFFEE", "valid_days": 30}]});
    program["join"] = json!({});
    assert_eq!(app.admin("PUT", "/api/v1/loyalty/program", Some(program.clone())).0, 422, "a perk of nothing");
    program["join"] = json!({"points": 100, "reward": "welcome-coffee"});
    let (status, body) = app.admin("PUT", "/api/v1/loyalty/program", Some(program));
    assert_eq!(status, 201, "{body}");
    (app, store)
}

fn count(store: &Store, sql: &str) -> i64 {
    store.read(|c| c.query_one(sql, &[])?.int(0)).unwrap()
}

/// Everything a sign-up may write, counted: customers, sign-ups, queued jobs, consents,
/// ledger entries, coupons and audit lines.
fn written(store: &Store) -> [i64; 7] {
    [
        "SELECT COUNT(*) FROM customers",
        "SELECT COUNT(*) FROM join_requests",
        "SELECT COUNT(*) FROM jobs WHERE kind = 'join.confirm'",
        "SELECT COUNT(*) FROM consent_log",
        "SELECT COUNT(*) FROM loyalty_ledger",
        "SELECT COUNT(*) FROM loyalty_coupons",
        "SELECT COUNT(*) FROM audit_log WHERE action = 'customers.join'",
    ]
    .map(|sql| count(store, sql))
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> (u16, String, Option<String>) {
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let retry = resp.header("retry-after").map(String::from);
    (resp.status(), resp.into_string().unwrap_or_default(), retry)
}

/// POSTs a form to `path` from the address `ip`: (status, HTML).
fn post(app: &common::App, path: &str, ip: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let (s, html, _) = answer(agent.post(&format!("{}{path}", app.base)).set("X-Forwarded-For", ip).send_form(fields));
    (s, html)
}

/// GETs `path` from `ip` with the browser language `accept`.
fn get(app: &common::App, path: &str, ip: &str, accept: &str) -> (u16, String) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let r = agent.get(&format!("{}{path}", app.base)).set("X-Forwarded-For", ip).set("Accept-Language", accept);
    let (s, html, _) = answer(r.call());
    (s, html)
}

/// Hanako's sign-up in Japanese, with `email` and the email consent.
fn hanako(email: &str) -> Vec<(&str, &str)> {
    vec![
        ("lang", "ja"),
        ("name", "佐藤 花子"),
        ("furigana", "サトウ ハナコ"),
        ("email", email),
        ("phone", ""),
        ("birthday_month", "12"),
        ("channel", "email"),
        ("website", ""),
    ]
}

/// The text part of a message, decoded (quoted-printable or base64).
fn text_part(data: &str) -> String {
    let part = data.split("Content-Type: text/plain").nth(1).expect("a text part");
    let (head, body) = part.split_once("\r\n\r\n").expect("a part body");
    let body = body.split("\r\n--").next().unwrap();
    if head.contains("base64") {
        use base64::Engine;
        let joined: String = body.split_whitespace().collect();
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(joined).unwrap()).unwrap()
    } else if head.contains("quoted-printable") {
        let soft = body.replace("=\r\n", "");
        let bytes = soft.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                out.push(u8::from_str_radix(&soft[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    } else {
        body.to_string()
    }
}

/// Sends the queued confirmations through a real SMTP server; the confirmation link's path
/// of each message, by recipient.
fn send_confirmations(store: &Store, expected: usize) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let server = smtp::SmtpServer::start(dir.path(), &[]);
    let config = SmtpConfig::parse(&format!("smtp://127.0.0.1:{}", server.port)).unwrap();
    let d = deliver(store, &config, "Corner Coffee <shop@corner.example>", "w1").unwrap();
    assert_eq!(d, Delivered { claimed: expected, sent: expected, failed: 0 });
    server
        .received()
        .iter()
        .map(|m| {
            let data = m["data"].as_str().unwrap();
            let text = text_part(data);
            let link = text.split("https://shop.example").nth(1).expect("the link").split_whitespace().next().unwrap();
            (m["to"][0].as_str().unwrap().to_string(), link.to_string())
        })
        .collect()
}

fn customer_by_email(store: &Store, email: &str) -> enishi_store::Customer {
    let id = count(store, &format!("SELECT id FROM customers WHERE email = '{email}'"));
    store.read(|c| customers::get(c, id)).unwrap().unwrap()
}

fn consent(k: &enishi_store::Customer, channel: ConsentChannel) -> Option<(ConsentStatus, String)> {
    k.consents.iter().find(|x| x.channel == channel).map(|x| (x.status, x.source.clone()))
}

#[test]
fn a_new_customer_joins_once_their_email_is_confirmed_by_the_link_sent() {
    for db in enishi_store::testing::all() {
        let clock = t0();
        let (app, store) = shop(db, &clock);

        // The form: in the language asked for, with each channel's wording, phone width first,
        // styled only by the stylesheet, the hidden field hidden by it.
        let (status, html) = get(&app, "/join", "198.51.100.1", "en-US,en;q=0.9");
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("lang=\"en\"") && html.contains("Join our members"), "{html}");
        assert!(html.contains("I agree to receive news and offers from Corner Coffee by email"), "{html}");
        let (_, html) = get(&app, "/join?lang=ja", "198.51.100.1", "en-US");
        assert!(html.contains("lang=\"ja\"") && html.contains("会員登録"), "{html}");
        assert!(html.contains("Corner Coffeeからのお知らせや特典をメールで受け取ることに同意します"), "{html}");
        assert!(html.contains("name=\"viewport\"") && html.contains("/public.css"), "{html}");
        assert!(html.contains("class=\"hp\"") && !html.contains("style="), "{html}");
        let (_, css) = get(&app, "/public.css", "198.51.100.1", "");
        assert!(css.contains(".hp{"), "{css}");

        // The sign-up: nothing is recorded but the request and its email.
        let (status, html) = post(&app, "/join", "198.51.100.1", &hanako("hana@example.com"));
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("メールをご確認ください") && html.contains("lang=\"ja\""), "{html}");
        assert_eq!(written(&store), [0, 1, 1, 0, 0, 0, 0]);

        let sent = send_confirmations(&store, 1);
        assert_eq!(sent[0].0, "hana@example.com");
        let path = sent[0].1.clone();
        assert!(path.starts_with("/join/confirm/"), "{path}");

        // Opening the link asks (a mail scanner's fetch changes nothing).
        let (status, html) = get(&app, &path, "198.51.100.2", "");
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("確認して登録する"), "{html}");
        assert_eq!(written(&store)[0], 0);

        // Confirmed two minutes later: the customer, the consent with its source, the perk.
        clock.advance(chrono::Duration::seconds(120));
        let (status, html) = post(&app, &path, "198.51.100.2", &[]);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("登録が完了しました") && html.contains("id=\"welcome\""), "{html}");
        assert!(html.contains("100") && html.contains("初回のお買い物で使えるクーポン"), "{html}");
        let k = customer_by_email(&store, "hana@example.com");
        assert_eq!(k.name.as_deref(), Some("佐藤 花子"));
        assert_eq!(k.furigana.as_deref(), Some("サトウ ハナコ"));
        assert_eq!(k.locale.as_deref(), Some("ja"));
        assert_eq!(k.acquisition_source.as_deref(), Some("join_page"));
        assert_eq!(k.attributes.get("birthday_month"), Some(&json!(12)));
        assert_eq!(
            consent(&k, ConsentChannel::Email),
            Some((ConsentStatus::OptedIn, "join page, 2026-12-03 14:05, confirmed 14:07".into()))
        );
        assert_eq!(consent(&k, ConsentChannel::Sms), None, "only what was ticked");
        let ledger = store
            .read(|c| {
                c.query_one(
                    "SELECT points, source, kind, idempotency_key FROM loyalty_ledger WHERE customer_id = $1",
                    params![k.id],
                )
                .map(|r| (r.int(0).unwrap(), r.text(1).unwrap(), r.text(2).unwrap(), r.text(3).unwrap()))
            })
            .unwrap();
        assert_eq!(ledger, (100, "join".into(), "bonus".into(), format!("join:{}", k.id)));
        let coupon = count(&store, &format!("SELECT COUNT(*) FROM loyalty_coupons WHERE customer_id = {} AND source = 'join' AND reward_id = 'welcome-coffee'", k.id));
        assert_eq!(coupon, 1);
        assert_eq!(written(&store), [1, 1, 1, 1, 1, 1, 1]);
        // The sign-up keeps only whom it made.
        let kept = count(
            &store,
            &format!(
                "SELECT COUNT(*) FROM join_requests WHERE customer_id = {} AND email IS NULL AND form = '{{}}'",
                k.id
            ),
        );
        assert_eq!(kept, 1);

        // A second click changes nothing.
        let (status, html) = post(&app, &path, "198.51.100.2", &[]);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("すでに確認済み") && !html.contains("id=\"welcome\""), "{html}");
        assert_eq!(written(&store), [1, 1, 1, 1, 1, 1, 1]);

        // The web shop's own form (another origin, no cookie, no script) is taken the same way.
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let r = agent
            .post(&format!("{}/join", app.base))
            .set("Origin", "https://webshop.example")
            .set("X-Forwarded-For", "198.51.100.3")
            .send_form(&[("lang", "en"), ("name", "Ken"), ("email", "ken@example.com"), ("channel", "email")]);
        let (status, html, _) = answer(r);
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("Please check your email"), "{html}");
    }
}

#[test]
fn an_existing_customer_is_matched_by_email_or_phone_and_never_told_so() {
    for db in enishi_store::testing::all() {
        let clock = t0();
        let (app, store) = shop(db, &clock);
        store
            .write(|c| {
                c.execute(
                    "INSERT INTO customers (external_id, name, email, phone, first_seen_at, created_at, updated_at) \
                     VALUES ('C1', 'Hana', 'hana@example.com', '09012345678', 0, 0, 0)",
                    &[],
                )
            })
            .unwrap();
        let c1 = count(&store, "SELECT id FROM customers WHERE external_id = 'C1'");
        let before = written(&store);

        // By email (another case): the answer is the one an unknown address gets.
        let (s1, known) = post(&app, "/join", "203.0.113.1", &hanako("HANA@Example.com"));
        let (s2, unknown) = post(&app, "/join", "203.0.113.2", &hanako("nobody@example.com"));
        assert_eq!((s1, &known), (s2, &unknown), "the same page either way");
        let sent = send_confirmations(&store, 2);
        let (_, path) = sent.iter().find(|(to, _)| to.eq_ignore_ascii_case("hana@example.com")).unwrap();
        let (status, html) = post(&app, path, "203.0.113.1", &[]);
        assert_eq!(status, 200, "{html}");
        let k = store.read(|c| customers::get(c, c1)).unwrap().unwrap();
        assert_eq!(k.name.as_deref(), Some("Hana"), "what the record has stays");
        assert_eq!(k.furigana.as_deref(), Some("サトウ ハナコ"), "what it lacked is filled in");
        assert_eq!(consent(&k, ConsentChannel::Email).unwrap().0, ConsentStatus::OptedIn);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM customers"), before[0], "matched, not duplicated");
        assert_eq!(
            count(&store, &format!("SELECT COUNT(*) FROM loyalty_ledger WHERE customer_id = {c1}")),
            0,
            "no perk"
        );

        // By phone, written another way: registered at once, on the same record.
        let by_phone =
            [("lang", "en"), ("name", "Someone"), ("phone", "090-1234-5678"), ("channel", "sms"), ("website", "")];
        let (s1, known) = post(&app, "/join", "203.0.113.3", &by_phone);
        let unknown_phone =
            [("lang", "en"), ("name", "Someone"), ("phone", "080 0000 1111"), ("channel", "sms"), ("website", "")];
        let (s2, unknown) = post(&app, "/join", "203.0.113.4", &unknown_phone);
        assert_eq!((s1, &known), (s2, &unknown), "the same page either way");
        assert!(known.contains("Thank you for joining"), "{known}");
        let k = store.read(|c| customers::get(c, c1)).unwrap().unwrap();
        assert_eq!(k.name.as_deref(), Some("Hana"));
        assert_eq!(
            consent(&k, ConsentChannel::Sms),
            Some((ConsentStatus::OptedIn, "join page, 2026-12-03 14:05".into()))
        );
        assert_eq!(count(&store, "SELECT COUNT(*) FROM customers WHERE phone = '09012345678'"), 1);
        // The unknown phone made one new customer, with the perk.
        let new = count(&store, "SELECT id FROM customers WHERE phone = '+818000001111'");
        assert_eq!(count(&store, &format!("SELECT COUNT(*) FROM loyalty_ledger WHERE customer_id = {new}")), 1);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM customers"), before[0] + 1);

        // Erasing the customer deletes their sign-ups, also one still waiting for its email.
        assert_eq!(post(&app, "/join", "203.0.113.5", &hanako("hana@example.com")).0, 200);
        let hers = "SELECT COUNT(*) FROM join_requests WHERE lower(email) = 'hana@example.com'";
        assert_eq!(count(&store, hers), 1);
        let now = clock.now().timestamp();
        assert!(store.write(|c| enishi_store::repo::privacy::erase(c, c1, now)).unwrap());
        assert_eq!(count(&store, hers), 0);
        assert_eq!(count(&store, &format!("SELECT COUNT(*) FROM join_requests WHERE customer_id = {c1}")), 0);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM join_requests WHERE email = 'nobody@example.com'"), 1);
    }
}

#[test]
fn a_bot_that_fills_the_hidden_field_gets_the_same_answer_and_nothing_is_written() {
    for db in enishi_store::testing::all() {
        let clock = t0();
        let (app, store) = shop(db, &clock);
        let before = written(&store);
        let mut bot = hanako("bot@example.com");
        bot.retain(|(k, _)| *k != "website");
        bot.push(("website", "http://spam.example"));
        let (status, html) = post(&app, "/join", "192.0.2.1", &bot);
        let (_, person) = post(&app, "/join", "192.0.2.2", &hanako("person@example.com"));
        assert_eq!(status, 200);
        assert_eq!(html, person, "the same page");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM join_requests WHERE email = 'bot@example.com'"), 0);
        let after = written(&store);
        assert_eq!(after, [before[0], before[1] + 1, before[2] + 1, before[3], before[4], before[5], before[6]]);
        // A bot by phone alike.
        let bot = [("name", "Bot"), ("phone", "0311112222"), ("website", "x")];
        let (status, _) = post(&app, "/join", "192.0.2.1", &bot);
        assert_eq!(status, 200);
        assert_eq!(written(&store), after);
    }
}

#[test]
fn a_flood_from_one_address_is_refused_and_one_address_gets_one_email_at_a_time() {
    let clock = t0();
    let (app, store) = shop(enishi_store::testing::sqlite(), &clock);
    for n in 0..5 {
        let email = format!("p{n}@example.com");
        assert_eq!(post(&app, "/join", "198.51.100.50", &hanako(&email)).0, 200);
    }
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let r = agent
        .post(&format!("{}/join", app.base))
        .set("X-Forwarded-For", "198.51.100.50")
        .send_form(&hanako("p5@example.com"));
    let (status, html, retry) = answer(r);
    assert_eq!(status, 429, "{html}");
    assert!(retry.is_some() && html.contains("Too many requests"), "{html}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM join_requests"), 5, "the refused one wrote nothing");
    assert_eq!(post(&app, "/join", "198.51.100.51", &hanako("p5@example.com")).0, 200, "another address");
    // The same address again within ten minutes: the same answer, no second email.
    assert_eq!(post(&app, "/join", "198.51.100.52", &hanako("p5@example.com")).0, 200);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs WHERE kind = 'join.confirm'"), 6);
}

#[test]
fn hostile_input_is_refused_or_shown_escaped_and_nothing_is_half_created() {
    for db in enishi_store::testing::all() {
        let clock = t0();
        let (app, store) = shop(db, &clock);
        let before = written(&store);
        let x = "<script>alert(1)</script>";
        let every = [
            ("lang", x),
            ("name", x),
            ("furigana", x),
            ("email", x),
            ("phone", x),
            ("birthday_month", x),
            ("channel", x),
            ("website", ""),
        ];
        let (status, html) = post(&app, "/join", "192.0.2.10", &every);
        assert_eq!(status, 422, "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "what was typed is shown escaped: {html}");
        assert!(html.contains("id=\"join-errors\""), "{html}");
        // A NUL byte is refused before the page sees it; too long a name, too big a form.
        assert_eq!(post(&app, "/join", "192.0.2.10", &[("name", "a\0b"), ("phone", "0311112222")]).0, 422);
        let long = "あ".repeat(joins::MAX_NAME_CHARS + 1);
        assert_eq!(post(&app, "/join", "192.0.2.11", &[("name", &long), ("phone", "0311112222")]).0, 422);
        let huge = "x".repeat(40_000);
        assert_eq!(
            post(&app, "/join", "192.0.2.11", &[("name", "Ken"), ("phone", "0311112222"), ("note", &huge)]).0,
            413
        );
        assert_eq!(written(&store), before, "nothing written");

        // Script tags in the name alone are a name: stored as typed, shown escaped.
        let (status, html) =
            post(&app, "/join", "192.0.2.12", &[("name", x), ("furigana", x), ("phone", "0311112222")]);
        assert_eq!(status, 200, "{html}");
        let id = count(&store, "SELECT id FROM customers WHERE phone = '+81311112222'");
        let k = store.read(|c| customers::get(c, id)).unwrap().unwrap();
        assert_eq!(k.name.as_deref(), Some(x));
        let staff = app.session(Role::Staff);
        let (_, page) = app.page(&format!("/customers/{id}"), &staff);
        assert!(!page.contains("<script>alert") && page.contains("&lt;script&gt;"), "{page}");
    }
}

#[test]
fn an_expired_or_tampered_link_is_refused_and_confirms_nothing() {
    for db in enishi_store::testing::all() {
        let clock = t0();
        let (app, store) = shop(db, &clock);
        assert_eq!(post(&app, "/join", "192.0.2.20", &hanako("late@example.com")).0, 200);
        let (id, expires) = store
            .read(|c| {
                let r = c.query_one("SELECT id, expires_at FROM join_requests", &[])?;
                Ok::<_, enishi_store::StoreError>((r.int(0)?, r.int(1)?))
            })
            .unwrap();
        assert_eq!(expires, clock.now().timestamp() + 48 * 3600, "two days");
        let key = store.write(enishi_campaigns::unsubscribe::signing_key).unwrap();
        let token = links::token(&key, Purpose::Join, id, expires);
        let sig = token.rsplit('.').next().unwrap().to_string();
        let other = links::token(&key, Purpose::MyPage, id, expires);
        for bad in [
            format!("{}.{expires}.{sig}", id + 1),
            format!("{id}.{}.{sig}", expires + 3600),
            format!("{id}.{expires}.{}", &sig[..sig.len() - 2]),
            format!("{id}.{expires}.{}{}", &sig[..sig.len() - 1], if sig.ends_with('0') { '1' } else { '0' }),
            other,
            "<script>".into(),
        ] {
            let path = format!("/join/confirm/{}", bad.replace('<', "%3C").replace('>', "%3E"));
            assert_eq!(get(&app, &path, "192.0.2.21", "").0, 404, "{bad}");
            assert_eq!(post(&app, &path, "192.0.2.21", &[]).0, 404, "{bad}");
        }
        assert_eq!(count(&store, "SELECT COUNT(*) FROM customers"), 0);

        // Past its two days: 410, and nothing is created.
        clock.advance(chrono::Duration::hours(49));
        let path = format!("/join/confirm/{token}");
        let (status, html) = get(&app, &path, "192.0.2.21", "");
        assert_eq!(status, 410, "{html}");
        let (status, _) = post(&app, &path, "192.0.2.21", &[]);
        assert_eq!(status, 410);
        assert_eq!(written(&store), [0, 1, 1, 0, 0, 0, 0]);
        // The next sign-up clears the expired one away.
        assert_eq!(post(&app, "/join", "192.0.2.22", &hanako("next@example.com")).0, 200);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM join_requests WHERE email = 'late@example.com'"), 0);
    }
}

#[test]
fn staff_print_the_join_pages_qr_code_and_copy_the_web_shop_form() {
    let clock = t0();
    let (app, _store) = shop(enishi_store::testing::sqlite(), &clock);
    let (status, _) = app.page("/join-card", "");
    assert_eq!(status, 303, "signed in only");
    let staff = app.session(Role::Staff);
    let (status, html) = app.page("/join-card", &staff);
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<svg") && html.contains("https://shop.example/join"), "{html}");
    let shown = html.replace("&quot;", "\"");
    assert!(shown.contains("&lt;form method=\"post\" action=\"https://shop.example/join\"&gt;"), "{html}");
    assert!(shown.contains("&lt;input type=\"text\" name=\"website\""), "{html}");
    let (status, svg) = app.page("/join-card.svg", &staff);
    assert_eq!(status, 200);
    assert!(svg.starts_with("<svg") && svg.contains("aria-label=\"https://shop.example/join\""), "{svg}");
    let (_, list) = app.page("/customers", &staff);
    assert!(list.contains("href=\"/join-card\""), "{list}");
}
