//! Care plans: a team's plan for a patient from a template, home readings checked against its
//! limits, questionnaires answered, and the tasks these give the team until a member closes
//! them with a word to the patient.
//!
//! | step | who |
//! |---|---|
//! | make a plan, end it | a doctor or nurse of the team with a care link to the patient at the team's hospital |
//! | see a plan | the patient side; the team's members with that care link |
//! | enter a home reading, answer a questionnaire | the patient side |
//! | see the team's tasks, close one with a reply | the team's members |
//!
//! A plan gives every member of its team a care link to the patient (source `care-plan:<id>`),
//! so a multimorbidity team reads the record as a family-doctor team does under its contract;
//! the links end with the plan. A reading beyond a plan's limit, or an answer that calls for
//! the team, opens a task due in a day (two hours when critical); a follow-up left unanswered
//! opens one too ([`super::followup`]).

use std::collections::BTreeMap;

use chrono::{Duration as Days, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plan_store::{
    self as store, FollowupRow, FollowupStatus, NewPlan, NewReading, NewTask, PlanRow, PlanScope,
    PlanStatus, ReadingRow, TaskKind, TaskRow, TaskStatus,
};
use super::protocol::{self, Bounds, Limit, Measure, ReadingInput, TENTHS, tenths};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::db::Tx;
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::notification::model::{Event, Notice};
use crate::notification::service::notify;
use crate::policy;
use crate::teleconsult::service::IdName;
use crate::time::{cst_ms, cst_rfc3339, cst_today};

const HOUR_MS: i64 = 3_600_000;
/// A task is due in a day, or in two hours when a number is critical.
const DUE_MS: i64 = 24 * HOUR_MS;
const URGENT_MS: i64 = 2 * HOUR_MS;
/// The care-link kind of a plan's team members.
const LINK_KIND: &str = "care_team";

fn link_source(plan: i64) -> String {
    format!("care-plan:{plan}")
}

fn no_plan(id: i64) -> AppError {
    AppError::NotFound(format!("no care plan {id}"))
}

fn no_task(id: i64) -> AppError {
    AppError::NotFound(format!("no care task {id}"))
}

/// Followups go out at 09:00 China time on their day.
fn at_nine(day: NaiveDate) -> i64 {
    cst_ms(day, NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default()).unwrap_or_default()
}

/// A limit as written: numbers in their unit (mmHg, mmol/L, kg, °C).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct LimitInput {
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
}

/// A new plan, as a team member writes it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PlanInput {
    #[serde(default)]
    pub person_id: Option<i64>,
    /// A team the writer belongs to.
    #[serde(default)]
    pub team_id: Option<i64>,
    /// `hypertension`, `diabetes`, `postop` or `heart_failure`.
    #[serde(default)]
    pub template: String,
    /// The day it starts (discharge day), `YYYY-MM-DD`; today when absent. From 30 days ago
    /// to 60 days ahead.
    #[serde(default)]
    pub starts_on: Option<String>,
    /// Up to 500 characters for the patient (e.g. the medication agreed).
    #[serde(default)]
    pub note: String,
    /// Limits that differ from the template's, by number: `systolic`, `diastolic`,
    /// `glucose`, `weight`, `temperature`; a bound left out keeps the template's.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub limits: BTreeMap<String, LimitInput>,
}

fn to_tenths(v: Option<f64>) -> Option<i64> {
    v.map(|v| (v * TENTHS).round())
        .filter(|t| t.is_finite() && t.abs() < 1e9)
        .map(|t| t as i64)
}

/// The checked plan: template, start day, note, limits (template defaults with the input's
/// changes).
type CheckedPlan = (
    &'static protocol::Template,
    NaiveDate,
    String,
    BTreeMap<Limit, Bounds>,
);

