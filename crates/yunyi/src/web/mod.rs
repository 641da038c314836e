//! The web shell: layout, language, assets, the home page, and how errors and security
//! headers are applied to every response.

pub mod assets;
pub mod i18n;
pub mod idempotency;
pub mod idempotency_store;
pub mod middleware;
pub mod page;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::{AppError, FieldError, Reason};
pub use i18n::Lang;
pub use page::PageCtx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/lang/{code}", get(switch_lang))
        .route("/text/{size}", get(switch_text_size))
        .route("/manifest.webmanifest", get(manifest))
        .route("/sw.js", get(service_worker))
        .route("/offline", get(offline))
        .route("/assets/{version}/{name}", get(assets::serve))
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    page: PageCtx,
    services: Vec<(&'static str, &'static str)>,
}

const SERVICES: [&str; 10] = [
    "triage",
    "consult",
    "chronic",
    "screening",
    "remote",
    "care",
    "education",
    "imaging",
    "supervision",
    "fhir",
];

async fn home(page: PageCtx) -> impl IntoResponse {
    let lang = page.lang;
    let services = SERVICES
        .iter()
        .map(|s| {
            (
                lang.t(&format!("svc.{s}.title")),
                lang.t(&format!("svc.{s}.body")),
            )
        })
        .collect();
    HomePage {
        page: page.with_nav("home"),
        services,
    }
}

/// `GET /manifest.webmanifest`: what a phone needs to install Yunyi on its home screen.
async fn manifest() -> Response {
    let body = serde_json::json!({
        "name": "云医 · 互联网医院",
        "short_name": "云医",
        "description": "预约挂号、在线问诊、复诊续方与送药上门",
        "lang": "zh-CN",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f5f8f8",
        "theme_color": "#0b7a75",
        "icons": [{
            "src": format!("{}/icon.svg", assets::prefix()),
            "sizes": "any",
            "type": "image/svg+xml",
            "purpose": "any"
        }]
    });
    (
        [(header::CONTENT_TYPE, "application/manifest+json")],
        body.to_string(),
    )
        .into_response()
}

/// `GET /sw.js`: the service worker, at the root so that it serves every page. Always asked
/// for afresh (`no-cache`), so a new version reaches phones with the next visit.
async fn service_worker() -> Response {
    let body = include_str!("../../assets/sw.js").replace("__ASSETS__", assets::prefix());
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "offline.html")]
struct OfflinePage {
    page: PageCtx,
}

/// `GET /offline`: what the service worker shows when the network is gone. Rendered for no one
/// (no name, no form token): it is kept in the phone's cache, which others may see.
async fn offline(parts: axum::http::request::Parts) -> impl IntoResponse {
    OfflinePage {
        page: PageCtx::from_parts(&parts),
    }
}

#[derive(Deserialize)]
struct SwitchQuery {
    next: Option<String>,
}

/// `GET /lang/{zh|en}?next=/path`: remembers the choice for a year and goes back. A link, not a
/// form: choosing a language changes nothing on the server, so it needs no CSRF token.
async fn switch_lang(
    Path(code): Path<String>,
    Query(q): Query<SwitchQuery>,
) -> Result<Response, AppError> {
    let lang = Lang::from_short(&code).ok_or_else(|| {
        AppError::refused(
            Reason::NoSuchOption,
            format!("no language '{code}'; use zh or en"),
        )
    })?;
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        i18n::LANG_COOKIE,
        lang.short()
    );
    back_with_cookie(q.next.as_deref(), &cookie)
}

