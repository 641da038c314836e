//! Consultation rules: who may request for whom, the follow-up rule (互联网诊疗 only for a
//! condition already diagnosed offline), who may accept, and every lifecycle move, each with
//! its history row, care link and audit event in one transaction.

use serde::{Deserialize, Serialize};

use super::hub;
use super::model::{
    self, Action, Channel, DEFAULT_REPLY_WITHIN_MIN, IntakeInput, Kind, PRIOR_RECORD_KINDS,
    REQUEST_TTL_MS, Status, parse_icd10, same_condition,
};
use super::store::{self, ConsultationRow, EventRow};
use crate::app::AppState;
use crate::audit::{self, AuditActor, NewEvent};
use crate::clock::now_ms;
use crate::db::Tx;
use crate::directory::model::PrivilegeKind;
use crate::directory::{service as directory, store as directory_store};
use crate::error::{AppError, AppResult, FieldError};
use crate::identity::auth::require_step_up;
use crate::identity::model::Role;
use crate::identity::{Actor, service as identity, store as identity_store};
use crate::policy;
use crate::scheduling::store as scheduling_store;

/// A patient's request, as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RequestInput {
    #[serde(default)]
    pub service_id: Option<i64>,
    /// The person the consultation is for; the patient themselves when absent.
    #[serde(default)]
    pub person_id: Option<i64>,
    /// An online appointment this consultation takes place in.
    #[serde(default)]
    pub appointment_id: Option<i64>,
    /// `text` or `video`; the service's own channel when absent.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// Follow-up visits: the ICD-10 code of the condition diagnosed offline.
    #[serde(default)]
    pub condition_icd10: Option<String>,
    /// Follow-up visits: the uploaded record that shows the offline diagnosis.
    #[serde(default)]
    pub prior_record_id: Option<i64>,
    #[serde(default)]
    pub intake: IntakeInput,
}

/// Why a follow-up visit may be held, as the doctor and patient see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpBasis {
    /// A diagnosis in the hospital's own offline records.
    OfflineDiagnosis,
    /// An uploaded record the doctor confirmed.
    ConfirmedRecord,
    /// An uploaded record the doctor has not yet looked at.
    AwaitingConfirmation,
}

fn follow_up_basis(c: &ConsultationRow) -> Option<FollowUpBasis> {
    if c.kind != Kind::FollowUp.as_str() {
        return None;
    }
    Some(if c.offline_diagnosis_id.is_some() {
        FollowUpBasis::OfflineDiagnosis
    } else if c.prior_confirmed_at.is_some() {
        FollowUpBasis::ConfirmedRecord
    } else {
        FollowUpBasis::AwaitingConfirmation
    })
}

/// The intake as the doctor reads it.
#[derive(Debug, Clone, Serialize)]
pub struct IntakeView {
    pub chief_complaint: String,
    pub symptoms: Vec<model::Symptom>,
    pub temperature_c: Option<f64>,
    pub outbreak_area_travel: bool,
    pub travel_region: Option<String>,
    pub travel_returned_on: Option<String>,
    pub confirmed_case_contact: bool,
    pub cluster: bool,
    pub allergies: Vec<String>,
    pub medications: Vec<String>,
    pub counselling: Option<model::CounsellingIntake>,
    pub prior_record_ids: Vec<i64>,
}

impl IntakeView {
    fn from_row(row: store::IntakeRow, prior_record_ids: Vec<i64>) -> Self {
        Self {
            chief_complaint: row.chief_complaint,
            symptoms: serde_json::from_str(&row.symptoms).unwrap_or_default(),
            temperature_c: row.temperature_dc.map(|t| t as f64 / 10.0),
            outbreak_area_travel: row.outbreak_area_travel,
            travel_region: row.travel_region,
            travel_returned_on: row.travel_returned_on,
            confirmed_case_contact: row.confirmed_case_contact,
            cluster: row.cluster,
            allergies: serde_json::from_str(&row.allergies).unwrap_or_default(),
            medications: serde_json::from_str(&row.medications).unwrap_or_default(),
            counselling: row
                .counselling
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok()),
            prior_record_ids,
        }
    }
}

/// A consultation with its intake and history.
#[derive(Debug, Clone, Serialize)]
pub struct ConsultationView {
    #[serde(flatten)]
    pub consultation: ConsultationRow,
    pub follow_up_basis: Option<FollowUpBasis>,
    /// Whether the first reply came (or is still due) within the service's target.
    pub reply_overdue: bool,
    pub intake: Option<IntakeView>,
    pub history: Vec<EventRow>,
}

