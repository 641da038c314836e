//! Group commit for bookings on SQLite, on a connection of its own.
//!
//! SQLite has one writer. When a thousand patients press "book" in the same second, a
//! transaction per booking spends most of its time taking and handing over the file lock.
//! Instead, one writer thread takes the bookings queued so far (up to [`BATCH`]), runs them one
//! after another in one transaction, and commits them together; every request awaits its own
//! result, which it receives only after the commit.
//!
//! The thread owns a plain `rusqlite` connection to the same file. Through sqlx every SQLite
//! statement is handed to the connection's worker thread and back (measured: the hand-offs,
//! not SQLite, were most of the writer's time); here the batch's statements run back to back
//! on one thread, with cached prepared statements. The writer takes the same per-file write
//! turn as every other writer of the process (`db::write_turns`), so it never meets them in
//! SQLite's busy handler.
//!
//! The statements are the booking's usual ones: the person's standing for the fairness limits
//! (read here, in the write transaction, so that one person's bookings at once cannot both pass
//! the limit), the conditional update that takes a place
//! (the race is decided there), the appointment insert (whose unique index enforces one per
//! patient, doctor and day: on a violation the place is given back and the others in the batch
//! stand), the doctor's care link, and the audit event chained to the head (`audit::chained`;
//! the head is read once per batch, as the transaction holds the write lock). A database error
//! rolls the whole batch back and every booking in it gets that error. PostgreSQL takes
//! concurrent transactions itself and does not use this.

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, LazyLock};

use rusqlite::{Connection, ErrorCode, params};
use tokio::sync::oneshot;

use super::service::{NO_SHOW_WINDOW_MS, fairness_refusal};
use super::store;
use crate::audit::{self, Event};
use crate::db::Db;
use crate::error::{AppError, AppResult};

/// Most bookings committed together.
pub const BATCH: usize = 64;

/// One booking for the writer: the slot and the appointment to write, and its audit event
/// (whose object id, the new appointment's, the writer fills in).
#[derive(Debug)]
pub struct Booking {
    pub slot: i64,
    pub person: i64,
    pub booked_by: i64,
    pub doctor: i64,
    pub hospital: i64,
    pub day: String,
    pub now: i64,
    /// Who booked, and why they may (the access basis), for the audit event.
    pub actor: audit::AuditActor,
    pub basis: String,
}

/// What became of a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The new appointment's id.
    Booked(i64),
    /// The place was gone (taken, blocked, not released, or begun).
    Taken,
    /// The patient already has an appointment with this doctor that day.
    SameDay,
    /// The fairness limits refuse another booking for the person, whose standing this is.
    Refused { active: i64, no_shows: i64 },
}

struct Job {
    booking: Booking,
    reply: oneshot::Sender<AppResult<Outcome>>,
}

/// The queue to the writer thread; cheap to clone. The thread ends when the last handle is
/// dropped.
#[derive(Clone, Debug)]
pub struct GroupCommit {
    queue: mpsc::SyncSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl GroupCommit {
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
            .name("booking-writer".to_owned())
            .spawn(move || writer(connection, turn, jobs))?;
        Ok(Some(Self { queue }))
    }

    /// Queues one booking and waits for its committed result.
    pub async fn book(&self, booking: Booking) -> AppResult<Outcome> {
        let (reply, result) = oneshot::channel();
        let stopped = || AppError::Internal(anyhow::anyhow!("the booking writer has stopped"));
        match self.queue.try_send(Job { booking, reply }) {
            Ok(()) => {}
            // The queue is bounded: waiting for room blocks, so wait off the async threads.
            Err(mpsc::TrySendError::Full(job)) => {
                let queue = self.queue.clone();
                tokio::task::spawn_blocking(move || queue.send(job).map_err(|_| ()))
                    .await
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("queueing a booking: {e}")))?
                    .map_err(|_| stopped())?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(stopped()),
        }
        result.await.map_err(|_| {
            AppError::Internal(anyhow::anyhow!("the booking writer dropped a booking"))
        })?
    }
}

