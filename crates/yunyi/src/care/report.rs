//! Reports and their interpretation (检查/病理结果解读): a lab, imaging or pathology report
//! the hospital records with its structured results, or the patient uploads as a photo or PDF;
//! the patient side asks a doctor who cares for them, or their care team, what it means, and
//! the doctor's interpretation is stored with the report.
//!
//! | step | who |
//! |---|---|
//! | record a hospital report | a doctor with a care link to the patient at their hospital (its ordering doctor) |
//! | upload a report | the patient side |
//! | read a report, its file | the patient side; a clinician through the policy at the report's hospital, or at the asked team's hospital when asked of their team |
//! | ask for an interpretation | the patient side, of a doctor with an active care link to the person, or a team of their contract or plans |
//! | interpret | the doctor asked, or a doctor of the team asked |
//!
//! Only those who already care for the person may be asked, so asking grants nobody new
//! access: the question reaches people the policy already lets read the record.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::report_store::{
    self as store, NewReport, ReportKind, ReportRow, ReportSource, ReportStatus,
};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::notification::model::{Event, Notice};
use crate::notification::service::notify;
use crate::policy;
use crate::teleconsult::service::IdName;
use crate::time::{cst_rfc3339, cst_today};

/// The most results one report carries.
pub const MAX_RESULTS: usize = 100;
/// Interpretations are kept a day in the doctor's list after they are given.
const DAY_MS: i64 = 24 * 3_600_000;

fn no_report(id: i64) -> AppError {
    AppError::NotFound(format!("no report {id}"))
}

/// One structured result as written: `value` as on the report (a number, or words such as
/// 阴性), with its reference range when the report gives one.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ResultInput {
    #[serde(default)]
    pub name: String,
    /// A LOINC code when known (e.g. `4548-4` for HbA1c).
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
}

/// A result as kept: with its flag against the range (`H` above, `L` below).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ResultValue {
    pub name: String,
    pub code: Option<String>,
    pub value: String,
    pub unit: Option<String>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub flag: Option<String>,
}

impl ResultValue {
    /// The value as a number, when it is one.
    pub fn number(&self) -> Option<f64> {
        self.value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
    }
}

fn flag(value: f64, low: Option<f64>, high: Option<f64>) -> Option<String> {
    if high.is_some_and(|h| value > h) {
        Some("H".to_owned())
    } else if low.is_some_and(|l| value < l) {
        Some("L".to_owned())
    } else {
        None
    }
}

fn is_code(s: &str) -> bool {
    (1..=20).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// Checks the results, naming each problem by its place (`results[2].value`).
pub fn check_results(results: &[ResultInput]) -> Result<Vec<ResultValue>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if results.len() > MAX_RESULTS {
        errors.push(
            FieldError::new("results", format!("at most {MAX_RESULTS} results"))
                .localized("care.err.results", vec![("max", MAX_RESULTS.to_string())]),
        );
        return Err(errors);
    }
    let mut kept = Vec::with_capacity(results.len());
    for (i, r) in results.iter().enumerate() {
        let at = |f: &str| format!("results[{i}].{f}");
        let name = r.name.trim();
        if !(1..=60).contains(&name.chars().count()) {
            errors.push(FieldError::length(at("name"), 1, 60));
        }
        let value = r.value.trim();
        if !(1..=40).contains(&value.chars().count()) {
            errors.push(FieldError::length(at("value"), 1, 40));
        }
        let code = r.code.as_deref().map(str::trim).filter(|c| !c.is_empty());
        if code.is_some_and(|c| !is_code(c)) {
            errors.push(
                FieldError::new(
                    at("code"),
                    "must be a code such as 4548-4 (letters, digits, '-' and '.')",
                )
                .localized("care.err.result_code", vec![]),
            );
        }
        let unit = r.unit.as_deref().map(str::trim).filter(|u| !u.is_empty());
        if unit.is_some_and(|u| u.chars().count() > 20) {
            errors.push(FieldError::length(at("unit"), 1, 20));
        }
        for (f, v) in [("low", r.low), ("high", r.high)] {
            if v.is_some_and(|v| !v.is_finite()) {
                errors.push(
                    FieldError::new(at(f), "must be a number").localized("care.err.number", vec![]),
                );
            }
        }
        if let (Some(l), Some(h)) = (r.low, r.high)
            && l > h
        {
            errors.push(
                FieldError::new(at("low"), "must not be above high")
                    .localized("care.err.low_high", vec![]),
            );
        }
        let number = value.parse::<f64>().ok().filter(|v| v.is_finite());
        kept.push(ResultValue {
            name: name.to_owned(),
            code: code.map(str::to_owned),
            value: value.to_owned(),
            unit: unit.map(str::to_owned),
            low: r.low,
            high: r.high,
            flag: number.and_then(|v| flag(v, r.low, r.high)),
        });
    }
    if errors.is_empty() {
        Ok(kept)
    } else {
        Err(errors)
    }
}

