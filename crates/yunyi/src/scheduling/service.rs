//! Scheduling rules: who may open sessions, who may book for whom, fairness limits, the
//! atomic booking itself, and cancellation.

use super::model::{Appointment, AppointmentStatus, SessionInput, Slot, SlotStatus};
use super::{group_commit, plan, store, waitlist};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::capability::Capability;
use crate::db::{Tx, is_unique_violation};
use crate::directory::{service as directory, store as directory_store};
use crate::error::{AppError, AppResult, Reason};
use crate::identity::model::Role;
use crate::identity::{Actor, service as identity, store as identity_store};
use crate::policy;
use crate::time::{cst_display, cst_rfc3339, cst_today};

/// A patient may hold at most this many upcoming appointments.
pub const MAX_ACTIVE: i64 = 5;
/// No-show rule: this many no-shows within the window block booking.
pub const NO_SHOW_LIMIT: i64 = 3;
pub const NO_SHOW_WINDOW_MS: i64 = 90 * 24 * 3_600_000;
/// Cancelling is possible until this long before the start.
pub const CANCEL_CUTOFF_MS: i64 = 2 * 3_600_000;

/// Opens a schedule for a doctor's service at a hospital (its administrators).
pub async fn create_schedule(state: &AppState, actor: &Actor, service_id: i64) -> AppResult<i64> {
    let service = directory_store::service(&state.db, service_id)
        .await?
        .ok_or_else(|| {
            AppError::invalid("service_id", format!("no service with id {service_id}"))
        })?;
    let doctor = service.doctor_id.ok_or_else(|| {
        AppError::invalid(
            "service_id",
            "is a department's service; schedules belong to a doctor's service",
        )
    })?;
    plan::require_hospital_admin(state, actor, service.hospital_id, "schedule.create").await?;
    let mut tx = state.db.begin().await?;
    let id = store::insert_schedule(
        &mut tx,
        doctor,
        service.hospital_id,
        service_id,
        state.now_ms(),
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AppError::refused(Reason::AlreadyExists, "this service already has a schedule")
        } else {
            e.into()
        }
    })?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "schedule.create", "schedule").object(id),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Opens a session of slots on one day (an extra session outside the weekly template);
