//! Merging two records of one person, on SQLite and PostgreSQL: orders, points, stamps, coupons
//! and history move to the customer kept in one transaction, the books re-derive (the ledger
//! audit passes), and the merged record's shop id and email find the customer kept.

use enishi_core::{BusinessClock, ConsentChannel, ConsentStatus};
use enishi_ingest::intake::{record_order, record_return, IntakeError, OrderInput, ReturnInput, Workspace};
use enishi_ingest::people::{self, Contact, ContactError, MergeError};
use enishi_rewards::Programs;
use enishi_store::repo::{audit, customers, history, loyalty, merges, orders, privacy};
use enishi_store::{testing, Conn, Store};
use serde_json::{json, Value};

fn ws() -> Workspace {
    Workspace::new(BusinessClock::default(), enishi_core::Currency::USD)
}

fn programs(c: &mut dyn Conn) -> Programs {
    Programs::load(c, BusinessClock::default()).unwrap()
}

fn buy(s: &Store, id: &str, customer: Value, at: &str, total: &str) {
    let input: OrderInput = serde_json::from_value(json!({
        "order_id": id, "placed_at": at, "total": total, "customer": customer,
        "lines": [{"sku": "LATTE", "quantity": 1, "unit_price": total}]}))
    .unwrap();
    s.write(|c| -> Result<_, IntakeError> {
        let p = programs(c);
        record_order(c, &input, ws(), &p).map(|_| ())
    })
    .unwrap();
}

fn id_of(s: &Store, external: &str) -> i64 {
    s.read(|c| customers::id_by_external_id(c, external)).unwrap().expect("customer")
}

fn balance(s: &Store, customer: i64) -> i64 {
    s.read(|c| loyalty::account(c, customer)).unwrap().map_or(0, |a| a.balance)
}

fn stamps(s: &Store, customer: i64) -> i64 {
    let cards = s.read(|c| loyalty::account(c, customer)).unwrap().map_or_else(|| "{}".into(), |a| a.cards);
    let cards: std::collections::BTreeMap<String, (i64, Option<i64>)> = serde_json::from_str(&cards).unwrap();
    cards.values().map(|(n, _)| n).sum()
}

const PROGRAMME: &str = r#"{"name": "cafe", "effective_from": "2026-01-01",
    "earning": {"points_per_unit": 1},
    "rewards": [{"id": "cake", "name": "Cake", "cost": 80, "kind": "discount", "value": "5"},
                {"id": "free", "name": "Free coffee", "cost": 0, "kind": "discount", "value": "3"}],
    "stamp_cards": [{"id": "coffee", "name": "Coffee card", "stamps": 5, "minimum_spend": "3", "reward": "free"}]}"#;