fn check_kind(kind: &str, errors: &mut Vec<FieldError>) -> Option<ReportKind> {
    let k = ReportKind::parse(kind.trim());
    if k.is_none() {
        errors.push(
            FieldError::new("kind", "must be lab, imaging or pathology")
                .localized("care.err.report_kind", vec![]),
        );
    }
    k
}

fn check_title(title: &str, errors: &mut Vec<FieldError>) {
    if !(1..=100).contains(&title.trim().chars().count()) {
        errors.push(FieldError::length("title", 1, 100));
    }
}

fn check_day(raw: &str, today: NaiveDate, errors: &mut Vec<FieldError>) -> String {
    match crate::consult::model::past_date(raw, today) {
        Ok(d) => d.to_string(),
        Err(_) if raw.trim().is_empty() => {
            errors.push(FieldError::required("performed_on"));
            String::new()
        }
        Err(m) if m.contains("future") => {
            errors.push(FieldError::not_future("performed_on"));
            String::new()
        }
        Err(_) => {
            errors.push(FieldError::date("performed_on", "2026-11-20"));
            String::new()
        }
    }
}

/// A report a hospital doctor records.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct HospitalReportInput {
    #[serde(default)]
    pub person_id: Option<i64>,
    /// `lab`, `imaging` or `pathology`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    /// `YYYY-MM-DD`, not in the future.
    #[serde(default)]
    pub performed_on: String,
    #[serde(default)]
    pub results: Vec<ResultInput>,
    /// The report's own words (diagnosis, impression); needed when there are no results.
    #[serde(default)]
    pub conclusion: String,
}

/// A checked report: what [`store::insert`] takes besides who and where.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedReport {
    pub kind: ReportKind,
    pub title: String,
    pub performed_on: String,
    pub results: Vec<ResultValue>,
    pub conclusion: String,
}

impl HospitalReportInput {
    /// Every problem at once.
    pub fn check(&self, today: NaiveDate) -> Result<CheckedReport, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.person_id.is_none() {
            errors.push(FieldError::required("person_id"));
        }
        let kind = check_kind(&self.kind, &mut errors);
        check_title(&self.title, &mut errors);
        let performed_on = check_day(&self.performed_on, today, &mut errors);
        let results = check_results(&self.results).unwrap_or_else(|e| {
            errors.extend(e);
            Vec::new()
        });
        let conclusion = self.conclusion.trim();
        if conclusion.chars().count() > 4000 {
            errors.push(FieldError::length("conclusion", 0, 4000));
        }
        if self.results.is_empty() && conclusion.is_empty() {
            errors.push(
                FieldError::new("conclusion", "is required when the report has no results")
                    .localized("care.err.conclusion", vec![]),
            );
        }
        match kind {
            Some(kind) if errors.is_empty() => Ok(CheckedReport {
                kind,
                title: self.title.trim().to_owned(),
                performed_on,
                results,
                conclusion: conclusion.to_owned(),
            }),
            _ => Err(errors),
        }
    }
}

