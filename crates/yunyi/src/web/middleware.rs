//! Middleware applied to every route: error rendering in the caller's form, and security
//! headers.

use askama::Template;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::i18n::Lang;
use super::{ErrorPage, PageCtx};
use crate::error::{ErrorCode, Problem};
use crate::fhir;

/// Operations endpoints answer machines, so their errors are problem+json too.
const OPS_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The three audiences of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Api,
    Fhir,
    Page,
}

impl Surface {
    pub fn for_path(path: &str) -> Self {
        if path == "/api" || path.starts_with("/api/") || OPS_PATHS.contains(&path) {
            Surface::Api
        } else if path == "/fhir" || path.starts_with("/fhir/") {
            Surface::Fhir
        } else {
            Surface::Page
        }
    }
}

/// Gives every error response the body its caller expects (see `error.rs`). Responses that a
/// handler rendered deliberately (an HTML form shown again with its errors, a JSON health
/// report) pass through untouched.
pub async fn render_errors(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let mut page = PageCtx::from_parts(&parts);
    // The API and FHIR speak English unless the client asks otherwise; pages speak the
    // visitor's language.
    let asked = Lang::asked_for(&parts.headers);
    let is_get = parts.method == axum::http::Method::GET;
    let path = parts.uri.path().to_owned();
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(Request::from_parts(parts, body)).await;

    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let problem = match response.extensions().get::<Problem>() {
        Some(problem) => problem.clone(),
        None if has_own_body(&response) => return response,
        None => Problem::from_status(status),
    };
    let surface = Surface::for_path(&path);
    if surface == Surface::Page && is_get && problem.code == ErrorCode::StepUpRequired {
        // A doctor's page that needs the identity check: check, then come back here.
        return axum::response::Redirect::to(&super::with_next("/me/step-up", &page.here))
            .into_response();
    }
    if surface == Surface::Page && status == StatusCode::UNAUTHORIZED {
        // A person, not a client: take them to sign in and bring them back afterwards.
        return axum::response::Redirect::to(&super::with_next("/login", &page.here))
            .into_response();
    }
    let lang = match surface {
        Surface::Page => Some(page.lang),
        Surface::Api | Surface::Fhir => asked,
    };
    let (problem, readable) = localized(problem, lang);
    let (original, _) = response.into_parts();
    let mut rendered = match surface {
        Surface::Api => {
            let body = problem.to_problem_json(&path, request_id.as_deref());
            with_type(body.to_string(), "application/problem+json")
        }
        Surface::Fhir => {
            let body = fhir::operation_outcome(&problem);
            with_type(body.to_string(), fhir::CONTENT_TYPE)
        }
        Surface::Page => {
            // Still signed in: the header says so (a refusal is not a sign-out).
            page.user = original
                .extensions
                .get::<crate::web::page::UserBadge>()
                .cloned();
            let title = page.t(&format!("error.{}", problem.code.slug()));
            let html = ErrorPage {
                page,
                status: status.as_u16(),
                title,
                detail: problem.detail.clone(),
                detail_readable: readable,
                errors: problem.errors.clone(),
                request_id,
            }
            .render();
            match html {
                Ok(html) => with_type(html, "text/html; charset=utf-8"),
                Err(e) => {
                    tracing::error!(error = %e, "error page failed to render");
                    with_type(problem.detail.clone(), "text/plain; charset=utf-8")
                }
            }
        }
    };
    *rendered.status_mut() = status;
    // Keep what the original response said besides its body (Allow, WWW-Authenticate,
    // Retry-After, Set-Cookie …).
    for (name, value) in original.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rendered.headers_mut().append(name.clone(), value.clone());
        }
    }
    rendered
}

/// The problem with its detail in Chinese when that is the language wanted and its reason has
/// a message in the catalogue (the English detail names particulars the message leaves out,
/// so English keeps it).
/// The problem in the reader's language where the catalogue knows its reason, and whether its
/// detail is now in that language (English details are, for English readers and the API).
fn localized(mut problem: Problem, lang: Option<Lang>) -> (Problem, bool) {
    if lang != Some(Lang::Zh) {
        return (problem, true);
    }
    if let Some(reason) = problem.reason
        && let Some(text) = Lang::Zh.lookup(&reason.message_key())
    {
        problem.detail = text.to_owned();
        return (problem, true);
    }
    (problem, false)
}

fn with_type(body: String, content_type: &'static str) -> Response {
    let mut response = Body::from(body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A body a handler wrote on purpose, in one of the forms we serve.
fn has_own_body(response: &Response) -> bool {
    let Some(ct) = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    [
        "text/html",
        "application/json",
        "application/problem+json",
        "application/fhir+json",
    ]
    .iter()
    .any(|t| ct.starts_with(t))
}

/// Content Security Policy: only our own origin. No inline scripts or styles, so an injected
/// `<script>` in a chat message cannot run. `blob:`/`mediastream:` allow images and video
/// calls later; `frame-ancestors 'none'` stops click-jacking.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; \
    font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The security headers, as (name, value) pairs for `SetResponseHeaderLayer`.
pub fn security_headers() -> [(header::HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            // Camera and microphone stay available to our own pages for video consultations.
            HeaderValue::from_static(
                "camera=(self), microphone=(self), geolocation=(), payment=()",
            ),
        ),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ]
}

/// Answers to signed-in requests are private: `Cache-Control: no-store` unless the handler
/// chose otherwise (assets carry their own), so no shared cache or back button keeps a
/// patient's page. Over https (as the proxy's `X-Forwarded-Proto` says), HSTS tells browsers
/// to use https only, unless the operator turned it off.
pub async fn private_responses(
    axum::extract::State(state): axum::extract::State<crate::app::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let headers = req.headers();
    let credentials = headers.contains_key(header::AUTHORIZATION)
        || crate::web::i18n::cookie_value(headers, crate::identity::actor::SESSION_COOKIE)
            .is_some();
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let mut response = next.run(req).await;
    let out = response.headers_mut();
    if credentials && !out.contains_key(header::CACHE_CONTROL) {
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https && state.config.security.hsts {
        out.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// The status a timeout answers with.
pub const TIMEOUT_STATUS: StatusCode = StatusCode::REQUEST_TIMEOUT;

#[cfg(test)]
mod tests {
    use super::Surface;

    #[test]
    fn surfaces_by_path() {
        assert_eq!(Surface::for_path("/api/v1/x"), Surface::Api);
        assert_eq!(Surface::for_path("/fhir/Patient"), Surface::Fhir);
        assert_eq!(Surface::for_path("/fhirish"), Surface::Page);
        assert_eq!(Surface::for_path("/apiary"), Surface::Page);
        assert_eq!(Surface::for_path("/"), Surface::Page);
        assert_eq!(Surface::for_path("/healthz"), Surface::Api);
    }
}