/// returns how many new slots there are.
pub async fn add_session(
    state: &AppState,
    actor: &Actor,
    schedule_id: i64,
    input: &SessionInput,
) -> AppResult<usize> {
    let schedule = plan::schedule_for_admin(state, actor, schedule_id).await?;
    let now = state.now_ms();
    let s = input.validate(now).map_err(AppError::Validation)?;
    let day = s.day.to_string();
    let mut tx = state.db.begin().await?;
    let mut created = 0;
    let mut start = s.start_ms;
    while start + s.slot_ms <= s.end_ms {
        let slot = store::NewSlot {
            schedule: schedule.id,
            template: None,
            start,
            end: start + s.slot_ms,
            day: &day,
            capacity: s.capacity,
            release_at: s.release_at,
            mode: s.mode.as_str(),
            location: s.location.as_deref(),
        };
        if store::insert_slot(&mut tx, &slot, now).await? {
            created += 1;
        }
        start += s.slot_ms;
    }
    if s.release_at > now {
        plan::schedule_releases(&mut tx, [s.release_at]).await?;
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "schedule.session", "schedule")
            .object(schedule_id)
            .reason(format!("{day}: {created} slots")),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// A doctor's open slots for the next `days` days (public).
/// One schedule (public: what a doctor offers, as the directory is).
pub async fn schedule(db: &crate::db::Db, id: i64) -> AppResult<Option<store::ScheduleRow>> {
    Ok(store::schedule(db, id).await?)
}

/// Schedules, of one doctor or all, at most `limit`.
pub async fn schedules(
    db: &crate::db::Db,
    doctor: Option<i64>,
    limit: i64,
) -> AppResult<Vec<store::ScheduleRow>> {
    Ok(store::schedules(db, doctor, limit).await?)
}

/// The time a patient is about to book (`slot` as the page's query gave it), for the
/// confirmation page, and whether it can still be booked. Patients only; a time that is not
/// there is the `slot` field's error.
pub async fn slot_to_confirm(
    state: &AppState,
    actor: &Actor,
    slot: Option<&str>,
) -> AppResult<(Slot, bool)> {
    let me = actor.require()?;
    if me.role != Role::Patient {
        return Err(AppError::refused(
            Reason::RoleRequired,
            "patients book appointments",
        ));
    }
    let raw = slot.unwrap_or("");
    let no_slot = || {
        AppError::invalid_localized(
            "slot",
            format!(
                "'{}' is not a time to book; choose one on the doctor's page",
                crate::text::clip(raw, 20)
            ),
            "booking.no_slot",
            Vec::new(),
        )
    };
    let id = raw.parse::<i64>().map_err(|_| no_slot())?;
    let found = store::slot(&state.db, id).await?.ok_or_else(no_slot)?;
    let open = found.bookable(state.now_ms()) && found.free() > 0;
    Ok((found, open))
}

/// One slot (public: free times are published).
pub async fn slot(db: &crate::db::Db, id: i64) -> AppResult<Option<Slot>> {
    Ok(store::slot(db, id).await?)
}

/// Slots matching a search (public).
pub async fn search_slots(db: &crate::db::Db, q: &store::SlotQuery) -> AppResult<Vec<Slot>> {
    Ok(store::search_slots(db, q).await?)
}

pub async fn open_slots(state: &AppState, doctor_id: i64, days: i64) -> AppResult<Vec<Slot>> {
    open_slots_from(state, (doctor_id, None), None, days).await
}

/// A doctor's open slots (of one service, or all) for `days` days from `from` (never before now).
pub async fn open_slots_from(
    state: &AppState,
    doctor_and_service: (i64, Option<i64>),
    from: Option<i64>,
    days: i64,
) -> AppResult<Vec<Slot>> {
    let now = state.now_ms();
    let start = from.unwrap_or(now).max(now);
    let end = from.unwrap_or(now) + days.clamp(1, 28) * 24 * 3_600_000;
    Ok(store::open_slots(&state.db, doctor_and_service, start, end, 500).await?)
}

/// Who books and on what basis, after every rule that does not need the write lock: the actor
/// acts for the person and the doctor may take the service. The fairness limits are checked
/// in the booking's transaction (SQLite's writer, PostgreSQL's `book_slot`, or
/// [`check_standing_in`] for the waitlist). The allowed access is audited with the booking.
pub(super) async fn check_booking(
    state: &AppState,
    actor: &Actor,
    slot: &Slot,
    person_id: i64,
) -> AppResult<Booker> {
    let me = actor.require()?;
    crate::capability::require_role(
        me,
        Role::Patient,
        "appointments are booked by patients for themselves or their family",
    )?;
    // Own record or a family member's; anyone else's is 404, as for any other patient data.
    let basis = policy::decide_patient(
        state,
        actor,
        "appointment.book",
        "appointment",
        person_id,
        None,
    )
    .await?;
    require_service(state, slot).await?;
    Ok(Booker {
        account: me.account_id,
        basis,
    })
}

/// The slot's doctor still holds the privilege its service needs.
async fn require_service(state: &AppState, slot: &Slot) -> AppResult<()> {
    let kind = directory::service_kind(state, slot.service_id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("slot {} has no service", slot.id)))?;
    directory::require_privilege(
        state,
        slot.doctor_id,
        slot.hospital_id,
        kind.required_privilege(),
    )
    .await
    .map_err(|_| {
        AppError::refused(
            Reason::ServiceUnavailable,
            "this doctor cannot take appointments for this service at the moment".to_owned(),
        )
    })
}

