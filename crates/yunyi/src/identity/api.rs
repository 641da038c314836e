//! Identity over HTTP for machines: the OAuth 2 token endpoints (`/auth/token`,
//! `/auth/revoke`) and the JSON API under `/api/v1`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::actor::{Actor, SessionKind};
use super::{auth, claims, service};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppForm, AppJson, PathId};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/token", post(token))
        .route("/auth/revoke", post(revoke))
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

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An RFC 6749 §5.2 error response.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    no_store(
        (
            status,
            Json(json!({"error": error, "error_description": description})),
        )
            .into_response(),
    )
}

/// `POST /auth/token` (RFC 6749 resource owner password grant): form fields
/// `grant_type=password`, `username` (a username or a phone number), `password`.
async fn token(
    State(state): State<AppState>,
    actor: Actor,
    form: Result<AppForm<TokenRequest>, AppError>,
) -> Response {
    let Ok(AppForm(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send a form (application/x-www-form-urlencoded) with grant_type, username and password",
        );
    };
    if form.grant_type.as_deref() != Some("password") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only grant_type=password is supported",
        );
    }
    let (Some(username), Some(password)) = (form.username, form.password) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "username and password are required",
        );
    };
    let result = async {
        let account = auth::login_password(&state, &actor, &username, &password).await?;
        auth::start_session(&state, &actor, account.id, SessionKind::Bearer).await
    }
    .await;
    match result {
        Ok((access_token, expires_in)) => no_store(
            Json(json!({"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in})).into_response(),
        ),
        Err(AppError::TooManyRequests { message, retry_after_secs }) => {
            let mut response = oauth_error(StatusCode::TOO_MANY_REQUESTS, "invalid_grant", &message);
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Err(AppError::Unauthenticated(_)) => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", auth::BAD_CREDENTIALS),
        Err(AppError::Validation(_)) => {
            oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "username and password are required")
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct RevokeRequest {
    token: Option<String>,
}

/// `POST /auth/revoke` (RFC 7009): always 200, whether or not the token was valid.
async fn revoke(
    State(state): State<AppState>,
    actor: Actor,
    form: Result<AppForm<RevokeRequest>, AppError>,
) -> Response {
    let Some(token) = form
        .ok()
        .and_then(|AppForm(f)| f.token)
        .filter(|t| !t.is_empty())
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the token field is required",
        );
    };
    match auth::revoke(&state, &actor.anonymous_like(), &token).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/patients`: 201 with the account; its `identity` is `verified` for a person
/// new to Yunyi, `pending` (with the claim) for a number already on record.
async fn register(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<service::RegisterPatient>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let r = service::register_patient(&state, &actor, &input).await?;
    let body = match r.claim_id {
        None => json!({"account_id": r.account_id, "identity": "verified"}),
        Some(claim) => json!({
            "account_id": r.account_id,
            "identity": "pending",
            "claim_id": claim,
            "detail": PENDING_DETAIL,
        }),
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// What a pending claim's answer says, the same whatever the name.
const PENDING_DETAIL: &str = "this identity number is already on record: the person (or their guardian) confirms in Yunyi or tells you the code sent to their phone, or a hospital counter checks your papers";

/// Header a clinician sends to read a record without a care relationship, in an emergency.
pub const BREAK_GLASS_HEADER: &str = "x-break-glass-reason";

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

#[derive(Deserialize)]
struct CodeRequest {
    #[serde(default)]
    phone: String,
}

/// `POST /api/v1/auth/code {"phone"}`: 202 whether or not the number has an account.
async fn send_code(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<CodeRequest>,
) -> AppResult<StatusCode> {
    auth::request_login_code(&state, &actor, &input.phone).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
struct StepUpRequest {
    #[serde(default)]
    method: String,
    #[serde(default)]
    proof: String,
}

async fn step_up(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<StepUpRequest>,
) -> AppResult<StatusCode> {
    auth::step_up(&state, &actor, &input.method, &input.proof).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, actor: Actor) -> AppResult<Json<service::Profile>> {
    Ok(Json(service::profile(&state, &actor).await?))
}

/// `POST /api/v1/me/family`: 201 when linked (a person new to Yunyi), 202 with a claim when
/// the number is already on record.
async fn add_family(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<service::NewFamilyMember>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    Ok(
        match service::add_family_member(&state, &actor, &input).await? {
            service::FamilyAdded::Linked(person_id) => (
                StatusCode::CREATED,
                Json(json!({"person_id": person_id, "status": "linked"})),
            ),
            service::FamilyAdded::Pending(claim) => (
                StatusCode::ACCEPTED,
                Json(json!({"claim_id": claim, "status": "pending", "detail": PENDING_DETAIL})),
            ),
        },
    )
}

async fn my_claims(State(state): State<AppState>, actor: Actor) -> AppResult<Json<claims::Claims>> {
    Ok(Json(claims::mine(&state, &actor).await?))
}

async fn approve_claim(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<claims::ClaimView>> {
    Ok(Json(claims::decide(&state, &actor, id, true).await?))
}

async fn reject_claim(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<claims::ClaimView>> {
    Ok(Json(claims::decide(&state, &actor, id, false).await?))
}

#[derive(Deserialize)]
struct CodeInput {
    #[serde(default)]
    code: String,
}

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

async fn counter_claim(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<claims::CounterView>> {
    Ok(Json(claims::counter_view(&state, &actor, id).await?))
}

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

async fn list_staff(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<serde_json::Value>> {
    let items = service::list_staff(&state, &actor).await?;
    Ok(Json(json!({"items": items})))
}

async fn create_staff(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<service::NewStaff>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let id = service::create_staff(&state, Some(&actor), &input).await?;
    Ok((StatusCode::CREATED, Json(json!({"account_id": id}))))
}
