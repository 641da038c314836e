//! Consultation SQL. Status changes are conditional updates on the status the caller saw, so
//! two doctors accepting at once (or a patient cancelling while a doctor accepts) cannot both
//! win; the loser's update touches no row.

use super::model::{Channel, Intake, Kind, Status};
use crate::db::{Db, Params, Tx};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ConsultationRow {
    pub id: i64,
    pub person_id: i64,
    pub requested_by: i64,
    pub hospital_id: i64,
    pub department_id: Option<i64>,
    pub service_id: i64,
    pub doctor_id: Option<i64>,
    pub appointment_id: Option<i64>,
    pub kind: Kind,
    pub channel: Channel,
    pub status: Status,
    pub condition_icd10: Option<String>,
    pub offline_diagnosis_id: Option<i64>,
    pub prior_record_id: Option<i64>,
    pub prior_confirmed_by: Option<i64>,
    pub prior_confirmed_at: Option<i64>,
    pub reply_within_min: i64,
    pub first_reply_at: Option<i64>,
    pub expires_at: i64,
    pub last_seq: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
    /// Free clinics: the campaign the consultation is held under.
    pub campaign_id: Option<i64>,
    /// The day it counts against its service's daily quota, if it does.
    pub quota_day: Option<String>,
    /// A follow-up asked for to renew this prescription (续方).
    pub renews_prescription_id: Option<i64>,
}

impl ConsultationRow {
    pub fn status(&self) -> Status {
        self.status
    }
}

const COLUMNS: &str = "id, person_id, requested_by, hospital_id, department_id, service_id, doctor_id, \
     appointment_id, kind, channel, status, condition_icd10, offline_diagnosis_id, prior_record_id, \
     prior_confirmed_by, prior_confirmed_at, reply_within_min, first_reply_at, expires_at, last_seq, \
     created_at, updated_at, ended_at, end_reason, campaign_id, quota_day, renews_prescription_id";

/// A request to store.
#[derive(Debug, Clone)]
pub struct NewConsultation<'a> {
    pub person: i64,
    pub requested_by: i64,
    pub hospital: i64,
    pub department: Option<i64>,
    pub service: i64,
    pub doctor: Option<i64>,
    pub appointment: Option<i64>,
    pub kind: &'a str,
    pub channel: &'a str,
    pub condition_icd10: Option<&'a str>,
    pub offline_diagnosis: Option<i64>,
    pub prior_record: Option<i64>,
    pub reply_within_min: i64,
    pub expires_at: i64,
    pub campaign: Option<i64>,
    pub quota_day: Option<&'a str>,
    pub renews_prescription: Option<i64>,
}

pub async fn insert(tx: &mut Tx, c: &NewConsultation<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO consultation (person_id, requested_by, hospital_id, department_id, service_id, \
         doctor_id, appointment_id, kind, channel, status, condition_icd10, offline_diagnosis_id, \
         prior_record_id, reply_within_min, expires_at, campaign_id, quota_day, renews_prescription_id, \
         last_seq, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'requested', $10, $11, $12, $13, $14, $15, $16, $18, 0, $17, $17) \
         RETURNING id",
        (c.person, c.requested_by, c.hospital, c.department, c.service, c.doctor, c.appointment, c.kind, c.channel, c.condition_icd10, c.offline_diagnosis, c.prior_record, c.reply_within_min, c.expires_at, c.campaign, c.quota_day, now, c.renews_prescription),
    )
    .await
}

pub async fn consultation(db: &Db, id: i64) -> Result<Option<ConsultationRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM consultation WHERE id = $1");
    db.optional::<ConsultationRow>(&sql, (id,)).await
}

/// One status change, in the history.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ConsultationEvent)]
pub struct EventRow {
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub at: i64,
    pub by_account: Option<i64>,
    pub reason: Option<String>,
}

pub async fn insert_event(
    tx: &mut Tx,
    consultation: i64,
    from: Option<Status>,
    to: Status,
    by: Option<i64>,
    reason: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO consultation_event (consultation_id, from_status, to_status, at, by_account, reason) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        (consultation, from.map(Status::as_str), to.as_str(), now, by, reason),
    )
    .await
    .map(|_| ())
}

