//! Staff pages for scheduling: a doctor's schedule and today's patients (with check-in and
//! no-show), and the administrators' weekly templates, release rules and closures.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::{CloseInput, ReleaseRulesInput, TemplateInput};
use super::plan::{self, Scope};
use super::plan_store::TemplateRow;
use super::service;
use super::store::{ScheduleListing, ScheduleRow};
use crate::app::AppState;
use crate::directory::model::{Hospital, Service};
use crate::error::AppResult;
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::web::PageCtx;
use crate::web::page::redirect_with_outcome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/doctor/schedule", get(doctor_schedule))
        .route("/doctor/appointments/{id}/check-in", post(check_in))
        .route("/doctor/appointments/{id}/no-show", post(no_show))
        .route(
            "/admin/schedules",
            get(admin_schedules).post(create_schedule),
        )
        .route("/admin/holidays", post(holiday))
        .route("/admin/schedules/{id}", get(admin_schedule))
        .route("/admin/schedules/{id}/templates", post(add_template))
        .route("/admin/schedules/{id}/rules", post(set_rules))
        .route("/admin/schedules/{id}/closures", post(close))
        .route(
            "/admin/schedule-templates/{id}/remove",
            post(remove_template),
        )
}

#[derive(Deserialize, Default)]
struct MessageQuery {
    message: Option<String>,
    hospital: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "doctor_schedule.html")]
struct DoctorSchedulePage {
    page: PageCtx,
    today: Vec<service::TodayRow>,
    /// (day, booked, places)
    days: Vec<(String, i64, i64)>,
    verified: bool,
    message: String,
}

async fn doctor_schedule(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<DoctorSchedulePage> {
    let day = service::doctor_day(&state, &actor).await?;
    Ok(DoctorSchedulePage {
        page: page.with_nav("doctor-schedule"),
        today: day.today,
        days: day.days,
        verified: day.verified,
        message: q.message.unwrap_or_default(),
    })
}

async fn check_in(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    let result = service::check_in(&state, &actor, id).await.map(|_| ());
    redirect_with_outcome("/doctor/schedule", &[], result)
}

async fn no_show(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    let result = service::mark_no_show(&state, &actor, id).await.map(|_| ());
    redirect_with_outcome("/doctor/schedule", &[], result)
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_schedules.html")]
struct AdminSchedulesPage {
    page: PageCtx,
    hospital: Hospital,
    schedules: Vec<ScheduleListing>,
    /// Doctors' services without a schedule yet.
    services: Vec<Service>,
    message: String,
}

async fn admin_schedules(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<AdminSchedulesPage> {
    let hospital =
        crate::directory::service::managed_hospital(&state.db, &actor, q.hospital).await?;
    let (schedules, services) = plan::hospital_schedules(&state, &actor, hospital.id).await?;
    Ok(AdminSchedulesPage {
        page: page.with_nav("schedules-admin"),
        hospital,
        schedules,
        services,
        message: q.message.unwrap_or_default(),
    })
}

#[derive(Deserialize)]
struct CreateForm {
    service_id: i64,
}

async fn create_schedule(
    State(state): State<AppState>,
    actor: Actor,
    AppForm(f): AppForm<CreateForm>,
) -> AppResult<Redirect> {
    match service::create_schedule(&state, &actor, f.service_id).await {
        Ok(id) => Ok(Redirect::to(&format!("/admin/schedules/{id}"))),
        Err(e) => redirect_with_outcome("/admin/schedules", &[], Err(e)),
    }
}

/// Form fields arrive as text: blank is "not given", anything else must be a number (an
/// unreadable one becomes 0, which the validation then names).
fn number(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    (!raw.is_empty()).then(|| raw.parse().unwrap_or(0))
}

fn text(raw: &str) -> Option<String> {
    let raw = raw.trim();
    (!raw.is_empty()).then(|| raw.to_owned())
}

#[derive(Deserialize, Default)]
struct CloseForm {
    #[serde(default)]
    hospital_id: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    reason: String,
}

impl CloseForm {
    fn input(&self) -> CloseInput {
        CloseInput {
            date: self.date.clone(),
            start: text(&self.start),
            end: text(&self.end),
            reason: self.reason.clone(),
        }
    }
}

async fn holiday(
    State(state): State<AppState>,
    actor: Actor,
    AppForm(f): AppForm<CloseForm>,
) -> AppResult<Redirect> {
    let hospital = number(&f.hospital_id).unwrap_or(0);
    let result = plan::close(&state, &actor, Scope::Hospital(hospital), &f.input())
        .await
        .map(|_| ());
    redirect_with_outcome(
        "/admin/schedules",
        &[("hospital", hospital.to_string())],
        result,
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_schedule.html")]
struct AdminSchedulePage {
    page: PageCtx,
    schedule: ScheduleRow,
    templates: Vec<TemplateRow>,
    message: String,
}

impl AdminSchedulePage {
    fn weekday_key(&self, n: &i64) -> String {
        format!("weekday.{n}")
    }
}

async fn admin_schedule(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<AdminSchedulePage> {
    let (schedule, templates) = plan::templates(&state, &actor, id).await?;
    Ok(AdminSchedulePage {
        page: page.with_nav("schedules-admin"),
        schedule,
        templates,
        message: q.message.unwrap_or_default(),
    })
}

fn back_to(id: i64, result: AppResult<()>) -> AppResult<Redirect> {
    redirect_with_outcome(&format!("/admin/schedules/{id}"), &[], result)
}

#[derive(Deserialize, Default)]
struct TemplateForm {
    #[serde(default)]
    weekday: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    slot_minutes: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    location: String,
}

async fn add_template(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<TemplateForm>,
) -> AppResult<Redirect> {
    let input = TemplateInput {
        weekday: number(&f.weekday),
        start: f.start,
        end: f.end,
        slot_minutes: number(&f.slot_minutes),
        capacity: number(&f.capacity),
        mode: text(&f.mode),
        location: text(&f.location),
    };
    let result = plan::add_template(&state, &actor, id, &input)
        .await
        .map(|_| ());
    back_to(id, result)
}

async fn remove_template(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    match plan::remove_template(&state, &actor, id).await {
        Ok(schedule) => back_to(schedule, Ok(())),
        Err(e) => redirect_with_outcome("/admin/schedules", &[], Err(e)),
    }
}

#[derive(Deserialize, Default)]
struct RulesForm {
    #[serde(default)]
    horizon_days: String,
    #[serde(default)]
    release_days: String,
    #[serde(default)]
    release_time: String,
}

async fn set_rules(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<RulesForm>,
) -> AppResult<Redirect> {
    let input = ReleaseRulesInput {
        horizon_days: number(&f.horizon_days),
        release_days: number(&f.release_days),
        release_time: text(&f.release_time),
    };
    back_to(id, plan::set_rules(&state, &actor, id, &input).await)
}

async fn close(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<CloseForm>,
) -> AppResult<Redirect> {
    let result = plan::close(&state, &actor, Scope::Schedule(id), &f.input())
        .await
        .map(|_| ());
    back_to(id, result)
}
