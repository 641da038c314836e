//! Care-plan SQL: plans with their limits, home readings, scheduled follow-ups and the team's
//! tasks. Values are tenths (see [`super::protocol::TENTHS`]).

use std::collections::BTreeMap;

use super::protocol::{Bounds, Limit, Measure};
use crate::db::{Db, Tx};

crate::text_enum! {
    pub enum PlanStatus {
        Active = "active",
        Ended = "ended",
    }
}

crate::text_enum! {
    pub enum FollowupStatus {
        Scheduled = "scheduled",
        /// Sent to the patient side, waiting for the answers.
        Sent = "sent",
        Answered = "answered",
        /// Not answered in time: the team chases it (it may still be answered).
        Missed = "missed",
        /// The plan ended before it was due.
        Cancelled = "cancelled",
    }
}

crate::text_enum! {
    /// What gave the team a task.
    pub enum TaskKind {
        /// A home reading beyond the plan's limit.
        Reading = "reading",
        /// An answer to a questionnaire that calls for the team.
        Answer = "answer",
        /// A follow-up left unanswered.
        Missed = "missed",
    }
}

crate::text_enum! {
    pub enum TaskStatus {
        Open = "open",
        Closed = "closed",
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanRow {
    pub id: i64,
    pub person_id: i64,
    pub person: String,
    pub team_id: i64,
    pub team: String,
    pub hospital_id: i64,
    pub template: String,
    pub status: PlanStatus,
    pub starts_on: String,
    pub note: String,
    pub created_by: i64,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
}

const PLAN: &str = "SELECT p.id, p.person_id, pe.name AS person, p.team_id, t.name AS team, \
     t.hospital_id, p.template, p.status, p.starts_on, p.note, p.created_by, p.created_at, \
     p.ended_at, p.end_reason \
     FROM care_plan p JOIN person pe ON pe.id = p.person_id JOIN care_team t ON t.id = p.team_id";

pub struct NewPlan<'a> {
    pub person: i64,
    pub team: i64,
    pub template: &'a str,
    pub starts_on: String,
    pub note: &'a str,
    pub by: i64,
}

pub async fn insert_plan(tx: &mut Tx, p: &NewPlan<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO care_plan (person_id, team_id, template, status, starts_on, note, created_by, created_at) \
         VALUES ($1, $2, $3, 'active', $4, $5, $6, $7) RETURNING id",
        (p.person, p.team, p.template, &p.starts_on, p.note, p.by, now),
    )
    .await
}

pub async fn insert_limit(
    tx: &mut Tx,
    plan: i64,
    limit: Limit,
    b: Bounds,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO care_limit (plan_id, limit_of, low, high) VALUES ($1, $2, $3, $4)",
        (plan, limit.as_str(), b.low, b.high),
    )
    .await
    .map(|_| ())
}

pub async fn plan(db: &Db, id: i64) -> Result<Option<PlanRow>, sqlx::Error> {
    db.optional(&format!("{PLAN} WHERE p.id = $1"), (id,)).await
}

pub async fn plan_in(tx: &mut Tx, id: i64) -> Result<Option<PlanRow>, sqlx::Error> {
    tx.optional(&format!("{PLAN} WHERE p.id = $1"), (id,)).await
}

pub async fn limits(db: &Db, plan: i64) -> Result<BTreeMap<Limit, Bounds>, sqlx::Error> {
    let rows: Vec<(Limit, Option<i64>, Option<i64>)> = db
        .all(
            "SELECT limit_of, low, high FROM care_limit WHERE plan_id = $1",
            (plan,),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(l, low, high)| (l, Bounds { low, high }))
        .collect())
}

/// Whose plans a reader sees.
#[derive(Debug, Clone, Copy)]
pub enum PlanScope<'a> {
    People(&'a [i64]),
    /// The plans of the teams an account belongs to.
    Member(i64),
}

