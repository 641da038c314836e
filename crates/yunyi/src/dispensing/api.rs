//! Dispensing and delivery over the JSON API: the address book, the pharmacy's queue and
//! moves, a prescription's delivery, the patient's confirmation, and the courier's signed
//! tracking updates.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::address::{self, AddressView};
use super::model::AddressInput;
use super::service::{self, FulfilmentView};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, PathId};
use crate::identity::Actor;
use crate::paging::Items;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        addresses,
        add_address,
        remove_address,
        make_default,
        queue,
        of_prescription,
        read,
        act,
        courier_notify
    ),
    components(schemas(FulfilmentAction))
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/addresses", get(addresses).post(add_address))
        .route(
            "/api/v1/addresses/{id}",
            axum::routing::delete(remove_address),
        )
        .route("/api/v1/addresses/{id}/default", post(make_default))
        .route("/api/v1/dispensing/queue", get(queue))
        .route(
            "/api/v1/prescriptions/{id}/fulfilment",
            get(of_prescription),
        )
        .route("/api/v1/fulfilments/{id}", get(read))
        .route("/api/v1/fulfilments/{id}/{action}", post(act))
        .route("/api/v1/couriers/notify/sandbox", post(courier_notify))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PersonQuery {
    /// A family member's person id (default: the signed-in patient).
    person_id: Option<i64>,
}

fn person_query(query: Option<&str>) -> AppResult<Option<i64>> {
    let q: PersonQuery = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| AppError::invalid("person_id", "must be a person id"))?;
    Ok(q.person_id)
}

/// The signed-in patient's delivery addresses (or a family member's).
#[utoipa::path(get, path = "/api/v1/addresses", params(PersonQuery),
    responses((status = 200, description = "Addresses", body = Items<AddressView>)))]
async fn addresses(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Items<AddressView>>> {
    let items = address::list(&state, &actor, person_query(query.as_deref())?).await?;
    Ok(Json(Items { items }))
}

/// Add a delivery address.
#[utoipa::path(post, path = "/api/v1/addresses", params(PersonQuery), request_body = AddressInput,
    responses((status = 201, description = "Added", body = AddressView)))]
async fn add_address(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(query): RawQuery,
    AppJson(input): AppJson<AddressInput>,
) -> AppResult<(StatusCode, Json<AddressView>)> {
    let person = person_query(query.as_deref())?;
    Ok((
        StatusCode::CREATED,
        Json(address::add(&state, &actor, person, &input).await?),
    ))
}

/// Remove an address.
#[utoipa::path(delete, path = "/api/v1/addresses/{id}", params(crate::openapi::IdParam),
    responses((status = 204, description = "Removed")))]
async fn remove_address(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    address::remove(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make an address the default.
#[utoipa::path(post, path = "/api/v1/addresses/{id}/default", params(crate::openapi::IdParam),
    responses((status = 200, description = "The address", body = AddressView)))]
async fn make_default(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<AddressView>> {
    Ok(Json(address::make_default(&state, &actor, id).await?))
}

/// The pharmacy's work: deliveries and pickups to prepare.
#[utoipa::path(get, path = "/api/v1/dispensing/queue",
    responses((status = 200, description = "Work", body = Items<FulfilmentView>)))]
async fn queue(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<FulfilmentView>>> {
    let items = service::work_queue(&state, &actor).await?;
    Ok(Json(Items { items }))
}

/// The delivery of a prescription the caller may read (404 when none was chosen yet).
#[utoipa::path(get, path = "/api/v1/prescriptions/{id}/fulfilment", params(crate::openapi::IdParam),
    responses((status = 200, description = "The delivery or pickup", body = FulfilmentView)))]
async fn of_prescription(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<FulfilmentView>> {
    let rx = crate::pharmacy::prescribing::read(&state, &actor, id).await?;
    let patient_side = actor.role() == Some(crate::identity::model::Role::Patient);
    service::of_prescription(&state, rx.prescription.id, patient_side)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("prescription {id} has no delivery yet")))
}

/// One delivery or pickup.
#[utoipa::path(get, path = "/api/v1/fulfilments/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The delivery or pickup", body = FulfilmentView)))]
async fn read(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<FulfilmentView>> {
    Ok(Json(service::read(&state, &actor, id).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct MoveInput {
    /// The patient's pickup code (collect).
    #[serde(default)]
    code: Option<String>,
    /// Why (cancel).
    #[serde(default)]
    reason: Option<String>,
}

/// Take a delivery or pickup one step on.
///
/// `POST /api/v1/fulfilments/{id}/{pick|pack|dispatch|collect|cancel|confirm}`.
#[utoipa::path(post, path = "/api/v1/fulfilments/{id}/{action}",
    params(crate::openapi::IdParam, ("action" = FulfilmentAction, Path, description = "The step")),
    request_body = MoveInput,
    responses((status = 200, description = "After the step", body = FulfilmentView)))]
async fn act(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, action)): Path<(String, String)>,
    AppJson(input): AppJson<MoveInput>,
) -> AppResult<Json<FulfilmentView>> {
    let id = crate::extract::path_id("fulfilment", &id)?;
    Ok(Json(
        perform(
            &state,
            &actor,
            id,
            &action,
            input.code.as_deref(),
            input.reason.as_deref(),
        )
        .await?,
    ))
}

/// One move by name, shared by the API and the pages.
pub async fn perform(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
    code: Option<&str>,
    reason: Option<&str>,
) -> AppResult<FulfilmentView> {
    let Some(step) = FulfilmentAction::parse(action) else {
        return Err(AppError::NotFound(format!("no delivery action {action}")));
    };
    match step {
        FulfilmentAction::Pick => service::pick(state, actor, id).await,
        FulfilmentAction::Pack => service::pack(state, actor, id).await,
        FulfilmentAction::Dispatch => service::dispatch(state, actor, id).await,
        FulfilmentAction::Collect => {
            service::collect(state, actor, id, code.unwrap_or_default()).await
        }
        FulfilmentAction::Cancel => service::cancel(state, actor, id, reason).await,
        FulfilmentAction::Confirm => service::confirm(state, actor, id).await,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct CourierAnswer {
    outcome: service::UpdateOutcome,
}

/// The courier's server-to-server update: the raw body, signed in `x-sandbox-signature`.
#[utoipa::path(post, path = "/api/v1/couriers/notify/sandbox", security(()),
    request_body = super::courier::TrackingUpdate,
    params(("x-sandbox-signature" = String, Header, description = "HMAC-SHA256 of the body, hex")),
    responses((status = 200, description = "What the update did", body = CourierAnswer)))]
async fn courier_notify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Json<CourierAnswer>> {
    let signature =
        crate::extract::signature(&headers, crate::extract::SANDBOX_SIGNATURE, "update")?;
    let outcome = service::courier_update(&state, &body, signature).await?;
    Ok(Json(CourierAnswer { outcome }))
}

crate::text_enum! {
    /// The steps of [`act`]: one list for the document and for [`perform`], which must handle
    /// every one (the match is exhaustive).
    pub enum FulfilmentAction {
        Pick = "pick",
        Pack = "pack",
        Dispatch = "dispatch",
        Collect = "collect",
        Cancel = "cancel",
        Confirm = "confirm",
    }
}
