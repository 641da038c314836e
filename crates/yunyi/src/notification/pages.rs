//! The inbox page (消息), opening a notification, the preferences form, and the event stream
//! that keeps the header's unread count current on every open page.

use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Redirect;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::bell::Unread;
use super::channels::{self, Channels};
use super::model::{Channel, Topic};
use super::service::{self, NotificationView, Preference};
use crate::app::AppState;
use crate::error::AppResult;
use crate::extract::{AppForm, PathId};
use crate::identity::Actor;
use crate::paging::{Page, PageRequest};
use crate::web::PageCtx;
use crate::web::filters;
use crate::web::page::redirect_with_outcome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(inbox))
        .route("/notifications/read-all", post(read_all))
        .route("/notifications/stream", get(stream))
        .route(
            "/notifications/preferences",
            get(preferences_page).post(save_preferences),
        )
        .route("/notifications/wechat", get(wechat_page))
        .route("/notifications/wechat/unbind", post(wechat_unbind))
        .route("/notifications/{id}", get(open))
}

#[derive(Template, WebTemplate)]
#[template(path = "notifications.html")]
struct InboxPage {
    page: PageCtx,
    items: Page<NotificationView>,
    unread: i64,
    message: String,
}

#[derive(Deserialize)]
struct InboxQuery {
    after: Option<i64>,
    message: Option<String>,
}

async fn inbox(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<InboxQuery>,
) -> AppResult<InboxPage> {
    let request = PageRequest {
        after: q.after,
        ..PageRequest::default()
    };
    let items = service::inbox(&state, &actor, page.lang, &request).await?;
    let unread = service::unread(&state, &actor).await?;
    Ok(InboxPage {
        page: page.with_nav("notifications"),
        items,
        unread,
        message: q.message.unwrap_or_default(),
    })
}

/// Marks the notification read and goes where it leads (the inbox when nowhere).
async fn open(
    State(state): State<AppState>,
    actor: Actor,
    PathId(id): PathId,
) -> AppResult<Redirect> {
    let link = service::open(&state, &actor, id).await?;
    // Only a path of this application: a stored link is never an open redirect.
    let to = link
        .filter(|l| l.starts_with('/') && !l.starts_with("//"))
        .unwrap_or_else(|| "/notifications".to_owned());
    Ok(Redirect::to(&to))
}

async fn read_all(State(state): State<AppState>, actor: Actor) -> AppResult<Redirect> {
    let result = service::read_all(&state, &actor).await.map(|_| ());
    redirect_with_outcome("/notifications", &[], result)
}

#[derive(Template, WebTemplate)]
#[template(path = "notification_preferences.html")]
struct PreferencesPage {
    page: PageCtx,
    channel_names: Vec<&'static str>,
    rows: Vec<TopicRow>,
    channels: Channels,
    /// "Pushes reach N of your browsers".
    browsers_text: String,
    /// "Bound on …" when WeChat is bound.
    wechat_bound_text: Option<String>,
    message: String,
}

/// One topic's choices, a checkbox per channel.
struct TopicRow {
    topic: String,
    cells: Vec<Preference>,
}

#[derive(Deserialize)]
struct MessageQuery {
    message: Option<String>,
}