/// A doctor records a report done at their hospital, as its ordering doctor.
pub async fn record(
    state: &AppState,
    actor: &Actor,
    input: &HospitalReportInput,
) -> AppResult<i64> {
    let me = actor.require()?;
    if me.role != Role::Doctor {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "hospital reports are recorded by doctors",
        ));
    }
    let checked = input
        .check(cst_today(state.now_ms()))
        .map_err(AppError::Validation)?;
    let person = input.person_id.unwrap_or_default();
    let Some(hospital) = me.hospital_id else {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "only a doctor of a hospital records its reports",
        ));
    };
    let basis = policy::decide_patient_at(
        state,
        actor,
        "care.report.create",
        "care_report",
        person,
        hospital,
    )
    .await?;
    let name = crate::directory::store::get_hospital(&state.db, hospital)
        .await?
        .map(|h| h.name)
        .unwrap_or_default();
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let id = insert_checked(
        &mut tx,
        &checked,
        person,
        (Some(hospital), &name),
        (ReportSource::Hospital, me.account_id, Some(me.account_id)),
        now,
    )
    .await?;
    audit::append(
        &mut tx,
        &policy::access_event(actor, "care.report.create", "care_report", person, &basis),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Stores a checked report (a doctor's, an import's).
pub(crate) async fn insert_checked(
    tx: &mut crate::db::Tx,
    r: &CheckedReport,
    person: i64,
    (hospital, hospital_name): (Option<i64>, &str),
    (source, by, ordered_by): (ReportSource, i64, Option<i64>),
    now: i64,
) -> AppResult<i64> {
    let results = if r.results.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&r.results).map_err(|e| AppError::Internal(e.into()))?)
    };
    let new = NewReport {
        person,
        kind: r.kind,
        title: &r.title,
        performed_on: &r.performed_on,
        hospital_id: hospital,
        hospital_name,
        source,
        by,
        ordered_by,
        results,
        conclusion: &r.conclusion,
        file: None,
    };
    Ok(store::insert(tx, &new, now).await?)
}

/// A report the patient side uploads (the file is the request's body).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadInput {
    #[serde(default)]
    pub person_id: Option<i64>,
    /// `lab`, `imaging` or `pathology`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub performed_on: String,
    /// Where it was done.
    #[serde(default)]
    pub hospital_name: String,
}

/// The patient side uploads a report: a JPEG, PNG or WebP photo (its metadata removed) or a
/// PDF, recognised by its bytes.
pub async fn upload(
    state: &AppState,
    actor: &Actor,
    input: &UploadInput,
    bytes: &[u8],
) -> AppResult<i64> {
    let me = actor.require()?;
    crate::capability::require_role(
        me,
        Role::Patient,
        "reports are uploaded by patients for themselves or their family",
    )?;
    let mut errors = Vec::new();
    let person = input.person_id.or(me.person_id);
    if person.is_none() {
        errors.push(FieldError::required("person_id"));
    }
    let kind = check_kind(&input.kind, &mut errors);
    check_title(&input.title, &mut errors);
    let day = check_day(&input.performed_on, cst_today(state.now_ms()), &mut errors);
    let hospital = input.hospital_name.trim();
    if !(1..=100).contains(&hospital.chars().count()) {
        errors.push(FieldError::length("hospital_name", 1, 100));
    }
    let (Some(person), Some(kind), true) = (person, kind, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let basis = policy::decide_patient(
        state,
        actor,
        "care.report.upload",
        "care_report",
        person,
        None,
    )
    .await?;
    let content_type = crate::consult::records::sniff_record(bytes).ok_or_else(|| {
        AppError::UnsupportedMediaType(
            "the report must be a JPEG, PNG or WebP photo or a PDF".to_owned(),
        )
    })?;
    let clean = crate::consult::records::clean_image(bytes, content_type)?;
    let key = state
        .blobs
        .put(&clean)
        .await
        .map_err(AppError::from_storage)?;
    let now = state.now_ms();
    let new = NewReport {
        person,
        kind,
        title: input.title.trim(),
        performed_on: &day,
        hospital_id: None,
        hospital_name: hospital,
        source: ReportSource::Patient,
        by: me.account_id,
        ordered_by: None,
        results: None,
        conclusion: "",
        file: Some((key, content_type)),
    };
    let mut tx = state.db.begin().await?;
    let id = store::insert(&mut tx, &new, now).await?;
    audit::append(
        &mut tx,
        &policy::access_event(actor, "care.report.upload", "care_report", person, &basis),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Who is reading a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    PatientSide,
    /// A clinician the question was put to (the doctor, or a doctor of the team).
    Asked,
    Clinician,
}

/// Loads a report for `actor` (`action`, audited by the policy).
async fn report_for(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
) -> AppResult<(ReportRow, Reader)> {
    let me = actor.require()?;
    let r = store::report(&state.db, id)
        .await?
        .ok_or_else(|| no_report(id))?;
    let in_team = match (r.asked_team, me.role) {
        (Some(team), Role::Doctor) => super::store::role_in(&state.db, team, me.account_id)
            .await?
            .is_some(),
        _ => false,
    };
    let asked = r.asked_doctor == Some(me.account_id) || in_team;
    // The hospital whose care link counts: the team's when asked of one's team (the patient
    // shared it with them), else the report's own (uploads: the reader's).
    let at = if in_team {
        r.asked_team_hospital
    } else {
        r.hospital_id
    };
    policy::authorize_patient_at(state, actor, action, "care_report", r.person_id, at, None)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => no_report(id),
            e => e,
        })?;
    let reader = if me.role == Role::Patient {
        Reader::PatientSide
    } else if asked {
        Reader::Asked
    } else {
        Reader::Clinician
    };
    Ok((r, reader))
}

