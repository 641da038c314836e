//! A video room over a WebSocket, shared by the remote consultation's session
//! (`teleconsult::room`) and a course's live session (`training::live`).
//!
//! The pictures travel browser to browser (a mesh: each sends to every other, so a room holds
//! at most [`ROOM_SIZE`]); this server only relays the WebRTC signalling between them, over a
//! [`Hub`] keyed by the room's topic (a consultation, a live session), so the people of one
//! room may be connected to different servers of one PostgreSQL. Whoever owns the room decides
//! who enters and records comings and goings; this module runs the connection.
//!
//! Each connection has its own id (`conn`). Whoever is in the room when someone comes in
//! offers them a connection: newcomers only answer, so two sides never offer to each other at
//! once. Frames are JSON. Server → client: `{"type":"welcome","conn":…}`, `{"type":"joined",
//! "conn":…,"account":a,"name":…,"part":…}` (someone came in: offer to them), `{"type":"left",
//! "conn":…}`, `{"type":"signal","from":conn,"to":…,"name":…,"part":…,"data":{…}}`,
//! `{"type":"ended"}` (the room closes) and `{"type":"replaced"}` (the same account came in on
//! another page). Client → server: `{"type":"signal","to":conn,"data":{…}}` (offer, answer, ICE
//! candidate; relayed, never stored).

use std::future::Future;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::consult::conversation::MAX_SIGNAL_BYTES;
use crate::db::Db;
use crate::error::AppError;
use crate::identity::Actor;
use crate::socket::{Incoming, close, error_frame, incoming, must_close, send_json, session_check};

/// The most people in one room at once: every browser sends its picture to each of the others
/// (a mesh), and past six the uplink each needs stops fitting a hospital line (see
/// docs/DECISIONS.md, "video room").
pub const ROOM_SIZE: i64 = 6;

/// A rooms' hub (one per kind of room, each on its own PostgreSQL channel).
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
        part: String,
    },
    /// Connection `conn` went.
    Left { conn: String },
    /// Signalling from connection `from` for connection `to`, with the sender's name and
    /// part as the server knows them (a page cannot pass itself off as someone else).
    Signal {
        from: String,
        to: String,
        name: String,
        part: String,
        data: serde_json::Value,
    },
    /// The room closes (the session was held or cancelled, the lecture ended).
    Ended,
}

impl crate::hub::Shrink for News {}

/// Who came in, as the room tells the others: the owner of the room decided they may.
#[derive(Debug, Clone)]
pub struct Member {
    pub account: i64,
    pub name: String,
    /// Their part in the room (`inviting`, `specialist`, `patient`, `lecturer`, `trainee`):
    /// the pages name it.
    pub part: String,
}

/// Publishes news about room `topic` (after the change it reports was committed).
pub async fn publish(db: &Db, hub: &Hub, topic: i64, news: News) {
    crate::hub::publish(db, hub, topic, news).await;
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

/// Runs one connection of `member`, who has just entered room `topic` of `hub`, until either
/// side closes, the room ends or the server stops; then `left` records their leaving and the
/// others are told.
pub async fn run<F: Future<Output = ()>>(
    state: AppState,
    actor: Actor,
    (hub, topic): (Arc<Hub>, i64),
    member: Member,
    socket: WebSocket,
    left: impl FnOnce() -> F,
) {
    let conn = new_conn();
    serve(&state, &actor, (&hub, topic), &member, &conn, socket).await;
    left().await;
    publish(&state.db, &hub, topic, News::Left { conn }).await;
    hub.release(topic);
}

async fn serve(
    state: &AppState,
    actor: &Actor,
    (hub, topic): (&Hub, i64),
    member: &Member,
    conn: &str,
    mut socket: WebSocket,
) {
    // Listen before saying hello, so no offer made in answer is missed.
    let mut news = hub.subscribe(topic);
    if send_json(&mut socket, &json!({"type": "welcome", "conn": conn}))
        .await
        .is_err()
    {
        return;
    }
    let hello = News::Joined {
        conn: conn.to_owned(),
        account: member.account,
        name: member.name.clone(),
        part: member.part.clone(),
    };
    publish(&state.db, hub, topic, hello).await;
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
                    Ok(News::Joined { account, .. }) if account == member.account => {
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
                if let Some(reply) = handle(state, (hub, topic), (conn, member), text.as_str()).await {
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
    (hub, topic): (&Hub, i64),
    (conn, member): (&str, &Member),
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
                name: member.name.clone(),
                part: member.part.clone(),
                data,
            };
            publish(&state.db, hub, topic, news).await;
            None
        }
    }
}
