//! Suspected cases: opened by a screening rule or by the treating doctor (重点标注), pushed to
//! the hospital's infection officers at once (their dashboard polls; each officer with a
//! phone gets a message through the Notifier), and worked step by step to closed or
//! dismissed. A positive result makes the report card (传染病报告卡). Overdue steps are
//! reminded by the recurring `surveillance.sla` job.

use serde::Serialize;
use triage::screening::Evidence;

use super::model::{Action, Status, Step, StepInput, transition};
use super::screen::Subject;
use super::store::{self, CaseRow};
use crate::app::AppState;
use crate::audit::{self, AuditActor, NewEvent};
use crate::db::Tx;
use crate::error::{AppError, AppResult, Reason};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::jobs::{Job, JobContext, JobResult};
use crate::notification::model::{Event, Notice};
use crate::notification::service::notify;
use crate::policy;
use crate::time::cst_today;

/// A flag to raise.
pub struct NewFlag<'a> {
    pub subject: Subject,
    pub rule_id: &'a str,
    pub rule_name: &'a str,
    pub rule_version: i64,
    pub evidence: Vec<(String, Evidence)>,
    pub flagged_by: Option<i64>,
    pub syndrome: &'a str,
    pub region: &'a str,
}

/// Opens a case in the caller's transaction, counts it, and queues the officers' messages;
/// `None` when the consultation already has an open case.
pub async fn open(
    tx: &mut Tx,
    flag: &NewFlag<'_>,
    actor: &AuditActor,
    now: i64,
) -> AppResult<Option<i64>> {
    let evidence =
        serde_json::to_string(&flag.evidence).map_err(|e| AppError::Internal(e.into()))?;
    let syndrome = if flag.syndrome.is_empty() {
        "suspected"
    } else {
        flag.syndrome
    };
    let new = store::NewCase {
        hospital: flag.subject.hospital,
        consultation: Some(flag.subject.consultation),
        person: flag.subject.person,
        rule_id: flag.rule_id,
        rule_name: flag.rule_name,
        rule_version: flag.rule_version,
        evidence: &evidence,
        syndrome,
        flagged_by: flag.flagged_by,
        due_at: Status::Flagged.due_at(now),
    };
    let Some(id) = store::insert_case(tx, &new, now).await? else {
        return Ok(None);
    };
    store::insert_case_event(
        tx,
        id,
        None,
        Status::Flagged,
        flag.flagged_by,
        Some(flag.rule_name),
        now,
    )
    .await?;
    audit::append(
        tx,
        &NewEvent::new(actor.clone(), "epi_case.flag", "epi_case")
            .object(id)
            .patient(flag.subject.person)
            .reason(format!("{} ({})", flag.rule_name, flag.rule_id)),
    )
    .await?;
    let day = cst_today(now).to_string();
    let count = store::Count {
        day: &day,
        region: flag.region,
        syndrome,
        source: "flag",
        hospital: flag.subject.hospital,
    };
    store::add_count(tx, &count, 1).await?;
    for officer in store::officers(tx, flag.subject.hospital).await? {
        let notice = Notice::new(officer, Event::EpiFlag, format!("case:{id}"))
            .param("case", id.to_string())
            .param("rule", flag.rule_name)
            .link(format!("/surveillance/cases/{id}"));
        notify(tx, &notice, now).await?;
    }
    Ok(Some(id))
}

/// The shortest reason a doctor gives for flagging.
const MIN_REASON_CHARS: usize = 4;

