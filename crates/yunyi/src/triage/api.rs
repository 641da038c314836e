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

async fn triage(
    State(state): State<AppState>,
    AppJson(req): AppJson<TriageRequest>,
) -> AppResult<Json<TriageAnswer>> {
    service::triage(&state, &req).await.map(Json)
}

async fn choice(
    State(state): State<AppState>,
    Path(id): Path<String>,
    AppJson(input): AppJson<ChoiceInput>,
) -> AppResult<StatusCode> {
    service::choose(&state, &id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}
