//! SQL for schedules, slots and appointments.

use super::group_commit::{Booking, Outcome};
use super::model::{Appointment, Mode, Slot, SlotStatus};
use crate::db::{Db, Sql, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduleRow {
    pub id: i64,
    pub doctor_id: i64,
    pub hospital_id: i64,
    pub service_id: i64,
    pub active: bool,
    pub horizon_days: i64,
    pub release_days: i64,
    pub release_time: String,
    pub generated_until: Option<String>,
}

pub const SCHEDULE_COLUMNS: &str = "id, doctor_id, hospital_id, service_id, active, horizon_days, release_days, release_time, generated_until";

pub async fn insert_schedule(
    tx: &mut Tx,
    doctor: i64,
    hospital: i64,
    service: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO schedule (doctor_id, hospital_id, service_id, active, created_at) VALUES ($1, $2, $3, TRUE, $4) RETURNING id",
        (doctor, hospital, service, now),
    )
    .await
}

/// A schedule as the caller's transaction sees it (for one created in that transaction).
pub async fn schedule_in_tx(tx: &mut Tx, id: i64) -> Result<Option<ScheduleRow>, sqlx::Error> {
    let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedule WHERE id = $1");
    tx.optional::<ScheduleRow>(&sql, (id,)).await
}

pub async fn schedule(db: &Db, id: i64) -> Result<Option<ScheduleRow>, sqlx::Error> {
    db.optional::<ScheduleRow>(
        &format!("SELECT {SCHEDULE_COLUMNS} FROM schedule WHERE id = $1"),
        (id,),
    )
    .await
}

/// A slot to create.
#[derive(Debug, Clone)]
pub struct NewSlot<'a> {
    pub schedule: i64,
    pub template: Option<i64>,
    pub start: i64,
    pub end: i64,
    pub day: &'a str,
    pub capacity: i64,
    pub release_at: i64,
    pub mode: &'a str,
    pub location: Option<&'a str>,
}

/// Inserts a slot unless one already starts at that time; true when inserted. A slot whose
/// release time has passed is released at once; later ones wait for the release job.
pub async fn insert_slot(tx: &mut Tx, slot: &NewSlot<'_>, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "INSERT INTO slot (schedule_id, template_id, start_at, end_at, day, capacity, booked, held, release_at, \
         released, mode, location, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7, $8, $9, $10, 'open', $11) ON CONFLICT (schedule_id, start_at) DO NOTHING",
        (slot.schedule, slot.template, slot.start, slot.end, slot.day, slot.capacity, slot.release_at, slot.release_at <= now, slot.mode, slot.location, now),
    )
    .await
    .map(|n| n == 1)
}

const SLOT_COLUMNS: &str = "s.id, s.schedule_id, c.doctor_id, c.hospital_id, c.service_id, s.start_at, s.end_at, s.day, \
     s.capacity, s.booked, s.release_at, s.status, s.released, s.held, s.mode, s.location";

pub async fn slot(db: &Db, id: i64) -> Result<Option<Slot>, sqlx::Error> {
    let sql = format!(
        "SELECT {SLOT_COLUMNS} FROM slot s JOIN schedule c ON c.id = s.schedule_id WHERE s.id = $1"
    );
    db.optional::<Slot>(&sql, (id,)).await
}

