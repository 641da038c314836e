//! Who is making a request: [`Actor`], extracted from a bearer token or the session cookie,
//! plus the request id and client address the audit trail records.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::model::Role;
use super::service;
use crate::app::AppState;
use crate::audit::{self, AuditActor, NewEvent, Outcome};
use crate::error::AppError;
use crate::error::Reason;
use crate::web::i18n::cookie_value;

pub const SESSION_COOKIE: &str = "yunyi_session";

crate::text_enum! {
    pub enum SessionKind {
        Cookie = "cookie",
        Bearer = "bearer",
    }
}

/// A signed-in account, as its session describes it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account_id: i64,
    pub role: Role,
    pub username: Option<String>,
    pub display_name: String,
    /// The patient's own person record (patients only).
    pub person_id: Option<i64>,
    /// The hospital a staff member belongs to.
    pub hospital_id: Option<i64>,
    pub session_id: i64,
    pub session_kind: SessionKind,
    /// When the doctor last passed the identity step-up check in this session.
    pub step_up_at: Option<i64>,
    /// The SHA-256 of the session's token: how a long-lived connection asks whether its
    /// session is still live.
    pub token_hash: String,
    /// Set when a SMART app holds the token: what it was granted. Such a token opens `/fhir`
    /// only, within its scopes.
    pub app: Option<std::sync::Arc<crate::smart::AppAccess>>,
    /// The one person this request may touch: set for a SMART app's request that only a
    /// `patient/` scope covers (the policy refuses anyone else).
    pub compartment: Option<i64>,
}

impl SignedIn {
    /// The person a patient names in a request, or their own person record when they name
    /// none (whether they may act for the one named is the policy's question).
    pub fn person_or_self(&self, named: Option<i64>) -> Result<i64, AppError> {
        named
            .or(self.person_id)
            .ok_or_else(|| AppError::required("person_id"))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub signed_in: Option<SignedIn>,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
}

impl Actor {
    /// The signed-in account, or 401.
    pub fn require(&self) -> Result<&SignedIn, AppError> {
        self.signed_in.as_ref().ok_or(AppError::Unauthorized)
    }

    pub fn role(&self) -> Option<Role> {
        self.signed_in.as_ref().map(|s| s.role)
    }

    /// How this actor appears in the audit trail.
    pub fn audit(&self) -> AuditActor {
        AuditActor {
            account_id: self.signed_in.as_ref().map(|s| s.account_id),
            role: self
                .signed_in
                .as_ref()
                .map(|s| s.role.as_str())
                .unwrap_or("anonymous")
                .to_owned(),
            request_id: self.request_id.clone(),
            client_addr: self.client_addr.clone(),
        }
    }

    /// The same request, before sign-in (for audit events about a sign-in attempt).
    pub fn anonymous_like(&self) -> Actor {
        Actor {
            signed_in: None,
            request_id: self.request_id.clone(),
            client_addr: self.client_addr.clone(),
        }
    }
}

/// The bearer token in `Authorization`, if any.
pub fn bearer_token(parts: &Parts) -> Option<String> {
    bearer_token_header(&parts.headers)
}

pub fn bearer_token_header(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(actor) = parts.extensions.get::<Actor>() {
            return Ok(actor.clone());
        }
        if parts.extensions.get::<AppTokenRefused>().is_some() {
            return Err(app_token_refused());
        }
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let client_addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        let signed_in = if let Some(token) = bearer_token(parts) {
            // A presented but invalid token is an error, not anonymity: the client must know.
            Some(
                service::authenticate(state, &token, SessionKind::Bearer)
                    .await?
                    .ok_or(AppError::Unauthorized)?,
            )
        } else if let Some(token) = cookie_value(&parts.headers, SESSION_COOKIE) {
            service::authenticate(state, &token, SessionKind::Cookie).await?
        } else {
            None
        };
        let actor = Actor {
            signed_in,
            request_id,
            client_addr,
        };
        let app_outside_fhir = actor.signed_in.as_ref().is_some_and(|s| s.app.is_some())
            && !parts.uri.path().starts_with("/fhir/");
        if app_outside_fhir {
            // Refused once, audited once, however many extractors ask.
            parts.extensions.insert(AppTokenRefused);
            let event = NewEvent::new(actor.audit(), "request.denied", "request")
                .object(crate::text::clip(
                    &format!("{} {}", parts.method, parts.uri.path()),
                    300,
                ))
                .outcome(Outcome::Denied)
                .reason("a SMART app's token outside /fhir");
            audit::record(&state.db, &event).await?;
            return Err(app_token_refused());
        }
        parts.extensions.insert(actor.clone());
        Ok(actor)
    }
}

/// Marks a request whose SMART app token was refused (see [`Actor`]'s extractor).
#[derive(Clone, Copy)]
struct AppTokenRefused;

fn app_token_refused() -> AppError {
    AppError::refused(
        Reason::ScopeInsufficient,
        "a SMART app's token opens the FHIR API (/fhir) only",
    )
}
