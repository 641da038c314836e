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

use crate::blob::{BlobStore, LocalBlobStore, S3BlobStore};
use crate::config::Config;
use crate::crypto::DataKeys;
use crate::db::Db;
use crate::error::AppError;
use crate::identity::auth::StepUpVerifier;
use crate::identity::notify::{DevInbox, LogNotifier, Notifier};
use crate::jobs::{self, Worker};
use crate::ops::Metrics;
use crate::web::middleware::{self, TIMEOUT_STATUS};
use crate::{audit, demo, directory, fhir, identity, ops, scheduling, web};

/// What every handler can reach. One shared allocation: every layer and extractor of every
/// request clones the state, which is then one reference count instead of one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The contents of [`AppState`].
pub struct Shared {
    pub db: Db,
    /// This application's time (see `clock`): tests move it forward instead of sleeping.
    pub clock: crate::clock::Clock,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
    pub keys: Arc<DataKeys>,
    pub notifier: Arc<dyn Notifier>,
    /// Web Push to browsers, signed with this server's VAPID key (`notification::web_push`).
    pub web_push: Arc<crate::notification::web_push::WebPush>,
    /// The hospital's WeChat official account, when configured (`notification::wechat`).
    pub wechat: Option<Arc<crate::notification::wechat::WeChat>>,
    /// Messages kept for the demo's `/dev/inbox` and for tests; `None` in production.
    pub inbox: Option<DevInbox>,
    pub step_up: Arc<Vec<Arc<dyn StepUpVerifier>>>,
    /// Who confirms a registrant's name, identity number and phone (the sandbox for now).
    pub realname: Arc<dyn identity::realname::RealNameCheck>,
    pub blobs: Arc<dyn BlobStore>,
    /// Where patients pay (the built-in sandbox gateway for now).
    pub payments: Arc<dyn crate::billing::gateway::PaymentGateway>,
    /// Who carries parcels to patients (the built-in sandbox courier for now).
    pub courier: Arc<dyn crate::dispensing::courier::Courier>,
    /// The SQLite booking writer (group commit); `None` on PostgreSQL.
    pub bookings: Option<scheduling::group_commit::GroupCommit>,
    /// The SQLite chat-message writer (group commit); `None` on PostgreSQL.
    pub messages: Option<crate::consult::message_writer::MessageWriter>,
    /// SQLite's WAL checkpoints, off the write path; `None` on PostgreSQL.
    pub checkpointer: Option<crate::db::checkpointer::Checkpointer>,
    /// Slots recently found full (see `scheduling::full_gate`).
    pub full_slots: scheduling::full_gate::FullGate,
    /// Live sessions by token hash, read a moment ago (see `identity::service::authenticate`).
    pub sessions: crate::ttl_cache::TtlCache<String, identity::store::SessionRow>,
    /// Whether a doctor holds a privilege at a hospital (see `directory::service::require_privilege`).
    pub privileges: crate::ttl_cache::TtlCache<(i64, i64, &'static str), bool>,
    /// Each service's kind (see `directory::service::service_kind`).
    pub service_kinds: crate::ttl_cache::TtlCache<i64, directory::model::ServiceKind>,
    /// Each hospital's screening rules, read a moment ago (see `surveillance::rules`).
    pub screening_rules:
        crate::ttl_cache::TtlCache<i64, std::sync::Arc<crate::surveillance::rules::Current>>,
    /// Who listens to which consultation's conversation here (see `consult::hub`).
    pub chat: Arc<crate::consult::hub::Hub>,
    /// Unread counts of the accounts whose pages are open here (`notification::bell`).
    pub bells: Arc<crate::notification::bell::Bells>,
    /// Patient-group conversations open here (`groups::hub`).
    pub groups: Arc<crate::groups::hub::Hub>,
    /// Remote consultations' video rooms open here (`teleconsult::room`).
    pub rooms: Arc<crate::room::Hub>,
    /// Courses' live-session rooms open here (`training::live`).
    pub lectures: Arc<crate::room::Hub>,
    /// The key that signs id_tokens, read once (see `smart::oidc`).
    pub oidc_key: tokio::sync::OnceCell<Arc<crate::smart::oidc::Signing>>,
    /// Cancelled when the server begins to stop: long-lived connections (chat) close then.
    pub stopping: CancellationToken,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// Where the database records the fingerprint of the data key it was created with.
const KEY_CHECK_SETTING: &str = "crypto.key_check";

impl AppState {
    /// Now, in epoch milliseconds, by this application's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Connects and migrates the database and loads the data key. Refuses a key other than
    /// the one the database's encrypted columns were written with.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        let db = Db::connect(&config.database).await?;
        db.migrate().await?;
        let keys = DataKeys::load_or_create(
            &config.data_dir,
            config.data_key.as_ref().map(|k| k.0.as_str()),
        )?;
        let recorded = identity::store::setting_or_insert(
            &db,
            KEY_CHECK_SETTING,
            keys.check_value(),
            crate::clock::now_ms(),
        )
        .await
        .context("reading the data key fingerprint")?;
        if recorded != keys.check_value() {
            anyhow::bail!(
                "the data encryption key does not match the one this database was created with; \
                 use the same {} file or {} on every node (a new key cannot read existing data)",
                crate::crypto::KEY_FILE,
                crate::crypto::KEY_ENV
            );
        }
        identity::service::fill_person_regions(&db, &keys)
            .await
            .context("giving persons their region")?;
        let inbox = config.dev_inbox.then(DevInbox::default);
        // Aliyun SMS when configured; else messages are logged (and kept for the demo's inbox).
        let notifier: Arc<dyn Notifier> = match &config.notification.aliyun_sms {
            Some(sms) => Arc::new(
                crate::notification::aliyun_sms::AliyunSms::new(sms.clone())
                    .context("building the Aliyun SMS client")?,
            ),
            None => Arc::new(LogNotifier {
                inbox: inbox.clone(),
            }),
        };
        let web_push = {
            use crate::notification::web_push::{Vapid, WebPush, secret_key_from};
            let key = secret_key_from(keys.vapid_material());
            let vapid = Vapid::new(&key, config.notification.web_push_subject.clone());
            Arc::new(WebPush::new(vapid).context("building the Web Push client")?)
        };
        let wechat = match &config.notification.wechat {
            Some(c) => Some(Arc::new(
                crate::notification::wechat::WeChat::new(c.clone())
                    .context("building the WeChat client")?,
            )),
            None => None,
        };
        let blobs: Arc<dyn BlobStore> = match &config.blobs {
            crate::config::BlobTarget::Local => {
                Arc::new(LocalBlobStore::new(config.data_dir.join("blobs")))
            }
            crate::config::BlobTarget::S3 {
                location,
                credentials,
            } => Arc::new(S3BlobStore::new(location.clone(), credentials.clone())?),
        };
        let bookings = scheduling::group_commit::GroupCommit::start(&db)
            .context("starting the booking writer")?;
        let messages = crate::consult::message_writer::MessageWriter::start(&db)
            .context("starting the message writer")?;
        let scope = crate::hub::scope_of(&db)
            .await
            .context("reading the database schema")?;
        let checkpointer = crate::db::checkpointer::Checkpointer::start(&db)
            .context("starting the WAL checkpointer")?;
        let courier: Arc<dyn crate::dispensing::courier::Courier> = Arc::new(
            crate::dispensing::courier::SandboxCourier::new(keys.sandbox_courier_secret()),
        );
        let payments: Arc<dyn crate::billing::gateway::PaymentGateway> = Arc::new(
            crate::billing::gateway::SandboxGateway::new(keys.sandbox_pay_secret()),
        );
        Ok(Self(Arc::new(Shared {
            bookings,
            messages,
            checkpointer,
            full_slots: scheduling::full_gate::FullGate::default(),
            sessions: identity::service::session_memory(),
            privileges: directory::service::privilege_memory(),
            service_kinds: directory::service::service_kind_memory(),
            screening_rules: crate::surveillance::rules::memory(),
            chat: Arc::new(crate::hub::Hub::new(
                crate::consult::hub::CHANNEL,
                scope.clone(),
            )),
            bells: Arc::new(crate::hub::Hub::new(
                crate::notification::bell::CHANNEL,
                scope.clone(),
            )),
            groups: Arc::new(crate::hub::Hub::new(
                crate::groups::hub::CHANNEL,
                scope.clone(),
            )),
            rooms: Arc::new(crate::hub::Hub::new(
                crate::teleconsult::room::CHANNEL,
                scope.clone(),
            )),
            lectures: Arc::new(crate::hub::Hub::new(crate::training::live::CHANNEL, scope)),
            oidc_key: tokio::sync::OnceCell::new(),
            stopping: CancellationToken::new(),
            metrics: Arc::new(Metrics::new(db.backend_name())),
            clock: crate::clock::Clock::default(),
            db,
            config: Arc::new(config),
            keys: Arc::new(keys),
            notifier,
            web_push,
            wechat,
            inbox,
            step_up: Arc::new(identity::auth::default_verifiers()),
            realname: Arc::new(identity::realname::SandboxRealName),
            blobs,
            payments,
            courier,
        })))
    }
}

/// The job handlers every process runs.
pub fn job_registry() -> jobs::Registry {
    jobs::Registry::standard()
        .with_recurring_job(
            web::idempotency::PurgeKeys,
            std::time::Duration::from_secs(3600),
        )
        .with_recurring_job(
            identity::cleanup::PurgeEndedSessions,
            std::time::Duration::from_secs(3600),
        )
        .with_recurring_job(
            scheduling::release::ReleaseSlots,
            std::time::Duration::from_secs(15 * 60),
        )
        .with_recurring_job(
            crate::consult::expiry::ExpireRequests,
            std::time::Duration::from_secs(60),
        )
        .with_recurring_job(
            crate::pharmacy::review::ExpirePrescriptions,
            std::time::Duration::from_secs(15 * 60),
        )
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
        Self::build_with(config, job_registry()).await
    }