/// A doctor's open slots (of one service, or all) starting in [from, to), with room left,
/// by start time.
pub async fn open_slots(
    db: &Db,
    (doctor, service): (i64, Option<i64>),
    from: i64,
    to: i64,
    limit: i64,
) -> Result<Vec<Slot>, sqlx::Error> {
    let mut sql = Sql::new(format!(
        "SELECT {SLOT_COLUMNS} FROM slot s JOIN schedule c ON c.id = s.schedule_id \
         WHERE c.active = TRUE AND s.status = 'open' AND s.booked + s.held < s.capacity \
         AND c.doctor_id = "
    ));
    sql.bind(doctor)
        .push(" AND s.start_at >= ")
        .bind(from)
        .push(" AND s.start_at < ")
        .bind(to)
        .and_eq("c.service_id", service)
        .push(" ORDER BY s.start_at, s.id LIMIT ")
        .bind(limit);
    let (sql, params) = sql.into_parts();
    match db {
        // sqlx hands SQLite rows over one by one from its worker thread (~8 µs a row); two
        // weeks of a doctor's slots are hundreds of rows, so they come back as one JSON value.
        Db::Sqlite(_) => {
            let packed = format!(
                "SELECT COALESCE(json_group_array(json_array(id, schedule_id, doctor_id, hospital_id, service_id, \
                 start_at, end_at, day, capacity, booked, release_at, status, released, held, mode, location)), '[]') \
                 FROM ({sql})"
            );
            let json: String = db.scalar(&packed, params).await?;
            unpack_slots(&json).map_err(|e| sqlx::Error::Decode(e.into()))
        }
        Db::Postgres(_) => db.all(&sql, params).await,
    }
}

/// Slots from SQLite's `json_group_array` of `json_array` rows in `SLOT_COLUMNS` order.
fn unpack_slots(json: &str) -> Result<Vec<Slot>, serde_json::Error> {
    type Packed = (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        String,
        i64,
        i64,
        i64,
        SlotStatus,
        i64,
        i64,
        Mode,
        Option<String>,
    );
    let rows: Vec<Packed> = serde_json::from_str(json)?;
    let mut slots: Vec<Slot> = rows
        .into_iter()
        .map(|r| Slot {
            id: r.0,
            schedule_id: r.1,
            doctor_id: r.2,
            hospital_id: r.3,
            service_id: r.4,
            start_at: r.5,
            end_at: r.6,
            day: r.7,
            capacity: r.8,
            booked: r.9,
            release_at: r.10,
            status: r.11,
            released: r.12 != 0,
            held: r.13,
            mode: r.14,
            location: r.15,
        })
        .collect();
    // The aggregate's order is the subquery's in practice; sorting makes it certain.
    slots.sort_by_key(|s| (s.start_at, s.id));
    Ok(slots)
}

/// Takes one place in a released, open slot with room. False when someone else was faster,
/// the slot is full or blocked, or not yet released: the one statement decides the race.
pub async fn take_place(tx: &mut Tx, slot: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE slot SET booked = booked + 1 \
         WHERE id = $1 AND booked + held < capacity AND status = 'open' AND released = TRUE \
         AND release_at <= $2 AND start_at > $2",
        (slot, now),
    )
    .await
    .map(|n| n == 1)
}

pub async fn give_back_place(tx: &mut Tx, slot: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE slot SET booked = booked - 1 WHERE id = $1 AND booked > 0",
        (slot,),
    )
    .await
    .map(|_| ())
}

pub struct NewAppointment<'a> {
    pub slot: i64,
    pub person: i64,
    pub booked_by: i64,
    pub doctor: i64,
    pub day: &'a str,
}

pub async fn insert_appointment(
    tx: &mut Tx,
    a: &NewAppointment<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO appointment (slot_id, person_id, booked_by, doctor_id, day, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'booked', $6) RETURNING id",
        (a.slot, a.person, a.booked_by, a.doctor, a.day, now),
    )
    .await
}

const APPOINTMENT_COLUMNS: &str = "a.id, a.slot_id, a.person_id, a.booked_by, a.doctor_id, a.day, a.status, a.created_at, \
     s.start_at, s.end_at, c.hospital_id, c.service_id, s.mode, a.cancelled_by, a.checked_in_at";
const APPOINTMENT_FROM: &str =
    "FROM appointment a JOIN slot s ON s.id = a.slot_id JOIN schedule c ON c.id = s.schedule_id";

pub async fn appointment(db: &Db, id: i64) -> Result<Option<Appointment>, sqlx::Error> {
    let sql = format!("SELECT {APPOINTMENT_COLUMNS} {APPOINTMENT_FROM} WHERE a.id = $1");
    db.optional::<Appointment>(&sql, (id,)).await
}

