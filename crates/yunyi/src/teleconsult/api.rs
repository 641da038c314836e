//! Remote consultations over the JSON API: drafting with the shared items, consent, the
//! invited side's answer and schedule, the session's attendance, the opinion report, and the
//! hospital pairs' terms.

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::model::{ItemKind, ItemRef, OpinionInput, TeleconsultDraft};
use super::service::{
    self, SharedItem, SharedItemBrief, TeleconsultList, TeleconsultSummary, TeleconsultTerms,
    TeleconsultTermsInput, TeleconsultView,
};
use crate::app::AppState;
use crate::consult::api::file_response;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, PathId};
use crate::identity::Actor;
use crate::paging::Items;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list,
        draft,
        shareable,
        get_one,
        consent,
        consent_scan,
        put_consent_scan,
        send,
        accept,
        add_panelist,
        remove_panelist,
        decline,
        schedule,
        join,
        room,
        leave,
        hold,
        save_report,
        sign_report,
        add_addendum,
        receive,
        cancel,
        items,
        item,
        item_file,
        terms,
        set_terms
    ),
    components(schemas(TeleconsultList))
)]
pub struct ApiDoc;

const BASE: &str = "/api/v1/remote-consultations";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/remote-consultations", get(list).post(draft))
        .route("/api/v1/remote-consultations/shareable", get(shareable))
        .route("/api/v1/remote-consultations/{id}", get(get_one))
        .route("/api/v1/remote-consultations/{id}/consent", post(consent))
        .route(
            "/api/v1/remote-consultations/{id}/consent/scan",
            get(consent_scan).put(put_consent_scan),
        )
        .route("/api/v1/remote-consultations/{id}/send", post(send))
        .route("/api/v1/remote-consultations/{id}/accept", post(accept))
        .route(
            "/api/v1/remote-consultations/{id}/panel",
            post(add_panelist),
        )
        .route(
            "/api/v1/remote-consultations/{id}/panel/{account}",
            axum::routing::delete(remove_panelist),
        )
        .route("/api/v1/remote-consultations/{id}/decline", post(decline))
        .route("/api/v1/remote-consultations/{id}/schedule", post(schedule))
        .route("/api/v1/remote-consultations/{id}/join", post(join))
        .route("/api/v1/remote-consultations/{id}/room", get(room))
        .route("/api/v1/remote-consultations/{id}/leave", post(leave))
        .route("/api/v1/remote-consultations/{id}/hold", post(hold))
        .route("/api/v1/remote-consultations/{id}/report", put(save_report))
        .route(
            "/api/v1/remote-consultations/{id}/report/sign",
            post(sign_report),
        )
        .route(
            "/api/v1/remote-consultations/{id}/addenda",
            post(add_addendum),
        )
        .route("/api/v1/remote-consultations/{id}/receive", post(receive))
        .route("/api/v1/remote-consultations/{id}/cancel", post(cancel))
        .route("/api/v1/remote-consultations/{id}/items", get(items))
        .route(
            "/api/v1/remote-consultations/{id}/items/{kind}/{item}",
            get(item),
        )
        .route(
            "/api/v1/remote-consultations/{id}/records/{record}",
            get(item_file),
        )
        .route(
            "/api/v1/hospitals/{id}/remote-consultation-terms",
            get(terms).put(set_terms),
        )
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `mine` (default) or `queue` (requests waiting at the reader's hospital).
    #[serde(default)]
    view: TeleconsultList,
    /// Only those whose current step is past its due time.
    #[serde(default)]
    overdue: bool,
}

/// The reader's remote consultations, newest first: a doctor's as inviting doctor or
/// specialist, a hospital administrator's hospital's (both directions), a patient's and their
/// family's; `view=queue` for the requests waiting at the reader's hospital.
#[utoipa::path(get, path = "/api/v1/remote-consultations", params(ListQuery),
    responses((status = 200, description = "Remote consultations", body = Items<TeleconsultSummary>)))]
async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Items<TeleconsultSummary>>> {
    let items = service::list(&state, &actor, q.view, q.overdue).await?;
    Ok(Json(Items { items }))
}

crate::created!(TeleconsultCreated, id);

