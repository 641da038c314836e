//! Two-way referral (双向转诊): who stands where to a referral ([`Standing`]), each step through
//! [`model::transition`] in one transaction with its history row, audit event and notices.
//!
//! | step | who |
//! |---|---|
//! | refer | a doctor with a care link to the patient at their hospital (from an online consultation or their record) |
//! | accept (saying what was arranged), decline (saying why), record the arrival | the receiving hospital: its doctors (of the named department) and administrators; the doctor who accepts gets a care link there |
//! | cancel | the referring doctor, or the patient side |
//!
//! The receiving side reads the shared record items and nothing else of the patient through
//! the referral (audited), until the patient arrives.

use serde::Serialize;

use super::model::{Action, Direction, ReferralInput, ReferralKind, Status};
use super::store::{self, Row, Scope};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::db::Tx;
use crate::directory::model::ActiveOrSuspended;
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::identity::model::Role;
use crate::identity::{Actor, SignedIn};
use crate::notification::model::{Event, Notice};
use crate::teleconsult::model::ItemRef;
use crate::teleconsult::service::{IdName, SharedItem, SharedItemBrief};
use crate::time::cst_rfc3339;

/// How the signed-in account stands to one referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStanding {
    /// The doctor who referred.
    Referring,
    /// The receiving hospital's doctors (of the named department) and administrators.
    Receiving,
    /// The patient, or the family member acting for them.
    PatientSide,
}

async fn standing_of(
    state: &AppState,
    me: &SignedIn,
    r: &Row,
) -> AppResult<Option<ReferralStanding>> {
    if me.account_id == r.from_doctor_id {
        return Ok(Some(ReferralStanding::Referring));
    }
    let standing = match me.role {
        Role::HospitalAdmin if me.hospital_id == Some(r.to_hospital_id) => {
            Some(ReferralStanding::Receiving)
        }
        Role::Doctor
            if me.hospital_id == Some(r.to_hospital_id)
                && crate::teleconsult::store::practises_in(
                    &state.db,
                    me.account_id,
                    r.to_hospital_id,
                    r.to_department_id,
                )
                .await? =>
        {
            Some(ReferralStanding::Receiving)
        }
        Role::Patient => crate::identity::service::acts_for(state, me, r.person_id)
            .await?
            .then_some(ReferralStanding::PatientSide),
        _ => None,
    };
    Ok(standing)
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("no referral with id {id}"))
}

/// Loads the referral and requires one of `allowed` standings for `action` (404 to whoever
/// has none, 403 to whoever has one but not for this; audited).
async fn load_as(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
    allowed: &[ReferralStanding],
) -> AppResult<(Row, ReferralStanding)> {
    let me = actor.require()?;
    let r = store::get(&state.db, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let standing = standing_of(state, me, &r).await?;
    if let Some(s) = standing.filter(|s| allowed.contains(s)) {
        return Ok((r, s));
    }
    crate::identity::service::deny(
        state,
        actor,
        action,
        "referral",
        Some(id.to_string()),
        Some(r.person_id),
        "no standing for this step",
    )
    .await?;
    Err(match standing {
        None => not_found(id),
        Some(_) => AppError::refused(
            Reason::RoleRequired,
            "this step of the referral is not yours to take",
        ),
    })
}

fn event<'a>(actor: &Actor, action: &'a str, r: &Row, standing: ReferralStanding) -> NewEvent<'a> {
    NewEvent::new(actor.audit(), action, "referral")
        .object(r.id)
        .patient(r.person_id)
        .reason(format!("referral {}: {:?}", r.id, standing).to_lowercase())
}

fn about(r: &Row, account: i64, event: Event) -> Notice {
    Notice::new(account, event, format!("referral:{}", r.id))
        .param("number", r.id.to_string())
        .param("hospital", r.to_hospital.clone())
        .link(format!("/referrals/{}", r.id))
}

