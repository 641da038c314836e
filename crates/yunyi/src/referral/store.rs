//! Referral SQL: the referral with the names its readers need, its items and history.

use super::model::{Direction, Referral, ReferralKind, Status};
use crate::db::query::Sql;
use crate::db::{Db, Tx};
use crate::teleconsult::model::{ItemKind, ItemRef};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub person_id: i64,
    pub patient_name: String,
    pub direction: Direction,
    pub kind: ReferralKind,
    pub from_hospital_id: i64,
    pub from_hospital: String,
    pub from_doctor_id: i64,
    pub from_doctor: String,
    pub to_hospital_id: i64,
    pub to_hospital: String,
    pub to_department_id: Option<i64>,
    pub to_department: Option<String>,
    pub consultation_id: Option<i64>,
    pub summary: String,
    pub request: String,
    pub status: Status,
    pub receiver: Option<String>,
    pub arranged: Option<String>,
    pub reason: Option<String>,
    /// The time reserved for the patient at the receiving hospital.
    pub appointment_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const ROW: &str = "r.id, r.person_id, p.name AS patient_name, r.direction, r.kind, \
     r.from_hospital_id, fh.name AS from_hospital, r.from_doctor_id, fd.display_name AS from_doctor, \
     r.to_hospital_id, th.name AS to_hospital, r.to_department_id, d.name AS to_department, \
     r.consultation_id, r.summary, r.request, r.status, rc.display_name AS receiver, r.arranged, \
     r.reason, r.appointment_id, r.created_at, r.updated_at";

const FROM: &str = "referral r JOIN person p ON p.id = r.person_id \
     JOIN hospital fh ON fh.id = r.from_hospital_id JOIN account fd ON fd.id = r.from_doctor_id \
     JOIN hospital th ON th.id = r.to_hospital_id \
     LEFT JOIN department d ON d.id = r.to_department_id \
     LEFT JOIN account rc ON rc.id = r.receiver_id";

pub async fn get(db: &Db, id: i64) -> Result<Option<Row>, sqlx::Error> {
    db.optional(&format!("SELECT {ROW} FROM {FROM} WHERE r.id = $1"), (id,))
        .await
}

pub async fn insert(
    tx: &mut Tx,
    (from_hospital, from_doctor): (i64, i64),
    r: &Referral,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO referral (person_id, direction, kind, from_hospital_id, from_doctor_id, \
         to_hospital_id, to_department_id, consultation_id, summary, request, status, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'sent', $11, $11) RETURNING id",
        (
            r.person_id,
            r.direction.as_str(),
            r.kind.as_str(),
            from_hospital,
            from_doctor,
            r.to_hospital_id,
            r.department_id,
            r.consultation_id,
            r.summary.as_str(),
            r.request.as_str(),
            now,
        ),
    )
    .await
}

pub async fn insert_items(tx: &mut Tx, id: i64, items: &[ItemRef]) -> Result<(), sqlx::Error> {
    for item in items {
        tx.execute(
            "INSERT INTO referral_item (referral_id, kind, item_id) VALUES ($1, $2, $3)",
            (id, item.kind.as_str(), item.id),
        )
        .await?;
    }
    Ok(())
}

pub async fn items(db: &Db, id: i64) -> Result<Vec<ItemRef>, sqlx::Error> {
    let rows: Vec<(ItemKind, i64)> = db
        .all(
            "SELECT kind, item_id FROM referral_item WHERE referral_id = $1 ORDER BY kind, item_id",
            (id,),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, id)| ItemRef { kind, id })
        .collect())
}

/// Moves the status and sets what the step says (who answered, what was arranged, why);
/// false when someone else moved it first.
pub async fn set_status(
    tx: &mut Tx,
    id: i64,
    (from, to): (Status, Status),
    receiver: Option<i64>,
    (arranged, reason): (Option<&str>, Option<&str>),
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE referral SET status = $1, receiver_id = COALESCE($2, receiver_id), \
         arranged = COALESCE($3, arranged), reason = COALESCE($4, reason), updated_at = $5 \
         WHERE id = $6 AND status = $7",
        (
            to.as_str(),
            receiver,
            arranged,
            reason,
            now,
            id,
            from.as_str(),
        ),
    )
    .await
    .map(|n| n == 1)
}

pub async fn insert_event(
    tx: &mut Tx,
    id: i64,
    to: Status,
    actor: i64,
    reason: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO referral_event (referral_id, to_status, actor_id, reason, at) \
         VALUES ($1, $2, $3, $4, $5)",
        (id, to.as_str(), actor, reason, now),
    )
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub to_status: Status,
    pub actor: String,
    pub reason: Option<String>,
    pub at: i64,
}

pub async fn events(db: &Db, id: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    db.all(
        "SELECT e.to_status, a.display_name AS actor, e.reason, e.at FROM referral_event e \
         JOIN account a ON a.id = e.actor_id WHERE e.referral_id = $1 ORDER BY e.id",
        (id,),
    )
    .await
}

/// Which referrals a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Written by this doctor.
    Doctor(i64),
    /// Coming to or leaving this hospital.
    Hospital(i64),
    /// Of these people.
    People(&'a [i64]),
}

pub async fn list(db: &Db, scope: Scope<'_>, limit: i64) -> Result<Vec<Row>, sqlx::Error> {
    let mut sql = Sql::new(format!("SELECT {ROW} FROM {FROM} WHERE "));
    match scope {
        Scope::Doctor(d) => {
            sql.push("r.from_doctor_id = ").bind(d);
        }
        Scope::Hospital(h) => {
            sql.push("(r.to_hospital_id = ")
                .bind(h)
                .push(" OR r.from_hospital_id = ")
                .bind(h)
                .push(")");
        }
        Scope::People(people) => {
            sql.push("r.person_id IN (");
            for (i, p) in people.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(*p);
            }
            if people.is_empty() {
                sql.push("NULL");
            }
            sql.push(")");
        }
    }
    sql.push(" ORDER BY r.id DESC LIMIT ").bind(limit);
    sql.fetch_all(db).await
}

/// Records the reserved time of an accepted referral that has none yet; whether it did.
pub async fn set_appointment(
    tx: &mut Tx,
    id: i64,
    appointment: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE referral SET appointment_id = $1, updated_at = $2 \
         WHERE id = $3 AND status = 'accepted' AND appointment_id IS NULL",
        (appointment, now, id),
    )
    .await
    .map(|n| n > 0)
}
