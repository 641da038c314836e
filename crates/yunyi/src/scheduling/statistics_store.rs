//! SQL of visits and the supervision statistics (see `statistics.rs`). The counts are read
//! with the hospital filter written in or left out, not `$n IS NULL OR …`, so PostgreSQL plans
//! each statement for what it asks.

use crate::db::{Db, Params, Tx};

/// A slot of at most this length counts as a time-slot (分时段) appointment.
pub const TIME_SLOT_MAX_MS: i64 = 30 * 60_000;

pub struct NewVisit<'a> {
    pub hospital: i64,
    pub department: Option<i64>,
    pub doctor: Option<i64>,
    pub person: i64,
    pub day: &'a str,
    pub source: &'a str,
    pub appointment: Option<i64>,
    pub recorded_by: i64,
}

pub async fn record_visit(tx: &mut Tx, v: &NewVisit<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO visit (hospital_id, department_id, doctor_id, person_id, day, source, appointment_id, \
         recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        (v.hospital, v.department, v.doctor, v.person, v.day, v.source, v.appointment, v.recorded_by, now),
    )
    .await
}

/// The department an appointment counts under: its service's, else the doctor's at that
/// hospital.
const APPOINTMENT_DEPARTMENT: &str = "COALESCE(sv.department_id, (SELECT p.department_id FROM practice_site p \
     WHERE p.account_id = c.doctor_id AND p.hospital_id = c.hospital_id ORDER BY p.id LIMIT 1))";

/// The department the appointment in `slot` counts under.
pub async fn appointment_department(tx: &mut Tx, slot: i64) -> Result<Option<i64>, sqlx::Error> {
    let sql = format!(
        "SELECT {APPOINTMENT_DEPARTMENT} FROM slot s JOIN schedule c ON c.id = s.schedule_id \
         JOIN service sv ON sv.id = c.service_id WHERE s.id = $1"
    );
    Ok(tx
        .scalar_optional::<Option<i64>>(&sql, (slot,))
        .await?
        .flatten())
}

/// (day, hospital, department, all, of which the counted kind).
pub type Counted = (String, i64, Option<i64>, i64, i64);

/// Visits per day, hospital and department in `[from, to]`, and how many came from an
/// appointment.
pub async fn visit_counts(
    db: &Db,
    (from, to): (&str, &str),
    hospital: Option<i64>,
) -> Result<Vec<Counted>, sqlx::Error> {
    let only = if hospital.is_some() {
        "AND v.hospital_id = $3 "
    } else {
        ""
    };
    let sql = format!(
        "SELECT v.day, v.hospital_id, v.department_id, COUNT(*), \
         SUM(CASE WHEN v.source = 'appointment' THEN 1 ELSE 0 END) \
         FROM visit v WHERE v.day >= $1 AND v.day <= $2 {only}\
         GROUP BY v.day, v.hospital_id, v.department_id"
    );
    counts(db, &sql, (from, to), hospital).await
}

/// Appointments not cancelled per day, hospital and department in `[from, to]`, and how many
/// were for a time slot of at most 30 minutes.
pub async fn appointment_counts(
    db: &Db,
    (from, to): (&str, &str),
    hospital: Option<i64>,
) -> Result<Vec<Counted>, sqlx::Error> {
    let only = if hospital.is_some() {
        "AND c.hospital_id = $3 "
    } else {
        ""
    };
    let sql = format!(
        "SELECT a.day, c.hospital_id, {APPOINTMENT_DEPARTMENT}, COUNT(*), \
         SUM(CASE WHEN s.end_at - s.start_at <= {TIME_SLOT_MAX_MS} THEN 1 ELSE 0 END) \
         FROM appointment a JOIN slot s ON s.id = a.slot_id JOIN schedule c ON c.id = s.schedule_id \
         JOIN service sv ON sv.id = c.service_id \
         WHERE a.status <> 'cancelled' AND a.day >= $1 AND a.day <= $2 {only}\
         GROUP BY a.day, c.hospital_id, {APPOINTMENT_DEPARTMENT}"
    );
    counts(db, &sql, (from, to), hospital).await
}

/// Runs a count statement over `[from, to]`, with the hospital bound when the statement
/// names it.
async fn counts(
    db: &Db,
    sql: &str,
    (from, to): (&str, &str),
    hospital: Option<i64>,
) -> Result<Vec<Counted>, sqlx::Error> {
    let mut params = Params::default();
    params.push(from);
    params.push(to);
    if let Some(h) = hospital {
        params.push(h);
    }
    db.all(sql, params).await
}
