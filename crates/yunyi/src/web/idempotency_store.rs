//! Idempotency keys' SQL (see `web::idempotency`).

use crate::db::Db;

/// A key as stored: `status` is `None` while its first request runs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub request_hash: String,
    pub status: Option<i64>,
    pub content_type: Option<String>,
    pub body: Option<String>,
}

/// Claims the key for a request; false when the account already used it. A claim of the
/// same request still in flight from before `abandoned_before` is taken over.
pub async fn claim(
    db: &Db,
    account: i64,
    key: &str,
    request_hash: &str,
    now: i64,
    abandoned_before: i64,
) -> Result<bool, sqlx::Error> {
    db.execute(
        "INSERT INTO idempotency_key (account_id, key, request_hash, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, key) DO UPDATE SET created_at = excluded.created_at \
         WHERE idempotency_key.status IS NULL AND idempotency_key.created_at < $5 \
         AND idempotency_key.request_hash = excluded.request_hash",
        (account, key, request_hash, now, abandoned_before),
    )
    .await
    .map(|n| n == 1)
}

pub async fn get(db: &Db, account: i64, key: &str) -> Result<Option<KeyRow>, sqlx::Error> {
    db.optional(
        "SELECT request_hash, status, content_type, body FROM idempotency_key \
         WHERE account_id = $1 AND key = $2",
        (account, key),
    )
    .await
}

/// Keeps the first answer.
pub async fn complete(
    db: &Db,
    account: i64,
    key: &str,
    status: i64,
    content_type: Option<&str>,
    body: &str,
) -> Result<(), sqlx::Error> {
    db.execute(
        "UPDATE idempotency_key SET status = $3, content_type = $4, body = $5 \
         WHERE account_id = $1 AND key = $2",
        (account, key, status, content_type, body),
    )
    .await
    .map(|_| ())
}

/// Gives the key back (the request failed, so a retry may run it).
pub async fn release(db: &Db, account: i64, key: &str) -> Result<(), sqlx::Error> {
    db.execute(
        "DELETE FROM idempotency_key WHERE account_id = $1 AND key = $2",
        (account, key),
    )
    .await
    .map(|_| ())
}

/// Forgets keys made before `before`.
pub async fn purge(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    db.execute(
        "DELETE FROM idempotency_key WHERE created_at < $1",
        (before,),
    )
    .await
}
