//! CSRF protection for everything a browser can be tricked into sending.
//!
//! Every visitor gets a random nonce cookie (`yunyi_csrf`); forms carry
//! `csrf_token = MAC(key, nonce)` in a hidden field and htmx sends it as `x-csrf-token`. An
//! attacker's page can make the browser send the cookie, but cannot read it or compute the
//! MAC. Checked here, in one middleware, for every unsafe request that relies on ambient
//! browser credentials, so no handler can forget it.
//!
//! Exempt: requests with `Authorization: Bearer` (no ambient credential), the OAuth endpoints
//! (`/auth/token`, `/auth/revoke`) which take credentials in the body, and API/FHIR calls that
//! carry no session cookie.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::actor::SESSION_COOKIE;
use crate::app::AppState;
use crate::crypto;
use crate::error::AppError;
use crate::web::i18n::cookie_value;

pub const CSRF_COOKIE: &str = "yunyi_csrf";
pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The nonce for this request (from its cookie, or freshly minted), in request extensions.
#[derive(Debug, Clone)]
pub struct CsrfNonce(pub String);

/// The token to put in forms for this nonce.
pub fn token_for(state: &AppState, nonce: &str) -> String {
    state.keys.token_mac(&format!("csrf:{nonce}"))
}

fn needs_check(req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let path = req.uri().path();
    if path == "/auth/token" || path == "/auth/revoke" {
        return false;
    }
    if super::actor::bearer_token_header(req.headers()).is_some() {
        return false;
    }
    // The demo's WeChat stand-in is called by this server's own WeChat client, as WeChat's
    // API would be: a machine, like `/api/`.
    let machine = path.starts_with("/api/")
        || path.starts_with("/fhir/")
        || path.starts_with("/sandbox/wechat/cgi-bin/");
    let has_session = cookie_value(req.headers(), SESSION_COOKIE).is_some();
    !machine || has_session
}

pub async fn protect(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let existing = cookie_value(req.headers(), CSRF_COOKIE).filter(|n| n.len() >= 16);
    if needs_check(&req) {
        match verify(&state, existing.as_deref(), req).await {
            Ok(checked) => req = checked,
            Err(e) => return e.into_response(),
        }
    }
    let minted = existing.is_none().then(crypto::random_token);
    let nonce = existing.or_else(|| minted.clone()).unwrap_or_default();
    req.extensions_mut().insert(CsrfNonce(nonce));
    let mut response = next.run(req).await;
    if let Some(nonce) = minted {
        // Readable only by our pages' server side; SameSite=Lax adds a second line of defence.
        let cookie = format!("{CSRF_COOKIE}={nonce}; Path=/; HttpOnly; SameSite=Lax");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// Returns the request (with its body restored) when the token matches.
async fn verify(state: &AppState, nonce: Option<&str>, req: Request) -> Result<Request, AppError> {
    let expired = || {
        AppError::Forbidden(
            "this form has expired or did not come from this site: reload the page and try again"
                .to_owned(),
        )
    };
    let nonce = nonce.ok_or_else(expired)?;
    let expected = token_for(state, nonce);
    if let Some(sent) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if crypto::constant_time_eq(sent, &expected) {
            Ok(req)
        } else {
            Err(expired())
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(expired());
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, state.config.http.body_limit_bytes)
        .await
        .map_err(|_| AppError::BadRequest("the form could not be read".to_owned()))?;
    let sent = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    match sent {
        Some(sent) if crypto::constant_time_eq(&sent, &expected) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(expired()),
    }
}