/// The treating doctor flags their consultation (重点标注) with a reason.
pub async fn flag_by_doctor(
    state: &AppState,
    actor: &Actor,
    consultation: i64,
    reason: &str,
) -> AppResult<Option<CaseRow>> {
    let me = actor.require()?;
    let c = crate::consult::service::read(state, actor, consultation).await?;
    let c = c.consultation;
    if me.role != Role::Doctor || c.doctor_id != Some(me.account_id) {
        return Err(AppError::Forbidden(
            "only the consultation's doctor flags it".to_owned(),
        ));
    }
    let reason = reason.trim();
    let n = reason.chars().count();
    if !(MIN_REASON_CHARS..=500).contains(&n) {
        return Err(AppError::invalid(
            "reason",
            format!("say why in {MIN_REASON_CHARS} to 500 characters (e.g. 武汉返回，发热38.5℃)"),
        ));
    }
    let current = super::rules::current(state, c.hospital_id).await?;
    let region = super::screen::hospital_region(state, c.hospital_id).await?;
    let now = state.now_ms();
    let evidence = vec![(
        "doctor".to_owned(),
        Evidence {
            source: "doctor".to_owned(),
            quote: reason.to_owned(),
        },
    )];
    let flag = NewFlag {
        subject: Subject {
            consultation: c.id,
            person: c.person_id,
            hospital: c.hospital_id,
        },
        rule_id: "doctor",
        rule_name: "医生标注疑似病例",
        rule_version: current.version,
        evidence,
        flagged_by: Some(me.account_id),
        syndrome: "suspected",
        region: &region,
    };
    let mut tx = state.db.begin().await?;
    let opened = open(&mut tx, &flag, &actor.audit(), now).await?;
    tx.commit().await?;
    if opened.is_none() {
        return Err(AppError::refused(
            Reason::AlreadyFlagged,
            "this consultation is already flagged; the infection officers are working it",
        ));
    }
    Ok(store::case_of_consultation(&state.db, c.id).await?)
}

/// The case a consultation's page marks for its doctor (the newest, open or not).
pub async fn of_consultation(state: &AppState, consultation: i64) -> AppResult<Option<CaseMark>> {
    Ok(store::case_of_consultation(&state.db, consultation)
        .await?
        .map(|c| CaseMark {
            id: c.id,
            status: c.status(),
            rule_name: c.rule_name,
        }))
}

/// What a consultation's page shows of its case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseMark {
    pub id: i64,
    pub status: Status,
    pub rule_name: String,
}

/// A case in a list: no patient data beyond a masked name (the list refreshes every few
/// seconds; the case's page is the audited read).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseItem {
    pub id: i64,
    pub hospital_id: i64,
    pub status: Status,
    pub rule_name: String,
    pub patient: String,
    pub created_at: i64,
    pub due_at: Option<i64>,
    pub overdue: bool,
}

/// Who sees which hospitals' cases: an officer their own, a regulator or platform
/// administrator all.
fn scope(actor: &Actor) -> AppResult<Option<i64>> {
    let me = actor.require()?;
    match me.role {
        Role::InfectionOfficer => me
            .hospital_id
            .map(Some)
            .ok_or_else(|| AppError::Forbidden("your account belongs to no hospital".to_owned())),
        Role::Regulator | Role::PlatformAdmin => Ok(None),
        role => Err(AppError::Forbidden(format!(
            "a {role} does not see the infection officers' cases"
        ))),
    }
}

/// "张*", "欧阳**": a surname and a star per other character.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

async fn items(state: &AppState, rows: Vec<CaseRow>, now: i64) -> AppResult<Vec<CaseItem>> {
    let mut out = Vec::with_capacity(rows.len());
    for c in rows {
        let name = crate::identity::store::person(&state.db, c.person_id)
            .await?
            .map(|p| mask_name(&p.name))
            .unwrap_or_default();
        out.push(CaseItem {
            id: c.id,
            hospital_id: c.hospital_id,
            status: c.status(),
            overdue: c.due_at.is_some_and(|d| d < now),
            due_at: c.due_at,
            rule_name: c.rule_name,
            patient: name,
            created_at: c.created_at,
        });
    }
    Ok(out)
}

/// Open cases, newest first, and those ended in the last seven days.
pub async fn list(state: &AppState, actor: &Actor) -> AppResult<(Vec<CaseItem>, Vec<CaseItem>)> {
    let hospital = scope(actor)?;
    let now = state.now_ms();
    let open = store::open_cases(&state.db, hospital, 200).await?;
    let ended = store::ended_cases(&state.db, hospital, now - 7 * 86_400_000, 50).await?;
    Ok((
        items(state, open, now).await?,
        items(state, ended, now).await?,
    ))
}

