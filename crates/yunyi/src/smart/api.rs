//! OAuth 2 over HTTP: `/auth/token` (password, authorization code, refresh token),
//! `/auth/revoke`, `/fhir/.well-known/smart-configuration`, and the platform admin's app registry
//! under `/api/v1/smart-clients`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::service::{self, ClientCredentials, OAuthFailure};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppForm, AppJson};
use crate::identity::Actor;
use crate::identity::actor::SessionKind;
use crate::identity::auth;
use crate::paging::Items;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    token,
    revoke,
    smart_configuration,
    openid_configuration,
    jwks,
    list_clients,
    register_client
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/token", post(token))
        .route("/auth/revoke", post(revoke))
        .route(
            "/fhir/.well-known/smart-configuration",
            get(smart_configuration),
        )
        .route(
            "/fhir/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/fhir/.well-known/jwks.json", get(jwks))
        .route(
            "/api/v1/smart-clients",
            get(list_clients).post(register_client),
        )
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TokenRequest {
    /// `password`, `authorization_code` or `refresh_token`.
    grant_type: Option<String>,
    /// password grant: a username or a phone number.
    username: Option<String>,
    password: Option<String>,
    /// authorization_code grant.
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    /// refresh_token grant.
    refresh_token: Option<String>,
    /// refresh_token grant: a narrower scope for the new access token.
    scope: Option<String>,
    /// A SMART app: its id (and a confidential app's secret, unless sent by HTTP Basic).
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An RFC 6749 §5.2 error answer.
#[derive(Serialize, utoipa::ToSchema)]
struct OAuthError<'a> {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `invalid_scope` or
    /// `unsupported_grant_type`.
    error: &'a str,
    error_description: &'a str,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = OAuthError {
        error,
        error_description: description,
    };
    let mut response = no_store((status, Json(body)).into_response());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"yunyi\""),
        );
    }
    response
}

fn failure(f: &OAuthFailure) -> Response {
    oauth_error(
        StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_REQUEST),
        f.error,
        &f.description,
    )
}

/// A confidential client's `Authorization: Basic` (RFC 6749 §2.3.1: both parts form-encoded).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// Get tokens.
///
/// `POST /auth/token` (RFC 6749), a form:
/// - `grant_type=password` with `username` (a username or a phone number) and `password`:
///   Yunyi's own apps;
/// - `grant_type=authorization_code` with `code`, `redirect_uri`, `code_verifier` (PKCE) and
///   `client_id` (a confidential app authenticates by HTTP Basic or `client_secret`): SMART
///   apps, after `/auth/authorize`;
/// - `grant_type=refresh_token` with `refresh_token` (and optionally a narrower `scope`): a
///   new access token and a new refresh token; the old one is spent.
#[utoipa::path(post, path = "/auth/token", security(()),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "A bearer token (the password grant's answer has no scope, refresh token or patient)", body = service::Tokens),
        (status = 400, description = "RFC 6749 error", body = OAuthError),
        (status = 401, description = "The client is unknown or its secret is wrong", body = OAuthError),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = OAuthError)))]
async fn token(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    form: Result<AppForm<TokenRequest>, AppError>,
) -> Response {
    let Ok(AppForm(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send a form (application/x-www-form-urlencoded) with grant_type and its fields",
        );
    };
    let creds = match basic_credentials(&headers) {
        Some((id, secret)) => ClientCredentials {
            client_id: Some(id),
            client_secret: Some(secret),
        },
        None => ClientCredentials {
            client_id: form.client_id.clone(),
            client_secret: form.client_secret.clone(),
        },
    };
    let result = match form.grant_type.as_deref() {
        Some("password") => return password_grant(&state, &actor, form).await,
        Some("authorization_code") => {
            let Some(code) = form.code.as_deref() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code is required",
                );
            };
            service::exchange_code(
                &state,
                &actor,
                &format!("{}/fhir", crate::web::origin(&headers)),
                &creds,
                code,
                form.redirect_uri.as_deref(),
                form.code_verifier.as_deref(),
            )
            .await
        }
        Some("refresh_token") => {
            let Some(refresh) = form.refresh_token.as_deref() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                );
            };
            service::refresh(&state, &actor, &creds, refresh, form.scope.as_deref()).await
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be password, authorization_code or refresh_token",
            );
        }
    };
    match result {
        Ok(Ok(tokens)) => no_store(Json(tokens).into_response()),
        Ok(Err(f)) => failure(&f),
        Err(e) => e.into_response(),
    }
}

async fn password_grant(state: &AppState, actor: &Actor, form: TokenRequest) -> Response {
    let (Some(username), Some(password)) = (form.username, form.password) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "username and password are required",
        );
    };
    let result = async {
        let account = auth::login_password(state, actor, &username, &password).await?;
        auth::start_session(state, actor, account.id, SessionKind::Bearer).await
    }
    .await;
    match result {
        Ok((access_token, expires_in)) => no_store(
            Json(service::Tokens {
                access_token,
                token_type: "Bearer",
                expires_in,
                scope: None,
                refresh_token: None,
                patient: None,
                id_token: None,
            })
            .into_response(),
        ),
        Err(AppError::TooManyRequests {
            message,
            retry_after_secs,
        }) => {
            let mut response =
                oauth_error(StatusCode::TOO_MANY_REQUESTS, "invalid_grant", &message);
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Err(AppError::Unauthenticated(_)) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            auth::BAD_CREDENTIALS,
        ),
        Err(AppError::Validation(_)) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "username and password are required",
        ),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RevokeRequest {
    token: Option<String>,
}

