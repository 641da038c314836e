//! Care-plan pages: a patient's plans (today's list, entering a reading, the readings with the
//! team's replies), a questionnaire to answer, the team's task dashboard (refreshing itself),
//! and the plan editor from templates. Every form works without script.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use super::plan::{
    self, AnswersInput, FollowupDetail, NewReadingInput, PlanInput, PlanSummary, PlanView, TaskView,
};
use super::protocol::{self, Answer, Limit, Measure, Questionnaire, ReadingInput, TEMPLATES};
use crate::app::AppState;
use crate::error::AppResult;
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::teleconsult::service::IdName;
use crate::web::PageCtx;
use crate::web::page::redirect_with_outcome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/care/plans", get(plans_page).post(create))
        .route("/care/plans/new", get(new_page))
        .route("/care/plans/{id}", get(plan_page))
        .route("/care/plans/{id}/readings", post(record))
        .route("/care/plans/{id}/end", post(end))
        .route("/care/followups/{id}", get(followup_page).post(answer))
        .route("/care/tasks", get(tasks_page))
        .route("/care/tasks/list", get(task_list))
        .route("/care/tasks/{id}/close", post(close))
}

#[derive(Deserialize, Default)]
struct MessageQuery {
    #[serde(default)]
    message: String,
    /// A reading or an answer called for the team.
    #[serde(default)]
    flagged: Option<String>,
}

/// What a task is about, in the reader's language: the reading, the questions whose answers
/// called for the team, or the questionnaire left unanswered.
fn task_detail(page: &PageCtx, t: &TaskView) -> String {
    use super::plan_store::TaskKind;
    match (&t.kind, &t.questionnaire) {
        (TaskKind::Answer, Some(q)) => t
            .detail
            .split(',')
            .map(|id| page.t(&protocol::question_key(q, id)))
            .collect::<Vec<_>>()
            .join("；"),
        (TaskKind::Missed, Some(q)) => page.t(&format!("plan.q.{q}")).to_owned(),
        _ => t.detail.clone(),
    }
}

/// `2026-12-07T09:00:00+08:00` → `2026-12-07 09:00`.
fn at(s: &str) -> String {
    s.get(..16).unwrap_or(s).replace('T', " ")
}

#[derive(Template, WebTemplate)]
#[template(path = "care_plans.html")]
struct PlansPage {
    page: PageCtx,
    plans: Vec<PlanSummary>,
}

async fn plans_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
) -> AppResult<PlansPage> {
    let plans = plan::plans(&state, &actor).await?;
    let nav = if page.is_patient() {
        "care-plans"
    } else {
        "care-tasks"
    };
    Ok(PlansPage {
        page: page.with_nav(nav),
        plans,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "care_plan.html")]
struct PlanPage {
    page: PageCtx,
    plan: PlanView,
    patient: bool,
    message: String,
    flagged: bool,
}

impl PlanPage {
    fn at(&self, s: &str) -> String {
        at(s)
    }

    fn goals(&self) -> Vec<String> {
        protocol::template(&self.plan.template)
            .map(|t| protocol::template_keys(t).0)
            .unwrap_or_default()
    }

    fn activities(&self) -> Vec<String> {
        protocol::template(&self.plan.template)
            .map(|t| protocol::template_keys(t).1)
            .unwrap_or_default()
    }

    fn number(&self, v: &Option<f64>) -> String {
        v.map(|v| v.to_string()).unwrap_or_else(|| "—".to_owned())
    }

    fn measure_text(&self, m: &Measure) -> String {
        self.page.t_with(
            "plan.measure_now",
            &[("measure", self.page.t(&format!("plan.m.{m}")))],
        )
    }

    fn answer_text(&self, q: &str) -> String {
        self.page.t_with(
            "plan.answer_now",
            &[("title", self.page.t(&format!("plan.q.{q}")))],
        )
    }

    /// The readings a page shows: the last 14, and any older one out of range.
    fn recent(&self) -> Vec<&super::plan::ReadingView> {
        self.plan
            .readings
            .iter()
            .enumerate()
            .filter(|(i, r)| *i < 14 || r.flagged)
            .map(|(_, r)| r)
            .collect()
    }

    fn shown_text(&self) -> String {
        self.page.t_with(
            "plan.shown",
            &[("n", &self.plan.readings.len().to_string())],
        )
    }

    /// `2026-12-07T07:13:00+08:00` → `12-07 07:13`.
    fn short(&self, s: &str) -> String {
        s.get(5..16).unwrap_or(s).replace('T', " ")
    }

    fn task_text(&self, t: &TaskView) -> String {
        task_detail(&self.page, t)
    }

    fn nothing_today(&self) -> bool {
        !self.plan.measures.iter().any(|m| m.due) && !self.plan.followups.iter().any(|f| f.open)
    }

    fn value_label(&self, m: &Measure) -> String {
        self.page.t_with("plan.value", &[("unit", m.unit())])
    }
}

async fn plan_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<PlanPage> {
    let plan = plan::plan(&state, &actor, id).await?;
    let patient = page.is_patient();
    let nav = if patient { "care-plans" } else { "care-tasks" };
    Ok(PlanPage {
        page: page.with_nav(nav),
        plan,
        patient,
        message: q.message,
        flagged: q.flagged.is_some(),
    })
}

#[derive(Deserialize, Default)]
struct ReadingForm {
    #[serde(default)]
    person_id: Option<i64>,
    #[serde(default)]
    measure: String,
    #[serde(default)]
    systolic: String,
    #[serde(default)]
    diastolic: String,
    #[serde(default)]
    value: String,
}

/// A number as typed on a phone: blank is absent, a comma is a decimal point, and anything
/// else that is not a number is sent on as NaN for the check to name.
fn typed(s: &str) -> Option<f64> {
    let s = s.trim().replace(['，', ','], ".");
    (!s.is_empty()).then(|| s.parse().unwrap_or(f64::NAN))
}

async fn record(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<ReadingForm>,
) -> AppResult<Redirect> {
    let input = NewReadingInput {
        person_id: f.person_id,
        reading: ReadingInput {
            measure: Measure::parse(&f.measure),
            systolic: typed(&f.systolic),
            diastolic: typed(&f.diastolic),
            value: typed(&f.value),
        },
    };
    let path = format!("/care/plans/{id}");
    match plan::record_reading(&state, &actor, &input).await {
        Ok(o) if o.flagged => redirect_with_outcome(&path, &[("flagged", "1".to_owned())], Ok(())),
        Ok(_) => redirect_with_outcome(&path, &[], Ok(())),
        Err(e) => page.redirect_outcome(&path, Err(e)),
    }
}

#[derive(Deserialize, Default)]
struct EndForm {
    #[serde(default)]
    reason: String,
}

async fn end(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<EndForm>,
) -> AppResult<Redirect> {
    let result = plan::end(&state, &actor, id, &f.reason).await;
    page.redirect_outcome(&format!("/care/plans/{id}"), result)
}

// ---- The plan editor ----

#[derive(Deserialize, Default)]
struct NewQuery {
    #[serde(default)]
    person_id: Option<i64>,
    #[serde(default)]
    team_id: Option<i64>,
    #[serde(default)]
    message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "care_plan_new.html")]