async fn preferences_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
    Query(q): Query<MessageQuery>,
) -> AppResult<PreferencesPage> {
    let items = service::preferences(&state, &actor).await?;
    let rows = Topic::ALL
        .into_iter()
        .map(|topic| TopicRow {
            topic: topic.as_str().to_owned(),
            cells: items
                .iter()
                .filter(|p| p.topic == topic.as_str())
                .cloned()
                .collect(),
        })
        .collect();
    let channels = channels::channels(&state, &actor).await?;
    let count = channels.browsers.to_string();
    let browsers_text = page.t_with("notify.push_browsers", &[("count", &count)]);
    let wechat_bound_text = channels.wechat_bound_at.map(|at| {
        let time = crate::time::cst_display(at);
        page.t_with("notify.wechat_bound", &[("time", &time)])
    });
    Ok(PreferencesPage {
        page: page.with_nav("notifications"),
        channel_names: Channel::ALL.iter().map(|c| c.as_str()).collect(),
        rows,
        channels,
        browsers_text,
        wechat_bound_text,
        message: q.message.unwrap_or_default(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "notification_wechat.html")]
struct WeChatPage {
    page: PageCtx,
    svg: String,
    url: String,
    /// The demo's sandbox: the code's address opens the sandbox's "scan" page.
    demo: bool,
}

/// The code to scan in WeChat.
async fn wechat_page(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
) -> AppResult<WeChatPage> {
    let (svg, url) = channels::wechat_bind_code(&state, &actor).await?;
    Ok(WeChatPage {
        page: page.with_nav("notifications"),
        svg,
        url,
        demo: state.config.demo,
    })
}

async fn wechat_unbind(
    State(state): State<AppState>,
    page: PageCtx,
    actor: Actor,
) -> AppResult<Redirect> {
    let result = channels::unbind_wechat(&state, &actor).await;
    page.redirect_outcome("/notifications/preferences", result)
}

/// The form: a checkbox `<topic>.<channel>` for each choice; unticked boxes are not sent, so
/// every topic and channel not ticked is turned off.
async fn save_preferences(
    State(state): State<AppState>,
    actor: Actor,
    AppForm(form): AppForm<Vec<(String, String)>>,
) -> AppResult<Redirect> {
    let ticked = |topic: Topic, channel: Channel| {
        let name = format!("{topic}.{channel}");
        form.iter().any(|(k, _)| *k == name)
    };
    let choices: Vec<(Topic, Channel, bool)> = Topic::ALL
        .into_iter()
        .flat_map(|t| Channel::ALL.into_iter().map(move |c| (t, c)))
        .map(|(t, c)| (t, c, ticked(t, c)))
        .collect();
    let result = service::set_preferences(&state, &actor, &choices)
        .await
        .map(|_| ());
    redirect_with_outcome("/notifications/preferences", &[], result)
}

/// How often an open stream checks that its session is still live.
const SESSION_CHECK: Duration = Duration::from_secs(1);

/// `text/event-stream` of the signed-in person's unread count: now, then after every change.
/// It lives only as long as its session (checked every second) and the server.
async fn stream(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<impl axum::response::IntoResponse> {
    let me = actor.require()?.account_id;
    // Listen before counting, so a change in between is not missed.
    let news = state.bells.subscribe(me);
    let everyone = state.bells.subscribe(super::bell::EVERYONE);
    let unread = service::unread(&state, &actor).await?;
    let mut check = tokio::time::interval(SESSION_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let open = Open {
        news,
        everyone,
        _release: Release(state.clone(), me),
        state,
        actor,
        check,
        first: Some(unread),
        sent: None,
    };
    let events = futures_util::stream::unfold(open, |mut open| async move {
        let unread = open.changed().await?;
        Some((Ok::<_, std::convert::Infallible>(count_event(unread)), open))
    });
    // A proxy that buffers answers (nginx does by default) would hold the events back.
    let unbuffered = [("x-accel-buffering", "no")];
    Ok((
        unbuffered,
        Sse::new(events).keep_alive(KeepAlive::default()),
    ))
}

/// One open stream. Its fields drop in order: the receivers first, then [`Release`], which
/// then finds the account's channel without listeners and forgets it.
struct Open {
    news: tokio::sync::broadcast::Receiver<Unread>,
    /// News for every page: count again.
    everyone: tokio::sync::broadcast::Receiver<Unread>,
    _release: Release,
    state: AppState,
    actor: Actor,
    check: tokio::time::Interval,
    /// The count to send first.
    first: Option<i64>,
    /// The count sent last: a bell rung for a notification the first count already held
    /// (stored just before the page opened) repeats it, and the page needs no repeat.
    sent: Option<i64>,
}

impl Open {
    /// The next count that differs from the one sent last; `None` ends the stream.
    async fn changed(&mut self) -> Option<i64> {
        loop {
            let unread = self.next().await?;
            if self.sent != Some(unread) {
                self.sent = Some(unread);
                return Some(unread);
            }
        }
    }

    /// The next count to send; `None` ends the stream (session over, server stopping).
    async fn next(&mut self) -> Option<i64> {
        if let Some(unread) = self.first.take() {
            return Some(unread);
        }
        loop {
            tokio::select! {
                () = self.state.stopping.cancelled() => return None,
                _ = self.check.tick() => {
                    if !live(&self.state, &self.actor).await {
                        return None;
                    }
                }
                received = self.news.recv() => match received {
                    Ok(Unread { unread }) => return Some(unread),
                    // Missed some: the count now is what matters.
                    Err(RecvError::Lagged(_)) => {
                        return service::unread(&self.state, &self.actor).await.ok();
                    }
                    Err(RecvError::Closed) => return None,
                },
                received = self.everyone.recv() => match received {
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        return service::unread(&self.state, &self.actor).await.ok();
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}

/// Forgets the account's channel when its last stream closes.
struct Release(AppState, i64);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.bells.release(self.1);
        self.0.bells.release(super::bell::EVERYONE);
    }
}

fn count_event(unread: i64) -> SseEvent {
    SseEvent::default().event("unread").data(unread.to_string())
}

async fn live(state: &AppState, actor: &Actor) -> bool {
    let Some(me) = actor.signed_in.as_ref() else {
        return false;
    };
    crate::identity::service::still_signed_in(state, me)
        .await
        .unwrap_or(false)
}
