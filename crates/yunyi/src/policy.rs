//! Who may read or change a patient's data: role (what kind of action) and relationship (this
//! account's link to this person). Every decision is written to the audit trail, allowed or
//! denied. Services call these functions before touching patient data; handlers never decide.
//!
//! | role | may read a person's record when |
//! |---|---|
//! | patient | it is their own, or a family member they act for |
//! | doctor, nurse, pharmacist | an active care link at the hospital the object belongs to (appointment, consultation, referral, remote consultation, care team) — a link made at one hospital never acts at another —, or break-glass with a reason (flagged for review) at a hospital where the patient has been seen (`--break-glass anywhere` lifts that); doctors also need a fresh identity step-up |
//! | infection officer | the person has a suspected case (epi_case) at the officer's hospital: the officer must reach them (传染病防控) |
//! | others (admins, regulators) | never through this path: they see staff, aggregates and audit |

use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::config::BreakGlassScope;
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::identity::auth::require_step_up;
use crate::identity::model::Role;
use crate::identity::service::deny;
use crate::identity::store;

/// Why access was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    Own,
    Family {
        guardian: bool,
    },
    CareLink(String),
    BreakGlass(String),
    /// An infection officer working a suspected case at their hospital.
    PublicHealth(i64),
}

impl Basis {
    pub fn describe(&self) -> String {
        match self {
            Basis::Own => "own record".to_owned(),
            Basis::Family { guardian: true } => "family member (guardian)".to_owned(),
            Basis::Family { guardian: false } => "family member".to_owned(),
            Basis::CareLink(kind) => format!("care link: {kind}"),
            Basis::BreakGlass(reason) => format!("break-glass: {reason}"),
            Basis::PublicHealth(case) => format!("infectious disease control: case {case}"),
        }
    }

    /// The identity number may be shown in full: to the person and to their guardian.
    pub fn reveals_identity(&self) -> bool {
        matches!(self, Basis::Own | Basis::Family { guardian: true })
    }
}

/// The shortest break-glass justification accepted: a word or two is not a reason.
pub const MIN_REASON_CHARS: usize = 10;

/// Decides whether `actor` may perform `action` (e.g. `patient.read`) on person `person_id`,
/// audits the decision, and returns the basis. Patients asking about someone else get 404, so
/// they cannot probe which ids exist; staff get 403 with what they are missing. Staff are
/// judged at their own hospital; for an object that belongs to a hospital use
/// [`authorize_patient_at`].
pub async fn authorize_patient(
    state: &AppState,
    actor: &Actor,
    action: &str,
    object_type: &str,
    person_id: i64,
    break_glass: Option<&str>,
) -> AppResult<Basis> {
    authorize_patient_at(
        state,
        actor,
        action,
        object_type,
        person_id,
        None,
        break_glass,
    )
    .await
}

/// As [`authorize_patient`] for an object of hospital `hospital` (an appointment, a
/// consultation, a prescription …): a clinician's care link counts only when it was made at
/// that hospital, and an officer's case only when it is there.
pub async fn authorize_patient_at(
    state: &AppState,
    actor: &Actor,
    action: &str,
    object_type: &str,
    person_id: i64,
    hospital: Option<i64>,
    break_glass: Option<&str>,
) -> AppResult<Basis> {
    let basis = decide(
        state,
        actor,
        action,
        object_type,
        person_id,
        hospital,
        break_glass,
    )
    .await?;
    audit::record(
        &state.db,
        &access_event(actor, action, object_type, person_id, &basis),
    )
    .await?;
    Ok(basis)
}

/// For what only the patient's side may do or see (their orders, their uploads): the person
/// or the family they act for. Anyone else is refused and the refusal audited with the object.
pub async fn authorize_patient_side(
    state: &AppState,
    actor: &Actor,
    action: &str,
    object_type: &str,
    object_id: i64,
    person_id: i64,
) -> AppResult<Basis> {
    let me = actor.require()?;
    if me.role != Role::Patient {
        deny(
            state,
            actor,
            action,
            object_type,
            Some(object_id.to_string()),
            Some(person_id),
            "only the patient's side",
        )
        .await?;
        return Err(AppError::Forbidden(format!(
            "only the patient (or the family they act for) may do this; a {} may not",
            me.role
        )));
    }
    authorize_patient(state, actor, action, object_type, person_id, None).await
}

/// The audit event of an allowed access, for a service that writes it in its own transaction
/// together with the change (see [`decide_patient`]).
pub fn access_event<'a>(
    actor: &Actor,
    action: &'a str,
    object_type: &'a str,
    person_id: i64,
    basis: &Basis,
) -> NewEvent<'a> {
    let flagged = matches!(basis, Basis::BreakGlass(_));
    if flagged {
        tracing::warn!(action, "break-glass access; flagged for review");
    }
    NewEvent::new(actor.audit(), action, object_type)
        .object(person_id)
        .patient(person_id)
        .reason(basis.describe())
        .flagged(flagged)
}

/// As [`authorize_patient`], but an allowed access is not yet recorded: the caller must append
/// [`access_event`] in the transaction that makes its change, so the decision and the change
/// are one write (the booking rush pays for one transaction, not two). Denials are recorded
/// here, as always.
pub async fn decide_patient(
    state: &AppState,
    actor: &Actor,
    action: &str,
    object_type: &str,
    person_id: i64,
    break_glass: Option<&str>,
) -> AppResult<Basis> {
    decide(
        state,
        actor,
        action,
        object_type,
        person_id,
        None,
        break_glass,
    )
    .await
}