/// Requests a consultation for the patient or a family member they act for.
pub async fn request(
    state: &AppState,
    actor: &Actor,
    input: &RequestInput,
) -> AppResult<ConsultationView> {
    let me = actor.require()?;
    if me.role != Role::Patient {
        return Err(AppError::Forbidden(
            "consultations are requested by patients for themselves or their family".to_owned(),
        ));
    }
    let service_id = input
        .service_id
        .ok_or_else(|| AppError::invalid("service_id", "is required"))?;
    let person_id = match input.person_id {
        Some(p) => p,
        None => me
            .person_id
            .ok_or_else(|| AppError::invalid("person_id", "is required"))?,
    };
    let service = directory_store::service(&state.db, service_id)
        .await?
        .filter(|s| s.active)
        .ok_or_else(|| AppError::invalid("service_id", "no such service is offered"))?;
    let service_kind = crate::directory::model::ServiceKind::parse(&service.kind)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("service {service_id} has no kind")))?;
    let (kind, default_channel) = Kind::of_service(service_kind);
    let channel = input.channel.unwrap_or(default_channel);
    let today = identity::today();
    // Every field's problem at once, then the rules that need the database.
    let mut errors = Vec::new();
    let intake = match input.intake.validate(kind, today) {
        Ok(intake) => Some(intake),
        Err(mut e) => {
            errors.append(&mut e);
            None
        }
    };
    let condition = match (kind, input.condition_icd10.as_deref()) {
        (Kind::FollowUp, None) => {
            errors.push(FieldError::new(
                "condition_icd10",
                "a follow-up visit names the condition diagnosed offline (ICD-10, e.g. I10)",
            ));
            None
        }
        (Kind::FollowUp, Some(raw)) => match parse_icd10(raw) {
            Some(code) => Some(code),
            None => {
                errors.push(FieldError::new(
                    "condition_icd10",
                    "must be an ICD-10 code such as I10 or E11.9",
                ));
                None
            }
        },
        (_, Some(_)) => {
            errors.push(FieldError::new(
                "condition_icd10",
                "only follow-up visits name a prior diagnosis",
            ));
            None
        }
        (_, None) => None,
    };
    if kind != Kind::FollowUp && input.prior_record_id.is_some() {
        errors.push(FieldError::new(
            "prior_record_id",
            "only follow-up visits rest on a prior record; attach it to the intake instead",
        ));
    }
    let (Some(intake), true) = (intake, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    // Own record or a family member's; anyone else's is 404, as for any other patient data.
    let basis = policy::decide_patient(
        state,
        actor,
        "consultation.request",
        "consultation",
        person_id,
        None,
    )
    .await?;
    for record in &intake.prior_record_ids {
        own_record(state, *record, person_id, "intake.prior_record_ids").await?;
    }
    let doctor = match input.appointment_id {
        Some(appointment) => {
            Some(appointment_doctor(state, appointment, person_id, &service).await?)
        }
        None => service.doctor_id,
    };
    if let Some(doctor) = doctor {
        directory::require_privilege(
            state,
            doctor,
            service.hospital_id,
            service_kind.required_privilege(),
        )
        .await
        .map_err(|_| {
            AppError::Conflict(
                "this doctor cannot take consultations for this service at the moment".to_owned(),
            )
        })?;
    }
    let (offline_diagnosis, prior_record) = match &condition {
        Some(code) => follow_up_evidence(state, person_id, code, input.prior_record_id).await?,
        None => (None, None),
    };
    let now = now_ms();
    let new = store::NewConsultation {
        person: person_id,
        requested_by: me.account_id,
        hospital: service.hospital_id,
        department: service.department_id,
        service: service.id,
        doctor,
        appointment: input.appointment_id,
        kind: kind.as_str(),
        channel: channel.as_str(),
        condition_icd10: condition.as_deref(),
        offline_diagnosis,
        prior_record,
        reply_within_min: DEFAULT_REPLY_WITHIN_MIN,
        expires_at: now + REQUEST_TTL_MS,
    };
    let mut tx = state.db.begin().await?;
    let id = store::insert(&mut tx, &new, now).await?;
    store::insert_intake(&mut tx, id, &intake, now).await?;
    store::insert_event(
        &mut tx,
        id,
        None,
        Status::Requested,
        Some(me.account_id),
        None,
        now,
    )
    .await?;
    // A request to a named doctor is a care relationship from the start: the doctor must read
    // the intake to decide whether to accept.
    if let Some(doctor) = doctor {
        identity::link_care(
            &mut tx,
            doctor,
            person_id,
            service.hospital_id,
            "consultation",
            Some(&id.to_string()),
        )
        .await?;
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "consultation.request", "consultation")
            .object(id)
            .patient(person_id)
            .reason(basis.describe()),
    )
    .await?;
    tx.commit().await?;
    view_unchecked(state, id).await
}

/// The doctor of an online appointment the consultation takes place in, after checking it is
/// this person's, still booked, online, and with the service's doctor.
async fn appointment_doctor(
    state: &AppState,
    appointment_id: i64,
    person_id: i64,
    service: &crate::directory::model::Service,
) -> AppResult<i64> {
    let appt = scheduling_store::appointment(&state.db, appointment_id)
        .await?
        .filter(|a| a.person_id == person_id)
        .ok_or_else(|| {
            AppError::invalid("appointment_id", "no such appointment for this patient")
        })?;
    if appt.status != "booked" {
        return Err(AppError::invalid(
            "appointment_id",
            format!("the appointment is {}", appt.status.replace('_', " ")),
        ));
    }
    if appt.mode != "online" {
        return Err(AppError::invalid(
            "appointment_id",
            "the appointment is an in-person visit",
        ));
    }
    if service.doctor_id.is_some_and(|d| d != appt.doctor_id)
        || appt.hospital_id != service.hospital_id
    {
        return Err(AppError::invalid(
            "appointment_id",
            "the appointment is with another doctor or hospital than this service",
        ));
    }
    Ok(appt.doctor_id)
}

