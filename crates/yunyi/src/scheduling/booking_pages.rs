//! The patient's booking steps after choosing a time: the confirmation (who, when, where,
//! the fee and the cancellation rule, and for whom) and the appointment as a calendar file.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::model::{Mode, Slot};
use super::service;
use crate::app::AppState;
use crate::error::AppResult;
use crate::extract::PathId;
use crate::identity::Actor;
use crate::web::PageCtx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/appointments/confirm", get(confirm_page))
        .route("/appointments/{id}/calendar.ics", get(calendar))
}

#[derive(Template, WebTemplate)]
#[template(path = "booking_confirm.html")]
struct ConfirmPage {
    page: PageCtx,
    slot: Slot,
    /// The slot can still be booked.
    open: bool,
    doctor: String,
    hospital: String,
    when: String,
    price_fen: i64,
    /// Whom the patient may book for, the one the flow started for first.
    people: Vec<(i64, String)>,
}

impl ConfirmPage {
    fn online(&self) -> bool {
        self.slot.mode == Mode::Online
    }

    fn price(&self) -> String {
        crate::money::yuan(self.price_fen)
    }
}

#[derive(Deserialize)]
struct ConfirmQuery {
    slot: Option<String>,
    age_years: Option<String>,
    age_months: Option<String>,
}

/// What the patient is about to book, to confirm with one tap.
async fn confirm_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<ConfirmQuery>,
) -> AppResult<ConfirmPage> {
    let (slot, open) = service::slot_to_confirm(&state, &actor, q.slot.as_deref()).await?;
    let me = actor.require()?;
    let age = crate::identity::service::TriageAge::from_query(
        q.age_years.as_deref(),
        q.age_months.as_deref(),
    );
    let people = crate::identity::service::booking_people(&state, me, age).await?;
    let hospital = crate::directory::service::hospital_detail(&state.db, slot.hospital_id)
        .await?
        .hospital;
    let price_fen = crate::directory::service::service(&state.db, slot.service_id)
        .await?
        .map_or(0, |s| s.price_fen);
    Ok(ConfirmPage {
        open,
        doctor: crate::directory::service::doctor_name(&state.db, slot.doctor_id).await?,
        hospital: page
            .lang
            .pick(&hospital.name, hospital.name_en.as_deref())
            .to_owned(),
        when: page.when(slot.start_at),
        price_fen,
        people,
        slot,
        page: page.with_nav("doctors"),
    })
}

/// Text for an iCalendar property: its special characters escaped (RFC 5545 §3.3.11).
fn ics_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

fn ics_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

/// `GET /appointments/{id}/calendar.ics`: the appointment for the patient's calendar app.
async fn calendar(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Response> {
    let a = service::read_appointment(&state, &actor, id).await?;
    let doctor = crate::directory::service::doctor_name(&state.db, a.doctor_id).await?;
    let hospital = crate::directory::service::hospital_detail(&state.db, a.hospital_id)
        .await?
        .hospital;
    let place = match service::slot(&state.db, a.slot_id)
        .await?
        .and_then(|s| s.location)
    {
        Some(location) if a.mode == Mode::InPerson => format!("{} {location}", hospital.name),
        _ if a.mode == Mode::Online => page.t("booking.online").to_owned(),
        _ => hospital.name.clone(),
    };
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Yunyi//Appointments//ZH".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:appointment-{id}@yunyi"),
        format!("DTSTAMP:{}", ics_time(state.now_ms())),
        format!("DTSTART:{}", ics_time(a.start_at)),
        format!("DTEND:{}", ics_time(a.end_at)),
        format!(
            "SUMMARY:{}",
            ics_text(&format!("{} · {doctor}", page.t("appointments.title")))
        ),
        format!("LOCATION:{}", ics_text(&place)),
        format!("DESCRIPTION:{}", ics_text(page.t("booking.rule"))),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    let mut response = format!("{}\r\n", lines.join("\r\n")).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"appointment-{id}.ics\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn calendar_text_is_escaped_and_times_are_utc() {
        assert_eq!(super::ics_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        // 2026-12-07 08:30 in China is 00:30 UTC.
        assert_eq!(super::ics_time(1_796_603_400_000), "20261207T003000Z");
    }
}
