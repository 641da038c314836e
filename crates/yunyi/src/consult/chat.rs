//! The conversation over a WebSocket: `GET /api/v1/consultations/{id}/ws?after=N`.
//!
//! On connecting, a participant receives every message after number `after` (the last one it
//! saw), then each new one as it is stored, always in number order and only after its commit:
//! the next number is passed on from its news (which carries it), any gap is read from the
//! database. So a reconnecting client that says where it stopped misses nothing and receives
//! nothing twice.
//!
//! Frames are JSON. Client → server: `{"type":"message","text":"…","client_id":"…"}` (answered
//! by `{"type":"ack","client_id":"…","seq":n}` or `{"type":"error",…}`), `{"type":"read","seq":n}`,
//! `{"type":"typing"}`, `{"type":"signal","data":{…}}` (WebRTC offer/answer/candidate for the
//! other side, relayed and never stored), `{"type":"call","event":"start"|"end"}` (recorded in
//! the conversation). Server → client: `{"type":"message","seq":n,…}`, `{"type":"read",
//! "account":a,"seq":n}`, `{"type":"typing","account":a}`, `{"type":"status","status":"…"}`,
//! `{"type":"signal","from":a,"data":{…}}`.

use axum::extract::ws::WebSocket;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::conversation;
use super::hub::News;
use super::store::{ConsultationRow, MessageRow};
use crate::app::AppState;
use crate::error::AppError;
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
    Read {
        seq: i64,
    },
    Typing,
    /// Video-call signalling for the other side (WebRTC offer, answer, ICE candidates).
    Signal {
        #[serde(default)]
        data: serde_json::Value,
    },
    /// A video call starts or ends: recorded in the conversation.
    Call {
        #[serde(default)]
        event: String,
    },
}

/// Runs one connection until either side closes or the server stops.
pub async fn run(state: AppState, actor: Actor, id: i64, after: i64, socket: WebSocket) {
    serve(&state, &actor, id, after, socket).await;
    state.chat.release(id);
}

async fn serve(state: &AppState, actor: &Actor, id: i64, after: i64, mut socket: WebSocket) {
    let me = actor.signed_in.as_ref().map_or(0, |s| s.account_id);
    // Listen before catching up, so nothing stored in between is missed.
    let mut news = state.chat.subscribe(id);
    let mut last = after;
    if catch_up(state, id, &mut last, &mut socket).await.is_err() {
        return;
    }
    // The consultation as it is now, its status kept current by the news from here on: news
    // of a change made before this connection was listening would otherwise never reach the
    // page. Messages posted here are checked against it (see `post_message_to`).
    let mut consultation = match super::store::consultation(&state.db, id).await {
        Ok(Some(c)) => c,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, consultation = id, "chat status read failed");
            return;
        }
    };
    let now = News::Status {
        status: consultation.status,
    };
    if send_json(&mut socket, &now).await.is_err() {
        return;
    }
    // The socket lives only as long as its session: checked every second, and before every
    // frame either way, so a revocation, sign-out, expiry or suspension closes it within
    // seconds (on another server within the session memory's two seconds more).
    let mut check = session_check();
    loop {
        tokio::select! {
            closing = must_close(state, actor, &mut check) => {
                close(&mut socket, closing).await;
                return;
            }
            received = news.recv() => {
                if !live(state, actor).await {
                    close_ended(&mut socket).await;
                    return;
                }
                let sent = match received {
                    // Already passed on (a catch-up read it before its news came).
                    Ok(News::Message { seq, .. }) if seq <= last => Ok(()),
                    // The next one, carried by its news: no need to read it back.
                    Ok(News::Message { seq, message: Some(m) }) if seq == last + 1 => {
                        let sent = send_message(&mut socket, &m).await;
                        last = seq;
                        sent
                    }
                    // A gap (news lost, late, or without the message): read from the database.
                    Ok(News::Message { .. }) | Err(RecvError::Lagged(_)) => {
                        catch_up(state, id, &mut last, &mut socket).await
                    }
                    Ok(News::Typing { account } | News::Signal { from: account, .. })
                        if account == me =>
                    {
                        Ok(())
                    }
                    Ok(News::Status { status }) => {
                        consultation.status = status;
                        send_json(&mut socket, &News::Status { status }).await
                    }
                    Ok(other) => send_json(&mut socket, &other).await,
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
                let reply = handle(state, actor, &consultation, me, text.as_str()).await;
                if let Some(reply) = reply {
                    if send_json(&mut socket, &reply).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Sends every stored message after `last`, advancing it.
async fn catch_up(
    state: &AppState,
    id: i64,
    last: &mut i64,
    socket: &mut WebSocket,
) -> Result<(), ()> {
    loop {
        // Only the messages: read marks travel as their own news.
        let messages = match super::store::messages_after(&state.db, id, *last, PAGE).await {
            Ok(messages) => messages,
            Err(e) => {
                tracing::warn!(error = %e, consultation = id, "chat catch-up failed");
                return Err(());
            }
        };
        let count = messages.len();
        for m in messages {
            send_message(socket, &m).await?;
            *last = m.seq;
        }
        if (count as i64) < PAGE {
            return Ok(());
        }
    }
}

/// A stored message as its frame: `{"type":"message","seq":n,…}`.
async fn send_message(socket: &mut WebSocket, m: &MessageRow) -> Result<(), ()> {
    #[derive(serde::Serialize)]
    struct Frame<'a> {
        r#type: &'static str,
        #[serde(flatten)]
        message: &'a MessageRow,
    }
    let frame = Frame {
        r#type: "message",
        message: m,
    };
    send_json(socket, &frame).await
}

/// Acts on one client frame; returns the reply, if any.
async fn handle(
    state: &AppState,
    actor: &Actor,
    consultation: &ConsultationRow,
    me: i64,
    text: &str,
) -> Option<serde_json::Value> {
    let id = consultation.id;
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(f) => f,
        Err(e) => {
            return Some(
                json!({"type": "error", "message": format!("not a frame this server understands: {e}")}),
            );
        }
    };
    match frame {
        ClientFrame::Message { text, client_id } => Some(
            match conversation::post_message_to(state, actor, consultation, &text).await {
                Ok(m) => json!({"type": "ack", "client_id": client_id, "seq": m.seq}),
                Err(e) => error_frame(&e, client_id),
            },
        ),
        ClientFrame::Read { seq } => match conversation::mark_read(state, actor, id, seq).await {
            Ok(()) => None,
            Err(e) => Some(error_frame(&e, None)),
        },
        ClientFrame::Typing => {
            state.chat.deliver(id, News::Typing { account: me });
            None
        }
        ClientFrame::Signal { data } => match conversation::signal(state, actor, id, data).await {
            Ok(()) => None,
            Err(e) => Some(error_frame(&e, None)),
        },
        ClientFrame::Call { event } => {
            let started = match event.as_str() {
                "start" => true,
                "end" => false,
                _ => {
                    return Some(error_frame(
                        &AppError::invalid("event", "must be start or end"),
                        None,
                    ));
                }
            };
            match conversation::call(state, actor, id, started).await {
                Ok(m) => Some(json!({"type": "call_recorded", "seq": m.seq})),
                Err(e) => Some(error_frame(&e, None)),
            }
        }
    }
}
