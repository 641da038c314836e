//! Report SQL: lab, imaging and pathology reports, who was asked to interpret one, and the
//! interpretation.

use crate::db::{Db, Tx};

crate::text_enum! {
    #[derive(PartialOrd, Ord)]
    pub enum ReportKind {
        Lab = "lab",
        Imaging = "imaging",
        Pathology = "pathology",
    }
}

crate::text_enum! {
    /// Where a report came from.
    pub enum ReportSource {
        /// Recorded by a doctor of the hospital that did it.
        Hospital = "hospital",
        /// Uploaded by the patient side (a photo or PDF).
        Patient = "patient",
        /// Imported from the hospital's systems (a FHIR bundle or CSV).
        Import = "import",
    }
}

crate::text_enum! {
    pub enum ReportStatus {
        Recorded = "recorded",
        /// The patient side asked a doctor or team for an interpretation.
        Asked = "asked",
        Interpreted = "interpreted",
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    pub id: i64,
    pub person_id: i64,
    pub person: String,
    pub kind: ReportKind,
    pub title: String,
    pub performed_on: String,
    pub hospital_id: Option<i64>,
    pub hospital_name: String,
    pub source: ReportSource,
    pub recorded_by: i64,
    pub ordered_by: Option<i64>,
    pub ordered_by_name: Option<String>,
    pub results: Option<String>,
    pub conclusion: String,
    pub blob_key: Option<String>,
    pub content_type: Option<String>,
    pub status: ReportStatus,
    pub question: Option<String>,
    pub asked_doctor: Option<i64>,
    pub asked_doctor_name: Option<String>,
    pub asked_team: Option<i64>,
    pub asked_team_name: Option<String>,
    pub asked_team_hospital: Option<i64>,
    pub asked_at: Option<i64>,
    pub interpretation: Option<String>,
    pub interpreted_by: Option<i64>,
    pub interpreted_by_name: Option<String>,
    pub interpreted_at: Option<i64>,
    pub created_at: i64,
}

const REPORT: &str = "SELECT r.id, r.person_id, pe.name AS person, r.kind, r.title, r.performed_on, \
     r.hospital_id, r.hospital_name, r.source, r.recorded_by, r.ordered_by, o.display_name AS ordered_by_name, \
     r.results, r.conclusion, r.blob_key, r.content_type, r.status, r.question, \
     r.asked_doctor, d.display_name AS asked_doctor_name, r.asked_team, t.name AS asked_team_name, \
     t.hospital_id AS asked_team_hospital, r.asked_at, r.interpretation, r.interpreted_by, \
     i.display_name AS interpreted_by_name, r.interpreted_at, r.created_at \
     FROM care_report r JOIN person pe ON pe.id = r.person_id \
     LEFT JOIN account o ON o.id = r.ordered_by LEFT JOIN account d ON d.id = r.asked_doctor \
     LEFT JOIN care_team t ON t.id = r.asked_team LEFT JOIN account i ON i.id = r.interpreted_by";

pub struct NewReport<'a> {
    pub person: i64,
    pub kind: ReportKind,
    pub title: &'a str,
    pub performed_on: &'a str,
    pub hospital_id: Option<i64>,
    pub hospital_name: &'a str,
    pub source: ReportSource,
    pub by: i64,
    pub ordered_by: Option<i64>,
    pub results: Option<String>,
    pub conclusion: &'a str,
    pub file: Option<(String, &'a str)>,
}

pub async fn insert(tx: &mut Tx, r: &NewReport<'_>, now: i64) -> Result<i64, sqlx::Error> {
    let (key, content_type) = match &r.file {
        Some((k, c)) => (Some(k.as_str()), Some(*c)),
        None => (None, None),
    };
    tx.scalar(
        "INSERT INTO care_report (person_id, kind, title, performed_on, hospital_id, hospital_name, \
         source, recorded_by, ordered_by, results, conclusion, blob_key, content_type, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'recorded', $14) RETURNING id",
        (
            r.person,
            r.kind.as_str(),
            r.title,
            r.performed_on,
            r.hospital_id,
            r.hospital_name,
            r.source.as_str(),
            r.by,
            r.ordered_by,
            r.results.as_deref(),
            r.conclusion,
            key,
            content_type,
            now,
        ),
    )
    .await
}

pub async fn report(db: &Db, id: i64) -> Result<Option<ReportRow>, sqlx::Error> {
    db.optional(&format!("{REPORT} WHERE r.id = $1"), (id,))
        .await
}

/// A person's reports, newest first.
pub async fn of_person(db: &Db, person: i64) -> Result<Vec<ReportRow>, sqlx::Error> {
    db.all(
        &format!(
            "{REPORT} WHERE r.person_id = $1 ORDER BY r.performed_on DESC, r.id DESC LIMIT 500"
        ),
        (person,),
    )
    .await
}

/// The reports waiting for `account`'s interpretation (asked of them, or of a team they are a
/// doctor of), oldest question first; then those interpreted in the last `since`.
pub async fn asked_of(db: &Db, account: i64, since: i64) -> Result<Vec<ReportRow>, sqlx::Error> {
    db.all(
        &format!(
            "{REPORT} WHERE (r.asked_doctor = $1 OR r.asked_team IN \
             (SELECT team_id FROM care_team_member WHERE account_id = $1)) \
             AND (r.status = 'asked' OR r.interpreted_at >= $2) \
             ORDER BY r.status, r.asked_at, r.id LIMIT 500"
        ),
        (account, since),
    )
    .await
}

/// Who a patient may ask: doctors with an active care link to the person (their hospital), and
/// the teams of the person's running contract and plans.
pub async fn askable_doctors(db: &Db, person: i64) -> Result<Vec<(i64, String, i64)>, sqlx::Error> {
    db.all(
        "SELECT DISTINCT a.id, a.display_name, l.hospital_id FROM care_link l \
         JOIN account a ON a.id = l.account_id \
         WHERE l.person_id = $1 AND l.active = TRUE AND a.role = 'doctor' AND a.status = 'active' \
         AND a.hospital_id = l.hospital_id ORDER BY a.display_name, a.id",
        (person,),
    )
    .await
}

pub async fn askable_teams(db: &Db, person: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    db.all(
        "SELECT t.id, t.name FROM care_team t WHERE t.id IN ( \
         SELECT team_id FROM family_contract WHERE person_id = $1 AND status = 'active' \
         UNION SELECT team_id FROM care_plan WHERE person_id = $1 AND status = 'active') \
         ORDER BY t.name, t.id",
        (person,),
    )
    .await
}

/// Asks for an interpretation: once, before any is given (a second question waits for it).
pub async fn ask(
    tx: &mut Tx,
    id: i64,
    (doctor, team): (Option<i64>, Option<i64>),
    question: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE care_report SET status = 'asked', asked_doctor = $2, asked_team = $3, \
         question = $4, asked_at = $5 WHERE id = $1 AND status = 'recorded'",
        (id, doctor, team, question, now),
    )
    .await
    .map(|n| n > 0)
}

pub async fn interpret(
    tx: &mut Tx,
    id: i64,
    by: i64,
    text: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE care_report SET status = 'interpreted', interpretation = $3, interpreted_by = $2, \
         interpreted_at = $4 WHERE id = $1 AND status = 'asked'",
        (id, by, text, now),
    )
    .await
    .map(|n| n > 0)
}

/// The doctors of a team (those who interpret), for telling them of a question.
pub async fn team_doctors(tx: &mut Tx, team: i64) -> Result<Vec<i64>, sqlx::Error> {
    tx.scalars(
        "SELECT m.account_id FROM care_team_member m JOIN account a ON a.id = m.account_id \
         WHERE m.team_id = $1 AND a.role = 'doctor' AND a.status = 'active' ORDER BY 1",
        (team,),
    )
    .await
}
