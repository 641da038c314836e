//! Patient groups over the JSON API: groups and memberships, the conversation (also as a
//! WebSocket), polls, reports, moderation and live Q&A sessions.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::model::{category, member_action, moderation, text_kind};
use super::service::{
    self, GroupInput, GroupSummary, MemberView, MessageView, Posted, QaSessionInput, SessionView,
};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{AppJson, PathId, PathIds};
use crate::identity::Actor;
use crate::paging::Items;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    create,
    get_group,
    join,
    leave,
    invite,
    members,
    act_on_member,
    messages,
    post_message,
    post_poll,
    vote,
    report,
    moderate,
    flags,
    schedule,
    chat,
    own_words,
    set_own_words
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/groups", get(list).post(create))
        .route("/api/v1/groups/{id}", get(get_group))
        .route("/api/v1/groups/{id}/join", post(join))
        .route("/api/v1/groups/{id}/leave", post(leave))
        .route("/api/v1/groups/{id}/invitations", post(invite))
        .route("/api/v1/groups/{id}/members", get(members))
        .route("/api/v1/groups/{id}/members/{member}", post(act_on_member))
        .route(
            "/api/v1/groups/{id}/messages",
            get(messages).post(post_message),
        )
        .route("/api/v1/groups/{id}/polls", post(post_poll))
        .route("/api/v1/groups/{id}/messages/{seq}/vote", post(vote))
        .route("/api/v1/groups/{id}/messages/{seq}/report", post(report))
        .route(
            "/api/v1/groups/{id}/messages/{seq}/moderation",
            post(moderate),
        )
        .route("/api/v1/groups/{id}/flags", get(flags))
        .route("/api/v1/groups/{id}/sessions", post(schedule))
        .route("/api/v1/groups/{id}/ws", get(chat))
        .route(
            "/api/v1/hospitals/{id}/group-words",
            get(own_words).put(set_own_words),
        )
}

/// The groups the signed-in person may see: open ones, theirs, their hospital's.
#[utoipa::path(get, path = "/api/v1/groups",
    responses((status = 200, description = "Groups, newest first", body = Items<GroupSummary>)))]
async fn list(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Items<GroupSummary>>> {
    let items = service::list(&state, &actor).await?;
    Ok(Json(Items { items }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Created {
    id: i64,
}

/// Create a group at one's hospital and lead it (doctors and nurses).
#[utoipa::path(post, path = "/api/v1/groups", request_body = GroupInput,
    responses((status = 201, description = "Created", body = Created)))]
async fn create(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<GroupInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = service::create(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Serialize, utoipa::ToSchema)]
struct GroupAnswer {
    group: GroupSummary,
    /// The signed-in person's membership id, when active (their messages carry it).
    member: Option<i64>,
    /// Whether they moderate it.
    moderator: bool,
    /// Pinned announcements (members).
    pinned: Vec<MessageView>,
    /// Live Q&A sessions not over yet.
    sessions: Vec<SessionView>,
}

/// A group as the signed-in person stands in it.
#[utoipa::path(get, path = "/api/v1/groups/{id}", params(crate::openapi::IdParam),
    responses((status = 200, description = "The group", body = GroupAnswer)))]
async fn get_group(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<GroupAnswer>> {
    let (group, a) = service::get(&state, &actor, id).await?;
    Ok(Json(GroupAnswer {
        group,
        member: a.active().map(|m| m.id),
        moderator: a.moderator,
        pinned: service::pinned(&state, &a).await?,
        sessions: service::sessions(&state, &a).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct GroupJoinInput {
    /// What the other members will call you (2–16 characters, not your real name).
    nickname: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Membership {
    /// `requested` (a moderator decides) or `active`; for an invitation, `invited`.
    status: String,
}

/// Ask to join an open group, or accept an invitation (patients).
#[utoipa::path(post, path = "/api/v1/groups/{id}/join", params(crate::openapi::IdParam),
    request_body = GroupJoinInput,
    responses((status = 200, description = "Requested or joined", body = Membership)))]
async fn join(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<GroupJoinInput>,
) -> AppResult<Json<Membership>> {
    let status = service::join(&state, &actor, id, &input.nickname).await?;
    Ok(Json(Membership {
        status: status.as_str().to_owned(),
    }))
}

/// Leave the group.
#[utoipa::path(post, path = "/api/v1/groups/{id}/leave", params(crate::openapi::IdParam),
    responses((status = 204, description = "Left")))]
async fn leave(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    service::leave(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct InviteInput {
    /// A phone number or username: a patient the hospital has seen (invited), or a doctor or
    /// nurse of the hospital (added as a moderator, by the host).
    who: String,
}

/// Invite a patient, or add a moderator.
#[utoipa::path(post, path = "/api/v1/groups/{id}/invitations", params(crate::openapi::IdParam),
    request_body = InviteInput,
    responses((status = 200, description = "Invited or added", body = Membership)))]
async fn invite(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<InviteInput>,
) -> AppResult<Json<Membership>> {
    let status = service::invite(&state, &actor, id, &input.who).await?;
    Ok(Json(Membership { status }))
}

/// The members: by nickname to members; every membership with real names to moderators.
#[utoipa::path(get, path = "/api/v1/groups/{id}/members", params(crate::openapi::IdParam),
    responses((status = 200, description = "Members", body = Items<MemberView>)))]