/// Plans in scope, active first, newest first.
pub async fn plans(db: &Db, scope: PlanScope<'_>) -> Result<Vec<PlanRow>, sqlx::Error> {
    let mut sql = crate::db::Sql::new(format!("{PLAN} WHERE "));
    match scope {
        PlanScope::People(people) => {
            sql.push("p.person_id IN (-1");
            for p in people {
                sql.push(", ").bind(*p);
            }
            sql.push(")");
        }
        PlanScope::Member(account) => {
            sql.push("p.team_id IN (SELECT team_id FROM care_team_member WHERE account_id = ")
                .bind(account)
                .push(")");
        }
    }
    sql.push(" ORDER BY p.status, p.id DESC LIMIT 500");
    sql.fetch_all(db).await
}

/// The person's running plans, oldest first (a reading is checked against each).
pub async fn active_plans_of(db: &Db, person: i64) -> Result<Vec<PlanRow>, sqlx::Error> {
    db.all(
        &format!("{PLAN} WHERE p.person_id = $1 AND p.status = 'active' ORDER BY p.id"),
        (person,),
    )
    .await
}

pub async fn end_plan(tx: &mut Tx, id: i64, reason: &str, now: i64) -> Result<bool, sqlx::Error> {
    let ended = tx
        .execute(
            "UPDATE care_plan SET status = 'ended', ended_at = $2, end_reason = $3 \
             WHERE id = $1 AND status = 'active'",
            (id, now, reason),
        )
        .await?;
    tx.execute(
        "UPDATE care_followup SET status = 'cancelled' WHERE plan_id = $1 AND status = 'scheduled'",
        (id,),
    )
    .await?;
    Ok(ended > 0)
}

// ---- Readings ----

pub struct NewReading {
    pub person: i64,
    pub plan: Option<i64>,
    pub measure: Measure,
    pub value: i64,
    pub value2: Option<i64>,
    pub taken_at: i64,
    pub flagged: bool,
    pub by: i64,
}

pub async fn insert_reading(tx: &mut Tx, r: &NewReading, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO care_reading (person_id, plan_id, measure, value, value2, taken_at, flagged, entered_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        (
            r.person,
            r.plan,
            r.measure.as_str(),
            r.value,
            r.value2,
            r.taken_at,
            r.flagged,
            r.by,
            now,
        ),
    )
    .await
}

/// A reading with the team's answer to it, if a task it raised was closed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReadingRow {
    pub id: i64,
    pub measure: Measure,
    pub value: i64,
    pub value2: Option<i64>,
    pub taken_at: i64,
    pub flagged: bool,
    pub reply: Option<String>,
    pub task_status: Option<TaskStatus>,
}

/// The person's readings, newest first, at most `limit`.
pub async fn readings(db: &Db, person: i64, limit: i64) -> Result<Vec<ReadingRow>, sqlx::Error> {
    db.all(
        "SELECT r.id, r.measure, r.value, r.value2, r.taken_at, r.flagged, \
         (SELECT k.reply FROM care_task k WHERE k.reading_id = r.id ORDER BY k.id LIMIT 1) AS reply, \
         (SELECT k.status FROM care_task k WHERE k.reading_id = r.id ORDER BY k.id LIMIT 1) AS task_status \
         FROM care_reading r WHERE r.person_id = $1 ORDER BY r.taken_at DESC, r.id DESC LIMIT $2",
        (person, limit),
    )
    .await
}

/// One reading with its person (for reading it alone, e.g. as a FHIR Observation).
pub async fn reading(db: &Db, id: i64) -> Result<Option<(i64, ReadingRow)>, sqlx::Error> {
    let person = db
        .scalar_optional::<i64>("SELECT person_id FROM care_reading WHERE id = $1", (id,))
        .await?;
    let Some(person) = person else {
        return Ok(None);
    };
    let row = db
        .optional(
            "SELECT r.id, r.measure, r.value, r.value2, r.taken_at, r.flagged, \
             NULL AS reply, NULL AS task_status FROM care_reading r WHERE r.id = $1",
            (id,),
        )
        .await?;
    Ok(row.map(|r| (person, r)))
}

// ---- Follow-ups ----

