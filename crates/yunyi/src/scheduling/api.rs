//! Scheduling over the JSON API.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::model::{Appointment, CloseInput, ReleaseRulesInput, SessionInput, Slot, TemplateInput};
use super::plan::{self, Scope};
use super::service;
use super::waitlist;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, PathId};
use crate::identity::Actor;
use crate::time::cst_rfc3339;

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

#[derive(Deserialize)]
struct ScheduleInput {
    service_id: Option<i64>,
}

async fn create_schedule(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<ScheduleInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let service = input
        .service_id
        .ok_or_else(|| AppError::invalid("service_id", "is required"))?;
    let id = service::create_schedule(&state, &actor, service).await?;
    Ok((StatusCode::CREATED, Json(json!({"schedule_id": id}))))
}

async fn add_session(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<SessionInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let created = service::add_session(&state, &actor, id, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({"slots_created": created}))))
}

/// `GET /api/v1/doctors/{id}/slots?days=14&from=2026-12-01&service=3`: free slots (at most 500), each
/// saying whether it is bookable yet; `from` (a CST day, default now) pages through long plans.
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
                    .ok_or_else(|| AppError::invalid("days", "must be 1 to 28"))?;
            }
            "from" => {
                let day = chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                    .map_err(|_| AppError::invalid("from", "must be a date like 2026-12-01"))?;
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

/// A free slot in the list (typed rather than `json!`: two weeks are hundreds of items).
#[derive(serde::Serialize)]
struct SlotView<'a> {
    id: i64,
    start: String,
    end: String,
    free: i64,
    bookable: bool,
    release_at: String,
    hospital_id: i64,
    service_id: i64,
    mode: &'a str,
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
            mode: s.mode.as_str(),
            location: s.location.as_deref(),
        }
    }
}

#[derive(serde::Serialize)]
struct SlotList<'a> {
    items: Vec<SlotView<'a>>,
}

#[derive(Deserialize)]
struct BookInput {
    slot_id: Option<i64>,
    person_id: Option<i64>,
}

fn view(a: &Appointment) -> serde_json::Value {
    json!({
        "id": a.id, "slot_id": a.slot_id, "person_id": a.person_id, "doctor_id": a.doctor_id,
        "hospital_id": a.hospital_id, "service_id": a.service_id, "status": a.status, "start": cst_rfc3339(a.start_at),
        "end": cst_rfc3339(a.end_at), "mode": a.mode, "cancelled_by": a.cancelled_by,
        "checked_in_at": a.checked_in_at.map(cst_rfc3339),
    })
}

/// `POST /api/v1/appointments {"slot_id", "person_id"}` → 201, or 409 when the slot was taken
/// (with the next free times) or a fairness rule says no.
async fn book(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<BookInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let slot = input
        .slot_id
        .ok_or_else(|| AppError::invalid("slot_id", "is required"))?;
    let person = person_or_self(&actor, input.person_id)?;
    let appointment = service::book(&state, &actor, slot, person).await?;
    Ok((StatusCode::CREATED, Json(view(&appointment))))
}

async fn mine(State(state): State<AppState>, actor: Actor) -> AppResult<Json<serde_json::Value>> {
    let items: Vec<serde_json::Value> = service::my_appointments(&state, &actor)
        .await?
        .iter()
        .map(view)
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize, Default)]
struct CancelInput {
    reason: Option<String>,
}

