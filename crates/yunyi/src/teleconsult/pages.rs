//! Remote-consultation pages: the list (one's own, the hospital's queue, the late ones), the
//! inviting doctor's form, one consultation with the steps its reader may take now, and the
//! shared items. Every form works without script; each step goes back to the consultation with
//! its outcome in the page's language.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::{ItemKind, ItemRef, OpinionInput, Status, TeleconsultDraft};
use super::service::{
    self, DraftChoices, IdName, SharedItem, Standing, TeleconsultList, TeleconsultSummary,
    TeleconsultView,
};
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::web::PageCtx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/remote-consultations", get(list))
        .route("/remote-consultations/new", get(new_form).post(create))
        .route("/remote-consultations/{id}", get(one))
        .route("/remote-consultations/{id}/items", get(items))
        .route("/remote-consultations/{id}/steps/{step}", post(step))
}

/// A form's `department_id:hospital_id` choice, as (department, hospital).
pub(crate) fn department_choice(raw: &str) -> (Option<i64>, Option<i64>) {
    raw.split_once(':')
        .and_then(|(d, h)| Some((d.parse().ok()?, h.parse().ok()?)))
        .map_or((None, None), |(d, h)| (Some(d), Some(h)))
}

/// The ticked `kind:id` item checkboxes as item references (anything else left out).
pub(crate) fn ticked_items<'a>(ticked: impl Iterator<Item = &'a str>) -> Vec<ItemRef> {
    ticked
        .filter_map(|i| {
            let (kind, id) = i.split_once(':')?;
            Some(ItemRef {
                kind: ItemKind::parse(kind)?,
                id: id.parse().ok()?,
            })
        })
        .collect()
}

/// `2026-12-07T18:46:00+08:00` as people read it: `2026-12-07 18:46`.
pub(crate) fn at(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ")
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    view: TeleconsultList,
    #[serde(default)]
    overdue: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "teleconsults.html")]
struct ListPage {
    page: PageCtx,
    items: Vec<TeleconsultSummary>,
    queue: bool,
    overdue: bool,
    /// Doctors and administrators have a queue; patients do not.
    staff: bool,
}

impl ListPage {
    fn at(&self, s: &str) -> String {
        at(s)
    }
}

async fn list(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<ListQuery>,
) -> AppResult<ListPage> {
    let items = service::list(&state, &actor, q.view, q.overdue).await?;
    let staff = !page.is_patient();
    Ok(ListPage {
        page: page.with_nav("teleconsult"),
        items,
        queue: q.view == TeleconsultList::Queue,
        overdue: q.overdue,
        staff,
    })
}

#[derive(Deserialize, Default)]
struct NewQuery {
    person_id: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "teleconsult_new.html")]
struct NewPage {
    page: PageCtx,
    person_id: i64,
    choices: DraftChoices,
    form: DraftForm,
    errors: Vec<FieldError>,
}

impl NewPage {
    fn error(&self, field: &str) -> Option<String> {
        self.page.field_error(&self.errors, field)
    }

    fn chosen(&self, kind: &ItemKind, id: &i64) -> bool {
        let want = format!("{}:{}", kind.as_str(), id);
        self.form.items().any(|i| i == want)
    }
}

async fn new_form(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<NewQuery>,
) -> AppResult<NewPage> {
    let choices = service::draft_choices(&state, &actor, q.person_id).await?;
    Ok(NewPage {
        page: page.with_nav("teleconsult"),
        person_id: q.person_id.unwrap_or_default(),
        choices,
        form: DraftForm {
            urgency: "routine".to_owned(),
            ..DraftForm::default()
        },
        errors: Vec::new(),
    })
}

/// The form as sent: the invited department as one choice, each item a checkbox named
/// `item:kind:id` (a form body has no lists).
#[derive(Deserialize, Default)]
struct DraftForm {
    #[serde(default)]
    person_id: String,
    /// `department_id:hospital_id`.
    #[serde(default)]
    invited: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    summary: String,
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, String>,
}

impl DraftForm {
    fn person(&self) -> Option<i64> {
        self.person_id.trim().parse().ok()
    }

    /// The ticked items, as `kind:id`.
    fn items(&self) -> impl Iterator<Item = &str> {
        self.rest.keys().filter_map(|k| k.strip_prefix("item:"))
    }
}

