//! All of Enishi's SQL.
//!
//! [`Store`] opens SQLite (the embedded default, WAL mode) or PostgreSQL, runs the migrations
//! and hands out transactions as [`Conn`]. The repository modules hold the statements; they
//! store and fetch, and leave decisions (validation, loyalty, segments) to other crates.

pub mod bench;
pub mod db;
pub mod model;
pub mod repo;
pub mod sql;
#[cfg(feature = "test-support")]
pub mod testing;
mod tls;

pub use db::{Backend, Column, Conn, Param, Row, Rows, Value};
pub use model::*;

use db::{PgConn, PgSession, Pool, SqliteConn};
use enishi_core::{Clock, SystemClock};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What went wrong in the database layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or reached.
    #[error("cannot open the database: {0}")]
    Open(String),
    /// A statement failed.
    #[error("database error: {0}")]
    Database(String),
    /// A unique key already exists.
    #[error("already exists: {0}")]
    Conflict(String),
    /// A row that was asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A stored value had an unexpected shape.
    #[error("unexpected stored data: {0}")]
    Decode(String),
    /// Every database connection stayed in use for the whole checkout timeout: try again.
    #[error("the database is busy; try again shortly")]
    Busy,
    /// A number would leave the range Enishi stores (a sum or product of points or money that
    /// overflows): refused, never wrapped or capped.
    #[error("out of range: {0}")]
    OutOfRange(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, msg) = &e {
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            {
                return StoreError::Conflict(msg.clone().unwrap_or_default());
            }
            if msg.as_deref() == Some("integer overflow") {
                return StoreError::OutOfRange("a sum in the database overflowed 64 bits".into());
            }
        }
        StoreError::Database(e.to_string())
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            if db.code() == &postgres::error::SqlState::UNIQUE_VIOLATION {
                return StoreError::Conflict(db.message().to_string());
            }
            if db.code() == &postgres::error::SqlState::NUMERIC_VALUE_OUT_OF_RANGE {
                return StoreError::OutOfRange(db.message().to_string());
            }
            return StoreError::Database(format!("{}: {}", db.code().code(), db.message()));
        }
        StoreError::Database(e.to_string())
    }
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string.
    Postgres(String),
}

impl Location {
    /// Reads a database URL: `postgres://…` / `postgresql://…` or a key-value connection string
    /// (`host=… dbname=…`), `sqlite://PATH`, `sqlite:PATH`, or a bare file path (SQLite).
    pub fn parse(url: &str) -> Location {
        let key_value = ["host=", "dbname=", "user="].iter().any(|k| url.split_whitespace().any(|w| w.starts_with(k)));
        if url.starts_with("postgres://") || url.starts_with("postgresql://") || key_value {
            Location::Postgres(url.to_string())
        } else {
            let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
            Location::Sqlite(PathBuf::from(path))
        }
    }
}

enum Inner {
    Sqlite(Pool<rusqlite::Connection>),
    Postgres(Pool<PgSession>),
}

/// The database: a pool of connections to SQLite or PostgreSQL, migrated on open.
pub struct Store {
    inner: Inner,
    location: Location,
    /// SQLite allows one writer at a time: writers of this process queue here instead of
    /// sleeping in SQLite's busy handler (whose back-off adds tens of milliseconds).
    sqlite_writer: std::sync::Mutex<()>,
    /// What "now" is for everything written through this store.
    clock: Arc<dyn Clock>,
}

/// Connections per store; the machine this targets has two cores.
const POOL_SIZE: usize = 8;