/// Draft a remote consultation for a patient in one's care (doctors holding `teleconsult`);
/// the patient side is asked for consent.
#[utoipa::path(post, path = "/api/v1/remote-consultations", request_body = TeleconsultDraft,
    responses((status = 201, description = "Drafted", body = TeleconsultCreated,
        headers(("location" = String, description = "The remote consultation's address")))))]
async fn draft(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<TeleconsultDraft>,
) -> AppResult<Response> {
    let id = service::draft(&state, &actor, &input).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("{BASE}/{id}"))],
        Json(TeleconsultCreated { id }),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PersonQuery {
    /// The patient.
    #[serde(default)]
    person_id: Option<i64>,
}

/// The record items of a patient in one's care that may be shared: the hospital's signed
/// notes, prescriptions and offline diagnoses, and the records the patient uploaded.
#[utoipa::path(get, path = "/api/v1/remote-consultations/shareable", params(PersonQuery),
    responses((status = 200, description = "Items", body = Items<SharedItemBrief>)))]
async fn shareable(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<PersonQuery>,
) -> AppResult<Json<Items<SharedItemBrief>>> {
    let items = service::shareable(&state, &actor, q.person_id).await?;
    Ok(Json(Items { items }))
}

/// One remote consultation as the reader stands in it (`standing`).
#[utoipa::path(get, path = "/api/v1/remote-consultations/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The remote consultation", body = TeleconsultView)))]
async fn get_one(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<TeleconsultView>> {
    Ok(Json(service::view(&state, &actor, id).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct ConsentInput {
    /// `true`: the patient (or the family member acting for them) agrees.
    #[serde(default)]
    agree: Option<bool>,
}

/// The patient side consents in the app (`{"agree": true}`), while it is a draft.
#[utoipa::path(post, path = "/api/v1/remote-consultations/{id}/consent", params(crate::openapi::IdParam),
    request_body = ConsentInput, responses((status = 204, description = "Recorded")))]
async fn consent(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<ConsentInput>,
) -> AppResult<StatusCode> {
    service::consent(&state, &actor, id, input.agree).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The scanned paper consent form.
#[utoipa::path(get, path = "/api/v1/remote-consultations/{id}/consent/scan", params(crate::openapi::IdParam),
    responses((status = 200, description = "The image or PDF", content_type = "application/octet-stream", body = Vec<u8>)))]
async fn consent_scan(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Response> {
    Ok(file_response(
        service::consent_scan(&state, &actor, id).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PaperQuery {
    /// Who signed the form (the patient, or the family member in their stead).
    #[serde(default)]
    signer: String,
    /// Who witnessed the signing.
    #[serde(default)]
    witness: String,
}

/// `PUT …/consent/scan?signer=…&witness=…` with the photo or PDF of the signed paper form
/// as the body (the inviting doctor, while it is a draft).
#[utoipa::path(put, path = "/api/v1/remote-consultations/{id}/consent/scan",
    params(crate::openapi::IdParam, PaperQuery),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "A JPEG, PNG, WebP or PDF"),
    responses((status = 204, description = "Recorded")))]
async fn put_consent_scan(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> AppResult<StatusCode> {
    actor.require()?;
    let q: PaperQuery = serde_urlencoded::from_str(q.as_deref().unwrap_or(""))
        .map_err(|e| AppError::BadRequest(format!("the query is not valid: {e}")))?;
    service::consent_on_paper(&state, &actor, id, (&q.signer, &q.witness), &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enter the session's video room as a WebSocket (see `teleconsult::room`): joining as
/// `join` does, leaving when it closes.
#[utoipa::path(get, path = "/api/v1/remote-consultations/{id}/room", params(crate::openapi::IdParam),
    responses((status = 101, description = "Switched to a WebSocket carrying the room's signalling")))]
async fn room(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    headers: axum::http::HeaderMap,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> AppResult<Response> {
    crate::socket::same_origin(&headers)?;
    let entered = service::join(&state, &actor, id).await?;
    Ok(crate::socket::small(upgrade)
        .on_upgrade(move |socket| super::room::run(state, actor, id, entered, socket))
        .into_response())
}

macro_rules! step {
    ($name:ident, $path:literal, $doc:literal, $call:path) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, params(crate::openapi::IdParam), responses((status = 204, description = "Done")))]
        async fn $name(
            State(state): State<AppState>,
            actor: Actor,
            PathId(id): PathId,
        ) -> AppResult<StatusCode> {
            $call(&state, &actor, id).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    };
}

step!(
    send,
    "/api/v1/remote-consultations/{id}/send",
    "Send the draft to the invited hospital (the inviting doctor; consent recorded).",
    service::send
);
step!(
    join,
    "/api/v1/remote-consultations/{id}/join",
    "Join the scheduled session (the inviting doctor, the specialist, the patient side); recorded with the time.",
    service::join
);
step!(
    leave,
    "/api/v1/remote-consultations/{id}/leave",
    "Leave the session.",
    service::leave
);
step!(
    hold,
    "/api/v1/remote-consultations/{id}/hold",
    "Record that the session was held (once the inviting physician and the specialist joined).",
    service::hold
);
step!(
    sign_report,
    "/api/v1/remote-consultations/{id}/report/sign",
    "Sign the opinion report (the specialist, after the session); it is not changed afterwards.",
    service::sign_report
);

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct AcceptInput {
    /// The specialist, when a coordinator accepts (a specialist accepts for themselves).
    #[serde(default)]
    specialist_id: Option<i64>,
}

/// Accept the request: the named specialist, a doctor of the invited hospital holding
/// `teleconsult`, or a coordinator naming one.
#[utoipa::path(post, path = "/api/v1/remote-consultations/{id}/accept", params(crate::openapi::IdParam),
    request_body = AcceptInput, responses((status = 204, description = "Accepted")))]
