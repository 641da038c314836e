//! The chat-like triage page: the patient describes the problem, answers at most two follow-up
//! questions when the words say too little, confirms the red-flag checklist, and gets the
//! departments and doctors with free time — or is told to call 120. Plain forms, no script:
//! it works on any phone browser.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::{ChoiceInput, TriageAnswer, TriageRequest};
use super::service;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::AppForm;
use crate::web::PageCtx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/triage", get(start).post(step))
        .route("/triage/{id}/choose", post(choose))
}

/// Follow-up questions asked at most, so a vague patient is not held in a loop.
const MAX_FOLLOW_UPS: u32 = 2;

/// What the page shows below the conversation.
enum Stage {
    /// The first question: what is wrong, and for whom.
    Start,
    /// A follow-up question (哪里不舒服 / 多久了).
    FollowUp(triage::Question),
    /// The red-flag checklist before the advice; `true` when the words resemble an
    /// emergency the rules did not recognise (asked at once, with a warning).
    Checklist(Vec<triage::ChecklistItem>, bool),
    /// The advice.
    Result(Box<TriageAnswer>),
}

#[derive(Template, WebTemplate)]
#[template(path = "triage.html")]
struct TriagePage {
    page: PageCtx,
    stage: Stage,
    /// The patient's messages so far.
    said: Vec<String>,
    form: Carried,
    error: String,
    /// A refused message, back in the box for correction.
    draft: String,
}

impl TriagePage {
    fn said_joined(&self) -> String {
        self.said.join("\n")
    }

    /// A question is open: a follow-up or the checklist.
    fn asking(&self) -> bool {
        matches!(self.stage, Stage::FollowUp(_) | Stage::Checklist(..))
    }

    fn lang_en(&self) -> bool {
        self.page.lang == crate::web::i18n::Lang::En
    }

    fn urgency_class(&self, a: &TriageAnswer) -> &'static str {
        service::urgency_str(a.result.urgency)
    }
}

/// Who the triage is for, carried from step to step in hidden fields.
#[derive(Debug, Clone, Default)]
struct Carried {
    age_years: String,
    age_months: String,
    sex: String,
    pregnant: bool,
    hospital_id: String,
    asked: u32,
}

#[derive(Deserialize)]
struct StartQuery {
    hospital: Option<i64>,
}

async fn start(page: PageCtx, Query(q): Query<StartQuery>) -> TriagePage {
    TriagePage {
        page: page.with_nav("triage"),
        stage: Stage::Start,
        said: Vec::new(),
        form: Carried {
            hospital_id: q.hospital.map(|h| h.to_string()).unwrap_or_default(),
            ..Carried::default()
        },
        error: String::new(),
        draft: String::new(),
    }
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(|s| s.trim()).unwrap_or_default()
}

/// A number field: empty is absent, anything else must be a whole number.
fn number<T: std::str::FromStr>(raw: &str, name: &str) -> AppResult<Option<T>> {
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<T>()
        .map(Some)
        .map_err(|_| AppError::invalid(name.to_owned(), "must be a whole number"))
}

fn request(said: &[String], c: &Carried, confirmed: Vec<String>) -> AppResult<TriageRequest> {
    Ok(TriageRequest {
        text: said.join("，"),
        age_years: number(&c.age_years, "age_years")?,
        age_months: number(&c.age_months, "age_months")?,
        sex: match c.sex.as_str() {
            "female" => Some(triage::Sex::Female),
            "male" => Some(triage::Sex::Male),
            _ => None,
        },
        pregnant: c.pregnant.then_some(true),
        hospital_id: number(&c.hospital_id, "hospital_id")?,
        confirmed_red_flags: confirmed,
        follow_ups: c.asked,
    })
}

