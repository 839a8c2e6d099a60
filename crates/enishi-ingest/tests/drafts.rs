//! Suggested drafts and their cost replay: the quiet window of a shop's week becomes a
//! recurring promotion, and what the replay says it would have cost is what applying it and
//! importing the same orders into a fresh database earns.

use enishi_core::{BusinessClock, Currency};
use enishi_ingest::drafts::{happy_hour, replay_cost, suggest_loyal_promotion, with_promotion, LOYAL_SEGMENT};
use enishi_ingest::formats::OrderFormat;
use enishi_ingest::orders::{import_orders, OrderImportOptions};
use enishi_ingest::Progress;
use enishi_loyalty::program::Document;
use enishi_store::{testing, Store};

const PROGRAMME: &str =
    r#"{"name": "cafe", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1, "minimum_order": "5"}}"#;

/// Four weeks of a café in Tokyo (from Monday 2026-11-02): Tuesdays busy 9:00–14:00 and
/// 17:00–19:00, quiet 14:00–17:00; other days busy all day.
fn orders_csv() -> String {
    let mut csv = String::from("order_id,customer_id,placed_at,sku,quantity,unit_price\n");
    let mut n = 0;
    for week in 0..4 {
        for day in 0..7 {
            let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap() + chrono::Days::new(week * 7 + day);
            for hour in 9..19 {
                let quiet = day == 1 && (14..17).contains(&hour);
                let orders = if quiet { (hour % 2) as usize } else { 3 };
                for k in 0..orders {
                    n += 1;
                    let price = if quiet { "6.00" } else { "12.50" };
                    csv.push_str(&format!("O-{n},C-{},{date} {hour:02}:{:02}:00,COFFEE,1,{price}\n", n % 40, k * 10));
                }
            }
        }
    }
    csv
}

fn import(store: &Store, csv: &str, clock: BusinessClock) {
    let mut opts = OrderImportOptions::new(OrderFormat::Generic);
    opts.clock = clock;
    opts.currency = Currency::USD;
    import_orders(store, csv.as_bytes(), "o.csv", &opts, Progress::default()).unwrap();
}

fn points(store: &Store) -> i64 {
    store.read(|c| c.query_one("SELECT COALESCE(SUM(points), 0) FROM loyalty_order_effects", &[])?.int(0)).unwrap()
}

#[test]
fn the_quiet_tuesday_afternoon_is_suggested_and_its_replay_matches_a_fresh_import() {
    let tokyo = BusinessClock::new("Asia/Tokyo").unwrap();
    let csv = orders_csv();
    for db in testing::all() {
        eprintln!("backend: {:?}", db.store.backend());
        db.store.write(|c| enishi_rewards::apply_program(c, PROGRAMME, tokyo, "test")).unwrap();
        import(&db.store, &csv, tokyo);
        let now = tokyo.parse_timestamp("2026-11-30 00:00").unwrap();
        let quiet = db.store.read(|c| enishi_insights::quiet::quiet_windows(c, &tokyo, now, 4, 3, 3)).unwrap();
        let tue = &quiet[0];
        assert_eq!((tue.weekday, tue.from_hour, tue.until_hour), ("tue", 14, 17), "{quiet:?}");
        assert_eq!(tue.orders_per_week, 1.0, "15:00 only: one order a week");

        let promotion = happy_hour(tue.weekday, tue.from_hour, tue.until_hour, 2).unwrap();
        let doc: Document = serde_json::from_str(PROGRAMME).unwrap();
        let draft = serde_json::to_string(&with_promotion(doc, promotion)).unwrap();
        let since = now - chrono::Duration::weeks(4);
        let cost = replay_cost(&db.store, &draft, Some(PROGRAMME), since, now, tokyo, Currency::USD).unwrap();
        assert_eq!(cost.points_in_force, points(&db.store), "the programme in force, replayed, earns what it earned");
        assert_eq!(cost.extra_points, 4 * 6, "four quiet Tuesdays, one $6 order each, doubled");

        // Applying the draft and importing the same orders into a fresh database earns the same.
        let fresh = testing::sqlite();
        fresh.store.write(|c| enishi_rewards::apply_program(c, &draft, tokyo, "test")).unwrap();
        import(&fresh.store, &csv, tokyo);
        assert_eq!(cost.points_with_draft, points(&fresh.store));
        assert_eq!(
            cost.orders,
            fresh.store.read(|c| c.query_one("SELECT COUNT(*) FROM orders", &[])?.int(0)).unwrap() as u64
        );
    }
}

#[test]
fn a_happy_hour_needs_a_weekday_and_hours_in_order() {
    assert!(happy_hour("someday", 14, 17, 2).is_none());
    assert!(happy_hour("tue", 17, 14, 2).is_none());
    assert!(happy_hour("tue", 22, 25, 2).is_none());
    let p = happy_hour("tue", 14, 17, 2).unwrap();
    assert_eq!(p.id, "quiet-tue-14");
    assert_eq!(p.names["ja"], "火曜 14時〜17時 ポイント2倍");
}

