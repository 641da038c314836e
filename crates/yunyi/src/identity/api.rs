//! Identity over HTTP for machines: the JSON API under `/api/v1` (the OAuth 2 token
//! endpoints are in `smart::api`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::actor::Actor;
use super::{auth, claims, service};
use crate::app::AppState;
use crate::error::AppResult;
use crate::extract::{AppJson, PathId};
use crate::paging::Items;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    register,
    patient,
    send_code,
    step_up,
    me,
    add_family,
    my_claims,
    approve_claim,
    reject_claim,
    claim_code,
    counter_claim,
    verify_claim,
    list_staff,
    create_staff
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/patients", post(register))
        .route("/api/v1/patients/{id}", get(patient))
        .route("/api/v1/auth/code", post(send_code))
        .route("/api/v1/auth/step-up", post(step_up))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/family", post(add_family))
        .route("/api/v1/me/claims", get(my_claims))
        .route("/api/v1/me/claims/{id}/approve", post(approve_claim))
        .route("/api/v1/me/claims/{id}/reject", post(reject_claim))
        .route("/api/v1/me/claims/{id}/code", post(claim_code))
        .route("/api/v1/identity-claims/{id}", get(counter_claim))
        .route("/api/v1/identity-claims/{id}/verify", post(verify_claim))
        .route("/api/v1/staff", get(list_staff).post(create_staff))
}

/// Register a patient.
///
/// `POST /api/v1/patients`: 201 with the account; its `identity` is `verified` for a person
/// new to Yunyi, `pending` (with the claim) for a number already on record.
#[utoipa::path(post, path = "/api/v1/patients", security(()), request_body = service::RegisterPatient,
    responses((status = 201, description = "Registered", body = Registered)))]
async fn register(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<service::RegisterPatient>,
) -> AppResult<(StatusCode, Json<Registered>)> {
    let r = service::register_patient(&state, &actor, &input).await?;
    let body = Registered {
        account_id: r.account_id,
        identity: if r.claim_id.is_some() {
            "pending"
        } else {
            "verified"
        },
        detail: r.claim_id.map(|_| PENDING_DETAIL),
        claim_id: r.claim_id,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// A new patient account.
#[derive(Serialize, utoipa::ToSchema)]
struct Registered {
    account_id: i64,
    /// `verified` for a person new to Yunyi, `pending` for a number already on record.
    identity: &'static str,
    /// The claim to confirm when `pending`.
    #[serde(skip_serializing_if = "Option::is_none")]
    claim_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'static str>,
}

/// A family member added: `linked` at once, or `pending` with a claim to confirm.
#[derive(Serialize, utoipa::ToSchema)]
struct FamilyAnswer {
    /// `linked` or `pending`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    person_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claim_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'static str>,
}

crate::created!(AccountCreated, account_id);

/// What a pending claim's answer says, the same whatever the name.
const PENDING_DETAIL: &str = "this identity number is already on record: the person (or their guardian) confirms in Yunyi or tells you the code sent to their phone, or a hospital counter checks your papers";

/// Header a clinician sends to read a record without a care relationship, in an emergency.
pub const BREAK_GLASS_HEADER: &str = "x-break-glass-reason";

/// A patient's record; clinicians without a care relationship send a break-glass reason.
#[utoipa::path(get, path = "/api/v1/patients/{id}",
    params(crate::openapi::IdParam,
        ("x-break-glass-reason" = Option<String>, Header, description = "Why a clinician reads the record without a care relationship (audited, flagged)")),
    responses((status = 200, description = "The patient", body = service::PersonView)))]
async fn patient(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    PathId(id): PathId,
) -> AppResult<Json<service::PersonView>> {
    let reason = headers
        .get(BREAK_GLASS_HEADER)
        .and_then(|v| v.to_str().ok());
    Ok(Json(
        service::read_patient(&state, &actor, id, reason).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CodeRequest {
    #[serde(default)]
    phone: String,
}

/// Text a sign-in code to a phone.
///
/// `POST /api/v1/auth/code {"phone"}`: 202 whether or not the number has an account.
#[utoipa::path(post, path = "/api/v1/auth/code", security(()), request_body = CodeRequest,
    responses((status = 202, description = "A code was sent if the number has an account")))]
async fn send_code(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<CodeRequest>,
) -> AppResult<StatusCode> {
    auth::request_login_code(&state, &actor, &input.phone).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct StepUpRequest {
    #[serde(default)]
    method: String,
    #[serde(default)]
    proof: String,
}

/// Confirm a doctor's identity again before reading patient data (`method`: `password` or `otp`).
#[utoipa::path(post, path = "/api/v1/auth/step-up", request_body = StepUpRequest,
    responses((status = 204, description = "Confirmed for a while")))]
