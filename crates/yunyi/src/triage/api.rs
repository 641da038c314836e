//! Triage over the JSON API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};

use super::model::{ChoiceInput, TriageAnswer, TriageRequest};
use super::service;
use crate::app::AppState;
use crate::error::AppResult;
use crate::extract::AppJson;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/triage", post(triage))
        .route("/api/v1/triage/{id}/choice", post(choice))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(triage, choice))]
pub struct ApiDoc;

/// Triage a complaint in the patient's own words. Needs no sign-in.
#[utoipa::path(post, path = "/api/v1/triage", request_body = TriageRequest, security(()),
    responses((status = 200, description = "Departments, urgency, red flags and where to go", body = TriageAnswer)))]
async fn triage(
    State(state): State<AppState>,
    AppJson(req): AppJson<TriageRequest>,
) -> AppResult<Json<TriageAnswer>> {
    service::triage(&state, &req).await.map(Json)
}

/// Record what the patient chose after a triage (for the quality figures).
#[utoipa::path(post, path = "/api/v1/triage/{id}/choice", request_body = ChoiceInput, security(()),
    params(("id" = String, Path, description = "The `triage_id` of the answer")),
    responses((status = 204, description = "Recorded")))]
async fn choice(
    State(state): State<AppState>,
    Path(id): Path<String>,
    AppJson(input): AppJson<ChoiceInput>,
) -> AppResult<StatusCode> {
    service::choose(&state, &id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}