/// One step of the conversation.
async fn step(
    State(state): State<AppState>,
    page: PageCtx,
    AppForm(form): AppForm<HashMap<String, String>>,
) -> AppResult<TriagePage> {
    let carried = Carried {
        age_years: field(&form, "age_years").to_owned(),
        age_months: field(&form, "age_months").to_owned(),
        sex: field(&form, "sex").to_owned(),
        pregnant: !field(&form, "pregnant").is_empty(),
        hospital_id: field(&form, "hospital_id").to_owned(),
        asked: field(&form, "asked")
            .parse()
            .unwrap_or(0)
            .min(MAX_FOLLOW_UPS),
    };
    let mut said: Vec<String> = field(&form, "said")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .take(MAX_FOLLOW_UPS as usize + 1)
        .collect();
    // A new message, on one line (the lines of `said` are the messages).
    let answer = field(&form, "answer").replace(['\r', '\n'], " ");
    let stage_name = field(&form, "stage");
    let answered = stage_name != "checklist" && !answer.trim().is_empty();
    if answered {
        said.push(answer.trim().to_owned());
    }
    let mut view = TriagePage {
        page: page.with_nav("triage"),
        stage: Stage::Start,
        said,
        form: carried,
        error: String::new(),
        draft: String::new(),
    };
    // A mistake in the form is shown on the page, with everything typed kept.
    let outcome = next_stage(&state, &view.said, &mut view.form, stage_name, &form).await;
    match outcome {
        Ok(stage) => view.stage = stage,
        Err(AppError::Validation(errors)) => {
            view.error = errors
                .iter()
                .map(|e| error_text(&view.page, &e.field, &e.message))
                .collect::<Vec<_>>()
                .join("；");
            // The message that was refused goes back into the box to be corrected, not into
            // the conversation (sending it again as it was would only be refused again).
            if answered {
                view.draft = view.said.pop().unwrap_or_default();
            }
            if errors.iter().any(|e| e.field == "hospital_id") {
                view.form.hospital_id.clear();
            }
            view.stage = if view.said.is_empty() {
                Stage::Start
            } else {
                Stage::FollowUp(triage::Question {
                    id: "more".to_owned(),
                    text: view.page.t("triage.more").to_owned(),
                    text_en: view.page.t("triage.more").to_owned(),
                })
            };
        }
        Err(e) => return Err(e),
    }
    Ok(view)
}

fn error_text(page: &PageCtx, field: &str, message: &str) -> String {
    match field {
        "text" => page.t("triage.error.text").to_owned(),
        "age_years" | "age_months" => page.t("triage.error.age").to_owned(),
        _ => format!("{field}: {message}"),
    }
}

async fn next_stage(
    state: &AppState,
    said: &[String],
    carried: &mut Carried,
    stage: &str,
    form: &HashMap<String, String>,
) -> AppResult<Stage> {
    if stage == "checklist" {
        let confirmed = form
            .iter()
            .filter(|(k, v)| k.starts_with("flag_") && !v.is_empty())
            .map(|(k, _)| k.trim_start_matches("flag_").to_owned())
            .collect();
        let answer = service::triage(state, &request(said, carried, confirmed)?).await?;
        return Ok(Stage::Result(Box::new(answer)));
    }
    let req = request(said, carried, Vec::new())?;
    let result = service::assess(state, &req).await?;
    if result.urgency == triage::Urgency::Emergency {
        // No questions in an emergency: the advice at once.
        let answer = service::triage(state, &req).await?;
        return Ok(Stage::Result(Box::new(answer)));
    }
    let checklist = || triage::checklist().map_err(|e| AppError::Internal(anyhow::Error::new(e)));
    if result.possible_emergency {
        // It may be an emergency the words did not make plain: the checklist first.
        return Ok(Stage::Checklist(checklist()?, true));
    }
    if let Some(question) = result.follow_up.into_iter().next()
        && carried.asked < MAX_FOLLOW_UPS
    {
        carried.asked += 1;
        return Ok(Stage::FollowUp(question));
    }
    Ok(Stage::Checklist(checklist()?, false))
}

#[derive(Deserialize)]
struct ChooseForm {
    choice: String,
    department_code: Option<String>,
    doctor_id: Option<i64>,
    /// Where to continue: the doctor's day for a booking, the department for a consultation.
    day: Option<String>,
    department_id: Option<i64>,
    #[serde(default)]
    age_years: Option<String>,
    #[serde(default)]
    age_months: Option<String>,
}

/// Records the choice and continues to booking or to the online doctors of the department.
async fn choose(
    State(state): State<AppState>,
    Path(id): Path<String>,
    AppForm(f): AppForm<ChooseForm>,
) -> AppResult<Response> {
    let input = ChoiceInput {
        choice: f.choice.clone(),
        department_code: f.department_code.filter(|c| !c.is_empty()),
        doctor_id: f.doctor_id,
    };
    service::choose(&state, &id, &input).await?;
    let to = match (f.choice.as_str(), f.doctor_id, f.department_id) {
        ("booking", Some(doctor), _) => {
            // Only a date goes into the link, never what the client sent as is.
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            if let Some(d) = f
                .day
                .filter(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
            {
                query.append_pair("day", &d);
            }
            // The age the triage was about, so booking offers that person (a child) first.
            for (name, value) in [("age_years", &f.age_years), ("age_months", &f.age_months)] {
                if let Some(n) = value.as_deref().and_then(|v| v.trim().parse::<u32>().ok()) {
                    query.append_pair(name, &n.to_string());
                }
            }
            let query = query.finish();
            if query.is_empty() {
                format!("/doctors/{doctor}")
            } else {
                format!("/doctors/{doctor}?{query}")
            }
        }
        ("consultation", _, Some(department)) => {
            format!("/doctors?department={department}&service=text_consult")
        }
        _ => "/doctors".to_owned(),
    };
    Ok(Redirect::to(&to).into_response())
}
