//! Remote consultations between hospitals: who stands where to one ([`Standing`]), each step
//! of its life through [`model::transition`] in one transaction with its history row, audit
//! event, notices and the next step's reminder, and the shared items the specialist reads.
//!
//! | step | who |
//! |---|---|
//! | draft, consent on paper, send, receive, cancel | the inviting doctor: `teleconsult` privilege at their hospital and a care link to the patient there |
//! | consent in the app, cancel (withdrawing consent) | the patient, or the family member acting for them |
//! | accept, decline, schedule | the named specialist; before one is named, a doctor of the invited hospital (and department) holding `teleconsult` there, or its administrators (coordinators), who name the specialist |
//! | join the session | the inviting doctor, the specialist, the patient side |
//! | hold | the inviting doctor or the specialist, once both joined |
//! | invite or remove co-specialists (the panel) | the specialist, or a coordinator, before the session is held |
//! | read the shared items, join the session, addenda | also the panel's co-specialists |
//! | write and sign the report, addenda | the specialist |
//!
//! The specialist reads the shared items and nothing else of the patient (audited, basis
//! "remote consultation"), until the report is signed and the configured window more
//! (`--teleconsult-read-hours`, 72 by default).

use serde::{Deserialize, Serialize};

use super::model::{
    self, Action, Draft, ItemKind, ItemRef, OpinionInput, SessionPart, Status, TeleconsultDraft,
    TeleconsultUrgency,
};
use super::store::{self, Row, Scope};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::capability::{self, Capability};
use crate::db::Tx;
use crate::directory::model::{ActiveOrSuspended, PrivilegeKind};
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::identity::model::Role;
use crate::identity::{Actor, SignedIn};
use crate::jobs::{self, NewJob};
use crate::notification::model::{Event, Notice};
use crate::room::ROOM_SIZE;
use crate::time::cst_rfc3339;

/// How far ahead a session may be scheduled.
const MAX_SCHEDULE_AHEAD_MS: i64 = 30 * 24 * 3_600_000;

/// How the signed-in account stands to one remote consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The doctor who drafted it (邀请方医生).
    Inviting,
    /// Its specialist: named by the inviting doctor, or who accepted.
    Specialist,
    /// A co-specialist of the invited hospital on its panel (会诊专家组), invited by the
    /// specialist or a coordinator: reads the shared items and takes part in the session; the
    /// specialist alone writes and signs the opinion.
    Panelist,
    /// A doctor of the invited hospital (and department) holding `teleconsult` there, while
    /// the request waits unanswered and names nobody.
    Candidate,
    /// An administrator of the invited hospital (会诊协调员).
    Coordinator,
    /// An administrator of the inviting hospital (or the platform's): where it stands and
    /// whether it is late, without the clinical text.
    Oversight,
    /// The patient, or the family member acting for them.
    PatientSide,
}

impl Standing {
    fn clinical(self) -> bool {
        !matches!(self, Standing::Oversight)
    }
}

/// Decides `me`'s standing; `None` when they have none.
async fn standing_of(state: &AppState, me: &SignedIn, t: &Row) -> AppResult<Option<Standing>> {
    if me.account_id == t.inviting_doctor_id {
        return Ok(Some(Standing::Inviting));
    }
    if t.specialist_id == Some(me.account_id) {
        return Ok(Some(Standing::Specialist));
    }
    if me.role == Role::Doctor && store::is_panelist(&state.db, t.id, me.account_id).await? {
        return Ok(Some(Standing::Panelist));
    }
    let standing = match me.role {
        Role::Doctor
            if me.hospital_id == Some(t.invited_hospital_id)
                && t.status == Status::Requested
                && t.specialist_id.is_none()
                && holds_teleconsult(state, me.account_id, t.invited_hospital_id).await?
                && store::practises_in(
                    &state.db,
                    me.account_id,
                    t.invited_hospital_id,
                    t.invited_department_id,
                )
                .await? =>
        {
            Some(Standing::Candidate)
        }
        Role::HospitalAdmin if me.hospital_id == Some(t.invited_hospital_id) => {
            Some(Standing::Coordinator)
        }
        Role::HospitalAdmin if me.hospital_id == Some(t.inviting_hospital_id) => {
            Some(Standing::Oversight)
        }
        Role::PlatformAdmin => Some(Standing::Oversight),
        Role::Patient => crate::identity::service::acts_for(state, me, t.person_id)
            .await?
            .then_some(Standing::PatientSide),
        _ => None,
    };
    Ok(standing)
}

async fn holds_teleconsult(state: &AppState, doctor: i64, hospital: i64) -> AppResult<bool> {
    Ok(crate::directory::service::require_privilege(
        state,
        doctor,
        hospital,
        PrivilegeKind::Teleconsult,
    )
    .await
    .is_ok())
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("no remote consultation with id {id}"))
}

async fn row_or_404(state: &AppState, id: i64) -> AppResult<Row> {
    store::get(&state.db, id)
        .await?
        .ok_or_else(|| not_found(id))
}

/// Refuses, audited with the consultation and its patient: 404 to whoever has no standing
/// (they are not told it exists), 403 to whoever has one but not for this.
async fn refuse(
    state: &AppState,
    actor: &Actor,
    t: &Row,
    action: &str,
    standing: Option<Standing>,
    why: &str,
) -> AppError {
    if let Err(e) = crate::identity::service::deny(
        state,
        actor,
        action,
        "teleconsult",
        Some(t.id.to_string()),
        Some(t.person_id),
        why,
    )
    .await
    {
        return e;
    }
    match standing {
        None => not_found(t.id),
        Some(_) => AppError::refused(
            Reason::RoleRequired,
            format!("{why}: this step is not yours to take"),
        ),
    }
}

/// Loads the consultation and requires one of `allowed` standings for `action`.
async fn load_as(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
    allowed: &[Standing],
) -> AppResult<(Row, Standing)> {
    let me = actor.require()?;
    let t = row_or_404(state, id).await?;
    let standing = standing_of(state, me, &t).await?;
    match standing {
        Some(s) if allowed.contains(&s) => Ok((t, s)),
        _ => Err(refuse(
            state,
            actor,
            &t,
            action,
            standing,
            "no standing for this step",
        )
        .await),
    }
}

/// The audit event of reading or changing it, with the standing as the basis.
fn event<'a>(actor: &Actor, action: &'a str, t: &Row, standing: Standing) -> NewEvent<'a> {
    NewEvent::new(actor.audit(), action, "teleconsult")
        .object(t.id)
        .patient(t.person_id)
        .reason(format!("remote consultation {}: {:?}", t.id, standing).to_lowercase())
}

/// The move itself in `tx`: checked by the lifecycle, a conditional update (409 if someone
/// got there first), the history row, the audit event, and the reminder of the next step's
/// due time. Returns the new status.
async fn apply(
    tx: &mut Tx,
    actor: &Actor,
    (t, standing): (&Row, Standing),
    action: Action,
    due: Option<i64>,
    reason: Option<&str>,
    now: i64,
) -> AppResult<Status> {
    let to = model::transition(t.status, action).map_err(AppError::wrong_state)?;
    if !store::set_status(tx, t.id, (t.status, to), due, now).await? {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            format!(
                "the remote consultation changed while you were looking (it is no longer {}); reload it",
                t.status
            ),
        ));
    }
    let me = actor.require()?;
    store::insert_event(tx, t.id, (Some(t.status), to), me.account_id, reason, now).await?;
    let mut e = event(actor, action.audit(), t, standing);
    if let Some(r) = reason {
        e = e.reason(r.to_owned());
    }
    audit::append(tx, &e).await?;
    if let Some(due) = due {
        let job = NewJob::of(&super::reminders::Due {
            teleconsult_id: t.id,
            status: to.as_str().to_owned(),
            due_at: due,
        })
        .dedupe_key(format!("{}:{}:{}:{due}", super::reminders::KIND, t.id, to))
        .run_at(model::reminder_at(now, due));
        jobs::enqueue(tx, &job).await?;
    }
    Ok(to)
}

