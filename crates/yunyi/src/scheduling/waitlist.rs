//! The waitlist (候补): a patient waits for a doctor's full day; when a place frees up
//! (cancellation, reschedule, an expired hold) it is held for the first one waiting for a
//! limited time and they are told. They accept (booking the held place) or the hold expires
//! and the place goes to the next one. Holds are counted in `slot.held`, so nobody else can
//! book a held place.

use chrono::NaiveDate;

use super::model::Appointment;
use super::service::{check_booking, check_standing_in, create_in_tx};
use super::store as slots;
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::db::{Tx, is_unique_violation};
use crate::error::{AppError, AppResult, Reason};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::jobs::{self, Job, JobContext, JobResult, NewJob};
use crate::notification::model::{Event, Notice};
use crate::policy;
use crate::time::{cst_display, cst_today};

pub const EXPIRE_KIND: &str = "scheduling.expire_hold";

use super::waitlist_store::{self as store, entry};
pub use super::waitlist_store::{Entry, WaitStatus};

/// Joins the waitlist for a doctor's day that has no free place.
pub async fn join(
    state: &AppState,
    actor: &Actor,
    doctor_id: i64,
    day: &str,
    person_id: i64,
) -> AppResult<Entry> {
    let me = actor.require()?;
    crate::capability::require_role(
        me,
        Role::Patient,
        "patients join waitlists for themselves or their family",
    )?;
    let now = state.now_ms();
    let today = cst_today(now);
    let date = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| *d >= today && *d <= today + chrono::Duration::days(60))
        .ok_or_else(|| {
            AppError::invalid("date", "must be a date like 2026-12-01, today or later")
        })?;
    policy::authorize_patient(state, actor, "waitlist.join", "waitlist", person_id, None).await?;
    let (from, to) = day_range(date);
    let slots_that_day = slots::open_or_full_slots(&state.db, doctor_id, from, to).await?;
    if slots_that_day.is_empty() {
        return Err(AppError::refused(
            Reason::SlotClosed,
            "the doctor has no sessions that day",
        ));
    }
    if slots_that_day
        .iter()
        .any(|s| s.bookable(now) && s.free() > 0)
    {
        return Err(AppError::refused(
            Reason::SlotsStillFree,
            "there are still free times that day: book one of them".to_owned(),
        ));
    }
    let day = date.to_string();
    let mut tx = state.db.begin().await?;
    let id = store::insert(&mut tx, person_id, me.account_id, doctor_id, &day, now)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AppError::refused(
                    Reason::AlreadyWaiting,
                    "already on this doctor's waitlist for that day".to_owned(),
                )
            } else {
                e.into()
            }
        })?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "waitlist.join", "waitlist")
            .object(id)
            .patient(person_id),
    )
    .await?;
    tx.commit().await?;
    entry(&state.db, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("waitlist entry {id} vanished")))
}

fn day_range(day: NaiveDate) -> (i64, i64) {
    let start = crate::time::cst_ms(day, chrono::NaiveTime::MIN).unwrap_or(0);
    (start, start + 24 * 3_600_000)
}

/// The waitlist entries of the actor and the family they act for.
pub async fn mine(state: &AppState, actor: &Actor) -> AppResult<Vec<Entry>> {
    let me = actor.require()?;
    Ok(store::of_account(&state.db, me.account_id).await?)
}

async fn own_entry(state: &AppState, actor: &Actor, id: i64, action: &str) -> AppResult<Entry> {
    let e = entry(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no waitlist entry with id {id}")))?;
    policy::authorize_patient(state, actor, action, "waitlist", e.person_id, None).await?;
    Ok(e)
}

/// Books the place held for this entry.
pub async fn accept(state: &AppState, actor: &Actor, id: i64) -> AppResult<Appointment> {
    let e = own_entry(state, actor, id, "waitlist.accept").await?;
    let now = state.now_ms();
    let (Some(slot_id), Some(hold_until)) = (e.slot_id, e.hold_until) else {
        return Err(AppError::wrong_state(
            "no place is held for this entry yet: you will be told when one frees up",
        ));
    };
    if e.status != WaitStatus::Offered || hold_until <= now {
        return Err(AppError::refused(
            Reason::HoldEnded,
            format!(
                "the hold has ended (the entry is {})",
                if e.status == WaitStatus::Offered {
                    WaitStatus::Expired
                } else {
                    e.status
                }
            ),
        ));
    }
    let slot = slots::slot(&state.db, slot_id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("held slot {slot_id} vanished")))?;
    let booker = check_booking(state, actor, &slot, e.person_id).await?;
    let mut tx = state.db.begin().await?;
    let taken = store::mark_booked(&mut tx, id, now).await?;
    if !taken || !slots::take_held_place(&mut tx, slot_id, now).await? {
        return Err(AppError::refused(
            Reason::HoldEnded,
            "the hold has just ended".to_owned(),
        ));
    }
    check_standing_in(&mut tx, e.person_id, now).await?;
    let appointment = create_in_tx(&mut tx, actor, &booker, &slot, e.person_id, now).await?;
    tx.commit().await?;
    slots::appointment(&state.db, appointment)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("appointment vanished")))
}

