//! Consultations over the JSON API.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::model::PriorRecordInput;
use super::records;
use super::service::{self, RequestInput};
use super::{conversation, lifecycle};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, PathId};
use crate::identity::Actor;
use crate::paging::Items;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    write_note,
    ice_servers,
    request,
    list,
    queue,
    read,
    accept,
    start,
    complete,
    refer_offline,
    cancel,
    judge_record,
    upload_record,
    own_record,
    consultation_record,
    messages,
    post_message,
    mark_read,
    chat,
    post_image,
    image
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/consultations", get(list).post(request))
        .route("/api/v1/consultations/queue", get(queue))
        .route("/api/v1/consultations/{id}", get(read))
        .route("/api/v1/consultations/{id}/accept", post(accept))
        .route(
            "/api/v1/consultations/{id}/prior-record",
            post(judge_record),
        )
        .route("/api/v1/consultations/{id}/start", post(start))
        .route("/api/v1/consultations/{id}/note", put(write_note))
        .route("/api/v1/consultations/{id}/complete", post(complete))
        .route(
            "/api/v1/consultations/{id}/refer-offline",
            post(refer_offline),
        )
        .route("/api/v1/consultations/{id}/cancel", post(cancel))
        .route(
            "/api/v1/consultations/{id}/records/{record}",
            get(consultation_record),
        )
        .route(
            "/api/v1/consultations/{id}/messages",
            get(messages).post(post_message),
        )
        .route("/api/v1/consultations/{id}/images", post(post_image))
        .route(
            "/api/v1/consultations/{id}/messages/{seq}/image",
            get(image),
        )
        .route("/api/v1/consultations/{id}/read", post(mark_read))
        .route("/api/v1/consultations/{id}/ws", get(chat))
        .route("/api/v1/video/ice-servers", get(ice_servers))
        .route("/api/v1/prior-records", post(upload_record))
        .route("/api/v1/prior-records/{id}", get(own_record))
}

/// ICE servers for a video call.
///
/// `GET /api/v1/video/ice-servers`: the STUN/TURN servers for a video call, TURN ones with
/// this user's time-limited credentials. For the people who hold calls: patients and doctors.
#[utoipa::path(get, path = "/api/v1/video/ice-servers",
    responses((status = 200, description = "ICE servers", body = IceAnswer)))]
async fn ice_servers(State(state): State<AppState>, actor: Actor) -> AppResult<Json<IceAnswer>> {
    let me = actor.require()?;
    if !matches!(
        me.role,
        crate::identity::model::Role::Patient | crate::identity::model::Role::Doctor
    ) {
        return Err(AppError::Forbidden(
            "video calls are between patients and doctors".to_owned(),
        ));
    }
    let now = state.now_ms() / 1000;
    let servers = super::ice::ice_servers(&state.config.consult, me.account_id, now);
    let expires = state
        .config
        .consult
        .turn_secret
        .as_ref()
        .map(|_| crate::time::cst_rfc3339((now + super::ice::CREDENTIAL_TTL_SECS) * 1000));
    Ok(Json(IceAnswer {
        ice_servers: servers,
        credentials_expire_at: expires,
    }))
}

/// The servers a video call may use.
#[derive(Serialize, utoipa::ToSchema)]
struct IceAnswer {
    ice_servers: Vec<super::ice::IceServer>,
    /// When the TURN credentials stop working (absent without TURN).
    credentials_expire_at: Option<String>,
}

fn id_of(raw: &str, what: &str) -> AppResult<i64> {
    crate::extract::path_id(what, raw)
}

/// Request a consultation.
///
/// `POST /api/v1/consultations`: 201 with the stored request and its `Location`.
#[utoipa::path(post, path = "/api/v1/consultations", request_body = RequestInput,
    responses((status = 201, description = "Requested", body = service::ConsultationView,
        headers(("location" = String, description = "The consultation's address")))))]
async fn request(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<RequestInput>,
) -> AppResult<Response> {
    let view = service::request(&state, &actor, &input).await?;
    let location = format!("/api/v1/consultations/{}", view.consultation.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response())
}

/// List consultations.
///
/// `GET /api/v1/consultations`: a patient's own (and family's); a doctor's accepted and ongoing.
#[utoipa::path(get, path = "/api/v1/consultations",
    responses((status = 200, description = "Consultations", body = Items<super::store::ConsultationRow>)))]
async fn list(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<super::store::ConsultationRow>>> {
    let items = service::listed(&state, &actor).await?;
    Ok(Json(Items { items }))
}

/// A doctor's queue of requests waiting to be accepted.
#[utoipa::path(get, path = "/api/v1/consultations/queue",
    responses((status = 200, description = "Waiting requests", body = Items<service::QueueItem>)))]
async fn queue(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<service::QueueItem>>> {
    let items = service::queue(&state, &actor).await?;
    Ok(Json(Items { items }))
}

/// One consultation with its timeline.
#[utoipa::path(get, path = "/api/v1/consultations/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The consultation", body = service::ConsultationView)))]
async fn read(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<service::ConsultationView>> {
    Ok(Json(service::read(&state, &actor, id).await?))
}

/// The doctor accepts a request.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/accept", params(crate::openapi::IdParam),
    responses((status = 200, description = "Accepted", body = service::ConsultationView)))]
