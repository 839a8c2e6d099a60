//! `enishi review` and `enishi change` as a user runs them: invite a review after an order,
//! list and approve it, read the rating; record a change, link feedback to it, list changes.
//! Bad input exits 2 and writes nothing.

use enishi_store::repo::customers;
use enishi_store::{params, CustomerUpsert};
use std::path::Path;
use std::process::{Command, Output};

fn enishi(url: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_enishi"))
        .args(["--database-url", url])
        .args(args)
        .current_dir(dir)
        .env_remove("ENISHI_DATABASE_URL")
        .output()
        .expect("run enishi")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn reviews_and_changes_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db").display().to_string();
    let store = enishi_store::Store::open(&db).unwrap();
    let interaction = store
        .write(|c| {
            let u = CustomerUpsert {
                external_id: Some("C-1".parse().unwrap()),
                name: Some("Hana".into()),
                ..Default::default()
            };
            let id = customers::upsert(c, &u)?.id();
            c.execute(
                "INSERT INTO orders (id, order_ref, customer_id, placed_at, placed_day, channel, currency, total, status, created_at) \
                 VALUES (1, 'O-1', $1, 1764000000, 20415, 'in_store', 'JPY', 1000, 'completed', 0)",
                params![id],
            )?;
            c.execute(
                "INSERT INTO order_lines (order_id, line_no, customer_id, sku, category, quantity, unit_price, amount) \
                 VALUES (1, 1, $1, 'BEANS-1', 'coffee', 1, 1000, 1000)",
                params![id],
            )?;
            c.query_one(
                "INSERT INTO interactions (customer_id, kind, body, status, occurred_at, created_at) \
                 VALUES ($1, 'complaint', 'slow delivery', 'open', 0, 0) RETURNING id",
                params![id],
            )?
            .int(0)
        })
        .unwrap();
    let run = |args: &[&str]| enishi(&db, dir.path(), args);
    let count = |sql: &str| store.read(|c| c.query_one(sql, &[])).unwrap().int(0).unwrap();

    // Reviews: a SKU not on the order, an unknown order, a bad day are refused.
    for args in [
        vec!["review", "invite", "--order", "O-1", "--sku", "MUG"],
        vec!["review", "invite", "--order", "O-9"],
        vec!["review", "invite", "--since", "yesterday"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
    }
    assert_eq!(count("SELECT COUNT(*) FROM reviews"), 0, "nothing written");
    let out = run(&["review", "invite", "--order", "O-1", "--sku", "BEANS-1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(printed.contains("BEANS-1 of order O-1 (invited)"), "{printed}");
    let token = printed.trim().rsplit("/r/").next().unwrap().to_string();
    let now = store.now().timestamp();
    store
        .write(|c| {
            let f = enishi_campaigns::reviews::Form { stars: Some("5".into()), body: Some("good".into()) };
            enishi_campaigns::reviews::submit(c, &token, &f, now)
        })
        .unwrap();
    let listed = text(&run(&["review", "list", "--status", "pending"]).stdout);
    assert!(listed.contains("\tpending\tO-1\tBEANS-1\t5/5\tgood"), "{listed}");
    let id = listed.split('\t').next().unwrap().to_string();
    assert_eq!(run(&["review", "moderate", &id, "--status", "published"]).status.code(), Some(2));
    assert_eq!(text(&run(&["review", "rating", "BEANS-1"]).stdout), "BEANS-1\t-\t0 reviews\n", "pending: not counted");
    let out = run(&["review", "moderate", &id, "--status", "approved"]);
    assert_eq!(text(&out.stdout), format!("review {id} is approved\n"), "{}", text(&out.stderr));
    assert_eq!(text(&run(&["review", "rating", "BEANS-1"]).stdout), "BEANS-1\t5.0\t1 reviews\n");
    let out = run(&["review", "invite", "--since", "2020-01-01"]);
    assert_eq!(text(&out.stdout), "invited the customers of 1 orders to review them\n", "{}", text(&out.stderr));

    // Changes: a bad key or date is refused; a key once.
    assert_eq!(run(&["change", "create", "Delivery 3", "--title", "t", "--on", "2026-12-01"]).status.code(), Some(2));
    assert_eq!(run(&["change", "create", "d3", "--title", "t", "--on", "12/01"]).status.code(), Some(2));
    let out = run(&["change", "create", "delivery-3-days", "--title", "Delivery within 3 days", "--on", "2026-12-01"]);
    assert_eq!(text(&out.stdout), "change delivery-3-days \"Delivery within 3 days\" since 2026-12-01\n");
    assert_eq!(
        run(&["change", "create", "delivery-3-days", "--title", "t", "--on", "2026-12-01"]).status.code(),
        Some(2)
    );
    let i = interaction.to_string();
    let out = run(&["change", "link", "delivery-3-days", "--kind", "interaction", "--id", &i]);
    assert_eq!(text(&out.stdout), format!("interaction {i} linked to delivery-3-days: 1 customers raised it\n"));
    let out = run(&["change", "link", "delivery-3-days", "--kind", "interaction", "--id", &i]);
    assert!(text(&out.stdout).contains("already linked"));
    assert!(run(&["change", "link", "delivery-3-days", "--kind", "review", "--id", &id]).status.success());
    for (kind, fid) in [("survey", "1"), ("order", "1"), ("interaction", "999")] {
        assert_eq!(run(&["change", "link", "delivery-3-days", "--kind", kind, "--id", fid]).status.code(), Some(2));
    }
    assert_eq!(run(&["change", "link", "nothing", "--kind", "review", "--id", &id]).status.code(), Some(2));
    let listed = text(&run(&["change", "list"]).stdout);
    assert_eq!(listed, "2026-12-01\tdelivery-3-days\tDelivery within 3 days\t2 feedback\t1 customers\n");
    let out = run(&["change", "unlink", "delivery-3-days", "--kind", "review", "--id", &id]);
    assert_eq!(text(&out.stdout), format!("review {id} unlinked from delivery-3-days\n"), "{}", text(&out.stderr));
    assert_eq!(run(&["change", "unlink", "delivery-3-days", "--kind", "review", "--id", &id]).status.code(), Some(2));
    assert!(text(&run(&["change", "list"]).stdout).contains("\t1 feedback\t1 customers"));

    // The customers who raised it are a segment; a change that does not exist is refused.
    let out = run(&["segment", "count", "raised(change: \"delivery-3-days\")"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().last(), Some("1"), "{}", text(&out.stdout));
    let out = run(&["segment", "count", "raised(change: \"delivery-2-days\")"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("there is no change \"delivery-2-days\""), "{}", text(&out.stderr));
    assert_eq!(run(&["segment", "create", "Told", "raised(change: \"nope\")"]).status.code(), Some(2));
    assert_eq!(count("SELECT COUNT(*) FROM segments"), 0, "nothing saved");
}
