//! Consultations over the JSON API.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::model::PriorRecordInput;
use super::records;
use super::service::{self, RequestInput};
use super::{conversation, lifecycle};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, PathId};
use crate::identity::Actor;

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

/// `GET /api/v1/video/ice-servers`: the STUN/TURN servers for a video call, TURN ones with
/// this user's time-limited credentials. For the people who hold calls: patients and doctors.
async fn ice_servers(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<serde_json::Value>> {
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
    Ok(Json(
        json!({"ice_servers": servers, "credentials_expire_at": expires}),
    ))
}

fn id_of(raw: &str, what: &str) -> AppResult<i64> {
    crate::extract::path_id(what, raw)
}

/// `POST /api/v1/consultations`: 201 with the stored request and its `Location`.
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

/// `GET /api/v1/consultations`: a patient's own (and family's); a doctor's accepted and ongoing.
async fn list(State(state): State<AppState>, actor: Actor) -> AppResult<Json<serde_json::Value>> {
    let items = service::listed(&state, &actor).await?;
    Ok(Json(json!({"items": items})))
}

async fn queue(State(state): State<AppState>, actor: Actor) -> AppResult<Json<serde_json::Value>> {
    let items = service::queue(&state, &actor).await?;
    Ok(Json(json!({"items": items})))
}

async fn read(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<service::ConsultationView>> {
    Ok(Json(service::read(&state, &actor, id).await?))
}

async fn accept(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<service::ConsultationView>> {
    Ok(Json(lifecycle::accept(&state, &actor, id).await?))
}

async fn start(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<service::ConsultationView>> {
    Ok(Json(lifecycle::start(&state, &actor, id).await?))
}

async fn complete(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<service::ConsultationView>> {
    Ok(Json(lifecycle::complete(&state, &actor, id).await?))
}

#[derive(Deserialize, Default)]
struct ReasonInput {
    #[serde(default)]
    reason: Option<String>,
}

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

#[derive(Deserialize, Default)]
struct JudgeInput {
    #[serde(default)]
    qualifies: Option<bool>,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST …/prior-record` `{"qualifies": true}` or `{"qualifies": false, "reason": "…"}`.
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

/// `POST /api/v1/prior-records?kind=outpatient_record&hospital_name=…&diagnosed_on=…&condition=…[&icd10=…][&person_id=…]`
/// with the photo or PDF as the body.
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

fn file_response((bytes, content_type): (Vec<u8>, String)) -> Response {
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

async fn own_record(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Response> {
    Ok(file_response(
        records::prior_record_file(&state, &actor, id, None).await?,
    ))
}

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
                    .ok_or_else(|| AppError::invalid("limit", "must be 1 to 200"))?;
            }
            _ => {}
        }
    }
    Ok((after, limit))
}

/// `GET …/messages?after=N`: the conversation after message N, and the read marks.
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

#[derive(Deserialize, Default)]
struct MessageInput {
    #[serde(default)]
    text: String,
}

async fn post_message(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<MessageInput>,
) -> AppResult<(StatusCode, Json<super::store::MessageRow>)> {
    let message = conversation::post_message(&state, &actor, id, &input.text).await?;
    Ok((StatusCode::CREATED, Json(message)))
}

#[derive(Deserialize, Default)]
struct ReadInput {
    seq: Option<i64>,
}

async fn mark_read(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ReadInput>,
) -> AppResult<StatusCode> {
    let seq = input
        .seq
        .ok_or_else(|| AppError::invalid("seq", "is required"))?;
    conversation::mark_read(&state, &actor, id, seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/ws?after=N`: the conversation as a WebSocket (see `chat`). A browser's connection
/// must come from this site's own pages: its `Origin` must name the host it connects to, so
/// another site cannot open a chat with the user's cookie.
async fn chat(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    RawQuery(q): RawQuery,
    headers: axum::http::HeaderMap,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> AppResult<Response> {
    let (after, _) = after_and_limit(q.as_deref())?;
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let same = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(_, rest)| rest == host);
        if !same {
            return Err(AppError::Forbidden(
                "a chat connection must come from this site's own pages".to_owned(),
            ));
        }
    }
    conversation::open_chat(&state, &actor, id).await?;
    // Small buffers: most connections sit idle for the length of a consultation, and the
    // defaults (128 KiB to read) would make ten thousand of them cost gigabytes. A frame is at
    // most a 2,000-character message or a 7,000-byte call signal.
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .on_upgrade(move |socket| super::chat::run(state, actor, id, after, socket))
        .into_response())
}

/// `POST …/images` with the picture as the body.
async fn post_image(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<super::store::MessageRow>)> {
    let message = conversation::post_image(&state, &actor, id, &body).await?;
    Ok((StatusCode::CREATED, Json(message)))
}

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

/// `PUT …/note`: the clinical note (SOAP; diagnoses on follow-up visits).
async fn write_note(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<super::model::NoteInput>,
) -> AppResult<Json<super::note::NoteView>> {
    Ok(Json(super::note::write(&state, &actor, id, &input).await?))
}