/// An uploaded record of `person`, or a field error naming `field`.
async fn own_record(
    state: &AppState,
    record_id: i64,
    person_id: i64,
    field: &str,
) -> AppResult<store::PriorRecord> {
    store::prior_record(&state.db, record_id)
        .await?
        .filter(|r| r.person_id == person_id)
        .ok_or_else(|| {
            AppError::invalid(
                field,
                format!("no uploaded record {record_id} of this patient"),
            )
        })
}

/// The follow-up rule: an offline diagnosis of the same condition in the hospital records, or
/// an uploaded record for the doctor to confirm. Neither → refused, saying why and what to do.
async fn follow_up_evidence(
    state: &AppState,
    person_id: i64,
    condition: &str,
    prior_record_id: Option<i64>,
) -> AppResult<(Option<i64>, Option<i64>)> {
    let diagnoses = store::offline_diagnoses(&state.db, person_id).await?;
    if let Some(d) = diagnoses
        .iter()
        .find(|d| same_condition(&d.icd10, condition))
    {
        return Ok((Some(d.id), None));
    }
    match prior_record_id {
        Some(id) => {
            own_record(state, id, person_id, "prior_record_id").await?;
            Ok((None, Some(id)))
        }
        None => Err(AppError::ConflictFields(vec![FieldError::new(
            "condition_icd10",
            format!(
                "a follow-up visit (复诊) is only for a condition already diagnosed in person, and no offline diagnosis of {condition} is on record: upload your outpatient record, discharge summary or diagnosis certificate and attach it as prior_record_id, or request a consultation (咨询, advice only)"
            ),
        )])),
    }
}

/// A consultation with its intake and history, without an access check (the caller has done
/// it).
async fn view_unchecked(state: &AppState, id: i64) -> AppResult<ConsultationView> {
    let consultation = consultation_or_404(state, id).await?;
    let intake = match store::intake(&state.db, id).await? {
        Some(row) => Some(IntakeView::from_row(
            row,
            store::attached_records(&state.db, id).await?,
        )),
        None => None,
    };
    let history = store::events(&state.db, id).await?;
    let now = now_ms();
    let due = consultation.created_at + consultation.reply_within_min * 60_000;
    let reply_overdue = match consultation.first_reply_at {
        Some(at) => at > due,
        None => !consultation.status().is_ended() && now > due,
    };
    Ok(ConsultationView {
        follow_up_basis: follow_up_basis(&consultation),
        reply_overdue,
        consultation,
        intake,
        history,
    })
}

async fn consultation_or_404(state: &AppState, id: i64) -> AppResult<ConsultationRow> {
    store::consultation(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no consultation with id {id}")))
}

/// Reads a consultation: the patient (or family), its doctor, or — while it waits in a
/// department's queue — a doctor of that department who may take it. Audited.
pub async fn read(state: &AppState, actor: &Actor, id: i64) -> AppResult<ConsultationView> {
    let c = consultation_or_404(state, id).await?;
    authorize(state, actor, &c, "consultation.read").await?;
    view_unchecked(state, id).await
}

/// Allows `action` on `c` for its patient side or its doctor (audited by the policy), or for
/// a doctor who may take it from the department's queue (audited here).
async fn authorize(
    state: &AppState,
    actor: &Actor,
    c: &ConsultationRow,
    action: &str,
) -> AppResult<()> {
    let me = actor.require()?;
    if me.role == Role::Doctor && c.doctor_id.is_none() && c.status() == Status::Requested {
        may_take(state, actor, c).await?;
        audit::record(
            &state.db,
            &NewEvent::new(actor.audit(), action, "consultation")
                .object(c.id)
                .patient(c.person_id)
                .reason("department queue"),
        )
        .await?;
        return Ok(());
    }
    if me.role == Role::Doctor && c.doctor_id != Some(me.account_id) {
        identity::deny(
            state,
            actor,
            action,
            "consultation",
            Some(c.id.to_string()),
            Some(c.person_id),
            "another doctor's consultation",
        )
        .await?;
        return Err(AppError::NotFound(format!(
            "no consultation with id {}",
            c.id
        )));
    }
    policy::authorize_patient(state, actor, action, "consultation", c.person_id, None).await?;
    Ok(())
}

/// Whether the signed-in doctor may take `c`: the named doctor, or one practising in its
/// department at its hospital; with the privilege its kind needs and a fresh identity check.
async fn may_take(state: &AppState, actor: &Actor, c: &ConsultationRow) -> AppResult<()> {
    let me = actor.require()?;
    let mine = match c.doctor_id {
        Some(d) => d == me.account_id,
        None => directory_store::sites_of(&state.db, me.account_id)
            .await?
            .iter()
            .any(|s| {
                s.status == "active"
                    && s.hospital_id == c.hospital_id
                    && (c.department_id.is_none() || s.department_id == c.department_id)
            }),
    };
    if !mine {
        identity::deny(
            state,
            actor,
            "consultation.accept",
            "consultation",
            Some(c.id.to_string()),
            Some(c.person_id),
            "not this doctor's or department's request",
        )
        .await?;
        return Err(AppError::NotFound(format!(
            "no consultation with id {}",
            c.id
        )));
    }
    let kind = Kind::parse(&c.kind).unwrap_or(Kind::Consultation);
    let privilege = if kind == Kind::FollowUp {
        PrivilegeKind::InternetDiagnosis
    } else {
        PrivilegeKind::Consult
    };
    directory::require_privilege(state, me.account_id, c.hospital_id, privilege).await?;
    // 互联网诊疗监管细则: the doctor's identity is checked before each session with patients.
    require_step_up(state, me)
}

/// A doctor's queue: requests addressed to them, and unassigned ones of their departments at
/// their hospital, oldest first. Each listed patient's summary is an audited read.
#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    pub id: i64,
    pub kind: String,
    pub channel: String,
    pub addressed_to_me: bool,
    pub waiting_min: i64,
    pub chief_complaint: String,
    pub temperature_c: Option<f64>,
    /// Any epidemiological answer was yes: travel to an outbreak area, contact, cluster.
    pub epidemiological_risk: bool,
    pub age: Option<u32>,
    pub sex: String,
}

