//! Consultation pages: a patient starts a consultation from a doctor's service (intake form),
//! follows it and chats; a doctor's workbench lists the queue and their consultations; both
//! chat on the consultation's page (live through `chat.js` over the WebSocket, plain forms
//! without script). Handlers call the same service functions as the JSON API.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::{CounsellingIntake, IntakeInput, NoteInput, Symptom};
use super::service::{self, ConsultationView, QueueItem, RequestInput};
use super::store::{ConsultationRow, MessageRow};
use super::{conversation, lifecycle, note};
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::time::cst_display;
use crate::web::PageCtx;
use crate::web::filters;
use crate::web::page::redirect_with_outcome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/consultations", get(list))
        .route("/consultations/new", get(new_form).post(create))
        .route("/consultations/{id}", get(detail))
        .route("/consultations/{id}/messages", post(send))
        .route("/consultations/{id}/accept", post(accept))
        .route("/consultations/{id}/note", post(write_note))
        .route("/consultations/{id}/complete", post(complete))
        .route("/consultations/{id}/cancel", post(cancel))
        .route("/doctor/consultations", get(workbench))
}

/// A consultation in a list: the row, when it was asked, and for a patient's own list what
/// it is about, for whom and with which doctor.
struct Listed {
    c: ConsultationRow,
    when: String,
    complaint: String,
    person: Option<String>,
    doctor: Option<String>,
}