/// A case as its officer works it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: i64,
    pub hospital_id: i64,
    pub consultation_id: Option<i64>,
    pub person_id: i64,
    pub status: Status,
    pub rule_id: String,
    pub rule_name: String,
    pub rule_version: i64,
    pub syndrome: String,
    pub evidence: Vec<(String, Evidence)>,
    pub flagged_by: Option<i64>,
    pub patient_name: String,
    pub patient_sex: String,
    pub patient_birth_date: String,
    pub id_number_masked: String,
    /// The phone of the account that asked for the consultation: whom to call.
    pub contact_phone: Option<String>,
    pub transport: Option<String>,
    pub instructions: Option<String>,
    pub test_name: Option<String>,
    pub test_at: Option<i64>,
    pub result: Option<String>,
    pub disease: Option<String>,
    pub dismiss_reason: Option<String>,
    pub due_at: Option<i64>,
    pub overdue: bool,
    pub next_action: Option<Action>,
    pub history: Vec<store::CaseEventRow>,
    pub report_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A case for an officer of its hospital; the read of the patient is audited.
pub async fn read(state: &AppState, actor: &Actor, id: i64) -> AppResult<CaseView> {
    let c = case_for_officer(state, actor, id, "epi_case.read").await?;
    view(state, c).await
}

/// The case, if the actor is an officer of its hospital (others: 404 for patients, 403 for
/// staff, as the policy decides and audits).
async fn case_for_officer(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
) -> AppResult<CaseRow> {
    let me = actor.require()?;
    let c = store::case(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no case with id {id}")))?;
    if !(me.role == Role::InfectionOfficer && me.hospital_id == Some(c.hospital_id)) {
        crate::identity::service::deny(
            state,
            actor,
            action,
            "epi_case",
            Some(c.id.to_string()),
            Some(c.person_id),
            "not an infection officer of the case's hospital",
        )
        .await?;
        return Err(match me.role {
            Role::InfectionOfficer | Role::Patient => {
                AppError::NotFound(format!("no case with id {id}"))
            }
            role => AppError::Forbidden(format!(
                "a {role} does not work suspected cases; the hospital's infection officers do"
            )),
        });
    }
    policy::authorize_patient_at(
        state,
        actor,
        action,
        "epi_case",
        c.person_id,
        Some(c.hospital_id),
        None,
    )
    .await?;
    Ok(c)
}

async fn view(state: &AppState, c: CaseRow) -> AppResult<CaseView> {
    let person = crate::identity::store::person(&state.db, c.person_id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("case {} has no person", c.id)))?;
    let contact_phone = match c.consultation_id {
        Some(cid) => contact_phone(state, cid).await?,
        None => None,
    };
    let evidence: Vec<(String, Evidence)> = serde_json::from_str(&c.evidence).unwrap_or_default();
    let history = store::case_events(&state.db, c.id).await?;
    let report_id = store::report_of_case(&state.db, c.id).await?.map(|r| r.id);
    let status = c.status();
    Ok(CaseView {
        id: c.id,
        hospital_id: c.hospital_id,
        consultation_id: c.consultation_id,
        person_id: c.person_id,
        status,
        rule_id: c.rule_id,
        rule_name: c.rule_name,
        rule_version: c.rule_version,
        syndrome: c.syndrome,
        evidence,
        flagged_by: c.flagged_by,
        patient_name: person.name,
        patient_sex: person.sex,
        patient_birth_date: person.birth_date,
        id_number_masked: person.id_number_mask,
        contact_phone,
        transport: c.transport,
        instructions: c.instructions,
        test_name: c.test_name,
        test_at: c.test_at,
        result: c.result,
        disease: c.disease,
        dismiss_reason: c.dismiss_reason,
        overdue: c.due_at.is_some_and(|d| d < state.now_ms()),
        due_at: c.due_at,
        next_action: status.next_action(),
        history,
        report_id,
        created_at: c.created_at,
        updated_at: c.updated_at,
    })
}

/// The phone of the account that requested the consultation, in full (the officer calls it).
pub(crate) async fn contact_phone(
    state: &AppState,
    consultation: i64,
) -> AppResult<Option<String>> {
    let Some(c) = crate::consult::store::consultation(&state.db, consultation).await? else {
        return Ok(None);
    };
    let Some(account) = crate::identity::store::account(&state.db, c.requested_by).await? else {
        return Ok(None);
    };
    match account.phone_enc {
        Some(sealed) => Ok(Some(
            state.keys.decrypt(&sealed).map_err(AppError::Internal)?,
        )),
        None => Ok(None),
    }
}