/// Revoke a token.
///
/// `POST /auth/revoke` (RFC 7009): always 200, whether or not the token was valid. A SMART
/// app's refresh token ends its whole authorization, with every access token issued under it.
#[utoipa::path(post, path = "/auth/revoke", security(()),
    request_body(content = RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Revoked (or was not valid)"),
        (status = 400, description = "No token", body = OAuthError)))]
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
    let anonymous = actor.anonymous_like();
    let result = async {
        if !service::revoke_refresh(&state, &anonymous, &token).await? {
            auth::revoke(&state, &anonymous, &token).await?;
        }
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}

/// SMART App Launch's discovery document, at the FHIR base (`/fhir/.well-known/smart-configuration`).
#[derive(Serialize, utoipa::ToSchema)]
struct SmartConfiguration {
    /// The id_token issuer: this server's FHIR base URL.
    issuer: String,
    jwks_uri: String,
    authorization_endpoint: String,
    token_endpoint: String,
    revocation_endpoint: String,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    grant_types_supported: Vec<&'static str>,
    scopes_supported: Vec<&'static str>,
    response_types_supported: Vec<&'static str>,
    code_challenge_methods_supported: Vec<&'static str>,
    capabilities: Vec<&'static str>,
}

/// Where a SMART app finds the authorization server.
#[utoipa::path(get, path = "/fhir/.well-known/smart-configuration", security(()),
    responses((status = 200, description = "SMART App Launch 2.x configuration", body = SmartConfiguration)))]
async fn smart_configuration(headers: HeaderMap) -> Json<SmartConfiguration> {
    let origin = crate::web::origin(&headers);
    Json(SmartConfiguration {
        issuer: format!("{origin}/fhir"),
        jwks_uri: format!("{origin}/fhir/.well-known/jwks.json"),
        authorization_endpoint: format!("{origin}/auth/authorize"),
        token_endpoint: format!("{origin}/auth/token"),
        revocation_endpoint: format!("{origin}/auth/revoke"),
        token_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post"],
        grant_types_supported: vec!["authorization_code", "refresh_token"],
        scopes_supported: service::SCOPES_SUPPORTED.to_vec(),
        response_types_supported: vec!["code"],
        code_challenge_methods_supported: vec!["S256"],
        capabilities: CAPABILITIES.to_vec(),
    })
}

/// What Yunyi's SMART server does, in SMART's words.
pub const CAPABILITIES: &[&str] = &[
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "context-standalone-patient",
    "permission-offline",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
    "sso-openid-connect",
];

/// OpenID Connect discovery (the parts SMART apps read).
#[derive(Serialize, utoipa::ToSchema)]
struct OpenIdConfiguration {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    response_types_supported: Vec<&'static str>,
    subject_types_supported: Vec<&'static str>,
    id_token_signing_alg_values_supported: Vec<&'static str>,
    scopes_supported: Vec<&'static str>,
}

/// OpenID Connect discovery for the id_tokens SMART apps receive with `openid`.
#[utoipa::path(get, path = "/fhir/.well-known/openid-configuration", security(()),
    responses((status = 200, description = "OpenID Connect discovery", body = OpenIdConfiguration)))]
async fn openid_configuration(headers: HeaderMap) -> Json<OpenIdConfiguration> {
    let origin = crate::web::origin(&headers);
    Json(OpenIdConfiguration {
        issuer: format!("{origin}/fhir"),
        authorization_endpoint: format!("{origin}/auth/authorize"),
        token_endpoint: format!("{origin}/auth/token"),
        jwks_uri: format!("{origin}/fhir/.well-known/jwks.json"),
        response_types_supported: vec!["code"],
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: vec!["RS256"],
        scopes_supported: service::SCOPES_SUPPORTED.to_vec(),
    })
}

/// A JSON Web Key Set.
#[derive(Serialize, utoipa::ToSchema)]
struct Jwks {
    /// RSA public keys (`kty`, `use`, `alg`, `kid`, `n`, `e`).
    keys: Vec<std::collections::BTreeMap<String, String>>,
}

/// The public key that verifies id_tokens.
#[utoipa::path(get, path = "/fhir/.well-known/jwks.json", security(()),
    responses((status = 200, description = "The JWK Set", body = Jwks)))]
async fn jwks(State(state): State<AppState>) -> AppResult<Json<Jwks>> {
    let set = super::oidc::signing(&state).await?.jwks();
    Ok(Json(Jwks { keys: set }))
}

/// The registered SMART apps (platform admin).
#[utoipa::path(get, path = "/api/v1/smart-clients",
    responses((status = 200, description = "The apps", body = Items<service::ClientView>)))]
async fn list_clients(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<service::ClientView>>> {
    Ok(Json(Items {
        items: service::list_clients(&state, &actor).await?,
    }))
}

/// Register a SMART app (platform admin); a confidential app's secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/smart-clients", request_body = service::NewClient,
    responses((status = 201, description = "Registered", body = service::ClientView)))]
async fn register_client(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<service::NewClient>,
) -> AppResult<(StatusCode, Json<service::ClientView>)> {
    let client = service::register_client(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(client)))
}
