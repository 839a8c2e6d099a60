//! Segment members as the compiled SQL finds them, against an independent evaluation in Rust
//! over the same fixture, on SQLite and PostgreSQL: every field and operator, random nested
//! rules, and the set algebra (`A and not A` is empty, `A or not A` is everyone, De Morgan).

use chrono::NaiveDate;
use enishi_core::time::day_of_date;
use enishi_core::BusinessClock;
use enishi_segments::compile::{self, Context, Form};
use enishi_segments::text::parse;
use enishi_segments::tree::{Condition, Node, Op, Test, Value as V};
use enishi_segments::{saved, Summaries};
use enishi_store::repo::{customers, purchase_summary};
use enishi_store::testing::{self, TestDb};
use enishi_store::{Conn, StoreError, Value};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::prelude::ToPrimitive;
use std::collections::BTreeSet;

const SCALE: i64 = 10_000;

/// The fixture's as-of day: some orders, returns and events come after it.
fn fixture_day() -> i64 {
    day_of_date(NaiveDate::from_ymd_opt(2026, 6, 30).unwrap())
}

thread_local! {
    /// The day this test evaluates as of (each test runs on its own thread).
    static AS_OF: std::cell::Cell<i64> = std::cell::Cell::new(fixture_day());
}

fn as_of() -> i64 {
    AS_OF.with(|d| d.get())
}

fn calendar() -> BusinessClock {
    BusinessClock::new("Asia/Tokyo").unwrap()
}

fn day_start(day: i64) -> i64 {
    calendar().start_of_day(day).timestamp()
}

