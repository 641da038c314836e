//! Remote-consultation SQL: the consultation and its history, the shared items and what they
//! hold, the session's participants, the report and its addenda, the hospital pairs' terms.

use super::model::{Draft, ItemKind, ItemRef, Report, SessionPart, Status, TeleconsultUrgency};
use crate::db::query::Sql;
use crate::db::{Db, Tx};

/// A remote consultation with the names its readers need.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub person_id: i64,
    pub patient_name: String,
    pub inviting_hospital_id: i64,
    pub inviting_hospital: String,
    pub inviting_doctor_id: i64,
    pub inviting_doctor: String,
    pub invited_hospital_id: i64,
    pub invited_hospital: String,
    pub invited_department_id: Option<i64>,
    pub invited_department: Option<String>,
    pub specialist_id: Option<i64>,
    pub specialist: Option<String>,
    pub urgency: TeleconsultUrgency,
    pub question: String,
    pub summary: String,
    pub status: Status,
    pub consent_method: Option<String>,
    pub consent_signer: Option<String>,
    pub consent_witness: Option<String>,
    pub consent_blob_key: Option<String>,
    pub consent_content_type: Option<String>,
    pub consent_at: Option<i64>,
    pub window_minutes: Option<i64>,
    pub scheduled_at: Option<i64>,
    pub due_at: Option<i64>,
    pub report_due_at: Option<i64>,
    pub reason: Option<String>,
    pub decision: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub reported_at: Option<i64>,
    pub updated_at: i64,
}

const ROW: &str = "t.id, t.person_id, p.name AS patient_name, \
     t.inviting_hospital_id, ih.name AS inviting_hospital, t.inviting_doctor_id, \
     id_.display_name AS inviting_doctor, t.invited_hospital_id, vh.name AS invited_hospital, \
     t.invited_department_id, d.name AS invited_department, t.specialist_id, \
     s.display_name AS specialist, t.urgency, t.question, t.summary, t.status, \
     t.consent_method, t.consent_signer, t.consent_witness, t.consent_blob_key, \
     t.consent_content_type, t.consent_at, t.window_minutes, t.scheduled_at, t.due_at, \
     t.report_due_at, t.reason, t.decision, t.created_at, t.sent_at, t.reported_at, t.updated_at";

const FROM: &str = "teleconsult t JOIN person p ON p.id = t.person_id \
     JOIN hospital ih ON ih.id = t.inviting_hospital_id \
     JOIN account id_ ON id_.id = t.inviting_doctor_id \
     JOIN hospital vh ON vh.id = t.invited_hospital_id \
     LEFT JOIN department d ON d.id = t.invited_department_id \
     LEFT JOIN account s ON s.id = t.specialist_id";

pub async fn get(db: &Db, id: i64) -> Result<Option<Row>, sqlx::Error> {
    db.optional(&format!("SELECT {ROW} FROM {FROM} WHERE t.id = $1"), (id,))
        .await
}

pub async fn insert(
    tx: &mut Tx,
    inviting_hospital: i64,
    inviting_doctor: i64,
    d: &Draft,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO teleconsult (person_id, inviting_hospital_id, inviting_doctor_id, \
         invited_hospital_id, invited_department_id, specialist_id, urgency, question, summary, \
         status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', $10, $10) RETURNING id",
        (
            d.person_id,
            inviting_hospital,
            inviting_doctor,
            d.invited_hospital_id,
            d.department_id,
            d.specialist_id,
            d.urgency.as_str(),
            d.question.as_str(),
            d.summary.as_str(),
            now,
        ),
    )
    .await
}

pub async fn insert_items(tx: &mut Tx, id: i64, items: &[ItemRef]) -> Result<(), sqlx::Error> {
    if items.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("INSERT INTO teleconsult_item (teleconsult_id, kind, item_id) VALUES ");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .bind(id)
            .push(", ")
            .bind(item.kind.as_str())
            .push(", ")
            .bind(item.id)
            .push(")");
    }
    let (text, params) = sql.into_parts();
    tx.execute(&text, params).await.map(|_| ())
}

pub async fn items(db: &Db, id: i64) -> Result<Vec<ItemRef>, sqlx::Error> {
    let rows: Vec<(ItemKind, i64)> = db
        .all(
            "SELECT kind, item_id FROM teleconsult_item WHERE teleconsult_id = $1 \
             ORDER BY kind, item_id",
            (id,),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, id)| ItemRef { kind, id })
        .collect())
}

