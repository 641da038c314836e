//! Prescription SQL. Status changes are conditional updates on the status the caller saw, so a
//! pharmacist approving while the doctor cancels cannot both win.

use super::checks::Finding;
use super::prescription::Status;
use crate::db::{Db, Tx};

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PrescriptionRow {
    pub id: i64,
    pub consultation_id: i64,
    pub person_id: i64,
    pub hospital_id: i64,
    pub doctor_id: i64,
    pub supersedes_id: Option<i64>,
    pub version: i64,
    pub diagnosis_icd10: String,
    pub diagnosis_name: String,
    pub duration: String,
    pub age_years: Option<i64>,
    pub pregnant: bool,
    pub guardian_present: bool,
    /// JSON array of the allergies the patient reported.
    pub allergies: String,
    pub status: Status,
    pub total_fen: i64,
    pub signed_at: i64,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<i64>,
    pub review_note: Option<String>,
    pub pay_by: Option<i64>,
    pub updated_at: i64,
}

impl PrescriptionRow {
    pub fn status(&self) -> Status {
        self.status
    }
}

const COLUMNS: &str = "id, consultation_id, person_id, hospital_id, doctor_id, supersedes_id, version, \
     diagnosis_icd10, diagnosis_name, duration, age_years, pregnant, guardian_present, allergies, status, \
     total_fen, signed_at, reviewed_by, reviewed_at, review_note, pay_by, updated_at";

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ItemRow {
    pub line: i64,
    pub drug_id: i64,
    pub drug_name: String,
    pub strength: String,
    pub dose: f64,
    pub dose_unit: String,
    pub frequency: String,
    pub route: String,
    pub days: i64,
    pub quantity: i64,
    pub unit: String,
    pub unit_price_fen: i64,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FindingRow {
    pub id: i64,
    pub stage: String,
    pub code: String,
    pub severity: String,
    pub line: Option<i64>,
    pub message: String,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = PrescriptionEvent)]
pub struct EventRow {
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub at: i64,
    pub by_account: Option<i64>,
    pub reason: Option<String>,
}

/// A signed prescription to store.
pub struct NewPrescription<'a> {
    pub consultation: i64,
    pub person: i64,
    pub hospital: i64,
    pub doctor: i64,
    pub supersedes: Option<i64>,
    pub version: i64,
    pub diagnosis_icd10: &'a str,
    pub diagnosis_name: &'a str,
    pub duration: &'a str,
    pub age_years: Option<i64>,
    pub pregnant: bool,
    pub guardian_present: bool,
    pub allergies: &'a str,
    pub total_fen: i64,
}

pub async fn insert(tx: &mut Tx, p: &NewPrescription<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO prescription (consultation_id, person_id, hospital_id, doctor_id, supersedes_id, version, \
         diagnosis_icd10, diagnosis_name, duration, age_years, pregnant, guardian_present, allergies, status, \
         total_fen, signed_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'submitted', $14, $15, $15) RETURNING id",
        (p.consultation, p.person, p.hospital, p.doctor, p.supersedes, p.version, p.diagnosis_icd10, p.diagnosis_name, p.duration, p.age_years, p.pregnant, p.guardian_present, p.allergies, p.total_fen, now),
    )
    .await
}

pub async fn insert_item(
    tx: &mut Tx,
    prescription: i64,
    item: &ItemRow,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO prescription_item (prescription_id, line, drug_id, drug_name, strength, dose, dose_unit, \
         frequency, route, days, quantity, unit, unit_price_fen, amount_fen) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        (prescription, item.line, item.drug_id, &item.drug_name, &item.strength, item.dose, &item.dose_unit, &item.frequency, &item.route, item.days, item.quantity, &item.unit, item.unit_price_fen, item.amount_fen),
    )
    .await
    .map(|_| ())
}

pub async fn insert_findings(
    tx: &mut Tx,
    prescription: i64,
    stage: &str,
    findings: &[Finding],
) -> Result<(), sqlx::Error> {
    for f in findings {
        let severity = match f.severity {
            super::checks::Severity::Info => "info",
            super::checks::Severity::Warning => "warning",
            super::checks::Severity::Blocking => "blocking",
        };
        tx.execute(
            "INSERT INTO prescription_finding (prescription_id, stage, code, severity, line, message) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            (prescription, stage, f.code, severity, f.item.map(|i| i as i64 + 1), &f.message),
        )
        .await
        .map(|_| ())?;
    }
    Ok(())
}

pub async fn insert_event(
    tx: &mut Tx,
    prescription: i64,
    from: Option<Status>,
    to: Status,
    by: Option<i64>,
    reason: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO prescription_event (prescription_id, from_status, to_status, at, by_account, reason) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        (prescription, from.map(Status::as_str), to.as_str(), now, by, reason),
    )
    .await
    .map(|_| ())
}