#[derive(Default, Clone)]
struct Customer {
    id: i64,
    name: Option<String>,
    email: Option<String>,
    city: Option<String>,
    birthday: Option<NaiveDate>,
    locale: Option<String>,
    account: Option<i64>,
    referred_by: Option<i64>,
    tags: Vec<&'static str>,
    channels: Vec<&'static str>,
    size: Option<&'static str>,
    visits: Option<i64>,
    /// The join page's `birthday_month` attribute (read only when there is no birthday).
    month_alone: Option<u32>,
    newsletter: Option<bool>,
    consents: Vec<(&'static str, &'static str)>,
    loyalty: Option<(i64, Option<&'static str>, Option<i64>)>,
    membership: Option<(&'static str, i64, i64)>,
    scores: Option<Scores>,
    recommended: Option<&'static str>,
}

#[derive(Clone)]
struct Scores {
    r: i64,
    f: i64,
    m: i64,
    segment: &'static str,
    lifecycle: &'static str,
    loyal_class: &'static str,
    p_alive: f64,
    purchases: f64,
    clv: f64,
}

struct Order {
    id: i64,
    customer: i64,
    day: i64,
    /// (sku, category, quantity, amount)
    lines: Vec<(&'static str, &'static str, i64, i64)>,
}

struct Return {
    order: Option<i64>,
    customer: i64,
    at: i64,
    /// (sku, quantity, amount)
    lines: Vec<(&'static str, i64, i64)>,
}

struct Event {
    customer: i64,
    name: &'static str,
    at: i64,
    sku: &'static str,
}

/// A recorded interaction: (customer, kind, occurred at, resolved at).
struct Issue {
    customer: i64,
    kind: &'static str,
    at: i64,
    resolved_at: Option<i64>,
}

/// A message sent: (customer, campaign, channel, sent at), and the id of the campaign that
/// sent it (none for one logged by hand).
struct Message {
    customer: i64,
    campaign: &'static str,
    channel: &'static str,
    at: i64,
    campaign_id: Option<i64>,
}

/// A campaign with its goal: (id, name, goal SKU, goal category, attribution days); its
/// document leaves out what is the default (any purchase, 14 days).
struct Campaign {
    id: i64,
    name: &'static str,
    sku: Option<&'static str>,
    category: Option<&'static str>,
    days: Option<i64>,
}

const CAMPAIGNS: [Campaign; 3] = [
    Campaign { id: 1, name: "coffee", sku: Some("B"), category: None, days: Some(10) },
    Campaign { id: 2, name: "goods", sku: None, category: Some("goods"), days: Some(30) },
    Campaign { id: 3, name: "any", sku: None, category: None, days: None },
];
/// A survey invitation: (customer, survey kind, answered at, score, reason); answers are
/// stored in this order, so a later one has the larger id.
struct SurveyAnswer {
    customer: i64,
    kind: &'static str,
    at: Option<i64>,
    score: Option<i64>,
    reason: Option<&'static str>,
}

/// A review of an order's product (or of the whole order, `sku` empty): written at `at` with
/// `stars`, or only invited (`at` none); its moderation does not matter to `reviewed`.
struct ReviewRow {
    customer: i64,
    order: i64,
    sku: &'static str,
    at: Option<i64>,
    stars: Option<i64>,
    status: &'static str,
}

/// The changes feedback is linked to: (id, key).
const CHANGES: [(i64, &str); 2] = [(1, "delivery-3-days"), (2, "new-grinder")];

/// The console users who own customers: (id, email).
const OWNERS: [(i64, &str); 2] = [(1, "aki@shop.example"), (2, "ben@shop.example")];

/// The owner of customer `id`, if any.
fn owner_of(id: i64) -> Option<i64> {
    match id % 6 {
        0 => Some(1),
        1 => Some(2),
        _ => None,
    }
}

struct Fixture {
    reviews: Vec<ReviewRow>,
    /// Feedback linked to changes: (change id, customer, kind, feedback id).
    links: Vec<(i64, i64, &'static str, i64)>,
    answers: Vec<SurveyAnswer>,
    messages: Vec<Message>,
    issues: Vec<Issue>,
    customers: Vec<Customer>,
    accounts: Vec<(i64, &'static str, &'static str)>,
    orders: Vec<Order>,
    returns: Vec<Return>,
    events: Vec<Event>,
}

const SKUS: [(&str, &str, i64); 3] = [("A", "coffee", 1200), ("B", "coffee", 3000), ("MUG", "goods", 500)];

fn pick<T: Copy>(rng: &mut ChaCha8Rng, xs: &[T]) -> T {
    xs[rng.gen_range(0..xs.len())]
}

fn maybe<T>(rng: &mut ChaCha8Rng, p: f64, f: impl FnOnce(&mut ChaCha8Rng) -> T) -> Option<T> {
    if rng.gen_bool(p) {
        Some(f(rng))
    } else {
        None
    }
}

fn fixture() -> Fixture {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let day = fixture_day();
    let accounts = vec![(1, "cafe", "Kansai"), (2, "retail", "Kanto")];
    let mut customers = Vec::new();
    let (mut orders, mut returns, mut events) = (Vec::new(), Vec::new(), Vec::new());
    let mut issues = Vec::new();
    let mut messages = Vec::new();
    let mut answers = Vec::new();
    for id in 1..=90i64 {
        let c = Customer {
            id,
            name: maybe(&mut rng, 0.9, |r| pick(r, &["佐藤 花子", "Ann Lee", "鈴木 一郎"]).to_string()),
            email: maybe(&mut rng, 0.8, |r| format!("{}{id}@example.com", pick(r, &["Ann", "bob"]))),
            city: maybe(&mut rng, 0.7, |r| pick(r, &["Tokyo", "Kyoto", "", "Osaka"]).to_string()),
            birthday: maybe(&mut rng, 0.6, |r| {
                NaiveDate::from_ymd_opt(r.gen_range(1960..2005), r.gen_range(1..=12), r.gen_range(1..=28)).unwrap()
            }),
            locale: maybe(&mut rng, 0.5, |r| pick(r, &["ja", "en"]).to_string()),
            account: maybe(&mut rng, 0.2, |r| r.gen_range(1..=2)),
            referred_by: if id > 5 { maybe(&mut rng, 0.3, |r| r.gen_range(1..=5)) } else { None },
            tags: ["vip", "wholesale", "newsletter"].into_iter().filter(|_| rng.gen_bool(0.3)).collect(),
            channels: ["ecommerce", "in_store", "app"].into_iter().filter(|_| rng.gen_bool(0.4)).collect(),
            size: maybe(&mut rng, 0.5, |r| pick(r, &["S", "M", "L"])),
            visits: maybe(&mut rng, 0.5, |r| r.gen_range(0..20)),
            month_alone: (id % 3 == 0).then(|| (id % 12 + 1) as u32),
            newsletter: maybe(&mut rng, 0.4, |r| r.gen_bool(0.5)),
            consents: ["email", "postal"]
                .into_iter()
                .filter_map(|ch| maybe(&mut rng, 0.7, |r| (ch, pick(r, &["opted_in", "opted_out", "unknown"]))))
                .collect(),
            loyalty: maybe(&mut rng, 0.7, |r| {
                (
                    r.gen_range(0..1000),
                    maybe(r, 0.6, |r| pick(r, &["silver", "gold"])),
                    maybe(r, 0.5, |r| r.gen_range(0..10)),
                )
            }),
            membership: maybe(&mut rng, 0.25, |r| {
                let start = day_start(day + r.gen_range(-400..5)) + 3600;
                (pick(r, &["vip", "plus"]), start, start + 86_400 * r.gen_range(1..400))
            }),
            scores: maybe(&mut rng, 0.85, |r| Scores {
                r: r.gen_range(1..=5),
                f: r.gen_range(1..=5),
                m: r.gen_range(1..=5),
                segment: pick(r, &["champions", "loyal", "at_risk", "cant_lose_them", "lost"]),
                lifecycle: pick(r, &["new", "active", "at_risk", "lost"]),
                loyal_class: pick(r, &["loyal", "semi_loyal", "other", "other"]),
                p_alive: f64::from(r.gen_range(0..=10)) / 10.0,
                purchases: f64::from(r.gen_range(0..=6)) / 2.0,
                clv: f64::from(r.gen_range(0..=100)) * 1000.0,
            }),
            recommended: maybe(&mut rng, 0.4, |r| pick(r, &["A", "B", "MUG"])),
        };
        for _ in 0..rng.gen_range(0..5) {
            let oid = orders.len() as i64 + 1;
            let placed = day + rng.gen_range(-420..8);
            let mut lines = Vec::new();
            for (sku, cat, price) in SKUS {
                if rng.gen_bool(0.45) {
                    let q = rng.gen_range(1..=3);
                    lines.push((sku, cat, q, q * price * SCALE));
                }
            }
            if lines.is_empty() {
                lines.push(("MUG", "goods", 1, 500 * SCALE));
            }
            if rng.gen_bool(0.25) {
                let (sku, _, q, amount) = lines[rng.gen_range(0..lines.len())];
                let back = if rng.gen_bool(0.5) { q } else { 1 };
                let after = rng.gen_range(0..20);
                // Every other one exactly as a day starts: it counts from that day on.
                let at = day_start(placed + after) + if after % 2 == 0 { 0 } else { 7200 };
                returns.push(Return {
                    order: Some(oid),
                    customer: id,
                    at,
                    lines: vec![(sku, back, amount / q * back)],
                });
            }
            orders.push(Order { id: oid, customer: id, day: placed, lines });
        }
        if id % 17 == 0 {
            returns.push(Return {
                order: None,
                customer: id,
                at: day_start(day - 3),
                lines: vec![("A", 1, 1200 * SCALE)],
            });
        }
        for _ in 0..rng.gen_range(0..3) {
            let at = day_start(day + rng.gen_range(-12..3)) + rng.gen_range(0..86_400);
            events.push(Event {
                customer: id,
                name: pick(&mut rng, &["added_to_cart", "page_view"]),
                at,
                sku: pick(&mut rng, &["A", "B"]),
            });
        }
        // Complaints, some resolved before the as-of day, some after it; open requests; some
        // recorded after the as-of day.
        if id % 5 == 0 {
            let resolved_at = (id % 10 == 0).then(|| day_start(fixture_day() - 5 + id % 9));
            issues.push(Issue {
                customer: id,
                kind: "complaint",
                at: day_start(fixture_day() - 10 + id % 15),
                resolved_at,
            });
        }
        if id % 7 == 0 {
            issues.push(Issue {
                customer: id,
                kind: "request",
                at: day_start(fixture_day() - 3) + 600,
                resolved_at: None,
            });
        }
        // Campaign messages: some inside 7 days, some 8–40 days back, some after the as-of day.
        if id % 3 == 0 {
            messages.push(Message {
                customer: id,
                campaign: "winter",
                channel: "email",
                at: day_start(fixture_day() - id % 40) + 3600,
                campaign_id: None,
            });
        }
        if id % 4 == 0 {
            messages.push(Message {
                customer: id,
                campaign: "letter",
                channel: "postal",
                at: day_start(fixture_day() - 5 + id % 7),
                campaign_id: None,
            });
            messages.push(Message {
                customer: id,
                campaign: "spring",
                channel: "email",
                at: day_start(fixture_day() - id % 5),
                campaign_id: None,
            });
        }
        // Campaigns' messages: orders are placed at 01:00, so one the same day counts after a
        // message at 00:30 and not after one at 02:00; one exactly the window later does not
        // count; some messages come after the as-of day.
        let sent = |campaign: &Campaign, at: i64| Message {
            customer: id,
            campaign: campaign.name,
            channel: "email",
            at,
            campaign_id: Some(campaign.id),
        };
        // Some orders placed around them, at the edges: the same moment as the message, just
        // before it, exactly the window later.
        let mut order = |day: i64, sku: &'static str, category: &'static str| {
            let oid = orders.len() as i64 + 1;
            orders.push(Order { id: oid, customer: id, day, lines: vec![(sku, category, 1, 1000 * SCALE)] });
        };
        if id % 2 == 0 {
            let sent_day = fixture_day() - id % 60;
            let at = day_start(sent_day) + if id % 4 == 0 { 3600 } else { 7200 };
            messages.push(sent(&CAMPAIGNS[0], at));
            match id % 8 {
                0 => order(sent_day, "B", "coffee"),
                2 => order(sent_day + 9, "B", "coffee"),
                4 => order(sent_day + 10, "B", "coffee"),
                _ => order(sent_day, "B", "coffee"),
            }
        }
        if id % 5 == 1 {
            let sent_day = fixture_day() - 40 + id % 50;
            messages.push(sent(&CAMPAIGNS[1], day_start(sent_day) + 3600));
            if id % 10 == 1 {
                order(sent_day + 20, "MUG", "goods");
            }
        }
        if id % 3 == 1 {
            let sent_day = fixture_day() - id % 30;
            messages.push(sent(&CAMPAIGNS[2], day_start(sent_day) + 1800));
            if id % 9 == 1 {
                order(sent_day, "A", "coffee");
            }
        }
        // Survey answers: NPS, some answered again later (some after the as-of day, some at
        // the same instant); CSAT, some invitations unanswered; stop reasons.
        let answer =
            |kind, at: Option<i64>, score: Option<i64>, reason| SurveyAnswer { customer: id, kind, at, score, reason };
        if id % 3 == 1 {
            let first = day_start(fixture_day() - 20 + id % 7);
            answers.push(answer("nps", Some(first), Some(id * 7 % 11), None));
            if id % 2 == 0 {
                answers.push(answer("nps", Some(day_start(fixture_day() - 2 + id % 5)), Some(id * 3 % 11), None));
            }
            if id % 9 == 1 {
                answers.push(answer("nps", Some(first), Some(10 - id % 11), None));
            }
        }
        if id % 4 == 1 {
            answers.push(answer("csat", Some(day_start(fixture_day() - 15 + id % 20)), Some(1 + id % 5), None));
            if id % 8 == 1 {
                answers.push(answer("csat", None, None, None));
            }
        }
        if id % 5 == 2 {
            let reason = catalogue_reasons()[(id % 7) as usize];
            answers.push(answer("stop", Some(day_start(fixture_day() - 30 + id % 35)), None, Some(reason)));
        }
        customers.push(c);
    }
    // Reviews of some orders' first product, some written after the as-of day, some only
    // invited; reviews of some whole orders.
    let mut reviews = Vec::new();
    for o in &orders {
        let at = (o.id % 4 != 0).then(|| day_start(o.day + o.id % 10) + 7200);
        let status = ["pending", "approved", "rejected"][(o.id % 3) as usize];
        if o.id % 2 == 1 {
            reviews.push(ReviewRow {
                customer: o.customer,
                order: o.id,
                sku: o.lines[0].0,
                at,
                stars: at.map(|_| 1 + o.id % 5),
                status: if at.is_some() { status } else { "invited" },
            });
        }
        if o.id % 5 == 0 {
            reviews.push(ReviewRow {
                customer: o.customer,
                order: o.id,
                sku: "",
                at: Some(day_start(o.day) + 3600),
                stars: Some(5 - o.id % 3),
                status,
            });
        }
    }
    // Feedback linked to changes: a complaint, a survey answer, a review (ids need not exist).
    let mut links = Vec::new();
    for id in 1..=90i64 {
        if id % 6 == 1 {
            links.push((1, id, "interaction", id * 10));
        }
        if id % 8 == 3 {
            links.push((1, id, "survey", id * 10));
            links.push((2, id, "review", id * 10));
        }
        if id % 11 == 4 {
            links.push((2, id, "interaction", id * 10 + 1));
        }
    }
    Fixture { reviews, links, answers, messages, issues, customers, accounts, orders, returns, events }
}

fn catalogue_reasons() -> [&'static str; 7] {
    enishi_segments::catalogue::STOP_REASONS
}

fn load(c: &mut dyn Conn, f: &Fixture) -> Result<(), StoreError> {
    for (id, email) in OWNERS {
        c.execute(
            "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES ($1, $2, 'x', 'staff', 'x', 0)",
            &[id.into(), email.into()],
        )?;
    }
    for (id, kind) in [(1_i64, "nps"), (2, "csat"), (3, "stop")] {
        c.execute(
            "INSERT INTO surveys (id, name, kind, valid_days, created_at) VALUES ($1, $2, $2, 14, 0)",
            &[id.into(), kind.into()],
        )?;
    }
    for (id, industry, region) in &f.accounts {
        c.execute(
            "INSERT INTO accounts (id, external_id, name, industry, region, size_band, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, '10-49', 0, 0)",
            &[Value::Int(*id), format!("ACC-{id}").into(), format!("Account {id}").into(), (*industry).into(), (*region).into()],
        )?;
    }
    for x in &f.customers {
        c.execute(
            "INSERT INTO customers (id, external_id, name, email, city, birthday, locale, account_id, referred_by, first_seen_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, 0)",
            &[
                Value::Int(x.id),
                format!("C-{}", x.id).into(),
                x.name.clone().into(),
                x.email.clone().into(),
                x.city.clone().into(),
                x.birthday.map(|d| d.format("%Y-%m-%d").to_string()).into(),
                x.locale.clone().into(),
                x.account.into(),
                x.referred_by.into(),
            ],
        )?;
        for (i, t) in x.tags.iter().enumerate() {
            c.execute(
                "INSERT INTO customer_tags (customer_id, tag, position) VALUES ($1, $2, $3)",
                &[x.id.into(), (*t).into(), (i as i64).into()],
            )?;
        }
        for (i, t) in x.channels.iter().enumerate() {
            c.execute(
                "INSERT INTO customer_channels (customer_id, channel, position) VALUES ($1, $2, $3)",
                &[x.id.into(), (*t).into(), (i as i64).into()],
            )?;
        }
        let attr = "INSERT INTO customer_attributes (customer_id, key, value, text_value, number_value) VALUES ($1, $2, $3, $4, $5)";
        if let Some(s) = x.size {
            c.execute(attr, &[x.id.into(), "size".into(), format!("\"{s}\"").into(), s.into(), Value::Null])?;
        }
        if let Some(v) = x.visits {
            c.execute(attr, &[x.id.into(), "visits".into(), v.to_string().into(), Value::Null, (v as f64).into()])?;
        }
        if let Some(m) = x.month_alone {
            let number = f64::from(m);
            c.execute(attr, &[x.id.into(), "birthday_month".into(), m.to_string().into(), Value::Null, number.into()])?;
        }
        if let Some(b) = x.newsletter {
            c.execute(attr, &[x.id.into(), "newsletter".into(), b.to_string().into(), Value::Null, Value::Null])?;
        }
        for (ch, status) in &x.consents {
            c.execute(
                "INSERT INTO customer_consents (customer_id, channel, status, changed_at, source) VALUES ($1, $2, $3, 0, 'test')",
                &[x.id.into(), (*ch).into(), (*status).into()],
            )?;
        }
        if let Some((balance, tier, stamps)) = x.loyalty {
            let cards =
                stamps.map_or("{}".to_string(), |n| format!("{{\"coffee\": {{\"stamps\": {n}, \"last_day\": 1}}}}"));
            c.execute(
                "INSERT INTO loyalty_accounts (customer_id, balance, tier, referral_code, cards, updated_at) VALUES ($1, $2, $3, $4, $5, 0)",
                &[x.id.into(), balance.into(), tier.into(), format!("R{}", x.id).into(), cards.into()],
            )?;
        }
        if let Some((plan, start, end)) = x.membership {
            c.execute(
                "INSERT INTO loyalty_memberships (customer_id, plan_id, status, started_at, period_end, updated_at) VALUES ($1, $2, 'active', $3, $4, 0)",
                &[x.id.into(), plan.into(), start.into(), end.into()],
            )?;
        }
        if let Some(s) = &x.scores {
            c.execute(
                "INSERT INTO customer_scores (customer_id, rfm_r, rfm_f, rfm_m, rfm_segment, lifecycle_stage, loyal_class, p_alive, expected_purchases, clv, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0)",
                &[x.id.into(), s.r.into(), s.f.into(), s.m.into(), s.segment.into(), s.lifecycle.into(), s.loyal_class.into(), s.p_alive.into(), s.purchases.into(), s.clv.into()],
            )?;
        }
        if let Some(sku) = x.recommended {
            c.execute(
                "INSERT INTO customer_recommendations (customer_id, rank, sku, score, as_of_day) VALUES ($1, 1, $2, 1.0, 0)",
                &[x.id.into(), sku.into()],
            )?;
        }
    }
    for o in &f.orders {
        let total: i64 = o.lines.iter().map(|l| l.3).sum();
        c.execute(
            "INSERT INTO orders (id, order_ref, customer_id, placed_at, placed_day, channel, currency, total, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'in_store', 'JPY', $6, 'completed', 0)",
            &[o.id.into(), format!("O-{}", o.id).into(), o.customer.into(), (day_start(o.day) + 3600).into(), o.day.into(), total.into()],
        )?;
        for (i, (sku, cat, q, amount)) in o.lines.iter().enumerate() {
            c.execute(
                "INSERT INTO order_lines (order_id, line_no, customer_id, sku, category, quantity, unit_price, amount) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[o.id.into(), (i as i64).into(), o.customer.into(), (*sku).into(), (*cat).into(), (*q).into(), (amount / q).into(), (*amount).into()],
            )?;
        }
    }
    for (i, r) in f.returns.iter().enumerate() {
        let id = i as i64 + 1;
        let amount: i64 = r.lines.iter().map(|l| l.2).sum();
        c.execute(
            "INSERT INTO returns (id, return_ref, order_id, customer_id, returned_at, amount, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0)",
            &[id.into(), format!("R-{id}").into(), r.order.into(), r.customer.into(), r.at.into(), amount.into()],
        )?;
        for (sku, q, a) in &r.lines {
            c.execute(
                "INSERT INTO return_lines (return_id, customer_id, sku, quantity, unit_price, amount) VALUES ($1, $2, $3, $4, $5, $6)",
                &[id.into(), r.customer.into(), (*sku).into(), (*q).into(), (a / q).into(), (*a).into()],
            )?;
        }
    }
    for k in &CAMPAIGNS {
        let mut goal = match (k.sku, k.category) {
            (Some(sku), _) => serde_json::json!({"goal": {"kind": "sku", "sku": sku}}),
            (_, Some(category)) => serde_json::json!({"goal": {"kind": "category", "category": category}}),
            _ => serde_json::json!({}),
        };
        if let Some(days) = k.days {
            goal["attribution_days"] = days.into();
        }
        c.execute(
            "INSERT INTO campaigns (id, name, mailing, channel, definition, created_at, updated_at) VALUES ($1, $2, $2, 'email', $3, 0, 0)",
            &[k.id.into(), k.name.into(), goal.to_string().into()],
        )?;
    }
    for m in &f.messages {
        c.execute(
            "INSERT INTO communications (customer_id, channel, campaign, subject, sent_at, status, created_at, campaign_id) \
             VALUES ($1, $2, $3, 'x', $4, 'sent', 0, $5)",
            &[m.customer.into(), m.channel.into(), m.campaign.into(), m.at.into(), m.campaign_id.into()],
        )?;
    }
    for x in &f.customers {
        c.execute("UPDATE customers SET owner_id = $1 WHERE id = $2", &[owner_of(x.id).into(), x.id.into()])?;
    }
    for a in &f.answers {
        let survey: i64 = match a.kind {
            "nps" => 1,
            "csat" => 2,
            _ => 3,
        };
        c.execute(
            "INSERT INTO survey_invitations (survey_id, customer_id, kind, created_at, expires_at, answered_at, score, reason) \
             VALUES ($1, $2, $3, 0, 0, $4, $5, $6)",
            &[survey.into(), a.customer.into(), a.kind.into(), a.at.into(), a.score.into(), a.reason.into()],
        )?;
    }
    for r in &f.reviews {
        c.execute(
            "INSERT INTO reviews (customer_id, order_id, sku, status, created_at, expires_at, submitted_at, stars) \
             VALUES ($1, $2, $3, $4, 0, 0, $5, $6)",
            &[r.customer.into(), r.order.into(), r.sku.into(), r.status.into(), r.at.into(), r.stars.into()],
        )?;
    }
    for (id, key) in CHANGES {
        c.execute(
            "INSERT INTO changes (id, key, title, description, changed_on, created_at) VALUES ($1, $2, 'x', '', '2026-01-01', 0)",
            &[id.into(), key.into()],
        )?;
    }
    for (change, customer, kind, feedback) in &f.links {
        c.execute(
            "INSERT INTO change_feedback (change_id, customer_id, kind, feedback_id, linked_at) VALUES ($1, $2, $3, $4, 0)",
            &[(*change).into(), (*customer).into(), (*kind).into(), (*feedback).into()],
        )?;
    }
    for i in &f.issues {
        c.execute(
            "INSERT INTO interactions (customer_id, kind, body, status, occurred_at, resolved_at, created_at) \
             VALUES ($1, $2, 'x', $3, $4, $5, 0)",
            &[
                i.customer.into(),
                i.kind.into(),
                (if i.resolved_at.is_some() { "resolved" } else { "open" }).into(),
                i.at.into(),
                i.resolved_at.into(),
            ],
        )?;
    }
    for e in &f.events {
        c.execute(
            "INSERT INTO events (customer_id, name, occurred_at, properties, created_at) VALUES ($1, $2, $3, $4, 0)",
            &[e.customer.into(), e.name.into(), e.at.into(), format!("{{\"sku\": \"{}\"}}", e.sku).into()],
        )?;
    }
    Ok(())
}

/// One condition as docs/segments.md defines it, evaluated in Rust.
struct Reference<'a> {
    f: &'a Fixture,
}

fn number(v: &V) -> f64 {
    match v {
        V::Number(n) => n.to_f64().unwrap(),
        other => panic!("not a number: {other:?}"),
    }
}

fn texts(test: &Option<Test>) -> Option<(bool, Vec<String>)> {
    let t = |v: &V| match v {
        V::Text(s) => s.clone(),
        other => panic!("not text: {other:?}"),
    };
    match test {
        None => None,
        Some(Test::Compare(Op::Eq, v)) => Some((true, vec![t(v)])),
        Some(Test::Compare(Op::Ne, v)) => Some((false, vec![t(v)])),
        Some(Test::In(vs)) => Some((true, vs.iter().map(t).collect())),
        other => panic!("not a text test: {other:?}"),
    }
}

/// A text test on one optional value.
fn text_one(value: Option<&str>, test: &Option<Test>, fold: impl Fn(&str) -> String) -> bool {
    match texts(test) {
        None => value.is_some_and(|v| !v.is_empty()),
        Some((positive, list)) => positive == value.is_some_and(|v| list.iter().any(|l| fold(l) == v)),
    }
}

/// A text test on a set of values (tags, channels).
fn text_many(values: &[&str], test: &Option<Test>) -> bool {
    match texts(test) {
        None => !values.is_empty(),
        Some((positive, list)) => positive == values.iter().any(|v| list.iter().any(|l| l == v)),
    }
}

fn compare(op: Op, a: f64, b: f64) -> bool {
    op.holds(a, b)
}

fn cmp_test(test: &Option<Test>) -> (Op, f64) {
    match test {
        Some(Test::Compare(op, v)) => (*op, number(v)),
        other => panic!("not a comparison: {other:?}"),
    }
}

fn date_day(v: &V) -> i64 {
    match v {
        V::Date(d) => day_of_date(*d),
        other => panic!("not a date: {other:?}"),
    }
}

impl Reference<'_> {
    fn window(&self, c: &Condition) -> (i64, i64) {
        let a = as_of();
        match (c.args.get("within"), c.args.get("since"), c.args.get("until")) {
            (Some(V::Days(n)), _, _) => (a - i64::from(*n) + 1, a),
            (None, since, until) => (since.map_or(i64::MIN, date_day), until.map_or(a, |u| date_day(u).min(a))),
            other => panic!("{other:?}"),
        }
    }

    fn orders(&self, id: i64, (from, to): (i64, i64)) -> Vec<&Order> {
        self.f.orders.iter().filter(|o| o.customer == id && o.day >= from && o.day <= to).collect()
    }

    fn returned_of(&self, order: i64, sku: Option<&str>) -> (i64, i64) {
        let end = day_start(as_of() + 1);
        let mut units = 0;
        let mut amount = 0;
        for r in self.f.returns.iter().filter(|r| r.order == Some(order) && r.at < end) {
            for (s, q, a) in &r.lines {
                amount += a;
                if Some(*s) == sku {
                    units += q;
                }
            }
        }
        (units, amount)
    }

    fn holds(&self, node: &Node, x: &Customer) -> bool {
        match node {
            Node::And(cs) => cs.iter().all(|n| self.holds(n, x)),
            Node::Or(cs) => cs.iter().any(|n| self.holds(n, x)),
            Node::Not(n) => !self.holds(n, x),
            Node::Condition(c) => self.condition(c, x),
        }
    }

    fn condition(&self, c: &Condition, x: &Customer) -> bool {
        let arg = |name: &str| match c.args.get(name) {
            Some(V::Text(s)) => Some(s.as_str()),
            _ => None,
        };
        let end = day_start(as_of() + 1);
        match c.field.as_str() {
            "name" => text_one(x.name.as_deref(), &c.test, |s| s.to_string()),
            "city" => text_one(x.city.as_deref(), &c.test, |s| s.to_string()),
            "locale" => text_one(x.locale.as_deref(), &c.test, |s| s.to_string()),
            "email" => text_one(x.email.as_deref().map(str::to_lowercase).as_deref(), &c.test, |s| s.to_lowercase()),
            "birthday_month" => {
                let (op, m) = cmp_test(&c.test);
                match x.birthday {
                    Some(b) => compare(op, f64::from(chrono::Datelike::month(&b)), m),
                    None => x.month_alone.is_some_and(|alone| compare(op, f64::from(alone), m)),
                }
            }
            "tag" => text_many(&x.tags, &c.test),
            "channel" => text_many(&x.channels, &c.test),
            "attribute" => match (arg("key").unwrap(), &c.test) {
                ("size", t) => text_one(x.size, t, |s| s.to_string()),
                ("visits", None) => x.visits.is_some(),
                ("visits", Some(Test::Compare(Op::Ne, v))) => x.visits.is_none_or(|n| n as f64 != number(v)),
                ("visits", Some(Test::Compare(op, v))) => x.visits.is_some_and(|n| compare(*op, n as f64, number(v))),
                ("newsletter", Some(Test::Compare(op, V::Bool(b)))) => (x.newsletter == Some(*b)) == (*op == Op::Eq),
                other => panic!("{other:?}"),
            },
            "consent.email" | "consent.postal" => {
                x.consents.iter().any(|(ch, s)| c.field.ends_with(ch) && *s == "opted_in")
            }
            "referred" => x.referred_by.is_some(),
            "account" => x.account.is_some(),
            "account.industry" => {
                let industry = x.account.and_then(|a| self.f.accounts.iter().find(|(id, ..)| *id == a)).map(|a| a.1);
                text_one(industry, &c.test, |s| s.to_string())
            }
            "bought" => self.orders(x.id, self.window(c)).iter().any(|o| {
                o.lines.iter().any(|(sku, cat, q, _)| {
                    let wanted = arg("sku") == Some(*sku) || arg("category") == Some(*cat);
                    wanted && *q > self.returned_of(o.id, Some(sku)).0
                })
            }),
            "orders" => {
                let (op, n) = cmp_test(&c.test);
                compare(op, self.orders(x.id, self.window(c)).len() as f64, n)
            }
            "spend" | "average_order_value" => {
                let (op, n) = cmp_test(&c.test);
                let orders = self.orders(x.id, self.window(c));
                let spend: i64 = orders
                    .iter()
                    .map(|o| o.lines.iter().map(|l| l.3).sum::<i64>() - self.returned_of(o.id, None).1)
                    .sum();
                if c.field == "spend" {
                    compare(op, spend as f64, n * SCALE as f64)
                } else {
                    !orders.is_empty() && compare(op, spend as f64, n * SCALE as f64 * orders.len() as f64)
                }
            }
            "months_to_birthday" => {
                let (op, n) = cmp_test(&c.test);
                let now = chrono::Datelike::month(&enishi_core::time::date_of_day(as_of())) as i64;
                x.birthday
                    .is_some_and(|b| compare(op, ((chrono::Datelike::month(&b) as i64 - now).rem_euclid(12)) as f64, n))
            }
            "first_order" | "last_order" | "days_since_last_order" | "days_since_first_order" => {
                let days: Vec<i64> = self.orders(x.id, (i64::MIN, as_of())).iter().map(|o| o.day).collect();
                let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) else { return false };
                match (&c.test, c.field.as_str()) {
                    (Some(Test::Compare(op, v)), "first_order") => op.holds(*first, date_day(v)),
                    (Some(Test::Compare(op, v)), "last_order") => op.holds(*last, date_day(v)),
                    (Some(Test::Compare(op, v)), "days_since_first_order") => {
                        compare(*op, (as_of() - first) as f64, number(v))
                    }
                    (Some(Test::Compare(op, v)), _) => compare(*op, (as_of() - last) as f64, number(v)),
                    other => panic!("{other:?}"),
                }
            }
            "returned" => {
                let (from, to) = self.window(c);
                let from = if from == i64::MIN { i64::MIN } else { day_start(from) };
                self.f.returns.iter().any(|r| r.customer == x.id && r.at >= from && r.at < day_start(to + 1))
            }
            "points" => {
                let (op, n) = cmp_test(&c.test);
                compare(op, x.loyalty.map_or(0, |l| l.0) as f64, n)
            }
            "tier" => text_one(x.loyalty.and_then(|l| l.1), &c.test, |s| s.to_string()),
            "stamps" => {
                let (op, n) = cmp_test(&c.test);
                compare(op, x.loyalty.and_then(|l| l.2).unwrap_or(0) as f64, n)
            }
            "member" => x.membership.is_some_and(|(plan, start, period_end)| {
                start < end && period_end > day_start(as_of()) && arg("plan").is_none_or(|p| p == plan)
            }),
            "referrals" => {
                let (op, n) = cmp_test(&c.test);
                compare(op, self.f.customers.iter().filter(|o| o.referred_by == Some(x.id)).count() as f64, n)
            }
            "rfm.r" | "rfm.f" | "rfm.m" | "p_alive" | "predicted_purchases" | "clv" => {
                let (op, n) = cmp_test(&c.test);
                x.scores.as_ref().is_some_and(|s| {
                    let v = match c.field.as_str() {
                        "rfm.r" => s.r as f64,
                        "rfm.f" => s.f as f64,
                        "rfm.m" => s.m as f64,
                        "p_alive" => s.p_alive,
                        "predicted_purchases" => s.purchases,
                        _ => s.clv,
                    };
                    compare(op, v, n)
                })
            }
            "rfm.segment" => text_one(x.scores.as_ref().map(|s| s.segment), &c.test, |s| {
                enishi_segments::catalogue::rfm_segment(s).unwrap()
            }),
            "lifecycle" => text_one(x.scores.as_ref().map(|s| s.lifecycle), &c.test, |s| s.to_string()),
            "loyal_class" => text_one(x.scores.as_ref().map(|s| s.loyal_class), &c.test, |s| s.to_string()),
            "recommended" => x.recommended == arg("sku"),
            "did" | "events" => {
                let (from, to) = self.window(c);
                let from = if from == i64::MIN { i64::MIN } else { day_start(from) };
                let n = self
                    .f
                    .events
                    .iter()
                    .filter(|e| {
                        e.customer == x.id && Some(e.name) == arg("event") && e.at >= from && e.at < day_start(to + 1)
                    })
                    .filter(|e| arg("props.sku").is_none_or(|s| s == e.sku))
                    .count();
                if c.field == "did" {
                    n > 0
                } else {
                    let (op, k) = cmp_test(&c.test);
                    compare(op, n as f64, k)
                }
            }
            "received" | "messages" => {
                let (from, to) = self.window(c);
                let from = if from == i64::MIN { i64::MIN } else { day_start(from) };
                let n = self
                    .f
                    .messages
                    .iter()
                    .filter(|m| m.customer == x.id && m.at >= from && m.at < day_start(to + 1))
                    .filter(|m| arg("campaign").is_none_or(|k| k == m.campaign))
                    .filter(|m| arg("channel").is_none_or(|k| k == m.channel))
                    .count();
                if c.field == "received" {
                    n > 0
                } else {
                    let (op, k) = cmp_test(&c.test);
                    compare(op, n as f64, k)
                }
            }
            "responded" => {
                let k = CAMPAIGNS.iter().find(|k| Some(k.name) == arg("campaign")).unwrap();
                let window = k.days.unwrap_or(14) * 86_400;
                let goal = |o: &Order| {
                    o.lines
                        .iter()
                        .any(|(sku, cat, _, _)| k.sku.is_none_or(|s| s == *sku) && k.category.is_none_or(|g| g == *cat))
                };
                self.f.messages.iter().filter(|m| m.customer == x.id && m.campaign_id == Some(k.id) && m.at < end).any(
                    |m| {
                        self.f.orders.iter().any(|o| {
                            let at = day_start(o.day) + 3600;
                            o.customer == x.id && at >= m.at && at < m.at + window && at < end && goal(o)
                        })
                    },
                )
            }
            "complained" => {
                let (from, to) = self.window(c);
                self.f.issues.iter().any(|i| {
                    i.customer == x.id
                        && i.kind == "complaint"
                        && i.at < day_start(to + 1)
                        && (from == i64::MIN || i.at >= day_start(from))
                })
            }
            "nps_group" | "last_csat" | "stop_reason" => {
                let kind = match c.field.as_str() {
                    "nps_group" => "nps",
                    "last_csat" => "csat",
                    _ => "stop",
                };
                let latest = self
                    .f
                    .answers
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.customer == x.id && a.kind == kind && a.at.is_some_and(|t| t < end))
                    .max_by_key(|(i, a)| (a.at, *i))
                    .map(|(_, a)| a);
                match c.field.as_str() {
                    "nps_group" => {
                        let group = latest.and_then(|a| a.score).map(|s| match s {
                            9.. => "promoter",
                            7..=8 => "passive",
                            _ => "detractor",
                        });
                        text_one(group, &c.test, |s| s.to_string())
                    }
                    "last_csat" => {
                        let (op, n) = cmp_test(&c.test);
                        latest.and_then(|a| a.score).is_some_and(|s| compare(op, s as f64, n))
                    }
                    _ => text_one(latest.and_then(|a| a.reason), &c.test, |s| s.to_string()),
                }
            }
            "reviewed" => {
                let (from, to) = self.window(c);
                self.f.reviews.iter().any(|r| {
                    r.customer == x.id
                        && r.at.is_some_and(|t| t < day_start(to + 1) && (from == i64::MIN || t >= day_start(from)))
                        && arg("sku").is_none_or(|s| s == r.sku)
                        && (c.test.is_none() || {
                            let (op, n) = cmp_test(&c.test);
                            r.stars.is_some_and(|s| compare(op, s as f64, n))
                        })
                })
            }
            "raised" => {
                let change = arg("change").map(|k| CHANGES.iter().find(|(_, key)| *key == k).map_or(0, |(id, _)| *id));
                self.f.links.iter().any(|(ch, customer, _, _)| *customer == x.id && change.is_none_or(|id| id == *ch))
            }
            "owner" => {
                let email = owner_of(x.id).and_then(|o| OWNERS.iter().find(|(id, _)| *id == o)).map(|(_, e)| *e);
                text_one(email, &c.test, |s| s.to_lowercase())
            }
            "open_issue" => {
                let end = day_start(as_of() + 1);
                self.f.issues.iter().any(|i| {
                    i.customer == x.id
                        && i.at < end
                        && i.resolved_at.is_none_or(|r| r >= end)
                        && arg("kind").is_none_or(|k| k == i.kind)
                })
            }
            other => panic!("no reference for {other}"),
        }
    }

