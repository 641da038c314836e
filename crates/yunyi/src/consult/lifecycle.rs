//! Moving a consultation through its life: each move is checked by `model::transition`,
//! stored as a conditional update with its history row and audit event, and announced to the
//! conversation's listeners after the commit. Expiry of requests nobody accepted.

use super::hub;
use super::model::{self, Action, Status};
use super::store::{self, ConsultationRow};
use crate::app::AppState;
use crate::audit::{self, AuditActor, NewEvent};
use crate::db::Tx;
use crate::error::{AppError, AppResult, Reason};
use crate::identity::auth::require_step_up;
use crate::identity::model::Role;
use crate::identity::{Actor, service as identity, store as identity_store};
use crate::notification::model::{Event, Notice};

use super::service::{
    ConsultationView, FollowUpBasis, authorize, consultation_or_404, deny, follow_up_basis,
    may_take, not_found, takes_from_queue, view_unchecked,
};

/// Moves `c` by `action` in `tx`: the conditional update, then [`record_move`]. A concurrent
/// change that got there first is a 409 with the status it found.
pub(super) async fn apply(
    tx: &mut Tx,
    who: &AuditActor,
    c: &ConsultationRow,
    action: Action,
    reason: Option<&str>,
    now: i64,
) -> AppResult<Status> {
    let from = c.status();
    let to = model::transition(from, action).map_err(AppError::wrong_state)?;
    if !store::set_status(tx, c.id, from, to, reason, now).await? {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            format!(
                "the consultation changed while you were looking (it is no longer {}); reload it",
                from.as_str().replace('_', " ")
            ),
        ));
    }
    record_move(tx, who, c, (from, to), action, reason, now).await?;
    Ok(to)
}

/// What goes with a status change made in `tx`: the history row, the audit event, the note
/// frozen when it ends, the care link ended and the daily-quota place given back when it is
/// cancelled or expires.
pub(super) async fn record_move(
    tx: &mut Tx,
    who: &AuditActor,
    c: &ConsultationRow,
    (from, to): (Status, Status),
    action: Action,
    reason: Option<&str>,
    now: i64,
) -> AppResult<()> {
    store::insert_event(tx, c.id, Some(from), to, who.account_id, reason, now).await?;
    let mut event = NewEvent::new(who.clone(), audit_action(action), "consultation")
        .object(c.id)
        .patient(c.person_id);
    if let Some(r) = reason {
        event = event.reason(r.to_owned());
    }
    audit::append(tx, &event).await?;
    if to.is_ended() {
        store::sign_note(tx, c.id, now).await?;
    }
    if matches!(to, Status::Cancelled | Status::Expired) {
        identity_store::end_care_links(tx, "consultation", &c.id.to_string(), now).await?;
        // A consultation that never happened leaves its place for someone else that day.
        if let Some(day) = &c.quota_day {
            store::give_back_quota(tx, c.service_id, day).await?;
        }
    }
    Ok(())
}

/// Refuses someone who is not the consultation's doctor (nor, for `cancel`, its patient):
/// another doctor is told it does not exist, anyone else that they may not. Audited.
async fn not_theirs(
    state: &AppState,
    actor: &Actor,
    c: &ConsultationRow,
    action: &str,
) -> AppError {
    if let Err(e) = deny(state, actor, c, action, "not the consultation's doctor").await {
        return e;
    }
    if actor.role() == Some(Role::Doctor) {
        not_found(c.id)
    } else {
        AppError::Forbidden("only the consultation's doctor does this".to_owned())
    }
}

pub(super) fn audit_action(action: Action) -> &'static str {
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
    crate::capability::require_role(me, Role::Doctor, "only doctors accept consultations")?;
    // A colleague of the department who was a moment too late is told so, not "not found".
    if c.status() != Status::Requested
        && c.doctor_id != Some(me.account_id)
        && takes_from_queue(state, me.account_id, &c).await?
    {
        return Err(AppError::refused(
            Reason::AlreadyAccepted,
            "another doctor has just accepted this request".to_owned(),
        ));
    }
    may_take(state, actor, &c, "consultation.accept").await?;
    let moved = model::transition(c.status(), Action::Accept).map_err(AppError::wrong_state)?;
    if crate::billing::fees::fee_of(state, "consultation", id)
        .await?
        .is_some_and(|f| f.unpaid())
    {
        return Err(AppError::refused(
            Reason::ConsultationFeeUnpaid,
            "the patient has not paid the consultation fee yet".to_owned(),
        ));
    }
    if follow_up_basis(&c) == Some(FollowUpBasis::AwaitingConfirmation) {
        return Err(AppError::refused(Reason::PriorRecordUnconfirmed, "confirm first that the attached record shows the offline diagnosis of this condition (POST …/prior-record with qualifies true or false)".to_owned(),));
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::accept(&mut tx, id, me.account_id, now).await? {
        return Err(AppError::refused(
            Reason::AlreadyAccepted,
            "another doctor has just accepted this request, or it was cancelled".to_owned(),
        ));
    }
    // `store::accept` was the conditional update: it also takes the request for this doctor.
    record_move(
        &mut tx,
        &actor.audit(),
        &c,
        (c.status(), moved),
        Action::Accept,
        None,
        now,
    )
    .await?;
    if c.doctor_id.is_none() {
        identity::link_care(
            &mut tx,
            me.account_id,
            c.person_id,
            c.hospital_id,
            "consultation",
            Some(&id.to_string()),
            now,
        )
        .await?;
    }
    tell_patient(
        &mut tx,
        &c,
        Event::ConsultationAccepted,
        &me.display_name,
        now,
    )
    .await?;
    tx.commit().await?;
    announce(state, id, Status::Accepted).await;
    view_unchecked(state, id).await
}