#[test]
fn a_merge_moves_orders_points_coupons_and_history_and_the_books_rederive() {
    for db in testing::all() {
        let s = &db.store;
        eprintln!("backend: {:?}", s.backend());
        s.write(|c| enishi_rewards::apply_program(c, PROGRAMME, BusinessClock::default(), "test")).unwrap();
        // Hanako at the till (A) and online (B), with a debt on B: a return took back points spent.
        buy(s, "A-1", json!({"external_id": "A", "name": "山田 花子"}), "2026-11-01 10:00", "100");
        buy(s, "A-2", json!({"external_id": "A"}), "2026-11-02 10:00", "50");
        buy(
            s,
            "B-1",
            json!({"external_id": "B", "email": "hanako@example.jp", "phone": "090-1234-5678"}),
            "2026-11-03 10:00",
            "100",
        );
        let (a, b) = (id_of(s, "A"), id_of(s, "B"));
        let now = chrono::Utc::now().timestamp();
        let coupon = s
            .write(|c| {
                let p = programs(c);
                enishi_rewards::redeem(c, &p, b, "cake", "k1", now)
            })
            .unwrap()
            .0
            .coupon;
        let ret: ReturnInput =
            serde_json::from_value(json!({"return_id": "BR-1", "returned_at": "2026-11-04"})).unwrap();
        s.write(|c| record_return(c, "B-1", &ret, ws())).unwrap();
        assert_eq!((balance(s, a), balance(s, b)), (150, -80));
        let stamps_before = stamps(s, a) + stamps(s, b);
        assert!(stamps_before >= 2, "{stamps_before}");
        s.write(|c| {
            customers::update(
                c,
                b,
                &enishi_store::CustomerUpsert {
                    tags: Some(vec!["online".into()]),
                    consents: vec![enishi_store::ConsentChange {
                        channel: ConsentChannel::Email,
                        status: ConsentStatus::OptedIn,
                        at: None,
                        source: "import".into(),
                    }],
                    ..Default::default()
                },
            )?;
            history::add_interaction(
                c,
                &enishi_store::NewInteraction {
                    customer_id: b,
                    kind: enishi_core::InteractionKind::Request,
                    channel: None,
                    body: "gift wrapping".into(),
                    status: enishi_core::InteractionStatus::Open,
                    staff: None,
                    occurred_at: chrono::Utc::now(),
                    assignee_id: None,
                    resolution: None,
                },
            )
            .map(|_| ())
        })
        .unwrap();

        assert!(matches!(people::merge(s, a, a, "user:owner@cafe.example"), Err(MergeError::Same)));
        assert!(matches!(people::merge(s, a, 999_999, "user:owner@cafe.example"), Err(MergeError::NotFound(999_999))));
        let merged = people::merge(s, a, b, "user:owner@cafe.example").unwrap();
        assert_eq!(merged.moved.of("orders"), 1);
        assert_eq!(merged.moved.of("loyalty_coupons"), 1);
        let books = merged.books.unwrap();
        assert_eq!((books.kept_before, books.merged, books.after, books.debt_paid), (150, -80, 70, 80));

        // The books: the balance is the sum of both ledgers, lots hold it, the audit passes.
        assert_eq!(balance(s, a), 70);
        let (_, bad) = s.read(enishi_rewards::verify).unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(stamps(s, a), stamps_before, "stamps on the same card add up");

        // Orders, stats, coupon, tags, consent, interactions and profile moved to A.
        let kept = s.read(|c| customers::get(c, a)).unwrap().unwrap();
        assert_eq!(kept.stats.order_count, 3);
        assert_eq!(kept.stats.total_spend.to_string(), "250.00");
        assert_eq!(kept.stats.returned_amount.to_string(), "100.00");
        assert_eq!(kept.name.as_deref(), Some("山田 花子"), "the kept record's name stays");
        assert_eq!(kept.email.as_deref(), Some("hanako@example.jp"), "what the kept record lacked is taken");
        assert_eq!(kept.tags, vec!["online".to_string()]);
        assert!(kept.consents.iter().any(|x| x.channel == ConsentChannel::Email && x.status == ConsentStatus::OptedIn));
        let order_refs: Vec<String> =
            s.read(|c| orders::for_customer(c, a, 10, 0)).unwrap().into_iter().map(|o| o.order_id).collect();
        assert_eq!(order_refs.len(), 3, "{order_refs:?}");
        assert_eq!(s.read(|c| loyalty::coupons(c, a)).unwrap()[0].code, coupon.code);
        assert_eq!(s.read(|c| history::interactions(c, Some(a), None, 10, 0)).unwrap().len(), 1);
        let trail = s.read(|c| customers::consent_trail(c, a)).unwrap();
        assert_eq!(trail.len(), 1, "the consent trail moved with the consent");

        // B is gone; its shop id, email and phone find A.
        assert!(s.read(|c| customers::get(c, b)).unwrap().is_none());
        assert_eq!(s.read(|c| customers::get_by_external_id(c, "B")).unwrap().map(|x| x.id), Some(a));
        let q = customers::CustomerQuery { email: Some("HANAKO@example.jp".into()), limit: 5, ..Default::default() };
        assert_eq!(s.read(|c| customers::search(c, &q)).unwrap().items.len(), 1);
        let q = customers::CustomerQuery { external_id: Some("B".into()), limit: 5, ..Default::default() };
        assert_eq!(s.read(|c| customers::search(c, &q)).unwrap().items[0].id, a);

        // On A's timeline, in the ledger (0 points) and in the audit log.
        let timeline = s.read(|c| history::timeline(c, a, 50, 0)).unwrap();
        assert!(timeline.iter().any(|e| e.kind == "merge" && e.summary == "Merged B"), "{timeline:?}");
        let entries = s.read(|c| loyalty::entries(c, a, 50, 0)).unwrap();
        let entry = entries.iter().find(|e| e.kind == "merge").expect("the merge's ledger entry");
        assert_eq!(entry.points, 0);
        assert!(entry.detail.contains("user:owner@cafe.example"), "{}", entry.detail);
        let logged = s.read(|c| audit::recent(c, None, 10)).unwrap();
        assert!(logged.iter().any(|e| e.action == "customers.merge" && e.subject == format!("customer:{a}")));

        // A later order for B's shop id is A's.
        buy(s, "B-2", json!({"external_id": "B"}), "2026-11-10 10:00", "30");
        assert_eq!(s.read(|c| customers::get(c, a)).unwrap().unwrap().stats.order_count, 4);
        assert_eq!(balance(s, a), 100);
        let (_, bad) = s.read(enishi_rewards::verify).unwrap();
        assert!(bad.is_empty(), "{bad:?}");

        // Erasing A erases B's shop id too.
        s.write(|c| privacy::erase(c, a, now)).unwrap();
        assert!(s.read(|c| privacy::is_erased(c, "B")).unwrap());
        assert!(s.read(|c| merges::of_customer(c, a)).unwrap().is_empty());
    }
}

