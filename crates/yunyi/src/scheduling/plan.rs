//! The plan of a doctor's week: weekly templates, release rules, closed days (leave and
//! holidays), and generating slots for the rolling horizon.
//!
//! Editing a template never touches booked slots: the old template is retired, its future
//! slots that nobody booked or holds are deleted, and the new one generates its own. Closing
//! time blocks its slots and cancels their appointments on the hospital's side
//! (`cancelled_by = 'hospital'`, the hook the payment module refunds by); the patients are told.

use std::collections::BTreeSet;

use chrono::{Datelike as _, NaiveDate, NaiveTime};

use super::model::{CloseInput, ReleaseRulesInput, TemplateInput, release_instant};
use super::plan_store::{self as store, ClosedTime, NewClosure, TemplateRow};
use super::release;
use super::store::{self as slots, NewSlot, ScheduleRow};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::db::Tx;
use crate::error::{AppError, AppResult, Reason};
use crate::identity::Actor;
use crate::jobs::{self, NewJob};
use crate::notification::{
    self,
    model::{Event, Notice},
};
use crate::time::{cst_display, cst_ms, cst_today};

/// Loads a schedule and checks that the actor administers its hospital.
pub async fn schedule_for_admin(
    state: &AppState,
    actor: &Actor,
    schedule_id: i64,
) -> AppResult<ScheduleRow> {
    let schedule = slots::schedule(&state.db, schedule_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no schedule with id {schedule_id}")))?;
    require_hospital_admin(state, actor, schedule.hospital_id, "schedule.change").await?;
    Ok(schedule)
}

/// Only the hospital's administrators (or the platform's) change its schedules; audited.
pub async fn require_hospital_admin(
    state: &AppState,
    actor: &Actor,
    hospital: i64,
    action: &str,
) -> AppResult<()> {
    crate::capability::require(
        state,
        actor,
        crate::capability::Capability::Administer(hospital),
        action,
    )
    .await
    .map(|_| ())
}

fn parse_clock(raw: &str) -> NaiveTime {
    NaiveTime::parse_from_str(raw, "%H:%M").unwrap_or(NaiveTime::MIN)
}

fn parse_day(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

/// Whether a closed time covers [start, end) on `day`.
fn is_closed(closed: &[ClosedTime], day: &str, (start, end): (i64, i64)) -> bool {
    closed.iter().filter(|c| c.day == day).any(|c| {
        match (
            c.start_time.as_deref(),
            c.end_time.as_deref(),
            parse_day(day),
        ) {
            (Some(s), Some(e), Some(d)) => {
                let (cs, ce) = (
                    cst_ms(d, parse_clock(s)).unwrap_or(0),
                    cst_ms(d, parse_clock(e)).unwrap_or(0),
                );
                start < ce && end > cs
            }
            _ => true,
        }
    })
}

/// Generates the slots of `templates` for the days `from..=to`, skipping closed times and
/// times already past, and schedules the release job for each future release time.
/// Returns how many slots are new.
async fn generate_days(
    tx: &mut Tx,
    schedule: &ScheduleRow,
    templates: &[TemplateRow],
    (from, to): (NaiveDate, NaiveDate),
    now: i64,
) -> AppResult<usize> {
    let closed = store::closed_times(tx, schedule, &from.to_string(), &to.to_string()).await?;
    let release_time = parse_clock(&schedule.release_time);
    let mut releases = BTreeSet::new();
    let mut created = 0;
    for day in from.iter_days().take_while(|d| *d <= to) {
        let weekday = i64::from(day.weekday().number_from_monday());
        let day_text = day.to_string();
        let release_at = release_instant(day, schedule.release_days, release_time);
        for t in templates.iter().filter(|t| t.weekday == weekday) {
            let step = t.slot_minutes * 60_000;
            let (Some(mut start), Some(end)) = (
                cst_ms(day, parse_clock(&t.start_time)),
                cst_ms(day, parse_clock(&t.end_time)),
            ) else {
                continue;
            };
            while start + step <= end {
                let range = (start, start + step);
                if start > now && !is_closed(&closed, &day_text, range) {
                    let slot = NewSlot {
                        schedule: schedule.id,
                        template: Some(t.id),
                        start,
                        end: start + step,
                        day: &day_text,
                        capacity: t.capacity,
                        release_at: release_at.min(start),
                        mode: t.mode.as_str(),
                        location: t.location.as_deref(),
                    };
                    if slots::insert_slot(tx, &slot, now).await? {
                        created += 1;
                        if slot.release_at > now {
                            releases.insert(slot.release_at);
                        }
                    }
                }
                start += step;
            }
        }
    }
    schedule_releases(tx, releases).await?;
    Ok(created)
}

/// One release job per release instant, shared by every schedule releasing then.
pub async fn schedule_releases(
    tx: &mut Tx,
    instants: impl IntoIterator<Item = i64>,
) -> AppResult<()> {
    for at in instants {
        jobs::enqueue(
            tx,
            &NewJob::of(&release::ReleaseSlotsDue {})
                .dedupe_key(format!("{}:{at}", release::KIND))
                .run_at(at),
        )
        .await?;
    }
    Ok(())
}

/// Extends a schedule's slots to its horizon (the release job runs this daily).
pub async fn extend_horizon(tx: &mut Tx, schedule: &ScheduleRow, now: i64) -> AppResult<usize> {
    let today = cst_today(now);
    let until = today + chrono::Duration::days(schedule.horizon_days - 1);
    let from = schedule
        .generated_until
        .as_deref()
        .and_then(parse_day)
        .map(|d| d.succ_opt().unwrap_or(d))
        .unwrap_or(today)
        .max(today);
    if from > until {
        return Ok(0);
    }
    let templates = store::templates(tx, schedule.id).await?;
    let created = generate_days(tx, schedule, &templates, (from, until), now).await?;
    store::set_generated_until(tx, schedule.id, &until.to_string()).await?;
    Ok(created)
}

/// Adds a weekly session and generates its slots for the horizon at once.
pub async fn add_template(
    state: &AppState,
    actor: &Actor,
    schedule_id: i64,
    input: &TemplateInput,
) -> AppResult<(i64, usize)> {
    let schedule = schedule_for_admin(state, actor, schedule_id).await?;
    let valid = input.validate().map_err(AppError::Validation)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let id = store::insert_template(&mut tx, schedule_id, &valid, now).await?;
    let created = generate_template(&mut tx, &schedule, id, now).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "schedule.template.add", "schedule")
            .object(schedule_id)
            .reason(format!("template {id}: {created} slots")),
    )
    .await?;
    tx.commit().await?;
    Ok((id, created))
}

