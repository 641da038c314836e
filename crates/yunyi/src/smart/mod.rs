//! The OAuth 2 authorization server: the password grant for Yunyi's own clients, and SMART on
//! FHIR App Launch 2.x (standalone launch) for third-party apps.
//!
//! An app registered by the platform admin sends a person to `/auth/authorize`; signed in,
//! they see in Chinese what it will read and for whom, and allow or refuse. An allowed request
//! gets a one-time code bound to the redirect URI and a PKCE S256 challenge; `/auth/token`
//! trades it for an access token (a bearer session naming its grant) and, with
//! `offline_access`, a refresh token that rotates on each use. A used refresh token or code
//! presented again revokes the whole grant. The app's token opens `/fhir` only, and there only
//! what its scopes cover (`fhir::scopes`), within what the access policy lets the person see;
//! a `patient/` scope holds it to the patient in context.

use axum::Router;

use crate::app::AppState;

pub mod api;
pub mod oidc;
pub mod pages;
pub mod scope;
pub mod service;
pub mod store;

/// What a SMART app's token carries into each request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAccess {
    pub grant_id: i64,
    pub scopes: scope::Scopes,
    /// The patient in context (launch/patient).
    pub patient: Option<i64>,
}

pub fn router() -> Router<AppState> {
    api::router().merge(pages::router())
}
