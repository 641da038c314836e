//! Group commit for bookings on SQLite.
//!
//! SQLite has one writer. When a thousand patients press "book" in the same second, a
//! transaction per booking spends most of its time taking and handing over the file lock.
//! Instead, one writer task takes the bookings queued so far (up to [`BATCH`]), runs them one
//! after another in one transaction, and commits them together; every request awaits its own
//! result, which it receives only after the commit.
//!
//! The contract for a [`Work`]: when it answers with a client error (the one-per-day rule) it
//! has undone its own writes, so the others stand; an `Internal` error (the database failed)
//! rolls the whole batch back and every booking in it gets that error. Savepoints would make
//! the contract unnecessary, but cost two statements per booking on the one writer, which
//! measured ~20% of its time.
//!
//! The rules are unchanged: each booking's statements are the same conditional update and
//! inserts as alone. PostgreSQL takes concurrent transactions itself and does not use this.

use tokio::sync::{mpsc, oneshot};

use crate::db::{Db, Tx};
use crate::error::{AppError, AppResult};
use crate::jobs::BoxFuture;

/// Most bookings committed together.
pub const BATCH: usize = 64;

/// One booking's writes, run inside the batch's transaction: `Ok(None)` when the place was
/// no longer free, `Ok(Some(id))` for the new appointment; a client error leaves no writes.
pub type Work = Box<dyn for<'a> FnOnce(&'a mut Tx) -> BoxFuture<'a, AppResult<Option<i64>>> + Send>;

struct Job {
    work: Work,
    reply: oneshot::Sender<AppResult<Option<i64>>>,
}

/// The queue to the writer task; cheap to clone.
#[derive(Clone, Debug)]
pub struct GroupCommit {
    queue: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl GroupCommit {
    /// Starts the writer for a SQLite database; `None` for PostgreSQL. The task ends when the
    /// last handle is dropped.
    pub fn start(db: &Db) -> Option<Self> {
        let Db::Sqlite(_) = db else {
            return None;
        };
        let (queue, jobs) = mpsc::channel(4 * BATCH);
        tokio::spawn(writer(db.clone(), jobs));
        Some(Self { queue })
    }

    /// Queues one booking and waits for its committed result.
    pub async fn run(&self, work: Work) -> AppResult<Option<i64>> {
        let (reply, result) = oneshot::channel();
        self.queue
            .send(Job { work, reply })
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the booking writer has stopped")))?;
        result.await.map_err(|_| {
            AppError::Internal(anyhow::anyhow!("the booking writer dropped a booking"))
        })?
    }
}

async fn writer(db: Db, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        tracing::debug!(bookings = batch.len(), "booking batch");
        run_batch(&db, batch).await;
    }
}

async fn run_batch(db: &Db, batch: Vec<Job>) {
    let fail_all = |replies: Vec<oneshot::Sender<AppResult<Option<i64>>>>, why: String| {
        for reply in replies {
            let _ = reply.send(Err(AppError::Internal(anyhow::anyhow!("{why}"))));
        }
    };
    let mut tx = match db.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            fail_all(
                batch.into_iter().map(|j| j.reply).collect(),
                format!("starting a booking batch: {e}"),
            );
            return;
        }
    };
    let mut done = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    for job in jobs.by_ref() {
        let result = (job.work)(&mut tx).await;
        if let Err(AppError::Internal(e)) = &result {
            let why = format!("a booking in the batch failed: {e:#}");
            drop(tx);
            let mut replies: Vec<_> = done.into_iter().map(|(r, _)| r).collect();
            replies.push(job.reply);
            replies.extend(jobs.map(|j| j.reply));
            fail_all(replies, why);
            return;
        }
        done.push((job.reply, result));
    }
    match tx.commit().await {
        Ok(()) => {
            for (reply, result) in done {
                let _ = reply.send(result);
            }
        }
        Err(e) => fail_all(
            done.into_iter().map(|(r, _)| r).collect(),
            format!("committing a booking batch: {e}"),
        ),
    }
}