async fn members(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<Items<MemberView>>> {
    let items = service::members(&state, &actor, id).await?;
    Ok(Json(Items { items }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct MemberActionInput {
    /// approve, decline, mute, unmute or remove.
    pub action: String,
    /// For a mute: how many hours (1–720; 24 when not given).
    #[serde(default)]
    pub hours: Option<i64>,
}

/// A moderator's decision on a member.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members/{member}",
    params(crate::openapi::IdParam, ("member" = i64, Path, description = "The membership")),
    request_body = MemberActionInput,
    responses((status = 204, description = "Done")))]
async fn act_on_member(
    State(state): State<AppState>,
    actor: Actor,
    PathIds(id, member): PathIds,
    AppJson(input): AppJson<MemberActionInput>,
) -> AppResult<StatusCode> {
    let action = member_action(&input.action)?;
    service::act_on_member(&state, &actor, id, member, action, input.hours).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AfterQuery {
    /// Only messages after this number; the latest 100 when not given.
    after: Option<i64>,
}

/// The conversation as the reader may see it.
#[utoipa::path(get, path = "/api/v1/groups/{id}/messages", params(crate::openapi::IdParam, AfterQuery),
    responses((status = 200, description = "Messages in number order", body = Items<MessageView>)))]
async fn messages(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<AfterQuery>,
) -> AppResult<Json<Items<MessageView>>> {
    if q.after.is_some_and(|a| a < 0) {
        return Err(AppError::invalid(
            "after",
            "must be a message number (0 or more)",
        ));
    }
    let a = service::access(&state, &actor, id).await?;
    let items = service::messages(&state, &a, q.after).await?;
    Ok(Json(Items { items }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct GroupMessageInput {
    text: String,
    /// `text` (default) or `announcement` (moderators; pinned).
    #[serde(default)]
    kind: Option<String>,
}

/// Post a message. A patient's message the screen stops is held for the moderators (201
/// with `status: held`); one that speaks of self-harm comes back with crisis lines.
#[utoipa::path(post, path = "/api/v1/groups/{id}/messages", params(crate::openapi::IdParam),
    request_body = GroupMessageInput,
    responses((status = 201, description = "Stored", body = Posted)))]
async fn post_message(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<GroupMessageInput>,
) -> AppResult<(StatusCode, Json<Posted>)> {
    let kind = text_kind(input.kind.as_deref())?;
    let posted = service::post_text(&state, &actor, id, kind, &input.text).await?;
    Ok((StatusCode::CREATED, Json(posted)))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PollInput {
    question: String,
    /// 2 to 6 options.
    options: Vec<String>,
}

/// Post a poll (moderators).
#[utoipa::path(post, path = "/api/v1/groups/{id}/polls", params(crate::openapi::IdParam),
    request_body = PollInput,
    responses((status = 201, description = "Posted", body = Posted)))]
async fn post_poll(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<PollInput>,
) -> AppResult<(StatusCode, Json<Posted>)> {
    let a = service::access(&state, &actor, id).await?;
    let posted = service::post_poll(&state, &actor, &a, &input.question, &input.options).await?;
    Ok((StatusCode::CREATED, Json(posted)))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct VoteInput {
    /// The option's index, from 0.
    choice: i64,
}

/// Vote in a poll (again to change the vote).
#[utoipa::path(post, path = "/api/v1/groups/{id}/messages/{seq}/vote",
    params(crate::openapi::IdParam, ("seq" = i64, Path, description = "The poll's message number")),
    request_body = VoteInput,
    responses((status = 200, description = "The poll with its tally", body = MessageView)))]
async fn vote(
    State(state): State<AppState>,
    actor: Actor,
    PathIds(id, seq): PathIds,
    AppJson(input): AppJson<VoteInput>,
) -> AppResult<Json<MessageView>> {
    Ok(Json(
        service::vote(&state, &actor, id, seq, input.choice).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ReportInput {
    /// contact, advertising, drug_sales, self_harm or other.
    pub category: String,
    #[serde(default)]
    pub note: String,
}

/// Report someone else's message to the moderators.
#[utoipa::path(post, path = "/api/v1/groups/{id}/messages/{seq}/report",
    params(crate::openapi::IdParam, ("seq" = i64, Path, description = "The message's number")),
    request_body = ReportInput,
    responses((status = 204, description = "Reported")))]
async fn report(
    State(state): State<AppState>,
    actor: Actor,
    PathIds(id, seq): PathIds,
    AppJson(input): AppJson<ReportInput>,
) -> AppResult<StatusCode> {
    let category = category(&input.category)?;
    service::report(&state, &actor, id, seq, category, &input.note).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ModerationInput {
    /// release, hide, dismiss, pin or unpin.
    pub action: String,
}

/// A moderator's decision on a message (closes its open flags).
#[utoipa::path(post, path = "/api/v1/groups/{id}/messages/{seq}/moderation",
    params(crate::openapi::IdParam, ("seq" = i64, Path, description = "The message's number")),
    request_body = ModerationInput,
    responses((status = 204, description = "Done")))]