fn check_plan(input: &PlanInput, today: NaiveDate) -> Result<CheckedPlan, Vec<FieldError>> {
    let mut errors = Vec::new();
    if input.person_id.is_none() {
        errors.push(FieldError::required("person_id"));
    }
    if input.team_id.is_none() {
        errors.push(FieldError::required("team_id"));
    }
    let template = protocol::template(input.template.trim());
    if template.is_none() {
        errors.push(
            FieldError::new("template", "must be one of the plan templates")
                .localized("care.err.template", vec![]),
        );
    }
    let starts_on = match input.starts_on.as_deref().map(str::trim) {
        None | Some("") => Some(today),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
    }
    .filter(|d| *d >= today - Days::days(30) && *d <= today + Days::days(60));
    if starts_on.is_none() {
        errors.push(
            FieldError::new(
                "starts_on",
                "must be a date from 30 days ago to 60 days ahead",
            )
            .localized("care.err.starts_on", vec![]),
        );
    }
    let note = input.note.trim();
    if note.chars().count() > 500 {
        errors.push(FieldError::length("note", 0, 500));
    }
    let mut limits: BTreeMap<Limit, Bounds> = template
        .map(|t| t.limits.iter().copied().collect())
        .unwrap_or_default();
    for (key, given) in &input.limits {
        let field = format!("limits.{key}");
        let measured = Limit::parse(key).filter(|l| {
            template.is_some_and(|t| t.measures.iter().any(|(m, _)| *m == l.measure()))
        });
        let Some(limit) = measured else {
            errors.push(
                FieldError::new(field, "is not a number this plan measures")
                    .localized("care.err.limit", vec![]),
            );
            continue;
        };
        let (lo, hi) = limit.plausible();
        // What is given changes the template's; what is not keeps it.
        let default = limits.get(&limit).copied();
        let b = Bounds {
            low: to_tenths(given.low).or(default.and_then(|d| d.low)),
            high: to_tenths(given.high).or(default.and_then(|d| d.high)),
        };
        let inside = |v: Option<i64>| v.is_none_or(|v| (lo..=hi).contains(&v));
        let ordered = match (b.low, b.high) {
            (Some(l), Some(h)) => l < h,
            _ => true,
        };
        if !inside(b.low) || !inside(b.high) || !ordered {
            errors.push(
                FieldError::new(
                    field,
                    format!(
                        "low below high, both between {} and {}",
                        tenths(lo),
                        tenths(hi)
                    ),
                )
                .localized(
                    "care.err.limit_range",
                    vec![("min", tenths(lo)), ("max", tenths(hi))],
                ),
            );
            continue;
        }
        limits.insert(limit, b);
    }
    match (template, starts_on, errors.is_empty()) {
        (Some(t), Some(d), true) => Ok((t, d, note.to_owned(), limits)),
        _ => Err(errors),
    }
}

/// Makes a plan from a template for a patient of the writer's team: its limits, its first
/// follow-ups, and a care link to the patient for every member of the team.
pub async fn create(state: &AppState, actor: &Actor, input: &PlanInput) -> AppResult<i64> {
    let me = actor.require()?;
    if !matches!(me.role, Role::Doctor | Role::Nurse) {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "care plans are made by the doctors and nurses of a care team",
        ));
    }
    let now = state.now_ms();
    let (template, starts_on, note, limits) =
        check_plan(input, cst_today(now)).map_err(AppError::Validation)?;
    let (Some(person), Some(team_id)) = (input.person_id, input.team_id) else {
        return Err(AppError::field(FieldError::required("person_id")));
    };
    let team = super::store::team(&state.db, team_id)
        .await?
        .filter(|t| t.active);
    let member = match &team {
        Some(t) => super::store::role_in(&state.db, t.id, me.account_id).await?,
        None => None,
    };
    let (Some(team), Some(_)) = (team, member) else {
        return Err(AppError::field(
            FieldError::new("team_id", "must be an active team you belong to")
                .localized("care.err.my_team", vec![]),
        ));
    };
    let basis = policy::decide_patient_at(
        state,
        actor,
        "care.plan.create",
        "care_plan",
        person,
        team.hospital_id,
    )
    .await?;
    let mut tx = state.db.begin().await?;
    let new = NewPlan {
        person,
        team: team.id,
        template: template.code,
        starts_on: starts_on.to_string(),
        note: &note,
        by: me.account_id,
    };
    let id = store::insert_plan(&mut tx, &new, now).await?;
    for (limit, b) in &limits {
        store::insert_limit(&mut tx, id, *limit, *b).await?;
    }
    for s in template.schedule {
        for day in s.days {
            let due = at_nine(starts_on + Days::days(*day));
            store::insert_followup(&mut tx, id, s.questionnaire, due).await?;
        }
    }
    let source = link_source(id);
    for m in super::store::member_ids(&mut tx, team.id).await? {
        crate::identity::service::link_care(
            &mut tx,
            m,
            person,
            team.hospital_id,
            LINK_KIND,
            Some(&source),
            now,
        )
        .await?;
    }
    let access = policy::access_event(actor, "care.plan.create", "care_plan", person, &basis);
    audit::append(&mut tx, &access).await?;
    let e = NewEvent::new(actor.audit(), "care.plan.create", "care_plan")
        .object(id)
        .patient(person)
        .reason(template.code.to_owned());
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(id)
}

