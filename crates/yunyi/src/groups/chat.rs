//! A group's conversation over a WebSocket: `GET /api/v1/groups/{id}/ws?after=N`, the
//! consultation chat's protocol for many members.
//!
//! On connecting, a member receives every message after number `after` they may see, then
//! each new one as it is stored, in number order and only after its commit; a gap is read
//! from the database, so a reconnecting page that says where it stopped misses nothing and
//! receives nothing twice. Held messages are seen only by their sender and the moderators.
//!
//! Client → server: `{"type":"message","text":"…","client_id":"…"}`, answered by
//! `{"type":"ack","client_id":"…","seq":n,"status":"shown"|"held",…}` (with crisis lines when
//! the message spoke of self-harm) or `{"type":"error",…}`. Server → client:
//! `{"type":"message","seq":n,…}`, `{"type":"changed","seq":n,…}` (a moderator's decision, a
//! vote) and `{"type":"gone","seq":n}` (no longer shown to this reader).

use axum::extract::ws::{Message, WebSocket};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::hub::News;
use super::model::MessageKind;
use super::service::{self, Access, MessageView};
use super::store;
use crate::app::AppState;
use crate::identity::Actor;
use crate::socket::{
    Incoming, close, close_ended, error_frame, incoming, live, must_close, send_json, session_check,
};

/// Catch-up reads take at most this many messages at a time.
const PAGE: i64 = 200;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Message {
        #[serde(default)]
        text: String,
        #[serde(default)]
        client_id: Option<String>,
    },
}

/// Runs one connection until either side closes, the member is removed, or the server stops.
pub async fn run(state: AppState, actor: Actor, a: Access, after: i64, socket: WebSocket) {
    let id = a.group.id;
    serve(&state, &actor, &a, after, socket).await;
    state.groups.release(id);
}

async fn serve(state: &AppState, actor: &Actor, a: &Access, after: i64, mut socket: WebSocket) {
    let id = a.group.id;
    let me = a.active().map(|m| m.id);
    // Listen before catching up, so nothing stored in between is missed.
    let mut news = state.groups.subscribe(id);
    let mut last = after;
    if catch_up(state, a, &mut last, &mut socket).await.is_err() {
        return;
    }
    let mut check = session_check();
    loop {
        tokio::select! {
            closing = must_close(state, actor, &mut check) => {
                close(&mut socket, closing).await;
                return;
            }
            received = news.recv() => {
                let sent = match received {
                    Ok(News::Message { seq, .. }) if seq <= last => Ok(()),
                    Ok(News::Message { seq, message: Some(m) }) if seq == last + 1 => {
                        last = seq;
                        send_message(&mut socket, "message", &m).await
                    }
                    Ok(News::Message { .. }) | Err(RecvError::Lagged(_)) => {
                        catch_up(state, a, &mut last, &mut socket).await
                    }
                    Ok(News::Changed { seq, message }) => {
                        changed(state, a, seq, message, &mut socket).await
                    }
                    Ok(News::Removed { member }) if Some(member) == me => {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    Ok(News::Removed { .. }) => Ok(()),
                    Err(RecvError::Closed) => return,
                };
                if sent.is_err() {
                    return;
                }
            }
            frame = socket.recv() => {
                let text = match incoming(frame) {
                    Incoming::Text(text) => text,
                    Incoming::Skip => continue,
                    Incoming::Closed => return,
                };
                if !live(state, actor).await {
                    close_ended(&mut socket).await;
                    return;
                }
                let reply = handle(state, actor, id, text.as_str()).await;
                if send_json(&mut socket, &reply).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Sends every message after `last` the reader may see, advancing `last` past what it may
/// not (a held message of someone else).
async fn catch_up(
    state: &AppState,
    a: &Access,
    last: &mut i64,
    socket: &mut WebSocket,
) -> Result<(), ()> {
    let id = a.group.id;
    loop {
        let rows = match store::messages_after(&state.db, id, *last, a.sees(), PAGE).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, group = id, "group catch-up failed");
                return Err(());
            }
        };
        let views = match service::views(state, a, &rows).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, group = id, "group catch-up failed");
                return Err(());
            }
        };
        for m in &views {
            send_message(socket, "message", m).await?;
            *last = m.seq;
        }
        if (rows.len() as i64) < PAGE {
            return Ok(());
        }
    }
}

/// Passes on a change: as everyone sees it, or — when it is not shown any more — as this
/// reader may still see it (their own, or a moderator's view), else as gone.
async fn changed(
    state: &AppState,
    a: &Access,
    seq: i64,
    message: Option<Box<MessageView>>,
    socket: &mut WebSocket,
) -> Result<(), ()> {
    if let Some(m) = message {
        return send_message(socket, "changed", &m).await;
    }
    let row = store::messages_after(&state.db, a.group.id, seq - 1, a.sees(), 1)
        .await
        .map_err(|e| tracing::warn!(error = %e, "group change read failed"))?;
    match row.first().filter(|m| m.seq == seq) {
        Some(m) => send_message(socket, "changed", &service::message_view(m, &[])).await,
        None => send_json(socket, &json!({"type": "gone", "seq": seq})).await,
    }
}

/// A message as its frame: `{"type":"message","seq":n,…}`.
async fn send_message(
    socket: &mut WebSocket,
    kind: &'static str,
    m: &MessageView,
) -> Result<(), ()> {
    #[derive(serde::Serialize)]
    struct Frame<'a> {
        r#type: &'static str,
        #[serde(flatten)]
        message: &'a MessageView,
    }
    send_json(
        socket,
        &Frame {
            r#type: kind,
            message: m,
        },
    )
    .await
}

/// Acts on one client frame; its reply.
async fn handle(state: &AppState, actor: &Actor, id: i64, text: &str) -> serde_json::Value {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(f) => f,
        Err(e) => {
            return json!({"type": "error", "message": format!("not a frame this server understands: {e}")});
        }
    };
    match frame {
        ClientFrame::Message { text, client_id } => {
            match service::post_text(state, actor, id, MessageKind::Text, &text).await {
                Ok(posted) => json!({
                    "type": "ack",
                    "client_id": client_id,
                    "seq": posted.seq,
                    "status": posted.status,
                    "category": posted.category,
                    "crisis_lines": posted.crisis_lines,
                }),
                Err(e) => error_frame(&e, client_id),
            }
        }
    }
}