async fn accept(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<AcceptInput>,
) -> AppResult<StatusCode> {
    service::accept(&state, &actor, id, input.specialist_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct PanelistInput {
    /// The co-specialist: a doctor practising at the invited hospital who holds
    /// `teleconsult` there.
    #[serde(default)]
    account_id: Option<i64>,
}

/// Invite a co-specialist onto the consultation's panel (the specialist or a coordinator of
/// the invited hospital, from acceptance until the session is held; at most 3). The panel
/// reads the shared items, joins the session and may add addenda; the specialist alone signs.
#[utoipa::path(post, path = "/api/v1/remote-consultations/{id}/panel", params(crate::openapi::IdParam),
    request_body = PanelistInput, responses((status = 204, description = "On the panel")))]
async fn add_panelist(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<PanelistInput>,
) -> AppResult<StatusCode> {
    service::add_panelist(&state, &actor, id, input.account_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take a co-specialist off the panel (404 when they are not on it).
#[utoipa::path(delete, path = "/api/v1/remote-consultations/{id}/panel/{account}",
    params(crate::openapi::IdParam, ("account" = i64, Path, description = "The co-specialist's account")),
    responses((status = 204, description = "Off the panel")))]
async fn remove_panelist(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, account)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let id = crate::extract::path_id("remote consultation", &id)?;
    let account = crate::extract::path_id("account", &account)?;
    service::remove_panelist(&state, &actor, id, account).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct StepReason {
    /// Why (2–500 characters).
    #[serde(default)]
    reason: String,
}

/// Decline the request, saying why (the invited side).
#[utoipa::path(post, path = "/api/v1/remote-consultations/{id}/decline", params(crate::openapi::IdParam),
    request_body = StepReason, responses((status = 204, description = "Declined")))]
async fn decline(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<StepReason>,
) -> AppResult<StatusCode> {
    service::decline(&state, &actor, id, &input.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Withdraw it before the session is held (the inviting doctor, or the patient side
/// withdrawing consent).
#[utoipa::path(post, path = "/api/v1/remote-consultations/{id}/cancel", params(crate::openapi::IdParam),
    request_body = StepReason, responses((status = 204, description = "Cancelled")))]
async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<StepReason>,
) -> AppResult<StatusCode> {
    service::cancel(&state, &actor, id, &input.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct SessionTime {
    /// China time, `2026-12-10 15:00`.
    #[serde(default)]
    starts_at: String,
}

/// Set or move the session's time (the specialist or a coordinator).
#[utoipa::path(post, path = "/api/v1/remote-consultations/{id}/schedule", params(crate::openapi::IdParam),
    request_body = SessionTime, responses((status = 204, description = "Scheduled")))]
async fn schedule(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<SessionTime>,
) -> AppResult<StatusCode> {
    service::schedule(&state, &actor, id, &input.starts_at).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Write or rewrite the opinion report's draft (the specialist).
#[utoipa::path(put, path = "/api/v1/remote-consultations/{id}/report", params(crate::openapi::IdParam),
    request_body = OpinionInput, responses((status = 204, description = "Saved")))]