/// As [`decide_patient`] for an object of hospital `hospital` (see [`authorize_patient_at`]).
pub async fn decide_patient_at(
    state: &AppState,
    actor: &Actor,
    action: &str,
    object_type: &str,
    person_id: i64,
    hospital: i64,
) -> AppResult<Basis> {
    decide(
        state,
        actor,
        action,
        object_type,
        person_id,
        Some(hospital),
        None,
    )
    .await
}

async fn decide(
    state: &AppState,
    actor: &Actor,
    action: &str,
    object_type: &str,
    person_id: i64,
    at: Option<i64>,
    break_glass: Option<&str>,
) -> AppResult<Basis> {
    let me = actor.require()?;
    let object_id = Some(person_id.to_string());
    let refuse = |why: &'static str| {
        deny(
            state,
            actor,
            action,
            object_type,
            object_id.clone(),
            Some(person_id),
            why,
        )
    };
    // A SMART app with only a patient-level scope for this request sees its patient alone,
    // whatever the user behind it could see.
    if me.compartment.is_some_and(|only| only != person_id) {
        refuse("outside the app's patient in context").await?;
        return Err(AppError::NotFound(format!(
            "no patient with id {person_id}"
        )));
    }
    let basis = match me.role {
        Role::Patient => {
            if me.person_id == Some(person_id) {
                Basis::Own
            } else if let Some((_, guardian)) =
                store::family_link(&state.db, me.account_id, person_id).await?
            {
                Basis::Family { guardian }
            } else {
                refuse("not own or family").await?;
                return Err(AppError::NotFound(format!(
                    "no patient with id {person_id}"
                )));
            }
        }
        role if role.is_clinician() => {
            // The hospital the object belongs to; without one, the clinician's own.
            let hospital = at.or(me.hospital_id);
            let link = match hospital {
                Some(h) => store::active_care_link(&state.db, me.account_id, person_id, h).await?,
                None => None,
            };
            let reason = break_glass.map(str::trim).filter(|r| !r.is_empty());
            let basis = match (link, reason) {
                (Some(kind), _) => Basis::CareLink(kind),
                (None, Some(reason)) if reason.chars().count() >= MIN_REASON_CHARS => {
                    if !may_break_glass(state, me.hospital_id, hospital, person_id).await? {
                        refuse("break-glass outside the patient's hospitals").await?;
                        return Err(AppError::Forbidden(
                            "break-glass is for clinicians of a hospital where the patient has been seen".to_owned(),
                        ));
                    }
                    Basis::BreakGlass(crate::text::clip(reason, MAX_REASON_CHARS))
                }
                (None, Some(_)) => {
                    refuse("break-glass reason too short").await?;
                    return Err(AppError::invalid(
                        "break_glass_reason",
                        format!(
                            "must explain the emergency in at least {MIN_REASON_CHARS} characters"
                        ),
                    ));
                }
                (None, None) if at.is_some() && at != me.hospital_id => {
                    refuse("no care link at the object's hospital").await?;
                    return Err(AppError::Forbidden(
                        "this belongs to another hospital, where you have no care relationship with the patient".to_owned(),
                    ));
                }
                (None, None) => {
                    refuse("no care link").await?;
                    return Err(AppError::Forbidden(
                        "you have no care relationship with this patient at your hospital; in an emergency use break-glass with a reason".to_owned(),
                    ));
                }
            };
            if let Err(e) = require_step_up(state, me) {
                refuse("step-up check required").await?;
                return Err(e);
            }
            basis
        }
        Role::InfectionOfficer => {
            let case = match me.hospital_id {
                Some(h) if at.is_none_or(|a| a == h) => {
                    crate::surveillance::store::has_case_at(&state.db, person_id, h).await?
                }
                _ => None,
            };
            match case {
                Some(case) => Basis::PublicHealth(case),
                None => {
                    refuse("no suspected case at the officer's hospital").await?;
                    return Err(AppError::Forbidden(
                        "infection officers read a patient's record only for a suspected case at their hospital".to_owned(),
                    ));
                }
            }
        }
        role => {
            refuse("role may not read patient records").await?;
            return Err(AppError::Forbidden(format!(
                "a {role} may not read patient records"
            )));
        }
    };
    Ok(basis)
}

/// The longest break-glass reason kept (the rest is cut off).
pub const MAX_REASON_CHARS: usize = 500;

/// Break-glass is for a clinician of the hospital in question, where the patient has been
/// seen (any care link there, ended or not), unless the operator allows it anywhere.
async fn may_break_glass(
    state: &AppState,
    own_hospital: Option<i64>,
    hospital: Option<i64>,
    person_id: i64,
) -> AppResult<bool> {
    if state.config.security.break_glass == BreakGlassScope::Anywhere {
        return Ok(true);
    }
    let (Some(own), Some(h)) = (own_hospital, hospital) else {
        return Ok(false);
    };
    Ok(own == h && store::seen_at(&state.db, person_id, h).await?)
}

/// Reads of the audit trail: administrators and regulators only.
pub async fn authorize_audit_read(state: &AppState, actor: &Actor) -> AppResult<()> {
    let me = actor.require()?;
    if matches!(
        me.role,
        Role::PlatformAdmin | Role::HospitalAdmin | Role::Regulator
    ) {
        return Ok(());
    }
    deny(
        state,
        actor,
        "audit.read",
        "audit_event",
        None,
        None,
        "role may not read the audit trail",
    )
    .await?;
    Err(AppError::Forbidden(format!(
        "a {} may not read the audit trail",
        me.role
    )))
}