/// The fairness limits, given a person's standing (active appointments, recent no-shows):
/// why they may not book another, if so.
pub(super) fn fairness_refusal(active: i64, no_shows: i64) -> Option<AppError> {
    if no_shows >= NO_SHOW_LIMIT {
        return Some(AppError::Forbidden(format!(
            "booking is paused: {NO_SHOW_LIMIT} missed appointments in the last 90 days"
        )));
    }
    if active >= MAX_ACTIVE {
        return Some(AppError::refused(
            Reason::BookingLimitReached,
            format!("at most {MAX_ACTIVE} upcoming appointments at a time: cancel one first"),
        ));
    }
    None
}

/// Checks the fairness limits in the transaction that will add the appointment.
pub(super) async fn check_standing_in(tx: &mut Tx, person_id: i64, now: i64) -> AppResult<()> {
    let (active, no_shows) =
        store::standing_in(tx, person_id, now, now - NO_SHOW_WINDOW_MS).await?;
    match fairness_refusal(active, no_shows) {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

/// The account booking and why it may book for the person.
pub(super) struct Booker {
    account: i64,
    basis: policy::Basis,
}

async fn slot_or_404(state: &AppState, slot_id: i64) -> AppResult<Slot> {
    store::slot(&state.db, slot_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no slot with id {slot_id}")))
}

/// Why a slot cannot be taken, with the next free times when it was simply taken.
async fn not_bookable(state: &AppState, slot: &Slot, now: i64) -> AppResult<AppError> {
    if slot.status != "open" {
        return Ok(AppError::refused(
            Reason::SlotClosed,
            "this time is closed: the doctor does not see patients then",
        ));
    }
    if slot.start_at <= now {
        return Ok(AppError::refused(
            Reason::SlotStarted,
            "this time has already begun".to_owned(),
        ));
    }
    if slot.release_at > now || !slot.released {
        return Ok(AppError::refused(
            Reason::SlotNotOpen,
            format!(
                "this slot opens for booking at {}",
                cst_rfc3339(slot.release_at)
            ),
        ));
    }
    let next = match state.full_slots.next_free(slot.doctor_id, now) {
        Some(next) => next,
        None => {
            let next: Vec<(i64, i64)> = store::open_slots(
                &state.db,
                (slot.doctor_id, None),
                now,
                now + 14 * 24 * 3_600_000,
                10,
            )
            .await?
            .iter()
            .filter(|s| s.bookable(now))
            .map(|s| (s.start_at, s.id))
            .collect();
            state
                .full_slots
                .remember_next_free(slot.doctor_id, next.clone(), now);
            next
        }
    };
    let hint: Vec<String> = next
        .iter()
        .filter(|(_, id)| *id != slot.id)
        .take(3)
        .map(|(start, id)| format!("{} (slot {id})", cst_rfc3339(*start)))
        .collect();
    let message = if hint.is_empty() {
        "this slot was just taken and the doctor has no other free time in the next 14 days; join the waitlist to be offered a freed place"
            .to_owned()
    } else {
        format!("this slot was just taken; next free: {}", hint.join(", "))
    };
    state.full_slots.remember(slot.id, now, &message);
    Ok(AppError::refused(Reason::SlotTaken, message))
}

/// Books `slot_id` for `person_id` (the actor or a family member they act for).
pub async fn book(
    state: &AppState,
    actor: &Actor,
    slot_id: i64,
    person_id: i64,
) -> AppResult<Appointment> {
    book_as(state, actor, slot_id, person_id, None).await
}

/// Reserves `slot_id` for the patient of referral `referral`, by the receiving hospital
/// `hospital` (the referral service decided they may): a time of that hospital only, under the
/// same rules as any booking (the patient's limits, the doctor's privilege), audited with the
/// referral as its basis.
pub async fn book_for_referral(
    state: &AppState,
    actor: &Actor,
    slot_id: i64,
    person_id: i64,
    (hospital, referral): (i64, i64),
) -> AppResult<Appointment> {
    book_as(state, actor, slot_id, person_id, Some((hospital, referral))).await
}

async fn book_as(
    state: &AppState,
    actor: &Actor,
    slot_id: i64,
    person_id: i64,
    referral: Option<(i64, i64)>,
) -> AppResult<Appointment> {
    let now = state.now_ms();
    // The rush's losers: a slot found full a moment ago is still full (see `full_gate`).
    if let Some(message) = state.full_slots.check(slot_id, now) {
        return Err(AppError::refused(Reason::SlotTaken, message));
    }
    let slot = slot_or_404(state, slot_id).await?;
    // A full or closed slot is public knowledge: answer before any per-patient check or write.
    if !slot.bookable(now) || slot.free() == 0 {
        return Err(not_bookable(state, &slot, now).await?);
    }
    let booker = match referral {
        None => check_booking(state, actor, &slot, person_id).await?,
        Some((hospital, referral)) => {
            if slot.hospital_id != hospital {
                return Err(AppError::field(
                    crate::error::FieldError::new(
                        "slot_id",
                        "must be a time at the hospital receiving the referral",
                    )
                    .localized("referral.err.slot_hospital", vec![]),
                ));
            }
            require_service(state, &slot).await?;
            Booker {
                account: actor.require()?.account_id,
                basis: policy::Basis::CareLink(format!("referral {referral}")),
            }
        }
    };
    let booking = group_commit::Booking {
        slot: slot.id,
        person: person_id,
        booked_by: booker.account,
        doctor: slot.doctor_id,
        hospital: slot.hospital_id,
        day: slot.day.clone(),
        now,
        actor: actor.audit(),
        basis: booker.basis.describe(),
    };
    let outcome = match &state.bookings {
        // SQLite: queued to the writer that commits bookings in groups.
        Some(writer) => writer.submit(booking).await?,
        // PostgreSQL: one call of the booking function, its own transaction.
        None => {
            let event = audit::stamped(&booking.audit_event());
            let limits = (MAX_ACTIVE, NO_SHOW_LIMIT, NO_SHOW_WINDOW_MS);
            store::book_slot(&state.db, &booking, limits, &event).await?
        }
    };
    let id = match outcome {
        group_commit::Outcome::Booked(id) => Some(id),
        group_commit::Outcome::Taken => None,
        group_commit::Outcome::SameDay => return Err(same_day_conflict()),
        group_commit::Outcome::Refused { active, no_shows } => {
            return Err(fairness_refusal(active, no_shows).unwrap_or_else(|| {
                AppError::Internal(anyhow::anyhow!(
                    "the booking writer refused a booking the limits allow"
                ))
            }));
        }
    };
    match id {
        // Everything about the new appointment is known: no read after the commit.
        Some(id) => Ok(Appointment {
            id,
            slot_id: slot.id,
            person_id,
            booked_by: actor.require()?.account_id,
            doctor_id: slot.doctor_id,
            day: slot.day.clone(),
            status: AppointmentStatus::Booked,
            created_at: now,
            start_at: slot.start_at,
            end_at: slot.end_at,
            hospital_id: slot.hospital_id,
            service_id: slot.service_id,
            mode: slot.mode,
            cancelled_by: None,
            checked_in_at: None,
        }),
        None => Err(not_bookable(state, &slot, now).await?),
    }
}

async fn appointment_or_500(state: &AppState, id: i64) -> AppResult<Appointment> {
    store::appointment(&state.db, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("appointment {id} vanished")))
}

/// Writes the appointment for a place already taken in `tx`: the row, the doctor's care link
/// (ended on cancellation) and the audit event (with the basis of the access).
pub(super) async fn create_in_tx(
    tx: &mut Tx,
    actor: &Actor,
    booker: &Booker,
    slot: &Slot,
    person_id: i64,
    now: i64,
) -> AppResult<i64> {
    let appointment = store::NewAppointment {
        slot: slot.id,
        person: person_id,
        booked_by: booker.account,
        doctor: slot.doctor_id,
        day: &slot.day,
    };
    let id = store::insert_appointment(tx, &appointment, now)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                same_day_conflict()
            } else {
                e.into()
            }
        })?;
    identity::link_care(
        tx,
        slot.doctor_id,
        person_id,
        slot.hospital_id,
        "appointment",
        Some(&id.to_string()),
        now,
    )
    .await?;
    audit::append(
        tx,
        &NewEvent::new(actor.audit(), "appointment.create", "appointment")
            .object(id)
            .patient(person_id)
            .reason(booker.basis.describe()),
    )
    .await?;
    Ok(id)
}

