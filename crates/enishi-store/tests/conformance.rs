//! Every storage operation, run against SQLite and (when available) PostgreSQL.

use chrono::{DateTime, Utc};
use enishi_core::{Amount, Channel, ConsentChannel, ConsentStatus, InteractionKind, InteractionStatus, Role};
use enishi_store::repo::{accounts, customers, history, imports, orders, products, settings, tokens};
use enishi_store::testing;
use enishi_store::*;
use std::collections::{BTreeMap, BTreeSet};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

fn customer(ext: &str) -> CustomerUpsert {
    CustomerUpsert { external_id: Some(ext.parse().unwrap()), ..Default::default() }
}

fn order(r: &str, customer_id: i64, when: &str, total: &str) -> NewOrder {
    NewOrder {
        order_ref: r.into(),
        customer_id,
        placed_at: at(when),
        placed_day: at(when).timestamp().div_euclid(86_400),
        channel: Channel::InStore,
        currency: "USD".into(),
        total: amount(total),
        status: "completed".into(),
        lines: vec![OrderLine {
            sku: "BEANS-1".into(),
            product_name: Some("Beans".into()),
            category: Some("coffee".into()),
            quantity: 2,
            unit_price: amount("1.00"),
            amount: amount(total),
        }],
    }
}

fn each(f: impl Fn(&Store)) {
    for db in testing::all() {
        eprintln!("backend: {:?}", db.store.backend());
        f(&db.store);
    }
}

