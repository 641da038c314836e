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
use crate::extract::{AppJson, PathId, path_id};
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
        .route("/api/v1/surveillance/alerts", get(alerts))
        .route(
            "/api/v1/surveillance/alerts/{id}/{action}",
            post(act_on_alert),
        )
        .route("/api/v1/surveillance/counts", get(counts))
        .route("/api/v1/surveillance/report-cards", get(report_cards))
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
    PathId(id): PathId,
    AppJson(body): AppJson<FlagInput>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
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
    PathId(id): PathId,
) -> AppResult<Json<CaseView>> {
    Ok(Json(cases::read(&state, &actor, id).await?))
}

async fn step(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<StepInput>,
) -> AppResult<Json<CaseView>> {
    Ok(Json(cases::step(&state, &actor, id, &input).await?))
}

async fn alerts(State(state): State<AppState>, actor: Actor) -> AppResult<Json<serde_json::Value>> {
    let items = super::scan::alerts(&state, &actor).await?;
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize, Default)]
struct AlertInput {
    #[serde(default)]
    note: Option<String>,
}

async fn act_on_alert(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, action)): Path<(String, String)>,
    AppJson(body): AppJson<AlertInput>,
) -> AppResult<Json<super::store::AlertRow>> {
    let id = path_id("alert", &id)?;
    Ok(Json(
        super::scan::act(&state, &actor, id, &action, body.note.as_deref()).await?,
    ))
}

#[derive(Deserialize, Default)]
struct CountsQuery {
    from: Option<String>,
    to: Option<String>,
}

/// The daily counts as CSV (`day,region,syndrome,count`).
async fn counts(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<axum::response::Response> {
    let q: CountsQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|_| AppError::invalid("from", "from and to must be dates like 2026-11-20"))?;
    let csv =
        super::dashboard::counts_csv(&state, &actor, q.from.as_deref(), q.to.as_deref()).await?;
    Ok(csv_response(csv, "surveillance-counts.csv"))
}

/// A CSV download.
pub fn csv_response(body: String, filename: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The hospital's notifiable-disease report cards as CSV (infection officers).
async fn report_cards(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<axum::response::Response> {
    let csv = super::report::cards_csv(&state, &actor).await?;
    Ok(csv_response(csv, "report-cards.csv"))
}
