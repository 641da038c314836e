//! Durable background jobs (the outbox).
//!
//! A job is a row in `job`, written in the same transaction as the change that causes it
//! ([`enqueue`] takes a [`Tx`]), so a job exists if and only if its cause was committed. Workers
//! claim due jobs with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on
//! SQLite), run the handler registered for the job's `kind`, and then mark it done, or schedule
//! a retry with exponential backoff, or — after `max_attempts` — mark it dead for an operator.
//!
//! Delivery is at least once: a worker that dies mid-job loses its lease and another worker
//! runs the job again. Handlers must therefore be idempotent.

pub mod prune;
pub mod store;
pub mod worker;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::now_ms;
use crate::db::{Db, Tx};

pub use worker::Worker;

/// What a handler returns: `Err` schedules a retry (or marks the job dead).
pub type JobResult = anyhow::Result<()>;
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Context a handler runs with.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub db: Db,
    /// The application's clock (see `clock`).
    pub clock: crate::clock::Clock,
    pub job_id: i64,
    /// 1 on the first run.
    pub attempt: i64,
}

impl JobContext {
    /// Now, in epoch milliseconds, by the application's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// What a kind of job carries: a serde struct, stored as JSON in the job's row, with the kind
/// it is queued under.
pub trait Payload: Serialize + DeserializeOwned + Send + Sync + 'static {
    const KIND: &'static str;
}

/// Declares the payload of a job that carries nothing (a recurring job looks for what is due):
/// an empty struct, stored as `{}`.
#[macro_export]
macro_rules! empty_payload {
    ($(#[$meta:meta])* $name:ident = $kind:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, ::serde::Serialize, ::serde::Deserialize)]
        pub struct $name {}

        impl $crate::jobs::Payload for $name {
            const KIND: &'static str = $kind;
        }
    };
}

/// Code that performs one kind of job, given its payload decoded. Must be idempotent (see
/// module docs).
pub trait Job: Send + Sync + 'static {
    type Payload: Payload;
    fn run(
        &self,
        ctx: &JobContext,
        payload: Self::Payload,
    ) -> impl Future<Output = JobResult> + Send;
}

/// A [`Job`] as the worker calls it: the stored JSON decoded first. A payload that does not
/// decode fails the attempt with the reason (and, after the last attempt, the job is dead for
/// an operator to see), rather than running on defaults.
struct Typed<J>(J);

impl<J: Job> JobHandler for Typed<J> {
    fn kind(&self) -> &'static str {
        J::Payload::KIND
    }

    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
        payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, JobResult> {
        Box::pin(async move {
            let payload = J::Payload::deserialize(payload).map_err(|e| {
                anyhow::anyhow!(
                    "the payload of a {} job is not valid: {e}",
                    J::Payload::KIND
                )
            })?;
            self.0.run(ctx, payload).await
        })
    }
}

/// The worker's view of a kind of job: the payload as stored. Implement [`Job`] instead; this
/// is for handlers that must see the raw JSON (tests of the worker itself).
pub trait JobHandler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
        payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, JobResult>;
}

/// A job that runs again every `every`: one job per time slot across all nodes, by dedupe key.
#[derive(Debug, Clone)]
pub struct Recurring {
    pub kind: &'static str,
    pub every: Duration,
}

/// The handlers this process can run, by kind, and the recurring schedule.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    recurring: Vec<Recurring>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.handlers.keys().collect::<Vec<_>>())
            .field("recurring", &self.recurring)
            .finish()
    }
}

impl Registry {
    /// The handlers every Yunyi process runs.
    pub fn standard() -> Self {
        Self::default().with_recurring_job(
            prune::PruneFinishedJobs::default(),
            Duration::from_secs(3600),
        )
    }

    pub fn with_job(self, job: impl Job) -> Self {
        self.with_handler(Arc::new(Typed(job)))
    }

    /// A job run every `every` with its empty payload (see [`empty_payload!`]).
    pub fn with_recurring_job(self, job: impl Job, every: Duration) -> Self {
        self.with_recurring(Arc::new(Typed(job)), every)
    }

    pub fn with_handler(mut self, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.insert(handler.kind(), handler);
        self
    }

    pub fn with_recurring(mut self, handler: Arc<dyn JobHandler>, every: Duration) -> Self {
        self.recurring.push(Recurring {
            kind: handler.kind(),
            every,
        });
        self.with_handler(handler)
    }

    pub fn handler(&self, kind: &str) -> Option<&Arc<dyn JobHandler>> {
        self.handlers.get(kind)
    }

    pub fn recurring(&self) -> &[Recurring] {
        &self.recurring
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    /// Enqueueing a second job with the same key does nothing.
    pub dedupe_key: Option<String>,
    /// Epoch milliseconds; now for "as soon as possible".
    pub run_at: i64,
    pub max_attempts: i64,
}

impl NewJob {
    pub const DEFAULT_MAX_ATTEMPTS: i64 = 8;

    /// A job carrying `payload`, queued under its kind.
    pub fn of<P: Payload>(payload: &P) -> Self {
        // A payload is a plain struct of numbers and strings, which always serializes; were
        // one not to, the job would fail visibly on decoding rather than vanish here.
        let json = serde_json::to_value(payload).unwrap_or(serde_json::Value::Null);
        Self::new(P::KIND, json)
    }

    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            dedupe_key: None,
            run_at: now_ms(),
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
        }
    }

    pub fn dedupe_key(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn run_at(mut self, epoch_ms: i64) -> Self {
        self.run_at = epoch_ms;
        self
    }

    pub fn max_attempts(mut self, n: i64) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

/// Enqueues inside the caller's transaction. Returns the new id, or `None` when a job with
/// the same dedupe key already exists.
pub async fn enqueue(tx: &mut Tx, job: &NewJob) -> Result<Option<i64>, sqlx::Error> {
    store::insert(tx, job).await
}

/// Enqueues in a transaction of its own, for causes that are not themselves database writes.
pub async fn enqueue_now(db: &Db, job: &NewJob) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let id = enqueue(&mut tx, job).await?;
    tx.commit().await?;
    Ok(id)
}