fn same_day_conflict() -> AppError {
    AppError::refused(
        Reason::DuplicateBooking,
        "there is already an appointment with this doctor that day".to_owned(),
    )
}

async fn appointment_or_404(state: &AppState, id: i64) -> AppResult<Appointment> {
    store::appointment(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no appointment with id {id}")))
}

/// The policy's decision on an appointment's patient, at the appointment's hospital.
async fn authorize_at_its_hospital(
    state: &AppState,
    actor: &Actor,
    appt: &Appointment,
    action: &str,
) -> AppResult<()> {
    policy::authorize_patient_at(
        state,
        actor,
        action,
        "appointment",
        appt.person_id,
        Some(appt.hospital_id),
        None,
    )
    .await?;
    Ok(())
}

async fn appointment_for_patient(
    state: &AppState,
    actor: &Actor,
    appointment_id: i64,
    action: &str,
) -> AppResult<Appointment> {
    let appt = appointment_or_404(state, appointment_id).await?;
    authorize_at_its_hospital(state, actor, &appt, action).await?;
    Ok(appt)
}

/// Who may change or cancel an appointment: the patient's side, or the staff of the
/// appointment's own hospital — its doctor (through a care link made there) and the front
/// desk (nurses, administrators). Returns who it was, as recorded on the appointment.
async fn appointment_to_change(
    state: &AppState,
    actor: &Actor,
    appointment_id: i64,
    action: &str,
) -> AppResult<(Appointment, &'static str)> {
    let me = actor.require()?;
    let appt = appointment_or_404(state, appointment_id).await?;
    let by = match me.role {
        Role::Patient => "patient",
        _ if Capability::FrontDesk(appt.hospital_id).held_by(me) => {
            audit::record(
                &state.db,
                &NewEvent::new(actor.audit(), action, "appointment")
                    .object(appt.id)
                    .patient(appt.person_id)
                    .reason("front desk of the appointment's hospital"),
            )
            .await?;
            return Ok((appt, "hospital"));
        }
        Role::Doctor => "hospital",
        _ => {
            identity::deny(
                state,
                actor,
                action,
                "appointment",
                Some(appt.id.to_string()),
                Some(appt.person_id),
                "not the patient's side or the appointment's hospital",
            )
            .await?;
            return Err(AppError::Forbidden(
                "an appointment is changed by the patient or by its hospital's staff".to_owned(),
            ));
        }
    };
    authorize_at_its_hospital(state, actor, &appt, action).await?;
    Ok((appt, by))
}

/// Cancels an appointment until two hours before it starts, freeing the place (offered to
/// the first patient on the waitlist, if any).
pub async fn cancel(
    state: &AppState,
    actor: &Actor,
    appointment_id: i64,
    reason: Option<&str>,
) -> AppResult<()> {
    let reason = crate::consult::model::optional_reason(reason)
        .map_err(|e| AppError::Validation(vec![e]))?;
    let (appt, by) =
        appointment_to_change(state, actor, appointment_id, "appointment.cancel").await?;
    let now = state.now_ms();
    if appt.start_at - now < CANCEL_CUTOFF_MS {
        return Err(AppError::refused(
            Reason::ChangeWindowClosed,
            "appointments can be cancelled until two hours before they start".to_owned(),
        ));
    }
    let mut tx = state.db.begin().await?;
    let transition = store::Transition {
        from: "booked",
        to: "cancelled",
        reason,
        by: Some(by),
    };
    cancel_in_tx(&mut tx, actor, &appt, transition, now).await?;
    waitlist::offer_freed_place(&mut tx, appt.slot_id, now, waitlist::hold_ms(state)).await?;
    tx.commit().await?;
    state.full_slots.forget(appt.slot_id);
    Ok(())
}

/// Cancels in the caller's transaction: the status, the place, the care link, the audit.
pub(super) async fn cancel_in_tx(
    tx: &mut Tx,
    actor: &Actor,
    appt: &Appointment,
    transition: store::Transition<'_>,
    now: i64,
) -> AppResult<()> {
    if !store::transition(tx, appt.id, transition, now).await? {
        return Err(AppError::wrong_state(format!(
            "the appointment is {}, not {}",
            appt.status, transition.from
        )));
    }
    store::give_back_place(tx, appt.slot_id).await?;
    identity_store::end_care_links(tx, "appointment", &appt.id.to_string(), now).await?;
    let mut event = NewEvent::new(actor.audit(), "appointment.cancel", "appointment")
        .object(appt.id)
        .patient(appt.person_id);
    if let Some(r) = transition.reason {
        event = event.reason(format!("by {}: {r}", transition.by.unwrap_or("patient")));
    }
    audit::append(tx, &event).await?;
    Ok(())
}

/// Moves an appointment to another time of the same doctor at the same hospital in one
/// transaction: the new place is taken first, so a lost race leaves the old appointment as it
/// was. Same cut-off as cancelling.
pub async fn reschedule(
    state: &AppState,
    actor: &Actor,
    appointment_id: i64,
    slot_id: i64,
) -> AppResult<Appointment> {
    let (appt, _) =
        appointment_to_change(state, actor, appointment_id, "appointment.reschedule").await?;
    let slot = slot_or_404(state, slot_id).await?;
    let now = state.now_ms();
    if appt.status != "booked" {
        return Err(AppError::refused(
            Reason::AppointmentNotBooked,
            format!("the appointment is {}, not booked", appt.status),
        ));
    }
    if slot.doctor_id != appt.doctor_id || slot.hospital_id != appt.hospital_id {
        return Err(AppError::invalid(
            "slot_id",
            "must be a time of the same doctor at the same hospital; book anew for another doctor",
        ));
    }
    if slot.id == appt.slot_id {
        return Err(AppError::invalid(
            "slot_id",
            "is the appointment's own time",
        ));
    }
    if appt.start_at - now < CANCEL_CUTOFF_MS {
        return Err(AppError::refused(
            Reason::ChangeWindowClosed,
            "appointments can be changed until two hours before they start".to_owned(),
        ));
    }
    if !slot.bookable(now) {
        return Err(not_bookable(state, &slot, now).await?);
    }
    let mut tx = state.db.begin().await?;
    if !store::take_place(&mut tx, slot.id, now).await? {
        drop(tx);
        return Err(not_bookable(state, &slot, now).await?);
    }
    match store::move_appointment(&mut tx, appt.id, slot.id, &slot.day).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(AppError::refused(
                Reason::ChangedMeanwhile,
                "the appointment changed a moment ago; reload".to_owned(),
            ));
        }
        Err(e) if is_unique_violation(&e) => return Err(same_day_conflict()),
        Err(e) => return Err(e.into()),
    }
    store::give_back_place(&mut tx, appt.slot_id).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "appointment.reschedule", "appointment")
            .object(appt.id)
            .patient(appt.person_id)
            .reason(format!("slot {} → {}", appt.slot_id, slot.id)),
    )
    .await?;
    waitlist::offer_freed_place(&mut tx, appt.slot_id, now, waitlist::hold_ms(state)).await?;
    tx.commit().await?;
    state.full_slots.forget(appt.slot_id);
    appointment_or_500(state, appt.id).await
}