    fn members(&self, rule: &Node) -> Vec<i64> {
        self.f.customers.iter().filter(|x| self.holds(rule, x)).map(|x| x.id).collect()
    }
}

/// One condition per field and operator.
const ATOMS: &[&str] = &[
    "name",
    "name = \"佐藤 花子\"",
    "city",
    "city != \"Tokyo\"",
    "city in (\"Kyoto\", \"Osaka\")",
    "locale = \"ja\"",
    "email = \"ANN3@example.com\"",
    "birthday_month = 12",
    "birthday_month <= 3",
    "tag = \"vip\"",
    "tag != \"vip\"",
    "tag",
    "tag in (\"wholesale\", \"newsletter\")",
    "channel = \"in_store\"",
    "channel in (\"app\", \"ecommerce\")",
    "attribute(key: \"size\")",
    "attribute(key: \"size\") = \"L\"",
    "attribute(key: \"size\") != \"L\"",
    "attribute(key: \"visits\") >= 10",
    "attribute(key: \"visits\") != 3",
    "attribute(key: \"visits\")",
    "attribute(key: \"newsletter\") = true",
    "consent.email",
    "consent.postal",
    "referred",
    "account",
    "account.industry = \"cafe\"",
    "account.industry != \"cafe\"",
    "bought(sku: \"A\")",
    "bought(sku: \"B\", within: 90d)",
    "bought(category: \"coffee\", within: 180d)",
    "bought(category: \"goods\", since: 2026-01-01, until: 2026-03-31)",
    "orders >= 3",
    "orders < 2",
    "orders = 0",
    "orders(within: 365d) >= 2",
    "orders(since: 2026-04-01) != 1",
    "spend >= 3000",
    "spend < 2000",
    "spend(within: 365d) >= 5000.50",
    "average_order_value > 4000",
    "average_order_value(within: 180d) <= 2000",
    "first_order >= 2026-01-01",
    "last_order < 2026-03-01",
    "days_since_last_order > 90",
    "days_since_last_order <= 30",
    "days_since_first_order <= 200",
    "days_since_first_order > 350",
    "months_to_birthday = 1",
    "months_to_birthday <= 2",
    "months_to_birthday != 0",
    "returned",
    "returned(within: 60d)",
    "points >= 500",
    "points < 100",
    "tier = \"gold\"",
    "tier",
    "tier != \"gold\"",
    "stamps(card: \"coffee\") >= 5",
    "stamps(card: \"coffee\") < 3",
    "member",
    "member(plan: \"vip\")",
    "referrals >= 1",
    "referrals = 0",
    "rfm.r >= 4",
    "rfm.f < 2",
    "rfm.m = 5",
    "rfm.segment in (\"Champions\", \"Can't Lose Them\")",
    "rfm.segment != \"Lost\"",
    "lifecycle = \"at_risk\"",
    "loyal_class = \"loyal\"",
    "loyal_class in (\"loyal\", \"semi_loyal\")",
    "p_alive < 0.3",
    "predicted_purchases >= 1.5",
    "clv > 50000",
    "recommended(sku: \"MUG\")",
    "did(event: \"added_to_cart\", within: 2d)",
    "did(event: \"page_view\", props.sku: \"A\", within: 7d)",
    "events(event: \"page_view\", within: 30d) >= 2",
    "events(event: \"added_to_cart\") < 1",
    "open_issue",
    "open_issue(kind: \"complaint\")",
    "not open_issue(kind: \"request\")",
    "complained",
    "complained(within: 7d)",
    "not complained(within: 30d)",
    "nps_group",
    "nps_group = \"detractor\"",
    "nps_group in (\"promoter\", \"passive\")",
    "nps_group != \"promoter\"",
    "last_csat >= 4",
    "last_csat < 3",
    "stop_reason",
    "stop_reason = \"price\"",
    "stop_reason in (\"quality\", \"moved\")",
    "reviewed",
    "reviewed(sku: \"A\")",
    "reviewed(sku: \"B\", within: 90d)",
    "reviewed(within: 30d) >= 4",
    "reviewed(sku: \"MUG\") <= 2",
    "reviewed != 3",
    "not reviewed(sku: \"A\") = 5",
    "raised",
    "raised(change: \"delivery-3-days\")",
    "not raised(change: \"new-grinder\")",
    "owner",
    "owner = \"AKI@shop.example\"",
    "owner != \"aki@shop.example\"",
    "received(campaign: \"winter\")",
    "received(campaign: \"winter\", within: 7d)",
    "received(channel: \"postal\", within: 3d)",
    "not received(within: 30d)",
    "messages(channel: \"email\", within: 30d) >= 2",
    "messages(within: 7d) < 1",
    "responded(campaign: \"coffee\")",
    "responded(campaign: \"goods\")",
    "not responded(campaign: \"any\")",
];

