//! Storage on two backends behind one small type.
//!
//! SQLite (embedded default, WAL) and PostgreSQL use their native sqlx pools; the `Any` driver
//! lacks too many types (see TOOLCHAIN.md). Domain SQL is written once with `$N` placeholders and
//! run on either pool through [`with_db!`](crate::with_db), which expands the same code for each
//! backend. DDL differs (identity columns, booleans), so each backend has its own migration
//! folder: `migrations/sqlite` and `migrations/postgres`, kept in step by file name.
//!
//! Invariant: correctness under concurrency comes from the database (conditional updates,
//! unique constraints, transactions), never from process-local locks, so several nodes sharing
//! one PostgreSQL stay correct.

pub mod batch_writer;
pub mod checkpointer;
pub mod query;
pub mod text_enum;

pub use query::{Param, Params, Sql};

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::{DatabaseTarget, redact_url};

/// A connection pool on one of the two supported backends. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same code against whichever pool `db` holds. `$pool` is bound to `&SqlitePool` or
/// `&PgPool`; the body is expanded once per backend, so it must type-check for both (it does
/// whenever it only uses portable SQL and portable Rust types).
#[macro_export]
macro_rules! with_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// The schema a PostgreSQL pool works in (a deployment's name in notifications).
pub async fn current_schema(pool: &PgPool) -> Result<String, sqlx::Error> {
    sqlx::query_scalar::<_, String>("SELECT current_schema()")
        .fetch_one(pool)
        .await
}

/// `NOTIFY channel, payload` on PostgreSQL.
pub async fn notify(pool: &PgPool, channel: &str, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(pool)
        .await
        .map(|_| ())
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long start-up waits for a database connection before reporting it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Db {
    /// Opens a pool. Errors name the (redacted) target and say what to check.
    pub async fn connect(target: &DatabaseTarget) -> anyhow::Result<Self> {
        match target {
            DatabaseTarget::Sqlite { path } => {
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // NORMAL in WAL mode is durable against process crashes; a power cut may lose
                    // the last transactions but never corrupts the file (measured: 2x throughput).
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    // Checkpoints are the server's checkpointer's (see `checkpointer`).
                    .pragma("wal_autocheckpoint", "0")
                    .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    // The file cannot go away under an open connection: testing it before each
                    // use is a round trip to its worker thread for nothing (measured: it was a
                    // third of the thread hand-offs in the booking rush).
                    .test_before_acquire(false)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .after_release(|conn, _| Box::pin(still_usable(conn)))
                    .connect_with(options)
                    .await
                    .with_context(|| {
                        format!(
                            "cannot open the embedded database at '{}'; check that the data directory is writable",
                            path.display()
                        )
                    })?;
                Ok(Self::Sqlite(pool))
            }
            DatabaseTarget::Postgres { url } => {
                let shown = redact_url(url);
                let options = PgConnectOptions::from_str(url)
                    .with_context(|| format!("database URL '{shown}' is not valid"))?;
                let unreachable = || {
                    format!(
                        "cannot connect to the database at {shown}; check --database-url and that the server is running and reachable"
                    )
                };
                // One direct connection first: the pool would retry until its timeout and then
                // report only "timed out", hiding the real cause (refused, bad password, no
                // such database) that the operator needs to see.
                let probe =
                    tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
                        .await
                        .map_err(|_| {
                            anyhow::anyhow!("no answer within {} s", CONNECT_TIMEOUT.as_secs())
                        })
                        .with_context(unreachable)?
                        .with_context(unreachable)?;
                let _ = probe.close().await;
                let pool = PgPoolOptions::new()
                    .max_connections(32)
                    // sqlx pings every connection when it comes back to the pool; pinging it
                    // again on the way out doubled the round trips of every query (measured in
                    // the booking rush: docs/PERFORMANCE.md). Only a connection idle long enough
                    // for the server to have gone away meanwhile is tested before use.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| Box::pin(alive_after_idle(conn, meta.idle_for)))
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options)
                    .await
                    .with_context(unreachable)?;
                Ok(Self::Postgres(pool))
            }
        }
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Self::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        }
        .context("cannot apply database migrations")
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// A round trip to the database, for `/readyz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_db!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))
    }

    pub async fn close(&self) {
        with_db!(self, |pool| pool.close().await)
    }
}

