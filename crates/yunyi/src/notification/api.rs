//! The notification centre over the JSON API: the inbox (in the `Accept-Language` asked for),
//! the unread count, marking read, and the person's channel preferences.

use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::channels::{self, BrowserSubscription, Channels};
use super::model::{Channel, Topic};
use super::service::{self, NotificationView, Preference};
use super::wechat::CallbackQuery;
use crate::app::AppState;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{AppJson, PathId};
use crate::identity::Actor;
use crate::paging::{Items, Page, PageRequest};
use crate::web::i18n::Lang;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    unread,
    read,
    read_all,
    preferences,
    set_preferences,
    channels,
    subscribe_browser,
    unsubscribe_browser,
    bind_code,
    unbind_wechat,
    wechat_check,
    wechat_event
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/notifications", get(list))
        .route("/api/v1/notifications/unread-count", get(unread))
        .route("/api/v1/notifications/read-all", post(read_all))
        .route("/api/v1/notifications/{id}/read", post(read))
        .route(
            "/api/v1/notification-preferences",
            get(preferences).put(set_preferences),
        )
        .route("/api/v1/notification-channels", get(channels))
        .route(
            "/api/v1/push-subscriptions",
            post(subscribe_browser).delete(unsubscribe_browser),
        )
        .route("/api/v1/wechat/bind-code", post(bind_code))
        .route(
            "/api/v1/wechat/binding",
            axum::routing::delete(unbind_wechat),
        )
        .route(
            "/api/v1/wechat/callback",
            get(wechat_check).post(wechat_event),
        )
}

/// The person's channels besides the inbox: how many browsers receive pushes, whether WeChat
/// is bound, and the key a browser subscribes with.
#[utoipa::path(get, path = "/api/v1/notification-channels",
    responses((status = 200, description = "The channels", body = Channels)))]
async fn channels(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Channels>> {
    Ok(Json(channels::channels(&state, &actor).await?))
}

/// Receive pushes in this browser: the `PushSubscription` (its `toJSON()`) made with the
/// key of `GET /api/v1/notification-channels`. Pushes are written in the `Accept-Language`
/// asked for. The endpoint must belong to a known push service.
#[utoipa::path(post, path = "/api/v1/push-subscriptions", request_body = BrowserSubscription,
    responses((status = 204, description = "Stored")))]
async fn subscribe_browser(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    AppJson(input): AppJson<BrowserSubscription>,
) -> AppResult<StatusCode> {
    let lang = Lang::negotiate(&headers);
    channels::subscribe_browser(&state, &actor, lang, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct EndpointInput {
    endpoint: String,
}

/// Stop pushes to one of the person's browsers.
#[utoipa::path(delete, path = "/api/v1/push-subscriptions", request_body = EndpointInput,
    responses((status = 204, description = "Forgotten")))]
async fn unsubscribe_browser(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<EndpointInput>,
) -> AppResult<StatusCode> {
    channels::unsubscribe_browser(&state, &actor, &input.endpoint).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
struct BindCode {
    /// What the code holds: WeChat opens it when scanned.
    url: String,
    /// The code as an SVG picture.
    svg: String,
}

/// A code to scan in WeChat (valid 10 minutes): following the hospital's official account
/// with it binds that WeChat to the signed-in person. 404 when no official account is set up.
#[utoipa::path(post, path = "/api/v1/wechat/bind-code",
    responses((status = 200, description = "The code", body = BindCode)))]
async fn bind_code(State(state): State<AppState>, actor: Actor) -> AppResult<Json<BindCode>> {
    let (svg, url) = channels::wechat_bind_code(&state, &actor).await?;
    Ok(Json(BindCode { url, svg }))
}

/// Let the person's WeChat go: no more WeChat messages.
#[utoipa::path(delete, path = "/api/v1/wechat/binding",
    responses((status = 204, description = "Unbound (or was not bound)")))]
async fn unbind_wechat(State(state): State<AppState>, actor: Actor) -> AppResult<StatusCode> {
    channels::unbind_wechat(&state, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// WeChat's server check (服务器配置): `echostr` back when the signature holds.
#[utoipa::path(get, path = "/api/v1/wechat/callback", security(()),
    params(("signature" = String, Query), ("timestamp" = String, Query), ("nonce" = String, Query),
        ("echostr" = String, Query)),
    responses((status = 200, description = "The echostr", body = String)))]
async fn wechat_check(
    State(state): State<AppState>,
    Query(q): Query<CallbackQuery>,
) -> AppResult<String> {
    channels::wechat_check(&state, &q)
}

