//! Errors: which type to use where.
//!
//! - Services and handlers return [`AppError`]. Its variants are the stable public error
//!   codes in [`ErrorCode`] (documented in docs/API.md); a client's mistake is never a 500.
//! - `AppError::into_response` attaches a [`Problem`] to the response. The `render_errors`
//!   middleware (web::middleware) then writes it in the form the caller expects, chosen by
//!   path: `application/problem+json` (RFC 9457) under `/api/`, a FHIR `OperationOutcome`
//!   under `/fhir`, a readable localized HTML page elsewhere. Errors produced outside our
//!   handlers (unknown method, body too large, timeout, panic) are rendered the same way.
//! - `anyhow` is for start-up, the CLI and jobs; inside a request it only appears wrapped in
//!   `AppError::Internal`, whose detail is logged and never shown.

pub mod reason;

pub use reason::Reason;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Stable error codes. The `slug` is part of the public API: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    Validation,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Timeout,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    Internal,
    Unavailable,
    StepUpRequired,
    PreconditionFailed,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 15] = [
        Self::BadRequest,
        Self::Validation,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Timeout,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::TooManyRequests,
        Self::Internal,
        Self::Unavailable,
        Self::StepUpRequired,
        Self::PreconditionFailed,
    ];

    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::StepUpRequired => StatusCode::FORBIDDEN,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::Validation => "validation",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Timeout => "timeout",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::TooManyRequests => "too-many-requests",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::StepUpRequired => "step-up-required",
            Self::PreconditionFailed => "precondition-failed",
        }
    }

    /// English title for the API (`title` in problem+json). Pages use the i18n catalog.
    pub fn title(self) -> &'static str {
        match self {
            Self::BadRequest => "The request is malformed",
            Self::Validation => "Some fields are invalid",
            Self::Unauthorized => "Sign-in required",
            Self::Forbidden => "Not allowed",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Timeout => "The request took too long",
            Self::Conflict => "Conflict with the current state",
            Self::PayloadTooLarge => "The request body is too large",
            Self::UnsupportedMediaType => "Unsupported content type",
            Self::TooManyRequests => "Too many requests",
            Self::Internal => "Internal error",
            Self::Unavailable => "Service unavailable",
            Self::StepUpRequired => "Identity check required",
            Self::PreconditionFailed => "The resource changed since it was read",
        }
    }

    /// The FHIR `IssueType` code for an `OperationOutcome`.
    pub fn fhir_issue_code(self) -> &'static str {
        match self {
            Self::BadRequest | Self::UnsupportedMediaType => "structure",
            Self::Validation => "invalid",
            Self::Unauthorized => "login",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "not-supported",
            Self::Timeout => "timeout",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "too-costly",
            Self::TooManyRequests => "throttled",
            Self::Internal => "exception",
            Self::Unavailable => "transient",
            Self::StepUpRequired => "security",
            Self::PreconditionFailed => "conflict",
        }
    }

    /// The code for a bare status produced outside our handlers (axum, tower layers).
    pub fn from_status(status: StatusCode) -> Self {
        Self::ALL
            .into_iter()
            .find(|c| c.status() == status)
            .unwrap_or(if status.is_server_error() {
                Self::Internal
            } else {
                Self::BadRequest
            })
    }

    /// The `type` URI of problem+json: a stable URN per code.
    pub fn type_uri(self) -> String {
        format!("urn:yunyi:problem:{}", self.slug())
    }
}