async fn save_report(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<OpinionInput>,
) -> AppResult<StatusCode> {
    service::save_report(&state, &actor, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct AddendumInput {
    /// 2–2,000 characters.
    #[serde(default)]
    body: String,
}

/// Add to a signed report (the specialist).
#[utoipa::path(post, path = "/api/v1/remote-consultations/{id}/addenda", params(crate::openapi::IdParam),
    request_body = AddendumInput, responses((status = 204, description = "Added")))]
async fn add_addendum(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<AddendumInput>,
) -> AppResult<StatusCode> {
    service::add_addendum(&state, &actor, id, &input.body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct DecisionInput {
    /// What the inviting doctor decides on the opinion (2–2,000 characters).
    #[serde(default)]
    decision: String,
}

/// Receive the signed report and record the decision (the inviting doctor).
#[utoipa::path(post, path = "/api/v1/remote-consultations/{id}/receive", params(crate::openapi::IdParam),
    request_body = DecisionInput, responses((status = 204, description = "Received")))]
async fn receive(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<DecisionInput>,
) -> AppResult<StatusCode> {
    service::receive(&state, &actor, id, &input.decision).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The shared items with their content (the inviting doctor; the specialist from acceptance
/// until some days after signing).
#[utoipa::path(get, path = "/api/v1/remote-consultations/{id}/items", params(crate::openapi::IdParam),
    responses((status = 200, description = "The shared items", body = Items<SharedItem>)))]
async fn items(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<Items<SharedItem>>> {
    let items = service::items(&state, &actor, id).await?;
    Ok(Json(Items { items }))
}

/// One shared item; anything not shared is 404.
#[utoipa::path(get, path = "/api/v1/remote-consultations/{id}/items/{kind}/{item}",
    params(crate::openapi::IdParam,
        ("kind" = ItemKind, Path, description = "note, prescription, prior_record or offline_diagnosis"),
        ("item" = i64, Path, description = "The item's id (a note by its consultation's)")),
    responses((status = 200, description = "The item", body = SharedItem)))]
async fn item(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, kind, item)): Path<(String, String, String)>,
) -> AppResult<Json<SharedItem>> {
    let id = crate::extract::path_id("remote consultation", &id)?;
    let item_id = crate::extract::path_id("item", &item)?;
    actor.require()?;
    let kind = ItemKind::parse(&kind)
        .ok_or_else(|| AppError::NotFound(format!("no shared item of kind '{kind}'")))?;
    let found = service::item(&state, &actor, id, ItemRef { kind, id: item_id }).await?;
    Ok(Json(found))
}

/// The file of a shared uploaded record.
#[utoipa::path(get, path = "/api/v1/remote-consultations/{id}/records/{record}",
    params(crate::openapi::IdParam, ("record" = i64, Path, description = "The record's id")),
    responses((status = 200, description = "The image or PDF", content_type = "application/octet-stream", body = Vec<u8>)))]
async fn item_file(
    State(state): State<AppState>,
    actor: Actor,
    crate::extract::PathIds(id, record): crate::extract::PathIds,
) -> AppResult<Response> {
    Ok(file_response(
        service::item_file(&state, &actor, id, record).await?,
    ))
}

/// How soon this (invited) hospital answers each inviting hospital (its administrators).
#[utoipa::path(get, path = "/api/v1/hospitals/{id}/remote-consultation-terms", params(crate::openapi::IdParam),
    responses((status = 200, description = "The terms", body = Items<TeleconsultTerms>)))]
async fn terms(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<Items<TeleconsultTerms>>> {
    let items = service::terms(&state, &actor, id).await?;
    Ok(Json(Items { items }))
}

/// Set how soon this hospital answers requests from one inviting hospital (routine hours,
/// urgent minutes); without terms, 48 hours and 2 hours.
#[utoipa::path(put, path = "/api/v1/hospitals/{id}/remote-consultation-terms", params(crate::openapi::IdParam),
    request_body = TeleconsultTermsInput, responses((status = 200, description = "Set", body = TeleconsultTerms)))]
async fn set_terms(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<TeleconsultTermsInput>,
) -> AppResult<Json<TeleconsultTerms>> {
    Ok(Json(service::set_terms(&state, &actor, id, &input).await?))
}