/// Generates one template's slots from today to the schedule's horizon.
async fn generate_template(
    tx: &mut Tx,
    schedule: &ScheduleRow,
    template_id: i64,
    now: i64,
) -> AppResult<usize> {
    let today = cst_today(now);
    let until = today + chrono::Duration::days(schedule.horizon_days - 1);
    let templates: Vec<TemplateRow> = store::templates(tx, schedule.id)
        .await?
        .into_iter()
        .filter(|t| t.id == template_id)
        .collect();
    let created = generate_days(tx, schedule, &templates, (today, until), now).await?;
    let reached = schedule
        .generated_until
        .as_deref()
        .and_then(parse_day)
        .map_or(until, |d| d.max(until));
    store::set_generated_until(tx, schedule.id, &reached.to_string()).await?;
    Ok(created)
}

/// Replaces a weekly session: booked slots of the old one stay; its free future slots go.
pub async fn replace_template(
    state: &AppState,
    actor: &Actor,
    template_id: i64,
    input: &TemplateInput,
) -> AppResult<(i64, usize)> {
    let old = store::template(&state.db, template_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no template with id {template_id}")))?;
    let schedule = schedule_for_admin(state, actor, old.schedule_id).await?;
    let valid = input.validate().map_err(AppError::Validation)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::retire_template(&mut tx, template_id, now).await? {
        return Err(AppError::refused(
            Reason::ChangedMeanwhile,
            "this template was changed a moment ago; reload".to_owned(),
        ));
    }
    store::delete_unbooked_future_slots(&mut tx, template_id, now).await?;
    let id = store::insert_template(&mut tx, schedule.id, &valid, now).await?;
    let created = generate_template(&mut tx, &schedule, id, now).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "schedule.template.replace", "schedule")
            .object(schedule.id)
            .reason(format!("template {template_id} → {id}: {created} slots")),
    )
    .await?;
    tx.commit().await?;
    Ok((id, created))
}

/// Retires a weekly session; its booked slots stay. Returns the template's schedule.
pub async fn remove_template(state: &AppState, actor: &Actor, template_id: i64) -> AppResult<i64> {
    let old = store::template(&state.db, template_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no template with id {template_id}")))?;
    let schedule = schedule_for_admin(state, actor, old.schedule_id).await?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if store::retire_template(&mut tx, template_id, now).await? {
        store::delete_unbooked_future_slots(&mut tx, template_id, now).await?;
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "schedule.template.remove", "schedule")
            .object(schedule.id)
            .reason(format!("template {template_id}")),
    )
    .await?;
    tx.commit().await?;
    Ok(schedule.id)
}

