//! The `enishi` program as a user runs it.

use enishi_store::testing;
use std::path::{Path, PathBuf};
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

fn fixture(p: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(p).display().to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn cdnow_import_twice_then_nothing_new() {
    for db in testing::all() {
        let dir = tempfile::tempdir().unwrap();
        let out = enishi(
            &db.url,
            dir.path(),
            &["import", "orders", &fixture("cdnow/CDNOW_master.txt"), "--format", "cdnow", "--json"],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!((s["customers_created"].as_u64(), s["orders_created"].as_u64()), (Some(23_570), Some(69_659)));
        let out =
            enishi(&db.url, dir.path(), &["import", "orders", &fixture("cdnow/CDNOW_master.txt"), "--format", "cdnow"]);
        assert!(out.status.success());
        let stdout = text(&out.stdout);
        assert!(stdout.contains("nothing new"), "{stdout}");
        assert!(stdout.contains("created 0 customers, 0 orders"), "{stdout}");
    }
}

#[test]
fn bad_rows_exit_2_and_write_nothing_or_a_report() {
    let db = testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orders.csv");
    std::fs::write(
        &file,
        "order_id,customer_id,placed_at,sku,quantity,unit_price\nA,C,2026-01-01,S,1,3\nB,C,yesterday,S,1,3\n",
    )
    .unwrap();
    let f = file.display().to_string();
    let out = enishi(&db.url, dir.path(), &["import", "orders", &f]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("line 3, column placed_at"), "{err}");
    let report = std::fs::read_to_string(dir.path().join("orders.csv.rejected.csv")).unwrap();
    assert!(report.contains("3,\"placed_at\",\"B\""), "a failed import lists its bad rows: {report}");
    let exported = enishi(&db.url, dir.path(), &["export", "orders"]);
    assert_eq!(text(&exported.stdout).lines().count(), 1, "only the header: nothing was written");

    let out = enishi(&db.url, dir.path(), &["import", "orders", &f, "--skip-bad-rows", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["orders_created"], 1);
    let report = std::fs::read_to_string(dir.path().join("orders.csv.rejected.csv")).unwrap();
    assert!(report.starts_with("line,column,order_id,reason\n3,\"placed_at\",\"B\","), "{report}");

    for (args, needle) in [
        (vec!["import", "orders", "/no/such/file.csv"], "cannot read /no/such/file.csv"),
        (vec!["import", "orders", &f, "--format", "xml"], "unknown format"),
        (vec!["settings", "--time-zone", "Mars/Base"], "not an IANA time zone"),
        (vec!["token", "create", "--role", "king"], "--role"),
    ] {
        let out = enishi(&db.url, dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains(needle), "{args:?}: {}", text(&out.stderr));
    }
}

#[test]
fn gen_import_export_round_trip_and_tokens() {
    let db = testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let gen = dir.path().join("gen");
    let g = gen.display().to_string();
    let out = enishi(&db.url, dir.path(), &["gen", "--customers", "200", "--seed", "3", "--out", &g]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (what, file) in [("products", "products.csv"), ("customers", "customers.csv"), ("orders", "orders.csv")] {
        let out = enishi(&db.url, dir.path(), &["import", what, &gen.join(file).display().to_string()]);
        assert!(out.status.success(), "{what}: {}", text(&out.stderr));
    }
    let again = enishi(&db.url, dir.path(), &["import", "orders", &gen.join("orders.csv").display().to_string()]);
    assert!(again.status.success(), "re-import: {}", text(&again.stderr));
    assert!(text(&again.stdout).contains("nothing new"), "{}", text(&again.stdout));
    let orders = enishi(&db.url, dir.path(), &["export", "orders", "--format", "json"]).stdout;
    let customers = enishi(&db.url, dir.path(), &["export", "customers", "--out", "c.csv"]);
    assert!(customers.status.success());
    let other = testing::sqlite();
    std::fs::write(dir.path().join("o.jsonl"), &orders).unwrap();
    assert!(enishi(&other.url, dir.path(), &["import", "customers", "c.csv"]).status.success());
    let out = enishi(&other.url, dir.path(), &["import", "orders", "o.jsonl", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(enishi(&other.url, dir.path(), &["export", "orders", "--format", "json"]).stdout, orders);
    assert_eq!(
        enishi(&other.url, dir.path(), &["export", "customers"]).stdout,
        std::fs::read(dir.path().join("c.csv")).unwrap()
    );

    let out = enishi(&db.url, dir.path(), &["token", "create", "--role", "staff"]);
    let token = text(&out.stdout).lines().last().unwrap().to_string();
    assert!(token.starts_with("enishi_"), "{token}");
    let out = enishi(&db.url, dir.path(), &["settings", "--time-zone", "Asia/Tokyo", "--currency", "jpy"]);
    assert_eq!(text(&out.stdout), "time zone: Asia/Tokyo\ncurrency: JPY\nphone country: JP\nstaff order limit: 100000 (default)\nfrequency cap: 2/7 days\nquiet hours: 21:00-09:00\n");
    let out = enishi(&db.url, dir.path(), &["settings", "--phone-country", "gb"]);
    assert!(text(&out.stdout).contains("phone country: GB\n"), "{}", text(&out.stdout));
    let out = enishi(&db.url, dir.path(), &["settings", "--phone-country", "XX"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--phone-country: 'XX' is not a country"), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["settings", "--phone-country", "none"]);
    assert!(text(&out.stdout).contains("phone country: none\n"), "{}", text(&out.stdout));
    // Empty: automatic again, which is Japan in this yen workspace.
    let out = enishi(&db.url, dir.path(), &["settings", "--phone-country", ""]);
    assert!(text(&out.stdout).contains("phone country: JP\n"), "{}", text(&out.stdout));
    let out = enishi(&db.url, dir.path(), &["settings", "--phone-country", "JP"]);
    assert!(text(&out.stdout).contains("phone country: JP\n"), "{}", text(&out.stdout));
    for fake in ["YEN", "XYZ"] {
        let out = enishi(&db.url, dir.path(), &["settings", "--currency", fake]);
        let err = text(&out.stderr);
        assert!(!out.status.success() && err.contains("is not an ISO 4217 currency code"), "{fake}: {err}");
    }
    let out = enishi(&db.url, dir.path(), &["settings", "--staff-order-limit", "30000"]);
    assert!(text(&out.stdout).contains("staff order limit: 30000.00\n"), "{}", text(&out.stdout));
    let out = enishi(&db.url, dir.path(), &["settings", "--frequency-cap", "3/14", "--quiet-hours", "none"]);
    assert!(text(&out.stdout).ends_with("frequency cap: 3/14 days\nquiet hours: none\n"), "{}", text(&out.stdout));
    for (flag, bad) in [
        ("--frequency-cap", "3"),
        ("--quiet-hours", "25:00-09:00"),
        ("--smtp-url", "http://x"),
        ("--smtp-url", "smtp://u:secret@mail.example.com?tls=none"),
        ("--smtp-url", "smtps://x?tls=starttls"),
        ("--smtp-ca-file", "/nonexistent/ca.pem"),
        ("--email-rate", "0"),
        ("--webhook-rate", "fast"),
        ("--smtp-from", "nope"),
    ] {
        let out = enishi(&db.url, dir.path(), &["settings", flag, bad]);
        assert_eq!(out.status.code(), Some(2), "{flag} {bad}");
        assert!(text(&out.stderr).contains(flag), "{}", text(&out.stderr));
    }
    // A rate is shown once set, and gone again with none.
    let out =
        enishi(&db.url, dir.path(), &["settings", "--email-rate", "20", "--smtp-url", "smtps://u:p@mail.example.com"]);
    assert!(text(&out.stdout).ends_with("quiet hours: none\nemail rate: 20/s\n"), "{}", text(&out.stdout));
    let out = enishi(&db.url, dir.path(), &["settings", "--email-rate", "none", "--webhook-rate", "2.5"]);
    assert!(text(&out.stdout).ends_with("quiet hours: none\nwebhook rate: 2.5/s\n"), "{}", text(&out.stdout));
    let out = enishi(&db.url, dir.path(), &["settings", "--staff-order-limit", "0"]);
    assert!(!out.status.success() && text(&out.stderr).contains("--staff-order-limit"));
    let out = enishi(&db.url, dir.path(), &["settings", "--confirm-ratio", "5", "--confirm-sale-over", "300000"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["settings", "--confirm-sale-over", "¥0"]);
    assert!(!out.status.success() && text(&out.stderr).contains("--confirm-sale-over"));
}

#[test]
fn clv_through_the_database_matches_the_published_cdnow_fit() {
    for db in testing::all() {
        let dir = tempfile::tempdir().unwrap();
        let out =
            enishi(&db.url, dir.path(), &["import", "orders", &fixture("cdnow/CDNOW_sample.txt"), "--format", "cdnow"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = enishi(
            &db.url,
            dir.path(),
            &[
                "analyze",
                "clv",
                "--calibration-end",
                "1997-09-30",
                "--holdout-end",
                "1998-06-30",
                "--time-unit",
                "week",
                "--json",
                "--per-customer",
                "pc.csv",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let near = |v: &serde_json::Value, want: f64, rel: f64| ((v.as_f64().unwrap() - want) / want).abs() <= rel;
        assert!(near(&r["bgnbd"]["r"], 0.243, 0.005) && near(&r["bgnbd"]["alpha"], 4.414, 0.005), "{r}");
        assert!(near(&r["bgnbd"]["a"], 0.793, 0.005) && near(&r["bgnbd"]["b"], 2.426, 0.005), "{r}");
        assert!((r["bgnbd"]["log_likelihood"].as_f64().unwrap() + 9582.4).abs() < 0.1);
        assert!(
            near(&r["gamma_gamma"]["p"], 6.25, 0.01)
                && near(&r["gamma_gamma"]["q"], 3.74, 0.01)
                && near(&r["gamma_gamma"]["gamma"], 15.44, 0.01)
        );
        assert_eq!(r["holdout"]["actual_repeat_transactions"], 1882);
        // Σ E[Y(39 weeks)] over the 2,357 customers at the published parameters is 1,653.95
        // (computed apart with mpmath's ₂F₁); the fitted parameters agree to 0.5%.
        let predicted = r["holdout"]["predicted_repeat_transactions"].as_f64().unwrap();
        assert!((predicted - 1653.95).abs() < 0.01 * 1653.95, "{predicted}");
        let csv = std::fs::read_to_string(dir.path().join("pc.csv")).unwrap();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("customer_id,frequency,recency,T,expected_purchases,p_alive,expected_avg_value,clv")
        );
        let first: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(first[0], "00004");
        assert!((first[4].parse::<f64>().unwrap() - 1.226).abs() < 0.001, "{first:?}");
        assert_eq!(csv.lines().count(), 2358);
        // The analyses store their scores per customer.
        assert!(enishi(&db.url, dir.path(), &["analyze", "rfm", "--as-of", "1998-06-30"]).status.success());
        let scores = db
            .store
            .read(|c| {
                let id = enishi_store::repo::customers::get_by_external_id(c, "00004")?.unwrap().id;
                enishi_store::repo::scores::get(c, id)
            })
            .unwrap()
            .unwrap();
        let value = scores.value.unwrap();
        assert!((value.expected_purchases - 1.226).abs() < 0.001 && value.expected_days == 273, "{value:?}");
        // 1 / (1 + a/(b + x − 1) · ((α + T)/(α + tₓ))^(r + x)) = 0.7266 at the published fit.
        assert!((value.p_alive - 0.7266).abs() < 0.002 && value.clv > 0.0, "{value:?}");
        let rfm = scores.rfm.unwrap();
        assert!((1..=5).contains(&rfm.r) && !rfm.segment.is_empty(), "{rfm:?}");
    }
}

#[test]
fn pareto_and_rfm_on_cdnow_master() {
    let db = testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    assert!(enishi(
        &db.url,
        dir.path(),
        &["import", "orders", &fixture("cdnow/CDNOW_master.txt"), "--format", "cdnow"]
    )
    .status
    .success());
    let out = enishi(&db.url, dir.path(), &["analyze", "pareto", "--as-of", "1998-06-30", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["customers"], 23_570);
    assert!((p["top_20_share"].as_f64().unwrap() - 0.678).abs() < 0.001, "{p}");
    let out = enishi(
        &db.url,
        dir.path(),
        &["analyze", "rfm", "--as-of", "1998-06-30", "--json", "--per-customer", "rfm.csv"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total: u64 = r["segments"].as_array().unwrap().iter().map(|s| s["customers"].as_u64().unwrap()).sum();
    assert_eq!(total, 23_570, "every customer in exactly one segment");
    let csv = std::fs::read_to_string(dir.path().join("rfm.csv")).unwrap();
    assert_eq!(csv.lines().count(), 23_571);
    let out = enishi(
        &db.url,
        dir.path(),
        &["analyze", "loyal", "--baseline", "1997-06-30", "--as-of", "1998-06-30", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let l: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let trend = l["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 13, "the baseline month end and twelve more");
    assert_eq!(trend[0]["date"], "1997-06-30");
    assert_eq!(trend[12]["date"], "1998-06-30");
    let first = trend[0]["share"].as_f64().unwrap();
    assert!((first - 0.20).abs() < 0.01, "the baseline meets its own thresholds: {first}");
    // The cohort only ages and buys more: more of it meets the frozen bars later.
    assert!(trend[12]["share"].as_f64().unwrap() > first);
    // The first purchases of the whole cohort were in early 1997: as of mid-1997 fewer have bought.
    let early = enishi(&db.url, dir.path(), &["analyze", "pareto", "--as-of", "1997-01-31", "--json"]);
    let e: serde_json::Value = serde_json::from_slice(&early.stdout).unwrap();
    assert!(e["customers"].as_u64().unwrap() < 23_570);
}

#[test]
fn recommendations_beat_popularity_on_generated_data() {
    let db = testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let gen = dir.path().join("gen").display().to_string();
    assert!(enishi(&db.url, dir.path(), &["gen", "--customers", "5000", "--seed", "11", "--out", &gen])
        .status
        .success());
    assert!(enishi(&db.url, dir.path(), &["import", "orders", &format!("{gen}/orders.csv")]).status.success());
    let out = enishi(
        &db.url,
        dir.path(),
        &[
            "analyze",
            "recommend",
            "--holdout-from",
            "2026-06-01",
            "--as-of",
            "2026-10-31",
            "--json",
            "--per-customer",
            "recs.csv",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &r["evaluation"];
    assert!(e["customers"].as_u64().unwrap() > 500, "{r}");
    assert!(e["hit_rate"].as_f64().unwrap() > e["popularity_hit_rate"].as_f64().unwrap(), "{r}");
    let recs = std::fs::read_to_string(dir.path().join("recs.csv")).unwrap();
    assert!(recs.starts_with("customer_id,rank,sku,score\n"));
    assert!(recs.lines().count() > 5000, "top 5 for most customers");
}

#[test]
fn kpis_describe_cdnow_with_distributions() {
    let db = testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    assert!(enishi(
        &db.url,
        dir.path(),
        &["import", "orders", &fixture("cdnow/CDNOW_sample.txt"), "--format", "cdnow"]
    )
    .status
    .success());
    let out = enishi(&db.url, dir.path(), &["analyze", "kpis", "--as-of", "1998-06-30", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let k: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((k["customers"].as_u64(), k["orders"].as_u64()), (Some(2357), Some(6919)));
    let rate = k["repeat_purchase_rate"].as_f64().unwrap();
    assert!(rate > 0.4 && rate < 0.6, "{rate}");
    assert!(
        k["order_value"]["median"].as_f64().unwrap() < k["order_value"]["mean"].as_f64().unwrap(),
        "skewed: median below mean"
    );
    assert_eq!(k["orders_by_weekday"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).sum::<u64>(), 6919);
    let cohorts = k["cohorts"].as_array().unwrap();
    assert_eq!(cohorts.len(), 3, "the CDNOW cohort first bought in January to March 1997");
    assert_eq!(cohorts[0]["retention"][0], 1.0);
}

#[test]
fn loyalty_programmes_apply_from_starters_and_bad_ones_exit_2() {
    let db = testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let out = enishi(&db.url, dir.path(), &["loyalty", "show"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    for name in ["cafe", "retail", "ecommerce", "demo"] {
        let out = enishi(&db.url, dir.path(), &["loyalty", "starter", name]);
        assert!(out.status.success());
        let file = dir.path().join(format!("{name}.json"));
        std::fs::write(&file, &out.stdout).unwrap();
        let out = enishi(&db.url, dir.path(), &["loyalty", "apply", file.to_str().unwrap()]);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    }
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"name": "x", "earning": {"points_per_unit": 1, "minimum_order": "ten"}}"#).unwrap();
    let out = enishi(&db.url, dir.path(), &["loyalty", "apply", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("earning.minimum_order"), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["loyalty", "show"]);
    assert!(text(&out.stderr).contains("version 4"), "a bad programme is not stored");
    let out = enishi(&db.url, dir.path(), &["loyalty", "jobs", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["loyalty", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["loyalty", "report", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A recurring promotion: a bad weekday is refused by its path; a good one is reported.
    let weekly = |days: &str| {
        format!(
            r#"{{"name": "w", "earning": {{"points_per_unit": 1}}, "promotions": [{{"id": "quiet", "name": "Quiet",
                "repeat": {{"weekdays": {days}, "from": "22:00", "until": "02:00"}}, "bonus": 5}}]}}"#
        )
    };
    std::fs::write(&bad, weekly(r#"["tue", "someday"]"#)).unwrap();
    let out = enishi(&db.url, dir.path(), &["loyalty", "apply", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("promotions[0].repeat.weekdays[1]"), "{}", text(&out.stderr));
    let good = dir.path().join("weekly.json");
    std::fs::write(&good, weekly(r#"["tue", "wed"]"#)).unwrap();
    let out = enishi(&db.url, dir.path(), &["loyalty", "apply", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["loyalty", "report"]);
    assert!(text(&out.stdout).contains("recurring promotion Quiet (tue,wed 22:00-02:00)"), "{}", text(&out.stdout));

    // A personal offer for a segment: the segment must be saved, is kept while named, and
    // each member gets the offer once per round.
    let offers = dir.path().join("offers.json");
    std::fs::write(
        &offers,
        r#"{"name": "o", "earning": {"points_per_unit": 1},
            "offers": [{"id": "thanks", "name": "Thanks", "segment": "Everyone", "points": 20}]}"#,
    )
    .unwrap();
    let out = enishi(&db.url, dir.path(), &["loyalty", "apply", offers.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("offers[0].segment"), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["segment", "create", "Everyone", "orders >= 0"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["loyalty", "apply", offers.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["loyalty", "offer", "thanks", "--round", "2026-12", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let issued: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((issued["members"].as_u64(), issued["issued"].as_u64()), (Some(0), Some(0)), "nobody yet");
    let out = enishi(&db.url, dir.path(), &["loyalty", "offer", "nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["loyalty", "suggest"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("no quiet window found"), "no orders: {}", text(&out.stdout));
    let out = enishi(&db.url, dir.path(), &["loyalty", "suggest", "--draft", "1", "d.json"]);
    assert_eq!(out.status.code(), Some(2), "nothing to draft: {}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["segment", "delete", "Everyone"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("offers[0].segment"), "{}", text(&out.stderr));
}

#[test]
fn loyal_customers_are_suggested_a_multiplier_and_its_segment_is_saved_with_the_draft() {
    let db = testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let out = enishi(&db.url, dir.path(), &["loyalty", "suggest", "--loyal"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("no customer is ranked loyal"), "{}", text(&out.stdout));
    let out = enishi(&db.url, dir.path(), &["loyalty", "suggest", "--loyal", "--draft", "1", "d.json"]);
    assert_eq!(out.status.code(), Some(2), "nothing to draft: {}", text(&out.stderr));

    // Two customers with an order each in the last weeks; the first ranked loyal.
    let today = chrono::Utc::now().date_naive() - chrono::Days::new(3);
    let orders = dir.path().join("o.csv");
    std::fs::write(
        &orders,
        format!("order_id,customer_id,placed_at,sku,quantity,unit_price\nA,L1,{today} 10:00,TEA,1,30.00\nB,O2,{today} 11:00,TEA,1,20.00\n"),
    )
    .unwrap();
    let out = enishi(&db.url, dir.path(), &["import", "orders", orders.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let loyal =
        db.store.read(|c| c.query_one("SELECT id FROM customers WHERE external_id = 'L1'", &[])?.int(0)).unwrap();
    db.store.write(|c| enishi_store::repo::scores::store_loyal_classes(c, &[(loyal, "loyal")])).unwrap();

    let out = enishi(&db.url, dir.path(), &["loyalty", "suggest", "--loyal", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((s["members"].as_u64(), s["segment"]["saved"].as_bool()), (Some(1), Some(false)), "{s}");
    assert!(s["cost"]["extra_points"].as_i64().unwrap() > 0, "the loyal customer's order, doubled: {s}");
    let out = enishi(&db.url, dir.path(), &["loyalty", "suggest", "--loyal", "--draft", "2", "d.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["loyalty", "suggest", "--loyal", "--draft", "1", "d.json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("saved the segment \"Loyal and semi-loyal\""), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["loyalty", "apply", "d.json"]);
    assert!(out.status.success(), "the draft applies once its segment is saved: {}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["loyalty", "suggest", "--loyal"]);
    assert!(
        text(&out.stdout)
            .contains("1. 2x points for the 1 loyal and semi-loyal customers (segment \"Loyal and semi-loyal\")"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn lifecycle_stages_are_stored_and_only_changes_are_recorded() {
    let db = testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let out =
        enishi(&db.url, dir.path(), &["import", "orders", &fixture("cdnow/CDNOW_master.txt"), "--format", "cdnow"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = |as_of: &str| -> serde_json::Value {
        let out = enishi(&db.url, dir.path(), &["analyze", "lifecycle", "--as-of", as_of, "--json", "--lapsed", "5"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let first = run("1998-06-30");
    let total: u64 = first["funnel"].as_array().unwrap().iter().map(|s| s["customers"].as_u64().unwrap()).sum();
    assert_eq!(total, 23_570);
    assert_eq!(first["changes_recorded"], 23_570, "a first judgement is a change from none");
    let lapsed = first["lapsed"].as_array().unwrap();
    assert_eq!(lapsed.len(), 5);
    let stakes: Vec<f64> = lapsed.iter().map(|l| l["value_at_stake"].as_f64().unwrap()).collect();
    assert!(stakes.windows(2).all(|w| w[0] >= w[1]), "most at stake first: {stakes:?}");
    assert_eq!(run("1998-06-30")["changes_recorded"], 0, "the same day again changes nothing");
    let later = run("1999-06-30");
    let moved = later["changes_recorded"].as_u64().unwrap();
    assert!(moved > 1000, "a year later many customers have moved on: {moved}");
    let lost = |v: &serde_json::Value| v["funnel"][4]["customers"].as_u64().unwrap();
    assert!(lost(&later) > lost(&first));
    let out = enishi(&db.url, dir.path(), &["analyze", "lifecycle", "--as-of", "1998-13-01"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn users_are_created_listed_and_given_new_passwords() {
    use std::io::Write;
    let db = testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let out = enishi(&db.url, dir.path(), &["user", "create", "--email", "Owner@Shop.example", "--role", "admin"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let generated = text(&out.stdout).trim().to_string();
    assert_eq!(generated.len(), 16, "a generated password is printed: {generated}");
    let out = enishi(&db.url, dir.path(), &["user", "create", "--email", "owner@shop.example", "--role", "staff"]);
    assert_eq!(out.status.code(), Some(2), "the email is taken");
    assert!(text(&out.stderr).contains("already exists"), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["user", "create", "--email", "x@shop.example", "--role", "boss"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--role"), "{}", text(&out.stderr));

    let mut child = Command::new(env!("CARGO_BIN_EXE_enishi"))
        .args(["--database-url", &db.url, "user", "password", "--email", "owner@shop.example", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"a chosen long password\n").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let ok =
        db.store.read(|c| enishi_store::repo::users::check_password(c, "owner@shop.example", "a chosen long password"));
    assert!(ok.unwrap().is_some(), "the new password signs in");
    let out = enishi(&db.url, dir.path(), &["user", "list"]);
    assert!(text(&out.stdout).contains("owner@shop.example\tadmin\ten\tenabled"), "{}", text(&out.stdout));
}

#[test]
fn backup_while_writing_and_restore_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db").display().to_string();
    let csv = dir.path().join("o.csv");
    let rows: String = (0..500).map(|i| format!("B-{i},C-{},2026-01-01,S,1,3\n", i % 50)).collect();
    std::fs::write(&csv, format!("order_id,customer_id,placed_at,sku,quantity,unit_price\n{rows}")).unwrap();
    assert!(enishi(&db, dir.path(), &["import", "orders", &csv.display().to_string()]).status.success());
    // A writer keeps importing while the backup is taken: the copy is one consistent point.
    let writer = {
        let (db, dir) = (db.clone(), dir.path().to_path_buf());
        std::thread::spawn(move || {
            for n in 0..5 {
                let more = dir.join(format!("m{n}.csv"));
                let rows: String = (0..200).map(|i| format!("M{n}-{i},C-{i},2026-01-02,S,1,3\n")).collect();
                std::fs::write(&more, format!("order_id,customer_id,placed_at,sku,quantity,unit_price\n{rows}"))
                    .unwrap();
                assert!(enishi(&db, &dir, &["import", "orders", &more.display().to_string()]).status.success());
            }
        })
    };
    let backup = dir.path().join("backup.db");
    let out = enishi(&db, dir.path(), &["backup", &backup.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    writer.join().unwrap();
    let again = enishi(&db, dir.path(), &["backup", &backup.display().to_string()]);
    assert!(!again.status.success() && text(&again.stderr).contains("exists"), "never overwrites");
    let orders_in = |url: &str| {
        let s = enishi_store::Store::open(url).unwrap();
        s.read(|c| c.query_one("SELECT COUNT(*) FROM orders", &[])?.int(0)).unwrap()
    };
    let saved = orders_in(&backup.display().to_string());
    assert!((500..=1500).contains(&saved) && (saved - 500) % 200 == 0, "whole imports only: {saved}");
    assert_eq!(orders_in(&db), 1500);

    // Restore puts the backup in place and keeps what it replaced.
    let out = enishi(&db, dir.path(), &["restore", &backup.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(orders_in(&db), saved);
    let kept = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).filter(|e| {
        e.file_name().to_string_lossy().starts_with("live.db.before-restore-")
            && !e.file_name().to_string_lossy().ends_with("-wal")
    });
    assert_eq!(kept.count(), 1);
    // A file that is not an Enishi database is refused and changes nothing.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, "not a database").unwrap();
    let out = enishi(&db, dir.path(), &["restore", &junk.display().to_string()]);
    assert!(!out.status.success() && text(&out.stderr).contains("not an Enishi database"), "{}", text(&out.stderr));
    assert_eq!(orders_in(&db), saved);
}

#[test]
fn privacy_export_and_erase_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db").display().to_string();
    let people = dir.path().join("people.csv");
    std::fs::write(&people, "external_id,name,email\nP-1,Ken Ito,ken-9c1@example.com\nP-2,Aya Mori,aya@example.com\n")
        .unwrap();
    assert!(enishi(&db, dir.path(), &["import", "customers", &people.display().to_string()]).status.success());
    let out = enishi(&db, dir.path(), &["privacy", "export", "P-1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let data: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(data["customer"]["email"], "ken-9c1@example.com");
    let out = enishi(&db, dir.path(), &["privacy", "erase", "P-1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = enishi(&db, dir.path(), &["privacy", "export", "P-1"]);
    assert!(!out.status.success() && text(&out.stderr).contains("no customer with external id P-1"));
    for path in [db.clone(), format!("{db}-wal")] {
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(!bytes.windows(11).any(|w| w == b"ken-9c1@exa"), "still in {path}");
    }
    // Importing the same file again updates Aya and skips Ken.
    let out = enishi(&db, dir.path(), &["import", "customers", &people.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(enishi(&db, dir.path(), &["privacy", "export", "P-2"]).status.success());
    assert!(!enishi(&db, dir.path(), &["privacy", "export", "P-1"]).status.success(), "Ken stays erased");
}

#[test]
fn dead_jobs_are_listed_with_their_error_and_queued_again() {
    use enishi_store::repo::jobs::{self, NewJob};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.db").display().to_string();
    let store = enishi_store::Store::open(&db).unwrap();
    let id = store
        .write(|c| {
            let job = NewJob { kind: "webhook", idempotency_key: "w:1", payload: "{}", run_after: 0, max_attempts: 1 };
            let (id, _) = jobs::enqueue(c, &job, 0)?;
            jobs::claim(c, &["webhook"], "w", 10, 70, 1)?;
            jobs::fail(c, id, "w", "HTTP 500 from the LINE gateway", 11)?;
            Ok::<_, enishi_store::StoreError>(id)
        })
        .unwrap();
    let out = enishi(&db, dir.path(), &["jobs", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert!(listed.starts_with("queued 0, running 0, done 0, dead 1\n"), "{listed}");
    assert!(
        listed.contains(&format!("{id}\twebhook\tw:1\tattempt 1 of 1\tHTTP 500 from the LINE gateway")),
        "{listed}"
    );
    let out = enishi(&db, dir.path(), &["jobs", "retry", &id.to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = enishi(&db, dir.path(), &["jobs", "retry", &id.to_string()]);
    assert_eq!(out.status.code(), Some(2), "no longer dead: {}", text(&out.stderr));
    let listed = text(&enishi(&db, dir.path(), &["jobs", "list", "--state", "queued"]).stdout);
    assert!(listed.starts_with("queued 1, running 0, done 0, dead 0\n"), "{listed}");
}

#[test]
fn two_servers_on_one_postgres_run_each_scheduled_job_once() {
    use std::io::Read;
    let Some(db) = testing::postgres() else { return };
    // Both servers start at once; each ticks as it starts.
    let servers: Vec<(std::process::Child, u16)> = (0..2)
        .map(|_| {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let child = Command::new(env!("CARGO_BIN_EXE_enishi"))
                .args(["--database-url", &db.url, "serve", "--addr", &format!("127.0.0.1:{port}")])
                .args(["--jobs-every-minutes", "60"])
                .env("RUST_LOG", "warn")
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            (child, port)
        })
        .collect();
    let metrics = |port: u16| -> Option<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        std::io::Write::write_all(&mut s, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).ok()?;
        Some(answer)
    };
    let count = |text: &str, series: &str| -> u64 {
        text.lines().find_map(|l| l.strip_prefix(series)).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
    };
    // Wait until both have ticked (and finished their tick's work), for up to a minute.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let texts: Vec<String> = servers.iter().filter_map(|(_, port)| metrics(*port)).collect();
        let ticked = texts.len() == 2 && texts.iter().all(|t| count(t, "enishi_job_runs_total ") >= 1);
        let settled = ticked && {
            let sum = |series: &str| texts.iter().map(|t| count(t, series)).sum::<u64>();
            sum("enishi_scheduled_runs_total{job=\"loyalty-jobs\"} ") >= 1
                && sum("enishi_scheduled_runs_total{job=\"daily-work\"} ") >= 1
        };
        if settled || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // A moment more, in case the other server's tick was still deciding.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let texts: Vec<String> = servers.iter().filter_map(|(_, port)| metrics(*port)).collect();
    for (mut child, _) in servers {
        child.kill().unwrap();
        let _ = child.wait();
    }
    assert_eq!(texts.len(), 2, "both servers answered");
    let sum = |series: &str| texts.iter().map(|t| count(t, series)).sum::<u64>();
    assert_eq!(sum("enishi_job_runs_total "), 2, "each server ticked once");
    assert_eq!(sum("enishi_scheduled_runs_total{job=\"loyalty-jobs\"} "), 1, "the loyalty jobs ran once");
    assert_eq!(sum("enishi_scheduled_runs_total{job=\"daily-work\"} "), 1, "the daily work ran once");
}

#[test]
fn the_server_logs_one_json_line_per_request_with_its_id() {
    use std::io::{BufRead, BufReader, Read, Write};
    let db = testing::sqlite();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_enishi"))
        .args(["--database-url", &db.url, "serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(["--jobs-every-minutes", "0", "--log-format", "json"])
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    // The first line says where it listens; then it answers.
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains(&port.to_string()), "{first}");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /api/v1/customers/7?email=sato%40example.jp HTTP/1.1\r\nHost: x\r\nX-Request-Id: till-42\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.to_ascii_lowercase().contains("x-request-id: till-42"), "{answer}");
    assert!(answer.contains(r#""request_id":"till-42""#), "the problem names the request: {answer}");
    let line = lines.next().unwrap().unwrap();
    server.kill().unwrap();
    let _ = server.wait();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["message"], "request", "{line}");
    assert_eq!(
        (v["method"].as_str(), v["route"].as_str(), v["status"].as_u64()),
        (Some("GET"), Some("/api/v1/customers/{id}"), Some(401)),
        "{line}"
    );
    assert_eq!(v["span"]["request_id"], "till-42", "{line}");
    assert!(v["latency_ms"].as_str().is_some_and(|ms| ms.parse::<f64>().is_ok()), "{line}");
    assert!(!line.contains("sato"), "no query or personal data in the log: {line}");
}

#[test]
fn an_export_read_only_in_part_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let db = testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let out =
        enishi(&db.url, dir.path(), &["import", "orders", &fixture("cdnow/CDNOW_sample.txt"), "--format", "cdnow"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // `enishi export orders | head -1`: the reader goes away after one line of ~700 kB.
    let mut child = Command::new(env!("CARGO_BIN_EXE_enishi"))
        .args(["--database-url", &db.url, "export", "orders"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("order_id,"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "nothing to report");
}

#[test]
fn segments_are_counted_saved_exported_and_lists_imported_from_the_command_line() {
    let db = testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let gen = dir.path().join("gen");
    let g = gen.display().to_string();
    assert!(enishi(
        &db.url,
        dir.path(),
        &["gen", "--customers", "150", "--seed", "5", "--out", &g, "--end", "2026-06-30"]
    )
    .status
    .success());
    for (what, file) in [("products", "products.csv"), ("customers", "customers.csv"), ("orders", "orders.csv")] {
        let out = enishi(&db.url, dir.path(), &["import", what, &gen.join(file).display().to_string()]);
        assert!(out.status.success(), "{what}: {}", text(&out.stderr));
    }
    // Independent counts from the generated files.
    let mut orders: std::collections::HashMap<String, std::collections::BTreeSet<String>> = Default::default();
    let mut r = csv::Reader::from_path(gen.join("orders.csv")).unwrap();
    for row in r.records().map(Result::unwrap) {
        if !row[4].starts_with('-') {
            orders.entry(row[1].to_string()).or_default().insert(row[0].to_string());
        }
    }
    let repeaters = orders.values().filter(|o| o.len() >= 2).count();
    let mut r = csv::Reader::from_path(gen.join("customers.csv")).unwrap();
    let postal = r.records().map(Result::unwrap).filter(|row| &row[23] == "opted_in").count();
    let count = |rule: &str| {
        let out = enishi(&db.url, dir.path(), &["segment", "count", rule, "--as-of", "2026-06-30", "--json"]);
        assert!(out.status.success(), "{rule}: {}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["count"].as_i64().unwrap() as usize
    };
    assert_eq!(count("orders >= 2"), repeaters);
    assert_eq!(count("consent.postal"), postal);
    assert_eq!(count("orders >= 2 or not orders >= 2"), 150);
    let out = enishi(&db.url, dir.path(), &["segment", "count", "orders >= 2"]);
    assert_eq!(text(&out.stdout).lines().last().unwrap(), repeaters.to_string(), "the count is the last number");

    let out = enishi(&db.url, dir.path(), &["analyze", "loyal", "--baseline", "2026-06-30", "--as-of", "2026-06-30"]);
    let report = text(&out.stdout);
    assert!(report.contains("one loyal customer is worth"), "{report}");
    let in_report = |class: &str| -> usize {
        let line = report.lines().find(|l| l.starts_with(&format!("  {class} "))).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let (loyal, semi, other) = (in_report("loyal"), in_report("semi_loyal"), in_report("other"));
    assert_eq!(count("loyal_class = \"loyal\""), loyal);
    assert_eq!(count("loyal_class = \"semi_loyal\""), semi);
    assert_eq!(count("loyal_class in (\"loyal\", \"semi_loyal\", \"other\")"), count("orders >= 1"));
    assert_eq!(loyal + semi + other, orders.len());
    assert!((loyal as f64 - 0.07 * orders.len() as f64).abs() <= 2.0, "{loyal} of {}", orders.len());

    // The presets, against counts computed from the files: (order, sku) → units bought less
    // units returned; customers' first order days; birthdays.
    let mut units: std::collections::HashMap<(String, String), (String, i64)> = Default::default();
    let mut first: std::collections::HashMap<String, String> = Default::default();
    let mut r = csv::Reader::from_path(gen.join("orders.csv")).unwrap();
    for row in r.records().map(Result::unwrap) {
        let q: i64 = row[4].parse().unwrap();
        let order = if q < 0 { row[9].to_string() } else { row[0].to_string() };
        units.entry((order, row[3].to_string())).or_insert((row[1].to_string(), 0)).1 += q;
        if q > 0 {
            let day = row[2][..10].to_string();
            let f = first.entry(row[1].to_string()).or_insert(day.clone());
            *f = f.clone().min(day);
        }
    }
    let bought = |sku: &str| -> std::collections::BTreeSet<String> {
        units.iter().filter(|((_, s), (_, n))| s == sku && *n > 0).map(|(_, (c, _))| c.clone()).collect()
    };
    let presets = enishi(&db.url, dir.path(), &["segment", "presets", "--as-of", "2026-06-30"]);
    let listing = text(&presets.stdout);
    let top = listing.lines().nth(1).unwrap().trim().split('\t').next().unwrap().to_string();
    let (a, b) = top.split_once(" + ").unwrap();
    let out =
        enishi(&db.url, dir.path(), &["segment", "presets", "--a", a, "--b", b, "--as-of", "2026-06-30", "--save"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    let preset = |name: &str| -> usize {
        let line = listing
            .lines()
            .find(|l| l.starts_with(&format!("{name}\t")))
            .unwrap_or_else(|| panic!("{name}: {listing}"));
        line.split('\t').nth(1).unwrap().parse().unwrap()
    };
    let (with_a, with_b) = (bought(a), bought(b));
    assert_eq!(preset(&format!("Bought {a} only")), with_a.difference(&with_b).count());
    assert_eq!(preset(&format!("Bought {a} and {b}")), with_a.intersection(&with_b).count());
    assert_eq!(preset(&format!("Bought {b} only")), with_b.difference(&with_a).count());
    assert!(preset(&format!("Bought {a} and {b}")) > 0, "the top pair was bought together");
    assert_eq!(preset("One-time buyers"), orders.values().filter(|o| o.len() == 1).count());
    assert_eq!(preset("New customers"), first.values().filter(|d| d.as_str() >= "2026-06-01").count());
    let mut r = csv::Reader::from_path(gen.join("customers.csv")).unwrap();
    let july = r.records().map(Result::unwrap).filter(|row| row[9].get(5..7) == Some("07")).count();
    assert_eq!(preset("Birthdays next month"), july);
    assert!(text(&enishi(&db.url, dir.path(), &["segment", "list"]).stdout).contains("Lapsed loyal\t"));

    for (rule, says) in [
        ("orders >=", "line 1, column 10: expected a value"),
        ("order >= 2", "did you mean `orders`"),
        ("tier > 3", "takes =, != or in"),
    ] {
        let out = enishi(&db.url, dir.path(), &["segment", "count", rule]);
        assert_eq!(out.status.code(), Some(2), "{rule}");
        assert!(text(&out.stderr).contains(says), "{rule}: {}", text(&out.stderr));
    }
    let out = enishi(&db.url, dir.path(), &["segment", "create", "Repeaters", "orders >= 2 and consent.postal"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(enishi(&db.url, dir.path(), &["segment", "create", "Bad", "segment = \"Nope\""]).status.code(), Some(2));
    assert_eq!(enishi(&db.url, dir.path(), &["segment", "create", "Repeaters", "orders >= 1"]).status.code(), Some(2));
    let out = enishi(&db.url, dir.path(), &["segment", "show", "Repeaters"]);
    let shown = text(&out.stdout);
    assert!(shown.contains("orders >= 2 and consent.postal") && shown.contains("joined"), "{shown}");
    let list = text(&enishi(&db.url, dir.path(), &["segment", "list"]).stdout);
    assert!(list.lines().any(|l| l.starts_with("Repeaters\t")) && !list.contains("Bad\t"), "{list}");

    let out = enishi(&db.url, dir.path(), &["segment", "export", "Repeaters", "--format", "postal", "--out", "dm.csv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dm = std::fs::read_to_string(dir.path().join("dm.csv")).unwrap();
    let rows: Vec<&str> = dm.lines().skip(1).collect();
    assert!(!rows.is_empty() && rows.iter().all(|r| r.starts_with('〒') && r.contains(" 様")), "{dm}");
    let codes: Vec<&str> = rows.iter().map(|r| r.split(',').next().unwrap()).collect();
    assert!(codes.windows(2).all(|w| w[0] <= w[1]), "sorted by postal code: {codes:?}");
    let snap = enishi(&db.url, dir.path(), &["segment", "snapshot", "Repeaters", "--label", "coffee DM v1"]);
    assert!(
        text(&snap.stdout).contains(&format!("{} customers", count("orders >= 2 and consent.postal"))),
        "{}",
        text(&snap.stdout)
    );

    assert!(enishi(&db.url, dir.path(), &["list", "create", "Fair"]).status.success());
    std::fs::write(dir.path().join("fair.csv"), "external_id\nC0000001\nnobody@example.com\nC0000002\n").unwrap();
    let out = enishi(&db.url, dir.path(), &["list", "import", "Fair", "fair.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 3: nobody@example.com") && text(&out.stderr).contains("nothing was added")
    );
    assert_eq!(count("list = \"Fair\""), 0);
    assert!(enishi(&db.url, dir.path(), &["list", "import", "Fair", "fair.csv", "--skip-unknown"]).status.success());
    assert_eq!(count("list = \"Fair\""), 2);
    assert!(enishi(&db.url, dir.path(), &["list", "remove", "Fair", "C0000002"]).status.success());
    assert_eq!(count("list = \"Fair\""), 1);
    assert!(enishi(&db.url, dir.path(), &["segment", "delete", "Repeaters"]).status.success());
    assert_eq!(enishi(&db.url, dir.path(), &["segment", "show", "Repeaters"]).status.code(), Some(2));
}

#[test]
fn a_shift_jis_pos_export_imports_with_a_mapping_file() {
    let db = testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let pos = "伝票番号,会員番号,売上日時,品番,個数,単価,店舗\r\n\
                P-1,M-1,2026-11-20 18:05,BEAN-1,2,1200,渋谷店\r\n\
                P-2,M-2,2026-11-20 18:10,BEAN-1,２,1200,渋谷店\r\n\
                P-3,M-1,2026-11-21 09:00,CUP-1,1,800,渋谷店\r\n";
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(pos);
    let file = dir.path().join("pos.csv");
    std::fs::write(&file, &bytes).unwrap();
    let f = file.display().to_string();
    std::fs::write(
        dir.path().join("map.toml"),
        "# our till's export\n\"伝票番号\" = \"order_id\"\n\"会員番号\" = \"customer_id\"\n\"売上日時\" = \"placed_at\"\n\
         \"品番\" = \"sku\"\n\"個数\" = \"quantity\"\n\"単価\" = \"unit_price\"\n\"店舗\" = \"\"\n",
    )
    .unwrap();
    // Without the mapping the Japanese headers are unknown; with it, the bad row is named at
    // its true line (3, whatever the CRLF endings) by the file's own header.
    let out = enishi(&db.url, dir.path(), &["import", "orders", &f]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown column '伝票番号'"), "{}", text(&out.stderr));
    let out = enishi(&db.url, dir.path(), &["import", "orders", &f, "--mapping", "map.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("1 bad row, nothing imported; first: line 3, column 個数"), "{err}");
    let out = enishi(&db.url, dir.path(), &["import", "orders", &f, "--mapping", "map.toml", "--skip-bad-rows"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("read 3 rows") && stdout.contains("from Shift_JIS"), "{stdout}");
    assert!(stdout.contains("created 1 customer, 2 orders (2 lines)"), "plurals: {stdout}");
    assert!(stdout.contains("1 row rejected, 0 rows without a customer"), "{stdout}");
    let exported = text(&enishi(&db.url, dir.path(), &["export", "customers"]).stdout);
    assert!(exported.contains("M-1"), "{exported}");
    // Forced to UTF-8 the header is refused; a mapping applies to CSV only.
    let out = enishi(&db.url, dir.path(), &["import", "orders", &f, "--mapping", "map.toml", "--encoding", "utf-8"]);
    assert!(text(&out.stderr).contains("header column 1 is not UTF-8 text"), "{}", text(&out.stderr));
    for (args, needle) in [
        (vec!["--encoding", "latin1"], "unknown encoding 'latin1'"),
        (vec!["--format", "cdnow", "--mapping", "map.toml"], "apply to CSV formats, not cdnow"),
        (vec!["--mapping", "nope.toml"], "cannot read the mapping nope.toml"),
    ] {
        let out = enishi(&db.url, dir.path(), &[&["import", "orders", f.as_str()][..], &args].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains(needle), "{needle}: {}", text(&out.stderr));
    }
}
