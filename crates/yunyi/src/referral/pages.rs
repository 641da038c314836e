//! Referral pages: the list, the referring doctor's form, one referral with the steps its
//! reader may take now. Every form works without script.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::ReferralInput;
use super::service::{self, ReferralChoices, ReferralStanding, ReferralSummary, ReferralView};
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::teleconsult::model::ItemKind;
use crate::web::PageCtx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/referrals", get(list))
        .route("/referrals/new", get(new_form).post(create))
        .route("/referrals/{id}", get(one))
        .route("/referrals/{id}/steps/{step}", post(step))
}

#[derive(Template, WebTemplate)]
#[template(path = "referrals.html")]
struct ListPage {
    page: PageCtx,
    items: Vec<ReferralSummary>,
}

async fn list(State(state): State<AppState>, page: PageCtx, actor: Actor) -> AppResult<ListPage> {
    let items = service::list(&state, &actor).await?;
    Ok(ListPage {
        page: page.with_nav("referral"),
        items,
    })
}

#[derive(Deserialize, Default)]
struct NewQuery {
    person_id: Option<i64>,
    consultation_id: Option<i64>,
}

/// The form as sent: the receiving department as one choice, each item a checkbox named
/// `item:kind:id` (a form body has no lists).
#[derive(Deserialize, Default)]
struct ReferralForm {
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    consultation_id: String,
    /// `department_id:hospital_id`.
    #[serde(default)]
    to: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    request: String,
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, String>,
}

impl ReferralForm {
    fn person(&self) -> Option<i64> {
        self.person_id.trim().parse().ok()
    }

    fn items(&self) -> impl Iterator<Item = &str> {
        self.rest.keys().filter_map(|k| k.strip_prefix("item:"))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "referral_new.html")]
struct NewPage {
    page: PageCtx,
    choices: ReferralChoices,
    form: ReferralForm,
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
    let choices = service::choices(&state, &actor, q.person_id).await?;
    Ok(NewPage {
        page: page.with_nav("referral"),
        choices,
        form: ReferralForm {
            person_id: q.person_id.map(|p| p.to_string()).unwrap_or_default(),
            consultation_id: q.consultation_id.map(|c| c.to_string()).unwrap_or_default(),
            direction: "up".to_owned(),
            kind: "outpatient".to_owned(),
            ..ReferralForm::default()
        },
        errors: Vec::new(),
    })
}

async fn create(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(form): AppForm<ReferralForm>,
) -> AppResult<Response> {
    let (department_id, to_hospital_id) = crate::teleconsult::pages::department_choice(&form.to);
    let input = ReferralInput {
        person_id: form.person(),
        to_hospital_id,
        department_id,
        direction: form.direction.clone(),
        kind: form.kind.clone(),
        summary: form.summary.clone(),
        request: form.request.clone(),
        consultation_id: form.consultation_id.trim().parse().ok(),
        items: crate::teleconsult::pages::ticked_items(form.items()),
    };
    match service::refer(&state, &actor, &input).await {
        Ok(id) => Ok(Redirect::to(&format!("/referrals/{id}")).into_response()),
        Err(AppError::Validation(errors)) => {
            let choices = service::choices(&state, &actor, form.person()).await?;
            let errors = errors
                .into_iter()
                .map(|mut e| {
                    if matches!(e.field.as_str(), "to_hospital_id" | "department_id") {
                        e.field = "to".to_owned();
                    }
                    e
                })
                .collect();
            let page = NewPage {
                page: page.with_nav("referral"),
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
#[template(path = "referral.html")]
struct OnePage {
    page: PageCtx,
    r: ReferralView,
    message: String,
    /// The times the receiving side may reserve now.
    times: Vec<super::service::ReservedTime>,
}

impl OnePage {
    fn at(&self, s: &str) -> String {
        crate::teleconsult::pages::at(s)
    }

    fn receiving(&self) -> bool {
        self.r.standing == ReferralStanding::Receiving
    }

    fn may_cancel(&self) -> bool {
        self.r.standing != ReferralStanding::Receiving
            && matches!(self.r.summary.status.as_str(), "sent" | "accepted")
    }
}

async fn one(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<OnePage> {
    let r = service::view(&state, &actor, id).await?;
    let times = if r.may_reserve {
        service::reservable(&state, &actor, id).await?
    } else {
        Vec::new()
    };
    Ok(OnePage {
        page: page.with_nav("referral"),
        r,
        message: q.message.unwrap_or_default(),
        times,
    })
}

#[derive(Deserialize, Default)]
struct StepForm {
    #[serde(default)]
    arranged: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    slot_id: String,
}

async fn step(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Path((id, step)): Path<(String, String)>,
    AppForm(f): AppForm<StepForm>,
) -> AppResult<Redirect> {
    let id = crate::extract::path_id("referral", &id)?;
    let result = match step.as_str() {
        "accept" => service::accept(&state, &actor, id, &f.arranged).await,
        "decline" => service::decline(&state, &actor, id, &f.reason).await,
        "arrive" => service::arrive(&state, &actor, id).await,
        "reserve" => match f.slot_id.trim().parse::<i64>() {
            Ok(slot) if slot > 0 => service::reserve(&state, &actor, id, slot).await,
            _ => Err(AppError::field(crate::error::FieldError::required(
                "slot_id",
            ))),
        },
        "cancel" => service::cancel(&state, &actor, id, &f.reason).await,
        _ => Err(AppError::NotFound(format!("no step '{step}'"))),
    };
    page.redirect_outcome(&format!("/referrals/{id}"), result)
}