/// How a reader stands to a plan's patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Patient,
    Team,
}

/// Loads a plan for reading or changing by `actor` (`action`, audited by the policy): the
/// patient side, or a member of its team with a care link at the team's hospital.
async fn plan_for(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
) -> AppResult<(PlanRow, Side)> {
    let me = actor.require()?;
    let p = store::plan(&state.db, id)
        .await?
        .ok_or_else(|| no_plan(id))?;
    let member = if me.role.is_clinician() {
        super::store::role_in(&state.db, p.team_id, me.account_id)
            .await?
            .is_some()
    } else {
        false
    };
    if me.role.is_clinician() && !member {
        crate::identity::service::deny(
            state,
            actor,
            action,
            "care_plan",
            Some(id.to_string()),
            Some(p.person_id),
            "not a member of the plan's team",
        )
        .await?;
        return Err(no_plan(id));
    }
    let at = member.then_some(p.hospital_id);
    policy::authorize_patient_at(state, actor, action, "care_plan", p.person_id, at, None)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => no_plan(id),
            e => e,
        })?;
    let side = if member { Side::Team } else { Side::Patient };
    Ok((p, side))
}

/// A plan's limit in the number's unit.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LimitView {
    pub limit: Limit,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub unit: &'static str,
}

/// What the patient measures, how often, and whether it is due.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MeasureView {
    pub measure: Measure,
    pub every_days: i64,
    pub last_taken_at: Option<String>,
    /// Not measured within its period: on today's list.
    pub due: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FollowupView {
    pub id: i64,
    pub questionnaire: String,
    pub due_at: String,
    pub status: FollowupStatus,
    /// The patient side may answer it now.
    pub open: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReadingView {
    pub id: i64,
    pub measure: Measure,
    /// As people write it: `152/96 mmHg`.
    pub text: String,
    pub taken_at: String,
    /// Beyond a limit of a running plan.
    pub flagged: bool,
    /// The team saw it and answered (their reply).
    pub reply: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    pub id: i64,
    pub plan_id: i64,
    pub template: String,
    pub person: IdName,
    pub team: IdName,
    pub kind: TaskKind,
    /// The reading (`152/96 mmHg`), or the questions whose answers called for the team.
    pub detail: String,
    pub questionnaire: Option<String>,
    pub urgent: bool,
    pub due_at: String,
    pub overdue: bool,
    pub status: TaskStatus,
    pub created_at: String,
    pub closed_by: Option<String>,
    pub reply: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub id: i64,
    pub person: IdName,
    pub team: IdName,
    pub template: String,
    pub status: PlanStatus,
    pub starts_on: String,
    pub note: String,
    pub limits: Vec<LimitView>,
    pub measures: Vec<MeasureView>,
    pub followups: Vec<FollowupView>,
    pub readings: Vec<ReadingView>,
    pub tasks: Vec<TaskView>,
    pub end_reason: Option<String>,
}

fn reading_view(r: ReadingRow) -> ReadingView {
    ReadingView {
        id: r.id,
        measure: r.measure,
        text: r.measure.show(r.value, r.value2),
        taken_at: cst_rfc3339(r.taken_at),
        flagged: r.flagged,
        reply: r
            .reply
            .filter(|_| r.task_status == Some(TaskStatus::Closed)),
    }
}

pub fn task_view(t: TaskRow, now: i64) -> TaskView {
    TaskView {
        id: t.id,
        plan_id: t.plan_id,
        template: t.template,
        person: IdName {
            id: t.person_id,
            name: t.person,
        },
        team: IdName {
            id: t.team_id,
            name: t.team,
        },
        kind: t.kind,
        detail: t.detail,
        questionnaire: t.questionnaire,
        urgent: t.urgent,
        overdue: t.status == TaskStatus::Open && now > t.due_at,
        due_at: cst_rfc3339(t.due_at),
        status: t.status,
        created_at: cst_rfc3339(t.created_at),
        closed_by: t.closed_by,
        reply: t.reply,
    }
}

fn followup_view(f: &FollowupRow) -> FollowupView {
    FollowupView {
        id: f.id,
        questionnaire: f.questionnaire.clone(),
        due_at: cst_rfc3339(f.due_at),
        status: f.status,
        open: matches!(f.status, FollowupStatus::Sent | FollowupStatus::Missed),
    }
}

/// How many readings a plan shows.
const READINGS_SHOWN: i64 = 60;

async fn plan_view(state: &AppState, p: PlanRow) -> AppResult<PlanView> {
    let now = state.now_ms();
    let limits = store::limits(&state.db, p.id)
        .await?
        .into_iter()
        .map(|(limit, b)| LimitView {
            limit,
            low: b.low.map(|v| v as f64 / TENTHS),
            high: b.high.map(|v| v as f64 / TENTHS),
            unit: limit.measure().unit(),
        })
        .collect();
    let readings = store::readings(&state.db, p.person_id, READINGS_SHOWN).await?;
    let today = cst_today(now);
    let measures = protocol::template(&p.template)
        .map(|t| t.measures)
        .unwrap_or_default()
        .iter()
        .map(|(m, every)| {
            let last = readings
                .iter()
                .find(|r| r.measure == *m)
                .map(|r| r.taken_at);
            let due = last.is_none_or(|l| (today - cst_today(l)).num_days() >= *every);
            MeasureView {
                measure: *m,
                every_days: *every,
                last_taken_at: last.map(cst_rfc3339),
                due: due && p.status == PlanStatus::Active,
            }
        })
        .collect();
    let followups = store::followups(&state.db, p.id)
        .await?
        .iter()
        .map(followup_view)
        .collect();
    let tasks = store::plan_tasks(&state.db, p.id)
        .await?
        .into_iter()
        .map(|t| task_view(t, now))
        .collect();
    Ok(PlanView {
        id: p.id,
        person: IdName {
            id: p.person_id,
            name: p.person,
        },
        team: IdName {
            id: p.team_id,
            name: p.team,
        },
        template: p.template,
        status: p.status,
        starts_on: p.starts_on,
        note: p.note,
        limits,
        measures,
        followups,
        readings: readings.into_iter().map(reading_view).collect(),
        tasks,
        end_reason: p.end_reason,
    })
}

pub async fn plan(state: &AppState, actor: &Actor, id: i64) -> AppResult<PlanView> {
    let (p, _) = plan_for(state, actor, id, "care.plan.read").await?;
    plan_view(state, p).await
}

/// A plan in a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanSummary {
    pub id: i64,
    pub person: IdName,
    pub team: IdName,
    pub template: String,
    pub status: PlanStatus,
    pub starts_on: String,
}