/// A report as its readers see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub id: i64,
    pub person: IdName,
    pub kind: ReportKind,
    pub title: String,
    pub performed_on: String,
    pub hospital_id: Option<i64>,
    pub hospital_name: String,
    pub source: ReportSource,
    pub ordered_by: Option<IdName>,
    pub results: Vec<ResultValue>,
    pub conclusion: String,
    /// The file's type, when a file was uploaded (`GET …/file`).
    pub content_type: Option<String>,
    pub status: ReportStatus,
    pub question: Option<String>,
    pub asked_doctor: Option<IdName>,
    pub asked_team: Option<IdName>,
    pub asked_at: Option<String>,
    pub interpretation: Option<String>,
    pub interpreted_by: Option<IdName>,
    pub interpreted_at: Option<String>,
    pub created_at: String,
}

fn id_name(id: Option<i64>, name: Option<String>) -> Option<IdName> {
    id.map(|id| IdName {
        id,
        name: name.unwrap_or_default(),
    })
}

pub fn view(r: ReportRow) -> ReportView {
    ReportView {
        id: r.id,
        person: IdName {
            id: r.person_id,
            name: r.person,
        },
        kind: r.kind,
        title: r.title,
        performed_on: r.performed_on,
        hospital_id: r.hospital_id,
        hospital_name: r.hospital_name,
        source: r.source,
        ordered_by: id_name(r.ordered_by, r.ordered_by_name),
        results: r
            .results
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default(),
        conclusion: r.conclusion,
        content_type: r.content_type,
        status: r.status,
        question: r.question,
        asked_doctor: id_name(r.asked_doctor, r.asked_doctor_name),
        asked_team: id_name(r.asked_team, r.asked_team_name),
        asked_at: r.asked_at.map(cst_rfc3339),
        interpretation: r.interpretation,
        interpreted_by: id_name(r.interpreted_by, r.interpreted_by_name),
        interpreted_at: r.interpreted_at.map(cst_rfc3339),
        created_at: cst_rfc3339(r.created_at),
    }
}

/// A report, with who reads it.
pub async fn report(state: &AppState, actor: &Actor, id: i64) -> AppResult<(ReportView, Reader)> {
    let (r, reader) = report_for(state, actor, id, "care.report.read").await?;
    Ok((view(r), reader))
}

/// A report's uploaded file.
pub async fn file(state: &AppState, actor: &Actor, id: i64) -> AppResult<(Vec<u8>, String)> {
    let (r, _) = report_for(state, actor, id, "care.report.file").await?;
    let (Some(key), Some(content_type)) = (r.blob_key, r.content_type) else {
        return Err(AppError::NotFound(format!("report {id} has no file")));
    };
    let bytes = state
        .blobs
        .get(&key)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(|| AppError::NotFound(format!("the file of report {id} is missing")))?;
    Ok((bytes, content_type))
}

/// A person's reports: for the patient side, or a clinician through the policy.
pub async fn of_person(state: &AppState, actor: &Actor, person: i64) -> AppResult<Vec<ReportView>> {
    let me = actor.require()?;
    policy::authorize_patient(
        state,
        actor,
        "care.report.list",
        "care_report",
        person,
        None,
    )
    .await?;
    let rows = store::of_person(&state.db, person).await?;
    // A clinician lists what their hospital holds: its reports, uploads, and those asked of
    // them or of a team there (as reading one decides).
    let here = |h: Option<i64>| h.is_some_and(|h| Some(h) == me.hospital_id);
    Ok(rows
        .into_iter()
        .filter(|r| {
            me.role == Role::Patient
                || r.hospital_id.is_none()
                || here(r.hospital_id)
                || here(r.asked_team_hospital)
                || r.asked_doctor == Some(me.account_id)
        })
        .map(view)
        .collect())
}