/// Schema versions, oldest first: (version, SQLite script, PostgreSQL script).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql"), include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_scores.sql"), include_str!("../migrations/postgres/0002_scores.sql")),
    (3, include_str!("../migrations/sqlite/0003_loyalty.sql"), include_str!("../migrations/postgres/0003_loyalty.sql")),
    (
        4,
        include_str!("../migrations/sqlite/0004_lifecycle.sql"),
        include_str!("../migrations/postgres/0004_lifecycle.sql"),
    ),
    (
        5,
        include_str!("../migrations/sqlite/0005_recommendations.sql"),
        include_str!("../migrations/postgres/0005_recommendations.sql"),
    ),
    (6, include_str!("../migrations/sqlite/0006_users.sql"), include_str!("../migrations/postgres/0006_users.sql")),
    (
        7,
        include_str!("../migrations/sqlite/0007_keys_and_indexes.sql"),
        include_str!("../migrations/postgres/0007_keys_and_indexes.sql"),
    ),
    (
        8,
        include_str!("../migrations/sqlite/0008_ledger_source_index.sql"),
        include_str!("../migrations/postgres/0008_ledger_source_index.sql"),
    ),
    (
        9,
        include_str!("../migrations/sqlite/0009_sign_ins_and_audit.sql"),
        include_str!("../migrations/postgres/0009_sign_ins_and_audit.sql"),
    ),
    (
        10,
        include_str!("../migrations/sqlite/0010_erasure_list.sql"),
        include_str!("../migrations/postgres/0010_erasure_list.sql"),
    ),
    (
        11,
        include_str!("../migrations/sqlite/0011_job_runs.sql"),
        include_str!("../migrations/postgres/0011_job_runs.sql"),
    ),
    (12, include_str!("../migrations/sqlite/0012_jobs.sql"), include_str!("../migrations/postgres/0012_jobs.sql")),
    (
        13,
        include_str!("../migrations/sqlite/0013_customer_lists.sql"),
        include_str!("../migrations/postgres/0013_customer_lists.sql"),
    ),
    (
        14,
        include_str!("../migrations/sqlite/0014_loyal_class.sql"),
        include_str!("../migrations/postgres/0014_loyal_class.sql"),
    ),
    (
        15,
        include_str!("../migrations/sqlite/0015_segments.sql"),
        include_str!("../migrations/postgres/0015_segments.sql"),
    ),
    (
        16,
        include_str!("../migrations/sqlite/0016_purchase_summary.sql"),
        include_str!("../migrations/postgres/0016_purchase_summary.sql"),
    ),
    (
        17,
        include_str!("../migrations/sqlite/0017_segment_counts.sql"),
        include_str!("../migrations/postgres/0017_segment_counts.sql"),
    ),
    (
        18,
        include_str!("../migrations/sqlite/0018_campaigns.sql"),
        include_str!("../migrations/postgres/0018_campaigns.sql"),
    ),
    (
        19,
        include_str!("../migrations/sqlite/0019_customer_merges.sql"),
        include_str!("../migrations/postgres/0019_customer_merges.sql"),
    ),
    (
        20,
        include_str!("../migrations/sqlite/0020_listening.sql"),
        include_str!("../migrations/postgres/0020_listening.sql"),
    ),
    (
        21,
        include_str!("../migrations/sqlite/0021_journeys.sql"),
        include_str!("../migrations/postgres/0021_journeys.sql"),
    ),
    (
        22,
        include_str!("../migrations/sqlite/0022_surveys.sql"),
        include_str!("../migrations/postgres/0022_surveys.sql"),
    ),
    (
        23,
        include_str!("../migrations/sqlite/0023_campaign_pace.sql"),
        include_str!("../migrations/postgres/0023_campaign_pace.sql"),
    ),
    (
        24,
        include_str!("../migrations/sqlite/0024_journey_loyalty_triggers.sql"),
        include_str!("../migrations/postgres/0024_journey_loyalty_triggers.sql"),
    ),
    (
        25,
        include_str!("../migrations/sqlite/0025_reviews_and_changes.sql"),
        include_str!("../migrations/postgres/0025_reviews_and_changes.sql"),
    ),
    (
        27,
        include_str!("../migrations/sqlite/0027_join_requests.sql"),
        include_str!("../migrations/postgres/0027_join_requests.sql"),
    ),
    (
        28,
        include_str!("../migrations/sqlite/0028_table_layouts.sql"),
        include_str!("../migrations/postgres/0028_table_layouts.sql"),
    ),
    (
        29,
        include_str!("../migrations/sqlite/0029_referrals_index.sql"),
        include_str!("../migrations/postgres/0029_referrals_index.sql"),
    ),
    (
        31,
        include_str!("../migrations/sqlite/0031_phones_e164.sql"),
        include_str!("../migrations/postgres/0031_phones_e164.sql"),
    ),
    (
        32,
        include_str!("../migrations/sqlite/0032_coupon_products.sql"),
        include_str!("../migrations/postgres/0032_coupon_products.sql"),
    ),
    (
        33,
        include_str!("../migrations/sqlite/0033_analytics_exclusions.sql"),
        include_str!("../migrations/postgres/0033_analytics_exclusions.sql"),
    ),
];

