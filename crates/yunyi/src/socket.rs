//! What every WebSocket of the application shares (the consultation chat, the patient-group
//! chat): connections only from this site's own pages, small buffers, frames as JSON, and a
//! socket that lives only as long as its session.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::identity::Actor;

/// How often an idle socket asks whether its session is still live.
pub const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// WebSocket close code for "your session ended" (4000–4999 are the application's).
pub const CLOSE_SESSION_ENDED: u16 = 4401;

/// Refuses a browser's connection from another site: its `Origin` must name the host it
/// connects to, so another site cannot open a chat with the user's cookie.
pub fn same_origin(headers: &HeaderMap) -> AppResult<()> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let same = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .is_some_and(|(_, rest)| rest == host);
    if same {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "a chat connection must come from this site's own pages".to_owned(),
        ))
    }
}

/// The upgrade with small buffers: most connections sit idle for a long time, and the
/// defaults (128 KiB to read) would make ten thousand of them cost gigabytes. A frame is at
/// most a 2,000-character message or a 7,000-byte call signal.
pub fn small(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
}

/// Whether the connection's session is still live. A failed read counts as not: a socket that
/// cannot be checked is closed (the client reconnects, and signs in again if it must).
pub async fn live(state: &AppState, actor: &Actor) -> bool {
    let Some(me) = actor.signed_in.as_ref() else {
        return false;
    };
    match crate::identity::service::still_signed_in(state, me).await {
        Ok(live) => live,
        Err(e) => {
            tracing::warn!(error = %e, "socket session check failed");
            false
        }
    }
}

/// Why a connection must close on the server's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// The server is stopping.
    Stopping,
    /// The connection's session ended (signed out, revoked, expired, suspended).
    SessionEnded,
}

/// The ticks of a connection's session check ([`SESSION_CHECK`]).
pub fn session_check() -> tokio::time::Interval {
    let mut check = tokio::time::interval(SESSION_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    check
}

/// Completes when the connection must close: the server stops, or a tick of `check` finds its
/// session over. Every socket selects on this beside its news and frames, so a revocation,
/// sign-out, expiry or suspension closes it within seconds (cancel-safe: it may be dropped
/// and made again on each turn of the loop).
pub async fn must_close(
    state: &AppState,
    actor: &Actor,
    check: &mut tokio::time::Interval,
) -> Closing {
    loop {
        tokio::select! {
            () = state.stopping.cancelled() => return Closing::Stopping,
            _ = check.tick() => {
                if !live(state, actor).await {
                    return Closing::SessionEnded;
                }
            }
        }
    }
}

/// Closes the socket as `closing` says: plainly when the server stops, with
/// [`CLOSE_SESSION_ENDED`] when the session ended.
pub async fn close(socket: &mut WebSocket, closing: Closing) {
    match closing {
        Closing::Stopping => {
            let _ = socket.send(Message::Close(None)).await;
        }
        Closing::SessionEnded => close_ended(socket).await,
    }
}

/// A frame received from the page, as a socket's loop takes it.
pub enum Incoming {
    /// A text frame (every frame of ours is JSON text).
    Text(axum::extract::ws::Utf8Bytes),
    /// Pings, pongs, binary frames: nothing to do.
    Skip,
    /// The page closed the connection, or it broke.
    Closed,
}

pub fn incoming(frame: Option<Result<Message, axum::Error>>) -> Incoming {
    match frame {
        Some(Ok(Message::Text(text))) => Incoming::Text(text),
        Some(Ok(Message::Close(_)) | Err(_)) | None => Incoming::Closed,
        Some(Ok(_)) => Incoming::Skip,
    }
}

/// Closes the socket with [`CLOSE_SESSION_ENDED`]: the page signs in again.
pub async fn close_ended(socket: &mut WebSocket) {
    let frame = CloseFrame {
        code: CLOSE_SESSION_ENDED,
        reason: "session ended".into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

pub async fn send_json(socket: &mut WebSocket, value: &impl serde::Serialize) -> Result<(), ()> {
    let text = serde_json::to_string(value).map_err(|_| ())?;
    socket
        .send(Message::Text(text.into()))
        .await
        .map_err(|_| ())
}

/// A refusal as an error frame: `{"type":"error","status":…,"message":…,"errors":[…]}`,
/// with the client's id of the message it answers.
pub fn error_frame(e: &AppError, client_id: Option<String>) -> serde_json::Value {
    if let AppError::Internal(cause) = e {
        tracing::error!(error = format!("{cause:#}"), "socket frame failed");
    }
    let problem = e.to_problem();
    let errors: Vec<serde_json::Value> = problem
        .errors
        .iter()
        .map(|f| serde_json::json!({"field": f.field, "message": f.message}))
        .collect();
    // The code (the specific reason when there is one) lets a page say it in its language.
    let code = problem
        .reason
        .map_or(problem.code.slug(), crate::error::Reason::as_str);
    serde_json::json!({"type": "error", "client_id": client_id, "status": problem.code.status().as_u16(), "code": code, "message": problem.detail, "errors": errors})
}