/// Leaves the waitlist; a place held for the entry goes to the next one waiting.
pub async fn leave(state: &AppState, actor: &Actor, id: i64) -> AppResult<()> {
    let e = own_entry(state, actor, id, "waitlist.leave").await?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let left = store::mark_left(&mut tx, id, now).await?;
    if !left {
        return Err(AppError::wrong_state(format!("the entry is {}", e.status)));
    }
    let freed = match (e.slot_id, e.status) {
        (Some(slot), WaitStatus::Offered) => {
            slots::release_hold(&mut tx, slot).await?;
            offer_freed_place(&mut tx, slot, now, hold_ms(state)).await?;
            Some(slot)
        }
        _ => None,
    };
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "waitlist.leave", "waitlist")
            .object(id)
            .patient(e.person_id),
    )
    .await?;
    tx.commit().await?;
    if let Some(slot) = freed {
        state.full_slots.forget(slot);
    }
    Ok(())
}

/// Offers a place of `slot` that just became free to the first patient waiting for its
/// doctor and day, holding it for them and queuing their notice. Runs in the transaction that
/// freed the place; true when someone was offered the place.
pub async fn offer_freed_place(
    tx: &mut Tx,
    slot_id: i64,
    now: i64,
    hold_ms: i64,
) -> AppResult<bool> {
    let Some(slot) = slots::slot_in(tx, slot_id).await? else {
        return Ok(false);
    };
    if slot.status != "open" || slot.start_at <= now || slot.free() == 0 {
        return Ok(false);
    }
    // A concurrent transaction may offer the same entry (PostgreSQL); the conditional
    // update decides, and the loser tries the next one.
    for _ in 0..5 {
        let next = store::first_waiting(tx, slot.doctor_id, &slot.day).await?;
        let Some((waitlist_id, account_id)) = next else {
            return Ok(false);
        };
        let hold_until = now + hold_ms;
        let offered = store::offer(tx, waitlist_id, slot_id, hold_until, now).await?;
        if !offered {
            continue;
        }
        if !slots::hold_place(tx, slot_id, now).await? {
            store::back_to_waiting(tx, waitlist_id, now).await?;
            return Ok(false);
        }
        jobs::enqueue(
            tx,
            &NewJob::of(&HoldDue { waitlist_id })
                .dedupe_key(format!("{EXPIRE_KIND}:{waitlist_id}:{hold_until}"))
                .run_at(hold_until),
        )
        .await?;
        let notice = Notice::new(
            account_id,
            Event::WaitlistOffer,
            format!("waitlist:{waitlist_id}:{slot_id}:{hold_until}"),
        )
        .param("time", cst_display(slot.start_at))
        .param("until", cst_display(hold_until))
        .link("/appointments");
        crate::notification::service::notify(tx, &notice, now).await?;
        return Ok(true);
    }
    Ok(false)
}

/// The configured hold length in milliseconds.
pub fn hold_ms(state: &AppState) -> i64 {
    i64::try_from(state.config.scheduling.waitlist_hold.as_millis()).unwrap_or(i64::MAX)
}

/// Puts offers on a slot that was just closed back in the queue, releasing their holds.
pub async fn withdraw_offers_on_slot(tx: &mut Tx, slot_id: i64, now: i64) -> AppResult<()> {
    let ids = store::withdraw_offers_on(tx, slot_id, now).await?;
    for _ in ids {
        slots::release_hold(tx, slot_id).await?;
    }
    Ok(())
}

/// `scheduling.expire_hold`: ends an unanswered hold and offers the place to the next one.
pub struct ExpireHolds(pub AppState);

/// The payload of `scheduling.expire_hold`: the waitlist entry whose hold ends.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct HoldDue {
    pub waitlist_id: i64,
}

impl jobs::Payload for HoldDue {
    const KIND: &'static str = EXPIRE_KIND;
}

impl Job for ExpireHolds {
    type Payload = HoldDue;

    async fn run(&self, ctx: &JobContext, due: HoldDue) -> JobResult {
        let id = due.waitlist_id;
        {
            let now = ctx.now_ms();
            let mut tx = ctx.db.begin().await?;
            let expired = store::expire_hold(&mut tx, id, now).await?;
            if let Some(Some(slot)) = expired {
                slots::release_hold(&mut tx, slot).await?;
                offer_freed_place(&mut tx, slot, now, hold_ms(&self.0))
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            tx.commit().await?;
            if let Some(Some(slot)) = expired {
                self.0.full_slots.forget(slot);
            }
            Ok(())
        }
    }
}