async fn step_up(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<StepUpRequest>,
) -> AppResult<StatusCode> {
    auth::step_up(&state, &actor, &input.method, &input.proof).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account, its person and family.
#[utoipa::path(get, path = "/api/v1/me",
    responses((status = 200, description = "The profile", body = service::Profile)))]
async fn me(State(state): State<AppState>, actor: Actor) -> AppResult<Json<service::Profile>> {
    Ok(Json(service::profile(&state, &actor).await?))
}

/// Add a family member.
///
/// `POST /api/v1/me/family`: 201 when linked (a person new to Yunyi), 202 with a claim when
/// the number is already on record.
#[utoipa::path(post, path = "/api/v1/me/family", request_body = service::NewFamilyMember,
    responses((status = 201, description = "Linked", body = FamilyAnswer),
        (status = 202, description = "Pending a claim", body = FamilyAnswer)))]
async fn add_family(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<service::NewFamilyMember>,
) -> AppResult<(StatusCode, Json<FamilyAnswer>)> {
    Ok(
        match service::add_family_member(&state, &actor, &input).await? {
            service::FamilyAdded::Linked(person_id) => (
                StatusCode::CREATED,
                Json(FamilyAnswer {
                    status: "linked",
                    person_id: Some(person_id),
                    claim_id: None,
                    detail: None,
                }),
            ),
            service::FamilyAdded::Pending(claim) => (
                StatusCode::ACCEPTED,
                Json(FamilyAnswer {
                    status: "pending",
                    person_id: None,
                    claim_id: Some(claim),
                    detail: Some(PENDING_DETAIL),
                }),
            ),
        },
    )
}

/// Claims on the signed-in person's identity, and the ones they made.
#[utoipa::path(get, path = "/api/v1/me/claims",
    responses((status = 200, description = "Claims", body = claims::Claims)))]
async fn my_claims(State(state): State<AppState>, actor: Actor) -> AppResult<Json<claims::Claims>> {
    Ok(Json(claims::mine(&state, &actor).await?))
}

/// Approve a claim on one's identity (or one's child's).
#[utoipa::path(post, path = "/api/v1/me/claims/{id}/approve", params(crate::openapi::IdParam),
    responses((status = 200, description = "The claim", body = claims::ClaimView)))]
async fn approve_claim(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<claims::ClaimView>> {
    Ok(Json(claims::decide(&state, &actor, id, true).await?))
}

/// Reject a claim on one's identity.
#[utoipa::path(post, path = "/api/v1/me/claims/{id}/reject", params(crate::openapi::IdParam),
    responses((status = 200, description = "The claim", body = claims::ClaimView)))]
async fn reject_claim(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<claims::ClaimView>> {
    Ok(Json(claims::decide(&state, &actor, id, false).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CodeInput {
    #[serde(default)]
    code: String,
}

/// Enter the code sent to the record's phone.
#[utoipa::path(post, path = "/api/v1/me/claims/{id}/code", params(crate::openapi::IdParam),
    request_body = CodeInput,
    responses((status = 200, description = "The claim", body = claims::ClaimView)))]
async fn claim_code(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<CodeInput>,
) -> AppResult<Json<claims::ClaimView>> {
    Ok(Json(
        claims::enter_code(&state, &actor, id, &input.code).await?,
    ))
}

/// A claim as the hospital counter sees it.
#[utoipa::path(get, path = "/api/v1/identity-claims/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The claim", body = claims::CounterView)))]
async fn counter_claim(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<claims::CounterView>> {
    Ok(Json(claims::counter_view(&state, &actor, id).await?))
}

/// The counter checked the claimant's papers.
#[utoipa::path(post, path = "/api/v1/identity-claims/{id}/verify", params(crate::openapi::IdParam),
    request_body = claims::CounterCheck,
    responses((status = 200, description = "The claim", body = claims::ClaimView)))]
async fn verify_claim(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<claims::CounterCheck>,
) -> AppResult<Json<claims::ClaimView>> {
    Ok(Json(
        claims::verify_at_counter(&state, &actor, id, &input).await?,
    ))
}

/// The staff accounts an administrator manages.
#[utoipa::path(get, path = "/api/v1/staff",
    responses((status = 200, description = "Staff", body = Items<service::StaffView>)))]
async fn list_staff(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<service::StaffView>>> {
    let items = service::list_staff(&state, &actor).await?;
    Ok(Json(Items { items }))
}

/// Create a staff account.
#[utoipa::path(post, path = "/api/v1/staff", request_body = service::NewStaff,
    responses((status = 201, description = "Created", body = AccountCreated)))]
async fn create_staff(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<service::NewStaff>,
) -> AppResult<(StatusCode, Json<AccountCreated>)> {
    let id = service::create_staff(&state, Some(&actor), &input).await?;
    Ok((StatusCode::CREATED, Json(AccountCreated { account_id: id })))
}