/// Moves the status from `from` to `to` with the step's due time; false when someone else
/// moved it first.
pub async fn set_status(
    tx: &mut Tx,
    id: i64,
    (from, to): (Status, Status),
    due_at: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult SET status = $1, due_at = $2, updated_at = $3 \
         WHERE id = $4 AND status = $5",
        (to.as_str(), due_at, now, id, from.as_str()),
    )
    .await
    .map(|n| n == 1)
}

/// What sending fixes: the window and the report's due time.
pub async fn set_sent(
    tx: &mut Tx,
    id: i64,
    window_minutes: i64,
    report_due_at: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult SET window_minutes = $1, report_due_at = $2, sent_at = $3 WHERE id = $4",
        (window_minutes, report_due_at, now, id),
    )
    .await
    .map(|_| ())
}

pub async fn set_specialist(tx: &mut Tx, id: i64, specialist: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult SET specialist_id = $1 WHERE id = $2",
        (specialist, id),
    )
    .await
    .map(|_| ())
}

pub async fn set_scheduled(tx: &mut Tx, id: i64, at: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult SET scheduled_at = $1 WHERE id = $2",
        (at, id),
    )
    .await
    .map(|_| ())
}

pub async fn set_reason(tx: &mut Tx, id: i64, reason: &str) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult SET reason = $1 WHERE id = $2",
        (reason, id),
    )
    .await
    .map(|_| ())
}

pub async fn set_decision(tx: &mut Tx, id: i64, decision: &str) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult SET decision = $1 WHERE id = $2",
        (decision, id),
    )
    .await
    .map(|_| ())
}

pub async fn set_reported(tx: &mut Tx, id: i64, now: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult SET reported_at = $1 WHERE id = $2",
        (now, id),
    )
    .await
    .map(|_| ())
}

/// The consent as recorded: signed in the app, or a paper form's scan.
pub struct Consent<'a> {
    pub method: &'a str,
    pub by: i64,
    pub signer: &'a str,
    pub witness: Option<&'a str>,
    pub blob: Option<(&'a str, &'a str)>,
}

/// Records the consent of a draft; false when it is no longer a draft.
pub async fn set_consent(
    tx: &mut Tx,
    id: i64,
    c: &Consent<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult SET consent_method = $1, consent_by = $2, consent_signer = $3, \
         consent_witness = $4, consent_blob_key = $5, consent_content_type = $6, consent_at = $7, \
         updated_at = $7 WHERE id = $8 AND status = 'draft'",
        (
            c.method,
            c.by,
            c.signer,
            c.witness,
            c.blob.map(|b| b.0),
            c.blob.map(|b| b.1),
            now,
            id,
        ),
    )
    .await
    .map(|n| n == 1)
}

pub async fn insert_event(
    tx: &mut Tx,
    id: i64,
    (from, to): (Option<Status>, Status),
    actor: i64,
    reason: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO teleconsult_event (teleconsult_id, from_status, to_status, actor_id, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        (id, from.map(Status::as_str), to.as_str(), actor, reason, now),
    )
    .await
    .map(|_| ())
}

/// One step of the history, with who took it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub to_status: Status,
    pub actor: String,
    pub reason: Option<String>,
    pub at: i64,
}

pub async fn events(db: &Db, id: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    db.all(
        "SELECT e.to_status, a.display_name AS actor, e.reason, e.at FROM teleconsult_event e \
         JOIN account a ON a.id = e.actor_id WHERE e.teleconsult_id = $1 ORDER BY e.id",
        (id,),
    )
    .await
}

/// TeleconsultList remote consultations a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Drafted by this doctor, or theirs as the specialist.
    Doctor(i64),
    /// Requests to this hospital nobody has taken yet, for its specialists and coordinators.
    Queue(i64),
    /// Both directions of a hospital, for its administrators.
    Hospital(i64),
    /// Of these people (a patient and the family they act for).
    People(&'a [i64]),
}