pub async fn queue(state: &AppState, actor: &Actor) -> AppResult<Vec<QueueItem>> {
    let me = actor.require()?;
    if me.role != Role::Doctor {
        return Err(AppError::Forbidden(
            "the consultation queue is for doctors".to_owned(),
        ));
    }
    let hospital = me
        .hospital_id
        .ok_or_else(|| AppError::Forbidden("your account belongs to no hospital".to_owned()))?;
    require_step_up(state, me)?;
    let departments: Vec<i64> = directory_store::sites_of(&state.db, me.account_id)
        .await?
        .into_iter()
        .filter(|s| s.status == "active" && s.hospital_id == hospital)
        .filter_map(|s| s.department_id)
        .collect();
    let rows = store::queue(&state.db, hospital, me.account_id, &departments, 100).await?;
    let now = now_ms();
    let today = identity::today();
    let mut tx = state.db.begin().await?;
    for row in &rows {
        audit::append(
            &mut tx,
            &NewEvent::new(actor.audit(), "consultation.queue", "consultation")
                .object(row.id)
                .patient(row.person_id)
                .reason("intake summary in the doctor's queue"),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| QueueItem {
            id: r.id,
            kind: r.kind,
            channel: r.channel,
            addressed_to_me: r.doctor_id == Some(me.account_id),
            waiting_min: (now - r.created_at).max(0) / 60_000,
            chief_complaint: r.chief_complaint,
            temperature_c: r.temperature_dc.map(|t| t as f64 / 10.0),
            epidemiological_risk: r.outbreak_area_travel || r.confirmed_case_contact || r.cluster,
            age: chrono::NaiveDate::parse_from_str(&r.birth_date, "%Y-%m-%d")
                .ok()
                .and_then(|b| today.years_since(b)),
            sex: r.sex,
        })
        .collect())
}

/// The doctor's accepted and ongoing consultations.
pub async fn my_active(state: &AppState, actor: &Actor) -> AppResult<Vec<ConsultationRow>> {
    let me = actor.require()?;
    if me.role != Role::Doctor {
        return Err(AppError::Forbidden("for doctors".to_owned()));
    }
    Ok(store::active_for_doctor(&state.db, me.account_id, 100).await?)
}

/// The patient's consultations and those they requested for family.
pub async fn mine(state: &AppState, actor: &Actor) -> AppResult<Vec<ConsultationRow>> {
    let me = actor.require()?;
    if me.role != Role::Patient {
        return Err(AppError::Forbidden(
            "this list is a patient's own consultations".to_owned(),
        ));
    }
    let rows = store::for_patient(&state.db, me.account_id, me.person_id, 100).await?;
    if !rows.is_empty() {
        audit::record(
            &state.db,
            &NewEvent::new(actor.audit(), "consultation.list", "consultation")
                .patient_opt(me.person_id)
                .reason("own and family consultations"),
        )
        .await?;
    }
    Ok(rows)
}

/// Moves `c` by `action` in `tx`: the conditional update, the history row and the audit
/// event. A concurrent change that got there first is a 409 with the status it found.
async fn apply(
    tx: &mut Tx,
    who: &AuditActor,
    c: &ConsultationRow,
    action: Action,
    reason: Option<&str>,
    now: i64,
) -> AppResult<Status> {
    let from = c.status();
    let to = model::transition(from, action).map_err(|e| AppError::Conflict(e.to_string()))?;
    let moved = if action == Action::Accept {
        // Accept also takes the consultation for the doctor (see `store::accept`).
        true
    } else {
        store::set_status(tx, c.id, from, to, reason, now).await?
    };
    if !moved {
        return Err(AppError::Conflict(format!(
            "the consultation changed while you were looking (it is no longer {}); reload it",
            from.as_str().replace('_', " ")
        )));
    }
    store::insert_event(tx, c.id, Some(from), to, who.account_id, reason, now).await?;
    let mut event = NewEvent::new(who.clone(), audit_action(action), "consultation")
        .object(c.id)
        .patient(c.person_id);
    if let Some(r) = reason {
        event = event.reason(r.to_owned());
    }
    audit::append(tx, &event).await?;
    if matches!(to, Status::Cancelled | Status::Expired) {
        identity_store::end_care_links(tx, "consultation", &c.id.to_string(), now).await?;
    }
    Ok(to)
}

fn audit_action(action: Action) -> &'static str {
    match action {
        Action::Accept => "consultation.accept",
        Action::Start => "consultation.start",
        Action::Complete => "consultation.complete",
        Action::ReferOffline => "consultation.refer_offline",
        Action::Cancel => "consultation.cancel",
        Action::Expire => "consultation.expire",
    }
}

