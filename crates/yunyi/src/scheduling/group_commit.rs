//! Group commit for bookings on SQLite (see `db::batch_writer` for why and how).
//!
//! The statements are the booking's usual ones: the person's standing for the fairness limits
//! (read here, in the write transaction, so that one person's bookings at once cannot both pass
//! the limit), the conditional update that takes a place
//! (the race is decided there), the appointment insert (whose unique index enforces one per
//! patient, doctor and day: on a violation the place is given back and the others in the batch
//! stand), the doctor's care link, and the audit event chained to the head (`audit::chained`;
//! the head is read once per batch, as the transaction holds the write lock). PostgreSQL takes
//! concurrent transactions itself and does not use this.

use std::sync::LazyLock;

use rusqlite::{ErrorCode, params};

use super::service::{NO_SHOW_WINDOW_MS, fairness_refusal};
use super::store;
use crate::audit;
use crate::audit::store::sqlite_batch::{audit_head, insert_event};
use crate::db::batch_writer::{self, Batch, BatchWriter};

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

/// The booking writer (group commit); `None` on PostgreSQL.
pub type GroupCommit = BatchWriter<Bookings>;

/// Bookings as a [`Batch`].
pub struct Bookings;

impl Batch for Bookings {
    type Job = Booking;
    type Outcome = Outcome;
    const THREAD: &'static str = "booking-writer";

    fn run(
        tx: &rusqlite::Transaction<'_>,
        bookings: &[&Booking],
    ) -> rusqlite::Result<Vec<Outcome>> {
        let mut head = audit_head(tx)?;
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
            insert_event(tx, &event)?;
            head = (event.id, event.hash);
            outcomes.push(Outcome::Booked(id));
        }
        Ok(outcomes)
    }
}

/// The standing statement in SQLite's numbering.
static STANDING_SQL: LazyLock<String> =
    LazyLock::new(|| batch_writer::sqlite_numbered(store::STANDING_SQL));