pub async fn events(db: &Db, consultation: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    db.all::<EventRow>(
        "SELECT from_status, to_status, at, by_account, reason FROM consultation_event \
         WHERE consultation_id = $1 ORDER BY id",
        (consultation,),
    )
    .await
}

/// Moves `id` from `from` to `to` if it is still in `from`; false when someone else moved it
/// first. Ended states stamp `ended_at` and keep the reason.
pub async fn set_status(
    tx: &mut Tx,
    id: i64,
    from: Status,
    to: Status,
    reason: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let ended = to.is_ended().then_some(now);
    tx.execute(
        "UPDATE consultation SET status = $3, updated_at = $4, ended_at = $5, \
         end_reason = COALESCE($6, end_reason) WHERE id = $1 AND status = $2",
        (id, from.as_str(), to.as_str(), now, ended, reason),
    )
    .await
    .map(|n| n == 1)
}

/// Accepts a waiting request for `doctor`: only while it is requested, and only if it was
/// addressed to this doctor or to the department's queue.
pub async fn accept(tx: &mut Tx, id: i64, doctor: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE consultation SET status = 'accepted', doctor_id = $2, updated_at = $3 \
         WHERE id = $1 AND status = 'requested' AND (doctor_id IS NULL OR doctor_id = $2)",
        (id, doctor, now),
    )
    .await
    .map(|n| n == 1)
}

/// The doctor confirms that the attached record shows the offline diagnosis.
pub async fn confirm_prior(
    tx: &mut Tx,
    id: i64,
    doctor: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE consultation SET prior_confirmed_by = $2, prior_confirmed_at = $3, updated_at = $3 \
         WHERE id = $1 AND status = 'requested' AND prior_record_id IS NOT NULL",
        (id, doctor, now),
    )
    .await
    .map(|n| n == 1)
}

pub async fn insert_intake(
    tx: &mut Tx,
    consultation: i64,
    intake: &Intake,
    now: i64,
) -> Result<(), sqlx::Error> {
    let symptoms = serde_json::to_string(&intake.symptoms).unwrap_or_else(|_| "[]".to_owned());
    let allergies = serde_json::to_string(&intake.allergies).unwrap_or_else(|_| "[]".to_owned());
    let medications =
        serde_json::to_string(&intake.medications).unwrap_or_else(|_| "[]".to_owned());
    let counselling = intake
        .counselling
        .as_ref()
        .and_then(|c| serde_json::to_string(c).ok());
    tx.execute(
        "INSERT INTO consultation_intake (consultation_id, chief_complaint, symptoms, temperature_dc, \
         outbreak_area_travel, travel_region, travel_returned_on, confirmed_case_contact, cluster, \
         allergies, medications, counselling, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        (consultation, &intake.chief_complaint, symptoms, intake.temperature_dc, intake.outbreak_area_travel, intake.travel_region.as_deref(), intake.travel_returned_on.as_deref(), intake.confirmed_case_contact, intake.cluster, allergies, medications, counselling, now),
    )
    .await
    .map(|_| ())?;
    for record in &intake.prior_record_ids {
        tx.execute(
            "INSERT INTO consultation_record (consultation_id, prior_record_id) VALUES ($1, $2)",
            (consultation, record),
        )
        .await
        .map(|_| ())?;
    }
    Ok(())
}

/// The intake as stored; list fields are JSON text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IntakeRow {
    pub chief_complaint: String,
    pub symptoms: String,
    pub temperature_dc: Option<i64>,
    pub outbreak_area_travel: bool,
    pub travel_region: Option<String>,
    pub travel_returned_on: Option<String>,
    pub confirmed_case_contact: bool,
    pub cluster: bool,
    pub allergies: String,
    pub medications: String,
    pub counselling: Option<String>,
}