/// Appointments of the people an account acts for (itself and its family), newest slot first.
pub async fn appointments_for_account(
    db: &Db,
    account: i64,
    limit: i64,
) -> Result<Vec<Appointment>, sqlx::Error> {
    let sql = format!(
        "SELECT {APPOINTMENT_COLUMNS} {APPOINTMENT_FROM} WHERE a.person_id IN \
         (SELECT person_id FROM account WHERE id = $1 AND person_id IS NOT NULL \
         UNION SELECT person_id FROM family_link WHERE account_id = $1) \
         ORDER BY s.start_at DESC, a.id DESC LIMIT $2"
    );
    db.all::<Appointment>(&sql, (account, limit)).await
}

/// An appointment as "my appointments" lists it: with the doctor's name, the service's price,
/// the consultation it is held as (online) and the latest fee's status — one query for the
/// whole list, not four per appointment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedAppointment {
    #[sqlx(flatten)]
    pub appointment: Appointment,
    pub doctor_name: String,
    pub price_fen: i64,
    pub consultation_id: Option<i64>,
    pub fee_status: Option<String>,
}

/// [`appointments_for_account`] with what the list shows of each (see [`ListedAppointment`]).
pub async fn listed_for_account(
    db: &Db,
    account: i64,
    limit: i64,
) -> Result<Vec<ListedAppointment>, sqlx::Error> {
    let sql = format!(
        "SELECT {APPOINTMENT_COLUMNS}, COALESCE(da.display_name, '') AS doctor_name, \
         COALESCE(sv.price_fen, 0) AS price_fen, \
         (SELECT k.id FROM consultation k WHERE k.appointment_id = a.id \
          AND k.status NOT IN ('cancelled', 'expired')) AS consultation_id, \
         (SELECT o.status FROM payment_order o WHERE o.subject_type = 'appointment' \
          AND o.subject_id = a.id ORDER BY o.id DESC LIMIT 1) AS fee_status \
         {APPOINTMENT_FROM} LEFT JOIN account da ON da.id = a.doctor_id \
         LEFT JOIN service sv ON sv.id = c.service_id \
         WHERE a.person_id IN \
         (SELECT person_id FROM account WHERE id = $1 AND person_id IS NOT NULL \
         UNION SELECT person_id FROM family_link WHERE account_id = $1) \
         ORDER BY s.start_at DESC, a.id DESC LIMIT $2"
    );
    db.all::<ListedAppointment>(&sql, (account, limit)).await
}

/// A person's standing for the fairness rules, in one query: (active appointments — booked or
/// checked in and not yet over — and no-shows of slots starting at or after `since`). The
/// booking writer runs the same statement (`group_commit`).
pub const STANDING_SQL: &str = "SELECT COALESCE(SUM(CASE WHEN a.status IN ('booked', 'checked_in') AND s.end_at > $2 THEN 1 ELSE 0 END), 0), \
     COALESCE(SUM(CASE WHEN a.status = 'no_show' AND s.start_at >= $3 THEN 1 ELSE 0 END), 0) \
     FROM appointment a JOIN slot s ON s.id = a.slot_id \
     WHERE a.person_id = $1 AND a.status IN ('booked', 'checked_in', 'no_show')";

/// The standing read in the booking's own transaction, so that two bookings of one person at
/// once cannot both pass the limit: on PostgreSQL the person's row is locked first (SQLite's
/// write transaction already excludes every other writer).
pub async fn standing_in(
    tx: &mut Tx,
    person: i64,
    now: i64,
    since: i64,
) -> Result<(i64, i64), sqlx::Error> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT id FROM person WHERE id = $1 FOR UPDATE")
            .bind(person)
            .execute(&mut **t)
            .await?;
    }
    tx.one::<(i64, i64)>(STANDING_SQL, (person, now, since))
        .await
}

