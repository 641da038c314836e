//! Scheduling rules: who may open sessions, who may book for whom, fairness limits, the
//! atomic booking itself, and cancellation.

use super::model::{Appointment, SessionInput, Slot, cst_rfc3339};
use super::store;
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::clock::now_ms;
use crate::db::is_unique_violation;
use crate::directory::model::ServiceKind;
use crate::directory::{service as directory, store as directory_store};
use crate::error::{AppError, AppResult};
use crate::identity::model::Role;
use crate::identity::{Actor, service as identity, store as identity_store};
use crate::policy;

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
    let me = actor.require()?;
    if !(me.role == Role::PlatformAdmin
        || (me.role == Role::HospitalAdmin && me.hospital_id == Some(service.hospital_id)))
    {
        return Err(AppError::Forbidden(
            "only this hospital's administrators open schedules".to_owned(),
        ));
    }
    let mut tx = state.db.begin().await?;
    let id = store::insert_schedule(&mut tx, doctor, service.hospital_id, service_id, now_ms())
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AppError::Conflict("this service already has a schedule".to_owned())
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

/// Opens a session of slots on one day; returns how many new slots there are.
pub async fn add_session(
    state: &AppState,
    actor: &Actor,
    schedule_id: i64,
    input: &SessionInput,
) -> AppResult<usize> {
    let schedule = store::schedule(&state.db, schedule_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no schedule with id {schedule_id}")))?;
    let me = actor.require()?;
    if !(me.role == Role::PlatformAdmin
        || (me.role == Role::HospitalAdmin && me.hospital_id == Some(schedule.hospital_id)))
    {
        return Err(AppError::Forbidden(
            "only this hospital's administrators open sessions".to_owned(),
        ));
    }
    let now = now_ms();
    let s = input.validate(now).map_err(AppError::Validation)?;
    let day = s.day.to_string();
    let mut tx = state.db.begin().await?;
    let mut created = 0;
    let mut start = s.start_ms;
    while start + s.slot_ms <= s.end_ms {
        if store::insert_slot(
            &mut tx,
            schedule_id,
            (start, start + s.slot_ms),
            &day,
            s.capacity,
            s.release_at,
            now,
        )
        .await?
        {
            created += 1;
        }
        start += s.slot_ms;
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
pub async fn open_slots(state: &AppState, doctor_id: i64, days: i64) -> AppResult<Vec<Slot>> {
    let now = now_ms();
    Ok(store::open_slots(
        &state.db,
        doctor_id,
        now,
        now + days.clamp(1, 28) * 24 * 3_600_000,
        500,
    )
    .await?)
}

/// Books `slot_id` for `person_id` (the actor or a family member they act for).
pub async fn book(
    state: &AppState,
    actor: &Actor,
    slot_id: i64,
    person_id: i64,
) -> AppResult<Appointment> {
    let me = actor.require()?;
    if me.role != Role::Patient {
        return Err(AppError::Forbidden(
            "appointments are booked by patients for themselves or their family".to_owned(),
        ));
    }
    // Own record or a family member's; anyone else's is 404, as for any other patient data.
    policy::authorize_patient(
        state,
        actor,
        "appointment.book",
        "appointment",
        person_id,
        None,
    )
    .await?;
    let slot = store::slot(&state.db, slot_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no slot with id {slot_id}")))?;
    let service = directory_store::service(&state.db, slot.service_id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("slot {slot_id} has no service")))?;
    let kind = ServiceKind::parse(&service.kind).unwrap_or(ServiceKind::TextConsult);
    directory::require_privilege(
        state,
        slot.doctor_id,
        slot.hospital_id,
        kind.required_privilege(),
    )
    .await
    .map_err(|_| {
        AppError::Conflict(
            "this doctor cannot take appointments for this service at the moment".to_owned(),
        )
    })?;
    let now = now_ms();
    if store::count_no_shows_since(&state.db, person_id, now - NO_SHOW_WINDOW_MS).await?
        >= NO_SHOW_LIMIT
    {
        return Err(AppError::Forbidden(format!(
            "booking is paused: {NO_SHOW_LIMIT} missed appointments in the last 90 days"
        )));
    }
    if store::count_active(&state.db, person_id, now).await? >= MAX_ACTIVE {
        return Err(AppError::Conflict(format!(
            "at most {MAX_ACTIVE} upcoming appointments at a time: cancel one first"
        )));
    }
    if slot.release_at > now {
        return Err(AppError::Conflict(format!(
            "this slot opens for booking at {}",
            cst_rfc3339(slot.release_at)
        )));
    }

    let mut tx = state.db.begin().await?;
    if !store::take_place(&mut tx, slot_id, now).await? {
        drop(tx);
        let next = open_slots(state, slot.doctor_id, 14).await?;
        let hint: Vec<String> = next
            .iter()
            .take(3)
            .map(|s| format!("{} (slot {})", cst_rfc3339(s.start_at), s.id))
            .collect();
        return Err(AppError::Conflict(if hint.is_empty() {
            "this slot was just taken and the doctor has no other free time in the next 14 days"
                .to_owned()
        } else {
            format!("this slot was just taken; next free: {}", hint.join(", "))
        }));
    }
    let appointment = store::NewAppointment {
        slot: slot_id,
        person: person_id,
        booked_by: me.account_id,
        doctor: slot.doctor_id,
        day: &slot.day,
    };
    let id = store::insert_appointment(&mut tx, &appointment, now)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AppError::Conflict(
                    "there is already an appointment with this doctor that day".to_owned(),
                )
            } else {
                e.into()
            }
        })?;
    // The doctor may now read this patient's record (care link, ended on cancellation).
    identity::link_care(
        &mut tx,
        slot.doctor_id,
        person_id,
        slot.hospital_id,
        "appointment",
        Some(&id.to_string()),
    )
    .await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "appointment.create", "appointment")
            .object(id)
            .patient(person_id),
    )
    .await?;
    tx.commit().await?;
    store::appointment(&state.db, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("appointment {id} vanished")))
}