pub async fn intake(db: &Db, consultation: i64) -> Result<Option<IntakeRow>, sqlx::Error> {
    db.optional::<IntakeRow>(
        "SELECT chief_complaint, symptoms, temperature_dc, outbreak_area_travel, travel_region, \
         travel_returned_on, confirmed_case_contact, cluster, allergies, medications, counselling \
         FROM consultation_intake WHERE consultation_id = $1",
        (consultation,),
    )
    .await
}

pub async fn attached_records(db: &Db, consultation: i64) -> Result<Vec<i64>, sqlx::Error> {
    db.scalars::<i64>(
        "SELECT prior_record_id FROM consultation_record WHERE consultation_id = $1 ORDER BY prior_record_id",
        (consultation,),
    )
    .await
}

/// A queue entry: the request with its complaint, for the doctor's list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueRow {
    pub id: i64,
    pub person_id: i64,
    pub doctor_id: Option<i64>,
    pub kind: String,
    pub channel: String,
    pub created_at: i64,
    pub reply_within_min: i64,
    pub chief_complaint: String,
    pub temperature_dc: Option<i64>,
    pub outbreak_area_travel: bool,
    pub confirmed_case_contact: bool,
    pub cluster: bool,
    pub counselling: Option<String>,
    pub birth_date: String,
    pub sex: String,
    /// An open suspected-case flag (see `surveillance`).
    pub suspected: bool,
}

/// Requests waiting for `doctor`: addressed to them by name (at any hospital they serve), in
/// the queue of one of `departments` at `hospital` (free clinics excepted), or free-clinic
/// requests of a campaign they volunteer in that runs on `today`; oldest first.
pub async fn queue(
    db: &Db,
    hospital: i64,
    doctor: i64,
    departments: &[i64],
    today: &str,
    limit: i64,
) -> Result<Vec<QueueRow>, sqlx::Error> {
    // The department list is a doctor's practice sites at one hospital: one or two ids.
    let mut params = Params::default();
    params.push(hospital);
    params.push(doctor);
    params.push(limit);
    params.push(today);
    let placeholders: Vec<String> = departments.iter().map(|d| params.push(*d)).collect();
    let in_departments = if placeholders.is_empty() {
        "FALSE".to_owned()
    } else {
        format!("c.department_id IN ({})", placeholders.join(", "))
    };
    let sql = format!(
        "SELECT c.id, c.person_id, c.doctor_id, c.kind, c.channel, c.created_at, c.reply_within_min, \
         i.chief_complaint, i.temperature_dc, i.outbreak_area_travel, i.confirmed_case_contact, i.cluster, \
         i.counselling, p.birth_date, p.sex, \
         EXISTS (SELECT 1 FROM epi_case e WHERE e.consultation_id = c.id \
         AND e.status NOT IN ('closed', 'dismissed')) AS suspected \
         FROM consultation c JOIN consultation_intake i ON i.consultation_id = c.id \
         JOIN person p ON p.id = c.person_id \
         WHERE c.status = 'requested' \
         AND NOT EXISTS (SELECT 1 FROM payment_order o WHERE o.subject_type = 'consultation' \
         AND o.subject_id = c.id AND o.status = 'pending') \
         AND (c.doctor_id = $2 \
         OR (c.doctor_id IS NULL AND c.campaign_id IS NULL AND c.hospital_id = $1 AND {in_departments}) \
         OR (c.doctor_id IS NULL AND c.campaign_id IN ({VOLUNTEERING}))) \
         ORDER BY c.created_at, c.id LIMIT $3"
    );
    db.all(&sql, params).await
}

/// The campaigns doctor `$2` volunteers in that run on day `$4`.
const VOLUNTEERING: &str = "SELECT cd.campaign_id FROM campaign_doctor cd JOIN campaign k ON k.id = cd.campaign_id \
     WHERE cd.account_id = $2 AND k.starts_on <= $4 AND k.ends_on >= $4";

/// The consultation an appointment is held as, unless it was cancelled or expired.
pub async fn for_appointment(db: &Db, appointment: i64) -> Result<Option<i64>, sqlx::Error> {
    db.scalar_optional::<i64>(
        "SELECT id FROM consultation WHERE appointment_id = $1 \
         AND status NOT IN ('cancelled', 'expired')",
        (appointment,),
    )
    .await
}

