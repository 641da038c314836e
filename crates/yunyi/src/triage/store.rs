//! Triage records and the department lookup.

use crate::db::{Db, Params};

/// An anonymised triage record (see migration 0010).
pub struct NewRecord<'a> {
    pub token: &'a str,
    pub day: &'a str,
    pub hospital_id: Option<i64>,
    pub age_band: Option<&'a str>,
    pub sex: Option<&'a str>,
    pub pregnant: bool,
    pub urgency: &'a str,
    /// Suggested department codes, best first, comma-separated.
    pub departments: &'a str,
    pub red_flags: &'a str,
    pub screening: bool,
    pub follow_ups: i64,
    pub knowledge_version: &'a str,
}

pub async fn insert_record(db: &Db, r: &NewRecord<'_>, now: i64) -> Result<(), sqlx::Error> {
    db.execute(
        "INSERT INTO triage_record (token, created_at, day, hospital_id, age_band, sex, pregnant, urgency, \
         departments, red_flags, screening, follow_ups, knowledge_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        (r.token, now, r.day, r.hospital_id, r.age_band, r.sex, r.pregnant, r.urgency, r.departments, r.red_flags, r.screening, r.follow_ups, r.knowledge_version),
    )
    .await
    .map(|_| ())
}

/// Records the choice; false when no record has this token.
pub async fn set_choice(
    db: &Db,
    token: &str,
    (choice, department, doctor): (&str, Option<&str>, Option<i64>),
    now: i64,
) -> Result<bool, sqlx::Error> {
    db.execute(
        "UPDATE triage_record SET choice = $2, choice_department = $3, choice_doctor_id = $4, chosen_at = $5 \
         WHERE token = $1",
        (token, choice, department, doctor, now),
    )
    .await
    .map(|n| n == 1)
}

/// The choice recorded for a token: (choice, department, doctor).
pub async fn choice(
    db: &Db,
    token: &str,
) -> Result<Option<(Option<String>, Option<String>, Option<i64>)>, sqlx::Error> {
    db.optional(
        "SELECT choice, choice_department, choice_doctor_id FROM triage_record WHERE token = $1",
        (token,),
    )
    .await
}

/// A hospital department with its hospital, for matching standard codes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DepartmentRow {
    pub id: i64,
    pub hospital_id: i64,
    pub hospital_name: String,
    pub std_code: String,
    pub name: String,
}

/// Departments of active hospitals (or of one) whose standard code starts with one of the
/// two-digit `groups` (03 for 03.01 …), by hospital and code.
pub async fn departments_in_groups(
    db: &Db,
    groups: &[String],
    hospital: Option<i64>,
) -> Result<Vec<DepartmentRow>, sqlx::Error> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    // Only the filters given (see `directory::store::search_doctors`: PostgreSQL caches one
    // generic plan per statement text).
    let mut params = Params::default();
    if let Some(h) = hospital {
        params.push(h);
    }
    let list: Vec<String> = groups.iter().map(|g| params.push(g.as_str())).collect();
    let sql = format!(
        "SELECT d.id, d.hospital_id, h.name AS hospital_name, d.std_code, d.name \
         FROM department d JOIN hospital h ON h.id = d.hospital_id \
         WHERE h.status = 'active'{} AND substr(d.std_code, 1, 2) IN ({}) \
         ORDER BY h.id, d.std_code, d.id LIMIT 500",
        if hospital.is_some() {
            " AND h.id = $1"
        } else {
            ""
        },
        list.join(", ")
    );
    db.all(&sql, params).await
}
