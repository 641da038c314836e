//! Referrals over the JSON API.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::model::ReferralInput;
use super::service::{self, ReferralSummary, ReferralView, ReservedTime};
use crate::app::AppState;
use crate::consult::api::file_response;
use crate::error::AppResult;
use crate::extract::{AppJson, PathId, PathIds};
use crate::identity::Actor;
use crate::paging::Items;
use crate::teleconsult::service::SharedItem;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list, refer, get_one, accept, decline, arrive, cancel, items, item_file, reservable, reserve
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/referrals", get(list).post(refer))
        .route("/api/v1/referrals/{id}", get(get_one))
        .route("/api/v1/referrals/{id}/accept", post(accept))
        .route("/api/v1/referrals/{id}/decline", post(decline))
        .route("/api/v1/referrals/{id}/arrive", post(arrive))
        .route("/api/v1/referrals/{id}/reservable", get(reservable))
        .route("/api/v1/referrals/{id}/reserve", post(reserve))
        .route("/api/v1/referrals/{id}/cancel", post(cancel))
        .route("/api/v1/referrals/{id}/items", get(items))
        .route("/api/v1/referrals/{id}/records/{record}", get(item_file))
}

/// The reader's referrals, newest first: a doctor's own and those coming to their hospital
/// (department), an administrator's hospital's both ways, a patient's and their family's.
#[utoipa::path(get, path = "/api/v1/referrals",
    responses((status = 200, description = "Referrals", body = Items<ReferralSummary>)))]
async fn list(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<ReferralSummary>>> {
    Ok(Json(Items {
        items: service::list(&state, &actor).await?,
    }))
}

crate::created!(ReferralCreated, id);

/// Refer a patient in one's care to another hospital, up or down (doctors).
#[utoipa::path(post, path = "/api/v1/referrals", request_body = ReferralInput,
    responses((status = 201, description = "Sent", body = ReferralCreated,
        headers(("location" = String, description = "The referral's address")))))]
async fn refer(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<ReferralInput>,
) -> AppResult<Response> {
    let id = service::refer(&state, &actor, &input).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/referrals/{id}"))],
        Json(ReferralCreated { id }),
    )
        .into_response())
}

/// One referral as the reader stands in it.
#[utoipa::path(get, path = "/api/v1/referrals/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The referral", body = ReferralView)))]
async fn get_one(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<ReferralView>> {
    Ok(Json(service::view(&state, &actor, id).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct ArrangedInput {
    /// What the receiving hospital arranged: the visit's time and place, the bed (2–500).
    #[serde(default)]
    arranged: String,
}

/// Accept the referral, saying what was arranged (the receiving hospital).
#[utoipa::path(post, path = "/api/v1/referrals/{id}/accept", params(crate::openapi::IdParam),
    request_body = ArrangedInput, responses((status = 204, description = "Accepted")))]
async fn accept(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ArrangedInput>,
) -> AppResult<StatusCode> {
    service::accept(&state, &actor, id, &input.arranged).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct ReferralReason {
    /// Why (2–500 characters).
    #[serde(default)]
    reason: String,
}

/// Decline the referral, saying why (the receiving hospital).
#[utoipa::path(post, path = "/api/v1/referrals/{id}/decline", params(crate::openapi::IdParam),
    request_body = ReferralReason, responses((status = 204, description = "Declined")))]
async fn decline(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ReferralReason>,
) -> AppResult<StatusCode> {
    service::decline(&state, &actor, id, &input.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The times the receiving hospital may reserve for the patient of an accepted outpatient
/// referral: free times of the hospital (the named department) in the next 14 days.
#[utoipa::path(get, path = "/api/v1/referrals/{id}/reservable", params(crate::openapi::IdParam),
    responses((status = 200, description = "Times, earliest first", body = Items<ReservedTime>)))]
async fn reservable(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<Items<ReservedTime>>> {
    Ok(Json(Items {
        items: service::reservable(&state, &actor, id).await?,
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct ReserveInput {
    /// One of the receiving hospital's free times (see `…/reservable`).
    #[serde(default)]
    slot_id: i64,
}

/// Reserve a time for the patient of an accepted outpatient referral (the receiving hospital):
/// booked under the usual booking rules; the patient side and the referring doctor are told.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/reserve", params(crate::openapi::IdParam),
    request_body = ReserveInput, responses((status = 204, description = "Reserved")))]
async fn reserve(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ReserveInput>,
) -> AppResult<StatusCode> {
    service::reserve(&state, &actor, id, input.slot_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Record that the patient arrived (the receiving hospital).
#[utoipa::path(post, path = "/api/v1/referrals/{id}/arrive", params(crate::openapi::IdParam),
    responses((status = 204, description = "Recorded")))]
async fn arrive(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    service::arrive(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Withdraw the referral before the arrival (the referring doctor or the patient side).
#[utoipa::path(post, path = "/api/v1/referrals/{id}/cancel", params(crate::openapi::IdParam),
    request_body = ReferralReason, responses((status = 204, description = "Cancelled")))]
async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ReferralReason>,
) -> AppResult<StatusCode> {
    service::cancel(&state, &actor, id, &input.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The shared record items with their content (the referring doctor; the receiving side until
/// the referral ends).
#[utoipa::path(get, path = "/api/v1/referrals/{id}/items", params(crate::openapi::IdParam),
    responses((status = 200, description = "The shared items", body = Items<SharedItem>)))]
async fn items(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<Items<SharedItem>>> {
    Ok(Json(Items {
        items: service::items(&state, &actor, id).await?,
    }))
}

/// The file of a shared uploaded record.
#[utoipa::path(get, path = "/api/v1/referrals/{id}/records/{record}",
    params(crate::openapi::IdParam, ("record" = i64, Path, description = "The record's id")),
    responses((status = 200, description = "The image or PDF", content_type = "application/octet-stream", body = Vec<u8>)))]
async fn item_file(
    State(state): State<AppState>,
    actor: Actor,
    PathIds(id, record): PathIds,
) -> AppResult<Response> {
    Ok(file_response(
        service::item_file(&state, &actor, id, record).await?,
    ))
}
