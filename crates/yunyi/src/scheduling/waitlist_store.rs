//! SQL of the waitlist (see `waitlist.rs`): each move a conditional update on the status it
//! starts from.

use crate::db::{Db, Tx};

crate::text_enum! {
    /// Where a waitlist entry stands.
    pub enum WaitStatus {
        Waiting = "waiting",
        /// A freed place is held for the entry until `hold_until`.
        Offered = "offered",
        Booked = "booked",
        Expired = "expired",
        Left = "left",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub person_id: i64,
    pub account_id: i64,
    pub doctor_id: i64,
    pub day: String,
    pub status: WaitStatus,
    pub slot_id: Option<i64>,
    pub hold_until: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, person_id, account_id, doctor_id, day, status, slot_id, hold_until, created_at";

pub async fn entry(db: &Db, id: i64) -> Result<Option<Entry>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM waitlist WHERE id = $1");
    db.optional::<Entry>(&sql, (id,)).await
}

/// The entries an account made (for itself and its family), newest day first.
pub async fn of_account(db: &Db, account: i64) -> Result<Vec<Entry>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM waitlist WHERE account_id = $1 ORDER BY day DESC, id DESC LIMIT 100"
    );
    db.all::<Entry>(&sql, (account,)).await
}

/// A new waiting entry; a second one for the same person, doctor and day is a unique violation.
pub async fn insert(
    tx: &mut Tx,
    person: i64,
    account: i64,
    doctor: i64,
    day: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO waitlist (person_id, account_id, doctor_id, day, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'waiting', $5, $5) RETURNING id",
        (person, account, doctor, day, now),
    )
    .await
}

/// Offered → booked while the hold lasts.
pub async fn mark_booked(tx: &mut Tx, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE waitlist SET status = 'booked', updated_at = $2 WHERE id = $1 AND status = 'offered' AND hold_until > $2",
        (id, now),
    )
    .await
    .map(|n| n == 1)
}

/// Leaves the waitlist from waiting or offered; false if the entry was in neither.
pub async fn mark_left(tx: &mut Tx, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE waitlist SET status = 'left', updated_at = $2 WHERE id = $1 AND status IN ('waiting', 'offered')",
        (id, now),
    )
    .await
    .map(|n| n == 1)
}

/// Takes back an offer whose place could not be held: the entry waits again, holding nothing.
pub async fn back_to_waiting(tx: &mut Tx, id: i64, now: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE waitlist SET status = 'waiting', slot_id = NULL, hold_until = NULL, updated_at = $2 \
         WHERE id = $1 AND status = 'offered'",
        (id, now),
    )
    .await
    .map(|_| ())
}

/// The first entry waiting for a doctor's day: (id, account).
pub async fn first_waiting(
    tx: &mut Tx,
    doctor: i64,
    day: &str,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    tx.optional::<(i64, i64)>(
        "SELECT id, account_id FROM waitlist WHERE doctor_id = $1 AND day = $2 AND status = 'waiting' \
         ORDER BY id LIMIT 1",
        (doctor, day),
    )
    .await
}

/// Waiting → offered with a held place until `hold_until`; false if another took it first.
pub async fn offer(
    tx: &mut Tx,
    id: i64,
    slot: i64,
    hold_until: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE waitlist SET status = 'offered', slot_id = $2, hold_until = $3, updated_at = $4 \
         WHERE id = $1 AND status = 'waiting'",
        (id, slot, hold_until, now),
    )
    .await
    .map(|n| n == 1)
}

/// Offers on a closed slot go back to waiting; the ids of those that did.
pub async fn withdraw_offers_on(tx: &mut Tx, slot: i64, now: i64) -> Result<Vec<i64>, sqlx::Error> {
    tx.scalars::<i64>(
        "UPDATE waitlist SET status = 'waiting', slot_id = NULL, hold_until = NULL, updated_at = $2 \
         WHERE slot_id = $1 AND status = 'offered' RETURNING id",
        (slot, now),
    )
    .await
}

/// An unanswered hold ends: offered → expired; the slot it held, if it was still offered.
pub async fn expire_hold(
    tx: &mut Tx,
    id: i64,
    now: i64,
) -> Result<Option<Option<i64>>, sqlx::Error> {
    tx.scalar_optional::<Option<i64>>(
        "UPDATE waitlist SET status = 'expired', updated_at = $2 \
         WHERE id = $1 AND status = 'offered' AND hold_until <= $2 RETURNING slot_id",
        (id, now),
    )
    .await
}
