//! One record (同质化): everything about a person the reader may see, gathered once for the
//! record timeline and for FHIR `Patient/$everything` — offline diagnoses, online visits,
//! prescriptions, appointments, care plans, reports and home readings.
//!
//! Each part is read through its own service, so each keeps its own rule: the patient side
//! sees all of it; a clinician (through the policy, care link or break-glass) sees what their
//! hospital holds — its diagnoses, the consultations they held, its prescriptions and
//! appointments, the plans of their teams, its reports and uploads — and the home readings.
//! A link at one hospital does not open another's records, here as everywhere.

use crate::app::AppState;
use crate::consult::service::ConsultationView;
use crate::consult::store::OfflineDiagnosis;
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::pharmacy::prescription_store::{FindingRow, ItemRow, PrescriptionRow};
use crate::policy;
use crate::scheduling::model::Appointment;

use super::plan::{self, PlanView};
use super::plan_store::{self, ReadingRow};
use super::report::{self, ReportView};

/// The most of each part gathered (a record of five busy years fits).
const MOST: i64 = 2_000;

/// A prescription with its lines and the pharmacist's findings.
pub struct Prescribed {
    pub prescription: PrescriptionRow,
    pub items: Vec<ItemRow>,
    pub findings: Vec<FindingRow>,
}

pub struct Record {
    pub person: i64,
    pub diagnoses: Vec<OfflineDiagnosis>,
    pub consultations: Vec<ConsultationView>,
    pub prescriptions: Vec<Prescribed>,
    pub appointments: Vec<Appointment>,
    pub plans: Vec<PlanView>,
    pub reports: Vec<ReportView>,
    pub readings: Vec<ReadingRow>,
}

/// Gathers the person's record as `actor` may see it (audited as `record.read`, and each part
/// by its service).
pub async fn gather(state: &AppState, actor: &Actor, person: i64) -> AppResult<Record> {
    let me = actor.require()?;
    policy::authorize_patient(state, actor, "record.read", "person", person, None).await?;
    let patient_side = me.role == Role::Patient;
    let own =
        |hospital: Option<i64>| patient_side || hospital.is_none_or(|h| Some(h) == me.hospital_id);
    let diagnoses = crate::consult::store::offline_diagnoses(&state.db, person)
        .await?
        .into_iter()
        .filter(|d| own(Some(d.hospital_id)))
        .collect();
    let consultations = crate::consult::service::for_person(state, actor, person, MOST).await?;
    let mut prescriptions = Vec::new();
    for p in crate::pharmacy::prescribing::for_person(state, actor, person).await? {
        let (items, findings) =
            crate::pharmacy::prescribing::lines_and_findings(state, p.id).await?;
        prescriptions.push(Prescribed {
            prescription: p,
            items,
            findings,
        });
    }
    let appointments = crate::scheduling::service::search_appointments(
        state,
        actor,
        Some(person),
        (0, i64::MAX),
        None,
        MOST,
        false,
    )
    .await?
    .into_iter()
    .filter(|a| own(Some(a.hospital_id)))
    .collect();
    let mut plans = Vec::new();
    for p in plan::plans(state, actor).await? {
        if p.person.id == person {
            plans.push(plan::plan(state, actor, p.id).await?);
        }
    }
    let reports = report::of_person(state, actor, person).await?;
    let readings = plan_store::readings(&state.db, person, MOST).await?;
    Ok(Record {
        person,
        diagnoses,
        consultations,
        prescriptions,
        appointments,
        plans,
        reports,
        readings,
    })
}

/// One offline diagnosis: the patient side, or a clinician through the policy at the hospital
/// that made it.
pub async fn diagnosis(state: &AppState, actor: &Actor, id: i64) -> AppResult<OfflineDiagnosis> {
    let not_found = || AppError::NotFound(format!("no diagnosis {id}"));
    let d = crate::consult::store::offline_diagnosis(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    policy::authorize_patient_at(
        state,
        actor,
        "record.diagnosis.read",
        "offline_diagnosis",
        d.person_id,
        Some(d.hospital_id),
        None,
    )
    .await
    .map_err(|e| match e {
        AppError::NotFound(_) => not_found(),
        e => e,
    })?;
    Ok(d)
}

/// A person's offline diagnoses as the reader may see them (audited).
pub async fn diagnoses(
    state: &AppState,
    actor: &Actor,
    person: i64,
) -> AppResult<Vec<OfflineDiagnosis>> {
    let me = actor.require()?;
    policy::authorize_patient(
        state,
        actor,
        "record.diagnosis.list",
        "offline_diagnosis",
        person,
        None,
    )
    .await?;
    Ok(crate::consult::store::offline_diagnoses(&state.db, person)
        .await?
        .into_iter()
        .filter(|d| me.role == Role::Patient || Some(d.hospital_id) == me.hospital_id)
        .collect())
}

/// One home reading with its person: whoever may read the person's record.
pub async fn reading(state: &AppState, actor: &Actor, id: i64) -> AppResult<(i64, ReadingRow)> {
    let not_found = || AppError::NotFound(format!("no reading {id}"));
    let (person, r) = plan_store::reading(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    policy::authorize_patient(
        state,
        actor,
        "care.reading.read",
        "care_reading",
        person,
        None,
    )
    .await
    .map_err(|e| match e {
        AppError::NotFound(_) => not_found(),
        e => e,
    })?;
    Ok((person, r))
}

/// A reading the caller has just recorded (its access was decided then).
pub async fn recorded(state: &AppState, id: i64) -> AppResult<ReadingRow> {
    plan_store::reading(&state.db, id)
        .await?
        .map(|(_, r)| r)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("reading {id} vanished")))
}