async fn notify_all(
    tx: &mut Tx,
    accounts: &[i64],
    make: impl Fn(i64) -> Notice,
    now: i64,
) -> AppResult<()> {
    for a in accounts {
        crate::notification::service::notify(tx, &make(*a), now).await?;
    }
    Ok(())
}

/// A notice about `t` to `account`: its number and a link to it (the event adds the rest).
fn about(t: &Row, account: i64, event: Event) -> Notice {
    Notice::new(account, event, format!("teleconsult:{}", t.id))
        .param("number", t.id.to_string())
        .link(format!("/remote-consultations/{}", t.id))
}

fn clip(s: &str, field: &str, min: usize, max: usize) -> AppResult<String> {
    let s = s.trim();
    let n = s.chars().count();
    if n == 0 {
        return Err(AppError::field(FieldError::required(field)));
    }
    if n < min || n > max {
        return Err(AppError::field(FieldError::length(field, min, max)));
    }
    Ok(s.to_owned())
}

// ---- Drafting and consent ----

/// A record item as listed: what it is and when.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SharedItemBrief {
    pub kind: ItemKind,
    pub id: i64,
    /// The note's doctor, the prescription's diagnosis, the record's condition.
    pub title: String,
    /// The day it concerns (`YYYY-MM-DD`) when it has one, else when it was written (RFC 3339).
    pub date: String,
}

fn brief(r: store::ItemRow) -> SharedItemBrief {
    SharedItemBrief {
        kind: r.kind,
        id: r.id,
        title: r.title,
        date: r.day.unwrap_or_else(|| cst_rfc3339(r.at)),
    }
}

/// The inviting doctor's side of drafting: a doctor holding `teleconsult` at their hospital.
async fn inviting_doctor<'a>(state: &AppState, actor: &'a Actor) -> AppResult<(&'a SignedIn, i64)> {
    let me = actor.require()?;
    capability::require_role(
        me,
        Role::Doctor,
        "remote consultations are requested by doctors",
    )?;
    let hospital = me.hospital_id.ok_or_else(|| {
        AppError::refused(
            Reason::NoHospital,
            "you belong to no hospital yet".to_owned(),
        )
    })?;
    if !holds_teleconsult(state, me.account_id, hospital).await? {
        return Err(AppError::refused(
            Reason::PrivilegeMissing,
            "remote consultations need an active teleconsult privilege at your hospital".to_owned(),
        ));
    }
    Ok((me, hospital))
}

/// The items of a patient in the inviting doctor's care that may be shared.
pub async fn shareable(
    state: &AppState,
    actor: &Actor,
    person_id: Option<i64>,
) -> AppResult<Vec<SharedItemBrief>> {
    let (_, hospital) = inviting_doctor(state, actor).await?;
    let person_id = person_id.ok_or_else(|| AppError::required("person_id"))?;
    crate::policy::authorize_patient_at(
        state,
        actor,
        "teleconsult.items.list",
        "person",
        person_id,
        Some(hospital),
        None,
    )
    .await?;
    Ok(store::shareable(&state.db, person_id, hospital)
        .await?
        .into_iter()
        .map(brief)
        .collect())
}

