//! Fuzz-style property tests on the stable toolchain: whatever arrives — a CSV file, a JSON
//! Lines file, an order as the API takes it — is either accepted or refused with the line and
//! field named; it never panics, never wraps a number, and a refused import writes nothing.
//!
//! CI runs a bounded number of cases; a long run is
//! `PROPTEST_CASES=20000 cargo test -p enishi-ingest --test fuzz --release`.

use enishi_core::{BusinessClock, Currency};
use enishi_ingest::formats::OrderFormat;
use enishi_ingest::intake::{check_order, OrderInput, Workspace};
use enishi_ingest::orders::{import_orders, OrderImportOptions};
use enishi_ingest::{ImportError, Progress};
use enishi_store::repo::orders;
use enishi_store::testing;
use proptest::prelude::*;
use serde_json::json;

/// Cells that are often troublesome: numbers at the edges, signs, controls, formulas, ids.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("2147483648".to_string()),
        Just("999999.99".to_string()),
        Just("922337203685.4775".to_string()),
        Just("1e9".to_string()),
        Just("=1+2".to_string()),
        Just("2026-02-30".to_string()),
        Just("2026-11-20T18:05:00+09:00".to_string()),
        "[0-9]{1,20}",
        "-?[0-9]{1,13}(\\.[0-9]{1,6})?",
        "\\PC{0,12}",
        "[\\x00-\\x1f]{1,3}",
    ]
}

fn csv_file() -> impl Strategy<Value = String> {
    let header = Just("order_id,customer_id,placed_at,sku,quantity,unit_price,line_amount,order_total,currency");
    let row = proptest::collection::vec(cell(), 9).prop_map(|cells| {
        cells.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect::<Vec<_>>().join(",")
    });
    (header, proptest::collection::vec(row, 1..6)).prop_map(|(h, rows)| format!("{h}\n{}\n", rows.join("\n")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A CSV of hostile cells imports or is refused line by line, and a refusal writes nothing.
    #[test]
    fn csv_imports_never_panic_and_refusals_write_nothing(file in csv_file(), skip in any::<bool>()) {
        let db = testing::sqlite();
        let mut opts = OrderImportOptions::new(OrderFormat::Generic);
        opts.skip_bad_rows = skip;
        match import_orders(&db.store, file.as_bytes(), "fuzz.csv", &opts, Progress::default()) {
            Ok(done) => {
                let (stored, _, _) = db.store.read(orders::totals).unwrap();
                prop_assert_eq!(stored as u64, done.summary.orders_created);
                for r in &done.report {
                    prop_assert!(r.line >= 2, "{:?}", r);
                }
            }
            Err(ImportError::BadRows { rejections, .. }) => {
                prop_assert!(rejections.iter().all(|r| r.line >= 2 && !r.reason.is_empty()), "{:?}", rejections);
                prop_assert_eq!(db.store.read(orders::totals).unwrap().0, 0);
            }
            Err(ImportError::File(r)) => prop_assert!(!r.reason.is_empty()),
            Err(e) => prop_assert!(false, "unexpected failure: {e}"),
        }
    }

    /// JSON Lines orders with hostile values: the same promise.
    #[test]
    fn json_lines_imports_never_panic(
        id in cell(), customer in cell(), at in cell(), sku in cell(), qty in any::<i64>(), price in cell(), total in cell()
    ) {
        let line = json!({"order_id": id, "customer_id": customer, "placed_at": at, "total": total,
                          "lines": [{"sku": sku, "quantity": qty, "unit_price": price}]});
        let db = testing::sqlite();
        let opts = OrderImportOptions::new(OrderFormat::Json);
        if import_orders(&db.store, format!("{line}\n").as_bytes(), "fuzz.jsonl", &opts, Progress::default()).is_err() {
            prop_assert_eq!(db.store.read(orders::totals).unwrap().0, 0);
        }
    }

    /// An order as the API takes it is accepted with amounts in range, or refused naming a field.
    #[test]
    fn api_orders_are_checked_without_panics(
        id in cell(), at in cell(), sku in cell(), qty in any::<i64>(), price in cell(), amount in proptest::option::of(cell()),
        total in proptest::option::of(cell()), currency in proptest::option::of(cell()),
    ) {
        let body = json!({"order_id": id, "placed_at": at, "total": total, "currency": currency,
                          "customer": {"external_id": "C-1"},
                          "lines": [{"sku": sku, "quantity": qty, "unit_price": price, "amount": amount}]});
        let Ok(input) = serde_json::from_value::<OrderInput>(body) else { return Ok(()) };
        let ws = Workspace::new(BusinessClock::default(), Currency::USD);
        match check_order(&input, ws, chrono::Utc::now()) {
            Ok((order, _)) => {
                prop_assert!(order.total.within_limit());
                prop_assert!(order.lines.iter().all(|l| l.amount.within_limit() && l.quantity >= 1));
            }
            Err(e) => prop_assert!(!e.field.is_empty() && !e.reason.is_empty()),
        }
    }
}