/// A change of an appointment's status.
#[derive(Debug, Clone, Copy)]
pub struct Transition<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub reason: Option<&'a str>,
    /// `patient` or `hospital`, for cancellations.
    pub by: Option<&'a str>,
}

/// Moves an appointment from one status to another; false if it was not in `from`.
pub async fn transition(
    tx: &mut Tx,
    id: i64,
    t: Transition<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE appointment SET status = $3, reason = COALESCE($4, reason), \
         cancelled_at = CASE WHEN $3 = 'cancelled' THEN $5 ELSE cancelled_at END, \
         checked_in_at = CASE WHEN $3 = 'checked_in' THEN $5 ELSE checked_in_at END, \
         cancelled_by = COALESCE($6, cancelled_by) \
         WHERE id = $1 AND status = $2",
        (id, t.from, t.to, t.reason, now, t.by),
    )
    .await
    .map(|n| n == 1)
}

/// Booked or checked-in appointments in a slot, read in the caller's transaction.
pub async fn active_in_slot(tx: &mut Tx, slot: i64) -> Result<Vec<Appointment>, sqlx::Error> {
    let sql = format!(
        "SELECT {APPOINTMENT_COLUMNS} {APPOINTMENT_FROM} WHERE a.slot_id = $1 AND a.status IN ('booked', 'checked_in') ORDER BY a.id"
    );
    tx.all::<Appointment>(&sql, (slot,)).await
}

/// Moves a booked appointment to another slot (reschedule); false if it is no longer booked.
pub async fn move_appointment(
    tx: &mut Tx,
    id: i64,
    slot: i64,
    day: &str,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE appointment SET slot_id = $2, day = $3 WHERE id = $1 AND status = 'booked'",
        (id, slot, day),
    )
    .await
    .map(|n| n == 1)
}

/// Holds a free place of an open, future slot for a waitlisted patient.
pub async fn hold_place(tx: &mut Tx, slot: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE slot SET held = held + 1 \
         WHERE id = $1 AND booked + held < capacity AND status = 'open' AND start_at > $2",
        (slot, now),
    )
    .await
    .map(|n| n == 1)
}

/// Turns a held place into a booked one.
pub async fn take_held_place(tx: &mut Tx, slot: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE slot SET held = held - 1, booked = booked + 1 \
         WHERE id = $1 AND held > 0 AND status = 'open' AND start_at > $2",
        (slot, now),
    )
    .await
    .map(|n| n == 1)
}

pub async fn release_hold(tx: &mut Tx, slot: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE slot SET held = held - 1 WHERE id = $1 AND held > 0",
        (slot,),
    )
    .await
    .map(|_| ())
}

/// A slot read in the caller's transaction.
pub async fn slot_in(tx: &mut Tx, id: i64) -> Result<Option<Slot>, sqlx::Error> {
    let sql = format!(
        "SELECT {SLOT_COLUMNS} FROM slot s JOIN schedule c ON c.id = s.schedule_id WHERE s.id = $1"
    );
    tx.optional::<Slot>(&sql, (id,)).await
}

/// A doctor's open slots starting in [from, to), full or not.
pub async fn open_or_full_slots(
    db: &Db,
    doctor: i64,
    from: i64,
    to: i64,
) -> Result<Vec<Slot>, sqlx::Error> {
    let sql = format!(
        "SELECT {SLOT_COLUMNS} FROM slot s JOIN schedule c ON c.id = s.schedule_id \
         WHERE c.doctor_id = $1 AND c.active = TRUE AND s.start_at >= $2 AND s.start_at < $3 \
         AND s.status = 'open' ORDER BY s.start_at, s.id LIMIT 500"
    );
    db.all::<Slot>(&sql, (doctor, from, to)).await
}

/// Slots for FHIR search: by schedule or doctor, starting in [from, to); `free_only` keeps the
/// ones a patient can book now.
#[derive(Debug, Clone, Default)]
pub struct SlotQuery {
    pub schedule: Option<i64>,
    pub doctor: Option<i64>,
    pub hospital: Option<i64>,
    /// The department of the slot's service.
    pub department: Option<i64>,
    pub from: i64,
    pub to: i64,
    pub free_only: bool,
    pub now: i64,
    pub limit: i64,
}

