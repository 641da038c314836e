//! Group commit on SQLite: one writer thread per kind of write, on a connection of its own.
//!
//! SQLite has one writer. When a thousand patients press "book" in the same second, or two
//! thousand chat messages arrive in a second, a transaction per write spends most of its time
//! taking and handing over the file lock and passing each statement to sqlx's worker thread
//! and back (measured: the hand-offs, not SQLite, were most of the time). Instead one thread
//! takes the jobs queued so far (up to [`BATCH`]), runs them one after another in one
//! transaction on a plain `rusqlite` connection with cached prepared statements, and commits
//! them together; every caller awaits its own result, which it receives only after the commit.
//!
//! The thread takes the same per-file write turn as every other writer of the process
//! (`db::write_turns`), so it never meets them in SQLite's busy handler. A database error rolls
//! the whole batch back and every job in it gets that error. PostgreSQL takes concurrent
//! transactions itself and does not use this.
//!
//! What a batch does is the [`Batch`] implementation's: bookings (`scheduling::group_commit`)
//! and chat messages (`consult::message_writer`).

use std::path::Path;
use std::sync::{Arc, mpsc};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::db::Db;
use crate::error::{AppError, AppResult};

/// Most jobs committed together.
pub const BATCH: usize = 64;

/// One kind of write done in groups.
pub trait Batch: Send + 'static {
    /// One caller's write.
    type Job: Send + 'static;
    /// What became of it.
    type Outcome: Send + 'static;
    /// The writer thread's name (seen in `top -H` and profiles).
    const THREAD: &'static str;
    /// Runs the jobs in `tx`, one outcome per job in order; an error rolls all of them back.
    fn run(
        tx: &rusqlite::Transaction<'_>,
        jobs: &[&Self::Job],
    ) -> rusqlite::Result<Vec<Self::Outcome>>;
}

struct Queued<B: Batch> {
    job: B::Job,
    reply: oneshot::Sender<AppResult<B::Outcome>>,
}

/// The queue to one writer thread; cheap to clone. The thread ends when the last handle is
/// dropped.
pub struct BatchWriter<B: Batch> {
    queue: mpsc::SyncSender<Queued<B>>,
}

impl<B: Batch> Clone for BatchWriter<B> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<B: Batch> std::fmt::Debug for BatchWriter<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWriter")
            .field("thread", &B::THREAD)
            .finish()
    }
}

impl<B: Batch> BatchWriter<B> {
    /// Starts the writer for a SQLite database; `None` for PostgreSQL.
    pub fn start(db: &Db) -> anyhow::Result<Option<Self>> {
        let Db::Sqlite(pool) = db else {
            return Ok(None);
        };
        let path = pool.connect_options().get_filename().to_path_buf();
        let turn = crate::db::write_turns(pool);
        let connection = open(&path)?;
        let (queue, jobs) = mpsc::sync_channel(4 * BATCH);
        std::thread::Builder::new()
            .name(B::THREAD.to_owned())
            .spawn(move || writer::<B>(connection, turn, jobs))?;
        Ok(Some(Self { queue }))
    }

    /// Queues one job and waits for its committed outcome.
    pub async fn submit(&self, job: B::Job) -> AppResult<B::Outcome> {
        let (reply, result) = oneshot::channel();
        let stopped = || AppError::Internal(anyhow::anyhow!("the {} has stopped", B::THREAD));
        match self.queue.try_send(Queued { job, reply }) {
            Ok(()) => {}
            // The queue is bounded: waiting for room blocks, so wait off the async threads.
            Err(mpsc::TrySendError::Full(queued)) => {
                let queue = self.queue.clone();
                tokio::task::spawn_blocking(move || queue.send(queued).map_err(|_| ()))
                    .await
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("queueing a write: {e}")))?
                    .map_err(|_| stopped())?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(stopped()),
        }
        result
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the {} dropped a write", B::THREAD)))?
    }
}

/// The writer's connection, set up as the pool's are (checkpoints are `db::checkpointer`'s).
fn open(path: &Path) -> anyhow::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
        crate::db::JOURNAL_SIZE_LIMIT
    ))?;
    Ok(connection)
}

fn writer<B: Batch>(
    mut connection: Connection,
    turn: Arc<tokio::sync::Mutex<()>>,
    jobs: mpsc::Receiver<Queued<B>>,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        tracing::debug!(jobs = batch.len(), thread = B::THREAD, "write batch");
        let result = {
            let _turn = turn.blocking_lock();
            run_batch::<B>(&mut connection, &batch)
        };
        match result {
            Ok(outcomes) => {
                for (queued, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = queued.reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                let why = format!("a batch of the {} failed: {e}", B::THREAD);
                for queued in batch {
                    let _ = queued
                        .reply
                        .send(Err(AppError::Internal(anyhow::anyhow!("{why}"))));
                }
            }
        }
    }
}

/// Runs the batch in one transaction; rolled back (by dropping it) on any database error.
fn run_batch<B: Batch>(
    connection: &mut Connection,
    batch: &[Queued<B>],
) -> rusqlite::Result<Vec<B::Outcome>> {
    let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let jobs: Vec<&B::Job> = batch.iter().map(|q| &q.job).collect();
    let outcomes = B::run(&tx, &jobs)?;
    tx.commit()?;
    Ok(outcomes)
}

/// A statement written for sqlx (`$1`) in SQLite's numbering (`?1`): rusqlite would take `$1`
/// for a name and number the parameters by first appearance.
pub fn sqlite_numbered(sql: &str) -> String {
    sql.replace('$', "?")
}
