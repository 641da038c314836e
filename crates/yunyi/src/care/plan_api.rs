//! Care plans, home readings, follow-up questionnaires and the team's tasks over the JSON API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::api::{EndInput, created};
use super::plan::{
    self, AnswersInput, FollowupDetail, NewReadingInput, PlanInput, PlanSummary, PlanView,
    ReadingOutcome, TaskView,
};
use crate::app::AppState;
use crate::error::AppResult;
use crate::extract::{AppJson, PathId};
use crate::identity::Actor;
use crate::paging::Items;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    plans,
    create_plan,
    get_plan,
    end_plan,
    record_reading,
    get_followup,
    answer,
    tasks,
    close_task
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/care-plans", get(plans).post(create_plan))
        .route("/api/v1/care-plans/{id}", get(get_plan))
        .route("/api/v1/care-plans/{id}/end", post(end_plan))
        .route("/api/v1/care-readings", post(record_reading))
        .route("/api/v1/care-followups/{id}", get(get_followup))
        .route("/api/v1/care-followups/{id}/answers", post(answer))
        .route("/api/v1/care-tasks", get(tasks))
        .route("/api/v1/care-tasks/{id}/close", post(close_task))
}

/// The reader's care plans: a patient's and their family's, a team member's teams' (audited).
#[utoipa::path(get, path = "/api/v1/care-plans",
    responses((status = 200, description = "Plans", body = Items<PlanSummary>)))]
async fn plans(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Items<PlanSummary>>> {
    Ok(Json(Items {
        items: plan::plans(&state, &actor).await?,
    }))
}

crate::created!(PlanCreated, id);

/// Make a care plan from a template for a patient of the writer's team (a doctor or nurse of
/// the team with a care link to the patient): limits, follow-ups, the team's care links.
#[utoipa::path(post, path = "/api/v1/care-plans", request_body = PlanInput,
    responses((status = 201, description = "Made", body = PlanCreated,
        headers(("location" = String, description = "The plan's address")))))]
async fn create_plan(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<PlanInput>,
) -> AppResult<Response> {
    let id = plan::create(&state, &actor, &input).await?;
    Ok(created(
        format!("/api/v1/care-plans/{id}"),
        PlanCreated { id },
    ))
}

/// One plan: goals by template, limits, what is due, follow-ups, readings, tasks (audited).
#[utoipa::path(get, path = "/api/v1/care-plans/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The plan", body = PlanView)))]
async fn get_plan(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<PlanView>> {
    Ok(Json(plan::plan(&state, &actor, id).await?))
}

/// End the plan (its team): follow-ups not yet sent are cancelled, its care links end.
#[utoipa::path(post, path = "/api/v1/care-plans/{id}/end", params(crate::openapi::IdParam),
    request_body = EndInput, responses((status = 204, description = "Ended")))]
async fn end_plan(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<EndInput>,
) -> AppResult<StatusCode> {
    plan::end(&state, &actor, id, &input.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enter a home reading (the patient side): each running plan checks it, and one whose limit
/// it breaks opens a task for its team.
#[utoipa::path(post, path = "/api/v1/care-readings", request_body = NewReadingInput,
    responses((status = 201, description = "Recorded", body = ReadingOutcome)))]
async fn record_reading(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<NewReadingInput>,
) -> AppResult<(StatusCode, Json<ReadingOutcome>)> {
    let outcome = plan::record_reading(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(outcome)))
}

/// One follow-up questionnaire with its answers (audited).
#[utoipa::path(get, path = "/api/v1/care-followups/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The follow-up", body = FollowupDetail)))]
async fn get_followup(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<FollowupDetail>> {
    Ok(Json(plan::followup(&state, &actor, id).await?))
}

/// What answering did.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
struct Answered {
    /// The task opened for the team, when an answer called for it.
    task: Option<i64>,
}

/// Answer a follow-up sent to the patient side (late answers are taken).
#[utoipa::path(post, path = "/api/v1/care-followups/{id}/answers", params(crate::openapi::IdParam),
    request_body = AnswersInput, responses((status = 200, description = "Answered", body = Answered)))]
async fn answer(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<AnswersInput>,
) -> AppResult<Json<Answered>> {
    let task = plan::answer(&state, &actor, id, &input).await?;
    Ok(Json(Answered { task }))
}

/// The open tasks of the reader's care teams, soonest due first, then those closed in the
/// last day (audited).
#[utoipa::path(get, path = "/api/v1/care-tasks",
    responses((status = 200, description = "Tasks", body = Items<TaskView>)))]
async fn tasks(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Items<TaskView>>> {
    Ok(Json(Items {
        items: plan::tasks(&state, &actor).await?,
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct TaskCloseInput {
    /// What the patient side reads (2–500 characters).
    #[serde(default)]
    reply: String,
}

/// Close a task of the reader's team with a reply the patient side reads (and is told of).
#[utoipa::path(post, path = "/api/v1/care-tasks/{id}/close", params(crate::openapi::IdParam),
    request_body = TaskCloseInput, responses((status = 204, description = "Closed")))]
async fn close_task(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<TaskCloseInput>,
) -> AppResult<StatusCode> {
    plan::close_task(&state, &actor, id, &input.reply).await?;
    Ok(StatusCode::NO_CONTENT)
}