/// One invalid field: `field` is the JSON/form/query name the client sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    /// What was wrong, in English (the API's language).
    pub message: String,
    /// The catalogue's message for pages, with its `{name}` values, when there is one: a page
    /// in Chinese shows that instead of the English.
    #[serde(skip)]
    pub message_key: Option<(&'static str, Vec<(&'static str, String)>)>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            message_key: None,
        }
    }

    /// With the catalogue's message (`key`, filled with `args`) for pages.
    pub fn localized(mut self, key: &'static str, args: Vec<(&'static str, String)>) -> Self {
        self.message_key = Some((key, args));
        self
    }

    // The shapes most field errors take, each with its catalogue message, so a Chinese page
    // says them in Chinese.

    /// The field is missing.
    pub fn required(field: impl Into<String>) -> Self {
        Self::new(field, "is required").localized("field.required", vec![])
    }

    /// Text of `min` to `max` characters.
    pub fn length(field: impl Into<String>, min: usize, max: usize) -> Self {
        Self::new(field, format!("must be {min} to {max} characters")).localized(
            "field.length",
            vec![("min", min.to_string()), ("max", max.to_string())],
        )
    }

    /// A date written as `example` is (2026-12-01).
    pub fn date(field: impl Into<String>, example: &str) -> Self {
        Self::new(field, format!("must be a date like {example}"))
            .localized("field.date", vec![("example", example.to_owned())])
    }

    /// A date that has not come yet.
    pub fn not_future(field: impl Into<String>) -> Self {
        Self::new(field, "cannot be in the future").localized("field.not_future", vec![])
    }

    /// A whole number from `min` to `max`.
    pub fn range(field: impl Into<String>, min: i64, max: i64) -> Self {
        Self::new(field, format!("must be {min} to {max}")).localized(
            "field.range",
            vec![("min", min.to_string()), ("max", max.to_string())],
        )
    }
}

/// The error type of services and handlers.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{}", validation_summary(.0))]
    Validation(Vec<FieldError>),
    #[error("sign-in required")]
    Unauthorized,
    /// Credentials were presented and are wrong (the message never says which part).
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Refused for a specific, documented reason (its class gives the HTTP status); the
    /// message says the particulars in English.
    #[error("{1}")]
    Refused(Reason, String),
    /// A conflict caused by particular fields (a duplicate phone number, a taken username).
    #[error("{}", validation_summary(.0))]
    ConflictFields(Vec<FieldError>),
    /// The action needs a fresh identity check (doctor step-up) first.
    #[error("{0}")]
    StepUpRequired(String),
    /// Too many attempts; retry after this many seconds.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Unavailable(String),
    /// `If-Match` named a version that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    /// Anything unexpected. Logged in full; the client sees a generic message.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn validation_summary(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    parts.join("; ")
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if database_full(&e) {
            tracing::error!(error = %e, "the database's disk is full");
            return Self::refused(Reason::StorageFull, "the database's storage is full");
        }
        // The database is away (restarting, failing over, the network): a 503 the client may
        // retry, as /readyz says the same meanwhile.
        if matches!(
            e,
            sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::WorkerCrashed
        ) {
            tracing::warn!(error = %e, "the database is not reachable");
            return Self::refused(
                Reason::DatabaseUnavailable,
                "the database is not reachable at the moment; try again shortly",
            );
        }
        Self::Internal(anyhow::Error::new(e).context("database error"))
    }
}

/// SQLite's SQLITE_FULL (13), PostgreSQL's `disk_full` (53100), or the disk refusing a write.
fn database_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("13" | "53100"))
                || db.message().contains("database or disk is full")
        }
        sqlx::Error::Io(io) => io.kind() == std::io::ErrorKind::StorageFull,
        _ => false,
    }
}

impl AppError {
    /// An error from the blob store: the disk or bucket being full is a 503 that says so
    /// (nothing was saved), anything else is internal.
    pub fn from_storage(e: anyhow::Error) -> Self {
        let full = e.chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull)
        });
        if full {
            tracing::error!(error = %format!("{e:#}"), "the blob store's disk is full");
            return Self::refused(Reason::StorageFull, "the file storage is full");
        }
        Self::Internal(e)
    }
}