async fn moderate(
    State(state): State<AppState>,
    actor: Actor,
    PathIds(id, seq): PathIds,
    AppJson(input): AppJson<ModerationInput>,
) -> AppResult<StatusCode> {
    let action = moderation(&input.action)?;
    service::moderate(&state, &actor, id, seq, action).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
struct FlagView {
    id: i64,
    seq: i64,
    /// screen or report.
    source: String,
    category: String,
    /// The reporting member's nickname.
    reporter: Option<String>,
    note: String,
    created_at: i64,
    /// The message flagged, its sender's nickname and its status.
    body: String,
    sender: Option<String>,
    message_status: String,
}

/// The moderation queue: open flags, oldest first (moderators).
#[utoipa::path(get, path = "/api/v1/groups/{id}/flags", params(crate::openapi::IdParam),
    responses((status = 200, description = "Open flags", body = Items<FlagView>)))]
async fn flags(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Json<Items<FlagView>>> {
    let items = service::queue(&state, &actor, id)
        .await?
        .into_iter()
        .map(|f| FlagView {
            id: f.id,
            seq: f.seq,
            source: f.source,
            category: f.category.as_str().to_owned(),
            reporter: f.reporter,
            note: f.note,
            created_at: f.created_at,
            body: f.body,
            sender: f.sender,
            message_status: f.message_status.as_str().to_owned(),
        })
        .collect();
    Ok(Json(Items { items }))
}

/// Schedule a live Q&A with a doctor of the group (its hosts and moderators); every member
/// is told.
#[utoipa::path(post, path = "/api/v1/groups/{id}/sessions", params(crate::openapi::IdParam),
    request_body = QaSessionInput,
    responses((status = 201, description = "Scheduled", body = Created)))]
async fn schedule(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    AppJson(input): AppJson<QaSessionInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = service::schedule(&state, &actor, id, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct WsQuery {
    /// The last message number the page has (0 for none).
    #[serde(default)]
    after: i64,
}

/// Open the conversation as a WebSocket (members and moderators; see `groups::chat`).
#[utoipa::path(get, path = "/api/v1/groups/{id}/ws", params(crate::openapi::IdParam, WsQuery),
    responses((status = 101, description = "Switched to a WebSocket carrying the conversation")))]
async fn chat(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
    Query(q): Query<WsQuery>,
    headers: HeaderMap,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> AppResult<Response> {
    if q.after < 0 {
        return Err(AppError::invalid(
            "after",
            "must be a message number (0 or more)",
        ));
    }
    crate::socket::same_origin(&headers)?;
    let a = service::access(&state, &actor, id).await?;
    if !a.reads() {
        return Err(AppError::refused(
            crate::error::Reason::MembershipRequired,
            "only the group's members read it: join it first",
        ));
    }
    let after = q.after;
    Ok(crate::socket::small(upgrade)
        .on_upgrade(move |socket| super::chat::run(state, actor, a, after, socket))
        .into_response())
}

/// A hospital's own words for the group screen, beside the built-in ones.
#[utoipa::path(get, path = "/api/v1/hospitals/{id}/group-words", params(crate::openapi::IdParam),
    responses((status = 200, description = "The words, by category", body = Items<super::model::Word>)))]
async fn own_words(
    State(state): State<AppState>,
    actor: Actor,
    PathId(hospital): PathId,
) -> AppResult<Json<Items<super::model::Word>>> {
    let items = service::own_words(&state, &actor, Some(hospital))
        .await?
        .words;
    Ok(Json(Items { items }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct OwnWordsInput {
    /// The whole list; it replaces the one before (an empty list removes every word).
    #[serde(default)]
    words: Option<Vec<OwnWordInput>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct OwnWordInput {
    /// `contact`, `advertising`, `drug_sales` or `self_harm`.
    #[serde(default)]
    category: String,
    /// 2 to 20 characters; compared in lower case, full-width as ASCII, without spaces.
    #[serde(default)]
    word: String,
}

/// Replace a hospital's own words (its administrators).
#[utoipa::path(put, path = "/api/v1/hospitals/{id}/group-words", params(crate::openapi::IdParam),
    request_body = OwnWordsInput,
    responses((status = 200, description = "The words as stored", body = Items<super::model::Word>)))]
async fn set_own_words(
    State(state): State<AppState>,
    actor: Actor,
    PathId(hospital): PathId,
    AppJson(input): AppJson<OwnWordsInput>,
) -> AppResult<Json<Items<super::model::Word>>> {
    let typed: Option<Vec<(String, String)>> = input
        .words
        .map(|words| words.into_iter().map(|w| (w.category, w.word)).collect());
    let items = service::set_own_words(&state, &actor, Some(hospital), typed.as_deref())
        .await?
        .words;
    Ok(Json(Items { items }))
}
