//! `enishi bench`: measurements that need a database, printed for BENCHMARKS.md.

use anyhow::{Context, Result};
use clap::Subcommand;
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
        /// Also import into this PostgreSQL database (a fresh schema is made and dropped).
        #[arg(long)]
        postgres: Option<String>,
    },
}

/// Runs a benchmark.
pub fn run(what: BenchWhat, _data_dir: &Path) -> Result<()> {
    match what {
        BenchWhat::Import { file, postgres } => {
            let dir = tempfile::tempdir()?;
            let enishi_db = dir.path().join("enishi.db");
            let store = Store::open(&enishi_db.display().to_string())?;
            let (rate, lines, secs) = timed_import(&store, &file)?;
            println!("enishi import (SQLite): {lines} lines in {secs:.2}s = {rate:.0} lines/s");
            let bare_db = dir.path().join("bare.db");
            drop(Store::open(&bare_db.display().to_string())?);
            let (n, spent) = enishi_store::bench::bare_sqlite_insert(&enishi_db, &bare_db)?;
            let bare_rate = n as f64 / spent.as_secs_f64();
            println!(
                "bare prepared-statement inserts (SQLite): {n} lines in {:.2}s = {bare_rate:.0} lines/s",
                spent.as_secs_f64()
            );
            println!("enishi / bare = {:.2}", rate / bare_rate);
            if let Some(url) = postgres {
                let schema = format!("enishi_bench_{}", std::process::id());
                let mut admin = postgres_client(&url)?;
                admin.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
                let sep = if url.contains('?') { '&' } else { '?' };
                let result = Store::open(&format!("{url}{sep}options=-c%20search_path%3D{schema}"))
                    .map_err(anyhow::Error::from)
                    .and_then(|pg| timed_import(&pg, &file));
                admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))?;
                let (rate, lines, secs) = result?;
                println!("enishi import (PostgreSQL): {lines} lines in {secs:.2}s = {rate:.0} lines/s");
            }
            Ok(())
        }
    }
}

fn postgres_client(url: &str) -> Result<enishi_store::bench::PgClient> {
    enishi_store::bench::admin_client(url).context("connecting to PostgreSQL")
}

fn timed_import(store: &Store, file: &Path) -> Result<(f64, u64, f64)> {
    let f = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
    let out = import_orders(
        store,
        std::io::BufReader::with_capacity(1 << 20, f),
        "bench",
        &OrderImportOptions::new(OrderFormat::Generic),
        Progress::default(),
    )?;
    let lines = out.summary.rows_read;
    Ok((out.summary.rows_per_second, lines, out.summary.seconds))
}
