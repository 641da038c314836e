//! Surveillance SQL: rule-set versions, what consultations showed, suspected cases and their
//! steps, report cards, the daily counts and the alerts. A case moves by a conditional update
//! on the status it starts from, so two officers pressing the same button move it once.

use super::model::Status;
use crate::db::{Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RuleSetRow {
    pub id: i64,
    pub hospital_id: i64,
    pub version: i64,
    pub body: String,
    pub note: String,
    pub created_by: Option<i64>,
    pub created_at: i64,
}

const RULE_SET_COLUMNS: &str = "id, hospital_id, version, body, note, created_by, created_at";

pub async fn latest_rule_set(db: &Db, hospital: i64) -> Result<Option<RuleSetRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {RULE_SET_COLUMNS} FROM screening_rule_set WHERE hospital_id = $1 \
         ORDER BY version DESC LIMIT 1"
    );
    db.optional(&sql, (hospital,)).await
}

/// Newest first.
pub async fn rule_sets(db: &Db, hospital: i64, limit: i64) -> Result<Vec<RuleSetRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {RULE_SET_COLUMNS} FROM screening_rule_set WHERE hospital_id = $1 \
         ORDER BY version DESC LIMIT $2"
    );
    db.all(&sql, (hospital, limit)).await
}

/// Adds the next version; the unique (hospital, version) refuses a second writer of the same
/// number, which the caller reports as a conflict.
pub async fn insert_rule_set(
    tx: &mut Tx,
    hospital: i64,
    body: &str,
    note: &str,
    by: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let version: i64 = tx
        .scalar(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM screening_rule_set WHERE hospital_id = $1",
            (hospital,),
        )
        .await?;
    tx.execute(
        "INSERT INTO screening_rule_set (hospital_id, version, body, note, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        (hospital, version, body, note, by, now),
    )
    .await?;
    Ok(version)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignalRow {
    pub signal: String,
    pub source: String,
    pub quote: String,
}

pub async fn signals(tx: &mut Tx, consultation: i64) -> Result<Vec<SignalRow>, sqlx::Error> {
    tx.all(
        "SELECT signal, source, quote FROM screening_signal WHERE consultation_id = $1",
        (consultation,),
    )
    .await
}

/// Keeps the first evidence of a signal.
pub async fn insert_signal(
    tx: &mut Tx,
    consultation: i64,
    s: &SignalRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO screening_signal (consultation_id, signal, source, quote, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (consultation_id, signal) DO NOTHING",
        (consultation, &s.signal, &s.source, &s.quote, now),
    )
    .await
    .map(|_| ())
}

/// Records that a rule fired for a consultation; false if it had already.
pub async fn insert_hit(
    tx: &mut Tx,
    consultation: i64,
    rule: &str,
    syndrome: &str,
    version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "INSERT INTO screening_hit (consultation_id, rule_id, syndrome, rule_version, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (consultation_id, rule_id) DO NOTHING",
        (consultation, rule, syndrome, version, now),
    )
    .await
    .map(|n| n == 1)
}

/// One more in a day's count.
pub struct Count<'a> {
    pub day: &'a str,
    pub region: &'a str,
    pub syndrome: &'a str,
    pub source: &'a str,
    pub hospital: i64,
}

pub async fn add_count(tx: &mut Tx, c: &Count<'_>, n: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO signal_count (day, region, syndrome, source, hospital_id, n) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (syndrome, region, day, source, hospital_id) DO UPDATE SET n = signal_count.n + $6",
        (c.day, c.region, c.syndrome, c.source, c.hospital, n),
    )
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DayCount {
    pub syndrome: String,
    pub region: String,
    pub day: String,
    pub n: i64,
}

/// Every series' daily totals (all points and hospitals), `$1` to `$2`, by series and day.
const DAY_COUNTS: &str = "SELECT syndrome, region, day, CAST(SUM(n) AS BIGINT) AS n FROM signal_count \
     WHERE day >= $1 AND day <= $2 GROUP BY syndrome, region, day \
     ORDER BY syndrome, region, day";