/// A list, newest first: `scope`, optionally only those past their step's due time at `now`.
pub async fn list(
    db: &Db,
    scope: Scope<'_>,
    overdue_at: Option<i64>,
    limit: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    let mut sql = Sql::new(format!("SELECT {ROW} FROM {FROM} WHERE "));
    match scope {
        Scope::Doctor(d) => {
            sql.push("(t.inviting_doctor_id = ")
                .bind(d)
                .push(" OR t.specialist_id = ")
                .bind(d)
                .push(" OR EXISTS (SELECT 1 FROM teleconsult_panelist p WHERE p.teleconsult_id = t.id AND p.account_id = ")
                .bind(d)
                .push("))");
        }
        Scope::Queue(h) => {
            sql.push("t.invited_hospital_id = ")
                .bind(h)
                .push(" AND t.status = 'requested'");
        }
        Scope::Hospital(h) => {
            sql.push("(t.inviting_hospital_id = ")
                .bind(h)
                .push(" OR t.invited_hospital_id = ")
                .bind(h)
                .push(")");
        }
        Scope::People(people) => {
            sql.push("t.person_id IN (");
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
    if let Some(now) = overdue_at {
        sql.push(" AND t.due_at < ")
            .bind(now)
            .push(" AND t.status NOT IN ('received', 'declined', 'cancelled', 'draft')");
    }
    sql.push(" ORDER BY t.id DESC LIMIT ").bind(limit);
    sql.fetch_all(db).await
}

/// The pair's windows in minutes (routine, urgent), when set.
pub async fn terms(
    db: &Db,
    inviting: i64,
    invited: i64,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    db.optional(
        "SELECT routine_minutes, urgent_minutes FROM teleconsult_terms \
         WHERE inviting_id = $1 AND invited_id = $2",
        (inviting, invited),
    )
    .await
}

pub async fn put_terms(
    tx: &mut Tx,
    (inviting, invited): (i64, i64),
    (routine, urgent): (i64, i64),
    by: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO teleconsult_terms (inviting_id, invited_id, routine_minutes, urgent_minutes, \
         updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (inviting_id, invited_id) DO UPDATE SET routine_minutes = $3, \
         urgent_minutes = $4, updated_by = $5, updated_at = $6",
        (inviting, invited, routine, urgent, by, now),
    )
    .await
    .map(|_| ())
}

/// One joining of the session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ParticipantRow {
    pub account_id: i64,
    pub name: String,
    pub part: SessionPart,
    pub joined_at: i64,
    pub left_at: Option<i64>,
}

/// Records a joining; its row's id.
pub async fn join(
    tx: &mut Tx,
    id: i64,
    account: i64,
    part: SessionPart,
    now: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO teleconsult_participant (teleconsult_id, account_id, part, joined_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
        (id, account, part.as_str(), now),
    )
    .await
}

/// How many others are in the session now (joined and not left).
pub async fn present_others(tx: &mut Tx, id: i64, account: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "SELECT COUNT(*) FROM teleconsult_participant \
         WHERE teleconsult_id = $1 AND account_id <> $2 AND left_at IS NULL",
        (id, account),
    )
    .await
}

/// Closes one joining if it is still open (a room connection ending); whether it was.
pub async fn leave_one(tx: &mut Tx, participation: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult_participant SET left_at = $1 WHERE id = $2 AND left_at IS NULL",
        (now, participation),
    )
    .await
    .map(|n| n > 0)
}

/// Closes the account's open joinings; the number closed.
pub async fn leave(tx: &mut Tx, id: i64, account: i64, now: i64) -> Result<u64, sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult_participant SET left_at = $1 \
         WHERE teleconsult_id = $2 AND account_id = $3 AND left_at IS NULL",
        (now, id, account),
    )
    .await
}

pub async fn participants(db: &Db, id: i64) -> Result<Vec<ParticipantRow>, sqlx::Error> {
    db.all(
        "SELECT p.account_id, a.display_name AS name, p.part, p.joined_at, p.left_at \
         FROM teleconsult_participant p JOIN account a ON a.id = p.account_id \
         WHERE p.teleconsult_id = $1 ORDER BY p.id",
        (id,),
    )
    .await
}

/// Whether `account` has joined the session (at any time).
pub async fn has_joined(tx: &mut Tx, id: i64, account: i64) -> Result<bool, sqlx::Error> {
    tx.scalar::<i64>(
        "SELECT COUNT(*) FROM teleconsult_participant WHERE teleconsult_id = $1 AND account_id = $2",
        (id, account),
    )
    .await
    .map(|n| n > 0)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    pub author_id: i64,
    pub author: String,
    pub findings: String,
    pub diagnosis_icd10: String,
    pub diagnosis_name: String,
    pub recommendations: String,
    pub updated_at: i64,
    pub signed_at: Option<i64>,
}

