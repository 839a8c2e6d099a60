//! Customer search as a shop types it, on SQLite and PostgreSQL: a name's reading in katakana,
//! hiragana or half-width katakana finds the customer whose furigana is known; a phone number
//! in any form (dashes, spaces, +81, full-width digits); the member code and the referral code;
//! and the count of what a search selects; and a list sorted by any column, page by page.

use enishi_store::repo::customers::{self, CustomerQuery, Sort, SortKey};
use enishi_store::{params, testing, CustomerUpsert};

fn find(store: &enishi_store::Store, text: &str) -> Vec<String> {
    let q = CustomerQuery { text: Some(text.into()), limit: 50, ..CustomerQuery::default() };
    let page = store.read(|c| customers::search(c, &q)).unwrap();
    page.items.into_iter().map(|c| c.external_id.to_string()).collect()
}

#[test]
fn a_reading_a_phone_in_any_form_a_member_code_or_a_referral_code_finds_the_customer() {
    for db in testing::all() {
        db.store
            .write(|c| {
                let people = [
                    ("C-1", "山田 花子", Some("やまだ はなこ"), "090-1234-5678"),
                    ("C-2", "佐藤 健", Some("サトウ　ケン"), "+81 80 1111 2222"),
                    ("C-3", "ヤマモト", None, "03-5555-0000"),
                ];
                for (id, name, furigana, phone) in people {
                    let u = CustomerUpsert {
                        external_id: Some(id.parse().unwrap()),
                        name: Some(name.into()),
                        phone: Some(
                            phone
                                .parse::<enishi_core::Phone>()
                                .unwrap()
                                .in_country(Some(enishi_core::PhoneCountry::JAPAN)),
                        ),
                        ..CustomerUpsert::default()
                    };
                    let k = customers::upsert(c, &u)?.id();
                    customers::set_furigana(c, k, furigana)?;
                    c.execute(
                        "INSERT INTO loyalty_accounts (customer_id, referral_code, updated_at) VALUES ($1, $2, 0)",
                        params![k, format!("RABCD000{}", &id[2..])],
                    )?;
                }
                let old = customers::upsert(
                    c,
                    &CustomerUpsert { external_id: Some("C-4".parse().unwrap()), ..CustomerUpsert::default() },
                )?
                .id();
                c.execute("UPDATE customers SET phone = '0612340000' WHERE id = $1", params![old])?;
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();
        let store = &db.store;
        let stored = store.read(|c| customers::get_by_external_id(c, "C-1")).unwrap().unwrap();
        assert_eq!(stored.phone.as_deref(), Some("+819012345678"), "stored in E.164");
        for (typed, found) in [
            // Readings: katakana, hiragana, half-width, with or without the space.
            ("ヤマダ", vec!["C-1"]),
            ("やまだ", vec!["C-1"]),
            ("ﾔﾏﾀﾞ", vec!["C-1"]),
            ("ヤマダハナコ", vec!["C-1"]),
            ("やまだ　はなこ", vec!["C-1"]),
            ("さとう けん", vec!["C-2"]),
            // A name written in katakana is found by its hiragana.
            ("やまもと", vec!["C-3"]),
            ("山田", vec!["C-1"]),
            // Phones in any form (stored in E.164).
            ("090-1234-5678", vec!["C-1"]),
            ("+81 90 1234 5678", vec!["C-1"]),
            ("+81-(0)90-1234-5678", vec!["C-1"]),
            ("０９０１２３４５６７８", vec!["C-1"]),
            ("080-1111-2222", vec!["C-2"]),
            ("+818011112222", vec!["C-2"]),
            ("03 5555 0000", vec!["C-3"]),
            // A number stored in the national form before numbers were stored in E.164.
            ("+81 6 1234 0000", vec!["C-4"]),
            ("06-1234-0000", vec!["C-4"]),
            // Member code and referral code (any case).
            ("C-2", vec!["C-2"]),
            ("Ｃ－２", vec!["C-2"]),
            ("rabcd0003", vec!["C-3"]),
            // Nothing matches wildcards or a number too short to be a phone.
            ("%", vec![]),
            ("_", vec![]),
            ("090", vec![]),
        ] {
            assert_eq!(find(store, typed), found, "{typed}");
            let q = CustomerQuery { text: Some(typed.into()), limit: 1, ..CustomerQuery::default() };
            let n = store.read(|c| customers::count_matching(c, &q)).unwrap();
            assert_eq!(n, found.len() as i64, "the count of {typed} ignores the page size");
        }
    }
}

#[test]
fn the_list_sorts_by_any_column_with_the_missing_last_and_ties_in_id_order() {
    for db in testing::all() {
        // (id, name, orders, spend in yen, points, tier, RFM segment, lifecycle stage)
        let people = [
            ("C-1", "Aoki", 3, 3000, Some(120), Some("silver"), Some("champions"), Some("active")),
            ("C-2", "Baba", 1, 9000, Some(40), Some("gold"), Some("at_risk"), Some("lost")),
            ("C-3", "Chiba", 3, 1000, None, None, None, None),
            ("C-4", "Doi", 5, 5000, Some(500), Some("bronze"), Some("lost"), Some("new")),
            ("C-5", "Ema", 3, 3000, Some(120), Some("gold"), Some("champions"), Some("at_risk")),
        ];
        db.store
            .write(|c| {
                for (id, name, orders, spend, points, tier, segment, stage) in people {
                    let u = CustomerUpsert {
                        external_id: Some(id.parse().unwrap()),
                        name: Some(name.into()),
                        ..CustomerUpsert::default()
                    };
                    let k = customers::upsert(c, &u)?.id();
                    c.execute(
                        "INSERT INTO customer_stats (customer_id, order_count, total_spend, updated_at) VALUES ($1, $2, $3, 0)",
                        params![k, orders, spend * 10_000],
                    )?;
                    if let Some(points) = points {
                        c.execute(
                            "INSERT INTO loyalty_accounts (customer_id, balance, tier, referral_code, updated_at) \
                             VALUES ($1, $2, $3, $4, 0)",
                            params![k, points, tier, format!("R{id}")],
                        )?;
                    }
                    if segment.is_some() {
                        c.execute(
                            "INSERT INTO customer_scores (customer_id, rfm_segment, lifecycle_stage, updated_at) \
                             VALUES ($1, $2, $3, 0)",
                            params![k, segment, stage],
                        )?;
                    }
                }
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();
        let order = |key: SortKey, descending: bool, offset: i64, limit: i64| -> Vec<String> {
            let q = CustomerQuery { limit, ..CustomerQuery::default() };
            let sort = Sort { key, descending };
            let list = db.store.read(|c| customers::search_sorted(c, &q, Some(&sort), offset)).unwrap();
            list.into_iter().map(|c| c.external_id.to_string()).collect()
        };
        let codes = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(order(SortKey::Name, true, 0, 50), ["C-5", "C-4", "C-3", "C-2", "C-1"]);
        // Ties keep id order both ways; so a page always holds the same customers.
        assert_eq!(order(SortKey::Orders, false, 0, 50), ["C-2", "C-1", "C-3", "C-5", "C-4"]);
        assert_eq!(order(SortKey::Orders, true, 0, 50), ["C-4", "C-1", "C-3", "C-5", "C-2"]);
        assert_eq!(order(SortKey::Spend, true, 1, 2), ["C-4", "C-1"]);
        assert_eq!(order(SortKey::Spend, true, 3, 2), ["C-5", "C-3"]);
        // No account or no scores: last, ascending or descending.
        assert_eq!(order(SortKey::Points, true, 0, 50), ["C-4", "C-1", "C-5", "C-2", "C-3"]);
        assert_eq!(order(SortKey::Points, false, 0, 50), ["C-2", "C-1", "C-5", "C-4", "C-3"]);
        // Vocabularies sort by rank, not by spelling.
        let tiers = codes(&["bronze", "silver", "gold"]);
        assert_eq!(order(SortKey::Tier(tiers.clone()), true, 0, 50), ["C-2", "C-5", "C-1", "C-4", "C-3"]);
        assert_eq!(order(SortKey::Tier(tiers), false, 0, 50), ["C-4", "C-1", "C-2", "C-5", "C-3"]);
        let stages = codes(&["new", "active", "inactive", "at_risk", "lost"]);
        assert_eq!(order(SortKey::Lifecycle(stages), false, 0, 50), ["C-4", "C-1", "C-5", "C-2", "C-3"]);
        let segments = codes(&["champions", "at_risk", "lost"]);
        assert_eq!(order(SortKey::RfmSegment(segments), false, 0, 50), ["C-1", "C-5", "C-2", "C-4", "C-3"]);
        // With a search, only what it selects; without a sort, in id order.
        let q = CustomerQuery { text: Some("a".into()), limit: 50, ..CustomerQuery::default() };
        let found = db.store.read(|c| customers::search_sorted(c, &q, None, 0)).unwrap();
        let ids: Vec<String> = found.into_iter().map(|c| c.external_id.to_string()).collect();
        assert_eq!(ids, ["C-1", "C-2", "C-3", "C-5"]);
        let id = |x: &str| db.store.read(|c| customers::id_by_external_id(c, x)).unwrap().unwrap();
        let (one, three) = (id("C-1"), id("C-3"));
        let columns = db.store.read(|c| customers::list_columns(c, &[one, three])).unwrap();
        assert_eq!((columns[&one].points, columns[&one].tier.as_deref()), (120, Some("silver")));
        assert_eq!((columns[&three].points, columns[&three].rfm_segment.as_deref()), (0, None));
    }
}