/// The counts of `$1` to `$2` as stored (a row per point and hospital, in no order): the scan
/// sums them itself, which spares the database a sort of every row of the window.
const WINDOW_COUNTS: &str =
    "SELECT syndrome, region, day, n FROM signal_count WHERE day >= $1 AND day <= $2";

/// Every series' daily totals (all points, all hospitals) from `from` to `to` inclusive,
/// ordered by series and day.
pub async fn day_counts(db: &Db, from: &str, to: &str) -> Result<Vec<DayCount>, sqlx::Error> {
    db.all(DAY_COUNTS, (from, to)).await
}

/// What the scan reads: every count from `from` to `to` inclusive, a row per series, day,
/// point and hospital, in no order. On SQLite the rows are read on a connection of the
/// caller's own through rusqlite: the scan reads well over a million rows (3,000 regions × 20
/// syndromes × 28 days), and sqlx's hand-off per row cost more than SQLite did
/// (docs/PERFORMANCE.md). Same statement, SQLite's numbering.
pub async fn window_counts(db: &Db, from: &str, to: &str) -> Result<Vec<DayCount>, sqlx::Error> {
    match db {
        Db::Sqlite(pool) => {
            let path = pool.connect_options().get_filename().to_path_buf();
            let (from, to) = (from.to_owned(), to.to_owned());
            tokio::task::spawn_blocking(move || read_day_counts(&path, &from, &to))
                .await
                .map_err(|e| sqlx::Error::Protocol(format!("reading counts: {e}")))?
                .map_err(|e| sqlx::Error::Protocol(format!("reading counts: {e}")))
        }
        Db::Postgres(pool) => {
            sqlx::query_as(WINDOW_COUNTS)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await
        }
    }
}

