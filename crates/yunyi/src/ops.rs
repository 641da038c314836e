//! Operations endpoints: `/healthz` (process up), `/readyz` (database reachable), `/metrics`
//! (Prometheus text), and the middleware that counts requests.

use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde_json::json;

use crate::app::AppState;
use crate::error::AppError;
use crate::jobs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route pattern (`/hospitals/{id}`), never the raw path: ids would explode the series.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub status: String,
}

/// The process's metrics. One registry per application instance, so tests that run several
/// apps in one process do not mix their figures.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    jobs: Family<JobLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new(backend: &str) -> Self {
        let mut registry = Registry::with_prefix("yunyi");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            durations.clone(),
        );
        let jobs = Family::<JobLabels, Gauge>::default();
        registry.register("jobs", "Background jobs by status", jobs.clone());
        let info = Family::<Vec<(String, String)>, Gauge>::default();
        info.get_or_create(&vec![
            ("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
            ("database".to_owned(), backend.to_owned()),
        ])
        .set(1);
        registry.register("build_info", "Version and database backend", info);
        Self {
            registry,
            requests,
            durations,
            jobs,
        }
    }

    fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// Counts every request by route pattern and status, with its duration.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = Instant::now();
    let response = next.run(req).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the database answers within two seconds. 503 otherwise, so a load balancer
/// stops sending traffic to a node that lost its database.
async fn readyz(State(state): State<AppState>) -> Response {
    let backend = state.db.backend_name();
    match tokio::time::timeout(Duration::from_secs(2), state.db.ping()).await {
        Ok(Ok(())) => Json(json!({"status": "ready", "database": backend})).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            not_ready(backend, "the database did not answer")
        }
        Err(_) => not_ready(backend, "the database did not answer within 2 seconds"),
    }
}

fn not_ready(backend: &str, reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unavailable", "database": backend, "detail": reason})),
    )
        .into_response()
}

/// Whether a scrape may read the metrics: from this machine directly (loopback, and not
/// relayed by a proxy, which would say so in `X-Forwarded-For` or `Forwarded`), or with the
/// operator's token (`YUNYI_METRICS_TOKEN`) as a bearer token. Metrics name routes, volumes
/// and the job queue: not for anyone on the internet.
fn may_scrape(state: &AppState, req: &Request) -> bool {
    let headers = req.headers();
    if let Some(expected) = &state.config.security.metrics_token {
        let given = crate::identity::actor::bearer_token_header(headers);
        if given.is_some_and(|g| crate::crypto::constant_time_eq(&g, &expected.0)) {
            return true;
        }
    }
    from_this_machine(headers, req.extensions())
}

/// A request made on this machine directly: from loopback, and not relayed by a proxy (which
/// says so in `X-Forwarded-For` or `Forwarded`).
pub fn from_this_machine(
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> bool {
    let relayed =
        headers.contains_key("x-forwarded-for") || headers.contains_key(header::FORWARDED);
    let loopback = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|axum::extract::ConnectInfo(addr)| addr.ip().is_loopback());
    loopback && !relayed
}

/// Prometheus text exposition (OpenMetrics 1.0, which Prometheus reads natively).
async fn metrics(State(state): State<AppState>, req: Request) -> Result<Response, AppError> {
    if !may_scrape(&state, &req) {
        return Err(AppError::Forbidden(
            "metrics are read from this machine, or with the operator's metrics token".to_owned(),
        ));
    }
    // Job counts are read at scrape time: they are the database's truth, shared by all nodes.
    // Every status is exported, zeros included, so a dashboard's series exist from the start.
    let counts = jobs::store::count_by_status(&state.db).await?;
    for status in ["queued", "running", "done", "dead"] {
        let count = counts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        state
            .metrics
            .jobs
            .get_or_create(&JobLabels {
                status: status.to_owned(),
            })
            .set(count);
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &state.metrics.registry)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("encoding metrics")))?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}