/// Whether `doctor` volunteers in `campaign`.
pub async fn volunteers_in(db: &Db, doctor: i64, campaign: i64) -> Result<bool, sqlx::Error> {
    db.scalar::<i64>(
        "SELECT COUNT(*) FROM campaign_doctor WHERE campaign_id = $1 AND account_id = $2",
        (campaign, doctor),
    )
    .await
    .map(|n| n > 0)
}

/// The doctor a request to a department's service goes to when the service assigns by
/// itself: practising there (actively) with the privilege `privilege` at the hospital, and
/// with the fewest open consultations (ties: the lowest id, so the choice is repeatable).
pub async fn least_busy_doctor(
    tx: &mut Tx,
    hospital: i64,
    department: i64,
    privilege: &str,
) -> Result<Option<i64>, sqlx::Error> {
    tx.scalar_optional::<i64>(
        "SELECT s.account_id FROM practice_site s \
         JOIN privilege v ON v.account_id = s.account_id AND v.hospital_id = s.hospital_id \
         JOIN account a ON a.id = s.account_id \
         WHERE s.hospital_id = $1 AND s.department_id = $2 AND s.status = 'active' \
         AND v.kind = $3 AND v.status = 'active' AND a.status = 'active' \
         ORDER BY (SELECT COUNT(*) FROM consultation c WHERE c.doctor_id = s.account_id \
         AND c.status IN ('requested', 'accepted', 'in_progress')), s.account_id \
         LIMIT 1",
        (hospital, department, privilege),
    )
    .await
}

/// Counts one request against `service`'s quota of `quota` for `day`: false (and nothing
/// changed) when the day's quota is already taken. One conditional upsert, so two patients
/// taking the last one at once cannot both have it.
pub async fn take_quota(
    tx: &mut Tx,
    service: i64,
    day: &str,
    quota: i64,
) -> Result<bool, sqlx::Error> {
    tx.scalar_optional::<i64>(
        "INSERT INTO service_day (service_id, day, taken) VALUES ($1, $2, 1) \
         ON CONFLICT (service_id, day) DO UPDATE SET taken = service_day.taken + 1 \
         WHERE service_day.taken < $3 RETURNING taken",
        (service, day, quota),
    )
    .await
    .map(|taken| taken.is_some())
}

/// Gives back the place a request took on `day` (it was cancelled or expired unanswered).
pub async fn give_back_quota(tx: &mut Tx, service: i64, day: &str) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE service_day SET taken = taken - 1 WHERE service_id = $1 AND day = $2 AND taken > 0",
        (service, day),
    )
    .await
    .map(|_| ())
}

/// How many of `service`'s places are taken on `day`.
pub async fn quota_taken(db: &Db, service: i64, day: &str) -> Result<i64, sqlx::Error> {
    db.scalar::<i64>(
        "SELECT COALESCE(MAX(taken), 0) FROM service_day WHERE service_id = $1 AND day = $2",
        (service, day),
    )
    .await
}

/// A doctor's consultations that are accepted or in progress, oldest first.
pub async fn active_for_doctor(
    db: &Db,
    doctor: i64,
    limit: i64,
) -> Result<Vec<ConsultationRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM consultation WHERE doctor_id = $1 AND status IN ('accepted', 'in_progress') \
         ORDER BY created_at, id LIMIT $2"
    );
    db.all::<ConsultationRow>(&sql, (doctor, limit)).await
}

/// Consultations of the patient's own person or requested by the account (for family), newest
/// first.
pub async fn for_patient(
    db: &Db,
    account: i64,
    person: Option<i64>,
    limit: i64,
) -> Result<Vec<ConsultationRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM consultation WHERE requested_by = $1 OR person_id = $2 \
         ORDER BY created_at DESC, id DESC LIMIT $3"
    );
    db.all::<ConsultationRow>(&sql, (account, person, limit))
        .await
}

