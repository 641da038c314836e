//! Telling patients about their appointments without slowing the booking itself: a job every
//! minute notifies the account that booked of each new appointment (预约成功) and, a day
//! before, of each visit coming up (就诊提醒).
//!
//! Why a sweep and not a notification in the booking's transaction: the release rush books
//! thousands of places a second through one round trip per booking (`book_slot`, the SQLite
//! group commit); three more rows per booking there would cost the rush what it is measured
//! by, for news that can wait a minute (the patient's page already says it is booked). Each
//! sweep moves a watermark (the last appointment id told; the time up to which visits were
//! reminded) in the transaction of the notifications it writes, so a crash tells again at
//! most — and the notifications' dedupe keys make telling again write nothing.

use super::store::{self, Noticed};
use crate::app::AppState;
use crate::identity::store as settings;
use crate::jobs::{Job, JobContext, JobResult};
use crate::notification::model::{Event, Notice};
use crate::notification::service::notify;
use crate::time::{cst_display, cst_today};

pub const KIND: &str = "scheduling.appointment_notices";

crate::empty_payload!(
    /// The payload of the minutely sweep.
    AppointmentNoticesDue = KIND
);

/// The sweep's handler.
pub struct AppointmentNotices(pub AppState);

impl Job for AppointmentNotices {
    type Payload = AppointmentNoticesDue;

    async fn run(&self, ctx: &JobContext, _: AppointmentNoticesDue) -> JobResult {
        sweep(&self.0, ctx.now_ms()).await.map(|_| ())
    }
}

/// The last appointment id whose booking was told.
const BOOKED_KEY: &str = "notification.appointments_booked_after";
/// The start time (epoch ms) up to which visits were reminded.
const REMINDED_KEY: &str = "notification.visits_reminded_until";
/// How long before a visit its reminder goes out.
const REMIND_AHEAD_MS: i64 = 24 * 3_600_000;
/// New bookings told per transaction.
const BATCH: i64 = 500;

/// One sweep: bookings since the last, then visits entering the next day. How many were told.
pub async fn sweep(state: &AppState, now: i64) -> anyhow::Result<usize> {
    Ok(tell_booked(state, now).await? + remind(state, now).await?)
}

async fn tell_booked(state: &AppState, now: i64) -> anyhow::Result<usize> {
    let db = &state.db;
    // The first sweep starts from now: bookings made before notifications existed are not
    // announced a second time.
    let last = store::last_appointment_id(db).await?.to_string();
    let mut after = settings::setting_or_insert(db, BOOKED_KEY, &last, now).await?;
    let mut told = 0;
    loop {
        let from: i64 = after.parse()?;
        let rows = store::booked_after(db, from, BATCH).await?;
        let Some(newest) = rows.last().map(|r| r.id.to_string()) else {
            break;
        };
        let mut tx = db.begin().await?;
        if !settings::move_setting(&mut tx, BOOKED_KEY, (&after, &newest), now).await? {
            break; // another node is telling these
        }
        for r in &rows {
            notify(&mut tx, &notice(r, Event::AppointmentBooked), now).await?;
        }
        tx.commit().await?;
        told += rows.len();
        if rows.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) {
            break;
        }
        after = newest;
    }
    Ok(told)
}

async fn remind(state: &AppState, now: i64) -> anyhow::Result<usize> {
    let db = &state.db;
    let horizon = now + REMIND_AHEAD_MS;
    let until = settings::setting_or_insert(db, REMINDED_KEY, &horizon.to_string(), now).await?;
    // After a stop, visits already started are not reminded.
    let from = until.parse::<i64>()?.max(now);
    if from >= horizon {
        return Ok(0);
    }
    let days = (cst_today(from).to_string(), cst_today(horizon).to_string());
    let rows = store::booked_starting(db, (&days.0, &days.1), (from, horizon)).await?;
    let mut tx = db.begin().await?;
    let moved = (until.as_str(), horizon.to_string());
    if !settings::move_setting(&mut tx, REMINDED_KEY, (moved.0, &moved.1), now).await? {
        return Ok(0);
    }
    for r in &rows {
        notify(&mut tx, &notice(r, Event::AppointmentReminder), now).await?;
    }
    tx.commit().await?;
    Ok(rows.len())
}

fn notice(r: &Noticed, event: Event) -> Notice {
    // One reminder per appointment and start time: a rescheduled visit is reminded again.
    let cause = match event {
        Event::AppointmentReminder => format!("appointment:{}:{}", r.id, r.start_at),
        _ => format!("appointment:{}", r.id),
    };
    Notice::new(r.booked_by, event, cause)
        .param("doctor", r.doctor_name.clone())
        .param("time", cst_display(r.start_at))
        .link("/appointments")
}