/// The reader's plans: a patient's and their family's, a team member's teams'.
pub async fn plans(state: &AppState, actor: &Actor) -> AppResult<Vec<PlanSummary>> {
    let me = actor.require()?;
    let people;
    let scope = match me.role {
        Role::Patient => {
            people = crate::identity::service::searchable_patients(state, actor).await?;
            PlanScope::People(&people)
        }
        role if role.is_clinician() => PlanScope::Member(me.account_id),
        _ => {
            return Err(AppError::refused(
                Reason::RoleRequired,
                "care plans are listed for patients and care teams",
            ));
        }
    };
    let rows = store::plans(&state.db, scope).await?;
    let e = NewEvent::new(actor.audit(), "care.plan.list", "care_plan")
        .reason(format!("{} plans", rows.len()));
    audit::record(&state.db, &e).await?;
    Ok(rows
        .into_iter()
        .map(|p| PlanSummary {
            id: p.id,
            person: IdName {
                id: p.person_id,
                name: p.person,
            },
            team: IdName {
                id: p.team_id,
                name: p.team,
            },
            template: p.template,
            status: p.status,
            starts_on: p.starts_on,
        })
        .collect())
}

/// Ends a plan (a doctor or nurse of its team), saying why: its follow-ups not yet sent are
/// cancelled and the care links it gave end.
pub async fn end(state: &AppState, actor: &Actor, id: i64, reason: &str) -> AppResult<()> {
    let (p, side) = plan_for(state, actor, id, "care.plan.end").await?;
    if side != Side::Team {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "a plan is ended by its care team",
        ));
    }
    let reason = reason.trim();
    if !(2..=200).contains(&reason.chars().count()) {
        return Err(AppError::field(FieldError::length("reason", 2, 200)));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::end_plan(&mut tx, id, reason, now).await? {
        return Err(AppError::wrong_state("the plan has ended already"));
    }
    crate::identity::store::end_care_links(&mut tx, LINK_KIND, &link_source(id), now).await?;
    let e = NewEvent::new(actor.audit(), "care.plan.end", "care_plan")
        .object(id)
        .patient(p.person_id);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(())
}