/// The SHA-256 of a migration script as applied, in hex.
fn checksum(script: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(script.as_bytes()))
}

/// Adds `schema_migrations.checksum` to a database made before migrations kept checksums.
fn add_checksum_column(c: &mut dyn Conn) -> Result<(), StoreError> {
    match c.backend() {
        Backend::Postgres => c.execute_batch("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum TEXT"),
        Backend::Sqlite => {
            let has = c
                .query_one("SELECT COUNT(*) FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'", &[])?
                .int(0)?;
            if has == 0 {
                c.execute_batch("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT")?;
            }
            Ok(())
        }
    }
}

fn open_sqlite(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open(path).map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // Reads go through a memory map of the file (up to SQLite's limit, 2 GiB by default): pages
    // of a large database are read from the operating system's cache without a system call
    // and a copy each, which made a 1 M-customer segment count about a fifth faster.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; PRAGMA mmap_size = 2147483648;",
    )?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

fn open_postgres(target: &tls::PgTarget) -> Result<PgSession, StoreError> {
    let client = postgres::Client::connect(&target.url, target.tls.clone())
        .map_err(|e| StoreError::Open(redact(&target.url, &e)))?;
    Ok(PgSession { client, statements: HashMap::new() })
}

/// An error message for a connection failure, without the password of the URL.
fn redact(url: &str, e: &postgres::Error) -> String {
    let shown = match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    };
    // The driver's own text is terse ("db error", "error performing TLS handshake"): the
    // server's message or the underlying cause says what is wrong.
    let detail = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => with_causes(e),
    };
    format!("{shown}: {detail}")
}

/// An error's message followed by each of its causes (`a: b: c`), for logs and messages that
/// must say what actually went wrong.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    text
}

/// A pooled SQLite connection that goes back to the pool with its foreign-key checks on:
/// turned back on when it is returned, or the connection is discarded when they cannot be
/// (or when a panic unwinds through the transaction).
struct ChecksRestored<'p> {
    pooled: Option<db::Pooled<'p, rusqlite::Connection>>,
    turned_off: bool,
}

impl ChecksRestored<'_> {
    fn conn(&mut self) -> &mut rusqlite::Connection {
        self.pooled.as_mut().expect("present until dropped").get_mut()
    }
}