async fn accept(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<service::ConsultationView>> {
    Ok(Json(lifecycle::accept(&state, &actor, id).await?))
}

/// The doctor starts the consultation.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/start", params(crate::openapi::IdParam),
    responses((status = 200, description = "Started", body = service::ConsultationView)))]
async fn start(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<service::ConsultationView>> {
    Ok(Json(lifecycle::start(&state, &actor, id).await?))
}

/// The doctor ends the consultation (the note must be written).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/complete", params(crate::openapi::IdParam),
    responses((status = 200, description = "Completed", body = service::ConsultationView)))]
async fn complete(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<service::ConsultationView>> {
    Ok(Json(lifecycle::complete(&state, &actor, id).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct ReasonInput {
    #[serde(default)]
    reason: Option<String>,
}

/// The doctor sends the patient to be seen in person.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/refer-offline", params(crate::openapi::IdParam),
    request_body = ReasonInput,
    responses((status = 200, description = "Referred", body = service::ConsultationView)))]
async fn refer_offline(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ReasonInput>,
) -> AppResult<Json<service::ConsultationView>> {
    Ok(Json(
        lifecycle::refer_offline(&state, &actor, id, input.reason.as_deref()).await?,
    ))
}

/// Cancel a consultation (the patient before it starts, or the doctor with a reason).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/cancel", params(crate::openapi::IdParam),
    request_body = ReasonInput,
    responses((status = 200, description = "Cancelled", body = service::ConsultationView)))]
async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ReasonInput>,
) -> AppResult<Json<service::ConsultationView>> {
    Ok(Json(
        lifecycle::cancel(&state, &actor, id, input.reason.as_deref()).await?,
    ))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct JudgeInput {
    #[serde(default)]
    qualifies: Option<bool>,
    #[serde(default)]
    reason: Option<String>,
}

/// Judge the uploaded record of an earlier diagnosis.
///
/// `POST …/prior-record` `{"qualifies": true}` or `{"qualifies": false, "reason": "…"}`.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/prior-record", params(crate::openapi::IdParam),
    request_body = JudgeInput,
    responses((status = 200, description = "Judged", body = service::ConsultationView)))]
async fn judge_record(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<JudgeInput>,
) -> AppResult<Json<service::ConsultationView>> {
    let qualifies = input
        .qualifies
        .ok_or_else(|| AppError::invalid("qualifies", "is required (true or false)"))?;
    Ok(Json(
        lifecycle::judge_prior_record(&state, &actor, id, qualifies, input.reason.as_deref())
            .await?,
    ))
}

/// Upload the record of an earlier diagnosis.
///
/// `POST /api/v1/prior-records?kind=outpatient_record&hospital_name=…&diagnosed_on=…&condition=…[&icd10=…][&person_id=…]`
/// with the photo or PDF as the body.
#[utoipa::path(post, path = "/api/v1/prior-records", params(PriorRecordInput),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "A JPEG, PNG or PDF"),
    responses((status = 201, description = "Stored", body = super::store::PriorRecord,
        headers(("location" = String, description = "The record's address")))))]
async fn upload_record(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let input: PriorRecordInput = serde_urlencoded::from_str(q.as_deref().unwrap_or(""))
        .map_err(|e| AppError::BadRequest(format!("the query is not valid: {e}")))?;
    let record = records::upload_prior_record(&state, &actor, &input, &body).await?;
    let location = format!("/api/v1/prior-records/{}", record.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(record),
    )
        .into_response())
}

pub(crate) fn file_response((bytes, content_type): (Vec<u8>, String)) -> Response {
    // Images are shown in the page; a PDF is downloaded, never rendered in our origin, where
    // a crafted one could run script in the browser's viewer with the reader's session.
    let disposition = if content_type == "application/pdf" {
        "attachment; filename=\"record.pdf\""
    } else {
        "inline"
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Patient data: never kept by shared caches.
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
            (header::CONTENT_DISPOSITION, disposition.to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// The file of one's own prior record.
#[utoipa::path(get, path = "/api/v1/prior-records/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The image or PDF", content_type = "application/octet-stream", body = Vec<u8>)))]
async fn own_record(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Response> {
    Ok(file_response(
        records::prior_record_file(&state, &actor, id, None).await?,
    ))
}

/// A prior record attached to a consultation, for its doctor.
#[utoipa::path(get, path = "/api/v1/consultations/{id}/records/{record}",
    params(crate::openapi::IdParam, ("record" = i64, Path, description = "The record's id")),
    responses((status = 200, description = "The image or PDF", content_type = "application/octet-stream", body = Vec<u8>)))]
async fn consultation_record(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, record)): Path<(String, String)>,
) -> AppResult<Response> {
    let id = id_of(&id, "consultation")?;
    let record = id_of(&record, "record")?;
    Ok(file_response(
        records::prior_record_file(&state, &actor, record, Some(id)).await?,
    ))
}