async fn create(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(form): AppForm<DraftForm>,
) -> AppResult<Response> {
    let (department_id, invited_hospital_id) = department_choice(&form.invited);
    let items = ticked_items(form.items());
    let input = TeleconsultDraft {
        person_id: form.person(),
        invited_hospital_id,
        department_id,
        specialist_id: None,
        urgency: form.urgency.clone(),
        question: form.question.clone(),
        summary: form.summary.clone(),
        items,
    };
    match service::draft(&state, &actor, &input).await {
        Ok(id) => Ok(Redirect::to(&format!("/remote-consultations/{id}")).into_response()),
        Err(AppError::Validation(errors)) => {
            let choices = service::draft_choices(&state, &actor, form.person()).await?;
            let errors = errors
                .into_iter()
                .map(|mut e| {
                    // The page has one choice for hospital and department.
                    if matches!(e.field.as_str(), "invited_hospital_id" | "department_id") {
                        e.field = "invited".to_owned();
                    }
                    e
                })
                .collect();
            let page = NewPage {
                page: page.with_nav("teleconsult"),
                person_id: form.person().unwrap_or_default(),
                choices,
                form,
                errors,
            };
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
struct MessageQuery {
    #[serde(default)]
    message: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "teleconsult.html")]
struct OnePage {
    page: PageCtx,
    t: TeleconsultView,
    specialists: Vec<IdName>,
    /// Whom the reader may invite onto the panel now.
    panel_choices: Vec<IdName>,
    message: String,
    /// The ICE servers of the video room (`RTCConfiguration.iceServers`), as JSON.
    ice_json: String,
}

impl OnePage {
    fn at(&self, s: &str) -> String {
        at(s)
    }

    fn is(&self, standing: &str) -> bool {
        serde_json::to_value(self.t.standing).is_ok_and(|v| v == standing)
    }

    fn status(&self) -> &'static str {
        self.t.summary.status.as_str()
    }

    fn open(&self) -> bool {
        matches!(
            self.t.summary.status,
            Status::Draft | Status::Requested | Status::Accepted | Status::Scheduled
        )
    }
}

async fn one(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<OnePage> {
    let t = service::view(&state, &actor, id).await?;
    let specialists = service::specialists_for(&state, &actor, &t).await?;
    let panel_choices = service::panel_choices(&state, &actor, &t).await?;
    let me = actor.require()?.account_id;
    let ice = crate::consult::ice::ice_servers(&state.config.consult, me, state.now_ms() / 1000);
    Ok(OnePage {
        page: page.with_nav("teleconsult"),
        t,
        specialists,
        panel_choices,
        message: q.message.unwrap_or_default(),
        ice_json: serde_json::to_string(&ice).unwrap_or_else(|_| "[]".to_owned()),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "teleconsult_items.html")]
struct ItemsPage {
    page: PageCtx,
    id: i64,
    items: Vec<SharedItem>,
}

async fn items(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<ItemsPage> {
    let items = service::items(&state, &actor, id).await?;
    Ok(ItemsPage {
        page: page.with_nav("teleconsult"),
        id,
        items,
    })
}

/// Every field a step's form may send.
#[derive(Deserialize, Default)]
struct StepForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    specialist_id: Option<i64>,
    /// A co-specialist to invite onto the panel or take off it.
    #[serde(default)]
    account_id: Option<i64>,
    #[serde(default)]
    agree: Option<String>,
    #[serde(default)]
    findings: String,
    #[serde(default)]
    diagnosis_icd10: String,
    #[serde(default)]
    diagnosis_name: String,
    #[serde(default)]
    recommendations: String,
}

/// One step from the consultation's page, back to it with the outcome.
async fn step(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Path((id, step)): Path<(String, String)>,
    AppForm(f): AppForm<StepForm>,
) -> AppResult<Redirect> {
    let id = crate::extract::path_id("remote consultation", &id)?;
    let (s, a) = (&state, &actor);
    let result = match step.as_str() {
        "consent" => service::consent(s, a, id, Some(f.agree.as_deref() == Some("yes"))).await,
        "send" => service::send(s, a, id).await,
        "accept" => service::accept(s, a, id, f.specialist_id).await,
        "panel-add" => service::add_panelist(s, a, id, f.account_id).await,
        "panel-remove" => match f.account_id {
            None => Err(AppError::required("account_id")),
            Some(d) => service::remove_panelist(s, a, id, d).await,
        },
        "decline" => service::decline(s, a, id, &f.reason).await,
        "schedule" => service::schedule(s, a, id, &f.starts_at).await,
        "join" => service::join(s, a, id).await.map(|_| ()),
        "leave" => service::leave(s, a, id).await,
        "hold" => service::hold(s, a, id).await,
        "report" => {
            let input = OpinionInput {
                findings: f.findings,
                diagnosis_icd10: f.diagnosis_icd10,
                diagnosis_name: f.diagnosis_name,
                recommendations: f.recommendations,
            };
            service::save_report(s, a, id, &input).await
        }
        "sign" => service::sign_report(s, a, id).await,
        "addendum" => service::add_addendum(s, a, id, &f.body).await,
        "receive" => service::receive(s, a, id, &f.decision).await,
        "cancel" => service::cancel(s, a, id, &f.reason).await,
        _ => Err(AppError::NotFound(format!("no step '{step}'"))),
    };
    page.redirect_outcome(&format!("/remote-consultations/{id}"), result)
}

impl Standing {
    /// The catalogue key of how the reader stands.
    pub fn label_key(self) -> &'static str {
        match self {
            Standing::Inviting => "teleconsult.standing.inviting",
            Standing::Specialist => "teleconsult.standing.specialist",
            Standing::Panelist => "teleconsult.standing.panelist",
            Standing::Candidate => "teleconsult.standing.candidate",
            Standing::Coordinator => "teleconsult.standing.coordinator",
            Standing::Oversight => "teleconsult.standing.oversight",
            Standing::PatientSide => "teleconsult.standing.patient_side",
        }
    }
}
