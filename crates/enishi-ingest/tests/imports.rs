//! Imports against SQLite and (when available) PostgreSQL.

use enishi_core::{Amount, BusinessClock};
use enishi_ingest::customers::{import_customers, CustomerFormat};
use enishi_ingest::export::{export_customers, export_orders, ExportFormat};
use enishi_ingest::formats::OrderFormat;
use enishi_ingest::orders::{import_orders, OrderImportOptions};
use enishi_ingest::{ImportError, Progress};
use enishi_store::repo::{customers, orders};
use enishi_store::{testing, Store};
use std::io::Write;
use std::path::PathBuf;

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(path)
}

fn import(
    store: &Store,
    data: &[u8],
    format: OrderFormat,
    skip: bool,
) -> Result<enishi_ingest::orders::OrderImport, ImportError> {
    let mut opts = OrderImportOptions::new(format);
    opts.skip_bad_rows = skip;
    import_orders(store, data, "test.csv", &opts, Progress::default())
}

fn totals(store: &Store) -> (i64, i64, i64, Amount) {
    store
        .read(|c| {
            let (o, l, t) = orders::totals(c)?;
            Ok::<_, enishi_store::StoreError>((customers::count(c)?, o, l, t))
        })
        .unwrap()
}

/// Whether the indexes an import into an empty SQLite database drops and builds again at the
/// end, in its transaction, exist: orders by customer, and lots by expiry.
fn has_deferred_indexes(store: &Store) -> bool {
    ["orders_customer", "loyalty_lots_expiry"].iter().all(|name| {
        let sql = match store.backend() {
            enishi_store::Backend::Sqlite => "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = $1",
            enishi_store::Backend::Postgres => "SELECT 1 FROM pg_indexes WHERE indexname = $1",
        };
        store.read(|c| c.query_opt(sql, &[(*name).into()])).unwrap().is_some()
    })
}

#[test]
fn cdnow_master_imports_exactly_once() {
    let data = std::fs::read(fixture("cdnow/CDNOW_master.txt")).unwrap();
    for db in testing::all() {
        let first = import(&db.store, &data, OrderFormat::Cdnow, false).unwrap().summary;
        assert!(has_deferred_indexes(&db.store));
        assert_eq!(first.customers_created, 23_570);
        assert_eq!(first.orders_created, 69_659);
        assert_eq!(first.rows_read, 69_659);
        assert_eq!(first.zero_value_orders, 80, "CDNOW has 80 purchases of $0.00, counted explicitly");
        let (cust, ord, _, total) = totals(&db.store);
        assert_eq!((cust, ord), (23_570, 69_659));
        assert_eq!(total, "2500315.63".parse().unwrap());
        let again = import(&db.store, &data, OrderFormat::Cdnow, false).unwrap().summary;
        assert_eq!((again.customers_created, again.orders_created, again.duplicates_skipped), (0, 0, 69_659));
        assert!(again.previously_imported_at.is_some());
        assert_eq!(totals(&db.store).1, 69_659);
        // Running stats agree with the orders.
        let c = db.store.read(|c| customers::get_by_external_id(c, "00002")).unwrap().unwrap();
        assert_eq!(c.stats.order_count, 2);
        assert_eq!(c.stats.purchase_days, 1, "two purchases on one day");
        assert_eq!(c.stats.total_spend, "89.00".parse().unwrap());
    }
}

#[test]
fn cdnow_sample_has_five_columns() {
    let data = std::fs::read(fixture("cdnow/CDNOW_sample.txt")).unwrap();
    let db = testing::sqlite();
    let s = import(&db.store, &data, OrderFormat::Cdnow, false).unwrap().summary;
    assert_eq!(s.customers_created, 2_357);
    assert_eq!(s.orders_created, 6_919);
}

#[test]
fn online_retail_links_returns_and_reports_blank_customers() {
    let data = std::fs::read(fixture("online-retail/sample.csv")).unwrap();
    for db in testing::all() {
        let out = import(&db.store, &data, OrderFormat::OnlineRetail, false).unwrap();
        let s = &out.summary;
        assert_eq!(s.rows_without_customer, 2);
        assert_eq!(s.customers_created, 4);
        assert_eq!((s.orders_created, s.lines_created), (5, 9));
        assert_eq!((s.returns_created, s.return_lines_created, s.unlinked_returns), (3, 4, 1));
        assert_eq!(s.free_lines, 1);
        assert_eq!(out.report.iter().map(|r| r.line).collect::<Vec<_>>(), [8, 9]);
        db.store
            .read(|c| -> Result<(), enishi_store::StoreError> {
                let o = orders::get_by_ref(c, "489434")?.unwrap();
                assert_eq!(o.returned_amount, "54.40".parse().unwrap(), "6 × 6.75 + 2 × 6.95");
                assert_eq!(o.currency, "GBP");
                let id = orders::get_by_ref(c, "489436")?.unwrap().id;
                let ret = orders::returns_of(c, id)?;
                assert_eq!(ret.len(), 1);
                assert_eq!(ret[0].return_id, "C489452");
                let cust = customers::get_by_external_id(c, "13085")?.unwrap();
                assert_eq!(cust.stats.order_count, 2);
                assert_eq!(cust.stats.returned_amount, "54.40".parse().unwrap());
                Ok(())
            })
            .unwrap();
        let again = import(&db.store, &data, OrderFormat::OnlineRetail, false).unwrap().summary;
        assert_eq!((again.orders_created, again.returns_created, again.duplicates_skipped), (0, 0, 8));
    }
}