/// A doctor accepts a request: theirs by name or from their department's queue. A follow-up
/// visit resting on an uploaded record needs the record confirmed first.
pub async fn accept(state: &AppState, actor: &Actor, id: i64) -> AppResult<ConsultationView> {
    let c = consultation_or_404(state, id).await?;
    let me = actor.require()?;
    if me.role != Role::Doctor {
        return Err(AppError::Forbidden(
            "only doctors accept consultations".to_owned(),
        ));
    }
    may_take(state, actor, &c).await?;
    model::transition(c.status(), Action::Accept).map_err(|e| AppError::Conflict(e.to_string()))?;
    if follow_up_basis(&c) == Some(FollowUpBasis::AwaitingConfirmation) {
        return Err(AppError::Conflict(
            "confirm first that the attached record shows the offline diagnosis of this condition (POST …/prior-record with qualifies true or false)".to_owned(),
        ));
    }
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    if !store::accept(&mut tx, id, me.account_id, now).await? {
        return Err(AppError::Conflict(
            "another doctor has just accepted this request, or it was cancelled".to_owned(),
        ));
    }
    apply(&mut tx, &actor.audit(), &c, Action::Accept, None, now).await?;
    if c.doctor_id.is_none() {
        identity::link_care(
            &mut tx,
            me.account_id,
            c.person_id,
            c.hospital_id,
            "consultation",
            Some(&id.to_string()),
        )
        .await?;
    }
    tx.commit().await?;
    announce(state, id, Status::Accepted).await;
    view_unchecked(state, id).await
}

/// Tells the conversation's listeners its new status (after the commit).
async fn announce(state: &AppState, id: i64, status: Status) {
    let news = hub::News::Status {
        status: status.as_str().to_owned(),
    };
    hub::publish(&state.db, &state.chat, id, news).await;
}