/// The reports of everyone a patient acts for.
pub async fn mine(state: &AppState, actor: &Actor) -> AppResult<Vec<ReportView>> {
    let me = actor.require()?;
    crate::capability::require_role(me, Role::Patient, "these are a patient's own reports")?;
    let mut out = Vec::new();
    for person in crate::identity::service::searchable_patients(state, actor).await? {
        out.extend(
            store::of_person(&state.db, person)
                .await?
                .into_iter()
                .map(view),
        );
    }
    out.sort_by(|a, b| {
        b.performed_on
            .cmp(&a.performed_on)
            .then_with(|| b.id.cmp(&a.id))
    });
    let e = NewEvent::new(actor.audit(), "care.report.list", "care_report")
        .reason(format!("{} reports", out.len()));
    audit::record(&state.db, &e).await?;
    Ok(out)
}

/// Who the patient side may ask about a person's reports.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Askable {
    pub doctors: Vec<IdName>,
    pub teams: Vec<IdName>,
}

/// Who the patient side may ask about the person's reports (for their side only).
pub async fn askable_for(state: &AppState, actor: &Actor, person: i64) -> AppResult<Askable> {
    policy::authorize_patient_side(
        state,
        actor,
        "care.report.askable",
        "person",
        person,
        person,
    )
    .await?;
    askable(state, person).await
}

async fn askable(state: &AppState, person: i64) -> AppResult<Askable> {
    let doctors = store::askable_doctors(&state.db, person)
        .await?
        .into_iter()
        .map(|(id, name, _)| IdName { id, name })
        .collect();
    let teams = store::askable_teams(&state.db, person)
        .await?
        .into_iter()
        .map(|(id, name)| IdName { id, name })
        .collect();
    Ok(Askable { doctors, teams })
}

/// A question about a report: to one doctor or to one team.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AskInput {
    #[serde(default)]
    pub doctor_id: Option<i64>,
    #[serde(default)]
    pub team_id: Option<i64>,
    #[serde(default)]
    pub question: String,
}

/// The patient side asks a doctor or team who cares for the person for an interpretation;
/// they are told.
pub async fn ask(state: &AppState, actor: &Actor, id: i64, input: &AskInput) -> AppResult<()> {
    let (r, reader) = report_for(state, actor, id, "care.report.ask").await?;
    if reader != Reader::PatientSide {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "an interpretation is asked for by the patient or their family",
        ));
    }
    let question = input.question.trim();
    let mut errors = Vec::new();
    if question.chars().count() > 500 {
        errors.push(FieldError::length("question", 0, 500));
    }
    let who = match (input.doctor_id, input.team_id) {
        (Some(_), Some(_)) | (None, None) => {
            errors.push(
                FieldError::new("doctor_id", "choose one doctor or one team")
                    .localized("care.err.ask_whom", vec![]),
            );
            None
        }
        pair => Some(pair),
    };
    let Some((doctor, team)) = who.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let askable = askable(state, r.person_id).await?;
    let known = match (doctor, team) {
        (Some(d), _) => askable.doctors.iter().any(|x| x.id == d),
        (_, Some(t)) => askable.teams.iter().any(|x| x.id == t),
        _ => false,
    };
    if !known {
        let field = if doctor.is_some() {
            "doctor_id"
        } else {
            "team_id"
        };
        return Err(AppError::field(
            FieldError::new(
                field,
                "must be a doctor who cares for the patient now, or a team of their contract or plans",
            )
            .localized("care.err.ask_unknown", vec![]),
        ));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::ask(&mut tx, id, (doctor, team), question, now).await? {
        return Err(AppError::wrong_state(match r.status {
            ReportStatus::Interpreted => "this report has been interpreted",
            _ => "an interpretation has been asked for already",
        }));
    }
    let to = match (doctor, team) {
        (Some(d), _) => vec![d],
        (_, Some(t)) => store::team_doctors(&mut tx, t).await?,
        _ => Vec::new(),
    };
    for a in to {
        let n = Notice::new(a, Event::ReportAsked, format!("care-report:{id}"))
            .param("title", r.title.clone())
            .link(format!("/care/reports/{id}"));
        notify(&mut tx, &n, now).await?;
    }
    let e = NewEvent::new(actor.audit(), "care.report.ask", "care_report")
        .object(id)
        .patient(r.person_id);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(())
}

