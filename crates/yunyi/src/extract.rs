//! Our own extractors, so malformed input gets the same clear error form everywhere.

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// JSON body. A wrong content type is 415; unparseable or mistyped JSON is 400 saying where.
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".to_owned(),
            )),
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}

/// URL-encoded form body (HTML forms, OAuth token requests).
pub struct AppForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(Self(value)),
            Err(FormRejection::InvalidFormContentType(_)) => Err(AppError::UnsupportedMediaType(
                "send the body as a form with Content-Type: application/x-www-form-urlencoded"
                    .to_owned(),
            )),
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}

/// An id in a URL path: our ids are positive integers, so anything else simply does not exist
/// (404 naming what was looked for), never a malformed request.
pub fn path_id(what: &str, raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::NotFound(format!("no {what} with id '{raw}'")))
}

/// The header the built-in sandboxes (payment gateway, courier) sign their callbacks in.
pub const SANDBOX_SIGNATURE: &str = "x-sandbox-signature";

/// A server-to-server callback's signature header; a callback without one is refused.
pub fn signature<'a>(
    headers: &'a axum::http::HeaderMap,
    name: &str,
    what: &str,
) -> Result<&'a str, AppError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::Forbidden(format!("the {what} is not signed")))
}
