//! Scheduling over the JSON API.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::model::{Appointment, SessionInput, Slot};
use super::service;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::AppJson;
use crate::identity::Actor;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/schedules", post(create_schedule))
        .route("/api/v1/schedules/{id}/sessions", post(add_session))
        .route("/api/v1/doctors/{id}/slots", get(slots))
        .route("/api/v1/appointments", get(mine).post(book))
        .route("/api/v1/appointments/{id}/cancel", post(cancel))
}

fn id_of(raw: &str, what: &str) -> AppResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::NotFound(format!("no {what} with id '{raw}'")))
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
    Path(id): Path<String>,
    AppJson(input): AppJson<SessionInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let id = id_of(&id, "schedule")?;
    let created = service::add_session(&state, &actor, id, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({"slots_created": created}))))
}

/// `GET /api/v1/doctors/{id}/slots?days=14`: free slots, each saying whether it is bookable yet.
async fn slots(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> AppResult<Json<serde_json::Value>> {
    let id = id_of(&id, "doctor")?;
    let days = match url::form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "days")
    {
        None => 14,
        Some((_, v)) => v
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=28).contains(d))
            .ok_or_else(|| AppError::invalid("days", "must be 1 to 28"))?,
    };
    let now = crate::clock::now_ms();
    let items: Vec<serde_json::Value> = service::open_slots(&state, id, days)
        .await?
        .iter()
        .map(|s: &Slot| {
            json!({
                "id": s.id, "start": super::model::cst_rfc3339(s.start_at), "end": super::model::cst_rfc3339(s.end_at),
                "free": s.capacity - s.booked, "bookable": s.release_at <= now,
                "release_at": super::model::cst_rfc3339(s.release_at), "hospital_id": s.hospital_id, "service_id": s.service_id,
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize)]
struct BookInput {
    slot_id: Option<i64>,
    person_id: Option<i64>,
}

fn view(a: &Appointment) -> serde_json::Value {
    json!({
        "id": a.id, "slot_id": a.slot_id, "person_id": a.person_id, "doctor_id": a.doctor_id,
        "hospital_id": a.hospital_id, "status": a.status, "start": super::model::cst_rfc3339(a.start_at),
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
    let person = match input.person_id {
        Some(p) => p,
        None => actor
            .require()?
            .person_id
            .ok_or_else(|| AppError::invalid("person_id", "is required"))?,
    };
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
    Path(id): Path<String>,
    body: Result<AppJson<CancelInput>, AppError>,
) -> AppResult<StatusCode> {
    let id = id_of(&id, "appointment")?;
    // The body is optional: a bare POST cancels without a reason.
    let reason = body.ok().and_then(|AppJson(b)| b.reason);
    service::cancel(&state, &actor, id, reason.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
