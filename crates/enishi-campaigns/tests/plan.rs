//! The contact plan by cost: a hand-computed plan, budget edge cases, the audience read from
//! the store (consent, addresses, suppression, scores) and the campaigns it creates, on SQLite
//! and PostgreSQL.

#[path = "support/shop.rs"]
mod shop;

use enishi_campaigns::campaigns as ops;
use enishi_campaigns::plan::{self, Candidate, Class, Costs, Medium};
use enishi_campaigns::template::Parts;
use enishi_core::{Amount, BusinessClock, ManualClock};
use enishi_store::repo::campaigns as repo;
use enishi_store::{params, testing, Store};
use shop::{customer, news_segment, t0, yen};
use std::sync::Arc;

fn candidate(id: i64, class: Class, clv: f64, reachable: &[Medium]) -> Candidate {
    Candidate { customer_id: id, external_id: format!("C{id}"), class, clv, reachable: reachable.to_vec() }
}

/// L1, L3, L2 loyal; S2, S1 semi-loyal; O1, O2 the long tail; O3 only by letter; N1 by nothing.
fn audience() -> Vec<Candidate> {
    use Medium::*;
    vec![
        candidate(1, Class::Loyal, 900.0, &[Call, Letter, Email]),
        candidate(2, Class::Loyal, 500.0, &[Letter, Email]),
        candidate(3, Class::Loyal, 700.0, &[Call, Email]),
        candidate(4, Class::SemiLoyal, 300.0, &[Letter, Email]),
        candidate(5, Class::SemiLoyal, 400.0, &[Email]),
        candidate(6, Class::Other, 1000.0, &[Email]),
        candidate(7, Class::Other, 50.0, &[Email]),
        candidate(8, Class::Other, 0.0, &[Letter]),
        candidate(9, Class::Other, 0.0, &[]),
    ]
}

fn costs() -> Costs {
    Costs::parse("call=800,letter=150,email=2").unwrap()
}

fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

#[test]
fn the_plan_gives_the_personal_channels_to_the_most_valuable_within_the_budget() {
    let p = plan::make(audience(), amount("1500"), &costs());
    // Emails for the 7 who can get one (14); then by rank: C1 a call (+798, 688 left), C3 no
    // call money and no letter, C2 a letter (+148, 540 left), C5 no letter, C4 a letter (+148).
    assert_eq!(p.customers_on(Medium::Call), [1]);
    assert_eq!(p.customers_on(Medium::Letter), [2, 4]);
    assert_eq!(p.customers_on(Medium::Email), [3, 5, 6, 7]);
    assert_eq!((p.cost.as_str(), p.left.as_str(), p.reached), ("1108", "392", 7));
    assert_eq!(p.unreached, vec![("no_channel", 1), ("no_email", 1), ("budget", 0)]);
    let order: Vec<&str> = p.customers.iter().map(|a| a.customer_id.as_str()).collect();
    assert_eq!(order, ["C1", "C3", "C2", "C5", "C4", "C6", "C7", "C8", "C9"]);
    assert_eq!(p.channels[0].cost, "800");
    assert_eq!(p.channels[1].cost, "300");
    assert_eq!(p.channels[2].cost, "8");

    // Nothing to spend: nobody is reached, and the reason says why.
    let p = plan::make(audience(), Amount::ZERO, &costs());
    assert_eq!((p.reached, p.cost.as_str()), (0, "0"));
    assert_eq!(p.unreached, vec![("no_channel", 1), ("no_email", 1), ("budget", 7)]);

    // Not enough for everyone's email: the most valuable get theirs, no upgrades.
    let p = plan::make(audience(), amount("9"), &costs());
    assert_eq!(p.customers_on(Medium::Email), [1, 3, 2, 5]);
    assert!(p.customers_on(Medium::Call).is_empty() && p.customers_on(Medium::Letter).is_empty());
    assert_eq!((p.cost.as_str(), p.left.as_str()), ("8", "1"));
    assert_eq!(p.unreached[2], ("budget", 3));

    // Money enough for everything: calls for every loyal customer who can take one.
    let p = plan::make(audience(), amount("100000"), &costs());
    assert_eq!(p.customers_on(Medium::Call), [1, 3]);
    assert_eq!(p.customers_on(Medium::Letter), [2, 4]);
    assert_eq!(p.customers_on(Medium::Email), [5, 6, 7]);
}

