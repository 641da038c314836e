//! Reports and their interpretation over the JSON API.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::api::created;
use super::report::{self, AskInput, Askable, HospitalReportInput, ReportView, UploadInput};
use crate::app::AppState;
use crate::consult::api::file_response;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppJson, PathId};
use crate::identity::Actor;
use crate::paging::Items;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list, record, upload, asked, askable, get_report, get_file, ask, interpret, timeline
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/care-reports", get(list).post(record))
        .route("/api/v1/care-reports/upload", post(upload))
        .route("/api/v1/care-reports/asked", get(asked))
        .route("/api/v1/care-reports/askable", get(askable))
        .route("/api/v1/care-reports/{id}", get(get_report))
        .route("/api/v1/care-reports/{id}/file", get(get_file))
        .route("/api/v1/care-reports/{id}/ask", post(ask))
        .route("/api/v1/care-reports/{id}/interpretation", post(interpret))
        .route("/api/v1/care-record", get(timeline))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ReportQuery {
    /// The patient (staff must name one; a patient without it sees everyone they act for).
    #[serde(default)]
    person_id: Option<i64>,
}

fn query<T: serde::de::DeserializeOwned>(q: Option<&str>) -> AppResult<T> {
    serde_urlencoded::from_str(q.unwrap_or(""))
        .map_err(|e| AppError::BadRequest(format!("the query is not valid: {e}")))
}

/// Reports: a person's (the patient side, or a clinician through the access policy), or
/// without `person_id` a patient's and their family's (audited).
#[utoipa::path(get, path = "/api/v1/care-reports", params(ReportQuery),
    responses((status = 200, description = "Reports, newest first", body = Items<ReportView>)))]
async fn list(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Items<ReportView>>> {
    let q: ReportQuery = query(q.as_deref())?;
    let items = match q.person_id {
        Some(p) => report::of_person(&state, &actor, p).await?,
        None => report::mine(&state, &actor).await?,
    };
    Ok(Json(Items { items }))
}

crate::created!(ReportCreated, id);

/// Record a report done at the writer's hospital (a doctor with a care link to the patient,
/// who becomes its ordering doctor): structured results flagged against their ranges, or the
/// report's own words.
#[utoipa::path(post, path = "/api/v1/care-reports", request_body = HospitalReportInput,
    responses((status = 201, description = "Recorded", body = ReportCreated,
        headers(("location" = String, description = "The report's address")))))]
async fn record(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<HospitalReportInput>,
) -> AppResult<Response> {
    let id = report::record(&state, &actor, &input).await?;
    Ok(created(
        format!("/api/v1/care-reports/{id}"),
        ReportCreated { id },
    ))
}

/// Upload a report (the patient side): the photo or PDF is the body.
#[utoipa::path(post, path = "/api/v1/care-reports/upload", params(UploadInput),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "A JPEG, PNG, WebP or PDF"),
    responses((status = 201, description = "Stored", body = ReportCreated,
        headers(("location" = String, description = "The report's address")))))]
async fn upload(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let input: UploadInput = query(q.as_deref())?;
    let id = report::upload(&state, &actor, &input, &body).await?;
    Ok(created(
        format!("/api/v1/care-reports/{id}"),
        ReportCreated { id },
    ))
}

/// The reports waiting for the reader's interpretation (asked of them or of a team they are a
/// doctor of), then those interpreted in the last day (audited).
#[utoipa::path(get, path = "/api/v1/care-reports/asked",
    responses((status = 200, description = "Reports", body = Items<ReportView>)))]
async fn asked(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Items<ReportView>>> {
    Ok(Json(Items {
        items: report::asked_of_me(&state, &actor).await?,
    }))
}

/// Who the patient side may ask about a person's reports: doctors who care for them now, the
/// teams of their contract and plans.
#[utoipa::path(get, path = "/api/v1/care-reports/askable", params(ReportQuery),
    responses((status = 200, description = "Doctors and teams", body = Askable)))]
async fn askable(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Askable>> {
    let q: ReportQuery = query(q.as_deref())?;
    let me = actor.require()?;
    let person = q
        .person_id
        .or(me.person_id)
        .ok_or_else(|| AppError::field(FieldError::required("person_id")))?;
    Ok(Json(report::askable_for(&state, &actor, person).await?))
}

/// One report with its results, question and interpretation (audited).
#[utoipa::path(get, path = "/api/v1/care-reports/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The report", body = ReportView)))]
async fn get_report(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<ReportView>> {
    Ok(Json(report::report(&state, &actor, id).await?.0))
}

/// A report's uploaded file (audited).
#[utoipa::path(get, path = "/api/v1/care-reports/{id}/file", params(crate::openapi::IdParam),
    responses((status = 200, description = "The image or PDF", content_type = "application/octet-stream", body = Vec<u8>)))]
async fn get_file(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Response> {
    Ok(file_response(report::file(&state, &actor, id).await?))
}

/// Ask a doctor who cares for the patient, or one of their teams, what the report means (the
/// patient side; once).
#[utoipa::path(post, path = "/api/v1/care-reports/{id}/ask", params(crate::openapi::IdParam),
    request_body = AskInput, responses((status = 204, description = "Asked")))]
async fn ask(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<AskInput>,
) -> AppResult<StatusCode> {
    report::ask(&state, &actor, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct InterpretInput {
    /// What the report means for the patient (2–2000 characters).
    #[serde(default)]
    interpretation: String,
}

/// Give the interpretation asked for (the doctor asked, or a doctor of the team asked); the
/// patient side is told.
#[utoipa::path(post, path = "/api/v1/care-reports/{id}/interpretation", params(crate::openapi::IdParam),
    request_body = InterpretInput, responses((status = 204, description = "Interpreted")))]
async fn interpret(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<InterpretInput>,
) -> AppResult<StatusCode> {
    report::interpret(&state, &actor, id, &input.interpretation).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RecordQuery {
    /// The patient (a patient may leave it out for their own record).
    #[serde(default)]
    person_id: Option<i64>,
}

/// One record (同质化): the person's diagnoses, online visits, prescriptions, appointments,
/// care plans, reports and home readings in one timeline, newest first, as far as the reader
/// may see each (audited).
#[utoipa::path(get, path = "/api/v1/care-record", params(RecordQuery),
    responses((status = 200, description = "The timeline", body = Items<super::record::Entry>)))]
async fn timeline(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Items<super::record::Entry>>> {
    let q: RecordQuery = query(q.as_deref())?;
    let me = actor.require()?;
    let person = q
        .person_id
        .or(me.person_id)
        .ok_or_else(|| AppError::field(FieldError::required("person_id")))?;
    Ok(Json(Items {
        items: super::record::person_timeline(&state, &actor, person).await?,
    }))
}