fn read_day_counts(
    path: &std::path::Path,
    from: &str,
    to: &str,
) -> Result<Vec<DayCount>, rusqlite::Error> {
    let connection = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    let mut statement =
        connection.prepare(&crate::db::batch_writer::sqlite_numbered(WINDOW_COUNTS))?;
    let rows = statement.query_map(rusqlite::params![from, to], |r| {
        Ok(DayCount {
            syndrome: r.get(0)?,
            region: r.get(1)?,
            day: r.get(2)?,
            n: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// One series' daily totals, for a chart.
pub async fn series(
    db: &Db,
    syndrome: &str,
    region: &str,
    from: &str,
    to: &str,
) -> Result<Vec<DayCount>, sqlx::Error> {
    db.all(
        "SELECT syndrome, region, day, CAST(SUM(n) AS BIGINT) AS n FROM signal_count \
         WHERE syndrome = $1 AND region = $2 AND day >= $3 AND day <= $4 \
         GROUP BY syndrome, region, day ORDER BY day",
        (syndrome, region, from, to),
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    pub id: i64,
    pub hospital_id: i64,
    pub consultation_id: Option<i64>,
    pub person_id: i64,
    pub rule_id: String,
    pub rule_name: String,
    pub rule_version: i64,
    pub evidence: String,
    pub syndrome: String,
    pub flagged_by: Option<i64>,
    pub status: Status,
    pub transport: Option<String>,
    pub instructions: Option<String>,
    pub test_name: Option<String>,
    pub test_at: Option<i64>,
    pub result: Option<String>,
    pub disease: Option<String>,
    pub dismiss_reason: Option<String>,
    pub due_at: Option<i64>,
    pub reminded_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl CaseRow {
    pub fn status(&self) -> Status {
        self.status
    }
}

const CASE_COLUMNS: &str = "id, hospital_id, consultation_id, person_id, rule_id, rule_name, \
     rule_version, evidence, syndrome, flagged_by, status, transport, instructions, test_name, test_at, \
     result, disease, dismiss_reason, due_at, reminded_at, created_at, updated_at";

pub struct NewCase<'a> {
    pub hospital: i64,
    pub consultation: Option<i64>,
    pub person: i64,
    pub rule_id: &'a str,
    pub rule_name: &'a str,
    pub rule_version: i64,
    pub evidence: &'a str,
    pub syndrome: &'a str,
    pub flagged_by: Option<i64>,
    pub due_at: Option<i64>,
}

/// A new flagged case; `None` when the consultation already has an open one.
pub async fn insert_case(
    tx: &mut Tx,
    c: &NewCase<'_>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let inserted = tx
        .scalar_optional::<i64>(
            "INSERT INTO epi_case (hospital_id, consultation_id, person_id, rule_id, rule_name, \
             rule_version, evidence, syndrome, flagged_by, status, due_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'flagged', $10, $11, $11) \
             ON CONFLICT DO NOTHING RETURNING id",
            (
                c.hospital,
                c.consultation,
                c.person,
                c.rule_id,
                c.rule_name,
                c.rule_version,
                c.evidence,
                c.syndrome,
                c.flagged_by,
                c.due_at,
                now,
            ),
        )
        .await?;
    Ok(inserted)
}

pub async fn case(db: &Db, id: i64) -> Result<Option<CaseRow>, sqlx::Error> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM epi_case WHERE id = $1");
    db.optional(&sql, (id,)).await
}

/// The consultation's newest case (open or not).
pub async fn case_of_consultation(
    db: &Db,
    consultation: i64,
) -> Result<Option<CaseRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM epi_case WHERE consultation_id = $1 ORDER BY id DESC LIMIT 1"
    );
    db.optional(&sql, (consultation,)).await
}

/// A hospital's open cases (all hospitals' for `None`), newest first.
pub async fn open_cases(
    db: &Db,
    hospital: Option<i64>,
    limit: i64,
) -> Result<Vec<CaseRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM epi_case WHERE ($1 = 0 OR hospital_id = $1) \
         AND status NOT IN ('closed', 'dismissed') ORDER BY id DESC LIMIT $2"
    );
    db.all(&sql, (hospital.unwrap_or(0), limit)).await
}

/// Cases that ended at or after `since`, newest first.
pub async fn ended_cases(
    db: &Db,
    hospital: Option<i64>,
    since: i64,
    limit: i64,
) -> Result<Vec<CaseRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM epi_case WHERE ($1 = 0 OR hospital_id = $1) \
         AND status IN ('closed', 'dismissed') AND updated_at >= $2 ORDER BY id DESC LIMIT $3"
    );
    db.all(&sql, (hospital.unwrap_or(0), since, limit)).await
}

/// The fields a step sets (None: unchanged).
#[derive(Debug, Default)]
pub struct Changes<'a> {
    pub transport: Option<&'a str>,
    pub instructions: Option<&'a str>,
    pub test_name: Option<&'a str>,
    pub test_at: Option<i64>,
    pub result: Option<&'a str>,
    pub disease: Option<&'a str>,
    pub dismiss_reason: Option<&'a str>,
}

/// Moves a case from `from` to `to` if it is still at `from`.
pub async fn move_case(
    tx: &mut Tx,
    id: i64,
    (from, to): (Status, Status),
    c: &Changes<'_>,
    due_at: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE epi_case SET status = $3, transport = COALESCE($4, transport), \
         instructions = COALESCE($5, instructions), test_name = COALESCE($6, test_name), \
         test_at = COALESCE($7, test_at), result = COALESCE($8, result), \
         disease = COALESCE($9, disease), dismiss_reason = COALESCE($10, dismiss_reason), \
         due_at = $11, reminded_at = NULL, updated_at = $12 WHERE id = $1 AND status = $2",
        (
            id,
            from.as_str(),
            to.as_str(),
            c.transport,
            c.instructions,
            c.test_name,
            c.test_at,
            c.result,
            c.disease,
            c.dismiss_reason,
            due_at,
            now,
        ),
    )
    .await
    .map(|n| n == 1)
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CaseEventRow {
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
}