/// The Enishi ids of customers `C-{n}` for the given n.
fn ids_of(store: &Store, numbers: &[u32]) -> Vec<i64> {
    numbers
        .iter()
        .map(|n| {
            store
                .read(|c| {
                    c.query_one(
                        "SELECT id FROM customers WHERE external_id = $1",
                        enishi_store::params![format!("C-{n}")],
                    )?
                    .int(0)
                })
                .unwrap()
        })
        .collect()
}

#[test]
fn loyal_customers_are_offered_double_points_and_the_replay_counts_their_orders_only() {
    let tokyo = BusinessClock::new("Asia/Tokyo").unwrap();
    let csv = orders_csv();
    let (loyal, semi) = ([1, 2, 3], [4, 5]);
    for db in testing::all() {
        eprintln!("backend: {:?}", db.store.backend());
        db.store.write(|c| enishi_rewards::apply_program(c, PROGRAMME, tokyo, "test")).unwrap();
        import(&db.store, &csv, tokyo);
        let now = tokyo.parse_timestamp("2026-11-30 00:00").unwrap();
        let none = suggest_loyal_promotion(&db.store, tokyo, Currency::USD, now, 4, 2).unwrap();
        assert!(none.is_none(), "nobody is ranked yet");

        // The analysis ranked five customers loyal or semi-loyal, one "other".
        let (loyal_ids, semi_ids, other) =
            (ids_of(&db.store, &loyal), ids_of(&db.store, &semi), ids_of(&db.store, &[6]));
        let mut classes: Vec<(i64, &str)> = loyal_ids.iter().map(|&id| (id, "loyal")).collect();
        classes.extend(semi_ids.iter().map(|&id| (id, "semi_loyal")));
        classes.push((other[0], "other"));
        db.store.write(|c| enishi_store::repo::scores::store_loyal_classes(c, &classes)).unwrap();

        let s = suggest_loyal_promotion(&db.store, tokyo, Currency::USD, now, 4, 2).unwrap().unwrap();
        assert_eq!(s.members, 5);
        assert_eq!((s.segment.name.as_str(), s.segment.saved), (LOYAL_SEGMENT, false));
        assert_eq!(s.promotion.segment.as_deref(), Some(LOYAL_SEGMENT));
        assert_eq!(s.promotion.names["ja"], "ロイヤル顧客はポイント2倍");
        // Doubling gives the members' orders their points once more: $12.50 earns 12, $6 earns 6.
        let members: Vec<i64> = loyal_ids.iter().chain(&semi_ids).copied().collect();
        let theirs: i64 = db
            .store
            .read(|c| {
                let mut sum = 0;
                for id in &members {
                    sum += c
                        .query_one(
                            "SELECT COALESCE(SUM(e.points), 0) FROM loyalty_order_effects e JOIN orders o ON o.id = e.order_id \
                             WHERE o.customer_id = $1",
                            enishi_store::params![*id],
                        )?
                        .int(0)?;
                }
                Ok::<_, enishi_store::StoreError>(sum)
            })
            .unwrap();
        assert!(theirs > 0);
        assert_eq!(s.cost.extra_points, theirs, "only the members' orders, doubled");
        assert_eq!(s.cost.points_in_force, points(&db.store));

        // The draft applies once its segment is saved, and a fresh database with the same
        // ranking earns what the replay said.
        let fresh = testing::sqlite();
        let rule = enishi_segments::text::parse(s.segment.rule.as_deref().unwrap()).unwrap();
        fresh
            .store
            .write(|c| {
                for (n, class) in loyal.iter().map(|n| (n, "loyal")).chain(semi.iter().map(|n| (n, "semi_loyal"))) {
                    c.execute(
                        "INSERT INTO customers (external_id, first_seen_at, created_at, updated_at) VALUES ($1, 0, 0, 0)",
                        enishi_store::params![format!("C-{n}")],
                    )?;
                    let id = c.query_one("SELECT MAX(id) FROM customers", &[])?.int(0)?;
                    c.execute(
                        "INSERT INTO customer_scores (customer_id, loyal_class, updated_at) VALUES ($1, $2, 0)",
                        enishi_store::params![id, class],
                    )?;
                }
                enishi_store::repo::segments::create(c, &s.segment.name, "", &rule.to_json().to_string())?;
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();
        let draft = serde_json::to_string(&s.draft).unwrap();
        fresh.store.write(|c| enishi_rewards::apply_program(c, &draft, tokyo, "test")).unwrap();
        import(&fresh.store, &csv, tokyo);
        assert_eq!(s.cost.points_with_draft, points(&fresh.store));

        // Once the shop has saved a segment of that name, the suggestion uses it.
        db.store
            .write(|c| enishi_store::repo::segments::create(c, LOYAL_SEGMENT, "ours", &rule.to_json().to_string()))
            .unwrap();
        let again = suggest_loyal_promotion(&db.store, tokyo, Currency::USD, now, 4, 2).unwrap().unwrap();
        assert!(again.segment.saved && again.segment.rule.is_none(), "{:?}", again.segment);
        assert_eq!(again.cost, s.cost);
    }
}
