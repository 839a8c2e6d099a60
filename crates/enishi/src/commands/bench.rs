//! `enishi bench`: measurements that need a database, printed for BENCHMARKS.md.

use anyhow::{Context, Result};
use clap::Subcommand;
use enishi_ingest::export::MemberLayout;
use enishi_ingest::formats::OrderFormat;
use enishi_ingest::orders::{import_orders, OrderImportOptions};
use enishi_ingest::Progress;
use enishi_store::Store;
use std::path::{Path, PathBuf};

/// Benchmarks.
#[derive(Subcommand)]
pub enum BenchWhat {
    /// Import an orders file into a fresh database, then insert the same rows with a bare
    /// prepared-statement loop into another, and report both rates (SQLite), or import into
    /// the PostgreSQL at --postgres.
    Import {
        /// The orders file (generic format), e.g. from `enishi gen`.
        file: PathBuf,
        /// Also import into this PostgreSQL database (a fresh schema is made and dropped), with
        /// the programme too under --loyalty.
        #[arg(long)]
        postgres: Option<String>,
        /// Apply the demo loyalty programme first, so every order earns (orders/s reported).
        #[arg(long)]
        loyalty: bool,
    },
    /// Count a segment rule in the database (--database-url) several times; report each
    /// run's time (the first is cold, the rest warm) and the count.
    Segment {
        /// The rule.
        rule: String,
        /// Runs.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
        runs: u32,
        /// Count as of this day (YYYY-MM-DD) instead of today.
        #[arg(long)]
        as_of: Option<String>,
        /// Also time writing the members' contacts as CSV (to a sink), as `segment export` does.
        #[arg(long)]
        export: bool,
    },
    /// Send orders to a server with the demo loyalty programme from concurrent clients over
    /// HTTP, each answered after its commit; report orders/s and latency percentiles.
    ApiOrders {
        /// Orders to send in all.
        #[arg(long, default_value_t = 20_000)]
        orders: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 16)]
        clients: u64,
        /// Distinct customers the orders go to.
        #[arg(long, default_value_t = 2_000)]
        customers: u64,
        /// Use this PostgreSQL database (a fresh schema is made and dropped) instead of SQLite.
        #[arg(long)]
        postgres: Option<String>,
    },
}

/// Runs a benchmark.
pub fn run(what: BenchWhat, url: &str) -> Result<()> {
    match what {
        BenchWhat::Segment { rule, runs, as_of, export } => segment(url, &rule, runs, as_of.as_deref(), export),
        BenchWhat::ApiOrders { orders, clients, customers, postgres } => match postgres {
            None => {
                let dir = tempfile::tempdir()?;
                api_orders(&dir.path().join("enishi.db").display().to_string(), orders, clients, customers)
            }
            Some(url) => with_schema(&url, |u| api_orders(u, orders, clients, customers)),
        },
        BenchWhat::Import { file, postgres, loyalty } => {
            let dir = tempfile::tempdir()?;
            let enishi_db = dir.path().join("enishi.db");
            let store = Store::open(&enishi_db.display().to_string())?;
            if loyalty {
                apply_bench_programme(&store)?;
            }
            let (rate, lines, secs) = timed_import(&store, &file)?;
            let orders = store.read(|c| c.query_one("SELECT COUNT(*) FROM orders", &[])?.int(0))?;
            println!(
                "enishi import (SQLite{}): {lines} order lines, {orders} orders in {secs:.2}s (to the commit) = {rate:.0} order lines/s, {:.0} orders/s",
                if loyalty { ", with loyalty" } else { "" },
                orders as f64 / secs
            );
            if loyalty {
                return match postgres {
                    Some(url) => with_schema(&url, |u| {
                        let pg = Store::open(u)?;
                        apply_bench_programme(&pg)?;
                        let (_, lines, secs) = timed_import(&pg, &file)?;
                        println!(
                            "enishi import (PostgreSQL, with loyalty): {lines} order lines, {orders} orders in {secs:.2}s (to the commit) = {:.0} orders/s",
                            orders as f64 / secs
                        );
                        Ok(())
                    }),
                    None => Ok(()),
                };
            }
            let bare_db = dir.path().join("bare.db");
            drop(Store::open(&bare_db.display().to_string())?);
            let (n, spent) = enishi_store::bench::bare_sqlite_insert(&enishi_db, &bare_db)?;
            let bare_rate = n as f64 / spent.as_secs_f64();
            println!(
                "bare prepared-statement inserts (SQLite): {n} order lines in {:.2}s (to the commit) = {bare_rate:.0} order lines/s",
                spent.as_secs_f64()
            );
            println!("enishi / bare = {:.2}", rate / bare_rate);
            match postgres {
                Some(url) => with_schema(&url, |u| {
                    let (rate, lines, secs) = timed_import(&Store::open(u)?, &file)?;
                    println!(
                        "enishi import (PostgreSQL): {lines} order lines in {secs:.2}s (to the commit) = {rate:.0} order lines/s"
                    );
                    Ok(())
                }),
                None => Ok(()),
            }
        }
    }
}

