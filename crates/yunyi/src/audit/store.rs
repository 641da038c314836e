//! SQL for the audit trail: insert and read only. There is deliberately no update or delete.

use crate::db::{Db, Params, Sql, Tx};

use super::{Event, Pending};

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

const PENDING_COLUMNS: &str = "id, at, actor_id, actor_role, action, object_type, object_id, patient_id, \
     outcome, reason, flagged, request_id, client_addr";

/// Queues an unsealed event; returns its queue id.
pub async fn insert_pending(tx: &mut Tx, p: &Pending) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO audit_pending (at, actor_id, actor_role, action, object_type, object_id, patient_id, \
         outcome, reason, flagged, request_id, client_addr) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        (p.at, p.actor_id, &p.actor_role, &p.action, &p.object_type, &p.object_id, p.patient_id, &p.outcome, &p.reason, p.flagged, &p.request_id, &p.client_addr),
    )
    .await
}

pub async fn has_pending(db: &Db) -> Result<bool, sqlx::Error> {
    db.scalar::<bool>("SELECT EXISTS (SELECT 1 FROM audit_pending)", ())
        .await
}

/// (how many are waiting, when the oldest was written).
pub async fn pending_stats(db: &Db) -> Result<(i64, Option<i64>), sqlx::Error> {
    db.one::<(i64, Option<i64>)>("SELECT COUNT(*), MIN(at) FROM audit_pending", ())
        .await
}

/// The oldest committed pending events, in write order.
pub async fn pending_batch(tx: &mut Tx, limit: usize) -> Result<Vec<Pending>, sqlx::Error> {
    let sql = format!("SELECT {PENDING_COLUMNS} FROM audit_pending ORDER BY id LIMIT $1");
    tx.all::<Pending>(&sql, (i64::try_from(limit).unwrap_or(i64::MAX),))
        .await
}

/// Removes sealed events from the queue.
pub async fn delete_pending(tx: &mut Tx, ids: &[i64]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut params = Params::default();
    let list: Vec<String> = ids.iter().map(|id| params.push(*id)).collect();
    let sql = format!(
        "DELETE FROM audit_pending WHERE id IN ({})",
        list.join(", ")
    );
    tx.execute(&sql, params).await.map(|_| ())
}

/// Appends sealed events to the chain in one statement.
pub async fn insert_events(tx: &mut Tx, events: &[Event]) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let mut params = Params::default();
    let rows: Vec<String> = events
        .iter()
        .map(|e| {
            let values = [
                params.push(e.id),
                params.push(e.at),
                params.push(e.actor_id),
                params.push(e.actor_role.as_str()),
                params.push(e.action.as_str()),
                params.push(e.object_type.as_str()),
                params.push(e.object_id.clone()),
                params.push(e.patient_id),
                params.push(e.outcome.as_str()),
                params.push(e.reason.clone()),
                params.push(e.flagged),
                params.push(e.request_id.clone()),
                params.push(e.client_addr.clone()),
                params.push(e.prev_hash.as_str()),
                params.push(e.hash.as_str()),
            ];
            format!("({})", values.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO audit_event (id, at, actor_id, actor_role, action, object_type, object_id, patient_id, \
         outcome, reason, flagged, request_id, client_addr, prev_hash, hash) VALUES {}",
        rows.join(", ")
    );
    tx.execute(&sql, params).await.map(|_| ())
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

    /// The audit chain's head `(last id, last hash)`, read in the batch's transaction (which
    /// holds the write lock, so it stays the head until the batch appends).
    pub fn audit_head(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<(i64, String)> {
        tx.query_row(
            "SELECT last_id, last_hash FROM audit_head WHERE singleton = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Inserts a chained event (`audit::Pending::chained`); a trigger advances the head.
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
