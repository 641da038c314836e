//! The pharmacy over the JSON API: the formulary (searching a hospital's drugs — public, as
//! drug prices are published —, one drug with its stock, importing a CSV), prescriptions
//! (check, sign, read, lists, withdraw) and the pharmacist's review.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::prescribing::{self, Checked, PrescriptionView};
use super::prescription::PrescriptionInput;
use super::review;
use crate::extract::{AppJson, PathId};

use super::model::Drug;
use super::service::{self, DrugView, ImportSummary};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::paging::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hospitals/{id}/drugs", get(search))
        .route("/api/v1/hospitals/{id}/formulary", post(import))
        .route("/api/v1/drugs/{id}", get(read))
        .route("/api/v1/drugs/{id}/price", post(set_price))
        .route("/api/v1/prescriptions", get(mine).post(sign))
        .route("/api/v1/prescriptions/check", post(check))
        .route("/api/v1/prescriptions/review-queue", get(review_queue))
        .route("/api/v1/prescriptions/{id}", get(read_prescription))
        .route("/api/v1/prescriptions/{id}/cancel", post(cancel))
        .route("/api/v1/prescriptions/{id}/approve", post(approve))
        .route("/api/v1/prescriptions/{id}/reject", post(reject))
        .route("/api/v1/prescriptions/{id}/renew", post(renew))
        .route(
            "/api/v1/consultations/{id}/prescriptions",
            get(of_consultation),
        )
}

fn valid(input: &PrescriptionInput) -> AppResult<super::prescription::PrescriptionValid> {
    input.validate().map_err(AppError::Validation)
}

/// `POST /api/v1/prescriptions/check`: the findings on a prescription not yet signed.
async fn check(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<PrescriptionInput>,
) -> AppResult<Json<Checked>> {
    Ok(Json(
        prescribing::check(&state, &actor, &valid(&input)?).await?,
    ))
}

/// `POST /api/v1/prescriptions`: the treating doctor signs; 409 with the blocking findings.
async fn sign(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<PrescriptionInput>,
) -> AppResult<(StatusCode, Json<PrescriptionView>)> {
    let view = prescribing::sign(&state, &actor, &valid(&input)?).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize, Default)]
struct PersonQuery {
    person_id: Option<i64>,
}

/// `GET /api/v1/prescriptions[?person_id=]`: a patient's own, or a family member's.
async fn mine(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Json<serde_json::Value>> {
    let q: PersonQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|_| AppError::invalid("person_id", "must be a person id"))?;
    let items = prescribing::mine(&state, &actor, q.person_id).await?;
    Ok(Json(json!({ "items": items })))
}

async fn read_prescription(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<PrescriptionView>> {
    Ok(Json(prescribing::read(&state, &actor, id).await?))
}

async fn of_consultation(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<serde_json::Value>> {
    let items = prescribing::of_consultation(&state, &actor, id).await?;
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize, Default)]
struct Remark {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<Remark>,
) -> AppResult<Json<PrescriptionView>> {
    Ok(Json(
        prescribing::cancel(&state, &actor, id, input.reason.as_deref()).await?,
    ))
}

async fn review_queue(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<serde_json::Value>> {
    let items = review::queue(&state, &actor).await?;
    Ok(Json(json!({ "items": items })))
}

async fn approve(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<Remark>,
) -> AppResult<Json<PrescriptionView>> {
    Ok(Json(
        review::approve(&state, &actor, id, input.note.as_deref()).await?,
    ))
}

async fn reject(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<Remark>,
) -> AppResult<Json<PrescriptionView>> {
    Ok(Json(
        review::reject(&state, &actor, id, input.reason.as_deref()).await?,
    ))
}

/// `GET /api/v1/hospitals/{id}/drugs?q=氨氯地平&online=true&after=&limit=`
async fn search(
    State(state): State<AppState>,
    PathId(hospital): PathId,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Page<Drug>>> {
    let (page, q) = service::parse_drug_query(query.as_deref())?;
    let rows = service::search(&state.db, hospital, &q).await?;
    Ok(Json(Page::from_rows(rows, &page, |d| d.id)))
}

async fn read(State(state): State<AppState>, PathId(id): PathId) -> AppResult<Json<DrugView>> {
    Ok(Json(service::drug(&state.db, id).await?))
}

/// `POST /api/v1/hospitals/{id}/formulary` with the CSV as the body: all rows or none.
async fn import(
    State(state): State<AppState>,
    actor: Actor,
    PathId(hospital): PathId,
    body: axum::body::Bytes,
) -> AppResult<Json<ImportSummary>> {
    Ok(Json(
        service::import_csv(&state, &actor, hospital, &body).await?,
    ))
}

#[derive(Deserialize, Default)]
struct RenewInput {
    /// How the patient is doing, for the doctor.
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/v1/prescriptions/{id}/renew`: "renew my medicine" — a follow-up visit request.
async fn renew(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<RenewInput>,
) -> AppResult<(StatusCode, Json<crate::consult::service::ConsultationView>)> {
    let view = super::refill::renew(&state, &actor, id, input.note.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize, Default)]
struct PriceInput {
    #[serde(default)]
    price_yuan: String,
}

/// `POST /api/v1/drugs/{id}/price`: the hospital's administrators set a drug's price.
async fn set_price(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<PriceInput>,
) -> AppResult<Json<Drug>> {
    Ok(Json(
        service::set_price(&state, &actor, id, &input.price_yuan).await?,
    ))
}
