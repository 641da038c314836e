//! A course's live sessions (直播课): scheduled by the offering hospital's administrators with a
//! lecturer of their staff, held in the shared video room ([`crate::room`]) by the lecturer and
//! the course's enrolled learners, and ended by either the lecturer or an administrator.
//!
//! | step | who |
//! |---|---|
//! | schedule, end | the course's hospital's administrators (end: also the lecturer) |
//! | see the sessions | whoever sees the course; who came, to its administrators and the lecturer |
//! | enter the room | the lecturer, and enrolled learners, from [`OPENS_BEFORE_MS`] before the start until its end |
//!
//! The room is a mesh of at most [`ROOM_SIZE`] (see docs/DECISIONS.md): the lecturer's place
//! is kept, so at most five learners are in at once; a lecture for more needs an SFU.

use axum::extract::ws::WebSocket;
use serde::{Deserialize, Serialize};

use super::store::{self, CourseRow, LiveRow, NewLive};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::capability::{self, Capability};
use crate::error::{AppError, AppResult, FieldError, Reason};
use crate::identity::Actor;
use crate::notification::model::{Event, Notice};
use crate::room::{Member, ROOM_SIZE};
use crate::time::cst_rfc3339;

/// The room opens this long before the start, so people can test their camera.
pub const OPENS_BEFORE_MS: i64 = 15 * 60_000;
/// How far ahead a live session may be scheduled.
const MAX_AHEAD_MS: i64 = 90 * 24 * 3_600_000;

/// The PostgreSQL notification channel of the live sessions' rooms.
pub const CHANNEL: &str = "yunyi_lecture";

/// A live session to schedule.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct LiveInput {
    /// 2–100 characters.
    #[serde(default)]
    pub title: String,
    /// A doctor, nurse, pharmacist or infection officer of the course's hospital.
    #[serde(default)]
    pub lecturer_id: Option<i64>,
    /// China time, `2026-12-10 15:00`: in the future, within 90 days.
    #[serde(default)]
    pub starts_at: String,
    /// 15–240.
    #[serde(default)]
    pub minutes: Option<i64>,
}

/// A live session as a reader of the course sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LiveSession {
    pub id: i64,
    pub course_id: i64,
    pub title: String,
    pub lecturer: crate::teleconsult::service::IdName,
    pub starts_at: String,
    pub minutes: i64,
    pub ended_at: Option<String>,
    /// The room is open now (from 15 minutes before the start until its end).
    pub open: bool,
    /// The reader may enter the room now.
    pub may_enter: bool,
    /// Who came and when: to the course's administrators and the lecturer only.
    pub attendance: Option<Vec<LiveAttendance>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LiveAttendance {
    pub name: String,
    /// `lecturer` or `trainee`.
    pub part: String,
    pub joined_at: String,
    pub left_at: Option<String>,
}

fn open_at(l: &LiveRow, now: i64) -> bool {
    l.ended_at.is_none()
        && now >= l.starts_at - OPENS_BEFORE_MS
        && now < l.starts_at + l.minutes * 60_000
}

/// The course if the reader may see it (404 otherwise), and whether they write it.
async fn course_for(state: &AppState, actor: &Actor, id: i64) -> AppResult<(CourseRow, bool)> {
    let me = actor.require()?;
    super::service::visible(state, me, id).await
}