#[test]
fn customers_upsert_get_search_delete() {
    each(|s| {
        s.write(|c| -> Result<(), StoreError> {
            let mut u = customer("C-1");
            u.name = Some("Hana Sato".into());
            u.email = Some("Hana@Example.com".parse().unwrap());
            u.phone = Some("+81 90-1234-5678".parse().unwrap());
            u.channels = Some(vec![Channel::InStore, Channel::Ecommerce]);
            u.tags = Some(vec!["vip".into()]);
            u.attributes = Some(serde_json::from_str(r#"{"favourite":"latte","size":"M"}"#).unwrap());
            u.birthday = Some("1990-04-02".parse().unwrap());
            u.consents = vec![ConsentChange {
                channel: ConsentChannel::Email,
                status: ConsentStatus::OptedIn,
                at: None,
                source: "signup_form".into(),
            }];
            let created = customers::upsert(c, &u)?;
            assert!(matches!(created, Upserted::Created(_)));

            // Update: given fields change, others stay; attributes merge; null removes.
            let mut v = customer("C-1");
            v.locale = Some("ja".into());
            v.attributes = Some(serde_json::from_str(r#"{"size":null,"shoe":"24"}"#).unwrap());
            v.consents = vec![ConsentChange {
                channel: ConsentChannel::Email,
                status: ConsentStatus::OptedOut,
                at: None,
                source: "unsubscribe_link".into(),
            }];
            assert_eq!(customers::upsert(c, &v)?, Upserted::Updated(created.id()));

            let got = customers::get(c, created.id())?.unwrap();
            assert_eq!(got.name.as_deref(), Some("Hana Sato"));
            assert_eq!(got.email.as_deref(), Some("Hana@example.com"));
            assert_eq!(got.locale.as_deref(), Some("ja"));
            assert_eq!(got.channels, vec![Channel::InStore, Channel::Ecommerce]);
            assert_eq!(got.attributes.get("favourite").unwrap(), "latte");
            assert!(got.attributes.get("size").is_none());
            assert_eq!(got.attributes.get("shoe").unwrap(), "24");
            assert_eq!(got.consents.len(), 1);
            assert_eq!(got.consents[0].status, ConsentStatus::OptedOut);
            assert_eq!(got.consents[0].source, "unsubscribe_link");
            let log = customers::consent_history(c, got.id, ConsentChannel::Email)?;
            assert_eq!(log.len(), 2);

            for i in 2..=30 {
                let mut w = customer(&format!("C-{i}"));
                w.name = Some(format!("Person {i}"));
                customers::upsert(c, &w)?;
            }
            let q = |text: &str| customers::CustomerQuery { text: Some(text.into()), limit: 50, ..Default::default() };
            assert_eq!(customers::search(c, &q("hana"))?.items.len(), 1);
            assert_eq!(customers::search(c, &q("hana@EXAMPLE"))?.items.len(), 1);
            assert_eq!(
                customers::search(c, &q("090-1234"))?.items.len(),
                1,
                "a phone as typed finds the stored +81 form"
            );
            assert_eq!(customers::search(c, &q("+8190"))?.items.len(), 1);
            assert_eq!(customers::search(c, &q("C-7"))?.items.len(), 1);
            assert_eq!(customers::search(c, &q("50%"))?.items.len(), 0);
            assert_eq!(customers::search(c, &q("Person_1"))?.items.len(), 0, "_ is a character, not a wildcard");
            assert_eq!(customers::search(c, &q("Person 1"))?.items.len(), 10, "Person 10 to 19");
            let by = |tag: Option<&str>, channel: Option<Channel>| customers::CustomerQuery {
                tag: tag.map(String::from),
                channel,
                limit: 50,
                ..Default::default()
            };
            let found = customers::search(c, &by(Some("vip"), None))?.items;
            assert_eq!(found.iter().map(|x| x.external_id.as_str()).collect::<Vec<_>>(), ["C-1"]);
            assert_eq!(customers::search(c, &by(Some("vip"), Some(Channel::Ecommerce)))?.items.len(), 1);
            assert_eq!(customers::search(c, &by(Some("vip"), Some(Channel::Phone)))?.items.len(), 0);
            assert_eq!(customers::search(c, &by(Some("VIP"), None))?.items.len(), 0, "tags are exact");
            // Pagination walks everyone exactly once.
            let mut seen = 0;
            let mut after = 0;
            loop {
                let page = customers::search(c, &customers::CustomerQuery { after, limit: 7, ..Default::default() })?;
                seen += page.items.len();
                match page.next_cursor {
                    Some(n) => after = n,
                    None => break,
                }
            }
            assert_eq!(seen, 30);
            assert_eq!(customers::count(c)?, 30);
            assert!(customers::delete(c, got.id)?);
            assert!(customers::get(c, got.id)?.is_none());
            assert!(customers::get_by_external_id(c, "C-2")?.is_some());
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn orders_are_idempotent_and_keep_stats() {
    each(|s| {
        s.write(|c| -> Result<(), StoreError> {
            let (ids, created) =
                customers::resolve_or_create(c, &[("A".into(), 100), ("B".into(), 100), ("A".into(), 100)])?;
            assert_eq!(created.len(), 2);
            let a = ids["A"];
            let batch = vec![
                order("O-1", a, "2026-01-01T10:00:00Z", "10.00"),
                order("O-2", a, "2026-01-01T15:00:00Z", "5.50"),
                order("O-3", a, "2026-02-01T10:00:00Z", "0.00"),
            ];
            let out = orders::insert_batch(c, &batch)?;
            assert!(out.iter().all(|o| matches!(o, orders::Inserted::Created(_))));
            let again = orders::insert_batch(c, &batch)?;
            assert_eq!(again, out.iter().map(|o| orders::Inserted::Duplicate(o.id())).collect::<Vec<_>>());
            customers::refresh_stats(c, &[a, ids["B"]])?;
            let cust = customers::get(c, a)?.unwrap();
            assert_eq!(cust.stats.order_count, 3);
            assert_eq!(cust.stats.purchase_days, 2);
            assert_eq!(cust.stats.total_spend, amount("15.50"));
            assert_eq!(cust.stats.first_order_at, Some(at("2026-01-01T10:00:00Z")));
            assert_eq!(cust.stats.last_order_at, Some(at("2026-02-01T10:00:00Z")));
            let b = customers::get(c, ids["B"])?.unwrap();
            assert_eq!(b.stats.order_count, 0);

            let o1 = orders::get_by_ref(c, "O-1")?.unwrap();
            assert_eq!(o1.lines.len(), 1);
            assert_eq!(o1.lines[0].unit_price, amount("1.00"));
            assert_eq!(o1.customer_external_id, "A");

            // A partial return, linked, idempotent.
            let ret = NewReturn {
                return_ref: "R-1".into(),
                order_id: Some(o1.id),
                customer_id: a,
                returned_at: at("2026-01-05T10:00:00Z"),
                amount: amount("4.00"),
                reason: Some("damaged".into()),
                lines: vec![ReturnLine {
                    sku: "BEANS-1".into(),
                    quantity: 1,
                    unit_price: amount("4.00"),
                    amount: amount("4.00"),
                }],
            };
            assert!(matches!(orders::insert_returns(c, std::slice::from_ref(&ret))?[0], orders::Inserted::Created(_)));
            assert!(matches!(
                orders::insert_returns(c, std::slice::from_ref(&ret))?[0],
                orders::Inserted::Duplicate(_)
            ));
            assert_eq!(orders::returned_quantities(c, o1.id)?["BEANS-1"], 1);
            assert_eq!(orders::get(c, o1.id)?.unwrap().returned_amount, amount("4.00"));
            customers::refresh_stats(c, &[a])?;
            assert_eq!(customers::get(c, a)?.unwrap().stats.returned_amount, amount("4.00"));
            assert_eq!(
                orders::latest_with_sku(c, a, "BEANS-1", at("2026-01-20T00:00:00Z").timestamp())?,
                Some(batch_id(c, "O-2")?)
            );
            let (n_orders, n_lines, total) = orders::totals(c)?;
            assert_eq!((n_orders, n_lines, total), (3, 3, amount("15.50")));

            let mut pages = 0;
            let mut returns_seen = 0;
            orders::for_each_page(c, 2, |o, r| {
                pages += usize::from(!o.is_empty());
                returns_seen += r.len();
                Ok::<(), StoreError>(())
            })?;
            assert_eq!((pages, returns_seen), (2, 1));
            Ok(())
        })
        .unwrap();
    });
}

fn batch_id(c: &mut dyn Conn, r: &str) -> Result<i64, StoreError> {
    Ok(orders::get_by_ref(c, r)?.unwrap().id)
}

#[test]
fn a_failed_write_leaves_nothing() {
    each(|s| {
        let r: Result<(), StoreError> = s.write(|c| {
            customers::upsert(c, &customer("X-1"))?;
            Err(StoreError::Conflict("stop".into()))
        });
        assert!(r.is_err());
        let n = s.read(|c| customers::count(c)).unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn timeline_merges_newest_first() {
    each(|s| {
        s.write(|c| -> Result<(), StoreError> {
            let id = customers::upsert(c, &customer("T-1"))?.id();
            orders::insert_batch(c, &[order("T-O1", id, "2026-03-01T10:00:00Z", "20.00")])?;
            history::add_communication(
                c,
                &Communication {
                    id: 0,
                    customer_id: id,
                    channel: "email".into(),
                    campaign: Some("spring".into()),
                    step: None,
                    variant: Some("A".into()),
                    subject: Some("Spring beans are here".into()),
                    sent_at: at("2026-03-02T09:00:00Z"),
                    status: "delivered".into(),
                },
            )?;
            let i = history::add_interaction(
                c,
                &NewInteraction {
                    customer_id: id,
                    kind: InteractionKind::Complaint,
                    channel: Some("phone".into()),
                    body: "Beans were stale".into(),
                    status: InteractionStatus::Open,
                    staff: Some("ken".into()),
                    occurred_at: at("2026-03-03T12:00:00Z"),
                    assignee_id: None,
                    resolution: None,
                },
            )?;
            let t = history::timeline(c, id, 10, 0)?;
            let kinds: Vec<&str> = t.iter().map(|e| e.kind.as_str()).collect();
            assert_eq!(kinds, ["interaction", "communication", "order"]);
            assert_eq!(t[2].amount, Some(amount("20.00")));
            assert_eq!(history::timeline(c, id, 1, 1)?[0].kind, "communication");
            let open = history::interactions(c, None, Some(InteractionStatus::Open), 10, 0)?;
            assert_eq!(open.len(), 1);
            let r = history::resolve_interaction(c, i.id, Some("aya"))?.unwrap();
            assert_eq!(r.status, InteractionStatus::Resolved);
            assert!(r.resolved_at.is_some());
            assert!(history::interactions(c, Some(id), Some(InteractionStatus::Open), 10, 0)?.is_empty());
            assert_eq!(history::communications(c, id, 10, 0)?.len(), 1);
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn events_accounts_products_tokens_settings_imports() {
    each(|s| {
        s.write(|c| -> Result<(), StoreError> {
            let id = customers::upsert(c, &customer("E-1"))?.id();
            let ev = |r: Option<&str>, when: &str| NewEvent {
                customer_id: id,
                name: "viewed_product".into(),
                occurred_at: at(when),
                properties: serde_json::from_str(r#"{"sku":"BEANS-1"}"#).unwrap(),
                event_ref: r.map(String::from),
            };
            assert_eq!(
                history::add_events(
                    c,
                    &[
                        ev(Some("e1"), "2025-01-01T00:00:00Z"),
                        ev(Some("e1"), "2026-01-01T00:00:00Z"),
                        ev(None, "2026-01-02T00:00:00Z")
                    ]
                )?,
                2
            );
            assert_eq!(history::add_events(c, &[ev(Some("e1"), "2026-01-01T00:00:00Z")])?, 0);
            assert_eq!(history::events(c, id, 10, 0)?[0].properties["sku"], "BEANS-1");
            assert_eq!(history::purge_events_before(c, at("2025-06-01T00:00:00Z").timestamp())?, 1);

            let acc = AccountUpsert {
                external_id: "ACME".parse().unwrap(),
                name: Some("Acme".into()),
                industry: Some("food".into()),
                region: None,
                size_band: None,
            };
            let aid = accounts::upsert(c, &acc)?;
            assert!(matches!(aid, Upserted::Created(_)));
            assert_eq!(
                accounts::upsert(c, &AccountUpsert { region: Some("Kanto".into()), ..acc.clone() })?,
                Upserted::Updated(aid.id())
            );
            let got = accounts::get_by_external_id(c, "ACME")?.unwrap();
            assert_eq!((got.industry.as_deref(), got.region.as_deref()), (Some("food"), Some("Kanto")));
            assert_eq!(accounts::list(c, 0, 10)?.len(), 1);
            assert_eq!(accounts::get(c, aid.id())?.unwrap().name, "Acme");

            let p = Product {
                sku: "BEANS-1".into(),
                name: Some("Beans".into()),
                category: Some("coffee".into()),
                price: Some(amount("28.70")),
                currency: Some("USD".into()),
            };
            assert!(products::upsert(c, &p)?);
            assert!(!products::upsert(c, &Product { name: None, price: Some(amount("29.00")), ..p.clone() })?);
            let got = products::get(c, "BEANS-1")?.unwrap();
            assert_eq!((got.name.as_deref(), got.price), (Some("Beans"), Some(amount("29.00"))));
            assert_eq!(products::insert_missing(c, &[p.clone(), Product { sku: "CUP".into(), ..p.clone() }])?, 1);
            assert_eq!(products::list(c, "", 10)?.len(), 2);

            let t = tokens::create(c, Role::Marketer, "ci")?;
            assert!(t.starts_with(tokens::TOKEN_PREFIX));
            assert_eq!(tokens::role_of(c, &t)?, Some(Role::Marketer));
            assert_eq!(tokens::role_of(c, "enishi_nope")?, None);
            assert_eq!(tokens::revoke_label(c, "ci")?, 1);
            assert_eq!(tokens::role_of(c, &t)?, None);

            assert_eq!(settings::get(c, settings::TIME_ZONE)?, None);
            settings::set(c, settings::TIME_ZONE, "Asia/Tokyo")?;
            settings::set(c, settings::TIME_ZONE, "Europe/Paris")?;
            assert_eq!(settings::get(c, settings::TIME_ZONE)?.as_deref(), Some("Europe/Paris"));

            let rec = ImportRecord {
                id: 0,
                kind: "orders".into(),
                format: "cdnow".into(),
                file_name: "x.txt".into(),
                sha256: "abc".into(),
                started_at: at("2026-01-01T00:00:00Z"),
                finished_at: at("2026-01-01T00:00:01Z"),
                summary: serde_json::json!({"orders_created": 3}),
            };
            imports::record(c, &rec)?;
            assert_eq!(imports::find_by_hash(c, "abc")?[0].summary["orders_created"], 3);
            assert_eq!(imports::recent(c, 5)?.len(), 1);
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn conflicts_are_reported_as_such() {
    each(|s| {
        let r = s.write(|c| -> Result<(), StoreError> {
            c.execute("INSERT INTO settings (key, value) VALUES ('a', '1')", &[])?;
            c.execute("INSERT INTO settings (key, value) VALUES ('a', '2')", &[])?;
            Ok(())
        });
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    });
}

#[test]
fn reopening_keeps_data_and_migrations_run_once() {
    let db = testing::sqlite();
    db.store.write(|c| customers::upsert(c, &customer("K"))).unwrap();
    let again = Store::open(&db.url).unwrap();
    assert_eq!(again.read(|c| customers::count(c)).unwrap(), 1);
    if let Some(pg) = testing::postgres() {
        let again = Store::open(&pg.url).unwrap();
        assert_eq!(again.read(|c| customers::count(c)).unwrap(), 0);
    }
}

#[test]
fn users_sign_in_with_passwords_and_sessions_end() {
    use enishi_core::Language;
    use enishi_store::repo::users::{self, UserError};
    each(|s| {
        s.write(|c| {
            let owner = users::create(c, " Owner@Shop.example ", "Aiko", Role::Admin, Language::Ja, "correct horse")?;
            let staff = users::create(c, "till@shop.example", "", Role::Staff, Language::En, "battery staple")?;
            assert!(matches!(
                users::create(c, "owner@shop.example", "x", Role::Staff, Language::En, "long enough pw"),
                Err(UserError::Taken(_))
            ));
            assert!(matches!(
                users::create(c, "x@y", "x", Role::Staff, Language::En, "short"),
                Err(UserError::WeakPassword)
            ));
            assert!(matches!(
                users::create(c, "nobody", "x", Role::Staff, Language::En, "long enough pw"),
                Err(UserError::BadEmail(_))
            ));
            let me = users::check_password(c, "OWNER@shop.example", "correct horse")?.expect("case-insensitive email");
            assert_eq!((me.id, me.role, me.language, me.name.as_str()), (owner, Role::Admin, Language::Ja, "Aiko"));
            assert_eq!(users::check_password(c, "owner@shop.example", "wrong horse")?, None);
            assert_eq!(users::check_password(c, "nobody@shop.example", "correct horse")?, None);
            assert_eq!(users::get(c, staff)?.map(|u| u.name), Some("till".to_string()));

            let session = users::start_session(c, owner, 1_000)?;
            assert_eq!(users::session_user(c, &session, 1_001)?.map(|u| u.id), Some(owner));
            assert_eq!(users::session_user(c, &session, 1_000 + users::SESSION_SECONDS)?, None, "expired");
            assert_eq!(users::session_user(c, "nope", 1_001)?, None);
            users::end_session(c, &session)?;
            assert_eq!(users::session_user(c, &session, 1_001)?, None, "signed out");

            // The last admin stays an enabled admin; disabling a user ends their sessions.
            assert!(matches!(users::set_role(c, owner, Role::Staff), Err(UserError::LastAdmin)));
            assert!(matches!(users::set_disabled(c, owner, true), Err(UserError::LastAdmin)));
            let till = users::start_session(c, staff, 1_000)?;
            users::set_disabled(c, staff, true)?;
            assert_eq!(users::session_user(c, &till, 1_001)?, None);
            assert_eq!(users::check_password(c, "till@shop.example", "battery staple")?, None);
            users::set_disabled(c, staff, false)?;
            users::set_role(c, staff, Role::Marketer)?;
            users::set_language(c, staff, Language::Ja)?;
            let s1 = users::start_session(c, staff, 1_000)?;
            let s2 = users::start_session(c, staff, 1_000)?;
            users::set_password(c, staff, "a new long password", Some(&s1))?;
            assert_eq!(
                users::session_user(c, &s1, 1_001)?.map(|u| (u.role, u.language)),
                Some((Role::Marketer, Language::Ja))
            );
            assert_eq!(users::session_user(c, &s2, 1_001)?, None, "other sessions end with a new password");
            assert!(users::check_password(c, "till@shop.example", "a new long password")?.is_some());
            assert_eq!(users::list(c)?.len(), 2);
            Ok::<_, UserError>(())
        })
        .unwrap();
    });
}

#[test]
fn bulk_writes_skip_reference_checks_on_sqlite_only_inside_them() {
    each(|s| {
        let orphan = |c: &mut dyn Conn| {
            c.execute(
                "INSERT INTO loyalty_accounts (customer_id, referral_code, updated_at) VALUES ($1, $2, $3)",
                &[Value::Int(987_654), Value::Text("ORPHAN".into()), Value::Int(0)],
            )
        };
        assert!(s.write(orphan).is_err(), "a reference to no customer is refused");
        // Rolled back by the error returned after the insert, which only SQLite lets through.
        let inside = s.bulk_write(|c| -> Result<(), StoreError> {
            orphan(c)?;
            Err(StoreError::Conflict("undo".into()))
        });
        match s.backend() {
            Backend::Sqlite => assert!(matches!(&inside, Err(StoreError::Conflict(m)) if m == "undo"), "{inside:?}"),
            Backend::Postgres => assert!(!matches!(&inside, Err(StoreError::Conflict(m)) if m == "undo"), "{inside:?}"),
        }
        // The checks are back for every transaction after it, even one a panic unwound.
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            s.bulk_write(|_| -> Result<(), StoreError> { panic!("a bug in a bulk writer") })
        }));
        assert!(unwound.is_err());
        for _ in 0..3 {
            assert!(s.write(orphan).is_err(), "checked again after the bulk write");
        }
        let n = s.read(|c| c.query("SELECT COUNT(*) FROM loyalty_accounts WHERE customer_id = 987654", &[])).unwrap();
        assert_eq!(n[0].int(0).unwrap(), 0);
    });
}

#[test]
fn bulk_inserts_write_every_row_once() {
    each(|s| {
        s.write(|c| -> Result<(), StoreError> {
            // 75 customers and 70 orders: two full multi-row statements and a rest, on SQLite.
            let wanted: Vec<(String, i64)> = (0..75).map(|i| (format!("BULK-{i:03}"), 1_000 + i)).collect();
            let (ids, created) = customers::create_new(c, wanted.iter().collect())?;
            assert_eq!((ids.len(), created.len()), (75, 75));
            let mut batch = Vec::new();
            for i in 0..70 {
                let mut o = order(&format!("BO-{i:03}"), ids[&format!("BULK-{i:03}")], "2026-03-01T10:00:00Z", "3.00");
                o.lines = (0..1 + i % 3)
                    .map(|n| OrderLine {
                        sku: format!("SKU-{n}"),
                        product_name: (n == 0).then(|| "First".to_string()),
                        category: None,
                        quantity: 1,
                        unit_price: amount("1.00"),
                        amount: amount("1.00"),
                    })
                    .collect();
                o.total = amount(&format!("{}.00", o.lines.len()));
                batch.push(o);
            }
            let order_ids = orders::insert_new(c, &batch.iter().collect::<Vec<_>>())?;
            assert_eq!(order_ids.len(), 70);
            let lines: usize = batch.iter().map(|o| o.lines.len()).sum();
            assert_eq!(orders::totals(c)?, (70, lines as i64, amount(&format!("{lines}.00"))));
            let last = orders::get_by_ref(c, "BO-069")?.unwrap();
            assert_eq!((last.id, last.customer_external_id.as_str(), last.lines.len()), (order_ids[69], "BULK-069", 1));
            let third = orders::get_by_ref(c, "BO-002")?.unwrap();
            let skus: Vec<&str> = third.lines.iter().map(|l| l.sku.as_str()).collect();
            assert_eq!(skus, ["SKU-0", "SKU-1", "SKU-2"]);
            assert_eq!(third.lines[0].product_name.as_deref(), Some("First"));
            assert_eq!(third.lines[1].product_name, None);

            // 35 returns, one named twice: created once, the second answered as its duplicate.
            let ret = |i: usize| NewReturn {
                return_ref: format!("BR-{i:03}"),
                order_id: Some(order_ids[i]),
                customer_id: batch[i].customer_id,
                returned_at: at("2026-03-02T10:00:00Z"),
                amount: amount("1.00"),
                reason: None,
                lines: vec![ReturnLine {
                    sku: "SKU-0".into(),
                    quantity: 1,
                    unit_price: amount("1.00"),
                    amount: amount("1.00"),
                }],
            };
            let mut returns: Vec<NewReturn> = (0..34).map(ret).collect();
            returns.push(ret(5));
            let out = orders::insert_returns(c, &returns)?;
            let created: Vec<i64> = out
                .iter()
                .filter_map(|o| match o {
                    orders::Inserted::Created(id) => Some(*id),
                    orders::Inserted::Duplicate(_) => None,
                })
                .collect();
            assert_eq!(created.len(), 34);
            assert_eq!(out[34], orders::Inserted::Duplicate(out[5].id()));
            assert!(orders::insert_returns(c, &returns)?.iter().all(|o| matches!(o, orders::Inserted::Duplicate(_))));
            assert_eq!(orders::returned_quantities(c, order_ids[5])?["SKU-0"], 1);
            assert_eq!(orders::get(c, order_ids[33])?.unwrap().returned_amount, amount("1.00"));

            // Rows that do not match the columns are refused before anything is written.
            let bad = Rows::collect([[Param::Int(1), Param::from("x")]]);
            assert!(c.insert_rows("products", &["sku"], &bad).is_err());
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn ledger_reads_find_an_orders_own_entries_their_lots_and_referral_rewards() {
    use enishi_store::repo::loyalty::{self, Lot, NewEntry};
    each(|s| {
        s.write(|c| -> Result<(), StoreError> {
            let (ids, _) =
                customers::create_new(c, vec![&("LED-1".to_string(), 1_000), &("LED-2".to_string(), 1_000)])?;
            let (a, b) = (ids["LED-1"], ids["LED-2"]);
            let placed = at("2026-03-01T10:00:00Z").timestamp();
            let entry = |customer_id, kind, points, source, source_ref, key, occurred_at| NewEntry {
                customer_id,
                kind,
                points,
                source,
                source_ref,
                program_version: Some(1),
                idempotency_key: key,
                reason: None,
                detail: "{}",
                occurred_at,
                available_at: occurred_at,
                expires_at: Some(occurred_at + 86_400 * 365),
            };
            let entries = [
                entry(a, "earn", 50, "order", Some("O-1"), "order:O-1", placed),
                entry(a, "bonus", 50, "promotion", Some("O-1"), "order:O-1:promotion:double", placed),
                // Same order id, another time: not that order's.
                entry(a, "earn", 7, "order", Some("O-1"), "order:O-1-other", placed + 60),
                entry(a, "earn", 30, "order", Some("O-2"), "order:O-2", placed + 3_600),
                entry(a, "bonus", 10, "referral", Some("O-2"), "referrer:77", placed + 3_600),
                entry(a, "bonus", 10, "referral", Some("O-2"), "referrer:78", placed + 3_600),
                entry(b, "bonus", 5, "referral", Some("O-3"), "referee:2", placed),
            ];
            let ledger_ids = loyalty::append_new(c, &entries)?;
            let lots: Vec<Lot> = entries
                .iter()
                .zip(&ledger_ids)
                .map(|(e, &ledger_id)| Lot {
                    ledger_id,
                    customer_id: e.customer_id,
                    // The first order's purchase points are spent.
                    remaining: if ledger_id == ledger_ids[0] { 0 } else { e.points },
                    available_at: e.available_at,
                    expires_at: e.expires_at,
                })
                .collect();
            loyalty::insert_lots(c, &lots)?;

            assert_eq!(loyalty::own_entry_ids(c, a, placed, "O-1")?, ledger_ids[0..2]);
            assert_eq!(loyalty::own_entry_ids(c, a, placed, "O-9")?, Vec::<i64>::new());
            let open = loyalty::open_lots_with_orders_of(c, &[a, b])?;
            let seen: Vec<(i64, Option<(i64, &str)>)> =
                open.iter().map(|l| (l.lot.ledger_id, l.order.as_ref().map(|(t, r)| (*t, r.as_str())))).collect();
            let mut wanted = vec![
                (ledger_ids[1], Some((placed, "O-1"))),
                (ledger_ids[2], Some((placed + 60, "O-1"))),
                (ledger_ids[3], Some((placed + 3_600, "O-2"))),
                (ledger_ids[4], None),
                (ledger_ids[5], None),
                (ledger_ids[6], None),
            ];
            // Soonest expiry first, then the oldest.
            wanted.sort_by_key(|(id, _)| (lots.iter().find(|l| l.ledger_id == *id).unwrap().expires_at, *id));
            assert_eq!(seen, wanted);
            assert_eq!(open.iter().map(|l| l.lot).collect::<Vec<_>>(), loyalty::open_lots_of(c, &[a, b])?);
            assert_eq!(loyalty::referral_rewards(c, &[a, b])?, [(a, 2)]);
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn sums_that_overflow_are_out_of_range_not_database_failures() {
    each(|s| {
        // SQLite stops with "integer overflow"; PostgreSQL sums bigints into a numeric that
        // does not fit back in 64 bits. Both are the client's range problem, not a failure.
        let r = s.read(|c| {
            c.query_one("SELECT SUM(x) FROM (SELECT 9223372036854775807 AS x UNION ALL SELECT 1 AS x) t", &[])?.int(0)
        });
        assert!(matches!(r, Err(StoreError::OutOfRange(_))), "{r:?}");
        let r = s.read(|c| c.query_one("SELECT 9223372036854775807 + 1", &[])?.int(0));
        assert!(matches!(r, Err(StoreError::OutOfRange(_))), "{r:?}");
    });
}

#[test]
fn a_job_period_is_claimed_once_and_a_dead_holders_lease_runs_out() {
    use enishi_store::repo::job_runs::{claim, finish, release};
    each(|s| {
        let w = |f: &dyn Fn(&mut dyn Conn) -> Result<bool, StoreError>| s.write(|c| f(c)).unwrap();
        assert!(w(&|c| claim(c, "daily", 10, "a", 1_000, 2_000)));
        assert!(!w(&|c| claim(c, "daily", 10, "b", 1_500, 2_500)), "a holds it");
        assert!(w(&|c| claim(c, "daily", 10, "a", 1_600, 2_600)), "the holder may renew");
        // a dies; once its lease has run out, b takes the period over and finishes it.
        assert!(w(&|c| claim(c, "daily", 10, "b", 2_600, 3_600)));
        w(&|c| finish(c, "daily", 10, "b", 2_700).map(|()| true));
        assert!(!w(&|c| claim(c, "daily", 10, "a", 9_999, 10_999)), "done");
        assert!(!w(&|c| claim(c, "daily", 9, "a", 9_999, 10_999)), "periods only go forward");
        // A failed run gives the period back at once.
        assert!(w(&|c| claim(c, "daily", 11, "a", 3_000, 4_000)));
        w(&|c| release(c, "daily", "a").map(|()| true));
        assert!(w(&|c| claim(c, "daily", 11, "b", 3_001, 4_001)));
        assert!(w(&|c| claim(c, "weekly", 11, "a", 3_001, 4_001)), "jobs are claimed apart");
    });
}

#[test]
fn a_changed_or_unknown_migration_stops_start_up_with_the_reason() {
    for db in testing::all() {
        let open_error = || match Store::open(&db.url) {
            Ok(_) => panic!("opened"),
            Err(e) => e.to_string(),
        };
        let set = |sql: &str| db.store.write(|c| c.execute(sql, &[])).unwrap();
        // A database migrated before checksums were kept gets them recorded, and opens.
        set("UPDATE schema_migrations SET checksum = NULL");
        Store::open(&db.url).unwrap();
        let recorded = db
            .store
            .read(|c| c.query_one("SELECT COUNT(*) FROM schema_migrations WHERE checksum IS NOT NULL", &[])?.int(0))
            .unwrap();
        assert!(recorded >= 11, "{recorded}");
        // A migration whose text changed after it was applied.
        set("UPDATE schema_migrations SET checksum = 'beef' WHERE version = 3");
        let e = open_error();
        assert!(e.contains("schema migration 3 has changed") && e.contains("beef"), "{e}");
        set("UPDATE schema_migrations SET checksum = NULL WHERE version = 3");
        // A database a newer Enishi migrated.
        set("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)");
        let e = open_error();
        assert!(e.contains("schema version 9999") && e.contains("newer version"), "{e}");
    }
}

/// Tables → columns → (type family, NOT NULL), and the secondary indexes as (table, columns or
/// expression, unique), read from a migrated database.
type Schema = (BTreeMap<String, BTreeMap<String, (&'static str, bool)>>, BTreeSet<(String, String, bool)>);

fn type_family(t: &str) -> &'static str {
    let t = t.to_ascii_uppercase();
    if t.contains("INT") {
        "integer"
    } else if t.contains("CHAR") || t.contains("TEXT") {
        "text"
    } else if t.contains("REAL") || t.contains("DOUBLE") || t.contains("FLOAT") {
        "real"
    } else if t.contains("NUMERIC") || t.contains("DECIMAL") {
        "numeric"
    } else {
        "other"
    }
}

fn schema_of(s: &Store) -> Schema {
    s.read(|c| -> Result<Schema, StoreError> {
        let (mut tables, mut indexes) = (BTreeMap::new(), BTreeSet::new());
        let sqlite = c.backend() == enishi_store::Backend::Sqlite;
        let columns = if sqlite {
            "SELECT m.name, p.name, p.type, p.\"notnull\" + p.pk FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        } else {
            "SELECT table_name, column_name, data_type, CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END \
             FROM information_schema.columns WHERE table_schema = current_schema()"
        };
        for r in c.query(columns, &[])? {
            let table: &mut BTreeMap<String, (&'static str, bool)> = tables.entry(r.text(0)?).or_default();
            table.insert(r.text(1)?, (type_family(&r.text(2)?), r.int(3)? > 0));
        }
        if sqlite {
            let rows = c.query(
                "SELECT m.name, l.name, l.\"unique\", l.origin FROM sqlite_master m, pragma_index_list(m.name) l \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
                &[],
            )?;
            for r in rows {
                if r.text(3)? == "pk" {
                    continue;
                }
                let sql =
                    c.query_one("SELECT COALESCE(sql, '') FROM sqlite_master WHERE name = $1", params![r.text(1)?])?;
                let def = sql.text(0)?;
                let cols = match parenthesised(&def) {
                    Some(inside) => inside.to_string(),
                    None => c
                        .query("SELECT name FROM pragma_index_info($1)", params![r.text(1)?])?
                        .iter()
                        .map(|x| x.text(0))
                        .collect::<Result<Vec<_>, _>>()?
                        .join(", "),
                };
                indexes.insert((r.text(0)?, normalise(&cols), r.int(2)? == 1));
            }
        } else {
            let rows = c.query(
                "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema() \
                 AND indexname NOT LIKE '%\\_pkey'",
                &[],
            )?;
            for r in rows {
                let def = r.text(1)?;
                let cols = def.split_once(" USING ").and_then(|(_, rest)| parenthesised(rest)).unwrap_or_default();
                indexes.insert((r.text(0)?, normalise(cols), def.starts_with("CREATE UNIQUE")));
            }
        }
        Ok((tables, indexes))
    })
    .unwrap()
}

/// What the first parenthesis of `def` holds (an index's columns or expressions).
fn parenthesised(def: &str) -> Option<&str> {
    let start = def.find('(')? + 1;
    let mut depth = 1;
    for (i, ch) in def[start..].char_indices() {
        match ch {
            '(' => depth += 1,
            ')' if depth == 1 => return Some(&def[start..start + i]),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// An index's column list written one way: lower case, no spaces or quotes, without
/// PostgreSQL's casts of literals (`''::text`).
fn normalise(cols: &str) -> String {
    cols.to_ascii_lowercase().replace([' ', '"'], "").replace("::text", "")
}

#[test]
fn both_databases_get_the_same_tables_columns_and_indexes() {
    let Some(pg) = testing::postgres() else { return };
    let (lite, post) = (schema_of(&testing::sqlite().store), schema_of(&pg.store));
    assert_eq!(lite.0.keys().collect::<Vec<_>>(), post.0.keys().collect::<Vec<_>>(), "tables");
    for (table, columns) in &lite.0 {
        assert_eq!(Some(columns), post.0.get(table), "columns of {table} (type family, NOT NULL)");
    }
    assert_eq!(lite.1, post.1, "secondary indexes");
    assert!(lite.0.len() >= 30 && lite.1.len() >= 20, "{} tables, {:?}", lite.0.len(), lite.1);
    assert!(lite.1.contains(&("customers".into(), "lower(email)".into(), false)), "{:?}", lite.1);
    assert!(lite.0["loyalty_ledger"]["points"] == ("integer", true));
}

#[test]
fn external_ids_are_read_for_the_asked_customers_only() {
    each(|store| {
        let ids: Vec<i64> = store
            .write(|c| {
                let mut ids = Vec::new();
                for ext in ["A1", "A2", "A3"] {
                    ids.push(customers::upsert(c, &customer(ext))?.id());
                }
                Ok::<_, StoreError>(ids)
            })
            .unwrap();
        // Over several chunks of the IN list, in the order asked, "" for nobody, repeats kept.
        let mut asked: Vec<i64> = (10_000..11_100).collect();
        asked.insert(0, ids[2]);
        asked.insert(700, ids[0]);
        asked.push(ids[1]);
        asked.push(ids[2]);
        let got = store.read(|c| enishi_store::repo::campaigns::external_ids(c, &asked)).unwrap();
        assert_eq!(got.len(), asked.len());
        assert_eq!((got[0].as_str(), got[700].as_str()), ("A3", "A1"));
        assert_eq!(&got[got.len() - 2..], ["A2", "A3"]);
        assert_eq!(got.iter().filter(|e| e.is_empty()).count(), 1_100);
        assert!(store.read(|c| enishi_store::repo::campaigns::external_ids(c, &[])).unwrap().is_empty());
    });
}

/// The plan of `query` on the store's database (sequential scans discouraged on PostgreSQL,
/// so that a usable index shows), its lines joined.
fn plan_of(store: &enishi_store::Store, query: &str) -> String {
    store
        .read(|c| {
            let sqlite = c.backend() == Backend::Sqlite;
            if !sqlite {
                c.execute("SET LOCAL enable_seqscan = off", &[])?;
            }
            let explain = if sqlite { "EXPLAIN QUERY PLAN" } else { "EXPLAIN" };
            let rows = c.query(&format!("{explain} {query}"), &[])?;
            let column = if sqlite { 3 } else { 0 };
            rows.iter().map(|r| r.text(column)).collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
        .join(" / ")
}

#[test]
fn a_coupon_is_found_by_its_source_ref_through_an_index() {
    each(|store| {
        let plan = plan_of(store, "SELECT id FROM loyalty_coupons WHERE source_ref = 'campaign:1:2'");
        assert!(plan.contains("loyalty_coupons_source"), "{plan}");
    });
}

#[test]
fn a_referrers_customers_are_counted_through_an_index() {
    // Every message's loyalty summary counts the customer's referrals: a scan of every customer
    // per message held sending at 600 messages/s on 20,000 customers.
    each(|store| {
        let plan = plan_of(store, "SELECT COUNT(*) FROM customers WHERE referred_by = 7");
        assert!(plan.contains("customers_referred_by"), "{plan}");
    });
}

#[test]
fn lifecycle_inputs_pass_over_stats_that_count_orders_without_their_dates() {
    each(|s| {
        s.write(|c| {
            let good = customers::upsert(c, &customer("L-GOOD"))?.id();
            orders::insert_batch(c, &[order("L-1", good, "2026-11-01T10:00:00Z", "12.00")])?;
            customers::refresh_stats(c, &[good])?;
            // A hand-edited row: orders counted, no dates.
            let bad = customers::upsert(c, &customer("L-BAD"))?.id();
            c.execute(
                "INSERT INTO customer_stats (customer_id, order_count, purchase_days, total_spend, returned_amount, updated_at) \
                 VALUES ($1, 2, 1, 0, 0, 0) ON CONFLICT (customer_id) DO UPDATE SET order_count = 2, first_order_at = NULL",
                params![bad],
            )?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let rows = s.read(enishi_store::repo::scores::lifecycle_inputs).unwrap();
        let ids: Vec<&str> = rows.iter().map(|r| r.external_id.as_str()).collect();
        assert_eq!(ids, ["L-GOOD"], "the dashboard's lifecycle reads the others, not a 500");
    });
}
