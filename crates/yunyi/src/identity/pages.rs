//! Identity pages: register, sign in (password or one-time code), sign out, my profile and
//! family members, the doctor's identity check, staff management, and the demo's dev inbox.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::actor::{Actor, SESSION_COOKIE, SessionKind};
use super::model::Role;
use super::notify::InboxEntry;
use super::{auth, claims, service};
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppForm, PathId};
use crate::web::PageCtx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_password))
        .route("/login/code", axum::routing::post(login_code))
        .route("/logout", axum::routing::post(logout))
        .route("/register", get(register_page).post(register))
        .route("/me", get(me_page))
        .route("/me/family", axum::routing::post(add_family))
        .route(
            "/me/claims/{id}/approve",
            axum::routing::post(approve_claim),
        )
        .route("/me/claims/{id}/reject", axum::routing::post(reject_claim))
        .route("/me/claims/{id}/code", axum::routing::post(claim_code))
        .route("/counter/claims", get(counter_page))
        .route(
            "/counter/claims/{id}/verify",
            axum::routing::post(counter_verify),
        )
        .route("/me/step-up", get(step_up_page).post(step_up))
        .route("/admin/staff", get(staff_page).post(create_staff))
        .route("/dev/inbox", get(inbox_page))
}

/// An error shown inside a form instead of on an error page: field errors go next to their
/// fields; anything else becomes the form's message. Server faults still go to the error page.
fn form_errors(
    e: AppError,
    page: &PageCtx,
) -> Result<(StatusCode, Vec<FieldError>, String), AppError> {
    let status = e.code().status();
    match e {
        AppError::Validation(errors) | AppError::ConflictFields(errors) => {
            Ok((status, errors, String::new()))
        }
        AppError::Internal(_) => Err(e),
        other => {
            let detail = other.to_problem().detail;
            let message = if detail.is_empty() {
                page.t(&format!("error.{}", other.code().slug())).to_owned()
            } else {
                detail
            };
            Ok((status, Vec::new(), message))
        }
    }
}

fn with_status(status: StatusCode, page: impl IntoResponse) -> Response {
    let mut response = page.into_response();
    *response.status_mut() = status;
    response
}