/// Drafts a remote consultation for a patient in the doctor's care; the patient side is
/// asked for consent.
pub async fn draft(state: &AppState, actor: &Actor, input: &TeleconsultDraft) -> AppResult<i64> {
    let (me, hospital) = inviting_doctor(state, actor).await?;
    let d = input.validate().map_err(AppError::Validation)?;
    let basis = crate::policy::decide_patient_at(
        state,
        actor,
        "teleconsult.draft",
        "teleconsult",
        d.person_id,
        hospital,
    )
    .await?;
    check_invited(state, hospital, &d).await?;
    let shareable = store::shareable(&state.db, d.person_id, hospital).await?;
    let errors: Vec<FieldError> = input
        .items
        .iter()
        .enumerate()
        .filter(|(_, i)| !shareable.iter().any(|s| s.kind == i.kind && s.id == i.id))
        .map(|(n, _)| {
            FieldError::new(
                format!("items[{n}]"),
                "is not a record of this patient your hospital may share",
            )
            .localized("teleconsult.err.not_shareable", vec![])
        })
        .collect();
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let id = store::insert(&mut tx, hospital, me.account_id, &d, now).await?;
    store::insert_items(&mut tx, id, &d.items).await?;
    store::insert_event(&mut tx, id, (None, Status::Draft), me.account_id, None, now).await?;
    audit::append(
        &mut tx,
        &crate::policy::access_event(
            actor,
            "teleconsult.draft",
            "teleconsult",
            d.person_id,
            &basis,
        ),
    )
    .await?;
    let t_person = crate::identity::store::person(&state.db, d.person_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_default();
    let invited = crate::directory::store::get_hospital(&state.db, d.invited_hospital_id)
        .await?
        .map(|h| h.name)
        .unwrap_or_default();
    let side = store::patient_side(&mut tx, d.person_id).await?;
    notify_all(
        &mut tx,
        &side,
        |a| {
            Notice::new(a, Event::TeleconsultConsent, format!("teleconsult:{id}"))
                .param("doctor", me.display_name.clone())
                .param("patient", t_person.clone())
                .param("hospital", invited.clone())
                .link(format!("/remote-consultations/{id}"))
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The invited hospital exists, is not the doctor's own and is active; the department is
/// one of its; a named specialist practises there (in that department) and holds
/// `teleconsult` there.
async fn check_invited(state: &AppState, own: i64, d: &Draft) -> AppResult<()> {
    let Some(invited) =
        crate::directory::store::get_hospital(&state.db, d.invited_hospital_id).await?
    else {
        return Err(AppError::invalid_localized(
            "invited_hospital_id",
            format!("no hospital with id {}", d.invited_hospital_id),
            "field.unknown_hospital",
            vec![],
        ));
    };
    if invited.id == own {
        return Err(AppError::invalid_localized(
            "invited_hospital_id",
            "invite another hospital than your own",
            "teleconsult.err.another_hospital",
            vec![],
        ));
    }
    if invited.status == ActiveOrSuspended::Suspended {
        return Err(AppError::refused(
            Reason::HospitalSuspended,
            format!(
                "{} is suspended and takes no remote consultations",
                invited.name
            ),
        ));
    }
    if let Some(dep) = d.department_id
        && crate::directory::store::department_hospital(&state.db, dep).await? != Some(invited.id)
    {
        return Err(AppError::invalid_localized(
            "department_id",
            "is not a department of the invited hospital",
            "teleconsult.err.not_department",
            vec![],
        ));
    }
    if let Some(s) = d.specialist_id {
        if !store::practises_in(&state.db, s, invited.id, d.department_id).await? {
            return Err(AppError::invalid_localized(
                "specialist_id",
                "does not practise at the invited hospital (in that department)",
                "teleconsult.err.not_practising",
                vec![],
            ));
        }
        if !holds_teleconsult(state, s, invited.id).await? {
            return Err(AppError::refused(
                Reason::PrivilegeMissing,
                "the specialist holds no active teleconsult privilege at the invited hospital"
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

/// The patient (or a family member acting for them: 近亲属 sign in their stead) consents in
/// the app to the draft as it stands.
pub async fn consent(
    state: &AppState,
    actor: &Actor,
    id: i64,
    agree: Option<bool>,
) -> AppResult<()> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.consent",
        &[Standing::PatientSide],
    )
    .await?;
    if agree != Some(true) {
        return Err(AppError::invalid_localized(
            "agree",
            "must be true: consent is given by agreeing (to refuse, cancel the request)",
            "teleconsult.err.agree",
            vec![],
        ));
    }
    let me = actor.require()?;
    let signer = if me.person_id == Some(t.person_id) {
        me.display_name.clone()
    } else {
        format!("{}（家属）", me.display_name)
    };
    record_consent(
        state,
        actor,
        (&t, standing),
        &store::Consent {
            method: "signed",
            by: me.account_id,
            signer: &signer,
            witness: None,
            blob: None,
        },
    )
    .await
}

async fn record_consent(
    state: &AppState,
    actor: &Actor,
    (t, standing): (&Row, Standing),
    c: &store::Consent<'_>,
) -> AppResult<()> {
    if t.status != Status::Draft {
        return Err(AppError::wrong_state(format!(
            "consent is recorded while the remote consultation is a draft; it is {}",
            t.status
        )));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::set_consent(&mut tx, t.id, c, now).await? {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            "the remote consultation changed meanwhile; reload it".to_owned(),
        ));
    }
    audit::append(
        &mut tx,
        &event(actor, "teleconsult.consent", t, standing).reason(format!("consent: {}", c.method)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Consent on a paper form, scanned by the inviting doctor (a photo or a PDF), with who signed
/// it and who witnessed it.
pub async fn consent_on_paper(
    state: &AppState,
    actor: &Actor,
    id: i64,
    (signer, witness): (&str, &str),
    bytes: &[u8],
) -> AppResult<()> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.consent",
        &[Standing::Inviting],
    )
    .await?;
    let signer = clip(signer, "signer", 2, 40)?;
    let witness = clip(witness, "witness", 2, 40)?;
    let content_type = crate::blob::sniff_image(bytes)
        .or_else(|| bytes.starts_with(b"%PDF-").then_some("application/pdf"))
        .ok_or_else(|| {
            AppError::UnsupportedMediaType(
                "the scanned consent must be a JPEG, PNG or WebP photo or a PDF".to_owned(),
            )
        })?;
    let clean = if content_type == "application/pdf" {
        bytes.to_vec()
    } else {
        crate::scrub::strip(bytes, content_type)
            .map_err(|e| AppError::UnsupportedMediaType(e.to_string()))?
    };
    if t.status != Status::Draft {
        return Err(AppError::wrong_state(format!(
            "consent is recorded while the remote consultation is a draft; it is {}",
            t.status
        )));
    }
    let key = state
        .blobs
        .put(&clean)
        .await
        .map_err(AppError::from_storage)?;
    let me = actor.require()?;
    record_consent(
        state,
        actor,
        (&t, standing),
        &store::Consent {
            method: "paper",
            by: me.account_id,
            signer: &signer,
            witness: Some(&witness),
            blob: Some((&key, content_type)),
        },
    )
    .await
}

/// The scanned consent form: for the inviting doctor, the specialist, the patient side.
pub async fn consent_scan(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> AppResult<(Vec<u8>, String)> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.consent.read",
        &[
            Standing::Inviting,
            Standing::Specialist,
            Standing::Panelist,
            Standing::PatientSide,
        ],
    )
    .await?;
    let (Some(key), Some(content_type)) = (&t.consent_blob_key, &t.consent_content_type) else {
        return Err(AppError::NotFound(
            "this consent was not given on paper".to_owned(),
        ));
    };
    let bytes = state
        .blobs
        .get(key)
        .await
        .map_err(AppError::from_storage)?
        .ok_or_else(|| AppError::NotFound("the scanned consent is missing".to_owned()))?;
    audit::record(
        &state.db,
        &event(actor, "teleconsult.consent.read", &t, standing),
    )
    .await?;
    Ok((bytes, content_type.clone()))
}

// ---- The invited side ----

/// The inviting doctor sends the draft: consent recorded, the invited hospital active, the
/// doctor still holding `teleconsult`. The pair's terms fix the due times.
pub async fn send(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let (t, standing) =
        load_as(state, actor, id, "teleconsult.send", &[Standing::Inviting]).await?;
    model::transition(t.status, Action::Send).map_err(AppError::wrong_state)?;
    if t.consent_at.is_none() {
        return Err(AppError::refused(
            Reason::ConsentRequired,
            "the patient's informed consent is not recorded: ask them to sign it in the app, or attach the signed paper form".to_owned(),
        ));
    }
    inviting_doctor(state, actor).await?;
    let invited = crate::directory::store::get_hospital(&state.db, t.invited_hospital_id)
        .await?
        .ok_or_else(|| not_found(id))?;
    if invited.status == ActiveOrSuspended::Suspended {
        return Err(AppError::refused(
            Reason::HospitalSuspended,
            format!(
                "{} is suspended and takes no remote consultations",
                invited.name
            ),
        ));
    }
    let (routine, urgent) = store::terms(&state.db, t.inviting_hospital_id, t.invited_hospital_id)
        .await?
        .unwrap_or((
            model::DEFAULT_ROUTINE_MINUTES,
            model::DEFAULT_URGENT_MINUTES,
        ));
    let window = match t.urgency {
        TeleconsultUrgency::Routine => routine,
        TeleconsultUrgency::Urgent => urgent,
    };
    let now = state.now_ms();
    let report_due = now + window * 60_000;
    let due = model::step_due(Status::Requested, now, window * 60_000, report_due);
    let mut tx = state.db.begin().await?;
    apply(&mut tx, actor, (&t, standing), Action::Send, due, None, now).await?;
    store::set_sent(&mut tx, id, window, report_due, now).await?;
    let to = match t.specialist_id {
        Some(s) => vec![s],
        None => store::coordinators(&mut tx, t.invited_hospital_id).await?,
    };
    notify_all(
        &mut tx,
        &to,
        |a| {
            about(&t, a, Event::TeleconsultRequest)
                .param("hospital", t.inviting_hospital.clone())
                .param("urgency", t.urgency.as_str())
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The invited side accepts: a specialist for themselves, a coordinator naming one. Whoever
/// becomes the specialist must hold `teleconsult` at the invited hospital.
pub async fn accept(
    state: &AppState,
    actor: &Actor,
    id: i64,
    specialist: Option<i64>,
) -> AppResult<()> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.accept",
        &[
            Standing::Specialist,
            Standing::Candidate,
            Standing::Coordinator,
        ],
    )
    .await?;
    let me = actor.require()?;
    let specialist = match standing {
        Standing::Coordinator => match specialist.or(t.specialist_id) {
            Some(s) => s,
            None => return Err(AppError::required("specialist_id")),
        },
        _ => me.account_id,
    };
    model::transition(t.status, Action::Accept).map_err(AppError::wrong_state)?;
    if !store::practises_in(&state.db, specialist, t.invited_hospital_id, None).await? {
        return Err(AppError::invalid_localized(
            "specialist_id",
            "does not practise at the invited hospital",
            "teleconsult.err.not_practising",
            vec![],
        ));
    }
    if !holds_teleconsult(state, specialist, t.invited_hospital_id).await? {
        return Err(AppError::refused(
            Reason::PrivilegeMissing,
            "the specialist holds no active teleconsult privilege at the invited hospital"
                .to_owned(),
        ));
    }
    let now = state.now_ms();
    let (window, report_due) = window_of(&t);
    let due = model::step_due(Status::Accepted, now, window, report_due);
    let mut tx = state.db.begin().await?;
    apply(
        &mut tx,
        actor,
        (&t, standing),
        Action::Accept,
        due,
        None,
        now,
    )
    .await?;
    store::set_specialist(&mut tx, id, specialist).await?;
    let name = crate::directory::service::doctor_name(&state.db, specialist).await?;
    let notice = about(&t, t.inviting_doctor_id, Event::TeleconsultAccepted)
        .param("hospital", t.invited_hospital.clone())
        .param("doctor", name);
    crate::notification::service::notify(&mut tx, &notice, now).await?;
    if specialist != me.account_id {
        let notice = about(&t, specialist, Event::TeleconsultRequest)
            .param("hospital", t.inviting_hospital.clone())
            .param("urgency", t.urgency.as_str());
        crate::notification::service::notify(&mut tx, &notice, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn window_of(t: &Row) -> (i64, i64) {
    let window = t.window_minutes.unwrap_or(model::DEFAULT_ROUTINE_MINUTES) * 60_000;
    let report_due = t.report_due_at.unwrap_or(t.updated_at + window);
    (window, report_due)
}

/// The invited side declines, saying why.
pub async fn decline(state: &AppState, actor: &Actor, id: i64, reason: &str) -> AppResult<()> {
    let allowed = [
        Standing::Specialist,
        Standing::Candidate,
        Standing::Coordinator,
    ];
    let (t, mut tx, reason, now) =
        end_with_reason(state, actor, id, Action::Decline, &allowed, reason).await?;
    let notice = about(&t, t.inviting_doctor_id, Event::TeleconsultDeclined)
        .param("hospital", t.invited_hospital.clone())
        .param("reason", reason);
    crate::notification::service::notify(&mut tx, &notice, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The steps that end a consultation with a reason (decline, cancel): the move and the reason,
/// in a transaction left open for the step's notices. Returns the consultation as it was, the
/// transaction, the reason as kept and the time.
async fn end_with_reason(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: Action,
    allowed: &[Standing],
    reason: &str,
) -> AppResult<(Row, Tx, String, i64)> {
    let (t, standing) = load_as(state, actor, id, action.audit(), allowed).await?;
    let reason = clip(reason, "reason", 2, 500)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    apply(
        &mut tx,
        actor,
        (&t, standing),
        action,
        None,
        Some(&reason),
        now,
    )
    .await?;
    store::set_reason(&mut tx, id, &reason).await?;
    Ok((t, tx, reason, now))
}

/// The specialist or a coordinator sets (or moves) the session's time, a China time such as
/// `2026-12-10 15:00`.
pub async fn schedule(state: &AppState, actor: &Actor, id: i64, starts_at: &str) -> AppResult<()> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.schedule",
        &[Standing::Specialist, Standing::Coordinator],
    )
    .await?;
    let now = state.now_ms();
    let at = crate::time::parse_cst_display(starts_at).ok_or_else(|| {
        AppError::invalid_localized(
            "starts_at",
            "must be a China time like 2026-12-10 15:00",
            "field.china_time",
            vec![("example", "2026-12-10 15:00".to_owned())],
        )
    })?;
    if at <= now || at > now + MAX_SCHEDULE_AHEAD_MS {
        return Err(AppError::invalid_localized(
            "starts_at",
            "must be in the future, within 30 days",
            "field.future_within",
            vec![("days", "30".to_owned())],
        ));
    }
    let panel = store::panel(&state.db, id).await?;
    let mut tx = state.db.begin().await?;
    apply(
        &mut tx,
        actor,
        (&t, standing),
        Action::Schedule,
        Some(at),
        None,
        now,
    )
    .await?;
    store::set_scheduled(&mut tx, id, at).await?;
    let mut to = vec![t.inviting_doctor_id];
    to.extend(t.specialist_id);
    to.extend(panel.into_iter().map(|(a, _)| a));
    to.extend(store::patient_side(&mut tx, t.person_id).await?);
    let time = crate::time::cst_display(at);
    notify_all(
        &mut tx,
        &to,
        |a| {
            // A moved session is news again: the cause carries the time.
            let mut n = about(&t, a, Event::TeleconsultScheduled).param("time", time.clone());
            n.cause = format!("teleconsult:{id}:{at}");
            n
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- The panel ----

/// The most co-specialists beside the specialist: with the inviting doctor, the specialist and
/// one person of the patient side they fill the video room's [`ROOM_SIZE`] places.
pub const MAX_PANEL: i64 = ROOM_SIZE - 3;

/// The panel changes from acceptance until the session is held.
fn panel_open(t: &Row) -> AppResult<()> {
    if matches!(t.status, Status::Accepted | Status::Scheduled) {
        Ok(())
    } else {
        Err(AppError::wrong_state(format!(
            "the panel is set from acceptance until the session is held; this consultation is {}",
            t.status
        )))
    }
}

/// The specialist or a coordinator invites a co-specialist onto the panel (会诊专家组): a
/// doctor practising at the invited hospital (any department) who holds `teleconsult` there.
/// Inviting someone already on it changes nothing.
pub async fn add_panelist(
    state: &AppState,
    actor: &Actor,
    id: i64,
    doctor: Option<i64>,
) -> AppResult<()> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.panel.add",
        &[Standing::Specialist, Standing::Coordinator],
    )
    .await?;
    panel_open(&t)?;
    let doctor = doctor.ok_or_else(|| AppError::required("account_id"))?;
    if doctor == t.inviting_doctor_id || t.specialist_id == Some(doctor) {
        return Err(AppError::invalid_localized(
            "account_id",
            "is already in this consultation as the inviting doctor or the specialist",
            "teleconsult.err.panel_taken",
            vec![],
        ));
    }
    if !store::practises_in(&state.db, doctor, t.invited_hospital_id, None).await? {
        return Err(AppError::invalid_localized(
            "account_id",
            "does not practise at the invited hospital",
            "teleconsult.err.not_practising",
            vec![],
        ));
    }
    if !holds_teleconsult(state, doctor, t.invited_hospital_id).await? {
        return Err(AppError::refused(
            Reason::PrivilegeMissing,
            "the co-specialist holds no active teleconsult privilege at the invited hospital"
                .to_owned(),
        ));
    }
    let me = actor.require()?;
    let now = state.now_ms();
    let name = crate::directory::service::doctor_name(&state.db, me.account_id).await?;
    let mut tx = state.db.begin().await?;
    store::lock(&mut tx, id).await?;
    if !store::add_panelist(&mut tx, id, (doctor, me.account_id), MAX_PANEL, now).await? {
        // Already on it: nothing changes, nobody is told again.
        if store::is_panelist_in(&mut tx, id, doctor).await? {
            return Ok(());
        }
        return Err(AppError::refused(
            Reason::PanelFull,
            format!("the panel already has {MAX_PANEL} co-specialists; remove one first"),
        ));
    }
    let e = event(actor, "teleconsult.panel.add", &t, standing).reason(
        format!("remote consultation {id}: {standing:?}; co-specialist {doctor}").to_lowercase(),
    );
    audit::append(&mut tx, &e).await?;
    let notice = about(&t, doctor, Event::TeleconsultPanel)
        .param("hospital", t.inviting_hospital.clone())
        .param("doctor", name);
    crate::notification::service::notify(&mut tx, &notice, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The specialist or a coordinator takes a co-specialist off the panel (404 when they are not
/// on it). From then on the consultation is closed to them like to any stranger.
pub async fn remove_panelist(
    state: &AppState,
    actor: &Actor,
    id: i64,
    doctor: i64,
) -> AppResult<()> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.panel.remove",
        &[Standing::Specialist, Standing::Coordinator],
    )
    .await?;
    panel_open(&t)?;
    let mut tx = state.db.begin().await?;
    if !store::remove_panelist(&mut tx, id, doctor).await? {
        return Err(AppError::NotFound(format!(
            "doctor {doctor} is not on the panel of remote consultation {id}"
        )));
    }
    let e = event(actor, "teleconsult.panel.remove", &t, standing).reason(
        format!("remote consultation {id}: {standing:?}; co-specialist {doctor}").to_lowercase(),
    );
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(())
}

/// The consultations whose panel `doctor` sits on (what they perform beside specialists).
pub async fn panels_of(state: &AppState, doctor: i64) -> AppResult<Vec<i64>> {
    Ok(store::panels_of(&state.db, doctor).await?)
}

/// Whom the reader may invite onto the panel now: the invited hospital's doctors holding
/// `teleconsult`, less those already in the consultation (empty to anyone else, or when the
/// panel is closed or full).
pub async fn panel_choices(
    state: &AppState,
    actor: &Actor,
    t: &TeleconsultView,
) -> AppResult<Vec<IdName>> {
    actor.require()?;
    let open = matches!(t.summary.status, Status::Accepted | Status::Scheduled);
    let may = matches!(t.standing, Standing::Specialist | Standing::Coordinator);
    if !open || !may || t.panel.len() >= usize::try_from(MAX_PANEL).unwrap_or(0) {
        return Ok(Vec::new());
    }
    let taken = |id: i64| {
        id == t.summary.inviting_doctor.id
            || t.summary.specialist.as_ref().is_some_and(|s| s.id == id)
            || t.panel.iter().any(|p| p.id == id)
    };
    Ok(store::specialists(&state.db, t.summary.invited_hospital.id)
        .await?
        .into_iter()
        .filter(|(id, _)| !taken(*id))
        .map(|(id, name)| IdName { id, name })
        .collect())
}

// ---- The session ----

/// Who entered the session, as the video room tells the others.
#[derive(Debug, Clone)]
pub struct Entered {
    /// The row of this joining: leaving closes exactly it.
    pub participation: i64,
    pub account: i64,
    pub name: String,
    pub part: SessionPart,
    /// How they stand in the consultation (the basis of the audit event when they leave).
    pub standing: Standing,
}

/// Someone joins the session: recorded with the time (a second joining of the same account
/// closes its first: one account, one place in the room). The room holds at most
/// [`ROOM_SIZE`] people at once.
pub async fn join(state: &AppState, actor: &Actor, id: i64) -> AppResult<Entered> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.join",
        &[
            Standing::Inviting,
            Standing::Specialist,
            Standing::Panelist,
            Standing::PatientSide,
        ],
    )
    .await?;
    if t.status != Status::Scheduled {
        return Err(AppError::wrong_state(format!(
            "the session can be joined once it is scheduled and until it is held; it is {}",
            t.status
        )));
    }
    // Co-specialists take part as specialists: the room and the record show them so.
    let part = match standing {
        Standing::Inviting => SessionPart::Inviting,
        Standing::Specialist | Standing::Panelist => SessionPart::Specialist,
        _ => SessionPart::Patient,
    };
    let me = actor.require()?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if store::present_others(&mut tx, id, me.account_id).await? >= ROOM_SIZE {
        return Err(AppError::refused(
            Reason::RoomFull,
            format!("the session already has {ROOM_SIZE} participants; join when one leaves"),
        ));
    }
    store::leave(&mut tx, id, me.account_id, now).await?;
    let participation = store::join(&mut tx, id, me.account_id, part, now).await?;
    audit::append(&mut tx, &event(actor, "teleconsult.join", &t, standing)).await?;
    tx.commit().await?;
    Ok(Entered {
        participation,
        account: me.account_id,
        name: me.display_name.clone(),
        part,
        standing,
    })
}

/// Someone leaves the session.
pub async fn leave(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.leave",
        &[
            Standing::Inviting,
            Standing::Specialist,
            Standing::Panelist,
            Standing::PatientSide,
        ],
    )
    .await?;
    let me = actor.require()?;
    let mut tx = state.db.begin().await?;
    store::leave(&mut tx, id, me.account_id, state.now_ms()).await?;
    audit::append(&mut tx, &event(actor, "teleconsult.leave", &t, standing)).await?;
    tx.commit().await?;
    Ok(())
}

/// A room connection ended: its joining closes, if it is still open (holding the session,
/// or joining again elsewhere, may have closed it already). Audited as leaving.
pub async fn left_room(
    state: &AppState,
    actor: &Actor,
    id: i64,
    entered: &Entered,
) -> AppResult<()> {
    let t = row_or_404(state, id).await?;
    let mut tx = state.db.begin().await?;
    if store::leave_one(&mut tx, entered.participation, state.now_ms()).await? {
        let leaving = event(actor, "teleconsult.leave", &t, entered.standing);
        audit::append(&mut tx, &leaving).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The session took place: only once the inviting physician and the specialist joined (the
/// inviting hospital stays responsible, so its doctor must be there). Everyone still in it
/// leaves; the report is due.
pub async fn hold(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.hold",
        &[Standing::Inviting, Standing::Specialist],
    )
    .await?;
    model::transition(t.status, Action::Hold).map_err(AppError::wrong_state)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let inviting = store::has_joined(&mut tx, id, t.inviting_doctor_id).await?;
    let specialist = match t.specialist_id {
        Some(s) => store::has_joined(&mut tx, id, s).await?,
        None => false,
    };
    if !(inviting && specialist) {
        let missing = match (inviting, specialist) {
            (false, false) => "neither the inviting physician nor the specialist has joined",
            (false, true) => "the inviting physician has not joined",
            _ => "the specialist has not joined",
        };
        return Err(AppError::refused(
            Reason::ParticipantsAbsent,
            format!("the session cannot count as held: {missing}"),
        ));
    }
    let (window, report_due) = window_of(&t);
    let due = model::step_due(Status::Held, now, window, report_due);
    apply(&mut tx, actor, (&t, standing), Action::Hold, due, None, now).await?;
    store::leave_all(&mut tx, id, now).await?;
    tx.commit().await?;
    crate::room::publish(&state.db, &state.rooms, id, crate::room::News::Ended).await;
    Ok(())
}

// ---- The report ----

/// The specialist writes (or rewrites) the report's draft, during or after the session.
pub async fn save_report(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: &OpinionInput,
) -> AppResult<()> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.report.save",
        &[Standing::Specialist],
    )
    .await?;
    let report = input.validate().map_err(AppError::Validation)?;
    if matches!(t.status, Status::Reported | Status::Received) {
        return Err(signed());
    }
    if !matches!(t.status, Status::Scheduled | Status::Held) {
        return Err(AppError::wrong_state(format!(
            "the report is written once the session is scheduled; it is {}",
            t.status
        )));
    }
    let me = actor.require()?;
    let mut tx = state.db.begin().await?;
    if !store::save_report(&mut tx, id, me.account_id, &report, state.now_ms()).await? {
        return Err(signed());
    }
    audit::append(
        &mut tx,
        &event(actor, "teleconsult.report.save", &t, standing),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn signed() -> AppError {
    AppError::refused(
        Reason::ReportSigned,
        "the report is signed and is not changed: add an addendum".to_owned(),
    )
}

/// The specialist signs the report once the session was held; the inviting doctor is told.
pub async fn sign_report(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.report.sign",
        &[Standing::Specialist],
    )
    .await?;
    if matches!(t.status, Status::Reported | Status::Received) {
        return Err(signed());
    }
    model::transition(t.status, Action::Report).map_err(AppError::wrong_state)?;
    let me = actor.require()?;
    let now = state.now_ms();
    let (window, report_due) = window_of(&t);
    let due = model::step_due(Status::Reported, now, window, report_due);
    let mut tx = state.db.begin().await?;
    if !store::sign_report(&mut tx, id, me.account_id, now).await? {
        return Err(AppError::refused(
            Reason::ReportRequired,
            "write the report (PUT …/report) before signing it".to_owned(),
        ));
    }
    apply(
        &mut tx,
        actor,
        (&t, standing),
        Action::Report,
        due,
        None,
        now,
    )
    .await?;
    store::set_reported(&mut tx, id, now).await?;
    let notice = about(&t, t.inviting_doctor_id, Event::TeleconsultReported)
        .param("doctor", me.display_name.clone());
    crate::notification::service::notify(&mut tx, &notice, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The specialist, or a co-specialist of the panel, adds to a signed report (corrections,
/// results that came later, a co-specialist's own view).
pub async fn add_addendum(state: &AppState, actor: &Actor, id: i64, body: &str) -> AppResult<()> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.addendum",
        &[Standing::Specialist, Standing::Panelist],
    )
    .await?;
    let body = clip(body, "body", 2, 2_000)?;
    if !matches!(t.status, Status::Reported | Status::Received) {
        return Err(AppError::wrong_state(format!(
            "addenda are added to a signed report; this one is {}",
            t.status
        )));
    }
    let me = actor.require()?;
    let mut tx = state.db.begin().await?;
    store::add_addendum(&mut tx, id, me.account_id, &body, state.now_ms()).await?;
    audit::append(&mut tx, &event(actor, "teleconsult.addendum", &t, standing)).await?;
    tx.commit().await?;
    Ok(())
}

/// The inviting doctor receives the report and records what they decide; the patient side is
/// told and may read the report from now on.
pub async fn receive(state: &AppState, actor: &Actor, id: i64, decision: &str) -> AppResult<()> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.receive",
        &[Standing::Inviting],
    )
    .await?;
    let decision = clip(decision, "decision", 2, 2_000)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    apply(
        &mut tx,
        actor,
        (&t, standing),
        Action::Receive,
        None,
        None,
        now,
    )
    .await?;
    store::set_decision(&mut tx, id, &decision).await?;
    let side = store::patient_side(&mut tx, t.person_id).await?;
    notify_all(
        &mut tx,
        &side,
        |a| {
            about(&t, a, Event::TeleconsultConcluded)
                .param("patient", t.patient_name.clone())
                .param("doctor", t.inviting_doctor.clone())
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The inviting doctor withdraws it, or the patient side withdraws consent, before the
/// session is held.
pub async fn cancel(state: &AppState, actor: &Actor, id: i64, reason: &str) -> AppResult<()> {
    let allowed = [Standing::Inviting, Standing::PatientSide];
    let (_, tx, _, _) = end_with_reason(state, actor, id, Action::Cancel, &allowed, reason).await?;
    tx.commit().await?;
    crate::room::publish(&state.db, &state.rooms, id, crate::room::News::Ended).await;
    Ok(())
}

// ---- Reading ----

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdName {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentRecord {
    /// `signed` (in the app) or `paper` (a scanned form).
    pub method: String,
    pub signer: String,
    pub witness: Option<String>,
    pub at: String,
    /// `…/consent/scan` serves the form.
    pub scanned: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionParticipant {
    pub name: String,
    /// `inviting`, `specialist` or `patient`.
    pub part: SessionPart,
    pub joined_at: String,
    pub left_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpinionReport {
    pub author: String,
    pub findings: String,
    pub diagnosis_icd10: String,
    pub diagnosis_name: String,
    pub recommendations: String,
    pub updated_at: String,
    /// Unset while it is a draft (seen by its specialist only).
    pub signed_at: Option<String>,
    pub addenda: Vec<OpinionAddendum>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpinionAddendum {
    pub author: String,
    pub body: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeleconsultStep {
    pub status: Status,
    pub by: String,
    pub reason: Option<String>,
    pub at: String,
}

/// One remote consultation as a list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeleconsultSummary {
    pub id: i64,
    pub status: Status,
    pub urgency: TeleconsultUrgency,
    /// Not shown to administrators of the inviting hospital (oversight, not care).
    pub patient: Option<IdName>,
    pub inviting_hospital: IdName,
    pub inviting_doctor: IdName,
    pub invited_hospital: IdName,
    pub invited_department: Option<IdName>,
    pub specialist: Option<IdName>,
    pub scheduled_at: Option<String>,
    /// When the current step is due.
    pub due_at: Option<String>,
    /// The current step is past its due time.
    pub overdue: bool,
    /// The patient's consent is recorded.
    pub consented: bool,
    pub report_due_at: Option<String>,
    pub created_at: String,
}

fn summary(t: &Row, clinical: bool, now: i64) -> TeleconsultSummary {
    let named = |id: Option<i64>, name: &Option<String>| match (id, name) {
        (Some(id), Some(name)) => Some(IdName {
            id,
            name: name.clone(),
        }),
        _ => None,
    };
    TeleconsultSummary {
        id: t.id,
        status: t.status,
        urgency: t.urgency,
        patient: clinical.then(|| IdName {
            id: t.person_id,
            name: t.patient_name.clone(),
        }),
        inviting_hospital: IdName {
            id: t.inviting_hospital_id,
            name: t.inviting_hospital.clone(),
        },
        inviting_doctor: IdName {
            id: t.inviting_doctor_id,
            name: t.inviting_doctor.clone(),
        },
        invited_hospital: IdName {
            id: t.invited_hospital_id,
            name: t.invited_hospital.clone(),
        },
        invited_department: named(t.invited_department_id, &t.invited_department),
        specialist: named(t.specialist_id, &t.specialist),
        scheduled_at: t.scheduled_at.map(cst_rfc3339),
        due_at: t.due_at.map(cst_rfc3339),
        overdue: is_overdue(t, now),
        consented: t.consent_at.is_some(),
        report_due_at: t.report_due_at.map(cst_rfc3339),
        created_at: cst_rfc3339(t.created_at),
    }
}

fn is_overdue(t: &Row, now: i64) -> bool {
    !t.status.is_ended() && t.status != Status::Draft && t.due_at.is_some_and(|d| d < now)
}

/// A remote consultation as one who stands in it sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeleconsultView {
    #[serde(flatten)]
    pub summary: TeleconsultSummary,
    /// How the reader stands in it.
    pub standing: Standing,
    pub question: Option<String>,
    pub summary_text: Option<String>,
    pub consent: Option<ConsentRecord>,
    /// Why it was declined or cancelled.
    pub reason: Option<String>,
    /// What the inviting doctor decided on receiving the report.
    pub decision: Option<String>,
    /// The shared items (what they are; their content is under `…/items`).
    pub items: Vec<SharedItemBrief>,
    /// The co-specialists on its panel beside the specialist (会诊专家组).
    pub panel: Vec<IdName>,
    pub participants: Vec<SessionParticipant>,
    /// The reader is in the session now (joined and not left).
    pub joined: bool,
    pub report: Option<OpinionReport>,
    pub history: Vec<TeleconsultStep>,
}

/// One remote consultation, for whoever stands in it; every reading of the clinical text is
/// audited.
pub async fn view(state: &AppState, actor: &Actor, id: i64) -> AppResult<TeleconsultView> {
    let me = actor.require()?;
    let t = row_or_404(state, id).await?;
    let Some(standing) = standing_of(state, me, &t).await? else {
        return Err(refuse(state, actor, &t, "teleconsult.read", None, "no standing").await);
    };
    let now = state.now_ms();
    let clinical = standing.clinical();
    if clinical {
        audit::record(&state.db, &event(actor, "teleconsult.read", &t, standing)).await?;
    }
    let items = if clinical {
        let shared = store::items(&state.db, id).await?;
        store::shareable(&state.db, t.person_id, t.inviting_hospital_id)
            .await?
            .into_iter()
            .filter(|r| {
                shared.contains(&ItemRef {
                    kind: r.kind,
                    id: r.id,
                })
            })
            .map(brief)
            .collect()
    } else {
        Vec::new()
    };
    let report = match store::report(&state.db, id).await? {
        Some(r) => {
            let visible = match standing {
                Standing::Specialist | Standing::Panelist => true,
                Standing::Inviting => r.signed_at.is_some(),
                Standing::PatientSide => t.status == Status::Received,
                _ => false,
            };
            if visible {
                let addenda = store::addenda(&state.db, id)
                    .await?
                    .into_iter()
                    .map(|a| OpinionAddendum {
                        author: a.author,
                        body: a.body,
                        at: cst_rfc3339(a.created_at),
                    })
                    .collect();
                Some(OpinionReport {
                    author: r.author,
                    findings: r.findings,
                    diagnosis_icd10: r.diagnosis_icd10,
                    diagnosis_name: r.diagnosis_name,
                    recommendations: r.recommendations,
                    updated_at: cst_rfc3339(r.updated_at),
                    signed_at: r.signed_at.map(cst_rfc3339),
                    addenda,
                })
            } else {
                None
            }
        }
        None => None,
    };
    let panel = store::panel(&state.db, id)
        .await?
        .into_iter()
        .map(|(id, name)| IdName { id, name })
        .collect();
    let rows = store::participants(&state.db, id).await?;
    let joined = rows
        .iter()
        .any(|p| p.account_id == me.account_id && p.left_at.is_none());
    let participants = rows
        .into_iter()
        .map(|p| SessionParticipant {
            name: p.name,
            part: p.part,
            joined_at: cst_rfc3339(p.joined_at),
            left_at: p.left_at.map(cst_rfc3339),
        })
        .collect();
    let history = store::events(&state.db, id)
        .await?
        .into_iter()
        .map(|e| TeleconsultStep {
            status: e.to_status,
            by: e.actor,
            reason: e.reason,
            at: cst_rfc3339(e.at),
        })
        .collect();
    let consent = match (&t.consent_method, &t.consent_signer, t.consent_at) {
        (Some(method), Some(signer), Some(at)) if clinical => Some(ConsentRecord {
            method: method.clone(),
            signer: signer.clone(),
            witness: t.consent_witness.clone(),
            at: cst_rfc3339(at),
            scanned: t.consent_blob_key.is_some(),
        }),
        _ => None,
    };
    Ok(TeleconsultView {
        summary: summary(&t, clinical, now),
        standing,
        question: clinical.then(|| t.question.clone()),
        summary_text: clinical.then(|| t.summary.clone()),
        consent,
        reason: t.reason.clone(),
        decision: if clinical { t.decision.clone() } else { None },
        items,
        panel,
        participants,
        joined,
        report,
        history,
    })
}

/// TeleconsultList list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TeleconsultList {
    /// The reader's own: a doctor's as inviting doctor or specialist, a patient's and their
    /// family's, an administrator's hospital's (both directions).
    #[default]
    Mine,
    /// Requests waiting at the reader's hospital (its specialists and coordinators).
    Queue,
}

/// The reader's remote consultations, newest first; `overdue` keeps those past their step's
/// due time.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    which: TeleconsultList,
    overdue: bool,
) -> AppResult<Vec<TeleconsultSummary>> {
    let me = actor.require()?;
    let now = state.now_ms();
    let overdue_at = overdue.then_some(now);
    let people;
    let scope = match (which, me.role) {
        (TeleconsultList::Mine, Role::Doctor) => Scope::Doctor(me.account_id),
        (TeleconsultList::Mine, Role::HospitalAdmin)
        | (TeleconsultList::Queue, Role::HospitalAdmin | Role::Doctor) => {
            let h = me.hospital_id.ok_or_else(|| {
                AppError::refused(
                    Reason::NoHospital,
                    "you belong to no hospital yet".to_owned(),
                )
            })?;
            if which == TeleconsultList::Queue {
                Scope::Queue(h)
            } else {
                Scope::Hospital(h)
            }
        }
        (TeleconsultList::Mine, Role::Patient) => {
            people = crate::identity::service::searchable_patients(state, actor).await?;
            Scope::People(&people)
        }
        _ => {
            return Err(AppError::refused(
                Reason::RoleRequired,
                "remote consultations are listed for doctors, hospital administrators and patients",
            ));
        }
    };
    let rows = store::list(&state.db, scope, overdue_at, 200).await?;
    let mut out = Vec::with_capacity(rows.len());
    for t in rows {
        // A queue shows a doctor only the requests they could take.
        let standing = match scope {
            Scope::Queue(_) if me.role == Role::Doctor => standing_of(state, me, &t).await?,
            Scope::Hospital(h) if h == t.inviting_hospital_id => Some(Standing::Oversight),
            _ => Some(Standing::Coordinator),
        };
        if let Some(s) = standing {
            out.push(summary(&t, s.clinical(), now));
        }
    }
    Ok(out)
}

// ---- The shared items ----

/// A shared item with its content.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SharedItem {
    #[serde(flatten)]
    pub brief: SharedItemBrief,
    /// Its parts, each with a stable label (`subjective`, `assessment`, `diagnosis`, `drug`,
    /// `record_kind`, `hospital`, `condition` …) and the text.
    pub lines: Vec<ItemLine>,
    /// For an uploaded record: where its file is.
    pub file: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemLine {
    pub label: String,
    pub text: String,
}

/// Who may read the shared items now: the inviting doctor, and the specialist and the panel
/// from acceptance until the report is signed plus the configured window.
async fn load_reader(state: &AppState, actor: &Actor, id: i64) -> AppResult<(Row, Standing)> {
    let (t, standing) = load_as(
        state,
        actor,
        id,
        "teleconsult.item.read",
        &[Standing::Inviting, Standing::Specialist, Standing::Panelist],
    )
    .await?;
    if matches!(standing, Standing::Specialist | Standing::Panelist) {
        let window = i64::try_from(state.config.consult.teleconsult_read_after.as_millis())
            .unwrap_or(i64::MAX);
        let open = t.status.specialist_reads()
            && t.reported_at
                .is_none_or(|r| state.now_ms() < r.saturating_add(window));
        if !open {
            return Err(refuse(
                state,
                actor,
                &t,
                "teleconsult.item.read",
                Some(standing),
                "the shared items are closed to the specialist",
            )
            .await);
        }
    }
    Ok((t, standing))
}

/// Every shared item with its content (audited once, naming each item).
pub async fn items(state: &AppState, actor: &Actor, id: i64) -> AppResult<Vec<SharedItem>> {
    let (t, standing) = load_reader(state, actor, id).await?;
    let shared = store::items(&state.db, id).await?;
    let briefs = store::shareable(&state.db, t.person_id, t.inviting_hospital_id).await?;
    let mut out = Vec::new();
    for r in briefs {
        if shared.contains(&ItemRef {
            kind: r.kind,
            id: r.id,
        }) {
            out.push(content(state, &t, brief(r)).await?);
        }
    }
    let names: Vec<String> = shared
        .iter()
        .map(|i| format!("{}:{}", i.kind, i.id))
        .collect();
    audit::record(
        &state.db,
        &event(actor, "teleconsult.item.read", &t, standing).reason(format!(
            "remote consultation {}: {:?}; items {}",
            t.id,
            standing,
            names.join(",")
        )),
    )
    .await?;
    Ok(out)
}

async fn content(state: &AppState, t: &Row, brief: SharedItemBrief) -> AppResult<SharedItem> {
    let file = format!("/api/v1/remote-consultations/{}/records/{}", t.id, brief.id);
    item_content(state, brief, file).await
}

/// What a shared record item holds, for whoever the sharing context let read it; `file` is
/// where an uploaded record's file is served in that context.
pub async fn item_content(
    state: &AppState,
    brief: SharedItemBrief,
    file: String,
) -> AppResult<SharedItem> {
    let lines = match brief.kind {
        ItemKind::Note => store::note_lines(&state.db, brief.id).await?,
        ItemKind::Prescription => store::prescription_lines(&state.db, brief.id).await?,
        kind => store::record_lines(&state.db, kind, brief.id).await?,
    };
    let file = (brief.kind == ItemKind::PriorRecord).then_some(file);
    Ok(SharedItem {
        brief,
        lines: lines
            .into_iter()
            .map(|l| ItemLine {
                label: l.label,
                text: l.text,
            })
            .collect(),
        file,
    })
}

/// The briefs of `items` of a patient at the hospital that shares them, in the order listed
/// for choosing.
pub async fn briefs(
    state: &AppState,
    person: i64,
    hospital: i64,
    items: &[ItemRef],
) -> AppResult<Vec<SharedItemBrief>> {
    Ok(store::shareable(&state.db, person, hospital)
        .await?
        .into_iter()
        .filter(|r| {
            items.contains(&ItemRef {
                kind: r.kind,
                id: r.id,
            })
        })
        .map(brief)
        .collect())
}

/// Which of `items` are not records of `person` that `hospital` may share (their indexes).
pub async fn not_shareable(
    state: &AppState,
    person: i64,
    hospital: i64,
    items: &[ItemRef],
) -> AppResult<Vec<usize>> {
    let ok = store::shareable(&state.db, person, hospital).await?;
    Ok(items
        .iter()
        .enumerate()
        .filter(|(_, i)| !ok.iter().any(|s| s.kind == i.kind && s.id == i.id))
        .map(|(n, _)| n)
        .collect())
}

/// One shared item; anything not shared is 404, whatever it is.
pub async fn item(
    state: &AppState,
    actor: &Actor,
    id: i64,
    item: ItemRef,
) -> AppResult<SharedItem> {
    let (t, standing) = shared_item(state, actor, id, item).await?;
    let brief = store::shareable(&state.db, t.person_id, t.inviting_hospital_id)
        .await?
        .into_iter()
        .find(|r| r.kind == item.kind && r.id == item.id)
        .map(brief)
        .ok_or_else(|| {
            AppError::NotFound(format!("no shared {} with id {}", item.kind, item.id))
        })?;
    let out = content(state, &t, brief).await?;
    audit::record(&state.db, &item_event(actor, &t, standing, item)).await?;
    Ok(out)
}

fn item_event<'a>(actor: &Actor, t: &Row, standing: Standing, item: ItemRef) -> NewEvent<'a> {
    event(actor, "teleconsult.item.read", t, standing).reason(format!(
        "remote consultation {}: {:?}; item {}:{}",
        t.id, standing, item.kind, item.id
    ))
}

async fn shared_item(
    state: &AppState,
    actor: &Actor,
    id: i64,
    item: ItemRef,
) -> AppResult<(Row, Standing)> {
    let (t, standing) = load_reader(state, actor, id).await?;
    if !store::items(&state.db, id).await?.contains(&item) {
        return Err(AppError::NotFound(format!(
            "no shared {} with id {} in this remote consultation",
            item.kind, item.id
        )));
    }
    Ok((t, standing))
}

/// An uploaded record's file, when shared.
pub async fn item_file(
    state: &AppState,
    actor: &Actor,
    id: i64,
    record: i64,
) -> AppResult<(Vec<u8>, String)> {
    let item = ItemRef {
        kind: ItemKind::PriorRecord,
        id: record,
    };
    let (t, standing) = shared_item(state, actor, id, item).await?;
    let (key, content_type) = store::prior_record_file(&state.db, record)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no record with id {record}")))?;
    let bytes = state
        .blobs
        .get(&key)
        .await
        .map_err(AppError::from_storage)?
        .ok_or_else(|| AppError::NotFound("the record's file is missing".to_owned()))?;
    audit::record(&state.db, &item_event(actor, &t, standing, item)).await?;
    Ok((bytes, content_type))
}

// ---- TeleconsultTerms between hospitals ----

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct TeleconsultTermsInput {
    /// The inviting hospital these terms are for.
    #[serde(default)]
    pub inviting_hospital_id: Option<i64>,
    /// Hours until a routine opinion is due (1–336).
    #[serde(default)]
    pub routine_hours: Option<i64>,
    /// Minutes until an urgent opinion is due (30–1,440).
    #[serde(default)]
    pub urgent_minutes: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeleconsultTerms {
    pub inviting_hospital_id: i64,
    pub routine_hours: i64,
    pub urgent_minutes: i64,
}

/// The invited hospital's administrators set how soon it answers requests from a hospital.
pub async fn set_terms(
    state: &AppState,
    actor: &Actor,
    invited: i64,
    input: &TeleconsultTermsInput,
) -> AppResult<TeleconsultTerms> {
    let me = capability::require(
        state,
        actor,
        Capability::Administer(invited),
        "teleconsult.terms.set",
    )
    .await?;
    let mut errors = Vec::new();
    let inviting = match input.inviting_hospital_id {
        None => {
            errors.push(FieldError::required("inviting_hospital_id"));
            None
        }
        Some(h) if h == invited => {
            errors.push(
                FieldError::new("inviting_hospital_id", "must be another hospital")
                    .localized("teleconsult.err.another_hospital", vec![]),
            );
            None
        }
        Some(h) => match crate::directory::store::get_hospital(&state.db, h).await? {
            Some(_) => Some(h),
            None => {
                errors.push(
                    FieldError::new("inviting_hospital_id", format!("no hospital with id {h}"))
                        .localized("field.unknown_hospital", vec![]),
                );
                None
            }
        },
    };
    let routine = match input.routine_hours {
        Some(h) if (1..=model::MAX_WINDOW_MINUTES / 60).contains(&h) => Some(h),
        Some(_) => {
            errors.push(FieldError::range(
                "routine_hours",
                1,
                model::MAX_WINDOW_MINUTES / 60,
            ));
            None
        }
        None => {
            errors.push(FieldError::required("routine_hours"));
            None
        }
    };
    let urgent = match input.urgent_minutes {
        Some(m) if (model::MIN_WINDOW_MINUTES..=24 * 60).contains(&m) => Some(m),
        Some(_) => {
            errors.push(FieldError::range(
                "urgent_minutes",
                model::MIN_WINDOW_MINUTES,
                24 * 60,
            ));
            None
        }
        None => {
            errors.push(FieldError::required("urgent_minutes"));
            None
        }
    };
    let (Some(inviting), Some(routine), Some(urgent)) = (inviting, routine, urgent) else {
        return Err(AppError::Validation(errors));
    };
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    store::put_terms(
        &mut tx,
        (inviting, invited),
        (routine * 60, urgent),
        me.account_id,
        now,
    )
    .await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "teleconsult.terms.set", "hospital")
            .object(invited)
            .reason(format!(
                "for {inviting}: routine {routine} h, urgent {urgent} min"
            )),
    )
    .await?;
    tx.commit().await?;
    Ok(TeleconsultTerms {
        inviting_hospital_id: inviting,
        routine_hours: routine,
        urgent_minutes: urgent,
    })
}

/// The terms an invited hospital set, per inviting hospital.
pub async fn terms(
    state: &AppState,
    actor: &Actor,
    invited: i64,
) -> AppResult<Vec<TeleconsultTerms>> {
    capability::require(
        state,
        actor,
        Capability::Administer(invited),
        "teleconsult.terms.read",
    )
    .await?;
    Ok(store::terms_of(&state.db, invited)
        .await?
        .into_iter()
        .map(|(inviting, routine, urgent)| TeleconsultTerms {
            inviting_hospital_id: inviting,
            routine_hours: routine / 60,
            urgent_minutes: urgent,
        })
        .collect())
}

// ---- What the pages offer ----

/// What the inviting doctor's form offers for one patient: their name, the items that may be
/// shared, and the departments of other active hospitals to invite.
pub struct DraftChoices {
    pub patient: String,
    pub items: Vec<SharedItemBrief>,
    /// (department, hospital) pairs.
    pub departments: Vec<(IdName, IdName)>,
}

pub async fn draft_choices(
    state: &AppState,
    actor: &Actor,
    person_id: Option<i64>,
) -> AppResult<DraftChoices> {
    let items = shareable(state, actor, person_id).await?;
    let (_, hospital) = inviting_doctor(state, actor).await?;
    let patient = match person_id {
        Some(p) => crate::identity::store::person(&state.db, p)
            .await?
            .map(|p| p.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let departments = departments_elsewhere(state, hospital).await?;
    Ok(DraftChoices {
        patient,
        items,
        departments,
    })
}

/// The departments of active hospitals other than `own`, with their hospital: what a remote
/// consultation or a referral may be sent to.
pub async fn departments_elsewhere(state: &AppState, own: i64) -> AppResult<Vec<(IdName, IdName)>> {
    Ok(store::invitable_departments(&state.db, own)
        .await?
        .into_iter()
        .map(|(d, dn, h, hn)| (IdName { id: d, name: dn }, IdName { id: h, name: hn }))
        .collect())
}

/// Every item of `person` that `hospital` may share (unchecked: the caller has decided the
/// reader may see the patient there).
pub async fn shareable_briefs(
    state: &AppState,
    person: i64,
    hospital: i64,
) -> AppResult<Vec<SharedItemBrief>> {
    Ok(store::shareable(&state.db, person, hospital)
        .await?
        .into_iter()
        .map(brief)
        .collect())
}

/// The specialists a coordinator may name: the invited hospital's doctors holding
/// `teleconsult` (empty for anyone else).
pub async fn specialists_for(
    state: &AppState,
    actor: &Actor,
    t: &TeleconsultView,
) -> AppResult<Vec<IdName>> {
    if t.standing != Standing::Coordinator {
        return Ok(Vec::new());
    }
    actor.require()?;
    Ok(store::specialists(&state.db, t.summary.invited_hospital.id)
        .await?
        .into_iter()
        .map(|(id, name)| IdName { id, name })
        .collect())
}
