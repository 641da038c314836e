//! SQL for the audit trail: insert and read only. There is deliberately no update or delete.

use crate::db::{Db, Sql, Tx};

use super::Event;

/// Locks the head row for the rest of the transaction and returns (last id, last hash).
/// SQLite transactions already hold the write lock (`BEGIN IMMEDIATE`).
pub async fn lock_head(tx: &mut Tx) -> Result<(i64, String), sqlx::Error> {
    let lock = match tx {
        Tx::Sqlite(_) => "",
        Tx::Postgres(_) => " FOR UPDATE",
    };
    let sql = format!("SELECT last_id, last_hash FROM audit_head WHERE singleton = 1{lock}");
    tx.one::<(i64, String)>(&sql, ()).await
}

pub async fn head(db: &Db) -> Result<(i64, String), sqlx::Error> {
    db.one::<(i64, String)>(
        "SELECT last_id, last_hash FROM audit_head WHERE singleton = 1",
        (),
    )
    .await
}

pub async fn insert(tx: &mut Tx, e: &Event) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO audit_event (id, at, actor_id, actor_role, action, object_type, object_id, patient_id, \
         outcome, reason, flagged, request_id, client_addr, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        (e.id, e.at, e.actor_id, &e.actor_role, &e.action, &e.object_type, &e.object_id, e.patient_id, &e.outcome, &e.reason, e.flagged, &e.request_id, &e.client_addr, &e.prev_hash, &e.hash),
    )
    .await
    .map(|_| ())
}

const COLUMNS: &str = "id, at, actor_id, actor_role, action, object_type, object_id, patient_id, outcome, reason, \
     flagged, request_id, client_addr, prev_hash, hash";

/// Events with id > `after`, in id order.
pub async fn get(db: &Db, id: i64) -> Result<Option<Event>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM audit_event WHERE id = $1");
    db.optional::<Event>(&sql, (id,)).await
}

pub async fn page(db: &Db, after: i64, limit: i64) -> Result<Vec<Event>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM audit_event WHERE id > $1 ORDER BY id LIMIT $2");
    db.all::<Event>(&sql, (after, limit)).await
}

/// Filters for the audit viewer and the FHIR `AuditEvent` search.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor_id: Option<i64>,
    pub patient_id: Option<i64>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub flagged_only: bool,
    /// Only events by staff of this hospital (a hospital admin's view).
    pub actor_hospital: Option<i64>,
    /// Newest first: events with id < `before`.
    pub before: Option<i64>,
    pub limit: i64,
}

/// Newest first. Only the filters given are written into the statement: the audit trail is
/// the largest table, and PostgreSQL's generic plan for `$n IS NULL OR …` cannot use its
/// indexes.
pub async fn search(db: &Db, f: &Filter) -> Result<Vec<Event>, sqlx::Error> {
    let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM audit_event WHERE id < "));
    sql.bind(f.before.unwrap_or(i64::MAX));
    sql.and_eq("actor_id", f.actor_id)
        .and_eq("patient_id", f.patient_id)
        .and_eq("action", f.action.as_deref())
        .and_eq("outcome", f.outcome.as_deref());
    if f.flagged_only {
        sql.push(" AND flagged = TRUE");
    }
    if let Some(hospital) = f.actor_hospital {
        sql.push(" AND actor_id IN (SELECT id FROM account WHERE hospital_id = ")
            .bind(hospital)
            .push(")");
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(f.limit);
    sql.fetch_all(db).await
}

/// On a batch writer's own SQLite connection (`db::batch_writer`), which sqlx does not see.
pub mod sqlite_batch {
    use rusqlite::params;

    use crate::audit::Event;

    /// The audit chain's head `(last id, last hash)`, read in the batch's transaction (which holds
    /// the write lock, so it stays the head until the batch appends).
    pub fn audit_head(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<(i64, String)> {
        tx.query_row(
            "SELECT last_id, last_hash FROM audit_head WHERE singleton = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Inserts an audit event made by `audit::chained` (a trigger advances the head).
    pub fn insert_event(tx: &rusqlite::Transaction<'_>, e: &Event) -> rusqlite::Result<()> {
        tx.prepare_cached(
            "INSERT INTO audit_event (id, at, actor_id, actor_role, action, object_type, object_id, patient_id, \
             outcome, reason, flagged, request_id, client_addr, prev_hash, hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?
        .execute(params![
            e.id,
            e.at,
            e.actor_id,
            e.actor_role,
            e.action,
            e.object_type,
            e.object_id,
            e.patient_id,
            e.outcome,
            e.reason,
            e.flagged,
            e.request_id,
            e.client_addr,
            e.prev_hash,
            e.hash
        ])?;
        Ok(())
    }
}