fn stores() -> Vec<(&'static str, TestDb)> {
    let mut dbs = vec![("sqlite", testing::sqlite())];
    if let Some(pg) = testing::postgres() {
        dbs.push(("postgres", pg));
    }
    let f = fixture();
    for (_, db) in &dbs {
        db.store.write(|c| load(c, &f)).unwrap();
        // The fixture writes orders and returns itself, so it keeps the running stats and
        // builds the purchase summary.
        let ids: Vec<i64> = f.customers.iter().map(|c| c.id).collect();
        db.store.write(|c| customers::refresh_stats(c, &ids)).unwrap();
        purchase_summary::rebuild(&db.store, true).unwrap();
    }
    dbs
}

fn sql_members(db: &TestDb, rule: &Node) -> Vec<i64> {
    db.store.read(|c| enishi_segments::members(c, rule, as_of(), &calendar())).unwrap()
}

/// The members with every condition written as a probe (`EXISTS (… = c.id)`), the form the
/// planner uses behind a selective condition; `enishi_segments::members` uses sets here.
fn probed_members(db: &TestDb, rule: &Node) -> Vec<i64> {
    let cal = calendar();
    db.store
        .read(|c| {
            let refs = saved::refs(c, rule)?;
            let summaries = enishi_segments::summaries(c, as_of(), &cal)?;
            let dialect = enishi_segments::dialect(c);
            let ctx =
                Context { as_of_day: as_of(), calendar: &cal, dialect, refs: &refs, summaries, form: Form::Probes };
            let query = compile::members_where(compile::expr(rule, &ctx, "")?);
            let rows = enishi_store::sql::select(c, &query)?;
            Ok::<_, enishi_segments::Error>(rows.iter().map(|r| r.int("id")).collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap()
}

/// The members of `driver and check` with `driver` gathered as the query's sorted ids and
/// `check` probed ([`enishi_segments::plan::Planned::Driven`]), or `None` when `driver` is not
/// one gathered set; also whether the ids came back distinct and ascending.
fn driven_members(db: &TestDb, driver: &Node, check: &Node) -> Option<(Vec<i64>, bool)> {
    let cal = calendar();
    db.store
        .read(|c| {
            let both = Node::And(vec![driver.clone(), check.clone()]);
            let refs = saved::refs(c, &both)?;
            let summaries = enishi_segments::summaries(c, as_of(), &cal)?;
            let dialect = enishi_segments::dialect(c);
            let ctx = Context { as_of_day: as_of(), calendar: &cal, dialect, refs: &refs, summaries, form: Form::Sets };
            let Some(ids) = compile::gathered_ids(driver, &ctx)? else { return Ok(None) };
            let gathered: Vec<i64> =
                enishi_store::sql::select(c, &ids)?.iter().map(|r| r.int("id")).collect::<Result<_, _>>()?;
            let ordered = gathered.windows(2).all(|w| w[0] < w[1]);
            let checks = compile::expr(check, &Context { form: Form::Probes, ..ctx }, "")?;
            let query = enishi_segments::plan::Planned::Driven { ids: Box::new(ids), checks }.members();
            let rows = enishi_store::sql::select(c, &query)?;
            let members = rows.iter().map(|r| r.int("id")).collect::<Result<Vec<_>, _>>()?;
            Ok::<_, enishi_segments::Error>(Some((members, ordered)))
        })
        .unwrap()
}

#[test]
fn every_gathered_condition_drives_a_query_to_the_same_members_on_sqlite() {
    let f = fixture();
    let reference = Reference { f: &f };
    let (_, db) = stores().into_iter().next().unwrap();
    let check = parse("consent.email").unwrap();
    let mut driven = 0;
    for atom in ATOMS {
        let driver = parse(atom).unwrap();
        let Some((members, ordered)) = driven_members(&db, &driver, &check) else { continue };
        driven += 1;
        assert!(ordered, "`{atom}`: the driver's ids are distinct and ascending");
        let both = Node::And(vec![driver, check.clone()]);
        assert_eq!(members, reference.members(&both), "`{atom} and consent.email` driven by `{atom}`");
    }
    assert!(driven * 2 > ATOMS.len(), "most conditions gather a set: {driven} of {}", ATOMS.len());
}

#[test]
fn every_field_and_operator_selects_what_the_docs_say_on_both_databases() {
    let f = fixture();
    let reference = Reference { f: &f };
    let dbs = stores();
    for atom in ATOMS {
        let rule = parse(atom).unwrap_or_else(|e| panic!("{atom}: {e}"));
        let expected = reference.members(&rule);
        assert!(
            !expected.is_empty() && expected.len() < f.customers.len(),
            "`{atom}` should select some but not all: {}",
            expected.len()
        );
        for (name, db) in &dbs {
            assert_eq!(sql_members(db, &rule), expected, "`{atom}` on {name}");
            assert_eq!(probed_members(db, &rule), expected, "`{atom}` as a probe on {name}");
            let count = db.store.read(|c| enishi_segments::count(c, &rule, as_of(), &calendar())).unwrap();
            assert_eq!(count, expected.len() as i64, "count of `{atom}` on {name}");
        }
    }
}

#[test]
fn behind_a_selective_condition_sqlite_probes_and_still_selects_the_same() {
    let f = fixture();
    let reference = Reference { f: &f };
    let dbs = stores();
    let size = |atom: &str| reference.members(&parse(atom).unwrap()).len();
    let rare = ATOMS.iter().filter(|a| size(a) > 0).min_by_key(|a| size(a)).unwrap();
    let mut broad: Vec<&str> = ATOMS.iter().copied().filter(|a| size(a) * 10 >= f.customers.len() * 8).collect();
    broad.truncate(3);
    assert_eq!(broad.len(), 3, "the fixture has broad conditions");
    // The rare condition last: the plan puts it first.
    let rule = parse(&format!("{} and {} and {} and {rare}", broad[0], broad[1], broad[2])).unwrap();
    let cal = calendar();
    for (name, db) in &dbs {
        let planned = db
            .store
            .read(|c| {
                let refs = saved::refs(c, &rule)?;
                let summaries = enishi_segments::summaries(c, as_of(), &cal)?;
                let dialect = enishi_segments::dialect(c);
                let ctx =
                    Context { as_of_day: as_of(), calendar: &cal, dialect, refs: &refs, summaries, form: Form::Sets };
                enishi_segments::plan::condition(c, &rule, &ctx)
            })
            .unwrap();
        let sql = planned.count().to_string(sea_query::SqliteQueryBuilder);
        // SQLite probes behind the selective condition; PostgreSQL always probes (its sets
        // rescan under `or` and `not` once they outgrow work_mem).
        assert!(sql.contains("EXISTS"), "{name} `{rule:?}`: {sql}");
        assert_eq!(sql_members(db, &rule), reference.members(&rule), "{name}");
    }
}

#[test]
fn after_the_last_order_purchase_conditions_read_the_summaries_and_still_agree() {
    let f = fixture();
    let reference = Reference { f: &f };
    let dbs = stores();
    let summaries = |db: &TestDb| db.store.read(|c| enishi_segments::summaries(c, as_of(), &calendar())).unwrap();
    for (name, db) in &dbs {
        assert_eq!(summaries(db), Summaries::default(), "orders after the fixture's day: the lines are read ({name})");
    }
    // Every order, return and event of the fixture is before this day.
    AS_OF.with(|d| d.set(fixture_day() + 40));
    let mut selective = 0;
    for (name, db) in &dbs {
        assert_eq!(summaries(db), Summaries { products: true, order_count: true }, "{name}");
        for atom in ATOMS {
            let rule = parse(atom).unwrap();
            let expected = reference.members(&rule);
            selective += usize::from(!expected.is_empty() && expected.len() < f.customers.len());
            assert_eq!(sql_members(db, &rule), expected, "`{atom}` on {name}, read from the summaries");
            assert_eq!(probed_members(db, &rule), expected, "`{atom}` as a probe on {name}, from the summaries");
        }
    }
    assert!(selective > ATOMS.len() / 2, "most conditions still select some but not all: {selective}");
    // Windows that start exactly on a day with orders, and `until` ending on one.
    let mut days: Vec<i64> = f.orders.iter().map(|o| o.day).collect();
    days.sort_unstable();
    days.dedup();
    for day in days.iter().rev().take(6).chain(days.iter().take(3)) {
        let within = as_of() - day + 1;
        let until = enishi_core::time::date_of_day(*day);
        for text in [
            format!("bought(sku: \"A\", within: {within}d)"),
            format!("bought(category: \"coffee\", within: {within}d)"),
            format!("bought(sku: \"B\", until: {until})"),
        ] {
            let rule = parse(&text).unwrap();
            for (name, db) in &dbs {
                assert_eq!(sql_members(db, &rule), reference.members(&rule), "`{text}` on {name}");
            }
        }
    }
    // A stale summary is not read; the lines give the same answer.
    for (name, db) in &dbs {
        db.store.write(|c| purchase_summary::mark_stale(c)).unwrap();
        assert_eq!(summaries(db), Summaries { products: false, order_count: true }, "{name}");
        let rule = parse("bought(category: \"coffee\", within: 60d) and not bought(sku: \"B\")").unwrap();
        assert_eq!(sql_members(db, &rule), reference.members(&rule), "{name}");
    }
}

#[test]
fn the_seed_practice_product_segments_split_the_buyers() {
    let dbs = stores();
    let (db_name, db) = &dbs[dbs.len() - 1];
    let members = |text: &str| sql_members(db, &parse(text).unwrap()).into_iter().collect::<BTreeSet<_>>();
    let a = members("bought(sku: \"A\")");
    let b = members("bought(sku: \"B\")");
    let only_a = members("bought(sku: \"A\") and not bought(sku: \"B\")");
    let both = members("bought(sku: \"A\") and bought(sku: \"B\")");
    let only_b = members("not bought(sku: \"A\") and bought(sku: \"B\")");
    assert_eq!(only_a, a.difference(&b).copied().collect(), "{db_name}");
    assert_eq!(both, a.intersection(&b).copied().collect(), "{db_name}");
    assert_eq!(only_b, b.difference(&a).copied().collect(), "{db_name}");
    assert!(!only_a.is_empty() && !both.is_empty() && !only_b.is_empty());
}

fn rule_strategy() -> impl Strategy<Value = Node> {
    let leaf = (0..ATOMS.len()).prop_map(|i| parse(ATOMS[i]).unwrap());
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Node::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Node::Or),
            inner.prop_map(|n| Node::Not(Box::new(n))),
        ]
    })
}

