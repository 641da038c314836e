//! The pharmacy over the JSON API: the formulary (searching a hospital's drugs — public, as
//! drug prices are published —, one drug with its stock, importing a CSV), prescriptions
//! (check, sign, read, lists, withdraw) and the pharmacist's review.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::prescribing::{self, Checked, PrescriptionView};
use super::prescription::PrescriptionInput;
use super::prescription_store::PrescriptionRow;
use super::review;
use crate::extract::{AppJson, PathId};

use super::model::Drug;
use super::service::{self, DrugView, ImportSummary};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::paging::{Items, Page};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    check,
    sign,
    mine,
    read_prescription,
    of_consultation,
    cancel,
    review_queue,
    approve,
    reject,
    search,
    read,
    import,
    renew,
    set_price
))]
pub struct ApiDoc;

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

/// Check a prescription before signing.
///
/// `POST /api/v1/prescriptions/check`: the findings on a prescription not yet signed.
#[utoipa::path(post, path = "/api/v1/prescriptions/check", request_body = PrescriptionInput,
    responses((status = 200, description = "Safety findings", body = Checked)))]
async fn check(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<PrescriptionInput>,
) -> AppResult<Json<Checked>> {
    Ok(Json(
        prescribing::check(&state, &actor, &valid(&input)?).await?,
    ))
}

/// Sign a prescription.
///
/// `POST /api/v1/prescriptions`: the treating doctor signs; 409 with the blocking findings.
#[utoipa::path(post, path = "/api/v1/prescriptions", request_body = PrescriptionInput,
    responses((status = 201, description = "Signed, waiting for the pharmacist", body = PrescriptionView)))]
async fn sign(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<PrescriptionInput>,
) -> AppResult<(StatusCode, Json<PrescriptionView>)> {
    let view = prescribing::sign(&state, &actor, &valid(&input)?).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PersonQuery {
    /// A family member's person id (default: the signed-in patient).
    person_id: Option<i64>,
}

/// List prescriptions.
///
/// `GET /api/v1/prescriptions[?person_id=]`: a patient's own, or a family member's.
#[utoipa::path(get, path = "/api/v1/prescriptions", params(PersonQuery),
    responses((status = 200, description = "Prescriptions", body = Items<PrescriptionRow>)))]
async fn mine(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Items<PrescriptionRow>>> {
    let q: PersonQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|_| AppError::invalid("person_id", "must be a person id"))?;
    let items = prescribing::mine(&state, &actor, q.person_id).await?;
    Ok(Json(Items { items }))
}

/// One prescription with its items, findings and history.
#[utoipa::path(get, path = "/api/v1/prescriptions/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The prescription", body = PrescriptionView)))]
async fn read_prescription(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<PrescriptionView>> {
    Ok(Json(prescribing::read(&state, &actor, id).await?))
}

/// The prescriptions written in a consultation.
#[utoipa::path(get, path = "/api/v1/consultations/{id}/prescriptions", params(crate::openapi::IdParam),
    responses((status = 200, description = "Prescriptions", body = Items<PrescriptionRow>)))]
async fn of_consultation(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<Items<PrescriptionRow>>> {
    let items = prescribing::of_consultation(&state, &actor, id).await?;
    Ok(Json(Items { items }))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct Remark {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// The prescribing doctor withdraws a prescription not yet paid.
#[utoipa::path(post, path = "/api/v1/prescriptions/{id}/cancel", params(crate::openapi::IdParam),
    request_body = Remark,
    responses((status = 200, description = "Withdrawn", body = PrescriptionView)))]
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

/// The pharmacist's queue of prescriptions to review.
#[utoipa::path(get, path = "/api/v1/prescriptions/review-queue",
    responses((status = 200, description = "Waiting prescriptions", body = Items<review::QueueItem>)))]
async fn review_queue(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<review::QueueItem>>> {
    let items = review::queue(&state, &actor).await?;
    Ok(Json(Items { items }))
}

/// The pharmacist approves (with an optional note).
#[utoipa::path(post, path = "/api/v1/prescriptions/{id}/approve", params(crate::openapi::IdParam),
    request_body = Remark,
    responses((status = 200, description = "Approved", body = PrescriptionView)))]
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

/// The pharmacist rejects, with a reason for the doctor.
#[utoipa::path(post, path = "/api/v1/prescriptions/{id}/reject", params(crate::openapi::IdParam),
    request_body = Remark,
    responses((status = 200, description = "Rejected", body = PrescriptionView)))]
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

/// Search a hospital's drugs (public).
///
/// `GET /api/v1/hospitals/{id}/drugs?q=氨氯地平&online=true&after=&limit=` (public: prices are published).
#[utoipa::path(get, path = "/api/v1/hospitals/{id}/drugs", security(()),
    params(crate::openapi::IdParam, DrugSearch, crate::openapi::PageParams),
    responses((status = 200, description = "A page of drugs", body = Page<Drug>)))]
async fn search(
    State(state): State<AppState>,
    PathId(hospital): PathId,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Page<Drug>>> {
    let (page, q) = service::parse_drug_query(query.as_deref())?;
    let rows = service::search(&state.db, hospital, &q).await?;
    Ok(Json(Page::from_rows(rows, &page, |d| d.id)))
}

/// One drug with its stock per pharmacy (public).
#[utoipa::path(get, path = "/api/v1/drugs/{id}", security(()), params(crate::openapi::IdParam),
    responses((status = 200, description = "The drug", body = DrugView)))]
async fn read(State(state): State<AppState>, PathId(id): PathId) -> AppResult<Json<DrugView>> {
    Ok(Json(service::drug(&state.db, id).await?))
}

/// Import a formulary.
///
/// `POST /api/v1/hospitals/{id}/formulary` with the CSV as the body: all rows or none.
#[utoipa::path(post, path = "/api/v1/hospitals/{id}/formulary", params(crate::openapi::IdParam),
    request_body(content = String, content_type = "text/csv", description = "The formulary as CSV (see docs)"),
    responses((status = 200, description = "What was imported", body = ImportSummary)))]
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

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct RenewInput {
    /// How the patient is doing, for the doctor.
    #[serde(default)]
    note: Option<String>,
}

/// Ask to renew a prescription.
///
/// `POST /api/v1/prescriptions/{id}/renew`: "renew my medicine" — a follow-up visit request.
#[utoipa::path(post, path = "/api/v1/prescriptions/{id}/renew", params(crate::openapi::IdParam),
    request_body = RenewInput,
    responses((status = 201, description = "The follow-up request", body = crate::consult::service::ConsultationView)))]
async fn renew(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<RenewInput>,
) -> AppResult<(StatusCode, Json<crate::consult::service::ConsultationView>)> {
    let view = super::refill::renew(&state, &actor, id, input.note.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct PriceInput {
    #[serde(default)]
    price_yuan: String,
}

/// Set a drug's price.
///
/// `POST /api/v1/drugs/{id}/price`: the hospital's administrators set a drug's price.
#[utoipa::path(post, path = "/api/v1/drugs/{id}/price", params(crate::openapi::IdParam),
    request_body = PriceInput,
    responses((status = 200, description = "The drug", body = Drug)))]
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

/// Filters of a hospital's drug list (with `limit` and `after`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the document only
struct DrugSearch {
    /// Part of a name, generic name or pinyin initials, e.g. `氨氯地平` or `aldp`.
    q: Option<String>,
    /// Only drugs that may be prescribed online.
    online: Option<bool>,
}