    /// As [`build`](Self::build) with a given set of job handlers (tests add their own).
    pub async fn build_with(config: Config, registry: jobs::Registry) -> anyhow::Result<Self> {
        // Bind first: it is cheap and has no side effects, so a busy port fails before the
        // database is touched or a key file is created.
        let listen = config.listen;
        let listener = TcpListener::bind(listen).await.with_context(|| {
            format!("cannot listen on {listen}; stop the program using it or choose another address with --listen")
        })?;
        let state = AppState::open(config).await?;
        // The triage knowledge base and segmenter load once (~150 ms): at start, not in the
        // first patient's request, and a broken knowledge base stops the start.
        tokio::task::spawn_blocking(triage::warm_up)
            .await
            .context("loading the triage knowledge base")??;
        let addr = listener.local_addr().context("reading the bound address")?;
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

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` is cancelled, then lets requests in flight finish, stops the
    /// job worker and closes the database.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let state = self.state;
        let worker = state.config.jobs.enabled.then(|| {
            // Handlers that send messages need the application's services.
            let registry = self
                .registry
                .with_job(scheduling::waitlist::ExpireHolds(state.clone()))
                .with_job(scheduling::notice::SendNotices(state.clone()))
                .with_job(crate::notification::deliver::DeliverNotifications(
                    state.clone(),
                ))
                .with_job(crate::consult::unread::RemindUnreadReplies(state.clone()))
                .with_job(crate::education::push::FanOut(state.clone()))
                .with_job(crate::teleconsult::reminders::RemindDue(state.clone()))
                .with_job(crate::care::expiry::ExpireContract(state.clone()))
                .with_recurring_job(
                    crate::care::followup::SendFollowups(state.clone()),
                    std::time::Duration::from_secs(60),
                )
                // Refunds go through the payment gateway, which lives in the state.
                .with_recurring_job(
                    crate::billing::fees::RefundLapsed(state.clone()),
                    std::time::Duration::from_secs(60),
                )
                .with_recurring_job(
                    scheduling::reminders::AppointmentNotices(state.clone()),
                    std::time::Duration::from_secs(60),
                )
                .with_recurring_job(
                    crate::surveillance::cases::RemindOverdue(state.clone()),
                    std::time::Duration::from_secs(60),
                )
                .with_recurring_job(
                    crate::surveillance::scan::ScanJob(state.clone()),
                    std::time::Duration::from_secs(3600),
                );
            let worker = Worker::new(state.db.clone(), registry, state.config.jobs.clone())
                .with_clock(state.clock.clone());
            tokio::spawn(worker.run(shutdown.clone()))
        });
        // PostgreSQL: audit events wait unsealed for a moment; every node seals (taking turns),
        // and seals once more as it stops. SQLite writers chain their own: nothing to seal.
        let sealer = matches!(state.db, Db::Postgres(_)).then(|| {
            tokio::spawn(audit::run_sealer(
                state.db.clone(),
                AUDIT_SEAL_EVERY,
                shutdown.clone(),
            ))
        });
        // PostgreSQL: conversation news from every process (a no-op on SQLite).
        let listener = tokio::spawn(crate::hub::listen(
            state.db.clone(),
            state.chat.clone(),
            shutdown.clone(),
        ));
        // PostgreSQL: inbox news (unread counts) from every process.
        let bell_listener = tokio::spawn(crate::hub::listen(
            state.db.clone(),
            state.bells.clone(),
            shutdown.clone(),
        ));
        // PostgreSQL: patient-group news from every process.
        let group_listener = tokio::spawn(crate::hub::listen(
            state.db.clone(),
            state.groups.clone(),
            shutdown.clone(),
        ));
        // PostgreSQL: video-room signalling from every process.
        let room_listener = tokio::spawn(crate::hub::listen(
            state.db.clone(),
            state.rooms.clone(),
            shutdown.clone(),
        ));
        let lecture_listener = tokio::spawn(crate::hub::listen(
            state.db.clone(),
            state.lectures.clone(),
            shutdown.clone(),
        ));
        let stopping = state.stopping.clone();
        let stop_signal = shutdown.clone();
        tokio::spawn(async move {
            stop_signal.cancelled().await;
            stopping.cancel();
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
        let _ = listener.await;
        let _ = bell_listener.await;
        let _ = group_listener.await;
        let _ = room_listener.await;
        let _ = lecture_listener.await;
        if let Some(sealer) = sealer {
            let _ = sealer.await;
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
        .merge(crate::openapi::router())
        .merge(web::router())
        .merge(directory::router())
        .merge(identity::router())
        .merge(crate::smart::router())
        .merge(scheduling::router())
        .merge(crate::triage::router())
        .merge(crate::consult::router())
        .merge(crate::pharmacy::router())
        .merge(crate::billing::router())
        .merge(crate::dispensing::router())
        .merge(crate::surveillance::router())
        .merge(crate::notification::router())
        .merge(crate::education::router())
        .merge(crate::groups::router())
        .merge(crate::teleconsult::router())
        .merge(crate::referral::router())
        .merge(crate::training::router())
        .merge(crate::care::router())
        .merge(audit::router())
        .merge(fhir::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::idempotency::replay,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            identity::csrf::protect,
        ))
        .layer(axum::middleware::from_fn(crate::extract::check_query))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::denials::audit_denials,
        ))
        .layer(RequestBodyLimitLayer::new(http.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            TIMEOUT_STATUS,
            http.request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        // Sees the errors of everything inside it, including timeouts, panics, 404 and 405.
        .layer(axum::middleware::from_fn(middleware::render_errors));
    app = app.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        middleware::private_responses,
    ));
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
pub async fn serve(mut config: Config, demo_mode: bool) -> anyhow::Result<()> {
    config.demo = demo_mode;
    config.dev_inbox = demo_mode;
    // The demo's WeChat is the built-in sandbox, reached at this server's own address.
    if demo_mode && config.notification.wechat.is_none() && config.listen.port() != 0 {
        let host = if config.listen.ip().is_unspecified() {
            std::net::SocketAddr::from(([127, 0, 0, 1], config.listen.port()))
        } else {
            config.listen
        };
        config.notification.wechat = Some(crate::notification::wechat_sandbox::config(&format!(
            "http://{host}"
        )));
    }
    let database = config.database.to_string();
    let app = Application::build(config).await?;
    let addr = app.local_addr();
    let summary = if demo_mode {
        Some(
            demo::seed(app.state())
                .await
                .context("seeding the demo data")?,
        )
    } else {
        None
    };
    let demo_slots = if demo_mode {
        {
            let slots = demo::seed_schedules(app.state())
                .await
                .context("seeding the demo schedules")?;
            demo::seed_inbox(app.state())
                .await
                .context("seeding the demo inbox")?;
            slots
        }
    } else {
        0
    };
    tracing::info!(%addr, %database, "Yunyi is serving");
    // The banner goes to stdout so a person sees it even with logging turned down.
    println!("Yunyi (云医) is running at http://{addr}/");
    println!("  database: {database}");
    if let Some(summary) = summary {
        println!("{summary}");
    }
    if demo_slots > 0 {
        println!("  demo schedules: {demo_slots} time slots opened for the next 14 days");
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

/// How often each node seals the audit events written since (see `audit`).
const AUDIT_SEAL_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Unsealed events older than this mean no node is sealing.
const STALE_UNSEALED_S: i64 = 60;

/// `yunyi audit verify`: exit 0 with a summary when intact, 1 naming the first bad event, or
/// when an event has waited more than a minute to be sealed (no sealer is running).
pub async fn audit_verify(config: Config) -> anyhow::Result<()> {
    let db = Db::connect(&config.database).await?;
    db.migrate().await?;
    let result = audit::verify(&db)
        .await
        .context("reading the audit trail")?;
    db.close().await;
    match result {
        audit::Verification::Intact {
            events,
            last_hash,
            unsealed,
            oldest_unsealed_at,
        } => {
            println!("audit trail intact: {events} events, last hash {last_hash}");
            let Some(oldest) = oldest_unsealed_at else {
                println!("no events waiting to be sealed");
                return Ok(());
            };
            let age_s = (crate::clock::now_ms() - oldest).max(0) / 1000;
            println!("{unsealed} events not yet sealed, the oldest written {age_s} s ago");
            if age_s > STALE_UNSEALED_S {
                anyhow::bail!(
                    "ALERT: an audit event has waited {age_s} s to be sealed (more than \
                     {STALE_UNSEALED_S} s): is any Yunyi node running its sealer?"
                );
            }
            Ok(())
        }
        audit::Verification::Broken { id, reason } => {
            anyhow::bail!("audit trail broken at event {id}: {reason}")
        }
    }
}

/// `yunyi user create`: the password is the first line of standard input, so it never
/// appears in the process list or shell history.
pub async fn create_user(
    config: Config,
    username: String,
    role: String,
    display_name: String,
    hospital_id: Option<i64>,
) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let state = AppState::open(config).await?;
    let input = identity::service::NewStaff {
        username: username.clone(),
        display_name,
        role,
        hospital_id,
        password,
        phone: None,
    };
    let id = identity::service::create_staff(&state, None, &input)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("created account {id} ({username})");
    state.db.close().await;
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