/// An open transaction on either backend. Commit explicitly; dropping it rolls back, so an
/// error returned with `?` half-way leaves nothing half-written.
#[derive(Debug)]
pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(PgTx),
}

/// A PostgreSQL transaction.
#[derive(Debug)]
pub struct PgTx {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
}

impl std::ops::Deref for PgTx {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for PgTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// A SQLite write transaction holding this process's turn to write to its file.
///
/// SQLite allows one writer at a time. Left to itself, a waiting writer polls with growing
/// sleeps (the busy handler), which under a booking rush wastes most of the time asleep and
/// serves writers in no order. Writers of this process instead queue on a fair async mutex per
/// database file and take the file's lock only when it is free; other processes (the CLI) still
/// meet the busy timeout as before.
#[derive(Debug)]
pub struct SqliteTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl std::ops::Deref for SqliteTx {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for SqliteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// The size the WAL file is cut back to when its log starts again (bytes: 64 MiB).
pub const JOURNAL_SIZE_LIMIT: &str = "67108864";

/// How long a writer waits for its turn: as long as SQLite's own busy timeout.
const WRITE_TURN_TIMEOUT: Duration = Duration::from_secs(5);

/// The queue of writers for a pool's database file (also taken by the SQLite booking writer,
/// which writes on a connection of its own).
pub fn write_turns(pool: &SqlitePool) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex, OnceLock};
    static TURNS: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let file = pool.connect_options().get_filename().to_path_buf();
    let turns = TURNS.get_or_init(Mutex::default);
    match turns.lock() {
        Ok(mut map) => map.entry(file).or_default().clone(),
        // A panic while holding this map lock cannot leave it inconsistent (one insert).
        Err(poisoned) => poisoned.into_inner().entry(file).or_default().clone(),
    }
}

/// Runs the same code on the connection of whichever transaction `tx` holds; `$conn` is a
/// `&mut SqliteConnection` or `&mut PgConnection`.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// How long a PostgreSQL connection may sit idle and still be used without a test first.
const TRUST_IDLE_FOR: Duration = Duration::from_secs(1);

/// Whether an idle PostgreSQL connection may serve: tested (one round trip) only when it sat
/// idle longer than [`TRUST_IDLE_FOR`]; a dead one is closed and the pool opens another.
async fn alive_after_idle(
    conn: &mut sqlx::PgConnection,
    idle_for: Duration,
) -> Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    if idle_for <= TRUST_IDLE_FOR {
        return Ok(true);
    }
    Ok(conn.ping().await.is_ok())
}

/// Whether a connection coming back to the pool may serve again. A transaction dropped
/// without commit leaves a rollback queued on the connection; a trivial query lets it run. If
/// the connection still believes it is inside a transaction, it is not: SQLite rolled back by
/// itself when a COMMIT failed (the disk was full, scripts/faults disk), the queued ROLLBACK
/// then failed, and sqlx would refuse every later BEGIN on it. Such a connection is closed and
/// the pool opens a fresh one.
async fn still_usable(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    sqlx::query("SELECT 1").execute(&mut *conn).await?;
    let usable = !conn.is_in_transaction();
    if !usable {
        tracing::warn!("closing a database connection left inside a failed transaction");
    }
    Ok(usable)
}

impl Db {
    /// Starts a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`):
    /// a deferred transaction that reads and then writes can fail with "database is locked"
    /// when another writer got in between, whatever the busy timeout.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self {
            Self::Sqlite(pool) => {
                let turn = tokio::time::timeout(WRITE_TURN_TIMEOUT, write_turns(pool).lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(Tx::Sqlite(SqliteTx { tx, _turn: turn }))
            }
            Self::Postgres(pool) => pool.begin().await.map(|tx| Tx::Postgres(PgTx { tx })),
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(t) => t.tx.commit().await,
            Self::Postgres(t) => t.tx.commit().await,
        }
    }
}

/// True when the error is a unique-constraint violation (the portable way to detect
/// "someone else got there first").
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