/// The asked doctor (or a doctor of the asked team) gives the interpretation; the patient
/// side is told.
pub async fn interpret(state: &AppState, actor: &Actor, id: i64, text: &str) -> AppResult<()> {
    let me = actor.require()?;
    let (r, reader) = report_for(state, actor, id, "care.report.interpret").await?;
    if reader != Reader::Asked {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "a report is interpreted by the doctor or team the patient asked",
        ));
    }
    let text = text.trim();
    if !(2..=2000).contains(&text.chars().count()) {
        return Err(AppError::field(FieldError::length(
            "interpretation",
            2,
            2000,
        )));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::interpret(&mut tx, id, me.account_id, text, now).await? {
        return Err(AppError::wrong_state(
            "this report has been interpreted already",
        ));
    }
    for a in crate::teleconsult::store::patient_side(&mut tx, r.person_id).await? {
        let n = Notice::new(a, Event::ReportInterpreted, format!("care-report:{id}"))
            .param("title", r.title.clone())
            .link(format!("/care/reports/{id}"));
        notify(&mut tx, &n, now).await?;
    }
    let e = NewEvent::new(actor.audit(), "care.report.interpret", "care_report")
        .object(id)
        .patient(r.person_id);
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(())
}

/// The reports waiting for the reader's interpretation, then those they interpreted lately.
pub async fn asked_of_me(state: &AppState, actor: &Actor) -> AppResult<Vec<ReportView>> {
    let me = actor.require()?;
    if me.role != Role::Doctor {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "reports are interpreted by doctors",
        ));
    }
    let rows = store::asked_of(&state.db, me.account_id, state.now_ms() - DAY_MS).await?;
    let e = NewEvent::new(actor.audit(), "care.report.queue", "care_report")
        .reason(format!("{} reports", rows.len()));
    audit::record(&state.db, &e).await?;
    Ok(rows.into_iter().map(view).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default()
    }

    fn hba1c(value: &str) -> ResultInput {
        ResultInput {
            name: "糖化血红蛋白".into(),
            code: Some("4548-4".into()),
            value: value.into(),
            unit: Some("%".into()),
            low: Some(4.0),
            high: Some(6.0),
        }
    }

    #[test]
    fn results_are_flagged_against_their_range() {
        let r = check_results(&[hba1c("7.2"), hba1c("3.1"), hba1c("5.5"), hba1c("阴性")])
            .expect("valid");
        let flags: Vec<_> = r.iter().map(|v| v.flag.as_deref()).collect();
        assert_eq!(flags, [Some("H"), Some("L"), None, None]);
        assert_eq!(r[0].number(), Some(7.2));
        assert_eq!(r[3].number(), None);
    }

    #[test]
    fn every_bad_result_is_named_by_its_place() {
        let mut bad = hba1c("");
        bad.code = Some("4548 4".into());
        bad.low = Some(9.0);
        let e = check_results(&[hba1c("6"), bad]).expect_err("invalid");
        let fields: Vec<_> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["results[1].value", "results[1].code", "results[1].low"]
        );
    }

    #[test]
    fn a_report_needs_results_or_words_and_a_past_day() {
        let input = HospitalReportInput {
            person_id: None,
            kind: "xray".into(),
            title: String::new(),
            performed_on: "2027-01-01".into(),
            results: vec![],
            conclusion: " ".into(),
        };
        let e = input.check(day()).expect_err("invalid");
        let fields: Vec<_> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["person_id", "kind", "title", "performed_on", "conclusion"]
        );
        let ok = HospitalReportInput {
            person_id: Some(1),
            kind: "pathology".into(),
            title: "胆囊病理".into(),
            performed_on: "2026-11-30".into(),
            results: vec![],
            conclusion: "慢性胆囊炎伴胆固醇结石".into(),
        };
        let c = ok.check(day()).expect("valid");
        assert_eq!(c.kind, ReportKind::Pathology);
        assert_eq!(c.performed_on, "2026-11-30");
    }
}
