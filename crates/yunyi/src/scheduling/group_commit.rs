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

use rusqlite::ErrorCode;

use super::service::{NO_SHOW_WINDOW_MS, fairness_refusal};
use super::store::sqlite_batch;
use crate::audit;
use crate::audit::store::sqlite_batch::{audit_head, insert_event};
use crate::db::batch_writer::{Batch, BatchWriter};

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

impl Booking {
    /// The booking's audit event, as both backends write it (the writer or `book_slot` fills
    /// in the new appointment's id).
    pub fn audit_event(&self) -> audit::NewEvent<'static> {
        audit::NewEvent::new(self.actor.clone(), "appointment.create", "appointment")
            .patient(self.person)
            .reason(self.basis.clone())
    }
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
            let (active, no_shows) =
                sqlite_batch::standing(tx, b.person, b.now, b.now - NO_SHOW_WINDOW_MS)?;
            if fairness_refusal(active, no_shows).is_some() {
                outcomes.push(Outcome::Refused { active, no_shows });
                continue;
            }
            if !sqlite_batch::take_place(tx, b.slot, b.now)? {
                outcomes.push(Outcome::Taken);
                continue;
            }
            let inserted = sqlite_batch::insert_appointment(tx, b);
            let id = match inserted {
                Ok(id) => id,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == ErrorCode::ConstraintViolation
                        && e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
                {
                    sqlite_batch::give_back_place(tx, b.slot)?;
                    outcomes.push(Outcome::SameDay);
                    continue;
                }
                Err(e) => return Err(e),
            };
            sqlite_batch::insert_care_link(tx, b, id)?;
            let new = b.audit_event().object(id);
            let event = audit::Pending::of(&new, b.now).chained(head);
            insert_event(tx, &event)?;
            head = (event.id, event.hash);
            outcomes.push(Outcome::Booked(id));
        }
        Ok(outcomes)
    }
}