/// Messages and events from WeChat (plain or safe mode), signed as WeChat signs them: a scan
/// of a bind code binds the follower, an unfollow unbinds. Answers `success`.
#[utoipa::path(post, path = "/api/v1/wechat/callback", security(()),
    params(("signature" = String, Query), ("timestamp" = String, Query), ("nonce" = String, Query),
        ("encrypt_type" = Option<String>, Query), ("msg_signature" = Option<String>, Query)),
    request_body(content = String, content_type = "text/xml"),
    responses((status = 200, description = "success", body = String)))]
async fn wechat_event(
    State(state): State<AppState>,
    Query(q): Query<CallbackQuery>,
    body: String,
) -> AppResult<String> {
    channels::wechat_event(&state, &q, &body).await
}

/// Paging of the inbox.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the document only
struct InboxQuery {
    /// How many (1–100, default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// Notifications older than this id: the previous page's `next_after`.
    #[param(minimum = 0)]
    after: Option<i64>,
}

/// The signed-in person's notifications, newest first, in the language `Accept-Language`
/// asks for (Chinese by default).
#[utoipa::path(get, path = "/api/v1/notifications", params(InboxQuery),
    responses((status = 200, description = "Notifications, newest first", body = Page<NotificationView>)))]
async fn list(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> AppResult<Json<Page<NotificationView>>> {
    let page = PageRequest::from_query(query.as_deref())?;
    let lang = Lang::negotiate(&headers);
    Ok(Json(service::inbox(&state, &actor, lang, &page).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
struct UnreadCount {
    unread: i64,
}

/// How many notifications are unread (the header's badge).
#[utoipa::path(get, path = "/api/v1/notifications/unread-count",
    responses((status = 200, description = "The unread count", body = UnreadCount)))]
async fn unread(State(state): State<AppState>, actor: Actor) -> AppResult<Json<UnreadCount>> {
    let unread = service::unread(&state, &actor).await?;
    Ok(Json(UnreadCount { unread }))
}

/// Mark one notification read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", params(crate::openapi::IdParam),
    responses((status = 204, description = "Read")))]
async fn read(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<StatusCode> {
    service::open(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
struct Marked {
    /// How many were unread.
    marked: u64,
}

/// Mark every notification read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all",
    responses((status = 200, description = "How many were marked", body = Marked)))]
async fn read_all(State(state): State<AppState>, actor: Actor) -> AppResult<Json<Marked>> {
    let marked = service::read_all(&state, &actor).await?;
    Ok(Json(Marked { marked }))
}

/// Which topics reach the person by which channel (the in-app inbox always).
#[utoipa::path(get, path = "/api/v1/notification-preferences",
    responses((status = 200, description = "Every topic and channel", body = Items<Preference>)))]
async fn preferences(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Items<Preference>>> {
    let items = service::preferences(&state, &actor).await?;
    Ok(Json(Items { items }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PreferenceInput {
    /// `consultation`, `appointment`, `prescription`, `delivery` or `payment`.
    topic: String,
    /// `sms`, `webpush` or `wechat`.
    channel: String,
    enabled: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PreferencesInput {
    items: Vec<PreferenceInput>,
}

/// Change some choices; those not named stay as they are. Urgent duties (officers' alerts)
/// cannot be turned off and are not topics here.
#[utoipa::path(put, path = "/api/v1/notification-preferences", request_body = PreferencesInput,
    responses((status = 200, description = "Every topic and channel now", body = Items<Preference>)))]
async fn set_preferences(
    State(state): State<AppState>,
    actor: Actor,
    AppJson(input): AppJson<PreferencesInput>,
) -> AppResult<Json<Items<Preference>>> {
    let choices = parse_choices(&input.items)?;
    let items = service::set_preferences(&state, &actor, &choices).await?;
    Ok(Json(Items { items }))
}

fn parse_choices(items: &[PreferenceInput]) -> AppResult<Vec<(Topic, Channel, bool)>> {
    let mut errors = Vec::new();
    let mut choices = Vec::new();
    for (i, p) in items.iter().enumerate() {
        let topic = Topic::parse(&p.topic);
        let channel = Channel::parse(&p.channel);
        if topic.is_none() {
            errors.push(one_of(format!("items[{i}].topic"), &p.topic, &Topic::ALL));
        }
        if channel.is_none() {
            errors.push(one_of(
                format!("items[{i}].channel"),
                &p.channel,
                &Channel::ALL,
            ));
        }
        if let (Some(t), Some(c)) = (topic, channel) {
            choices.push((t, c, p.enabled));
        }
    }
    if errors.is_empty() {
        Ok(choices)
    } else {
        Err(AppError::Validation(errors))
    }
}

fn one_of(field: String, given: &str, all: &[impl std::fmt::Display]) -> FieldError {
    let names: Vec<String> = all.iter().map(ToString::to_string).collect();
    FieldError::new(
        field,
        format!("must be one of {}, got '{given}'", names.join(", ")),
    )
}
