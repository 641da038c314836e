//! Care teams and family-doctor contracts over the JSON API.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::model::{TeamInput, TeamKind};
use super::service::{self, ContractInput, ContractView, MemberInput, TeamView};
use crate::app::AppState;
use crate::error::AppResult;
use crate::extract::{AppJson, PathId};
use crate::identity::Actor;
use crate::paging::Items;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    teams,
    create_team,
    get_team,
    put_member,
    remove_member,
    contracts,
    sign,
    get_contract,
    renew,
    end
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/care-teams", get(teams).post(create_team))
        .route("/api/v1/care-teams/{id}", get(get_team))
        .route("/api/v1/care-teams/{id}/members", put(put_member))
        .route(
            "/api/v1/care-teams/{id}/members/{account}",
            axum::routing::delete(remove_member),
        )
        .route("/api/v1/family-contracts", get(contracts).post(sign))
        .route("/api/v1/family-contracts/{id}", get(get_contract))
        .route("/api/v1/family-contracts/{id}/renew", post(renew))
        .route("/api/v1/family-contracts/{id}/end", post(end))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TeamQuery {
    /// Only this hospital's teams.
    #[serde(default)]
    hospital_id: Option<i64>,
    /// `family_doctor` or `multimorbidity`.
    #[serde(default)]
    kind: Option<TeamKind>,
}

/// The active care teams with their members and the places they have left.
#[utoipa::path(get, path = "/api/v1/care-teams", params(TeamQuery),
    responses((status = 200, description = "Teams", body = Items<TeamView>)))]
async fn teams(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<TeamQuery>,
) -> AppResult<Json<Items<TeamView>>> {
    Ok(Json(Items {
        items: service::teams(&state, &actor, q.hospital_id, q.kind).await?,
    }))
}

crate::created!(TeamCreated, id);

/// Set up a care team of the administrator's hospital.
#[utoipa::path(post, path = "/api/v1/care-teams", request_body = TeamInput,
    responses((status = 201, description = "Created", body = TeamCreated,
        headers(("location" = String, description = "The team's address")))))]
async fn create_team(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<TeamInput>,
) -> AppResult<Response> {
    let id = service::create_team(&state, &actor, &input).await?;
    Ok(created(
        format!("/api/v1/care-teams/{id}"),
        TeamCreated { id },
    ))
}

pub(super) fn created(location: String, body: impl serde::Serialize) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

/// One care team.
#[utoipa::path(get, path = "/api/v1/care-teams/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The team", body = TeamView)))]
async fn get_team(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<TeamView>> {
    Ok(Json(service::team(&state, &actor, id).await?))
}

/// Add a member to the team, or change their role (its hospital's administrators); a new
/// member gets a care link to each person the team has a running contract with.
#[utoipa::path(put, path = "/api/v1/care-teams/{id}/members", params(crate::openapi::IdParam),
    request_body = MemberInput, responses((status = 204, description = "A member")))]
async fn put_member(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<MemberInput>,
) -> AppResult<StatusCode> {
    service::put_member(&state, &actor, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take a member off the team: their care links from its contracts end.
#[utoipa::path(delete, path = "/api/v1/care-teams/{id}/members/{account}",
    params(crate::openapi::IdParam, ("account" = i64, Path, description = "The member's account")),
    responses((status = 204, description = "Off the team")))]
async fn remove_member(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, account)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let id = crate::extract::path_id("care team", &id)?;
    let account = crate::extract::path_id("account", &account)?;
    service::remove_member(&state, &actor, id, account).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The reader's family-doctor contracts: a patient's and their family's, a team member's
/// teams', an administrator's hospital's (audited).
#[utoipa::path(get, path = "/api/v1/family-contracts",
    responses((status = 200, description = "Contracts", body = Items<ContractView>)))]
async fn contracts(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<ContractView>>> {
    Ok(Json(Items {
        items: service::contracts(&state, &actor).await?,
    }))
}

crate::created!(ContractCreated, id);

/// Sign a year's contract with a family-doctor team (the patient, or a family member acting
/// for them): one running contract per person, within the team's places.
#[utoipa::path(post, path = "/api/v1/family-contracts", request_body = ContractInput,
    responses((status = 201, description = "Signed", body = ContractCreated,
        headers(("location" = String, description = "The contract's address")))))]
async fn sign(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<ContractInput>,
) -> AppResult<Response> {
    let id = service::sign(&state, &actor, &input).await?;
    Ok(created(
        format!("/api/v1/family-contracts/{id}"),
        ContractCreated { id },
    ))
}

/// One contract, to whoever has a part in it (audited).
#[utoipa::path(get, path = "/api/v1/family-contracts/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The contract", body = ContractView)))]
async fn get_contract(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<ContractView>> {
    Ok(Json(service::contract(&state, &actor, id).await?))
}

/// Renew the contract for a year more, in its last 60 days (the patient side).
#[utoipa::path(post, path = "/api/v1/family-contracts/{id}/renew", params(crate::openapi::IdParam),
    responses((status = 204, description = "Renewed")))]
async fn renew(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    service::renew(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(super) struct EndInput {
    /// Why (2–200 characters).
    #[serde(default)]
    pub(super) reason: String,
}

/// End the contract (the patient side, the team's lead, its hospital's administrators): the
/// team's care links to the person end.
#[utoipa::path(post, path = "/api/v1/family-contracts/{id}/end", params(crate::openapi::IdParam),
    request_body = EndInput, responses((status = 204, description = "Ended")))]
async fn end(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<EndInput>,
) -> AppResult<StatusCode> {
    service::end(&state, &actor, id, &input.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}