pub async fn prescription(db: &Db, id: i64) -> Result<Option<PrescriptionRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM prescription WHERE id = $1");
    db.optional::<PrescriptionRow>(&sql, (id,)).await
}

pub async fn items(db: &Db, id: i64) -> Result<Vec<ItemRow>, sqlx::Error> {
    db.all::<ItemRow>(
        "SELECT line, drug_id, drug_name, strength, dose, dose_unit, frequency, route, days, quantity, unit, \
         unit_price_fen, amount_fen FROM prescription_item WHERE prescription_id = $1 ORDER BY line",
        (id,),
    )
    .await
}

pub async fn findings(db: &Db, id: i64) -> Result<Vec<FindingRow>, sqlx::Error> {
    db.all::<FindingRow>(
        "SELECT id, stage, code, severity, line, message FROM prescription_finding \
         WHERE prescription_id = $1 ORDER BY id",
        (id,),
    )
    .await
}

/// The prescription a finding belongs to.
pub async fn finding_prescription(db: &Db, finding: i64) -> Result<Option<i64>, sqlx::Error> {
    db.scalar_optional::<i64>(
        "SELECT prescription_id FROM prescription_finding WHERE id = $1",
        (finding,),
    )
    .await
}

pub async fn events(db: &Db, id: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    db.all::<EventRow>(
        "SELECT from_status, to_status, at, by_account, reason FROM prescription_event \
         WHERE prescription_id = $1 ORDER BY id",
        (id,),
    )
    .await
}

/// Moves `id` from `from` to `to` if it is still `from`; false when someone got there first.
pub async fn set_status(
    tx: &mut Tx,
    id: i64,
    from: Status,
    to: Status,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE prescription SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2",
        (id, from.as_str(), to.as_str(), now),
    )
    .await
    .map(|n| n == 1)
}

/// The pharmacist's verdict on a submitted prescription (conditional on it still waiting).
pub async fn review(
    tx: &mut Tx,
    id: i64,
    to: Status,
    reviewer: i64,
    note: Option<&str>,
    pay_by: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE prescription SET status = $2, reviewed_by = $3, reviewed_at = $5, review_note = $4, \
         pay_by = $6, updated_at = $5 WHERE id = $1 AND status = 'submitted'",
        (id, to.as_str(), reviewer, note, now, pay_by),
    )
    .await
    .map(|n| n == 1)
}

/// A person's prescriptions, the most recently signed first.
pub async fn of_person(
    db: &Db,
    person: i64,
    limit: i64,
) -> Result<Vec<PrescriptionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM prescription WHERE person_id = $1 ORDER BY signed_at DESC, id DESC LIMIT $2"
    );
    db.all::<PrescriptionRow>(&sql, (person, limit)).await
}

/// Prescriptions written in a consultation, oldest first.
pub async fn of_consultation(
    db: &Db,
    consultation: i64,
) -> Result<Vec<PrescriptionRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM prescription WHERE consultation_id = $1 ORDER BY id");
    db.all::<PrescriptionRow>(&sql, (consultation,)).await
}

/// Prescriptions waiting for a pharmacist at `hospital`, oldest first.
pub async fn waiting_review(
    db: &Db,
    hospital: i64,
    limit: i64,
) -> Result<Vec<PrescriptionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM prescription WHERE hospital_id = $1 AND status = 'submitted' \
         ORDER BY signed_at, id LIMIT $2"
    );
    db.all::<PrescriptionRow>(&sql, (hospital, limit)).await
}

/// Drugs `person` is still taking on other prescriptions at `now` (signed, not ended, and
/// within their days), leaving out prescription `except`.
pub async fn current_drugs(
    db: &Db,
    person: i64,
    now: i64,
    except: Option<i64>,
) -> Result<Vec<i64>, sqlx::Error> {
    db.scalars::<i64>(
        "SELECT DISTINCT i.drug_id FROM prescription p JOIN prescription_item i ON i.prescription_id = p.id \
         WHERE p.person_id = $1 AND p.status IN ('submitted', 'approved', 'paid', 'dispensed') \
         AND p.signed_at + i.days * 86400000 > $2 AND ($3 IS NULL OR p.id <> $3)",
        (person, now, except),
    )
    .await
}

/// Approved prescriptions whose time to pay has passed.
pub async fn due_to_expire(db: &Db, now: i64, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    db.scalars::<i64>(
        "SELECT id FROM prescription WHERE status = 'approved' AND pay_by < $1 ORDER BY pay_by LIMIT $2",
        (now, limit),
    )
    .await
}
