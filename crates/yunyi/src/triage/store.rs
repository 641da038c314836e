//! Triage records and the department lookup.

use crate::db::Db;
use crate::with_db;

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
    with_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO triage_record (token, created_at, day, hospital_id, age_band, sex, pregnant, urgency, \
         departments, red_flags, screening, follow_ups, knowledge_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )
    .bind(r.token)
    .bind(now)
    .bind(r.day)
    .bind(r.hospital_id)
    .bind(r.age_band)
    .bind(r.sex)
    .bind(r.pregnant)
    .bind(r.urgency)
    .bind(r.departments)
    .bind(r.red_flags)
    .bind(r.screening)
    .bind(r.follow_ups)
    .bind(r.knowledge_version)
    .execute(pool)
    .await
    .map(|_| ())
    })
}

/// Records the choice; false when no record has this token.
pub async fn set_choice(
    db: &Db,
    token: &str,
    (choice, department, doctor): (&str, Option<&str>, Option<i64>),
    now: i64,
) -> Result<bool, sqlx::Error> {
    with_db!(db, |pool| {
        sqlx::query(
        "UPDATE triage_record SET choice = $2, choice_department = $3, choice_doctor_id = $4, chosen_at = $5 \
         WHERE token = $1"
    )
    .bind(token)
    .bind(choice)
    .bind(department)
    .bind(doctor)
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected() == 1)
    })
}

/// The choice recorded for a token: (choice, department, doctor).
pub async fn choice(
    db: &Db,
    token: &str,
) -> Result<Option<(Option<String>, Option<String>, Option<i64>)>, sqlx::Error> {
    with_db!(db, |pool| sqlx::query_as(
        "SELECT choice, choice_department, choice_doctor_id FROM triage_record WHERE token = $1"
    )
    .bind(token)
    .fetch_optional(pool)
    .await)
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
    let first = if hospital.is_some() { 2 } else { 1 };
    let list: Vec<String> = (0..groups.len())
        .map(|i| format!("${}", i + first))
        .collect();
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
    with_db!(db, |pool| {
        let mut query = sqlx::query_as::<_, DepartmentRow>(&sql);
        if let Some(h) = hospital {
            query = query.bind(h);
        }
        for g in groups {
            query = query.bind(g.as_str());
        }
        query.fetch_all(pool).await
    })
}