pub async fn insert_followup(
    tx: &mut Tx,
    plan: i64,
    questionnaire: &str,
    due_at: i64,
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO care_followup (plan_id, questionnaire, due_at, status) \
         VALUES ($1, $2, $3, 'scheduled') RETURNING id",
        (plan, questionnaire, due_at),
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FollowupRow {
    pub id: i64,
    pub plan_id: i64,
    pub person_id: i64,
    pub team_id: i64,
    pub template: String,
    pub plan_status: PlanStatus,
    pub questionnaire: String,
    pub due_at: i64,
    pub status: FollowupStatus,
    pub sent_at: Option<i64>,
    pub answers: Option<String>,
    pub answered_at: Option<i64>,
}

const FOLLOWUP: &str = "SELECT f.id, f.plan_id, p.person_id, p.team_id, p.template, p.status AS plan_status, \
     f.questionnaire, f.due_at, f.status, f.sent_at, f.answers, f.answered_at \
     FROM care_followup f JOIN care_plan p ON p.id = f.plan_id";

pub async fn followup(db: &Db, id: i64) -> Result<Option<FollowupRow>, sqlx::Error> {
    db.optional(&format!("{FOLLOWUP} WHERE f.id = $1"), (id,))
        .await
}

/// A plan's follow-ups in time order (cancelled ones left out).
pub async fn followups(db: &Db, plan: i64) -> Result<Vec<FollowupRow>, sqlx::Error> {
    db.all(
        &format!(
            "{FOLLOWUP} WHERE f.plan_id = $1 AND f.status <> 'cancelled' ORDER BY f.due_at, f.id"
        ),
        (plan,),
    )
    .await
}

/// Follow-ups in `status` whose time (`due_at` at or before `until`) has come, oldest first.
pub async fn due(
    db: &Db,
    status: FollowupStatus,
    until: i64,
    limit: i64,
) -> Result<Vec<FollowupRow>, sqlx::Error> {
    db.all(
        &format!(
            "{FOLLOWUP} WHERE f.status = $1 AND f.due_at <= $2 AND p.status = 'active' \
             ORDER BY f.due_at, f.id LIMIT $3"
        ),
        (status.as_str(), until, limit),
    )
    .await
}

/// Moves a follow-up on from `from`; whether this call did (so each step happens once).
pub async fn move_followup(
    tx: &mut Tx,
    id: i64,
    (from, to): (FollowupStatus, FollowupStatus),
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE care_followup SET status = $3, sent_at = COALESCE(sent_at, $4) \
         WHERE id = $1 AND status = $2",
        (id, from.as_str(), to.as_str(), now),
    )
    .await
    .map(|n| n > 0)
}

pub async fn answer(
    tx: &mut Tx,
    id: i64,
    answers: &str,
    by: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE care_followup SET status = 'answered', answers = $2, answered_by = $3, answered_at = $4 \
         WHERE id = $1 AND status IN ('sent', 'missed')",
        (id, answers, by, now),
    )
    .await
    .map(|n| n > 0)
}

// ---- Tasks ----

pub struct NewTask<'a> {
    pub plan: &'a PlanRow,
    pub kind: TaskKind,
    pub reading: Option<i64>,
    pub followup: Option<i64>,
    pub detail: String,
    pub urgent: bool,
    pub due_at: i64,
}

pub async fn insert_task(tx: &mut Tx, t: &NewTask<'_>, now: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(
        "INSERT INTO care_task (plan_id, person_id, team_id, kind, reading_id, followup_id, detail, urgent, due_at, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10) RETURNING id",
        (
            t.plan.id,
            t.plan.person_id,
            t.plan.team_id,
            t.kind.as_str(),
            t.reading,
            t.followup,
            &t.detail,
            t.urgent,
            t.due_at,
            now,
        ),
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    pub id: i64,
    pub plan_id: i64,
    pub template: String,
    pub person_id: i64,
    pub person: String,
    pub team_id: i64,
    pub team: String,
    pub hospital_id: i64,
    pub kind: TaskKind,
    /// The questionnaire of an answer's or a missed follow-up's task.
    pub questionnaire: Option<String>,
    pub detail: String,
    pub urgent: bool,
    pub due_at: i64,
    pub status: TaskStatus,
    pub created_at: i64,
    pub closed_by: Option<String>,
    pub closed_at: Option<i64>,
    pub reply: Option<String>,
}