#[test]
fn the_plan_reads_the_audience_and_creates_one_campaign_per_channel() {
    for db in testing::all() {
        let clock = ManualClock::at(t0());
        let store = Store::open(&db.url).unwrap().with_clock(Arc::new(clock.clone()));
        store
            .write(|c| {
                // 1: loyal, phone + postal + email; 2: semi-loyal, postal + email; 3: other,
                // email but suppressed; 4: other, email; 5: loyal, phone consent without a phone.
                customer(c, 1, true, &[("phone", "opted_in"), ("postal", "opted_in"), ("email", "opted_in")]);
                customer(c, 2, true, &[("postal", "opted_in"), ("email", "opted_in")]);
                customer(c, 3, true, &[("email", "opted_in")]);
                customer(c, 4, true, &[("email", "opted_in")]);
                customer(c, 5, false, &[("phone", "opted_in")]);
                c.execute("UPDATE customers SET postal_code = '150-0001', address_line1 = '神宮前1-1' WHERE id IN (1, 2)", &[])?;
                enishi_store::repo::campaigns::suppress(c, "email", "c3@example.com", "hard_bounce", "test")?;
                for (id, class, clv) in [(1, "loyal", 900.0), (2, "semi_loyal", 300.0), (4, "other", 80.0), (5, "loyal", 1200.0)]
                {
                    c.execute(
                        "INSERT INTO customer_scores (customer_id, loyal_class, clv, updated_at) VALUES ($1, $2, $3, 0)",
                        params![id, class, clv],
                    )?;
                }
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();
        news_segment(&store);
        let calendar = BusinessClock::default();
        let mut found = store.read(|c| plan::candidates(c, "news", &calendar)).unwrap();
        found.sort_by_key(|k| k.customer_id);
        let reach: Vec<(i64, Class, Vec<Medium>)> =
            found.iter().map(|k| (k.customer_id, k.class, k.reachable.clone())).collect();
        assert_eq!(
            reach,
            vec![
                (1, Class::Loyal, vec![Medium::Call, Medium::Letter, Medium::Email]),
                (2, Class::SemiLoyal, vec![Medium::Letter, Medium::Email]),
                (3, Class::Other, vec![]),
                (4, Class::Other, vec![Medium::Email]),
                (5, Class::Loyal, vec![]),
            ]
        );
        let p = plan::make(found, amount("1000"), &costs());
        assert_eq!((p.customers_on(Medium::Call), p.customers_on(Medium::Letter)), (vec![1], vec![2]));
        assert_eq!(p.customers_on(Medium::Email), [4]);
        store
            .write(|c| {
                ops::save_template(
                    c,
                    "plain",
                    "en",
                    &Parts { subject: "Hi".into(), html: "<p>Hi</p>".into(), text: "Hi".into() },
                    yen(),
                )
            })
            .unwrap();
        // The email campaign needs its template; nothing is made without it.
        let e = store.write(|c| plan::create_campaigns(c, &p, &costs(), "winter", None, yen())).unwrap_err();
        assert!(e.to_string().contains("email template"), "{e}");
        assert!(store.read(repo::list).unwrap().is_empty());
        let made = store.write(|c| plan::create_campaigns(c, &p, &costs(), "winter", Some("plain"), yen())).unwrap();
        let names: Vec<(&str, usize)> = made.iter().map(|k| (k.campaign.as_str(), k.customers)).collect();
        assert_eq!(names, [("winter (call)", 1), ("winter (letter)", 1), ("winter (email)", 1)]);
        let call = store.read(|c| ops::find(c, "winter (call)")).unwrap();
        assert_eq!((call.channel.as_str(), call.mailing.as_str()), ("call", "winter"));
        assert_eq!(ops::definition(&call).unwrap().cost_per_message.as_deref(), Some("800"));
        let letter = store.read(|c| ops::find(c, "winter (letter)")).unwrap();
        let m = store.write(|c| ops::start(c, &letter, &calendar)).unwrap();
        assert_eq!((m.audience, m.queued.iter().map(|q| q.1).sum::<usize>()), (1, 1));
        // The same name again is refused as a whole.
        assert!(store.write(|c| plan::create_campaigns(c, &p, &costs(), "winter", Some("plain"), yen())).is_err());
        assert_eq!(store.read(repo::list).unwrap().len(), 3);
    }
}