/// Takes one step of a case; an illegal move is refused with the reason (409).
pub async fn step(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: &StepInput,
) -> AppResult<CaseView> {
    let now = state.now_ms();
    let step = input
        .validate(cst_today(now))
        .map_err(AppError::Validation)?;
    let c = case_for_officer(state, actor, id, "epi_case.update").await?;
    let me = actor.require()?;
    let from = c.status();
    let to = transition(from, step.action()).map_err(AppError::Conflict)?;
    let mut changes = store::Changes::default();
    let mut report = None;
    match &step {
        Step::ArrangeTransport {
            transport,
            instructions,
        } => {
            changes.transport = Some(transport.as_str());
            changes.instructions = Some(instructions.as_str());
        }
        Step::BookTest { test_name, test_at } => {
            changes.test_name = Some(test_name.as_str());
            changes.test_at = Some(*test_at);
        }
        Step::RecordResult {
            positive,
            report: r,
        } => {
            changes.result = Some(if *positive { "positive" } else { "negative" });
            if let Some(r) = r {
                changes.disease = Some(r.disease.as_str());
                report = Some(r);
            }
        }
        Step::Dismiss { reason } => changes.dismiss_reason = Some(reason.as_str()),
        Step::Contact { .. } | Step::Close { .. } => {}
    }
    let region = super::screen::hospital_region(state, c.hospital_id).await?;
    let note = step.note();
    let mut tx = state.db.begin().await?;
    if !store::move_case(&mut tx, id, (from, to), &changes, to.due_at(now), now).await? {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            "the case moved on meanwhile; reload to see its step".to_owned(),
        ));
    }
    store::insert_case_event(
        &mut tx,
        id,
        Some(from),
        to,
        Some(me.account_id),
        Some(&note),
        now,
    )
    .await?;
    let action = format!("epi_case.{}", step.action().as_str());
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), &action, "epi_case")
            .object(id)
            .patient(c.person_id)
            .reason(format!("{} → {}", from.as_str(), to.as_str())),
    )
    .await?;
    if let Some(r) = report {
        store::insert_report(
            &mut tx,
            &store::NewReport {
                case: id,
                hospital: c.hospital_id,
                person: c.person_id,
                disease: &r.disease,
                disease_class: r.disease_class,
                classification: r.classification,
                onset_on: r.onset_on.as_deref(),
                reporter: me.account_id,
                region: &region,
            },
            now,
        )
        .await?;
        let day = cst_today(now).to_string();
        let count = store::Count {
            day: &day,
            region: &region,
            syndrome: &c.syndrome,
            source: "positive",
            hospital: c.hospital_id,
        };
        store::add_count(&mut tx, &count, 1).await?;
    }
    tx.commit().await?;
    // The step's audit event already covers this read of the patient.
    let moved = store::case(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no case with id {id}")))?;
    view(state, moved).await
}

/// `surveillance.sla`: reminds the officers of steps that became overdue, once per step.
pub struct RemindOverdue(pub AppState);

pub const SLA_KIND: &str = "surveillance.sla";

crate::empty_payload!(
    /// The payload of `RemindOverdue`: none, it looks for what is due.
    RemindOverdueDue = SLA_KIND
);

impl Job for RemindOverdue {
    type Payload = RemindOverdueDue;

    async fn run(&self, _ctx: &JobContext, _: RemindOverdueDue) -> JobResult {
        let state = &self.0;
        let now = state.now_ms();
        for c in store::overdue(&state.db, now).await? {
            let mut tx = state.db.begin().await?;
            if store::mark_reminded(&mut tx, c.id, c.status(), now).await? {
                for officer in store::officers(&mut tx, c.hospital_id).await? {
                    let cause = format!("case:{}:{}:{now}", c.id, c.status());
                    let notice = Notice::new(officer, Event::EpiOverdue, cause)
                        .param("case", c.id.to_string())
                        .param("status", status_zh(c.status()))
                        .param("rule", c.rule_name.clone())
                        .link(format!("/surveillance/cases/{}", c.id));
                    notify(&mut tx, &notice, now).await?;
                }
            }
            tx.commit().await?;
        }
        Ok(())
    }
}

/// A status in the officers' messages (the pages use the i18n catalog).
pub fn status_zh(s: Status) -> &'static str {
    match s {
        Status::Flagged => "待联系",
        Status::Contacted => "已联系",
        Status::TransportArranged => "已安排转运",
        Status::TestBooked => "已预约检测",
        Status::ResultRecorded => "已出结果",
        Status::Closed => "已结案",
        Status::Dismissed => "已排除",
    }
}
