//! The session's video room over a WebSocket: `GET /api/v1/remote-consultations/{id}/room`.
//!
//! Connecting joins the session (recorded with the time, audited) and closing leaves it. The
//! pictures travel browser to browser (a mesh: each sends to every other, see
//! [`service::ROOM_SIZE`](super::service::ROOM_SIZE)); this server only relays the WebRTC
//! signalling between them, over a [`Hub`] keyed by consultation, so the people of one room
//! may be connected to different servers of one PostgreSQL.
//!
//! Each connection has its own id (`conn`). Whoever is in the room when someone comes in
//! offers them a connection: newcomers only answer, so two sides never offer to each other at
//! once. Frames are JSON. Server → client: `{"type":"welcome","conn":…}`, `{"type":"joined",
//! "conn":…,"account":a,"name":…,"part":…}` (someone came in: offer to them), `{"type":"left",
//! "conn":…}`, `{"type":"signal","from":conn,"to":…,"name":…,"part":…,"data":{…}}`, `{"type":"ended"}` (the session was
//! held or cancelled: the room closes) and `{"type":"replaced"}` (the same account came in on
//! another page). Client → server: `{"type":"signal","to":conn,"data":{…}}` (offer, answer, ICE
//! candidate; relayed, never stored).

use axum::extract::ws::{Message, WebSocket};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::model::SessionPart;
use super::service::{self, Entered};
use crate::app::AppState;
use crate::consult::conversation::MAX_SIGNAL_BYTES;
use crate::db::Db;
use crate::error::AppError;
use crate::identity::Actor;
use crate::socket::{Incoming, close, error_frame, incoming, must_close, send_json, session_check};

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "yunyi_room";

/// The rooms' hub.
pub type Hub = crate::hub::Hub<News>;

/// What happened in a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum News {
    /// Someone came in on connection `conn`.
    Joined {
        conn: String,
        account: i64,
        name: String,
        part: SessionPart,
    },
    /// Connection `conn` went.
    Left { conn: String },
    /// Signalling from connection `from` for connection `to`, with the sender's name and
    /// part as the server knows them (a page cannot pass itself off as someone else).
    Signal {
        from: String,
        to: String,
        name: String,
        part: SessionPart,
        data: serde_json::Value,
    },
    /// The session was held or cancelled: the room closes.
    Ended,
}

impl crate::hub::Shrink for News {}

/// Publishes news about room `teleconsult` (after the change it reports was committed).
pub async fn publish(db: &Db, hub: &Hub, teleconsult: i64, news: News) {
    crate::hub::publish(db, hub, teleconsult, news).await;
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Signal {
        #[serde(default)]
        to: String,
        #[serde(default)]
        data: serde_json::Value,
    },
}

/// A connection's id: random, so that no page can speak as another.
fn new_conn() -> String {
    rand::random::<[u8; 12]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs one connection of someone who has just joined (`entered`) until either side closes,
/// the session ends or the server stops; then they leave.
pub async fn run(state: AppState, actor: Actor, id: i64, entered: Entered, socket: WebSocket) {
    let conn = new_conn();
    serve(&state, &actor, id, &entered, &conn, socket).await;
    if let Err(e) = service::left_room(&state, &actor, id, &entered).await {
        tracing::warn!(error = %e, teleconsult = id, "could not record leaving the room");
    }
    publish(&state.db, &state.rooms, id, News::Left { conn }).await;
    state.rooms.release(id);
}

async fn serve(
    state: &AppState,
    actor: &Actor,
    id: i64,
    entered: &Entered,
    conn: &str,
    mut socket: WebSocket,
) {
    // Listen before saying hello, so no offer made in answer is missed.
    let mut news = state.rooms.subscribe(id);
    if send_json(&mut socket, &json!({"type": "welcome", "conn": conn}))
        .await
        .is_err()
    {
        return;
    }
    let hello = News::Joined {
        conn: conn.to_owned(),
        account: entered.account,
        name: entered.name.clone(),
        part: entered.part,
    };
    publish(&state.db, &state.rooms, id, hello).await;
    let mut check = session_check();
    loop {
        tokio::select! {
            closing = must_close(state, actor, &mut check) => {
                close(&mut socket, closing).await;
                return;
            }
            received = news.recv() => {
                let sent = match received {
                    Ok(News::Joined { conn: c, .. }) if c == conn => Ok(()),
                    // The same account came in on another page: this one steps out.
                    Ok(News::Joined { account, .. }) if account == entered.account => {
                        let _ = send_json(&mut socket, &json!({"type": "replaced"})).await;
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    Ok(News::Signal { to, .. }) if to != conn => Ok(()),
                    Ok(News::Ended) => {
                        let _ = send_json(&mut socket, &News::Ended).await;
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    Ok(other) => send_json(&mut socket, &other).await,
                    // Signalling lost to a slow reader cannot be read back: the page's peer
                    // connection fails and it comes in again.
                    Err(RecvError::Lagged(_)) => Ok(()),
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
                if let Some(reply) = handle(state, id, (conn, entered), text.as_str()).await {
                    if send_json(&mut socket, &reply).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Relays one client frame; returns the reply to a bad one.
async fn handle(
    state: &AppState,
    id: i64,
    (conn, entered): (&str, &Entered),
    text: &str,
) -> Option<serde_json::Value> {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(f) => f,
        Err(e) => {
            return Some(
                json!({"type": "error", "message": format!("not a frame this server understands: {e}")}),
            );
        }
    };
    match frame {
        ClientFrame::Signal { to, data } => {
            if to.is_empty() || to.len() > 64 {
                return Some(error_frame(
                    &AppError::invalid("to", "must name a connection of the room"),
                    None,
                ));
            }
            if data.to_string().len() > MAX_SIGNAL_BYTES {
                return Some(error_frame(
                    &AppError::invalid(
                        "data",
                        format!("a signalling message is at most {MAX_SIGNAL_BYTES} bytes"),
                    ),
                    None,
                ));
            }
            let news = News::Signal {
                from: conn.to_owned(),
                to,
                name: entered.name.clone(),
                part: entered.part,
                data,
            };
            publish(&state.db, &state.rooms, id, news).await;
            None
        }
    }
}