pub async fn search_slots(db: &Db, q: &SlotQuery) -> Result<Vec<Slot>, sqlx::Error> {
    // Only the filters given are written (PostgreSQL plans `$n IS NULL OR …` badly).
    let mut sql = Sql::new(format!(
        "SELECT {SLOT_COLUMNS} FROM slot s JOIN schedule c ON c.id = s.schedule_id WHERE s.start_at >= "
    ));
    sql.bind(q.from).push(" AND s.start_at < ").bind(q.to);
    sql.and_eq("s.schedule_id", q.schedule)
        .and_eq("c.doctor_id", q.doctor)
        .and_eq("c.hospital_id", q.hospital);
    if let Some(d) = q.department {
        sql.push(" AND c.service_id IN (SELECT id FROM service WHERE department_id = ")
            .bind(d)
            .push(")");
    }
    if q.free_only {
        let now = sql.param(q.now);
        sql.push(&format!(
            " AND s.status = 'open' AND s.released = TRUE AND s.release_at <= {now} \
             AND s.start_at > {now} AND s.booked + s.held < s.capacity"
        ));
    }
    sql.push(" ORDER BY s.start_at, s.id LIMIT ").bind(q.limit);
    sql.fetch_all(db).await
}

/// A person's appointments whose slot starts in [from, to), optionally in one status.
pub async fn appointments_of_person(
    db: &Db,
    person: i64,
    (from, to): (i64, i64),
    status: Option<&str>,
    limit: i64,
    newest_first: bool,
) -> Result<Vec<Appointment>, sqlx::Error> {
    let mut sql = Sql::new(format!(
        "SELECT {APPOINTMENT_COLUMNS} {APPOINTMENT_FROM} WHERE a.person_id = "
    ));
    sql.bind(person)
        .push(" AND s.start_at >= ")
        .bind(from)
        .push(" AND s.start_at < ")
        .bind(to)
        .and_eq("a.status", status)
        .push(if newest_first {
            " ORDER BY s.start_at DESC, a.id DESC LIMIT "
        } else {
            " ORDER BY s.start_at, a.id LIMIT "
        })
        .bind(limit);
    sql.fetch_all(db).await
}

/// Schedules, for FHIR: by doctor, or all.
pub async fn schedules(
    db: &Db,
    doctor: Option<i64>,
    limit: i64,
) -> Result<Vec<ScheduleRow>, sqlx::Error> {
    let mut sql = Sql::new(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedule WHERE TRUE"
    ));
    sql.and_eq("doctor_id", doctor)
        .push(" ORDER BY id LIMIT ")
        .bind(limit);
    sql.fetch_all(db).await
}

/// A doctor's appointments on one local day, by start time.
pub async fn doctor_day(db: &Db, doctor: i64, day: &str) -> Result<Vec<Appointment>, sqlx::Error> {
    let sql = format!(
        "SELECT {APPOINTMENT_COLUMNS} {APPOINTMENT_FROM} WHERE a.doctor_id = $1 AND a.day = $2 \
         AND a.status <> 'cancelled' ORDER BY s.start_at, a.id"
    );
    db.all::<Appointment>(&sql, (doctor, day)).await
}

/// A hospital's schedule with the names an administrator reads.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduleListing {
    pub id: i64,
    pub service_id: i64,
    pub doctor_name: String,
    pub service_name: String,
    pub generated_until: Option<String>,
    pub release_days: i64,
    pub release_time: String,
}

pub async fn schedules_of_hospital(
    db: &Db,
    hospital: i64,
) -> Result<Vec<ScheduleListing>, sqlx::Error> {
    db.all::<ScheduleListing>(
        "SELECT c.id, c.service_id, a.display_name AS doctor_name, sv.name AS service_name, c.generated_until, \
         c.release_days, c.release_time FROM schedule c JOIN service sv ON sv.id = c.service_id \
         JOIN account a ON a.id = c.doctor_id WHERE c.hospital_id = $1 ORDER BY c.id",
        (hospital,),
    )
    .await
}

