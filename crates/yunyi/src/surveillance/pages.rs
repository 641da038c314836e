//! Surveillance pages: the infection officers' and regulators' dashboard (`/surveillance`,
//! whose case list refreshes itself every few seconds), a case's page with its next step, the
//! screening rules with their history, and the doctor's flag on a consultation's page.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;
use triage::screening::RuleSet;

use super::cases::{self, CaseItem, CaseView};
use super::dashboard::Overview;
use super::model::{Action, StepInput};
use super::rules::{self, AreaInput, RulesView};
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::web::PageCtx;
use crate::web::filters;
use crate::web::page::redirect_with_outcome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/surveillance", get(dashboard))
        .route("/surveillance/cases", get(case_list))
        .route("/surveillance/counts.csv", get(counts_csv))
        .route("/surveillance/report-cards.csv", get(report_cards_csv))
        .route("/surveillance/alerts/{id}/{action}", post(act_on_alert))
        .route("/surveillance/cases/{id}", get(case_page).post(case_step))
        .route("/surveillance/rules", get(rules_page).post(save_rules))
        .route("/surveillance/rules/areas", post(add_area))
        .route("/surveillance/rules/areas/{index}/end", post(end_area))
        .route("/consultations/{id}/flag", post(flag))
}

#[derive(Deserialize, Default)]
struct MessageQuery {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    hospital_id: Option<i64>,
}

/// The open and recently ended cases, as the dashboard and its refresh show them.
#[derive(Template, WebTemplate)]
#[template(path = "surveillance_cases.html")]
struct CaseList {
    page: PageCtx,
    open: Vec<CaseItem>,
    ended: Vec<CaseItem>,
}

#[derive(Template, WebTemplate)]
#[template(path = "surveillance.html")]
struct Dashboard {
    page: PageCtx,
    cases: CaseList,
    overview: Overview,
    region: Option<String>,
    message: String,
    /// Whether the reader acts on alerts (officers) or only watches them (regulators).
    may_act: bool,
}

async fn case_list_of(state: &AppState, actor: &Actor, page: &PageCtx) -> AppResult<CaseList> {
    let (open, ended) = cases::list(state, actor).await?;
    Ok(CaseList {
        page: page.clone(),
        open,
        ended,
    })
}

async fn dashboard(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<Dashboard> {
    let page = page.with_nav("surveillance");
    Ok(Dashboard {
        cases: case_list_of(&state, &actor, &page).await?,
        overview: super::dashboard::overview(&state, &actor).await?,
        region: super::dashboard::my_region(&state, &actor).await?,
        message: q.message.unwrap_or_default(),
        may_act: actor.role().is_some_and(super::scan::may_act_on_alerts),
        page,
    })
}

#[derive(Deserialize, Default)]
struct CountsQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

async fn counts_csv(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<CountsQuery>,
) -> AppResult<axum::response::Response> {
    let csv =
        super::dashboard::counts_csv(&state, &actor, q.from.as_deref(), q.to.as_deref()).await?;
    Ok(super::api::csv_response(csv, "surveillance-counts.csv"))
}

async fn report_cards_csv(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<axum::response::Response> {
    let csv = super::report::cards_csv(&state, &actor).await?;
    Ok(super::api::csv_response(csv, "report-cards.csv"))
}

#[derive(Deserialize, Default)]
struct AlertForm {
    #[serde(default)]
    note: String,
}

async fn act_on_alert(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, action)): Path<(String, String)>,
    AppForm(form): AppForm<AlertForm>,
) -> AppResult<Redirect> {
    let id = crate::extract::path_id("alert", &id)?;
    let note = Some(form.note.trim()).filter(|n| !n.is_empty());
    let result = super::scan::act(&state, &actor, id, &action, note)
        .await
        .map(|_| ());
    redirect_with_outcome("/surveillance", &[], result)
}

/// The list alone, for the dashboard's refresh every few seconds (htmx).
async fn case_list(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
) -> AppResult<CaseList> {
    case_list_of(&state, &actor, &page).await
}

#[derive(Template, WebTemplate)]
#[template(path = "surveillance_case.html")]
struct CasePage {
    page: PageCtx,
    item: CaseView,
    message: String,
    today: String,
}

impl CasePage {
    fn next(&self) -> &'static str {
        self.item.next_action.map(Action::as_str).unwrap_or("")
    }

    fn may_dismiss(&self) -> bool {
        self.item.status.is_open() && self.next() != "close"
    }
}

async fn case_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<CasePage> {
    Ok(CasePage {
        page: page.with_nav("surveillance"),
        item: cases::read(&state, &actor, id).await?,
        message: q.message.unwrap_or_default(),
        today: crate::time::cst_today(state.now_ms()).to_string(),
    })
}

async fn case_step(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(input): AppForm<StepInput>,
) -> AppResult<Redirect> {
    let result = cases::step(&state, &actor, id, &input).await.map(|_| ());
    redirect_with_outcome(&format!("/surveillance/cases/{id}"), &[], result)
}

#[derive(Template, WebTemplate)]
#[template(path = "surveillance_rules.html")]
struct RulesPage {
    page: PageCtx,
    view: RulesView,
    document: String,
    message: String,
}

async fn rules_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<RulesPage> {
    let view = rules::view(&state, &actor, q.hospital_id).await?;
    let document = toml::to_string_pretty(&view.rules).map_err(|e| AppError::Internal(e.into()))?;
    Ok(RulesPage {
        page: page.with_nav("surveillance"),
        view,
        document,
        message: q.message.unwrap_or_default(),
    })
}

#[derive(Deserialize, Default)]
struct RulesForm {
    #[serde(default)]
    document: String,
    #[serde(default)]
    note: String,
}

/// The whole rule set as edited in the page's TOML editor.
async fn save_rules(
    State(state): State<AppState>,
    actor: Actor,
    AppForm(form): AppForm<RulesForm>,
) -> AppResult<Redirect> {
    let result = match toml::from_str::<RuleSet>(&form.document) {
        Ok(set) => rules::save(&state, &actor, set, &form.note)
            .await
            .map(|_| ()),
        Err(e) => Err(AppError::Validation(vec![FieldError::new(
            "document",
            format!("is not a valid rule set: {}", e.message()),
        )])),
    };
    redirect_with_outcome("/surveillance/rules", &[], result)
}

async fn add_area(
    State(state): State<AppState>,
    actor: Actor,
    AppForm(form): AppForm<AreaInput>,
) -> AppResult<Redirect> {
    let result = rules::add_area(&state, &actor, &form).await.map(|_| ());
    redirect_with_outcome("/surveillance/rules", &[], result)
}

async fn end_area(
    State(state): State<AppState>,
    actor: Actor,
    Path(index): Path<String>,
) -> AppResult<Redirect> {
    let index: usize = index
        .parse()
        .map_err(|_| AppError::NotFound("no such outbreak area".to_owned()))?;
    let result = rules::end_area(&state, &actor, index).await.map(|_| ());
    redirect_with_outcome("/surveillance/rules", &[], result)
}

#[derive(Deserialize, Default)]
struct FlagForm {
    #[serde(default)]
    reason: String,
}

/// The doctor's "标注疑似传染病" on a consultation's page.
async fn flag(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<FlagForm>,
) -> AppResult<Redirect> {
    let result = cases::flag_by_doctor(&state, &actor, id, &form.reason)
        .await
        .map(|_| ());
    redirect_with_outcome(&format!("/consultations/{id}"), &[], result)
}
