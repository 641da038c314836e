//! Our own extractors, so malformed input gets the same clear error form everywhere.

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::{AppError, Reason};

/// JSON body. A wrong content type is 415; unparseable JSON is 400 saying where; a value of
/// the wrong type is 400 naming the field (never our internal type names); text with control
/// or text-direction characters, or longer than any field may be, is 422 naming the field.
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => value,
            Err(JsonRejection::MissingJsonContentType(_)) => {
                return Err(AppError::UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json".to_owned(),
                ));
            }
            Err(e) => return Err(AppError::BadRequest(e.body_text())),
        };
        crate::text::check_json(&value).map_err(AppError::Validation)?;
        serde_path_to_error::deserialize(value)
            .map(Self)
            .map_err(|e| type_error(e.path().to_string(), &e.into_inner().to_string()))
    }
}

/// An optional JSON body: no body at all is `None` (a bare POST); a body that is there must be
/// JSON of the right shape, exactly as [`AppJson`] — bad input is refused, never ignored.
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        // The body limit layer has bounded what this reads.
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .map_err(|e| AppError::BadRequest(format!("the body could not be read: {e}")))?;
        if bytes.is_empty() {
            return Ok(Self(None));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        AppJson::from_request(req, state)
            .await
            .map(|AppJson(v)| Self(Some(v)))
    }
}

/// A body value of the wrong shape, said without our type names.
fn type_error(path: String, message: &str) -> AppError {
    let message = crate::text::public_serde_message(message);
    if path.is_empty() || path == "." {
        AppError::BadRequest(format!("the body does not fit this request: {message}"))
    } else {
        AppError::BadRequest(format!("{path}: {message}"))
    }
}

/// URL-encoded form body (HTML forms, OAuth token requests), checked as JSON bodies are.
pub struct AppForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';').next().is_some_and(|m| {
                    m.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
        if !is_form {
            // Let axum say it (a GET's query is also a form to axum, which we never use here).
            return match axum::Form::<T>::from_request(req, state).await {
                Ok(axum::Form(value)) => Ok(Self(value)),
                Err(FormRejection::InvalidFormContentType(_)) => Err(AppError::UnsupportedMediaType(
                    "send the body as a form with Content-Type: application/x-www-form-urlencoded"
                        .to_owned(),
                )),
                Err(e) => Err(AppError::BadRequest(e.body_text())),
            };
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::BadRequest(e.body_text()))?;
        let errors: Vec<_> = url::form_urlencoded::parse(&bytes)
            .filter_map(|(k, v)| crate::text::check(&k, &v, crate::text::MAX_FIELD_CHARS).err())
            .take(20)
            .collect();
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(&bytes));
        serde_path_to_error::deserialize(de)
            .map(Self)
            .map_err(|e| type_error(e.path().to_string(), &e.into_inner().to_string()))
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

/// The `{id}` of a route, as a handler argument: `PathId(id): PathId`. Our ids are positive
/// integers, so `/hospitals/abc` names nothing (404), on every route alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathId {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| no_such_id(""))?;
        let raw = params
            .iter()
            .find(|(name, _)| *name == "id")
            .map(|(_, value)| value.to_owned())
            // A route without `{id}` using this extractor is a programming error, caught by
            // the route-walking tests; the visitor sees "nothing here" rather than a crash.
            .ok_or_else(|| no_such_id(""))?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(PathId)
            .ok_or_else(|| no_such_id(&raw))
    }
}

/// The `{id}` of a route and the one other id after it (`/groups/{id}/messages/{seq}`), as
/// a handler argument: `PathIds(id, seq): PathIds`. Either not an id is a 404, as for
/// [`PathId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathIds(pub i64, pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathIds {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, AppError> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| no_such_id(""))?;
        let parse = |raw: &str| {
            raw.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| no_such_id(raw))
        };
        let mut id = None;
        let mut other = None;
        for (name, value) in params.iter() {
            if name == "id" {
                id = Some(parse(value)?);
            } else {
                other = Some(parse(value)?);
            }
        }
        match (id, other) {
            (Some(id), Some(other)) => Ok(PathIds(id, other)),
            _ => Err(no_such_id("")),
        }
    }
}

/// The refusal of an id that is not one: a 404 with its own code, so pages say it in the
/// visitor's language.
fn no_such_id(raw: &str) -> AppError {
    AppError::refused(
        Reason::NoSuchId,
        format!(
            "there is nothing at this address: '{raw}' is not an id (ids are positive whole numbers)"
        ),
    )
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

/// Every request's query string is checked as bodies are (control and text-direction
/// characters, length), once, before any handler parses it: search terms and the prior-record
/// upload's fields arrive there.
pub async fn check_query(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(query) = req.uri().query() {
        let errors: Vec<_> = url::form_urlencoded::parse(query.as_bytes())
            .filter_map(|(k, v)| crate::text::check(&k, &v, crate::text::MAX_FIELD_CHARS).err())
            .take(20)
            .collect();
        if !errors.is_empty() {
            return AppError::Validation(errors).into_response();
        }
    }
    next.run(req).await
}
