//! Scheduling over the JSON API.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::model::{Appointment, CloseInput, ReleaseRulesInput, SessionInput, Slot, TemplateInput};
use super::plan::{self, Scope};
use super::service;
use super::waitlist;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, OptionalJson, PathId};
use crate::identity::Actor;
use crate::paging::Items;
use crate::time::cst_rfc3339;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_schedule,
    add_session,
    slots,
    book,
    mine,
    cancel,
    reschedule,
    check_in,
    no_show,
    templates,
    add_template,
    replace_template,
    remove_template,
    set_rules,
    close_schedule,
    close_hospital,
    join_waitlist,
    my_waitlist,
    accept_offer,
    leave_waitlist,
    walk_in,
    statistics
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/schedules", post(create_schedule))
        .route("/api/v1/schedules/{id}/sessions", post(add_session))
        .route("/api/v1/doctors/{id}/slots", get(slots))
        .route("/api/v1/appointments", get(mine).post(book))
        .route("/api/v1/appointments/{id}/cancel", post(cancel))
        .route("/api/v1/appointments/{id}/reschedule", post(reschedule))
        .route("/api/v1/appointments/{id}/check-in", post(check_in))
        .route("/api/v1/appointments/{id}/no-show", post(no_show))
        .route(
            "/api/v1/schedules/{id}/templates",
            get(templates).post(add_template),
        )
        .route(
            "/api/v1/schedule-templates/{id}",
            put(replace_template).delete(remove_template),
        )
        .route("/api/v1/schedules/{id}/release-rules", put(set_rules))
        .route("/api/v1/schedules/{id}/closures", post(close_schedule))
        .route("/api/v1/hospitals/{id}/holidays", post(close_hospital))
        .route("/api/v1/waitlist", get(my_waitlist).post(join_waitlist))
        .route("/api/v1/waitlist/{id}", delete(leave_waitlist))
        .route("/api/v1/waitlist/{id}/accept", post(accept_offer))
        .route("/api/v1/visits", post(walk_in))
        .route("/api/v1/statistics/appointments", get(statistics))
}

/// The person named in a request, or the signed-in patient themselves.
fn person_or_self(actor: &Actor, person: Option<i64>) -> AppResult<i64> {
    actor.require()?.person_or_self(person)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ScheduleInput {
    service_id: Option<i64>,
}

/// Create a doctor's schedule for a service (the hospital's administrators).
#[utoipa::path(post, path = "/api/v1/schedules", request_body = ScheduleInput,
    responses((status = 201, description = "Created", body = ScheduleCreated)))]
async fn create_schedule(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<ScheduleInput>,
) -> AppResult<(StatusCode, Json<ScheduleCreated>)> {
    let service = input
        .service_id
        .ok_or_else(|| AppError::required("service_id"))?;
    let id = service::create_schedule(&state, &actor, service).await?;
    Ok((
        StatusCode::CREATED,
        Json(ScheduleCreated { schedule_id: id }),
    ))
}

/// Add one session of slots to a schedule.
#[utoipa::path(post, path = "/api/v1/schedules/{id}/sessions", params(crate::openapi::IdParam),
    request_body = SessionInput,
    responses((status = 201, description = "The slots were created", body = SessionCreated)))]
async fn add_session(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<SessionInput>,
) -> AppResult<(StatusCode, Json<SessionCreated>)> {
    let created = service::add_session(&state, &actor, id, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(SessionCreated {
            slots_created: created,
        }),
    ))
}

/// A doctor's free slots (at most 500), each saying whether it is bookable yet.
#[utoipa::path(get, path = "/api/v1/doctors/{id}/slots", security(()),
    params(crate::openapi::IdParam, SlotQuery),
    responses((status = 200, description = "Free slots", body = SlotList)))]