// ---- Readings ----

/// A home reading for a person.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewReadingInput {
    #[serde(default)]
    pub person_id: Option<i64>,
    #[serde(flatten)]
    pub reading: ReadingInput,
}

/// What entering a reading did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReadingOutcome {
    pub id: i64,
    /// Beyond a limit of a running plan: the team has a task.
    pub flagged: bool,
    /// The tasks opened (one per plan whose limit it breaks).
    pub tasks: Vec<i64>,
}

/// The patient side enters a home reading; each running plan of the person checks it, and a
/// plan whose limit it breaks opens a task for its team.
pub async fn record_reading(
    state: &AppState,
    actor: &Actor,
    input: &NewReadingInput,
) -> AppResult<ReadingOutcome> {
    let me = actor.require()?;
    if me.role != Role::Patient {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "home readings are entered by the patient or their family",
        ));
    }
    let Some(person) = input.person_id else {
        let mut errors = vec![FieldError::required("person_id")];
        errors.extend(input.reading.check().err().unwrap_or_default());
        return Err(AppError::Validation(errors));
    };
    let basis = policy::decide_patient(
        state,
        actor,
        "care.reading.create",
        "care_reading",
        person,
        None,
    )
    .await?;
    let (measure, value, value2) = input.reading.check().map_err(AppError::Validation)?;
    let now = state.now_ms();
    let plans = store::active_plans_of(&state.db, person).await?;
    let mut breaking = Vec::new();
    for p in &plans {
        let limits = store::limits(&state.db, p.id).await?;
        let b = protocol::breaches(measure, (value, value2), &limits);
        if !b.is_empty() {
            breaking.push((p, b.iter().any(|b| b.critical)));
        }
    }
    // The plan it counts for: the first that measures it.
    let plan = plans
        .iter()
        .find(|p| {
            protocol::template(&p.template)
                .is_some_and(|t| t.measures.iter().any(|(m, _)| *m == measure))
        })
        .map(|p| p.id);
    let mut tx = state.db.begin().await?;
    let reading = NewReading {
        person,
        plan,
        measure,
        value,
        value2,
        taken_at: now,
        flagged: !breaking.is_empty(),
        by: me.account_id,
    };
    let id = store::insert_reading(&mut tx, &reading, now).await?;
    let mut tasks = Vec::new();
    for (p, critical) in &breaking {
        let task = NewTask {
            plan: p,
            kind: TaskKind::Reading,
            reading: Some(id),
            followup: None,
            detail: measure.show(value, value2),
            urgent: *critical,
            due_at: now + if *critical { URGENT_MS } else { DUE_MS },
        };
        tasks.push(store::insert_task(&mut tx, &task, now).await?);
    }
    let access = policy::access_event(actor, "care.reading.create", "care_reading", person, &basis);
    audit::append(&mut tx, &access).await?;
    tx.commit().await?;
    Ok(ReadingOutcome {
        id,
        flagged: !tasks.is_empty(),
        tasks,
    })
}

// ---- Questionnaires ----

/// A follow-up with its questionnaire, for the patient side to answer (or anyone on the plan
/// to read).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FollowupDetail {
    #[serde(flatten)]
    pub followup: FollowupView,
    pub plan_id: i64,
    pub person_id: i64,
    /// Null until answered.
    #[schema(value_type = Option<Object>)]
    pub answers: Option<Value>,
    pub answered_at: Option<String>,
}

async fn followup_for(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
) -> AppResult<(FollowupRow, PlanRow, Side)> {
    actor.require()?;
    let f = store::followup(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no follow-up {id}")))?;
    let (plan, side) = plan_for(state, actor, f.plan_id, action)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => AppError::NotFound(format!("no follow-up {id}")),
            e => e,
        })?;
    Ok((f, plan, side))
}

pub async fn followup(state: &AppState, actor: &Actor, id: i64) -> AppResult<FollowupDetail> {
    let (f, _, _) = followup_for(state, actor, id, "care.followup.read").await?;
    Ok(FollowupDetail {
        followup: followup_view(&f),
        plan_id: f.plan_id,
        person_id: f.person_id,
        answers: f
            .answers
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok()),
        answered_at: f.answered_at.map(cst_rfc3339),
    })
}