async fn live_of(state: &AppState, course: i64, id: i64) -> AppResult<LiveRow> {
    store::live(&state.db, course, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no live session {id} in course {course}")))
}

/// Schedules a live session of a published course; its enrolled learners are told.
pub async fn schedule(
    state: &AppState,
    actor: &Actor,
    course: i64,
    input: &LiveInput,
) -> AppResult<i64> {
    let (c, _) = course_for(state, actor, course).await?;
    let me = capability::require(
        state,
        actor,
        Capability::Administer(c.hospital_id),
        "training.live.schedule",
    )
    .await?;
    if c.published_at.is_none() {
        return Err(AppError::wrong_state(
            "publish the course first: live sessions are for its learners",
        ));
    }
    let now = state.now_ms();
    let mut errors = Vec::new();
    let title = input.title.trim();
    if !(2..=100).contains(&title.chars().count()) {
        errors.push(FieldError::length("title", 2, 100));
    }
    let lecturers = store::lecturers(&state.db, c.hospital_id).await?;
    let lecturer = input
        .lecturer_id
        .and_then(|l| lecturers.iter().find(|(id, _)| *id == l));
    if lecturer.is_none() {
        errors.push(
            FieldError::new(
                "lecturer_id",
                "must be a clinical staff member of the course's hospital",
            )
            .localized("training.err.lecturer", vec![]),
        );
    }
    let starts_at = crate::time::parse_cst_display(&input.starts_at);
    match starts_at {
        None => errors.push(
            FieldError::new("starts_at", "must be a China time like 2026-12-10 15:00").localized(
                "field.china_time",
                vec![("example", "2026-12-10 15:00".to_owned())],
            ),
        ),
        Some(at) if at <= now || at > now + MAX_AHEAD_MS => errors.push(
            FieldError::new("starts_at", "must be in the future, within 90 days")
                .localized("field.future_within", vec![("days", "90".to_owned())]),
        ),
        Some(_) => {}
    }
    let minutes = input.minutes.unwrap_or(60);
    if !(15..=240).contains(&minutes) {
        errors.push(FieldError::range("minutes", 15, 240));
    }
    let (Some((lecturer, _)), Some(starts_at), true) = (lecturer, starts_at, errors.is_empty())
    else {
        return Err(AppError::Validation(errors));
    };
    let mut tx = state.db.begin().await?;
    let new = NewLive {
        course,
        title,
        lecturer: *lecturer,
        starts_at,
        minutes,
        by: me.account_id,
    };
    let id = store::insert_live(&mut tx, &new, now).await?;
    let e = NewEvent::new(actor.audit(), "training.live.schedule", "course")
        .object(course)
        .reason(format!("live session {id}"));
    audit::append(&mut tx, &e).await?;
    let mut told = store::learners(&mut tx, course).await?;
    told.push(*lecturer);
    told.sort_unstable();
    told.dedup();
    let time = crate::time::cst_display(starts_at);
    for account in told {
        let notice = Notice::new(account, Event::TrainingLive, format!("course-live:{id}"))
            .param("title", title.to_owned())
            .param("time", time.clone())
            .link(format!("/courses/{course}/live/{id}"));
        crate::notification::service::notify(&mut tx, &notice, now).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Whom the hospital's administrators may name as a lecturer: (account, name).
pub async fn lecturers(state: &AppState, hospital: i64) -> AppResult<Vec<(i64, String)>> {
    Ok(store::lecturers(&state.db, hospital).await?)
}

/// The course's live sessions, soonest first.
pub async fn list(state: &AppState, actor: &Actor, course: i64) -> AppResult<Vec<LiveSession>> {
    let (c, author) = course_for(state, actor, course).await?;
    let me = actor.require()?;
    let enrolled = store::enrolment(&state.db, course, me.account_id)
        .await?
        .is_some();
    let now = state.now_ms();
    let mut out = Vec::new();
    for l in store::lives(&state.db, c.id).await? {
        out.push(session(state, &l, (author, enrolled, me.account_id), now).await?);
    }
    Ok(out)
}

/// One live session.
pub async fn view(state: &AppState, actor: &Actor, course: i64, id: i64) -> AppResult<LiveSession> {
    let (_, author) = course_for(state, actor, course).await?;
    let me = actor.require()?;
    let l = live_of(state, course, id).await?;
    let enrolled = store::enrolment(&state.db, course, me.account_id)
        .await?
        .is_some();
    session(state, &l, (author, enrolled, me.account_id), state.now_ms()).await
}

async fn session(
    state: &AppState,
    l: &LiveRow,
    (author, enrolled, me): (bool, bool, i64),
    now: i64,
) -> AppResult<LiveSession> {
    let lecturer = l.lecturer_id == me;
    let open = open_at(l, now);
    let attendance = if author || lecturer {
        let rows = store::attendance(&state.db, l.id).await?;
        Some(
            rows.into_iter()
                .map(|a| LiveAttendance {
                    name: a.name,
                    part: if a.lecturer { "lecturer" } else { "trainee" }.to_owned(),
                    joined_at: cst_rfc3339(a.joined_at),
                    left_at: a.left_at.map(cst_rfc3339),
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(LiveSession {
        id: l.id,
        course_id: l.course_id,
        title: l.title.clone(),
        lecturer: crate::teleconsult::service::IdName {
            id: l.lecturer_id,
            name: l.lecturer.clone(),
        },
        starts_at: cst_rfc3339(l.starts_at),
        minutes: l.minutes,
        ended_at: l.ended_at.map(cst_rfc3339),
        open,
        may_enter: open && (lecturer || enrolled),
        attendance,
    })
}

/// Who entered the room, for the room and for recording their leaving.
#[derive(Debug, Clone)]
pub struct Entered {
    attendance: i64,
    course: i64,
    live: i64,
    pub member: Member,
}

/// Enters the room: the lecturer, or an enrolled learner while there is a place (the
/// lecturer's is kept). Recorded with the time and audited; entering again elsewhere closes
/// the first entering.
pub async fn enter(state: &AppState, actor: &Actor, course: i64, id: i64) -> AppResult<Entered> {
    course_for(state, actor, course).await?;
    let me = actor.require()?;
    let l = live_of(state, course, id).await?;
    let lecturer = l.lecturer_id == me.account_id;
    if !lecturer
        && store::enrolment(&state.db, course, me.account_id)
            .await?
            .is_none()
    {
        return Err(AppError::refused(
            Reason::MembershipRequired,
            "enrol in the course first",
        ));
    }
    let now = state.now_ms();
    if !open_at(&l, now) {
        return Err(AppError::wrong_state(
            "the live session's room opens 15 minutes before it starts and closes when it ends",
        ));
    }
    let mut tx = state.db.begin().await?;
    if !lecturer && store::trainees_present(&mut tx, id, me.account_id).await? >= ROOM_SIZE - 1 {
        return Err(AppError::refused(
            Reason::RoomFull,
            format!(
                "the live session already has {} learners in it; enter when one leaves",
                ROOM_SIZE - 1
            ),
        ));
    }
    store::leave_live(&mut tx, id, me.account_id, now).await?;
    let attendance = store::enter_live(&mut tx, id, (me.account_id, lecturer), now).await?;
    let e = NewEvent::new(actor.audit(), "training.live.enter", "course")
        .object(course)
        .reason(format!("live session {id}"));
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(Entered {
        attendance,
        course,
        live: id,
        member: Member {
            account: me.account_id,
            name: me.display_name.clone(),
            part: if lecturer { "lecturer" } else { "trainee" }.to_owned(),
        },
    })
}

/// A room connection ended: its entering closes if still open (audited as leaving).
async fn left(state: &AppState, actor: &Actor, entered: &Entered) -> AppResult<()> {
    if store::left_live(&state.db, entered.attendance, state.now_ms()).await? {
        let e = NewEvent::new(actor.audit(), "training.live.leave", "course")
            .object(entered.course)
            .reason(format!("live session {}", entered.live));
        audit::record(&state.db, &e).await?;
    }
    Ok(())
}

/// Runs one room connection of someone who entered, until it closes or the session ends.
pub async fn run(state: AppState, actor: Actor, entered: Entered, socket: WebSocket) {
    let hub = (state.lectures.clone(), entered.live);
    let member = entered.member.clone();
    let (s, a) = (state.clone(), actor.clone());
    let leaving = move || async move {
        if let Err(e) = left(&s, &a, &entered).await {
            tracing::warn!(error = %e, live = entered.live, "could not record leaving the live session");
        }
    };
    crate::room::run(state, actor, hub, member, socket, leaving).await;
}

/// Ends the session: the lecturer or the course's administrators. The room closes for
/// everyone in it.
pub async fn end(state: &AppState, actor: &Actor, course: i64, id: i64) -> AppResult<()> {
    let (c, author) = course_for(state, actor, course).await?;
    let me = actor.require()?;
    let l = live_of(state, course, id).await?;
    if !author && l.lecturer_id != me.account_id {
        capability::require(
            state,
            actor,
            Capability::Administer(c.hospital_id),
            "training.live.end",
        )
        .await?;
    }
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::end_live(&mut tx, id, now).await? {
        return Err(AppError::wrong_state("the live session has ended already"));
    }
    store::leave_all_live(&mut tx, id, now).await?;
    let e = NewEvent::new(actor.audit(), "training.live.end", "course")
        .object(course)
        .reason(format!("live session {id}"));
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    crate::room::publish(&state.db, &state.lectures, id, crate::room::News::Ended).await;
    Ok(())
}