async fn slots(
    State(state): State<AppState>,
    PathId(id): PathId,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    let mut days = 14;
    let mut from = None;
    let mut service = None;
    for (k, v) in url::form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "days" => {
                days = v
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (1..=28).contains(d))
                    .ok_or_else(|| {
                        AppError::field(crate::error::FieldError::range("days", 1, 28))
                    })?;
            }
            "from" => {
                let day = chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d").map_err(|_| {
                    AppError::field(crate::error::FieldError::date("from", "2026-12-01"))
                })?;
                from = crate::time::cst_ms(day, chrono::NaiveTime::MIN);
            }
            "service" => {
                service = Some(
                    v.parse::<i64>()
                        .map_err(|_| AppError::invalid("service", "must be a service id"))?,
                );
            }
            _ => {}
        }
    }
    let now = state.now_ms();
    let slots = service::open_slots_from(&state, (id, service), from, days).await?;
    let items = slots.iter().map(|s| SlotView::of(s, now)).collect();
    Ok(Json(SlotList { items }).into_response())
}

/// A free slot; times are RFC 3339 in China time.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = Slot)]
struct SlotView<'a> {
    id: i64,
    start: String,
    end: String,
    /// Places left.
    free: i64,
    /// Released for booking now.
    bookable: bool,
    /// When it is released for booking.
    release_at: String,
    hospital_id: i64,
    service_id: i64,
    mode: super::model::Mode,
    location: Option<&'a str>,
}

impl<'a> SlotView<'a> {
    fn of(s: &'a Slot, now: i64) -> Self {
        Self {
            id: s.id,
            start: cst_rfc3339(s.start_at),
            end: cst_rfc3339(s.end_at),
            free: s.free(),
            bookable: s.bookable(now),
            release_at: cst_rfc3339(s.release_at),
            hospital_id: s.hospital_id,
            service_id: s.service_id,
            mode: s.mode,
            location: s.location.as_deref(),
        }
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = SlotList)]
struct SlotList<'a> {
    items: Vec<SlotView<'a>>,
}

#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the document only
struct SlotQuery {
    /// How many days, 1–28 (default 14).
    #[param(minimum = 1, maximum = 28)]
    days: Option<i64>,
    /// The first day, `YYYY-MM-DD` in China time (default now).
    from: Option<String>,
    /// Only this service's slots.
    service: Option<i64>,
}

#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the document only
struct StatisticsQuery {
    /// The first day, `YYYY-MM-DD` (default 29 days ago).
    from: Option<String>,
    /// The last day, `YYYY-MM-DD` (default today).
    to: Option<String>,
    /// Only this hospital.
    hospital: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct BookInput {
    slot_id: Option<i64>,
    person_id: Option<i64>,
}

/// An appointment as the API shows it: times as RFC 3339 in China time.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Appointment)]
pub struct AppointmentView {
    id: i64,
    slot_id: i64,
    /// Whom the appointment is for (the patient or a family member).
    person_id: i64,
    doctor_id: i64,
    hospital_id: i64,
    service_id: i64,
    status: super::model::AppointmentStatus,
    start: String,
    end: String,
    mode: super::model::Mode,
    /// `patient` or `hospital` once cancelled.
    cancelled_by: Option<String>,
    checked_in_at: Option<String>,
}

fn view(a: &Appointment) -> AppointmentView {
    AppointmentView {
        id: a.id,
        slot_id: a.slot_id,
        person_id: a.person_id,
        doctor_id: a.doctor_id,
        hospital_id: a.hospital_id,
        service_id: a.service_id,
        status: a.status,
        start: cst_rfc3339(a.start_at),
        end: cst_rfc3339(a.end_at),
        mode: a.mode,
        cancelled_by: a.cancelled_by.clone(),
        checked_in_at: a.checked_in_at.map(cst_rfc3339),
    }
}

/// Book a slot for oneself or a family member.
///
/// `POST /api/v1/appointments {"slot_id", "person_id"}` → 201, or 409 when the slot was taken
/// (with the next free times) or a fairness rule says no.
#[utoipa::path(post, path = "/api/v1/appointments", request_body = BookInput,
    responses((status = 201, description = "Booked", body = AppointmentView)))]