/// The doctor's verdict on the record a follow-up visit rests on. If it does not show the
/// offline diagnosis the request is returned (退诊) with the reason, since internet diagnosis
/// would not be allowed; the patient may ask for a consultation instead.
pub async fn judge_prior_record(
    state: &AppState,
    actor: &Actor,
    id: i64,
    qualifies: bool,
    reason: Option<&str>,
) -> AppResult<ConsultationView> {
    let c = consultation_or_404(state, id).await?;
    may_take(state, actor, &c).await?;
    if follow_up_basis(&c) != Some(FollowUpBasis::AwaitingConfirmation)
        || c.status() != Status::Requested
    {
        return Err(AppError::Conflict(
            "this consultation has no record waiting for confirmation".to_owned(),
        ));
    }
    let me = actor.require()?;
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    if qualifies {
        if !store::confirm_prior(&mut tx, id, me.account_id, now).await? {
            return Err(AppError::Conflict(
                "the consultation changed while you were looking; reload it".to_owned(),
            ));
        }
        audit::append(
            &mut tx,
            &NewEvent::new(actor.audit(), "consultation.confirm_prior", "consultation")
                .object(id)
                .patient(c.person_id),
        )
        .await?;
    } else {
        let reason = required_reason(reason)?;
        let reason = format!("the attached record does not show an offline diagnosis: {reason}");
        apply(
            &mut tx,
            &actor.audit(),
            &c,
            Action::Cancel,
            Some(&reason),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    view_unchecked(state, id).await
}

fn required_reason(reason: Option<&str>) -> AppResult<&str> {
    match reason.map(str::trim) {
        Some(r) if (2..=500).contains(&r.chars().count()) => Ok(r),
        _ => Err(AppError::invalid(
            "reason",
            "say in 2 to 500 characters why",
        )),
    }
}

/// The doctor begins the conversation (their first message or call does this too).
pub async fn start(state: &AppState, actor: &Actor, id: i64) -> AppResult<ConsultationView> {
    doctor_moves(state, actor, id, Action::Start, None).await
}

/// The doctor completes the consultation.
pub async fn complete(state: &AppState, actor: &Actor, id: i64) -> AppResult<ConsultationView> {
    doctor_moves(state, actor, id, Action::Complete, None).await
}

/// The doctor ends the online visit because the patient must be seen in person.
pub async fn refer_offline(
    state: &AppState,
    actor: &Actor,
    id: i64,
    reason: Option<&str>,
) -> AppResult<ConsultationView> {
    let reason = required_reason(reason)?;
    doctor_moves(state, actor, id, Action::ReferOffline, Some(reason)).await
}

async fn doctor_moves(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: Action,
    reason: Option<&str>,
) -> AppResult<ConsultationView> {
    let c = consultation_or_404(state, id).await?;
    let me = actor.require()?;
    if me.role != Role::Doctor || c.doctor_id != Some(me.account_id) {
        authorize(state, actor, &c, audit_action(action)).await?;
        return Err(AppError::Forbidden(
            "only the consultation's doctor does this".to_owned(),
        ));
    }
    require_step_up(state, me)?;
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let to = apply(&mut tx, &actor.audit(), &c, action, reason, now).await?;
    if action == Action::Start {
        store::mark_first_reply(&mut tx, id, now).await?;
    }
    tx.commit().await?;
    announce(state, id, to).await;
    view_unchecked(state, id).await
}

/// Cancels: the patient side before the conversation begins (no reason needed), or the
/// doctor returning an accepted request (退诊, with the reason).
pub async fn cancel(
    state: &AppState,
    actor: &Actor,
    id: i64,
    reason: Option<&str>,
) -> AppResult<ConsultationView> {
    let c = consultation_or_404(state, id).await?;
    let me = actor.require()?;
    let reason = match me.role {
        Role::Patient => {
            authorize(state, actor, &c, "consultation.cancel").await?;
            reason.map(str::trim).filter(|r| !r.is_empty())
        }
        Role::Doctor if c.doctor_id == Some(me.account_id) => Some(required_reason(reason)?),
        _ => {
            authorize(state, actor, &c, "consultation.cancel").await?;
            return Err(AppError::Forbidden(
                "only the patient or the consultation's doctor cancels it".to_owned(),
            ));
        }
    };
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let to = apply(&mut tx, &actor.audit(), &c, Action::Cancel, reason, now).await?;
    tx.commit().await?;
    announce(state, id, to).await;
    view_unchecked(state, id).await
}

/// Expires requests nobody accepted in time (the recurring `consult.expire` job). Returns how
/// many expired. The refund hook: an expired consultation is refunded by the payment context.
pub async fn expire_due(db: &crate::db::Db, now: i64) -> AppResult<usize> {
    let who = AuditActor {
        account_id: None,
        role: "system".to_owned(),
        request_id: None,
        client_addr: None,
    };
    let mut expired = 0;
    for id in store::due_to_expire(db, now, 500).await? {
        let Some(c) = store::consultation(db, id).await? else {
            continue;
        };
        let mut tx = db.begin().await?;
        match apply(
            &mut tx,
            &who,
            &c,
            Action::Expire,
            Some("no doctor accepted in time"),
            now,
        )
        .await
        {
            Ok(_) => {
                tx.commit().await?;
                expired += 1;
            }
            // Accepted or cancelled meanwhile: nothing to do.
            Err(AppError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired)
}

/// What describes an uploaded record of an earlier diagnosis (the file is the request body,
/// within the server's body limit).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PriorRecordInput {
    #[serde(default)]
    pub person_id: Option<i64>,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub hospital_name: String,
    #[serde(default)]
    pub diagnosed_on: String,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub icd10: Option<String>,
}

/// Uploads a record of an earlier diagnosis for a person the patient acts for: JPEG, PNG,
/// WebP or PDF, recognised by its bytes.
pub async fn upload_prior_record(
    state: &AppState,
    actor: &Actor,
    input: &PriorRecordInput,
    bytes: &[u8],
) -> AppResult<store::PriorRecord> {
    let me = actor.require()?;
    if me.role != Role::Patient {
        return Err(AppError::Forbidden(
            "records are uploaded by patients for themselves or their family".to_owned(),
        ));
    }
    let person_id = match input.person_id {
        Some(p) => p,
        None => me
            .person_id
            .ok_or_else(|| AppError::invalid("person_id", "is required"))?,
    };
    let mut errors = Vec::new();
    if !PRIOR_RECORD_KINDS.contains(&input.kind.as_str()) {
        errors.push(FieldError::new(
            "kind",
            "must be outpatient_record, discharge_summary or diagnosis_certificate",
        ));
    }
    for (field, value, max) in [
        ("hospital_name", input.hospital_name.trim(), 100),
        ("condition", input.condition.trim(), 100),
    ] {
        if !(1..=max).contains(&value.chars().count()) {
            errors.push(FieldError::new(
                field,
                format!("must be 1 to {max} characters"),
            ));
        }
    }
    let today = identity::today();
    match chrono::NaiveDate::parse_from_str(input.diagnosed_on.trim(), "%Y-%m-%d") {
        Ok(day) if day <= today => {}
        Ok(_) => errors.push(FieldError::new("diagnosed_on", "cannot be in the future")),
        Err(_) => errors.push(FieldError::new(
            "diagnosed_on",
            "must be a date like 2025-06-01",
        )),
    }
    let icd10 = match input
        .icd10
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(raw) => match parse_icd10(raw) {
            Some(code) => Some(code),
            None => {
                errors.push(FieldError::new(
                    "icd10",
                    "must be an ICD-10 code such as I10",
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let content_type = sniff_record(bytes).ok_or_else(|| {
        AppError::UnsupportedMediaType(
            "the record must be a JPEG, PNG or WebP photo or a PDF".to_owned(),
        )
    })?;
    let basis = policy::decide_patient(
        state,
        actor,
        "prior_record.upload",
        "prior_record",
        person_id,
        None,
    )
    .await?;
    let clean = clean_image(bytes, content_type)?;
    let key = state.blobs.put(&clean).await.map_err(AppError::Internal)?;
    let mut record = store::PriorRecord {
        id: 0,
        person_id,
        uploaded_by: me.account_id,
        kind: input.kind.clone(),
        hospital_name: input.hospital_name.trim().to_owned(),
        diagnosed_on: input.diagnosed_on.trim().to_owned(),
        condition: input.condition.trim().to_owned(),
        icd10,
        blob_key: key,
        content_type: content_type.to_owned(),
        created_at: now_ms(),
    };
    let mut tx = state.db.begin().await?;
    record.id = store::insert_prior_record(&mut tx, &record).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "prior_record.upload", "prior_record")
            .object(record.id)
            .patient(person_id)
            .reason(basis.describe()),
    )
    .await?;
    tx.commit().await?;
    Ok(record)
}

/// An image without its metadata (a PDF as it is).
fn clean_image(bytes: &[u8], content_type: &str) -> AppResult<Vec<u8>> {
    if content_type == "application/pdf" {
        return Ok(bytes.to_vec());
    }
    crate::scrub::strip(bytes, content_type)
        .map_err(|e| AppError::UnsupportedMediaType(e.to_string()))
}

fn sniff_record(bytes: &[u8]) -> Option<&'static str> {
    crate::blob::sniff_image(bytes)
        .or_else(|| bytes.starts_with(b"%PDF-").then_some("application/pdf"))
}

/// A prior record's file. Through a consultation (`via`): anyone who may read that
/// consultation, when the record is attached to it — so a doctor of the department's queue
/// can judge it before accepting. Without: the patient side only, through the policy.
pub async fn prior_record_file(
    state: &AppState,
    actor: &Actor,
    record_id: i64,
    via: Option<i64>,
) -> AppResult<(Vec<u8>, String)> {
    let not_found = || AppError::NotFound(format!("no record with id {record_id}"));
    let record = store::prior_record(&state.db, record_id)
        .await?
        .ok_or_else(not_found)?;
    match via {
        Some(id) => {
            let c = consultation_or_404(state, id).await?;
            let attached = c.prior_record_id == Some(record_id)
                || store::attached_records(&state.db, id)
                    .await?
                    .contains(&record_id);
            if !attached {
                return Err(not_found());
            }
            authorize(state, actor, &c, "prior_record.read").await?;
        }
        None => {
            policy::authorize_patient(
                state,
                actor,
                "prior_record.read",
                "prior_record",
                record.person_id,
                None,
            )
            .await?;
        }
    }
    let bytes = state
        .blobs
        .get(&record.blob_key)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(|| AppError::NotFound(format!("the file of record {record_id} is missing")))?;
    Ok((bytes, record.content_type))
}

/// Records an offline diagnosis from the hospital's own records (its HIS import; the demo
/// seed). Not an HTTP operation yet: diagnoses arrive with the clinical-records work.
pub async fn record_offline_diagnosis(tx: &mut Tx, d: &store::OfflineDiagnosis) -> AppResult<i64> {
    Ok(store::insert_offline_diagnosis(tx, d, now_ms()).await?)
}

/// Which side of a conversation the actor is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The patient or a family member acting for them.
    Patient,
    Doctor,
}

/// The actor's side in `c`'s conversation, or an error (denials audited). Allowed access is
/// audited by the caller with what it did.
pub async fn participant(
    state: &AppState,
    actor: &Actor,
    c: &ConsultationRow,
    action: &str,
) -> AppResult<Side> {
    let me = actor.require()?;
    match me.role {
        Role::Patient => {
            policy::decide_patient(state, actor, action, "consultation", c.person_id, None).await?;
            Ok(Side::Patient)
        }
        Role::Doctor if c.doctor_id == Some(me.account_id) => {
            require_step_up(state, me)?;
            Ok(Side::Doctor)
        }
        _ => {
            identity::deny(
                state,
                actor,
                action,
                "consultation",
                Some(c.id.to_string()),
                Some(c.person_id),
                "not a participant",
            )
            .await?;
            Err(AppError::NotFound(format!(
                "no consultation with id {}",
                c.id
            )))
        }
    }
}

/// The longest text message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2_000;

/// Posts a text message: stored (with its audit event) and committed before anyone is told.
/// The doctor's first message begins an accepted consultation. Patients may add to a request
/// before it is accepted; nobody writes into an ended one.
pub async fn post_message(
    state: &AppState,
    actor: &Actor,
    id: i64,
    text: &str,
) -> AppResult<store::MessageRow> {
    let text = text.trim();
    let n = text.chars().count();
    if n == 0 || n > MAX_MESSAGE_CHARS {
        return Err(AppError::invalid(
            "text",
            format!("a message has 1 to {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    let c = consultation_or_404(state, id).await?;
    let side = writable(state, actor, &c).await?;
    let message = store::NewMessage {
        sender: None,
        kind: "text",
        body: text,
        blob_key: None,
        content_type: None,
    };
    append(state, actor, &c, side, message).await
}

/// The actor's side, if they may write into `c` now: participants, not after the end, and the
/// doctor only once they accepted.
async fn writable(state: &AppState, actor: &Actor, c: &ConsultationRow) -> AppResult<Side> {
    let side = participant(state, actor, c, "consultation.message").await?;
    let status = c.status();
    if status.is_ended() {
        return Err(AppError::Conflict(format!(
            "the consultation has ended ({}); start a new one to continue",
            status.as_str().replace('_', " ")
        )));
    }
    if side == Side::Doctor && status == Status::Requested {
        return Err(AppError::Conflict(
            "accept the request before writing to the patient".to_owned(),
        ));
    }
    Ok(side)
}

/// Stores a message from the actor (their first as doctor begins the consultation), with its
/// audit event, commits, and only then tells the listeners.
async fn append(
    state: &AppState,
    actor: &Actor,
    c: &ConsultationRow,
    side: Side,
    mut message: store::NewMessage<'_>,
) -> AppResult<store::MessageRow> {
    let me = actor.require()?;
    message.sender = Some(me.account_id);
    let id = c.id;
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let begins = side == Side::Doctor && c.status() == Status::Accepted;
    if begins {
        apply(&mut tx, &actor.audit(), c, Action::Start, None, now).await?;
    }
    if side == Side::Doctor {
        store::mark_first_reply(&mut tx, id, now).await?;
    }
    let seq = store::append_message(&mut tx, id, &message, now).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "consultation.message", "consultation")
            .object(id)
            .patient(c.person_id),
    )
    .await?;
    tx.commit().await?;
    if begins {
        announce(state, id, Status::InProgress).await;
    }
    hub::publish(&state.db, &state.chat, id, hub::News::Message { seq }).await;
    Ok(store::MessageRow {
        seq,
        sender_id: Some(me.account_id),
        kind: message.kind.to_owned(),
        body: message.body.to_owned(),
        blob_key: message.blob_key.map(str::to_owned),
        content_type: message.content_type.map(str::to_owned),
        created_at: now,
    })
}

/// A participant's view of the conversation after message `after`: at most `limit` messages
/// and everyone's read marks. Audited as a read.
pub async fn messages(
    state: &AppState,
    actor: &Actor,
    id: i64,
    after: i64,
    limit: i64,
) -> AppResult<Conversation> {
    let c = consultation_or_404(state, id).await?;
    participant(state, actor, &c, "consultation.read_messages").await?;
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "consultation.read_messages", "consultation")
            .object(id)
            .patient(c.person_id),
    )
    .await?;
    conversation_after(state, id, after, limit).await
}

/// Messages after `after` and the read marks, without an access check (the caller did it).
pub async fn conversation_after(
    state: &AppState,
    id: i64,
    after: i64,
    limit: i64,
) -> AppResult<Conversation> {
    let messages = store::messages_after(&state.db, id, after, limit).await?;
    let read = store::read_marks(&state.db, id)
        .await?
        .into_iter()
        .map(|(account, seq)| ReadMark { account, seq })
        .collect();
    Ok(Conversation { messages, read })
}

#[derive(Debug, Clone, Serialize)]
pub struct ReadMark {
    pub account: i64,
    pub seq: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    pub messages: Vec<store::MessageRow>,
    pub read: Vec<ReadMark>,
}

/// Records that the actor has read up to message `seq` (a read receipt) and tells the others.
pub async fn mark_read(state: &AppState, actor: &Actor, id: i64, seq: i64) -> AppResult<()> {
    let c = consultation_or_404(state, id).await?;
    participant(state, actor, &c, "consultation.read_messages").await?;
    if seq < 1 || seq > c.last_seq {
        return Err(AppError::invalid(
            "seq",
            format!("must be a message number from 1 to {}", c.last_seq),
        ));
    }
    let me = actor.require()?;
    store::mark_read(&state.db, id, me.account_id, seq, now_ms()).await?;
    let news = hub::News::Read {
        account: me.account_id,
        seq,
    };
    hub::publish(&state.db, &state.chat, id, news).await;
    Ok(())
}

/// Checks that the actor takes part in consultation `id` before a chat connection opens, and
/// audits the opening (each message posted is audited too).
pub async fn open_chat(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let c = consultation_or_404(state, id).await?;
    participant(state, actor, &c, "consultation.chat").await?;
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "consultation.chat", "consultation")
            .object(id)
            .patient(c.person_id),
    )
    .await?;
    Ok(())
}

/// Sends an image into the conversation: JPEG, PNG or WebP recognised by its bytes (never by
/// its name or claimed type), within the server's body limit, stripped of its metadata, kept
/// in the blob store; the message refers to it. Same rules as a text message otherwise.
pub async fn post_image(
    state: &AppState,
    actor: &Actor,
    id: i64,
    bytes: &[u8],
) -> AppResult<store::MessageRow> {
    let content_type = crate::blob::sniff_image(bytes).ok_or_else(|| {
        AppError::UnsupportedMediaType("send a JPEG, PNG or WebP picture".to_owned())
    })?;
    let clean = clean_image(bytes, content_type)?;
    let c = consultation_or_404(state, id).await?;
    let side = writable(state, actor, &c).await?;
    let key = state.blobs.put(&clean).await.map_err(AppError::Internal)?;
    let message = store::NewMessage {
        sender: None,
        kind: "image",
        body: "",
        blob_key: Some(&key),
        content_type: Some(content_type),
    };
    append(state, actor, &c, side, message).await
}

/// The picture of image message `seq`, for the conversation's participants. Audited.
pub async fn image(
    state: &AppState,
    actor: &Actor,
    id: i64,
    seq: i64,
) -> AppResult<(Vec<u8>, String)> {
    let c = consultation_or_404(state, id).await?;
    participant(state, actor, &c, "consultation.read_messages").await?;
    let not_found = || AppError::NotFound(format!("message {seq} is not a picture"));
    let message = store::message(&state.db, id, seq)
        .await?
        .ok_or_else(not_found)?;
    let (Some(key), Some(content_type)) = (message.blob_key, message.content_type) else {
        return Err(not_found());
    };
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "consultation.read_image", "consultation")
            .object(id)
            .patient(c.person_id),
    )
    .await?;
    let bytes = state
        .blobs
        .get(&key)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(not_found)?;
    Ok((bytes, content_type))
}