/// Each doctor's earliest bookable time at each hospital (or only at `hospital`) in
/// (now, until), as `(doctor, hospital, start)`: for lists that show "next free" beside many
/// doctors at once (triage, the doctors' cards) in one query instead of one per doctor.
pub async fn next_free(
    db: &Db,
    hospital: Option<i64>,
    doctors: &[i64],
    now: i64,
    until: i64,
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    if doctors.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "SELECT c.doctor_id, c.hospital_id, MIN(s.start_at) FROM slot s JOIN schedule c ON c.id = s.schedule_id \
         WHERE c.active = TRUE AND s.status = 'open' AND s.released = TRUE AND s.booked + s.held < s.capacity \
         AND s.release_at <= ",
    );
    sql.bind(now)
        .push(" AND s.start_at > ")
        .bind(now)
        .push(" AND s.start_at < ")
        .bind(until)
        .and_eq("c.hospital_id", hospital)
        .push(" AND c.doctor_id IN (");
    for (i, doctor) in doctors.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*doctor);
    }
    sql.push(") GROUP BY c.doctor_id, c.hospital_id");
    let (sql, params) = sql.into_parts();
    db.all(&sql, params).await
}

/// A booking on PostgreSQL in one round trip: the `book_slot` function (migration 0025) runs
/// the booking's statements — person lock, standing, conditional take, appointment, care link,
/// the audit `event` — in one implicit transaction (measured in the release rush: nine round
/// trips a booking became one, docs/PERFORMANCE.md). SQLite books through its group-commit
/// writer instead (`group_commit`, [`sqlite_batch`]); both answer with the same outcome.
pub async fn book_slot(
    db: &Db,
    b: &Booking,
    limits: (i64, i64, i64),
    event: &crate::audit::Pending,
) -> Result<Outcome, sqlx::Error> {
    let (max_active, no_show_limit, no_show_window_ms) = limits;
    let (outcome, id, active, no_shows) = db
        .one::<(String, Option<i64>, i64, i64)>(
            "SELECT outcome, appointment_id, active, no_shows FROM book_slot(\
             $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
            (
                b.slot,
                b.person,
                b.booked_by,
                b.doctor,
                b.hospital,
                b.day.as_str(),
                b.now,
                b.now - no_show_window_ms,
                max_active,
                no_show_limit,
                event.at,
                event.actor_id,
                event.actor_role.as_str(),
                event.action.as_str(),
                event.object_type.as_str(),
                event.outcome.as_str(),
                event.reason.as_deref(),
                event.flagged,
                event.request_id.as_deref(),
                event.client_addr.as_deref(),
            ),
        )
        .await?;
    match (outcome.as_str(), id) {
        ("booked", Some(id)) => Ok(Outcome::Booked(id)),
        ("taken", _) => Ok(Outcome::Taken),
        ("same_day", _) => Ok(Outcome::SameDay),
        ("refused", _) => Ok(Outcome::Refused { active, no_shows }),
        (other, _) => Err(sqlx::Error::Protocol(format!(
            "book_slot answered {other:?} with appointment {id:?}"
        ))),
    }
}

/// The booking writer's statements on its own SQLite connection (`group_commit`), in
/// rusqlite's `?N` numbering: the same statements as the general path's above.
pub mod sqlite_batch {
    use std::sync::LazyLock;

    use rusqlite::params;

    use crate::db::batch_writer;
    use crate::scheduling::group_commit::Booking;

    /// The standing statement in SQLite's numbering.
    static STANDING: LazyLock<String> =
        LazyLock::new(|| batch_writer::sqlite_numbered(super::STANDING_SQL));

