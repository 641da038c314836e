//! Surveillance over the JSON API: screening rules, a doctor's flag, suspected cases and their
//! steps.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use triage::screening::RuleSet;

use super::cases::{self, CaseView};
use super::model::StepInput;
use super::rules::{self, RulesView};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, PathId, path_id};
use crate::identity::Actor;
use crate::paging::Items;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        read_rules,
        save_rules,
        flag,
        list,
        read,
        step,
        alerts,
        act_on_alert,
        counts,
        report_cards
    ),
    components(schemas(AlertAction))
)]
pub struct ApiDoc;

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

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct HospitalQuery {
    /// The hospital (an officer's own by default; regulators name one).
    hospital_id: Option<i64>,
}

pub fn hospital_query(query: Option<&str>) -> AppResult<Option<i64>> {
    let q: HospitalQuery = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| AppError::invalid("hospital_id", "must be a hospital id"))?;
    Ok(q.hospital_id)
}

/// The screening rules in force (infection officers and regulators).
#[utoipa::path(get, path = "/api/v1/surveillance/rules", params(HospitalQuery),
    responses((status = 200, description = "The rules and their history", body = RulesView)))]
async fn read_rules(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Json<RulesView>> {
    let hospital = hospital_query(query.as_deref())?;
    Ok(Json(rules::view(&state, &actor, hospital).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SaveRules {
    rules: RuleSet,
    #[serde(default)]
    note: String,
}

/// Replace the screening rules (a new version; the old stays in the history).
#[utoipa::path(put, path = "/api/v1/surveillance/rules", request_body = SaveRules,
    responses((status = 200, description = "The rules now in force", body = RulesView)))]
async fn save_rules(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(body): AppJson<SaveRules>,
) -> AppResult<Json<RulesView>> {
    Ok(Json(
        rules::save(&state, &actor, body.rules, &body.note).await?,
    ))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct FlagInput {
    #[serde(default)]
    reason: String,
}

/// A doctor flags a suspected infectious case during a consultation.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/flag", params(crate::openapi::IdParam),
    request_body = FlagInput,
    responses((status = 201, description = "Flagged", body = Flagged)))]
async fn flag(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(body): AppJson<FlagInput>,
) -> AppResult<(StatusCode, Json<Flagged>)> {
    let case = cases::flag_by_doctor(&state, &actor, id, &body.reason).await?;
    Ok((
        StatusCode::CREATED,
        Json(Flagged {
            case_id: case.map(|c| c.id),
        }),
    ))
}

/// A doctor's flag on a consultation.
#[derive(Serialize, utoipa::ToSchema)]
struct Flagged {
    /// The case opened (absent when the flag joined one already open).
    case_id: Option<i64>,
}

/// Suspected cases, open and ended.
#[derive(Serialize, utoipa::ToSchema)]
struct CaseList {
    open: Vec<cases::CaseItem>,
    ended: Vec<cases::CaseItem>,
}

/// Suspected cases an officer follows.
#[utoipa::path(get, path = "/api/v1/epi-cases",
    responses((status = 200, description = "Cases", body = CaseList)))]
async fn list(State(state): State<AppState>, actor: Actor) -> AppResult<Json<CaseList>> {
    let (open, ended) = cases::list(&state, &actor).await?;
    Ok(Json(CaseList { open, ended }))
}

/// One suspected case with its steps.
#[utoipa::path(get, path = "/api/v1/epi-cases/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The case", body = CaseView)))]
async fn read(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<CaseView>> {
    Ok(Json(cases::read(&state, &actor, id).await?))
}

/// The next step of a case (verified, reported, ruled out …).
#[utoipa::path(post, path = "/api/v1/epi-cases/{id}/steps", params(crate::openapi::IdParam),
    request_body = StepInput,
    responses((status = 200, description = "The case", body = CaseView)))]
async fn step(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<StepInput>,
) -> AppResult<Json<CaseView>> {
    Ok(Json(cases::step(&state, &actor, id, &input).await?))
}

/// Early-warning alerts.
#[utoipa::path(get, path = "/api/v1/surveillance/alerts",
    responses((status = 200, description = "Alerts", body = Items<super::store::AlertRow>)))]
async fn alerts(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<super::store::AlertRow>>> {
    let items = super::scan::alerts(&state, &actor).await?;
    Ok(Json(Items { items }))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct AlertInput {
    #[serde(default)]
    note: Option<String>,
}

/// Acknowledge or close an alert (closing needs a note).
#[utoipa::path(post, path = "/api/v1/surveillance/alerts/{id}/{action}",
    params(crate::openapi::IdParam, ("action" = AlertAction, Path, description = "What to do")),
    request_body = AlertInput,
    responses((status = 200, description = "The alert", body = super::store::AlertRow)))]
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

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct CountsQuery {
    /// The first day, `YYYY-MM-DD`.
    from: Option<String>,
    /// The last day, `YYYY-MM-DD`.
    to: Option<String>,
}

/// The daily counts as CSV (`day,region,syndrome,count`).
#[utoipa::path(get, path = "/api/v1/surveillance/counts", params(CountsQuery),
    responses((status = 200, description = "Counts", content_type = "text/csv", body = String)))]
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
#[utoipa::path(get, path = "/api/v1/surveillance/report-cards",
    responses((status = 200, description = "Report cards", content_type = "text/csv", body = String)))]
async fn report_cards(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<axum::response::Response> {
    let csv = super::report::cards_csv(&state, &actor).await?;
    Ok(csv_response(csv, "report-cards.csv"))
}

/// What an officer does with an alert, for the document.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // read by the document only
enum AlertAction {
    Acknowledge,
    Close,
}