#[test]
fn every_table_with_a_customer_id_is_known_to_a_merge() {
    for db in testing::all() {
        let tables = db.store.read(merges::tables_with_customer_id).unwrap();
        assert!(tables.len() > 20, "{tables:?}");
        let known = merges::known_tables();
        let unknown: Vec<&String> = tables.iter().filter(|t| !known.contains(&t.as_str())).collect();
        assert!(unknown.is_empty(), "a merge must move, join or re-derive these tables: {unknown:?}");
    }
}

#[test]
fn enrolling_and_editing_refuse_a_duplicate_email_or_phone() {
    for db in testing::all() {
        let s = &db.store;
        let contact = |name: &str, email: &str, phone: &str| Contact {
            name: name.into(),
            furigana: "ヤマダ ハナコ".into(),
            email: email.into(),
            phone: phone.into(),
            consents: vec![
                (ConsentChannel::Email, ConsentStatus::OptedIn),
                (ConsentChannel::Sms, ConsentStatus::Unknown),
            ],
            phone_country: None,
        };
        let first =
            people::enrol(s, &contact("山田 花子", "hanako@example.jp", ""), "till:ten@cafe.example", "user:ten")
                .unwrap();
        let stored = s.read(|c| customers::get(c, first)).unwrap().unwrap();
        assert_eq!(stored.furigana.as_deref(), Some("ヤマダ ハナコ"));
        assert_eq!(stored.consents.len(), 1, "an unknown consent is not recorded: {:?}", stored.consents);
        assert_eq!(stored.consents[0].source, "till:ten@cafe.example");

        let e = people::enrol(s, &contact("Other", "HANAKO@example.jp", ""), "till", "user:ten").unwrap_err();
        assert!(matches!(&e, ContactError::Taken(t) if t.field == "email" && t.id == first), "{e:?}");
        let e = people::enrol(s, &contact("", "x@example.jp", ""), "till", "user:ten").unwrap_err();
        assert!(matches!(&e, ContactError::Invalid { field: "name", .. }), "{e:?}");
        let e = people::enrol(s, &contact("Nobody", "", ""), "till", "user:ten").unwrap_err();
        assert!(matches!(&e, ContactError::Invalid { field: "phone", .. }), "{e:?}");
        let e = people::enrol(s, &contact("Bad", "not-an-email", ""), "till", "user:ten").unwrap_err();
        assert!(matches!(&e, ContactError::Invalid { field: "email", .. }), "{e:?}");

        let second = people::enrol(s, &contact("田中 一郎", "", "090 1111 2222"), "till", "user:ten").unwrap();
        let e = people::edit(s, second, &contact("田中 一郎", "hanako@example.jp", "090 1111 2222"), "console", "u")
            .unwrap_err();
        assert!(matches!(&e, ContactError::Taken(t) if t.field == "email"), "{e:?}");
        let e = people::edit(s, first, &contact("山田 花子", "", "09011112222"), "console", "u").unwrap_err();
        assert!(matches!(&e, ContactError::Taken(t) if t.field == "phone" && t.id == second), "{e:?}");

        // An edit records only the consent that changed, with its source; its own email is no duplicate.
        let mut withdrawn = contact("山田 花子", "hanako@example.jp", "");
        withdrawn.consents =
            vec![(ConsentChannel::Email, ConsentStatus::OptedOut), (ConsentChannel::Sms, ConsentStatus::Unknown)];
        people::edit(s, first, &withdrawn, "console:owner@cafe.example", "user:owner").unwrap();
        let trail = s.read(|c| customers::consent_trail(c, first)).unwrap();
        assert_eq!(trail.len(), 2, "{trail:?}");
        assert_eq!((trail[0].status.as_str(), trail[0].source.as_str()), ("opted_out", "console:owner@cafe.example"));
    }
}
