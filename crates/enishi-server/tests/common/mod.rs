//! The harness the API tests share: a server on port 0 over SQLite and (when available)
//! PostgreSQL, with an admin and a staff token, and small HTTP helpers.
#![allow(dead_code)] // each test binary uses its own part of the harness

pub mod contract;

use enishi_core::{Language, Role};
use enishi_server::{spawn, AppState, Running};
use enishi_store::repo::{tokens, users};
use enishi_store::testing::{self, TestDb};
use serde_json::{json, Value};
use std::sync::Arc;

pub struct App {
    pub base: String,
    pub admin: String,
    pub staff: String,
    _server: Running,
    _rt: tokio::runtime::Runtime,
    pub _db: TestDb,
}

pub fn start(db: TestDb) -> App {
    start_with(db, |state| state)
}

/// Starts a server over `db` whose state `configure` has set up.
pub fn start_with(db: TestDb, configure: impl FnOnce(AppState) -> AppState) -> App {
    start_store(db, |store| store, configure)
}

/// Starts a server over `db` with its store set up by `store_with` and its state by
/// `configure`.
fn start_store(
    db: TestDb,
    store_with: impl FnOnce(enishi_store::Store) -> enishi_store::Store,
    configure: impl FnOnce(AppState) -> AppState,
) -> App {
    let (admin, staff) = db
        .store
        .write(|c| {
            Ok::<_, enishi_store::StoreError>((
                tokens::create(c, Role::Admin, "t")?,
                tokens::create(c, Role::Staff, "t")?,
            ))
        })
        .unwrap();
    // The test's own copy of the store; the TestDb keeps the database alive.
    let store = store_with(enishi_store::Store::open(&db.url).unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let state = configure(AppState::new(Arc::new(store)).unwrap());
    let server = rt.block_on(spawn(state, "127.0.0.1:0")).unwrap();
    App { base: format!("http://{}", server.addr), admin, staff, _server: server, _rt: rt, _db: db }
}

/// Starts a server over `db` whose one clock is `clock`.
pub fn start_at(db: TestDb, clock: enishi_core::ManualClock) -> App {
    start_store(db, |store| store.with_clock(Arc::new(clock)), |state| state)
}

pub fn apps() -> Vec<App> {
    testing::all().into_iter().map(start).collect()
}

/// Password of every console user the tests make.
pub const PASSWORD: &str = "correct horse battery";

impl App {
    /// Makes a console user with `role` and signs them in; returns their session cookie.
    pub fn session(&self, role: Role) -> String {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let email = format!("{role}-{n}@shop.example");
        let store = enishi_store::Store::open(&self._db.url).unwrap();
        store.write(|c| users::create(c, &email, "", role, Language::En, PASSWORD)).unwrap();
        self.sign_in(&email, PASSWORD).expect("signed in")
    }

    /// Opens the sign-in page and posts its form: the session cookie, or the refusal's status.
    pub fn sign_in(&self, email: &str, password: &str) -> Result<String, u16> {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let page = agent.get(&format!("{}/login", self.base)).call().expect("the sign-in page");
        let cookie = page.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
        let html = page.into_string().unwrap();
        let token = html.split("name=\"login_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let form = [("login_token", token.as_str()), ("email", email), ("password", password)];
        let resp = match agent.post(&format!("{}/login", self.base)).set("Cookie", &cookie).send_form(&form) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
        match resp.status() {
            303 => Ok(resp.header("set-cookie").unwrap().split(';').next().unwrap().to_string()),
            s => Err(s),
        }
    }

    /// GETs a page with a session cookie: (status, HTML).
    pub fn page(&self, path: &str, cookie: &str) -> (u16, String) {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let resp = match agent.get(&format!("{}{path}", self.base)).set("Cookie", cookie).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{path}: {e}"),
        };
        (resp.status(), resp.into_string().unwrap_or_default())
    }

    /// POSTs a console form with a session cookie: (status, Location header, HTML).
    pub fn form(&self, path: &str, cookie: &str, fields: &[(&str, &str)]) -> (u16, Option<String>, String) {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let resp = match agent.post(&format!("{}{path}", self.base)).set("Cookie", cookie).send_form(fields) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{path}: {e}"),
        };
        let location = resp.header("location").map(String::from);
        (resp.status(), location, resp.into_string().unwrap_or_default())
    }

    /// Sends a request (with a bearer token and a JSON body if given) and answers (status,
    /// JSON body or null, content type). Every answer under /api/v1 is checked against the
    /// OpenAPI document (see [`contract`]).
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, Value, String) {
        let mut r = ureq::request(method, &format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.set("Authorization", &format!("Bearer {t}"));
        }
        let result = match body {
            Some(b) => r.set("Content-Type", "application/json").send_string(b),
            None => r.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let ctype = resp.content_type().to_string();
        let text = resp.into_string().unwrap_or_default();
        contract::check(method, path, status, &ctype, &text);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null), ctype)
    }

    /// Sends raw bytes and returns what the server answered until it closed or went quiet.
    pub fn raw(&self, request: &str) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(self.base.trim_start_matches("http://")).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut buf = [0u8; 4096];
        let mut out = Vec::new();
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            if out.windows(4).any(|w| w == b"\r\n\r\n") && out.ends_with(b"}") {
                break;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let b = body.map(|v| v.to_string());
        let (s, v, _) = self.call(method, path, Some(&self.admin), b.as_deref());
        (s, v)
    }
}

pub fn order(id: &str, customer: &str, total: &str) -> Value {
    json!({"order_id": id, "placed_at": "2026-11-20T18:05:00+09:00", "currency": "USD", "total": total, "channel": "in_store",
           "customer": {"external_id": customer, "email": "hana@example.com", "name": "Hana Sato"},
           "lines": [{"sku": "BEANS-1", "quantity": 2, "unit_price": "28.70", "category": "coffee"}]})
}