/// A person's home readings, newest first (audited).
pub async fn readings(state: &AppState, actor: &Actor, person: i64) -> AppResult<Vec<ReadingRow>> {
    policy::authorize_patient(
        state,
        actor,
        "care.reading.list",
        "care_reading",
        person,
        None,
    )
    .await?;
    Ok(plan_store::readings(&state.db, person, MOST).await?)
}

crate::text_enum! {
    /// What a line of the timeline is.
    pub enum EntryKind {
        Diagnosis = "diagnosis",
        Consultation = "consultation",
        Prescription = "prescription",
        Appointment = "appointment",
        Plan = "plan",
        Report = "report",
        /// A home reading beyond a plan's limit.
        Reading = "reading",
        /// A month's home readings, counted.
        Readings = "readings",
    }
}

/// One line of the record's timeline. `title_key`/`status_key` are catalogue keys the page
/// says in its language; `title` and `detail` are the record's own words.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Entry {
    /// `YYYY-MM-DD`, or `YYYY-MM-DD HH:MM` China time when the time is known.
    pub at: String,
    pub kind: EntryKind,
    pub title_key: Option<String>,
    pub title: String,
    pub status_key: Option<String>,
    pub detail: String,
    /// The page that shows it, when there is one.
    pub link: Option<String>,
}

fn minute(ms: i64) -> String {
    let s = crate::time::cst_rfc3339(ms);
    s.get(..16).unwrap_or(&s).replace('T', " ")
}

fn entry(at: String, kind: EntryKind, title: String) -> Entry {
    Entry {
        at,
        kind,
        title_key: None,
        title,
        status_key: None,
        detail: String::new(),
        link: None,
    }
}

/// The record as one list, newest first: each diagnosis, visit, prescription, appointment,
/// plan and report; readings beyond a limit one by one, and every month's readings counted.
pub fn timeline(rec: &Record) -> Vec<Entry> {
    let mut out = Vec::new();
    for d in &rec.diagnoses {
        let mut e = entry(d.diagnosed_on.clone(), EntryKind::Diagnosis, d.name.clone());
        e.detail = d.icd10.clone();
        out.push(e);
    }
    for v in &rec.consultations {
        let c = &v.consultation;
        let mut e = entry(minute(c.created_at), EntryKind::Consultation, String::new());
        e.title_key = Some(format!("consult.kind.{}", c.kind));
        e.status_key = Some(format!("consult.status.{}", c.status));
        e.detail = v
            .note
            .as_ref()
            .map(|n| {
                n.diagnoses
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            })
            .unwrap_or_default();
        e.link = Some(format!("/consultations/{}", c.id));
        out.push(e);
    }
    for p in &rec.prescriptions {
        let rx = &p.prescription;
        let mut e = entry(
            minute(rx.signed_at),
            EntryKind::Prescription,
            rx.diagnosis_name.clone(),
        );
        e.status_key = Some(format!("rx.status.{}", rx.status));
        e.detail = p
            .items
            .iter()
            .map(|i| i.drug_name.as_str())
            .collect::<Vec<_>>()
            .join("、");
        e.link = Some(format!("/prescriptions/{}", rx.id));
        out.push(e);
    }
    for a in &rec.appointments {
        let mut e = entry(minute(a.start_at), EntryKind::Appointment, String::new());
        e.status_key = Some(format!("appointments.status.{}", a.status));
        out.push(e);
    }
    for p in &rec.plans {
        let mut e = entry(p.starts_on.clone(), EntryKind::Plan, p.team.name.clone());
        e.title_key = Some(format!("plan.t.{}", p.template));
        e.status_key = Some(format!("plan.status.{}", p.status));
        e.link = Some(format!("/care/plans/{}", p.id));
        out.push(e);
    }
    for r in &rec.reports {
        let mut e = entry(r.performed_on.clone(), EntryKind::Report, r.title.clone());
        e.status_key = Some(format!("report.status.{}", r.status));
        e.detail = r.hospital_name.clone();
        e.link = Some(format!("/care/reports/{}", r.id));
        out.push(e);
    }
    // Readings: the month's count (and how many were beyond a limit), and each of those.
    let mut months: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for r in &rec.readings {
        let at = minute(r.taken_at);
        let month = at.get(..7).unwrap_or_default().to_owned();
        let m = months.entry(month).or_default();
        m.0 += 1;
        if r.flagged {
            m.1 += 1;
            let mut e = entry(at, EntryKind::Reading, r.measure.show(r.value, r.value2));
            e.title_key = Some(format!("plan.m.{}", r.measure));
            out.push(e);
        }
    }
    for (month, (n, flagged)) in months {
        let mut e = entry(format!("{month}-99"), EntryKind::Readings, n.to_string());
        e.detail = flagged.to_string();
        out.push(e);
    }
    // Newest first; a month's count heads the month (its day `99` sorts after every date).
    out.sort_by(|a, b| b.at.cmp(&a.at));
    for e in &mut out {
        if e.kind == EntryKind::Readings {
            e.at.truncate(7);
        }
    }
    out
}

/// The timeline of a person's record as the reader may see it.
pub async fn person_timeline(
    state: &AppState,
    actor: &Actor,
    person: i64,
) -> AppResult<Vec<Entry>> {
    Ok(timeline(&gather(state, actor, person).await?))
}
