//! `/auth/authorize`: the page where a person lets a SMART app see their records, or not.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::scope::{Clause, Level, Perms};
use super::service::{self, AuthorizeError, AuthorizeRequest, Checked};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::AppForm;
use crate::identity::Actor;
use crate::web::PageCtx;

pub fn router() -> Router<AppState> {
    Router::new().route("/auth/authorize", get(authorize_page).post(decide))
}

/// One line of "what the app will see".
pub struct Line {
    pub what: String,
    pub how: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "smart_consent.html")]
struct ConsentPage {
    page: PageCtx,
    /// When the request cannot go on (an unknown app): why, and nothing else.
    problem: String,
    app: String,
    request: AuthorizeRequest,
    /// People the app may be given, when it asks for a patient in context.
    people: Vec<(i64, String)>,
    lines: Vec<Line>,
    offline: bool,
    /// `openid`: the app learns who signed in.
    identity: bool,
}

impl ConsentPage {
    fn problem(page: PageCtx, key: &str) -> Response {
        let problem = page.t(key).to_owned();
        let body = Self {
            page,
            problem,
            app: String::new(),
            request: AuthorizeRequest::default(),
            people: Vec::new(),
            lines: Vec::new(),
            offline: false,
            identity: false,
        };
        (StatusCode::BAD_REQUEST, body).into_response()
    }
}

/// The FHIR base URL this request reached, which `aud` must name.
fn fhir_base(headers: &HeaderMap) -> String {
    format!("{}/fhir", crate::web::origin(headers))
}

/// What a clause lets the app do, in the page's language.
fn line(page: &PageCtx, clause: &Clause) -> Line {
    let resource = if clause.resource == "*" {
        page.t("smart.type.all").to_owned()
    } else {
        page.lang
            .lookup(&format!("smart.type.{}", clause.resource))
            .map_or_else(|| clause.resource.clone(), str::to_owned)
    };
    let whose = match clause.level {
        Level::Patient => "smart.level.patient",
        Level::User => "smart.level.user",
    };
    Line {
        what: page.lang.t_with(whose, &[("what", &resource)]),
        how: if clause.perms.read_only() {
            page.t("smart.perm.read")
        } else if clause.perms.contains(Perms::READ) {
            page.t("smart.perm.read_write")
        } else {
            page.t("smart.perm.write")
        },
    }
}

/// Where the browser goes next, keeping the consent page's own rule that its form may only
/// be sent here and, by redirect, to the app.
fn to_app(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// A policy for the consent page: its form answers with a redirect to the app, and browsers
/// hold that redirect to `form-action` too.
fn consent_csp(redirect_uri: &str) -> Option<HeaderValue> {
    let url = url::Url::parse(redirect_uri).ok()?;
    let origin = url.origin().ascii_serialization();
    HeaderValue::from_str(&crate::web::middleware::CSP.replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    ))
    .ok()
}

fn parse_request(query: Option<&str>) -> Option<AuthorizeRequest> {
    serde_urlencoded::from_str(query.unwrap_or("")).ok()
}

async fn authorize_page(
    State(state): State<AppState>,
    actor: Actor,
    page: PageCtx,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let Some(request) = parse_request(query.as_deref()) else {
        return Ok(ConsentPage::problem(page, "smart.error.unknown_app"));
    };
    let checked = match service::check_request(&state, &request, &fhir_base(&headers)).await? {
        Ok(c) => c,
        Err(e) => return Ok(refusal(page, &e)),
    };
    let Some(me) = actor.signed_in.as_ref() else {
        let here = format!("/auth/authorize?{}", query.unwrap_or_default());
        return Ok(Redirect::to(&crate::web::with_next("/login", &here)).into_response());
    };
    let scopes = service::grantable(&checked.scopes, me.role, me.person_id.is_some());
    if scopes.clauses.is_empty() {
        return Ok(refusal(
            page,
            &checked.back(
                "invalid_scope",
                "this account can grant none of the requested scopes",
            ),
        ));
    }
    let people = if scopes.launch_patient || scopes.has_level(Level::Patient) {
        service::patient_choices(&state, &actor).await?
    } else {
        Vec::new()
    };
    let lines = scopes.clauses.iter().map(|c| line(&page, c)).collect();
    let body = ConsentPage {
        problem: String::new(),
        app: checked.client.name.clone(),
        request,
        people,
        lines,
        offline: scopes.offline_access,
        identity: scopes.openid,
        page: page.with_nav("login"),
    };
    let mut response = body.into_response();
    if let Some(csp) = consent_csp(&checked.redirect_uri) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    Ok(response)
}

fn refusal(page: PageCtx, e: &AuthorizeError) -> Response {
    match (e, e.location()) {
        (_, Some(location)) => to_app(&location),
        (AuthorizeError::Show(key), None) => ConsentPage::problem(page, key),
        (AuthorizeError::Redirect { .. }, None) => {
            ConsentPage::problem(page, "smart.error.unknown_app")
        }
    }
}

#[derive(Deserialize)]
struct Decision {
    #[serde(flatten)]
    request: AuthorizeRequest,
    /// `allow` or `deny`.
    decision: Option<String>,
    patient: Option<String>,
}

async fn decide(
    State(state): State<AppState>,
    actor: Actor,
    page: PageCtx,
    headers: HeaderMap,
    AppForm(form): AppForm<Decision>,
) -> AppResult<Response> {
    actor.require()?;
    let checked: Checked =
        match service::check_request(&state, &form.request, &fhir_base(&headers)).await? {
            Ok(c) => c,
            Err(e) => return Ok(refusal(page, &e)),
        };
    let location = match form.decision.as_deref() {
        Some("allow") => {
            let patient = match form.patient.as_deref().filter(|p| !p.is_empty()) {
                Some(p) => Some(crate::extract::path_id("patient", p)?),
                None => None,
            };
            service::approve(&state, &actor, &checked, patient).await?
        }
        Some("deny") => service::refuse(&state, &actor, &checked).await?,
        _ => {
            return Err(AppError::invalid_localized(
                "decision",
                "must be allow or deny",
                "smart.field.decision",
                Vec::new(),
            ));
        }
    };
    Ok(to_app(&location))
}