/// `?after=N&limit=M`: the numbers to read after and how many (1–200, default 200).
fn after_and_limit(q: Option<&str>) -> AppResult<(i64, i64)> {
    let mut after = 0;
    let mut limit = 200;
    for (k, v) in url::form_urlencoded::parse(q.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "after" => {
                after = v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    AppError::invalid("after", "must be a message number (0 or more)")
                })?;
            }
            "limit" => {
                limit = v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=200).contains(n))
                    .ok_or_else(|| {
                        AppError::field(crate::error::FieldError::range("limit", 1, 200))
                    })?;
            }
            _ => {}
        }
    }
    Ok((after, limit))
}

/// Read the conversation.
///
/// `GET …/messages?after=N`: the conversation after message N, and the read marks.
#[utoipa::path(get, path = "/api/v1/consultations/{id}/messages", params(crate::openapi::IdParam, AfterQuery),
    responses((status = 200, description = "Messages", body = conversation::Conversation)))]
async fn messages(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    RawQuery(q): RawQuery,
) -> AppResult<Json<conversation::Conversation>> {
    let (after, limit) = after_and_limit(q.as_deref())?;
    Ok(Json(
        conversation::messages(&state, &actor, id, after, limit).await?,
    ))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct MessageInput {
    #[serde(default)]
    text: String,
}

/// Send a text message.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/messages", params(crate::openapi::IdParam),
    request_body = MessageInput,
    responses((status = 201, description = "Sent", body = super::store::MessageRow)))]
async fn post_message(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<MessageInput>,
) -> AppResult<(StatusCode, Json<super::store::MessageRow>)> {
    let message = conversation::post_message(&state, &actor, id, &input.text).await?;
    Ok((StatusCode::CREATED, Json(message)))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct ReadInput {
    seq: Option<i64>,
}

/// Mark messages read up to `seq`.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/read", params(crate::openapi::IdParam),
    request_body = ReadInput, responses((status = 204, description = "Marked")))]
async fn mark_read(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ReadInput>,
) -> AppResult<StatusCode> {
    let seq = input.seq.ok_or_else(|| AppError::required("seq"))?;
    conversation::mark_read(&state, &actor, id, seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Open the conversation as a WebSocket.
///
/// `GET …/ws?after=N`: the conversation as a WebSocket (see `chat`). A browser's connection
/// must come from this site's own pages: its `Origin` must name the host it connects to, so
/// another site cannot open a chat with the user's cookie.
#[utoipa::path(get, path = "/api/v1/consultations/{id}/ws", params(crate::openapi::IdParam, AfterQuery),
    responses((status = 101, description = "Switched to a WebSocket carrying the conversation")))]
async fn chat(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    RawQuery(q): RawQuery,
    headers: axum::http::HeaderMap,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> AppResult<Response> {
    let (after, _) = after_and_limit(q.as_deref())?;
    crate::socket::same_origin(&headers)?;
    conversation::open_chat(&state, &actor, id).await?;
    Ok(crate::socket::small(upgrade)
        .on_upgrade(move |socket| super::chat::run(state, actor, id, after, socket))
        .into_response())
}

/// Send a picture.
///
/// `POST …/images` with the picture as the body.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/images", params(crate::openapi::IdParam),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "A JPEG or PNG"),
    responses((status = 201, description = "Sent", body = super::store::MessageRow)))]
async fn post_image(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<super::store::MessageRow>)> {
    let message = conversation::post_image(&state, &actor, id, &body).await?;
    Ok((StatusCode::CREATED, Json(message)))
}

/// A picture sent in the conversation.
#[utoipa::path(get, path = "/api/v1/consultations/{id}/messages/{seq}/image",
    params(crate::openapi::IdParam, ("seq" = i64, Path, description = "The message's number")),
    responses((status = 200, description = "The image", content_type = "image/jpeg", body = Vec<u8>)))]
async fn image(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, seq)): Path<(String, String)>,
) -> AppResult<Response> {
    let id = id_of(&id, "consultation")?;
    let seq = id_of(&seq, "message")?;
    Ok(file_response(
        conversation::image(&state, &actor, id, seq).await?,
    ))
}

/// Write the clinical note.
///
/// `PUT …/note`: the clinical note (SOAP; diagnoses on follow-up visits).
#[utoipa::path(put, path = "/api/v1/consultations/{id}/note", params(crate::openapi::IdParam),
    request_body = super::model::NoteInput,
    responses((status = 200, description = "The saved note", body = super::note::NoteView)))]
async fn write_note(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<super::model::NoteInput>,
) -> AppResult<Json<super::note::NoteView>> {
    Ok(Json(super::note::write(&state, &actor, id, &input).await?))
}

/// Where a message list starts and how long it is.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the document only
struct AfterQuery {
    /// Messages after this number (default 0: from the start).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// How many, 1–200 (default 200).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}