pub async fn report(db: &Db, id: i64) -> Result<Option<ReportRow>, sqlx::Error> {
    db.optional(
        "SELECT r.author_id, a.display_name AS author, r.findings, r.diagnosis_icd10, \
         r.diagnosis_name, r.recommendations, r.updated_at, r.signed_at \
         FROM teleconsult_report r JOIN account a ON a.id = r.author_id WHERE r.teleconsult_id = $1",
        (id,),
    )
    .await
}

/// Writes the report's draft; false when it is signed already (the row stays as signed).
pub async fn save_report(
    tx: &mut Tx,
    id: i64,
    author: i64,
    r: &Report,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "INSERT INTO teleconsult_report (teleconsult_id, author_id, findings, diagnosis_icd10, \
         diagnosis_name, recommendations, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (teleconsult_id) DO UPDATE SET author_id = $2, findings = $3, \
         diagnosis_icd10 = $4, diagnosis_name = $5, recommendations = $6, updated_at = $7 \
         WHERE teleconsult_report.signed_at IS NULL",
        (
            id,
            author,
            r.findings.as_str(),
            r.diagnosis_icd10.as_str(),
            r.diagnosis_name.as_str(),
            r.recommendations.as_str(),
            now,
        ),
    )
    .await
    .map(|n| n == 1)
}

/// Signs the report written by `author`; false when there is none unsigned by them.
pub async fn sign_report(tx: &mut Tx, id: i64, author: i64, now: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult_report SET signed_at = $1 \
         WHERE teleconsult_id = $2 AND author_id = $3 AND signed_at IS NULL",
        (now, id, author),
    )
    .await
    .map(|n| n == 1)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AddendumRow {
    pub author: String,
    pub body: String,
    pub created_at: i64,
}

pub async fn add_addendum(
    tx: &mut Tx,
    id: i64,
    author: i64,
    body: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO teleconsult_addendum (teleconsult_id, author_id, body, created_at) \
         VALUES ($1, $2, $3, $4)",
        (id, author, body, now),
    )
    .await
    .map(|_| ())
}

pub async fn addenda(db: &Db, id: i64) -> Result<Vec<AddendumRow>, sqlx::Error> {
    db.all(
        "SELECT a.display_name AS author, x.body, x.created_at FROM teleconsult_addendum x \
         JOIN account a ON a.id = x.author_id WHERE x.teleconsult_id = $1 ORDER BY x.id",
        (id,),
    )
    .await
}

/// A record item of a patient, as listed for choosing and as shown to the specialist.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub kind: ItemKind,
    pub id: i64,
    pub title: String,
    pub day: Option<String>,
    pub at: i64,
}

/// The items of `person` the inviting hospital `hospital` may share: its signed notes, its
/// prescriptions, its offline diagnoses, and the records the patient uploaded.
pub async fn shareable(db: &Db, person: i64, hospital: i64) -> Result<Vec<ItemRow>, sqlx::Error> {
    db.all(
        "SELECT 'note' AS kind, c.id, a.display_name AS title, NULL AS day, n.created_at AS at \
         FROM clinical_note n JOIN consultation c ON c.id = n.consultation_id \
         JOIN account a ON a.id = n.author_id \
         WHERE c.person_id = $1 AND c.hospital_id = $2 AND n.signed_at IS NOT NULL \
         UNION ALL SELECT 'prescription', r.id, r.diagnosis_name, NULL, r.signed_at \
         FROM prescription r WHERE r.person_id = $1 AND r.hospital_id = $2 \
         AND r.status <> 'superseded' \
         UNION ALL SELECT 'offline_diagnosis', o.id, o.name, o.diagnosed_on, o.created_at \
         FROM offline_diagnosis o WHERE o.person_id = $1 AND o.hospital_id = $2 \
         UNION ALL SELECT 'prior_record', x.id, x.condition, x.diagnosed_on, x.created_at \
         FROM prior_record x WHERE x.person_id = $1 \
         ORDER BY at DESC",
        (person, hospital),
    )
    .await
}

/// One line of an item's content: a stable label (`subjective`, `drug` …) and its text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Line {
    pub label: String,
    pub text: String,
}