fn ten_thousand_rows(bad_line: Option<u64>) -> Vec<u8> {
    let mut out = b"order_id,customer_id,placed_at,sku,quantity,unit_price\n".to_vec();
    for i in 2..=10_001u64 {
        let date = if Some(i) == bad_line { "2026-02-30".to_string() } else { format!("2026-01-{:02}", i % 28 + 1) };
        writeln!(out, "O-{i},C-{},{date},SKU-{},{},{}.50", i % 997, i % 13, i % 3 + 1, i % 40).unwrap();
    }
    out
}

#[test]
fn a_bad_row_writes_nothing_and_is_named() {
    let data = ten_thousand_rows(Some(5_000));
    for db in testing::all() {
        match import(&db.store, &data, OrderFormat::Generic, false) {
            Err(ImportError::BadRows { rejections, total }) => {
                assert_eq!(total, 1);
                assert_eq!(rejections[0].line, 5_000);
                assert_eq!(rejections[0].column.as_deref(), Some("placed_at"));
                let msg = ImportError::BadRows { rejections, total }.to_string();
                assert!(msg.contains("line 5000, column placed_at"), "{msg}");
            }
            other => panic!("expected a bad-row error, got {other:?}"),
        }
        assert_eq!(totals(&db.store), (0, 0, 0, Amount::ZERO));
        assert!(has_deferred_indexes(&db.store), "the failed import's dropped indexes came back with its rollback");

        let out = import(&db.store, &data, OrderFormat::Generic, true).unwrap();
        assert_eq!(out.summary.orders_created, 9_999);
        assert_eq!(out.summary.rows_rejected, 1);
        assert_eq!(out.report.len(), 1);
        assert_eq!(out.report[0].line, 5_000);
        assert_eq!(totals(&db.store).1, 9_999);
    }
}

#[test]
fn bad_files_are_refused_with_line_and_column() {
    let db = testing::sqlite();
    let cases: &[(&[u8], &str)] = &[
        (b"", "line 1: the file is empty"),
        (b"order_id,customer_id,placed_at,sku,quantity\n", "line 1, column unit_price: missing required column"),
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price,colour\n", "line 1, column colour: unknown column"),
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price\n", "line 1: the file has no rows"),
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price\nA,C,2026-01-01,S,1,12\xff\n", "line 2, column unit_price: is neither UTF-8 nor Shift_JIS"),
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price\nA,C,2026-01-01,S,1,1e3\n", "line 2, column unit_price"),
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price\nA,C,2026-01-01,S,1.5,3\n", "line 2, column quantity"),
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price\nA,C,2026-01-01,S,1\n", "line 2: has 5 fields"),
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price\nA,C,2026-01-01,S,1,3\nB,C,2026-01-01,S,1,3\nA,C,2026-01-01,S,1,3\n", "appeared earlier"),
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price\nA,C,2026-01-01,S,1,3\nA,D,2026-01-01,S,1,3\n", "different customer_id"),
        // Overflow: once stored capped at 922,337,203,685,477.5807.
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price\nA,C,2026-01-01,S,2147483648,999999.99\n", "line 2, column quantity: 2147483648 is out of range"),
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price\nA,C,2026-01-01,S,1000000000,999999.99\n", "line 2, column quantity: quantity \u{d7} unit price is out of range"),
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price\nA,C,2026-01-01,S,1,900000000000\nA,C,2026-01-01,T,1,900000000000\n", "its lines add up to more than the largest amount"),
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price\nA,C,2026-01-01,S,1,922337203686\n", "line 2, column unit_price"),
        // Control characters: NUL cannot be stored in PostgreSQL, ESC would reach exports.
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price,product_name\nA,C,2026-01-01,S,1,3,Be\x1bans\n", "line 2, column product_name: contains the control character U+001B"),
        (b"order_id,customer_id,placed_at,sku,quantity,unit_price,category\nA,C,2026-01-01,S,1,3,co\x00ffee\n", "line 2, column category: contains the control character U+0000"),
    ];
    for (data, expected) in cases {
        let err = import(&db.store, data, OrderFormat::Generic, false).unwrap_err().to_string();
        assert!(err.contains(expected), "expected '{expected}' in '{err}'");
    }
    assert_eq!(totals(&db.store).1, 0);
}

#[test]
fn one_bad_line_rejects_its_whole_order() {
    let db = testing::sqlite();
    let data = b"order_id,customer_id,placed_at,sku,quantity,unit_price\nA,C,2026-01-01,S,1,3\nA,C,2026-01-01,T,x,3\nA,C,2026-01-01,U,1,3\nB,C,2026-01-02,S,1,3\n";
    let out = import(&db.store, data, OrderFormat::Generic, true).unwrap();
    assert_eq!(out.summary.orders_created, 1);
    assert_eq!(out.summary.rows_rejected, 3);
    assert_eq!(out.report.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 4]);
}