impl Listed {
    fn bare(c: ConsultationRow) -> Self {
        Self {
            when: cst_display(c.created_at),
            c,
            complaint: String::new(),
            person: None,
            doctor: None,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "consultations.html")]
struct ListPage {
    page: PageCtx,
    items: Vec<Listed>,
    queue: Vec<QueueItem>,
    doctor: bool,
    message: String,
}

#[derive(Deserialize, Default)]
struct MessageQuery {
    #[serde(default)]
    message: Option<String>,
}

async fn list(State(state): State<AppState>, page: PageCtx, actor: Actor) -> AppResult<Response> {
    if actor.require()?.role == Role::Doctor {
        return Ok(Redirect::to("/doctor/consultations").into_response());
    }
    let items = service::mine_listed(&state, &actor)
        .await?
        .into_iter()
        .map(|m| Listed {
            complaint: m.chief_complaint,
            person: Some(m.person_name),
            doctor: m.doctor_name,
            ..Listed::bare(m.row)
        })
        .collect();
    Ok(ListPage {
        page: page.with_nav("consultations"),
        items,
        queue: Vec::new(),
        doctor: false,
        message: String::new(),
    }
    .into_response())
}

/// The doctor's workbench: the queue (oldest first, with the intake summary) and mine.
async fn workbench(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<Response> {
    let me = actor.require()?;
    crate::capability::require_role(me, Role::Doctor, "the workbench is for doctors")?;
    if crate::identity::auth::require_step_up(&state, me).is_err() {
        return Ok(Redirect::to("/me/step-up?next=%2Fdoctor%2Fconsultations").into_response());
    }
    let queue = service::queue(&state, &actor).await?;
    let items = service::my_active_listed(&state, &actor)
        .await?
        .into_iter()
        .map(|m| Listed {
            complaint: m.chief_complaint,
            person: Some(m.person_name),
            ..Listed::bare(m.row)
        })
        .collect();
    Ok(ListPage {
        page: page.with_nav("doctor-consultations"),
        items,
        queue,
        doctor: true,
        message: q.message.unwrap_or_default(),
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "consultation_new.html")]
struct NewPage {
    page: PageCtx,
    service: crate::directory::model::Service,
    doctor: String,
    form: NewForm,
    errors: Vec<FieldError>,
    message: String,
}

impl NewPage {
    fn follow_up(&self) -> bool {
        self.service.kind == "follow_up"
    }

    fn counselling(&self) -> bool {
        self.service.kind == "counselling"
    }

    /// Whether a 0–3 answer was the one chosen (to keep it when the form comes back).
    fn chose(&self, answer: &str, value: &u8) -> bool {
        answer == value.to_string()
    }
}

#[derive(Deserialize, Default, Clone)]
struct NewForm {
    #[serde(default)]
    service_id: i64,
    #[serde(default)]
    chief_complaint: String,
    #[serde(default)]
    symptoms: String,
    #[serde(default)]
    temperature_c: String,
    #[serde(default)]
    outbreak_area_travel: Option<String>,
    #[serde(default)]
    travel_region: String,
    #[serde(default)]
    travel_returned_on: String,
    #[serde(default)]
    confirmed_case_contact: Option<String>,
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    allergies: String,
    #[serde(default)]
    medications: String,
    #[serde(default)]
    condition_icd10: String,
    /// Present when the consultation is held in a booked online appointment.
    #[serde(default)]
    appointment_id: Option<i64>,
    /// Counselling: what troubles the patient, the two PHQ-2 answers (0–3), self-harm.
    #[serde(default)]
    concern: String,
    #[serde(default)]
    little_interest: String,
    #[serde(default)]
    feeling_down: String,
    #[serde(default)]
    self_harm_thoughts: Option<String>,
}

#[derive(Deserialize)]
struct NewQuery {
    service: Option<i64>,
    appointment: Option<i64>,
}

/// Comma- or 、-separated words, as people type lists.
fn words(raw: &str) -> Vec<String> {
    raw.split([',', '，', '、', ';', '；'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

impl NewForm {
    fn request(&self) -> Result<RequestInput, FieldError> {
        let temperature_c = match self.temperature_c.trim() {
            "" => None,
            t => Some(t.parse::<f64>().map_err(|_| {
                FieldError::new("intake.temperature_c", "must be a number such as 37.8")
            })?),
        };
        let answer = |field: &str, raw: &str| match raw.trim() {
            "" => Ok(None),
            a => a.parse::<u8>().map(Some).map_err(|_| {
                FieldError::new(
                    format!("intake.counselling.{field}"),
                    "choose one of the four answers",
                )
            }),
        };
        // Only a counselling form has these fields; the service decides whether they are due.
        let counselling = (!self.concern.trim().is_empty()
            || !self.little_interest.is_empty()
            || !self.feeling_down.is_empty()
            || self.self_harm_thoughts.is_some())
        .then(|| -> Result<CounsellingIntake, FieldError> {
            Ok(CounsellingIntake {
                concern: self.concern.clone(),
                little_interest: answer("little_interest", &self.little_interest)?,
                feeling_down: answer("feeling_down", &self.feeling_down)?,
                self_harm_thoughts: self.self_harm_thoughts.is_some(),
            })
        })
        .transpose()?;
        Ok(RequestInput {
            service_id: Some(self.service_id),
            appointment_id: self.appointment_id,
            condition_icd10: Some(self.condition_icd10.trim().to_owned()).filter(|c| !c.is_empty()),
            intake: IntakeInput {
                chief_complaint: self.chief_complaint.clone(),
                symptoms: words(&self.symptoms)
                    .into_iter()
                    .map(|name| Symptom { name, onset: None })
                    .collect(),
                temperature_c,
                outbreak_area_travel: self.outbreak_area_travel.is_some(),
                travel_region: Some(self.travel_region.clone()),
                travel_returned_on: Some(self.travel_returned_on.clone()),
                confirmed_case_contact: self.confirmed_case_contact.is_some(),
                cluster: self.cluster.is_some(),
                allergies: words(&self.allergies),
                medications: words(&self.medications),
                counselling,
                ..Default::default()
            },
            ..Default::default()
        })
    }
}

async fn service_page(
    state: &AppState,
    page: PageCtx,
    form: NewForm,
    errors: Vec<FieldError>,
    message: String,
) -> AppResult<NewPage> {
    let service = crate::directory::service::service(&state.db, form.service_id)
        .await?
        .filter(|s| s.active)
        .ok_or_else(|| AppError::NotFound("no such service is offered".to_owned()))?;
    let doctor = match service.doctor_id {
        Some(d) => crate::directory::service::doctor_name(&state.db, d).await?,
        None => String::new(),
    };
    Ok(NewPage {
        page: page.with_nav("consultations"),
        service,
        doctor,
        form,
        errors,
        message,
    })
}

async fn new_form(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    if actor.signed_in.is_none() {
        return Ok(Redirect::to("/login").into_response());
    }
    let form = NewForm {
        service_id: q.service.unwrap_or_default(),
        appointment_id: q.appointment,
        ..Default::default()
    };
    Ok(service_page(&state, page, form, Vec::new(), String::new())
        .await?
        .into_response())
}

/// Submits the intake; field errors show the form again next to the fields.
async fn create(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(form): AppForm<NewForm>,
) -> AppResult<Response> {
    let outcome = match form.request() {
        Ok(input) => service::request(&state, &actor, &input).await,
        Err(e) => Err(AppError::Validation(vec![e])),
    };
    match outcome {
        Ok(view) => {
            Ok(Redirect::to(&format!("/consultations/{}", view.consultation.id)).into_response())
        }
        Err(AppError::Validation(errors) | AppError::ConflictFields(errors)) => {
            Ok(service_page(&state, page, form, errors, String::new())
                .await?
                .into_response())
        }
        Err(e) if e.is_conflict() || matches!(e, AppError::Forbidden(_)) => {
            Ok(service_page(&state, page, form, Vec::new(), e.to_string())
                .await?
                .into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "consultation.html")]
struct DetailPage {
    page: PageCtx,
    view: ConsultationView,
    messages: Vec<MessageRow>,
    last_seq: i64,
    me: i64,
    doctor_side: bool,
    message: String,
    /// The configured STUN/TURN servers as JSON, for `chat.js`.
    ice_json: String,
    /// The suspected-case flag, shown to the doctor (see `surveillance::cases`).
    epi: Option<crate::surveillance::cases::CaseMark>,
}

impl DetailPage {
    fn status(&self) -> &str {
        self.view.consultation.status.as_str()
    }

    fn open(&self) -> bool {
        !self.view.consultation.status().is_ended()
    }

    fn mine(&self, m: &MessageRow) -> bool {
        m.sender_id == Some(self.me)
    }
}

async fn detail(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<Response> {
    let me = actor.require()?;
    let view = service::read(&state, &actor, id).await?;
    let doctor_side = me.role == Role::Doctor;
    let messages = conversation::for_page(&state, &actor, &view.consultation).await?;
    let last_seq = messages.last().map_or(0, |m| m.seq);
    let epi = if doctor_side {
        crate::surveillance::cases::of_consultation(&state, id).await?
    } else {
        None
    };
    Ok(DetailPage {
        epi,
        page: page.with_nav(if doctor_side {
            "doctor-consultations"
        } else {
            "consultations"
        }),
        me: me.account_id,
        view,
        messages,
        last_seq,
        doctor_side,
        message: q.message.unwrap_or_default(),
        ice_json: serde_json::to_string(&super::ice::ice_servers(
            &state.config.consult,
            me.account_id,
            state.now_ms() / 1000,
        ))
        .unwrap_or_else(|_| "[]".to_owned()),
    }
    .into_response())
}

#[derive(Deserialize)]
struct SendForm {
    #[serde(default)]
    text: String,
}

fn back(id: i64, result: AppResult<()>) -> AppResult<Redirect> {
    redirect_with_outcome(&format!("/consultations/{id}"), &[], result)
}

async fn send(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<SendForm>,
) -> AppResult<Redirect> {
    let result = conversation::post_message(&state, &actor, id, &f.text).await;
    back(id, result.map(|_| ()))
}

async fn accept(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    let result = lifecycle::accept(&state, &actor, id).await;
    back(id, result.map(|_| ()))
}

async fn complete(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    let result = lifecycle::complete(&state, &actor, id).await;
    back(id, result.map(|_| ()))
}

#[derive(Deserialize, Default)]
struct CancelForm {
    #[serde(default)]
    reason: Option<String>,
}

async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<CancelForm>,
) -> AppResult<Redirect> {
    let reason = f.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let result = lifecycle::cancel(&state, &actor, id, reason).await;
    back(id, result.map(|_| ()))
}

#[derive(Deserialize, Default)]
struct NoteForm {
    #[serde(default)]
    subjective: String,
    #[serde(default)]
    objective: String,
    #[serde(default)]
    assessment: String,
    #[serde(default)]
    plan: String,
    /// `I10 原发性高血压` per line.
    #[serde(default)]
    diagnoses: String,
}

async fn write_note(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<NoteForm>,
) -> AppResult<Redirect> {
    let diagnoses = f
        .diagnoses
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (code, name) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            super::model::Diagnosis {
                code: code.to_owned(),
                name: name.trim().to_owned(),
            }
        })
        .collect();
    let input = NoteInput {
        subjective: f.subjective,
        objective: f.objective,
        assessment: f.assessment,
        diagnoses,
        plan: f.plan,
    };
    let result = note::write(&state, &actor, id, &input).await;
    back(id, result.map(|_| ()))
}