impl Drop for ChecksRestored<'_> {
    fn drop(&mut self) {
        let Some(mut pooled) = self.pooled.take() else { return };
        if self.turned_off
            && (std::thread::panicking() || pooled.get_mut().pragma_update(None, "foreign_keys", true).is_err())
        {
            pooled.discard();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Closing a synchronous PostgreSQL client blocks on its own runtime, which panics on a
        // thread that drives async tasks (a server shutting down): close them on a plain thread.
        if let Inner::Postgres(pool) = &self.inner {
            let sessions = pool.drain();
            if !sessions.is_empty() {
                let _ = std::thread::spawn(move || drop(sessions)).join();
            }
        }
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let location = Location::parse(url);
        let inner = match &location {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Open(format!("{}: {e}", dir.display())))?;
                }
                let p = path.clone();
                // Check that it opens now, so a bad path fails here and not at first use.
                let first = open_sqlite(&p)?;
                let pool = Pool::new(POOL_SIZE, move || open_sqlite(&p));
                drop(first);
                Inner::Sqlite(pool)
            }
            Location::Postgres(url) => {
                let target = tls::target(url)?;
                let first = open_postgres(&target)?;
                drop(first);
                Inner::Postgres(Pool::new(POOL_SIZE, move || open_postgres(&target)))
            }
        };
        let store = Store { inner, location, sqlite_writer: std::sync::Mutex::new(()), clock: Arc::new(SystemClock) };
        store.migrate()?;
        Ok(store)
    }

    /// The store with `clock` as its "now": for the timestamps it writes, and for every part
    /// that asks it the time ([`Store::clock`]). Tests drive time with a
    /// [`ManualClock`](enishi_core::ManualClock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Store {
        self.clock = clock;
        self
    }

    /// The store's clock (the computer's, unless [`Store::with_clock`] set another).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// Now, by the store's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Where this store keeps its data.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The database kind.
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// Makes sure deleted personal data is gone from the files, after an erasure has committed:
    /// SQLite writes the WAL back into the database and truncates it (the erasure itself ran
    /// with `secure_delete`, which zeroes freed content); PostgreSQL vacuums `tables`.
    pub fn scrub(&self, tables: &[&str]) -> Result<(), StoreError> {
        match &self.inner {
            Inner::Sqlite(pool) => {
                let mut conn = pool.get()?;
                conn.get_mut().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
                Ok(())
            }
            Inner::Postgres(pool) => {
                let mut conn = pool.get()?;
                for t in tables {
                    conn.get_mut().client.batch_execute(&format!("VACUUM {t}"))?;
                }
                Ok(())
            }
        }
    }

    /// The connection pool now: (open, idle, most allowed).
    pub fn pool_stats(&self) -> (usize, usize, usize) {
        match &self.inner {
            Inner::Sqlite(pool) => pool.stats(),
            Inner::Postgres(pool) => pool.stats(),
        }
    }

    /// Operational counts for monitoring: jobs by state (in the order of
    /// [`JobState::ALL`](repo::jobs::JobState::ALL)) and imports run.
    pub fn queue_depths(&self) -> Result<([i64; 4], i64), StoreError> {
        self.read(|c| {
            let imports = c.query_one("SELECT COUNT(*) AS n FROM imports", &[])?.int("n")?;
            Ok((repo::jobs::counts(c)?, imports))
        })
    }

    /// Whether the database answers and every migration this build knows is applied (what
    /// `/readyz` reports): the missing versions, empty when ready.
    pub fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let done: Vec<i64> =
            self.read(|c| c.query("SELECT version FROM schema_migrations", &[])?.iter().map(|r| r.int(0)).collect())?;
        Ok(MIGRATIONS.iter().map(|m| m.0).filter(|v| !done.contains(v)).collect())
    }

    /// Writes a consistent copy of a SQLite database to `target` while it is in use
    /// (`VACUUM INTO`: one read transaction, so writers carry on and the copy is a single
    /// point in time). `target` must not exist. PostgreSQL is backed up with its own tools
    /// (docs/operations.md).
    pub fn backup_to(&self, target: &Path) -> Result<(), StoreError> {
        let Inner::Sqlite(pool) = &self.inner else {
            return Err(StoreError::Open("backup is for SQLite; back PostgreSQL up with pg_dump".into()));
        };
        if target.exists() {
            return Err(StoreError::Open(format!("{} exists; choose a new file", target.display())));
        }
        let path = target.to_str().ok_or_else(|| StoreError::Open("the backup path is not UTF-8".into()))?;
        // VACUUM cannot run inside a transaction: on a pooled connection of its own.
        let mut conn = pool.get()?;
        conn.get_mut().execute("VACUUM INTO ?1", [path])?;
        Ok(())
    }

    fn migrate(&self) -> Result<(), StoreError> {
        self.write(|c| {
            if c.backend() == Backend::Postgres {
                // Several servers may start at once against one database.
                c.execute("SELECT pg_advisory_xact_lock(7274838)", &[])?;
            }
            c.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )?;
            add_checksum_column(c)?;
            let done: Vec<(i64, Option<String>)> = c
                .query("SELECT version, checksum FROM schema_migrations", &[])?
                .iter()
                .map(|r| Ok((r.int(0)?, r.opt_text(1)?)))
                .collect::<Result<_, StoreError>>()?;
            if let Some((newer, _)) = done.iter().find(|(v, _)| !MIGRATIONS.iter().any(|m| m.0 == *v)) {
                return Err(StoreError::Open(format!(
                    "the database has schema version {newer}, which this Enishi does not know: it was \
                     migrated by a newer version; run that version (or restore a backup)"
                )));
            }
            for (version, sqlite, pg) in MIGRATIONS {
                let script = if c.backend() == Backend::Sqlite { sqlite } else { pg };
                let sum = checksum(script);
                match done.iter().find(|(v, _)| v == version) {
                    Some((_, Some(stored))) if *stored != sum => {
                        return Err(StoreError::Open(format!(
                            "schema migration {version} has changed since it was applied to this database \
                             (checksum {stored}, now {sum}); a released migration must never change: \
                             restore its original text and add a new migration instead"
                        )))
                    }
                    Some((_, Some(_))) => {}
                    // Applied by a version that kept no checksums: recorded now.
                    Some((_, None)) => {
                        c.execute(
                            "UPDATE schema_migrations SET checksum = $2 WHERE version = $1",
                            params![*version, sum],
                        )?;
                    }
                    None => {
                        c.execute_batch(script)?;
                        c.execute(
                            "INSERT INTO schema_migrations (version, applied_at, checksum) VALUES ($1, $2, $3)",
                            params![*version, self.clock.timestamp(), sum],
                        )?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Runs `f` in a write transaction: committed when it returns `Ok`, rolled back otherwise.
    /// On SQLite the transaction takes the write lock at once (`BEGIN IMMEDIATE`), so that
    /// read-then-write sequences inside `f` cannot be interleaved with another writer.
    pub fn write<T, E>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.transaction(true, f)
    }

    /// Runs `f` in a write transaction like [`Store::write`], for a bulk writer that vouches
    /// for its references: every row it writes refers to rows that exist or that it writes
    /// first (an import creates the customers, orders and ledger entries its rows point to, and
    /// deletes nothing). SQLite then skips its foreign-key checks for the transaction — a
    /// parent lookup per reference, and a statement journal (a copy of every page each
    /// multi-row insert changes, kept to undo the statement alone) — and turns them back on
    /// after it. PostgreSQL checks as always. The tests of every bulk writer run
    /// `PRAGMA foreign_key_check` after it.
    pub fn bulk_write<T, E>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        match &self.inner {
            Inner::Sqlite(pool) => self.sqlite_transaction(pool, true, false, f),
            Inner::Postgres(_) => self.transaction(true, f),
        }
    }

    /// Runs `f` in a read transaction (a consistent snapshot).
    pub fn read<T, E>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.transaction(false, f)
    }

    fn transaction<T, E>(&self, write: bool, f: impl FnOnce(&mut dyn Conn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        match &self.inner {
            Inner::Sqlite(pool) => self.sqlite_transaction(pool, write, true, f),
            Inner::Postgres(pool) => {
                let mut pooled = pool.get()?;
                let session = pooled.get_mut();
                if session.client.is_closed() {
                    pooled.discard();
                    return Err(StoreError::Database("the connection to PostgreSQL was lost; retry".into()).into());
                }
                let PgSession { client, statements } = session;
                let tx = client.transaction().map_err(StoreError::from)?;
                let mut conn = PgConn { tx, statements, clock: &*self.clock };
                let out = f(&mut conn)?;
                conn.tx.commit().map_err(StoreError::from)?;
                Ok(out)
            }
        }
    }

    /// A transaction on a pooled SQLite connection, with foreign-key checks on or off for its
    /// duration; a connection whose checks cannot be turned back on leaves the pool.
    fn sqlite_transaction<T, E>(
        &self,
        pool: &Pool<rusqlite::Connection>,
        write: bool,
        foreign_keys: bool,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let _writer = write.then(|| self.sqlite_writer.lock().unwrap_or_else(|p| p.into_inner()));
        let mut pooled = pool.get()?;
        if !foreign_keys {
            pooled.get_mut().pragma_update(None, "foreign_keys", false).map_err(StoreError::from)?;
        }
        let mut pooled = ChecksRestored { pooled: Some(pooled), turned_off: !foreign_keys };
        let behavior =
            if write { rusqlite::TransactionBehavior::Immediate } else { rusqlite::TransactionBehavior::Deferred };
        let tx = pooled.conn().transaction_with_behavior(behavior).map_err(StoreError::from)?;
        let out = f(&mut SqliteConn(&tx, &*self.clock))?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }
}