fn clip(s: &str, field: &str, (min, max): (usize, usize)) -> AppResult<String> {
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

/// A doctor refers a patient in their care at their hospital to another, active hospital.
pub async fn refer(state: &AppState, actor: &Actor, input: &ReferralInput) -> AppResult<i64> {
    let me = actor.require()?;
    crate::capability::require_role(me, Role::Doctor, "referrals are written by doctors")?;
    let hospital = me.hospital_id.ok_or_else(|| {
        AppError::refused(
            Reason::NoHospital,
            "you belong to no hospital yet".to_owned(),
        )
    })?;
    let r = input.validate().map_err(AppError::Validation)?;
    let basis = crate::policy::decide_patient_at(
        state,
        actor,
        "referral.create",
        "referral",
        r.person_id,
        hospital,
    )
    .await?;
    let Some(to) = crate::directory::store::get_hospital(&state.db, r.to_hospital_id).await? else {
        return Err(AppError::invalid_localized(
            "to_hospital_id",
            format!("no hospital with id {}", r.to_hospital_id),
            "field.unknown_hospital",
            vec![],
        ));
    };
    if to.id == hospital {
        return Err(AppError::invalid_localized(
            "to_hospital_id",
            "refer to another hospital than your own",
            "teleconsult.err.another_hospital",
            vec![],
        ));
    }
    if to.status == ActiveOrSuspended::Suspended {
        return Err(AppError::refused(
            Reason::HospitalSuspended,
            format!("{} is suspended and takes no referrals", to.name),
        ));
    }
    if let Some(dep) = r.department_id
        && crate::directory::store::department_hospital(&state.db, dep).await? != Some(to.id)
    {
        return Err(AppError::invalid_localized(
            "department_id",
            "is not a department of the receiving hospital",
            "teleconsult.err.not_department",
            vec![],
        ));
    }
    if let Some(c) = r.consultation_id {
        let theirs = crate::consult::store::consultation(&state.db, c)
            .await?
            .is_some_and(|c| c.doctor_id == Some(me.account_id) && c.person_id == r.person_id);
        if !theirs {
            return Err(AppError::invalid_localized(
                "consultation_id",
                "is not your consultation with this patient",
                "referral.err.not_your_consultation",
                vec![],
            ));
        }
    }
    let bad =
        crate::teleconsult::service::not_shareable(state, r.person_id, hospital, &r.items).await?;
    if !bad.is_empty() {
        return Err(AppError::Validation(
            bad.into_iter()
                .map(|n| {
                    FieldError::new(
                        format!("items[{n}]"),
                        "is not a record of this patient your hospital may share",
                    )
                    .localized("teleconsult.err.not_shareable", vec![])
                })
                .collect(),
        ));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let id = store::insert(&mut tx, (hospital, me.account_id), &r, now).await?;
    store::insert_items(&mut tx, id, &r.items).await?;
    store::insert_event(&mut tx, id, Status::Sent, me.account_id, None, now).await?;
    audit::append(
        &mut tx,
        &crate::policy::access_event(actor, "referral.create", "referral", r.person_id, &basis),
    )
    .await?;
    let from = crate::directory::store::get_hospital(&state.db, hospital)
        .await?
        .map(|h| h.name)
        .unwrap_or_default();
    for admin in crate::teleconsult::store::coordinators(&mut tx, to.id).await? {
        let notice = Notice::new(admin, Event::ReferralRequest, format!("referral:{id}"))
            .param("number", id.to_string())
            .param("hospital", from.clone())
            .link(format!("/referrals/{id}"));
        crate::notification::service::notify(&mut tx, &notice, now).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// The move in `tx`: checked by the lifecycle, a conditional update (409 if someone got there
/// first), the history row and the audit event.
async fn apply(
    tx: &mut Tx,
    actor: &Actor,
    (r, standing): (&Row, ReferralStanding),
    action: Action,
    (arranged, reason): (Option<&str>, Option<&str>),
    now: i64,
) -> AppResult<Status> {
    let to = super::model::transition(r.status, action).map_err(AppError::wrong_state)?;
    let me = actor.require()?;
    let receiver = (action == Action::Accept).then_some(me.account_id);
    if !store::set_status(tx, r.id, (r.status, to), receiver, (arranged, reason), now).await? {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            format!(
                "the referral changed while you were looking (it is no longer {}); reload it",
                r.status
            ),
        ));
    }
    store::insert_event(tx, r.id, to, me.account_id, reason.or(arranged), now).await?;
    audit::append(tx, &event(actor, action.audit(), r, standing)).await?;
    Ok(to)
}

/// The receiving hospital accepts, saying what it arranged (the visit's time, the bed); the
/// accepting doctor may then read the patient's record there (care link "referral").
pub async fn accept(state: &AppState, actor: &Actor, id: i64, arranged: &str) -> AppResult<()> {
    let (r, standing) = load_as(
        state,
        actor,
        id,
        "referral.accept",
        &[ReferralStanding::Receiving],
    )
    .await?;
    let arranged = clip(arranged, "arranged", (2, 500))?;
    let me = actor.require()?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    apply(
        &mut tx,
        actor,
        (&r, standing),
        Action::Accept,
        (Some(&arranged), None),
        now,
    )
    .await?;
    if me.role == Role::Doctor {
        crate::identity::service::link_care(
            &mut tx,
            me.account_id,
            r.person_id,
            r.to_hospital_id,
            "referral",
            Some(&id.to_string()),
            now,
        )
        .await?;
    }
    let mut to = vec![r.from_doctor_id];
    to.extend(crate::teleconsult::store::patient_side(&mut tx, r.person_id).await?);
    for account in to {
        let notice =
            about(&r, account, Event::ReferralAccepted).param("arranged", arranged.clone());
        crate::notification::service::notify(&mut tx, &notice, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The receiving hospital declines, saying why.
pub async fn decline(state: &AppState, actor: &Actor, id: i64, reason: &str) -> AppResult<()> {
    let (r, standing) = load_as(
        state,
        actor,
        id,
        "referral.decline",
        &[ReferralStanding::Receiving],
    )
    .await?;
    let reason = clip(reason, "reason", (2, 500))?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    apply(
        &mut tx,
        actor,
        (&r, standing),
        Action::Decline,
        (None, Some(&reason)),
        now,
    )
    .await?;
    let mut to = vec![r.from_doctor_id];
    to.extend(crate::teleconsult::store::patient_side(&mut tx, r.person_id).await?);
    for account in to {
        let notice = about(&r, account, Event::ReferralDeclined).param("reason", reason.clone());
        crate::notification::service::notify(&mut tx, &notice, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The receiving hospital records that the patient arrived.
pub async fn arrive(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let (r, standing) = load_as(
        state,
        actor,
        id,
        "referral.arrive",
        &[ReferralStanding::Receiving],
    )
    .await?;
    let mut tx = state.db.begin().await?;
    apply(
        &mut tx,
        actor,
        (&r, standing),
        Action::Arrive,
        (None, None),
        state.now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The referring doctor, or the patient side, withdraws it before the arrival.
pub async fn cancel(state: &AppState, actor: &Actor, id: i64, reason: &str) -> AppResult<()> {
    let (r, standing) = load_as(
        state,
        actor,
        id,
        "referral.cancel",
        &[ReferralStanding::Referring, ReferralStanding::PatientSide],
    )
    .await?;
    let reason = clip(reason, "reason", (2, 500))?;
    let mut tx = state.db.begin().await?;
    apply(
        &mut tx,
        actor,
        (&r, standing),
        Action::Cancel,
        (None, Some(&reason)),
        state.now_ms(),
    )
    .await?;
    crate::identity::store::end_care_links(&mut tx, "referral", &id.to_string(), state.now_ms())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// One referral as a list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferralSummary {
    pub id: i64,
    pub status: Status,
    pub direction: Direction,
    pub kind: ReferralKind,
    pub patient: IdName,
    pub from_hospital: IdName,
    pub from_doctor: IdName,
    pub to_hospital: IdName,
    pub to_department: Option<IdName>,
    pub created_at: String,
}

fn summary(r: &Row) -> ReferralSummary {
    ReferralSummary {
        id: r.id,
        status: r.status,
        direction: r.direction,
        kind: r.kind,
        patient: IdName {
            id: r.person_id,
            name: r.patient_name.clone(),
        },
        from_hospital: IdName {
            id: r.from_hospital_id,
            name: r.from_hospital.clone(),
        },
        from_doctor: IdName {
            id: r.from_doctor_id,
            name: r.from_doctor.clone(),
        },
        to_hospital: IdName {
            id: r.to_hospital_id,
            name: r.to_hospital.clone(),
        },
        to_department: match (r.to_department_id, &r.to_department) {
            (Some(id), Some(name)) => Some(IdName {
                id,
                name: name.clone(),
            }),
            _ => None,
        },
        created_at: cst_rfc3339(r.created_at),
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferralStep {
    pub status: Status,
    pub by: String,
    pub reason: Option<String>,
    pub at: String,
}

/// A referral as one who stands in it sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferralView {
    #[serde(flatten)]
    pub summary: ReferralSummary,
    pub standing: ReferralStanding,
    pub summary_text: String,
    pub request: String,
    pub consultation_id: Option<i64>,
    /// Who accepted, and what they arranged.
    pub receiver: Option<String>,
    pub arranged: Option<String>,
    /// Why it was declined or cancelled.
    pub reason: Option<String>,
    pub items: Vec<SharedItemBrief>,
    pub history: Vec<ReferralStep>,
    /// The time reserved for the patient at the receiving hospital.
    pub reserved: Option<ReservedTime>,
    /// The receiving side may reserve a time now (an accepted outpatient referral without one).
    pub may_reserve: bool,
}

/// A time at the receiving hospital: reserved for the patient, or one that could be.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReservedTime {
    /// The appointment (when reserved) or the slot (when offered).
    pub id: i64,
    pub start_at: String,
    pub doctor: String,
}

/// The referral for its receiving side to reserve a time.
async fn reserving(state: &AppState, actor: &Actor, id: i64) -> AppResult<(Row, ReferralStanding)> {
    let receiving = [ReferralStanding::Receiving];
    load_as(state, actor, id, "referral.reserve", &receiving).await
}

/// Whether a time may be reserved on `r` now.
fn reservable_now(r: &Row) -> bool {
    r.status == Status::Accepted && r.kind == ReferralKind::Outpatient && r.appointment_id.is_none()
}

async fn doctor_name(state: &AppState, doctor: i64) -> AppResult<String> {
    Ok(crate::identity::store::account(&state.db, doctor)
        .await?
        .map(|a| a.display_name)
        .unwrap_or_default())
}

/// The times the receiving side may reserve for the patient: free, bookable times of the
/// receiving hospital (in the named department) in the next 14 days, earliest first.
pub async fn reservable(state: &AppState, actor: &Actor, id: i64) -> AppResult<Vec<ReservedTime>> {
    let (r, _) = reserving(state, actor, id).await?;
    if !reservable_now(&r) {
        return Ok(Vec::new());
    }
    let now = state.now_ms();
    let slots = crate::scheduling::store::search_slots(
        &state.db,
        &crate::scheduling::store::SlotQuery {
            hospital: Some(r.to_hospital_id),
            department: r.to_department_id,
            from: now,
            to: now + 14 * 24 * 3_600_000,
            free_only: true,
            now,
            limit: 30,
            ..Default::default()
        },
    )
    .await?;
    let mut out = Vec::new();
    for s in slots {
        out.push(ReservedTime {
            id: s.id,
            start_at: cst_rfc3339(s.start_at),
            doctor: doctor_name(state, s.doctor_id).await?,
        });
    }
    Ok(out)
}

/// The receiving side reserves one of its times for the patient of an accepted outpatient
/// referral (booked under the booking rules, with the referral as the basis); the patient side
/// and the referring doctor are told.
pub async fn reserve(state: &AppState, actor: &Actor, id: i64, slot_id: i64) -> AppResult<()> {
    let (r, standing) = reserving(state, actor, id).await?;
    if slot_id <= 0 {
        return Err(AppError::field(FieldError::required("slot_id")));
    }
    if !reservable_now(&r) {
        return Err(AppError::wrong_state(match (r.status, r.kind) {
            (_, ReferralKind::Inpatient) => "a bed is arranged in words when accepting; a time is reserved for an outpatient referral".to_owned(),
            (Status::Accepted, _) => "a time is already reserved for this referral".to_owned(),
            (status, _) => format!("a time is reserved once the referral is accepted; it is {status}"),
        }));
    }
    let appointment = crate::scheduling::service::book_for_referral(
        state,
        actor,
        slot_id,
        r.person_id,
        (r.to_hospital_id, r.id),
    )
    .await?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    // Two of the receiving side reserving at the same moment: the second finds one recorded
    // and is told so (its appointment stays the patient's to keep or cancel).
    if !store::set_appointment(&mut tx, id, appointment.id, now).await? {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            "a time was reserved for this referral meanwhile; reload it",
        ));
    }
    audit::append(&mut tx, &event(actor, "referral.reserve", &r, standing)).await?;
    let time = crate::time::cst_display(appointment.start_at);
    let doctor = doctor_name(state, appointment.doctor_id).await?;
    let mut to = vec![r.from_doctor_id];
    to.extend(crate::teleconsult::store::patient_side(&mut tx, r.person_id).await?);
    for account in to {
        let notice = about(&r, account, Event::ReferralReserved)
            .param("time", time.clone())
            .param("doctor", doctor.clone());
        crate::notification::service::notify(&mut tx, &notice, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One referral, for whoever stands in it (audited).
pub async fn view(state: &AppState, actor: &Actor, id: i64) -> AppResult<ReferralView> {
    let all = [
        ReferralStanding::Referring,
        ReferralStanding::Receiving,
        ReferralStanding::PatientSide,
    ];
    let (r, standing) = load_as(state, actor, id, "referral.read", &all).await?;
    audit::record(&state.db, &event(actor, "referral.read", &r, standing)).await?;
    let shared = store::items(&state.db, id).await?;
    let items =
        crate::teleconsult::service::briefs(state, r.person_id, r.from_hospital_id, &shared)
            .await?;
    let reserved = match r.appointment_id {
        Some(a) => match crate::scheduling::store::appointment(&state.db, a).await? {
            Some(appt) => Some(ReservedTime {
                id: appt.id,
                start_at: cst_rfc3339(appt.start_at),
                doctor: doctor_name(state, appt.doctor_id).await?,
            }),
            None => None,
        },
        None => None,
    };
    let history = store::events(&state.db, id)
        .await?
        .into_iter()
        .map(|e| ReferralStep {
            status: e.to_status,
            by: e.actor,
            reason: e.reason,
            at: cst_rfc3339(e.at),
        })
        .collect();
    Ok(ReferralView {
        summary: summary(&r),
        standing,
        summary_text: r.summary.clone(),
        request: r.request.clone(),
        consultation_id: r.consultation_id,
        receiver: r.receiver.clone(),
        arranged: r.arranged.clone(),
        reason: r.reason.clone(),
        items,
        history,
        reserved,
        may_reserve: standing == ReferralStanding::Receiving && reservable_now(&r),
    })
}

/// The reader's referrals, newest first: a doctor's own and those coming to their hospital
/// (department), an administrator's hospital's both ways, a patient's and their family's.
pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<ReferralSummary>> {
    let me = actor.require()?;
    let people;
    let scope = match me.role {
        Role::Doctor | Role::HospitalAdmin => match me.hospital_id {
            Some(h) => Scope::Hospital(h),
            None => Scope::Doctor(me.account_id),
        },
        Role::Patient => {
            people = crate::identity::service::searchable_patients(state, actor).await?;
            Scope::People(&people)
        }
        _ => {
            return Err(AppError::refused(
                Reason::RoleRequired,
                "referrals are listed for doctors, hospital administrators and patients",
            ));
        }
    };
    let mut out = Vec::new();
    for r in store::list(&state.db, scope, 200).await? {
        let shown = match me.role {
            Role::Doctor => standing_of(state, me, &r).await?.is_some(),
            _ => true,
        };
        if shown {
            out.push(summary(&r));
        }
    }
    Ok(out)
}

/// The shared items with their content: the referring doctor, and the receiving side until the
/// patient arrives (audited, naming the items).
pub async fn items(state: &AppState, actor: &Actor, id: i64) -> AppResult<Vec<SharedItem>> {
    let (r, standing) = load_as(
        state,
        actor,
        id,
        "referral.item.read",
        &[ReferralStanding::Referring, ReferralStanding::Receiving],
    )
    .await?;
    if standing == ReferralStanding::Receiving && r.status.is_ended() {
        return Err(AppError::Forbidden(
            "the shared items close when the referral ends".to_owned(),
        ));
    }
    let shared: Vec<ItemRef> = store::items(&state.db, id).await?;
    let mut out = Vec::new();
    for b in
        crate::teleconsult::service::briefs(state, r.person_id, r.from_hospital_id, &shared).await?
    {
        let file = format!("/api/v1/referrals/{id}/records/{}", b.id);
        out.push(crate::teleconsult::service::item_content(state, b, file).await?);
    }
    let names: Vec<String> = shared
        .iter()
        .map(|i| format!("{}:{}", i.kind, i.id))
        .collect();
    audit::record(
        &state.db,
        &event(actor, "referral.item.read", &r, standing).reason(format!(
            "referral {}: items {}",
            r.id,
            names.join(",")
        )),
    )
    .await?;
    Ok(out)
}

/// A shared uploaded record's file, for those who may read the items.
pub async fn item_file(
    state: &AppState,
    actor: &Actor,
    id: i64,
    record: i64,
) -> AppResult<(Vec<u8>, String)> {
    let (r, standing) = load_as(
        state,
        actor,
        id,
        "referral.item.read",
        &[ReferralStanding::Referring, ReferralStanding::Receiving],
    )
    .await?;
    let item = ItemRef {
        kind: crate::teleconsult::model::ItemKind::PriorRecord,
        id: record,
    };
    let open = standing == ReferralStanding::Referring || !r.status.is_ended();
    if !open || !store::items(&state.db, id).await?.contains(&item) {
        return Err(AppError::NotFound(format!(
            "no shared record with id {record} in this referral"
        )));
    }
    let (key, content_type) = crate::teleconsult::store::prior_record_file(&state.db, record)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no record with id {record}")))?;
    let bytes = state
        .blobs
        .get(&key)
        .await
        .map_err(AppError::from_storage)?
        .ok_or_else(|| AppError::NotFound("the record's file is missing".to_owned()))?;
    audit::record(
        &state.db,
        &event(actor, "referral.item.read", &r, standing)
            .reason(format!("referral {}: item prior_record:{record}", r.id)),
    )
    .await?;
    Ok((bytes, content_type))
}

/// What the referring doctor's form offers for one patient in their care: the name, the items
/// that may be shared, the departments of other active hospitals.
pub struct ReferralChoices {
    pub patient: String,
    pub items: Vec<SharedItemBrief>,
    /// (department, hospital) pairs.
    pub departments: Vec<(IdName, IdName)>,
}

pub async fn choices(
    state: &AppState,
    actor: &Actor,
    person_id: Option<i64>,
) -> AppResult<ReferralChoices> {
    let me = actor.require()?;
    crate::capability::require_role(me, Role::Doctor, "referrals are written by doctors")?;
    let hospital = me.hospital_id.ok_or_else(|| {
        AppError::refused(
            Reason::NoHospital,
            "you belong to no hospital yet".to_owned(),
        )
    })?;
    let person = person_id.ok_or_else(|| AppError::required("person_id"))?;
    crate::policy::authorize_patient_at(
        state,
        actor,
        "referral.items.list",
        "person",
        person,
        Some(hospital),
        None,
    )
    .await?;
    let items = crate::teleconsult::service::shareable_briefs(state, person, hospital).await?;
    let patient = crate::identity::store::person(&state.db, person)
        .await?
        .map(|p| p.name)
        .unwrap_or_default();
    let departments = crate::teleconsult::service::departments_elsewhere(state, hospital).await?;
    Ok(ReferralChoices {
        patient,
        items,
        departments,
    })
}
