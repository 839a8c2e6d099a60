//! Campaign pages the customer reaches: the signed unsubscribe link.

mod common;

use enishi_campaigns::campaigns as ops;
use enishi_campaigns::template::Parts;
use enishi_campaigns::unsubscribe;
use enishi_store::params;
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