/// A note's SOAP sections.
pub async fn note_lines(db: &Db, consultation: i64) -> Result<Vec<Line>, sqlx::Error> {
    let row: Option<(String, String, String, String, String)> = db
        .optional(
            "SELECT subjective, objective, assessment, diagnoses, plan FROM clinical_note \
             WHERE consultation_id = $1",
            (consultation,),
        )
        .await?;
    Ok(row
        .map(|(s, o, a, d, p)| {
            [
                ("subjective", s),
                ("objective", o),
                ("assessment", a),
                ("diagnoses", d),
                ("plan", p),
            ]
            .into_iter()
            .map(|(label, text)| Line {
                label: label.to_owned(),
                text,
            })
            .collect()
        })
        .unwrap_or_default())
}

/// A prescription's diagnosis and its drugs, one line each.
pub async fn prescription_lines(db: &Db, prescription: i64) -> Result<Vec<Line>, sqlx::Error> {
    db.all(
        "SELECT 'diagnosis' AS label, diagnosis_name || ' (' || diagnosis_icd10 || ')' AS text, 0 AS line \
         FROM prescription WHERE id = $1 \
         UNION ALL SELECT 'drug', drug_name || ' ' || strength || ' · ' || frequency || ' · ' || \
         route || ' · ' || CAST(days AS TEXT) || ' d', line FROM prescription_item \
         WHERE prescription_id = $1 ORDER BY line",
        (prescription,),
    )
    .await
}

/// The file of an uploaded record: its blob key and content type.
pub async fn prior_record_file(
    db: &Db,
    record: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    db.optional(
        "SELECT blob_key, content_type FROM prior_record WHERE id = $1",
        (record,),
    )
    .await
}

/// An uploaded record's description; an offline diagnosis' code and name.
pub async fn record_lines(db: &Db, kind: ItemKind, id: i64) -> Result<Vec<Line>, sqlx::Error> {
    let sql = match kind {
        ItemKind::PriorRecord => {
            "SELECT 'record_kind' AS label, kind AS text, 0 AS n FROM prior_record WHERE id = $1 \
             UNION ALL SELECT 'hospital', hospital_name, 1 FROM prior_record WHERE id = $1 \
             UNION ALL SELECT 'condition', condition || COALESCE(' (' || icd10 || ')', ''), 2 \
             FROM prior_record WHERE id = $1 ORDER BY n"
        }
        ItemKind::OfflineDiagnosis => {
            "SELECT 'diagnosis' AS label, name || ' (' || icd10 || ')' AS text FROM offline_diagnosis WHERE id = $1"
        }
        ItemKind::Note | ItemKind::Prescription => return Ok(Vec::new()),
    };
    db.all(sql, (id,)).await
}

/// The accounts that act for `person`: their own and the family members' who act for them.
pub async fn patient_side(tx: &mut Tx, person: i64) -> Result<Vec<i64>, sqlx::Error> {
    tx.scalars(
        "SELECT id FROM account WHERE person_id = $1 AND status = 'active' \
         UNION SELECT account_id FROM family_link WHERE person_id = $1 ORDER BY 1",
        (person,),
    )
    .await
}

/// A hospital's active administrators: the coordinators of its remote consultations.
pub async fn coordinators(tx: &mut Tx, hospital: i64) -> Result<Vec<i64>, sqlx::Error> {
    tx.scalars(
        "SELECT id FROM account WHERE hospital_id = $1 AND role = 'hospital_admin' \
         AND status = 'active' ORDER BY id",
        (hospital,),
    )
    .await
}

/// Whether the doctor practises at `hospital` (an active site) in `department` when given.
pub async fn practises_in(
    db: &Db,
    doctor: i64,
    hospital: i64,
    department: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM practice_site WHERE account_id = ");
    sql.bind(doctor)
        .push(" AND hospital_id = ")
        .bind(hospital)
        .push(" AND status = 'active'")
        .and_eq("department_id", department);
    sql.fetch_scalar::<i64>(db).await.map(|n| n > 0)
}

/// Everyone still in the session leaves (it was held).
pub async fn leave_all(tx: &mut Tx, id: i64, now: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult_participant SET left_at = $1 WHERE teleconsult_id = $2 AND left_at IS NULL",
        (now, id),
    )
    .await
    .map(|_| ())
}