/// What a patient's list says of each consultation besides its row: for whom, with which
/// doctor, about what.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedSummary {
    pub id: i64,
    pub person_name: String,
    pub doctor_name: Option<String>,
    pub chief_complaint: Option<String>,
}

/// [`ListedSummary`] of the consultations [`for_patient`] lists, in the same order.
pub async fn summaries_for_patient(
    db: &Db,
    account: i64,
    person: Option<i64>,
    limit: i64,
) -> Result<Vec<ListedSummary>, sqlx::Error> {
    db.all(
        "SELECT c.id, p.name AS person_name, a.display_name AS doctor_name, i.chief_complaint \
         FROM consultation c JOIN person p ON p.id = c.person_id \
         LEFT JOIN account a ON a.id = c.doctor_id \
         LEFT JOIN consultation_intake i ON i.consultation_id = c.id \
         WHERE c.requested_by = $1 OR c.person_id = $2 \
         ORDER BY c.created_at DESC, c.id DESC LIMIT $3",
        (account, person, limit),
    )
    .await
}

/// [`ListedSummary`] of a doctor's open consultations (accepted or in progress).
pub async fn summaries_for_doctor(
    db: &Db,
    doctor: i64,
    limit: i64,
) -> Result<Vec<ListedSummary>, sqlx::Error> {
    db.all(
        "SELECT c.id, p.name AS person_name, NULL AS doctor_name, i.chief_complaint \
         FROM consultation c JOIN person p ON p.id = c.person_id \
         LEFT JOIN consultation_intake i ON i.consultation_id = c.id \
         WHERE c.doctor_id = $1 AND c.status IN ('accepted', 'in_progress') \
         ORDER BY c.created_at, c.id LIMIT $2",
        (doctor, limit),
    )
    .await
}

/// A person's consultations, newest first.
pub async fn of_person(
    db: &Db,
    person: i64,
    limit: i64,
) -> Result<Vec<ConsultationRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM consultation WHERE person_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    db.all::<ConsultationRow>(&sql, (person, limit)).await
}

/// Requests that were not accepted in time: `requested` with `expires_at` passed.
pub async fn due_to_expire(db: &Db, now: i64, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    db.scalars::<i64>(
        "SELECT id FROM consultation WHERE status = 'requested' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        (now, limit),
    )
    .await
}

/// The first offline diagnosis of `person` in the category of `icd10`.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct OfflineDiagnosis {
    pub id: i64,
    pub person_id: i64,
    pub hospital_id: i64,
    pub icd10: String,
    pub name: String,
    pub diagnosed_on: String,
}

pub async fn offline_diagnoses(db: &Db, person: i64) -> Result<Vec<OfflineDiagnosis>, sqlx::Error> {
    db.all::<OfflineDiagnosis>(
        "SELECT id, person_id, hospital_id, icd10, name, diagnosed_on FROM offline_diagnosis \
         WHERE person_id = $1 ORDER BY diagnosed_on, id",
        (person,),
    )
    .await
}

pub async fn offline_diagnosis(db: &Db, id: i64) -> Result<Option<OfflineDiagnosis>, sqlx::Error> {
    db.optional(
        "SELECT id, person_id, hospital_id, icd10, name, diagnosed_on FROM offline_diagnosis WHERE id = $1",
        (id,),
    )
    .await
}

pub async fn insert_offline_diagnosis(
    tx: &mut Tx,
    d: &OfflineDiagnosis,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO offline_diagnosis (person_id, hospital_id, icd10, name, diagnosed_on, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        (d.person_id, d.hospital_id, &d.icd10, &d.name, &d.diagnosed_on, now),
    )
    .await
}

/// An uploaded record of an earlier diagnosis.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct PriorRecord {
    pub id: i64,
    pub person_id: i64,
    pub uploaded_by: i64,
    pub kind: String,
    pub hospital_name: String,
    pub diagnosed_on: String,
    pub condition: String,
    pub icd10: Option<String>,
    #[serde(skip)]
    pub blob_key: String,
    pub content_type: String,
    pub created_at: i64,
}