/// Check-in opens this long before an in-person appointment and closes at its end.
pub const CHECK_IN_OPENS_MS: i64 = 60 * 60_000;

/// Who may mark attendance: the patient (or their guardian) for check-in, the appointment's
/// doctor (through the care link the appointment gave), and the nurses and administrators of
/// its hospital (front desk: attendance only, no record is read).
async fn authorize_attendance(
    state: &AppState,
    actor: &Actor,
    appt: &Appointment,
    action: &str,
    patient_may: bool,
) -> AppResult<()> {
    let me = actor.require()?;
    match me.role {
        Role::Patient if patient_may => {
            policy::authorize_patient(state, actor, action, "appointment", appt.person_id, None)
                .await?;
        }
        Role::Doctor if me.account_id == appt.doctor_id => {
            authorize_at_its_hospital(state, actor, appt, action).await?;
        }
        _ if Capability::FrontDesk(appt.hospital_id).held_by(me) => {}
        Role::Patient => {
            return Err(AppError::Forbidden(
                "the doctor or the front desk marks a missed appointment".to_owned(),
            ));
        }
        _ => {
            return Err(AppError::Forbidden(
                "only the doctor and the staff of this hospital mark attendance".to_owned(),
            ));
        }
    }
    Ok(())
}

async fn attendance(
    state: &AppState,
    actor: &Actor,
    appointment_id: i64,
    (action, to): (&str, &str),
) -> AppResult<Appointment> {
    let appt = store::appointment(&state.db, appointment_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no appointment with id {appointment_id}")))?;
    authorize_attendance(state, actor, &appt, action, to == "checked_in").await?;
    let now = state.now_ms();
    if to == "checked_in" {
        if appt.mode != "in_person" {
            return Err(AppError::refused(
                Reason::CheckInNotNeeded,
                "online appointments need no check-in: join the consultation at its time",
            ));
        }
        if now < appt.start_at - CHECK_IN_OPENS_MS || now > appt.end_at {
            return Err(AppError::refused(
                Reason::CheckInWindowClosed,
                format!(
                    "check-in opens an hour before {} and closes when the appointment ends",
                    cst_rfc3339(appt.start_at)
                ),
            ));
        }
    } else if now < appt.start_at {
        return Err(AppError::wrong_state(
            "an appointment can be marked missed only after it has begun",
        ));
    }
    let mut tx = state.db.begin().await?;
    let t = store::Transition {
        from: "booked",
        to,
        reason: None,
        by: None,
    };
    if !store::transition(&mut tx, appt.id, t, now).await? {
        return Err(AppError::refused(
            Reason::AppointmentNotBooked,
            format!("the appointment is {}, not booked", appt.status),
        ));
    }
    if to == "checked_in" {
        let by = actor.require()?.account_id;
        super::statistics::record_appointment_visit(&mut tx, &appt, by, now).await?;
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), action, "appointment")
            .object(appt.id)
            .patient(appt.person_id),
    )
    .await?;
    tx.commit().await?;
    appointment_or_500(state, appt.id).await
}