#[test]
fn generic_returns_free_items_and_order_totals() {
    for db in testing::all() {
        let data =
            b"order_id,customer_id,placed_at,sku,quantity,unit_price,line_amount,order_total,return_of,channel\n\
            A,C,2026-01-01T10:00:00+09:00,BEANS,2,28.70,,50.00,,in_store\n\
            A,C,2026-01-01T10:00:00+09:00,GIFT,1,0,,50.00,,in_store\n\
            R1,C,2026-01-05,BEANS,-1,28.70,,,A,in_store\n\
            R2,C,2026-01-06,BEANS,-5,28.70,,,A,in_store\n";
        match import(&db.store, data, OrderFormat::Generic, false) {
            Err(ImportError::BadRows { rejections, .. }) => {
                assert!(rejections[0].reason.contains("1 unit(s) of BEANS left"), "{rejections:?}")
            }
            other => panic!("{other:?}"),
        }
        let ok = &data[..data.len() - "R2,C,2026-01-06,BEANS,-5,28.70,,,A,in_store\n".len()];
        let s = import(&db.store, ok, OrderFormat::Generic, false).unwrap().summary;
        assert_eq!((s.orders_created, s.returns_created, s.free_lines, s.unlinked_returns), (1, 1, 1, 0));
        let o = db.store.read(|c| orders::get_by_ref(c, "A")).unwrap().unwrap();
        assert_eq!(o.total, "50.00".parse().unwrap());
        assert_eq!(o.returned_amount, "28.70".parse().unwrap());
        testing::assert_references_resolve(&db.store);
        // A later file is checked against the returns already stored.
        let later = b"order_id,customer_id,placed_at,sku,quantity,unit_price,return_of\n\
            R3,C,2026-01-07,BEANS,-2,28.70,A\n";
        match import(&db.store, later, OrderFormat::Generic, false) {
            Err(ImportError::BadRows { rejections, .. }) => {
                assert!(rejections[0].reason.contains("1 unit(s) of BEANS left to return, not 2"), "{rejections:?}")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn exports_round_trip_through_import() {
    let src = testing::sqlite();
    let retail = std::fs::read(fixture("online-retail/sample.csv")).unwrap();
    import(&src.store, &retail, OrderFormat::OnlineRetail, false).unwrap();
    let people = "external_id,name,email,phone,birthday,channels,tags,email_consent,email_consent_source,account_id,account_name,referred_by,attr.drink\n\
        13085,Hana Sato,hana@example.com,+81 90 1111 2222,1990-04-02,in_store;ecommerce,vip;coffee,opted_in,signup_form,ACME,Acme Corp,13078,latte\n\
        13078,Ken Ito,,,,,,opted_out,,,,,\n";
    import_customers(
        &src.store,
        people.as_bytes(),
        "people.csv",
        CustomerFormat::Csv,
        false,
        BusinessClock::default(),
        Progress::default(),
    )
    .unwrap();
    discounted_returns_and_a_refund(&src.store);

    for format in [ExportFormat::Csv, ExportFormat::RawCsv, ExportFormat::Json] {
        let mut orders_out = Vec::new();
        let mut customers_out = Vec::new();
        export_orders(&src.store, format, &mut orders_out).unwrap();
        export_customers(&src.store, format, &mut customers_out).unwrap();

        for dst in testing::all() {
            let (of, cf) = match format {
                ExportFormat::Csv | ExportFormat::RawCsv => (OrderFormat::Generic, CustomerFormat::Csv),
                ExportFormat::Json => (OrderFormat::Json, CustomerFormat::Json),
            };
            import_customers(
                &dst.store,
                &customers_out[..],
                "c",
                cf,
                false,
                BusinessClock::default(),
                Progress::default(),
            )
            .unwrap();
            let s = import(&dst.store, &orders_out, of, false).unwrap().summary;
            assert_eq!((s.orders_created, s.returns_created), (6, 6));
            assert_eq!(totals(&dst.store), totals(&src.store));
            // A known value arrives, not only whatever the source held: D-1's 50.00 was
            // returned in full (11.1111 + 38.8889).
            let d1 = dst.store.read(|c| enishi_store::repo::orders::get_by_ref(c, "D-1")).unwrap().unwrap();
            assert_eq!((d1.total, d1.returned_amount), ("50.00".parse().unwrap(), "50.00".parse().unwrap()));
            let mut again_orders = Vec::new();
            let mut again_customers = Vec::new();
            export_orders(&dst.store, format, &mut again_orders).unwrap();
            export_customers(&dst.store, format, &mut again_customers).unwrap();
            assert_eq!(String::from_utf8(again_orders).unwrap(), String::from_utf8(orders_out.clone()).unwrap());
            // Ids differ between databases; everything the export shows must not.
            assert_eq!(String::from_utf8(again_customers).unwrap(), String::from_utf8(customers_out.clone()).unwrap());
        }
    }
}

#[test]
fn customer_import_validates_and_updates() {
    let db = testing::sqlite();
    let bad = "external_id,email\nA,not-an-email\n";
    let err = import_customers(
        &db.store,
        bad.as_bytes(),
        "x",
        CustomerFormat::Csv,
        false,
        BusinessClock::default(),
        Progress::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("line 2, column email"), "{err}");
    let ok = "external_id,name,email_consent\nA,Ann,opted_in\nB,Bob,unknown\n";
    let s = import_customers(
        &db.store,
        ok.as_bytes(),
        "x",
        CustomerFormat::Csv,
        false,
        BusinessClock::default(),
        Progress::default(),
    )
    .unwrap()
    .summary;
    assert_eq!((s.customers_created, s.customers_updated), (2, 0));
    let s = import_customers(
        &db.store,
        "external_id,name\nA,Anna\n".as_bytes(),
        "x",
        CustomerFormat::Csv,
        false,
        BusinessClock::default(),
        Progress::default(),
    )
    .unwrap()
    .summary;
    assert_eq!((s.customers_created, s.customers_updated), (0, 1));
    let a = db.store.read(|c| customers::get_by_external_id(c, "A")).unwrap().unwrap();
    assert_eq!(a.name.as_deref(), Some("Anna"));
    assert_eq!(a.consents.len(), 1, "consent kept when the column is absent");
    let err = import_customers(
        &db.store,
        "external_id,referred_by\nZ,nobody\n".as_bytes(),
        "x",
        CustomerFormat::Csv,
        false,
        BusinessClock::default(),
        Progress::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("column referred_by"), "{err}");
    assert!(db.store.read(|c| customers::get_by_external_id(c, "Z")).unwrap().is_none());
}

/// A discounted order returned in part and then in full, and a refund without goods, through
/// the API's intake path.
fn discounted_returns_and_a_refund(store: &Store) {
    use enishi_ingest::intake::{record_order, record_return, IntakeError, OrderInput, ReturnInput, Workspace};
    let ws = Workspace::new(BusinessClock::default(), enishi_core::Currency::USD);
    let order: OrderInput = serde_json::from_value(serde_json::json!({
        "order_id": "D-1", "placed_at": "2010-01-05T10:00:00Z", "total": "50.00", "customer": {"external_id": "13085"},
        "lines": [{"sku": "A", "quantity": 2, "unit_price": "20.00"}, {"sku": "A", "quantity": 1, "unit_price": "0"},
                  {"sku": "B", "quantity": 1, "unit_price": "20.00"}]}))
    .unwrap();
    let ret = |id: &str, mut body: serde_json::Value| -> ReturnInput {
        body["return_id"] = id.into();
        serde_json::from_value(body).unwrap()
    };
    store
        .write(|c| -> Result<(), IntakeError> {
            let programs = enishi_rewards::Programs::load(c, ws.clock)?;
            record_order(c, &order, ws, &programs)?;
            // 3 units of A were bought for 40.00 (one free): one returned unit is 13.3333 of
            // goods, of which 50/60 was paid.
            let (partial, _, _) = record_return(
                c,
                "D-1",
                &ret("DR-1", serde_json::json!({"lines": [{"sku": "A", "quantity": 1}], "returned_at": "2010-01-06"})),
                ws,
            )?;
            assert_eq!(partial.amount, "11.1111".parse().unwrap());
            let (full, _, _) =
                record_return(c, "D-1", &ret("DR-2", serde_json::json!({"returned_at": "2010-01-07"})), ws)?;
            assert_eq!(full.amount, "38.8889".parse().unwrap(), "the rest of the paid total");
            assert_eq!(full.lines.iter().map(|l| l.quantity).sum::<i64>(), 3);
            let (refund, _, _) = record_return(
                c,
                "489434",
                &ret("DR-3", serde_json::json!({"amount": "5.00", "returned_at": "2010-01-08"})),
                ws,
            )?;
            assert!(refund.lines.is_empty());
            assert_eq!(refund.amount, "5.00".parse().unwrap(), "a refund without lines is its amount");
            let taken = record_return(c, "489435", &ret("DR-3", serde_json::json!({"amount": "1.00"})), ws);
            assert!(matches!(taken, Err(IntakeError::Invalid(ref f)) if f.field == "return_id"), "{taken:?}");
            Ok(())
        })
        .unwrap();
}

#[test]
fn csv_exports_neutralise_formulas_and_still_import_back() {
    let src = testing::sqlite();
    let people = "external_id,name,tags,attr.note\n\
        F-1,=HYPERLINK(\"http://x.example\"),+1;ok,@SUM(A1)\n\
        F-2,-cmd,,\"\t=1\"\n";
    let options = |s: &Store, data: &[u8]| {
        import_customers(s, data, "f.csv", CustomerFormat::Csv, false, BusinessClock::default(), Progress::default())
    };
    options(&src.store, people.as_bytes()).unwrap();
    let orders = "order_id,customer_id,placed_at,sku,quantity,unit_price,product_name\nO-1,F-1,2026-01-01,S,2,3,=1+2\n";
    import(&src.store, orders.as_bytes(), OrderFormat::Generic, false).unwrap();

    let mut people_csv = Vec::new();
    export_customers(&src.store, ExportFormat::Csv, &mut people_csv).unwrap();
    let people_csv = String::from_utf8(people_csv).unwrap();
    let mut orders_csv = Vec::new();
    export_orders(&src.store, ExportFormat::Csv, &mut orders_csv).unwrap();
    let orders_csv = String::from_utf8(orders_csv).unwrap();
    // No cell a spreadsheet would run: each risky one starts with a quote.
    let mut risky = 0;
    for text in [&people_csv, &orders_csv] {
        let mut r = csv::Reader::from_reader(text.as_bytes());
        for row in r.records() {
            for cell in row.unwrap().iter() {
                let runs = cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err();
                assert!(!runs, "a formula left in the export: {cell:?}");
                risky += usize::from(cell.starts_with('\''));
            }
        }
    }
    assert_eq!(risky, 6, "{people_csv}\n{orders_csv}");
    let mut raw = Vec::new();
    export_customers(&src.store, ExportFormat::RawCsv, &mut raw).unwrap();
    assert!(String::from_utf8(raw).unwrap().contains(",\"=HYPERLINK"), "raw keeps cells as stored");

    // The neutralised export imports back as it was stored.
    let dst = testing::sqlite();
    options(&dst.store, people_csv.as_bytes()).unwrap();
    import(&dst.store, orders_csv.as_bytes(), OrderFormat::Generic, false).unwrap();
    let get = |s: &Store, id: &str| s.read(|c| customers::get_by_external_id(c, id)).unwrap().unwrap();
    for id in ["F-1", "F-2"] {
        let (a, b) = (get(&src.store, id), get(&dst.store, id));
        assert_eq!((a.name, a.tags, a.attributes), (b.name, b.tags, b.attributes));
    }
    let o = dst.store.read(|c| orders::get_by_ref(c, "O-1")).unwrap().unwrap();
    assert_eq!(o.lines[0].product_name.as_deref(), Some("=1+2"));
}

/// The purchase summary's rows: (customer, kind, product, first day, last day).
fn summary_rows(store: &Store) -> Vec<(i64, String, String, i64, i64)> {
    store
        .read(|c| {
            c.query(
                "SELECT customer_id, kind, product, first_day, last_day FROM customer_products ORDER BY 1, 2, 3",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.int(0)?, r.text(1)?, r.text(2)?, r.int(3)?, r.int(4)?)))
            .collect::<Result<Vec<_>, enishi_store::StoreError>>()
        })
        .unwrap()
}

#[test]
fn imports_and_sales_keep_the_purchase_summary_as_a_rebuild_makes_it() {
    use enishi_ingest::intake::{record_order, record_return, OrderInput, ReturnInput, Workspace};
    use enishi_store::repo::purchase_summary::{self, State};
    for db in testing::all() {
        let s = &db.store;
        let state = || s.read(purchase_summary::state).unwrap();
        assert_eq!(state(), State { fresh: true, horizon_day: None, horizon_returned_at: None });
        // Two BEANS bought and both returned: not kept. The GIFT and the second order's BEANS are.
        let data = b"order_id,customer_id,placed_at,sku,category,quantity,unit_price,order_total,return_of\n\
            A,C,2026-01-01T10:00:00+09:00,BEANS,coffee,2,28.70,50.00,\n\
            A,C,2026-01-01T10:00:00+09:00,GIFT,goods,1,0,50.00,\n\
            B,C,2026-01-09T10:00:00+09:00,BEANS,coffee,1,28.70,28.70,\n\
            R1,C,2026-01-05T12:00:00+09:00,BEANS,coffee,-2,28.70,,A\n";
        import(s, data, OrderFormat::Generic, false).unwrap();
        let c_id = s.read(|c| customers::id_by_external_id(c, "C")).unwrap().unwrap();
        let jan1 = enishi_core::time::day_of_date(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        let jan9 = jan1 + 8;
        let rows = summary_rows(s);
        assert_eq!(
            rows,
            vec![
                (c_id, "category".into(), "coffee".into(), jan9, jan9),
                (c_id, "category".into(), "goods".into(), jan1, jan1),
                (c_id, "sku".into(), "BEANS".into(), jan9, jan9),
                (c_id, "sku".into(), "GIFT".into(), jan1, jan1),
            ]
        );
        let returned_at = chrono::DateTime::parse_from_rfc3339("2026-01-05T12:00:00+09:00").unwrap().timestamp();
        assert_eq!(state(), State { fresh: true, horizon_day: Some(jan9), horizon_returned_at: Some(returned_at) });
        purchase_summary::rebuild(s, true).unwrap();
        assert_eq!(summary_rows(s), rows, "a rebuild makes the same rows");

        // A sale and a full return through the intake keep the customer's rows at once.
        let ws = Workspace::new(BusinessClock::default(), enishi_core::Currency::USD);
        let input: OrderInput = serde_json::from_value(serde_json::json!({
            "order_id": "D", "placed_at": "2026-02-01T10:00:00+09:00", "total": "5.00",
            "customer": {"external_id": "N"}, "lines": [{"sku": "MUG", "category": "goods", "quantity": 1, "unit_price": "5.00"}]
        }))
        .unwrap();
        s.write(|c| {
            let p = enishi_rewards::Programs::load(c, BusinessClock::default())?;
            record_order(c, &input, ws, &p)
        })
        .unwrap();
        let n_id = s.read(|c| customers::id_by_external_id(c, "N")).unwrap().unwrap();
        let feb1 = jan1 + 31;
        assert!(summary_rows(s).contains(&(n_id, "sku".into(), "MUG".into(), feb1, feb1)));
        assert_eq!(state().horizon_day, Some(feb1));
        let back: ReturnInput =
            serde_json::from_value(serde_json::json!({"return_id": "RD", "returned_at": "2026-02-02T10:00:00+09:00"}))
                .unwrap();
        s.write(|c| record_return(c, "D", &back, ws)).unwrap();
        assert!(summary_rows(s).iter().all(|r| r.0 != n_id), "returned in full: not kept");
        assert!(state().fresh);
        let kept = summary_rows(s);
        purchase_summary::rebuild(s, true).unwrap();
        assert_eq!(summary_rows(s), kept);

        // More customers than an import refreshes itself: stale until rebuilt.
        let many: Vec<i64> = (1..=purchase_summary::IMPORT_REFRESH_LIMIT as i64 + 1).collect();
        s.write(|c| purchase_summary::after_import(c, &many)).unwrap();
        assert!(!state().fresh);
        assert!(purchase_summary::rebuild(s, false).unwrap().rebuilt);
        assert!(state().fresh);
        assert_eq!(summary_rows(s), kept);
        assert!(!purchase_summary::rebuild(s, false).unwrap().rebuilt, "a fresh summary is left alone");
    }
}

fn import_with(
    store: &Store,
    data: &[u8],
    format: OrderFormat,
    csv: enishi_ingest::CsvOptions,
    skip: bool,
) -> Result<enishi_ingest::orders::OrderImport, ImportError> {
    let mut opts = OrderImportOptions::new(format);
    (opts.skip_bad_rows, opts.csv) = (skip, csv);
    import_orders(store, data, "test.csv", &opts, Progress::default())
}

#[test]
fn bad_rows_are_reported_at_their_true_line_whatever_the_line_endings() {
    // Line 3 holds a quoted cell over two lines, line 5 is blank, and line 7 is bad.
    let lines = [
        "order_id,customer_id,placed_at,sku,quantity,unit_price,product_name",
        "A,C,2026-01-01,S,1,3,Beans",
        "B,C,2026-01-02,S,1,3,\"Two",
        "lines\"",
        "",
        "D,C,2026-01-03,S,1,3,Cups",
        "E,C,2026-01-04,S,two,3,Mugs",
        "F,C,2026-01-05,S,1,3,Mugs",
    ];
    let db = testing::sqlite();
    for ending in ["\n", "\r\n", "\r"] {
        let data = lines.join(ending) + ending;
        let out = import(&db.store, data.as_bytes(), OrderFormat::Generic, true).unwrap();
        let at: Vec<(u64, Option<&str>)> = out.report.iter().map(|r| (r.line, r.column.as_deref())).collect();
        assert_eq!(at, [(7, Some("quantity"))], "{ending:?}");
        let err = import(&db.store, data.as_bytes(), OrderFormat::Generic, false).unwrap_err().to_string();
        assert!(err.contains("line 7, column quantity"), "{ending:?}: {err}");
    }
    // A row with too few fields, after a CRLF header.
    let data =
        b"order_id,customer_id,placed_at,sku,quantity,unit_price\r\nA,C,2026-01-01,S,1,3\r\nB,C,2026-01-01,S,1\r\n";
    let err = import(&db.store, data, OrderFormat::Generic, false).unwrap_err().to_string();
    assert!(err.contains("line 3: has 5 fields"), "{err}");
}

/// Text as Excel on a Japanese Windows saves it: Shift_JIS (CP932), CRLF line endings.
fn shift_jis(text: &str) -> Vec<u8> {
    let crlf = text.replace('\n', "\r\n");
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&crlf);
    assert!(!unmappable, "the test's text is all in CP932");
    assert!(std::str::from_utf8(&bytes).is_err(), "the bytes are not UTF-8");
    bytes.into_owned()
}

#[test]
fn a_shift_jis_file_with_japanese_headers_imports_through_a_mapping() {
    let text = "注文番号,顧客ID,購入日時,商品コード,商品名,数量,単価,店舗名\n\
                R-1,K-1,2026-11-20 18:05,BEAN-1,深煎りブレンド①,2,1200,渋谷店\n\
                R-1,K-1,2026-11-20 18:05,CUP-1,髙橋さんのカップ,1,0,渋谷店\n\
                R-2,K-2,2026-11-21 10:00,BEAN-1,深煎りブレンド①,二,1200,渋谷店\n";
    let data = shift_jis(text);
    let headers: Vec<String> = text.lines().next().unwrap().split(',').map(String::from).collect();
    let mapping = enishi_ingest::mapping::guess(enishi_ingest::ImportKind::Orders, &headers);
    assert_eq!(mapping.field("店舗名"), None, "a column Enishi does not know is ignored");
    for db in testing::all() {
        // Without the mapping, the file's headers are refused by name.
        let err = import(&db.store, &data, OrderFormat::Generic, false).unwrap_err().to_string();
        assert!(err.contains("line 1, column 注文番号: unknown column '注文番号'"), "{err}");
        let csv = enishi_ingest::CsvOptions { encoding: Default::default(), mapping: mapping.clone() };
        let out = import_with(&db.store, &data, OrderFormat::Generic, csv, true).unwrap();
        assert_eq!(out.summary.encoding, "shift_jis");
        assert_eq!(out.summary.orders_created, 1);
        let bad: Vec<(u64, Option<&str>)> = out.report.iter().map(|r| (r.line, r.column.as_deref())).collect();
        assert_eq!(bad, [(4, Some("数量"))], "the bad cell is named by the file's own header");
        let order = db.store.read(|c| orders::get_by_ref(c, "R-1")).unwrap().unwrap();
        let names: Vec<&str> = order.lines.iter().filter_map(|l| l.product_name.as_deref()).collect();
        assert_eq!(names, ["深煎りブレンド①", "髙橋さんのカップ"], "CP932's own characters arrive intact");
    }
    // Forced to UTF-8, the same bytes are refused, naming the header column.
    let db = testing::sqlite();
    let csv = enishi_ingest::CsvOptions { encoding: enishi_ingest::Encoding::Utf8, mapping };
    let err = import_with(&db.store, &data, OrderFormat::Generic, csv, false).unwrap_err().to_string();
    assert!(err.contains("line 1: header column 1 is not UTF-8 text"), "{err}");
}

#[test]
fn a_shift_jis_customer_file_keeps_its_names() {
    let text = "顧客ID,氏名,メールアドレス,電話番号,郵便番号,都道府県\n\
                K-1,山田 花子,hanako@example.jp,090-1234-5678,150-0043,東京都\n\
                K-2,髙橋 一郎,ichiro@example.jp,,,\n";
    let data = shift_jis(text);
    let headers: Vec<String> = text.lines().next().unwrap().split(',').map(String::from).collect();
    let mapping = enishi_ingest::mapping::guess(enishi_ingest::ImportKind::Customers, &headers);
    for db in testing::all() {
        let opts = enishi_ingest::customers::CustomerImportOptions {
            format: CustomerFormat::Csv,
            skip_bad_rows: false,
            clock: BusinessClock::default(),
            csv: enishi_ingest::CsvOptions { encoding: enishi_ingest::Encoding::ShiftJis, mapping: mapping.clone() },
            phone_country: None,
        };
        let out =
            enishi_ingest::customers::import_customers_with(&db.store, &data[..], "k.csv", &opts, Progress::default())
                .unwrap();
        assert_eq!((out.summary.customers_created, out.summary.encoding.as_str()), (2, "shift_jis"));
        let k1 = db.store.read(|c| customers::get_by_external_id(c, "K-1")).unwrap().unwrap();
        assert_eq!(k1.name.as_deref(), Some("山田 花子"));
        assert_eq!(k1.address.region.as_deref(), Some("東京都"));
        assert_eq!(k1.email.as_deref(), Some("hanako@example.jp"));
        let k2 = db.store.read(|c| customers::get_by_external_id(c, "K-2")).unwrap().unwrap();
        assert_eq!(k2.name.as_deref(), Some("髙橋 一郎"));
    }
}

#[test]
fn bytes_that_are_not_shift_jis_are_refused_with_their_cell() {
    let db = testing::sqlite();
    let mut data =
        shift_jis("order_id,customer_id,placed_at,sku,quantity,unit_price,product_name\nA,C,2026-01-01,S,1,3,豆\n");
    data.extend_from_slice(b"B,C,2026-01-01,S,1,3,\x81\x20\r\n");
    let err = import(&db.store, &data, OrderFormat::Generic, false).unwrap_err().to_string();
    assert!(err.contains("line 3, column product_name: is neither UTF-8 nor Shift_JIS (CP932) text"), "{err}");
    let csv = enishi_ingest::CsvOptions { encoding: enishi_ingest::Encoding::ShiftJis, ..Default::default() };
    let err = import_with(&db.store, &data, OrderFormat::Generic, csv, false).unwrap_err().to_string();
    assert!(err.contains("line 3, column product_name: is not Shift_JIS (CP932) text"), "{err}");
    let csv = enishi_ingest::CsvOptions { encoding: enishi_ingest::Encoding::Utf8, ..Default::default() };
    let err = import_with(&db.store, &data, OrderFormat::Generic, csv, false).unwrap_err().to_string();
    assert!(err.contains("line 2, column product_name: is not UTF-8 text"), "forced UTF-8: {err}");
}

#[test]
fn shopify_orders_exports_import_one_row_per_line_item() {
    let data = "Name,Email,Financial Status,Paid at,Fulfillment Status,Accepts Marketing,Currency,Subtotal,Shipping,Taxes,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Billing Name,Cancelled at,Source,Id\n\
        #1001,Hanako@Example.jp,paid,2026-11-20 18:06:00 +0900,fulfilled,yes,JPY,3600,500,360,4460,2026-11-20 18:05:00 +0900,2,House blend,1200,BEAN-1,山田 花子,,web,5001\n\
        #1001,,,,,,,,,,,,1,Dripper,1200,,,,,\n\
        #1002,ichiro@example.jp,paid,,,no,JPY,1200,0,0,1200,2026-11-21 09:00:00 +0900,1,House blend,1200,BEAN-1,,,pos,5002\n\
        #1003,jiro@example.jp,voided,,,no,JPY,1200,0,0,1200,2026-11-22 09:00:00 +0900,one,House blend,1200,BEAN-1,,2026-11-22 10:00:00 +0900,web,5003\n\
        #1003,,,,,,,,,,,,1,Dripper,1200,,,,,\n";
    for db in testing::all() {
        let out = import(&db.store, data.as_bytes(), OrderFormat::Shopify, true).unwrap();
        assert_eq!(out.summary.orders_created, 2);
        assert_eq!(out.summary.format, "shopify");
        let bad: Vec<(u64, Option<&str>)> = out.report.iter().map(|r| (r.line, r.column.as_deref())).collect();
        assert_eq!(bad, [(5, Some("Lineitem quantity")), (6, None)], "a bad line item spoils its order");
        let o = db.store.read(|c| orders::get_by_ref(c, "#1001")).unwrap().unwrap();
        assert_eq!(o.customer_external_id, "hanako@example.jp", "customers are known by their email");
        assert_eq!(o.total, "4460".parse().unwrap(), "the order's total, shipping and taxes included");
        assert_eq!(o.currency, "JPY");
        assert_eq!(o.placed_at.to_rfc3339(), "2026-11-20T09:05:00+00:00");
        let skus: Vec<&str> = o.lines.iter().map(|l| l.sku.as_str()).collect();
        assert_eq!(skus, ["BEAN-1", "Dripper"], "a line item without a SKU is known by its name");
        let pos = db.store.read(|c| orders::get_by_ref(c, "#1002")).unwrap().unwrap();
        assert_eq!(pos.channel, enishi_core::Channel::InStore, "Shopify POS sales are in-store");
    }
}

#[test]
fn products_import_through_a_mapping_and_report_bad_rows() {
    use enishi_ingest::products::{import_products_with, ProductImportOptions};
    let data = shift_jis("商品コード,商品名,価格\nBEAN-1,深煎りブレンド,1200\nCUP-1,カップ,-5\n");
    let db = testing::sqlite();
    let headers: Vec<String> = ["商品コード", "商品名", "価格"].map(String::from).to_vec();
    let mapping = enishi_ingest::mapping::guess(enishi_ingest::ImportKind::Products, &headers);
    let opts =
        ProductImportOptions { skip_bad_rows: true, csv: enishi_ingest::CsvOptions { mapping, ..Default::default() } };
    let out = import_products_with(&db.store, &data[..], "p.csv", &opts, Progress::default()).unwrap();
    assert_eq!((out.summary.products_created, out.summary.rows_rejected), (1, 1));
    assert_eq!((out.report[0].line, out.report[0].column.as_deref()), (3, Some("価格")));
    let p = db.store.read(|c| enishi_store::repo::products::get(c, "BEAN-1")).unwrap().unwrap();
    assert_eq!(p.name.as_deref(), Some("深煎りブレンド"));
    let mut report = Vec::new();
    enishi_ingest::write_report(&mut report, &out.report).unwrap();
    assert_eq!(String::from_utf8(report).unwrap(), "line,column,order_id,reason\n3,\"価格\",\"\",\"is negative\"\n");
}

#[test]
fn the_shop_fixtures_of_the_readme_import() {
    let db = testing::sqlite();
    let data = std::fs::read(fixture("shop/pos-shift-jis.csv")).unwrap();
    let map = std::fs::read_to_string(fixture("shop/pos-map.toml")).unwrap();
    let mapping = enishi_ingest::Mapping::parse(&map).unwrap();
    let headers = ["注文番号", "顧客ID", "購入日時", "商品コード", "商品名", "数量", "単価", "金額", "店舗名"];
    let guessed = enishi_ingest::mapping::guess(enishi_ingest::ImportKind::Orders, &headers.map(String::from));
    assert_eq!(guessed, mapping, "the console would guess the fixture's mapping");
    let csv = enishi_ingest::CsvOptions { encoding: Default::default(), mapping };
    let s = import_with(&db.store, &data, OrderFormat::Generic, csv, false).unwrap().summary;
    assert_eq!((s.orders_created, s.customers_created, s.encoding.as_str()), (4, 3, "shift_jis"));
    let o = db.store.read(|c| orders::get_by_ref(c, "R-0004")).unwrap().unwrap();
    assert_eq!(o.lines[0].product_name.as_deref(), Some("髙橋窯マグカップ①"));
    let data = std::fs::read(fixture("shop/shopify-orders.csv")).unwrap();
    let s = import(&db.store, &data, OrderFormat::Shopify, false).unwrap().summary;
    assert_eq!((s.orders_created, s.lines_created, s.customers_created), (2, 3, 2));
}
