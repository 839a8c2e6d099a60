//! Enishi's HTTP side: the JSON API under `/api/v1` (bearer tokens, problem+json errors,
//! an OpenAPI document) and the console pages. Handlers parse and check input, then run
//! store and intake functions on the blocking pool; they hold no SQL.

mod access;
mod api;
mod audit;
mod auth;
mod batcher;
pub mod campaign_worker;
mod console;
mod edge;
mod error;
mod join_page;
mod metrics;
mod my_page;
mod observe;
mod openapi;
mod ops;
mod public;
mod review_page;
pub mod scheduler;
mod survey_page;
mod unsubscribe;

pub use error::ApiError;

use axum::Router;
use enishi_ingest::intake::Workspace;
use enishi_rewards::ProgramCache;
use enishi_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<Store>,
    /// Workspace settings: read at start-up, changed on the settings page.
    pub settings: Arc<LiveWorkspace>,
    /// Loyalty programme versions, re-read when a new one is applied.
    pub programs: Arc<ProgramCache>,
    /// The group-commit writer of incoming orders.
    orders: Arc<batcher::OrderBatcher>,
    /// Password hashes computed at once.
    password_checks: Arc<console::sign_in::PasswordChecks>,
    /// Imports started from the console.
    imports: Arc<console::imports::ImportJobs>,
    /// Customer searches per caller (staff are limited).
    searches: Arc<access::RateLimiter>,
    /// Requests to the customer's public pages per address.
    public_pages: Arc<access::RateLimiter>,
    /// Request counts and latencies for `/metrics`.
    metrics: Arc<metrics::Metrics>,
    /// What till forms did, waiting to be said on the next page.
    notices: Arc<console::notices::Notices>,
    /// Whether session cookies are always `Secure` (behind a TLS-terminating proxy that does
    /// not send `X-Forwarded-Proto`).
    secure_cookies: bool,
    /// Longest a request may take before it is answered 503 `timeout`.
    request_timeout: std::time::Duration,
}

/// How long a request may take by default (`enishi serve --request-timeout`).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl AppState {
    /// State over `store`, with the workspace settings it holds (UTC and USD by default); an
    /// error when a stored setting does not parse.
    pub fn new(store: Arc<Store>) -> Result<Self, enishi_ingest::intake::IntakeError> {
        let settings = Arc::new(LiveWorkspace(std::sync::RwLock::new(Workspace::load(&store)?)));
        let programs: Arc<ProgramCache> = Arc::default();
        let orders = Arc::new(batcher::OrderBatcher::start(store.clone(), settings.clone(), programs.clone()));
        Ok(AppState {
            store,
            settings,
            programs,
            orders,
            password_checks: Arc::default(),
            imports: Arc::default(),
            searches: Arc::default(),
            public_pages: Arc::default(),
            secure_cookies: false,
            request_timeout: REQUEST_TIMEOUT,
            metrics: Arc::default(),
            notices: Arc::default(),
        })
    }

    /// Marks every session cookie `Secure`, for a server reached only through HTTPS.
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// Answers a request that takes longer than `limit` with 503 `timeout` (the work it started
    /// may still finish: imports run as jobs, orders and redemptions are idempotent by key).
    pub fn with_request_timeout(mut self, limit: std::time::Duration) -> Self {
        self.request_timeout = limit;
        self
    }

    /// Now, by the store's clock (the one clock every part asks).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.store.now()
    }

    /// The workspace settings in force now.
    pub fn workspace(&self) -> Workspace {
        self.settings.get()
    }

    /// Runs `f` on the blocking pool in a write (`write` true) or read transaction, with the
    /// loyalty programmes as stored now.
    pub(crate) async fn with_programs<T, F>(&self, write: bool, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn enishi_store::Conn, &enishi_rewards::Programs) -> Result<T, ApiError> + Send + 'static,
    {
        let (cache, clock) = (self.programs.clone(), self.workspace().clock);
        self.run(move |s| {
            let body = |c: &mut dyn enishi_store::Conn| -> Result<T, ApiError> {
                let programs = cache.get(c, clock)?;
                f(c, &programs)
            };
            if write {
                s.write(body)
            } else {
                s.read(body)
            }
        })
        .await
    }

    /// Runs `f` with the store on the blocking pool.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
    }
}

/// Workspace settings that can change while the server runs (the settings page).
pub struct LiveWorkspace(std::sync::RwLock<Workspace>);

impl LiveWorkspace {
    /// The settings now.
    pub fn get(&self) -> Workspace {
        *self.0.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts new settings in force.
    pub(crate) fn set(&self, ws: Workspace) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = ws;
    }
}

/// The whole application: API and pages.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(api::finish(api::routes()))
        .merge(console::routes())
        .merge(ops::routes())
        .merge(public::routes(state.clone()))
        .layer(axum::middleware::from_fn(edge::refuse_control_characters))
        .layer(axum::middleware::from_fn_with_state(state.request_timeout, edge::deadline))
        .layer(axum::middleware::from_fn(edge::security_headers))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::from_fn(observe::observe))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::measure))
        .with_state(state)
}

/// Every API route as (method, path in OpenAPI form), read from the router's registrations:
/// the list the OpenAPI document must match.
pub fn api_routes() -> Vec<(&'static str, &'static str)> {
    static ROUTES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(api::route_list).iter().map(|(m, p)| (m.as_str(), p.as_str())).collect()
}

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub fn openapi() -> &'static str {
    api::document()
}

/// A server listening in the background (for tests and the demo).
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    handle: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops the server.
    pub fn stop(self) {
        self.handle.abort();
    }
}

/// Binds `addr` (port 0 picks a free port) and serves in the background on the current
/// runtime.
pub async fn spawn(state: AppState, addr: &str) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = app(state);
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(Running { addr, handle })
}

/// Serves until Ctrl-C or SIGTERM, finishing the requests under way.
pub async fn serve(state: AppState, addr: &str, on_ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_ready(listener.local_addr()?);
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (how service managers stop a process).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