/// Tells the one who asked for the consultation (the patient, or their guardian) what the
/// doctor did, in `tx`.
async fn tell_patient(
    tx: &mut Tx,
    c: &ConsultationRow,
    event: Event,
    doctor: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let notice = Notice::new(c.requested_by, event, format!("consultation:{}", c.id))
        .param("doctor", doctor)
        .link(format!("/consultations/{}", c.id));
    crate::notification::service::notify(tx, &notice, now).await
}

/// Tells the conversation's listeners its new status (after the commit).
pub(super) async fn announce(state: &AppState, id: i64, status: Status) {
    let news = hub::News::Status { status };
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
    may_take(state, actor, &c, "consultation.confirm_prior").await?;
    let refusal = if qualifies {
        None
    } else {
        let reason = model::required_reason(reason).map_err(|e| AppError::Validation(vec![e]))?;
        Some(format!(
            "the attached record does not show an offline diagnosis: {reason}"
        ))
    };
    if follow_up_basis(&c) != Some(FollowUpBasis::AwaitingConfirmation)
        || c.status() != Status::Requested
    {
        return Err(AppError::wrong_state(
            "this consultation has no record waiting for confirmation",
        ));
    }
    let me = actor.require()?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if refusal.is_none() {
        if !store::confirm_prior(&mut tx, id, me.account_id, now).await? {
            return Err(AppError::refused(
                Reason::ChangedMeanwhile,
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
    }
    let returned = match &refusal {
        Some(reason) => Some(
            apply(
                &mut tx,
                &actor.audit(),
                &c,
                Action::Cancel,
                Some(reason),
                now,
            )
            .await?,
        ),
        None => None,
    };
    tx.commit().await?;
    if let Some(status) = returned {
        announce(state, id, status).await;
    }
    view_unchecked(state, id).await
}

fn required_reason(reason: Option<&str>) -> AppResult<&str> {
    model::required_reason(reason).map_err(|e| AppError::Validation(vec![e]))
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
        return Err(not_theirs(state, actor, &c, audit_action(action)).await);
    }
    require_step_up(state, me)?;
    // The lifecycle's answer first: completing a request nobody accepted is not about notes.
    model::transition(c.status(), action).map_err(AppError::wrong_state)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if action == Action::Complete && !store::has_note(&mut tx, id).await? {
        return Err(AppError::refused(
            Reason::NoteRequired,
            "write the clinical note (PUT …/note) before completing".to_owned(),
        ));
    }
    let to = apply(&mut tx, &actor.audit(), &c, action, reason, now).await?;
    if action == Action::Start {
        store::mark_first_reply(&mut tx, id, now).await?;
    }
    if to.is_ended() {
        tell_patient(&mut tx, &c, Event::ConsultationEnded, &me.display_name, now).await?;
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
            model::optional_reason(reason).map_err(|e| AppError::Validation(vec![e]))?
        }
        Role::Doctor if c.doctor_id == Some(me.account_id) => Some(required_reason(reason)?),
        _ => return Err(not_theirs(state, actor, &c, "consultation.cancel").await),
    };
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let to = apply(&mut tx, &actor.audit(), &c, Action::Cancel, reason, now).await?;
    tx.commit().await?;
    announce(state, id, to).await;
    view_unchecked(state, id).await
}

/// Expires requests nobody accepted in time (the recurring `consult.expire` job). Returns how
/// many expired. The refund hook: an expired consultation is refunded by the payment context.
pub async fn expire_due(db: &crate::db::Db, now: i64) -> AppResult<usize> {
    let who = AuditActor::system();
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
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired)
}
