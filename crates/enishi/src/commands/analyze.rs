//! `enishi analyze`: customer analytics over the stored purchases.

use crate::BadInput;
use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Subcommand;
use enishi_store::Store;
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

/// What to analyse.
#[derive(Subcommand)]
pub enum AnalyzeWhat {
    /// Lifecycle stages (new, active, inactive, at risk, lost) by each customer's own rhythm and
    /// P(alive) (run `analyze clv` first to use it); stores the stages, records every change, and
    /// lists lapsed customers by the value at stake.
    Lifecycle {
        /// Judge as of this day (YYYY-MM-DD). Default: today.
        #[arg(long)]
        as_of: Option<String>,
        /// Lapsed customers to list.
        #[arg(long, default_value_t = 20)]
        lapsed: usize,
        /// Report without storing stages or changes.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// B2B accounts ranked by revenue over their contacts, with the 90-day trend: the
    /// target-account list.
    Accounts {
        /// As of this day (YYYY-MM-DD). Default: today.
        #[arg(long)]
        as_of: Option<String>,
        /// Only this industry.
        #[arg(long)]
        industry: Option<String>,
        /// Only this region.
        #[arg(long)]
        region: Option<String>,
        /// Most accounts listed.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// RFM scores (1–5 by quintiles) and named segments of every customer who has bought.
    Rfm {
        /// Score as of this day (YYYY-MM-DD): later purchases are ignored. Default: today.
        #[arg(long)]
        as_of: Option<String>,
        /// Write every customer's scores to this CSV file.
        #[arg(long)]
        per_customer: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the purchase summary segments read (what each customer bought and kept), when an
    /// import of many customers left it stale; a running server does this by itself.
    Purchases {
        /// Rebuild even when it is up to date.
        #[arg(long)]
        force: bool,
    },
    /// Loyal and semi-loyal customers: thresholds frozen at a baseline day, and the share of
    /// customers meeting them at every month end since.
    Loyal {
        /// The day whose customers set the thresholds (YYYY-MM-DD).
        #[arg(long)]
        baseline: String,
        /// Follow the share up to this day (YYYY-MM-DD). Default: today.
        #[arg(long)]
        as_of: Option<String>,
        /// Percent of the baseline ranked loyal.
        #[arg(long, default_value_t = 7.0)]
        loyal_percent: f64,
        /// Percent of the baseline ranked semi-loyal (after the loyal ones).
        #[arg(long, default_value_t = 13.0)]
        semi_percent: f64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Products each customer is likely to buy next (co-purchase), with a hit-rate check
    /// against the most popular products when a holdout start is given.
    Recommend {
        /// Recommend from purchases up to this day (YYYY-MM-DD). Default: today.
        #[arg(long)]
        as_of: Option<String>,
        /// Train on purchases before this day and check the hit rate on those from it to --as-of.
        #[arg(long)]
        holdout_from: Option<String>,
        /// Products per customer.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Write every customer's recommendations to this CSV file.
        #[arg(long)]
        per_customer: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// KPIs as distributions: repeat rate, order value, orders and revenue per customer, days
    /// between purchases, orders by weekday, monthly cohort retention.
    Kpis {
        /// Count orders up to this day (YYYY-MM-DD). Default: today.
        #[arg(long)]
        as_of: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revenue concentration: the top 20% of customers' share, the Lorenz curve, Gini.
    Pareto {
        /// Count purchases up to this day (YYYY-MM-DD). Default: today.
        #[arg(long)]
        as_of: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Purchase counts, P(alive) and CLV: BG/NBD and Gamma-Gamma fitted on a calibration period,
    /// checked against a holdout period.
    Clv {
        /// Last day of the calibration period (YYYY-MM-DD); default: today.
        #[arg(long, alias = "as-of")]
        calibration_end: Option<String>,
        /// Last day of the holdout period (YYYY-MM-DD); predictions cover the days after the
        /// calibration up to it. Without it, predictions cover --horizon-days.
        #[arg(long)]
        holdout_end: Option<String>,
        /// Time unit of the model: week or day.
        #[arg(long, default_value = "week", value_parser = ["week", "day"])]
        time_unit: String,
        /// Purchase-count model: bg-nbd; mbg-nbd (customers may also drop out before buying
        /// again, so one-time buyers are not all alive); pareto-nbd (they may leave at any
        /// moment).
        #[arg(long, default_value = "bg-nbd", value_parser = ["bg-nbd", "mbg-nbd", "pareto-nbd"])]
        model: String,
        /// Prediction horizon in days when there is no holdout period.
        #[arg(long, default_value_t = 90)]
        horizon_days: u32,
        /// Months of CLV.
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// Monthly discount rate of CLV.
        #[arg(long, default_value_t = 0.01)]
        discount: f64,
        /// Write per-customer predictions to this CSV file.
        #[arg(long)]
        per_customer: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn day_number(s: &str, flag: &str) -> Result<i64> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| BadInput(format!("{flag} '{s}' is not a YYYY-MM-DD date")))?;
    Ok(enishi_core::time::day_of_date(d))
}

fn as_of_day(as_of: Option<&str>) -> Result<(String, i64)> {
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
    let text = as_of.map_or(today, String::from);
    let day = day_number(&text, "--as-of")?;
    Ok((text, day))
}

/// Runs an analysis.
pub fn run(store: &Store, what: AnalyzeWhat) -> Result<()> {
    match what {
        AnalyzeWhat::Accounts { as_of, industry, region, limit, json } => {
            let (as_of, day) = as_of_day(as_of.as_deref())?;
            if limit < 1 {
                return Err(BadInput("--limit must be at least 1".into()).into());
            }
            let (clock, _) = super::workspace(store)?;
            let items = enishi_insights::account_rollups(store, day, clock, industry, region, limit)?;
            if json {
                println!("{}", serde_json::json!({ "as_of": as_of, "items": items }));
                return Ok(());
            }
            println!("Accounts by revenue as of {as_of}:");
            for a in &items {
                let trend = a.trend_percent.map_or("n/a".to_string(), |t| format!("{t:+.0}%"));
                println!(
                    "  {:<12} {:<28} {:<14} {:<10} revenue {:>12}  90d {:>10} ({trend:>6})  contacts {}/{} active",
                    a.account.external_id,
                    a.account.name,
                    a.account.industry.as_deref().unwrap_or("-"),
                    a.account.region.as_deref().unwrap_or("-"),
                    a.revenue.to_string(),
                    a.last_90_days.to_string(),
                    a.active_contacts,
                    a.contacts
                );
            }
            Ok(())
        }
        AnalyzeWhat::Lifecycle { as_of, lapsed, dry_run, json } => {
            let (as_of, day) = as_of_day(as_of.as_deref())?;
            let report = enishi_insights::lifecycle(store, day, lapsed, !dry_run)?;
            if json {
                let mut v = serde_json::to_value(&report)?;
                v["as_of"] = as_of.into();
                println!("{v}");
                return Ok(());
            }
            println!(
                "Lifecycle as of {as_of} ({} of the customers with a P(alive); single buyers use a {:.0}-day gap):",
                report.with_p_alive, report.population_gap_days
            );
            for s in &report.funnel {
                println!("  {:<10} {:>8} ({:>5.1}%)", s.stage.as_str(), s.customers, 100.0 * s.share);
            }
            println!("{} stage changes recorded", report.changes_recorded);
            if !report.lapsed.is_empty() {
                println!("Lapsed, most at stake first:");
                for l in &report.lapsed {
                    println!(
                        "  {:<14} {:<9} silent {:>4} days (usually {:>5.0})  at stake {:>10.2}",
                        l.external_id,
                        l.stage.as_str(),
                        l.days_silent,
                        l.usual_gap_days,
                        l.value_at_stake
                    );
                }
            }
            Ok(())
        }
        AnalyzeWhat::Rfm { as_of, per_customer, json } => {
            let (as_of, day) = as_of_day(as_of.as_deref())?;
            let report = enishi_insights::refresh_rfm_scores(store, day)?;
            if let Some(path) = &per_customer {
                let mut out = std::io::BufWriter::new(
                    std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
                );
                writeln!(out, "customer_id,recency_days,frequency,monetary,r,f,m,rfm,segment")?;
                for c in &report.rows {
                    let s = &c.score;
                    writeln!(
                        out,
                        "{},{},{},{:.2},{},{},{},{},{}",
                        csv_field(&c.customer_id),
                        c.recency_days,
                        c.frequency,
                        c.monetary,
                        s.r,
                        s.f,
                        s.m,
                        s.combined(),
                        s.segment.label()
                    )?;
                }
                out.flush()?;
            }
            if json {
                let mut v = serde_json::to_value(&report)?;
                v["as_of"] = as_of.into();
                println!("{v}");
            } else {
                println!("RFM as of {as_of}: {} customers", report.customers);
                for s in &report.segments {
                    println!("  {:<20} {:>8} ({:>5.1}%)", s.label, s.customers, 100.0 * s.share);
                }
            }
            Ok(())
        }
        AnalyzeWhat::Purchases { force } => {
            let started = std::time::Instant::now();
            // A million customers take minutes: say how far it is, on a terminal.
            let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let done = enishi_store::repo::purchase_summary::rebuild_reporting(store, force, |done, last| {
                if terminal {
                    eprint!("\rrebuilding the purchase summary: customers up to id {done} of {last}");
                }
            })?;
            if terminal && done.rebuilt {
                eprintln!();
            }
            if done.rebuilt {
                println!("purchase summary rebuilt: {} rows in {:.1} s", done.rows, started.elapsed().as_secs_f64());
            } else {
                println!("purchase summary is up to date ({} rows); --force rebuilds it anyway", done.rows);
            }
            Ok(())
        }
        AnalyzeWhat::Loyal { baseline, as_of, loyal_percent, semi_percent, json } => {
            let base = day_number(&baseline, "--baseline")?;
            let (_, day) = as_of_day(as_of.as_deref())?;
            if !(0.0..=100.0).contains(&(loyal_percent + semi_percent)) || loyal_percent < 0.0 || semi_percent < 0.0 {
                return Err(BadInput(
                    "--loyal-percent and --semi-percent must be 0–100 and add up to at most 100".into(),
                )
                .into());
            }
            if day < base {
                return Err(BadInput("--as-of must not be before --baseline".into()).into());
            }
            let report = enishi_insights::loyal_report(store, base, day, loyal_percent / 100.0, semi_percent / 100.0)?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "loyal = top {loyal_percent}%, semi-loyal = next {semi_percent}% of the {} customers of {}",
                    report.baseline.customers, report.baseline_date
                );
                for m in &report.trend {
                    println!(
                        "  {}  {:>8} customers  {:>7} loyal  {:>7} semi-loyal  {:>5.1}%",
                        m.date,
                        m.customers,
                        m.loyal,
                        m.semi_loyal,
                        100.0 * m.share
                    );
                }
            }
            // Each customer's class as of the last day is kept with the scores (for segments
            // and the profile); the text report says what each class is worth.
            let worth =
                enishi_insights::refresh_loyal_classes(store, day, loyal_percent / 100.0, semi_percent / 100.0)?;
            if !json {
                println!("as of {}, stored with the scores:", enishi_core::time::date_of_day(day));
                for w in &worth.classes {
                    println!(
                        "  {:<10} {:>8} customers  {:>5.1}% of revenue  {:>12.2} per customer",
                        w.class,
                        w.customers,
                        100.0 * w.revenue_share,
                        w.revenue_per_customer
                    );
                }
                if let Some(n) = worth.loyal_worth_in_ordinary {
                    println!("  one loyal customer is worth {n:.1} ordinary ones");
                }
            }
            Ok(())
        }
        AnalyzeWhat::Recommend { as_of, holdout_from, top, per_customer, json } => {
            let (_, day) = as_of_day(as_of.as_deref())?;
            let split = holdout_from.as_deref().map(|h| day_number(h, "--holdout-from")).transpose()?;
            if split.is_some_and(|s| s > day) {
                return Err(BadInput("--holdout-from must not be after --as-of".into()).into());
            }
            if top == 0 || top > 100 {
                return Err(BadInput("--top must be 1 to 100".into()).into());
            }
            let report = enishi_insights::recommend_report(store, split, day, top)?;
            enishi_insights::save_recommendations(store, day, &report)?;
            if let Some(path) = &per_customer {
                let mut out = std::io::BufWriter::new(
                    std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
                );
                writeln!(out, "customer_id,rank,sku,score")?;
                for c in &report.rows {
                    for (rank, (sku, score)) in c.products.iter().enumerate() {
                        writeln!(out, "{},{},{},{:.6}", csv_field(&c.customer_id), rank + 1, csv_field(sku), score)?;
                    }
                }
                out.flush()?;
            }
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!("{} products, {} customers", report.products, report.rows.len());
                if let Some(e) = &report.evaluation {
                    println!(
                        "hit rate @{} on the holdout: {:.1}% (most popular products: {:.1}%) over {} customers",
                        e.n,
                        100.0 * e.hit_rate,
                        100.0 * e.popularity_hit_rate,
                        e.customers
                    );
                }
            }
            Ok(())
        }
        AnalyzeWhat::Kpis { as_of, json } => {
            let (as_of, day) = as_of_day(as_of.as_deref())?;
            let (clock, _) = super::workspace(store)?;
            let report = enishi_insights::kpis_report(store, day, clock)?;
            if json {
                let mut v = serde_json::to_value(&report)?;
                v["as_of"] = as_of.into();
                println!("{v}");
            } else {
                let d = |x: &enishi_analytics::kpis::Distribution| {
                    format!(
                        "median {:.2}, p25 {:.2}, p75 {:.2}, p90 {:.2}, mean {:.2}",
                        x.median, x.p25, x.p75, x.p90, x.mean
                    )
                };
                let k = &report.kpis;
                println!("as of {as_of}: {} customers, {} orders", k.customers, k.orders);
                println!("repeat purchase rate: {:.1}%", 100.0 * k.repeat_purchase_rate);
                println!("order value: {}", d(&k.order_value));
                println!("orders per customer: {}", d(&k.orders_per_customer));
                println!("revenue per customer: {}", d(&k.revenue_per_customer));
                println!("days between purchases: {}", d(&k.days_between_purchases));
                println!("orders Mon–Sun: {:?}", k.orders_by_weekday);
                println!("orders by hour 0–23: {:?}", report.orders_by_hour);
                println!(
                    "acquired by referral: {} of {} customers ({:.1}%)",
                    report.acquired_by_referral,
                    report.customers_acquired,
                    100.0 * report.referral_share
                );
            }
            Ok(())
        }
        AnalyzeWhat::Pareto { as_of, json } => {
            let (as_of, day) = as_of_day(as_of.as_deref())?;
            let c = enishi_insights::pareto_report(store, day)?;
            if json {
                let mut v = serde_json::to_value(&c)?;
                v["as_of"] = as_of.into();
                println!("{v}");
            } else {
                println!(
                    "{} customers, revenue {:.2}: the top 20% bring {:.1}% of it (Gini {:.3})",
                    c.customers,
                    c.revenue,
                    100.0 * c.top_20_share,
                    c.gini
                );
            }
            Ok(())
        }
        AnalyzeWhat::Clv {
            calibration_end,
            holdout_end,
            time_unit,
            model,
            horizon_days,
            months,
            discount,
            per_customer,
            json,
        } => {
            let started = std::time::Instant::now();
            let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
            let cal_end = day_number(calibration_end.as_deref().unwrap_or(&today), "--calibration-end")?;
            let hold_end = holdout_end.as_deref().map(|h| day_number(h, "--holdout-end")).transpose()?;
            if hold_end.is_some_and(|h| h <= cal_end) {
                return Err(BadInput("--holdout-end must be after --calibration-end".into()).into());
            }
            let unit_days = if time_unit == "week" { 7.0 } else { 1.0 };
            let opts = enishi_insights::ClvOptions {
                calibration_end: cal_end,
                holdout_end: hold_end,
                unit_days,
                horizon_days,
                months,
                discount,
                model: model.parse().map_err(BadInput)?,
            };
            let (fit, values) = enishi_insights::clv_report(store, &opts).map_err(|e| match e {
                enishi_insights::ClvError::NoCustomers => anyhow::Error::from(BadInput(e.to_string())),
                other => other.into(),
            })?;
            // Store the scores on one core while the other writes the CSV.
            std::thread::scope(|scope| -> Result<()> {
                let stored = scope.spawn(|| enishi_insights::store_values(store, &values));
                if let Some(path) = &per_customer {
                    write_values_csv(path, &values)?;
                }
                stored.join().map_err(|_| anyhow::anyhow!("storing the scores failed"))??;
                Ok(())
            })?;
            let mut report = serde_json::to_value(&fit)?;
            report["time_unit"] = time_unit.into();
            report["calibration_end"] = calibration_end.unwrap_or(today).into();
            report["seconds"] = started.elapsed().as_secs_f64().into();
            if json {
                println!("{report}");
            } else {
                // The model's parameters in the order the literature writes them.
                let params: Vec<String> = ["r", "alpha", "a", "b", "s", "beta"]
                    .iter()
                    .filter_map(|k| fit.bgnbd.parameters.get(*k).map(|v| format!("{k}={v:.4}")))
                    .collect();
                println!(
                    "{} customers; {} {} (log-likelihood {:.1}{})",
                    fit.customers,
                    fit.count_model.to_uppercase(),
                    params.join(" "),
                    fit.bgnbd.log_likelihood,
                    if fit.bgnbd.converged { "" } else { ", NOT converged" }
                );
                if let Some(g) = &fit.gamma_gamma {
                    let p = &g.parameters;
                    println!(
                        "Gamma-Gamma p={:.4} q={:.4} γ={:.4} on {} repeat buyers",
                        p["p"], p["q"], p["gamma"], g.customers
                    );
                }
                if let Some(h) = &report["holdout"].as_object() {
                    println!(
                        "holdout ({} days): actual {} repeat purchases, predicted {:.1}",
                        h["days"],
                        h["actual_repeat_transactions"],
                        h["predicted_repeat_transactions"].as_f64().unwrap_or(0.0)
                    );
                }
                println!(
                    "left out: {} customers first bought after the calibration end; {} without repeat purchases and {} with zero-value repeats are not in the Gamma-Gamma fit",
                    fit.excluded.first_purchase_after_calibration,
                    fit.excluded.gamma_gamma_without_repeat_purchases,
                    fit.excluded.gamma_gamma_zero_value
                );
            }
            Ok(())
        }
    }
}

/// Writes every customer's summary and predictions as CSV.
fn write_values_csv(path: &std::path::Path, values: &[enishi_insights::CustomerValue]) -> Result<()> {
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?);
    writeln!(out, "customer_id,frequency,recency,T,expected_purchases,p_alive,expected_avg_value,clv")?;
    let mut line = String::with_capacity(128);
    for v in values {
        let (s, p) = (&v.summary, &v.scores);
        line.clear();
        line.push_str(&csv_field(&v.external_id));
        for (value, decimals) in [
            (s.frequency, 0),
            (s.recency, 4),
            (s.age, 4),
            (p.expected_purchases, 6),
            (p.p_alive, 6),
            (p.expected_value, 4),
            (p.clv, 4),
        ] {
            line.push(',');
            push_fixed(&mut line, value, decimals);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// Appends `v` with `decimals` decimals, like `{:.N}` but without the exact-decimal machinery
/// (a million values are written per run); the last digit may round differently on a tie.
fn push_fixed(out: &mut String, v: f64, decimals: u32) {
    let scale = 10f64.powi(decimals as i32);
    let scaled = (v.abs() * scale).round();
    if !v.is_finite() || scaled >= 1e15 {
        let _ = write!(out, "{v:.*}", decimals as usize);
        return;
    }
    let n = scaled as u64;
    let unit = 10u64.pow(decimals);
    if v < 0.0 && n > 0 {
        out.push('-');
    }
    let _ = write!(out, "{}", n / unit);
    if decimals > 0 {
        let _ = write!(out, ".{:0width$}", n % unit, width = decimals as usize);
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