struct NewPlanPage {
    page: PageCtx,
    person: IdName,
    team: IdName,
    templates: Vec<&'static str>,
    limits: [Limit; 5],
    today: String,
    message: String,
}

async fn new_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<NewQuery>,
) -> AppResult<NewPlanPage> {
    // The people of the writer's teams' contracts: the editor is opened from one of them.
    let contracts = super::service::contracts(&state, &actor).await?;
    let found = contracts
        .into_iter()
        .find(|c| Some(c.person.id) == q.person_id && Some(c.team.id) == q.team_id)
        .ok_or_else(|| {
            crate::error::AppError::NotFound("no such patient among your teams' contracts".into())
        })?;
    Ok(NewPlanPage {
        page: page.with_nav("care-tasks"),
        person: found.person,
        team: found.team,
        templates: TEMPLATES.iter().map(|t| t.code).collect(),
        limits: Limit::ALL,
        today: crate::time::cst_today(state.now_ms()).to_string(),
        message: q.message,
    })
}

#[derive(Deserialize, Default)]
struct PlanForm {
    #[serde(default)]
    person_id: Option<i64>,
    #[serde(default)]
    team_id: Option<i64>,
    #[serde(default)]
    template: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    note: String,
    /// `low_<limit>` and `high_<limit>`, blank for the template's.
    #[serde(flatten)]
    limits: BTreeMap<String, String>,
}

async fn create(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    AppForm(f): AppForm<PlanForm>,
) -> AppResult<Redirect> {
    let mut limits: BTreeMap<String, plan::LimitInput> = BTreeMap::new();
    for (key, value) in &f.limits {
        let (end, name) = match key.split_once('_') {
            Some(("low" | "high", name)) if Limit::parse(name).is_some() => {
                (key.starts_with("low"), name)
            }
            _ => continue,
        };
        let Some(v) = typed(value) else { continue };
        let l = limits.entry(name.to_owned()).or_default();
        if end {
            l.low = Some(v);
        } else {
            l.high = Some(v);
        }
    }
    let input = PlanInput {
        person_id: f.person_id,
        team_id: f.team_id,
        template: f.template,
        starts_on: Some(f.starts_on),
        note: f.note,
        limits,
    };
    match plan::create(&state, &actor, &input).await {
        Ok(id) => redirect_with_outcome(&format!("/care/plans/{id}"), &[], Ok(())),
        Err(e) => {
            let context = [
                ("person_id", f.person_id.unwrap_or_default().to_string()),
                ("team_id", f.team_id.unwrap_or_default().to_string()),
            ];
            page.redirect_outcome_with("/care/plans/new", &context, Err(e))
        }
    }
}

// ---- Questionnaires ----