/// Check-in for an in-person visit, from an hour before until the end.
pub async fn check_in(state: &AppState, actor: &Actor, id: i64) -> AppResult<Appointment> {
    attendance(state, actor, id, ("appointment.check_in", "checked_in")).await
}

/// Marks a booked appointment missed (counts toward the no-show rule).
pub async fn mark_no_show(state: &AppState, actor: &Actor, id: i64) -> AppResult<Appointment> {
    attendance(state, actor, id, ("appointment.no_show", "no_show")).await
}

/// One of today's appointments as the doctor sees it.
pub struct TodayRow {
    pub id: i64,
    pub when: String,
    pub status: AppointmentStatus,
    pub in_person: bool,
    pub started: bool,
    /// Empty until the doctor's identity step-up.
    pub patient: String,
}

/// A doctor's day: today's appointments and booked / places for the next 14 days.
pub struct DoctorDay {
    pub today: Vec<TodayRow>,
    /// (day, booked, places)
    pub days: Vec<(String, i64, i64)>,
    /// Whether the doctor's identity step-up is fresh (names are shown only then).
    pub verified: bool,
}

/// The signed-in doctor's day. Names need a fresh step-up, and each is a patient-data read
/// through the policy (audited).
pub async fn doctor_day(state: &AppState, actor: &Actor) -> AppResult<DoctorDay> {
    let me = actor.require()?;
    crate::capability::require_role(me, Role::Doctor, "this page is a doctor's own schedule")?;
    let now = state.now_ms();
    let verified = crate::identity::auth::require_step_up(state, me).is_ok();
    let mut today = Vec::new();
    for a in store::doctor_day(&state.db, me.account_id, &cst_today(now).to_string()).await? {
        let patient = if !verified {
            String::new()
        } else if policy::authorize_patient(
            state,
            actor,
            "appointment.list",
            "appointment",
            a.person_id,
            None,
        )
        .await
        .is_ok()
        {
            identity_store::person(&state.db, a.person_id)
                .await?
                .map(|p| p.name)
                .unwrap_or_default()
        } else {
            "—".to_owned()
        };
        today.push(TodayRow {
            id: a.id,
            when: cst_display(a.start_at),
            in_person: a.mode == "in_person",
            started: a.start_at <= now,
            status: a.status,
            patient,
        });
    }
    let slots = store::search_slots(
        &state.db,
        &store::SlotQuery {
            doctor: Some(me.account_id),
            from: now,
            to: now + 14 * 24 * 3_600_000,
            now,
            limit: 5000,
            ..store::SlotQuery::default()
        },
    )
    .await?;
    let mut days: Vec<(String, i64, i64)> = Vec::new();
    for s in slots.iter().filter(|s| s.status == SlotStatus::Open) {
        match days.last_mut() {
            Some((d, booked, places)) if *d == s.day => {
                *booked += s.booked;
                *places += s.capacity;
            }
            _ => days.push((s.day.clone(), s.booked, s.capacity)),
        }
    }
    Ok(DoctorDay {
        today,
        days,
        verified,
    })
}