/// Runs `f` with the URL of a fresh schema in the PostgreSQL at `url`, dropped afterwards.
fn with_schema(url: &str, f: impl FnOnce(&str) -> Result<()>) -> Result<()> {
    let schema = format!("enishi_bench_{}", std::process::id());
    let mut admin = postgres_client(url)?;
    admin.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
    let sep = if url.contains('?') { '&' } else { '?' };
    let result = f(&format!("{url}{sep}options=-c%20search_path%3D{schema}"));
    admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))?;
    result
}

/// The demo programme, in force from 2000 on, so that any order earns.
fn apply_bench_programme(store: &Store) -> Result<()> {
    let mut doc: serde_json::Value = serde_json::from_str(enishi_loyalty::starter("demo").unwrap_or_default())?;
    doc["effective_from"] = "2000-01-01".into();
    store.write(|c| {
        enishi_rewards::apply_program(c, &doc.to_string(), enishi_core::BusinessClock::default(), "bench")
    })?;
    Ok(())
}

fn api_orders(url: &str, orders: u64, clients: u64, customers: u64) -> Result<()> {
    let store = Store::open(url)?;
    apply_bench_programme(&store)?;
    let token = store.write(|c| enishi_store::repo::tokens::create(c, enishi_core::Role::Staff, "bench"))?;
    let backend = format!("{:?}", store.backend());
    let state = enishi_server::AppState::new(std::sync::Arc::new(store))?;
    let rt = tokio::runtime::Runtime::new()?;
    let server = rt.block_on(enishi_server::spawn(state, "127.0.0.1:0"))?;
    let base = format!("http://{}/api/v1/orders", server.addr);
    let per_client = orders / clients;
    let started = std::time::Instant::now();
    let mut latencies: Vec<f64> = std::thread::scope(|scope| -> Result<Vec<f64>> {
        let handles: Vec<_> = (0..clients)
            .map(|k| {
                let (base, token) = (&base, &token);
                scope.spawn(move || -> Result<Vec<f64>> {
                    let agent = ureq::AgentBuilder::new().build();
                    let mut out = Vec::with_capacity(per_client as usize);
                    for i in 0..per_client {
                        let n = k * per_client + i;
                        let channel = ["in_store", "ecommerce", "app"][(n % 3) as usize];
                        let body = serde_json::json!({
                            "order_id": format!("B-{n}"),
                            "placed_at": format!("2026-{:02}-{:02} {:02}:{:02}:00", 1 + n % 10, 1 + n % 28, 8 + n % 12, n % 60),
                            "channel": channel,
                            "customer": {"external_id": format!("BC-{}", n * 7919 % customers)},
                            "lines": [{"sku": "BEANS-1", "quantity": 1 + n % 3, "unit_price": "12.50", "category": "coffee"},
                                      {"sku": "MUG", "quantity": 1, "unit_price": format!("{}.{:02}", 5 + n % 20, n % 100)}],
                        });
                        let t = std::time::Instant::now();
                        let resp = agent
                            .post(base)
                            .set("Authorization", &format!("Bearer {token}"))
                            .send_json(body)
                            .with_context(|| format!("order B-{n}"))?;
                        anyhow::ensure!(resp.status() == 201, "order B-{n}: status {}", resp.status());
                        out.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok(out)
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().map_err(|_| anyhow::anyhow!("a client panicked"))??);
        }
        Ok(all)
    })?;
    let secs = started.elapsed().as_secs_f64();
    server.stop();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "POST /api/v1/orders with loyalty ({backend}, {clients} clients): {} orders in {secs:.2}s = {:.0} orders/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        latencies.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        latencies.last().copied().unwrap_or(0.0)
    );
    Ok(())
}

fn postgres_client(url: &str) -> Result<enishi_store::bench::PgClient> {
    enishi_store::bench::admin_client(url).context("connecting to PostgreSQL")
}

fn timed_import(store: &Store, file: &Path) -> Result<(f64, u64, f64)> {
    let f = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
    // Wall time to the commit (the summary's own clock stops before it), and order lines
    // stored, as the bare loop counts them.
    let started = std::time::Instant::now();
    let cpu_before = cpu_seconds();
    let out = import_orders(
        store,
        std::io::BufReader::with_capacity(1 << 20, f),
        "bench",
        &OrderImportOptions::new(OrderFormat::Generic),
        Progress::default(),
    )?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!("(of which {:.2} s from the last row to the end of the commit)", secs - out.summary.seconds);
    if let (Some(before), Some(after)) = (cpu_before, cpu_seconds()) {
        // Steadier than wall time on a shared host, whose speed moves from minute to minute.
        eprintln!("(CPU time of the import, both threads: {:.2} s)", after - before);
    }
    let lines = out.summary.lines_created;
    Ok((lines as f64 / secs, lines, secs))
}

/// User and system CPU seconds this process has used, all threads (Linux; `None` elsewhere).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces: utime and
    // stime are the 12th and 13th, in ticks of 1/100 s (USER_HZ).
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Times counting `rule` `runs` times, and with `export` the member export.
fn segment(url: &str, rule: &str, runs: u32, as_of: Option<&str>, export: bool) -> Result<()> {
    let store = super::open(url)?;
    let (clock, _) = super::workspace(&store)?;
    let node = enishi_segments::text::parse(rule).map_err(|e| crate::BadInput(format!("the rule: {e}")))?;
    let day = super::segment::as_of_day(&store, &clock, as_of)?;
    let summaries = store.read(|c| enishi_segments::summaries(c, day, &clock))?;
    println!(
        "summaries read: purchase summary {}, order counts {}",
        if summaries.products { "yes" } else { "no (stale, or orders after the as-of day)" },
        if summaries.order_count { "yes" } else { "no (orders after the as-of day)" }
    );
    for run in 1..=runs {
        let start = std::time::Instant::now();
        let n = store.read(|c| enishi_segments::count(c, &node, day, &clock))?;
        println!("count run {run}: {n} customers in {:.1} ms", start.elapsed().as_secs_f64() * 1000.0);
    }
    if export {
        for run in 1..=runs.min(3) {
            let start = std::time::Instant::now();
            let contacts = store.read(|c| {
                let ids = enishi_segments::members(c, &node, day, &clock)?;
                Ok::<_, enishi_segments::Error>(enishi_store::repo::segments::contacts(c, &ids)?)
            })?;
            let rows = enishi_ingest::export::export_members(&contacts, MemberLayout::Contacts, std::io::sink())?;
            println!("export run {run}: {rows} customers in {:.1} ms", start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(())
}
