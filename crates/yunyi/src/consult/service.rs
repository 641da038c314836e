//! Consultation requests and who sees them: a patient's request with its intake and the
//! follow-up rule (互联网诊疗 only for a condition already diagnosed offline), reading one
//! (patient side, its doctor, or a doctor of the department's queue), the doctor's queue and
//! the lists. Moves through the lifecycle are in `lifecycle`, the conversation in
//! `conversation`, uploaded evidence in `records`.

use serde::{Deserialize, Serialize};

use super::model::{
    self, Channel, IntakeInput, Kind, REQUEST_TTL_MS, Status, parse_icd10, same_condition,
};
use super::store::{self, ConsultationRow, EventRow};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::directory::{service as directory, store as directory_store};
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::identity::auth::require_step_up;
use crate::identity::model::Role;
use crate::identity::{Actor, service as identity};
use crate::policy;
use crate::scheduling::store as scheduling_store;

/// A patient's request, as submitted.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
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
    /// Follow-up visits: the prescription to renew (续方); the doctor's form starts from it.
    #[serde(default)]
    pub renews_prescription_id: Option<i64>,
    #[serde(default)]
    pub intake: IntakeInput,
}

/// Why a follow-up visit may be held, as the doctor and patient see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpBasis {
    /// A diagnosis in the hospital's own offline records.
    OfflineDiagnosis,
    /// An uploaded record the doctor confirmed.
    ConfirmedRecord,
    /// An uploaded record the doctor has not yet looked at.
    AwaitingConfirmation,
}