fn session_cookie(token: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// Behind a TLS-terminating proxy the cookie must be `Secure`.
fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// Where to go after signing in: the requested local page, else my account.
fn local_next(next: Option<&str>) -> &str {
    next.filter(|n| crate::web::is_local_path(n))
        .unwrap_or("/me")
}

/// Starts a browser session and redirects.
async fn signed_in_redirect(
    state: &AppState,
    actor: &Actor,
    account_id: i64,
    https: bool,
    next: Option<&str>,
) -> AppResult<Response> {
    let (token, ttl) = auth::start_session(state, actor, account_id, SessionKind::Cookie).await?;
    let mut response = Redirect::to(local_next(next)).into_response();
    if let Some(cookie) = session_cookie(&token, ttl, https) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    page: PageCtx,
    next: String,
    username: String,
    phone: String,
    errors: Vec<FieldError>,
    message: String,
    notice: String,
}

impl LoginPage {
    fn new(page: PageCtx, next: Option<String>) -> Self {
        Self {
            page: page.with_nav("login"),
            next: next.unwrap_or_default(),
            username: String::new(),
            phone: String::new(),
            errors: Vec::new(),
            message: String::new(),
            notice: String::new(),
        }
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(page: PageCtx, Query(q): Query<NextQuery>) -> LoginPage {
    LoginPage::new(page, q.next)
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login_password(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    headers: HeaderMap,
    AppForm(form): AppForm<PasswordForm>,
) -> AppResult<Response> {
    let result = auth::login_password(&state, &actor, &form.username, &form.password).await;
    match result {
        Ok(account) => {
            signed_in_redirect(
                &state,
                &actor,
                account.id,
                is_https(&headers),
                form.next.as_deref(),
            )
            .await
        }
        Err(e) => {
            let (status, errors, message) = form_errors(e, &page)?;
            let mut login = LoginPage::new(page, form.next);
            login.username = form.username;
            login.errors = errors;
            login.message = message;
            Ok(with_status(status, login))
        }
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
    /// `send` asks for a code; anything else signs in with it.
    action: Option<String>,
    next: Option<String>,
}

async fn login_code(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    headers: HeaderMap,
    AppForm(form): AppForm<CodeForm>,
) -> AppResult<Response> {
    if form.action.as_deref() == Some("send") {
        let result = auth::request_login_code(&state, &actor, &form.phone).await;
        let mut login = LoginPage::new(page, form.next);
        login.phone = form.phone;
        return match result {
            Ok(()) => {
                login.notice = login.page.t("login.code_sent").to_owned();
                Ok(login.into_response())
            }
            Err(e) => {
                let (status, errors, message) = form_errors(e, &login.page)?;
                login.errors = errors;
                login.message = message;
                Ok(with_status(status, login))
            }
        };
    }
    match auth::login_code(&state, &actor, &form.phone, &form.code).await {
        Ok(account) => {
            signed_in_redirect(
                &state,
                &actor,
                account.id,
                is_https(&headers),
                form.next.as_deref(),
            )
            .await
        }
        Err(e) => {
            let (status, errors, message) = form_errors(e, &page)?;
            let mut login = LoginPage::new(page, form.next);
            login.phone = form.phone;
            login.errors = errors;
            login.message = message;
            Ok(with_status(status, login))
        }
    }
}

async fn logout(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
) -> AppResult<Response> {
    if let Some(token) = crate::web::i18n::cookie_value(&headers, SESSION_COOKIE) {
        auth::revoke(&state, &actor, &token).await?;
    }
    let mut response = Redirect::to("/").into_response();
    if let Some(cookie) = session_cookie("", 0, is_https(&headers)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "register.html")]
struct RegisterPage {
    page: PageCtx,
    form: service::RegisterPatient,
    errors: Vec<FieldError>,
    message: String,
}

async fn register_page(page: PageCtx) -> RegisterPage {
    RegisterPage {
        page: page.with_nav("register"),
        form: service::RegisterPatient::default(),
        errors: Vec::new(),
        message: String::new(),
    }
}

async fn register(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    headers: HeaderMap,
    AppForm(form): AppForm<service::RegisterPatient>,
) -> AppResult<Response> {
    match service::register_patient(&state, &actor, &form).await {
        Ok(r) => {
            signed_in_redirect(
                &state,
                &actor,
                r.account_id,
                is_https(&headers),
                Some("/me"),
            )
            .await
        }
        Err(e) => {
            let (status, errors, message) = form_errors(e, &page)?;
            let form = service::RegisterPatient {
                password: String::new(),
                ..form
            };
            Ok(with_status(
                status,
                RegisterPage {
                    page: page.with_nav("register"),
                    form,
                    errors,
                    message,
                },
            ))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "me.html")]
struct MePage {
    page: PageCtx,
    profile: service::Profile,
    claims: claims::Claims,
    form: service::NewFamilyMember,
    errors: Vec<FieldError>,
    message: String,
    relationships: [&'static str; 7],
}

const RELATIONSHIPS: [&str; 7] = [
    "child",
    "parent",
    "spouse",
    "grandparent",
    "grandchild",
    "sibling",
    "other",
];

impl MePage {
    async fn load(
        state: &AppState,
        page: PageCtx,
        actor: &Actor,
        form: service::NewFamilyMember,
        errors: Vec<FieldError>,
        message: String,
    ) -> AppResult<Self> {
        Ok(MePage {
            page: page.with_nav("me"),
            profile: service::profile(state, actor).await?,
            claims: claims::mine(state, actor).await?,
            form,
            errors,
            message,
            relationships: RELATIONSHIPS,
        })
    }
}

#[derive(Deserialize, Default)]
struct OutcomeQuery {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

/// The message a redirect brought, by its token: only the catalogue's messages are shown
/// (in the page's language), never text from the address, which anyone can write.
fn outcome_message(page: &PageCtx, message: Option<String>) -> String {
    let key = match message.as_deref() {
        Some("claim_sent") => "claims.sent",
        Some("claim_code") => "claims.err.code",
        Some("claim_closed") => "claims.err.closed",
        Some("claim_missing") => "claims.err.not_found",
        _ => return String::new(),
    };
    page.t(key).to_owned()
}

/// Where a claim action leads: back to `path` with the token of what happened. A wrong
/// code, a claim decided or expired meanwhile, or one that does not exist are said on the
/// page; anything else (not allowed, signed out, a fault) is an error page.
fn claim_outcome(
    path: &str,
    pairs: &[(&str, String)],
    result: AppResult<()>,
) -> AppResult<Redirect> {
    let token = match result {
        Ok(()) => "ok",
        Err(AppError::Validation(_)) => "claim_code",
        Err(e) if e.is_conflict() => "claim_closed",
        Err(AppError::NotFound(_)) => "claim_missing",
        Err(e) => return Err(e),
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    query.append_pair("message", token);
    Ok(Redirect::to(&format!("{path}?{}", query.finish())))
}

async fn me_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<OutcomeQuery>,
) -> AppResult<MePage> {
    let message = outcome_message(&page, q.message);
    MePage::load(
        &state,
        page,
        &actor,
        service::NewFamilyMember::default(),
        Vec::new(),
        message,
    )
    .await
}

async fn add_family(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(form): AppForm<service::NewFamilyMember>,
) -> AppResult<Response> {
    match service::add_family_member(&state, &actor, &form).await {
        Ok(service::FamilyAdded::Linked(_)) => Ok(Redirect::to("/me").into_response()),
        Ok(service::FamilyAdded::Pending(_)) => {
            Ok(Redirect::to("/me?message=claim_sent#claims").into_response())
        }
        Err(e) => {
            let (status, errors, message) = form_errors(e, &page)?;
            let me = MePage::load(&state, page, &actor, form, errors, message).await?;
            Ok(with_status(status, me))
        }
    }
}

fn claim_path_id(raw: &str) -> AppResult<i64> {
    crate::extract::path_id("identity claim", raw)
}

async fn approve_claim(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    let result = claims::decide(&state, &actor, id, true).await.map(|_| ());
    claim_outcome("/me", &[], result)
}

async fn reject_claim(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    let result = claims::decide(&state, &actor, id, false).await.map(|_| ());
    claim_outcome("/me", &[], result)
}

#[derive(Deserialize, Default)]
struct ClaimCodeForm {
    #[serde(default)]
    code: String,
}

async fn claim_code(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<ClaimCodeForm>,
) -> AppResult<Redirect> {
    let result = claims::enter_code(&state, &actor, id, &form.code)
        .await
        .map(|_| ());
    claim_outcome("/me", &[], result)
}

#[derive(Template, WebTemplate)]
#[template(path = "counter_claim.html")]
struct CounterPage {
    page: PageCtx,
    id: String,
    view: Option<claims::CounterView>,
    message: String,
}

/// The front desk's page: look a claim up by its number, check the papers, confirm.
async fn counter_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<OutcomeQuery>,
) -> AppResult<CounterPage> {
    let mut message = match q.message.as_deref() {
        Some("ok") => page.t("counter.done").to_owned(),
        _ => outcome_message(&page, q.message),
    };
    let id = q.id.unwrap_or_default();
    let view = match id.trim() {
        "" => {
            claims::front_desk(&state, &actor).await?;
            None
        }
        raw => match claims::counter_view(&state, &actor, claim_path_id(raw)?).await {
            Ok(v) => Some(v),
            Err(AppError::NotFound(_)) => {
                message = page.t("claims.err.not_found").to_owned();
                None
            }
            Err(e) => return Err(e),
        },
    };
    Ok(CounterPage {
        page: page.with_nav("counter"),
        id,
        view,
        message,
    })
}

async fn counter_verify(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<claims::CounterCheck>,
) -> AppResult<Redirect> {
    let result = claims::verify_at_counter(&state, &actor, id, &form)
        .await
        .map(|_| ());
    claim_outcome("/counter/claims", &[("id", id.to_string())], result)
}

#[derive(Template, WebTemplate)]
#[template(path = "step_up.html")]
struct StepUpPage {
    page: PageCtx,
    errors: Vec<FieldError>,
    message: String,
    done: bool,
    /// Where the doctor was going: back there once confirmed.
    next: String,
}

async fn step_up_page(
    page: PageCtx,
    actor: Actor,
    Query(q): Query<NextQuery>,
) -> AppResult<StepUpPage> {
    actor.require()?;
    Ok(StepUpPage {
        page: page.with_nav("me"),
        errors: Vec::new(),
        message: String::new(),
        done: false,
        next: q
            .next
            .filter(|n| crate::web::is_local_path(n))
            .unwrap_or_default(),
    })
}

#[derive(Deserialize)]
struct StepUpForm {
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn step_up(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(form): AppForm<StepUpForm>,
) -> AppResult<Response> {
    let result = auth::step_up(&state, &actor, "password", &form.password).await;
    let next = form
        .next
        .filter(|n| crate::web::is_local_path(n))
        .unwrap_or_default();
    let mut view = StepUpPage {
        page: page.with_nav("me"),
        errors: Vec::new(),
        message: String::new(),
        done: false,
        next,
    };
    match result {
        // Back to the page that asked for the check, when one did.
        Ok(()) if !view.next.is_empty() => Ok(Redirect::to(&view.next).into_response()),
        Ok(()) => {
            view.done = true;
            Ok(view.into_response())
        }
        Err(e) => {
            let (status, errors, message) = form_errors(e, &view.page)?;
            view.errors = errors;
            view.message = message;
            Ok(with_status(status, view))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "staff.html")]
struct StaffPage {
    page: PageCtx,
    staff: Vec<service::StaffView>,
    form: service::NewStaff,
    errors: Vec<FieldError>,
    message: String,
    roles: Vec<&'static str>,
    fixed_hospital: Option<i64>,
}

fn creatable_roles(role: Option<Role>) -> Vec<&'static str> {
    match role {
        Some(Role::PlatformAdmin) => Role::ALL
            .iter()
            .filter(|r| **r != Role::Patient)
            .map(|r| r.as_str())
            .collect(),
        _ => vec![
            "doctor",
            "nurse",
            "pharmacist",
            "infection_officer",
            "hospital_admin",
        ],
    }
}

async fn staff_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
) -> AppResult<StaffPage> {
    let staff = service::list_staff(&state, &actor).await?;
    let me = actor.require()?;
    Ok(StaffPage {
        page: page.with_nav("staff"),
        staff,
        form: service::NewStaff::default(),
        errors: Vec::new(),
        message: String::new(),
        roles: creatable_roles(actor.role()),
        fixed_hospital: (me.role == Role::HospitalAdmin)
            .then_some(me.hospital_id)
            .flatten(),
    })
}

#[derive(Deserialize)]
struct StaffForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    hospital_id: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    phone: String,
}

async fn create_staff(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(form): AppForm<StaffForm>,
) -> AppResult<Response> {
    let me = actor.require()?;
    let hospital_id =
        match form.hospital_id.trim() {
            "" => None,
            raw => Some(raw.parse::<i64>().map_err(|_| {
                AppError::invalid("hospital_id", "must be a hospital id (a number)")
            })?),
        };
    let input = service::NewStaff {
        username: form.username,
        display_name: form.display_name,
        role: form.role,
        hospital_id,
        password: form.password,
        phone: Some(form.phone).filter(|p| !p.trim().is_empty()),
    };
    match service::create_staff(&state, Some(&actor), &input).await {
        Ok(_) => Ok(Redirect::to("/admin/staff").into_response()),
        Err(e) => {
            let (status, errors, message) = form_errors(e, &page)?;
            let staff = service::list_staff(&state, &actor).await?;
            Ok(with_status(
                status,
                StaffPage {
                    page: page.with_nav("staff"),
                    staff,
                    form: service::NewStaff {
                        password: String::new(),
                        ..input
                    },
                    errors,
                    message,
                    roles: creatable_roles(Some(me.role)),
                    fixed_hospital: (me.role == Role::HospitalAdmin)
                        .then_some(me.hospital_id)
                        .flatten(),
                },
            ))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox.html")]
struct InboxPage {
    page: PageCtx,
    entries: Vec<InboxEntry>,
}

/// Demo mode only, and only from the machine the demo runs on: the messages the platform
/// "sent", with their codes — whoever reads them can sign in as anyone.
async fn inbox_page(
    State(state): State<AppState>,
    page: PageCtx,
    req: axum::extract::Request,
) -> AppResult<InboxPage> {
    let inbox = state
        .inbox
        .as_ref()
        .filter(|_| state.config.demo)
        .ok_or_else(|| AppError::NotFound("the dev inbox exists only in demo mode".to_owned()))?;
    if !crate::ops::from_this_machine(req.headers(), req.extensions()) {
        return Err(AppError::Forbidden(
            "the demo inbox shows sign-in codes: it opens only on the machine the demo runs on"
                .to_owned(),
        ));
    }
    Ok(InboxPage {
        page,
        entries: inbox.entries(),
    })
}