async fn book(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<BookInput>,
) -> AppResult<(StatusCode, Json<AppointmentView>)> {
    let slot = input.slot_id.ok_or_else(|| AppError::required("slot_id"))?;
    let person = person_or_self(&actor, input.person_id)?;
    let appointment = service::book(&state, &actor, slot, person).await?;
    Ok((StatusCode::CREATED, Json(view(&appointment))))
}

/// The signed-in patient's appointments and their family's.
#[utoipa::path(get, path = "/api/v1/appointments",
    responses((status = 200, description = "Appointments", body = Items<AppointmentView>)))]
async fn mine(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<AppointmentView>>> {
    let items = service::my_appointments(&state, &actor)
        .await?
        .iter()
        .map(view)
        .collect();
    Ok(Json(Items { items }))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct CancelInput {
    reason: Option<String>,
}

/// Cancel an appointment; the body (with a reason) is optional.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/cancel", params(crate::openapi::IdParam),
    request_body(content = Option<CancelInput>),
    responses((status = 204, description = "Cancelled")))]
async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    OptionalJson(body): OptionalJson<CancelInput>,
) -> AppResult<StatusCode> {
    // The body is optional: a bare POST cancels without a reason. A body that is not JSON of
    // this shape is refused, not ignored (found by fuzzing).
    let reason = body.and_then(|b| b.reason);
    service::cancel(&state, &actor, id, reason.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SlotChoice {
    slot_id: Option<i64>,
}

/// Move an appointment to another slot of the same doctor.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/reschedule", params(crate::openapi::IdParam),
    request_body = SlotChoice,
    responses((status = 200, description = "The moved appointment", body = AppointmentView)))]
async fn reschedule(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<SlotChoice>,
) -> AppResult<Json<AppointmentView>> {
    let slot = input.slot_id.ok_or_else(|| AppError::required("slot_id"))?;
    let a = service::reschedule(&state, &actor, id, slot).await?;
    Ok(Json(view(&a)))
}

/// Check a patient in at the hospital.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/check-in", params(crate::openapi::IdParam),
    responses((status = 200, description = "Checked in", body = AppointmentView)))]
async fn check_in(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<AppointmentView>> {
    Ok(Json(view(&service::check_in(&state, &actor, id).await?)))
}

/// Mark a patient as not having come.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/no-show", params(crate::openapi::IdParam),
    responses((status = 200, description = "Marked", body = AppointmentView)))]
async fn no_show(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<AppointmentView>> {
    Ok(Json(view(
        &service::mark_no_show(&state, &actor, id).await?,
    )))
}

/// A weekly template of a schedule.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    id: i64,
    /// 1 = Monday … 7 = Sunday.
    weekday: i64,
    /// `HH:MM`, China time.
    start: String,
    end: String,
    slot_minutes: i64,
    capacity: i64,
    mode: super::model::Mode,
    location: Option<String>,
}

fn template_view(t: &super::plan_store::TemplateRow) -> TemplateView {
    TemplateView {
        id: t.id,
        weekday: t.weekday,
        start: t.start_time.clone(),
        end: t.end_time.clone(),
        slot_minutes: t.slot_minutes,
        capacity: t.capacity,
        mode: t.mode,
        location: t.location.clone(),
    }
}

/// A schedule's plan: its release rules and weekly templates.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateList {
    schedule_id: i64,
    doctor_id: i64,
    hospital_id: i64,
    service_id: i64,
    horizon_days: i64,
    release_days: i64,
    release_time: String,
    /// The last day slots exist for (`YYYY-MM-DD`), if any.
    generated_until: Option<String>,
    items: Vec<TemplateView>,
}

/// A schedule's release rules and weekly templates.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/templates", params(crate::openapi::IdParam),
    responses((status = 200, description = "The plan", body = TemplateList)))]