/// The answers to a follow-up, by question.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AnswersInput {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, Value>,
}

/// The patient side answers a follow-up sent to them (late answers are taken too); answers
/// that call for the team open a task.
pub async fn answer(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: &AnswersInput,
) -> AppResult<Option<i64>> {
    let me = actor.require()?;
    let (f, plan, side) = followup_for(state, actor, id, "care.followup.answer").await?;
    if side != Side::Patient {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "a questionnaire is answered by the patient or their family",
        ));
    }
    let Some(q) = protocol::questionnaire(&f.questionnaire) else {
        return Err(AppError::wrong_state(
            "this questionnaire is no longer used",
        ));
    };
    if !matches!(f.status, FollowupStatus::Sent | FollowupStatus::Missed) {
        return Err(AppError::wrong_state(match f.status {
            FollowupStatus::Answered => "this questionnaire has been answered",
            _ => "this questionnaire is not open: it has not been sent yet, or its plan ended",
        }));
    }
    let (kept, alerts) =
        protocol::check_answers(q, &input.answers).map_err(AppError::Validation)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let text = serde_json::to_string(&kept).map_err(|e| AppError::Internal(e.into()))?;
    if !store::answer(&mut tx, id, &text, me.account_id, now).await? {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            "the questionnaire changed while you were answering; reload it",
        ));
    }
    let task = if alerts.is_empty() {
        None
    } else {
        let t = NewTask {
            plan: &plan,
            kind: TaskKind::Answer,
            reading: None,
            followup: Some(id),
            detail: alerts.join(","),
            urgent: false,
            due_at: now + DUE_MS,
        };
        Some(store::insert_task(&mut tx, &t, now).await?)
    };
    let e = NewEvent::new(actor.audit(), "care.followup.answer", "care_followup")
        .object(id)
        .patient(f.person_id);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(task)
}

// ---- Tasks ----

/// The open tasks of the reader's teams (soonest due first), then those closed in the last
/// day.
pub async fn tasks(state: &AppState, actor: &Actor) -> AppResult<Vec<TaskView>> {
    let me = actor.require()?;
    if !me.role.is_clinician() {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "care tasks are for the members of care teams",
        ));
    }
    let now = state.now_ms();
    let rows = store::team_tasks(&state.db, me.account_id, now - DUE_MS).await?;
    let e = NewEvent::new(actor.audit(), "care.task.list", "care_task")
        .reason(format!("{} tasks", rows.len()));
    audit::record(&state.db, &e).await?;
    Ok(rows.into_iter().map(|t| task_view(t, now)).collect())
}

/// A member of the task's team closes it with a reply the patient side reads on the plan
/// (and is told of).
pub async fn close_task(state: &AppState, actor: &Actor, id: i64, reply: &str) -> AppResult<()> {
    let me = actor.require()?;
    let t = store::task(&state.db, id)
        .await?
        .ok_or_else(|| no_task(id))?;
    let member = me.role.is_clinician()
        && super::store::role_in(&state.db, t.team_id, me.account_id)
            .await?
            .is_some();
    if !member {
        crate::identity::service::deny(
            state,
            actor,
            "care.task.close",
            "care_task",
            Some(id.to_string()),
            Some(t.person_id),
            "not a member of the task's team",
        )
        .await?;
        return Err(no_task(id));
    }
    let reply = reply.trim();
    if !(2..=500).contains(&reply.chars().count()) {
        return Err(AppError::field(
            FieldError::length("reply", 2, 500).localized(
                "care.err.reply",
                vec![("min", "2".to_owned()), ("max", "500".to_owned())],
            ),
        ));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::close_task(&mut tx, id, me.account_id, reply, now).await? {
        return Err(AppError::wrong_state("the task has been closed already"));
    }
    tell_patient_side(&mut tx, &t, now).await?;
    let e = NewEvent::new(actor.audit(), "care.task.close", "care_task")
        .object(id)
        .patient(t.person_id);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(())
}

async fn tell_patient_side(tx: &mut Tx, t: &TaskRow, now: i64) -> AppResult<()> {
    for a in crate::teleconsult::store::patient_side(tx, t.person_id).await? {
        let n = Notice::new(a, Event::CareReply, format!("care-task:{}", t.id))
            .param("team", t.team.clone())
            .link(format!("/care/plans/{}", t.plan_id));
        notify(tx, &n, now).await?;
    }
    Ok(())
}