#[derive(Template, WebTemplate)]
#[template(path = "care_followup.html")]
struct FollowupPage {
    page: PageCtx,
    f: FollowupDetail,
    q: Questionnaire,
    patient: bool,
    message: String,
}

impl FollowupPage {
    fn question(&self, id: &str) -> String {
        protocol::question_key(self.q.code, id)
    }

    fn given(&self, id: &str) -> String {
        match self.f.answers.as_ref().and_then(|a| a.get(id)) {
            Some(Value::Bool(true)) => self.page.t("plan.yes").to_owned(),
            Some(Value::Bool(false)) => self.page.t("plan.no").to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "—".to_owned(),
        }
    }

    fn scale(&self, a: &Answer) -> Vec<i64> {
        match a {
            Answer::Scale { max, .. } => (0..=*max).collect(),
            _ => Vec::new(),
        }
    }

    fn at(&self, s: &str) -> String {
        at(s)
    }
}

async fn followup_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> AppResult<FollowupPage> {
    let f = plan::followup(&state, &actor, id).await?;
    let questionnaire = protocol::questionnaire(&f.followup.questionnaire)
        .copied()
        .ok_or_else(|| crate::error::AppError::NotFound(format!("no follow-up {id}")))?;
    let patient = page.is_patient();
    Ok(FollowupPage {
        page: page.with_nav(if patient { "care-plans" } else { "care-tasks" }),
        f,
        q: questionnaire,
        patient,
        message: q.message,
    })
}

async fn answer(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(form): AppForm<BTreeMap<String, String>>,
) -> AppResult<Redirect> {
    // The form's strings become the answers' forms by each question's kind.
    let f = plan::followup(&state, &actor, id).await?;
    let q = protocol::questionnaire(&f.followup.questionnaire);
    let mut answers = BTreeMap::new();
    for question in q.map(|q| q.questions).unwrap_or_default() {
        let Some(raw) = form
            .get(question.id)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        let value = match question.answer {
            Answer::YesNo { .. } => match raw {
                "yes" => Value::Bool(true),
                "no" => Value::Bool(false),
                other => Value::String(other.to_owned()),
            },
            Answer::Scale { .. } => raw
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(raw.to_owned())),
            Answer::Number { .. } => typed(raw)
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(raw.to_owned())),
            Answer::Text => Value::String(raw.to_owned()),
        };
        answers.insert(question.id.to_owned(), value);
    }
    let plan_path = format!("/care/plans/{}", f.plan_id);
    match plan::answer(&state, &actor, id, &AnswersInput { answers }).await {
        Ok(Some(_)) => redirect_with_outcome(&plan_path, &[("flagged", "1".to_owned())], Ok(())),
        Ok(None) => redirect_with_outcome(&plan_path, &[], Ok(())),
        Err(e) => page.redirect_outcome(&format!("/care/followups/{id}"), Err(e)),
    }
}

// ---- The team's dashboard ----

/// One patient's tasks on the dashboard.
struct PatientTasks {
    person: IdName,
    open: usize,
    tasks: Vec<TaskView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "care_tasks.html")]
struct TaskList {
    page: PageCtx,
    patients: Vec<PatientTasks>,
}

impl TaskList {
    fn at(&self, s: &str) -> String {
        at(s)
    }

    fn detail(&self, t: &TaskView) -> String {
        task_detail(&self.page, t)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "care_dashboard.html")]
struct Dashboard {
    page: PageCtx,
    list: TaskList,
    message: String,
}

async fn task_list_of(state: &AppState, actor: &Actor, page: &PageCtx) -> AppResult<TaskList> {
    let mut patients: Vec<PatientTasks> = Vec::new();
    // Open tasks come first, soonest due first: a patient's place is that of their first.
    for t in plan::tasks(state, actor).await? {
        let open = usize::from(t.status == super::plan_store::TaskStatus::Open);
        match patients.iter_mut().find(|p| p.person.id == t.person.id) {
            Some(p) => {
                p.open += open;
                p.tasks.push(t);
            }
            None => patients.push(PatientTasks {
                person: t.person.clone(),
                open,
                tasks: vec![t],
            }),
        }
    }
    Ok(TaskList {
        page: page.clone(),
        patients,
    })
}

async fn tasks_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<Dashboard> {
    let page = page.with_nav("care-tasks");
    Ok(Dashboard {
        list: task_list_of(&state, &actor, &page).await?,
        message: q.message,
        page,
    })
}

/// The list alone, for the dashboard's refresh.
async fn task_list(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
) -> AppResult<TaskList> {
    task_list_of(&state, &actor, &page).await
}

#[derive(Deserialize, Default)]
struct CloseForm {
    #[serde(default)]
    reply: String,
}

async fn close(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    PathId(id): PathId,
    AppForm(f): AppForm<CloseForm>,
) -> AppResult<Redirect> {
    let result = plan::close_task(&state, &actor, id, &f.reply).await;
    page.redirect_outcome("/care/tasks", result)
}