pub async fn insert_prior_record(tx: &mut Tx, r: &PriorRecord) -> Result<i64, sqlx::Error> {
    tx.scalar::<i64>(
        "INSERT INTO prior_record (person_id, uploaded_by, kind, hospital_name, diagnosed_on, condition, \
         icd10, blob_key, content_type, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        (r.person_id, r.uploaded_by, &r.kind, &r.hospital_name, &r.diagnosed_on, &r.condition, r.icd10.as_deref(), &r.blob_key, &r.content_type, r.created_at),
    )
    .await
}

pub async fn prior_record(db: &Db, id: i64) -> Result<Option<PriorRecord>, sqlx::Error> {
    db.optional::<PriorRecord>(
        "SELECT id, person_id, uploaded_by, kind, hospital_name, diagnosed_on, condition, icd10, \
         blob_key, content_type, created_at FROM prior_record WHERE id = $1",
        (id,),
    )
    .await
}

/// Records the doctor's first reply (for the response-time target); later replies keep it.
pub async fn mark_first_reply(tx: &mut Tx, id: i64, now: i64) -> Result<(), sqlx::Error> {
    tx.execute(MARK_FIRST_REPLY_SQL, (id, now))
        .await
        .map(|_| ())
}

/// Marks the doctor's first reply (`$1` the consultation, `$2` the time). Shared with the
/// SQLite message writer.
pub const MARK_FIRST_REPLY_SQL: &str =
    "UPDATE consultation SET first_reply_at = $2 WHERE id = $1 AND first_reply_at IS NULL";

/// A message of the conversation.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    sqlx::FromRow,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
pub struct MessageRow {
    pub seq: i64,
    pub sender_id: Option<i64>,
    pub kind: String,
    pub body: String,
    #[serde(skip)]
    pub blob_key: Option<String>,
    pub content_type: Option<String>,
    pub created_at: i64,
}

const MESSAGE_COLUMNS: &str = "seq, sender_id, kind, body, blob_key, content_type, created_at";

/// A message to append.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub sender: Option<i64>,
    pub kind: &'a str,
    pub body: &'a str,
    pub blob_key: Option<&'a str>,
    pub content_type: Option<&'a str>,
}

/// Takes the conversation's next number (`$1` the consultation, `$2` the time), only while the
/// consultation is open: no row means it has ended. Taking the number is an update of the
/// consultation's row, which holds that row's lock until commit: two messages at once are
/// numbered in the order they commit, so a reader that has seen number n has seen every
/// number below it. Shared with the SQLite message writer.
pub const NEXT_SEQ_SQL: &str = "UPDATE consultation SET last_seq = last_seq + 1, updated_at = $2 \
     WHERE id = $1 AND status IN ('requested', 'accepted', 'in_progress') RETURNING last_seq";

/// Inserts message `$2` of consultation `$1`. Shared with the SQLite message writer.
pub const INSERT_MESSAGE_SQL: &str = "INSERT INTO consultation_message \
     (consultation_id, seq, sender_id, kind, body, blob_key, content_type, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Appends a message with the conversation's next number (see [`NEXT_SEQ_SQL`]); `None` when
/// the consultation has ended.
pub async fn append_message(
    tx: &mut Tx,
    consultation: i64,
    m: &NewMessage<'_>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let seq = tx
        .scalar_optional::<i64>(NEXT_SEQ_SQL, (consultation, now))
        .await?;
    let Some(seq) = seq else {
        return Ok(None);
    };
    tx.execute(
        INSERT_MESSAGE_SQL,
        (
            consultation,
            seq,
            m.sender,
            m.kind,
            m.body,
            m.blob_key,
            m.content_type,
            now,
        ),
    )
    .await
    .map(|_| ())?;
    Ok(Some(seq))
}

/// Messages numbered after `after`, in order, at most `limit`.
pub async fn messages_after(
    db: &Db,
    consultation: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM consultation_message \
         WHERE consultation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    );
    db.all::<MessageRow>(&sql, (consultation, after, limit))
        .await
}

pub async fn message(
    db: &Db,
    consultation: i64,
    seq: i64,
) -> Result<Option<MessageRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM consultation_message WHERE consultation_id = $1 AND seq = $2"
    );
    db.optional::<MessageRow>(&sql, (consultation, seq)).await
}

