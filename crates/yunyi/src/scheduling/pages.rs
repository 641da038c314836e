//! Patients' booking pages: a doctor's free times (on the doctor's page), booking for oneself
//! or a family member, and "my appointments" with cancellation.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::{Appointment, cst_display};
use super::service;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::AppForm;
use crate::identity::Actor;
use crate::web::PageCtx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/appointments", get(mine).post(book))
        .route("/appointments/{id}/cancel", post(cancel))
}

#[derive(Template, WebTemplate)]
#[template(path = "appointments.html")]
struct AppointmentsPage {
    page: PageCtx,
    items: Vec<(Appointment, String, String)>,
    message: String,
}

#[derive(Deserialize)]
struct MessageQuery {
    message: Option<String>,
}

async fn mine(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<AppointmentsPage> {
    let mut items = Vec::new();
    for a in service::my_appointments(&state, &actor).await? {
        let doctor = crate::directory::store::profile(&state.db, a.doctor_id)
            .await?
            .map(|p| p.name)
            .unwrap_or_default();
        let when = cst_display(a.start_at);
        items.push((a, doctor, when));
    }
    Ok(AppointmentsPage {
        page: page.with_nav("appointments"),
        items,
        message: q.message.unwrap_or_default(),
    })
}

fn back(result: AppResult<()>) -> AppResult<Redirect> {
    let message = match result {
        Ok(()) => "ok".to_owned(),
        Err(e @ (AppError::Internal(_) | AppError::Unauthorized)) => return Err(e),
        Err(e) => e.to_string(),
    };
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("message", &message)
        .finish();
    Ok(Redirect::to(&format!("/appointments?{q}")))
}

#[derive(Deserialize)]
struct BookForm {
    slot_id: i64,
    person_id: i64,
}

async fn book(
    State(state): State<AppState>,
    actor: Actor,
    AppForm(f): AppForm<BookForm>,
) -> AppResult<Redirect> {
    back(
        service::book(&state, &actor, f.slot_id, f.person_id)
            .await
            .map(|_| ()),
    )
}

async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> AppResult<Redirect> {
    back(service::cancel(&state, &actor, id, None).await)
}