impl AppError {
    /// A single invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// A required field is missing (with its Chinese message for pages).
    pub fn required(field: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::required(field)])
    }

    /// A field error of one of [`FieldError`]'s common shapes.
    pub fn field(error: FieldError) -> Self {
        Self::Validation(vec![error])
    }

    /// [`Self::invalid`] with the catalogue's message (`key`, filled with `args`) for readers
    /// who asked for another language than English.
    pub fn invalid_localized(
        field: impl Into<String>,
        message: impl Into<String>,
        key: &'static str,
        args: Vec<(&'static str, String)>,
    ) -> Self {
        Self::Validation(vec![FieldError::new(field, message).localized(key, args)])
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::Validation(_) => ErrorCode::Validation,
            Self::Unauthorized | Self::Unauthenticated(_) => ErrorCode::Unauthorized,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) | Self::ConflictFields(_) => ErrorCode::Conflict,
            Self::StepUpRequired(_) => ErrorCode::StepUpRequired,
            Self::TooManyRequests { .. } => ErrorCode::TooManyRequests,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::PreconditionFailed(_) => ErrorCode::PreconditionFailed,
            Self::Internal(_) => ErrorCode::Internal,
            Self::Refused(reason, _) => reason.class(),
        }
    }

    /// Refused for `reason`, with the particulars in English.
    pub fn refused(reason: Reason, message: impl Into<String>) -> Self {
        Self::Refused(reason, message.into())
    }

    /// A conflict with the current state of something, of whatever specific reason: the
    /// caller may show it and go on (a form's message, a job's "changed meanwhile").
    pub fn is_conflict(&self) -> bool {
        self.code() == ErrorCode::Conflict
    }

    /// Refused because the thing is not in a state that allows the action (a lifecycle's
    /// `transition` said no); the message names the state.
    pub fn wrong_state(message: impl std::fmt::Display) -> Self {
        Self::Refused(Reason::WrongState, message.to_string())
    }

    /// The specific reason, when there is one.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::Refused(reason, _) => Some(*reason),
            _ => None,
        }
    }

    /// What the client may see.
    pub fn to_problem(&self) -> Problem {
        let code = self.code();
        let (detail, errors) = match self {
            Self::Validation(errors) | Self::ConflictFields(errors) => {
                (self.to_string(), errors.clone())
            }
            Self::Internal(_) => (
                "An unexpected error occurred. It has been logged; please try again later."
                    .to_owned(),
                Vec::new(),
            ),
            other => (other.to_string(), Vec::new()),
        };
        Problem {
            code,
            reason: self.reason(),
            detail,
            errors,
        }
    }
}

/// The client-facing content of an error, carried in response extensions until rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: ErrorCode,
    /// The specific reason, when the error has one.
    pub reason: Option<Reason>,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// For an error response that did not come from an `AppError` (e.g. axum's 405).
    pub fn from_status(status: StatusCode) -> Self {
        let code = ErrorCode::from_status(status);
        let detail = match code {
            ErrorCode::NotFound => "There is nothing at this address.".to_owned(),
            ErrorCode::MethodNotAllowed => {
                "This address does not accept that HTTP method.".to_owned()
            }
            ErrorCode::PayloadTooLarge => "The request body exceeds the size limit.".to_owned(),
            ErrorCode::Timeout => {
                "The server did not finish the request in time; please try again.".to_owned()
            }
            ErrorCode::Internal => {
                "An unexpected error occurred. It has been logged; please try again later."
                    .to_owned()
            }
            other => other.title().to_owned(),
        };
        Self {
            code,
            reason: None,
            detail,
            errors: Vec::new(),
        }
    }

    /// The machine code clients branch on: the specific reason, or else the class.
    pub fn machine_code(&self) -> &'static str {
        self.reason.map_or_else(|| self.code.slug(), Reason::as_str)
    }

    /// RFC 9457 body. `instance` is the request path, `request_id` correlates with logs.
    pub fn to_problem_json(&self, instance: &str, request_id: Option<&str>) -> serde_json::Value {
        let mut body = serde_json::json!({
            "type": self.code.type_uri(),
            "title": self.code.title(),
            "status": self.code.status().as_u16(),
            "detail": self.detail,
            "code": self.machine_code(),
            "instance": instance,
        });
        if let Some(obj) = body.as_object_mut() {
            if let Some(id) = request_id {
                obj.insert("request_id".into(), id.into());
            }
            if !self.errors.is_empty() {
                obj.insert("errors".into(), serde_json::json!(self.errors));
            }
        }
        body
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(e) = &self {
            // `{:#}` prints the cause chain; this is the only place its detail goes.
            tracing::error!(error = format!("{e:#}"), "request failed");
        }
        let problem = self.to_problem();
        // A complete problem+json body, so the response is right even without the rendering
        // middleware; the middleware replaces it with the form the path calls for.
        let mut response = (
            problem.code.status(),
            Json(problem.to_problem_json("", None)),
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            Self::Unauthorized => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::TooManyRequests {
                retry_after_secs, ..
            } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        response.extensions_mut().insert(problem);
        response
    }
}