/// Moves the account's read mark forward (never back) to `seq`.
pub async fn mark_read(
    db: &Db,
    consultation: i64,
    account: i64,
    seq: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    db.execute(
        "INSERT INTO consultation_read (consultation_id, account_id, last_seq, at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (consultation_id, account_id) DO UPDATE SET last_seq = excluded.last_seq, at = excluded.at \
         WHERE consultation_read.last_seq < excluded.last_seq",
        (consultation, account, seq, now),
    )
    .await
    .map(|_| ())
}

/// Each participant's read mark.
pub async fn read_marks(db: &Db, consultation: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    db.all::<(i64, i64)>(
        "SELECT account_id, last_seq FROM consultation_read WHERE consultation_id = $1 ORDER BY account_id",
        (consultation,),
    )
    .await
}

/// The clinical note as stored; `diagnoses` is JSON text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NoteRow {
    pub author_id: i64,
    pub subjective: String,
    pub objective: String,
    pub assessment: String,
    pub diagnoses: String,
    pub plan: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub signed_at: Option<i64>,
}

/// Writes the note unless it is signed; false when it is.
pub async fn put_note(
    tx: &mut Tx,
    consultation: i64,
    author: i64,
    note: &super::model::Note,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let diagnoses = serde_json::to_string(&note.diagnoses).unwrap_or_else(|_| "[]".to_owned());
    tx.execute(
        "INSERT INTO clinical_note (consultation_id, author_id, subjective, objective, assessment, diagnoses, plan, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (consultation_id) DO UPDATE SET author_id = excluded.author_id, subjective = excluded.subjective, \
         objective = excluded.objective, assessment = excluded.assessment, diagnoses = excluded.diagnoses, \
         plan = excluded.plan, updated_at = excluded.updated_at WHERE clinical_note.signed_at IS NULL",
        (consultation, author, &note.subjective, &note.objective, &note.assessment, diagnoses, &note.plan, now),
    )
    .await
    .map(|n| n == 1)
}

pub async fn note(db: &Db, consultation: i64) -> Result<Option<NoteRow>, sqlx::Error> {
    db.optional::<NoteRow>(
        "SELECT author_id, subjective, objective, assessment, diagnoses, plan, created_at, updated_at, signed_at \
         FROM clinical_note WHERE consultation_id = $1",
        (consultation,),
    )
    .await
}

/// Freezes the note (if any) as the consultation ends.
pub async fn sign_note(tx: &mut Tx, consultation: i64, now: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE clinical_note SET signed_at = $2 WHERE consultation_id = $1 AND signed_at IS NULL",
        (consultation, now),
    )
    .await
    .map(|_| ())
}

pub async fn has_note(tx: &mut Tx, consultation: i64) -> Result<bool, sqlx::Error> {
    tx.scalar::<i64>(
        "SELECT COUNT(*) FROM clinical_note WHERE consultation_id = $1",
        (consultation,),
    )
    .await
    .map(|n| n > 0)
}

/// When the conversation's last call began, if its last call record is a start.
pub async fn last_call_start(
    db: &Db,
    consultation: i64,
    start_body: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let last = db.optional::<(String, i64)>(
        "SELECT body, created_at FROM consultation_message WHERE consultation_id = $1 AND kind = 'call' \
         ORDER BY seq DESC LIMIT 1",
        (consultation,),
    )
    .await?;
    Ok(last.and_then(|(body, at)| (body == start_body).then_some(at)))
}

/// The account that asked for the consultation a prescription was written in (the patient,
/// or the guardian who asked for a child): the one to tell about the prescription.
pub async fn requester_of_prescription(
    tx: &mut Tx,
    prescription: i64,
) -> Result<Option<i64>, sqlx::Error> {
    tx.scalar_optional(
        "SELECT c.requested_by FROM prescription p JOIN consultation c ON c.id = p.consultation_id \
         WHERE p.id = $1",
        (prescription,),
    )
    .await
}