#[test]
fn random_nested_rules_select_what_the_reference_selects_and_keep_the_set_algebra() {
    let f = fixture();
    let reference = Reference { f: &f };
    let dbs = stores();
    let everyone: Vec<i64> = f.customers.iter().map(|c| c.id).collect();
    let cases = if dbs.len() > 1 { 48 } else { 96 };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
    runner
        .run(&(rule_strategy(), rule_strategy()), |(a, b)| {
            let not = |n: &Node| Node::Not(Box::new(n.clone()));
            for (name, db) in &dbs {
                let members_a = sql_members(db, &a);
                prop_assert_eq!(&members_a, &reference.members(&a), "{} on {}", enishi_segments::text::print(&a), name);
                prop_assert!(sql_members(db, &Node::And(vec![a.clone(), not(&a)])).is_empty());
                prop_assert_eq!(sql_members(db, &Node::Or(vec![a.clone(), not(&a)])), everyone.clone());
                let de_morgan = Node::Not(Box::new(Node::And(vec![a.clone(), b.clone()])));
                prop_assert_eq!(sql_members(db, &de_morgan), sql_members(db, &Node::Or(vec![not(&a), not(&b)])));
                let both: BTreeSet<i64> = sql_members(db, &Node::And(vec![a.clone(), b.clone()])).into_iter().collect();
                prop_assert!(both.is_subset(&members_a.iter().copied().collect()));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn saved_segments_lists_snapshots_and_cycles_on_both_databases() {
    use enishi_segments::saved;
    use enishi_segments::Error;
    use enishi_store::repo::segments as repo;
    let cal = calendar();
    let ids = |db: &TestDb, text: &str| sql_members(db, &parse(text).unwrap());
    for (name, db) in stores() {
        let vip_buyers = ids(&db, "tag = \"vip\" and orders >= 1");
        db.store
            .write(|c| {
                saved::create(c, "VIP", "tagged vip", &parse("tag = \"vip\"").unwrap(), &cal)?;
                assert!(matches!(
                    saved::create(c, " VIP ", "", &parse("tag").unwrap(), &cal),
                    Err(Error::NameTaken("segment", _))
                ));
                let e =
                    saved::create(c, "X", "", &parse("orders >= 1 and segment = \"Nope\"").unwrap(), &cal).unwrap_err();
                assert!(e.to_string().contains("no segment named \"Nope\"") && e.to_string().contains("/and/1"), "{e}");
                assert!(repo::by_name(c, "X")?.is_none(), "nothing saved");
                saved::create(c, "VIP buyers", "", &parse("segment = \"VIP\" and orders >= 1").unwrap(), &cal)?;
                let e =
                    saved::update(c, "VIP", "", &parse("tag or segment = \"VIP buyers\"").unwrap(), &cal).unwrap_err();
                assert!(e.to_string().contains("VIP → VIP buyers → VIP"), "{e}");
                assert_eq!(saved::read_rule(&saved::find(c, "VIP")?)?, parse("tag = \"vip\"").unwrap(), "unchanged");
                let list = saved::create_list(c, "Fair", "met at the fair")?;
                assert_eq!(repo::add_to_list(c, list, &[1, 2, 3, 3])?, 3);
                assert_eq!(repo::add_to_list(c, list, &[3])?, 0);
                assert_eq!(repo::remove_from_list(c, list, &[2, 77])?, 1);
                assert!(matches!(saved::create_list(c, "Fair", ""), Err(Error::NameTaken("list", _))));
                Ok::<_, Error>(())
            })
            .unwrap();
        assert_eq!(ids(&db, "segment = \"VIP buyers\""), vip_buyers, "{name}");
        assert_eq!(ids(&db, "list = \"Fair\""), vec![1, 3], "{name}");
        assert_eq!(ids(&db, "list != \"Fair\"").len(), 88, "{name}");
        assert_eq!(ids(&db, "segment in (\"VIP\", \"VIP buyers\")"), ids(&db, "tag = \"vip\""), "{name}");
        db.store
            .write(|c| {
                let s = saved::find(c, "VIP")?;
                let (first, change) = saved::evaluate(c, &s, as_of(), &cal)?;
                assert_eq!((change.joined, change.left), (first.clone(), vec![]), "everyone joins at first");
                saved::update(c, "VIP", "", &parse("tag = \"vip\" and orders >= 1").unwrap(), &cal)?;
                let s = saved::find(c, "VIP")?;
                let (now, change) = saved::evaluate(c, &s, as_of(), &cal)?;
                assert_eq!(now, vip_buyers);
                assert!(change.joined.is_empty());
                assert_eq!(change.left, first.iter().filter(|id| !now.contains(id)).copied().collect::<Vec<_>>());
                assert_eq!(saved::find(c, "VIP")?.last_count, Some(now.len() as i64));
                let snap = saved::snapshot(c, Some(&s), &saved::read_rule(&s)?, "coffee DM v1", as_of(), &cal)?;
                assert_eq!(snap.member_count, now.len() as i64);
                assert!(repo::delete(c, s.id)?);
                assert_eq!(repo::snapshot_members(c, snap.id)?, Some(now), "a snapshot outlives its segment");
                let e = saved::find(c, "VIP buyers").and_then(|s| saved::evaluate(c, &s, as_of(), &cal)).unwrap_err();
                assert!(e.to_string().contains("no segment named \"VIP\""), "{e}");
                Ok::<_, Error>(())
            })
            .unwrap();
    }
}

/// The atoms over purchase history alone, which a batch's buyers are evaluated on in memory.
/// With windows that end before the as-of day, which [`ATOMS`] leaves out.
fn purchase_atoms() -> Vec<&'static str> {
    let purchase =
        ["bought", "orders", "spend", "average_order_value", "first_order", "last_order", "days_since", "returned"];
    let mut atoms: Vec<&str> = ATOMS.iter().copied().filter(|a| purchase.iter().any(|p| a.starts_with(p))).collect();
    atoms.extend([
        "returned(since: 2026-01-01, until: 2026-04-30)",
        "returned(until: 2026-06-27)",
        "spend(until: 2026-03-31) >= 3000",
        "bought(sku: \"A\", until: 2026-05-31)",
        "orders(since: 2026-01-01, until: 2026-06-15) >= 2",
        "average_order_value(since: 2026-02-01, until: 2026-05-31) > 2500",
    ]);
    atoms
}

/// The days a batch's buyers are evaluated at: before most orders, inside the history, on the
/// fixture's day (later orders and returns exist), after everything, and on both sides of
/// some returns made exactly as a day starts.
fn batch_days(f: &Fixture) -> Vec<i64> {
    let day = fixture_day();
    let mut days = vec![day - 150, day - 31, day - 1, day, day + 40];
    let cal = calendar();
    let at_day_start =
        f.returns.iter().filter(|r| r.order.is_some() && cal.start_of_day(day_of(r.at)).timestamp() == r.at);
    for r in at_day_start {
        days.extend([day_of(r.at) - 1, day_of(r.at)]);
    }
    days.sort_unstable();
    days.dedup();
    days
}

/// The business day of instant `at` (Unix seconds).
fn day_of(at: i64) -> i64 {
    calendar().day_number(chrono::DateTime::from_timestamp(at, 0).unwrap())
}

/// `members_among_by_day` for everyone (and an id no customer has) on every batch day, against
/// the reference evaluated as of each day.
fn assert_members_by_day_agree(dbs: &[(&str, TestDb)], f: &Fixture, rule: &Node) -> Result<(), TestCaseError> {
    let reference = Reference { f };
    let mut everyone: Vec<i64> = f.customers.iter().map(|c| c.id).collect();
    everyone.push(999_999);
    let wanted: std::collections::BTreeMap<i64, Vec<i64>> =
        batch_days(f).into_iter().map(|d| (d, everyone.clone())).collect();
    let cal = calendar();
    for (name, db) in dbs {
        let by_day = db.store.read(|c| enishi_segments::members_among_by_day(c, rule, &cal, &wanted)).unwrap();
        for day in batch_days(f) {
            AS_OF.with(|d| d.set(day));
            let text = enishi_segments::text::print(rule);
            prop_assert_eq!(&by_day[&day], &reference.members(rule), "`{}` as of day {} on {}", text, day, name);
        }
        AS_OF.with(|d| d.set(fixture_day()));
    }
    Ok(())
}

#[test]
fn a_batch_of_buyers_is_evaluated_on_each_of_its_days_as_the_reference_says() {
    let f = fixture();
    let dbs = stores();
    let atoms = purchase_atoms();
    for atom in ATOMS.iter().chain(&atoms) {
        assert_members_by_day_agree(&dbs, &f, &parse(atom).unwrap()).unwrap();
    }
    // Nested purchase rules, evaluated in memory.
    assert!(atoms.len() >= 20, "every purchase field: {atoms:?}");
    let leaf = (0..atoms.len()).prop_map(move |i| parse(atoms[i]).unwrap());
    let rules = leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Node::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Node::Or),
            inner.prop_map(|n| Node::Not(Box::new(n))),
        ]
    });
    let cases = if dbs.len() > 1 { 24 } else { 48 };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
    runner.run(&rules, |rule| assert_members_by_day_agree(&dbs, &f, &rule)).unwrap();
    // Purchase conditions mixed with every other field: those that read the same every day are
    // read once for the batch, the rest day by day.
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
    runner.run(&rule_strategy(), |rule| assert_members_by_day_agree(&dbs, &f, &rule)).unwrap();
}