/// Result alias for handlers and services.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The common field errors carry their Chinese message for pages; the API keeps English.
    #[test]
    fn common_field_errors_read_in_chinese_on_pages() {
        use crate::web::i18n::Lang;
        let zh = |e: FieldError| {
            let (key, args) = e.message_key.clone().unwrap_or(("", vec![]));
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            (e.message, Lang::Zh.t_with(key, &args))
        };
        assert_eq!(
            zh(FieldError::length("name", 1, 60)),
            (
                "must be 1 to 60 characters".to_owned(),
                "请填写 1 到 60 个字。".to_owned()
            )
        );
        assert_eq!(zh(FieldError::required("slot_id")).1, "必填。");
        assert_eq!(
            zh(FieldError::date("date", "2026-12-01")).1,
            "请填写日期，格式如 2026-12-01。"
        );
        assert_eq!(zh(FieldError::not_future("onset_on")).1, "不能晚于今天。");
        assert_eq!(
            zh(FieldError::range("days", 1, 28)).1,
            "请填写 1 到 28 之间的整数。"
        );
    }

    /// A full disk and an unreachable database are the server's state, not the client's
    /// mistake and not an unknown failure: 503s a client can act on (scripts/faults shows them
    /// end to end).
    #[test]
    fn storage_and_database_outages_are_503s() {
        let full = std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device");
        let blob = AppError::from_storage(anyhow::Error::new(full).context("writing blob"));
        assert_eq!(blob.reason(), Some(Reason::StorageFull));
        assert_eq!(blob.code(), ErrorCode::Unavailable);
        let db = AppError::from(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "full",
        )));
        assert_eq!(db.reason(), Some(Reason::StorageFull));
        let away = AppError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(away.code(), ErrorCode::Unavailable);
        assert_eq!(away.reason(), Some(Reason::DatabaseUnavailable));
        let other = AppError::from_storage(anyhow::anyhow!("permission denied"));
        assert_eq!(other.code(), ErrorCode::Internal);
    }

    #[test]
    fn every_code_has_a_distinct_slug_and_maps_back_from_its_status() {
        let mut slugs: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), ErrorCode::ALL.len());
        for code in ErrorCode::ALL {
            if code != ErrorCode::StepUpRequired {
                assert_eq!(ErrorCode::from_status(code.status()), code);
            }
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = AppError::Internal(anyhow::anyhow!("password=hunter2 leaked in SQL"));
        let p = e.to_problem();
        assert!(!p.detail.contains("hunter2"));
        assert_eq!(p.code, ErrorCode::Internal);
    }

    #[test]
    fn validation_lists_fields() {
        let e = AppError::Validation(vec![FieldError::new("limit", "must be between 1 and 100")]);
        let body = e.to_problem().to_problem_json("/api/v1/x", Some("r1"));
        assert_eq!(body["status"], 422);
        assert_eq!(body["errors"][0]["field"], "limit");
        assert_eq!(body["request_id"], "r1");
    }
}