/// The writer's connection, set up as the pool's are.
fn open(path: &Path) -> anyhow::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )?;
    Ok(connection)
}

fn writer(
    mut connection: Connection,
    turn: Arc<tokio::sync::Mutex<()>>,
    jobs: mpsc::Receiver<Job>,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        tracing::debug!(bookings = batch.len(), "booking batch");
        let bookings: Vec<&Booking> = batch.iter().map(|j| &j.booking).collect();
        let result = {
            let _turn = turn.blocking_lock();
            run_batch(&mut connection, &bookings)
        };
        match result {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                let why = format!("a booking batch failed: {e}");
                for job in batch {
                    let _ = job
                        .reply
                        .send(Err(AppError::Internal(anyhow::anyhow!("{why}"))));
                }
            }
        }
    }
}

/// Runs the batch in one transaction; rolled back (by dropping it) on any database error.
fn run_batch(connection: &mut Connection, bookings: &[&Booking]) -> rusqlite::Result<Vec<Outcome>> {
    let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut head: (i64, String) = tx.query_row(
        "SELECT last_id, last_hash FROM audit_head WHERE singleton = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut outcomes = Vec::with_capacity(bookings.len());
    for b in bookings {
        // The fairness limits, on the standing as this transaction sees it (with the batch's
        // earlier bookings): one person's two bookings in one batch cannot both pass.
        let (active, no_shows) = tx
            .prepare_cached(&STANDING_SQL)?
            .query_row(params![b.person, b.now, b.now - NO_SHOW_WINDOW_MS], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })?;
        if fairness_refusal(active, no_shows).is_some() {
            outcomes.push(Outcome::Refused { active, no_shows });
            continue;
        }
        let taken = tx
            .prepare_cached(
                "UPDATE slot SET booked = booked + 1 \
                 WHERE id = ?1 AND booked + held < capacity AND status = 'open' AND released = 1 \
                 AND release_at <= ?2 AND start_at > ?2",
            )?
            .execute(params![b.slot, b.now])?;
        if taken == 0 {
            outcomes.push(Outcome::Taken);
            continue;
        }
        let inserted = tx
            .prepare_cached(
                "INSERT INTO appointment (slot_id, person_id, booked_by, doctor_id, day, status, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 'booked', ?6) RETURNING id",
            )?
            .query_row(
                params![b.slot, b.person, b.booked_by, b.doctor, b.day, b.now],
                |r| r.get::<_, i64>(0),
            );
        let id = match inserted {
            Ok(id) => id,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::ConstraintViolation
                    && e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                tx.prepare_cached(
                    "UPDATE slot SET booked = booked - 1 WHERE id = ?1 AND booked > 0",
                )?
                .execute(params![b.slot])?;
                outcomes.push(Outcome::SameDay);
                continue;
            }
            Err(e) => return Err(e),
        };
        tx.prepare_cached(
            "INSERT INTO care_link (account_id, person_id, hospital_id, kind, source_id, active, created_at) \
             VALUES (?1, ?2, ?3, 'appointment', ?4, 1, ?5)",
        )?
        .execute(params![b.doctor, b.person, b.hospital, id.to_string(), b.now])?;
        let new = audit::NewEvent::new(b.actor.clone(), "appointment.create", "appointment")
            .object(id)
            .patient(b.person)
            .reason(b.basis.clone());
        let event = audit::chained(&new, head.clone(), b.now);
        insert_event(&tx, &event)?;
        head = (event.id, event.hash);
        outcomes.push(Outcome::Booked(id));
    }
    tx.commit()?;
    Ok(outcomes)
}

fn insert_event(tx: &rusqlite::Transaction<'_>, e: &Event) -> rusqlite::Result<()> {
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

/// The standing statement, written for sqlx (`$1`), in SQLite's numbering (`?1`): rusqlite
/// would take `$1` for a name and number the parameters by first appearance.
static STANDING_SQL: LazyLock<String> = LazyLock::new(|| store::STANDING_SQL.replace('$', "?"));