async fn templates(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<TemplateList>> {
    let (schedule, items) = plan::templates(&state, &actor, id).await?;
    Ok(Json(TemplateList {
        schedule_id: schedule.id,
        doctor_id: schedule.doctor_id,
        hospital_id: schedule.hospital_id,
        service_id: schedule.service_id,
        horizon_days: schedule.horizon_days,
        release_days: schedule.release_days,
        release_time: schedule.release_time,
        generated_until: schedule.generated_until,
        items: items.iter().map(template_view).collect(),
    }))
}

/// Add a weekly template; slots are generated up to the schedule's horizon.
#[utoipa::path(post, path = "/api/v1/schedules/{id}/templates", params(crate::openapi::IdParam),
    request_body = TemplateInput,
    responses((status = 201, description = "Created", body = TemplateCreated)))]
async fn add_template(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<TemplateInput>,
) -> AppResult<(StatusCode, Json<TemplateCreated>)> {
    let (template, created) = plan::add_template(&state, &actor, id, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(TemplateCreated {
            template_id: template,
            replaces: None,
            slots_created: created,
        }),
    ))
}

/// Replacing gives the template a new id; the old one stays for its booked slots.
#[utoipa::path(put, path = "/api/v1/schedule-templates/{id}", params(crate::openapi::IdParam),
    request_body = TemplateInput,
    responses((status = 200, description = "The new template", body = TemplateCreated)))]
async fn replace_template(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<TemplateInput>,
) -> AppResult<Json<TemplateCreated>> {
    let (template, created) = plan::replace_template(&state, &actor, id, &input).await?;
    Ok(Json(TemplateCreated {
        template_id: template,
        replaces: Some(id),
        slots_created: created,
    }))
}

/// End a weekly template; its booked slots stay.
#[utoipa::path(delete, path = "/api/v1/schedule-templates/{id}", params(crate::openapi::IdParam),
    responses((status = 204, description = "Removed")))]
async fn remove_template(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    plan::remove_template(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set when a schedule's slots are released for booking.
#[utoipa::path(put, path = "/api/v1/schedules/{id}/release-rules", params(crate::openapi::IdParam),
    request_body = ReleaseRulesInput,
    responses((status = 204, description = "Saved")))]
async fn set_rules(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ReleaseRulesInput>,
) -> AppResult<StatusCode> {
    plan::set_rules(&state, &actor, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Close a schedule for some days (booked patients are told and refunded).
#[utoipa::path(post, path = "/api/v1/schedules/{id}/closures", params(crate::openapi::IdParam),
    request_body = CloseInput,
    responses((status = 200, description = "What was closed", body = plan::Closed)))]
async fn close_schedule(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<CloseInput>,
) -> AppResult<Json<plan::Closed>> {
    Ok(Json(
        plan::close(&state, &actor, Scope::Schedule(id), &input).await?,
    ))
}

/// Close a whole hospital for a holiday.
#[utoipa::path(post, path = "/api/v1/hospitals/{id}/holidays", params(crate::openapi::IdParam),
    request_body = CloseInput,
    responses((status = 200, description = "What was closed", body = plan::Closed)))]
async fn close_hospital(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<CloseInput>,
) -> AppResult<Json<plan::Closed>> {
    Ok(Json(
        plan::close(&state, &actor, Scope::Hospital(id), &input).await?,
    ))
}

/// A place on a doctor's waitlist for a day.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = WaitlistEntry)]
pub struct EntryView {
    id: i64,
    person_id: i64,
    doctor_id: i64,
    /// `YYYY-MM-DD`.
    date: String,
    status: super::waitlist_store::WaitStatus,
    /// The slot held for the patient while an offer stands.
    slot_id: Option<i64>,
    hold_until: Option<String>,
}

fn entry_view(e: &waitlist::Entry) -> EntryView {
    EntryView {
        id: e.id,
        person_id: e.person_id,
        doctor_id: e.doctor_id,
        date: e.day.clone(),
        status: e.status,
        slot_id: e.slot_id,
        hold_until: e.hold_until.map(cst_rfc3339),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct JoinInput {
    doctor_id: Option<i64>,
    #[serde(default)]
    date: String,
    person_id: Option<i64>,
}

/// Join a doctor's waitlist for a day.
#[utoipa::path(post, path = "/api/v1/waitlist", request_body = JoinInput,
    responses((status = 201, description = "On the waitlist", body = EntryView)))]