/// Cancels an appointment until two hours before it starts, freeing the place.
pub async fn cancel(
    state: &AppState,
    actor: &Actor,
    appointment_id: i64,
    reason: Option<&str>,
) -> AppResult<()> {
    let not_found = || AppError::NotFound(format!("no appointment with id {appointment_id}"));
    let appt = store::appointment(&state.db, appointment_id)
        .await?
        .ok_or_else(not_found)?;
    policy::authorize_patient(
        state,
        actor,
        "appointment.cancel",
        "appointment",
        appt.person_id,
        None,
    )
    .await?;
    let now = now_ms();
    if appt.start_at - now < CANCEL_CUTOFF_MS {
        return Err(AppError::Conflict(
            "appointments can be cancelled until two hours before they start".to_owned(),
        ));
    }
    let mut tx = state.db.begin().await?;
    if !store::transition(&mut tx, appointment_id, "booked", "cancelled", reason, now).await? {
        return Err(AppError::Conflict(format!(
            "the appointment is {}, not booked",
            appt.status
        )));
    }
    store::give_back_place(&mut tx, appt.slot_id).await?;
    identity_store::end_care_links(&mut tx, "appointment", &appointment_id.to_string(), now)
        .await?;
    let mut event = NewEvent::new(actor.audit(), "appointment.cancel", "appointment")
        .object(appointment_id)
        .patient(appt.person_id);
    if let Some(r) = reason {
        event = event.reason(r);
    }
    audit::append(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// Appointments of the actor and the family they act for.
pub async fn my_appointments(state: &AppState, actor: &Actor) -> AppResult<Vec<Appointment>> {
    let me = actor.require()?;
    Ok(store::appointments_for_account(&state.db, me.account_id, 100).await?)
}
