//! Start-up: build the application from a [`Config`], serve it, shut it down gracefully.
//! Tests use [`Application::build`] with port 0 to run the real server in-process.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderName, Request};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::jobs::{self, Worker};
use crate::ops::Metrics;
use crate::web::middleware::{self, TIMEOUT_STATUS};
use crate::{demo, directory, fhir, ops, web};

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
}

/// A built application: database connected and migrated, port bound, not yet serving.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
    registry: jobs::Registry,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listen address.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, jobs::Registry::standard()).await
    }

    /// As [`build`](Self::build) with a given set of job handlers (tests add their own).
    pub async fn build_with(config: Config, registry: jobs::Registry) -> anyhow::Result<Self> {
        let db = Db::connect(&config.database).await?;
        db.migrate().await?;
        let listener = TcpListener::bind(config.listen).await.with_context(|| {
            format!(
                "cannot listen on {}; stop the program using it or choose another address with --listen",
                config.listen
            )
        })?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let state = AppState {
            metrics: Arc::new(Metrics::new(db.backend_name())),
            db,
            config: Arc::new(config),
        };
        Ok(Self {
            listener,
            addr,
            state,
            registry,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// Serves until `shutdown` is cancelled, then lets requests in flight finish, stops the
    /// job worker and closes the database.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let state = self.state;
        let worker = state.config.jobs.enabled.then(|| {
            let worker = Worker::new(state.db.clone(), self.registry, state.config.jobs.clone());
            tokio::spawn(worker.run(shutdown.clone()))
        });
        let app = router(state.clone());
        let signal = shutdown.clone();
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { signal.cancelled().await })
        .await
        .context("the HTTP server failed");
        // Stop the worker even when serving failed, so it does not outlive the server.
        shutdown.cancel();
        if let Some(worker) = worker {
            if let Err(e) = worker.await {
                tracing::error!(error = %e, "job worker ended abnormally");
            }
        }
        state.db.close().await;
        served
    }
}

/// The whole HTTP surface with its middleware. Layers are listed innermost first; each is
/// applied with `Router::layer`, so it wraps every route and the fallback alike.
pub fn router(state: AppState) -> Router {
    let http = state.config.http.clone();
    let x_request_id = HeaderName::from_static("x-request-id");
    let mut app = Router::new()
        .merge(ops::router())
        .merge(web::router())
        .merge(directory::router())
        .merge(fhir::router())
        .fallback(not_found)
        .layer(RequestBodyLimitLayer::new(http.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            TIMEOUT_STATUS,
            http.request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        // Sees the errors of everything inside it, including timeouts, panics, 404 and 405.
        .layer(axum::middleware::from_fn(middleware::render_errors));
    for (name, value) in middleware::security_headers() {
        app = app.layer(SetResponseHeaderLayer::if_not_present(name, value));
    }
    app.layer(axum::middleware::from_fn_with_state(state.clone(), ops::track))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            // The path only: query strings may carry personal data.
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

async fn not_found() -> AppError {
    AppError::NotFound("There is nothing at this address.".to_owned())
}

/// `yunyi serve` and `yunyi demo`: run until SIGTERM or Ctrl-C.
pub async fn serve(config: Config, demo_mode: bool) -> anyhow::Result<()> {
    let database = config.database.to_string();
    let app = Application::build(config).await?;
    let addr = app.local_addr();
    let summary = if demo_mode {
        Some(
            demo::seed(app.db())
                .await
                .context("seeding the demo data")?,
        )
    } else {
        None
    };
    tracing::info!(%addr, %database, "Yunyi is serving");
    // The banner goes to stdout so a person sees it even with logging turned down.
    println!("Yunyi (云医) is running at http://{addr}/");
    println!("  database: {database}");
    if let Some(summary) = summary {
        println!("{summary}");
    }
    println!("Press Ctrl-C to stop.");
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    app.run_until(shutdown).await
}

/// `yunyi migrate`.
pub async fn migrate_only(config: Config) -> anyhow::Result<()> {
    let db = Db::connect(&config.database).await?;
    db.migrate().await?;
    println!("migrations applied to {}", config.database);
    db.close().await;
    Ok(())
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
    shutdown.cancel();
}