#[test]
fn a_saved_purchase_segment_is_evaluated_for_a_batch_as_its_rule_is() {
    let f = fixture();
    let dbs = stores();
    let cal = calendar();
    for (_, db) in &dbs {
        db.store
            .write(|c| {
                saved::create(
                    c,
                    "Regulars",
                    "",
                    &parse("orders >= 2 and bought(category: \"coffee\")").unwrap(),
                    &cal,
                )?;
                saved::create(c, "Big", "", &parse("spend >= 3000 or segment = \"Regulars\"").unwrap(), &cal)
            })
            .unwrap();
    }
    for (by_name, inlined) in [
        ("segment = \"Regulars\"", "orders >= 2 and bought(category: \"coffee\")"),
        (
            "segment != \"Big\" and returned",
            "not (spend >= 3000 or (orders >= 2 and bought(category: \"coffee\"))) and returned",
        ),
        (
            "segment in (\"Regulars\", \"Big\") and not tag = \"vip\"",
            "(spend >= 3000 or (orders >= 2 and bought(category: \"coffee\"))) and not tag = \"vip\"",
        ),
    ] {
        let reference = Reference { f: &f };
        let wanted: std::collections::BTreeMap<i64, Vec<i64>> =
            batch_days(&f).into_iter().map(|d| (d, f.customers.iter().map(|c| c.id).collect())).collect();
        for (name, db) in &dbs {
            let by_day = db
                .store
                .read(|c| enishi_segments::members_among_by_day(c, &parse(by_name).unwrap(), &cal, &wanted))
                .unwrap();
            for day in batch_days(&f) {
                AS_OF.with(|d| d.set(day));
                assert_eq!(
                    by_day[&day],
                    reference.members(&parse(inlined).unwrap()),
                    "`{by_name}` on day {day}, {name}"
                );
            }
            AS_OF.with(|d| d.set(fixture_day()));
        }
    }
}
