//! Tags, sales channels and custom attributes in their own indexed tables: what migration 13
//! makes of the JSON columns it replaces, on SQLite and PostgreSQL, and the indexes a
//! condition on them uses.

use enishi_store::testing;
use std::path::PathBuf;

/// The migration scripts of `dialect` before version `before`, oldest first, and the script of
/// version `before` itself.
fn scripts(dialect: &str, before: &str) -> (Vec<String>, String) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dialect);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap();
    let earlier = paths.iter().filter(|p| p.file_name().unwrap().to_str().unwrap() < before).map(read).collect();
    let this = paths.iter().find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(before)).map(read).unwrap();
    (earlier, this)
}

const OLD_CUSTOMERS: &str = r#"INSERT INTO customers (id, external_id, first_seen_at, created_at, updated_at, channels, tags, attributes) VALUES
  (1, 'C-1', 0, 0, 0, '["in_store", "ecommerce", "in_store"]', '["vip", "wholesale", "vip"]',
   '{"favourite_bean": "Kenya", "visits": 12, "ratio": 0.5, "newsletter": true, "sizes": ["S", "M"], "gone": null}'),
  (2, 'C-2', 0, 0, 0, '[]', '[]', '{}')"#;

type Lists =
    (Vec<(i64, String, i64)>, Vec<(i64, String, i64)>, Vec<(i64, String, String, Option<String>, Option<f64>)>);

fn expected() -> Lists {
    (
        vec![(1, "in_store".into(), 0), (1, "ecommerce".into(), 1)],
        vec![(1, "vip".into(), 0), (1, "wholesale".into(), 1)],
        vec![
            (1, "favourite_bean".into(), "\"Kenya\"".into(), Some("Kenya".into()), None),
            (1, "newsletter".into(), "true".into(), None, None),
            (1, "ratio".into(), "0.5".into(), None, Some(0.5)),
            (1, "sizes".into(), "[\"S\",\"M\"]".into(), None, None),
            (1, "visits".into(), "12".into(), None, Some(12.0)),
        ],
    )
}

/// Attribute values compared as JSON, since the two databases space JSON differently.
fn normalised(mut l: Lists) -> Lists {
    for a in &mut l.2 {
        a.2 = serde_json::from_str::<serde_json::Value>(&a.2).unwrap().to_string();
    }
    l
}

const READ_CHANNELS: &str =
    "SELECT customer_id, channel, position FROM customer_channels ORDER BY customer_id, position";
const READ_TAGS: &str = "SELECT customer_id, tag, position FROM customer_tags ORDER BY customer_id, position";
const READ_ATTRIBUTES: &str =
    "SELECT customer_id, key, value, text_value, number_value FROM customer_attributes ORDER BY customer_id, key";

#[test]
fn the_json_lists_become_rows_in_order_once_each_on_sqlite() {
    let (earlier, this) = scripts("sqlite", "0013");
    let db = rusqlite::Connection::open_in_memory().unwrap();
    for s in &earlier {
        db.execute_batch(s).unwrap();
    }
    db.execute_batch(OLD_CUSTOMERS).unwrap();
    db.execute_batch(&this).unwrap();
    let pairs = |sql: &str| -> Vec<(i64, String, i64)> {
        db.prepare(sql)
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let attributes = db
        .prepare(READ_ATTRIBUTES)
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(normalised((pairs(READ_CHANNELS), pairs(READ_TAGS), attributes)), normalised(expected()));
}

#[test]
fn the_json_lists_become_rows_in_order_once_each_on_postgres() {
    let url = std::env::var("ENISHI_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let Ok(mut pg) = postgres::Client::connect(&url, postgres::NoTls) else {
        assert!(std::env::var("ENISHI_TEST_PG").is_err(), "ENISHI_TEST_PG is set but unreachable");
        eprintln!("NOTE: PostgreSQL half SKIPPED");
        return;
    };
    let schema = format!("enishi_m13_{}", std::process::id());
    pg.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path = {schema}"
    ))
    .unwrap();
    let (earlier, this) = scripts("postgres", "0013");
    for s in &earlier {
        pg.batch_execute(s).unwrap();
    }
    pg.batch_execute(OLD_CUSTOMERS).unwrap();
    pg.batch_execute(&this).unwrap();
    let pairs = |pg: &mut postgres::Client, sql: &str| -> Vec<(i64, String, i64)> {
        pg.query(sql, &[]).unwrap().iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
    };
    let lists = (pairs(&mut pg, READ_CHANNELS), pairs(&mut pg, READ_TAGS), {
        let rows = pg.query(READ_ATTRIBUTES, &[]).unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect()
    });
    pg.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
    assert_eq!(normalised(lists), normalised(expected()));
}

#[test]
fn conditions_on_tags_channels_and_attributes_read_an_index_on_both_databases() {
    for db in testing::all() {
        let plans = db
            .store
            .read(|c| {
                let sqlite = c.backend() == enishi_store::Backend::Sqlite;
                if !sqlite {
                    // The tables are empty; make the planner show the index it would use.
                    c.execute("SET LOCAL enable_seqscan = off", &[])?;
                }
                let explain = if sqlite { "EXPLAIN QUERY PLAN" } else { "EXPLAIN" };
                let column = if sqlite { 3 } else { 0 };
                let mut plans = Vec::new();
                for condition in [
                    "SELECT customer_id FROM customer_tags WHERE tag = 'vip'",
                    "SELECT customer_id FROM customer_channels WHERE channel = 'ecommerce'",
                    "SELECT customer_id FROM customer_attributes WHERE key = 'favourite_bean' AND text_value = 'Kenya'",
                    "SELECT customer_id FROM customer_attributes WHERE key = 'visits' AND number_value >= 10",
                ] {
                    let rows = c.query(&format!("{explain} {condition}"), &[])?;
                    let plan: Vec<String> = rows.iter().map(|r| r.text(column)).collect::<Result<_, _>>()?;
                    plans.push((condition, plan.join(" / ")));
                }
                Ok::<_, enishi_store::StoreError>(plans)
            })
            .unwrap();
        for (condition, plan) in plans {
            let uses_index = plan.contains("USING COVERING INDEX")
                || plan.contains("USING INDEX")
                || plan.contains("Index Only Scan")
                || plan.contains("Index Scan")
                || plan.contains("Bitmap Index Scan");
            assert!(uses_index && !plan.contains("SCAN customer_"), "{condition}: {plan}");
        }
    }
}
