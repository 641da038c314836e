//! The worker loop: schedule recurring jobs, claim due jobs one at a time, run them, record
//! the outcome. Several workers (threads or nodes) may run against one database.

use std::sync::Arc;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::{JobContext, NewJob, Registry, store};
use crate::clock::Clock;
use crate::config::JobsConfig;
use crate::db::Db;

/// What happened to one claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done {
        id: i64,
    },
    /// Failed; will run again at `at` (epoch ms).
    Retry {
        id: i64,
        at: i64,
    },
    /// Failed for the last time, or can never succeed.
    Dead {
        id: i64,
    },
    /// Finished after its lease expired and another worker had taken it over.
    LostLease {
        id: i64,
    },
}

pub struct Worker {
    db: Db,
    clock: Clock,
    registry: Arc<Registry>,
    config: JobsConfig,
    id: String,
}

impl Worker {
    pub fn new(db: Db, registry: Registry, config: JobsConfig) -> Self {
        let id = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        Self {
            db,
            clock: Clock::default(),
            registry: Arc::new(registry),
            config,
            id,
        }
    }

    /// Runs jobs by `clock` (the application's) instead of the wall clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `shutdown` is cancelled. A job in progress is finished first; one that
    /// never finishes is taken over by another worker when its lease runs out.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(worker = %self.id, "job worker started");
        while !shutdown.is_cancelled() {
            if let Err(e) = self.schedule_recurring().await {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "could not schedule recurring jobs"
                );
            }
            if let Err(e) = self.drain(&shutdown).await {
                tracing::warn!(error = format!("{e:#}"), "job worker cycle failed");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        tracing::info!(worker = %self.id, "job worker stopped");
    }

    /// Enqueues the current slot of every recurring job. The dedupe key makes this
    /// idempotent across restarts and nodes: each slot runs once.
    pub async fn schedule_recurring(&self) -> anyhow::Result<()> {
        let now = self.clock.now_ms();
        for rec in self.registry.recurring() {
            let every = i64::try_from(rec.every.as_millis())
                .unwrap_or(i64::MAX)
                .max(1);
            let slot = now / every;
            let job = NewJob::new(rec.kind, serde_json::json!({}))
                .dedupe_key(format!("recurring:{}:{slot}", rec.kind))
                .run_at(slot.saturating_mul(every));
            super::enqueue_now(&self.db, &job)
                .await
                .with_context(|| format!("enqueueing recurring job {}", rec.kind))?;
        }
        Ok(())
    }

    /// Runs due jobs until none is due (or shutdown). Returns how many were run.
    pub async fn drain(&self, shutdown: &CancellationToken) -> anyhow::Result<usize> {
        let mut count = 0;
        while !shutdown.is_cancelled() {
            match self.run_one().await? {
                Some(_) => count += 1,
                None => break,
            }
        }
        Ok(count)
    }

    /// Claims and runs one due job, if any.
    pub async fn run_one(&self) -> anyhow::Result<Option<Outcome>> {
        let now = self.clock.now_ms();
        let lease_ms = i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX);
        let Some(job) = store::claim(&self.db, &self.id, now, now.saturating_add(lease_ms))
            .await
            .context("claiming a job")?
        else {
            return Ok(None);
        };
        let span =
            tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
        self.execute(job).instrument(span).await.map(Some)
    }

    async fn execute(&self, job: store::ClaimedJob) -> anyhow::Result<Outcome> {
        let id = job.id;

        // A lease taken over from a dead worker counts as an attempt too.
        if job.attempts > job.max_attempts {
            store::fail(&self.db, id, &self.id, "out of attempts", None).await?;
            return Ok(Outcome::Dead { id });
        }
        let payload: serde_json::Value = match serde_json::from_str(&job.payload) {
            Ok(p) => p,
            Err(e) => {
                // Retrying cannot fix a payload that is not JSON.
                store::fail(
                    &self.db,
                    id,
                    &self.id,
                    &format!("payload is not JSON: {e}"),
                    None,
                )
                .await?;
                tracing::error!("job payload is not JSON; marked dead");
                return Ok(Outcome::Dead { id });
            }
        };

        let result = match self.registry.handler(&job.kind).cloned() {
            // Another node running a newer version may know this kind: retry, don't drop.
            None => Err(format!(
                "no handler for job kind '{}' in this process",
                job.kind
            )),
            Some(handler) => {
                let ctx = JobContext {
                    db: self.db.clone(),
                    clock: self.clock.clone(),
                    job_id: id,
                    attempt: job.attempts,
                };
                // Spawned so that a panicking handler fails its job instead of the worker.
                let task = tokio::spawn(async move { handler.run(&ctx, &payload).await });
                match task.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(format!("{e:#}")),
                    Err(e) if e.is_panic() => Err("the handler panicked".to_owned()),
                    Err(e) => Err(format!("the handler was cancelled: {e}")),
                }
            }
        };

        match result {
            Ok(()) => {
                if store::complete(&self.db, id, &self.id).await? {
                    tracing::debug!("job done");
                    Ok(Outcome::Done { id })
                } else {
                    tracing::warn!("job finished after its lease was taken over");
                    Ok(Outcome::LostLease { id })
                }
            }
            Err(error) => {
                let retry_at = (job.attempts < job.max_attempts).then(|| {
                    self.clock
                        .now_ms()
                        .saturating_add(self.backoff_ms(job.attempts))
                });
                if !store::fail(&self.db, id, &self.id, &error, retry_at).await? {
                    return Ok(Outcome::LostLease { id });
                }
                match retry_at {
                    Some(at) => {
                        tracing::warn!(
                            error,
                            retry_in_ms = at - self.clock.now_ms(),
                            "job failed; will retry"
                        );
                        Ok(Outcome::Retry { id, at })
                    }
                    None => {
                        tracing::error!(error, "job failed for the last time; marked dead");
                        Ok(Outcome::Dead { id })
                    }
                }
            }
        }
    }

    /// Exponential backoff after the `attempt`-th failure, capped, with up to 10% jitter so
    /// that jobs failing together do not retry together.
    fn backoff_ms(&self, attempt: i64) -> i64 {
        let base = i64::try_from(self.config.backoff_base.as_millis()).unwrap_or(i64::MAX);
        let max = i64::try_from(self.config.backoff_max.as_millis()).unwrap_or(i64::MAX);
        let shift = u32::try_from((attempt - 1).clamp(0, 30)).unwrap_or(30);
        let delay = base.saturating_mul(1_i64 << shift).min(max);
        let jitter = if delay >= 10 {
            rand::random_range(0..=delay / 10)
        } else {
            0
        };
        delay.saturating_add(jitter)
    }
}
