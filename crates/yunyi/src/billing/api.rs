//! Billing over the JSON API: ordering an approved prescription, reading an order, refunds by
//! the hospital's administrators, and the gateway's notification endpoint.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::reconciliation;
use super::service::{self, OrderView};
use crate::app::AppState;
use crate::dispensing::service::ChoiceInput;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, PathId};
use crate::identity::Actor;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/prescriptions/{id}/order", post(order_prescription))
        .route("/api/v1/orders/{id}", get(read))
        .route("/api/v1/appointments/{id}/order", post(order_appointment))
        .route("/api/v1/orders/{id}/refunds", post(refund))
        .route("/api/v1/payments/notify/sandbox", post(notify))
        .route("/api/v1/hospitals/{id}/reconciliation", get(reconciliation))
}

/// The body names how the medicine reaches the patient (default: picked up).
async fn order_prescription(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(choice): AppJson<ChoiceInput>,
) -> AppResult<Json<OrderView>> {
    Ok(Json(
        service::order_prescription(&state, &actor, id, &choice).await?,
    ))
}

async fn read(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<OrderView>> {
    Ok(Json(service::read(&state, &actor, id).await?))
}

#[derive(Deserialize, Default)]
struct RefundInput {
    amount_fen: Option<i64>,
    #[serde(default)]
    reason: Option<String>,
}

async fn refund(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<RefundInput>,
) -> AppResult<Json<OrderView>> {
    Ok(Json(
        service::refund(
            &state,
            &actor,
            id,
            input.amount_fen,
            input.reason.as_deref(),
        )
        .await?,
    ))
}

/// The gateway's server-to-server notification: the raw body and its signature header.
async fn notify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Json<serde_json::Value>> {
    let signature =
        crate::extract::signature(&headers, crate::extract::SANDBOX_SIGNATURE, "notification")?;
    let outcome = service::notify(&state, &body, signature).await?;
    Ok(Json(json!({ "outcome": outcome })))
}

#[derive(Deserialize, Default)]
struct ReconciliationQuery {
    date: Option<String>,
    format: Option<String>,
}

/// `GET /api/v1/hospitals/{id}/reconciliation?date=YYYY-MM-DD[&format=csv]`: the day's
/// payments, refunds and exceptions (today when no date).
async fn reconciliation(
    State(state): State<AppState>,
    actor: Actor,
    PathId(hospital): PathId,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let q: ReconciliationQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|_| AppError::invalid("date", "must be a day such as 2026-11-22"))?;
    let day =
        reconciliation::parse_date(q.date.as_deref(), crate::time::cst_today(state.now_ms()))?;
    let report = reconciliation::report(&state, &actor, hospital, day).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(report).into_response()),
        Some("csv") => Ok(csv_response(&report)),
        Some(_) => Err(AppError::invalid("format", "must be json or csv")),
    }
}

/// The report as a CSV download named for its hospital and day.
pub fn csv_response(report: &reconciliation::Report) -> axum::response::Response {
    use axum::response::IntoResponse;
    let name = format!("reconciliation-{}-{}.csv", report.hospital_id, report.date);
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        reconciliation::csv(report),
    )
        .into_response()
}

/// `POST /api/v1/appointments/{id}/order`: the registration fee of a booked appointment.
async fn order_appointment(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<OrderView>> {
    Ok(Json(
        super::fees::order_appointment(&state, &actor, id).await?,
    ))
}