/// Appointments of the actor and the family they act for.
pub async fn my_appointments(state: &AppState, actor: &Actor) -> AppResult<Vec<Appointment>> {
    let me = actor.require()?;
    Ok(store::appointments_for_account(&state.db, me.account_id, 100).await?)
}

/// The "my appointments" screen's list: the account's own and its family's appointments with
/// the doctor's name, price, consultation and fee of each.
pub async fn my_appointments_listed(
    state: &AppState,
    actor: &Actor,
) -> AppResult<Vec<store::ListedAppointment>> {
    let me = actor.require()?;
    Ok(store::listed_for_account(&state.db, me.account_id, 100).await?)
}

/// One appointment, for the patient, their guardian, or a clinician with a care link.
pub async fn read_appointment(state: &AppState, actor: &Actor, id: i64) -> AppResult<Appointment> {
    appointment_for_patient(state, actor, id, "appointment.read").await
}

/// Appointments for a search: of one person (checked by the policy), or without a person the
/// patient's own and family's. `range` bounds the start, `status` filters.
pub async fn search_appointments(
    state: &AppState,
    actor: &Actor,
    person: Option<i64>,
    range: (i64, i64),
    status: Option<&str>,
    limit: i64,
    newest_first: bool,
) -> AppResult<Vec<Appointment>> {
    match person {
        Some(person) => {
            policy::authorize_patient(
                state,
                actor,
                "appointment.search",
                "appointment",
                person,
                None,
            )
            .await?;
            let mut items = store::appointments_of_person(
                &state.db,
                person,
                range,
                status,
                limit,
                newest_first,
            )
            .await?;
            // Staff see their own hospital's appointments: a care link here is no window on
            // the patient's visits elsewhere.
            let me = actor.require()?;
            if me.role != Role::Patient {
                items.retain(|a| Some(a.hospital_id) == me.hospital_id);
            }
            Ok(items)
        }
        None => {
            let me = actor.require()?;
            if me.role != Role::Patient {
                return Err(AppError::invalid(
                    "patient",
                    "is required: name the patient whose appointments you need",
                ));
            }
            let mut items = my_appointments(state, actor).await?;
            items.retain(|a| {
                a.start_at >= range.0
                    && a.start_at < range.1
                    && status.is_none_or(|s| a.status == s)
            });
            items.sort_by_key(|a| (a.start_at, a.id));
            if newest_first {
                items.reverse();
            }
            items.truncate(usize::try_from(limit).unwrap_or(100));
            Ok(items)
        }
    }
}