/// A hospital's schedules, and its doctors' services that have none yet (its administrators).
pub async fn hospital_schedules(
    state: &AppState,
    actor: &Actor,
    hospital: i64,
) -> AppResult<(
    Vec<slots::ScheduleListing>,
    Vec<crate::directory::model::Service>,
)> {
    require_hospital_admin(state, actor, hospital, "schedule.list").await?;
    let schedules = slots::schedules_of_hospital(&state.db, hospital).await?;
    let services = crate::directory::store::services(&state.db, None, Some(hospital), 500)
        .await?
        .into_iter()
        .filter(|s| s.doctor_id.is_some() && !schedules.iter().any(|c| c.service_id == s.id))
        .collect();
    Ok((schedules, services))
}

/// Active templates of a schedule, for its administrators.
pub async fn templates(
    state: &AppState,
    actor: &Actor,
    schedule_id: i64,
) -> AppResult<(ScheduleRow, Vec<TemplateRow>)> {
    let schedule = schedule_for_admin(state, actor, schedule_id).await?;
    let items = store::templates_of(&state.db, schedule_id).await?;
    Ok((schedule, items))
}

/// Sets when slots are generated and released; applies to slots generated from now on.
pub async fn set_rules(
    state: &AppState,
    actor: &Actor,
    schedule_id: i64,
    input: &ReleaseRulesInput,
) -> AppResult<()> {
    let mut schedule = schedule_for_admin(state, actor, schedule_id).await?;
    let rules = input.validate().map_err(AppError::Validation)?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    store::set_rules(&mut tx, schedule_id, &rules).await?;
    schedule.horizon_days = rules.horizon_days;
    schedule.release_days = rules.release_days;
    schedule.release_time = rules.release_time.format("%H:%M").to_string();
    // A longer horizon takes effect at once.
    extend_horizon(&mut tx, &schedule, now).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "schedule.rules", "schedule")
            .object(schedule_id)
            .reason(format!(
                "horizon {} days, release {} days ahead at {}",
                rules.horizon_days,
                rules.release_days,
                rules.release_time.format("%H:%M")
            )),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What closing time did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Closed {
    pub slots_blocked: usize,
    pub appointments_cancelled: usize,
}

/// Whose time is closed: one doctor's schedule (leave) or a whole hospital (holiday).
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Schedule(i64),
    Hospital(i64),
}

/// Closes a day or part of it: no slots are generated there, open slots are blocked, and
/// their appointments are cancelled on the hospital's side with the patients told.
pub async fn close(
    state: &AppState,
    actor: &Actor,
    scope: Scope,
    input: &CloseInput,
) -> AppResult<Closed> {
    let (hospital, schedule, kind) = match scope {
        Scope::Schedule(id) => {
            let s = schedule_for_admin(state, actor, id).await?;
            (s.hospital_id, Some(id), "leave")
        }
        Scope::Hospital(id) => {
            crate::directory::store::get_hospital(&state.db, id)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("no hospital with id {id}")))?;
            require_hospital_admin(state, actor, id, "hospital.holiday").await?;
            (id, None, "holiday")
        }
    };
    let me = actor.require()?;
    let now = state.now_ms();
    let valid = input
        .validate(cst_today(now))
        .map_err(AppError::Validation)?;
    let day = valid.day.to_string();
    let times = valid
        .times
        .map(|(s, e)| (s.format("%H:%M").to_string(), e.format("%H:%M").to_string()));
    let mut tx = state.db.begin().await?;
    store::insert_closure(
        &mut tx,
        &NewClosure {
            hospital,
            schedule,
            day: &day,
            times,
            kind,
            reason: &valid.reason,
            by: me.account_id,
        },
        now,
    )
    .await?;
    let blocked = store::block_slots(&mut tx, hospital, schedule, valid.range_ms()).await?;
    let mut cancelled = 0;
    for slot in &blocked {
        for appt in slots::active_in_slot(&mut tx, *slot).await? {
            super::service::cancel_in_tx(
                &mut tx,
                actor,
                &appt,
                super::store::Transition {
                    from: appt.status.as_str(),
                    to: "cancelled",
                    reason: Some(&valid.reason),
                    by: Some("hospital"),
                },
                now,
            )
            .await?;
            let notice = Notice::new(
                appt.booked_by,
                Event::AppointmentCancelledByHospital,
                format!("appointment:{}", appt.id),
            )
            .param("time", cst_display(appt.start_at))
            .param("reason", valid.reason.clone())
            .link("/appointments");
            notification::service::notify(&mut tx, &notice, now).await?;
            cancelled += 1;
        }
        super::waitlist::withdraw_offers_on_slot(&mut tx, *slot, now).await?;
    }
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "schedule.close", "schedule")
            .object_opt(schedule.map(|s| s.to_string()))
            .reason(format!(
                "{kind} {day}: {} — {} slots blocked, {} appointments cancelled",
                valid.reason,
                blocked.len(),
                cancelled
            )),
    )
    .await?;
    tx.commit().await?;
    Ok(Closed {
        slots_blocked: blocked.len(),
        appointments_cancelled: cancelled,
    })
}
