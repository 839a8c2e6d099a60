//! Test support: each test gets its own SQLite file or its own PostgreSQL schema.
//!
//! PostgreSQL is found at `ENISHI_TEST_PG` (a connection URL). When that variable is set, an
//! unreachable server fails the test; when it is not set, the default local server
//! (`postgres://postgres@127.0.0.1:5432/test`) is tried and, if it does not answer, the
//! PostgreSQL half of each test is skipped with a message on stderr.

use crate::{Backend, Store};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// A store for one test, removed afterwards.
pub struct TestDb {
    /// The store.
    pub store: Store,
    /// The URL it was opened with (for CLI tests).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Schema { admin_url: String, schema: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Schema { admin_url, schema } = &self.cleanup {
            if let Ok(mut c) = postgres::Client::connect(admin_url, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// A fresh SQLite store in a temporary directory.
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = dir.path().join("enishi.db").display().to_string();
    let store = Store::open(&url).expect("open sqlite");
    TestDb { store, url, cleanup: Cleanup::Dir(dir) }
}

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh PostgreSQL store in its own schema, or `None` (with a note on stderr) when no
/// server is configured or reachable. Panics when `ENISHI_TEST_PG` is set but unreachable.
pub fn postgres() -> Option<TestDb> {
    let (admin_url, required) = match std::env::var("ENISHI_TEST_PG") {
        Ok(u) if !u.is_empty() => (u, true),
        _ => (DEFAULT_PG.to_string(), false),
    };
    let mut admin = match postgres::Client::connect(&admin_url, postgres::NoTls) {
        Ok(c) => c,
        Err(e) if required => panic!("ENISHI_TEST_PG is set but PostgreSQL at {admin_url} is unreachable: {e}"),
        Err(_) => {
            let _ = writeln!(
                std::io::stderr(),
                "NOTE: PostgreSQL suite SKIPPED: no server at {DEFAULT_PG} (set ENISHI_TEST_PG to require one)"
            );
            return None;
        }
    };
    static ANNOUNCED: std::sync::Once = std::sync::Once::new();
    ANNOUNCED.call_once(|| {
        let _ = writeln!(std::io::stderr(), "NOTE: PostgreSQL suite running against {admin_url}");
    });
    static N: AtomicU64 = AtomicU64::new(0);
    let schema = format!(
        "enishi_t{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        chrono::Utc::now().timestamp_subsec_nanos()
    );
    admin.batch_execute(&format!("CREATE SCHEMA {schema}")).expect("create schema");
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
    let store = Store::open(&url).expect("open postgres");
    Some(TestDb { store, url, cleanup: Cleanup::Schema { admin_url, schema } })
}

/// The stores a conformance test runs against: SQLite always, PostgreSQL when available.
pub fn all() -> Vec<TestDb> {
    let mut v = vec![sqlite()];
    v.extend(postgres());
    v
}

/// Fails the test if any stored reference points at a missing row (`PRAGMA
/// foreign_key_check`): bulk writers ([`Store::bulk_write`]) write with SQLite's checks off
/// and vouch for their references. PostgreSQL checks every write itself.
pub fn assert_references_resolve(store: &Store) {
    if store.backend() == Backend::Sqlite {
        let broken = store.read(|c| c.query("PRAGMA foreign_key_check", &[])).expect("foreign_key_check");
        assert!(broken.is_empty(), "broken references: {broken:?}");
    }
}