async fn join_waitlist(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<JoinInput>,
) -> AppResult<(StatusCode, Json<EntryView>)> {
    let doctor = input
        .doctor_id
        .ok_or_else(|| AppError::required("doctor_id"))?;
    let person = person_or_self(&actor, input.person_id)?;
    let e = waitlist::join(&state, &actor, doctor, &input.date, person).await?;
    Ok((StatusCode::CREATED, Json(entry_view(&e))))
}

/// The signed-in patient's waitlist places.
#[utoipa::path(get, path = "/api/v1/waitlist",
    responses((status = 200, description = "Places", body = Items<EntryView>)))]
async fn my_waitlist(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<EntryView>>> {
    let items = waitlist::mine(&state, &actor)
        .await?
        .iter()
        .map(entry_view)
        .collect();
    Ok(Json(Items { items }))
}

/// Take the slot a waitlist offer holds.
#[utoipa::path(post, path = "/api/v1/waitlist/{id}/accept", params(crate::openapi::IdParam),
    responses((status = 201, description = "Booked", body = AppointmentView)))]
async fn accept_offer(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<(StatusCode, Json<AppointmentView>)> {
    let a = waitlist::accept(&state, &actor, id).await?;
    Ok((StatusCode::CREATED, Json(view(&a))))
}

/// Leave a waitlist.
#[utoipa::path(delete, path = "/api/v1/waitlist/{id}", params(crate::openapi::IdParam),
    responses((status = 204, description = "Left")))]
async fn leave_waitlist(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    waitlist::leave(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Record a walk-in visit (for the statistics).
#[utoipa::path(post, path = "/api/v1/visits", request_body = super::statistics::WalkInInput,
    responses((status = 201, description = "Recorded", body = VisitCreated)))]
async fn walk_in(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<super::statistics::WalkInInput>,
) -> AppResult<(StatusCode, Json<VisitCreated>)> {
    let id = super::statistics::record_walk_in(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(VisitCreated { visit_id: id })))
}

/// Appointment statistics.
///
/// `GET /api/v1/statistics/appointments?from=2026-11-01&to=2026-11-30&hospital=1`.
#[utoipa::path(get, path = "/api/v1/statistics/appointments", params(StatisticsQuery),
    responses((status = 200, description = "Counts per day", body = Statistics)))]
async fn statistics(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Statistics>> {
    let today = crate::time::cst_today(state.now_ms());
    let (mut from, mut to, mut hospital) = (today - chrono::Duration::days(29), today, None);
    for (k, v) in url::form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes()) {
        let day = |field: &str| {
            chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                .map_err(|_| AppError::field(crate::error::FieldError::date(field, "2026-11-01")))
        };
        match k.as_ref() {
            "from" => from = day("from")?,
            "to" => to = day("to")?,
            "hospital" => {
                hospital = Some(
                    v.parse::<i64>()
                        .map_err(|_| AppError::invalid("hospital", "must be a hospital id"))?,
                );
            }
            _ => {}
        }
    }
    let rows =
        super::statistics::appointment_statistics(&state, &actor, (from, to), hospital).await?;
    Ok(Json(Statistics {
        from: from.to_string(),
        to: to.to_string(),
        items: rows,
    }))
}

crate::created!(ScheduleCreated, schedule_id);

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionCreated {
    slots_created: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateCreated {
    template_id: i64,
    /// The template this one replaced (`PUT`), which stays for its booked slots.
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<i64>,
    slots_created: usize,
}

crate::created!(VisitCreated, visit_id);

/// Appointments and walk-in visits per day and hospital.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Statistics {
    from: String,
    to: String,
    items: Vec<super::statistics::Row>,
}