const TASK: &str = "SELECT k.id, k.plan_id, p.template, k.person_id, pe.name AS person, k.team_id, \
     t.name AS team, t.hospital_id, k.kind, f.questionnaire, k.detail, k.urgent, k.due_at, k.status, k.created_at, \
     a.display_name AS closed_by, k.closed_at, k.reply \
     FROM care_task k JOIN care_plan p ON p.id = k.plan_id JOIN person pe ON pe.id = k.person_id \
     JOIN care_team t ON t.id = k.team_id LEFT JOIN account a ON a.id = k.closed_by \
     LEFT JOIN care_followup f ON f.id = k.followup_id";

pub async fn task(db: &Db, id: i64) -> Result<Option<TaskRow>, sqlx::Error> {
    db.optional(&format!("{TASK} WHERE k.id = $1"), (id,)).await
}

/// The open tasks of the teams `account` belongs to, soonest due first, then those closed in
/// the last day, newest first.
pub async fn team_tasks(
    db: &Db,
    account: i64,
    closed_since: i64,
) -> Result<Vec<TaskRow>, sqlx::Error> {
    db.all(
        &format!(
            "{TASK} WHERE k.team_id IN (SELECT team_id FROM care_team_member WHERE account_id = $1) \
             AND (k.status = 'open' OR k.closed_at >= $2) \
             ORDER BY k.status DESC, k.due_at, k.id LIMIT 500"
        ),
        (account, closed_since),
    )
    .await
}

/// A plan's tasks, newest first.
pub async fn plan_tasks(db: &Db, plan: i64) -> Result<Vec<TaskRow>, sqlx::Error> {
    db.all(
        &format!("{TASK} WHERE k.plan_id = $1 ORDER BY k.id DESC LIMIT 200"),
        (plan,),
    )
    .await
}

pub async fn close_task(
    tx: &mut Tx,
    id: i64,
    by: i64,
    reply: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    tx.execute(
        "UPDATE care_task SET status = 'closed', closed_by = $2, closed_at = $3, reply = $4 \
         WHERE id = $1 AND status = 'open'",
        (id, by, now, reply),
    )
    .await
    .map(|n| n > 0)
}

/// `, $a, $b, …` of the ids, for an `IN (` list opened by the caller.
fn ids_in(sql: &mut crate::db::Sql, ids: &[i64]) {
    sql.push("-1");
    for id in ids {
        sql.push(", ").bind(*id);
    }
    sql.push(")");
}

/// Moves the follow-ups among `ids` that are still in `from` on to `to`; the ids this call
/// moved (a sweep on another node may have taken some).
pub async fn move_followups(
    tx: &mut Tx,
    ids: &[i64],
    (from, to): (FollowupStatus, FollowupStatus),
    now: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut sql = crate::db::Sql::new("UPDATE care_followup SET status = ");
    sql.bind(to.as_str())
        .push(", sent_at = COALESCE(sent_at, ")
        .bind(now)
        .push(") WHERE status = ")
        .bind(from.as_str())
        .push(" AND id IN (");
    ids_in(&mut sql, ids);
    sql.push(" RETURNING id");
    let (text, params) = sql.into_parts();
    tx.scalars(&text, params).await
}

/// The accounts acting for each of `people` (their own and family members'): (person, account).
pub async fn patient_sides(tx: &mut Tx, people: &[i64]) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let mut sql = crate::db::Sql::new(
        "SELECT person_id, id FROM account WHERE status = 'active' AND person_id IN (",
    );
    ids_in(&mut sql, people);
    sql.push(" UNION SELECT person_id, account_id FROM family_link WHERE person_id IN (");
    ids_in(&mut sql, people);
    let (text, params) = sql.into_parts();
    tx.all(&text, params).await
}

/// Schedules follow-ups (plan, questionnaire, due time) in one statement.
pub async fn insert_followups(tx: &mut Tx, rows: &[(i64, &str, i64)]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql = crate::db::Sql::new(
        "INSERT INTO care_followup (plan_id, questionnaire, due_at, status) VALUES ",
    );
    for (i, (plan, questionnaire, due)) in rows.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" })
            .bind(*plan)
            .push(", ")
            .bind(*questionnaire)
            .push(", ")
            .bind(*due)
            .push(", 'scheduled')");
    }
    let (text, params) = sql.into_parts();
    tx.execute(&text, params).await.map(|_| ())
}
