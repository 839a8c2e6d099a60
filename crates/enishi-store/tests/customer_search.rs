//! Customer search as a shop types it, on SQLite and PostgreSQL: a name's reading in katakana,
//! hiragana or half-width katakana finds the customer whose furigana is known; a phone number
//! in any form (dashes, spaces, +81, full-width digits); the member code and the referral code;
//! and the count of what a search selects.

use enishi_store::repo::customers::{self, CustomerQuery};
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
                        phone: Some(phone.parse().unwrap()),
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