    /// (active appointments, recent no-shows) of a person.
    pub fn standing(
        tx: &rusqlite::Transaction<'_>,
        person: i64,
        now: i64,
        no_shows_since: i64,
    ) -> rusqlite::Result<(i64, i64)> {
        tx.prepare_cached(&STANDING)?
            .query_row(params![person, now, no_shows_since], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
    }

    /// Takes a place of a released, open, future slot; false when none is free.
    pub fn take_place(
        tx: &rusqlite::Transaction<'_>,
        slot: i64,
        now: i64,
    ) -> rusqlite::Result<bool> {
        tx.prepare_cached(
            "UPDATE slot SET booked = booked + 1 \
             WHERE id = ?1 AND booked + held < capacity AND status = 'open' AND released = 1 \
             AND release_at <= ?2 AND start_at > ?2",
        )?
        .execute(params![slot, now])
        .map(|n| n == 1)
    }

    /// The appointment row; a unique violation means the same doctor and day is booked.
    pub fn insert_appointment(
        tx: &rusqlite::Transaction<'_>,
        b: &Booking,
    ) -> rusqlite::Result<i64> {
        tx.prepare_cached(
            "INSERT INTO appointment (slot_id, person_id, booked_by, doctor_id, day, status, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'booked', ?6) RETURNING id",
        )?
        .query_row(
            params![b.slot, b.person, b.booked_by, b.doctor, b.day, b.now],
            |r| r.get::<_, i64>(0),
        )
    }

    pub fn give_back_place(tx: &rusqlite::Transaction<'_>, slot: i64) -> rusqlite::Result<()> {
        tx.prepare_cached("UPDATE slot SET booked = booked - 1 WHERE id = ?1 AND booked > 0")?
            .execute(params![slot])
            .map(|_| ())
    }

    /// The doctor's care link the appointment gives.
    pub fn insert_care_link(
        tx: &rusqlite::Transaction<'_>,
        b: &Booking,
        appointment: i64,
    ) -> rusqlite::Result<()> {
        tx.prepare_cached(
            "INSERT INTO care_link (account_id, person_id, hospital_id, kind, source_id, active, created_at) \
             VALUES (?1, ?2, ?3, 'appointment', ?4, 1, ?5)",
        )?
        .execute(params![b.doctor, b.person, b.hospital, appointment.to_string(), b.now])
        .map(|_| ())
    }
}

/// An appointment as its notices speak of it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Noticed {
    pub id: i64,
    pub booked_by: i64,
    pub start_at: i64,
    pub doctor_name: String,
}

const NOTICED: &str = "SELECT a.id, a.booked_by, s.start_at, COALESCE(da.display_name, '') AS doctor_name \
     FROM appointment a JOIN slot s ON s.id = a.slot_id LEFT JOIN account da ON da.id = a.doctor_id";

/// Appointments booked after appointment `after` (by id), still booked, oldest first.
pub async fn booked_after(db: &Db, after: i64, limit: i64) -> Result<Vec<Noticed>, sqlx::Error> {
    let sql = format!("{NOTICED} WHERE a.id > $1 AND a.status = 'booked' ORDER BY a.id LIMIT $2");
    db.all(&sql, (after, limit)).await
}

/// The highest appointment id, 0 with none.
pub async fn last_appointment_id(db: &Db) -> Result<i64, sqlx::Error> {
    db.scalar("SELECT COALESCE(MAX(id), 0) FROM appointment", ())
        .await
}

/// Booked appointments starting in `[from, to)`, whose days are `first_day..=last_day` (the
/// day index finds them), by start.
pub async fn booked_starting(
    db: &Db,
    (first_day, last_day): (&str, &str),
    (from, to): (i64, i64),
) -> Result<Vec<Noticed>, sqlx::Error> {
    let sql = format!(
        "{NOTICED} WHERE a.day BETWEEN $1 AND $2 AND a.status = 'booked' \
         AND s.start_at >= $3 AND s.start_at < $4 ORDER BY s.start_at, a.id"
    );
    db.all(&sql, (first_day, last_day, from, to)).await
}
