//! Surveillance over the JSON API: screening rules, a doctor's flag, suspected cases and their
//! steps.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use triage::screening::RuleSet;

use super::cases::{self, CaseView};
use super::model::StepInput;
use super::rules::{self, RulesView};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, path_id};
use crate::identity::Actor;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/surveillance/rules",
            get(read_rules).put(save_rules),
        )
        .route("/api/v1/consultations/{id}/flag", post(flag))
        .route("/api/v1/epi-cases", get(list))
        .route("/api/v1/epi-cases/{id}", get(read))
        .route("/api/v1/epi-cases/{id}/steps", post(step))
}

#[derive(Deserialize, Default)]
struct HospitalQuery {
    hospital_id: Option<i64>,
}

pub fn hospital_query(query: Option<&str>) -> AppResult<Option<i64>> {
    let q: HospitalQuery = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| AppError::invalid("hospital_id", "must be a hospital id"))?;
    Ok(q.hospital_id)
}

async fn read_rules(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Json<RulesView>> {
    let hospital = hospital_query(query.as_deref())?;
    Ok(Json(rules::view(&state, &actor, hospital).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveRules {
    rules: RuleSet,
    #[serde(default)]
    note: String,
}

async fn save_rules(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(body): AppJson<SaveRules>,
) -> AppResult<Json<RulesView>> {
    Ok(Json(
        rules::save(&state, &actor, body.rules, &body.note).await?,
    ))
}

#[derive(Deserialize, Default)]
struct FlagInput {
    #[serde(default)]
    reason: String,
}

async fn flag(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    AppJson(body): AppJson<FlagInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let id = path_id("consultation", &id)?;
    let case = cases::flag_by_doctor(&state, &actor, id, &body.reason).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "case_id": case.map(|c| c.id) })),
    ))
}

async fn list(State(state): State<AppState>, actor: Actor) -> AppResult<Json<serde_json::Value>> {
    let (open, ended) = cases::list(&state, &actor).await?;
    Ok(Json(json!({ "open": open, "ended": ended })))
}

async fn read(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Json<CaseView>> {
    let id = path_id("case", &id)?;
    Ok(Json(cases::read(&state, &actor, id).await?))
}

async fn step(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    AppJson(input): AppJson<StepInput>,
) -> AppResult<Json<CaseView>> {
    let id = path_id("case", &id)?;
    Ok(Json(cases::step(&state, &actor, id, &input).await?))
}
