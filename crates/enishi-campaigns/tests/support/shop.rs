//! What the channel tests share: a clock time, the currency, customers with a phone and
//! consents, and the segment `news` with quiet hours off.
#![allow(dead_code)] // each test file uses its own part

use chrono::{TimeZone, Utc};
use enishi_core::{BusinessClock, Currency};
use enishi_store::{params, Store};
use std::str::FromStr;

pub fn yen() -> Currency {
    Currency::from_str("JPY").unwrap()
}

pub fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 3, 0, 0).unwrap()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A customer with the tag `news`, a phone (`+8190` and eight digits) and the consents given.
pub fn customer(c: &mut dyn enishi_store::Conn, id: i64, phone: bool, consents: &[(&str, &str)]) {
    let now = t0().timestamp();
    c.execute(
        "INSERT INTO customers (id, external_id, name, furigana, email, phone, locale, first_seen_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'ja', $7, $7, $7)",
        params![
            id,
            format!("C{id}"),
            format!("佐藤 花子{id}"),
            format!("サトウ ハナコ{id}"),
            format!("c{id}@example.com"),
            phone.then(|| format!("+8190{id:08}")),
            now - 86_400 * 30
        ],
    )
    .unwrap();
    c.execute("INSERT INTO customer_tags (customer_id, tag, position) VALUES ($1, 'news', 0)", params![id]).unwrap();
    for (channel, status) in consents {
        c.execute(
            "INSERT INTO customer_consents (customer_id, channel, status, changed_at, source) VALUES ($1, $2, $3, $4, 'test')",
            params![id, *channel, *status, now - 86_400],
        )
        .unwrap();
    }
}

pub fn news_segment(store: &Store) {
    store
        .write(|c| {
            let rule = enishi_segments::text::parse("tag = \"news\"").unwrap();
            enishi_segments::saved::create(c, "news", "", &rule, &BusinessClock::default())?;
            enishi_store::repo::settings::set(c, "campaign_quiet_hours", "none")?;
            Ok::<_, enishi_campaigns::Error>(())
        })
        .unwrap();
}
