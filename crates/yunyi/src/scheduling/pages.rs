//! Patients' booking pages: a doctor's free times (on the doctor's page), booking for oneself
//! or a family member, "my appointments" with cancel and reschedule, and the waitlist.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::Appointment;
use super::{service, waitlist};
use crate::app::AppState;
use crate::error::AppResult;
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::time::cst_display;
use crate::web::PageCtx;
use crate::web::filters;
use crate::web::page::redirect_with_outcome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/appointments", get(mine).post(book))
        .route("/appointments/{id}/cancel", post(cancel))
        .route(
            "/appointments/{id}/reschedule",
            get(reschedule_page).post(reschedule),
        )
        .route("/waitlist", post(join))
        .route("/waitlist/{id}/accept", post(accept))
        .route("/waitlist/{id}/leave", post(leave))
}

/// An appointment as the page shows it: the appointment, the doctor's name, when, the
/// consultation it is held as (online appointments, once started), its fee, and for whom.
type Listed = (Appointment, String, String, Option<i64>, Fee, String);

/// An appointment's registration fee as the list shows it: its price, and the status of its
/// online payment (`""` when never ordered, `pending`, `paid`, `refunded`).
pub struct Fee {
    pub price_fen: i64,
    pub status: String,
}

/// A waitlist entry as the page shows it: the entry, the doctor's name, the held time.
type WaitView = (waitlist::Entry, String, String);

#[derive(Template, WebTemplate)]
#[template(path = "appointments.html")]
struct AppointmentsPage {
    page: PageCtx,
    items: Vec<Listed>,
    waiting: Vec<WaitView>,
    message: String,
    /// Just booked: the appointment and what to say about it.
    booked: Option<(i64, String)>,
}

#[derive(Deserialize)]
struct MessageQuery {
    message: Option<String>,
    /// The appointment just booked.
    booked: Option<String>,
}

async fn doctor_name(state: &AppState, id: i64) -> AppResult<String> {
    crate::directory::service::doctor_name(&state.db, id).await
}

async fn mine(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<AppointmentsPage> {
    // Whom each appointment is for: the account's own person or a family member.
    let me = actor.require()?;
    let mut people = crate::identity::service::family_names(&state, me.account_id).await?;
    if let Some(own) = me.person_id {
        people.push((own, me.display_name.clone()));
    }
    let mut items = Vec::new();
    for row in service::my_appointments_listed(&state, &actor).await? {
        let a = row.appointment;
        let for_whom = people
            .iter()
            .find(|(id, _)| *id == a.person_id)
            .map(|(_, name)| name.clone())
            .unwrap_or_default();
        let when = cst_display(a.start_at);
        let consultation = if a.mode == "online" {
            row.consultation_id
        } else {
            None
        };
        let fee = Fee {
            price_fen: row.price_fen,
            status: row.fee_status.unwrap_or_default(),
        };
        items.push((a, row.doctor_name, when, consultation, fee, for_whom));
    }
    let mut waiting = Vec::new();
    for e in waitlist::mine(&state, &actor).await? {
        if matches!(
            e.status,
            waitlist::WaitStatus::Waiting | waitlist::WaitStatus::Offered
        ) {
            let doctor = doctor_name(&state, e.doctor_id).await?;
            let until = e.hold_until.map(cst_display).unwrap_or_default();
            waiting.push((e, doctor, until));
        }
    }
    let booked_id = q.booked.as_deref().and_then(|b| b.parse::<i64>().ok());
    let booked =
        items
            .iter()
            .find(|i| Some(i.0.id) == booked_id)
            .map(|(a, doctor, _, _, _, person)| {
                let text = page.lang.t_with(
                    "booking.done",
                    &[
                        ("when", &page.when(a.start_at)),
                        ("doctor", doctor),
                        ("person", person),
                    ],
                );
                (a.id, text)
            });
    Ok(AppointmentsPage {
        page: page.with_nav("appointments"),
        items,
        waiting,
        message: q.message.unwrap_or_default(),
        booked,
    })
}

fn back(result: AppResult<()>) -> AppResult<Redirect> {
    redirect_with_outcome("/appointments", &[], result)
}

#[derive(Deserialize)]
struct BookForm {
    slot_id: i64,
    person_id: i64,
}

/// Books, then shows the appointment with what was booked ("预约成功：周一 12-07 08:30 …").
async fn book(
    State(state): State<AppState>,
    actor: Actor,
    AppForm(f): AppForm<BookForm>,
) -> AppResult<Redirect> {
    match service::book(&state, &actor, f.slot_id, f.person_id).await {
        Ok(a) => Ok(Redirect::to(&format!("/appointments?booked={}", a.id))),
        Err(e) => back(Err(e)),
    }
}

async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    back(service::cancel(&state, &actor, id, None).await)
}

#[derive(Template, WebTemplate)]
#[template(path = "reschedule.html")]
struct ReschedulePage {
    page: PageCtx,
    appointment: Appointment,
    doctor: String,
    when: String,
    /// (slot id, local time)
    slots: Vec<(i64, String)>,
}

async fn reschedule_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<ReschedulePage> {
    let appointment = service::read_appointment(&state, &actor, id).await?;
    let now = state.now_ms();
    let slots = service::open_slots(&state, appointment.doctor_id, 14)
        .await?
        .into_iter()
        .filter(|s| s.hospital_id == appointment.hospital_id && s.bookable(now))
        .map(|s| (s.id, cst_display(s.start_at)))
        .collect();
    Ok(ReschedulePage {
        page: page.with_nav("appointments"),
        doctor: doctor_name(&state, appointment.doctor_id).await?,
        when: cst_display(appointment.start_at),
        appointment,
        slots,
    })
}

#[derive(Deserialize)]
struct SlotForm {
    slot_id: i64,
}

async fn reschedule(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<SlotForm>,
) -> AppResult<Redirect> {
    back(
        service::reschedule(&state, &actor, id, f.slot_id)
            .await
            .map(|_| ()),
    )
}

#[derive(Deserialize)]
struct JoinForm {
    doctor_id: i64,
    #[serde(default)]
    date: String,
    person_id: i64,
}

async fn join(
    State(state): State<AppState>,
    actor: Actor,
    AppForm(f): AppForm<JoinForm>,
) -> AppResult<Redirect> {
    back(
        waitlist::join(&state, &actor, f.doctor_id, &f.date, f.person_id)
            .await
            .map(|_| ()),
    )
}

async fn accept(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    back(waitlist::accept(&state, &actor, id).await.map(|_| ()))
}

async fn leave(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    back(waitlist::leave(&state, &actor, id).await)
}