async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    body: Result<AppJson<CancelInput>, AppError>,
) -> AppResult<StatusCode> {
    // The body is optional: a bare POST cancels without a reason. A body with bad text is
    // refused, not ignored.
    let reason = match body {
        Ok(AppJson(b)) => b.reason,
        Err(e @ AppError::Validation(_)) => return Err(e),
        Err(_) => None,
    };
    service::cancel(&state, &actor, id, reason.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct SlotChoice {
    slot_id: Option<i64>,
}

async fn reschedule(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<SlotChoice>,
) -> AppResult<Json<serde_json::Value>> {
    let slot = input
        .slot_id
        .ok_or_else(|| AppError::invalid("slot_id", "is required"))?;
    let a = service::reschedule(&state, &actor, id, slot).await?;
    Ok(Json(view(&a)))
}

async fn check_in(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<serde_json::Value>> {
    Ok(Json(view(&service::check_in(&state, &actor, id).await?)))
}

async fn no_show(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<serde_json::Value>> {
    Ok(Json(view(
        &service::mark_no_show(&state, &actor, id).await?,
    )))
}

fn template_view(t: &super::plan_store::TemplateRow) -> serde_json::Value {
    json!({
        "id": t.id, "weekday": t.weekday, "start": t.start_time, "end": t.end_time,
        "slot_minutes": t.slot_minutes, "capacity": t.capacity, "mode": t.mode, "location": t.location,
    })
}

async fn templates(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<serde_json::Value>> {
    let (schedule, items) = plan::templates(&state, &actor, id).await?;
    Ok(Json(json!({
        "schedule_id": schedule.id, "doctor_id": schedule.doctor_id, "hospital_id": schedule.hospital_id,
        "service_id": schedule.service_id, "horizon_days": schedule.horizon_days,
        "release_days": schedule.release_days, "release_time": schedule.release_time,
        "generated_until": schedule.generated_until,
        "items": items.iter().map(template_view).collect::<Vec<_>>(),
    })))
}

async fn add_template(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<TemplateInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let (template, created) = plan::add_template(&state, &actor, id, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"template_id": template, "slots_created": created})),
    ))
}

/// Replacing gives the template a new id; the old one stays for its booked slots.
async fn replace_template(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<TemplateInput>,
) -> AppResult<Json<serde_json::Value>> {
    let (template, created) = plan::replace_template(&state, &actor, id, &input).await?;
    Ok(Json(
        json!({"template_id": template, "replaces": id, "slots_created": created}),
    ))
}

async fn remove_template(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    plan::remove_template(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_rules(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ReleaseRulesInput>,
) -> AppResult<StatusCode> {
    plan::set_rules(&state, &actor, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

fn entry_view(e: &waitlist::Entry) -> serde_json::Value {
    json!({
        "id": e.id, "person_id": e.person_id, "doctor_id": e.doctor_id, "date": e.day, "status": e.status,
        "slot_id": e.slot_id, "hold_until": e.hold_until.map(cst_rfc3339),
    })
}

#[derive(Deserialize)]
struct JoinInput {
    doctor_id: Option<i64>,
    #[serde(default)]
    date: String,
    person_id: Option<i64>,
}

async fn join_waitlist(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<JoinInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let doctor = input
        .doctor_id
        .ok_or_else(|| AppError::invalid("doctor_id", "is required"))?;
    let person = person_or_self(&actor, input.person_id)?;
    let e = waitlist::join(&state, &actor, doctor, &input.date, person).await?;
    Ok((StatusCode::CREATED, Json(entry_view(&e))))
}

async fn my_waitlist(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<serde_json::Value>> {
    let items: Vec<serde_json::Value> = waitlist::mine(&state, &actor)
        .await?
        .iter()
        .map(entry_view)
        .collect();
    Ok(Json(json!({"items": items})))
}

async fn accept_offer(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let a = waitlist::accept(&state, &actor, id).await?;
    Ok((StatusCode::CREATED, Json(view(&a))))
}

async fn leave_waitlist(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    waitlist::leave(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn walk_in(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<super::statistics::WalkInInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let id = super::statistics::record_walk_in(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({"visit_id": id}))))
}

/// `GET /api/v1/statistics/appointments?from=2026-11-01&to=2026-11-30&hospital=1`.
async fn statistics(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(q): RawQuery,
) -> AppResult<Json<serde_json::Value>> {
    let today = crate::time::cst_today(state.now_ms());
    let (mut from, mut to, mut hospital) = (today - chrono::Duration::days(29), today, None);
    for (k, v) in url::form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes()) {
        let day = |field: &str| {
            chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                .map_err(|_| AppError::invalid(field, "must be a date like 2026-11-01"))
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
    Ok(Json(
        json!({"from": from.to_string(), "to": to.to_string(), "items": rows}),
    ))
}
