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
