//! SQL for the job table. One string per statement serves both backends except the claim,
//! where PostgreSQL needs `FOR UPDATE SKIP LOCKED` so that concurrent workers on several nodes
//! skip each other's rows instead of queueing behind them.

use crate::db::{Db, Tx};

use super::NewJob;
use crate::clock::now_ms;

/// A claimed job, as the worker sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

crate::text_enum! {
    /// Where a job stands.
    pub enum JobStatus {
        Queued = "queued",
        Running = "running",
        Done = "done",
        /// Out of attempts, or failed in a way retrying cannot fix.
        Dead = "dead",
    }
}

/// A job row, for inspection (tests, admin pages).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub dedupe_key: Option<String>,
    pub status: JobStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

const INSERT: &str = "INSERT INTO job (kind, payload, dedupe_key, status, attempts, max_attempts, run_at, created_at, updated_at) \
     VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $6) \
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id";

pub async fn insert(tx: &mut Tx, job: &NewJob) -> Result<Option<i64>, sqlx::Error> {
    let payload = job.payload.to_string();
    let now = now_ms();
    tx.scalar_optional::<i64>(
        INSERT,
        (
            &job.kind,
            &payload,
            &job.dedupe_key,
            job.max_attempts,
            job.run_at,
            now,
        ),
    )
    .await
}

/// Due: queued and its time has come, or running with an expired lease (its worker died).
const CLAIM_WHERE: &str = "(status = 'queued' AND run_at <= $3) OR (status = 'running' AND locked_until < $3) \
     ORDER BY run_at, id LIMIT 1";

/// Claims the next due job for `worker` until `lease_until`. Atomic on both backends: one
/// statement, so two workers never get the same row.
pub async fn claim(
    db: &Db,
    worker: &str,
    now: i64,
    lease_until: i64,
) -> Result<Option<ClaimedJob>, sqlx::Error> {
    let lock = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE job SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, updated_at = $3 \
         WHERE id = (SELECT id FROM job WHERE {CLAIM_WHERE}{lock}) \
         RETURNING id, kind, payload, attempts, max_attempts"
    );
    db.optional::<ClaimedJob>(&sql, (worker, lease_until, now))
        .await
}

/// Marks a job done, if `worker` still holds it. Returns false when the lease was lost (the
/// job ran too long and someone else took it): the other run's outcome counts.
pub async fn complete(db: &Db, id: i64, worker: &str) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let done = db.execute(
        "UPDATE job SET status = 'done', locked_by = NULL, locked_until = NULL, last_error = NULL, updated_at = $3 \
         WHERE id = $1 AND locked_by = $2 AND status = 'running'",
        (id, worker, now),
    )
    .await?;
    Ok(done == 1)
}

/// Records a failure: back to `queued` at `retry_at`, or `dead` when out of attempts.
pub async fn fail(
    db: &Db,
    id: i64,
    worker: &str,
    error: &str,
    retry_at: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    // Error text is capped: it comes from handlers and may be long (never from user input).
    let error: String = error.chars().take(2000).collect();
    let (status, run_at) = match retry_at {
        Some(at) => ("queued", at),
        None => ("dead", now),
    };
    let updated = db.execute(
        "UPDATE job SET status = $3, run_at = $4, last_error = $5, locked_by = NULL, locked_until = NULL, updated_at = $6 \
         WHERE id = $1 AND locked_by = $2 AND status = 'running'",
        (id, worker, status, run_at, &error, now),
    )
    .await?;
    Ok(updated == 1)
}

pub async fn count_by_status(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    db.all::<(String, i64)>(
        "SELECT status, COUNT(*) FROM job GROUP BY status ORDER BY status",
        (),
    )
    .await
}

const SELECT_ROW: &str = "SELECT id, kind, payload, dedupe_key, status, attempts, max_attempts, run_at, last_error, updated_at FROM job";

pub async fn get(db: &Db, id: i64) -> Result<Option<JobRow>, sqlx::Error> {
    let sql = format!("{SELECT_ROW} WHERE id = $1");
    db.optional::<JobRow>(&sql, (id,)).await
}

pub async fn list_by_kind(db: &Db, kind: &str) -> Result<Vec<JobRow>, sqlx::Error> {
    let sql = format!("{SELECT_ROW} WHERE kind = $1 ORDER BY id");
    db.all::<JobRow>(&sql, (kind,)).await
}

/// Deletes finished jobs last touched before `before`. Dead jobs stay for an operator.
pub async fn delete_done_before(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    let result = db
        .execute(
            "DELETE FROM job WHERE status = 'done' AND updated_at < $1",
            (before,),
        )
        .await?;
    Ok(result)
}