/// The terms an invited hospital set: (inviting hospital, routine minutes, urgent minutes).
pub async fn terms_of(db: &Db, invited: i64) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    db.all(
        "SELECT inviting_id, routine_minutes, urgent_minutes FROM teleconsult_terms \
         WHERE invited_id = $1 ORDER BY inviting_id",
        (invited,),
    )
    .await
}

/// A department another active hospital offers, as a choice for the invited side:
/// (department id, department name, hospital id, hospital name).
pub async fn invitable_departments(
    db: &Db,
    own: i64,
) -> Result<Vec<(i64, String, i64, String)>, sqlx::Error> {
    db.all(
        "SELECT d.id, d.name, h.id, h.name FROM department d JOIN hospital h ON h.id = d.hospital_id \
         WHERE h.status = 'active' AND h.id <> $1 ORDER BY h.id, d.std_code",
        (own,),
    )
    .await
}

/// The doctors holding an active `teleconsult` privilege at a hospital: (id, name).
pub async fn specialists(db: &Db, hospital: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    db.all(
        "SELECT a.id, a.display_name FROM privilege p JOIN account a ON a.id = p.account_id \
         WHERE p.hospital_id = $1 AND p.kind = 'teleconsult' AND p.status = 'active' \
         AND a.status = 'active' ORDER BY a.id",
        (hospital,),
    )
    .await
}

// ---- The panel (co-specialists) ----

/// Whether `account` sits on the consultation's panel.
pub async fn is_panelist(db: &Db, id: i64, account: i64) -> Result<bool, sqlx::Error> {
    db.scalar::<i64>(
        "SELECT COUNT(*) FROM teleconsult_panelist WHERE teleconsult_id = $1 AND account_id = $2",
        (id, account),
    )
    .await
    .map(|n| n > 0)
}

/// The panel, in the order its members were invited: (account, name).
pub async fn panel(db: &Db, id: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    db.all(
        "SELECT a.id, a.display_name FROM teleconsult_panelist p JOIN account a ON a.id = p.account_id \
         WHERE p.teleconsult_id = $1 ORDER BY p.added_at, a.id",
        (id,),
    )
    .await
}

/// Adds `account` to the panel unless it is full (`max` members) or they are on it already;
/// returns whether they were added. One statement, so two invitations at once cannot pass the
/// limit together on SQLite; on PostgreSQL the caller holds the consultation's row lock.
pub async fn add_panelist(
    tx: &mut Tx,
    id: i64,
    (account, by): (i64, i64),
    max: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "INSERT INTO teleconsult_panelist (teleconsult_id, account_id, added_by, added_at) \
         SELECT $1, $2, $3, $4 WHERE (SELECT COUNT(*) FROM teleconsult_panelist WHERE teleconsult_id = $1) < $5 \
         AND NOT EXISTS (SELECT 1 FROM teleconsult_panelist WHERE teleconsult_id = $1 AND account_id = $2)",
        (id, account, by, now, max),
    )
    .await
    .map(|n| n > 0)
}

/// Takes `account` off the panel; returns whether they were on it.
pub async fn remove_panelist(tx: &mut Tx, id: i64, account: i64) -> Result<bool, sqlx::Error> {
    tx.execute(
        "DELETE FROM teleconsult_panelist WHERE teleconsult_id = $1 AND account_id = $2",
        (id, account),
    )
    .await
    .map(|n| n > 0)
}

/// Locks the consultation's row until the transaction ends (PostgreSQL; SQLite's writer lock
/// already serializes), so that panel changes of one consultation happen one at a time.
pub async fn lock(tx: &mut Tx, id: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE teleconsult SET updated_at = updated_at WHERE id = $1",
        (id,),
    )
    .await
    .map(|_| ())
}

/// [`is_panelist`] inside a transaction.
pub async fn is_panelist_in(tx: &mut Tx, id: i64, account: i64) -> Result<bool, sqlx::Error> {
    tx.scalar::<i64>(
        "SELECT COUNT(*) FROM teleconsult_panelist WHERE teleconsult_id = $1 AND account_id = $2",
        (id, account),
    )
    .await
    .map(|n| n > 0)
}

/// The consultations whose panel `account` sits on.
pub async fn panels_of(db: &Db, account: i64) -> Result<Vec<i64>, sqlx::Error> {
    db.scalars(
        "SELECT teleconsult_id FROM teleconsult_panelist WHERE account_id = $1 ORDER BY teleconsult_id",
        (account,),
    )
    .await
}
