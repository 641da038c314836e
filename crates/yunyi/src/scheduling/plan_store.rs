//! SQL for the plan of a doctor's week: templates, release rules, closed days, and the
//! release of slots.

use super::model::{ReleaseRules, TemplateValid};
use super::store::{SCHEDULE_COLUMNS, ScheduleRow};
use crate::db::{Db, Tx};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: i64,
    pub schedule_id: i64,
    pub weekday: i64,
    pub start_time: String,
    pub end_time: String,
    pub slot_minutes: i64,
    pub capacity: i64,
    pub mode: super::model::Mode,
    pub location: Option<String>,
}

const TEMPLATE_COLUMNS: &str =
    "id, schedule_id, weekday, start_time, end_time, slot_minutes, capacity, mode, location";

/// The active templates of a schedule, read in the caller's transaction (generation must see
/// a template inserted a moment ago).
pub async fn templates(tx: &mut Tx, schedule: i64) -> Result<Vec<TemplateRow>, sqlx::Error> {
    let sql = active_templates_sql();
    tx.all::<TemplateRow>(&sql, (schedule,)).await
}

/// The same, outside a transaction (a read needs no write lock).
pub async fn templates_of(db: &Db, schedule: i64) -> Result<Vec<TemplateRow>, sqlx::Error> {
    let sql = active_templates_sql();
    db.all::<TemplateRow>(&sql, (schedule,)).await
}

fn active_templates_sql() -> String {
    format!(
        "SELECT {TEMPLATE_COLUMNS} FROM schedule_template WHERE schedule_id = $1 AND active = TRUE \
         ORDER BY weekday, start_time, id"
    )
}

pub async fn template(db: &Db, id: i64) -> Result<Option<TemplateRow>, sqlx::Error> {
    let sql =
        format!("SELECT {TEMPLATE_COLUMNS} FROM schedule_template WHERE id = $1 AND active = TRUE");
    db.optional::<TemplateRow>(&sql, (id,)).await
}

pub async fn insert_template(
    tx: &mut Tx,
    schedule: i64,
    t: &TemplateValid,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO schedule_template (schedule_id, weekday, start_time, end_time, slot_minutes, capacity, mode, \
         location, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $9) RETURNING id",
        (schedule, t.weekday, t.start.format("%H:%M").to_string(), t.end.format("%H:%M").to_string(), t.slot_minutes, t.capacity, t.mode.as_str(), t.location.as_deref(), now),
    )
    .await
}

/// Retires a template (kept for the slots that name it).
pub async fn retire_template(tx: &mut Tx, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE schedule_template SET active = FALSE, updated_at = $2 WHERE id = $1 AND active = TRUE",
        (id, now),
    )
    .await
    .map(|n| n == 1)
}

/// Deletes a template's future slots that nobody booked or holds; booked ones stay as they are.
pub async fn delete_unbooked_future_slots(
    tx: &mut Tx,
    template: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    tx.execute(
        "DELETE FROM slot WHERE template_id = $1 AND start_at > $2 AND booked = 0 AND held = 0 \
         AND NOT EXISTS (SELECT 1 FROM appointment a WHERE a.slot_id = slot.id) \
         AND NOT EXISTS (SELECT 1 FROM waitlist w WHERE w.slot_id = slot.id)",
        (template, now),
    )
    .await
}

pub async fn set_rules(tx: &mut Tx, schedule: i64, r: &ReleaseRules) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE schedule SET horizon_days = $2, release_days = $3, release_time = $4 WHERE id = $1",
        (
            schedule,
            r.horizon_days,
            r.release_days,
            r.release_time.format("%H:%M").to_string(),
        ),
    )
    .await
    .map(|_| ())
}

pub async fn set_generated_until(tx: &mut Tx, schedule: i64, day: &str) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE schedule SET generated_until = $2 WHERE id = $1",
        (schedule, day),
    )
    .await
    .map(|_| ())
}

/// Active schedules with templates whose slots do not yet reach `until` (a local day).
pub async fn schedules_behind(db: &Db, until: &str) -> Result<Vec<ScheduleRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedule WHERE active = TRUE \
         AND (generated_until IS NULL OR generated_until < $1) \
         AND EXISTS (SELECT 1 FROM schedule_template t WHERE t.schedule_id = schedule.id AND t.active = TRUE) \
         ORDER BY id"
    );
    db.all::<ScheduleRow>(&sql, (until,)).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClosedTime {
    pub schedule_id: Option<i64>,
    pub day: String,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// Closed times (leave of this schedule, holidays of its hospital) from `from` to `to` (days).
pub async fn closed_times(
    tx: &mut Tx,
    schedule: &ScheduleRow,
    from: &str,
    to: &str,
) -> Result<Vec<ClosedTime>, sqlx::Error> {
    tx.all::<ClosedTime>(
        "SELECT schedule_id, day, start_time, end_time FROM schedule_exception \
         WHERE hospital_id = $1 AND (schedule_id IS NULL OR schedule_id = $2) AND day >= $3 AND day <= $4",
        (schedule.hospital_id, schedule.id, from, to),
    )
    .await
}

pub struct NewClosure<'a> {
    pub hospital: i64,
    pub schedule: Option<i64>,
    pub day: &'a str,
    pub times: Option<(String, String)>,
    pub kind: &'a str,
    pub reason: &'a str,
    pub by: i64,
}

pub async fn insert_closure(tx: &mut Tx, c: &NewClosure<'_>, now: i64) -> Result<i64, sqlx::Error> {
    let (start, end) = c.times.clone().unzip();
    tx.scalar::<i64>(
        "INSERT INTO schedule_exception (hospital_id, schedule_id, day, start_time, end_time, kind, reason, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        (c.hospital, c.schedule, c.day, start.as_deref(), end.as_deref(), c.kind, c.reason, c.by, now),
    )
    .await
}

/// Blocks the open slots in [from, to) of one schedule, or of every schedule of a hospital;
/// returns their ids.
pub async fn block_slots(
    tx: &mut Tx,
    hospital: i64,
    schedule: Option<i64>,
    (from, to): (i64, i64),
) -> Result<Vec<i64>, sqlx::Error> {
    tx.scalars::<i64>(
        "UPDATE slot SET status = 'blocked' WHERE status = 'open' AND start_at >= $3 AND start_at < $4 \
         AND schedule_id IN (SELECT id FROM schedule WHERE hospital_id = $1 AND ($2 IS NULL OR id = $2)) \
         RETURNING id",
        (hospital, schedule, from, to),
    )
    .await
}

/// Marks released every slot whose release time has come; returns how many.
pub async fn release_due(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    db.execute(
        "UPDATE slot SET released = TRUE WHERE NOT released AND release_at <= $1",
        (now,),
    )
    .await
}