/// Back to `next` (a local path, else home), setting `cookie` (always one of ours: a value
/// that cannot be a header is this server's fault, not the visitor's).
fn back_with_cookie(next: Option<&str>, cookie: &str) -> Result<Response, AppError> {
    let next = next.filter(|n| is_local_path(n)).unwrap_or("/");
    let mut response = Redirect::to(next).into_response();
    let value = HeaderValue::from_str(cookie)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cookie {cookie:?}: {e}")))?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}

/// `GET /text/{large|standard}?next=/path`: the large-text, high-contrast mode (适老化) on or
/// off, remembered for a year in a cookie, then back to the page. A link like the language
/// switch: it changes only how this browser shows pages.
async fn switch_text_size(
    Path(size): Path<String>,
    Query(q): Query<SwitchQuery>,
) -> Result<Response, AppError> {
    let large = match size.as_str() {
        "large" => true,
        "standard" => false,
        _ => {
            return Err(AppError::refused(
                Reason::NoSuchOption,
                format!("no text size '{size}'; use large or standard"),
            ));
        }
    };
    let cookie = if large {
        format!(
            "{}=large; Path=/; Max-Age=31536000; SameSite=Lax",
            page::TEXT_COOKIE
        )
    } else {
        format!("{}=; Path=/; Max-Age=0; SameSite=Lax", page::TEXT_COOKIE)
    };
    back_with_cookie(q.next.as_deref(), &cookie)
}

/// This server's origin as the client reached it (`https://yy.example.cn`): the scheme from
/// the proxy's `X-Forwarded-Proto`, the host from `Host`. For the absolute URLs OAuth and
/// SMART discovery need; a `Host` that is not a plain host name falls back to `localhost`.
pub fn origin(headers: &axum::http::HeaderMap) -> String {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .unwrap_or("localhost");
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// `path?next=<here, encoded>`: a page to visit first (sign in, the identity check) that brings
/// the person back to `here` afterwards.
pub fn with_next(path: &str, here: &str) -> String {
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    format!("{path}?next={next}")
}

/// Only same-origin paths: `//evil.example` or `/\evil` would make a redirect target an open
/// redirect, and browsers drop tabs and line breaks from a URL before reading it, so
/// `/\t/evil.example` is `//evil.example` to them. Only printable ASCII is accepted (a browser
/// sends anything else percent-encoded), which also keeps the `Location` header valid.
/// Used wherever a `next` parameter is followed.
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.bytes().all(|b| b.is_ascii_graphic())
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub page: PageCtx,
    pub status: u16,
    pub title: &'static str,
    pub detail: String,
    /// Whether `detail` is in the page's language. A detail the catalogue cannot translate yet
    /// is kept for support, folded away under "technical details", so a Chinese page reads
    /// Chinese: its title and hint say what happened and what to do.
    pub detail_readable: bool,
    pub errors: Vec<FieldError>,
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_local_paths_are_followed() {
        assert!(super::is_local_path("/hospitals?x=1"));
        assert!(!super::is_local_path("//evil.example"));
        assert!(!super::is_local_path("https://evil.example"));
        assert!(!super::is_local_path("/\\evil.example"));
        // Browsers drop tabs and line breaks: these are `//evil.example/` to them.
        assert!(!super::is_local_path("/\t/evil.example/"));
        assert!(!super::is_local_path("/\n/evil.example/"));
        assert!(!super::is_local_path("/\r\n/evil.example/"));
        assert!(!super::is_local_path("/\n"));
        assert!(!super::is_local_path("/ /evil.example"));
        assert!(!super::is_local_path("/\u{7f}"));
        assert!(!super::is_local_path("/医生"));
    }
}

/// Template filters every page may use (`{{ total_fen|yuan }}`, `{{ created_at|cst }}`): one
/// way to show money and times, instead of a method per page. A page's module brings them in
/// with `use crate::web::filters;`.
pub mod filters {
    /// An amount in fen as yuan (`¥25.00`).
    #[askama::filter_fn]
    pub fn yuan(fen: &i64, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(crate::money::yuan(*fen))
    }

    /// An instant (epoch milliseconds) as China's date and time (`2026-11-23 08:30`).
    #[askama::filter_fn]
    pub fn cst(at: &i64, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(crate::time::cst_display(*at))
    }
}