pub(super) fn follow_up_basis(c: &ConsultationRow) -> Option<FollowUpBasis> {
    if c.kind != Kind::FollowUp {
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsultationView {
    #[serde(flatten)]
    pub consultation: ConsultationRow,
    pub follow_up_basis: Option<FollowUpBasis>,
    /// Whether the first reply came (or is still due) within the service's target.
    pub reply_overdue: bool,
    pub intake: Option<IntakeView>,
    pub history: Vec<EventRow>,
    pub note: Option<super::note::NoteView>,
    /// The counselling intake says the patient thinks of harming themselves: the pages show
    /// the crisis lines at once and the queue marks the request urgent.
    pub crisis: bool,
    /// The consultation fee, when the service charges one: a request reaches the doctors
    /// once it is paid.
    pub fee: Option<crate::billing::fees::Fee>,
}

/// Requests a consultation for the patient or a family member they act for.
pub async fn request(
    state: &AppState,
    actor: &Actor,
    input: &RequestInput,
) -> AppResult<ConsultationView> {
    let me = actor.require()?;
    crate::capability::require_role(
        me,
        Role::Patient,
        "consultations are requested by patients for themselves or their family",
    )?;
    let service_id = input
        .service_id
        .ok_or_else(|| AppError::required("service_id"))?;
    let person_id = me.person_or_self(input.person_id)?;
    let service = directory_store::service(&state.db, service_id)
        .await?
        .filter(|s| s.active)
        .ok_or_else(|| AppError::invalid("service_id", "no such service is offered"))?;
    let (kind, default_channel) = Kind::of_service(service.kind);
    let channel = input.channel.unwrap_or(default_channel);
    let today = crate::time::cst_today(state.now_ms());
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
    if kind != Kind::FollowUp && input.renews_prescription_id.is_some() {
        errors.push(FieldError::new(
            "renews_prescription_id",
            "only follow-up visits renew a prescription",
        ));
    }
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
    let campaign = match kind {
        Kind::FreeClinic => Some(free_clinic_campaign(state, &service, doctor).await?),
        _ => None,
    };
    if let Some(doctor) = doctor {
        directory::require_privilege(
            state,
            doctor,
            service.hospital_id,
            service.kind.required_privilege(),
        )
        .await
        .map_err(|_| {
            AppError::refused(
                Reason::ServiceUnavailable,
                "this doctor cannot take consultations for this service at the moment".to_owned(),
            )
        })?;
    }
    let (offline_diagnosis, prior_record) = match &condition {
        Some(code) => follow_up_evidence(state, person_id, code, input.prior_record_id).await?,
        None => (None, None),
    };
    if let (Some(rx), Some(code)) = (input.renews_prescription_id, &condition) {
        crate::pharmacy::refill::check_renewable(state, rx, person_id, code)
            .await?
            .map_err(|why| AppError::invalid("renews_prescription_id", why))?;
    }
    // Held in an appointment whose fee was paid online: nothing more to pay.
    let prepaid = match input.appointment_id {
        Some(a) => crate::billing::fees::paid(state, "appointment", a).await?,
        None => false,
    };
    let now = state.now_ms();
    // An on-demand request takes one of the day's places; one in a booked appointment has its
    // place already.
    let quota_day = match (service.daily_quota, input.appointment_id) {
        (Some(_), None) => Some(today.to_string()),
        _ => None,
    };
    let mut tx = state.db.begin().await?;
    if let (Some(quota), Some(day)) = (service.daily_quota, &quota_day) {
        if !store::take_quota(&mut tx, service.id, day, quota).await? {
            return Err(AppError::refused(
                Reason::DailyQuotaReached,
                format!(
                    "today's {quota} places for this service are all taken; try again tomorrow or choose another doctor or service"
                ),
            ));
        }
    }
    let assigned = match (doctor, service.department_id) {
        (None, Some(department)) if service.auto_assign => {
            let privilege = service.kind.required_privilege();
            store::least_busy_doctor(&mut tx, service.hospital_id, department, privilege.as_str())
                .await?
        }
        _ => None,
    };
    let doctor = doctor.or(assigned);
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
        reply_within_min: model::reply_target(&service),
        expires_at: now + REQUEST_TTL_MS,
        campaign,
        quota_day: quota_day.as_deref(),
        renews_prescription: input.renews_prescription_id,
    };
    let id = match store::insert(&mut tx, &new, now).await {
        Ok(id) => id,
        // Two requests for one appointment at once: the database lets one in.
        Err(e) if crate::db::is_unique_violation(&e) => {
            return Err(AppError::refused(
                Reason::ConsultationExists,
                "this appointment already has its consultation".to_owned(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    store::insert_intake(&mut tx, id, &intake, now).await?;
    // Screening sees the intake in the request's transaction: a flag exists if and only if
    // the request does.
    let subject = crate::surveillance::screen::Subject {
        consultation: id,
        person: person_id,
        hospital: service.hospital_id,
    };
    crate::surveillance::screen::intake(state, &mut tx, subject, &intake, now).await?;
    if kind != Kind::FreeClinic && !prepaid {
        crate::billing::fees::charge(
            state,
            &mut tx,
            &actor.audit(),
            &crate::billing::fees::Charge {
                person: person_id,
                payer: me.account_id,
                hospital: service.hospital_id,
                subject_type: "consultation",
                subject_id: id,
                description: &service.name,
                price_fen: service.price_fen,
            },
            now,
        )
        .await?;
    }
    store::insert_event(
        &mut tx,
        id,
        None,
        Status::Requested,
        Some(me.account_id),
        assigned
            .is_some()
            .then_some("assigned to the department's least busy doctor"),
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
            now,
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

/// The free-clinic campaign (义诊活动) a request is held under: one of the service's hospital
/// running today, in which the named doctor (if any) volunteers. Without one there is no free
/// consultation to have, and the patient is told so.
async fn free_clinic_campaign(
    state: &AppState,
    service: &crate::directory::model::Service,
    doctor: Option<i64>,
) -> AppResult<i64> {
    let today = crate::time::cst_today(state.now_ms()).to_string();
    let running: Vec<i64> = directory_store::campaigns_on(&state.db, &today)
        .await?
        .into_iter()
        .filter(|c| c.hospital_id == service.hospital_id)
        .map(|c| c.id)
        .collect();
    let Some(&first) = running.first() else {
        return Err(AppError::refused(
            Reason::NoFreeClinic,
            "no free-clinic campaign (义诊活动) is running at this hospital today",
        ));
    };
    let Some(doctor) = doctor else {
        return Ok(first);
    };
    for campaign in running {
        if store::volunteers_in(&state.db, doctor, campaign).await? {
            return Ok(campaign);
        }
    }
    Err(AppError::refused(
        Reason::NoFreeClinic,
        "this doctor is not a volunteer of the free-clinic campaign running today",
    ))
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
            format!(
                "the appointment is {}",
                appt.status.as_str().replace('_', " ")
            ),
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
    if let Some(existing) = store::for_appointment(&state.db, appointment_id).await? {
        return Err(AppError::refused(
            Reason::ConsultationExists,
            format!("this appointment already has its consultation: /consultations/{existing}"),
        ));
    }
    Ok(appt.doctor_id)
}

/// The consultation appointment `appointment_id` is held as, if one was started (and not
/// cancelled or expired). For the appointment's own pages, which checked who is asking.
pub async fn held_as(state: &AppState, appointment_id: i64) -> AppResult<Option<i64>> {
    Ok(store::for_appointment(&state.db, appointment_id).await?)
}

/// An uploaded record of `person`, or a field error naming `field`.
pub(super) async fn own_record(
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
pub(super) async fn view_unchecked(state: &AppState, id: i64) -> AppResult<ConsultationView> {
    let consultation = consultation_or_404(state, id).await?;
    let intake = match store::intake(&state.db, id).await? {
        Some(row) => Some(IntakeView::from_row(
            row,
            store::attached_records(&state.db, id).await?,
        )),
        None => None,
    };
    let history = store::events(&state.db, id).await?;
    let note = store::note(&state.db, id).await?.map(Into::into);
    let now = state.now_ms();
    let due = consultation.created_at + consultation.reply_within_min * 60_000;
    let reply_overdue = match consultation.first_reply_at {
        Some(at) => at > due,
        None => !consultation.status().is_ended() && now > due,
    };
    let crisis = intake
        .as_ref()
        .and_then(|i| i.counselling.as_ref())
        .is_some_and(|c| c.self_harm_thoughts);
    let fee = crate::billing::fees::fee_of(state, "consultation", id).await?;
    Ok(ConsultationView {
        crisis,
        fee,
        follow_up_basis: follow_up_basis(&consultation),
        reply_overdue,
        consultation,
        intake,
        history,
        note,
    })
}

/// Audits the refusal of `action` on `c` to the actor, for the reason `why`.
pub(super) async fn deny(
    state: &AppState,
    actor: &Actor,
    c: &ConsultationRow,
    action: &str,
    why: &str,
) -> AppResult<()> {
    let id = Some(c.id.to_string());
    identity::deny(
        state,
        actor,
        action,
        "consultation",
        id,
        Some(c.person_id),
        why,
    )
    .await
}

/// The answer to someone who may not know that consultation `id` exists.
pub(super) fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("no consultation with id {id}"))
}

pub(super) async fn consultation_or_404(state: &AppState, id: i64) -> AppResult<ConsultationRow> {
    store::consultation(&state.db, id)
        .await?
        .ok_or_else(|| not_found(id))
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
pub(super) async fn authorize(
    state: &AppState,
    actor: &Actor,
    c: &ConsultationRow,
    action: &str,
) -> AppResult<()> {
    let me = actor.require()?;
    if me.role == Role::Doctor && c.doctor_id.is_none() && c.status() == Status::Requested {
        may_take(state, actor, c, action).await?;
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
        deny(state, actor, c, action, "another doctor's consultation").await?;
        return Err(not_found(c.id));
    }
    policy::authorize_patient_at(
        state,
        actor,
        action,
        "consultation",
        c.person_id,
        Some(c.hospital_id),
        None,
    )
    .await?;
    Ok(())
}

/// Whether the signed-in doctor may take `c`: the named doctor, or one who takes it from the
/// queue ([`takes_from_queue`]); with the privilege its kind needs and a fresh identity check.
pub(super) async fn may_take(
    state: &AppState,
    actor: &Actor,
    c: &ConsultationRow,
    action: &str,
) -> AppResult<()> {
    let me = actor.require()?;
    let mine = match c.doctor_id {
        Some(d) => d == me.account_id,
        None => takes_from_queue(state, me.account_id, c).await?,
    };
    if !mine {
        deny(
            state,
            actor,
            c,
            action,
            "not this doctor's, department's or campaign's request",
        )
        .await?;
        return Err(not_found(c.id));
    }
    let privilege = c.kind.required_privilege();
    if c.campaign_id.is_some() {
        // Volunteers from supporting hospitals consult under the privilege they hold at their
        // own hospital; the campaign is the arrangement that lets them serve this one.
        let holds = directory_store::privileges_of(&state.db, me.account_id)
            .await?
            .iter()
            .any(|p| p.kind == privilege.as_str() && p.status == "active");
        if !holds {
            return Err(AppError::Forbidden(format!(
                "the doctor does not hold an active {} privilege",
                privilege.as_str()
            )));
        }
    } else {
        directory::require_privilege(state, me.account_id, c.hospital_id, privilege).await?;
    }
    // 互联网诊疗监管细则: the doctor's identity is checked before each session with patients.
    require_step_up(state, me)
}

/// Whether `doctor` takes `c` from a queue: a free-clinic request from the campaign they
/// volunteer in; any other from the department (or hospital) where they actively practise.
pub(super) async fn takes_from_queue(
    state: &AppState,
    doctor: i64,
    c: &ConsultationRow,
) -> AppResult<bool> {
    if let Some(campaign) = c.campaign_id {
        return Ok(store::volunteers_in(&state.db, doctor, campaign).await?);
    }
    Ok(directory_store::sites_of(&state.db, doctor)
        .await?
        .iter()
        .any(|s| {
            s.status == "active"
                && s.hospital_id == c.hospital_id
                && (c.department_id.is_none() || s.department_id == c.department_id)
        }))
}

/// A doctor's queue: requests addressed to them, and unassigned ones of their departments at
/// their hospital, oldest first. Each listed patient's summary is an audited read.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ConsultationQueueItem)]
pub struct QueueItem {
    pub id: i64,
    pub kind: String,
    pub channel: String,
    pub addressed_to_me: bool,
    pub waiting_min: i64,
    /// Waiting longer than the service's first-reply target.
    pub reply_overdue: bool,
    /// A counselling request whose intake speaks of self-harm: to be taken first.
    pub crisis: bool,
    pub chief_complaint: String,
    pub temperature_c: Option<f64>,
    /// Any epidemiological answer was yes: travel to an outbreak area, contact, cluster.
    pub epidemiological_risk: bool,
    /// Flagged as a suspected infectious case (screening or a doctor): seen first after a
    /// crisis, and the doctor knows before opening it.
    pub suspected: bool,
    pub age: Option<u32>,
    pub sex: String,
}

pub async fn queue(state: &AppState, actor: &Actor) -> AppResult<Vec<QueueItem>> {
    let me = actor.require()?;
    crate::capability::require_role(me, Role::Doctor, "the consultation queue is for doctors")?;
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
    let today = crate::time::cst_today(state.now_ms());
    let rows = store::queue(
        &state.db,
        hospital,
        me.account_id,
        &departments,
        &today.to_string(),
        100,
    )
    .await?;
    let now = state.now_ms();
    // Each listed summary is an audited read; an empty queue (the usual poll) writes nothing.
    if !rows.is_empty() {
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
    }
    let mut items: Vec<QueueItem> = rows
        .into_iter()
        .map(|r| QueueItem {
            id: r.id,
            kind: r.kind,
            channel: r.channel,
            addressed_to_me: r.doctor_id == Some(me.account_id),
            waiting_min: (now - r.created_at).max(0) / 60_000,
            reply_overdue: now > r.created_at + r.reply_within_min * 60_000,
            crisis: r
                .counselling
                .as_deref()
                .and_then(|c| serde_json::from_str::<model::CounsellingIntake>(c).ok())
                .is_some_and(|c| c.self_harm_thoughts),
            chief_complaint: r.chief_complaint,
            temperature_c: r.temperature_dc.map(|t| t as f64 / 10.0),
            epidemiological_risk: r.outbreak_area_travel || r.confirmed_case_contact || r.cluster,
            suspected: r.suspected,
            age: chrono::NaiveDate::parse_from_str(&r.birth_date, "%Y-%m-%d")
                .ok()
                .and_then(|b| today.years_since(b)),
            sex: r.sex,
        })
        .collect();
    // A patient in crisis comes first, then suspected infectious cases; otherwise oldest
    // first (the sort is stable).
    items.sort_by_key(|q| (!q.crisis, !q.suspected));
    Ok(items)
}

/// "My consultations": a doctor's accepted and ongoing ones; anyone else's as a patient.
pub async fn listed(state: &AppState, actor: &Actor) -> AppResult<Vec<ConsultationRow>> {
    match actor.role() {
        Some(Role::Doctor) => my_active(state, actor).await,
        _ => mine(state, actor).await,
    }
}

/// The doctor's accepted and ongoing consultations.
pub async fn my_active(state: &AppState, actor: &Actor) -> AppResult<Vec<ConsultationRow>> {
    let me = actor.require()?;
    crate::capability::require_role(me, Role::Doctor, "for doctors")?;
    Ok(store::active_for_doctor(&state.db, me.account_id, 100).await?)
}

/// [`my_active`], each with the patient's name and complaint. Each listed patient is a read of
/// their record, so it goes through the policy (care link at the consultation's hospital and
/// the identity check) and is audited.
pub async fn my_active_listed(state: &AppState, actor: &Actor) -> AppResult<Vec<MineItem>> {
    let rows = my_active(state, actor).await?;
    let me = actor.require()?;
    let mut summaries: std::collections::HashMap<i64, store::ListedSummary> =
        store::summaries_for_doctor(&state.db, me.account_id, 100)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        policy::authorize_patient_at(
            state,
            actor,
            "consultation.list",
            "consultation",
            row.person_id,
            Some(row.hospital_id),
            None,
        )
        .await?;
        let s = summaries.remove(&row.id);
        items.push(MineItem {
            person_name: s
                .as_ref()
                .map(|s| s.person_name.clone())
                .unwrap_or_default(),
            doctor_name: None,
            chief_complaint: s.and_then(|s| s.chief_complaint).unwrap_or_default(),
            row,
        });
    }
    Ok(items)
}

/// The patient's consultations and those they requested for family.
/// A consultation in the patient's list: for whom, with which doctor, about what.
pub struct MineItem {
    pub row: ConsultationRow,
    pub person_name: String,
    pub doctor_name: Option<String>,
    pub chief_complaint: String,
}

/// [`mine`], each with what the list shows of it.
pub async fn mine_listed(state: &AppState, actor: &Actor) -> AppResult<Vec<MineItem>> {
    let rows = mine(state, actor).await?;
    let me = actor.require()?;
    let mut summaries: std::collections::HashMap<i64, store::ListedSummary> =
        store::summaries_for_patient(&state.db, me.account_id, me.person_id, 100)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let s = summaries.remove(&row.id);
            MineItem {
                person_name: s
                    .as_ref()
                    .map(|s| s.person_name.clone())
                    .unwrap_or_default(),
                doctor_name: s.as_ref().and_then(|s| s.doctor_name.clone()),
                chief_complaint: s.and_then(|s| s.chief_complaint).unwrap_or_default(),
                row,
            }
        })
        .collect())
}

pub async fn mine(state: &AppState, actor: &Actor) -> AppResult<Vec<ConsultationRow>> {
    let me = actor.require()?;
    crate::capability::require_role(
        me,
        Role::Patient,
        "this list is a patient's own consultations",
    )?;
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

/// The consultations of `person` the actor may see: the patient side sees all of them; a
/// doctor, through the policy (care link, step-up), those they hold. Audited.
pub async fn for_person(
    state: &AppState,
    actor: &Actor,
    person_id: i64,
    limit: i64,
) -> AppResult<Vec<ConsultationView>> {
    policy::authorize_patient(
        state,
        actor,
        "consultation.search",
        "consultation",
        person_id,
        None,
    )
    .await?;
    let me = actor.require()?;
    let mut views = Vec::new();
    for c in store::of_person(&state.db, person_id, limit).await? {
        if me.role == Role::Patient || c.doctor_id == Some(me.account_id) {
            views.push(view_unchecked(state, c.id).await?);
        }
    }
    Ok(views)
}

/// The temperature an intake recorded, in tenths of a degree (for a reader already allowed to
/// see the consultation's case).
pub async fn intake_temperature(db: &crate::db::Db, consultation: i64) -> AppResult<Option<i64>> {
    Ok(store::intake(db, consultation)
        .await?
        .and_then(|i| i.temperature_dc))
}