pub async fn insert_case_event(
    tx: &mut Tx,
    case: i64,
    from: Option<Status>,
    to: Status,
    actor: Option<i64>,
    note: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO epi_case_event (case_id, from_status, to_status, actor_id, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        (
            case,
            from.map(Status::as_str),
            to.as_str(),
            actor,
            note,
            now,
        ),
    )
    .await
    .map(|_| ())
}

pub async fn case_events(db: &Db, case: i64) -> Result<Vec<CaseEventRow>, sqlx::Error> {
    db.all(
        "SELECT e.from_status, e.to_status, e.actor_id, a.display_name AS actor_name, e.note, \
         e.created_at FROM epi_case_event e LEFT JOIN account a ON a.id = e.actor_id \
         WHERE e.case_id = $1 ORDER BY e.id",
        (case,),
    )
    .await
}

/// Open cases whose step is overdue and not yet reminded of since it became due.
pub async fn overdue(db: &Db, now: i64) -> Result<Vec<CaseRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM epi_case WHERE due_at < $1 AND reminded_at IS NULL \
         ORDER BY due_at LIMIT 200"
    );
    db.all(&sql, (now,)).await
}

/// Marks a reminder sent for the case's current step (only if the step has not moved).
pub async fn mark_reminded(
    tx: &mut Tx,
    id: i64,
    status: Status,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE epi_case SET reminded_at = $3 WHERE id = $1 AND status = $2 AND reminded_at IS NULL",
        (id, status.as_str(), now),
    )
    .await
    .map(|n| n == 1)
}

/// Whether the person has a case at the hospital (the officers' basis to read them).
pub async fn has_case_at(db: &Db, person: i64, hospital: i64) -> Result<Option<i64>, sqlx::Error> {
    db.scalar_optional(
        "SELECT id FROM epi_case WHERE person_id = $1 AND hospital_id = $2 ORDER BY id DESC LIMIT 1",
        (person, hospital),
    )
    .await
}

/// The active infection officers of a hospital: who is told of a flag.
pub async fn officers(tx: &mut Tx, hospital: i64) -> Result<Vec<i64>, sqlx::Error> {
    tx.scalars(
        "SELECT id FROM account WHERE hospital_id = $1 AND role = 'infection_officer' \
         AND status = 'active' ORDER BY id",
        (hospital,),
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    pub id: i64,
    pub case_id: i64,
    pub hospital_id: i64,
    pub person_id: i64,
    pub disease: String,
    pub disease_class: String,
    pub classification: String,
    pub onset_on: Option<String>,
    pub diagnosed_at: i64,
    pub reporter_id: i64,
    pub region: String,
    pub created_at: i64,
}

pub struct NewReport<'a> {
    pub case: i64,
    pub hospital: i64,
    pub person: i64,
    pub disease: &'a str,
    pub disease_class: &'a str,
    pub classification: &'a str,
    pub onset_on: Option<&'a str>,
    pub reporter: i64,
    pub region: &'a str,
}

pub async fn insert_report(tx: &mut Tx, r: &NewReport<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO disease_report (case_id, hospital_id, person_id, disease, disease_class, \
         classification, onset_on, diagnosed_at, reporter_id, region, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $8) RETURNING id",
        (
            r.case,
            r.hospital,
            r.person,
            r.disease,
            r.disease_class,
            r.classification,
            r.onset_on,
            now,
            r.reporter,
            r.region,
        ),
    )
    .await
}

const REPORT_COLUMNS: &str = "id, case_id, hospital_id, person_id, disease, disease_class, \
     classification, onset_on, diagnosed_at, reporter_id, region, created_at";

pub async fn report_of_case(db: &Db, case: i64) -> Result<Option<ReportRow>, sqlx::Error> {
    let sql = format!("SELECT {REPORT_COLUMNS} FROM disease_report WHERE case_id = $1");
    db.optional(&sql, (case,)).await
}

pub async fn reports(db: &Db, hospital: i64, limit: i64) -> Result<Vec<ReportRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {REPORT_COLUMNS} FROM disease_report WHERE hospital_id = $1 ORDER BY id DESC LIMIT $2"
    );
    db.all(&sql, (hospital, limit)).await
}

