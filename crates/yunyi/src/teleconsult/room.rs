//! The session's video room: `GET /api/v1/remote-consultations/{id}/room`, a WebSocket run by
//! [`crate::room`]. Connecting joins the session (recorded with the time, audited, through
//! [`service::join`]) and closing leaves it (only that connection's joining).

use axum::extract::ws::WebSocket;

use super::service::{self, Entered};
use crate::app::AppState;
use crate::identity::Actor;
use crate::room::Member;

/// The PostgreSQL notification channel of the consultations' rooms.
pub const CHANNEL: &str = "yunyi_room";

/// Runs one connection of someone who has just joined (`entered`) until either side closes,
/// the session ends or the server stops; then they leave.
pub async fn run(state: AppState, actor: Actor, id: i64, entered: Entered, socket: WebSocket) {
    let member = Member {
        account: entered.account,
        name: entered.name.clone(),
        part: entered.part.as_str().to_owned(),
    };
    let hub = (state.rooms.clone(), id);
    let (s, a) = (state.clone(), actor.clone());
    let left = move || async move {
        if let Err(e) = service::left_room(&s, &a, id, &entered).await {
            tracing::warn!(error = %e, teleconsult = id, "could not record leaving the room");
        }
    };
    crate::room::run(state, actor, hub, member, socket, left).await;
}
