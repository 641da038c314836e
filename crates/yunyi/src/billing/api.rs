//! Billing over the JSON API: ordering an approved prescription, reading an order, refunds by
//! the hospital's administrators, and the gateway's notification endpoint.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::reconciliation;
use super::service::{self, OrderView};
use crate::app::AppState;
use crate::dispensing::service::ChoiceInput;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, PathId};
use crate::identity::Actor;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    order_prescription,
    read,
    refund,
    notify,
    reconciliation,
    order_appointment
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/prescriptions/{id}/order", post(order_prescription))
        .route("/api/v1/orders/{id}", get(read))
        .route("/api/v1/appointments/{id}/order", post(order_appointment))
        .route("/api/v1/orders/{id}/refunds", post(refund))
        .route("/api/v1/payments/notify/sandbox", post(notify))
        .route("/api/v1/hospitals/{id}/reconciliation", get(reconciliation))
}

/// Order an approved prescription: the body names how the medicine reaches the patient
/// (default: picked up).
#[utoipa::path(post, path = "/api/v1/prescriptions/{id}/order", params(crate::openapi::IdParam),
    request_body = ChoiceInput,
    responses((status = 200, description = "The order, with where to pay it", body = OrderView)))]
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

/// Read an order (its payer's side only).
#[utoipa::path(get, path = "/api/v1/orders/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The order", body = OrderView)))]
async fn read(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<OrderView>> {
    Ok(Json(service::read(&state, &actor, id).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct RefundInput {
    /// Fen to refund; the whole unrefunded rest when absent.
    amount_fen: Option<i64>,
    #[serde(default)]
    reason: Option<String>,
}

/// Refund part or all of a paid order (the hospital's administrators).
#[utoipa::path(post, path = "/api/v1/orders/{id}/refunds", params(crate::openapi::IdParam),
    request_body = RefundInput,
    responses((status = 200, description = "The order with the refund", body = OrderView)))]
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

#[derive(Serialize, utoipa::ToSchema)]
struct NotifyAnswer {
    outcome: service::Outcome,
}

/// The payment gateway's server-to-server notification: the raw body, signed in
/// `x-sandbox-signature` (HMAC-SHA256, hex).
#[utoipa::path(post, path = "/api/v1/payments/notify/sandbox", security(()),
    request_body = super::gateway::Notification,
    params(("x-sandbox-signature" = String, Header, description = "HMAC-SHA256 of the body, hex")),
    responses((status = 200, description = "What the notification did", body = NotifyAnswer)))]
async fn notify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Json<NotifyAnswer>> {
    let signature =
        crate::extract::signature(&headers, crate::extract::SANDBOX_SIGNATURE, "notification")?;
    let outcome = service::notify(&state, &body, signature).await?;
    Ok(Json(NotifyAnswer { outcome }))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ReconciliationQuery {
    /// The day, `YYYY-MM-DD` (today in China when absent).
    date: Option<String>,
    /// `json` (the default) or `csv`.
    format: Option<String>,
}

/// A hospital's daily reconciliation.
///
/// `GET /api/v1/hospitals/{id}/reconciliation?date=YYYY-MM-DD[&format=csv]`: the day's
/// payments, refunds and exceptions (today when no date).
#[utoipa::path(get, path = "/api/v1/hospitals/{id}/reconciliation",
    params(crate::openapi::IdParam, ReconciliationQuery),
    responses((status = 200, description = "The day's report", body = reconciliation::Report,
        content_type = "application/json"),
        (status = "2XX", description = "The same report as CSV (`format=csv`)", content_type = "text/csv", body = String)))]
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

/// Order the registration fee of a booked appointment.
///
/// `POST /api/v1/appointments/{id}/order`: the registration fee of a booked appointment.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/order", params(crate::openapi::IdParam),
    responses((status = 200, description = "The order", body = OrderView)))]
async fn order_appointment(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<OrderView>> {
    Ok(Json(
        super::fees::order_appointment(&state, &actor, id).await?,
    ))
}