crate::text_enum! {
    /// Where an early-warning alert stands.
    pub enum AlertStatus {
        Open = "open",
        /// An officer is looking into it.
        Acknowledged = "acknowledged",
        /// Resolved, with a note saying how.
        Closed = "closed",
    }
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AlertRow {
    pub id: i64,
    pub syndrome: String,
    pub region: String,
    pub day: String,
    pub last_day: String,
    pub days: i64,
    pub method: String,
    pub count: i64,
    pub statistic: f64,
    pub threshold: f64,
    pub status: AlertStatus,
    pub acted_by: Option<i64>,
    pub note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const ALERT_COLUMNS: &str = "id, syndrome, region, day, last_day, days, method, count, statistic, \
     threshold, status, acted_by, note, created_at, updated_at";

/// Alerts that are not closed, and closed ones whose last day is `since` or later.
pub async fn recent_alerts(tx: &mut Tx, since: &str) -> Result<Vec<AlertRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM surveillance_alert WHERE status <> 'closed' OR last_day >= $1"
    );
    tx.all(&sql, (since,)).await
}

pub struct NewAlert<'a> {
    pub syndrome: &'a str,
    pub region: &'a str,
    pub day: &'a str,
    pub method: &'a str,
    pub count: i64,
    pub statistic: f64,
    pub threshold: f64,
}

/// A new open alert; `None` when the series already has an unclosed one (another scan —
/// another server's, or the hourly job beside a manual run — raised it a moment ago).
pub async fn insert_alert(
    tx: &mut Tx,
    a: &NewAlert<'_>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    tx.scalar_optional(
        "INSERT INTO surveillance_alert (syndrome, region, day, last_day, days, method, count, \
         statistic, threshold, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $3, 1, $4, $5, $6, $7, 'open', $8, $8) \
         ON CONFLICT DO NOTHING RETURNING id",
        (
            a.syndrome,
            a.region,
            a.day,
            a.method,
            a.count,
            a.statistic,
            a.threshold,
            now,
        ),
    )
    .await
}

/// A later aberrant day of an alert's series.
pub async fn extend_alert(tx: &mut Tx, id: i64, day: &str, now: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        "UPDATE surveillance_alert SET last_day = $2, days = days + 1, updated_at = $3 \
         WHERE id = $1 AND last_day < $2",
        (id, day, now),
    )
    .await
    .map(|_| ())
}

pub async fn alert(db: &Db, id: i64) -> Result<Option<AlertRow>, sqlx::Error> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM surveillance_alert WHERE id = $1");
    db.optional(&sql, (id,)).await
}

/// Alerts not closed, then the closed ones, newest first.
pub async fn alerts(db: &Db, limit: i64) -> Result<Vec<AlertRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM surveillance_alert \
         ORDER BY (CASE WHEN status = 'closed' THEN 1 ELSE 0 END), last_day DESC, id DESC LIMIT $1"
    );
    db.all(&sql, (limit,)).await
}

/// Acknowledges or closes an alert that is at `from`.
pub async fn set_alert_status(
    tx: &mut Tx,
    id: i64,
    from: AlertStatus,
    to: AlertStatus,
    by: i64,
    note: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE surveillance_alert SET status = $3, acted_by = $4, note = COALESCE($5, note), \
         updated_at = $6 WHERE id = $1 AND status = $2",
        (id, from.as_str(), to.as_str(), by, note, now),
    )
    .await
    .map(|n| n == 1)
}

/// The active infection officers of the hospitals in a region: who is told of its alert.
pub async fn officers_in_region(tx: &mut Tx, region: &str) -> Result<Vec<i64>, sqlx::Error> {
    tx.scalars(
        "SELECT a.id FROM account a JOIN hospital h ON h.id = a.hospital_id \
         WHERE h.region_code = $1 AND a.role = 'infection_officer' AND a.status = 'active' \
         ORDER BY a.id",
        (region,),
    )
    .await
}
