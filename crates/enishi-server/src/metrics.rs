//! Prometheus metrics at `/metrics` (text format 0.0.4): requests by route, method and status,
//! latency histograms by route, the database pool, the outbox queue, imports and scheduler
//! runs. Routes are the templates (`/api/v1/customers/{id}`), never the ids, so no personal
//! data and a bounded number of series.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
struct Latency {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What the server counts.
#[derive(Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Latency>>,
    /// Scheduler ticks.
    pub(crate) job_runs: AtomicU64,
    /// Periods of scheduled jobs this server ran, by job (`loyalty-jobs`, `daily-work`).
    scheduled: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts a period of `job` that this server claimed and ran.
    pub(crate) fn scheduled_run(&self, job: &'static str) {
        *self.scheduled.lock().unwrap_or_else(|p| p.into_inner()).entry(job).or_default() += 1;
    }

    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut r = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *r.entry((route.to_string(), method.to_string(), status)).or_default() += 1;
        drop(r);
        let mut l = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = l.entry(route.to_string()).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }
}

/// Counts every request under its route template.
pub(crate) async fn measure(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    state.metrics.observe(&route, &method, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`.
pub(crate) async fn render(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    let m = &state.metrics;
    out.push_str("# HELP enishi_http_requests_total Requests answered, by route, method and status.\n");
    out.push_str("# TYPE enishi_http_requests_total counter\n");
    for ((route, method, status), n) in m.requests.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let _ = writeln!(
            out,
            "enishi_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
        );
    }
    out.push_str("# HELP enishi_http_request_duration_seconds Time to answer, by route.\n");
    out.push_str("# TYPE enishi_http_request_duration_seconds histogram\n");
    for (route, h) in m.latency.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        for (bound, n) in BUCKETS.iter().zip(h.buckets) {
            let _ =
                writeln!(out, "enishi_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}");
        }
        let _ =
            writeln!(out, "enishi_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "enishi_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
        let _ = writeln!(out, "enishi_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
    }
    let (open, idle, max) = state.store.pool_stats();
    let _ = writeln!(
        out,
        "# HELP enishi_db_pool_connections Database connections by state.\n# TYPE enishi_db_pool_connections gauge"
    );
    let _ = writeln!(out, "enishi_db_pool_connections{{state=\"in_use\"}} {}", open.saturating_sub(idle));
    let _ = writeln!(out, "enishi_db_pool_connections{{state=\"idle\"}} {idle}");
    let _ = writeln!(out, "enishi_db_pool_connections{{state=\"max\"}} {max}");
    let _ = writeln!(out, "# HELP enishi_job_runs_total Scheduler runs.\n# TYPE enishi_job_runs_total counter");
    let _ = writeln!(out, "enishi_job_runs_total {}", m.job_runs.load(Ordering::Relaxed));
    let _ = writeln!(
        out,
        "# HELP enishi_scheduled_runs_total Periods of scheduled jobs this server ran.\n# TYPE enishi_scheduled_runs_total counter"
    );
    for (job, n) in m.scheduled.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let _ = writeln!(out, "enishi_scheduled_runs_total{{job=\"{job}\"}} {n}");
    }
    let store = state.store.clone();
    if let Ok(Ok((jobs, imports))) = tokio::task::spawn_blocking(move || store.queue_depths()).await {
        let _ = writeln!(out, "# HELP enishi_jobs Jobs on the queue by state.\n# TYPE enishi_jobs gauge");
        for (state, n) in enishi_store::repo::jobs::JobState::ALL.iter().zip(jobs) {
            let _ = writeln!(out, "enishi_jobs{{state=\"{}\"}} {n}", state.as_str());
        }
        let _ = writeln!(out, "# HELP enishi_imports_total Imports recorded.\n# TYPE enishi_imports_total gauge");
        let _ = writeln!(out, "enishi_imports_total {imports}");
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
